//! PATCH (RFC 7644 §3.5.2) applied to a user's resource as JSON: `add`, `replace` and
//! `remove`, with or without a path, paths with a sub-attribute or a value filter
//! (`emails[type eq "work"].value`), in any of the spellings Entra ID and Okta send. The
//! result is a whole resource, which the domain then provisions at the version read.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use scim_v2::models::others::{OperationTarget, PatchOp, PatchOperation};
use serde_json::{Map, Value};

use super::{ENTERPRISE, ScimError, USER_SCHEMA, USHER};

const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The operations of a PATCH body.
pub(crate) fn operations(body: Value) -> Result<Vec<PatchOperation>, ScimError> {
    let op: PatchOp = serde_json::from_value(body).map_err(|err| {
        let detail = err.to_string();
        if detail.contains("path") {
            ScimError::new(poem::http::StatusCode::BAD_REQUEST, Some("invalidPath"), detail)
        } else {
            ScimError::invalid_syntax(format!("not a PATCH request: {detail}"))
        }
    })?;
    if !op.schemas.iter().any(|s| s.eq_ignore_ascii_case(PATCH_SCHEMA)) {
        return Err(ScimError::invalid_syntax(format!("schemas must hold {PATCH_SCHEMA}")));
    }
    if op.operations.is_empty() {
        return Err(ScimError::invalid_value("Operations is empty"));
    }
    Ok(op.operations)
}

/// `resource` with the operations applied in order.
pub(crate) fn apply(mut resource: Value, operations: &[PatchOperation]) -> Result<Value, ScimError> {
    let Value::Object(root) = &mut resource else { return Ok(resource) };
    for operation in operations {
        match operation {
            PatchOperation::Add(target) => set(root, target, true)?,
            PatchOperation::Replace(target) => set(root, target, false)?,
            PatchOperation::Remove { path, .. } => remove(root, path)?,
        }
    }
    Ok(resource)
}

/// The object an attribute lives in: the resource, or an extension's object within it.
fn holder<'a>(root: &'a mut Map<String, Value>, path: &AttrPath) -> Option<&'a mut Map<String, Value>> {
    let Some(uri) = path.uri.as_ref().filter(|uri| !uri.eq_ignore_ascii_case(USER_SCHEMA)) else {
        return Some(root);
    };
    let key = existing_key(root, uri).unwrap_or_else(|| uri.clone());
    let slot = root.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// The extension a bare schema URN names: `urn:…:enterprise:2.0:User` reads as the attribute
/// `User` under the URN `urn:…:enterprise:2.0`.
fn extension_named(path: &AttrPath) -> Option<&'static str> {
    let uri = path.uri.as_deref()?;
    if path.sub_attr.is_some() {
        return None;
    }
    let whole = format!("{uri}:{}", path.name);
    [ENTERPRISE, USHER].into_iter().find(|extension| extension.eq_ignore_ascii_case(&whole))
}

