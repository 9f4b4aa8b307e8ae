//! The HTTP adapter of usher: the `/v1` admin API (poem-openapi), bearer authentication, the
//! operational endpoints (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`, `/docs`) and
//! RFC 9457 problem details for every error.
//!
//! Build an [`AppState`] over the domain's [`usher_domain::service::Ports`], [`bind`] an
//! address and [`Bound::serve`] it until a shutdown signal. [`spec`] prints the OpenAPI
//! document without a database.

use std::future::Future;
use std::time::Duration;

use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Request, Response, Route};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi, OpenApiService};

mod api;
mod auth;
mod console;
mod csrf;
mod metrics;
mod openapi;
mod pages;
pub mod problem;
mod scim;
mod state;
pub mod types;
pub mod upload;
pub mod views;

pub use auth::Caller;
pub use problem::Problem;
pub use state::{AppState, DEFAULT_MAX_IMPORT_BYTES, HttpConfig, Readiness};

use crate::problem::{ProblemError, problem_response};

/// Liveness.
#[derive(Object, Debug)]
struct Health {
    /// `ok`.
    status: String,
}

#[derive(ApiResponse, Debug)]
#[allow(clippy::large_enum_variant, reason = "built once per probe")]
enum ReadyResponse {
    /// Ready: the database answers.
    #[oai(status = 200)]
    Ready(Json<Health>),
    /// Not ready: the database does not answer.
    #[oai(status = 503, content_type = "application/problem+json")]
    NotReady(Json<Problem>),
}

/// Liveness and readiness probes.
#[derive(Debug, Default)]
struct OpsApi;

#[OpenApi]
impl OpsApi {
    /// Liveness
    ///
    /// The process answers.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> Json<Health> {
        Json(Health { status: "ok".to_owned() })
    }

    /// Readiness
    ///
    /// The database answers.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: poem::web::Data<&AppState>) -> ReadyResponse {
        match state.readiness.ready().await {
            Ok(()) => ReadyResponse::Ready(Json(Health { status: "ok".to_owned() })),
            Err(reason) => {
                tracing::warn!(%reason, "not ready");
                ReadyResponse::NotReady(Json(Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_ready",
                    "the database does not answer",
                )))
            }
        }
    }

    /// Prometheus metrics
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self, state: poem::web::Data<&AppState>) -> PlainText<String> {
        PlainText(state.metrics.render())
    }
}

/// Every operation group; nested, because `Default` is implemented for tuples of up to 12.
type Apis = (
    (
        OpsApi,
        api::sessions::SessionApi,
        api::accounts::AccountsApi,
        api::catalog::CatalogApi,
        api::users::UsersApi,
        api::invitations::InvitationsApi,
        api::public::PublicApi,
    ),
    (
        api::contacts::ContactsApi,
        api::identities::IdentitiesApi,
        api::transfer::TransferApi,
        api::imports::ImportsApi,
        api::integrations::IntegrationsApi,
        api::introspection::IntrospectionApi,
        api::access_tokens::AccessTokenApi,
        api::audit::AuditApi,
        api::events::EventApi,
        api::webhooks::WebhookApi,
        api::mail::MailApi,
    ),
);

fn service() -> OpenApiService<Apis, ()> {
    let apis = Apis::default();
    OpenApiService::new(apis, "usher", env!("CARGO_PKG_VERSION"))
        .description(
            "User administration for multi-tenant business software: accounts and sub-accounts, \
             users, user types and seats, roles, invitations, the audit log and the event feed. Errors \
             are RFC 9457 problem details with a stable `code`. A caller may name itself in an \
             `X-Usher-Origin` header (at most 100 printable characters); the events its changes \
             cause carry that origin (else its API key's name), so an app can drop its own echoes.",
        )
        .license(
            poem_openapi::LicenseObject::new("Apache-2.0").url("https://www.apache.org/licenses/LICENSE-2.0"),
        )
}

