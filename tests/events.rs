//! The event feed over HTTP (R26): an app reads every change in commit order with a cursor,
//! and knows its own changes by their origin; concurrent writers on one or two server
//! instances never make the reader miss or repeat an event.

use std::collections::BTreeSet;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_e2e::{Db, Server, Tenant, id};

/// One page of the feed after `after`, with `types` if given.
async fn page(
    server: &Server,
    tenant: &Tenant,
    token: &str,
    after: u64,
    types: Option<&str>,
) -> (Vec<Value>, u64) {
    let mut path = format!("/v1/accounts/{}/events?after={after}&limit=50", tenant.account);
    if let Some(types) = types {
        path.push_str(&format!("&types={types}"));
    }
    let (status, body) = server.get(&path, token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let next = body["next_after"].as_u64().expect("next_after");
    (body["items"].as_array().expect("items").clone(), next)
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().expect("type")).collect()
}

async fn create_user(server: &Server, tenant: &Tenant, token: &str, name: &str, origin: Option<&str>) {
    let body = json!({
        "username": name, "email": format!("{name}@acme.example.com"),
        "user_type": tenant.user_type, "roles": [tenant.user_role],
    });
    let headers: Vec<(&str, &str)> = origin.map(|o| ("X-Usher-Origin", o)).into_iter().collect();
    let path = format!("/v1/accounts/{}/users", tenant.account);
    let (status, _, created) =
        server.call_with_headers(Method::POST, &path, Some(token), Some(body), &headers).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
}

async fn apps_follow_the_feed_and_know_their_own_changes(server: Server, db: Db) -> Db {
    let acme = server.tenant("acme", 20).await;
    // A key grants the `user` role only if it holds the role's permissions itself (R24).
    let granted = ["contacts", "orders", "catalog", "quotes", "reports"]
        .into_iter()
        .flat_map(|module| [format!("{module}:read"), format!("{module}:write")]);
    let permissions: Vec<String> =
        ["users:read", "users:write", "events:read"].into_iter().map(String::from).chain(granted).collect();
    let key = json!({"name": "pos", "permissions": permissions});
    let (status, key) =
        server.post(&format!("/v1/accounts/{}/api-keys", acme.account), &acme.token, key).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let pos = key["secret"].as_str().expect("secret").to_owned();
    let (_, start) = page(&server, &acme, &pos, 0, None).await;

    create_user(&server, &acme, &pos, "ann", None).await;
    create_user(&server, &acme, &pos, "bob", Some("crm-sync")).await;
    let (status, users) =
        server.get(&format!("/v1/accounts/{}/users?q=ann", acme.account), &acme.token).await;
    assert_eq!(status, StatusCode::OK);
    let ann = id(&users["items"][0]);
    let (status, _) = server.post(&format!("/v1/users/{ann}/disable"), &acme.token, json!({})).await;
    assert_eq!(status, StatusCode::OK);

    let (events, next) = page(&server, &acme, &pos, start, Some("user.*")).await;
    assert_eq!(kinds(&events), ["user.created", "user.created", "user.disabled"]);
    assert_eq!(next, events[2]["sequence"].as_u64().unwrap(), "next_after is the last sequence");
    let origins: Vec<&Value> = events.iter().map(|e| &e["actor"]["origin"]).collect();
    assert_eq!(
        origins,
        [&json!("pos"), &json!("crm-sync"), &Value::Null],
        "the key's name unless the header says"
    );
    assert_eq!(events[0]["actor"]["kind"], "api_key");
    assert_eq!(events[2]["actor"]["kind"], "user");
    assert_eq!(events[0]["data"]["username"], "ann");
    assert_eq!(events[2]["data"]["state"], "disabled");
    assert_eq!(events[2]["subject"], json!({"kind": "user", "id": ann}));
    let mine: Vec<&Value> = events.iter().filter(|e| e["actor"]["origin"] != "pos").collect();
    assert_eq!(mine.len(), 2, "the app drops its own echo by origin");
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains("usk_") && !text.contains("uss_"), "no secret in events: {text}");

    let (nothing, same) = page(&server, &acme, &pos, next, None).await;
    assert!(nothing.is_empty());
    assert_eq!(same, next, "with nothing new, next_after stays where it was");

    let path = format!("/v1/accounts/{}/events?types=user.renamed", acme.account);
    let (status, problem) = server.get(&path, &pos).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "types");
    let long = "x".repeat(101);
    let path = format!("/v1/accounts/{}/users", acme.account);
    let (status, _, problem) =
        server.call_with_headers(Method::GET, &path, Some(&pos), None, &[("X-Usher-Origin", &long)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["code"], "invalid_origin");
    let (status, problem) = server
        .get(&format!("/v1/accounts/{}/events", acme.account), &{
            let key = json!({"name": "blind", "permissions": ["users:read"]});
            let (_, key) =
                server.post(&format!("/v1/accounts/{}/api-keys", acme.account), &acme.token, key).await;
            key["secret"].as_str().unwrap().to_owned()
        })
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "events:read is needed: {problem}");
    db
}

