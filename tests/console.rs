//! The admin console at `/console`, against the built `usher` binary: the session cookie and
//! its binding, CSRF, the security headers (over HTTP), and the seeds' stories in headless
//! Chromium, each screen checked with axe-core and saved as a screenshot under
//! `target/console-screenshots/`.
//!
//! axe-core comes from its npm package, which `cargo xtask test` installs under `target/axe`
//! (or `USHER_AXE` names `axe.min.js`); without it the stories say `SKIPPED: axe-core` and run
//! without the check, unless `CI=true`.

#![allow(clippy::print_stderr, clippy::disallowed_methods, reason = "tests read their environment")]

use std::path::PathBuf;

use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_e2e::{Browser, Db, Server, TENANT_PASSWORD, Tenant, Visitor, id, until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r13_r14_console_sign_in_is_a_strict_cookie_bound_to_the_console_and_forms_need_their_token() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 5).await;
    let admin = format!("admin@{}.example.com", tenant.slug);
    let mut browser = Visitor::new(&server);

    // Signed out, the console sends the browser to sign in.
    let page = browser.get("/console/users").await;
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/console/sign-in"));
    let page = browser.get("/console/sign-in").await;
    assert_eq!(page.status, StatusCode::OK);
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    let csrf = page.csrf();
    let fields = |csrf: &str, password: &str| -> Vec<(String, String)> {
        [("csrf", csrf), ("account", "acme"), ("username", admin.as_str()), ("password", password)]
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    };

    // Without the form's token, or sent cross-site, the sign-in is refused before any check.
    let good = fields(&csrf, TENANT_PASSWORD);
    let tokenless = fields("", TENANT_PASSWORD);
    let page = browser.post("/console/sign-in", &refs(&tokenless)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    let cross = [("sec-fetch-site", "cross-site")];
    let page = browser.send(Method::POST, "/console/sign-in", Some(&refs(&good)), &cross).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.set_cookie("usher_console").is_none());

    // A wrong password reads as every failure does (R14).
    let page = browser.post("/console/sign-in", &refs(&fields(&csrf, "wrong password!"))).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("The account, username or password is wrong"), "{}", page.body);

    // Signed in: a console token in a strict cookie.
    let page = browser.post("/console/sign-in", &refs(&good)).await;
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/console/users"), "{}", page.body);
    let cookie = page.set_cookie("usher_console").expect("the session cookie");
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Strict", "; Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let console_token = browser.cookie("usher_console").unwrap();
    assert!(console_token.starts_with("usc_"), "{console_token}");
    let page = browser.get("/console/users").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&admin), "the list shows the administrator");

    // The cookie is no bearer token, and a bearer token opens no console.
    let (status, _) = server.get("/v1/me", &console_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a console cookie used as a bearer token");
    let mut with_bearer = Visitor::new(&server);
    with_bearer.cookies.push(("usher_console".to_owned(), tenant.token.clone()));
    let page = with_bearer.get("/console/users").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "a bearer token used as the console's cookie");
    assert!(page.location().starts_with("/console/sign-in"));

    // An action posted without the form's token changes nothing.
    let clerk = create_user(&server, &tenant, "clerk", None).await;
    let page = browser.post(&format!("/console/users/{clerk}/disable"), &[("csrf", "")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = browser
        .send(Method::POST, &format!("/console/users/{clerk}/disable"), Some(&[("csrf", &csrf)]), &cross)
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let (_, user) = server.get(&format!("/v1/users/{clerk}"), &tenant.token).await;
    assert_eq!(user["state"], "active", "{user}");
    // With it, the use case runs as the signed-in administrator.
    let page = browser.post(&format!("/console/users/{clerk}/disable"), &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let (_, user) = server.get(&format!("/v1/users/{clerk}"), &tenant.token).await;
    assert_eq!(user["state"], "disabled", "{user}");

    // Sign-out ends the session, not just the cookie.
    let page = browser.post("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let mut replay = Visitor::new(&server);
    replay.cookies.push(("usher_console".to_owned(), console_token));
    let page = replay.get("/console/users").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "the old cookie after sign-out");
    db.drop_database().await;
}

fn refs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

async fn create_user(server: &Server, tenant: &Tenant, name: &str, locale: Option<&str>) -> String {
    create_user_in(server, tenant, &tenant.account, (&tenant.user_type, &tenant.user_role), name, locale)
        .await
}

async fn create_user_in(
    server: &Server,
    tenant: &Tenant,
    account: &str,
    (user_type, role): (&str, &str),
    name: &str,
    locale: Option<&str>,
) -> String {
    let body = json!({
        "username": name,
        "email": format!("{name}@{}.example.com", tenant.slug),
        "first_name": name,
        "last_name": "Tester",
        "user_type": user_type,
        "roles": [role],
        "locale": locale,
    });
    let (status, user) = server.post(&format!("/v1/accounts/{account}/users"), &tenant.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    id(&user)
}

/// Gives a user a verified email and a password of its own (changed once, as R16 asks).
async fn give_password(server: &Server, tenant: &Tenant, user: &str, username: &str, password: &str) {
    let (status, body) =
        server.post(&format!("/v1/users/{user}/email-verified"), &tenant.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let temporary = json!({"password": "temporary pass 1234"});
    let (status, body) = server.put(&format!("/v1/users/{user}/password"), &tenant.token, temporary).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = server.login(&tenant.slug, username, "temporary pass 1234").await;
    let change = json!({"current_password": "temporary pass 1234", "new_password": password});
    let (status, body) = server.put("/v1/me/password", &first, change).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// axe-core's `axe.min.js`: `USHER_AXE`, else where `cargo xtask test` installs it.
fn axe_source() -> Option<String> {
    let path = std::env::var_os("USHER_AXE").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/axe/node_modules/axe-core/axe.min.js")
    });
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but axe-core is missing at {}; cargo xtask test installs it", path.display())
        }
        Err(_) => {
            eprintln!("SKIPPED: axe-core: {} is missing; the stories run without it", path.display());
            None
        }
    }
}

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots")
}

