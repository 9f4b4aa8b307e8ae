//! Bulk invitations by email: one outcome per address, list, resend, revoke (R10).

use std::collections::BTreeMap;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use usher_domain::id::{AccountId, InvitationId, RoleId, UserTypeId};
use usher_domain::service::invitations::{self, InviteError, InviteOutcome, NewInvitations};
use uuid::Uuid;

use crate::api::{Done, Plain, Tag, id_set, page};
use crate::auth::BearerAuth;
use crate::problem::problems;
use crate::state::AppState;
use crate::types::{CursorKind, EmailKind, LocaleKind, Text};
use crate::views::{InvitationList, InvitationStateView, InvitationView, next_cursor};
use poem::web::Data;

problems! {
    /// Problems of the invitation operations.
    InvitationProblems from [InviteError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks the permission or would grant what it lacks (R4, R19).",
        404 NotFound "No such account, user type, role or invitation in the caller's tenant.",
        409 Conflict "The invitation is no longer pending, or no seat is free to renew an expired one.",
        422 Unprocessable "A field is invalid, a role is missing or above the ceiling, or too many addresses.",
    }
}

/// Invitations to send.
#[derive(Object, Debug)]
pub(crate) struct NewInvitationsBody {
    /// Addresses (up to 5,000); each gets exactly one outcome.
    #[oai(validator(max_items = 5000))]
    emails: Vec<Text<EmailKind>>,
    /// User type the invited users get.
    user_type: Uuid,
    /// Roles they get; none gives the settings' `default_roles`.
    #[oai(default)]
    roles: Vec<Uuid>,
    /// Sub-account scope they get.
    #[oai(default)]
    sub_accounts: Vec<Uuid>,
    /// The invitees' language (BCP 47, e.g. `de`): the mail is written in it and it becomes
    /// their preferred locale. English when omitted.
    locale: Option<Text<LocaleKind>>,
}

/// What happened to one address.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)] // No `invitation` rather than `null`: generated clients read it.
pub(crate) struct InvitationOutcome {
    /// The address as sent.
    email: String,
    /// `invited`, `already_invited`, `existing_user`, `disposable_email`, `invalid_email`,
    /// `duplicate_in_request` or `no_seat`.
    outcome: String,
    /// The invitation, when `invited`.
    invitation: Option<InvitationView>,
}

/// One outcome per address, in the order sent, and how many of each.
#[derive(Object, Debug)]
pub(crate) struct InvitationOutcomes {
    /// Outcomes.
    items: Vec<InvitationOutcome>,
    /// Count per outcome.
    counts: BTreeMap<String, u32>,
}

/// The invitation operations.
#[derive(Debug, Default)]
pub(crate) struct InvitationsApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Invitations")]
impl InvitationsApi {
    /// Invite by email
    ///
    /// Each address gets one outcome: `invited`, or skipped as `already_invited`,
    /// `existing_user`, `disposable_email`, `invalid_email`, `duplicate_in_request`, or refused
    /// as `no_seat` (R1, R10). Each invitation reserves a seat of a seat type until it is
    /// accepted, revoked or expired.
    #[oai(path = "/accounts/:account_id/invitations", method = "post", operation_id = "invite")]
    async fn invite(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        body: Json<NewInvitationsBody>,
    ) -> Result<Json<InvitationOutcomes>, InvitationProblems> {
        let body = body.0;
        let command = NewInvitations {
            emails: body.emails.plain(),
            user_type: UserTypeId::from_uuid(body.user_type),
            roles: id_set(&body.roles, RoleId::from_uuid),
            scope: id_set(&body.sub_accounts, AccountId::from_uuid),
            locale: body.locale.plain(),
        };
        let outcomes =
            invitations::invite(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0), command)
                .await?;
        let now = state.ports.clock.now();
        let mut counts = BTreeMap::new();
        let items = outcomes
            .into_iter()
            .map(|(email, outcome)| {
                *counts.entry(outcome.code().to_owned()).or_insert(0) += 1;
                let invitation = match &outcome {
                    InviteOutcome::Invited(invitation) => Some(InvitationView::new(invitation, now)),
                    _ => None,
                };
                InvitationOutcome { email, outcome: outcome.code().to_owned(), invitation }
            })
            .collect();
        Ok(Json(InvitationOutcomes { items, counts }))
    }

    /// List invitations
    ///
    /// Newest first; `state=pending` lists those that still hold a seat.
    #[oai(path = "/accounts/:account_id/invitations", method = "get", operation_id = "list_invitations")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        /// Only invitations in this state.
        #[oai(name = "state")]
        state_filter: Query<Option<InvitationStateView>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<Text<CursorKind>>>,
        /// Page size.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u16>>,
    ) -> Result<Json<InvitationList>, InvitationProblems> {
        let page = page(cursor.0.as_ref().map(Text::as_str), limit.0)?;
        let found = invitations::list_invitations(
            &state.ports,
            &auth.0.actor,
            AccountId::from_uuid(account_id.0),
            state_filter.0.map(Into::into),
            page,
        )
        .await?;
        let now = state.ports.clock.now();
        Ok(Json(InvitationList {
            items: found.items.iter().map(|i| InvitationView::new(i, now)).collect(),
            next_cursor: next_cursor(found.next.as_ref()),
        }))
    }

    /// Resend an invitation
    ///
    /// Issues a new link (the old one stops working) with a new expiry (R10).
    #[oai(path = "/invitations/:id/resend", method = "post", operation_id = "resend_invitation")]
    async fn resend(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Json<InvitationView>, InvitationProblems> {
        let invitation =
            invitations::resend(&state.ports, &auth.0.actor, InvitationId::from_uuid(id.0)).await?;
        Ok(Json(InvitationView::new(&invitation, state.ports.clock.now())))
    }

    /// Revoke an invitation
    ///
    /// Frees the reserved seat (R10).
    #[oai(path = "/invitations/:id", method = "delete", operation_id = "revoke_invitation")]
    async fn revoke(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Done, InvitationProblems> {
        invitations::revoke(&state.ports, &auth.0.actor, InvitationId::from_uuid(id.0)).await?;
        Ok(Done::NoContent)
    }
}
