//! The mail adapter: templates that turn a queued mail into what its recipient reads
//! ([`TemplateRenderer`]), the mailers ([`SmtpMailer`], and [`FileMailer`], the default, which
//! writes one `.eml` per message so the server runs with no mail server), chosen by a
//! [`MailTarget`] URL, and the dispatcher loop that drains the outbox ([`run_dispatcher`]).

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart, header};

use usher_domain::ports::{MailError, MailRenderer, Mailer, RenderedMail};
use usher_domain::service::Ports;
use usher_domain::service::mail::{DeliveryPolicy, DispatchReport, dispatch_due};

mod file;
mod smtp;
mod templates;

pub use file::FileMailer;
pub use smtp::SmtpMailer;
pub use templates::{KINDS, LOCALES, TemplateError, TemplateRenderer};

/// Where mail goes, from `USHER_MAIL`:
/// - `file://<folder>`: one `.eml` per message in the folder (`file://mail`, relative, or
///   `file:///var/mail/usher`);
/// - `smtp://[user:password@]host[:port]`: SMTP without TLS (a relay on localhost);
/// - `smtp://…?tls=required`: STARTTLS, refusing a server without it
///   (`tls=opportunistic` uses it when offered);
/// - `smtps://[user:password@]host[:port]`: implicit TLS (port 465).
///
/// User and password are percent-encoded in the URL.
#[derive(Clone, PartialEq, Eq)]
pub enum MailTarget {
    /// The file sink.
    Folder(PathBuf),
    /// An SMTP server; the URL as given (it may hold a password).
    Smtp(String),
}

impl std::fmt::Debug for MailTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl std::fmt::Display for MailTarget {
    /// The target without its password, for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailTarget::Folder(folder) => write!(f, "file://{}", folder.display()),
            MailTarget::Smtp(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("smtp", url));
                let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                write!(f, "{scheme}://{host}")
            }
        }
    }
}

impl std::str::FromStr for MailTarget {
    type Err = String;
    fn from_str(raw: &str) -> Result<MailTarget, String> {
        if let Some(folder) = raw.strip_prefix("file://") {
            if folder.is_empty() {
                return Err("file:// needs a folder, e.g. file://mail".to_owned());
            }
            return Ok(MailTarget::Folder(PathBuf::from(folder)));
        }
        if raw.starts_with("smtp://") || raw.starts_with("smtps://") {
            return Ok(MailTarget::Smtp(raw.to_owned()));
        }
        Err("must start with file://, smtp:// or smtps:// (e.g. smtp://mail.example.com:587?tls=required)"
            .to_owned())
    }
}

/// Either mailer, as chosen by a [`MailTarget`].
#[derive(Debug, Clone)]
pub enum AnyMailer {
    /// `.eml` files.
    File(FileMailer),
    /// SMTP.
    Smtp(SmtpMailer),
}

impl AnyMailer {
    /// The mailer for `target`, sending from `from` (e.g. `usher <noreply@example.com>`).
    /// A folder is created when missing.
    pub fn new(target: &MailTarget, from: &str) -> Result<AnyMailer, String> {
        let from = from.parse::<Mailbox>().map_err(|err| format!("sender {from:?}: {err}"))?;
        match target {
            MailTarget::Folder(folder) => {
                std::fs::create_dir_all(folder)
                    .map_err(|err| format!("cannot create {}: {err}", folder.display()))?;
                Ok(AnyMailer::File(FileMailer::new(folder.clone(), from)))
            }
            MailTarget::Smtp(url) => SmtpMailer::from_url(url, from).map(AnyMailer::Smtp),
        }
    }
}

#[async_trait]
impl Mailer for AnyMailer {
    async fn send(&self, mail: &RenderedMail) -> Result<(), MailError> {
        match self {
            AnyMailer::File(mailer) => mailer.send(mail).await,
            AnyMailer::Smtp(mailer) => mailer.send(mail).await,
        }
    }
}

/// The RFC 5322 message of a rendered mail: text and HTML alternatives, marked as sent by a
/// machine (`Auto-Submitted`), so auto-responders stay quiet.
pub fn message(from: &Mailbox, mail: &RenderedMail) -> Result<Message, MailError> {
    let to = mail.to.as_str().parse::<Mailbox>().map_err(|err| MailError::Permanent(err.to_string()))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
        .map_err(|err| MailError::Permanent(err.to_string()))
        .map(|mut message| {
            message.headers_mut().insert_raw(header::HeaderValue::new(
                header::HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".to_owned(),
            ));
            message
        })
}

