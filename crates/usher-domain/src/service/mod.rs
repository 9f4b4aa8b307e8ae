//! Use cases: each function authorizes the actor, opens one transaction, applies the rules,
//! writes the change with its audit event and outbox mail, and commits once (R20).
//! Password hashing happens before the transaction opens, so no lock is held while it runs.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::authz::{Actor, Denied, authorize, authorize_root_level};
use crate::error::{Invalid, RepoError};
use crate::id::{AccountId, AuditEventId, MailId};
use crate::model::{Account, AuditEvent, MailMessage, OutboxMail, Settings, User};
use crate::ports::{BreachedPasswords, Clock, DisposableEmails, IdGen, PasswordHasher, Store, TokenGen, Tx};
use crate::rules::ThrottlePolicy;
use crate::time::Timestamp;
use crate::value::{Email, Locale, Permission, SecretToken};

pub mod accounts;
pub mod audit;
pub mod catalog;
pub mod contacts;
pub mod integrations;
pub mod invitations;
pub mod mail;
pub mod public;
pub mod sessions;
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
    /// A transaction for a use case that only reads (served by a read pool where there is one).
    pub(crate) async fn begin_read(&self) -> Result<Box<dyn Tx>, RepoError> {
        self.store.begin_read().await
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
        impl From<crate::service::Lookup> for $error {
            fn from(lookup: crate::service::Lookup) -> Self {
                match lookup {
                    crate::service::Lookup::Gate(gate) => gate.into(),
                    crate::service::Lookup::Repo(err) => Self::Repo(err),
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
    authorize(actor, permission, &account.path).map_err(|denied| gate(denied, entity))
}

/// R23: authorizes `permission` on a root-level object of the tenant `root`; another
/// tenant's object reads as not found.
pub(crate) fn guard_root_level(
    actor: &Actor,
    permission: Permission,
    root: AccountId,
    entity: &'static str,
) -> Result<(), Gate> {
    authorize_root_level(actor, permission, root).map_err(|denied| gate(denied, entity))
}

fn gate(denied: Denied, entity: &'static str) -> Gate {
    match denied {
        Denied::OtherTenant => Gate::NotFound { entity },
        other => Gate::Denied(other),
    }
}

/// Loads an account: `Ok(None)` when it does not exist; a storage failure stays one.
pub(crate) async fn load_account(tx: &mut dyn Tx, id: AccountId) -> Result<Account, Lookup> {
    match tx.account(id).await? {
        Some(account) => Ok(account),
        None => Err(Lookup::Gate(Gate::NotFound { entity: "account" })),
    }
}

/// A lookup that failed: missing or refused, or the store failed (never shown as "not found").
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Missing or refused.
    Gate(Gate),
    /// The store failed.
    Repo(RepoError),
}

impl From<RepoError> for Lookup {
    fn from(err: RepoError) -> Self {
        Lookup::Repo(err)
    }
}

impl From<Gate> for Lookup {
    fn from(gate: Gate) -> Self {
        Lookup::Gate(gate)
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

/// Unit tests of use cases against mockall mocks of the ports: what a use case asks of its
/// ports, independent of any store.
#[cfg(test)]
mod mocked {
    use std::sync::Arc;

    use crate::authz::{Actor, ActorKind, Denied, Principal};
    use crate::model::{AccountPath, ActorRef};
    use crate::password::ShippedPasswordList;
    use crate::ports::{
        MailcheckerList, MockClock, MockIdGen, MockPasswordHasher, MockStore, MockTokenGen, MockTx, Tx,
    };
    use crate::rules::ThrottlePolicy;
    use crate::service::{Ports, accounts, sessions};
    use crate::time::Timestamp;
    use crate::value::PlainPassword;

    fn ports(store: MockStore, hasher: MockPasswordHasher) -> Ports {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| Timestamp::from_unix_micros(1_767_225_600_000_000).unwrap());
        let mut ids = MockIdGen::new();
        ids.expect_new_id().returning(|| uuid::Uuid::from_u128(7));
        let mut tokens = MockTokenGen::new();
        tokens.expect_random_bytes().returning(|| [9; 32]);
        Ports {
            store: Arc::new(store),
            clock: Arc::new(clock),
            ids: Arc::new(ids),
            tokens: Arc::new(tokens),
            hasher: Arc::new(hasher),
            breached: Arc::new(ShippedPasswordList),
            disposable: Arc::new(MailcheckerList),
            throttle: ThrottlePolicy::standard(),
        }
    }

    fn root_account_with_password(password: &str) -> accounts::NewRootAccount {
        accounts::NewRootAccount {
            slug: "acme".into(),
            name: "Acme".into(),
            admin_email: "a@acme.example.com".into(),
            admin_username: None,
            admin_password: Some(PlainPassword::new(password)),
            admin_seats: 1,
            user_seats: 0,
        }
    }

    fn unknown_user_tx() -> Box<dyn Tx> {
        let mut tx = MockTx::new();
        tx.expect_login_failures_since().returning(|_, _| Ok(Vec::new()));
        tx.expect_account_by_slug().returning(|_| Ok(None));
        tx.expect_record_login_failure().times(0..=3).returning(|_, _| Ok(()));
        tx.expect_forget_login_failures_before().times(0..=1).returning(|_| Ok(0));
        tx.expect_commit().returning(|| Ok(()));
        Box::new(tx)
    }

    #[tokio::test]
    async fn r14_an_unknown_account_still_costs_one_dummy_verification() {
        let mut store = MockStore::new();
        store.expect_begin().times(2).returning(|| Ok(unknown_user_tx()));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().withf(|_, hash| hash.is_none()).times(1).returning(|_, _| Ok(false));
        let credentials = sessions::Credentials {
            account: "nowhere".into(),
            username: "ghost".into(),
            password: PlainPassword::new("whatever it is"),
        };
        let err = sessions::login(&ports(store, hasher), Some("203.0.113.9"), credentials).await.unwrap_err();
        assert!(matches!(err, sessions::LoginError::InvalidCredentials), "{err:?}");
    }

    #[tokio::test]
    async fn r19_only_the_operator_creates_root_accounts_and_nothing_is_touched_otherwise() {
        let mut store = MockStore::new();
        store.expect_begin().times(0);
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_hash().times(0);
        let admin = Actor::new(ActorKind::Principal(Principal {
            actor: ActorRef::User(crate::id::UserId::from_uuid(uuid::Uuid::from_u128(1))),
            home: AccountPath::root_of(crate::id::AccountId::from_uuid(uuid::Uuid::from_u128(2))),
            permissions: crate::value::Permission::catalog(),
            scope: Default::default(),
            operator_key: false,
        }));
        let command = root_account_with_password("correct horse battery staple");
        let err = accounts::create_root_account(&ports(store, hasher), &admin, command).await.unwrap_err();
        assert!(matches!(err, accounts::AccountError::Denied(Denied::OperatorOnly)), "{err:?}");
    }

    #[test]
    fn ports_debug_shows_the_throttle_policy_and_nothing_else() {
        let shown = format!("{:?}", ports(MockStore::new(), MockPasswordHasher::new()));
        assert!(shown.starts_with("Ports") && shown.contains("per_address: 5"), "{shown}");
    }

    #[tokio::test]
    async fn a_store_failure_while_loading_an_account_is_a_failure_not_a_404() {
        let mut store = MockStore::new();
        store.expect_begin_read().times(1).returning(|| {
            let mut tx = MockTx::new();
            tx.expect_account().returning(|_| {
                Err(crate::error::RepoError::backend(std::io::Error::other("connection reset")))
            });
            Ok(Box::new(tx))
        });
        let operator = Actor::new(ActorKind::System);
        let account = crate::id::AccountId::from_uuid(uuid::Uuid::from_u128(3));
        let err = accounts::get_account(&ports(store, MockPasswordHasher::new()), &operator, account)
            .await
            .unwrap_err();
        assert!(matches!(err, accounts::AccountError::Repo(_)), "{err:?}");
    }

    #[tokio::test]
    async fn r15_a_weak_first_password_is_refused_before_hashing_or_storing() {
        let mut store = MockStore::new();
        store.expect_begin().times(0);
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_hash().times(0);
        let command = root_account_with_password("password1234");
        let operator = Actor::new(ActorKind::System);
        let err = accounts::create_root_account(&ports(store, hasher), &operator, command).await.unwrap_err();
        assert!(matches!(err, accounts::AccountError::Password(_)), "{err:?}");
    }
}
