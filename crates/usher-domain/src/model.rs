//! The entities of DESIGN §2. Fields are public where every value a field's type can hold is
//! valid on its own; rules that span fields live in [`crate::rules`] and the use cases.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::id::{
    AccountId, ApiKeyId, AuditEventId, ContactId, DeviceId, InvitationId, MailId, RoleId, SessionId, TokenId,
    UserId, UserTypeId,
};
use crate::password::PasswordPolicy;
use crate::time::{Duration, Timestamp};
use crate::value::{
    Email, Key, Locale, Name, Permission, SecretToken, Slug, TokenHash, Username, ValueError,
};

/// A tenant: a root account (a company) or a sub-account of one, to any depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Id.
    pub id: AccountId,
    /// Where the account sits in the tree.
    pub path: AccountPath,
    /// Globally unique slug.
    pub slug: Slug,
    /// Display name.
    pub name: Name,
    /// Whether its users may log in.
    pub state: AccountState,
    /// Created at.
    pub created_at: Timestamp,
}

impl Account {
    /// The root account of the tree this account belongs to (itself for a root).
    pub fn root(&self) -> AccountId {
        self.path.root()
    }
    /// Whether this is a root account.
    pub fn is_root(&self) -> bool {
        self.path.ancestors.is_empty()
    }
    /// The parent, if this is a sub-account.
    pub fn parent(&self) -> Option<AccountId> {
        self.path.ancestors.last().copied()
    }
}

/// An account's place in its tree: its id and its ancestors from the root down to its parent.
/// Invariant: no id repeats (a tree has no cycles); the root is the first ancestor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountPath {
    id: AccountId,
    ancestors: Vec<AccountId>,
}

impl AccountPath {
    /// The path of a root account.
    pub fn root_of(id: AccountId) -> AccountPath {
        AccountPath { id, ancestors: Vec::new() }
    }
    /// The path of a new child of `self`.
    pub fn child(&self, id: AccountId) -> AccountPath {
        let mut ancestors = self.ancestors.clone();
        ancestors.push(self.id);
        AccountPath { id, ancestors }
    }
    /// Rebuilds a stored path; refuses one with a cycle.
    pub fn restore(id: AccountId, ancestors: Vec<AccountId>) -> Result<AccountPath, ValueError> {
        let distinct: BTreeSet<AccountId> = ancestors.iter().copied().collect();
        if distinct.len() != ancestors.len() || distinct.contains(&id) {
            return Err(ValueError::Malformed { reason: "account path has a cycle" });
        }
        Ok(AccountPath { id, ancestors })
    }
    /// The account itself.
    pub fn id(&self) -> AccountId {
        self.id
    }
    /// The root of the tree.
    pub fn root(&self) -> AccountId {
        self.ancestors.first().copied().unwrap_or(self.id)
    }
    /// Ancestors, root first.
    pub fn ancestors(&self) -> &[AccountId] {
        &self.ancestors
    }
    /// Whether `other` is this account or one of its ancestors (i.e. this account lies in
    /// `other`'s subtree).
    pub fn is_within(&self, other: AccountId) -> bool {
        self.id == other || self.ancestors.contains(&other)
    }
}

/// Whether an account is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// Users may log in.
    Active,
    /// Suspended by the operator: nobody in the tree may log in.
    Suspended,
}

/// A duration bounded to a range that makes sense for links and sessions (5 minutes to 365 days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lifetime(Duration);

impl Lifetime {
    /// Parses a lifetime in seconds.
    pub fn from_seconds(seconds: i64) -> Result<Lifetime, ValueError> {
        const MIN: i64 = 5 * 60;
        const MAX: i64 = 365 * 24 * 3600;
        if !(MIN..=MAX).contains(&seconds) {
            return Err(ValueError::OutOfRange { min: MIN, max: MAX, actual: seconds });
        }
        Ok(Lifetime(Duration::seconds(seconds)))
    }
    /// Seven days: the default invitation lifetime.
    pub fn days(days: u16) -> Lifetime {
        Lifetime(Duration::days(i64::from(days.clamp(1, 365))))
    }
    /// Whole hours.
    pub fn hours(hours: u16) -> Lifetime {
        Lifetime(Duration::hours(i64::from(hours.clamp(1, 24 * 365))))
    }
    /// The duration.
    pub fn duration(&self) -> Duration {
        self.0
    }
    /// Seconds.
    pub fn seconds(&self) -> i64 {
        self.0.whole_seconds()
    }
}

