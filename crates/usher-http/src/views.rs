//! The JSON bodies of the API: what each domain object looks like on the wire. Secrets (password
//! hashes, token hashes) have no field here, so they cannot be answered by mistake.

use std::collections::{BTreeMap, BTreeSet};

use poem_openapi::{Enum, Object};
use time::OffsetDateTime;
use usher_domain::model::{
    Account, AccountState, ActorRef, ApiKey, AuditEvent, Contact, ContactKind, Device, Invitation,
    InvitationStatus, Origin, Role, SeatUsage, Settings, User, UserState, UserType,
};
use usher_domain::model::{DeliveryState, QueuedMail};
use usher_domain::ports::Cursor;
use usher_domain::rules::Attribution;
use usher_domain::time::Timestamp;
use usher_domain::value::Permission;
use uuid::Uuid;

pub(crate) fn at(timestamp: Timestamp) -> OffsetDateTime {
    timestamp.as_datetime()
}

fn ids<T: Copy>(set: &BTreeSet<T>, uuid: fn(&T) -> Uuid) -> Vec<Uuid> {
    set.iter().map(uuid).collect()
}

fn permissions(set: &BTreeSet<Permission>) -> Vec<String> {
    set.iter().map(ToString::to_string).collect()
}

/// The opaque cursor of the next page, if any.
pub(crate) fn next_cursor(next: Option<&Cursor>) -> Option<String> {
    next.map(Cursor::encode)
}

/// Whether an account's users may log in.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum AccountStateView {
    /// Users may log in.
    Active,
    /// Suspended by the operator: nobody in the tree may log in.
    Suspended,
}

impl From<AccountState> for AccountStateView {
    fn from(state: AccountState) -> Self {
        match state {
            AccountState::Active => AccountStateView::Active,
            AccountState::Suspended => AccountStateView::Suspended,
        }
    }
}

impl From<AccountStateView> for AccountState {
    fn from(state: AccountStateView) -> Self {
        match state {
            AccountStateView::Active => AccountState::Active,
            AccountStateView::Suspended => AccountState::Suspended,
        }
    }
}

/// An account (a tenant) or a sub-account.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Account")]
pub struct AccountView {
    /// Id.
    pub id: Uuid,
    /// Globally unique slug, used to log in.
    pub slug: String,
    /// Name.
    pub name: String,
    /// State.
    pub state: AccountStateView,
    /// The parent account (`null` for a root account).
    pub parent_id: Option<Uuid>,
    /// The root account of the tree.
    pub root_id: Uuid,
    /// Created.
    pub created_at: OffsetDateTime,
}

impl From<&Account> for AccountView {
    fn from(account: &Account) -> Self {
        AccountView {
            id: account.id.as_uuid(),
            slug: account.slug.to_string(),
            name: account.name.to_string(),
            state: account.state.into(),
            parent_id: account.parent().map(|id| id.as_uuid()),
            root_id: account.root().as_uuid(),
            created_at: at(account.created_at),
        }
    }
}

/// Whether a user may log in.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum UserStateView {
    /// Enabled.
    Active,
    /// Disabled: holds no seat and cannot log in.
    Disabled,
}

impl From<UserState> for UserStateView {
    fn from(state: UserState) -> Self {
        match state {
            UserState::Active => UserStateView::Active,
            UserState::Disabled => UserStateView::Disabled,
        }
    }
}

impl From<UserStateView> for UserState {
    fn from(state: UserStateView) -> Self {
        match state {
            UserStateView::Active => UserState::Active,
            UserStateView::Disabled => UserState::Disabled,
        }
    }
}

/// How a user arrived.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum OriginView {
    /// Created by an administrator.
    Admin,
    /// Accepted an invitation.
    Invitation,
    /// Registered on their own.
    Registration,
    /// Imported.
    Import,
    /// Created from a contact.
    Contact,
    /// Provisioned over SCIM.
    Scim,
    /// Created just in time at first sign-in.
    Jit,
}

