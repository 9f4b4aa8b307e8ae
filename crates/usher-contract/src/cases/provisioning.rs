//! Provisioning by an identity provider (SCIM): a directory search means on every store what
//! the domain's reference says, and provisioned users follow the rules users made by hand
//! follow (R1, R3, R5, R8, R24).

use usher_domain::model::{Comparison, Operand, SearchOrder, User, UserAttr, UserMatch};
use usher_domain::ports::{AuditFilter, AuditQuery};
use usher_domain::service::provisioning::{self, Provisioned};
use usher_domain::service::{integrations, sessions};

use super::*;

/// An API key of the tenant holding `permissions`, as an actor.
async fn key_holding(h: &Harness, tenant: &Tenant, name: &str, permissions: &[Permission]) -> Actor {
    let permissions = permissions.iter().copied().collect();
    let (_, secret) = integrations::create_api_key(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        name,
        permissions,
        None,
    )
    .await
    .unwrap();
    sessions::authenticate(&h.ports, secret.expose(), None).await.unwrap().actor
}

/// What an identity provider's key holds: `scim`, user management, and what the default
/// `user` role grants (R4: a key grants nothing it lacks).
fn provisioner_permissions() -> Vec<Permission> {
    [
        Module::Scim,
        Module::Users,
        Module::Contacts,
        Module::Orders,
        Module::Catalog,
        Module::Quotes,
        Module::Reports,
    ]
    .into_iter()
    .flat_map(|m| [Permission::new(m, Access::Read), Permission::new(m, Access::Write)])
    .collect()
}

fn person(username: &str, external_id: Option<&str>) -> Provisioned {
    Provisioned {
        username: username.to_owned(),
        external_id: external_id.map(str::to_owned),
        email: format!(
            "{}@corp.example.com",
            username.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        ),
        first_name: Some("Ann".into()),
        last_name: Some(format!("Smith-{username}")),
        active: true,
        ..Provisioned::default()
    }
}

fn text(attr: UserAttr, comparison: Comparison, value: &str) -> UserMatch {
    UserMatch::compare(attr, comparison, Operand::Text(value.to_owned()), "attr").unwrap()
}

/// Every user the search takes, in order, all pages read.
async fn searched(h: &Harness, actor: &Actor, filter: &UserMatch, order: SearchOrder) -> (u64, Vec<String>) {
    let page = provisioning::search_users(&h.ports, actor, filter.clone(), order, 0, 1000).await.unwrap();
    (page.total, page.users.iter().map(|u| u.username.to_string()).collect())
}

