//! Contract cases for the escalation paths a black-box probe found (R12, R16, R21, R23, R24,
//! R25): each refusal is checked to change nothing, and each allowed path to still work.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "contract cases are tests")]

use std::collections::BTreeSet;
use std::sync::Arc;

use usher_domain::authz::{Actor, Denied};
use usher_domain::model::{BuiltinRole, ContactKind, UserState};
use usher_domain::ports::Store;
use usher_domain::service::invitations::{self, InviteError, LinkProblem};
use usher_domain::service::users::{self, UserError, UserPatch};
use usher_domain::service::{accounts, auth, contacts, public, roles, seats};
use usher_domain::value::{Access, Module, Permission, PlainPassword};

use crate::cases::{last_link, outbox_of, resolve_reset_requests};
use crate::harness::{Harness, PASSWORD, Tenant};

fn users_write() -> BTreeSet<Permission> {
    BTreeSet::from([
        Permission::new(Module::Users, Access::Write),
        Permission::new(Module::Users, Access::Read),
    ])
}

/// What a user manager holds: what plain users hold, user management and API keys, but not
/// the rest of an administrator's modules (pricing, payment, roles, settings, …).
fn user_manager_permissions() -> BTreeSet<Permission> {
    let mut permissions = BuiltinRole::User.permissions();
    permissions.extend(users_write());
    permissions.insert(Permission::new(Module::ApiKeys, Access::Write));
    permissions
}

/// A user manager: an `admin`-type user holding [`user_manager_permissions`].
async fn user_manager(h: &Harness, tenant: &Tenant) -> Actor {
    let permissions = user_manager_permissions();
    let role =
        roles::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "user managers", permissions)
            .await
            .unwrap();
    h.administrator(tenant, tenant.account.id, "manager", role.id).await.1
}

fn is_denied<T: std::fmt::Debug>(result: Result<T, UserError>, what: &str) {
    match result {
        Err(UserError::Denied(Denied::TargetHoldsMore { permissions })) => {
            assert!(!permissions.is_empty(), "{what}: the refusal names what the target holds more");
        }
        other => panic!("{what}: expected target_holds_more, got {other:?}"),
    }
}

/// R23: a sub-account administrator reads the root's catalog, seats and settings but changes
/// none of them, whether through its own account id or the objects' ids.
pub async fn r23_sub_account_admins_never_change_root_level_objects(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let east = h.sub_account(&tenant, tenant.account.id, "acme-east").await;
    let (_, east_admin) = h.administrator(&tenant, east.id, "east-admin", tenant.admin_role).await;
    let before = h.counts(tenant.account.id).await;

    assert!(!roles::list_roles(&h.ports, &east_admin, east.id).await.unwrap().is_empty());
    assert!(!seats::list_user_types(&h.ports, &east_admin, east.id).await.unwrap().is_empty());
    seats::get_subscription(&h.ports, &east_admin, east.id).await.unwrap();
    accounts::get_settings(&h.ports, &east_admin, east.id).await.unwrap();
    roles::get_role(&h.ports, &east_admin, tenant.user_role).await.unwrap();

    let root_level = |result: Result<(), Denied>, what: &str| {
        assert_eq!(result, Err(Denied::RootLevel), "{what}");
    };
    let denied_of_role = |err: roles::RoleError| match err {
        roles::RoleError::Denied(denied) => Err(denied),
        other => panic!("{other:?}"),
    };
    let denied_of_seat = |err: seats::SeatError| match err {
        seats::SeatError::Denied(denied) => Err(denied),
        other => panic!("{other:?}"),
    };
    let everything = Permission::catalog();
    let err =
        roles::create_role(&h.ports, &east_admin, east.id, "all", everything.clone()).await.unwrap_err();
    root_level(denied_of_role(err), "a role in the root catalog");
    let patch = roles::RolePatch { name: Some("renamed".into()), ..Default::default() };
    let custom =
        roles::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "custom", users_write())
            .await
            .unwrap();
    let before = (before.0 + 1, before.1);
    let err = roles::update_role(&h.ports, &east_admin, custom.id, patch).await.unwrap_err();
    root_level(denied_of_role(err), "a root role");
    let err = roles::delete_role(&h.ports, &east_admin, custom.id, None).await.unwrap_err();
    root_level(denied_of_role(err), "deleting a root role");
    let no_seat_admin = seats::NewUserType {
        key: "boss".into(),
        name: "Boss".into(),
        consumes_seat: false,
        ceiling: everything,
    };
    let err = seats::create_user_type(&h.ports, &east_admin, east.id, no_seat_admin).await.unwrap_err();
    root_level(denied_of_seat(err), "a user type in the root catalog");
    let patch = seats::UserTypePatch { name: Some("Renamed".into()), ..Default::default() };
    let err = seats::update_user_type(&h.ports, &east_admin, tenant.user_type.id, patch).await.unwrap_err();
    root_level(denied_of_seat(err), "a root user type");
    let err = seats::set_subscription(&h.ports, &east_admin, east.id, vec![(tenant.user_type.id, 500)])
        .await
        .unwrap_err();
    root_level(denied_of_seat(err), "the company's seats");
    let open = accounts::SettingsPatch { self_registration: Some(true), ..Default::default() };
    let err = accounts::update_settings(&h.ports, &east_admin, east.id, open).await.unwrap_err();
    assert!(matches!(err, accounts::AccountError::Denied(Denied::RootLevel)), "settings: {err:?}");

    assert_eq!(h.counts(tenant.account.id).await, before, "refusals change nothing");
    let (_, _, total) = seats_of_user_type(&h, &tenant).await;
    assert_eq!(total, 5);
}

