//! Delivering the outbox (R20): claim due mail, render and send it, record the outcome.
//! Mail is claimed with a lease, so a dispatcher that dies mid-send leaves it to be claimed
//! again: every mail is delivered at least once, whatever crashes.

use crate::error::RepoError;
use crate::ports::{MailError, MailRenderer, Mailer};
use crate::service::Ports;
use crate::time::Duration;

/// How the outbox is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// How long a claimed mail stays hidden from other dispatchers.
    pub lease: Duration,
    /// Mails claimed at once.
    pub batch: u32,
    /// Attempts before a temporary failure becomes permanent.
    pub max_attempts: u32,
    /// Wait before the second attempt; it doubles with every further attempt.
    pub first_retry: Duration,
    /// Longest wait between attempts.
    pub max_retry: Duration,
}

impl DeliveryPolicy {
    /// One-minute leases, 50 at once, 8 attempts from 30 seconds to an hour apart.
    pub const fn standard() -> DeliveryPolicy {
        DeliveryPolicy {
            lease: Duration::minutes(1),
            batch: 50,
            max_attempts: 8,
            first_retry: Duration::seconds(30),
            max_retry: Duration::hours(1),
        }
    }

    /// The wait after the `attempts`-th failed attempt.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let factor = 1i32 << doublings;
        let wait = self.first_retry.checked_mul(factor).unwrap_or(self.max_retry);
        wait.min(self.max_retry)
    }
}

/// What one dispatch round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Mails delivered.
    pub sent: usize,
    /// Mails that failed for now and will be tried again.
    pub retried: usize,
    /// Mails given up (permanent failure, or attempts exhausted).
    pub failed: usize,
}

impl DispatchReport {
    /// Mails handled in the round.
    pub fn handled(&self) -> usize {
        self.sent + self.retried + self.failed
    }
}

/// Claims the mail due now (at most one batch), sends it and records each outcome.
pub async fn dispatch_due(
    ports: &Ports,
    renderer: &dyn MailRenderer,
    mailer: &dyn Mailer,
    policy: &DeliveryPolicy,
) -> Result<DispatchReport, RepoError> {
    let now = ports.now();
    let claimed = {
        let mut tx = ports.begin().await?;
        let claimed = tx.claim_mail(now, now.plus(policy.lease), policy.batch).await?;
        tx.commit().await?;
        claimed
    };
    let mut report = DispatchReport::default();
    for claim in claimed {
        let outcome = match renderer.render(&claim.mail) {
            Ok(rendered) => mailer.send(&rendered).await,
            Err(reason) => Err(MailError::Permanent(format!("cannot render: {reason}"))),
        };
        let mut tx = ports.begin().await?;
        match outcome {
            Ok(()) => {
                tx.mark_mail_sent(claim.mail.id, ports.now()).await?;
                report.sent += 1;
            }
            Err(MailError::Transient(reason)) if claim.attempts < policy.max_attempts => {
                let retry_at = ports.now().plus(policy.backoff(claim.attempts));
                tx.mark_mail_failed(claim.mail.id, &reason, Some(retry_at)).await?;
                report.retried += 1;
            }
            Err(err) => {
                tx.mark_mail_failed(claim.mail.id, &err.to_string(), None).await?;
                report.failed += 1;
            }
        }
        tx.commit().await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_ceiling() {
        let policy = DeliveryPolicy::standard();
        assert_eq!(policy.backoff(1), Duration::seconds(30));
        assert_eq!(policy.backoff(2), Duration::seconds(60));
        assert_eq!(policy.backoff(4), Duration::seconds(240));
        assert_eq!(policy.backoff(9), Duration::hours(1));
        assert_eq!(policy.backoff(200), Duration::hours(1));
    }
}
