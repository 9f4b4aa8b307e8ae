//! The mail outbox: the [`OutboxRepo`] of the SQL store.

use super::*;

#[async_trait]
impl OutboxRepo for SqlTx {
    async fn enqueue_mail(&mut self, mail: &OutboxMail) -> Result<(), RepoError> {
        insert(&self.txn, codec::mail_row(mail)?.into_active_model()).await
    }

    async fn enqueue_mails(&mut self, mails: &[OutboxMail]) -> Result<(), RepoError> {
        let rows = mails
            .iter()
            .map(|mail| codec::mail_row(mail).map(IntoActiveModel::into_active_model))
            .collect::<Result<Vec<_>, _>>()?;
        insert_all(&self.txn, rows).await
    }

    async fn list_mail(&mut self, query: &MailQuery) -> Result<Page<QueuedMail>, RepoError> {
        let mut select = outbox::Entity::find().filter(outbox::Column::RootId.eq(query.root.as_uuid()));
        if let Some(within) =
            within_condition(&self.txn, outbox::Column::AccountId, &query.within, query.root).await?
        {
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
        let forgotten = codec::message_to_json(&mail.message.without_token())?;
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
}
