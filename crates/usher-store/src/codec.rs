//! Rows to domain values and back. Every stored value is parsed again through the domain's
//! constructors on the way out, so a row edited by hand into something invalid surfaces as
//! [`RepoError::Corrupt`] instead of an invalid value in memory.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use usher_domain::document::{MailDocument, SettingsDocument};
use usher_domain::error::RepoError;
use usher_domain::id::{
    AccountId, ApiKeyId, AuditEventId, ContactId, DeviceId, InvitationId, MailId, RoleId, SessionId, TokenId,
    UserId, UserTypeId,
};
use usher_domain::model::{
    Account, AccountPath, AccountState, ActorRef, Address, ApiKey, AuditEvent, BuiltinRole, Contact,
    ContactKind, Delivery, DeliveryState, Device, Invitation, InvitationState, MailMessage, OneTimeToken,
    Origin, OutboxMail, Profile, QueuedMail, Role, Session, Settings, TokenPurpose, User, UserState,
    UserType,
};
use usher_domain::time::Timestamp;
use usher_domain::value::{Email, Key, Locale, Name, Permission, Slug, TokenHash, Username, ValueError};

use crate::entity::{
    account, api_key, audit_event, contact, device, invitation, one_time_token, outbox, role, session, user,
    user_type,
};

/// A parse failure of a stored value of `entity`.
fn corrupt(entity: &'static str) -> impl Fn(ValueError) -> RepoError {
    move |err| RepoError::corrupt(entity, err)
}

fn json_err(entity: &'static str) -> impl Fn(serde_json::Error) -> RepoError {
    move |err| RepoError::corrupt(entity, err)
}

pub(crate) fn to_json<T: Serialize + ?Sized>(entity: &'static str, value: &T) -> Result<String, RepoError> {
    serde_json::to_string(value).map_err(json_err(entity))
}

fn from_json<T: for<'de> Deserialize<'de>>(entity: &'static str, text: &str) -> Result<T, RepoError> {
    serde_json::from_str(text).map_err(json_err(entity))
}

pub(crate) fn time(entity: &'static str, micros: i64) -> Result<Timestamp, RepoError> {
    Timestamp::from_unix_micros(micros).ok_or_else(|| RepoError::corrupt(entity, "timestamp out of range"))
}

fn opt_time(entity: &'static str, micros: Option<i64>) -> Result<Option<Timestamp>, RepoError> {
    micros.map(|m| time(entity, m)).transpose()
}

fn count(entity: &'static str, n: i64) -> Result<u32, RepoError> {
    u32::try_from(n).map_err(|_| RepoError::corrupt(entity, "count out of range"))
}

