//! Accounts and sub-accounts, settings, and the bootstrap of the operator.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::authz::{Actor, ActorKind, Denied, require_operator};
use crate::document::SettingsDocument;
use crate::error::{Invalid, RepoError, field};
use crate::id::{AccountId, RoleId, UserId, UserTypeId};
use crate::model::{
    Account, AccountPath, AccountState, BuiltinRole, Lifetime, Newcomer, Origin, Role, Settings, User,
    UserType, UsernameFormat,
};
use crate::password::{PasswordPolicy, PasswordRejected};
use crate::ports::Tx;
use crate::service::{
    AuditEntry, Ports, common_errors, guard, guard_root_level, load_account, load_settings, objects, record,
};
use crate::value::{
    Access, Email, Key, Module, Name, Permission, PlainPassword, SeatCount, Slug, Username, ValueError,
};

/// Failure of an account or settings use case.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Missing, or in another tenant.
    #[error("{entity} not found")]
    NotFound {
        /// Entity.
        entity: &'static str,
    },
    /// Not allowed.
    #[error(transparent)]
    Denied(Denied),
    /// A field failed to parse.
    #[error(transparent)]
    Invalid(Invalid),
    /// The slug is taken.
    #[error("slug {slug} is already taken")]
    SlugTaken {
        /// The slug.
        slug: String,
    },
    /// The first administrator's password was refused (R15).
    #[error(transparent)]
    Password(PasswordRejected),
    /// A setting names a user type or role of another account.
    #[error("{field} names a {entity} that does not exist in this account")]
    UnknownReference {
        /// The setting.
        field: &'static str,
        /// What it names.
        entity: &'static str,
    },
    /// The operator may not suspend the account it belongs to (it would lock itself out).
    #[error("you cannot suspend the account you belong to")]
    OwnAccount,
    /// Settings are kept on the root account only.
    #[error("settings belong to the root account")]
    NotARoot,
    /// The account changed since the version the caller read (optimistic locking).
    #[error("account was changed since version {expected}; it is at version {actual}")]
    VersionMismatch {
        /// Version given.
        expected: u64,
        /// Current version.
        actual: u64,
    },
    /// The settings changed since the fingerprint the caller expected.
    #[error("the settings were changed since they were read; read them again")]
    SettingsChanged {
        /// The fingerprint they have now.
        current: String,
    },
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(AccountError);

/// What a new root account starts with.
#[derive(Debug, Clone)]
pub struct NewRootAccount {
    /// Slug (globally unique).
    pub slug: String,
    /// Name.
    pub name: String,
    /// Email of the first administrator (the account's creator).
    pub admin_email: String,
    /// Username of the first administrator; the email when omitted.
    pub admin_username: Option<String>,
    /// Password of the first administrator; without one, a welcome mail with a set-password link is sent.
    pub admin_password: Option<PlainPassword>,
    /// Admin seats (at least 1, the creator's).
    pub admin_seats: u32,
    /// Seats of the built-in `user` type.
    pub user_seats: u32,
}

/// A new root account and its first administrator.
#[derive(Debug, Clone)]
pub struct CreatedRoot {
    /// The account.
    pub account: Account,
    /// Its first administrator.
    pub admin: User,
}

/// Ids of the catalog every root account starts with.
struct Catalog {
    admin_role: RoleId,
    admin_type: UserTypeId,
}