async fn seats_of_user_type(h: &Harness, tenant: &Tenant) -> (u32, u32, u32) {
    let figures = seats::get_subscription(&h.ports, &h.operator, tenant.account.id).await.unwrap();
    let (_, usage) = figures.into_iter().find(|(t, _)| t.id == tenant.user_type.id).unwrap();
    (usage.used, usage.reserved, usage.total)
}

/// R23: seat totals are the operator's (or an operator API key's); a root administrator
/// changes them only once the operator lets the account manage its own seats, and never
/// makes seat-free types to get around them.
pub async fn r23_seat_totals_belong_to_the_operator(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let operator_user =
        accounts::bootstrap_operator(&h.ports, &PlainPassword::new(PASSWORD)).await.unwrap().unwrap();
    let operator = h.login("default", "admin").await;
    let tenant = h.tenant("acme", 2).await;
    let more = vec![(tenant.user_type.id, 500)];

    let err = seats::set_subscription(&h.ports, &tenant.admin_actor, tenant.account.id, more.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, seats::SeatError::Denied(Denied::SeatsBelongToOperator)), "{err:?}");
    let free_type = seats::NewUserType {
        key: "boss".into(),
        name: "Boss".into(),
        consumes_seat: false,
        ceiling: Permission::catalog(),
    };
    let err = seats::create_user_type(&h.ports, &tenant.admin_actor, tenant.account.id, free_type.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, seats::SeatError::Denied(Denied::SeatsBelongToOperator)), "{err:?}");
    let member_type = seats::UserTypePatch { ceiling: Some(Permission::catalog()), ..Default::default() };
    let err = seats::update_user_type(&h.ports, &tenant.admin_actor, tenant.member_type, member_type)
        .await
        .unwrap_err();
    assert!(matches!(err, seats::SeatError::Denied(Denied::SeatsBelongToOperator)), "widening: {err:?}");
    let allow = accounts::SettingsPatch { manages_own_seats: Some(true), ..Default::default() };
    let err = accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, allow.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, accounts::AccountError::Denied(Denied::OperatorOnly)), "{err:?}");
    assert_eq!(seats_of_user_type(&h, &tenant).await.2, 2, "nothing changed");

    // A billing integration: an API key the operator made in its own account.
    let default = operator_user.account;
    let scopes = BTreeSet::from([Permission::new(Module::Subscription, Access::Write)]);
    let (_, secret) =
        auth::create_api_key(&h.ports, &operator, default, "billing", scopes, None).await.unwrap();
    let billing = auth::authenticate(&h.ports, secret.expose(), None).await.unwrap().actor;
    seats::set_subscription(&h.ports, &billing, tenant.account.id, vec![(tenant.user_type.id, 7)])
        .await
        .unwrap();
    assert_eq!(seats_of_user_type(&h, &tenant).await.2, 7, "the operator's key sets seats");
    let err = users::get_user(&h.ports, &billing, tenant.admin.id).await.unwrap_err();
    assert!(
        matches!(err, UserError::Denied(Denied::MissingPermission { .. })),
        "only its permissions: {err:?}"
    );

    accounts::update_settings(&h.ports, &operator, tenant.account.id, allow).await.unwrap();
    seats::set_subscription(&h.ports, &tenant.admin_actor, tenant.account.id, more).await.unwrap();
    assert_eq!(seats_of_user_type(&h, &tenant).await.2, 500, "allowed by the operator");
    seats::create_user_type(&h.ports, &tenant.admin_actor, tenant.account.id, free_type).await.unwrap();
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
    let credentials = auth::Credentials {
        account: "acme".into(),
        username: "admin".into(),
        password: PlainPassword::new(PASSWORD),
    };
    auth::login(&h.ports, None, credentials).await.unwrap();

    // The administrator's API key holds more than the manager: it stays.
    let key_scopes = BTreeSet::from([Permission::new(Module::Roles, Access::Write)]);
    let (key, _) =
        auth::create_api_key(&h.ports, &tenant.admin_actor, tenant.account.id, "erp", key_scopes, None)
            .await
            .unwrap();
    let err = auth::revoke_api_key(&h.ports, &manager, key.id).await.unwrap_err();
    assert!(
        matches!(err, auth::ApiKeyError::Denied(_)),
        "a key with more than the manager is not the manager's to revoke: {err:?}"
    );

    // A user holding no more than the manager is the manager's to manage.
    users::set_password(&h.ports, &manager, plain.id, &takeover).await.unwrap();
    users::disable_user(&h.ports, &manager, plain.id).await.unwrap();
}

