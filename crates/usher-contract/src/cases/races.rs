//! Races: two handles on one store, as two server instances would have.

use super::*;
use usher_domain::service::{accounts, invitations, public, sessions, users};

/// Spawns `n` tasks, alternating between two handles on the store, and returns their results
/// in order.
async fn race<T, F, Fut>(first: &Harness, second: &Harness, n: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Harness, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = (0..n)
        .map(|i| tokio::spawn(task(if i % 2 == 0 { first.clone() } else { second.clone() }, i)))
        .collect();
    let mut results = Vec::with_capacity(n);
    for handle in tasks {
        results.push(handle.await.unwrap());
    }
    results
}

/// R1: 995 creations and 5 acceptances of pending invitations race for 10 seats through two
/// handles: the 5 invitations keep their seats, exactly 5 creations get the rest, every other
/// creation gets `NoSeatAvailable`, and the figures stay exact.
pub async fn r1_race_1000_creations_and_acceptances_for_10_seats(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 10).await;
    let emails: Vec<String> = (0..5).map(|n| format!("invitee{n}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    invite_all(&h, &tenant, &refs).await;
    let mut links = Vec::new();
    let mut tx = h.ports.store.begin().await.unwrap();
    let mail = tx.list_mail(&mail_query(tenant.account.id, PageRequest::first(50))).await.unwrap();
    for item in mail.items {
        if let usher_domain::model::MailMessage::Invitation { token: Some(token), .. } = item.mail.message {
            links.push(token.expose().to_owned());
        }
    }
    drop(tx);
    assert_eq!(links.len(), 5);
    assert_eq!(seats_of(&h, &tenant).await, (0, 5, 10));
    let links = Arc::new(links);
    let results = race(&h, &other, 1000, |h, i| {
        let (tenant, links) = (tenant.clone(), links.clone());
        async move {
            if i % 200 == 0 {
                let acceptance = Acceptance {
                    token: links[i / 200].clone(),
                    first_name: None,
                    last_name: None,
                    username: Some(format!("accepted{i}")),
                    password: PlainPassword::new(PASSWORD),
                };
                invitations::accept(&h.ports, acceptance)
                    .await
                    .map(|_| "accepted")
                    .map_err(|e| format!("{e:?}"))
            } else {
                match h.user(&tenant, tenant.account.id, &format!("racer{i}")).await {
                    Ok(_) => Ok("created"),
                    Err(UserError::NoSeatAvailable(_)) => Err("no seat".to_owned()),
                    Err(other) => Err(format!("{other:?}")),
                }
            }
        }
    })
    .await;
    let count = |wanted: &str| results.iter().filter(|r| r.as_deref() == Ok(wanted)).count();
    let refused = results.iter().filter(|r| matches!(r, Err(e) if e == "no seat")).count();
    let unexpected: Vec<_> =
        results.iter().filter_map(|r| r.as_ref().err()).filter(|e| *e != "no seat").collect();
    assert!(unexpected.is_empty(), "only NoSeatAvailable may fail a racer: {unexpected:?}");
    assert_eq!((count("accepted"), count("created"), refused), (5, 5, 990));
    assert_eq!(seats_of(&h, &tenant).await, (10, 0, 10));
}

/// R1: 1,000 racers on 10 seats through two handles: 5 disable the 5 users that hold seats, 3
/// accept the 3 pending invitations, and the rest create users. Every disable and acceptance
/// succeeds, a creation either succeeds or gets `NoSeatAvailable`, the seats are never
/// overallocated, and the pool's figures equal a recount from the users and invitations.
pub async fn r1_race_1000_creations_acceptances_and_disables_match_a_recount(
    a: Arc<dyn Store>,
    b: Arc<dyn Store>,
) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 10).await;
    let mut holders = Vec::new();
    for n in 0..5 {
        holders.push(h.user(&tenant, tenant.account.id, &format!("holder{n}")).await.unwrap().id);
    }
    invite_all(&h, &tenant, &["one@example.com", "two@example.com", "three@example.com"]).await;
    let mut links = Vec::new();
    for mail in outbox_of(&h, &tenant).await {
        if let usher_domain::model::MailMessage::Invitation { token: Some(token), .. } = mail.mail.message {
            links.push(token.expose().to_owned());
        }
    }
    assert_eq!(links.len(), 3);
    assert_eq!(seats_of(&h, &tenant).await, (5, 3, 10));
    let (holders, links) = (Arc::new(holders), Arc::new(links));
    let results = race(&h, &other, 1000, |h, i| {
        let (tenant, holders, links) = (tenant.clone(), holders.clone(), links.clone());
        async move {
            match (i % 100, i / 100) {
                (0, k) if k < 5 => users::disable_user(&h.ports, &tenant.admin_actor, holders[k])
                    .await
                    .map(|_| "disabled")
                    .map_err(|e| format!("{e:?}")),
                (50, k) if k < 3 => {
                    let acceptance = Acceptance {
                        token: links[k].clone(),
                        first_name: None,
                        last_name: None,
                        username: Some(format!("accepted{k}")),
                        password: PlainPassword::new(PASSWORD),
                    };
                    invitations::accept(&h.ports, acceptance)
                        .await
                        .map(|_| "accepted")
                        .map_err(|e| format!("{e:?}"))
                }
                _ => match h.user(&tenant, tenant.account.id, &format!("racer{i}")).await {
                    Ok(_) => Ok("created"),
                    Err(UserError::NoSeatAvailable(_)) => Err("no seat".to_owned()),
                    Err(other) => Err(format!("{other:?}")),
                },
            }
        }
    })
    .await;
    let count = |wanted: &str| results.iter().filter(|r| r.as_deref() == Ok(wanted)).count();
    let unexpected: Vec<_> =
        results.iter().filter_map(|r| r.as_ref().err()).filter(|e| *e != "no seat").collect();
    assert!(unexpected.is_empty(), "only NoSeatAvailable may fail a racer: {unexpected:?}");
    assert_eq!((count("disabled"), count("accepted")), (5, 3));
    let created = count("created");
    assert!((2..=7).contains(&created), "2 seats were free, and 5 more were freed: {created}");
    let (used, reserved, total) = seats_of(&h, &tenant).await;
    assert_eq!((used, reserved, total), (u32::try_from(3 + created).unwrap(), 0, 10));
    assert_eq!(recount(&h, &tenant).await, (used, reserved, total));
}