/// Creates the built-in roles and user types, seat totals and settings of a new root.
async fn seed_catalog(
    ports: &Ports,
    tx: &mut dyn Tx,
    root: AccountId,
    admin_seats: u32,
    user_seats: u32,
) -> Result<Catalog, AccountError> {
    let now = ports.now();
    let mut role_ids = Vec::new();
    for builtin in [BuiltinRole::Admin, BuiltinRole::User] {
        let role = Role {
            id: ports.new_id(RoleId::from_uuid),
            root,
            name: field("name", Name::parse(builtin.name()))?,
            builtin: Some(builtin),
            permissions: builtin.permissions(),
            external_id: None,
            created_at: now,
            version: 0,
        };
        tx.insert_role(&role).await?;
        role_ids.push(role.id);
    }
    let user_permissions = BuiltinRole::User.permissions();
    let types = [
        ("admin", "Administrator", true, Permission::catalog(), admin_seats),
        ("user", "User", true, user_permissions.clone(), user_seats),
        ("member", "Member", false, user_permissions, 0),
    ];
    let mut type_ids = Vec::new();
    for (key, name, consumes_seat, ceiling, seats) in types {
        let user_type = UserType {
            id: ports.new_id(UserTypeId::from_uuid),
            root,
            key: field("key", Key::parse(key))?,
            name: field("name", Name::parse(name))?,
            consumes_seat,
            ceiling,
            created_at: now,
            version: 1,
        };
        tx.insert_user_type(&user_type).await?;
        if consumes_seat {
            tx.set_seat_total(root, user_type.id, seats).await?;
        }
        type_ids.push(user_type.id);
    }
    let (Some(&admin_role), Some(&user_role), Some(&admin_type), Some(&user_type), Some(&member_type)) =
        (role_ids.first(), role_ids.get(1), type_ids.first(), type_ids.get(1), type_ids.get(2))
    else {
        return Err(AccountError::Repo(RepoError::corrupt("account", "catalog seeding lost an id")));
    };
    tx.put_settings(root, &Settings::initial(member_type, user_type, user_role)).await?;
    Ok(Catalog { admin_role, admin_type })
}

/// Creates a root account with its catalog and first administrator (operator only).
pub async fn create_root_account(
    ports: &Ports,
    actor: &Actor,
    command: NewRootAccount,
) -> Result<CreatedRoot, AccountError> {
    require_operator(actor).map_err(AccountError::Denied)?;
    if command.admin_seats == 0 {
        // The first administrator takes one.
        let error = ValueError::OutOfRange { min: 1, max: i64::from(SeatCount::MAX), actual: 0 };
        return Err(Invalid::new("admin_seats", error).into());
    }
    let slug = field("slug", Slug::parse(&command.slug))?;
    let name = field("name", Name::parse(&command.name))?;
    let email = field("admin_email", Email::parse(&command.admin_email))?;
    let username = match command.admin_username.as_deref() {
        Some(raw) => field("admin_username", Username::parse(raw))?,
        None => field("admin_email", Username::parse(email.as_str()))?,
    };
    let hash = match &command.admin_password {
        Some(password) => {
            PasswordPolicy::standard()
                .check(password, &[username.as_str(), email.as_str()], ports.breached.as_ref())
                .map_err(AccountError::Password)?;
            Some(ports.hasher.hash(password).await.map_err(|e| AccountError::Repo(RepoError::backend(e)))?)
        }
        None => None,
    };
    let mut tx = ports.begin().await?;
    let now = ports.now();
    let id = ports.new_id(AccountId::from_uuid);
    let account = Account {
        id,
        path: AccountPath::root_of(id),
        slug,
        name,
        state: AccountState::Active,
        created_at: now,
        version: 1,
        sales_representative: None,
    };
    insert_account(tx.as_mut(), &account).await?;
    let catalog = seed_catalog(ports, tx.as_mut(), id, command.admin_seats, command.user_seats).await?;
    let admin = User {
        roles: BTreeSet::from([catalog.admin_role]),
        // The operator vouches for the creator's address.
        email_verified_at: Some(now),
        has_password: hash.is_some(),
        ..User::new(
            ports.new_id(UserId::from_uuid),
            Newcomer {
                root: id,
                account: id,
                username,
                email,
                user_type: catalog.admin_type,
                origin: Origin::Admin,
            },
            now,
        )
    };
    tx.insert_user(&admin).await?;
    if let Some(hash) = hash {
        tx.set_password_hash(admin.id, Some(hash)).await?;
    } else {
        let settings = load_settings(tx.as_mut(), admin.root).await?;
        let welcome = crate::service::LinkKind::Welcome;
        crate::service::issue_link(ports, tx.as_mut(), &settings, &admin, welcome).await?;
    }
    let entry = AuditEntry::root_level(
        actor,
        id,
        "account.created",
        "account",
        id.to_string(),
        json!({"slug": account.slug, "name": account.name, "admin": admin.id}),
    )
    .about(objects::account(&account));
    record(ports, tx.as_mut(), entry).await?;
    crate::service::record_user(
        ports,
        tx.as_mut(),
        actor,
        "user.created",
        &admin,
        crate::service::diff(None, Some(&crate::service::user_view(&admin))),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedRoot { account, admin })
}

