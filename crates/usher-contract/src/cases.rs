//! The contract cases. Each takes a fresh, empty store and checks one behaviour through the
//! domain's use cases and the raw port. Names cite the rule they cover.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "contract cases are tests")]

use std::collections::BTreeSet;
use std::sync::Arc;

use usher_domain::authz::Denied;
use usher_domain::error::RepoError;
use usher_domain::model::{ContactKind, DeliveryState, InvitationStatus, UserState};
use usher_domain::ports::{PageRequest, Store};
use usher_domain::rules::{Attribution, NoSeatAvailable};
use usher_domain::service::invitations::{
    self, Acceptance, InviteError, InviteOutcome, LinkProblem, NewInvitations,
};
use usher_domain::service::users::{self, UserError, UserFilter, UserPatch};
use usher_domain::service::{accounts, audit, auth, contacts, outbox, public, roles, seats};
use usher_domain::time::Duration;
use usher_domain::value::{Access, Module, Permission, PlainPassword, SecretToken};

use crate::harness::{Harness, PASSWORD, Tenant};

/// Every case, for the [`store_contract!`](crate::store_contract) macro.
#[macro_export]
macro_rules! store_contract {
    () => {
        $crate::store_contract!(@cases
            r1_seats_count_pending_invitations_until_they_expire,
            r1_concurrent_creations_never_overallocate_seats,
            r1_r8_disabling_frees_a_seat_and_enabling_needs_one,
            r2_seat_total_cannot_drop_below_usage,
            r3_enabled_users_need_a_role,
            r4_roles_above_the_ceiling_or_the_granters_permissions_are_refused,
            r5_usernames_are_unique_ignoring_case_and_composition,
            r5_generated_usernames_get_a_numeric_suffix,
            r6_rename_rules,
            r7_order_attribution,
            r8_delete_only_without_history_and_erase_keeps_the_audit_chain,
            r8_nobody_disables_deletes_or_erases_their_own_user,
            r9_verification_mail_and_manual_verification,
            r10_bulk_invitation_gives_one_outcome_per_address,
            r10_resend_kills_the_old_link_and_revoke_frees_the_seat,
            r10_an_invitation_in_a_language_is_mailed_in_it_and_the_user_keeps_it,
            r11_accepting_creates_a_verified_user_once,
            r11_concurrent_redemptions_of_one_token_succeed_once,
            r12_self_registration_creates_members_only_when_open,
            r13_reset_links_are_single_use_and_expire,
            r14_login_failures_look_alike_and_are_throttled,
            r15_r16_admin_set_password_follows_policy_and_forces_a_change,
            r17_users_from_contacts,
            r18_devices_need_a_password,
            r19_tenant_and_subtree_isolation,
            r20_a_failed_use_case_leaves_no_audit_or_mail,
            r20_the_outbox_is_delivered_once_and_retried_after_failures,
            r21_password_reset_request_answers_alike_and_ends_sessions,
            r22_role_deletion_needs_a_replacement,
            keyset_pagination_is_stable_while_rows_are_inserted,
            optimistic_locking_refuses_stale_writes,
            sub_accounts_form_a_tree
        );
        $crate::store_contract!(@security
            a_cursor_of_another_list_is_a_position_not_a_failure,
            r8_erasure_reaches_invitations_contacts_and_mail,
            r10_invitation_limits_expiry_and_tally,
            r4_r19_a_user_names_only_what_it_may,
            r9_r21_links_prove_what_they_should,
            r12_members_are_never_made_by_hand,
            r12_r21_public_flows_keep_what_they_should,
            r13_r24_sessions_and_keys_end_when_they_should,
            r14_a_distributed_attack_holds_back_failing_sources_only,
            r14_nobody_logs_in_under_a_suspended_account,
            r14_throttle_counts_hide_who_and_are_forgotten,
            r14_a_stolen_session_cannot_guess_the_password,
            r20_a_created_user_is_audited_with_its_fields,
            settings_name_only_the_tenants_own_catalog,
            r21_public_forms_are_throttled_per_address_and_source,
            r23_sub_account_admins_never_change_root_level_objects,
            r23_seat_totals_belong_to_the_operator,
            r24_a_user_manager_cannot_take_over_an_administrator,
            r24_api_keys_end_with_their_creator,
            r24_sessions_are_seen_and_ended_by_their_user_and_those_above,
            r17_contacts_give_their_names_and_phone,
            r22_r24_roles_keep_their_versions_and_limits,
            r23_seats_and_types_of_the_tenant_only,
            r25_links_are_bound_to_what_they_were_issued_for,
            sales_representatives_are_users_of_the_tenant,
            every_change_answers_the_stored_version
        );
        $crate::store_contract!(@races
            r1_race_1000_creations_and_acceptances_for_10_seats,
            r5_race_100_case_variants_of_one_username,
            r11_r13_race_16_redemptions_of_one_link,
            race_two_updates_of_one_user_version,
            race_settings_changes_apply_one_after_the_other,
            r14_race_concurrent_logins_of_one_user_all_succeed,
            race_two_instances_bootstrap_one_operator
        );
    };
    (@cases $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::fixture::run(make_store().await, |store, _| $crate::cases::$case(store)).await;
            }
        )*
    };
    (@security $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::fixture::run(make_store().await, |store, _| $crate::security::$case(store)).await;
            }
        )*
    };
    (@races $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::fixture::run(make_store().await, $crate::cases::$case).await;
            }
        )*
    };
}

