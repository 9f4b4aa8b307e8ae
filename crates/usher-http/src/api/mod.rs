//! The `/v1` operations, one module per area. Each handler parses the request into a domain
//! command, calls one use case with the caller's actor, and maps the outcome to a typed
//! response; authorization is the domain's (R4, R19).

use std::collections::BTreeSet;

use poem::http::StatusCode;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Tags};
use usher_domain::ports::{Cursor, PageRequest};
use usher_domain::value::Permission;
use uuid::Uuid;

use crate::problem::Problem;
use crate::types::{PermissionKind, Text, TextKind};

pub(crate) mod access_tokens;
pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod catalog;
pub(crate) mod contacts;
pub(crate) mod events;
pub(crate) mod identities;
pub(crate) mod imports;
pub(crate) mod integrations;
pub(crate) mod introspection;
pub(crate) mod invitations;
pub(crate) mod mail;
pub(crate) mod public;
pub(crate) mod sessions;
pub(crate) mod transfer;
pub(crate) mod users;
pub(crate) mod webhooks;

/// The groups of operations in the spec.
#[derive(Tags, Debug)]
pub(crate) enum Tag {
    /// Logging in and out, sessions, and the caller's own profile and password.
    Sessions,
    /// Root accounts (operator) and sub-accounts, and their settings.
    Accounts,
    /// User types, seats (the subscription), roles and the permission catalog.
    Catalog,
    /// Users: create, edit, enable, disable, delete, erase, passwords, devices.
    Users,
    /// Bulk invitations by email.
    Invitations,
    /// Flows reached without logging in: accepting invitations, registration, verification, reset.
    Public,
    /// Contacts and users created from them.
    Contacts,
    /// API keys for the apps that call usher.
    Integrations,
    /// The audit log of every change.
    Audit,
    /// The event feed and webhooks for the apps that rely on usher.
    Events,
    /// The outbox: mail queued, sent and failed, and retries.
    Mail,
}

/// Default page size of lists.
pub(crate) const DEFAULT_LIMIT: u16 = 50;

/// The page a list request asks for; a cursor not made by us is a 400 naming `cursor`.
pub(crate) fn page(cursor: Option<&str>, limit: Option<u16>) -> Result<PageRequest, Box<Problem>> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    match cursor.filter(|c| !c.is_empty()) {
        None => Ok(PageRequest::first(limit)),
        Some(text) => match Cursor::decode(text) {
            Some(cursor) => Ok(PageRequest::after(cursor, limit)),
            None => Err(Box::new(Problem {
                field: Some("cursor".to_owned()),
                ..Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_cursor",
                    "cursor is not one this server issued; pass next_cursor from the previous page",
                )
            })),
        },
    }
}

/// The `ETag` of a versioned object.
pub(crate) fn etag(version: u64) -> String {
    format!("\"v{version}\"")
}

/// The fingerprint named by an `If-Match` header on a resource without a version (settings,
/// the subscription): the digits inside `"s…"`. `None` when absent or `*`; anything else names
/// nothing of ours and never matches, which the domain compares under its lock.
pub(crate) fn fingerprint_of(header: Option<&str>) -> Option<String> {
    header.map(str::trim).filter(|t| !t.is_empty() && *t != "*").map(|etag| {
        etag.strip_prefix("\"s").and_then(|rest| rest.strip_suffix('"')).unwrap_or(etag).to_owned()
    })
}

/// The version named by an `If-Match` header: `None` when absent or `*`. A value that cannot
/// name a version of ours never matches (412).
pub(crate) fn if_match(header: Option<&str>, entity: &str) -> Result<Option<u64>, Box<Problem>> {
    let Some(raw) = header.map(str::trim).filter(|raw| !raw.is_empty()) else {
        return Ok(None);
    };
    if raw == "*" {
        return Ok(None);
    }
    let parsed = raw
        .strip_prefix("\"v")
        .and_then(|rest| rest.strip_suffix('"'))
        .and_then(|digits| digits.parse::<u64>().ok());
    match parsed {
        Some(version) => Ok(Some(version)),
        None => Err(Box::new(Problem::version_mismatch(entity, None, None))),
    }
}

/// Parses permissions named `module:access`, naming the bad entry.
pub(crate) fn permissions(
    field: &str,
    raw: &[Text<PermissionKind>],
) -> Result<BTreeSet<Permission>, Box<Problem>> {
    raw.iter()
        .enumerate()
        .map(|(index, text)| {
            Permission::parse(text.as_str()).map_err(|error| {
                Box::new(usher_domain::error::Invalid::new(format!("{field}[{index}]"), error).into())
            })
        })
        .collect()
}

/// Ids from a request, as a set of typed ids.
pub(crate) fn id_set<T: Ord>(raw: &[Uuid], wrap: fn(Uuid) -> T) -> BTreeSet<T> {
    raw.iter().copied().map(wrap).collect()
}

/// A text field that may be absent (unchanged), `null` (cleared) or a value.
pub(crate) fn clearable<K: TextKind>(field: &MaybeUndefined<Text<K>>) -> Option<String> {
    match field {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(String::new()),
        MaybeUndefined::Value(text) => Some(text.0.clone()),
    }
}

/// Strict request text, handed to the domain as plain strings.
pub(crate) trait Plain {
    /// The plain form.
    type Output;
    /// Converts.
    fn plain(self) -> Self::Output;
}

impl<K: TextKind> Plain for Text<K> {
    type Output = String;
    fn plain(self) -> String {
        self.0
    }
}

impl<T: Plain> Plain for Option<T> {
    type Output = Option<T::Output>;
    fn plain(self) -> Self::Output {
        self.map(Plain::plain)
    }
}

impl<T: Plain> Plain for Vec<T> {
    type Output = Vec<T::Output>;
    fn plain(self) -> Self::Output {
        self.into_iter().map(Plain::plain).collect()
    }
}

impl<K: TextKind> Plain for std::collections::BTreeMap<String, Text<K>> {
    type Output = std::collections::BTreeMap<String, String>;
    fn plain(self) -> Self::Output {
        self.into_iter().map(|(key, value)| (key, value.0)).collect()
    }
}

/// The answer to a request that changed something and has nothing to show.
#[derive(ApiResponse, Debug)]
pub(crate) enum Done {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

/// The answer to a request whose effect happens later (a mail is queued).
#[derive(ApiResponse, Debug)]
pub(crate) enum Queued {
    /// Accepted; the mail is in the outbox.
    #[oai(status = 202)]
    Accepted,
}
