//! Webhooks (R26): administrators register endpoints for an account subtree's events; usher
//! delivers each event at least once, in feed order per endpoint, signed per the Standard
//! Webhooks specification, retrying with backoff and jitter for up to a day before it
//! disables the endpoint and says why.
//!
//! WebhookDelivery runs in rounds ([`dispatch_webhooks`]): events numbered since a webhook's cursor
//! become its deliveries (the fan-out, guarded by the cursor so two instances never both do
//! it), then due webhooks are claimed with a lease and their deliveries sent one after the
//! other, stopping at the first failure so that nothing overtakes it.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::authz::{Actor, ActorKind, Denied};
use crate::document::EventDocument;
use crate::error::{Invalid, RepoError, field};
use crate::id::{AccountId, DeliveryId, WebhookId};
use crate::model::{EventFilter, Webhook, WebhookDelivery, WebhookDeliveryStatus, WebhookSecret, WebhookUrl};
use crate::ports::{EventQuery, Page, PageRequest, Tx, WebhookFailure, WebhookRequest, WebhookSender};
use crate::service::{
    AuditEntry, Ports, common_errors, guard, load_account, objects, record, visible_subtrees,
};
use crate::time::{Duration, Timestamp};
use crate::value::{Access, Module, Permission, ValueError};

/// Failure of a webhook operation.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
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
    /// The account has as many webhooks as allowed.
    #[error("an account may have at most {max} webhooks")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// `If-Match` named another version.
    #[error("the webhook changed meanwhile: you saw version {expected}, it is at {actual}")]
    VersionMismatch {
        /// The version the caller saw.
        expected: u64,
        /// The stored version.
        actual: u64,
    },
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(WebhookError);

/// Most webhooks one account may have.
pub const MAX_WEBHOOKS: usize = 100;
/// Most origins one webhook may exclude.
const MAX_EXCLUDED_ORIGINS: usize = 20;
/// How long the secret before a rotation keeps signing beside the new one.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// A webhook to register.
#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    /// Where deliveries go.
    pub url: String,
    /// Event types or families (`user.*`); empty for every type.
    pub types: Vec<String>,
    /// Origins whose events are not delivered.
    pub exclude_origins: Vec<String>,
    /// Whether deliveries go out from the start.
    pub enabled: bool,
}

/// Changes to a webhook; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    /// Where deliveries go.
    pub url: Option<String>,
    /// Event types.
    pub types: Option<Vec<String>>,
    /// Excluded origins.
    pub exclude_origins: Option<Vec<String>>,
    /// Enable (which also clears why usher disabled it) or disable.
    pub enabled: Option<bool>,
    /// The version the caller saw (`If-Match`).
    pub if_version: Option<u64>,
}

fn parse_url(raw: &str) -> Result<WebhookUrl, Invalid> {
    field("url", WebhookUrl::parse(raw))
}

fn parse_types(raw: &[String]) -> Result<EventFilter, Invalid> {
    field("types", EventFilter::parse(raw.iter().map(String::as_str)))
}

fn parse_origins(raw: &[String]) -> Result<BTreeSet<String>, Invalid> {
    if raw.len() > MAX_EXCLUDED_ORIGINS {
        let error = ValueError::TooLong { max: MAX_EXCLUDED_ORIGINS, actual: raw.len() };
        return Err(Invalid::new("exclude_origins", error));
    }
    raw.iter()
        .enumerate()
        .map(|(index, origin)| {
            let origin = origin.trim();
            let bad =
                origin.is_empty() || origin.chars().count() > 100 || origin.chars().any(char::is_control);
            if bad {
                let error = ValueError::Malformed { reason: "must be 1 to 100 printable characters" };
                return Err(Invalid::new(format!("exclude_origins[{index}]"), error));
            }
            Ok(origin.to_owned())
        })
        .collect()
}

/// Loads a webhook the actor may use with `access` (R19), as not found across tenants.
async fn load_webhook(
    tx: &mut dyn Tx,
    actor: &Actor,
    id: WebhookId,
    access: Access,
) -> Result<Webhook, WebhookError> {
    let webhook = tx.webhook(id).await?.ok_or(WebhookError::NotFound { entity: "webhook" })?;
    let account = load_account(tx, webhook.account).await?;
    guard(actor, Permission::new(Module::Events, access), &account, "webhook")?;
    Ok(webhook)
}

