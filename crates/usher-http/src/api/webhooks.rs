//! Webhooks (R26): endpoints that receive an account subtree's events, signed per the
//! Standard Webhooks specification, in feed order, at least once.

use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use usher_domain::id::{AccountId, DeliveryId, WebhookId};
use usher_domain::model::{Webhook, WebhookSecret};
use usher_domain::service::webhooks::{self, NewWebhook, WebhookError, WebhookPatch};
use uuid::Uuid;

use crate::api::{Done, Tag, etag, if_match, page};
use crate::auth::BearerAuth;
use crate::problem::problems;
use crate::state::AppState;
use crate::types::{CursorKind, EtagKind, EventTypesKind, ShortTextKind, Text, UrlKind};
use crate::views::{WebhookDeliveryList, WebhookDeliveryView, WebhookList, WebhookView, next_cursor};

problems! {
    /// Problems of the webhook operations.
    WebhookProblems from [WebhookError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks `events:write` (`events:read` to read), or the account is outside its reach.",
        404 NotFound "No such account, webhook or delivery in the caller's tenant.",
        409 Conflict "The webhook was changed by another request at the same time (`concurrent_update`), or the tenant has as many webhooks as allowed (`too_many_webhooks`).",
        412 PreconditionFailed "`If-Match` names a version that is no longer current.",
        422 Unprocessable "A field is invalid (named in `field`): a URL that is not http(s), an unknown event type.",
    }
}

/// A new webhook.
#[derive(Object, Debug)]
pub(crate) struct NewWebhookBody {
    /// Where deliveries go: an `https://` (or `http://`) URL. Private, loopback and
    /// link-local addresses are refused unless the operator allows them.
    url: Text<UrlKind>,
    /// Event types or families (`user.*`) to receive; all when omitted or empty.
    #[oai(default)]
    types: Vec<Text<EventTypesKind>>,
    /// Origins whose events are not delivered: put your app's own here to get no echoes.
    #[oai(default, validator(max_items = 20))]
    exclude_origins: Vec<Text<ShortTextKind>>,
    /// Whether deliveries go out (default true).
    enabled: Option<bool>,
}

/// Changes to a webhook; absent fields stay as they are.
#[derive(Object, Debug)]
pub(crate) struct WebhookPatchBody {
    /// Where deliveries go.
    url: Option<Text<UrlKind>>,
    /// Event types (empty: all).
    types: Option<Vec<Text<EventTypesKind>>>,
    /// Excluded origins.
    #[oai(validator(max_items = 20))]
    exclude_origins: Option<Vec<Text<ShortTextKind>>>,
    /// Enable (clearing why usher disabled it; deliveries go on where they stopped) or disable.
    enabled: Option<bool>,
}

/// A webhook with its signing secret.
#[derive(Object, Debug)]
pub(crate) struct WebhookWithSecret {
    /// The webhook.
    webhook: WebhookView,
    /// The signing secret (`whsec_…`), shown this once. Verify deliveries with any Standard
    /// Webhooks library.
    secret: String,
}

fn with_secret(webhook: &Webhook, secret: &WebhookSecret) -> Json<WebhookWithSecret> {
    Json(WebhookWithSecret { webhook: WebhookView::from(webhook), secret: secret.expose().to_owned() })
}

fn texts<K: crate::types::TextKind>(list: &[Text<K>]) -> Vec<String> {
    list.iter().map(|text| text.as_str().to_owned()).collect()
}

#[derive(ApiResponse, Debug)]
pub(crate) enum WebhookCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<WebhookWithSecret>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse, Debug)]
pub(crate) enum WebhookResponse {
    /// The webhook.
    #[oai(status = 200)]
    Ok(Json<WebhookView>, #[oai(header = "ETag")] String),
}

impl WebhookResponse {
    fn of(webhook: &Webhook) -> WebhookResponse {
        WebhookResponse::Ok(Json(WebhookView::from(webhook)), etag(webhook.version))
    }
}

#[derive(ApiResponse, Debug)]
pub(crate) enum Replayed {
    /// The delivery is pending again and goes out in its turn.
    #[oai(status = 202)]
    Accepted(Json<WebhookDeliveryView>),
}

/// The webhook operations.
#[derive(Debug, Default)]
pub(crate) struct WebhookApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Events")]
impl WebhookApi {
    /// Create a webhook
    ///
    /// The account's subtree's events from now on go to `url`, in feed order, at least once,
    /// signed per the Standard Webhooks specification (`webhook-id`, `webhook-timestamp`,
    /// `webhook-signature`). Failed deliveries are retried with backoff for a day, holding back
    /// the ones after them; then the webhook is disabled with the reason.
    #[oai(path = "/accounts/:account_id/webhooks", method = "post", operation_id = "create_webhook")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        body: Json<NewWebhookBody>,
    ) -> Result<WebhookCreated, WebhookProblems> {
        let body = body.0;
        let command = NewWebhook {
            url: body.url.as_str().to_owned(),
            types: texts(&body.types),
            exclude_origins: texts(&body.exclude_origins),
            enabled: body.enabled.unwrap_or(true),
        };
        let account = AccountId::from_uuid(account_id.0);
        let (webhook, secret) =
            webhooks::create_webhook(&state.ports, &auth.0.actor, account, command).await?;
        Ok(WebhookCreated::Created(with_secret(&webhook, &secret), etag(webhook.version)))
    }

