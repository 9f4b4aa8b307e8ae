//! Signed access tokens for apps that verify sessions without calling back (R13): a user's
//! session mints a short-lived JWT, which an app checks against the published keys. The keys
//! live in the store with their private halves sealed by the signer, and rotate on their own;
//! a retired key stays published until every token it signed has expired.
//!
//! A JWT cannot be recalled: it stays valid for its short life wherever it is checked offline.
//! Introspection refuses it at once after a logout, a disable or a password change, because
//! it follows the session and the user's token cut-off (ASVS V7.4.1).

use std::sync::Arc;

use crate::authz::{Actor, Denied};
use crate::error::{Invalid, RepoError};
use crate::id::{SigningKeyId, UserId};
use crate::model::{AccessClaims, Session, SigningKey, User};
use crate::ports::{AccessTokenSigner, SigningError, Tx};
use crate::service::sessions::user_actor;
use crate::service::users::{UserAccess, access_of_actor};
use crate::service::{Ports, common_errors};
use crate::time::{Duration, Timestamp};

/// How access tokens are signed and for how long they hold.
#[derive(Clone)]
pub struct Signing {
    /// Makes keys, signs and verifies.
    pub signer: Arc<dyn AccessTokenSigner>,
    /// Lifetimes.
    pub policy: AccessTokenPolicy,
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signing").field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// Lifetimes of access tokens and of the keys that sign them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessTokenPolicy {
    /// How long a token holds (never past its session).
    pub lifetime: Duration,
    /// How long a key signs before a new one takes over.
    pub rotate_after: Duration,
    /// How long a retired key stays published: at least `lifetime`, so every token it signed
    /// can still be checked, plus time for apps' cached key sets to refresh.
    pub overlap: Duration,
}

impl AccessTokenPolicy {
    /// Five-minute tokens, keys rotated every 30 days and kept published a day after.
    pub fn standard() -> AccessTokenPolicy {
        AccessTokenPolicy::with_lifetime(Duration::minutes(5))
    }

    /// Tokens that hold `lifetime`, with the standard rotation.
    pub fn with_lifetime(lifetime: Duration) -> AccessTokenPolicy {
        AccessTokenPolicy {
            lifetime,
            rotate_after: Duration::days(30),
            overlap: lifetime.max(Duration::days(1)),
        }
    }
}

/// Why no access token was minted.
#[derive(Debug, thiserror::Error)]
pub enum AccessTokenError {
    /// Missing (the session ended meanwhile).
    #[error("{entity} not found")]
    NotFound {
        /// Entity.
        entity: &'static str,
    },
    /// Only a user's session mints tokens; an API key is itself the credential.
    #[error(transparent)]
    Denied(Denied),
    /// A field failed to parse.
    #[error(transparent)]
    Invalid(Invalid),
    /// The installation has no key to seal signing keys with.
    #[error("signed access tokens are off: the server has no signing key configured")]
    NotConfigured,
    /// The signer failed.
    #[error(transparent)]
    Signing(SigningError),
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(AccessTokenError);

impl From<SigningError> for AccessTokenError {
    fn from(err: SigningError) -> Self {
        AccessTokenError::Signing(err)
    }
}

/// A minted access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The compact JWT.
    pub token: String,
    /// Its claims.
    pub claims: AccessClaims,
    /// When it expires.
    pub expires_at: Timestamp,
}

