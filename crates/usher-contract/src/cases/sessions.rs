//! R14–R16, R18, R24: logins, passwords, sessions, devices and API keys.

use super::*;
use usher_domain::service::{accounts, catalog, integrations, public, sessions, users};

/// R14: every failure answers alike, unknown users still cost a verification, and failures
/// are throttled per user.
pub async fn r14_login_failures_look_alike_and_are_throttled(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let disabled = h.user(&tenant, tenant.account.id, "disabled").await.unwrap();
    h.give_password(&tenant, disabled.id).await;
    users::disable_user(&h.ports, &tenant.admin_actor, disabled.id).await.unwrap();
    let attempt = |account: &str, username: &str, pw: &str| sessions::Credentials {
        account: account.into(),
        username: username.into(),
        password: PlainPassword::new(pw),
    };
    let verifications_before = h.hasher.verifications();
    for credentials in [
        attempt("acme", "admin", "wrong password!"),
        attempt("acme", "nobody", PASSWORD),
        attempt("nowhere", "admin", PASSWORD),
        attempt("acme", "disabled", PASSWORD),
    ] {
        let err = sessions::login(&h.ports, Some("198.51.100.7"), credentials).await.unwrap_err();
        assert!(matches!(err, sessions::LoginError::InvalidCredentials), "{err:?}");
    }
    assert_eq!(h.hasher.verifications() - verifications_before, 4, "a dummy verification for unknown users");
    for _ in 0..5 {
        let _ =
            sessions::login(&h.ports, Some("203.0.113.66"), attempt("acme", "admin", "still wrong!!")).await;
    }
    let err = sessions::login(&h.ports, Some("203.0.113.66"), attempt("acme", "admin", PASSWORD))
        .await
        .unwrap_err();
    assert!(matches!(err, sessions::LoginError::Throttled { .. }), "{err:?}");
    // The failing source is held back; the user, from a source that has not failed, is not.
    sessions::login(&h.ports, Some("192.0.2.44"), attempt("acme", "admin", PASSWORD)).await.unwrap();
    h.clock.advance(Duration::minutes(16));
    sessions::login(&h.ports, Some("203.0.113.66"), attempt("acme", "admin", PASSWORD)).await.unwrap();
}

/// R14: a user under attack from many sources is held back only from the sources that
/// failed for it; once its failures pass the total limit, every failing source waits, while a
/// clean source still logs in with the right password.
pub async fn r14_a_distributed_attack_holds_back_failing_sources_only(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    h.tenant("acme", 5).await;
    let policy = h.ports.throttle;
    let attempt = |password: &str| sessions::Credentials {
        account: "acme".into(),
        username: "admin".into(),
        password: PlainPassword::new(password),
    };
    let per_source = policy.per_user - 1;
    let n_sources = policy.per_user_total.div_ceil(per_source);
    for source in 0..n_sources {
        for _ in 0..per_source {
            let address = format!("198.51.100.{source}");
            let err = sessions::login(&h.ports, Some(&address), attempt("a wrong guess")).await.unwrap_err();
            assert!(matches!(err, sessions::LoginError::InvalidCredentials), "{source}: {err:?}");
        }
    }
    let err = sessions::login(&h.ports, Some("198.51.100.0"), attempt(PASSWORD)).await.unwrap_err();
    assert!(matches!(err, sessions::LoginError::Throttled { .. }), "a failing source waits: {err:?}");
    sessions::login(&h.ports, Some("192.0.2.200"), attempt(PASSWORD)).await.unwrap();
}

