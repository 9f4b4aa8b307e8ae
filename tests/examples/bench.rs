//! The benchmark behind `cargo xtask bench` (DESIGN §6): starts the built `usher serve` on a
//! SQLite file, then on a PostgreSQL database, over loopback, drives each scenario with `wrk`
//! (16 connections, latency histograms from its Lua `done` hook) and prints one markdown
//! table; `--write FILE` also writes it with the date, the machine and the versions.
//!
//! Every scenario reports its request and error counts, and a scenario with an error fails
//! the run: a run with errors is not a result. `--quick` runs every scenario small (what
//! `cargo xtask test` does, to keep the bench from rotting; it checks errors, not speed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a benchmark program: a failed setup is a failed run, and it reports on stdout"
)]

use std::fmt::Write as _;
use std::process::{Command, ExitCode};
use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_e2e::{Db, Server, Tenant};

/// How a run is sized.
#[derive(Debug, Clone, Copy)]
struct Size {
    /// Seconds each load scenario runs.
    seconds: u32,
    /// Addresses in the bulk invitation.
    bulk: usize,
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
}

fn lua(request: &Request<'_>) -> String {
    let auth = request
        .token
        .map(|t| format!("wrk.headers[\"Authorization\"] = \"Bearer {t}\"\n"))
        .unwrap_or_default();
    let body = request.body.unwrap_or("nil");
    format!(
        r#"local counter = 0
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
{auth}request = function()
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
    let seats = json!({"seats": [{"user_type": tenant.user_type, "total": 1_000_000}]});
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

async fn scenarios(backend: &'static str, db: &Db, size: Size) -> Vec<Row> {
    let server = Server::start(db).await;
    let pid = server.pid();
    let mut rows = Vec::new();
    let stage = stage(&server).await;
    let tenant = &stage.tenant;
    let account = &tenant.account;
    let idle = resident_mib(pid);

    let login = format!(
        r#"[[{{"account":"{}","username":"admin@{}.example.com","password":"{}"}}]]"#,
        tenant.slug,
        tenant.slug,
        usher_e2e::TENANT_PASSWORD
    );
    let flood = Request { method: "POST", path: "/v1/auth/login", token: None, body: Some(&login) };
    let me = Request { method: "GET", path: "/v1/me", token: Some(&tenant.token), body: None };
    // One login at a time costs one argon2id verification plus the request around it, so
    // the machine's limit is at least its cores divided by that time.
    let single = wrk(&server.base, &flood, 1, size.seconds);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let limit = if single.p50_ms > 0.0 { cores * 1000.0 / single.p50_ms } else { 0.0 };
    rows.push(row(
        backend,
        "one login at a time (an argon2id verification and its request)",
        format!("p50 {:.1} ms: a limit of {limit:.0} logins/s on {cores} cores", single.p50_ms),
        "—",
        single,
    ));
    let (flood_load, me_load) = std::thread::scope(|scope| {
        let me_run = scope.spawn(|| wrk(&server.base, &me, 1, size.seconds));
        (wrk(&server.base, &flood, 16, size.seconds), me_run.join().expect("the /v1/me run"))
    });
    let share = if limit > 0.0 { flood_load.rate() / limit } else { 0.0 };
    rows.push(row(
        backend,
        "login flood",
        format!("{:.0} logins/s, {share:.2} of the limit", flood_load.rate()),
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

    for (scenario, prefix, user_type) in [
        ("create user, seat type", "s", &tenant.user_type),
        ("create user, no-seat type", "k", &stage.no_seat_type),
    ] {
        let body = format!(
            r#"string.format([[{{"username":"{prefix}%d","email":"{prefix}%d@bench.example.com","user_type":"{user_type}","roles":["{}"]}}]], n, n)"#,
            tenant.user_role
        );
        let path = format!("/v1/accounts/{account}/users");
        let request = Request { method: "POST", path: &path, token: Some(&tenant.token), body: Some(&body) };
        let load = wrk(&server.base, &request, 16, size.seconds);
        rows.push(row(
            backend,
            scenario,
            format!("{:.0} users/s", load.rate()),
            "≥ 2,000 SQLite / ≥ 3,000 PostgreSQL",
            load,
        ));
    }

    let body = format!(
        r#"string.format([[{{"emails":["i%d@invited.example.com"],"user_type":"{}","roles":["{}"]}}]], n)"#,
        tenant.user_type, tenant.user_role
    );
    let path = format!("/v1/accounts/{account}/invitations");
    let request = Request { method: "POST", path: &path, token: Some(&tenant.token), body: Some(&body) };
    let load = wrk(&server.base, &request, 16, size.seconds);
    rows.push(row(
        backend,
        "invite one address",
        format!("{:.0} invitations/s", load.rate()),
        "≥ 2,000",
        load,
    ));

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

    let path = format!("/v1/accounts/{account}/users?limit=50");
    let request = Request { method: "GET", path: &path, token: Some(&tenant.token), body: None };
    let many = wrk(&server.base, &request, 16, size.seconds);
    rows.push(row(
        backend,
        "list users, first page of 50",
        format!("{:.0} pages/s", many.rate()),
        "≥ 2,000 pages/s",
        many,
    ));
    let one = wrk(&server.base, &request, 1, size.seconds);
    rows.push(row(
        backend,
        "list users, first page, 1 connection",
        format!("p50 {:.1} ms, p99 {:.1} ms", one.p50_ms, one.p99_ms),
        "p99 < 10 ms",
        one,
    ));

    let loaded = resident_mib(pid);
    rows.push(Row {
        backend,
        scenario: "server resident memory, idle / after the load".to_owned(),
        figure: format!("{idle:.0} / {loaded:.0} MiB"),
        target: "< 50 / < 200",
        requests: 0,
        errors: 0,
    });
    drop(server);
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
    let size = if quick { Size { seconds: 1, bulk: 50 } } else { Size { seconds: 10, bulk: 1_000 } };

    let mut rows = Vec::new();
    let sqlite = Db::sqlite().await;
    rows.extend(scenarios("SQLite", &sqlite, size).await);
    sqlite.drop_database().await;
    if let Some(postgres) = Db::postgres().await {
        rows.extend(scenarios("PostgreSQL", &postgres, size).await);
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
