//! The [`Tx`] port on a sea-orm transaction: every method is one or a few statements on the
//! same connection, so a use case's change, audit event and mail commit together (R20).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
    Statement,
};
use uuid::Uuid;

use usher_domain::error::RepoError;
use usher_domain::id::{
    AccountId, ApiKeyId, ContactId, DeviceId, InvitationId, MailId, RoleId, SessionId, TokenId, UserId,
    UserTypeId,
};
use usher_domain::model::{
    Account, ApiKey, AuditEvent, Contact, DeliveryState, Device, Invitation, InvitationState,
    InvitationStatus, OneTimeToken, OutboxMail, QueuedMail, Role, SeatUsage, Session, Settings, TokenPurpose,
    User, UserState, UserType,
};
use usher_domain::ports::{
    AuditQuery, ClaimedMail, ContactQuery, Cursor, InvitationQuery, MailQuery, Page, PageRequest, Tx,
    UserQuery,
};
use usher_domain::time::Timestamp;
use usher_domain::value::{Email, PasswordHash, Slug, TokenHash, UsernameKey};

use crate::codec;
use crate::entity::{
    account, api_key, audit_event, contact, device, invitation, login_failure, one_time_token, outbox,
    password, role, seat_pool, session, settings, user, user_role, user_type,
};
use crate::error::repo;

pub(crate) struct SqlTx {
    txn: DatabaseTransaction,
    backend: DatabaseBackend,
}

impl SqlTx {
    pub(crate) fn new(txn: DatabaseTransaction, backend: DatabaseBackend) -> SqlTx {
        SqlTx { txn, backend }
    }

    async fn user_roles(&self, users: &[Uuid]) -> Result<BTreeMap<Uuid, BTreeSet<RoleId>>, RepoError> {
        let mut roles: BTreeMap<Uuid, BTreeSet<RoleId>> = BTreeMap::new();
        if users.is_empty() {
            return Ok(roles);
        }
        let rows = user_role::Entity::find()
            .filter(user_role::Column::UserId.is_in(users.iter().copied()))
            .all(&self.txn)
            .await
            .map_err(repo)?;
        for row in rows {
            roles.entry(row.user_id).or_default().insert(RoleId::from_uuid(row.role_id));
        }
        Ok(roles)
    }

    async fn users_from_rows(&self, rows: Vec<user::Model>) -> Result<Vec<User>, RepoError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut roles = self.user_roles(&ids).await?;
        rows.into_iter()
            .map(|row| {
                let held = roles.remove(&row.id).unwrap_or_default();
                codec::user_from_row(row, held)
            })
            .collect()
    }

    async fn one_user(&self, select: Select<user::Entity>) -> Result<Option<User>, RepoError> {
        let rows: Vec<user::Model> = select.limit(1).all(&self.txn).await.map_err(repo)?;
        Ok(self.users_from_rows(rows).await?.pop())
    }

    /// Stores a user's roles; `replace` first removes the ones stored before.
    async fn write_roles(&self, user: &User, replace: bool) -> Result<(), RepoError> {
        if replace {
            user_role::Entity::delete_many()
                .filter(user_role::Column::UserId.eq(user.id.as_uuid()))
                .exec(&self.txn)
                .await
                .map_err(repo)?;
        }
        if user.roles.is_empty() {
            return Ok(());
        }
        let rows = user.roles.iter().map(|role| {
            user_role::Model { user_id: user.id.as_uuid(), role_id: role.as_uuid() }.into_active_model()
        });
        user_role::Entity::insert_many(rows).exec_without_returning(&self.txn).await.map_err(repo)?;
        Ok(())
    }

    /// The seat figures in one statement: the pool's total with the counts of active users
    /// and of pending, unexpired invitations. `None` when the pool has no row yet.
    async fn seat_figures(
        &self,
        root: AccountId,
        user_type: UserTypeId,
        now: Timestamp,
        lock: bool,
    ) -> Result<Option<SeatUsage>, RepoError> {
        let used = Query::select()
            .expr(Expr::col(user::Column::Id).count())
            .from(user::Entity)
            .and_where(user::Column::UserTypeId.eq(user_type.as_uuid()))
            .and_where(user::Column::State.eq(codec::user_state_text(UserState::Active)))
            .and_where(user::Column::RootId.eq(root.as_uuid()))
            .to_owned();
        let reserved = Query::select()
            .expr(Expr::col(invitation::Column::Id).count())
            .from(invitation::Entity)
            .and_where(invitation::Column::UserTypeId.eq(user_type.as_uuid()))
            .and_where(invitation::Column::State.eq(codec::invitation_state_text(InvitationState::Pending)))
            .and_where(invitation::Column::ExpiresAt.gt(now.unix_micros()))
            .and_where(invitation::Column::RootId.eq(root.as_uuid()))
            .to_owned();
        if lock && self.backend == DatabaseBackend::Postgres {
            // The row lock serialises every transaction allocating seats of this pool (R1).
            // It is its own statement: under READ COMMITTED the counts below then read a
            // snapshot taken after the lock was granted, which sees the previous holder's
            // users. (Counted in the locking statement, they would come from the snapshot
            // taken before the wait.) On SQLite, `BEGIN IMMEDIATE` already made this
            // transaction the only writer.
            let locked = seat_pool::Entity::find_by_id((root.as_uuid(), user_type.as_uuid()))
                .lock_exclusive()
                .one(&self.txn)
                .await
                .map_err(repo)?;
            if locked.is_none() {
                return Ok(None);
            }
        }
        let pool = seat_pool::Entity::find_by_id((root.as_uuid(), user_type.as_uuid()))
            .select_only()
            .column(seat_pool::Column::Total)
            .expr(Expr::SubQuery(None, Box::new(used.into())))
            .expr(Expr::SubQuery(None, Box::new(reserved.into())));
        let Some((total, used, reserved)) =
            pool.into_tuple::<(i64, i64, i64)>().one(&self.txn).await.map_err(repo)?
        else {
            return Ok(None);
        };
        let figure =
            |n: i64| u32::try_from(n).map_err(|_| RepoError::corrupt("seat pool", "figure out of range"));
        Ok(Some(SeatUsage {
            user_type,
            total: figure(total)?,
            used: figure(used)?,
            reserved: figure(reserved)?,
        }))
    }

    /// The seat figures, creating an empty pool first if the user type has none.
    async fn seat_usage_of(
        &self,
        root: AccountId,
        user_type: UserTypeId,
        now: Timestamp,
        lock: bool,
    ) -> Result<SeatUsage, RepoError> {
        if let Some(usage) = self.seat_figures(root, user_type, now, lock).await? {
            return Ok(usage);
        }
        self.ensure_seat_pool(root, user_type).await?;
        self.seat_figures(root, user_type, now, lock)
            .await?
            .ok_or(RepoError::NotFound { entity: "seat pool" })
    }

    async fn ensure_seat_pool(&self, root: AccountId, user_type: UserTypeId) -> Result<(), RepoError> {
        let row = seat_pool::Model { root_id: root.as_uuid(), user_type_id: user_type.as_uuid(), total: 0 };
        seat_pool::Entity::insert(row.into_active_model())
            .on_conflict_do_nothing()
            .exec_without_returning(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }
}

