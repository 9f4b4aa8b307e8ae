//! The audit log: the [`AuditRepo`] of the SQL store.

use super::*;

#[async_trait]
impl AuditRepo for SqlTx {
    async fn append_audit(&mut self, event: &AuditEvent) -> Result<(), RepoError> {
        insert(&self.txn, codec::audit_row(event)?.into_active_model()).await
    }

    async fn list_audit(&mut self, query: &AuditQuery) -> Result<Page<AuditEvent>, RepoError> {
        let mut select =
            audit_event::Entity::find().filter(audit_event::Column::RootId.eq(query.root.as_uuid()));
        if let Some(within) =
            within_condition(&self.txn, audit_event::Column::AccountId, &query.within, query.root).await?
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
}
