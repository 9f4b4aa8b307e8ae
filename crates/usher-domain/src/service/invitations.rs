//! Bulk invitations by email: one outcome per address, resend, revoke, look up and accept
//! (R1, R10, R11).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::authz::{Actor, Denied, GrantDenied};
use crate::error::{Invalid, RepoError, field};
use crate::id::{AccountId, InvitationId, RoleId, UserId, UserTypeId};
use crate::model::{
    Invitation, InvitationState, InvitationStatus, MailMessage, Newcomer, Origin, OutboxMail, Profile,
    PublicEvent, User, UserState,
};
use crate::password::PasswordRejected;
use crate::ports::{InvitationQuery, Page, PageRequest, Tx};
use crate::rules::{NoSeatAvailable, RoleRequired, check_seats};
use crate::service::users::UserError;
use crate::service::{
    AuditEntry, Draft, Gate, Ports, Subject, check_draft, choose_username, common_errors, guard,
    load_account, load_for_write, load_settings, load_user_type, lock_seats, objects, outbox_mail,
    public_event, record, record_new_user, reject_member_type,
};
use crate::value::{Access, Email, Locale, Module, Permission, PlainPassword, SecretToken};

/// Failure of an invitation use case.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
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
    /// R3: invited users get at least one role.
    #[error(transparent)]
    RoleRequired(RoleRequired),
    /// R4.
    #[error(transparent)]
    Grant(GrantDenied),
    /// R1 (resend of an expired invitation whose seat was taken meanwhile).
    #[error(transparent)]
    NoSeatAvailable(NoSeatAvailable),
    /// The request names more addresses than one request may.
    #[error("at most {max} addresses per request (got {actual})")]
    TooMany {
        /// Limit.
        max: usize,
        /// Received.
        actual: usize,
    },
    /// R12: members are made by self-registration only.
    #[error("members are created by self-registration, not by invitation")]
    MemberTypeReserved,
    /// Resend or revoke of an invitation that is no longer pending.
    #[error("the invitation is {status:?}, not pending")]
    NotPending {
        /// Its status.
        status: InvitationStatus,
    },
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(InviteError);

impl From<UserError> for InviteError {
    fn from(err: UserError) -> Self {
        match err {
            UserError::NotFound { entity } => InviteError::NotFound { entity },
            UserError::Denied(denied) => InviteError::Denied(denied),
            UserError::Invalid(invalid) => InviteError::Invalid(invalid),
            UserError::RoleRequired(e) => InviteError::RoleRequired(e),
            UserError::Grant(e) => InviteError::Grant(e),
            UserError::NoSeatAvailable(e) => InviteError::NoSeatAvailable(e),
            UserError::MemberTypeReserved => InviteError::MemberTypeReserved,
            UserError::Repo(e) => InviteError::Repo(e),
            other => InviteError::Repo(RepoError::corrupt("invitation", other)),
        }
    }
}

/// The most addresses one request may invite.
pub const MAX_INVITATIONS_PER_REQUEST: usize = 5_000;

/// A bulk invitation.
#[derive(Debug, Clone)]
pub struct NewInvitations {
    /// Addresses, as typed.
    pub emails: Vec<String>,
    /// User type of the future users.
    pub user_type: UserTypeId,
    /// Roles of the future users; none gives the settings' default roles.
    pub roles: BTreeSet<RoleId>,
    /// Scope of the future users.
    pub scope: BTreeSet<AccountId>,
    /// The invitees' language (BCP 47) for the mail and their profile; English when absent.
    pub locale: Option<String>,
}

/// What happened to one address of a bulk invitation (R10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteOutcome {
    /// Invited; a mail is queued.
    Invited(Box<Invitation>),
    /// A pending invitation exists already.
    AlreadyInvited,
    /// A user with this email exists.
    ExistingUser,
    /// A throw-away address.
    DisposableEmail,
    /// Not an email address.
    InvalidEmail,
    /// The address appeared earlier in the same request.
    DuplicateInRequest,
    /// No seat left for it.
    NoSeat,
}

