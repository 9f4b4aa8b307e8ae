//! Token introspection (RFC 7662): an app asks whether a user's session token is active and
//! what the user may do, instead of trusting what it cached. The answer follows every change
//! at once: a logout, a disable, a password change or an erasure ends the session itself, so
//! the next introspection finds nothing.

use crate::authz::{Actor, ActorKind, Denied, authorize};
use crate::error::{Invalid, RepoError};
use crate::model::{Session, User};
use crate::service::access_tokens::verified_session;
use crate::service::sessions::{SESSION_PREFIX, user_actor};
use crate::service::users::{UserAccess, access_of_actor};
use crate::service::{Ports, common_errors};
use crate::time::Timestamp;
use crate::value::{Access, Module, Permission, SecretToken};

/// Failure of an introspection: only the caller's own standing. An unknown, expired or
/// foreign token is an answer (`None`), never an error.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectionError {
    /// Missing (unused: introspection never names an object).
    #[error("{entity} not found")]
    NotFound {
        /// Entity.
        entity: &'static str,
    },
    /// The caller does not hold `introspection:read`.
    #[error(transparent)]
    Denied(Denied),
    /// A field failed to parse.
    #[error(transparent)]
    Invalid(Invalid),
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(IntrospectionError);

/// An active session, as introspection describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveToken {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
    /// What the user may do, and where.
    pub access: UserAccess,
    /// When the token was issued: the session's start, or a signed token's `iat`.
    pub issued_at: Timestamp,
    /// When the token ends at the latest: the session's end, or a signed token's `exp`.
    pub expires_at: Timestamp,
}

/// A NumericDate as an instant.
fn from_seconds(seconds: i64) -> Option<Timestamp> {
    Timestamp::from_unix_micros(seconds.checked_mul(1_000_000)?)
}

/// The permission introspection needs.
const INTROSPECT: Permission = Permission::new(Module::Introspection, Access::Read);

/// Whether `token` is an active session token, and whose (R13, R19). The caller needs
/// `introspection:read`; a session of a user outside the caller's reach (another tenant, or
/// outside a sub-account key's subtree) is reported inactive, exactly like an unknown token.
/// Introspection does not extend the session.
pub async fn introspect(
    ports: &Ports,
    actor: &Actor,
    token: &str,
) -> Result<Option<ActiveToken>, IntrospectionError> {
    let held = actor.held_permissions().is_none_or(|held| held.contains(&INTROSPECT));
    if !held {
        return Err(IntrospectionError::Denied(Denied::MissingPermission { permission: INTROSPECT }));
    }
    crate::authz::unrestricted(actor).map_err(IntrospectionError::Denied)?;
    let now = ports.now();
    let mut tx = ports.begin_read().await?;
    let (session, issued_at, expires_at) = if token.contains('.') {
        // A signed access token: good while its session is and until its own expiry.
        let Some((claims, session)) = verified_session(ports, tx.as_mut(), token, now).await? else {
            return Ok(None);
        };
        let (Some(issued_at), Some(expires_at)) = (from_seconds(claims.iat), from_seconds(claims.exp)) else {
            return Ok(None);
        };
        (session, issued_at, expires_at)
    } else {
        let Ok(token) = SecretToken::parse(token) else {
            return Ok(None);
        };
        if !token.expose().starts_with(SESSION_PREFIX) {
            return Ok(None);
        }
        let Some(session) = tx.session_by_token(&token.hash()).await? else {
            return Ok(None);
        };
        if session.expires_at <= now {
            return Ok(None);
        }
        (session.clone(), session.created_at, session.expires_at)
    };
    let Some(user) = tx.user(session.user).await? else {
        return Ok(None);
    };
    let Some(kind) = user_actor(tx.as_mut(), &user).await? else {
        return Ok(None);
    };
    // Where the user lives: authentication read it for a principal; the operator's is read.
    let home = match &kind {
        ActorKind::Principal(principal) => principal.home.clone(),
        ActorKind::Operator { .. } | ActorKind::Anonymous | ActorKind::System => {
            match tx.account(user.account).await? {
                Some(account) => account.path,
                None => return Ok(None),
            }
        }
    };
    if authorize(actor, INTROSPECT, &home).is_err() {
        return Ok(None);
    }
    Ok(access_of_actor(&kind).map(|access| ActiveToken { session, user, access, issued_at, expires_at }))
}
