//! Mail templates: minijinja, one per kind and locale, shipped in English and German, and
//! replaceable by an operator's folder.
//!
//! A template named `<locale>/<kind>.txt` is the plain-text part; its first line is
//! `Subject: …`. An optional `<locale>/<kind>.html` is the HTML part (auto-escaped); without one
//! the HTML part is the text's paragraphs, escaped, with the link made clickable. The locale is
//! the recipient's preferred one, then its language (`de-CH` → `de`), then English.

use std::path::Path;

use minijinja::Environment;
use serde_json::Value;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use usher_domain::document::MailDocument;
use usher_domain::model::{MailMessage, OutboxMail};
use usher_domain::ports::{MailRenderer, RenderedMail};

/// The kinds of mail, as template names.
pub const KINDS: [&str; 6] = [
    "invitation",
    "welcome",
    "email_verification",
    "password_reset",
    "password_changed",
    "registration_attempt",
];

/// The locales shipped.
pub const LOCALES: [&str; 2] = ["en", "de"];

/// The shipped templates.
const SHIPPED: [(&str, &str); 12] = [
    ("en/invitation.txt", include_str!("../templates/en/invitation.txt")),
    ("en/welcome.txt", include_str!("../templates/en/welcome.txt")),
    ("en/email_verification.txt", include_str!("../templates/en/email_verification.txt")),
    ("en/password_reset.txt", include_str!("../templates/en/password_reset.txt")),
    ("en/password_changed.txt", include_str!("../templates/en/password_changed.txt")),
    ("en/registration_attempt.txt", include_str!("../templates/en/registration_attempt.txt")),
    ("de/invitation.txt", include_str!("../templates/de/invitation.txt")),
    ("de/welcome.txt", include_str!("../templates/de/welcome.txt")),
    ("de/email_verification.txt", include_str!("../templates/de/email_verification.txt")),
    ("de/password_reset.txt", include_str!("../templates/de/password_reset.txt")),
    ("de/password_changed.txt", include_str!("../templates/de/password_changed.txt")),
    ("de/registration_attempt.txt", include_str!("../templates/de/registration_attempt.txt")),
];

