//! One-time links: issuing the set-password, reset and verification links a mail carries,
//! and retiring them when what they stood for changes (R9, R13, R25).

use super::*;

/// The one-time links usher mails to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkKind {
    /// A first password, in the welcome mail (R16).
    Welcome,
    /// A new password for a forgotten one (R21).
    Reset,
    /// Proof of the address the link is sent to (R9, R25).
    Verification,
}

/// Issues a one-time link of `kind` to the user's current address, retiring the earlier
/// links of that kind, and queues its mail on the transaction (R13, R20).
pub(crate) async fn issue_link(
    ports: &Ports,
    tx: &mut dyn Tx,
    settings: &Settings,
    user: &User,
    kind: LinkKind,
) -> Result<(), RepoError> {
    let now = ports.now();
    let purpose = match kind {
        LinkKind::Welcome => TokenPurpose::SetPassword,
        LinkKind::Reset => TokenPurpose::PasswordReset,
        LinkKind::Verification => TokenPurpose::EmailVerification,
    };
    tx.retire_tokens(user.id, purpose, now).await?;
    let token = ports.new_token("");
    let expires_at = now.plus(settings.link_lifetime.duration());
    let record = OneTimeToken {
        id: ports.new_id(TokenId::from_uuid),
        user: user.id,
        purpose,
        token_hash: token.hash(),
        created_at: now,
        expires_at,
        used_at: None,
    };
    tx.insert_token(&record).await?;
    let token = Some(token);
    let message = match kind {
        LinkKind::Welcome => {
            MailMessage::Welcome { user: user.id, username: user.username.to_string(), token, expires_at }
        }
        LinkKind::Reset => MailMessage::PasswordReset { user: user.id, token, expires_at },
        LinkKind::Verification => MailMessage::EmailVerification { user: user.id, token, expires_at },
    };
    enqueue(ports, tx, user.root, user.account, &user.email, user.profile.locale.clone(), message).await
}

/// The password link a user needs: a welcome link without a password, else a reset link.
pub(crate) fn password_link_kind(user: &User) -> LinkKind {
    if user.has_password { LinkKind::Reset } else { LinkKind::Welcome }
}

/// Kills every unused set-password and reset link of a user: the password changed by some
/// path, so a link issued before stands for nothing (R25).
pub(crate) async fn retire_password_links(
    ports: &Ports,
    tx: &mut dyn Tx,
    user: UserId,
) -> Result<(), RepoError> {
    let now = ports.now();
    tx.retire_tokens(user, TokenPurpose::PasswordReset, now).await?;
    tx.retire_tokens(user, TokenPurpose::SetPassword, now).await
}
