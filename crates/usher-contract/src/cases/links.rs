//! R9, R13, R25: one-time links and what they prove.

use super::*;
use usher_domain::service::{accounts, audit, public, sessions, users};

/// R9: verification mail only while required and unverified; manual verification is audited.
pub async fn r9_verification_mail_and_manual_verification(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let user = h.user(&tenant, tenant.account.id, "unverified").await.unwrap();
    let (_, mails_before) = h.counts(tenant.account.id).await;
    users::send_verification_email(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    let token = last_link(&h, &tenant).await;
    assert_eq!(h.counts(tenant.account.id).await.1, mails_before + 1);
    let verified = public::verify_email(&h.ports, None, &token).await.unwrap();
    assert!(verified.email_verified_at.is_some());
    let err = users::send_verification_email(&h.ports, &tenant.admin_actor, user.id).await.unwrap_err();
    assert!(matches!(err, UserError::AlreadyVerified), "{err:?}");

    let other = h.user(&tenant, tenant.account.id, "manual").await.unwrap();
    let marked = users::mark_email_verified(&h.ports, &tenant.admin_actor, other.id).await.unwrap();
    assert!(marked.email_verified_at.is_some());
    let events = audit::list_audit_events(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        Default::default(),
        PageRequest::first(1),
    )
    .await
    .unwrap();
    assert_eq!(events.items[0].action, "user.email_verified");

    let off = accounts::SettingsPatch { email_verification_required: Some(false), ..Default::default() };
    accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, off).await.unwrap();
    let third = h.user(&tenant, tenant.account.id, "third").await.unwrap();
    let err = users::send_verification_email(&h.ports, &tenant.admin_actor, third.id).await.unwrap_err();
    assert!(matches!(err, UserError::VerificationNotRequired), "{err:?}");
}

