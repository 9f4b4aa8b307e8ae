//! Users: create (with or without a welcome mail), edit, rename rules, enable, disable, delete,
//! erase, administrator passwords, reset and verification mail, devices and order attribution.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::authz::{Actor, Denied, GrantDenied, unrestricted};
use crate::error::{Invalid, RepoError, field};
use crate::id::{AccountId, DeviceId, RoleId, UserId, UserTypeId};
use crate::model::{Account, Device, Newcomer, Origin, Profile, TokenPurpose, User, UserState};
use crate::password::PasswordRejected;
use crate::ports::{Page, PageRequest, Tx, UserQuery};
use crate::rules::{
    Attribution, HasHistory, NoSeatAvailable, RenameRefused, RoleRequired, attribution, check_delete,
    check_rename,
};
pub use crate::service::shared::drafts::{
    ADDRESS_KINDS, AddressInput, MAX_ADDRESS_LINES, MAX_ADDRESSES, MAX_ATTRIBUTE_LENGTH, MAX_ATTRIBUTES,
    MAX_SALES_TERRITORIES, ProfileInput,
};
use crate::service::{
    Draft, Gate, LinkKind, Ports, check_draft, choose_username, common_errors, diff, end_sessions, guard,
    issue_link, load_account, load_for_write, load_settings, load_user, load_user_type, parse_external_id,
    parse_external_ids, password_link_kind, record_new_user, record_user, reject_member_type,
    retire_password_links, user_view, visible_subtrees,
};
use crate::value::{Access, Email, Key, Module, Name, Permission, PlainPassword, Username};

mod access;
mod credentials;
mod lifecycle;

pub use access::*;
pub use credentials::*;
pub use lifecycle::*;

/// Failure of a user use case.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
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
    /// R1.
    #[error(transparent)]
    NoSeatAvailable(NoSeatAvailable),
    /// R3.
    #[error(transparent)]
    RoleRequired(RoleRequired),
    /// R4.
    #[error(transparent)]
    Grant(GrantDenied),
    /// R5: the username is taken in the root account. The message does not repeat it: a
    /// message may be kept (an import's report), and the value names someone else.
    #[error("the username is already taken")]
    UsernameTaken {
        /// The username.
        username: String,
    },
    /// R5: the account requires email usernames.
    #[error("usernames must be email addresses in this account")]
    UsernameMustBeEmail,
    /// The email belongs to another user of the root account.
    #[error("the email is already used by another user")]
    EmailTaken {
        /// The email.
        email: String,
    },
    /// Another user of the tenant has the provisioning client's id.
    #[error("the external id is already used by another user")]
    ExternalIdTaken {
        /// The id.
        external_id: String,
    },
    /// R6.
    #[error(transparent)]
    Rename(RenameRefused),
    /// R8.
    #[error(transparent)]
    HasHistory(HasHistory),
    /// R12: members are created by registration only.
    #[error("members are created by self-registration, not by hand")]
    MemberTypeReserved,
    /// R9: the email is already verified.
    #[error("the email is already verified")]
    AlreadyVerified,
    /// R9: the account does not require verification.
    #[error("email verification is not enabled for this account")]
    VerificationNotRequired,
    /// R15.
    #[error(transparent)]
    Password(PasswordRejected),
    /// R18: a device needs a password first.
    #[error("a device can be linked only once the user has a password")]
    NoPasswordYet,
    /// R18: the device is already linked.
    #[error("device {identifier} is already linked")]
    DeviceTaken {
        /// The identifier.
        identifier: String,
    },
    /// R17: the contact already has a user.
    #[error("the contact already has a user")]
    ContactHasUser,
    /// The user was erased.
    #[error("the user was erased")]
    Erased,
    /// Just-in-time: a user of the tenant already has the identity's email, and the identity
    /// may not be linked to it.
    #[error("a user with email {email} exists and the identity is not linked to it: {reason}")]
    IdentityNotLinked {
        /// The email.
        email: String,
        /// Why not.
        reason: &'static str,
    },
    /// Too many mails to this address lately.
    #[error("too many mails to this address lately; try again in {seconds} seconds")]
    Throttled {
        /// Seconds to wait before trying again.
        seconds: u64,
    },
    /// The call needs a user session, not an API key.
    #[error("this call needs a user session, not an API key")]
    NotAUser,
    /// An administrator may not disable, delete, erase or set the password of their own
    /// user (they would lock themselves out; their own password changes through
    /// `change_own_password`).
    #[error("you cannot {action} your own user")]
    OwnUser {
        /// What was refused (`disable`, `delete`, `erase`, `set the password of`).
        action: &'static str,
    },
    /// The version given does not match (optimistic locking).
    #[error("user was changed since version {expected}; it is at version {actual}")]
    VersionMismatch {
        /// Version given.
        expected: u64,
        /// Current version.
        actual: u64,
    },
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(UserError);

