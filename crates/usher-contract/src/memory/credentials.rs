//! Password hashes, sessions, one-time tokens, API keys and throttle counts: the [`CredentialRepo`] of the in-memory store.

use super::*;

#[async_trait]
impl CredentialRepo for MemoryTx {
    async fn password_hash(&mut self, user: UserId) -> Result<Option<PasswordHash>, RepoError> {
        Ok(self.work.passwords.get(&user).cloned())
    }

    async fn set_password_hash(&mut self, user: UserId, hash: Option<PasswordHash>) -> Result<(), RepoError> {
        match hash {
            Some(hash) => self.work.passwords.insert(user, hash),
            None => self.work.passwords.remove(&user),
        };
        Ok(())
    }

    async fn insert_session(&mut self, session: &Session) -> Result<(), RepoError> {
        self.work.sessions.insert(session.token_hash.clone(), session.clone());
        Ok(())
    }

    async fn session_by_token(&mut self, hash: &TokenHash) -> Result<Option<Session>, RepoError> {
        Ok(self.work.sessions.get(hash).cloned())
    }

    async fn delete_session(&mut self, hash: &TokenHash) -> Result<(), RepoError> {
        self.work.sessions.remove(hash);
        Ok(())
    }

    async fn sessions_of(&mut self, user: UserId) -> Result<Vec<Session>, RepoError> {
        let mut sessions: Vec<Session> =
            self.work.sessions.values().filter(|s| s.user == user).cloned().collect();
        sessions.sort_by_key(|s| std::cmp::Reverse((s.created_at, s.id)));
        Ok(sessions)
    }

    async fn session(&mut self, id: SessionId) -> Result<Option<Session>, RepoError> {
        Ok(self.work.sessions.values().find(|s| s.id == id).cloned())
    }

    async fn delete_session_by_id(&mut self, id: SessionId) -> Result<(), RepoError> {
        self.work.sessions.retain(|_, s| s.id != id);
        Ok(())
    }

    async fn touch_session(&mut self, id: SessionId, at: Timestamp) -> Result<(), RepoError> {
        for session in self.work.sessions.values_mut().filter(|s| s.id == id) {
            session.last_seen_at = at;
        }
        Ok(())
    }

    async fn delete_sessions_of(&mut self, user: UserId) -> Result<u64, RepoError> {
        let before = self.work.sessions.len();
        self.work.sessions.retain(|_, s| s.user != user);
        Ok(u64::try_from(before - self.work.sessions.len()).unwrap_or(0))
    }

    async fn insert_token(&mut self, token: &OneTimeToken) -> Result<(), RepoError> {
        self.work.tokens.insert(token.id, token.clone());
        Ok(())
    }

    async fn token_by_hash(&mut self, hash: &TokenHash) -> Result<Option<OneTimeToken>, RepoError> {
        Ok(self.work.tokens.values().find(|t| &t.token_hash == hash).cloned())
    }

    async fn consume_token(&mut self, id: TokenId, now: Timestamp) -> Result<(), RepoError> {
        let token = self.work.tokens.get_mut(&id).ok_or(RepoError::NotFound { entity: "token" })?;
        if token.used_at.is_some() {
            return Err(RepoError::Stale { entity: "token" });
        }
        token.used_at = Some(now);
        Ok(())
    }

    async fn retire_tokens(
        &mut self,
        user: UserId,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<(), RepoError> {
        for token in self.work.tokens.values_mut().filter(|t| t.user == user && t.purpose == purpose) {
            token.used_at.get_or_insert(now);
        }
        Ok(())
    }

    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError> {
        self.work.api_keys.insert(key.id, key.clone());
        Ok(())
    }

    async fn update_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError> {
        let stored = self.work.api_keys.get_mut(&key.id).ok_or(RepoError::NotFound { entity: "api key" })?;
        *stored = key.clone();
        Ok(())
    }

    async fn api_key(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError> {
        Ok(self.work.api_keys.get(&id).cloned())
    }

    async fn api_key_by_token(&mut self, hash: &TokenHash) -> Result<Option<ApiKey>, RepoError> {
        Ok(self.work.api_keys.values().find(|k| &k.token_hash == hash).cloned())
    }

    async fn api_keys(&mut self, account: AccountId) -> Result<Vec<ApiKey>, RepoError> {
        Ok(self.work.api_keys.values().filter(|k| k.account == account).cloned().collect())
    }

    async fn record_login_failure(&mut self, key: &str, at: Timestamp) -> Result<(), RepoError> {
        self.work.failures.entry(key.to_owned()).or_default().push(at);
        Ok(())
    }

    async fn login_failures_since(
        &mut self,
        key: &str,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, RepoError> {
        let mut times: Vec<Timestamp> = self
            .work
            .failures
            .get(key)
            .map(|all| all.iter().copied().filter(|t| *t > since).collect())
            .unwrap_or_default();
        times.sort();
        Ok(times)
    }

    async fn clear_login_failures(&mut self, key: &str) -> Result<(), RepoError> {
        self.work.failures.remove(key);
        Ok(())
    }

    async fn forget_login_failures_before(&mut self, before: Timestamp) -> Result<u64, RepoError> {
        let mut forgotten = 0;
        self.work.failures.retain(|_, times| {
            let count = times.len();
            times.retain(|t| *t > before);
            forgotten += count - times.len();
            !times.is_empty()
        });
        Ok(u64::try_from(forgotten).unwrap_or(u64::MAX))
    }

    async fn token_cutoff(&mut self, user: UserId) -> Result<Option<Timestamp>, RepoError> {
        Ok(self.work.token_cutoffs.get(&user).copied())
    }

    async fn set_token_cutoff(&mut self, user: UserId, at: Timestamp) -> Result<(), RepoError> {
        if !self.work.users.contains_key(&user) {
            return Err(RepoError::NotFound { entity: "user" });
        }
        let cutoff = self.work.token_cutoffs.entry(user).or_insert(at);
        *cutoff = (*cutoff).max(at);
        Ok(())
    }

    async fn signing_keys(&mut self) -> Result<Vec<SigningKey>, RepoError> {
        let mut keys: Vec<SigningKey> = self.work.signing_keys.values().cloned().collect();
        keys.sort_by_key(|key| std::cmp::Reverse((key.created_at, key.id)));
        Ok(keys)
    }

    async fn insert_signing_key(&mut self, key: &SigningKey) -> Result<(), RepoError> {
        if self.work.signing_keys.insert(key.id, key.clone()).is_some() {
            return Err(RepoError::Duplicate { entity: "signing key", field: "id" });
        }
        Ok(())
    }

    async fn retire_signing_keys(&mut self, keep: SigningKeyId, at: Timestamp) -> Result<(), RepoError> {
        for key in self.work.signing_keys.values_mut() {
            if key.id != keep && key.retired_at.is_none() {
                key.retired_at = Some(at);
            }
        }
        Ok(())
    }

    async fn delete_signing_keys(&mut self, retired_before: Timestamp) -> Result<u64, RepoError> {
        let before = self.work.signing_keys.len();
        self.work.signing_keys.retain(|_, key| key.retired_at.is_none_or(|at| at > retired_before));
        Ok(u64::try_from(before - self.work.signing_keys.len()).unwrap_or(u64::MAX))
    }
}