/// R13: reset links are single use and expire; tokens are stored only as hashes.
pub async fn r13_reset_links_are_single_use_and_expire(store: Arc<dyn Store>) {
    let h = Harness::new(store.clone());
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "forgetful").await.unwrap();
    h.give_password(&tenant, user.id).await;
    users::send_password_reset(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    let link = last_link(&h, &tenant).await;
    let mut tx = store.begin().await.unwrap();
    let stored = tx.token_by_hash(&SecretToken::parse(&link).unwrap().hash()).await.unwrap().unwrap();
    assert_ne!(stored.token_hash.as_str(), link, "only the hash is stored");
    drop(tx);
    public::complete_password_link(&h.ports, None, &link, &PlainPassword::new("a brand new passphrase"))
        .await
        .unwrap();
    let err = public::complete_password_link(&h.ports, None, &link, &password()).await.unwrap_err();
    assert!(matches!(err, public::PublicError::Link(LinkProblem::Used)), "{err:?}");

    users::send_password_reset(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    let late = last_link(&h, &tenant).await;
    h.clock.advance(Duration::days(2));
    let err = public::complete_password_link(&h.ports, None, &late, &password()).await.unwrap_err();
    assert!(matches!(err, public::PublicError::Link(LinkProblem::Expired)), "{err:?}");
}

/// R25: a reset link dies when the password changes by any path, and a verification link
/// verifies only the address it was sent to; an administrator's change of address asks the
/// new address.
pub async fn r25_links_are_bound_to_what_they_were_issued_for(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "bound").await.unwrap();
    h.give_password(&tenant, user.id).await;

    users::send_password_reset(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    let reset = last_link(&h, &tenant).await;
    users::set_password(
        &h.ports,
        &tenant.admin_actor,
        user.id,
        &PlainPassword::new("set by the administrator"),
    )
    .await
    .unwrap();
    assert_link_used(&h, &reset, "after an administrator set the password").await;

    h.give_password(&tenant, user.id).await;
    users::send_password_reset(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    let reset = last_link(&h, &tenant).await;
    let own = h.login("acme", "bound").await;
    sessions::change_own_password(
        &h.ports,
        &own,
        &PlainPassword::new(PASSWORD),
        &PlainPassword::new("changed by me, myself"),
    )
    .await
    .unwrap();
    assert_link_used(&h, &reset, "after the user changed the password").await;

    let unverified = h.user(&tenant, tenant.account.id, "unverified").await.unwrap();
    users::send_verification_email(&h.ports, &tenant.admin_actor, unverified.id).await.unwrap();
    let old_link = last_link(&h, &tenant).await;
    let moved = UserPatch { email: Some("new-address@people.example.com".into()), ..Default::default() };
    users::update_user(&h.ports, &tenant.admin_actor, unverified.id, moved).await.unwrap();
    let err = public::verify_email(&h.ports, None, &old_link).await.unwrap_err();
    assert!(matches!(err, public::PublicError::Link(LinkProblem::Used)), "old address: {err:?}");
    let mails = outbox_of(&h, &tenant).await;
    let asked = mails.last().unwrap();
    assert_eq!(asked.mail.message.kind(), "email_verification", "the new address is asked");
    assert_eq!(asked.mail.to.as_str(), "new-address@people.example.com");
    let new_link = last_link(&h, &tenant).await;
    let verified = public::verify_email(&h.ports, None, &new_link).await.unwrap();
    assert_eq!(verified.email.as_str(), "new-address@people.example.com");
    assert!(verified.email_verified_at.is_some());
}

/// A reset link that no longer works: it reads as used.
async fn assert_link_used(h: &Harness, link: &str, when: &str) {
    let attempt = PlainPassword::new("the attacker's one");
    let err = public::complete_password_link(&h.ports, None, link, &attempt).await.unwrap_err();
    assert!(matches!(err, public::PublicError::Link(LinkProblem::Used)), "{when}: {err:?}");
}

/// R9, R21: completing a link: a welcome link proves the address, a reset link does not, and
/// each is audited as what it was; a reset request for a disabled user's address sends nothing.
pub async fn r9_r21_links_prove_what_they_should(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let welcome_user = h.user(&tenant, tenant.account.id, "welcomed").await.unwrap();
    users::send_password_reset(&h.ports, &tenant.admin_actor, welcome_user.id).await.unwrap();
    let link = last_link(&h, &tenant).await;
    let done =
        public::complete_password_link(&h.ports, None, &link, &PlainPassword::new(PASSWORD)).await.unwrap();
    assert!(done.email_verified_at.is_some(), "the welcome mail reached the address");
    assert_eq!(done.version, users::get_user(&h.ports, &tenant.admin_actor, done.id).await.unwrap().version);

    let resetter = h.user(&tenant, tenant.account.id, "resetter").await.unwrap();
    users::set_password(
        &h.ports,
        &tenant.admin_actor,
        resetter.id,
        &PlainPassword::new("set by the administrator"),
    )
    .await
    .unwrap();
    users::send_password_reset(&h.ports, &tenant.admin_actor, resetter.id).await.unwrap();
    let link = last_link(&h, &tenant).await;
    let done =
        public::complete_password_link(&h.ports, None, &link, &PlainPassword::new(PASSWORD)).await.unwrap();
    assert!(done.email_verified_at.is_none(), "a reset link proves nothing new");
    let page = audit_of(&h, &tenant, 50).await;
    let action_on = |user: usher_domain::id::UserId, action: &str| {
        page.items.iter().any(|e| e.action == action && e.target_id == user.to_string())
    };
    assert!(action_on(welcome_user.id, "user.password_set_by_link"));
    assert!(action_on(resetter.id, "user.password_reset"));

    users::disable_user(&h.ports, &tenant.admin_actor, resetter.id).await.unwrap();
    public::request_password_reset(&h.ports, None, "acme", "resetter@people.example.com").await.unwrap();
    assert_eq!(resolve_reset_requests(&h, &tenant).await, 0, "a disabled user is sent nothing");
}
