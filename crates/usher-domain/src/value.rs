//! Value types that cannot hold invalid values: each has one fallible constructor (`parse`),
//! private fields and borrowed getters. Input is parsed once, at the edge.

use std::collections::BTreeSet;
use std::fmt;

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

/// Why a value was refused; the field name is added by the caller that knows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The value is empty after trimming.
    #[error("must not be empty")]
    Empty,
    /// The value is longer than allowed.
    #[error("must be at most {max} characters (got {actual})")]
    TooLong {
        /// The limit.
        max: usize,
        /// The length received.
        actual: usize,
    },
    /// The value is shorter than allowed.
    #[error("must be at least {min} characters (got {actual})")]
    TooShort {
        /// The limit.
        min: usize,
        /// The length received.
        actual: usize,
    },
    /// The value has a character or a shape that is not allowed; `reason` says which.
    #[error("{reason}")]
    Malformed {
        /// A short, safe description of the problem.
        reason: &'static str,
    },
    /// The number is outside its range.
    #[error("must be between {min} and {max} (got {actual})")]
    OutOfRange {
        /// Lowest allowed.
        min: i64,
        /// Highest allowed.
        max: i64,
        /// Received.
        actual: i64,
    },
    /// The list or map has more entries than allowed.
    #[error("must have at most {max} entries (got {actual})")]
    TooMany {
        /// The limit.
        max: usize,
        /// The number received.
        actual: usize,
    },
}

fn normalized(raw: &str) -> String {
    raw.trim().nfc().collect()
}

/// Simple case folding (upper, then lower, then NFC): `ß`, `SS` and `ss` fold alike.
fn fold_case(value: &str) -> String {
    value.to_uppercase().to_lowercase().nfc().collect()
}

fn check_len(value: &str, max: usize) -> Result<(), ValueError> {
    let actual = value.chars().count();
    if actual == 0 {
        return Err(ValueError::Empty);
    }
    if actual > max {
        return Err(ValueError::TooLong { max, actual });
    }
    Ok(())
}

macro_rules! serialize_as_str {
    ($($ty:ty),*) => {$(
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    )*};
}

serialize_as_str!(Email, Username, Slug, Name, Key, Locale, ExternalId);