/// R14, R8: the throttle counts hold no username, address or source in clear, and are
/// forgotten once out of the window, so an erased person's attempts do not outlive it.
pub async fn r14_throttle_counts_hide_who_and_are_forgotten(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    h.tenant("acme", 5).await;
    let wrong = sessions::Credentials {
        account: "acme".into(),
        username: "admin".into(),
        password: PlainPassword::new("nope"),
    };
    sessions::login(&h.ports, Some("198.51.100.9"), wrong.clone()).await.unwrap_err();
    public::request_password_reset(&h.ports, Some("198.51.100.9"), "acme", "someone@example.com")
        .await
        .unwrap();
    let user_key = usher_domain::rules::throttle_key("login-user", &["acme", "admin"]);
    let address_key =
        usher_domain::rules::throttle_key("password-reset-address", &["acme:someone@example.com"]);
    let epoch = usher_domain::time::Timestamp::from_unix_micros(0).unwrap();
    let counted = |key: String| {
        let store = h.ports.store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            tx.login_failures_since(&key, epoch).await.unwrap().len()
        }
    };
    assert_eq!(counted(user_key.clone()).await, 1, "counted under the hashed key");
    assert_eq!(counted(address_key.clone()).await, 1, "counted under the hashed key");
    assert_eq!(counted("user:acme:admin".into()).await, 0, "no key in clear");

    h.clock.advance(h.ports.throttle.window + usher_domain::time::Duration::seconds(1));
    sessions::login(&h.ports, Some("192.0.2.1"), sessions::Credentials { username: "other".into(), ..wrong })
        .await
        .unwrap_err();
    assert_eq!(counted(user_key).await, 0, "forgotten past the window");
    assert_eq!(counted(address_key).await, 0, "forgotten past the window");
}

/// R14: a session cannot be used to guess the password behind it. Past the per-user limit of
/// wrong current passwords, even the right one waits out the window; then it works.
pub async fn r14_a_stolen_session_cannot_guess_the_password(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let new = PlainPassword::new("a brand new passphrase");
    for _ in 0..h.ports.throttle.per_user {
        let err = sessions::change_own_password(
            &h.ports,
            &tenant.admin_actor,
            &PlainPassword::new("a guess!"),
            &new,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, sessions::ChangePasswordError::WrongPassword), "{err:?}");
    }
    let err =
        sessions::change_own_password(&h.ports, &tenant.admin_actor, &PlainPassword::new(PASSWORD), &new)
            .await
            .unwrap_err();
    assert!(matches!(err, sessions::ChangePasswordError::Throttled { seconds } if seconds > 0), "{err:?}");
    h.clock.advance(h.ports.throttle.window + usher_domain::time::Duration::seconds(1));
    sessions::change_own_password(&h.ports, &tenant.admin_actor, &PlainPassword::new(PASSWORD), &new)
        .await
        .unwrap();
}

/// R14: nobody logs in to a suspended account, nor to a sub-account of one.
pub async fn r14_nobody_logs_in_under_a_suspended_account(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let east = h.sub_account(&tenant, tenant.account.id, "acme-east").await;
    let easterner = h.user(&tenant, east.id, "easterner").await.unwrap();
    h.give_password(&tenant, easterner.id).await;
    let credentials = |username: &str| sessions::Credentials {
        account: "acme".into(),
        username: username.into(),
        password: PlainPassword::new(PASSWORD),
    };
    sessions::login(&h.ports, None, credentials("easterner")).await.unwrap();
    let suspend = accounts::AccountPatch {
        state: Some(usher_domain::model::AccountState::Suspended),
        ..Default::default()
    };
    accounts::update_account(&h.ports, &h.operator, tenant.account.id, suspend.clone()).await.unwrap();
    for username in ["admin", "easterner"] {
        let err = sessions::login(&h.ports, None, credentials(username)).await.unwrap_err();
        assert!(matches!(err, sessions::LoginError::InvalidCredentials), "{username}: {err:?}");
    }
    let active = accounts::AccountPatch {
        state: Some(usher_domain::model::AccountState::Active),
        ..Default::default()
    };
    accounts::update_account(&h.ports, &h.operator, tenant.account.id, active).await.unwrap();
    accounts::update_account(&h.ports, &h.operator, east.id, suspend).await.unwrap();
    let err = sessions::login(&h.ports, None, credentials("easterner")).await.unwrap_err();
    assert!(matches!(err, sessions::LoginError::InvalidCredentials), "a suspended sub-account: {err:?}");
    sessions::login(&h.ports, None, credentials("admin")).await.unwrap();
}

