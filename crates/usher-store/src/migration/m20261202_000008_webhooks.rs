//! Webhooks and their deliveries (R26). A webhook's `cursor` is the last event number of its
//! root that was turned into deliveries; `next_attempt_at`, `failing_since` and `lease_until`
//! hold its delivery state, because deliveries to one webhook go out one at a time in `seq`
//! order. A delivery is unique per webhook and event.

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

const UP: &str = r#"
CREATE TABLE webhooks (
    id {uuid} PRIMARY KEY,
    root_id {uuid} NOT NULL,
    account_id {uuid} NOT NULL,
    url TEXT NOT NULL,
    types TEXT NOT NULL,
    exclude_origins TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    disabled_reason TEXT,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until BIGINT,
    cursor BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    failing_since BIGINT,
    lease_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX ix_webhooks_root ON webhooks (root_id, created_at, id);
CREATE TABLE webhook_deliveries (
    id {uuid} PRIMARY KEY,
    webhook_id {uuid} NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    root_id {uuid} NOT NULL,
    event_id {uuid} NOT NULL,
    seq BIGINT NOT NULL,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    last_attempt_at BIGINT,
    delivered_at BIGINT
);
CREATE UNIQUE INDEX ix_webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id);
CREATE INDEX ix_webhook_deliveries_seq ON webhook_deliveries (webhook_id, seq, id);
CREATE INDEX ix_webhook_deliveries_pending ON webhook_deliveries (webhook_id, seq) WHERE status = 'pending'
"#;

const DOWN: &str = "DROP TABLE webhook_deliveries; DROP TABLE webhooks";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DOWN).await
    }
}
