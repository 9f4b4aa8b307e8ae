//! The OpenAPI document as poem-openapi generates it, refined to say what the server does
//! and to suit client generators and linters: optional properties take `null`, integers state
//! their range, producers link to the operations that take their ids, a described reference is
//! a plain `$ref` (`allOf: [{$ref}, {description}]` made generators drop operations and leave
//! responses untyped), public operations say `security: []`, and `servers` is not empty.

/// Makes the generated document say what the server does: an optional property also takes
/// (and may answer) `null`, a defaulted one reading it as its default, and every integer states the range its type
/// can hold, so a client or a fuzzer never meets a value the spec allows but the server
/// cannot read.
pub(crate) fn refine(document: &mut serde_json::Value) {
    use serde_json::{Value, json};
    fn bounds(node: &mut Value) {
        match node {
            Value::Object(map) => {
                if map.get("type").and_then(Value::as_str) == Some("integer") {
                    let (min, max): (i64, i64) = match map.get("format").and_then(Value::as_str) {
                        Some("uint8") => (0, 255),
                        Some("uint16") => (0, 65_535),
                        Some("int16") => (-32_768, 32_767),
                        Some("uint32") => (0, 4_294_967_295),
                        Some("int32") => (-2_147_483_648, 2_147_483_647),
                        Some("uint64") => (0, i64::MAX),
                        _ => (i64::MIN, i64::MAX),
                    };
                    map.entry("minimum").or_insert(json!(min));
                    map.entry("maximum").or_insert(json!(max));
                }
                map.values_mut().for_each(bounds);
            }
            Value::Array(items) => items.iter_mut().for_each(bounds),
            _ => {}
        }
    }
    bounds(document);
    plain_references(document);
    links(document);
    public_operations(document);
    servers(document);
    let Some(schemas) = document.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else {
        return;
    };
    // The type of each named schema, for nullable references (linters want `type` beside
    // `nullable`, and OpenAPI 3.0 ignores `nullable` without it).
    let kinds: std::collections::BTreeMap<String, Value> = schemas
        .iter()
        .filter_map(|(name, schema)| {
            schema.get("type").map(|kind| (format!("#/components/schemas/{name}"), kind.clone()))
        })
        .collect();
    for schema in schemas.values_mut() {
        let required: Vec<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for (name, property) in properties.iter_mut() {
            // A property with a default reads `null` as absent too (schemathesis found it).
            if required.contains(name) {
                continue;
            }
            if let Some(reference) = property.get("$ref").cloned() {
                let description = property.get("description").cloned();
                let kind = reference.as_str().and_then(|r| kinds.get(r)).cloned();
                let mut wrapped = json!({"allOf": [{"$ref": reference}], "nullable": true});
                if let Some(kind) = kind {
                    wrapped["type"] = kind;
                }
                if let Some(description) = description {
                    wrapped["description"] = description;
                }
                *property = wrapped;
            } else if let Some(map) = property.as_object_mut() {
                map.insert("nullable".to_owned(), Value::Bool(true));
                // An absent map is an empty one; client generators accept no other default
                // for a map (openapi-python-client drops the whole schema).
                if map.get("default").is_some_and(|d| d.as_object().is_some_and(serde_json::Map::is_empty)) {
                    map.remove("default");
                }
            }
        }
    }
}

/// Replaces `allOf: [{$ref}, {description}]`, poem-openapi's way of describing a property
/// that refers to a schema, by the plain `{$ref}` (OpenAPI 3.0 ignores what sits beside a
/// `$ref`, so the property's description moves nowhere: the schema describes itself).
fn plain_references(node: &mut serde_json::Value) {
    use serde_json::Value;
    match node {
        Value::Object(map) => {
            let reference = map.get("allOf").and_then(Value::as_array).and_then(|members| {
                let mut references = members.iter().filter_map(|m| m.get("$ref"));
                let only_descriptions = members
                    .iter()
                    .all(|m| m.get("$ref").is_some() || m.as_object().is_some_and(described_only));
                match (references.next(), references.next(), only_descriptions) {
                    (Some(reference), None, true) => Some(reference.clone()),
                    _ => None,
                }
            });
            if let Some(reference) = reference {
                map.remove("allOf");
                map.remove("description");
                map.insert("$ref".to_owned(), reference);
            }
            map.values_mut().for_each(plain_references);
        }
        Value::Array(items) => items.iter_mut().for_each(plain_references),
        _ => {}
    }
}

/// A schema that only describes (no type, no constraint).
fn described_only(schema: &serde_json::Map<String, serde_json::Value>) -> bool {
    schema.keys().all(|key| key == "description" || key == "title")
}

/// Marks every operation that takes no credential with `security: []`, so linters and
/// generators know it is public rather than forgotten.
fn public_operations(document: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|ops| ops.values_mut()) {
        if let Some(operation) = operation.as_object_mut() {
            operation.entry("security").or_insert(json!([]));
        }
    }
}

/// One server: the one that serves the document (a relative URL, per OpenAPI 3.0).
fn servers(document: &mut serde_json::Value) {
    use serde_json::json;
    if document.get("servers").and_then(serde_json::Value::as_array).is_none_or(Vec::is_empty) {
        document["servers"] =
            json!([{"url": "/", "description": "the usher server that serves this document"}]);
    }
}

