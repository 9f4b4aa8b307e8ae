//! The contract cases, one module per area. Each takes a fresh, empty store and checks one
//! behaviour through the domain's use cases and the raw port; a refusal is checked to change
//! nothing, and the allowed path to still work. Names cite the rule they cover. The helpers
//! the areas share are here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "contract cases are tests")]

use std::collections::BTreeSet;
use std::sync::Arc;

use usher_domain::authz::{Actor, Denied};
use usher_domain::document::MailDocument;
use usher_domain::error::RepoError;
use usher_domain::model::{BuiltinRole, ContactKind, DeliveryState, InvitationStatus, UserState};
use usher_domain::ports::{PageRequest, Store};
use usher_domain::rules::{Attribution, NoSeatAvailable};
use usher_domain::service::invitations::{
    Acceptance, InviteError, InviteOutcome, LinkProblem, NewInvitations,
};
use usher_domain::service::users::{UserError, UserFilter, UserPatch};
use usher_domain::time::Duration;
use usher_domain::value::{Access, Module, Permission, PlainPassword, SecretToken};

use crate::harness::{Harness, PASSWORD, Tenant};

mod accounts;
mod audit;
mod catalog;
mod contacts;
mod events;
mod identities;
mod imports;
mod invitations;
mod links;
mod outbox;
mod provisioning;
mod public;
mod races;
mod seats;
mod sessions;
mod users;
mod webhooks;

pub use accounts::*;
pub use audit::*;
pub use catalog::*;
pub use contacts::*;
pub use events::*;
pub use identities::*;
pub use imports::*;
pub use invitations::*;
pub use links::*;
pub use outbox::*;
pub use provisioning::*;
pub use public::*;
pub use races::*;
pub use seats::*;
pub use sessions::*;
pub use users::*;
pub use webhooks::*;