impl From<Origin> for OriginView {
    fn from(origin: Origin) -> Self {
        match origin {
            Origin::Admin => OriginView::Admin,
            Origin::Invitation => OriginView::Invitation,
            Origin::Registration => OriginView::Registration,
            Origin::Import => OriginView::Import,
            Origin::Contact => OriginView::Contact,
            Origin::Scim => OriginView::Scim,
            Origin::Jit => OriginView::Jit,
        }
    }
}

/// A user. The password is never answered; `has_password` says whether one is set.
#[derive(Object, Debug, Clone)]
#[oai(rename = "User")]
pub struct UserView {
    /// Id.
    pub id: Uuid,
    /// Home account.
    pub account_id: Uuid,
    /// Username, unique in the root account (case-insensitively).
    pub username: String,
    /// Email, unique in the root account.
    pub email: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Where notifications go ("email to"); the email when `null`.
    pub notification_email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Birthday.
    pub birthday: Option<crate::types::Day>,
    /// Preferred locale (BCP 47).
    pub locale: Option<String>,
    /// Image URL.
    pub image_url: Option<String>,
    /// Sales territories.
    pub sales_territories: Vec<String>,
    /// Free attributes.
    pub attributes: BTreeMap<String, String>,
    /// Receives system messages.
    pub receive_system_messages: bool,
    /// The user's sales representative.
    pub sales_representative: Option<Uuid>,
    /// External ids, e.g. `erp_salesperson`, `pos_clerk`.
    pub external_ids: BTreeMap<String, String>,
    /// User type.
    pub user_type: Uuid,
    /// Roles.
    pub roles: Vec<Uuid>,
    /// Sub-accounts the user may act in; empty means the whole home subtree.
    pub sub_accounts: Vec<Uuid>,
    /// How the user arrived.
    pub origin: OriginView,
    /// State.
    pub state: UserStateView,
    /// Whether the email is verified.
    pub email_verified: bool,
    /// When the email was verified.
    pub email_verified_at: Option<OffsetDateTime>,
    /// Whether a password is set.
    pub has_password: bool,
    /// The user must change the password at the next login.
    pub must_change_password: bool,
    /// The contact the user was created from.
    pub contact_id: Option<Uuid>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
    /// Last login.
    pub last_login_at: Option<OffsetDateTime>,
    /// When the user was erased (personal data removed).
    pub erased_at: Option<OffsetDateTime>,
    /// Version, for `If-Match` (also sent as the `ETag` header).
    pub version: u64,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        let profile = &user.profile;
        UserView {
            id: user.id.as_uuid(),
            account_id: user.account.as_uuid(),
            username: user.username.to_string(),
            email: user.email.to_string(),
            first_name: profile.first_name.as_ref().map(ToString::to_string),
            last_name: profile.last_name.as_ref().map(ToString::to_string),
            notification_email: profile.notification_email.as_ref().map(ToString::to_string),
            phone: profile.phone.as_ref().map(ToString::to_string),
            birthday: profile.birthday.map(crate::types::Day),
            locale: profile.locale.as_ref().map(|l| l.as_str().to_owned()),
            image_url: profile.image_url.clone(),
            sales_territories: profile.sales_territories.iter().map(ToString::to_string).collect(),
            attributes: profile.attributes.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            receive_system_messages: user.receive_system_messages,
            sales_representative: user.sales_representative.map(|id| id.as_uuid()),
            external_ids: user.external_ids.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            user_type: user.user_type.as_uuid(),
            roles: ids(&user.roles, |id| id.as_uuid()),
            sub_accounts: ids(&user.scope, |id| id.as_uuid()),
            origin: user.origin.into(),
            state: user.state.into(),
            email_verified: user.email_verified_at.is_some(),
            email_verified_at: user.email_verified_at.map(at),
            has_password: user.has_password,
            must_change_password: user.must_change_password,
            contact_id: user.contact.map(|id| id.as_uuid()),
            created_at: at(user.created_at),
            updated_at: at(user.updated_at),
            last_login_at: user.last_login_at.map(at),
            erased_at: user.erased_at.map(at),
            version: user.version,
        }
    }
}

