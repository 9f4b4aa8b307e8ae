//! Rows to domain values and back: import jobs and their rows.

use super::*;

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn unsigned(n: i64) -> Result<u64, RepoError> {
    u64::try_from(n).map_err(|_| RepoError::corrupt("import", "negative count"))
}

pub(crate) fn import_job_row(job: &ImportJob) -> Result<import_job::Model, RepoError> {
    Ok(import_job::Model {
        id: job.id.as_uuid(),
        root_id: job.root.as_uuid(),
        account_id: job.account.as_uuid(),
        submitted_by: actor_to_json(&job.submitted_by)?,
        source: job.source.clone(),
        origin: job.origin.clone(),
        options: to_json("import", &job.options)?,
        header: to_json("import", &job.header)?,
        state: job.state.as_str().to_owned(),
        rows_total: big(job.counts.rows),
        rows_done: big(job.counts.done),
        created: big(job.counts.created),
        updated: big(job.counts.updated),
        unchanged: big(job.counts.unchanged),
        skipped: big(job.counts.skipped),
        errors: big(job.counts.errors),
        cursor_line: big(job.cursor),
        committed: job.committed,
        failure: job.failure.clone(),
        lease_until: job.lease_until.unix_micros(),
        created_at: job.created_at.unix_micros(),
        updated_at: job.updated_at.unix_micros(),
        finished_at: job.finished_at.map(|at| at.unix_micros()),
    })
}

pub(crate) fn import_job_from_row(row: import_job::Model) -> Result<ImportJob, RepoError> {
    let entity = "import";
    Ok(ImportJob {
        id: ImportId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        submitted_by: actor_from_json(entity, &row.submitted_by)?,
        source: row.source,
        origin: row.origin,
        options: from_json(entity, &row.options)?,
        header: from_json(entity, &row.header)?,
        state: ImportState::parse(&row.state).ok_or_else(|| RepoError::corrupt(entity, "unknown state"))?,
        counts: ImportCounts {
            rows: unsigned(row.rows_total)?,
            done: unsigned(row.rows_done)?,
            created: unsigned(row.created)?,
            updated: unsigned(row.updated)?,
            unchanged: unsigned(row.unchanged)?,
            skipped: unsigned(row.skipped)?,
            errors: unsigned(row.errors)?,
        },
        cursor: unsigned(row.cursor_line)?,
        committed: row.committed,
        failure: row.failure,
        lease_until: time(entity, row.lease_until)?,
        created_at: time(entity, row.created_at)?,
        updated_at: time(entity, row.updated_at)?,
        finished_at: opt_time(entity, row.finished_at)?,
    })
}

pub(crate) fn import_row_row(job: ImportId, row: &StagedRow) -> Result<import_row::Model, RepoError> {
    let mut model = import_row::Model {
        job_id: job.as_uuid(),
        line: big(row.line),
        cells: to_json("import row", &row.cells)?,
        outcome: None,
        user_id: None,
        reason: None,
        column_name: None,
        problem: None,
    };
    if let Some(report) = &row.report {
        set_report(&mut model, report)?;
    }
    Ok(model)
}

/// A report as the row's outcome columns.
pub(crate) fn set_report(model: &mut import_row::Model, report: &RowReport) -> Result<(), RepoError> {
    model.outcome = Some(report.outcome.as_str().to_owned());
    model.user_id = report.user.map(|id| id.as_uuid());
    model.reason.clone_from(&report.reason);
    model.column_name.clone_from(&report.column);
    model.problem = report.problem.as_ref().map(|p| to_json("import row", p)).transpose()?;
    Ok(())
}

pub(crate) fn staged_from_row(row: import_row::Model) -> Result<StagedRow, RepoError> {
    let line = unsigned(row.line)?;
    let cells = from_json("import row", &row.cells)?;
    let report = report_of(line, &row)?;
    Ok(StagedRow { line, cells, report })
}

pub(crate) fn report_from_row(row: import_row::Model) -> Result<Option<RowReport>, RepoError> {
    report_of(unsigned(row.line)?, &row)
}

fn report_of(line: u64, row: &import_row::Model) -> Result<Option<RowReport>, RepoError> {
    let entity = "import row";
    let Some(outcome) = &row.outcome else {
        return Ok(None);
    };
    Ok(Some(RowReport {
        line,
        outcome: RowKind::parse(outcome).ok_or_else(|| RepoError::corrupt(entity, "unknown outcome"))?,
        user: row.user_id.map(UserId::from_uuid),
        reason: row.reason.clone(),
        column: row.column_name.clone(),
        problem: row.problem.as_deref().map(|p| from_json(entity, p)).transpose()?,
    }))
}
