//! Import jobs (DESIGN §5, `/v1/accounts/{id}/imports`): a file's rows are staged in the store
//! as they arrive, then imported by whichever process holds the job's lease, a batch per
//! transaction. A batch's users, its rows' outcomes and the job's cursor commit together, so a
//! process that dies mid-job leaves every row either done once or not at all, and the process
//! that takes the job over when the lease ends goes on after the cursor.
//!
//! A dry run and an all-or-nothing import run the whole file in one transaction: its seat
//! figures add up over every row, and nothing is written unless every row is good.

use serde_json::{Value, json};

use super::{HeaderError, ImportHeader, ImportRow, Importer, RowOutcome};
use crate::authz::{Actor, Denied};
use crate::error::{Invalid, RepoError};
use crate::id::{AccountId, ImportId};
use crate::model::{ImportCounts, ImportJob, ImportOptions, ImportState, RowKind, RowReport, StagedRow};
use crate::ports::Tx;
use crate::service::sessions::actor_kind_of;
use crate::service::users::UserError;
use crate::service::{AuditEntry, Ports, common_errors, guard, load_account, record};
use crate::time::{Duration, Timestamp};
use crate::value::{Access, Module, Permission};

/// Rows imported per transaction: one seat-pool lock per batch.
pub const IMPORT_BATCH: u32 = 1_000;

/// How long a process holds a job between two of its batches; when it ends, another process
/// takes the job over.
pub const IMPORT_LEASE: Duration = Duration::seconds(10);

/// How long a job receiving its file waits for the next rows; after that the upload counts as
/// broken off (the server receiving it died) and [`sweep_stalled_imports`] fails the job.
pub const RECEIVING_LEASE: Duration = Duration::minutes(15);

/// The most outcomes a page of a report holds.
pub const REPORT_PAGE_MAX: u32 = 1_000;

/// Failure of an import job use case.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Missing, or in another tenant.
    #[error("{entity} not found")]
    NotFound {
        /// Entity.
        entity: &'static str,
    },
    /// Not allowed.
    #[error(transparent)]
    Denied(Denied),
    /// A field failed to parse.
    #[error(transparent)]
    Invalid(Invalid),
    /// The file's header cannot be read as users.
    #[error("the file's header: {0}")]
    Header(#[from] HeaderError),
    /// The job has ended and cannot be cancelled.
    #[error("the import has {state}; it can no longer be cancelled")]
    Finished {
        /// Its state.
        state: &'static str,
    },
    /// Rows arrived for a job whose file is complete.
    #[error("the import is {state}; its rows have all arrived")]
    NotReceiving {
        /// Its state.
        state: &'static str,
    },
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(ImportError);

/// Says a refused row as the API's problem for the same error would: `code`, `detail` and the
/// numbers that matter. The HTTP adapter gives its own; [`plain_refusal`] is the domain's.
pub type DescribeRefusal = dyn Fn(UserError) -> Value + Send + Sync;

/// A refusal as its message alone.
pub fn plain_refusal(error: UserError) -> Value {
    json!({ "detail": error.to_string() })
}

/// Starts an import of a file into `account` with the file's `header`; its rows follow with
/// [`stage_import_rows`] and [`seal_import`] queues it. Needs `users:write` there.
pub async fn submit_import(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    options: ImportOptions,
    header: Vec<String>,
) -> Result<ImportJob, ImportError> {
    let mut tx = ports.begin().await?;
    let target = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Users, Access::Write), &target, "account")?;
    ImportHeader::parse(&header)?;
    let now = ports.now();
    let job = ImportJob {
        id: ports.new_id(ImportId::from_uuid),
        root: target.root(),
        account,
        submitted_by: actor.reference(),
        source: actor.source.clone(),
        origin: actor.origin.clone(),
        options,
        header,
        state: ImportState::Receiving,
        counts: ImportCounts::default(),
        cursor: 0,
        committed: false,
        failure: None,
        lease_until: now.plus(RECEIVING_LEASE),
        created_at: now,
        updated_at: now,
        finished_at: None,
    };
    tx.insert_import(&job).await?;
    let diff = json!({ "header": job.header, "options": job.options });
    let entry =
        AuditEntry::root_level(actor, job.root, "import.submitted", "import", job.id.to_string(), diff);
    record(ports, tx.as_mut(), AuditEntry { account, ..entry }).await?;
    tx.commit().await?;
    Ok(job)
}

