//! Contacts on the wire.

use super::*;

/// A person or organization the account deals with.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum ContactKindView {
    /// A person.
    Person,
    /// An organization.
    Organization,
}

impl From<ContactKind> for ContactKindView {
    fn from(kind: ContactKind) -> Self {
        match kind {
            ContactKind::Person => ContactKindView::Person,
            ContactKind::Organization => ContactKindView::Organization,
        }
    }
}

impl From<ContactKindView> for ContactKind {
    fn from(kind: ContactKindView) -> Self {
        match kind {
            ContactKindView::Person => ContactKind::Person,
            ContactKindView::Organization => ContactKind::Organization,
        }
    }
}

/// A contact.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Contact")]
pub struct ContactView {
    /// Id.
    pub id: Uuid,
    /// Account.
    pub account_id: Uuid,
    /// Person or organization.
    pub kind: ContactKindView,
    /// First name.
    pub first_name: Option<String>,
    /// Last name (or the organization's name).
    pub last_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// The user created from this contact.
    pub user_id: Option<Uuid>,
    /// Created.
    pub created_at: OffsetDateTime,
}

impl From<&Contact> for ContactView {
    fn from(contact: &Contact) -> Self {
        ContactView {
            id: contact.id.as_uuid(),
            account_id: contact.account.as_uuid(),
            kind: contact.kind.into(),
            first_name: contact.first_name.as_ref().map(ToString::to_string),
            last_name: contact.last_name.as_ref().map(ToString::to_string),
            email: contact.email.as_ref().map(ToString::to_string),
            phone: contact.phone.as_ref().map(ToString::to_string),
            user_id: contact.user.map(|id| id.as_uuid()),
            created_at: at(contact.created_at),
        }
    }
}

/// A page of contacts.
#[derive(Object, Debug, Clone)]
pub struct ContactList {
    /// Contacts.
    pub items: Vec<ContactView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}