impl Serialize for Lifetime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.seconds())
    }
}

/// How usernames are generated when an administrator omits one (R5), e.g. `{first}.{last}`.
/// Placeholders: `{email}`, `{email_local}`, `{first}`, `{last}`, `{f}`, `{l}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsernameFormat(String);

impl UsernameFormat {
    /// The placeholders a format may use.
    pub const PLACEHOLDERS: [&'static str; 6] =
        ["{email}", "{email_local}", "{first}", "{last}", "{f}", "{l}"];

    /// Parses a format: at least one placeholder, only known placeholders, at most 100 characters.
    pub fn parse(raw: &str) -> Result<UsernameFormat, ValueError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(ValueError::Empty);
        }
        if value.len() > 100 {
            return Err(ValueError::TooLong { max: 100, actual: value.len() });
        }
        let mut rest = value;
        let mut n_placeholders = 0_usize;
        while let Some(start) = rest.find('{') {
            let after = rest.get(start..).unwrap_or_default();
            let Some(known) = Self::PLACEHOLDERS.iter().find(|p| after.starts_with(**p)) else {
                return Err(ValueError::Malformed { reason: "uses an unknown placeholder" });
            };
            n_placeholders += 1;
            rest = after.get(known.len()..).unwrap_or_default();
        }
        if n_placeholders == 0 || rest.contains('}') {
            return Err(ValueError::Malformed { reason: "must contain a placeholder such as {email}" });
        }
        Ok(UsernameFormat(value.to_owned()))
    }
    /// The format text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for UsernameFormat {
    fn default() -> Self {
        UsernameFormat("{email}".to_owned())
    }
}

/// Per-root-account settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Whether people may register themselves as members (R12).
    pub self_registration: bool,
    /// The user type self-registered members get (R12).
    pub member_user_type: Option<UserTypeId>,
    /// Whether users must verify their email before logging in (R9, R14).
    pub email_verification_required: bool,
    /// Whether usernames must be email addresses (R5).
    pub usernames_must_be_emails: bool,
    /// How usernames are generated when omitted (R5).
    #[serde(serialize_with = "serialize_format")]
    pub username_format: UsernameFormat,
    /// The user type of users created from contacts, imports and JIT (R17).
    pub default_user_type: Option<UserTypeId>,
    /// The roles such users get (R12, R17).
    pub default_roles: BTreeSet<RoleId>,
    /// The clerk id orders fall back to (R7).
    pub default_clerk_id: Option<String>,
    /// How long invitation links live (R10); 7 days by default.
    pub invitation_lifetime: Lifetime,
    /// How long verification, set-password and reset links live.
    pub link_lifetime: Lifetime,
    /// Password length limits (R15).
    #[serde(serialize_with = "serialize_policy")]
    pub password_policy: PasswordPolicy,
    /// How long a login session lives.
    pub session_lifetime: Lifetime,
    /// Whether the operator lets this root's administrators set its seat totals (R23).
    pub manages_own_seats: bool,
}

fn serialize_format<S: serde::Serializer>(format: &UsernameFormat, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(format.as_str())
}

fn serialize_policy<S: serde::Serializer>(policy: &PasswordPolicy, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut state = s.serialize_struct("PasswordPolicy", 2)?;
    state.serialize_field("min_length", &policy.min_length())?;
    state.serialize_field("max_length", &policy.max_length())?;
    state.end()
}

impl Settings {
    /// A digest of every setting (16 hex digits): the settings carry no version, so this
    /// names the state an `If-Match` expects.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(&bytes).iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The settings of a new root account.
    pub fn initial(
        member_user_type: UserTypeId,
        default_user_type: UserTypeId,
        default_role: RoleId,
    ) -> Settings {
        Settings {
            self_registration: false,
            member_user_type: Some(member_user_type),
            email_verification_required: true,
            usernames_must_be_emails: false,
            username_format: UsernameFormat::default(),
            default_user_type: Some(default_user_type),
            default_roles: BTreeSet::from([default_role]),
            default_clerk_id: None,
            invitation_lifetime: Lifetime::days(7),
            link_lifetime: Lifetime::hours(24),
            password_policy: PasswordPolicy::standard(),
            session_lifetime: Lifetime::hours(12),
            manages_own_seats: false,
        }
    }
}

