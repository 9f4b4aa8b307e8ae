//! Roles: named permission sets of a root account (R4, R22).

use std::collections::BTreeSet;

use serde_json::json;

use crate::authz::{Actor, Denied, check_permissions_held};
use crate::error::{Invalid, RepoError, field};
use crate::id::{AccountId, RoleId};
use crate::model::Role;
use crate::ports::Tx;
use crate::service::{
    AuditEntry, Gate, Ports, common_errors, guard, guard_root_level, load_account, objects, record,
};
use crate::value::{Access, Module, Name, Permission};

/// Failure of a role use case.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// Missing, or in another tenant.
    #[error("{entity} not found")]
    NotFound {
        /// Entity.
        entity: &'static str,
    },
    /// Not allowed.
    #[error(transparent)]
    Denied(Denied),
    /// A field failed to parse.
    #[error(transparent)]
    Invalid(Invalid),
    /// The name is taken.
    #[error("role {name} already exists")]
    NameTaken {
        /// The name.
        name: String,
    },
    /// R4: the actor would grant permissions it lacks.
    #[error("you cannot grant {}: you do not hold them", crate::value::permission_list(.permissions))]
    Escalation {
        /// Missing permissions.
        permissions: Vec<Permission>,
    },
    /// R22: built-in roles are fixed.
    #[error("built-in role {name} cannot be changed or deleted")]
    Builtin {
        /// The role.
        name: String,
    },
    /// R22: the role is still held; name a replacement.
    #[error("role {name} is held by {assignments} users or invitations; name a replacement")]
    StillAssigned {
        /// The role.
        name: String,
        /// How many hold it.
        assignments: u64,
    },
    /// The version given does not match (optimistic locking).
    #[error("role was changed since version {expected}; it is at version {actual}")]
    VersionMismatch {
        /// Version given.
        expected: u64,
        /// Current version.
        actual: u64,
    },
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(RoleError);

/// Every permission roles, user-type ceilings and API keys may hold: for any authenticated
/// actor not held to a restriction (R16).
pub fn permission_catalog(actor: &Actor) -> Result<BTreeSet<Permission>, RoleError> {
    if matches!(actor.kind, crate::authz::ActorKind::Anonymous) {
        return Err(RoleError::Denied(Denied::Unauthenticated));
    }
    crate::authz::unrestricted(actor).map_err(RoleError::Denied)?;
    Ok(Permission::catalog())
}

/// The roles of the root of `account`.
pub async fn list_roles(ports: &Ports, actor: &Actor, account: AccountId) -> Result<Vec<Role>, RoleError> {
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Roles, Access::Read), &account, "account")?;
    Ok(tx.roles(account.root()).await?)
}

pub(crate) async fn load_role(
    tx: &mut dyn crate::ports::Tx,
    actor: &Actor,
    id: RoleId,
    access: Access,
) -> Result<Role, RoleError> {
    let role = tx.role(id).await?.ok_or(Gate::NotFound { entity: "role" })?;
    guard_root_level(actor, Permission::new(Module::Roles, access), role.root, "role")?;
    if access == Access::Write {
        // R24: a role that grants more than the actor holds is changed by someone who holds it.
        check_permissions_held(actor, &role.permissions)
            .map_err(|permissions| RoleError::Denied(Denied::TargetHoldsMore { permissions }))?;
    }
    Ok(role)
}

/// A role.
pub async fn get_role(ports: &Ports, actor: &Actor, id: RoleId) -> Result<Role, RoleError> {
    let mut tx = ports.begin_read().await?;
    load_role(tx.as_mut(), actor, id, Access::Read).await
}

/// Adds a role (R4: only with permissions the actor holds).
pub async fn create_role(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    name: &str,
    permissions: BTreeSet<Permission>,
) -> Result<Role, RoleError> {
    let mut tx = ports.begin().await?;
    let account = load_account(tx.as_mut(), account).await?;
    let role = create_role_in(ports, tx.as_mut(), actor, account.root(), name, permissions).await?;
    tx.commit().await?;
    Ok(role)
}

/// Adds a role to the tenant `root` within `tx`.
pub(crate) async fn create_role_in(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    root: AccountId,
    name: &str,
    permissions: BTreeSet<Permission>,
) -> Result<Role, RoleError> {
    let name = field("name", Name::parse(name))?;
    guard_root_level(actor, Permission::new(Module::Roles, Access::Write), root, "account")?;
    check_permissions_held(actor, &permissions)
        .map_err(|permissions| RoleError::Escalation { permissions })?;
    let role = Role {
        id: ports.new_id(RoleId::from_uuid),
        root,
        name,
        builtin: None,
        permissions,
        external_id: None,
        created_at: ports.now(),
        version: 0,
    };
    match tx.insert_role(&role).await {
        Err(RepoError::Duplicate { .. }) => return Err(RoleError::NameTaken { name: role.name.to_string() }),
        other => other?,
    }
    let entry = AuditEntry::root_level(
        actor,
        role.root,
        "role.created",
        "role",
        role.id.to_string(),
        json!({"name": role.name, "permissions": role.permissions}),
    )
    .about(objects::role(&role));
    record(ports, tx, entry).await?;
    Ok(role)
}

