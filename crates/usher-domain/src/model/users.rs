//! Users: who they are, their profile, their state and how they came to be (R3, R5–R8).

use super::*;

/// How a user came to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// The id the provisioning client (SCIM's `externalId`, an import's `external_id`)
    /// knows the user by; unique in the root.
    pub external_id: Option<ExternalId>,
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
    /// Whether that contact is a person or an organization (a contact's kind never changes).
    pub contact_kind: Option<ContactKind>,
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

    /// The name a directory shows: first and last name, else the username.
    pub fn display_name(&self) -> String {
        let names: Vec<&str> = [&self.profile.first_name, &self.profile.last_name]
            .into_iter()
            .flatten()
            .map(Name::as_str)
            .collect();
        if names.is_empty() { self.username.as_str().to_owned() } else { names.join(" ") }
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
            external_id: None,
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
            contact_kind: None,
            created_at: now,
            updated_at: now,
            last_login_at: None,
            erased_at: None,
            version: 0,
        }
    }
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

/// A user's identity at an outside identity provider: who signs in there as `subject` of
/// `issuer` is this user here (just-in-time users). One identity names one user per root
/// account; a user may have several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// Root account.
    pub root: AccountId,
    /// The provider, as its tokens name it (`iss`).
    pub issuer: String,
    /// The user at the provider (`sub`).
    pub subject: String,
    /// The user here.
    pub user: UserId,
    /// Linked at.
    pub linked_at: Timestamp,
}