pub(crate) fn version(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Ids of one kind as a JSON array of UUID strings.
fn ids_to_json<T: Copy>(
    entity: &'static str,
    ids: &BTreeSet<T>,
    uuid: impl Fn(T) -> Uuid,
) -> Result<String, RepoError> {
    to_json(entity, &ids.iter().map(|id| uuid(*id)).collect::<Vec<Uuid>>())
}

fn ids_from_json<T: Ord>(
    entity: &'static str,
    text: &str,
    wrap: impl Fn(Uuid) -> T,
) -> Result<BTreeSet<T>, RepoError> {
    Ok(from_json::<Vec<Uuid>>(entity, text)?.into_iter().map(wrap).collect())
}

pub(crate) fn permissions_to_json(
    entity: &'static str,
    set: &BTreeSet<Permission>,
) -> Result<String, RepoError> {
    to_json(entity, &set.iter().map(Permission::to_string).collect::<Vec<String>>())
}

fn permissions_from_json(entity: &'static str, text: &str) -> Result<BTreeSet<Permission>, RepoError> {
    from_json::<Vec<String>>(entity, text)?
        .iter()
        .map(|p| Permission::parse(p).map_err(corrupt(entity)))
        .collect()
}

fn optional<T>(
    entity: &'static str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Result<Option<T>, RepoError> {
    raw.map(|text| parse(text).map_err(corrupt(entity))).transpose()
}

// Account paths are stored as `/root/child/…/self/` (UUIDs in simple form): the subtree of an
// account is the range of paths that start with its own.

/// The stored path of an account.
pub(crate) fn path_text(path: &AccountPath) -> String {
    let mut text = String::from("/");
    for id in path.ancestors().iter().copied().chain([path.id()]) {
        text.push_str(&id.as_uuid().simple().to_string());
        text.push('/');
    }
    text
}

fn path_from_text(id: AccountId, text: &str) -> Result<AccountPath, RepoError> {
    let mut ancestors = Vec::new();
    for part in text.split('/').filter(|p| !p.is_empty()) {
        let uuid = Uuid::try_parse(part).map_err(|e| RepoError::corrupt("account", e))?;
        ancestors.push(AccountId::from_uuid(uuid));
    }
    if ancestors.pop() != Some(id) {
        return Err(RepoError::corrupt("account", "path does not end with the account"));
    }
    AccountPath::restore(id, ancestors).map_err(corrupt("account"))
}

pub(crate) fn account_row(account: &Account) -> account::Model {
    account::Model {
        id: account.id.as_uuid(),
        root_id: account.root().as_uuid(),
        parent_id: account.parent().map(|p| p.as_uuid()),
        path: path_text(&account.path),
        slug: account.slug.as_str().to_owned(),
        name: account.name.as_str().to_owned(),
        state: account_state_text(account.state).to_owned(),
        created_at: account.created_at.unix_micros(),
    }
}

pub(crate) fn account_state_text(state: AccountState) -> &'static str {
    match state {
        AccountState::Active => "active",
        AccountState::Suspended => "suspended",
    }
}

pub(crate) fn account_from_row(row: account::Model) -> Result<Account, RepoError> {
    const E: &str = "account";
    let id = AccountId::from_uuid(row.id);
    Ok(Account {
        id,
        path: path_from_text(id, &row.path)?,
        slug: Slug::parse(&row.slug).map_err(corrupt(E))?,
        name: Name::parse(&row.name).map_err(corrupt(E))?,
        state: match row.state.as_str() {
            "active" => AccountState::Active,
            "suspended" => AccountState::Suspended,
            other => return Err(RepoError::corrupt(E, format!("unknown state {other:?}"))),
        },
        created_at: time(E, row.created_at)?,
    })
}

/// Settings as stored: their [`SettingsDocument`].
pub(crate) fn settings_to_json(settings: &Settings) -> Result<String, RepoError> {
    to_json("settings", &SettingsDocument::from(settings))
}

pub(crate) fn settings_from_json(text: &str) -> Result<Settings, RepoError> {
    Settings::try_from(from_json::<SettingsDocument>("settings", text)?).map_err(corrupt("settings"))
}

pub(crate) fn user_type_row(t: &UserType) -> Result<user_type::Model, RepoError> {
    Ok(user_type::Model {
        id: t.id.as_uuid(),
        root_id: t.root.as_uuid(),
        key: t.key.as_str().to_owned(),
        name: t.name.as_str().to_owned(),
        consumes_seat: t.consumes_seat,
        ceiling: permissions_to_json("user type", &t.ceiling)?,
        created_at: t.created_at.unix_micros(),
    })
}

pub(crate) fn user_type_from_row(row: user_type::Model) -> Result<UserType, RepoError> {
    const E: &str = "user type";
    Ok(UserType {
        id: UserTypeId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        key: Key::parse(&row.key).map_err(corrupt(E))?,
        name: Name::parse(&row.name).map_err(corrupt(E))?,
        consumes_seat: row.consumes_seat,
        ceiling: permissions_from_json(E, &row.ceiling)?,
        created_at: time(E, row.created_at)?,
    })
}

/// The case-insensitive key of a role name.
pub(crate) fn name_key(name: &Name) -> String {
    name.as_str().to_lowercase()
}

