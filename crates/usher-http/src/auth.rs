//! Bearer authentication: a session token from `POST /v1/auth/login` or an API key, resolved by
//! the domain into an [`Actor`] with its effective permissions.

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use usher_domain::authz::Actor;
use usher_domain::model::User;
use usher_domain::service::sessions;

use crate::problem::{Problem, ProblemError};
use crate::state::AppState;

/// Who is calling: the actor for the use cases, and the user behind a session.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The actor passed to use cases.
    pub actor: Actor,
    /// The logged-in user (`None` for an API key).
    pub user: Option<User>,
    /// The bearer token, to end its session on logout.
    pub(crate) token: String,
}

/// A session token (`uss_…`) or an API key (`usk_…`), sent as `Authorization: Bearer <token>`.
#[derive(SecurityScheme, Debug)]
#[oai(ty = "bearer", rename = "bearer", checker = "check_bearer")]
pub(crate) struct BearerAuth(pub(crate) Caller);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let Some(state) = req.data::<AppState>() else {
        return Err(ProblemError(Problem::unauthenticated()).into());
    };
    let source = state.source_of(req);
    // The actor carries any restriction (R16); the use cases enforce it, not this layer.
    let mut authenticated = sessions::authenticate(&state.ports, &bearer.token, source.as_deref())
        .await
        .map_err(|err| ProblemError(err.into()))?;
    if let Some(origin) = origin(req)? {
        authenticated.actor.origin = Some(origin);
    }
    Ok(Caller { actor: authenticated.actor, user: authenticated.user, token: bearer.token })
}

/// The header an app names itself in, so the events its changes cause say so (R26).
pub(crate) const ORIGIN_HEADER: &str = "x-usher-origin";

/// Longest origin an app may give.
const MAX_ORIGIN: usize = 100;

/// The caller's `X-Usher-Origin`, trimmed: 1–100 characters, none of them a control
/// character; anything else is refused rather than recorded half.
fn origin(req: &Request) -> poem::Result<Option<String>> {
    let Some(raw) = req.headers().get(ORIGIN_HEADER) else {
        return Ok(None);
    };
    let text = raw.to_str().ok().map(str::trim).unwrap_or_default();
    let length = text.chars().count();
    if length == 0 || length > MAX_ORIGIN || text.chars().any(char::is_control) {
        let detail = format!("X-Usher-Origin must be 1 to {MAX_ORIGIN} printable ASCII characters");
        let problem = Problem {
            field: Some("X-Usher-Origin".to_owned()),
            ..Problem::new(poem::http::StatusCode::BAD_REQUEST, "invalid_origin", detail)
        };
        return Err(ProblemError(problem).into());
    }
    Ok(Some(text.to_owned()))
}
