//! SCIM `Groups`: the tenant's roles. Membership is role assignment, each change made as
//! `/v1` makes it (R3, R4, R24); a group made here is a role without permissions, which an
//! administrator then gives permissions in usher. PATCH is read as what Entra ID and Okta
//! send: members added in one operation, removed by value filter or by value list, a name
//! replaced with or without a path.

use std::collections::BTreeSet;

use poem::http::{HeaderValue, StatusCode, header};
use poem::web::{Data, Path, Query};
use poem::{Body, Request, Response, handler};
use scim_v2::filter::{AttrExp, CompValue, CompareOp, Filter, PatchPath, ValFilter};
use scim_v2::models::others::{OperationTarget, PatchOperation};
use serde_json::{Map, Value, json};
use usher_domain::authz::{Actor, Denied};
use usher_domain::id::{RoleId, UserId};
use usher_domain::model::{Role, User};
use usher_domain::service::catalog::RoleError;
use usher_domain::service::provisioning::{self, GroupChange, GroupError};
use uuid::Uuid;

use super::resource::Projection;
use super::{
    Answer, ListQuery, Paging, ScimError, answer, base_url, caller, if_match, json_body, list_response,
    patch, scim_json,
};
use crate::state::AppState;

/// The group schema.
pub(crate) const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

impl From<GroupError> for ScimError {
    fn from(err: GroupError) -> ScimError {
        match err {
            GroupError::User(user) => user.into(),
            GroupError::Role(role) => role_error(role),
        }
    }
}

fn role_error(role: RoleError) -> ScimError {
    let detail = role.to_string();
    let (status, scim_type) = match &role {
        RoleError::NotFound { .. } | RoleError::Denied(Denied::OtherTenant) => (StatusCode::NOT_FOUND, None),
        RoleError::Denied(_) | RoleError::Escalation { .. } => (StatusCode::FORBIDDEN, None),
        RoleError::Invalid(_) => (StatusCode::BAD_REQUEST, Some("invalidValue")),
        RoleError::NameTaken { .. } => (StatusCode::CONFLICT, Some("uniqueness")),
        RoleError::Builtin { .. } => (StatusCode::BAD_REQUEST, Some("mutability")),
        RoleError::StillAssigned { .. } => (StatusCode::CONFLICT, None),
        RoleError::VersionMismatch { .. } => (StatusCode::PRECONDITION_FAILED, None),
        RoleError::Repo(repo) => {
            tracing::error!(error = %repo, "scim: the store failed");
            return ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, None, "the store failed; try again");
        }
    };
    ScimError::new(status, scim_type, detail)
}

fn group_id(raw: &str) -> Result<RoleId, ScimError> {
    Uuid::parse_str(raw)
        .map(RoleId::from_uuid)
        .map_err(|_| ScimError::new(StatusCode::NOT_FOUND, None, "group not found"))
}

/// `role` as a SCIM group with `members`.
fn resource(role: &Role, members: Option<&[User]>, base: &str) -> Value {
    let mut group = json!({
        "schemas": [GROUP_SCHEMA],
        "id": role.id.to_string(),
        "displayName": role.name.as_str(),
        "meta": {
            "resourceType": "Group",
            "created": role.created_at.to_string(),
            "lastModified": role.created_at.to_string(),
            "location": format!("{base}/Groups/{}", role.id),
            "version": format!("W/\"{}\"", role.version),
        },
    });
    if let (Some(external_id), Value::Object(map)) = (&role.external_id, &mut group) {
        map.insert("externalId".into(), json!(external_id.as_str()));
    }
    if let (Some(members), Value::Object(map)) = (members, &mut group)
        && !members.is_empty()
    {
        let members: Vec<Value> = members
            .iter()
            .map(|user| {
                json!({"value": user.id.to_string(), "$ref": format!("{base}/Users/{}", user.id), "type": "User"})
            })
            .collect();
        map.insert("members".into(), Value::Array(members));
    }
    group
}

