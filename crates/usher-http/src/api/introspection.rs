//! Token introspection for apps (RFC 7662): is this user's session token active, and what may
//! its user do?

use poem::web::Data;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;
use usher_domain::error::Invalid;
use usher_domain::service::introspection::{self, ActiveToken, IntrospectionError};
use usher_domain::value::ValueError;
use uuid::Uuid;

use crate::api::Tag;
use crate::auth::BearerAuth;
use crate::problem::{Problem, problems};
use crate::state::AppState;

problems! {
    /// Problems of token introspection: only the caller's own standing.
    IntrospectionProblems from [IntrospectionError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks `introspection:read`.",
        404 NotFound "Never answered: an unknown token is `active: false`.",
        422 Unprocessable "Never answered: an unreadable token is `active: false`.",
    }
}

/// What to introspect (RFC 7662 §2.1), form-encoded.
#[derive(Object, Deserialize, Debug)]
pub(crate) struct IntrospectionRequest {
    /// The token the app received: a session token (`uss_…`) or a signed access token (a JWT
    /// from `POST /v1/auth/token`).
    #[oai(validator(max_length = 8192))]
    token: String,
    /// A hint of the token's kind; only `access_token` sessions are introspected.
    #[oai(validator(max_length = 64))]
    token_type_hint: Option<String>,
}

/// The answer (RFC 7662 §2.2): `active`, and for an active token whose it is and what it may do.
#[derive(Object, Debug, Default)]
#[oai(rename = "Introspection", skip_serializing_if_is_none)]
pub(crate) struct IntrospectionView {
    /// Whether the token is an active session, or a signed access token of one, of a user the
    /// caller may introspect. Unknown, expired, ended and foreign tokens are all just `false`.
    active: bool,
    /// `Bearer`.
    token_type: Option<String>,
    /// The user's id.
    sub: Option<Uuid>,
    /// The user's username.
    username: Option<String>,
    /// The user's home account.
    account: Option<Uuid>,
    /// The user's root account (tenant).
    root: Option<Uuid>,
    /// When the token was issued: the session's start, or the access token's `iat` (seconds
    /// since the epoch).
    iat: Option<i64>,
    /// When the token ends at the latest: the session's end, or the access token's `exp`.
    exp: Option<i64>,
    /// The effective permissions, space-separated (the RFC's `scope`).
    scope: Option<String>,
    /// The effective permissions (R4), each `write` with the `read` it implies.
    effective_permissions: Option<Vec<String>>,
    /// The accounts whose subtrees the user acts in (R19); empty for the operator, who reaches
    /// every tenant.
    accounts_in_scope: Option<Vec<Uuid>>,
    /// Whether the user is the installation's operator.
    operator: Option<bool>,
    /// Whether the user must change the password before anything else (R16).
    must_change_password: Option<bool>,
}

impl From<ActiveToken> for IntrospectionView {
    fn from(active: ActiveToken) -> Self {
        let permissions: Vec<String> = active.access.permissions.iter().map(ToString::to_string).collect();
        IntrospectionView {
            active: true,
            token_type: Some("Bearer".to_owned()),
            sub: Some(active.user.id.as_uuid()),
            username: Some(active.user.username.to_string()),
            account: Some(active.user.account.as_uuid()),
            root: Some(active.user.root.as_uuid()),
            iat: Some(active.issued_at.as_datetime().unix_timestamp()),
            exp: Some(active.expires_at.as_datetime().unix_timestamp()),
            scope: Some(permissions.join(" ")),
            effective_permissions: Some(permissions),
            accounts_in_scope: Some(active.access.accounts.iter().map(|a| a.as_uuid()).collect()),
            operator: Some(active.access.operator),
            must_change_password: Some(active.user.must_change_password),
        }
    }
}

/// Refuses a form field longer than the spec allows, naming it.
fn check_length(field: &str, value: &str, max: usize) -> Result<(), Box<Problem>> {
    let actual = value.chars().count();
    if actual > max {
        let invalid = Invalid::new(field, ValueError::TooLong { max, actual });
        return Err(Box::new(invalid.into()));
    }
    Ok(())
}

/// Token introspection.
#[derive(Debug, Default)]
pub(crate) struct IntrospectionApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Integrations")]
impl IntrospectionApi {
    /// Introspect a token
    ///
    /// RFC 7662 token introspection for apps that receive a user's session token or a signed
    /// access token: call with an API key holding `introspection:read`. The answer is
    /// `active: true` with the user, its accounts and effective permissions, or just
    /// `active: false` for a token that is unknown, expired, ended by a logout, a disable, a
    /// password change or an erasure, issued before the user's token cut-off, or that belongs
    /// to a user outside the key's reach. It is read from the store on every call, so a change
    /// takes effect at once. Introspecting does not extend the session.
    #[oai(path = "/oauth/introspect", method = "post", operation_id = "introspect_token")]
    async fn introspect(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Form<IntrospectionRequest>,
    ) -> Result<Json<IntrospectionView>, IntrospectionProblems> {
        // A form is read by serde, which knows nothing of the limits the spec publishes.
        check_length("token", &body.0.token, 8192)?;
        check_length("token_type_hint", body.0.token_type_hint.as_deref().unwrap_or_default(), 64)?;
        let found = introspection::introspect(&state.ports, &auth.0.actor, &body.0.token).await?;
        Ok(Json(found.map(IntrospectionView::from).unwrap_or_default()))
    }
}