pub(crate) fn role_row(r: &Role) -> Result<role::Model, RepoError> {
    Ok(role::Model {
        id: r.id.as_uuid(),
        root_id: r.root.as_uuid(),
        name: r.name.as_str().to_owned(),
        name_key: name_key(&r.name),
        builtin: r.builtin.map(|b| b.name().to_owned()),
        permissions: permissions_to_json("role", &r.permissions)?,
        created_at: r.created_at.unix_micros(),
        version: version(r.version),
    })
}

pub(crate) fn role_from_row(row: role::Model) -> Result<Role, RepoError> {
    const E: &str = "role";
    Ok(Role {
        id: RoleId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        name: Name::parse(&row.name).map_err(corrupt(E))?,
        builtin: match row.builtin.as_deref() {
            None => None,
            Some("admin") => Some(BuiltinRole::Admin),
            Some("user") => Some(BuiltinRole::User),
            Some(other) => return Err(RepoError::corrupt(E, format!("unknown built-in role {other:?}"))),
        },
        permissions: permissions_from_json(E, &row.permissions)?,
        created_at: time(E, row.created_at)?,
        version: u64::try_from(row.version).map_err(|e| RepoError::corrupt(E, e))?,
    })
}

#[derive(Serialize, Deserialize)]
struct AddressDocument {
    kind: String,
    lines: Vec<String>,
    city: Option<String>,
    postal_code: Option<String>,
    region: Option<String>,
    country: Option<String>,
}

/// A profile as stored; absent fields read as empty, so a field added later needs no migration.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct ProfileDocument {
    first_name: Option<String>,
    last_name: Option<String>,
    notification_email: Option<String>,
    phone: Option<String>,
    birthday: Option<time::Date>,
    locale: Option<String>,
    image_url: Option<String>,
    sales_territories: Vec<String>,
    addresses: Vec<AddressDocument>,
    attributes: BTreeMap<String, String>,
}

fn name_text(name: &Option<Name>) -> Option<String> {
    name.as_ref().map(|n| n.as_str().to_owned())
}

fn profile_to_json(profile: &Profile) -> Result<String, RepoError> {
    let doc = ProfileDocument {
        first_name: name_text(&profile.first_name),
        last_name: name_text(&profile.last_name),
        notification_email: profile.notification_email.as_ref().map(|e| e.as_str().to_owned()),
        phone: name_text(&profile.phone),
        birthday: profile.birthday,
        locale: profile.locale.as_ref().map(|l| l.as_str().to_owned()),
        image_url: profile.image_url.clone(),
        sales_territories: profile.sales_territories.iter().map(|t| t.as_str().to_owned()).collect(),
        addresses: profile
            .addresses
            .iter()
            .map(|a| AddressDocument {
                kind: a.kind.as_str().to_owned(),
                lines: a.lines.iter().map(|l| l.as_str().to_owned()).collect(),
                city: name_text(&a.city),
                postal_code: name_text(&a.postal_code),
                region: name_text(&a.region),
                country: name_text(&a.country),
            })
            .collect(),
        attributes: profile.attributes.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect(),
    };
    to_json("user", &doc)
}

fn profile_from_json(raw: &str) -> Result<Profile, RepoError> {
    const E: &str = "user";
    let doc: ProfileDocument = from_json(E, raw)?;
    let name = |value: Option<String>| optional(E, value.as_deref(), Name::parse);
    let addresses = doc
        .addresses
        .into_iter()
        .map(|a| {
            Ok(Address {
                kind: Key::parse(&a.kind).map_err(corrupt(E))?,
                lines: a
                    .lines
                    .iter()
                    .map(|l| Name::parse(l).map_err(corrupt(E)))
                    .collect::<Result<_, _>>()?,
                city: name(a.city)?,
                postal_code: name(a.postal_code)?,
                region: name(a.region)?,
                country: name(a.country)?,
            })
        })
        .collect::<Result<Vec<Address>, RepoError>>()?;
    Ok(Profile {
        first_name: name(doc.first_name)?,
        last_name: name(doc.last_name)?,
        notification_email: optional(E, doc.notification_email.as_deref(), Email::parse)?,
        phone: name(doc.phone)?,
        birthday: doc.birthday,
        locale: optional(E, doc.locale.as_deref(), Locale::parse)?,
        image_url: doc.image_url,
        sales_territories: doc
            .sales_territories
            .iter()
            .map(|t| Name::parse(t).map_err(corrupt(E)))
            .collect::<Result<_, _>>()?,
        addresses,
        attributes: doc
            .attributes
            .into_iter()
            .map(|(k, v)| Ok((Key::parse(&k).map_err(corrupt(E))?, v)))
            .collect::<Result<_, RepoError>>()?,
    })
}