fn password() -> PlainPassword {
    PlainPassword::new(PASSWORD)
}

async fn seats_of(h: &Harness, tenant: &Tenant) -> (u32, u32, u32) {
    let figures = seats::get_subscription(&h.ports, &tenant.admin_actor, tenant.account.id).await.unwrap();
    let (_, usage) = figures.into_iter().find(|(t, _)| t.id == tenant.user_type.id).unwrap();
    (usage.used, usage.reserved, usage.total)
}

fn invitation_of(outcomes: &[(String, InviteOutcome)], index: usize) -> usher_domain::model::Invitation {
    match &outcomes[index].1 {
        InviteOutcome::Invited(invitation) => (**invitation).clone(),
        other => panic!("expected invited, got {other:?}"),
    }
}

fn invite_command(tenant: &Tenant, emails: &[&str]) -> NewInvitations {
    NewInvitations {
        emails: emails.iter().map(|e| (*e).to_owned()).collect(),
        user_type: tenant.user_type.id,
        roles: BTreeSet::from([tenant.user_role]),
        scope: BTreeSet::new(),
        locale: None,
    }
}

/// Invites `emails` into the tenant's root as its administrator, as `user`s with the `user` role.
async fn invite_all(h: &Harness, tenant: &Tenant, emails: &[&str]) -> Vec<(String, InviteOutcome)> {
    invitations::invite(&h.ports, &tenant.admin_actor, tenant.account.id, invite_command(tenant, emails))
        .await
        .unwrap()
}

/// Every mail of a root, in any state.
fn mail_query(root: usher_domain::id::AccountId, page: PageRequest) -> usher_domain::ports::MailQuery {
    usher_domain::ports::MailQuery { root, within: BTreeSet::new(), state: None, page }
}

/// Every mail of a tenant's root, oldest first (the test reads the outbox like a mailbox).
pub(crate) async fn outbox_of(h: &Harness, tenant: &Tenant) -> Vec<usher_domain::model::QueuedMail> {
    let mut tx = h.ports.store.begin().await.unwrap();
    let mut request = PageRequest::first(200);
    let mut mails = Vec::new();
    loop {
        let query = mail_query(tenant.account.id, request);
        let page = tx.list_mail(&query).await.unwrap();
        mails.extend(page.items);
        match page.next {
            Some(cursor) => request = PageRequest::after(cursor, 200),
            None => break,
        }
    }
    mails
}

/// Resolves the queued password-reset requests of a tenant as the dispatcher would; returns
/// how many became a mail.
pub(crate) async fn resolve_reset_requests(h: &Harness, tenant: &Tenant) -> usize {
    let mut n_issued = 0;
    for queued in outbox_of(h, tenant).await {
        if queued.mail.message.kind() == "password_reset_request" {
            n_issued += usize::from(public::resolve_reset_request(&h.ports, &queued.mail).await.unwrap());
        }
    }
    n_issued
}

/// The link token of the newest mail of a root.
pub(crate) async fn last_link(h: &Harness, tenant: &Tenant) -> String {
    let last = outbox_of(h, tenant).await.pop().unwrap();
    let payload = serde_json::to_value(last.mail.message).unwrap();
    payload["token"].as_str().unwrap().to_owned()
}

/// R1: pending invitations reserve seats until they expire.
pub async fn r1_seats_count_pending_invitations_until_they_expire(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 2).await;
    h.user(&tenant, tenant.account.id, "first").await.unwrap();
    invite_all(&h, &tenant, &["inv@example.com"]).await;
    assert_eq!(seats_of(&h, &tenant).await, (1, 1, 2));
    let err = h.user(&tenant, tenant.account.id, "second").await.unwrap_err();
    match err {
        UserError::NoSeatAvailable(NoSeatAvailable { used, reserved, total, .. }) => {
            assert_eq!((used, reserved, total), (1, 1, 2));
        }
        other => panic!("expected NoSeatAvailable, got {other:?}"),
    }
    h.clock.advance(Duration::days(8));
    assert_eq!(seats_of(&h, &tenant).await, (1, 0, 2), "an expired invitation reserves nothing");
    h.user(&tenant, tenant.account.id, "second").await.unwrap();
}

