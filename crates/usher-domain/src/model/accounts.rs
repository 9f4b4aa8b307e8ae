//! Accounts and the tree they form, and a root's settings (R19, R23).

use super::*;

/// A tenant: a root account (a company) or a sub-account of one, to any depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Id.
    pub id: AccountId,
    /// Where the account sits in the tree.
    pub path: AccountPath,
    /// Globally unique slug.
    pub slug: Slug,
    /// Display name.
    pub name: Name,
    /// Whether its users may log in.
    pub state: AccountState,
    /// Created at.
    pub created_at: Timestamp,
    /// Version, for `If-Match` (optimistic locking).
    pub version: u64,
    /// The account's sales representative, a user of the tenant: the default of its users
    /// and of the accounts below it that name none (Oro's customer sales representative).
    pub sales_representative: Option<UserId>,
}

impl Account {
    /// The root account of the tree this account belongs to (itself for a root).
    pub fn root(&self) -> AccountId {
        self.path.root()
    }
    /// Whether this is a root account.
    pub fn is_root(&self) -> bool {
        self.path.ancestors.is_empty()
    }
    /// The parent, if this is a sub-account.
    pub fn parent(&self) -> Option<AccountId> {
        self.path.ancestors.last().copied()
    }
}

/// An account's place in its tree: its id and its ancestors from the root down to its parent.
/// Invariant: no id repeats (a tree has no cycles); the root is the first ancestor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountPath {
    id: AccountId,
    ancestors: Vec<AccountId>,
}

impl AccountPath {
    /// The path of a root account.
    pub fn root_of(id: AccountId) -> AccountPath {
        AccountPath { id, ancestors: Vec::new() }
    }
    /// The path of a new child of `self`.
    pub fn child(&self, id: AccountId) -> AccountPath {
        let mut ancestors = self.ancestors.clone();
        ancestors.push(self.id);
        AccountPath { id, ancestors }
    }
    /// Rebuilds a stored path; refuses one with a cycle.
    pub fn restore(id: AccountId, ancestors: Vec<AccountId>) -> Result<AccountPath, ValueError> {
        let distinct: BTreeSet<AccountId> = ancestors.iter().copied().collect();
        if distinct.len() != ancestors.len() || distinct.contains(&id) {
            return Err(ValueError::Malformed { reason: "account path has a cycle" });
        }
        Ok(AccountPath { id, ancestors })
    }
    /// The account itself.
    pub fn id(&self) -> AccountId {
        self.id
    }
    /// The root of the tree.
    pub fn root(&self) -> AccountId {
        self.ancestors.first().copied().unwrap_or(self.id)
    }
    /// Ancestors, root first.
    pub fn ancestors(&self) -> &[AccountId] {
        &self.ancestors
    }
    /// Whether `other` is this account or one of its ancestors (i.e. this account lies in
    /// `other`'s subtree).
    pub fn is_within(&self, other: AccountId) -> bool {
        self.id == other || self.ancestors.contains(&other)
    }
}

/// Whether an account is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// Users may log in.
    Active,
    /// Suspended by the operator: nobody in the tree may log in.
    Suspended,
}

/// A duration bounded to a range that makes sense for links and sessions (5 minutes to 365 days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lifetime(Duration);

impl Lifetime {
    /// Parses a lifetime in seconds.
    pub fn from_seconds(seconds: i64) -> Result<Lifetime, ValueError> {
        const MIN: i64 = 5 * 60;
        const MAX: i64 = 365 * 24 * 3600;
        if !(MIN..=MAX).contains(&seconds) {
            return Err(ValueError::OutOfRange { min: MIN, max: MAX, actual: seconds });
        }
        Ok(Lifetime(Duration::seconds(seconds)))
    }
    /// Seven days: the default invitation lifetime.
    pub fn days(days: u16) -> Lifetime {
        Lifetime(Duration::days(i64::from(days.clamp(1, 365))))
    }
    /// Whole hours.
    pub fn hours(hours: u16) -> Lifetime {
        Lifetime(Duration::hours(i64::from(hours.clamp(1, 24 * 365))))
    }
    /// Whole minutes (at least 5).
    pub fn minutes(minutes: u16) -> Lifetime {
        Lifetime(Duration::minutes(i64::from(minutes.clamp(5, u16::MAX))))
    }
    /// The duration.
    pub fn duration(&self) -> Duration {
        self.0
    }
    /// Seconds.
    pub fn seconds(&self) -> i64 {
        self.0.whole_seconds()
    }
}

