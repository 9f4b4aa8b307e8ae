//! SCIM 2.0 over HTTP: the compliance tester from PyPI (scim2-tester) against a live server,
//! and two provisioning conversations written from Entra ID's and Okta's published request
//! examples (`scim/entra.json`, `scim/okta.json`), replayed step by step (R1, R3, R5, R8).
#![allow(clippy::disallowed_methods, clippy::print_stderr, reason = "tests read their environment")]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_e2e::{Db, Server, Tenant};

/// What an identity provider's key holds: `scim`, users and roles (groups), and what the
/// default `user` role grants, which it gives new users (R4).
fn provisioner_permissions() -> Vec<String> {
    ["scim", "users", "roles", "contacts", "orders", "catalog", "quotes", "reports"]
        .iter()
        .flat_map(|module| [format!("{module}:read"), format!("{module}:write")])
        .collect()
}

/// A tenant whose every seat-consuming type has room, and its provisioning key.
async fn directory(server: &Server) -> (Tenant, String) {
    let acme = server.tenant("acme", 1000).await;
    let (_, types) = server.get(&format!("/v1/accounts/{}/user-types", acme.account), &acme.token).await;
    let seats: Vec<Value> = types["items"]
        .as_array()
        .expect("types")
        .iter()
        .filter(|t| t["consumes_seat"] == json!(true))
        .map(|t| json!({"user_type": t["id"], "total": 1000}))
        .collect();
    let operator = server.operator().await;
    let subscription = format!("/v1/accounts/{}/subscription", acme.account);
    let (status, body) = server.put(&subscription, &operator, json!({"seats": seats})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let key = json!({"name": "identity provider", "permissions": provisioner_permissions()});
    let (status, key) =
        server.post(&format!("/v1/accounts/{}/api-keys", acme.account), &acme.token, key).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    (acme, key["secret"].as_str().expect("secret").to_owned())
}

/// `text` with every `{name}` replaced by what was saved under it.
fn fill(text: &str, saved: &BTreeMap<String, String>) -> String {
    saved.iter().fold(text.to_owned(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

fn fill_value(value: &Value, saved: &BTreeMap<String, String>) -> Value {
    match value {
        Value::String(text) => Value::String(fill(text, saved)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_value(v, saved)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), fill_value(v, saved))).collect())
        }
        other => other.clone(),
    }
}

/// Checks one expectation: a JSON pointer's value, or (by its last token) a list's `count`,
/// that it `contains` a value, or an item with that `id` or `value`.
fn expect(step: &str, body: &Value, pointer: &str, expected: &Value) {
    let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    let list = || body.pointer(parent).and_then(Value::as_array).cloned().unwrap_or_default();
    match last {
        "count" => assert_eq!(json!(list().len()), *expected, "{step}: {pointer} in {body}"),
        "contains" => assert!(list().contains(expected), "{step}: {parent} lacks {expected} in {body}"),
        "contains-id" => {
            assert!(list().iter().any(|i| i["id"] == *expected), "{step}: no id {expected} in {body}")
        }
        "contains-value" => {
            assert!(list().iter().any(|i| i["value"] == *expected), "{step}: no value {expected} in {body}");
        }
        _ => {
            let found = body.pointer(pointer).unwrap_or(&Value::Null);
            assert_eq!(found, expected, "{step}: {pointer} in {body}");
        }
    }
}

/// Replays a recorded conversation: each step's request, with the ids saved from earlier
/// answers; SCIM paths with the key, `/v1` paths (the checks of what a step did) with the
/// administrator's session.
async fn replay(server: &Server, tenant: &Tenant, key: &str, file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scim").join(file);
    let conversation: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("conversation"))
        .expect("the conversation is JSON");
    let mut saved = BTreeMap::from([("account".to_owned(), tenant.account.clone())]);
    for step in conversation["steps"].as_array().expect("steps") {
        let name = step["step"].as_str().expect("step name");
        let path = fill(step["path"].as_str().expect("path"), &saved);
        let (url, token) = if path.starts_with("/v1/") {
            (path, tenant.token.as_str())
        } else {
            (format!("/scim/v2{path}"), key)
        };
        let method = Method::from_bytes(step["method"].as_str().expect("method").as_bytes()).expect("method");
        let (status, body) = match step.get("body") {
            Some(body) => {
                let body = fill_value(body, &saved).to_string();
                server.call_body(method, &url, Some(token), "application/scim+json", body).await
            }
            None => server.call(method, &url, Some(token), None).await,
        };
        assert_eq!(json!(status.as_u16()), step["status"], "{name}: {body}");
        for (pointer, expected) in step["expect"].as_object().into_iter().flatten() {
            expect(name, &body, pointer, &fill_value(expected, &saved));
        }
        for (name, pointer) in step["save"].as_object().into_iter().flatten() {
            let value = body.pointer(pointer.as_str().expect("pointer")).and_then(Value::as_str);
            saved.insert(name.clone(), value.expect("a saved value").to_owned());
        }
    }
}

