//! Directory search: a [`UserMatch`] turned into one SQL condition over the `users` columns
//! that index it (`username_key`, `email`, `external_id`, `display_key`, the name keys,
//! `state`, `created_at`, `updated_at`), meaning exactly what [`UserMatch::matches`] means.

use sea_orm::sea_query::{LikeExpr, SimpleExpr};
use usher_domain::model::{AttrKind, Comparison, Operand, UserAttr, UserMatch};

use super::*;

/// The users of the search's root and subtrees that its filter takes (erased users never).
pub(crate) async fn matching(
    txn: &DatabaseTransaction,
    backend: DatabaseBackend,
    search: &UserSearch,
) -> Result<Select<user::Entity>, RepoError> {
    let mut select = user::Entity::find()
        .filter(user::Column::RootId.eq(search.root.as_uuid()))
        .filter(user::Column::ErasedAt.is_null())
        .filter(condition(&search.filter, backend));
    if let Some(within) = within_condition(txn, user::Column::AccountId, &search.within, search.root).await? {
        select = select.filter(within);
    }
    Ok(select)
}

/// The page of `matching` the search asks for, in its order.
pub(crate) fn page(matching: Select<user::Entity>, search: &UserSearch) -> Select<user::Entity> {
    let ordered = match search.order {
        SearchOrder::Created => matching.order_by_asc(user::Column::Id),
        SearchOrder::UsernameAscending => matching.order_by_asc(user::Column::UsernameKey),
        SearchOrder::UsernameDescending => matching.order_by_desc(user::Column::UsernameKey),
    };
    ordered.offset(search.offset).limit(u64::from(search.limit))
}

/// The statement of a search's page, for the query plan test.
pub(crate) async fn page_statement(
    txn: &DatabaseTransaction,
    backend: DatabaseBackend,
    search: &UserSearch,
) -> Result<Statement, RepoError> {
    Ok(page(matching(txn, backend, search).await?, search).build(backend))
}

/// The condition that takes the users `filter` takes.
pub(crate) fn condition(filter: &UserMatch, backend: DatabaseBackend) -> Condition {
    match filter {
        UserMatch::Everyone => always(true),
        UserMatch::Present(attr) => match column_of(*attr) {
            Some((column, true)) => Condition::all().add(Expr::col(column).is_not_null()),
            _ => always(true),
        },
        UserMatch::Not(inner) => condition(inner, backend).not(),
        UserMatch::All(inner) if inner.is_empty() => always(true),
        UserMatch::Any(inner) if inner.is_empty() => always(false),
        UserMatch::All(inner) => inner.iter().fold(Condition::all(), |all, m| all.add(condition(m, backend))),
        UserMatch::Any(inner) => inner.iter().fold(Condition::any(), |any, m| any.add(condition(m, backend))),
        UserMatch::Compare(attr, comparison, operand) => compare(*attr, *comparison, operand, backend),
    }
}

fn always(truth: bool) -> Condition {
    Condition::all().add(Expr::val(1).eq(i32::from(truth)))
}

/// The column an attribute is kept in, and whether it may be empty (`None` for the flag).
fn column_of(attr: UserAttr) -> Option<(user::Column, bool)> {
    Some(match attr {
        UserAttr::Id => (user::Column::Id, false),
        UserAttr::Username => (user::Column::UsernameKey, false),
        UserAttr::ExternalId => (user::Column::ExternalId, true),
        UserAttr::Email => (user::Column::Email, false),
        UserAttr::DisplayName => (user::Column::DisplayKey, false),
        UserAttr::GivenName => (user::Column::FirstNameKey, true),
        UserAttr::FamilyName => (user::Column::LastNameKey, true),
        UserAttr::Created => (user::Column::CreatedAt, false),
        UserAttr::LastModified => (user::Column::UpdatedAt, false),
        UserAttr::Active => return None,
    })
}

fn compare(attr: UserAttr, comparison: Comparison, operand: &Operand, backend: DatabaseBackend) -> Condition {
    let Some((column, nullable)) = column_of(attr) else {
        // `active`: the state column, compared as the flag it means.
        let Operand::Flag(flag) = operand else { return always(false) };
        let active = user::Column::State.eq(codec::user_state_text(UserState::Active));
        let wanted = (comparison == Comparison::Eq) == *flag;
        return if wanted { Condition::all().add(active) } else { Condition::all().add(active).not() };
    };
    let test = match (attr, operand) {
        (UserAttr::Id, Operand::Text(text)) => match Uuid::parse_str(text) {
            // Ids compare as their text: only the canonical spelling is the id.
            Ok(id) if id.to_string() == *text => scalar(column, comparison, SimpleExpr::from(id)),
            _ => return always(comparison == Comparison::Ne),
        },
        (_, Operand::Text(text)) => match comparison {
            Comparison::Contains | Comparison::StartsWith | Comparison::EndsWith => {
                pattern(column, comparison, text, attr.kind() == AttrKind::ExactText, backend)
            }
            _ => scalar(column, comparison, SimpleExpr::from(text.as_str())),
        },
        (_, Operand::Time(at)) => scalar(column, comparison, SimpleExpr::from(at.unix_micros())),
        (_, Operand::Flag(_)) => return always(false),
    };
    // A user without a value never matches, and so matches `not` of it: the condition must
    // be false, not SQL's unknown.
    if nullable {
        Condition::all().add(Expr::col(column).is_not_null()).add(test)
    } else {
        Condition::all().add(test)
    }
}

fn scalar(column: user::Column, comparison: Comparison, value: SimpleExpr) -> SimpleExpr {
    let column = Expr::col(column);
    match comparison {
        Comparison::Eq => column.eq(value),
        Comparison::Ne => column.ne(value),
        Comparison::Gt => column.gt(value),
        Comparison::Ge => column.gte(value),
        Comparison::Lt => column.lt(value),
        Comparison::Le => column.lte(value),
        Comparison::Contains | Comparison::StartsWith | Comparison::EndsWith => column.eq(value),
    }
}

/// `co`, `sw` and `ew`: LIKE over the lower-cased keys. SQLite's LIKE ignores ASCII case, so
/// a case-exact column there is matched with GLOB, which does not.
fn pattern(
    column: user::Column,
    comparison: Comparison,
    text: &str,
    exact: bool,
    backend: DatabaseBackend,
) -> SimpleExpr {
    let (lead, tail) = match comparison {
        Comparison::StartsWith => ("", true),
        Comparison::EndsWith => ("*", false),
        _ => ("*", true),
    };
    if exact && backend == DatabaseBackend::Sqlite {
        let mut glob = String::from(lead);
        for c in text.chars() {
            match c {
                '*' | '?' | '[' => {
                    glob.push('[');
                    glob.push(c);
                    glob.push(']');
                }
                other => glob.push(other),
            }
        }
        if tail {
            glob.push('*');
        }
        return Expr::cust_with_values(format!("\"{}\" GLOB ?", column.as_str()), [glob]);
    }
    let mut like = String::from(if lead.is_empty() { "" } else { "%" });
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            like.push('\\');
        }
        like.push(c);
    }
    if tail {
        like.push('%');
    }
    Expr::col(column).like(LikeExpr::new(like).escape('\\'))
}
