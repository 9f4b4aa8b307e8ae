//! Signed access tokens for apps that check sessions offline: minting one for the caller's
//! session, and the public keys to check it with (RFC 7517).

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use time::OffsetDateTime;
use usher_domain::service::access_tokens::{self, AccessToken};

use crate::api::Tag;
use crate::auth::BearerAuth;
use crate::problem::problems;
use crate::state::AppState;
use crate::views::at;

problems! {
    /// Problems of minting an access token.
    AccessTokenProblems from [usher_domain::service::access_tokens::AccessTokenError] {
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "An API key (only a user's session mints tokens), or the password must be changed first (R16).",
        404 NotFound "The session ended meanwhile.",
        503 Unavailable "Signed access tokens are off on this server (`signing_off`: no `USHER_TOKEN_KEY`).",
    }
}

problems! {
    /// Problems of reading the key set: only the store failing (500).
    JwksProblems from [usher_domain::error::RepoError] {}
}

/// A signed access token (a JWT, EdDSA over Ed25519).
#[derive(Object, Debug)]
pub(crate) struct AccessTokenView {
    /// The JWT. Check it against `/.well-known/jwks.json`; its claims are `iss`, `sub` (the
    /// user), `sid` (the session), `jti`, `iat`, `exp`, `username`, `account`, `root`, `scope`
    /// (the effective permissions, space-separated) and `accounts_in_scope`.
    access_token: String,
    /// `Bearer`.
    token_type: String,
    /// Seconds until it expires.
    expires_in: i64,
    /// When it expires (never after its session).
    expires_at: OffsetDateTime,
}

impl From<AccessToken> for AccessTokenView {
    fn from(minted: AccessToken) -> Self {
        AccessTokenView {
            access_token: minted.token,
            token_type: "Bearer".to_owned(),
            expires_in: minted.claims.exp - minted.claims.iat,
            expires_at: at(minted.expires_at),
        }
    }
}

/// A public key (RFC 8037: an Ed25519 `OKP` key).
#[derive(Object, Debug)]
#[oai(rename = "Jwk")]
pub(crate) struct JwkView {
    /// `OKP`.
    kty: String,
    /// `Ed25519`.
    crv: String,
    /// The public key, base64url.
    x: String,
    /// The key id, as in the token's header.
    kid: String,
    /// `EdDSA`.
    alg: String,
    /// `sig`.
    #[oai(rename = "use")]
    usage: String,
}

/// The published keys (RFC 7517 §5).
#[derive(Object, Debug)]
#[oai(rename = "JwkSet")]
pub(crate) struct JwkSetView {
    /// The key that signs now and those retired within the overlap, newest first; empty when
    /// signed access tokens are off.
    keys: Vec<JwkView>,
}

/// Signed access tokens.
#[derive(Debug, Default)]
pub(crate) struct AccessTokenApi;

#[OpenApi(tag = "Tag::Sessions")]
impl AccessTokenApi {
    /// Mint an access token
    ///
    /// A short-lived JWT for the caller's session (five minutes unless the operator set
    /// another lifetime, and never past the session), for apps that check tokens offline
    /// against `/.well-known/jwks.json`. It holds the user, its accounts and its effective
    /// permissions at the time of minting. A JWT cannot be recalled: an app that checks it
    /// offline accepts it until it expires. Introspection refuses it at once after a logout, a
    /// disable or a password change. Only a user's session mints tokens.
    #[oai(path = "/v1/auth/token", method = "post", operation_id = "mint_access_token")]
    async fn mint(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<AccessTokenView>, AccessTokenProblems> {
        let minted = access_tokens::mint_access_token(&state.ports, &auth.0.actor).await?;
        Ok(Json(minted.into()))
    }

    /// The public keys
    ///
    /// The JSON Web Key Set to check access tokens with: the key that signs now and those
    /// retired within the overlap (a day by default), so a token verifies for its whole life
    /// across a rotation. Fetch it again when a token names a `kid` you do not know.
    #[oai(path = "/.well-known/jwks.json", method = "get", operation_id = "get_jwks")]
    async fn jwks(&self, state: Data<&AppState>) -> Result<Json<JwkSetView>, JwksProblems> {
        let keys = access_tokens::published_keys(&state.ports).await?;
        let keys = keys
            .into_iter()
            .map(|key| JwkView {
                kty: "OKP".to_owned(),
                crv: "Ed25519".to_owned(),
                x: key.public_key,
                kid: key.id.to_string(),
                alg: "EdDSA".to_owned(),
                usage: "sig".to_owned(),
            })
            .collect();
        Ok(Json(JwkSetView { keys }))
    }
}
