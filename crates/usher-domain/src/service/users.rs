//! Users: create (with or without a welcome mail), edit, rename rules, enable, disable, delete,
//! erase, administrator passwords, reset and verification mail, devices and order attribution.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::authz::{
    Actor, Denied, GrantDenied, check_grant, check_outranks, effective_permissions, unrestricted,
};
use crate::error::{Invalid, RepoError, field};
use crate::id::{AccountId, DeviceId, RoleId, TokenId, UserId, UserTypeId};
use crate::model::{
    Account, Device, MailMessage, Newcomer, OneTimeToken, Origin, Profile, Settings, TokenPurpose, User,
    UserState, UserType,
};
use crate::password::PasswordRejected;
use crate::ports::{Page, PageRequest, Tx, UserQuery};
use crate::rules::{
    Attribution, HasHistory, NameParts, NoSeatAvailable, RenameRefused, RoleRequired, attribution,
    check_delete, check_rename, check_roles_for_state, check_seats, username_candidate, username_from_format,
};
use crate::service::{
    Gate, Lookup, Ports, common_errors, diff, enqueue, guard, load_account, load_settings, optional,
    record_user, user_view,
};
use crate::value::{
    Access, Email, Key, Locale, Module, Name, Permission, PlainPassword, Username, ValueError,
};

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
    /// R5: the username is taken in the root account.
    #[error("username {username} is already taken")]
    UsernameTaken {
        /// The username.
        username: String,
    },
    /// R5: the account requires email usernames.
    #[error("usernames must be email addresses in this account")]
    UsernameMustBeEmail,
    /// The email belongs to another user of the root account.
    #[error("email {email} is already used by another user")]
    EmailTaken {
        /// The email.
        email: String,
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
            RepoError::Duplicate { .. } => UserError::UsernameTaken { username: user.username.to_string() },
            RepoError::Stale { .. } => {
                UserError::VersionMismatch { expected: user.version, actual: user.version + 1 }
            }
            other => other.into(),
        }
    }
}

/// The most sales territories a user has.
pub const MAX_SALES_TERRITORIES: usize = 100;
/// The most free attributes a user has.
pub const MAX_ATTRIBUTES: usize = 50;
/// The longest value of a free attribute, in characters.
pub const MAX_ATTRIBUTE_LENGTH: usize = 1_000;

fn at_most(name: &str, actual: usize, max: usize) -> Result<(), Invalid> {
    if actual > max { Err(Invalid::new(name, ValueError::TooMany { max, actual })) } else { Ok(()) }
}

/// Profile fields as received; each is parsed into its value type.
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// "Email to".
    pub notification_email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Birthday.
    pub birthday: Option<time::Date>,
    /// Locale.
    pub locale: Option<String>,
    /// Image URL.
    pub image_url: Option<String>,
    /// Sales territories.
    pub sales_territories: Option<Vec<String>>,
    /// Free attributes.
    pub attributes: Option<BTreeMap<String, String>>,
}

