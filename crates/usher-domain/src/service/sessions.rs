//! Login, bearer authentication, sessions and the caller's own password (R13, R14, R15, R16,
//! R21, R24).

use std::collections::BTreeSet;

use serde_json::json;

use crate::authz::{Actor, ActorKind, Denied, Principal, Restriction, holds};
use crate::error::{Invalid, RepoError};
use crate::id::{AccountId, SessionId, UserId};
use crate::model::{Account, AccountState, ActorRef, ApiKey, MailMessage, Session, User, UserState};
use crate::password::PasswordRejected;
use crate::ports::Tx;
use crate::rules::{LoginFacts, ThrottlePolicy, check_login, throttle_key, throttled_until};
use crate::service::{
    Ports, common_errors, end_sessions, enqueue, load_settings, permissions_of, record_user,
    retire_password_links,
};
use crate::time::{Duration, Timestamp};
use crate::value::{Access, PlainPassword, SecretToken, Username};

/// Why a login failed, as the caller may see it: one answer whatever the reason (R14).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong account, username or password, or the user may not log in.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failures; try again after `retry_after`.
    #[error("too many failed logins; retry after {retry_after}")]
    Throttled {
        /// When to try again.
        retry_after: Timestamp,
    },
    /// Storage or hashing failure.
    #[error(transparent)]
    Repo(RepoError),
}

impl From<RepoError> for LoginError {
    fn from(err: RepoError) -> Self {
        LoginError::Repo(err)
    }
}

/// A login attempt.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Account slug.
    pub account: String,
    /// Username.
    pub username: String,
    /// Password.
    pub password: PlainPassword,
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    /// The bearer token, shown once.
    pub token: SecretToken,
    /// When the session ends.
    pub expires_at: Timestamp,
    /// The user.
    pub user: User,
}

/// The throttle keys of one login attempt (see [`crate::rules::ThrottlePolicy`]).
struct LoginKeys {
    /// Failures of this user from anywhere.
    user: String,
    /// Failures of this user from this source.
    user_from_source: String,
    /// Failures from this source for anyone.
    source: Option<String>,
}

impl LoginKeys {
    fn new(account: &str, username: &str, source: Option<&str>) -> LoginKeys {
        let (account, username) = (account.trim().to_lowercase(), username.trim().to_lowercase());
        LoginKeys {
            user: throttle_key("login-user", &[&account, &username]),
            user_from_source: throttle_key(
                "login-user-source",
                &[&account, &username, source.unwrap_or("-")],
            ),
            source: source.map(|source| throttle_key("login-source", &[source])),
        }
    }

    fn all(&self) -> impl Iterator<Item = &String> {
        [&self.user, &self.user_from_source].into_iter().chain(self.source.as_ref())
    }
}

/// When the attempt may be made, if it is throttled now.
async fn login_throttled_until(
    tx: &mut dyn Tx,
    keys: &LoginKeys,
    policy: ThrottlePolicy,
    now: Timestamp,
) -> Result<Option<Timestamp>, RepoError> {
    let since = now.minus(policy.window);
    let from_source = tx.login_failures_since(&keys.user_from_source, since).await?;
    let mut retry_after = throttled_until(&from_source, policy.per_user, policy.window);
    if !from_source.is_empty() {
        // The user is under attack: sources that failed for it wait, a clean one does not.
        let total = tx.login_failures_since(&keys.user, since).await?;
        retry_after = retry_after.max(throttled_until(&total, policy.per_user_total, policy.window));
    }
    if let Some(key) = &keys.source {
        let by_source = tx.login_failures_since(key, since).await?;
        retry_after = retry_after.max(throttled_until(&by_source, policy.per_source, policy.window));
    }
    Ok(retry_after)
}

/// What a session was opened for. Its token's prefix says so, and the prefix is part of what is
/// hashed, so a token works only where it was issued: an API session's as a bearer token, a
/// console session's as the console's cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The API: a bearer token (`uss_…`).
    Api,
    /// The admin console: a cookie (`usc_…`) that also ends after the settings' idle time.
    Console,
}