/// The smallest string greater than every string that starts with `prefix` (byte-wise order),
/// or `None` when there is none: `[prefix, upper)` is the prefix range an index can serve.
pub(crate) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn prefix_range<C: ColumnTrait>(column: C, prefix: &str) -> Condition {
    let mut range = Condition::all().add(column.gte(prefix));
    if let Some(upper) = prefix_upper_bound(prefix) {
        range = range.add(column.lt(upper));
    }
    range
}

/// Accounts in the subtrees of `within`, as a condition on an account-id column.
async fn within_condition<C: ColumnTrait>(
    txn: &DatabaseTransaction,
    column: C,
    within: &BTreeSet<AccountId>,
) -> Result<Option<Condition>, RepoError> {
    if within.is_empty() {
        return Ok(None);
    }
    let tops = account::Entity::find()
        .filter(account::Column::Id.is_in(within.iter().map(|a| a.as_uuid())))
        .all(txn)
        .await
        .map_err(repo)?;
    let mut paths = Condition::any();
    for top in &tops {
        paths = paths.add(prefix_range(account::Column::Path, &top.path));
    }
    if tops.is_empty() {
        // No such account: nothing is within it.
        return Ok(Some(Condition::all().add(Expr::val(1).eq(0))));
    }
    let subtree =
        Query::select().column(account::Column::Id).from(account::Entity).cond_where(paths).to_owned();
    Ok(Some(Condition::all().add(column.in_subquery(subtree))))
}

/// The time of a cursor on a list sorted by time. A cursor of another list (a username where
/// a time belongs) is a position all the same, never an error: it sorts where its text would
/// among the zero-padded times [`Cursor::at_time`] writes, before them or after them.
fn time_cursor(cursor: &Cursor) -> i64 {
    cursor.key.parse::<i64>().unwrap_or(if cursor.key.as_str() < "0" { i64::MIN } else { i64::MAX })
}

/// Keyset condition: rows strictly after (or before, when descending) the cursor.
fn after<K: Into<sea_orm::Value>>(
    key: impl ColumnTrait,
    id: impl ColumnTrait,
    cursor_key: K,
    cursor_id: Uuid,
    descending: bool,
) -> Expr {
    let left = Expr::tuple([Expr::col(key), Expr::col(id)]);
    let right = Expr::tuple([Expr::val(cursor_key.into()), Expr::val(cursor_id)]);
    if descending { left.lt(right) } else { left.gt(right) }
}

fn page_of<T, R>(
    mut rows: Vec<R>,
    request: &PageRequest,
    cursor: impl Fn(&R) -> Cursor,
    convert: impl Fn(R) -> Result<T, RepoError>,
) -> Result<Page<T>, RepoError> {
    let limit = usize::from(request.limit);
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let next = if has_more { rows.last().map(&cursor) } else { None };
    Ok(Page { items: rows.into_iter().map(convert).collect::<Result<_, _>>()?, next })
}

/// The select behind [`Tx::list_users`] (also explained by the query plan test).
async fn list_users_select(
    txn: &DatabaseTransaction,
    backend: DatabaseBackend,
    query: &UserQuery,
) -> Result<Select<user::Entity>, RepoError> {
    let prefix = query.prefix.as_deref().filter(|p| !p.is_empty());
    let mut select = user::Entity::find();
    if prefix.is_none() {
        select = select.filter(user::Column::RootId.eq(query.root.as_uuid()));
    }
    if let Some(within) = within_condition(txn, user::Column::AccountId, &query.within).await? {
        select = select.filter(within);
    }
    if let Some(state) = query.state {
        select = select.filter(user::Column::State.eq(codec::user_state_text(state)));
    }
    if let Some(user_type) = query.user_type {
        select = select.filter(user::Column::UserTypeId.eq(user_type.as_uuid()));
    }
    if let Some(role) = query.role {
        let holders = Query::select()
            .column(user_role::Column::UserId)
            .from(user_role::Entity)
            .and_where(user_role::Column::RoleId.eq(role.as_uuid()))
            .to_owned();
        select = select.filter(user::Column::Id.in_subquery(holders));
    }
    if let Some(prefix) = prefix {
        // Each branch names the root (the only place it is named, so SQLite's planner takes
        // the OR apart), and each is served by its own (root, column) index.
        let root = query.root.as_uuid();
        let branch = |column: user::Column| prefix_range(column, prefix).add(user::Column::RootId.eq(root));
        select = select.filter(
            Condition::any()
                .add(branch(user::Column::UsernameKey))
                .add(branch(user::Column::Email))
                .add(branch(user::Column::FirstNameKey))
                .add(branch(user::Column::LastNameKey)),
        );
    }
    if let Some(cursor) = &query.page.after {
        // Username keys are unique within a root, so the key alone is the keyset position.
        select = select.filter(user::Column::UsernameKey.gt(cursor.key.as_str()));
    }
    let select = if prefix.is_some() && backend == DatabaseBackend::Sqlite {
        // A prefix search is selective: find the matches through the four prefix indexes and
        // sort them, rather than walk the whole tenant in username order. `+column` is
        // SQLite's way to keep the planner from ordering by the username index.
        select.order_by(Expr::cust("+\"username_key\""), sea_orm::Order::Asc)
    } else {
        select.order_by_asc(user::Column::UsernameKey)
    };
    Ok(select.limit(u64::from(query.page.limit) + 1))
}

