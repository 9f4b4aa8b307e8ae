//! R19: the account tree, isolation and lists.

use super::*;
use usher_domain::id::{AccountId, UserTypeId};
use usher_domain::service::{accounts, invitations, users};

/// Sub-accounts form a tree; slugs are global; disabling and enabling users works in any of them.
pub async fn sub_accounts_form_a_tree(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let child = h.sub_account(&tenant, tenant.account.id, "acme-eu").await;
    let grandchild = h.sub_account(&tenant, child.id, "acme-eu-de").await;
    assert_eq!(grandchild.root(), tenant.account.id);
    assert_eq!(grandchild.parent(), Some(child.id));
    let err = accounts::create_sub_account(&h.ports, &tenant.admin_actor, child.id, "acme", "Clash")
        .await
        .unwrap_err();
    assert!(matches!(err, accounts::AccountError::SlugTaken { .. }), "{err:?}");
    let children =
        accounts::list_sub_accounts(&h.ports, &tenant.admin_actor, tenant.account.id).await.unwrap();
    assert_eq!(children.iter().map(|a| a.id).collect::<Vec<_>>(), vec![child.id]);
    let user = h.user(&tenant, grandchild.id, "deep").await.unwrap();
    users::disable_user(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    users::enable_user(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    assert_eq!(seats_of(&h, &tenant).await.0, 1, "seats are shared across the tree");
}

/// R19: an account's tree is read at once, from where the caller reaches: every account below
/// it, each after its parent, nothing of a sibling's subtree or another tenant, and no more
/// than asked for.
pub async fn r19_an_account_tree_is_read_at_once_from_where_one_reaches(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let acme = h.tenant("acme", 5).await;
    let other = h.tenant("other", 5).await;
    let eu = h.sub_account(&acme, acme.account.id, "acme-eu").await;
    let us = h.sub_account(&acme, acme.account.id, "acme-us").await;
    let de = h.sub_account(&acme, eu.id, "acme-eu-de").await;
    let berlin = h.sub_account(&acme, de.id, "acme-eu-de-berlin").await;
    h.sub_account(&other, other.account.id, "other-eu").await;
    let tree = accounts::account_tree(&h.ports, &acme.admin_actor, acme.account.id).await.unwrap();
    let ids: Vec<AccountId> = tree.iter().map(|a| a.id).collect();
    let mut expected = vec![acme.account.id, eu.id, us.id, de.id, berlin.id];
    expected.sort();
    let mut found = ids.clone();
    found.sort();
    assert_eq!(found, expected, "the whole tree and nothing else");
    assert_eq!(ids[0], acme.account.id, "the top comes first");
    for account in &tree[1..] {
        let parent = account.parent().unwrap();
        let at = |id| ids.iter().position(|i| *i == id).unwrap();
        assert!(at(parent) < at(account.id), "{} comes after its parent", account.slug);
    }
    let below_eu = accounts::account_tree(&h.ports, &acme.admin_actor, eu.id).await.unwrap();
    let below_eu: Vec<AccountId> = below_eu.iter().map(|a| a.id).collect();
    assert_eq!(below_eu, vec![eu.id, de.id, berlin.id], "a subtree, its path order");
    let err = accounts::account_tree(&h.ports, &other.admin_actor, acme.account.id).await.unwrap_err();
    assert!(matches!(err, accounts::AccountError::NotFound { .. }), "another tenant's tree: {err:?}");
    let mut tx = h.ports.store.begin().await.unwrap();
    let first = tx.subtree(&acme.account.path, 2).await.unwrap();
    assert_eq!(first.len(), 2, "at most the limit");
    assert_eq!(first[0].id, acme.account.id);
    assert_eq!(first[1].parent(), Some(acme.account.id), "then the first child's subtree");
}

/// R19: the combined read a write starts with (`Tx::account_context`) returns what its parts
/// return one by one: the account, its root's settings, and the type asked for whatever its
/// root, so that the domain refuses another tenant's type.
pub async fn r19_account_context_reads_what_its_parts_read(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let acme = h.tenant("acme", 5).await;
    let other = h.tenant("other", 5).await;
    let child = h.sub_account(&acme, acme.account.id, "acme-eu").await;
    let mut tx = h.ports.store.begin().await.unwrap();
    let settings = tx.settings(acme.account.id).await.unwrap();
    assert!(settings.is_some());
    for (account, asked) in [
        (&child, Some(acme.user_type.id)),
        (&acme.account, Some(other.user_type.id)),
        (&child, None),
        (&child, Some(UserTypeId::from_uuid(uuid::Uuid::from_u128(7)))),
    ] {
        let context = tx.account_context(account.id, asked).await.unwrap().expect("the account exists");
        assert_eq!(&context.account, account);
        assert_eq!(context.settings, settings);
        let expected = match asked {
            Some(id) => tx.user_type(id).await.unwrap(),
            None => None,
        };
        assert_eq!(context.user_type, expected, "asked for {asked:?}");
    }
    let missing = AccountId::from_uuid(uuid::Uuid::from_u128(9));
    assert!(tx.account_context(missing, Some(acme.user_type.id)).await.unwrap().is_none());
    drop(tx);
    // Through a use case: another tenant's type reads as not found.
    let err = users::create_user(
        &h.ports,
        &acme.admin_actor,
        child.id,
        users::NewUser { user_type: other.user_type.id, ..h.new_user(&acme, "stranger") },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, UserError::NotFound { entity: "user type" }), "{err:?}");
}

/// R19: admins of a sub-account reach its subtree only; other tenants read as not found.
pub async fn r19_tenant_and_subtree_isolation(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let east = h.sub_account(&tenant, tenant.account.id, "acme-east").await;
    let west = h.sub_account(&tenant, tenant.account.id, "acme-west").await;
    let east_shop = h.sub_account(&tenant, east.id, "acme-east-shop").await;
    let (_, east_actor) = h.administrator(&tenant, east.id, "east-admin", tenant.admin_role).await;
    let westerner = h.user(&tenant, west.id, "westerner").await.unwrap();
    let shopper = h.user(&tenant, east_shop.id, "shopper").await.unwrap();

    users::get_user(&h.ports, &east_actor, shopper.id).await.unwrap();
    let err = users::get_user(&h.ports, &east_actor, westerner.id).await.unwrap_err();
    assert!(matches!(err, UserError::Denied(Denied::OutsideScope)), "sibling: {err:?}");
    let err = users::list_users(
        &h.ports,
        &east_actor,
        tenant.account.id,
        UserFilter::default(),
        PageRequest::first(50),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, UserError::Denied(Denied::OutsideScope)), "parent: {err:?}");
    let listed =
        users::list_users(&h.ports, &east_actor, east.id, UserFilter::default(), PageRequest::first(50))
            .await
            .unwrap();
    let names: BTreeSet<String> = listed.items.iter().map(|u| u.username.to_string()).collect();
    assert_eq!(names, BTreeSet::from(["east-admin".to_owned(), "shopper".to_owned()]));

    let other = h.tenant("globex", 10).await;
    let foreigner = h.user(&other, other.account.id, "foreigner").await.unwrap();
    let err = users::get_user(&h.ports, &tenant.admin_actor, foreigner.id).await.unwrap_err();
    assert!(matches!(err, UserError::NotFound { .. }), "another tenant: {err:?}");
    let err = accounts::get_settings(&h.ports, &tenant.admin_actor, other.account.id).await.unwrap_err();
    assert!(matches!(err, accounts::AccountError::NotFound { .. }), "{err:?}");
    let all = users::list_users(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        UserFilter::default(),
        PageRequest::first(200),
    )
    .await
    .unwrap();
    assert!(all.items.iter().all(|u| u.root == tenant.account.id), "lists never cross tenants");
    let err = invitations::invite(
        &h.ports,
        &tenant.admin_actor,
        other.account.id,
        invite_command(&tenant, &["x@example.com"]),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, InviteError::NotFound { .. }), "{err:?}");
}

