//! Contacts users are made from (R17).

use super::*;

/// A person or organization a user may be created from (R17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Id.
    pub id: ContactId,
    /// Root account.
    pub root: AccountId,
    /// Account the contact belongs to.
    pub account: AccountId,
    /// Person or organization.
    pub kind: ContactKind,
    /// First name (persons).
    pub first_name: Option<Name>,
    /// Last name (persons) or the organization's name.
    pub last_name: Option<Name>,
    /// Email.
    pub email: Option<Email>,
    /// Phone.
    pub phone: Option<Name>,
    /// The user created from this contact.
    pub user: Option<UserId>,
    /// Created at.
    pub created_at: Timestamp,
    /// Version, for `If-Match`.
    pub version: u64,
}

/// The kind of a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// A person.
    Person,
    /// An organization: a user needs an explicit name and email (R17).
    Organization,
}

impl ContactKind {
    /// The kind as written: `person` or `organization`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Person => "person",
            ContactKind::Organization => "organization",
        }
    }

    /// A kind as written, ignoring case.
    pub fn parse(text: &str) -> Option<ContactKind> {
        [ContactKind::Person, ContactKind::Organization]
            .into_iter()
            .find(|kind| text.eq_ignore_ascii_case(kind.as_str()))
    }
}
