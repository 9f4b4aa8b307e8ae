//! Reading the audit log.

use crate::authz::{Actor, Denied};
use crate::error::{Invalid, RepoError};
use crate::id::AccountId;
use crate::model::AuditEvent;
use crate::ports::{AuditFilter, AuditQuery, Page, PageRequest};
use crate::service::{Ports, common_errors, guard, load_account};
use crate::value::{Access, Module, Permission, ValueError};

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

/// The longest action a filter names.
const MAX_ACTION: usize = 100;

/// Audit events of an account subtree that pass `filter`, newest first. An action names
/// lower-case words joined by `.` and `_` (a trailing `.` asks for every action under it);
/// `since` must come before `until`.
pub async fn list_audit_events(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    filter: AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEvent>, AuditError> {
    check_filter(&filter)?;
    let mut tx = ports.begin_read().await?;
    let account = load_account(tx.as_mut(), account).await?;
    guard(actor, Permission::new(Module::Audit, Access::Read), &account, "account")?;
    let within = crate::service::visible_subtrees(actor, &account);
    Ok(tx.list_audit(&AuditQuery { root: account.root(), within, filter, page }).await?)
}

fn check_filter(filter: &AuditFilter) -> Result<(), Invalid> {
    if let Some(action) = &filter.action {
        let length = action.chars().count();
        if length > MAX_ACTION {
            return Err(Invalid::new("action", ValueError::TooLong { max: MAX_ACTION, actual: length }));
        }
        let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        let words: Vec<&str> = action.strip_suffix('.').unwrap_or(action).split('.').collect();
        if !words.iter().all(|w| word(w)) {
            let reason = "must be an action such as user.disabled, or a prefix such as user.";
            return Err(Invalid::new("action", ValueError::Malformed { reason }));
        }
    }
    if let (Some(since), Some(until)) = (filter.since, filter.until)
        && since >= until
    {
        return Err(Invalid::new("until", ValueError::Malformed { reason: "must come after since" }));
    }
    Ok(())
}