async fn insert_account(tx: &mut dyn Tx, account: &Account) -> Result<(), AccountError> {
    match tx.insert_account(account).await {
        Err(RepoError::Duplicate { .. }) => Err(AccountError::SlugTaken { slug: account.slug.to_string() }),
        other => Ok(other?),
    }
}

/// Creates the installation's operator (`admin` in root account `default`) on first start.
/// Returns `None` when the operator already exists.
pub async fn bootstrap_operator(
    ports: &Ports,
    password: &PlainPassword,
) -> Result<Option<User>, AccountError> {
    let slug = field("slug", Slug::parse("default"))?;
    // A restart finds the operator: no hash to compute (it costs time and 19 MiB).
    if ports.begin_read().await?.account_by_slug(&slug).await?.is_some() {
        return Ok(None);
    }
    let hash = ports.hasher.hash(password).await.map_err(|e| AccountError::Repo(RepoError::backend(e)))?;
    let mut tx = ports.begin().await?;
    if tx.account_by_slug(&slug).await?.is_some() {
        return Ok(None);
    }
    let now = ports.now();
    let id = ports.new_id(AccountId::from_uuid);
    let account = Account {
        id,
        path: AccountPath::root_of(id),
        slug,
        name: field("name", Name::parse("Default"))?,
        state: AccountState::Active,
        created_at: now,
        version: 1,
        sales_representative: None,
    };
    match insert_account(tx.as_mut(), &account).await {
        // Another instance bootstrapped between our check and our insert.
        Err(AccountError::SlugTaken { .. }) => return Ok(None),
        other => other?,
    }
    let catalog = seed_catalog(ports, tx.as_mut(), id, 1, 0).await?;
    let operator = User {
        roles: BTreeSet::from([catalog.admin_role]),
        email_verified_at: Some(now),
        has_password: true,
        is_operator: true,
        ..User::new(
            ports.new_id(UserId::from_uuid),
            Newcomer {
                root: id,
                account: id,
                username: field("username", Username::parse("admin"))?,
                email: field("email", Email::parse("admin@localhost.localdomain"))?,
                user_type: catalog.admin_type,
                origin: Origin::Admin,
            },
            now,
        )
    };
    tx.insert_user(&operator).await?;
    tx.set_password_hash(operator.id, Some(hash)).await?;
    let system = Actor::new(ActorKind::System);
    let entry = AuditEntry {
        root: id,
        account: id,
        action: "operator.bootstrapped",
        target_kind: "user",
        target_id: operator.id.to_string(),
        diff: json!({"username": operator.username}),
        actor: &system,
        object: Value::Null,
    };
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok(Some(operator))
}

/// Creates a sub-account under `parent` (R19: within the actor's reach).
pub async fn create_sub_account(
    ports: &Ports,
    actor: &Actor,
    parent: AccountId,
    slug: &str,
    name: &str,
) -> Result<Account, AccountError> {
    let slug = field("slug", Slug::parse(slug))?;
    let name = field("name", Name::parse(name))?;
    let mut tx = ports.begin().await?;
    let parent = load_account(tx.as_mut(), parent).await?;
    guard(actor, Permission::new(Module::Accounts, Access::Write), &parent, "account")?;
    let id = ports.new_id(AccountId::from_uuid);
    let account = Account {
        id,
        path: parent.path.child(id),
        slug,
        name,
        state: AccountState::Active,
        created_at: ports.now(),
        version: 1,
        sales_representative: None,
    };
    insert_account(tx.as_mut(), &account).await?;
    let entry = AuditEntry {
        root: account.root(),
        account: id,
        action: "account.created",
        target_kind: "account",
        target_id: id.to_string(),
        diff: json!({"slug": account.slug, "name": account.name, "parent": parent.id}),
        actor,
        object: objects::account(&account),
    };
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok(account)
}