/// One story's screens: each is checked by axe-core (no serious or critical violation) and
/// saved as `target/console-screenshots/<story>-<n>-<name>.png`.
struct Screens<'b> {
    browser: &'b Browser,
    story: &'static str,
    axe: Option<String>,
    shots: u32,
}

impl<'b> Screens<'b> {
    /// The screens of `story`, its screenshots of an earlier run removed.
    fn new(browser: &'b Browser, story: &'static str) -> Screens<'b> {
        if let Ok(entries) = std::fs::read_dir(screenshots()) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&format!("{story}-")) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Screens { browser, story, axe: axe_source(), shots: 0 }
    }

    async fn check(&mut self, name: &str) {
        let client = &self.browser.client;
        if let Some(axe) = &self.axe {
            client.execute(axe, vec![]).await.unwrap();
            let script = "const done = arguments[arguments.length - 1];
                axe.run(document, {resultTypes: ['violations']}).then(result => done(result.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))));";
            let violations: Value = client.execute_async(script, vec![]).await.unwrap();
            assert_eq!(violations, json!([]), "axe-core on {} ({name})", self.story);
        }
        self.shots += 1;
        let folder = screenshots();
        std::fs::create_dir_all(&folder).unwrap();
        let png = client.screenshot().await.unwrap();
        std::fs::write(folder.join(format!("{}-{:02}-{name}.png", self.story, self.shots)), png).unwrap();
    }
}

/// Waits until the first element `css` finds contains `expected` (a page after a click may
/// still be the one before it).
async fn see(browser: &Browser, css: &str, expected: &str) {
    until(&format!("{css} showing {expected:?}"), || async {
        let element = browser.client.find(Locator::Css(css)).await.ok()?;
        element.text().await.ok().filter(|text| text.contains(expected)).map(drop)
    })
    .await;
}

async fn fill(browser: &Browser, css: &str, text: &str) {
    let field = browser.client.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(browser: &Browser, css: &str) {
    browser.client.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

/// A keyboard walk of the page at `path`: Tab from the top reaches every control in document
/// order (no control skipped, none out of order), the skip link first, and each shows a
/// visible focus ring when reached.
async fn keyboard_walk(browser: &Browser, server: &Server, path: &str) {
    browser.client.goto(&format!("{}{path}", server.base)).await.unwrap();
    let label = "const label = e => e.id || e.getAttribute('aria-label') || e.getAttribute('href')
        || (e.name + '=' + e.value);";
    let controls: Value = browser
        .client
        .execute(
            &format!(
                "{label} return [...document.querySelectorAll(
                    'a[href], button, input:not([type=hidden]), select, textarea')]
                    .filter(e => !e.disabled && e.getClientRects().length > 0).map(label);"
            ),
            vec![],
        )
        .await
        .unwrap();
    let controls = controls.as_array().unwrap().clone();
    assert!(controls.len() > 3, "{path} has controls: {controls:?}");
    let mut visited = Vec::new();
    for _ in &controls {
        let tab = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: Key::Tab.into() })
            .then(KeyAction::Up { value: Key::Tab.into() });
        browser.client.perform_actions(tab).await.unwrap();
        let focused: Value = browser
            .client
            .execute(
                &format!(
                    "{label} const e = document.activeElement; const s = getComputedStyle(e);
                    return [label(e), s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2];"
                ),
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(focused[1], json!(true), "{path}: {} shows no focus ring", focused[0]);
        visited.push(focused[0].clone());
    }
    assert_eq!(visited.first().and_then(Value::as_str), Some("#main"), "{path}: the skip link comes first");
    assert_eq!(visited, controls, "{path}: the keyboard visits every control in order");
}

