//! Rows to domain values and back: public events (R26).

use super::*;
use sea_orm::ActiveValue::{NotSet, Set};

pub(crate) fn event_row(e: &PublicEvent) -> Result<event::ActiveModel, RepoError> {
    const E: &str = "event";
    Ok(event::ActiveModel {
        pos: NotSet,
        id: Set(e.id.as_uuid()),
        root_id: Set(e.root.as_uuid()),
        account_id: Set(e.account.as_uuid()),
        kind: Set(e.kind.to_owned()),
        occurred_at: Set(e.occurred_at.unix_micros()),
        actor: Set(actor_to_json(&e.actor)?),
        origin: Set(e.origin.clone()),
        subject_kind: Set(e.subject_kind.clone()),
        subject_id: Set(e.subject_id.clone()),
        data: Set(to_json(E, &e.data)?),
        changes: Set(to_json(E, &e.changes)?),
        seq: Set(None),
    })
}

pub(crate) fn event_from_row(row: event::Model) -> Result<PublicEvent, RepoError> {
    const E: &str = "event";
    Ok(PublicEvent {
        id: EventId::from_uuid(row.id),
        root: AccountId::from_uuid(row.root_id),
        account: AccountId::from_uuid(row.account_id),
        kind: PublicEvent::known_type(&row.kind)
            .ok_or_else(|| RepoError::corrupt(E, "unknown event type"))?,
        occurred_at: time(E, row.occurred_at)?,
        actor: actor_from_json(E, &row.actor)?,
        origin: row.origin,
        subject_kind: row.subject_kind,
        subject_id: row.subject_id,
        data: from_json(E, &row.data)?,
        changes: from_json(E, &row.changes)?,
        sequence: row
            .seq
            .map(|n| u64::try_from(n).map_err(|_| RepoError::corrupt(E, "negative number")))
            .transpose()?,
    })
}
