//! The server as an operator meets it: the one-time bootstrap line, the operational
//! endpoints, problem+json for whatever the framework refuses, the body limit, JSON logs
//! without secrets, and a graceful stop on SIGTERM.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_e2e::{Db, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_prints_the_operator_password_once_and_it_logs_in() {
    let db = Db::sqlite().await;
    let server = Server::start_with(&db, &[]).await;
    let line = server.stdout.iter().find(|l| l.starts_with("bootstrap:")).expect("bootstrap line").clone();
    let password = line.strip_prefix("bootstrap: account=default username=admin password=").expect(&line);
    assert!(password.len() >= 20, "{line}");
    server.login("default", "admin", password).await;
    assert!(!server.logs().contains(password), "the password must not be logged");
    drop(server);
    // A second start over the same database creates nobody and prints no password.
    let again = Server::start_with(&db, &[]).await;
    assert!(again.stdout.iter().all(|l| !l.starts_with("bootstrap:")), "{:?}", again.stdout);
    again.login("default", "admin", password).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operational_endpoints_answer() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let (status, health) = server.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((status, health), (StatusCode::OK, json!({"status": "ok"})));
    let (status, _) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, spec) = server.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        spec["paths"]["/v1/accounts/{account_id}/users"]["get"].is_object(),
        "the spec lists the user list"
    );
    let (status, _) = server.call(Method::GET, "/docs", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, metrics) = server.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let metrics = metrics.as_str().expect("text");
    assert!(
        metrics.contains("usher_http_requests_total{method=\"GET\",operation=\"healthz\",status=\"200\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_framework_refuses_is_problem_json_too() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let token = server.operator().await;
    let client = reqwest::Client::new();
    let post = |path: &str, body: &'static str| {
        client
            .post(format!("{}{path}", server.base))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // What the spec declares is what the server checks: a slug pattern, a name's length.
    let too_long = Box::leak(
        format!("{{\"slug\": \"acme\", \"name\": \"{}\", \"admin_email\": \"a@b.co\"}}", "n".repeat(201))
            .into_boxed_str(),
    );
    let cases: [(&str, &'static str, u16, &str); 5] = [
        ("/v1/accounts", "{not json", 400, "bad_request"),
        ("/v1/accounts", "{\"slug\": 5}", 400, "bad_request"),
        (
            "/v1/accounts",
            "{\"slug\": \"-acme\", \"name\": \"Acme\", \"admin_email\": \"a@b.co\"}",
            400,
            "bad_request",
        ),
        ("/v1/accounts", too_long, 400, "bad_request"),
        ("/v1/nowhere", "{}", 404, "not_found"),
    ];
    for (path, body, status, code) in cases {
        let response = post(path, body).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path} {body}");
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{path} {body}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], code, "{problem}");
    }
    let (status, problem) = server.call(Method::GET, "/v1/users/not-a-uuid", Some(&token), None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request")),
        "{problem}"
    );
    // An If-Match the framework cannot read is refused, not taken as absent.
    let response = client
        .patch(format!("{}/v1/me", server.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("if-match", reqwest::header::HeaderValue::from_bytes(b"\xc2\x84").unwrap())
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "bad_request", "{problem}");
    let (status, problem) = server.call(Method::GET, "/v1/me", None, None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
        "{problem}"
    );
    let (status, problem) = server.call(Method::GET, "/v1/me", Some("uss_forged"), None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
        "{problem}"
    );
    // A small limit, so the whole body is on the wire before the refusal.
    let limited = Server::start_with(
        &db,
        &[("USHER_BOOTSTRAP_PASSWORD", usher_e2e::OPERATOR_PASSWORD), ("USHER_MAX_BODY_BYTES", "1000")],
    )
    .await;
    let huge = format!("{{\"emails\": [\"{}\"]}}", "a".repeat(2000));
    let response = client
        .post(format!("{}/v1/accounts/00000000-0000-0000-0000-000000000000/invitations", limited.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        (problem["code"].as_str(), problem["limit"].as_u64()),
        (Some("payload_too_large"), Some(1000))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_no_secret_and_sigterm_stops_gracefully() {
    let db = Db::sqlite().await;
    let server = Server::start_with(
        &db,
        &[("USHER_BOOTSTRAP_PASSWORD", usher_e2e::OPERATOR_PASSWORD), ("USHER_LOG_FORMAT", "json")],
    )
    .await;
    let token = server.operator().await;
    let tenant = server.tenant("acme", 2).await;
    let invite = json!({"emails": ["new@acme.example.com"], "user_type": tenant.user_type, "roles": [tenant.user_role]});
    server.post(&format!("/v1/accounts/{}/invitations", tenant.account), &tenant.token, invite).await;
    let link = db.token_mailed_to("new@acme.example.com", "You are invited").await;
    server.call(Method::GET, &format!("/v1/invitations/lookup?token={link}"), None, None).await;
    // The hosted page of the link, too: its address carries the token.
    let page = reqwest::get(format!("{}/invite?token={link}", server.base)).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let logs = server.logs();
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 5, "{logs}");
    for line in &lines {
        serde_json::from_str::<Value>(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
    }
    for secret in
        [token.as_str(), &tenant.token, &link, usher_e2e::OPERATOR_PASSWORD, usher_e2e::TENANT_PASSWORD]
    {
        assert!(!logs.contains(secret), "a secret was logged");
    }
    let status = server.terminate();
    assert!(status.success(), "usher exited with {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r20_queued_mail_is_written_as_eml_files_with_the_link() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 5).await;
    let emails = ["one@acme.example.com", "two@acme.example.com"];
    let invite = json!({"emails": emails, "user_type": tenant.user_type, "roles": [tenant.user_role]});
    let (status, _) =
        server.post(&format!("/v1/accounts/{}/invitations", tenant.account), &tenant.token, invite).await;
    assert_eq!(status, StatusCode::OK);
    for email in emails {
        let mails = db.mails_to(email, "You are invited").await;
        let token = mails[0].token().expect("a link with a token");
        assert_eq!(mails[0].link(), Some(format!("{}/invite?token={token}", server.base)));
        assert_eq!(mails[0].subject, "You are invited to acme Inc.");
        assert!(
            mails[0].html.contains(&format!("href=\"{}/invite?token={token}\"", server.base)),
            "{}",
            mails[0].html
        );
    }
    // Delivered once: both are marked sent, which keeps later rounds from sending them again,
    // and each was written once.
    let path = format!("/v1/accounts/{}/mail?state=sent", tenant.account);
    usher_e2e::until("both invitations marked sent", || async {
        let (_, page) = server.get(&path, &tenant.token).await;
        (page["items"].as_array().map_or(0, Vec::len) == 2).then_some(())
    })
    .await;
    assert_eq!(db.mails().len(), 2);
    let metrics = server.metrics().await;
    assert!(metrics.contains("usher_mail_deliveries_total{outcome=\"sent\"} 2"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_forms_refuse_posts_without_their_csrf_cookie_or_from_another_site() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let client = reqwest::Client::new();
    let forgot = client.get(format!("{}/forgot", server.base)).send().await.unwrap();
    assert_eq!(forgot.status(), StatusCode::OK);
    let cookie = forgot.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let csp = forgot.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let value = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
    let form = [("csrf", value.as_str()), ("account", "acme"), ("email", "nobody@example.com")];
    let post = |cookie: Option<String>, site: &'static str| {
        let mut request =
            client.post(format!("{}/forgot", server.base)).form(&form).header("sec-fetch-site", site);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    let answered = post(Some(format!("usher_csrf={value}")), "same-origin").await.unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    assert!(answered.text().await.unwrap().contains("Check your mail"));
    assert_eq!(post(None, "same-origin").await.unwrap().status(), StatusCode::FORBIDDEN, "no cookie");
    let other = post(Some("usher_csrf=0123456789abcdef0123456789abcdef".to_owned()), "same-origin");
    assert_eq!(other.await.unwrap().status(), StatusCode::FORBIDDEN, "another cookie");
    let cross = post(Some(format!("usher_csrf={value}")), "cross-site");
    assert_eq!(cross.await.unwrap().status(), StatusCode::FORBIDDEN, "from another site");
    // Finding 6: a cookie and field we did not sign (tossed in from a sibling domain) and a
    // foreign Origin are refused too.
    let forged = "0123456789abcdef0123456789abcdef.99999999999.00";
    let forged_form = [("csrf", forged), ("account", "acme"), ("email", "nobody@example.com")];
    let refused = client
        .post(format!("{}/forgot", server.base))
        .form(&forged_form)
        .header("sec-fetch-site", "same-origin")
        .header("cookie", format!("usher_csrf={forged}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "an unsigned cookie");
    let foreign = client
        .post(format!("{}/forgot", server.base))
        .form(&form)
        .header("cookie", format!("usher_csrf={value}"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN, "a foreign Origin");
    let unknown = client.get(format!("{}/reset?token=nonsense", server.base)).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.text().await.unwrap().contains("This link is not valid"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changes_with_a_stale_if_match_answer_412() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 2).await;
    let path = format!("/v1/accounts/{}/settings", tenant.account);
    let (status, headers, _) =
        server.call_with_headers(Method::GET, &path, Some(&tenant.token), None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let patch = |if_match: &str| {
        let headers = [("if-match", if_match.to_owned())];
        let (server, path, token) = (&server, path.clone(), tenant.token.clone());
        async move {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            server
                .call_with_headers(
                    Method::PATCH,
                    &path,
                    Some(&token),
                    Some(json!({"self_registration": true})),
                    &headers,
                )
                .await
        }
    };
    let (status, headers, body) = patch(&etag).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(headers["etag"].to_str().unwrap(), etag, "the change moved the ETag");
    for stale in [etag.as_str(), "\"s0000000000000000\""] {
        let (status, _, problem) = patch(stale).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{stale}: {problem}");
        assert_eq!(problem["code"], "version_mismatch");
    }
    // Not an ETag this server issues: the spec's pattern refuses it.
    let (status, _, problem) = patch("garbage").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request")),
        "{problem}"
    );
}