pub(crate) fn origin_text(origin: Origin) -> &'static str {
    match origin {
        Origin::Admin => "admin",
        Origin::Invitation => "invitation",
        Origin::Registration => "registration",
        Origin::Import => "import",
        Origin::Contact => "contact",
        Origin::Scim => "scim",
        Origin::Jit => "jit",
    }
}

fn origin_from_text(raw: &str) -> Result<Origin, RepoError> {
    [
        Origin::Admin,
        Origin::Invitation,
        Origin::Registration,
        Origin::Import,
        Origin::Contact,
        Origin::Scim,
        Origin::Jit,
    ]
    .into_iter()
    .find(|o| origin_text(*o) == raw)
    .ok_or_else(|| RepoError::corrupt("user", format!("unknown origin {raw:?}")))
}

pub(crate) fn user_state_text(state: UserState) -> &'static str {
    match state {
        UserState::Active => "active",
        UserState::Disabled => "disabled",
    }
}

/// The lower-cased form of a name used by prefix search.
pub(crate) fn search_key(name: &Option<Name>) -> Option<String> {
    name.as_ref().map(|n| n.as_str().to_lowercase())
}

pub(crate) fn user_row(u: &User) -> Result<user::Model, RepoError> {
    const E: &str = "user";
    Ok(user::Model {
        id: u.id.as_uuid(),
        root_id: u.root.as_uuid(),
        account_id: u.account.as_uuid(),
        username: u.username.as_str().to_owned(),
        username_key: u.username.key().as_str().to_owned(),
        email: u.email.as_str().to_owned(),
        first_name_key: search_key(&u.profile.first_name),
        last_name_key: search_key(&u.profile.last_name),
        profile: profile_to_json(&u.profile)?,
        receive_system_messages: u.receive_system_messages,
        sales_representative: u.sales_representative.map(|r| r.as_uuid()),
        external_ids: to_json(
            E,
            &u.external_ids.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<BTreeMap<&str, &str>>(),
        )?,
        user_type_id: u.user_type.as_uuid(),
        scope: ids_to_json(E, &u.scope, |a: AccountId| a.as_uuid())?,
        origin: origin_text(u.origin).to_owned(),
        state: user_state_text(u.state).to_owned(),
        email_verified_at: u.email_verified_at.map(|t| t.unix_micros()),
        has_password: u.has_password,
        must_change_password: u.must_change_password,
        is_operator: u.is_operator,
        contact_id: u.contact.map(|c| c.as_uuid()),
        created_at: u.created_at.unix_micros(),
        updated_at: u.updated_at.unix_micros(),
        last_login_at: u.last_login_at.map(|t| t.unix_micros()),
        erased_at: u.erased_at.map(|t| t.unix_micros()),
        version: version(u.version),
    })
}

