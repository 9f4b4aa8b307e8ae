//! A CSV file into an import job, read as it arrives: the csv crate reads it on a blocking
//! thread a thousand rows at a time, and each chunk is staged in the store before the next is
//! read, so memory stays bounded whatever the file's size. Shared by `POST
//! /v1/accounts/{id}/imports` and `usher import`.

use std::io::Read;

use tokio::sync::mpsc;
use usher_domain::authz::Actor;
use usher_domain::id::AccountId;
use usher_domain::model::{ImportJob, ImportOptions, RowReport, StagedRow};
use usher_domain::service::Ports;
use usher_domain::service::transfer::{ImportError, abandon_import, stage_import_rows, submit_import};

/// Rows read and staged at a time.
const CHUNK: usize = 1_000;

/// Why a file did not become a job.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The job was refused (the account, the permission, the header).
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The file is larger than allowed.
    #[error("the file is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The file could not be read (its header, or the connection broke off).
    #[error("the file could not be read: {0}")]
    Unreadable(String),
}

/// What the reading thread sends.
enum Piece {
    Header(Vec<String>),
    Rows(Vec<StagedRow>),
    Failed(UploadError),
}

/// Reads a CSV file into a new job of `account`, as `actor` submits it, and answers the job
/// with every row staged and its file complete, still to be sealed. A file cut short fails the
/// job, which keeps nothing of it.
pub async fn upload<R: Read + Send + 'static>(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    options: ImportOptions,
    source: R,
    limit: Option<u64>,
) -> Result<ImportJob, UploadError> {
    let (sender, mut receiver) = mpsc::channel(1);
    let reading = tokio::task::spawn_blocking(move || read_rows(source, limit, &sender));
    let header = match receiver.recv().await {
        Some(Piece::Header(header)) => header,
        Some(Piece::Failed(err)) => return Err(err),
        Some(Piece::Rows(_)) | None => return Err(UploadError::Unreadable("the file is empty".to_owned())),
    };
    let job = submit_import(ports, actor, account, options, header).await?;
    let mut failure = None;
    while let Some(read) = receiver.recv().await {
        match read {
            Piece::Rows(rows) => {
                if let Err(err) = stage_import_rows(ports, job.id, &rows).await {
                    failure = Some(UploadError::Import(err));
                    break;
                }
            }
            Piece::Failed(err) => {
                failure = Some(err);
                break;
            }
            Piece::Header(_) => {}
        }
    }
    drop(receiver);
    let _ = reading.await;
    match failure {
        None => Ok(job),
        Some(err) => {
            if let Err(abandoning) = abandon_import(ports, job.id, &err.to_string()).await {
                tracing::warn!(error = %abandoning, job = %job.id, "an import cut short could not be marked failed");
            }
            Err(err)
        }
    }
}

/// A reader that fails once more than `limit` bytes came through it.
struct Limited<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.left = self.left.checked_sub(read as u64).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::FileTooLarge, format!("larger than {} bytes", self.limit))
        })?;
        Ok(read)
    }
}

/// The reading thread: the header, then chunks of rows, each sent when the last was taken.
fn read_rows<R: Read>(source: R, limit: Option<u64>, sender: &mpsc::Sender<Piece>) {
    let limit = limit.unwrap_or(u64::MAX);
    let source = Limited { inner: source, left: limit, limit };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(std::io::BufReader::new(source));
    let failed = |err: csv::Error| match err.kind() {
        csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::FileTooLarge => {
            UploadError::TooLarge { limit }
        }
        _ => UploadError::Unreadable(err.to_string()),
    };
    let header = match reader.byte_headers() {
        Ok(names) if names.is_empty() || (names.len() == 1 && names[0].is_empty()) => {
            let _ =
                sender.blocking_send(Piece::Failed(UploadError::Unreadable("the file is empty".to_owned())));
            return;
        }
        Ok(names) => names.iter().map(|name| String::from_utf8_lossy(name).into_owned()).collect::<Vec<_>>(),
        Err(err) => {
            let _ = sender.blocking_send(Piece::Failed(failed(err)));
            return;
        }
    };
    let columns = header.len();
    if sender.blocking_send(Piece::Header(header)).is_err() {
        return;
    }
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {
                let line = record.position().map_or(0, csv::Position::line);
                chunk.push(staged(line, &record, columns));
                if chunk.len() == CHUNK
                    && sender
                        .blocking_send(Piece::Rows(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))))
                        .is_err()
                {
                    return;
                }
            }
            Ok(false) => break,
            Err(err) => {
                let _ = sender.blocking_send(Piece::Failed(failed(err)));
                return;
            }
        }
    }
    if !chunk.is_empty() {
        let _ = sender.blocking_send(Piece::Rows(chunk));
    }
}

/// A record as a staged row: its cells, or the reason it cannot be read (cells that are not
/// UTF-8, more cells than the header names).
fn staged(line: u64, record: &csv::ByteRecord, columns: usize) -> StagedRow {
    let unreadable = |detail: String| StagedRow {
        line,
        cells: Vec::new(),
        report: Some(RowReport::unreadable(line, detail)),
    };
    if record.len() > columns {
        return unreadable(format!("{} cells, but the header names {columns} columns", record.len()));
    }
    let mut cells = Vec::with_capacity(record.len());
    for (index, cell) in record.iter().enumerate() {
        match std::str::from_utf8(cell) {
            Ok(text) => cells.push(text.to_owned()),
            Err(_) => return unreadable(format!("cell {} is not UTF-8", index + 1)),
        }
    }
    StagedRow { line, cells, report: None }
}
