//! R10, R11: invitations and their acceptance.

use super::*;
use usher_domain::service::{integrations, invitations, users};

/// R10: one outcome per address, in order, with exactly one mail per invitation.
pub async fn r10_bulk_invitation_gives_one_outcome_per_address(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 3).await;
    h.user(&tenant, tenant.account.id, "existing").await.unwrap();
    invite_all(&h, &tenant, &["old@example.com"]).await;
    let (_, mails_before) = h.counts(tenant.account.id).await;
    let emails = [
        "new@example.com",
        "NEW@example.com",
        "old@example.com",
        "existing@people.example.com",
        "x@mailinator.com",
        "not an email",
        "last@example.com",
    ];
    let outcomes = invitations::invite(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        invite_command(&tenant, &emails),
    )
    .await
    .unwrap();
    let codes: Vec<&str> = outcomes.iter().map(|(_, o)| o.code()).collect();
    assert_eq!(
        codes,
        [
            "invited",
            "duplicate_in_request",
            "already_invited",
            "existing_user",
            "disposable_email",
            "invalid_email",
            "no_seat"
        ]
    );
    assert_eq!(h.counts(tenant.account.id).await.1, mails_before + 1, "exactly one mail per invited address");
    let pending = invitations::list_invitations(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        Some(InvitationStatus::Pending),
        PageRequest::first(50),
    )
    .await
    .unwrap();
    assert_eq!(pending.items.len(), 2);
}

/// R3, R10: an invitation that names no roles gives the settings' default roles (the portal's
/// "by default permissions are set as User"); with no default either, R3 refuses it.
pub async fn r3_r10_an_invitation_without_roles_gives_the_default_roles(store: Arc<dyn Store>) {
    use usher_domain::service::accounts;
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 3).await;
    let defaults =
        accounts::get_settings(&h.ports, &tenant.admin_actor, tenant.account.id).await.unwrap().default_roles;
    assert_eq!(defaults, BTreeSet::from([tenant.user_role]), "a new tenant's default is `user`");
    let command =
        NewInvitations { roles: BTreeSet::new(), ..invite_command(&tenant, &["plain@example.com"]) };
    let outcomes =
        invitations::invite(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.unwrap();
    let InviteOutcome::Invited(invitation) = &outcomes[0].1 else {
        panic!("invited: {outcomes:?}");
    };
    assert_eq!(invitation.roles, defaults);

    let patch = accounts::SettingsPatch { default_roles: Some(BTreeSet::new()), ..Default::default() };
    accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, patch).await.unwrap();
    let command = NewInvitations { roles: BTreeSet::new(), ..invite_command(&tenant, &["none@example.com"]) };
    let err =
        invitations::invite(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.unwrap_err();
    assert!(matches!(err, invitations::InviteError::RoleRequired(_)), "{err:?}");
}

/// R10: resend issues a new link (the old dies) and a new expiry; revoke frees the seat; a
/// removed user can be invited again.
pub async fn r10_resend_kills_the_old_link_and_revoke_frees_the_seat(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 1).await;
    let outcomes = invite_all(&h, &tenant, &["a@example.com"]).await;
    let invitation = invitation_of(&outcomes, 0);
    let old_link = last_link(&h, &tenant).await;
    h.clock.advance(Duration::days(3));
    let resent = invitations::resend(&h.ports, &tenant.admin_actor, invitation.id).await.unwrap();
    assert_eq!(resent.send_count, 2);
    assert!(resent.expires_at > invitation.expires_at);
    let err = invitations::lookup(&h.ports, &old_link).await.unwrap_err();
    assert!(matches!(err, invitations::AcceptError::Link(LinkProblem::Unknown)), "{err:?}");
    invitations::lookup(&h.ports, &last_link(&h, &tenant).await).await.unwrap();

    assert_eq!(seats_of(&h, &tenant).await, (0, 1, 1));
    invitations::revoke(&h.ports, &tenant.admin_actor, invitation.id).await.unwrap();
    assert_eq!(seats_of(&h, &tenant).await, (0, 0, 1), "revoking frees the reserved seat");
    let err = invitations::revoke(&h.ports, &tenant.admin_actor, invitation.id).await.unwrap_err();
    assert!(matches!(err, InviteError::NotPending { status: InvitationStatus::Revoked }), "{err:?}");

    let user = h.user(&tenant, tenant.account.id, "removed").await.unwrap();
    users::delete_user(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    let again = invite_all(&h, &tenant, &["removed@people.example.com"]).await;
    assert_eq!(again[0].1.code(), "invited");
}