impl InviteOutcome {
    /// The wire name of the outcome.
    pub fn code(&self) -> &'static str {
        match self {
            InviteOutcome::Invited(_) => "invited",
            InviteOutcome::AlreadyInvited => "already_invited",
            InviteOutcome::ExistingUser => "existing_user",
            InviteOutcome::DisposableEmail => "disposable_email",
            InviteOutcome::InvalidEmail => "invalid_email",
            InviteOutcome::DuplicateInRequest => "duplicate_in_request",
            InviteOutcome::NoSeat => "no_seat",
        }
    }
}

/// What every invitation of one request shares.
struct Template<'a> {
    root: AccountId,
    account: AccountId,
    account_name: String,
    user_type: UserTypeId,
    roles: &'a BTreeSet<RoleId>,
    scope: &'a BTreeSet<AccountId>,
    lifetime: crate::model::Lifetime,
    locale: Option<Locale>,
}

/// Invites a list of addresses in one transaction; every address gets exactly one outcome,
/// in the order given (R1, R10).
pub async fn invite(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    command: NewInvitations,
) -> Result<Vec<(String, InviteOutcome)>, InviteError> {
    if command.emails.len() > MAX_INVITATIONS_PER_REQUEST {
        return Err(InviteError::TooMany { max: MAX_INVITATIONS_PER_REQUEST, actual: command.emails.len() });
    }
    let locale = command.locale.as_deref().map(|raw| field("locale", Locale::parse(raw))).transpose()?;
    let now = ports.now();
    let mut tx = ports.begin().await?;
    let permission = Permission::new(Module::Invitations, Access::Write);
    let (account, settings, user_type) =
        load_for_write(tx.as_mut(), actor, permission, account, command.user_type).await?;
    let root = account.root();
    reject_member_type(&settings, user_type.id)?;
    // An invitation that names no roles gives the settings' default roles, as the portal's
    // "by default permissions are set as User" does; they are checked like named ones.
    let roles = match command.roles.is_empty() {
        true => settings.default_roles.clone(),
        false => command.roles,
    };
    let draft = Draft {
        account: &account,
        settings: &settings,
        user_type: &user_type,
        roles: &roles,
        scope: &command.scope,
        state: UserState::Active,
    };
    check_draft(ports, tx.as_mut(), actor, draft, false).await?;
    let template = Template {
        root,
        account: account.id,
        account_name: account.name.to_string(),
        user_type: user_type.id,
        roles: &roles,
        scope: &command.scope,
        lifetime: settings.invitation_lifetime,
        locale,
    };
    let mut usage = lock_seats(tx.as_mut(), root, &user_type, now).await?;
    // First what needs no store, then one lookup of users and one of invitations for every
    // remaining address, then one multi-row insert each of invitations and mails.
    let mut seen = BTreeSet::new();
    let screened: Vec<(String, Result<Email, InviteOutcome>)> = command
        .emails
        .into_iter()
        .map(|raw| {
            let screened = match Email::parse(&raw) {
                Err(_) => Err(InviteOutcome::InvalidEmail),
                Ok(email) if !seen.insert(email.clone()) => Err(InviteOutcome::DuplicateInRequest),
                Ok(email) if ports.disposable.is_disposable(&email) => Err(InviteOutcome::DisposableEmail),
                Ok(email) => Ok(email),
            };
            (raw, screened)
        })
        .collect();
    let candidates: Vec<Email> = screened.iter().filter_map(|(_, s)| s.as_ref().ok().cloned()).collect();
    let taken = tx.taken_emails(root, &candidates).await?;
    let mut pending: BTreeMap<Email, Invitation> = tx
        .pending_invitations_for(root, &candidates)
        .await?
        .into_iter()
        .map(|invitation| (invitation.email.clone(), invitation))
        .collect();
    let (mut fresh, mut mails) = (Vec::new(), Vec::new());
    let mut outcomes = Vec::with_capacity(screened.len());
    for (raw, screened) in screened {
        let outcome = match screened {
            Err(outcome) => outcome,
            Ok(email) if taken.contains(&email) => InviteOutcome::ExistingUser,
            Ok(email) => match pending.remove(&email) {
                Some(found) if found.status(now) == InvitationStatus::Pending => {
                    InviteOutcome::AlreadyInvited
                }
                _ if check_seats(&user_type, &usage, 1).is_err() => InviteOutcome::NoSeat,
                expired => {
                    let renewing = expired.is_some();
                    let (invitation, mail) = prepare(ports, actor, &template, email, expired);
                    if renewing {
                        tx.update_invitation(&invitation, InvitationState::Pending).await?;
                    } else {
                        fresh.push(invitation.clone());
                    }
                    mails.push(mail);
                    if user_type.consumes_seat {
                        usage.reserved += 1;
                    }
                    InviteOutcome::Invited(Box::new(invitation))
                }
            },
        };
        outcomes.push((raw, outcome));
    }
    tx.insert_invitations(&fresh).await?;
    tx.enqueue_mails(&mails).await?;
    // One public event per invitation (R26); the audit log keeps one entry for the request.
    let created: BTreeSet<InvitationId> = fresh.iter().map(|invitation| invitation.id).collect();
    let events: Vec<PublicEvent> = outcomes
        .iter()
        .filter_map(|(_, outcome)| match outcome {
            InviteOutcome::Invited(invitation) => Some(invitation),
            _ => None,
        })
        .map(|invitation| {
            let kind =
                if created.contains(&invitation.id) { "invitation.created" } else { "invitation.resent" };
            let subject = Subject { kind: "invitation", id: invitation.id.to_string() };
            let object = objects::invitation(invitation, now);
            public_event(ports, actor, (root, invitation.account), kind, subject, object)
        })
        .collect();
    tx.append_events(&events).await?;
    let mut tally: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (_, outcome) in &outcomes {
        *tally.entry(outcome.code()).or_default() += 1;
    }
    let entry = AuditEntry {
        root,
        account: account.id,
        action: "invitations.sent",
        target_kind: "account",
        target_id: account.id.to_string(),
        diff: json!({"outcomes": tally, "user_type": user_type.key}),
        actor,
        object: Value::Null,
    };
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Creates (or, for an expired one, re-issues) an invitation and queues its mail.
async fn issue(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    template: &Template<'_>,
    email: Email,
    expired: Option<Invitation>,
) -> Result<Invitation, InviteError> {
    let renewing = expired.is_some();
    let (invitation, mail) = prepare(ports, actor, template, email, expired);
    if renewing {
        tx.update_invitation(&invitation, InvitationState::Pending).await?;
    } else {
        tx.insert_invitation(&invitation).await?;
    }
    tx.enqueue_mail(&mail).await?;
    Ok(invitation)
}

/// A new invitation (or an expired one renewed: a new link, a new expiry, sent once more)
/// and its mail, for the caller to write; a renewed one is written with
/// `update_invitation(…, Pending)`.
fn prepare(
    ports: &Ports,
    actor: &Actor,
    template: &Template<'_>,
    email: Email,
    expired: Option<Invitation>,
) -> (Invitation, OutboxMail) {
    let now = ports.now();
    let token = ports.new_token("");
    let expires_at = now.plus(template.lifetime.duration());
    let invitation = match expired {
        Some(mut old) => {
            old.account = template.account;
            old.user_type = template.user_type;
            old.roles = template.roles.clone();
            old.scope = template.scope.clone();
            old.locale = template.locale.clone();
            old.invited_by = actor.reference();
            old.token_hash = token.hash();
            old.expires_at = expires_at;
            old.send_count += 1;
            old.updated_at = now;
            old
        }
        None => Invitation {
            id: ports.new_id(InvitationId::from_uuid),
            root: template.root,
            account: template.account,
            email,
            user_type: template.user_type,
            roles: template.roles.clone(),
            scope: template.scope.clone(),
            invited_by: actor.reference(),
            token_hash: token.hash(),
            state: InvitationState::Pending,
            expires_at,
            send_count: 1,
            created_at: now,
            updated_at: now,
            accepted_user: None,
            locale: template.locale.clone(),
        },
    };
    let message = MailMessage::Invitation {
        invitation: invitation.id,
        account_name: template.account_name.clone(),
        token: Some(token),
        expires_at,
    };
    let locale = invitation.locale.clone();
    let mail = outbox_mail(ports, invitation.root, invitation.account, &invitation.email, locale, message);
    (invitation, mail)
}

/// Invitations of an account subtree, optionally by status.
pub async fn list_invitations(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    status: Option<InvitationStatus>,
    page: PageRequest,
) -> Result<Page<Invitation>, InviteError> {
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Invitations, Access::Read), &account, "account")?;
    let within = crate::service::visible_subtrees(actor, &account);
    let query = InvitationQuery { root: account.root(), within, status, now: ports.now(), page };
    Ok(tx.list_invitations(&query).await?)
}

