//! Rows to domain values and back: user types and roles.

use super::*;

pub(crate) fn user_type_row(t: &UserType) -> Result<user_type::Model, RepoError> {
    Ok(user_type::Model {
        id: t.id.as_uuid(),
        root_id: t.root.as_uuid(),
        key: t.key.as_str().to_owned(),
        name: t.name.as_str().to_owned(),
        consumes_seat: t.consumes_seat,
        ceiling: permissions_to_json("user type", &t.ceiling)?,
        created_at: t.created_at.unix_micros(),
        version: version(t.version),
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
        version: u64::try_from(row.version).map_err(|e| RepoError::corrupt(E, e))?,
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
        external_id: r.external_id.as_ref().map(|id| id.as_str().to_owned()),
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
        external_id: row.external_id.as_deref().map(ExternalId::parse).transpose().map_err(corrupt(E))?,
        created_at: time(E, row.created_at)?,
        version: u64::try_from(row.version).map_err(|e| RepoError::corrupt(E, e))?,
    })
}
