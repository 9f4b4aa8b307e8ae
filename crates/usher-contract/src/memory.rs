//! In-memory adapters of every port: thread-safe, deterministic, for tests (yours and ours).
//!
//! [`InMemoryStore`] runs transactions one at a time (a global async lock held from `begin`
//! to commit or drop) on a copy of the state, so every transaction is serialisable and a
//! dropped transaction leaves nothing behind. Copying makes it a tool for tests, not for
//! production data volumes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use async_trait::async_trait;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};
use uuid::Uuid;

use usher_domain::error::RepoError;
use usher_domain::id::{
    AccountId, ApiKeyId, ContactId, DeliveryId, DeviceId, ImportId, InvitationId, MailId, RoleId, SessionId,
    SigningKeyId, TokenId, UserId, UserTypeId, WebhookId,
};
use usher_domain::model::{
    AccessClaims, Account, ApiKey, AuditEvent, Contact, Delivery, DeliveryState, Device, ExternalIdentity,
    ImportJob, ImportState, Invitation, InvitationState, MailMessage, OneTimeToken, OutboxMail, PublicEvent,
    QueuedMail, Role, RowKind, RowReport, SearchOrder, SearchPage, SeatUsage, Session, Settings, SigningKey,
    StagedRow, TokenPurpose, User, UserType, Webhook, WebhookDelivery, WebhookDeliveryStatus,
};
use usher_domain::ports::{
    AccessTokenSigner, HashError, MailError, Mailer, RenderedMail, SigningError, WebhookAnswer,
    WebhookFailure, WebhookRequest, WebhookSender,
};
use usher_domain::ports::{
    AccountRepo, AuditQuery, AuditRepo, CatalogRepo, ClaimedMail, Clock, ContactQuery, ContactRepo,
    CredentialRepo, Cursor, EventQuery, EventRepo, IdGen, ImportRepo, InvitationQuery, InvitationRepo,
    MailQuery, OutboxRepo, Page, PageRequest, PasswordHasher, Store, TokenGen, Tx, UserQuery, UserRepo,
    UserSearch, WebhookRepo,
};
use usher_domain::time::{Duration, Timestamp};
use usher_domain::value::{Email, ExternalId, PasswordHash, PlainPassword, Slug, TokenHash, UsernameKey};

mod accounts;
mod audit;
mod catalog;
mod contacts;
mod credentials;
mod events;
mod imports;
mod invitations;
mod mail;
mod users;
mod webhooks;

#[derive(Debug, Clone, Default)]
struct State {
    accounts: BTreeMap<AccountId, Account>,
    settings: HashMap<AccountId, Settings>,
    user_types: BTreeMap<UserTypeId, UserType>,
    seat_totals: HashMap<(AccountId, UserTypeId), u32>,
    roles: BTreeMap<RoleId, Role>,
    users: BTreeMap<UserId, User>,
    passwords: HashMap<UserId, PasswordHash>,
    invitations: BTreeMap<InvitationId, Invitation>,
    contacts: BTreeMap<ContactId, Contact>,
    devices: BTreeMap<DeviceId, Device>,
    external_identities: BTreeMap<(AccountId, String, String), ExternalIdentity>,
    sessions: HashMap<TokenHash, Session>,
    tokens: BTreeMap<TokenId, OneTimeToken>,
    api_keys: BTreeMap<ApiKeyId, ApiKey>,
    audit: Vec<AuditEvent>,
    events: Vec<PublicEvent>,
    event_numbers: HashMap<AccountId, u64>,
    webhooks: BTreeMap<WebhookId, (Webhook, Option<Timestamp>)>,
    webhook_deliveries: BTreeMap<DeliveryId, WebhookDelivery>,
    outbox: Vec<OutboxMail>,
    deliveries: HashMap<MailId, Delivery>,
    failures: HashMap<String, Vec<Timestamp>>,
    token_cutoffs: HashMap<UserId, Timestamp>,
    signing_keys: BTreeMap<SigningKeyId, SigningKey>,
    imports: BTreeMap<ImportId, ImportJob>,
    import_rows: HashMap<ImportId, BTreeMap<u64, StagedRow>>,
}

/// The in-memory store.
#[derive(Debug, Clone, Default)]
pub struct InMemoryStore {
    state: Arc<AsyncMutex<State>>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> InMemoryStore {
        InMemoryStore::default()
    }
}

#[async_trait]
impl Store for InMemoryStore {
    async fn begin(&self) -> Result<Box<dyn Tx>, RepoError> {
        let guard = self.state.clone().lock_owned().await;
        let work = guard.clone();
        Ok(Box::new(MemoryTx { guard, work }))
    }
}

struct MemoryTx {
    guard: OwnedMutexGuard<State>,
    work: State,
}

fn lower(value: &str) -> String {
    value.to_lowercase()
}

