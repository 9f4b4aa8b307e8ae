//! Provisioning by an identity provider (SCIM 2.0, RFC 7644) in the domain's terms: find,
//! create, replace and remove the users of the caller's tenant. Every call needs the `scim`
//! permission on the caller's home account; each change also needs what the same change
//! needs through `/v1` (`users:write`, R1, R3, R4, R5, R24), and a user made here has origin
//! `scim`. The SCIM syntax (filters, PATCH, resources) is the HTTP adapter's; it turns a
//! PATCH into the whole user it asks for and replaces the user at the version it read.

use std::collections::{BTreeMap, BTreeSet};

use crate::authz::{Actor, ActorKind, Denied};
use crate::error::{Invalid, RepoError};
use crate::id::{AccountId, RoleId, UserId};
use crate::model::{Account, Origin, Role, SearchOrder, SearchPage, User, UserMatch, UserState, UserType};
use crate::ports::{PageRequest, Tx, UserSearch};
use crate::service::catalog::{RoleError, RolePatch, create_role_in, load_role, update_role_in};
use crate::service::users::user_query;
use crate::service::users::{NewUser, ProfileInput, UserError, UserPatch, create_in, update_in};
use crate::service::users::{delete_in, disable_in, enable_in, erase_in};
use crate::service::{
    Ports, guard, guard_root_level, load_account, load_settings, load_user, visible_subtrees,
};
use crate::value::{Access, Module, Permission, ValueError};

/// The most users one search returns (SCIM's `count`).
pub const MAX_PAGE: u32 = 1000;

/// The origin a provisioning client's changes carry in their events (R26).
pub const ORIGIN: &str = "scim";

/// A user as a provisioning client describes it whole (a SCIM `User` resource).
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    /// Username (R5).
    pub username: String,
    /// The client's id for the user.
    pub external_id: Option<String>,
    /// Email (the primary one).
    pub email: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// Enabled (R1, R3) or disabled (R8).
    pub active: bool,
    /// User type by key or name: the settings' default type on create when absent, and
    /// unchanged on replace when absent.
    pub user_type: Option<String>,
    /// The slug of the (sub-)account the user belongs to, within the caller's: the caller's
    /// own on create when absent. A user stays where it was made, so a replace may only
    /// repeat it.
    pub account: Option<String>,
    /// The enterprise extension's attributes (`employee_number`, `department`, …), kept
    /// among the user's free attributes; those of [`ENTERPRISE_KEYS`] it lacks are removed.
    pub enterprise: BTreeMap<String, String>,
}

/// The free attributes that hold SCIM's enterprise extension.
pub const ENTERPRISE_KEYS: [&str; 5] =
    ["employee_number", "cost_center", "organization", "division", "department"];

/// The most accounts a directory lists (the caller's and those below it).
pub const MAX_ACCOUNTS: u64 = 1_000;

/// What a provisioning client sees users by: the tenant's user types (by key), roles (as
/// groups) and the accounts it provisions into (by slug).
#[derive(Debug, Clone)]
pub struct Directory {
    /// The tenant's user types.
    pub types: Vec<UserType>,
    /// The tenant's roles.
    pub roles: Vec<Role>,
    /// The user type that members register as, which a client may not give (R12).
    pub member_type: Option<crate::id::UserTypeId>,
    /// The caller's home account and the accounts below it that it may write users in,
    /// parents first, at most [`MAX_ACCOUNTS`].
    pub accounts: Vec<Account>,
}

/// The directory the caller provisions into.
pub async fn catalog(ports: &Ports, actor: &Actor) -> Result<Directory, UserError> {
    let mut tx = ports.begin_read().await?;
    let home = directory(tx.as_mut(), actor, Access::Read).await?;
    Ok(read_directory(tx.as_mut(), actor, &home).await?)
}

async fn read_directory(tx: &mut dyn Tx, actor: &Actor, home: &Account) -> Result<Directory, RepoError> {
    let root = home.root();
    let settings = load_settings(tx, root).await?;
    let writes_users = |account: &Account| {
        guard(actor, Permission::new(Module::Users, Access::Write), account, "account").is_ok()
    };
    let accounts = tx.subtree(&home.path, MAX_ACCOUNTS).await?.into_iter().filter(writes_users).collect();
    Ok(Directory {
        types: tx.user_types(root).await?,
        roles: tx.roles(root).await?,
        member_type: settings.member_user_type,
        accounts,
    })
}