/// Mints a signed access token for the caller's session (R13). The token holds what the user
/// may do now (R4, R19) and expires after the policy's lifetime, or with the session if that
/// comes first. A session held to a password change (R16) or an API key mints nothing.
pub async fn mint_access_token(ports: &Ports, actor: &Actor) -> Result<AccessToken, AccessTokenError> {
    let signing = ports.signing.as_ref().ok_or(AccessTokenError::NotConfigured)?;
    let Some(session_id) = actor.session else {
        return Err(AccessTokenError::Denied(Denied::SessionRequired));
    };
    crate::authz::unrestricted(actor).map_err(AccessTokenError::Denied)?;
    let now = ports.now();
    let mut tx = ports.begin_read().await?;
    let session = tx.session(session_id).await?.ok_or(AccessTokenError::NotFound { entity: "session" })?;
    let user = tx.user(session.user).await?.ok_or(AccessTokenError::NotFound { entity: "session" })?;
    let kind = user_actor(tx.as_mut(), &user).await?;
    let keys = tx.signing_keys().await?;
    drop(tx);
    let access =
        kind.as_ref().and_then(access_of_actor).ok_or(AccessTokenError::NotFound { entity: "session" })?;
    let expires_at = now.plus(signing.policy.lifetime).min(session.expires_at);
    let claims = claims_for(&session, &user, &access, ports.ids.new_id(), now, expires_at);
    let token = match current_key(&keys, signing.policy, now) {
        // A key that no longer opens (the operator changed the sealing key) is retired for a
        // new one; what it signed still verifies while it stays published.
        Some(key) => match signing.signer.sign(key, &claims) {
            Ok(token) => token,
            Err(_) => signing.signer.sign(&rotate(ports, signing, now).await?, &claims)?,
        },
        None => signing.signer.sign(&rotate(ports, signing, now).await?, &claims)?,
    };
    Ok(AccessToken { token, claims, expires_at })
}

fn claims_for(
    session: &Session,
    user: &User,
    access: &UserAccess,
    jti: uuid::Uuid,
    now: Timestamp,
    expires_at: Timestamp,
) -> AccessClaims {
    let permissions: Vec<String> = access.permissions.iter().map(ToString::to_string).collect();
    AccessClaims {
        sub: user.id.as_uuid(),
        sid: session.id.as_uuid(),
        jti,
        iat: now.as_datetime().unix_timestamp(),
        exp: expires_at.as_datetime().unix_timestamp(),
        username: user.username.to_string(),
        account: user.account.as_uuid(),
        root: user.root.as_uuid(),
        scope: permissions.join(" "),
        accounts_in_scope: access.accounts.iter().map(|a| a.as_uuid()).collect(),
    }
}

/// The key that signs now: the newest unretired key younger than the rotation age.
fn current_key(keys: &[SigningKey], policy: AccessTokenPolicy, now: Timestamp) -> Option<&SigningKey> {
    keys.iter()
        .filter(|key| key.retired_at.is_none())
        .max_by_key(|key| key.created_at)
        .filter(|key| key.created_at.plus(policy.rotate_after) > now)
}

/// Makes a new signing key, retires the others and forgets those retired longer than the
/// overlap. Two instances rotating at once each make a key; the newer signs from then on
/// and both are published, so nothing they signed fails to verify.
async fn rotate(ports: &Ports, signing: &Signing, now: Timestamp) -> Result<SigningKey, AccessTokenError> {
    let key = signing.signer.new_key(ports.new_id(SigningKeyId::from_uuid), now)?;
    let mut tx = ports.begin().await?;
    tx.insert_signing_key(&key).await?;
    tx.retire_signing_keys(key.id, now).await?;
    tx.delete_signing_keys(now.minus(signing.policy.overlap)).await?;
    tx.commit().await?;
    Ok(key)
}

/// The keys an app checks tokens against (`/.well-known/jwks.json`): the signing key and
/// those retired within the overlap, newest first. Empty when signing is off.
pub async fn published_keys(ports: &Ports) -> Result<Vec<SigningKey>, RepoError> {
    let Some(signing) = &ports.signing else {
        return Ok(Vec::new());
    };
    let now = ports.now();
    let mut tx = ports.begin_read().await?;
    let keys = tx.signing_keys().await?;
    Ok(keys
        .into_iter()
        .filter(|key| key.retired_at.is_none_or(|at| at.plus(signing.policy.overlap) > now))
        .collect())
}

