//! SCIM 2.0 at `/scim/v2` (RFC 7643, RFC 7644), for identity providers such as Entra ID and
//! Okta: `Users` (core, enterprise extension and usher's extension), `ServiceProviderConfig`,
//! `ResourceTypes` and `Schemas`. A call authenticates with a bearer token holding the `scim`
//! permission; every decision is the domain's ([`usher_domain::service::provisioning`]).
//! Errors are SCIM error bodies with `scimType`, never problem+json.

use poem::http::{HeaderValue, StatusCode, header};
use poem::web::{Data, Path, Query};
use poem::{Body, Request, Response, Route, get, handler};
use serde::Deserialize;
use serde_json::{Value, json};
use usher_domain::authz::{Actor, Denied};
use usher_domain::id::UserId;
use usher_domain::model::{SearchOrder, User};
use usher_domain::service::provisioning;
use usher_domain::service::sessions::{self, AuthError};
use usher_domain::service::users::UserError;
use uuid::Uuid;

use crate::state::AppState;

mod discovery;
mod filter;
mod groups;
mod patch;
mod resource;

/// The core user schema.
pub(crate) const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise user extension.
pub(crate) const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// usher's user extension: the user type and the home account.
pub(crate) const USHER: &str = "urn:usher:params:scim:schemas:extension:usher:2.0:User";
pub(crate) const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// SCIM's media type.
const MEDIA: &str = "application/scim+json";
/// The page size when a client names none.
const DEFAULT_COUNT: u32 = 100;

/// The routes under `/scim/v2`.
pub(crate) fn routes() -> Route {
    Route::new()
        .at("/Users", get(list_users).post(create_user))
        .at("/Users/.search", poem::post(search_users))
        .at("/.search", poem::post(search_everything))
        .at("/Users/:id", get(get_user).put(put_user).patch(patch_user).delete(delete_user))
        .at("/Groups", get(groups::list_groups).post(groups::create_group))
        .at(
            "/Groups/:id",
            get(groups::get_group)
                .put(groups::put_group)
                .patch(groups::patch_group)
                .delete(groups::delete_group),
        )
        .at("/ServiceProviderConfig", get(discovery::service_provider_config))
        .at("/ResourceTypes", get(discovery::resource_types))
        .at("/ResourceTypes/:id", get(discovery::resource_type))
        .at("/Schemas", get(discovery::schemas))
        .at("/Schemas/:id", get(discovery::schema))
        .at("/*rest", discovery::unknown)
}

/// A SCIM error (RFC 7644 §3.12).
#[derive(Debug)]
pub(crate) struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    pub(crate) fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> ScimError {
        ScimError { status, scim_type, detail: detail.into() }
    }
    pub(crate) fn invalid_value(detail: impl Into<String>) -> ScimError {
        ScimError::new(StatusCode::BAD_REQUEST, Some("invalidValue"), detail)
    }
    pub(crate) fn invalid_syntax(detail: impl Into<String>) -> ScimError {
        ScimError::new(StatusCode::BAD_REQUEST, Some("invalidSyntax"), detail)
    }
    fn not_found(what: &str) -> ScimError {
        ScimError::new(StatusCode::NOT_FOUND, None, format!("{what} not found"))
    }

    pub(crate) fn into_response(self) -> Response {
        let mut body =
            json!({"schemas": [ERROR], "status": self.status.as_u16().to_string(), "detail": self.detail});
        if let (Some(scim_type), Value::Object(map)) = (self.scim_type, &mut body) {
            map.insert("scimType".to_owned(), json!(scim_type));
        }
        let mut response = scim_json(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<UserError> for ScimError {
    fn from(err: UserError) -> ScimError {
        let detail = err.to_string();
        let (status, scim_type) = match &err {
            UserError::NotFound { .. } | UserError::Erased => (StatusCode::NOT_FOUND, None),
            UserError::Denied(Denied::OtherTenant) => (StatusCode::NOT_FOUND, None),
            UserError::Denied(_) | UserError::Grant(_) => (StatusCode::FORBIDDEN, None),
            UserError::UsernameTaken { .. }
            | UserError::EmailTaken { .. }
            | UserError::ExternalIdTaken { .. } => (StatusCode::CONFLICT, Some("uniqueness")),
            UserError::Rename(_) | UserError::OwnUser { .. } => (StatusCode::BAD_REQUEST, Some("mutability")),
            UserError::VersionMismatch { .. } => (StatusCode::PRECONDITION_FAILED, None),
            UserError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, None),
            UserError::Repo(repo) => {
                tracing::error!(error = %repo, "scim: the store failed");
                return ScimError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "the store failed; try again",
                );
            }
            _ => (StatusCode::BAD_REQUEST, Some("invalidValue")),
        };
        ScimError::new(status, scim_type, detail)
    }
}