impl Channel {
    /// How this channel's tokens start.
    pub const fn prefix(self) -> &'static str {
        match self {
            Channel::Api => SESSION_PREFIX,
            Channel::Console => CONSOLE_PREFIX,
        }
    }
}

/// Logs a user in to the API (R14); see [`login_on`].
pub async fn login(
    ports: &Ports,
    source: Option<&str>,
    credentials: Credentials,
) -> Result<LoggedIn, LoginError> {
    login_on(ports, source, credentials, Channel::Api).await
}

/// Logs a user in on `channel` (R14): one answer for every failure, a dummy hash for unknown
/// users, and throttling per user, per source and per both, shared through the store and by
/// both channels (see [`crate::rules::ThrottlePolicy`] for why a user cannot be locked out from
/// elsewhere).
pub async fn login_on(
    ports: &Ports,
    source: Option<&str>,
    credentials: Credentials,
    channel: Channel,
) -> Result<LoggedIn, LoginError> {
    let now = ports.now();
    let keys = LoginKeys::new(&credentials.account, &credentials.username, source);

    let mut tx = ports.begin().await?;
    if let Some(retry_after) = login_throttled_until(tx.as_mut(), &keys, ports.throttle, now).await? {
        return Err(LoginError::Throttled { retry_after });
    }
    let account = crate::service::accounts::account_by_slug(tx.as_mut(), &credentials.account).await?;
    let user = match (&account, Username::parse(&credentials.username)) {
        (Some(account), Ok(username)) => tx.user_by_username(account.root(), &username.key()).await?,
        _ => None,
    };
    let hash = match &user {
        Some(user) => tx.password_hash(user.id).await?,
        None => None,
    };
    drop(tx);

    // Always verify, against a dummy hash when there is no user, so timing does not tell.
    let password_ok = ports
        .hasher
        .verify(&credentials.password, hash.clone())
        .await
        .map_err(|e| LoginError::Repo(RepoError::backend(e)))?;

    let mut tx = ports.begin().await?;
    let eligible = match (&account, &user) {
        (Some(account), Some(user)) if password_ok && hash.is_some() => {
            let settings = load_settings(tx.as_mut(), account.root()).await?;
            let tree_active = active_account(tx.as_mut(), user.account).await?.is_some();
            let user_type = tx.user_type(user.user_type).await?;
            let seat_overcommitted = match user_type {
                Some(user_type) if user_type.consumes_seat => {
                    let usage = tx.seat_usage(user.root, user_type.id, now).await?;
                    usage.used > usage.total
                }
                _ => false,
            };
            let facts = LoginFacts {
                account_active: tree_active,
                verification_required: settings.email_verification_required,
                seat_overcommitted,
            };
            check_login(user, facts).is_ok().then_some(settings)
        }
        _ => None,
    };
    let (Some(settings), Some(mut user)) = (eligible, user) else {
        for key in keys.all() {
            tx.record_login_failure(key, now).await?;
        }
        tx.forget_login_failures_before(now.minus(ports.throttle.window)).await?;
        tx.commit().await?;
        return Err(LoginError::InvalidCredentials);
    };
    tx.clear_login_failures(&keys.user).await?;
    tx.clear_login_failures(&keys.user_from_source).await?;
    let token = ports.new_token(channel.prefix());
    let expires_at = now.plus(settings.session_lifetime.duration());
    let session = Session {
        id: ports.new_id(SessionId::from_uuid),
        user: user.id,
        root: user.root,
        token_hash: token.hash(),
        created_at: now,
        expires_at,
        last_seen_at: now,
        source: source.map(str::to_owned),
    };
    tx.insert_session(&session).await?;
    user.last_login_at = Some(now);
    tx.record_login(user.id, now).await?;
    let actor = Actor::from_source(ActorKind::Anonymous, source);
    let changes = match channel {
        Channel::Api => json!({}),
        Channel::Console => json!({"channel": "console"}),
    };
    record_user(ports, tx.as_mut(), &actor, "user.logged_in", &user, changes).await?;
    tx.commit().await?;
    Ok(LoggedIn { token, expires_at, user })
}

