//! The public event feed (R26): reading it, numbering what has committed, and forgetting what
//! is older than the retention.
//!
//! Use cases append their events unnumbered, in their own transaction. [`sequence_events`]
//! numbers committed events afterwards, one sequencer at a time, so each root's numbers rise
//! in the order its events become visible. A reader keeps the last number it saw and asks for
//! what comes after: an event whose transaction commits late is numbered late, after
//! everything the reader has seen, and is never skipped.

use crate::authz::{Actor, Denied};
use crate::error::{Invalid, RepoError};
use crate::id::AccountId;
use crate::model::{EventFilter, PublicEvent};
use crate::ports::EventQuery;
use crate::service::{Ports, common_errors, guard, load_account, visible_subtrees};
use crate::time::{Duration, Timestamp};
use crate::value::{Access, Module, Permission};

/// Failure of reading the event feed.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
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
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(EventError);

/// How many events one sequencer transaction numbers at most.
pub const SEQUENCE_BATCH: u32 = 1000;

/// What to read from the feed.
#[derive(Debug, Clone)]
pub struct EventRead {
    /// The last number the reader saw (0 for the start of what is kept).
    pub after: u64,
    /// Only these types.
    pub types: EventFilter,
    /// At most this many (1–200).
    pub limit: u16,
}

/// Events of an account's subtree after `read.after`, in the order they became visible. Events
/// committed before the call are numbered first, so a caller reads its own writes.
pub async fn list_events(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    read: EventRead,
) -> Result<Vec<PublicEvent>, EventError> {
    let account = {
        let mut tx = ports.begin_read().await?;
        let account = load_account(tx.as_mut(), account).await?;
        guard(actor, Permission::new(Module::Events, Access::Read), &account, "account")?;
        account
    };
    sequence_events(ports).await?;
    let mut tx = ports.begin_read().await?;
    let query = EventQuery {
        root: account.root(),
        within: visible_subtrees(actor, &account),
        after: read.after,
        types: read.types,
        limit: read.limit.clamp(1, crate::ports::PageRequest::MAX_LIMIT),
    };
    Ok(tx.list_events(&query).await?)
}

/// Numbers every committed event that has no number yet, a batch per transaction; returns how
/// many it numbered. Safe to run from any number of tasks and server instances at once.
pub async fn sequence_events(ports: &Ports) -> Result<u64, RepoError> {
    // Most calls find nothing to number: a read says so without taking the sequencer's lock
    // (on SQLite, the write lock).
    if !ports.begin_read().await?.has_unnumbered_events().await? {
        return Ok(0);
    }
    let mut numbered = 0;
    loop {
        let mut tx = ports.begin().await?;
        let batch = tx.sequence_events(SEQUENCE_BATCH).await?;
        tx.commit().await?;
        numbered += u64::from(batch);
        if batch < SEQUENCE_BATCH {
            return Ok(numbered);
        }
    }
}

/// How long events are kept by default.
pub const DEFAULT_RETENTION: Duration = Duration::days(30);

/// Deletes events older than `retention`, a batch per transaction; returns how many.
pub async fn forget_events(ports: &Ports, retention: Duration) -> Result<u64, RepoError> {
    let before: Timestamp = ports.now().minus(retention);
    let mut forgotten = 0;
    loop {
        let mut tx = ports.begin().await?;
        let batch = tx.forget_events(before, SEQUENCE_BATCH).await?;
        tx.commit().await?;
        forgotten += u64::from(batch);
        if batch < SEQUENCE_BATCH {
            return Ok(forgotten);
        }
    }
}