/// R1: concurrent creations never take more seats than bought.
pub async fn r1_concurrent_creations_never_overallocate_seats(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let mut tasks = Vec::new();
    for n in 0..40 {
        let (h, tenant) = (h.clone(), tenant.clone());
        tasks.push(tokio::spawn(
            async move { h.user(&tenant, tenant.account.id, &format!("racer{n}")).await },
        ));
    }
    let mut n_ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => n_ok += 1,
            Err(UserError::NoSeatAvailable(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(n_ok, 5);
    assert_eq!(seats_of(&h, &tenant).await, (5, 0, 5));
}

/// R1, R8, R21: disabling frees a seat and ends sessions; enabling needs a free seat.
pub async fn r1_r8_disabling_frees_a_seat_and_enabling_needs_one(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 1).await;
    let worker = h.user(&tenant, tenant.account.id, "worker").await.unwrap();
    h.give_password(&tenant, worker.id).await;
    let token = auth::login(
        &h.ports,
        None,
        auth::Credentials { account: "acme".into(), username: "worker".into(), password: password() },
    )
    .await
    .unwrap()
    .token;
    users::disable_user(&h.ports, &tenant.admin_actor, worker.id).await.unwrap();
    assert!(
        auth::authenticate(&h.ports, token.expose(), None).await.is_err(),
        "R21: sessions end on disable"
    );
    assert_eq!(seats_of(&h, &tenant).await, (0, 0, 1));
    let replacement = h.user(&tenant, tenant.account.id, "replacement").await.unwrap();
    let err = users::enable_user(&h.ports, &tenant.admin_actor, worker.id).await.unwrap_err();
    assert!(matches!(err, UserError::NoSeatAvailable(_)), "{err:?}");
    users::disable_user(&h.ports, &tenant.admin_actor, replacement.id).await.unwrap();
    let enabled = users::enable_user(&h.ports, &tenant.admin_actor, worker.id).await.unwrap();
    assert_eq!(enabled.state, UserState::Active);
}

/// R2: lowering seats below used + reserved is refused with the numbers.
pub async fn r2_seat_total_cannot_drop_below_usage(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 3).await;
    h.user(&tenant, tenant.account.id, "one").await.unwrap();
    invite_all(&h, &tenant, &["a@example.com"]).await;
    let err =
        seats::set_subscription(&h.ports, &h.operator, tenant.account.id, vec![(tenant.user_type.id, 1)])
            .await
            .unwrap_err();
    match err {
        seats::SeatError::BelowUsage(below) => {
            assert_eq!((below.requested, below.used, below.reserved), (1, 1, 1))
        }
        other => panic!("{other:?}"),
    }
    seats::set_subscription(&h.ports, &h.operator, tenant.account.id, vec![(tenant.user_type.id, 2)])
        .await
        .unwrap();
    assert_eq!(seats_of(&h, &tenant).await, (1, 1, 2));
}

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
        roles::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "managers", managers)
            .await
            .unwrap();
    let (manager, manager_actor) =
        h.administrator(&tenant, tenant.account.id, "manager", manager_role.id).await;
    let pricing = BTreeSet::from([Permission::new(Module::Pricing, Access::Read)]);
    let err = roles::create_role(&h.ports, &manager_actor, tenant.account.id, "pricing", pricing)
        .await
        .unwrap_err();
    assert!(matches!(err, roles::RoleError::Escalation { .. }), "{err:?}");
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
    let events =
        audit::list_audit_events(&h.ports, &tenant.admin_actor, tenant.account.id, PageRequest::first(1))
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
    let events =
        audit::list_audit_events(&h.ports, &tenant.admin_actor, tenant.account.id, PageRequest::first(200))
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

