//! Public events (R26): what apps that rely on usher read from the event feed and receive by
//! webhook. Each audited mutation leaves one, written in the same transaction as the change.

use super::*;

/// Every public event type, in catalog order. Types are stable: apps filter and subscribe by
/// them.
pub const EVENT_TYPES: [&str; 37] = [
    "account.created",
    "account.updated",
    "settings.changed",
    "user_type.created",
    "user_type.updated",
    "seats.changed",
    "role.created",
    "role.updated",
    "role.deleted",
    "user.created",
    "user.updated",
    "user.enabled",
    "user.disabled",
    "user.deleted",
    "user.erased",
    "user.email_verified",
    "user.verification_sent",
    "user.password_changed",
    "user.password_reset_requested",
    "user.logged_in",
    "user.logged_out",
    "device.linked",
    "device.unlinked",
    "invitation.created",
    "invitation.resent",
    "invitation.revoked",
    "invitation.accepted",
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "api_key.created",
    "api_key.revoked",
    "mail.retried",
    "webhook.created",
    "webhook.updated",
    "webhook.disabled",
    "webhook.deleted",
];

/// The public type of the event an audited action emits, or `None` for an action that
/// changes nothing an app can see (a listing, a refused registration) or that the operator
/// alone performs.
///
/// Several audit actions share a public type: a user made by hand, from a contact, by
/// registration or by accepting an invitation is `user.created` for an app.
pub fn event_type(action: &str) -> Option<&'static str> {
    let public = match action {
        "user.created_from_contact" | "user.registered" | "user.imported" => "user.created",
        "user.profile_updated" | "user.identity_linked" => "user.updated",
        "user.password_set" | "user.password_reset" | "user.password_set_by_link" => "user.password_changed",
        "user.password_reset_sent" => "user.password_reset_requested",
        "session.ended" => "user.logged_out",
        "webhook.secret_rotated" | "webhook.delivery_replayed" => "webhook.updated",
        "subscription.updated" => "seats.changed",
        "settings.updated" => "settings.changed",
        "invitations.sent" | "device.listed" | "user.registration_attempted" | "operator.bootstrapped" => {
            return None;
        }
        other => other,
    };
    EVENT_TYPES.iter().copied().find(|known| *known == public)
}

/// A public event (R26).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicEvent {
    /// Id; a webhook delivery's `webhook-id`, so receivers can drop duplicates.
    pub id: EventId,
    /// Root account (tenant).
    pub root: AccountId,
    /// Account of the object.
    pub account: AccountId,
    /// One of [`EVENT_TYPES`].
    pub kind: &'static str,
    /// When the change was made.
    pub occurred_at: Timestamp,
    /// Who made it.
    pub actor: ActorRef,
    /// The caller's origin: its `X-Usher-Origin` header, else the name of its API key.
    pub origin: Option<String>,
    /// Which kind of object, e.g. `user`.
    pub subject_kind: String,
    /// Which object.
    pub subject_id: String,
    /// The object as it is after the change; never a secret.
    pub data: serde_json::Value,
    /// Field-level changes `{field: {before, after}}`, as in the audit log.
    pub changes: serde_json::Value,
    /// Position in the root's feed, assigned once the event's transaction has committed;
    /// `None` until then. Increases in the order events become visible, so a reader that
    /// remembers the last one it saw never misses a later one.
    pub sequence: Option<u64>,
}

impl PublicEvent {
    /// The event type named `name`, as its entry of [`EVENT_TYPES`].
    pub fn known_type(name: &str) -> Option<&'static str> {
        EVENT_TYPES.iter().copied().find(|known| *known == name)
    }
}

/// Which event types a reader or a webhook wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Wanted types; empty means every type.
    types: BTreeSet<&'static str>,
}

impl EventFilter {
    /// Parses types named exactly or by family (`user.*`), separated by commas or given one
    /// by one; an unknown name is refused, so a typo never silently filters everything out.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<EventFilter, ValueError> {
        let mut types = BTreeSet::new();
        for name in names.into_iter().flat_map(|n| n.split(',')).map(str::trim).filter(|n| !n.is_empty()) {
            let matching: Vec<&'static str> = match name.strip_suffix(".*") {
                Some(family) => EVENT_TYPES
                    .iter()
                    .copied()
                    .filter(|t| t.split_once('.').is_some_and(|(f, _)| f == family))
                    .collect(),
                None => EVENT_TYPES.iter().copied().filter(|t| *t == name).collect(),
            };
            if matching.is_empty() {
                return Err(ValueError::Malformed { reason: "names an unknown event type" });
            }
            types.extend(matching);
        }
        Ok(EventFilter { types })
    }
    /// Every type.
    pub fn all() -> EventFilter {
        EventFilter::default()
    }
    /// Whether an event of type `kind` passes.
    pub fn accepts(&self, kind: &str) -> bool {
        self.types.is_empty() || self.types.contains(kind)
    }
    /// The wanted types; empty means every type.
    pub fn types(&self) -> &BTreeSet<&'static str> {
        &self.types
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r26_audit_actions_map_to_stable_public_types() {
        assert_eq!(event_type("user.created"), Some("user.created"));
        assert_eq!(event_type("user.created_from_contact"), Some("user.created"));
        assert_eq!(event_type("user.registered"), Some("user.created"));
        assert_eq!(event_type("user.password_reset"), Some("user.password_changed"));
        assert_eq!(event_type("subscription.updated"), Some("seats.changed"));
        assert_eq!(event_type("settings.updated"), Some("settings.changed"));
        assert_eq!(event_type("device.listed"), None, "a listing changes nothing");
        assert_eq!(event_type("invitations.sent"), None, "each invitation has its own event");
        assert_eq!(event_type("user.renamed_by_magic"), None, "never a type outside the catalog");
        let unique: BTreeSet<&str> = EVENT_TYPES.iter().copied().collect();
        assert_eq!(unique.len(), EVENT_TYPES.len());
    }

    #[test]
    fn r26_filters_name_types_or_families_and_refuse_unknown_names() {
        let filter = EventFilter::parse(["user.disabled, invitation.*", "seats.changed"]).unwrap();
        assert!(filter.accepts("user.disabled") && filter.accepts("invitation.revoked"));
        assert!(filter.accepts("seats.changed"));
        assert!(!filter.accepts("user.enabled") && !filter.accepts("role.created"));
        assert!(EventFilter::parse([""]).unwrap().accepts("role.created"), "nothing named: every type");
        assert!(EventFilter::parse(["users.*"]).is_err(), "no such family");
        assert!(EventFilter::parse(["user.disabled,nope"]).is_err());
    }
}
