//! Embedding usher in another Rust service: wire the ports (here the in-memory adapters),
//! then call the use cases with an actor. Run with `cargo run -p usher-contract --example embed`.
#![allow(clippy::print_stdout, reason = "an example prints what it did")]

use std::collections::BTreeSet;
use std::sync::Arc;

use usher_contract::memory::{DeterministicTokens, InMemoryStore, ManualClock, SequentialIds, TestHasher};
use usher_domain::authz::{Actor, ActorKind};
use usher_domain::password::ShippedPasswordList;
use usher_domain::ports::MailcheckerList;
use usher_domain::rules::ThrottlePolicy;
use usher_domain::service::invitations::{self, NewInvitations};
use usher_domain::service::{Ports, accounts, catalog, sessions};
use usher_domain::time::Timestamp;
use usher_domain::value::PlainPassword;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Ports: swap in your own store, clock and hasher (argon2id) in production.
    let ports = Ports {
        store: Arc::new(InMemoryStore::new()),
        clock: Arc::new(ManualClock::at(Timestamp::from_datetime(
            time::macros::datetime!(2026-11-23 09:00 UTC),
        ))),
        ids: Arc::new(SequentialIds::default()),
        tokens: Arc::new(DeterministicTokens::default()),
        hasher: Arc::new(TestHasher::default()),
        breached: Arc::new(ShippedPasswordList),
        disposable: Arc::new(MailcheckerList),
        throttle: ThrottlePolicy::standard(),
        signing: None,
    };

    // 2. The operator creates a customer account; its creator becomes the first admin.
    let operator = Actor::new(ActorKind::System);
    let password = PlainPassword::new("correct horse battery staple");
    let created = accounts::create_root_account(
        &ports,
        &operator,
        accounts::NewRootAccount {
            slug: "acme".into(),
            name: "Acme Corp".into(),
            admin_email: "owner@acme.example.com".into(),
            admin_username: Some("owner".into()),
            admin_password: Some(password.clone()),
            admin_seats: 1,
            user_seats: 2,
        },
    )
    .await?;
    println!("created account {} with admin {}", created.account.slug, created.admin.username);

    // 3. The admin logs in; the token resolves to an actor with effective permissions.
    let credentials = sessions::Credentials { account: "acme".into(), username: "owner".into(), password };
    let session = sessions::login(&ports, Some("127.0.0.1"), credentials).await?;
    let admin = sessions::authenticate(&ports, session.token.expose(), None).await?.actor;

    // 4. Bulk invitation: one outcome per address; pending invitations reserve seats (R1, R10).
    let user_type = catalog::list_user_types(&ports, &admin, created.account.id)
        .await?
        .into_iter()
        .find(|t| t.key.as_str() == "user")
        .ok_or("no user type")?;
    let user_role = usher_domain::service::catalog::list_roles(&ports, &admin, created.account.id)
        .await?
        .into_iter()
        .find(|r| r.name.as_str() == "user")
        .ok_or("no user role")?;
    let outcomes = invitations::invite(
        &ports,
        &admin,
        created.account.id,
        NewInvitations {
            emails: vec![
                "ana@example.com".into(),
                "bo@mailinator.com".into(),
                "cy@example.com".into(),
                "di@example.com".into(),
            ],
            user_type: user_type.id,
            roles: BTreeSet::from([user_role.id]),
            scope: BTreeSet::new(),
            locale: None,
        },
    )
    .await?;
    for (email, outcome) in &outcomes {
        println!("{email}: {}", outcome.code());
    }
    for (user_type, usage) in catalog::get_subscription(&ports, &admin, created.account.id).await? {
        println!(
            "{}: {} used, {} reserved, {} free of {}",
            user_type.key,
            usage.used,
            usage.reserved,
            usage.free(),
            usage.total
        );
    }
    Ok(())
}
