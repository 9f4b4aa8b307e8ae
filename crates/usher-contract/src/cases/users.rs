//! R3–R8, R24: users, their roles, names, states and versions.

use super::*;
use usher_domain::service::{
    accounts, audit, catalog, contacts, integrations, invitations, public, sessions, users,
};

/// R3: an enabled user needs a role; a disabled one may have none.
pub async fn r3_enabled_users_need_a_role(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let mut command = h.new_user(&tenant, "roleless");
    command.roles.clear();
    let err = users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, UserError::RoleRequired(_)), "{err:?}");
    command.enabled = false;
    let user = users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.unwrap();
    let err = users::enable_user(&h.ports, &tenant.admin_actor, user.id).await.unwrap_err();
    assert!(matches!(err, UserError::RoleRequired(_)), "{err:?}");
    let patch = UserPatch { roles: Some(BTreeSet::from([tenant.user_role])), ..Default::default() };
    users::update_user(&h.ports, &tenant.admin_actor, user.id, patch).await.unwrap();
    users::enable_user(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
}

/// R4: no role above the type's ceiling; no granting what the granter lacks.
pub async fn r4_roles_above_the_ceiling_or_the_granters_permissions_are_refused(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let mut command = h.new_user(&tenant, "clerk");
    command.roles = BTreeSet::from([tenant.admin_role]);
    let err =
        users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.unwrap_err();
    assert!(
        matches!(err, UserError::Grant(usher_domain::authz::GrantDenied::AboveCeiling { .. })),
        "{err:?}"
    );

    // A user manager without pricing cannot create a role with pricing, nor grant one.
    let managers = BTreeSet::from([
        Permission::new(Module::Users, Access::Write),
        Permission::new(Module::Roles, Access::Write),
        Permission::new(Module::Orders, Access::Write),
    ]);
    let manager_role =
        catalog::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "managers", managers)
            .await
            .unwrap();
    let (manager, manager_actor) =
        h.administrator(&tenant, tenant.account.id, "manager", manager_role.id).await;
    let pricing = BTreeSet::from([Permission::new(Module::Pricing, Access::Read)]);
    let err = catalog::create_role(&h.ports, &manager_actor, tenant.account.id, "pricing", pricing)
        .await
        .unwrap_err();
    assert!(matches!(err, catalog::RoleError::Escalation { .. }), "{err:?}");
    let mut escalate = h.new_user(&tenant, "escalated");
    escalate.user_type = manager.user_type;
    escalate.roles = BTreeSet::from([tenant.admin_role]);
    let err = users::create_user(&h.ports, &manager_actor, tenant.account.id, escalate).await.unwrap_err();
    assert!(matches!(err, UserError::Grant(usher_domain::authz::GrantDenied::Escalation { .. })), "{err:?}");
}

/// R5: usernames are unique per root ignoring case and Unicode composition.
pub async fn r5_usernames_are_unique_ignoring_case_and_composition(store: Arc<dyn Store>) {
    let h = Harness::new(store.clone());
    let tenant = h.tenant("acme", 10).await;
    h.user(&tenant, tenant.account.id, "J\u{f6}rg").await.unwrap();
    let mut clash = h.new_user(&tenant, "jo\u{308}RG");
    clash.email = "other@example.com".into();
    let err = users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, clash).await.unwrap_err();
    assert!(matches!(err, UserError::UsernameTaken { .. }), "{err:?}");

    // The store itself refuses the duplicate key, whatever the use case checked.
    let mut tx = store.begin().await.unwrap();
    let existing = tx
        .user_by_username(tenant.account.id, &usher_domain::value::Username::parse("JÖRG").unwrap().key())
        .await
        .unwrap()
        .unwrap();
    let mut copy = existing.clone();
    copy.id = usher_domain::id::UserId::from_uuid(uuid::Uuid::from_u128(0xfeed));
    copy.email = usher_domain::value::Email::parse("copy@example.com").unwrap();
    copy.username = usher_domain::value::Username::parse("JO\u{308}RG").unwrap();
    let err = tx.insert_user(&copy).await.unwrap_err();
    assert!(matches!(err, RepoError::Duplicate { field: "username", .. }), "{err:?}");
    drop(tx);

    // Another tenant may use the same username and email.
    let other = h.tenant("globex", 10).await;
    h.user(&other, other.account.id, "jörg").await.unwrap();
}

/// R5: usernames generated from the format take a numeric suffix on collision.
pub async fn r5_generated_usernames_get_a_numeric_suffix(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let patch = accounts::SettingsPatch { username_format: Some("{f}{last}".into()), ..Default::default() };
    accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, patch).await.unwrap();
    let mut names = Vec::new();
    for n in 0..3 {
        let mut command = h.new_user(&tenant, "x");
        command.username = None;
        command.email = format!("ada{n}@example.com");
        names.push(
            users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command)
                .await
                .unwrap()
                .username
                .to_string(),
        );
    }
    assert_eq!(names, ["alovelace", "alovelace2", "alovelace3"]);
    let patch = accounts::SettingsPatch { usernames_must_be_emails: Some(true), ..Default::default() };
    accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, patch).await.unwrap();
    let err = h.user(&tenant, tenant.account.id, "not-an-email").await.unwrap_err();
    assert!(matches!(err, UserError::UsernameMustBeEmail), "{err:?}");
}

