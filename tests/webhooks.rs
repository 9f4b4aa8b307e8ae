//! Webhooks over real HTTP (R26), verified by the Standard Webhooks reference library in
//! Python (`webhooks/receiver.py`): deliveries are signed, arrive in feed order, skip the
//! origins excluded, survive a rotation of the secret, are retried after a failure, and
//! survive a server killed in the middle of one.
#![allow(clippy::print_stderr, clippy::disallowed_methods, reason = "tests read their environment")]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};
use usher_e2e::{Db, Server, Tenant, id, until};

/// A running `receiver.py`, killed when dropped.
struct Receiver {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Receiver {
    fn start(python: &Path, extra: &[&str]) -> Receiver {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "whsec_").unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("webhooks/receiver.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg("--secret-file")
            .arg(dir.path().join("secret"))
            .arg("--log")
            .arg(dir.path().join("log.jsonl"))
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the receiver");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("listening ").and_then(|p| p.parse().ok()).expect("a port");
        Receiver { child, port, dir }
    }
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/usher", self.port)
    }
    fn use_secret(&self, secret: &str) {
        std::fs::write(self.dir.path().join("secret"), secret).unwrap();
    }
    /// Every answered request so far.
    fn log(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("log.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|r| r.get("id").is_some())
            .collect()
    }
    /// Whether a request has started (with `--delay-ms`).
    fn started(&self) -> bool {
        std::fs::read_to_string(self.dir.path().join("log.jsonl")).unwrap_or_default().contains("started")
    }
    /// The deliveries answered 204, once each by webhook-id, in arrival order.
    async fn delivered(&self, n: usize) -> Vec<Value> {
        until(&format!("{n} deliveries"), || async {
            let mut seen = BTreeSet::new();
            let firsts: Vec<Value> = self
                .log()
                .into_iter()
                .filter(|r| r["status"] == 204 && seen.insert(r["id"].as_str().unwrap().to_owned()))
                .collect();
            (firsts.len() >= n).then_some(firsts)
        })
        .await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_server(db: &Db, lease: &str) -> Server {
    Server::start_with(
        db,
        &[
            ("USHER_BOOTSTRAP_PASSWORD", usher_e2e::OPERATOR_PASSWORD),
            ("USHER_WEBHOOK_ALLOW_PRIVATE", "true"),
            ("USHER_WEBHOOK_LEASE_SECONDS", lease),
        ],
    )
    .await
}

async fn webhook(server: &Server, tenant: &Tenant, receiver: &Receiver, body: Value) -> (String, String) {
    let mut body = body;
    body["url"] = json!(receiver.url());
    let (status, created) =
        server.post(&format!("/v1/accounts/{}/webhooks", tenant.account), &tenant.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    receiver.use_secret(&secret);
    (id(&created["webhook"]), secret)
}

async fn create_user(server: &Server, tenant: &Tenant, token: &str, name: &str) {
    let body = json!({"username": name, "email": format!("{name}@acme.example.com"), "user_type": tenant.user_type, "roles": [tenant.user_role]});
    let (status, answer) = server.post(&format!("/v1/accounts/{}/users", tenant.account), token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

fn sequences(records: &[Value]) -> Vec<u64> {
    records.iter().map(|r| r["sequence"].as_u64().unwrap()).collect()
}

async fn deliveries_verify_with_the_reference_library(python: PathBuf, db: Db) -> Db {
    let server = start_server(&db, "120").await;
    let acme = server.tenant("acme", 20).await;
    let receiver = Receiver::start(&python, &["--fail-first", "1"]);
    let body = json!({"types": ["user.*"], "exclude_origins": ["pos"]});
    let (webhook, first_secret) = webhook(&server, &acme, &receiver, body).await;
    let granted = ["contacts", "orders", "catalog", "quotes", "reports"]
        .into_iter()
        .flat_map(|module| [format!("{module}:read"), format!("{module}:write")]);
    let permissions: Vec<String> =
        ["users:read", "users:write"].into_iter().map(String::from).chain(granted).collect();
    let key = json!({"name": "pos", "permissions": permissions});
    let (_, key) = server.post(&format!("/v1/accounts/{}/api-keys", acme.account), &acme.token, key).await;
    let pos = key["secret"].as_str().unwrap().to_owned();

    create_user(&server, &acme, &acme.token, "ann").await;
    create_user(&server, &acme, &pos, "echo").await;
    create_user(&server, &acme, &acme.token, "bob").await;
    create_user(&server, &acme, &acme.token, "cy").await;
    let delivered = receiver.delivered(3).await;
    let all = receiver.log();
    assert!(all.iter().all(|r| r["valid"] == true), "every delivery verifies: {all:?}");
    assert_eq!(all[0]["status"], 500, "the first attempt was answered 500");
    assert_eq!(all[1]["id"], all[0]["id"], "and retried with the same webhook-id");
    let numbers = sequences(&delivered);
    assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]), "in feed order: {numbers:?}");
    assert!(delivered.iter().all(|r| r["origin"] != "pos"), "the pos app's own change is not echoed");
    let (status, log) = server.get(&format!("/v1/webhooks/{webhook}/deliveries"), &acme.token).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let oldest = log["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (oldest["attempts"].as_u64(), oldest["last_status"].as_u64()),
        (Some(2), Some(204)),
        "{oldest}"
    );
    assert_eq!(oldest["status"], "delivered");

    // Rotation: for a day both secrets sign, so a receiver on either verifies.
    let (status, rotated) =
        server.post(&format!("/v1/webhooks/{webhook}/secret"), &acme.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    receiver.use_secret(rotated["secret"].as_str().unwrap());
    create_user(&server, &acme, &acme.token, "dee").await;
    assert_eq!(receiver.delivered(4).await[3]["signatures"], 2);
    receiver.use_secret(&first_secret);
    create_user(&server, &acme, &acme.token, "eve").await;
    receiver.delivered(5).await;
    assert!(receiver.log().iter().all(|r| r["valid"] == true), "the old secret verifies during the overlap");

    // Replay: the same webhook-id again.
    let (status, replayed) = server
        .post(&format!("/v1/webhooks/{webhook}/deliveries/{}/replay", id(&oldest)), &acme.token, json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{replayed}");
    let first_id = oldest["event_id"].as_str().unwrap().to_owned();
    until("the replayed delivery", || async {
        (receiver.log().iter().filter(|r| r["id"] == first_id.as_str() && r["status"] == 204).count() == 2)
            .then_some(())
    })
    .await;
    drop(server);
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r26_deliveries_verify_with_the_standard_webhooks_library_on_sqlite() {
    let Some(python) = usher_e2e::checkers_python() else { return };
    deliveries_verify_with_the_reference_library(python, Db::sqlite().await).await.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r26_deliveries_verify_with_the_standard_webhooks_library_on_postgres() {
    let Some(python) = usher_e2e::checkers_python() else { return };
    let Some(db) = Db::postgres().await else { return };
    deliveries_verify_with_the_reference_library(python, db).await.drop_database().await;
}

/// R26: 500 changes in one transaction (a bulk invitation) arrive as 500 deliveries, each
/// once, in feed order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r26_five_hundred_changes_arrive_as_five_hundred_deliveries_in_order() {
    let Some(python) = usher_e2e::checkers_python() else { return };
    let Some(db) = Db::postgres().await else { return };
    let server = start_server(&db, "120").await;
    let acme = server.tenant("acme", 600).await;
    let receiver = Receiver::start(&python, &[]);
    webhook(&server, &acme, &receiver, json!({"types": ["invitation.created"]})).await;
    let emails: Vec<String> = (0..500).map(|n| format!("invitee{n}@acme.example.com")).collect();
    let invite = json!({"emails": emails, "user_type": acme.user_type, "roles": [acme.user_role]});
    let (status, outcomes) =
        server.post(&format!("/v1/accounts/{}/invitations", acme.account), &acme.token, invite).await;
    assert_eq!(status, StatusCode::OK, "{outcomes}");
    let delivered = receiver.delivered(500).await;
    assert_eq!(delivered.len(), 500);
    let numbers = sequences(&delivered);
    assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]), "in feed order");
    assert!(receiver.log().iter().all(|r| r["valid"] == true));
    assert_eq!(receiver.log().len(), 500, "none twice");
    drop(server);
    db.drop_database().await;
}

/// R26: a server killed in the middle of a delivery leaves it to the next one, which sends it
/// again once the lease ends: every event arrives, at least once, in order of first arrival.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r26_a_server_killed_mid_delivery_loses_nothing() {
    let Some(python) = usher_e2e::checkers_python() else { return };
    let Some(db) = Db::postgres().await else { return };
    let server = start_server(&db, "3").await;
    let acme = server.tenant("acme", 20).await;
    let receiver = Receiver::start(&python, &["--delay-ms", "1500"]);
    webhook(&server, &acme, &receiver, json!({"types": ["user.created"]})).await;
    for name in ["ann", "bob", "cy"] {
        create_user(&server, &acme, &acme.token, name).await;
    }
    until("a delivery in flight", || async { receiver.started().then_some(()) }).await;
    server.kill();
    let _restarted = start_server(&db, "3").await;
    let delivered = receiver.delivered(3).await;
    let numbers = sequences(&delivered);
    assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]), "in feed order: {numbers:?}");
    assert!(receiver.log().iter().all(|r| r["valid"] == true));
    drop(_restarted);
    db.drop_database().await;
}
