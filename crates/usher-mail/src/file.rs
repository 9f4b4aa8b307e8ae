//! The file sink: one `.eml` file per message (RFC 5322, as an SMTP server would receive it),
//! the default, so usher runs without a mail server.

use std::path::PathBuf;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncTransport, Tokio1Executor};

use usher_domain::ports::{MailError, Mailer, RenderedMail};

use crate::message;

/// Writes each mail as an `.eml` file into a directory.
#[derive(Debug, Clone)]
pub struct FileMailer {
    transport: AsyncFileTransport<Tokio1Executor>,
    from: Mailbox,
}

impl FileMailer {
    /// Writes into `dir` (which must exist), from `from`.
    pub fn new(dir: PathBuf, from: Mailbox) -> FileMailer {
        FileMailer { transport: AsyncFileTransport::new(dir), from }
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: &RenderedMail) -> Result<(), MailError> {
        let message = message(&self.from, mail)?;
        self.transport.send(message).await.map(|_| ()).map_err(|err| MailError::Transient(err.to_string()))
    }
}