/// R6: members keep their username; external-id links need an acknowledgement, audited.
pub async fn r6_rename_rules(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let mut command = h.new_user(&tenant, "S100");
    command.external_ids.insert("erp_salesperson".into(), "S100".into());
    let clerk = users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.unwrap();
    let rename = |ack| UserPatch {
        username: Some("S200".into()),
        acknowledge_external_link: ack,
        ..Default::default()
    };
    let err = users::update_user(&h.ports, &tenant.admin_actor, clerk.id, rename(false)).await.unwrap_err();
    assert!(matches!(err, UserError::Rename(_)), "{err:?}");
    let renamed = users::update_user(&h.ports, &tenant.admin_actor, clerk.id, rename(true)).await.unwrap();
    assert_eq!(renamed.username.as_str(), "S200");
    let events = audit::list_audit_events(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        Default::default(),
        PageRequest::first(1),
    )
    .await
    .unwrap();
    assert_eq!(events.items[0].diff["external_link_broken"], serde_json::json!(true));

    let open = accounts::SettingsPatch { self_registration: Some(true), ..Default::default() };
    accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, open).await.unwrap();
    public::register(
        &h.ports,
        None,
        public::Registration {
            account: "acme".into(),
            email: "member@example.com".into(),
            password: password(),
            first_name: None,
            last_name: None,
        },
    )
    .await
    .unwrap();
    let member = h.user_by_email(tenant.account.id, "member@example.com").await;
    let patch = UserPatch {
        username: Some("renamed@example.com".into()),
        acknowledge_external_link: true,
        ..Default::default()
    };
    let err = users::update_user(&h.ports, &tenant.admin_actor, member.id, patch).await.unwrap_err();
    assert!(
        matches!(err, UserError::Rename(usher_domain::rules::RenameRefused::RegisteredMember)),
        "{err:?}"
    );
}

/// R7: ERP salesperson, then POS clerk, then the default clerk.
pub async fn r7_order_attribution(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let patch = accounts::SettingsPatch { default_clerk_id: Some("C-DEFAULT".into()), ..Default::default() };
    accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, patch).await.unwrap();
    let mut command = h.new_user(&tenant, "p7");
    command.external_ids.insert("pos_clerk".into(), "P7".into());
    let clerk = users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.unwrap();
    let plain = h.user(&tenant, tenant.account.id, "plain").await.unwrap();
    let of = |id| users::order_attribution(&h.ports, &tenant.admin_actor, id);
    assert_eq!(of(clerk.id).await.unwrap(), Attribution::PosClerk("P7".into()));
    assert_eq!(of(plain.id).await.unwrap(), Attribution::DefaultClerk("C-DEFAULT".into()));
}

/// R8: delete only users without history; erasure anonymises and keeps audit events.
pub async fn r8_delete_only_without_history_and_erase_keeps_the_audit_chain(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let mistake = h.user(&tenant, tenant.account.id, "mistake").await.unwrap();
    users::delete_user(&h.ports, &tenant.admin_actor, mistake.id).await.unwrap();
    let err = users::get_user(&h.ports, &tenant.admin_actor, mistake.id).await.unwrap_err();
    assert!(matches!(err, UserError::NotFound { .. }), "{err:?}");

    let veteran = h.user(&tenant, tenant.account.id, "veteran").await.unwrap();
    h.give_password(&tenant, veteran.id).await;
    h.login("acme", "veteran").await;
    let err = users::delete_user(&h.ports, &tenant.admin_actor, veteran.id).await.unwrap_err();
    assert!(matches!(err, UserError::HasHistory(_)), "{err:?}");

    let (n_audit_before, _) = h.counts(tenant.account.id).await;
    let erased = users::erase_user(&h.ports, &tenant.admin_actor, veteran.id).await.unwrap();
    assert!(erased.username.as_str().starts_with("erased-"));
    assert!(erased.profile.first_name.is_none() && erased.email.as_str().ends_with("@erased.invalid"));
    assert_eq!(erased.state, UserState::Disabled);
    let (n_audit_after, _) = h.counts(tenant.account.id).await;
    assert_eq!(n_audit_after, n_audit_before + 1, "erasure adds its event and removes none");
    let events = audit::list_audit_events(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        Default::default(),
        PageRequest::first(200),
    )
    .await
    .unwrap();
    let text = serde_json::to_string(&events.items.iter().map(|e| &e.diff).collect::<Vec<_>>()).unwrap();
    assert!(!text.contains("veteran@people.example.com"), "personal data is redacted from the audit diffs");
}

/// R8: an administrator never locks themselves out: their own user cannot be disabled,
/// deleted, erased or given an administrator-set password by themselves; nothing is written.
pub async fn r8_nobody_disables_deletes_or_erases_their_own_user(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let me = tenant.admin.id;
    let (audit_before, _) = h.counts(tenant.account.id).await;
    let refusals = [
        users::disable_user(&h.ports, &tenant.admin_actor, me).await.map(|_| ()),
        users::delete_user(&h.ports, &tenant.admin_actor, me).await,
        users::erase_user(&h.ports, &tenant.admin_actor, me).await.map(|_| ()),
        users::set_password(&h.ports, &tenant.admin_actor, me, &password()).await.map(|_| ()),
    ];
    for refusal in refusals {
        assert!(matches!(refusal, Err(UserError::OwnUser { .. })), "{refusal:?}");
    }
    let still = users::get_user(&h.ports, &tenant.admin_actor, me).await.unwrap();
    assert_eq!(still.state, UserState::Active);
    assert_eq!(h.counts(tenant.account.id).await.0, audit_before, "nothing audited");
}