/// An account, if the actor reaches it.
pub async fn get_account(ports: &Ports, actor: &Actor, id: AccountId) -> Result<Account, AccountError> {
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), id).await?;
    guard(actor, Permission::new(Module::Accounts, Access::Read), &account, "account")?;
    Ok(account)
}

/// The direct sub-accounts of an account.
pub async fn list_sub_accounts(
    ports: &Ports,
    actor: &Actor,
    id: AccountId,
) -> Result<Vec<Account>, AccountError> {
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), id).await?;
    guard(actor, Permission::new(Module::Accounts, Access::Read), &account, "account")?;
    Ok(tx.sub_accounts(id).await?)
}

/// How many accounts [`account_tree`] reads at most.
pub const MAX_TREE: u64 = 1000;

/// An account and every account below it (the first [`MAX_TREE`]), each after its parent, in
/// one read: the tree an administrator sees from their account.
pub async fn account_tree(
    ports: &Ports,
    actor: &Actor,
    top: AccountId,
) -> Result<Vec<Account>, AccountError> {
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), top).await?;
    guard(actor, Permission::new(Module::Accounts, Access::Read), &account, "account")?;
    Ok(tx.subtree(&account.path, MAX_TREE).await?)
}

/// Changes to an account.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    /// New name.
    pub name: Option<String>,
    /// Suspend or reactivate (operator only).
    pub state: Option<AccountState>,
    /// Set (`Some(Some(id))`, a user of the tenant) or clear (`Some(None)`) the sales
    /// representative its users and the accounts below it default to.
    pub sales_representative: Option<Option<UserId>>,
    /// Refuse the change unless the account is still at this version.
    pub if_version: Option<u64>,
}

/// Renames, suspends or reactivates an account.
pub async fn update_account(
    ports: &Ports,
    actor: &Actor,
    id: AccountId,
    patch: AccountPatch,
) -> Result<Account, AccountError> {
    let mut tx = ports.begin().await?;
    let mut account = load_account(tx.as_mut(), id).await?;
    guard(actor, Permission::new(Module::Accounts, Access::Write), &account, "account")?;
    // Checked once the caller may write here, so a refusal says nothing about the input.
    let name = crate::service::optional("name", patch.name.as_deref(), Name::parse)?;
    if let Some(expected) = patch.if_version.filter(|v| *v != account.version) {
        return Err(AccountError::VersionMismatch { expected, actual: account.version });
    }
    let before = json!({"name": account.name, "state": account.state, "sales_representative": account.sales_representative});
    if let Some(name) = name {
        account.name = name;
    }
    if let Some(representative) = patch.sales_representative {
        if let Some(id) = representative {
            match tx.user(id).await? {
                Some(found) if found.root == account.root() && found.erased_at.is_none() => {}
                _ => return Err(AccountError::NotFound { entity: "sales representative" }),
            }
        }
        account.sales_representative = representative;
    }
    if let Some(state) = patch.state {
        require_operator(actor).map_err(AccountError::Denied)?;
        if let (AccountState::Suspended, ActorKind::Operator { user }) = (state, &actor.kind) {
            let home = tx.user(*user).await?.map(|operator| operator.account);
            if let Some(home) = home {
                let home = load_account(tx.as_mut(), home).await?;
                if home.path.is_within(account.id) {
                    return Err(AccountError::OwnAccount);
                }
            }
        }
        account.state = state;
    }
    match tx.update_account(&account).await {
        Err(RepoError::Stale { .. }) => {
            return Err(AccountError::VersionMismatch {
                expected: account.version,
                actual: account.version + 1,
            });
        }
        other => other?,
    }
    account.version += 1;
    let after = json!({"name": account.name, "state": account.state, "sales_representative": account.sales_representative});
    let entry = AuditEntry {
        root: account.root(),
        account: id,
        action: "account.updated",
        target_kind: "account",
        target_id: id.to_string(),
        diff: crate::service::diff(Some(&before), Some(&after)),
        actor,
        object: objects::account(&account),
    };
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok(account)
}

