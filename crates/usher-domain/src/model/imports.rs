//! Import jobs: a CSV file's rows staged in the store, then imported a batch per transaction
//! by whichever process holds the job's lease, so that a job outlives its request and a
//! process that dies mid-job.

use super::*;

/// What an import does with a row whose user exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Existing {
    /// Leave the user as it is (the row is `skipped`).
    #[default]
    Skip,
    /// Bring the user to what the row says.
    Update,
}

/// Whether one bad row stops the import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Every good row is written; a bad one is reported.
    #[default]
    PerRow,
    /// Nothing is written unless every row is good.
    AllOrNothing,
}

/// How an import runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct ImportOptions {
    /// Per row, or all or nothing.
    pub mode: ImportMode,
    /// Skip or update existing users.
    pub existing: Existing,
    /// Report what would happen and write nothing.
    pub dry_run: bool,
    /// Send each new user a welcome mail with a set-password link.
    pub welcome_mail: bool,
}

impl ImportOptions {
    /// Whether the whole file runs in one transaction: all or nothing, and a dry run (whose
    /// seat figures must add up over the whole file, as the real import's would).
    pub fn in_one_transaction(&self) -> bool {
        self.dry_run || self.mode == ImportMode::AllOrNothing
    }
}

/// Where an import job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportState {
    /// Its rows are still arriving.
    Receiving,
    /// Waiting for a process to take it.
    Queued,
    /// A process is importing it (or held it and died; another takes it when the lease ends).
    Running,
    /// Every row has its outcome.
    Succeeded,
    /// Stopped by a failure, told in `failure`; what was committed stays.
    Failed,
    /// Cancelled; the rows done before stay, the others have no outcome.
    Cancelled,
}

impl ImportState {
    /// The state's name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportState::Receiving => "receiving",
            ImportState::Queued => "queued",
            ImportState::Running => "running",
            ImportState::Succeeded => "succeeded",
            ImportState::Failed => "failed",
            ImportState::Cancelled => "cancelled",
        }
    }
    /// The state of a name.
    pub fn parse(name: &str) -> Option<ImportState> {
        [
            ImportState::Receiving,
            ImportState::Queued,
            ImportState::Running,
            ImportState::Succeeded,
            ImportState::Failed,
            ImportState::Cancelled,
        ]
        .into_iter()
        .find(|state| state.as_str() == name)
    }
    /// Whether the job has ended.
    pub fn is_finished(self) -> bool {
        matches!(self, ImportState::Succeeded | ImportState::Failed | ImportState::Cancelled)
    }
}

/// A job's rows and what became of them so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportCounts {
    /// Data rows in the file.
    pub rows: u64,
    /// Rows with an outcome.
    pub done: u64,
    /// New users.
    pub created: u64,
    /// Users brought to their row.
    pub updated: u64,
    /// Users already as their row says.
    pub unchanged: u64,
    /// Rows left alone.
    pub skipped: u64,
    /// Rows refused.
    pub errors: u64,
}

impl ImportCounts {
    /// Counts a row's outcome.
    pub fn add(&mut self, outcome: RowKind) {
        self.done += 1;
        match outcome {
            RowKind::Created => self.created += 1,
            RowKind::Updated => self.updated += 1,
            RowKind::Unchanged => self.unchanged += 1,
            RowKind::Skipped => self.skipped += 1,
            RowKind::Error => self.errors += 1,
        }
    }
}

/// An import of a CSV file into an account, run as the actor that submitted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJob {
    /// Id.
    pub id: ImportId,
    /// Root account.
    pub root: AccountId,
    /// The account the users go to (a row may name a sub-account of it).
    pub account: AccountId,
    /// Who submitted it; the job acts with this actor's authority as it is when each batch runs.
    pub submitted_by: ActorRef,
    /// The submitter's source address, for the audit log.
    pub source: Option<String>,
    /// The app the submission came from (R26).
    pub origin: Option<String>,
    /// How it runs.
    pub options: ImportOptions,
    /// The file's header, as written.
    pub header: Vec<String>,
    /// Where it is.
    pub state: ImportState,
    /// Its rows and outcomes so far.
    pub counts: ImportCounts,
    /// The last line with an outcome: a resumed job goes on after it.
    pub cursor: u64,
    /// Whether the rows' writes were committed (`false` for a dry run, and for all or nothing
    /// with a refused row).
    pub committed: bool,
    /// Why it failed.
    pub failure: Option<String>,
    /// Until when the process running it holds it.
    pub lease_until: Timestamp,
    /// Submitted at.
    pub created_at: Timestamp,
    /// Last changed at.
    pub updated_at: Timestamp,
    /// Ended at.
    pub finished_at: Option<Timestamp>,
}

/// A row of a job's file, as staged: its cells, or the outcome it already has because it could
/// not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedRow {
    /// The line it starts on (the header is line 1).
    pub line: u64,
    /// Its cells in the header's order.
    pub cells: Vec<String>,
    /// The outcome of a row that could not be read.
    pub report: Option<RowReport>,
}

/// The kinds of row outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowKind {
    /// A new user.
    Created,
    /// An existing user, brought to its row.
    Updated,
    /// An existing user already as its row says.
    Unchanged,
    /// Left alone (with a reason).
    Skipped,
    /// Refused (with a problem).
    Error,
}

impl RowKind {
    /// The outcome's name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Created => "created",
            RowKind::Updated => "updated",
            RowKind::Unchanged => "unchanged",
            RowKind::Skipped => "skipped",
            RowKind::Error => "error",
        }
    }
    /// The outcome of a name.
    pub fn parse(name: &str) -> Option<RowKind> {
        [RowKind::Created, RowKind::Updated, RowKind::Unchanged, RowKind::Skipped, RowKind::Error]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// What became of one row, as a job's report keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowReport {
    /// The row's line.
    pub line: u64,
    /// The outcome.
    pub outcome: RowKind,
    /// The user it made or matched.
    pub user: Option<UserId>,
    /// Why a row was skipped (`exists`, `duplicate_in_file`, `erased`).
    pub reason: Option<String>,
    /// The column a refusal came from.
    pub column: Option<String>,
    /// A refusal, as the API's problem for the same error would say it: `code`, `detail` and
    /// the numbers that matter.
    pub problem: Option<serde_json::Value>,
}

impl RowReport {
    /// The refusal of a row that could not be read (bad encoding, too many cells).
    pub fn unreadable(line: u64, detail: impl Into<String>) -> RowReport {
        let problem = serde_json::json!({ "code": "malformed_row", "detail": detail.into() });
        RowReport {
            line,
            outcome: RowKind::Error,
            user: None,
            reason: None,
            column: None,
            problem: Some(problem),
        }
    }
}