/// R20: the dispatcher sends every queued mail once; a temporary failure is retried after
/// the backoff, a claimed mail whose dispatcher died is sent when its lease ends, and
/// exhausted attempts give up.
pub async fn r20_the_outbox_is_delivered_once_and_retried_after_failures(store: Arc<dyn Store>) {
    use usher_domain::service::outbox::{DeliveryPolicy, dispatch_due};
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let emails = ["a@people.example.com", "b@people.example.com", "c@people.example.com"];
    invitations::invite(&h.ports, &tenant.admin_actor, tenant.account.id, invite_command(&tenant, &emails))
        .await
        .unwrap();
    let mailer = crate::memory::RecordingMailer::default();
    let renderer = crate::memory::PlainRenderer;
    let policy = DeliveryPolicy { max_attempts: 2, ..DeliveryPolicy::standard() };
    mailer.fail_next(1);
    let first = dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap();
    assert_eq!((first.sent, first.retried, first.failed), (2, 1, 0));
    let again = dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap();
    assert_eq!(again.handled(), 0, "nothing is due before the backoff ends");
    h.clock.advance(Duration::seconds(31));
    let retry = dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap();
    assert_eq!(retry.sent, 1);
    let mut sent: Vec<String> = mailer.sent().iter().map(|m| m.to.to_string()).collect();
    sent.sort();
    assert_eq!(sent, emails, "each address got exactly one mail");

    // A dispatcher that claims and dies: the mail comes back when the lease ends.
    invitations::invite(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        invite_command(&tenant, &["d@people.example.com"]),
    )
    .await
    .unwrap();
    let now = h.ports.clock.now();
    let mut tx = h.ports.store.begin().await.unwrap();
    assert_eq!(tx.claim_mail(now, now.plus(policy.lease), 10).await.unwrap().len(), 1);
    tx.commit().await.unwrap();
    assert_eq!(dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap().handled(), 0, "leased");
    h.clock.advance(policy.lease + Duration::seconds(1));
    assert_eq!(dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap().sent, 1);

    // Attempts run out: the mail is given up, not retried for ever.
    invitations::invite(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        invite_command(&tenant, &["e@people.example.com"]),
    )
    .await
    .unwrap();
    mailer.fail_next(2);
    assert_eq!(dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap().retried, 1);
    h.clock.advance(Duration::minutes(2));
    assert_eq!(dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap().failed, 1);
    h.clock.advance(Duration::hours(2));
    assert_eq!(dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap().handled(), 0);
    assert_eq!(mailer.sent().len(), 4);

    // The administrator sees the failed mail with its reason, and retries it.
    let admin = &tenant.admin_actor;
    let failed = outbox::list_mail(
        &h.ports,
        admin,
        tenant.account.id,
        Some(DeliveryState::Failed),
        PageRequest::first(10),
    )
    .await
    .unwrap();
    assert_eq!(failed.items.len(), 1);
    let failed = &failed.items[0];
    assert_eq!((failed.mail.to.as_str(), failed.delivery.attempts), ("e@people.example.com", 2));
    assert!(failed.delivery.last_error.as_deref().is_some_and(|e| e.contains("told to fail")), "{failed:?}");
    let retried = outbox::retry_mail(&h.ports, admin, failed.mail.id).await.unwrap();
    assert_eq!((retried.delivery.state, retried.delivery.attempts), (DeliveryState::Pending, 0));
    let again = outbox::retry_mail(&h.ports, admin, failed.mail.id).await.unwrap_err();
    assert!(matches!(again, outbox::OutboxError::NotFailed { state: DeliveryState::Pending }), "{again:?}");
    assert_eq!(dispatch_due(&h.ports, &renderer, &mailer, &policy).await.unwrap().sent, 1);

    // Sent mail keeps no link token (the outbox is the only place a raw token ever was).
    let sent = outbox::list_mail(
        &h.ports,
        admin,
        tenant.account.id,
        Some(DeliveryState::Sent),
        PageRequest::first(10),
    )
    .await
    .unwrap();
    assert_eq!(sent.items.len(), 5);
    for item in &sent.items {
        let payload = serde_json::to_value(&item.mail.message).unwrap();
        assert!(payload["token"].is_null(), "a sent mail still holds its token: {payload}");
        assert!(item.delivery.sent_at.is_some());
    }
    let audited =
        audit::list_audit_events(&h.ports, admin, tenant.account.id, PageRequest::first(1)).await.unwrap();
    assert_eq!(audited.items[0].action, "mail.retried");
}

/// R9: verification mail only while required and unverified; manual verification is audited.
pub async fn r9_verification_mail_and_manual_verification(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let user = h.user(&tenant, tenant.account.id, "unverified").await.unwrap();
    let (_, mails_before) = h.counts(tenant.account.id).await;
    users::send_verification_email(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    let token = last_link(&h, &tenant).await;
    assert_eq!(h.counts(tenant.account.id).await.1, mails_before + 1);
    let verified = public::verify_email(&h.ports, None, &token).await.unwrap();
    assert!(verified.email_verified_at.is_some());
    let err = users::send_verification_email(&h.ports, &tenant.admin_actor, user.id).await.unwrap_err();
    assert!(matches!(err, UserError::AlreadyVerified), "{err:?}");

    let other = h.user(&tenant, tenant.account.id, "manual").await.unwrap();
    let marked = users::mark_email_verified(&h.ports, &tenant.admin_actor, other.id).await.unwrap();
    assert!(marked.email_verified_at.is_some());
    let events =
        audit::list_audit_events(&h.ports, &tenant.admin_actor, tenant.account.id, PageRequest::first(1))
            .await
            .unwrap();
    assert_eq!(events.items[0].action, "user.email_verified");

    let off = accounts::SettingsPatch { email_verification_required: Some(false), ..Default::default() };
    accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, off).await.unwrap();
    let third = h.user(&tenant, tenant.account.id, "third").await.unwrap();
    let err = users::send_verification_email(&h.ports, &tenant.admin_actor, third.id).await.unwrap_err();
    assert!(matches!(err, UserError::VerificationNotRequired), "{err:?}");
}

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