/// R24: an API key never exceeds its creator's current permissions and dies with its creator.
pub async fn r24_api_keys_end_with_their_creator(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let permissions = user_manager_permissions();
    let role =
        roles::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "user managers", permissions)
            .await
            .unwrap();
    let (manager, manager_actor) = h.administrator(&tenant, tenant.account.id, "manager", role.id).await;
    let (_, secret) =
        auth::create_api_key(&h.ports, &manager_actor, tenant.account.id, "sync", users_write(), None)
            .await
            .unwrap();
    let plain = h.user(&tenant, tenant.account.id, "plain").await.unwrap();
    let key = auth::authenticate(&h.ports, secret.expose(), None).await.unwrap().actor;
    users::get_user(&h.ports, &key, plain.id).await.unwrap();

    // The creator loses users:write: so does the key.
    let mut fewer = user_manager_permissions();
    fewer.remove(&Permission::new(Module::Users, Access::Write));
    let readers = roles::RolePatch { permissions: Some(fewer), ..Default::default() };
    roles::update_role(&h.ports, &tenant.admin_actor, role.id, readers).await.unwrap();
    let key = auth::authenticate(&h.ports, secret.expose(), None).await.unwrap().actor;
    let err = users::disable_user(&h.ports, &key, plain.id).await.unwrap_err();
    assert!(matches!(err, UserError::Denied(Denied::MissingPermission { .. })), "{err:?}");

    // The creator is disabled: the key stops working.
    users::disable_user(&h.ports, &tenant.admin_actor, manager.id).await.unwrap();
    let err = auth::authenticate(&h.ports, secret.expose(), None).await.unwrap_err();
    assert!(matches!(err, auth::AuthError::InvalidToken), "{err:?}");
}

