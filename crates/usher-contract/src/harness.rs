//! What every contract case starts from: ports around the store under test, a manual clock,
//! an operator, and helpers to build tenants and log in.

use std::collections::BTreeSet;
use std::sync::Arc;

use usher_domain::authz::{Actor, ActorKind};
use usher_domain::id::{AccountId, RoleId, UserId, UserTypeId};
use usher_domain::model::{Account, User, UserType};
use usher_domain::password::ShippedPasswordList;
use usher_domain::ports::{MailcheckerList, PageRequest, Store};
use usher_domain::rules::ThrottlePolicy;
use usher_domain::service::Ports;
use usher_domain::service::access_tokens::{AccessTokenPolicy, Signing};
use usher_domain::service::{accounts, catalog, sessions, users};
use usher_domain::time::Timestamp;
use usher_domain::value::PlainPassword;

use crate::memory::{DeterministicTokens, ManualClock, SequentialIds, TestHasher, TestSigner};

/// A password every policy in the suite accepts.
pub const PASSWORD: &str = "correct horse battery staple";

/// 2026-01-01T00:00:00Z.
pub fn t0() -> Timestamp {
    Timestamp::from_datetime(time::macros::datetime!(2026-01-01 00:00:00 UTC))
}

/// The ports of one case.
#[derive(Debug, Clone)]
pub struct Harness {
    /// Ports wired around the store under test.
    pub ports: Ports,
    /// The clock, to move time.
    pub clock: Arc<ManualClock>,
    /// The hasher, to count verifications.
    pub hasher: Arc<TestHasher>,
    /// The installation's operator.
    pub operator: Actor,
}

/// A root account with its catalog and a logged-in first administrator.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The root account.
    pub account: Account,
    /// Its first administrator.
    pub admin: User,
    /// The administrator as an actor (authenticated through a real login).
    pub admin_actor: Actor,
    /// The built-in `admin` and `user` roles.
    pub admin_role: RoleId,
    /// The built-in `user` role.
    pub user_role: RoleId,
    /// The `user` type (seat-consuming, no admin modules).
    pub user_type: UserType,
    /// The `member` type (no seat).
    pub member_type: UserTypeId,
}

impl Harness {
    /// Ports around `store`, the clock at [`t0`].
    pub fn new(store: Arc<dyn Store>) -> Harness {
        let clock = Arc::new(ManualClock::at(t0()));
        let hasher = Arc::new(TestHasher::default());
        let ports = Ports {
            store,
            clock: clock.clone(),
            ids: Arc::new(SequentialIds::default()),
            tokens: Arc::new(DeterministicTokens::default()),
            hasher: hasher.clone(),
            breached: Arc::new(ShippedPasswordList),
            disposable: Arc::new(MailcheckerList),
            throttle: ThrottlePolicy::standard(),
            signing: Some(Signing { signer: Arc::new(TestSigner), policy: AccessTokenPolicy::standard() }),
        };
        let operator =
            Actor::new(ActorKind::Operator { user: UserId::from_uuid(uuid::Uuid::from_u128(u128::MAX)) });
        Harness { ports, clock, hasher, operator }
    }

    /// The same ports (clock, ids, secrets) around another handle on the store: a second
    /// server instance.
    pub fn beside(&self, store: Arc<dyn Store>) -> Harness {
        Harness { ports: Ports { store, ..self.ports.clone() }, ..self.clone() }
    }

    /// Creates a root account `slug` whose `user` type has `user_seats` seats, and logs its
    /// administrator in.
    pub async fn tenant(&self, slug: &str, user_seats: u32) -> Tenant {
        let created = accounts::create_root_account(
            &self.ports,
            &self.operator,
            accounts::NewRootAccount {
                slug: slug.to_owned(),
                name: format!("{slug} Inc"),
                admin_email: format!("admin@{slug}.example.com"),
                admin_username: Some("admin".to_owned()),
                admin_password: Some(PlainPassword::new(PASSWORD)),
                admin_seats: 2,
                user_seats,
            },
        )
        .await
        .unwrap_or_else(|err| panic!("create tenant {slug}: {err}"));
        let admin_actor = self.login(slug, "admin").await;
        let types = catalog::list_user_types(&self.ports, &self.operator, created.account.id)
            .await
            .unwrap_or_default();
        let roles =
            catalog::list_roles(&self.ports, &self.operator, created.account.id).await.unwrap_or_default();
        let role = |name: &str| roles.iter().find(|r| r.name.as_str() == name).map(|r| r.id);
        let user_type = |key: &str| types.iter().find(|t| t.key.as_str() == key).cloned();
        Tenant {
            admin_role: role("admin").unwrap_or_else(|| panic!("admin role")),
            user_role: role("user").unwrap_or_else(|| panic!("user role")),
            user_type: user_type("user").unwrap_or_else(|| panic!("user type")),
            member_type: user_type("member").map(|t| t.id).unwrap_or_else(|| panic!("member type")),
            account: created.account,
            admin: created.admin,
            admin_actor,
        }
    }

    /// Creates a sub-account of `parent` as the tenant's administrator.
    pub async fn sub_account(&self, tenant: &Tenant, parent: AccountId, slug: &str) -> Account {
        accounts::create_sub_account(&self.ports, &tenant.admin_actor, parent, slug, &slug.to_uppercase())
            .await
            .unwrap_or_else(|err| panic!("create sub-account {slug}: {err}"))
    }