/// R13: reset links are single use and expire; tokens are stored only as hashes.
pub async fn r13_reset_links_are_single_use_and_expire(store: Arc<dyn Store>) {
    let h = Harness::new(store.clone());
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "forgetful").await.unwrap();
    h.give_password(&tenant, user.id).await;
    users::send_password_reset(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    let link = last_link(&h, &tenant).await;
    let mut tx = store.begin().await.unwrap();
    let stored = tx.token_by_hash(&SecretToken::parse(&link).unwrap().hash()).await.unwrap().unwrap();
    assert_ne!(stored.token_hash.as_str(), link, "only the hash is stored");
    drop(tx);
    public::complete_password_link(&h.ports, None, &link, &PlainPassword::new("a brand new passphrase"))
        .await
        .unwrap();
    let err = public::complete_password_link(&h.ports, None, &link, &password()).await.unwrap_err();
    assert!(matches!(err, public::PublicError::Link(LinkProblem::Used)), "{err:?}");

    users::send_password_reset(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    let late = last_link(&h, &tenant).await;
    h.clock.advance(Duration::days(2));
    let err = public::complete_password_link(&h.ports, None, &late, &password()).await.unwrap_err();
    assert!(matches!(err, public::PublicError::Link(LinkProblem::Expired)), "{err:?}");
}

/// R14: every failure answers alike, unknown users still cost a verification, and failures
/// are throttled per user.
pub async fn r14_login_failures_look_alike_and_are_throttled(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let disabled = h.user(&tenant, tenant.account.id, "disabled").await.unwrap();
    h.give_password(&tenant, disabled.id).await;
    users::disable_user(&h.ports, &tenant.admin_actor, disabled.id).await.unwrap();
    let attempt = |account: &str, username: &str, pw: &str| auth::Credentials {
        account: account.into(),
        username: username.into(),
        password: PlainPassword::new(pw),
    };
    let verifications_before = h.hasher.verifications();
    for credentials in [
        attempt("acme", "admin", "wrong password!"),
        attempt("acme", "nobody", PASSWORD),
        attempt("nowhere", "admin", PASSWORD),
        attempt("acme", "disabled", PASSWORD),
    ] {
        let err = auth::login(&h.ports, Some("198.51.100.7"), credentials).await.unwrap_err();
        assert!(matches!(err, auth::LoginError::InvalidCredentials), "{err:?}");
    }
    assert_eq!(h.hasher.verifications() - verifications_before, 4, "a dummy verification for unknown users");
    for _ in 0..5 {
        let _ = auth::login(&h.ports, Some("203.0.113.66"), attempt("acme", "admin", "still wrong!!")).await;
    }
    let err =
        auth::login(&h.ports, Some("203.0.113.66"), attempt("acme", "admin", PASSWORD)).await.unwrap_err();
    assert!(matches!(err, auth::LoginError::Throttled { .. }), "{err:?}");
    // The failing source is held back; the user, from a source that has not failed, is not.
    auth::login(&h.ports, Some("192.0.2.44"), attempt("acme", "admin", PASSWORD)).await.unwrap();
    h.clock.advance(Duration::minutes(16));
    auth::login(&h.ports, Some("203.0.113.66"), attempt("acme", "admin", PASSWORD)).await.unwrap();
}

/// R15, R16: an administrator's password follows the policy and must be changed at next
/// login; changing it ends every session.
pub async fn r15_r16_admin_set_password_follows_policy_and_forces_a_change(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "newbie").await.unwrap();
    let err = users::set_password(&h.ports, &tenant.admin_actor, user.id, &PlainPassword::new("short"))
        .await
        .unwrap_err();
    assert!(matches!(err, UserError::Password(_)), "{err:?}");
    let err =
        users::set_password(&h.ports, &tenant.admin_actor, user.id, &PlainPassword::new("1234567890123"))
            .await
            .unwrap_err();
    assert!(matches!(err, UserError::Password(usher_domain::password::PasswordRejected::Common)), "{err:?}");
    users::set_password(&h.ports, &tenant.admin_actor, user.id, &password()).await.unwrap();
    users::mark_email_verified(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
    let credentials =
        auth::Credentials { account: "acme".into(), username: "newbie".into(), password: password() };
    let session = auth::login(&h.ports, None, credentials).await.unwrap();
    let who = auth::authenticate(&h.ports, session.token.expose(), None).await.unwrap();
    assert_eq!(who.actor.restriction, Some(usher_domain::authz::Restriction::PasswordChangeRequired));
    let err = users::get_user(&h.ports, &who.actor, user.id).await.unwrap_err();
    assert!(matches!(err, UserError::Denied(Denied::PasswordChangeRequired)), "R16: {err:?}");
    let err = users::me(&h.ports, &who.actor).await.unwrap_err();
    assert!(matches!(err, UserError::Denied(Denied::PasswordChangeRequired)), "R16: {err:?}");
    let new = PlainPassword::new("my own long passphrase");
    auth::change_own_password(&h.ports, &who.actor, &password(), &new).await.unwrap();
    assert!(auth::authenticate(&h.ports, session.token.expose(), None).await.is_err(), "R21");
    let credentials = auth::Credentials {
        account: "acme".into(),
        username: "newbie".into(),
        password: PlainPassword::new("my own long passphrase"),
    };
    let again = auth::login(&h.ports, None, credentials).await.unwrap();
    assert!(!again.user.must_change_password);
}

/// R17: person contacts give name and email; organizations need them explicitly.
pub async fn r17_users_from_contacts(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let person = contacts::create_contact(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        contacts::NewContact {
            kind: ContactKind::Person,
            first_name: Some("Grace".into()),
            last_name: Some("Hopper".into()),
            email: Some("grace@example.com".into()),
            phone: None,
        },
    )
    .await
    .unwrap();
    let user =
        contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, person.id, Default::default())
            .await
            .unwrap();
    assert_eq!(user.email.as_str(), "grace@example.com");
    assert_eq!(user.user_type, tenant.user_type.id, "the default user type");
    assert_eq!(user.roles, BTreeSet::from([tenant.user_role]), "the default roles");
    assert_eq!(user.contact, Some(person.id));
    let err =
        contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, person.id, Default::default())
            .await
            .unwrap_err();
    assert!(matches!(err, UserError::ContactHasUser), "{err:?}");

    let org = contacts::create_contact(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        contacts::NewContact {
            kind: ContactKind::Organization,
            first_name: None,
            last_name: Some("Initech".into()),
            email: Some("info@initech.example.com".into()),
            phone: None,
        },
    )
    .await
    .unwrap();
    let err = contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, org.id, Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, UserError::Invalid(_)), "{err:?}");
    let explicit = contacts::FromContact {
        email: Some("peter@initech.example.com".into()),
        first_name: Some("Peter".into()),
        last_name: Some("Gibbons".into()),
        ..Default::default()
    };
    contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, org.id, explicit).await.unwrap();
}

