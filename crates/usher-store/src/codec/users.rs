//! Rows to domain values and back: users (profile documents, origins, states) and devices.

use super::*;

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

pub(crate) fn name_text(name: &Option<Name>) -> Option<String> {
    name.as_ref().map(|n| n.as_str().to_owned())
}

pub(crate) fn profile_to_json(profile: &Profile) -> Result<String, RepoError> {
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

pub(crate) fn profile_from_json(raw: &str) -> Result<Profile, RepoError> {
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

pub(crate) fn origin_from_text(raw: &str) -> Result<Origin, RepoError> {
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
        contact_kind: u.contact_kind.map(|kind| contact_kind_text(kind).to_owned()),
        external_id: u.external_id.as_ref().map(|id| id.as_str().to_owned()),
        display_key: u.display_name().to_lowercase(),
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
        contact_kind: row.contact_kind.as_deref().map(|kind| contact_kind_of(E, kind)).transpose()?,
        external_id: row.external_id.as_deref().map(ExternalId::parse).transpose().map_err(corrupt(E))?,
        created_at: time(E, row.created_at)?,
        updated_at: time(E, row.updated_at)?,
        last_login_at: opt_time(E, row.last_login_at)?,
        erased_at: opt_time(E, row.erased_at)?,
        version: u64::try_from(row.version).map_err(|e| RepoError::corrupt(E, e))?,
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

pub(crate) fn identity_row(i: &ExternalIdentity) -> external_identity::Model {
    external_identity::Model {
        root_id: i.root.as_uuid(),
        issuer: i.issuer.clone(),
        subject: i.subject.clone(),
        user_id: i.user.as_uuid(),
        linked_at: i.linked_at.unix_micros(),
    }
}

pub(crate) fn identity_from_row(row: external_identity::Model) -> Result<ExternalIdentity, RepoError> {
    Ok(ExternalIdentity {
        root: AccountId::from_uuid(row.root_id),
        issuer: row.issuer,
        subject: row.subject,
        user: UserId::from_uuid(row.user_id),
        linked_at: time("external identity", row.linked_at)?,
    })
}
