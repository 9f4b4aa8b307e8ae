//! Invitations: the [`InvitationRepo`] of the SQL store.

use super::*;

#[async_trait]
impl InvitationRepo for SqlTx {
    async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<(), RepoError> {
        insert(&self.txn, codec::invitation_row(invitation)?.into_active_model()).await
    }

    async fn insert_invitations(&mut self, invitations: &[Invitation]) -> Result<(), RepoError> {
        let rows = invitations
            .iter()
            .map(|invitation| codec::invitation_row(invitation).map(IntoActiveModel::into_active_model))
            .collect::<Result<Vec<_>, _>>()?;
        insert_all(&self.txn, rows).await
    }

    async fn update_invitation(
        &mut self,
        value: &Invitation,
        expected: InvitationState,
    ) -> Result<(), RepoError> {
        let row = codec::invitation_row(value)?.into_active_model().reset_all();
        let affected = invitation::Entity::update_many()
            .set(row)
            .filter(invitation::Column::Id.eq(value.id.as_uuid()))
            .filter(invitation::Column::State.eq(codec::invitation_state_text(expected)))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        conditional::<invitation::Entity>(&self.txn, affected, value.id.as_uuid(), "invitation").await
    }

    async fn invitation(&mut self, id: InvitationId) -> Result<Option<Invitation>, RepoError> {
        let row = invitation::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::invitation_from_row).transpose()
    }

    async fn invitation_by_token(&mut self, hash: &TokenHash) -> Result<Option<Invitation>, RepoError> {
        let row = invitation::Entity::find()
            .filter(invitation::Column::TokenHash.eq(hash.as_str()))
            .one(&self.txn)
            .await
            .map_err(repo)?;
        row.map(codec::invitation_from_row).transpose()
    }

    async fn pending_invitations_for(
        &mut self,
        root: AccountId,
        emails: &[Email],
    ) -> Result<Vec<Invitation>, RepoError> {
        let mut found = Vec::new();
        for batch in emails.chunks(1_000) {
            let rows = invitation::Entity::find()
                .filter(invitation::Column::RootId.eq(root.as_uuid()))
                .filter(invitation::Column::Email.is_in(batch.iter().map(Email::as_str)))
                .filter(invitation::Column::State.eq(codec::invitation_state_text(InvitationState::Pending)))
                .all(&self.txn)
                .await
                .map_err(repo)?;
            for row in rows {
                found.push(codec::invitation_from_row(row)?);
            }
        }
        Ok(found)
    }

    async fn pending_invitation_for(
        &mut self,
        root: AccountId,
        email: &Email,
    ) -> Result<Option<Invitation>, RepoError> {
        let row = invitation::Entity::find()
            .filter(invitation::Column::RootId.eq(root.as_uuid()))
            .filter(invitation::Column::Email.eq(email.as_str()))
            .filter(invitation::Column::State.eq(codec::invitation_state_text(InvitationState::Pending)))
            .one(&self.txn)
            .await
            .map_err(repo)?;
        row.map(codec::invitation_from_row).transpose()
    }

    async fn erase_invitations_to(
        &mut self,
        root: AccountId,
        email: &Email,
        replacement: &Email,
    ) -> Result<(), RepoError> {
        let matching = || {
            Condition::all()
                .add(invitation::Column::RootId.eq(root.as_uuid()))
                .add(invitation::Column::Email.eq(email.as_str()))
        };
        invitation::Entity::update_many()
            .col_expr(
                invitation::Column::State,
                Expr::value(codec::invitation_state_text(InvitationState::Revoked)),
            )
            .filter(matching())
            .filter(invitation::Column::State.eq(codec::invitation_state_text(InvitationState::Pending)))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        invitation::Entity::update_many()
            .col_expr(invitation::Column::Email, Expr::value(replacement.as_str()))
            .filter(matching())
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn list_invitations(&mut self, query: &InvitationQuery) -> Result<Page<Invitation>, RepoError> {
        let mut select =
            invitation::Entity::find().filter(invitation::Column::RootId.eq(query.root.as_uuid()));
        if let Some(within) =
            within_condition(&self.txn, invitation::Column::AccountId, &query.within, query.root).await?
        {
            select = select.filter(within);
        }
        let pending = codec::invitation_state_text(InvitationState::Pending);
        let now = query.now.unix_micros();
        select = match query.status {
            None => select,
            Some(InvitationStatus::Pending) => select
                .filter(invitation::Column::State.eq(pending))
                .filter(invitation::Column::ExpiresAt.gt(now)),
            Some(InvitationStatus::Expired) => select
                .filter(invitation::Column::State.eq(pending))
                .filter(invitation::Column::ExpiresAt.lte(now)),
            Some(InvitationStatus::Accepted) => select.filter(
                invitation::Column::State.eq(codec::invitation_state_text(InvitationState::Accepted)),
            ),
            Some(InvitationStatus::Revoked) => select
                .filter(invitation::Column::State.eq(codec::invitation_state_text(InvitationState::Revoked))),
        };
        if let Some(cursor) = &query.page.after {
            select = select.filter(after(
                invitation::Column::CreatedAt,
                invitation::Column::Id,
                time_cursor(cursor),
                cursor.id,
                false,
            ));
        }
        let rows = select
            .order_by_asc(invitation::Column::CreatedAt)
            .order_by_asc(invitation::Column::Id)
            .limit(u64::from(query.page.limit) + 1)
            .all(&self.txn)
            .await
            .map_err(repo)?;
        let cursor = |r: &invitation::Model| Cursor::at_time(codec_time(r.created_at), r.id);
        page_of(rows, &query.page, cursor, codec::invitation_from_row)
    }

    async fn replace_invitation_role(
        &mut self,
        root: AccountId,
        from: RoleId,
        to: RoleId,
    ) -> Result<u64, RepoError> {
        let holding = invitation::Entity::find()
            .filter(invitation::Column::RootId.eq(root.as_uuid()))
            .filter(invitation::Column::Roles.contains(from.as_uuid().to_string()))
            .all(&self.txn)
            .await
            .map_err(repo)?;
        let mut changed = 0;
        for row in holding {
            let mut held = codec::invitation_from_row(row)?;
            if held.roles.remove(&from) {
                held.roles.insert(to);
                let row = codec::invitation_row(&held)?;
                invitation::Entity::update_many()
                    .col_expr(invitation::Column::Roles, Expr::val(row.roles))
                    .filter(invitation::Column::Id.eq(row.id))
                    .exec(&self.txn)
                    .await
                    .map_err(repo)?;
                changed += 1;
            }
        }
        Ok(changed)
    }
}