/// The OpenAPI document, as served at `/openapi.json`.
pub fn spec() -> String {
    static SPEC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| {
        let raw = service().spec();
        match serde_json::from_str::<serde_json::Value>(&raw) {
            Ok(mut document) => {
                openapi::refine(&mut document);
                serde_json::to_string_pretty(&document).unwrap_or(raw)
            }
            Err(_) => raw,
        }
    })
    .clone()
}

/// Serves [`spec`].
#[poem::handler]
fn spec_endpoint() -> poem::web::WithContentType<String> {
    use poem::IntoResponse as _;
    spec().with_content_type("application/json")
}

/// The whole HTTP application over `state`.
pub fn app(state: AppState) -> impl Endpoint<Output = Response> {
    let api = service();
    let docs = api.swagger_ui();
    pages::mount(Route::new())
        .nest_no_strip("/", api)
        .at("/openapi.json", poem::get(spec_endpoint))
        .nest("/scim/v2", scim::routes())
        .nest("/console", console::routes())
        .nest("/docs", docs)
        .around(limit_body)
        .around(readable_preconditions)
        .around(observe)
        .catch_all_error(answer_problem)
        .around(allow_header)
        .data(state)
        .into_endpoint()
        .map_to_response()
}

/// Refuses bodies over the configured limit (413) before a handler reads them.
async fn limit_body<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let limit =
        req.data::<AppState>().map_or(HttpConfig::default().max_body_bytes, |s| s.config.max_body_bytes);
    let too_large = || {
        let problem = Problem {
            limit: u64::try_from(limit).ok(),
            ..Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body is larger than {limit} bytes"),
            )
        };
        poem::Error::from(ProblemError(problem))
    };
    let declared = req.header("content-length").and_then(|v| v.parse::<u64>().ok());
    if is_import_upload(&req) {
        // An import's file is read as it arrives, against its own limit, never held whole.
        let limit = req.data::<AppState>().map_or(DEFAULT_MAX_IMPORT_BYTES, |s| s.config.max_import_bytes);
        if declared.is_some_and(|length| length > limit) {
            let problem = Problem {
                limit: Some(limit),
                ..Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the file is larger than {limit} bytes"),
                )
            };
            return Err(poem::Error::from(ProblemError(problem)));
        }
        return next.call(req).await.map(IntoResponse::into_response);
    }
    if declared.is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(too_large());
    }
    let body = req.take_body().into_bytes_limit(limit).await.map_err(|_| too_large())?;
    req.set_body(body);
    next.call(req).await.map(IntoResponse::into_response)
}

/// Whether a request uploads an import's file (`POST /v1/accounts/{id}/imports`).
fn is_import_upload(req: &Request) -> bool {
    let path = req.uri().path();
    req.method() == poem::http::Method::POST
        && path.starts_with("/v1/accounts/")
        && path.ends_with("/imports")
}

/// Refuses (400) an `If-Match` that is not visible ASCII: the framework would read it as absent
/// and apply a change the caller meant to make conditional.
async fn readable_preconditions<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    if req.headers().get_all("if-match").iter().any(|value| value.to_str().is_err()) {
        let problem = Problem::bad_request("If-Match must be `*` or an ETag of visible ASCII characters");
        return Err(poem::Error::from(ProblemError(problem)));
    }
    next.call(req).await.map(IntoResponse::into_response)
}

/// Counts and logs every request by operation id (never the query string, which may carry a
/// link token).
async fn observe<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    #[allow(clippy::disallowed_methods, reason = "request latency is measured at the edge")]
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let metrics = req.data::<AppState>().map(|state| state.metrics.clone());
    let result = next.call(req).await.map(IntoResponse::into_response);
    let (status, operation) = match &result {
        Ok(response) => (response.status(), response.data::<poem_openapi::OperationId>().map(|id| id.0)),
        Err(err) => (err.status(), err.data::<poem_openapi::OperationId>().map(|id| id.0)),
    };
    let operation = operation.unwrap_or(match path.as_str() {
        "/invite" | "/verify" | "/reset" | "/forgot" => "page",
        console if console.starts_with("/console") => "console",
        docs if docs.starts_with("/docs") => "docs",
        _ => "other",
    });
    let seconds = started.elapsed().as_secs_f64();
    if let Some(metrics) = metrics {
        metrics.observe(&method, operation, status.as_u16(), seconds);
    }
    tracing::info!(%method, %path, operation, status = status.as_u16(), ms = seconds * 1000.0, "request");
    result
}

