//! Ports: the async traits adapters implement. The store is reached only through a
//! transaction ([`Tx`]); a use case writes its change, its audit event and its outbox mail on
//! one transaction and commits once (R20). Dropping a transaction without committing rolls it back.
//!
//! Invariants that must hold under concurrency are part of the contract of these methods and
//! are enforced by the adapter's database, not by a check-then-write in the use case:
//! [`CatalogRepo::lock_seat_pool`] serialises seat allocation, unique keys raise
//! [`RepoError::Duplicate`], and conditional writes ([`UserRepo::update_user`],
//! [`InvitationRepo::update_invitation`], [`CredentialRepo::consume_token`]) raise
//! [`RepoError::Stale`] when they lose a race.

use std::collections::BTreeSet;

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::RepoError;
use crate::id::{
    AccountId, ApiKeyId, ContactId, DeliveryId, DeviceId, ImportId, InvitationId, MailId, RoleId, SessionId,
    SigningKeyId, TokenId, UserId, UserTypeId, WebhookId,
};
use crate::model::{
    AccessClaims, Account, AccountPath, ApiKey, AuditEvent, Contact, DeliveryState, Device, EventFilter,
    ExternalIdentity, ImportJob, Invitation, InvitationState, InvitationStatus, OneTimeToken, OutboxMail,
    PublicEvent, QueuedMail, Role, RowReport, SearchOrder, SearchPage, SeatUsage, Session, Settings,
    SigningKey, StagedRow, User, UserMatch, UserState, UserType, Webhook, WebhookDelivery,
};
use crate::time::Timestamp;
use crate::value::{Email, ExternalId, PasswordHash, PlainPassword, Slug, TokenHash, UsernameKey};

/// Opens transactions.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Store: Send + Sync {
    /// Begins a transaction.
    async fn begin(&self) -> Result<Box<dyn Tx>, RepoError>;
    /// Begins a transaction that only reads. An adapter may run it on a read pool or a
    /// replica, beside the writer; it must still see every committed write.
    async fn begin_read(&self) -> Result<Box<dyn Tx>, RepoError> {
        self.begin().await
    }
}

/// Accounts and their sub-accounts.
#[async_trait]
pub trait AccountRepo: Send {
    /// Inserts an account; `Duplicate { field: "slug" }` when the slug is taken.
    async fn insert_account(&mut self, account: &Account) -> Result<(), RepoError>;
    /// Replaces an account's name and state if its stored version is still
    /// `account.version` (and makes it `version + 1`); `Stale` otherwise.
    async fn update_account(&mut self, account: &Account) -> Result<(), RepoError>;
    /// An account by id.
    async fn account(&mut self, id: AccountId) -> Result<Option<Account>, RepoError>;
    /// An account by slug.
    async fn account_by_slug(&mut self, slug: &Slug) -> Result<Option<Account>, RepoError>;
    /// The direct children of an account, by slug.
    async fn sub_accounts(&mut self, parent: AccountId) -> Result<Vec<Account>, RepoError>;
    /// The account at `top` and every account below it, in one read: ordered by path (the
    /// ancestors' ids, then the account's own), so each comes after its parent; the first
    /// `limit` of them.
    async fn subtree(&mut self, top: &AccountPath, limit: u64) -> Result<Vec<Account>, RepoError>;
}

/// A root's catalog: settings, user types and their seats, roles.
#[async_trait]
pub trait CatalogRepo: Send {
    /// A root account's settings.
    async fn settings(&mut self, root: AccountId) -> Result<Option<Settings>, RepoError>;
    /// A root account's settings, locked until the transaction ends (`SELECT … FOR UPDATE` on
    /// PostgreSQL; SQLite has one writer), so concurrent changes apply one after the other and
    /// none is lost.
    async fn settings_for_update(&mut self, root: AccountId) -> Result<Option<Settings>, RepoError>;
    /// Stores a root account's settings.
    async fn put_settings(&mut self, root: AccountId, settings: &Settings) -> Result<(), RepoError>;
    /// Inserts a user type; `Duplicate { field: "key" }` when the key is taken in the root.
    async fn insert_user_type(&mut self, user_type: &UserType) -> Result<(), RepoError>;
    /// Replaces a user type if its stored version is still `user_type.version` (and makes it
    /// `version + 1`); `Stale` otherwise.
    async fn update_user_type(&mut self, user_type: &UserType) -> Result<(), RepoError>;
    /// A user type by id.
    async fn user_type(&mut self, id: UserTypeId) -> Result<Option<UserType>, RepoError>;
    /// The user types of a root, by key.
    async fn user_types(&mut self, root: AccountId) -> Result<Vec<UserType>, RepoError>;
    /// Sets the number of seats bought for a user type.
    async fn set_seat_total(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        total: u32,
    ) -> Result<(), RepoError>;
    /// Seat figures of a user type at `now`, without locking.
    async fn seat_usage(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        now: Timestamp,
    ) -> Result<SeatUsage, RepoError>;
    /// Seat figures of a user type at `now`, locking the pool until the transaction ends: two
    /// transactions that lock the same pool run one after the other (R1).
    async fn lock_seat_pool(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        now: Timestamp,
    ) -> Result<SeatUsage, RepoError>;
    /// Inserts a role; `Duplicate { field: "name" }` when the name is taken (case-insensitive).
    async fn insert_role(&mut self, role: &Role) -> Result<(), RepoError>;
    /// Replaces a role if its stored version equals `role.version` (then increments it), else `Stale`.
    async fn update_role(&mut self, role: &Role) -> Result<(), RepoError>;
    /// Deletes a role.
    async fn delete_role(&mut self, id: RoleId) -> Result<(), RepoError>;
    /// A role by id.
    async fn role(&mut self, id: RoleId) -> Result<Option<Role>, RepoError>;
    /// The roles of a root, by name.
    async fn roles(&mut self, root: AccountId) -> Result<Vec<Role>, RepoError>;
    /// How many users and pending invitations hold the role.
    async fn role_assignments(&mut self, id: RoleId) -> Result<u64, RepoError>;
}

