//! Public events (R26), as the feed serves them and webhooks deliver them.

use super::*;

/// Who made a change, and from which app.
#[derive(Object, Debug, Clone)]
#[oai(rename = "EventActor")]
pub struct EventActorView {
    /// `user`, `operator`, `api_key`, `anonymous` or `system`.
    pub kind: String,
    /// The user or API key id.
    pub id: Option<Uuid>,
    /// The app the change came from: the caller's `X-Usher-Origin` header, else the name of
    /// its API key. Compare it with your own to drop the echoes of your own writes.
    pub origin: Option<String>,
}

/// The object an event is about.
#[derive(Object, Debug, Clone)]
pub struct EventSubject {
    /// `user`, `invitation`, `role`, `user_type`, `account`, `settings`, `api_key`, `contact`
    /// or `mail`.
    pub kind: String,
    /// Its id (a root account's id for `settings`).
    pub id: String,
}

/// A public event: a change to something in an account, with the object as it is after the
/// change. Secrets are never part of one.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Event")]
pub struct EventView {
    /// Id; also the `webhook-id` of its deliveries, so receivers can drop duplicates.
    pub id: Uuid,
    /// Type, e.g. `user.disabled`.
    #[oai(rename = "type")]
    pub kind: String,
    /// Position in the tenant's feed, rising in the order events became visible. Remember the
    /// last one you processed and pass it as `after`.
    pub sequence: u64,
    /// When the change was made.
    pub occurred_at: OffsetDateTime,
    /// Account of the object.
    pub account_id: Uuid,
    /// Root account (tenant).
    pub root_id: Uuid,
    /// Who made the change.
    pub actor: EventActorView,
    /// What the change was made to.
    pub subject: EventSubject,
    /// The object as it is after the change.
    pub data: serde_json::Value,
    /// Field-level changes `{field: {before, after}}`.
    pub changes: serde_json::Value,
}

impl From<&PublicEvent> for EventView {
    fn from(event: &PublicEvent) -> Self {
        let actor = ActorView::from(event.actor);
        EventView {
            id: event.id.as_uuid(),
            kind: event.kind.to_owned(),
            sequence: event.sequence.unwrap_or_default(),
            occurred_at: at(event.occurred_at),
            account_id: event.account.as_uuid(),
            root_id: event.root.as_uuid(),
            actor: EventActorView { kind: actor.kind, id: actor.id, origin: event.origin.clone() },
            subject: EventSubject { kind: event.subject_kind.clone(), id: event.subject_id.clone() },
            data: event.data.clone(),
            changes: event.changes.clone(),
        }
    }
}

/// Events after a position of the feed.
#[derive(Object, Debug, Clone)]
pub struct EventList {
    /// Events, in feed order.
    pub items: Vec<EventView>,
    /// Pass as `after` to read on: the last event's `sequence`, or the `after` you sent when
    /// there was nothing new. Never null, so a poller always has a position.
    pub next_after: u64,
}

/// A webhook (its secret is shown once, when made or rotated).
#[derive(Object, Debug, Clone)]
#[oai(rename = "Webhook")]
pub struct WebhookView {
    /// Id.
    pub id: Uuid,
    /// The account whose subtree's events it receives.
    pub account_id: Uuid,
    /// Where deliveries go.
    pub url: String,
    /// Event types it receives; empty for every type.
    pub types: Vec<String>,
    /// Events whose origin is one of these are not delivered.
    pub exclude_origins: Vec<String>,
    /// Whether deliveries go out.
    pub enabled: bool,
    /// Why usher disabled it (deliveries failed for a day); cleared by enabling it.
    pub disabled_reason: Option<String>,
    /// Until when the secret before the last rotation still signs beside the current one.
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Version (the `ETag`).
    pub version: u64,
}

impl From<&Webhook> for WebhookView {
    fn from(webhook: &Webhook) -> Self {
        WebhookView {
            id: webhook.id.as_uuid(),
            account_id: webhook.account.as_uuid(),
            url: webhook.url.as_str().to_owned(),
            types: webhook.types.types().iter().map(|t| (*t).to_owned()).collect(),
            exclude_origins: webhook.exclude_origins.iter().cloned().collect(),
            enabled: webhook.enabled,
            disabled_reason: webhook.disabled_reason.clone(),
            previous_secret_expires_at: webhook.previous_secret.as_ref().map(|(_, until)| at(*until)),
            created_at: at(webhook.created_at),
            version: webhook.version,
        }
    }
}

/// Webhooks.
#[derive(Object, Debug, Clone)]
pub struct WebhookList {
    /// Webhooks, oldest first.
    pub items: Vec<WebhookView>,
    /// Always `null`.
    pub next_cursor: Option<String>,
}

/// One event on its way to one webhook.
#[derive(Object, Debug, Clone)]
#[oai(rename = "WebhookDelivery")]
pub struct WebhookDeliveryView {
    /// Id.
    pub id: Uuid,
    /// The event (also the `webhook-id` header).
    pub event_id: Uuid,
    /// The event's type.
    #[oai(rename = "type")]
    pub kind: String,
    /// The event's position in the feed; deliveries go out in this order.
    pub sequence: u64,
    /// `pending` (waiting its turn or retried) or `delivered`.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// The HTTP status of the last answer.
    pub last_status: Option<u16>,
    /// What went wrong last, or the start of the last answer.
    pub last_error: Option<String>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// The last attempt.
    pub last_attempt_at: Option<OffsetDateTime>,
    /// When it was delivered.
    pub delivered_at: Option<OffsetDateTime>,
    /// The body sent.
    pub payload: serde_json::Value,
}

impl From<&WebhookDelivery> for WebhookDeliveryView {
    fn from(delivery: &WebhookDelivery) -> Self {
        WebhookDeliveryView {
            id: delivery.id.as_uuid(),
            event_id: delivery.event.as_uuid(),
            kind: delivery.kind.to_owned(),
            sequence: delivery.sequence,
            status: delivery.status.as_str().to_owned(),
            attempts: delivery.attempts,
            last_status: delivery.last_status,
            last_error: delivery.last_error.clone(),
            created_at: at(delivery.created_at),
            last_attempt_at: delivery.last_attempt_at.map(at),
            delivered_at: delivery.delivered_at.map(at),
            payload: serde_json::from_str(&delivery.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// A page of deliveries.
#[derive(Object, Debug, Clone)]
pub struct WebhookDeliveryList {
    /// Deliveries, newest event first.
    pub items: Vec<WebhookDeliveryView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;
    use usher_domain::document::EventDocument;
    use usher_domain::id::{AccountId, EventId, UserId};

    use super::*;

    #[test]
    fn r26_the_feed_lists_an_event_as_webhooks_deliver_it() {
        let event = PublicEvent {
            id: EventId::from_uuid(Uuid::from_u128(1)),
            root: AccountId::from_uuid(Uuid::from_u128(2)),
            account: AccountId::from_uuid(Uuid::from_u128(3)),
            kind: "user.created",
            occurred_at: Timestamp::from_unix_micros(1_767_225_600_000_000).unwrap(),
            actor: ActorRef::User(UserId::from_uuid(Uuid::from_u128(4))),
            origin: None,
            subject_kind: "user".to_owned(),
            subject_id: "5".to_owned(),
            data: serde_json::json!({"username": "ann"}),
            changes: serde_json::json!({}),
            sequence: Some(9),
        };
        let listed = EventView::from(&event).to_json().unwrap();
        let delivered = serde_json::to_value(EventDocument::from(&event)).unwrap();
        assert_eq!(listed, delivered);
    }
}
