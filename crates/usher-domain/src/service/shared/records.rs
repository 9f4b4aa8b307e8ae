//! What a change leaves behind in its transaction (R20, R26): the audit event with its
//! field-level diff, the public event with the object as it is after the change, and the mail
//! in the outbox.

use super::*;
use crate::document::UserAuditView;
use crate::id::EventId;
use crate::model::{ApiKey, Contact, Invitation, InvitationStatus, PublicEvent, Role, event_type};

/// Fields of one audit event besides the common ones.
pub(crate) struct AuditEntry<'a> {
    pub(crate) root: AccountId,
    pub(crate) account: AccountId,
    pub(crate) action: &'static str,
    pub(crate) target_kind: &'static str,
    pub(crate) target_id: String,
    pub(crate) diff: Value,
    pub(crate) actor: &'a Actor,
    /// The object as it is after the change, for the public event (R26); never a secret.
    pub(crate) object: Value,
}

impl<'a> AuditEntry<'a> {
    /// An event about an object of the root account itself (a user type, its seats, a role,
    /// the settings; R23), or about the root account.
    pub(crate) fn root_level(
        actor: &'a Actor,
        root: AccountId,
        action: &'static str,
        target_kind: &'static str,
        target_id: String,
        diff: Value,
    ) -> AuditEntry<'a> {
        AuditEntry { root, account: root, action, target_kind, target_id, diff, actor, object: Value::Null }
    }
    /// The entry, with the object its public event carries.
    pub(crate) fn about(self, object: Value) -> AuditEntry<'a> {
        AuditEntry { object, ..self }
    }
}

/// Appends an audit event on the transaction (R20) and, when its action is one apps see, the
/// public event (R26).
pub(crate) async fn record(ports: &Ports, tx: &mut dyn Tx, entry: AuditEntry<'_>) -> Result<(), RepoError> {
    let (event, public) = records_of(ports, entry);
    if let Some(public) = public {
        tx.append_events(std::slice::from_ref(&public)).await?;
    }
    tx.append_audit(&event).await
}

/// The audit event of an entry and, when its action is one apps see, the public event (R26),
/// for a caller that writes many at once.
pub(crate) fn records_of(ports: &Ports, entry: AuditEntry<'_>) -> (AuditEvent, Option<PublicEvent>) {
    let at = ports.now();
    let event = AuditEvent {
        id: ports.new_id(AuditEventId::from_uuid),
        root: entry.root,
        account: entry.account,
        actor: entry.actor.reference(),
        action: entry.action.to_owned(),
        target_kind: entry.target_kind.to_owned(),
        target_id: entry.target_id,
        at,
        source: entry.actor.source.clone(),
        origin: entry.actor.origin.clone(),
        diff: entry.diff,
    };
    if let Some(kind) = event_type(entry.action) {
        let subject = Subject { kind: entry.target_kind, id: event.target_id.clone() };
        let mut public =
            public_event(ports, entry.actor, (event.root, event.account), kind, subject, entry.object);
        public.changes = event.diff.clone();
        return (event, Some(public));
    }
    (event, None)
}

/// The object a public event is about.
pub(crate) struct Subject {
    pub(crate) kind: &'static str,
    pub(crate) id: String,
}

/// A public event of type `kind` by `actor` in `(root, account)`, not yet numbered (R26).
pub(crate) fn public_event(
    ports: &Ports,
    actor: &Actor,
    (root, account): (AccountId, AccountId),
    kind: &'static str,
    subject: Subject,
    object: Value,
) -> PublicEvent {
    PublicEvent {
        id: ports.new_id(EventId::from_uuid),
        root,
        account,
        kind,
        occurred_at: ports.now(),
        actor: actor.reference(),
        origin: actor.origin.clone(),
        subject_kind: subject.kind.to_owned(),
        subject_id: subject.id,
        data: if object.is_null() { json!({}) } else { object },
        changes: json!({}),
        sequence: None,
    }
}

/// What public events carry of each object: its id and every field but secrets.
pub(crate) mod objects {
    use super::*;

    /// `view` with the object's `id` first among its fields.
    pub(super) fn with_id(id: String, view: Value) -> Value {
        let mut object = Map::new();
        object.insert("id".to_owned(), Value::String(id));
        if let Value::Object(fields) = view {
            object.extend(fields);
        }
        Value::Object(object)
    }

    pub(crate) fn user(user: &User) -> Value {
        with_id(user.id.to_string(), user_view(user))
    }

    pub(crate) fn user_type(user_type: &UserType) -> Value {
        json!({
            "id": user_type.id, "key": user_type.key, "name": user_type.name,
            "consumes_seat": user_type.consumes_seat, "ceiling": user_type.ceiling,
        })
    }

    pub(crate) fn seats(usage: &SeatUsage) -> Value {
        json!({
            "user_type": usage.user_type, "total": usage.total, "used": usage.used,
            "reserved": usage.reserved, "free": usage.free(),
        })
    }

    pub(crate) fn role(role: &Role) -> Value {
        json!({
            "id": role.id, "name": role.name, "builtin": role.builtin.map(|b| b.name()),
            "permissions": role.permissions,
        })
    }

    pub(crate) fn account(account: &Account) -> Value {
        json!({
            "id": account.id, "slug": account.slug, "name": account.name,
            "parent": account.parent(),
            "state": match account.state {
                crate::model::AccountState::Active => "active",
                crate::model::AccountState::Suspended => "suspended",
            },
        })
    }

