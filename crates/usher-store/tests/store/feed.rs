//! The event feed on PostgreSQL, where transactions really overlap (R26): an event whose
//! transaction commits after a later one's is numbered after it, so a reader that went on
//! never misses it; and sequencers on two pools never give a number twice.

use std::collections::BTreeSet;
use std::sync::Arc;

use usher_contract::fixture::Fixture;
use usher_domain::id::{AccountId, EventId};
use usher_domain::model::{ActorRef, EventFilter, PublicEvent};
use usher_domain::ports::{EventQuery, Store};
use usher_domain::time::Timestamp;

fn event(root: AccountId, n: u128) -> PublicEvent {
    PublicEvent {
        id: EventId::from_uuid(uuid::Uuid::from_u128(n)),
        root,
        account: root,
        kind: "user.created",
        occurred_at: Timestamp::from_unix_micros(1_800_000_000_000_000).unwrap(),
        actor: ActorRef::System,
        origin: None,
        subject_kind: "user".to_owned(),
        subject_id: n.to_string(),
        data: serde_json::json!({"n": n.to_string()}),
        changes: serde_json::json!({}),
        sequence: None,
    }
}

async fn sequence(store: &Arc<dyn Store>) -> u32 {
    let mut tx = store.begin().await.unwrap();
    let numbered = tx.sequence_events(1000).await.unwrap();
    tx.commit().await.unwrap();
    numbered
}

async fn waiting(store: &Arc<dyn Store>) -> bool {
    store.begin_read().await.unwrap().has_unnumbered_events().await.unwrap()
}

async fn read(store: &Arc<dyn Store>, root: AccountId, after: u64) -> Vec<(u64, String)> {
    let mut tx = store.begin_read().await.unwrap();
    let query = EventQuery { root, within: BTreeSet::new(), after, types: EventFilter::all(), limit: 200 };
    let events = tx.list_events(&query).await.unwrap();
    events.into_iter().map(|e| (e.sequence.unwrap(), e.subject_id)).collect()
}

#[tokio::test]
async fn r26_a_late_commit_is_numbered_after_what_a_reader_already_saw() {
    let Some(fixture) = crate::fixture::PostgresFixture::new().await else { return };
    let (first, second) = (fixture.store(), fixture.second_store().await);
    let root = AccountId::from_uuid(uuid::Uuid::from_u128(7));

    let mut slow = first.begin().await.unwrap();
    slow.append_events(&[event(root, 1)]).await.unwrap();
    let mut quick = second.begin().await.unwrap();
    quick.append_events(&[event(root, 2)]).await.unwrap();
    quick.commit().await.unwrap();
    assert!(waiting(&first).await, "a committed event waits for its number");
    assert_eq!(sequence(&second).await, 1, "only what has committed is numbered");
    assert!(!waiting(&first).await, "what has not committed is not seen waiting");
    assert_eq!(read(&first, root, 0).await, [(1, "2".to_owned())]);

    slow.commit().await.unwrap();
    assert!(waiting(&second).await);
    assert_eq!(sequence(&first).await, 1);
    assert_eq!(read(&second, root, 1).await, [(2, "1".to_owned())], "the reader at 1 gets the late one");
    fixture.teardown().await;
}

#[tokio::test]
async fn r26_sequencers_on_two_pools_never_give_a_number_twice() {
    let Some(fixture) = crate::fixture::PostgresFixture::new().await else { return };
    let stores = [fixture.store(), fixture.second_store().await];
    let root = AccountId::from_uuid(uuid::Uuid::from_u128(7));
    let writers: Vec<_> = (0..4u128)
        .map(|w| {
            let store = stores[usize::try_from(w % 2).unwrap()].clone();
            tokio::spawn(async move {
                for n in 0..50u128 {
                    let mut tx = store.begin().await.unwrap();
                    tx.append_events(&[event(root, 1000 * (w + 1) + n)]).await.unwrap();
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    let sequencers: Vec<_> = stores
        .iter()
        .cloned()
        .map(|store| {
            tokio::spawn(async move {
                let mut numbered = 0;
                while numbered < 200 {
                    numbered += sequence(&store).await;
                    let seen = read(&store, root, 0).await.len();
                    if seen == 200 {
                        break;
                    }
                }
            })
        })
        .collect();
    for task in writers.into_iter().chain(sequencers) {
        task.await.unwrap();
    }
    let numbers: Vec<u64> = read(&stores[0], root, 0).await.into_iter().map(|(n, _)| n).collect();
    assert_eq!(numbers, (1..=200).collect::<Vec<u64>>(), "1 to 200, each once");
    fixture.teardown().await;
}