pub(crate) fn user_from_row(row: user::Model, roles: BTreeSet<RoleId>) -> Result<User, RepoError> {
    const E: &str = "user";
    Ok(User {
        id: UserId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        username: Username::parse(&row.username).map_err(corrupt(E))?,
        email: Email::parse(&row.email).map_err(corrupt(E))?,
        profile: profile_from_json(&row.profile)?,
        receive_system_messages: row.receive_system_messages,
        sales_representative: row.sales_representative.map(UserId::from_uuid),
        external_ids: from_json::<BTreeMap<String, String>>(E, &row.external_ids)?
            .into_iter()
            .map(|(k, v)| Ok((Key::parse(&k).map_err(corrupt(E))?, v)))
            .collect::<Result<_, RepoError>>()?,
        user_type: UserTypeId::from_uuid(row.user_type_id),
        roles,
        scope: ids_from_json(E, &row.scope, AccountId::from_uuid)?,
        origin: origin_from_text(&row.origin)?,
        state: match row.state.as_str() {
            "active" => UserState::Active,
            "disabled" => UserState::Disabled,
            other => return Err(RepoError::corrupt(E, format!("unknown state {other:?}"))),
        },
        email_verified_at: opt_time(E, row.email_verified_at)?,
        has_password: row.has_password,
        must_change_password: row.must_change_password,
        is_operator: row.is_operator,
        contact: row.contact_id.map(ContactId::from_uuid),
        created_at: time(E, row.created_at)?,
        updated_at: time(E, row.updated_at)?,
        last_login_at: opt_time(E, row.last_login_at)?,
        erased_at: opt_time(E, row.erased_at)?,
        version: u64::try_from(row.version).map_err(|e| RepoError::corrupt(E, e))?,
    })
}

/// An actor as stored in JSON (`{"kind": "user", "id": "…"}`).
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
enum ActorDocument {
    User(Uuid),
    Operator(Uuid),
    ApiKey(Uuid),
    Anonymous,
    System,
}

pub(crate) fn actor_to_json(actor: &ActorRef) -> Result<String, RepoError> {
    to_json("actor", actor)
}

fn actor_from_json(entity: &'static str, raw: &str) -> Result<ActorRef, RepoError> {
    Ok(match from_json::<ActorDocument>(entity, raw)? {
        ActorDocument::User(id) => ActorRef::User(UserId::from_uuid(id)),
        ActorDocument::Operator(id) => ActorRef::Operator(UserId::from_uuid(id)),
        ActorDocument::ApiKey(id) => ActorRef::ApiKey(ApiKeyId::from_uuid(id)),
        ActorDocument::Anonymous => ActorRef::Anonymous,
        ActorDocument::System => ActorRef::System,
    })
}

/// The user behind an actor, for "has this user acted" (R8).
pub(crate) fn actor_user(actor: &ActorRef) -> Option<Uuid> {
    match actor {
        ActorRef::User(id) | ActorRef::Operator(id) => Some(id.as_uuid()),
        _ => None,
    }
}

pub(crate) fn invitation_state_text(state: InvitationState) -> &'static str {
    match state {
        InvitationState::Pending => "pending",
        InvitationState::Accepted => "accepted",
        InvitationState::Revoked => "revoked",
    }
}

pub(crate) fn invitation_row(i: &Invitation) -> Result<invitation::Model, RepoError> {
    const E: &str = "invitation";
    Ok(invitation::Model {
        id: i.id.as_uuid(),
        root_id: i.root.as_uuid(),
        account_id: i.account.as_uuid(),
        email: i.email.as_str().to_owned(),
        user_type_id: i.user_type.as_uuid(),
        roles: ids_to_json(E, &i.roles, |r: RoleId| r.as_uuid())?,
        scope: ids_to_json(E, &i.scope, |a: AccountId| a.as_uuid())?,
        invited_by: actor_to_json(&i.invited_by)?,
        token_hash: i.token_hash.as_str().to_owned(),
        state: invitation_state_text(i.state).to_owned(),
        expires_at: i.expires_at.unix_micros(),
        send_count: i64::from(i.send_count),
        created_at: i.created_at.unix_micros(),
        updated_at: i.updated_at.unix_micros(),
        accepted_user: i.accepted_user.map(|u| u.as_uuid()),
        locale: i.locale.as_ref().map(|l| l.as_str().to_owned()),
    })
}