/// A kind of user defined per root account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserType {
    /// Id.
    pub id: UserTypeId,
    /// Root account.
    pub root: AccountId,
    /// Short unique key within the root, e.g. `sales`.
    pub key: Key,
    /// Display name.
    pub name: Name,
    /// Whether users of this type consume a license seat (R1).
    pub consumes_seat: bool,
    /// The permissions users of this type may ever hold (R4).
    pub ceiling: BTreeSet<Permission>,
    /// Created at.
    pub created_at: Timestamp,
}

/// Seat figures of one user type across a root account and all its sub-accounts: `used`
/// counts the users that [hold a seat](User::holds_seat), `reserved` the invitations that
/// [reserve one](Invitation::reserves_seat). A store counts exactly those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeatUsage {
    /// The user type.
    pub user_type: UserTypeId,
    /// Seats bought.
    pub total: u32,
    /// Users of the type that are not disabled.
    pub used: u32,
    /// Pending, unexpired invitations of the type.
    pub reserved: u32,
}

impl SeatUsage {
    /// Seats neither used nor reserved.
    pub fn free(&self) -> u32 {
        self.total.saturating_sub(self.used.saturating_add(self.reserved))
    }
}

/// A built-in role, present in every root account (R22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinRole {
    /// Every permission.
    Admin,
    /// Everything but pricing, payment and user management.
    User,
}

impl BuiltinRole {
    /// The role's fixed permissions.
    pub fn permissions(&self) -> BTreeSet<Permission> {
        match self {
            BuiltinRole::Admin => Permission::catalog(),
            BuiltinRole::User => {
                Permission::catalog().into_iter().filter(|p| !p.module().is_admin_only()).collect()
            }
        }
    }
    /// The role's name.
    pub fn name(&self) -> &'static str {
        match self {
            BuiltinRole::Admin => "admin",
            BuiltinRole::User => "user",
        }
    }
}

/// A named set of permissions of a root account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Id.
    pub id: RoleId,
    /// Root account.
    pub root: AccountId,
    /// Unique name within the root (case-insensitive).
    pub name: Name,
    /// Set for the built-in roles, which cannot be deleted or changed (R22).
    pub builtin: Option<BuiltinRole>,
    /// Granted permissions.
    pub permissions: BTreeSet<Permission>,
    /// Created at.
    pub created_at: Timestamp,
    /// Optimistic-locking version.
    pub version: u64,
}

/// How a user came to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Created by an administrator.
    Admin,
    /// Accepted an invitation.
    Invitation,
    /// Registered themselves as a member.
    Registration,
    /// Imported from a file.
    Import,
    /// Created from a contact.
    Contact,
    /// Provisioned over SCIM.
    Scim,
    /// Created just in time at first sign-in.
    Jit,
}

/// Whether a user may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserState {
    /// May log in (subject to R14).
    Active,
    /// May not log in; holds no seat.
    Disabled,
}

/// A postal address of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    /// e.g. `billing`, `shipping`.
    pub kind: Key,
    /// Street lines.
    pub lines: Vec<Name>,
    /// City.
    pub city: Option<Name>,
    /// Postal code.
    pub postal_code: Option<Name>,
    /// Region or state.
    pub region: Option<Name>,
    /// ISO country code or name.
    pub country: Option<Name>,
}

/// Personal data of a user: everything erasure clears (R8).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Profile {
    /// First name.
    pub first_name: Option<Name>,
    /// Last name.
    pub last_name: Option<Name>,
    /// Where notifications go when not to the email ("email to").
    pub notification_email: Option<Email>,
    /// Phone.
    pub phone: Option<Name>,
    /// Birthday.
    pub birthday: Option<time::Date>,
    /// Preferred locale for mail and pages.
    pub locale: Option<Locale>,
    /// Avatar URL.
    pub image_url: Option<String>,
    /// Sales territories the user may work in.
    pub sales_territories: BTreeSet<Name>,
    /// Addresses.
    pub addresses: Vec<Address>,
    /// Free attributes.
    pub attributes: BTreeMap<Key, String>,
}