/// An email address: trimmed, Unicode NFC, lower-cased; `local@domain` with a dotted domain,
/// at most 254 characters, local part at most 64, no whitespace or control characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address.
    pub fn parse(raw: &str) -> Result<Email, ValueError> {
        let value = normalized(raw).to_lowercase();
        check_len(&value, 254)?;
        let malformed = |reason| Err(ValueError::Malformed { reason });
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return malformed("must not contain spaces or control characters");
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return malformed("must contain an @");
        };
        if local.is_empty() || local.chars().count() > 64 || local.contains('@') {
            return malformed("the part before @ must be 1 to 64 characters without another @");
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return malformed(
                "the part before @ must not start or end with a dot or contain two dots in a row",
            );
        }
        if local.chars().any(|c| "()<>[]\\,;:\"".contains(c)) {
            return malformed("the part before @ contains a character that needs quoting");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return malformed("the domain must contain a dot");
        }
        for label in &labels {
            let valid_chars = label.chars().all(|c| c.is_alphanumeric() || c == '-');
            if label.is_empty()
                || label.len() > 63
                || !valid_chars
                || label.starts_with('-')
                || label.ends_with('-')
            {
                return malformed("the domain is not a valid host name");
            }
        }
        Ok(Email(value))
    }
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or(self.0.as_str(), |(local, _)| local)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A login name: trimmed, Unicode NFC, 1–254 characters, no whitespace or control characters,
/// and nothing that passes for another name (UTS #39 identifier types and mixed-script
/// detection): no invisible, default-ignorable or bidi-control character, no fullwidth or
/// other compatibility form, no deprecated or non-identifier character, and each label
/// between ASCII punctuation in a single script (no Cyrillic `а` in `admin`).
/// Case is kept for display; uniqueness and lookups use [`Username::key`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Parses and normalises a username.
    pub fn parse(raw: &str) -> Result<Username, ValueError> {
        let value = normalized(raw);
        check_len(&value, 254)?;
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ValueError::Malformed { reason: "must not contain spaces or control characters" });
        }
        check_not_confusable(&value)?;
        Ok(Username(value))
    }
    /// The username as entered (NFC).
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The case-insensitive key under which the username is unique within a root account.
    pub fn key(&self) -> UsernameKey {
        UsernameKey(fold_case(&self.0))
    }
    /// True when the username matches `other` ignoring case (e.g. an ERP or POS id, R6/R7).
    pub fn matches(&self, other: &str) -> bool {
        self.key().0 == fold_case(&normalized(other))
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// UTS #39 checks of a username (see [`Username`]).
fn check_not_confusable(value: &str) -> Result<(), ValueError> {
    use unicode_security::general_security_profile::IdentifierType;
    use unicode_security::{GeneralSecurityProfile, MixedScript};
    // Rare, historic or technical letters are fine in a name; what hides, reorders or
    // imitates another character is not.
    let passes_for_another = |c: char| {
        matches!(
            c.identifier_type(),
            None | Some(
                IdentifierType::Not_Character
                    | IdentifierType::Deprecated
                    | IdentifierType::Default_Ignorable
                    | IdentifierType::Not_NFKC
                    | IdentifierType::Not_XID
            )
        )
    };
    if value.chars().any(|c| !c.is_ascii() && passes_for_another(c)) {
        return Err(ValueError::Malformed {
            reason: "must not contain invisible, direction-changing or look-alike characters",
        });
    }
    if value.split(|c: char| c.is_ascii_punctuation()).any(|label| !label.is_single_script()) {
        return Err(ValueError::Malformed {
            reason: "must not mix scripts (such as Latin and Cyrillic) in one part",
        });
    }
    Ok(())
}

/// The lower-cased, NFC form of a username: what uniqueness and sorting use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsernameKey(String);

impl UsernameKey {
    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An account slug: 2–63 characters of `a-z`, `0-9` and `-`, not starting or ending with `-`.
/// Globally unique.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(String);

impl Slug {
    /// Parses a slug (lower-casing it).
    pub fn parse(raw: &str) -> Result<Slug, ValueError> {
        let value = raw.trim().to_ascii_lowercase();
        check_len(&value, 63)?;
        if value.len() < 2 {
            return Err(ValueError::TooShort { min: 2, actual: value.len() });
        }
        let valid = value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid || value.starts_with('-') || value.ends_with('-') {
            return Err(ValueError::Malformed {
                reason: "must be letters a-z, digits and inner hyphens only",
            });
        }
        Ok(Slug(value))
    }
    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Slug({})", self.0)
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display text (a person's or account's name, a role or user-type name): trimmed, NFC,
/// 1–200 characters, no control characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    /// Parses a name.
    pub fn parse(raw: &str) -> Result<Name, ValueError> {
        let value = normalized(raw);
        check_len(&value, 200)?;
        if value.chars().any(char::is_control) {
            return Err(ValueError::Malformed { reason: "must not contain control characters" });
        }
        Ok(Name(value))
    }
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id a provisioning client (a SCIM identity provider, an import file) gives a user in
/// its own system: 1–255 characters, no control characters, kept exactly as given (SCIM's
/// `externalId` compares case-exact).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExternalId(String);

impl ExternalId {
    /// The longest external id.
    pub const MAX: usize = 255;
    /// Parses an external id.
    pub fn parse(raw: &str) -> Result<ExternalId, ValueError> {
        check_len(raw, Self::MAX)?;
        if raw.chars().any(char::is_control) {
            return Err(ValueError::Malformed { reason: "must not contain control characters" });
        }
        Ok(ExternalId(raw.to_owned()))
    }
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A short machine key (user-type keys such as `admin`, external-id kinds such as
/// `erp_salesperson`, device identifiers): 1–64 characters of `a-z`, `0-9`, `_`, `-`, `.`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(String);

impl Key {
    /// Parses a key (lower-casing it).
    pub fn parse(raw: &str) -> Result<Key, ValueError> {
        let value = raw.trim().to_ascii_lowercase();
        check_len(&value, 64)?;
        if !value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c)) {
            return Err(ValueError::Malformed { reason: "must be letters a-z, digits, _, - and . only" });
        }
        Ok(Key(value))
    }
    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A BCP 47 language tag such as `en`, `de-CH` (2–35 characters, letters, digits and `-`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Locale(String);

impl Locale {
    /// Parses a language tag.
    pub fn parse(raw: &str) -> Result<Locale, ValueError> {
        let value = raw.trim().replace('_', "-");
        check_len(&value, 35)?;
        let mut parts = value.split('-');
        let primary_ok = parts
            .next()
            .is_some_and(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
        let rest_ok =
            parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
        if !primary_ok || !rest_ok {
            return Err(ValueError::Malformed { reason: "must be a language tag such as en or de-CH" });
        }
        Ok(Locale(value))
    }
    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A module of the product a permission applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Module {
    /// Accounts and sub-accounts.
    Accounts,
    /// Account settings.
    Settings,
    /// User types.
    UserTypes,
    /// Subscription and seats.
    Subscription,
    /// Users.
    Users,
    /// Roles.
    Roles,
    /// Invitations.
    Invitations,
    /// API keys.
    ApiKeys,
    /// The audit log.
    Audit,
    /// The event feed and webhooks (R26): read the feed, manage webhooks.
    Events,
    /// Token introspection: `read` lets an app ask whether a user's session token is active
    /// (RFC 7662) and what it may do.
    Introspection,
    /// SCIM 2.0 provisioning at `/scim/v2`: what an identity provider's API key holds, beside
    /// the `users` and `roles` permissions its changes need.
    Scim,
    /// Contacts.
    Contacts,
    /// Pricing (admin only by default).
    Pricing,
    /// Payment (admin only by default).
    Payment,
    /// Orders.
    Orders,
    /// Product catalog.
    Catalog,
    /// Quotes.
    Quotes,
    /// Reports.
    Reports,
}

impl Module {
    /// Every module, in catalog order.
    pub const ALL: [Module; 19] = [
        Module::Accounts,
        Module::Settings,
        Module::UserTypes,
        Module::Subscription,
        Module::Users,
        Module::Roles,
        Module::Invitations,
        Module::ApiKeys,
        Module::Audit,
        Module::Events,
        Module::Introspection,
        Module::Scim,
        Module::Contacts,
        Module::Pricing,
        Module::Payment,
        Module::Orders,
        Module::Catalog,
        Module::Quotes,
        Module::Reports,
    ];
    /// The module's wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Module::Accounts => "accounts",
            Module::Settings => "settings",
            Module::UserTypes => "user_types",
            Module::Subscription => "subscription",
            Module::Users => "users",
            Module::Roles => "roles",
            Module::Invitations => "invitations",
            Module::ApiKeys => "api_keys",
            Module::Audit => "audit",
            Module::Events => "events",
            Module::Introspection => "introspection",
            Module::Scim => "scim",
            Module::Contacts => "contacts",
            Module::Pricing => "pricing",
            Module::Payment => "payment",
            Module::Orders => "orders",
            Module::Catalog => "catalog",
            Module::Quotes => "quotes",
            Module::Reports => "reports",
        }
    }
    /// User management, pricing and payment: what the built-in `user` role never has.
    pub fn is_admin_only(&self) -> bool {
        !matches!(
            self,
            Module::Contacts | Module::Orders | Module::Catalog | Module::Quotes | Module::Reports
        )
    }
}

/// What a permission allows within its module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// See.
    Read,
    /// Create, change and delete.
    Write,
}

/// A permission `module:action`, e.g. `users:write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    module: Module,
    access: Access,
}

impl Permission {
    /// The permission to `access` in `module`.
    pub const fn new(module: Module, access: Access) -> Permission {
        Permission { module, access }
    }
    /// Parses `module:read` or `module:write`.
    pub fn parse(raw: &str) -> Result<Permission, ValueError> {
        let raw = raw.trim();
        let Some((module_name, access_name)) = raw.split_once(':') else {
            return Err(ValueError::Malformed { reason: "must look like module:read or module:write" });
        };
        let module = Module::ALL
            .into_iter()
            .find(|m| m.as_str() == module_name)
            .ok_or(ValueError::Malformed { reason: "names an unknown module" })?;
        let access = match access_name {
            "read" => Access::Read,
            "write" => Access::Write,
            _ => return Err(ValueError::Malformed { reason: "action must be read or write" }),
        };
        Ok(Permission { module, access })
    }
    /// The module.
    pub fn module(&self) -> Module {
        self.module
    }
    /// The access.
    pub fn access(&self) -> Access {
        self.access
    }
    /// Every permission of the catalog (`GET /v1/permissions`).
    pub fn catalog() -> BTreeSet<Permission> {
        Module::ALL
            .into_iter()
            .flat_map(|module| {
                [Permission::new(module, Access::Read), Permission::new(module, Access::Write)]
            })
            .collect()
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let access = match self.access {
            Access::Read => "read",
            Access::Write => "write",
        };
        write!(f, "{}:{access}", self.module.as_str())
    }
}

/// Permissions as a reader sees them: `users:write, roles:read`.
pub fn permission_list(permissions: &[Permission]) -> String {
    permissions.iter().map(Permission::to_string).collect::<Vec<_>>().join(", ")
}

impl serde::Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A number of license seats (0 to 1,000,000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeatCount(u32);

impl SeatCount {
    /// The largest seat count one user type may have.
    pub const MAX: u32 = 10_000_000;
    /// Parses a count.
    pub fn new(count: i64) -> Result<SeatCount, ValueError> {
        match u32::try_from(count) {
            Ok(n) if n <= Self::MAX => Ok(SeatCount(n)),
            _ => Err(ValueError::OutOfRange { min: 0, max: i64::from(Self::MAX), actual: count }),
        }
    }
    /// The count.
    pub fn get(&self) -> u32 {
        self.0
    }
}

/// A password as typed by a person. Never logged, serialised or compared outside the hasher.
#[derive(Clone)]
pub struct PlainPassword(String);

impl PlainPassword {
    /// Wraps a password exactly as received; the policy ([`crate::password`]) decides if it is acceptable.
    pub fn new(raw: impl Into<String>) -> PlainPassword {
        PlainPassword(raw.into())
    }
    /// The secret text; call only to hand it to a hasher.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlainPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainPassword([redacted])")
    }
}

/// A stored password hash (a PHC string such as `$argon2id$v=19$...`). Never returned by an API.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string.
    pub fn parse(phc: &str) -> Result<PasswordHash, ValueError> {
        if !phc.starts_with('$') || phc.len() > 512 || phc.chars().any(char::is_whitespace) {
            return Err(ValueError::Malformed { reason: "must be a PHC string" });
        }
        Ok(PasswordHash(phc.to_owned()))
    }
    /// The PHC string, for storage and verification.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// A bearer secret (invitation, verification, set-password, reset, session or API-key token).
/// Minted from 256 random bits; only its [`TokenHash`] is ever stored (R13).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// Mints a token from 32 random bytes, with an optional readable prefix (e.g. `usk_`).
    pub fn from_random(prefix: &str, random: [u8; 32]) -> SecretToken {
        let mut text = String::with_capacity(prefix.len() + 64);
        text.push_str(prefix);
        for byte in random {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        SecretToken(text)
    }
    /// Parses a token presented by a caller (16–256 visible ASCII characters).
    pub fn parse(raw: &str) -> Result<SecretToken, ValueError> {
        let value = raw.trim();
        if value.len() < 16 {
            return Err(ValueError::TooShort { min: 16, actual: value.len() });
        }
        if value.len() > 256 {
            return Err(ValueError::TooLong { max: 256, actual: value.len() });
        }
        if !value.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ValueError::Malformed { reason: "must be visible ASCII characters" });
        }
        Ok(SecretToken(value.to_owned()))
    }
    /// The secret text, to put in a link or a response shown once.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// The SHA-256 of the token: what is stored and looked up.
    pub fn hash(&self) -> TokenHash {
        let digest = Sha256::digest(self.0.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        TokenHash(hex)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken([redacted])")
    }
}

/// The stored form of a [`SecretToken`]: 64 lowercase hex characters of its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// Wraps a stored hash.
    pub fn parse(hex: &str) -> Result<TokenHash, ValueError> {
        if hex.len() != 64 || !hex.bytes().all(|b| HEX.contains(&b)) {
            return Err(ValueError::Malformed { reason: "must be 64 lowercase hex characters" });
        }
        Ok(TokenHash(hex.to_owned()))
    }
    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests;