/// Users and their devices.
#[async_trait]
pub trait UserRepo: Send {
    /// Inserts a user; `Duplicate { field: "username" | "email" }` on a taken key (case-insensitive, NFC).
    async fn insert_user(&mut self, user: &User) -> Result<(), RepoError>;
    /// Inserts many users, all or none, as [`UserRepo::insert_user`] would one by one. The
    /// bulk paths (imports, provisioning, loading a benchmark) use it; an adapter may write
    /// them in a few multi-row statements.
    async fn insert_users(&mut self, users: &[User]) -> Result<(), RepoError> {
        for user in users {
            self.insert_user(user).await?;
        }
        Ok(())
    }
    /// Replaces a user if its stored version equals `user.version` (then increments it), else `Stale`.
    async fn update_user(&mut self, user: &User) -> Result<(), RepoError>;
    /// Records a successful login at `at`, without a version check or a version change:
    /// concurrent logins of one user never conflict with each other or with an edit.
    async fn record_login(&mut self, user: UserId, at: Timestamp) -> Result<(), RepoError>;
    /// Deletes a user and what hangs off it (sessions, tokens, devices, password).
    async fn delete_user(&mut self, id: UserId) -> Result<(), RepoError>;
    /// A user by id.
    async fn user(&mut self, id: UserId) -> Result<Option<User>, RepoError>;
    /// A user by username key within a root.
    async fn user_by_username(
        &mut self,
        root: AccountId,
        key: &UsernameKey,
    ) -> Result<Option<User>, RepoError>;
    /// A user by email within a root.
    async fn user_by_email(&mut self, root: AccountId, email: &Email) -> Result<Option<User>, RepoError>;
    /// The users of `root` with any of the username keys or emails given, as
    /// [`UserRepo::user_by_username`] and [`UserRepo::user_by_email`] find them one by one;
    /// an import asks once per batch of rows.
    async fn users_named(
        &mut self,
        root: AccountId,
        keys: &[UsernameKey],
        emails: &[Email],
    ) -> Result<Vec<User>, RepoError> {
        let mut found: Vec<User> = Vec::new();
        for key in keys {
            found.extend(self.user_by_username(root, key).await?);
        }
        for email in emails {
            if let Some(user) = self.user_by_email(root, email).await?
                && !found.iter().any(|known| known.id == user.id)
            {
                found.push(user);
            }
        }
        Ok(found)
    }
    /// The addresses among `emails` that users of `root` have, as [`UserRepo::user_by_email`]
    /// finds them one by one; a bulk invitation asks once for all of its addresses.
    async fn taken_emails(
        &mut self,
        root: AccountId,
        emails: &[Email],
    ) -> Result<BTreeSet<Email>, RepoError> {
        let mut taken = BTreeSet::new();
        for email in emails {
            if self.user_by_email(root, email).await?.is_some() {
                taken.insert(email.clone());
            }
        }
        Ok(taken)
    }
    /// A page of users, ordered by username key then id.
    async fn list_users(&mut self, query: &UserQuery) -> Result<Page<User>, RepoError>;
    /// The users a directory search takes (SCIM's `GET /Users?filter=…`), never an erased
    /// one, counted, ordered and paged by offset; an adapter turns the match into one indexed
    /// query.
    async fn search_users(&mut self, search: &UserSearch) -> Result<SearchPage, RepoError>;
    /// The users of `root` with any of the provisioning client's ids given, as
    /// [`UserRepo::user_by_external_id`] finds them one by one; an import asks once per batch.
    async fn users_by_external_ids(
        &mut self,
        root: AccountId,
        external_ids: &[ExternalId],
    ) -> Result<Vec<User>, RepoError> {
        let mut found = Vec::new();
        for id in external_ids {
            found.extend(self.user_by_external_id(root, id).await?);
        }
        Ok(found)
    }
    /// A user by the provisioning client's id within a root.
    async fn user_by_external_id(
        &mut self,
        root: AccountId,
        external_id: &ExternalId,
    ) -> Result<Option<User>, RepoError>;
    /// Whether the user acted in the system (an audit event with the user as actor).
    async fn has_acted(&mut self, user: UserId) -> Result<bool, RepoError>;
    /// Links a device; `Duplicate { field: "identifier" }` when the user already has it.
    async fn insert_device(&mut self, device: &Device) -> Result<(), RepoError>;
    /// Unlinks a device.
    async fn delete_device(&mut self, id: DeviceId) -> Result<(), RepoError>;
    /// A user's devices.
    async fn devices(&mut self, user: UserId) -> Result<Vec<Device>, RepoError>;
    /// The user an outside identity names in `root`.
    async fn external_identity(
        &mut self,
        root: AccountId,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<ExternalIdentity>, RepoError>;
    /// Links an outside identity to a user; `Duplicate { field: "subject" }` when the
    /// identity names a user already.
    async fn insert_external_identity(&mut self, identity: &ExternalIdentity) -> Result<(), RepoError>;
    /// Forgets every outside identity of a user (an erasure, R8); a deleted user's go with it.
    async fn delete_external_identities(&mut self, user: UserId) -> Result<(), RepoError>;
    /// Every user of `root` holding role `from` holds `to` instead (once, if it held both),
    /// its version incremented; returns how many users changed.
    async fn replace_user_role(
        &mut self,
        root: AccountId,
        from: RoleId,
        to: RoleId,
    ) -> Result<u64, RepoError>;
}

/// Invitations.
#[async_trait]
pub trait InvitationRepo: Send {
    /// Inserts an invitation; `Duplicate { field: "email" }` when the root already has a
    /// stored-pending invitation for the address.
    async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<(), RepoError>;
    /// Inserts many invitations, all or none, as [`InvitationRepo::insert_invitation`] would
    /// one by one.
    async fn insert_invitations(&mut self, invitations: &[Invitation]) -> Result<(), RepoError> {
        for invitation in invitations {
            self.insert_invitation(invitation).await?;
        }
        Ok(())
    }
    /// Replaces an invitation if its stored state equals `expected`, else `Stale` (single use, R11).
    async fn update_invitation(
        &mut self,
        invitation: &Invitation,
        expected: InvitationState,
    ) -> Result<(), RepoError>;
    /// An invitation by id.
    async fn invitation(&mut self, id: InvitationId) -> Result<Option<Invitation>, RepoError>;
    /// An invitation by the hash of its current token.
    async fn invitation_by_token(&mut self, hash: &TokenHash) -> Result<Option<Invitation>, RepoError>;
    /// The stored-pending invitations (expired or not) of any of `emails` in a root, as
    /// [`InvitationRepo::pending_invitation_for`] finds them one by one, in any order.
    async fn pending_invitations_for(
        &mut self,
        root: AccountId,
        emails: &[Email],
    ) -> Result<Vec<Invitation>, RepoError> {
        let mut found = Vec::new();
        for email in emails {
            found.extend(self.pending_invitation_for(root, email).await?);
        }
        Ok(found)
    }
    /// The stored-pending invitation (expired or not) of an address in a root.
    async fn pending_invitation_for(
        &mut self,
        root: AccountId,
        email: &Email,
    ) -> Result<Option<Invitation>, RepoError>;
    /// A page of invitations, ordered by creation then id.
    async fn list_invitations(&mut self, query: &InvitationQuery) -> Result<Page<Invitation>, RepoError>;
    /// For an erasure (R8): every invitation of `root` to `email` is readdressed to
    /// `replacement`, and a pending one is revoked.
    async fn erase_invitations_to(
        &mut self,
        root: AccountId,
        email: &Email,
        replacement: &Email,
    ) -> Result<(), RepoError>;
    /// Every invitation of `root` (whatever its state) naming role `from` names `to` instead;
    /// returns how many changed.
    async fn replace_invitation_role(
        &mut self,
        root: AccountId,
        from: RoleId,
        to: RoleId,
    ) -> Result<u64, RepoError>;
}

/// Contacts (R17).
#[async_trait]
pub trait ContactRepo: Send {
    /// Inserts a contact.
    async fn insert_contact(&mut self, contact: &Contact) -> Result<(), RepoError>;
    /// Inserts many contacts (an import's); an adapter may write them in one statement.
    async fn insert_contacts(&mut self, contacts: &[Contact]) -> Result<(), RepoError> {
        for contact in contacts {
            self.insert_contact(contact).await?;
        }
        Ok(())
    }
    /// The contacts of a root with one of these emails that no user was made from yet, in
    /// one lookup (an import matches its rows' contacts a batch at a time).
    async fn unlinked_contacts_with_emails(
        &mut self,
        root: AccountId,
        emails: &[Email],
    ) -> Result<Vec<Contact>, RepoError>;
    /// Links a contact to the user created from it; `Stale` if it is already linked.
    async fn link_contact(&mut self, id: ContactId, user: UserId) -> Result<(), RepoError>;
    /// A contact by id.
    async fn contact(&mut self, id: ContactId) -> Result<Option<Contact>, RepoError>;
    /// A page of contacts of an account subtree.
    async fn list_contacts(&mut self, query: &ContactQuery) -> Result<Page<Contact>, RepoError>;
    /// Clears a contact's personal data (names, email, phone) for an erasure (R8).
    async fn erase_contact(&mut self, id: ContactId) -> Result<(), RepoError>;
    /// Stores an edited contact if its stored version is still `contact.version` (and makes
    /// it `version + 1`); `Stale` otherwise.
    async fn update_contact(&mut self, contact: &Contact) -> Result<(), RepoError>;
    /// Deletes a contact that no user was made from; `Stale` if one was meanwhile.
    async fn delete_contact(&mut self, id: ContactId) -> Result<(), RepoError>;
}

/// What proves who someone is: password hashes, sessions, one-time tokens, API keys, and the throttle counts of failed proofs (R13, R14).
#[async_trait]
pub trait CredentialRepo: Send {
    /// The stored password hash of a user.
    async fn password_hash(&mut self, user: UserId) -> Result<Option<PasswordHash>, RepoError>;
    /// Stores (or clears) a user's password hash.
    async fn set_password_hash(&mut self, user: UserId, hash: Option<PasswordHash>) -> Result<(), RepoError>;
    /// Stores a session.
    async fn insert_session(&mut self, session: &Session) -> Result<(), RepoError>;
    /// A session by token hash (expired ones too; the caller checks expiry).
    async fn session_by_token(&mut self, hash: &TokenHash) -> Result<Option<Session>, RepoError>;
    /// Ends one session.
    async fn delete_session(&mut self, hash: &TokenHash) -> Result<(), RepoError>;
    /// The sessions of a user, newest first.
    async fn sessions_of(&mut self, user: UserId) -> Result<Vec<Session>, RepoError>;
    /// A session by id.
    async fn session(&mut self, id: SessionId) -> Result<Option<Session>, RepoError>;
    /// Ends one session.
    async fn delete_session_by_id(&mut self, id: SessionId) -> Result<(), RepoError>;
    /// Records that a session was used at `at`.
    async fn touch_session(&mut self, id: SessionId, at: Timestamp) -> Result<(), RepoError>;
    /// Ends every session of a user; returns how many ended (R21).
    async fn delete_sessions_of(&mut self, user: UserId) -> Result<u64, RepoError>;
    /// Stores a token.
    async fn insert_token(&mut self, token: &OneTimeToken) -> Result<(), RepoError>;
    /// A token by hash.
    async fn token_by_hash(&mut self, hash: &TokenHash) -> Result<Option<OneTimeToken>, RepoError>;
    /// Marks a token used if it is unused, else `Stale` (single use, R13).
    async fn consume_token(&mut self, id: TokenId, now: Timestamp) -> Result<(), RepoError>;
    /// Marks every unused token of a user for `purpose` used (a new link kills the old ones).
    async fn retire_tokens(
        &mut self,
        user: UserId,
        purpose: crate::model::TokenPurpose,
        now: Timestamp,
    ) -> Result<(), RepoError>;
    /// Stores an API key.
    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError>;
    /// Replaces an API key (revocation).
    async fn update_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError>;
    /// An API key by id.
    async fn api_key(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError>;
    /// An API key by token hash.
    async fn api_key_by_token(&mut self, hash: &TokenHash) -> Result<Option<ApiKey>, RepoError>;
    /// The API keys of an account.
    async fn api_keys(&mut self, account: AccountId) -> Result<Vec<ApiKey>, RepoError>;
    /// Records a failed login for a key.
    async fn record_login_failure(&mut self, key: &str, at: Timestamp) -> Result<(), RepoError>;
    /// Failed logins of a key since `since`, oldest first (their times).
    async fn login_failures_since(
        &mut self,
        key: &str,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, RepoError>;
    /// Forgets a key's failures (after a successful login).
    async fn clear_login_failures(&mut self, key: &str) -> Result<(), RepoError>;
    /// Forgets every key's failures at or before `before` (out of the window); answers how
    /// many.
    async fn forget_login_failures_before(&mut self, before: Timestamp) -> Result<u64, RepoError>;
    /// The user's token cut-off: signed access tokens issued before it are refused (ASVS
    /// V7.4.1).
    async fn token_cutoff(&mut self, user: UserId) -> Result<Option<Timestamp>, RepoError>;
    /// Sets the user's token cut-off (kept if a later one is already set).
    async fn set_token_cutoff(&mut self, user: UserId, at: Timestamp) -> Result<(), RepoError>;
    /// The installation's signing keys, newest first.
    async fn signing_keys(&mut self) -> Result<Vec<SigningKey>, RepoError>;
    /// Stores a new signing key.
    async fn insert_signing_key(&mut self, key: &SigningKey) -> Result<(), RepoError>;
    /// Retires every key but `keep` that is not retired yet.
    async fn retire_signing_keys(&mut self, keep: SigningKeyId, at: Timestamp) -> Result<(), RepoError>;
    /// Deletes the keys retired at or before `before`; answers how many.
    async fn delete_signing_keys(&mut self, retired_before: Timestamp) -> Result<u64, RepoError>;
}

/// The audit log (R20).
#[async_trait]
pub trait AuditRepo: Send {
    /// Appends an audit event.
    async fn append_audit(&mut self, event: &AuditEvent) -> Result<(), RepoError>;
    /// Appends many audit events, as [`AuditRepo::append_audit`] would one by one.
    async fn append_audits(&mut self, events: &[AuditEvent]) -> Result<(), RepoError> {
        for event in events {
            self.append_audit(event).await?;
        }
        Ok(())
    }
    /// A page of audit events, newest first.
    async fn list_audit(&mut self, query: &AuditQuery) -> Result<Page<AuditEvent>, RepoError>;
    /// Replaces personal data in the diffs of events about an erased user by `"[erased]"` (R8).
    async fn redact_audit_subject(&mut self, user: UserId) -> Result<(), RepoError>;
}

/// The public event feed (R26). A use case appends its events on its own transaction, so they
/// commit with the change or not at all; they are numbered only after they commit, which is
/// what lets a reader's cursor be a plain number that never skips a late commit.
#[async_trait]
pub trait EventRepo: Send {
    /// Appends events, unnumbered; readers see them once [`EventRepo::sequence_events`] has
    /// numbered them, after this transaction commits.
    async fn append_events(&mut self, events: &[PublicEvent]) -> Result<(), RepoError>;
    /// Numbers up to `limit` committed events that have no number yet, oldest append first,
    /// each root's continuing from the last number that root gave; returns how many.
    /// Sequencers are serialised across transactions and server instances (a row lock on
    /// PostgreSQL, the single writer on SQLite), so within a root numbers rise in the order
    /// events become visible, and an event numbered later always gets a greater number.
    async fn sequence_events(&mut self, limit: u32) -> Result<u32, RepoError>;
    /// Whether a committed event waits for its number: a read, so that readers and idle
    /// sequencers take no lock when there is nothing to number. The default says yes, which
    /// only costs a sequencer transaction.
    async fn has_unnumbered_events(&mut self) -> Result<bool, RepoError> {
        Ok(true)
    }
    /// Numbered events of a root after the number `query.after`, in number order.
    async fn list_events(&mut self, query: &EventQuery) -> Result<Vec<PublicEvent>, RepoError>;
    /// Deletes up to `limit` events that occurred before `before`; returns how many. A root's
    /// numbering goes on from where it was, so a number is never given twice.
    async fn forget_events(&mut self, before: Timestamp, limit: u32) -> Result<u32, RepoError>;
    /// Replaces personal data in the object and changes of events about an erased user by
    /// `"[erased]"` (R8).
    async fn redact_event_subject(&mut self, user: UserId) -> Result<(), RepoError>;
}

/// Webhooks and their deliveries (R26). Deliveries to one webhook go out one at a time in
/// event order: whoever delivers first claims the webhook with a lease, so any number of
/// server instances can deliver, and one that dies leaves the webhook to be claimed again
/// when the lease ends (at least once).
#[async_trait]
pub trait WebhookRepo: Send {
    /// Inserts a webhook.
    async fn insert_webhook(&mut self, webhook: &Webhook) -> Result<(), RepoError>;
    /// Replaces a webhook whose stored version is `webhook.version`, storing the next version;
    /// `Stale` when another write came first.
    async fn update_webhook(&mut self, webhook: &Webhook) -> Result<(), RepoError>;
    /// Deletes a webhook and its deliveries.
    async fn delete_webhook(&mut self, id: WebhookId) -> Result<(), RepoError>;
    /// A webhook by id.
    async fn webhook(&mut self, id: WebhookId) -> Result<Option<Webhook>, RepoError>;
    /// The webhooks of a root whose account is in one of the subtrees (empty: the whole root),
    /// oldest first.
    async fn webhooks(
        &mut self,
        root: AccountId,
        within: &BTreeSet<AccountId>,
    ) -> Result<Vec<Webhook>, RepoError>;
    /// The enabled webhooks of every root whose cursor is behind their root's last event
    /// number: those the fan-out has something to do for.
    async fn webhooks_behind(&mut self) -> Result<Vec<Webhook>, RepoError>;
    /// The last number a root's feed gave (0 before the first).
    async fn last_event_number(&mut self, root: AccountId) -> Result<u64, RepoError>;
    /// Inserts deliveries and moves the webhook's cursor from `from` to `to`, all or nothing;
    /// `false` (and nothing written) when the cursor is no longer at `from`, because another
    /// instance fanned these events out first.
    async fn fan_out(
        &mut self,
        webhook: WebhookId,
        from: u64,
        to: u64,
        deliveries: &[WebhookDelivery],
    ) -> Result<bool, RepoError>;
    /// Claims up to `limit` enabled webhooks that have a pending delivery and are due at `now`
    /// and not leased, leasing them until `lease_until` (`FOR UPDATE SKIP LOCKED`).
    async fn claim_webhooks(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Webhook>, RepoError>;
    /// The first `limit` pending deliveries of a webhook, in event order.
    async fn pending_deliveries(
        &mut self,
        webhook: WebhookId,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, RepoError>;
    /// Stores a delivery's attempt and outcome.
    async fn update_delivery(&mut self, delivery: &WebhookDelivery) -> Result<(), RepoError>;
    /// Ends a webhook's lease and stores when it is tried next, since when it has been failing,
    /// and, when it is given up, that it is disabled and why.
    async fn settle_webhook(
        &mut self,
        id: WebhookId,
        next_attempt_at: Timestamp,
        failing_since: Option<Timestamp>,
        disabled_reason: Option<String>,
    ) -> Result<(), RepoError>;
    /// A page of a webhook's deliveries, newest event first.
    async fn list_deliveries(
        &mut self,
        webhook: WebhookId,
        page: &PageRequest,
    ) -> Result<Page<WebhookDelivery>, RepoError>;
    /// A delivery by id.
    async fn delivery(&mut self, id: DeliveryId) -> Result<Option<WebhookDelivery>, RepoError>;
}

/// The mail outbox: what use cases queue, and the dispatcher's claims and outcomes.
#[async_trait]
pub trait OutboxRepo: Send {
    /// Enqueues a mail.
    async fn enqueue_mail(&mut self, mail: &OutboxMail) -> Result<(), RepoError>;
    /// Enqueues many mails, all or none, as [`OutboxRepo::enqueue_mail`] would one by one.
    async fn enqueue_mails(&mut self, mails: &[OutboxMail]) -> Result<(), RepoError> {
        for mail in mails {
            self.enqueue_mail(mail).await?;
        }
        Ok(())
    }
    /// A page of queued mail with its delivery, oldest first.
    async fn list_mail(&mut self, query: &MailQuery) -> Result<Page<QueuedMail>, RepoError>;
    /// One queued mail with its delivery.
    async fn queued_mail(&mut self, id: MailId) -> Result<Option<QueuedMail>, RepoError>;
    /// Makes a failed mail pending again, due at `at`, with its attempts counted afresh;
    /// `false` when the mail is not failed.
    async fn retry_mail(&mut self, id: MailId, at: Timestamp) -> Result<bool, RepoError>;
    /// Claims up to `limit` queued mails due by `now` (pending, next attempt not after `now`),
    /// oldest first, counts the attempt and hides them from other claims until `lease_until`.
    /// Rows another transaction holds are skipped (`FOR UPDATE SKIP LOCKED`), so any number of
    /// dispatchers can run; a dispatcher that dies leaves its mail to be claimed again when the
    /// lease ends (at-least-once delivery, R20).
    async fn claim_mail(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, RepoError>;
    /// Records a delivered mail and forgets its link token (the message is kept as
    /// [`crate::model::MailMessage::without_token`]), so no raw token outlives its delivery.
    async fn mark_mail_sent(&mut self, mail: &OutboxMail, at: Timestamp) -> Result<(), RepoError>;
    /// For an erasure (R8): mail of `root` to `email` not yet sent is dropped, and the rest is
    /// readdressed to `replacement` with any username in it replaced by `username`.
    async fn erase_mail_to(
        &mut self,
        root: AccountId,
        email: &Email,
        replacement: &Email,
        username: &str,
    ) -> Result<(), RepoError>;
    /// Removes a queued mail that turned out to have nothing to deliver (a reset request for
    /// an address no active user has).
    async fn discard_mail(&mut self, id: MailId) -> Result<(), RepoError>;
    /// Records a failed attempt: the mail is tried again at `retry_at`, or given up for good
    /// (`None`), keeping `error` visible.
    async fn mark_mail_failed(
        &mut self,
        id: MailId,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<(), RepoError>;
}

/// Import jobs: staged rows, the report, and the claims of the processes that run them.
#[async_trait]
pub trait ImportRepo: Send {
    /// Inserts a job.
    async fn insert_import(&mut self, job: &ImportJob) -> Result<(), RepoError>;
    /// Writes a job's state, counts, cursor, failure and lease.
    async fn update_import(&mut self, job: &ImportJob) -> Result<(), RepoError>;
    /// A job; with `lock`, held until the transaction ends, so that the batches of one job and
    /// its cancellation run one after the other whoever runs them.
    async fn import_job(&mut self, id: ImportId, lock: bool) -> Result<Option<ImportJob>, RepoError>;
    /// Takes the oldest job that is queued, or running with its lease ended (its process
    /// died), sets it running until `lease_until` and answers it. A job another transaction
    /// holds is skipped.
    async fn claim_import(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<ImportJob>, RepoError>;
    /// Up to `limit` jobs still receiving their file whose lease ended before `now`: no rows
    /// arrived for that long, so the upload broke off (its server died), oldest first.
    async fn stalled_imports(&mut self, now: Timestamp, limit: u32) -> Result<Vec<ImportId>, RepoError>;
    /// Stages rows of a job; a line staged twice is `Duplicate { field: "line" }`.
    async fn stage_import_rows(&mut self, job: ImportId, rows: &[StagedRow]) -> Result<(), RepoError>;
    /// Up to `limit` staged rows after line `after` that have no outcome yet, by line.
    async fn pending_import_rows(
        &mut self,
        job: ImportId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StagedRow>, RepoError>;
    /// Records rows' outcomes and forgets their cells, which nothing reads again.
    async fn report_import_rows(&mut self, job: ImportId, reports: &[RowReport]) -> Result<(), RepoError>;
    /// Up to `limit` outcomes after line `after`, by line; with `errors_only`, refusals only.
    async fn import_report(
        &mut self,
        job: ImportId,
        after: u64,
        limit: u32,
        errors_only: bool,
    ) -> Result<Vec<RowReport>, RepoError>;
    /// Forgets the cells of a finished job's rows: the report stays, the file's data goes.
    async fn forget_import_cells(&mut self, job: ImportId) -> Result<(), RepoError>;
}

/// One unit of work on the store. Every read sees the transaction's own writes.
/// Every query is scoped: ids belong to one root account, and lists take the root explicitly.
///
/// A store implements each repository for its transaction type; `Tx` adds `commit` and one
/// combined read, whose default runs the reads it combines one by one.
#[async_trait]
pub trait Tx:
    AccountRepo
    + CatalogRepo
    + UserRepo
    + InvitationRepo
    + ContactRepo
    + CredentialRepo
    + AuditRepo
    + EventRepo
    + WebhookRepo
    + OutboxRepo
    + ImportRepo
    + Send
{
    /// Commits every write of the transaction, or none.
    async fn commit(self: Box<Self>) -> Result<(), RepoError>;

    /// What a write in an account reads first, in one statement where the store can: the
    /// account, its root's settings and, when asked, the user type `user_type` whatever its
    /// root (the caller checks that it belongs). `None` when the account does not exist.
    async fn account_context(
        &mut self,
        id: AccountId,
        user_type: Option<UserTypeId>,
    ) -> Result<Option<AccountContext>, RepoError> {
        let Some(account) = self.account(id).await? else {
            return Ok(None);
        };
        let settings = self.settings(account.root()).await?;
        let user_type = match user_type {
            Some(id) => self.user_type(id).await?,
            None => None,
        };
        Ok(Some(AccountContext { account, settings, user_type }))
    }
}

/// What [`Tx::account_context`] reads.
#[derive(Debug, Clone)]
pub struct AccountContext {
    /// The account.
    pub account: Account,
    /// Its root's settings (`None` only in a corrupt store).
    pub settings: Option<Settings>,
    /// The user type asked for, if it exists.
    pub user_type: Option<UserType>,
}

#[cfg(any(test, feature = "mocks"))]
mod mock;
#[cfg(any(test, feature = "mocks"))]
pub use mock::MockTx;

/// The repository traits, to call their methods on a `dyn Tx`.
pub mod prelude {
    pub use super::{
        AccountRepo, AuditRepo, CatalogRepo, ContactRepo, CredentialRepo, EventRepo, InvitationRepo,
        OutboxRepo, Tx, UserRepo, WebhookRepo,
    };
}

/// The clock.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// Mints ids (UUIDv7 in production: time-ordered, so indexes stay compact).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait IdGen: Send + Sync {
    /// A new unique id.
    fn new_id(&self) -> Uuid;
}

/// The source of secrets: 256 bits from a cryptographically secure generator (R13).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenGen: Send + Sync {
    /// 32 random bytes.
    fn random_bytes(&self) -> [u8; 32];
}

/// Why a signing key could not be made or used: the sealing key is wrong for it, or the
/// key is corrupt.
#[derive(Debug, thiserror::Error)]
#[error("access token signing failed: {0}")]
pub struct SigningError(pub String);

/// Makes signing keys and signs and checks access tokens with them (EdDSA JWTs in
/// production). The private halves leave the signer only sealed, for the store.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AccessTokenSigner: Send + Sync {
    /// A new key pair with the given id, its private half sealed.
    fn new_key(&self, id: SigningKeyId, now: Timestamp) -> Result<SigningKey, SigningError>;
    /// Signs the claims with `key`.
    fn sign(&self, key: &SigningKey, claims: &AccessClaims) -> Result<String, SigningError>;
    /// The claims of `token` if one of `keys` signed it; expiry is the caller's to check.
    fn verify(&self, token: &str, keys: &[SigningKey]) -> Option<AccessClaims>;
}

/// Why hashing failed (resource exhaustion, a corrupt stored hash).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(pub String);

/// Hashes and verifies passwords (argon2id in production, off the async runtime, R15).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password with a fresh salt.
    async fn hash(&self, password: &PlainPassword) -> Result<PasswordHash, HashError>;
    /// Verifies a password. With `None` it verifies against a dummy hash and returns false,
    /// taking as long as a real verification (R14: unknown users look like wrong passwords).
    async fn verify(&self, password: &PlainPassword, hash: Option<PasswordHash>) -> Result<bool, HashError>;
}

/// The list of common and breached passwords (R15).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait BreachedPasswords: Send + Sync {
    /// Whether the NFKC-normalised, lower-cased password is on the list.
    fn is_breached(&self, normalized_lowercase: &str) -> bool;
}

/// The list of disposable email domains (R10).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait DisposableEmails: Send + Sync {
    /// Whether the address belongs to a throw-away mail service.
    fn is_disposable(&self, email: &Email) -> bool;
}

/// A mail a dispatcher claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMail {
    /// The mail.
    pub mail: OutboxMail,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// A mail ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    /// Recipient.
    pub to: Email,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// Why sending failed.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying later (server down, greylisting).
    #[error("temporary mail failure: {0}")]
    Transient(String),
    /// Will never succeed (address refused).
    #[error("permanent mail failure: {0}")]
    Permanent(String),
}

/// Turns a queued mail into the message its recipient reads (templates per kind and locale).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait MailRenderer: Send + Sync {
    /// The rendered mail; `Err` with a reason when it cannot be rendered (never retried).
    fn render(&self, mail: &OutboxMail) -> Result<RenderedMail, String>;
}

/// One webhook request, signed (Standard Webhooks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// Where.
    pub url: String,
    /// `content-type`, `webhook-id`, `webhook-timestamp` and `webhook-signature`.
    pub headers: Vec<(&'static str, String)>,
    /// The event, as JSON.
    pub body: String,
}

/// What a webhook endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The start of the body (at most 500 characters), for the delivery log.
    pub body: String,
}

