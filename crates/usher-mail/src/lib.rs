//! The mail adapter: templates that turn a queued mail into what its recipient reads
//! ([`TemplateRenderer`]), the file sink that writes one `.eml` per message ([`FileMailer`],
//! the default, so the server runs with no mail server), and the dispatcher loop that drains
//! the outbox ([`run_dispatcher`]).

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart, header};
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use minijinja::Environment;
use serde_json::Value;

use usher_domain::model::OutboxMail;
use usher_domain::ports::{MailError, MailRenderer, Mailer, RenderedMail};
use usher_domain::service::Ports;
use usher_domain::service::outbox::{DeliveryPolicy, dispatch_due};

/// The templates, per kind, in English: the first line is `Subject: …`, the rest the body.
const TEMPLATES: [(&str, &str); 5] = [
    ("invitation", include_str!("../templates/en/invitation.txt")),
    ("welcome", include_str!("../templates/en/welcome.txt")),
    ("email_verification", include_str!("../templates/en/email_verification.txt")),
    ("password_reset", include_str!("../templates/en/password_reset.txt")),
    ("password_changed", include_str!("../templates/en/password_changed.txt")),
];

/// Renders queued mail with the templates; links point at `public_url`'s hosted pages.
#[derive(Debug)]
pub struct TemplateRenderer {
    templates: Environment<'static>,
    public_url: String,
}

impl TemplateRenderer {
    /// Templates whose links start with `public_url` (e.g. `https://id.example.com`).
    pub fn new(public_url: &str) -> Result<TemplateRenderer, String> {
        let mut templates = Environment::new();
        for (kind, source) in TEMPLATES {
            templates.add_template(kind, source).map_err(|err| format!("template {kind}: {err}"))?;
        }
        Ok(TemplateRenderer { templates, public_url: public_url.trim_end_matches('/').to_owned() })
    }

    /// The hosted page a kind of mail links to.
    fn link(&self, kind: &str, token: Option<&str>) -> Option<String> {
        let page = match kind {
            "invitation" => "invite",
            "email_verification" => "verify",
            "welcome" | "password_reset" => "reset",
            _ => return None,
        };
        token.map(|token| format!("{}/{page}?token={token}", self.public_url))
    }
}

impl MailRenderer for TemplateRenderer {
    fn render(&self, mail: &OutboxMail) -> Result<RenderedMail, String> {
        let mut context = serde_json::to_value(&mail.message).map_err(|err| err.to_string())?;
        let kind = context.get("kind").and_then(Value::as_str).ok_or("a mail without a kind")?.to_owned();
        let link = self.link(&kind, context.get("token").and_then(Value::as_str));
        if let Value::Object(fields) = &mut context {
            // The token reaches the template only inside the link.
            fields.remove("token");
            fields.insert("link".to_owned(), link.clone().map_or(Value::Null, Value::String));
        }
        let template = self.templates.get_template(&kind).map_err(|err| err.to_string())?;
        let rendered = template.render(&context).map_err(|err| err.to_string())?;
        let (first, body) = rendered.split_once('\n').unwrap_or((rendered.as_str(), ""));
        let subject =
            first.strip_prefix("Subject:").ok_or("the template's first line is not a subject")?.trim();
        let text = body.trim().to_owned();
        Ok(RenderedMail {
            to: mail.to.clone(),
            subject: subject.to_owned(),
            html: html(&text, link.as_deref()),
            text,
        })
    }
}

/// The HTML part: each paragraph escaped, the link made clickable.
fn html(text: &str, link: Option<&str>) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    };
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|paragraph| match link {
            Some(link) if paragraph.trim() == link => {
                format!("<p><a href=\"{}\">{}</a></p>", escape(link), escape(link))
            }
            _ => format!("<p>{}</p>", escape(paragraph.trim()).replace('\n', "<br>")),
        })
        .collect();
    format!("<!doctype html><html><body>{}</body></html>", paragraphs.join(""))
}

/// Writes each mail as an `.eml` file (RFC 5322, as an SMTP server would receive it) into a
/// directory: the default mailer, so usher runs without a mail server.
#[derive(Debug, Clone)]
pub struct FileMailer {
    transport: AsyncFileTransport<Tokio1Executor>,
    from: Mailbox,
}

