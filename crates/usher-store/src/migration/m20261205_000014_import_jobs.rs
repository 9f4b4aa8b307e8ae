//! Import jobs: the job with its counts, cursor and lease, and its file's rows staged with the
//! outcome each gets. A batch's users and its rows' outcomes commit together, so a job resumed
//! after a crash goes on after its cursor and never does a row twice.

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

const UP: &str = r#"
CREATE TABLE import_jobs (
    id {uuid} NOT NULL PRIMARY KEY,
    root_id {uuid} NOT NULL REFERENCES accounts (id),
    account_id {uuid} NOT NULL REFERENCES accounts (id),
    submitted_by TEXT NOT NULL,
    source TEXT,
    origin TEXT,
    options TEXT NOT NULL,
    header TEXT NOT NULL,
    state TEXT NOT NULL,
    rows_total BIGINT NOT NULL,
    rows_done BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    cursor_line BIGINT NOT NULL,
    committed BOOLEAN NOT NULL,
    failure TEXT,
    lease_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX ix_import_jobs_claim ON import_jobs (state, lease_until);
CREATE TABLE import_rows (
    job_id {uuid} NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    line BIGINT NOT NULL,
    cells TEXT NOT NULL,
    outcome TEXT,
    user_id {uuid},
    reason TEXT,
    column_name TEXT,
    problem TEXT,
    CONSTRAINT pk_import_rows PRIMARY KEY (job_id, line)
)
"#;

const DOWN: &str = "DROP TABLE import_rows; DROP TABLE import_jobs";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DOWN).await
    }
}