/// R25: a reset link dies when the password changes by any path, and a verification link
/// verifies only the address it was sent to; an administrator's change of address asks the
/// new address.
pub async fn r25_links_are_bound_to_what_they_were_issued_for(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "bound").await.unwrap();
    h.give_password(&tenant, user.id).await;

    users::send_password_reset(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    let reset = last_link(&h, &tenant).await;
    users::set_password(
        &h.ports,
        &tenant.admin_actor,
        user.id,
        &PlainPassword::new("set by the administrator"),
    )
    .await
    .unwrap();
    assert_link_used(&h, &reset, "after an administrator set the password").await;

    h.give_password(&tenant, user.id).await;
    users::send_password_reset(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    let reset = last_link(&h, &tenant).await;
    let own = h.login("acme", "bound").await;
    auth::change_own_password(
        &h.ports,
        &own,
        &PlainPassword::new(PASSWORD),
        &PlainPassword::new("changed by me, myself"),
    )
    .await
    .unwrap();
    assert_link_used(&h, &reset, "after the user changed the password").await;

    let unverified = h.user(&tenant, tenant.account.id, "unverified").await.unwrap();
    users::send_verification_email(&h.ports, &tenant.admin_actor, unverified.id).await.unwrap();
    let old_link = last_link(&h, &tenant).await;
    let moved = UserPatch { email: Some("new-address@people.example.com".into()), ..Default::default() };
    users::update_user(&h.ports, &tenant.admin_actor, unverified.id, moved).await.unwrap();
    let err = public::verify_email(&h.ports, None, &old_link).await.unwrap_err();
    assert!(matches!(err, public::PublicError::Link(LinkProblem::Used)), "old address: {err:?}");
    let mails = outbox_of(&h, &tenant).await;
    let asked = mails.last().unwrap();
    assert_eq!(asked.mail.message.kind(), "email_verification", "the new address is asked");
    assert_eq!(asked.mail.to.as_str(), "new-address@people.example.com");
    let new_link = last_link(&h, &tenant).await;
    let verified = public::verify_email(&h.ports, None, &new_link).await.unwrap();
    assert_eq!(verified.email.as_str(), "new-address@people.example.com");
    assert!(verified.email_verified_at.is_some());
}

/// The newest `limit` audit events of a tenant, as its administrator reads them.
async fn audit_of(
    h: &Harness,
    tenant: &Tenant,
    limit: u16,
) -> usher_domain::ports::Page<usher_domain::model::AuditEvent> {
    let page = usher_domain::ports::PageRequest::first(limit);
    usher_domain::service::audit::list_audit_events(&h.ports, &tenant.admin_actor, tenant.account.id, page)
        .await
        .unwrap()
}

/// A reset link that no longer works: it reads as used.
async fn assert_link_used(h: &Harness, link: &str, when: &str) {
    let attempt = PlainPassword::new("the attacker's one");
    let err = public::complete_password_link(&h.ports, None, link, &attempt).await.unwrap_err();
    assert!(matches!(err, public::PublicError::Link(LinkProblem::Used)), "{when}: {err:?}");
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

/// R24 (ASVS V7.4.5, V7.5.2): people list and end their own sessions; an administrator lists
/// and ends those of users below it, never those of a user who holds more.
pub async fn r24_sessions_are_seen_and_ended_by_their_user_and_those_above(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let plain = h.user(&tenant, tenant.account.id, "plain").await.unwrap();
    h.give_password(&tenant, plain.id).await;
    let first = h.login("acme", "plain").await;
    let second = h.login("acme", "plain").await;
    let own = auth::list_own_sessions(&h.ports, &first).await.unwrap();
    assert!(own.len() >= 2, "both sessions are listed: {own:?}");
    assert!(own.iter().all(|s| s.user == plain.id && s.source.as_deref() == Some("192.0.2.1")));
    let listed = auth::list_user_sessions(&h.ports, &tenant.admin_actor, plain.id).await.unwrap();
    assert_eq!(listed.len(), own.len());

    // The user ends one of its own; the administrator ends another.
    auth::end_session(&h.ports, &first, second.session.unwrap()).await.unwrap();
    assert!(
        auth::list_own_sessions(&h.ports, &first).await.unwrap().iter().all(|s| Some(s.id) != second.session)
    );
    auth::end_session(&h.ports, &tenant.admin_actor, first.session.unwrap()).await.unwrap();
    let left = auth::list_user_sessions(&h.ports, &tenant.admin_actor, plain.id).await.unwrap();
    assert!(left.iter().all(|s| Some(s.id) != first.session && Some(s.id) != second.session), "{left:?}");

    // A user manager ends no session of the administrator, and nobody ends another tenant's.
    let manager = user_manager(&h, &tenant).await;
    let admin_session = auth::list_own_sessions(&h.ports, &tenant.admin_actor).await.unwrap()[0].id;
    let err = auth::end_session(&h.ports, &manager, admin_session).await.unwrap_err();
    assert!(matches!(err, auth::SessionError::Denied(Denied::TargetHoldsMore { .. })), "{err:?}");
    let other = h.tenant("globex", 5).await;
    let err = auth::end_session(&h.ports, &other.admin_actor, admin_session).await.unwrap_err();
    assert!(matches!(err, auth::SessionError::NotFound { .. }), "{err:?}");
    let err = auth::list_user_sessions(&h.ports, &other.admin_actor, tenant.admin.id).await.unwrap_err();
    assert!(matches!(err, auth::SessionError::NotFound { .. }), "{err:?}");
    assert!(
        auth::list_own_sessions(&h.ports, &tenant.admin_actor)
            .await
            .unwrap()
            .iter()
            .any(|s| s.id == admin_session)
    );
}

/// R14: a user under attack from many sources is held back only from the sources that
/// failed for it; once its failures pass the total limit, every failing source waits, while a
/// clean source still logs in with the right password.
pub async fn r14_a_distributed_attack_holds_back_failing_sources_only(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    h.tenant("acme", 5).await;
    let policy = h.ports.throttle;
    let attempt = |password: &str| auth::Credentials {
        account: "acme".into(),
        username: "admin".into(),
        password: PlainPassword::new(password),
    };
    let per_source = policy.per_user - 1;
    let n_sources = policy.per_user_total.div_ceil(per_source);
    for source in 0..n_sources {
        for _ in 0..per_source {
            let address = format!("198.51.100.{source}");
            let err = auth::login(&h.ports, Some(&address), attempt("a wrong guess")).await.unwrap_err();
            assert!(matches!(err, auth::LoginError::InvalidCredentials), "{source}: {err:?}");
        }
    }
    let err = auth::login(&h.ports, Some("198.51.100.0"), attempt(PASSWORD)).await.unwrap_err();
    assert!(matches!(err, auth::LoginError::Throttled { .. }), "a failing source waits: {err:?}");
    auth::login(&h.ports, Some("192.0.2.200"), attempt(PASSWORD)).await.unwrap();
}

/// R14, R8: the throttle counts hold no username, address or source in clear, and are
/// forgotten once out of the window, so an erased person's attempts do not outlive it.
pub async fn r14_throttle_counts_hide_who_and_are_forgotten(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    h.tenant("acme", 5).await;
    let wrong = auth::Credentials {
        account: "acme".into(),
        username: "admin".into(),
        password: PlainPassword::new("nope"),
    };
    auth::login(&h.ports, Some("198.51.100.9"), wrong.clone()).await.unwrap_err();
    public::request_password_reset(&h.ports, Some("198.51.100.9"), "acme", "someone@example.com")
        .await
        .unwrap();
    let user_key = usher_domain::rules::throttle_key("login-user", &["acme", "admin"]);
    let address_key =
        usher_domain::rules::throttle_key("password-reset-address", &["acme:someone@example.com"]);
    let epoch = usher_domain::time::Timestamp::from_unix_micros(0).unwrap();
    let counted = |key: String| {
        let store = h.ports.store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            tx.login_failures_since(&key, epoch).await.unwrap().len()
        }
    };
    assert_eq!(counted(user_key.clone()).await, 1, "counted under the hashed key");
    assert_eq!(counted(address_key.clone()).await, 1, "counted under the hashed key");
    assert_eq!(counted("user:acme:admin".into()).await, 0, "no key in clear");

    h.clock.advance(h.ports.throttle.window + usher_domain::time::Duration::seconds(1));
    auth::login(&h.ports, Some("192.0.2.1"), auth::Credentials { username: "other".into(), ..wrong })
        .await
        .unwrap_err();
    assert_eq!(counted(user_key).await, 0, "forgotten past the window");
    assert_eq!(counted(address_key).await, 0, "forgotten past the window");
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
            page,
        )
        .await
        .unwrap();
        assert_eq!(listed.items.len(), expected, "after {key:?}");
    }
}