impl UserError {
    fn from_insert(err: RepoError, user: &User) -> UserError {
        match err {
            RepoError::Duplicate { field: "email", .. } => {
                UserError::EmailTaken { email: user.email.to_string() }
            }
            RepoError::Duplicate { field: "external_id", .. } => UserError::ExternalIdTaken {
                external_id: user.external_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            },
            RepoError::Duplicate { .. } => UserError::UsernameTaken { username: user.username.to_string() },
            RepoError::Stale { .. } => {
                UserError::VersionMismatch { expected: user.version, actual: user.version + 1 }
            }
            other => other.into(),
        }
    }
}

/// A user created by an administrator.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Username; generated from the account's format when omitted (R5).
    pub username: Option<String>,
    /// Email.
    pub email: String,
    /// Personal data.
    pub profile: ProfileInput,
    /// User type.
    pub user_type: UserTypeId,
    /// Roles.
    pub roles: BTreeSet<RoleId>,
    /// Sub-account scope (empty: the whole home subtree).
    pub scope: BTreeSet<AccountId>,
    /// Create enabled (R1, R3) or disabled.
    pub enabled: bool,
    /// Send a welcome mail with a set-password link (R16).
    pub send_welcome: bool,
    /// External ids, e.g. `erp_salesperson`.
    pub external_ids: BTreeMap<String, String>,
    /// The provisioning client's id for the user (unique in the tenant).
    pub external_id: Option<String>,
    /// Sales representative.
    pub sales_representative: Option<UserId>,
    /// Receive system messages.
    pub receive_system_messages: bool,
}

/// Creates a user by hand (R1, R3, R4, R5, R12, R16, R19).
pub async fn create_user(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    command: NewUser,
) -> Result<User, UserError> {
    let mut tx = ports.begin().await?;
    let user = create_in(ports, tx.as_mut(), actor, account, command, Origin::Admin).await?;
    tx.commit().await?;
    Ok(user)
}

/// Creates a user within `tx`, saying how it came to be.
pub(crate) async fn create_in(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    account: AccountId,
    command: NewUser,
    origin: Origin,
) -> Result<User, UserError> {
    let email = field("email", Email::parse(&command.email))?;
    let profile = command.profile.apply(Profile::default())?;
    let external_ids = parse_external_ids(&command.external_ids)?;
    let external_id = parse_external_id(command.external_id.as_deref())?;
    let permission = Permission::new(Module::Users, Access::Write);
    let (account, settings, user_type) =
        load_for_write(tx, actor, permission, account, command.user_type).await?;
    let root = account.root();
    reject_member_type(&settings, user_type.id)?;
    let state = if command.enabled { UserState::Active } else { UserState::Disabled };
    let draft = Draft {
        account: &account,
        settings: &settings,
        user_type: &user_type,
        roles: &command.roles,
        scope: &command.scope,
        state,
    };
    check_draft(ports, tx, actor, draft, true).await?;
    check_sales_representative(tx, root, command.sales_representative).await?;
    // A taken address is refused by the unique index on insert (`from_insert`).
    let username =
        choose_username(tx, &settings, root, command.username.as_deref(), &email, &profile).await?;
    let now = ports.now();
    let user = User {
        profile,
        receive_system_messages: command.receive_system_messages,
        sales_representative: command.sales_representative,
        external_ids,
        external_id,
        roles: command.roles,
        scope: command.scope,
        state,
        ..User::new(
            ports.new_id(UserId::from_uuid),
            Newcomer { root, account: account.id, username, email, user_type: user_type.id, origin },
            now,
        )
    };
    tx.insert_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    if command.send_welcome {
        issue_link(ports, tx, &settings, &user, LinkKind::Welcome).await?;
    }
    record_new_user(ports, tx, actor, "user.created", &user).await?;
    Ok(user)
}

/// Refuses `action` when the actor is the user itself.
fn not_own_user(actor: &Actor, user: UserId, action: &'static str) -> Result<(), UserError> {
    if actor.own_user() == Some(user) { Err(UserError::OwnUser { action }) } else { Ok(()) }
}