/// R8: erasure anonymises the person everywhere usher keeps them: the user, the invitations to
/// the address, the contact the user came from, and the mail log (unsent mail is dropped),
/// while the audit chain stays.
pub async fn r8_erasure_reaches_invitations_contacts_and_mail(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let address = "ingrid@example.com";
    let command = invitations::NewInvitations {
        emails: vec![address.into()],
        user_type: tenant.user_type.id,
        roles: BTreeSet::from([tenant.user_role]),
        scope: BTreeSet::new(),
        locale: None,
    };
    invitations::invite(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.unwrap();
    let token = last_link(&h, &tenant).await;
    let acceptance = invitations::Acceptance {
        token,
        first_name: Some("Ingrid".into()),
        last_name: Some("Invited".into()),
        username: Some("ingrid".into()),
        password: PlainPassword::new(PASSWORD),
    };
    let invited = invitations::accept(&h.ports, acceptance).await.unwrap();
    users::send_password_reset(&h.ports, &tenant.admin_actor, invited.id).await.unwrap();

    let person = contacts::NewContact {
        kind: ContactKind::Person,
        first_name: Some("Carl".into()),
        last_name: Some("Contact".into()),
        email: Some("carl@example.com".into()),
        phone: Some("+49 30 1234567".into()),
    };
    let contact =
        contacts::create_contact(&h.ports, &tenant.admin_actor, tenant.account.id, person).await.unwrap();
    let from = contacts::FromContact {
        username: None,
        email: None,
        first_name: None,
        last_name: None,
        send_welcome: true,
    };
    let carl =
        contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, contact.id, from).await.unwrap();
    let (n_audit, _) = h.counts(tenant.account.id).await;

    users::erase_user(&h.ports, &tenant.admin_actor, invited.id).await.unwrap();
    users::erase_user(&h.ports, &tenant.admin_actor, carl.id).await.unwrap();

    let mails = outbox_of(&h, &tenant).await;
    for personal in [address, "carl@example.com"] {
        assert!(mails.iter().all(|m| m.mail.to.as_str() != personal), "no mail to {personal} is kept");
    }
    assert!(
        mails.iter().all(|m| m.mail.message.kind() != "password_reset" && m.mail.message.kind() != "welcome"),
        "unsent mail to an erased person is dropped"
    );
    let page = invitations::list_invitations(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        None,
        usher_domain::ports::PageRequest::first(50),
    )
    .await
    .unwrap();
    assert!(page.items.iter().all(|i| i.email.as_str() != address), "the invitation forgets the address");
    let page = contacts::list_contacts(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        None,
        usher_domain::ports::PageRequest::first(50),
    )
    .await
    .unwrap();
    let erased = page.items.iter().find(|c| c.id == contact.id).unwrap();
    assert_eq!(
        (&erased.first_name, &erased.last_name, &erased.email, &erased.phone),
        (&None, &None, &None, &None)
    );
    assert_eq!(h.counts(tenant.account.id).await.0, n_audit + 2, "the audit chain stays, with the erasures");
    let page = audit_of(&h, &tenant, 200).await;
    let log = serde_json::to_string(&page.items.iter().map(|e| &e.diff).collect::<Vec<_>>()).unwrap();
    assert!(!log.contains(address) && !log.contains("Carl"), "the audit diffs forget them: {log}");
    let created = page
        .items
        .iter()
        .find(|e| e.action == "user.created_from_contact" && e.target_id == carl.id.to_string())
        .unwrap();
    assert_eq!(created.diff["email"], "[erased]", "the chain keeps the event, with the person's data erased");
}

/// R4, R19: a user names only its tenant's user type and roles, a scope within its own
/// account, an http(s) image and attributes within their bounds.
pub async fn r4_r19_a_user_names_only_what_it_may(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let other = h.tenant("globex", 10).await;
    let east = h.sub_account(&tenant, tenant.account.id, "acme-east").await;
    let west = h.sub_account(&tenant, tenant.account.id, "acme-west").await;
    let shop = h.sub_account(&tenant, east.id, "acme-east-shop").await;
    let create = |command: users::NewUser, account| {
        users::create_user(&h.ports, &tenant.admin_actor, account, command)
    };

    let mut foreign_type = h.new_user(&tenant, "t1");
    foreign_type.user_type = other.user_type.id;
    let err = create(foreign_type, tenant.account.id).await.unwrap_err();
    assert!(matches!(err, UserError::NotFound { entity: "user type" }), "{err:?}");
    let mut foreign_role = h.new_user(&tenant, "t2");
    foreign_role.roles = BTreeSet::from([other.user_role]);
    let err = create(foreign_role, tenant.account.id).await.unwrap_err();
    assert!(matches!(err, UserError::NotFound { entity: "role" }), "{err:?}");
    let mut sideways = h.new_user(&tenant, "t3");
    sideways.scope = BTreeSet::from([west.id]);
    let err = create(sideways, east.id).await.unwrap_err();
    assert!(matches!(err, UserError::Denied(Denied::OutsideScope)), "a scope outside its account: {err:?}");
    let mut below = h.new_user(&tenant, "t4");
    below.scope = BTreeSet::from([shop.id]);
    create(below, east.id).await.unwrap();

    let profile = |image: &str, value_length: usize| users::ProfileInput {
        image_url: Some(image.to_owned()),
        attributes: Some(std::collections::BTreeMap::from([(
            "cost_center".to_owned(),
            "x".repeat(value_length),
        )])),
        ..Default::default()
    };
    let limit = users::MAX_ATTRIBUTE_LENGTH;
    for (image, length, ok) in [
        ("https://cdn.example.com/me.png", limit, true),
        ("http://cdn.example.com/me.png", 1, true),
        ("", 1, true),
        ("ftp://cdn.example.com/me.png", 1, false),
        ("javascript:alert(1)", 1, false),
        (&format!("https://example.com/{}", "x".repeat(2000)), 1, false),
        ("https://cdn.example.com/me.png", limit + 1, false),
    ] {
        let applied = profile(image, length).apply(usher_domain::model::Profile::default());
        assert_eq!(
            applied.is_ok(),
            ok,
            "{} / {length}: {applied:?}",
            image.chars().take(40).collect::<String>()
        );
        if let (Ok(applied), "") = (&applied, image) {
            assert_eq!(applied.image_url, None, "empty text clears the image");
        }
    }
}