/// The account while it and every ancestor are active (a suspended tree logs nobody in).
async fn active_account(tx: &mut dyn Tx, account: AccountId) -> Result<Option<Account>, RepoError> {
    let Some(account) = tx.account(account).await? else {
        return Ok(None);
    };
    if account.state != AccountState::Active {
        return Ok(None);
    }
    for id in account.path.ancestors() {
        match tx.account(*id).await? {
            Some(ancestor) if ancestor.state == AccountState::Active => {}
            _ => return Ok(None),
        }
    }
    Ok(Some(account))
}

/// Why a bearer token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown, expired or revoked token, or the user can no longer log in.
    #[error("invalid or expired token")]
    InvalidToken,
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}

impl From<RepoError> for AuthError {
    fn from(err: RepoError) -> Self {
        AuthError::Repo(err)
    }
}

/// Who a bearer token belongs to.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The actor to pass to use cases.
    pub actor: Actor,
    /// The user behind a session (None for API keys).
    pub user: Option<User>,
}

/// Resolves a bearer token (an API session or an API key) to an actor with effective
/// permissions. A console session's token is refused here.
pub async fn authenticate(
    ports: &Ports,
    token: &str,
    source: Option<&str>,
) -> Result<Authenticated, AuthError> {
    let token = SecretToken::parse(token).map_err(|_| AuthError::InvalidToken)?;
    if token.expose().starts_with(CONSOLE_PREFIX) {
        return Err(AuthError::InvalidToken);
    }
    let hash = token.hash();
    let now = ports.now();
    let mut tx = ports.begin_read().await?;
    // The prefix says where to look, one lookup per call; a wrong prefix finds nothing.
    if token.expose().starts_with(API_KEY_PREFIX) {
        let key = tx.api_key_by_token(&hash).await?.ok_or(AuthError::InvalidToken)?;
        let name = key.name.to_string();
        let principal = key_principal(tx.as_mut(), key, now).await?.ok_or(AuthError::InvalidToken)?;
        let mut actor = Actor::from_source(ActorKind::Principal(principal), source);
        // An app that calls with its key is known by the key's name unless it names itself (R26).
        actor.origin = Some(name);
        return Ok(Authenticated { actor, user: None });
    }
    let session = tx.session_by_token(&hash).await?.ok_or(AuthError::InvalidToken)?;
    session_actor(ports, tx, session, source).await
}

/// Resolves a console session's cookie to an actor, as [`authenticate`] does a bearer token.
/// Only a console token is taken, and the session ends once it has been idle for the settings'
/// `console_idle_timeout` (or, as every session, at its absolute end).
pub async fn authenticate_console(
    ports: &Ports,
    token: &str,
    source: Option<&str>,
) -> Result<Authenticated, AuthError> {
    let token = SecretToken::parse(token).map_err(|_| AuthError::InvalidToken)?;
    if !token.expose().starts_with(CONSOLE_PREFIX) {
        return Err(AuthError::InvalidToken);
    }
    let mut tx = ports.begin_read().await?;
    let session = tx.session_by_token(&token.hash()).await?.ok_or(AuthError::InvalidToken)?;
    let idle = load_settings(tx.as_mut(), session.root).await?.console_idle_timeout;
    // Last-seen is kept to the minute, so the idle end comes at most a minute late.
    if session.last_seen_at.plus(idle.duration()) <= ports.now() {
        return Err(AuthError::InvalidToken);
    }
    session_actor(ports, tx, session, source).await
}

/// The actor of a live session, read on `tx`.
async fn session_actor(
    ports: &Ports,
    mut tx: Box<dyn Tx>,
    session: Session,
    source: Option<&str>,
) -> Result<Authenticated, AuthError> {
    let now = ports.now();
    if session.expires_at <= now {
        return Err(AuthError::InvalidToken);
    }
    let user = tx.user(session.user).await?.ok_or(AuthError::InvalidToken)?;
    let mut actor = match user_actor(tx.as_mut(), &user).await? {
        Some(kind) => Actor::from_source(kind, source),
        None => return Err(AuthError::InvalidToken),
    };
    drop(tx);
    if session.last_seen_at.plus(LAST_SEEN_GRANULARITY) <= now {
        // Last-seen is kept to the minute, so a busy session writes once a minute, not per call.
        let mut tx = ports.begin().await?;
        tx.touch_session(session.id, now).await?;
        tx.commit().await?;
    }
    actor.session = Some(session.id);
    if user.must_change_password {
        actor.restriction = Some(Restriction::PasswordChangeRequired);
    }
    Ok(Authenticated { actor, user: Some(user) })
}

