//! What a user may do, for the apps that rely on usher: its effective permissions (R4: roles ∩
//! the type's ceiling) and the accounts it acts in (R19: its home subtree, narrowed by its
//! scope), computed here so that no app reimplements either rule.

use super::*;
use crate::authz::ActorKind;
use crate::model::AccountPath;
use crate::service::permissions_of;

/// What a user may do, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccess {
    /// The operator holds every permission in every tenant.
    pub operator: bool,
    /// Effective permissions: roles ∩ the type's ceiling (R4), with the `read` that each
    /// `write` implies spelled out; every permission for the operator.
    pub permissions: BTreeSet<Permission>,
    /// The accounts whose subtrees the user acts in: its scope, or its home account when it
    /// has none (R19). Empty for the operator, who reaches every tenant.
    pub accounts: BTreeSet<AccountId>,
    /// The sales representative that applies to the user: its own, else the one of its
    /// account or of the nearest account above that names one.
    pub sales_representative: Option<UserId>,
}

/// What a user may do in one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessInAccount {
    /// The account asked about.
    pub account: AccountId,
    /// Whether the account lies in the user's reach (R19).
    pub within_reach: bool,
    /// What the user may do there: its effective permissions within reach, nothing outside.
    pub permissions: BTreeSet<Permission>,
}

/// The caller's own access (`GET /v1/me`), beside its user: what authentication computed for
/// this very request, so it costs no read beyond the user's.
pub async fn my_access(ports: &Ports, actor: &Actor) -> Result<(User, UserAccess), UserError> {
    unrestricted(actor).map_err(UserError::Denied)?;
    let id = actor.own_user().ok_or(UserError::NotAUser)?;
    let mut tx = ports.begin_read().await?;
    let user = tx.user(id).await?.ok_or(UserError::NotFound { entity: "user" })?;
    let mut access = access_of_actor(&actor.kind).ok_or(UserError::NotAUser)?;
    access.sales_representative = effective_sales_representative(tx.as_mut(), &user).await?;
    Ok((user, access))
}

/// The sales representative that applies to `user`: its own, else the one of its account or
/// of the nearest account above that names one (Oro: "by default, the customer sales
/// representative applies to the customer user"). Reads nothing when the user names one.
pub(crate) async fn effective_sales_representative(
    tx: &mut dyn Tx,
    user: &User,
) -> Result<Option<UserId>, RepoError> {
    if user.sales_representative.is_some() {
        return Ok(user.sales_representative);
    }
    let Some(account) = tx.account(user.account).await? else {
        return Ok(None);
    };
    if account.sales_representative.is_some() {
        return Ok(account.sales_representative);
    }
    for id in account.path.ancestors().iter().rev() {
        if let Some(above) = tx.account(*id).await?
            && above.sales_representative.is_some()
        {
            return Ok(above.sales_representative);
        }
    }
    Ok(None)
}

/// What authentication computed for a user's session, as a [`UserAccess`]; `None` for actors
/// that are not a user or a key.
pub(crate) fn access_of_actor(kind: &ActorKind) -> Option<UserAccess> {
    match kind {
        ActorKind::Operator { .. } => Some(operator_access()),
        ActorKind::Principal(principal) => Some(UserAccess {
            operator: false,
            permissions: spelled_out(principal.permissions.iter().copied()),
            accounts: accounts_of(&principal.scope, principal.home.id()),
            sales_representative: None,
        }),
        ActorKind::Anonymous | ActorKind::System => None,
    }
}

/// A user with its access (`GET /v1/users/{id}`), for a caller that may read it (R19).
pub async fn get_user_access(
    ports: &Ports,
    actor: &Actor,
    id: UserId,
) -> Result<(User, UserAccess), UserError> {
    let mut tx = ports.begin_read().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Read).await?;
    let access = access_of(tx.as_mut(), &user).await?;
    Ok((user, access))
}

/// What user `id` may do in `account` (`GET /v1/users/{id}/permissions?account=`). The caller
/// must be able to read the user and the account; another tenant's account reads as not found.
pub async fn access_in_account(
    ports: &Ports,
    actor: &Actor,
    id: UserId,
    account: AccountId,
) -> Result<AccessInAccount, UserError> {
    let mut tx = ports.begin_read().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Read).await?;
    let target = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Users, Access::Read), &target, "account")?;
    let access = access_of(tx.as_mut(), &user).await?;
    let within_reach = user.is_operator || reaches(&access, &user, &target.path);
    let permissions = if within_reach { access.permissions } else { BTreeSet::new() };
    Ok(AccessInAccount { account, within_reach, permissions })
}

/// Whether a (non-operator) user with `access` reaches `target`: the same tenant, and within
/// one of the subtrees it acts in.
fn reaches(access: &UserAccess, user: &User, target: &AccountPath) -> bool {
    target.root() == user.root && access.accounts.iter().any(|account| target.is_within(*account))
}

async fn access_of(tx: &mut dyn Tx, user: &User) -> Result<UserAccess, RepoError> {
    let sales_representative = effective_sales_representative(tx, user).await?;
    let Some(permissions) = permissions_of(tx, user).await? else {
        return Ok(UserAccess { sales_representative, ..operator_access() });
    };
    Ok(UserAccess {
        operator: false,
        permissions: spelled_out(permissions),
        accounts: accounts_of(&user.scope, user.account),
        sales_representative,
    })
}

/// The operator: every permission, every tenant.
fn operator_access() -> UserAccess {
    let everything = Module::ALL.iter().map(|module| Permission::new(*module, Access::Write));
    UserAccess {
        operator: true,
        permissions: spelled_out(everything),
        accounts: BTreeSet::new(),
        sales_representative: None,
    }
}

/// The subtrees a user acts in: its scope, or its whole home subtree without one (R19).
fn accounts_of(scope: &BTreeSet<AccountId>, home: AccountId) -> BTreeSet<AccountId> {
    if scope.is_empty() { BTreeSet::from([home]) } else { scope.clone() }
}

/// `held` with the `read` each `write` implies (`holds`), so an app compares names only.
fn spelled_out(held: impl IntoIterator<Item = Permission>) -> BTreeSet<Permission> {
    held.into_iter()
        .flat_map(|permission| match permission.access() {
            Access::Write => vec![permission, Permission::new(permission.module(), Access::Read)],
            Access::Read => vec![permission],
        })
        .collect()
}
