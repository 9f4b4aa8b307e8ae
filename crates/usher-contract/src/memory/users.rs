//! Users and their devices: the [`UserRepo`] of the in-memory store.

use super::*;

#[async_trait]
impl UserRepo for MemoryTx {
    async fn insert_user(&mut self, user: &User) -> Result<(), RepoError> {
        self.check_unique_keys(user)?;
        if self.work.users.contains_key(&user.id) {
            return Err(RepoError::Duplicate { entity: "user", field: "id" });
        }
        self.work.users.insert(user.id, user.clone());
        Ok(())
    }

    async fn update_user(&mut self, user: &User) -> Result<(), RepoError> {
        self.check_unique_keys(user)?;
        let stored = self.work.users.get_mut(&user.id).ok_or(RepoError::NotFound { entity: "user" })?;
        if stored.version != user.version {
            return Err(RepoError::Stale { entity: "user" });
        }
        *stored = User { version: user.version + 1, ..user.clone() };
        Ok(())
    }

    async fn record_login(&mut self, user: UserId, at: Timestamp) -> Result<(), RepoError> {
        let stored = self.work.users.get_mut(&user).ok_or(RepoError::NotFound { entity: "user" })?;
        stored.last_login_at = Some(at);
        Ok(())
    }

    async fn delete_user(&mut self, id: UserId) -> Result<(), RepoError> {
        self.work.users.remove(&id).ok_or(RepoError::NotFound { entity: "user" })?;
        self.work.passwords.remove(&id);
        self.work.token_cutoffs.remove(&id);
        self.work.sessions.retain(|_, s| s.user != id);
        self.work.tokens.retain(|_, t| t.user != id);
        self.work.devices.retain(|_, d| d.user != id);
        self.work.external_identities.retain(|_, i| i.user != id);
        Ok(())
    }

    async fn user(&mut self, id: UserId) -> Result<Option<User>, RepoError> {
        Ok(self.work.users.get(&id).cloned())
    }

    async fn user_by_username(
        &mut self,
        root: AccountId,
        key: &UsernameKey,
    ) -> Result<Option<User>, RepoError> {
        Ok(self.work.users.values().find(|u| u.root == root && &u.username.key() == key).cloned())
    }

    async fn user_by_email(&mut self, root: AccountId, email: &Email) -> Result<Option<User>, RepoError> {
        Ok(self.work.users.values().find(|u| u.root == root && &u.email == email).cloned())
    }

    async fn list_users(&mut self, query: &UserQuery) -> Result<Page<User>, RepoError> {
        let matches = |u: &User| {
            let prefix_ok = query.prefix.as_deref().is_none_or(|p| {
                let starts = |text: &str| lower(text).starts_with(p);
                starts(u.username.as_str())
                    || starts(u.email.as_str())
                    || u.profile.first_name.as_ref().is_some_and(|n| starts(n.as_str()))
                    || u.profile.last_name.as_ref().is_some_and(|n| starts(n.as_str()))
            });
            u.root == query.root
                && self.within(u.account, &query.within)
                && query.state.is_none_or(|s| u.state == s)
                && query.user_type.is_none_or(|t| u.user_type == t)
                && query.role.is_none_or(|r| u.roles.contains(&r))
                && prefix_ok
        };
        let items = self
            .work
            .users
            .values()
            .filter(|u| matches(u))
            .map(|u| (Cursor { key: u.username.key().as_str().to_owned(), id: u.id.as_uuid() }, u.clone()))
            .collect();
        Ok(page(items, &query.page, false))
    }

    async fn search_users(&mut self, search: &UserSearch) -> Result<SearchPage, RepoError> {
        let mut found: Vec<&User> = self
            .work
            .users
            .values()
            .filter(|u| {
                u.root == search.root && u.erased_at.is_none() && self.within(u.account, &search.within)
            })
            .filter(|u| search.filter.matches(u))
            .collect();
        match search.order {
            SearchOrder::Created => found.sort_by_key(|u| u.id.as_uuid()),
            SearchOrder::UsernameAscending => found.sort_by_key(|u| u.username.key()),
            SearchOrder::UsernameDescending => found.sort_by_key(|u| std::cmp::Reverse(u.username.key())),
        }
        let total = found.len() as u64;
        let offset = usize::try_from(search.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(search.limit).unwrap_or(usize::MAX);
        let users = found.into_iter().skip(offset).take(limit).cloned().collect();
        Ok(SearchPage { total, users })
    }

    async fn user_by_external_id(
        &mut self,
        root: AccountId,
        external_id: &ExternalId,
    ) -> Result<Option<User>, RepoError> {
        Ok(self
            .work
            .users
            .values()
            .find(|u| u.root == root && u.external_id.as_ref() == Some(external_id))
            .cloned())
    }

    async fn has_acted(&mut self, user: UserId) -> Result<bool, RepoError> {
        use usher_domain::model::ActorRef;
        Ok(self
            .work
            .audit
            .iter()
            .any(|e| matches!(e.actor, ActorRef::User(id) | ActorRef::Operator(id) if id == user)))
    }

    async fn insert_device(&mut self, device: &Device) -> Result<(), RepoError> {
        if self.work.devices.values().any(|d| d.user == device.user && d.identifier == device.identifier) {
            return Err(RepoError::Duplicate { entity: "device", field: "identifier" });
        }
        self.work.devices.insert(device.id, device.clone());
        Ok(())
    }

    async fn delete_device(&mut self, id: DeviceId) -> Result<(), RepoError> {
        self.work.devices.remove(&id).map(|_| ()).ok_or(RepoError::NotFound { entity: "device" })
    }

    async fn devices(&mut self, user: UserId) -> Result<Vec<Device>, RepoError> {
        Ok(self.work.devices.values().filter(|d| d.user == user).cloned().collect())
    }

    async fn replace_user_role(
        &mut self,
        root: AccountId,
        from: RoleId,
        to: RoleId,
    ) -> Result<u64, RepoError> {
        let mut changed = 0;
        for user in self.work.users.values_mut().filter(|u| u.root == root) {
            if user.roles.remove(&from) {
                user.roles.insert(to);
                user.version += 1;
                changed += 1;
            }
        }
        Ok(changed)
    }

    async fn external_identity(
        &mut self,
        root: AccountId,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<ExternalIdentity>, RepoError> {
        Ok(self.work.external_identities.get(&(root, issuer.to_owned(), subject.to_owned())).cloned())
    }

    async fn insert_external_identity(&mut self, identity: &ExternalIdentity) -> Result<(), RepoError> {
        let key = (identity.root, identity.issuer.clone(), identity.subject.clone());
        if self.work.external_identities.contains_key(&key) {
            return Err(RepoError::Duplicate { entity: "external identity", field: "subject" });
        }
        self.work.external_identities.insert(key, identity.clone());
        Ok(())
    }

    async fn delete_external_identities(&mut self, user: UserId) -> Result<(), RepoError> {
        self.work.external_identities.retain(|_, i| i.user != user);
        Ok(())
    }
}
