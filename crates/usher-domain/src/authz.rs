//! Authorization as a pure function of (actor, permission, target) (R4, R16, R19, R23, R24).
//!
//! The operator may do anything. Everyone else acts inside one root account only, inside the
//! subtree of their home account, inside their sub-account scope, and only with permissions
//! they hold. Reaching into another tenant reads as "not found" at the edges.
//!
//! Three rules sit on top of that reach:
//! - R23: root-level objects (user types, roles, seats, settings) are read by anyone of the
//!   tenant holding the permission, and changed only by those who reach the root itself. Seat
//!   totals are the operator's unless the operator lets the root account manage its own.
//! - R24: nobody acts on a user who holds more: the actor's permissions must include every
//!   permission of the target ([`check_outranks`]).
//! - R16: an actor who must change the password first is refused everything else
//!   ([`Restriction::PasswordChangeRequired`]).

use std::collections::BTreeSet;

use crate::id::{AccountId, SessionId, UserId};
use crate::model::{AccountPath, ActorRef, Role, UserType};
use crate::value::{Access, Module, Permission};

/// Who is calling a use case, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The caller.
    pub kind: ActorKind,
    /// Source address, for the audit log and throttling.
    pub source: Option<String>,
    /// What the actor is held to before anything else (R16).
    pub restriction: Option<Restriction>,
    /// The session the actor is calling with, if any.
    pub session: Option<SessionId>,
    /// Which app the call comes from, carried into public events so an app can drop its own
    /// echoes (R26): the caller's `X-Usher-Origin`, else the name of its API key.
    pub origin: Option<String>,
}

/// A restriction on an authenticated actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restriction {
    /// An administrator set the password: the user changes it (or logs out) before anything
    /// else (R16).
    PasswordChangeRequired,
}

/// The kinds of caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorKind {
    /// The installation's operator (the bootstrap admin).
    Operator {
        /// The operator's user id.
        user: UserId,
    },
    /// A logged-in user or an API key of an account.
    Principal(Principal),
    /// Someone following a link or using a public form.
    Anonymous,
    /// usher itself.
    System,
}

/// An authenticated caller of an account: a user (session) or an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// For the audit log.
    pub actor: ActorRef,
    /// The home account's place in its tree.
    pub home: AccountPath,
    /// Effective permissions (roles ∩ user type ceiling, or the key's set).
    pub permissions: BTreeSet<Permission>,
    /// Sub-accounts the caller may act in; empty means the whole home subtree.
    pub scope: BTreeSet<AccountId>,
    /// An API key the operator made in the operator's own account: it reaches every tenant,
    /// within its permissions, and may set seat totals (R23; for billing integrations).
    pub operator_key: bool,
}

impl Actor {
    /// An actor without a known source address.
    pub fn new(kind: ActorKind) -> Actor {
        Actor { kind, source: None, restriction: None, session: None, origin: None }
    }
    /// An actor calling from `source`.
    pub fn from_source(kind: ActorKind, source: Option<&str>) -> Actor {
        Actor { kind, source: source.map(str::to_owned), restriction: None, session: None, origin: None }
    }
    /// The user behind the actor, if it is a user (or the operator) acting for itself.
    pub fn own_user(&self) -> Option<UserId> {
        match self.reference() {
            ActorRef::User(id) | ActorRef::Operator(id) => Some(id),
            ActorRef::ApiKey(_) | ActorRef::Anonymous | ActorRef::System => None,
        }
    }
    /// Whether the actor speaks for the operator: the operator, usher itself, or an operator
    /// API key (R23).
    pub fn is_operator(&self) -> bool {
        match &self.kind {
            ActorKind::Operator { .. } | ActorKind::System => true,
            ActorKind::Principal(principal) => principal.operator_key,
            ActorKind::Anonymous => false,
        }
    }
    /// The reference written to the audit log.
    pub fn reference(&self) -> ActorRef {
        match &self.kind {
            ActorKind::Operator { user } => ActorRef::Operator(*user),
            ActorKind::Principal(principal) => principal.actor,
            ActorKind::Anonymous => ActorRef::Anonymous,
            ActorKind::System => ActorRef::System,
        }
    }
    /// The permissions the actor holds everywhere it reaches (`None`: unrestricted).
    pub fn held_permissions(&self) -> Option<&BTreeSet<Permission>> {
        static NOTHING: BTreeSet<Permission> = BTreeSet::new();
        match &self.kind {
            ActorKind::Principal(principal) => Some(&principal.permissions),
            ActorKind::Operator { .. } | ActorKind::System => None,
            ActorKind::Anonymous => Some(&NOTHING),
        }
    }
    /// Whether the actor is the operator or usher itself.
    pub fn is_unrestricted(&self) -> bool {
        matches!(self.kind, ActorKind::Operator { .. } | ActorKind::System)
    }
}