/// The key `name` is stored under, ignoring case.
fn existing_key(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn key_for(map: &Map<String, Value>, name: &str) -> String {
    existing_key(map, name).unwrap_or_else(|| name.to_owned())
}

/// `add` or `replace`.
fn set(root: &mut Map<String, Value>, target: &OperationTarget, add: bool) -> Result<(), ScimError> {
    match target {
        OperationTarget::WithoutPath { value } => {
            for (name, value) in value {
                // Okta and Entra send `{"active": false}` and also
                // `{"name.givenName": "Ann"}` or an extension's URN as a key.
                let path: PatchPath = name.parse().map_err(|_| {
                    ScimError::new(
                        poem::http::StatusCode::BAD_REQUEST,
                        Some("invalidPath"),
                        format!("{name} is not an attribute path"),
                    )
                })?;
                set_path(root, &path, value.clone(), add)?;
            }
            Ok(())
        }
        OperationTarget::WithPath { path, value } => {
            let value =
                value.clone().ok_or_else(|| ScimError::invalid_value("the operation has no value"))?;
            set_path(root, path, value, add)
        }
    }
}

fn set_path(
    root: &mut Map<String, Value>,
    path: &PatchPath,
    value: Value,
    add: bool,
) -> Result<(), ScimError> {
    match path {
        PatchPath::Attr(attr) if extension_named(attr).is_some() => {
            let extension = extension_named(attr).unwrap_or_default();
            if !value.is_object() {
                return Err(ScimError::invalid_value(format!("{extension} takes an object")));
            }
            let key = key_for(root, extension);
            if add {
                merge(root, key, value, true);
            } else {
                root.insert(key, value);
            }
            Ok(())
        }
        PatchPath::Attr(attr) => {
            let Some(object) = holder(root, attr) else { return Ok(()) };
            let key = key_for(object, &attr.name);
            match &attr.sub_attr {
                Some(sub) => {
                    let slot = object.entry(key).or_insert_with(|| Value::Object(Map::new()));
                    if !slot.is_object() {
                        *slot = Value::Object(Map::new());
                    }
                    if let Value::Object(inner) = slot {
                        let sub_key = key_for(inner, sub);
                        inner.insert(sub_key, value);
                    }
                }
                None => merge(object, key, value, add),
            }
            Ok(())
        }
        PatchPath::Value(value_path) => {
            let Some(object) = holder(root, &value_path.attr) else { return Ok(()) };
            let key = key_for(object, &value_path.attr.name);
            let slot = object.entry(key).or_insert_with(|| Value::Array(Vec::new()));
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            let Value::Array(items) = slot else { return Ok(()) };
            let mut found = false;
            for item in items.iter_mut() {
                if item.as_object().is_some_and(|o| holds(o, &value_path.filter)) {
                    found = true;
                    write_item(item, value_path.sub_attr.as_deref(), value.clone());
                }
            }
            if !found {
                // Entra replaces `emails[type eq "work"].value` on a user without one: the
                // value is added, with what the filter says of it.
                let mut item = Value::Object(seed(&value_path.filter));
                write_item(&mut item, value_path.sub_attr.as_deref(), value);
                items.push(item);
            }
            Ok(())
        }
    }
}

fn write_item(item: &mut Value, sub: Option<&str>, value: Value) {
    match (item, sub) {
        (Value::Object(object), Some(sub)) => {
            let key = key_for(object, sub);
            object.insert(key, value);
        }
        (Value::Object(object), None) => {
            if let Value::Object(fields) = value {
                for (name, field) in fields {
                    let key = key_for(object, &name);
                    object.insert(key, field);
                }
            }
        }
        _ => {}
    }
}

/// The equalities of a value filter, as the fields of a new multi-valued item.
fn seed(filter: &ValFilter) -> Map<String, Value> {
    let mut fields = Map::new();
    match filter {
        ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, value)) => {
            fields.insert(path.name.clone(), comp_json(value));
        }
        ValFilter::And(items) => {
            for item in items {
                fields.extend(seed(item));
            }
        }
        _ => {}
    }
    fields
}

fn comp_json(value: &CompValue) -> Value {
    match value {
        CompValue::False => Value::Bool(false),
        CompValue::True => Value::Bool(true),
        CompValue::Null => Value::Null,
        CompValue::Number(number) => Value::Number(number.clone()),
        CompValue::Str(text) => Value::String(text.clone()),
    }
}

/// An attribute set whole: objects merge their sub-attributes, `add` appends to a list.
fn merge(object: &mut Map<String, Value>, key: String, value: Value, add: bool) {
    match (object.get_mut(&key), value) {
        (Some(Value::Object(current)), Value::Object(fields)) => {
            for (name, field) in fields {
                let sub_key = key_for(current, &name);
                current.insert(sub_key, field);
            }
        }
        (Some(Value::Array(current)), Value::Array(items)) if add => {
            for item in items {
                if !current.contains(&item) {
                    current.push(item);
                }
            }
        }
        (_, value) => {
            object.insert(key, value);
        }
    }
}

fn remove(root: &mut Map<String, Value>, path: &PatchPath) -> Result<(), ScimError> {
    match path {
        PatchPath::Attr(attr) if extension_named(attr).is_some() => {
            if let Some(key) = existing_key(root, extension_named(attr).unwrap_or_default()) {
                root.remove(&key);
            }
        }
        PatchPath::Attr(attr) => {
            let Some(object) = holder(root, attr) else { return Ok(()) };
            let Some(key) = existing_key(object, &attr.name) else { return Ok(()) };
            match &attr.sub_attr {
                Some(sub) => {
                    if let Some(Value::Object(inner)) = object.get_mut(&key)
                        && let Some(sub_key) = existing_key(inner, sub)
                    {
                        inner.remove(&sub_key);
                    }
                }
                None => {
                    object.remove(&key);
                }
            }
        }
        PatchPath::Value(value_path) => {
            let Some(object) = holder(root, &value_path.attr) else { return Ok(()) };
            let Some(key) = existing_key(object, &value_path.attr.name) else { return Ok(()) };
            if let Some(Value::Array(items)) = object.get_mut(&key) {
                match value_path.sub_attr.as_deref() {
                    Some(sub) => {
                        for item in items.iter_mut() {
                            if let Value::Object(fields) = item
                                && holds(fields, &value_path.filter)
                                && let Some(sub_key) = existing_key(fields, sub)
                            {
                                fields.remove(&sub_key);
                            }
                        }
                    }
                    None => {
                        items.retain(|item| !item.as_object().is_some_and(|o| holds(o, &value_path.filter)))
                    }
                }
            }
        }
    }
    Ok(())
}

