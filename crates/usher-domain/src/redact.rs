//! Redaction of personal data in audit diffs, shared by every store adapter (R8): a store applies it to the events about an erased user.

use serde_json::Value;

/// Fields of a user's audit view that hold personal data.
pub const PERSONAL_FIELDS: [&str; 5] = ["username", "email", "profile", "external_ids", "name"];

/// Replaces the values of personal fields, at any depth, by `"[erased]"`.
pub fn redact_personal_data(diff: &Value) -> Value {
    match diff {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let value = if PERSONAL_FIELDS.contains(&key.as_str()) {
                        Value::String("[erased]".to_owned())
                    } else {
                        redact_personal_data(value)
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_personal_data).collect()),
        other => other.clone(),
    }
}
