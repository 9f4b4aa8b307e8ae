//! Webhooks (R26): endpoints that receive an account's public events, signed per the
//! Standard Webhooks specification, in order, at least once.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::*;

/// Where a webhook delivers: an `http` or `https` URL without credentials or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Longest URL accepted.
    pub const MAX_LENGTH: usize = 2000;

    /// Parses a URL: `http://` or `https://`, a host, no user info, no fragment, no spaces.
    pub fn parse(raw: &str) -> Result<WebhookUrl, ValueError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(ValueError::Empty);
        }
        if value.len() > Self::MAX_LENGTH {
            return Err(ValueError::TooLong { max: Self::MAX_LENGTH, actual: value.len() });
        }
        let malformed = |reason| Err(ValueError::Malformed { reason });
        let Some(rest) = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://")) else {
            return malformed("must start with https:// or http://");
        };
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return malformed("must not contain spaces or control characters");
        }
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if authority.is_empty() || authority.starts_with(':') {
            return malformed("must name a host");
        }
        if authority.contains('@') {
            return malformed("must not carry credentials");
        }
        if value.contains('#') {
            return malformed("must not have a fragment");
        }
        Ok(WebhookUrl(value.to_owned()))
    }
    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A signing secret, `whsec_` and the base64 of 32 random bytes (Standard Webhooks). Shown to
/// the administrator once, when made; kept by usher to sign with.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

impl WebhookSecret {
    const PREFIX: &'static str = "whsec_";

    /// A secret from 32 random bytes.
    pub fn from_random(random: [u8; 32]) -> WebhookSecret {
        WebhookSecret(format!("{}{}", Self::PREFIX, STANDARD.encode(random)))
    }
    /// A stored secret.
    pub fn parse(raw: &str) -> Result<WebhookSecret, ValueError> {
        let key = raw.strip_prefix(Self::PREFIX).and_then(|b64| STANDARD.decode(b64).ok());
        match key {
            Some(key) if (24..=64).contains(&key.len()) => Ok(WebhookSecret(raw.to_owned())),
            _ => Err(ValueError::Malformed { reason: "must be whsec_ and the base64 of 24 to 64 bytes" }),
        }
    }
    /// The secret as text, to show once or to store.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// The `v1,` signature of `id.timestamp.body` (Standard Webhooks): HMAC-SHA256 keyed with
    /// the secret's bytes, in base64.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let key =
            self.0.strip_prefix(Self::PREFIX).and_then(|b64| STANDARD.decode(b64).ok()).unwrap_or_default();
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
            return String::new();
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// An endpoint that receives an account subtree's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Id.
    pub id: WebhookId,
    /// Root account.
    pub root: AccountId,
    /// The account whose subtree's events it receives.
    pub account: AccountId,
    /// Where.
    pub url: WebhookUrl,
    /// Which event types (empty: every type).
    pub types: EventFilter,
    /// Events whose origin is one of these are not delivered (an app's own echoes).
    pub exclude_origins: BTreeSet<String>,
    /// Whether deliveries go out.
    pub enabled: bool,
    /// Why usher disabled it (deliveries failed for too long), until it is enabled again.
    pub disabled_reason: Option<String>,
    /// The secret deliveries are signed with.
    pub secret: WebhookSecret,
    /// The secret before the last rotation, still signing beside the new one until the time
    /// given, so receivers can switch without losing a delivery.
    pub previous_secret: Option<(WebhookSecret, Timestamp)>,
    /// The last event number of the root looked at for this webhook.
    pub cursor: u64,
    /// When the head delivery is tried next.
    pub next_attempt_at: Timestamp,
    /// Since when the head delivery has been failing, if it is.
    pub failing_since: Option<Timestamp>,
    /// Created at.
    pub created_at: Timestamp,
    /// Optimistic-locking version.
    pub version: u64,
}

impl Webhook {
    /// The `webhook-signature` header at `now`: the current secret's signature, and the
    /// previous secret's while its overlap lasts, separated by a space.
    pub fn signature(&self, id: &str, timestamp: i64, body: &str, now: Timestamp) -> String {
        let mut signature = self.secret.sign(id, timestamp, body);
        if let Some((previous, until)) = &self.previous_secret
            && *until > now
        {
            signature.push(' ');
            signature.push_str(&previous.sign(id, timestamp, body));
        }
        signature
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookDeliveryStatus {
    /// Not delivered yet: waiting its turn, or retried.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
}

impl WebhookDeliveryStatus {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            WebhookDeliveryStatus::Pending => "pending",
            WebhookDeliveryStatus::Delivered => "delivered",
        }
    }
}

/// One event on its way to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// Id.
    pub id: DeliveryId,
    /// The webhook.
    pub webhook: WebhookId,
    /// Root account.
    pub root: AccountId,
    /// The event; its id is the `webhook-id` header, the same on every attempt.
    pub event: EventId,
    /// The event's number in its root's feed: the order deliveries go out in.
    pub sequence: u64,
    /// The event's type.
    pub kind: &'static str,
    /// The body sent, as it was when the event was delivered first.
    pub payload: String,
    /// Where it stands.
    pub status: WebhookDeliveryStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// The HTTP status of the last answer, if there was one.
    pub last_status: Option<u16>,
    /// What went wrong last, or the start of the last answer.
    pub last_error: Option<String>,
    /// Created at.
    pub created_at: Timestamp,
    /// When the last attempt was made.
    pub last_attempt_at: Option<Timestamp>,
    /// When it was delivered.
    pub delivered_at: Option<Timestamp>,
}