pub(crate) fn invitation_from_row(row: invitation::Model) -> Result<Invitation, RepoError> {
    const E: &str = "invitation";
    Ok(Invitation {
        id: InvitationId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        email: Email::parse(&row.email).map_err(corrupt(E))?,
        user_type: UserTypeId::from_uuid(row.user_type_id),
        roles: ids_from_json(E, &row.roles, RoleId::from_uuid)?,
        scope: ids_from_json(E, &row.scope, AccountId::from_uuid)?,
        invited_by: actor_from_json(E, &row.invited_by)?,
        token_hash: TokenHash::parse(&row.token_hash).map_err(corrupt(E))?,
        state: match row.state.as_str() {
            "pending" => InvitationState::Pending,
            "accepted" => InvitationState::Accepted,
            "revoked" => InvitationState::Revoked,
            other => return Err(RepoError::corrupt(E, format!("unknown state {other:?}"))),
        },
        expires_at: time(E, row.expires_at)?,
        send_count: count(E, row.send_count)?,
        created_at: time(E, row.created_at)?,
        updated_at: time(E, row.updated_at)?,
        accepted_user: row.accepted_user.map(UserId::from_uuid),
        locale: optional(E, row.locale.as_deref(), Locale::parse)?,
    })
}

pub(crate) fn contact_row(c: &Contact) -> contact::Model {
    contact::Model {
        id: c.id.as_uuid(),
        root_id: c.root.as_uuid(),
        account_id: c.account.as_uuid(),
        kind: match c.kind {
            ContactKind::Person => "person",
            ContactKind::Organization => "organization",
        }
        .to_owned(),
        first_name: name_text(&c.first_name),
        last_name: name_text(&c.last_name),
        email: c.email.as_ref().map(|e| e.as_str().to_owned()),
        phone: name_text(&c.phone),
        user_id: c.user.map(|u| u.as_uuid()),
        created_at: c.created_at.unix_micros(),
    }
}

pub(crate) fn contact_from_row(row: contact::Model) -> Result<Contact, RepoError> {
    const E: &str = "contact";
    Ok(Contact {
        id: ContactId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        kind: match row.kind.as_str() {
            "person" => ContactKind::Person,
            "organization" => ContactKind::Organization,
            other => return Err(RepoError::corrupt(E, format!("unknown kind {other:?}"))),
        },
        first_name: optional(E, row.first_name.as_deref(), Name::parse)?,
        last_name: optional(E, row.last_name.as_deref(), Name::parse)?,
        email: optional(E, row.email.as_deref(), Email::parse)?,
        phone: optional(E, row.phone.as_deref(), Name::parse)?,
        user: row.user_id.map(UserId::from_uuid),
        created_at: time(E, row.created_at)?,
    })
}

pub(crate) fn device_row(d: &Device) -> device::Model {
    device::Model {
        id: d.id.as_uuid(),
        user_id: d.user.as_uuid(),
        name: d.name.as_str().to_owned(),
        identifier: d.identifier.as_str().to_owned(),
        linked_at: d.linked_at.unix_micros(),
    }
}

pub(crate) fn device_from_row(row: device::Model) -> Result<Device, RepoError> {
    const E: &str = "device";
    Ok(Device {
        id: DeviceId::from_uuid(row.id),
        user: UserId::from_uuid(row.user_id),
        name: Name::parse(&row.name).map_err(corrupt(E))?,
        identifier: Key::parse(&row.identifier).map_err(corrupt(E))?,
        linked_at: time(E, row.linked_at)?,
    })
}

pub(crate) fn session_row(s: &Session) -> session::Model {
    session::Model {
        id: s.id.as_uuid(),
        user_id: s.user.as_uuid(),
        root_id: s.root.as_uuid(),
        token_hash: s.token_hash.as_str().to_owned(),
        created_at: s.created_at.unix_micros(),
        expires_at: s.expires_at.unix_micros(),
        last_seen_at: Some(s.last_seen_at.unix_micros()),
        source: s.source.clone(),
    }
}