/// R15, R16: an administrator's password follows the policy and must be changed at next
/// login; changing it ends every session.
pub async fn r15_r16_admin_set_password_follows_policy_and_forces_a_change(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "newbie").await.unwrap();
    let err = users::set_password(&h.ports, &tenant.admin_actor, user.id, &PlainPassword::new("short"))
        .await
        .unwrap_err();
    assert!(matches!(err, UserError::Password(_)), "{err:?}");
    let err =
        users::set_password(&h.ports, &tenant.admin_actor, user.id, &PlainPassword::new("1234567890123"))
            .await
            .unwrap_err();
    assert!(matches!(err, UserError::Password(usher_domain::password::PasswordRejected::Common)), "{err:?}");
    users::set_password(&h.ports, &tenant.admin_actor, user.id, &password()).await.unwrap();
    users::mark_email_verified(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    let credentials =
        sessions::Credentials { account: "acme".into(), username: "newbie".into(), password: password() };
    let session = sessions::login(&h.ports, None, credentials).await.unwrap();
    let who = sessions::authenticate(&h.ports, session.token.expose(), None).await.unwrap();
    assert_eq!(who.actor.restriction, Some(usher_domain::authz::Restriction::PasswordChangeRequired));
    let err = users::get_user(&h.ports, &who.actor, user.id).await.unwrap_err();
    assert!(matches!(err, UserError::Denied(Denied::PasswordChangeRequired)), "R16: {err:?}");
    let err = users::me(&h.ports, &who.actor).await.unwrap_err();
    assert!(matches!(err, UserError::Denied(Denied::PasswordChangeRequired)), "R16: {err:?}");
    let new = PlainPassword::new("my own long passphrase");
    sessions::change_own_password(&h.ports, &who.actor, &password(), &new).await.unwrap();
    assert!(sessions::authenticate(&h.ports, session.token.expose(), None).await.is_err(), "R21");
    let credentials = sessions::Credentials {
        account: "acme".into(),
        username: "newbie".into(),
        password: PlainPassword::new("my own long passphrase"),
    };
    let again = sessions::login(&h.ports, None, credentials).await.unwrap();
    assert!(!again.user.must_change_password);
}

/// R18: devices link only once a password is set; link, list and unlink are audited.
pub async fn r18_devices_need_a_password(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "rep").await.unwrap();
    let err =
        users::link_device(&h.ports, &tenant.admin_actor, user.id, "Tablet", "ipad-1").await.unwrap_err();
    assert!(matches!(err, UserError::NoPasswordYet), "{err:?}");
    h.give_password(&tenant, user.id).await;
    let (n_before, _) = h.counts(tenant.account.id).await;
    let device =
        users::link_device(&h.ports, &tenant.admin_actor, user.id, "Tablet", "ipad-1").await.unwrap();
    let err =
        users::link_device(&h.ports, &tenant.admin_actor, user.id, "Again", "IPAD-1").await.unwrap_err();
    assert!(matches!(err, UserError::DeviceTaken { .. }), "{err:?}");
    assert_eq!(users::list_devices(&h.ports, &tenant.admin_actor, user.id).await.unwrap().len(), 1);
    users::unlink_device(&h.ports, &tenant.admin_actor, user.id, device.id).await.unwrap();
    assert_eq!(h.counts(tenant.account.id).await.0, n_before + 3, "link, list, unlink");
}

