//! The user list and its searches are served by indexes: on a table of 100,000 users, the
//! query plan of every variant (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on PostgreSQL) has
//! no full scan of `users` or `user_roles`.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ConnectionTrait, Database};
use usher_domain::id::{AccountId, RoleId, UserTypeId};
use usher_domain::model::{
    Account, AccountPath, AccountState, Comparison, Operand, Role, SearchOrder, UserAttr, UserMatch,
    UserState, UserType,
};
use usher_domain::ports::{Cursor, PageRequest, Store, UserQuery, UserSearch};
use usher_domain::time::Timestamp;
use usher_domain::value::{Key, Name, Slug};
use usher_store::{Backend, SqlStore};
use uuid::Uuid;

const USERS: u32 = 100_000;

struct Catalog {
    root: AccountId,
    sub: AccountId,
    user_type: UserTypeId,
    sales: RoleId,
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

/// A root account with three sub-accounts, three user types and two roles.
async fn catalog(store: &SqlStore) -> Catalog {
    let at = Timestamp::from_unix_micros(1_767_225_600_000_000).unwrap();
    let root = AccountId::from_uuid(id(1));
    let root_path = AccountPath::root_of(root);
    let mut tx = store.begin().await.unwrap();
    let mut accounts = vec![Account {
        id: root,
        path: root_path.clone(),
        slug: Slug::parse("big").unwrap(),
        name: Name::parse("Big").unwrap(),
        state: AccountState::Active,
        created_at: at,
        version: 1,
        sales_representative: None,
    }];
    for n in 0..3u128 {
        let sub = AccountId::from_uuid(id(10 + n));
        accounts.push(Account {
            id: sub,
            path: root_path.child(sub),
            slug: Slug::parse(&format!("branch{n}")).unwrap(),
            name: Name::parse(&format!("Branch {n}")).unwrap(),
            state: AccountState::Active,
            created_at: at,
            version: 1,
            sales_representative: None,
        });
    }
    for account in &accounts {
        tx.insert_account(account).await.unwrap();
    }
    for n in 0..3u128 {
        let user_type = UserType {
            id: UserTypeId::from_uuid(id(20 + n)),
            root,
            key: Key::parse(&format!("type{n}")).unwrap(),
            name: Name::parse(&format!("Type {n}")).unwrap(),
            consumes_seat: true,
            ceiling: BTreeSet::new(),
            created_at: at,
            version: 1,
        };
        tx.insert_user_type(&user_type).await.unwrap();
    }
    for (n, name) in [(0u128, "user"), (1, "sales")] {
        let role = Role {
            id: RoleId::from_uuid(id(30 + n)),
            root,
            name: Name::parse(name).unwrap(),
            builtin: None,
            permissions: BTreeSet::new(),
            external_id: None,
            created_at: at,
            version: 0,
        };
        tx.insert_role(&role).await.unwrap();
    }
    tx.commit().await.unwrap();
    Catalog {
        root,
        sub: AccountId::from_uuid(id(11)),
        user_type: UserTypeId::from_uuid(id(21)),
        sales: RoleId::from_uuid(id(31)),
    }
}

/// Fills `users` and `user_roles` with generated rows in a few statements.
async fn fill(url: &str, backend: Backend) {
    let db = Database::connect(url).await.unwrap();
    let new_id = match backend {
        Backend::Postgres => "gen_random_uuid()",
        Backend::Sqlite => "randomblob(16)",
    };
    let users = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {USERS})
         INSERT INTO users (id, root_id, account_id, username, username_key, email, first_name_key,
             last_name_key, profile, receive_system_messages, external_ids, user_type_id, scope, origin,
             state, has_password, must_change_password, is_operator, created_at, updated_at, version)
         SELECT {new_id}, (SELECT id FROM accounts WHERE slug = 'big'),
             (SELECT id FROM accounts WHERE slug = CASE i % 4 WHEN 0 THEN 'big' ELSE 'branch' || (i % 3) END),
             'User' || i, 'user' || i, 'user' || i || '@example.com',
             CASE i % 5 WHEN 0 THEN 'ann' WHEN 1 THEN 'bob' WHEN 2 THEN 'carla' WHEN 3 THEN 'dieter' ELSE 'eve' END || i,
             'smith' || i, '{{}}', 1 = 1, '{{}}',
             (SELECT id FROM user_types WHERE key = 'type' || (i % 3)), '[]', 'admin',
             CASE WHEN i % 10 = 0 THEN 'disabled' ELSE 'active' END, 1 = 1, 1 = 0, 1 = 0, i, i, 0
         FROM n"
    );
    db.execute_unprepared(&users).await.unwrap();
    let roles = "INSERT INTO user_roles (user_id, role_id)
         SELECT id, (SELECT id FROM roles WHERE name_key = CASE WHEN username_key LIKE '%7' THEN 'sales' ELSE 'user' END)
         FROM users";
    db.execute_unprepared(roles).await.unwrap();
    db.execute_unprepared("ANALYZE").await.unwrap();
    db.close().await.unwrap();
}

