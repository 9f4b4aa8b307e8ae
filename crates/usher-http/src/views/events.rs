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
