//! A user's states: enable (R1, R3, R8), disable, delete (only without history) and erase
//! (R8), never one's own user.

use super::*;

/// Enables a user (R1: needs a seat; R3: needs a role).
pub async fn enable_user(ports: &Ports, actor: &Actor, id: UserId) -> Result<User, UserError> {
    let mut tx = ports.begin().await?;
    let (user, account) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    let user = enable_in(ports, tx.as_mut(), actor, user, &account).await?;
    tx.commit().await?;
    Ok(user)
}

/// Enables a loaded user within `tx` (the caller loaded it for writing).
pub(crate) async fn enable_in(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    mut user: User,
    account: &Account,
) -> Result<User, UserError> {
    if user.erased_at.is_some() {
        return Err(UserError::Erased);
    }
    if user.state == UserState::Active {
        return Ok(user);
    }
    let settings = load_settings(tx, user.root).await?;
    let user_type = load_user_type(tx, user.root, user.user_type).await?;
    let draft = Draft {
        account,
        settings: &settings,
        user_type: &user_type,
        roles: &user.roles,
        scope: &user.scope,
        state: UserState::Active,
    };
    check_draft(ports, tx, actor, draft, true).await?;
    user.state = UserState::Active;
    user.updated_at = ports.now();
    tx.update_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    user.version += 1;
    let changes = json!({"state": {"before": "disabled", "after": "active"}});
    record_user(ports, tx, actor, "user.enabled", &user, changes).await?;
    Ok(user)
}

/// Disables a user: always allowed, frees the seat and ends the sessions (R8, R21).
pub async fn disable_user(ports: &Ports, actor: &Actor, id: UserId) -> Result<User, UserError> {
    not_own_user(actor, id, "disable")?;
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    let user = disable_in(ports, tx.as_mut(), actor, user).await?;
    tx.commit().await?;
    Ok(user)
}

/// Disables a loaded user within `tx` (the caller loaded it for writing).
pub(crate) async fn disable_in(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    mut user: User,
) -> Result<User, UserError> {
    not_own_user(actor, user.id, "disable")?;
    if user.state == UserState::Disabled {
        return Ok(user);
    }
    user.state = UserState::Disabled;
    user.updated_at = ports.now();
    tx.update_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    user.version += 1;
    let ended = end_sessions(tx, user.id, ports.now()).await?;
    let changes = json!({"state": {"before": "active", "after": "disabled"}, "sessions_ended": ended});
    record_user(ports, tx, actor, "user.disabled", &user, changes).await?;
    Ok(user)
}

/// Deletes a user created in error: only without history (R8).
pub async fn delete_user(ports: &Ports, actor: &Actor, id: UserId) -> Result<(), UserError> {
    not_own_user(actor, id, "delete")?;
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    let has_acted = tx.has_acted(user.id).await?;
    check_delete(&user, has_acted).map_err(UserError::HasHistory)?;
    delete_in(ports, tx.as_mut(), actor, user).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a loaded user within `tx`; the caller checked that it may (R8).
pub(crate) async fn delete_in(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    user: User,
) -> Result<(), UserError> {
    not_own_user(actor, user.id, "delete")?;
    tx.delete_user(user.id).await?;
    record_user(ports, tx, actor, "user.deleted", &user, json!({"username": user.username})).await?;
    Ok(())
}

/// Erases a user's personal data (privacy), keeping the audit chain (R8, R21).
pub async fn erase_user(ports: &Ports, actor: &Actor, id: UserId) -> Result<User, UserError> {
    not_own_user(actor, id, "erase")?;
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    let user = erase_in(ports, tx.as_mut(), actor, user).await?;
    tx.commit().await?;
    Ok(user)
}

/// Erases a loaded user within `tx` (the caller loaded it for writing).
pub(crate) async fn erase_in(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    mut user: User,
) -> Result<User, UserError> {
    not_own_user(actor, user.id, "erase")?;
    if user.erased_at.is_some() {
        return Ok(user);
    }
    let now = ports.now();
    let anonymous = format!("erased-{}", user.id.as_uuid().simple());
    let address = user.email.clone();
    let contact = user.contact;
    user.username = field("username", Username::parse(&anonymous))?;
    user.email = field("email", Email::parse(&format!("{anonymous}@erased.invalid")))?;
    user.profile = Profile::default();
    user.external_ids.clear();
    user.external_id = None;
    user.sales_representative = None;
    user.contact = None;
    user.state = UserState::Disabled;
    user.email_verified_at = None;
    user.has_password = false;
    user.must_change_password = false;
    user.erased_at = Some(now);
    user.updated_at = now;
    tx.update_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    user.version += 1;
    tx.set_password_hash(user.id, None).await?;
    retire_password_links(ports, tx, user.id).await?;
    tx.retire_tokens(user.id, TokenPurpose::EmailVerification, now).await?;
    let ended = end_sessions(tx, user.id, ports.now()).await?;
    for device in tx.devices(user.id).await? {
        tx.delete_device(device.id).await?;
    }
    // The identities at outside providers go: a later sign-in there makes a new user.
    tx.delete_external_identities(user.id).await?;
    tx.redact_audit_subject(user.id).await?;
    tx.redact_event_subject(user.id).await?;
    // The person is also in the invitations to the address, the contact the user came from,
    // and the mail sent to it: every place usher keeps them (R8).
    tx.erase_invitations_to(user.root, &address, &user.email).await?;
    tx.erase_mail_to(user.root, &address, &user.email, &anonymous).await?;
    if let Some(contact) = contact {
        tx.erase_contact(contact).await?;
    }
    record_user(ports, tx, actor, "user.erased", &user, json!({"sessions_ended": ended})).await?;
    Ok(user)
}