/// R13, R24: sessions and keys end when they should: at logout, at expiry (to the
/// microsecond), when their account is suspended, when revoked, and when the key that made
/// them is revoked; a session's last use is recorded to the minute.
pub async fn r13_r24_sessions_and_keys_end_when_they_should(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let credentials = || sessions::Credentials {
        account: "acme".into(),
        username: "admin".into(),
        password: PlainPassword::new(PASSWORD),
    };

    // Logout ends the session.
    let session = sessions::login(&h.ports, None, credentials()).await.unwrap();
    sessions::logout(&h.ports, session.token.expose()).await.unwrap();
    assert!(sessions::authenticate(&h.ports, session.token.expose(), None).await.is_err(), "after logout");

    // Last use is recorded once a minute has passed; expiry is exact.
    let session = sessions::login(&h.ports, Some("192.0.2.7"), credentials()).await.unwrap();
    h.clock.advance(usher_domain::time::Duration::minutes(2));
    let actor = sessions::authenticate(&h.ports, session.token.expose(), None).await.unwrap().actor;
    let listed = sessions::list_own_sessions(&h.ports, &actor).await.unwrap();
    let mine = listed.iter().find(|s| Some(s.id) == actor.session).unwrap();
    assert_eq!(mine.last_seen_at, h.ports.clock.now(), "last seen now");
    assert_eq!(mine.source.as_deref(), Some("192.0.2.7"));
    let until_expiry = mine.expires_at.unix_micros() - h.ports.clock.now().unix_micros();
    h.clock.advance(usher_domain::time::Duration::microseconds(until_expiry));
    assert!(
        sessions::authenticate(&h.ports, session.token.expose(), None).await.is_err(),
        "expired at its end"
    );
    let listed = sessions::list_own_sessions(&h.ports, &actor).await.unwrap();
    assert!(listed.iter().all(|s| Some(s.id) != actor.session), "an expired session is not listed");
    let listed = sessions::list_user_sessions(&h.ports, &h.operator, tenant.admin.id).await.unwrap();
    assert!(listed.iter().all(|s| Some(s.id) != actor.session), "nor to an administrator");

    // Keys: revoked, expired, under a suspended account, or made by a revoked key.
    let admin = h.login("acme", "admin").await;
    let scopes = BTreeSet::from([
        Permission::new(Module::ApiKeys, Access::Write),
        Permission::new(Module::Users, Access::Read),
    ]);
    let (parent, parent_secret) =
        integrations::create_api_key(&h.ports, &admin, tenant.account.id, "parent", scopes, Some(1))
            .await
            .unwrap();
    let parent_actor = sessions::authenticate(&h.ports, parent_secret.expose(), None).await.unwrap().actor;
    let readers = BTreeSet::from([Permission::new(Module::Users, Access::Read)]);
    let (_, child_secret) =
        integrations::create_api_key(&h.ports, &parent_actor, tenant.account.id, "child", readers, None)
            .await
            .unwrap();
    sessions::authenticate(&h.ports, child_secret.expose(), None).await.unwrap();
    integrations::revoke_api_key(&h.ports, &admin, parent.id).await.unwrap();
    assert!(sessions::authenticate(&h.ports, parent_secret.expose(), None).await.is_err(), "revoked");
    assert!(
        sessions::authenticate(&h.ports, child_secret.expose(), None).await.is_err(),
        "made by a revoked key"
    );

    let readers = BTreeSet::from([Permission::new(Module::Users, Access::Read)]);
    let (expiring, secret) =
        integrations::create_api_key(&h.ports, &admin, tenant.account.id, "daily", readers, Some(1))
            .await
            .unwrap();
    let until_expiry = expiring.expires_at.unwrap().unix_micros() - h.ports.clock.now().unix_micros();
    h.clock.advance(usher_domain::time::Duration::microseconds(until_expiry - 1));
    sessions::authenticate(&h.ports, secret.expose(), None).await.unwrap();
    h.clock.advance(usher_domain::time::Duration::microseconds(1));
    assert!(sessions::authenticate(&h.ports, secret.expose(), None).await.is_err(), "expired at its end");

    let readers = BTreeSet::from([Permission::new(Module::Users, Access::Read)]);
    let (_, secret) = integrations::create_api_key(&h.ports, &admin, tenant.account.id, "erp", readers, None)
        .await
        .unwrap();
    let session = sessions::login(&h.ports, None, credentials()).await.unwrap();
    let suspend = accounts::AccountPatch {
        state: Some(usher_domain::model::AccountState::Suspended),
        ..Default::default()
    };
    accounts::update_account(&h.ports, &h.operator, tenant.account.id, suspend).await.unwrap();
    assert!(
        sessions::authenticate(&h.ports, secret.expose(), None).await.is_err(),
        "a key under a suspended account"
    );
    assert!(sessions::authenticate(&h.ports, session.token.expose(), None).await.is_err(), "a session too");
}