/// Keyset pagination: stable order, no duplicates or gaps while rows are inserted.
pub async fn keyset_pagination_is_stable_while_rows_are_inserted(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 200).await;
    for n in 0..30 {
        h.user(&tenant, tenant.account.id, &format!("u{n:03}")).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut request = PageRequest::first(7);
    let mut inserted = 0;
    loop {
        let page = users::list_users(
            &h.ports,
            &tenant.admin_actor,
            tenant.account.id,
            UserFilter::default(),
            request,
        )
        .await
        .unwrap();
        seen.extend(page.items.iter().map(|u| u.username.to_string()));
        // Rows inserted before the cursor must not shift what comes after it.
        h.user(&tenant, tenant.account.id, &format!("a{inserted:03}")).await.unwrap();
        inserted += 1;
        match page.next {
            Some(cursor) => request = PageRequest::after(cursor, 7),
            None => break,
        }
    }
    let expected: Vec<String> =
        std::iter::once("admin".to_owned()).chain((0..30).map(|n| format!("u{n:03}"))).collect();
    assert_eq!(seen, expected);
    let filtered = users::list_users(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        UserFilter { q: Some("U01".into()), ..Default::default() },
        PageRequest::first(50),
    )
    .await
    .unwrap();
    assert_eq!(filtered.items.len(), 10, "prefix search is case-insensitive");
}

/// A cursor from another list (a username where a time belongs) reads as a position, never
/// as a failure. The audit log runs newest first: every event comes after a key sorting after
/// every time, none after one sorting before them.
pub async fn a_cursor_of_another_list_is_a_position_not_a_failure(store: Arc<dyn Store>) {
    use usher_domain::ports::{Cursor, PageRequest};
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let events = audit_of(&h, &tenant, 50).await.items.len();
    assert!(events > 0);
    for (key, expected) in [("admin", events), ("-", 0)] {
        let page = PageRequest::after(Cursor { key: key.into(), id: uuid::Uuid::nil() }, 50);
        let listed = usher_domain::service::audit::list_audit_events(
            &h.ports,
            &tenant.admin_actor,
            tenant.account.id,
            Default::default(),
            page,
        )
        .await
        .unwrap();
        assert_eq!(listed.items.len(), expected, "after {key:?}");
    }
}