/// The well-known external-id kinds used for order attribution (R7).
pub mod external_id {
    /// The salesperson id in an ERP.
    pub const ERP_SALESPERSON: &str = "erp_salesperson";
    /// The clerk id in a POS.
    pub const POS_CLERK: &str = "pos_clerk";
}

/// A person who logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id (UUIDv7).
    pub id: UserId,
    /// Root account.
    pub root: AccountId,
    /// Home account (the root or a sub-account).
    pub account: AccountId,
    /// Login name, unique in the root (case-insensitive).
    pub username: Username,
    /// Email, unique in the root.
    pub email: Email,
    /// Personal data.
    pub profile: Profile,
    /// Whether the user receives system messages.
    pub receive_system_messages: bool,
    /// The sales representative assisting the user.
    pub sales_representative: Option<UserId>,
    /// Ids of the same person in other systems, e.g. `erp_salesperson` (R6, R7).
    pub external_ids: BTreeMap<Key, String>,
    /// User type.
    pub user_type: UserTypeId,
    /// Roles.
    pub roles: BTreeSet<RoleId>,
    /// Sub-accounts the user may act in; empty means the whole home subtree.
    pub scope: BTreeSet<AccountId>,
    /// How the user came to exist.
    pub origin: Origin,
    /// Active or disabled.
    pub state: UserState,
    /// When the email was verified.
    pub email_verified_at: Option<Timestamp>,
    /// Whether a password is set (the hash itself never leaves the store, except to verify).
    pub has_password: bool,
    /// Whether the user must change the password at next login (R16).
    pub must_change_password: bool,
    /// Whether the user is the installation's operator.
    pub is_operator: bool,
    /// The contact the user was created from (R17).
    pub contact: Option<ContactId>,
    /// Created at.
    pub created_at: Timestamp,
    /// Updated at.
    pub updated_at: Timestamp,
    /// Last successful login.
    pub last_login_at: Option<Timestamp>,
    /// When the user's personal data was erased (R8).
    pub erased_at: Option<Timestamp>,
    /// Optimistic-locking version; the store increments it on every update.
    pub version: u64,
}

/// Who a new user is and where: what every way of creating one must say.
#[derive(Debug, Clone)]
pub struct Newcomer {
    /// Root account.
    pub root: AccountId,
    /// Home account.
    pub account: AccountId,
    /// Login name.
    pub username: Username,
    /// Email.
    pub email: Email,
    /// User type.
    pub user_type: UserTypeId,
    /// How the user comes to exist.
    pub origin: Origin,
}

impl User {
    /// R1: whether the user holds a seat of its type (active; a disabled user frees it, R8).
    pub fn holds_seat(&self) -> bool {
        self.state == UserState::Active
    }

    /// The one constructor of a new user: active, with system messages on and nothing else
    /// yet (no profile, roles, scope or password; unverified; version 0). Callers set the
    /// rest with struct update syntax, so a new field is added here once.
    pub fn new(id: UserId, newcomer: Newcomer, now: Timestamp) -> User {
        let Newcomer { root, account, username, email, user_type, origin } = newcomer;
        User {
            id,
            root,
            account,
            username,
            email,
            profile: Profile::default(),
            receive_system_messages: true,
            sales_representative: None,
            external_ids: BTreeMap::new(),
            user_type,
            roles: BTreeSet::new(),
            scope: BTreeSet::new(),
            origin,
            state: UserState::Active,
            email_verified_at: None,
            has_password: false,
            must_change_password: false,
            is_operator: false,
            contact: None,
            created_at: now,
            updated_at: now,
            last_login_at: None,
            erased_at: None,
            version: 0,
        }
    }
}

/// The state an invitation was left in; `Expired` is derived from the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    /// Waiting for the invitee (or expired, when past `expires_at`).
    Pending,
    /// Accepted: a user exists.
    Accepted,
    /// Revoked by an administrator.
    Revoked,
}

