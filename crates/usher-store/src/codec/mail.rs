//! Rows to domain values and back: outbox mail: its message document and delivery.

use super::*;

/// The stored text of a message: its [`MailDocument`].
pub(crate) fn message_to_json(message: &MailMessage) -> Result<String, RepoError> {
    to_json("mail", &MailDocument::from(message))
}

pub(crate) fn message_from_json(raw: &str) -> Result<MailMessage, RepoError> {
    MailMessage::try_from(from_json::<MailDocument>("mail", raw)?).map_err(corrupt("mail"))
}

/// A stored message as an erasure leaves it (R8): no token, and `username` for any username.
pub(crate) fn erased_message(raw: &str, username: &str) -> Result<String, RepoError> {
    let mut message = message_from_json(raw)?.without_token();
    if let MailMessage::Welcome { username: name, .. } = &mut message {
        username.clone_into(name);
    }
    message_to_json(&message)
}

pub(crate) fn mail_row(m: &OutboxMail) -> Result<outbox::Model, RepoError> {
    Ok(outbox::Model {
        id: m.id.as_uuid(),
        root_id: m.root.as_uuid(),
        account_id: m.account.as_uuid(),
        recipient: m.to.as_str().to_owned(),
        locale: m.locale.as_ref().map(|l| l.as_str().to_owned()),
        message: message_to_json(&m.message)?,
        created_at: m.created_at.unix_micros(),
        state: "pending".to_owned(),
        attempts: 0,
        next_attempt_at: m.created_at.unix_micros(),
        last_error: None,
        sent_at: None,
    })
}

pub(crate) fn queued_from_row(row: outbox::Model) -> Result<QueuedMail, RepoError> {
    const E: &str = "mail";
    let state = match row.state.as_str() {
        "pending" => DeliveryState::Pending,
        "sent" => DeliveryState::Sent,
        "failed" => DeliveryState::Failed,
        other => return Err(RepoError::corrupt(E, format!("unknown delivery state {other:?}"))),
    };
    let delivery = Delivery {
        state,
        attempts: u32::try_from(row.attempts).map_err(|e| RepoError::corrupt(E, e))?,
        next_attempt_at: match state {
            DeliveryState::Pending => Some(time(E, row.next_attempt_at)?),
            DeliveryState::Sent | DeliveryState::Failed => None,
        },
        last_error: row.last_error.clone(),
        sent_at: row.sent_at.map(|at| time(E, at)).transpose()?,
    };
    Ok(QueuedMail { mail: mail_from_row(row)?, delivery })
}

pub(crate) fn mail_from_row(row: outbox::Model) -> Result<OutboxMail, RepoError> {
    const E: &str = "mail";
    Ok(OutboxMail {
        id: MailId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        to: Email::parse(&row.recipient).map_err(corrupt(E))?,
        locale: optional(E, row.locale.as_deref(), Locale::parse)?,
        message: message_from_json(&row.message)?,
        created_at: time(E, row.created_at)?,
    })
}
