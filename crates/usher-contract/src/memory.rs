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
    AccountId, ApiKeyId, ContactId, DeviceId, InvitationId, MailId, RoleId, SessionId, TokenId, UserId,
    UserTypeId,
};
use usher_domain::model::{
    Account, ApiKey, AuditEvent, Contact, Delivery, DeliveryState, Device, Invitation, InvitationState,
    MailMessage, OneTimeToken, OutboxMail, QueuedMail, Role, SeatUsage, Session, Settings, TokenPurpose,
    User, UserState, UserType,
};
use usher_domain::ports::{
    AuditQuery, ClaimedMail, Clock, ContactQuery, Cursor, IdGen, InvitationQuery, MailQuery, Page,
    PageRequest, PasswordHasher, Store, TokenGen, Tx, UserQuery,
};
use usher_domain::ports::{HashError, MailError, Mailer, RenderedMail};
use usher_domain::time::{Duration, Timestamp};
use usher_domain::value::{Email, PasswordHash, PlainPassword, Slug, TokenHash, UsernameKey};

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
    sessions: HashMap<TokenHash, Session>,
    tokens: BTreeMap<TokenId, OneTimeToken>,
    api_keys: BTreeMap<ApiKeyId, ApiKey>,
    audit: Vec<AuditEvent>,
    outbox: Vec<OutboxMail>,
    deliveries: HashMap<MailId, Delivery>,
    failures: HashMap<String, Vec<Timestamp>>,
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

    async fn insert_account(&mut self, account: &Account) -> Result<(), RepoError> {
        if self.work.accounts.values().any(|a| a.slug == account.slug) {
            return Err(RepoError::Duplicate { entity: "account", field: "slug" });
        }
        self.work.accounts.insert(account.id, account.clone());
        Ok(())
    }
    async fn update_account(&mut self, account: &Account) -> Result<(), RepoError> {
        let stored =
            self.work.accounts.get_mut(&account.id).ok_or(RepoError::NotFound { entity: "account" })?;
        stored.name = account.name.clone();
        stored.state = account.state;
        Ok(())
    }
    async fn account(&mut self, id: AccountId) -> Result<Option<Account>, RepoError> {
        Ok(self.work.accounts.get(&id).cloned())
    }
    async fn account_by_slug(&mut self, slug: &Slug) -> Result<Option<Account>, RepoError> {
        Ok(self.work.accounts.values().find(|a| &a.slug == slug).cloned())
    }
    async fn sub_accounts(&mut self, parent: AccountId) -> Result<Vec<Account>, RepoError> {
        let mut children: Vec<Account> =
            self.work.accounts.values().filter(|a| a.parent() == Some(parent)).cloned().collect();
        children.sort_by(|a, b| a.slug.cmp(&b.slug));
        Ok(children)
    }

    async fn settings(&mut self, root: AccountId) -> Result<Option<Settings>, RepoError> {
        Ok(self.work.settings.get(&root).cloned())
    }
    async fn settings_for_update(&mut self, root: AccountId) -> Result<Option<Settings>, RepoError> {
        // Every transaction of this store holds the whole state: it is locked already.
        self.settings(root).await
    }
    async fn put_settings(&mut self, root: AccountId, settings: &Settings) -> Result<(), RepoError> {
        self.work.settings.insert(root, settings.clone());
        Ok(())
    }

    async fn insert_user_type(&mut self, user_type: &UserType) -> Result<(), RepoError> {
        if self.work.user_types.values().any(|t| t.root == user_type.root && t.key == user_type.key) {
            return Err(RepoError::Duplicate { entity: "user type", field: "key" });
        }
        self.work.user_types.insert(user_type.id, user_type.clone());
        Ok(())
    }
    async fn update_user_type(&mut self, user_type: &UserType) -> Result<(), RepoError> {
        let stored =
            self.work.user_types.get_mut(&user_type.id).ok_or(RepoError::NotFound { entity: "user type" })?;
        *stored = user_type.clone();
        Ok(())
    }
    async fn user_type(&mut self, id: UserTypeId) -> Result<Option<UserType>, RepoError> {
        Ok(self.work.user_types.get(&id).cloned())
    }
    async fn user_types(&mut self, root: AccountId) -> Result<Vec<UserType>, RepoError> {
        let mut types: Vec<UserType> =
            self.work.user_types.values().filter(|t| t.root == root).cloned().collect();
        types.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(types)
    }
    async fn set_seat_total(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        total: u32,
    ) -> Result<(), RepoError> {
        self.work.seat_totals.insert((root, user_type), total);
        Ok(())
    }
    async fn seat_usage(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        now: Timestamp,
    ) -> Result<SeatUsage, RepoError> {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let used = self
            .work
            .users
            .values()
            .filter(|u| u.root == root && u.user_type == user_type && u.state == UserState::Active)
            .count();
        let reserved = self
            .work
            .invitations
            .values()
            .filter(|i| {
                i.root == root
                    && i.user_type == user_type
                    && i.state == InvitationState::Pending
                    && i.expires_at > now
            })
            .count();
        let total = self.work.seat_totals.get(&(root, user_type)).copied().unwrap_or(0);
        Ok(SeatUsage { user_type, total, used: count(used), reserved: count(reserved) })
    }
    async fn lock_seat_pool(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        now: Timestamp,
    ) -> Result<SeatUsage, RepoError> {
        // Transactions already run one at a time here.
        self.seat_usage(root, user_type, now).await
    }

    async fn insert_role(&mut self, role: &Role) -> Result<(), RepoError> {
        let name = lower(role.name.as_str());
        if self.work.roles.values().any(|r| r.root == role.root && lower(r.name.as_str()) == name) {
            return Err(RepoError::Duplicate { entity: "role", field: "name" });
        }
        self.work.roles.insert(role.id, role.clone());
        Ok(())
    }
    async fn update_role(&mut self, role: &Role) -> Result<(), RepoError> {
        let name = lower(role.name.as_str());
        if self
            .work
            .roles
            .values()
            .any(|r| r.root == role.root && r.id != role.id && lower(r.name.as_str()) == name)
        {
            return Err(RepoError::Duplicate { entity: "role", field: "name" });
        }
        let stored = self.work.roles.get_mut(&role.id).ok_or(RepoError::NotFound { entity: "role" })?;
        if stored.version != role.version {
            return Err(RepoError::Stale { entity: "role" });
        }
        *stored = Role { version: role.version + 1, ..role.clone() };
        Ok(())
    }
    async fn delete_role(&mut self, id: RoleId) -> Result<(), RepoError> {
        self.work.roles.remove(&id).map(|_| ()).ok_or(RepoError::NotFound { entity: "role" })
    }
    async fn role(&mut self, id: RoleId) -> Result<Option<Role>, RepoError> {
        Ok(self.work.roles.get(&id).cloned())
    }
    async fn roles(&mut self, root: AccountId) -> Result<Vec<Role>, RepoError> {
        let mut roles: Vec<Role> = self.work.roles.values().filter(|r| r.root == root).cloned().collect();
        roles.sort_by_key(|r| lower(r.name.as_str()));
        Ok(roles)
    }
    async fn role_assignments(&mut self, id: RoleId) -> Result<u64, RepoError> {
        let users = self.work.users.values().filter(|u| u.roles.contains(&id)).count();
        let invitations = self
            .work
            .invitations
            .values()
            .filter(|i| i.state == InvitationState::Pending && i.roles.contains(&id))
            .count();
        Ok(u64::try_from(users + invitations).unwrap_or(u64::MAX))
    }
    async fn reassign_role(&mut self, root: AccountId, from: RoleId, to: RoleId) -> Result<(), RepoError> {
        for user in self.work.users.values_mut().filter(|u| u.root == root) {
            if user.roles.remove(&from) {
                user.roles.insert(to);
                user.version += 1;
            }
        }
        for invitation in self.work.invitations.values_mut().filter(|i| i.root == root) {
            if invitation.roles.remove(&from) {
                invitation.roles.insert(to);
            }
        }
        if let Some(settings) = self.work.settings.get_mut(&root).filter(|s| s.default_roles.contains(&from))
        {
            settings.default_roles.remove(&from);
            settings.default_roles.insert(to);
        }
        Ok(())
    }

    async fn insert_user(&mut self, user: &User) -> Result<(), RepoError> {
        self.check_unique_keys(user)?;
        if self.work.users.contains_key(&user.id) {
            return Err(RepoError::Duplicate { entity: "user", field: "id" });
        }
        self.work.users.insert(user.id, user.clone());
        Ok(())
    }
    async fn update_user(&mut self, user: &User) -> Result<(), RepoError> {
        self.check_unique_keys(user)?;
        let stored = self.work.users.get_mut(&user.id).ok_or(RepoError::NotFound { entity: "user" })?;
        if stored.version != user.version {
            return Err(RepoError::Stale { entity: "user" });
        }
        *stored = User { version: user.version + 1, ..user.clone() };
        Ok(())
    }
    async fn record_login(&mut self, user: UserId, at: Timestamp) -> Result<(), RepoError> {
        let stored = self.work.users.get_mut(&user).ok_or(RepoError::NotFound { entity: "user" })?;
        stored.last_login_at = Some(at);
        Ok(())
    }
    async fn delete_user(&mut self, id: UserId) -> Result<(), RepoError> {
        self.work.users.remove(&id).ok_or(RepoError::NotFound { entity: "user" })?;
        self.work.passwords.remove(&id);
        self.work.sessions.retain(|_, s| s.user != id);
        self.work.tokens.retain(|_, t| t.user != id);
        self.work.devices.retain(|_, d| d.user != id);
        Ok(())
    }
    async fn user(&mut self, id: UserId) -> Result<Option<User>, RepoError> {
        Ok(self.work.users.get(&id).cloned())
    }
    async fn user_by_username(
        &mut self,
        root: AccountId,
        key: &UsernameKey,
    ) -> Result<Option<User>, RepoError> {
        Ok(self.work.users.values().find(|u| u.root == root && &u.username.key() == key).cloned())
    }
    async fn user_by_email(&mut self, root: AccountId, email: &Email) -> Result<Option<User>, RepoError> {
        Ok(self.work.users.values().find(|u| u.root == root && &u.email == email).cloned())
    }
    async fn list_users(&mut self, query: &UserQuery) -> Result<Page<User>, RepoError> {
        let matches = |u: &User| {
            let prefix_ok = query.prefix.as_deref().is_none_or(|p| {
                let starts = |text: &str| lower(text).starts_with(p);
                starts(u.username.as_str())
                    || starts(u.email.as_str())
                    || u.profile.first_name.as_ref().is_some_and(|n| starts(n.as_str()))
                    || u.profile.last_name.as_ref().is_some_and(|n| starts(n.as_str()))
            });
            u.root == query.root
                && self.within(u.account, &query.within)
                && query.state.is_none_or(|s| u.state == s)
                && query.user_type.is_none_or(|t| u.user_type == t)
                && query.role.is_none_or(|r| u.roles.contains(&r))
                && prefix_ok
        };
        let items = self
            .work
            .users
            .values()
            .filter(|u| matches(u))
            .map(|u| (Cursor { key: u.username.key().as_str().to_owned(), id: u.id.as_uuid() }, u.clone()))
            .collect();
        Ok(page(items, &query.page, false))
    }
    async fn password_hash(&mut self, user: UserId) -> Result<Option<PasswordHash>, RepoError> {
        Ok(self.work.passwords.get(&user).cloned())
    }
    async fn set_password_hash(&mut self, user: UserId, hash: Option<PasswordHash>) -> Result<(), RepoError> {
        match hash {
            Some(hash) => self.work.passwords.insert(user, hash),
            None => self.work.passwords.remove(&user),
        };
        Ok(())
    }
    async fn has_acted(&mut self, user: UserId) -> Result<bool, RepoError> {
        use usher_domain::model::ActorRef;
        Ok(self
            .work
            .audit
            .iter()
            .any(|e| matches!(e.actor, ActorRef::User(id) | ActorRef::Operator(id) if id == user)))
    }

    async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<(), RepoError> {
        let duplicate = self.work.invitations.values().any(|i| {
            i.root == invitation.root && i.email == invitation.email && i.state == InvitationState::Pending
        });
        if duplicate {
            return Err(RepoError::Duplicate { entity: "invitation", field: "email" });
        }
        self.work.invitations.insert(invitation.id, invitation.clone());
        Ok(())
    }
    async fn update_invitation(
        &mut self,
        invitation: &Invitation,
        expected: InvitationState,
    ) -> Result<(), RepoError> {
        let stored = self
            .work
            .invitations
            .get_mut(&invitation.id)
            .ok_or(RepoError::NotFound { entity: "invitation" })?;
        if stored.state != expected {
            return Err(RepoError::Stale { entity: "invitation" });
        }
        *stored = invitation.clone();
        Ok(())
    }
    async fn invitation(&mut self, id: InvitationId) -> Result<Option<Invitation>, RepoError> {
        Ok(self.work.invitations.get(&id).cloned())
    }
    async fn invitation_by_token(&mut self, hash: &TokenHash) -> Result<Option<Invitation>, RepoError> {
        Ok(self.work.invitations.values().find(|i| &i.token_hash == hash).cloned())
    }
    async fn pending_invitation_for(
        &mut self,
        root: AccountId,
        email: &Email,
    ) -> Result<Option<Invitation>, RepoError> {
        Ok(self
            .work
            .invitations
            .values()
            .find(|i| i.root == root && &i.email == email && i.state == InvitationState::Pending)
            .cloned())
    }
    async fn list_invitations(&mut self, query: &InvitationQuery) -> Result<Page<Invitation>, RepoError> {
        let items = self
            .work
            .invitations
            .values()
            .filter(|i| {
                i.root == query.root
                    && self.within(i.account, &query.within)
                    && query.status.is_none_or(|s| i.status(query.now) == s)
            })
            .map(|i| (Cursor::at_time(i.created_at, i.id.as_uuid()), i.clone()))
            .collect();
        Ok(page(items, &query.page, false))
    }

    async fn insert_contact(&mut self, contact: &Contact) -> Result<(), RepoError> {
        self.work.contacts.insert(contact.id, contact.clone());
        Ok(())
    }
    async fn link_contact(&mut self, id: ContactId, user: UserId) -> Result<(), RepoError> {
        let contact = self.work.contacts.get_mut(&id).ok_or(RepoError::NotFound { entity: "contact" })?;
        if contact.user.is_some() {
            return Err(RepoError::Stale { entity: "contact" });
        }
        contact.user = Some(user);
        Ok(())
    }
    async fn erase_contact(&mut self, id: ContactId) -> Result<(), RepoError> {
        if let Some(contact) = self.work.contacts.get_mut(&id) {
            contact.first_name = None;
            contact.last_name = None;
            contact.email = None;
            contact.phone = None;
        }
        Ok(())
    }
    async fn erase_invitations_to(
        &mut self,
        root: AccountId,
        email: &Email,
        replacement: &Email,
    ) -> Result<(), RepoError> {
        for invitation in self.work.invitations.values_mut().filter(|i| i.root == root && i.email == *email) {
            invitation.email = replacement.clone();
            if invitation.state == InvitationState::Pending {
                invitation.state = InvitationState::Revoked;
            }
        }
        Ok(())
    }
    async fn erase_mail_to(
        &mut self,
        root: AccountId,
        email: &Email,
        replacement: &Email,
        username: &str,
    ) -> Result<(), RepoError> {
        let unsent: Vec<MailId> = self
            .work
            .outbox
            .iter()
            .filter(|m| m.root == root && m.to == *email)
            .filter(|m| self.work.deliveries.get(&m.id).is_none_or(|d| d.state == DeliveryState::Pending))
            .map(|m| m.id)
            .collect();
        self.work.outbox.retain(|m| !unsent.contains(&m.id));
        for id in &unsent {
            self.work.deliveries.remove(id);
        }
        for mail in self.work.outbox.iter_mut().filter(|m| m.root == root && m.to == *email) {
            mail.to = replacement.clone();
            mail.message = mail.message.without_token();
            if let MailMessage::Welcome { username: name, .. } = &mut mail.message {
                username.clone_into(name);
            }
        }
        Ok(())
    }
    async fn contact(&mut self, id: ContactId) -> Result<Option<Contact>, RepoError> {
        Ok(self.work.contacts.get(&id).cloned())
    }
    async fn list_contacts(&mut self, query: &ContactQuery) -> Result<Page<Contact>, RepoError> {
        let items = self
            .work
            .contacts
            .values()
            .filter(|c| c.root == query.root && self.within(c.account, &query.within))
            .map(|c| (Cursor::at_time(c.created_at, c.id.as_uuid()), c.clone()))
            .collect();
        Ok(page(items, &query.page, false))
    }

    async fn insert_device(&mut self, device: &Device) -> Result<(), RepoError> {
        if self.work.devices.values().any(|d| d.user == device.user && d.identifier == device.identifier) {
            return Err(RepoError::Duplicate { entity: "device", field: "identifier" });
        }
        self.work.devices.insert(device.id, device.clone());
        Ok(())
    }
    async fn delete_device(&mut self, id: DeviceId) -> Result<(), RepoError> {
        self.work.devices.remove(&id).map(|_| ()).ok_or(RepoError::NotFound { entity: "device" })
    }
    async fn devices(&mut self, user: UserId) -> Result<Vec<Device>, RepoError> {
        Ok(self.work.devices.values().filter(|d| d.user == user).cloned().collect())
    }

    async fn insert_session(&mut self, session: &Session) -> Result<(), RepoError> {
        self.work.sessions.insert(session.token_hash.clone(), session.clone());
        Ok(())
    }
    async fn session_by_token(&mut self, hash: &TokenHash) -> Result<Option<Session>, RepoError> {
        Ok(self.work.sessions.get(hash).cloned())
    }
    async fn delete_session(&mut self, hash: &TokenHash) -> Result<(), RepoError> {
        self.work.sessions.remove(hash);
        Ok(())
    }
    async fn sessions_of(&mut self, user: UserId) -> Result<Vec<Session>, RepoError> {
        let mut sessions: Vec<Session> =
            self.work.sessions.values().filter(|s| s.user == user).cloned().collect();
        sessions.sort_by_key(|s| std::cmp::Reverse((s.created_at, s.id)));
        Ok(sessions)
    }
    async fn session(&mut self, id: SessionId) -> Result<Option<Session>, RepoError> {
        Ok(self.work.sessions.values().find(|s| s.id == id).cloned())
    }
    async fn delete_session_by_id(&mut self, id: SessionId) -> Result<(), RepoError> {
        self.work.sessions.retain(|_, s| s.id != id);
        Ok(())
    }
    async fn touch_session(&mut self, id: SessionId, at: Timestamp) -> Result<(), RepoError> {
        for session in self.work.sessions.values_mut().filter(|s| s.id == id) {
            session.last_seen_at = at;
        }
        Ok(())
    }
    async fn delete_sessions_of(&mut self, user: UserId) -> Result<u64, RepoError> {
        let before = self.work.sessions.len();
        self.work.sessions.retain(|_, s| s.user != user);
        Ok(u64::try_from(before - self.work.sessions.len()).unwrap_or(0))
    }

    async fn insert_token(&mut self, token: &OneTimeToken) -> Result<(), RepoError> {
        self.work.tokens.insert(token.id, token.clone());
        Ok(())
    }
    async fn token_by_hash(&mut self, hash: &TokenHash) -> Result<Option<OneTimeToken>, RepoError> {
        Ok(self.work.tokens.values().find(|t| &t.token_hash == hash).cloned())
    }
    async fn consume_token(&mut self, id: TokenId, now: Timestamp) -> Result<(), RepoError> {
        let token = self.work.tokens.get_mut(&id).ok_or(RepoError::NotFound { entity: "token" })?;
        if token.used_at.is_some() {
            return Err(RepoError::Stale { entity: "token" });
        }
        token.used_at = Some(now);
        Ok(())
    }
    async fn retire_tokens(
        &mut self,
        user: UserId,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<(), RepoError> {
        for token in self.work.tokens.values_mut().filter(|t| t.user == user && t.purpose == purpose) {
            token.used_at.get_or_insert(now);
        }
        Ok(())
    }

    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError> {
        self.work.api_keys.insert(key.id, key.clone());
        Ok(())
    }
    async fn update_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError> {
        let stored = self.work.api_keys.get_mut(&key.id).ok_or(RepoError::NotFound { entity: "api key" })?;
        *stored = key.clone();
        Ok(())
    }
    async fn api_key(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError> {
        Ok(self.work.api_keys.get(&id).cloned())
    }
    async fn api_key_by_token(&mut self, hash: &TokenHash) -> Result<Option<ApiKey>, RepoError> {
        Ok(self.work.api_keys.values().find(|k| &k.token_hash == hash).cloned())
    }
    async fn api_keys(&mut self, account: AccountId) -> Result<Vec<ApiKey>, RepoError> {
        Ok(self.work.api_keys.values().filter(|k| k.account == account).cloned().collect())
    }

    async fn append_audit(&mut self, event: &AuditEvent) -> Result<(), RepoError> {
        self.work.audit.push(event.clone());
        Ok(())
    }
    async fn list_audit(&mut self, query: &AuditQuery) -> Result<Page<AuditEvent>, RepoError> {
        let items = self
            .work
            .audit
            .iter()
            .filter(|e| e.root == query.root && self.within(e.account, &query.within))
            .map(|e| (Cursor::at_time(e.at, e.id.as_uuid()), e.clone()))
            .collect();
        Ok(page(items, &query.page, true))
    }
    async fn redact_audit_subject(&mut self, user: UserId) -> Result<(), RepoError> {
        let target = user.to_string();
        for event in self.work.audit.iter_mut().filter(|e| e.target_kind == "user" && e.target_id == target) {
            event.diff = usher_domain::redact::redact_personal_data(&event.diff);
        }
        Ok(())
    }
    async fn enqueue_mail(&mut self, mail: &OutboxMail) -> Result<(), RepoError> {
        self.work.outbox.push(mail.clone());
        let delivery = Delivery {
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: Some(mail.created_at),
            last_error: None,
            sent_at: None,
        };
        self.work.deliveries.insert(mail.id, delivery);
        Ok(())
    }
    async fn claim_mail(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, RepoError> {
        let mut due: Vec<(Timestamp, Timestamp, MailId)> = self
            .work
            .outbox
            .iter()
            .filter_map(|mail| {
                let delivery = self.work.deliveries.get(&mail.id)?;
                let at = delivery.next_attempt_at?;
                (delivery.state == DeliveryState::Pending && at <= now).then_some((
                    at,
                    mail.created_at,
                    mail.id,
                ))
            })
            .collect();
        due.sort();
        due.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let mut claimed = Vec::new();
        for (_, _, id) in due {
            let Some(delivery) = self.work.deliveries.get_mut(&id) else { continue };
            delivery.attempts += 1;
            delivery.next_attempt_at = Some(lease_until);
            let attempts = delivery.attempts;
            if let Some(mail) = self.work.outbox.iter().find(|m| m.id == id) {
                claimed.push(ClaimedMail { mail: mail.clone(), attempts });
            }
        }
        claimed.sort_by_key(|c| (c.mail.created_at, c.mail.id));
        Ok(claimed)
    }
    async fn mark_mail_sent(&mut self, mail: &OutboxMail, at: Timestamp) -> Result<(), RepoError> {
        let delivery =
            self.work.deliveries.get_mut(&mail.id).ok_or(RepoError::NotFound { entity: "mail" })?;
        delivery.state = DeliveryState::Sent;
        delivery.next_attempt_at = None;
        delivery.last_error = None;
        delivery.sent_at = Some(at);
        if let Some(stored) = self.work.outbox.iter_mut().find(|m| m.id == mail.id) {
            stored.message = stored.message.without_token();
        }
        Ok(())
    }
    async fn mark_mail_failed(
        &mut self,
        id: MailId,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<(), RepoError> {
        let delivery = self.work.deliveries.get_mut(&id).ok_or(RepoError::NotFound { entity: "mail" })?;
        delivery.last_error = Some(error.to_owned());
        delivery.next_attempt_at = retry_at;
        if retry_at.is_none() {
            delivery.state = DeliveryState::Failed;
        }
        Ok(())
    }
    async fn discard_mail(&mut self, id: MailId) -> Result<(), RepoError> {
        self.work.outbox.retain(|mail| mail.id != id);
        self.work.deliveries.remove(&id);
        Ok(())
    }
    async fn retry_mail(&mut self, id: MailId, at: Timestamp) -> Result<bool, RepoError> {
        let Some(delivery) = self.work.deliveries.get_mut(&id) else { return Ok(false) };
        if delivery.state != DeliveryState::Failed {
            return Ok(false);
        }
        delivery.state = DeliveryState::Pending;
        delivery.attempts = 0;
        delivery.next_attempt_at = Some(at);
        Ok(true)
    }
    async fn queued_mail(&mut self, id: MailId) -> Result<Option<QueuedMail>, RepoError> {
        let mail = self.work.outbox.iter().find(|m| m.id == id);
        Ok(mail.and_then(|mail| self.queued(mail)))
    }
    async fn list_mail(&mut self, query: &MailQuery) -> Result<Page<QueuedMail>, RepoError> {
        let items = self
            .work
            .outbox
            .iter()
            .filter(|m| m.root == query.root && self.within(m.account, &query.within))
            .filter_map(|m| self.queued(m))
            .filter(|q| query.state.is_none_or(|state| q.delivery.state == state))
            .map(|q| (Cursor::at_time(q.mail.created_at, q.mail.id.as_uuid()), q))
            .collect();
        Ok(page(items, &query.page, false))
    }

    async fn record_login_failure(&mut self, key: &str, at: Timestamp) -> Result<(), RepoError> {
        self.work.failures.entry(key.to_owned()).or_default().push(at);
        Ok(())
    }
    async fn login_failures_since(
        &mut self,
        key: &str,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, RepoError> {
        let mut times: Vec<Timestamp> = self
            .work
            .failures
            .get(key)
            .map(|all| all.iter().copied().filter(|t| *t > since).collect())
            .unwrap_or_default();
        times.sort();
        Ok(times)
    }
    async fn clear_login_failures(&mut self, key: &str) -> Result<(), RepoError> {
        self.work.failures.remove(key);
        Ok(())
    }
    async fn forget_login_failures_before(&mut self, before: Timestamp) -> Result<u64, RepoError> {
        let mut forgotten = 0;
        self.work.failures.retain(|_, times| {
            let count = times.len();
            times.retain(|t| *t > before);
            forgotten += count - times.len();
            !times.is_empty()
        });
        Ok(u64::try_from(forgotten).unwrap_or(u64::MAX))
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

/// Renders a queued mail as its kind and recipient (the contract suite's templates).
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainRenderer;

impl usher_domain::ports::MailRenderer for PlainRenderer {
    fn render(&self, mail: &OutboxMail) -> Result<RenderedMail, String> {
        let kind = serde_json::to_value(&mail.message)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
            .ok_or("unknown kind")?;
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