/// Why a webhook request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookFailure {
    /// Not sent, and sending again cannot help: the address is private, loopback or
    /// link-local (and the operator did not allow those), or the URL cannot be used.
    #[error("refused: {0}")]
    Refused(String),
    /// No answer: the connection, TLS or the timeout failed.
    #[error("{0}")]
    Unreachable(String),
}

/// Sends webhook requests: over HTTP in production, a recorder in tests.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Sends one request; follows no redirect.
    async fn send(&self, request: &WebhookRequest) -> Result<WebhookAnswer, WebhookFailure>;
}

/// Delivers rendered mail (SMTP or the file sink in `usher-mail`).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one mail.
    async fn send(&self, mail: &RenderedMail) -> Result<(), MailError>;
}

/// Position in a keyset-paginated list: the sort key and id of the last item seen.
/// Encoded as opaque text for the wire.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    /// Sort key of the last item (username key, or zero-padded microseconds).
    pub key: String,
    /// Id of the last item (tie-break).
    pub id: Uuid,
}

impl Cursor {
    /// A cursor after an item sorted by a timestamp.
    pub fn at_time(at: Timestamp, id: Uuid) -> Cursor {
        Cursor { key: format!("{:020}", at.unix_micros()), id }
    }
    /// Opaque text (hex of `key`, `.`, id).
    pub fn encode(&self) -> String {
        let mut text: String = self.key.bytes().map(|b| format!("{b:02x}")).collect();
        text.push('.');
        text.push_str(&self.id.simple().to_string());
        text
    }
    /// Parses the opaque text; `None` unless it has the shape [`Cursor::encode`] writes.
    pub fn decode(text: &str) -> Option<Cursor> {
        let (hex, id) = text.rsplit_once('.')?;
        if hex.len() % 2 != 0 || hex.len() > 2048 {
            return None;
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| hex.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
            .collect::<Option<Vec<u8>>>()?;
        // Any text is a position, so bytes that are not UTF-8 are read as the nearest text.
        Some(Cursor { key: String::from_utf8_lossy(&bytes).into_owned(), id: Uuid::try_parse(id).ok()? })
    }
}

/// Which page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Continue after this item.
    pub after: Option<Cursor>,
    /// At most this many items (1–200).
    pub limit: u16,
}

