//! Regressions of the black-box probe (issue 12), one test per numbered finding, each over
//! real HTTP against `usher serve` on SQLite.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_e2e::{Db, Server, Tenant, id};

/// A user of `tenant` in `account` with a verified email and the password `password` set by
/// the administrator (so it must change it, R16), and its id.
async fn user_with_password(
    server: &Server,
    tenant: &Tenant,
    account: &str,
    name: &str,
    roles: &[&str],
    password: &str,
) -> String {
    let email = format!("{name}@{}.example.com", tenant.slug);
    let body = json!({"username": name, "email": email, "user_type": tenant.admin_type, "roles": roles});
    let (status, user) = server.post(&format!("/v1/accounts/{account}/users"), &tenant.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let user = id(&user);
    server.post(&format!("/v1/users/{user}/email-verified"), &tenant.token, json!({})).await;
    let password = json!({"password": password});
    let (status, body) = server.put(&format!("/v1/users/{user}/password"), &tenant.token, password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    user
}

/// The operator (who owns seats, R23) sells the tenant `total` administrator seats.
async fn administrator_seats(server: &Server, tenant: &Tenant, total: u32) {
    let operator = server.operator().await;
    let seats = json!({"seats": [{"user_type": tenant.admin_type, "total": total}]});
    let (status, body) =
        server.put(&format!("/v1/accounts/{}/subscription", tenant.account), &operator, seats).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Logs a user in with the administrator's password and changes it to `own`.
async fn own_password(server: &Server, tenant: &Tenant, name: &str, first: &str, own: &str) -> String {
    let token = server.login(&tenant.slug, name, first).await;
    let change = json!({"current_password": first, "new_password": own});
    let (status, body) = server.put("/v1/me/password", &token, change).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    server.login(&tenant.slug, name, own).await
}

/// Finding 1 (R23): a sub-account administrator writes nothing at the root through its own
/// account id: not the seats, not a role, not a user type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_1_a_sub_account_admin_cannot_rewrite_the_companys_seats_or_catalog() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 2).await;
    let (_, sub) = server
        .post(
            &format!("/v1/accounts/{}/sub-accounts", tenant.account),
            &tenant.token,
            json!({"slug": "acme-east", "name": "East"}),
        )
        .await;
    let sub = id(&sub);
    administrator_seats(&server, &tenant, 5).await;
    user_with_password(&server, &tenant, &sub, "east", &[&tenant.admin_role], "temporary pass 1234").await;
    let token = own_password(&server, &tenant, "east", "temporary pass 1234", "east's own passphrase").await;

    let seats = json!({"seats": [{"user_type": tenant.user_type, "total": 500}]});
    let (status, problem) = server.put(&format!("/v1/accounts/{sub}/subscription"), &token, seats).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("root_level")), "{problem}");
    let role = json!({"name": "Everything", "permissions": ["users:write", "roles:write"]});
    let (status, problem) = server.post(&format!("/v1/accounts/{sub}/roles"), &token, role).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("root_level")), "{problem}");
    let free = json!({"key": "boss", "name": "Boss", "consumes_seat": false, "ceiling": ["users:write"]});
    let (status, problem) = server.post(&format!("/v1/accounts/{sub}/user-types"), &token, free).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::FORBIDDEN, Some("root_level")), "{problem}");
    // The root administrator may not set seats either: they are the operator's.
    let seats = json!({"seats": [{"user_type": tenant.user_type, "total": 500}]});
    let (status, problem) =
        server.put(&format!("/v1/accounts/{}/subscription", tenant.account), &tenant.token, seats).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["code"], "seats_belong_to_operator");
    assert!(
        problem["hint"].as_str().is_some_and(|hint| hint.contains("operator")),
        "the refusal names who may: {problem}"
    );
    let (_, figures) =
        server.get(&format!("/v1/accounts/{}/subscription", tenant.account), &tenant.token).await;
    let user_type = figures["items"].as_array().unwrap().iter().find(|t| t["key"] == "user").unwrap().clone();
    assert_eq!(user_type["total"], 2, "the seats are as the operator left them");
}

