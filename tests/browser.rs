//! The invited user's journey in a real browser (Debian's chromium, headless, driven through
//! chromedriver over WebDriver): an administrator invites, the mail's link is opened, a name
//! and password are entered on the hosted page, and the new user logs in through the API. A
//! second visit of the link shows the "already used" page (R11, R13).
//!
//! chromedriver is found on the PATH (or at `USHER_CHROMEDRIVER`, chromium at
//! `USHER_CHROMIUM`); without it the test says `SKIPPED: browser` and passes, unless
//! `CI=true`, where `.ci/run` installs both.
#![allow(clippy::print_stderr, clippy::disallowed_methods, reason = "tests read their environment")]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::StatusCode;
use serde_json::json;
use usher_e2e::{Db, Server};

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| PathBuf::from(dir).join(name))
        .find(|p| p.exists())
}

/// chromedriver and chromium, or `None` (after saying so) when absent and not required.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let driver =
        std::env::var_os("USHER_CHROMEDRIVER").map(PathBuf::from).or_else(|| on_path("chromedriver"));
    let chromium = std::env::var_os("USHER_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| on_path("chromium"))
        .or_else(|| on_path("chromium-browser"));
    match (driver, chromium) {
        (Some(driver), Some(chromium)) => Some((driver, chromium)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but chromium or chromedriver is missing; .ci/run installs them")
        }
        _ => {
            eprintln!("SKIPPED: browser: chromium and chromedriver are not installed");
            None
        }
    }
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn text_of(client: &fantoccini::Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r11_an_invitee_accepts_in_a_browser_logs_in_and_the_used_link_says_so() {
    let Some((driver_path, chromium)) = browser() else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _driver = Driver(
        Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 5).await;

    // The administrator invites; the mail arrives with its link.
    let body = json!({"emails": ["ann@people.example.com"], "user_type": tenant.user_type, "roles": [tenant.user_role]});
    let (status, _) =
        server.post(&format!("/v1/accounts/{}/invitations", tenant.account), &tenant.token, body).await;
    assert_eq!(status, StatusCode::OK);
    let link = db.mails_to("ann@people.example.com", "You are invited").await[0]
        .link()
        .expect("the invitation's link");

    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        }),
    );
    let mut client = None;
    for _ in 0..50 {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(connected) => {
                client = Some(connected);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let client = client.expect("chromedriver answers");

    // The link opens the accept page; the invitee enters a name and a password.
    client.goto(&link).await.unwrap();
    assert_eq!(text_of(&client, "h1").await, "Join acme Inc.");
    let page = client.source().await.unwrap();
    assert!(page.contains("ann@people.example.com"), "the page shows the invited address");
    client.find(Locator::Css("#first_name")).await.unwrap().send_keys("Ann").await.unwrap();
    client.find(Locator::Css("#last_name")).await.unwrap().send_keys("Lee").await.unwrap();
    for field in ["#password", "#password_confirm"] {
        client.find(Locator::Css(field)).await.unwrap().send_keys("ann's long passphrase").await.unwrap();
    }
    client.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    assert_eq!(text_of(&client, "h1").await, "Your account is ready");
    assert!(text_of(&client, "main p").await.contains("ann@people.example.com"));

    // The new user logs in through the API, with the name given on the page.
    let token = server.login("acme", "ann@people.example.com", "ann's long passphrase").await;
    let (status, me) = server.get("/v1/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!((me["first_name"].as_str(), me["last_name"].as_str()), (Some("Ann"), Some("Lee")), "{me}");

    // The same link again: the "already used" page.
    client.goto(&link).await.unwrap();
    assert_eq!(text_of(&client, "h1").await, "This link was already used");
    client.close().await.unwrap();
}
