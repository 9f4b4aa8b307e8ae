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
    let authenticated = sessions::authenticate(&state.ports, &bearer.token, source.as_deref())
        .await
        .map_err(|err| ProblemError(err.into()))?;
    Ok(Caller { actor: authenticated.actor, user: authenticated.user, token: bearer.token })
}