/// R14: a session cannot be used to guess the password behind it. Past the per-user limit of
/// wrong current passwords, even the right one waits out the window; then it works.
pub async fn r14_a_stolen_session_cannot_guess_the_password(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let new = PlainPassword::new("a brand new passphrase");
    for _ in 0..h.ports.throttle.per_user {
        let err =
            auth::change_own_password(&h.ports, &tenant.admin_actor, &PlainPassword::new("a guess!"), &new)
                .await
                .unwrap_err();
        assert!(matches!(err, auth::ChangePasswordError::WrongPassword), "{err:?}");
    }
    let err = auth::change_own_password(&h.ports, &tenant.admin_actor, &PlainPassword::new(PASSWORD), &new)
        .await
        .unwrap_err();
    assert!(matches!(err, auth::ChangePasswordError::Throttled { seconds } if seconds > 0), "{err:?}");
    h.clock.advance(h.ports.throttle.window + usher_domain::time::Duration::seconds(1));
    auth::change_own_password(&h.ports, &tenant.admin_actor, &PlainPassword::new(PASSWORD), &new)
        .await
        .unwrap();
}

/// R14: nobody logs in to a suspended account, nor to a sub-account of one.
pub async fn r14_nobody_logs_in_under_a_suspended_account(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let east = h.sub_account(&tenant, tenant.account.id, "acme-east").await;
    let easterner = h.user(&tenant, east.id, "easterner").await.unwrap();
    h.give_password(&tenant, easterner.id).await;
    let credentials = |username: &str| auth::Credentials {
        account: "acme".into(),
        username: username.into(),
        password: PlainPassword::new(PASSWORD),
    };
    auth::login(&h.ports, None, credentials("easterner")).await.unwrap();
    let suspend = accounts::AccountPatch {
        state: Some(usher_domain::model::AccountState::Suspended),
        ..Default::default()
    };
    accounts::update_account(&h.ports, &h.operator, tenant.account.id, suspend.clone()).await.unwrap();
    for username in ["admin", "easterner"] {
        let err = auth::login(&h.ports, None, credentials(username)).await.unwrap_err();
        assert!(matches!(err, auth::LoginError::InvalidCredentials), "{username}: {err:?}");
    }
    let active = accounts::AccountPatch {
        state: Some(usher_domain::model::AccountState::Active),
        ..Default::default()
    };
    accounts::update_account(&h.ports, &h.operator, tenant.account.id, active).await.unwrap();
    accounts::update_account(&h.ports, &h.operator, east.id, suspend).await.unwrap();
    let err = auth::login(&h.ports, None, credentials("easterner")).await.unwrap_err();
    assert!(matches!(err, auth::LoginError::InvalidCredentials), "a suspended sub-account: {err:?}");
    auth::login(&h.ports, None, credentials("admin")).await.unwrap();
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

/// R20: the audit event of a new user records what it was made with (never a secret).
pub async fn r20_a_created_user_is_audited_with_its_fields(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "audited").await.unwrap();
    let page = audit_of(&h, &tenant, 50).await;
    let created =
        page.items.iter().find(|e| e.action == "user.created" && e.target_id == user.id.to_string()).unwrap();
    assert_eq!(created.diff["username"]["after"], "audited", "{}", created.diff);
    assert_eq!(created.diff["email"]["after"], "audited@people.example.com");
}

