//! Rows to domain values and back: contacts.

use super::*;

pub(crate) fn contact_row(c: &Contact) -> contact::Model {
    contact::Model {
        id: c.id.as_uuid(),
        root_id: c.root.as_uuid(),
        account_id: c.account.as_uuid(),
        kind: contact_kind_text(c.kind).to_owned(),
        first_name: name_text(&c.first_name),
        last_name: name_text(&c.last_name),
        email: c.email.as_ref().map(|e| e.as_str().to_owned()),
        phone: name_text(&c.phone),
        user_id: c.user.map(|u| u.as_uuid()),
        created_at: c.created_at.unix_micros(),
        version: version(c.version),
    }
}

pub(crate) fn contact_from_row(row: contact::Model) -> Result<Contact, RepoError> {
    const E: &str = "contact";
    Ok(Contact {
        id: ContactId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        kind: contact_kind_of(E, &row.kind)?,
        first_name: optional(E, row.first_name.as_deref(), Name::parse)?,
        last_name: optional(E, row.last_name.as_deref(), Name::parse)?,
        email: optional(E, row.email.as_deref(), Email::parse)?,
        phone: optional(E, row.phone.as_deref(), Name::parse)?,
        user: row.user_id.map(UserId::from_uuid),
        created_at: time(E, row.created_at)?,
        version: u64::try_from(row.version).map_err(|e| RepoError::corrupt(E, e))?,
    })
}

pub(crate) fn contact_kind_text(kind: ContactKind) -> &'static str {
    kind.as_str()
}

pub(crate) fn contact_kind_of(entity: &'static str, text: &str) -> Result<ContactKind, RepoError> {
    match text {
        "person" => Ok(ContactKind::Person),
        "organization" => Ok(ContactKind::Organization),
        other => Err(RepoError::corrupt(entity, format!("unknown contact kind {other:?}"))),
    }
}