/// The settings of the root of `account`.
pub async fn get_settings(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
) -> Result<Settings, AccountError> {
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Settings, Access::Read), &account, "account")?;
    Ok(load_settings(tx.as_mut(), account.root()).await?)
}

/// Changes to settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsPatch {
    /// Self-registration on/off.
    pub self_registration: Option<bool>,
    /// Member user type.
    pub member_user_type: Option<UserTypeId>,
    /// Email verification required.
    pub email_verification_required: Option<bool>,
    /// Usernames must be emails.
    pub usernames_must_be_emails: Option<bool>,
    /// Username format.
    pub username_format: Option<String>,
    /// Default user type.
    pub default_user_type: Option<UserTypeId>,
    /// Default roles.
    pub default_roles: Option<BTreeSet<RoleId>>,
    /// Default clerk id (empty text clears it).
    pub default_clerk_id: Option<String>,
    /// Invitation lifetime in seconds.
    pub invitation_lifetime_seconds: Option<i64>,
    /// Link lifetime in seconds.
    pub link_lifetime_seconds: Option<i64>,
    /// Session lifetime in seconds.
    pub session_lifetime_seconds: Option<i64>,
    /// Console idle timeout in seconds.
    pub console_idle_timeout_seconds: Option<i64>,
    /// Minimum password length.
    pub password_min_length: Option<u16>,
    /// Maximum password length.
    pub password_max_length: Option<u16>,
    /// Let the root's administrators set its seat totals (operator only, R23).
    pub manages_own_seats: Option<bool>,
    /// Link just-in-time identities to users by verified email.
    pub link_identities_by_verified_email: Option<bool>,
    /// Refuse the change unless the settings still have this [`Settings::fingerprint`]
    /// (checked under the settings' lock, so two writers with one fingerprint cannot both win).
    pub if_fingerprint: Option<String>,
}

