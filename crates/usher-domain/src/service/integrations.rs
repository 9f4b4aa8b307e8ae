//! API keys: secrets for the apps that call usher, never holding more than their creator
//! (R4, R13, R24).

use std::collections::BTreeSet;

use serde_json::json;

use crate::authz::{Actor, Denied, check_permissions_held};
use crate::error::{Invalid, RepoError, field};
use crate::id::{AccountId, ApiKeyId};
use crate::model::ApiKey;
use crate::service::{AuditEntry, Gate, Ports, common_errors, guard, load_account, objects, record};
use crate::time::Duration;
use crate::value::{Access, Module, Name, Permission, SecretToken};

/// Failure of an API-key use case.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
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
    /// R4: a key never holds more than its creator.
    #[error("you cannot grant {}: you do not hold them", crate::value::permission_list(.permissions))]
    Escalation {
        /// Missing permissions.
        permissions: Vec<Permission>,
    },
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(ApiKeyError);

/// Creates an API key; the secret is returned once and stored only as a hash (R13).
pub async fn create_api_key(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    name: &str,
    permissions: BTreeSet<Permission>,
    lifetime_days: Option<u16>,
) -> Result<(ApiKey, SecretToken), ApiKeyError> {
    let name = field("name", Name::parse(name))?;
    let mut tx = ports.begin().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::ApiKeys, Access::Write), &account, "account")?;
    check_permissions_held(actor, &permissions)
        .map_err(|permissions| ApiKeyError::Escalation { permissions })?;
    let now = ports.now();
    let token = ports.new_token(super::sessions::API_KEY_PREFIX);
    let key = ApiKey {
        id: ports.new_id(ApiKeyId::from_uuid),
        root: account.root(),
        account: account.id,
        name,
        permissions,
        token_hash: token.hash(),
        created_by: actor.reference(),
        created_at: now,
        expires_at: lifetime_days.map(|days| now.plus(Duration::days(i64::from(days)))),
        revoked_at: None,
    };
    tx.insert_api_key(&key).await?;
    let entry = AuditEntry {
        root: key.root,
        account: key.account,
        action: "api_key.created",
        target_kind: "api_key",
        target_id: key.id.to_string(),
        diff: json!({"name": key.name, "permissions": key.permissions}),
        actor,
        object: objects::api_key(&key),
    };
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok((key, token))
}

/// The API keys of an account.
pub async fn list_api_keys(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
) -> Result<Vec<ApiKey>, ApiKeyError> {
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::ApiKeys, Access::Read), &account, "account")?;
    Ok(tx.api_keys(account.id).await?)
}

/// Revokes an API key at once.
pub async fn revoke_api_key(ports: &Ports, actor: &Actor, id: ApiKeyId) -> Result<(), ApiKeyError> {
    let mut tx = ports.begin().await?;
    let mut key = tx.api_key(id).await?.ok_or(Gate::NotFound { entity: "api key" })?;
    let account = load_account(tx.as_mut(), key.account).await?;
    guard(actor, Permission::new(Module::ApiKeys, Access::Write), &account, "api key")?;
    // R24: a key that holds more than the actor is revoked by someone who holds it.
    check_permissions_held(actor, &key.permissions)
        .map_err(|permissions| ApiKeyError::Denied(Denied::TargetHoldsMore { permissions }))?;
    if key.revoked_at.is_some() {
        return Ok(());
    }
    key.revoked_at = Some(ports.now());
    tx.update_api_key(&key).await?;
    let entry = AuditEntry {
        root: key.root,
        account: key.account,
        action: "api_key.revoked",
        target_kind: "api_key",
        target_id: id.to_string(),
        diff: json!({"name": key.name}),
        actor,
        object: objects::api_key(&key),
    };
    record(ports, tx.as_mut(), entry).await?;
    tx.commit().await?;
    Ok(())
}
