//! What a change leaves behind in its transaction (R20): the audit event with its field-level
//! diff, and the mail in the outbox.

use super::*;
use crate::document::UserAuditView;

/// Fields of one audit event besides the common ones.
pub(crate) struct AuditEntry<'a> {
    pub(crate) root: AccountId,
    pub(crate) account: AccountId,
    pub(crate) action: &'static str,
    pub(crate) target_kind: &'static str,
    pub(crate) target_id: String,
    pub(crate) diff: Value,
    pub(crate) actor: &'a Actor,
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
        AuditEntry { root, account: root, action, target_kind, target_id, diff, actor }
    }
}

/// Appends an audit event on the transaction (R20).
pub(crate) async fn record(ports: &Ports, tx: &mut dyn Tx, entry: AuditEntry<'_>) -> Result<(), RepoError> {
    let event = AuditEvent {
        id: ports.new_id(AuditEventId::from_uuid),
        root: entry.root,
        account: entry.account,
        actor: entry.actor.reference(),
        action: entry.action.to_owned(),
        target_kind: entry.target_kind.to_owned(),
        target_id: entry.target_id,
        at: ports.now(),
        source: entry.actor.source.clone(),
        diff: entry.diff,
    };
    tx.append_audit(&event).await
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
    let entry = AuditEntry {
        root: user.root,
        account: user.account,
        action,
        target_kind: "user",
        target_id: user.id.to_string(),
        diff,
        actor,
    };
    record(ports, tx, entry).await
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