/// A page of users.
#[derive(Object, Debug, Clone)]
pub struct UserList {
    /// Users, by username.
    pub items: Vec<UserView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Sub-accounts.
#[derive(Object, Debug, Clone)]
pub struct AccountList {
    /// Accounts.
    pub items: Vec<AccountView>,
    /// Always `null`: the list is complete.
    pub next_cursor: Option<String>,
}

/// A kind of user with its permission ceiling.
#[derive(Object, Debug, Clone)]
#[oai(rename = "UserType")]
pub struct UserTypeView {
    /// Id.
    pub id: Uuid,
    /// Key, unique in the root account (e.g. `sales`).
    pub key: String,
    /// Name.
    pub name: String,
    /// Whether users of this type take a license seat.
    pub consumes_seat: bool,
    /// The permissions users of this type may ever be granted.
    pub ceiling: Vec<String>,
    /// Created.
    pub created_at: OffsetDateTime,
}

impl From<&UserType> for UserTypeView {
    fn from(user_type: &UserType) -> Self {
        UserTypeView {
            id: user_type.id.as_uuid(),
            key: user_type.key.to_string(),
            name: user_type.name.to_string(),
            consumes_seat: user_type.consumes_seat,
            ceiling: permissions(&user_type.ceiling),
            created_at: at(user_type.created_at),
        }
    }
}

/// User types.
#[derive(Object, Debug, Clone)]
pub struct UserTypeList {
    /// User types.
    pub items: Vec<UserTypeView>,
    /// Always `null`: the list is complete.
    pub next_cursor: Option<String>,
}

/// The seats of one user type.
#[derive(Object, Debug, Clone)]
pub struct SeatLine {
    /// User type id.
    pub user_type: Uuid,
    /// User type key.
    pub key: String,
    /// Whether the type takes seats (when not, the figures are informative only).
    pub consumes_seat: bool,
    /// Seats bought.
    pub total: u32,
    /// Seats used by enabled users.
    pub used: u32,
    /// Seats reserved by pending invitations.
    pub reserved: u32,
    /// Seats free.
    pub free: u32,
}

impl SeatLine {
    pub(crate) fn new(user_type: &UserType, usage: &SeatUsage) -> SeatLine {
        SeatLine {
            user_type: user_type.id.as_uuid(),
            key: user_type.key.to_string(),
            consumes_seat: user_type.consumes_seat,
            total: usage.total,
            used: usage.used,
            reserved: usage.reserved,
            free: usage.free(),
        }
    }
}

/// The subscription: seats per user type.
#[derive(Object, Debug, Clone)]
pub struct Subscription {
    /// One line per user type.
    pub items: Vec<SeatLine>,
    /// Always `null`.
    pub next_cursor: Option<String>,
}

/// A role: a named set of permissions.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Role")]
pub struct RoleView {
    /// Id.
    pub id: Uuid,
    /// Name, unique in the root account.
    pub name: String,
    /// `admin` or `user` for the built-in roles, `null` for others.
    pub builtin: Option<String>,
    /// Permissions (`module:read` or `module:write`).
    pub permissions: Vec<String>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Version, for `If-Match` (also sent as the `ETag` header).
    pub version: u64,
}

impl From<&Role> for RoleView {
    fn from(role: &Role) -> Self {
        RoleView {
            id: role.id.as_uuid(),
            name: role.name.to_string(),
            builtin: role.builtin.map(|b| b.name().to_owned()),
            permissions: permissions(&role.permissions),
            created_at: at(role.created_at),
            version: role.version,
        }
    }
}

/// Roles.
#[derive(Object, Debug, Clone)]
pub struct RoleList {
    /// Roles.
    pub items: Vec<RoleView>,
    /// Always `null`: the list is complete.
    pub next_cursor: Option<String>,
}

/// One permission of the catalog.
#[derive(Object, Debug, Clone)]
pub struct PermissionView {
    /// `module:access`, as used in roles, ceilings and API keys.
    pub name: String,
    /// The module.
    pub module: String,
    /// `read` or `write` (write implies read).
    pub access: String,
}

/// The permission catalog.
#[derive(Object, Debug, Clone)]
pub struct PermissionList {
    /// Every permission.
    pub items: Vec<PermissionView>,
    /// Always `null`.
    pub next_cursor: Option<String>,
}

/// The settings of a root account (shared by its sub-accounts).
#[derive(Object, Debug, Clone)]
#[oai(rename = "Settings")]
pub struct SettingsView {
    /// Self-registration is open.
    pub self_registration: bool,
    /// The user type of self-registered members.
    pub member_user_type: Option<Uuid>,
    /// Users must verify their email before logging in.
    pub email_verification_required: bool,
    /// Usernames must be email addresses.
    pub usernames_must_be_emails: bool,
    /// How usernames are generated when omitted (`{email}`, `{first}.{last}`, `{f}{last}`, …).
    pub username_format: String,
    /// The user type of users created from contacts and imports.
    pub default_user_type: Option<Uuid>,
    /// Roles given by default.
    pub default_roles: Vec<Uuid>,
    /// Where orders are attributed when no external id matches.
    pub default_clerk_id: Option<String>,
    /// How long invitation links live.
    pub invitation_lifetime_seconds: i64,
    /// How long verification, set-password and reset links live.
    pub link_lifetime_seconds: i64,
    /// How long a login session lives.
    pub session_lifetime_seconds: i64,
    /// Shortest password accepted.
    pub password_min_length: u16,
    /// Longest password accepted.
    pub password_max_length: u16,
    /// Whether this account's administrators set its seat totals (else the operator does).
    pub manages_own_seats: bool,
}

impl From<&Settings> for SettingsView {
    fn from(settings: &Settings) -> Self {
        SettingsView {
            self_registration: settings.self_registration,
            member_user_type: settings.member_user_type.map(|id| id.as_uuid()),
            email_verification_required: settings.email_verification_required,
            usernames_must_be_emails: settings.usernames_must_be_emails,
            username_format: settings.username_format.as_str().to_owned(),
            default_user_type: settings.default_user_type.map(|id| id.as_uuid()),
            default_roles: ids(&settings.default_roles, |id| id.as_uuid()),
            default_clerk_id: settings.default_clerk_id.clone(),
            invitation_lifetime_seconds: settings.invitation_lifetime.seconds(),
            link_lifetime_seconds: settings.link_lifetime.seconds(),
            session_lifetime_seconds: settings.session_lifetime.seconds(),
            password_min_length: settings.password_policy.min_length(),
            password_max_length: settings.password_policy.max_length(),
            manages_own_seats: settings.manages_own_seats,
        }
    }
}

/// Who did something.
#[derive(Object, Debug, Clone)]
pub struct ActorView {
    /// `user`, `operator`, `api_key`, `anonymous` or `system`.
    pub kind: String,
    /// The user or API key id.
    pub id: Option<Uuid>,
}

impl From<ActorRef> for ActorView {
    fn from(actor: ActorRef) -> Self {
        let (kind, id) = match actor {
            ActorRef::User(id) => ("user", Some(id.as_uuid())),
            ActorRef::Operator(id) => ("operator", Some(id.as_uuid())),
            ActorRef::ApiKey(id) => ("api_key", Some(id.as_uuid())),
            ActorRef::Anonymous => ("anonymous", None),
            ActorRef::System => ("system", None),
        };
        ActorView { kind: kind.to_owned(), id }
    }
}

/// Where an invitation stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum InvitationStateView {
    /// Waiting for the invitee; holds a seat.
    Pending,
    /// Accepted: a user exists.
    Accepted,
    /// Revoked by an administrator.
    Revoked,
    /// The link expired unused.
    Expired,
}

