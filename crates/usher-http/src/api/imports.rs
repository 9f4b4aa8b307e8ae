//! Imports as jobs: a CSV file is staged as it arrives and imported in the server, a batch per
//! transaction; the job shows its counts and a per-row report, and can be cancelled.

use poem::Body;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiRequest, ApiResponse, Enum, Object, OpenApi};
use time::OffsetDateTime;
use tokio_util::io::SyncIoBridge;
use usher_domain::id::{AccountId, ImportId};
use usher_domain::model::{Existing, ImportJob, ImportMode, ImportOptions, ImportState, RowKind, RowReport};
use usher_domain::service::transfer::{
    ImportError, ImportHeader, cancel_import, get_import, import_report, seal_import,
};
use uuid::Uuid;

use crate::api::Tag;
use crate::auth::BearerAuth;
use crate::problem::{Problem, problems};
use crate::state::AppState;
use crate::upload::{UploadError, upload};
use crate::views::at;

problems! {
    /// Problems of imports.
    ImportProblems from [ImportError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks `users:write` (`users:read` to look) on the account.",
        404 NotFound "No such account or import in the caller's tenant.",
        409 Conflict "The import has ended and cannot be cancelled.",
        413 PayloadTooLarge "The file is larger than the server's import limit (in `limit`).",
        422 Unprocessable "The file cannot be read as users: it is empty or cut short (`unreadable_file`), or its header has no `email` column or a column twice (`invalid_header`); or a parameter is invalid.",
    }
}

/// A CSV file of users.
#[derive(ApiRequest, Debug)]
pub(crate) enum CsvUpload {
    /// RFC 4180, UTF-8, a header row naming the columns of the export; `email` is required.
    #[oai(content_type = "text/csv")]
    Csv(Binary<Body>),
}

/// Whether one bad row stops the import.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case", rename = "ImportMode")]
pub(crate) enum ImportModeView {
    /// Every good row is written; a bad one is reported.
    PerRow,
    /// Nothing is written unless every row is good (the file runs in one transaction).
    AllOrNothing,
}

/// What an import does with a row whose user exists (matched on username, else email).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case", rename = "ImportExisting")]
pub(crate) enum ExistingView {
    /// Leave the user as it is; the row is `skipped` with reason `exists`.
    Skip,
    /// Bring the user to what the row says.
    Update,
}

/// Where an import is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case", rename = "ImportState")]
pub(crate) enum ImportStateView {
    /// The file is still arriving.
    Receiving,
    /// Waiting for the server to take it.
    Queued,
    /// Being imported, a batch of rows per transaction.
    Running,
    /// Every row has its outcome.
    Succeeded,
    /// Stopped, told in `failure`; what earlier batches wrote stays.
    Failed,
    /// Cancelled; rows done before stay done, the others have no outcome.
    Cancelled,
}

impl From<ImportState> for ImportStateView {
    fn from(state: ImportState) -> Self {
        match state {
            ImportState::Receiving => ImportStateView::Receiving,
            ImportState::Queued => ImportStateView::Queued,
            ImportState::Running => ImportStateView::Running,
            ImportState::Succeeded => ImportStateView::Succeeded,
            ImportState::Failed => ImportStateView::Failed,
            ImportState::Cancelled => ImportStateView::Cancelled,
        }
    }
}

/// What became of a row.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case", rename = "ImportRowOutcome")]
pub(crate) enum RowOutcomeView {
    /// A new user.
    Created,
    /// An existing user, brought to its row.
    Updated,
    /// An existing user already as its row says.
    Unchanged,
    /// Left alone; `reason` says why (`exists`, `duplicate_in_file`, `erased`).
    Skipped,
    /// Refused; `problem` says why, as the API would.
    Error,
}

impl From<RowKind> for RowOutcomeView {
    fn from(kind: RowKind) -> Self {
        match kind {
            RowKind::Created => RowOutcomeView::Created,
            RowKind::Updated => RowOutcomeView::Updated,
            RowKind::Unchanged => RowOutcomeView::Unchanged,
            RowKind::Skipped => RowOutcomeView::Skipped,
            RowKind::Error => RowOutcomeView::Error,
        }
    }
}