async fn entra_id_conversation(server: Server, db: Db) -> Db {
    let (acme, key) = directory(&server).await;
    replay(&server, &acme, &key, "entra.json").await;
    db
}

async fn okta_conversation(server: Server, db: Db) -> Db {
    let (acme, key) = directory(&server).await;
    replay(&server, &acme, &key, "okta.json").await;
    db
}

#[tokio::test]
async fn r1_r3_r8_entra_id_provisioning_replays_on_sqlite() {
    usher_e2e::on_sqlite(entra_id_conversation).await;
}

#[tokio::test]
async fn r1_r3_r8_entra_id_provisioning_replays_on_postgres() {
    usher_e2e::on_postgres(entra_id_conversation).await;
}

#[tokio::test]
async fn r1_r5_r8_okta_provisioning_replays_on_sqlite() {
    usher_e2e::on_sqlite(okta_conversation).await;
}

#[tokio::test]
async fn r1_r5_r8_okta_provisioning_replays_on_postgres() {
    usher_e2e::on_postgres(okta_conversation).await;
}

/// The SCIM compliance tester finds no failure: discovery, then create, read, query,
/// replace, PATCH add/replace/remove of every attribute, and delete, for users and groups.
#[tokio::test]
async fn scim2_tester_finds_no_failure() {
    let Some(python) = usher_e2e::checkers_python() else { return };
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let (_, key) = directory(&server).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scim/tester.py");
    let output = Command::new(python)
        .arg(script)
        .arg(format!("{}/scim/v2", server.base))
        .arg(&key)
        .output()
        .expect("run tester.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{}", stdout.trim());
    assert!(
        output.status.success(),
        "scim2-tester found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    drop(server);
    db.drop_database().await;
}

/// R19: the usher extension names the (sub-)account a user belongs to by slug. The Schemas
/// list the slugs a key may name; a create puts the user there; a replace may repeat it but
/// not move the user (400 `invalidValue`).
#[tokio::test]
async fn r19_a_user_is_provisioned_into_the_sub_account_its_resource_names() {
    const USHER: &str = "urn:usher:params:scim:schemas:extension:usher:2.0:User";
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let (acme, key) = directory(&server).await;
    let subs = format!("/v1/accounts/{}/sub-accounts", acme.account);
    let (status, east) = server.post(&subs, &acme.token, json!({"slug": "acme-east", "name": "East"})).await;
    assert_eq!(status, StatusCode::CREATED, "{east}");
    let scim = |method: Method, path: &str, body: Option<Value>| {
        let url = format!("/scim/v2{path}");
        let key = key.clone();
        let server = &server;
        async move {
            match body {
                Some(body) => {
                    server
                        .call_body(method, &url, Some(&key), "application/scim+json", body.to_string())
                        .await
                }
                None => server.call(method, &url, Some(&key), None).await,
            }
        }
    };
    let (_, schema) = scim(Method::GET, &format!("/Schemas/{USHER}"), None).await;
    let account = schema["attributes"].as_array().and_then(|a| a.iter().find(|a| a["name"] == "account"));
    let account = account.unwrap_or_else(|| panic!("no account attribute in {schema}"));
    assert_eq!(account["mutability"], "immutable");
    assert_eq!(account["canonicalValues"], json!([acme.slug, "acme-east"]));

    let resource = |account: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", USHER],
            "userName": "ann@acme.example.com",
            "emails": [{"value": "ann@acme.example.com", "primary": true}],
            USHER: {"account": account},
        })
    };
    let (status, ann) = scim(Method::POST, "/Users", Some(resource("acme-east"))).await;
    assert_eq!(status, StatusCode::CREATED, "{ann}");
    assert_eq!(ann[USHER]["account"], "acme-east");
    let ann_id = ann["id"].as_str().expect("id").to_owned();
    let (_, stored) = server.get(&format!("/v1/users/{ann_id}"), &acme.token).await;
    assert_eq!(stored["account_id"], east["id"], "{stored}");

    let (status, same) = scim(Method::PUT, &format!("/Users/{ann_id}"), Some(resource("acme-east"))).await;
    assert_eq!(status, StatusCode::OK, "{same}");
    let (status, moved) = scim(Method::PUT, &format!("/Users/{ann_id}"), Some(resource(&acme.slug))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{moved}");
    assert_eq!(moved["scimType"], "invalidValue", "{moved}");
    let (status, nowhere) = scim(Method::POST, "/Users", Some(resource("nowhere"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{nowhere}");
    drop(server);
    db.drop_database().await;
}
