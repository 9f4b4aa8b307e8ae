//! The public event feed: the [`EventRepo`] of the in-memory store. Transactions run one at a
//! time, so numbering in append order is numbering in commit order.

use super::*;

#[async_trait]
impl EventRepo for MemoryTx {
    async fn append_events(&mut self, events: &[PublicEvent]) -> Result<(), RepoError> {
        self.work.events.extend(events.iter().map(|event| PublicEvent { sequence: None, ..event.clone() }));
        Ok(())
    }

    async fn sequence_events(&mut self, limit: u32) -> Result<u32, RepoError> {
        let mut numbered = 0;
        let State { events, event_numbers, .. } = &mut self.work;
        for event in events.iter_mut().filter(|e| e.sequence.is_none()) {
            if numbered == limit {
                break;
            }
            let last = event_numbers.entry(event.root).or_default();
            *last += 1;
            event.sequence = Some(*last);
            numbered += 1;
        }
        Ok(numbered)
    }

    async fn has_unnumbered_events(&mut self) -> Result<bool, RepoError> {
        Ok(self.work.events.iter().any(|e| e.sequence.is_none()))
    }

    async fn list_events(&mut self, query: &EventQuery) -> Result<Vec<PublicEvent>, RepoError> {
        let mut found: Vec<PublicEvent> = self
            .work
            .events
            .iter()
            .filter(|e| e.root == query.root && e.sequence.is_some_and(|n| n > query.after))
            .filter(|e| query.types.accepts(e.kind) && self.within(e.account, &query.within))
            .cloned()
            .collect();
        found.sort_by_key(|e| e.sequence);
        found.truncate(usize::from(query.limit));
        Ok(found)
    }

    async fn forget_events(&mut self, before: Timestamp, limit: u32) -> Result<u32, RepoError> {
        let mut forgotten = 0;
        self.work.events.retain(|e| {
            let forget = e.occurred_at < before && forgotten < limit;
            if forget {
                forgotten += 1;
            }
            !forget
        });
        Ok(forgotten)
    }

    async fn redact_event_subject(&mut self, user: UserId) -> Result<(), RepoError> {
        let subject = user.to_string();
        for event in
            self.work.events.iter_mut().filter(|e| e.subject_kind == "user" && e.subject_id == subject)
        {
            event.data = usher_domain::redact::redact_personal_data(&event.data);
            event.changes = usher_domain::redact::redact_personal_data(&event.changes);
        }
        Ok(())
    }
}