pub(crate) type Answer = Result<Response, ScimError>;

/// Runs a handler's body, answering an error as a SCIM error.
pub(crate) fn answer(result: Answer) -> Response {
    result.unwrap_or_else(ScimError::into_response)
}

pub(crate) fn scim_json(status: StatusCode, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .content_type(MEDIA)
        .body(Body::from_vec(serde_json::to_vec(body).unwrap_or_default()))
}

/// The caller, from its bearer token.
pub(crate) async fn caller(req: &Request, state: &AppState) -> Result<Actor, ScimError> {
    let unauthenticated =
        || ScimError::new(StatusCode::UNAUTHORIZED, None, "a bearer token holding scim is needed");
    let header = req.header(header::AUTHORIZATION).ok_or_else(unauthenticated)?;
    let (scheme, token) = header.split_once(' ').ok_or_else(unauthenticated)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthenticated());
    }
    let source = state.source_of(req);
    match sessions::authenticate(&state.ports, token.trim(), source.as_deref()).await {
        Ok(authenticated) => Ok(authenticated.actor),
        Err(AuthError::InvalidToken) => Err(unauthenticated()),
        Err(AuthError::Repo(err)) => Err(UserError::Repo(err).into()),
    }
}

/// Where this server is reached, for `meta.location`.
pub(crate) fn base_url(req: &Request, state: &AppState) -> String {
    if let Some(origin) = &state.config.public_origin {
        return format!("{}/scim/v2", origin.trim_end_matches('/'));
    }
    let host = req.header(header::HOST).unwrap_or("localhost");
    format!("http://{host}/scim/v2")
}

fn user_id(raw: &str) -> Result<UserId, ScimError> {
    Uuid::parse_str(raw).map(UserId::from_uuid).map_err(|_| ScimError::not_found("user"))
}

/// The version an `If-Match` names (`W/"3"`), if any; `*` names none.
pub(crate) fn if_match(req: &Request) -> Result<Option<u64>, ScimError> {
    let Some(raw) = req.header(header::IF_MATCH) else { return Ok(None) };
    let raw = raw.trim();
    if raw == "*" {
        return Ok(None);
    }
    resource::version_of(raw).map(Some).ok_or_else(|| {
        ScimError::new(StatusCode::PRECONDITION_FAILED, None, format!("If-Match {raw} names no version"))
    })
}

/// The body as JSON.
pub(crate) async fn json_body(body: Body) -> Result<Value, ScimError> {
    let bytes = body.into_vec().await.map_err(|err| ScimError::invalid_syntax(err.to_string()))?;
    serde_json::from_slice(&bytes)
        .map_err(|err| ScimError::invalid_syntax(format!("the body is not JSON: {err}")))
}

/// The query of `GET /Users`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    pub(crate) filter: Option<String>,
    pub(crate) start_index: Option<String>,
    pub(crate) count: Option<String>,
    pub(crate) sort_by: Option<String>,
    pub(crate) sort_order: Option<String>,
    pub(crate) attributes: Option<String>,
    pub(crate) excluded_attributes: Option<String>,
}

/// The page a list asks for: where it starts (1-based) and how many at most. RFC 7644
/// §3.4.2.4: a start below 1 reads as 1, a negative count as 0; usher answers at most
/// [`provisioning::MAX_PAGE`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    pub(crate) start: u64,
    pub(crate) count: u32,
}

impl Paging {
    pub(crate) fn of(query: &ListQuery) -> Result<Paging, ScimError> {
        let start = number("startIndex", query.start_index.as_deref())?.unwrap_or(1).max(1);
        let count = number("count", query.count.as_deref())?.map_or(DEFAULT_COUNT, |c| {
            u32::try_from(c.max(0)).unwrap_or(provisioning::MAX_PAGE).min(provisioning::MAX_PAGE)
        });
        Ok(Paging { start: u64::try_from(start).unwrap_or(1), count })
    }
    /// How many matching resources the page passes over.
    pub(crate) fn offset(self) -> u64 {
        self.start - 1
    }
}

