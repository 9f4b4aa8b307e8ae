//! The audit log: the [`AuditRepo`] of the SQL store.

use super::*;
use sea_orm::sea_query::LikeExpr;
use usher_domain::model::ActorRef;

#[async_trait]
impl AuditRepo for SqlTx {
    async fn append_audit(&mut self, event: &AuditEvent) -> Result<(), RepoError> {
        insert(&self.txn, codec::audit_row(event)?.into_active_model()).await
    }

    async fn append_audits(&mut self, events: &[AuditEvent]) -> Result<(), RepoError> {
        let rows = events
            .iter()
            .map(|event| codec::audit_row(event).map(IntoActiveModel::into_active_model))
            .collect::<Result<Vec<_>, _>>()?;
        insert_all(&self.txn, rows).await
    }

    async fn list_audit(&mut self, query: &AuditQuery) -> Result<Page<AuditEvent>, RepoError> {
        let mut select =
            audit_event::Entity::find().filter(audit_event::Column::RootId.eq(query.root.as_uuid()));
        if let Some(within) =
            within_condition(&self.txn, audit_event::Column::AccountId, &query.within, query.root).await?
        {
            select = select.filter(within);
        }
        let filter = &query.filter;
        if let Some(actor) = filter.actor {
            // A user's events carry its id in a column; a key's are found by their actor text.
            let key = codec::actor_to_json(&ActorRef::ApiKey(ApiKeyId::from_uuid(actor)))?;
            select = select.filter(
                Condition::any()
                    .add(audit_event::Column::ActorUser.eq(actor))
                    .add(audit_event::Column::Actor.eq(key)),
            );
        }
        if let Some(kind) = &filter.target_kind {
            select = select.filter(audit_event::Column::TargetKind.eq(kind.as_str()));
        }
        if let Some(id) = &filter.target_id {
            select = select.filter(audit_event::Column::TargetId.eq(id.as_str()));
        }
        if let Some(action) = &filter.action {
            select = match action.strip_suffix('.') {
                // A checked action is lower-case letters, `_` and `.`: `_` is escaped for LIKE.
                Some(_) => select.filter(
                    audit_event::Column::Action
                        .like(LikeExpr::new(format!("{}%", action.replace('_', "\\_"))).escape('\\')),
                ),
                None => select.filter(audit_event::Column::Action.eq(action.as_str())),
            };
        }
        if let Some(since) = filter.since {
            select = select.filter(audit_event::Column::At.gte(since.unix_micros()));
        }
        if let Some(until) = filter.until {
            select = select.filter(audit_event::Column::At.lt(until.unix_micros()));
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