/// Changes the settings of a root account.
pub async fn update_settings(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    patch: SettingsPatch,
) -> Result<Settings, AccountError> {
    let mut tx = ports.begin().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard_root_level(actor, Permission::new(Module::Settings, Access::Write), account.root(), "account")?;
    if patch.manages_own_seats.is_some() && !actor.is_operator() {
        return Err(AccountError::Denied(Denied::OperatorOnly));
    }
    if !account.is_root() {
        return Err(AccountError::NotARoot);
    }
    let root = account.id;
    let before = tx
        .settings_for_update(root)
        .await?
        .ok_or_else(|| RepoError::corrupt("settings", "root account has no settings"))?;
    if let Some(expected) = &patch.if_fingerprint {
        let current = before.fingerprint();
        if *expected != current {
            return Err(AccountError::SettingsChanged { current });
        }
    }
    let mut settings = before.clone();
    let lifetime = |name: &str, seconds: Option<i64>, current: Lifetime| -> Result<Lifetime, Invalid> {
        seconds.map_or(Ok(current), |s| field(name, Lifetime::from_seconds(s)))
    };
    settings.invitation_lifetime = lifetime(
        "invitation_lifetime_seconds",
        patch.invitation_lifetime_seconds,
        settings.invitation_lifetime,
    )?;
    settings.link_lifetime =
        lifetime("link_lifetime_seconds", patch.link_lifetime_seconds, settings.link_lifetime)?;
    settings.session_lifetime =
        lifetime("session_lifetime_seconds", patch.session_lifetime_seconds, settings.session_lifetime)?;
    settings.console_idle_timeout = lifetime(
        "console_idle_timeout_seconds",
        patch.console_idle_timeout_seconds,
        settings.console_idle_timeout,
    )?;
    if patch.password_min_length.is_some() || patch.password_max_length.is_some() {
        let min = patch.password_min_length.unwrap_or(settings.password_policy.min_length());
        let max = patch.password_max_length.unwrap_or(settings.password_policy.max_length());
        settings.password_policy = field("password_min_length", PasswordPolicy::new(min, max))?;
    }
    if let Some(format) = &patch.username_format {
        settings.username_format = field("username_format", UsernameFormat::parse(format))?;
    }
    if let Some(clerk) = patch.default_clerk_id {
        let clerk = clerk.trim().to_owned();
        if clerk.chars().count() > 100 {
            let error = ValueError::TooLong { max: 100, actual: clerk.chars().count() };
            return Err(Invalid::new("default_clerk_id", error).into());
        }
        settings.default_clerk_id = (!clerk.is_empty()).then_some(clerk);
    }
    settings.self_registration = patch.self_registration.unwrap_or(settings.self_registration);
    settings.manages_own_seats = patch.manages_own_seats.unwrap_or(settings.manages_own_seats);
    settings.link_identities_by_verified_email =
        patch.link_identities_by_verified_email.unwrap_or(settings.link_identities_by_verified_email);
    settings.email_verification_required =
        patch.email_verification_required.unwrap_or(settings.email_verification_required);
    settings.usernames_must_be_emails =
        patch.usernames_must_be_emails.unwrap_or(settings.usernames_must_be_emails);
    for (name, user_type) in
        [("member_user_type", patch.member_user_type), ("default_user_type", patch.default_user_type)]
    {
        if let Some(id) = user_type {
            match tx.user_type(id).await? {
                Some(found) if found.root == root => {}
                _ => return Err(AccountError::UnknownReference { field: name, entity: "user type" }),
            }
        }
    }
    settings.member_user_type = patch.member_user_type.or(settings.member_user_type);
    settings.default_user_type = patch.default_user_type.or(settings.default_user_type);
    if let Some(roles) = patch.default_roles {
        for id in &roles {
            match tx.role(*id).await? {
                Some(role) if role.root == root => {}
                _ => return Err(AccountError::UnknownReference { field: "default_roles", entity: "role" }),
            }
        }
        settings.default_roles = roles;
    }
    tx.put_settings(root, &settings).await?;
    let to_json = |s: &Settings| serde_json::to_value(SettingsDocument::from(s)).unwrap_or_default();
    let entry = AuditEntry::root_level(
        actor,
        root,
        "settings.updated",
        "settings",
        root.to_string(),
        crate::service::diff(Some(&to_json(&before)), Some(&to_json(&settings))),
    )
    .about(to_json(&settings));
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok(settings)
}

/// Resolves an account slug for public flows (login, registration, reset).
pub(crate) async fn account_by_slug(tx: &mut dyn Tx, slug: &str) -> Result<Option<Account>, RepoError> {
    match Slug::parse(slug) {
        Ok(slug) => tx.account_by_slug(&slug).await,
        Err(_) => Ok(None),
    }
}

/// The operator, for commands run on the database itself (`usher export`): the active
/// operator user of the `default` account, with the source `cli`, so that what it does is
/// audited as the operator's. `NotFound { entity: "operator" }` before the first `usher serve`.
pub async fn operator_on_the_command_line(ports: &Ports) -> Result<Actor, AccountError> {
    let missing = AccountError::NotFound { entity: "operator" };
    let mut tx = ports.begin_read().await?;
    let Some(account) = account_by_slug(tx.as_mut(), "default").await? else {
        return Err(missing);
    };
    let query = crate::ports::UserQuery {
        root: account.id,
        within: BTreeSet::from([account.id]),
        state: Some(crate::model::UserState::Active),
        prefix: None,
        user_type: None,
        role: None,
        page: crate::ports::PageRequest::first(100),
    };
    let operator =
        tx.list_users(&query).await?.items.into_iter().find(|user| user.is_operator).ok_or(missing)?;
    Ok(Actor::from_source(ActorKind::Operator { user: operator.id }, Some("cli")))
}

/// The account with a slug, for an actor that may read it (another tenant's reads as not found).
pub async fn get_account_by_slug(ports: &Ports, actor: &Actor, slug: &str) -> Result<Account, AccountError> {
    let mut tx = ports.begin_read().await?;
    let account =
        account_by_slug(tx.as_mut(), slug).await?.ok_or(AccountError::NotFound { entity: "account" })?;
    guard(actor, Permission::new(Module::Accounts, Access::Read), &account, "account")?;
    Ok(account)
}
