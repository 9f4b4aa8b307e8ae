//! A quick figure, not a benchmark: how many "create user with its audit event and welcome
//! mail" use cases per second a database takes, one at a time and from 8 tasks at once.
//!
//! `cargo run --release -p usher-store --example insert_rate -- <database-url> [users]`
//! (an empty database; `sqlite:/tmp/rate.db` or `postgres://postgres@127.0.0.1/rate`).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "a measuring tool"
)]

use std::sync::Arc;
use std::time::Instant;

use usher_contract::harness::Harness;
use usher_domain::service::users;
use usher_store::{SqlStore, StoreConfig};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: insert_rate <database-url> [users]");
    let n: usize = args.next().map_or(2_000, |n| n.parse().expect("users"));
    let store = Arc::new(SqlStore::open(&StoreConfig::new(url.clone())).await.expect("open"));
    let h = Harness::new(store);
    let tenant = h.tenant("rate", u32::try_from(n * 2 + 10).unwrap()).await;
    let create = |h: Harness, tenant: usher_contract::harness::Tenant, i: usize| async move {
        let mut command = h.new_user(&tenant, &format!("user{i}"));
        command.send_welcome = true;
        users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.expect("create")
    };
    let started = Instant::now();
    for i in 0..n {
        create(h.clone(), tenant.clone(), i).await;
    }
    let serial = n as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let (h, tenant) = (h.clone(), tenant.clone());
            tokio::spawn(async move {
                for i in (n + t..2 * n).step_by(8) {
                    create(h.clone(), tenant.clone(), i).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let parallel = n as f64 / started.elapsed().as_secs_f64();
    let (audit, mail) = h.counts(tenant.account.id).await;
    println!(
        "{url}: {serial:.0} users/s one at a time, {parallel:.0} users/s from 8 tasks ({audit} audit events, {mail} mails)"
    );
}