/// R13, R14: a console session's token works only as the console's (never as a bearer token,
/// and a bearer token never as the console's), ends after the settings' idle time without a
/// request while use keeps it alive, and shares the login throttle with the API.
pub async fn r13_r14_a_console_session_is_bound_to_the_console_and_ends_when_idle(store: Arc<dyn Store>) {
    use usher_domain::service::sessions::Channel;
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let credentials = |password: &str| sessions::Credentials {
        account: "acme".into(),
        username: "admin".into(),
        password: PlainPassword::new(password),
    };
    let console = sessions::login_on(&h.ports, None, credentials(PASSWORD), Channel::Console).await.unwrap();
    let api = sessions::login(&h.ports, None, credentials(PASSWORD)).await.unwrap();
    assert!(console.token.expose().starts_with("usc_"), "a console token says so");
    let signed_in = sessions::authenticate_console(&h.ports, console.token.expose(), None).await.unwrap();
    assert_eq!(signed_in.actor.own_user(), Some(tenant.admin.id));
    assert!(
        sessions::authenticate(&h.ports, console.token.expose(), None).await.is_err(),
        "a console token is no bearer token"
    );
    assert!(
        sessions::authenticate_console(&h.ports, api.token.expose(), None).await.is_err(),
        "a bearer token does not open the console"
    );

    // Idle: 30 minutes by default; a request within them keeps the session alive.
    let minutes = usher_domain::time::Duration::minutes;
    h.clock.advance(minutes(29));
    sessions::authenticate_console(&h.ports, console.token.expose(), None).await.unwrap();
    h.clock.advance(minutes(29));
    sessions::authenticate_console(&h.ports, console.token.expose(), None).await.unwrap();
    h.clock.advance(minutes(30));
    assert!(
        sessions::authenticate_console(&h.ports, console.token.expose(), None).await.is_err(),
        "idle for the settings' time"
    );
    sessions::authenticate(&h.ports, api.token.expose(), None).await.unwrap();

    // The idle time is a setting.
    let patch = accounts::SettingsPatch { console_idle_timeout_seconds: Some(600), ..Default::default() };
    let admin = h.login("acme", "admin").await;
    let settings = accounts::update_settings(&h.ports, &admin, tenant.account.id, patch).await.unwrap();
    assert_eq!(settings.console_idle_timeout.seconds(), 600);
    let patch = accounts::SettingsPatch { console_idle_timeout_seconds: Some(59), ..Default::default() };
    assert!(
        accounts::update_settings(&h.ports, &admin, tenant.account.id, patch).await.is_err(),
        "under 5 min"
    );
    let console = sessions::login_on(&h.ports, None, credentials(PASSWORD), Channel::Console).await.unwrap();
    h.clock.advance(minutes(10));
    assert!(
        sessions::authenticate_console(&h.ports, console.token.expose(), None).await.is_err(),
        "10 min idle"
    );

    // The console's failures count with the API's (R14): one throttle for both doors.
    let mut last = None;
    for _ in 0..(h.ports.throttle.per_user + 1) {
        last = Some(
            sessions::login_on(&h.ports, Some("198.51.100.4"), credentials("wrong"), Channel::Console).await,
        );
    }
    assert!(matches!(last, Some(Err(sessions::LoginError::Throttled { .. }))), "{last:?}");
    let api = sessions::login(&h.ports, Some("198.51.100.4"), credentials(PASSWORD)).await;
    assert!(matches!(api, Err(sessions::LoginError::Throttled { .. })), "{api:?}");
}