impl From<InvitationStatus> for InvitationStateView {
    fn from(status: InvitationStatus) -> Self {
        match status {
            InvitationStatus::Pending => InvitationStateView::Pending,
            InvitationStatus::Accepted => InvitationStateView::Accepted,
            InvitationStatus::Revoked => InvitationStateView::Revoked,
            InvitationStatus::Expired => InvitationStateView::Expired,
        }
    }
}

impl From<InvitationStateView> for InvitationStatus {
    fn from(state: InvitationStateView) -> Self {
        match state {
            InvitationStateView::Pending => InvitationStatus::Pending,
            InvitationStateView::Accepted => InvitationStatus::Accepted,
            InvitationStateView::Revoked => InvitationStatus::Revoked,
            InvitationStateView::Expired => InvitationStatus::Expired,
        }
    }
}

/// An invitation by email.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Invitation")]
pub struct InvitationView {
    /// Id.
    pub id: Uuid,
    /// The account the user will belong to.
    pub account_id: Uuid,
    /// Invited address.
    pub email: String,
    /// User type the user will get.
    pub user_type: Uuid,
    /// Roles the user will get.
    pub roles: Vec<Uuid>,
    /// Sub-account scope the user will get.
    pub sub_accounts: Vec<Uuid>,
    /// State (`expired` is derived from `expires_at`).
    pub state: InvitationStateView,
    /// Who invited.
    pub invited_by: ActorView,
    /// When the link stops working.
    pub expires_at: OffsetDateTime,
    /// How many times the mail was sent.
    /// The invitees' language.
    pub locale: Option<String>,
    pub send_count: u32,
    /// The user who accepted.
    pub accepted_user: Option<Uuid>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

impl InvitationView {
    pub(crate) fn new(invitation: &Invitation, now: Timestamp) -> InvitationView {
        InvitationView {
            id: invitation.id.as_uuid(),
            account_id: invitation.account.as_uuid(),
            email: invitation.email.to_string(),
            user_type: invitation.user_type.as_uuid(),
            roles: ids(&invitation.roles, |id| id.as_uuid()),
            sub_accounts: ids(&invitation.scope, |id| id.as_uuid()),
            state: invitation.status(now).into(),
            invited_by: invitation.invited_by.into(),
            expires_at: at(invitation.expires_at),
            locale: invitation.locale.as_ref().map(|l| l.as_str().to_owned()),
            send_count: invitation.send_count,
            accepted_user: invitation.accepted_user.map(|id| id.as_uuid()),
            created_at: at(invitation.created_at),
            updated_at: at(invitation.updated_at),
        }
    }
}

/// A page of invitations.
#[derive(Object, Debug, Clone)]
pub struct InvitationList {
    /// Invitations, newest first.
    pub items: Vec<InvitationView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A person or organization the account deals with.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum ContactKindView {
    /// A person.
    Person,
    /// An organization.
    Organization,
}

impl From<ContactKind> for ContactKindView {
    fn from(kind: ContactKind) -> Self {
        match kind {
            ContactKind::Person => ContactKindView::Person,
            ContactKind::Organization => ContactKindView::Organization,
        }
    }
}

impl From<ContactKindView> for ContactKind {
    fn from(kind: ContactKindView) -> Self {
        match kind {
            ContactKindView::Person => ContactKind::Person,
            ContactKindView::Organization => ContactKind::Organization,
        }
    }
}

/// A contact.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Contact")]
pub struct ContactView {
    /// Id.
    pub id: Uuid,
    /// Account.
    pub account_id: Uuid,
    /// Person or organization.
    pub kind: ContactKindView,
    /// First name.
    pub first_name: Option<String>,
    /// Last name (or the organization's name).
    pub last_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// The user created from this contact.
    pub user_id: Option<Uuid>,
    /// Created.
    pub created_at: OffsetDateTime,
}

impl From<&Contact> for ContactView {
    fn from(contact: &Contact) -> Self {
        ContactView {
            id: contact.id.as_uuid(),
            account_id: contact.account.as_uuid(),
            kind: contact.kind.into(),
            first_name: contact.first_name.as_ref().map(ToString::to_string),
            last_name: contact.last_name.as_ref().map(ToString::to_string),
            email: contact.email.as_ref().map(ToString::to_string),
            phone: contact.phone.as_ref().map(ToString::to_string),
            user_id: contact.user.map(|id| id.as_uuid()),
            created_at: at(contact.created_at),
        }
    }
}

/// A page of contacts.
#[derive(Object, Debug, Clone)]
pub struct ContactList {
    /// Contacts.
    pub items: Vec<ContactView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A device linked to a user.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Device")]
pub struct DeviceView {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Identifier (unique).
    pub identifier: String,
    /// Linked.
    pub linked_at: OffsetDateTime,
}

impl From<&Device> for DeviceView {
    fn from(device: &Device) -> Self {
        DeviceView {
            id: device.id.as_uuid(),
            name: device.name.to_string(),
            identifier: device.identifier.to_string(),
            linked_at: at(device.linked_at),
        }
    }
}

/// Devices of a user.
#[derive(Object, Debug, Clone)]
pub struct DeviceList {
    /// Devices.
    pub items: Vec<DeviceView>,
    /// Always `null`.
    pub next_cursor: Option<String>,
}

/// A login session, as its user or an administrator sees it (never its token).
#[derive(Object, Debug, Clone)]
#[oai(rename = "SessionInfo")]
pub struct SessionView {
    /// Id (to end it with `DELETE /v1/sessions/{id}`).
    pub id: Uuid,
    /// When it was opened.
    pub created_at: OffsetDateTime,
    /// When it was last used (to the minute).
    pub last_seen_at: OffsetDateTime,
    /// When it ends by itself.
    pub expires_at: OffsetDateTime,
    /// The address it was opened from.
    pub source: Option<String>,
    /// Whether this is the session of the request.
    pub current: bool,
}

impl SessionView {
    /// The view of `session`, marked `current` when it is `current`.
    pub fn of(session: &usher_domain::model::Session, current: Option<usher_domain::id::SessionId>) -> Self {
        SessionView {
            id: session.id.as_uuid(),
            created_at: at(session.created_at),
            last_seen_at: at(session.last_seen_at),
            expires_at: at(session.expires_at),
            source: session.source.clone(),
            current: current == Some(session.id),
        }
    }
}

/// Sessions of a user, newest first.
#[derive(Object, Debug, Clone)]
pub struct SessionList {
    /// Sessions.
    pub items: Vec<SessionView>,
    /// Always `null`.
    pub next_cursor: Option<String>,
}

/// Where a user's orders are attributed (R7).
#[derive(Object, Debug, Clone)]
#[oai(rename = "Attribution")]
pub struct AttributionView {
    /// `erp_salesperson`, `pos_clerk`, `default_clerk` or `unattributed`.
    pub source: String,
    /// The id orders carry.
    pub id: Option<String>,
}

impl From<Attribution> for AttributionView {
    fn from(attribution: Attribution) -> Self {
        let (source, id) = match attribution {
            Attribution::ErpSalesperson(id) => ("erp_salesperson", Some(id)),
            Attribution::PosClerk(id) => ("pos_clerk", Some(id)),
            Attribution::DefaultClerk(id) => ("default_clerk", Some(id)),
            Attribution::Unattributed => ("unattributed", None),
        };
        AttributionView { source: source.to_owned(), id }
    }
}

/// An API key (the secret is shown once, at creation).
#[derive(Object, Debug, Clone)]
#[oai(rename = "ApiKey")]
pub struct ApiKeyView {
    /// Id.
    pub id: Uuid,
    /// Account the key acts in (with its sub-accounts).
    pub account_id: Uuid,
    /// Name.
    pub name: String,
    /// Permissions.
    pub permissions: Vec<String>,
    /// Who created it.
    pub created_by: ActorView,
    /// Created.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(key: &ApiKey) -> Self {
        ApiKeyView {
            id: key.id.as_uuid(),
            account_id: key.account.as_uuid(),
            name: key.name.to_string(),
            permissions: permissions(&key.permissions),
            created_by: key.created_by.into(),
            created_at: at(key.created_at),
            expires_at: key.expires_at.map(at),
            revoked_at: key.revoked_at.map(at),
        }
    }
}

/// API keys.
#[derive(Object, Debug, Clone)]
pub struct ApiKeyList {
    /// Keys.
    pub items: Vec<ApiKeyView>,
    /// Always `null`.
    pub next_cursor: Option<String>,
}

/// One audited change.
#[derive(Object, Debug, Clone)]
#[oai(rename = "AuditEvent")]
pub struct AuditEventView {
    /// Id.
    pub id: Uuid,
    /// Account.
    pub account_id: Uuid,
    /// Who.
    pub actor: ActorView,
    /// What (e.g. `user.created`).
    pub action: String,
    /// Kind of target (e.g. `user`).
    pub target_kind: String,
    /// Target id.
    pub target_id: String,
    /// When.
    pub at: OffsetDateTime,
    /// From where (client address).
    pub source: Option<String>,
    /// Field-level changes `{field: {before, after}}`, secrets redacted.
    pub diff: serde_json::Value,
}

impl From<&AuditEvent> for AuditEventView {
    fn from(event: &AuditEvent) -> Self {
        AuditEventView {
            id: event.id.as_uuid(),
            account_id: event.account.as_uuid(),
            actor: event.actor.into(),
            action: event.action.clone(),
            target_kind: event.target_kind.clone(),
            target_id: event.target_id.clone(),
            at: at(event.at),
            source: event.source.clone(),
            diff: event.diff.clone(),
        }
    }
}

/// A page of audit events.
#[derive(Object, Debug, Clone)]
pub struct AuditEventList {
    /// Events, newest first.
    pub items: Vec<AuditEventView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Where a queued mail is on its way.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum DeliveryStateView {
    /// Waiting for its first or next attempt.
    Pending,
    /// Accepted by the mail server (or written to the mail folder).
    Sent,
    /// Given up (refused for good, or out of attempts); `POST /v1/mail/{id}/retry` sends it again.
    Failed,
}

impl From<DeliveryState> for DeliveryStateView {
    fn from(state: DeliveryState) -> Self {
        match state {
            DeliveryState::Pending => DeliveryStateView::Pending,
            DeliveryState::Sent => DeliveryStateView::Sent,
            DeliveryState::Failed => DeliveryStateView::Failed,
        }
    }
}

impl From<DeliveryStateView> for DeliveryState {
    fn from(state: DeliveryStateView) -> Self {
        match state {
            DeliveryStateView::Pending => DeliveryState::Pending,
            DeliveryStateView::Sent => DeliveryState::Sent,
            DeliveryStateView::Failed => DeliveryState::Failed,
        }
    }
}

/// A mail in the outbox with its delivery, without its content (which may carry a link token).
#[derive(Object, Debug, Clone)]
#[oai(rename = "QueuedMail")]
pub struct QueuedMailView {
    /// Id.
    pub id: Uuid,
    /// Account the mail concerns.
    pub account_id: Uuid,
    /// Recipient.
    pub to: String,
    /// `invitation`, `welcome`, `email_verification`, `password_reset` or `password_changed`.
    pub kind: String,
    /// Locale the mail is rendered in (English when empty or not shipped).
    pub locale: Option<String>,
    /// Queued.
    pub created_at: OffsetDateTime,
    /// Delivery state.
    pub state: DeliveryStateView,
    /// Attempts made so far.
    pub attempts: u32,
    /// When a pending mail is tried next.
    pub next_attempt_at: Option<OffsetDateTime>,
    /// Why the last attempt failed (the mail server's answer).
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<OffsetDateTime>,
}

impl From<&QueuedMail> for QueuedMailView {
    fn from(queued: &QueuedMail) -> Self {
        let (mail, delivery) = (&queued.mail, &queued.delivery);
        QueuedMailView {
            id: mail.id.as_uuid(),
            account_id: mail.account.as_uuid(),
            to: mail.to.to_string(),
            kind: mail.message.kind().to_owned(),
            locale: mail.locale.as_ref().map(|l| l.as_str().to_owned()),
            created_at: at(mail.created_at),
            state: delivery.state.into(),
            attempts: delivery.attempts,
            next_attempt_at: delivery.next_attempt_at.map(at),
            last_error: delivery.last_error.clone(),
            sent_at: delivery.sent_at.map(at),
        }
    }
}

/// A page of queued mail.
#[derive(Object, Debug, Clone)]
pub struct QueuedMailList {
    /// Mail, oldest first.
    pub items: Vec<QueuedMailView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}
