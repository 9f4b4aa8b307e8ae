//! What the use cases share, in one place: loading with the authorization decision
//! ([`access`]), the user in the making ([`drafts`]), one-time links ([`links`]), and the
//! audit event and outbox mail a change leaves in its transaction ([`records`]). Every area's
//! use cases import these from `crate::service`, which re-exports them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::authz::{
    Actor, Denied, authorize, authorize_root_level, check_grant, check_outranks, effective_permissions,
};
use crate::error::{Invalid, RepoError, field};
use crate::id::{AccountId, AuditEventId, MailId, RoleId, TokenId, UserId, UserTypeId};
use crate::model::{
    Account, AuditEvent, MailMessage, OneTimeToken, OutboxMail, Profile, SeatUsage, Settings, TokenPurpose,
    User, UserState, UserType,
};
use crate::ports::{AccountContext, Tx};
use crate::rules::{NameParts, check_roles_for_state, check_seats, username_candidate, username_from_format};
use crate::service::users::UserError;
use crate::service::{Gate, Ports};
use crate::time::Timestamp;
use crate::value::{Access, Email, ExternalId, Key, Locale, Module, Name, Permission, Username, ValueError};

pub(crate) mod access;
pub(crate) mod drafts;
pub(crate) mod links;
pub(crate) mod records;

pub(crate) use access::*;
pub(crate) use drafts::*;
pub(crate) use links::*;
pub(crate) use records::*;