/// How the expiry reads, per language.
const ENGLISH_DATE: &[BorrowedFormatItem<'static>] =
    format_description!("[day padding:none] [month repr:long] [year], [hour]:[minute] UTC");
const GERMAN_DATE: &[BorrowedFormatItem<'static>] =
    format_description!("[day].[month].[year], [hour]:[minute] UTC");

/// Why the templates could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A template has a syntax error.
    #[error("mail template {name}: {reason}")]
    Syntax {
        /// `<locale>/<kind>.<txt|html>`.
        name: String,
        /// minijinja's message, with the line.
        reason: String,
    },
    /// The override folder could not be read.
    #[error("mail templates in {path}: {reason}")]
    Folder {
        /// The folder or file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Renders queued mail with the templates; links point at `public_url`'s hosted pages.
#[derive(Debug)]
pub struct TemplateRenderer {
    templates: Environment<'static>,
    public_url: String,
}

impl TemplateRenderer {
    /// The shipped templates, with links starting with `public_url` (e.g. `https://id.example.com`).
    pub fn new(public_url: &str) -> Result<TemplateRenderer, TemplateError> {
        let mut templates = Environment::new();
        for (name, source) in SHIPPED {
            add(&mut templates, name.to_owned(), source.to_owned())?;
        }
        Ok(TemplateRenderer { templates, public_url: public_url.trim_end_matches('/').to_owned() })
    }

    /// The shipped templates, replaced or completed by the files of `folder`: any
    /// `<locale>/<kind>.txt` or `<locale>/<kind>.html` found there (a new locale is a new
    /// sub-folder). A template with a syntax error stops the start, naming the file and line.
    pub fn with_overrides(public_url: &str, folder: &Path) -> Result<TemplateRenderer, TemplateError> {
        let mut renderer = TemplateRenderer::new(public_url)?;
        let unreadable = |path: &Path, err: std::io::Error| TemplateError::Folder {
            path: path.display().to_string(),
            reason: err.to_string(),
        };
        for locale in std::fs::read_dir(folder).map_err(|err| unreadable(folder, err))? {
            let locale = locale.map_err(|err| unreadable(folder, err))?.path();
            let Some(tag) = locale.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
            if !locale.is_dir() {
                continue;
            }
            for kind in KINDS {
                for extension in ["txt", "html"] {
                    let file = locale.join(format!("{kind}.{extension}"));
                    if !file.exists() {
                        continue;
                    }
                    let source = std::fs::read_to_string(&file).map_err(|err| unreadable(&file, err))?;
                    add(&mut renderer.templates, format!("{tag}/{kind}.{extension}"), source)?;
                }
            }
        }
        Ok(renderer)
    }

    /// The hosted page a kind of mail links to.
    fn link(&self, kind: &str, token: Option<&str>) -> Option<String> {
        let page = match kind {
            "invitation" => "invite",
            "email_verification" => "verify",
            "welcome" | "password_reset" => "reset",
            // No token: the forgot page asks for the address again.
            "registration_attempt" => return Some(format!("{}/forgot", self.public_url)),
            _ => return None,
        };
        token.map(|token| format!("{}/{page}?token={token}", self.public_url))
    }

    /// The locale whose `kind` template serves `preferred`: the tag, its language, English.
    fn locale_for(&self, kind: &str, preferred: Option<&str>) -> String {
        let mut candidates = Vec::new();
        if let Some(tag) = preferred {
            candidates.push(tag.to_owned());
            if let Some((language, _)) = tag.split_once('-') {
                candidates.push(language.to_owned());
            }
        }
        candidates
            .into_iter()
            .find(|locale| self.templates.get_template(&format!("{locale}/{kind}.txt")).is_ok())
            .unwrap_or_else(|| "en".to_owned())
    }
}

fn add(templates: &mut Environment<'static>, name: String, source: String) -> Result<(), TemplateError> {
    templates
        .add_template_owned(name.clone(), source)
        .map_err(|err| TemplateError::Syntax { name, reason: err.to_string() })
}

impl MailRenderer for TemplateRenderer {
    fn render(&self, mail: &OutboxMail) -> Result<RenderedMail, String> {
        let kind = mail.message.kind();
        // The template variables are the message's stored document: one format, pinned by a
        // snapshot in the domain, for the outbox and for custom templates.
        let document = MailDocument::from(&mail.message);
        let mut context = serde_json::to_value(&document).map_err(|err| err.to_string())?;
        let link = self.link(kind, context.get("token").and_then(Value::as_str));
        let locale = self.locale_for(kind, mail.locale.as_ref().map(|l| l.as_str()));
        let expires = match &mail.message {
            MailMessage::Invitation { expires_at, .. }
            | MailMessage::Welcome { expires_at, .. }
            | MailMessage::EmailVerification { expires_at, .. }
            | MailMessage::PasswordReset { expires_at, .. } => {
                let format =
                    if locale == "de" || locale.starts_with("de-") { GERMAN_DATE } else { ENGLISH_DATE };
                expires_at.as_datetime().format(format).ok()
            }
            MailMessage::PasswordChanged { .. }
            | MailMessage::RegistrationAttempt { .. }
            | MailMessage::PasswordResetRequest { .. } => None,
        };
        if let Value::Object(fields) = &mut context {
            // The token reaches the template only inside the link.
            fields.remove("token");
            fields.insert("link".to_owned(), link.clone().map_or(Value::Null, Value::String));
            fields.insert("expires".to_owned(), expires.map_or(Value::Null, Value::String));
            fields.insert("locale".to_owned(), Value::String(locale.clone()));
        }
        let render = |name: &str| -> Result<Option<String>, String> {
            match self.templates.get_template(name) {
                Ok(template) => template.render(&context).map(Some).map_err(|err| format!("{name}: {err}")),
                Err(_) => Ok(None),
            }
        };
        let rendered =
            render(&format!("{locale}/{kind}.txt"))?.ok_or_else(|| format!("no template for {kind}"))?;
        let (first, body) = rendered.split_once('\n').unwrap_or((rendered.as_str(), ""));
        let subject =
            first.strip_prefix("Subject:").ok_or("the template's first line is not a subject")?.trim();
        let text = body.trim().to_owned();
        let html = match render(&format!("{locale}/{kind}.html"))? {
            Some(html) => html,
            None => html_of(&text, link.as_deref()),
        };
        Ok(RenderedMail { to: mail.to.clone(), subject: subject.to_owned(), html, text })
    }
}

/// The HTML part made from the text: each paragraph escaped, the link made clickable.
fn html_of(text: &str, link: Option<&str>) -> String {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use usher_domain::id::{AccountId, InvitationId, MailId, UserId};
    use usher_domain::time::Timestamp;
    use usher_domain::value::{Email, Locale, SecretToken};

    fn invitation(locale: Option<&str>) -> OutboxMail {
        let at = Timestamp::from_unix_micros(1_767_225_600_000_000).unwrap();
        OutboxMail {
            id: MailId::from_uuid(uuid::Uuid::from_u128(1)),
            root: AccountId::from_uuid(uuid::Uuid::from_u128(2)),
            account: AccountId::from_uuid(uuid::Uuid::from_u128(2)),
            to: Email::parse("ann@example.com").unwrap(),
            locale: locale.map(|l| Locale::parse(l).unwrap()),
            message: MailMessage::Invitation {
                invitation: InvitationId::from_uuid(uuid::Uuid::from_u128(3)),
                account_name: "Acme <& Co>".to_owned(),
                token: Some(SecretToken::from_random("", [7; 32])),
                expires_at: at,
            },
            created_at: at,
        }
    }

    #[test]
    fn an_invitation_names_the_account_and_expiry_links_to_the_page_and_escapes_html() {
        let renderer = TemplateRenderer::new("https://id.example.com/").unwrap();
        let mail = renderer.render(&invitation(None)).unwrap();
        assert_eq!(mail.subject, "You are invited to Acme <& Co>");
        let token = SecretToken::from_random("", [7; 32]);
        let link = format!("https://id.example.com/invite?token={}", token.expose());
        assert!(mail.text.contains(&link), "{}", mail.text);
        assert!(mail.text.contains("until 1 January 2026, 00:00 UTC"), "{}", mail.text);
        assert!(mail.html.contains(&format!("<a href=\"{link}\">")), "{}", mail.html);
        assert!(mail.html.contains("Acme &lt;&amp; Co&gt;"), "{}", mail.html);
    }

    #[test]
    fn the_locale_falls_back_from_region_to_language_to_english() {
        let renderer = TemplateRenderer::new("http://localhost").unwrap();
        let swiss = renderer.render(&invitation(Some("de-CH"))).unwrap();
        assert_eq!(swiss.subject, "Einladung zu Acme <& Co>");
        assert!(swiss.text.contains("gilt bis 01.01.2026, 00:00 UTC"), "{}", swiss.text);
        let french = renderer.render(&invitation(Some("fr"))).unwrap();
        assert_eq!(french.subject, "You are invited to Acme <& Co>");
    }

    #[test]
    fn every_kind_has_a_template_in_every_shipped_locale() {
        let renderer = TemplateRenderer::new("http://localhost").unwrap();
        for locale in LOCALES {
            for kind in KINDS {
                assert!(
                    renderer.templates.get_template(&format!("{locale}/{kind}.txt")).is_ok(),
                    "{locale}/{kind}"
                );
            }
        }
        let changed = OutboxMail {
            message: MailMessage::PasswordChanged { user: UserId::from_uuid(uuid::Uuid::from_u128(4)) },
            ..invitation(Some("de"))
        };
        assert_eq!(renderer.render(&changed).unwrap().subject, "Ihr Passwort wurde geändert");
    }

    #[test]
    fn an_override_folder_replaces_a_template_and_adds_html_with_escaping() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::create_dir(folder.path().join("en")).unwrap();
        std::fs::write(
            folder.path().join("en/invitation.txt"),
            "Subject: Join {{ account_name }}\nGo: {{ link }}",
        )
        .unwrap();
        std::fs::write(
            folder.path().join("en/invitation.html"),
            "<h1>{{ account_name }}</h1><a href=\"{{ link }}\">go</a>",
        )
        .unwrap();
        let renderer = TemplateRenderer::with_overrides("http://localhost", folder.path()).unwrap();
        let mail = renderer.render(&invitation(None)).unwrap();
        assert_eq!(mail.subject, "Join Acme <& Co>");
        assert!(mail.html.starts_with("<h1>Acme &lt;&amp; Co&gt;</h1>"), "{}", mail.html);
        std::fs::write(folder.path().join("en/welcome.txt"), "Subject: {{ broken").unwrap();
        let err = TemplateRenderer::with_overrides("http://localhost", folder.path()).unwrap_err();
        assert!(err.to_string().starts_with("mail template en/welcome.txt:"), "{err}");
    }
}