/// Why an actor may not do something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The target belongs to another root account (shown as "not found" at the edges).
    #[error("the target belongs to another tenant")]
    OtherTenant,
    /// The target is in the actor's root but outside the subtree or scope it administers (R19).
    #[error("the target account is outside the accounts you administer")]
    OutsideScope,
    /// The actor lacks the permission.
    #[error("missing permission {permission}")]
    MissingPermission {
        /// The permission needed.
        permission: Permission,
    },
    /// Only the operator may do this.
    #[error("only the operator may do this")]
    OperatorOnly,
    /// Authentication is needed.
    #[error("authentication required")]
    Unauthenticated,
    /// User types, roles, seats and settings are changed at the root only (R23).
    #[error(
        "user types, roles, seats and settings belong to the root account; only its administrators change them"
    )]
    RootLevel,
    /// Seat totals are the operator's unless the operator lets the root manage them (R23).
    #[error(
        "seat totals are set by the operator of this installation (or an operator API key); the operator may let this account manage its own seats"
    )]
    SeatsBelongToOperator,
    /// The target user holds permissions the actor lacks (R24).
    #[error("the user holds permissions you do not hold: {}", crate::value::permission_list(.permissions))]
    TargetHoldsMore {
        /// The target's permissions the actor lacks.
        permissions: Vec<Permission>,
    },
    /// The password must be changed before anything else (R16).
    #[error("an administrator set this password; change it before anything else")]
    PasswordChangeRequired,
    /// Only a user's session may do this (an API key is a credential of its own).
    #[error("only a user's session may do this, not an API key")]
    SessionRequired,
}

/// Whether `actor` may use `permission` on `target` (R16, R19). Another tenant is refused
/// before any restriction, so a restricted actor learns nothing of other tenants' ids.
pub fn authorize(actor: &Actor, permission: Permission, target: &AccountPath) -> Result<(), Denied> {
    match &actor.kind {
        ActorKind::Operator { .. } | ActorKind::System => unrestricted(actor),
        ActorKind::Anonymous => Err(Denied::Unauthenticated),
        ActorKind::Principal(principal) => {
            reach(principal, target)?;
            unrestricted(actor)?;
            if holds(&principal.permissions, permission) {
                Ok(())
            } else {
                Err(Denied::MissingPermission { permission })
            }
        }
    }
}

/// R16: refuses an actor held to a restriction.
pub fn unrestricted(actor: &Actor) -> Result<(), Denied> {
    match actor.restriction {
        Some(Restriction::PasswordChangeRequired) => Err(Denied::PasswordChangeRequired),
        None => Ok(()),
    }
}

/// R23: whether `actor` may use `permission` on a root-level object (user type, role, seats,
/// settings) of the tenant `root`. Reading needs the permission anywhere in the tenant;
/// changing needs it at the root itself, so a sub-account administrator or an administrator
/// scoped to sub-accounts reads the catalog but never changes it.
pub fn authorize_root_level(actor: &Actor, permission: Permission, root: AccountId) -> Result<(), Denied> {
    let principal = match &actor.kind {
        ActorKind::Operator { .. } | ActorKind::System => return unrestricted(actor),
        ActorKind::Anonymous => return Err(Denied::Unauthenticated),
        ActorKind::Principal(principal) => principal,
    };
    if !principal.operator_key && principal.home.root() != root {
        return Err(Denied::OtherTenant);
    }
    unrestricted(actor)?;
    if !principal.operator_key && permission.access() == Access::Write {
        reach(principal, &AccountPath::root_of(root)).map_err(|_| Denied::RootLevel)?;
    }
    if holds(&principal.permissions, permission) {
        Ok(())
    } else {
        Err(Denied::MissingPermission { permission })
    }
}