/// The claims of a signed access token that is still good, and its session: the signature
/// checks against a published key, it has not expired, its session is open, and it was issued
/// after the user's cut-off. `None` for anything else, including when signing is off.
pub(crate) async fn verified_session(
    ports: &Ports,
    tx: &mut dyn Tx,
    token: &str,
    now: Timestamp,
) -> Result<Option<(AccessClaims, Session)>, RepoError> {
    let Some(signing) = &ports.signing else {
        return Ok(None);
    };
    let keys = tx.signing_keys().await?;
    let Some(claims) = signing.signer.verify(token, &keys) else {
        return Ok(None);
    };
    if claims.exp <= now.as_datetime().unix_timestamp() {
        return Ok(None);
    }
    let Some(session) = tx.session(crate::id::SessionId::from_uuid(claims.sid)).await? else {
        return Ok(None);
    };
    let user = UserId::from_uuid(claims.sub);
    if session.user != user || session.expires_at <= now {
        return Ok(None);
    }
    let cutoff = tx.token_cutoff(user).await?;
    if cutoff.is_some_and(|cutoff| issued_before(&claims, &session, cutoff)) {
        return Ok(None);
    }
    Ok(Some((claims, session)))
}

/// Whether a token was (or may have been) issued before the cut-off. `iat` counts whole
/// seconds, so a token of the cut-off's own second counts as before it unless its session
/// was opened at or after the cut-off, which no earlier token's can have been.
fn issued_before(claims: &AccessClaims, session: &Session, cutoff: Timestamp) -> bool {
    let cutoff_second = cutoff.as_datetime().unix_timestamp();
    claims.iat < cutoff_second || (claims.iat == cutoff_second && session.created_at < cutoff)
}

/// Ends every session of `user` and sets its token cut-off, so the signed tokens it holds are
/// refused too (ASVS V7.4.1). Answers how many sessions ended.
pub(crate) async fn end_sessions(tx: &mut dyn Tx, user: UserId, now: Timestamp) -> Result<u64, RepoError> {
    tx.set_token_cutoff(user, now).await?;
    tx.delete_sessions_of(user).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_micros(seconds * 1_000_000).unwrap_or_else(|| panic!("time"))
    }

    fn key(created: i64, retired: Option<i64>) -> SigningKey {
        SigningKey {
            id: SigningKeyId::from_uuid(uuid::Uuid::from_u128(created as u128)),
            public_key: String::new(),
            sealed_private_key: String::new(),
            created_at: at(created),
            retired_at: retired.map(at),
        }
    }

    #[test]
    fn r13_the_newest_unretired_key_signs_until_it_is_due_for_rotation() {
        let policy = AccessTokenPolicy {
            lifetime: Duration::seconds(60),
            rotate_after: Duration::seconds(1000),
            overlap: Duration::seconds(100),
        };
        let keys = [key(10, Some(500)), key(500, None), key(400, None)];
        assert_eq!(current_key(&keys, policy, at(1499)).map(|k| k.created_at), Some(at(500)));
        assert!(current_key(&keys, policy, at(1500)).is_none(), "a key signs for rotate_after only");
        assert!(current_key(&[key(10, Some(20))], policy, at(30)).is_none());
    }

    #[test]
    fn r13_a_token_of_the_cutoff_second_is_refused_unless_its_session_is_newer() {
        let cutoff = Timestamp::from_unix_micros(100_400_000).unwrap_or_else(|| panic!("time"));
        let claims = |iat| AccessClaims {
            sub: uuid::Uuid::nil(),
            sid: uuid::Uuid::nil(),
            jti: uuid::Uuid::nil(),
            iat,
            exp: iat + 60,
            username: String::new(),
            account: uuid::Uuid::nil(),
            root: uuid::Uuid::nil(),
            scope: String::new(),
            accounts_in_scope: Vec::new(),
        };
        let session = |created: Timestamp| Session {
            id: crate::id::SessionId::from_uuid(uuid::Uuid::nil()),
            user: UserId::from_uuid(uuid::Uuid::nil()),
            root: crate::id::AccountId::from_uuid(uuid::Uuid::nil()),
            token_hash: crate::value::SecretToken::from_random("uss_", [0; 32]).hash(),
            created_at: created,
            expires_at: at(10_000),
            last_seen_at: created,
            source: None,
        };
        let old = session(at(50));
        let new = session(Timestamp::from_unix_micros(100_500_000).unwrap_or_else(|| panic!("time")));
        assert!(issued_before(&claims(99), &old, cutoff));
        assert!(issued_before(&claims(100), &old, cutoff));
        assert!(!issued_before(&claims(100), &new, cutoff));
        assert!(!issued_before(&claims(101), &old, cutoff));
    }
}
