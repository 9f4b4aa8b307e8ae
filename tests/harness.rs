//! The harness of the end-to-end tests: start the built `usher` binary on a free port over a
//! fresh database (a SQLite file, or a PostgreSQL database made for the test and dropped
//! after it), and talk to it over real HTTP.
//!
//! The binary is the one `cargo test --workspace` built beside the test executables
//! (`target/<profile>/usher`), or `USHER_BIN`. PostgreSQL databases come from `usher-testdb`,
//! the fixture the store's tests share: found at `USHER_TEST_POSTGRES_URL`, else at
//! `postgres://postgres@127.0.0.1:5432/postgres`; when none answers the PostgreSQL tests say
//! `SKIPPED: PostgreSQL` and pass, unless `CI=true` or `USHER_REQUIRE_POSTGRES=1`.
#![allow(
    clippy::disallowed_methods,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    missing_debug_implementations,
    reason = "test harness: a failed setup is a failed test"
)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_testdb::ScratchPostgres;

/// The operator's password in every test server.
pub const OPERATOR_PASSWORD: &str = "e2e operator passphrase 42";

/// The key that seals the access-token signing keys in every test server.
pub const TOKEN_KEY: &str = "7a0c3f1e9b5d2a4c6e8f0a1b3c5d7e9f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c0d";

/// The python with the pinned checkers (`standardwebhooks`, PyJWT), which `cargo xtask test`
/// installs; `None` (after saying so) outside it, and a failure under `CI=true`.
pub fn checkers_python() -> Option<PathBuf> {
    let python = std::env::var("USHER_TEST_PYTHON").ok().map(PathBuf::from).or_else(|| {
        let venv =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/checkers-venv/bin/python");
        venv.exists().then_some(venv)
    });
    if python.is_none() {
        assert!(
            !std::env::var("CI").is_ok_and(|ci| ci == "true"),
            "the Python checkers are missing: run `cargo xtask test`, which installs them"
        );
        eprintln!("SKIPPED: Python checkers (run `cargo xtask test` to install them)");
    }
    python
}

/// The `usher` binary under test.
pub fn usher_binary() -> PathBuf {
    if let Ok(path) = std::env::var("USHER_BIN") {
        return PathBuf::from(path);
    }
    // target/<profile>/deps/<test> → target/<profile>/usher
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let binary = profile_dir.join(format!("usher{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (or `cargo xtask test`), which builds it",
        binary.display()
    );
    binary
}

pub mod smtp;

/// The `id` of a JSON object the server answered.
pub fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_else(|| panic!("no id in {value}")).to_owned()
}

/// The database a test's servers share, and the folder their file mailers write to.
pub struct Db {
    /// The URL handed to `usher serve`.
    pub url: String,
    dir: tempfile::TempDir,
    postgres: Option<ScratchPostgres>,
}

impl Db {
    /// A SQLite file in a fresh folder.
    pub async fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("usher.db").display());
        Db { url, dir, postgres: None }
    }

    /// A fresh PostgreSQL database, or `None` (after saying so) when no server answers and
    /// none is required.
    pub async fn postgres() -> Option<Db> {
        let database = ScratchPostgres::create("usher_e2e").await?;
        let url = database.url().to_owned();
        Some(Db { url, dir: tempfile::tempdir().expect("temp dir"), postgres: Some(database) })
    }

    /// Drops a PostgreSQL database (call after the servers stopped).
    pub async fn drop_database(self) {
        if let Some(database) = self.postgres {
            database.drop_database().await;
        }
    }

    /// The folder the servers' file mailers write `.eml` files to.
    pub fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// Every mail written to the mail folder so far.
    pub fn mails(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.mail_dir()) else { return Vec::new() };
        entries
            .flatten()
            .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "eml"))
            .filter_map(|entry| std::fs::read(entry.path()).ok())
            .filter_map(|raw| Mail::parse(&raw))
            .collect()
    }

    /// The mails delivered to `email` whose subject starts with `subject`, waiting up to 30
    /// seconds for the first. A recipient often gets several kinds of mail, written in any
    /// order by the outbox worker, so a test names the one it waits for.
    pub async fn mails_to(&self, email: &str, subject: &str) -> Vec<Mail> {
        until(&format!("a mail \"{subject}…\" to {email}"), || async {
            let found: Vec<Mail> = self
                .mails()
                .into_iter()
                .filter(|mail| mail.to == email && mail.subject.starts_with(subject))
                .collect();
            (!found.is_empty()).then_some(found)
        })
        .await
    }

    /// The link token of the mail to `email` whose subject starts with `subject` (waiting for
    /// it).
    pub async fn token_mailed_to(&self, email: &str, subject: &str) -> String {
        let mails = self.mails_to(email, subject).await;
        mails
            .iter()
            .find_map(Mail::token)
            .unwrap_or_else(|| panic!("the mail \"{subject}…\" to {email} has no link"))
    }
}

