//! R1, R2, R23: seats and who owns them.

use super::*;
use usher_domain::service::{accounts, catalog, integrations, invitations, sessions, users};

/// R1: pending invitations reserve seats until they expire.
pub async fn r1_seats_count_pending_invitations_until_they_expire(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 2).await;
    h.user(&tenant, tenant.account.id, "first").await.unwrap();
    invite_all(&h, &tenant, &["inv@example.com"]).await;
    assert_eq!(seats_of(&h, &tenant).await, (1, 1, 2));
    let err = h.user(&tenant, tenant.account.id, "second").await.unwrap_err();
    match err {
        UserError::NoSeatAvailable(NoSeatAvailable { used, reserved, total, .. }) => {
            assert_eq!((used, reserved, total), (1, 1, 2));
        }
        other => panic!("expected NoSeatAvailable, got {other:?}"),
    }
    h.clock.advance(Duration::days(8));
    assert_eq!(seats_of(&h, &tenant).await, (1, 0, 2), "an expired invitation reserves nothing");
    h.user(&tenant, tenant.account.id, "second").await.unwrap();
}

/// R1: the pool's figures follow every way an invitation stops reserving: expiry (noticed by
/// the next allocation, with no sweep of its own), revocation after expiry, a resend that
/// reserves again, acceptance and the deletion of a user. After each step they equal a
/// recount from the users and invitations.
pub async fn r1_seat_figures_equal_a_recount_through_expiry_revocation_and_resend(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 3).await;
    let first = h.user(&tenant, tenant.account.id, "first").await.unwrap();
    let outcomes = invite_all(&h, &tenant, &["early@example.com", "late@example.com"]).await;
    let (early, late) = (invitation_of(&outcomes, 0), invitation_of(&outcomes, 1));
    assert_eq!(seats_of(&h, &tenant).await, (1, 2, 3));
    assert_eq!(recount(&h, &tenant).await, (1, 2, 3));
    h.clock.advance(Duration::days(8));
    assert_eq!(seats_of(&h, &tenant).await, (1, 0, 3), "expired invitations reserve nothing");
    // Revoking an expired invitation must not free its seat a second time.
    invitations::revoke(&h.ports, &tenant.admin_actor, early.id).await.unwrap();
    assert_eq!(seats_of(&h, &tenant).await, (1, 0, 3));
    assert_eq!(recount(&h, &tenant).await, (1, 0, 3));
    // Resending the other reserves its seat again; two creations then fill the pool.
    invitations::resend(&h.ports, &tenant.admin_actor, late.id).await.unwrap();
    assert_eq!(seats_of(&h, &tenant).await, (1, 1, 3));
    h.user(&tenant, tenant.account.id, "second").await.unwrap();
    let err = h.user(&tenant, tenant.account.id, "third").await.unwrap_err();
    assert!(matches!(err, UserError::NoSeatAvailable(_)), "{err:?}");
    assert_eq!(recount(&h, &tenant).await, (2, 1, 3));
    // The resent invitation expires too; the next creation takes its seat.
    h.clock.advance(Duration::days(8));
    h.user(&tenant, tenant.account.id, "third").await.unwrap();
    assert_eq!(seats_of(&h, &tenant).await, (3, 0, 3));
    assert_eq!(recount(&h, &tenant).await, (3, 0, 3));
    users::delete_user(&h.ports, &tenant.admin_actor, first.id).await.unwrap();
    assert_eq!(seats_of(&h, &tenant).await, (2, 0, 3));
    assert_eq!(recount(&h, &tenant).await, (2, 0, 3));
}

/// R1: concurrent creations never take more seats than bought.
pub async fn r1_concurrent_creations_never_overallocate_seats(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let mut tasks = Vec::new();
    for n in 0..40 {
        let (h, tenant) = (h.clone(), tenant.clone());
        tasks.push(tokio::spawn(
            async move { h.user(&tenant, tenant.account.id, &format!("racer{n}")).await },
        ));
    }
    let mut n_ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => n_ok += 1,
            Err(UserError::NoSeatAvailable(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(n_ok, 5);
    assert_eq!(seats_of(&h, &tenant).await, (5, 0, 5));
}

/// R1, R8, R21: disabling frees a seat and ends sessions; enabling needs a free seat.
pub async fn r1_r8_disabling_frees_a_seat_and_enabling_needs_one(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 1).await;
    let worker = h.user(&tenant, tenant.account.id, "worker").await.unwrap();
    h.give_password(&tenant, worker.id).await;
    let token = sessions::login(
        &h.ports,
        None,
        sessions::Credentials { account: "acme".into(), username: "worker".into(), password: password() },
    )
    .await
    .unwrap()
    .token;
    users::disable_user(&h.ports, &tenant.admin_actor, worker.id).await.unwrap();
    assert!(
        sessions::authenticate(&h.ports, token.expose(), None).await.is_err(),
        "R21: sessions end on disable"
    );
    assert_eq!(seats_of(&h, &tenant).await, (0, 0, 1));
    let replacement = h.user(&tenant, tenant.account.id, "replacement").await.unwrap();
    let err = users::enable_user(&h.ports, &tenant.admin_actor, worker.id).await.unwrap_err();
    assert!(matches!(err, UserError::NoSeatAvailable(_)), "{err:?}");
    users::disable_user(&h.ports, &tenant.admin_actor, replacement.id).await.unwrap();
    let enabled = users::enable_user(&h.ports, &tenant.admin_actor, worker.id).await.unwrap();
    assert_eq!(enabled.state, UserState::Active);
}

/// R2: lowering seats below used + reserved is refused with the numbers.
pub async fn r2_seat_total_cannot_drop_below_usage(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 3).await;
    h.user(&tenant, tenant.account.id, "one").await.unwrap();
    invite_all(&h, &tenant, &["a@example.com"]).await;
    let err = catalog::set_subscription(
        &h.ports,
        &h.operator,
        tenant.account.id,
        vec![(tenant.user_type.id, 1)],
        None,
    )
    .await
    .unwrap_err();
    match err {
        catalog::SeatError::BelowUsage(below) => {
            assert_eq!((below.requested, below.used, below.reserved), (1, 1, 1))
        }
        other => panic!("{other:?}"),
    }
    catalog::set_subscription(&h.ports, &h.operator, tenant.account.id, vec![(tenant.user_type.id, 2)], None)
        .await
        .unwrap();
    assert_eq!(seats_of(&h, &tenant).await, (1, 1, 2));
}