/// An invitation's status at a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    /// Pending and not expired: reserves a seat.
    Pending,
    /// Accepted.
    Accepted,
    /// Revoked.
    Revoked,
    /// Pending but past its expiry.
    Expired,
}

/// An invitation to join an account by email (R10, R11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Id.
    pub id: InvitationId,
    /// Root account.
    pub root: AccountId,
    /// The account the user will belong to.
    pub account: AccountId,
    /// Invitee.
    pub email: Email,
    /// User type given on acceptance.
    pub user_type: UserTypeId,
    /// Roles given on acceptance.
    pub roles: BTreeSet<RoleId>,
    /// Scope given on acceptance.
    pub scope: BTreeSet<AccountId>,
    /// Who invited.
    pub invited_by: ActorRef,
    /// Hash of the current link token; resending replaces it.
    pub token_hash: TokenHash,
    /// Stored state.
    pub state: InvitationState,
    /// When the current link dies.
    pub expires_at: Timestamp,
    /// How many times the mail was sent.
    pub send_count: u32,
    /// Created at.
    pub created_at: Timestamp,
    /// Updated at.
    pub updated_at: Timestamp,
    /// The user created by accepting.
    pub accepted_user: Option<UserId>,
    /// The invitee's language: the mail's, and the new user's preferred locale.
    pub locale: Option<Locale>,
}

impl Invitation {
    /// The status at `now`.
    pub fn status(&self, now: Timestamp) -> InvitationStatus {
        match self.state {
            InvitationState::Pending if self.expires_at <= now => InvitationStatus::Expired,
            InvitationState::Pending => InvitationStatus::Pending,
            InvitationState::Accepted => InvitationStatus::Accepted,
            InvitationState::Revoked => InvitationStatus::Revoked,
        }
    }

    /// R1: whether the invitation holds a seat of its type at `now` (pending, not expired).
    pub fn reserves_seat(&self, now: Timestamp) -> bool {
        self.status(now) == InvitationStatus::Pending
    }
}

/// A person or organization a user may be created from (R17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Id.
    pub id: ContactId,
    /// Root account.
    pub root: AccountId,
    /// Account the contact belongs to.
    pub account: AccountId,
    /// Person or organization.
    pub kind: ContactKind,
    /// First name (persons).
    pub first_name: Option<Name>,
    /// Last name (persons) or the organization's name.
    pub last_name: Option<Name>,
    /// Email.
    pub email: Option<Email>,
    /// Phone.
    pub phone: Option<Name>,
    /// The user created from this contact.
    pub user: Option<UserId>,
    /// Created at.
    pub created_at: Timestamp,
}

/// The kind of a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// A person.
    Person,
    /// An organization: a user needs an explicit name and email (R17).
    Organization,
}

/// A device (e.g. a mobile sales tablet) linked to a user (R18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Id.
    pub id: DeviceId,
    /// Owner.
    pub user: UserId,
    /// Display name.
    pub name: Name,
    /// Identifier reported by the device, unique per user.
    pub identifier: Key,
    /// Linked at.
    pub linked_at: Timestamp,
}

/// A login session, identified by the hash of its bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Id.
    pub id: SessionId,
    /// User.
    pub user: UserId,
    /// Root account of the user.
    pub root: AccountId,
    /// Token hash.
    pub token_hash: TokenHash,
    /// Created at.
    pub created_at: Timestamp,
    /// Expires at.
    pub expires_at: Timestamp,
    /// When it was last used (kept to the minute, see `Tx::touch_session`).
    pub last_seen_at: Timestamp,
    /// The address it was opened from.
    pub source: Option<String>,
}

/// An API key for integrations, with a chosen permission set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Id.
    pub id: ApiKeyId,
    /// Root account.
    pub root: AccountId,
    /// Account the key acts in (and its subtree).
    pub account: AccountId,
    /// Display name.
    pub name: Name,
    /// Permissions (never more than its creator held).
    pub permissions: BTreeSet<Permission>,
    /// Token hash.
    pub token_hash: TokenHash,
    /// Who created it.
    pub created_by: ActorRef,
    /// Created at.
    pub created_at: Timestamp,
    /// Expires at, if ever.
    pub expires_at: Option<Timestamp>,
    /// Revoked at.
    pub revoked_at: Option<Timestamp>,
}