/// Finding 2 (R24): a user manager changes nothing of the administrator: password, state,
/// roles, verification, devices, keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_2_a_user_manager_cannot_take_over_an_administrator() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 5).await;
    administrator_seats(&server, &tenant, 5).await;
    let role = json!({"name": "User managers", "permissions": ["users:read", "users:write", "orders:write"]});
    let (_, role) = server.post(&format!("/v1/accounts/{}/roles", tenant.account), &tenant.token, role).await;
    let role = id(&role);
    user_with_password(&server, &tenant, &tenant.account, "manager", &[&role], "temporary pass 1234").await;
    let manager =
        own_password(&server, &tenant, "manager", "temporary pass 1234", "the manager's passphrase").await;
    let (_, me) = server.get("/v1/me", &tenant.token).await;
    let admin = id(&me);
    let (_, key) = server
        .post(
            &format!("/v1/accounts/{}/api-keys", tenant.account),
            &tenant.token,
            json!({"name": "erp", "permissions": ["roles:read"]}),
        )
        .await;
    let key = id(&key["api_key"]);

    let attempts = [
        (
            Method::PUT,
            format!("/v1/users/{admin}/password"),
            Some(json!({"password": "the manager owns you now"})),
        ),
        (Method::POST, format!("/v1/users/{admin}/disable"), None),
        (Method::POST, format!("/v1/users/{admin}/erase"), None),
        (Method::PATCH, format!("/v1/users/{admin}"), Some(json!({"roles": [role]}))),
        (Method::POST, format!("/v1/users/{admin}/email-verified"), None),
        (
            Method::POST,
            format!("/v1/users/{admin}/devices"),
            Some(json!({"name": "Till", "identifier": "till-1"})),
        ),
        (Method::POST, format!("/v1/users/{admin}/password-reset"), None),
        (Method::DELETE, format!("/v1/api-keys/{key}"), None),
    ];
    for (method, path, body) in attempts {
        let (status, problem) = server.call(method.clone(), &path, Some(&manager), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {problem}");
        assert!(
            problem["permissions"].as_array().is_some_and(|p| !p.is_empty()),
            "{method} {path}: {problem}"
        );
    }
    let (status, me) = server.get("/v1/me", &tenant.token).await;
    assert_eq!((status, me["roles"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{me}");
    server.login("acme", &format!("admin@{}.example.com", tenant.slug), usher_e2e::TENANT_PASSWORD).await;
}

/// Finding 3 (R21): registration answers alike for new and existing addresses, and reset
/// requests are throttled per address (in the database).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_3_registration_and_reset_do_not_tell_which_addresses_exist() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 5).await;
    server
        .patch(
            &format!("/v1/accounts/{}/settings", tenant.account),
            &tenant.token,
            json!({"self_registration": true}),
        )
        .await;
    let register =
        |email: &str| json!({"account": "acme", "email": email, "password": "a member's long passphrase"});
    let existing = format!("admin@{}.example.com", tenant.slug);
    let (status_new, body_new) =
        server.call(Method::POST, "/v1/registrations", None, Some(register("new@example.com"))).await;
    let (status_old, body_old) =
        server.call(Method::POST, "/v1/registrations", None, Some(register(&existing))).await;
    assert_eq!((status_new, &body_new), (StatusCode::ACCEPTED, &body_old), "one answer for both");
    assert_eq!(status_old, StatusCode::ACCEPTED);
    let notice = db.mails_to(&existing, "Someone tried to register").await;
    assert!(notice.iter().any(|mail| mail.text.contains("tried to register")), "the owner is told");

    let reset = json!({"account": "acme", "email": "victim@example.com"});
    let mut answers = Vec::new();
    for _ in 0..7 {
        answers.push(server.call(Method::POST, "/v1/password-resets", None, Some(reset.clone())).await.0);
    }
    let accepted = answers.iter().filter(|s| **s == StatusCode::ACCEPTED).count();
    assert_eq!(accepted, 5, "5 per address in 15 minutes: {answers:?}");
    assert_eq!(answers.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
}

/// Finding 4 (R14): failed logins from one source do not lock the user out from another,
/// and the client cannot choose its source through `X-Forwarded-For`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_4_lockout_cannot_be_weaponised() {
    let db = Db::sqlite().await;
    let server = Server::start_with(
        &db,
        &[("USHER_BOOTSTRAP_PASSWORD", usher_e2e::OPERATOR_PASSWORD), ("USHER_TRUSTED_PROXIES", "1")],
    )
    .await;
    let tenant = server.tenant("acme", 5).await;
    let admin = format!("admin@{}.example.com", tenant.slug);
    // One login as the administrator, through a proxy that says the client is `forwarded`.
    let attempt = |password: &'static str, forwarded: &'static str| {
        let body = json!({"account": "acme", "username": admin, "password": password});
        let server = &server;
        async move {
            let headers = [("x-forwarded-for", forwarded)];
            server.call_with_headers(Method::POST, "/v1/auth/login", None, Some(body), &headers).await.0
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt("a wrong guess", "203.0.113.66").await, StatusCode::UNAUTHORIZED);
    }
    // The attacker is held back, whatever it writes on the left of the header.
    assert_eq!(attempt("another guess", "198.51.100.1, 203.0.113.66").await, StatusCode::TOO_MANY_REQUESTS);
    // The administrator, from its own address, logs in.
    let status = attempt(usher_e2e::TENANT_PASSWORD, "192.0.2.10").await;
    assert_eq!(status, StatusCode::OK);
}

/// Finding 5 (R24, R25): a reset link dies when the password is set another way, an email
/// change asks the new address, and a key dies with its creator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_5_tokens_do_not_outlive_what_they_stood_for() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 5).await;
    administrator_seats(&server, &tenant, 5).await;
    let user = user_with_password(
        &server,
        &tenant,
        &tenant.account,
        "keeper",
        &[&tenant.admin_role],
        "temporary pass 1234",
    )
    .await;
    let keeper =
        own_password(&server, &tenant, "keeper", "temporary pass 1234", "the keeper's passphrase").await;
    let (_, key) = server
        .post(
            &format!("/v1/accounts/{}/api-keys", tenant.account),
            &keeper,
            json!({"name": "sync", "permissions": ["users:read"]}),
        )
        .await;
    let secret = key["secret"].as_str().unwrap().to_owned();
    assert_eq!(server.get(&format!("/v1/users/{user}"), &secret).await.0, StatusCode::OK);

    server.post(&format!("/v1/users/{user}/password-reset"), &tenant.token, json!({})).await;
    let link = db.token_mailed_to("keeper@acme.example.com", "Reset your password").await;
    server
        .put(
            &format!("/v1/users/{user}/password"),
            &tenant.token,
            json!({"password": "set by the administrator"}),
        )
        .await;
    let complete = json!({"token": link, "password": "the attacker's passphrase"});
    let (status, problem) =
        server.call(Method::POST, "/v1/password-resets/complete", None, Some(complete)).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::GONE, Some("link_used")), "{problem}");

    let (status, body) = server
        .patch(&format!("/v1/users/{user}"), &tenant.token, json!({"email": "moved@acme.example.com"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let asked = db.mails_to("moved@acme.example.com", "Confirm your email").await;
    assert!(asked.iter().any(|mail| mail.token().is_some()), "the new address gets a verification link");

    server.post(&format!("/v1/users/{user}/disable"), &tenant.token, json!({})).await;
    assert_eq!(
        server.get(&format!("/v1/users/{user}"), &secret).await.0,
        StatusCode::UNAUTHORIZED,
        "the key died with its creator"
    );
}

/// Finding 6: the smaller ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_6_the_smaller_ones_are_closed() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let acme = server.tenant("acme", 5).await;
    let globex = server.tenant("globex", 5).await;
    let (_, foreigner) = server.post(&format!("/v1/accounts/{}/users", globex.account), &globex.token, json!({"email": "f@globex.example.com", "user_type": globex.user_type, "roles": [globex.user_role]})).await;
    let (_, globex_sub) = server
        .post(
            &format!("/v1/accounts/{}/sub-accounts", globex.account),
            &globex.token,
            json!({"slug": "globex-sub", "name": "Sub"}),
        )
        .await;
    let users = format!("/v1/accounts/{}/users", acme.account);
    let body = |extra: Value| {
        let mut body =
            json!({"email": "new@acme.example.com", "user_type": acme.user_type, "roles": [acme.user_role]});
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
            body.extend(extra);
        }
        body
    };
    let (status, problem) =
        server.post(&users, &acme.token, body(json!({"sales_representative": id(&foreigner)}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's sales representative: {problem}");
    let (status, problem) =
        server.post(&users, &acme.token, body(json!({"sub_accounts": [id(&globex_sub)]}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's sub-account reads as a random id: {problem}");
    for spoof in ["\u{430}dmin", "ad\u{200b}min", "admin\u{202e}x", "\u{ff41}dmin"] {
        let (status, problem) = server.post(&users, &acme.token, body(json!({"username": spoof}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{spoof:?}: {problem}");
    }
    let attributes: serde_json::Map<String, Value> = (0..51).map(|n| (format!("a{n}"), json!("x"))).collect();
    let (status, problem) = server.post(&users, &acme.token, body(json!({"attributes": attributes}))).await;
    assert!(status.is_client_error() && status != StatusCode::NOT_FOUND, "51 attributes: {status} {problem}");
    let operator = server.operator().await;
    let account =
        json!({"slug": "zero", "name": "Zero", "admin_email": "a@zero.example.com", "admin_seats": 0});
    let (status, problem) = server.post("/v1/accounts", &operator, account).await;
    assert!(status.is_client_error(), "admin_seats 0: {status} {problem}");
    let (status, headers, _) = server
        .call_with_headers(Method::POST, "/v1/auth/login", None, Some(json!({"account": "acme", "username": "admin@acme.example.com", "password": usher_e2e::TENANT_PASSWORD})), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "a token answer is not cached"
    );
    let (_, problem) = server
        .post(
            &format!("/v1/accounts/{}/roles", acme.account),
            &acme.token,
            json!({"name": "x", "permissions": ["pricing:read"]}),
        )
        .await;
    let role = id(&problem);
    let (_, problem) = server.post(&users, &acme.token, body(json!({"roles": [role]}))).await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(!detail.contains('{') && detail.contains("pricing:read"), "a plain detail: {detail}");
}

/// Finding 7 (R12, R8): members come from registration only, and an erasure reaches the
/// invitations to the address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_7_members_only_by_registration_and_erasure_reaches_invitations() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 5).await;
    let invite = json!({"emails": ["member@example.com"], "user_type": tenant.member_type, "roles": [tenant.user_role]});
    let (status, problem) =
        server.post(&format!("/v1/accounts/{}/invitations", tenant.account), &tenant.token, invite).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("member_type_reserved")),
        "{problem}"
    );

    let invite =
        json!({"emails": ["ingrid@example.com"], "user_type": tenant.user_type, "roles": [tenant.user_role]});
    server.post(&format!("/v1/accounts/{}/invitations", tenant.account), &tenant.token, invite).await;
    let token = db.token_mailed_to("ingrid@example.com", "You are invited").await;
    let accept = json!({"token": token, "password": "ingrid's long passphrase", "first_name": "Ingrid", "last_name": "I"});
    let (status, user) = server.call(Method::POST, "/v1/invitations/accept", None, Some(accept)).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let (status, body) =
        server.post(&format!("/v1/users/{}/erase", id(&user)), &tenant.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, invitations) =
        server.get(&format!("/v1/accounts/{}/invitations", tenant.account), &tenant.token).await;
    assert!(!invitations.to_string().contains("ingrid@example.com"), "{invitations}");
    let (_, mail) = server.get(&format!("/v1/accounts/{}/mail", tenant.account), &tenant.token).await;
    assert!(!mail.to_string().contains("ingrid@example.com"), "{mail}");
}

/// Finding 8 (R16): the password-change gate is the domain's: a user whose password an
/// administrator set may only change it (or log out), on every path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_8_a_user_who_must_change_the_password_may_do_nothing_else() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 5).await;
    administrator_seats(&server, &tenant, 5).await;
    user_with_password(
        &server,
        &tenant,
        &tenant.account,
        "fresh",
        &[&tenant.admin_role],
        "temporary pass 1234",
    )
    .await;
    let token = server.login("acme", "fresh", "temporary pass 1234").await;
    for path in
        ["/v1/me", "/v1/permissions", "/v1/me/sessions", &format!("/v1/accounts/{}/users", tenant.account)]
    {
        let (status, problem) = server.get(path, &token).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("password_change_required")),
            "{path}: {problem}"
        );
    }
    let change = json!({"current_password": "temporary pass 1234", "new_password": "my very own passphrase"});
    let (status, body) = server.put("/v1/me/password", &token, change).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let token = server.login("acme", "fresh", "my very own passphrase").await;
    assert_eq!(server.get("/v1/me", &token).await.0, StatusCode::OK);
}