fn audit<'a>(actor: &'a Actor, webhook: &Webhook, action: &'static str, diff: Value) -> AuditEntry<'a> {
    AuditEntry {
        root: webhook.root,
        account: webhook.account,
        action,
        target_kind: "webhook",
        target_id: webhook.id.to_string(),
        diff,
        actor,
        object: objects::webhook(webhook),
    }
}

/// Registers a webhook for the events of `account`'s subtree from now on; answers it with its
/// signing secret, which is shown this once.
pub async fn create_webhook(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    command: NewWebhook,
) -> Result<(Webhook, WebhookSecret), WebhookError> {
    let url = parse_url(&command.url)?;
    let types = parse_types(&command.types)?;
    let exclude_origins = parse_origins(&command.exclude_origins)?;
    // What committed before this call is numbered first, so "from now on" excludes it.
    crate::service::events::sequence_events(ports).await?;
    let mut tx = ports.begin().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Events, Access::Write), &account, "account")?;
    let root = account.root();
    let own = tx.webhooks(root, &BTreeSet::from([account.id])).await?;
    if own.iter().filter(|w| w.account == account.id).count() >= MAX_WEBHOOKS {
        return Err(WebhookError::TooMany { max: MAX_WEBHOOKS });
    }
    let now = ports.now();
    let secret = WebhookSecret::from_random(ports.tokens.random_bytes());
    let webhook = Webhook {
        id: ports.new_id(WebhookId::from_uuid),
        root,
        account: account.id,
        url,
        types,
        exclude_origins,
        enabled: command.enabled,
        disabled_reason: None,
        secret: secret.clone(),
        previous_secret: None,
        cursor: tx.last_event_number(root).await?,
        next_attempt_at: now,
        failing_since: None,
        created_at: now,
        version: 0,
    };
    tx.insert_webhook(&webhook).await?;
    let diff = json!({"url": webhook.url.as_str(), "enabled": webhook.enabled});
    record(ports, tx.as_mut(), audit(actor, &webhook, "webhook.created", diff)).await?;
    tx.commit().await?;
    Ok((webhook, secret))
}

/// The webhooks of an account's subtree.
pub async fn list_webhooks(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
) -> Result<Vec<Webhook>, WebhookError> {
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Events, Access::Read), &account, "account")?;
    Ok(tx.webhooks(account.root(), &visible_subtrees(actor, &account)).await?)
}

/// One webhook.
pub async fn get_webhook(ports: &Ports, actor: &Actor, id: WebhookId) -> Result<Webhook, WebhookError> {
    let mut tx = ports.begin_read().await?;
    load_webhook(tx.as_mut(), actor, id, Access::Read).await
}

/// Changes a webhook. Enabling one usher disabled clears the reason, and its deliveries go
/// on from where they stopped.
pub async fn update_webhook(
    ports: &Ports,
    actor: &Actor,
    id: WebhookId,
    patch: WebhookPatch,
) -> Result<Webhook, WebhookError> {
    let mut tx = ports.begin().await?;
    let mut webhook = load_webhook(tx.as_mut(), actor, id, Access::Write).await?;
    if let Some(expected) = patch.if_version.filter(|v| *v != webhook.version) {
        return Err(WebhookError::VersionMismatch { expected, actual: webhook.version });
    }
    let before = objects::webhook(&webhook);
    if let Some(url) = &patch.url {
        webhook.url = parse_url(url)?;
    }
    if let Some(types) = &patch.types {
        webhook.types = parse_types(types)?;
    }
    if let Some(origins) = &patch.exclude_origins {
        webhook.exclude_origins = parse_origins(origins)?;
    }
    if let Some(enabled) = patch.enabled {
        if enabled && !webhook.enabled {
            webhook.disabled_reason = None;
            webhook.failing_since = None;
            webhook.next_attempt_at = ports.now();
        }
        webhook.enabled = enabled;
    }
    tx.update_webhook(&webhook).await?;
    webhook.version += 1;
    let diff = crate::service::diff(Some(&before), Some(&objects::webhook(&webhook)));
    record(ports, tx.as_mut(), audit(actor, &webhook, "webhook.updated", diff)).await?;
    tx.commit().await?;
    Ok(webhook)
}