/// R24: a user manager acts on plain users, but on nobody who holds more than it: no
/// password, disable, erase, edit, role change, verification, reset, device or key revocation
/// on the root administrator. Nothing changes on any refusal.
pub async fn r24_a_user_manager_cannot_take_over_an_administrator(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let manager = user_manager(&h, &tenant).await;
    let plain = h.user(&tenant, tenant.account.id, "plain").await.unwrap();
    let admin = tenant.admin.id;
    let before = h.counts(tenant.account.id).await;

    let takeover = PlainPassword::new("the manager's chosen passphrase");
    is_denied(users::set_password(&h.ports, &manager, admin, &takeover).await, "set password");
    is_denied(users::disable_user(&h.ports, &manager, admin).await, "disable");
    is_denied(users::erase_user(&h.ports, &manager, admin).await, "erase");
    is_denied(users::delete_user(&h.ports, &manager, admin).await, "delete");
    let demote = UserPatch { roles: Some(BTreeSet::from([tenant.user_role])), ..Default::default() };
    is_denied(users::update_user(&h.ports, &manager, admin, demote).await, "demote");
    let rename = UserPatch {
        profile: users::ProfileInput { first_name: Some("Mallory".into()), ..Default::default() },
        ..Default::default()
    };
    is_denied(users::update_user(&h.ports, &manager, admin, rename).await, "edit");
    is_denied(users::mark_email_verified(&h.ports, &manager, admin).await, "verify");
    is_denied(users::send_password_reset(&h.ports, &manager, admin).await, "reset");
    is_denied(users::link_device(&h.ports, &manager, admin, "Till", "till-9").await, "device");
    is_denied(users::enable_user(&h.ports, &manager, admin).await, "enable");
    assert_eq!(h.counts(tenant.account.id).await, before, "refusals change nothing");
    let credentials = sessions::Credentials {
        account: "acme".into(),
        username: "admin".into(),
        password: PlainPassword::new(PASSWORD),
    };
    sessions::login(&h.ports, None, credentials).await.unwrap();

    // The administrator's API key holds more than the manager: it stays.
    let key_scopes = BTreeSet::from([Permission::new(Module::Roles, Access::Write)]);
    let (key, _) = integrations::create_api_key(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        "erp",
        key_scopes,
        None,
    )
    .await
    .unwrap();
    let err = integrations::revoke_api_key(&h.ports, &manager, key.id).await.unwrap_err();
    assert!(
        matches!(err, integrations::ApiKeyError::Denied(_)),
        "a key with more than the manager is not the manager's to revoke: {err:?}"
    );

    // A user holding no more than the manager is the manager's to manage.
    users::set_password(&h.ports, &manager, plain.id, &takeover).await.unwrap();
    users::disable_user(&h.ports, &manager, plain.id).await.unwrap();
}

fn is_denied<T: std::fmt::Debug>(result: Result<T, UserError>, what: &str) {
    match result {
        Err(UserError::Denied(Denied::TargetHoldsMore { permissions })) => {
            assert!(!permissions.is_empty(), "{what}: the refusal names what the target holds more");
        }
        other => panic!("{what}: expected target_holds_more, got {other:?}"),
    }
}

/// A sales representative is a user of the same tenant.
pub async fn sales_representatives_are_users_of_the_tenant(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let other = h.tenant("globex", 5).await;
    let foreigner = h.user(&other, other.account.id, "foreigner").await.unwrap();
    let colleague = h.user(&tenant, tenant.account.id, "colleague").await.unwrap();
    let mut command = h.new_user(&tenant, "rep");
    command.sales_representative = Some(foreigner.id);
    let err =
        users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.unwrap_err();
    assert!(matches!(err, UserError::NotFound { entity: "sales representative" }), "{err:?}");
    let patch = UserPatch { sales_representative: Some(Some(foreigner.id)), ..Default::default() };
    let err = users::update_user(&h.ports, &tenant.admin_actor, colleague.id, patch).await.unwrap_err();
    assert!(matches!(err, UserError::NotFound { entity: "sales representative" }), "{err:?}");
    let patch = UserPatch { sales_representative: Some(Some(tenant.admin.id)), ..Default::default() };
    let updated = users::update_user(&h.ports, &tenant.admin_actor, colleague.id, patch).await.unwrap();
    assert_eq!(updated.sales_representative, Some(tenant.admin.id));
    assert_eq!(updated.state, UserState::Active);
}

/// Optimistic locking: a write based on an old version is refused.
pub async fn optimistic_locking_refuses_stale_writes(store: Arc<dyn Store>) {
    let h = Harness::new(store.clone());
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "versioned").await.unwrap();
    let patch = |name: &str, version| UserPatch {
        profile: users::ProfileInput { first_name: Some(name.into()), ..Default::default() },
        if_version: Some(version),
        ..Default::default()
    };
    let updated =
        users::update_user(&h.ports, &tenant.admin_actor, user.id, patch("Ann", user.version)).await.unwrap();
    assert_eq!(updated.version, user.version + 1);
    let err = users::update_user(&h.ports, &tenant.admin_actor, user.id, patch("Bob", user.version))
        .await
        .unwrap_err();
    assert!(matches!(err, UserError::VersionMismatch { .. }), "{err:?}");

    let mut tx = store.begin().await.unwrap();
    tx.update_user(&user).await.expect_err("the store refuses an old version");
    let err = tx.update_user(&user).await.unwrap_err();
    assert!(matches!(err, RepoError::Stale { .. }), "{err:?}");
}