/// A mail as its recipient reads it.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

impl Mail {
    /// Parses an RFC 5322 message.
    pub fn parse(raw: &[u8]) -> Option<Mail> {
        let message = mail_parser::MessageParser::default().parse(raw)?;
        let to = message.to()?.first()?.address()?.to_owned();
        Some(Mail {
            to,
            subject: message.subject().unwrap_or_default().to_owned(),
            text: message.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
            html: message.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
        })
    }

    /// The link in the text part, if any.
    pub fn link(&self) -> Option<String> {
        self.text
            .split_whitespace()
            .find(|word| word.starts_with("http") && word.contains("token="))
            .map(str::to_owned)
    }

    /// The link's token.
    pub fn token(&self) -> Option<String> {
        self.link().and_then(|link| link.split_once("token=").map(|(_, token)| token.to_owned()))
    }
}

/// A running `usher serve`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Lines the server printed on standard output.
    pub stdout: Vec<String>,
    client: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Server {
    /// Starts a server on a free port over `db`, with the operator password set.
    pub async fn start(db: &Db) -> Server {
        Server::start_with(db, &[("USHER_BOOTSTRAP_PASSWORD", OPERATOR_PASSWORD)]).await
    }

    /// Starts a server with extra environment variables.
    pub async fn start_with(db: &Db, env: &[(&str, &str)]) -> Server {
        let mail = tempfile::tempdir().expect("log dir");
        let mut command = Command::new(usher_binary());
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--hash-workers", "2"])
            .arg("--database-url")
            .arg(&db.url)
            .env("USHER_MAIL", format!("file://{}", db.mail_dir().display()))
            .env_remove("USHER_BOOTSTRAP_PASSWORD")
            .env_remove("USHER_DATABASE_URL")
            .env("USHER_LOG", "info")
            .env("USHER_TOKEN_KEY", TOKEN_KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(mail.path().join("stderr.log")).expect("log file"));
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start usher serve");
        let stdout = child.stdout.take().expect("stdout");
        let (lines, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut printed = Vec::new();
        let base = loop {
            match receiver.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    let address = line.strip_prefix("listening: ").map(str::to_owned);
                    printed.push(line);
                    if let Some(address) = address {
                        break address;
                    }
                }
                Err(err) => {
                    let _ = child.kill();
                    let logs = std::fs::read_to_string(mail.path().join("stderr.log")).unwrap_or_default();
                    panic!("usher serve did not start ({err}); it printed {printed:?} and logged:\n{logs}");
                }
            }
        };
        let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().expect("client");
        Server { child, base, stdout: printed, client, dir: mail }
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged so far (standard error).
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Kills the process with SIGKILL (a crash: nothing is finished or flushed).
    pub fn kill(mut self) {
        self.child.kill().expect("kill usher");
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the exit status (graceful shutdown).
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(sent.success());
        self.child.wait().expect("wait for usher")
    }

    /// One request; answers the status and the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, _, body) = self.call_with_headers(method, path, token, body, &[]).await;
        (status, body)
    }

    /// One request with extra headers; answers status, headers and JSON body.
    pub async fn call_with_headers(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, headers, body)
    }

    /// One request with a body of `content_type`; answers the status and the JSON body.
    pub async fn call_body(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: String,
    ) -> (StatusCode, Value) {
        let mut request =
            self.client.request(method, format!("{}{path}", self.base)).header("content-type", content_type);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.body(body).send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// POST with a form-encoded body (`a=1&b=2`); answers the status and the JSON body.
    pub async fn call_form(&self, path: &str, token: Option<&str>, form: &str) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// GET.
    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// PATCH with a JSON body.
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }

    /// PUT with a JSON body.
    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        let (_, metrics) = self.call(Method::GET, "/metrics", None, None).await;
        metrics.as_str().unwrap_or_default().to_owned()
    }

    /// Logs in; panics unless it succeeds.
    pub async fn login(&self, account: &str, username: &str, password: &str) -> String {
        let body = json!({"account": account, "username": username, "password": password});
        let (status, answer) = self.call(Method::POST, "/v1/auth/login", None, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "login {account}/{username}: {answer}");
        answer["token"].as_str().expect("token").to_owned()
    }

    /// The operator's session.
    pub async fn operator(&self) -> String {
        self.login("default", "admin", OPERATOR_PASSWORD).await
    }

    /// Creates a root account with an administrator (password given) and logs the
    /// administrator in.
    pub async fn tenant(&self, slug: &str, user_seats: u32) -> Tenant {
        let operator = self.operator().await;
        let admin_email = format!("admin@{slug}.example.com");
        let body = json!({
            "slug": slug,
            "name": format!("{slug} Inc."),
            "admin_email": admin_email,
            "admin_password": TENANT_PASSWORD,
            "user_seats": user_seats,
        });
        let (status, created) = self.post("/v1/accounts", &operator, body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let account = created["account"]["id"].as_str().expect("account id").to_owned();
        let token = self.login(slug, &admin_email, TENANT_PASSWORD).await;
        let (_, types) = self.get(&format!("/v1/accounts/{account}/user-types"), &token).await;
        let (_, roles) = self.get(&format!("/v1/accounts/{account}/roles"), &token).await;
        let find = |list: &Value, field: &str, value: &str| {
            list["items"].as_array().expect("items").iter().find(|item| item[field] == value).expect(value)["id"]
                .as_str()
                .expect("id")
                .to_owned()
        };
        Tenant {
            slug: slug.to_owned(),
            account: account.clone(),
            token,
            user_type: find(&types, "key", "user"),
            admin_type: find(&types, "key", "admin"),
            member_type: find(&types, "key", "member"),
            user_role: find(&roles, "name", "user"),
            admin_role: find(&roles, "name", "admin"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first administrator's password of test tenants.
pub const TENANT_PASSWORD: &str = "correct horse battery staple";

/// A root account made for a test, with its administrator's session and catalog ids.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Slug.
    pub slug: String,
    /// Account id.
    pub account: String,
    /// The administrator's session token.
    pub token: String,
    /// The built-in `user` type.
    pub user_type: String,
    /// The built-in `admin` type.
    pub admin_type: String,
    /// The built-in `member` type.
    pub member_type: String,
    /// The built-in `user` role.
    pub user_role: String,
    /// The built-in `admin` role.
    pub admin_role: String,
}

/// Waits up to 30 seconds for `check` to answer `Some`, polling every 100 ms; panics naming
/// `what` otherwise. Tests wait for a state this way, never for a time.
pub async fn until<T, Fut>(what: &str, check: impl FnMut() -> Fut) -> T
where
    Fut: std::future::Future<Output = Option<T>>,
{
    until_within(what, 30, check).await
}

/// [`until`] for a state that takes long to reach (a large import): up to `seconds`.
pub async fn until_within<T, Fut>(what: &str, seconds: u64, mut check: impl FnMut() -> Fut) -> T
where
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..seconds * 10 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within {seconds} s");
}

/// Runs `story` against a fresh server on SQLite.
pub async fn on_sqlite<F, Fut>(story: F)
where
    F: FnOnce(Server, Db) -> Fut,
    Fut: std::future::Future<Output = Db>,
{
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    story(server, db).await.drop_database().await;
}

/// Runs `story` against a fresh server on PostgreSQL (skipped when none answers and none is
/// required).
pub async fn on_postgres<F, Fut>(story: F)
where
    F: FnOnce(Server, Db) -> Fut,
    Fut: std::future::Future<Output = Db>,
{
    let Some(db) = Db::postgres().await else {
        return;
    };
    let server = Server::start(&db).await;
    story(server, db).await.drop_database().await;
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| PathBuf::from(dir).join(name))
        .find(|p| p.exists())
}

/// Headless Chromium (Debian's, driven through chromedriver over WebDriver): the client, and
/// the driver process, ended when this is dropped.
pub struct Browser {
    /// The WebDriver session.
    pub client: fantoccini::Client,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// chromedriver and chromium found on the PATH (or at `USHER_CHROMEDRIVER` and
    /// `USHER_CHROMIUM`), started headless with `lang` as the browser's language; `None` (after
    /// saying `SKIPPED: browser`) when absent, unless `CI=true`, where `.ci/run` installs both.
    pub async fn start(lang: &str) -> Option<Browser> {
        let driver_path =
            std::env::var_os("USHER_CHROMEDRIVER").map(PathBuf::from).or_else(|| on_path("chromedriver"));
        let chromium = std::env::var_os("USHER_CHROMIUM")
            .map(PathBuf::from)
            .or_else(|| on_path("chromium"))
            .or_else(|| on_path("chromium-browser"));
        let (driver_path, chromium) = match (driver_path, chromium) {
            (Some(driver), Some(chromium)) => (driver, chromium),
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true but chromium or chromedriver is missing; .ci/run installs them")
            }
            _ => {
                eprintln!("SKIPPED: browser: chromium and chromedriver are not installed");
                return None;
            }
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         format!("--lang={lang}"), "--window-size=1280,900"],
                "prefs": {"intl.accept_languages": lang},
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let address = format!("http://127.0.0.1:{port}");
        let client = until("chromedriver answers", || {
            let (connector, capabilities, address) =
                (connector.clone(), capabilities.clone(), address.clone());
            async move {
                fantoccini::ClientBuilder::new(connector)
                    .capabilities(capabilities)
                    .connect(&address)
                    .await
                    .ok()
            }
        })
        .await;
        Some(Browser { client, driver })
    }

    /// The text of the first element `css` finds, waiting up to 20 s for it to appear.
    pub async fn text(&self, css: &str) -> String {
        let locator = fantoccini::Locator::Css(css);
        let element = self.client.wait().at_most(Duration::from_secs(20)).for_element(locator).await;
        element.unwrap_or_else(|err| panic!("no {css} on the page: {err}")).text().await.unwrap()
    }
}