/// A directory search takes on each store exactly the users [`UserMatch::matches`] takes:
/// case rules, absent values under `not`, LIKE's wildcards taken literally, paging and order.
pub async fn scim_searches_mean_on_every_store_what_the_reference_means(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 50).await;
    let scim = key_holding(&h, &tenant, "entra", &provisioner_permissions()).await;
    let names = ["Zoe", "ann.b", "Ann_C", "bob%1", "carl", "dora", "Eve[x]", "fritz", "gus", "hal"];
    let mut made: Vec<User> = Vec::new();
    for (n, name) in names.iter().enumerate() {
        let external = (n % 3 != 0).then(|| format!("Ext-{n}"));
        let mut wanted = person(name, external.as_deref());
        if n == 4 {
            wanted.first_name = None;
            wanted.last_name = None;
        }
        made.push(provisioning::create_user(&h.ports, &scim, wanted).await.unwrap());
        h.clock.advance(Duration::minutes(1));
    }
    let mut wanted = person("dora", Some("Ext-5"));
    wanted.active = false;
    provisioning::replace_user(&h.ports, &scim, made[5].id, wanted, None).await.unwrap();
    // A user the key cannot see: another tenant's.
    let other = h.tenant("other", 5).await;
    h.user(&other, other.account.id, "ann.b").await.unwrap();
    let middle = made[5].created_at;
    let filters = vec![
        UserMatch::Everyone,
        text(UserAttr::Username, Comparison::Eq, "ANN.B"),
        text(UserAttr::Username, Comparison::StartsWith, "ann"),
        text(UserAttr::Username, Comparison::Contains, "%"),
        text(UserAttr::Username, Comparison::Contains, "_"),
        text(UserAttr::Username, Comparison::EndsWith, "[x]"),
        text(UserAttr::Username, Comparison::Gt, "dora"),
        text(UserAttr::ExternalId, Comparison::Eq, "Ext-2"),
        text(UserAttr::ExternalId, Comparison::Eq, "ext-2"),
        text(UserAttr::ExternalId, Comparison::StartsWith, "ext"),
        text(UserAttr::ExternalId, Comparison::Contains, "t-1"),
        text(UserAttr::ExternalId, Comparison::Ne, "Ext-1"),
        UserMatch::Present(UserAttr::ExternalId),
        UserMatch::Not(Box::new(UserMatch::Present(UserAttr::ExternalId))),
        UserMatch::Not(Box::new(text(UserAttr::ExternalId, Comparison::Eq, "Ext-1"))),
        text(UserAttr::Email, Comparison::EndsWith, "@CORP.example.com"),
        text(UserAttr::DisplayName, Comparison::Eq, "ann smith-gus"),
        text(UserAttr::DisplayName, Comparison::Eq, "carl"),
        text(UserAttr::GivenName, Comparison::Eq, "ann"),
        UserMatch::Not(Box::new(UserMatch::Present(UserAttr::FamilyName))),
        UserMatch::compare(UserAttr::Active, Comparison::Eq, Operand::Flag(false), "active").unwrap(),
        UserMatch::compare(UserAttr::Active, Comparison::Ne, Operand::Flag(false), "active").unwrap(),
        UserMatch::compare(UserAttr::Created, Comparison::Ge, Operand::Time(middle), "meta.created").unwrap(),
        UserMatch::compare(
            UserAttr::LastModified,
            Comparison::Lt,
            Operand::Time(middle),
            "meta.lastModified",
        )
        .unwrap(),
        text(UserAttr::Id, Comparison::Eq, &made[3].id.to_string()),
        text(UserAttr::Id, Comparison::Eq, &made[3].id.to_string().to_uppercase()),
        UserMatch::Any(vec![
            text(UserAttr::Username, Comparison::Eq, "gus"),
            UserMatch::All(vec![
                text(UserAttr::Username, Comparison::StartsWith, "a"),
                UserMatch::Not(Box::new(text(UserAttr::ExternalId, Comparison::Eq, "Ext-1"))),
            ]),
        ]),
        UserMatch::All(vec![]),
        UserMatch::Any(vec![]),
    ];
    let mut tx = h.ports.store.begin().await.unwrap();
    let mut everyone = vec![tx.user(tenant.admin.id).await.unwrap().unwrap()];
    for user in &made {
        everyone.push(tx.user(user.id).await.unwrap().unwrap());
    }
    drop(tx);
    for filter in &filters {
        let mut expected: Vec<&User> = everyone.iter().filter(|u| filter.matches(u)).collect();
        expected.sort_by_key(|u| u.id.as_uuid());
        let expected: Vec<String> = expected.iter().map(|u| u.username.to_string()).collect();
        let (total, found) = searched(&h, &scim, filter, SearchOrder::Created).await;
        assert_eq!(found, expected, "{filter:?}");
        assert_eq!(total, expected.len() as u64, "{filter:?}");
    }
    // Ordered by username, paged by offset: the pages add up to the whole, counted whole.
    let mut sorted: Vec<String> = everyone.iter().map(|u| u.username.key().as_str().to_owned()).collect();
    sorted.sort();
    let mut pages = Vec::new();
    for offset in (0..everyone.len() as u64 + 1).step_by(4) {
        let page = provisioning::search_users(
            &h.ports,
            &scim,
            UserMatch::Everyone,
            SearchOrder::UsernameAscending,
            offset,
            4,
        )
        .await
        .unwrap();
        assert_eq!(page.total, everyone.len() as u64);
        pages.extend(page.users.iter().map(|u| u.username.key().as_str().to_owned()));
    }
    assert_eq!(pages, sorted);
    // A page past the end is empty and still counts every match.
    let past = provisioning::search_users(&h.ports, &scim, UserMatch::Everyone, SearchOrder::Created, 100, 4)
        .await
        .unwrap();
    assert_eq!((past.total, past.users.len()), (everyone.len() as u64, 0));
    let (_, descending) = searched(&h, &scim, &UserMatch::Everyone, SearchOrder::UsernameDescending).await;
    let mut reversed: Vec<String> = sorted.iter().rev().cloned().collect();
    let lower: Vec<String> = descending.iter().map(|u| u.to_lowercase()).collect();
    reversed.iter_mut().for_each(|u| *u = u.to_lowercase());
    assert_eq!(lower, reversed);
}

