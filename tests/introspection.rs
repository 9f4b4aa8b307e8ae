//! Token introspection over HTTP (RFC 7662): an app's key asks whether a user's session token
//! is active; a logout, a disable or a password change makes it inactive at once, and a
//! token out of the key's reach reads exactly like an unknown one.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_e2e::{Db, Server, Tenant, id};

async fn key(server: &Server, tenant: &Tenant, permissions: &[&str]) -> String {
    let body = json!({"name": "gateway", "permissions": permissions});
    let (status, key) =
        server.post(&format!("/v1/accounts/{}/api-keys", tenant.account), &tenant.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    key["secret"].as_str().expect("secret").to_owned()
}

async fn introspect(server: &Server, key: &str, token: &str) -> Value {
    let (status, answer) =
        server.call_form("/v1/oauth/introspect", Some(key), &format!("token={token}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

async fn sessions_end_for_introspection_at_once(server: Server, db: Db) -> Db {
    let acme = server.tenant("acme", 5).await;
    let globex = server.tenant("globex", 5).await;
    let gateway = key(&server, &acme, &["introspection:read"]).await;
    let foreign = key(&server, &globex, &["introspection:read"]).await;
    let blind = key(&server, &acme, &["users:read"]).await;
    let body = json!({"username": "ann", "email": "ann@acme.example.com", "user_type": acme.user_type, "roles": [acme.user_role]});
    let (_, ann) = server.post(&format!("/v1/accounts/{}/users", acme.account), &acme.token, body).await;
    let ann = id(&ann);
    server.post(&format!("/v1/users/{ann}/email-verified"), &acme.token, json!({})).await;
    let set = json!({"password": "first passphrase 1"});
    let (status, _) = server.put(&format!("/v1/users/{ann}/password"), &acme.token, set).await;
    assert_eq!(status, StatusCode::OK);
    let token = server.login("acme", "ann", "first passphrase 1").await;

    let active = introspect(&server, &gateway, &token).await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["sub"], ann.as_str());
    assert_eq!(active["username"], "ann");
    assert_eq!(active["account"], acme.account.as_str());
    assert_eq!(active["root"], acme.account.as_str());
    assert_eq!(active["token_type"], "Bearer");
    assert_eq!(active["must_change_password"], true, "R16: an administrator set the password");
    assert!(active["exp"].as_i64().unwrap() > active["iat"].as_i64().unwrap());
    let scope = active["scope"].as_str().unwrap();
    assert!(scope.split(' ').any(|p| p == "orders:write") && !scope.contains("users:"), "{scope}");
    assert_eq!(active["accounts_in_scope"], json!([acme.account]));

    assert_eq!(introspect(&server, &foreign, &token).await, json!({"active": false}), "another tenant's key");
    assert_eq!(introspect(&server, &gateway, "uss_nothing-of-the-kind").await, json!({"active": false}));
    assert_eq!(
        introspect(&server, &gateway, &gateway).await,
        json!({"active": false}),
        "keys are not sessions"
    );
    let (status, problem) =
        server.call_form("/v1/oauth/introspect", Some(&blind), &format!("token={token}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["permissions"], json!(["introspection:read"]), "the problem names what is missing");
    let (status, _) = server.call_form("/v1/oauth/introspect", None, &format!("token={token}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A password change ends every session of the user.
    let change = json!({"current_password": "first passphrase 1", "new_password": "second passphrase 2"});
    let (status, answer) = server.call(Method::PUT, "/v1/me/password", Some(&token), Some(change)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    assert_eq!(introspect(&server, &gateway, &token).await["active"], false, "after a password change");
    // A logout.
    let token = server.login("acme", "ann", "second passphrase 2").await;
    assert_eq!(introspect(&server, &gateway, &token).await["must_change_password"], false);
    let (status, _) = server.call(Method::POST, "/v1/auth/logout", Some(&token), None).await;
    assert!(status.is_success());
    assert_eq!(introspect(&server, &gateway, &token).await["active"], false, "after a logout");
    // A disable.
    let token = server.login("acme", "ann", "second passphrase 2").await;
    let (status, _) = server.post(&format!("/v1/users/{ann}/disable"), &acme.token, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(introspect(&server, &gateway, &token).await["active"], false, "after a disable");
    db
}

#[tokio::test]
async fn r13_r19_sessions_end_for_introspection_at_once_on_sqlite() {
    usher_e2e::on_sqlite(sessions_end_for_introspection_at_once).await;
}

#[tokio::test]
async fn r13_r19_sessions_end_for_introspection_at_once_on_postgres() {
    usher_e2e::on_postgres(sessions_end_for_introspection_at_once).await;
}
