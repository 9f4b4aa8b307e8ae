//! The public event feed (R26): one event per audited change, in its transaction, numbered in
//! the order events become visible, read by a cursor that never skips one.

use super::*;
use usher_domain::model::{EventFilter, PublicEvent};
use usher_domain::service::events::{self, EventError, EventRead};
use usher_domain::service::users;

/// Every event of `account`'s subtree after `after`, as `actor` reads them, page by page.
async fn feed(
    h: &Harness,
    actor: &Actor,
    account: usher_domain::id::AccountId,
    after: u64,
) -> Vec<PublicEvent> {
    feed_of(h, actor, account, after, EventFilter::all()).await.unwrap()
}

async fn feed_of(
    h: &Harness,
    actor: &Actor,
    account: usher_domain::id::AccountId,
    mut after: u64,
    types: EventFilter,
) -> Result<Vec<PublicEvent>, EventError> {
    let mut all = Vec::new();
    loop {
        let read = EventRead { after, types: types.clone(), limit: 7 };
        let page = events::list_events(&h.ports, actor, account, read).await?;
        let Some(last) = page.last() else {
            return Ok(all);
        };
        after = last.sequence.unwrap();
        all.extend(page);
    }
}

fn kinds(events: &[PublicEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind).collect()
}

/// R26: each audited change leaves exactly one event, with the object after the change, the
/// actor and its origin, and nothing secret; a refused change leaves none; numbers follow one
/// another without gaps within a root.
pub async fn r26_every_audited_change_emits_one_event_with_its_object_and_origin(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let root = tenant.account.id;
    let before = feed(&h, &tenant.admin_actor, root, 0).await;
    assert_eq!(kinds(&before), ["account.created", "user.created", "user.logged_in"], "the tenant's start");
    let start = before.last().unwrap().sequence.unwrap();

    let mut crm = tenant.admin_actor.clone();
    crm.origin = Some("crm".to_owned());
    let ann = users::create_user(&h.ports, &crm, root, h.new_user(&tenant, "ann")).await.unwrap();
    let patch = users::UserPatch { email: Some("ann@elsewhere.example.com".into()), ..Default::default() };
    users::update_user(&h.ports, &crm, ann.id, patch).await.unwrap();
    users::disable_user(&h.ports, &crm, ann.id).await.unwrap();
    let refused = users::create_user(&h.ports, &crm, root, h.new_user(&tenant, "ANN")).await;
    assert!(refused.is_err(), "a taken username is refused");
    users::enable_user(&h.ports, &tenant.admin_actor, ann.id).await.unwrap();
    let outcomes = invite_all(&h, &tenant, &["bob@example.com", "not an address", "cy@example.com"]).await;
    let invitation = invitation_of(&outcomes, 0);

    let after = feed(&h, &tenant.admin_actor, root, start).await;
    assert_eq!(
        kinds(&after),
        [
            "user.created",
            "user.updated",
            "user.disabled",
            "user.enabled",
            "invitation.created",
            "invitation.created"
        ]
    );
    let numbers: Vec<u64> = after.iter().map(|e| e.sequence.unwrap()).collect();
    assert_eq!(numbers, (start + 1..=start + 6).collect::<Vec<_>>(), "no gaps, no repeats");
    let origins: Vec<Option<&str>> = after.iter().map(|e| e.origin.as_deref()).collect();
    assert_eq!(origins, [Some("crm"), Some("crm"), Some("crm"), None, None, None]);
    let created = &after[0];
    assert_eq!(created.actor, tenant.admin_actor.reference());
    assert_eq!((created.subject_kind.as_str(), created.subject_id.clone()), ("user", ann.id.to_string()));
    assert_eq!(created.data["username"], "ann");
    assert_eq!(created.data["state"], "active");
    assert_eq!(after[1].data["email"], "ann@elsewhere.example.com", "the object after the change");
    assert_eq!(after[1].changes["email"]["before"], "ann@people.example.com");
    assert_eq!(after[2].data["state"], "disabled");
    assert_eq!(after[4].subject_id, invitation.id.to_string());
    assert_eq!(after[4].data["email"], "bob@example.com");
    assert_eq!(after[4].data["status"], "pending");
    for event in &after {
        let text = format!("{}{}", event.data, event.changes);
        assert!(!text.contains("hash") && !text.contains("token"), "no secret in {}: {text}", event.kind);
        assert_eq!((event.root, event.account), (root, root));
    }

    let invitations = EventFilter::parse(["invitation.*"]).unwrap();
    let only = feed_of(&h, &tenant.admin_actor, root, start, invitations).await.unwrap();
    assert_eq!(kinds(&only), ["invitation.created", "invitation.created"]);
    let several = EventFilter::parse(["user.disabled,user.enabled"]).unwrap();
    let only = feed_of(&h, &tenant.admin_actor, root, 0, several).await.unwrap();
    assert_eq!(kinds(&only), ["user.disabled", "user.enabled"]);
    assert!(EventFilter::parse(["user.renamed"]).is_err(), "an unknown type is refused, not ignored");
}