/// R23: a sub-account administrator reads the root's catalog, seats and settings but changes
/// none of them, whether through its own account id or the objects' ids.
pub async fn r23_sub_account_admins_never_change_root_level_objects(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let east = h.sub_account(&tenant, tenant.account.id, "acme-east").await;
    let (_, east_admin) = h.administrator(&tenant, east.id, "east-admin", tenant.admin_role).await;
    let before = h.counts(tenant.account.id).await;

    assert!(!catalog::list_roles(&h.ports, &east_admin, east.id).await.unwrap().is_empty());
    assert!(!catalog::list_user_types(&h.ports, &east_admin, east.id).await.unwrap().is_empty());
    catalog::get_subscription(&h.ports, &east_admin, east.id).await.unwrap();
    accounts::get_settings(&h.ports, &east_admin, east.id).await.unwrap();
    catalog::get_role(&h.ports, &east_admin, tenant.user_role).await.unwrap();

    let root_level = |result: Result<(), Denied>, what: &str| {
        assert_eq!(result, Err(Denied::RootLevel), "{what}");
    };
    let denied_of_role = |err: catalog::RoleError| match err {
        catalog::RoleError::Denied(denied) => Err(denied),
        other => panic!("{other:?}"),
    };
    let denied_of_seat = |err: catalog::SeatError| match err {
        catalog::SeatError::Denied(denied) => Err(denied),
        other => panic!("{other:?}"),
    };
    let everything = Permission::catalog();
    let err =
        catalog::create_role(&h.ports, &east_admin, east.id, "all", everything.clone()).await.unwrap_err();
    root_level(denied_of_role(err), "a role in the root catalog");
    let patch = catalog::RolePatch { name: Some("renamed".into()), ..Default::default() };
    let custom =
        catalog::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "custom", users_write())
            .await
            .unwrap();
    let before = (before.0 + 1, before.1);
    let err = catalog::update_role(&h.ports, &east_admin, custom.id, patch).await.unwrap_err();
    root_level(denied_of_role(err), "a root role");
    let err = catalog::delete_role(&h.ports, &east_admin, custom.id, None).await.unwrap_err();
    root_level(denied_of_role(err), "deleting a root role");
    let no_seat_admin = catalog::NewUserType {
        key: "boss".into(),
        name: "Boss".into(),
        consumes_seat: false,
        ceiling: everything,
    };
    let err = catalog::create_user_type(&h.ports, &east_admin, east.id, no_seat_admin).await.unwrap_err();
    root_level(denied_of_seat(err), "a user type in the root catalog");
    let patch = catalog::UserTypePatch { name: Some("Renamed".into()), ..Default::default() };
    let err = catalog::update_user_type(&h.ports, &east_admin, tenant.user_type.id, patch).await.unwrap_err();
    root_level(denied_of_seat(err), "a root user type");
    let err =
        catalog::set_subscription(&h.ports, &east_admin, east.id, vec![(tenant.user_type.id, 500)], None)
            .await
            .unwrap_err();
    root_level(denied_of_seat(err), "the company's seats");
    let open = accounts::SettingsPatch { self_registration: Some(true), ..Default::default() };
    let err = accounts::update_settings(&h.ports, &east_admin, east.id, open).await.unwrap_err();
    assert!(matches!(err, accounts::AccountError::Denied(Denied::RootLevel)), "settings: {err:?}");

    assert_eq!(h.counts(tenant.account.id).await, before, "refusals change nothing");
    let (_, _, total) = seats_of_user_type(&h, &tenant).await;
    assert_eq!(total, 5);
}

