//! The event feed's upkeep in the server (R26): numbering committed events soon after they
//! commit, and forgetting those older than the retention. Readers number what has committed
//! before they read too, so this loop sets how soon pushed deliveries see an event, not
//! whether a reader does.

use std::future::Future;
use std::time::Duration as StdDuration;

use usher_domain::service::Ports;
use usher_domain::service::events::{forget_events, sequence_events};
use usher_domain::time::Duration;

/// How often the feed is numbered when nothing else asks.
pub const SEQUENCE_INTERVAL: StdDuration = StdDuration::from_millis(200);

/// Every how many rounds events past the retention are deleted (about hourly).
const FORGET_EVERY: u32 = 18_000;

/// Keeps the feed until `shutdown` resolves.
pub async fn run_feed_keeper(ports: Ports, retention: Duration, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut round: u32 = 0;
    loop {
        if let Err(err) = sequence_events(&ports).await {
            tracing::warn!(error = %err, "numbering events failed; trying again");
        }
        if round.is_multiple_of(FORGET_EVERY) {
            match forget_events(&ports, retention).await {
                Ok(0) => {}
                Ok(forgotten) => tracing::info!(forgotten, "events past the retention deleted"),
                Err(err) => tracing::warn!(error = %err, "deleting old events failed; trying again later"),
            }
        }
        round = round.wrapping_add(1);
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(SEQUENCE_INTERVAL) => {}
        }
    }
}
