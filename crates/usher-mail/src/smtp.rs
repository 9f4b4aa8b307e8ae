//! Sending through an SMTP server with lettre: plain, STARTTLS or implicit TLS (rustls), with
//! credentials, over a small pool of connections.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use usher_domain::ports::{MailError, Mailer, RenderedMail};

use crate::message;

/// How long one SMTP exchange may take before the attempt counts as failed (and is retried).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Sends mail to an SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for an `smtp://` or `smtps://` URL (see [`crate::MailTarget`]).
    pub fn from_url(url: &str, from: Mailbox) -> Result<SmtpMailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|err| format!("cannot use the SMTP URL: {err}"))?
            .timeout(Some(TIMEOUT))
            .build();
        Ok(SmtpMailer { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &RenderedMail) -> Result<(), MailError> {
        let message = message(&self.from, mail)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            // A 5xx answer (no such mailbox, refused) will not change by trying again.
            Err(err) if err.is_permanent() => Err(MailError::Permanent(err.to_string())),
            Err(err) => Err(MailError::Transient(err.to_string())),
        }
    }
}
