//! The server as an operator meets it: the one-time bootstrap line, the operational
//! endpoints, problem+json for whatever the framework refuses, the body limit, JSON logs
//! without secrets, and a graceful stop on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

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
    let cases: [(&str, &'static str, u16, &str); 3] = [
        ("/v1/accounts", "{not json", 400, "bad_request"),
        ("/v1/accounts", "{\"slug\": 5}", 400, "bad_request"),
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
    let link = db.tokens_mailed_to("new@acme.example.com").await.pop().expect("invitation token");
    server.call(Method::GET, &format!("/v1/invitations/lookup?token={link}"), None, None).await;
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
    let mut files = Vec::new();
    for _ in 0..100 {
        files = server.mail_files();
        if files.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(files.len(), 2, "one .eml per invitation");
    for email in emails {
        let eml = files
            .iter()
            .find(|f| f.contains(&format!("To: {email}")))
            .unwrap_or_else(|| panic!("no mail to {email}"));
        let eml = quoted_printable(eml);
        let token = db.tokens_mailed_to(email).await.pop().unwrap();
        assert!(eml.contains(&format!("{}/invite?token={token}", server.base)), "{eml}");
        assert!(eml.contains("Subject: You are invited to acme Inc."), "{eml}");
    }
    // Delivered once: no second copy on later rounds.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(server.mail_files().len(), 2);
}

/// The text of a quoted-printable body (soft line breaks joined, `=XX` decoded).
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
