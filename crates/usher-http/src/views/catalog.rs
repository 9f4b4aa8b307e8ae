//! User types, seats, roles and permissions on the wire.

use super::*;

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
    /// Version; its `ETag` is `"v<version>"`, for `If-Match`.
    pub version: u64,
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
            version: user_type.version,
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
