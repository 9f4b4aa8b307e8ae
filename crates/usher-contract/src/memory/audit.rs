//! The audit log: the [`AuditRepo`] of the in-memory store.

use super::*;

#[async_trait]
impl AuditRepo for MemoryTx {
    async fn append_audit(&mut self, event: &AuditEvent) -> Result<(), RepoError> {
        self.work.audit.push(event.clone());
        Ok(())
    }

    async fn list_audit(&mut self, query: &AuditQuery) -> Result<Page<AuditEvent>, RepoError> {
        let items = self
            .work
            .audit
            .iter()
            .filter(|e| {
                e.root == query.root && self.within(e.account, &query.within) && query.filter.matches(e)
            })
            .map(|e| (Cursor::at_time(e.at, e.id.as_uuid()), e.clone()))
            .collect();
        Ok(page(items, &query.page, true))
    }

    async fn redact_audit_subject(&mut self, user: UserId) -> Result<(), RepoError> {
        let target = user.to_string();
        for event in self.work.audit.iter_mut().filter(|e| e.target_kind == "user" && e.target_id == target) {
            event.diff = usher_domain::redact::redact_personal_data(&event.diff);
        }
        Ok(())
    }
}