/// Changes to a role.
#[derive(Debug, Clone, Default)]
pub struct RolePatch {
    /// New name.
    pub name: Option<String>,
    /// New permissions.
    pub permissions: Option<BTreeSet<Permission>>,
    /// The provisioning client's id for the role (`Some(None)` clears it).
    pub external_id: Option<Option<String>>,
    /// The version the caller saw (If-Match).
    pub if_version: Option<u64>,
}

/// Renames a role or changes its permissions (R22: never a built-in one).
pub async fn update_role(
    ports: &Ports,
    actor: &Actor,
    id: RoleId,
    patch: RolePatch,
) -> Result<Role, RoleError> {
    let mut tx = ports.begin().await?;
    let role = load_role(tx.as_mut(), actor, id, Access::Write).await?;
    let role = update_role_in(ports, tx.as_mut(), actor, role, patch).await?;
    tx.commit().await?;
    Ok(role)
}

/// Changes a role loaded for writing within `tx`.
pub(crate) async fn update_role_in(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    mut role: Role,
    patch: RolePatch,
) -> Result<Role, RoleError> {
    let id = role.id;
    let name = crate::service::optional("name", patch.name.as_deref(), Name::parse)?;
    if let Some(permissions) = &patch.permissions {
        check_permissions_held(actor, permissions)
            .map_err(|permissions| RoleError::Escalation { permissions })?;
    }
    if role.builtin.is_some() {
        return Err(RoleError::Builtin { name: role.name.to_string() });
    }
    if let Some(expected) = patch.if_version.filter(|v| *v != role.version) {
        return Err(RoleError::VersionMismatch { expected, actual: role.version });
    }
    let before = json!({"name": role.name, "permissions": role.permissions, "external_id": role.external_id});
    if let Some(name) = name {
        role.name = name;
    }
    if let Some(permissions) = patch.permissions {
        role.permissions = permissions;
    }
    if let Some(external_id) = &patch.external_id {
        role.external_id = crate::service::parse_external_id(external_id.as_deref())?;
    }
    match tx.update_role(&role).await {
        Err(RepoError::Duplicate { .. }) => return Err(RoleError::NameTaken { name: role.name.to_string() }),
        other => other?,
    }
    role.version += 1;
    let after = json!({"name": role.name, "permissions": role.permissions, "external_id": role.external_id});
    let entry = AuditEntry::root_level(
        actor,
        role.root,
        "role.updated",
        "role",
        id.to_string(),
        crate::service::diff(Some(&before), Some(&after)),
    )
    .about(objects::role(&role));
    record(ports, tx, entry).await?;
    Ok(role)
}

/// Deletes a role; one still held needs a `replacement`, which takes its place (R22).
pub async fn delete_role(
    ports: &Ports,
    actor: &Actor,
    id: RoleId,
    replacement: Option<RoleId>,
) -> Result<(), RoleError> {
    let mut tx = ports.begin().await?;
    let role = load_role(tx.as_mut(), actor, id, Access::Write).await?;
    if role.builtin.is_some() {
        return Err(RoleError::Builtin { name: role.name.to_string() });
    }
    let assignments = tx.role_assignments(id).await?;
    let replacement = match replacement {
        Some(other) if other != id => {
            let other = tx.role(other).await?.filter(|r| r.root == role.root);
            Some(other.ok_or(RoleError::NotFound { entity: "replacement role" })?)
        }
        _ => None,
    };
    match (assignments, &replacement) {
        (0, _) => {}
        (_, Some(other)) => {
            check_permissions_held(actor, &other.permissions)
                .map_err(|permissions| RoleError::Escalation { permissions })?;
            reassign_role(tx.as_mut(), role.root, id, other.id).await?;
        }
        (n, None) => return Err(RoleError::StillAssigned { name: role.name.to_string(), assignments: n }),
    }
    tx.delete_role(id).await?;
    let entry = AuditEntry::root_level(
        actor,
        role.root,
        "role.deleted",
        "role",
        id.to_string(),
        json!({"name": role.name, "replacement": replacement.map(|r| r.id), "reassigned": assignments}),
    )
    .about(objects::role(&role));
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok(())
}

/// R22: every holder of `from` (users, invitations, and the default roles of the settings)
/// holds `to` instead, in the caller's transaction.
async fn reassign_role(tx: &mut dyn Tx, root: AccountId, from: RoleId, to: RoleId) -> Result<(), RepoError> {
    tx.replace_user_role(root, from, to).await?;
    tx.replace_invitation_role(root, from, to).await?;
    let mut settings =
        tx.settings_for_update(root).await?.ok_or(RepoError::NotFound { entity: "settings" })?;
    if settings.default_roles.remove(&from) {
        settings.default_roles.insert(to);
        tx.put_settings(root, &settings).await?;
    }
    Ok(())
}