/// A `ListResponse` of `resources`, one page of `total`.
pub(crate) fn list_response(start: u64, total: u64, resources: Vec<Value>) -> Response {
    let body = json!({
        "schemas": [LIST],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    scim_json(StatusCode::OK, &body)
}

/// A number of the query; anything else is `invalidValue`.
pub(crate) fn number(name: &str, raw: Option<&str>) -> Result<Option<i64>, ScimError> {
    raw.map(|text| {
        text.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, not {text:?}")))
    })
    .transpose()
}

#[handler]
async fn list_users(req: &Request, state: Data<&AppState>, Query(query): Query<ListQuery>) -> Response {
    answer(search(req, &state, query).await)
}

async fn search(req: &Request, state: &AppState, query: ListQuery) -> Answer {
    let actor = caller(req, state).await?;
    let filter = match query.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(raw) => filter::parse(raw)
            .map_err(|err| ScimError::new(StatusCode::BAD_REQUEST, Some("invalidFilter"), err.to_string()))?,
        None => usher_domain::model::UserMatch::Everyone,
    };
    let paging = Paging::of(&query)?;
    let descending = query.sort_order.as_deref().is_some_and(|o| o.eq_ignore_ascii_case("descending"));
    let order = match query.sort_by.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => SearchOrder::Created,
        Some("username") if descending => SearchOrder::UsernameDescending,
        Some("username") => SearchOrder::UsernameAscending,
        Some(other) => {
            return Err(ScimError::invalid_value(format!("usher sorts users by userName only, not {other}")));
        }
    };
    let (page, directory) =
        provisioning::lookup(&state.ports, &actor, filter, order, paging.offset(), paging.count).await?;
    let view = resource::Catalog(directory);
    let base = base_url(req, state);
    let projection =
        resource::Projection::new(query.attributes.as_deref(), query.excluded_attributes.as_deref());
    let resources: Vec<Value> =
        page.users.iter().map(|user| projection.apply(view.user(user, &base))).collect();
    Ok(list_response(paging.start, page.total, resources))
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): the query of a list in a body, so a filter need
/// not go into a URL. `/.search` searches every resource type, which here is `User`.
#[handler]
async fn search_users(req: &Request, state: Data<&AppState>, body: Body) -> Response {
    answer(search_body(req, &state, body).await)
}

async fn search_body(req: &Request, state: &AppState, body: Body) -> Answer {
    let query = search_request(json_body(body).await?)?;
    search(req, state, query).await
}

/// A `SearchRequest` body as the query of a list.
fn search_request(document: Value) -> Result<ListQuery, ScimError> {
    let Value::Object(fields) = document else {
        return Err(ScimError::invalid_syntax("a search request is a JSON object"));
    };
    let text = |name: &str| -> Result<Option<String>, ScimError> {
        match fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(Value::Array(items)) => {
                Ok(Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")))
            }
            Some(other) => Err(ScimError::invalid_value(format!("{name} cannot be {other}"))),
        }
    };
    let query = ListQuery {
        filter: text("filter")?,
        start_index: text("startIndex")?,
        count: text("count")?,
        sort_by: text("sortBy")?,
        sort_order: text("sortOrder")?,
        attributes: text("attributes")?,
        excluded_attributes: text("excludedAttributes")?,
    };
    Ok(query)
}

/// `POST /.search`: users, then groups, that the filter takes.
#[handler]
async fn search_everything(req: &Request, state: Data<&AppState>, body: Body) -> Response {
    answer(everything(req, &state, body).await)
}

async fn everything(req: &Request, state: &AppState, body: Body) -> Answer {
    let query = search_request(json_body(body).await?)?;
    let actor = caller(req, state).await?;
    let paging = Paging::of(&query)?;
    let (offset, count) = (paging.offset(), paging.count);
    // A filter on what only groups have takes no user.
    let users_filter = match query.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(raw) => filter::parse(raw).ok(),
        None => Some(usher_domain::model::UserMatch::Everyone),
    };
    let groups = groups::matching(req, state, &actor, &query).await?;
    let (users_total, mut resources) = match users_filter {
        Some(filter) => {
            let (page, directory) =
                provisioning::lookup(&state.ports, &actor, filter, SearchOrder::Created, offset, count)
                    .await?;
            let view = resource::Catalog(directory);
            let base = base_url(req, state);
            let projection =
                resource::Projection::new(query.attributes.as_deref(), query.excluded_attributes.as_deref());
            let users: Vec<Value> =
                page.users.iter().map(|user| projection.apply(view.user(user, &base))).collect();
            (page.total, users)
        }
        None => (0, Vec::new()),
    };
    let room = usize::try_from(count).unwrap_or(usize::MAX).saturating_sub(resources.len());
    let skip = usize::try_from(offset.saturating_sub(users_total)).unwrap_or(usize::MAX);
    let total = users_total + groups.len() as u64;
    resources.extend(groups.into_iter().skip(skip).take(room));
    Ok(list_response(paging.start, total, resources))
}