    /// Logs a user in with [`PASSWORD`] and returns the authenticated actor.
    pub async fn login(&self, account: &str, username: &str) -> Actor {
        let credentials = sessions::Credentials {
            account: account.to_owned(),
            username: username.to_owned(),
            password: PlainPassword::new(PASSWORD),
        };
        let logged_in = sessions::login(&self.ports, Some("192.0.2.1"), credentials)
            .await
            .unwrap_or_else(|err| panic!("login {account}/{username}: {err}"));
        sessions::authenticate(&self.ports, logged_in.token.expose(), None)
            .await
            .unwrap_or_else(|err| panic!("authenticate {username}: {err}"))
            .actor
    }

    /// Creates an enabled user of the tenant's `user` type with the `user` role.
    pub async fn user(
        &self,
        tenant: &Tenant,
        account: AccountId,
        username: &str,
    ) -> Result<User, users::UserError> {
        users::create_user(&self.ports, &tenant.admin_actor, account, self.new_user(tenant, username)).await
    }

    /// The command [`Harness::user`] sends.
    pub fn new_user(&self, tenant: &Tenant, username: &str) -> users::NewUser {
        users::NewUser {
            username: Some(username.to_owned()),
            email: format!("{}@people.example.com", username.to_lowercase()),
            profile: users::ProfileInput {
                first_name: Some("Ada".into()),
                last_name: Some("Lovelace".into()),
                ..Default::default()
            },
            user_type: tenant.user_type.id,
            roles: BTreeSet::from([tenant.user_role]),
            scope: BTreeSet::new(),
            enabled: true,
            send_welcome: false,
            external_ids: Default::default(),
            external_id: None,
            sales_representative: None,
            receive_system_messages: true,
        }
    }

    /// Creates a user of the `admin` type holding `role` in `account`, and logs it in.
    pub async fn administrator(
        &self,
        tenant: &Tenant,
        account: AccountId,
        username: &str,
        role: RoleId,
    ) -> (User, Actor) {
        let types = catalog::list_user_types(&self.ports, &tenant.admin_actor, tenant.account.id)
            .await
            .unwrap_or_default();
        let admin_type =
            types.into_iter().find(|t| t.key.as_str() == "admin").unwrap_or_else(|| panic!("admin type"));
        let mut command = self.new_user(tenant, username);
        command.user_type = admin_type.id;
        command.roles = BTreeSet::from([role]);
        let user = users::create_user(&self.ports, &tenant.admin_actor, account, command)
            .await
            .unwrap_or_else(|err| panic!("create administrator {username}: {err}"));
        self.give_password(tenant, user.id).await;
        let actor = self.login(tenant.account.slug.as_str(), username).await;
        (user, actor)
    }

    /// Gives a user [`PASSWORD`]: an administrator sets a first one and verifies the email, and
    /// the user logs in and changes it (R16), so it can log in without restriction.
    pub async fn give_password(&self, tenant: &Tenant, user: UserId) {
        const FIRST: &str = "a first password from the administrator";
        users::set_password(&self.ports, &tenant.admin_actor, user, &PlainPassword::new(FIRST))
            .await
            .unwrap_or_else(|err| panic!("set password: {err}"));
        let found = users::mark_email_verified(&self.ports, &tenant.admin_actor, user)
            .await
            .unwrap_or_else(|err| panic!("verify: {err}"));
        let credentials = sessions::Credentials {
            account: tenant.account.slug.to_string(),
            username: found.username.to_string(),
            password: PlainPassword::new(FIRST),
        };
        let logged_in = sessions::login(&self.ports, Some("192.0.2.1"), credentials)
            .await
            .unwrap_or_else(|err| panic!("first login: {err}"));
        let restricted = sessions::authenticate(&self.ports, logged_in.token.expose(), None)
            .await
            .unwrap_or_else(|err| panic!("authenticate: {err}"))
            .actor;
        sessions::change_own_password(
            &self.ports,
            &restricted,
            &PlainPassword::new(FIRST),
            &PlainPassword::new(PASSWORD),
        )
        .await
        .unwrap_or_else(|err| panic!("change password: {err}"));
    }

    /// The user of `root` with `email` (registration answers without one).
    pub async fn user_by_email(&self, root: AccountId, email: &str) -> User {
        let email = usher_domain::value::Email::parse(email).unwrap_or_else(|err| panic!("email: {err}"));
        let mut tx = self.ports.store.begin().await.unwrap_or_else(|err| panic!("begin: {err}"));
        tx.user_by_email(root, &email)
            .await
            .unwrap_or_else(|err| panic!("user by email: {err}"))
            .unwrap_or_else(|| panic!("no user has {email}"))
    }

    /// Audit events and outbox mails of a root, as counts.
    pub async fn counts(&self, root: AccountId) -> (usize, usize) {
        let mut tx = self.ports.store.begin().await.unwrap_or_else(|err| panic!("begin: {err}"));
        let mut n_audit = 0;
        let mut request = PageRequest::first(200);
        loop {
            let page = tx
                .list_audit(&usher_domain::ports::AuditQuery {
                    root,
                    within: BTreeSet::new(),
                    filter: Default::default(),
                    page: request.clone(),
                })
                .await
                .unwrap_or_else(|err| panic!("audit: {err}"));
            n_audit += page.items.len();
            match page.next {
                Some(cursor) => request = PageRequest::after(cursor, 200),
                None => break,
            }
        }
        let mut n_mail = 0;
        let mut request = PageRequest::first(200);
        loop {
            let query = usher_domain::ports::MailQuery {
                root,
                within: BTreeSet::new(),
                state: None,
                page: request.clone(),
            };
            let page = tx.list_mail(&query).await.unwrap_or_else(|err| panic!("mail: {err}"));
            n_mail += page.items.len();
            match page.next {
                Some(cursor) => request = PageRequest::after(cursor, 200),
                None => break,
            }
        }
        (n_audit, n_mail)
    }
}