fn group_response(status: StatusCode, role: &Role, body: Value) -> Response {
    let mut response = scim_json(status, &body);
    if let Ok(etag) = HeaderValue::from_str(&format!("W/\"{}\"", role.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// Whether a projection shows members.
fn shows_members(query: &ListQuery) -> bool {
    let listed = |raw: &Option<String>| {
        raw.as_deref()
            .is_some_and(|list| list.split(',').any(|n| n.trim().to_ascii_lowercase().ends_with("members")))
    };
    !listed(&query.excluded_attributes) && (query.attributes.is_none() || listed(&query.attributes))
}

#[handler]
pub(crate) async fn list_groups(
    req: &Request,
    state: Data<&AppState>,
    Query(query): Query<ListQuery>,
) -> Response {
    answer(list(req, &state, query).await)
}

async fn list(req: &Request, state: &AppState, query: ListQuery) -> Answer {
    let actor = caller(req, state).await?;
    let paging = Paging::of(&query)?;
    let matching = matching(req, state, &actor, &query).await?;
    let total = matching.len() as u64;
    let skip = usize::try_from(paging.offset()).unwrap_or(usize::MAX);
    let page: Vec<Value> = matching.into_iter().skip(skip).take(paging.count as usize).collect();
    Ok(list_response(paging.start, total, page))
}

/// Every group the query's filter takes, shown as its projection asks. Groups are a tenant's
/// roles, a few dozen, so they are filtered here rather than in the store.
pub(crate) async fn matching(
    req: &Request,
    state: &AppState,
    actor: &Actor,
    query: &ListQuery,
) -> Result<Vec<Value>, ScimError> {
    let filter: Option<Filter> = match query.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(raw) => Some(raw.parse().map_err(|err| {
            ScimError::new(
                StatusCode::BAD_REQUEST,
                Some("invalidFilter"),
                format!("the filter does not parse: {err}"),
            )
        })?),
        None => None,
    };
    let filter_needs_members =
        query.filter.as_deref().is_some_and(|f| f.to_ascii_lowercase().contains("members"));
    let members = shows_members(query) || filter_needs_members;
    let base = base_url(req, state);
    let projection = Projection::new(query.attributes.as_deref(), query.excluded_attributes.as_deref());
    let mut found = Vec::new();
    for role in provisioning::groups(&state.ports, actor).await? {
        let holders = if members {
            Some(provisioning::group(&state.ports, actor, role.id, true).await?.1)
        } else {
            None
        };
        let group = resource(&role, holders.as_deref(), &base);
        let keep = match (&filter, &group) {
            (Some(filter), Value::Object(object)) => takes(filter, object),
            _ => true,
        };
        if keep {
            found.push(projection.apply(group));
        }
    }
    Ok(found)
}

/// Whether a group (as JSON) meets a filter; names compare without regard to case.
fn takes(filter: &Filter, group: &Map<String, Value>) -> bool {
    match filter {
        Filter::Not(inner) => !takes(inner, group),
        Filter::And(items) => items.iter().all(|f| takes(f, group)),
        Filter::Or(items) => items.iter().any(|f| takes(f, group)),
        Filter::ValuePath(path) => member_list(group, &path.attr.name)
            .iter()
            .any(|item| item.as_object().is_some_and(|o| patch::holds(o, &path.filter))),
        Filter::Attr(expression) => {
            let path = match expression {
                AttrExp::Present(path) | AttrExp::Comparison(path, _, _) => path,
            };
            let test = |value: &Value| match expression {
                AttrExp::Present(_) => !value.is_null(),
                AttrExp::Comparison(_, op, expected) => patch::compare(value, op, expected),
            };
            let Some(key) = group.keys().find(|k| k.eq_ignore_ascii_case(&path.name)) else {
                return false;
            };
            match (&group[key], &path.sub_attr) {
                (Value::Array(items), Some(sub)) => items.iter().any(|item| {
                    item.as_object()
                        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(sub)).map(|(_, v)| v))
                        .is_some_and(test)
                }),
                (value, None) => test(value),
                _ => false,
            }
        }
    }
}

fn member_list<'a>(group: &'a Map<String, Value>, name: &str) -> &'a [Value] {
    match group.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v) {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}

#[handler]
pub(crate) async fn get_group(
    req: &Request,
    state: Data<&AppState>,
    Path(id): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    answer(read(req, &state, &id, query).await)
}

async fn read(req: &Request, state: &AppState, id: &str, query: ListQuery) -> Answer {
    let actor = caller(req, state).await?;
    let members = shows_members(&query);
    let (role, holders) = provisioning::group(&state.ports, &actor, group_id(id)?, members).await?;
    let projection = Projection::new(query.attributes.as_deref(), query.excluded_attributes.as_deref());
    let body =
        projection.apply(resource(&role, members.then_some(holders.as_slice()), &base_url(req, state)));
    Ok(group_response(StatusCode::OK, &role, body))
}

/// The user ids of a `members` value: `[{"value": "<id>"}, …]`.
fn member_ids(value: &Value) -> Result<BTreeSet<UserId>, ScimError> {
    let items = match value {
        Value::Array(items) => items.as_slice(),
        Value::Null => &[],
        other => return Err(ScimError::invalid_value(format!("members must be a list, not {other}"))),
    };
    items
        .iter()
        .map(|item| {
            let id = item
                .get("value")
                .and_then(Value::as_str)
                .ok_or_else(|| ScimError::invalid_value("each member needs a value: the user's id"))?;
            Uuid::parse_str(id)
                .map(UserId::from_uuid)
                .map_err(|_| ScimError::invalid_value(format!("member {id} is not a user of this directory")))
        })
        .collect()
}

