//! Contacts (persons and organizations) and users created from them (R17).

use serde_json::json;

use crate::authz::Actor;
use crate::error::{Invalid, RepoError};
use crate::id::{AccountId, ContactId, UserId};
use crate::model::{Contact, ContactKind, Newcomer, Origin, Profile, User, UserState};
use crate::ports::{ContactQuery, Page, PageRequest};
use crate::service::users::UserError;
use crate::service::{
    AuditEntry, Draft, Gate, LinkKind, Ports, check_draft, choose_username, guard, issue_link, load_account,
    load_settings, load_user_type, objects, optional, record, record_new_user, reject_member_type,
};
use crate::value::{Access, Email, Module, Name, Permission};

/// A new contact.
#[derive(Debug, Clone)]
pub struct NewContact {
    /// Person or organization.
    pub kind: ContactKind,
    /// First name.
    pub first_name: Option<String>,
    /// Last name, or the organization's name.
    pub last_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// The audit entry of a change to `contact` (its object as it is after the change).
pub(crate) fn contact_entry<'a>(
    actor: &'a Actor,
    action: &'static str,
    contact: &Contact,
    diff: serde_json::Value,
) -> AuditEntry<'a> {
    AuditEntry {
        root: contact.root,
        account: contact.account,
        action,
        target_kind: "contact",
        target_id: contact.id.to_string(),
        diff,
        actor,
        object: objects::contact(contact),
    }
}

/// Adds a contact to an account.
pub async fn create_contact(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    command: NewContact,
) -> Result<Contact, UserError> {
    let first_name = optional("first_name", command.first_name.as_deref(), Name::parse)?;
    let last_name = optional("last_name", command.last_name.as_deref(), Name::parse)?;
    if last_name.is_none() {
        return Err(Invalid::new("last_name", crate::value::ValueError::Empty).into());
    }
    let email = optional("email", command.email.as_deref(), Email::parse)?;
    let phone = optional("phone", command.phone.as_deref(), Name::parse)?;
    let mut tx = ports.begin().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Contacts, Access::Write), &account, "account")?;
    let contact = Contact {
        id: ports.new_id(ContactId::from_uuid),
        root: account.root(),
        account: account.id,
        kind: command.kind,
        first_name,
        last_name,
        email,
        phone,
        user: None,
        created_at: ports.now(),
        version: 1,
    };
    tx.insert_contact(&contact).await?;
    record(
        ports,
        tx.as_mut(),
        contact_entry(actor, "contact.created", &contact, json!({"kind": contact.kind})),
    )
    .await?;
    tx.commit().await?;
    Ok(contact)
}

/// Contacts of an account subtree, oldest first; with `search`, only those whose first name,
/// last name or email starts with it (ignoring case).
pub async fn list_contacts(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    search: Option<&str>,
    page: PageRequest,
) -> Result<Page<Contact>, UserError> {
    let search = search.map(str::trim).filter(|s| !s.is_empty()).map(str::to_lowercase);
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Contacts, Access::Read), &account, "account")?;
    let within = crate::service::visible_subtrees(actor, &account);
    Ok(tx.list_contacts(&ContactQuery { root: account.root(), within, search, page }).await?)
}

/// A contact the caller may read.
pub async fn get_contact(ports: &Ports, actor: &Actor, id: ContactId) -> Result<Contact, UserError> {
    let mut tx = ports.begin_read().await?;
    load_contact(tx.as_mut(), actor, id, Access::Read).await
}

/// Loads a contact and checks the caller's `contacts` permission on its account (R19).
async fn load_contact(
    tx: &mut dyn crate::ports::Tx,
    actor: &Actor,
    id: ContactId,
    access: Access,
) -> Result<Contact, UserError> {
    let contact = tx.contact(id).await?.ok_or(Gate::NotFound { entity: "contact" })?;
    let account = load_account(tx, contact.account).await?;
    guard(actor, Permission::new(Module::Contacts, access), &account, "contact")?;
    Ok(contact)
}

