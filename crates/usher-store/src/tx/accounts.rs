//! Accounts and sub-accounts: the [`AccountRepo`] of the SQL store.

use super::*;
use usher_domain::model::AccountPath;

#[async_trait]
impl AccountRepo for SqlTx {
    async fn insert_account(&mut self, account: &Account) -> Result<(), RepoError> {
        insert(&self.txn, codec::account_row(account).into_active_model()).await
    }

    async fn update_account(&mut self, account: &Account) -> Result<(), RepoError> {
        let affected = account::Entity::update_many()
            .col_expr(account::Column::Name, Expr::val(account.name.as_str()))
            .col_expr(account::Column::State, Expr::val(codec::account_state_text(account.state)))
            .col_expr(account::Column::Version, Expr::val(codec::version(account.version + 1)))
            .col_expr(
                account::Column::SalesRepresentative,
                Expr::val(account.sales_representative.map(|id| id.as_uuid())),
            )
            .filter(account::Column::Id.eq(account.id.as_uuid()))
            .filter(account::Column::Version.eq(codec::version(account.version)))
            .exec(&self.txn)
            .await
            .map_err(repo)?
            .rows_affected;
        conditional::<account::Entity>(&self.txn, affected, account.id.as_uuid(), "account").await
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

    async fn subtree(&mut self, top: &AccountPath, limit: u64) -> Result<Vec<Account>, RepoError> {
        // The subtree is the range of paths that start with the top's own (the path index).
        account::Entity::find()
            .filter(prefix_range(account::Column::Path, &codec::path_text(top)))
            .order_by_asc(account::Column::Path)
            .limit(limit)
            .all(&self.txn)
            .await
            .map_err(repo)?
            .into_iter()
            .map(codec::account_from_row)
            .collect()
    }
}

impl SqlTx {
    /// [`Tx::account_context`] in one statement: the account, left-joined to its root's
    /// settings and to the user type asked for.
    pub(super) async fn context(
        &self,
        id: AccountId,
        user_type: Option<UserTypeId>,
    ) -> Result<Option<AccountContext>, RepoError> {
        let mut select = Query::select();
        select.from(account::Entity);
        prefixed_columns::<account::Entity>(&mut select, "a_");
        prefixed_columns::<settings::Entity>(&mut select, "s_");
        select.left_join(
            settings::Entity,
            Expr::col((settings::Entity, settings::Column::RootId))
                .equals((account::Entity, account::Column::RootId)),
        );
        if let Some(type_id) = user_type {
            prefixed_columns::<user_type::Entity>(&mut select, "t_");
            select.left_join(
                user_type::Entity,
                Expr::col((user_type::Entity, user_type::Column::Id)).eq(type_id.as_uuid()),
            );
        }
        select.and_where(Expr::col((account::Entity, account::Column::Id)).eq(id.as_uuid()));
        let Some(row) = self.txn.query_one(&select).await.map_err(repo)? else {
            return Ok(None);
        };
        let account = account::Model::from_query_result(&row, "a_").map_err(repo)?;
        let settings = Option::<settings::Model>::from_query_result(&row, "s_").map_err(repo)?;
        let found = match user_type {
            Some(_) => Option::<user_type::Model>::from_query_result(&row, "t_").map_err(repo)?,
            None => None,
        };
        Ok(Some(AccountContext {
            account: codec::account_from_row(account)?,
            settings: settings.map(|row| codec::settings_from_json(&row.document)).transpose()?,
            user_type: found.map(codec::user_type_from_row).transpose()?,
        }))
    }
}

/// Selects every column of `E` as `{prefix}{column}`, which `FromQueryResult` reads back with
/// that prefix: how one statement returns rows of several tables.
fn prefixed_columns<E: EntityTrait>(select: &mut SelectStatement, prefix: &str) {
    for column in E::Column::iter() {
        select.expr_as(Expr::col((E::default(), column)), Alias::new(format!("{prefix}{}", column.as_str())));
    }
}