async fn sign_in(browser: &Browser, server: &Server, username: &str, password: &str) {
    browser.client.goto(&format!("{}/console", server.base)).await.unwrap();
    fill(browser, "#account", "acme").await;
    fill(browser, "#username", username).await;
    fill(browser, "#password", password).await;
    click(browser, "form button[type=submit]").await;
}

/// POS, Security / Users: the administrator finds a clerk, sends the verification mail and
/// deactivates the clerk (R8), each behind a confirmation; a second clerk whose password the
/// administrator set must change it on first sign-in (R16), in German, the clerk's locale, and
/// then sees only what a clerk may (R19).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r8_r16_pos_story_an_admin_manages_clerks_in_the_console() {
    let Some(browser) = Browser::start("en").await else { return };
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 5).await;
    let clerk = create_user(&server, &tenant, "clerk", None).await;
    create_user(&server, &tenant, "cashier", None).await;
    let mut screens = Screens::new(&browser, "pos");

    sign_in(&browser, &server, "unknown", "nobody's password").await;
    see(&browser, "[role=alert]", "The account, username or password is wrong").await;
    screens.check("sign-in-failed").await;
    sign_in(&browser, &server, &format!("admin@{}.example.com", tenant.slug), TENANT_PASSWORD).await;
    see(&browser, "h1", "Users").await;
    screens.check("users").await;

    // The search narrows the list as it is typed (htmx), and works as a plain form too.
    fill(&browser, "#q", "cle").await;
    until("the list narrows to the clerk", || async {
        let rows = browser.client.find_all(Locator::Css("#results tbody tr")).await.ok()?;
        let text = browser.client.find(Locator::Css("#results")).await.ok()?.text().await.ok()?;
        (rows.len() == 1 && text.contains("clerk")).then_some(())
    })
    .await;
    screens.check("users-search").await;
    click(&browser, "#results tbody a").await;
    see(&browser, "h1", "User clerk").await;
    screens.check("user").await;

    // Edit: the clerk's username is its id in the POS, so renaming needs an acknowledgement (R6).
    let link = json!({"external_ids": {"erp_salesperson": "clerk"}});
    let (status, body) = server.patch(&format!("/v1/users/{clerk}"), &tenant.token, link).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    click(&browser, &format!("a[href='/console/users/{clerk}/edit']")).await;
    see(&browser, "h1", "Edit clerk").await;
    see(&browser, "#username-linked", "renaming breaks those links").await;
    fill(&browser, "#username", "clerk.one").await;
    fill(&browser, "#first_name", "Clara").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "#username-error", "Tick “Rename anyway”").await;
    screens.check("edit-rename-guard").await;
    click(&browser, "#acknowledge").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The changes were saved.").await;
    see(&browser, "h1", "User clerk.one").await;
    // A form made before someone else's change is refused, not applied over it (If-Match).
    click(&browser, &format!("a[href='/console/users/{clerk}/edit']")).await;
    see(&browser, "h1", "Edit clerk.one").await;
    let meanwhile = json!({"last_name": "Changed-elsewhere"});
    let (status, body) = server.patch(&format!("/v1/users/{clerk}"), &tenant.token, meanwhile).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    fill(&browser, "#first_name", "Clarissa").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "[role=alert]", "Someone changed this meanwhile").await;
    let (_, user) = server.get(&format!("/v1/users/{clerk}"), &tenant.token).await;
    assert_eq!((user["first_name"].as_str(), user["username"].as_str()), (Some("Clara"), Some("clerk.one")));

    // Edit password: the clerk must change it at the next sign-in (R16).
    browser.client.goto(&format!("{}/console/users/{clerk}/password", server.base)).await.unwrap();
    see(&browser, "h1", "Set a password for clerk.one").await;
    screens.check("set-password").await;
    fill(&browser, "#password", "a clerk's passphrase").await;
    fill(&browser, "#again", "a clerk's passphrase").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The password was set.").await;
    let (_, user) = server.get(&format!("/v1/users/{clerk}"), &tenant.token).await;
    assert_eq!(user["must_change_password"], true, "{user}");

    click(&browser, &format!("a[href='/console/users/{clerk}/send-verification']")).await;
    see(&browser, "h1", "Confirm: Send verification email").await;
    screens.check("confirm-verification").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The verification email is on its way.").await;
    let mails = db.mails_to("clerk@acme.example.com", "Confirm").await;
    assert!(!mails.is_empty(), "the verification mail was queued and sent");

    click(&browser, &format!("a[href='/console/users/{clerk}/disable']")).await;
    see(&browser, "main p", "their seat is freed").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The user was deactivated.").await;
    screens.check("user-deactivated").await;
    // The clerk's history, opened from the clerk's page, and the verification mail's delivery.
    click(&browser, "main a[href^='/console/audit']").await;
    see(&browser, "h1", "Audit log").await;
    see(&browser, "#events", "user.disabled").await;
    see(&browser, "#events", "user.verification_sent").await;
    // Only the clerk's events, each naming the clerk by name and linking to the clerk.
    for cell in browser.client.find_all(Locator::Css("#events tbody td:nth-child(4) a")).await.unwrap() {
        assert_eq!(cell.text().await.unwrap(), "Clara Changed-elsewhere", "only the clerk's events");
        let href = cell.attr("href").await.unwrap();
        assert_eq!(href, Some(format!("/console/users/{clerk}")));
    }
    let named = browser.client.find_all(Locator::Css("#events tbody td:nth-child(4) a")).await.unwrap().len();
    let lines = browser.client.find_all(Locator::Css("#events tbody tr")).await.unwrap().len();
    assert_eq!(named, lines, "every line's target is the clerk, by name");
    screens.check("history").await;
    click(&browser, "nav a[href='/console/mail']").await;
    see(&browser, "#mails", "clerk@acme.example.com").await;
    screens.check("mail").await;
    browser.client.goto(&format!("{}/console/users?tab=deactivated", server.base)).await.unwrap();
    see(&browser, "#results", "clerk").await;
    screens.check("users-deactivated").await;

    // At 360 px wide nothing but a table's own scroller overflows; the keyboard walks the
    // users list and the user form in order, with focus always visible.
    browser.client.set_window_size(360, 800).await.unwrap();
    for path in [
        "/console/users".to_owned(),
        format!("/console/users/{clerk}"),
        format!("/console/users/{clerk}/edit"),
    ] {
        browser.client.goto(&format!("{}{path}", server.base)).await.unwrap();
        let width: Value =
            browser.client.execute("return document.documentElement.scrollWidth;", vec![]).await.unwrap();
        assert!(width.as_u64().is_some_and(|w| w <= 360), "{path} is {width} px wide at 360");
        screens.check("narrow").await;
    }
    browser.client.set_window_size(1280, 900).await.unwrap();
    for path in ["/console/users".to_owned(), format!("/console/users/{clerk}/edit")] {
        keyboard_walk(&browser, &server, &path).await;
    }

    // R16 in German: an administrator-set password is changed on first sign-in.
    let ida = create_user(&server, &tenant, "ida", Some("de-DE")).await;
    let (status, body) = server
        .put(&format!("/v1/users/{ida}/password"), &tenant.token, json!({"password": "temporary pass 1"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) =
        server.post(&format!("/v1/users/{ida}/email-verified"), &tenant.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    click(&browser, "header form button").await;
    see(&browser, "main .notice", "You are signed out.").await;
    sign_in(&browser, &server, "ida", "temporary pass 1").await;
    see(&browser, "h1", "Passwort ändern").await;
    screens.check("password-forced-de").await;
    browser.client.goto(&format!("{}/console/users", server.base)).await.unwrap();
    see(&browser, "h1", "Passwort ändern").await;
    fill(&browser, "#current", "temporary pass 1").await;
    fill(&browser, "#new", "ida's own passphrase").await;
    fill(&browser, "#again", "ida's own passphrase").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "Sign in with the new one").await;
    sign_in(&browser, &server, "ida", "ida's own passphrase").await;
    // A clerk may not list users: the console says so, in the clerk's language.
    see(&browser, "[role=alert]", "Das dürfen Sie nicht").await;
    screens.check("clerk-refused-de").await;
    browser.client.clone().close().await.unwrap();
    db.drop_database().await;
}

/// Portal, User Management: invite three addresses at once, one of them disposable, and see
/// each outcome (R10); resend one invitation and revoke another from the Pending invitations
/// tab; set permissions in a role of the portal's modules (R22 keeps built-in roles fixed);
/// deactivate a user (R8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r8_r10_r22_portal_story_invite_resend_revoke_set_permissions_and_deactivate() {
    let Some(browser) = Browser::start("en").await else { return };
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 5).await;
    let dana = create_user(&server, &tenant, "dana", None).await;
    let mut screens = Screens::new(&browser, "portal");
    sign_in(&browser, &server, &format!("admin@{}.example.com", tenant.slug), TENANT_PASSWORD).await;
    see(&browser, "h1", "Users").await;

    click(&browser, "a[href='/console/invite']").await;
    see(&browser, "h1", "Invite users").await;
    see(&browser, "#user_type", "User (4 of 5 free)").await;
    let picker = browser.client.find(Locator::Css("#user_type")).await.unwrap();
    picker.select_by_value(&tenant.user_type).await.unwrap();
    fill(&browser, "#emails", "ann@people.example.com, bob@people.example.com\nzed@mailinator.com").await;
    screens.check("invite").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "2 of 3 invited.").await;
    let outcomes = browser.text("#outcomes tbody").await;
    assert!(outcomes.contains("ann@people.example.com Invited"), "{outcomes}");
    assert!(outcomes.contains("zed@mailinator.com Disposable address refused"), "{outcomes}");
    screens.check("invite-outcomes").await;
    // No role was picked: the invitations carry the settings' default role.
    let (_, pending) =
        server.get(&format!("/v1/accounts/{}/invitations", tenant.account), &tenant.token).await;
    let items = pending["items"].as_array().unwrap();
    assert!(items.len() == 2 && items.iter().all(|i| i["roles"] == json!([tenant.user_role])), "{pending}");

    browser.client.goto(&format!("{}/console/users?tab=pending", server.base)).await.unwrap();
    see(&browser, "#results", "bob@people.example.com").await;
    screens.check("pending").await;
    db.mails_to("ann@people.example.com", "You are invited").await;
    let row = |email: &str| format!("//tr[th[normalize-space()='{email}']]");
    let resend = format!("{}//a[contains(@href, '/resend')]", row("ann@people.example.com"));
    browser.client.find(Locator::XPath(&resend)).await.unwrap().click().await.unwrap();
    see(&browser, "h1", "Confirm: Resend").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The invitation was sent again.").await;
    until("a second invitation mail to ann", || async {
        (db.mails().iter().filter(|m| m.to == "ann@people.example.com").count() == 2).then_some(())
    })
    .await;
    let revoke = format!("{}//a[contains(@href, '/revoke')]", row("bob@people.example.com"));
    browser.client.find(Locator::XPath(&revoke)).await.unwrap().click().await.unwrap();
    see(&browser, "h1", "Confirm: Revoke").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The invitation was revoked.").await;
    let left = browser.text("#results").await;
    assert!(left.contains("ann@people.example.com") && !left.contains("bob@people.example.com"), "{left}");

    // Set Permission: a role of the portal's modules, made on the module × access grid.
    click(&browser, "nav a[href='/console/roles']").await;
    see(&browser, "h1", "Roles").await;
    click(&browser, "a[href='/console/roles/new']").await;
    see(&browser, "h1", "New role").await;
    fill(&browser, "#name", "Field sales").await;
    for permission in ["orders:read", "orders:write", "contacts:read"] {
        click(&browser, &format!("input[name=perm][value='{permission}']")).await;
    }
    screens.check("role-grid").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The role was saved.").await;
    see(&browser, "#roles", "Field sales").await;
    let (_, roles) = server.get(&format!("/v1/accounts/{}/roles", tenant.account), &tenant.token).await;
    let made =
        roles["items"].as_array().unwrap().iter().find(|r| r["name"] == "Field sales").cloned().unwrap();
    assert_eq!(made["permissions"], json!(["contacts:read", "orders:read", "orders:write"]), "{made}");
    // A built-in role is shown, not changed (R22).
    browser.client.goto(&format!("{}/console/roles/{}", server.base, tenant.user_role)).await.unwrap();
    see(&browser, "main .notice", "A built-in role keeps its name and permissions").await;

    // An API key for the shop's tills: its secret is shown once, works, and dies when revoked.
    click(&browser, "nav a[href='/console/api-keys']").await;
    see(&browser, "h1", "API keys").await;
    fill(&browser, "#name", "POS tills").await;
    click(&browser, "input[name=perm][value='users:read']").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "it is shown this once").await;
    let secret =
        browser.client.find(Locator::Css("#secret")).await.unwrap().prop("value").await.unwrap().unwrap();
    assert!(secret.starts_with("usk_"), "{secret}");
    screens.check("api-key-created").await;
    let (status, _) = server.get(&format!("/v1/accounts/{}/users", tenant.account), &secret).await;
    assert_eq!(status, StatusCode::OK, "the new key works");
    browser.client.goto(&format!("{}/console/api-keys", server.base)).await.unwrap();
    see(&browser, "#keys", "POS tills").await;
    assert!(!browser.client.source().await.unwrap().contains(&secret), "the secret is shown once");
    click(&browser, "#keys a[href$='/revoke']").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The key was revoked.").await;
    let (status, _) = server.get(&format!("/v1/accounts/{}/users", tenant.account), &secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a revoked key");

    browser.client.goto(&format!("{}/console/users/{dana}/disable", server.base)).await.unwrap();
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The user was deactivated.").await;
    let (_, user) = server.get(&format!("/v1/users/{dana}"), &tenant.token).await;
    assert_eq!(user["state"], "disabled");
    browser.client.clone().close().await.unwrap();
    db.drop_database().await;
}

