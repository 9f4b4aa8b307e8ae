//! API keys for integrations.

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use usher_domain::id::{AccountId, ApiKeyId};
use usher_domain::service::integrations::{self, ApiKeyError};
use uuid::Uuid;

use crate::api::{Done, Tag, permissions};
use crate::auth::BearerAuth;
use crate::problem::problems;
use crate::state::AppState;
use crate::types::{NameKind, PermissionKind, Text};
use crate::views::{ApiKeyList, ApiKeyView};
use poem::web::Data;

problems! {
    /// Problems of the API key operations.
    IntegrationProblems from [ApiKeyError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks the permission, or would give the key permissions it lacks (R4).",
        404 NotFound "No such account or key in the caller's tenant.",
        409 Conflict "The key was changed by another request at the same time (`concurrent_update`).",
        422 Unprocessable "A field is invalid (named in `field`).",
    }
}

/// A new API key.
#[derive(Object, Debug)]
pub(crate) struct NewApiKeyBody {
    /// Name.
    name: Text<NameKind>,
    /// Permissions (only ones the caller holds, R4).
    permissions: Vec<Text<PermissionKind>>,
    /// Days until the key stops working (never when omitted).
    #[oai(validator(minimum(value = "1"), maximum(value = "3650")))]
    lifetime_days: Option<u16>,
}

/// A new API key with its secret.
#[derive(Object, Debug)]
pub(crate) struct CreatedApiKey {
    /// The key.
    api_key: ApiKeyView,
    /// The secret, shown this once: send as `Authorization: Bearer <secret>`.
    secret: String,
}

#[derive(ApiResponse, Debug)]
pub(crate) enum ApiKeyCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<CreatedApiKey>),
}

/// The integration operations.
#[derive(Debug, Default)]
pub(crate) struct IntegrationsApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Integrations")]
impl IntegrationsApi {
    /// List API keys
    #[oai(path = "/accounts/:account_id/api-keys", method = "get", operation_id = "list_api_keys")]
    async fn list_keys(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
    ) -> Result<Json<ApiKeyList>, IntegrationProblems> {
        let keys =
            integrations::list_api_keys(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0))
                .await?;
        Ok(Json(ApiKeyList { items: keys.iter().map(ApiKeyView::from).collect(), next_cursor: None }))
    }

    /// Create an API key
    ///
    /// The secret is answered once and stored only as a hash (R13).
    #[oai(path = "/accounts/:account_id/api-keys", method = "post", operation_id = "create_api_key")]
    async fn create_key(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        body: Json<NewApiKeyBody>,
    ) -> Result<ApiKeyCreated, IntegrationProblems> {
        let body = body.0;
        let granted = permissions("permissions", &body.permissions)?;
        let (key, secret) = integrations::create_api_key(
            &state.ports,
            &auth.0.actor,
            AccountId::from_uuid(account_id.0),
            body.name.as_str(),
            granted,
            body.lifetime_days,
        )
        .await?;
        Ok(ApiKeyCreated::Created(Json(CreatedApiKey {
            api_key: ApiKeyView::from(&key),
            secret: secret.expose().to_owned(),
        })))
    }

    /// Revoke an API key
    #[oai(path = "/api-keys/:id", method = "delete", operation_id = "revoke_api_key")]
    async fn revoke_key(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Done, IntegrationProblems> {
        integrations::revoke_api_key(&state.ports, &auth.0.actor, ApiKeyId::from_uuid(id.0)).await?;
        Ok(Done::NoContent)
    }
}