/// R24 (ASVS V7.4.5, V7.5.2): people list and end their own sessions; an administrator lists
/// and ends those of users below it, never those of a user who holds more.
pub async fn r24_sessions_are_seen_and_ended_by_their_user_and_those_above(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let plain = h.user(&tenant, tenant.account.id, "plain").await.unwrap();
    h.give_password(&tenant, plain.id).await;
    let first = h.login("acme", "plain").await;
    let second = h.login("acme", "plain").await;
    let own = sessions::list_own_sessions(&h.ports, &first).await.unwrap();
    assert!(own.len() >= 2, "both sessions are listed: {own:?}");
    assert!(own.iter().all(|s| s.user == plain.id && s.source.as_deref() == Some("192.0.2.1")));
    let listed = sessions::list_user_sessions(&h.ports, &tenant.admin_actor, plain.id).await.unwrap();
    assert_eq!(listed.len(), own.len());

    // The user ends one of its own; the administrator ends another.
    sessions::end_session(&h.ports, &first, second.session.unwrap()).await.unwrap();
    assert!(
        sessions::list_own_sessions(&h.ports, &first)
            .await
            .unwrap()
            .iter()
            .all(|s| Some(s.id) != second.session)
    );
    sessions::end_session(&h.ports, &tenant.admin_actor, first.session.unwrap()).await.unwrap();
    let left = sessions::list_user_sessions(&h.ports, &tenant.admin_actor, plain.id).await.unwrap();
    assert!(left.iter().all(|s| Some(s.id) != first.session && Some(s.id) != second.session), "{left:?}");

    // A user manager ends no session of the administrator, and nobody ends another tenant's.
    let manager = user_manager(&h, &tenant).await;
    let admin_session = sessions::list_own_sessions(&h.ports, &tenant.admin_actor).await.unwrap()[0].id;
    let err = sessions::end_session(&h.ports, &manager, admin_session).await.unwrap_err();
    assert!(matches!(err, sessions::SessionError::Denied(Denied::TargetHoldsMore { .. })), "{err:?}");
    let other = h.tenant("globex", 5).await;
    let err = sessions::end_session(&h.ports, &other.admin_actor, admin_session).await.unwrap_err();
    assert!(matches!(err, sessions::SessionError::NotFound { .. }), "{err:?}");
    let err = sessions::list_user_sessions(&h.ports, &other.admin_actor, tenant.admin.id).await.unwrap_err();
    assert!(matches!(err, sessions::SessionError::NotFound { .. }), "{err:?}");
    assert!(
        sessions::list_own_sessions(&h.ports, &tenant.admin_actor)
            .await
            .unwrap()
            .iter()
            .any(|s| s.id == admin_session)
    );
}

/// R24: an API key never exceeds its creator's current permissions and dies with its creator.
pub async fn r24_api_keys_end_with_their_creator(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let permissions = user_manager_permissions();
    let role =
        catalog::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "user managers", permissions)
            .await
            .unwrap();
    let (manager, manager_actor) = h.administrator(&tenant, tenant.account.id, "manager", role.id).await;
    let (_, secret) = integrations::create_api_key(
        &h.ports,
        &manager_actor,
        tenant.account.id,
        "sync",
        users_write(),
        None,
    )
    .await
    .unwrap();
    let plain = h.user(&tenant, tenant.account.id, "plain").await.unwrap();
    let key = sessions::authenticate(&h.ports, secret.expose(), None).await.unwrap().actor;
    users::get_user(&h.ports, &key, plain.id).await.unwrap();

    // The creator loses users:write: so does the key.
    let mut fewer = user_manager_permissions();
    fewer.remove(&Permission::new(Module::Users, Access::Write));
    let readers = catalog::RolePatch { permissions: Some(fewer), ..Default::default() };
    catalog::update_role(&h.ports, &tenant.admin_actor, role.id, readers).await.unwrap();
    let key = sessions::authenticate(&h.ports, secret.expose(), None).await.unwrap().actor;
    let err = users::disable_user(&h.ports, &key, plain.id).await.unwrap_err();
    assert!(matches!(err, UserError::Denied(Denied::MissingPermission { .. })), "{err:?}");

    // The creator is disabled: the key stops working.
    users::disable_user(&h.ports, &tenant.admin_actor, manager.id).await.unwrap();
    let err = sessions::authenticate(&h.ports, secret.expose(), None).await.unwrap_err();
    assert!(matches!(err, sessions::AuthError::InvalidToken), "{err:?}");
}

