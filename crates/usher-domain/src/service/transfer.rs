//! Users as CSV rows: the columns an export writes, one page at a time, so that an export of
//! any size takes bounded memory. The format is the domain's; the adapters only write it.
//!
//! Ids become what a person reads and an import matches: the user type's key, the roles'
//! names, the home account's slug. A cell that a spreadsheet would run as a formula (one that
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return) is neutralised with a leading
//! `'` (OWASP, CSV injection).

use std::collections::HashMap;

use crate::authz::Actor;
use crate::id::{AccountId, RoleId, UserTypeId};
use crate::model::{User, UserState};
use crate::ports::{Cursor, PageRequest, Tx};
use crate::service::users::{UserError, UserFilter, user_query};
use crate::service::{Ports, guard, load_account};
use crate::value::{Access, Module, Permission};

mod import;
mod jobs;
pub use import::*;
pub use jobs::*;

/// The columns of a user row, in order: the header of an export.
pub const USER_COLUMNS: [&str; 15] = [
    "username",
    "email",
    "first_name",
    "last_name",
    "phone",
    "locale",
    "account",
    "user_type",
    "roles",
    "state",
    "email_verified",
    "external_ids",
    "external_id",
    "contact",
    "created_at",
];

/// Columns an import reads that an export does not write: the name of the organization a
/// row's `contact` of kind `organization` is made with.
pub const IMPORT_ONLY_COLUMNS: [&str; 1] = ["organization"];

/// How many users one page of an export reads.
pub const EXPORT_PAGE: u16 = 500;

/// The names an export writes in place of ids, each looked up once per export.
#[derive(Debug, Default)]
pub struct ExportNames {
    user_types: HashMap<UserTypeId, String>,
    roles: HashMap<RoleId, String>,
    accounts: HashMap<AccountId, String>,
}

impl ExportNames {
    async fn user_type(&mut self, tx: &mut dyn Tx, id: UserTypeId) -> Result<String, UserError> {
        if let Some(key) = self.user_types.get(&id) {
            return Ok(key.clone());
        }
        let key = tx.user_type(id).await?.map(|t| t.key.to_string()).unwrap_or_default();
        self.user_types.insert(id, key.clone());
        Ok(key)
    }

    async fn role(&mut self, tx: &mut dyn Tx, id: RoleId) -> Result<String, UserError> {
        if let Some(name) = self.roles.get(&id) {
            return Ok(name.clone());
        }
        let name = tx.role(id).await?.map(|r| r.name.to_string()).unwrap_or_default();
        self.roles.insert(id, name.clone());
        Ok(name)
    }

    async fn account(&mut self, tx: &mut dyn Tx, id: AccountId) -> Result<String, UserError> {
        if let Some(slug) = self.accounts.get(&id) {
            return Ok(slug.clone());
        }
        let slug = tx.account(id).await?.map(|a| a.slug.to_string()).unwrap_or_default();
        self.accounts.insert(id, slug.clone());
        Ok(slug)
    }

    /// A user as a row of [`USER_COLUMNS`], every cell neutralised.
    async fn row(&mut self, tx: &mut dyn Tx, user: &User) -> Result<Vec<String>, UserError> {
        let text = |value: Option<&dyn ToString>| value.map(ToString::to_string).unwrap_or_default();
        let mut roles = Vec::with_capacity(user.roles.len());
        for id in &user.roles {
            roles.push(self.role(tx, *id).await?);
        }
        roles.sort();
        let external_ids = if user.external_ids.is_empty() {
            String::new()
        } else {
            let ids: serde_json::Map<String, serde_json::Value> =
                user.external_ids.iter().map(|(k, v)| (k.to_string(), v.clone().into())).collect();
            serde_json::Value::Object(ids).to_string()
        };
        let profile = &user.profile;
        let cells = [
            user.username.to_string(),
            user.email.to_string(),
            text(profile.first_name.as_ref().map(|n| n as &dyn ToString)),
            text(profile.last_name.as_ref().map(|n| n as &dyn ToString)),
            text(profile.phone.as_ref().map(|n| n as &dyn ToString)),
            profile.locale.as_ref().map(|l| l.as_str().to_owned()).unwrap_or_default(),
            self.account(tx, user.account).await?,
            self.user_type(tx, user.user_type).await?,
            roles.join(";"),
            match user.state {
                UserState::Active => "active".to_owned(),
                UserState::Disabled => "disabled".to_owned(),
            },
            user.email_verified_at.is_some().to_string(),
            external_ids,
            user.external_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            user.contact_kind.map(|kind| kind.as_str().to_owned()).unwrap_or_default(),
            user.created_at.to_rfc3339(),
        ];
        Ok(cells.iter().map(|cell| neutralised(cell)).collect())
    }
}

/// A cell a spreadsheet would run as a formula gets a leading `'`; any other is as given.
pub fn neutralised(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell.to_owned() }
}

/// One page of an export of the users of an account's subtree (within the actor's reach, R19)
/// that pass `filter`, as rows of [`USER_COLUMNS`], and where the next page starts. Each page
/// is read in its own transaction; the keyset cursor makes the pages neither skip nor repeat
/// a user that stays.
pub async fn export_users_page(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    filter: &UserFilter,
    page: PageRequest,
    names: &mut ExportNames,
) -> Result<(Vec<Vec<String>>, Option<Cursor>), UserError> {
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Users, Access::Read), &account, "account")?;
    let found = tx.list_users(&user_query(actor, &account, filter, page)).await?;
    let mut rows = Vec::with_capacity(found.items.len());
    for user in &found.items {
        rows.push(names.row(tx.as_mut(), user).await?);
    }
    Ok((rows, found.next))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        // Bounded fuzzing of the CSV mapping: any header either maps (every known column at
        // most once, the rest reported as unknown) or is refused with a reason; never a panic.
        #[test]
        fn any_header_maps_or_is_refused(names in proptest::collection::vec(
            prop_oneof![
                proptest::sample::select(USER_COLUMNS.to_vec()).prop_map(str::to_owned),
                proptest::sample::select(USER_COLUMNS.to_vec()).prop_map(|c| format!(" {} ", c.to_uppercase())),
                ".{0,12}",
            ],
            0..20,
        )) {
            match ImportHeader::parse(&names) {
                Ok(header) => {
                    prop_assert!(header.unknown.len() < names.len(), "email was mapped");
                    prop_assert!(header.unknown.iter().all(|u| !USER_COLUMNS.contains(&u.trim().to_lowercase().as_str())));
                }
                Err(HeaderError::NoEmail) => {
                    prop_assert!(!names.iter().any(|n| n.trim().eq_ignore_ascii_case("email")));
                }
                Err(HeaderError::Duplicate { column }) => {
                    let times = names.iter().filter(|n| n.trim().to_lowercase() == column).count();
                    prop_assert!(times > 1);
                }
            }
        }

        // A neutralised cell never starts with what a spreadsheet runs, and only such cells change.
        #[test]
        fn neutralised_cells_never_start_a_formula(cell in ".{0,40}") {
            let out = neutralised(&cell);
            prop_assert!(!out.starts_with(['=', '+', '-', '@', '\t', '\r']));
            let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
            prop_assert_eq!(out == cell, !risky);
        }
    }
}
