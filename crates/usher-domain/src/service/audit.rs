//! Reading the audit log.

use crate::authz::{Actor, Denied};
use crate::error::{Invalid, RepoError};
use crate::id::AccountId;
use crate::model::AuditEvent;
use crate::ports::{AuditQuery, Page, PageRequest};
use crate::service::{Ports, common_errors, guard, load_account};
use crate::value::{Access, Module, Permission};

/// Failure of reading the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Missing, or in another tenant.
    #[error("{entity} not found")]
    NotFound {
        /// Entity.
        entity: &'static str,
    },
    /// Not allowed.
    #[error(transparent)]
    Denied(Denied),
    /// A field failed to parse.
    #[error(transparent)]
    Invalid(Invalid),
    /// Storage failure.
    #[error(transparent)]
    Repo(RepoError),
}
common_errors!(AuditError);

/// Audit events of an account subtree, newest first.
pub async fn list_audit_events(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    page: PageRequest,
) -> Result<Page<AuditEvent>, AuditError> {
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Audit, Access::Read), &account, "account")?;
    let within = crate::service::visible_subtrees(actor, &account);
    Ok(tx.list_audit(&AuditQuery { root: account.root(), within, page }).await?)
}
