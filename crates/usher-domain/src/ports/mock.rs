//! A mock transaction (mockall) implementing every repository, for unit tests of use cases.

use super::*;

mockall::mock! {
    /// A mock transaction (mockall), for unit tests of use cases.
    pub Tx {}
    #[async_trait]
    impl AccountRepo for Tx {
        async fn insert_account(&mut self, account: &Account) -> Result<(), RepoError>;
        async fn update_account(&mut self, account: &Account) -> Result<(), RepoError>;
        async fn account(&mut self, id: AccountId) -> Result<Option<Account>, RepoError>;
        async fn account_by_slug(&mut self, slug: &Slug) -> Result<Option<Account>, RepoError>;
        async fn sub_accounts(&mut self, parent: AccountId) -> Result<Vec<Account>, RepoError>;
        async fn subtree(&mut self, top: &AccountPath, limit: u64) -> Result<Vec<Account>, RepoError>;
    }
    #[async_trait]
    impl CatalogRepo for Tx {
        async fn settings(&mut self, root: AccountId) -> Result<Option<Settings>, RepoError>;
        async fn settings_for_update(&mut self, root: AccountId) -> Result<Option<Settings>, RepoError>;
        async fn put_settings(&mut self, root: AccountId, settings: &Settings) -> Result<(), RepoError>;
        async fn insert_user_type(&mut self, user_type: &UserType) -> Result<(), RepoError>;
        async fn update_user_type(&mut self, user_type: &UserType) -> Result<(), RepoError>;
        async fn user_type(&mut self, id: UserTypeId) -> Result<Option<UserType>, RepoError>;
        async fn user_types(&mut self, root: AccountId) -> Result<Vec<UserType>, RepoError>;
        async fn set_seat_total(
            &mut self,
            root: AccountId,
            user_type: UserTypeId,
            total: u32,
        ) -> Result<(), RepoError>;
        async fn seat_usage(
            &mut self,
            root: AccountId,
            user_type: UserTypeId,
            now: Timestamp,
        ) -> Result<SeatUsage, RepoError>;
        async fn lock_seat_pool(
            &mut self,
            root: AccountId,
            user_type: UserTypeId,
            now: Timestamp,
        ) -> Result<SeatUsage, RepoError>;
        async fn insert_role(&mut self, role: &Role) -> Result<(), RepoError>;
        async fn update_role(&mut self, role: &Role) -> Result<(), RepoError>;
        async fn delete_role(&mut self, id: RoleId) -> Result<(), RepoError>;
        async fn role(&mut self, id: RoleId) -> Result<Option<Role>, RepoError>;
        async fn roles(&mut self, root: AccountId) -> Result<Vec<Role>, RepoError>;
        async fn role_assignments(&mut self, id: RoleId) -> Result<u64, RepoError>;
    }
    #[async_trait]
    impl UserRepo for Tx {
        async fn insert_user(&mut self, user: &User) -> Result<(), RepoError>;
        async fn update_user(&mut self, user: &User) -> Result<(), RepoError>;
        async fn record_login(&mut self, user: UserId, at: Timestamp) -> Result<(), RepoError>;
        async fn delete_user(&mut self, id: UserId) -> Result<(), RepoError>;
        async fn user(&mut self, id: UserId) -> Result<Option<User>, RepoError>;
        async fn user_by_username(
            &mut self,
            root: AccountId,
            key: &UsernameKey,
        ) -> Result<Option<User>, RepoError>;
        async fn user_by_email(&mut self, root: AccountId, email: &Email) -> Result<Option<User>, RepoError>;
        async fn list_users(&mut self, query: &UserQuery) -> Result<Page<User>, RepoError>;
        async fn search_users(&mut self, search: &UserSearch) -> Result<SearchPage, RepoError>;
        async fn user_by_external_id(&mut self, root: AccountId, external_id: &ExternalId) -> Result<Option<User>, RepoError>;
        async fn users_by_external_ids(&mut self, root: AccountId, external_ids: &[ExternalId]) -> Result<Vec<User>, RepoError>;
        async fn has_acted(&mut self, user: UserId) -> Result<bool, RepoError>;
        async fn insert_device(&mut self, device: &Device) -> Result<(), RepoError>;
        async fn delete_device(&mut self, id: DeviceId) -> Result<(), RepoError>;
        async fn devices(&mut self, user: UserId) -> Result<Vec<Device>, RepoError>;
        async fn replace_user_role(&mut self, root: AccountId, from: RoleId, to: RoleId) -> Result<u64, RepoError>;
        async fn external_identity(&mut self, root: AccountId, issuer: &str, subject: &str) -> Result<Option<ExternalIdentity>, RepoError>;
        async fn insert_external_identity(&mut self, identity: &ExternalIdentity) -> Result<(), RepoError>;
        async fn delete_external_identities(&mut self, user: UserId) -> Result<(), RepoError>;
    }
    #[async_trait]
    impl InvitationRepo for Tx {
        async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<(), RepoError>;
        async fn update_invitation(
            &mut self,
            invitation: &Invitation,
            expected: InvitationState,
        ) -> Result<(), RepoError>;
        async fn invitation(&mut self, id: InvitationId) -> Result<Option<Invitation>, RepoError>;
        async fn invitation_by_token(&mut self, hash: &TokenHash) -> Result<Option<Invitation>, RepoError>;
        async fn pending_invitation_for(
            &mut self,
            root: AccountId,
            email: &Email,
        ) -> Result<Option<Invitation>, RepoError>;
        async fn list_invitations(&mut self, query: &InvitationQuery) -> Result<Page<Invitation>, RepoError>;
        async fn erase_invitations_to(
            &mut self,
            root: AccountId,
            email: &Email,
            replacement: &Email,
        ) -> Result<(), RepoError>;
        async fn replace_invitation_role(
            &mut self,
            root: AccountId,
            from: RoleId,
            to: RoleId,
        ) -> Result<u64, RepoError>;
    }
    #[async_trait]
    impl ContactRepo for Tx {
        async fn insert_contact(&mut self, contact: &Contact) -> Result<(), RepoError>;
        async fn insert_contacts(&mut self, contacts: &[Contact]) -> Result<(), RepoError>;
        async fn unlinked_contacts_with_emails(
            &mut self,
            root: AccountId,
            emails: &[Email],
        ) -> Result<Vec<Contact>, RepoError>;
        async fn link_contact(&mut self, id: ContactId, user: UserId) -> Result<(), RepoError>;
        async fn contact(&mut self, id: ContactId) -> Result<Option<Contact>, RepoError>;
        async fn list_contacts(&mut self, query: &ContactQuery) -> Result<Page<Contact>, RepoError>;
        async fn erase_contact(&mut self, id: ContactId) -> Result<(), RepoError>;
        async fn update_contact(&mut self, contact: &Contact) -> Result<(), RepoError>;
        async fn delete_contact(&mut self, id: ContactId) -> Result<(), RepoError>;
    }
    #[async_trait]
    impl CredentialRepo for Tx {
        async fn password_hash(&mut self, user: UserId) -> Result<Option<PasswordHash>, RepoError>;
        async fn set_password_hash(&mut self, user: UserId, hash: Option<PasswordHash>) -> Result<(), RepoError>;
        async fn insert_session(&mut self, session: &Session) -> Result<(), RepoError>;
        async fn session_by_token(&mut self, hash: &TokenHash) -> Result<Option<Session>, RepoError>;
        async fn delete_session(&mut self, hash: &TokenHash) -> Result<(), RepoError>;
        async fn sessions_of(&mut self, user: UserId) -> Result<Vec<Session>, RepoError>;
        async fn session(&mut self, id: SessionId) -> Result<Option<Session>, RepoError>;
        async fn delete_session_by_id(&mut self, id: SessionId) -> Result<(), RepoError>;
        async fn touch_session(&mut self, id: SessionId, at: Timestamp) -> Result<(), RepoError>;
        async fn delete_sessions_of(&mut self, user: UserId) -> Result<u64, RepoError>;
        async fn insert_token(&mut self, token: &OneTimeToken) -> Result<(), RepoError>;
        async fn token_by_hash(&mut self, hash: &TokenHash) -> Result<Option<OneTimeToken>, RepoError>;
        async fn consume_token(&mut self, id: TokenId, now: Timestamp) -> Result<(), RepoError>;
        async fn retire_tokens(
            &mut self,
            user: UserId,
            purpose: crate::model::TokenPurpose,
            now: Timestamp,
        ) -> Result<(), RepoError>;
        async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError>;
        async fn update_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError>;
        async fn api_key(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError>;
        async fn api_key_by_token(&mut self, hash: &TokenHash) -> Result<Option<ApiKey>, RepoError>;
        async fn api_keys(&mut self, account: AccountId) -> Result<Vec<ApiKey>, RepoError>;
        async fn record_login_failure(&mut self, key: &str, at: Timestamp) -> Result<(), RepoError>;
        async fn login_failures_since(
            &mut self,
            key: &str,
            since: Timestamp,
        ) -> Result<Vec<Timestamp>, RepoError>;
        async fn clear_login_failures(&mut self, key: &str) -> Result<(), RepoError>;
        async fn forget_login_failures_before(&mut self, before: Timestamp) -> Result<u64, RepoError>;
        async fn token_cutoff(&mut self, user: UserId) -> Result<Option<Timestamp>, RepoError>;
        async fn set_token_cutoff(&mut self, user: UserId, at: Timestamp) -> Result<(), RepoError>;
        async fn signing_keys(&mut self) -> Result<Vec<SigningKey>, RepoError>;
        async fn insert_signing_key(&mut self, key: &SigningKey) -> Result<(), RepoError>;
        async fn retire_signing_keys(&mut self, keep: SigningKeyId, at: Timestamp) -> Result<(), RepoError>;
        async fn delete_signing_keys(&mut self, retired_before: Timestamp) -> Result<u64, RepoError>;
    }
    #[async_trait]
    impl AuditRepo for Tx {
        async fn append_audit(&mut self, event: &AuditEvent) -> Result<(), RepoError>;
        async fn list_audit(&mut self, query: &AuditQuery) -> Result<Page<AuditEvent>, RepoError>;
        async fn redact_audit_subject(&mut self, user: UserId) -> Result<(), RepoError>;
    }
    #[async_trait]
    impl EventRepo for Tx {
        async fn append_events(&mut self, events: &[PublicEvent]) -> Result<(), RepoError>;
        async fn sequence_events(&mut self, limit: u32) -> Result<u32, RepoError>;
        async fn has_unnumbered_events(&mut self) -> Result<bool, RepoError>;
        async fn list_events(&mut self, query: &EventQuery) -> Result<Vec<PublicEvent>, RepoError>;
        async fn forget_events(&mut self, before: Timestamp, limit: u32) -> Result<u32, RepoError>;
        async fn redact_event_subject(&mut self, user: UserId) -> Result<(), RepoError>;
    }
    #[async_trait]
    impl WebhookRepo for Tx {
        async fn insert_webhook(&mut self, webhook: &Webhook) -> Result<(), RepoError>;
        async fn update_webhook(&mut self, webhook: &Webhook) -> Result<(), RepoError>;
        async fn delete_webhook(&mut self, id: WebhookId) -> Result<(), RepoError>;
        async fn webhook(&mut self, id: WebhookId) -> Result<Option<Webhook>, RepoError>;
        async fn webhooks(&mut self, root: AccountId, within: &BTreeSet<AccountId>) -> Result<Vec<Webhook>, RepoError>;
        async fn webhooks_behind(&mut self) -> Result<Vec<Webhook>, RepoError>;
        async fn last_event_number(&mut self, root: AccountId) -> Result<u64, RepoError>;
        async fn fan_out(&mut self, webhook: WebhookId, from: u64, to: u64, deliveries: &[WebhookDelivery]) -> Result<bool, RepoError>;
        async fn claim_webhooks(&mut self, now: Timestamp, lease_until: Timestamp, limit: u32) -> Result<Vec<Webhook>, RepoError>;
        async fn pending_deliveries(&mut self, webhook: WebhookId, limit: u32) -> Result<Vec<WebhookDelivery>, RepoError>;
        async fn update_delivery(&mut self, delivery: &WebhookDelivery) -> Result<(), RepoError>;
        async fn settle_webhook(&mut self, id: WebhookId, next_attempt_at: Timestamp, failing_since: Option<Timestamp>, disabled_reason: Option<String>) -> Result<(), RepoError>;
        async fn list_deliveries(&mut self, webhook: WebhookId, page: &PageRequest) -> Result<Page<WebhookDelivery>, RepoError>;
        async fn delivery(&mut self, id: DeliveryId) -> Result<Option<WebhookDelivery>, RepoError>;
    }
    #[async_trait]
    impl OutboxRepo for Tx {
        async fn enqueue_mail(&mut self, mail: &OutboxMail) -> Result<(), RepoError>;
        async fn list_mail(&mut self, query: &MailQuery) -> Result<Page<QueuedMail>, RepoError>;
        async fn queued_mail(&mut self, id: MailId) -> Result<Option<QueuedMail>, RepoError>;
        async fn retry_mail(&mut self, id: MailId, at: Timestamp) -> Result<bool, RepoError>;
        async fn claim_mail(
            &mut self,
            now: Timestamp,
            lease_until: Timestamp,
            limit: u32,
        ) -> Result<Vec<ClaimedMail>, RepoError>;
        async fn mark_mail_sent(&mut self, mail: &OutboxMail, at: Timestamp) -> Result<(), RepoError>;
        async fn erase_mail_to(
            &mut self,
            root: AccountId,
            email: &Email,
            replacement: &Email,
            username: &str,
        ) -> Result<(), RepoError>;
        async fn discard_mail(&mut self, id: MailId) -> Result<(), RepoError>;
        async fn mark_mail_failed(
            &mut self,
            id: MailId,
            error: &str,
            retry_at: Option<Timestamp>,
        ) -> Result<(), RepoError>;
    }
    #[async_trait]
    impl ImportRepo for Tx {
        async fn insert_import(&mut self, job: &ImportJob) -> Result<(), RepoError>;
        async fn update_import(&mut self, job: &ImportJob) -> Result<(), RepoError>;
        async fn import_job(&mut self, id: ImportId, lock: bool) -> Result<Option<ImportJob>, RepoError>;
        async fn claim_import(&mut self, now: Timestamp, lease_until: Timestamp) -> Result<Option<ImportJob>, RepoError>;
        async fn stalled_imports(&mut self, now: Timestamp, limit: u32) -> Result<Vec<ImportId>, RepoError>;
        async fn stage_import_rows(&mut self, job: ImportId, rows: &[StagedRow]) -> Result<(), RepoError>;
        async fn pending_import_rows(&mut self, job: ImportId, after: u64, limit: u32) -> Result<Vec<StagedRow>, RepoError>;
        async fn report_import_rows(&mut self, job: ImportId, reports: &[RowReport]) -> Result<(), RepoError>;
        async fn import_report(&mut self, job: ImportId, after: u64, limit: u32, errors_only: bool) -> Result<Vec<RowReport>, RepoError>;
        async fn forget_import_cells(&mut self, job: ImportId) -> Result<(), RepoError>;
    }
    #[async_trait]
    impl Tx for Tx {
        async fn commit(self: Box<Self>) -> Result<(), RepoError>;
    }
}
