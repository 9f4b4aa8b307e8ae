//! `usher export` and `usher import`: the users of an account as CSV, read from or written to
//! the database as the operator, a page or a batch at a time, with a progress bar on stderr.

use std::io::Write;
use std::sync::Arc;

use usher_domain::ports::{PageRequest, Store};
use usher_domain::service::accounts;
use usher_domain::service::transfer::{
    EXPORT_PAGE, Existing, ExportNames, ImportHeader, ImportMode, ImportOptions, ImportRow, RowOutcome,
    USER_COLUMNS, export_users_page, import_batch,
};
use usher_domain::service::users::UserFilter;
use usher_store::SqlStore;

use crate::adapters::{Argon2Hasher, ports};
use crate::cli::{CommandError, DatabaseArgs};

/// What to export, and where to.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The slug of the account whose users (with its sub-accounts') are exported.
    #[arg(long)]
    pub account: String,
    /// The file to write (created or replaced); standard output when absent.
    #[arg(long, short)]
    pub output: Option<std::path::PathBuf>,
}

/// Writes the users of the account's subtree as CSV, in the columns of the HTTP export.
pub async fn export(args: ExportArgs) -> Result<(), CommandError> {
    let store = Arc::new(SqlStore::open(&args.database.config()).await?);
    let ports = ports(store.clone() as Arc<dyn Store>, Argon2Hasher::new(1));
    let failed = |err: &dyn std::fmt::Display| CommandError::Export(err.to_string());
    let operator = accounts::operator_on_the_command_line(&ports).await.map_err(|e| failed(&e))?;
    let account = accounts::get_account_by_slug(&ports, &operator, &args.account)
        .await
        .map_err(|e| failed(&format!("account {}: {e}", args.account)))?;
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => {
            Box::new(std::fs::File::create(path).map_err(|e| failed(&format!("{}: {e}", path.display())))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = csv::Writer::from_writer(std::io::BufWriter::new(sink));
    out.write_record(USER_COLUMNS).map_err(|e| failed(&e))?;
    let progress = indicatif::ProgressBar::new_spinner().with_message("users exported");
    progress.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} {msg} ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let (filter, mut names) = (UserFilter::default(), ExportNames::default());
    let mut page = PageRequest::first(EXPORT_PAGE);
    loop {
        let (rows, next) = export_users_page(&ports, &operator, account.id, &filter, page, &mut names)
            .await
            .map_err(|e| failed(&e))?;
        for row in &rows {
            out.write_record(row).map_err(|e| failed(&e))?;
        }
        progress.inc(rows.len() as u64);
        match next {
            Some(cursor) => page = PageRequest::after(cursor, EXPORT_PAGE),
            None => break,
        }
    }
    out.flush().map_err(|e| failed(&e))?;
    progress.finish_with_message(format!("users exported from {}", account.slug));
    if let Ok(store) = Arc::try_unwrap(store) {
        store.close().await?;
    }
    Ok(())
}

/// What to import, into which account, and how.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The CSV file, in the columns of `usher export` (a header row first; `email` required).
    pub file: std::path::PathBuf,
    /// The slug of the account the users go to (a row's `account` names a sub-account of it).
    #[arg(long)]
    pub account: String,
    /// Report what would happen and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write nothing unless every row is good.
    #[arg(long)]
    pub all_or_nothing: bool,
    /// Bring existing users (matched on username, else email) to what their row says,
    /// instead of skipping them.
    #[arg(long)]
    pub update_existing: bool,
    /// Send each new user a welcome mail with a set-password link.
    #[arg(long)]
    pub welcome_mail: bool,
}

/// Rows written per transaction: one seat-pool lock per batch.
const IMPORT_BATCH: usize = 1_000;

/// The tally of an import, printed at its end.
#[derive(Debug, Default)]
struct Tally {
    created: u64,
    updated: u64,
    unchanged: u64,
    skipped: u64,
    errors: Vec<String>,
}

impl Tally {
    fn add(&mut self, line: u64, outcome: &RowOutcome) {
        match outcome {
            RowOutcome::Created(_) => self.created += 1,
            RowOutcome::Updated(_) => self.updated += 1,
            RowOutcome::Unchanged(_) => self.unchanged += 1,
            RowOutcome::Skipped { .. } => self.skipped += 1,
            RowOutcome::Error { column, error } => {
                let column = column.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
                self.errors.push(format!("line {line}{column}: {error}"));
            }
        }
    }

