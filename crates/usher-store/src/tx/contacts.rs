//! Contacts: the [`ContactRepo`] of the SQL store.

use super::*;

#[async_trait]
impl ContactRepo for SqlTx {
    async fn insert_contact(&mut self, contact: &Contact) -> Result<(), RepoError> {
        insert(&self.txn, codec::contact_row(contact).into_active_model()).await
    }

    async fn link_contact(&mut self, id: ContactId, user: UserId) -> Result<(), RepoError> {
        let affected = contact::Entity::update_many()
            .col_expr(contact::Column::UserId, Expr::val(user.as_uuid()))
            .filter(contact::Column::Id.eq(id.as_uuid()))
            .filter(contact::Column::UserId.is_null())
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        conditional::<contact::Entity>(&self.txn, affected, id.as_uuid(), "contact").await
    }

    async fn contact(&mut self, id: ContactId) -> Result<Option<Contact>, RepoError> {
        let row = contact::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::contact_from_row).transpose()
    }

    async fn erase_contact(&mut self, id: ContactId) -> Result<(), RepoError> {
        contact::Entity::update_many()
            .col_expr(contact::Column::FirstName, Expr::value(Option::<String>::None))
            .col_expr(contact::Column::LastName, Expr::value(Option::<String>::None))
            .col_expr(contact::Column::Email, Expr::value(Option::<String>::None))
            .col_expr(contact::Column::Phone, Expr::value(Option::<String>::None))
            .filter(contact::Column::Id.eq(id.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?;
        Ok(())
    }

    async fn list_contacts(&mut self, query: &ContactQuery) -> Result<Page<Contact>, RepoError> {
        let mut select = contact::Entity::find().filter(contact::Column::RootId.eq(query.root.as_uuid()));
        if let Some(within) =
            within_condition(&self.txn, contact::Column::AccountId, &query.within, query.root).await?
        {
            select = select.filter(within);
        }
        if let Some(cursor) = &query.page.after {
            select = select.filter(after(
                contact::Column::CreatedAt,
                contact::Column::Id,
                time_cursor(cursor),
                cursor.id,
                false,
            ));
        }
        let rows = select
            .order_by_asc(contact::Column::CreatedAt)
            .order_by_asc(contact::Column::Id)
            .limit(u64::from(query.page.limit) + 1)
            .all(&self.txn)
            .await
            .map_err(repo)?;
        let cursor = |r: &contact::Model| Cursor::at_time(codec_time(r.created_at), r.id);
        page_of(rows, &query.page, cursor, codec::contact_from_row)
    }
}