/// Adds `Allow` to a 405, listing the methods the spec gives the path (RFC 9110).
async fn allow_header<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let path = req.uri().path().to_owned();
    let mut response = next.call(req).await?.into_response();
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        let methods = allowed_methods(&path);
        if let Ok(value) = poem::http::HeaderValue::from_str(&methods.join(", ")) {
            response.headers_mut().insert(poem::http::header::ALLOW, value);
        }
    }
    // API answers carry session tokens, API keys and personal data: no cache keeps them.
    if path.starts_with("/v1/") && !response.headers().contains_key(poem::http::header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(poem::http::header::CACHE_CONTROL, poem::http::HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

/// The methods the spec documents for a concrete path.
fn allowed_methods(path: &str) -> Vec<String> {
    static INDEX: std::sync::OnceLock<Vec<(Vec<String>, Vec<String>)>> = std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let document: serde_json::Value = serde_json::from_str(&spec()).unwrap_or_default();
        document["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(template, operations)| {
                        let segments = template.split('/').map(str::to_owned).collect();
                        let methods = operations
                            .as_object()
                            .map(|ops| ops.keys().map(|m| m.to_uppercase()).collect())
                            .unwrap_or_default();
                        (segments, methods)
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let segments: Vec<&str> = path.split('/').collect();
    // The template matching with the most literal segments (`/invitations/lookup` before
    // `/invitations/{id}`).
    index
        .iter()
        .filter(|(template, _)| {
            template.len() == segments.len()
                && template
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
        })
        .max_by_key(|(template, _)| template.iter().filter(|t| !t.starts_with('{')).count())
        .map(|(_, methods)| methods.clone())
        .unwrap_or_default()
}

/// Answers every error as problem+json: ours unchanged, the framework's (bad JSON, unknown
/// path, wrong method or media type) with a code of their own.
async fn answer_problem(err: poem::Error) -> Response {
    if err.is::<ProblemError>() || err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    let problem = match status {
        StatusCode::NOT_FOUND => Problem::new(status, "not_found", "no such path"),
        StatusCode::METHOD_NOT_ALLOWED => {
            Problem::new(status, "method_not_allowed", "this path does not answer this method")
        }
        StatusCode::UNAUTHORIZED => Problem::unauthenticated(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            Problem::new(status, "unsupported_media_type", "send the body as application/json")
        }
        StatusCode::BAD_REQUEST => Problem::bad_request(err.to_string()),
        status if status.is_server_error() => Problem::internal(&err),
        status => Problem::new(status, "bad_request", err.to_string()),
    };
    problem_response(&problem)
}

/// A listening socket, bound before serving so the caller learns the port (e.g. with `:0`).
pub struct Bound {
    acceptor: TcpAcceptor,
    /// The address bound.
    pub local_addr: String,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

/// Binds `address` (e.g. `127.0.0.1:8080`).
pub async fn bind(address: &str) -> std::io::Result<Bound> {
    let acceptor = TcpListener::bind(address.to_owned()).into_acceptor().await?;
    let local_addr = acceptor
        .local_addr()
        .first()
        .and_then(|addr| addr.as_socket_addr().map(ToString::to_string))
        .unwrap_or_else(|| address.to_owned());
    Ok(Bound { acceptor, local_addr })
}

impl Bound {
    /// Serves until `shutdown` resolves, then lets requests in flight finish for up to `grace`.
    pub async fn serve(
        self,
        state: AppState,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
    ) -> std::io::Result<()> {
        poem::Server::new_with_acceptor(self.acceptor)
            .name("usher")
            .run_with_graceful_shutdown(app(state), shutdown, Some(grace))
            .await
    }
}