/// R13, R24: sessions and keys end when they should: at logout, at expiry (to the
/// microsecond), when their account is suspended, when revoked, and when the key that made
/// them is revoked; a session's last use is recorded to the minute.
pub async fn r13_r24_sessions_and_keys_end_when_they_should(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let credentials = || auth::Credentials {
        account: "acme".into(),
        username: "admin".into(),
        password: PlainPassword::new(PASSWORD),
    };

    // Logout ends the session.
    let session = auth::login(&h.ports, None, credentials()).await.unwrap();
    auth::logout(&h.ports, session.token.expose()).await.unwrap();
    assert!(auth::authenticate(&h.ports, session.token.expose(), None).await.is_err(), "after logout");

    // Last use is recorded once a minute has passed; expiry is exact.
    let session = auth::login(&h.ports, Some("192.0.2.7"), credentials()).await.unwrap();
    h.clock.advance(usher_domain::time::Duration::minutes(2));
    let actor = auth::authenticate(&h.ports, session.token.expose(), None).await.unwrap().actor;
    let listed = auth::list_own_sessions(&h.ports, &actor).await.unwrap();
    let mine = listed.iter().find(|s| Some(s.id) == actor.session).unwrap();
    assert_eq!(mine.last_seen_at, h.ports.clock.now(), "last seen now");
    assert_eq!(mine.source.as_deref(), Some("192.0.2.7"));
    let until_expiry = mine.expires_at.unix_micros() - h.ports.clock.now().unix_micros();
    h.clock.advance(usher_domain::time::Duration::microseconds(until_expiry));
    assert!(auth::authenticate(&h.ports, session.token.expose(), None).await.is_err(), "expired at its end");
    let listed = auth::list_own_sessions(&h.ports, &actor).await.unwrap();
    assert!(listed.iter().all(|s| Some(s.id) != actor.session), "an expired session is not listed");
    let listed = auth::list_user_sessions(&h.ports, &h.operator, tenant.admin.id).await.unwrap();
    assert!(listed.iter().all(|s| Some(s.id) != actor.session), "nor to an administrator");

    // Keys: revoked, expired, under a suspended account, or made by a revoked key.
    let admin = h.login("acme", "admin").await;
    let scopes = BTreeSet::from([
        Permission::new(Module::ApiKeys, Access::Write),
        Permission::new(Module::Users, Access::Read),
    ]);
    let (parent, parent_secret) =
        auth::create_api_key(&h.ports, &admin, tenant.account.id, "parent", scopes, Some(1)).await.unwrap();
    let parent_actor = auth::authenticate(&h.ports, parent_secret.expose(), None).await.unwrap().actor;
    let readers = BTreeSet::from([Permission::new(Module::Users, Access::Read)]);
    let (_, child_secret) =
        auth::create_api_key(&h.ports, &parent_actor, tenant.account.id, "child", readers, None)
            .await
            .unwrap();
    auth::authenticate(&h.ports, child_secret.expose(), None).await.unwrap();
    auth::revoke_api_key(&h.ports, &admin, parent.id).await.unwrap();
    assert!(auth::authenticate(&h.ports, parent_secret.expose(), None).await.is_err(), "revoked");
    assert!(
        auth::authenticate(&h.ports, child_secret.expose(), None).await.is_err(),
        "made by a revoked key"
    );

    let readers = BTreeSet::from([Permission::new(Module::Users, Access::Read)]);
    let (expiring, secret) =
        auth::create_api_key(&h.ports, &admin, tenant.account.id, "daily", readers, Some(1)).await.unwrap();
    let until_expiry = expiring.expires_at.unwrap().unix_micros() - h.ports.clock.now().unix_micros();
    h.clock.advance(usher_domain::time::Duration::microseconds(until_expiry - 1));
    auth::authenticate(&h.ports, secret.expose(), None).await.unwrap();
    h.clock.advance(usher_domain::time::Duration::microseconds(1));
    assert!(auth::authenticate(&h.ports, secret.expose(), None).await.is_err(), "expired at its end");

    let readers = BTreeSet::from([Permission::new(Module::Users, Access::Read)]);
    let (_, secret) =
        auth::create_api_key(&h.ports, &admin, tenant.account.id, "erp", readers, None).await.unwrap();
    let session = auth::login(&h.ports, None, credentials()).await.unwrap();
    let suspend = accounts::AccountPatch {
        state: Some(usher_domain::model::AccountState::Suspended),
        ..Default::default()
    };
    accounts::update_account(&h.ports, &h.operator, tenant.account.id, suspend).await.unwrap();
    assert!(
        auth::authenticate(&h.ports, secret.expose(), None).await.is_err(),
        "a key under a suspended account"
    );
    assert!(auth::authenticate(&h.ports, session.token.expose(), None).await.is_err(), "a session too");
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
        auth::create_api_key(&h.ports, &tenant.admin_actor, tenant.account.id, "erp", scopes, None)
            .await
            .unwrap();
    let keys = auth::list_api_keys(&h.ports, &tenant.admin_actor, tenant.account.id).await.unwrap();
    assert_eq!(keys.iter().map(|k| k.id).collect::<Vec<_>>(), vec![key.id]);
}

