//! The JSON bodies of the API: what each domain object looks like on the wire. Secrets (password
//! hashes, token hashes) have no field here, so they cannot be answered by mistake.

use std::collections::{BTreeMap, BTreeSet};

use poem_openapi::{Enum, Object};
use time::OffsetDateTime;
use usher_domain::model::{
    Account, AccountState, ActorRef, Address, ApiKey, AuditEvent, Contact, ContactKind, Device, Invitation,
    InvitationStatus, Origin, PublicEvent, Role, SeatUsage, Settings, User, UserState, UserType, Webhook,
    WebhookDelivery,
};
use usher_domain::model::{DeliveryState, QueuedMail};
use usher_domain::ports::Cursor;
use usher_domain::rules::Attribution;
use usher_domain::service::users::{AddressInput, UserAccess};
use usher_domain::time::Timestamp;
use usher_domain::value::Permission;
use uuid::Uuid;

use crate::types::{NameKind, Text};

pub(crate) fn at(timestamp: Timestamp) -> OffsetDateTime {
    timestamp.as_datetime()
}

fn ids<T: Copy>(set: &BTreeSet<T>, uuid: fn(&T) -> Uuid) -> Vec<Uuid> {
    set.iter().map(uuid).collect()
}

fn permissions(set: &BTreeSet<Permission>) -> Vec<String> {
    set.iter().map(ToString::to_string).collect()
}

/// The opaque cursor of the next page, if any.
pub(crate) fn next_cursor(next: Option<&Cursor>) -> Option<String> {
    next.map(Cursor::encode)
}

mod accounts;
mod catalog;
mod contacts;
mod events;
mod integrations;
mod invitations;
mod mail;
mod users;

pub use accounts::*;
pub use catalog::*;
pub use contacts::*;
pub use events::*;
pub use integrations::*;
pub use invitations::*;
pub use mail::*;
pub use users::*;