fn page<T>(mut items: Vec<(Cursor, T)>, request: &PageRequest, descending: bool) -> Page<T> {
    items.sort_by(|a, b| if descending { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) });
    let after = request.after.as_ref();
    let mut selected: Vec<(Cursor, T)> = items
        .into_iter()
        .filter(|(cursor, _)| match after {
            None => true,
            Some(after) if descending => cursor < after,
            Some(after) => cursor > after,
        })
        .take(usize::from(request.limit) + 1)
        .collect();
    let has_more = selected.len() > usize::from(request.limit);
    selected.truncate(usize::from(request.limit));
    let next = if has_more { selected.last().map(|(cursor, _)| cursor.clone()) } else { None };
    Page { items: selected.into_iter().map(|(_, item)| item).collect(), next }
}

impl MemoryTx {
    /// Username and email are unique per root, the username ignoring case and composition.
    fn check_unique_keys(&self, user: &User) -> Result<(), RepoError> {
        let key = user.username.key();
        for other in self.work.users.values().filter(|u| u.root == user.root && u.id != user.id) {
            if other.username.key() == key {
                return Err(RepoError::Duplicate { entity: "user", field: "username" });
            }
            if other.email == user.email {
                return Err(RepoError::Duplicate { entity: "user", field: "email" });
            }
            if user.external_id.is_some() && other.external_id == user.external_id {
                return Err(RepoError::Duplicate { entity: "user", field: "external_id" });
            }
        }
        Ok(())
    }

    fn queued(&self, mail: &OutboxMail) -> Option<QueuedMail> {
        let delivery = self.work.deliveries.get(&mail.id)?.clone();
        Some(QueuedMail { mail: mail.clone(), delivery })
    }

    fn within(&self, account: AccountId, subtrees: &std::collections::BTreeSet<AccountId>) -> bool {
        subtrees.is_empty()
            || self.work.accounts.get(&account).is_some_and(|a| subtrees.iter().any(|s| a.path.is_within(*s)))
    }
}

#[async_trait]
impl Tx for MemoryTx {
    async fn commit(self: Box<Self>) -> Result<(), RepoError> {
        let MemoryTx { mut guard, work } = *self;
        *guard = work;
        Ok(())
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock standing at `at`.
    pub fn at(at: Timestamp) -> ManualClock {
        ManualClock { now: Mutex::new(at) }
    }
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now = now.plus(by);
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.now.lock().map(|now| *now).unwrap_or_else(|poisoned| *poisoned.into_inner())
    }
}

/// Ids counting up from 1: deterministic and ordered like UUIDv7.
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl IdGen for SequentialIds {
    fn new_id(&self) -> Uuid {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | u128::from(n))
    }
}

/// Deterministic, distinct 32-byte secrets (a splitmix64 stream). For tests only: production
/// uses the operating system's generator.
#[derive(Debug, Default)]
pub struct DeterministicTokens {
    state: AtomicU64,
}

impl TokenGen for DeterministicTokens {
    fn random_bytes(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            let mut z = self
                .state
                .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
                .wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes());
        }
        bytes
    }
}

/// A fast, insecure stand-in for argon2id that counts its calls (so tests can check that an
/// unknown user still costs a verification, R14). Never use it outside tests.
#[derive(Debug, Default)]
pub struct TestHasher {
    verifications: AtomicUsize,
}

impl TestHasher {
    /// How many verifications ran, dummy ones included.
    pub fn verifications(&self) -> usize {
        self.verifications.load(Ordering::Relaxed)
    }
}

fn encode(password: &PlainPassword) -> String {
    let hex: String = password.expose().bytes().map(|b| format!("{:02x}", b ^ 0x5a)).collect();
    format!("$test$v=1${hex}")
}

#[async_trait]
impl PasswordHasher for TestHasher {
    async fn hash(&self, password: &PlainPassword) -> Result<PasswordHash, HashError> {
        PasswordHash::parse(&encode(password)).map_err(|e| HashError(e.to_string()))
    }
    async fn verify(&self, password: &PlainPassword, hash: Option<PasswordHash>) -> Result<bool, HashError> {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        Ok(hash.is_some_and(|hash| hash.as_phc() == encode(password)))
    }
}

/// A fast, insecure stand-in for the EdDSA signer: a token is `kid.claims.mac`, the claims
/// as hex JSON and the mac a keyed hash of the key's "private" half. It lets the suite check
/// how use cases pick, rotate and publish keys; never use it outside tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestSigner;