impl ProfileInput {
    /// Applies the given fields on top of `profile`; empty text clears a field.
    pub fn apply(&self, mut profile: Profile) -> Result<Profile, Invalid> {
        if self.first_name.is_some() {
            profile.first_name = optional("first_name", self.first_name.as_deref(), Name::parse)?;
        }
        if self.last_name.is_some() {
            profile.last_name = optional("last_name", self.last_name.as_deref(), Name::parse)?;
        }
        if self.notification_email.is_some() {
            profile.notification_email =
                optional("notification_email", self.notification_email.as_deref(), Email::parse)?;
        }
        if self.phone.is_some() {
            profile.phone = optional("phone", self.phone.as_deref(), Name::parse)?;
        }
        if self.birthday.is_some() {
            profile.birthday = self.birthday;
        }
        if self.locale.is_some() {
            profile.locale = optional("locale", self.locale.as_deref(), Locale::parse)?;
        }
        if let Some(url) = &self.image_url {
            let url = url.trim();
            let valid = url.is_empty()
                || (url.len() <= 2000 && (url.starts_with("https://") || url.starts_with("http://")));
            if !valid {
                let error = crate::value::ValueError::Malformed { reason: "must be an http(s) URL" };
                return Err(Invalid::new("image_url", error));
            }
            profile.image_url = (!url.is_empty()).then(|| url.to_owned());
        }
        if let Some(territories) = &self.sales_territories {
            at_most("sales_territories", territories.len(), MAX_SALES_TERRITORIES)?;
            profile.sales_territories = territories
                .iter()
                .enumerate()
                .map(|(i, t)| field(&format!("sales_territories[{i}]"), Name::parse(t)))
                .collect::<Result<_, _>>()?;
        }
        if let Some(attributes) = &self.attributes {
            at_most("attributes", attributes.len(), MAX_ATTRIBUTES)?;
            profile.attributes = attributes
                .iter()
                .map(|(k, v)| {
                    let name = format!("attributes.{k}");
                    let key = field(&name, Key::parse(k))?;
                    let length = v.chars().count();
                    if length > MAX_ATTRIBUTE_LENGTH {
                        let error = ValueError::TooLong { max: MAX_ATTRIBUTE_LENGTH, actual: length };
                        return Err(Invalid::new(&name, error));
                    }
                    Ok((key, v.clone()))
                })
                .collect::<Result<_, Invalid>>()?;
        }
        Ok(profile)
    }
}

fn parse_external_ids(raw: &BTreeMap<String, String>) -> Result<BTreeMap<Key, String>, Invalid> {
    raw.iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(kind, value)| {
            Ok((field(&format!("external_ids.{kind}"), Key::parse(kind))?, value.trim().to_owned()))
        })
        .collect()
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
    /// Sales representative.
    pub sales_representative: Option<UserId>,
    /// Receive system messages.
    pub receive_system_messages: bool,
}

/// What a user is about to become, checked as a whole before any write.
pub(crate) struct Draft<'a> {
    pub(crate) account: &'a Account,
    pub(crate) settings: &'a Settings,
    pub(crate) user_type: &'a UserType,
    pub(crate) roles: &'a BTreeSet<RoleId>,
    pub(crate) scope: &'a BTreeSet<AccountId>,
    pub(crate) state: UserState,
}

/// Loads a user type of `root`; one of another tenant reads as not found.
pub(crate) async fn load_user_type(
    tx: &mut dyn Tx,
    root: AccountId,
    id: UserTypeId,
) -> Result<UserType, Lookup> {
    match tx.user_type(id).await? {
        Some(found) if found.root == root => Ok(found),
        _ => Err(Lookup::Gate(Gate::NotFound { entity: "user type" })),
    }
}

/// R3, R4 and R19 for a user about to be written; R1 when it takes a new seat (`takes_seat`).
pub(crate) async fn check_draft(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    draft: Draft<'_>,
    takes_seat: bool,
) -> Result<(), UserError> {
    check_roles_for_state(draft.state, draft.roles).map_err(UserError::RoleRequired)?;
    let mut roles = Vec::new();
    for id in draft.roles {
        match tx.role(*id).await? {
            Some(role) if role.root == draft.account.root() => roles.push(role),
            _ => return Err(UserError::NotFound { entity: "role" }),
        }
    }
    check_grant(actor, &roles, draft.user_type).map_err(UserError::Grant)?;
    for account in draft.scope {
        let scoped = load_account(tx, *account).await?;
        // Reach first: another tenant's account reads as not found, like a random id.
        guard(actor, Permission::new(Module::Users, Access::Write), &scoped, "account")?;
        if !scoped.path.is_within(draft.account.id) {
            return Err(UserError::Denied(Denied::OutsideScope));
        }
    }
    if takes_seat && draft.state == UserState::Active {
        let usage = tx.lock_seat_pool(draft.account.root(), draft.user_type.id, ports.now()).await?;
        check_seats(draft.user_type, &usage, 1).map_err(UserError::NoSeatAvailable)?;
    }
    let _ = draft.settings;
    Ok(())
}

