//! Sessions, API keys and one-time tokens (R13, R14, R24, R25).

use super::*;

/// A login session, identified by the hash of its bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Id.
    pub id: SessionId,
    /// User.
    pub user: UserId,
    /// Root account of the user.
    pub root: AccountId,
    /// Token hash.
    pub token_hash: TokenHash,
    /// Created at.
    pub created_at: Timestamp,
    /// Expires at.
    pub expires_at: Timestamp,
    /// When it was last used (kept to the minute, see `Tx::touch_session`).
    pub last_seen_at: Timestamp,
    /// The address it was opened from.
    pub source: Option<String>,
}

/// An API key for integrations, with a chosen permission set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Id.
    pub id: ApiKeyId,
    /// Root account.
    pub root: AccountId,
    /// Account the key acts in (and its subtree).
    pub account: AccountId,
    /// Display name.
    pub name: Name,
    /// Permissions (never more than its creator held).
    pub permissions: BTreeSet<Permission>,
    /// Token hash.
    pub token_hash: TokenHash,
    /// Who created it.
    pub created_by: ActorRef,
    /// Created at.
    pub created_at: Timestamp,
    /// Expires at, if ever.
    pub expires_at: Option<Timestamp>,
    /// Revoked at.
    pub revoked_at: Option<Timestamp>,
}

/// What a one-time token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    /// Verify an email address (R9).
    EmailVerification,
    /// Set a first password (welcome mail, R16).
    SetPassword,
    /// Reset a forgotten password (R21).
    PasswordReset,
}

/// A single-use token bound to a user (R13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeToken {
    /// Id.
    pub id: TokenId,
    /// User.
    pub user: UserId,
    /// Purpose.
    pub purpose: TokenPurpose,
    /// Hash.
    pub token_hash: TokenHash,
    /// Created at.
    pub created_at: Timestamp,
    /// Expires at.
    pub expires_at: Timestamp,
    /// Set once used; a used token never works again.
    pub used_at: Option<Timestamp>,
}
