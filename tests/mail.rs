//! Mail end to end (R20): usher delivers its mail to a real SMTP server over TCP, with links
//! that open the hosted pages; mail waits while the server is down, a refused address ends as
//! failed and is listed; and a server killed mid-send delivers every mail after a restart.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_e2e::smtp::SmtpSink;
use usher_e2e::{Db, Mail, OPERATOR_PASSWORD, Server, Tenant};

async fn smtp_server(db: &Db, url: &str, extra: &[(&str, &str)]) -> Server {
    let mut env = vec![("USHER_BOOTSTRAP_PASSWORD", OPERATOR_PASSWORD), ("USHER_MAIL", url)];
    env.extend_from_slice(extra);
    Server::start_with(db, &env).await
}

/// Waits up to `seconds` for `found` to give a value.
async fn eventually<T>(seconds: u64, what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    for _ in 0..seconds * 10 {
        if let Some(value) = found() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within {seconds} s");
}

async fn mail_to(sink: &SmtpSink, email: &str, nth: usize) -> Mail {
    eventually(30, &format!("mail #{nth} to {email}"), || {
        sink.mails().into_iter().filter(|mail| mail.to == email).nth(nth - 1)
    })
    .await
}

async fn invite(server: &Server, tenant: &Tenant, emails: &[String]) -> Value {
    let body = json!({"emails": emails, "user_type": tenant.user_type, "roles": [tenant.user_role]});
    let (status, outcomes) =
        server.post(&format!("/v1/accounts/{}/invitations", tenant.account), &tenant.token, body).await;
    assert_eq!(status, StatusCode::OK, "{outcomes}");
    outcomes
}

/// The failed mail, once there is some.
async fn failed_mail(server: &Server, tenant: &Tenant) -> Vec<Value> {
    usher_e2e::until("a mail failing", || async {
        let failed = outbox(server, tenant, Some("failed")).await;
        (!failed.is_empty()).then_some(failed)
    })
    .await
}

/// The outbox as the administrator lists it, all pages, optionally in one state.
async fn outbox(server: &Server, tenant: &Tenant, state: Option<&str>) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let filter = state.map(|s| format!("&state={s}")).unwrap_or_default();
        let path = format!("/v1/accounts/{}/mail?limit=200&cursor={cursor}{filter}", tenant.account);
        let (status, page) = server.get(&path, &tenant.token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return items,
        }
    }
}