/// What a one-time token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPurpose {
    /// Verify an email address (R9).
    EmailVerification,
    /// Set a first password (welcome mail, R16).
    SetPassword,
    /// Reset a forgotten password (R21).
    PasswordReset,
}

/// A single-use token bound to a user (R13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeToken {
    /// Id.
    pub id: TokenId,
    /// User.
    pub user: UserId,
    /// Purpose.
    pub purpose: TokenPurpose,
    /// Hash.
    pub token_hash: TokenHash,
    /// Created at.
    pub created_at: Timestamp,
    /// Expires at.
    pub expires_at: Timestamp,
    /// Set once used; a used token never works again.
    pub used_at: Option<Timestamp>,
}

/// Who did something: part of every audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ActorRef {
    /// A user of an account.
    User(UserId),
    /// The installation's operator.
    Operator(UserId),
    /// An API key.
    ApiKey(ApiKeyId),
    /// An unauthenticated person using a link or a public form (registration, accept, reset).
    Anonymous,
    /// usher itself (expiry sweeps, bootstrap).
    System,
}

/// An entry of the audit log, written in the same transaction as the change it records (R20).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Id.
    pub id: AuditEventId,
    /// Root account (tenant) of the target.
    pub root: AccountId,
    /// Account of the target.
    pub account: AccountId,
    /// Who.
    pub actor: ActorRef,
    /// What, e.g. `user.disabled`.
    pub action: String,
    /// Which kind of object, e.g. `user`.
    pub target_kind: String,
    /// Which object.
    pub target_id: String,
    /// When.
    pub at: Timestamp,
    /// From where (source address), if known.
    pub source: Option<String>,
    /// Redacted before/after diff: `{"field": {"before": .., "after": ..}}`; never a secret.
    pub diff: serde_json::Value,
}

/// A mail waiting in the transactional outbox (R20). The link token travels in the payload
/// until the dispatcher has sent it; it is the only place a raw token is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    /// Id.
    pub id: MailId,
    /// Root account.
    pub root: AccountId,
    /// Account.
    pub account: AccountId,
    /// Recipient.
    pub to: Email,
    /// Preferred locale of the recipient.
    pub locale: Option<Locale>,
    /// What to send.
    pub message: MailMessage,
    /// Enqueued at.
    pub created_at: Timestamp,
}

/// The kinds of mail usher sends, with what each template needs.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MailMessage {
    /// An invitation with its accept link (R10).
    Invitation {
        /// Invitation.
        invitation: InvitationId,
        /// The inviting account's name.
        account_name: String,
        /// Link token; `None` once the mail was sent (the outbox forgets it).
        #[serde(serialize_with = "expose_token")]
        token: Option<SecretToken>,
        /// When the link dies.
        expires_at: Timestamp,
    },
    /// A welcome with a set-password link (R16).
    Welcome {
        /// User.
        user: UserId,
        /// Username to log in with.
        username: String,
        /// Link token; `None` once the mail was sent (the outbox forgets it).
        #[serde(serialize_with = "expose_token")]
        token: Option<SecretToken>,
        /// When the link dies.
        expires_at: Timestamp,
    },
    /// An email-verification link (R9).
    EmailVerification {
        /// User.
        user: UserId,
        /// Link token; `None` once the mail was sent (the outbox forgets it).
        #[serde(serialize_with = "expose_token")]
        token: Option<SecretToken>,
        /// When the link dies.
        expires_at: Timestamp,
    },
    /// A password-reset link (R16, R21).
    PasswordReset {
        /// User.
        user: UserId,
        /// Link token; `None` once the mail was sent (the outbox forgets it).
        #[serde(serialize_with = "expose_token")]
        token: Option<SecretToken>,
        /// When the link dies.
        expires_at: Timestamp,
    },
    /// A notice that the password changed.
    PasswordChanged {
        /// User.
        user: UserId,
    },
    /// A notice to the owner of an address that someone tried to register with it, with
    /// the way to log in or reset the password (registration answers alike either way).
    RegistrationAttempt {
        /// The user who has the address.
        user: UserId,
        /// The account's slug, to log in with.
        account: String,
    },
    /// A password-reset request for a typed address, not yet looked up: the dispatcher turns
    /// it into a [`MailMessage::PasswordReset`] when an active user has the address, and
    /// drops it otherwise, so the request costs the same either way (R21).
    PasswordResetRequest {
        /// Where the request came from, for the audit log.
        source: Option<String>,
    },
}