/// Changes to a contact: `None` keeps a field, an empty text clears it (the last name, which
/// names an organization, cannot be cleared).
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    /// First name.
    pub first_name: Option<String>,
    /// Last name, or the organization's name.
    pub last_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// Edits a contact; with `expected`, only if it is still at that version (`If-Match`). A
/// contact a user was made from keeps its link: the user's own data is edited on the user.
pub async fn update_contact(
    ports: &Ports,
    actor: &Actor,
    id: ContactId,
    patch: ContactPatch,
    expected: Option<u64>,
) -> Result<Contact, UserError> {
    fn clearable<T>(
        name: &str,
        raw: Option<String>,
        parse: fn(&str) -> Result<T, crate::value::ValueError>,
    ) -> Result<Option<Option<T>>, Invalid> {
        raw.map(|value| optional(name, Some(&value), parse)).transpose()
    }
    let first_name = clearable("first_name", patch.first_name, Name::parse)?;
    let last_name = patch
        .last_name
        .as_deref()
        .map(|raw| crate::error::field("last_name", Name::parse(raw.trim())))
        .transpose()?;
    let email = clearable("email", patch.email, Email::parse)?;
    let phone = clearable("phone", patch.phone, Name::parse)?;
    let mut tx = ports.begin().await?;
    let mut contact = load_contact(tx.as_mut(), actor, id, Access::Write).await?;
    if let Some(expected) = expected.filter(|expected| *expected != contact.version) {
        return Err(UserError::VersionMismatch { expected, actual: contact.version });
    }
    let mut changed = Vec::new();
    if let Some(value) = first_name.filter(|value| *value != contact.first_name) {
        contact.first_name = value;
        changed.push("first_name");
    }
    if let Some(value) = last_name.filter(|value| Some(value) != contact.last_name.as_ref()) {
        contact.last_name = Some(value);
        changed.push("last_name");
    }
    if let Some(value) = email.filter(|value| *value != contact.email) {
        contact.email = value;
        changed.push("email");
    }
    if let Some(value) = phone.filter(|value| *value != contact.phone) {
        contact.phone = value;
        changed.push("phone");
    }
    if changed.is_empty() {
        return Ok(contact);
    }
    match tx.update_contact(&contact).await {
        Err(RepoError::Stale { .. }) => {
            return Err(UserError::VersionMismatch {
                expected: contact.version,
                actual: contact.version + 1,
            });
        }
        other => other?,
    }
    contact.version += 1;
    // The audit names the fields changed, not their values: a contact's data goes with an
    // erasure, and the audit log keeps its entries.
    let entry = contact_entry(actor, "contact.updated", &contact, json!({"changed": changed}));
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok(contact)
}

/// Deletes a contact no user was made from (R17: a linked contact is the user's record of
/// where it came from); `ContactHasUser` otherwise, also when a user is made from it meanwhile.
pub async fn delete_contact(ports: &Ports, actor: &Actor, id: ContactId) -> Result<(), UserError> {
    let mut tx = ports.begin().await?;
    let contact = load_contact(tx.as_mut(), actor, id, Access::Write).await?;
    if contact.user.is_some() {
        return Err(UserError::ContactHasUser);
    }
    match tx.delete_contact(id).await {
        Err(RepoError::Stale { .. }) => return Err(UserError::ContactHasUser),
        other => other?,
    }
    let entry = AuditEntry {
        root: contact.root,
        account: contact.account,
        action: "contact.deleted",
        target_kind: "contact",
        target_id: contact.id.to_string(),
        diff: json!({"kind": contact.kind}),
        actor,
        object: json!({"id": contact.id, "account": contact.account, "kind": contact.kind}),
    };
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok(())
}

/// What an administrator may add when creating a user from a contact.
#[derive(Debug, Clone, Default)]
pub struct FromContact {
    /// Username; generated from the format when omitted.
    pub username: Option<String>,
    /// Email: required for an organization or a person without one.
    pub email: Option<String>,
    /// First name: required with `last_name` for an organization.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Send a welcome mail with a set-password link.
    pub send_welcome: bool,
}