async fn page(server: &Server, link: &str) -> (StatusCode, String) {
    let response = reqwest::get(link).await.unwrap();
    let status = response.status();
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert!(link.starts_with(&server.base), "{link} is not on {}", server.base);
    (status, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r20_invitation_welcome_verification_and_reset_mail_arrive_over_smtp_with_working_links() {
    let sink = SmtpSink::start().await;
    let db = Db::sqlite().await;
    let server = smtp_server(&db, &sink.url(), &[]).await;
    let tenant = server.tenant("acme", 10).await;

    // Invitation: names the account and the expiry; its link opens the accept page.
    invite(&server, &tenant, &["ann@people.example.com".to_owned()]).await;
    let invitation = mail_to(&sink, "ann@people.example.com", 1).await;
    assert_eq!(invitation.subject, "You are invited to acme Inc.");
    assert!(invitation.text.contains("The link works until "), "{}", invitation.text);
    let link = invitation.link().expect("invitation link");
    assert!(link.starts_with(&format!("{}/invite?token=", server.base)), "{link}");
    let (status, html) = page(&server, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("ann@people.example.com") && html.contains("acme Inc."), "{html}");
    let accept = json!({"token": invitation.token(), "password": "ann's long passphrase"});
    let (status, user) = server.call(Method::POST, "/v1/invitations/accept", None, Some(accept)).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    server.login("acme", "ann@people.example.com", "ann's long passphrase").await;

    // Welcome, in the user's locale (German), with a set-password link.
    let body = json!({
        "email": "bob@people.example.com", "user_type": tenant.user_type, "roles": [tenant.user_role],
        "locale": "de-AT", "send_welcome": true,
    });
    let (status, bob) =
        server.post(&format!("/v1/accounts/{}/users", tenant.account), &tenant.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{bob}");
    let welcome = mail_to(&sink, "bob@people.example.com", 1).await;
    assert_eq!(welcome.subject, "Ihr Konto bob@people.example.com ist bereit");
    let link = welcome.link().expect("welcome link");
    assert!(link.starts_with(&format!("{}/reset?token=", server.base)), "{link}");
    let (status, html) = page(&server, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Set your password"), "{html}");

    // Email verification.
    let bob_id = bob["id"].as_str().unwrap();
    let (status, answer) =
        server.post(&format!("/v1/users/{bob_id}/verification-email"), &tenant.token, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let verification = mail_to(&sink, "bob@people.example.com", 2).await;
    let link = verification.link().expect("verification link");
    assert!(link.starts_with(&format!("{}/verify?token=", server.base)), "{link}");
    let (status, html) = page(&server, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("bob@people.example.com"), "{html}");
    let verify = json!({"token": verification.token()});
    let (status, answer) = server.call(Method::POST, "/v1/email-verifications", None, Some(verify)).await;
    assert!(status.is_success(), "{status} {answer}");

    // Password reset, asked for by the user.
    let ask = json!({"account": "acme", "email": "ann@people.example.com"});
    let (status, _) = server.call(Method::POST, "/v1/password-resets", None, Some(ask)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let reset = mail_to(&sink, "ann@people.example.com", 2).await;
    assert_eq!(reset.subject, "Reset your password");
    let (status, html) = page(&server, &reset.link().expect("reset link")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Choose a new password"), "{html}");
    let complete = json!({"token": reset.token(), "password": "ann's newer passphrase"});
    let (status, answer) =
        server.call(Method::POST, "/v1/password-resets/complete", None, Some(complete)).await;
    assert!(status.is_success(), "{status} {answer}");
    server.login("acme", "ann@people.example.com", "ann's newer passphrase").await;

    // The outbox lists everything as sent, and keeps no token of it.
    let sent = outbox(&server, &tenant, Some("sent")).await;
    let kinds: BTreeSet<&str> = sent.iter().filter_map(|m| m["kind"].as_str()).collect();
    assert!(
        ["invitation", "welcome", "email_verification", "password_reset"].iter().all(|k| kinds.contains(k)),
        "{kinds:?}"
    );
    assert!(sent.iter().all(|m| m["attempts"] == 1 && !m["sent_at"].is_null()), "{sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r20_mail_waits_while_the_smtp_server_is_down_and_a_refused_address_ends_failed_and_listed() {
    // A port where nothing listens yet: the mail server is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let db = Db::sqlite().await;
    let url = format!("smtp://127.0.0.1:{port}");
    let server = smtp_server(&db, &url, &[("USHER_MAIL_RETRY_SECONDS", "1")]).await;
    let tenant = server.tenant("acme", 10).await;
    invite(&server, &tenant, &["kim@people.example.com".to_owned(), "refused@people.example.com".to_owned()])
        .await;

    let waiting = usher_e2e::until("both mails retried while the server is down", || async {
        let waiting = outbox(&server, &tenant, Some("pending")).await;
        let retried = waiting.len() == 2 && waiting.iter().all(|m| m["attempts"].as_u64() >= Some(2));
        retried.then_some(waiting)
    })
    .await;
    for mail in &waiting {
        assert!(mail["attempts"].as_u64() >= Some(2), "retried while down: {mail}");
        assert!(mail["last_error"].as_str().is_some_and(|e| !e.is_empty()), "{mail}");
        assert!(!mail["next_attempt_at"].is_null(), "{mail}");
    }

    // The server comes back: the waiting mail goes out; the refused address fails for good.
    let sink = SmtpSink::start_on(port, Duration::ZERO).await;
    let arrived = mail_to(&sink, "kim@people.example.com", 1).await;
    assert_eq!(arrived.subject, "You are invited to acme Inc.");
    let failed = failed_mail(&server, &tenant).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["to"], "refused@people.example.com");
    assert!(failed[0]["last_error"].as_str().unwrap().contains("550"), "{}", failed[0]);
    assert!(sink.mails().iter().all(|m| m.to != "refused@people.example.com"));

    // An administrator may retry it: it is pending again, with its attempts counted afresh.
    let id = failed[0]["id"].as_str().unwrap();
    let (status, retried) = server.post(&format!("/v1/mail/{id}/retry"), &tenant.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!((retried["state"].as_str(), retried["attempts"].as_u64()), (Some("pending"), Some(0)));
    let (_, metrics) = server.call(Method::GET, "/metrics", None, None).await;
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(metrics.contains("usher_mail_deliveries_total{outcome=\"sent\"} 1"), "{metrics}");
    assert!(metrics.contains("usher_mail_deliveries_total{outcome=\"failed\"} 1"), "{metrics}");
    sink.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r20_a_server_killed_mid_send_delivers_every_invitation_after_restart() {
    const INVITED: usize = 200;
    // Each message takes 20 ms to accept, so the kill lands while the outbox is being sent.
    let sink = SmtpSink::start_on(0, Duration::from_millis(20)).await;
    let db = Db::sqlite().await;
    let lease = [("USHER_MAIL_LEASE_SECONDS", "3")];
    let server = smtp_server(&db, &sink.url(), &lease).await;
    let tenant = server.tenant("acme", u32::try_from(INVITED).unwrap()).await;
    let emails: Vec<String> = (0..INVITED).map(|n| format!("invitee{n}@people.example.com")).collect();
    let outcomes = invite(&server, &tenant, &emails).await;
    assert_eq!(outcomes["counts"]["invited"], INVITED);

    eventually(30, "the first 20 mails", || (sink.mails().len() >= 20).then_some(())).await;
    server.kill();
    let before_restart = sink.mails().len();
    assert!(before_restart < INVITED, "the kill came too late to test anything ({before_restart} sent)");

    let server = smtp_server(&db, &sink.url(), &lease).await;
    let expected: BTreeSet<String> = emails.iter().cloned().collect();
    eventually(90, "every invitation delivered", || {
        let received: BTreeSet<String> = sink.mails().into_iter().map(|m| m.to).collect();
        (received == expected).then_some(())
    })
    .await;
    // At least once: every address got its mail; a copy may repeat only for mail in flight at the kill.
    let duplicates = sink.mails().len() - INVITED;
    assert!(duplicates <= 50, "{duplicates} duplicates: more than one claimed batch was resent");
    let token = server.login("acme", "admin@acme.example.com", usher_e2e::TENANT_PASSWORD).await;
    let tenant = Tenant { token, ..tenant };
    let sent = outbox(&server, &tenant, Some("sent")).await;
    assert_eq!(sent.len(), INVITED, "every mail is marked sent");
    let (status, invitations) = server
        .get(&format!("/v1/accounts/{}/invitations?state=pending&limit=200", tenant.account), &tenant.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(invitations["items"].as_array().unwrap().len(), INVITED, "no invitation was lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r20_usher_dispatch_delivers_for_servers_started_without_a_dispatcher() {
    let sink = SmtpSink::start().await;
    let db = Db::sqlite().await;
    let server = smtp_server(&db, &sink.url(), &[("USHER_NO_DISPATCHER", "true")]).await;
    let tenant = server.tenant("acme", 5).await;
    invite(&server, &tenant, &["lou@people.example.com".to_owned()]).await;
    assert_eq!(outbox(&server, &tenant, Some("pending")).await.len(), 1);

    let mut dispatcher = std::process::Command::new(usher_e2e::usher_binary())
        .arg("dispatch")
        .env("USHER_DATABASE_URL", &db.url)
        .env("USHER_MAIL", sink.url())
        .env("USHER_PUBLIC_URL", &server.base)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start usher dispatch");
    let mail = mail_to(&sink, "lou@people.example.com", 1).await;
    let _ = dispatcher.kill();
    let _ = dispatcher.wait();
    assert!(mail.link().is_some_and(|link| link.starts_with(&format!("{}/invite?token=", server.base))));
    // The separate dispatcher delivered it; the server, started without one, sent nothing.
    let metrics = server.metrics().await;
    assert!(!metrics.contains("usher_mail_deliveries_total{outcome=\"sent\"} 1"), "{metrics}");
    let sent = usher_e2e::until("the mail marked sent", || async {
        let sent = outbox(&server, &tenant, Some("sent")).await;
        (!sent.is_empty()).then_some(sent)
    })
    .await;
    assert_eq!((sent.len(), sent[0]["attempts"].as_u64()), (1, Some(1)), "one attempt, the dispatcher's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r20_smtp_credentials_from_the_url_are_used_and_refused_ones_fail_the_mail() {
    let sink = SmtpSink::start_with_login("usher", "s3cret:/@").await;
    let db = Db::sqlite().await;
    // The password is percent-encoded in the URL.
    let url = format!("smtp://usher:s3cret%3A%2F%40@127.0.0.1:{}", sink.port);
    let server = smtp_server(&db, &url, &[]).await;
    let tenant = server.tenant("acme", 5).await;
    invite(&server, &tenant, &["max@people.example.com".to_owned()]).await;
    mail_to(&sink, "max@people.example.com", 1).await;
    drop(server);

    let wrong = format!("smtp://usher:guess@127.0.0.1:{}", sink.port);
    let server = smtp_server(&db, &wrong, &[]).await;
    let token = server.login("acme", "admin@acme.example.com", usher_e2e::TENANT_PASSWORD).await;
    let tenant = Tenant { token, ..tenant };
    invite(&server, &tenant, &["mia@people.example.com".to_owned()]).await;
    let found = failed_mail(&server, &tenant).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0]["last_error"].as_str().unwrap().contains("535"), "{}", found[0]);
    assert!(!found[0]["last_error"].as_str().unwrap().contains("guess"), "the password is not shown");
}
