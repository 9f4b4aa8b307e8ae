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