fn queries(catalog: &Catalog) -> BTreeMap<&'static str, UserQuery> {
    let base = UserQuery {
        root: catalog.root,
        within: BTreeSet::new(),
        state: None,
        prefix: None,
        user_type: None,
        role: None,
        page: PageRequest::first(50),
    };
    let cursor = Cursor { key: "user5".to_owned(), id: Uuid::nil() };
    BTreeMap::from([
        ("first page by username", base.clone()),
        // What the API asks for an administrator of the root: the root's own subtree.
        ("first page within the root", UserQuery { within: BTreeSet::from([catalog.root]), ..base.clone() }),
        ("next page by username", UserQuery { page: PageRequest::after(cursor.clone(), 50), ..base.clone() }),
        ("by state", UserQuery { state: Some(UserState::Disabled), ..base.clone() }),
        ("by type", UserQuery { user_type: Some(catalog.user_type), ..base.clone() }),
        ("by role", UserQuery { role: Some(catalog.sales), ..base.clone() }),
        ("username or email prefix", UserQuery { prefix: Some("user123".to_owned()), ..base.clone() }),
        ("first name prefix", UserQuery { prefix: Some("carla12".to_owned()), ..base.clone() }),
        ("last name prefix", UserQuery { prefix: Some("smith99".to_owned()), ..base.clone() }),
        (
            "state and prefix, next page",
            UserQuery {
                state: Some(UserState::Active),
                prefix: Some("user4".to_owned()),
                page: PageRequest::after(cursor, 50),
                ..base.clone()
            },
        ),
        ("within a sub-account", UserQuery { within: BTreeSet::from([catalog.sub]), ..base }),
    ])
}

/// The lookups identity providers make over SCIM, each of which an index must serve.
fn searches(catalog: &Catalog) -> BTreeMap<&'static str, UserSearch> {
    let search = |filter: UserMatch| UserSearch {
        root: catalog.root,
        within: BTreeSet::new(),
        filter,
        order: SearchOrder::Created,
        offset: 0,
        limit: 100,
    };
    let text = |attr, value: &str| {
        search(UserMatch::compare(attr, Comparison::Eq, Operand::Text(value.to_owned()), "attr").unwrap())
    };
    BTreeMap::from([
        ("userName eq", text(UserAttr::Username, "user4242")),
        ("externalId eq", text(UserAttr::ExternalId, "00u4242")),
        ("emails.value eq", text(UserAttr::Email, "user4242@example.com")),
        ("displayName eq", text(UserAttr::DisplayName, "ann smith")),
        (
            "meta.lastModified gt",
            search(
                UserMatch::compare(
                    UserAttr::LastModified,
                    Comparison::Gt,
                    Operand::Time(Timestamp::from_unix_micros(i64::from(USERS) - 10).unwrap()),
                    "meta.lastModified",
                )
                .unwrap(),
            ),
        ),
    ])
}

/// Plan lines that read a whole big table: a scan, or (SQLite) a walk over every user of the
/// tenant whose result then needs sorting, i.e. a filter no index served.
fn full_scans(backend: Backend, plan: &[String]) -> Vec<String> {
    let sorted = plan.iter().any(|line| line.contains("USE TEMP B-TREE FOR ORDER BY"));
    let tenant_walk =
        |line: &str| sorted && line.starts_with("SEARCH users") && line.ends_with("(root_id=?)");
    plan.iter()
        .filter(|line| match backend {
            // SQLite: `SCAN t` (or `SCAN t USING INDEX i`, a walk over the whole index).
            Backend::Sqlite => {
                ["SCAN users", "SCAN user_roles"].iter().any(|s| line.trim_start().starts_with(s))
                    || tenant_walk(line.trim_start())
            }
            Backend::Postgres => {
                ["Seq Scan on users", "Seq Scan on user_roles"].iter().any(|s| line.contains(s))
            }
        })
        .cloned()
        .collect()
}

async fn check_plans(store: &SqlStore, url: &str) {
    let catalog = catalog(store).await;
    fill(url, store.backend()).await;
    let mut failures = Vec::new();
    for (name, query) in queries(&catalog) {
        let plan = store.explain_list_users(&query).await.unwrap();
        assert!(!plan.is_empty(), "{name}: no plan");
        if !full_scans(store.backend(), &plan).is_empty() {
            failures.push(format!("{name}:\n  {}", plan.join("\n  ")));
        }
    }
    for (name, search) in searches(&catalog) {
        let plan = store.explain_search_users(&search).await.unwrap();
        assert!(!plan.is_empty(), "{name}: no plan");
        if !full_scans(store.backend(), &plan).is_empty() {
            failures.push(format!("SCIM {name}:\n  {}", plan.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "full scans on {USERS} users:\n{}", failures.join("\n"));
    // The lists answer, too: the data is really there.
    let mut tx = store.begin().await.unwrap();
    let page = tx.list_users(&queries(&catalog)["by role"]).await.unwrap();
    assert_eq!(page.items.len(), 50);
    assert!(page.items.iter().all(|u| u.roles.contains(&catalog.sales)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_user_lists_use_indexes_on_100k_users() {
    let fixture = crate::fixture::SqliteFixture::new().await;
    check_plans(&fixture.store, &fixture.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_user_lists_use_indexes_on_100k_users() {
    let Some(fixture) = crate::fixture::PostgresFixture::new().await else { return };
    let url = fixture.url.clone();
    let outcome = tokio::spawn({
        let store = fixture.store.clone();
        async move { check_plans(&store, &url).await }
    })
    .await;
    fixture.drop_database().await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

#[test]
fn the_scan_detector_flags_full_scans_only() {
    let sqlite = [
        "SCAN users USING INDEX ix_users_state".to_owned(),
        "SEARCH users USING INDEX x (root_id=?)".to_owned(),
    ];
    assert_eq!(full_scans(Backend::Sqlite, &sqlite).len(), 1, "an ordered walk with a limit is fine");
    let walk =
        ["SEARCH users USING INDEX x (root_id=?)".to_owned(), "USE TEMP B-TREE FOR ORDER BY".to_owned()];
    assert_eq!(
        full_scans(Backend::Sqlite, &walk).len(),
        1,
        "a walk of the tenant that is then sorted is not"
    );
    let postgres =
        ["Limit".to_owned(), "  ->  Seq Scan on users  (cost=0.00..1.00 rows=1 width=1)".to_owned()];
    assert_eq!(full_scans(Backend::Postgres, &postgres).len(), 1);
}
