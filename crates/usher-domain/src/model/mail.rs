//! Mail in the outbox and its delivery (R20).

use super::*;

/// A mail waiting in the transactional outbox (R20). The link token travels in the payload
/// until the dispatcher has sent it; it is the only place a raw token is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    /// Id.
    pub id: MailId,
    /// Root account.
    pub root: AccountId,
    /// Account.
    pub account: AccountId,
    /// Recipient.
    pub to: Email,
    /// Preferred locale of the recipient.
    pub locale: Option<Locale>,
    /// What to send.
    pub message: MailMessage,
    /// Enqueued at.
    pub created_at: Timestamp,
}

/// The kinds of mail usher sends, with what each template needs (stored and templated as a
/// [`MailDocument`](crate::document::MailDocument)).
#[derive(Clone, PartialEq, Eq)]
pub enum MailMessage {
    /// An invitation with its accept link (R10).
    Invitation {
        /// Invitation.
        invitation: InvitationId,
        /// The inviting account's name.
        account_name: String,
        /// Link token; `None` once the mail was sent (the outbox forgets it).
        token: Option<SecretToken>,
        /// When the link dies.
        expires_at: Timestamp,
    },
    /// A welcome with a set-password link (R16).
    Welcome {
        /// User.
        user: UserId,
        /// Username to log in with.
        username: String,
        /// Link token; `None` once the mail was sent (the outbox forgets it).
        token: Option<SecretToken>,
        /// When the link dies.
        expires_at: Timestamp,
    },
    /// An email-verification link (R9).
    EmailVerification {
        /// User.
        user: UserId,
        /// Link token; `None` once the mail was sent (the outbox forgets it).
        token: Option<SecretToken>,
        /// When the link dies.
        expires_at: Timestamp,
    },
    /// A password-reset link (R16, R21).
    PasswordReset {
        /// User.
        user: UserId,
        /// Link token; `None` once the mail was sent (the outbox forgets it).
        token: Option<SecretToken>,
        /// When the link dies.
        expires_at: Timestamp,
    },
    /// A notice that the password changed.
    PasswordChanged {
        /// User.
        user: UserId,
    },
    /// A notice to the owner of an address that someone tried to register with it, with
    /// the way to log in or reset the password (registration answers alike either way).
    RegistrationAttempt {
        /// The user who has the address.
        user: UserId,
        /// The account's slug, to log in with.
        account: String,
    },
    /// A password-reset request for a typed address, not yet looked up: the dispatcher turns
    /// it into a [`MailMessage::PasswordReset`] when an active user has the address, and
    /// drops it otherwise, so the request costs the same either way (R21).
    PasswordResetRequest {
        /// Where the request came from, for the audit log.
        source: Option<String>,
    },
}

impl MailMessage {
    /// The template kind, e.g. `invitation`.
    pub fn kind(&self) -> &'static str {
        match self {
            MailMessage::Invitation { .. } => "invitation",
            MailMessage::Welcome { .. } => "welcome",
            MailMessage::EmailVerification { .. } => "email_verification",
            MailMessage::PasswordReset { .. } => "password_reset",
            MailMessage::PasswordChanged { .. } => "password_changed",
            MailMessage::RegistrationAttempt { .. } => "registration_attempt",
            MailMessage::PasswordResetRequest { .. } => "password_reset_request",
        }
    }

    /// The same message without its link token: what the outbox keeps once it was sent.
    pub fn without_token(&self) -> MailMessage {
        let mut message = self.clone();
        match &mut message {
            MailMessage::Invitation { token, .. }
            | MailMessage::Welcome { token, .. }
            | MailMessage::EmailVerification { token, .. }
            | MailMessage::PasswordReset { token, .. } => *token = None,
            MailMessage::PasswordChanged { .. }
            | MailMessage::RegistrationAttempt { .. }
            | MailMessage::PasswordResetRequest { .. } => {}
        }
        message
    }
}

/// Where a queued mail is on its way (R20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for its first or next attempt.
    Pending,
    /// Accepted by the mail server (or written by the file sink).
    Sent,
    /// Given up: refused for good, or out of attempts. An administrator may retry it.
    Failed,
}

impl DeliveryState {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
        }
    }
}

/// How the delivery of a queued mail went so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// State.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When a pending mail is tried next (or its current attempt's lease ends).
    pub next_attempt_at: Option<Timestamp>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<Timestamp>,
}

/// A mail of the outbox with its delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// The mail (its token is gone once sent).
    pub mail: OutboxMail,
    /// Its delivery.
    pub delivery: Delivery,
}

impl std::fmt::Debug for MailMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The payload carries a link token; debug output names the kind only.
        write!(f, "MailMessage::{}", self.kind())
    }
}