/// How an import runs.
#[derive(Object, Debug)]
#[oai(rename = "ImportOptions")]
pub(crate) struct ImportOptionsView {
    /// Report what would happen and write nothing.
    dry_run: bool,
    /// Per row, or all or nothing.
    mode: ImportModeView,
    /// Skip or update existing users.
    existing: ExistingView,
    /// Each new user gets a welcome mail with a set-password link.
    welcome_mail: bool,
}

/// A job's rows and what became of them so far.
#[derive(Object, Debug)]
#[oai(rename = "ImportCounts")]
pub(crate) struct ImportCountsView {
    /// Data rows in the file.
    rows: u64,
    /// Rows with an outcome.
    done: u64,
    /// New users.
    created: u64,
    /// Users brought to their row.
    updated: u64,
    /// Users already as their row says.
    unchanged: u64,
    /// Rows left alone.
    skipped: u64,
    /// Rows refused.
    errors: u64,
}

/// An import job.
#[derive(Object, Debug)]
#[oai(rename = "ImportJob")]
pub(crate) struct ImportJobView {
    /// Id.
    id: Uuid,
    /// The account the users go to.
    account_id: Uuid,
    /// Where it is.
    state: ImportStateView,
    /// How it runs.
    options: ImportOptionsView,
    /// The file's columns, as written.
    columns: Vec<String>,
    /// Columns usher does not know: reported, never guessed, not read.
    unknown_columns: Vec<String>,
    /// Its rows and outcomes so far.
    counts: ImportCountsView,
    /// Whether the rows' writes were committed: `false` for a dry run and for all or nothing
    /// with a refused row, where nothing was written.
    committed: bool,
    /// Why it failed.
    failure: Option<String>,
    /// Submitted at.
    created_at: OffsetDateTime,
    /// Last changed at.
    updated_at: OffsetDateTime,
    /// Ended at.
    finished_at: Option<OffsetDateTime>,
}

impl From<&ImportJob> for ImportJobView {
    fn from(job: &ImportJob) -> Self {
        let unknown = ImportHeader::parse(&job.header).map(|header| header.unknown).unwrap_or_default();
        ImportJobView {
            id: job.id.as_uuid(),
            account_id: job.account.as_uuid(),
            state: job.state.into(),
            options: ImportOptionsView {
                dry_run: job.options.dry_run,
                mode: match job.options.mode {
                    ImportMode::PerRow => ImportModeView::PerRow,
                    ImportMode::AllOrNothing => ImportModeView::AllOrNothing,
                },
                existing: match job.options.existing {
                    Existing::Skip => ExistingView::Skip,
                    Existing::Update => ExistingView::Update,
                },
                welcome_mail: job.options.welcome_mail,
            },
            columns: job.header.clone(),
            unknown_columns: unknown,
            counts: ImportCountsView {
                rows: job.counts.rows,
                done: job.counts.done,
                created: job.counts.created,
                updated: job.counts.updated,
                unchanged: job.counts.unchanged,
                skipped: job.counts.skipped,
                errors: job.counts.errors,
            },
            committed: job.committed,
            failure: job.failure.clone(),
            created_at: at(job.created_at),
            updated_at: at(job.updated_at),
            finished_at: job.finished_at.map(at),
        }
    }
}

/// What became of one row.
#[derive(Object, Debug)]
#[oai(rename = "ImportRow")]
pub(crate) struct ImportRowView {
    /// The row's line in the file (the header is line 1).
    line: u64,
    /// The outcome.
    outcome: RowOutcomeView,
    /// The user it made or matched.
    user_id: Option<Uuid>,
    /// Why it was skipped.
    reason: Option<String>,
    /// The column a refusal came from.
    column: Option<String>,
    /// Why it was refused, as the API's problem for the same error says it.
    problem: Option<RowProblemView>,
}

