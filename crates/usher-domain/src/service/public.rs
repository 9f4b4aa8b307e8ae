//! Public flows reached without logging in: self-registration, email verification, password
//! reset and set-password links (R9, R12, R13, R21).

use std::collections::BTreeMap;

use serde_json::json;

use crate::authz::{Actor, ActorKind};
use crate::error::{Invalid, RepoError, field};
use crate::id::UserId;
use crate::model::{OneTimeToken, Origin, Profile, TokenPurpose, User, UserState};
use crate::password::PasswordRejected;
use crate::ports::Tx;
use crate::rules::{NoSeatAvailable, check_seats};
use crate::service::invitations::LinkProblem;
use crate::service::users::{ProfileInput, load_user_type, send_set_password_link, send_verification_link};
use crate::service::{Ports, diff, load_settings, record_user, user_view};
use crate::time::Timestamp;
use crate::value::{Email, PlainPassword, SecretToken, Username};

/// Failure of a public flow.
#[derive(Debug, thiserror::Error)]
pub enum PublicError {
    /// The account does not exist or does not allow this.
    #[error("registration is not open for this account")]
    RegistrationClosed,
    /// A field failed to parse.
    #[error(transparent)]
    Invalid(Invalid),
    /// R15.
    #[error(transparent)]
    Password(PasswordRejected),
    /// The email is registered already.
    #[error("this email is already registered")]
    EmailTaken,
    /// R1 (a member type that consumes seats).
    #[error(transparent)]
    NoSeatAvailable(NoSeatAvailable),
    /// The link is unknown, expired or used.
    #[error(transparent)]
    Link(LinkProblem),
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}

impl From<RepoError> for PublicError {
    fn from(err: RepoError) -> Self {
        PublicError::Repo(err)
    }
}

impl From<Invalid> for PublicError {
    fn from(invalid: Invalid) -> Self {
        PublicError::Invalid(invalid)
    }
}

fn anonymous(source: Option<&str>) -> Actor {
    Actor { kind: ActorKind::Anonymous, source: source.map(str::to_owned) }
}

/// A self-registration.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Account slug.
    pub account: String,
    /// Email (becomes the username).
    pub email: String,
    /// Password.
    pub password: PlainPassword,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
}