/// Optimistic locking: every change answers the user at the version the store now holds, and
/// a change naming another version is refused, by an administrator or by the user itself.
pub async fn every_change_answers_the_stored_version(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let admin = &tenant.admin_actor;
    let user = h.user(&tenant, tenant.account.id, "versioned").await.unwrap();
    let h = &h;
    let stored = |id| async move { users::get_user(&h.ports, &h.operator, id).await.unwrap().version };
    let mut last = user.version;
    let check = |last: &mut u64, answered: u64, stored: u64, what: &str| {
        assert_eq!(answered, stored, "{what}: the answer is the stored version");
        assert!(answered > *last, "{what}: the version moved on");
        *last = answered;
    };
    let changed =
        users::set_password(&h.ports, admin, user.id, &PlainPassword::new("set by the administrator"))
            .await
            .unwrap();
    check(&mut last, changed.version, stored(user.id).await, "set password");
    let changed = users::mark_email_verified(&h.ports, admin, user.id).await.unwrap();
    check(&mut last, changed.version, stored(user.id).await, "verify");
    let changed = users::disable_user(&h.ports, admin, user.id).await.unwrap();
    check(&mut last, changed.version, stored(user.id).await, "disable");
    let changed = users::enable_user(&h.ports, admin, user.id).await.unwrap();
    check(&mut last, changed.version, stored(user.id).await, "enable");

    let stale = UserPatch { if_version: Some(changed.version + 1), ..Default::default() };
    let err = users::update_user(&h.ports, admin, user.id, stale).await.unwrap_err();
    assert!(matches!(err, UserError::VersionMismatch { .. }), "{err:?}");
    let current = UserPatch { if_version: Some(changed.version), ..Default::default() };
    let changed = users::update_user(&h.ports, admin, user.id, current).await.unwrap();
    check(&mut last, changed.version, stored(user.id).await, "update");

    h.give_password(&tenant, user.id).await;
    last = stored(user.id).await;
    let own = h.login("acme", "versioned").await;
    let profile = users::ProfileInput { first_name: Some("Vera".into()), ..Default::default() };
    let err = users::update_own_profile(&h.ports, &own, profile.clone(), Some(last + 1)).await.unwrap_err();
    assert!(matches!(err, UserError::VersionMismatch { .. }), "{err:?}");
    let changed = users::update_own_profile(&h.ports, &own, profile, Some(last)).await.unwrap();
    check(&mut last, changed.version, stored(user.id).await, "own profile");
    let changed = users::erase_user(&h.ports, admin, user.id).await.unwrap();
    check(&mut last, changed.version, stored(user.id).await, "erase");
}

/// R1, R5: a bulk insert writes every user with its roles, or none of them: a batch with one
/// taken address leaves nothing behind, and the seat figures count exactly what was written.
pub async fn r1_r5_bulk_insert_writes_all_or_none(store: Arc<dyn Store>) {
    use usher_domain::id::UserId;
    use usher_domain::model::{Newcomer, Origin, User};
    use usher_domain::value::{Email, Username};
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let now = h.ports.clock.now();
    let newcomer = |n: u128, email: &str| User {
        roles: BTreeSet::from([tenant.user_role]),
        ..User::new(
            UserId::from_uuid(uuid::Uuid::from_u128(0xb01c_0000 + n)),
            Newcomer {
                root: tenant.account.id,
                account: tenant.account.id,
                username: Username::parse(&format!("bulk{n}")).unwrap(),
                email: Email::parse(email).unwrap(),
                user_type: tenant.user_type.id,
                origin: Origin::Admin,
            },
            now,
        )
    };
    let clash = [newcomer(1, "fresh@example.com"), newcomer(2, tenant.admin.email.as_str())];
    let mut tx = h.ports.store.begin().await.unwrap();
    let err = tx.insert_users(&clash).await.unwrap_err();
    assert!(matches!(err, RepoError::Duplicate { field: "email", .. }), "{err:?}");
    drop(tx);
    let mut tx = h.ports.store.begin().await.unwrap();
    assert!(
        tx.user_by_username(tenant.account.id, &Username::parse("bulk1").unwrap().key())
            .await
            .unwrap()
            .is_none()
    );
    drop(tx);
    assert_eq!(seats_of(&h, &tenant).await.0, 0, "nothing of the failed batch holds a seat");
    let users: Vec<User> = (10..13).map(|n| newcomer(n, &format!("bulk{n}@example.com"))).collect();
    let mut tx = h.ports.store.begin().await.unwrap();
    tx.insert_users(&users).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = h.ports.store.begin().await.unwrap();
    for user in &users {
        assert_eq!(tx.user(user.id).await.unwrap().as_ref(), Some(user));
    }
    drop(tx);
    assert_eq!(seats_of(&h, &tenant).await, (3, 0, 10));
    assert_eq!(recount(&h, &tenant).await, (3, 0, 10));
}

