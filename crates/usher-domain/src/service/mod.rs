//! Use cases: each function authorizes the actor, opens one transaction, applies the rules,
//! writes the change with its audit event and outbox mail, and commits once (R20).
//! Password hashing happens before the transaction opens, so no lock is held while it runs.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::authz::{Actor, Denied, authorize};
use crate::error::{Invalid, RepoError};
use crate::id::{AccountId, AuditEventId, MailId};
use crate::model::{Account, AuditEvent, MailMessage, OutboxMail, Settings, User};
use crate::ports::{BreachedPasswords, Clock, DisposableEmails, IdGen, PasswordHasher, Store, TokenGen, Tx};
use crate::rules::ThrottlePolicy;
use crate::time::Timestamp;
use crate::value::{Email, Locale, Permission, SecretToken};

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod contacts;
pub mod invitations;
pub mod public;
pub mod roles;
pub mod seats;
pub mod users;

/// Everything the use cases need from the outside world.
#[derive(Clone)]
pub struct Ports {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Id generator.
    pub ids: Arc<dyn IdGen>,
    /// Secret generator.
    pub tokens: Arc<dyn TokenGen>,
    /// Password hasher.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Common and breached passwords.
    pub breached: Arc<dyn BreachedPasswords>,
    /// Disposable email domains.
    pub disposable: Arc<dyn DisposableEmails>,
    /// Login throttling limits.
    pub throttle: ThrottlePolicy,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").field("throttle", &self.throttle).finish_non_exhaustive()
    }
}

impl Ports {
    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }
    pub(crate) fn new_id<T>(&self, wrap: fn(Uuid) -> T) -> T {
        wrap(self.ids.new_id())
    }
    pub(crate) fn new_token(&self, prefix: &str) -> SecretToken {
        SecretToken::from_random(prefix, self.tokens.random_bytes())
    }
    pub(crate) async fn begin(&self) -> Result<Box<dyn Tx>, RepoError> {
        self.store.begin().await
    }
}

/// Refusals shared by every use case: the object is missing or out of the caller's reach, or
/// the caller may not act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Gate {
    /// Not found, or in another tenant (indistinguishable on purpose).
    #[error("{entity} not found")]
    NotFound {
        /// Entity name.
        entity: &'static str,
    },
    /// Found, but the caller may not do this.
    #[error(transparent)]
    Denied(Denied),
}

/// Implements the conversions every use-case error enum shares.
macro_rules! common_errors {
    ($($error:ty),*) => {$(
        impl From<crate::service::Gate> for $error {
            fn from(gate: crate::service::Gate) -> Self {
                match gate {
                    crate::service::Gate::NotFound { entity } => Self::NotFound { entity },
                    crate::service::Gate::Denied(denied) => Self::Denied(denied),
                }
            }
        }
        impl From<crate::error::Invalid> for $error {
            fn from(invalid: crate::error::Invalid) -> Self {
                Self::Invalid(invalid)
            }
        }
        impl From<crate::error::RepoError> for $error {
            fn from(err: crate::error::RepoError) -> Self {
                match err {
                    crate::error::RepoError::NotFound { entity } => Self::NotFound { entity },
                    other => Self::Repo(other),
                }
            }
        }
    )*};
}
pub(crate) use common_errors;

/// Authorizes `permission` on `account`; another tenant's account reads as not found.
pub(crate) fn guard(
    actor: &Actor,
    permission: Permission,
    account: &Account,
    entity: &'static str,
) -> Result<(), Gate> {
    authorize(actor, permission, &account.path).map_err(|denied| match denied {
        Denied::OtherTenant => Gate::NotFound { entity },
        other => Gate::Denied(other),
    })
}

/// Loads an account or fails with `NotFound`.
pub(crate) async fn load_account(tx: &mut dyn Tx, id: AccountId) -> Result<Account, Gate> {
    match tx.account(id).await {
        Ok(Some(account)) => Ok(account),
        Ok(None) | Err(RepoError::NotFound { .. }) => Err(Gate::NotFound { entity: "account" }),
        Err(_) => Err(Gate::NotFound { entity: "account" }),
    }
}

/// Loads a root account's settings (`Corrupt` if a root has none).
pub(crate) async fn load_settings(tx: &mut dyn Tx, root: AccountId) -> Result<Settings, RepoError> {
    tx.settings(root).await?.ok_or_else(|| RepoError::corrupt("settings", "root account has no settings"))
}

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
    let mail = OutboxMail {
        id: ports.new_id(MailId::from_uuid),
        root,
        account,
        to: to.clone(),
        locale,
        message,
        created_at: ports.now(),
    };
    tx.enqueue_mail(&mail).await
}

/// The audit view of a user: every field but secrets.
pub(crate) fn user_view(user: &User) -> Value {
    json!({
        "username": user.username,
        "email": user.email,
        "account": user.account,
        "profile": user.profile,
        "receive_system_messages": user.receive_system_messages,
        "sales_representative": user.sales_representative,
        "external_ids": user.external_ids,
        "user_type": user.user_type,
        "roles": user.roles,
        "scope": user.scope,
        "state": user.state,
        "email_verified_at": user.email_verified_at,
        "must_change_password": user.must_change_password,
    })
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

/// Parses an optional text field into a value type.
pub(crate) fn optional<T>(
    name: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Result<T, crate::value::ValueError>,
) -> Result<Option<T>, Invalid> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => parse(text).map(Some).map_err(|error| Invalid::new(name, error)),
    }
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