/// R18: devices link only once a password is set; link, list and unlink are audited.
pub async fn r18_devices_need_a_password(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "rep").await.unwrap();
    let err =
        users::link_device(&h.ports, &tenant.admin_actor, user.id, "Tablet", "ipad-1").await.unwrap_err();
    assert!(matches!(err, UserError::NoPasswordYet), "{err:?}");
    h.give_password(&tenant, user.id).await;
    let (n_before, _) = h.counts(tenant.account.id).await;
    let device =
        users::link_device(&h.ports, &tenant.admin_actor, user.id, "Tablet", "ipad-1").await.unwrap();
    let err =
        users::link_device(&h.ports, &tenant.admin_actor, user.id, "Again", "IPAD-1").await.unwrap_err();
    assert!(matches!(err, UserError::DeviceTaken { .. }), "{err:?}");
    assert_eq!(users::list_devices(&h.ports, &tenant.admin_actor, user.id).await.unwrap().len(), 1);
    users::unlink_device(&h.ports, &tenant.admin_actor, user.id, device.id).await.unwrap();
    assert_eq!(h.counts(tenant.account.id).await.0, n_before + 3, "link, list, unlink");
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

/// R20: a use case that fails leaves no audit event and no outbox mail; one that succeeds
/// writes both.
pub async fn r20_a_failed_use_case_leaves_no_audit_or_mail(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 1).await;
    h.user(&tenant, tenant.account.id, "seated").await.unwrap();
    let before = h.counts(tenant.account.id).await;
    let mut welcome = h.new_user(&tenant, "no-seat");
    welcome.send_welcome = true;
    assert!(
        users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, welcome.clone()).await.is_err()
    );
    assert_eq!(h.counts(tenant.account.id).await, before, "nothing half-written");
    welcome.enabled = false;
    users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, welcome).await.unwrap();
    assert_eq!(
        h.counts(tenant.account.id).await,
        (before.0 + 1, before.1 + 1),
        "one event, one welcome mail"
    );
}

/// R21: a reset request answers alike for unknown addresses; completing it ends sessions.
pub async fn r21_password_reset_request_answers_alike_and_ends_sessions(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "resetter").await.unwrap();
    h.give_password(&tenant, user.id).await;
    let credentials =
        auth::Credentials { account: "acme".into(), username: "resetter".into(), password: password() };
    let session = auth::login(&h.ports, None, credentials).await.unwrap();
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
    assert!(auth::authenticate(&h.ports, session.token.expose(), None).await.is_err());
}

/// R22: a role still held needs a replacement; built-in roles are fixed.
pub async fn r22_role_deletion_needs_a_replacement(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let perms = BTreeSet::from([Permission::new(Module::Orders, Access::Write)]);
    let sales = roles::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "sales", perms.clone())
        .await
        .unwrap();
    let backup =
        roles::create_role(&h.ports, &tenant.admin_actor, tenant.account.id, "backup", perms).await.unwrap();
    let mut command = h.new_user(&tenant, "seller");
    command.roles = BTreeSet::from([sales.id]);
    let seller = users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command).await.unwrap();
    let err = roles::delete_role(&h.ports, &tenant.admin_actor, sales.id, None).await.unwrap_err();
    assert!(matches!(err, roles::RoleError::StillAssigned { assignments: 1, .. }), "{err:?}");
    roles::delete_role(&h.ports, &tenant.admin_actor, sales.id, Some(backup.id)).await.unwrap();
    let seller = users::get_user(&h.ports, &tenant.admin_actor, seller.id).await.unwrap();
    assert_eq!(seller.roles, BTreeSet::from([backup.id]));
    let err = roles::delete_role(&h.ports, &tenant.admin_actor, tenant.admin_role, Some(backup.id))
        .await
        .unwrap_err();
    assert!(matches!(err, roles::RoleError::Builtin { .. }), "{err:?}");
    let strip = roles::RolePatch { permissions: Some(BTreeSet::new()), ..Default::default() };
    let err = roles::update_role(&h.ports, &tenant.admin_actor, tenant.user_role, strip).await.unwrap_err();
    assert!(matches!(err, roles::RoleError::Builtin { .. }), "{err:?}");
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

/// Spawns `n` tasks, alternating between two handles on the store, and returns their results
/// in order.
async fn race<T, F, Fut>(first: &Harness, second: &Harness, n: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Harness, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = (0..n)
        .map(|i| tokio::spawn(task(if i % 2 == 0 { first.clone() } else { second.clone() }, i)))
        .collect();
    let mut results = Vec::with_capacity(n);
    for handle in tasks {
        results.push(handle.await.unwrap());
    }
    results
}

