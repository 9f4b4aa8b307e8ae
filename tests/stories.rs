//! The seeds' stories, driven over real HTTP against the built `usher` binary, each on SQLite
//! and on PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::json;
use usher_e2e::{Db, OPERATOR_PASSWORD, Server, Tenant, id};

/// Runs a story on both backends.
macro_rules! on_both {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    usher_e2e::on_sqlite(super::$story).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    usher_e2e::on_postgres(super::$story).await;
                }
            )*
        }
    };
}

on_both!(
    r1_a_seat_type_refuses_creation_with_the_numbers,
    r3_enabling_needs_a_role,
    r4_a_user_type_ceiling_caps_the_roles_given,
    r19_a_sub_account_admin_sees_neither_a_sibling_nor_the_parent,
    r6_a_registered_member_cannot_be_renamed,
    r8_deleting_is_refused_once_the_user_logged_in,
    r8_disabling_ends_the_sessions,
    r16_an_admin_set_password_must_be_changed_first,
    if_match_refuses_a_stale_edit_with_412,
    r14_login_failures_look_alike_and_are_throttled,
);

/// Creates a user (enabled, with `roles`) in `account` and answers its id.
async fn create_user(
    server: &Server,
    tenant: &Tenant,
    account: &str,
    user_type: &str,
    roles: &[&str],
    name: &str,
) -> String {
    let body = json!({
        "username": name,
        "email": format!("{name}@{}.example.com", tenant.slug),
        "first_name": name,
        "last_name": "Tester",
        "user_type": user_type,
        "roles": roles,
    });
    let (status, user) = server.post(&format!("/v1/accounts/{account}/users"), &tenant.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    id(&user)
}

/// Gives a user a verified email and a password of its own, and answers its session token.
async fn log_in_as(server: &Server, tenant: &Tenant, user: &str, username: &str) -> String {
    let (status, body) =
        server.post(&format!("/v1/users/{user}/email-verified"), &tenant.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server
        .put(&format!("/v1/users/{user}/password"), &tenant.token, json!({"password": "temporary pass 1234"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = server.login(&tenant.slug, username, "temporary pass 1234").await;
    let change = json!({"current_password": "temporary pass 1234", "new_password": "my own secret phrase"});
    let (status, body) = server.put("/v1/me/password", &first, change).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    server.login(&tenant.slug, username, "my own secret phrase").await
}

async fn r1_a_seat_type_refuses_creation_with_the_numbers(server: Server, db: Db) -> Db {
    let tenant = server.tenant("acme", 1).await;
    let account = &tenant.account;
    let first = create_user(&server, &tenant, account, &tenant.user_type, &[&tenant.user_role], "ann").await;
    let body =
        json!({"email": "bob@acme.example.com", "user_type": tenant.user_type, "roles": [tenant.user_role]});
    let (status, problem) =
        server.post(&format!("/v1/accounts/{account}/users"), &tenant.token, body.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "no_seat_available");
    assert_eq!(
        (
            problem["user_type"].as_str(),
            problem["used"].as_u64(),
            problem["reserved"].as_u64(),
            problem["total"].as_u64()
        ),
        (Some("user"), Some(1), Some(0), Some(1))
    );
    let invite = json!({"emails": ["cy@acme.example.com"], "user_type": tenant.user_type, "roles": [tenant.user_role]});
    let (status, outcomes) =
        server.post(&format!("/v1/accounts/{account}/invitations"), &tenant.token, invite).await;
    assert_eq!(status, StatusCode::OK, "{outcomes}");
    assert_eq!(outcomes["items"][0]["outcome"], "no_seat");
    // Disabling frees the seat (R8).
    let (status, _) = server.post(&format!("/v1/users/{first}/disable"), &tenant.token, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, created) = server.post(&format!("/v1/accounts/{account}/users"), &tenant.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, seats) = server.get(&format!("/v1/accounts/{account}/subscription"), &tenant.token).await;
    let line = seats["items"].as_array().unwrap().iter().find(|l| l["key"] == "user").unwrap().clone();
    assert_eq!(
        (line["total"].as_u64(), line["used"].as_u64(), line["free"].as_u64()),
        (Some(1), Some(1), Some(0))
    );
    db
}

async fn r3_enabling_needs_a_role(server: Server, db: Db) -> Db {
    let tenant = server.tenant("acme", 5).await;
    let body = json!({"email": "ann@acme.example.com", "user_type": tenant.user_type, "roles": [], "enabled": false});
    let (status, user) =
        server.post(&format!("/v1/accounts/{}/users", tenant.account), &tenant.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["state"], "disabled");
    let user = id(&user);
    let (status, problem) = server.post(&format!("/v1/users/{user}/enable"), &tenant.token, json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "role_required");
    let (status, body) =
        server.patch(&format!("/v1/users/{user}"), &tenant.token, json!({"roles": [tenant.user_role]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, enabled) = server.post(&format!("/v1/users/{user}/enable"), &tenant.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{enabled}");
    assert_eq!(enabled["state"], "active");
    db
}

async fn r4_a_user_type_ceiling_caps_the_roles_given(server: Server, db: Db) -> Db {
    let tenant = server.tenant("acme", 5).await;
    let account = &tenant.account;
    let clerk = json!({"key": "clerk", "name": "Clerk", "consumes_seat": true, "ceiling": ["orders:write", "catalog:read"]});
    let (status, clerk) =
        server.post(&format!("/v1/accounts/{account}/user-types"), &tenant.token, clerk).await;
    assert_eq!(status, StatusCode::CREATED, "{clerk}");
    let pricing = json!({"name": "Pricing", "permissions": ["pricing:write", "orders:write"]});
    let (status, pricing) =
        server.post(&format!("/v1/accounts/{account}/roles"), &tenant.token, pricing).await;
    assert_eq!(status, StatusCode::CREATED, "{pricing}");
    let body = json!({"email": "cy@acme.example.com", "user_type": id(&clerk), "roles": [id(&pricing)]});
    let (status, problem) = server.post(&format!("/v1/accounts/{account}/users"), &tenant.token, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "above_ceiling");
    assert_eq!(problem["permissions"], json!(["pricing:write"]));
    // The built-in user type never gets user management (the admin role holds it).
    let body =
        json!({"email": "dee@acme.example.com", "user_type": tenant.user_type, "roles": [tenant.admin_role]});
    let (status, problem) = server.post(&format!("/v1/accounts/{account}/users"), &tenant.token, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "above_ceiling");
    db
}

async fn r19_a_sub_account_admin_sees_neither_a_sibling_nor_the_parent(server: Server, db: Db) -> Db {
    let tenant = server.tenant("acme", 5).await;
    let root = &tenant.account;
    let mut subs = Vec::new();
    for slug in ["acme-east", "acme-west"] {
        let (status, sub) = server
            .post(
                &format!("/v1/accounts/{root}/sub-accounts"),
                &tenant.token,
                json!({"slug": slug, "name": slug}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{sub}");
        subs.push(id(&sub));
    }
    let (east, west) = (&subs[0], &subs[1]);
    let seats = json!({"seats": [{"user_type": tenant.admin_type, "total": 2}]});
    let operator = server.operator().await;
    let (status, body) = server.put(&format!("/v1/accounts/{root}/subscription"), &operator, seats).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let east_admin =
        create_user(&server, &tenant, east, &tenant.admin_type, &[&tenant.admin_role], "eve").await;
    let west_user =
        create_user(&server, &tenant, west, &tenant.user_type, &[&tenant.user_role], "walt").await;
    let token = log_in_as(&server, &tenant, &east_admin, "eve").await;
    let (status, users) = server.get(&format!("/v1/accounts/{east}/users"), &token).await;
    assert_eq!(status, StatusCode::OK, "{users}");
    for path in [
        format!("/v1/accounts/{west}"),
        format!("/v1/accounts/{root}"),
        format!("/v1/accounts/{west}/users"),
        format!("/v1/accounts/{root}/users"),
        format!("/v1/users/{west_user}"),
    ] {
        let (status, problem) = server.get(&path, &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {problem}");
        assert_eq!(problem["code"], "outside_scope", "{path}");
    }
    db
}

async fn r6_a_registered_member_cannot_be_renamed(server: Server, db: Db) -> Db {
    let tenant = server.tenant("acme", 5).await;
    let (status, body) = server
        .patch(
            &format!("/v1/accounts/{}/settings", tenant.account),
            &tenant.token,
            json!({"self_registration": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let registration =
        json!({"account": "acme", "email": "max@customer.example.com", "password": "a member's passphrase"});
    let (status, body) = server.call(Method::POST, "/v1/registrations", None, Some(registration)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (_, found) = server.get(&format!("/v1/accounts/{}/users?q=max", tenant.account), &tenant.token).await;
    let member = found["items"][0].clone();
    assert_eq!(member["origin"], "registration");
    assert_eq!(member["username"], "max@customer.example.com");
    let (status, problem) = server
        .patch(&format!("/v1/users/{}", id(&member)), &tenant.token, json!({"username": "maximilian"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "rename_refused");
    db
}

async fn r8_deleting_is_refused_once_the_user_logged_in(server: Server, db: Db) -> Db {
    let tenant = server.tenant("acme", 5).await;
    let account = &tenant.account;
    let fresh = create_user(&server, &tenant, account, &tenant.user_type, &[&tenant.user_role], "fay").await;
    let active = create_user(&server, &tenant, account, &tenant.user_type, &[&tenant.user_role], "gus").await;
    log_in_as(&server, &tenant, &active, "gus").await;
    let (status, problem) = server.delete(&format!("/v1/users/{active}"), &tenant.token).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "user_has_history");
    assert!(problem["hint"].as_str().unwrap().contains("disable"), "{problem}");
    let (status, body) = server.delete(&format!("/v1/users/{fresh}"), &tenant.token).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = server.get(&format!("/v1/users/{fresh}"), &tenant.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    db
}

async fn r8_disabling_ends_the_sessions(server: Server, db: Db) -> Db {
    let tenant = server.tenant("acme", 5).await;
    let user =
        create_user(&server, &tenant, &tenant.account, &tenant.user_type, &[&tenant.user_role], "hal").await;
    let token = log_in_as(&server, &tenant, &user, "hal").await;
    let (status, me) = server.get("/v1/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (status, _) = server.post(&format!("/v1/users/{user}/disable"), &tenant.token, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = server.get("/v1/me", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    assert_eq!(problem["code"], "unauthenticated");
    db
}

async fn r16_an_admin_set_password_must_be_changed_first(server: Server, db: Db) -> Db {
    let tenant = server.tenant("acme", 5).await;
    let user =
        create_user(&server, &tenant, &tenant.account, &tenant.user_type, &[&tenant.user_role], "ida").await;
    server.post(&format!("/v1/users/{user}/email-verified"), &tenant.token, json!({})).await;
    let (status, set) = server
        .put(&format!("/v1/users/{user}/password"), &tenant.token, json!({"password": "set by the admin 1"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["must_change_password"], true);
    let token = server.login("acme", "ida", "set by the admin 1").await;
    let (status, problem) = server.get("/v1/me", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["code"], "password_change_required");
    let wrong = json!({"current_password": "not the password", "new_password": "ida's own passphrase"});
    let (status, problem) = server.put("/v1/me/password", &token, wrong).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["code"], "wrong_password");
    let change = json!({"current_password": "set by the admin 1", "new_password": "ida's own passphrase"});
    let (status, _) = server.put("/v1/me/password", &token, change).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // R21: changing the password ended the session.
    let (status, _) = server.get("/v1/me", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let token = server.login("acme", "ida", "ida's own passphrase").await;
    let (status, me) = server.get("/v1/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["must_change_password"], false);
    db
}

async fn if_match_refuses_a_stale_edit_with_412(server: Server, db: Db) -> Db {
    let tenant = server.tenant("acme", 5).await;
    let user =
        create_user(&server, &tenant, &tenant.account, &tenant.user_type, &[&tenant.user_role], "jo").await;
    let path = format!("/v1/users/{user}");
    let (status, headers, _) =
        server.call_with_headers(Method::GET, &path, Some(&tenant.token), None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, "\"v0\"");
    let (status, headers, body) = server
        .call_with_headers(
            Method::PATCH,
            &path,
            Some(&tenant.token),
            Some(json!({"first_name": "Joanna"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["etag"], "\"v1\"");
    let (status, _, problem) = server
        .call_with_headers(
            Method::PATCH,
            &path,
            Some(&tenant.token),
            Some(json!({"first_name": "Jo"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{problem}");
    assert_eq!(
        (problem["code"].as_str(), problem["expected_version"].as_u64(), problem["current_version"].as_u64()),
        (Some("version_mismatch"), Some(0), Some(1))
    );
    let (_, user) = server.get(&path, &tenant.token).await;
    assert_eq!(user["first_name"], "Joanna");
    db
}

async fn r14_login_failures_look_alike_and_are_throttled(server: Server, db: Db) -> Db {
    let attempt = |account: &'static str, username: &'static str, password: &'static str| {
        let body = json!({"account": account, "username": username, "password": password});
        server.call_with_headers(Method::POST, "/v1/auth/login", None, Some(body), &[])
    };
    let (status_unknown, _, unknown) = attempt("nowhere", "ghost", "whatever it is").await;
    let (status_wrong, _, wrong) = attempt("default", "admin", "not the password").await;
    assert_eq!(status_unknown, StatusCode::UNAUTHORIZED);
    assert_eq!((status_unknown, &unknown), (status_wrong, &wrong), "failures must look alike");
    for _ in 0..4 {
        let (status, _, _) = attempt("default", "admin", "not the password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // The sixth try within the window is throttled, even with the right password.
    let body = json!({"account": "default", "username": "admin", "password": OPERATOR_PASSWORD});
    let (status, headers, problem) =
        server.call_with_headers(Method::POST, "/v1/auth/login", None, Some(body), &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    assert_eq!(problem["code"], "too_many_attempts");
    assert_eq!(headers["content-type"], "application/problem+json");
    db
}
