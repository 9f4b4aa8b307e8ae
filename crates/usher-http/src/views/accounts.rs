//! Accounts and settings on the wire.

use super::*;

/// Whether an account's users may log in.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum AccountStateView {
    /// Users may log in.
    Active,
    /// Suspended by the operator: nobody in the tree may log in.
    Suspended,
}

impl From<AccountState> for AccountStateView {
    fn from(state: AccountState) -> Self {
        match state {
            AccountState::Active => AccountStateView::Active,
            AccountState::Suspended => AccountStateView::Suspended,
        }
    }
}

impl From<AccountStateView> for AccountState {
    fn from(state: AccountStateView) -> Self {
        match state {
            AccountStateView::Active => AccountState::Active,
            AccountStateView::Suspended => AccountState::Suspended,
        }
    }
}

/// An account (a tenant) or a sub-account.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Account")]
pub struct AccountView {
    /// Id.
    pub id: Uuid,
    /// Globally unique slug, used to log in.
    pub slug: String,
    /// Name.
    pub name: String,
    /// State.
    pub state: AccountStateView,
    /// The parent account (`null` for a root account).
    pub parent_id: Option<Uuid>,
    /// The root account of the tree.
    pub root_id: Uuid,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Version; its `ETag` is `"v<version>"`, for `If-Match`.
    pub version: u64,
    /// The sales representative its users and the accounts below it default to.
    pub sales_representative: Option<Uuid>,
}

impl From<&Account> for AccountView {
    fn from(account: &Account) -> Self {
        AccountView {
            id: account.id.as_uuid(),
            slug: account.slug.to_string(),
            name: account.name.to_string(),
            state: account.state.into(),
            parent_id: account.parent().map(|id| id.as_uuid()),
            root_id: account.root().as_uuid(),
            created_at: at(account.created_at),
            version: account.version,
            sales_representative: account.sales_representative.map(|id| id.as_uuid()),
        }
    }
}

/// Sub-accounts.
#[derive(Object, Debug, Clone)]
pub struct AccountList {
    /// Accounts.
    pub items: Vec<AccountView>,
    /// Always `null`: the list is complete.
    pub next_cursor: Option<String>,
}

/// The settings of a root account (shared by its sub-accounts).
#[derive(Object, Debug, Clone)]
#[oai(rename = "Settings")]
pub struct SettingsView {
    /// Self-registration is open.
    pub self_registration: bool,
    /// The user type of self-registered members.
    pub member_user_type: Option<Uuid>,
    /// Users must verify their email before logging in.
    pub email_verification_required: bool,
    /// Usernames must be email addresses.
    pub usernames_must_be_emails: bool,
    /// How usernames are generated when omitted (`{email}`, `{first}.{last}`, `{f}{last}`, …).
    pub username_format: String,
    /// The user type of users created from contacts and imports.
    pub default_user_type: Option<Uuid>,
    /// Roles given by default.
    pub default_roles: Vec<Uuid>,
    /// Where orders are attributed when no external id matches.
    pub default_clerk_id: Option<String>,
    /// How long invitation links live.
    pub invitation_lifetime_seconds: i64,
    /// How long verification, set-password and reset links live.
    pub link_lifetime_seconds: i64,
    /// How long a login session lives.
    pub session_lifetime_seconds: i64,
    /// How long a console session lives without a request.
    pub console_idle_timeout_seconds: i64,
    /// Shortest password accepted.
    pub password_min_length: u16,
    /// Longest password accepted.
    pub password_max_length: u16,
    /// Whether this account's administrators set its seat totals (else the operator does).
    pub manages_own_seats: bool,
    /// Whether a just-in-time sign-in whose provider verified the email is linked to the user
    /// that already has it (otherwise it is refused with `identity_not_linked`).
    pub link_identities_by_verified_email: bool,
}

impl From<&Settings> for SettingsView {
    fn from(settings: &Settings) -> Self {
        SettingsView {
            self_registration: settings.self_registration,
            member_user_type: settings.member_user_type.map(|id| id.as_uuid()),
            email_verification_required: settings.email_verification_required,
            usernames_must_be_emails: settings.usernames_must_be_emails,
            username_format: settings.username_format.as_str().to_owned(),
            default_user_type: settings.default_user_type.map(|id| id.as_uuid()),
            default_roles: ids(&settings.default_roles, |id| id.as_uuid()),
            default_clerk_id: settings.default_clerk_id.clone(),
            invitation_lifetime_seconds: settings.invitation_lifetime.seconds(),
            link_lifetime_seconds: settings.link_lifetime.seconds(),
            session_lifetime_seconds: settings.session_lifetime.seconds(),
            console_idle_timeout_seconds: settings.console_idle_timeout.seconds(),
            password_min_length: settings.password_policy.min_length(),
            password_max_length: settings.password_policy.max_length(),
            manages_own_seats: settings.manages_own_seats,
            link_identities_by_verified_email: settings.link_identities_by_verified_email,
        }
    }
}