    /// List webhooks
    #[oai(path = "/accounts/:account_id/webhooks", method = "get", operation_id = "list_webhooks")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
    ) -> Result<Json<WebhookList>, WebhookProblems> {
        let found =
            webhooks::list_webhooks(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0)).await?;
        Ok(Json(WebhookList { items: found.iter().map(WebhookView::from).collect(), next_cursor: None }))
    }

    /// Get a webhook
    #[oai(path = "/webhooks/:id", method = "get", operation_id = "get_webhook")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<WebhookResponse, WebhookProblems> {
        let webhook = webhooks::get_webhook(&state.ports, &auth.0.actor, WebhookId::from_uuid(id.0)).await?;
        Ok(WebhookResponse::of(&webhook))
    }

    /// Change a webhook
    ///
    /// Send `If-Match` to refuse the change (412) when the webhook changed in between.
    /// Enabling a webhook usher disabled resumes its deliveries where they stopped.
    #[oai(path = "/webhooks/:id", method = "patch", operation_id = "update_webhook")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<Text<EtagKind>>>,
        body: Json<WebhookPatchBody>,
    ) -> Result<WebhookResponse, WebhookProblems> {
        let body = body.0;
        let patch = WebhookPatch {
            url: body.url.map(|url| url.as_str().to_owned()),
            types: body.types.as_deref().map(texts),
            exclude_origins: body.exclude_origins.as_deref().map(texts),
            enabled: body.enabled,
            if_version: if_match(if_match_header.0.as_ref().map(Text::as_str), "webhook")?,
        };
        let webhook =
            webhooks::update_webhook(&state.ports, &auth.0.actor, WebhookId::from_uuid(id.0), patch).await?;
        Ok(WebhookResponse::of(&webhook))
    }

    /// Delete a webhook
    ///
    /// Its pending deliveries are dropped.
    #[oai(path = "/webhooks/:id", method = "delete", operation_id = "delete_webhook")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Done, WebhookProblems> {
        webhooks::delete_webhook(&state.ports, &auth.0.actor, WebhookId::from_uuid(id.0)).await?;
        Ok(Done::NoContent)
    }

    /// Rotate a webhook's secret
    ///
    /// Answers the new secret, shown this once. For 24 hours deliveries carry a signature
    /// with each secret, so the receiver can switch without losing one.
    #[oai(path = "/webhooks/:id/secret", method = "post", operation_id = "rotate_webhook_secret")]
    async fn rotate(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Json<WebhookWithSecret>, WebhookProblems> {
        let (webhook, secret) =
            webhooks::rotate_secret(&state.ports, &auth.0.actor, WebhookId::from_uuid(id.0)).await?;
        Ok(with_secret(&webhook, &secret))
    }

    /// List a webhook's deliveries
    ///
    /// Newest event first: the attempts, the last answer and whether each was delivered.
    #[oai(path = "/webhooks/:id/deliveries", method = "get", operation_id = "list_webhook_deliveries")]
    async fn deliveries(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<Text<CursorKind>>>,
        /// Page size.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u16>>,
    ) -> Result<Json<WebhookDeliveryList>, WebhookProblems> {
        let page = page(cursor.0.as_ref().map(Text::as_str), limit.0)?;
        let found =
            webhooks::list_deliveries(&state.ports, &auth.0.actor, WebhookId::from_uuid(id.0), page).await?;
        Ok(Json(WebhookDeliveryList {
            items: found.items.iter().map(WebhookDeliveryView::from).collect(),
            next_cursor: next_cursor(found.next.as_ref()),
        }))
    }

    /// Replay a delivery
    ///
    /// The delivery becomes pending and goes out again in its turn, with its original
    /// `webhook-id`, so a receiver that has it already can tell.
    #[oai(
        path = "/webhooks/:id/deliveries/:delivery_id/replay",
        method = "post",
        operation_id = "replay_webhook_delivery"
    )]
    async fn replay(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        delivery_id: Path<Uuid>,
    ) -> Result<Replayed, WebhookProblems> {
        let (webhook, delivery) = (WebhookId::from_uuid(id.0), DeliveryId::from_uuid(delivery_id.0));
        let replayed = webhooks::replay_delivery(&state.ports, &auth.0.actor, webhook, delivery).await?;
        Ok(Replayed::Accepted(Json(WebhookDeliveryView::from(&replayed))))
    }
}