fn test_mac(key: &SigningKey, payload: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (&key.sealed_private_key, payload).hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

impl AccessTokenSigner for TestSigner {
    fn new_key(&self, id: SigningKeyId, now: Timestamp) -> Result<SigningKey, SigningError> {
        Ok(SigningKey {
            id,
            public_key: format!("public-{id}"),
            sealed_private_key: format!("sealed-{id}"),
            created_at: now,
            retired_at: None,
        })
    }

    fn sign(&self, key: &SigningKey, claims: &AccessClaims) -> Result<String, SigningError> {
        let json = serde_json::to_vec(claims).map_err(|e| SigningError(e.to_string()))?;
        let payload: String = json.iter().map(|b| format!("{b:02x}")).collect();
        Ok(format!("{}.{payload}.{}", key.id, test_mac(key, &payload)))
    }

    fn verify(&self, token: &str, keys: &[SigningKey]) -> Option<AccessClaims> {
        let mut parts = token.split('.');
        let (kid, payload, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let key = keys.iter().find(|key| key.id.to_string() == kid)?;
        if parts.next().is_some() || test_mac(key, payload) != mac || payload.len() % 2 != 0 {
            return None;
        }
        let json: Option<Vec<u8>> = (0..payload.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(payload.get(i..i + 2)?, 16).ok())
            .collect();
        serde_json::from_slice(&json?).ok()
    }
}

/// Renders a queued mail as its kind and recipient (the contract suite's templates).
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainRenderer;

impl usher_domain::ports::MailRenderer for PlainRenderer {
    fn render(&self, mail: &OutboxMail) -> Result<RenderedMail, String> {
        let kind = mail.message.kind().to_owned();
        Ok(RenderedMail {
            to: mail.to.clone(),
            subject: kind.clone(),
            text: kind.clone(),
            html: format!("<p>{kind}</p>"),
        })
    }
}

/// A mailer that keeps every mail it is given, and can be told to refuse the next ones.
#[derive(Debug, Default)]
pub struct RecordingMailer {
    sent: Mutex<Vec<RenderedMail>>,
    failures_left: AtomicUsize,
}

impl RecordingMailer {
    /// Makes the next `n` sends fail with a transient error (a mail server that is down).
    pub fn fail_next(&self, n: usize) {
        self.failures_left.store(n, Ordering::Relaxed);
    }
    /// Every mail sent so far, oldest first.
    pub fn sent(&self) -> Vec<RenderedMail> {
        self.sent.lock().map(|sent| sent.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &RenderedMail) -> Result<(), MailError> {
        let failing = self
            .failures_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(MailError::Transient("recording mailer told to fail".to_owned()));
        }
        self.sent
            .lock()
            .map_err(|_| MailError::Transient("mailer lock poisoned".to_owned()))?
            .push(mail.clone());
        Ok(())
    }
}

/// A webhook endpoint that keeps every request it answers 2xx, and can be told to answer
/// 500 to the next ones (an endpoint that is down).
#[derive(Debug, Default)]
pub struct RecordingReceiver {
    received: Mutex<Vec<WebhookRequest>>,
    attempts: Mutex<Vec<WebhookRequest>>,
    failures_left: AtomicUsize,
}

impl RecordingReceiver {
    /// Answers 500 to the next `n` requests.
    pub fn fail_next(&self, n: usize) {
        self.failures_left.store(n, Ordering::Relaxed);
    }
    /// Every request answered 2xx, oldest first.
    pub fn received(&self) -> Vec<WebhookRequest> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
    /// Every request, whatever the answer, oldest first.
    pub fn attempts(&self) -> Vec<WebhookRequest> {
        self.attempts.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl WebhookSender for RecordingReceiver {
    async fn send(&self, request: &WebhookRequest) -> Result<WebhookAnswer, WebhookFailure> {
        if let Ok(mut attempts) = self.attempts.lock() {
            attempts.push(request.clone());
        }
        let failing = self
            .failures_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Ok(WebhookAnswer { status: 500, body: "down for maintenance".to_owned() });
        }
        if let Ok(mut received) = self.received.lock() {
            received.push(request.clone());
        }
        Ok(WebhookAnswer { status: 204, body: String::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn recording_mailer_keeps_mail_and_fails_on_request() {
        let mailer = RecordingMailer::default();
        let mail = RenderedMail {
            to: Email::parse("a@example.com").unwrap(),
            subject: "s".into(),
            text: "t".into(),
            html: "<p>t</p>".into(),
        };
        mailer.fail_next(1);
        assert!(matches!(mailer.send(&mail).await, Err(MailError::Transient(_))));
        mailer.send(&mail).await.unwrap();
        assert_eq!(mailer.sent(), vec![mail]);
    }

    #[tokio::test]
    async fn a_dropped_transaction_leaves_nothing_behind() {
        // R20 for the reference store: no commit, no change.
        let store = InMemoryStore::new();
        let mut tx = store.begin().await.unwrap();
        tx.record_login_failure("k", Timestamp::from_unix_micros(1).unwrap()).await.unwrap();
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        let since = Timestamp::from_unix_micros(0).unwrap();
        assert!(tx.login_failures_since("k", since).await.unwrap().is_empty());
    }
}
