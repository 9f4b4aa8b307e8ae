//! Strict request types. poem-openapi's `String` also accepts JSON numbers and booleans, and
//! its `time::Date` is documented with a format no client knows; these accept exactly what the
//! spec says, so a body that violates the spec is a 400 and never half-understood.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type};
use serde_json::Value;
use usher_domain::value::Permission;

/// What one kind of request text may hold. The spec publishes these limits and the server
/// checks exactly them, so a request the spec allows is read and one it forbids is a 400;
/// what only the domain can judge (a taken username, an unknown account) comes after, as a
/// typed problem.
pub trait TextKind: Send + Sync + 'static {
    /// The kind's name in the schema registry.
    const NAME: &'static str;
    /// What a value is, for the refusal ("a key").
    const WHAT: &'static str;
    /// Fewest characters (Unicode scalar values, as JSON Schema counts).
    const MIN_LENGTH: Option<usize> = None;
    /// Most characters.
    const MAX_LENGTH: Option<usize> = None;
    /// The ECMA-262 pattern published in the spec; [`TextKind::matches`] is its code.
    const PATTERN: Option<&'static str> = None;
    /// The JSON Schema format published in the spec.
    const FORMAT: Option<&'static str> = None;
    /// True for secrets: debug output shows no value.
    const SECRET: bool = false;
    /// The whole list of values, when the kind is a closed set.
    fn choices() -> Vec<String> {
        Vec::new()
    }
    /// True when `text` matches [`TextKind::PATTERN`] (and is one of the choices, if any).
    fn matches(_text: &str) -> bool {
        true
    }
}

/// A JSON string of one [`TextKind`], and nothing else (poem-openapi's `String` also takes
/// numbers and booleans).
pub struct Text<K: TextKind = Free>(pub String, PhantomData<fn() -> K>);

impl<K: TextKind> Text<K> {
    /// A text of this kind, unchecked (for tests and conversions).
    pub fn new(text: impl Into<String>) -> Text<K> {
        Text(text.into(), PhantomData)
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Checks the published limits; the refusal says which, without quoting the value.
    fn check(text: String) -> Result<Text<K>, String> {
        let length = text.chars().count();
        if let Some(min) = K::MIN_LENGTH.filter(|min| length < *min) {
            return Err(format!("{} must have at least {min} characters, not {length}", K::WHAT));
        }
        if let Some(max) = K::MAX_LENGTH.filter(|max| length > *max) {
            return Err(format!("{} must have at most {max} characters, not {length}", K::WHAT));
        }
        if !K::matches(&text) {
            let shape = K::PATTERN.map_or_else(|| K::choices().join(", "), str::to_owned);
            return Err(format!("{} must match {shape}", K::WHAT));
        }
        Ok(Text::new(text))
    }
}

impl<K: TextKind> fmt::Debug for Text<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if K::SECRET {
            write!(f, "Text<{}>([redacted])", K::NAME)
        } else {
            write!(f, "Text<{}>({:?})", K::NAME, self.0)
        }
    }
}

impl<K: TextKind> Clone for Text<K> {
    fn clone(&self) -> Self {
        Text::new(self.0.clone())
    }
}

impl<K: TextKind> PartialEq for Text<K> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<K: TextKind> AsRef<str> for Text<K> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<K: TextKind> From<Text<K>> for String {
    fn from(text: Text<K>) -> String {
        text.0
    }
}

impl<K: TextKind> Type for Text<K> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        K::NAME.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = match K::FORMAT {
            Some(format) => MetaSchema::new_with_format("string", format),
            None => MetaSchema::new("string"),
        };
        schema.min_length = K::MIN_LENGTH;
        schema.max_length = K::MAX_LENGTH;
        schema.pattern = K::PATTERN.map(str::to_owned);
        schema.enum_items = K::choices().into_iter().map(Value::String).collect();
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: TextKind> ParseFromJSON for Text<K> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Text::check(text).map_err(ParseError::custom),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl<K: TextKind> ParseFromParameter for Text<K> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Text::check(value.to_owned()).map_err(ParseError::custom)
    }
}

impl<K: TextKind> ToJSON for Text<K> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

