//! Queued mail and its delivery on the wire.

use super::*;

/// Where a queued mail is on its way.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum DeliveryStateView {
    /// Waiting for its first or next attempt.
    Pending,
    /// Accepted by the mail server (or written to the mail folder).
    Sent,
    /// Given up (refused for good, or out of attempts); `POST /v1/mail/{id}/retry` sends it again.
    Failed,
}

impl From<DeliveryState> for DeliveryStateView {
    fn from(state: DeliveryState) -> Self {
        match state {
            DeliveryState::Pending => DeliveryStateView::Pending,
            DeliveryState::Sent => DeliveryStateView::Sent,
            DeliveryState::Failed => DeliveryStateView::Failed,
        }
    }
}

impl From<DeliveryStateView> for DeliveryState {
    fn from(state: DeliveryStateView) -> Self {
        match state {
            DeliveryStateView::Pending => DeliveryState::Pending,
            DeliveryStateView::Sent => DeliveryState::Sent,
            DeliveryStateView::Failed => DeliveryState::Failed,
        }
    }
}

/// A mail in the outbox with its delivery, without its content (which may carry a link token).
#[derive(Object, Debug, Clone)]
#[oai(rename = "QueuedMail")]
pub struct QueuedMailView {
    /// Id.
    pub id: Uuid,
    /// Account the mail concerns.
    pub account_id: Uuid,
    /// Recipient.
    pub to: String,
    /// `invitation`, `welcome`, `email_verification`, `password_reset` or `password_changed`.
    pub kind: String,
    /// Locale the mail is rendered in (English when empty or not shipped).
    pub locale: Option<String>,
    /// Queued.
    pub created_at: OffsetDateTime,
    /// Delivery state.
    pub state: DeliveryStateView,
    /// Attempts made so far.
    pub attempts: u32,
    /// When a pending mail is tried next.
    pub next_attempt_at: Option<OffsetDateTime>,
    /// Why the last attempt failed (the mail server's answer).
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<OffsetDateTime>,
}

impl From<&QueuedMail> for QueuedMailView {
    fn from(queued: &QueuedMail) -> Self {
        let (mail, delivery) = (&queued.mail, &queued.delivery);
        QueuedMailView {
            id: mail.id.as_uuid(),
            account_id: mail.account.as_uuid(),
            to: mail.to.to_string(),
            kind: mail.message.kind().to_owned(),
            locale: mail.locale.as_ref().map(|l| l.as_str().to_owned()),
            created_at: at(mail.created_at),
            state: delivery.state.into(),
            attempts: delivery.attempts,
            next_attempt_at: delivery.next_attempt_at.map(at),
            last_error: delivery.last_error.clone(),
            sent_at: delivery.sent_at.map(at),
        }
    }
}

/// A page of queued mail.
#[derive(Object, Debug, Clone)]
pub struct QueuedMailList {
    /// Mail, oldest first.
    pub items: Vec<QueuedMailView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}
