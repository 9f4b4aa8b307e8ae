//! Webhooks and their deliveries: the [`WebhookRepo`] of the in-memory store. A webhook is
//! kept with its lease.

use super::*;

#[async_trait]
impl WebhookRepo for MemoryTx {
    async fn insert_webhook(&mut self, webhook: &Webhook) -> Result<(), RepoError> {
        self.work.webhooks.insert(webhook.id, (webhook.clone(), None));
        Ok(())
    }

    async fn update_webhook(&mut self, webhook: &Webhook) -> Result<(), RepoError> {
        let (stored, _) =
            self.work.webhooks.get_mut(&webhook.id).ok_or(RepoError::NotFound { entity: "webhook" })?;
        if stored.version != webhook.version {
            return Err(RepoError::Stale { entity: "webhook" });
        }
        // The fan-out owns the cursor.
        *stored = Webhook { version: webhook.version + 1, cursor: stored.cursor, ..webhook.clone() };
        Ok(())
    }

    async fn delete_webhook(&mut self, id: WebhookId) -> Result<(), RepoError> {
        self.work.webhooks.remove(&id);
        self.work.webhook_deliveries.retain(|_, d| d.webhook != id);
        Ok(())
    }

    async fn webhook(&mut self, id: WebhookId) -> Result<Option<Webhook>, RepoError> {
        Ok(self.work.webhooks.get(&id).map(|(w, _)| w.clone()))
    }

    async fn webhooks(
        &mut self,
        root: AccountId,
        within: &std::collections::BTreeSet<AccountId>,
    ) -> Result<Vec<Webhook>, RepoError> {
        let mut found: Vec<Webhook> = self
            .work
            .webhooks
            .values()
            .map(|(w, _)| w)
            .filter(|w| w.root == root && self.within(w.account, within))
            .cloned()
            .collect();
        found.sort_by_key(|w| (w.created_at, w.id));
        Ok(found)
    }

    async fn webhooks_behind(&mut self) -> Result<Vec<Webhook>, RepoError> {
        let numbers = &self.work.event_numbers;
        let behind = |w: &&Webhook| w.enabled && numbers.get(&w.root).is_some_and(|last| *last > w.cursor);
        Ok(self.work.webhooks.values().map(|(w, _)| w).filter(behind).cloned().collect())
    }

    async fn last_event_number(&mut self, root: AccountId) -> Result<u64, RepoError> {
        Ok(self.work.event_numbers.get(&root).copied().unwrap_or_default())
    }

    async fn fan_out(
        &mut self,
        webhook: WebhookId,
        from: u64,
        to: u64,
        deliveries: &[WebhookDelivery],
    ) -> Result<bool, RepoError> {
        let Some((stored, _)) = self.work.webhooks.get_mut(&webhook) else {
            return Ok(false);
        };
        if stored.cursor != from {
            return Ok(false);
        }
        stored.cursor = to;
        self.work.webhook_deliveries.extend(deliveries.iter().map(|d| (d.id, d.clone())));
        Ok(true)
    }

    async fn claim_webhooks(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Webhook>, RepoError> {
        let pending: std::collections::BTreeSet<WebhookId> = self
            .work
            .webhook_deliveries
            .values()
            .filter(|d| d.status == WebhookDeliveryStatus::Pending)
            .map(|d| d.webhook)
            .collect();
        let mut claimed = Vec::new();
        for (webhook, lease) in self.work.webhooks.values_mut() {
            if claimed.len() == usize::try_from(limit).unwrap_or(usize::MAX) {
                break;
            }
            let free = lease.is_none_or(|until| until <= now);
            if webhook.enabled && free && webhook.next_attempt_at <= now && pending.contains(&webhook.id) {
                *lease = Some(lease_until);
                claimed.push(webhook.clone());
            }
        }
        Ok(claimed)
    }

    async fn pending_deliveries(
        &mut self,
        webhook: WebhookId,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, RepoError> {
        let mut found: Vec<WebhookDelivery> = self
            .work
            .webhook_deliveries
            .values()
            .filter(|d| d.webhook == webhook && d.status == WebhookDeliveryStatus::Pending)
            .cloned()
            .collect();
        found.sort_by_key(|d| (d.sequence, d.id));
        found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(found)
    }

    async fn update_delivery(&mut self, delivery: &WebhookDelivery) -> Result<(), RepoError> {
        self.work.webhook_deliveries.insert(delivery.id, delivery.clone());
        Ok(())
    }

    async fn settle_webhook(
        &mut self,
        id: WebhookId,
        next_attempt_at: Timestamp,
        failing_since: Option<Timestamp>,
        disabled_reason: Option<String>,
    ) -> Result<(), RepoError> {
        if let Some((webhook, lease)) = self.work.webhooks.get_mut(&id) {
            *lease = None;
            webhook.next_attempt_at = next_attempt_at;
            webhook.failing_since = failing_since;
            if disabled_reason.is_some() {
                webhook.enabled = false;
                webhook.disabled_reason = disabled_reason;
            }
        }
        Ok(())
    }

    async fn list_deliveries(
        &mut self,
        webhook: WebhookId,
        page: &PageRequest,
    ) -> Result<Page<WebhookDelivery>, RepoError> {
        let items = self
            .work
            .webhook_deliveries
            .values()
            .filter(|d| d.webhook == webhook)
            .map(|d| (Cursor { key: format!("{:020}", d.sequence), id: d.id.as_uuid() }, d.clone()))
            .collect();
        Ok(super::page(items, page, true))
    }

    async fn delivery(&mut self, id: DeliveryId) -> Result<Option<WebhookDelivery>, RepoError> {
        Ok(self.work.webhook_deliveries.get(&id).cloned())
    }
}
