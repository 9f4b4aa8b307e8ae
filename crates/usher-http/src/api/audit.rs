//! The audit log: every change, who made it, and what it changed (R20).

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use usher_domain::id::AccountId;
use usher_domain::service::audit::{self, AuditError};
use uuid::Uuid;

use crate::api::{Tag, page};
use crate::auth::BearerAuth;
use crate::problem::problems;
use crate::state::AppState;
use crate::types::{CursorKind, Text};
use crate::views::{AuditEventList, AuditEventView, next_cursor};

problems! {
    /// Problems of the audit log.
    AuditProblems from [AuditError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks the `audit` permission, or the account is outside its reach.",
        404 NotFound "No such account in the caller's tenant.",
        422 Unprocessable "A field is invalid (named in `field`).",
    }
}

/// The audit log.
#[derive(Debug, Default)]
pub(crate) struct AuditApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Audit")]
impl AuditApi {
    /// List audit events
    ///
    /// Events of the account's subtree, newest first; secrets are never in a diff.
    #[oai(path = "/accounts/:account_id/audit-events", method = "get", operation_id = "list_audit_events")]
    async fn audit(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<Text<CursorKind>>>,
        /// Page size.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u16>>,
    ) -> Result<Json<AuditEventList>, AuditProblems> {
        let page = page(cursor.0.as_ref().map(Text::as_str), limit.0)?;
        let found =
            audit::list_audit_events(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0), page)
                .await?;
        Ok(Json(AuditEventList {
            items: found.items.iter().map(AuditEventView::from).collect(),
            next_cursor: next_cursor(found.next.as_ref()),
        }))
    }
}
