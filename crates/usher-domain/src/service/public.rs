//! Public flows reached without logging in: self-registration, email verification, password
//! reset and set-password links (R9, R12, R13, R21).

use serde_json::json;

use crate::authz::{Actor, ActorKind};
use crate::error::{Invalid, RepoError, field};
use crate::id::UserId;
use crate::model::{
    MailMessage, Newcomer, OneTimeToken, Origin, OutboxMail, Profile, TokenPurpose, User, UserState,
};
use crate::password::PasswordRejected;
use crate::ports::Tx;
use crate::rules::{NoSeatAvailable, check_seats, throttle_key, throttled_until};
use crate::service::invitations::LinkProblem;
use crate::service::users::ProfileInput;
use crate::service::{
    LinkKind, Ports, end_sessions, enqueue, issue_link, load_settings, load_user_type, lock_seats,
    password_link_kind, record_new_user, record_user, retire_password_links,
};
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
    /// R1 (a member type that consumes seats).
    #[error(transparent)]
    NoSeatAvailable(NoSeatAvailable),
    /// The link is unknown, expired or used.
    #[error(transparent)]
    Link(LinkProblem),
    /// Too many requests for this address or from this source.
    #[error(
        "too many requests for this address or from this address of yours; try again in {seconds} seconds"
    )]
    Throttled {
        /// Seconds to wait before trying again.
        seconds: u64,
    },
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
    Actor::from_source(ActorKind::Anonymous, source)
}

/// The public forms that send mail, each throttled on its own.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Form {
    /// Self-registration.
    Registration,
    /// A password-reset request (the API and `/forgot`).
    PasswordReset,
    /// A verification mail sent again.
    VerificationResend,
}

impl Form {
    fn as_str(self) -> &'static str {
        match self {
            Form::Registration => "registration",
            Form::PasswordReset => "password-reset",
            Form::VerificationResend => "verification-resend",
        }
    }
}

/// Counts one use of a form that sends mail, per address and per source; past the policy's
/// limits it counts nothing and answers the seconds to wait. The counts live in the store, so
/// every instance shares them. The address is counted whether or not anyone has it, so a
/// refusal tells nothing (R21).
pub(crate) async fn throttle_form(
    ports: &Ports,
    tx: &mut dyn Tx,
    form: Form,
    address: &str,
    source: Option<&str>,
) -> Result<Option<u64>, RepoError> {
    let policy = ports.throttle;
    let now = ports.now();
    let since = now.minus(policy.window);
    let address = address.trim().to_lowercase();
    let mut keys =
        vec![(throttle_key(&format!("{}-address", form.as_str()), &[&address]), policy.per_address)];
    if let Some(source) = source {
        keys.push((throttle_key(&format!("{}-source", form.as_str()), &[source]), policy.per_source));
    }
    let mut retry_after = None;
    for (key, limit) in &keys {
        let until = throttled_until(&tx.login_failures_since(key, since).await?, *limit, policy.window);
        retry_after = retry_after.max(until);
    }
    if let Some(retry_after) = retry_after {
        return Ok(Some(retry_after.seconds_after(now)));
    }
    for (key, _) in &keys {
        tx.record_login_failure(key, now).await?;
    }
    tx.forget_login_failures_before(since).await?;
    Ok(None)
}