/// R17: a person's names and phone go to the user; a person needs no first name, an
/// organization does.
pub async fn r17_contacts_give_their_names_and_phone(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let person = |first: Option<&str>, last: &str, email: &str, kind: ContactKind| contacts::NewContact {
        kind,
        first_name: first.map(str::to_owned),
        last_name: Some(last.to_owned()),
        email: Some(email.to_owned()),
        phone: Some("+49 30 1234567".to_owned()),
    };
    let from = contacts::FromContact {
        username: None,
        email: None,
        first_name: None,
        last_name: None,
        send_welcome: false,
    };
    let full = person(Some("Carla"), "Contact", "carla@example.com", ContactKind::Person);
    let contact =
        contacts::create_contact(&h.ports, &tenant.admin_actor, tenant.account.id, full).await.unwrap();
    let user = contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, contact.id, from.clone())
        .await
        .unwrap();
    assert_eq!(user.profile.first_name.as_ref().map(|n| n.as_str()), Some("Carla"));
    assert_eq!(user.profile.last_name.as_ref().map(|n| n.as_str()), Some("Contact"));
    assert_eq!(user.profile.phone.as_ref().map(|n| n.as_str()), Some("+49 30 1234567"));
    let surname_only = person(None, "Solo", "solo@example.com", ContactKind::Person);
    let contact = contacts::create_contact(&h.ports, &tenant.admin_actor, tenant.account.id, surname_only)
        .await
        .unwrap();
    contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, contact.id, from.clone())
        .await
        .unwrap();
    let company = person(None, "Acme Supplies", "orders@supplies.example.com", ContactKind::Organization);
    let contact =
        contacts::create_contact(&h.ports, &tenant.admin_actor, tenant.account.id, company).await.unwrap();
    let err = contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, contact.id, from)
        .await
        .unwrap_err();
    assert!(matches!(err, UserError::Invalid(_)), "an organization needs a first name: {err:?}");
}