/// What a user acts as while it may log in: the operator, or a principal with its effective
/// permissions; `None` once it is disabled, erased or its account tree is suspended.
pub(crate) async fn user_actor(tx: &mut dyn Tx, user: &User) -> Result<Option<ActorKind>, RepoError> {
    if user.state != UserState::Active || user.erased_at.is_some() {
        return Ok(None);
    }
    let Some(account) = active_account(tx, user.account).await? else {
        return Ok(None);
    };
    if user.is_operator {
        return Ok(Some(ActorKind::Operator { user: user.id }));
    }
    let permissions = permissions_of(tx, user).await?.unwrap_or_default();
    Ok(Some(ActorKind::Principal(Principal {
        actor: ActorRef::User(user.id),
        home: account.path,
        permissions,
        scope: user.scope.clone(),
        operator_key: false,
    })))
}

/// What an audited actor can do now: a user as [`user_actor`] says, an API key as its
/// principal says (R24); `None` once it can do nothing. Work done later for an actor (an import
/// job) acts with this, so it never outlives the authority it was submitted with.
pub(crate) async fn actor_kind_of(
    tx: &mut dyn Tx,
    actor: ActorRef,
    now: Timestamp,
) -> Result<Option<ActorKind>, RepoError> {
    match actor {
        ActorRef::User(id) | ActorRef::Operator(id) => match tx.user(id).await? {
            Some(user) => user_actor(tx, &user).await,
            None => Ok(None),
        },
        ActorRef::ApiKey(id) => match tx.api_key(id).await? {
            Some(key) => Ok(key_principal(tx, key, now).await?.map(ActorKind::Principal)),
            None => Ok(None),
        },
        ActorRef::System => Ok(Some(ActorKind::System)),
        ActorRef::Anonymous => Ok(None),
    }
}

/// How many keys deep a chain of keys that made keys is followed.
const KEY_CHAIN_LIMIT: usize = 8;

/// How a session token starts.
pub const SESSION_PREFIX: &str = "uss_";
/// How a console session's token starts.
pub const CONSOLE_PREFIX: &str = "usc_";
/// How an API key starts; `authenticate` looks a token up as a key only with this prefix.
pub(crate) const API_KEY_PREFIX: &str = "usk_";

/// The principal of a usable API key (R24): its permissions end with its creator's current
/// ones, and it dies with its creator. A key the operator made in the operator's own account
/// is an operator key (R23).
async fn key_principal(tx: &mut dyn Tx, key: ApiKey, now: Timestamp) -> Result<Option<Principal>, RepoError> {
    let usable = |key: &ApiKey| key.revoked_at.is_none() && key.expires_at.is_none_or(|at| at > now);
    if !usable(&key) {
        return Ok(None);
    }
    let Some(account) = active_account(tx, key.account).await? else {
        return Ok(None);
    };
    let mut permissions = key.permissions.clone();
    let mut operator_key = false;
    let mut creator = key.created_by;
    for _ in 0..KEY_CHAIN_LIMIT {
        match creator {
            ActorRef::User(id) | ActorRef::Operator(id) => {
                let Some(user) = tx.user(id).await? else {
                    return Ok(None);
                };
                match user_actor(tx, &user).await? {
                    Some(ActorKind::Operator { .. }) => operator_key = user.account == key.account,
                    Some(ActorKind::Principal(held)) => {
                        permissions.retain(|p| holds(&held.permissions, *p));
                    }
                    _ => return Ok(None),
                }
                creator = ActorRef::System;
            }
            ActorRef::ApiKey(id) => {
                let Some(parent) = tx.api_key(id).await? else {
                    return Ok(None);
                };
                if !usable(&parent) {
                    return Ok(None);
                }
                permissions.retain(|p| holds(&parent.permissions, *p));
                creator = parent.created_by;
            }
            ActorRef::System => break,
            ActorRef::Anonymous => return Ok(None),
        }
    }
    if creator != ActorRef::System {
        return Ok(None);
    }
    Ok(Some(Principal {
        actor: ActorRef::ApiKey(key.id),
        home: account.path,
        permissions,
        scope: BTreeSet::new(),
        operator_key,
    }))
}

