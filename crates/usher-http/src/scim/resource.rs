//! The SCIM `User` resource: a user shown as one (core, enterprise and usher extensions), and
//! a resource read back into what the domain provisions. Reading is lenient where Entra ID and
//! Okta are (`"True"` for a boolean, attribute names in any case), strict where it matters
//! (`userName` and an email are required).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use usher_domain::authz::Actor;
use usher_domain::model::{User, UserState};
use usher_domain::service::provisioning::{self, Directory, ENTERPRISE_KEYS, Provisioned};
use usher_domain::time::Timestamp;

use super::{ENTERPRISE, ScimError, USER_SCHEMA, USHER};
use crate::state::AppState;

/// The enterprise extension's attributes, by the free attribute each is kept in.
const ENTERPRISE_NAMES: [(&str, &str); 5] = [
    ("employeeNumber", "employee_number"),
    ("costCenter", "cost_center"),
    ("organization", "organization"),
    ("division", "division"),
    ("department", "department"),
];

/// `W/"<version>"`.
pub(crate) fn etag(user: &User) -> String {
    format!("W/\"{}\"", user.version)
}

/// The version an ETag names.
pub(crate) fn version_of(tag: &str) -> Option<u64> {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.trim_matches('"').parse().ok()
}

/// The caller's directory (user types, roles, accounts), read once per request to show users
/// by.
pub(crate) struct Catalog(pub(crate) Directory);

impl Catalog {
    pub(crate) async fn read(state: &AppState, actor: &Actor) -> Result<Catalog, ScimError> {
        Ok(Catalog(provisioning::catalog(&state.ports, actor).await?))
    }

    /// The keys of the user types a client may give (every one but the members').
    pub(crate) fn type_keys(&self) -> Vec<String> {
        let member = self.0.member_type;
        self.0.types.iter().filter(|t| Some(t.id) != member).map(|t| t.key.as_str().to_owned()).collect()
    }

    /// The slugs of the accounts a client may make users in.
    pub(crate) fn account_slugs(&self) -> Vec<String> {
        self.0.accounts.iter().map(|a| a.slug.as_str().to_owned()).collect()
    }

    /// `user` as a SCIM resource.
    pub(crate) fn user(&self, user: &User, base: &str) -> Value {
        let mut name = Map::new();
        if let Some(first) = &user.profile.first_name {
            name.insert("givenName".into(), json!(first.as_str()));
        }
        if let Some(last) = &user.profile.last_name {
            name.insert("familyName".into(), json!(last.as_str()));
        }
        let mut resource = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE, USHER],
            "id": user.id.to_string(),
            "userName": user.username.as_str(),
            "displayName": user.display_name(),
            "emails": [{"value": user.email.as_str()}],
            "active": user.state == UserState::Active,
            "groups": self.groups(&user.roles, base),
            "meta": {
                "resourceType": "User",
                "created": rfc3339(user.created_at),
                "lastModified": rfc3339(user.updated_at),
                "location": format!("{base}/Users/{}", user.id),
                "version": etag(user),
            },
        });
        let Value::Object(map) = &mut resource else { return resource };
        if !name.is_empty() {
            map.insert("name".into(), Value::Object(name));
        }
        if let Some(external_id) = &user.external_id {
            map.insert("externalId".into(), json!(external_id.as_str()));
        }
        if let Some(phone) = &user.profile.phone {
            map.insert("phoneNumbers".into(), json!([{"value": phone.as_str()}]));
        }
        if let Some(locale) = &user.profile.locale {
            map.insert("locale".into(), json!(locale.as_str()));
        }
        let mut enterprise = Map::new();
        for (scim, key) in ENTERPRISE_NAMES {
            if let Some((_, value)) = user.profile.attributes.iter().find(|(k, _)| k.as_str() == key) {
                enterprise.insert(scim.into(), json!(value));
            }
        }
        if !enterprise.is_empty() {
            map.insert(ENTERPRISE.into(), Value::Object(enterprise));
        }
        let user_type = self.0.types.iter().find(|t| t.id == user.user_type);
        let mut usher = Map::new();
        usher.insert("userType".into(), json!(user_type.map(|t| t.key.as_str())));
        if let Some(account) = self.0.accounts.iter().find(|a| a.id == user.account) {
            usher.insert("account".into(), json!(account.slug.as_str()));
        }
        map.insert(USHER.into(), Value::Object(usher));
        resource
    }

    fn groups(&self, roles: &BTreeSet<usher_domain::id::RoleId>, base: &str) -> Vec<Value> {
        self.0
            .roles
            .iter()
            .filter(|role| roles.contains(&role.id))
            .map(|role| json!({"value": role.id.to_string(), "display": role.name.as_str(), "$ref": format!("{base}/Groups/{}", role.id)}))
            .collect()
    }
}

fn rfc3339(at: Timestamp) -> String {
    at.to_string()
}