#[handler]
async fn get_user(
    req: &Request,
    state: Data<&AppState>,
    Path(id): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    answer(read(req, &state, &id, query).await)
}

async fn read(req: &Request, state: &AppState, id: &str, query: ListQuery) -> Answer {
    let actor = caller(req, state).await?;
    let user = provisioning::get_user(&state.ports, &actor, user_id(id)?).await?;
    let projection =
        resource::Projection::new(query.attributes.as_deref(), query.excluded_attributes.as_deref());
    let view = resource::Catalog::read(state, &actor).await?;
    Ok(user_response(StatusCode::OK, &user, projection.apply(view.user(&user, &base_url(req, state)))))
}

#[handler]
async fn create_user(req: &Request, state: Data<&AppState>, body: Body) -> Response {
    answer(create(req, &state, body).await)
}

async fn create(req: &Request, state: &AppState, body: Body) -> Answer {
    let actor = caller(req, state).await?;
    let wanted = resource::provisioned(&json_body(body).await?)?;
    let user = provisioning::create_user(&state.ports, &actor, wanted).await?;
    let view = resource::Catalog::read(state, &actor).await?;
    let base = base_url(req, state);
    let mut response = user_response(StatusCode::CREATED, &user, view.user(&user, &base));
    if let Ok(location) = HeaderValue::from_str(&format!("{base}/Users/{}", user.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

#[handler]
async fn put_user(req: &Request, state: Data<&AppState>, Path(id): Path<String>, body: Body) -> Response {
    answer(replace(req, &state, &id, body).await)
}

async fn replace(req: &Request, state: &AppState, id: &str, body: Body) -> Answer {
    let actor = caller(req, state).await?;
    let version = if_match(req)?;
    let wanted = resource::provisioned(&json_body(body).await?)?;
    let user = provisioning::replace_user(&state.ports, &actor, user_id(id)?, wanted, version).await?;
    let view = resource::Catalog::read(state, &actor).await?;
    Ok(user_response(StatusCode::OK, &user, view.user(&user, &base_url(req, state))))
}

/// The attempts a PATCH makes when another change lands between its read and its write.
const PATCH_ATTEMPTS: usize = 3;

#[handler]
async fn patch_user(req: &Request, state: Data<&AppState>, Path(id): Path<String>, body: Body) -> Response {
    answer(modify(req, &state, &id, body).await)
}

async fn modify(req: &Request, state: &AppState, id: &str, body: Body) -> Answer {
    let actor = caller(req, state).await?;
    let id = user_id(id)?;
    let asked = if_match(req)?;
    let operations = patch::operations(json_body(body).await?)?;
    let view = resource::Catalog::read(state, &actor).await?;
    let base = base_url(req, state);
    let mut attempt = 0;
    loop {
        attempt += 1;
        // The PATCH applies to the user as read and writes at the version read: a change in
        // between makes it read again, never overwrite.
        let current = provisioning::get_user(&state.ports, &actor, id).await?;
        if let Some(expected) = asked.filter(|v| *v != current.version) {
            return Err(UserError::VersionMismatch { expected, actual: current.version }.into());
        }
        let document = patch::apply(resource::for_patch(view.user(&current, &base)), &operations)?;
        let wanted = resource::provisioned(&document)?;
        match provisioning::replace_user(&state.ports, &actor, id, wanted, Some(current.version)).await {
            Ok(user) => return Ok(user_response(StatusCode::OK, &user, view.user(&user, &base))),
            Err(UserError::VersionMismatch { .. }) if asked.is_none() && attempt < PATCH_ATTEMPTS => {}
            Err(err) => return Err(err.into()),
        }
    }
}

#[handler]
async fn delete_user(req: &Request, state: Data<&AppState>, Path(id): Path<String>) -> Response {
    answer(remove(req, &state, &id).await)
}

async fn remove(req: &Request, state: &AppState, id: &str) -> Answer {
    let actor = caller(req, state).await?;
    let id = user_id(id)?;
    if let Some(expected) = if_match(req)? {
        let current = provisioning::get_user(&state.ports, &actor, id).await?;
        if current.version != expected {
            return Err(UserError::VersionMismatch { expected, actual: current.version }.into());
        }
    }
    provisioning::remove_user(&state.ports, &actor, id).await?;
    Ok(Response::builder().status(StatusCode::NO_CONTENT).finish())
}

fn user_response(status: StatusCode, user: &User, body: Value) -> Response {
    let mut response = scim_json(status, &body);
    if let Ok(etag) = HeaderValue::from_str(&resource::etag(user)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}
