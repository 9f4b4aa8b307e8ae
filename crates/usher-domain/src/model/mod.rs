//! The entities of DESIGN §2. Fields are public where every value a field's type can hold is
//! valid on its own; rules that span fields live in [`crate::rules`] and the use cases.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::id::{
    AccountId, ApiKeyId, AuditEventId, ContactId, DeliveryId, DeviceId, EventId, ImportId, InvitationId,
    MailId, RoleId, SessionId, SigningKeyId, TokenId, UserId, UserTypeId, WebhookId,
};
use crate::password::PasswordPolicy;
use crate::time::{Duration, Timestamp};
use crate::value::{
    Email, ExternalId, Key, Locale, Name, Permission, SecretToken, Slug, TokenHash, Username, ValueError,
};

mod accounts;
mod audit;
mod catalog;
mod contacts;
mod credentials;
mod events;
mod imports;
mod invitations;
mod mail;
mod search;
mod users;
mod webhooks;

pub use accounts::*;
pub use audit::*;
pub use catalog::*;
pub use contacts::*;
pub use credentials::*;
pub use events::*;
pub use imports::*;
pub use invitations::*;
pub use mail::*;
pub use search::*;
pub use users::*;
pub use webhooks::*;

#[cfg(test)]
mod tests;