/// Oro, delegated administration (R19): a sub-account's administrator signs in to the console
/// and sees the users of that sub-account only; a sibling's user is not reachable by address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r19_oro_story_a_sub_account_admin_manages_only_their_subtree() {
    let Some(browser) = Browser::start("en").await else { return };
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 5).await;
    let root = &tenant.account;
    let mut subs = Vec::new();
    for slug in ["acme-east", "acme-west"] {
        let body = json!({"slug": slug, "name": slug});
        let (status, sub) =
            server.post(&format!("/v1/accounts/{root}/sub-accounts"), &tenant.token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{sub}");
        subs.push(id(&sub));
    }
    let seats = json!({"seats": [{"user_type": tenant.admin_type, "total": 2}]});
    let operator = server.operator().await;
    let (status, body) = server.put(&format!("/v1/accounts/{root}/subscription"), &operator, seats).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let admin_kind = (tenant.admin_type.as_str(), tenant.admin_role.as_str());
    let user_kind = (tenant.user_type.as_str(), tenant.user_role.as_str());
    let eve = create_user_in(&server, &tenant, &subs[0], admin_kind, "eve", None).await;
    create_user_in(&server, &tenant, &subs[0], user_kind, "erin", None).await;
    let walt = create_user_in(&server, &tenant, &subs[1], user_kind, "walt", None).await;
    create_user_in(&server, &tenant, root, user_kind, "rita", None).await;
    give_password(&server, &tenant, &eve, "eve", "eve's own passphrase").await;

    let mut screens = Screens::new(&browser, "oro");
    sign_in(&browser, &server, "eve", "eve's own passphrase").await;
    see(&browser, "h1", "Users").await;
    let listed = browser.text("#results").await;
    assert!(listed.contains("erin") && listed.contains("eve"), "{listed}");
    for outside in ["walt", "rita", "admin@acme"] {
        assert!(!listed.contains(outside), "{outside} is outside eve's subtree: {listed}");
    }
    screens.check("subtree-users").await;
    browser.client.goto(&format!("{}/console/users/{walt}", server.base)).await.unwrap();
    see(&browser, "[role=alert]", "outside").await;
    screens.check("sibling-refused").await;
    // Eve's tree starts at her sub-account, where she adds a branch.
    click(&browser, "nav a[href='/console/accounts']").await;
    see(&browser, "#tree", "acme-east").await;
    let tree = browser.text("#tree").await;
    assert!(!tree.contains("acme-west"), "{tree}");
    fill(&browser, "#name", "East Berlin").await;
    fill(&browser, "#slug", "acme-east-berlin").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The sub-account was added.").await;
    see(&browser, "#tree", "acme-east-berlin").await;
    screens.check("subtree-accounts").await;
    // Oro's customer user: made in the new branch (its parent customer), with a billing address.
    browser.client.goto(&format!("{}/console/users/new", server.base)).await.unwrap();
    see(&browser, "#account", "East Berlin (acme-east-berlin)").await;
    let account = browser
        .client
        .find(Locator::XPath("//select[@id='account']/option[contains(., 'acme-east-berlin')]"))
        .await
        .unwrap();
    account.click().await.unwrap();
    fill(&browser, "#email", "bea@acme.example.com").await;
    fill(&browser, "#last_name", "Berliner").await;
    browser
        .client
        .find(Locator::Css("#user_type"))
        .await
        .unwrap()
        .select_by_value(&tenant.user_type)
        .await
        .unwrap();
    click(&browser, &format!("input[name=roles][value='{}']", tenant.user_role)).await;
    fill(&browser, "#billing-street", "Unter den Linden 1").await;
    fill(&browser, "#billing-postal_code", "10117").await;
    fill(&browser, "#billing-city", "Berlin").await;
    fill(&browser, "#billing-country", "DE").await;
    screens.check("new-customer-user").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The user was created.").await;
    let url = browser.client.current_url().await.unwrap();
    let bea = url.path().rsplit('/').next().unwrap().to_owned();
    let (_, user) = server.get(&format!("/v1/users/{bea}"), &tenant.token).await;
    let (_, below) = server.get(&format!("/v1/accounts/{}/sub-accounts", subs[0]), &tenant.token).await;
    let berlin = below["items"].as_array().unwrap().iter().find(|a| a["slug"] == "acme-east-berlin").cloned();
    assert_eq!(Some(&user["account_id"]), berlin.as_ref().map(|b| &b["id"]), "{user} {below}");
    assert_eq!(user["addresses"][0]["city"], "Berlin", "{user}");
    assert_eq!(user["addresses"][0]["kind"], "billing", "{user}");
    // Edit keeps the billing address and adds the shipping one.
    browser.client.goto(&format!("{}/console/users/{bea}/edit", server.base)).await.unwrap();
    let billing =
        browser.client.find(Locator::Css("#billing-city")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(billing.as_deref(), Some("Berlin"));
    fill(&browser, "#shipping-street", "Hafenstraße 9").await;
    fill(&browser, "#shipping-city", "Hamburg").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The changes were saved.").await;
    let (_, user) = server.get(&format!("/v1/users/{bea}"), &tenant.token).await;
    let cities: Vec<&Value> = user["addresses"].as_array().unwrap().iter().map(|a| &a["city"]).collect();
    assert_eq!(cities, [&json!("Berlin"), &json!("Hamburg")], "{user}");
    // Oro's customer sales representative: set on her account, it applies to its users who
    // name none. Only someone she can see may be named.
    let (_, erin) = server.get(&format!("/v1/accounts/{}/users?q=erin", subs[0]), &tenant.token).await;
    let erin = erin["items"][0]["id"].as_str().unwrap().to_owned();
    click(&browser, "nav a[href='/console/accounts']").await;
    click(&browser, &format!("#tree a[href='/console/accounts/{}']", subs[0])).await;
    see(&browser, "h1", "Account acme-east").await;
    fill(&browser, "#sales_representative", "rita").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "#rep-error", "No user you can see is called “rita”.").await;
    fill(&browser, "#sales_representative", "eve").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The account was saved.").await;
    browser.client.goto(&format!("{}/console/users/{erin}", server.base)).await.unwrap();
    see(&browser, "main dl", "eve Tester (from the account)").await;
    screens.check("inherited-sales-rep").await;
    // The settings are the company's: she may read them, not change them (R23).
    click(&browser, "nav a[href='/console/settings']").await;
    fill(&browser, "#username_format", "{email}").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "[role=alert]", "main account").await;
    browser.client.clone().close().await.unwrap();
    db.drop_database().await;
}