pub(crate) fn session_from_row(row: session::Model) -> Result<Session, RepoError> {
    const E: &str = "session";
    Ok(Session {
        id: SessionId::from_uuid(row.id),
        user: UserId::from_uuid(row.user_id),
        root: AccountId::from_uuid(row.root_id),
        token_hash: TokenHash::parse(&row.token_hash).map_err(corrupt(E))?,
        created_at: time(E, row.created_at)?,
        expires_at: time(E, row.expires_at)?,
        // Sessions from before migration 4 were last seen, as far as anyone knows, at login.
        last_seen_at: time(E, row.last_seen_at.unwrap_or(row.created_at))?,
        source: row.source,
    })
}

pub(crate) fn purpose_text(purpose: TokenPurpose) -> &'static str {
    match purpose {
        TokenPurpose::EmailVerification => "email_verification",
        TokenPurpose::SetPassword => "set_password",
        TokenPurpose::PasswordReset => "password_reset",
    }
}

pub(crate) fn token_row(t: &OneTimeToken) -> one_time_token::Model {
    one_time_token::Model {
        id: t.id.as_uuid(),
        user_id: t.user.as_uuid(),
        purpose: purpose_text(t.purpose).to_owned(),
        token_hash: t.token_hash.as_str().to_owned(),
        created_at: t.created_at.unix_micros(),
        expires_at: t.expires_at.unix_micros(),
        used_at: t.used_at.map(|u| u.unix_micros()),
    }
}

pub(crate) fn token_from_row(row: one_time_token::Model) -> Result<OneTimeToken, RepoError> {
    const E: &str = "token";
    Ok(OneTimeToken {
        id: TokenId::from_uuid(row.id),
        user: UserId::from_uuid(row.user_id),
        purpose: [TokenPurpose::EmailVerification, TokenPurpose::SetPassword, TokenPurpose::PasswordReset]
            .into_iter()
            .find(|p| purpose_text(*p) == row.purpose)
            .ok_or_else(|| RepoError::corrupt(E, format!("unknown purpose {:?}", row.purpose)))?,
        token_hash: TokenHash::parse(&row.token_hash).map_err(corrupt(E))?,
        created_at: time(E, row.created_at)?,
        expires_at: time(E, row.expires_at)?,
        used_at: opt_time(E, row.used_at)?,
    })
}

pub(crate) fn api_key_row(k: &ApiKey) -> Result<api_key::Model, RepoError> {
    Ok(api_key::Model {
        id: k.id.as_uuid(),
        root_id: k.root.as_uuid(),
        account_id: k.account.as_uuid(),
        name: k.name.as_str().to_owned(),
        permissions: permissions_to_json("api key", &k.permissions)?,
        token_hash: k.token_hash.as_str().to_owned(),
        created_by: actor_to_json(&k.created_by)?,
        created_at: k.created_at.unix_micros(),
        expires_at: k.expires_at.map(|t| t.unix_micros()),
        revoked_at: k.revoked_at.map(|t| t.unix_micros()),
    })
}

pub(crate) fn api_key_from_row(row: api_key::Model) -> Result<ApiKey, RepoError> {
    const E: &str = "api key";
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        name: Name::parse(&row.name).map_err(corrupt(E))?,
        permissions: permissions_from_json(E, &row.permissions)?,
        token_hash: TokenHash::parse(&row.token_hash).map_err(corrupt(E))?,
        created_by: actor_from_json(E, &row.created_by)?,
        created_at: time(E, row.created_at)?,
        expires_at: opt_time(E, row.expires_at)?,
        revoked_at: opt_time(E, row.revoked_at)?,
    })
}

pub(crate) fn audit_row(e: &AuditEvent) -> Result<audit_event::Model, RepoError> {
    Ok(audit_event::Model {
        id: e.id.as_uuid(),
        root_id: e.root.as_uuid(),
        account_id: e.account.as_uuid(),
        actor: actor_to_json(&e.actor)?,
        actor_user: actor_user(&e.actor),
        action: e.action.clone(),
        target_kind: e.target_kind.clone(),
        target_id: e.target_id.clone(),
        at: e.at.unix_micros(),
        source: e.source.clone(),
        diff: to_json("audit event", &e.diff)?,
    })
}