async fn seats_of_user_type(h: &Harness, tenant: &Tenant) -> (u32, u32, u32) {
    let figures = catalog::get_subscription(&h.ports, &h.operator, tenant.account.id).await.unwrap();
    let (_, usage) = figures.into_iter().find(|(t, _)| t.id == tenant.user_type.id).unwrap();
    (usage.used, usage.reserved, usage.total)
}

/// R23: seat totals are the operator's (or an operator API key's); a root administrator
/// changes them only once the operator lets the account manage its own seats, and never
/// makes seat-free types to get around them.
pub async fn r23_seat_totals_belong_to_the_operator(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let operator_user =
        accounts::bootstrap_operator(&h.ports, &PlainPassword::new(PASSWORD)).await.unwrap().unwrap();
    let operator = h.login("default", "admin").await;
    let tenant = h.tenant("acme", 2).await;
    let more = vec![(tenant.user_type.id, 500)];

    let err = catalog::set_subscription(&h.ports, &tenant.admin_actor, tenant.account.id, more.clone(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, catalog::SeatError::Denied(Denied::SeatsBelongToOperator)), "{err:?}");
    let free_type = catalog::NewUserType {
        key: "boss".into(),
        name: "Boss".into(),
        consumes_seat: false,
        ceiling: Permission::catalog(),
    };
    let err = catalog::create_user_type(&h.ports, &tenant.admin_actor, tenant.account.id, free_type.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, catalog::SeatError::Denied(Denied::SeatsBelongToOperator)), "{err:?}");
    let member_type = catalog::UserTypePatch { ceiling: Some(Permission::catalog()), ..Default::default() };
    let err = catalog::update_user_type(&h.ports, &tenant.admin_actor, tenant.member_type, member_type)
        .await
        .unwrap_err();
    assert!(matches!(err, catalog::SeatError::Denied(Denied::SeatsBelongToOperator)), "widening: {err:?}");
    let allow = accounts::SettingsPatch { manages_own_seats: Some(true), ..Default::default() };
    let err = accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, allow.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, accounts::AccountError::Denied(Denied::OperatorOnly)), "{err:?}");
    assert_eq!(seats_of_user_type(&h, &tenant).await.2, 2, "nothing changed");

    // A billing integration: an API key the operator made in its own account.
    let default = operator_user.account;
    let scopes = BTreeSet::from([Permission::new(Module::Subscription, Access::Write)]);
    let (_, secret) =
        integrations::create_api_key(&h.ports, &operator, default, "billing", scopes, None).await.unwrap();
    let billing = sessions::authenticate(&h.ports, secret.expose(), None).await.unwrap().actor;
    catalog::set_subscription(&h.ports, &billing, tenant.account.id, vec![(tenant.user_type.id, 7)], None)
        .await
        .unwrap();
    assert_eq!(seats_of_user_type(&h, &tenant).await.2, 7, "the operator's key sets seats");
    let err = users::get_user(&h.ports, &billing, tenant.admin.id).await.unwrap_err();
    assert!(
        matches!(err, UserError::Denied(Denied::MissingPermission { .. })),
        "only its permissions: {err:?}"
    );

    accounts::update_settings(&h.ports, &operator, tenant.account.id, allow).await.unwrap();
    catalog::set_subscription(&h.ports, &tenant.admin_actor, tenant.account.id, more, None).await.unwrap();
    assert_eq!(seats_of_user_type(&h, &tenant).await.2, 500, "allowed by the operator");
    catalog::create_user_type(&h.ports, &tenant.admin_actor, tenant.account.id, free_type).await.unwrap();
}

/// R1, R23: seat totals name only the tenant's own user types; widening a seat-consuming
/// type is the root administrator's to do; profile lists keep their bounds.
pub async fn r23_seats_and_types_of_the_tenant_only(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let other = h.tenant("globex", 5).await;
    let err = catalog::set_subscription(
        &h.ports,
        &h.operator,
        tenant.account.id,
        vec![(other.user_type.id, 9)],
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, catalog::SeatError::NotFound { .. }), "another tenant's type: {err:?}");
    let clerk = catalog::NewUserType {
        key: "clerk".into(),
        name: "Clerk".into(),
        consumes_seat: true,
        ceiling: BTreeSet::from([Permission::new(Module::Orders, Access::Read)]),
    };
    let clerk =
        catalog::create_user_type(&h.ports, &tenant.admin_actor, tenant.account.id, clerk).await.unwrap();
    let wider =
        catalog::UserTypePatch { ceiling: Some(BuiltinRole::User.permissions()), ..Default::default() };
    catalog::update_user_type(&h.ports, &tenant.admin_actor, clerk.id, wider).await.unwrap();

    let mut command = h.new_user(&tenant, "territorial");
    command.profile.sales_territories =
        Some((0..=users::MAX_SALES_TERRITORIES).map(|n| format!("T{n}")).collect());
    let err = users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, UserError::Invalid(_)), "{err:?}");
    command.profile.sales_territories =
        Some((1..=users::MAX_SALES_TERRITORIES).map(|n| format!("T{n}")).collect());
    users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.unwrap();
}
