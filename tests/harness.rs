//! The harness of the end-to-end tests: start the built `usher` binary on a free port over a
//! fresh database (a SQLite file, or a PostgreSQL database made for the test and dropped
//! after it), and talk to it over real HTTP.
//!
//! The binary is the one `cargo test --workspace` built beside the test executables
//! (`target/<profile>/usher`), or `USHER_BIN`. PostgreSQL is found at
//! `USHER_TEST_POSTGRES_URL`, else at `postgres://postgres@127.0.0.1:5432/postgres`; when none
//! answers the PostgreSQL tests say `SKIPPED: PostgreSQL` and pass, unless `CI=true` or
//! `USHER_REQUIRE_POSTGRES=1`.
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
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

/// The operator's password in every test server.
pub const OPERATOR_PASSWORD: &str = "e2e operator passphrase 42";

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

fn postgres_base_url() -> String {
    std::env::var("USHER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn postgres_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("USHER_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

fn with_database(url: &str, name: &str) -> String {
    let (head, query) = url.split_once('?').map_or((url, String::new()), |(h, q)| (h, format!("?{q}")));
    let authority = head.find("://").map_or(0, |i| i + 3);
    let base = head[authority..].find('/').map_or(head, |slash| &head[..authority + slash]);
    format!("{base}/{name}{query}")
}

static NEXT: AtomicU32 = AtomicU32::new(0);

pub mod smtp;

/// The database a test's servers share, and the folder their file mailers write to.
pub struct Db {
    /// The URL handed to `usher serve`.
    pub url: String,
    dir: tempfile::TempDir,
    postgres: Option<(DatabaseConnection, String)>,
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
        let base = postgres_base_url();
        let admin = match Database::connect(base.as_str()).await {
            Ok(admin) => admin,
            Err(err) if !postgres_required() => {
                eprintln!("SKIPPED: PostgreSQL: no server answers at {base}: {err}");
                return None;
            }
            Err(err) => panic!("PostgreSQL is required (CI=true) but {base} does not answer: {err}"),
        };
        let name = format!("usher_e2e_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .expect("drop old");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
        let url = with_database(&base, &name);
        Some(Db { url, dir: tempfile::tempdir().expect("temp dir"), postgres: Some((admin, name)) })
    }

    /// Drops a PostgreSQL database (call after the servers stopped).
    pub async fn drop_database(self) {
        if let Some((admin, name)) = self.postgres {
            // Servers killed a moment ago may still hold connections; FORCE ends them, and a
            // second try covers a connection that was being set up meanwhile.
            let mut last = None;
            for _ in 0..5 {
                match admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
                {
                    Ok(_) => {
                        last = None;
                        break;
                    }
                    Err(err) => last = Some(err),
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            if let Some(err) = last {
                panic!("cannot drop the test database {name}: {err}");
            }
            let _ = admin.close().await;
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

    /// The mail delivered to `email`, waiting up to 30 seconds for the first one.
    pub async fn mails_to(&self, email: &str) -> Vec<Mail> {
        for _ in 0..300 {
            let found: Vec<Mail> = self.mails().into_iter().filter(|mail| mail.to == email).collect();
            if !found.is_empty() {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail reached {email} within 30 s");
    }

    /// The link tokens mailed to `email` (waiting for the first mail).
    pub async fn tokens_mailed_to(&self, email: &str) -> Vec<String> {
        self.mails_to(email).await.iter().filter_map(Mail::token).collect()
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
pub async fn until<T, Fut>(what: &str, mut check: impl FnMut() -> Fut) -> T
where
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..300 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 30 s");
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
