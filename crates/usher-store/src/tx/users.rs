//! Users and their devices: the [`UserRepo`] of the SQL store.

use super::*;

#[async_trait]
impl UserRepo for SqlTx {
    async fn insert_user(&mut self, user: &User) -> Result<(), RepoError> {
        insert(&self.txn, codec::user_row(user)?.into_active_model()).await?;
        self.write_roles(user, false).await
    }

    async fn insert_users(&mut self, users: &[User]) -> Result<(), RepoError> {
        let rows = users
            .iter()
            .map(|user| codec::user_row(user).map(IntoActiveModel::into_active_model))
            .collect::<Result<Vec<_>, _>>()?;
        insert_all(&self.txn, rows).await?;
        let roles = users
            .iter()
            .flat_map(|user| {
                user.roles.iter().map(|role| {
                    user_role::Model { user_id: user.id.as_uuid(), role_id: role.as_uuid() }
                        .into_active_model()
                })
            })
            .collect();
        insert_all(&self.txn, roles).await
    }

    async fn update_user(&mut self, user: &User) -> Result<(), RepoError> {
        let mut row = codec::user_row(user)?;
        row.version = codec::version(user.version + 1);
        let affected = user::Entity::update_many()
            .set(row.into_active_model().reset_all())
            .filter(user::Column::Id.eq(user.id.as_uuid()))
            .filter(user::Column::Version.eq(codec::version(user.version)))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        conditional::<user::Entity>(&self.txn, affected, user.id.as_uuid(), "user").await?;
        self.write_roles(user, true).await
    }

