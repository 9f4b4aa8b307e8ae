//! User types and the subscription: seat totals per seat-consuming type (R1, R2, R4).

use std::collections::BTreeSet;

use serde_json::json;

use crate::authz::{Actor, Denied, authorize_seats, check_permissions_held};
use crate::error::{Invalid, RepoError, field};
use crate::id::{AccountId, UserTypeId};
use crate::model::{SeatUsage, UserType, seat_totals_fingerprint};
use crate::rules::{SeatsBelowUsage, check_seat_total};
use crate::service::{
    AuditEntry, Gate, Ports, common_errors, guard, guard_root_level, load_account, load_settings, lock_seats,
    objects, record,
};
use crate::value::{Access, Key, Module, Name, Permission, SeatCount, ValueError};

/// Failure of a user-type or subscription use case.
#[derive(Debug, thiserror::Error)]
pub enum SeatError {
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
    /// The key is taken in this account.
    #[error("user type {key} already exists")]
    KeyTaken {
        /// The key.
        key: String,
    },
    /// The ceiling would include permissions the actor lacks (R4).
    #[error("you cannot grant {}: you do not hold them", crate::value::permission_list(.permissions))]
    Escalation {
        /// Missing permissions.
        permissions: Vec<Permission>,
    },
    /// R2.
    #[error(transparent)]
    BelowUsage(SeatsBelowUsage),
    /// The user type changed since the version the caller read (optimistic locking).
    #[error("user type was changed since version {expected}; it is at version {actual}")]
    VersionMismatch {
        /// Version given.
        expected: u64,
        /// Current version.
        actual: u64,
    },
    /// The seat totals changed since the fingerprint the caller expected.
    #[error("the seat totals were changed since they were read; read them again")]
    SubscriptionChanged {
        /// The fingerprint they have now.
        current: String,
    },
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(SeatError);

/// A new user type.
#[derive(Debug, Clone)]
pub struct NewUserType {
    /// Key, unique in the root.
    pub key: String,
    /// Name.
    pub name: String,
    /// Whether users of the type consume a seat.
    pub consumes_seat: bool,
    /// The permission ceiling.
    pub ceiling: BTreeSet<Permission>,
}

/// The user types of the root of `account`.
pub async fn list_user_types(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
) -> Result<Vec<UserType>, SeatError> {
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::UserTypes, Access::Read), &account, "account")?;
    Ok(tx.user_types(account.root()).await?)
}

/// Adds a user type to the root of `account`.
pub async fn create_user_type(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    command: NewUserType,
) -> Result<UserType, SeatError> {
    let key = field("key", Key::parse(&command.key))?;
    let name = field("name", Name::parse(&command.name))?;
    let mut tx = ports.begin().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard_root_level(actor, Permission::new(Module::UserTypes, Access::Write), account.root(), "account")?;
    check_permissions_held(actor, &command.ceiling)
        .map_err(|permissions| SeatError::Escalation { permissions })?;
    if !command.consumes_seat {
        // A type without seats is as many seats as anyone wants: the seat owner's call (R23).
        let settings = load_settings(tx.as_mut(), account.root()).await?;
        authorize_seats(actor, account.root(), settings.manages_own_seats).map_err(SeatError::Denied)?;
    }
    let user_type = UserType {
        id: ports.new_id(UserTypeId::from_uuid),
        root: account.root(),
        key,
        name,
        consumes_seat: command.consumes_seat,
        ceiling: command.ceiling,
        created_at: ports.now(),
        version: 1,
    };
    match tx.insert_user_type(&user_type).await {
        Err(RepoError::Duplicate { .. }) => {
            return Err(SeatError::KeyTaken { key: user_type.key.to_string() });
        }
        other => other?,
    }
    let entry = AuditEntry::root_level(
        actor,
        user_type.root,
        "user_type.created",
        "user_type",
        user_type.id.to_string(),
        json!({"key": user_type.key, "consumes_seat": user_type.consumes_seat, "ceiling": user_type.ceiling}),
    )
    .about(objects::user_type(&user_type));
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok(user_type)
}

/// Changes to a user type.
#[derive(Debug, Clone, Default)]
pub struct UserTypePatch {
    /// New name.
    pub name: Option<String>,
    /// New ceiling (lowering it narrows effective permissions at once).
    pub ceiling: Option<BTreeSet<Permission>>,
    /// Refuse the change unless the user type is still at this version.
    pub if_version: Option<u64>,
}