/// R1, R3, R5, R8, R24: a provisioned user gets the default roles, takes and frees a seat,
/// keeps its username and external id unique, and the key needs `scim` and may not outrank.
pub async fn r1_r3_r5_r8_scim_provisioning_follows_the_rules_of_users(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 1).await;
    let scim = key_holding(&h, &tenant, "okta", &provisioner_permissions()).await;
    // R3: no role given, the settings' default roles; origin scim.
    let ann = provisioning::create_user(&h.ports, &scim, person("ann", Some("00u1"))).await.unwrap();
    assert_eq!(ann.origin, usher_domain::model::Origin::Scim);
    assert!(!ann.roles.is_empty());
    assert_eq!(ann.external_id.as_ref().map(ToString::to_string).as_deref(), Some("00u1"));
    // R20, R26: the change is audited with origin `scim`, whatever the key is named.
    let mut tx = h.ports.store.begin().await.unwrap();
    let filter = AuditFilter { target_id: Some(ann.id.to_string()), ..AuditFilter::default() };
    let query =
        AuditQuery { root: tenant.account.id, within: BTreeSet::new(), filter, page: PageRequest::first(10) };
    let audited = tx.list_audit(&query).await.unwrap().items;
    drop(tx);
    assert_eq!(
        audited.iter().map(|e| (e.action.as_str(), e.origin.as_deref())).collect::<Vec<_>>(),
        [("user.created", Some("scim"))]
    );
    // R5 and the external id are unique in the tenant (asked of disabled users, who need no seat).
    let disabled =
        |name: &str, external: Option<&str>| Provisioned { active: false, ..person(name, external) };
    let other_address =
        Provisioned { email: "ann.other@corp.example.com".into(), ..disabled("ANN", Some("00u9")) };
    let taken = provisioning::create_user(&h.ports, &scim, other_address).await.unwrap_err();
    assert!(matches!(taken, UserError::UsernameTaken { .. }), "{taken:?}");
    let taken = provisioning::create_user(&h.ports, &scim, disabled("ann2", Some("00u1"))).await.unwrap_err();
    assert!(matches!(taken, UserError::ExternalIdTaken { .. }), "{taken:?}");
    // R1: the tenant has one seat of the `user` type, and ann holds it.
    let full = provisioning::create_user(&h.ports, &scim, person("bob", None)).await.unwrap_err();
    assert!(matches!(full, UserError::NoSeatAvailable(_)), "{full:?}");
    let mut inactive = person("bob", None);
    inactive.active = false;
    let bob = provisioning::create_user(&h.ports, &scim, inactive.clone()).await.unwrap();
    // R8: deactivating frees the seat, and bob may then take it.
    let mut off = person("ann", Some("00u1"));
    off.active = false;
    let ann = provisioning::replace_user(&h.ports, &scim, ann.id, off, Some(ann.version)).await.unwrap();
    assert_eq!(ann.state, UserState::Disabled);
    let bob = provisioning::replace_user(&h.ports, &scim, bob.id, person("bob", None), None).await.unwrap();
    assert_eq!(bob.state, UserState::Active);
    let again = provisioning::replace_user(&h.ports, &scim, ann.id, person("ann", Some("00u1")), None).await;
    assert!(matches!(again, Err(UserError::NoSeatAvailable(_))), "{again:?}");
    // A stale version changes nothing.
    let stale = provisioning::replace_user(&h.ports, &scim, bob.id, person("bobby", None), Some(0)).await;
    assert!(matches!(stale, Err(UserError::VersionMismatch { .. })), "{stale:?}");
    // An unchanged PUT writes nothing.
    let before = h.counts(tenant.account.id).await;
    let same = provisioning::replace_user(&h.ports, &scim, bob.id, person("bob", None), None).await.unwrap();
    assert_eq!(same.version, bob.version);
    assert_eq!(h.counts(tenant.account.id).await, before);
    // A key without `scim` is refused, even with user management.
    let plain = key_holding(&h, &tenant, "plain", &[Permission::new(Module::Users, Access::Write)]).await;
    let refused =
        provisioning::search_users(&h.ports, &plain, UserMatch::Everyone, SearchOrder::Created, 0, 10)
            .await
            .unwrap_err();
    assert!(matches!(refused, UserError::Denied(Denied::MissingPermission { .. })), "{refused:?}");
    let refused = provisioning::create_user(&h.ports, &plain, person("carl", None)).await.unwrap_err();
    assert!(matches!(refused, UserError::Denied(Denied::MissingPermission { .. })), "{refused:?}");
    // R24: the key cannot change the administrator, who holds more than it.
    let admin = person(tenant.admin.username.as_str(), None);
    let outranked =
        provisioning::replace_user(&h.ports, &scim, tenant.admin.id, admin, None).await.unwrap_err();
    assert!(matches!(outranked, UserError::Denied(_)), "{outranked:?}");
    // Removing: gone from the directory either way.
    provisioning::remove_user(&h.ports, &scim, bob.id).await.unwrap();
    let gone = provisioning::get_user(&h.ports, &scim, bob.id).await.unwrap_err();
    assert!(matches!(gone, UserError::NotFound { .. }), "{gone:?}");
    // Another tenant's user reads as not found.
    let other = h.tenant("other", 5).await;
    let stranger = h.user(&other, other.account.id, "stranger").await.unwrap();
    let hidden = provisioning::get_user(&h.ports, &scim, stranger.id).await.unwrap_err();
    assert!(matches!(hidden, UserError::NotFound { .. }), "{hidden:?}");
}

