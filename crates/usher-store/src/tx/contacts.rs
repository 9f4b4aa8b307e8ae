//! Contacts: the [`ContactRepo`] of the SQL store.

use super::*;
use sea_orm::sea_query::{Func, LikeExpr};

#[async_trait]
impl ContactRepo for SqlTx {
    async fn insert_contact(&mut self, contact: &Contact) -> Result<(), RepoError> {
        insert(&self.txn, codec::contact_row(contact).into_active_model()).await
    }

    async fn insert_contacts(&mut self, contacts: &[Contact]) -> Result<(), RepoError> {
        let rows = contacts.iter().map(|contact| codec::contact_row(contact).into_active_model()).collect();
        insert_all(&self.txn, rows).await
    }

    async fn unlinked_contacts_with_emails(
        &mut self,
        root: AccountId,
        emails: &[Email],
    ) -> Result<Vec<Contact>, RepoError> {
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        // The (root_id, email) index of migration 17.
        let rows = contact::Entity::find()
            .filter(contact::Column::RootId.eq(root.as_uuid()))
            .filter(contact::Column::Email.is_in(emails.iter().map(ToString::to_string)))
            .filter(contact::Column::UserId.is_null())
            .all(&self.txn)
            .await
            .map_err(repo)?;
        rows.into_iter().map(codec::contact_from_row).collect()
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

    async fn update_contact(&mut self, contact: &Contact) -> Result<(), RepoError> {
        let mut row = codec::contact_row(contact);
        row.version = codec::version(contact.version + 1);
        let mut update = contact::Entity::update_many()
            .set(row.into_active_model().reset_all())
            .filter(contact::Column::Id.eq(contact.id.as_uuid()))
            .filter(contact::Column::Version.eq(codec::version(contact.version)));
        // A user made from the contact meanwhile changes no version: the link is checked too.
        update = match contact.user {
            Some(user) => update.filter(contact::Column::UserId.eq(user.as_uuid())),
            None => update.filter(contact::Column::UserId.is_null()),
        };
        let affected = update.exec(&self.txn).await.map_err(repo)?.rows_affected;
        conditional::<contact::Entity>(&self.txn, affected, contact.id.as_uuid(), "contact").await
    }

    async fn delete_contact(&mut self, id: ContactId) -> Result<(), RepoError> {
        let affected = contact::Entity::delete_many()
            .filter(contact::Column::Id.eq(id.as_uuid()))
            .filter(contact::Column::UserId.is_null())
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        conditional::<contact::Entity>(&self.txn, affected, id.as_uuid(), "contact").await
    }

    async fn list_contacts(&mut self, query: &ContactQuery) -> Result<Page<Contact>, RepoError> {
        let mut select = contact::Entity::find().filter(contact::Column::RootId.eq(query.root.as_uuid()));
        if let Some(prefix) = &query.search {
            // Prefix matches on the lower-cased text; `\` escapes LIKE's wildcards in the input.
            let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let pattern = || LikeExpr::new(format!("{escaped}%")).escape('\\');
            let lower = |column: contact::Column| Expr::expr(Func::lower(Expr::col(column)));
            select = select.filter(
                Condition::any()
                    .add(lower(contact::Column::FirstName).like(pattern()))
                    .add(lower(contact::Column::LastName).like(pattern()))
                    .add(lower(contact::Column::Email).like(pattern())),
            );
        }
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