/// Declares text kinds: their published limits. A kind with a pattern is checked by that very
/// pattern (the `regex` crate reads the ECMA-262 subset the patterns use alike); one without
/// may give the code of what it checks.
macro_rules! text_kinds {
    ($(
        $(#[$doc:meta])*
        $kind:ident { name: $name:literal, what: $what:literal $(, min: $min:literal)? $(, max: $max:literal)?
            $(, pattern: $pattern:literal)? $(, format: $format:literal)? $(, secret: $secret:literal)?
            $(, matches: $matches:expr)? $(,)? }
    )*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $kind;

        impl TextKind for $kind {
            const NAME: &'static str = $name;
            const WHAT: &'static str = $what;
            $(const MIN_LENGTH: Option<usize> = Some($min);)?
            $(const MAX_LENGTH: Option<usize> = Some($max);)?
            $(const PATTERN: Option<&'static str> = Some($pattern);)?
            $(const FORMAT: Option<&'static str> = Some($format);)?
            $(const SECRET: bool = $secret;)?
            $(fn matches(text: &str) -> bool {
                static PATTERN: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
                // A pattern that does not compile refuses everything (a unit test compiles each).
                PATTERN.get_or_init(|| regex::Regex::new($pattern).ok()).as_ref().is_some_and(|re| re.is_match(text))
            })?
            $(fn matches(text: &str) -> bool {
                let matches: fn(&str) -> bool = $matches;
                matches(text)
            })?
        }
    )*};
}

text_kinds! {
    /// Any string (search terms, free values the domain bounds itself).
    Free { name: "string", what: "the value" }
    /// A display name: a person's, an account's, a role's (value type `Name`).
    NameKind {
        name: "string_name", what: "a name", min: 1, max: 200,
        pattern: r"^[^\x00-\x1f\x7f-\x9f]*[^ \x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
    }
    /// A short machine key: a user-type key, a device identifier (value type `Key`).
    KeyKind { name: "string_key", what: "a key", min: 1, max: 64, pattern: r"^[A-Za-z0-9_.-]{1,64}$" }
    /// An account slug (value type `Slug`).
    SlugKind {
        name: "string_slug", what: "an account slug", min: 2, max: 63,
        pattern: r"^[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9]$",
    }
    /// An email address (value type `Email`); the domain judges its shape.
    EmailKind {
        name: "string_email", what: "an email address", min: 3, max: 254, format: "email",
        matches: |t| t.contains('@'),
    }
    /// A username (value type `Username`); the domain judges look-alike characters.
    UsernameKind {
        name: "string_username", what: "a username", min: 1, max: 254, pattern: r"^[^ \x00-\x1f\x7f-\x9f]+$",
    }
    /// A language tag such as `en` or `de-CH` (value type `Locale`).
    LocaleKind {
        name: "string_locale", what: "a language tag", min: 2, max: 35,
        pattern: r"^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$",
    }
    /// An http(s) URL: a host name, an optional port, path and query of URL characters
    /// (RFC 3986, no user info, brackets or fragment).
    UrlKind {
        name: "string_url", what: "an http(s) URL", min: 8, max: 2000,
        pattern: r"^https?://[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?(\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$",
    }
    /// A one-time token from a link (value type `SecretToken`).
    TokenKind { name: "string_token", what: "a token", min: 16, max: 256, pattern: r"^[!-~]{16,256}$" }
    /// A username format with placeholders (R5); the domain bounds its length (a length in
    /// the spec makes tools rewrite the pattern into one they cannot read).
    UsernameFormatKind {
        name: "string_username_format", what: "a username format",
        pattern: r"^[^{}\x00-\x1f\x7f-\x9f]*(\{(email|email_local|first|last|f|l)\}[^{}\x00-\x1f\x7f-\x9f]*)+$",
    }
    /// A short free value: an external id, a clerk id, a phone number.
    ShortTextKind {
        name: "string_short", what: "the value", min: 1, max: 100,
        pattern: r"^[^\x00-\x1f\x7f-\x9f]*[^ \x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
    }
    /// A password being set: the bounds every policy keeps within (a tenant's policy may ask
    /// for more, R15).
    NewPasswordKind {
        name: "string_new_password", what: "a password", min: 8, max: 128, format: "password", secret: true,
    }
    /// A password presented to log in or to prove who one is.
    PasswordKind { name: "string_password", what: "a password", min: 1, max: 1024, format: "password", secret: true }
    /// An `If-Match` value: `*` or an `ETag` this server issued, a version (`"v3"`) or a
    /// settings fingerprint (`"s…"`); empty reads as absent.
    EtagKind { name: "string_etag", what: "If-Match", pattern: r#"^(\*|"v[0-9]{1,19}"|"s[0-9a-f]{16}")?$"# }
    /// A page cursor: `next_cursor` of the page before (empty reads as the first page).
    CursorKind {
        name: "string_cursor", what: "a cursor", pattern: r"^(([0-9a-f]{2}){0,1024}\.[0-9a-f]{32})?$",
    }
    /// Event types, by name or family (`user.*`), separated by commas.
    EventTypesKind {
        name: "string_event_types", what: "event types", max: 2000,
        pattern: r"^([a-z_]+\.(\*|[a-z_]+)(,[a-z_]+\.(\*|[a-z_]+))*)?$",
    }
    /// A free attribute's value.
    AttributeKind { name: "string_attribute", what: "an attribute value", max: 1000 }
}

/// A permission `module:read` or `module:write`, one of the catalog (value type `Permission`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionKind;

impl TextKind for PermissionKind {
    const NAME: &'static str = "string_permission";
    const WHAT: &'static str = "a permission";

    fn choices() -> Vec<String> {
        Permission::catalog().iter().map(Permission::to_string).collect()
    }

    fn matches(text: &str) -> bool {
        Permission::parse(text).is_ok_and(|permission| permission.to_string() == text)
    }
}

/// A calendar date, `YYYY-MM-DD` (JSON Schema format `date`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub time::Date);

const DAY_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Type for Day {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for Day {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => time::Date::parse(&text, DAY_FORMAT).map(Day).map_err(ParseError::custom),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Day {
    fn to_json(&self) -> Option<Value> {
        self.0.format(DAY_FORMAT).ok().map(Value::String)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_takes_strings_only() {
        assert_eq!(<Text>::parse_from_json(Some(Value::from("a"))).ok(), Some(Text::new("a")));
        assert!(<Text>::parse_from_json(Some(Value::from(5))).is_err());
        assert!(<Text>::parse_from_json(Some(Value::Bool(true))).is_err());
    }

    fn accepts<K: TextKind>(text: &str) -> bool {
        Text::<K>::parse_from_json(Some(Value::from(text))).is_ok()
    }

    #[test]
    fn names_are_bounded_and_free_of_control_characters() {
        assert!(accepts::<NameKind>("Zoë d'Arc"));
        assert!(accepts::<NameKind>(&"n".repeat(200)));
        assert!(!accepts::<NameKind>(&"n".repeat(201)));
        assert!(!accepts::<NameKind>(""));
        assert!(!accepts::<NameKind>("   "));
        assert!(!accepts::<NameKind>("a\tb"));
        assert!(!accepts::<NameKind>("a\u{85}b"));
        assert!(
            accepts::<NameKind>("\u{3000}"),
            "the spec names the ASCII space only; the domain trims the rest"
        );
    }

    #[test]
    fn keys_are_refused_whole_with_no_trimming() {
        assert!(accepts::<KeyKind>("erp_salesperson"));
        assert!(!accepts::<KeyKind>("sales\n"), "ECMA-262's $ ends the string");
        assert!(!accepts::<KeyKind>(" sales"));
        assert!(!accepts::<KeyKind>("sales team"));
        assert!(!accepts::<KeyKind>(&"k".repeat(65)));
    }

    #[test]
    fn etags_and_cursors_are_the_ones_this_server_issues() {
        assert!(accepts::<EtagKind>("*") && accepts::<EtagKind>("\"v12\""));
        assert!(accepts::<EtagKind>("\"s0123456789abcdef\"") && !accepts::<EtagKind>("\"s0123\""));
        assert!(accepts::<EtagKind>(""), "an empty If-Match reads as none");
        assert!(!accepts::<EtagKind>("\"12\"") && !accepts::<EtagKind>("W/\"v1\""));
        assert!(!accepts::<EtagKind>(&format!("\"v{}\"", "9".repeat(20))));
        let cursor = usher_domain::ports::Cursor::at_time(
            usher_domain::time::Timestamp::from_unix_micros(5).unwrap(),
            uuid::Uuid::from_u128(0xabcdef),
        );
        assert!(accepts::<CursorKind>(&cursor.encode()));
        assert!(accepts::<CursorKind>(""), "an empty cursor is the first page");
        assert!(!accepts::<CursorKind>("abc.def") && !accepts::<CursorKind>(&cursor.encode().to_uppercase()));
    }

    #[test]
    fn slugs_locales_tokens_urls_and_emails_follow_their_patterns() {
        assert!(accepts::<SlugKind>("acme-east") && accepts::<SlugKind>("A1"));
        assert!(!accepts::<SlugKind>("-acme") && !accepts::<SlugKind>("acme-") && !accepts::<SlugKind>("a"));
        assert!(accepts::<LocaleKind>("de-CH") && accepts::<LocaleKind>("pt_BR"));
        assert!(
            !accepts::<LocaleKind>("d") && !accepts::<LocaleKind>("de--CH") && !accepts::<LocaleKind>("1e")
        );
        assert!(accepts::<TokenKind>("usi_0123456789abcdef"));
        assert!(!accepts::<TokenKind>("short") && !accepts::<TokenKind>("usi_0123456789 abcdef"));
        assert!(accepts::<UrlKind>("https://example.com/me.png"));
        assert!(!accepts::<UrlKind>("ftp://example.com") && !accepts::<UrlKind>("https://"));
        assert!(!accepts::<UrlKind>("https://exämple.com"), "RFC 3986 is ASCII");
        assert!(!accepts::<UrlKind>("http://["), "no bracket a URL parser chokes on");
        assert!(accepts::<UrlKind>("http://cdn.example.com:8080/a/b.png?size=64&x=%20"));
        assert!(accepts::<EmailKind>("a@b.c") && !accepts::<EmailKind>("nobody"));
        assert!(accepts::<UsernameKind>("müller.k") && !accepts::<UsernameKind>("a b"));
    }

    #[test]
    fn username_formats_use_known_placeholders_only() {
        assert!(accepts::<UsernameFormatKind>("{first}.{last}"));
        assert!(accepts::<UsernameFormatKind>("pos-{email_local}"));
        assert!(!accepts::<UsernameFormatKind>("plain"));
        assert!(!accepts::<UsernameFormatKind>("{nickname}"));
        assert!(!accepts::<UsernameFormatKind>("a}{first}"));
    }

    #[test]
    fn permissions_are_the_catalog_spelled_exactly() {
        assert!(accepts::<PermissionKind>("users:write"));
        assert!(!accepts::<PermissionKind>(" users:write"));
        assert!(!accepts::<PermissionKind>("users:admin"));
        let schema = <Text<PermissionKind>>::schema_ref();
        let MetaSchemaRef::Inline(schema) = schema else { panic!("inline") };
        assert_eq!(schema.enum_items.len(), Permission::catalog().len());
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        let password = Text::<NewPasswordKind>::new("correct horse battery");
        assert_eq!(format!("{password:?}"), "Text<string_new_password>([redacted])");
        assert!(!accepts::<NewPasswordKind>("short") && !accepts::<NewPasswordKind>(&"p".repeat(129)));
    }

    fn pattern_of<K: TextKind>() -> Option<&'static str> {
        K::PATTERN
    }

    #[test]
    fn every_pattern_compiles() {
        for pattern in [
            pattern_of::<NameKind>(),
            pattern_of::<KeyKind>(),
            pattern_of::<SlugKind>(),
            pattern_of::<UsernameKind>(),
            pattern_of::<LocaleKind>(),
            pattern_of::<UrlKind>(),
            pattern_of::<TokenKind>(),
            pattern_of::<UsernameFormatKind>(),
            pattern_of::<ShortTextKind>(),
            pattern_of::<EtagKind>(),
            pattern_of::<CursorKind>(),
            pattern_of::<EventTypesKind>(),
        ]
        .into_iter()
        .flatten()
        {
            assert!(regex::Regex::new(pattern).is_ok(), "{pattern}");
        }
    }

    #[test]
    fn refusals_name_the_limit_and_never_quote_the_value() {
        let err = Text::<KeyKind>::check("Sales Team".into()).unwrap_err();
        assert!(err.contains("a key must match") && !err.contains("Sales"), "{err}");
        let err = Text::<NameKind>::check("x".repeat(201)).unwrap_err();
        assert_eq!(err, "a name must have at most 200 characters, not 201");
    }

    #[test]
    fn days_are_calendar_dates() {
        let day = Day::parse_from_json(Some(Value::from("1990-02-28"))).ok().map(|d| d.0);
        assert_eq!(day, time::Date::from_calendar_date(1990, time::Month::February, 28).ok());
        assert!(Day::parse_from_json(Some(Value::from("1990-02-30"))).is_err());
        assert!(Day::parse_from_json(Some(Value::from(""))).is_err());
    }
}
