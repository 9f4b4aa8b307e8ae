//! Accounts and sub-accounts: the [`AccountRepo`] of the in-memory store.

use super::*;
use usher_domain::model::AccountPath;

#[async_trait]
impl AccountRepo for MemoryTx {
    async fn insert_account(&mut self, account: &Account) -> Result<(), RepoError> {
        if self.work.accounts.values().any(|a| a.slug == account.slug) {
            return Err(RepoError::Duplicate { entity: "account", field: "slug" });
        }
        self.work.accounts.insert(account.id, account.clone());
        Ok(())
    }

    async fn update_account(&mut self, account: &Account) -> Result<(), RepoError> {
        let stored =
            self.work.accounts.get_mut(&account.id).ok_or(RepoError::NotFound { entity: "account" })?;
        if stored.version != account.version {
            return Err(RepoError::Stale { entity: "account" });
        }
        stored.name = account.name.clone();
        stored.state = account.state;
        stored.sales_representative = account.sales_representative;
        stored.version = account.version + 1;
        Ok(())
    }

    async fn account(&mut self, id: AccountId) -> Result<Option<Account>, RepoError> {
        Ok(self.work.accounts.get(&id).cloned())
    }

    async fn account_by_slug(&mut self, slug: &Slug) -> Result<Option<Account>, RepoError> {
        Ok(self.work.accounts.values().find(|a| &a.slug == slug).cloned())
    }

    async fn sub_accounts(&mut self, parent: AccountId) -> Result<Vec<Account>, RepoError> {
        let mut children: Vec<Account> =
            self.work.accounts.values().filter(|a| a.parent() == Some(parent)).cloned().collect();
        children.sort_by(|a, b| a.slug.cmp(&b.slug));
        Ok(children)
    }

    async fn subtree(&mut self, top: &AccountPath, limit: u64) -> Result<Vec<Account>, RepoError> {
        let path = |a: &Account| a.path.ancestors().iter().copied().chain([a.id]).collect::<Vec<_>>();
        let mut below: Vec<Account> =
            self.work.accounts.values().filter(|a| a.path.is_within(top.id())).cloned().collect();
        below.sort_by_key(path);
        below.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(below)
    }
}
