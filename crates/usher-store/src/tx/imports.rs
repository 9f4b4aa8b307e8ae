//! Import jobs: the [`ImportRepo`] of the SQL store.

use super::*;

#[async_trait]
impl ImportRepo for SqlTx {
    async fn insert_import(&mut self, job: &ImportJob) -> Result<(), RepoError> {
        insert(&self.txn, codec::import_job_row(job)?.into_active_model()).await
    }

    async fn update_import(&mut self, job: &ImportJob) -> Result<(), RepoError> {
        let row = codec::import_job_row(job)?;
        let result = import_job::Entity::update_many()
            .col_expr(import_job::Column::State, Expr::value(row.state))
            .col_expr(import_job::Column::RowsTotal, Expr::value(row.rows_total))
            .col_expr(import_job::Column::RowsDone, Expr::value(row.rows_done))
            .col_expr(import_job::Column::Created, Expr::value(row.created))
            .col_expr(import_job::Column::Updated, Expr::value(row.updated))
            .col_expr(import_job::Column::Unchanged, Expr::value(row.unchanged))
            .col_expr(import_job::Column::Skipped, Expr::value(row.skipped))
            .col_expr(import_job::Column::Errors, Expr::value(row.errors))
            .col_expr(import_job::Column::CursorLine, Expr::value(row.cursor_line))
            .col_expr(import_job::Column::Committed, Expr::value(row.committed))
            .col_expr(import_job::Column::Failure, Expr::value(row.failure))
            .col_expr(import_job::Column::LeaseUntil, Expr::value(row.lease_until))
            .col_expr(import_job::Column::UpdatedAt, Expr::value(row.updated_at))
            .col_expr(import_job::Column::FinishedAt, Expr::value(row.finished_at))
            .filter(import_job::Column::Id.eq(row.id))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        conditional::<import_job::Entity>(&self.txn, result.rows_affected, row.id, "import").await
    }

    async fn import_job(&mut self, id: ImportId, lock: bool) -> Result<Option<ImportJob>, RepoError> {
        let mut find = import_job::Entity::find_by_id(id.as_uuid());
        // SQLite writes one transaction at a time (`BEGIN IMMEDIATE`): the lock is implied.
        if lock && self.backend == DatabaseBackend::Postgres {
            find = find.lock_exclusive();
        }
        let row = find.one(&self.txn).await.map_err(repo)?;
        row.map(codec::import_job_from_row).transpose()
    }

    async fn claim_import(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<ImportJob>, RepoError> {
        // One statement: the oldest claimable job (skipping one another process holds on
        // PostgreSQL; SQLite has one writer) becomes running until the lease's end.
        let sql = match self.backend {
            DatabaseBackend::Postgres => {
                "UPDATE import_jobs SET state = 'running', lease_until = $2 \
                 WHERE id IN (SELECT id FROM import_jobs \
                 WHERE state = 'queued' OR (state = 'running' AND lease_until <= $1) \
                 ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *"
            }
            _ => {
                "UPDATE import_jobs SET state = 'running', lease_until = ?2 \
                 WHERE id IN (SELECT id FROM import_jobs \
                 WHERE state = 'queued' OR (state = 'running' AND lease_until <= ?1) \
                 ORDER BY created_at, id LIMIT 1) RETURNING *"
            }
        };
        let statement = Statement::from_sql_and_values(
            self.backend,
            sql,
            [now.unix_micros().into(), lease_until.unix_micros().into()],
        );
        let row = import_job::Entity::find().from_raw_sql(statement).one(&self.txn).await.map_err(repo)?;
        row.map(codec::import_job_from_row).transpose()
    }

    async fn stalled_imports(&mut self, now: Timestamp, limit: u32) -> Result<Vec<ImportId>, RepoError> {
        let rows = import_job::Entity::find()
            .filter(import_job::Column::State.eq("receiving"))
            .filter(import_job::Column::LeaseUntil.lte(now.unix_micros()))
            .order_by_asc(import_job::Column::CreatedAt)
            .order_by_asc(import_job::Column::Id)
            .limit(u64::from(limit))
            .all(&self.txn)
            .await
            .map_err(repo)?;
        Ok(rows.into_iter().map(|row| ImportId::from_uuid(row.id)).collect())
    }

    async fn stage_import_rows(&mut self, job: ImportId, rows: &[StagedRow]) -> Result<(), RepoError> {
        let rows = rows
            .iter()
            .map(|row| codec::import_row_row(job, row).map(IntoActiveModel::into_active_model))
            .collect::<Result<Vec<_>, _>>()?;
        insert_all(&self.txn, rows).await
    }

    async fn pending_import_rows(
        &mut self,
        job: ImportId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StagedRow>, RepoError> {
        let rows = import_row::Entity::find()
            .filter(import_row::Column::JobId.eq(job.as_uuid()))
            .filter(import_row::Column::Line.gt(i64::try_from(after).unwrap_or(i64::MAX)))
            .filter(import_row::Column::Outcome.is_null())
            .order_by_asc(import_row::Column::Line)
            .limit(u64::from(limit))
            .all(&self.txn)
            .await
            .map_err(repo)?;
        rows.into_iter().map(codec::staged_from_row).collect()
    }

    async fn report_import_rows(&mut self, job: ImportId, reports: &[RowReport]) -> Result<(), RepoError> {
        // One multi-row upsert per thousand outcomes: the rows exist, so only their outcome
        // columns change, and their cells, no longer needed, are forgotten on the way.
        for chunk in reports.chunks(1_000) {
            let rows = chunk
                .iter()
                .map(|report| {
                    let staged =
                        StagedRow { line: report.line, cells: Vec::new(), report: Some(report.clone()) };
                    codec::import_row_row(job, &staged).map(IntoActiveModel::into_active_model)
                })
                .collect::<Result<Vec<_>, _>>()?;
            import_row::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([import_row::Column::JobId, import_row::Column::Line])
                        .update_columns([
                            import_row::Column::Cells,
                            import_row::Column::Outcome,
                            import_row::Column::UserId,
                            import_row::Column::Reason,
                            import_row::Column::ColumnName,
                            import_row::Column::Problem,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&self.txn)
                .await
                .map_err(repo)?;
        }
        Ok(())
    }

    async fn import_report(
        &mut self,
        job: ImportId,
        after: u64,
        limit: u32,
        errors_only: bool,
    ) -> Result<Vec<RowReport>, RepoError> {
        let mut select = import_row::Entity::find()
            .filter(import_row::Column::JobId.eq(job.as_uuid()))
            .filter(import_row::Column::Line.gt(i64::try_from(after).unwrap_or(i64::MAX)));
        select = match errors_only {
            true => select.filter(import_row::Column::Outcome.eq(RowKind::Error.as_str())),
            false => select.filter(import_row::Column::Outcome.is_not_null()),
        };
        let rows = select
            .order_by_asc(import_row::Column::Line)
            .limit(u64::from(limit))
            .all(&self.txn)
            .await
            .map_err(repo)?;
        let mut reports = Vec::with_capacity(rows.len());
        for row in rows {
            reports.extend(codec::report_from_row(row)?);
        }
        Ok(reports)
    }

    async fn forget_import_cells(&mut self, job: ImportId) -> Result<(), RepoError> {
        import_row::Entity::update_many()
            .col_expr(import_row::Column::Cells, Expr::value("[]"))
            .filter(import_row::Column::JobId.eq(job.as_uuid()))
            // A reported row forgot its cells with its outcome.
            .filter(import_row::Column::Cells.ne("[]"))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }
}