/// R1: 995 creations and 5 acceptances of pending invitations race for 10 seats through two
/// handles: the 5 invitations keep their seats, exactly 5 creations get the rest, every other
/// creation gets `NoSeatAvailable`, and the figures stay exact.
pub async fn r1_race_1000_creations_and_acceptances_for_10_seats(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 10).await;
    let emails: Vec<String> = (0..5).map(|n| format!("invitee{n}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    invite_all(&h, &tenant, &refs).await;
    let mut links = Vec::new();
    let mut tx = h.ports.store.begin().await.unwrap();
    let mail = tx.list_mail(&mail_query(tenant.account.id, PageRequest::first(50))).await.unwrap();
    for item in mail.items {
        if let usher_domain::model::MailMessage::Invitation { token: Some(token), .. } = item.mail.message {
            links.push(token.expose().to_owned());
        }
    }
    drop(tx);
    assert_eq!(links.len(), 5);
    assert_eq!(seats_of(&h, &tenant).await, (0, 5, 10));
    let links = Arc::new(links);
    let results = race(&h, &other, 1000, |h, i| {
        let (tenant, links) = (tenant.clone(), links.clone());
        async move {
            if i % 200 == 0 {
                let acceptance = Acceptance {
                    token: links[i / 200].clone(),
                    first_name: None,
                    last_name: None,
                    username: Some(format!("accepted{i}")),
                    password: PlainPassword::new(PASSWORD),
                };
                invitations::accept(&h.ports, acceptance)
                    .await
                    .map(|_| "accepted")
                    .map_err(|e| format!("{e:?}"))
            } else {
                match h.user(&tenant, tenant.account.id, &format!("racer{i}")).await {
                    Ok(_) => Ok("created"),
                    Err(UserError::NoSeatAvailable(_)) => Err("no seat".to_owned()),
                    Err(other) => Err(format!("{other:?}")),
                }
            }
        }
    })
    .await;
    let count = |wanted: &str| results.iter().filter(|r| r.as_deref() == Ok(wanted)).count();
    let refused = results.iter().filter(|r| matches!(r, Err(e) if e == "no seat")).count();
    let unexpected: Vec<_> =
        results.iter().filter_map(|r| r.as_ref().err()).filter(|e| *e != "no seat").collect();
    assert!(unexpected.is_empty(), "only NoSeatAvailable may fail a racer: {unexpected:?}");
    assert_eq!((count("accepted"), count("created"), refused), (5, 5, 990));
    assert_eq!(seats_of(&h, &tenant).await, (10, 0, 10));
}

/// R5: 100 creations of one username in different letter cases and compositions, through two
/// handles: exactly one succeeds, the others get `UsernameTaken`.
pub async fn r5_race_100_case_variants_of_one_username(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 200).await;
    let base: Vec<char> = "jörgensenmaria".chars().collect();
    let results = race(&h, &other, 100, |h, i| {
        let tenant = tenant.clone();
        let variant: String =
            base.iter()
                .enumerate()
                .map(|(k, c)| {
                    if (i >> (k % 7)) & 1 == 1 { c.to_uppercase().collect::<String>() } else { c.to_string() }
                })
                .collect();
        // Half the variants spell the umlaut decomposed (o + combining diaeresis).
        let variant =
            if i % 2 == 0 { variant } else { variant.replace('ö', "o\u{308}").replace('Ö', "O\u{308}") };
        async move {
            let mut command = h.new_user(&tenant, &variant);
            command.email = format!("variant{i}@example.com");
            users::create_user(&h.ports, &tenant.admin_actor, tenant.account.id, command).await
        }
    })
    .await;
    let n_ok = results.iter().filter(|r| r.is_ok()).count();
    for result in &results {
        assert!(matches!(result, Ok(_) | Err(UserError::UsernameTaken { .. })), "{result:?}");
    }
    assert_eq!(n_ok, 1);
}

/// R11, R13: 16 concurrent redemptions of one invitation link and of one reset link, through
/// two handles: exactly one of each succeeds.
pub async fn r11_r13_race_16_redemptions_of_one_link(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 5).await;
    invite_all(&h, &tenant, &["race@example.com"]).await;
    let link = last_link(&h, &tenant).await;
    let accepted = race(&h, &other, 16, |h, n| {
        let link = link.clone();
        async move {
            let acceptance = Acceptance {
                token: link,
                first_name: None,
                last_name: None,
                username: Some(format!("racer{n}")),
                password: PlainPassword::new(PASSWORD),
            };
            invitations::accept(&h.ports, acceptance).await
        }
    })
    .await;
    for result in &accepted {
        assert!(
            matches!(
                result,
                Ok(_)
                    | Err(invitations::AcceptError::Link(LinkProblem::Used)
                        | invitations::AcceptError::ExistingUser)
            ),
            "{result:?}"
        );
    }
    assert_eq!(accepted.iter().filter(|r| r.is_ok()).count(), 1);
    assert_eq!(seats_of(&h, &tenant).await, (1, 0, 5));

    let worker = h.user(&tenant, tenant.account.id, "worker").await.unwrap();
    h.give_password(&tenant, worker.id).await;
    public::request_password_reset(&h.ports, None, "acme", "worker@people.example.com").await.unwrap();
    resolve_reset_requests(&h, &tenant).await;
    let reset = last_link(&h, &tenant).await;
    let completed =
        race(&h, &other, 16, |h, _| {
            let reset = reset.clone();
            async move {
                public::complete_password_link(&h.ports, None, &reset, &PlainPassword::new(PASSWORD)).await
            }
        })
        .await;
    for result in &completed {
        assert!(matches!(result, Ok(_) | Err(public::PublicError::Link(LinkProblem::Used))), "{result:?}");
    }
    assert_eq!(completed.iter().filter(|r| r.is_ok()).count(), 1);
}