/// Users keep billing and shipping addresses (Oro): given at creation, replaced by an edit,
/// each field checked and named when invalid, and cleared by an erasure (R8).
pub async fn r8_users_keep_billing_and_shipping_addresses_until_erased(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let admin = &tenant.admin_actor;
    let address = |kind: &str, line: &str| users::AddressInput {
        kind: kind.to_owned(),
        lines: vec![line.to_owned()],
        city: Some("Berlin".to_owned()),
        postal_code: Some("10115".to_owned()),
        region: None,
        country: Some("DE".to_owned()),
    };
    let mut command = h.new_user(&tenant, "buyer");
    command.profile.addresses =
        Some(vec![address("billing", "Invalidenstr. 1"), address("shipping", "Dock 4")]);
    let buyer = users::create_user(&h.ports, admin, tenant.account.id, command).await.unwrap();
    let kinds: Vec<&str> = buyer.profile.addresses.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["billing", "shipping"]);
    assert_eq!(buyer.profile.addresses[1].lines[0].as_str(), "Dock 4");

    let only_shipping = UserPatch {
        profile: users::ProfileInput {
            addresses: Some(vec![address("shipping", "Dock 5")]),
            ..Default::default()
        },
        ..Default::default()
    };
    let edited = users::update_user(&h.ports, admin, buyer.id, only_shipping).await.unwrap();
    assert_eq!(edited.profile.addresses.len(), 1, "an edit replaces the list");
    let stored = users::get_user(&h.ports, admin, buyer.id).await.unwrap();
    assert_eq!(stored.profile.addresses, edited.profile.addresses, "stored as answered");

    let refused = |addresses: Vec<users::AddressInput>| UserPatch {
        profile: users::ProfileInput { addresses: Some(addresses), ..Default::default() },
        ..Default::default()
    };
    let no_lines = users::AddressInput { lines: vec![], ..address("billing", "") };
    for (addresses, field) in [
        (vec![address("home", "Main St 1")], "addresses[0].kind"),
        (vec![address("billing", "ok"), no_lines], "addresses[1].lines"),
        ((0..=users::MAX_ADDRESSES).map(|_| address("billing", "x")).collect(), "addresses"),
    ] {
        let err = users::update_user(&h.ports, admin, buyer.id, refused(addresses)).await.unwrap_err();
        assert!(matches!(&err, UserError::Invalid(invalid) if invalid.field == field), "{field}: {err:?}");
    }

    let erased = users::erase_user(&h.ports, admin, buyer.id).await.unwrap();
    assert!(erased.profile.addresses.is_empty(), "R8: an erasure clears the addresses");
}

/// An account's sales representative applies to its users that name none, and to the users
/// of the accounts below it; the nearest account that names one wins, and a user's own wins
/// over all (Oro). A representative is a user of the tenant.
pub async fn r19_an_accounts_sales_representative_applies_to_its_users(store: Arc<dyn Store>) {
    use usher_domain::service::accounts::{self, AccountError, AccountPatch};
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let admin = &tenant.admin_actor;
    let east = h.sub_account(&tenant, tenant.account.id, "east").await;
    let rep = h.user(&tenant, tenant.account.id, "rep").await.unwrap();
    let east_rep = h.user(&tenant, east.id, "eastrep").await.unwrap();
    let buyer = h.user(&tenant, east.id, "buyer").await.unwrap();
    let effective =
        || async { users::get_user_access(&h.ports, admin, buyer.id).await.unwrap().1.sales_representative };
    assert_eq!(effective().await, None);

    let name = |account, rep: Option<usher_domain::id::UserId>| {
        let patch = AccountPatch { sales_representative: Some(rep), ..Default::default() };
        accounts::update_account(&h.ports, admin, account, patch)
    };
    let root = name(tenant.account.id, Some(rep.id)).await.unwrap();
    assert_eq!(root.sales_representative, Some(rep.id));
    assert_eq!(effective().await, Some(rep.id), "inherited from the root above");
    name(east.id, Some(east_rep.id)).await.unwrap();
    assert_eq!(effective().await, Some(east_rep.id), "the nearest account wins");
    let own = UserPatch { sales_representative: Some(Some(rep.id)), ..Default::default() };
    users::update_user(&h.ports, admin, buyer.id, own).await.unwrap();
    assert_eq!(effective().await, Some(rep.id), "the user's own wins");
    let me = users::my_access(&h.ports, &admin.clone()).await.unwrap().1;
    assert_eq!(me.sales_representative, Some(rep.id), "the root's applies to its administrator too");

    let other = h.tenant("globex", 5).await;
    let err = name(tenant.account.id, Some(other.admin.id)).await.unwrap_err();
    assert!(matches!(err, AccountError::NotFound { entity: "sales representative" }), "{err:?}");
    let cleared = name(tenant.account.id, None).await.unwrap();
    assert_eq!(cleared.sales_representative, None);
}

