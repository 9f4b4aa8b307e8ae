//! API keys and audit events on the wire (no secret has a field).

use super::*;

/// Who did something.
#[derive(Object, Debug, Clone)]
pub struct ActorView {
    /// `user`, `operator`, `api_key`, `anonymous` or `system`.
    pub kind: String,
    /// The user or API key id.
    pub id: Option<Uuid>,
}

impl From<ActorRef> for ActorView {
    fn from(actor: ActorRef) -> Self {
        let (kind, id) = match actor {
            ActorRef::User(id) => ("user", Some(id.as_uuid())),
            ActorRef::Operator(id) => ("operator", Some(id.as_uuid())),
            ActorRef::ApiKey(id) => ("api_key", Some(id.as_uuid())),
            ActorRef::Anonymous => ("anonymous", None),
            ActorRef::System => ("system", None),
        };
        ActorView { kind: kind.to_owned(), id }
    }
}

/// An API key (the secret is shown once, at creation).
#[derive(Object, Debug, Clone)]
#[oai(rename = "ApiKey")]
pub struct ApiKeyView {
    /// Id.
    pub id: Uuid,
    /// Account the key acts in (with its sub-accounts).
    pub account_id: Uuid,
    /// Name.
    pub name: String,
    /// Permissions.
    pub permissions: Vec<String>,
    /// Who created it.
    pub created_by: ActorView,
    /// Created.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(key: &ApiKey) -> Self {
        ApiKeyView {
            id: key.id.as_uuid(),
            account_id: key.account.as_uuid(),
            name: key.name.to_string(),
            permissions: permissions(&key.permissions),
            created_by: key.created_by.into(),
            created_at: at(key.created_at),
            expires_at: key.expires_at.map(at),
            revoked_at: key.revoked_at.map(at),
        }
    }
}

/// API keys.
#[derive(Object, Debug, Clone)]
pub struct ApiKeyList {
    /// Keys.
    pub items: Vec<ApiKeyView>,
    /// Always `null`.
    pub next_cursor: Option<String>,
}

/// One audited change.
#[derive(Object, Debug, Clone)]
#[oai(rename = "AuditEvent")]
pub struct AuditEventView {
    /// Id.
    pub id: Uuid,
    /// Account.
    pub account_id: Uuid,
    /// Who.
    pub actor: ActorView,
    /// What (e.g. `user.created`).
    pub action: String,
    /// Kind of target (e.g. `user`).
    pub target_kind: String,
    /// Target id.
    pub target_id: String,
    /// When.
    pub at: OffsetDateTime,
    /// From where (client address).
    pub source: Option<String>,
    /// Which app or channel the change came through: the caller's `X-Usher-Origin`, its API
    /// key's name, or `scim` for an identity provider's provisioning.
    pub origin: Option<String>,
    /// Field-level changes `{field: {before, after}}`, secrets redacted.
    pub diff: serde_json::Value,
}

impl From<&AuditEvent> for AuditEventView {
    fn from(event: &AuditEvent) -> Self {
        AuditEventView {
            id: event.id.as_uuid(),
            account_id: event.account.as_uuid(),
            actor: event.actor.into(),
            action: event.action.clone(),
            target_kind: event.target_kind.clone(),
            target_id: event.target_id.clone(),
            at: at(event.at),
            source: event.source.clone(),
            origin: event.origin.clone(),
            diff: event.diff.clone(),
        }
    }
}

/// A page of audit events.
#[derive(Object, Debug, Clone)]
pub struct AuditEventList {
    /// Events, newest first.
    pub items: Vec<AuditEventView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}
