//! SCIM filters (RFC 7644 §3.4.2.2), parsed by `scim_v2` with its depth and term limits, and
//! turned into the domain's [`UserMatch`], which each store runs as one indexed query.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use usher_domain::model::{Comparison, Operand, UserAttr, UserMatch};
use usher_domain::time::Timestamp;

use super::{ENTERPRISE, USER_SCHEMA};

/// Why a filter cannot be run: SCIM's `invalidFilter`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct InvalidFilter(pub(crate) String);

/// Parses `raw` and translates it.
pub(crate) fn parse(raw: &str) -> Result<UserMatch, InvalidFilter> {
    let filter: Filter =
        raw.parse().map_err(|err| InvalidFilter(format!("the filter does not parse: {err}")))?;
    translate(&filter)
}

/// The users `filter` takes.
pub(crate) fn translate(filter: &Filter) -> Result<UserMatch, InvalidFilter> {
    Ok(match filter {
        Filter::Attr(expression) => attribute(expression, None)?,
        Filter::ValuePath(path) => value_filter(&path.filter, &path.attr)?,
        Filter::Not(inner) => UserMatch::Not(Box::new(translate(inner)?)),
        Filter::And(items) => UserMatch::All(items.iter().map(translate).collect::<Result<_, _>>()?),
        Filter::Or(items) => UserMatch::Any(items.iter().map(translate).collect::<Result<_, _>>()?),
    })
}

/// `emails[type eq "work" and value co "@example.com"]`: the conditions on the one email a
/// user has (its type is `work`, and it is primary).
fn value_filter(filter: &ValFilter, parent: &AttrPath) -> Result<UserMatch, InvalidFilter> {
    Ok(match filter {
        ValFilter::Attr(expression) => attribute(expression, Some(parent))?,
        ValFilter::Not(inner) => UserMatch::Not(Box::new(value_filter(inner, parent)?)),
        ValFilter::And(items) => {
            UserMatch::All(items.iter().map(|f| value_filter(f, parent)).collect::<Result<_, _>>()?)
        }
        ValFilter::Or(items) => {
            UserMatch::Any(items.iter().map(|f| value_filter(f, parent)).collect::<Result<_, _>>()?)
        }
    })
}

/// What a name resolves to: an attribute, or a constant truth for the sub-attributes usher
/// fixes (an email's `type` is `work` and it is `primary`).
enum Resolved {
    Attr(UserAttr),
    Fixed(CompValue),
}

fn resolve(path: &AttrPath, parent: Option<&AttrPath>) -> Result<Resolved, InvalidFilter> {
    let (uri, name, sub) = match parent {
        Some(parent) => (parent.uri.as_deref(), parent.name.as_str(), Some(path.name.as_str())),
        None => (path.uri.as_deref(), path.name.as_str(), path.sub_attr.as_deref()),
    };
    let spelled = match sub {
        Some(sub) => format!("{name}.{sub}"),
        None => name.to_owned(),
    };
    if let Some(uri) = uri
        && !uri.eq_ignore_ascii_case(USER_SCHEMA)
        && !uri.eq_ignore_ascii_case(ENTERPRISE)
    {
        return Err(InvalidFilter(format!("the schema {uri} has no attribute {spelled}")));
    }
    let lower = spelled.to_ascii_lowercase();
    let attr = match lower.as_str() {
        "id" => UserAttr::Id,
        "username" => UserAttr::Username,
        "externalid" => UserAttr::ExternalId,
        "emails" | "emails.value" => UserAttr::Email,
        "emails.type" => return Ok(Resolved::Fixed(CompValue::Str("work".to_owned()))),
        "emails.primary" => return Ok(Resolved::Fixed(CompValue::True)),
        "displayname" | "name.formatted" => UserAttr::DisplayName,
        "name.givenname" => UserAttr::GivenName,
        "name.familyname" => UserAttr::FamilyName,
        "active" => UserAttr::Active,
        "meta.created" => UserAttr::Created,
        "meta.lastmodified" => UserAttr::LastModified,
        _ => return Err(InvalidFilter(format!("usher cannot filter users by {spelled}"))),
    };
    Ok(Resolved::Attr(attr))
}

fn attribute(expression: &AttrExp, parent: Option<&AttrPath>) -> Result<UserMatch, InvalidFilter> {
    match expression {
        AttrExp::Present(path) => Ok(match resolve(path, parent)? {
            Resolved::Attr(attr) => UserMatch::Present(attr),
            Resolved::Fixed(_) => UserMatch::Everyone,
        }),
        AttrExp::Comparison(path, op, value) => {
            let comparison = comparison(op);
            let attr = match resolve(path, parent)? {
                Resolved::Attr(attr) => attr,
                Resolved::Fixed(fixed) => return Ok(fixed_truth(&fixed, comparison, value)),
            };
            let operand = match value {
                // `eq null` asks for users without a value; `ne null` for users with one.
                CompValue::Null => {
                    return match comparison {
                        Comparison::Eq => Ok(UserMatch::Not(Box::new(UserMatch::Present(attr)))),
                        Comparison::Ne => Ok(UserMatch::Present(attr)),
                        _ => Err(InvalidFilter(format!("null can only be compared with eq or ne, not {op}"))),
                    };
                }
                CompValue::True => Operand::Flag(true),
                CompValue::False => Operand::Flag(false),
                CompValue::Number(number) => {
                    return Err(InvalidFilter(format!(
                        "usher has no numeric user attribute to compare with {number}"
                    )));
                }
                CompValue::Str(text) => match attr {
                    UserAttr::Created | UserAttr::LastModified => Operand::Time(date_time(text)?),
                    // Entra sends `active eq "True"`.
                    UserAttr::Active => match text.to_ascii_lowercase().as_str() {
                        "true" => Operand::Flag(true),
                        "false" => Operand::Flag(false),
                        _ => Operand::Text(text.clone()),
                    },
                    _ => Operand::Text(text.clone()),
                },
            };
            let name = path.to_string();
            UserMatch::compare(attr, comparison, operand, &name).map_err(|err| InvalidFilter(err.to_string()))
        }
    }
}

