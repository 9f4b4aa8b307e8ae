//! The public event feed: the [`EventRepo`] of the SQL store. See migration 7 for how events
//! are numbered after they commit.

use super::*;
use std::fmt::Write as _;

#[async_trait]
impl EventRepo for SqlTx {
    async fn append_events(&mut self, events: &[PublicEvent]) -> Result<(), RepoError> {
        let rows = events.iter().map(codec::event_row).collect::<Result<Vec<_>, _>>()?;
        insert_all(&self.txn, rows).await
    }

    async fn sequence_events(&mut self, limit: u32) -> Result<u32, RepoError> {
        // One sequencer at a time, here and in every other instance: what it reads below was
        // committed before it took the lock, and whatever commits later is numbered later.
        let mut lock = event_sequencer::Entity::find_by_id(1);
        if self.backend == DatabaseBackend::Postgres {
            // On SQLite `BEGIN IMMEDIATE` already made this transaction the only writer.
            lock = lock.lock_exclusive();
        }
        lock.one(&self.txn).await.map_err(repo)?;
        let pending: Vec<(i64, Uuid)> = event::Entity::find()
            .select_only()
            .column(event::Column::Pos)
            .column(event::Column::RootId)
            .filter(event::Column::Seq.is_null())
            .order_by_asc(event::Column::Pos)
            .limit(u64::from(limit))
            .into_tuple()
            .all(&self.txn)
            .await
            .map_err(repo)?;
        if pending.is_empty() {
            return Ok(0);
        }
        let roots: BTreeSet<Uuid> = pending.iter().map(|(_, root)| *root).collect();
        let mut last: BTreeMap<Uuid, i64> = event_counter::Entity::find()
            .filter(event_counter::Column::RootId.is_in(roots.iter().copied()))
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(|counter| (counter.root_id, counter.last_seq))
            .collect();
        // Numbers are integers we computed, so the statement is written out rather than bound:
        // one statement for the whole batch, whatever its size. The numbers are a list the
        // events are joined with (`column1` and `column2` name a VALUES list's columns on both
        // backends): a CASE of one branch per event would compare every row with every branch.
        let mut numbers = String::with_capacity(pending.len() * 16);
        for (pos, root) in &pending {
            let number = last.entry(*root).or_default();
            *number += 1;
            let separator = if numbers.is_empty() { "" } else { "," };
            let _ = write!(numbers, "{separator}({pos},{number})");
        }
        let sql = format!(
            "UPDATE events SET seq = numbered.column2 FROM (VALUES {numbers}) AS numbered \
             WHERE events.pos = numbered.column1"
        );
        self.txn.execute_unprepared(&sql).await.map_err(repo)?;
        let counters = last
            .into_iter()
            .map(|(root_id, last_seq)| event_counter::Model { root_id, last_seq }.into_active_model());
        event_counter::Entity::insert_many(counters)
            .on_conflict(
                OnConflict::column(event_counter::Column::RootId)
                    .update_column(event_counter::Column::LastSeq)
                    .to_owned(),
            )
            .exec_without_returning(&self.txn)
            .await
            .map_err(repo)?;
        u32::try_from(pending.len()).map_err(|_| RepoError::corrupt("event", "batch out of range"))
    }

    async fn has_unnumbered_events(&mut self) -> Result<bool, RepoError> {
        let waiting = event::Entity::find()
            .select_only()
            .column(event::Column::Pos)
            .filter(event::Column::Seq.is_null())
            .limit(1)
            .into_tuple::<i64>()
            .one(&self.txn)
            .await
            .map_err(repo)?;
        Ok(waiting.is_some())
    }

    async fn list_events(&mut self, query: &EventQuery) -> Result<Vec<PublicEvent>, RepoError> {
        let after = i64::try_from(query.after).unwrap_or(i64::MAX);
        let mut select = event::Entity::find()
            .filter(event::Column::RootId.eq(query.root.as_uuid()))
            .filter(event::Column::Seq.gt(after));
        if !query.types.types().is_empty() {
            select = select.filter(event::Column::Kind.is_in(query.types.types().iter().copied()));
        }
        if let Some(within) =
            within_condition(&self.txn, event::Column::AccountId, &query.within, query.root).await?
        {
            select = select.filter(within);
        }
        select
            .order_by_asc(event::Column::Seq)
            .limit(u64::from(query.limit))
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::event_from_row)
            .collect()
    }

    async fn forget_events(&mut self, before: Timestamp, limit: u32) -> Result<u32, RepoError> {
        let oldest = Query::select()
            .column(event::Column::Pos)
            .from(event::Entity)
            .and_where(event::Column::OccurredAt.lt(before.unix_micros()))
            .limit(u64::from(limit))
            .to_owned();
        let deleted = event::Entity::delete_many()
            .filter(event::Column::Pos.in_subquery(oldest))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        u32::try_from(deleted.rows_affected).map_err(|_| RepoError::corrupt("event", "count out of range"))
    }

    async fn redact_event_subject(&mut self, user: UserId) -> Result<(), RepoError> {
        let rows = event::Entity::find()
            .filter(event::Column::SubjectKind.eq("user"))
            .filter(event::Column::SubjectId.eq(user.to_string()))
            .all(&self.txn)
            .await
            .map_err(repo)?;
        for row in rows {
            let redact = |text: &str| -> Result<String, RepoError> {
                let value: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| RepoError::corrupt("event", e))?;
                codec::to_json("event", &usher_domain::redact::redact_personal_data(&value))
            };
            event::Entity::update_many()
                .col_expr(event::Column::Data, Expr::val(redact(&row.data)?))
                .col_expr(event::Column::Changes, Expr::val(redact(&row.changes)?))
                .filter(event::Column::Pos.eq(row.pos))
                .exec(&self.txn)
                .await
                .map_err(repo)?;
        }
        Ok(())
    }
}
