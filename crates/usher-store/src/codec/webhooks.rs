//! Rows to domain values and back: webhooks and their deliveries (R26).

use super::*;
use usher_domain::model::{
    EventFilter, Webhook, WebhookDelivery, WebhookDeliveryStatus, WebhookSecret, WebhookUrl,
};

pub(crate) fn webhook_row(w: &Webhook) -> Result<webhook::Model, RepoError> {
    const E: &str = "webhook";
    let types: Vec<&str> = w.types.types().iter().copied().collect();
    Ok(webhook::Model {
        id: w.id.as_uuid(),
        root_id: w.root.as_uuid(),
        account_id: w.account.as_uuid(),
        url: w.url.as_str().to_owned(),
        types: to_json(E, &types)?,
        exclude_origins: to_json(E, &w.exclude_origins)?,
        enabled: w.enabled,
        disabled_reason: w.disabled_reason.clone(),
        secret: w.secret.expose().to_owned(),
        previous_secret: w.previous_secret.as_ref().map(|(s, _)| s.expose().to_owned()),
        previous_secret_until: w.previous_secret.as_ref().map(|(_, until)| until.unix_micros()),
        cursor: i64::try_from(w.cursor).map_err(|_| RepoError::corrupt(E, "cursor out of range"))?,
        next_attempt_at: w.next_attempt_at.unix_micros(),
        failing_since: w.failing_since.map(|at| at.unix_micros()),
        lease_until: 0,
        created_at: w.created_at.unix_micros(),
        version: version(w.version),
    })
}

pub(crate) fn webhook_from_row(row: webhook::Model) -> Result<Webhook, RepoError> {
    const E: &str = "webhook";
    let types: Vec<String> = from_json(E, &row.types)?;
    let previous_secret = match (row.previous_secret, row.previous_secret_until) {
        (Some(secret), Some(until)) => {
            Some((WebhookSecret::parse(&secret).map_err(corrupt(E))?, time(E, until)?))
        }
        _ => None,
    };
    Ok(Webhook {
        id: WebhookId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        url: WebhookUrl::parse(&row.url).map_err(corrupt(E))?,
        types: EventFilter::parse(types.iter().map(String::as_str)).map_err(corrupt(E))?,
        exclude_origins: from_json(E, &row.exclude_origins)?,
        enabled: row.enabled,
        disabled_reason: row.disabled_reason,
        secret: WebhookSecret::parse(&row.secret).map_err(corrupt(E))?,
        previous_secret,
        cursor: u64::try_from(row.cursor).map_err(|_| RepoError::corrupt(E, "negative cursor"))?,
        next_attempt_at: time(E, row.next_attempt_at)?,
        failing_since: opt_time(E, row.failing_since)?,
        created_at: time(E, row.created_at)?,
        version: u64::try_from(row.version).map_err(|_| RepoError::corrupt(E, "negative version"))?,
    })
}

pub(crate) fn delivery_row(d: &WebhookDelivery) -> Result<webhook_delivery::Model, RepoError> {
    const E: &str = "webhook delivery";
    Ok(webhook_delivery::Model {
        id: d.id.as_uuid(),
        webhook_id: d.webhook.as_uuid(),
        root_id: d.root.as_uuid(),
        event_id: d.event.as_uuid(),
        seq: i64::try_from(d.sequence).map_err(|_| RepoError::corrupt(E, "number out of range"))?,
        kind: d.kind.to_owned(),
        payload: d.payload.clone(),
        status: d.status.as_str().to_owned(),
        attempts: i32::try_from(d.attempts).unwrap_or(i32::MAX),
        last_status: d.last_status.map(i32::from),
        last_error: d.last_error.clone(),
        created_at: d.created_at.unix_micros(),
        last_attempt_at: d.last_attempt_at.map(|at| at.unix_micros()),
        delivered_at: d.delivered_at.map(|at| at.unix_micros()),
    })
}

pub(crate) fn delivery_from_row(row: webhook_delivery::Model) -> Result<WebhookDelivery, RepoError> {
    const E: &str = "webhook delivery";
    let status = match row.status.as_str() {
        "pending" => WebhookDeliveryStatus::Pending,
        "delivered" => WebhookDeliveryStatus::Delivered,
        _ => return Err(RepoError::corrupt(E, "unknown status")),
    };
    Ok(WebhookDelivery {
        id: DeliveryId::from_uuid(row.id),
        webhook: WebhookId::from_uuid(row.webhook_id),
        root: AccountId::from_uuid(row.root_id),
        event: EventId::from_uuid(row.event_id),
        sequence: u64::try_from(row.seq).map_err(|_| RepoError::corrupt(E, "negative number"))?,
        kind: PublicEvent::known_type(&row.kind)
            .ok_or_else(|| RepoError::corrupt(E, "unknown event type"))?,
        payload: row.payload,
        status,
        attempts: count(E, i64::from(row.attempts))?,
        last_status: row.last_status.and_then(|s| u16::try_from(s).ok()),
        last_error: row.last_error,
        created_at: time(E, row.created_at)?,
        last_attempt_at: opt_time(E, row.last_attempt_at)?,
        delivered_at: opt_time(E, row.delivered_at)?,
    })
}