/// Deletes a webhook and its deliveries.
pub async fn delete_webhook(ports: &Ports, actor: &Actor, id: WebhookId) -> Result<(), WebhookError> {
    let mut tx = ports.begin().await?;
    let webhook = load_webhook(tx.as_mut(), actor, id, Access::Write).await?;
    tx.delete_webhook(id).await?;
    let diff = json!({"url": webhook.url.as_str()});
    record(ports, tx.as_mut(), audit(actor, &webhook, "webhook.deleted", diff)).await?;
    tx.commit().await?;
    Ok(())
}

/// Gives a webhook a new secret, shown this once. The old one keeps signing beside it for
/// [`ROTATION_OVERLAP`], so the receiver can switch without losing a delivery.
pub async fn rotate_secret(
    ports: &Ports,
    actor: &Actor,
    id: WebhookId,
) -> Result<(Webhook, WebhookSecret), WebhookError> {
    let mut tx = ports.begin().await?;
    let mut webhook = load_webhook(tx.as_mut(), actor, id, Access::Write).await?;
    let secret = WebhookSecret::from_random(ports.tokens.random_bytes());
    let until = ports.now().plus(ROTATION_OVERLAP);
    webhook.previous_secret = Some((std::mem::replace(&mut webhook.secret, secret.clone()), until));
    tx.update_webhook(&webhook).await?;
    webhook.version += 1;
    let diff = json!({"secret": "rotated", "previous_secret_until": until.to_rfc3339()});
    record(ports, tx.as_mut(), audit(actor, &webhook, "webhook.secret_rotated", diff)).await?;
    tx.commit().await?;
    Ok((webhook, secret))
}

/// A page of a webhook's deliveries, newest event first: attempts, the last answer, and
/// whether each was delivered.
pub async fn list_deliveries(
    ports: &Ports,
    actor: &Actor,
    id: WebhookId,
    page: PageRequest,
) -> Result<Page<WebhookDelivery>, WebhookError> {
    let mut tx = ports.begin_read().await?;
    load_webhook(tx.as_mut(), actor, id, Access::Read).await?;
    Ok(tx.list_deliveries(id, &page).await?)
}

/// Sends a delivery again: it becomes pending and goes out in its turn, with its original
/// `webhook-id`, so a receiver that already has it can tell.
pub async fn replay_delivery(
    ports: &Ports,
    actor: &Actor,
    id: WebhookId,
    delivery: DeliveryId,
) -> Result<WebhookDelivery, WebhookError> {
    let mut tx = ports.begin().await?;
    let webhook = load_webhook(tx.as_mut(), actor, id, Access::Write).await?;
    let mut found = match tx.delivery(delivery).await? {
        Some(found) if found.webhook == webhook.id => found,
        _ => return Err(WebhookError::NotFound { entity: "delivery" }),
    };
    found.status = WebhookDeliveryStatus::Pending;
    found.delivered_at = None;
    tx.update_delivery(&found).await?;
    if webhook.enabled {
        let next = webhook.next_attempt_at.min(ports.now());
        tx.settle_webhook(webhook.id, next, webhook.failing_since, None).await?;
    }
    let diff = json!({"delivery": found.id, "event": found.event});
    record(ports, tx.as_mut(), audit(actor, &webhook, "webhook.delivery_replayed", diff)).await?;
    tx.commit().await?;
    Ok(found)
}

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct WebhookPolicy {
    /// How long a claimed webhook is held; longer than a batch takes to send.
    pub lease: Duration,
    /// Webhooks claimed per round.
    pub claims: u32,
    /// Deliveries sent per claimed webhook per round.
    pub batch: u32,
    /// Events fanned out per webhook per round.
    pub fan_out: u16,
    /// The wait before the first retry; it doubles up to `max_retry`, less up to half at
    /// random so that endpoints that failed together are not retried together.
    pub first_retry: Duration,
    /// The longest wait between retries.
    pub max_retry: Duration,
    /// How long a delivery may keep failing before the webhook is disabled.
    pub give_up_after: Duration,
}