/// Registers a member (R12): username = email, the member user type, the default roles, and a
/// verification mail when the account requires verification.
pub async fn register(
    ports: &Ports,
    source: Option<&str>,
    command: Registration,
) -> Result<User, PublicError> {
    let email = field("email", Email::parse(&command.email))?;
    let profile =
        ProfileInput { first_name: command.first_name, last_name: command.last_name, ..Default::default() }
            .apply(Profile::default())?;
    let (root, settings) = {
        let mut tx = ports.begin().await?;
        let account = crate::service::accounts::account_by_slug(tx.as_mut(), &command.account).await?;
        let account = account.ok_or(PublicError::RegistrationClosed)?;
        let settings = load_settings(tx.as_mut(), account.root()).await?;
        (account, settings)
    };
    let (true, Some(member_type)) = (settings.self_registration, settings.member_user_type) else {
        return Err(PublicError::RegistrationClosed);
    };
    settings
        .password_policy
        .check(&command.password, &[email.as_str()], ports.breached.as_ref())
        .map_err(PublicError::Password)?;
    let hash = ports.hasher.hash(&command.password).await.map_err(RepoError::backend)?;

    let now = ports.now();
    let mut tx = ports.begin().await?;
    if tx.user_by_email(root.root(), &email).await?.is_some() {
        return Err(PublicError::EmailTaken);
    }
    let user_type = load_user_type(tx.as_mut(), root.root(), member_type)
        .await
        .map_err(|_| PublicError::RegistrationClosed)?;
    if user_type.consumes_seat {
        let usage = tx.lock_seat_pool(root.root(), user_type.id, now).await?;
        check_seats(&user_type, &usage, 1).map_err(PublicError::NoSeatAvailable)?;
    }
    let username = field("email", Username::parse(email.as_str()))?;
    let user = User {
        id: ports.new_id(UserId::from_uuid),
        root: root.root(),
        account: root.id,
        username,
        email,
        profile,
        receive_system_messages: true,
        sales_representative: None,
        external_ids: BTreeMap::new(),
        user_type: user_type.id,
        roles: settings.default_roles.clone(),
        scope: Default::default(),
        origin: Origin::Registration,
        state: UserState::Active,
        email_verified_at: None,
        has_password: true,
        must_change_password: false,
        is_operator: false,
        contact: None,
        created_at: now,
        updated_at: now,
        last_login_at: None,
        erased_at: None,
        version: 0,
    };
    match tx.insert_user(&user).await {
        Err(RepoError::Duplicate { .. }) => return Err(PublicError::EmailTaken),
        other => other?,
    }
    tx.set_password_hash(user.id, Some(hash)).await?;
    if settings.email_verification_required {
        send_verification_link(ports, tx.as_mut(), &settings, &user).await?;
    }
    record_user(
        ports,
        tx.as_mut(),
        &anonymous(source),
        "user.registered",
        &user,
        diff(None, Some(&user_view(&user))),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Loads a one-time token by its secret and checks it is usable for one of `purposes`.
async fn usable_token(
    tx: &mut dyn Tx,
    token: &str,
    purposes: &[TokenPurpose],
    now: Timestamp,
) -> Result<OneTimeToken, PublicError> {
    let secret = SecretToken::parse(token).map_err(|_| PublicError::Link(LinkProblem::Unknown))?;
    let record = tx.token_by_hash(&secret.hash()).await?;
    let record =
        record.filter(|r| purposes.contains(&r.purpose)).ok_or(PublicError::Link(LinkProblem::Unknown))?;
    if record.used_at.is_some() {
        return Err(PublicError::Link(LinkProblem::Used));
    }
    if record.expires_at <= now {
        return Err(PublicError::Link(LinkProblem::Expired));
    }
    Ok(record)
}

/// What the page of a set-password or reset link shows before the password is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordLink {
    /// The user's username.
    pub username: String,
    /// Whether the user has no password yet (a welcome link) rather than resetting one.
    pub first_password: bool,
    /// What the password must satisfy.
    pub password_policy: crate::password::PasswordPolicy,
}

/// Checks a set-password or reset link without using it, so its page can ask for the
/// password or say at once that the link is unknown, expired or used (R13).
pub async fn password_link(ports: &Ports, token: &str) -> Result<PasswordLink, PublicError> {
    let purposes = [TokenPurpose::PasswordReset, TokenPurpose::SetPassword];
    let mut tx = ports.begin_read().await?;
    let record = usable_token(tx.as_mut(), token, &purposes, ports.now()).await?;
    let user = tx.user(record.user).await?.ok_or(PublicError::Link(LinkProblem::Unknown))?;
    let settings = load_settings(tx.as_mut(), user.root).await?;
    Ok(PasswordLink {
        username: user.username.to_string(),
        first_password: record.purpose == TokenPurpose::SetPassword,
        password_policy: settings.password_policy,
    })
}

/// Checks an email-verification link without using it (R13).
pub async fn verification_link(ports: &Ports, token: &str) -> Result<Email, PublicError> {
    let mut tx = ports.begin_read().await?;
    let record = usable_token(tx.as_mut(), token, &[TokenPurpose::EmailVerification], ports.now()).await?;
    let user = tx.user(record.user).await?.ok_or(PublicError::Link(LinkProblem::Unknown))?;
    Ok(user.email)
}

/// Consumes a token on the transaction; losing a race reads as "used" (R13).
async fn consume(tx: &mut dyn Tx, record: &OneTimeToken, now: Timestamp) -> Result<(), PublicError> {
    match tx.consume_token(record.id, now).await {
        Err(RepoError::Stale { .. }) => Err(PublicError::Link(LinkProblem::Used)),
        other => Ok(other?),
    }
}

/// Verifies an email with the link's token (R9, R13).
pub async fn verify_email(ports: &Ports, source: Option<&str>, token: &str) -> Result<User, PublicError> {
    let now = ports.now();
    let mut tx = ports.begin().await?;
    let record = usable_token(tx.as_mut(), token, &[TokenPurpose::EmailVerification], now).await?;
    let mut user = tx.user(record.user).await?.ok_or(PublicError::Link(LinkProblem::Unknown))?;
    consume(tx.as_mut(), &record, now).await?;
    if user.email_verified_at.is_none() {
        user.email_verified_at = Some(now);
        user.updated_at = now;
        tx.update_user(&user).await?;
        user.version += 1;
        let changes = json!({"email_verified_at": {"before": null, "after": now}, "by": "link"});
        record_user(ports, tx.as_mut(), &anonymous(source), "user.email_verified", &user, changes).await?;
    }
    tx.commit().await?;
    Ok(user)
}

/// Requests a password-reset mail. Answers the same whether or not the address exists (R21).
pub async fn request_password_reset(
    ports: &Ports,
    source: Option<&str>,
    account: &str,
    email: &str,
) -> Result<(), PublicError> {
    let Ok(email) = Email::parse(email) else {
        return Ok(());
    };
    let mut tx = ports.begin().await?;
    let Some(account) = crate::service::accounts::account_by_slug(tx.as_mut(), account).await? else {
        return Ok(());
    };
    let Some(user) = tx.user_by_email(account.root(), &email).await? else {
        return Ok(());
    };
    if user.state != UserState::Active || user.erased_at.is_some() {
        return Ok(());
    }
    send_set_password_link(ports, tx.as_mut(), &user, !user.has_password).await?;
    record_user(ports, tx.as_mut(), &anonymous(source), "user.password_reset_requested", &user, json!({}))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a new password from a reset or welcome link; ends every session (R13, R16, R21).
pub async fn complete_password_link(
    ports: &Ports,
    source: Option<&str>,
    token: &str,
    password: &PlainPassword,
) -> Result<User, PublicError> {
    let purposes = [TokenPurpose::PasswordReset, TokenPurpose::SetPassword];
    let (user, settings) = {
        let mut tx = ports.begin().await?;
        let record = usable_token(tx.as_mut(), token, &purposes, ports.now()).await?;
        let user = tx.user(record.user).await?.ok_or(PublicError::Link(LinkProblem::Unknown))?;
        let settings = load_settings(tx.as_mut(), user.root).await?;
        (user, settings)
    };
    settings
        .password_policy
        .check(password, &[user.username.as_str(), user.email.as_str()], ports.breached.as_ref())
        .map_err(PublicError::Password)?;
    let hash = ports.hasher.hash(password).await.map_err(RepoError::backend)?;
    let now = ports.now();
    let mut tx = ports.begin().await?;
    let record = usable_token(tx.as_mut(), token, &purposes, now).await?;
    consume(tx.as_mut(), &record, now).await?;
    let mut user = tx.user(record.user).await?.ok_or(PublicError::Link(LinkProblem::Unknown))?;
    tx.set_password_hash(user.id, Some(hash)).await?;
    user.has_password = true;
    user.must_change_password = false;
    if record.purpose == TokenPurpose::SetPassword && user.email_verified_at.is_none() {
        // The welcome link reached the mailbox: the address is proven.
        user.email_verified_at = Some(now);
    }
    user.updated_at = now;
    tx.update_user(&user).await?;
    user.version += 1;
    let ended = tx.delete_sessions_of(user.id).await?;
    let action = if record.purpose == TokenPurpose::SetPassword {
        "user.password_set_by_link"
    } else {
        "user.password_reset"
    };
    record_user(ports, tx.as_mut(), &anonymous(source), action, &user, json!({"sessions_ended": ended}))
        .await?;
    tx.commit().await?;
    Ok(user)
}
