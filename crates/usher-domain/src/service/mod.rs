//! Use cases: each function authorizes the actor, opens one transaction, applies the rules,
//! writes the change with its audit event and outbox mail, and commits once (R20).
//! Password hashing happens before the transaction opens, so no lock is held while it runs.

use std::sync::Arc;

use uuid::Uuid;

use crate::authz::Denied;
use crate::error::RepoError;
use crate::ports::{BreachedPasswords, Clock, DisposableEmails, IdGen, PasswordHasher, Store, TokenGen, Tx};
use crate::rules::ThrottlePolicy;
use crate::time::Timestamp;
use crate::value::SecretToken;

pub mod access_tokens;
pub mod accounts;
pub mod audit;
pub mod catalog;
pub mod contacts;
pub mod events;
pub mod identities;
pub mod integrations;
pub mod introspection;
pub mod invitations;
pub mod mail;
pub mod provisioning;
pub mod public;
pub mod sessions;
pub mod transfer;
pub mod users;
pub mod webhooks;

mod shared;
pub(crate) use access_tokens::end_sessions;
pub(crate) use shared::*;

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
    /// How access tokens are signed; `None` turns signed access tokens off.
    pub signing: Option<access_tokens::Signing>,
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
            signing: None,
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