/// R5: 100 creations of one username in different letter cases and compositions, through two
/// handles: exactly one succeeds, the others get `UsernameTaken`.
pub async fn r5_race_100_case_variants_of_one_username(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 200).await;
    let base: Vec<char> = "jörgensenmaria".chars().collect();
    let results = race(&h, &other, 100, |h, i| {
        let tenant = tenant.clone();
        let variant: String =
            base.iter()
                .enumerate()
                .map(|(k, c)| {
                    if (i >> (k % 7)) & 1 == 1 { c.to_uppercase().collect::<String>() } else { c.to_string() }
                })
                .collect();
        // Half the variants spell the umlaut decomposed (o + combining diaeresis).
        let variant =
            if i % 2 == 0 { variant } else { variant.replace('ö', "o\u{308}").replace('Ö', "O\u{308}") };
        async move {
            let mut command = h.new_user(&tenant, &variant);
            command.email = format!("variant{i}@example.com");
            users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command).await
        }
    })
    .await;
    let n_ok = results.iter().filter(|r| r.is_ok()).count();
    for result in &results {
        assert!(matches!(result, Ok(_) | Err(UserError::UsernameTaken { .. })), "{result:?}");
    }
    assert_eq!(n_ok, 1);
}

/// R11, R13: 16 concurrent redemptions of one invitation link and of one reset link, through
/// two handles: exactly one of each succeeds.
pub async fn r11_r13_race_16_redemptions_of_one_link(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 5).await;
    invite_all(&h, &tenant, &["race@example.com"]).await;
    let link = last_link(&h, &tenant).await;
    let accepted = race(&h, &other, 16, |h, n| {
        let link = link.clone();
        async move {
            let acceptance = Acceptance {
                token: link,
                first_name: None,
                last_name: None,
                username: Some(format!("racer{n}")),
                password: PlainPassword::new(PASSWORD),
            };
            invitations::accept(&h.ports, acceptance).await
        }
    })
    .await;
    for result in &accepted {
        assert!(
            matches!(
                result,
                Ok(_)
                    | Err(invitations::AcceptError::Link(LinkProblem::Used)
                        | invitations::AcceptError::ExistingUser)
            ),
            "{result:?}"
        );
    }
    assert_eq!(accepted.iter().filter(|r| r.is_ok()).count(), 1);
    assert_eq!(seats_of(&h, &tenant).await, (1, 0, 5));

    let worker = h.user(&tenant, tenant.account.id, "worker").await.unwrap();
    h.give_password(&tenant, worker.id).await;
    public::request_password_reset(&h.ports, None, "acme", "worker@people.example.com").await.unwrap();
    resolve_reset_requests(&h, &tenant).await;
    let reset = last_link(&h, &tenant).await;
    let completed =
        race(&h, &other, 16, |h, _| {
            let reset = reset.clone();
            async move {
                public::complete_password_link(&h.ports, None, &reset, &PlainPassword::new(PASSWORD)).await
            }
        })
        .await;
    for result in &completed {
        assert!(matches!(result, Ok(_) | Err(public::PublicError::Link(LinkProblem::Used))), "{result:?}");
    }
    assert_eq!(completed.iter().filter(|r| r.is_ok()).count(), 1);
}

/// Optimistic locking: two concurrent updates of one user version through two handles: one
/// succeeds, the other gets a version conflict.
pub async fn race_two_updates_of_one_user_version(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "versioned").await.unwrap();
    for round in 0..5 {
        let current = users::get_user(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
        let results = race(&h, &other, 2, |h, n| {
            let (tenant, version) = (tenant.clone(), current.version);
            async move {
                let patch = UserPatch {
                    profile: users::ProfileInput {
                        first_name: Some(format!("Name{round}x{n}")),
                        ..Default::default()
                    },
                    if_version: Some(version),
                    ..Default::default()
                };
                users::update_user(&h.ports, &tenant.admin_actor, user.id, patch).await
            }
        })
        .await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "round {round}: {results:?}");
        assert!(results.iter().any(|r| matches!(r, Err(UserError::VersionMismatch { .. }))), "{results:?}");
        let after = users::get_user(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
        assert_eq!(after.version, current.version + 1);
    }
}