impl PageRequest {
    /// Largest page.
    pub const MAX_LIMIT: u16 = 200;
    /// The first page of `limit` items (clamped to 1–200).
    pub fn first(limit: u16) -> PageRequest {
        PageRequest { after: None, limit: limit.clamp(1, Self::MAX_LIMIT) }
    }
    /// The page after `cursor`.
    pub fn after(cursor: Cursor, limit: u16) -> PageRequest {
        PageRequest { after: Some(cursor), limit: limit.clamp(1, Self::MAX_LIMIT) }
    }
}

/// A page of a list and where the next starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// Items.
    pub items: Vec<T>,
    /// Cursor of the next page; `None` on the last page.
    pub next: Option<Cursor>,
}

/// Filters of the user list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    /// The root account (tenant); never crossed.
    pub root: AccountId,
    /// Only users whose home account is in these accounts' subtrees (empty: the whole root).
    pub within: BTreeSet<AccountId>,
    /// Only users in this state.
    pub state: Option<UserState>,
    /// Only users whose username, email, first or last name starts with this (case-insensitive).
    pub prefix: Option<String>,
    /// Only users of this type.
    pub user_type: Option<UserTypeId>,
    /// Only users with this role.
    pub role: Option<RoleId>,
    /// Page.
    pub page: PageRequest,
}