async fn load_invitation(
    tx: &mut dyn Tx,
    actor: &Actor,
    id: InvitationId,
) -> Result<Invitation, InviteError> {
    let invitation = tx.invitation(id).await?.ok_or(Gate::NotFound { entity: "invitation" })?;
    let account = load_account(tx, invitation.account).await?;
    guard(actor, Permission::new(Module::Invitations, Access::Write), &account, "invitation")?;
    Ok(invitation)
}

/// Re-sends an invitation with a new link and a new expiry; the old link dies (R10).
pub async fn resend(ports: &Ports, actor: &Actor, id: InvitationId) -> Result<Invitation, InviteError> {
    let now = ports.now();
    let mut tx = ports.begin().await?;
    let invitation = load_invitation(tx.as_mut(), actor, id).await?;
    let status = invitation.status(now);
    if !matches!(status, InvitationStatus::Pending | InvitationStatus::Expired) {
        return Err(InviteError::NotPending { status });
    }
    let account = load_account(tx.as_mut(), invitation.account).await?;
    let settings = load_settings(tx.as_mut(), invitation.root).await?;
    if status == InvitationStatus::Expired {
        // An expired invitation holds no seat any more; it needs a free one again (R1).
        let user_type = load_user_type(tx.as_mut(), invitation.root, invitation.user_type).await?;
        let usage = lock_seats(tx.as_mut(), invitation.root, &user_type, now).await?;
        check_seats(&user_type, &usage, 1).map_err(InviteError::NoSeatAvailable)?;
    }
    let template = Template {
        root: invitation.root,
        account: invitation.account,
        account_name: account.name.to_string(),
        user_type: invitation.user_type,
        roles: &invitation.roles,
        scope: &invitation.scope,
        lifetime: settings.invitation_lifetime,
        locale: invitation.locale.clone(),
    };
    let email = invitation.email.clone();
    let renewed = issue(ports, tx.as_mut(), actor, &template, email, Some(invitation.clone())).await?;
    let entry = AuditEntry {
        root: renewed.root,
        account: renewed.account,
        action: "invitation.resent",
        target_kind: "invitation",
        target_id: id.to_string(),
        diff: json!({"email": renewed.email, "send_count": renewed.send_count, "expires_at": renewed.expires_at}),
        actor,
        object: objects::invitation(&renewed, ports.now()),
    };
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok(renewed)
}