/// How usernames are generated when an administrator omits one (R5), e.g. `{first}.{last}`.
/// Placeholders: `{email}`, `{email_local}`, `{first}`, `{last}`, `{f}`, `{l}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsernameFormat(String);

impl UsernameFormat {
    /// The placeholders a format may use.
    pub const PLACEHOLDERS: [&'static str; 6] =
        ["{email}", "{email_local}", "{first}", "{last}", "{f}", "{l}"];

    /// Parses a format: at least one placeholder, only known placeholders, at most 100 characters.
    pub fn parse(raw: &str) -> Result<UsernameFormat, ValueError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(ValueError::Empty);
        }
        if value.len() > 100 {
            return Err(ValueError::TooLong { max: 100, actual: value.len() });
        }
        let mut rest = value;
        let mut n_placeholders = 0_usize;
        while let Some(start) = rest.find('{') {
            let after = rest.get(start..).unwrap_or_default();
            let Some(known) = Self::PLACEHOLDERS.iter().find(|p| after.starts_with(**p)) else {
                return Err(ValueError::Malformed { reason: "uses an unknown placeholder" });
            };
            n_placeholders += 1;
            rest = after.get(known.len()..).unwrap_or_default();
        }
        if n_placeholders == 0 || rest.contains('}') {
            return Err(ValueError::Malformed { reason: "must contain a placeholder such as {email}" });
        }
        Ok(UsernameFormat(value.to_owned()))
    }
    /// The format text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for UsernameFormat {
    fn default() -> Self {
        UsernameFormat("{email}".to_owned())
    }
}

/// Per-root-account settings (stored, fingerprinted and audited as a
/// [`SettingsDocument`](crate::document::SettingsDocument)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Whether people may register themselves as members (R12).
    pub self_registration: bool,
    /// The user type self-registered members get (R12).
    pub member_user_type: Option<UserTypeId>,
    /// Whether users must verify their email before logging in (R9, R14).
    pub email_verification_required: bool,
    /// Whether usernames must be email addresses (R5).
    pub usernames_must_be_emails: bool,
    /// How usernames are generated when omitted (R5).
    pub username_format: UsernameFormat,
    /// The user type of users created from contacts, imports and JIT (R17).
    pub default_user_type: Option<UserTypeId>,
    /// The roles such users get (R12, R17).
    pub default_roles: BTreeSet<RoleId>,
    /// The clerk id orders fall back to (R7).
    pub default_clerk_id: Option<String>,
    /// How long invitation links live (R10); 7 days by default.
    pub invitation_lifetime: Lifetime,
    /// How long verification, set-password and reset links live.
    pub link_lifetime: Lifetime,
    /// Password length limits (R15).
    pub password_policy: PasswordPolicy,
    /// How long a login session lives.
    pub session_lifetime: Lifetime,
    /// How long a console session lives without a request (its absolute end is
    /// `session_lifetime`).
    pub console_idle_timeout: Lifetime,
    /// Whether the operator lets this root's administrators set its seat totals (R23).
    pub manages_own_seats: bool,
    /// Whether a just-in-time sign-in whose provider verified the email is linked to the
    /// user that already has it (otherwise such a sign-in is refused).
    pub link_identities_by_verified_email: bool,
}

impl Settings {
    /// A digest of every setting (16 hex digits): the settings carry no version, so this
    /// names the state an `If-Match` expects.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let bytes = serde_json::to_vec(&crate::document::SettingsDocument::from(self)).unwrap_or_default();
        Sha256::digest(&bytes).iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The settings of a new root account.
    pub fn initial(
        member_user_type: UserTypeId,
        default_user_type: UserTypeId,
        default_role: RoleId,
    ) -> Settings {
        Settings {
            self_registration: false,
            member_user_type: Some(member_user_type),
            email_verification_required: true,
            usernames_must_be_emails: false,
            username_format: UsernameFormat::default(),
            default_user_type: Some(default_user_type),
            default_roles: BTreeSet::from([default_role]),
            default_clerk_id: None,
            invitation_lifetime: Lifetime::days(7),
            link_lifetime: Lifetime::hours(24),
            password_policy: PasswordPolicy::standard(),
            session_lifetime: Lifetime::hours(12),
            console_idle_timeout: Lifetime::minutes(30),
            manages_own_seats: false,
            link_identities_by_verified_email: false,
        }
    }
}