fn display_name(object: &Map<String, Value>) -> Result<Option<String>, ScimError> {
    match object.iter().find(|(k, _)| k.eq_ignore_ascii_case("displayName")).map(|(_, v)| v) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(name)) => Ok(Some(name.clone())),
        Some(other) => Err(ScimError::invalid_value(format!("displayName must be a string, not {other}"))),
    }
}

fn external_id(object: &Map<String, Value>) -> Result<Option<String>, ScimError> {
    match object.iter().find(|(k, _)| k.eq_ignore_ascii_case("externalId")).map(|(_, v)| v) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) => Ok(Some(id.clone())),
        Some(other) => Err(ScimError::invalid_value(format!("externalId must be a string, not {other}"))),
    }
}

fn members_of(object: &Map<String, Value>) -> Result<Option<BTreeSet<UserId>>, ScimError> {
    object.iter().find(|(k, _)| k.eq_ignore_ascii_case("members")).map(|(_, v)| member_ids(v)).transpose()
}

#[handler]
pub(crate) async fn create_group(req: &Request, state: Data<&AppState>, body: Body) -> Response {
    answer(create(req, &state, body).await)
}

async fn create(req: &Request, state: &AppState, body: Body) -> Answer {
    let actor = caller(req, state).await?;
    let Value::Object(object) = json_body(body).await? else {
        return Err(ScimError::invalid_syntax("a group is a JSON object"));
    };
    let name = display_name(&object)?.ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    let members = members_of(&object)?.unwrap_or_default();
    let (role, holders) =
        provisioning::create_group(&state.ports, &actor, &name, external_id(&object)?, members).await?;
    let base = base_url(req, state);
    let mut response = group_response(StatusCode::CREATED, &role, resource(&role, Some(&holders), &base));
    if let Ok(location) = HeaderValue::from_str(&format!("{base}/Groups/{}", role.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

#[handler]
pub(crate) async fn put_group(
    req: &Request,
    state: Data<&AppState>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    answer(replace(req, &state, &id, body).await)
}

async fn replace(req: &Request, state: &AppState, id: &str, body: Body) -> Answer {
    let actor = caller(req, state).await?;
    let if_version = if_match(req)?;
    let Value::Object(object) = json_body(body).await? else {
        return Err(ScimError::invalid_syntax("a group is a JSON object"));
    };
    let name = display_name(&object)?.ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    let change = GroupChange {
        name: Some(name),
        external_id: Some(external_id(&object)?),
        members: Some(members_of(&object)?.unwrap_or_default()),
        if_version,
        answer_members: true,
        ..GroupChange::default()
    };
    let (role, holders) = provisioning::change_group(&state.ports, &actor, group_id(id)?, change).await?;
    Ok(group_response(StatusCode::OK, &role, resource(&role, Some(&holders), &base_url(req, state))))
}

#[handler]
pub(crate) async fn patch_group(
    req: &Request,
    state: Data<&AppState>,
    Path(id): Path<String>,
    Query(query): Query<ListQuery>,
    body: Body,
) -> Response {
    answer(modify(req, &state, &id, query, body).await)
}

/// A PATCH of a group as the change it asks for.
fn change_of(operations: &[PatchOperation]) -> Result<GroupChange, ScimError> {
    let invalid_path = |detail: String| ScimError::new(StatusCode::BAD_REQUEST, Some("invalidPath"), detail);
    let mut change = GroupChange::default();
    let is = |path: &PatchPath, name: &str| matches!(path, PatchPath::Attr(attr) if attr.name.eq_ignore_ascii_case(name) && attr.sub_attr.is_none());
    for operation in operations {
        match operation {
            PatchOperation::Add(OperationTarget::WithoutPath { value })
            | PatchOperation::Replace(OperationTarget::WithoutPath { value }) => {
                let replace = matches!(operation, PatchOperation::Replace(_));
                if let Some(name) = display_name(value)? {
                    change.name = Some(name);
                }
                if let Some(id) = external_id(value)? {
                    change.external_id = Some(Some(id));
                }
                if let Some(ids) = members_of(value)? {
                    if replace {
                        change.members = Some(ids);
                        change.add.clear();
                        change.remove.clear();
                    } else {
                        change.remove.retain(|id| !ids.contains(id));
                        change.add.extend(ids);
                    }
                }
            }
            PatchOperation::Add(OperationTarget::WithPath { path, value }) if is(path, "members") => {
                let ids = member_ids(value.as_ref().unwrap_or(&Value::Null))?;
                change.remove.retain(|id| !ids.contains(id));
                change.add.extend(ids);
            }
            PatchOperation::Replace(OperationTarget::WithPath { path, value }) if is(path, "members") => {
                change.members = Some(member_ids(value.as_ref().unwrap_or(&Value::Null))?);
                change.add.clear();
                change.remove.clear();
            }
            PatchOperation::Add(OperationTarget::WithPath { path, value })
            | PatchOperation::Replace(OperationTarget::WithPath { path, value })
                if is(path, "displayName") =>
            {
                match value {
                    Some(Value::String(name)) => change.name = Some(name.clone()),
                    _ => return Err(ScimError::invalid_value("displayName must be a string")),
                }
            }
            PatchOperation::Add(OperationTarget::WithPath { path, value })
            | PatchOperation::Replace(OperationTarget::WithPath { path, value })
                if is(path, "externalId") =>
            {
                match value {
                    Some(Value::String(id)) => change.external_id = Some(Some(id.clone())),
                    _ => return Err(ScimError::invalid_value("externalId must be a string")),
                }
            }
            PatchOperation::Remove { path, .. } if is(path, "externalId") => change.external_id = Some(None),
            PatchOperation::Remove { path, value } if is(path, "members") => match value {
                // Entra removes members by listing them as the value.
                Some(value) => {
                    let ids = member_ids(value)?;
                    change.add.retain(|id| !ids.contains(id));
                    change.remove.extend(ids);
                }
                None => {
                    change.members = Some(BTreeSet::new());
                    change.add.clear();
                    change.remove.clear();
                }
            },
            PatchOperation::Remove { path: PatchPath::Value(path), .. }
                if path.attr.name.eq_ignore_ascii_case("members") && path.sub_attr.is_none() =>
            {
                let ids = ids_named(&path.filter).ok_or_else(|| {
                    invalid_path("members can be removed by value eq \"<user id>\" only".to_owned())
                })?;
                change.add.retain(|id| !ids.contains(id));
                change.remove.extend(ids);
            }
            other => {
                let (op, path) = match other {
                    PatchOperation::Add(target) => ("add", target_path(target)),
                    PatchOperation::Replace(target) => ("replace", target_path(target)),
                    PatchOperation::Remove { path, .. } => ("remove", path.to_string()),
                };
                return Err(invalid_path(format!("usher cannot {op} {path} of a group")));
            }
        }
    }
    Ok(change)
}

fn target_path(target: &OperationTarget) -> String {
    match target {
        OperationTarget::WithPath { path, .. } => path.to_string(),
        OperationTarget::WithoutPath { .. } => "the group".to_owned(),
    }
}

/// The user ids a `members[value eq "…" or value eq "…"]` filter names.
fn ids_named(filter: &ValFilter) -> Option<BTreeSet<UserId>> {
    match filter {
        ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(id)))
            if path.name.eq_ignore_ascii_case("value") =>
        {
            Uuid::parse_str(id).ok().map(|id| BTreeSet::from([UserId::from_uuid(id)]))
        }
        ValFilter::Or(items) => items.iter().map(ids_named).try_fold(BTreeSet::new(), |mut all, ids| {
            all.extend(ids?);
            Some(all)
        }),
        _ => None,
    }
}

async fn modify(req: &Request, state: &AppState, id: &str, query: ListQuery, body: Body) -> Answer {
    let actor = caller(req, state).await?;
    let if_version = if_match(req)?;
    let operations = patch::operations(json_body(body).await?)?;
    let change = GroupChange { if_version, answer_members: shows_members(&query), ..change_of(&operations)? };
    let (role, holders) = provisioning::change_group(&state.ports, &actor, group_id(id)?, change).await?;
    let members = shows_members(&query);
    let body = resource(&role, members.then_some(holders.as_slice()), &base_url(req, state));
    let projection = Projection::new(query.attributes.as_deref(), query.excluded_attributes.as_deref());
    Ok(group_response(StatusCode::OK, &role, projection.apply(body)))
}

#[handler]
pub(crate) async fn delete_group(req: &Request, state: Data<&AppState>, Path(id): Path<String>) -> Response {
    answer(remove(req, &state, &id).await)
}

async fn remove(req: &Request, state: &AppState, id: &str) -> Answer {
    let actor = caller(req, state).await?;
    provisioning::delete_group(&state.ports, &actor, group_id(id)?).await?;
    Ok(Response::builder().status(StatusCode::NO_CONTENT).finish())
}