/// Why a row was refused: the members of the problem the API answers for the same error.
#[derive(Object, Debug)]
#[oai(rename = "ImportRowProblem", skip_serializing_if_is_none)]
pub(crate) struct RowProblemView {
    /// What went wrong, for programs: a code of the API's problems (e.g. `no_seat_available`,
    /// `invalid_field`, `escalation`, `role_required`, `username_taken`), or `malformed_row`
    /// for a row that could not be read.
    code: String,
    /// What went wrong, for people.
    detail: String,
    /// The field at fault.
    field: Option<String>,
    /// The kind of object concerned.
    entity: Option<String>,
    /// Permissions the row would grant beyond a ceiling or the importer's own.
    permissions: Option<Vec<String>>,
    /// The user type whose seats are concerned.
    user_type: Option<String>,
    /// Seats used by enabled users.
    used: Option<u32>,
    /// Seats reserved by pending invitations.
    reserved: Option<u32>,
    /// Seats bought.
    total: Option<u32>,
    /// A limit that was crossed (length, count).
    limit: Option<u64>,
    /// The value received against `limit`.
    actual: Option<u64>,
}

impl From<RowReport> for ImportRowView {
    fn from(report: RowReport) -> Self {
        ImportRowView {
            line: report.line,
            outcome: report.outcome.into(),
            user_id: report.user.map(|id| id.as_uuid()),
            reason: report.reason,
            column: report.column,
            problem: report.problem.and_then(|problem| {
                use poem_openapi::types::ParseFromJSON;
                RowProblemView::parse_from_json(Some(problem)).ok()
            }),
        }
    }
}

/// An import job with a page of its report.
#[derive(Object, Debug)]
#[oai(rename = "Import")]
pub(crate) struct ImportView {
    /// The job.
    job: ImportJobView,
    /// Outcomes, by line.
    rows: Vec<ImportRowView>,
    /// Pass as `cursor` for the next page of outcomes; absent on the last page.
    next_cursor: Option<String>,
}

#[derive(ApiResponse, Debug)]
pub(crate) enum Submitted {
    /// The file is staged; the server imports it. `Location` shows its progress and report.
    #[oai(status = 202)]
    Accepted(Json<ImportJobView>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse, Debug)]
pub(crate) enum ImportFound {
    /// The job and a page of its report.
    #[oai(status = 200)]
    Ok(Json<ImportView>),
}

#[derive(ApiResponse, Debug)]
pub(crate) enum ImportCancelled {
    /// Cancelled: the rows done stay done.
    #[oai(status = 200)]
    Ok(Json<ImportJobView>),
}

