//! Contacts: the [`ContactRepo`] of the in-memory store.

use super::*;

#[async_trait]
impl ContactRepo for MemoryTx {
    async fn insert_contact(&mut self, contact: &Contact) -> Result<(), RepoError> {
        self.work.contacts.insert(contact.id, contact.clone());
        Ok(())
    }

    async fn unlinked_contacts_with_emails(
        &mut self,
        root: AccountId,
        emails: &[Email],
    ) -> Result<Vec<Contact>, RepoError> {
        Ok(self
            .work
            .contacts
            .values()
            .filter(|c| c.root == root && c.user.is_none())
            .filter(|c| c.email.as_ref().is_some_and(|email| emails.contains(email)))
            .cloned()
            .collect())
    }

    async fn link_contact(&mut self, id: ContactId, user: UserId) -> Result<(), RepoError> {
        let contact = self.work.contacts.get_mut(&id).ok_or(RepoError::NotFound { entity: "contact" })?;
        if contact.user.is_some() {
            return Err(RepoError::Stale { entity: "contact" });
        }
        contact.user = Some(user);
        Ok(())
    }

    async fn erase_contact(&mut self, id: ContactId) -> Result<(), RepoError> {
        if let Some(contact) = self.work.contacts.get_mut(&id) {
            contact.first_name = None;
            contact.last_name = None;
            contact.email = None;
            contact.phone = None;
        }
        Ok(())
    }

    async fn contact(&mut self, id: ContactId) -> Result<Option<Contact>, RepoError> {
        Ok(self.work.contacts.get(&id).cloned())
    }

    async fn update_contact(&mut self, contact: &Contact) -> Result<(), RepoError> {
        let stored =
            self.work.contacts.get_mut(&contact.id).ok_or(RepoError::NotFound { entity: "contact" })?;
        if stored.version != contact.version || stored.user != contact.user {
            return Err(RepoError::Stale { entity: "contact" });
        }
        *stored = Contact { version: contact.version + 1, ..contact.clone() };
        Ok(())
    }

    async fn delete_contact(&mut self, id: ContactId) -> Result<(), RepoError> {
        let stored = self.work.contacts.get(&id).ok_or(RepoError::NotFound { entity: "contact" })?;
        if stored.user.is_some() {
            return Err(RepoError::Stale { entity: "contact" });
        }
        self.work.contacts.remove(&id);
        Ok(())
    }

    async fn list_contacts(&mut self, query: &ContactQuery) -> Result<Page<Contact>, RepoError> {
        let starts =
            |text: Option<&str>, prefix: &str| text.is_some_and(|t| t.to_lowercase().starts_with(prefix));
        let found = |c: &Contact| {
            query.search.as_deref().is_none_or(|prefix| {
                starts(c.first_name.as_ref().map(|n| n.as_str()), prefix)
                    || starts(c.last_name.as_ref().map(|n| n.as_str()), prefix)
                    || starts(c.email.as_ref().map(|e| e.as_str()), prefix)
            })
        };
        let items = self
            .work
            .contacts
            .values()
            .filter(|c| c.root == query.root && self.within(c.account, &query.within) && found(c))
            .map(|c| (Cursor::at_time(c.created_at, c.id.as_uuid()), c.clone()))
            .collect();
        Ok(page(items, &query.page, false))
    }
}
