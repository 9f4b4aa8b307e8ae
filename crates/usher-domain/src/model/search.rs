//! A directory search over a tenant's users: what SCIM's filters mean, independent of SCIM's
//! syntax. Each store runs it as one indexed query; the in-memory store runs
//! [`UserMatch::matches`], which is also the reference the contract suite holds the stores to.

use super::*;

/// An attribute a search may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserAttr {
    /// The user's id.
    Id,
    /// The username (compared without regard to case).
    Username,
    /// The provisioning client's id for the user (compared exactly).
    ExternalId,
    /// The email (compared without regard to case).
    Email,
    /// First and last name, else the username (compared without regard to case).
    DisplayName,
    /// The first name (compared without regard to case).
    GivenName,
    /// The last name (compared without regard to case).
    FamilyName,
    /// Whether the user is enabled.
    Active,
    /// When the user was created.
    Created,
    /// When the user last changed.
    LastModified,
}

/// What kind of value an attribute holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrKind {
    /// Text compared exactly.
    ExactText,
    /// Text compared without regard to case.
    Text,
    /// A flag.
    Flag,
    /// A point in time.
    Time,
}

impl UserAttr {
    /// The kind of value the attribute holds.
    pub fn kind(self) -> AttrKind {
        match self {
            UserAttr::Id | UserAttr::ExternalId => AttrKind::ExactText,
            UserAttr::Username
            | UserAttr::Email
            | UserAttr::DisplayName
            | UserAttr::GivenName
            | UserAttr::FamilyName => AttrKind::Text,
            UserAttr::Active => AttrKind::Flag,
            UserAttr::Created | UserAttr::LastModified => AttrKind::Time,
        }
    }

    /// The attribute's value for `user` as the search compares it (text lower-cased where the
    /// comparison ignores case); `None` when the user has no value.
    pub fn value_of(self, user: &User) -> Option<Operand> {
        let text = |value: &str| Some(Operand::Text(value.to_owned()));
        let lower = |value: &str| Some(Operand::Text(value.to_lowercase()));
        match self {
            UserAttr::Id => text(&user.id.as_uuid().to_string()),
            UserAttr::Username => lower(user.username.as_str()),
            UserAttr::ExternalId => user.external_id.as_ref().and_then(|id| text(id.as_str())),
            UserAttr::Email => lower(user.email.as_str()),
            UserAttr::DisplayName => lower(&user.display_name()),
            UserAttr::GivenName => user.profile.first_name.as_ref().and_then(|n| lower(n.as_str())),
            UserAttr::FamilyName => user.profile.last_name.as_ref().and_then(|n| lower(n.as_str())),
            UserAttr::Active => Some(Operand::Flag(user.state == UserState::Active)),
            UserAttr::Created => Some(Operand::Time(user.created_at)),
            UserAttr::LastModified => Some(Operand::Time(user.updated_at)),
        }
    }
}

/// How a value is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Contains.
    Contains,
    /// Starts with.
    StartsWith,
    /// Ends with.
    EndsWith,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

/// A value compared against.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operand {
    /// Text (lower-cased by [`UserMatch::compare`] where the attribute ignores case).
    Text(String),
    /// A flag.
    Flag(bool),
    /// A point in time.
    Time(Timestamp),
}

/// A comparison a search cannot make, e.g. `active co "t"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{attribute} cannot be compared with {comparison} against {operand}")]
pub struct UnsupportedComparison {
    /// The attribute's name as the caller gave it.
    pub attribute: String,
    /// The comparison.
    pub comparison: &'static str,
    /// What it was compared against.
    pub operand: &'static str,
}

/// Which users a search returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserMatch {
    /// Every user.
    Everyone,
    /// Users whose attribute compares true against the operand; a user without a value
    /// never matches (and matches `Not` of it).
    Compare(UserAttr, Comparison, Operand),
    /// Users who have a value for the attribute.
    Present(UserAttr),
    /// Users the inner match leaves out.
    Not(Box<UserMatch>),
    /// Users every inner match takes.
    All(Vec<UserMatch>),
    /// Users any inner match takes.
    Any(Vec<UserMatch>),
}