/// The account a slug names within `home`'s subtree, or `invalid` naming the field.
async fn account_within(tx: &mut dyn Tx, home: &Account, slug: &str) -> Result<Account, UserError> {
    let found = crate::service::accounts::account_by_slug(tx, slug.trim()).await?;
    found.filter(|account| account.path.is_within(home.id)).ok_or_else(|| {
        let reason = "names no account the caller provisions into";
        UserError::Invalid(Invalid::new("account", ValueError::Malformed { reason }))
    })
}

/// The caller's home account, where its directory starts, with the `scim` permission there.
async fn directory(tx: &mut dyn Tx, actor: &Actor, access: Access) -> Result<Account, UserError> {
    let permission = Permission::new(Module::Scim, access);
    let ActorKind::Principal(principal) = &actor.kind else {
        return Err(UserError::Denied(Denied::MissingPermission { permission }));
    };
    let account = load_account(tx, principal.home.id()).await?;
    guard(actor, permission, &account, "account")?;
    Ok(account)
}

/// The actor as its provisioning changes are recorded: the events they leave carry origin
/// `scim` (R26), whatever the key is named.
fn provisioner(actor: &Actor) -> Actor {
    Actor { origin: Some(ORIGIN.to_owned()), ..actor.clone() }
}

/// The users of the caller's directory that `filter` takes, never an erased one.
pub async fn search_users(
    ports: &Ports,
    actor: &Actor,
    filter: UserMatch,
    order: SearchOrder,
    offset: u64,
    limit: u32,
) -> Result<SearchPage, UserError> {
    Ok(lookup(ports, actor, filter, order, offset, limit).await?.0)
}

/// [`search_users`] with the directory its users are shown by ([`catalog`]), read in the
/// same transaction: what a SCIM list answers with.
pub async fn lookup(
    ports: &Ports,
    actor: &Actor,
    filter: UserMatch,
    order: SearchOrder,
    offset: u64,
    limit: u32,
) -> Result<(SearchPage, Directory), UserError> {
    let mut tx = ports.begin_read().await?;
    let account = directory(tx.as_mut(), actor, Access::Read).await?;
    guard(actor, Permission::new(Module::Users, Access::Read), &account, "account")?;
    let search = UserSearch {
        root: account.root(),
        within: visible_subtrees(actor, &account),
        filter,
        order,
        offset,
        limit: limit.min(MAX_PAGE),
    };
    let page = tx.search_users(&search).await?;
    let directory = read_directory(tx.as_mut(), actor, &account).await?;
    Ok((page, directory))
}

/// A user of the caller's directory; an erased user is gone.
pub async fn get_user(ports: &Ports, actor: &Actor, id: UserId) -> Result<User, UserError> {
    let mut tx = ports.begin_read().await?;
    directory(tx.as_mut(), actor, Access::Read).await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Read).await?;
    live(user)
}

fn live(user: User) -> Result<User, UserError> {
    if user.erased_at.is_some() { Err(UserError::NotFound { entity: "user" }) } else { Ok(user) }
}

/// Creates a user as the client describes it (origin `scim`). Without a user type it gets
/// the settings' default type and roles, as a just-in-time user does.
pub async fn create_user(ports: &Ports, actor: &Actor, resource: Provisioned) -> Result<User, UserError> {
    let actor = provisioner(actor);
    let mut tx = ports.begin().await?;
    // A user is made in the account the resource names within the key's, else in the key's
    // own: a key made in a sub-account provisions there.
    let home = directory(tx.as_mut(), &actor, Access::Write).await?;
    let account = match &resource.account {
        Some(slug) => account_within(tx.as_mut(), &home, slug).await?.id,
        None => home.id,
    };
    let settings = load_settings(tx.as_mut(), home.root()).await?;
    let user_type = match &resource.user_type {
        Some(named) => type_named(tx.as_mut(), home.root(), named).await?.id,
        None => settings.default_user_type.ok_or(UserError::NotFound { entity: "default user type" })?,
    };
    let command = NewUser {
        username: Some(resource.username.clone()),
        email: resource.email.clone(),
        profile: profile_of(&resource, &BTreeMap::new()),
        user_type,
        roles: if resource.active { settings.default_roles.clone() } else { BTreeSet::new() },
        scope: BTreeSet::new(),
        enabled: resource.active,
        send_welcome: false,
        external_ids: Default::default(),
        external_id: resource.external_id.clone(),
        sales_representative: None,
        receive_system_messages: true,
    };
    let user = create_in(ports, tx.as_mut(), &actor, account, command, Origin::Scim).await?;
    tx.commit().await?;
    Ok(user)
}

