//! The outbox as administrators see it: what was queued, whether it went out, and a retry for
//! what failed (R20).

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use usher_domain::id::{AccountId, MailId};
use usher_domain::service::mail::{self, OutboxError};
use uuid::Uuid;

use crate::api::{Tag, page};
use crate::auth::BearerAuth;
use crate::problem::problems;
use crate::state::AppState;
use crate::types::{CursorKind, Text};
use crate::views::{DeliveryStateView, QueuedMailList, QueuedMailView, next_cursor};

problems! {
    /// Problems of the outbox operations.
    MailProblems from [OutboxError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks the `settings` permission.",
        404 NotFound "No such account or mail in the caller's tenant.",
        409 Conflict "The mail is not failed (`mail_not_failed`); only failed mail is retried.",
        422 Unprocessable "A field is invalid (named in `field`).",
    }
}

/// The answer to a retry.
#[derive(ApiResponse, Debug)]
pub(crate) enum Retried {
    /// The mail is pending again and goes out with the dispatcher's next round.
    #[oai(status = 200)]
    Ok(Json<QueuedMailView>),
}

/// Outbox operations.
#[derive(Debug, Default)]
pub(crate) struct MailApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Mail")]
impl MailApi {
    /// List queued mail
    ///
    /// The mail usher queued for the account's subtree (invitations, welcome, verification and
    /// reset links, notices), oldest first, with how its delivery went: the attempts, the next
    /// one, and the mail server's answer when it failed. Contents are not shown: they carry
    /// link tokens.
    #[oai(path = "/accounts/:account_id/mail", method = "get", operation_id = "list_mail")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        /// Only mail in this state (`failed` lists what never arrived).
        #[oai(name = "state")]
        state_filter: Query<Option<DeliveryStateView>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<Text<CursorKind>>>,
        /// Page size.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u16>>,
    ) -> Result<Json<QueuedMailList>, MailProblems> {
        let page = page(cursor.0.as_ref().map(Text::as_str), limit.0)?;
        let account = AccountId::from_uuid(account_id.0);
        let found =
            mail::list_mail(&state.ports, &auth.0.actor, account, state_filter.0.map(Into::into), page)
                .await?;
        Ok(Json(QueuedMailList {
            items: found.items.iter().map(QueuedMailView::from).collect(),
            next_cursor: next_cursor(found.next.as_ref()),
        }))
    }

    /// Retry a failed mail
    ///
    /// Makes a failed mail pending again, due now, with its attempts counted afresh (audited as
    /// `mail.retried`). The link in it is the one first sent; if it has expired, resend the
    /// invitation or reset instead.
    #[oai(path = "/mail/:mail_id/retry", method = "post", operation_id = "retry_mail")]
    async fn retry(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        mail_id: Path<Uuid>,
    ) -> Result<Retried, MailProblems> {
        let retried = mail::retry_mail(&state.ports, &auth.0.actor, MailId::from_uuid(mail_id.0)).await?;
        Ok(Retried::Ok(Json(QueuedMailView::from(&retried))))
    }
}
