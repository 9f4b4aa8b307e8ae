//! The [`Tx`] port on a sea-orm transaction: every method is one or a few statements on the
//! same connection, so a use case's change, audit event and mail commit together (R20).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, OnConflict, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr,
    EntityTrait, FromQueryResult, IdenStatic, IntoActiveModel, Iterable, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select, Statement,
};
use uuid::Uuid;

use usher_domain::error::RepoError;
use usher_domain::id::{
    AccountId, ApiKeyId, ContactId, DeliveryId, DeviceId, ImportId, InvitationId, MailId, RoleId, SessionId,
    SigningKeyId, TokenId, UserId, UserTypeId, WebhookId,
};
use usher_domain::model::{
    Account, ApiKey, AuditEvent, Contact, DeliveryState, Device, ExternalIdentity, ImportJob, Invitation,
    InvitationState, InvitationStatus, OneTimeToken, OutboxMail, PublicEvent, QueuedMail, Role, RowKind,
    RowReport, SearchOrder, SearchPage, SeatUsage, Session, Settings, SigningKey, StagedRow, TokenPurpose,
    User, UserState, UserType, Webhook, WebhookDelivery, WebhookDeliveryStatus,
};
use usher_domain::ports::{
    AccountContext, AccountRepo, AuditQuery, AuditRepo, CatalogRepo, ClaimedMail, ContactQuery, ContactRepo,
    CredentialRepo, Cursor, EventQuery, EventRepo, ImportRepo, InvitationQuery, InvitationRepo, MailQuery,
    OutboxRepo, Page, PageRequest, Tx, UserQuery, UserRepo, UserSearch, WebhookRepo,
};
use usher_domain::time::Timestamp;
use usher_domain::value::{Email, ExternalId, PasswordHash, Slug, TokenHash, UsernameKey};

use crate::codec;
use crate::entity::{
    account, api_key, audit_event, contact, device, event, event_counter, event_sequencer, external_identity,
    import_job, import_row, invitation, login_failure, one_time_token, outbox, password, role, seat_pool,
    session, settings, signing_key, token_cutoff, user, user_role, user_type, webhook, webhook_delivery,
};
use crate::error::repo;

mod accounts;
mod audit;
mod catalog;
mod contacts;
mod credentials;
mod events;
mod imports;
mod invitations;
mod mail;
mod search;
mod seats;
mod users;
mod webhooks;

pub(crate) struct SqlTx {
    txn: DatabaseTransaction,
    backend: DatabaseBackend,
}

impl SqlTx {
    pub(crate) fn new(txn: DatabaseTransaction, backend: DatabaseBackend) -> SqlTx {
        SqlTx { txn, backend }
    }

    /// `column` is one of `values`: on PostgreSQL one array parameter (`= ANY($1)`), planned
    /// alike whatever the count; on SQLite a list of parameters.
    fn one_of<C, V, I>(&self, column: C, values: I) -> Expr
    where
        C: ColumnTrait,
        V: Into<sea_orm::Value> + sea_orm::sea_query::postgres_array::NotU8,
        I: IntoIterator<Item = V>,
    {
        match self.backend {
            DatabaseBackend::Postgres => column.eq_any(values),
            _ => column.is_in(values),
        }
    }

    async fn user_roles(&self, users: &[Uuid]) -> Result<BTreeMap<Uuid, BTreeSet<RoleId>>, RepoError> {
        let mut roles: BTreeMap<Uuid, BTreeSet<RoleId>> = BTreeMap::new();
        if users.is_empty() {
            return Ok(roles);
        }
        let rows = user_role::Entity::find()
            .filter(self.one_of(user_role::Column::UserId, users.iter().copied()))
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

    /// The first user `select` finds, with its roles, in one statement: the user row joined to
    /// its role rows (one row per role; the user's columns repeat).
    async fn one_user(&self, select: Select<user::Entity>) -> Result<Option<User>, RepoError> {
        let found = Alias::new("u");
        let joined = Query::select()
            .column((found.clone(), Asterisk))
            .column((user_role::Entity, user_role::Column::RoleId))
            .from_subquery(select.limit(1).into_query(), found.clone())
            .left_join(
                user_role::Entity,
                Expr::col((user_role::Entity, user_role::Column::UserId)).equals((found, user::Column::Id)),
            )
            .to_owned();
        let rows = self.txn.query_all(&joined).await.map_err(repo)?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let row = user::Model::from_query_result(first, "").map_err(repo)?;
        let roles = rows
            .iter()
            .filter_map(|r| r.try_get::<Option<Uuid>>("", "role_id").map_err(repo).transpose())
            .map(|id| id.map(RoleId::from_uuid))
            .collect::<Result<BTreeSet<_>, _>>()?;
        codec::user_from_row(row, roles).map(Some)
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

/// Accounts in the subtrees of `within`, as a condition on an account-id column; `None` when
/// there is nothing to narrow: no subtree given, or the root's own (every query already names
/// the root, and a semi-join on the whole tenant would keep PostgreSQL from walking the
/// username index for a page, sorting a million users instead).
async fn within_condition<C: ColumnTrait>(
    txn: &DatabaseTransaction,
    column: C,
    within: &BTreeSet<AccountId>,
    root: AccountId,
) -> Result<Option<Condition>, RepoError> {
    if within.is_empty() || within.contains(&root) {
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
    if let Some(within) = within_condition(txn, user::Column::AccountId, &query.within, query.root).await? {
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

pub(crate) use search::page_statement as search_users_statement;

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

/// Inserts rows in multi-row statements of 1,000: PostgreSQL binds at most 65,535 values a
/// statement, and no row here has more than 27 columns.
async fn insert_all<A>(txn: &DatabaseTransaction, rows: Vec<A>) -> Result<(), RepoError>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(1_000).collect();
        <A::Entity as EntityTrait>::insert_many(batch).exec_without_returning(txn).await.map_err(repo)?;
    }
    Ok(())
}

#[async_trait]
impl Tx for SqlTx {
    async fn commit(self: Box<Self>) -> Result<(), RepoError> {
        self.txn.commit().await.map_err(repo)
    }

    async fn account_context(
        &mut self,
        id: AccountId,
        user_type: Option<UserTypeId>,
    ) -> Result<Option<AccountContext>, RepoError> {
        self.context(id, user_type).await
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
