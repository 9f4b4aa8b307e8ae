//! `usher export` and `usher import`: the users of an account as CSV, read from or written to
//! the database as the operator, a page or a batch at a time, with a progress bar on stderr.

use std::io::Write;
use std::sync::Arc;

use usher_domain::authz::Actor;
use usher_domain::model::ImportJob;
use usher_domain::ports::{PageRequest, Store};
use usher_domain::service::transfer::{
    EXPORT_PAGE, Existing, ExportNames, ImportError, ImportHeader, ImportMode, ImportOptions, USER_COLUMNS,
    export_users_page, import_report, run_import, seal_import,
};
use usher_domain::service::users::UserFilter;
use usher_domain::service::{Ports, accounts};
use usher_http::problem::describe_refusal;
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

/// Imports a CSV file into an account as the operator: the file becomes an import job, as
/// one submitted over HTTP, which this process holds and runs a batch per transaction. Prints
/// the tally and the refused rows; fails (exit 1) when a row was refused.
pub async fn import(args: ImportArgs) -> Result<(), CommandError> {
    let failed = |err: &dyn std::fmt::Display| CommandError::Import(err.to_string());
    let file =
        std::fs::File::open(&args.file).map_err(|e| failed(&format!("{}: {e}", args.file.display())))?;
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
    let reading =
        indicatif::ProgressBar::new_spinner().with_message(format!("reading {}", args.file.display()));
    reading.enable_steady_tick(std::time::Duration::from_millis(200));
    let source = std::io::BufReader::new(file);
    let staged = usher_http::upload::upload(&ports, &operator, account.id, options, source, None)
        .await
        .map_err(|e| failed(&e))?;
    reading.finish_and_clear();
    let unknown = ImportHeader::parse(&staged.header).map(|header| header.unknown).unwrap_or_default();
    if !unknown.is_empty() {
        let _ = writeln!(std::io::stdout().lock(), "unknown columns, not read: {}", unknown.join(", "));
    }
    let job = seal_import(&ports, staged.id, true).await.map_err(|e| failed(&e))?;
    let progress = indicatif::ProgressBar::new(job.counts.rows);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows {msg} ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let shown = progress.clone();
    let mut show = move |job: &ImportJob| {
        shown.set_position(job.counts.done);
        shown.set_message(format!("{} created", job.counts.created));
    };
    let job = run_import(&ports, job.id, &describe_refusal, &|| true, &mut show)
        .await
        .map_err(|e| failed(&e))?
        .ok_or_else(|| failed(&"the import job disappeared"))?;
    progress.finish_and_clear();
    let refused = refused_rows(&ports, &operator, &job).await.map_err(|e| failed(&e))?;
    print_tally(&job, &refused);
    if let Ok(store) = Arc::try_unwrap(store) {
        store.close().await?;
    }
    match (job.counts.errors, &job.failure) {
        (0, None) => Ok(()),
        (0, Some(failure)) => Err(failed(failure)),
        (n, _) => Err(failed(&format!("{n} row(s) refused; the others are reported above"))),
    }
}

/// How many refused rows the tally lists.
const SHOWN_ERRORS: u32 = 50;

/// The first refused rows of a job, as `line N (column): reason`.
async fn refused_rows(ports: &Ports, actor: &Actor, job: &ImportJob) -> Result<Vec<String>, ImportError> {
    let (rows, _) = import_report(ports, actor, job.id, 0, SHOWN_ERRORS, true).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let column = row.column.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
            let reason = row
                .problem
                .as_ref()
                .and_then(|problem| problem.get("detail"))
                .and_then(|detail| detail.as_str())
                .unwrap_or("refused")
                .to_owned();
            format!("line {}{column}: {reason}", row.line)
        })
        .collect())
}

/// The tally of an import, then its refused rows.
fn print_tally(job: &ImportJob, refused: &[String]) {
    let counts = &job.counts;
    let rows = [
        ("created", counts.created),
        ("updated", counts.updated),
        ("unchanged", counts.unchanged),
        ("skipped", counts.skipped),
        ("errors", counts.errors),
    ];
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "| outcome | rows |\n|---|---|");
    for (outcome, count) in rows {
        let _ = writeln!(out, "| {outcome} | {count} |");
    }
    for line in refused {
        let _ = writeln!(out, "{line}");
    }
    if counts.errors > refused.len() as u64 {
        let _ = writeln!(out, "… and {} more errors", counts.errors - refused.len() as u64);
    }
    if !job.committed {
        let _ = writeln!(out, "nothing was written");
    }
}