/// Makes a user what the client describes, in one transaction; `if_version` refuses a change
/// made since the client read the user (SCIM's `If-Match`, and every PATCH).
pub async fn replace_user(
    ports: &Ports,
    actor: &Actor,
    id: UserId,
    resource: Provisioned,
    if_version: Option<u64>,
) -> Result<User, UserError> {
    let actor = provisioner(actor);
    let mut tx = ports.begin().await?;
    let home = directory(tx.as_mut(), &actor, Access::Write).await?;
    let (user, account) = load_user(tx.as_mut(), &actor, id, Access::Write).await?;
    let user = live(user)?;
    if let Some(expected) = if_version.filter(|v| *v != user.version) {
        return Err(UserError::VersionMismatch { expected, actual: user.version });
    }
    if let Some(slug) = &resource.account
        && account_within(tx.as_mut(), &home, slug).await?.id != user.account
    {
        let reason = "cannot change: a user stays in the account it was made in";
        return Err(UserError::Invalid(Invalid::new("account", ValueError::Malformed { reason })));
    }
    let user_type = match &resource.user_type {
        Some(named) => {
            Some(type_named(tx.as_mut(), user.root, named).await?.id).filter(|t| *t != user.user_type)
        }
        None => None,
    };
    let mut user = user;
    if !resource.active {
        user = disable_in(ports, tx.as_mut(), &actor, user).await?;
    }
    let patch = UserPatch {
        username: Some(resource.username.clone()),
        email: Some(resource.email.clone()),
        profile: profile_of(&resource, &user.profile.attributes),
        user_type,
        external_id: Some(resource.external_id.clone()),
        ..UserPatch::default()
    };
    if user_type.is_some() || changes_anything(&user, &resource) {
        user = update_in(ports, tx.as_mut(), &actor, user, &account, patch).await?;
    }
    if resource.active && user.state == UserState::Disabled {
        if user.roles.is_empty() {
            // R3: a user enabled by its identity provider without a group gets the defaults.
            let settings = load_settings(tx.as_mut(), user.root).await?;
            let patch = UserPatch { roles: Some(settings.default_roles), ..UserPatch::default() };
            user = update_in(ports, tx.as_mut(), &actor, user, &account, patch).await?;
        }
        user = enable_in(ports, tx.as_mut(), &actor, user, &account).await?;
    }
    tx.commit().await?;
    Ok(user)
}

/// Whether the resource differs from the user in what a patch writes (an unchanged PUT
/// leaves no audit event and no new version).
fn changes_anything(user: &User, resource: &Provisioned) -> bool {
    let text = |value: Option<&str>| value.filter(|v| !v.trim().is_empty()).map(str::trim).map(str::to_owned);
    let name = |value: &Option<crate::value::Name>| value.as_ref().map(|n| n.as_str().to_owned());
    user.username.as_str() != resource.username.trim()
        || !user.email.as_str().eq_ignore_ascii_case(resource.email.trim())
        || name(&user.profile.first_name) != text(resource.first_name.as_deref())
        || name(&user.profile.last_name) != text(resource.last_name.as_deref())
        || name(&user.profile.phone) != text(resource.phone.as_deref())
        || user.profile.locale.as_ref().map(|l| l.as_str().to_owned()) != text(resource.locale.as_deref())
        || user.external_id.as_ref().map(|e| e.as_str())
            != resource.external_id.as_deref().filter(|e| !e.is_empty())
        || ENTERPRISE_KEYS.iter().any(|key| {
            let held =
                user.profile.attributes.iter().find(|(k, _)| k.as_str() == *key).map(|(_, v)| v.as_str());
            held != resource.enterprise.get(*key).map(String::as_str).filter(|v| !v.trim().is_empty())
        })
}

