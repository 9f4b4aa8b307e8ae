//! R12, R21: self-registration and the public forms.

use super::*;
use usher_domain::service::{accounts, contacts, invitations, public, sessions, users};

/// R12: registration creates a member with the member type and default roles, only when open.
pub async fn r12_self_registration_creates_members_only_when_open(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 1).await;
    let registration = public::Registration {
        account: "acme".into(),
        email: "shopper@example.com".into(),
        password: password(),
        first_name: Some("Sam".into()),
        last_name: None,
    };
    let err = public::register(&h.ports, None, registration.clone()).await.unwrap_err();
    assert!(matches!(err, public::PublicError::RegistrationClosed), "{err:?}");
    let open = accounts::SettingsPatch { self_registration: Some(true), ..Default::default() };
    accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, open).await.unwrap();
    let (_, mails_before) = h.counts(tenant.account.id).await;
    public::register(&h.ports, None, registration.clone()).await.unwrap();
    let member = h.user_by_email(tenant.account.id, "shopper@example.com").await;
    assert_eq!(member.username.as_str(), "shopper@example.com");
    assert_eq!(member.user_type, tenant.member_type);
    assert_eq!(member.roles, BTreeSet::from([tenant.user_role]));
    assert!(member.email_verified_at.is_none());
    assert_eq!(h.counts(tenant.account.id).await.1, mails_before + 1, "R9: a verification mail");
    // R12, R21: a second registration of the address answers alike, creates nothing, and
    // tells the address's owner instead.
    public::register(&h.ports, None, registration).await.unwrap();
    assert_eq!(h.user_by_email(tenant.account.id, "shopper@example.com").await.id, member.id);
    let mails = outbox_of(&h, &tenant).await;
    let notice = mails.last().unwrap();
    assert_eq!(notice.mail.message.kind(), "registration_attempt");
    assert_eq!(notice.mail.to.as_str(), "shopper@example.com");

    let mut by_hand = h.new_user(&tenant, "handmade");
    by_hand.user_type = tenant.member_type;
    let err =
        users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, by_hand).await.unwrap_err();
    assert!(matches!(err, UserError::MemberTypeReserved), "{err:?}");
}

/// R12: members are made by self-registration only: not by invitation, by changing a user's
/// type, or from a contact.
pub async fn r12_members_are_never_made_by_hand(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let before = h.counts(tenant.account.id).await;
    let command = invitations::NewInvitations {
        emails: vec!["member@example.com".into()],
        user_type: tenant.member_type,
        roles: BTreeSet::from([tenant.user_role]),
        scope: BTreeSet::new(),
        locale: None,
    };
    let err =
        invitations::invite(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.unwrap_err();
    assert!(matches!(err, InviteError::MemberTypeReserved), "invitation: {err:?}");
    assert_eq!(h.counts(tenant.account.id).await, before);

    let user = h.user(&tenant, tenant.account.id, "plain").await.unwrap();
    let to_member = UserPatch { user_type: Some(tenant.member_type), ..Default::default() };
    let err = users::update_user(&h.ports, &tenant.admin_actor, user.id, to_member).await.unwrap_err();
    assert!(matches!(err, UserError::MemberTypeReserved), "type change: {err:?}");

    let defaults =
        accounts::SettingsPatch { default_user_type: Some(tenant.member_type), ..Default::default() };
    accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, defaults).await.unwrap();
    let person = contacts::NewContact {
        kind: ContactKind::Person,
        first_name: Some("Carl".into()),
        last_name: Some("Contact".into()),
        email: Some("carl@example.com".into()),
        phone: None,
    };
    let contact =
        contacts::create_contact(&h.ports, &tenant.admin_actor, tenant.account.id, person).await.unwrap();
    let from = contacts::FromContact {
        username: None,
        email: None,
        first_name: None,
        last_name: None,
        send_welcome: false,
    };
    let err = contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, contact.id, from)
        .await
        .unwrap_err();
    assert!(matches!(err, UserError::MemberTypeReserved), "from a contact: {err:?}");
}

/// R21: a reset request answers alike for unknown addresses; completing it ends sessions.
pub async fn r21_password_reset_request_answers_alike_and_ends_sessions(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "resetter").await.unwrap();
    h.give_password(&tenant, user.id).await;
    let credentials =
        sessions::Credentials { account: "acme".into(), username: "resetter".into(), password: password() };
    let session = sessions::login(&h.ports, None, credentials).await.unwrap();
    let (_, mails) = h.counts(tenant.account.id).await;
    public::request_password_reset(&h.ports, None, "acme", "nobody@example.com").await.unwrap();
    public::request_password_reset(&h.ports, None, "no-such-account", "resetter@people.example.com")
        .await
        .unwrap();
    // The request is queued alike for every address of a known account, and looked up later.
    assert_eq!(h.counts(tenant.account.id).await.1, mails + 1, "one request queued, none for no account");
    assert_eq!(resolve_reset_requests(&h, &tenant).await, 0, "nobody has the address");
    assert_eq!(h.counts(tenant.account.id).await.1, mails, "no mail for unknown addresses");
    public::request_password_reset(&h.ports, None, "acme", "resetter@people.example.com").await.unwrap();
    assert_eq!(resolve_reset_requests(&h, &tenant).await, 1);
    assert_eq!(h.counts(tenant.account.id).await.1, mails + 1);
    let link = last_link(&h, &tenant).await;
    public::complete_password_link(&h.ports, None, &link, &PlainPassword::new("a fresh long passphrase"))
        .await
        .unwrap();
    assert!(sessions::authenticate(&h.ports, session.token.expose(), None).await.is_err());
}

