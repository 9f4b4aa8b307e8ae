//! Seat pools (R1): one row per seat-consuming user type, whose `used` and `reserved` the
//! triggers of migration 6 keep in the statements that write users and invitations. Reading
//! the figures is one row, whatever the number of users; see that migration for how expired
//! invitations stop counting.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

use usher_domain::error::RepoError;
use usher_domain::id::{AccountId, UserTypeId};
use usher_domain::model::{InvitationState, SeatUsage, UserState};
use usher_domain::time::Timestamp;

use super::SqlTx;
use crate::codec;
use crate::entity::{invitation, seat_pool, user};
use crate::error::repo;

impl SqlTx {
    /// The seat figures at `now`. With `lock`, the pool stays locked until the transaction
    /// ends and the invitations that expired since the last sweep are swept; without, they are
    /// only subtracted from what is returned. A type without a pool (one that consumes no seat)
    /// is counted instead: its figures are informative only, and no write keeps them.
    pub(super) async fn seat_figures(
        &self,
        root: AccountId,
        user_type: UserTypeId,
        now: Timestamp,
        lock: bool,
    ) -> Result<SeatUsage, RepoError> {
        let mut pool = self.pool(root, user_type, lock).await?;
        if pool.is_none() && lock {
            self.open_pool(root, user_type).await?;
            pool = self.pool(root, user_type, lock).await?;
        }
        let Some(mut pool) = pool else {
            return self.counted_figures(root, user_type, now.unix_micros()).await;
        };
        let now = now.unix_micros();
        if pool.reserved > 0 && now > pool.swept_at {
            let expired = self.expired_reservations(&pool, now).await?;
            if expired > 0 && lock {
                seat_pool::Entity::update_many()
                    .col_expr(
                        seat_pool::Column::Reserved,
                        Expr::col(seat_pool::Column::Reserved).sub(expired),
                    )
                    .col_expr(seat_pool::Column::SweptAt, Expr::val(now))
                    .filter(seat_pool::Column::RootId.eq(pool.root_id))
                    .filter(seat_pool::Column::UserTypeId.eq(pool.user_type_id))
                    .exec(&self.txn)
                    .await
                    .map_err(repo)?;
            }
            pool.reserved -= expired;
        }
        let figure =
            |n: i64| u32::try_from(n).map_err(|_| RepoError::corrupt("seat pool", "figure out of range"));
        Ok(SeatUsage {
            user_type,
            total: figure(pool.total)?,
            used: figure(pool.used)?,
            reserved: figure(pool.reserved)?,
        })
    }

    /// The pool row. Locking it serialises every transaction allocating seats of the pool
    /// (R1): on PostgreSQL with `FOR UPDATE`, in a statement of its own so that what this
    /// transaction reads next is read after the lock was granted; on SQLite, `BEGIN IMMEDIATE`
    /// already made this transaction the only writer.
    async fn pool(
        &self,
        root: AccountId,
        user_type: UserTypeId,
        lock: bool,
    ) -> Result<Option<seat_pool::Model>, RepoError> {
        let mut find = seat_pool::Entity::find_by_id((root.as_uuid(), user_type.as_uuid()));
        if lock && self.backend == DatabaseBackend::Postgres {
            find = find.lock_exclusive();
        }
        find.one(&self.txn).await.map_err(repo)
    }

    /// Pending invitations the pool still counts that have expired by `now`: an index range
    /// of the invitations that expired since the last sweep, usually empty.
    async fn expired_reservations(&self, pool: &seat_pool::Model, now: i64) -> Result<i64, RepoError> {
        let expired = invitation::Entity::find()
            .filter(invitation::Column::UserTypeId.eq(pool.user_type_id))
            .filter(invitation::Column::State.eq(codec::invitation_state_text(InvitationState::Pending)))
            .filter(invitation::Column::ExpiresAt.gt(pool.swept_at))
            .filter(invitation::Column::ExpiresAt.lte(now))
            .filter(invitation::Column::RootId.eq(pool.root_id))
            .count(&self.txn)
            .await
            .map_err(repo)?;
        i64::try_from(expired).map_err(|_| RepoError::corrupt("seat pool", "figure out of range"))
    }

    /// Opens the pool of a user type with `total` 0 and the figures counted once from the
    /// users and invitations already there (as swept at time 0: the first lock sweeps those
    /// that expired); nothing when it exists.
    pub(super) async fn open_pool(&self, root: AccountId, user_type: UserTypeId) -> Result<(), RepoError> {
        let (used, reserved) = counts(root, user_type, 0);
        let figures = Query::select()
            .expr(Expr::val(root.as_uuid()))
            .expr(Expr::val(user_type.as_uuid()))
            .expr(Expr::val(0_i64))
            .expr(Expr::SubQuery(None, Box::new(used.into())))
            .expr(Expr::SubQuery(None, Box::new(reserved.into())))
            .expr(Expr::val(0_i64))
            // SQLite reads `ON CONFLICT` after a SELECT without WHERE as a join's ON.
            .and_where(Expr::val(1).eq(1))
            .to_owned();
        let insert = Query::insert()
            .into_table(seat_pool::Entity)
            .columns([
                seat_pool::Column::RootId,
                seat_pool::Column::UserTypeId,
                seat_pool::Column::Total,
                seat_pool::Column::Used,
                seat_pool::Column::Reserved,
                seat_pool::Column::SweptAt,
            ])
            .select_from(figures)
            .map_err(RepoError::backend)?
            .on_conflict(
                OnConflict::columns([seat_pool::Column::RootId, seat_pool::Column::UserTypeId])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        self.txn.execute(&insert).await.map_err(repo)?;
        Ok(())
    }

    /// The figures of a type without a pool, counted from the rows.
    async fn counted_figures(
        &self,
        root: AccountId,
        user_type: UserTypeId,
        now: i64,
    ) -> Result<SeatUsage, RepoError> {
        let (used, reserved) = counts(root, user_type, now);
        let statement = Query::select()
            .expr(Expr::SubQuery(None, Box::new(used.into())))
            .expr(Expr::SubQuery(None, Box::new(reserved.into())))
            .to_owned();
        let row = self.txn.query_one(&statement).await.map_err(repo)?;
        let Some(row) = row else { return Err(RepoError::NotFound { entity: "seat pool" }) };
        let (used, reserved): (i64, i64) = row.try_get_many_by_index().map_err(repo)?;
        let figure =
            |n: i64| u32::try_from(n).map_err(|_| RepoError::corrupt("seat pool", "figure out of range"));
        Ok(SeatUsage { user_type, total: 0, used: figure(used)?, reserved: figure(reserved)? })
    }
}

/// The users that hold a seat of the type and the invitations that reserve one at `now`, as
/// `User::holds_seat` and `Invitation::reserves_seat` define them: active; pending and
/// unexpired at `now` (microseconds).
fn counts(root: AccountId, user_type: UserTypeId, now: i64) -> (SelectStatement, SelectStatement) {
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
        .and_where(invitation::Column::ExpiresAt.gt(now))
        .and_where(invitation::Column::RootId.eq(root.as_uuid()))
        .to_owned();
    (used, reserved)
}