impl FileMailer {
    /// Writes into `dir` (which must exist), from `from`.
    pub fn new(dir: PathBuf, from: &str) -> Result<FileMailer, String> {
        let from = from.parse::<Mailbox>().map_err(|err| format!("sender {from:?}: {err}"))?;
        Ok(FileMailer { transport: AsyncFileTransport::new(dir), from })
    }
}

/// The RFC 5322 message of a rendered mail.
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

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: &RenderedMail) -> Result<(), MailError> {
        let message = message(&self.from, mail)?;
        self.transport.send(message).await.map(|_| ()).map_err(|err| MailError::Transient(err.to_string()))
    }
}

/// Drains the outbox until `shutdown` resolves: a round right away while a full batch came
/// back, otherwise one every `interval`.
pub async fn run_dispatcher(
    ports: Ports,
    renderer: impl MailRenderer,
    mailer: impl Mailer,
    policy: DeliveryPolicy,
    interval: StdDuration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let full = match dispatch_due(&ports, &renderer, &mailer, &policy).await {
            Ok(report) => {
                if report.handled() > 0 {
                    tracing::info!(
                        sent = report.sent,
                        retried = report.retried,
                        failed = report.failed,
                        "outbox"
                    );
                }
                report.handled() >= usize::try_from(policy.batch).unwrap_or(usize::MAX)
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
    use usher_domain::id::{AccountId, InvitationId, MailId};
    use usher_domain::model::MailMessage;
    use usher_domain::time::Timestamp;
    use usher_domain::value::{Email, SecretToken};

    fn invitation() -> OutboxMail {
        let at = Timestamp::from_unix_micros(1_767_225_600_000_000).unwrap();
        OutboxMail {
            id: MailId::from_uuid(uuid::Uuid::from_u128(1)),
            root: AccountId::from_uuid(uuid::Uuid::from_u128(2)),
            account: AccountId::from_uuid(uuid::Uuid::from_u128(2)),
            to: Email::parse("ann@example.com").unwrap(),
            locale: None,
            message: MailMessage::Invitation {
                invitation: InvitationId::from_uuid(uuid::Uuid::from_u128(3)),
                account_name: "Acme <& Co>".to_owned(),
                token: SecretToken::from_random("", [7; 32]),
                expires_at: at,
            },
            created_at: at,
        }
    }

    #[test]
    fn an_invitation_links_to_the_hosted_page_and_escapes_html() {
        let renderer = TemplateRenderer::new("https://id.example.com/").unwrap();
        let mail = renderer.render(&invitation()).unwrap();
        assert_eq!(mail.subject, "You are invited to Acme <& Co>");
        let token = SecretToken::from_random("", [7; 32]);
        let link = format!("https://id.example.com/invite?token={}", token.expose());
        assert!(mail.text.contains(&link), "{}", mail.text);
        assert!(mail.html.contains(&format!("<a href=\"{link}\">")), "{}", mail.html);
        assert!(mail.html.contains("Acme &lt;&amp; Co&gt;"), "{}", mail.html);
    }

    #[test]
    fn every_kind_has_a_template() {
        let renderer = TemplateRenderer::new("http://localhost").unwrap();
        for (kind, _) in TEMPLATES {
            assert!(renderer.templates.get_template(kind).is_ok(), "{kind}");
        }
    }

    #[tokio::test]
    async fn the_file_sink_writes_one_eml_per_mail() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = FileMailer::new(dir.path().to_owned(), "usher <noreply@usher.localhost>").unwrap();
        let mail = TemplateRenderer::new("http://localhost").unwrap().render(&invitation()).unwrap();
        mailer.send(&mail).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(files.len(), 1);
        let eml = std::fs::read_to_string(files[0].path()).unwrap();
        assert!(eml.contains("To: ann@example.com"), "{eml}");
        assert!(eml.contains("Subject: You are invited to"), "{eml}");
        assert!(eml.contains("invite?token="), "{eml}");
    }
}