/// R10: invitees get their mail in the language of the invitation (resends too), and the user
/// made by accepting keeps it as the preferred locale; a malformed language is refused.
pub async fn r10_an_invitation_in_a_language_is_mailed_in_it_and_the_user_keeps_it(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 2).await;
    let bad = NewInvitations {
        locale: Some("not a language".into()),
        ..invite_command(&tenant, &["x@example.com"])
    };
    let err = invitations::invite(&h.ports, &tenant.admin_actor, tenant.account.id, bad).await.unwrap_err();
    assert!(matches!(&err, InviteError::Invalid(invalid) if invalid.field == "locale"), "{err:?}");
    let german =
        NewInvitations { locale: Some("de-CH".into()), ..invite_command(&tenant, &["hans@example.com"]) };
    let outcomes =
        invitations::invite(&h.ports, &tenant.admin_actor, tenant.account.id, german).await.unwrap();
    let invitation = invitation_of(&outcomes, 0);
    assert_eq!(invitation.locale.as_ref().map(|l| l.as_str()), Some("de-CH"));
    invitations::resend(&h.ports, &tenant.admin_actor, invitation.id).await.unwrap();
    let mut tx = h.ports.store.begin().await.unwrap();
    let mail = tx.list_mail(&mail_query(tenant.account.id, PageRequest::first(10))).await.unwrap();
    drop(tx);
    let locales: Vec<Option<&str>> =
        mail.items.iter().map(|q| q.mail.locale.as_ref().map(|l| l.as_str())).collect();
    assert_eq!(locales, [Some("de-CH"), Some("de-CH")], "the invitation and its resend");
    let acceptance = Acceptance {
        token: last_link(&h, &tenant).await,
        first_name: None,
        last_name: None,
        username: None,
        password: password(),
    };
    let user = invitations::accept(&h.ports, acceptance).await.unwrap();
    assert_eq!(user.profile.locale.as_ref().map(|l| l.as_str()), Some("de-CH"));
}

/// R10: one request takes at most the limit of addresses, an expired invitation is issued
/// anew, and the audit event counts each outcome; the keys of an account are listed.
pub async fn r10_invitation_limits_expiry_and_tally(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let command = |emails: Vec<String>| invitations::NewInvitations {
        emails,
        user_type: tenant.user_type.id,
        roles: BTreeSet::from([tenant.user_role]),
        scope: BTreeSet::new(),
        locale: None,
    };
    let max = invitations::MAX_INVITATIONS_PER_REQUEST;
    let too_many = command(vec!["not an address".to_owned(); max + 1]);
    let err =
        invitations::invite(&h.ports, &tenant.admin_actor, tenant.account.id, too_many).await.unwrap_err();
    assert!(
        matches!(err, InviteError::TooMany { max: m, actual } if m == max && actual == max + 1),
        "{err:?}"
    );
    let at_the_limit = command(vec!["not an address".to_owned(); max]);
    let outcomes =
        invitations::invite(&h.ports, &tenant.admin_actor, tenant.account.id, at_the_limit).await.unwrap();
    assert_eq!(outcomes.len(), max);

    let emails = vec!["a@example.com".to_owned(), "b@example.com".to_owned(), "bad".to_owned()];
    invitations::invite(&h.ports, &tenant.admin_actor, tenant.account.id, command(emails)).await.unwrap();
    let page = audit_of(&h, &tenant, 1).await;
    assert_eq!(page.items[0].diff["outcomes"], serde_json::json!({"invited": 2, "invalid_email": 1}));
    let again = invitations::invite(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        command(vec!["a@example.com".into()]),
    )
    .await
    .unwrap();
    assert!(matches!(again[0].1, invitations::InviteOutcome::AlreadyInvited), "{again:?}");
    h.clock.advance(usher_domain::time::Duration::days(8));
    let again = invitations::invite(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        command(vec!["a@example.com".into()]),
    )
    .await
    .unwrap();
    assert!(
        matches!(again[0].1, invitations::InviteOutcome::Invited(_)),
        "an expired one is issued anew: {again:?}"
    );

    let scopes = BTreeSet::from([Permission::new(Module::Users, Access::Read)]);
    let (key, _) =
        integrations::create_api_key(&h.ports, &tenant.admin_actor, tenant.account.id, "erp", scopes, None)
            .await
            .unwrap();
    let keys = integrations::list_api_keys(&h.ports, &tenant.admin_actor, tenant.account.id).await.unwrap();
    assert_eq!(keys.iter().map(|k| k.id).collect::<Vec<_>>(), vec![key.id]);
}

