//! Import jobs: the [`ImportRepo`] of the in-memory store.

use super::*;

#[async_trait]
impl ImportRepo for MemoryTx {
    async fn insert_import(&mut self, job: &ImportJob) -> Result<(), RepoError> {
        if self.work.imports.contains_key(&job.id) {
            return Err(RepoError::Duplicate { field: "id", entity: "import" });
        }
        self.work.imports.insert(job.id, job.clone());
        Ok(())
    }

    async fn update_import(&mut self, job: &ImportJob) -> Result<(), RepoError> {
        match self.work.imports.get_mut(&job.id) {
            Some(stored) => {
                *stored = job.clone();
                Ok(())
            }
            None => Err(RepoError::NotFound { entity: "import" }),
        }
    }

    async fn import_job(&mut self, id: ImportId, _lock: bool) -> Result<Option<ImportJob>, RepoError> {
        // Transactions run one at a time: a read is as good as a lock.
        Ok(self.work.imports.get(&id).cloned())
    }

    async fn claim_import(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<ImportJob>, RepoError> {
        let claimable = |job: &&ImportJob| {
            job.state == ImportState::Queued || (job.state == ImportState::Running && job.lease_until <= now)
        };
        let Some(id) = self
            .work
            .imports
            .values()
            .filter(claimable)
            .min_by_key(|job| (job.created_at, job.id))
            .map(|job| job.id)
        else {
            return Ok(None);
        };
        let job = self.work.imports.get_mut(&id).ok_or(RepoError::NotFound { entity: "import" })?;
        job.state = ImportState::Running;
        job.lease_until = lease_until;
        Ok(Some(job.clone()))
    }

    async fn stalled_imports(&mut self, now: Timestamp, limit: u32) -> Result<Vec<ImportId>, RepoError> {
        let mut stalled: Vec<&ImportJob> = self
            .work
            .imports
            .values()
            .filter(|job| job.state == ImportState::Receiving && job.lease_until <= now)
            .collect();
        stalled.sort_by_key(|job| (job.created_at, job.id));
        Ok(stalled.into_iter().take(limit as usize).map(|job| job.id).collect())
    }

    async fn stage_import_rows(&mut self, job: ImportId, rows: &[StagedRow]) -> Result<(), RepoError> {
        let staged = self.work.import_rows.entry(job).or_default();
        if rows.iter().any(|row| staged.contains_key(&row.line)) {
            return Err(RepoError::Duplicate { field: "line", entity: "import row" });
        }
        for row in rows {
            staged.insert(row.line, row.clone());
        }
        Ok(())
    }

    async fn pending_import_rows(
        &mut self,
        job: ImportId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StagedRow>, RepoError> {
        let Some(staged) = self.work.import_rows.get(&job) else {
            return Ok(Vec::new());
        };
        Ok(staged
            .range(after + 1..)
            .map(|(_, row)| row)
            .filter(|row| row.report.is_none())
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn report_import_rows(&mut self, job: ImportId, reports: &[RowReport]) -> Result<(), RepoError> {
        let staged = self.work.import_rows.entry(job).or_default();
        for report in reports {
            let row = staged.get_mut(&report.line).ok_or(RepoError::NotFound { entity: "import row" })?;
            row.report = Some(report.clone());
            row.cells.clear();
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
        let Some(staged) = self.work.import_rows.get(&job) else {
            return Ok(Vec::new());
        };
        Ok(staged
            .range(after + 1..)
            .filter_map(|(_, row)| row.report.as_ref())
            .filter(|report| !errors_only || report.outcome == RowKind::Error)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn forget_import_cells(&mut self, job: ImportId) -> Result<(), RepoError> {
        if let Some(staged) = self.work.import_rows.get_mut(&job) {
            for row in staged.values_mut() {
                row.cells.clear();
            }
        }
        Ok(())
    }
}
