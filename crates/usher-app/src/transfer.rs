//! `usher export`: the users of an account as CSV, read from the database as the operator,
//! a page at a time, with a progress bar on stderr.

use std::io::Write;
use std::sync::Arc;

use usher_domain::ports::{PageRequest, Store};
use usher_domain::service::accounts;
use usher_domain::service::transfer::{EXPORT_PAGE, ExportNames, USER_COLUMNS, export_users_page};
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