/// Logs `username` of `tenant` in with [`PASSWORD`] and returns the raw session token.
async fn session_token(h: &Harness, tenant: &Tenant, username: &str) -> String {
    let credentials = sessions::Credentials {
        account: tenant.account.slug.to_string(),
        username: username.to_owned(),
        password: password(),
    };
    sessions::login(&h.ports, Some("192.0.2.9"), credentials).await.unwrap().token.expose().to_owned()
}

/// R13, R19: introspection answers for a session until it ends or expires, and only to a key
/// whose reach includes the user; everything else reads as inactive, never as an error.
pub async fn r13_r19_introspection_follows_sessions_and_reach(store: Arc<dyn Store>) {
    use usher_domain::service::introspection;
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let east = h.sub_account(&tenant, tenant.account.id, "acme-east").await;
    let ann = h.user(&tenant, tenant.account.id, "ann").await.unwrap();
    let eve = h.user(&tenant, east.id, "eve").await.unwrap();
    h.give_password(&tenant, ann.id).await;
    h.give_password(&tenant, eve.id).await;
    let introspect = BTreeSet::from([Permission::new(Module::Introspection, Access::Read)]);
    let key_actor = |account| {
        let (h, tenant, permissions) = (h.clone(), tenant.clone(), introspect.clone());
        async move {
            let (_, secret) = integrations::create_api_key(
                &h.ports,
                &tenant.admin_actor,
                account,
                "gateway",
                permissions,
                None,
            )
            .await
            .unwrap();
            sessions::authenticate(&h.ports, secret.expose(), None).await.unwrap().actor
        }
    };
    let root_key = key_actor(tenant.account.id).await;
    let east_key = key_actor(east.id).await;
    let ann_token = session_token(&h, &tenant, "ann").await;
    let eve_token = session_token(&h, &tenant, "eve").await;

    let active = introspection::introspect(&h.ports, &root_key, &eve_token).await.unwrap().unwrap();
    assert_eq!(active.user.id, eve.id);
    assert_eq!(active.access.accounts, BTreeSet::from([east.id]));
    assert!(active.access.permissions.contains(&Permission::new(Module::Orders, Access::Read)));
    assert!(introspection::introspect(&h.ports, &east_key, &eve_token).await.unwrap().is_some());
    assert!(
        introspection::introspect(&h.ports, &east_key, &ann_token).await.unwrap().is_none(),
        "a sub-account key does not reach the root's users"
    );
    let other = h.tenant("globex", 10).await;
    assert!(introspection::introspect(&h.ports, &other.admin_actor, &ann_token).await.unwrap().is_none());
    let err =
        introspection::introspect(&h.ports, &h.login("acme", "eve").await, &ann_token).await.unwrap_err();
    assert!(matches!(err, introspection::IntrospectionError::Denied(Denied::MissingPermission { .. })));

    users::disable_user(&h.ports, &tenant.admin_actor, eve.id).await.unwrap();
    assert!(introspection::introspect(&h.ports, &root_key, &eve_token).await.unwrap().is_none(), "disabled");
    h.clock.advance(Duration::hours(13));
    assert!(introspection::introspect(&h.ports, &root_key, &ann_token).await.unwrap().is_none(), "expired");
}