/// An export writes users as rows of names a person reads (the type's key, the roles' names,
/// the account's slug), page after page without a user twice, and neutralises cells a
/// spreadsheet would run as a formula; a sub-account administrator exports its subtree only
/// (R19).
pub async fn r19_users_export_as_rows_of_names_with_formulas_neutralised(store: Arc<dyn Store>) {
    use usher_domain::service::transfer::{ExportNames, USER_COLUMNS, export_users_page, neutralised};
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 20).await;
    let east = h.sub_account(&tenant, tenant.account.id, "east").await;
    for n in 0..5 {
        h.user(&tenant, tenant.account.id, &format!("root{n}")).await.unwrap();
        h.user(&tenant, east.id, &format!("east{n}")).await.unwrap();
    }
    let mut command = h.new_user(&tenant, "mallory");
    command.profile.first_name = Some("=HYPERLINK(\"https://evil.example.com\")".into());
    users::create_user(&h.ports, &tenant.admin_actor, east.id, command).await.unwrap();

    let export = |actor: Actor, account, filter: UserFilter| {
        let h = h.clone();
        async move {
            let mut names = ExportNames::default();
            let (mut rows, mut next) = (Vec::new(), Some(None));
            while let Some(after) = next {
                let page = match after {
                    None => PageRequest::first(4),
                    Some(cursor) => PageRequest::after(cursor, 4),
                };
                let (mut found, cursor) =
                    export_users_page(&h.ports, &actor, account, &filter, page, &mut names).await.unwrap();
                rows.append(&mut found);
                next = cursor.map(Some);
            }
            rows
        }
    };
    let column = |name: &str| USER_COLUMNS.iter().position(|c| *c == name).unwrap();
    let all = export(tenant.admin_actor.clone(), tenant.account.id, UserFilter::default()).await;
    assert_eq!(all.len(), 12, "the administrator, 10 users and mallory, each once");
    assert!(all.iter().all(|row| row.len() == USER_COLUMNS.len()));
    let mallory = all.iter().find(|row| row[column("username")] == "mallory").unwrap();
    assert_eq!(mallory[column("first_name")], "'=HYPERLINK(\"https://evil.example.com\")", "neutralised");
    assert_eq!(
        (mallory[column("account")].as_str(), mallory[column("user_type")].as_str()),
        ("east", "user")
    );
    assert_eq!(mallory[column("roles")], "user");
    assert_eq!(neutralised("-1"), "'-1");
    assert_eq!(neutralised("plain"), "plain");

    let (_, east_admin) = h.administrator(&tenant, east.id, "eastadmin", tenant.admin_role).await;
    let mut names = ExportNames::default();
    let above = export_users_page(
        &h.ports,
        &east_admin,
        tenant.account.id,
        &UserFilter::default(),
        PageRequest::first(4),
        &mut names,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(above, UserError::Denied(Denied::OutsideScope)),
        "R19: not above its subtree: {above:?}"
    );
    let theirs = export(east_admin, east.id, UserFilter::default()).await;
    assert_eq!(theirs.len(), 7, "R19: east's five, mallory and eastadmin");
    assert!(theirs.iter().all(|row| row[column("account")] == "east"), "R19: the subtree only");
    let east_only = export(
        tenant.admin_actor.clone(),
        east.id,
        UserFilter { q: Some("east".into()), ..Default::default() },
    )
    .await;
    assert_eq!(east_only.len(), 6, "the filters of the list apply: east0..east4 and eastadmin");
}

/// R1, R3, R4, R5, R19: an import gives every row exactly one outcome, with the column and
/// the error the API would answer; a second import of the same file writes nothing; a dry run
/// and an all-or-nothing import with a bad row write nothing; formula cells are stored as
/// given.
pub async fn r1_r4_r5_an_import_gives_each_row_one_outcome(store: Arc<dyn Store>) {
    use usher_domain::model::Origin;
    use usher_domain::service::transfer::{
        Existing, ImportHeader, ImportMode, ImportOptions, ImportRow, RowOutcome, import_batch,
    };
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 3).await;
    let admin = &tenant.admin_actor;
    h.sub_account(&tenant, tenant.account.id, "east").await;
    let header = ImportHeader::parse(&[
        "username",
        "email",
        "first_name",
        "last_name",
        "account",
        "user_type",
        "roles",
        "state",
        "nickname",
    ])
    .unwrap();
    assert_eq!(header.unknown, ["nickname"], "an unknown column is reported, not guessed");
    assert!(ImportHeader::parse(&["username"]).is_err(), "an email column is required");
    let row = |line: u64, cells: [&str; 9]| ImportRow {
        line,
        cells: cells.iter().map(|c| (*c).to_owned()).collect(),
    };
    let rows = vec![
        row(2, ["ada", "ada@example.com", "Ada", "Lovelace", "", "", "", "", "x"]),
        row(3, ["bob", "bob@example.com", "Bob", "", "east", "User", "user", "", ""]),
        row(4, ["carl", "not-an-email", "", "", "", "", "", "", ""]),
        row(5, ["ADA", "ada2@example.com", "", "", "", "", "", "", ""]),
        row(6, ["dan", "dan@example.com", "", "", "", "", "nope", "", ""]),
        row(7, ["dee", "dee@example.com", "", "", "", "user", "", "", ""]),
        row(8, ["eve", "eve@example.com", "", "", "", "user", "", "", ""]),
        row(9, ["frank", "frank@example.com", "", "", "nowhere", "", "", "", ""]),
        row(10, ["gina", "gina@example.com", "", "", "", "", "admin", "disabled", ""]),
        row(11, ["hal", "hal@example.com", "=1+1", "", "", "", "", "disabled", ""]),
    ];
    let run = |options: ImportOptions, rows: Vec<ImportRow>| {
        let (h, admin, header) = (h.clone(), admin.clone(), header.clone());
        let account = tenant.account.id;
        async move { import_batch(&h.ports, &admin, account, &header, options, &rows).await.unwrap() }
    };
    let report = run(ImportOptions::default(), rows.clone()).await;
    assert!(report.committed);
    let shape: Vec<String> = report
        .outcomes
        .iter()
        .map(|outcome| match outcome {
            RowOutcome::Created(_) => "created".to_owned(),
            RowOutcome::Updated(_) => "updated".to_owned(),
            RowOutcome::Unchanged(_) => "unchanged".to_owned(),
            RowOutcome::Skipped { reason, .. } => format!("skipped {reason}"),
            RowOutcome::Error { column, error } => format!(
                "error {} {}",
                column.as_deref().unwrap_or("-"),
                match error {
                    UserError::Invalid(_) => "invalid",
                    UserError::NotFound { entity } => entity,
                    UserError::NoSeatAvailable(NoSeatAvailable {
                        used: 3, reserved: 0, total: 3, ..
                    }) => "no_seat 3/3",
                    UserError::Grant(_) => "above_ceiling",
                    _ => "other",
                }
            ),
        })
        .collect();
    assert_eq!(
        shape,
        [
            "created",
            "created",
            "error email invalid",
            "skipped duplicate_in_file",
            "error roles role",
            "created",
            "error user_type no_seat 3/3",
            "error account account",
            "error roles above_ceiling",
            "created",
        ]
    );
    let hal = h.user_by_email(tenant.account.id, "hal@example.com").await;
    assert_eq!(hal.profile.first_name.map(|n| n.to_string()), Some("=1+1".to_owned()), "stored as given");
    assert_eq!(hal.origin, Origin::Import);
    let bob = h.user_by_email(tenant.account.id, "bob@example.com").await;
    assert_eq!(
        h.ports.store.begin().await.unwrap().account(bob.account).await.unwrap().unwrap().slug.as_str(),
        "east"
    );
    assert_eq!(seats_of(&h, &tenant).await, (3, 0, 3), "R1: never more than the seats");

    let counts = h.counts(tenant.account.id).await;
    let again = run(ImportOptions::default(), rows.clone()).await;
    let skipped =
        again.outcomes.iter().filter(|o| matches!(o, RowOutcome::Skipped { reason: "exists", .. })).count();
    assert_eq!(skipped, 5, "a second import skips what it made (ADA is ada)");
    let update = ImportOptions { existing: Existing::Update, ..Default::default() };
    let same = run(update, rows[..2].to_vec()).await;
    assert!(same.outcomes.iter().all(|o| matches!(o, RowOutcome::Unchanged(_))), "{:?}", same.outcomes);
    assert_eq!(h.counts(tenant.account.id).await, counts, "nothing written by either");
    let renamed = row(2, ["ada", "ada@example.com", "Ada", "King", "", "", "", "", ""]);
    let updated = run(update, vec![renamed]).await;
    assert!(matches!(updated.outcomes[0], RowOutcome::Updated(_)));

    let ivy = row(12, ["ivy", "ivy@example.com", "", "", "", "", "", "disabled", ""]);
    let dry = run(ImportOptions { dry_run: true, ..Default::default() }, vec![ivy.clone()]).await;
    assert!(
        matches!(dry.outcomes[0], RowOutcome::Created(_)) && !dry.committed,
        "a dry run tells and writes nothing"
    );
    let bad = row(13, ["jack", "jack@", "", "", "", "", "", "disabled", ""]);
    let all = ImportOptions { mode: ImportMode::AllOrNothing, ..Default::default() };
    let refused = run(all, vec![ivy, bad]).await;
    assert!(!refused.committed, "one bad row and all or nothing writes nothing");
    let mut tx = h.ports.store.begin().await.unwrap();
    let ivy_email = usher_domain::value::Email::parse("ivy@example.com").unwrap();
    assert!(tx.user_by_email(tenant.account.id, &ivy_email).await.unwrap().is_none());
}