/// The caller's own user (`GET /v1/me`); refused while the password must be changed (R16).
pub async fn me(ports: &Ports, actor: &Actor) -> Result<User, UserError> {
    unrestricted(actor).map_err(UserError::Denied)?;
    let id = actor.own_user().ok_or(UserError::NotAUser)?;
    let mut tx = ports.begin_read().await?;
    tx.user(id).await?.ok_or(UserError::NotFound { entity: "user" })
}

/// A sales representative must be a user of the same tenant.
async fn check_sales_representative(
    tx: &mut dyn Tx,
    root: AccountId,
    representative: Option<UserId>,
) -> Result<(), UserError> {
    let Some(id) = representative else {
        return Ok(());
    };
    match tx.user(id).await? {
        Some(found) if found.root == root && found.erased_at.is_none() => Ok(()),
        _ => Err(UserError::NotFound { entity: "sales representative" }),
    }
}

/// A user.
pub async fn get_user(ports: &Ports, actor: &Actor, id: UserId) -> Result<User, UserError> {
    let mut tx = ports.begin_read().await?;
    Ok(load_user(tx.as_mut(), actor, id, Access::Read).await?.0)
}

/// The names to show for users the actor may read, e.g. the actors and targets of an audit
/// page: each one's display name, in one read. An id the actor may not read, or that names no
/// user (deleted), is left out, so a screen falls back to showing the id.
pub async fn display_names(
    ports: &Ports,
    actor: &Actor,
    ids: &BTreeSet<UserId>,
) -> Result<BTreeMap<UserId, String>, UserError> {
    let mut tx = ports.begin_read().await?;
    let mut names = BTreeMap::new();
    for id in ids {
        match load_user(tx.as_mut(), actor, *id, Access::Read).await {
            Ok((user, _)) => {
                names.insert(user.id, user.display_name());
            }
            Err(UserError::NotFound { .. } | UserError::Denied(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(names)
}

/// Filters of [`list_users`].
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// State.
    pub state: Option<UserState>,
    /// Prefix of username, email, first or last name.
    pub q: Option<String>,
    /// User type.
    pub user_type: Option<UserTypeId>,
    /// Role.
    pub role: Option<RoleId>,
}

/// Users of an account and its sub-accounts (within the actor's scope), a page at a time.
pub async fn list_users(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    filter: UserFilter,
    page: PageRequest,
) -> Result<Page<User>, UserError> {
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Users, Access::Read), &account, "account")?;
    Ok(tx.list_users(&user_query(actor, &account, &filter, page)).await?)
}

/// The query of the users of `account`'s subtree that the actor sees (R19) and `filter` lets
/// through; the caller has authorized reading them.
pub(crate) fn user_query(
    actor: &Actor,
    account: &Account,
    filter: &UserFilter,
    page: PageRequest,
) -> UserQuery {
    UserQuery {
        root: account.root(),
        within: visible_subtrees(actor, account),
        state: filter.state,
        prefix: filter.q.as_ref().map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty()),
        user_type: filter.user_type,
        role: filter.role,
        page,
    }
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New username (R5, R6).
    pub username: Option<String>,
    /// Consent to break an external-id link by renaming (R6).
    pub acknowledge_external_link: bool,
    /// New email (marks it unverified).
    pub email: Option<String>,
    /// Personal data.
    pub profile: ProfileInput,
    /// New user type (R1, R4).
    pub user_type: Option<UserTypeId>,
    /// New roles (R3, R4).
    pub roles: Option<BTreeSet<RoleId>>,
    /// New scope (R19).
    pub scope: Option<BTreeSet<AccountId>>,
    /// External ids (replaces all).
    pub external_ids: Option<BTreeMap<String, String>>,
    /// The provisioning client's id for the user (`Some(None)` clears it).
    pub external_id: Option<Option<String>>,
    /// Sales representative.
    pub sales_representative: Option<Option<UserId>>,
    /// Receive system messages.
    pub receive_system_messages: Option<bool>,
    /// The version the caller saw (If-Match).
    pub if_version: Option<u64>,
}

/// Edits a user (R1, R3, R4, R5, R6).
pub async fn update_user(
    ports: &Ports,
    actor: &Actor,
    id: UserId,
    patch: UserPatch,
) -> Result<User, UserError> {
    let mut tx = ports.begin().await?;
    let (user, account) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    let user = update_in(ports, tx.as_mut(), actor, user, &account, patch).await?;
    tx.commit().await?;
    Ok(user)
}