/// Drains the outbox until `shutdown` resolves: a round right away while a full batch came
/// back, otherwise one every `interval`. `on_round` hears each round's outcome (for metrics).
pub async fn run_dispatcher(
    ports: Ports,
    renderer: impl MailRenderer,
    mailer: impl Mailer,
    policy: DeliveryPolicy,
    interval: StdDuration,
    on_round: impl Fn(&DispatchReport) + Send,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let round = dispatch_due(&ports, &renderer, &mailer, &policy);
        let outcome = tokio::select! {
            () = &mut shutdown => return,
            outcome = round => outcome,
        };
        let full = match outcome {
            Ok(report) => {
                if report.handled() > 0 {
                    tracing::info!(
                        sent = report.sent,
                        retried = report.retried,
                        failed = report.failed,
                        "outbox"
                    );
                    on_round(&report);
                }
                // A resolved reset request queued a mail that is due at once.
                report.resolved > 0 || report.handled() >= usize::try_from(policy.batch).unwrap_or(usize::MAX)
            }
            Err(err) => {
                tracing::warn!(error = %err, "outbox round failed; trying again");
                false
            }
        };
        if full {
            continue;
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[tokio::test]
    async fn mail_targets_parse_and_hide_the_password() {
        assert_eq!("file://mail".parse::<MailTarget>().unwrap(), MailTarget::Folder("mail".into()));
        assert_eq!("file:///var/mail".parse::<MailTarget>().unwrap(), MailTarget::Folder("/var/mail".into()));
        let smtp: MailTarget = "smtp://usher:s3cret@mail.example.com:587?tls=required".parse().unwrap();
        assert_eq!(smtp.to_string(), "smtp://mail.example.com:587?tls=required");
        assert!(!format!("{smtp:?}").contains("s3cret"));
        let err = "mail.example.com".parse::<MailTarget>().unwrap_err();
        assert!(err.contains("smtp://"), "{err}");
        assert!(AnyMailer::new(&smtp, "usher <noreply@example.com>").is_ok());
        assert!(AnyMailer::new(&smtp, "not an address").is_err());
    }

    #[tokio::test]
    async fn the_file_sink_writes_one_eml_per_mail() {
        let dir = tempfile::tempdir().unwrap();
        let target = MailTarget::Folder(dir.path().join("out"));
        let mailer = AnyMailer::new(&target, "usher <noreply@usher.localhost>").unwrap();
        let mail = TemplateRenderer::new("http://localhost").unwrap().render(&templates_fixture()).unwrap();
        mailer.send(&mail).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("out")).unwrap().flatten().collect();
        assert_eq!(files.len(), 1);
        let eml = std::fs::read_to_string(files[0].path()).unwrap();
        assert!(eml.contains("To: ann@example.com"), "{eml}");
        assert!(eml.contains("Subject: You are invited to"), "{eml}");
        assert!(eml.contains("Auto-Submitted: auto-generated"), "{eml}");
        assert!(eml.contains("invite?token="), "{eml}");
    }

    fn templates_fixture() -> usher_domain::model::OutboxMail {
        use usher_domain::id::{AccountId, InvitationId, MailId};
        use usher_domain::model::{MailMessage, OutboxMail};
        use usher_domain::time::Timestamp;
        use usher_domain::value::{Email, SecretToken};
        let at = Timestamp::from_unix_micros(1_767_225_600_000_000).unwrap();
        OutboxMail {
            id: MailId::from_uuid(uuid::Uuid::from_u128(1)),
            root: AccountId::from_uuid(uuid::Uuid::from_u128(2)),
            account: AccountId::from_uuid(uuid::Uuid::from_u128(2)),
            to: Email::parse("ann@example.com").unwrap(),
            locale: None,
            message: MailMessage::Invitation {
                invitation: InvitationId::from_uuid(uuid::Uuid::from_u128(3)),
                account_name: "Acme".to_owned(),
                token: Some(SecretToken::from_random("", [7; 32])),
                expires_at: at,
            },
            created_at: at,
        }
    }
}
