//! The benchmark behind `cargo xtask bench` (DESIGN §6): starts the built `usher serve` on a
//! SQLite file, then on a PostgreSQL database, over loopback, drives each scenario with `wrk`
//! (16 connections, latency histograms from its Lua `done` hook) and prints one markdown
//! table; `--write FILE` also writes it with the date, the machine and the versions.
//!
//! Populations of 10k, 100k and 1M users are loaded through the store's bulk insert
//! ([`UserRepo::insert_users`](usher_domain::ports::UserRepo::insert_users)), not the API,
//! between the runs that measure writes and lists at each size; the SQLite file of 1M users is
//! then opened again to time start-up.
//!
//! Every scenario reports its request and error counts, and a scenario with an error fails
//! the run: a run with errors is not a result. `--quick` runs every scenario small (what
//! `cargo xtask test` does, to keep the bench from rotting; it checks errors, not speed).
//! `--only sqlite|postgres` runs one backend and `--skip-populations` leaves out the loaded
//! populations: a short run to profile one scenario with; `--population N` measures the
//! population scenarios at N users only (e.g. the SCIM lookup at 100,000).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a benchmark program: a failed setup is a failed run, and it reports on stdout"
)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_app::adapters::{Argon2Hasher, SystemClock, ports};
use usher_domain::id::{AccountId, RoleId, UserId, UserTypeId};
use usher_domain::model::{Newcomer, Origin, User};
use usher_domain::ports::{Clock, Cursor, PasswordHasher, Store};
use usher_domain::service::{sessions, users};
use usher_domain::value::{Email, PlainPassword, Username};
use usher_e2e::{Db, Server, Tenant};
use usher_store::{SqlStore, StoreConfig};
use uuid::Uuid;

/// How a run is sized.
#[derive(Debug, Clone, Copy)]
struct Size {
    /// Seconds each load scenario runs.
    seconds: u32,
    /// Seconds each scenario at a population size runs.
    population_seconds: u32,
    /// Addresses in the bulk invitation.
    bulk: usize,
    /// The populations of the seat type the writes and lists are measured at.
    populations: &'static [usize],
    /// argon2id verifications timed in-process.
    verifications: u32,
    /// Changes timed from their commit to their webhook.
    hooked: usize,
    /// Rows of the imported CSV file.
    imported: usize,
    /// The import alone (`--import-only`, to profile it).
    import_only: bool,
}

/// One row of the table.
#[derive(Debug)]
struct Row {
    backend: &'static str,
    scenario: String,
    figure: String,
    target: &'static str,
    requests: u64,
    errors: u64,
}

/// What `wrk` measured.
#[derive(Debug, Clone, Copy)]
struct Load {
    requests: u64,
    seconds: f64,
    errors: u64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Load {
    fn rate(&self) -> f64 {
        if self.seconds > 0.0 { self.requests as f64 / self.seconds } else { 0.0 }
    }
}

/// A request `wrk` repeats: the method, the path, a bearer token, and the body as a Lua
/// expression (`n` is a number unique to the request, for unique names).
struct Request<'a> {
    method: &'a str,
    path: &'a str,
    token: Option<&'a str>,
    body: Option<&'a str>,
    /// Milliseconds each connection waits between requests: a light probe, not a load.
    pace_ms: u32,
    /// Send the body form-encoded instead of as JSON.
    form: bool,
    /// A `Cookie` header (the console's session).
    cookie: Option<&'a str>,
}

fn lua(request: &Request<'_>) -> String {
    let auth = request
        .token
        .map(|t| format!("wrk.headers[\"Authorization\"] = \"Bearer {t}\"\n"))
        .unwrap_or_default();
    let cookie = request.cookie.map(|c| format!("wrk.headers[\"Cookie\"] = \"{c}\"\n")).unwrap_or_default();
    let body = request.body.unwrap_or("nil");
    let pace = match request.pace_ms {
        0 => String::new(),
        ms => format!("delay = function() return {ms} end\n"),
    };
    format!(
        r#"local counter = 0
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
wrk.method = "{method}"
wrk.headers["Content-Type"] = "{content_type}"
{auth}{cookie}{pace}request = function()
  counter = counter + 1
  local n = tid * 100000000 + counter
  return wrk.format(nil, "{path}", nil, {body})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"#,
        method = request.method,
        path = request.path,
        content_type = if request.form { "application/x-www-form-urlencoded" } else { "application/json" },
    )
}

