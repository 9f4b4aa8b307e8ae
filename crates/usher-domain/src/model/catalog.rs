//! A root's catalog: user types and the seats bought of them, roles (R1, R4, R22).

use super::*;

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
    /// Version, for `If-Match` (optimistic locking).
    pub version: u64,
}

/// Seat figures of one user type across a root account and all its sub-accounts: `used`
/// counts the users that [hold a seat](User::holds_seat), `reserved` the invitations that
/// [reserve one](Invitation::reserves_seat). A store counts exactly those.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// The id a provisioning client (SCIM's `externalId` of a group) knows the role by.
    pub external_id: Option<ExternalId>,
    /// Created at.
    pub created_at: Timestamp,
    /// Optimistic-locking version.
    pub version: u64,
}

/// A digest (16 hex digits) of a root's seat totals, one `(type, total)` per user type: it
/// names the subscription an `If-Match` expects. Use (`used`, `reserved`) is left out, so users
/// coming and going never make a subscription form stale.
pub fn seat_totals_fingerprint(totals: impl IntoIterator<Item = (UserTypeId, u32)>) -> String {
    use sha2::{Digest, Sha256};
    let mut totals: Vec<(UserTypeId, u32)> = totals.into_iter().collect();
    totals.sort();
    let mut hasher = Sha256::new();
    for (user_type, total) in totals {
        hasher.update(user_type.as_uuid().as_bytes());
        hasher.update(total.to_be_bytes());
    }
    hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}
