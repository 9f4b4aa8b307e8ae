//! The audit log: every change, who made it, and what it changed (R20).

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use time::OffsetDateTime;
use usher_domain::error::Invalid;
use usher_domain::id::AccountId;
use usher_domain::ports::AuditFilter;
use usher_domain::service::audit::{self, AuditError};
use usher_domain::time::Timestamp;
use usher_domain::value::ValueError;
use uuid::Uuid;

use crate::api::{Plain, Tag, page};
use crate::auth::BearerAuth;
use crate::problem::{Problem, problems};
use crate::state::AppState;
use crate::types::{CursorKind, KeyKind, Text};
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
    /// Events of the account's subtree, newest first; secrets are never in a diff. Narrow them
    /// by who acted (`actor_id`: a user's or an API key's id), what they acted on
    /// (`target_kind`, `target_id`: one user's history is `target_kind=user&target_id=<id>`),
    /// the `action` (`user.disabled`, or `user.` for every user action) and the time
    /// (`since` inclusive, `until` exclusive, RFC 3339).
    #[oai(path = "/accounts/:account_id/audit-events", method = "get", operation_id = "list_audit_events")]
    #[allow(clippy::too_many_arguments, reason = "one parameter per query filter")]
    async fn audit(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        /// Only events by this user or API key.
        actor_id: Query<Option<Uuid>>,
        /// Only events about objects of this kind: `user`, `role`, `account`, …
        target_kind: Query<Option<Text<KeyKind>>>,
        /// Only events about the object with this id.
        target_id: Query<Option<Text<KeyKind>>>,
        /// Only this action, or every action under a prefix ending in `.`.
        action: Query<Option<Text<KeyKind>>>,
        /// Only events at or after this instant.
        since: Query<Option<OffsetDateTime>>,
        /// Only events before this instant.
        until: Query<Option<OffsetDateTime>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<Text<CursorKind>>>,
        /// Page size.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u16>>,
    ) -> Result<Json<AuditEventList>, AuditProblems> {
        let page = page(cursor.0.as_ref().map(Text::as_str), limit.0)?;
        let filter = AuditFilter {
            actor: actor_id.0,
            target_kind: target_kind.0.plain(),
            target_id: target_id.0.plain(),
            action: action.0.plain(),
            since: since.0.map(|at| instant("since", at)).transpose()?,
            until: until.0.map(|at| instant("until", at)).transpose()?,
        };
        let account = AccountId::from_uuid(account_id.0);
        let found = audit::list_audit_events(&state.ports, &auth.0.actor, account, filter, page).await?;
        Ok(Json(AuditEventList {
            items: found.items.iter().map(AuditEventView::from).collect(),
            next_cursor: next_cursor(found.next.as_ref()),
        }))
    }
}

/// An instant of a query, refused (422 naming `field`) outside the years usher stores.
fn instant(field: &str, at: OffsetDateTime) -> Result<Timestamp, Box<Problem>> {
    let micros = i64::try_from(at.unix_timestamp_nanos() / 1_000).ok();
    micros.and_then(Timestamp::from_unix_micros).ok_or_else(|| {
        let invalid = Invalid::new(field, ValueError::Malformed { reason: "is out of range" });
        Box::new(invalid.into())
    })
}