/// How stale a session's last-seen time may get before a request records it again.
const LAST_SEEN_GRANULARITY: Duration = Duration::minutes(1);

/// Failure of a session use case.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Missing, or in another tenant.
    #[error("{entity} not found")]
    NotFound {
        /// Entity.
        entity: &'static str,
    },
    /// Not allowed.
    #[error(transparent)]
    Denied(Denied),
    /// A field failed to parse.
    #[error(transparent)]
    Invalid(Invalid),
    /// The call needs a user session, not an API key.
    #[error("this call needs a user session, not an API key")]
    NotAUser,
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(SessionError);

impl From<crate::service::users::UserError> for SessionError {
    fn from(err: crate::service::users::UserError) -> Self {
        use crate::service::users::UserError;
        match err {
            UserError::NotFound { entity } => SessionError::NotFound { entity },
            UserError::Denied(denied) => SessionError::Denied(denied),
            UserError::Repo(err) => SessionError::Repo(err),
            other => SessionError::Repo(RepoError::corrupt("session", other)),
        }
    }
}

/// The caller's own sessions, newest first (ASVS V7.4.5).
pub async fn list_own_sessions(ports: &Ports, actor: &Actor) -> Result<Vec<Session>, SessionError> {
    crate::authz::unrestricted(actor).map_err(SessionError::Denied)?;
    let user = actor.own_user().ok_or(SessionError::NotAUser)?;
    let mut tx = ports.begin_read().await?;
    let now = ports.now();
    Ok(tx.sessions_of(user).await?.into_iter().filter(|s| s.expires_at > now).collect())
}

/// A user's sessions, newest first, for those who may read the user (R19).
pub async fn list_user_sessions(
    ports: &Ports,
    actor: &Actor,
    id: UserId,
) -> Result<Vec<Session>, SessionError> {
    let mut tx = ports.begin_read().await?;
    let (user, _) = crate::service::load_user(tx.as_mut(), actor, id, Access::Read).await?;
    let now = ports.now();
    Ok(tx.sessions_of(user.id).await?.into_iter().filter(|s| s.expires_at > now).collect())
}

/// Ends one session: the user's own, or one of a user the actor may change (R24).
pub async fn end_session(ports: &Ports, actor: &Actor, id: SessionId) -> Result<(), SessionError> {
    let mut tx = ports.begin().await?;
    let session = tx.session(id).await?.ok_or(SessionError::NotFound { entity: "session" })?;
    let user = if actor.own_user() == Some(session.user) {
        crate::authz::unrestricted(actor).map_err(SessionError::Denied)?;
        tx.user(session.user).await?.ok_or(SessionError::NotFound { entity: "session" })?
    } else {
        match crate::service::load_user(tx.as_mut(), actor, session.user, Access::Write).await {
            Ok((user, _)) => user,
            // The session of a user out of reach is as unknown as a random id.
            Err(crate::service::users::UserError::NotFound { .. }) => {
                return Err(SessionError::NotFound { entity: "session" });
            }
            Err(other) => return Err(other.into()),
        }
    };
    tx.delete_session_by_id(id).await?;
    let changes = json!({"session": id, "created_at": session.created_at, "source": session.source});
    record_user(ports, tx.as_mut(), actor, "session.ended", &user, changes).await?;
    tx.commit().await?;
    Ok(())
}