/// R23: whether `actor` may set the seat totals of the tenant `root`, which the operator
/// owns unless it let the root manage its own seats (`root_manages_seats`).
pub fn authorize_seats(actor: &Actor, root: AccountId, root_manages_seats: bool) -> Result<(), Denied> {
    authorize_root_level(actor, Permission::new(Module::Subscription, Access::Write), root)?;
    if actor.is_operator() || root_manages_seats { Ok(()) } else { Err(Denied::SeatsBelongToOperator) }
}

/// R24: whether `actor` may act on a user holding `target` permissions (`None`: the
/// operator, who holds everything). The actor must hold every one of them; `guard` has
/// already checked that the target's accounts are within the actor's reach.
pub fn check_outranks(actor: &Actor, target: Option<&BTreeSet<Permission>>) -> Result<(), Denied> {
    let Some(held) = actor.held_permissions() else {
        return Ok(());
    };
    let missing: Vec<Permission> = match target {
        Some(target) => target.iter().copied().filter(|p| !holds(held, *p)).collect(),
        None => Permission::catalog().into_iter().filter(|p| !holds(held, *p)).collect(),
    };
    if missing.is_empty() { Ok(()) } else { Err(Denied::TargetHoldsMore { permissions: missing }) }
}

/// Whether the principal's home subtree and scope include `target`.
pub fn reach(principal: &Principal, target: &AccountPath) -> Result<(), Denied> {
    if principal.operator_key {
        return Ok(());
    }
    if target.root() != principal.home.root() {
        return Err(Denied::OtherTenant);
    }
    if !target.is_within(principal.home.id()) {
        return Err(Denied::OutsideScope);
    }
    if !principal.scope.is_empty() && !principal.scope.iter().any(|account| target.is_within(*account)) {
        return Err(Denied::OutsideScope);
    }
    Ok(())
}

/// Whether `held` grants `permission`; `write` implies `read` of the same module.
pub fn holds(held: &BTreeSet<Permission>, permission: Permission) -> bool {
    held.contains(&permission)
        || (permission.access() == Access::Read
            && held.contains(&Permission::new(permission.module(), Access::Write)))
}

/// Only the operator (or usher itself).
pub fn require_operator(actor: &Actor) -> Result<(), Denied> {
    unrestricted(actor)?;
    if actor.is_unrestricted() { Ok(()) } else { Err(Denied::OperatorOnly) }
}

/// The effective permissions of a user: the union of its roles' permissions, limited to the
/// user type's ceiling (R4).
pub fn effective_permissions<'a>(
    roles: impl IntoIterator<Item = &'a Role>,
    user_type: &UserType,
) -> BTreeSet<Permission> {
    // A role's `write` brings the `read` it implies, so a ceiling lowered to `read` leaves the
    // `read` of a role that grants `write`.
    roles
        .into_iter()
        .flat_map(|role| role.permissions.iter().copied())
        .flat_map(|permission| [permission, Permission::new(permission.module(), Access::Read)])
        .filter(|permission| holds(&user_type.ceiling, *permission))
        .collect()
}

/// Why roles may not be granted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantDenied {
    /// A role gives permissions beyond the user type's ceiling (R4).
    #[error("role {role} grants {}, beyond the ceiling of user type {user_type}", crate::value::permission_list(.permissions))]
    AboveCeiling {
        /// Role name.
        role: String,
        /// User type key.
        user_type: String,
        /// The permissions above the ceiling.
        permissions: Vec<Permission>,
    },
    /// The actor would grant permissions it does not hold (R4: no escalation).
    #[error("you cannot grant {} of role {role}: you do not hold them", crate::value::permission_list(.permissions))]
    Escalation {
        /// Role name.
        role: String,
        /// The permissions the actor lacks.
        permissions: Vec<Permission>,
    },
    /// A role or user type of another root account.
    #[error("role {role} belongs to another tenant")]
    OtherTenant {
        /// Role name.
        role: String,
    },
}