/// Creates a user from a contact (R17): name and email from the contact, type and roles from
/// the settings' defaults; an organization needs an explicit email and name.
pub async fn create_user_from_contact(
    ports: &Ports,
    actor: &Actor,
    id: ContactId,
    command: FromContact,
) -> Result<User, UserError> {
    let given_email = optional("email", command.email.as_deref(), Email::parse)?;
    let given_first = optional("first_name", command.first_name.as_deref(), Name::parse)?;
    let given_last = optional("last_name", command.last_name.as_deref(), Name::parse)?;
    let mut tx = ports.begin().await?;
    let contact = tx.contact(id).await?.ok_or(Gate::NotFound { entity: "contact" })?;
    let account = load_account(tx.as_mut(), contact.account).await?;
    guard(actor, Permission::new(Module::Users, Access::Write), &account, "contact")?;
    if contact.user.is_some() {
        return Err(UserError::ContactHasUser);
    }
    let (email, first_name, last_name) = match contact.kind {
        ContactKind::Person => (
            given_email.or(contact.email.clone()),
            given_first.or(contact.first_name.clone()),
            given_last.or(contact.last_name.clone()),
        ),
        ContactKind::Organization => (given_email, given_first, given_last),
    };
    let email = email.ok_or_else(|| Invalid::new("email", crate::value::ValueError::Empty))?;
    let last_name = last_name.ok_or_else(|| Invalid::new("last_name", crate::value::ValueError::Empty))?;
    if contact.kind == ContactKind::Organization && first_name.is_none() {
        return Err(Invalid::new("first_name", crate::value::ValueError::Empty).into());
    }
    let root = account.root();
    let settings = load_settings(tx.as_mut(), root).await?;
    let type_id = settings.default_user_type.ok_or(UserError::NotFound { entity: "default user type" })?;
    let user_type = load_user_type(tx.as_mut(), root, type_id).await?;
    reject_member_type(&settings, user_type.id)?;
    let roles = settings.default_roles.clone();
    let scope = Default::default();
    let draft = Draft {
        account: &account,
        settings: &settings,
        user_type: &user_type,
        roles: &roles,
        scope: &scope,
        state: UserState::Active,
    };
    check_draft(ports, tx.as_mut(), actor, draft, true).await?;
    // A taken address is refused by the unique index on insert, below.
    let profile = Profile {
        first_name,
        last_name: Some(last_name),
        phone: contact.phone.clone(),
        ..Profile::default()
    };
    let username =
        choose_username(tx.as_mut(), &settings, root, command.username.as_deref(), &email, &profile).await?;
    let now = ports.now();
    let user = User {
        profile,
        roles,
        scope,
        contact: Some(contact.id),
        contact_kind: Some(contact.kind),
        ..User::new(
            ports.new_id(UserId::from_uuid),
            Newcomer {
                root,
                account: account.id,
                username,
                email,
                user_type: user_type.id,
                origin: Origin::Contact,
            },
            now,
        )
    };
    match tx.insert_user(&user).await {
        Err(RepoError::Duplicate { field: "email", .. }) => {
            return Err(UserError::EmailTaken { email: user.email.to_string() });
        }
        Err(RepoError::Duplicate { .. }) => {
            return Err(UserError::UsernameTaken { username: user.username.to_string() });
        }
        other => other?,
    }
    match tx.link_contact(contact.id, user.id).await {
        Err(RepoError::Stale { .. }) => return Err(UserError::ContactHasUser),
        other => other?,
    }
    if command.send_welcome {
        issue_link(ports, tx.as_mut(), &settings, &user, LinkKind::Welcome).await?;
    }
    record_new_user(ports, tx.as_mut(), actor, "user.created_from_contact", &user).await?;
    tx.commit().await?;
    Ok(user)
}