#[tokio::test]
async fn r26_apps_follow_the_feed_and_know_their_own_changes_on_sqlite() {
    usher_e2e::on_sqlite(apps_follow_the_feed_and_know_their_own_changes).await;
}

#[tokio::test]
async fn r26_apps_follow_the_feed_and_know_their_own_changes_on_postgres() {
    usher_e2e::on_postgres(apps_follow_the_feed_and_know_their_own_changes).await;
}

const WRITERS: usize = 8;
const EACH: usize = 10;

/// 8 writers create users through `servers` in turn while a reader follows the feed through
/// the first; the reader gets every `user.created` once, in rising order.
async fn writers_and_a_reader(servers: Vec<Arc<Server>>) {
    let tenant = servers[0].tenant("acme", 200).await;
    let (_, start) = page(&servers[0], &tenant, &tenant.token, 0, None).await;
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let reader = {
        let (server, tenant, done) = (servers[0].clone(), tenant.clone(), done.clone());
        tokio::spawn(async move {
            let (mut seen, mut after) = (Vec::new(), start);
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst) == WRITERS;
                let (events, next) = page(&server, &tenant, &tenant.token, after, Some("user.created")).await;
                if events.is_empty() && finished {
                    return seen;
                }
                after = next;
                seen.extend(events);
            }
        })
    };
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let (server, tenant, done) = (servers[w % servers.len()].clone(), tenant.clone(), done.clone());
        writers.spawn(async move {
            for n in 0..EACH {
                create_user(&server, &tenant, &tenant.token, &format!("w{w}n{n}"), None).await;
            }
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
    }
    while let Some(finished) = writers.join_next().await {
        finished.unwrap();
    }
    let seen = reader.await.unwrap();
    let numbers: Vec<u64> = seen.iter().map(|e| e["sequence"].as_u64().unwrap()).collect();
    assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]), "rising, each once: {numbers:?}");
    let names: BTreeSet<&str> = seen.iter().map(|e| e["data"]["username"].as_str().unwrap()).collect();
    assert_eq!(names.len(), WRITERS * EACH, "every creation, none twice");
    assert_eq!(seen.len(), WRITERS * EACH);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r26_eight_writers_and_a_reader_on_sqlite() {
    let db = Db::sqlite().await;
    writers_and_a_reader(vec![Arc::new(Server::start(&db).await)]).await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r26_eight_writers_and_a_reader_on_postgres() {
    let Some(db) = Db::postgres().await else { return };
    writers_and_a_reader(vec![Arc::new(Server::start(&db).await)]).await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r26_eight_writers_and_a_reader_on_two_postgres_instances() {
    let Some(db) = Db::postgres().await else { return };
    let servers = vec![Arc::new(Server::start(&db).await), Arc::new(Server::start(&db).await)];
    writers_and_a_reader(servers).await;
    db.drop_database().await;
}
