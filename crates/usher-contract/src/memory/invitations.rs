//! Invitations: the [`InvitationRepo`] of the in-memory store.

use super::*;

#[async_trait]
impl InvitationRepo for MemoryTx {
    async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<(), RepoError> {
        let duplicate = self.work.invitations.values().any(|i| {
            i.root == invitation.root && i.email == invitation.email && i.state == InvitationState::Pending
        });
        if duplicate {
            return Err(RepoError::Duplicate { entity: "invitation", field: "email" });
        }
        self.work.invitations.insert(invitation.id, invitation.clone());
        Ok(())
    }

    async fn update_invitation(
        &mut self,
        invitation: &Invitation,
        expected: InvitationState,
    ) -> Result<(), RepoError> {
        let stored = self
            .work
            .invitations
            .get_mut(&invitation.id)
            .ok_or(RepoError::NotFound { entity: "invitation" })?;
        if stored.state != expected {
            return Err(RepoError::Stale { entity: "invitation" });
        }
        *stored = invitation.clone();
        Ok(())
    }

    async fn invitation(&mut self, id: InvitationId) -> Result<Option<Invitation>, RepoError> {
        Ok(self.work.invitations.get(&id).cloned())
    }

    async fn invitation_by_token(&mut self, hash: &TokenHash) -> Result<Option<Invitation>, RepoError> {
        Ok(self.work.invitations.values().find(|i| &i.token_hash == hash).cloned())
    }

    async fn pending_invitation_for(
        &mut self,
        root: AccountId,
        email: &Email,
    ) -> Result<Option<Invitation>, RepoError> {
        Ok(self
            .work
            .invitations
            .values()
            .find(|i| i.root == root && &i.email == email && i.state == InvitationState::Pending)
            .cloned())
    }

    async fn list_invitations(&mut self, query: &InvitationQuery) -> Result<Page<Invitation>, RepoError> {
        let items = self
            .work
            .invitations
            .values()
            .filter(|i| {
                i.root == query.root
                    && self.within(i.account, &query.within)
                    && query.status.is_none_or(|s| i.status(query.now) == s)
            })
            .map(|i| (Cursor::at_time(i.created_at, i.id.as_uuid()), i.clone()))
            .collect();
        Ok(page(items, &query.page, false))
    }

    async fn erase_invitations_to(
        &mut self,
        root: AccountId,
        email: &Email,
        replacement: &Email,
    ) -> Result<(), RepoError> {
        for invitation in self.work.invitations.values_mut().filter(|i| i.root == root && i.email == *email) {
            invitation.email = replacement.clone();
            if invitation.state == InvitationState::Pending {
                invitation.state = InvitationState::Revoked;
            }
        }
        Ok(())
    }

    async fn replace_invitation_role(
        &mut self,
        root: AccountId,
        from: RoleId,
        to: RoleId,
    ) -> Result<u64, RepoError> {
        let mut changed = 0;
        for invitation in self.work.invitations.values_mut().filter(|i| i.root == root) {
            if invitation.roles.remove(&from) {
                invitation.roles.insert(to);
                changed += 1;
            }
        }
        Ok(changed)
    }
}