/// Adds rows of a job's file (a row that could not be read comes with its outcome).
pub async fn stage_import_rows(ports: &Ports, id: ImportId, rows: &[StagedRow]) -> Result<(), ImportError> {
    let mut tx = ports.begin().await?;
    let mut job = receiving(tx.as_mut(), id).await?;
    tx.stage_import_rows(id, rows).await?;
    job.counts.rows += rows.len() as u64;
    for report in rows.iter().filter_map(|row| row.report.as_ref()) {
        job.counts.add(report.outcome);
    }
    job.updated_at = ports.now();
    job.lease_until = job.updated_at.plus(RECEIVING_LEASE);
    tx.update_import(&job).await?;
    tx.commit().await?;
    Ok(())
}

/// Fails the jobs whose file stopped arriving: [`RECEIVING_LEASE`] went by without rows, so
/// the server that received the upload died. The rows staged are not imported and the job
/// says why; the client sends the file again. Answers how many jobs it failed.
pub async fn sweep_stalled_imports(ports: &Ports) -> Result<usize, RepoError> {
    let now = ports.now();
    let stalled = ports.begin_read().await?.stalled_imports(now, 100).await?;
    let mut swept = 0;
    for id in stalled {
        let mut tx = ports.begin().await?;
        // Again under the job's lock: rows may have arrived since.
        let Some(mut job) = tx.import_job(id, true).await? else { continue };
        if job.state != ImportState::Receiving || job.lease_until > now {
            continue;
        }
        let minutes = RECEIVING_LEASE.whole_minutes();
        let failure = format!(
            "the file stopped arriving: no rows came for {minutes} minutes after line {}; nothing was imported",
            job.counts.rows + 1
        );
        finish(ports, tx.as_mut(), &mut job, ImportState::Failed, Some(failure)).await?;
        tx.commit().await?;
        swept += 1;
    }
    Ok(swept)
}

/// Ends a job's file: the job is queued for the server, or with `run_here` held by the caller,
/// who runs it with [`run_import`] (the CLI).
pub async fn seal_import(ports: &Ports, id: ImportId, run_here: bool) -> Result<ImportJob, ImportError> {
    let mut tx = ports.begin().await?;
    let mut job = receiving(tx.as_mut(), id).await?;
    let now = ports.now();
    job.state = if run_here { ImportState::Running } else { ImportState::Queued };
    job.lease_until = now.plus(IMPORT_LEASE);
    job.updated_at = now;
    tx.update_import(&job).await?;
    tx.commit().await?;
    Ok(job)
}

