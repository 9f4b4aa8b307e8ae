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

/// A key pair that signs access tokens (EdDSA over Ed25519). The private half is kept sealed:
/// encrypted by the signer with a key that lives outside the store, so a copy of the database
/// cannot mint tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Id, published as the JWK `kid`.
    pub id: SigningKeyId,
    /// The public key, base64url without padding (the JWK `x`).
    pub public_key: String,
    /// The private key as the signer sealed it.
    pub sealed_private_key: String,
    /// Created at.
    pub created_at: Timestamp,
    /// When a newer key took over. A retired key signs nothing more but stays published until
    /// every token it signed has expired.
    pub retired_at: Option<Timestamp>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("public_key", &self.public_key)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// The claims of a signed access token: who, for which session, until when, and what the user
/// may do where. Times are seconds since the epoch (RFC 7519 NumericDate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AccessClaims {
    /// The user's id.
    pub sub: uuid::Uuid,
    /// The session the token was minted for.
    pub sid: uuid::Uuid,
    /// A unique id of this token.
    pub jti: uuid::Uuid,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
    /// The user's username.
    pub username: String,
    /// The user's home account.
    pub account: uuid::Uuid,
    /// The user's root account (tenant).
    pub root: uuid::Uuid,
    /// The effective permissions (R4), space-separated.
    pub scope: String,
    /// The accounts whose subtrees the user acts in (R19); empty for the operator.
    pub accounts_in_scope: Vec<uuid::Uuid>,
}
