//! A root's catalog: settings, user types, seats and roles: the [`CatalogRepo`] of the SQL store.

use super::*;

#[async_trait]
impl CatalogRepo for SqlTx {
    async fn settings(&mut self, root: AccountId) -> Result<Option<Settings>, RepoError> {
        let row = settings::Entity::find_by_id(root.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(|r| codec::settings_from_json(&r.document)).transpose()
    }

    async fn settings_for_update(&mut self, root: AccountId) -> Result<Option<Settings>, RepoError> {
        let mut select = settings::Entity::find_by_id(root.as_uuid());
        if self.backend == DatabaseBackend::Postgres {
            // On SQLite `BEGIN IMMEDIATE` already made this transaction the only writer.
            select = select.lock_exclusive();
        }
        let row = select.one(&self.txn).await.map_err(repo)?;
        row.map(|r| codec::settings_from_json(&r.document)).transpose()
    }

    async fn put_settings(&mut self, root: AccountId, value: &Settings) -> Result<(), RepoError> {
        let row = settings::Model { root_id: root.as_uuid(), document: codec::settings_to_json(value)? };
        settings::Entity::insert(row.into_active_model())
            .on_conflict(
                OnConflict::column(settings::Column::RootId)
                    .update_column(settings::Column::Document)
                    .to_owned(),
            )
            .exec_without_returning(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn insert_user_type(&mut self, user_type: &UserType) -> Result<(), RepoError> {
        insert(&self.txn, codec::user_type_row(user_type)?.into_active_model()).await?;
        if user_type.consumes_seat {
            self.open_pool(user_type.root, user_type.id).await?;
        }
        Ok(())
    }

    async fn update_user_type(&mut self, user_type: &UserType) -> Result<(), RepoError> {
        let mut row = codec::user_type_row(user_type)?;
        row.version = codec::version(user_type.version + 1);
        let affected = user_type::Entity::update_many()
            .set(row.into_active_model().reset_all())
            .filter(user_type::Column::Id.eq(user_type.id.as_uuid()))
            .filter(user_type::Column::Version.eq(codec::version(user_type.version)))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        conditional::<user_type::Entity>(&self.txn, affected, user_type.id.as_uuid(), "user type").await
    }

    async fn user_type(&mut self, id: UserTypeId) -> Result<Option<UserType>, RepoError> {
        let row = user_type::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::user_type_from_row).transpose()
    }

    async fn user_types(&mut self, root: AccountId) -> Result<Vec<UserType>, RepoError> {
        user_type::Entity::find()
            .filter(user_type::Column::RootId.eq(root.as_uuid()))
            .order_by_asc(user_type::Column::Key)
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::user_type_from_row)
            .collect()
    }

    async fn set_seat_total(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        total: u32,
    ) -> Result<(), RepoError> {
        self.open_pool(root, user_type).await?;
        seat_pool::Entity::update_many()
            .col_expr(seat_pool::Column::Total, Expr::val(i64::from(total)))
            .filter(seat_pool::Column::RootId.eq(root.as_uuid()))
            .filter(seat_pool::Column::UserTypeId.eq(user_type.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn seat_usage(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        now: Timestamp,
    ) -> Result<SeatUsage, RepoError> {
        self.seat_figures(root, user_type, now, false).await
    }

    async fn lock_seat_pool(
        &mut self,
        root: AccountId,
        user_type: UserTypeId,
        now: Timestamp,
    ) -> Result<SeatUsage, RepoError> {
        self.seat_figures(root, user_type, now, true).await
    }

    async fn insert_role(&mut self, role: &Role) -> Result<(), RepoError> {
        insert(&self.txn, codec::role_row(role)?.into_active_model()).await
    }

    async fn update_role(&mut self, role: &Role) -> Result<(), RepoError> {
        let mut row = codec::role_row(role)?;
        row.version = codec::version(role.version + 1);
        let affected = role::Entity::update_many()
            .set(row.into_active_model().reset_all())
            .filter(role::Column::Id.eq(role.id.as_uuid()))
            .filter(role::Column::Version.eq(codec::version(role.version)))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        conditional::<role::Entity>(&self.txn, affected, role.id.as_uuid(), "role").await
    }

    async fn delete_role(&mut self, id: RoleId) -> Result<(), RepoError> {
        let affected =
            role::Entity::delete_by_id(id.as_uuid()).exec(&self.txn).await.map_err(repo)?.rows_affected;
        not_found("role")(affected)
    }

    async fn role(&mut self, id: RoleId) -> Result<Option<Role>, RepoError> {
        let row = role::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::role_from_row).transpose()
    }

    async fn roles(&mut self, root: AccountId) -> Result<Vec<Role>, RepoError> {
        role::Entity::find()
            .filter(role::Column::RootId.eq(root.as_uuid()))
            .order_by_asc(role::Column::NameKey)
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::role_from_row)
            .collect()
    }

    async fn role_assignments(&mut self, id: RoleId) -> Result<u64, RepoError> {
        let users = user_role::Entity::find()
            .filter(user_role::Column::RoleId.eq(id.as_uuid()))
            .count(&self.txn)
            .await
            .map_err(repo)?;
        let Some(role) = role::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)? else {
            return Ok(users);
        };
        let invitations = invitation::Entity::find()
            .filter(invitation::Column::RootId.eq(role.root_id))
            .filter(invitation::Column::State.eq(codec::invitation_state_text(InvitationState::Pending)))
            .filter(invitation::Column::Roles.contains(id.as_uuid().to_string()))
            .count(&self.txn)
            .await
            .map_err(repo)?;
        Ok(users + invitations)
    }
}