/// Fails a job whose file did not arrive whole (the upload broke off, the body was too large).
pub async fn abandon_import(ports: &Ports, id: ImportId, reason: &str) -> Result<(), ImportError> {
    let mut tx = ports.begin().await?;
    let mut job = receiving(tx.as_mut(), id).await?;
    finish(
        ports,
        tx.as_mut(),
        &mut job,
        ImportState::Failed,
        Some(format!("the file did not arrive whole: {reason}")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn receiving(tx: &mut dyn Tx, id: ImportId) -> Result<ImportJob, ImportError> {
    let job = tx.import_job(id, true).await?.ok_or(ImportError::NotFound { entity: "import" })?;
    if job.state != ImportState::Receiving {
        return Err(ImportError::NotReceiving { state: job.state.as_str() });
    }
    Ok(job)
}

/// A job, for an actor that may read the users of its account.
pub async fn get_import(ports: &Ports, actor: &Actor, id: ImportId) -> Result<ImportJob, ImportError> {
    let mut tx = ports.begin_read().await?;
    visible(tx.as_mut(), actor, id, Access::Read, false).await
}

/// A page of a job's outcomes after line `after`, by line (refusals only with `errors_only`),
/// and the line to go on after when there are more.
pub async fn import_report(
    ports: &Ports,
    actor: &Actor,
    id: ImportId,
    after: u64,
    limit: u32,
    errors_only: bool,
) -> Result<(Vec<RowReport>, Option<u64>), ImportError> {
    let mut tx = ports.begin_read().await?;
    visible(tx.as_mut(), actor, id, Access::Read, false).await?;
    let limit = limit.clamp(1, REPORT_PAGE_MAX);
    let mut rows = tx.import_report(id, after, limit + 1, errors_only).await?;
    let next = (rows.len() > limit as usize).then(|| {
        rows.truncate(limit as usize);
        rows.last().map_or(after, |row| row.line)
    });
    Ok((rows, next))
}

/// Cancels a job that has not ended: the rows done so far stay done, the others get no
/// outcome. Needs `users:write` on its account.
pub async fn cancel_import(ports: &Ports, actor: &Actor, id: ImportId) -> Result<ImportJob, ImportError> {
    let mut tx = ports.begin().await?;
    let mut job = visible(tx.as_mut(), actor, id, Access::Write, true).await?;
    if job.state.is_finished() {
        return Err(ImportError::Finished { state: job.state.as_str() });
    }
    finish(ports, tx.as_mut(), &mut job, ImportState::Cancelled, None).await?;
    let diff = json!({ "state": { "from": "running", "to": "cancelled" }, "done": job.counts.done });
    let entry =
        AuditEntry::root_level(actor, job.root, "import.cancelled", "import", job.id.to_string(), diff);
    record(ports, tx.as_mut(), AuditEntry { account: job.account, ..entry }).await?;
    tx.commit().await?;
    Ok(job)
}

async fn visible(
    tx: &mut dyn Tx,
    actor: &Actor,
    id: ImportId,
    access: Access,
    lock: bool,
) -> Result<ImportJob, ImportError> {
    let job = tx.import_job(id, lock).await?.ok_or(ImportError::NotFound { entity: "import" })?;
    let account = load_account(tx, job.account).await?;
    guard(actor, Permission::new(Module::Users, access), &account, "import")?;
    Ok(job)
}

/// Takes a job to run: a queued one, or one whose process died (its lease ended).
pub async fn claim_import(ports: &Ports) -> Result<Option<ImportJob>, RepoError> {
    let mut tx = ports.begin().await?;
    let now = ports.now();
    let job = tx.claim_import(now, now.plus(IMPORT_LEASE)).await?;
    tx.commit().await?;
    Ok(job)
}

/// Lets a job go at once (a server shutting down), so that the next process takes it over
/// without waiting for the lease to end.
pub async fn release_import(ports: &Ports, id: ImportId) -> Result<(), RepoError> {
    let mut tx = ports.begin().await?;
    if let Some(mut job) = tx.import_job(id, true).await?
        && job.state == ImportState::Running
    {
        job.lease_until = ports.now();
        tx.update_import(&job).await?;
    }
    tx.commit().await
}

/// Runs a job the caller holds until it ends or `keep_going` says stop (the job is then
/// released), telling `progress` after each batch. Answers the job as it is at the end.
pub async fn run_import(
    ports: &Ports,
    id: ImportId,
    describe: &DescribeRefusal,
    keep_going: &(dyn Fn() -> bool + Send + Sync),
    progress: &mut (dyn FnMut(&ImportJob) + Send),
) -> Result<Option<ImportJob>, RepoError> {
    let Some(job) = ports.begin_read().await?.import_job(id, false).await? else {
        return Ok(None);
    };
    if job.options.in_one_transaction() {
        return run_whole(ports, job, describe, progress).await;
    }
    loop {
        let job = run_batch(ports, id, describe).await?;
        match job {
            Some(job) if job.state == ImportState::Running => {
                progress(&job);
                if !keep_going() {
                    release_import(ports, id).await?;
                    return Ok(Some(job));
                }
            }
            other => {
                if let Some(job) = &other {
                    progress(job);
                }
                return Ok(other);
            }
        }
    }
}

/// Imports the next batch of a running job, in one transaction with its outcomes and the
/// job's cursor; ends the job when no row is left.
async fn run_batch(
    ports: &Ports,
    id: ImportId,
    describe: &DescribeRefusal,
) -> Result<Option<ImportJob>, RepoError> {
    let mut tx = ports.begin().await?;
    let Some(mut job) = tx.import_job(id, true).await? else {
        return Ok(None);
    };
    if job.state != ImportState::Running {
        return Ok(Some(job));
    }
    let rows = tx.pending_import_rows(id, job.cursor, IMPORT_BATCH).await?;
    if rows.is_empty() {
        job.committed = true;
        finish(ports, tx.as_mut(), &mut job, ImportState::Succeeded, None).await?;
        tx.commit().await?;
        return Ok(Some(job));
    }
    let (actor, header) = match authority(tx.as_mut(), &job, ports.now()).await? {
        Ok(found) => found,
        Err(failure) => return fail(ports, tx, job, failure).await,
    };
    let mut importer =
        match Importer::open(ports, tx.as_mut(), &actor, job.account, &header, job.options).await {
            Ok(importer) => importer,
            Err(UserError::Repo(err)) => return Err(err),
            Err(refused) => return fail(ports, tx, job, refused.to_string()).await,
        };
    let reports = import_rows(&mut importer, tx.as_mut(), &rows, describe).await?;
    tx.report_import_rows(id, &reports).await?;
    for report in &reports {
        job.counts.add(report.outcome);
    }
    let now = ports.now();
    job.cursor = rows.last().map_or(job.cursor, |row| row.line);
    job.committed = true;
    job.lease_until = now.plus(IMPORT_LEASE);
    job.updated_at = now;
    tx.update_import(&job).await?;
    tx.commit().await?;
    Ok(Some(job))
}

/// Imports a whole job in one transaction, committed only when it is no dry run and no row
/// was refused; otherwise the outcomes alone are written afterwards.
async fn run_whole(
    ports: &Ports,
    job: ImportJob,
    describe: &DescribeRefusal,
    progress: &mut (dyn FnMut(&ImportJob) + Send),
) -> Result<Option<ImportJob>, RepoError> {
    // The lease covers the whole run, which holds the job's lock and cannot renew it.
    let mut tx = ports.begin().await?;
    let Some(mut job) = tx.import_job(job.id, true).await? else {
        return Ok(None);
    };
    if job.state != ImportState::Running {
        return Ok(Some(job));
    }
    let whole =
        IMPORT_LEASE + Duration::milliseconds(i64::try_from(job.counts.rows).unwrap_or(i64::MAX / 4) * 5);
    job.lease_until = ports.now().plus(whole);
    tx.update_import(&job).await?;
    tx.commit().await?;

    let mut tx = ports.begin().await?;
    let Some(mut job) = tx.import_job(job.id, true).await? else {
        return Ok(None);
    };
    if job.state != ImportState::Running {
        return Ok(Some(job));
    }
    let (actor, header) = match authority(tx.as_mut(), &job, ports.now()).await? {
        Ok(found) => found,
        Err(failure) => return fail(ports, tx, job, failure).await,
    };
    let mut importer =
        match Importer::open(ports, tx.as_mut(), &actor, job.account, &header, job.options).await {
            Ok(importer) => importer,
            Err(UserError::Repo(err)) => return Err(err),
            Err(refused) => return fail(ports, tx, job, refused.to_string()).await,
        };
    let mut reports = Vec::new();
    let mut cursor = job.cursor;
    loop {
        let rows = tx.pending_import_rows(job.id, cursor, IMPORT_BATCH).await?;
        let Some(last) = rows.last() else { break };
        cursor = last.line;
        let batch = import_rows(&mut importer, tx.as_mut(), &rows, describe).await?;
        for report in &batch {
            job.counts.add(report.outcome);
        }
        reports.extend(batch);
        progress(&job);
    }
    drop(importer);
    job.cursor = cursor;
    let refused = job.counts.errors;
    if !job.options.dry_run && refused == 0 {
        for chunk in reports.chunks(IMPORT_BATCH as usize) {
            tx.report_import_rows(job.id, chunk).await?;
        }
        job.committed = true;
        finish(ports, tx.as_mut(), &mut job, ImportState::Succeeded, None).await?;
        tx.commit().await?;
        return Ok(Some(job));
    }
    drop(tx);
    // Nothing of the rows is written: their outcomes alone are, told as what would have been.
    let mut tx = ports.begin().await?;
    let Some(stored) = tx.import_job(job.id, true).await? else {
        return Ok(None);
    };
    if stored.state != ImportState::Running {
        return Ok(Some(stored));
    }
    for chunk in reports.chunks(IMPORT_BATCH as usize) {
        tx.report_import_rows(job.id, chunk).await?;
    }
    job.committed = false;
    let (state, failure) = match job.options.dry_run {
        true => (ImportState::Succeeded, None),
        false => (ImportState::Failed, Some(format!("{refused} row(s) refused; nothing was written"))),
    };
    finish(ports, tx.as_mut(), &mut job, state, failure).await?;
    tx.commit().await?;
    Ok(Some(job))
}

/// The submitter as it can act now, and the job's header; or why the job cannot go on.
async fn authority(
    tx: &mut dyn Tx,
    job: &ImportJob,
    now: Timestamp,
) -> Result<Result<(Actor, ImportHeader), String>, RepoError> {
    let Some(kind) = actor_kind_of(tx, job.submitted_by, now).await? else {
        return Ok(Err("the submitter can no longer act (disabled, deleted or revoked)".to_owned()));
    };
    let header = match ImportHeader::parse(&job.header) {
        Ok(header) => header,
        Err(err) => return Ok(Err(err.to_string())),
    };
    let actor = Actor { origin: job.origin.clone(), ..Actor::from_source(kind, job.source.as_deref()) };
    Ok(Ok((actor, header)))
}

/// Ends a job as failed, keeping what earlier batches committed.
async fn fail(
    ports: &Ports,
    mut tx: Box<dyn Tx>,
    mut job: ImportJob,
    failure: String,
) -> Result<Option<ImportJob>, RepoError> {
    finish(ports, tx.as_mut(), &mut job, ImportState::Failed, Some(failure)).await?;
    tx.commit().await?;
    Ok(Some(job))
}

/// Ends a job and forgets its file's cells (its report stays).
async fn finish(
    ports: &Ports,
    tx: &mut dyn Tx,
    job: &mut ImportJob,
    state: ImportState,
    failure: Option<String>,
) -> Result<(), RepoError> {
    let now = ports.now();
    job.state = state;
    job.failure = failure;
    job.finished_at = Some(now);
    job.updated_at = now;
    job.lease_until = now;
    tx.update_import(job).await?;
    tx.forget_import_cells(job.id).await
}

/// Imports staged rows and reports each.
async fn import_rows(
    importer: &mut Importer<'_>,
    tx: &mut dyn Tx,
    rows: &[StagedRow],
    describe: &DescribeRefusal,
) -> Result<Vec<RowReport>, RepoError> {
    let batch: Vec<ImportRow> =
        rows.iter().map(|row| ImportRow { line: row.line, cells: row.cells.clone() }).collect();
    let outcomes = importer.rows(tx, &batch).await.map_err(|err| match err {
        UserError::Repo(err) => err,
        other => RepoError::corrupt("import", other),
    })?;
    Ok(batch.iter().zip(outcomes).map(|(row, outcome)| report(row.line, outcome, describe)).collect())
}

/// A row's outcome as the report keeps it.
pub fn report(line: u64, outcome: RowOutcome, describe: &DescribeRefusal) -> RowReport {
    let plain = |outcome, user| RowReport { line, outcome, user, reason: None, column: None, problem: None };
    match outcome {
        RowOutcome::Created(user) => plain(RowKind::Created, Some(user)),
        RowOutcome::Updated(user) => plain(RowKind::Updated, Some(user)),
        RowOutcome::Unchanged(user) => plain(RowKind::Unchanged, Some(user)),
        RowOutcome::Skipped { user, reason } => {
            RowReport { reason: Some(reason.to_owned()), ..plain(RowKind::Skipped, user) }
        }
        RowOutcome::Error { column, error } => {
            RowReport { column, problem: Some(describe(error)), ..plain(RowKind::Error, None) }
        }
    }
}