/// R21: reset requests and registrations are throttled per address and per source, with
/// the state in the store; an address nobody has counts alike.
pub async fn r21_public_forms_are_throttled_per_address_and_source(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let limit = h.ports.throttle.per_address;
    for address in ["nobody@example.com", "admin@acme.example.com"] {
        for n in 0..limit {
            let source = format!("198.51.100.{n}");
            public::request_password_reset(&h.ports, Some(&source), "acme", address).await.unwrap();
        }
        let err = public::request_password_reset(&h.ports, Some("198.51.100.200"), "acme", address)
            .await
            .unwrap_err();
        assert!(
            matches!(err, public::PublicError::Throttled { seconds } if seconds > 0),
            "{address}: {err:?}"
        );
    }
    assert_eq!(
        resolve_reset_requests(&h, &tenant).await,
        usize::try_from(limit).unwrap(),
        "one mail per request"
    );
    // Another address from a fresh source is not held back by either.
    public::request_password_reset(&h.ports, Some("198.51.100.201"), "acme", "other@example.com")
        .await
        .unwrap();
    // One source that moves through addresses is held back by its own count.
    let per_source = h.ports.throttle.per_source;
    let mut refused = None;
    for n in 0..=per_source {
        let address = format!("spray{n}@example.com");
        if let Err(err) =
            public::request_password_reset(&h.ports, Some("203.0.113.9"), "acme", &address).await
        {
            refused = Some((n, err));
            break;
        }
    }
    let (n, err) = refused.expect("the source is throttled");
    assert_eq!(n, per_source, "after {per_source} requests from one source");
    assert!(matches!(err, public::PublicError::Throttled { .. }), "{err:?}");
    h.clock.advance(usher_domain::time::Duration::minutes(16));
    public::request_password_reset(&h.ports, Some("203.0.113.9"), "acme", "spray0@example.com")
        .await
        .unwrap();
}

/// R9, R12, R21: what the public flows keep and send. Registration keeps the names typed and
/// mails no disabled owner; a verification link works once; a welcome link asks for a first
/// password and a reset link for a new one; the dispatcher turns each reset request into a
/// mail or nothing and reports it; each form is throttled on its own.
pub async fn r12_r21_public_flows_keep_what_they_should(store: Arc<dyn Store>) {
    use usher_domain::service::mail::{DeliveryPolicy, dispatch_due};
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let open = accounts::SettingsPatch { self_registration: Some(true), ..Default::default() };
    accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, open).await.unwrap();
    let registration = |email: &str| public::Registration {
        account: "acme".into(),
        email: email.into(),
        password: PlainPassword::new(PASSWORD),
        first_name: Some("Rita".into()),
        last_name: Some("Registered".into()),
    };
    public::register(&h.ports, Some("192.0.2.50"), registration("rita@example.com")).await.unwrap();
    let rita = h.user_by_email(tenant.account.id, "rita@example.com").await;
    let names = (
        rita.profile.first_name.as_ref().map(|n| n.as_str()),
        rita.profile.last_name.as_ref().map(|n| n.as_str()),
    );
    assert_eq!(names, (Some("Rita"), Some("Registered")));

    // The verification link works once, and the user it answers is as stored.
    let link = last_link(&h, &tenant).await;
    let verified = public::verify_email(&h.ports, None, &link).await.unwrap();
    assert_eq!(verified.version, h.user_by_email(tenant.account.id, "rita@example.com").await.version);
    let err = public::verify_email(&h.ports, None, &link).await.unwrap_err();
    assert!(matches!(err, public::PublicError::Link(LinkProblem::Used)), "{err:?}");

    // A disabled owner of the address is not mailed about a registration attempt.
    users::disable_user(&h.ports, &tenant.admin_actor, rita.id).await.unwrap();
    let (_, mails) = h.counts(tenant.account.id).await;
    public::register(&h.ports, Some("192.0.2.50"), registration("rita@example.com")).await.unwrap();
    assert_eq!(h.counts(tenant.account.id).await.1, mails, "no mail to a disabled user");

    // Welcome and reset links say which they are.
    let newcomer = h.user(&tenant, tenant.account.id, "newcomer").await.unwrap();
    users::send_password_reset(&h.ports, &tenant.admin_actor, newcomer.id).await.unwrap();
    let welcome = public::password_link(&h.ports, &last_link(&h, &tenant).await).await.unwrap();
    assert!(welcome.first_password, "no password yet: a welcome link");
    h.give_password(&tenant, newcomer.id).await;
    users::send_password_reset(&h.ports, &tenant.admin_actor, newcomer.id).await.unwrap();
    let reset = public::password_link(&h.ports, &last_link(&h, &tenant).await).await.unwrap();
    assert!(!reset.first_password, "a password: a reset link");

    // The dispatcher resolves reset requests and says how many.
    public::request_password_reset(&h.ports, None, "acme", "newcomer@people.example.com").await.unwrap();
    public::request_password_reset(&h.ports, None, "acme", "nobody@example.com").await.unwrap();
    let mailer = crate::memory::RecordingMailer::default();
    let report = dispatch_due(&h.ports, &crate::memory::PlainRenderer, &mailer, &DeliveryPolicy::standard())
        .await
        .unwrap();
    assert_eq!(report.resolved, 2, "{report:?}");

    // Each form counts on its own: a source that used up its resets still registers.
    for n in 0..h.ports.throttle.per_source {
        let address = format!("spray{n}@example.com");
        public::request_password_reset(&h.ports, Some("203.0.113.77"), "acme", &address).await.unwrap();
    }
    let err = public::request_password_reset(&h.ports, Some("203.0.113.77"), "acme", "x@example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, public::PublicError::Throttled { .. }), "{err:?}");
    public::register(&h.ports, Some("203.0.113.77"), registration("other@example.com")).await.unwrap();
}
