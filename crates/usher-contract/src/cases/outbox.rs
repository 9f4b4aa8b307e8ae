//! R20: the audit and the outbox.

use super::*;
use usher_domain::service::{audit, invitations, mail, users};

/// R20: the dispatcher sends every queued mail once; a temporary failure is retried after
/// the backoff, a claimed mail whose dispatcher died is sent when its lease ends, and
/// exhausted attempts give up.
pub async fn r20_the_outbox_is_delivered_once_and_retried_after_failures(store: Arc<dyn Store>) {
    use usher_domain::service::mail::{DeliveryPolicy, dispatch_due};
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let emails = ["a@people.example.com", "b@people.example.com", "c@people.example.com"];
    invitations::invite(&h.ports, &tenant.admin_actor, tenant.account.id, invite_command(&tenant, &emails))
        .await
        .unwrap();
    let mailer = crate::memory::RecordingMailer::default();
    let renderer = crate::memory::PlainRenderer;
    let policy = DeliveryPolicy { max_attempts: 2, ..DeliveryPolicy::standard() };
    mailer.fail_next(1);
    let first = dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap();
    assert_eq!((first.sent, first.retried, first.failed), (2, 1, 0));
    let again = dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap();
    assert_eq!(again.handled(), 0, "nothing is due before the backoff ends");
    h.clock.advance(Duration::seconds(31));
    let retry = dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap();
    assert_eq!(retry.sent, 1);
    let mut sent: Vec<String> = mailer.sent().iter().map(|m| m.to.to_string()).collect();
    sent.sort();
    assert_eq!(sent, emails, "each address got exactly one mail");

    // A dispatcher that claims and dies: the mail comes back when the lease ends.
    invitations::invite(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        invite_command(&tenant, &["d@people.example.com"]),
    )
    .await
    .unwrap();
    let now = h.ports.clock.now();
    let mut tx = h.ports.store.begin().await.unwrap();
    assert_eq!(tx.claim_mail(now, now.plus(policy.lease), 10).await.unwrap().len(), 1);
    tx.commit().await.unwrap();
    assert_eq!(dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap().handled(), 0, "leased");
    h.clock.advance(policy.lease + Duration::seconds(1));
    assert_eq!(dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap().sent, 1);

    // Attempts run out: the mail is given up, not retried for ever.
    invitations::invite(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        invite_command(&tenant, &["e@people.example.com"]),
    )
    .await
    .unwrap();
    mailer.fail_next(2);
    assert_eq!(dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap().retried, 1);
    h.clock.advance(Duration::minutes(2));
    assert_eq!(dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap().failed, 1);
    h.clock.advance(Duration::hours(2));
    assert_eq!(dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap().handled(), 0);
    assert_eq!(mailer.sent().len(), 4);

    // The administrator sees the failed mail with its reason, and retries it.
    let admin = &tenant.admin_actor;
    let failed = mail::list_mail(
        &h.ports,
        admin,
        tenant.account.id,
        Some(DeliveryState::Failed),
        PageRequest::first(10),
    )
    .await
    .unwrap();
    assert_eq!(failed.items.len(), 1);
    let failed = &failed.items[0];
    assert_eq!((failed.mail.to.as_str(), failed.delivery.attempts), ("e@people.example.com", 2));
    assert!(failed.delivery.last_error.as_deref().is_some_and(|e| e.contains("told to fail")), "{failed:?}");
    let retried = mail::retry_mail(&h.ports, admin, failed.mail.id).await.unwrap();
    assert_eq!((retried.delivery.state, retried.delivery.attempts), (DeliveryState::Pending, 0));
    let again = mail::retry_mail(&h.ports, admin, failed.mail.id).await.unwrap_err();
    assert!(matches!(again, mail::OutboxError::NotFailed { state: DeliveryState::Pending }), "{again:?}");
    assert_eq!(dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap().sent, 1);

    // Sent mail keeps no link token (the outbox is the only place a raw token ever was).
    let sent = mail::list_mail(
        &h.ports,
        admin,
        tenant.account.id,
        Some(DeliveryState::Sent),
        PageRequest::first(10),
    )
    .await
    .unwrap();
    assert_eq!(sent.items.len(), 5);
    for item in &sent.items {
        let payload = serde_json::to_value(MailDocument::from(&item.mail.message)).unwrap();
        assert!(payload["token"].is_null(), "a sent mail still holds its token: {payload}");
        assert!(item.delivery.sent_at.is_some());
    }
    let audited = audit::list_audit_events(
        &h.ports,
        admin,
        tenant.account.id,
        Default::default(),
        PageRequest::first(1),
    )
    .await
    .unwrap();
    assert_eq!(audited.items[0].action, "mail.retried");
}

/// R20: a use case that fails leaves no audit event and no outbox mail; one that succeeds
/// writes both.
pub async fn r20_a_failed_use_case_leaves_no_audit_or_mail(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 1).await;
    h.user(&tenant, tenant.account.id, "seated").await.unwrap();
    let before = h.counts(tenant.account.id).await;
    let mut welcome = h.new_user(&tenant, "no-seat");
    welcome.send_welcome = true;
    assert!(
        users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, welcome.clone()).await.is_err()
    );
    assert_eq!(h.counts(tenant.account.id).await, before, "nothing half-written");
    welcome.enabled = false;
    users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, welcome).await.unwrap();
    assert_eq!(
        h.counts(tenant.account.id).await,
        (before.0 + 1, before.1 + 1),
        "one event, one welcome mail"
    );
}

/// R20: the audit event of a new user records what it was made with (never a secret).
pub async fn r20_a_created_user_is_audited_with_its_fields(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "audited").await.unwrap();
    let page = audit_of(&h, &tenant, 50).await;
    let created =
        page.items.iter().find(|e| e.action == "user.created" && e.target_id == user.id.to_string()).unwrap();
    assert_eq!(created.diff["username"]["after"], "audited", "{}", created.diff);
    assert_eq!(created.diff["email"]["after"], "audited@people.example.com");
}
