//! Mail adapter (outbox dispatcher, SMTP, file sink, templates): empty until the mail issue fills it.