/// Licensed users: on New User, a type with no free seat cannot be picked and says how to get
/// more (R1); seat totals are the operator's, until the operator lets the account set its own
/// (R23), and never below what is used (R2); the administrator then raises them and creates the
/// user, first meeting the role requirement beside the roles (R3), with a set-password mail
/// (R16).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r1_r2_r3_r23_licensed_users_story_a_full_type_cannot_be_picked_until_seats_are_added() {
    let Some(browser) = Browser::start("en").await else { return };
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 1).await;
    let lena = create_user(&server, &tenant, "lena", None).await;
    give_password(&server, &tenant, &lena, "lena", "lena's own passphrase").await;
    let mut screens = Screens::new(&browser, "licensed");
    sign_in(&browser, &server, &format!("admin@{}.example.com", tenant.slug), TENANT_PASSWORD).await;
    see(&browser, "h1", "Users").await;
    click(&browser, "a[href='/console/users/new']").await;
    see(&browser, "h1", "New user").await;
    let full = format!("#user_type option[value='{}']", tenant.user_type);
    see(&browser, &full, "User (0 of 1 free)").await;
    let disabled = browser.client.find(Locator::Css(&full)).await.unwrap().attr("disabled").await.unwrap();
    assert!(disabled.is_some(), "a type with no free seat cannot be picked");
    see(&browser, "main form", "until seats are added to the subscription").await;
    screens.check("new-user-type-full").await;

    // Seat totals are the operator's (R23): the administrator is refused, with the way out.
    click(&browser, "nav a[href='/console/subscription']").await;
    see(&browser, "h1", "User types and seats").await;
    fill(&browser, "#total_user", "2").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "[role=alert]", "Seat totals are set by the operator").await;
    screens.check("subscription-refused").await;
    // The operator lets Acme set its own; a total below what is used is refused with the numbers.
    let allow = json!({"manages_own_seats": true});
    let operator = server.operator().await;
    let (status, body) =
        server.patch(&format!("/v1/accounts/{}/settings", tenant.account), &operator, allow).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    browser.client.refresh().await.unwrap();
    see(&browser, "#seats", "User").await;
    fill(&browser, "#total_user", "0").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "[role=alert]", "The seats of type user cannot be set to 0: 1 used, 0 reserved.").await;
    fill(&browser, "#total_user", "2").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The seat totals were saved.").await;
    screens.check("subscription-saved").await;
    browser.client.goto(&format!("{}/console/users/new", server.base)).await.unwrap();
    see(&browser, &full, "User (1 of 2 free)").await;
    let picker = browser.client.find(Locator::Css("#user_type")).await.unwrap();
    picker.select_by_value(&tenant.user_type).await.unwrap();
    fill(&browser, "#email", "max@acme.example.com").await;
    fill(&browser, "#first_name", "Max").await;
    fill(&browser, "#last_name", "Muster").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "#roles-error", "An enabled user needs at least one role.").await;
    screens.check("new-user-role-required").await;
    let role = format!("input[name=roles][value='{}']", tenant.user_role);
    click(&browser, &role).await;
    // User Details: where mail goes ("Email to"), territories and a sales representative, who
    // must be someone the administrator can see.
    fill(&browser, "#notification_email", "office@acme.example.com").await;
    fill(&browser, "#sales_territories", "North, South").await;
    fill(&browser, "#sales_representative", "nobody").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "#sales_representative-error", "No user you can see is called “nobody”.").await;
    fill(&browser, "#sales_representative", "lena").await;
    let welcome = browser.client.find(Locator::Css("#send_welcome")).await.unwrap();
    assert!(
        welcome.prop("checked").await.unwrap().as_deref() == Some("true"),
        "the set-password mail is offered"
    );
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The user was created.").await;
    see(&browser, "h1", "User").await;
    screens.check("user-created").await;
    see(&browser, "main dl", "lena Tester").await;
    let mail = db.mails_to("max@acme.example.com", "Your account").await;
    assert!(mail[0].link().is_some_and(|link| link.contains("/reset?token=")), "a set-password link");
    let max = browser.client.current_url().await.unwrap().path().rsplit('/').next().unwrap().to_owned();
    let (_, user) = server.get(&format!("/v1/users/{max}"), &tenant.token).await;
    assert_eq!(user["notification_email"], "office@acme.example.com", "{user}");
    assert_eq!(user["sales_territories"], json!(["North", "South"]), "{user}");
    assert_eq!(user["sales_representative"], json!(lena), "{user}");
    // Linked Devices (R18): a device is linked once the user has a password, then unlinked.
    browser.client.goto(&format!("{}/console/users/{max}/devices", server.base)).await.unwrap();
    see(&browser, "main", "A device can be linked once the user has a password.").await;
    browser.client.goto(&format!("{}/console/users/{lena}", server.base)).await.unwrap();
    click(&browser, &format!("a[href='/console/users/{lena}/devices']")).await;
    see(&browser, "h1", "Linked devices of lena").await;
    fill(&browser, "#name", "Till 1").await;
    fill(&browser, "#identifier", "till-001").await;
    click(&browser, "main form.stack button[type=submit]").await;
    see(&browser, "main .notice", "The device was linked.").await;
    see(&browser, "#devices", "till-001").await;
    screens.check("devices").await;
    click(&browser, "#devices button").await;
    see(&browser, "main .notice", "The device was unlinked.").await;
    let (_, devices) = server.get(&format!("/v1/users/{lena}/devices"), &tenant.token).await;
    assert_eq!(devices["items"], json!([]), "{devices}");
    browser.client.clone().close().await.unwrap();
    db.drop_database().await;
}

