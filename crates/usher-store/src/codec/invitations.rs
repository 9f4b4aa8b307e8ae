//! Rows to domain values and back: invitations.

use super::*;

pub(crate) fn invitation_state_text(state: InvitationState) -> &'static str {
    match state {
        InvitationState::Pending => "pending",
        InvitationState::Accepted => "accepted",
        InvitationState::Revoked => "revoked",
    }
}

pub(crate) fn invitation_row(i: &Invitation) -> Result<invitation::Model, RepoError> {
    const E: &str = "invitation";
    Ok(invitation::Model {
        id: i.id.as_uuid(),
        root_id: i.root.as_uuid(),
        account_id: i.account.as_uuid(),
        email: i.email.as_str().to_owned(),
        user_type_id: i.user_type.as_uuid(),
        roles: ids_to_json(E, &i.roles, |r: RoleId| r.as_uuid())?,
        scope: ids_to_json(E, &i.scope, |a: AccountId| a.as_uuid())?,
        invited_by: actor_to_json(&i.invited_by)?,
        token_hash: i.token_hash.as_str().to_owned(),
        state: invitation_state_text(i.state).to_owned(),
        expires_at: i.expires_at.unix_micros(),
        send_count: i64::from(i.send_count),
        created_at: i.created_at.unix_micros(),
        updated_at: i.updated_at.unix_micros(),
        accepted_user: i.accepted_user.map(|u| u.as_uuid()),
        locale: i.locale.as_ref().map(|l| l.as_str().to_owned()),
    })
}

pub(crate) fn invitation_from_row(row: invitation::Model) -> Result<Invitation, RepoError> {
    const E: &str = "invitation";
    Ok(Invitation {
        id: InvitationId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        email: Email::parse(&row.email).map_err(corrupt(E))?,
        user_type: UserTypeId::from_uuid(row.user_type_id),
        roles: ids_from_json(E, &row.roles, RoleId::from_uuid)?,
        scope: ids_from_json(E, &row.scope, AccountId::from_uuid)?,
        invited_by: actor_from_json(E, &row.invited_by)?,
        token_hash: TokenHash::parse(&row.token_hash).map_err(corrupt(E))?,
        state: match row.state.as_str() {
            "pending" => InvitationState::Pending,
            "accepted" => InvitationState::Accepted,
            "revoked" => InvitationState::Revoked,
            other => return Err(RepoError::corrupt(E, format!("unknown state {other:?}"))),
        },
        expires_at: time(E, row.expires_at)?,
        send_count: count(E, row.send_count)?,
        created_at: time(E, row.created_at)?,
        updated_at: time(E, row.updated_at)?,
        accepted_user: row.accepted_user.map(UserId::from_uuid),
        locale: optional(E, row.locale.as_deref(), Locale::parse)?,
    })
}
