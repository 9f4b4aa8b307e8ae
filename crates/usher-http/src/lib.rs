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
mod metrics;
pub mod problem;
mod state;
pub mod views;

pub use auth::Caller;
pub use problem::Problem;
pub use state::{AppState, HttpConfig, Readiness};

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
#[derive(Debug)]
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

type Apis = (
    OpsApi,
    api::session::SessionApi,
    api::accounts::AccountsApi,
    api::catalog::CatalogApi,
    api::users::UsersApi,
    api::invitations::InvitationsApi,
    api::public::PublicApi,
    api::contacts::ContactsApi,
    api::keys::IntegrationsApi,
);

fn service() -> OpenApiService<Apis, ()> {
    let apis = (
        OpsApi,
        api::session::SessionApi,
        api::accounts::AccountsApi,
        api::catalog::CatalogApi,
        api::users::UsersApi,
        api::invitations::InvitationsApi,
        api::public::PublicApi,
        api::contacts::ContactsApi,
        api::keys::IntegrationsApi,
    );
    OpenApiService::new(apis, "usher", env!("CARGO_PKG_VERSION"))
        .description(
            "User administration for multi-tenant business software: accounts and sub-accounts, \
             users, user types and seats, roles, invitations, and the audit log. Errors are RFC 9457 \
             problem details with a stable `code`.",
        )
        .license("Apache-2.0")
}

/// The OpenAPI document, as served at `/openapi.json`.
pub fn spec() -> String {
    service().spec()
}

/// The whole HTTP application over `state`.
pub fn app(state: AppState) -> impl Endpoint<Output = Response> {
    let api = service();
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    Route::new()
        .nest_no_strip("/", api)
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .around(limit_body)
        .around(observe)
        .catch_all_error(answer_problem)
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
    if declared.is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(too_large());
    }
    let body = req.take_body().into_bytes_limit(limit).await.map_err(|_| too_large())?;
    req.set_body(body);
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
    let operation = operation.unwrap_or(if path.starts_with("/docs") { "docs" } else { "other" });
    let seconds = started.elapsed().as_secs_f64();
    if let Some(metrics) = metrics {
        metrics.observe(&method, operation, status.as_u16(), seconds);
    }
    tracing::info!(%method, %path, operation, status = status.as_u16(), ms = seconds * 1000.0, "request");
    result
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