pub(crate) fn audit_from_row(row: audit_event::Model) -> Result<AuditEvent, RepoError> {
    const E: &str = "audit event";
    Ok(AuditEvent {
        id: AuditEventId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        actor: actor_from_json(E, &row.actor)?,
        action: row.action,
        target_kind: row.target_kind,
        target_id: row.target_id,
        at: time(E, row.at)?,
        source: row.source,
        diff: from_json(E, &row.diff)?,
    })
}

/// The stored text of a message: its [`MailDocument`].
pub(crate) fn message_to_json(message: &MailMessage) -> Result<String, RepoError> {
    to_json("mail", &MailDocument::from(message))
}

fn message_from_json(raw: &str) -> Result<MailMessage, RepoError> {
    MailMessage::try_from(from_json::<MailDocument>("mail", raw)?).map_err(corrupt("mail"))
}

/// A stored message as an erasure leaves it (R8): no token, and `username` for any username.
pub(crate) fn erased_message(raw: &str, username: &str) -> Result<String, RepoError> {
    let mut message = message_from_json(raw)?.without_token();
    if let MailMessage::Welcome { username: name, .. } = &mut message {
        username.clone_into(name);
    }
    message_to_json(&message)
}

pub(crate) fn mail_row(m: &OutboxMail) -> Result<outbox::Model, RepoError> {
    Ok(outbox::Model {
        id: m.id.as_uuid(),
        root_id: m.root.as_uuid(),
        account_id: m.account.as_uuid(),
        recipient: m.to.as_str().to_owned(),
        locale: m.locale.as_ref().map(|l| l.as_str().to_owned()),
        message: message_to_json(&m.message)?,
        created_at: m.created_at.unix_micros(),
        state: "pending".to_owned(),
        attempts: 0,
        next_attempt_at: m.created_at.unix_micros(),
        last_error: None,
        sent_at: None,
    })
}

pub(crate) fn queued_from_row(row: outbox::Model) -> Result<QueuedMail, RepoError> {
    const E: &str = "mail";
    let state = match row.state.as_str() {
        "pending" => DeliveryState::Pending,
        "sent" => DeliveryState::Sent,
        "failed" => DeliveryState::Failed,
        other => return Err(RepoError::corrupt(E, format!("unknown delivery state {other:?}"))),
    };
    let delivery = Delivery {
        state,
        attempts: u32::try_from(row.attempts).map_err(|e| RepoError::corrupt(E, e))?,
        next_attempt_at: match state {
            DeliveryState::Pending => Some(time(E, row.next_attempt_at)?),
            DeliveryState::Sent | DeliveryState::Failed => None,
        },
        last_error: row.last_error.clone(),
        sent_at: row.sent_at.map(|at| time(E, at)).transpose()?,
    };
    Ok(QueuedMail { mail: mail_from_row(row)?, delivery })
}

pub(crate) fn mail_from_row(row: outbox::Model) -> Result<OutboxMail, RepoError> {
    const E: &str = "mail";
    Ok(OutboxMail {
        id: MailId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        to: Email::parse(&row.recipient).map_err(corrupt(E))?,
        locale: optional(E, row.locale.as_deref(), Locale::parse)?,
        message: message_from_json(&row.message)?,
        created_at: time(E, row.created_at)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_paths_round_trip_and_nest() {
        let root = AccountPath::root_of(AccountId::from_uuid(Uuid::from_u128(1)));
        let child = root.child(AccountId::from_uuid(Uuid::from_u128(2)));
        let text = path_text(&child);
        assert!(text.starts_with(&path_text(&root)), "a subtree is a prefix range: {text}");
        assert_eq!(path_from_text(child.id(), &text).unwrap(), child);
    }
}