/// R5: the username given, or one generated from the format with a free numeric suffix.
pub(crate) async fn choose_username(
    tx: &mut dyn Tx,
    settings: &Settings,
    root: AccountId,
    given: Option<&str>,
    email: &Email,
    profile: &Profile,
) -> Result<Username, UserError> {
    if let Some(raw) = given.filter(|raw| !raw.trim().is_empty()) {
        let username = field("username", Username::parse(raw))?;
        if settings.usernames_must_be_emails && Email::parse(username.as_str()).is_err() {
            return Err(UserError::UsernameMustBeEmail);
        }
        if tx.user_by_username(root, &username.key()).await?.is_some() {
            return Err(UserError::UsernameTaken { username: username.to_string() });
        }
        return Ok(username);
    }
    let parts =
        NameParts { email, first_name: profile.first_name.as_ref(), last_name: profile.last_name.as_ref() };
    let base = if settings.usernames_must_be_emails {
        field("email", Username::parse(email.as_str()))?
    } else {
        username_from_format(&settings.username_format, parts)
    };
    for n in 1..=1000 {
        let candidate = username_candidate(&base, n);
        if tx.user_by_username(root, &candidate.key()).await?.is_none() {
            return Ok(candidate);
        }
    }
    Err(UserError::UsernameTaken { username: base.to_string() })
}

/// The one-time links usher mails to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkKind {
    /// A first password, in the welcome mail (R16).
    Welcome,
    /// A new password for a forgotten one (R21).
    Reset,
    /// Proof of the address the link is sent to (R9, R25).
    Verification,
}

/// Issues a one-time link of `kind` to the user's current address, retiring the earlier
/// links of that kind, and queues its mail on the transaction (R13, R20).
pub(crate) async fn issue_link(
    ports: &Ports,
    tx: &mut dyn Tx,
    settings: &Settings,
    user: &User,
    kind: LinkKind,
) -> Result<(), RepoError> {
    let now = ports.now();
    let purpose = match kind {
        LinkKind::Welcome => TokenPurpose::SetPassword,
        LinkKind::Reset => TokenPurpose::PasswordReset,
        LinkKind::Verification => TokenPurpose::EmailVerification,
    };
    tx.retire_tokens(user.id, purpose, now).await?;
    let token = ports.new_token("");
    let expires_at = now.plus(settings.link_lifetime.duration());
    let record = OneTimeToken {
        id: ports.new_id(TokenId::from_uuid),
        user: user.id,
        purpose,
        token_hash: token.hash(),
        created_at: now,
        expires_at,
        used_at: None,
    };
    tx.insert_token(&record).await?;
    let token = Some(token);
    let message = match kind {
        LinkKind::Welcome => {
            MailMessage::Welcome { user: user.id, username: user.username.to_string(), token, expires_at }
        }
        LinkKind::Reset => MailMessage::PasswordReset { user: user.id, token, expires_at },
        LinkKind::Verification => MailMessage::EmailVerification { user: user.id, token, expires_at },
    };
    enqueue(ports, tx, user.root, user.account, &user.email, user.profile.locale.clone(), message).await
}

/// The password link a user needs: a welcome link without a password, else a reset link.
pub(crate) fn password_link_kind(user: &User) -> LinkKind {
    if user.has_password { LinkKind::Reset } else { LinkKind::Welcome }
}

/// Kills every unused set-password and reset link of a user: the password changed by some
/// path, so a link issued before stands for nothing (R25).
pub(crate) async fn retire_password_links(
    ports: &Ports,
    tx: &mut dyn Tx,
    user: UserId,
) -> Result<(), RepoError> {
    let now = ports.now();
    tx.retire_tokens(user, TokenPurpose::PasswordReset, now).await?;
    tx.retire_tokens(user, TokenPurpose::SetPassword, now).await
}