/// Operations that create something, where their answer carries its id, and the path
/// prefix of the operations that take that id (`{id}` in the prefix is the id).
const PRODUCERS: &[(&str, &str, &str, &str)] = &[
    ("create_account", "201", "/account/id", "/v1/accounts/{account_id}"),
    ("create_sub_account", "201", "/id", "/v1/accounts/{account_id}"),
    ("create_user", "201", "/id", "/v1/users/{id}"),
    ("accept_invitation", "201", "/id", "/v1/users/{id}"),
    ("register", "201", "/id", "/v1/users/{id}"),
    ("create_user_from_contact", "201", "/id", "/v1/users/{id}"),
    ("create_role", "201", "/id", "/v1/roles/{id}"),
    ("create_user_type", "201", "/id", "/v1/user-types/{id}"),
    ("invite", "200", "/items/0/invitation/id", "/v1/invitations/{id}"),
    ("create_api_key", "201", "/api_key/id", "/v1/api-keys/{id}"),
    ("create_contact", "201", "/id", "/v1/contacts/{id}"),
    ("link_device", "201", "/id", "/v1/users/{id}/devices/{device_id}"),
];

/// Adds OpenAPI links from each producer to the operations that take the id it answers, so
/// clients (and stateful fuzzers) can follow them.
fn links(document: &mut serde_json::Value) {
    use serde_json::{Map, Value, json};
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return;
    };
    let mut consumers: Vec<(String, String)> = Vec::new(); // (path, operationId)
    let mut producers: Vec<(String, String)> = Vec::new(); // (path, method) of each producer
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().into_iter().flatten() {
            if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
                consumers.push((path.clone(), id.to_owned()));
                if PRODUCERS.iter().any(|(producer, ..)| *producer == id) {
                    producers.push((path.clone(), method.clone()));
                }
            }
        }
    }
    for (path, method) in producers {
        let Some(operation) =
            document.pointer_mut(&format!("/paths/{}/{method}", path.replace('~', "~0").replace('/', "~1")))
        else {
            continue;
        };
        let id = operation.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned();
        let Some((_, status, pointer, prefix)) = PRODUCERS.iter().find(|(producer, ..)| *producer == id)
        else {
            continue;
        };
        let parameter = if prefix.ends_with("{device_id}") {
            "device_id"
        } else if prefix.ends_with("{account_id}") {
            "account_id"
        } else {
            "id"
        };
        let mut found = Map::new();
        for (consumer_path, consumer) in &consumers {
            if !consumer_path.starts_with(prefix) || *consumer == id {
                continue;
            }
            let mut parameters = Map::new();
            parameters.insert(parameter.to_owned(), json!(format!("$response.body#{pointer}")));
            if parameter == "device_id" {
                parameters.insert("id".to_owned(), json!("$request.path.id"));
            }
            found.insert(consumer.clone(), json!({"operationId": consumer, "parameters": parameters}));
        }
        let response = operation.pointer_mut(&format!("/responses/{status}")).and_then(Value::as_object_mut);
        if let (Some(response), false) = (response, found.is_empty()) {
            response.insert("links".to_owned(), Value::Object(found));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn walk<'a>(node: &'a Value, found: &mut Vec<&'a serde_json::Map<String, Value>>) {
        match node {
            Value::Object(map) => {
                found.push(map);
                map.values().for_each(|v| walk(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }

    #[test]
    fn the_document_suits_client_generators_and_linters() {
        let document: Value = serde_json::from_str(&crate::spec()).unwrap();
        let mut schemas = Vec::new();
        walk(&document, &mut schemas);
        for schema in &schemas {
            if let Some(members) = schema.get("allOf").and_then(Value::as_array) {
                assert!(
                    members.iter().all(|m| m.get("$ref").is_some()),
                    "an allOf member that only describes: {schema:?}"
                );
            }
            if schema.contains_key("$ref") {
                assert_eq!(schema.len(), 1, "beside a $ref, OpenAPI 3.0 ignores everything: {schema:?}");
            }
            if schema.get("nullable") == Some(&Value::Bool(true)) {
                assert!(schema.contains_key("type"), "nullable needs a type beside it: {schema:?}");
            }
        }
        assert!(document["info"]["license"]["url"].is_string(), "a license names its text");
        let operations: Vec<(&String, &String, &Value)> = document["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| ops.as_object().unwrap().iter().map(move |(m, op)| (path, m, op)))
            .collect();
        for (path, method, operation) in &operations {
            assert!(
                operation.get("security").is_some_and(Value::is_array),
                "{method} {path} says no security"
            );
        }
        let public: Vec<&String> = operations
            .iter()
            .filter(|(.., op)| op["security"] == serde_json::json!([]))
            .map(|(p, ..)| *p)
            .collect();
        assert!(public.iter().any(|p| p.as_str() == "/v1/auth/login"), "{public:?}");
        assert!(!public.iter().any(|p| p.as_str() == "/v1/me"), "{public:?}");
        assert!(!document["servers"].as_array().unwrap().is_empty());
    }
}