/// Whether a multi-valued item meets a value filter (strings compare without regard to case).
pub(crate) fn holds(item: &Map<String, Value>, filter: &ValFilter) -> bool {
    match filter {
        ValFilter::Not(inner) => !holds(item, inner),
        ValFilter::And(items) => items.iter().all(|f| holds(item, f)),
        ValFilter::Or(items) => items.iter().any(|f| holds(item, f)),
        ValFilter::Attr(AttrExp::Present(path)) => {
            existing_key(item, &path.name).and_then(|k| item.get(&k)).is_some_and(|v| !v.is_null())
        }
        ValFilter::Attr(AttrExp::Comparison(path, op, expected)) => {
            let actual =
                existing_key(item, &path.name).and_then(|k| item.get(&k)).cloned().unwrap_or(Value::Null);
            compare(&actual, op, expected)
        }
    }
}

pub(crate) fn compare(actual: &Value, op: &CompareOp, expected: &CompValue) -> bool {
    match (actual, expected) {
        (Value::String(actual), CompValue::Str(expected)) => {
            let (a, e) = (actual.to_lowercase(), expected.to_lowercase());
            match op {
                CompareOp::Eq => a == e,
                CompareOp::Ne => a != e,
                CompareOp::Co => a.contains(&e),
                CompareOp::Sw => a.starts_with(&e),
                CompareOp::Ew => a.ends_with(&e),
                CompareOp::Gt => a > e,
                CompareOp::Ge => a >= e,
                CompareOp::Lt => a < e,
                CompareOp::Le => a <= e,
            }
        }
        (actual, expected) => {
            let equal = *actual == comp_json(expected)
                || matches!((actual, expected), (Value::String(s), CompValue::True) if s.eq_ignore_ascii_case("true"));
            match op {
                CompareOp::Eq => equal,
                CompareOp::Ne => !equal,
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(resource: Value, body: Value) -> Value {
        apply(resource, &operations(body).unwrap()).unwrap()
    }

    #[test]
    fn entra_replaces_with_capital_ops_string_booleans_and_filtered_paths() {
        let resource = json!({"userName": "ann", "active": true, "emails": [{"value": "a@x.com", "type": "work", "primary": true}]});
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ann@y.com"},
            {"op": "Add", "path": "name.givenName", "value": "Ann"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"},
        ]});
        let out = patched(resource, body);
        assert_eq!(out["active"], json!("False"));
        assert_eq!(out["emails"][0]["value"], json!("ann@y.com"));
        assert_eq!(out["name"]["givenName"], json!("Ann"));
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            json!("Sales")
        );
    }

    #[test]
    fn okta_replaces_without_a_path_and_a_missing_filtered_item_is_added() {
        let resource = json!({"userName": "ann", "active": true, "emails": []});
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "replace", "value": {"active": false, "name.familyName": "Smith"}},
            {"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555"},
        ]});
        let out = patched(resource, body);
        assert_eq!(out["active"], json!(false));
        assert_eq!(out["name"]["familyName"], json!("Smith"));
        assert_eq!(out["phoneNumbers"][0], json!({"type": "work", "value": "+1 555"}));
    }

    #[test]
    fn a_bare_extension_urn_names_the_extension_object() {
        let resource = json!({"userName": "ann", ENTERPRISE: {"department": "Sales", "division": "East"}});
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "replace", "path": ENTERPRISE, "value": {"costCenter": "42"}},
        ]});
        assert_eq!(patched(resource.clone(), body)[ENTERPRISE], json!({"costCenter": "42"}));
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": "remove", "path": ENTERPRISE}]});
        assert!(patched(resource, body).get(ENTERPRISE).is_none());
    }

    #[test]
    fn remove_takes_an_attribute_or_the_items_a_filter_names() {
        let resource = json!({"externalId": "e1", "phoneNumbers": [{"value": "1", "type": "work"}, {"value": "2", "type": "mobile"}]});
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "remove", "path": "externalId"},
            {"op": "remove", "path": "phoneNumbers[type eq \"mobile\"]"},
        ]});
        let out = patched(resource, body);
        assert!(out.get("externalId").is_none());
        assert_eq!(out["phoneNumbers"], json!([{"value": "1", "type": "work"}]));
    }

    #[test]
    fn a_body_without_the_patch_schema_or_operations_is_refused() {
        assert!(operations(json!({"Operations": [{"op": "add", "path": "x", "value": 1}]})).is_err());
        assert!(operations(json!({"schemas": [PATCH_SCHEMA], "Operations": []})).is_err());
        assert!(
            operations(json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": "move", "path": "x"}]}))
                .is_err()
        );
    }
}
#[cfg(test)]
mod probe {
    #[test]
    fn probe_parse() {
        let body = serde_json::json!({"schemas": [super::PATCH_SCHEMA], "Operations": [
            {"op": "replace", "path": super::ENTERPRISE, "value": {"costCenter": "42"}},
        ]});
        eprintln!("{:?}", super::operations(body).unwrap());
    }
}