fn throttled(wait: Option<u64>) -> Result<(), PublicError> {
    wait.map_or(Ok(()), |seconds| Err(PublicError::Throttled { seconds }))
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
///
/// The answer is the same whether or not the address has a user already: its owner gets a
/// mail saying someone tried to register, with the way to log in or reset the password. Both
/// paths hash the password and write one audit event (R21's spirit, for registration).
pub async fn register(ports: &Ports, source: Option<&str>, command: Registration) -> Result<(), PublicError> {
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
    let address = format!("{}:{}", root.root(), email);
    throttled(throttle_form(ports, tx.as_mut(), Form::Registration, &address, source).await?)?;
    let user_type = match load_user_type(tx.as_mut(), root.root(), member_type).await {
        Ok(user_type) => user_type,
        Err(crate::service::Lookup::Gate(_)) => return Err(PublicError::RegistrationClosed),
        Err(crate::service::Lookup::Repo(err)) => return Err(err.into()),
    };
    // Checked before the address, so a full subscription answers alike for everyone.
    let usage = lock_seats(tx.as_mut(), root.root(), &user_type, now).await?;
    check_seats(&user_type, &usage, 1).map_err(PublicError::NoSeatAvailable)?;
    if let Some(existing) = tx.user_by_email(root.root(), &email).await? {
        if existing.state == UserState::Active && existing.erased_at.is_none() {
            let message =
                MailMessage::RegistrationAttempt { user: existing.id, account: root.slug.to_string() };
            let locale = existing.profile.locale.clone();
            enqueue(ports, tx.as_mut(), existing.root, existing.account, &existing.email, locale, message)
                .await?;
        }
        record_user(
            ports,
            tx.as_mut(),
            &anonymous(source),
            "user.registration_attempted",
            &existing,
            json!({}),
        )
        .await?;
        tx.commit().await?;
        return Ok(());
    }
    let username = field("email", Username::parse(email.as_str()))?;
    let user = User {
        profile,
        roles: settings.default_roles.clone(),
        has_password: true,
        ..User::new(
            ports.new_id(UserId::from_uuid),
            Newcomer {
                root: root.root(),
                account: root.id,
                username,
                email,
                user_type: user_type.id,
                origin: Origin::Registration,
            },
            now,
        )
    };
    match tx.insert_user(&user).await {
        // A registration of the same address won the race: the same answer.
        Err(RepoError::Duplicate { .. }) => return Ok(()),
        other => other?,
    }
    tx.set_password_hash(user.id, Some(hash)).await?;
    if settings.email_verification_required {
        issue_link(ports, tx.as_mut(), &settings, &user, LinkKind::Verification).await?;
    }
    record_new_user(ports, tx.as_mut(), &anonymous(source), "user.registered", &user).await?;
    tx.commit().await?;
    Ok(())
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

/// Requests a password-reset mail. Answers the same, after the same work, whether or not the
/// address has a user (R21): the request is queued in the outbox for the typed address, and
/// the dispatcher looks the user up later ([`resolve_reset_request`]). Throttled per address
/// and per source.
pub async fn request_password_reset(
    ports: &Ports,
    source: Option<&str>,
    account: &str,
    email: &str,
) -> Result<(), PublicError> {
    let mut tx = ports.begin().await?;
    let address = format!("{}:{}", account.trim().to_lowercase(), email);
    throttled(throttle_form(ports, tx.as_mut(), Form::PasswordReset, &address, source).await?)?;
    let account = crate::service::accounts::account_by_slug(tx.as_mut(), account).await?;
    if let (Some(account), Ok(email)) = (account, Email::parse(email)) {
        let message = MailMessage::PasswordResetRequest { source: source.map(str::to_owned) };
        enqueue(ports, tx.as_mut(), account.root(), account.root(), &email, None, message).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Turns a queued reset request into a reset (or welcome) mail when an active user has the
/// address, and drops it otherwise; either way the request leaves the outbox. Returns whether
/// a mail was issued.
pub async fn resolve_reset_request(ports: &Ports, request: &OutboxMail) -> Result<bool, RepoError> {
    let MailMessage::PasswordResetRequest { source } = &request.message else {
        return Ok(false);
    };
    let mut tx = ports.begin().await?;
    let user = tx.user_by_email(request.root, &request.to).await?;
    let issued = match user {
        Some(user) if user.state == UserState::Active && user.erased_at.is_none() => {
            let settings = load_settings(tx.as_mut(), user.root).await?;
            issue_link(ports, tx.as_mut(), &settings, &user, password_link_kind(&user)).await?;
            let actor = anonymous(source.as_deref());
            record_user(ports, tx.as_mut(), &actor, "user.password_reset_requested", &user, json!({}))
                .await?;
            true
        }
        _ => false,
    };
    tx.discard_mail(request.id).await?;
    tx.commit().await?;
    Ok(issued)
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
    retire_password_links(ports, tx.as_mut(), user.id).await?;
    user.has_password = true;
    user.must_change_password = false;
    if record.purpose == TokenPurpose::SetPassword && user.email_verified_at.is_none() {
        // The welcome link reached the mailbox: the address is proven.
        user.email_verified_at = Some(now);
    }
    user.updated_at = now;
    tx.update_user(&user).await?;
    user.version += 1;
    let ended = end_sessions(tx.as_mut(), user.id, ports.now()).await?;
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