/// Creates a user by hand (R1, R3, R4, R5, R12, R16, R19).
pub async fn create_user(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    command: NewUser,
) -> Result<User, UserError> {
    let email = field("email", Email::parse(&command.email))?;
    let profile = command.profile.apply(Profile::default())?;
    let external_ids = parse_external_ids(&command.external_ids)?;
    let mut tx = ports.begin().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Users, Access::Write), &account, "account")?;
    let root = account.root();
    let settings = load_settings(tx.as_mut(), root).await?;
    let user_type = load_user_type(tx.as_mut(), root, command.user_type).await?;
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
    check_draft(ports, tx.as_mut(), actor, draft, true).await?;
    check_sales_representative(tx.as_mut(), root, command.sales_representative).await?;
    if tx.user_by_email(root, &email).await?.is_some() {
        return Err(UserError::EmailTaken { email: email.to_string() });
    }
    let username =
        choose_username(tx.as_mut(), &settings, root, command.username.as_deref(), &email, &profile).await?;
    let now = ports.now();
    let user = User {
        profile,
        receive_system_messages: command.receive_system_messages,
        sales_representative: command.sales_representative,
        external_ids,
        roles: command.roles,
        scope: command.scope,
        state,
        ..User::new(
            ports.new_id(UserId::from_uuid),
            Newcomer {
                root,
                account: account.id,
                username,
                email,
                user_type: user_type.id,
                origin: Origin::Admin,
            },
            now,
        )
    };
    tx.insert_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    if command.send_welcome {
        issue_link(ports, tx.as_mut(), &settings, &user, LinkKind::Welcome).await?;
    }
    record_user(ports, tx.as_mut(), actor, "user.created", &user, diff(None, Some(&user_view(&user))))
        .await?;
    tx.commit().await?;
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