pub(crate) async fn list_users_statement(
    txn: &DatabaseTransaction,
    backend: DatabaseBackend,
    query: &UserQuery,
) -> Result<Statement, RepoError> {
    Ok(list_users_select(txn, backend, query).await?.build(backend))
}

fn not_found(entity: &'static str) -> impl Fn(u64) -> Result<(), RepoError> {
    move |affected| if affected == 0 { Err(RepoError::NotFound { entity }) } else { Ok(()) }
}

/// The outcome of a conditional update: `Ok` when it changed a row; otherwise `Stale` when the
/// row exists (its version, state or use lost a race) and `NotFound` when it does not.
async fn conditional<E>(
    txn: &DatabaseTransaction,
    affected: u64,
    id: Uuid,
    entity: &'static str,
) -> Result<(), RepoError>
where
    E: EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    if affected > 0 {
        return Ok(());
    }
    let exists = E::find_by_id(id).one(txn).await.map_err(repo)?.is_some();
    Err(if exists { RepoError::Stale { entity } } else { RepoError::NotFound { entity } })
}

async fn insert<A>(txn: &DatabaseTransaction, model: A) -> Result<(), RepoError>
where
    A: ActiveModelTrait + Send,
{
    <A::Entity as EntityTrait>::insert(model).exec_without_returning(txn).await.map_err(repo)?;
    Ok(())
}

#[async_trait]
impl Tx for SqlTx {
    async fn commit(self: Box<Self>) -> Result<(), RepoError> {
        self.txn.commit().await.map_err(repo)
    }

    async fn insert_account(&mut self, account: &Account) -> Result<(), RepoError> {
        insert(&self.txn, codec::account_row(account).into_active_model()).await
    }
    async fn update_account(&mut self, account: &Account) -> Result<(), RepoError> {
        let affected = account::Entity::update_many()
            .col_expr(account::Column::Name, Expr::val(account.name.as_str()))
            .col_expr(account::Column::State, Expr::val(codec::account_state_text(account.state)))
            .filter(account::Column::Id.eq(account.id.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        not_found("account")(affected)
    }
    async fn account(&mut self, id: AccountId) -> Result<Option<Account>, RepoError> {
        let row = account::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::account_from_row).transpose()
    }
    async fn account_by_slug(&mut self, slug: &Slug) -> Result<Option<Account>, RepoError> {
        let row = account::Entity::find()
            .filter(account::Column::Slug.eq(slug.as_str()))
            .one(&self.txn)
            .await
            .map_err(repo)?;
        row.map(codec::account_from_row).transpose()
    }
    async fn sub_accounts(&mut self, parent: AccountId) -> Result<Vec<Account>, RepoError> {
        account::Entity::find()
            .filter(account::Column::ParentId.eq(parent.as_uuid()))
            .order_by_asc(account::Column::Slug)
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::account_from_row)
            .collect()
    }