/// Settings: concurrent changes of different settings through two handles all survive (none
/// overwrites another with what it read before), and of 8 changes expecting one fingerprint
/// exactly one wins.
pub async fn race_settings_changes_apply_one_after_the_other(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 5).await;
    let admin = &tenant.admin_actor;
    for round in 0..10 {
        let flag = round % 2 == 0;
        let results = race(&h, &other, 2, |h, n| {
            let tenant = tenant.clone();
            async move {
                let patch = if n == 0 {
                    accounts::SettingsPatch { self_registration: Some(flag), ..Default::default() }
                } else {
                    accounts::SettingsPatch { usernames_must_be_emails: Some(flag), ..Default::default() }
                };
                accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, patch).await
            }
        })
        .await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let settings = accounts::get_settings(&h.ports, admin, tenant.account.id).await.unwrap();
        assert_eq!(
            (settings.self_registration, settings.usernames_must_be_emails),
            (flag, flag),
            "round {round}: a change was lost"
        );
    }
    let read = accounts::get_settings(&h.ports, admin, tenant.account.id).await.unwrap();
    let results = race(&h, &other, 8, |h, n| {
        let (tenant, fingerprint) = (tenant.clone(), read.fingerprint());
        async move {
            let patch = accounts::SettingsPatch {
                // 13 and up: every change differs from the current 12, so each one moves the fingerprint.
                password_min_length: Some(u16::try_from(13 + n).unwrap()),
                if_fingerprint: Some(fingerprint),
                ..Default::default()
            };
            accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, patch).await
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(
        results.iter().filter(|r| matches!(r, Err(accounts::AccountError::SettingsChanged { .. }))).count()
            == 7,
        "{results:?}"
    );
}

/// R14: 20 concurrent logins of one user through two handles all succeed (recording the
/// login takes no version, so logins never conflict) and leave the user's version alone.
pub async fn r14_race_concurrent_logins_of_one_user_all_succeed(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 5).await;
    let before = users::get_user(&h.ports, &tenant.admin_actor, tenant.admin.id).await.unwrap();
    let results = race(&h, &other, 20, |h, _| async move {
        let credentials = sessions::Credentials {
            account: "acme".to_owned(),
            username: "admin".to_owned(),
            password: PlainPassword::new(PASSWORD),
        };
        sessions::login(&h.ports, Some("192.0.2.7"), credentials).await
    })
    .await;
    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    let after = users::get_user(&h.ports, &tenant.admin_actor, tenant.admin.id).await.unwrap();
    assert_eq!(after.version, before.version, "logins do not bump the version an editor holds");
    assert!(after.last_login_at.is_some());
}

/// Two server instances starting at once on an empty database: exactly one creates the
/// operator, the other finds it there, and neither fails.
pub async fn race_two_instances_bootstrap_one_operator(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let results = race(&h, &other, 2, |h, _| async move {
        accounts::bootstrap_operator(&h.ports, &PlainPassword::new(PASSWORD)).await
    })
    .await;
    let created: Vec<_> = results.iter().map(|r| r.as_ref().map(Option::is_some)).collect();
    assert!(created.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(created.iter().filter(|c| matches!(c, Ok(true))).count(), 1, "{results:?}");
    h.login("default", "admin").await;
}

/// R5, R17: 50 concurrent first sign-ins of one outside identity, through two handles: all
/// succeed, exactly one creates the user and the rest find it, and the tenant has one user
/// with the email and one seat taken.
pub async fn r5_r17_race_50_first_sign_ins_of_one_identity_make_one_user(
    a: Arc<dyn Store>,
    b: Arc<dyn Store>,
) {
    use usher_domain::service::identities::{self, IdentityOutcome};
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 10).await;
    let results = race(&h, &other, 50, |h, _| {
        let tenant = tenant.clone();
        async move {
            let claims = super::identities::ada();
            identities::provision_identity(
                &h.ports,
                &tenant.admin_actor,
                tenant.account.id,
                super::identities::ISSUER,
                "ada-1",
                claims,
            )
            .await
            .map(|done| (done.outcome, done.user.id))
            .map_err(|e| format!("{e:?}"))
        }
    })
    .await;
    let done: Vec<_> =
        results.into_iter().map(|r| r.unwrap_or_else(|e| panic!("a sign-in failed: {e}"))).collect();
    let created = done.iter().filter(|(outcome, _)| *outcome == IdentityOutcome::Created).count();
    assert_eq!(created, 1, "exactly one sign-in creates the user");
    let ids: BTreeSet<_> = done.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), 1, "every sign-in answers the same user");
    assert_eq!(h.user_by_email(tenant.account.id, "ada@example.com").await.id, done[0].1);
    assert_eq!(seats_of(&h, &tenant).await, (1, 0, 10), "one seat taken");
}