/// The policy the caller's own new password must meet (R15), so a form can state it. Open to a
/// caller who must change its password first (R16).
pub async fn own_password_policy(
    ports: &Ports,
    actor: &Actor,
) -> Result<crate::password::PasswordPolicy, SessionError> {
    let id = actor.own_user().ok_or(SessionError::NotAUser)?;
    let mut tx = ports.begin_read().await?;
    let user = tx.user(id).await?.ok_or(SessionError::NotAUser)?;
    Ok(load_settings(tx.as_mut(), user.root).await?.password_policy)
}

/// Ends the session of a token (idempotent).
pub async fn logout(ports: &Ports, token: &str) -> Result<(), AuthError> {
    let Ok(token) = SecretToken::parse(token) else {
        return Ok(());
    };
    let mut tx = ports.begin().await?;
    tx.delete_session(&token.hash()).await?;
    tx.commit().await?;
    Ok(())
}

/// Failure of changing one's own password.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// The current password is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// R15.
    #[error(transparent)]
    Password(PasswordRejected),
    /// Only users have passwords.
    #[error("only a logged-in user can change a password")]
    NotAUser,
    /// Too many wrong current passwords in the window (R14): a stolen session cannot guess
    /// the password behind it.
    #[error("too many wrong passwords; try again in {seconds} s")]
    Throttled {
        /// Seconds to wait.
        seconds: u64,
    },
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}

impl From<RepoError> for ChangePasswordError {
    fn from(err: RepoError) -> Self {
        ChangePasswordError::Repo(err)
    }
}

/// Changes the caller's own password; ends every session (R21) and mails a notice. The
/// caller logs in again with the new password.
pub async fn change_own_password(
    ports: &Ports,
    actor: &Actor,
    current: &PlainPassword,
    new: &PlainPassword,
) -> Result<(), ChangePasswordError> {
    let user = actor.own_user().ok_or(ChangePasswordError::NotAUser)?;
    let now = ports.now();
    let policy = ports.throttle;
    let key = throttle_key("password-change-user", &[&user.as_uuid().to_string()]);
    let (found, hash, settings) = {
        let mut tx = ports.begin().await?;
        let failures = tx.login_failures_since(&key, now.minus(policy.window)).await?;
        if let Some(until) = throttled_until(&failures, policy.per_user, policy.window) {
            return Err(ChangePasswordError::Throttled { seconds: until.seconds_after(now) });
        }
        let found = tx.user(user).await?.ok_or(ChangePasswordError::NotAUser)?;
        let hash = tx.password_hash(user).await?;
        let settings = load_settings(tx.as_mut(), found.root).await?;
        (found, hash, settings)
    };
    let verified = ports.hasher.verify(current, hash).await.map_err(RepoError::backend)?;
    if !verified {
        let mut tx = ports.begin().await?;
        tx.record_login_failure(&key, now).await?;
        tx.forget_login_failures_before(now.minus(policy.window)).await?;
        tx.commit().await?;
        return Err(ChangePasswordError::WrongPassword);
    }
    settings
        .password_policy
        .check(new, &[found.username.as_str(), found.email.as_str()], ports.breached.as_ref())
        .map_err(ChangePasswordError::Password)?;
    if new.expose() == current.expose() {
        return Err(ChangePasswordError::Password(PasswordRejected::SameAsIdentifier));
    }
    let new_hash = ports.hasher.hash(new).await.map_err(RepoError::backend)?;
    let mut tx = ports.begin().await?;
    let mut user = tx.user(user).await?.ok_or(ChangePasswordError::NotAUser)?;
    tx.set_password_hash(user.id, Some(new_hash)).await?;
    tx.clear_login_failures(&key).await?;
    user.must_change_password = false;
    user.updated_at = ports.now();
    tx.update_user(&user).await?;
    let ended = end_sessions(tx.as_mut(), user.id, ports.now()).await?;
    retire_password_links(ports, tx.as_mut(), user.id).await?;
    let message = MailMessage::PasswordChanged { user: user.id };
    enqueue(ports, tx.as_mut(), user.root, user.account, &user.email, user.profile.locale.clone(), message)
        .await?;
    record_user(ports, tx.as_mut(), actor, "user.password_changed", &user, json!({"sessions_ended": ended}))
        .await?;
    tx.commit().await?;
    Ok(())
}