/// A directory search: the users of `within`'s subtrees that `filter` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSearch {
    /// The root account (tenant); never crossed.
    pub root: AccountId,
    /// Only users whose home account is in these accounts' subtrees (empty: the whole root).
    pub within: BTreeSet<AccountId>,
    /// Which users.
    pub filter: UserMatch,
    /// In which order.
    pub order: SearchOrder,
    /// How many matching users to pass over.
    pub offset: u64,
    /// How many to return at most.
    pub limit: u32,
}

/// Filters of the invitation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationQuery {
    /// The root account.
    pub root: AccountId,
    /// Only invitations to accounts in these subtrees (empty: the whole root).
    pub within: BTreeSet<AccountId>,
    /// Only invitations with this status at `now`.
    pub status: Option<InvitationStatus>,
    /// The instant `status` is judged at.
    pub now: Timestamp,
    /// Page.
    pub page: PageRequest,
}

/// Filters of the contact list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactQuery {
    /// The root account.
    pub root: AccountId,
    /// Only contacts of accounts in these subtrees (empty: the whole root).
    pub within: BTreeSet<AccountId>,
    /// Only contacts whose first name, last name or email starts with this (lower case).
    pub search: Option<String>,
    /// Page.
    pub page: PageRequest,
}

/// Filters of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// The root account.
    pub root: AccountId,
    /// Only events about accounts in these subtrees (empty: the whole root).
    pub within: BTreeSet<AccountId>,
    /// Only the events this lets through.
    pub filter: AuditFilter,
    /// Page (newest first).
    pub page: PageRequest,
}

