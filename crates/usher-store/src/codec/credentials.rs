//! Rows to domain values and back: sessions, one-time tokens and API keys.

use super::*;

pub(crate) fn session_row(s: &Session) -> session::Model {
    session::Model {
        id: s.id.as_uuid(),
        user_id: s.user.as_uuid(),
        root_id: s.root.as_uuid(),
        token_hash: s.token_hash.as_str().to_owned(),
        created_at: s.created_at.unix_micros(),
        expires_at: s.expires_at.unix_micros(),
        last_seen_at: Some(s.last_seen_at.unix_micros()),
        source: s.source.clone(),
    }
}

pub(crate) fn session_from_row(row: session::Model) -> Result<Session, RepoError> {
    const E: &str = "session";
    Ok(Session {
        id: SessionId::from_uuid(row.id),
        user: UserId::from_uuid(row.user_id),
        root: AccountId::from_uuid(row.root_id),
        token_hash: TokenHash::parse(&row.token_hash).map_err(corrupt(E))?,
        created_at: time(E, row.created_at)?,
        expires_at: time(E, row.expires_at)?,
        // Sessions from before migration 4 were last seen, as far as anyone knows, at login.
        last_seen_at: time(E, row.last_seen_at.unwrap_or(row.created_at))?,
        source: row.source,
    })
}

pub(crate) fn purpose_text(purpose: TokenPurpose) -> &'static str {
    match purpose {
        TokenPurpose::EmailVerification => "email_verification",
        TokenPurpose::SetPassword => "set_password",
        TokenPurpose::PasswordReset => "password_reset",
    }
}

pub(crate) fn token_row(t: &OneTimeToken) -> one_time_token::Model {
    one_time_token::Model {
        id: t.id.as_uuid(),
        user_id: t.user.as_uuid(),
        purpose: purpose_text(t.purpose).to_owned(),
        token_hash: t.token_hash.as_str().to_owned(),
        created_at: t.created_at.unix_micros(),
        expires_at: t.expires_at.unix_micros(),
        used_at: t.used_at.map(|u| u.unix_micros()),
    }
}

pub(crate) fn token_from_row(row: one_time_token::Model) -> Result<OneTimeToken, RepoError> {
    const E: &str = "token";
    Ok(OneTimeToken {
        id: TokenId::from_uuid(row.id),
        user: UserId::from_uuid(row.user_id),
        purpose: [TokenPurpose::EmailVerification, TokenPurpose::SetPassword, TokenPurpose::PasswordReset]
            .into_iter()
            .find(|p| purpose_text(*p) == row.purpose)
            .ok_or_else(|| RepoError::corrupt(E, format!("unknown purpose {:?}", row.purpose)))?,
        token_hash: TokenHash::parse(&row.token_hash).map_err(corrupt(E))?,
        created_at: time(E, row.created_at)?,
        expires_at: time(E, row.expires_at)?,
        used_at: opt_time(E, row.used_at)?,
    })
}

pub(crate) fn api_key_row(k: &ApiKey) -> Result<api_key::Model, RepoError> {
    Ok(api_key::Model {
        id: k.id.as_uuid(),
        root_id: k.root.as_uuid(),
        account_id: k.account.as_uuid(),
        name: k.name.as_str().to_owned(),
        permissions: permissions_to_json("api key", &k.permissions)?,
        token_hash: k.token_hash.as_str().to_owned(),
        created_by: actor_to_json(&k.created_by)?,
        created_at: k.created_at.unix_micros(),
        expires_at: k.expires_at.map(|t| t.unix_micros()),
        revoked_at: k.revoked_at.map(|t| t.unix_micros()),
    })
}

pub(crate) fn api_key_from_row(row: api_key::Model) -> Result<ApiKey, RepoError> {
    const E: &str = "api key";
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        name: Name::parse(&row.name).map_err(corrupt(E))?,
        permissions: permissions_from_json(E, &row.permissions)?,
        token_hash: TokenHash::parse(&row.token_hash).map_err(corrupt(E))?,
        created_by: actor_from_json(E, &row.created_by)?,
        created_at: time(E, row.created_at)?,
        expires_at: opt_time(E, row.expires_at)?,
        revoked_at: opt_time(E, row.revoked_at)?,
    })
}

pub(crate) fn signing_key_row(k: &SigningKey) -> signing_key::Model {
    signing_key::Model {
        id: k.id.as_uuid(),
        public_key: k.public_key.clone(),
        sealed_private_key: k.sealed_private_key.clone(),
        created_at: k.created_at.unix_micros(),
        retired_at: k.retired_at.map(|at| at.unix_micros()),
    }
}

pub(crate) fn signing_key_from_row(row: signing_key::Model) -> Result<SigningKey, RepoError> {
    const E: &str = "signing key";
    Ok(SigningKey {
        id: SigningKeyId::from_uuid(row.id),
        public_key: row.public_key,
        sealed_private_key: row.sealed_private_key,
        created_at: time(E, row.created_at)?,
        retired_at: row.retired_at.map(|at| time(E, at)).transpose()?,
    })
}