/// R11: accepting sets the password and creates an active, verified user with the invited
/// type and roles; the link works once.
pub async fn r11_accepting_creates_a_verified_user_once(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 2).await;
    invite_all(&h, &tenant, &["joiner@example.com"]).await;
    let link = last_link(&h, &tenant).await;
    let acceptance = Acceptance {
        token: link.clone(),
        first_name: Some("Joan".into()),
        last_name: Some("Joiner".into()),
        username: Some("joiner".into()),
        password: password(),
    };
    let weak = Acceptance { password: PlainPassword::new("password"), ..acceptance.clone() };
    let err = invitations::accept(&h.ports, weak).await.unwrap_err();
    assert!(matches!(err, invitations::AcceptError::Password(_)), "R15 applies: {err:?}");
    let user = invitations::accept(&h.ports, acceptance.clone()).await.unwrap();
    assert_eq!(user.state, UserState::Active);
    assert!(user.email_verified_at.is_some());
    assert_eq!(user.user_type, tenant.user_type.id);
    assert_eq!(user.roles, BTreeSet::from([tenant.user_role]));
    let names = (
        user.profile.first_name.as_ref().map(|n| n.as_str()),
        user.profile.last_name.as_ref().map(|n| n.as_str()),
    );
    assert_eq!(names, (Some("Joan"), Some("Joiner")), "the names typed on the page");
    assert_eq!(seats_of(&h, &tenant).await, (1, 0, 2), "the reservation became a used seat");
    h.login("acme", "joiner").await;
    let err = invitations::accept(&h.ports, acceptance).await.unwrap_err();
    assert!(matches!(err, invitations::AcceptError::Link(LinkProblem::Used)), "{err:?}");
}

/// R11, R13: of 16 concurrent redemptions of one token exactly one succeeds.
pub async fn r11_concurrent_redemptions_of_one_token_succeed_once(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 2).await;
    invite_all(&h, &tenant, &["race@example.com"]).await;
    let link = last_link(&h, &tenant).await;
    let mut tasks = Vec::new();
    for n in 0..16 {
        let (ports, link) = (h.ports.clone(), link.clone());
        tasks.push(tokio::spawn(async move {
            let acceptance = Acceptance {
                token: link,
                first_name: None,
                last_name: None,
                username: Some(format!("racer{n}")),
                password: PlainPassword::new(PASSWORD),
            };
            invitations::accept(&ports, acceptance).await
        }));
    }
    let mut n_ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => n_ok += 1,
            Err(
                invitations::AcceptError::Link(LinkProblem::Used) | invitations::AcceptError::ExistingUser,
            ) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(n_ok, 1);
    assert_eq!(seats_of(&h, &tenant).await, (1, 0, 2));
}