/// Which audit events to read; every condition given must hold, and an empty filter lets
/// every event through. [`AuditFilter::matches`] is the meaning a store's query must have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only events by this user (or operator) or API key.
    pub actor: Option<Uuid>,
    /// Only events about objects of this kind (`user`, `role`, `account`, …).
    pub target_kind: Option<String>,
    /// Only events about the object with this id.
    pub target_id: Option<String>,
    /// Only this action (`user.disabled`), or, ending in `.`, every action it starts
    /// (`user.`).
    pub action: Option<String>,
    /// Only events at or after this instant.
    pub since: Option<Timestamp>,
    /// Only events before this instant.
    pub until: Option<Timestamp>,
}

impl AuditFilter {
    /// Whether `event` passes.
    pub fn matches(&self, event: &AuditEvent) -> bool {
        let actor = match event.actor {
            crate::model::ActorRef::User(id) | crate::model::ActorRef::Operator(id) => Some(id.as_uuid()),
            crate::model::ActorRef::ApiKey(id) => Some(id.as_uuid()),
            crate::model::ActorRef::System | crate::model::ActorRef::Anonymous => None,
        };
        let action = |wanted: &String| match wanted.strip_suffix('.') {
            Some(_) => event.action.starts_with(wanted.as_str()),
            None => event.action == *wanted,
        };
        self.actor.is_none_or(|wanted| actor == Some(wanted))
            && self.target_kind.as_ref().is_none_or(|kind| event.target_kind == *kind)
            && self.target_id.as_ref().is_none_or(|id| event.target_id == *id)
            && self.action.as_ref().is_none_or(action)
            && self.since.is_none_or(|since| event.at >= since)
            && self.until.is_none_or(|until| event.at < until)
    }
}

