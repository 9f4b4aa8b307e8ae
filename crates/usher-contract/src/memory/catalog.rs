//! A root's catalog: settings, user types, seats and roles: the [`CatalogRepo`] of the in-memory store.

use super::*;

#[async_trait]
impl CatalogRepo for MemoryTx {
    async fn settings(&mut self, root: AccountId) -> Result<Option<Settings>, RepoError> {
        Ok(self.work.settings.get(&root).cloned())
    }

    async fn settings_for_update(&mut self, root: AccountId) -> Result<Option<Settings>, RepoError> {
        // Every transaction of this store holds the whole state: it is locked already.
        self.settings(root).await
    }

    async fn put_settings(&mut self, root: AccountId, settings: &Settings) -> Result<(), RepoError> {
        self.work.settings.insert(root, settings.clone());
        Ok(())
    }

    async fn insert_user_type(&mut self, user_type: &UserType) -> Result<(), RepoError> {
        if self.work.user_types.values().any(|t| t.root == user_type.root && t.key == user_type.key) {
            return Err(RepoError::Duplicate { entity: "user type", field: "key" });
        }
        self.work.user_types.insert(user_type.id, user_type.clone());
        Ok(())
    }

    async fn update_user_type(&mut self, user_type: &UserType) -> Result<(), RepoError> {
        let stored =
            self.work.user_types.get_mut(&user_type.id).ok_or(RepoError::NotFound { entity: "user type" })?;
        if stored.version != user_type.version {
            return Err(RepoError::Stale { entity: "user type" });
        }
        *stored = UserType { version: user_type.version + 1, ..user_type.clone() };
        Ok(())
    }

    async fn user_type(&mut self, id: UserTypeId) -> Result<Option<UserType>, RepoError> {
        Ok(self.work.user_types.get(&id).cloned())
    }

    async fn user_types(&mut self, root: AccountId) -> Result<Vec<UserType>, RepoError> {
        let mut types: Vec<UserType> =
            self.work.user_types.values().filter(|t| t.root == root).cloned().collect();
        types.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(types)
    }

    async fn set_seat_total(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        total: u32,
    ) -> Result<(), RepoError> {
        self.work.seat_totals.insert((root, user_type), total);
        Ok(())
    }

    async fn seat_usage(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        now: Timestamp,
    ) -> Result<SeatUsage, RepoError> {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let used = self
            .work
            .users
            .values()
            .filter(|u| u.root == root && u.user_type == user_type && u.holds_seat())
            .count();
        let reserved = self
            .work
            .invitations
            .values()
            .filter(|i| i.root == root && i.user_type == user_type && i.reserves_seat(now))
            .count();
        let total = self.work.seat_totals.get(&(root, user_type)).copied().unwrap_or(0);
        Ok(SeatUsage { user_type, total, used: count(used), reserved: count(reserved) })
    }

    async fn lock_seat_pool(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        now: Timestamp,
    ) -> Result<SeatUsage, RepoError> {
        // Transactions already run one at a time here.
        self.seat_usage(root, user_type, now).await
    }

    async fn insert_role(&mut self, role: &Role) -> Result<(), RepoError> {
        let name = lower(role.name.as_str());
        if self.work.roles.values().any(|r| r.root == role.root && lower(r.name.as_str()) == name) {
            return Err(RepoError::Duplicate { entity: "role", field: "name" });
        }
        self.work.roles.insert(role.id, role.clone());
        Ok(())
    }

    async fn update_role(&mut self, role: &Role) -> Result<(), RepoError> {
        let name = lower(role.name.as_str());
        if self
            .work
            .roles
            .values()
            .any(|r| r.root == role.root && r.id != role.id && lower(r.name.as_str()) == name)
        {
            return Err(RepoError::Duplicate { entity: "role", field: "name" });
        }
        let stored = self.work.roles.get_mut(&role.id).ok_or(RepoError::NotFound { entity: "role" })?;
        if stored.version != role.version {
            return Err(RepoError::Stale { entity: "role" });
        }
        *stored = Role { version: role.version + 1, ..role.clone() };
        Ok(())
    }

    async fn delete_role(&mut self, id: RoleId) -> Result<(), RepoError> {
        self.work.roles.remove(&id).map(|_| ()).ok_or(RepoError::NotFound { entity: "role" })
    }

    async fn role(&mut self, id: RoleId) -> Result<Option<Role>, RepoError> {
        Ok(self.work.roles.get(&id).cloned())
    }

    async fn roles(&mut self, root: AccountId) -> Result<Vec<Role>, RepoError> {
        let mut roles: Vec<Role> = self.work.roles.values().filter(|r| r.root == root).cloned().collect();
        roles.sort_by_key(|r| lower(r.name.as_str()));
        Ok(roles)
    }

    async fn role_assignments(&mut self, id: RoleId) -> Result<u64, RepoError> {
        let users = self.work.users.values().filter(|u| u.roles.contains(&id)).count();
        let invitations = self
            .work
            .invitations
            .values()
            .filter(|i| i.state == InvitationState::Pending && i.roles.contains(&id))
            .count();
        Ok(u64::try_from(users + invitations).unwrap_or(u64::MAX))
    }
}
