//! Webhooks and their deliveries: the [`WebhookRepo`] of the SQL store. See migration 8 for
//! how a webhook holds its delivery state.

use sea_orm::ActiveValue::{NotSet, Set};

use super::*;

/// The key of a delivery in its webhook's list: its event number, zero-padded.
fn delivery_cursor(row: &webhook_delivery::Model) -> Cursor {
    Cursor { key: format!("{:020}", row.seq), id: row.id }
}

#[async_trait]
impl WebhookRepo for SqlTx {
    async fn insert_webhook(&mut self, webhook: &Webhook) -> Result<(), RepoError> {
        insert(&self.txn, codec::webhook_row(webhook)?.into_active_model()).await
    }

    async fn update_webhook(&mut self, webhook: &Webhook) -> Result<(), RepoError> {
        let stored = i64::try_from(webhook.version).map_err(|_| RepoError::corrupt("webhook", "version"))?;
        // Everything but what the fan-out and the deliverers own: the cursor and the lease.
        let mut changes = codec::webhook_row(webhook)?.into_active_model().reset_all();
        changes.id = NotSet;
        changes.cursor = NotSet;
        changes.lease_until = NotSet;
        changes.version = Set(stored.saturating_add(1));
        let result = webhook::Entity::update_many()
            .set(changes)
            .filter(webhook::Column::Id.eq(webhook.id.as_uuid()))
            .filter(webhook::Column::Version.eq(stored))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        if result.rows_affected == 0 {
            return Err(RepoError::Stale { entity: "webhook" });
        }
        Ok(())
    }

    async fn delete_webhook(&mut self, id: WebhookId) -> Result<(), RepoError> {
        webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::WebhookId.eq(id.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        webhook::Entity::delete_by_id(id.as_uuid()).exec(&self.txn).await.map_err(repo)?;
        Ok(())
    }

    async fn webhook(&mut self, id: WebhookId) -> Result<Option<Webhook>, RepoError> {
        let row = webhook::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::webhook_from_row).transpose()
    }

