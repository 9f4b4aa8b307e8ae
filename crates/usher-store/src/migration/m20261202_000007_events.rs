//! The public event feed (R26). A use case inserts its events with no number (`seq` null), in
//! its own transaction; a sequencer numbers committed events later, per root, continuing from
//! `event_counters`. Sequencers take the one row of `event_sequencer` first (`FOR UPDATE` on
//! PostgreSQL; SQLite has one writer), so they run one at a time across server instances and
//! a number given later is always greater. `pos` is the append order numbering follows; the
//! unique `(root_id, seq)` index makes giving a number twice impossible.

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

const UP: &str = r#"
CREATE TABLE events (
    pos {serial},
    id {uuid} NOT NULL,
    root_id {uuid} NOT NULL,
    account_id {uuid} NOT NULL,
    type TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    origin TEXT,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    data TEXT NOT NULL,
    changes TEXT NOT NULL,
    seq BIGINT
);
CREATE UNIQUE INDEX ix_events_id ON events (id);
CREATE UNIQUE INDEX ix_events_seq ON events (root_id, seq);
CREATE INDEX ix_events_unnumbered ON events (pos) WHERE seq IS NULL;
CREATE INDEX ix_events_occurred ON events (occurred_at);
CREATE INDEX ix_events_subject ON events (subject_kind, subject_id);
CREATE TABLE event_counters (
    root_id {uuid} PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
CREATE TABLE event_sequencer (
    id INTEGER PRIMARY KEY
);
INSERT INTO event_sequencer (id) VALUES (1)
"#;

const DOWN: &str = "DROP TABLE event_sequencer; DROP TABLE event_counters; DROP TABLE events";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DOWN).await
    }
}