/// R19: a provisioning client names the sub-account a user belongs to by slug, only within
/// the key's own account; the user stays where it was made, and the directory lists the
/// accounts a client may name.
pub async fn r19_scim_provisions_into_a_sub_account_named_by_slug(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let east = h.sub_account(&tenant, tenant.account.id, "acme-east").await;
    let west = h.sub_account(&tenant, tenant.account.id, "acme-west").await;
    let other = h.tenant("other", 5).await;
    let scim = key_holding(&h, &tenant, "entra", &provisioner_permissions()).await;
    let slugs = |directory: &provisioning::Directory| -> Vec<String> {
        directory.accounts.iter().map(|a| a.slug.to_string()).collect()
    };
    let directory = provisioning::catalog(&h.ports, &scim).await.unwrap();
    assert_eq!(slugs(&directory), ["acme", "acme-east", "acme-west"]);
    let in_east = Provisioned { account: Some("acme-east".into()), ..person("ann", None) };
    let ann = provisioning::create_user(&h.ports, &scim, in_east.clone()).await.unwrap();
    assert_eq!(ann.account, east.id);
    // Another tenant's account, or one that does not exist, is the field's error.
    for slug in [other.account.slug.to_string(), "nowhere".to_owned()] {
        let elsewhere = Provisioned { account: Some(slug), ..person("bob", None) };
        let refused = provisioning::create_user(&h.ports, &scim, elsewhere).await.unwrap_err();
        assert!(matches!(&refused, UserError::Invalid(invalid) if invalid.field == "account"), "{refused:?}");
    }
    // Repeating the account changes nothing; naming another is refused.
    let same = provisioning::replace_user(&h.ports, &scim, ann.id, in_east, None).await.unwrap();
    assert_eq!((same.account, same.version), (east.id, ann.version));
    let moved = Provisioned { account: Some("acme-west".into()), ..person("ann", None) };
    let refused = provisioning::replace_user(&h.ports, &scim, ann.id, moved, None).await.unwrap_err();
    assert!(matches!(&refused, UserError::Invalid(invalid) if invalid.field == "account"), "{refused:?}");
    // A key made in a sub-account sees and provisions into its own subtree only.
    let (_, secret) = integrations::create_api_key(
        &h.ports,
        &tenant.admin_actor,
        west.id,
        "west",
        provisioner_permissions().into_iter().collect(),
        None,
    )
    .await
    .unwrap();
    let west_key = sessions::authenticate(&h.ports, secret.expose(), None).await.unwrap().actor;
    let directory = provisioning::catalog(&h.ports, &west_key).await.unwrap();
    assert_eq!(slugs(&directory), ["acme-west"]);
    let upward = Provisioned { account: Some("acme".into()), ..person("carl", None) };
    let refused = provisioning::create_user(&h.ports, &west_key, upward).await.unwrap_err();
    assert!(matches!(&refused, UserError::Invalid(invalid) if invalid.field == "account"), "{refused:?}");
    let carl = provisioning::create_user(&h.ports, &west_key, person("carl", None)).await.unwrap();
    assert_eq!(carl.account, west.id);
}
