//! What an administrator does about a user's credentials and contact: set a password (R15,
//! R16), send reset and verification mail (R9, R21), mark an email verified, link devices
//! (R18); and the order attribution of a user (R7).

use super::*;

/// Sets a user's password by hand; the user must change it at next login (R16, R21).
pub async fn set_password(
    ports: &Ports,
    actor: &Actor,
    id: UserId,
    password: &PlainPassword,
) -> Result<User, UserError> {
    not_own_user(actor, id, "set the password of")?;
    let (user, settings) = {
        let mut tx = ports.begin().await?;
        let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
        let settings = load_settings(tx.as_mut(), user.root).await?;
        (user, settings)
    };
    if user.erased_at.is_some() {
        return Err(UserError::Erased);
    }
    settings
        .password_policy
        .check(password, &[user.username.as_str(), user.email.as_str()], ports.breached.as_ref())
        .map_err(UserError::Password)?;
    let hash = ports.hasher.hash(password).await.map_err(|e| UserError::Repo(RepoError::backend(e)))?;
    let mut tx = ports.begin().await?;
    let (mut user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    tx.set_password_hash(user.id, Some(hash)).await?;
    retire_password_links(ports, tx.as_mut(), user.id).await?;
    user.has_password = true;
    user.must_change_password = true;
    user.updated_at = ports.now();
    tx.update_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    user.version += 1;
    let ended = end_sessions(tx.as_mut(), user.id, ports.now()).await?;
    let changes =
        json!({"password": "set by administrator", "must_change_password": true, "sessions_ended": ended});
    record_user(ports, tx.as_mut(), actor, "user.password_set", &user, changes).await?;
    tx.commit().await?;
    Ok(user)
}

/// Sends a password-reset mail to a user (R16); existing sessions end when it is used (R21).
pub async fn send_password_reset(ports: &Ports, actor: &Actor, id: UserId) -> Result<(), UserError> {
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    if user.erased_at.is_some() {
        return Err(UserError::Erased);
    }
    let settings = load_settings(tx.as_mut(), user.root).await?;
    issue_link(ports, tx.as_mut(), &settings, &user, password_link_kind(&user)).await?;
    record_user(ports, tx.as_mut(), actor, "user.password_reset_sent", &user, json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// Re-sends the verification mail of an unverified user (R9).
pub async fn send_verification_email(ports: &Ports, actor: &Actor, id: UserId) -> Result<(), UserError> {
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    let settings = load_settings(tx.as_mut(), user.root).await?;
    if !settings.email_verification_required {
        return Err(UserError::VerificationNotRequired);
    }
    if user.email_verified_at.is_some() {
        return Err(UserError::AlreadyVerified);
    }
    let address = format!("{}:{}", user.root, user.email);
    let form = crate::service::public::Form::VerificationResend;
    let source = actor.source.as_deref();
    if let Some(seconds) =
        crate::service::public::throttle_form(ports, tx.as_mut(), form, &address, source).await?
    {
        return Err(UserError::Throttled { seconds });
    }
    issue_link(ports, tx.as_mut(), &settings, &user, LinkKind::Verification).await?;
    record_user(ports, tx.as_mut(), actor, "user.verification_sent", &user, json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// Marks a user's email verified by hand (R9, audited).
pub async fn mark_email_verified(ports: &Ports, actor: &Actor, id: UserId) -> Result<User, UserError> {
    let mut tx = ports.begin().await?;
    let (mut user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    if user.email_verified_at.is_some() {
        return Ok(user);
    }
    let now = ports.now();
    user.email_verified_at = Some(now);
    user.updated_at = now;
    tx.update_user(&user).await.map_err(|err| UserError::from_insert(err, &user))?;
    user.version += 1;
    tx.retire_tokens(user.id, TokenPurpose::EmailVerification, now).await?;
    let changes = json!({"email_verified_at": {"before": null, "after": now}, "by": "administrator"});
    record_user(ports, tx.as_mut(), actor, "user.email_verified", &user, changes).await?;
    tx.commit().await?;
    Ok(user)
}

/// Links a device to a user (R18: only once a password is set).
pub async fn link_device(
    ports: &Ports,
    actor: &Actor,
    id: UserId,
    name: &str,
    identifier: &str,
) -> Result<Device, UserError> {
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    // Checked once the caller may write the user, so a refusal says nothing about the input.
    let name = field("name", Name::parse(name))?;
    let identifier = field("identifier", Key::parse(identifier))?;
    if !user.has_password {
        return Err(UserError::NoPasswordYet);
    }
    let device = Device {
        id: ports.new_id(DeviceId::from_uuid),
        user: user.id,
        name,
        identifier,
        linked_at: ports.now(),
    };
    match tx.insert_device(&device).await {
        Err(RepoError::Duplicate { .. }) => {
            return Err(UserError::DeviceTaken { identifier: device.identifier.to_string() });
        }
        other => other?,
    }
    let changes = json!({"device": device.id, "name": device.name, "identifier": device.identifier});
    record_user(ports, tx.as_mut(), actor, "device.linked", &user, changes).await?;
    tx.commit().await?;
    Ok(device)
}

/// A user's devices (R18: listing is audited).
pub async fn list_devices(ports: &Ports, actor: &Actor, id: UserId) -> Result<Vec<Device>, UserError> {
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Read).await?;
    let devices = tx.devices(user.id).await?;
    record_user(ports, tx.as_mut(), actor, "device.listed", &user, json!({"count": devices.len()})).await?;
    tx.commit().await?;
    Ok(devices)
}

/// Unlinks a device (R18).
pub async fn unlink_device(
    ports: &Ports,
    actor: &Actor,
    id: UserId,
    device: DeviceId,
) -> Result<(), UserError> {
    let mut tx = ports.begin().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Write).await?;
    let linked = tx.devices(user.id).await?.into_iter().find(|d| d.id == device);
    let linked = linked.ok_or(UserError::NotFound { entity: "device" })?;
    tx.delete_device(device).await?;
    let changes = json!({"device": linked.id, "identifier": linked.identifier});
    record_user(ports, tx.as_mut(), actor, "device.unlinked", &user, changes).await?;
    tx.commit().await?;
    Ok(())
}

/// Where the user's orders are attributed (R7).
pub async fn order_attribution(ports: &Ports, actor: &Actor, id: UserId) -> Result<Attribution, UserError> {
    let mut tx = ports.begin_read().await?;
    let (user, _) = load_user(tx.as_mut(), actor, id, Access::Read).await?;
    let settings = load_settings(tx.as_mut(), user.root).await?;
    Ok(attribution(&user, &settings))
}