/// Renames a user type or changes its ceiling.
pub async fn update_user_type(
    ports: &Ports,
    actor: &Actor,
    id: UserTypeId,
    patch: UserTypePatch,
) -> Result<UserType, SeatError> {
    let name = crate::service::optional("name", patch.name.as_deref(), Name::parse)?;
    let mut tx = ports.begin().await?;
    let mut user_type = tx.user_type(id).await?.ok_or(Gate::NotFound { entity: "user type" })?;
    guard_root_level(actor, Permission::new(Module::UserTypes, Access::Write), user_type.root, "user type")?;
    if let Some(expected) = patch.if_version.filter(|v| *v != user_type.version) {
        return Err(SeatError::VersionMismatch { expected, actual: user_type.version });
    }
    if let Some(ceiling) = &patch.ceiling {
        check_permissions_held(actor, ceiling)
            .map_err(|permissions| SeatError::Escalation { permissions })?;
    }
    // R24: a ceiling above what the actor holds is changed by someone who holds it.
    check_permissions_held(actor, &user_type.ceiling)
        .map_err(|permissions| SeatError::Denied(Denied::TargetHoldsMore { permissions }))?;
    let widened = patch.ceiling.as_ref().is_some_and(|ceiling| !ceiling.is_subset(&user_type.ceiling));
    if widened && !user_type.consumes_seat {
        // Widening a type without seats hands out unlicensed power: the seat owner's call (R23).
        let settings = load_settings(tx.as_mut(), user_type.root).await?;
        authorize_seats(actor, user_type.root, settings.manages_own_seats).map_err(SeatError::Denied)?;
    }
    let before = json!({"name": user_type.name, "ceiling": user_type.ceiling});
    if let Some(name) = name {
        user_type.name = name;
    }
    if let Some(ceiling) = patch.ceiling {
        user_type.ceiling = ceiling;
    }
    match tx.update_user_type(&user_type).await {
        Err(RepoError::Stale { .. }) => {
            let stale =
                SeatError::VersionMismatch { expected: user_type.version, actual: user_type.version + 1 };
            return Err(stale);
        }
        other => other?,
    }
    user_type.version += 1;
    let after = json!({"name": user_type.name, "ceiling": user_type.ceiling});
    let entry = AuditEntry::root_level(
        actor,
        user_type.root,
        "user_type.updated",
        "user_type",
        id.to_string(),
        crate::service::diff(Some(&before), Some(&after)),
    )
    .about(objects::user_type(&user_type));
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok(user_type)
}

/// Seat figures of every user type of the root of `account`.
pub async fn get_subscription(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
) -> Result<Vec<(UserType, SeatUsage)>, SeatError> {
    let now = ports.now();
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Subscription, Access::Read), &account, "account")?;
    let mut figures = Vec::new();
    for user_type in tx.user_types(account.root()).await? {
        let usage = tx.seat_usage(account.root(), user_type.id, now).await?;
        figures.push((user_type, usage));
    }
    Ok(figures)
}

/// Sets seat totals per user type (R2: never below used + reserved).
pub async fn set_subscription(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    totals: Vec<(UserTypeId, i64)>,
    if_fingerprint: Option<String>,
) -> Result<Vec<(UserType, SeatUsage)>, SeatError> {
    let now = ports.now();
    let mut tx = ports.begin().await?;
    let account = load_account(tx.as_mut(), account).await?;
    let root = account.root();
    guard_root_level(actor, Permission::new(Module::Subscription, Access::Write), root, "account")?;
    let settings = load_settings(tx.as_mut(), root).await?;
    authorize_seats(actor, root, settings.manages_own_seats).map_err(SeatError::Denied)?;
    if let Some(expected) = if_fingerprint {
        // Every pool locked, in one order, so the totals compared are the totals changed.
        let mut current = Vec::new();
        let mut types = tx.user_types(root).await?;
        types.sort_by_key(|t| t.id);
        for user_type in &types {
            current.push((user_type.id, lock_seats(tx.as_mut(), root, user_type, now).await?.total));
        }
        let current = seat_totals_fingerprint(current);
        if expected != current {
            return Err(SeatError::SubscriptionChanged { current });
        }
    }
    for (index, (id, total)) in totals.iter().enumerate() {
        let total = field(&format!("seats[{index}].total"), SeatCount::new(*total))?.get();
        let user_type = match tx.user_type(*id).await? {
            Some(found) if found.root == root => found,
            _ => return Err(SeatError::NotFound { entity: "user type" }),
        };
        if !user_type.consumes_seat {
            // Such a type has no pool, so its users never wait on one.
            let error = ValueError::Malformed { reason: "the user type consumes no seat" };
            return Err(SeatError::Invalid(Invalid::new(format!("seats[{index}].user_type"), error)));
        }
        let usage = tx.lock_seat_pool(root, *id, now).await?;
        check_seat_total(&user_type, &usage, total).map_err(SeatError::BelowUsage)?;
        tx.set_seat_total(root, *id, total).await?;
        let entry = AuditEntry::root_level(
            actor,
            root,
            "subscription.updated",
            "user_type",
            id.to_string(),
            json!({"total": {"before": usage.total, "after": total}}),
        )
        .about(objects::seats(&SeatUsage { total, ..usage }));
        record(ports, tx.as_mut(), entry).await?;
    }
    let mut figures = Vec::new();
    for user_type in tx.user_types(root).await? {
        let usage = tx.seat_usage(root, user_type.id, now).await?;
        figures.push((user_type, usage));
    }
    tx.commit().await?;
    Ok(figures)
}