/// Optimistic locking: two concurrent updates of one user version through two handles: one
/// succeeds, the other gets a version conflict.
pub async fn race_two_updates_of_one_user_version(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 5).await;
    let user = h.user(&tenant, tenant.account.id, "versioned").await.unwrap();
    for round in 0..5 {
        let current = users::get_user(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
        let results = race(&h, &other, 2, |h, n| {
            let (tenant, version) = (tenant.clone(), current.version);
            async move {
                let patch = UserPatch {
                    profile: users::ProfileInput {
                        first_name: Some(format!("Name{round}x{n}")),
                        ..Default::default()
                    },
                    if_version: Some(version),
                    ..Default::default()
                };
                users::update_user(&h.ports, &tenant.admin_actor, user.id, patch).await
            }
        })
        .await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "round {round}: {results:?}");
        assert!(results.iter().any(|r| matches!(r, Err(UserError::VersionMismatch { .. }))), "{results:?}");
        let after = users::get_user(&h.ports, &tenant.admin_actor, user.id).await.unwrap();
        assert_eq!(after.version, current.version + 1);
    }
}

/// Settings: concurrent changes of different settings through two handles all survive (none
/// overwrites another with what it read before), and of 8 changes expecting one fingerprint
/// exactly one wins.
pub async fn race_settings_changes_apply_one_after_the_other(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 5).await;
    let admin = &tenant.admin_actor;
    for round in 0..10 {
        let flag = round % 2 == 0;
        let results = race(&h, &other, 2, |h, n| {
            let tenant = tenant.clone();
            async move {
                let patch = if n == 0 {
                    accounts::SettingsPatch { self_registration: Some(flag), ..Default::default() }
                } else {
                    accounts::SettingsPatch { usernames_must_be_emails: Some(flag), ..Default::default() }
                };
                accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, patch).await
            }
        })
        .await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let settings = accounts::get_settings(&h.ports, admin, tenant.account.id).await.unwrap();
        assert_eq!(
            (settings.self_registration, settings.usernames_must_be_emails),
            (flag, flag),
            "round {round}: a change was lost"
        );
    }
    let read = accounts::get_settings(&h.ports, admin, tenant.account.id).await.unwrap();
    let results = race(&h, &other, 8, |h, n| {
        let (tenant, fingerprint) = (tenant.clone(), read.fingerprint());
        async move {
            let patch = accounts::SettingsPatch {
                // 13 and up: every change differs from the current 12, so each one moves the fingerprint.
                password_min_length: Some(u16::try_from(13 + n).unwrap()),
                if_fingerprint: Some(fingerprint),
                ..Default::default()
            };
            accounts::update_settings(&h.ports, &tenant.admin_actor, tenant.account.id, patch).await
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(
        results.iter().filter(|r| matches!(r, Err(accounts::AccountError::SettingsChanged { .. }))).count()
            == 7,
        "{results:?}"
    );
}

/// R14: 20 concurrent logins of one user through two handles all succeed (recording the
/// login takes no version, so logins never conflict) and leave the user's version alone.
pub async fn r14_race_concurrent_logins_of_one_user_all_succeed(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let tenant = h.tenant("acme", 5).await;
    let before = users::get_user(&h.ports, &tenant.admin_actor, tenant.admin.id).await.unwrap();
    let results = race(&h, &other, 20, |h, _| async move {
        let credentials = auth::Credentials {
            account: "acme".to_owned(),
            username: "admin".to_owned(),
            password: PlainPassword::new(PASSWORD),
        };
        auth::login(&h.ports, Some("192.0.2.7"), credentials).await
    })
    .await;
    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    let after = users::get_user(&h.ports, &tenant.admin_actor, tenant.admin.id).await.unwrap();
    assert_eq!(after.version, before.version, "logins do not bump the version an editor holds");
    assert!(after.last_login_at.is_some());
}

/// Two server instances starting at once on an empty database: exactly one creates the
/// operator, the other finds it there, and neither fails.
pub async fn race_two_instances_bootstrap_one_operator(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    let h = Harness::new(a);
    let other = h.beside(b);
    let results = race(&h, &other, 2, |h, _| async move {
        accounts::bootstrap_operator(&h.ports, &PlainPassword::new(PASSWORD)).await
    })
    .await;
    let created: Vec<_> = results.iter().map(|r| r.as_ref().map(Option::is_some)).collect();
    assert!(created.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(created.iter().filter(|c| matches!(c, Ok(true))).count(), 1, "{results:?}");
    h.login("default", "admin").await;
}