/// Contacts: a user made from a contact (R17) takes the contact's name and email, a username
/// from the account's format, and the settings' default type and role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r5_r17_contacts_story_a_user_is_made_from_a_contact() {
    let Some(browser) = Browser::start("en").await else { return };
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let tenant = server.tenant("acme", 5).await;
    let path = format!("/v1/accounts/{}/contacts", tenant.account);
    for (first, last) in [("Carla", "Contact"), ("Otto", "Other")] {
        let email = format!("{}@people.example.com", first.to_lowercase());
        let body = json!({"kind": "person", "first_name": first, "last_name": last, "email": email});
        let (status, contact) = server.post(&path, &tenant.token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{contact}");
    }
    let mut screens = Screens::new(&browser, "contacts");
    sign_in(&browser, &server, &format!("admin@{}.example.com", tenant.slug), TENANT_PASSWORD).await;
    see(&browser, "h1", "Users").await;
    // The contacts seed's username format, set in the settings.
    click(&browser, "nav a[href='/console/settings']").await;
    see(&browser, "h1", "Settings").await;
    fill(&browser, "#username_format", "{f}{last}").await;
    click(&browser, "#email_verification_required").await;
    fill(&browser, "#idle_minutes", "3").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "[role=alert]", "idle").await;
    fill(&browser, "#idle_minutes", "45").await;
    let kept = browser.client.find(Locator::Css("#email_verification_required")).await.unwrap();
    assert_eq!(
        kept.prop("checked").await.unwrap().as_deref(),
        Some("false"),
        "a refused form keeps what was typed"
    );
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The settings were saved.").await;
    screens.check("settings").await;
    let (_, settings) = server.get(&format!("/v1/accounts/{}/settings", tenant.account), &tenant.token).await;
    assert_eq!(
        (settings["username_format"].as_str(), settings["console_idle_timeout_seconds"].as_i64()),
        (Some("{f}{last}"), Some(2700))
    );
    click(&browser, "nav a[href='/console/contacts']").await;
    see(&browser, "h1", "Contacts").await;
    fill(&browser, "#q", "car").await;
    until("the contacts narrow to Carla", || async {
        let text = browser.client.find(Locator::Css("#results")).await.ok()?.text().await.ok()?;
        (text.contains("Carla") && !text.contains("Otto")).then_some(())
    })
    .await;
    screens.check("contacts").await;
    click(&browser, "#results a[href$='/user']").await;
    see(&browser, "h1", "A user for Carla Contact").await;
    screens.check("contact-user").await;
    click(&browser, "main form button[type=submit]").await;
    see(&browser, "main .notice", "The user was created.").await;
    see(&browser, "h1", "User ccontact").await;
    see(&browser, "main dl", "carla@people.example.com").await;
    // Verification is off here: no Email Confirmed, nor a verification mail to send (POS).
    let page = browser.text("main").await;
    assert!(!page.contains("Email confirmed") && !page.contains("Send verification email"), "{page}");
    see(&browser, "main dl", "user").await;
    screens.check("contact-user-created").await;
    browser.client.goto(&format!("{}/console/contacts?q=car", server.base)).await.unwrap();
    see(&browser, "#results", "View user").await;
    browser.client.clone().close().await.unwrap();
    db.drop_database().await;
}
