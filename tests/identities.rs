//! Just-in-time users over HTTP: an app's key signs in an outside identity whose issuer is a
//! percent-encoded URL; the first call creates the user, a repeat changes nothing, and a
//! first sign-in with another user's email is refused until linking is allowed (R17).

use reqwest::StatusCode;
use serde_json::json;
use usher_e2e::{Db, Server, id};

async fn outside_identities_make_and_find_users(server: Server, db: Db) -> Db {
    let acme = server.tenant("acme", 5).await;
    // R4: the key grants the default roles, so it holds what they hold (the `user` role's).
    let mut permissions = vec!["users:read".to_owned(), "users:write".to_owned()];
    for module in ["contacts", "orders", "catalog", "quotes", "reports"] {
        permissions.extend([format!("{module}:read"), format!("{module}:write")]);
    }
    let key = json!({"name": "gateway", "permissions": permissions});
    let (status, key) =
        server.post(&format!("/v1/accounts/{}/api-keys", acme.account), &acme.token, key).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key = key["secret"].as_str().unwrap().to_owned();
    // The issuer https://login.microsoftonline.com/9188040d/v2.0, percent-encoded.
    let issuer = "https%3A%2F%2Flogin.microsoftonline.com%2F9188040d%2Fv2.0";
    let path =
        |subject: &str| format!("/v1/accounts/{}/external-identities/{issuer}/{subject}", acme.account);
    let claims = json!({"email": "ada@example.com", "email_verified": true, "first_name": "Ada", "last_name": "Lovelace"});

    let (status, first) =
        server.put(&path("AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"), &key, claims.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["issuer"], "https://login.microsoftonline.com/9188040d/v2.0", "the issuer is decoded");
    assert_eq!((first["outcome"].clone(), first["user"]["origin"].clone()), (json!("created"), json!("jit")));
    assert_eq!(first["user"]["username"], "ada@example.com", "the default username format");
    let user = id(&first["user"]);

    let (status, again) =
        server.put(&path("AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"), &key, claims.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!((again["outcome"].clone(), id(&again["user"])), (json!("unchanged"), user.clone()));

    // Another identity with Ada's email: refused until the settings link verified emails.
    let (status, problem) = server.put(&path("other-subject"), &key, claims.clone()).await;
    assert_eq!(
        (status, problem["code"].clone()),
        (StatusCode::CONFLICT, json!("identity_not_linked")),
        "{problem}"
    );
    let settings = format!("/v1/accounts/{}/settings", acme.account);
    let (status, _) =
        server.patch(&settings, &acme.token, json!({"link_identities_by_verified_email": true})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, linked) = server.put(&path("other-subject"), &key, claims).await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!((linked["outcome"].clone(), id(&linked["user"])), (json!("linked"), user.clone()));

    // Ada's history, as her page in a console opens it: the audit log narrowed to her.
    let audit = format!("/v1/accounts/{}/audit-events", acme.account);
    let since = "2000-01-01T00:00:00Z";
    let (status, history) =
        server.get(&format!("{audit}?target_kind=user&target_id={user}&since={since}"), &acme.token).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let actions: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user.identity_linked", "user.created"], "{history}");
    let (status, problem) =
        server.get(&format!("{audit}?since=2030-01-01T00:00:00Z&until={since}"), &acme.token).await;
    assert_eq!(
        (status, problem["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("until")),
        "{problem}"
    );

    let (status, problem) = server.put(&path("a%01b"), &key, json!({"email": "bob@example.com"})).await;
    assert_eq!(
        (status, problem["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("subject")),
        "{problem}"
    );
    db
}

#[tokio::test]
async fn r17_outside_identities_make_and_find_users_on_sqlite() {
    usher_e2e::on_sqlite(outside_identities_make_and_find_users).await;
}

#[tokio::test]
async fn r17_outside_identities_make_and_find_users_on_postgres() {
    usher_e2e::on_postgres(outside_identities_make_and_find_users).await;
}