/// A browser without a browser (for the console over plain HTTP): reqwest, redirects not
/// followed, cookies kept by hand.
pub struct Visitor {
    client: reqwest::Client,
    base: String,
    /// The cookies kept, by name.
    pub cookies: Vec<(String, String)>,
}

impl Visitor {
    /// A visitor of `server` with no cookie.
    pub fn new(server: &Server) -> Visitor {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Visitor { client, base: server.base.clone(), cookies: Vec::new() }
    }

    /// The value of a kept cookie.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    fn keep(&mut self, headers: &reqwest::header::HeaderMap) {
        for set in headers.get_all(reqwest::header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let (name, value) = set.split(';').next().unwrap().split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    /// A request with the kept cookies, a form body and extra headers.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
        extra: &[(&str, &str)],
    ) -> Page {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
            request = request.header("cookie", jar.join("; "));
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        if let Some(form) = form {
            request = request.form(form);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        self.keep(&headers);
        Page { status, headers, body: response.text().await.unwrap() }
    }

    /// GET.
    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None, &[]).await
    }

    /// POST a form.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form), &[]).await
    }
}

/// An answer to a [`Visitor`].
pub struct Page {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Page {
    /// The `Location` header.
    pub fn location(&self) -> &str {
        self.headers.get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The `Set-Cookie` header of `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The value of the form's hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        self.body[at..].split('"').next().unwrap().to_owned()
    }
}
