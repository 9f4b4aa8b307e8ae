//! Rows to domain values and back: actors and audit events.

use super::*;

/// An actor as stored: its [`ActorDocument`].
pub(crate) fn actor_to_json(actor: &ActorRef) -> Result<String, RepoError> {
    to_json("actor", &ActorDocument::from(*actor))
}

pub(crate) fn actor_from_json(entity: &'static str, raw: &str) -> Result<ActorRef, RepoError> {
    Ok(ActorRef::from(from_json::<ActorDocument>(entity, raw)?))
}

/// The user behind an actor, for "has this user acted" (R8).
pub(crate) fn actor_user(actor: &ActorRef) -> Option<Uuid> {
    match actor {
        ActorRef::User(id) | ActorRef::Operator(id) => Some(id.as_uuid()),
        _ => None,
    }
}

pub(crate) fn audit_row(e: &AuditEvent) -> Result<audit_event::Model, RepoError> {
    Ok(audit_event::Model {
        id: e.id.as_uuid(),
        root_id: e.root.as_uuid(),
        account_id: e.account.as_uuid(),
        actor: actor_to_json(&e.actor)?,
        actor_user: actor_user(&e.actor),
        action: e.action.clone(),
        target_kind: e.target_kind.clone(),
        target_id: e.target_id.clone(),
        at: e.at.unix_micros(),
        source: e.source.clone(),
        origin: e.origin.clone(),
        diff: to_json("audit event", &e.diff)?,
    })
}

pub(crate) fn audit_from_row(row: audit_event::Model) -> Result<AuditEvent, RepoError> {
    const E: &str = "audit event";
    Ok(AuditEvent {
        id: AuditEventId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        actor: actor_from_json(E, &row.actor)?,
        action: row.action,
        target_kind: row.target_kind,
        target_id: row.target_id,
        at: time(E, row.at)?,
        source: row.source,
        origin: row.origin,
        diff: from_json(E, &row.diff)?,
    })
}