impl WebhookPolicy {
    /// Retries after 5 s, doubling up to an hour, for a day; 10 deliveries per claim of 2
    /// minutes (an attempt times out after 10 s).
    pub fn standard() -> WebhookPolicy {
        WebhookPolicy {
            lease: Duration::minutes(2),
            claims: 16,
            batch: 10,
            fan_out: 200,
            first_retry: Duration::seconds(5),
            max_retry: Duration::hours(1),
            give_up_after: Duration::hours(24),
        }
    }
}

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookReport {
    /// Deliveries created from new events.
    pub fanned_out: u64,
    /// Deliveries answered 2xx.
    pub delivered: u64,
    /// Attempts that failed (to be retried).
    pub failed: u64,
    /// Webhooks disabled because their deliveries failed for too long.
    pub disabled: u64,
}

/// One round: number committed events, fan them out, and send what is due.
pub async fn dispatch_webhooks(
    ports: &Ports,
    sender: &dyn WebhookSender,
    policy: &WebhookPolicy,
) -> Result<WebhookReport, RepoError> {
    crate::service::events::sequence_events(ports).await?;
    let fanned_out = fan_out(ports, policy).await?;
    let mut report = deliver_due(ports, sender, policy).await?;
    report.fanned_out = fanned_out;
    Ok(report)
}

/// Turns the events numbered since each enabled webhook's cursor into its deliveries.
pub async fn fan_out(ports: &Ports, policy: &WebhookPolicy) -> Result<u64, RepoError> {
    let webhooks = ports.begin_read().await?.webhooks_behind().await?;
    let mut created = 0;
    for webhook in webhooks {
        let mut tx = ports.begin_read().await?;
        // What the feed has numbered is a prefix of the root's numbers: a page shorter than
        // asked for means everything up to `last` was read, whatever the subtree filter hid.
        let last = tx.last_event_number(webhook.root).await?;
        let query = EventQuery {
            root: webhook.root,
            within: BTreeSet::from([webhook.account]),
            after: webhook.cursor,
            types: EventFilter::all(),
            limit: policy.fan_out,
        };
        let events = tx.list_events(&query).await?;
        drop(tx);
        let read_all = events.len() < usize::from(policy.fan_out);
        let seen = events.last().and_then(|e| e.sequence).unwrap_or(webhook.cursor);
        let to = if read_all { seen.max(last) } else { seen };
        if to == webhook.cursor {
            continue;
        }
        let now = ports.now();
        let deliveries: Vec<WebhookDelivery> = events
            .iter()
            .filter(|e| webhook.types.accepts(e.kind))
            .filter(|e| e.origin.as_ref().is_none_or(|origin| !webhook.exclude_origins.contains(origin)))
            .map(|event| WebhookDelivery {
                id: ports.new_id(DeliveryId::from_uuid),
                webhook: webhook.id,
                root: webhook.root,
                event: event.id,
                sequence: event.sequence.unwrap_or_default(),
                kind: event.kind,
                payload: serde_json::to_string(&EventDocument::from(event)).unwrap_or_default(),
                status: WebhookDeliveryStatus::Pending,
                attempts: 0,
                last_status: None,
                last_error: None,
                created_at: now,
                last_attempt_at: None,
                delivered_at: None,
            })
            .collect();
        let mut tx = ports.begin().await?;
        if tx.fan_out(webhook.id, webhook.cursor, to, &deliveries).await? {
            tx.commit().await?;
            created += u64::try_from(deliveries.len()).unwrap_or(u64::MAX);
        }
    }
    Ok(created)
}

