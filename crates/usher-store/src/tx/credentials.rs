//! Password hashes, sessions, one-time tokens, API keys and throttle counts: the [`CredentialRepo`] of the SQL store.

use super::*;

#[async_trait]
impl CredentialRepo for SqlTx {
    async fn password_hash(&mut self, user: UserId) -> Result<Option<PasswordHash>, RepoError> {
        let row = password::Entity::find_by_id(user.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(|r| PasswordHash::parse(&r.hash).map_err(|e| RepoError::corrupt("password", e))).transpose()
    }

    async fn set_password_hash(&mut self, user: UserId, hash: Option<PasswordHash>) -> Result<(), RepoError> {
        match hash {
            None => {
                password::Entity::delete_by_id(user.as_uuid()).exec(&self.txn).await.map_err(repo)?;
            }
            Some(hash) => {
                let row = password::Model { user_id: user.as_uuid(), hash: hash.as_phc().to_owned() };
                password::Entity::insert(row.into_active_model())
                    .on_conflict(
                        OnConflict::column(password::Column::UserId)
                            .update_column(password::Column::Hash)
                            .to_owned(),
                    )
                    .exec_without_returning(&self.txn)
                    .await
                    .map_err(repo)?;
            }
        }
        Ok(())
    }

    async fn insert_session(&mut self, session: &Session) -> Result<(), RepoError> {
        insert(&self.txn, codec::session_row(session).into_active_model()).await
    }

    async fn session_by_token(&mut self, hash: &TokenHash) -> Result<Option<Session>, RepoError> {
        let row = session::Entity::find()
            .filter(session::Column::TokenHash.eq(hash.as_str()))
            .one(&self.txn)
            .await
            .map_err(repo)?;
        row.map(codec::session_from_row).transpose()
    }

    async fn delete_session(&mut self, hash: &TokenHash) -> Result<(), RepoError> {
        session::Entity::delete_many()
            .filter(session::Column::TokenHash.eq(hash.as_str()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn sessions_of(&mut self, user: UserId) -> Result<Vec<Session>, RepoError> {
        let rows = session::Entity::find()
            .filter(session::Column::UserId.eq(user.as_uuid()))
            .order_by_desc(session::Column::CreatedAt)
            .order_by_desc(session::Column::Id)
            .all(&self.txn)
            .await
            .map_err(repo)?;
        rows.into_iter().map(codec::session_from_row).collect()
    }

    async fn session(&mut self, id: SessionId) -> Result<Option<Session>, RepoError> {
        let row = session::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::session_from_row).transpose()
    }

    async fn delete_session_by_id(&mut self, id: SessionId) -> Result<(), RepoError> {
        session::Entity::delete_by_id(id.as_uuid()).exec(&self.txn).await.map_err(repo)?;
        Ok(())
    }

    async fn touch_session(&mut self, id: SessionId, at: Timestamp) -> Result<(), RepoError> {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(at.unix_micros()))
            .filter(session::Column::Id.eq(id.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn delete_sessions_of(&mut self, user: UserId) -> Result<u64, RepoError> {
        Ok(session::Entity::delete_many()
            .filter(session::Column::UserId.eq(user.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected)
    }

    async fn insert_token(&mut self, token: &OneTimeToken) -> Result<(), RepoError> {
        insert(&self.txn, codec::token_row(token).into_active_model()).await
    }

    async fn token_by_hash(&mut self, hash: &TokenHash) -> Result<Option<OneTimeToken>, RepoError> {
        let row = one_time_token::Entity::find()
            .filter(one_time_token::Column::TokenHash.eq(hash.as_str()))
            .one(&self.txn)
            .await
            .map_err(repo)?;
        row.map(codec::token_from_row).transpose()
    }

    async fn consume_token(&mut self, id: TokenId, now: Timestamp) -> Result<(), RepoError> {
        // Single use (R13): only the first of concurrent redemptions finds `used_at` empty.
        let affected = one_time_token::Entity::update_many()
            .col_expr(one_time_token::Column::UsedAt, Expr::val(now.unix_micros()))
            .filter(one_time_token::Column::Id.eq(id.as_uuid()))
            .filter(one_time_token::Column::UsedAt.is_null())
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        conditional::<one_time_token::Entity>(&self.txn, affected, id.as_uuid(), "token").await
    }

    async fn retire_tokens(
        &mut self,
        user: UserId,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<(), RepoError> {
        one_time_token::Entity::update_many()
            .col_expr(one_time_token::Column::UsedAt, Expr::val(now.unix_micros()))
            .filter(one_time_token::Column::UserId.eq(user.as_uuid()))
            .filter(one_time_token::Column::Purpose.eq(codec::purpose_text(purpose)))
            .filter(one_time_token::Column::UsedAt.is_null())
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError> {
        insert(&self.txn, codec::api_key_row(key)?.into_active_model()).await
    }

    async fn update_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError> {
        let row = codec::api_key_row(key)?.into_active_model().reset_all();
        let affected = api_key::Entity::update_many()
            .set(row)
            .filter(api_key::Column::Id.eq(key.id.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        not_found("api key")(affected)
    }

    async fn api_key(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError> {
        let row = api_key::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::api_key_from_row).transpose()
    }

    async fn api_key_by_token(&mut self, hash: &TokenHash) -> Result<Option<ApiKey>, RepoError> {
        let row = api_key::Entity::find()
            .filter(api_key::Column::TokenHash.eq(hash.as_str()))
            .one(&self.txn)
            .await
            .map_err(repo)?;
        row.map(codec::api_key_from_row).transpose()
    }

    async fn api_keys(&mut self, account: AccountId) -> Result<Vec<ApiKey>, RepoError> {
        api_key::Entity::find()
            .filter(api_key::Column::AccountId.eq(account.as_uuid()))
            .order_by_asc(api_key::Column::CreatedAt)
            .order_by_asc(api_key::Column::Id)
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::api_key_from_row)
            .collect()
    }

    async fn record_login_failure(&mut self, key: &str, at: Timestamp) -> Result<(), RepoError> {
        let row = login_failure::ActiveModel {
            key: sea_orm::ActiveValue::Set(key.to_owned()),
            at: sea_orm::ActiveValue::Set(at.unix_micros()),
            ..Default::default()
        };
        insert(&self.txn, row).await
    }

    async fn login_failures_since(
        &mut self,
        key: &str,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, RepoError> {
        let rows = login_failure::Entity::find()
            .filter(login_failure::Column::Key.eq(key))
            .filter(login_failure::Column::At.gt(since.unix_micros()))
            .order_by_asc(login_failure::Column::At)
            .all(&self.txn)
            .await
            .map_err(repo)?;
        rows.into_iter().map(|r| codec::time("login failure", r.at)).collect()
    }

    async fn clear_login_failures(&mut self, key: &str) -> Result<(), RepoError> {
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::Key.eq(key))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn forget_login_failures_before(&mut self, before: Timestamp) -> Result<u64, RepoError> {
        let result = login_failure::Entity::delete_many()
            .filter(login_failure::Column::At.lte(before.unix_micros()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(result.rows_affected)
    }

    async fn token_cutoff(&mut self, user: UserId) -> Result<Option<Timestamp>, RepoError> {
        let row = token_cutoff::Entity::find_by_id(user.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(|row| codec::time("token cut-off", row.cutoff)).transpose()
    }

    async fn set_token_cutoff(&mut self, user: UserId, at: Timestamp) -> Result<(), RepoError> {
        // One statement, so concurrent cut-offs keep the latest whichever commits last.
        let greatest = match self.backend {
            DatabaseBackend::Sqlite => "MAX",
            _ => "GREATEST",
        };
        let row = token_cutoff::Model { user_id: user.as_uuid(), cutoff: at.unix_micros() };
        token_cutoff::Entity::insert(row.into_active_model())
            .on_conflict(
                OnConflict::column(token_cutoff::Column::UserId)
                    .value(
                        token_cutoff::Column::Cutoff,
                        Expr::cust(format!("{greatest}(token_cutoffs.cutoff, excluded.cutoff)")),
                    )
                    .to_owned(),
            )
            .exec_without_returning(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn signing_keys(&mut self) -> Result<Vec<SigningKey>, RepoError> {
        let rows = signing_key::Entity::find()
            .order_by_desc(signing_key::Column::CreatedAt)
            .order_by_desc(signing_key::Column::Id)
            .all(&self.txn)
            .await
            .map_err(repo)?;
        rows.into_iter().map(codec::signing_key_from_row).collect()
    }

    async fn insert_signing_key(&mut self, key: &SigningKey) -> Result<(), RepoError> {
        insert(&self.txn, codec::signing_key_row(key).into_active_model()).await
    }

    async fn retire_signing_keys(&mut self, keep: SigningKeyId, at: Timestamp) -> Result<(), RepoError> {
        signing_key::Entity::update_many()
            .col_expr(signing_key::Column::RetiredAt, Expr::value(at.unix_micros()))
            .filter(signing_key::Column::Id.ne(keep.as_uuid()))
            .filter(signing_key::Column::RetiredAt.is_null())
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn delete_signing_keys(&mut self, retired_before: Timestamp) -> Result<u64, RepoError> {
        let result = signing_key::Entity::delete_many()
            .filter(signing_key::Column::RetiredAt.lte(retired_before.unix_micros()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(result.rows_affected)
    }
}
