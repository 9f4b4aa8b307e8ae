//! The public event feed (R26): every change to an account's users, invitations, catalog and
//! settings, in the order it became visible.

use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use usher_domain::error::field;
use usher_domain::id::AccountId;
use usher_domain::model::EventFilter;
use usher_domain::service::events::{self, EventError, EventRead};
use uuid::Uuid;

use crate::api::{DEFAULT_LIMIT, Tag};
use crate::auth::BearerAuth;
use crate::problem::problems;
use crate::state::AppState;
use crate::types::{EventTypesKind, Text};
use crate::views::{EventList, EventView};

problems! {
    /// Problems of the event feed.
    EventProblems from [EventError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks `events:read`, or the account is outside its reach.",
        404 NotFound "No such account in the caller's tenant.",
        422 Unprocessable "A field is invalid (named in `field`), e.g. an unknown event type.",
    }
}

/// The event feed.
#[derive(Debug, Default)]
pub(crate) struct EventApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Events")]
impl EventApi {
    /// List events
    ///
    /// Events of the account's subtree after the position `after`, oldest first. Each event
    /// carries the object as it is after the change, who made it and from which app
    /// (`actor.origin`). Positions are given when an event's transaction has committed, so an
    /// event that commits late comes after everything already read: keep `next_after` and
    /// poll with it, and no event is ever skipped. Events are kept for the retention the
    /// operator configured (30 days by default).
    #[oai(path = "/accounts/:account_id/events", method = "get", operation_id = "list_events")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        /// The last `sequence` you processed (`next_after` of the previous answer); 0 or
        /// absent starts at the oldest event kept.
        after: Query<Option<u64>>,
        /// Only these types, separated by commas; `user.*` names a family.
        types: Query<Option<Text<EventTypesKind>>>,
        /// At most this many events.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u16>>,
    ) -> Result<Json<EventList>, EventProblems> {
        let after = after.0.unwrap_or_default();
        let types = types.0.as_ref().map(Text::as_str);
        let types = field("types", EventFilter::parse(types)).map_err(EventError::from)?;
        let read = EventRead { after, types, limit: limit.0.unwrap_or(DEFAULT_LIMIT) };
        let found =
            events::list_events(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0), read)
                .await?;
        let next_after = found.last().and_then(|event| event.sequence).unwrap_or(after);
        Ok(Json(EventList { items: found.iter().map(EventView::from).collect(), next_after }))
    }
}