/// R5: an import matches a row on its external id before its username or email, so a file
/// from a system that renamed a person updates that person; an external id given twice in a
/// file is a duplicate, and a second import of the file changes nothing.
pub async fn r5_an_import_matches_rows_on_external_id_first(store: Arc<dyn Store>) {
    use usher_domain::service::transfer::{
        Existing, ImportHeader, ImportOptions, ImportRow, RowOutcome, import_batch,
    };
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let header = ImportHeader::parse(&["external_id", "username", "email", "first_name", "state"]).unwrap();
    let row = |line: u64, cells: [&str; 5]| ImportRow {
        line,
        cells: cells.iter().map(|c| (*c).to_owned()).collect(),
    };
    let updating = ImportOptions { existing: Existing::Update, ..ImportOptions::default() };
    let import = |rows: Vec<ImportRow>| {
        let (h, admin, header) = (h.clone(), tenant.admin_actor.clone(), header.clone());
        let account = tenant.account.id;
        async move { import_batch(&h.ports, &admin, account, &header, updating, &rows).await.unwrap().outcomes }
    };
    let first = import(vec![
        row(2, ["HR-1", "ann", "ann@example.com", "Ann", "disabled"]),
        row(3, ["HR-2", "bob", "bob@example.com", "Bob", "disabled"]),
        row(4, ["HR-2", "bobby", "bobby@example.com", "Bobby", "disabled"]),
    ])
    .await;
    let RowOutcome::Created(ann) = first[0] else { panic!("ann: {:?}", first[0]) };
    assert!(matches!(first[1], RowOutcome::Created(_)), "{:?}", first[1]);
    assert!(matches!(first[2], RowOutcome::Skipped { reason: "duplicate_in_file", .. }), "{:?}", first[2]);
    let stored = users::get_user(&h.ports, &tenant.admin_actor, ann).await.unwrap();
    assert_eq!(stored.external_id.map(|id| id.to_string()).as_deref(), Some("HR-1"));
    // The HR system renamed Ann: her row still names HR-1, and it is Ann who changes.
    let second = import(vec![row(2, ["HR-1", "ann.b", "ann@example.com", "Annabel", "disabled"])]).await;
    assert!(matches!(second[0], RowOutcome::Updated(id) if id == ann), "{:?}", second[0]);
    let stored = users::get_user(&h.ports, &tenant.admin_actor, ann).await.unwrap();
    assert_eq!(stored.profile.first_name.map(|n| n.to_string()).as_deref(), Some("Annabel"));
    let again = import(vec![row(2, ["HR-1", "ann.b", "ann@example.com", "Annabel", "disabled"])]).await;
    assert!(matches!(again[0], RowOutcome::Unchanged(id) if id == ann), "{:?}", again[0]);
}