fn expose_token<S: serde::Serializer>(token: &Option<SecretToken>, s: S) -> Result<S::Ok, S::Error> {
    match token {
        Some(token) => s.serialize_str(token.expose()),
        None => s.serialize_none(),
    }
}

impl MailMessage {
    /// The template kind, e.g. `invitation`.
    pub fn kind(&self) -> &'static str {
        match self {
            MailMessage::Invitation { .. } => "invitation",
            MailMessage::Welcome { .. } => "welcome",
            MailMessage::EmailVerification { .. } => "email_verification",
            MailMessage::PasswordReset { .. } => "password_reset",
            MailMessage::PasswordChanged { .. } => "password_changed",
            MailMessage::RegistrationAttempt { .. } => "registration_attempt",
            MailMessage::PasswordResetRequest { .. } => "password_reset_request",
        }
    }

    /// The same message without its link token: what the outbox keeps once it was sent.
    pub fn without_token(&self) -> MailMessage {
        let mut message = self.clone();
        match &mut message {
            MailMessage::Invitation { token, .. }
            | MailMessage::Welcome { token, .. }
            | MailMessage::EmailVerification { token, .. }
            | MailMessage::PasswordReset { token, .. } => *token = None,
            MailMessage::PasswordChanged { .. }
            | MailMessage::RegistrationAttempt { .. }
            | MailMessage::PasswordResetRequest { .. } => {}
        }
        message
    }
}

/// Where a queued mail is on its way (R20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first or next attempt.
    Pending,
    /// Accepted by the mail server (or written by the file sink).
    Sent,
    /// Given up: refused for good, or out of attempts. An administrator may retry it.
    Failed,
}

impl DeliveryState {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
        }
    }
}

/// How the delivery of a queued mail went so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// State.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When a pending mail is tried next (or its current attempt's lease ends).
    pub next_attempt_at: Option<Timestamp>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<Timestamp>,
}

/// A mail of the outbox with its delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// The mail (its token is gone once sent).
    pub mail: OutboxMail,
    /// Its delivery.
    pub delivery: Delivery,
}