/// Removes a user for its identity provider: deleted when it has no history, else erased
/// (R8), so it is gone from the directory either way.
pub async fn remove_user(ports: &Ports, actor: &Actor, id: UserId) -> Result<(), UserError> {
    let actor = provisioner(actor);
    let mut tx = ports.begin().await?;
    directory(tx.as_mut(), &actor, Access::Write).await?;
    let (user, _) = load_user(tx.as_mut(), &actor, id, Access::Write).await?;
    let user = live(user)?;
    if tx.has_acted(user.id).await? {
        erase_in(ports, tx.as_mut(), &actor, user).await?;
    } else {
        delete_in(ports, tx.as_mut(), &actor, user).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every field of the resource, empty ones clearing what the user had; the enterprise
/// attributes replace those of `attributes` (the user's), and the rest stay.
fn profile_of(resource: &Provisioned, attributes: &BTreeMap<crate::value::Key, String>) -> ProfileInput {
    let given = |value: &Option<String>| Some(value.clone().unwrap_or_default());
    let mut kept: BTreeMap<String, String> = attributes
        .iter()
        .filter(|(key, _)| !ENTERPRISE_KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key.as_str().to_owned(), value.clone()))
        .collect();
    kept.extend(
        resource.enterprise.iter().filter(|(_, v)| !v.trim().is_empty()).map(|(k, v)| (k.clone(), v.clone())),
    );
    ProfileInput {
        first_name: given(&resource.first_name),
        last_name: given(&resource.last_name),
        phone: given(&resource.phone),
        locale: given(&resource.locale),
        attributes: Some(kept),
        ..ProfileInput::default()
    }
}

/// A user type of the tenant by key or name (ignoring case).
async fn type_named(tx: &mut dyn Tx, root: AccountId, named: &str) -> Result<UserType, UserError> {
    let wanted = named.trim().to_lowercase();
    tx.user_types(root)
        .await?
        .into_iter()
        .find(|t| t.key.as_str() == wanted || t.name.as_str().to_lowercase() == wanted)
        .ok_or(UserError::NotFound { entity: "user type" })
}

/// Failure of a group (role) use case: the role's own rules, or a member's (R3, R4, R24).
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// The role refused.
    #[error(transparent)]
    Role(#[from] RoleError),
    /// A member refused.
    #[error(transparent)]
    User(#[from] UserError),
}

impl From<RepoError> for GroupError {
    fn from(err: RepoError) -> Self {
        GroupError::User(UserError::Repo(err))
    }
}

/// The tenant's roles, each a SCIM group.
pub async fn groups(ports: &Ports, actor: &Actor) -> Result<Vec<Role>, GroupError> {
    let mut tx = ports.begin_read().await?;
    let home = directory(tx.as_mut(), actor, Access::Read).await?;
    guard_root_level(actor, Permission::new(Module::Roles, Access::Read), home.root(), "account")
        .map_err(UserError::from)?;
    Ok(tx.roles(home.root()).await?)
}

/// A role as a group, with the members the caller sees (users of its directory holding it).
pub async fn group(
    ports: &Ports,
    actor: &Actor,
    id: RoleId,
    members: bool,
) -> Result<(Role, Vec<User>), GroupError> {
    let mut tx = ports.begin_read().await?;
    let home = directory(tx.as_mut(), actor, Access::Read).await?;
    let role = load_role(tx.as_mut(), actor, id, Access::Read).await?;
    let holders = if members { holders(tx.as_mut(), actor, &home, id).await? } else { Vec::new() };
    Ok((role, holders))
}

/// The users of the caller's directory holding `role`, every page read.
async fn holders(
    tx: &mut dyn Tx,
    actor: &Actor,
    home: &Account,
    role: RoleId,
) -> Result<Vec<User>, RepoError> {
    let filter = crate::service::users::UserFilter { role: Some(role), ..Default::default() };
    let mut page = PageRequest::first(500);
    let mut found = Vec::new();
    loop {
        let batch = tx.list_users(&user_query(actor, home, &filter, page)).await?;
        found.extend(batch.items.into_iter().filter(|u| u.erased_at.is_none()));
        match batch.next {
            Some(cursor) => page = PageRequest::after(cursor, 500),
            None => return Ok(found),
        }
    }
}

/// What a client changes of a group: its name and who holds it.
#[derive(Debug, Clone, Default)]
pub struct GroupChange {
    /// A new name.
    pub name: Option<String>,
    /// The client's id for the group (`Some(None)` clears it).
    pub external_id: Option<Option<String>>,
    /// Users who get the role.
    pub add: BTreeSet<UserId>,
    /// Users who lose it.
    pub remove: BTreeSet<UserId>,
    /// Exactly these users hold it (of those the caller sees); applied before `add` and
    /// `remove`.
    pub members: Option<BTreeSet<UserId>>,
    /// The version the client read (`If-Match`).
    pub if_version: Option<u64>,
    /// Whether the answer lists who holds the group afterwards (every holder read); without
    /// it, adding and removing members reads only the users named.
    pub answer_members: bool,
}

/// Creates a role without permissions as a group, with its first members, in one
/// transaction; an administrator gives it permissions in usher.
pub async fn create_group(
    ports: &Ports,
    actor: &Actor,
    name: &str,
    external_id: Option<String>,
    members: BTreeSet<UserId>,
) -> Result<(Role, Vec<User>), GroupError> {
    let actor = provisioner(actor);
    let mut tx = ports.begin().await?;
    let home = directory(tx.as_mut(), &actor, Access::Write).await?;
    let mut role = create_role_in(ports, tx.as_mut(), &actor, home.root(), name, BTreeSet::new()).await?;
    if external_id.as_deref().is_some_and(|id| !id.is_empty()) {
        let patch = RolePatch { external_id: Some(external_id), ..RolePatch::default() };
        role = update_role_in(ports, tx.as_mut(), &actor, role, patch).await?;
    }
    let change = GroupChange { add: members, answer_members: true, ..GroupChange::default() };
    let members = change_members(ports, tx.as_mut(), &actor, &home, role.id, change).await?;
    tx.commit().await?;
    Ok((role, members))
}

/// Renames a group and changes who holds it, in one transaction.
pub async fn change_group(
    ports: &Ports,
    actor: &Actor,
    id: RoleId,
    change: GroupChange,
) -> Result<(Role, Vec<User>), GroupError> {
    let actor = provisioner(actor);
    let mut tx = ports.begin().await?;
    let home = directory(tx.as_mut(), &actor, Access::Write).await?;
    let mut role = load_role(tx.as_mut(), &actor, id, Access::Write).await?;
    if let Some(expected) = change.if_version.filter(|v| *v != role.version) {
        return Err(RoleError::VersionMismatch { expected, actual: role.version }.into());
    }
    let name = change.name.clone().filter(|name| name.trim() != role.name.as_str());
    let held = role.external_id.as_ref().map(|id| id.as_str().to_owned());
    let external_id =
        change.external_id.clone().filter(|id| id.as_deref().filter(|i| !i.is_empty()) != held.as_deref());
    if name.is_some() || external_id.is_some() {
        let patch = RolePatch { name, external_id, ..RolePatch::default() };
        role = update_role_in(ports, tx.as_mut(), &actor, role, patch).await?;
    }
    let members = change_members(ports, tx.as_mut(), &actor, &home, id, change).await?;
    tx.commit().await?;
    Ok((role, members))
}

/// Gives and takes the role as `change` says (each user changed as `/v1` would: R3, R4,
/// R24), and answers who holds it now when `change` asks. Only a full member list (a PUT, a
/// replace) reads every holder first; adding and removing read the users named.
async fn change_members(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    home: &Account,
    role: RoleId,
    change: GroupChange,
) -> Result<Vec<User>, GroupError> {
    let (give, take): (BTreeSet<UserId>, BTreeSet<UserId>) = match change.members {
        Some(mut wanted) => {
            let current: BTreeSet<UserId> =
                holders(tx, actor, home, role).await?.iter().map(|u| u.id).collect();
            wanted.extend(change.add);
            wanted.retain(|id| !change.remove.contains(id));
            (wanted.difference(&current).copied().collect(), current.difference(&wanted).copied().collect())
        }
        None => {
            let give: BTreeSet<UserId> = change.add.difference(&change.remove).copied().collect();
            (give, change.remove)
        }
    };
    for id in give.iter().chain(&take) {
        let giving = give.contains(id);
        let (user, account) = match load_user(tx, actor, *id, Access::Write).await {
            Ok(found) => found,
            // Taking the role from someone the caller does not see (or who is gone) changes
            // nothing, as a member list without them would not.
            Err(UserError::NotFound { .. } | UserError::Denied(_)) if !giving => continue,
            Err(err) => return Err(err.into()),
        };
        if user.roles.contains(&role) == giving {
            continue;
        }
        let user = live(user)?;
        let mut roles = user.roles.clone();
        if giving {
            roles.insert(role);
        } else {
            roles.remove(&role);
        }
        let patch = UserPatch { roles: Some(roles), ..UserPatch::default() };
        update_in(ports, tx, actor, user, &account, patch).await?;
    }
    if change.answer_members { Ok(holders(tx, actor, home, role).await?) } else { Ok(Vec::new()) }
}

/// Deletes a group: the role, once nobody holds it (R22).
pub async fn delete_group(ports: &Ports, actor: &Actor, id: RoleId) -> Result<(), GroupError> {
    let actor = provisioner(actor);
    {
        let mut tx = ports.begin_read().await?;
        directory(tx.as_mut(), &actor, Access::Write).await?;
    }
    Ok(crate::service::catalog::delete_role(ports, &actor, id, None).await?)
}