    async fn settings(&mut self, root: AccountId) -> Result<Option<Settings>, RepoError> {
        let row = settings::Entity::find_by_id(root.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(|r| codec::settings_from_json(&r.document)).transpose()
    }
    async fn settings_for_update(&mut self, root: AccountId) -> Result<Option<Settings>, RepoError> {
        let mut select = settings::Entity::find_by_id(root.as_uuid());
        if self.backend == DatabaseBackend::Postgres {
            // On SQLite `BEGIN IMMEDIATE` already made this transaction the only writer.
            select = select.lock_exclusive();
        }
        let row = select.one(&self.txn).await.map_err(repo)?;
        row.map(|r| codec::settings_from_json(&r.document)).transpose()
    }
    async fn put_settings(&mut self, root: AccountId, value: &Settings) -> Result<(), RepoError> {
        let row = settings::Model { root_id: root.as_uuid(), document: codec::settings_to_json(value)? };
        settings::Entity::insert(row.into_active_model())
            .on_conflict(
                OnConflict::column(settings::Column::RootId)
                    .update_column(settings::Column::Document)
                    .to_owned(),
            )
            .exec_without_returning(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn insert_user_type(&mut self, user_type: &UserType) -> Result<(), RepoError> {
        insert(&self.txn, codec::user_type_row(user_type)?.into_active_model()).await?;
        self.ensure_seat_pool(user_type.root, user_type.id).await
    }
    async fn update_user_type(&mut self, user_type: &UserType) -> Result<(), RepoError> {
        let row = codec::user_type_row(user_type)?.into_active_model().reset_all();
        let affected = user_type::Entity::update_many()
            .set(row)
            .filter(user_type::Column::Id.eq(user_type.id.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        not_found("user type")(affected)
    }
    async fn user_type(&mut self, id: UserTypeId) -> Result<Option<UserType>, RepoError> {
        let row = user_type::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::user_type_from_row).transpose()
    }
    async fn user_types(&mut self, root: AccountId) -> Result<Vec<UserType>, RepoError> {
        user_type::Entity::find()
            .filter(user_type::Column::RootId.eq(root.as_uuid()))
            .order_by_asc(user_type::Column::Key)
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::user_type_from_row)
            .collect()
    }
    async fn set_seat_total(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        total: u32,
    ) -> Result<(), RepoError> {
        let row = seat_pool::Model {
            root_id: root.as_uuid(),
            user_type_id: user_type.as_uuid(),
            total: total.into(),
        };
        seat_pool::Entity::insert(row.into_active_model())
            .on_conflict(
                OnConflict::columns([seat_pool::Column::RootId, seat_pool::Column::UserTypeId])
                    .update_column(seat_pool::Column::Total)
                    .to_owned(),
            )
            .exec_without_returning(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }
    async fn seat_usage(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        now: Timestamp,
    ) -> Result<SeatUsage, RepoError> {
        self.seat_usage_of(root, user_type, now, false).await
    }
    async fn lock_seat_pool(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        now: Timestamp,
    ) -> Result<SeatUsage, RepoError> {
        self.seat_usage_of(root, user_type, now, true).await
    }

    async fn insert_role(&mut self, role: &Role) -> Result<(), RepoError> {
        insert(&self.txn, codec::role_row(role)?.into_active_model()).await
    }
    async fn update_role(&mut self, role: &Role) -> Result<(), RepoError> {
        let mut row = codec::role_row(role)?;
        row.version = codec::version(role.version + 1);
        let affected = role::Entity::update_many()
            .set(row.into_active_model().reset_all())
            .filter(role::Column::Id.eq(role.id.as_uuid()))
            .filter(role::Column::Version.eq(codec::version(role.version)))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        conditional::<role::Entity>(&self.txn, affected, role.id.as_uuid(), "role").await
    }
    async fn delete_role(&mut self, id: RoleId) -> Result<(), RepoError> {
        let affected =
            role::Entity::delete_by_id(id.as_uuid()).exec(&self.txn).await.map_err(repo)?.rows_affected;
        not_found("role")(affected)
    }
    async fn role(&mut self, id: RoleId) -> Result<Option<Role>, RepoError> {
        let row = role::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::role_from_row).transpose()
    }
    async fn roles(&mut self, root: AccountId) -> Result<Vec<Role>, RepoError> {
        role::Entity::find()
            .filter(role::Column::RootId.eq(root.as_uuid()))
            .order_by_asc(role::Column::NameKey)
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::role_from_row)
            .collect()
    }
    async fn role_assignments(&mut self, id: RoleId) -> Result<u64, RepoError> {
        let users = user_role::Entity::find()
            .filter(user_role::Column::RoleId.eq(id.as_uuid()))
            .count(&self.txn)
            .await
            .map_err(repo)?;
        let Some(role) = role::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)? else {
            return Ok(users);
        };
        let invitations = invitation::Entity::find()
            .filter(invitation::Column::RootId.eq(role.root_id))
            .filter(invitation::Column::State.eq(codec::invitation_state_text(InvitationState::Pending)))
            .filter(invitation::Column::Roles.contains(id.as_uuid().to_string()))
            .count(&self.txn)
            .await
            .map_err(repo)?;
        Ok(users + invitations)
    }
    async fn reassign_role(&mut self, root: AccountId, from: RoleId, to: RoleId) -> Result<(), RepoError> {
        let holders = Query::select()
            .column(user_role::Column::UserId)
            .from(user_role::Entity)
            .and_where(user_role::Column::RoleId.eq(from.as_uuid()))
            .to_owned();
        user::Entity::update_many()
            .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
            .filter(user::Column::RootId.eq(root.as_uuid()))
            .filter(user::Column::Id.in_subquery(holders))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        let already = Query::select()
            .column(user_role::Column::UserId)
            .from(user_role::Entity)
            .and_where(user_role::Column::RoleId.eq(to.as_uuid()))
            .to_owned();
        let moving = Query::select()
            .column(user_role::Column::UserId)
            .expr(Expr::val(to.as_uuid()))
            .from(user_role::Entity)
            .and_where(user_role::Column::RoleId.eq(from.as_uuid()))
            .and_where(user_role::Column::UserId.not_in_subquery(already))
            .to_owned();
        let copy = Query::insert()
            .into_table(user_role::Entity)
            .columns([user_role::Column::UserId, user_role::Column::RoleId])
            .select_from(moving)
            .map_err(|e| RepoError::backend(DbErr::Custom(e.to_string())))?
            .to_owned();
        self.txn.execute(&copy).await.map_err(repo)?;
        user_role::Entity::delete_many()
            .filter(user_role::Column::RoleId.eq(from.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        let holding = invitation::Entity::find()
            .filter(invitation::Column::RootId.eq(root.as_uuid()))
            .filter(invitation::Column::Roles.contains(from.as_uuid().to_string()))
            .all(&self.txn)
            .await
            .map_err(repo)?;
        for row in holding {
            let mut held = codec::invitation_from_row(row)?;
            if held.roles.remove(&from) {
                held.roles.insert(to);
                let row = codec::invitation_row(&held)?;
                invitation::Entity::update_many()
                    .col_expr(invitation::Column::Roles, Expr::val(row.roles))
                    .filter(invitation::Column::Id.eq(row.id))
                    .exec(&self.txn)
                    .await
                    .map_err(repo)?;
            }
        }
        if let Some(mut current) = self.settings(root).await?
            && current.default_roles.remove(&from)
        {
            current.default_roles.insert(to);
            self.put_settings(root, &current).await?;
        }
        Ok(())
    }

    async fn insert_user(&mut self, user: &User) -> Result<(), RepoError> {
        insert(&self.txn, codec::user_row(user)?.into_active_model()).await?;
        self.write_roles(user, false).await
    }
    async fn update_user(&mut self, user: &User) -> Result<(), RepoError> {
        let mut row = codec::user_row(user)?;
        row.version = codec::version(user.version + 1);
        let affected = user::Entity::update_many()
            .set(row.into_active_model().reset_all())
            .filter(user::Column::Id.eq(user.id.as_uuid()))
            .filter(user::Column::Version.eq(codec::version(user.version)))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        conditional::<user::Entity>(&self.txn, affected, user.id.as_uuid(), "user").await?;
        self.write_roles(user, true).await
    }
    async fn record_login(&mut self, user: UserId, at: Timestamp) -> Result<(), RepoError> {
        let affected = user::Entity::update_many()
            .col_expr(user::Column::LastLoginAt, Expr::val(at.unix_micros()))
            .filter(user::Column::Id.eq(user.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        not_found("user")(affected)
    }
    async fn delete_user(&mut self, id: UserId) -> Result<(), RepoError> {
        // Roles, password, sessions, tokens and devices go with the row (ON DELETE CASCADE).
        let affected =
            user::Entity::delete_by_id(id.as_uuid()).exec(&self.txn).await.map_err(repo)?.rows_affected;
        not_found("user")(affected)
    }
    async fn user(&mut self, id: UserId) -> Result<Option<User>, RepoError> {
        self.one_user(user::Entity::find_by_id(id.as_uuid())).await
    }
    async fn user_by_username(
        &mut self,
        root: AccountId,
        key: &UsernameKey,
    ) -> Result<Option<User>, RepoError> {
        self.one_user(
            user::Entity::find()
                .filter(user::Column::RootId.eq(root.as_uuid()))
                .filter(user::Column::UsernameKey.eq(key.as_str())),
        )
        .await
    }
    async fn user_by_email(&mut self, root: AccountId, email: &Email) -> Result<Option<User>, RepoError> {
        self.one_user(
            user::Entity::find()
                .filter(user::Column::RootId.eq(root.as_uuid()))
                .filter(user::Column::Email.eq(email.as_str())),
        )
        .await
    }
    async fn list_users(&mut self, query: &UserQuery) -> Result<Page<User>, RepoError> {
        let rows =
            list_users_select(&self.txn, self.backend, query).await?.all(&self.txn).await.map_err(repo)?;
        let limit = usize::from(query.page.limit);
        let has_more = rows.len() > limit;
        let mut users = self.users_from_rows(rows).await?;
        users.truncate(limit);
        let next = if has_more {
            users.last().map(|u| Cursor { key: u.username.key().as_str().to_owned(), id: u.id.as_uuid() })
        } else {
            None
        };
        Ok(Page { items: users, next })
    }
    async fn password_hash(&mut self, user: UserId) -> Result<Option<PasswordHash>, RepoError> {
        let row = password::Entity::find_by_id(user.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(|r| PasswordHash::parse(&r.hash).map_err(|e| RepoError::corrupt("password", e))).transpose()
    }
    async fn set_password_hash(&mut self, user: UserId, hash: Option<PasswordHash>) -> Result<(), RepoError> {
        match hash {
            None => {
                password::Entity::delete_by_id(user.as_uuid()).exec(&self.txn).await.map_err(repo)?;
            }
            Some(hash) => {
                let row = password::Model { user_id: user.as_uuid(), hash: hash.as_phc().to_owned() };
                password::Entity::insert(row.into_active_model())
                    .on_conflict(
                        OnConflict::column(password::Column::UserId)
                            .update_column(password::Column::Hash)
                            .to_owned(),
                    )
                    .exec_without_returning(&self.txn)
                    .await
                    .map_err(repo)?;
            }
        }
        Ok(())
    }
    async fn has_acted(&mut self, user: UserId) -> Result<bool, RepoError> {
        let acted = audit_event::Entity::find()
            .filter(audit_event::Column::ActorUser.eq(user.as_uuid()))
            .limit(1)
            .one(&self.txn)
            .await
            .map_err(repo)?;
        Ok(acted.is_some())
    }

    async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<(), RepoError> {
        insert(&self.txn, codec::invitation_row(invitation)?.into_active_model()).await
    }
    async fn update_invitation(
        &mut self,
        value: &Invitation,
        expected: InvitationState,
    ) -> Result<(), RepoError> {
        let row = codec::invitation_row(value)?.into_active_model().reset_all();
        let affected = invitation::Entity::update_many()
            .set(row)
            .filter(invitation::Column::Id.eq(value.id.as_uuid()))
            .filter(invitation::Column::State.eq(codec::invitation_state_text(expected)))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        conditional::<invitation::Entity>(&self.txn, affected, value.id.as_uuid(), "invitation").await
    }
    async fn invitation(&mut self, id: InvitationId) -> Result<Option<Invitation>, RepoError> {
        let row = invitation::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::invitation_from_row).transpose()
    }
    async fn invitation_by_token(&mut self, hash: &TokenHash) -> Result<Option<Invitation>, RepoError> {
        let row = invitation::Entity::find()
            .filter(invitation::Column::TokenHash.eq(hash.as_str()))
            .one(&self.txn)
            .await
            .map_err(repo)?;
        row.map(codec::invitation_from_row).transpose()
    }
    async fn pending_invitation_for(
        &mut self,
        root: AccountId,
        email: &Email,
    ) -> Result<Option<Invitation>, RepoError> {
        let row = invitation::Entity::find()
            .filter(invitation::Column::RootId.eq(root.as_uuid()))
            .filter(invitation::Column::Email.eq(email.as_str()))
            .filter(invitation::Column::State.eq(codec::invitation_state_text(InvitationState::Pending)))
            .one(&self.txn)
            .await
            .map_err(repo)?;
        row.map(codec::invitation_from_row).transpose()
    }
    async fn erase_invitations_to(
        &mut self,
        root: AccountId,
        email: &Email,
        replacement: &Email,
    ) -> Result<(), RepoError> {
        let matching = || {
            Condition::all()
                .add(invitation::Column::RootId.eq(root.as_uuid()))
                .add(invitation::Column::Email.eq(email.as_str()))
        };
        invitation::Entity::update_many()
            .col_expr(
                invitation::Column::State,
                Expr::value(codec::invitation_state_text(InvitationState::Revoked)),
            )
            .filter(matching())
            .filter(invitation::Column::State.eq(codec::invitation_state_text(InvitationState::Pending)))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        invitation::Entity::update_many()
            .col_expr(invitation::Column::Email, Expr::value(replacement.as_str()))
            .filter(matching())
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }
    async fn list_invitations(&mut self, query: &InvitationQuery) -> Result<Page<Invitation>, RepoError> {
        let mut select =
            invitation::Entity::find().filter(invitation::Column::RootId.eq(query.root.as_uuid()));
        if let Some(within) =
            within_condition(&self.txn, invitation::Column::AccountId, &query.within).await?
        {
            select = select.filter(within);
        }
        let pending = codec::invitation_state_text(InvitationState::Pending);
        let now = query.now.unix_micros();
        select = match query.status {
            None => select,
            Some(InvitationStatus::Pending) => select
                .filter(invitation::Column::State.eq(pending))
                .filter(invitation::Column::ExpiresAt.gt(now)),
            Some(InvitationStatus::Expired) => select
                .filter(invitation::Column::State.eq(pending))
                .filter(invitation::Column::ExpiresAt.lte(now)),
            Some(InvitationStatus::Accepted) => select.filter(
                invitation::Column::State.eq(codec::invitation_state_text(InvitationState::Accepted)),
            ),
            Some(InvitationStatus::Revoked) => select
                .filter(invitation::Column::State.eq(codec::invitation_state_text(InvitationState::Revoked))),
        };
        if let Some(cursor) = &query.page.after {
            select = select.filter(after(
                invitation::Column::CreatedAt,
                invitation::Column::Id,
                time_cursor(cursor),
                cursor.id,
                false,
            ));
        }
        let rows = select
            .order_by_asc(invitation::Column::CreatedAt)
            .order_by_asc(invitation::Column::Id)
            .limit(u64::from(query.page.limit) + 1)
            .all(&self.txn)
            .await
            .map_err(repo)?;
        let cursor = |r: &invitation::Model| Cursor::at_time(codec_time(r.created_at), r.id);
        page_of(rows, &query.page, cursor, codec::invitation_from_row)
    }

    async fn insert_contact(&mut self, contact: &Contact) -> Result<(), RepoError> {
        insert(&self.txn, codec::contact_row(contact).into_active_model()).await
    }
    async fn link_contact(&mut self, id: ContactId, user: UserId) -> Result<(), RepoError> {
        let affected = contact::Entity::update_many()
            .col_expr(contact::Column::UserId, Expr::val(user.as_uuid()))
            .filter(contact::Column::Id.eq(id.as_uuid()))
            .filter(contact::Column::UserId.is_null())
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        conditional::<contact::Entity>(&self.txn, affected, id.as_uuid(), "contact").await
    }
    async fn contact(&mut self, id: ContactId) -> Result<Option<Contact>, RepoError> {
        let row = contact::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::contact_from_row).transpose()
    }
    async fn erase_contact(&mut self, id: ContactId) -> Result<(), RepoError> {
        contact::Entity::update_many()
            .col_expr(contact::Column::FirstName, Expr::value(Option::<String>::None))
            .col_expr(contact::Column::LastName, Expr::value(Option::<String>::None))
            .col_expr(contact::Column::Email, Expr::value(Option::<String>::None))
            .col_expr(contact::Column::Phone, Expr::value(Option::<String>::None))
            .filter(contact::Column::Id.eq(id.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }
    async fn list_contacts(&mut self, query: &ContactQuery) -> Result<Page<Contact>, RepoError> {
        let mut select = contact::Entity::find().filter(contact::Column::RootId.eq(query.root.as_uuid()));
        if let Some(within) = within_condition(&self.txn, contact::Column::AccountId, &query.within).await? {
            select = select.filter(within);
        }
        if let Some(cursor) = &query.page.after {
            select = select.filter(after(
                contact::Column::CreatedAt,
                contact::Column::Id,
                time_cursor(cursor),
                cursor.id,
                false,
            ));
        }
        let rows = select
            .order_by_asc(contact::Column::CreatedAt)
            .order_by_asc(contact::Column::Id)
            .limit(u64::from(query.page.limit) + 1)
            .all(&self.txn)
            .await
            .map_err(repo)?;
        let cursor = |r: &contact::Model| Cursor::at_time(codec_time(r.created_at), r.id);
        page_of(rows, &query.page, cursor, codec::contact_from_row)
    }

    async fn insert_device(&mut self, device: &Device) -> Result<(), RepoError> {
        insert(&self.txn, codec::device_row(device).into_active_model()).await
    }
    async fn delete_device(&mut self, id: DeviceId) -> Result<(), RepoError> {
        let affected =
            device::Entity::delete_by_id(id.as_uuid()).exec(&self.txn).await.map_err(repo)?.rows_affected;
        not_found("device")(affected)
    }
    async fn devices(&mut self, user: UserId) -> Result<Vec<Device>, RepoError> {
        device::Entity::find()
            .filter(device::Column::UserId.eq(user.as_uuid()))
            .order_by_asc(device::Column::Id)
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::device_from_row)
            .collect()
    }

    async fn insert_session(&mut self, session: &Session) -> Result<(), RepoError> {
        insert(&self.txn, codec::session_row(session).into_active_model()).await
    }
    async fn session_by_token(&mut self, hash: &TokenHash) -> Result<Option<Session>, RepoError> {
        let row = session::Entity::find()
            .filter(session::Column::TokenHash.eq(hash.as_str()))
            .one(&self.txn)
            .await
            .map_err(repo)?;
        row.map(codec::session_from_row).transpose()
    }
    async fn delete_session(&mut self, hash: &TokenHash) -> Result<(), RepoError> {
        session::Entity::delete_many()
            .filter(session::Column::TokenHash.eq(hash.as_str()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }
    async fn sessions_of(&mut self, user: UserId) -> Result<Vec<Session>, RepoError> {
        let rows = session::Entity::find()
            .filter(session::Column::UserId.eq(user.as_uuid()))
            .order_by_desc(session::Column::CreatedAt)
            .order_by_desc(session::Column::Id)
            .all(&self.txn)
            .await
            .map_err(repo)?;
        rows.into_iter().map(codec::session_from_row).collect()
    }
    async fn session(&mut self, id: SessionId) -> Result<Option<Session>, RepoError> {
        let row = session::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::session_from_row).transpose()
    }
    async fn delete_session_by_id(&mut self, id: SessionId) -> Result<(), RepoError> {
        session::Entity::delete_by_id(id.as_uuid()).exec(&self.txn).await.map_err(repo)?;
        Ok(())
    }
    async fn touch_session(&mut self, id: SessionId, at: Timestamp) -> Result<(), RepoError> {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(at.unix_micros()))
            .filter(session::Column::Id.eq(id.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }
    async fn delete_sessions_of(&mut self, user: UserId) -> Result<u64, RepoError> {
        Ok(session::Entity::delete_many()
            .filter(session::Column::UserId.eq(user.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected)
    }

    async fn insert_token(&mut self, token: &OneTimeToken) -> Result<(), RepoError> {
        insert(&self.txn, codec::token_row(token).into_active_model()).await
    }
    async fn token_by_hash(&mut self, hash: &TokenHash) -> Result<Option<OneTimeToken>, RepoError> {
        let row = one_time_token::Entity::find()
            .filter(one_time_token::Column::TokenHash.eq(hash.as_str()))
            .one(&self.txn)
            .await
            .map_err(repo)?;
        row.map(codec::token_from_row).transpose()
    }
    async fn consume_token(&mut self, id: TokenId, now: Timestamp) -> Result<(), RepoError> {
        // Single use (R13): only the first of concurrent redemptions finds `used_at` empty.
        let affected = one_time_token::Entity::update_many()
            .col_expr(one_time_token::Column::UsedAt, Expr::val(now.unix_micros()))
            .filter(one_time_token::Column::Id.eq(id.as_uuid()))
            .filter(one_time_token::Column::UsedAt.is_null())
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        conditional::<one_time_token::Entity>(&self.txn, affected, id.as_uuid(), "token").await
    }
    async fn retire_tokens(
        &mut self,
        user: UserId,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<(), RepoError> {
        one_time_token::Entity::update_many()
            .col_expr(one_time_token::Column::UsedAt, Expr::val(now.unix_micros()))
            .filter(one_time_token::Column::UserId.eq(user.as_uuid()))
            .filter(one_time_token::Column::Purpose.eq(codec::purpose_text(purpose)))
            .filter(one_time_token::Column::UsedAt.is_null())
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError> {
        insert(&self.txn, codec::api_key_row(key)?.into_active_model()).await
    }
    async fn update_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError> {
        let row = codec::api_key_row(key)?.into_active_model().reset_all();
        let affected = api_key::Entity::update_many()
            .set(row)
            .filter(api_key::Column::Id.eq(key.id.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        not_found("api key")(affected)
    }
    async fn api_key(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError> {
        let row = api_key::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::api_key_from_row).transpose()
    }
    async fn api_key_by_token(&mut self, hash: &TokenHash) -> Result<Option<ApiKey>, RepoError> {
        let row = api_key::Entity::find()
            .filter(api_key::Column::TokenHash.eq(hash.as_str()))
            .one(&self.txn)
            .await
            .map_err(repo)?;
        row.map(codec::api_key_from_row).transpose()
    }
    async fn api_keys(&mut self, account: AccountId) -> Result<Vec<ApiKey>, RepoError> {
        api_key::Entity::find()
            .filter(api_key::Column::AccountId.eq(account.as_uuid()))
            .order_by_asc(api_key::Column::CreatedAt)
            .order_by_asc(api_key::Column::Id)
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::api_key_from_row)
            .collect()
    }

    async fn append_audit(&mut self, event: &AuditEvent) -> Result<(), RepoError> {
        insert(&self.txn, codec::audit_row(event)?.into_active_model()).await
    }
    async fn list_audit(&mut self, query: &AuditQuery) -> Result<Page<AuditEvent>, RepoError> {
        let mut select =
            audit_event::Entity::find().filter(audit_event::Column::RootId.eq(query.root.as_uuid()));
        if let Some(within) =
            within_condition(&self.txn, audit_event::Column::AccountId, &query.within).await?
        {
            select = select.filter(within);
        }
        if let Some(cursor) = &query.page.after {
            select = select.filter(after(
                audit_event::Column::At,
                audit_event::Column::Id,
                time_cursor(cursor),
                cursor.id,
                true,
            ));
        }
        let rows = select
            .order_by_desc(audit_event::Column::At)
            .order_by_desc(audit_event::Column::Id)
            .limit(u64::from(query.page.limit) + 1)
            .all(&self.txn)
            .await
            .map_err(repo)?;
        let cursor = |r: &audit_event::Model| Cursor::at_time(codec_time(r.at), r.id);
        page_of(rows, &query.page, cursor, codec::audit_from_row)
    }
    async fn redact_audit_subject(&mut self, user: UserId) -> Result<(), RepoError> {
        let rows = audit_event::Entity::find()
            .filter(audit_event::Column::TargetKind.eq("user"))
            .filter(audit_event::Column::TargetId.eq(user.to_string()))
            .all(&self.txn)
            .await
            .map_err(repo)?;
        for row in rows {
            let diff: serde_json::Value =
                serde_json::from_str(&row.diff).map_err(|e| RepoError::corrupt("audit event", e))?;
            let redacted = usher_domain::redact::redact_personal_data(&diff);
            audit_event::Entity::update_many()
                .col_expr(audit_event::Column::Diff, Expr::val(codec::to_json("audit event", &redacted)?))
                .filter(audit_event::Column::Id.eq(row.id))
                .exec(&self.txn)
                .await
                .map_err(repo)?;
        }
        Ok(())
    }
    async fn enqueue_mail(&mut self, mail: &OutboxMail) -> Result<(), RepoError> {
        insert(&self.txn, codec::mail_row(mail)?.into_active_model()).await
    }
    async fn list_mail(&mut self, query: &MailQuery) -> Result<Page<QueuedMail>, RepoError> {
        let mut select = outbox::Entity::find().filter(outbox::Column::RootId.eq(query.root.as_uuid()));
        if let Some(within) = within_condition(&self.txn, outbox::Column::AccountId, &query.within).await? {
            select = select.filter(within);
        }
        if let Some(state) = query.state {
            select = select.filter(outbox::Column::State.eq(state.as_str()));
        }
        if let Some(cursor) = &query.page.after {
            select = select.filter(after(
                outbox::Column::CreatedAt,
                outbox::Column::Id,
                time_cursor(cursor),
                cursor.id,
                false,
            ));
        }
        let rows = select
            .order_by_asc(outbox::Column::CreatedAt)
            .order_by_asc(outbox::Column::Id)
            .limit(u64::from(query.page.limit) + 1)
            .all(&self.txn)
            .await
            .map_err(repo)?;
        let cursor = |r: &outbox::Model| Cursor::at_time(codec_time(r.created_at), r.id);
        page_of(rows, &query.page, cursor, codec::queued_from_row)
    }
    async fn queued_mail(&mut self, id: MailId) -> Result<Option<QueuedMail>, RepoError> {
        let row = outbox::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::queued_from_row).transpose()
    }
    async fn erase_mail_to(
        &mut self,
        root: AccountId,
        email: &Email,
        replacement: &Email,
        username: &str,
    ) -> Result<(), RepoError> {
        let matching = || {
            Condition::all()
                .add(outbox::Column::RootId.eq(root.as_uuid()))
                .add(outbox::Column::Recipient.eq(email.as_str()))
        };
        outbox::Entity::delete_many()
            .filter(matching())
            .filter(outbox::Column::State.eq(DeliveryState::Pending.as_str()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        let rows = outbox::Entity::find().filter(matching()).all(&self.txn).await.map_err(repo)?;
        for row in rows {
            let message = codec::erased_message(&row.message, username)?;
            outbox::Entity::update_many()
                .col_expr(outbox::Column::Recipient, Expr::value(replacement.as_str()))
                .col_expr(outbox::Column::Message, Expr::value(message))
                .filter(outbox::Column::Id.eq(row.id))
                .exec(&self.txn)
                .await
                .map_err(repo)?;
        }
        Ok(())
    }
    async fn discard_mail(&mut self, id: MailId) -> Result<(), RepoError> {
        outbox::Entity::delete_by_id(id.as_uuid()).exec(&self.txn).await.map_err(repo)?;
        Ok(())
    }
    async fn retry_mail(&mut self, id: MailId, at: Timestamp) -> Result<bool, RepoError> {
        let result = outbox::Entity::update_many()
            .col_expr(outbox::Column::State, Expr::value(DeliveryState::Pending.as_str()))
            .col_expr(outbox::Column::Attempts, Expr::value(0))
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(at.unix_micros()))
            .filter(outbox::Column::Id.eq(id.as_uuid()))
            .filter(outbox::Column::State.eq(DeliveryState::Failed.as_str()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(result.rows_affected == 1)
    }
    async fn claim_mail(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, RepoError> {
        // One statement: pick the due rows (skipping those another dispatcher holds on
        // PostgreSQL; SQLite has one writer), push their next attempt to the lease's end and
        // count the attempt, answering the rows as they are now.
        let sql = match self.backend {
            DatabaseBackend::Postgres => {
                "UPDATE outbox SET next_attempt_at = $2, attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, created_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING *"
            }
            _ => {
                "UPDATE outbox SET next_attempt_at = ?2, attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?1 \
                 ORDER BY next_attempt_at, created_at, id LIMIT ?3) RETURNING *"
            }
        };
        let statement = Statement::from_sql_and_values(
            self.backend,
            sql,
            [now.unix_micros().into(), lease_until.unix_micros().into(), i64::from(limit).into()],
        );
        let mut rows = outbox::Entity::find().from_raw_sql(statement).all(&self.txn).await.map_err(repo)?;
        rows.sort_by_key(|row| (row.created_at, row.id));
        rows.into_iter()
            .map(|row| {
                let attempts = u32::try_from(row.attempts).map_err(|e| RepoError::corrupt("mail", e))?;
                Ok(ClaimedMail { mail: codec::mail_from_row(row)?, attempts })
            })
            .collect()
    }

    async fn mark_mail_sent(&mut self, mail: &OutboxMail, at: Timestamp) -> Result<(), RepoError> {
        let id = mail.id;
        let forgotten = codec::to_json("mail", &mail.message.without_token())?;
        let result = outbox::Entity::update_many()
            .col_expr(outbox::Column::State, Expr::value(DeliveryState::Sent.as_str()))
            .col_expr(outbox::Column::Message, Expr::value(forgotten))
            .col_expr(outbox::Column::SentAt, Expr::value(at.unix_micros()))
            .col_expr(outbox::Column::LastError, Expr::value(Option::<String>::None))
            .filter(outbox::Column::Id.eq(id.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        conditional::<outbox::Entity>(&self.txn, result.rows_affected, id.as_uuid(), "mail").await
    }

    async fn mark_mail_failed(
        &mut self,
        id: MailId,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<(), RepoError> {
        let error: String = error.chars().take(1000).collect();
        let mut update =
            outbox::Entity::update_many().col_expr(outbox::Column::LastError, Expr::value(error));
        update = match retry_at {
            Some(at) => update.col_expr(outbox::Column::NextAttemptAt, Expr::value(at.unix_micros())),
            None => update.col_expr(outbox::Column::State, Expr::value(DeliveryState::Failed.as_str())),
        };
        let result =
            update.filter(outbox::Column::Id.eq(id.as_uuid())).exec(&self.txn).await.map_err(repo)?;
        conditional::<outbox::Entity>(&self.txn, result.rows_affected, id.as_uuid(), "mail").await
    }

    async fn record_login_failure(&mut self, key: &str, at: Timestamp) -> Result<(), RepoError> {
        let row = login_failure::ActiveModel {
            key: sea_orm::ActiveValue::Set(key.to_owned()),
            at: sea_orm::ActiveValue::Set(at.unix_micros()),
            ..Default::default()
        };
        insert(&self.txn, row).await
    }
    async fn login_failures_since(
        &mut self,
        key: &str,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, RepoError> {
        let rows = login_failure::Entity::find()
            .filter(login_failure::Column::Key.eq(key))
            .filter(login_failure::Column::At.gt(since.unix_micros()))
            .order_by_asc(login_failure::Column::At)
            .all(&self.txn)
            .await
            .map_err(repo)?;
        rows.into_iter().map(|r| codec::time("login failure", r.at)).collect()
    }
    async fn clear_login_failures(&mut self, key: &str) -> Result<(), RepoError> {
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::Key.eq(key))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }
    async fn forget_login_failures_before(&mut self, before: Timestamp) -> Result<u64, RepoError> {
        let result = login_failure::Entity::delete_many()
            .filter(login_failure::Column::At.lte(before.unix_micros()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(result.rows_affected)
    }
}

/// A stored time for a cursor; an out-of-range value sorts as the epoch (the row itself then
/// fails to parse and reports the corruption).
fn codec_time(micros: i64) -> Timestamp {
    Timestamp::from_unix_micros(micros)
        .unwrap_or_else(|| Timestamp::from_datetime(time::OffsetDateTime::UNIX_EPOCH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_upper_bound_is_the_next_string_after_the_prefix_range() {
        assert_eq!(prefix_upper_bound("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound(""), None);
        assert!("abcz" < "abd" && "abc" >= "abc");
    }
}
