//! R20: the audit log, read whole or narrowed by who acted, on what, which action and when.

use super::*;
use usher_domain::model::AuditEvent;
use usher_domain::ports::{AuditFilter, Page};
use usher_domain::service::{audit, integrations, sessions, users};

async fn audit_where(h: &Harness, tenant: &Tenant, filter: AuditFilter) -> Page<AuditEvent> {
    audit::list_audit_events(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        filter,
        PageRequest::first(200),
    )
    .await
    .unwrap()
}

fn actions(page: &Page<AuditEvent>) -> Vec<&str> {
    page.items.iter().map(|e| e.action.as_str()).collect()
}

/// R20: a filter by actor (user or API key), target, action or prefix, and time window lets
/// through exactly the events that match, and a filter that cannot match anything is refused.
pub async fn r20_the_audit_log_is_narrowed_by_actor_target_action_and_time(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let bob = h.user(&tenant, tenant.account.id, "bob").await.unwrap();
    let manager = user_manager(&h, &tenant).await;
    h.clock.advance(Duration::minutes(5));
    let later = h.ports.clock.now();
    users::disable_user(&h.ports, &manager, bob.id).await.unwrap();
    // The key outranks bob (R24): it holds what his `user` role holds, and user management.
    let modules =
        [Module::Users, Module::Contacts, Module::Orders, Module::Catalog, Module::Quotes, Module::Reports];
    let permissions: BTreeSet<Permission> = modules
        .into_iter()
        .flat_map(|m| [Permission::new(m, Access::Read), Permission::new(m, Access::Write)])
        .collect();
    let (key, secret) = integrations::create_api_key(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        "gateway",
        permissions,
        None,
    )
    .await
    .unwrap();
    let app = sessions::authenticate(&h.ports, secret.expose(), None).await.unwrap().actor;
    users::update_user(
        &h.ports,
        &app,
        bob.id,
        UserPatch { external_ids: Some([("pos".to_owned(), "7".to_owned())].into()), ..Default::default() },
    )
    .await
    .unwrap();
    let everything = audit_where(&h, &tenant, AuditFilter::default()).await;

    let bobs = AuditFilter {
        target_kind: Some("user".into()),
        target_id: Some(bob.id.to_string()),
        ..Default::default()
    };
    let history = audit_where(&h, &tenant, bobs).await;
    assert_eq!(
        actions(&history),
        ["user.updated", "user.disabled", "user.created"],
        "bob's history, newest first"
    );

    let manager_id = manager.own_user().unwrap().as_uuid();
    let by_manager =
        audit_where(&h, &tenant, AuditFilter { actor: Some(manager_id), ..Default::default() }).await;
    assert_eq!(
        actions(&by_manager),
        ["user.disabled", "user.password_changed"],
        "its own password change too"
    );
    let lately = AuditFilter { actor: Some(manager_id), since: Some(later), ..Default::default() };
    assert_eq!(actions(&audit_where(&h, &tenant, lately).await), ["user.disabled"], "conditions combine");
    let by_key =
        audit_where(&h, &tenant, AuditFilter { actor: Some(key.id.as_uuid()), ..Default::default() }).await;
    assert_eq!(actions(&by_key), ["user.updated"], "an API key's events are found by its id");

    let disabled =
        audit_where(&h, &tenant, AuditFilter { action: Some("user.disabled".into()), ..Default::default() })
            .await;
    assert_eq!(disabled.items.len(), 1);
    let user_actions =
        audit_where(&h, &tenant, AuditFilter { action: Some("user.".into()), ..Default::default() }).await;
    let expected = everything.items.iter().filter(|e| e.action.starts_with("user.")).count();
    assert_eq!(user_actions.items.len(), expected, "a prefix lets every action under it through");
    assert!(actions(&user_actions).contains(&"user.created"));
    let api_keys =
        audit_where(&h, &tenant, AuditFilter { action: Some("api_key.".into()), ..Default::default() }).await;
    assert_eq!(actions(&api_keys), ["api_key.created"], "`_` in a prefix is a letter, not a wildcard");

    let since = audit_where(&h, &tenant, AuditFilter { since: Some(later), ..Default::default() }).await;
    assert_eq!(actions(&since), ["user.updated", "api_key.created", "user.disabled"], "since is inclusive");
    let until = audit_where(&h, &tenant, AuditFilter { until: Some(later), ..Default::default() }).await;
    assert_eq!(since.items.len() + until.items.len(), everything.items.len(), "until is exclusive");

    for (filter, field) in [
        (AuditFilter { action: Some("User.Disabled".into()), ..Default::default() }, "action"),
        (AuditFilter { action: Some("user..x".into()), ..Default::default() }, "action"),
        (AuditFilter { since: Some(later), until: Some(later), ..Default::default() }, "until"),
    ] {
        let err = audit::list_audit_events(
            &h.ports,
            &tenant.admin_actor,
            tenant.account.id,
            filter,
            PageRequest::first(5),
        )
        .await
        .unwrap_err();
        assert!(matches!(&err, audit::AuditError::Invalid(invalid) if invalid.field == field), "{err:?}");
    }
}