/// Edits a loaded user within `tx` (the caller loaded it for writing).
pub(crate) async fn update_in(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    mut user: User,
    account: &Account,
    patch: UserPatch,
) -> Result<User, UserError> {
    if user.erased_at.is_some() {
        return Err(UserError::Erased);
    }
    if let Some(expected) = patch.if_version.filter(|v| *v != user.version) {
        return Err(UserError::VersionMismatch { expected, actual: user.version });
    }
    let before = user_view(&user);
    let settings = load_settings(tx, user.root).await?;
    user.profile = patch.profile.apply(user.profile)?;
    let mut email_changed = false;
    if let Some(raw) = &patch.email {
        let email = field("email", Email::parse(raw))?;
        if email != user.email {
            if tx.user_by_email(user.root, &email).await?.is_some() {
                return Err(UserError::EmailTaken { email: email.to_string() });
            }
            user.email = email;
            user.email_verified_at = None;
            email_changed = true;
        }
    }
    let mut renamed = false;
    if let Some(raw) = &patch.username {
        let username = field("username", Username::parse(raw))?;
        if username != user.username {
            check_rename(&user, patch.acknowledge_external_link).map_err(UserError::Rename)?;
            if settings.usernames_must_be_emails && Email::parse(username.as_str()).is_err() {
                return Err(UserError::UsernameMustBeEmail);
            }
            let holder = tx.user_by_username(user.root, &username.key()).await?;
            if holder.is_some_and(|other| other.id != user.id) {
                return Err(UserError::UsernameTaken { username: username.to_string() });
            }
            renamed = user.external_ids.values().any(|v| user.username.matches(v));
            user.username = username;
        }
    }
    if let Some(ids) = &patch.external_ids {
        user.external_ids = parse_external_ids(ids)?;
    }
    if let Some(external_id) = &patch.external_id {
        user.external_id = parse_external_id(external_id.as_deref())?;
    }
    if let Some(rep) = patch.sales_representative {
        check_sales_representative(tx, user.root, rep).await?;
        user.sales_representative = rep;
    }
    if let Some(flag) = patch.receive_system_messages {
        user.receive_system_messages = flag;
    }
    let type_changed = patch.user_type.is_some_and(|t| t != user.user_type);
    if let Some(user_type) = patch.user_type.filter(|_| type_changed) {
        reject_member_type(&settings, user_type)?;
    }
    if let Some(user_type) = patch.user_type {
        user.user_type = user_type;
    }
    if let Some(roles) = patch.roles {
        user.roles = roles;
    }
    if let Some(scope) = patch.scope {
        user.scope = scope;
    }
    let user_type = load_user_type(tx, user.root, user.user_type).await?;
    let draft = Draft {
        account,
        settings: &settings,
        user_type: &user_type,
        roles: &user.roles,
        scope: &user.scope,
        state: user.state,
    };
    check_draft(ports, tx, actor, draft, type_changed).await?;
    user.updated_at = ports.now();
    tx.update_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    user.version += 1;
    if email_changed {
        // R25: links sent to the old address verify nothing now; the new one is asked.
        tx.retire_tokens(user.id, TokenPurpose::EmailVerification, ports.now()).await?;
        if settings.email_verification_required {
            issue_link(ports, tx, &settings, &user, LinkKind::Verification).await?;
        }
    }
    let mut changes = diff(Some(&before), Some(&user_view(&user)));
    if renamed {
        // R6: a rename that broke an external link is recorded as such.
        if let Value::Object(map) = &mut changes {
            map.insert("external_link_broken".into(), json!(true));
        }
    }
    record_user(ports, tx, actor, "user.updated", &user, changes).await?;
    Ok(user)
}

/// A user edits their own personal data (`PATCH /v1/me`): profile fields only, never the
/// username, email, type, roles or scope, which stay with administrators.
pub async fn update_own_profile(
    ports: &Ports,
    actor: &Actor,
    profile: ProfileInput,
    if_version: Option<u64>,
) -> Result<User, UserError> {
    unrestricted(actor).map_err(UserError::Denied)?;
    let id = actor.own_user().ok_or(UserError::NotAUser)?;
    let mut tx = ports.begin().await?;
    let mut user = tx.user(id).await?.ok_or(Gate::NotFound { entity: "user" })?;
    if user.erased_at.is_some() {
        return Err(UserError::Erased);
    }
    if let Some(expected) = if_version.filter(|v| *v != user.version) {
        return Err(UserError::VersionMismatch { expected, actual: user.version });
    }
    let before = user_view(&user);
    user.profile = profile.apply(user.profile)?;
    user.updated_at = ports.now();
    tx.update_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    user.version += 1;
    let changes = diff(Some(&before), Some(&user_view(&user)));
    record_user(ports, tx.as_mut(), actor, "user.profile_updated", &user, changes).await?;
    tx.commit().await?;
    Ok(user)
}