    async fn webhooks(
        &mut self,
        root: AccountId,
        within: &BTreeSet<AccountId>,
    ) -> Result<Vec<Webhook>, RepoError> {
        let mut select = webhook::Entity::find().filter(webhook::Column::RootId.eq(root.as_uuid()));
        if let Some(within) = within_condition(&self.txn, webhook::Column::AccountId, within, root).await? {
            select = select.filter(within);
        }
        select
            .order_by_asc(webhook::Column::CreatedAt)
            .order_by_asc(webhook::Column::Id)
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::webhook_from_row)
            .collect()
    }

    async fn webhooks_behind(&mut self) -> Result<Vec<Webhook>, RepoError> {
        // Only those with events to fan out: their cursor is behind their root's counter.
        let behind =
            "webhooks.cursor < (SELECT c.last_seq FROM event_counters c WHERE c.root_id = webhooks.root_id)";
        webhook::Entity::find()
            .filter(webhook::Column::Enabled.eq(true))
            .filter(Expr::cust(behind))
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::webhook_from_row)
            .collect()
    }

    async fn last_event_number(&mut self, root: AccountId) -> Result<u64, RepoError> {
        let counter = event_counter::Entity::find_by_id(root.as_uuid()).one(&self.txn).await.map_err(repo)?;
        Ok(counter.map_or(0, |c| u64::try_from(c.last_seq).unwrap_or_default()))
    }

    async fn fan_out(
        &mut self,
        webhook: WebhookId,
        from: u64,
        to: u64,
        deliveries: &[WebhookDelivery],
    ) -> Result<bool, RepoError> {
        let number =
            |n: u64| i64::try_from(n).map_err(|_| RepoError::corrupt("webhook", "cursor out of range"));
        let moved = webhook::Entity::update_many()
            .col_expr(webhook::Column::Cursor, Expr::val(number(to)?))
            .filter(webhook::Column::Id.eq(webhook.as_uuid()))
            .filter(webhook::Column::Cursor.eq(number(from)?))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        if moved.rows_affected == 0 {
            return Ok(false);
        }
        let rows = deliveries
            .iter()
            .map(|d| codec::delivery_row(d).map(IntoActiveModel::into_active_model))
            .collect::<Result<Vec<_>, _>>()?;
        insert_all(&self.txn, rows).await?;
        Ok(true)
    }

    async fn claim_webhooks(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Webhook>, RepoError> {
        // One statement: pick the due webhooks with something pending (skipping those another
        // instance holds on PostgreSQL; SQLite has one writer) and lease them.
        let sql = match self.backend {
            DatabaseBackend::Postgres => {
                "UPDATE webhooks SET lease_until = $2 WHERE id IN (SELECT w.id FROM webhooks w \
                 WHERE w.enabled AND w.lease_until <= $1 AND w.next_attempt_at <= $1 AND EXISTS \
                 (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending') \
                 ORDER BY w.next_attempt_at, w.id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING *"
            }
            _ => {
                "UPDATE webhooks SET lease_until = ?2 WHERE id IN (SELECT w.id FROM webhooks w \
                 WHERE w.enabled AND w.lease_until <= ?1 AND w.next_attempt_at <= ?1 AND EXISTS \
                 (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending') \
                 ORDER BY w.next_attempt_at, w.id LIMIT ?3) RETURNING *"
            }
        };
        let statement = Statement::from_sql_and_values(
            self.backend,
            sql,
            [now.unix_micros().into(), lease_until.unix_micros().into(), i64::from(limit).into()],
        );
        let rows = webhook::Entity::find().from_raw_sql(statement).all(&self.txn).await.map_err(repo)?;
        rows.into_iter().map(codec::webhook_from_row).collect()
    }

    async fn pending_deliveries(
        &mut self,
        webhook: WebhookId,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, RepoError> {
        webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::WebhookId.eq(webhook.as_uuid()))
            .filter(webhook_delivery::Column::Status.eq(WebhookDeliveryStatus::Pending.as_str()))
            .order_by_asc(webhook_delivery::Column::Seq)
            .order_by_asc(webhook_delivery::Column::Id)
            .limit(u64::from(limit))
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::delivery_from_row)
            .collect()
    }

    async fn update_delivery(&mut self, delivery: &WebhookDelivery) -> Result<(), RepoError> {
        let mut changes = codec::delivery_row(delivery)?.into_active_model().reset_all();
        changes.id = NotSet;
        webhook_delivery::Entity::update_many()
            .set(changes)
            .filter(webhook_delivery::Column::Id.eq(delivery.id.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn settle_webhook(
        &mut self,
        id: WebhookId,
        next_attempt_at: Timestamp,
        failing_since: Option<Timestamp>,
        disabled_reason: Option<String>,
    ) -> Result<(), RepoError> {
        let mut update = webhook::Entity::update_many()
            .col_expr(webhook::Column::LeaseUntil, Expr::val(0_i64))
            .col_expr(webhook::Column::NextAttemptAt, Expr::val(next_attempt_at.unix_micros()))
            .col_expr(webhook::Column::FailingSince, Expr::val(failing_since.map(|at| at.unix_micros())));
        if let Some(reason) = disabled_reason {
            update = update
                .col_expr(webhook::Column::Enabled, Expr::val(false))
                .col_expr(webhook::Column::DisabledReason, Expr::val(reason));
        }
        update.filter(webhook::Column::Id.eq(id.as_uuid())).exec(&self.txn).await.map_err(repo)?;
        Ok(())
    }

    async fn list_deliveries(
        &mut self,
        webhook: WebhookId,
        page: &PageRequest,
    ) -> Result<Page<WebhookDelivery>, RepoError> {
        let mut select = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::WebhookId.eq(webhook.as_uuid()));
        if let Some(cursor) = &page.after {
            select = select.filter(after(
                webhook_delivery::Column::Seq,
                webhook_delivery::Column::Id,
                time_cursor(cursor),
                cursor.id,
                true,
            ));
        }
        let rows = select
            .order_by_desc(webhook_delivery::Column::Seq)
            .order_by_desc(webhook_delivery::Column::Id)
            .limit(u64::from(page.limit) + 1)
            .all(&self.txn)
            .await
            .map_err(repo)?;
        page_of(rows, page, delivery_cursor, codec::delivery_from_row)
    }

    async fn delivery(&mut self, id: DeliveryId) -> Result<Option<WebhookDelivery>, RepoError> {
        let row = webhook_delivery::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::delivery_from_row).transpose()
    }
}