    fn print(&self, committed: bool) {
        let rows = [
            ("created", self.created),
            ("updated", self.updated),
            ("unchanged", self.unchanged),
            ("skipped", self.skipped),
            ("errors", self.errors.len() as u64),
        ];
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "| outcome | rows |\n|---|---|");
        for (outcome, count) in rows {
            let _ = writeln!(out, "| {outcome} | {count} |");
        }
        for error in self.errors.iter().take(50) {
            let _ = writeln!(out, "{error}");
        }
        if self.errors.len() > 50 {
            let _ = writeln!(out, "… and {} more errors", self.errors.len() - 50);
        }
        if !committed {
            let _ = writeln!(out, "nothing was written");
        }
    }
}

/// Imports a CSV file into an account as the operator, a batch per transaction, and prints
/// the tally; fails (exit 1) when a row was refused.
pub async fn import(args: ImportArgs) -> Result<(), CommandError> {
    let failed = |err: &dyn std::fmt::Display| CommandError::Import(err.to_string());
    let file =
        std::fs::File::open(&args.file).map_err(|e| failed(&format!("{}: {e}", args.file.display())))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(std::io::BufReader::new(file));
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| failed(&format!("the header: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    let header = ImportHeader::parse(&names).map_err(|e| failed(&e))?;
    let store = Arc::new(SqlStore::open(&args.database.config()).await?);
    let ports = ports(store.clone() as Arc<dyn Store>, Argon2Hasher::new(1));
    let operator = accounts::operator_on_the_command_line(&ports).await.map_err(|e| failed(&e))?;
    let account = accounts::get_account_by_slug(&ports, &operator, &args.account)
        .await
        .map_err(|e| failed(&format!("account {}: {e}", args.account)))?;
    let options = ImportOptions {
        mode: if args.all_or_nothing { ImportMode::AllOrNothing } else { ImportMode::PerRow },
        existing: if args.update_existing { Existing::Update } else { Existing::Skip },
        dry_run: args.dry_run,
        welcome_mail: args.welcome_mail,
    };
    if !header.unknown.is_empty() {
        let _ =
            writeln!(std::io::stdout().lock(), "unknown columns, not read: {}", header.unknown.join(", "));
    }
    let progress = indicatif::ProgressBar::new(size);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let batch_size = if args.all_or_nothing { usize::MAX } else { IMPORT_BATCH };
    let (mut tally, mut batch, mut committed) = (Tally::default(), Vec::new(), true);
    let mut records = reader.byte_records();
    loop {
        let next = records.next();
        let done = next.is_none();
        // The line a record starts on (a quoted cell may span lines); an unreadable one is
        // placed where the reader stopped.
        let line = match &next {
            Some(Ok(record)) => record.position().map(csv::Position::line),
            _ => None,
        }
        .unwrap_or_else(|| records.reader().position().line());
        match next {
            Some(Ok(record)) => match cells(&record, names.len()) {
                Ok(cells) => batch.push(ImportRow { line, cells }),
                Err(reason) => tally.errors.push(format!("line {line}: {reason}")),
            },
            Some(Err(err)) => tally.errors.push(format!("line {line}: {err}")),
            None => {}
        }
        if batch.len() >= batch_size || (done && !batch.is_empty()) {
            if args.all_or_nothing && !tally.errors.is_empty() {
                committed = false;
                break;
            }
            let report = import_batch(&ports, &operator, account.id, &header, options, &batch)
                .await
                .map_err(|e| failed(&e))?;
            committed &= report.committed;
            for (row, outcome) in batch.iter().zip(&report.outcomes) {
                tally.add(row.line, outcome);
            }
            batch.clear();
            progress.set_position(records.reader().position().byte());
            progress.set_message(format!("{} created", tally.created));
        }
        if done {
            break;
        }
    }
    progress.finish_and_clear();
    tally.print(committed && !args.dry_run);
    if let Ok(store) = Arc::try_unwrap(store) {
        store.close().await?;
    }
    match tally.errors.len() {
        0 => Ok(()),
        n => Err(failed(&format!("{n} row(s) refused; the others are reported above"))),
    }
}

/// A record's cells as text: refused when it is not UTF-8 or has more cells than the header.
fn cells(record: &csv::ByteRecord, columns: usize) -> Result<Vec<String>, String> {
    if record.len() > columns {
        return Err(format!("{} cells, but the header names {columns} columns", record.len()));
    }
    record
        .iter()
        .enumerate()
        .map(|(i, cell)| String::from_utf8(cell.to_vec()).map_err(|_| format!("cell {} is not UTF-8", i + 1)))
        .collect()
}