    pub(crate) fn invitation(invitation: &Invitation, now: Timestamp) -> Value {
        json!({
            "id": invitation.id, "account": invitation.account, "email": invitation.email,
            "user_type": invitation.user_type, "roles": invitation.roles, "scope": invitation.scope,
            "status": match invitation.status(now) {
                InvitationStatus::Pending => "pending",
                InvitationStatus::Accepted => "accepted",
                InvitationStatus::Revoked => "revoked",
                InvitationStatus::Expired => "expired",
            },
            "expires_at": invitation.expires_at.to_rfc3339(),
            "send_count": invitation.send_count, "accepted_user": invitation.accepted_user,
        })
    }

    pub(crate) fn api_key(key: &ApiKey) -> Value {
        json!({
            "id": key.id, "account": key.account, "name": key.name, "permissions": key.permissions,
            "expires_at": key.expires_at.as_ref().map(Timestamp::to_rfc3339),
            "revoked_at": key.revoked_at.as_ref().map(Timestamp::to_rfc3339),
        })
    }

    /// A webhook, without its secrets.
    pub(crate) fn webhook(webhook: &crate::model::Webhook) -> Value {
        json!({
            "id": webhook.id, "account": webhook.account, "url": webhook.url.as_str(),
            "types": webhook.types.types(), "exclude_origins": webhook.exclude_origins,
            "enabled": webhook.enabled, "disabled_reason": webhook.disabled_reason,
        })
    }

    pub(crate) fn contact(contact: &Contact) -> Value {
        json!({
            "id": contact.id, "account": contact.account, "kind": contact.kind,
            "first_name": contact.first_name, "last_name": contact.last_name,
            "email": contact.email, "phone": contact.phone, "user": contact.user,
        })
    }
}

/// The audit entry of an event about a user.
pub(crate) fn user_entry<'a>(
    actor: &'a Actor,
    action: &'static str,
    user: &User,
    diff: Value,
) -> AuditEntry<'a> {
    AuditEntry { object: objects::user(user), ..user_entry_without_object(actor, action, user, diff) }
}

fn user_entry_without_object<'a>(
    actor: &'a Actor,
    action: &'static str,
    user: &User,
    diff: Value,
) -> AuditEntry<'a> {
    AuditEntry {
        root: user.root,
        account: user.account,
        action,
        target_kind: "user",
        target_id: user.id.to_string(),
        diff,
        actor,
        object: Value::Null,
    }
}

/// The audit entry of a user's arrival: every field as its change from nothing, and the user
/// as its public event's object, both from one view of it.
pub(crate) fn new_user_entry<'a>(actor: &'a Actor, action: &'static str, user: &User) -> AuditEntry<'a> {
    let view = user_view(user);
    let changes = diff(None, Some(&view));
    AuditEntry {
        object: objects::with_id(user.id.to_string(), view),
        ..user_entry_without_object(actor, action, user, changes)
    }
}

/// Records a user's arrival (see [`new_user_entry`]).
pub(crate) async fn record_new_user(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    action: &'static str,
    user: &User,
) -> Result<(), RepoError> {
    record(ports, tx, new_user_entry(actor, action, user)).await
}

/// Records an event about a user.
pub(crate) async fn record_user(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    action: &'static str,
    user: &User,
    diff: Value,
) -> Result<(), RepoError> {
    record(ports, tx, user_entry(actor, action, user, diff)).await
}

/// Writes a mail to the outbox on the transaction (R20).
pub(crate) async fn enqueue(
    ports: &Ports,
    tx: &mut dyn Tx,
    root: AccountId,
    account: AccountId,
    to: &Email,
    locale: Option<Locale>,
    message: MailMessage,
) -> Result<(), RepoError> {
    tx.enqueue_mail(&outbox_mail(ports, root, account, to, locale, message)).await
}

/// A mail for the outbox, written by [`enqueue`] or, many at once, by `enqueue_mails`.
pub(crate) fn outbox_mail(
    ports: &Ports,
    root: AccountId,
    account: AccountId,
    to: &Email,
    locale: Option<Locale>,
    message: MailMessage,
) -> OutboxMail {
    OutboxMail {
        id: ports.new_id(MailId::from_uuid),
        root,
        account,
        to: to.clone(),
        locale,
        message,
        created_at: ports.now(),
    }
}

/// The audit view of a user: every field but secrets (a [`UserAuditView`]).
pub(crate) fn user_view(user: &User) -> Value {
    serde_json::to_value(UserAuditView::from(user)).unwrap_or_default()
}

/// A field-level diff `{"field": {"before": .., "after": ..}}` of two JSON objects.
pub(crate) fn diff(before: Option<&Value>, after: Option<&Value>) -> Value {
    let empty = Map::new();
    let before_fields = before.and_then(Value::as_object).unwrap_or(&empty);
    let after_fields = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut changes = Map::new();
    let keys: std::collections::BTreeSet<&String> = before_fields.keys().chain(after_fields.keys()).collect();
    for key in keys {
        let old = before_fields.get(key).unwrap_or(&Value::Null);
        let new = after_fields.get(key).unwrap_or(&Value::Null);
        if old != new {
            changes.insert(key.clone(), json!({ "before": old, "after": new }));
        }
    }
    Value::Object(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_changed_fields_only() {
        let before = json!({"a": 1, "b": 2});
        let after = json!({"a": 1, "b": 3, "c": 4});
        assert_eq!(
            diff(Some(&before), Some(&after)),
            json!({"b": {"before": 2, "after": 3}, "c": {"before": null, "after": 4}})
        );
    }
}
