//! Loading what a use case acts on, with the authorization decision: another tenant's object
//! reads as not found, a refusal names why (R19, R23, R24).

use super::*;

/// Authorizes `permission` on `account`; another tenant's account reads as not found.
pub(crate) fn guard(
    actor: &Actor,
    permission: Permission,
    account: &Account,
    entity: &'static str,
) -> Result<(), Gate> {
    authorize(actor, permission, &account.path).map_err(|denied| gate(denied, entity))
}

/// R23: authorizes `permission` on a root-level object of the tenant `root`; another
/// tenant's object reads as not found.
pub(crate) fn guard_root_level(
    actor: &Actor,
    permission: Permission,
    root: AccountId,
    entity: &'static str,
) -> Result<(), Gate> {
    authorize_root_level(actor, permission, root).map_err(|denied| gate(denied, entity))
}

fn gate(denied: Denied, entity: &'static str) -> Gate {
    match denied {
        Denied::OtherTenant => Gate::NotFound { entity },
        other => Gate::Denied(other),
    }
}

/// Loads an account: `Ok(None)` when it does not exist; a storage failure stays one.
pub(crate) async fn load_account(tx: &mut dyn Tx, id: AccountId) -> Result<Account, Lookup> {
    match tx.account(id).await? {
        Some(account) => Ok(account),
        None => Err(Lookup::Gate(Gate::NotFound { entity: "account" })),
    }
}

/// A lookup that failed: missing or refused, or the store failed (never shown as "not found").
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Missing or refused.
    Gate(Gate),
    /// The store failed.
    Repo(RepoError),
}

impl From<RepoError> for Lookup {
    fn from(err: RepoError) -> Self {
        Lookup::Repo(err)
    }
}

impl From<Gate> for Lookup {
    fn from(gate: Gate) -> Self {
        Lookup::Gate(gate)
    }
}

/// Loads a root account's settings (`Corrupt` if a root has none).
pub(crate) async fn load_settings(tx: &mut dyn Tx, root: AccountId) -> Result<Settings, RepoError> {
    tx.settings(root).await?.ok_or_else(|| RepoError::corrupt("settings", "root account has no settings"))
}

/// Loads a user the actor may act on with `access`: within the actor's reach (R19) and, to
/// change anything, holding nothing the actor lacks (R24).
pub(crate) async fn load_user(
    tx: &mut dyn Tx,
    actor: &Actor,
    id: UserId,
    access: Access,
) -> Result<(User, Account), UserError> {
    let user = tx.user(id).await?.ok_or(Gate::NotFound { entity: "user" })?;
    let account = load_account(tx, user.account).await?;
    guard(actor, Permission::new(Module::Users, access), &account, "user")?;
    if access == Access::Write {
        let held = permissions_of(tx, &user).await?;
        check_outranks(actor, held.as_ref()).map_err(UserError::Denied)?;
    }
    Ok((user, account))
}

/// The effective permissions of a user (roles ∩ type ceiling, R4); `None` for the operator,
/// who holds everything.
pub(crate) async fn permissions_of(
    tx: &mut dyn Tx,
    user: &User,
) -> Result<Option<BTreeSet<Permission>>, RepoError> {
    if user.is_operator {
        return Ok(None);
    }
    let Some(user_type) = tx.user_type(user.user_type).await? else {
        return Ok(Some(BTreeSet::new()));
    };
    let mut roles = Vec::with_capacity(user.roles.len());
    for id in &user.roles {
        if let Some(role) = tx.role(*id).await? {
            roles.push(role);
        }
    }
    Ok(Some(effective_permissions(&roles, &user_type)))
}

/// The subtrees a list at `account` shows: the account's own. `guard` has already checked
/// that the account lies within the actor's home subtree and scope, so its subtree does too.
pub(crate) fn visible_subtrees(_actor: &Actor, account: &Account) -> BTreeSet<AccountId> {
    BTreeSet::from([account.id])
}
