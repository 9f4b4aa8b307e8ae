//! Import jobs in the server: one job at a time is claimed and run a batch per transaction,
//! like the mail outbox. A server that stops lets its job go; one that dies leaves it to be
//! taken over when its lease ends, after the last batch it committed. A job whose upload broke
//! off (the server receiving it died) is failed once its file has stopped arriving.

use std::time::Duration;

use tokio::sync::watch;
use usher_domain::service::Ports;
use usher_domain::service::transfer::{claim_import, run_import, sweep_stalled_imports};
use usher_http::problem::describe_refusal;

/// How often an idle server looks for a job.
const IMPORT_POLL: Duration = Duration::from_millis(500);

/// How often a server looks for uploads that broke off.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Runs import jobs until `stop` turns true.
pub async fn run_import_worker(ports: Ports, mut stop: watch::Receiver<bool>) {
    let mut swept_at: Option<tokio::time::Instant> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        if swept_at.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
            swept_at = Some(tokio::time::Instant::now());
            match sweep_stalled_imports(&ports).await {
                Ok(0) => {}
                Ok(swept) => tracing::warn!(swept, "imports whose file stopped arriving were failed"),
                Err(err) => {
                    tracing::warn!(error = %err, "looking for broken-off imports failed; trying again")
                }
            }
        }
        match claim_import(&ports).await {
            Ok(Some(job)) => {
                tracing::info!(job = %job.id, rows = job.counts.rows, "import taken");
                let stopping = stop.clone();
                let keep_going = move || !*stopping.borrow();
                match run_import(&ports, job.id, &describe_refusal, &keep_going, &mut |_| {}).await {
                    Ok(Some(job)) => tracing::info!(
                        job = %job.id,
                        state = job.state.as_str(),
                        done = job.counts.done,
                        created = job.counts.created,
                        errors = job.counts.errors,
                        "import left"
                    ),
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(job = %job.id, error = %err, "an import batch failed; trying again")
                    }
                }
                continue;
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "looking for import jobs failed; trying again"),
        }
        tokio::select! {
            _ = stop.changed() => {}
            () = tokio::time::sleep(IMPORT_POLL) => {}
        }
    }
}