/// R9, R12, R21: what the public flows keep and send. Registration keeps the names typed and
/// mails no disabled owner; a verification link works once; a welcome link asks for a first
/// password and a reset link for a new one; the dispatcher turns each reset request into a
/// mail or nothing and reports it; each form is throttled on its own.
pub async fn r12_r21_public_flows_keep_what_they_should(store: Arc<dyn Store>) {
    use usher_domain::service::outbox::{DeliveryPolicy, dispatch_due};
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

/// R9, R21: completing a link: a welcome link proves the address, a reset link does not, and
/// each is audited as what it was; a reset request for a disabled user's address sends nothing.
pub async fn r9_r21_links_prove_what_they_should(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let welcome_user = h.user(&tenant, tenant.account.id, "welcomed").await.unwrap();
    users::send_password_reset(&h.ports, &tenant.admin_actor, welcome_user.id).await.unwrap();
    let link = last_link(&h, &tenant).await;
    let done =
        public::complete_password_link(&h.ports, None, &link, &PlainPassword::new(PASSWORD)).await.unwrap();
    assert!(done.email_verified_at.is_some(), "the welcome mail reached the address");
    assert_eq!(done.version, users::get_user(&h.ports, &tenant.admin_actor, done.id).await.unwrap().version);

    let resetter = h.user(&tenant, tenant.account.id, "resetter").await.unwrap();
    users::set_password(
        &h.ports,
        &tenant.admin_actor,
        resetter.id,
        &PlainPassword::new("set by the administrator"),
    )
    .await
    .unwrap();
    users::send_password_reset(&h.ports, &tenant.admin_actor, resetter.id).await.unwrap();
    let link = last_link(&h, &tenant).await;
    let done =
        public::complete_password_link(&h.ports, None, &link, &PlainPassword::new(PASSWORD)).await.unwrap();
    assert!(done.email_verified_at.is_none(), "a reset link proves nothing new");
    let page = audit_of(&h, &tenant, 50).await;
    let action_on = |user: usher_domain::id::UserId, action: &str| {
        page.items.iter().any(|e| e.action == action && e.target_id == user.to_string())
    };
    assert!(action_on(welcome_user.id, "user.password_set_by_link"));
    assert!(action_on(resetter.id, "user.password_reset"));

    users::disable_user(&h.ports, &tenant.admin_actor, resetter.id).await.unwrap();
    public::request_password_reset(&h.ports, None, "acme", "resetter@people.example.com").await.unwrap();
    assert_eq!(resolve_reset_requests(&h, &tenant).await, 0, "a disabled user is sent nothing");
}

/// R4, R22, R24: roles keep their versions and their limits: a stale version is refused, a
/// role is its own replacement never, a manager changes no role granting more than it holds
/// (though it may read it), and the catalog lists every permission.
pub async fn r22_r24_roles_keep_their_versions_and_limits(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let custom =
        roles::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "custom", users_write())
            .await
            .unwrap();
    let stale = roles::RolePatch {
        name: Some("renamed".into()),
        if_version: Some(custom.version + 1),
        ..Default::default()
    };
    let err = roles::update_role(&h.ports, &tenant.admin_actor, custom.id, stale).await.unwrap_err();
    assert!(matches!(err, roles::RoleError::VersionMismatch { .. }), "{err:?}");
    let fresh = roles::RolePatch {
        name: Some("renamed".into()),
        if_version: Some(custom.version),
        ..Default::default()
    };
    let renamed = roles::update_role(&h.ports, &tenant.admin_actor, custom.id, fresh).await.unwrap();
    assert_eq!(
        renamed.version,
        roles::get_role(&h.ports, &tenant.admin_actor, custom.id).await.unwrap().version
    );
    assert_ne!(renamed.version, custom.version);

    let mut holder = h.new_user(&tenant, "holder");
    holder.roles = BTreeSet::from([tenant.user_role, custom.id]);
    let types = seats::list_user_types(&h.ports, &tenant.admin_actor, tenant.account.id).await.unwrap();
    holder.user_type = types.iter().find(|t| t.key.as_str() == "admin").unwrap().id;
    seats::set_subscription(&h.ports, &h.operator, tenant.account.id, vec![(holder.user_type, 10)])
        .await
        .unwrap();
    users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, holder).await.unwrap();
    let err =
        roles::delete_role(&h.ports, &tenant.admin_actor, custom.id, Some(custom.id)).await.unwrap_err();
    assert!(matches!(err, roles::RoleError::StillAssigned { .. }), "its own replacement: {err:?}");

    let mut readers = BuiltinRole::User.permissions();
    readers.extend([Permission::new(Module::Roles, Access::Write)]);
    let role_editors =
        roles::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "role editors", readers)
            .await
            .unwrap();
    let (_, editor) = h.administrator(&tenant, tenant.account.id, "editor", role_editors.id).await;
    roles::get_role(&h.ports, &editor, tenant.admin_role).await.unwrap();
    let patch = roles::RolePatch { name: Some("mine now".into()), ..Default::default() };
    let err = roles::update_role(&h.ports, &editor, custom.id, patch).await.unwrap_err();
    assert!(matches!(err, roles::RoleError::Denied(Denied::TargetHoldsMore { .. })), "{err:?}");
    assert_eq!(roles::permission_catalog(&editor).unwrap(), Permission::catalog());
}

/// R1, R23: seat totals name only the tenant's own user types; widening a seat-consuming
/// type is the root administrator's to do; profile lists keep their bounds.
pub async fn r23_seats_and_types_of_the_tenant_only(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let other = h.tenant("globex", 5).await;
    let err =
        seats::set_subscription(&h.ports, &h.operator, tenant.account.id, vec![(other.user_type.id, 9)])
            .await
            .unwrap_err();
    assert!(matches!(err, seats::SeatError::NotFound { .. }), "another tenant's type: {err:?}");
    let clerk = seats::NewUserType {
        key: "clerk".into(),
        name: "Clerk".into(),
        consumes_seat: true,
        ceiling: BTreeSet::from([Permission::new(Module::Orders, Access::Read)]),
    };
    let clerk =
        seats::create_user_type(&h.ports, &tenant.admin_actor, tenant.account.id, clerk).await.unwrap();
    let wider = seats::UserTypePatch { ceiling: Some(BuiltinRole::User.permissions()), ..Default::default() };
    seats::update_user_type(&h.ports, &tenant.admin_actor, clerk.id, wider).await.unwrap();

    let mut command = h.new_user(&tenant, "territorial");
    command.profile.sales_territories =
        Some((0..=users::MAX_SALES_TERRITORIES).map(|n| format!("T{n}")).collect());
    let err = users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, UserError::Invalid(_)), "{err:?}");
    command.profile.sales_territories =
        Some((1..=users::MAX_SALES_TERRITORIES).map(|n| format!("T{n}")).collect());
    users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.unwrap();
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
