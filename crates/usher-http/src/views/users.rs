//! Users, their devices, sessions and order attribution on the wire.

use super::*;

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

/// The kind of a postal address.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum AddressKind {
    /// Where invoices go.
    Billing,
    /// Where goods go.
    Shipping,
}

impl AddressKind {
    fn as_str(self) -> &'static str {
        match self {
            AddressKind::Billing => "billing",
            AddressKind::Shipping => "shipping",
        }
    }
}

/// A postal address of a user; the first of a kind is its default.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Address")]
pub struct AddressView {
    /// Billing or shipping.
    pub kind: AddressKind,
    /// Street lines (1 to 4).
    #[oai(validator(min_items = 1, max_items = 4))]
    pub lines: Vec<Text<NameKind>>,
    /// City.
    pub city: Option<Text<NameKind>>,
    /// Postal code.
    pub postal_code: Option<Text<NameKind>>,
    /// Region or state.
    pub region: Option<Text<NameKind>>,
    /// Country (ISO code or name).
    pub country: Option<Text<NameKind>>,
}

impl From<&Address> for AddressView {
    fn from(address: &Address) -> Self {
        let text = |name: &Option<usher_domain::value::Name>| name.as_ref().map(|n| Text::new(n.to_string()));
        AddressView {
            kind: if address.kind.as_str() == "shipping" {
                AddressKind::Shipping
            } else {
                AddressKind::Billing
            },
            lines: address.lines.iter().map(|line| Text::new(line.to_string())).collect(),
            city: text(&address.city),
            postal_code: text(&address.postal_code),
            region: text(&address.region),
            country: text(&address.country),
        }
    }
}

impl AddressView {
    /// The address as the domain receives it.
    pub(crate) fn into_input(self) -> AddressInput {
        AddressInput {
            kind: self.kind.as_str().to_owned(),
            lines: self.lines.into_iter().map(|line| line.0).collect(),
            city: self.city.map(|t| t.0),
            postal_code: self.postal_code.map(|t| t.0),
            region: self.region.map(|t| t.0),
            country: self.country.map(|t| t.0),
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
    /// Postal addresses (billing, shipping); the first of a kind is its default.
    pub addresses: Vec<AddressView>,
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
    /// Whether that contact is a person or an organization; absent for a user not made from
    /// a contact (absent rather than `null`, which generated clients cannot read as an enum).
    #[oai(skip_serializing_if_is_none)]
    pub contact_kind: Option<ContactKindView>,
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
    /// On `GET /v1/me` and `GET /v1/users/{id}`: what the user may do (R4: roles ∩ the type's
    /// ceiling, each `write` with the `read` it implies; every permission for the operator).
    #[oai(skip_serializing_if_is_none)]
    pub effective_permissions: Option<Vec<String>>,
    /// On `GET /v1/me` and `GET /v1/users/{id}`: the accounts whose subtrees the user acts in
    /// (R19): its `sub_accounts`, or its home account when it has none; empty for the
    /// operator, who reaches every tenant.
    #[oai(skip_serializing_if_is_none)]
    pub accounts_in_scope: Option<Vec<Uuid>>,
    /// On `GET /v1/me` and `GET /v1/users/{id}`: whether the user is the operator.
    #[oai(skip_serializing_if_is_none)]
    pub operator: Option<bool>,
    /// On `GET /v1/me` and `GET /v1/users/{id}`: the sales representative that applies to the
    /// user: its own `sales_representative`, else its account's or the nearest account's
    /// above (absent when none does).
    #[oai(skip_serializing_if_is_none)]
    pub effective_sales_representative: Option<Uuid>,
}

impl UserView {
    /// The user with what it may do and where.
    pub(crate) fn with_access(user: &User, access: &UserAccess) -> UserView {
        UserView {
            effective_permissions: Some(permissions(&access.permissions)),
            accounts_in_scope: Some(ids(&access.accounts, |id| id.as_uuid())),
            operator: Some(access.operator),
            effective_sales_representative: access.sales_representative.map(|id| id.as_uuid()),
            ..UserView::from(user)
        }
    }
}

/// What a user may do in one account (`GET /v1/users/{id}/permissions?account=`).
#[derive(Object, Debug, Clone)]
#[oai(rename = "AccessInAccount")]
pub struct AccessInAccountView {
    /// The user.
    pub user_id: Uuid,
    /// The account asked about.
    pub account_id: Uuid,
    /// Whether the account lies within the user's reach: its home subtree, narrowed by its
    /// scope (R19).
    pub within_reach: bool,
    /// What the user may do there (R4): its effective permissions within reach, none outside.
    pub permissions: Vec<String>,
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
            addresses: profile.addresses.iter().map(AddressView::from).collect(),
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
            contact_kind: user.contact_kind.map(ContactKindView::from),
            created_at: at(user.created_at),
            updated_at: at(user.updated_at),
            last_login_at: user.last_login_at.map(at),
            erased_at: user.erased_at.map(at),
            version: user.version,
            effective_permissions: None,
            accounts_in_scope: None,
            operator: None,
            effective_sales_representative: None,
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