/// Every case, for the [`store_contract!`](crate::store_contract) macro.
#[macro_export]
macro_rules! store_contract {
    () => {
        $crate::store_contract!(@cases
            // seats.rs
            r1_seats_count_pending_invitations_until_they_expire,
            r1_seat_figures_equal_a_recount_through_expiry_revocation_and_resend,
            r1_concurrent_creations_never_overallocate_seats,
            r1_r8_disabling_frees_a_seat_and_enabling_needs_one,
            r2_seat_total_cannot_drop_below_usage,
            r23_sub_account_admins_never_change_root_level_objects,
            r23_seat_totals_belong_to_the_operator,
            r23_seats_and_types_of_the_tenant_only,
            // users.rs
            r1_r5_bulk_insert_writes_all_or_none,
            r3_enabled_users_need_a_role,
            r4_roles_above_the_ceiling_or_the_granters_permissions_are_refused,
            r5_usernames_are_unique_ignoring_case_and_composition,
            r5_generated_usernames_get_a_numeric_suffix,
            r6_rename_rules,
            r7_order_attribution,
            r8_delete_only_without_history_and_erase_keeps_the_audit_chain,
            r8_nobody_disables_deletes_or_erases_their_own_user,
            r8_erasure_reaches_invitations_contacts_and_mail,
            r8_users_keep_billing_and_shipping_addresses_until_erased,
            r4_r19_a_user_names_only_what_it_may,
            r24_a_user_manager_cannot_take_over_an_administrator,
            sales_representatives_are_users_of_the_tenant,
            r19_an_accounts_sales_representative_applies_to_its_users,
            r19_users_export_as_rows_of_names_with_formulas_neutralised,
            r1_r4_r5_an_import_gives_each_row_one_outcome,
            r5_an_import_matches_rows_on_external_id_first,
            // imports.rs
            r1_r5_an_import_job_resumes_after_a_crash_doing_each_row_once,
            r1_r3_import_jobs_all_or_nothing_dry_run_and_cancel,
            r20_an_import_whose_file_stopped_arriving_is_failed_by_the_sweep,
            r8_an_import_report_names_no_other_user,
            r17_an_import_creates_or_matches_contacts,
            optimistic_locking_refuses_stale_writes,
            every_change_answers_the_stored_version,
            // provisioning.rs
            scim_searches_mean_on_every_store_what_the_reference_means,
            r1_r3_r5_r8_scim_provisioning_follows_the_rules_of_users,
            r19_scim_provisions_into_a_sub_account_named_by_slug,
            // invitations.rs
            r10_bulk_invitation_gives_one_outcome_per_address,
            r10_resend_kills_the_old_link_and_revoke_frees_the_seat,
            r3_r10_an_invitation_without_roles_gives_the_default_roles,
            r10_an_invitation_in_a_language_is_mailed_in_it_and_the_user_keeps_it,
            r10_invitation_limits_expiry_and_tally,
            r11_accepting_creates_a_verified_user_once,
            r11_concurrent_redemptions_of_one_token_succeed_once,
            // public.rs
            r12_self_registration_creates_members_only_when_open,
            r12_members_are_never_made_by_hand,
            r21_password_reset_request_answers_alike_and_ends_sessions,
            r21_public_forms_are_throttled_per_address_and_source,
            r12_r21_public_flows_keep_what_they_should,
            // links.rs
            r9_verification_mail_and_manual_verification,
            r13_reset_links_are_single_use_and_expire,
            r25_links_are_bound_to_what_they_were_issued_for,
            r9_r21_links_prove_what_they_should,
            // sessions.rs
            r14_login_failures_look_alike_and_are_throttled,
            r14_a_distributed_attack_holds_back_failing_sources_only,
            r14_throttle_counts_hide_who_and_are_forgotten,
            r14_a_stolen_session_cannot_guess_the_password,
            r14_nobody_logs_in_under_a_suspended_account,
            r15_r16_admin_set_password_follows_policy_and_forces_a_change,
            r18_devices_need_a_password,
            r13_r24_sessions_and_keys_end_when_they_should,
            r13_r14_a_console_session_is_bound_to_the_console_and_ends_when_idle,
            r24_sessions_are_seen_and_ended_by_their_user_and_those_above,
            r24_api_keys_end_with_their_creator,
            r13_r19_introspection_follows_sessions_and_reach,
            r13_signed_access_tokens_follow_the_session_and_the_cutoff,
            // contacts.rs
            r17_users_from_contacts,
            r17_contacts_give_their_names_and_phone,
            r17_contacts_are_read_searched_edited_and_deleted,
            // identities.rs
            r1_r17_an_identity_makes_one_user_that_later_sign_ins_update,
            r17_r24_jit_links_to_the_user_with_the_email_only_when_verified_and_allowed,
            // accounts.rs
            sub_accounts_form_a_tree,
            r19_an_account_tree_is_read_at_once_from_where_one_reaches,
            r19_account_context_reads_what_its_parts_read,
            r19_tenant_and_subtree_isolation,
            keyset_pagination_is_stable_while_rows_are_inserted,
            a_cursor_of_another_list_is_a_position_not_a_failure,
            // catalog.rs
            r22_role_deletion_needs_a_replacement,
            r22_r24_roles_keep_their_versions_and_limits,
            settings_name_only_the_tenants_own_catalog,
            accounts_user_types_and_the_subscription_refuse_stale_writes,
            // outbox.rs
            r20_the_outbox_is_delivered_once_and_retried_after_failures,
            r20_a_failed_use_case_leaves_no_audit_or_mail,
            r20_a_created_user_is_audited_with_its_fields,
            // audit.rs
            r20_the_audit_log_is_narrowed_by_actor_target_action_and_time,
            // events.rs
            r26_every_audited_change_emits_one_event_with_its_object_and_origin,
            r8_r19_r26_the_feed_keeps_tenants_subtrees_and_erasures,
            r26_forgotten_events_never_give_their_numbers_again,
            // webhooks.rs
            r26_webhooks_receive_their_subtree_events_in_order_and_signed,
            r26_failing_deliveries_hold_the_line_retry_and_give_up_after_a_day,
            r19_r26_webhooks_keep_to_their_tenant_and_their_secrets,
        );
        $crate::store_contract!(@races
            r1_race_1000_creations_and_acceptances_for_10_seats,
            r1_race_1000_creations_acceptances_and_disables_match_a_recount,
            r5_race_100_case_variants_of_one_username,
            r11_r13_race_16_redemptions_of_one_link,
            race_two_updates_of_one_user_version,
            race_settings_changes_apply_one_after_the_other,
            r14_race_concurrent_logins_of_one_user_all_succeed,
            r5_r17_race_50_first_sign_ins_of_one_identity_make_one_user,
            race_two_instances_bootstrap_one_operator,
            r26_race_8_writers_and_a_reader_see_every_event_once,
            r26_race_two_dispatchers_deliver_each_event_once_in_order
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
    let figures =
        usher_domain::service::catalog::get_subscription(&h.ports, &tenant.admin_actor, tenant.account.id)
            .await
            .unwrap();
    let (_, usage) = figures.into_iter().find(|(t, _)| t.id == tenant.user_type.id).unwrap();
    (usage.used, usage.reserved, usage.total)
}

/// The seat figures of the tenant's user type counted from the rows, as R1 defines them:
/// active users of the type, and its pending invitations that have not expired. A store's own
/// figures must always equal this.
async fn recount(h: &Harness, tenant: &Tenant) -> (u32, u32, u32) {
    let mut tx = h.ports.store.begin_read().await.unwrap();
    let mut used = 0;
    let mut request = PageRequest::first(200);
    loop {
        let query = usher_domain::ports::UserQuery {
            root: tenant.account.id,
            within: BTreeSet::new(),
            state: Some(usher_domain::model::UserState::Active),
            prefix: None,
            user_type: Some(tenant.user_type.id),
            role: None,
            page: request,
        };
        let page = tx.list_users(&query).await.unwrap();
        used += page.items.len();
        match page.next {
            Some(cursor) => request = PageRequest::after(cursor, 200),
            None => break,
        }
    }
    let now = h.ports.clock.now();
    let mut reserved = 0;
    let mut request = PageRequest::first(200);
    loop {
        let query = usher_domain::ports::InvitationQuery {
            root: tenant.account.id,
            within: BTreeSet::new(),
            status: Some(usher_domain::model::InvitationStatus::Pending),
            now,
            page: request,
        };
        let page = tx.list_invitations(&query).await.unwrap();
        reserved += page.items.iter().filter(|i| i.user_type == tenant.user_type.id).count();
        match page.next {
            Some(cursor) => request = PageRequest::after(cursor, 200),
            None => break,
        }
    }
    drop(tx);
    let total = seats_of(h, tenant).await.2;
    (u32::try_from(used).unwrap(), u32::try_from(reserved).unwrap(), total)
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
    usher_domain::service::invitations::invite(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        invite_command(tenant, emails),
    )
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
            n_issued += usize::from(
                usher_domain::service::public::resolve_reset_request(&h.ports, &queued.mail).await.unwrap(),
            );
        }
    }
    n_issued
}

/// The link token of the newest mail of a root.
pub(crate) async fn last_link(h: &Harness, tenant: &Tenant) -> String {
    let last = outbox_of(h, tenant).await.pop().unwrap();
    let payload = serde_json::to_value(MailDocument::from(&last.mail.message)).unwrap();
    payload["token"].as_str().unwrap().to_owned()
}

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
    let role = usher_domain::service::catalog::create_role(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        "user managers",
        permissions,
    )
    .await
    .unwrap();
    h.administrator(tenant, tenant.account.id, "manager", role.id).await.1
}

/// The newest `limit` audit events of a tenant, as its administrator reads them.
async fn audit_of(
    h: &Harness,
    tenant: &Tenant,
    limit: u16,
) -> usher_domain::ports::Page<usher_domain::model::AuditEvent> {
    let page = usher_domain::ports::PageRequest::first(limit);
    usher_domain::service::audit::list_audit_events(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        Default::default(),
        page,
    )
    .await
    .unwrap()
}
