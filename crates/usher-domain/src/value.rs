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

serialize_as_str!(Email, Username, Slug, Name, Key, Locale);

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
    pub const ALL: [Module; 16] = [
        Module::Accounts,
        Module::Settings,
        Module::UserTypes,
        Module::Subscription,
        Module::Users,
        Module::Roles,
        Module::Invitations,
        Module::ApiKeys,
        Module::Audit,
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
    pub const MAX: u32 = 1_000_000;
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
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn email_is_trimmed_lowercased_and_nfc() {
        let decomposed = " Jose\u{0301}@Example.COM ";
        assert_eq!(Email::parse(decomposed).unwrap().as_str(), "jos\u{e9}@example.com");
    }

    #[test]
    fn email_refuses_malformed_addresses_with_a_reason() {
        for raw in ["", "no-at", "a@b", "a b@example.com", "@example.com", "a..b@example.com", "a@-x.com"] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be refused");
        }
    }

    #[test]
    fn username_key_ignores_case_and_unicode_composition() {
        // R5: uniqueness is case-insensitive and NFC.
        let composed = Username::parse("J\u{f6}rg").unwrap();
        let decomposed = Username::parse("jo\u{0308}RG").unwrap();
        assert_eq!(composed.key(), decomposed.key());
        assert_eq!(decomposed.as_str(), "jo\u{0308}RG".nfc().collect::<String>());
    }

    #[test]
    fn emails_follow_the_usual_shape_at_its_limits() {
        let local64 = "l".repeat(64);
        let label63 = "d".repeat(63);
        for (raw, ok) in [
            ("ada@example.com", true),
            (&format!("{local64}@example.com"), true),
            (&format!("{local64}x@example.com"), false),
            (&format!("ada@{label63}.com"), true),
            (&format!("ada@{label63}d.com"), false),
            ("@example.com", false),
            ("ada@example", false),
            ("ada@@example.com", false),
            (".ada@example.com", false),
            ("ada.@example.com", false),
            ("a..da@example.com", false),
            ("ad<a@example.com", false),
            ("ada@-example.com", false),
            ("ada@example-.com", false),
            ("ada@exa_mple.com", false),
            ("ada@example..com", false),
        ] {
            assert_eq!(Email::parse(raw).is_ok(), ok, "{raw}");
        }
    }

    #[test]
    fn names_slugs_locales_and_hashes_keep_their_bounds() {
        assert!(Name::parse(&"n".repeat(200)).is_ok());
        assert_eq!(Name::parse(&"n".repeat(201)), Err(ValueError::TooLong { max: 200, actual: 201 }));
        assert_eq!(Name::parse("  "), Err(ValueError::Empty));
        for (raw, ok) in
            [("ab", true), ("a", false), ("a-b", true), ("-ab", false), ("ab-", false), ("a_b", false)]
        {
            assert_eq!(Slug::parse(raw).is_ok(), ok, "slug {raw}");
        }
        assert!(Slug::parse(&"s".repeat(63)).is_ok() && Slug::parse(&"s".repeat(64)).is_err());
        for (raw, ok) in [
            ("en", true),
            ("de_CH", true),
            ("de-1996", true),
            ("e", false),
            ("en-", false),
            ("e1", false),
            ("en-toolongsub", false),
        ] {
            assert_eq!(Locale::parse(raw).is_ok(), ok, "locale {raw}");
        }
        assert!(PasswordHash::parse("$argon2id$v=19$m=19456").is_ok());
        for bad in ["argon2id", "$argon2id $v", &format!("${}", "h".repeat(512))] {
            assert!(PasswordHash::parse(bad).is_err(), "{bad}");
        }
        assert!(Username::parse("ada\u{7}").is_err(), "a control character");
        assert!(Username::parse("a da").is_err(), "a space");
        let listed = permission_list(&[
            Permission::new(Module::Users, Access::Write),
            Permission::new(Module::Roles, Access::Read),
        ]);
        assert_eq!(listed, "users:write, roles:read");
    }

    #[test]
    fn tokens_and_hashes_keep_their_shape() {
        assert!(SecretToken::parse(&"t".repeat(16)).is_ok() && SecretToken::parse(&"t".repeat(15)).is_err());
        assert!(
            SecretToken::parse(&"t".repeat(256)).is_ok() && SecretToken::parse(&"t".repeat(257)).is_err()
        );
        assert!(TokenHash::parse(&"a".repeat(64)).is_ok());
        assert!(TokenHash::parse(&"a".repeat(63)).is_err() && TokenHash::parse(&"g".repeat(64)).is_err());
        assert!(PasswordHash::parse(&format!("${}", "h".repeat(511))).is_ok(), "512 characters");
    }

    #[test]
    fn debug_output_names_values_but_never_secrets() {
        assert_eq!(format!("{:?}", Email::parse("ada@example.com").unwrap()), "Email(ada@example.com)");
        assert_eq!(format!("{:?}", Username::parse("ada").unwrap()), "Username(ada)");
        assert!(!format!("{:?}", PlainPassword::new("hunter2 hunter2")).contains("hunter2"));
    }

    #[test]
    fn r5_confusable_and_invisible_usernames_are_refused() {
        // UTS #39: a name that passes for another is refused; honest names in any script pass.
        for spoof in [
            "\u{430}dmin",        // Cyrillic a beside Latin letters
            "ad\u{200b}min",      // zero-width space
            "admin\u{202e}nimda", // right-to-left override
            "\u{ff41}dmin",       // fullwidth a
            "adm\u{ad}in",        // soft hyphen (default-ignorable)
        ] {
            assert!(Username::parse(spoof).is_err(), "{spoof:?} must be refused");
        }
        for honest in [
            "admin",
            "J\u{f6}rg.M\u{fc}ller",
            "\u{432}\u{438}\u{43a}\u{442}\u{43e}\u{440}@example.com",
            "\u{5c71}\u{7530}",
            "jo.doe+1@example.com",
        ] {
            assert!(Username::parse(honest).is_ok(), "{honest:?} must pass");
        }
    }

    #[test]
    fn token_hash_is_sha256_hex_and_debug_hides_the_secret() {
        // R13: only the hash is stored; the secret never appears in debug output.
        let token = SecretToken::from_random("", [7; 32]);
        assert_eq!(token.expose().len(), 64);
        assert_eq!(token.hash().as_str().len(), 64);
        assert_ne!(token.hash().as_str(), token.expose());
        assert!(!format!("{token:?}").contains(token.expose()));
        assert!(TokenHash::parse(token.hash().as_str()).is_ok());
    }

    #[test]
    fn permission_round_trips_through_its_text() {
        for permission in Permission::catalog() {
            assert_eq!(Permission::parse(&permission.to_string()), Ok(permission));
        }
        assert!(Permission::parse("users:delete").is_err());
        assert!(Permission::parse("nope:read").is_err());
    }

    #[test]
    fn seat_count_refuses_negative_and_huge_numbers() {
        assert!(SeatCount::new(-1).is_err());
        assert!(SeatCount::new(1_000_001).is_err());
        assert_eq!(SeatCount::new(10).unwrap().get(), 10);
    }

    proptest! {
        // R5: normalisation is idempotent and the key is case-insensitive.
        #[test]
        // The Latin-1 and Extended-A letters, less the compatibility forms (Ĳ, Ŀ, ſ) and the
        // deprecated ŉ that the UTS #39 check refuses.
        fn username_parsing_is_idempotent(
            raw in "[A-Za-z\u{c0}-\u{d6}\u{d8}-\u{f6}\u{f8}-\u{131}\u{134}-\u{13e}\u{141}-\u{148}\u{14a}-\u{17e}0-9._@+-]{1,40}"
        ) {
            let once = Username::parse(&raw).unwrap();
            let twice = Username::parse(once.as_str()).unwrap();
            prop_assert_eq!(&once, &twice);
            let upper = Username::parse(&raw.to_uppercase()).unwrap();
            prop_assert_eq!(upper.key(), Username::parse(&raw.to_lowercase()).unwrap().key());
        }

        #[test]
        fn email_parsing_is_idempotent(raw in "[a-zA-Z0-9._+-]{1,20}@[a-z0-9]{1,20}\\.[a-z]{2,6}") {
            prop_assume!(!raw.starts_with('.') && !raw.contains("..") && !raw.contains(".@"));
            let once = Email::parse(&raw).unwrap();
            prop_assert_eq!(Email::parse(once.as_str()).unwrap(), once);
        }
    }
}