/// R12: members are made by self-registration only, never by an administrator, an invitation
/// or a contact.
pub(crate) fn reject_member_type(settings: &Settings, user_type: UserTypeId) -> Result<(), UserError> {
    if settings.member_user_type == Some(user_type) { Err(UserError::MemberTypeReserved) } else { Ok(()) }
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

/// Loads a user the actor may act on with `access`: within the actor's reach (R19) and, to
/// change anything, holding nothing the actor lacks (R24).
pub(crate) async fn load_user(
    tx: &mut dyn Tx,
    actor: &Actor,
    id: UserId,
    access: Access,
) -> Result<(User, Account), UserError> {
    let user = tx.user(id).await?.ok_or(Gate::NotFound { entity: "user" })?;
    let account = load_account(tx, user.account).await?;
    guard(actor, Permission::new(Module::Users, access), &account, "user")?;
    if access == Access::Write {
        let held = permissions_of(tx, &user).await?;
        check_outranks(actor, held.as_ref()).map_err(UserError::Denied)?;
    }
    Ok((user, account))
}

/// The effective permissions of a user (roles ∩ type ceiling, R4); `None` for the operator,
/// who holds everything.
pub(crate) async fn permissions_of(
    tx: &mut dyn Tx,
    user: &User,
) -> Result<Option<BTreeSet<Permission>>, RepoError> {
    if user.is_operator {
        return Ok(None);
    }
    let Some(user_type) = tx.user_type(user.user_type).await? else {
        return Ok(Some(BTreeSet::new()));
    };
    let mut roles = Vec::with_capacity(user.roles.len());
    for id in &user.roles {
        if let Some(role) = tx.role(*id).await? {
            roles.push(role);
        }
    }
    Ok(Some(effective_permissions(&roles, &user_type)))
}

/// A user.
pub async fn get_user(ports: &Ports, actor: &Actor, id: UserId) -> Result<User, UserError> {
    let mut tx = ports.begin_read().await?;
    Ok(load_user(tx.as_mut(), actor, id, Access::Read).await?.0)
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
    let within = visible_subtrees(actor, &account);
    let prefix = filter.q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
    let query = UserQuery {
        root: account.root(),
        within,
        state: filter.state,
        prefix,
        user_type: filter.user_type,
        role: filter.role,
        page,
    };
    Ok(tx.list_users(&query).await?)
}

/// The subtrees a list at `account` shows: the account's own. `guard` has already checked
/// that the account lies within the actor's home subtree and scope, so its subtree does too.
pub(crate) fn visible_subtrees(_actor: &Actor, account: &Account) -> BTreeSet<AccountId> {
    BTreeSet::from([account.id])
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
    let (mut user, account) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    if user.erased_at.is_some() {
        return Err(UserError::Erased);
    }
    if let Some(expected) = patch.if_version.filter(|v| *v != user.version) {
        return Err(UserError::VersionMismatch { expected, actual: user.version });
    }
    let before = user_view(&user);
    let settings = load_settings(tx.as_mut(), user.root).await?;
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
    if let Some(rep) = patch.sales_representative {
        check_sales_representative(tx.as_mut(), user.root, rep).await?;
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
    let user_type = load_user_type(tx.as_mut(), user.root, user.user_type).await?;
    let draft = Draft {
        account: &account,
        settings: &settings,
        user_type: &user_type,
        roles: &user.roles,
        scope: &user.scope,
        state: user.state,
    };
    check_draft(ports, tx.as_mut(), actor, draft, type_changed).await?;
    user.updated_at = ports.now();
    tx.update_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    user.version += 1;
    if email_changed {
        // R25: links sent to the old address verify nothing now; the new one is asked.
        tx.retire_tokens(user.id, TokenPurpose::EmailVerification, ports.now()).await?;
        if settings.email_verification_required {
            issue_link(ports, tx.as_mut(), &settings, &user, LinkKind::Verification).await?;
        }
    }
    let mut changes = diff(Some(&before), Some(&user_view(&user)));
    if renamed {
        // R6: a rename that broke an external link is recorded as such.
        if let Value::Object(map) = &mut changes {
            map.insert("external_link_broken".into(), json!(true));
        }
    }
    record_user(ports, tx.as_mut(), actor, "user.updated", &user, changes).await?;
    tx.commit().await?;
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

/// Enables a user (R1: needs a seat; R3: needs a role).
pub async fn enable_user(ports: &Ports, actor: &Actor, id: UserId) -> Result<User, UserError> {
    let mut tx = ports.begin().await?;
    let (mut user, account) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    if user.erased_at.is_some() {
        return Err(UserError::Erased);
    }
    if user.state == UserState::Active {
        return Ok(user);
    }
    let settings = load_settings(tx.as_mut(), user.root).await?;
    let user_type = load_user_type(tx.as_mut(), user.root, user.user_type).await?;
    let draft = Draft {
        account: &account,
        settings: &settings,
        user_type: &user_type,
        roles: &user.roles,
        scope: &user.scope,
        state: UserState::Active,
    };
    check_draft(ports, tx.as_mut(), actor, draft, true).await?;
    user.state = UserState::Active;
    user.updated_at = ports.now();
    tx.update_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    user.version += 1;
    record_user(
        ports,
        tx.as_mut(),
        actor,
        "user.enabled",
        &user,
        json!({"state": {"before": "disabled", "after": "active"}}),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Disables a user: always allowed, frees the seat and ends the sessions (R8, R21).
pub async fn disable_user(ports: &Ports, actor: &Actor, id: UserId) -> Result<User, UserError> {
    not_own_user(actor, id, "disable")?;
    let mut tx = ports.begin().await?;
    let (mut user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    if user.state == UserState::Disabled {
        return Ok(user);
    }
    user.state = UserState::Disabled;
    user.updated_at = ports.now();
    tx.update_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    user.version += 1;
    let ended = tx.delete_sessions_of(user.id).await?;
    let changes = json!({"state": {"before": "active", "after": "disabled"}, "sessions_ended": ended});
    record_user(ports, tx.as_mut(), actor, "user.disabled", &user, changes).await?;
    tx.commit().await?;
    Ok(user)
}

/// Deletes a user created in error: only without history (R8).
pub async fn delete_user(ports: &Ports, actor: &Actor, id: UserId) -> Result<(), UserError> {
    not_own_user(actor, id, "delete")?;
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    let has_acted = tx.has_acted(user.id).await?;
    check_delete(&user, has_acted).map_err(UserError::HasHistory)?;
    tx.delete_user(user.id).await?;
    record_user(ports, tx.as_mut(), actor, "user.deleted", &user, json!({"username": user.username})).await?;
    tx.commit().await?;
    Ok(())
}

/// Erases a user's personal data (privacy), keeping the audit chain (R8, R21).
pub async fn erase_user(ports: &Ports, actor: &Actor, id: UserId) -> Result<User, UserError> {
    not_own_user(actor, id, "erase")?;
    let mut tx = ports.begin().await?;
    let (mut user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    if user.erased_at.is_some() {
        return Ok(user);
    }
    let now = ports.now();
    let anonymous = format!("erased-{}", user.id.as_uuid().simple());
    let address = user.email.clone();
    let contact = user.contact;
    user.username = field("username", Username::parse(&anonymous))?;
    user.email = field("email", Email::parse(&format!("{anonymous}@erased.invalid")))?;
    user.profile = Profile::default();
    user.external_ids.clear();
    user.sales_representative = None;
    user.contact = None;
    user.state = UserState::Disabled;
    user.email_verified_at = None;
    user.has_password = false;
    user.must_change_password = false;
    user.erased_at = Some(now);
    user.updated_at = now;
    tx.update_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    user.version += 1;
    tx.set_password_hash(user.id, None).await?;
    retire_password_links(ports, tx.as_mut(), user.id).await?;
    tx.retire_tokens(user.id, TokenPurpose::EmailVerification, now).await?;
    let ended = tx.delete_sessions_of(user.id).await?;
    for device in tx.devices(user.id).await? {
        tx.delete_device(device.id).await?;
    }
    tx.redact_audit_subject(user.id).await?;
    // The person is also in the invitations to the address, the contact the user came from,
    // and the mail sent to it: every place usher keeps them (R8).
    tx.erase_invitations_to(user.root, &address, &user.email).await?;
    tx.erase_mail_to(user.root, &address, &user.email, &anonymous).await?;
    if let Some(contact) = contact {
        tx.erase_contact(contact).await?;
    }
    record_user(ports, tx.as_mut(), actor, "user.erased", &user, json!({"sessions_ended": ended})).await?;
    tx.commit().await?;
    Ok(user)
}

/// Sets a user's password by hand; the user must change it at next login (R16, R21).
pub async fn set_password(
    ports: &Ports,
    actor: &Actor,
    id: UserId,
    password: &PlainPassword,
) -> Result<User, UserError> {
    not_own_user(actor, id, "set the password of")?;
    let (user, settings) = {
        let mut tx = ports.begin().await?;
        let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
        let settings = load_settings(tx.as_mut(), user.root).await?;
        (user, settings)
    };
    if user.erased_at.is_some() {
        return Err(UserError::Erased);
    }
    settings
        .password_policy
        .check(password, &[user.username.as_str(), user.email.as_str()], ports.breached.as_ref())
        .map_err(UserError::Password)?;
    let hash = ports.hasher.hash(password).await.map_err(|e| UserError::Repo(RepoError::backend(e)))?;
    let mut tx = ports.begin().await?;
    let (mut user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    tx.set_password_hash(user.id, Some(hash)).await?;
    retire_password_links(ports, tx.as_mut(), user.id).await?;
    user.has_password = true;
    user.must_change_password = true;
    user.updated_at = ports.now();
    tx.update_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    user.version += 1;
    let ended = tx.delete_sessions_of(user.id).await?;
    let changes =
        json!({"password": "set by administrator", "must_change_password": true, "sessions_ended": ended});
    record_user(ports, tx.as_mut(), actor, "user.password_set", &user, changes).await?;
    tx.commit().await?;
    Ok(user)
}

/// Sends a password-reset mail to a user (R16); existing sessions end when it is used (R21).
pub async fn send_password_reset(ports: &Ports, actor: &Actor, id: UserId) -> Result<(), UserError> {
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    if user.erased_at.is_some() {
        return Err(UserError::Erased);
    }
    let settings = load_settings(tx.as_mut(), user.root).await?;
    issue_link(ports, tx.as_mut(), &settings, &user, password_link_kind(&user)).await?;
    record_user(ports, tx.as_mut(), actor, "user.password_reset_sent", &user, json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// Re-sends the verification mail of an unverified user (R9).
pub async fn send_verification_email(ports: &Ports, actor: &Actor, id: UserId) -> Result<(), UserError> {
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    let settings = load_settings(tx.as_mut(), user.root).await?;
    if !settings.email_verification_required {
        return Err(UserError::VerificationNotRequired);
    }
    if user.email_verified_at.is_some() {
        return Err(UserError::AlreadyVerified);
    }
    let address = format!("{}:{}", user.root, user.email);
    let form = crate::service::public::Form::VerificationResend;
    let source = actor.source.as_deref();
    if let Some(seconds) =
        crate::service::public::throttle_form(ports, tx.as_mut(), form, &address, source).await?
    {
        return Err(UserError::Throttled { seconds });
    }
    issue_link(ports, tx.as_mut(), &settings, &user, LinkKind::Verification).await?;
    record_user(ports, tx.as_mut(), actor, "user.verification_sent", &user, json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// Marks a user's email verified by hand (R9, audited).
pub async fn mark_email_verified(ports: &Ports, actor: &Actor, id: UserId) -> Result<User, UserError> {
    let mut tx = ports.begin().await?;
    let (mut user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    if user.email_verified_at.is_some() {
        return Ok(user);
    }
    let now = ports.now();
    user.email_verified_at = Some(now);
    user.updated_at = now;
    tx.update_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    user.version += 1;
    tx.retire_tokens(user.id, TokenPurpose::EmailVerification, now).await?;
    let changes = json!({"email_verified_at": {"before": null, "after": now}, "by": "administrator"});
    record_user(ports, tx.as_mut(), actor, "user.email_verified", &user, changes).await?;
    tx.commit().await?;
    Ok(user)
}

/// Links a device to a user (R18: only once a password is set).
pub async fn link_device(
    ports: &Ports,
    actor: &Actor,
    id: UserId,
    name: &str,
    identifier: &str,
) -> Result<Device, UserError> {
    let name = field("name", Name::parse(name))?;
    let identifier = field("identifier", Key::parse(identifier))?;
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    if !user.has_password {
        return Err(UserError::NoPasswordYet);
    }
    let device = Device {
        id: ports.new_id(DeviceId::from_uuid),
        user: user.id,
        name,
        identifier,
        linked_at: ports.now(),
    };
    match tx.insert_device(&device).await {
        Err(RepoError::Duplicate { .. }) => {
            return Err(UserError::DeviceTaken { identifier: device.identifier.to_string() });
        }
        other => other?,
    }
    let changes = json!({"device": device.id, "name": device.name, "identifier": device.identifier});
    record_user(ports, tx.as_mut(), actor, "device.linked", &user, changes).await?;
    tx.commit().await?;
    Ok(device)
}

/// A user's devices (R18: listing is audited).
pub async fn list_devices(ports: &Ports, actor: &Actor, id: UserId) -> Result<Vec<Device>, UserError> {
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Read).await?;
    let devices = tx.devices(user.id).await?;
    record_user(ports, tx.as_mut(), actor, "device.listed", &user, json!({"count": devices.len()})).await?;
    tx.commit().await?;
    Ok(devices)
}

/// Unlinks a device (R18).
pub async fn unlink_device(
    ports: &Ports,
    actor: &Actor,
    id: UserId,
    device: DeviceId,
) -> Result<(), UserError> {
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    let linked = tx.devices(user.id).await?.into_iter().find(|d| d.id == device);
    let linked = linked.ok_or(UserError::NotFound { entity: "device" })?;
    tx.delete_device(device).await?;
    let changes = json!({"device": linked.id, "identifier": linked.identifier});
    record_user(ports, tx.as_mut(), actor, "device.unlinked", &user, changes).await?;
    tx.commit().await?;
    Ok(())
}

/// Where the user's orders are attributed (R7).
pub async fn order_attribution(ports: &Ports, actor: &Actor, id: UserId) -> Result<Attribution, UserError> {
    let mut tx = ports.begin_read().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Read).await?;
    let settings = load_settings(tx.as_mut(), user.root).await?;
    Ok(attribution(&user, &settings))
}