/// The resource as a PATCH sees it: usher's one email and one phone number are the `work`
/// and `primary` ones, so `emails[type eq "work"].value` names them (Entra ID's paths).
pub(crate) fn for_patch(mut resource: Value) -> Value {
    for list in ["emails", "phoneNumbers"] {
        if let Some(Value::Array(items)) = resource.get_mut(list) {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                item.entry("type").or_insert_with(|| json!("work"));
                item.entry("primary").or_insert_with(|| json!(true));
            }
        }
    }
    resource
}

/// A member of `object` by name, ignoring case (SCIM attribute names are case-insensitive).
fn member<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
        .filter(|v| !v.is_null())
}

/// A string attribute; anything but a string or null is `invalidValue`.
fn text(object: &Map<String, Value>, name: &str) -> Result<Option<String>, ScimError> {
    match member(object, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(other) => Err(ScimError::invalid_value(format!("{name} must be a string, not {other}"))),
    }
}

/// A boolean attribute; Entra ID sends `"True"` and `"False"`.
pub(crate) fn flag(value: &Value, name: &str) -> Result<bool, ScimError> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ScimError::invalid_value(format!("{name} must be a boolean, not {other}"))),
    }
}

/// The value of a multi-valued attribute to keep: the primary one, else the first.
fn primary_value(object: &Map<String, Value>, name: &str) -> Result<Option<String>, ScimError> {
    let Some(values) = member(object, name) else { return Ok(None) };
    let Value::Array(values) = values else {
        return Err(ScimError::invalid_value(format!("{name} must be a list")));
    };
    let objects: Vec<&Map<String, Value>> = values.iter().filter_map(Value::as_object).collect();
    let is_primary =
        |o: &&Map<String, Value>| member(o, "primary").is_some_and(|p| flag(p, "primary").unwrap_or(false));
    let chosen = objects.iter().find(|o| is_primary(o)).or_else(|| objects.first());
    match chosen {
        Some(object) => text(object, "value"),
        None => Ok(None),
    }
}

/// What a resource asks the domain to provision.
pub(crate) fn provisioned(document: &Value) -> Result<Provisioned, ScimError> {
    let Value::Object(object) = document else {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    };
    let username = text(object, "userName")?
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    // An email is required by usher; a username that is an address stands in for a missing one.
    let email = primary_value(object, "emails")?
        .or_else(|| username.contains('@').then(|| username.clone()))
        .ok_or_else(|| ScimError::invalid_value("an email (emails[].value) is required"))?;
    let name = match member(object, "name") {
        Some(Value::Object(name)) => name.clone(),
        Some(_) => return Err(ScimError::invalid_value("name must be an object")),
        None => Map::new(),
    };
    let active = match member(object, "active") {
        Some(value) => flag(value, "active")?,
        None => true,
    };
    let mut enterprise = BTreeMap::new();
    if let Some(Value::Object(extension)) = member(object, ENTERPRISE) {
        for (scim, key) in ENTERPRISE_NAMES {
            if let Some(value) = text(extension, scim)? {
                enterprise.insert(key.to_owned(), value);
            }
        }
    }
    debug_assert!(ENTERPRISE_NAMES.iter().all(|(_, key)| ENTERPRISE_KEYS.contains(key)));
    let (user_type, account) = match member(object, USHER) {
        Some(Value::Object(extension)) => (text(extension, "userType")?, text(extension, "account")?),
        _ => (None, None),
    };
    Ok(Provisioned {
        username,
        external_id: text(object, "externalId")?,
        email,
        first_name: text(&name, "givenName")?,
        last_name: text(&name, "familyName")?,
        phone: primary_value(object, "phoneNumbers")?,
        locale: text(object, "locale")?,
        active,
        user_type,
        account,
        enterprise,
    })
}

/// `attributes` and `excludedAttributes` (RFC 7644 §3.9): which attributes a response shows.
/// `id`, `schemas` and `meta` always show.
pub(crate) struct Projection {
    only: Option<Vec<String>>,
    without: Vec<String>,
}

impl Projection {
    pub(crate) fn new(attributes: Option<&str>, excluded: Option<&str>) -> Projection {
        let names = |raw: &str| -> Vec<String> {
            raw.split(',').map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()).collect()
        };
        Projection { only: attributes.map(names), without: excluded.map(names).unwrap_or_default() }
    }

    pub(crate) fn apply(&self, mut resource: Value) -> Value {
        let Value::Object(map) = &mut resource else { return resource };
        let always = ["id", "schemas", "meta"];
        let short = |name: &str| -> String {
            let lower = name.to_ascii_lowercase();
            let core = format!("{}:", USER_SCHEMA.to_ascii_lowercase());
            lower.strip_prefix(&core).map(str::to_owned).unwrap_or(lower)
        };
        let top = |name: &str| -> String { short(name).split('.').next().unwrap_or_default().to_owned() };
        map.retain(|key, _| {
            let key = key.to_ascii_lowercase();
            if always.contains(&key.as_str()) {
                return true;
            }
            let listed = self
                .only
                .as_ref()
                .is_none_or(|only| only.iter().any(|n| top(n) == key || n.starts_with(&key)));
            listed && !self.without.iter().any(|n| short(n) == key)
        });
        resource
    }
}