/// Revokes a pending invitation, freeing its reserved seat (R10).
pub async fn revoke(ports: &Ports, actor: &Actor, id: InvitationId) -> Result<(), InviteError> {
    let now = ports.now();
    let mut tx = ports.begin().await?;
    let mut invitation = load_invitation(tx.as_mut(), actor, id).await?;
    let status = invitation.status(now);
    if !matches!(status, InvitationStatus::Pending | InvitationStatus::Expired) {
        return Err(InviteError::NotPending { status });
    }
    invitation.state = InvitationState::Revoked;
    invitation.updated_at = now;
    match tx.update_invitation(&invitation, InvitationState::Pending).await {
        Err(RepoError::Stale { .. }) => {
            return Err(InviteError::NotPending { status: InvitationStatus::Accepted });
        }
        other => other?,
    }
    let entry = AuditEntry {
        root: invitation.root,
        account: invitation.account,
        action: "invitation.revoked",
        target_kind: "invitation",
        target_id: id.to_string(),
        diff: json!({"email": invitation.email}),
        actor,
        object: objects::invitation(&invitation, now),
    };
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Why a link (invitation, verification, set-password, reset) does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkProblem {
    /// No such link.
    #[error("this link is not valid")]
    Unknown,
    /// The link expired.
    #[error("this link has expired")]
    Expired,
    /// The link was used already (or replaced by a newer one).
    #[error("this link was already used")]
    Used,
}

/// What the invitee sees before accepting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationPreview {
    /// The invitation.
    pub invitation: Invitation,
    /// The inviting account's name.
    pub account_name: String,
    /// What the password must satisfy.
    pub password_policy: crate::password::PasswordPolicy,
    /// Whether usernames must be emails (then the email is the username).
    pub usernames_must_be_emails: bool,
}