/// Whether `actor` may give a user of `user_type` the `roles` (R4).
pub fn check_grant<'a>(
    actor: &Actor,
    roles: impl IntoIterator<Item = &'a Role>,
    user_type: &UserType,
) -> Result<(), GrantDenied> {
    for role in roles {
        if role.root != user_type.root {
            return Err(GrantDenied::OtherTenant { role: role.name.to_string() });
        }
        let above: Vec<Permission> =
            role.permissions.iter().copied().filter(|p| !holds(&user_type.ceiling, *p)).collect();
        if !above.is_empty() {
            return Err(GrantDenied::AboveCeiling {
                role: role.name.to_string(),
                user_type: user_type.key.to_string(),
                permissions: above,
            });
        }
        check_permissions_held(actor, &role.permissions)
            .map_err(|permissions| GrantDenied::Escalation { role: role.name.to_string(), permissions })?;
    }
    Ok(())
}

/// The permissions of `wanted` the actor does not hold (R4), as an error.
pub fn check_permissions_held(actor: &Actor, wanted: &BTreeSet<Permission>) -> Result<(), Vec<Permission>> {
    let Some(held) = actor.held_permissions() else {
        return Ok(());
    };
    let missing: Vec<Permission> = wanted.iter().copied().filter(|p| !holds(held, *p)).collect();
    if missing.is_empty() { Ok(()) } else { Err(missing) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{RoleId, UserTypeId};
    use crate::model::BuiltinRole;
    use crate::time::Timestamp;
    use crate::value::{Key, Module, Name};
    use proptest::prelude::*;
    use uuid::Uuid;

    fn account(n: u128) -> AccountId {
        AccountId::from_uuid(Uuid::from_u128(n))
    }

    /// Root 1 has children 2 and 3; 2 has child 4. Root 9 is another tenant.
    fn tree() -> [AccountPath; 5] {
        let root = AccountPath::root_of(account(1));
        let a = root.child(account(2));
        let b = root.child(account(3));
        let a1 = a.child(account(4));
        [root, a, b, a1, AccountPath::root_of(account(9))]
    }

    fn principal(home: &AccountPath, permissions: &[Permission], scope: &[AccountId]) -> Actor {
        Actor::new(ActorKind::Principal(Principal {
            actor: ActorRef::User(UserId::from_uuid(Uuid::from_u128(77))),
            home: home.clone(),
            permissions: permissions.iter().copied().collect(),
            scope: scope.iter().copied().collect(),
            operator_key: false,
        }))
    }

    const USERS_WRITE: Permission = Permission::new(Module::Users, Access::Write);
    const USERS_READ: Permission = Permission::new(Module::Users, Access::Read);
    const PRICING_READ: Permission = Permission::new(Module::Pricing, Access::Read);

    #[test]
    fn r19_sub_account_admin_reaches_its_subtree_only() {
        let [root, a, b, a1, other] = tree();
        let admin_of_a = principal(&a, &[USERS_WRITE], &[]);
        assert_eq!(authorize(&admin_of_a, USERS_WRITE, &a), Ok(()));
        assert_eq!(authorize(&admin_of_a, USERS_WRITE, &a1), Ok(()), "child of its account");
        assert_eq!(authorize(&admin_of_a, USERS_WRITE, &b), Err(Denied::OutsideScope), "sibling");
        assert_eq!(authorize(&admin_of_a, USERS_WRITE, &root), Err(Denied::OutsideScope), "parent");
        assert_eq!(authorize(&admin_of_a, USERS_WRITE, &other), Err(Denied::OtherTenant));
    }

    #[test]
    fn r19_scope_limits_a_root_admin_to_chosen_sub_accounts() {
        let [root, a, b, a1, _] = tree();
        let scoped = principal(&root, &[USERS_WRITE], &[account(2)]);
        assert_eq!(authorize(&scoped, USERS_WRITE, &a1), Ok(()));
        assert_eq!(authorize(&scoped, USERS_WRITE, &a), Ok(()));
        assert_eq!(authorize(&scoped, USERS_WRITE, &b), Err(Denied::OutsideScope));
    }

    #[test]
    fn r16_a_restricted_actor_is_refused_everything_guarded() {
        let [root, ..] = tree();
        let mut actor = principal(&root, &Permission::catalog().into_iter().collect::<Vec<_>>(), &[]);
        actor.restriction = Some(Restriction::PasswordChangeRequired);
        assert_eq!(authorize(&actor, USERS_READ, &root), Err(Denied::PasswordChangeRequired));
        assert_eq!(authorize_root_level(&actor, USERS_READ, account(1)), Err(Denied::PasswordChangeRequired));
    }

    #[test]
    fn r23_seats_are_the_operators_unless_it_lets_the_root_manage_them() {
        let [root, a, ..] = tree();
        let subscription = Permission::new(Module::Subscription, Access::Write);
        let root_admin = principal(&root, &[subscription], &[]);
        assert_eq!(authorize_seats(&root_admin, account(1), false), Err(Denied::SeatsBelongToOperator));
        assert_eq!(authorize_seats(&root_admin, account(1), true), Ok(()));
        assert_eq!(
            authorize_seats(&principal(&a, &[subscription], &[]), account(1), true),
            Err(Denied::RootLevel)
        );
        assert_eq!(authorize_seats(&root_admin, account(9), true), Err(Denied::OtherTenant));
        let mut billing = principal(&AccountPath::root_of(account(9)), &[subscription], &[]);
        if let ActorKind::Principal(key) = &mut billing.kind {
            key.operator_key = true;
        }
        assert_eq!(authorize_seats(&billing, account(1), false), Ok(()), "an operator key");
        assert_eq!(authorize_seats(&Actor::new(ActorKind::System), account(1), false), Ok(()));
    }

    #[test]
    fn r4_write_implies_read_but_not_the_reverse() {
        let [root, ..] = tree();
        assert_eq!(authorize(&principal(&root, &[USERS_WRITE], &[]), USERS_READ, &root), Ok(()));
        assert_eq!(
            authorize(&principal(&root, &[USERS_READ], &[]), USERS_WRITE, &root),
            Err(Denied::MissingPermission { permission: USERS_WRITE })
        );
    }

    fn user_type(ceiling: BTreeSet<Permission>) -> UserType {
        UserType {
            id: UserTypeId::from_uuid(Uuid::from_u128(5)),
            root: account(1),
            key: Key::parse("clerk").unwrap(),
            name: Name::parse("Clerk").unwrap(),
            consumes_seat: true,
            ceiling,
            created_at: Timestamp::from_unix_micros(0).unwrap(),
            version: 1,
        }
    }

    fn role(name: &str, permissions: BTreeSet<Permission>) -> Role {
        Role {
            id: RoleId::from_uuid(Uuid::from_u128(6)),
            root: account(1),
            name: Name::parse(name).unwrap(),
            builtin: None,
            permissions,
            external_id: None,
            created_at: Timestamp::from_unix_micros(0).unwrap(),
            version: 0,
        }
    }

    #[test]
    fn r4_a_plain_user_type_never_gets_pricing_even_from_the_admin_role() {
        let clerk = user_type(BuiltinRole::User.permissions());
        let admin = role("admin", BuiltinRole::Admin.permissions());
        let effective = effective_permissions([&admin], &clerk);
        assert!(!effective.contains(&PRICING_READ));
        assert!(effective.contains(&Permission::new(Module::Orders, Access::Write)));
        let err = check_grant(&Actor::new(ActorKind::System), [&admin], &clerk).unwrap_err();
        assert!(matches!(err, GrantDenied::AboveCeiling { .. }), "{err:?}");
    }

    #[test]
    fn r4_an_admin_cannot_grant_permissions_it_lacks() {
        let [root, ..] = tree();
        let limited_admin = principal(&root, &[USERS_WRITE], &[]);
        let pricing = role("pricing", BTreeSet::from([PRICING_READ]));
        let err = check_grant(&limited_admin, [&pricing], &user_type(Permission::catalog())).unwrap_err();
        assert_eq!(err, GrantDenied::Escalation { role: "pricing".into(), permissions: vec![PRICING_READ] });
    }

    fn permission_set() -> impl Strategy<Value = BTreeSet<Permission>> {
        proptest::sample::subsequence(Permission::catalog().into_iter().collect::<Vec<_>>(), 0..32)
            .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        // R4: effective = (union of roles) ∩ ceiling, with write implying read on both sides.
        #[test]
        fn effective_permissions_are_the_roles_union_within_the_ceiling(
            first in permission_set(), second in permission_set(), ceiling in permission_set()
        ) {
            let roles = [role("a", first.clone()), role("b", second.clone())];
            let effective = effective_permissions(&roles, &user_type(ceiling.clone()));
            for permission in Permission::catalog() {
                let granted = holds(&first, permission) || holds(&second, permission);
                prop_assert_eq!(effective.contains(&permission), granted && holds(&ceiling, permission));
            }
        }

        // R24: an actor acts on a user exactly when it holds every permission the user holds
        // (write implying read); the operator outranks everyone and only it acts on itself.
        #[test]
        fn an_actor_outranks_exactly_the_users_whose_permissions_it_holds(
            held in permission_set(), target in permission_set()
        ) {
            let [root, ..] = tree();
            let actor = principal(&root, &held.iter().copied().collect::<Vec<_>>(), &[]);
            let expected = target.iter().all(|p| holds(&held, *p));
            prop_assert_eq!(check_outranks(&actor, Some(&target)).is_ok(), expected);
            if let Err(Denied::TargetHoldsMore { permissions }) = check_outranks(&actor, Some(&target)) {
                prop_assert!(permissions.iter().all(|p| target.contains(p) && !holds(&held, *p)));
            }
            prop_assert!(check_outranks(&Actor::new(ActorKind::System), Some(&target)).is_ok());
            let holds_everything = Permission::catalog().into_iter().all(|p| holds(&held, p));
            prop_assert_eq!(check_outranks(&actor, None).is_ok(), holds_everything);
        }

        // R23: a principal changes a root-level object only from the root itself, reads it from
        // anywhere in its tenant, and never touches another tenant's.
        #[test]
        fn root_level_objects_are_changed_from_the_root_only(home_idx in 0usize..5, write in any::<bool>()) {
            let paths = tree();
            let home = &paths[home_idx];
            let permission = Permission::new(Module::Roles, if write { Access::Write } else { Access::Read });
            let actor = principal(home, &[Permission::new(Module::Roles, Access::Write)], &[]);
            let outcome = authorize_root_level(&actor, permission, account(1));
            let expected = if home.root() != account(1) {
                Err(Denied::OtherTenant)
            } else if write && home.id() != account(1) {
                Err(Denied::RootLevel)
            } else {
                Ok(())
            };
            prop_assert_eq!(outcome, expected);
        }

        // R19: a principal reaches exactly the accounts within its home subtree and scope.
        #[test]
        fn reach_is_subtree_intersect_scope(home_idx in 0usize..4, target_idx in 0usize..5, scoped in any::<bool>()) {
            let paths = tree();
            let home = &paths[home_idx];
            let scope: Vec<AccountId> = if scoped { vec![account(2)] } else { vec![] };
            let actor = principal(home, &[USERS_WRITE], &scope);
            let target = &paths[target_idx];
            let expected = target.root() == home.root()
                && target.is_within(home.id())
                && (!scoped || target.is_within(account(2)));
            prop_assert_eq!(authorize(&actor, USERS_WRITE, target).is_ok(), expected);
        }
    }
}