/// Runs `wrk` with `connections` for `seconds` against `base`.
fn wrk(base: &str, request: &Request<'_>, connections: u32, seconds: u32) -> Load {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("scenario.lua");
    std::fs::write(&script, lua(request)).expect("write the wrk script");
    let threads = connections.min(2);
    let output = Command::new("wrk")
        .args(["-t", &threads.to_string(), "-c", &connections.to_string(), "-d", &format!("{seconds}s")])
        .args(["--timeout", "10s", "-s"])
        .arg(&script)
        .arg(base)
        .output()
        .expect("run wrk (cargo xtask bench installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().find_map(|l| l.strip_prefix("RESULT ")).unwrap_or_else(|| {
        panic!("wrk printed no result: {text}\n{}", String::from_utf8_lossy(&output.stderr))
    });
    let n: Vec<u64> = line.split_whitespace().map(|x| x.parse().expect("a number")).collect();
    Load {
        requests: n[0],
        seconds: n[1] as f64 / 1e6,
        errors: n[2] + n[3],
        p50_ms: n[4] as f64 / 1e3,
        p99_ms: n[5] as f64 / 1e3,
    }
}

/// The server's peak resident memory so far (`VmHWM`) in MiB.
fn peak_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Imports one CSV file of `rows` enabled users over HTTP into a tenant of its own, timed
/// from the upload to the job's end, with the server's peak memory.
async fn import_file(server: &Server, backend: &'static str, rows: usize) -> Row {
    let tenant = server.tenant("importer", 1).await;
    let operator = server.operator().await;
    let account = &tenant.account;
    let seats = json!({"seats": [{"user_type": tenant.user_type, "total": rows + 10}]});
    ok(server, Method::PUT, &format!("/v1/accounts/{account}/subscription"), &operator, seats).await;
    let mut csv = String::with_capacity(rows * 90);
    csv.push_str("username,email,first_name,last_name,user_type,roles,state\n");
    for i in 0..rows {
        let _ = writeln!(csv, "imp{i:06},imp{i:06}@import.example.com,First{i},Last{i},user,user,active");
    }
    let started = Instant::now();
    let path = format!("/v1/accounts/{account}/imports");
    let (status, job) = server.call_body(Method::POST, &path, Some(&tenant.token), "text/csv", csv).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let uploaded = started.elapsed().as_secs_f64();
    // A client polling for the end, as one would: a few times a second, without the report.
    let location = format!("/v1/imports/{}?limit=1", usher_e2e::id(&job));
    let job = loop {
        let (_, found) = server.get(&location, &tenant.token).await;
        if found["job"]["finished_at"].is_string() {
            break found["job"].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(1_800), "the import did not end: {found}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let took = started.elapsed().as_secs_f64();
    let created = job["counts"]["created"].as_u64().unwrap_or(0);
    Row {
        backend,
        scenario: format!("import of one CSV file of {} users over HTTP", thousands(rows)),
        figure: format!(
            "{took:.1} s, {:.0} rows/s (the upload took {uploaded:.1} s); server peak memory {:.0} MiB",
            rows as f64 / took,
            peak_mib(server.pid())
        ),
        target: "≥ 5,000 rows/s; bounded memory",
        requests: rows as u64,
        errors: (rows as u64).saturating_sub(created),
    }
}

/// The server's resident memory in MiB.
fn resident_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

async fn ok(server: &Server, method: Method, path: &str, token: &str, body: Value) -> Value {
    let (status, answer) = server.call(method, path, Some(token), Some(body)).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

/// A tenant with room for any number of users: a seat type with a large total, a type that
/// takes no seat, and a role.
struct Stage {
    tenant: Tenant,
    no_seat_type: String,
}

async fn stage(server: &Server) -> Stage {
    let tenant = server.tenant("bench", 1).await;
    let operator = server.operator().await;
    let account = &tenant.account;
    let seats = json!({"seats": [{"user_type": tenant.user_type, "total": 10_000_000}]});
    ok(server, Method::PUT, &format!("/v1/accounts/{account}/subscription"), &operator, seats).await;
    // The no-seat type may hold what the `user` role grants, so its users get that role.
    let (_, roles) = server.get(&format!("/v1/accounts/{account}/roles"), &tenant.token).await;
    let items = roles["items"].as_array().expect("roles");
    let user_role = items.iter().find(|r| r["id"] == tenant.user_role.as_str()).expect("the user role");
    let ceiling = user_role["permissions"].clone();
    let no_seat = json!({"key": "kiosk", "name": "Kiosk", "consumes_seat": false, "ceiling": ceiling});
    let created =
        ok(server, Method::POST, &format!("/v1/accounts/{account}/user-types"), &operator, no_seat).await;
    Stage { tenant, no_seat_type: usher_e2e::id(&created) }
}

fn row(backend: &'static str, scenario: &str, figure: String, target: &'static str, load: Load) -> Row {
    Row {
        backend,
        scenario: scenario.to_owned(),
        figure,
        target,
        requests: load.requests,
        errors: load.errors,
    }
}

fn uuid(text: &str) -> Uuid {
    Uuid::parse_str(text).expect("an id the server gave")
}

/// Lets PostgreSQL catch up after a bulk load, as autovacuum does on a live database: fresh
/// planner statistics and visibility map, so that the next scenarios measure the steady state
/// instead of racing an autovacuum run or planning with the statistics of a smaller table.
fn settle(db: &Db) {
    if !db.url.starts_with("postgres") {
        return;
    }
    let vacuumed = Command::new("psql").arg(&db.url).args(["-q", "-c", "VACUUM ANALYZE"]).status();
    if !vacuumed.is_ok_and(|status| status.success()) {
        eprintln!("bench: VACUUM ANALYZE failed; the figures after the load may race autovacuum");
    }
}

/// The username of the `i`-th loaded user: zero-padded, so the list order is the load order.
fn loaded_name(i: usize) -> String {
    format!("p{i:07}")
}

/// Loads users `from..to` into the tenant's seat type, active and holding the `user` role,
/// through the store's bulk insert in transactions of 10,000.
async fn load_users(store: &SqlStore, tenant: &Tenant, from: usize, to: usize) -> Duration {
    let root = AccountId::from_uuid(uuid(&tenant.account));
    let user_type = UserTypeId::from_uuid(uuid(&tenant.user_type));
    let role = RoleId::from_uuid(uuid(&tenant.user_role));
    let now = SystemClock.now();
    let started = Instant::now();
    let mut start = from;
    while start < to {
        let end = (start + 10_000).min(to);
        let users: Vec<User> = (start..end)
            .map(|i| {
                let name = loaded_name(i);
                let newcomer = Newcomer {
                    root,
                    account: root,
                    username: Username::parse(&name).expect("a username"),
                    email: Email::parse(&format!("{name}@loaded.example.com")).expect("an address"),
                    user_type,
                    origin: Origin::Import,
                };
                let id = UserId::from_uuid(Uuid::from_u128((0x000b_10ad << 100) | i as u128));
                User { roles: BTreeSet::from([role]), ..User::new(id, newcomer, now) }
            })
            .collect();
        let mut tx = store.begin().await.expect("begin");
        tx.insert_users(&users).await.expect("bulk insert");
        tx.commit().await.expect("commit");
        start = end;
        if start.is_multiple_of(100_000) {
            eprintln!("bench: loaded {start} users");
        }
    }
    started.elapsed()
}

/// Creates users in-process (the use case on the store, no HTTP) from 16 tasks for
/// `seconds`.
async fn create_in_process(db: &Db, tenant: &Tenant, seconds: u32) -> Load {
    let store = Arc::new(SqlStore::open(&StoreConfig::new(db.url.clone())).await.expect("open the store"));
    let ports = Arc::new(ports(store as Arc<dyn Store>, Argon2Hasher::new(1)));
    let actor = sessions::authenticate(&ports, &tenant.token, None).await.expect("the admin's session").actor;
    let account = AccountId::from_uuid(uuid(&tenant.account));
    let user_type = UserTypeId::from_uuid(uuid(&tenant.user_type));
    let role = RoleId::from_uuid(uuid(&tenant.user_role));
    let (done, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds.into());
    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let (ports, actor, done, failed) = (ports.clone(), actor.clone(), done.clone(), failed.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while Instant::now() < deadline {
                    n += 1;
                    let name = format!("inproc{task}x{n}");
                    let command = users::NewUser {
                        username: Some(name.clone()),
                        email: format!("{name}@bench.example.com"),
                        profile: users::ProfileInput::default(),
                        user_type,
                        roles: BTreeSet::from([role]),
                        scope: BTreeSet::new(),
                        enabled: true,
                        send_welcome: false,
                        external_ids: Default::default(),
                        external_id: None,
                        sales_representative: None,
                        receive_system_messages: true,
                    };
                    match users::create_user(&ports, &actor, account, command).await {
                        Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                        Err(err) => {
                            eprintln!("bench: in-process creation failed: {err}");
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a creating task");
    }
    Load {
        requests: done.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
        errors: failed.load(Ordering::Relaxed),
        p50_ms: 0.0,
        p99_ms: 0.0,
    }
}

/// One argon2id verification with usher's parameters, timed in-process on one thread: the
/// mean of `n`, in milliseconds.
async fn argon2_verification_ms(n: u32) -> f64 {
    let hasher = Argon2Hasher::new(1);
    let password = PlainPassword::new("correct horse battery staple");
    let hash = hasher.hash(&password).await.expect("hash");
    assert!(hasher.verify(&password, Some(hash.clone())).await.expect("verify"), "a warm-up verification");
    let started = Instant::now();
    for _ in 0..n {
        hasher.verify(&password, Some(hash.clone())).await.expect("verify");
    }
    started.elapsed().as_secs_f64() * 1000.0 / f64::from(n.max(1))
}

/// Verifications per second on every core at once, in-process (no HTTP, no SQL): what a
/// login flood could reach at best; below `cores` ÷ one verification when the cores share
/// caches or memory bandwidth (argon2id walks 19 MiB per verification).
async fn argon2_parallel_rate(cores: usize, n: u32) -> f64 {
    let hasher = Argon2Hasher::new(cores);
    let password = PlainPassword::new("correct horse battery staple");
    let hash = hasher.hash(&password).await.expect("hash");
    let started = Instant::now();
    let runs = (0..cores).map(|_| {
        let (hasher, password, hash) = (hasher.clone(), password.clone(), hash.clone());
        tokio::spawn(async move {
            for _ in 0..n {
                hasher.verify(&password, Some(hash.clone())).await.expect("verify");
            }
        })
    });
    for run in runs.collect::<Vec<_>>() {
        run.await.expect("a verification run");
    }
    (cores as f64 * f64::from(n)) / started.elapsed().as_secs_f64()
}

/// Creates a user over HTTP and invites one address from 16 connections; `label` keeps the
/// names of each run apart.
fn writes(server: &Server, tenant: &Tenant, user_type: &str, label: &str, seconds: u32) -> (Load, Load) {
    let account = &tenant.account;
    let body = format!(
        r#"string.format([[{{"username":"{label}%d","email":"{label}%d@bench.example.com","user_type":"{user_type}","roles":["{}"]}}]], n, n)"#,
        tenant.user_role
    );
    let path = format!("/v1/accounts/{account}/users");
    let request = Request {
        method: "POST",
        path: &path,
        token: Some(&tenant.token),
        body: Some(&body),
        pace_ms: 0,
        form: false,
        cookie: None,
    };
    let created = wrk(&server.base, &request, 16, seconds);
    let body = format!(
        r#"string.format([[{{"emails":["{label}%d@invited.example.com"],"user_type":"{user_type}","roles":["{}"]}}]], n)"#,
        tenant.user_role
    );
    let path = format!("/v1/accounts/{account}/invitations");
    let request = Request {
        method: "POST",
        path: &path,
        token: Some(&tenant.token),
        body: Some(&body),
        pace_ms: 0,
        form: false,
        cookie: None,
    };
    let invited = wrk(&server.base, &request, 16, seconds);
    (created, invited)
}

/// A list request at 16 connections and at one: pages/s, and the latency of one at a time.
fn list(server: &Server, tenant: &Tenant, query: &str, seconds: u32) -> (Load, Load) {
    let path = format!("/v1/accounts/{}/users?limit=50{query}", tenant.account);
    let request = Request {
        method: "GET",
        path: &path,
        token: Some(&tenant.token),
        body: None,
        pace_ms: 0,
        form: false,
        cookie: None,
    };
    (wrk(&server.base, &request, 16, seconds), wrk(&server.base, &request, 1, seconds))
}

/// The console's users page (the first 25 active users) as a signed-in administrator sees it,
/// one page at a time; answers the load and the bytes a first visit fetches (HTML, CSS, JS).
async fn console_users_page(server: &Server, tenant: &Tenant, seconds: u32) -> (Load, usize, usize, usize) {
    let mut visitor = usher_e2e::Visitor::new(server);
    let csrf = visitor.get("/console/sign-in").await.csrf();
    let admin = format!("admin@{}.example.com", tenant.slug);
    let fields = [
        ("csrf", csrf.as_str()),
        ("account", tenant.slug.as_str()),
        ("username", admin.as_str()),
        ("password", usher_e2e::TENANT_PASSWORD),
    ];
    let signed_in = visitor.post("/console/sign-in", &fields).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "the console sign-in: {}", signed_in.body);
    let page = visitor.get("/console/users").await;
    assert_eq!(page.status, StatusCode::OK);
    let css = visitor.get("/console/assets/console.css").await.body.len();
    let js = visitor.get("/console/assets/htmx.min.js").await.body.len();
    let session = visitor.cookie("usher_console").unwrap_or_default();
    let cookie = format!("usher_console={session}");
    let request = Request {
        method: "GET",
        path: "/console/users",
        token: None,
        body: None,
        pace_ms: 0,
        form: false,
        cookie: Some(&cookie),
    };
    (wrk(&server.base, &request, 1, seconds), page.body.len(), css, js)
}

/// An identity provider's lookup of one user by username before it creates or updates it, one
/// at a time (the administrator's session holds `scim:read`).
fn scim_lookup(server: &Server, tenant: &Tenant, username: &str, seconds: u32) -> Load {
    let path = format!("/scim/v2/Users?filter=userName%20eq%20%22{username}%22");
    let request = Request {
        method: "GET",
        path: &path,
        token: Some(&tenant.token),
        body: None,
        pace_ms: 0,
        form: false,
        cookie: None,
    };
    wrk(&server.base, &request, 1, seconds)
}

fn list_row(backend: &'static str, scenario: String, (many, one): (Load, Load)) -> Row {
    Row {
        backend,
        scenario,
        figure: format!(
            "{:.0} pages/s; 1 connection p50 {:.1} ms, p99 {:.1} ms",
            many.rate(),
            one.p50_ms,
            one.p99_ms
        ),
        target: "≥ 2,000 pages/s; p99 < 10 ms",
        requests: many.requests + one.requests,
        errors: many.errors + one.errors,
    }
}

/// Token introspection (RFC 7662) of the tenant administrator's session by an app's key:
/// the rate at 16 connections, and the latency of a paced probe beside nothing else.
async fn introspection(server: &Server, tenant: &Tenant, seconds: u32) -> (Load, Load) {
    let key = json!({"name": "gateway", "permissions": ["introspection:read"]});
    let key =
        ok(server, Method::POST, &format!("/v1/accounts/{}/api-keys", tenant.account), &tenant.token, key)
            .await;
    let key = key["secret"].as_str().expect("a key").to_owned();
    let body = format!("[[token={}]]", tenant.token);
    let request = Request {
        method: "POST",
        path: "/v1/oauth/introspect",
        token: Some(&key),
        body: Some(&body),
        pace_ms: 0,
        form: true,
        cookie: None,
    };
    let many = wrk(&server.base, &request, 16, seconds);
    let probe = Request { pace_ms: 10, ..request };
    (many, wrk(&server.base, &probe, 1, seconds))
}

/// An HTTP endpoint that answers every request 204 and notes when each event's username
/// arrived: what the webhook latency is measured against.
async fn receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<(String, Instant)>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let noted = arrivals.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let noted = noted.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut length = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if stream.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    if let (Some(name), Ok(mut noted)) = (event["data"]["username"].as_str(), noted.lock()) {
                        noted.push((name.to_owned(), Instant::now()));
                    }
                    let answer = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
                    if stream.get_mut().write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, arrivals)
}

/// From a user's creation answered over HTTP to its `user.created` event at a webhook, for
/// `n` creations one after another; answers the latencies in milliseconds, sorted.
async fn webhook_latencies(server: &Server, tenant: &Tenant, n: usize) -> Vec<f64> {
    let (url, arrivals) = receiver().await;
    let account = &tenant.account;
    let hook = json!({"url": url, "types": ["user.created"]});
    let created =
        ok(server, Method::POST, &format!("/v1/accounts/{account}/webhooks"), &tenant.token, hook).await;
    let webhook = usher_e2e::id(&created["webhook"]);
    let mut committed = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("hooked{i}");
        let body = json!({"username": name, "email": format!("{name}@bench.example.com"), "user_type": tenant.user_type, "roles": [tenant.user_role]});
        ok(server, Method::POST, &format!("/v1/accounts/{account}/users"), &tenant.token, body).await;
        committed.push((name, Instant::now()));
        // One change at a time: the latency of each, not of a backlog.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_arrived = usher_e2e::until("every event at the webhook", || async {
        let arrived = arrivals.lock().map(|a| a.len()).unwrap_or(0);
        (arrived >= n).then_some(())
    });
    all_arrived.await;
    let arrived: std::collections::HashMap<String, Instant> =
        arrivals.lock().map(|a| a.iter().cloned().collect()).unwrap_or_default();
    let _ = server.call(Method::DELETE, &format!("/v1/webhooks/{webhook}"), Some(&tenant.token), None).await;
    let mut latencies: Vec<f64> = committed
        .iter()
        .filter_map(|(name, at)| {
            arrived.get(name).map(|got| got.saturating_duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    latencies
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn thousands(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n.is_multiple_of(1_000_000) => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n.is_multiple_of(1_000) => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// The scenarios on one backend; `argon2_ms` sets the limit and `ceiling` is what every core
/// verifying at once reached in-process.
async fn scenarios(backend: &'static str, db: &Db, size: Size, argon2_ms: f64, ceiling: f64) -> Vec<Row> {
    // Webhooks go to a receiver in this process, on the loopback address.
    let env =
        [("USHER_BOOTSTRAP_PASSWORD", usher_e2e::OPERATOR_PASSWORD), ("USHER_WEBHOOK_ALLOW_PRIVATE", "true")];
    let server = Server::start_with(db, &env).await;
    let pid = server.pid();
    // Idle: started, migrated and ready, before the first request.
    let idle = resident_mib(pid);
    let mut rows = Vec::new();
    // First, so that the server's peak memory is the import's.
    rows.push(import_file(&server, backend, size.imported).await);
    if size.import_only {
        return rows;
    }
    let stage = stage(&server).await;
    let tenant = &stage.tenant;
    let account = &tenant.account;

    let login = format!(
        r#"[[{{"account":"{}","username":"admin@{}.example.com","password":"{}"}}]]"#,
        tenant.slug,
        tenant.slug,
        usher_e2e::TENANT_PASSWORD
    );
    let flood = Request {
        method: "POST",
        path: "/v1/auth/login",
        token: None,
        body: Some(&login),
        pace_ms: 0,
        form: false,
        cookie: None,
    };
    // A probe of about 100 calls/s, so that the flood, not the probe, fills the machine.
    let me = Request {
        method: "GET",
        path: "/v1/me",
        token: Some(&tenant.token),
        body: None,
        pace_ms: 10,
        form: false,
        cookie: None,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let limit = if argon2_ms > 0.0 { cores * 1000.0 / argon2_ms } else { 0.0 };
    let (flood_load, me_load) = std::thread::scope(|scope| {
        let me_run = scope.spawn(|| wrk(&server.base, &me, 1, size.seconds));
        (wrk(&server.base, &flood, 16, size.seconds), me_run.join().expect("the /v1/me run"))
    });
    let share = if limit > 0.0 { flood_load.rate() / limit } else { 0.0 };
    rows.push(row(
        backend,
        "login flood",
        format!(
            "{:.0} logins/s, {share:.2} of the limit ({limit:.0}/s), {:.2} of the in-process ceiling",
            flood_load.rate(),
            flood_load.rate() / ceiling.max(f64::EPSILON)
        ),
        "≥ 0.9 of the limit",
        flood_load,
    ));
    rows.push(row(
        backend,
        "`GET /v1/me` p99 during the flood",
        format!("{:.1} ms", me_load.p99_ms),
        "< 10 ms",
        me_load,
    ));

    let (seat, invited) = writes(&server, tenant, &tenant.user_type, "s", size.seconds);
    let (no_seat, _) = writes(&server, tenant, &stage.no_seat_type, "k", 1);
    for (scenario, load) in
        [("create user over HTTP, seat type", seat), ("create user over HTTP, no-seat type", no_seat)]
    {
        rows.push(row(
            backend,
            scenario,
            format!("{:.0} users/s", load.rate()),
            "≥ 2,000 SQLite / ≥ 3,000 PostgreSQL",
            load,
        ));
    }
    let load = create_in_process(db, tenant, size.seconds).await;
    rows.push(row(
        backend,
        "create user in-process, seat type",
        format!("{:.0} users/s", load.rate()),
        "report",
        load,
    ));
    rows.push(row(
        backend,
        "invite one address",
        format!("{:.0} invitations/s", invited.rate()),
        "≥ 2,000",
        invited,
    ));

    let (many, probe) = introspection(&server, tenant, size.seconds).await;
    rows.push(row(
        backend,
        "token introspection",
        format!("{:.0}/s at 16 connections; p99 {:.1} ms at 1", many.rate(), probe.p99_ms),
        "p99 < 5 ms",
        Load { requests: many.requests + probe.requests, errors: many.errors + probe.errors, ..probe },
    ));
    let latencies = webhook_latencies(&server, tenant, size.hooked).await;
    rows.push(Row {
        backend,
        scenario: format!("commit to webhook, {} changes one by one", size.hooked),
        figure: format!(
            "p50 {:.0} ms, p99 {:.0} ms",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        ),
        target: "< 1 s",
        requests: latencies.len() as u64,
        errors: (size.hooked - latencies.len()) as u64,
    });

    let path = format!("/v1/accounts/{account}/invitations");
    let emails: Vec<String> = (0..size.bulk).map(|i| format!("bulk{i}@bulk.example.com")).collect();
    let invite = json!({"emails": emails, "user_type": tenant.user_type, "roles": [tenant.user_role]});
    let started = Instant::now();
    let (status, answer) = server.call(Method::POST, &path, Some(&tenant.token), Some(invite)).await;
    let took = started.elapsed();
    let invited = answer["counts"]["invited"].as_u64().unwrap_or(0);
    let bulk_errors = u64::from(status != StatusCode::OK) + (size.bulk as u64).saturating_sub(invited);
    rows.push(Row {
        backend,
        scenario: format!("bulk invitation of {} addresses", size.bulk),
        figure: format!("{:.2} s, {invited} invited", took.as_secs_f64()),
        target: "< 1 s; exactly 1,000",
        requests: 1,
        errors: bulk_errors,
    });

    let store = SqlStore::open(&StoreConfig::new(db.url.clone())).await.expect("open the store");
    let mut loaded = 0;
    let mut rates = Vec::new();
    for &population in size.populations {
        let took = load_users(&store, tenant, loaded, population).await;
        settle(db);
        eprintln!("bench: {backend}: {} users loaded in {:.1} s", population - loaded, took.as_secs_f64());
        loaded = population;
        let at = thousands(population);
        let (created, invited) =
            writes(&server, tenant, &tenant.user_type, &format!("at{at}x"), size.population_seconds);
        rates.push((at.clone(), created.rate(), invited.rate()));
        rows.push(row(
            backend,
            &format!("at {at} users: create user / invite one address"),
            format!("{:.0} users/s / {:.0} invitations/s", created.rate(), invited.rate()),
            "flat (within 20 %)",
            Load {
                requests: created.requests + invited.requests,
                errors: created.errors + invited.errors,
                ..created
            },
        ));
        let middle = loaded_name(population / 2);
        let cursor = Cursor { key: middle.clone(), id: Uuid::nil() }.encode();
        let prefix = &middle[..middle.len() - 1];
        for (kind, query) in [
            ("first page", String::new()),
            ("a deep cursor", format!("&cursor={cursor}")),
            ("a prefix search", format!("&q={prefix}")),
        ] {
            let scenario = format!("at {at} users: list 50, {kind}");
            rows.push(list_row(backend, scenario, list(&server, tenant, &query, size.population_seconds)));
        }
        let (console, html, css, js) = console_users_page(&server, tenant, size.population_seconds).await;
        rows.push(Row {
            backend,
            scenario: format!("at {at} users: console users page (HTML {html} B, CSS {css} B, JS {js} B)"),
            figure: format!("1 connection p50 {:.1} ms, p99 {:.1} ms", console.p50_ms, console.p99_ms),
            target: "p99 < 50 ms",
            requests: console.requests,
            errors: console.errors,
        });
        let lookup = scim_lookup(&server, tenant, &middle, size.population_seconds);
        rows.push(Row {
            backend,
            scenario: format!("at {at} users: SCIM `GET /Users?filter=userName eq \"…\"`"),
            figure: format!("1 connection p50 {:.1} ms, p99 {:.1} ms", lookup.p50_ms, lookup.p99_ms),
            target: "p99 < 10 ms",
            requests: lookup.requests,
            errors: lookup.errors,
        });
    }
    if let (Some(first), Some(last)) = (rates.first(), rates.last()) {
        let ratio = |a: f64, b: f64| if a > 0.0 { b / a } else { 0.0 };
        rows.push(Row {
            backend,
            scenario: format!("writes at {} against {}", last.0, first.0),
            figure: format!(
                "creations {:.2}×, invitations {:.2}×",
                ratio(first.1, last.1),
                ratio(first.2, last.2)
            ),
            target: "within 20 % (0.8× to 1.2×)",
            requests: 0,
            errors: 0,
        });
    }
    drop(store);

    let after = resident_mib(pid);
    rows.push(Row {
        backend,
        scenario: "server resident memory, idle / after the load".to_owned(),
        figure: format!("{idle:.0} / {after:.0} MiB"),
        target: "< 50 / < 200",
        requests: 0,
        errors: 0,
    });
    drop(server);
    if backend == "SQLite" {
        // Open the file of the largest population again, as a restart would.
        let started = Instant::now();
        let again = Server::start(db).await;
        let (status, _) = again.call(Method::GET, "/readyz", None, None).await;
        let took = started.elapsed();
        rows.push(Row {
            backend,
            scenario: format!("start-up to `/readyz` on a file of {} users", thousands(loaded)),
            figure: format!("{:.0} ms", took.as_secs_f64() * 1000.0),
            target: "< 1,000 ms",
            requests: 1,
            errors: u64::from(status != StatusCode::OK),
        });
        drop(again);
    }
    rows
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| backend | scenario | figure | target | requests | errors |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.backend, r.scenario, r.figure, r.target, r.requests, r.errors
        )
        .expect("write to a string");
    }
    out
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find_map(|l| l.strip_prefix("MemTotal:").map(str::trim).map(str::to_owned)))
        .unwrap_or_default();
    let version = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or_default().trim().to_owned())
            .unwrap_or_default()
    };
    format!(
        "{cores} cores, {memory} memory; usher {}, {}, {}",
        env!("CARGO_PKG_VERSION"),
        version("rustc", "-V"),
        version("wrk", "-v").split(" [").next().unwrap_or_default()
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let write = args.iter().position(|a| a == "--write").and_then(|i| args.get(i + 1)).cloned();
    // `--only sqlite` or `--only postgres`: one backend, e.g. to profile it.
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).cloned();
    let runs = |backend: &str| only.as_deref().is_none_or(|o| o == backend);
    let mut size = if quick {
        Size {
            seconds: 1,
            population_seconds: 1,
            bulk: 50,
            populations: &[200, 500, 1_000],
            verifications: 2,
            hooked: 5,
            imported: 2_000,
            import_only: false,
        }
    } else {
        Size {
            seconds: 10,
            population_seconds: 10,
            bulk: 1_000,
            populations: &[10_000, 100_000, 1_000_000],
            verifications: 20,
            hooked: 200,
            imported: 100_000,
            import_only: false,
        }
    };

    // `--skip-populations`: the scenarios on a small tenant only (minutes less, for profiling).
    if args.iter().any(|a| a == "--skip-populations") {
        size.populations = &[];
    }
    // `--import-only`: the import of one file, and nothing else.
    size.import_only = args.iter().any(|a| a == "--import-only");
    // `--population N`: the population scenarios at N users only (e.g. SCIM lookups at 100,000).
    if let Some(n) = args.iter().position(|a| a == "--population").and_then(|i| args.get(i + 1)) {
        let Ok(n) = n.parse::<usize>() else {
            eprintln!("bench: --population takes a number of users, not {n}");
            return ExitCode::FAILURE;
        };
        size.populations = Vec::leak(vec![n]);
    }
    let argon2_ms = argon2_verification_ms(size.verifications).await;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rows = vec![Row {
        backend: "—",
        scenario: "one argon2id verification with usher's parameters, in-process".to_owned(),
        figure: format!(
            "{argon2_ms:.1} ms: a limit of {:.0} logins/s on {cores} cores",
            cores as f64 * 1000.0 / argon2_ms.max(f64::EPSILON)
        ),
        target: "—",
        requests: u64::from(size.verifications),
        errors: 0,
    }];
    let parallel = argon2_parallel_rate(cores, size.verifications).await;
    let limit = cores as f64 * 1000.0 / argon2_ms.max(f64::EPSILON);
    rows.push(Row {
        backend: "—",
        scenario: format!("argon2id verifications on {cores} threads at once, in-process"),
        figure: format!("{parallel:.0}/s, {:.2} of the limit: the best a flood can reach", parallel / limit),
        target: "—",
        requests: u64::from(size.verifications) * cores as u64,
        errors: 0,
    });
    if runs("sqlite") {
        let sqlite = Db::sqlite().await;
        rows.extend(scenarios("SQLite", &sqlite, size, argon2_ms, parallel).await);
        sqlite.drop_database().await;
    }
    if runs("postgres")
        && let Some(postgres) = Db::postgres().await
    {
        rows.extend(scenarios("PostgreSQL", &postgres, size, argon2_ms, parallel).await);
        postgres.drop_database().await;
    }

    let table = table(&rows);
    println!("{table}");
    if let Some(file) = write {
        let date = Command::new("date")
            .arg("-u")
            .arg("+%Y-%m-%d")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let text = format!(
            "# Benchmarks\n\n`cargo xtask bench` on {date}: {}. Loopback, 16 connections unless said, `wrk` for the load.\n\n{table}",
            machine()
        );
        std::fs::write(&file, text).expect("write the table");
    }
    let failed: Vec<&Row> = rows.iter().filter(|r| r.errors > 0).collect();
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        for r in failed {
            eprintln!(
                "bench: {} / {}: {} errors in {} requests",
                r.backend, r.scenario, r.errors, r.requests
            );
        }
        ExitCode::FAILURE
    }
}