/// R13: a session mints short-lived signed tokens that introspection accepts until the session
/// ends or the user's cut-off passes them; keys rotate with an overlap in which the retired
/// key stays published; an API key mints nothing.
pub async fn r13_signed_access_tokens_follow_the_session_and_the_cutoff(store: Arc<dyn Store>) {
    use usher_domain::ports::Clock as _;
    use usher_domain::service::access_tokens::{self, AccessTokenError};
    use usher_domain::service::introspection;
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let ann = h.user(&tenant, tenant.account.id, "ann").await.unwrap();
    h.give_password(&tenant, ann.id).await;
    let (_, secret) = integrations::create_api_key(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        "gateway",
        BTreeSet::from([Permission::new(Module::Introspection, Access::Read)]),
        None,
    )
    .await
    .unwrap();
    let gateway = sessions::authenticate(&h.ports, secret.expose(), None).await.unwrap().actor;
    let active = |token: String| {
        let (h, gateway) = (h.clone(), gateway.clone());
        async move { introspection::introspect(&h.ports, &gateway, &token).await.unwrap() }
    };

    let ann_actor = h.login("acme", "ann").await;
    let minted = access_tokens::mint_access_token(&h.ports, &ann_actor).await.unwrap();
    assert_eq!(minted.claims.sub, ann.id.as_uuid());
    assert_eq!(minted.claims.exp - minted.claims.iat, 300, "five minutes by default");
    assert!(minted.claims.scope.contains("orders:read"), "{}", minted.claims.scope);
    let found = active(minted.token.clone()).await.unwrap();
    assert_eq!((found.user.id, found.expires_at), (ann.id, minted.expires_at));
    let mut tampered = minted.token.clone();
    tampered.push('0');
    assert!(active(tampered).await.is_none(), "a tampered token");
    let err = access_tokens::mint_access_token(&h.ports, &gateway).await.unwrap_err();
    assert!(matches!(err, AccessTokenError::Denied(Denied::SessionRequired)), "{err:?}");
    h.clock.advance(Duration::minutes(5));
    assert!(active(minted.token.clone()).await.is_none(), "expired");

    // The cut-off alone refuses tokens issued before it; a session opened after it mints again.
    let before = access_tokens::mint_access_token(&h.ports, &ann_actor).await.unwrap();
    h.clock.advance(Duration::seconds(2));
    let mut tx = h.ports.store.begin().await.unwrap();
    tx.set_token_cutoff(ann.id, h.clock.now()).await.unwrap();
    tx.set_token_cutoff(ann.id, h.clock.now().minus(Duration::hours(1))).await.unwrap();
    tx.commit().await.unwrap();
    assert!(active(before.token).await.is_none(), "issued before the cut-off");
    h.clock.advance(Duration::seconds(1));
    let after = access_tokens::mint_access_token(&h.ports, &h.login("acme", "ann").await).await.unwrap();
    assert!(active(after.token.clone()).await.is_some(), "an earlier cut-off does not move it back");

    // A logout, a password change and a disable end them at once.
    sessions::logout(&h.ports, &session_token(&h, &tenant, "ann").await).await.unwrap();
    assert!(active(after.token.clone()).await.is_some(), "another session's logout");
    users::set_password(
        &h.ports,
        &tenant.admin_actor,
        ann.id,
        &PlainPassword::new("another fine password here"),
    )
    .await
    .unwrap();
    assert!(active(after.token).await.is_none(), "password changed");

    // Keys: one signs for 30 days; the next takes over and the old stays published a day.
    let keys = access_tokens::published_keys(&h.ports).await.unwrap();
    assert_eq!(keys.len(), 1);
    h.clock.advance(Duration::days(30));
    let admin = h.login("acme", "admin").await;
    let rotated = access_tokens::mint_access_token(&h.ports, &admin).await.unwrap();
    let keys = access_tokens::published_keys(&h.ports).await.unwrap();
    assert_eq!(keys.len(), 2, "the retired key stays published");
    assert!(keys[0].retired_at.is_none() && keys[1].retired_at.is_some(), "{keys:?}");
    assert!(active(rotated.token).await.is_some());
    h.clock.advance(Duration::days(1));
    assert_eq!(access_tokens::published_keys(&h.ports).await.unwrap().len(), 1, "after the overlap");
}