/// A comparison with a sub-attribute whose value is fixed, decided here.
fn fixed_truth(fixed: &CompValue, comparison: Comparison, value: &CompValue) -> UserMatch {
    let equal = match (fixed, value) {
        (CompValue::Str(fixed), CompValue::Str(given)) => fixed.eq_ignore_ascii_case(given),
        (fixed, given) => fixed == given,
    };
    let truth = match comparison {
        Comparison::Eq => equal,
        Comparison::Ne => !equal,
        _ => false,
    };
    if truth { UserMatch::Everyone } else { UserMatch::Not(Box::new(UserMatch::Everyone)) }
}

fn comparison(op: &CompareOp) -> Comparison {
    match op {
        CompareOp::Eq => Comparison::Eq,
        CompareOp::Ne => Comparison::Ne,
        CompareOp::Co => Comparison::Contains,
        CompareOp::Sw => Comparison::StartsWith,
        CompareOp::Ew => Comparison::EndsWith,
        CompareOp::Gt => Comparison::Gt,
        CompareOp::Ge => Comparison::Ge,
        CompareOp::Lt => Comparison::Lt,
        CompareOp::Le => Comparison::Le,
    }
}

/// An RFC 3339 date-time, to the microsecond usher keeps.
fn date_time(text: &str) -> Result<Timestamp, InvalidFilter> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(Timestamp::from_datetime)
        .map_err(|_| InvalidFilter(format!("{text:?} is not an RFC 3339 date-time")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn entra_asks_for_a_user_by_username_before_creating_it() {
        let filter = parse(r#"userName eq "Ann.Smith@Contoso.com""#).unwrap();
        assert_eq!(
            filter,
            UserMatch::Compare(
                UserAttr::Username,
                Comparison::Eq,
                Operand::Text("ann.smith@contoso.com".into())
            )
        );
    }

    #[test]
    fn external_ids_compare_exactly_and_strings_say_true() {
        let filter = parse(r#"externalId eq "AbC" and active eq "True""#).unwrap();
        assert_eq!(
            filter,
            UserMatch::All(vec![
                UserMatch::Compare(UserAttr::ExternalId, Comparison::Eq, Operand::Text("AbC".into())),
                UserMatch::Compare(UserAttr::Active, Comparison::Eq, Operand::Flag(true)),
            ])
        );
    }

    #[test]
    fn value_paths_and_grouping_translate() {
        let filter =
            parse(r#"emails[type eq "work" and value co "@example.com"] or not (displayName sw "A")"#)
                .unwrap();
        let UserMatch::Any(items) = filter else { panic!("an or") };
        assert_eq!(items.len(), 2);
        assert!(matches!(&items[1], UserMatch::Not(_)));
    }

    #[test]
    fn unknown_attributes_and_bad_comparisons_are_invalid_filters() {
        assert!(parse(r#"nickName eq "x""#).is_err());
        assert!(parse(r#"active co "t""#).is_err());
        assert!(parse(r#"meta.lastModified gt "yesterday""#).is_err());
        assert!(parse(r#"userName eq"#).is_err());
        assert!(parse(r#"id sw "01""#).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        // Bounded fuzzing of the translation: any text gives a match or an invalid filter,
        // never a panic.
        #[test]
        fn any_text_translates_or_is_refused(raw in ".{0,80}") {
            let _ = parse(&raw);
        }

        // Filters built from the grammar's pieces always parse, and translate or are refused.
        #[test]
        fn grammatical_filters_translate_or_are_refused(
            attr in prop::sample::select(vec![
                "userName", "externalId", "emails.value", "displayName", "active", "meta.lastModified",
                "name.givenName", "id", "title", "emails[type eq \"work\"].value",
            ]),
            op in prop::sample::select(vec!["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]),
            value in prop::sample::select(vec![
                "\"ann\"", "true", "false", "null", "\"2026-12-01T10:00:00Z\"", "42", "\"True\"",
            ]),
            joiner in prop::sample::select(vec!["and", "or"]),
            negate in any::<bool>(),
        ) {
            let term = format!("{attr} {op} {value}");
            let raw = if negate { format!("not ({term}) {joiner} userName pr") } else { format!("{term} {joiner} userName pr") };
            let _ = parse(&raw);
        }
    }
}