/// The import operations.
#[derive(Debug, Default)]
pub(crate) struct ImportsApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Users")]
impl ImportsApi {
    /// Import users from CSV
    ///
    /// Takes a CSV file in the columns of the export (`email` required; unknown columns are
    /// reported and not read) and answers `202` once every row is staged, with the job and its
    /// `Location`. The server then imports it a thousand rows per transaction, as the caller:
    /// each user is checked as one made by hand (seats R1, roles R3, ceiling R4, usernames R5)
    /// and audited. Rows match existing users on username, else email, so a second import of
    /// a file changes nothing. Roles and user types are named by key or name, sub-accounts by
    /// slug (`account`). A job outlives a server that stops: another takes it over and goes on
    /// after the last committed row. The file is read as it arrives, up to the server's import
    /// limit.
    #[oai(path = "/accounts/:account_id/imports", method = "post", operation_id = "submit_import")]
    #[allow(clippy::too_many_arguments, reason = "one argument per documented query parameter")]
    async fn submit(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        /// Report what would happen and write nothing.
        dry_run: Query<Option<bool>>,
        /// `per_row` (the default) or `all_or_nothing`.
        mode: Query<Option<ImportModeView>>,
        /// `skip` (the default) or `update` the users that exist.
        existing: Query<Option<ExistingView>>,
        /// Send each new user a welcome mail with a set-password link.
        welcome_mail: Query<Option<bool>>,
        file: CsvUpload,
    ) -> Result<Submitted, ImportProblems> {
        let CsvUpload::Csv(Binary(body)) = file;
        let options = ImportOptions {
            mode: match mode.0.unwrap_or(ImportModeView::PerRow) {
                ImportModeView::PerRow => ImportMode::PerRow,
                ImportModeView::AllOrNothing => ImportMode::AllOrNothing,
            },
            existing: match existing.0.unwrap_or(ExistingView::Skip) {
                ExistingView::Skip => Existing::Skip,
                ExistingView::Update => Existing::Update,
            },
            dry_run: dry_run.0.unwrap_or(false),
            welcome_mail: welcome_mail.0.unwrap_or(false),
        };
        let account = AccountId::from_uuid(account_id.0);
        let source = SyncIoBridge::new(body.into_async_read());
        let limit = Some(state.config.max_import_bytes);
        let job =
            upload(&state.ports, &auth.0.actor, account, options, source, limit).await.map_err(|err| {
                match err {
                    UploadError::Import(err) => ImportProblems::from(err),
                    UploadError::TooLarge { limit } => ImportProblems::from(Problem {
                        limit: Some(limit),
                        ..Problem::new(
                            poem::http::StatusCode::PAYLOAD_TOO_LARGE,
                            "payload_too_large",
                            err.to_string(),
                        )
                    }),
                    UploadError::Unreadable(_) => ImportProblems::from(Problem::new(
                        poem::http::StatusCode::UNPROCESSABLE_ENTITY,
                        "unreadable_file",
                        err.to_string(),
                    )),
                }
            })?;
        let job = seal_import(&state.ports, job.id, false).await?;
        let location = format!("/v1/imports/{}", job.id);
        Ok(Submitted::Accepted(Json(ImportJobView::from(&job)), location))
    }

    /// Get an import
    ///
    /// The job (state, counts so far) and a page of its per-row report, by line.
    #[oai(path = "/imports/:import_id", method = "get", operation_id = "get_import")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        import_id: Path<Uuid>,
        /// `next_cursor` of the previous page.
        #[oai(validator(pattern = "^[0-9]{0,19}$"))]
        cursor: Query<Option<String>>,
        /// Outcomes per page (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// Refused rows only.
        errors_only: Query<Option<bool>>,
    ) -> Result<ImportFound, ImportProblems> {
        let id = ImportId::from_uuid(import_id.0);
        let after = match cursor.0.as_deref().filter(|c| !c.is_empty()) {
            None => 0,
            Some(text) => text.parse::<u64>().map_err(|_| {
                ImportProblems::from(Problem {
                    field: Some("cursor".to_owned()),
                    ..Problem::new(
                        poem::http::StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_cursor",
                        "cursor is not one this server issued; pass next_cursor from the previous page",
                    )
                })
            })?,
        };
        let actor = &auth.0.actor;
        let job = get_import(&state.ports, actor, id).await?;
        let (rows, next) = import_report(
            &state.ports,
            actor,
            id,
            after,
            limit.0.unwrap_or(100),
            errors_only.0.unwrap_or(false),
        )
        .await?;
        Ok(ImportFound::Ok(Json(ImportView {
            job: ImportJobView::from(&job),
            rows: rows.into_iter().map(ImportRowView::from).collect(),
            next_cursor: next.map(|line| line.to_string()),
        })))
    }

    /// Cancel an import
    ///
    /// Stops a job that has not ended: rows already done stay done (and stay in the report);
    /// the others get no outcome. An ended job answers `409`.
    #[oai(path = "/imports/:import_id", method = "delete", operation_id = "cancel_import")]
    async fn cancel(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        import_id: Path<Uuid>,
    ) -> Result<ImportCancelled, ImportProblems> {
        let job = cancel_import(&state.ports, &auth.0.actor, ImportId::from_uuid(import_id.0)).await?;
        Ok(ImportCancelled::Ok(Json(ImportJobView::from(&job))))
    }
}
