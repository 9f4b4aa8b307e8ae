//! R22, R23: roles, user types and settings.

use super::*;
use usher_domain::service::{accounts, catalog, invitations, users};

/// R22: a role still held (by users and pending invitations) needs a replacement, which every
/// holder and the default roles then hold; built-in roles are fixed.
pub async fn r22_role_deletion_needs_a_replacement(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let perms = BTreeSet::from([Permission::new(Module::Orders, Access::Write)]);
    let sales =
        catalog::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "sales", perms.clone())
            .await
            .unwrap();
    let backup = catalog::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "backup", perms)
        .await
        .unwrap();
    let mut command = h.new_user(&tenant, "seller");
    command.roles = BTreeSet::from([sales.id]);
    let seller = users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.unwrap();
    let mut invite = invite_command(&tenant, &["new-seller@people.example.com"]);
    invite.roles = BTreeSet::from([sales.id]);
    let outcomes =
        invitations::invite(&h.ports, &tenant.admin_actor, tenant.account.id, invite).await.unwrap();
    let invited = invitation_of(&outcomes, 0);
    let defaults = accounts::SettingsPatch {
        default_roles: Some(BTreeSet::from([sales.id, tenant.user_role])),
        ..Default::default()
    };
    accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, defaults).await.unwrap();
    let err = catalog::delete_role(&h.ports, &tenant.admin_actor, sales.id, None).await.unwrap_err();
    assert!(matches!(err, catalog::RoleError::StillAssigned { assignments: 2, .. }), "{err:?}");
    catalog::delete_role(&h.ports, &tenant.admin_actor, sales.id, Some(backup.id)).await.unwrap();
    // Every holder moved: the user, the pending invitation and the default roles.
    let seller = users::get_user(&h.ports, &tenant.admin_actor, seller.id).await.unwrap();
    assert_eq!(seller.roles, BTreeSet::from([backup.id]));
    let page = invitations::list_invitations(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        None,
        PageRequest::first(10),
    )
    .await
    .unwrap();
    let invited = page.items.iter().find(|i| i.id == invited.id).unwrap();
    assert_eq!(invited.roles, BTreeSet::from([backup.id]));
    let settings = accounts::get_settings(&h.ports, &tenant.admin_actor, tenant.account.id).await.unwrap();
    assert_eq!(settings.default_roles, BTreeSet::from([backup.id, tenant.user_role]));
    let err = catalog::delete_role(&h.ports, &tenant.admin_actor, tenant.admin_role, Some(backup.id))
        .await
        .unwrap_err();
    assert!(matches!(err, catalog::RoleError::Builtin { .. }), "{err:?}");
    let strip = catalog::RolePatch { permissions: Some(BTreeSet::new()), ..Default::default() };
    let err = catalog::update_role(&h.ports, &tenant.admin_actor, tenant.user_role, strip).await.unwrap_err();
    assert!(matches!(err, catalog::RoleError::Builtin { .. }), "{err:?}");
}

/// R4, R22, R24: roles keep their versions and their limits: a stale version is refused, a
/// role is its own replacement never, a manager changes no role granting more than it holds
/// (though it may read it), and the catalog lists every permission.
pub async fn r22_r24_roles_keep_their_versions_and_limits(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let custom =
        catalog::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "custom", users_write())
            .await
            .unwrap();
    let stale = catalog::RolePatch {
        name: Some("renamed".into()),
        if_version: Some(custom.version + 1),
        ..Default::default()
    };
    let err = catalog::update_role(&h.ports, &tenant.admin_actor, custom.id, stale).await.unwrap_err();
    assert!(matches!(err, catalog::RoleError::VersionMismatch { .. }), "{err:?}");
    let fresh = catalog::RolePatch {
        name: Some("renamed".into()),
        if_version: Some(custom.version),
        ..Default::default()
    };
    let renamed = catalog::update_role(&h.ports, &tenant.admin_actor, custom.id, fresh).await.unwrap();
    assert_eq!(
        renamed.version,
        catalog::get_role(&h.ports, &tenant.admin_actor, custom.id).await.unwrap().version
    );
    assert_ne!(renamed.version, custom.version);

    let mut holder = h.new_user(&tenant, "holder");
    holder.roles = BTreeSet::from([tenant.user_role, custom.id]);
    let types = catalog::list_user_types(&h.ports, &tenant.admin_actor, tenant.account.id).await.unwrap();
    holder.user_type = types.iter().find(|t| t.key.as_str() == "admin").unwrap().id;
    catalog::set_subscription(&h.ports, &h.operator, tenant.account.id, vec![(holder.user_type, 10)], None)
        .await
        .unwrap();
    users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, holder).await.unwrap();
    let err =
        catalog::delete_role(&h.ports, &tenant.admin_actor, custom.id, Some(custom.id)).await.unwrap_err();
    assert!(matches!(err, catalog::RoleError::StillAssigned { .. }), "its own replacement: {err:?}");

    let mut readers = BuiltinRole::User.permissions();
    readers.extend([Permission::new(Module::Roles, Access::Write)]);
    let role_editors =
        catalog::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "role editors", readers)
            .await
            .unwrap();
    let (_, editor) = h.administrator(&tenant, tenant.account.id, "editor", role_editors.id).await;
    catalog::get_role(&h.ports, &editor, tenant.admin_role).await.unwrap();
    let patch = catalog::RolePatch { name: Some("mine now".into()), ..Default::default() };
    let err = catalog::update_role(&h.ports, &editor, custom.id, patch).await.unwrap_err();
    assert!(matches!(err, catalog::RoleError::Denied(Denied::TargetHoldsMore { .. })), "{err:?}");
    assert_eq!(catalog::permission_catalog(&editor).unwrap(), Permission::catalog());
}

