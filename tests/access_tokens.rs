//! Signed access tokens over HTTP (R13): a session mints a short-lived EdDSA JWT that PyJWT,
//! a library other than the one that signed it, verifies against `/.well-known/jwks.json`;
//! introspection refuses it after a logout, a password change or a disable, and an API key
//! mints nothing.
#![allow(clippy::disallowed_methods, reason = "tests read their environment")]

use std::path::Path;
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_e2e::{Db, Server, Tenant, id};

/// What PyJWT says of `token`: the claims, or why it refused.
fn pyjwt(python: &Path, server: &Server, token: &str) -> Result<Value, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("access_tokens/verify_jwt.py");
    let output = Command::new(python)
        .arg(script)
        .args(["--jwks", &format!("{}/.well-known/jwks.json", server.base), "--issuer", &server.base])
        .arg(token)
        .output()
        .expect("run verify_jwt.py");
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    match output.status.success() {
        true => Ok(serde_json::from_str(&stdout).expect("claims")),
        false => Err(format!("{stdout}{}", String::from_utf8_lossy(&output.stderr))),
    }
}

async fn mint(server: &Server, token: &str) -> (StatusCode, Value) {
    server.call(Method::POST, "/v1/auth/token", Some(token), None).await
}

async fn active(server: &Server, key: &str, token: &str) -> bool {
    let (status, answer) =
        server.call_form("/v1/oauth/introspect", Some(key), &format!("token={token}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["active"] == true
}

async fn ann(server: &Server, acme: &Tenant) -> String {
    let body = json!({"username": "ann", "email": "ann@acme.example.com", "user_type": acme.user_type, "roles": [acme.user_role]});
    let (_, ann) = server.post(&format!("/v1/accounts/{}/users", acme.account), &acme.token, body).await;
    let ann = id(&ann);
    server.post(&format!("/v1/users/{ann}/email-verified"), &acme.token, json!({})).await;
    let (status, _) = server
        .put(&format!("/v1/users/{ann}/password"), &acme.token, json!({"password": "first passphrase 1"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let token = server.login("acme", "ann", "first passphrase 1").await;
    let change = json!({"current_password": "first passphrase 1", "new_password": "second passphrase 2"});
    let (status, answer) = server.call(Method::PUT, "/v1/me/password", Some(&token), Some(change)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    ann
}

async fn tokens_verify_elsewhere_and_end_with_the_session(server: Server, db: Db) -> Db {
    let Some(python) = usher_e2e::checkers_python() else { return db };
    let acme = server.tenant("acme", 5).await;
    let body = json!({"name": "gateway", "permissions": ["introspection:read"]});
    let (_, key) = server.post(&format!("/v1/accounts/{}/api-keys", acme.account), &acme.token, body).await;
    let key = key["secret"].as_str().expect("secret").to_owned();
    let ann = ann(&server, &acme).await;
    let session = server.login("acme", "ann", "second passphrase 2").await;

    let (status, minted) = mint(&server, &session).await;
    assert_eq!(status, StatusCode::OK, "{minted}");
    assert_eq!((minted["token_type"].clone(), minted["expires_in"].clone()), (json!("Bearer"), json!(300)));
    let jwt = minted["access_token"].as_str().unwrap().to_owned();
    let claims = pyjwt(&python, &server, &jwt).expect("PyJWT accepts the token");
    assert_eq!(claims["sub"], ann.as_str());
    assert_eq!(claims["username"], "ann");
    assert_eq!(claims["root"], acme.account.as_str());
    assert_eq!(claims["accounts_in_scope"], json!([acme.account]));
    assert!(claims["scope"].as_str().unwrap().split(' ').any(|p| p == "orders:write"), "{claims}");
    let (status, jwks) = server.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jwks["keys"][0]["kty"], "OKP", "{jwks}");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part is published: {jwks}");
    let (header, rest) = jwt.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let forged = format!("{header}.{payload}x.{signature}");
    assert!(pyjwt(&python, &server, &forged).unwrap_err().contains("refused"), "a tampered token");
    assert!(active(&server, &key, &jwt).await, "introspection accepts it too");

    let (status, problem) = mint(&server, &key).await;
    assert_eq!((status, problem["code"].clone()), (StatusCode::FORBIDDEN, json!("session_required")));
    let (status, _) = mint(&server, "uss_nothing").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A logout, a password change and a disable: introspection refuses at once, while the JWT
    // itself still verifies offline until it expires (the trade-off the README states).
    let (status, _) = server.call(Method::POST, "/v1/auth/logout", Some(&session), None).await;
    assert!(status.is_success());
    assert!(!active(&server, &key, &jwt).await, "after a logout");
    assert!(pyjwt(&python, &server, &jwt).is_ok(), "offline checks cannot know");
    let session = server.login("acme", "ann", "second passphrase 2").await;
    let jwt = mint(&server, &session).await.1["access_token"].as_str().unwrap().to_owned();
    let set = json!({"password": "third passphrase 3"});
    let (status, _) = server.put(&format!("/v1/users/{ann}/password"), &acme.token, set).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!active(&server, &key, &jwt).await, "after a password change (the cut-off)");
    let change = json!({"current_password": "third passphrase 3", "new_password": "fourth passphrase 4"});
    let session = server.login("acme", "ann", "third passphrase 3").await;
    let (status, _) = server.call(Method::PUT, "/v1/me/password", Some(&session), Some(change)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let session = server.login("acme", "ann", "fourth passphrase 4").await;
    let jwt = mint(&server, &session).await.1["access_token"].as_str().unwrap().to_owned();
    assert!(active(&server, &key, &jwt).await);
    let (status, _) = server.post(&format!("/v1/users/{ann}/disable"), &acme.token, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!active(&server, &key, &jwt).await, "after a disable");
    db
}

#[tokio::test]
async fn r13_access_tokens_verify_elsewhere_and_end_with_the_session_on_sqlite() {
    usher_e2e::on_sqlite(tokens_verify_elsewhere_and_end_with_the_session).await;
}

#[tokio::test]
async fn r13_access_tokens_verify_elsewhere_and_end_with_the_session_on_postgres() {
    usher_e2e::on_postgres(tokens_verify_elsewhere_and_end_with_the_session).await;
}

/// Without `USHER_TOKEN_KEY` the server runs as before: minting answers `signing_off` and the
/// key set is empty.
#[tokio::test]
async fn r13_without_a_token_key_signed_tokens_are_off() {
    let db = Db::sqlite().await;
    let server = Server::start_with(
        &db,
        &[("USHER_BOOTSTRAP_PASSWORD", usher_e2e::OPERATOR_PASSWORD), ("USHER_TOKEN_KEY", "")],
    )
    .await;
    let operator = server.operator().await;
    let (status, problem) = mint(&server, &operator).await;
    assert_eq!((status, problem["code"].clone()), (StatusCode::SERVICE_UNAVAILABLE, json!("signing_off")));
    let (status, jwks) = server.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!((status, jwks), (StatusCode::OK, json!({"keys": []})));
}

/// Another `USHER_TOKEN_KEY` cannot open the stored key: the next mint retires it for a new
/// one, and both stay published, so tokens signed before the change still verify.
#[tokio::test]
async fn r13_a_new_token_key_retires_the_key_it_cannot_open() {
    let db = Db::sqlite().await;
    let first = Server::start(&db).await;
    let operator = first.operator().await;
    let (status, minted) = mint(&first, &operator).await;
    assert_eq!(status, StatusCode::OK, "{minted}");
    let (_, before) = first.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    first.kill();
    let other_key = "1".repeat(64);
    let second = Server::start_with(
        &db,
        &[("USHER_BOOTSTRAP_PASSWORD", usher_e2e::OPERATOR_PASSWORD), ("USHER_TOKEN_KEY", &other_key)],
    )
    .await;
    let operator = second.operator().await;
    let (status, minted) = mint(&second, &operator).await;
    assert_eq!(status, StatusCode::OK, "{minted}");
    let (_, after) = second.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    let kids = |set: &Value| -> Vec<Value> {
        set["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect()
    };
    assert_eq!(kids(&after).len(), 2, "{after}");
    assert_eq!(kids(&after)[1], kids(&before)[0], "the old key stays published, after the new one");
}