/// R26, R19: the feed of an account shows its subtree's events to those who may read them
/// there: a sub-account administrator sees its own subtree, a plain user nothing, another
/// tenant not even the account; and an erased user's personal data leaves the feed too (R8).
pub async fn r8_r19_r26_the_feed_keeps_tenants_subtrees_and_erasures(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let east = h.sub_account(&tenant, tenant.account.id, "acme-east").await;
    let west = h.sub_account(&tenant, tenant.account.id, "acme-west").await;
    let (_, east_admin) = h.administrator(&tenant, east.id, "east-admin", tenant.admin_role).await;
    let westerner = h.user(&tenant, west.id, "westerner").await.unwrap();
    let easterner = h.user(&tenant, east.id, "easterner").await.unwrap();

    let seen = feed(&h, &east_admin, east.id, 0).await;
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|e| e.account == east.id), "only the east subtree: {:?}", kinds(&seen));
    assert!(seen.iter().any(|e| e.subject_id == easterner.id.to_string()));
    let err = feed_of(&h, &east_admin, west.id, 0, EventFilter::all()).await.unwrap_err();
    assert!(matches!(err, EventError::Denied(Denied::OutsideScope)), "{err:?}");
    h.give_password(&tenant, westerner.id).await;
    let plain = h.login("acme", "westerner").await;
    let err = feed_of(&h, &plain, west.id, 0, EventFilter::all()).await.unwrap_err();
    assert!(matches!(err, EventError::Denied(Denied::MissingPermission { .. })), "{err:?}");
    let other = h.tenant("globex", 10).await;
    let err = feed_of(&h, &other.admin_actor, east.id, 0, EventFilter::all()).await.unwrap_err();
    assert!(matches!(err, EventError::NotFound { .. }), "{err:?}");
    assert!(
        feed(&h, &other.admin_actor, other.account.id, 0).await.iter().all(|e| e.root == other.account.id),
        "each tenant numbers and reads its own feed"
    );

    users::erase_user(&h.ports, &tenant.admin_actor, westerner.id).await.unwrap();
    let about: Vec<PublicEvent> = feed(&h, &tenant.admin_actor, tenant.account.id, 0)
        .await
        .into_iter()
        .filter(|e| e.subject_id == westerner.id.to_string())
        .collect();
    assert_eq!(kinds(&about).first(), Some(&"user.created"));
    assert_eq!(kinds(&about).last(), Some(&"user.erased"));
    for event in &about {
        let text = format!("{}{}", event.data, event.changes);
        assert!(!text.contains("westerner"), "{} still names the erased user: {text}", event.kind);
    }
}

/// R26: events past the retention are forgotten, and a root's numbering goes on from where it
/// was, so a reader's cursor still means the same place.
pub async fn r26_forgotten_events_never_give_their_numbers_again(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let root = tenant.account.id;
    let first = feed(&h, &tenant.admin_actor, root, 0).await;
    let last = first.last().unwrap().sequence.unwrap();
    h.clock.advance(Duration::days(31));
    let forgotten = events::forget_events(&h.ports, events::DEFAULT_RETENTION).await.unwrap();
    assert_eq!(forgotten, u64::try_from(first.len()).unwrap());
    assert!(feed(&h, &tenant.admin_actor, root, 0).await.is_empty(), "nothing older than 30 days is kept");
    h.user(&tenant, root, "late").await.unwrap();
    let kept = feed(&h, &tenant.admin_actor, root, 0).await;
    assert_eq!(kinds(&kept), ["user.created"]);
    assert_eq!(kept[0].sequence, Some(last + 1));
}

/// R26: 8 writers on two handles create users while a reader follows the feed with its
/// cursor; the reader sees every event exactly once, in rising order, whatever commits late.
pub async fn r26_race_8_writers_and_a_reader_see_every_event_once(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    const WRITERS: usize = 8;
    const EACH: usize = 12;
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 200).await;
    let root = tenant.account.id;
    let start = feed(&h, &tenant.admin_actor, root, 0).await.last().unwrap().sequence.unwrap();
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let reader = {
        let (h, actor, done) = (other.clone(), tenant.admin_actor.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen: Vec<PublicEvent> = Vec::new();
            let mut after = start;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst) == WRITERS;
                let read = EventRead { after, types: EventFilter::all(), limit: 5 };
                let page = events::list_events(&h.ports, &actor, root, read).await.unwrap();
                if page.is_empty() && finished {
                    return seen;
                }
                if let Some(last) = page.last() {
                    after = last.sequence.unwrap();
                }
                seen.extend(page);
                tokio::task::yield_now().await;
            }
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (h, tenant, done) =
                (if w % 2 == 0 { h.clone() } else { other.clone() }, tenant.clone(), done.clone());
            tokio::spawn(async move {
                let mut made = Vec::new();
                for n in 0..EACH {
                    made.push(h.user(&tenant, tenant.account.id, &format!("w{w}n{n}")).await.unwrap().id);
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                made
            })
        })
        .collect();
    let mut made = BTreeSet::new();
    for writer in writers {
        made.extend(writer.await.unwrap().into_iter().map(|id| id.to_string()));
    }
    let seen = reader.await.unwrap();
    let numbers: Vec<u64> = seen.iter().map(|e| e.sequence.unwrap()).collect();
    assert!(numbers.windows(2).all(|pair| pair[0] < pair[1]), "rising, each once: {numbers:?}");
    assert_eq!(numbers.len(), WRITERS * EACH, "every event, none twice");
    assert_eq!(numbers.last(), Some(&(start + u64::try_from(WRITERS * EACH).unwrap())), "no gaps");
    let subjects: BTreeSet<String> = seen.iter().map(|e| e.subject_id.clone()).collect();
    assert_eq!(subjects, made, "one user.created per user made");
}