async fn find_by_token(
    tx: &mut dyn Tx,
    token: &str,
    now: crate::time::Timestamp,
) -> Result<Invitation, AcceptError> {
    let token = SecretToken::parse(token).map_err(|_| AcceptError::Link(LinkProblem::Unknown))?;
    let invitation =
        tx.invitation_by_token(&token.hash()).await?.ok_or(AcceptError::Link(LinkProblem::Unknown))?;
    match invitation.status(now) {
        InvitationStatus::Pending => Ok(invitation),
        InvitationStatus::Expired => Err(AcceptError::Link(LinkProblem::Expired)),
        InvitationStatus::Accepted | InvitationStatus::Revoked => Err(AcceptError::Link(LinkProblem::Used)),
    }
}

/// Looks up an invitation by its link token (public).
pub async fn lookup(ports: &Ports, token: &str) -> Result<InvitationPreview, AcceptError> {
    let mut tx = ports.begin_read().await?;
    let invitation = find_by_token(tx.as_mut(), token, ports.now()).await?;
    let account = match load_account(tx.as_mut(), invitation.account).await {
        Ok(account) => account,
        Err(crate::service::Lookup::Gate(_)) => return Err(AcceptError::Link(LinkProblem::Unknown)),
        Err(crate::service::Lookup::Repo(err)) => return Err(err.into()),
    };
    let settings = load_settings(tx.as_mut(), invitation.root).await?;
    Ok(InvitationPreview {
        invitation,
        account_name: account.name.to_string(),
        password_policy: settings.password_policy,
        usernames_must_be_emails: settings.usernames_must_be_emails,
    })
}

/// Failure of accepting an invitation.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The link is unknown, expired or used.
    #[error(transparent)]
    Link(LinkProblem),
    /// A field failed to parse.
    #[error(transparent)]
    Invalid(Invalid),
    /// R15.
    #[error(transparent)]
    Password(PasswordRejected),
    /// R5: the chosen username is taken.
    #[error("the username is already taken")]
    UsernameTaken {
        /// The username.
        username: String,
    },
    /// A user with the invited email appeared meanwhile.
    #[error("a user with this email already exists")]
    ExistingUser,
    /// R1: the seat is gone (the seat total was changed under the invitation).
    #[error(transparent)]
    NoSeatAvailable(NoSeatAvailable),
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}

impl From<RepoError> for AcceptError {
    fn from(err: RepoError) -> Self {
        AcceptError::Repo(err)
    }
}

impl From<Invalid> for AcceptError {
    fn from(invalid: Invalid) -> Self {
        AcceptError::Invalid(invalid)
    }
}

/// What the invitee enters.
#[derive(Debug, Clone)]
pub struct Acceptance {
    /// The link token.
    pub token: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Username; generated when omitted.
    pub username: Option<String>,
    /// Password.
    pub password: PlainPassword,
}

