//! Who acted, and the audit events they leave (R20).

use super::*;

/// Who did something: part of every audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorRef {
    /// A user of an account.
    User(UserId),
    /// The installation's operator.
    Operator(UserId),
    /// An API key.
    ApiKey(ApiKeyId),
    /// An unauthenticated person using a link or a public form (registration, accept, reset).
    Anonymous,
    /// usher itself (expiry sweeps, bootstrap).
    System,
}

/// An entry of the audit log, written in the same transaction as the change it records (R20).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Id.
    pub id: AuditEventId,
    /// Root account (tenant) of the target.
    pub root: AccountId,
    /// Account of the target.
    pub account: AccountId,
    /// Who.
    pub actor: ActorRef,
    /// What, e.g. `user.disabled`.
    pub action: String,
    /// Which kind of object, e.g. `user`.
    pub target_kind: String,
    /// Which object.
    pub target_id: String,
    /// When.
    pub at: Timestamp,
    /// From where (source address), if known.
    pub source: Option<String>,
    /// Which app or channel the change came through: the caller's `X-Usher-Origin`, its API
    /// key's name, or `scim` for a provisioning client (R26).
    pub origin: Option<String>,
    /// Redacted before/after diff: `{"field": {"before": .., "after": ..}}`; never a secret.
    pub diff: serde_json::Value,
}