/// The signed request of a delivery at `now`.
pub fn request_of(webhook: &Webhook, delivery: &WebhookDelivery, now: Timestamp) -> WebhookRequest {
    let id = delivery.event.to_string();
    let timestamp = now.as_datetime().unix_timestamp();
    let signature = webhook.signature(&id, timestamp, &delivery.payload, now);
    WebhookRequest {
        url: webhook.url.as_str().to_owned(),
        headers: vec![
            ("content-type", "application/json".to_owned()),
            ("webhook-id", id),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ],
        body: delivery.payload.clone(),
    }
}

/// The wait before retry `attempt` (1 for the first): the mail outbox's backoff (doubling
/// from `first_retry` up to `max_retry`, with jitter) on this policy's bounds.
pub fn retry_wait(policy: &WebhookPolicy, attempt: u32, random: u8) -> Duration {
    let backoff = crate::service::mail::DeliveryPolicy {
        first_retry: policy.first_retry,
        max_retry: policy.max_retry,
        ..crate::service::mail::DeliveryPolicy::standard()
    };
    backoff.backoff_with_jitter(attempt, random)
}

/// Claims due webhooks and sends their pending deliveries in order, each webhook until its
/// first failure.
pub async fn deliver_due(
    ports: &Ports,
    sender: &dyn WebhookSender,
    policy: &WebhookPolicy,
) -> Result<WebhookReport, RepoError> {
    let now = ports.now();
    let claimed = {
        let mut tx = ports.begin().await?;
        let claimed = tx.claim_webhooks(now, now.plus(policy.lease), policy.claims).await?;
        tx.commit().await?;
        claimed
    };
    let mut report = WebhookReport::default();
    for webhook in claimed {
        let pending = ports.begin_read().await?.pending_deliveries(webhook.id, policy.batch).await?;
        let mut settled = (ports.now(), None, None);
        for mut delivery in pending {
            let at = ports.now();
            let outcome = sender.send(&request_of(&webhook, &delivery, at)).await;
            delivery.attempts += 1;
            delivery.last_attempt_at = Some(at);
            let failure = match outcome {
                Ok(answer) => {
                    delivery.last_status = Some(answer.status);
                    delivery.last_error = (!answer.body.is_empty()).then_some(answer.body);
                    if (200..300).contains(&answer.status) {
                        None
                    } else {
                        Some((format!("HTTP {}", answer.status), false))
                    }
                }
                Err(WebhookFailure::Refused(reason)) => {
                    delivery.last_status = None;
                    delivery.last_error = Some(format!("refused: {reason}"));
                    Some((format!("refused: {reason}"), true))
                }
                Err(WebhookFailure::Unreachable(reason)) => {
                    delivery.last_status = None;
                    delivery.last_error = Some(reason.clone());
                    Some((reason, false))
                }
            };
            let mut tx = ports.begin().await?;
            let Some((reason, permanent)) = failure else {
                delivery.status = WebhookDeliveryStatus::Delivered;
                delivery.delivered_at = Some(at);
                tx.update_delivery(&delivery).await?;
                tx.commit().await?;
                report.delivered += 1;
                continue;
            };
            tx.update_delivery(&delivery).await?;
            tx.commit().await?;
            report.failed += 1;
            let since = webhook.failing_since.unwrap_or(at);
            let give_up = permanent || at >= since.plus(policy.give_up_after);
            let disabled = give_up.then(|| {
                format!(
                    "disabled after {} attempts over {} s: {reason}",
                    delivery.attempts,
                    at.seconds_after(since)
                )
            });
            let random = ports.tokens.random_bytes()[0];
            settled = (at.plus(retry_wait(policy, delivery.attempts, random)), Some(since), disabled);
            break;
        }
        let (next, failing_since, disabled) = settled;
        let mut tx = ports.begin().await?;
        tx.settle_webhook(webhook.id, next, failing_since, disabled.clone()).await?;
        if let Some(reason) = disabled {
            let system = Actor::new(ActorKind::System);
            let gone = Webhook { enabled: false, disabled_reason: Some(reason.clone()), ..webhook.clone() };
            let diff = json!({"enabled": {"before": true, "after": false}, "disabled_reason": reason});
            record(ports, tx.as_mut(), audit(&system, &gone, "webhook.disabled", diff)).await?;
            report.disabled += 1;
        }
        tx.commit().await?;
    }
    Ok(report)
}