/// Accepts an invitation: sets the password and creates an active, verified user with the
/// invited type, roles and scope. Single use, also under concurrent redemptions (R11).
pub async fn accept(ports: &Ports, command: Acceptance) -> Result<User, AcceptError> {
    let profile = crate::service::users::ProfileInput {
        first_name: command.first_name.clone(),
        last_name: command.last_name.clone(),
        ..Default::default()
    }
    .apply(Profile::default())?;
    let preview = lookup(ports, &command.token).await?;
    let email = preview.invitation.email.clone();
    preview
        .password_policy
        .check(
            &command.password,
            &[email.as_str(), command.username.as_deref().unwrap_or("")],
            ports.breached.as_ref(),
        )
        .map_err(AcceptError::Password)?;
    let hash =
        ports.hasher.hash(&command.password).await.map_err(|e| AcceptError::Repo(RepoError::backend(e)))?;

    let now = ports.now();
    let mut tx = ports.begin().await?;
    let found = find_by_token(tx.as_mut(), &command.token, now).await?;
    let root = found.root;
    let settings = load_settings(tx.as_mut(), root).await?;
    let user_type = match load_user_type(tx.as_mut(), root, found.user_type).await {
        Ok(user_type) => user_type,
        Err(crate::service::Lookup::Gate(_)) => return Err(AcceptError::Link(LinkProblem::Unknown)),
        Err(crate::service::Lookup::Repo(err)) => return Err(err.into()),
    };
    // The pool lock serialises redemptions of a type's seats (R1). Another redemption of this
    // link may have won while we waited, so the invitation is read again under the lock (and
    // without a pool, the conditional update below lets one redemption win).
    let usage = lock_seats(tx.as_mut(), root, &user_type, now).await?;
    let mut invitation = match tx.invitation(found.id).await? {
        Some(current) => match current.status(now) {
            InvitationStatus::Pending => current,
            InvitationStatus::Expired => return Err(AcceptError::Link(LinkProblem::Expired)),
            InvitationStatus::Accepted | InvitationStatus::Revoked => {
                return Err(AcceptError::Link(LinkProblem::Used));
            }
        },
        None => return Err(AcceptError::Link(LinkProblem::Unknown)),
    };
    if tx.user_by_email(root, &email).await?.is_some() {
        return Err(AcceptError::ExistingUser);
    }
    // The invitation reserved its seat; check the pool still covers it (R1, R2).
    let without_this = crate::model::SeatUsage { reserved: usage.reserved.saturating_sub(1), ..usage };
    check_seats(&user_type, &without_this, 1).map_err(AcceptError::NoSeatAvailable)?;
    let username =
        match choose_username(tx.as_mut(), &settings, root, command.username.as_deref(), &email, &profile)
            .await
        {
            Ok(username) => username,
            Err(UserError::UsernameTaken { username }) => {
                return Err(AcceptError::UsernameTaken { username });
            }
            Err(UserError::Invalid(invalid)) => return Err(AcceptError::Invalid(invalid)),
            Err(UserError::UsernameMustBeEmail) => {
                let error = crate::value::ValueError::Malformed { reason: "must be an email address" };
                return Err(AcceptError::Invalid(Invalid::new("username", error)));
            }
            Err(UserError::Repo(err)) => return Err(AcceptError::Repo(err)),
            Err(other) => return Err(AcceptError::Repo(RepoError::corrupt("invitation", other))),
        };
    let profile = Profile { locale: invitation.locale.clone(), ..profile };
    let user = User {
        profile,
        roles: invitation.roles.clone(),
        scope: invitation.scope.clone(),
        email_verified_at: Some(now),
        has_password: true,
        ..User::new(
            ports.new_id(UserId::from_uuid),
            Newcomer {
                root,
                account: invitation.account,
                username,
                email,
                user_type: invitation.user_type,
                origin: Origin::Invitation,
            },
            now,
        )
    };
    invitation.state = InvitationState::Accepted;
    invitation.accepted_user = Some(user.id);
    invitation.updated_at = now;
    match tx.update_invitation(&invitation, InvitationState::Pending).await {
        Err(RepoError::Stale { .. }) => return Err(AcceptError::Link(LinkProblem::Used)),
        other => other?,
    }
    match tx.insert_user(&user).await {
        Err(RepoError::Duplicate { field: "email", .. }) => return Err(AcceptError::ExistingUser),
        Err(RepoError::Duplicate { .. }) => {
            return Err(AcceptError::UsernameTaken { username: user.username.to_string() });
        }
        other => other?,
    }
    tx.set_password_hash(user.id, Some(hash)).await?;
    let anonymous = Actor::new(crate::authz::ActorKind::Anonymous);
    record_new_user(ports, tx.as_mut(), &anonymous, "invitation.accepted", &user).await?;
    tx.commit().await?;
    Ok(user)
}
