//! Webhooks (R26): an account subtree's events delivered to its endpoints in feed order,
//! signed, retried with backoff until the endpoint answers or a day has passed, at least once
//! whatever the number of dispatchers.

use super::*;
use usher_domain::model::{WebhookDeliveryStatus, WebhookSecret};
use usher_domain::ports::WebhookRequest;
use usher_domain::service::users;
use usher_domain::service::webhooks::{self, NewWebhook, WebhookError, WebhookPatch, WebhookPolicy};

use crate::memory::RecordingReceiver;

fn header<'a>(request: &'a WebhookRequest, name: &str) -> &'a str {
    request.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap()
}

fn body(request: &WebhookRequest) -> serde_json::Value {
    serde_json::from_str(&request.body).unwrap()
}

/// Whether one of the request's signatures is `secret`'s.
fn signed_by(request: &WebhookRequest, secret: &WebhookSecret) -> bool {
    let id = header(request, "webhook-id");
    let timestamp: i64 = header(request, "webhook-timestamp").parse().unwrap();
    let expected = secret.sign(id, timestamp, &request.body);
    header(request, "webhook-signature").split(' ').any(|signature| signature == expected)
}

fn summary(requests: &[WebhookRequest]) -> Vec<(String, String)> {
    requests
        .iter()
        .map(|r| {
            let event = body(r);
            (
                event["type"].as_str().unwrap().to_owned(),
                event["data"]["username"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

async fn round(h: &Harness, receiver: &RecordingReceiver) -> webhooks::WebhookReport {
    webhooks::dispatch_webhooks(&h.ports, receiver, &WebhookPolicy::standard()).await.unwrap()
}

fn hook(url: &str, types: &[&str], exclude: &[&str]) -> NewWebhook {
    NewWebhook {
        url: url.to_owned(),
        types: types.iter().map(|t| (*t).to_owned()).collect(),
        exclude_origins: exclude.iter().map(|o| (*o).to_owned()).collect(),
        enabled: true,
    }
}

/// R26: each webhook gets the events of its subtree and types, not those of an excluded
/// origin, in feed order, once, signed with its secret; the delivery log says so.
pub async fn r26_webhooks_receive_their_subtree_events_in_order_and_signed(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let east = h.sub_account(&tenant, tenant.account.id, "acme-east").await;
    let admin = &tenant.admin_actor;
    let (root_hook, root_secret) = webhooks::create_webhook(
        &h.ports,
        admin,
        tenant.account.id,
        hook("https://hooks.example.com/usher", &["user.*"], &["crm"]),
    )
    .await
    .unwrap();
    let (east_hook, east_secret) =
        webhooks::create_webhook(&h.ports, admin, east.id, hook("https://east.example.com/in", &[], &[]))
            .await
            .unwrap();
    assert!(root_secret.expose().starts_with("whsec_"));
    let mut crm = admin.clone();
    crm.origin = Some("crm".to_owned());
    users::create_user(&h.ports, &crm, tenant.account.id, h.new_user(&tenant, "echo")).await.unwrap();
    let bea = h.user(&tenant, tenant.account.id, "bea").await.unwrap();
    h.user(&tenant, east.id, "cy").await.unwrap();
    users::disable_user(&h.ports, admin, bea.id).await.unwrap();

    let root_receiver = RecordingReceiver::default();
    let report = round(&h, &root_receiver).await;
    assert_eq!(report.failed, 0);
    // One receiver stands for both endpoints: requests say where they went.
    let (to_root, to_east): (Vec<WebhookRequest>, Vec<WebhookRequest>) =
        root_receiver.received().into_iter().partition(|r| r.url.starts_with("https://hooks."));
    assert_eq!(
        summary(&to_root),
        [
            ("user.created".to_owned(), "bea".to_owned()),
            ("user.created".to_owned(), "cy".to_owned()),
            ("user.disabled".to_owned(), "bea".to_owned())
        ],
        "the crm's own change is not echoed back"
    );
    let numbers: Vec<u64> = to_root.iter().map(|r| body(r)["sequence"].as_u64().unwrap()).collect();
    assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]), "in feed order: {numbers:?}");
    let east_events =
        [("webhook.created".to_owned(), String::new()), ("user.created".to_owned(), "cy".to_owned())];
    assert_eq!(summary(&to_east), east_events, "only the east subtree, from its own creation on");
    for request in &to_root {
        assert!(signed_by(request, &root_secret), "signed with the webhook's secret");
        assert!(!signed_by(request, &east_secret));
        assert_eq!(header(request, "webhook-id"), body(request)["id"].as_str().unwrap());
        assert_eq!(header(request, "content-type"), "application/json");
    }
    let log = webhooks::list_deliveries(&h.ports, admin, root_hook.id, PageRequest::first(10)).await.unwrap();
    assert_eq!(log.items.len(), 3);
    assert!(log.items.iter().all(|d| d.status == WebhookDeliveryStatus::Delivered && d.attempts == 1));
    assert!(log.items.iter().all(|d| d.last_status == Some(204)));

    assert_eq!(round(&h, &root_receiver).await, webhooks::WebhookReport::default(), "nothing twice");
    let _ = east_hook;
}

/// R26: a failing delivery holds back the ones after it; it is retried with growing waits,
/// and after a day of failures the webhook is disabled with the reason; enabling it again
/// resumes where it stopped, and a delivery can be replayed with its original id.
pub async fn r26_failing_deliveries_hold_the_line_retry_and_give_up_after_a_day(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 20).await;
    let admin = &tenant.admin_actor;
    let (webhook, _) = webhooks::create_webhook(
        &h.ports,
        admin,
        tenant.account.id,
        hook("https://hooks.example.com/usher", &["user.created"], &[]),
    )
    .await
    .unwrap();
    for name in ["u1", "u2", "u3"] {
        h.user(&tenant, tenant.account.id, name).await.unwrap();
    }
    let receiver = RecordingReceiver::default();
    receiver.fail_next(2);
    assert_eq!(round(&h, &receiver).await.failed, 1, "the first fails, and nothing overtakes it");
    assert_eq!(round(&h, &receiver).await.failed, 0, "not due yet");
    h.clock.advance(Duration::seconds(6));
    assert_eq!(round(&h, &receiver).await.failed, 1);
    h.clock.advance(Duration::seconds(11));
    assert_eq!(round(&h, &receiver).await.delivered, 3);
    let attempts: Vec<String> = summary(&receiver.attempts()).into_iter().map(|(_, name)| name).collect();
    assert_eq!(attempts, ["u1", "u1", "u1", "u2", "u3"]);

    h.user(&tenant, tenant.account.id, "u4").await.unwrap();
    receiver.fail_next(usize::MAX);
    let mut rounds = 0;
    loop {
        round(&h, &receiver).await;
        let current = webhooks::get_webhook(&h.ports, admin, webhook.id).await.unwrap();
        if !current.enabled {
            let reason = current.disabled_reason.unwrap();
            assert!(reason.contains("HTTP 500"), "{reason}");
            break;
        }
        rounds += 1;
        assert!(rounds < 60, "given up within a day of hourly retries");
        h.clock.advance(Duration::hours(1));
    }
    assert!(rounds >= 23, "retried for a day first ({rounds} rounds)");
    let audit = audit_of(&h, &tenant, 5).await;
    assert!(audit.items.iter().any(|e| e.action == "webhook.disabled"), "the disable is audited");

    receiver.fail_next(0);
    let enable = WebhookPatch { enabled: Some(true), ..Default::default() };
    let enabled = webhooks::update_webhook(&h.ports, admin, webhook.id, enable).await.unwrap();
    assert_eq!(enabled.disabled_reason, None);
    assert_eq!(round(&h, &receiver).await.delivered, 1, "u4 goes out once enabled again");
    let first = receiver.received()[0].clone();
    let log = webhooks::list_deliveries(&h.ports, admin, webhook.id, PageRequest::first(10)).await.unwrap();
    let oldest = log.items.last().unwrap();
    webhooks::replay_delivery(&h.ports, admin, webhook.id, oldest.id).await.unwrap();
    assert_eq!(round(&h, &receiver).await.delivered, 1);
    let replayed = receiver.received().last().unwrap().clone();
    assert_eq!(
        header(&replayed, "webhook-id"),
        header(&first, "webhook-id"),
        "same id, so receivers can drop it"
    );
    assert_eq!(replayed.body, first.body);
}

/// R26, R19: webhooks belong to their subtree and tenant, need `events:write` to change, and
/// their secrets appear nowhere but in the answer that made them; a rotated secret signs
/// beside the new one for a day.
pub async fn r19_r26_webhooks_keep_to_their_tenant_and_their_secrets(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let east = h.sub_account(&tenant, tenant.account.id, "acme-east").await;
    let (_, east_admin) = h.administrator(&tenant, east.id, "east-admin", tenant.admin_role).await;
    let admin = &tenant.admin_actor;
    let new = || hook("https://hooks.example.com/usher", &[], &[]);
    let (root_hook, secret) =
        webhooks::create_webhook(&h.ports, admin, tenant.account.id, new()).await.unwrap();
    let (east_hook, _) = webhooks::create_webhook(&h.ports, &east_admin, east.id, new()).await.unwrap();
    let err = webhooks::get_webhook(&h.ports, &east_admin, root_hook.id).await.unwrap_err();
    assert!(matches!(err, WebhookError::Denied(Denied::OutsideScope)), "{err:?}");
    let listed = webhooks::list_webhooks(&h.ports, &east_admin, east.id).await.unwrap();
    assert_eq!(listed.iter().map(|w| w.id).collect::<Vec<_>>(), [east_hook.id]);
    let plain = h.user(&tenant, tenant.account.id, "plain").await.unwrap();
    h.give_password(&tenant, plain.id).await;
    let plain = h.login("acme", "plain").await;
    let err = webhooks::create_webhook(&h.ports, &plain, tenant.account.id, new()).await.unwrap_err();
    assert!(matches!(err, WebhookError::Denied(Denied::MissingPermission { .. })), "{err:?}");
    let other = h.tenant("globex", 10).await;
    let err = webhooks::get_webhook(&h.ports, &other.admin_actor, root_hook.id).await.unwrap_err();
    assert!(matches!(err, WebhookError::NotFound { .. }), "{err:?}");
    let bad = NewWebhook { url: "ftp://files.example.com".to_owned(), ..new() };
    let err = webhooks::create_webhook(&h.ports, admin, tenant.account.id, bad).await.unwrap_err();
    assert!(matches!(&err, WebhookError::Invalid(invalid) if invalid.field == "url"), "{err:?}");

    let (rotated, fresh) = webhooks::rotate_secret(&h.ports, admin, root_hook.id).await.unwrap();
    assert_ne!(fresh, secret);
    h.user(&tenant, tenant.account.id, "ann").await.unwrap();
    let receiver = RecordingReceiver::default();
    round(&h, &receiver).await;
    let to_root: Vec<WebhookRequest> = receiver
        .received()
        .into_iter()
        .filter(|r| body(r)["account_id"] == tenant.account.id.to_string())
        .collect();
    let last = to_root.last().unwrap();
    assert!(signed_by(last, &fresh) && signed_by(last, &secret), "both secrets sign during the overlap");
    h.clock.advance(Duration::hours(25));
    h.user(&tenant, tenant.account.id, "bob").await.unwrap();
    round(&h, &receiver).await;
    let last = receiver.received().last().unwrap().clone();
    assert!(signed_by(&last, &fresh) && !signed_by(&last, &secret), "the old secret stops after a day");
    let _ = rotated;

    let page = PageRequest::first(200);
    let audit = usher_domain::service::audit::list_audit_events(
        &h.ports,
        admin,
        tenant.account.id,
        Default::default(),
        page,
    )
    .await
    .unwrap();
    let events = usher_domain::service::events::list_events(
        &h.ports,
        admin,
        tenant.account.id,
        usher_domain::service::events::EventRead {
            after: 0,
            types: usher_domain::model::EventFilter::all(),
            limit: 200,
        },
    )
    .await
    .unwrap();
    let text = format!("{:?}{:?}", audit.items, events);
    assert!(
        !text.contains("whsec_") && !text.contains(&secret.expose()[6..]),
        "no secret in audit or events"
    );
    webhooks::delete_webhook(&h.ports, admin, root_hook.id).await.unwrap();
    let err = webhooks::get_webhook(&h.ports, admin, root_hook.id).await.unwrap_err();
    assert!(matches!(err, WebhookError::NotFound { .. }));
}

/// R26: two dispatchers on two handles deliver 40 events to one webhook, each once and in
/// order, because the webhook is leased to one of them at a time.
pub async fn r26_race_two_dispatchers_deliver_each_event_once_in_order(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 100).await;
    webhooks::create_webhook(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        hook("https://hooks.example.com/usher", &["user.created"], &[]),
    )
    .await
    .unwrap();
    for n in 0..40 {
        h.user(&tenant, tenant.account.id, &format!("u{n:02}")).await.unwrap();
    }
    let receiver = Arc::new(RecordingReceiver::default());
    let dispatchers: Vec<_> = [h.clone(), other.clone()]
        .into_iter()
        .map(|h| {
            let receiver = receiver.clone();
            tokio::spawn(async move {
                let policy = WebhookPolicy { batch: 3, ..WebhookPolicy::standard() };
                while receiver.received().len() < 40 {
                    webhooks::dispatch_webhooks(&h.ports, receiver.as_ref(), &policy).await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for dispatcher in dispatchers {
        dispatcher.await.unwrap();
    }
    let names: Vec<String> = summary(&receiver.received()).into_iter().map(|(_, name)| name).collect();
    let expected: Vec<String> = (0..40).map(|n| format!("u{n:02}")).collect();
    assert_eq!(names, expected, "each once, in order");
}
