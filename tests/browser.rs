//! The invited user's journey in a real browser (Debian's chromium, headless, driven through
//! chromedriver over WebDriver): an administrator invites, the mail's link is opened, a name
//! and password are entered on the hosted page, and the new user logs in through the API. A
//! second visit of the link shows the "already used" page (R11, R13).
//!
//! The browser is the harness's [`Browser`]: without chromium the test says `SKIPPED: browser`
//! and passes, unless `CI=true`, where `.ci/run` installs it.
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;
use usher_e2e::{Browser, Db, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r11_an_invitee_accepts_in_a_browser_logs_in_and_the_used_link_says_so() {
    let Some(browser) = Browser::start("en").await else { return };
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

    let client = &browser.client;

    // The link opens the accept page; the invitee enters a name and a password.
    client.goto(&link).await.unwrap();
    assert_eq!(browser.text("h1").await, "Join acme Inc.");
    let page = client.source().await.unwrap();
    assert!(page.contains("ann@people.example.com"), "the page shows the invited address");
    client.find(Locator::Css("#first_name")).await.unwrap().send_keys("Ann").await.unwrap();
    client.find(Locator::Css("#last_name")).await.unwrap().send_keys("Lee").await.unwrap();
    for field in ["#password", "#password_confirm"] {
        client.find(Locator::Css(field)).await.unwrap().send_keys("ann's long passphrase").await.unwrap();
    }
    client.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    assert_eq!(browser.text("h1").await, "Your account is ready");
    assert!(browser.text("main p").await.contains("ann@people.example.com"));

    // The new user logs in through the API, with the name given on the page.
    let token = server.login("acme", "ann@people.example.com", "ann's long passphrase").await;
    let (status, me) = server.get("/v1/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!((me["first_name"].as_str(), me["last_name"].as_str()), (Some("Ann"), Some("Lee")), "{me}");

    // The same link again: the "already used" page.
    client.goto(&link).await.unwrap();
    assert_eq!(browser.text("h1").await, "This link was already used");
    client.clone().close().await.unwrap();
}
