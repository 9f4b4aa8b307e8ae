//! Rows to domain values and back: accounts (with their stored paths) and settings.

use super::*;

// Account paths are stored as `/root/child/…/self/` (UUIDs in simple form): the subtree of an
// account is the range of paths that start with its own.

/// The stored path of an account.
pub(crate) fn path_text(path: &AccountPath) -> String {
    let mut text = String::from("/");
    for id in path.ancestors().iter().copied().chain([path.id()]) {
        text.push_str(&id.as_uuid().simple().to_string());
        text.push('/');
    }
    text
}

pub(crate) fn path_from_text(id: AccountId, text: &str) -> Result<AccountPath, RepoError> {
    let mut ancestors = Vec::new();
    for part in text.split('/').filter(|p| !p.is_empty()) {
        let uuid = Uuid::try_parse(part).map_err(|e| RepoError::corrupt("account", e))?;
        ancestors.push(AccountId::from_uuid(uuid));
    }
    if ancestors.pop() != Some(id) {
        return Err(RepoError::corrupt("account", "path does not end with the account"));
    }
    AccountPath::restore(id, ancestors).map_err(corrupt("account"))
}

pub(crate) fn account_row(account: &Account) -> account::Model {
    account::Model {
        id: account.id.as_uuid(),
        root_id: account.root().as_uuid(),
        parent_id: account.parent().map(|p| p.as_uuid()),
        path: path_text(&account.path),
        slug: account.slug.as_str().to_owned(),
        name: account.name.as_str().to_owned(),
        state: account_state_text(account.state).to_owned(),
        created_at: account.created_at.unix_micros(),
        version: version(account.version),
        sales_representative: account.sales_representative.map(|id| id.as_uuid()),
    }
}

pub(crate) fn account_state_text(state: AccountState) -> &'static str {
    match state {
        AccountState::Active => "active",
        AccountState::Suspended => "suspended",
    }
}

pub(crate) fn account_from_row(row: account::Model) -> Result<Account, RepoError> {
    const E: &str = "account";
    let id = AccountId::from_uuid(row.id);
    Ok(Account {
        id,
        path: path_from_text(id, &row.path)?,
        slug: Slug::parse(&row.slug).map_err(corrupt(E))?,
        name: Name::parse(&row.name).map_err(corrupt(E))?,
        state: match row.state.as_str() {
            "active" => AccountState::Active,
            "suspended" => AccountState::Suspended,
            other => return Err(RepoError::corrupt(E, format!("unknown state {other:?}"))),
        },
        created_at: time(E, row.created_at)?,
        version: u64::try_from(row.version).map_err(|e| RepoError::corrupt(E, e))?,
        sales_representative: row.sales_representative.map(UserId::from_uuid),
    })
}

/// Settings as stored: their [`SettingsDocument`].
pub(crate) fn settings_to_json(settings: &Settings) -> Result<String, RepoError> {
    to_json("settings", &SettingsDocument::from(settings))
}

pub(crate) fn settings_from_json(text: &str) -> Result<Settings, RepoError> {
    Settings::try_from(from_json::<SettingsDocument>("settings", text)?).map_err(corrupt("settings"))
}