    async fn record_login(&mut self, user: UserId, at: Timestamp) -> Result<(), RepoError> {
        let affected = user::Entity::update_many()
            .col_expr(user::Column::LastLoginAt, Expr::val(at.unix_micros()))
            .filter(user::Column::Id.eq(user.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        not_found("user")(affected)
    }

    async fn delete_user(&mut self, id: UserId) -> Result<(), RepoError> {
        // Roles, password, sessions, tokens and devices go with the row (ON DELETE CASCADE).
        let affected =
            user::Entity::delete_by_id(id.as_uuid()).exec(&self.txn).await.map_err(repo)?.rows_affected;
        not_found("user")(affected)
    }

    async fn user(&mut self, id: UserId) -> Result<Option<User>, RepoError> {
        self.one_user(user::Entity::find_by_id(id.as_uuid())).await
    }

    async fn user_by_username(
        &mut self,
        root: AccountId,
        key: &UsernameKey,
    ) -> Result<Option<User>, RepoError> {
        self.one_user(
            user::Entity::find()
                .filter(user::Column::RootId.eq(root.as_uuid()))
                .filter(user::Column::UsernameKey.eq(key.as_str())),
        )
        .await
    }

    async fn user_by_email(&mut self, root: AccountId, email: &Email) -> Result<Option<User>, RepoError> {
        self.one_user(
            user::Entity::find()
                .filter(user::Column::RootId.eq(root.as_uuid()))
                .filter(user::Column::Email.eq(email.as_str())),
        )
        .await
    }

    async fn users_named(
        &mut self,
        root: AccountId,
        keys: &[UsernameKey],
        emails: &[Email],
    ) -> Result<Vec<User>, RepoError> {
        // On PostgreSQL the keys are one array parameter: the plan is the same for any number
        // of them (an index probe per key), so no plan is made per call.
        let mut rows = Vec::new();
        for batch in keys.chunks(1_000) {
            let found = user::Entity::find()
                .filter(user::Column::RootId.eq(root.as_uuid()))
                .filter(
                    self.one_of(user::Column::UsernameKey, batch.iter().map(|key| key.as_str().to_owned())),
                )
                .all(&self.txn)
                .await
                .map_err(repo)?;
            rows.extend(found);
        }
        for batch in emails.chunks(1_000) {
            let found = user::Entity::find()
                .filter(user::Column::RootId.eq(root.as_uuid()))
                .filter(self.one_of(user::Column::Email, batch.iter().map(|email| email.as_str().to_owned())))
                .all(&self.txn)
                .await
                .map_err(repo)?;
            let known: std::collections::HashSet<Uuid> =
                rows.iter().map(|row: &user::Model| row.id).collect();
            rows.extend(found.into_iter().filter(|row| !known.contains(&row.id)));
        }
        self.users_from_rows(rows).await
    }

    async fn taken_emails(
        &mut self,
        root: AccountId,
        emails: &[Email],
    ) -> Result<BTreeSet<Email>, RepoError> {
        let mut taken = BTreeSet::new();
        for batch in emails.chunks(1_000) {
            let found: Vec<String> = user::Entity::find()
                .select_only()
                .column(user::Column::Email)
                .filter(user::Column::RootId.eq(root.as_uuid()))
                .filter(self.one_of(user::Column::Email, batch.iter().map(|email| email.as_str().to_owned())))
                .into_tuple()
                .all(&self.txn)
                .await
                .map_err(repo)?;
            let found: BTreeSet<&str> = found.iter().map(String::as_str).collect();
            taken.extend(batch.iter().filter(|email| found.contains(email.as_str())).cloned());
        }
        Ok(taken)
    }

    async fn list_users(&mut self, query: &UserQuery) -> Result<Page<User>, RepoError> {
        let rows =
            list_users_select(&self.txn, self.backend, query).await?.all(&self.txn).await.map_err(repo)?;
        let limit = usize::from(query.page.limit);
        let has_more = rows.len() > limit;
        let mut users = self.users_from_rows(rows).await?;
        users.truncate(limit);
        let next = if has_more {
            users.last().map(|u| Cursor { key: u.username.key().as_str().to_owned(), id: u.id.as_uuid() })
        } else {
            None
        };
        Ok(Page { items: users, next })
    }

    async fn search_users(&mut self, search: &UserSearch) -> Result<SearchPage, RepoError> {
        let matching = search::matching(&self.txn, self.backend, search).await?;
        let rows = search::page(matching.clone(), search).all(&self.txn).await.map_err(repo)?;
        // A page short of its limit that starts within the matches ends them: its end is the
        // count. Only a full page, or one past the end, asks the database to count (an
        // identity provider's lookup by userName never does).
        let short = (rows.len() as u64) < u64::from(search.limit);
        let total = if short && (!rows.is_empty() || search.offset == 0) {
            search.offset + rows.len() as u64
        } else {
            matching.count(&self.txn).await.map_err(repo)?
        };
        Ok(SearchPage { total, users: self.users_from_rows(rows).await? })
    }

    async fn users_by_external_ids(
        &mut self,
        root: AccountId,
        external_ids: &[ExternalId],
    ) -> Result<Vec<User>, RepoError> {
        let rows = user::Entity::find()
            .filter(user::Column::RootId.eq(root.as_uuid()))
            .filter(
                self.one_of(user::Column::ExternalId, external_ids.iter().map(|id| id.as_str().to_owned())),
            )
            .all(&self.txn)
            .await
            .map_err(repo)?;
        self.users_from_rows(rows).await
    }

    async fn user_by_external_id(
        &mut self,
        root: AccountId,
        external_id: &ExternalId,
    ) -> Result<Option<User>, RepoError> {
        let row = user::Entity::find()
            .filter(user::Column::RootId.eq(root.as_uuid()))
            .filter(user::Column::ExternalId.eq(external_id.as_str()))
            .one(&self.txn)
            .await
            .map_err(repo)?;
        Ok(self.users_from_rows(row.into_iter().collect()).await?.pop())
    }

    async fn has_acted(&mut self, user: UserId) -> Result<bool, RepoError> {
        let acted = audit_event::Entity::find()
            .filter(audit_event::Column::ActorUser.eq(user.as_uuid()))
            .limit(1)
            .one(&self.txn)
            .await
            .map_err(repo)?;
        Ok(acted.is_some())
    }

    async fn insert_device(&mut self, device: &Device) -> Result<(), RepoError> {
        insert(&self.txn, codec::device_row(device).into_active_model()).await
    }

    async fn delete_device(&mut self, id: DeviceId) -> Result<(), RepoError> {
        let affected =
            device::Entity::delete_by_id(id.as_uuid()).exec(&self.txn).await.map_err(repo)?.rows_affected;
        not_found("device")(affected)
    }

    async fn devices(&mut self, user: UserId) -> Result<Vec<Device>, RepoError> {
        device::Entity::find()
            .filter(device::Column::UserId.eq(user.as_uuid()))
            .order_by_asc(device::Column::Id)
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::device_from_row)
            .collect()
    }

    async fn external_identity(
        &mut self,
        root: AccountId,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<ExternalIdentity>, RepoError> {
        let row =
            external_identity::Entity::find_by_id((root.as_uuid(), issuer.to_owned(), subject.to_owned()))
                .one(&self.txn)
                .await
                .map_err(repo)?;
        row.map(codec::identity_from_row).transpose()
    }

    async fn insert_external_identity(&mut self, identity: &ExternalIdentity) -> Result<(), RepoError> {
        insert(&self.txn, codec::identity_row(identity).into_active_model()).await
    }

    async fn delete_external_identities(&mut self, user: UserId) -> Result<(), RepoError> {
        external_identity::Entity::delete_many()
            .filter(external_identity::Column::UserId.eq(user.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn replace_user_role(
        &mut self,
        root: AccountId,
        from: RoleId,
        to: RoleId,
    ) -> Result<u64, RepoError> {
        let holders = Query::select()
            .column(user_role::Column::UserId)
            .from(user_role::Entity)
            .and_where(user_role::Column::RoleId.eq(from.as_uuid()))
            .to_owned();
        let changed = user::Entity::update_many()
            .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
            .filter(user::Column::RootId.eq(root.as_uuid()))
            .filter(user::Column::Id.in_subquery(holders))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        let already = Query::select()
            .column(user_role::Column::UserId)
            .from(user_role::Entity)
            .and_where(user_role::Column::RoleId.eq(to.as_uuid()))
            .to_owned();
        let moving = Query::select()
            .column(user_role::Column::UserId)
            .expr(Expr::val(to.as_uuid()))
            .from(user_role::Entity)
            .and_where(user_role::Column::RoleId.eq(from.as_uuid()))
            .and_where(user_role::Column::UserId.not_in_subquery(already))
            .to_owned();
        let copy = Query::insert()
            .into_table(user_role::Entity)
            .columns([user_role::Column::UserId, user_role::Column::RoleId])
            .select_from(moving)
            .map_err(|e| RepoError::backend(DbErr::Custom(e.to_string())))?
            .to_owned();
        self.txn.execute(&copy).await.map_err(repo)?;
        user_role::Entity::delete_many()
            .filter(user_role::Column::RoleId.eq(from.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(changed)
    }
}
