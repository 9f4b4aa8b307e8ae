//! The mail outbox: the [`OutboxRepo`] of the in-memory store.

use super::*;

#[async_trait]
impl OutboxRepo for MemoryTx {
    async fn erase_mail_to(
        &mut self,
        root: AccountId,
        email: &Email,
        replacement: &Email,
        username: &str,
    ) -> Result<(), RepoError> {
        let unsent: Vec<MailId> = self
            .work
            .outbox
            .iter()
            .filter(|m| m.root == root && m.to == *email)
            .filter(|m| self.work.deliveries.get(&m.id).is_none_or(|d| d.state == DeliveryState::Pending))
            .map(|m| m.id)
            .collect();
        self.work.outbox.retain(|m| !unsent.contains(&m.id));
        for id in &unsent {
            self.work.deliveries.remove(id);
        }
        for mail in self.work.outbox.iter_mut().filter(|m| m.root == root && m.to == *email) {
            mail.to = replacement.clone();
            mail.message = mail.message.without_token();
            if let MailMessage::Welcome { username: name, .. } = &mut mail.message {
                username.clone_into(name);
            }
        }
        Ok(())
    }

    async fn enqueue_mail(&mut self, mail: &OutboxMail) -> Result<(), RepoError> {
        self.work.outbox.push(mail.clone());
        let delivery = Delivery {
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: Some(mail.created_at),
            last_error: None,
            sent_at: None,
        };
        self.work.deliveries.insert(mail.id, delivery);
        Ok(())
    }

    async fn claim_mail(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, RepoError> {
        let mut due: Vec<(Timestamp, Timestamp, MailId)> = self
            .work
            .outbox
            .iter()
            .filter_map(|mail| {
                let delivery = self.work.deliveries.get(&mail.id)?;
                let at = delivery.next_attempt_at?;
                (delivery.state == DeliveryState::Pending && at <= now).then_some((
                    at,
                    mail.created_at,
                    mail.id,
                ))
            })
            .collect();
        due.sort();
        due.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let mut claimed = Vec::new();
        for (_, _, id) in due {
            let Some(delivery) = self.work.deliveries.get_mut(&id) else { continue };
            delivery.attempts += 1;
            delivery.next_attempt_at = Some(lease_until);
            let attempts = delivery.attempts;
            if let Some(mail) = self.work.outbox.iter().find(|m| m.id == id) {
                claimed.push(ClaimedMail { mail: mail.clone(), attempts });
            }
        }
        claimed.sort_by_key(|c| (c.mail.created_at, c.mail.id));
        Ok(claimed)
    }

    async fn mark_mail_sent(&mut self, mail: &OutboxMail, at: Timestamp) -> Result<(), RepoError> {
        let delivery =
            self.work.deliveries.get_mut(&mail.id).ok_or(RepoError::NotFound { entity: "mail" })?;
        delivery.state = DeliveryState::Sent;
        delivery.next_attempt_at = None;
        delivery.last_error = None;
        delivery.sent_at = Some(at);
        if let Some(stored) = self.work.outbox.iter_mut().find(|m| m.id == mail.id) {
            stored.message = stored.message.without_token();
        }
        Ok(())
    }

    async fn mark_mail_failed(
        &mut self,
        id: MailId,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<(), RepoError> {
        let delivery = self.work.deliveries.get_mut(&id).ok_or(RepoError::NotFound { entity: "mail" })?;
        delivery.last_error = Some(error.to_owned());
        delivery.next_attempt_at = retry_at;
        if retry_at.is_none() {
            delivery.state = DeliveryState::Failed;
        }
        Ok(())
    }

    async fn discard_mail(&mut self, id: MailId) -> Result<(), RepoError> {
        self.work.outbox.retain(|mail| mail.id != id);
        self.work.deliveries.remove(&id);
        Ok(())
    }

    async fn retry_mail(&mut self, id: MailId, at: Timestamp) -> Result<bool, RepoError> {
        let Some(delivery) = self.work.deliveries.get_mut(&id) else { return Ok(false) };
        if delivery.state != DeliveryState::Failed {
            return Ok(false);
        }
        delivery.state = DeliveryState::Pending;
        delivery.attempts = 0;
        delivery.next_attempt_at = Some(at);
        Ok(true)
    }

    async fn queued_mail(&mut self, id: MailId) -> Result<Option<QueuedMail>, RepoError> {
        let mail = self.work.outbox.iter().find(|m| m.id == id);
        Ok(mail.and_then(|mail| self.queued(mail)))
    }

    async fn list_mail(&mut self, query: &MailQuery) -> Result<Page<QueuedMail>, RepoError> {
        let items = self
            .work
            .outbox
            .iter()
            .filter(|m| m.root == query.root && self.within(m.account, &query.within))
            .filter_map(|m| self.queued(m))
            .filter(|q| query.state.is_none_or(|state| q.delivery.state == state))
            .map(|q| (Cursor::at_time(q.mail.created_at, q.mail.id.as_uuid()), q))
            .collect();
        Ok(page(items, &query.page, false))
    }
}
