//! Invitations by email and their states (R10, R11).

use super::*;

/// The state an invitation was left in; `Expired` is derived from the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvitationState {
    /// Waiting for the invitee (or expired, when past `expires_at`).
    Pending,
    /// Accepted: a user exists.
    Accepted,
    /// Revoked by an administrator.
    Revoked,
}

/// An invitation's status at a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvitationStatus {
    /// Pending and not expired: reserves a seat.
    Pending,
    /// Accepted.
    Accepted,
    /// Revoked.
    Revoked,
    /// Pending but past its expiry.
    Expired,
}

/// An invitation to join an account by email (R10, R11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Id.
    pub id: InvitationId,
    /// Root account.
    pub root: AccountId,
    /// The account the user will belong to.
    pub account: AccountId,
    /// Invitee.
    pub email: Email,
    /// User type given on acceptance.
    pub user_type: UserTypeId,
    /// Roles given on acceptance.
    pub roles: BTreeSet<RoleId>,
    /// Scope given on acceptance.
    pub scope: BTreeSet<AccountId>,
    /// Who invited.
    pub invited_by: ActorRef,
    /// Hash of the current link token; resending replaces it.
    pub token_hash: TokenHash,
    /// Stored state.
    pub state: InvitationState,
    /// When the current link dies.
    pub expires_at: Timestamp,
    /// How many times the mail was sent.
    pub send_count: u32,
    /// Created at.
    pub created_at: Timestamp,
    /// Updated at.
    pub updated_at: Timestamp,
    /// The user created by accepting.
    pub accepted_user: Option<UserId>,
    /// The invitee's language: the mail's, and the new user's preferred locale.
    pub locale: Option<Locale>,
}

impl Invitation {
    /// The status at `now`.
    pub fn status(&self, now: Timestamp) -> InvitationStatus {
        match self.state {
            InvitationState::Pending if self.expires_at <= now => InvitationStatus::Expired,
            InvitationState::Pending => InvitationStatus::Pending,
            InvitationState::Accepted => InvitationStatus::Accepted,
            InvitationState::Revoked => InvitationStatus::Revoked,
        }
    }

    /// R1: whether the invitation holds a seat of its type at `now` (pending, not expired).
    pub fn reserves_seat(&self, now: Timestamp) -> bool {
        self.status(now) == InvitationStatus::Pending
    }
}