/// Settings name only the tenant's own user types and roles, and keep their limits.
pub async fn settings_name_only_the_tenants_own_catalog(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let other = h.tenant("globex", 5).await;
    let before = h.counts(tenant.account.id).await;
    let patches = [
        (
            "default_user_type",
            accounts::SettingsPatch { default_user_type: Some(other.user_type.id), ..Default::default() },
        ),
        (
            "member_user_type",
            accounts::SettingsPatch { member_user_type: Some(other.member_type), ..Default::default() },
        ),
        (
            "default_roles",
            accounts::SettingsPatch {
                default_roles: Some(BTreeSet::from([other.user_role])),
                ..Default::default()
            },
        ),
    ];
    for (name, patch) in patches {
        let err = accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, patch)
            .await
            .unwrap_err();
        assert!(
            matches!(err, accounts::AccountError::UnknownReference { field, .. } if field == name),
            "{name}: {err:?}"
        );
    }
    let too_long = accounts::SettingsPatch { default_clerk_id: Some("c".repeat(101)), ..Default::default() };
    let err = accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, too_long)
        .await
        .unwrap_err();
    assert!(matches!(err, accounts::AccountError::Invalid(_)), "{err:?}");
    assert_eq!(h.counts(tenant.account.id).await, before, "refusals change nothing");
    let own = accounts::SettingsPatch {
        default_roles: Some(BTreeSet::from([tenant.user_role, tenant.admin_role])),
        default_clerk_id: Some("c".repeat(100)),
        ..Default::default()
    };
    let settings =
        accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, own).await.unwrap();
    assert_eq!(settings.default_roles, BTreeSet::from([tenant.user_role, tenant.admin_role]));
    assert_eq!(settings.default_clerk_id.map(|c| c.len()), Some(100));
}

/// Optimistic locking of what the console's forms edit: an account and a user type refuse a
/// change made against a version they no longer have, and the subscription one made against
/// seat totals it no longer has; a refused change writes nothing. Users coming and going
/// change no seat total, so they never make a subscription form stale.
pub async fn accounts_user_types_and_the_subscription_refuse_stale_writes(store: Arc<dyn Store>) {
    use usher_domain::model::seat_totals_fingerprint;
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let admin = &tenant.admin_actor;
    let account = tenant.account.id;

    let rename = |name: &str, if_version| accounts::AccountPatch {
        name: Some(name.to_owned()),
        state: None,
        sales_representative: None,
        if_version: Some(if_version),
    };
    let renamed = accounts::update_account(&h.ports, admin, account, rename("Acme Corp", 1)).await.unwrap();
    assert_eq!(renamed.version, 2);
    let err = accounts::update_account(&h.ports, admin, account, rename("Stale Corp", 1)).await.unwrap_err();
    assert!(matches!(err, accounts::AccountError::VersionMismatch { expected: 1, actual: 2 }), "{err:?}");
    let stored = accounts::get_account(&h.ports, admin, account).await.unwrap();
    assert_eq!((stored.name.as_str(), stored.version), ("Acme Corp", 2), "a refused change writes nothing");

    let user_type = tenant.user_type.id;
    let retitle = |name: &str, if_version| catalog::UserTypePatch {
        name: Some(name.to_owned()),
        ceiling: None,
        if_version: Some(if_version),
    };
    let updated = catalog::update_user_type(&h.ports, admin, user_type, retitle("Staff", 1)).await.unwrap();
    assert_eq!(updated.version, 2);
    let err = catalog::update_user_type(&h.ports, admin, user_type, retitle("Stale", 1)).await.unwrap_err();
    assert!(matches!(err, catalog::SeatError::VersionMismatch { expected: 1, actual: 2 }), "{err:?}");

    let fingerprint = |figures: &[(usher_domain::model::UserType, usher_domain::model::SeatUsage)]| {
        seat_totals_fingerprint(figures.iter().map(|(t, u)| (t.id, u.total)))
    };
    let read = catalog::get_subscription(&h.ports, admin, account).await.unwrap();
    let before = fingerprint(&read);
    h.user(&tenant, account, "newcomer").await.unwrap();
    let after_hire = fingerprint(&catalog::get_subscription(&h.ports, admin, account).await.unwrap());
    assert_eq!(after_hire, before, "a user taking a seat changes no total");
    let raised =
        catalog::set_subscription(&h.ports, &h.operator, account, vec![(user_type, 8)], Some(before.clone()))
            .await
            .unwrap();
    assert_ne!(fingerprint(&raised), before);
    let err = catalog::set_subscription(&h.ports, &h.operator, account, vec![(user_type, 9)], Some(before))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, catalog::SeatError::SubscriptionChanged { current } if *current == fingerprint(&raised)),
        "{err:?}"
    );
    assert_eq!(seats_of(&h, &tenant).await.2, 8, "a refused change writes nothing");
}
