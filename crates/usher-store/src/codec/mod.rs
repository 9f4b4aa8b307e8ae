//! Rows to domain values and back. Every stored value is parsed again through the domain's
//! constructors on the way out, so a row edited by hand into something invalid surfaces as
//! [`RepoError::Corrupt`] instead of an invalid value in memory.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use usher_domain::document::{ActorDocument, MailDocument, SettingsDocument};
use usher_domain::error::RepoError;
use usher_domain::id::{
    AccountId, ApiKeyId, AuditEventId, ContactId, DeliveryId, DeviceId, EventId, ImportId, InvitationId,
    MailId, RoleId, SessionId, SigningKeyId, TokenId, UserId, UserTypeId, WebhookId,
};
use usher_domain::model::{
    Account, AccountPath, AccountState, ActorRef, Address, ApiKey, AuditEvent, BuiltinRole, Contact,
    ContactKind, Delivery, DeliveryState, Device, ExternalIdentity, ImportCounts, ImportJob, ImportState,
    Invitation, InvitationState, MailMessage, OneTimeToken, Origin, OutboxMail, Profile, PublicEvent,
    QueuedMail, Role, RowKind, RowReport, Session, Settings, SigningKey, StagedRow, TokenPurpose, User,
    UserState, UserType,
};
use usher_domain::time::Timestamp;
use usher_domain::value::{
    Email, ExternalId, Key, Locale, Name, Permission, Slug, TokenHash, Username, ValueError,
};

use crate::entity::{
    account, api_key, audit_event, contact, device, event, external_identity, import_job, import_row,
    invitation, one_time_token, outbox, role, session, signing_key, user, user_type, webhook,
    webhook_delivery,
};

/// A parse failure of a stored value of `entity`.
fn corrupt(entity: &'static str) -> impl Fn(ValueError) -> RepoError {
    move |err| RepoError::corrupt(entity, err)
}

fn json_err(entity: &'static str) -> impl Fn(serde_json::Error) -> RepoError {
    move |err| RepoError::corrupt(entity, err)
}

pub(crate) fn to_json<T: Serialize + ?Sized>(entity: &'static str, value: &T) -> Result<String, RepoError> {
    serde_json::to_string(value).map_err(json_err(entity))
}

fn from_json<T: for<'de> Deserialize<'de>>(entity: &'static str, text: &str) -> Result<T, RepoError> {
    serde_json::from_str(text).map_err(json_err(entity))
}

pub(crate) fn time(entity: &'static str, micros: i64) -> Result<Timestamp, RepoError> {
    Timestamp::from_unix_micros(micros).ok_or_else(|| RepoError::corrupt(entity, "timestamp out of range"))
}

fn opt_time(entity: &'static str, micros: Option<i64>) -> Result<Option<Timestamp>, RepoError> {
    micros.map(|m| time(entity, m)).transpose()
}

fn count(entity: &'static str, n: i64) -> Result<u32, RepoError> {
    u32::try_from(n).map_err(|_| RepoError::corrupt(entity, "count out of range"))
}

pub(crate) fn version(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Ids of one kind as a JSON array of UUID strings.
fn ids_to_json<T: Copy>(
    entity: &'static str,
    ids: &BTreeSet<T>,
    uuid: impl Fn(T) -> Uuid,
) -> Result<String, RepoError> {
    to_json(entity, &ids.iter().map(|id| uuid(*id)).collect::<Vec<Uuid>>())
}

fn ids_from_json<T: Ord>(
    entity: &'static str,
    text: &str,
    wrap: impl Fn(Uuid) -> T,
) -> Result<BTreeSet<T>, RepoError> {
    Ok(from_json::<Vec<Uuid>>(entity, text)?.into_iter().map(wrap).collect())
}

pub(crate) fn permissions_to_json(
    entity: &'static str,
    set: &BTreeSet<Permission>,
) -> Result<String, RepoError> {
    to_json(entity, &set.iter().map(Permission::to_string).collect::<Vec<String>>())
}

fn permissions_from_json(entity: &'static str, text: &str) -> Result<BTreeSet<Permission>, RepoError> {
    from_json::<Vec<String>>(entity, text)?
        .iter()
        .map(|p| Permission::parse(p).map_err(corrupt(entity)))
        .collect()
}

fn optional<T>(
    entity: &'static str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Result<Option<T>, RepoError> {
    raw.map(|text| parse(text).map_err(corrupt(entity))).transpose()
}

mod accounts;
mod audit;
mod catalog;
mod contacts;
mod credentials;
mod events;
mod imports;
mod invitations;
mod mail;
mod users;
mod webhooks;

pub(crate) use accounts::*;
pub(crate) use audit::*;
pub(crate) use catalog::*;
pub(crate) use contacts::*;
pub(crate) use credentials::*;
pub(crate) use events::*;
pub(crate) use imports::*;
pub(crate) use invitations::*;
pub(crate) use mail::*;
pub(crate) use users::*;
pub(crate) use webhooks::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_paths_round_trip_and_nest() {
        let root = AccountPath::root_of(AccountId::from_uuid(Uuid::from_u128(1)));
        let child = root.child(AccountId::from_uuid(Uuid::from_u128(2)));
        let text = path_text(&child);
        assert!(text.starts_with(&path_text(&root)), "a subtree is a prefix range: {text}");
        assert_eq!(path_from_text(child.id(), &text).unwrap(), child);
    }
}
