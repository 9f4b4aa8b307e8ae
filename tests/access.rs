//! Apps ask usher what a user may do instead of reimplementing R4 and R19: `GET /v1/me` and
//! `GET /v1/users/{id}` carry the effective permissions and the accounts in scope, and
//! `GET /v1/users/{id}/permissions?account=` answers for one account.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use usher_e2e::{Db, Server, id};

fn names(list: &Value) -> BTreeSet<String> {
    list.as_array().expect("a list").iter().map(|v| v.as_str().expect("a name").to_owned()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

async fn apps_read_effective_permissions_and_scope(server: Server, db: Db) -> Db {
    let acme = server.tenant("acme", 5).await;
    let other = server.tenant("other", 5).await;
    let account = &acme.account;
    let token = &acme.token;

    // The administrator: its role's permissions within its type's ceiling, its home account.
    let (status, me) = server.get("/v1/me", token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let held = names(&me["effective_permissions"]);
    assert!(held.contains("users:write") && held.contains("users:read"), "write spells out read: {held:?}");
    assert_eq!(me["accounts_in_scope"], json!([account]));
    assert_eq!(me["operator"], false);

    // A clerk of the east sub-account whose role holds more than its type's ceiling allows
    // (R4): the ceiling is lowered to `orders:read` after the grant, and the effective set
    // follows it, keeping the `read` that the role's `write` implies.
    let sub = |slug: &str| json!({"slug": slug, "name": slug});
    let (_, east) =
        server.post(&format!("/v1/accounts/{account}/sub-accounts"), token, sub("acme-east")).await;
    let (_, west) =
        server.post(&format!("/v1/accounts/{account}/sub-accounts"), token, sub("acme-west")).await;
    let (east, west) = (id(&east), id(&west));
    let clerk_type = json!({"key": "clerk", "name": "Clerk", "consumes_seat": false, "ceiling": ["orders:write", "catalog:read"]});
    // User types belong to the operator (R23).
    let operator = server.operator().await;
    let (status, clerk_type) =
        server.post(&format!("/v1/accounts/{account}/user-types"), &operator, clerk_type).await;
    assert_eq!(status, StatusCode::CREATED, "{clerk_type}");
    let role = json!({"name": "Clerk", "permissions": ["orders:write", "catalog:read"]});
    let (_, role) = server.post(&format!("/v1/accounts/{account}/roles"), token, role).await;
    let body = json!({"username": "clerk", "email": "clerk@acme.example.com", "user_type": id(&clerk_type), "roles": [id(&role)]});
    let (status, clerk) = server.post(&format!("/v1/accounts/{east}/users"), token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{clerk}");
    assert!(clerk.get("effective_permissions").is_none(), "only reads of one user carry it: {clerk}");
    let clerk = id(&clerk);
    let (status, narrowed) = server
        .patch(
            &format!("/v1/user-types/{}", id(&clerk_type)),
            &operator,
            json!({"ceiling": ["orders:read", "catalog:read"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    let expected = set(&["catalog:read", "orders:read"]);
    let (_, user) = server.get(&format!("/v1/users/{clerk}"), token).await;
    assert_eq!(names(&user["effective_permissions"]), expected, "{user}");
    assert_eq!(user["accounts_in_scope"], json!([east]));

    // One account at a time: within reach, the same set; a sibling, nothing; another
    // tenant's account reads as not found (R19).
    let ask = |account: &str| format!("/v1/users/{clerk}/permissions?account={account}");
    let (status, here) = server.get(&ask(&east), token).await;
    assert_eq!(status, StatusCode::OK, "{here}");
    assert_eq!((here["within_reach"].as_bool(), names(&here["permissions"])), (Some(true), expected));
    let (_, sibling) = server.get(&ask(&west), token).await;
    assert_eq!((sibling["within_reach"].as_bool(), names(&sibling["permissions"])), (Some(false), set(&[])));
    let (status, stranger) = server.get(&ask(&other.account), token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{stranger}");

    // Lists stay lean.
    let (_, list) = server.get(&format!("/v1/accounts/{east}/users"), token).await;
    assert!(list["items"][0].get("effective_permissions").is_none(), "{list}");

    // The operator holds everything everywhere.
    let (_, op) = server.get("/v1/me", &operator).await;
    assert_eq!((op["operator"].as_bool(), op["accounts_in_scope"].clone()), (Some(true), json!([])));
    assert!(names(&op["effective_permissions"]).contains("subscription:write"), "{op}");
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r4_r19_sqlite_apps_read_effective_permissions_and_scope() {
    usher_e2e::on_sqlite(apps_read_effective_permissions_and_scope).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r4_r19_postgres_apps_read_effective_permissions_and_scope() {
    usher_e2e::on_postgres(apps_read_effective_permissions_and_scope).await;
}
