//! Invitations on the wire.

use super::*;

/// Where an invitation stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum InvitationStateView {
    /// Waiting for the invitee; holds a seat.
    Pending,
    /// Accepted: a user exists.
    Accepted,
    /// Revoked by an administrator.
    Revoked,
    /// The link expired unused.
    Expired,
}

impl From<InvitationStatus> for InvitationStateView {
    fn from(status: InvitationStatus) -> Self {
        match status {
            InvitationStatus::Pending => InvitationStateView::Pending,
            InvitationStatus::Accepted => InvitationStateView::Accepted,
            InvitationStatus::Revoked => InvitationStateView::Revoked,
            InvitationStatus::Expired => InvitationStateView::Expired,
        }
    }
}

impl From<InvitationStateView> for InvitationStatus {
    fn from(state: InvitationStateView) -> Self {
        match state {
            InvitationStateView::Pending => InvitationStatus::Pending,
            InvitationStateView::Accepted => InvitationStatus::Accepted,
            InvitationStateView::Revoked => InvitationStatus::Revoked,
            InvitationStateView::Expired => InvitationStatus::Expired,
        }
    }
}

/// An invitation by email.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Invitation")]
pub struct InvitationView {
    /// Id.
    pub id: Uuid,
    /// The account the user will belong to.
    pub account_id: Uuid,
    /// Invited address.
    pub email: String,
    /// User type the user will get.
    pub user_type: Uuid,
    /// Roles the user will get.
    pub roles: Vec<Uuid>,
    /// Sub-account scope the user will get.
    pub sub_accounts: Vec<Uuid>,
    /// State (`expired` is derived from `expires_at`).
    pub state: InvitationStateView,
    /// Who invited.
    pub invited_by: ActorView,
    /// When the link stops working.
    pub expires_at: OffsetDateTime,
    /// How many times the mail was sent.
    /// The invitees' language.
    pub locale: Option<String>,
    pub send_count: u32,
    /// The user who accepted.
    pub accepted_user: Option<Uuid>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

impl InvitationView {
    pub(crate) fn new(invitation: &Invitation, now: Timestamp) -> InvitationView {
        InvitationView {
            id: invitation.id.as_uuid(),
            account_id: invitation.account.as_uuid(),
            email: invitation.email.to_string(),
            user_type: invitation.user_type.as_uuid(),
            roles: ids(&invitation.roles, |id| id.as_uuid()),
            sub_accounts: ids(&invitation.scope, |id| id.as_uuid()),
            state: invitation.status(now).into(),
            invited_by: invitation.invited_by.into(),
            expires_at: at(invitation.expires_at),
            locale: invitation.locale.as_ref().map(|l| l.as_str().to_owned()),
            send_count: invitation.send_count,
            accepted_user: invitation.accepted_user.map(|id| id.as_uuid()),
            created_at: at(invitation.created_at),
            updated_at: at(invitation.updated_at),
        }
    }
}

/// A page of invitations.
#[derive(Object, Debug, Clone)]
pub struct InvitationList {
    /// Invitations, newest first.
    pub items: Vec<InvitationView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}
