//! Two tenants: every endpoint that takes an id answers 404 to the other tenant's
//! administrator, exactly as for an id that does not exist (R19), and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_e2e::{Db, Server, Tenant, id};

/// Ids of one object of every kind in `tenant`.
struct Objects {
    account: String,
    sub_account: String,
    user: String,
    user_type: String,
    role: String,
    invitation: String,
    contact: String,
    api_key: String,
    device: String,
}

async fn populate(server: &Server, tenant: &Tenant) -> Objects {
    let account = tenant.account.clone();
    let token = &tenant.token;
    let (_, sub) = server
        .post(
            &format!("/v1/accounts/{account}/sub-accounts"),
            token,
            json!({"slug": format!("{}-sub", tenant.slug), "name": "Sub"}),
        )
        .await;
    let body = json!({"username": "owner", "email": format!("owner@{}.example.com", tenant.slug), "user_type": tenant.user_type, "roles": [tenant.user_role]});
    let (status, user) = server.post(&format!("/v1/accounts/{account}/users"), token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let user = id(&user);
    server
        .put(&format!("/v1/users/{user}/password"), token, json!({"password": "a password long enough"}))
        .await;
    let (status, device) = server
        .post(
            &format!("/v1/users/{user}/devices"),
            token,
            json!({"name": "Till 1", "identifier": format!("{}-till-1", tenant.slug)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    let (_, user_type) = server
        .post(
            &format!("/v1/accounts/{account}/user-types"),
            token,
            json!({"key": "clerk", "name": "Clerk", "consumes_seat": true, "ceiling": ["orders:write"]}),
        )
        .await;
    let (_, role) = server
        .post(
            &format!("/v1/accounts/{account}/roles"),
            token,
            json!({"name": "Orders", "permissions": ["orders:write"]}),
        )
        .await;
    let invite = json!({"emails": [format!("guest@{}.example.com", tenant.slug)], "user_type": tenant.user_type, "roles": [tenant.user_role]});
    let (_, outcomes) = server.post(&format!("/v1/accounts/{account}/invitations"), token, invite).await;
    let invitation = outcomes["items"][0]["invitation"]["id"].as_str().expect("invited").to_owned();
    let (_, contact) = server.post(&format!("/v1/accounts/{account}/contacts"), token, json!({"kind": "person", "first_name": "Carl", "last_name": "Contact", "email": format!("carl@{}.example.com", tenant.slug)})).await;
    let (_, key) = server
        .post(
            &format!("/v1/accounts/{account}/api-keys"),
            token,
            json!({"name": "ERP", "permissions": ["users:read"]}),
        )
        .await;
    Objects {
        account,
        sub_account: id(&sub),
        user,
        user_type: id(&user_type),
        role: id(&role),
        invitation,
        contact: id(&contact),
        api_key: id(&key["api_key"]),
        device: id(&device),
    }
}

/// Every call that names an object by id, with a body valid apart from the id.
fn calls(o: &Objects, user_type: &str, role: &str) -> Vec<(Method, String, Option<Value>)> {
    let user_body = json!({"email": "intruder@example.com", "user_type": user_type, "roles": [role]});
    let a = &o.account;
    let u = &o.user;
    vec![
        (Method::GET, format!("/v1/accounts/{a}"), None),
        (Method::PATCH, format!("/v1/accounts/{a}"), Some(json!({"name": "Taken over"}))),
        (Method::GET, format!("/v1/accounts/{a}/sub-accounts"), None),
        (
            Method::POST,
            format!("/v1/accounts/{a}/sub-accounts"),
            Some(json!({"slug": "intruder-sub", "name": "x"})),
        ),
        (Method::GET, format!("/v1/accounts/{}", o.sub_account), None),
        (Method::GET, format!("/v1/accounts/{a}/settings"), None),
        (Method::PATCH, format!("/v1/accounts/{a}/settings"), Some(json!({"self_registration": true}))),
        (Method::GET, format!("/v1/accounts/{a}/user-types"), None),
        (
            Method::POST,
            format!("/v1/accounts/{a}/user-types"),
            Some(json!({"key": "spy", "name": "Spy", "consumes_seat": false})),
        ),
        (Method::PATCH, format!("/v1/user-types/{}", o.user_type), Some(json!({"name": "Renamed"}))),
        (Method::GET, format!("/v1/accounts/{a}/subscription"), None),
        (
            Method::PUT,
            format!("/v1/accounts/{a}/subscription"),
            Some(json!({"seats": [{"user_type": o.user_type, "total": 9}]})),
        ),
        (Method::GET, format!("/v1/accounts/{a}/roles"), None),
        (Method::POST, format!("/v1/accounts/{a}/roles"), Some(json!({"name": "Spy", "permissions": []}))),
        (Method::GET, format!("/v1/roles/{}", o.role), None),
        (Method::PATCH, format!("/v1/roles/{}", o.role), Some(json!({"name": "Renamed"}))),
        (Method::DELETE, format!("/v1/roles/{}", o.role), None),
        (Method::GET, format!("/v1/accounts/{a}/users"), None),
        (Method::POST, format!("/v1/accounts/{a}/users"), Some(user_body)),
        (Method::GET, format!("/v1/users/{u}"), None),
        (Method::PATCH, format!("/v1/users/{u}"), Some(json!({"first_name": "Mallory"}))),
        (Method::DELETE, format!("/v1/users/{u}"), None),
        (Method::POST, format!("/v1/users/{u}/enable"), None),
        (Method::POST, format!("/v1/users/{u}/disable"), None),
        (Method::POST, format!("/v1/users/{u}/erase"), None),
        (Method::PUT, format!("/v1/users/{u}/password"), Some(json!({"password": "a password long enough"}))),
        (Method::POST, format!("/v1/users/{u}/password-reset"), None),
        (Method::POST, format!("/v1/users/{u}/verification-email"), None),
        (Method::POST, format!("/v1/users/{u}/email-verified"), None),
        (Method::GET, format!("/v1/users/{u}/devices"), None),
        (
            Method::POST,
            format!("/v1/users/{u}/devices"),
            Some(json!({"name": "x", "identifier": "intruder-device"})),
        ),
        (Method::DELETE, format!("/v1/users/{u}/devices/{}", o.device), None),
        (Method::GET, format!("/v1/users/{u}/attribution"), None),
        (
            Method::POST,
            format!("/v1/accounts/{a}/invitations"),
            Some(json!({"emails": ["x@example.com"], "user_type": user_type, "roles": [role]})),
        ),
        (Method::GET, format!("/v1/accounts/{a}/invitations"), None),
        (Method::POST, format!("/v1/invitations/{}/resend", o.invitation), None),
        (Method::DELETE, format!("/v1/invitations/{}", o.invitation), None),
        (Method::GET, format!("/v1/accounts/{a}/contacts"), None),
        (
            Method::POST,
            format!("/v1/accounts/{a}/contacts"),
            Some(json!({"kind": "person", "last_name": "Spy"})),
        ),
        (Method::POST, format!("/v1/contacts/{}/user", o.contact), Some(json!({}))),
        (Method::GET, format!("/v1/accounts/{a}/api-keys"), None),
        (Method::POST, format!("/v1/accounts/{a}/api-keys"), Some(json!({"name": "spy", "permissions": []}))),
        (Method::DELETE, format!("/v1/api-keys/{}", o.api_key), None),
        (Method::GET, format!("/v1/accounts/{a}/audit-events"), None),
        (Method::GET, format!("/v1/accounts/{a}/mail"), None),
    ]
}

async fn another_tenants_ids_read_as_not_found(server: Server, db: Db) -> Db {
    let acme = server.tenant("acme", 5).await;
    let globex = server.tenant("globex", 5).await;
    let objects = populate(&server, &acme).await;
    let (_, audit_before) =
        server.get(&format!("/v1/accounts/{}/audit-events?limit=200", acme.account), &acme.token).await;
    for (method, path, body) in calls(&objects, &globex.user_type, &globex.user_role) {
        let body = body.or_else(|| (method == Method::POST).then(|| json!({})));
        let (status, problem) = server.call(method.clone(), &path, Some(&globex.token), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {problem}");
        assert_eq!(problem["code"], "not_found", "{method} {path}");
        // The domain answered (a route that does not exist names no entity).
        assert!(problem["entity"].is_string(), "{method} {path}: {problem}");
    }
    // Nothing was changed, nor audited, in the first tenant.
    let (_, audit_after) =
        server.get(&format!("/v1/accounts/{}/audit-events?limit=200", acme.account), &acme.token).await;
    assert_eq!(
        audit_before["items"].as_array().unwrap().len(),
        audit_after["items"].as_array().unwrap().len()
    );
    let (_, user) = server.get(&format!("/v1/users/{}", objects.user), &acme.token).await;
    assert_eq!((user["state"].as_str(), user["first_name"].is_null()), (Some("active"), true), "{user}");
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r19_sqlite_another_tenants_ids_read_as_not_found() {
    usher_e2e::on_sqlite(another_tenants_ids_read_as_not_found).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r19_postgres_another_tenants_ids_read_as_not_found() {
    usher_e2e::on_postgres(another_tenants_ids_read_as_not_found).await;
}
