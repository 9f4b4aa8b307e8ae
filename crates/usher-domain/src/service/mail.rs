//! Delivering the outbox (R20): claim due mail, render and send it, record the outcome.
//! Mail is claimed with a lease, so a dispatcher that dies mid-send leaves it to be claimed
//! again: every mail is delivered at least once, whatever crashes. Administrators list the
//! outbox by delivery state and retry what failed.

use serde_json::json;

use crate::authz::{Actor, Denied};
use crate::error::{Invalid, RepoError};
use crate::id::{AccountId, MailId};
use crate::model::{DeliveryState, MailMessage, QueuedMail};
use crate::ports::{MailError, MailQuery, MailRenderer, Mailer, Page, PageRequest};
use crate::service::{AuditEntry, Ports, common_errors, guard, load_account, record};
use crate::time::Duration;
use crate::value::{Access, Module, Permission};

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

    /// The longest wait after the `attempts`-th failed attempt: doubling from `first_retry`,
    /// never above `max_retry`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let factor = 1i32 << doublings;
        let wait = self.first_retry.checked_mul(factor).unwrap_or(self.max_retry);
        wait.min(self.max_retry)
    }

    /// The wait after the `attempts`-th failed attempt with jitter: between half of
    /// [`DeliveryPolicy::backoff`] and all of it, by `random` (0..=255), so mail that failed
    /// together (a mail server down) does not come back all at once.
    pub fn backoff_with_jitter(&self, attempts: u32, random: u8) -> Duration {
        let wait = self.backoff(attempts);
        let half = wait / 2;
        half + (wait - half) * i32::from(random) / 255
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
    /// Reset requests looked up: each became a reset mail, due now, or was dropped (R21).
    pub resolved: usize,
}

impl DispatchReport {
    /// Mails handled in the round.
    pub fn handled(&self) -> usize {
        self.sent + self.retried + self.failed + self.resolved
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
        if let MailMessage::PasswordResetRequest { .. } = &claim.mail.message {
            crate::service::public::resolve_reset_request(ports, &claim.mail).await?;
            report.resolved += 1;
            continue;
        }
        let outcome = match renderer.render(&claim.mail) {
            Ok(rendered) => mailer.send(&rendered).await,
            Err(reason) => Err(MailError::Permanent(format!("cannot render: {reason}"))),
        };
        let mut tx = ports.begin().await?;
        match outcome {
            Ok(()) => {
                tx.mark_mail_sent(&claim.mail, ports.now()).await?;
                report.sent += 1;
            }
            Err(MailError::Transient(reason)) if claim.attempts < policy.max_attempts => {
                let random = ports.tokens.random_bytes()[0];
                let retry_at = ports.now().plus(policy.backoff_with_jitter(claim.attempts, random));
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

/// Failure of reading or retrying the outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
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
    /// Only failed mail can be retried; this one is pending or sent.
    #[error("the mail is {state}, not failed; only failed mail can be retried", state = state.as_str())]
    NotFailed {
        /// Its state.
        state: DeliveryState,
    },
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(OutboxError);

/// Mail queued for an account's subtree with its delivery, oldest first, optionally in one
/// state: what an administrator checks when someone says the mail never came.
pub async fn list_mail(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    state: Option<DeliveryState>,
    page: PageRequest,
) -> Result<Page<QueuedMail>, OutboxError> {
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Settings, Access::Read), &account, "account")?;
    let within = crate::service::visible_subtrees(actor, &account);
    Ok(tx.list_mail(&MailQuery { root: account.root(), within, state, page }).await?)
}

/// Sends a failed mail again: it becomes pending, due now, with a fresh count of attempts.
pub async fn retry_mail(ports: &Ports, actor: &Actor, id: MailId) -> Result<QueuedMail, OutboxError> {
    const MAIL: &str = "mail";
    let mut tx = ports.begin().await?;
    let queued = tx.queued_mail(id).await?.ok_or(OutboxError::NotFound { entity: MAIL })?;
    let account = match load_account(tx.as_mut(), queued.mail.account).await {
        Err(crate::service::Lookup::Gate(_)) => return Err(OutboxError::NotFound { entity: MAIL }),
        other => other?,
    };
    guard(actor, Permission::new(Module::Settings, Access::Write), &account, MAIL)?;
    if queued.delivery.state != DeliveryState::Failed {
        return Err(OutboxError::NotFailed { state: queued.delivery.state });
    }
    if !tx.retry_mail(id, ports.now()).await? {
        return Err(OutboxError::NotFailed { state: DeliveryState::Pending });
    }
    let entry = AuditEntry {
        root: queued.mail.root,
        account: queued.mail.account,
        action: "mail.retried",
        target_kind: MAIL,
        target_id: id.to_string(),
        diff: json!({
            "state": {"before": "failed", "after": "pending"},
            "last_error": queued.delivery.last_error,
        }),
        actor,
        object: json!({"id": id, "to": queued.mail.to, "state": "pending"}),
    };
    record(ports, tx.as_mut(), entry).await?;
    let retried = tx.queued_mail(id).await?.ok_or(OutboxError::NotFound { entity: MAIL })?;
    tx.commit().await?;
    Ok(retried)
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

    #[test]
    fn jitter_keeps_the_wait_between_half_and_all_of_the_backoff() {
        let policy = DeliveryPolicy::standard();
        assert_eq!(policy.backoff_with_jitter(1, 0), Duration::seconds(15));
        assert_eq!(policy.backoff_with_jitter(1, 255), Duration::seconds(30));
        let middle = policy.backoff_with_jitter(3, 128);
        assert!(middle > Duration::seconds(60) && middle < Duration::seconds(120), "{middle:?}");
    }

    #[test]
    fn a_round_handled_every_mail_it_sent_retried_failed_or_resolved() {
        let report = DispatchReport { sent: 1, retried: 2, failed: 3, resolved: 4 };
        assert_eq!(report.handled(), 10);
        assert_eq!(DispatchReport::default().handled(), 0);
    }
}
