//! Accounts and sub-accounts: the [`AccountRepo`] of the SQL store.

use super::*;

#[async_trait]
impl AccountRepo for SqlTx {
    async fn insert_account(&mut self, account: &Account) -> Result<(), RepoError> {
        insert(&self.txn, codec::account_row(account).into_active_model()).await
    }

    async fn update_account(&mut self, account: &Account) -> Result<(), RepoError> {
        let affected = account::Entity::update_many()
            .col_expr(account::Column::Name, Expr::val(account.name.as_str()))
            .col_expr(account::Column::State, Expr::val(codec::account_state_text(account.state)))
            .filter(account::Column::Id.eq(account.id.as_uuid()))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        not_found("account")(affected)
    }

    async fn account(&mut self, id: AccountId) -> Result<Option<Account>, RepoError> {
        let row = account::Entity::find_by_id(id.as_uuid()).one(&self.txn).await.map_err(repo)?;
        row.map(codec::account_from_row).transpose()
    }

    async fn account_by_slug(&mut self, slug: &Slug) -> Result<Option<Account>, RepoError> {
        let row = account::Entity::find()
            .filter(account::Column::Slug.eq(slug.as_str()))
            .one(&self.txn)
            .await
            .map_err(repo)?;
        row.map(codec::account_from_row).transpose()
    }

    async fn sub_accounts(&mut self, parent: AccountId) -> Result<Vec<Account>, RepoError> {
        account::Entity::find()
            .filter(account::Column::ParentId.eq(parent.as_uuid()))
            .order_by_asc(account::Column::Slug)
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::account_from_row)
            .collect()
    }
}