impl UserMatch {
    /// A comparison, checked against the attribute's kind: text takes every comparison, a
    /// flag only `eq` and `ne`, a time all but the text ones. `name` is the attribute as the
    /// caller spelt it, for the error.
    pub fn compare(
        attr: UserAttr,
        comparison: Comparison,
        operand: Operand,
        name: &str,
    ) -> Result<UserMatch, UnsupportedComparison> {
        let textual =
            matches!(comparison, Comparison::Contains | Comparison::StartsWith | Comparison::EndsWith);
        let ordered = matches!(comparison, Comparison::Gt | Comparison::Ge | Comparison::Lt | Comparison::Le);
        let operand = match (attr.kind(), operand) {
            // An id is compared whole.
            (_, operand) if attr == UserAttr::Id && (textual || ordered) => {
                return Err(UnsupportedComparison {
                    attribute: name.to_owned(),
                    comparison: comparison.as_str(),
                    operand: operand.kind_name(),
                });
            }
            (AttrKind::Text, Operand::Text(text)) => Operand::Text(text.to_lowercase()),
            (AttrKind::ExactText, Operand::Text(text)) => Operand::Text(text),
            (AttrKind::Flag, Operand::Flag(flag)) if !textual && !ordered => Operand::Flag(flag),
            (AttrKind::Time, Operand::Time(at)) if !textual => Operand::Time(at),
            (_, operand) => {
                return Err(UnsupportedComparison {
                    attribute: name.to_owned(),
                    comparison: comparison.as_str(),
                    operand: operand.kind_name(),
                });
            }
        };
        Ok(UserMatch::Compare(attr, comparison, operand))
    }

    /// Whether `user` is one of the users this match takes.
    pub fn matches(&self, user: &User) -> bool {
        match self {
            UserMatch::Everyone => true,
            UserMatch::Present(attr) => attr.value_of(user).is_some(),
            UserMatch::Not(inner) => !inner.matches(user),
            UserMatch::All(inner) => inner.iter().all(|m| m.matches(user)),
            UserMatch::Any(inner) => inner.iter().any(|m| m.matches(user)),
            UserMatch::Compare(attr, comparison, operand) => {
                attr.value_of(user).is_some_and(|value| comparison.holds(&value, operand))
            }
        }
    }
}

impl Comparison {
    /// The comparison's SCIM name.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Eq => "eq",
            Comparison::Ne => "ne",
            Comparison::Contains => "co",
            Comparison::StartsWith => "sw",
            Comparison::EndsWith => "ew",
            Comparison::Gt => "gt",
            Comparison::Ge => "ge",
            Comparison::Lt => "lt",
            Comparison::Le => "le",
        }
    }

    /// Whether `value` compares true against `operand` (values of one kind; text compares
    /// byte by byte, as the stores' keys do).
    pub fn holds(self, value: &Operand, operand: &Operand) -> bool {
        let texts = match (value, operand) {
            (Operand::Text(value), Operand::Text(operand)) => Some((value.as_str(), operand.as_str())),
            _ => None,
        };
        match self {
            Comparison::Eq => value == operand,
            Comparison::Ne => value != operand,
            Comparison::Contains => texts.is_some_and(|(v, o)| v.contains(o)),
            Comparison::StartsWith => texts.is_some_and(|(v, o)| v.starts_with(o)),
            Comparison::EndsWith => texts.is_some_and(|(v, o)| v.ends_with(o)),
            Comparison::Gt => value > operand,
            Comparison::Ge => value >= operand,
            Comparison::Lt => value < operand,
            Comparison::Le => value <= operand,
        }
    }
}

impl Operand {
    fn kind_name(&self) -> &'static str {
        match self {
            Operand::Text(_) => "a string",
            Operand::Flag(_) => "a boolean",
            Operand::Time(_) => "a date-time",
        }
    }
}

/// The order of a search's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchOrder {
    /// Oldest first (by id, which is time-ordered).
    #[default]
    Created,
    /// By username, A to Z.
    UsernameAscending,
    /// By username, Z to A.
    UsernameDescending,
}

/// A page of a search: the number of users that match, and those from `offset` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    /// How many users match in all.
    pub total: u64,
    /// The users of the page.
    pub users: Vec<User>,
}