impl std::fmt::Debug for MailMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The payload carries a link token; debug output names the kind only.
        write!(f, "MailMessage::{}", self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn account(n: u128) -> AccountId {
        AccountId::from_uuid(Uuid::from_u128(n))
    }

    #[test]
    fn stored_paths_are_restored_unless_they_loop_and_know_their_root() {
        let path = AccountPath::restore(account(3), vec![account(1), account(2)]).unwrap();
        assert_eq!(path, AccountPath::root_of(account(1)).child(account(2)).child(account(3)));
        assert!(
            AccountPath::restore(account(3), vec![account(1), account(1)]).is_err(),
            "a repeated ancestor"
        );
        assert!(AccountPath::restore(account(1), vec![account(1)]).is_err(), "its own ancestor");
        let account_at = |path: AccountPath| Account {
            id: path.id(),
            path,
            slug: crate::value::Slug::parse("acme").unwrap(),
            name: Name::parse("Acme").unwrap(),
            state: AccountState::Active,
            created_at: crate::time::Timestamp::from_unix_micros(0).unwrap(),
        };
        assert!(account_at(AccountPath::root_of(account(1))).is_root());
        assert!(!account_at(AccountPath::root_of(account(1)).child(account(2))).is_root());
    }

    #[test]
    fn lifetimes_stay_between_five_minutes_and_a_year() {
        const YEAR: i64 = 365 * 24 * 3600;
        assert_eq!(Lifetime::from_seconds(300).map(|l| l.seconds()), Ok(300));
        assert_eq!(Lifetime::from_seconds(YEAR).map(|l| l.seconds()), Ok(YEAR));
        assert!(Lifetime::from_seconds(299).is_err());
        assert!(Lifetime::from_seconds(YEAR + 1).is_err());
        assert_eq!(Lifetime::hours(12).seconds(), 12 * 3600);
        assert_eq!(Lifetime::days(7).seconds(), 7 * 24 * 3600);
        assert_eq!(Lifetime::hours(0).seconds(), 3600, "at least an hour");
        assert_eq!(Lifetime::hours(8760).seconds(), YEAR, "at most a year");
        assert_eq!(Lifetime::hours(9000).seconds(), YEAR);
    }

    #[test]
    fn r5_username_formats_are_short_and_use_known_placeholders() {
        let long = format!("{{first}}{}", "x".repeat(93));
        assert_eq!(long.len(), 100);
        assert!(UsernameFormat::parse(&long).is_ok());
        assert!(UsernameFormat::parse(&format!("{long}x")).is_err());
        assert!(UsernameFormat::parse("{first}.{last}").is_ok());
        assert!(UsernameFormat::parse("plain").is_err(), "no placeholder");
        assert!(UsernameFormat::parse("{nickname}").is_err(), "an unknown one");
    }

    #[test]
    fn delivery_states_have_their_names_and_mail_debug_shows_only_the_kind() {
        assert_eq!(
            [DeliveryState::Pending, DeliveryState::Sent, DeliveryState::Failed].map(DeliveryState::as_str),
            ["pending", "sent", "failed"]
        );
        let message = MailMessage::PasswordChanged { user: crate::id::UserId::from_uuid(Uuid::from_u128(4)) };
        assert_eq!(format!("{message:?}"), "MailMessage::password_changed");
    }

    #[test]
    fn account_path_knows_its_root_and_subtree() {
        let root = AccountPath::root_of(account(1));
        let child = root.child(account(2));
        let grandchild = child.child(account(3));
        assert_eq!(grandchild.root(), account(1));
        assert!(grandchild.is_within(account(2)));
        assert!(grandchild.is_within(account(1)));
        assert!(!child.is_within(account(3)));
        assert!(AccountPath::restore(account(1), vec![account(2), account(1)]).is_err(), "cycle");
    }

    #[test]
    fn invitation_expires_by_the_clock_not_by_a_sweep() {
        // R10: an invitation link lives until `expires_at`.
        let t0 = Timestamp::from_unix_micros(1_700_000_000_000_000).unwrap();
        let invitation = Invitation {
            id: InvitationId::from_uuid(Uuid::from_u128(9)),
            root: account(1),
            account: account(1),
            email: Email::parse("a@example.com").unwrap(),
            user_type: UserTypeId::from_uuid(Uuid::from_u128(5)),
            roles: BTreeSet::new(),
            scope: BTreeSet::new(),
            invited_by: ActorRef::System,
            token_hash: SecretToken::from_random("", [1; 32]).hash(),
            state: InvitationState::Pending,
            expires_at: t0.plus(Duration::days(7)),
            send_count: 1,
            created_at: t0,
            updated_at: t0,
            accepted_user: None,
            locale: None,
        };
        assert_eq!(invitation.status(t0.plus(Duration::days(6))), InvitationStatus::Pending);
        assert_eq!(invitation.status(t0.plus(Duration::days(7))), InvitationStatus::Expired);
    }

    #[test]
    fn username_format_accepts_known_placeholders_only() {
        assert!(UsernameFormat::parse("{first}.{last}").is_ok());
        assert!(UsernameFormat::parse("{f}{last}").is_ok());
        assert!(UsernameFormat::parse("{middle}").is_err());
        assert!(UsernameFormat::parse("static").is_err());
    }

    #[test]
    fn mail_message_debug_hides_the_link_token() {
        let token = SecretToken::from_random("", [3; 32]);
        let message = MailMessage::PasswordReset {
            user: UserId::from_uuid(Uuid::from_u128(1)),
            token: Some(token.clone()),
            expires_at: Timestamp::from_unix_micros(0).unwrap(),
        };
        assert!(!format!("{message:?}").contains(token.expose()));
    }
}
