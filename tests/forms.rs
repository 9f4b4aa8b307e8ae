//! Stale forms: an account, a user type and the subscription, edited under `If-Match` as a
//! console's forms edit them, answer 412 when someone changed them in between, and keep the
//! newer change.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_e2e::{Db, Server};

/// One write with `If-Match`; answers the status, the new `ETag` and the body.
async fn write(
    server: &Server,
    method: Method,
    path: &str,
    token: &str,
    etag: &str,
    body: Value,
) -> (StatusCode, String, Value) {
    let (status, headers, body) =
        server.call_with_headers(method, path, Some(token), Some(body), &[("If-Match", etag)]).await;
    let etag = headers.get("etag").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, etag, body)
}

async fn read_etag(server: &Server, path: &str, token: &str) -> String {
    let (status, headers, body) = server.call_with_headers(Method::GET, path, Some(token), None, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    headers.get("etag").expect("an ETag").to_str().unwrap().to_owned()
}

async fn stale_forms_are_refused(server: Server, db: Db) -> Db {
    let acme = server.tenant("acme", 5).await;
    let operator = server.operator().await;

    let account = format!("/v1/accounts/{}", acme.account);
    let read = read_etag(&server, &account, &acme.token).await;
    let (status, etag, renamed) =
        write(&server, Method::PATCH, &account, &acme.token, &read, json!({"name": "Acme Corp"})).await;
    assert_eq!((status, renamed["version"].clone()), (StatusCode::OK, json!(2)), "{renamed}");
    assert_eq!(etag, "\"v2\"");
    let (status, _, stale) =
        write(&server, Method::PATCH, &account, &acme.token, &read, json!({"name": "Stale"})).await;
    assert_eq!(
        (status, stale["code"].clone()),
        (StatusCode::PRECONDITION_FAILED, json!("version_mismatch")),
        "{stale}"
    );

    let user_type = format!("/v1/user-types/{}", acme.user_type);
    let (status, etag, retitled) =
        write(&server, Method::PATCH, &user_type, &acme.token, "\"v1\"", json!({"name": "Staff"})).await;
    assert_eq!((status, etag.as_str()), (StatusCode::OK, "\"v2\""), "{retitled}");
    let (status, _, stale) =
        write(&server, Method::PATCH, &user_type, &acme.token, "\"v1\"", json!({"name": "Stale"})).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{stale}");

    let subscription = format!("{account}/subscription");
    let read = read_etag(&server, &subscription, &acme.token).await;
    assert!(read.starts_with("\"s"), "the subscription's ETag names its totals: {read}");
    let seats = |total: u32| json!({"seats": [{"user_type": acme.user_type, "total": total}]});
    let (status, etag, _) = write(&server, Method::PUT, &subscription, &operator, &read, seats(8)).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(etag, read);
    let (status, _, stale) = write(&server, Method::PUT, &subscription, &operator, &read, seats(2)).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{stale}");
    let (_, figures) = server.get(&subscription, &acme.token).await;
    let line = figures["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["user_type"] == acme.user_type.as_str())
        .cloned();
    assert_eq!(line.map(|l| l["total"].clone()), Some(json!(8)), "the newer change stays");
    db
}

#[tokio::test]
async fn stale_forms_are_refused_on_sqlite() {
    usher_e2e::on_sqlite(stale_forms_are_refused).await;
}

#[tokio::test]
async fn stale_forms_are_refused_on_postgres() {
    usher_e2e::on_postgres(stale_forms_are_refused).await;
}

/// Billing and shipping addresses, as Oro's customer-user form edits them: given at creation,
/// answered as given, and a bad one refused with the field named.
async fn users_keep_their_addresses(server: Server, db: Db) -> Db {
    let acme = server.tenant("acme", 5).await;
    let users = format!("/v1/accounts/{}/users", acme.account);
    let billing = json!({"kind": "billing", "lines": ["Invalidenstr. 1"], "city": "Berlin", "postal_code": "10115", "country": "DE"});
    let shipping = json!({"kind": "shipping", "lines": ["Dock 4", "Gate B"], "city": "Hamburg"});
    let body = json!({
        "email": "buyer@acme.example.com", "user_type": acme.user_type, "roles": [acme.user_role],
        "addresses": [billing, shipping],
    });
    let (status, buyer) = server.post(&users, &acme.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{buyer}");
    assert_eq!(
        buyer["addresses"][1],
        json!({"kind": "shipping", "lines": ["Dock 4", "Gate B"], "city": "Hamburg", "postal_code": null, "region": null, "country": null})
    );
    let user = format!("/v1/users/{}", buyer["id"].as_str().unwrap());
    let (status, problem) = server
        .patch(
            &user,
            &acme.token,
            json!({"addresses": [{"kind": "billing", "lines": ["a", "b", "c", "d", "e"]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the spec's limit: {problem}");
    let (status, edited) = server.patch(&user, &acme.token, json!({"addresses": []})).await;
    assert_eq!((status, edited["addresses"].clone()), (StatusCode::OK, json!([])), "{edited}");
    db
}

#[tokio::test]
async fn users_keep_their_addresses_on_sqlite() {
    usher_e2e::on_sqlite(users_keep_their_addresses).await;
}