/// Which events of the feed to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// The root account.
    pub root: AccountId,
    /// Only events about accounts in these subtrees (empty: the whole root).
    pub within: BTreeSet<AccountId>,
    /// Only events numbered after this (0: from the oldest kept).
    pub after: u64,
    /// Only events of these types.
    pub types: EventFilter,
    /// At most this many.
    pub limit: u16,
}

/// Filters of the outbox list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailQuery {
    /// The root account.
    pub root: AccountId,
    /// Only mail about accounts in these subtrees (empty: the whole root).
    pub within: BTreeSet<AccountId>,
    /// Only mail in this state.
    pub state: Option<DeliveryState>,
    /// Page (oldest first).
    pub page: PageRequest,
}

/// A disposable-email check backed by the `mailchecker` crate's maintained domain list.
#[derive(Debug, Clone, Copy, Default)]
pub struct MailcheckerList;

impl DisposableEmails for MailcheckerList {
    fn is_disposable(&self, email: &Email) -> bool {
        // `mailchecker::is_valid` is false for malformed or disposable addresses; the address is
        // already well-formed here, so false means disposable.
        !mailchecker::is_valid(email.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_refuses_garbage() {
        let cursor = Cursor { key: "jörg.smith".to_owned(), id: Uuid::from_u128(42) };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("zz.123"), None);
        assert_eq!(Cursor::decode("no-dot"), None);
        assert_eq!(
            Cursor::decode("abc.00000000000000000000000000000042"),
            None,
            "an odd number of hex digits"
        );
        let longest = Cursor { key: "k".repeat(1024), id: Uuid::from_u128(7) };
        assert_eq!(Cursor::decode(&longest.encode()), Some(longest), "2,048 hex digits");
        let longer = Cursor { key: "k".repeat(1025), id: Uuid::from_u128(7) };
        assert_eq!(Cursor::decode(&longer.encode()), None, "more is refused");
    }

    #[test]
    fn r10_mailchecker_flags_throwaway_domains_only() {
        let list = MailcheckerList;
        assert!(list.is_disposable(&Email::parse("x@mailinator.com").unwrap()));
        assert!(!list.is_disposable(&Email::parse("x@example.org").unwrap()));
    }
}
