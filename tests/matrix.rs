//! The authorization matrix (R19, R23, R24, R16): every operation of the OpenAPI spec, tried by
//! every kind of actor on targets at the root of its tenant, in its own sub-account, in a
//! sibling sub-account, on a higher administrator and in another tenant. The expected answer
//! of every cell is written in the table below; an operation of the spec without a row, or a
//! cell that answers otherwise, fails the test. After every refusal the newest audit event of
//! both tenants is the same as before: a refused call changed nothing (R20).
//!
//! The cells: `A` a 2xx answer, `3` 403, `4` 404, `1` 401, `C` a 409 or 422 (authorized, then
//! refused by a rule), `W` a 403 `wrong_password` (authorized, then the proof of who one is
//! failed), `P` anything but 401, 403 and 5xx (a public flow). SCIM's endpoints, outside the
//! spec, have rows of their own (`scim_…`), and so have the console's screens
//! (`console_rows`), tried through a console session of each kind of actor.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_e2e::{Page, Server, Tenant, Visitor, id, until};

/// The kinds of actor, in the order of each row's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The installation's operator.
    Operator,
    /// The first administrator of the root account.
    RootAdmin,
    /// A root user managing users: what plain users hold, plus `users:write`.
    UserManager,
    /// An administrator of the sub-account `east`.
    SubAdmin,
    /// A plain user (the built-in `user` role).
    Plain,
    /// An API key holding `users:read`.
    Key,
    /// Another tenant's administrator.
    OtherAdmin,
    /// No token.
    Anonymous,
    /// An administrator whose password an administrator set (R16).
    MustChange,
}

const WHO: [Who; 9] = [
    Who::Operator,
    Who::RootAdmin,
    Who::UserManager,
    Who::SubAdmin,
    Who::Plain,
    Who::Key,
    Who::OtherAdmin,
    Who::Anonymous,
    Who::MustChange,
];

/// Where a cell's target lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Place {
    /// The root account of `acme`.
    Root,
    /// `acme-east`, the sub-account of the sub-account administrator.
    Sub,
    /// `acme-west`, its sibling.
    Sibling,
    /// A root administrator of `acme` (for users) : someone who holds everything.
    Higher,
    /// The root account of `globex`, another tenant.
    Other,
}

/// What an operation acts on, which says the places a row's cells try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Nothing but the caller.
    Caller,
    /// An account id in the path.
    Account,
    /// A user (a fresh one per cell, with a password and a device).
    User,
    /// A login session of a fresh user.
    Session,
    /// A role of the root catalog.
    Role,
    /// A user type of the root catalog.
    UserType,
    /// An invitation.
    Invitation,
    /// A contact.
    Contact,
    /// An API key.
    ApiKey,
    /// A queued mail.
    Mail,
    /// A webhook.
    Webhook,
    /// A webhook with a delivery (of its own `webhook.created` event).
    WebhookDelivery,
    /// An import job that has ended (a dry run, so it wrote no user).
    Import,
    /// No bearer token at all: a public flow.
    Public,
}

impl Target {
    fn places(self) -> &'static [Place] {
        match self {
            Target::Caller | Target::Public => &[Place::Root],
            Target::User | Target::Session => {
                &[Place::Root, Place::Sub, Place::Sibling, Place::Higher, Place::Other]
            }
            Target::Role | Target::UserType => &[Place::Root, Place::Other],
            Target::Account
            | Target::Invitation
            | Target::Contact
            | Target::ApiKey
            | Target::Mail
            | Target::Webhook
            | Target::WebhookDelivery
            | Target::Import => &[Place::Root, Place::Sub, Place::Sibling, Place::Other],
        }
    }
}

/// One operation: how to call it on a target, and the answer of every cell.
struct Row {
    operation: &'static str,
    target: Target,
    method: Method,
    /// The path, with `{account}`, `{id}`, `{device}` and `{n}` (a fresh number) filled in.
    path: &'static str,
    /// The body, with the same placeholders in its strings.
    body: Option<&'static str>,
    /// The cells: one group per kind of actor (in [`WHO`] order), one letter per place.
    cells: &'static str,
}

// Patterns shared by many rows; each is the nine groups of a row.
const ACCOUNTS: &str = "AAAA AAA4 3334 3A34 3334 3334 444A 1111 3334";
const SETTINGS_READ: &str = ACCOUNTS;
const ROOT_LEVEL_CREATE: &str = "AAAA AAA4 3334 3334 3334 3334 444A 1111 3334";
const USERS_READ_IN: &str = "AAAA AAA4 AAA4 3A34 3334 AAA4 444A 1111 3334";
const USERS_WRITE_IN: &str = "AAAA AAA4 AAA4 3A34 3334 3334 444A 1111 3334";
const ADMIN_MODULE_IN: &str = "AAAA AAA4 3334 3A34 3334 3334 444A 1111 3334";
const CONTACTS_IN: &str = "AAAA AAA4 AAA4 3A34 AAA4 3334 444A 1111 3334";
const USER_READ: &str = "AAAAA AAAA4 AAAA4 3A334 33334 AAAA4 4444A 11111 33334";
const USER_WRITE: &str = "AAAAA AAAA4 AAA34 3A334 33334 33334 4444A 11111 33334";
const ROOT_LEVEL_READ_BY_ID: &str = "AA A4 34 A4 34 34 4A 11 34";
const ROOT_LEVEL_WRITE_BY_ID: &str = "AA A4 34 34 34 34 4A 11 34";
const CALLER: &str = "A A A A A 3 A 1 3";
const PUBLIC: &str = "- - - - - - - P -";
// SCIM: only actors holding `scim` in a directory of their own (the root and sub-account
// administrators, and the other tenant's in its own) get in.
const SCIM_CALLER: &str = "3 A 3 A 3 3 A 1 3";
const SCIM_USER: &str = "33333 AAAA4 33333 3A334 33333 33333 4444A 11111 33333";
const SCIM_GROUP_WRITE: &str = "33 A4 33 34 33 33 4A 11 33";

#[rustfmt::skip] // A table: one operation a line.
fn rows() -> Vec<Row> {
    use Target as T;
    let row =
        |operation, target, method, path, body, cells| Row { operation, target, method, path, body, cells };
    vec![
        // Accounts (R19) and the operator's own calls.
        row("create_account", T::Caller, Method::POST, "/v1/accounts", Some(r#"{"slug":"made-{n}","name":"Made","admin_email":"first{n}@made.example.com"}"#), "A 3 3 3 3 3 3 1 3"),
        row("get_account", T::Account, Method::GET, "/v1/accounts/{account}", None, ACCOUNTS),
        row("update_account", T::Account, Method::PATCH, "/v1/accounts/{account}", Some(r#"{"name":"Renamed {n}"}"#), ACCOUNTS),
        row("list_sub_accounts", T::Account, Method::GET, "/v1/accounts/{account}/sub-accounts", None, ACCOUNTS),
        row("create_sub_account", T::Account, Method::POST, "/v1/accounts/{account}/sub-accounts", Some(r#"{"slug":"sub-{n}","name":"Sub"}"#), ACCOUNTS),
        // Root-level objects (R23): read from anywhere in the tenant, changed at the root.
        row("get_settings", T::Account, Method::GET, "/v1/accounts/{account}/settings", None, SETTINGS_READ),
        row("update_settings", T::Account, Method::PATCH, "/v1/accounts/{account}/settings", Some(r#"{"default_clerk_id":"clerk-{n}"}"#), "ACCA ACC4 3334 3334 3334 3334 444A 1111 3334"),
        row("get_subscription", T::Account, Method::GET, "/v1/accounts/{account}/subscription", None, SETTINGS_READ),
        row("set_subscription", T::Account, Method::PUT, "/v1/accounts/{account}/subscription", Some(r#"{"seats":[{"user_type":"{user_type}","total":100000}]}"#), "AAAA 3334 3334 3334 3334 3334 4443 1111 3334"),
        row("list_user_types", T::Account, Method::GET, "/v1/accounts/{account}/user-types", None, SETTINGS_READ),
        row("create_user_type", T::Account, Method::POST, "/v1/accounts/{account}/user-types", Some(r#"{"key":"type{n}","name":"Type {n}","consumes_seat":true,"ceiling":["orders:read"]}"#), ROOT_LEVEL_CREATE),
        row("update_user_type", T::UserType, Method::PATCH, "/v1/user-types/{id}", Some(r#"{"name":"Renamed {n}"}"#), ROOT_LEVEL_WRITE_BY_ID),
        row("list_roles", T::Account, Method::GET, "/v1/accounts/{account}/roles", None, SETTINGS_READ),
        row("create_role", T::Account, Method::POST, "/v1/accounts/{account}/roles", Some(r#"{"name":"Role {n}","permissions":["orders:read"]}"#), ROOT_LEVEL_CREATE),
        row("get_role", T::Role, Method::GET, "/v1/roles/{id}", None, ROOT_LEVEL_READ_BY_ID),
        row("update_role", T::Role, Method::PATCH, "/v1/roles/{id}", Some(r#"{"name":"Renamed {n}"}"#), ROOT_LEVEL_WRITE_BY_ID),
        row("delete_role", T::Role, Method::DELETE, "/v1/roles/{id}", None, ROOT_LEVEL_WRITE_BY_ID),
        row("list_permissions", T::Caller, Method::GET, "/v1/permissions", None, "A A A A A A A 1 3"),
        // Users (R19, R24): nobody acts on a user who holds more.
        row("list_users", T::Account, Method::GET, "/v1/accounts/{account}/users", None, USERS_READ_IN),
        row("create_user", T::Account, Method::POST, "/v1/accounts/{account}/users", Some(r#"{"email":"new{n}@example.com","user_type":"{user_type}","roles":["{user_role}"]}"#), USERS_WRITE_IN),
        row("get_user", T::User, Method::GET, "/v1/users/{id}", None, USER_READ),
        row("get_user_permissions", T::User, Method::GET, "/v1/users/{id}/permissions?account={account}", None, USER_READ),
        row("update_user", T::User, Method::PATCH, "/v1/users/{id}", Some(r#"{"first_name":"Renamed"}"#), USER_WRITE),
        row("delete_user", T::User, Method::DELETE, "/v1/users/{id}", None, USER_WRITE),
        row("enable_user", T::User, Method::POST, "/v1/users/{id}/enable", None, USER_WRITE),
        row("disable_user", T::User, Method::POST, "/v1/users/{id}/disable", None, USER_WRITE),
        row("erase_user", T::User, Method::POST, "/v1/users/{id}/erase", None, USER_WRITE),
        row("set_user_password", T::User, Method::PUT, "/v1/users/{id}/password", Some(r#"{"password":"taken over at {n} o'clock"}"#), USER_WRITE),
        row("send_password_reset", T::User, Method::POST, "/v1/users/{id}/password-reset", None, USER_WRITE),
        row("send_verification_email", T::User, Method::POST, "/v1/users/{id}/verification-email", None, USER_WRITE),
        row("mark_email_verified", T::User, Method::POST, "/v1/users/{id}/email-verified", None, USER_WRITE),
        row("list_devices", T::User, Method::GET, "/v1/users/{id}/devices", None, USER_READ),
        row("link_device", T::User, Method::POST, "/v1/users/{id}/devices", Some(r#"{"name":"Till","identifier":"till-{n}"}"#), USER_WRITE),
        row("unlink_device", T::User, Method::DELETE, "/v1/users/{id}/devices/{device}", None, USER_WRITE),
        row("get_attribution", T::User, Method::GET, "/v1/users/{id}/attribution", None, USER_READ),
        // Sessions: people see and end their own; administrators those of users below them.
        row("list_my_sessions", T::Caller, Method::GET, "/v1/me/sessions", None, CALLER),
        row("list_user_sessions", T::User, Method::GET, "/v1/users/{id}/sessions", None, USER_READ),
        row("end_session", T::Session, Method::DELETE, "/v1/sessions/{id}", None, USER_WRITE),
        // Invitations, contacts, keys, audit and mail.
        row("list_invitations", T::Account, Method::GET, "/v1/accounts/{account}/invitations", None, ADMIN_MODULE_IN),
        row("invite", T::Account, Method::POST, "/v1/accounts/{account}/invitations", Some(r#"{"emails":["guest{n}@example.com"],"user_type":"{user_type}","roles":["{user_role}"]}"#), ADMIN_MODULE_IN),
        row("resend_invitation", T::Invitation, Method::POST, "/v1/invitations/{id}/resend", None, ADMIN_MODULE_IN),
        row("revoke_invitation", T::Invitation, Method::DELETE, "/v1/invitations/{id}", None, ADMIN_MODULE_IN),
        row("list_contacts", T::Account, Method::GET, "/v1/accounts/{account}/contacts", None, CONTACTS_IN),
        row("create_contact", T::Account, Method::POST, "/v1/accounts/{account}/contacts", Some(r#"{"kind":"person","last_name":"Contact {n}"}"#), CONTACTS_IN),
        row("get_contact", T::Contact, Method::GET, "/v1/contacts/{id}", None, CONTACTS_IN),
        row("update_contact", T::Contact, Method::PATCH, "/v1/contacts/{id}", Some(r#"{"first_name":"Renamed {n}"}"#), CONTACTS_IN),
        row("delete_contact", T::Contact, Method::DELETE, "/v1/contacts/{id}", None, CONTACTS_IN),
        row("create_user_from_contact", T::Contact, Method::POST, "/v1/contacts/{id}/user", Some(r#"{"email":"from{n}@example.com"}"#), USERS_WRITE_IN),
        row("export_users", T::Account, Method::GET, "/v1/accounts/{account}/users/export", None, USERS_READ_IN),
        // Imports: dry runs, so that no job audits anything while a later cell is checked.
        row("submit_import", T::Account, Method::POST, "/v1/accounts/{account}/imports?dry_run=true", Some("csv:email,state\nimported{n}@example.com,disabled\n"), USERS_WRITE_IN),
        row("get_import", T::Import, Method::GET, "/v1/imports/{id}", None, USERS_READ_IN),
        // The job has ended: the caller who may cancel it is told so (409).
        row("cancel_import", T::Import, Method::DELETE, "/v1/imports/{id}", None, "CCCC CCC4 CCC4 3C34 3334 3334 444C 1111 3334"),
        row("sign_in_external_identity", T::Account, Method::PUT, "/v1/accounts/{account}/external-identities/https%3A%2F%2Fidp.example.com/sub-{n}", Some(r#"{"email":"jit{n}@example.com","email_verified":true}"#), USERS_WRITE_IN),
        row("list_api_keys", T::Account, Method::GET, "/v1/accounts/{account}/api-keys", None, ADMIN_MODULE_IN),
        row("create_api_key", T::Account, Method::POST, "/v1/accounts/{account}/api-keys", Some(r#"{"name":"key {n}","permissions":["orders:read"]}"#), ADMIN_MODULE_IN),
        row("revoke_api_key", T::ApiKey, Method::DELETE, "/v1/api-keys/{id}", None, ADMIN_MODULE_IN),
        // Introspection answers `active: false` for tokens out of reach, so a foreign
        // administrator holding the permission is answered too (the e2e test checks the answer).
        // Only a user's session mints an access token; the key set is public.
        row("mint_access_token", T::Caller, Method::POST, "/v1/auth/token", None, CALLER),
        row("get_jwks", T::Public, Method::GET, "/.well-known/jwks.json", None, PUBLIC),
        row("introspect_token", T::Caller, Method::POST, "/v1/oauth/introspect", Some("form:token=uss_not-a-session-token"), "A A 3 A 3 3 A 1 3"),
        row("list_webhooks", T::Account, Method::GET, "/v1/accounts/{account}/webhooks", None, ADMIN_MODULE_IN),
        row("create_webhook", T::Account, Method::POST, "/v1/accounts/{account}/webhooks", Some(r#"{"url":"https://hooks.example.com/{n}"}"#), ADMIN_MODULE_IN),
        row("get_webhook", T::Webhook, Method::GET, "/v1/webhooks/{id}", None, ADMIN_MODULE_IN),
        row("update_webhook", T::Webhook, Method::PATCH, "/v1/webhooks/{id}", Some(r#"{"enabled":false}"#), ADMIN_MODULE_IN),
        row("delete_webhook", T::Webhook, Method::DELETE, "/v1/webhooks/{id}", None, ADMIN_MODULE_IN),
        row("rotate_webhook_secret", T::Webhook, Method::POST, "/v1/webhooks/{id}/secret", None, ADMIN_MODULE_IN),
        row("list_webhook_deliveries", T::Webhook, Method::GET, "/v1/webhooks/{id}/deliveries", None, ADMIN_MODULE_IN),
        row("replay_webhook_delivery", T::WebhookDelivery, Method::POST, "/v1/webhooks/{id}/deliveries/{delivery}/replay", None, ADMIN_MODULE_IN),
        row("list_audit_events", T::Account, Method::GET, "/v1/accounts/{account}/audit-events", None, ADMIN_MODULE_IN),
        row("list_events", T::Account, Method::GET, "/v1/accounts/{account}/events", None, ADMIN_MODULE_IN),
        row("list_mail", T::Account, Method::GET, "/v1/accounts/{account}/mail", None, SETTINGS_READ),
        row("retry_mail", T::Mail, Method::POST, "/v1/mail/{id}/retry", None, "CCCC CCC4 3334 3C34 3334 3334 444C 1111 3334"),
        // The caller itself (R16: a user who must change the password may only do that).
        row("get_me", T::Caller, Method::GET, "/v1/me", None, CALLER),
        row("update_me", T::Caller, Method::PATCH, "/v1/me", Some(r#"{"first_name":"Me"}"#), CALLER),
        row("change_my_password", T::Caller, Method::PUT, "/v1/me/password", Some(r#"{"current_password":"not the password at all","new_password":"a brand new passphrase"}"#), "W W W W W 3 W 1 W"),
        row("logout", T::Caller, Method::POST, "/v1/auth/logout", None, "A A A A A A A 1 A"),
        // Public flows: no bearer token decides anything.
        // Wrong credentials answer 401, and registration is closed in `acme` (403).
        row("login", T::Public, Method::POST, "/v1/auth/login", Some(r#"{"account":"acme","username":"nobody","password":"wrong password"}"#), "- - - - - - - 1 -"),
        row("register", T::Public, Method::POST, "/v1/registrations", Some(r#"{"account":"acme","email":"someone@example.com","password":"a long enough passphrase"}"#), "- - - - - - - 3 -"),
        row("verify_email", T::Public, Method::POST, "/v1/email-verifications", Some(r#"{"token":"not-a-token"}"#), PUBLIC),
        row("lookup_invitation", T::Public, Method::GET, "/v1/invitations/lookup?token=not-a-token", None, PUBLIC),
        row("accept_invitation", T::Public, Method::POST, "/v1/invitations/accept", Some(r#"{"token":"not-a-token","password":"a long enough passphrase"}"#), PUBLIC),
        row("request_password_reset", T::Public, Method::POST, "/v1/password-resets", Some(r#"{"account":"acme","email":"someone@example.com"}"#), PUBLIC),
        row("complete_password_reset", T::Public, Method::POST, "/v1/password-resets/complete", Some(r#"{"token":"not-a-token","password":"a long enough passphrase"}"#), PUBLIC),
        // SCIM (outside the spec): the `scim` permission opens the caller's own directory,
        // and each change needs what it needs through /v1 (R19, R23, R24).
        row("scim_list_users", T::Caller, Method::GET, "/scim/v2/Users?filter=userName%20sw%20%22target%22", None, SCIM_CALLER),
        row("scim_search_users", T::Caller, Method::POST, "/scim/v2/Users/.search", Some(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"active eq true"}"#), SCIM_CALLER),
        row("scim_create_user", T::Caller, Method::POST, "/scim/v2/Users", Some(r#"{"userName":"scim{n}","emails":[{"value":"scim{n}@example.com"}],"active":false}"#), SCIM_CALLER),
        row("scim_get_user", T::User, Method::GET, "/scim/v2/Users/{id}", None, SCIM_USER),
        row("scim_replace_user", T::User, Method::PUT, "/scim/v2/Users/{id}", Some(r#"{"userName":"target{n}","emails":[{"value":"target{n}@example.com"}],"name":{"givenName":"Renamed"},"active":true}"#), SCIM_USER),
        row("scim_patch_user", T::User, Method::PATCH, "/scim/v2/Users/{id}", Some(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"name.givenName","value":"Patched"}]}"#), SCIM_USER),
        row("scim_delete_user", T::User, Method::DELETE, "/scim/v2/Users/{id}", None, SCIM_USER),
        row("scim_list_groups", T::Caller, Method::GET, "/scim/v2/Groups", None, SCIM_CALLER),
        row("scim_create_group", T::Caller, Method::POST, "/scim/v2/Groups", Some(r#"{"displayName":"Group {n}"}"#), "3 A 3 3 3 3 A 1 3"),
        row("scim_get_group", T::Role, Method::GET, "/scim/v2/Groups/{id}", None, "33 A4 33 A4 33 33 4A 11 33"),
        row("scim_patch_group", T::Role, Method::PATCH, "/scim/v2/Groups/{id}", Some(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"Renamed {n}"}]}"#), SCIM_GROUP_WRITE),
        row("scim_delete_group", T::Role, Method::DELETE, "/scim/v2/Groups/{id}", None, SCIM_GROUP_WRITE),
        // Discovery is public: the same answer for everyone.
        row("scim_service_provider_config", T::Caller, Method::GET, "/scim/v2/ServiceProviderConfig", None, "A A A A A A A A A"),
        row("scim_schemas", T::Caller, Method::GET, "/scim/v2/Schemas", None, "A A A A A A A A A"),
        row("scim_resource_types", T::Caller, Method::GET, "/scim/v2/ResourceTypes", None, "A A A A A A A A A"),
    ]
}

/// Operational endpoints outside `/v1`, which no actor's token changes.
const UNAUTHENTICATED_OPS: [&str; 3] = ["healthz", "readyz", "metrics"];

/// The two tenants, their places, and a token per kind of actor.
struct World {
    operator: String,
    acme: Tenant,
    globex: Tenant,
    east: String,
    west: String,
    tokens: Vec<(Who, Option<String>)>,
    /// Credentials to log in again, for the logout row.
    logins: Vec<(Who, String, String, String)>,
    /// One ended import job per place: reading or cancelling it changes nothing.
    imports: std::sync::Mutex<std::collections::HashMap<Place, String>>,
}

const USER_PERMISSIONS: [&str; 10] = [
    "contacts:read",
    "contacts:write",
    "orders:read",
    "orders:write",
    "catalog:read",
    "catalog:write",
    "quotes:read",
    "quotes:write",
    "reports:read",
    "reports:write",
];

async fn ok(server: &Server, method: Method, path: &str, token: &str, body: Value) -> Value {
    let (status, answer) = server.call(method.clone(), path, Some(token), Some(body)).await;
    assert!(status.is_success(), "setup {method} {path}: {status} {answer}");
    answer
}

/// A user of `tenant` in `account`, given a verified email and a password of its own (or, with
/// `restricted`, only the administrator's), logged in.
async fn actor(
    server: &Server,
    tenant: &Tenant,
    account: &str,
    user_type: &str,
    role: &str,
    name: &str,
    restricted: bool,
) -> (String, (String, String, String)) {
    let body = json!({"username": name, "email": format!("{name}@{}.example.com", tenant.slug), "user_type": user_type, "roles": [role]});
    let user =
        id(&ok(server, Method::POST, &format!("/v1/accounts/{account}/users"), &tenant.token, body).await);
    ok(server, Method::POST, &format!("/v1/users/{user}/email-verified"), &tenant.token, json!({})).await;
    let first = "temporary pass 1234";
    ok(server, Method::PUT, &format!("/v1/users/{user}/password"), &tenant.token, json!({"password": first}))
        .await;
    let token = server.login(&tenant.slug, name, first).await;
    if restricted {
        return (token, (tenant.slug.clone(), name.to_owned(), first.to_owned()));
    }
    let own = "my own secret phrase";
    let change = json!({"current_password": first, "new_password": own});
    let (status, body) = server.call(Method::PUT, "/v1/me/password", Some(&token), Some(change)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    (server.login(&tenant.slug, name, own).await, (tenant.slug.clone(), name.to_owned(), own.to_owned()))
}

async fn world(server: &Server) -> World {
    let operator = server.operator().await;
    let acme = server.tenant("acme", 100_000).await;
    let globex = server.tenant("globex", 100_000).await;
    for tenant in [&acme, &globex] {
        let seats = json!({"seats": [{"user_type": tenant.admin_type, "total": 100_000}]});
        ok(server, Method::PUT, &format!("/v1/accounts/{}/subscription", tenant.account), &operator, seats)
            .await;
    }
    let sub = |slug: &str| json!({"slug": slug, "name": slug});
    let path = format!("/v1/accounts/{}/sub-accounts", acme.account);
    let east = id(&ok(server, Method::POST, &path, &acme.token, sub("acme-east")).await);
    let west = id(&ok(server, Method::POST, &path, &acme.token, sub("acme-west")).await);
    let mut permissions: Vec<&str> = USER_PERMISSIONS.to_vec();
    permissions.extend(["users:read", "users:write"]);
    let managers = json!({"name": "User managers", "permissions": permissions});
    let path = format!("/v1/accounts/{}/roles", acme.account);
    let managers = id(&ok(server, Method::POST, &path, &acme.token, managers).await);
    let a = acme.account.clone();
    let (manager, manager_login) =
        actor(server, &acme, &a, &acme.admin_type, &managers, "manager", false).await;
    let (sub_admin, sub_login) =
        actor(server, &acme, &east, &acme.admin_type, &acme.admin_role, "eastadmin", false).await;
    let (plain, plain_login) =
        actor(server, &acme, &a, &acme.user_type, &acme.user_role, "plain", false).await;
    let (must_change, change_login) =
        actor(server, &acme, &a, &acme.admin_type, &acme.admin_role, "newadmin", true).await;
    let key = json!({"name": "reader", "permissions": ["users:read"]});
    let key = ok(server, Method::POST, &format!("/v1/accounts/{a}/api-keys"), &acme.token, key).await;
    let key = key["secret"].as_str().expect("secret").to_owned();
    let root_login = (
        acme.slug.clone(),
        format!("admin@{}.example.com", acme.slug),
        usher_e2e::TENANT_PASSWORD.to_owned(),
    );
    let other_login = (
        globex.slug.clone(),
        format!("admin@{}.example.com", globex.slug),
        usher_e2e::TENANT_PASSWORD.to_owned(),
    );
    let operator_login = ("default".to_owned(), "admin".to_owned(), usher_e2e::OPERATOR_PASSWORD.to_owned());
    let tokens = vec![
        (Who::Operator, Some(operator.clone())),
        (Who::RootAdmin, Some(acme.token.clone())),
        (Who::UserManager, Some(manager)),
        (Who::SubAdmin, Some(sub_admin)),
        (Who::Plain, Some(plain)),
        (Who::Key, Some(key)),
        (Who::OtherAdmin, Some(globex.token.clone())),
        (Who::Anonymous, None),
        (Who::MustChange, Some(must_change)),
    ];
    let logins = [
        (Who::Operator, operator_login),
        (Who::RootAdmin, root_login),
        (Who::UserManager, manager_login),
        (Who::SubAdmin, sub_login),
        (Who::Plain, plain_login),
        (Who::OtherAdmin, other_login),
        (Who::MustChange, change_login),
    ]
    .into_iter()
    .map(|(who, (account, username, password))| (who, account, username, password))
    .collect();
    World { operator, acme, globex, east, west, tokens, logins, imports: Default::default() }
}

impl World {
    fn tenant(&self, place: Place) -> &Tenant {
        if place == Place::Other { &self.globex } else { &self.acme }
    }
    fn account(&self, place: Place) -> String {
        match place {
            Place::Root | Place::Higher => self.acme.account.clone(),
            Place::Sub => self.east.clone(),
            Place::Sibling => self.west.clone(),
            Place::Other => self.globex.account.clone(),
        }
    }
    fn token(&self, who: Who) -> Option<String> {
        self.tokens.iter().find(|(w, _)| *w == who).and_then(|(_, token)| token.clone())
    }

    /// A fresh target of `target` at `place`, made by the operator: its id and, for a user,
    /// its device.
    async fn fresh(&self, server: &Server, target: Target, place: Place, n: u32) -> (String, String) {
        let tenant = self.tenant(place);
        let account = self.account(place);
        let op = &self.operator;
        match target {
            Target::Caller | Target::Public | Target::Account => (account, String::new()),
            Target::Session => {
                let (user, _) = Box::pin(self.fresh(server, Target::User, place, n)).await;
                ok(server, Method::POST, &format!("/v1/users/{user}/email-verified"), op, json!({})).await;
                server.login(&tenant.slug, &format!("target{n}"), "the target's passphrase").await;
                let sessions =
                    ok(server, Method::GET, &format!("/v1/users/{user}/sessions"), op, Value::Null).await;
                (id(&sessions["items"][0]), String::new())
            }
            Target::User => {
                let (user_type, role) = if place == Place::Higher {
                    (&tenant.admin_type, &tenant.admin_role)
                } else {
                    (&tenant.user_type, &tenant.user_role)
                };
                let body = json!({"username": format!("target{n}"), "email": format!("target{n}@example.com"), "user_type": user_type, "roles": [role]});
                let user =
                    id(&ok(server, Method::POST, &format!("/v1/accounts/{account}/users"), op, body).await);
                let password = json!({"password": "the target's passphrase"});
                ok(server, Method::PUT, &format!("/v1/users/{user}/password"), op, password).await;
                let device = json!({"name": "Till", "identifier": format!("target-till-{n}")});
                let device =
                    id(&ok(server, Method::POST, &format!("/v1/users/{user}/devices"), op, device).await);
                (user, device)
            }
            Target::Role => {
                let body = json!({"name": format!("Target role {n}"), "permissions": ["orders:read"]});
                (
                    id(&ok(server, Method::POST, &format!("/v1/accounts/{account}/roles"), op, body).await),
                    String::new(),
                )
            }
            Target::UserType => {
                let body = json!({"key": format!("target{n}"), "name": "Target", "consumes_seat": true, "ceiling": ["orders:read"]});
                (
                    id(&ok(server, Method::POST, &format!("/v1/accounts/{account}/user-types"), op, body)
                        .await),
                    String::new(),
                )
            }
            Target::Import => {
                let known = self.imports.lock().expect("imports").get(&place).cloned();
                if let Some(job) = known {
                    return (job, String::new());
                }
                let csv = format!("email,state\nimport-target{n}@example.com,disabled\n");
                let path = format!("/v1/accounts/{account}/imports?dry_run=true");
                let (status, job) = server.call_body(Method::POST, &path, Some(op), "text/csv", csv).await;
                assert!(status.is_success(), "setup POST {path}: {status} {job}");
                let job = id(&job);
                until("the import ends", || async {
                    let (_, found) = server.get(&format!("/v1/imports/{job}"), op).await;
                    found["job"]["finished_at"].is_string().then_some(())
                })
                .await;
                self.imports.lock().expect("imports").insert(place, job.clone());
                (job, String::new())
            }
            Target::Invitation | Target::Mail => {
                let body = json!({"emails": [format!("invitee{n}@example.com")], "user_type": tenant.user_type, "roles": [tenant.user_role]});
                let outcomes =
                    ok(server, Method::POST, &format!("/v1/accounts/{account}/invitations"), op, body).await;
                let invitation =
                    outcomes["items"][0]["invitation"]["id"].as_str().expect("invited").to_owned();
                if target == Target::Invitation {
                    return (invitation, String::new());
                }
                let mail =
                    ok(server, Method::GET, &format!("/v1/accounts/{account}/mail"), op, Value::Null).await;
                let newest = mail["items"].as_array().and_then(|items| items.last()).expect("a mail");
                (id(newest), String::new())
            }
            Target::Contact => {
                let body =
                    json!({"kind": "person", "first_name": "Carl", "last_name": format!("Contact {n}")});
                (
                    id(&ok(server, Method::POST, &format!("/v1/accounts/{account}/contacts"), op, body)
                        .await),
                    String::new(),
                )
            }
            Target::Webhook | Target::WebhookDelivery => {
                let body = json!({"url": format!("https://hooks.example.com/target-{n}")});
                let path = format!("/v1/accounts/{account}/webhooks");
                let webhook = id(&ok(server, Method::POST, &path, op, body).await["webhook"]);
                if target == Target::Webhook {
                    return (webhook, String::new());
                }
                let path = format!("/v1/webhooks/{webhook}/deliveries");
                let delivery = until("the webhook's first delivery", || async {
                    let (_, page) = server.call(Method::GET, &path, Some(op), None).await;
                    page["items"][0]["id"].as_str().map(str::to_owned)
                })
                .await;
                (webhook, delivery)
            }
            Target::ApiKey => {
                let body = json!({"name": format!("target {n}"), "permissions": ["orders:read"]});
                let key =
                    ok(server, Method::POST, &format!("/v1/accounts/{account}/api-keys"), op, body).await;
                (id(&key["api_key"]), String::new())
            }
        }
    }

    /// The newest audit event of both tenants (and the operator's): what a refusal must leave.
    async fn newest_events(&self, server: &Server) -> Vec<Value> {
        let mut newest = Vec::new();
        for account in [&self.acme.account, &self.globex.account] {
            let path = format!("/v1/accounts/{account}/audit-events?limit=1");
            let (_, page) = server.call(Method::GET, &path, Some(&self.operator), None).await;
            newest.push(page["items"][0]["id"].clone());
        }
        newest
    }
}

fn fill(template: &str, world: &World, place: Place, target: &(String, String), n: u32) -> String {
    let tenant = world.tenant(place);
    template
        .replace("{account}", &world.account(place))
        .replace("{id}", &target.0)
        .replace("{device}", &target.1)
        .replace("{delivery}", &target.1)
        .replace("{user_type}", &tenant.user_type)
        .replace("{user_role}", &tenant.user_role)
        .replace("{n}", &n.to_string())
}

fn matches(cell: char, status: StatusCode, answer: &Value) -> bool {
    match cell {
        'W' => status == StatusCode::FORBIDDEN && answer["code"] == "wrong_password",
        '3' => status == StatusCode::FORBIDDEN && answer["code"] != "wrong_password",
        'A' => status.is_success(),
        '4' => status == StatusCode::NOT_FOUND,
        '1' => status == StatusCode::UNAUTHORIZED,
        'C' => status == StatusCode::CONFLICT || status == StatusCode::UNPROCESSABLE_ENTITY,
        'P' => {
            !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) && !status.is_server_error()
        }
        _ => false,
    }
}

/// Runs every row; answers the cells that differ from the table.
async fn run(server: &Server) -> Vec<String> {
    let world = world(server).await;
    let mut n = 0u32;
    let mut differences = Vec::new();
    // An operation that only reads shares one target per place; one that changes gets a fresh
    // one per cell.
    let mut shared: std::collections::HashMap<(&'static str, Place), (String, String)> = Default::default();
    for row in rows() {
        let groups: Vec<&str> = row.cells.split(' ').collect();
        assert_eq!(groups.len(), WHO.len(), "{}: one group per kind of actor", row.operation);
        for (who, group) in WHO.iter().zip(&groups) {
            if *group == "-" {
                continue;
            }
            let places = row.target.places();
            assert_eq!(group.chars().count(), places.len(), "{} {who:?}: one cell per place", row.operation);
            for (place, cell) in places.iter().zip(group.chars()) {
                n += 1;
                let target = match shared.get(&(row.operation, *place)) {
                    Some(target) if row.method == Method::GET => target.clone(),
                    _ => {
                        let target = world.fresh(server, row.target, *place, n).await;
                        shared.insert((row.operation, *place), target.clone());
                        target
                    }
                };
                let path = fill(row.path, &world, *place, &target, n);
                // A body written `form:…` is sent form-encoded, `csv:…` as CSV, any other as JSON.
                let form = row.body.and_then(|body| body.strip_prefix("form:"));
                let csv = row
                    .body
                    .and_then(|body| body.strip_prefix("csv:"))
                    .map(|csv| fill(csv, &world, *place, &target, n));
                let body = row
                    .body
                    .filter(|_| form.is_none() && csv.is_none())
                    .map(|body| serde_json::from_str::<Value>(&fill(body, &world, *place, &target, n)))
                    .transpose()
                    .expect("the row's body is JSON");
                let token = match (row.operation, world.token(*who)) {
                    // Logging out ends a session: a fresh one of the same actor.
                    ("logout", Some(token)) => match world.logins.iter().find(|(w, ..)| w == who) {
                        Some((_, account, username, password)) => {
                            Some(server.login(account, username, password).await)
                        }
                        None => Some(token),
                    },
                    (_, token) => token,
                };
                let before = world.newest_events(server).await;
                let (status, answer) = match (form, csv) {
                    (Some(form), _) => server.call_form(&path, token.as_deref(), form).await,
                    (None, Some(csv)) => {
                        server.call_body(row.method.clone(), &path, token.as_deref(), "text/csv", csv).await
                    }
                    (None, None) => server.call(row.method.clone(), &path, token.as_deref(), body).await,
                };
                if !matches(cell, status, &answer) {
                    differences.push(format!(
                        "{} by {who:?} at {place:?}: expected {cell}, got {status} {answer}",
                        row.operation
                    ));
                } else if !status.is_success() && cell != 'P' && world.newest_events(server).await != before {
                    differences
                        .push(format!("{} by {who:?} at {place:?}: refused, yet audited", row.operation));
                }
            }
        }
    }
    differences.extend(console_cells(server, &world, n).await);
    differences
}

/// The console's screens (R16, R19, R24): the decisions of the use cases they call, seen
/// through a console session of each kind of actor. `A` a page (200), or after a post a
/// redirect to one; `3` 403; `4` 404; `C` 409 or 422; `1` a redirect to sign in (an API key cannot sign in,
/// and its token is no console cookie); `R` a redirect to the password page (R16).
#[rustfmt::skip] // A table: one screen a line.
fn console_rows() -> Vec<Row> {
    use Target as T;
    let row = |operation, target, method, path, cells| Row { operation, target, method, path, body: None, cells };
    vec![
        row("console_list_users", T::Caller, Method::GET, "/console/users", "A A A A 3 1 A 1 R"),
        row("console_get_user", T::User, Method::GET, "/console/users/{id}", "AAAAA AAAA4 AAAA4 3A334 33334 11111 4444A 11111 RRRRR"),
        row("console_edit_user_form", T::User, Method::GET, "/console/users/{id}/edit", "AAAAA AAAA4 AAAA4 3A334 33334 11111 4444A 11111 RRRRR"),
        row("console_disable_user", T::User, Method::POST, "/console/users/{id}/disable", "AAAAA AAAA4 AAA34 3A334 33334 11111 4444A 11111 RRRRR"),
        row("console_devices", T::User, Method::GET, "/console/users/{id}/devices", "AAAAA AAAA4 AAAA4 3A334 33334 11111 4444A 11111 RRRRR"),
        row("console_link_device", T::User, Method::POST, "/console/users/{id}/devices", "CCCCC CCCC4 CCC34 3C334 33334 11111 4444C 11111 RRRRR"),
        row("console_unlink_device", T::User, Method::POST, "/console/users/{id}/devices/{device}/unlink", "AAAAA AAAA4 AAA34 3A334 33334 11111 4444A 11111 RRRRR"),
        row("console_send_reset", T::User, Method::POST, "/console/users/{id}/send-reset", "AAAAA AAAA4 AAA34 3A334 33334 11111 4444A 11111 RRRRR"),
        row("console_list_contacts", T::Caller, Method::GET, "/console/contacts", "A A A A A 1 A 1 R"),
        row("console_audit_log", T::Caller, Method::GET, "/console/audit", "A A 3 A 3 1 A 1 R"),
        row("console_mail", T::Caller, Method::GET, "/console/mail", "A A 3 A 3 1 A 1 R"),
        row("console_retry_mail", T::Mail, Method::POST, "/console/mail/{id}/retry", "CCCC CCC4 3334 3C34 3334 1111 444C 1111 RRRR"),
        row("console_api_keys", T::Caller, Method::GET, "/console/api-keys", "A A 3 A 3 1 A 1 R"),
        row("console_revoke_api_key", T::ApiKey, Method::POST, "/console/api-keys/{id}/revoke", "AAAA AAA4 3334 3A34 3334 1111 444A 1111 RRRR"),
        row("console_settings", T::Caller, Method::GET, "/console/settings", "A A 3 A 3 1 A 1 R"),
        row("console_accounts", T::Caller, Method::GET, "/console/accounts", "A A 3 A 3 1 A 1 R"),
        row("console_account", T::Account, Method::GET, "/console/accounts/{account}", "AAAA AAA4 3334 3A34 3334 1111 444A 1111 RRRR"),
        row("console_update_account", T::Account, Method::POST, "/console/accounts/{account}", "CCCC CCC4 3334 3C34 3334 1111 444C 1111 RRRR"),
        row("console_list_roles", T::Caller, Method::GET, "/console/roles", "A A 3 A 3 1 A 1 R"),
        row("console_subscription", T::Caller, Method::GET, "/console/subscription", "A A 3 A 3 1 A 1 R"),
        row("console_set_subscription", T::Caller, Method::POST, "/console/subscription", "A 3 3 3 3 1 3 1 R"),
    ]
}

/// A console session of `who`: signed in with its credentials; an API key's token as the
/// cookie; none for the anonymous.
async fn console_visitor(server: &Server, world: &World, who: Who) -> Visitor {
    let mut visitor = Visitor::new(server);
    match world.logins.iter().find(|(w, ..)| *w == who) {
        Some((_, account, username, password)) => {
            let csrf = visitor.get("/console/sign-in").await.csrf();
            let fields = [
                ("csrf", csrf.as_str()),
                ("account", account),
                ("username", username),
                ("password", password),
            ];
            let page = visitor.post("/console/sign-in", &fields).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{who:?} signs in to the console: {}", page.body);
        }
        None => {
            if let Some(token) = world.token(who) {
                visitor.cookies.push(("usher_console".to_owned(), token));
            }
        }
    }
    visitor
}

fn console_matches(cell: char, page: &Page) -> bool {
    let location = page.location();
    let elsewhere = !location.starts_with("/console/sign-in") && location != "/console/password";
    match cell {
        'A' => page.status == StatusCode::OK || (page.status == StatusCode::SEE_OTHER && elsewhere),
        '3' => page.status == StatusCode::FORBIDDEN,
        '4' => page.status == StatusCode::NOT_FOUND,
        // Allowed, and then refused for what was posted (a form with no version is stale).
        'C' => [StatusCode::CONFLICT, StatusCode::UNPROCESSABLE_ENTITY, StatusCode::PRECONDITION_FAILED]
            .contains(&page.status),
        '1' => page.status == StatusCode::SEE_OTHER && location.starts_with("/console/sign-in"),
        'R' => page.status == StatusCode::SEE_OTHER && location == "/console/password",
        _ => false,
    }
}

/// Runs the console's rows; answers the cells that differ.
async fn console_cells(server: &Server, world: &World, mut n: u32) -> Vec<String> {
    let mut visitors = Vec::new();
    for who in WHO {
        visitors.push((who, console_visitor(server, world, who).await));
    }
    let mut differences = Vec::new();
    // A screen that only reads shares one target per place; one that changes gets a fresh one.
    let mut shared: std::collections::HashMap<(&'static str, Place), (String, String)> = Default::default();
    for row in console_rows() {
        let groups: Vec<&str> = row.cells.split(' ').collect();
        assert_eq!(groups.len(), WHO.len(), "{}: one group per kind of actor", row.operation);
        for ((who, visitor), group) in visitors.iter_mut().zip(&groups) {
            let places = row.target.places();
            assert_eq!(group.chars().count(), places.len(), "{} {who:?}: one cell per place", row.operation);
            for (place, cell) in places.iter().zip(group.chars()) {
                n += 1;
                let target = match shared.get(&(row.path, *place)) {
                    Some(target) if row.method == Method::GET => target.clone(),
                    _ => {
                        let target = world.fresh(server, row.target, *place, n).await;
                        shared.insert((row.path, *place), target.clone());
                        target
                    }
                };
                let path = fill(row.path, world, *place, &target, n);
                let before = world.newest_events(server).await;
                let page = if row.method == Method::POST {
                    let csrf = visitor.cookie("usher_csrf").unwrap_or_default();
                    visitor.post(&path, &[("csrf", csrf.as_str())]).await
                } else {
                    visitor.get(&path).await
                };
                if !console_matches(cell, &page) {
                    differences.push(format!(
                        "{} by {who:?} at {place:?}: expected {cell}, got {} {}",
                        row.operation,
                        page.status,
                        page.location()
                    ));
                } else if cell != 'A' && world.newest_events(server).await != before {
                    differences
                        .push(format!("{} by {who:?} at {place:?}: refused, yet audited", row.operation));
                }
            }
        }
    }
    differences
}

/// Ids sent in bodies are authorized like ids in paths: another tenant's user type, role,
/// sub-account, sales representative or settings default reads as not found (or as an
/// unknown reference), and changes nothing.
async fn body_ids(server: &Server, world: &World) -> Vec<String> {
    let acme = &world.acme;
    let globex = &world.globex;
    let foreigner = {
        let body = json!({"email": "foreigner@example.com", "user_type": globex.user_type, "roles": [globex.user_role]});
        id(&ok(server, Method::POST, &format!("/v1/accounts/{}/users", globex.account), &globex.token, body)
            .await)
    };
    let a = &acme.account;
    let new_user = |extra: Value| {
        let mut body =
            json!({"email": "body-ids@example.com", "user_type": acme.user_type, "roles": [acme.user_role]});
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
            body.extend(extra);
        }
        body
    };
    let cases = [
        (
            "user type",
            format!("/v1/accounts/{a}/users"),
            new_user(json!({"user_type": globex.user_type})),
            "4",
        ),
        ("role", format!("/v1/accounts/{a}/users"), new_user(json!({"roles": [globex.user_role]})), "4"),
        (
            "sub-account scope",
            format!("/v1/accounts/{a}/users"),
            new_user(json!({"sub_accounts": [globex.account]})),
            "4",
        ),
        (
            "sales representative",
            format!("/v1/accounts/{a}/users"),
            new_user(json!({"sales_representative": foreigner})),
            "4",
        ),
        (
            "invitation type",
            format!("/v1/accounts/{a}/invitations"),
            json!({"emails": ["x@example.com"], "user_type": globex.user_type, "roles": [acme.user_role]}),
            "4",
        ),
        (
            "default roles",
            format!("/v1/accounts/{a}/settings"),
            json!({"default_roles": [globex.user_role]}),
            "C",
        ),
        (
            "default user type",
            format!("/v1/accounts/{a}/settings"),
            json!({"default_user_type": globex.user_type}),
            "C",
        ),
        (
            "seat type",
            format!("/v1/accounts/{a}/subscription"),
            json!({"seats": [{"user_type": globex.user_type, "total": 5}]}),
            "4",
        ),
    ];
    let mut differences = Vec::new();
    for (what, path, body, cell) in cases {
        let method = if path.ends_with("/settings") {
            Method::PATCH
        } else if path.ends_with("/subscription") {
            Method::PUT
        } else {
            Method::POST
        };
        let token = if method == Method::PUT { &world.operator } else { &acme.token };
        let before = world.newest_events(server).await;
        let (status, answer) = server.call(method, &path, Some(token), Some(body)).await;
        let cell = cell.chars().next().unwrap_or('?');
        if !matches(cell, status, &answer) || world.newest_events(server).await != before {
            differences
                .push(format!("another tenant's {what} in a body: expected {cell}, got {status} {answer}"));
        }
    }
    differences
}

async fn every_operation_answers_as_the_table_says(
    server: usher_e2e::Server,
    db: usher_e2e::Db,
) -> usher_e2e::Db {
    // An operation of the spec without a row fails the test.
    let spec: Value = server.call(Method::GET, "/openapi.json", None, None).await.1;
    let in_spec: BTreeSet<String> = spec["paths"]
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|operations| operations.as_object().expect("operations").values())
        .filter_map(|operation| operation["operationId"].as_str().map(str::to_owned))
        .filter(|operation| !UNAUTHENTICATED_OPS.contains(&operation.as_str()))
        .collect();
    // SCIM's endpoints are not in the spec; their rows are named `scim_…`.
    let in_table: BTreeSet<String> =
        rows().iter().map(|row| row.operation.to_owned()).filter(|op| !op.starts_with("scim_")).collect();
    let missing: Vec<&String> = in_spec.difference(&in_table).collect();
    assert!(missing.is_empty(), "operations of the spec without a row in the matrix: {missing:?}");
    let stale: Vec<&String> = in_table.difference(&in_spec).collect();
    assert!(stale.is_empty(), "rows for operations the spec does not have: {stale:?}");

    let mut differences = run(&server).await;
    let world = world_again(&server).await;
    differences.extend(body_ids(&server, &world).await);
    assert!(differences.is_empty(), "{} cells differ:\n{}", differences.len(), differences.join("\n"));
    db
}

/// The world of a server whose tenants exist already (the body-id cases run after the matrix).
async fn world_again(server: &Server) -> World {
    let operator = server.operator().await;
    let login = |slug: &str| {
        let slug = slug.to_owned();
        async move {
            let token =
                server.login(&slug, &format!("admin@{slug}.example.com"), usher_e2e::TENANT_PASSWORD).await;
            let (_, accounts) = server.call(Method::GET, "/v1/me", Some(&token), None).await;
            let account = accounts["account_id"].as_str().expect("home account").to_owned();
            let (_, types) = server
                .call(Method::GET, &format!("/v1/accounts/{account}/user-types"), Some(&token), None)
                .await;
            let (_, roles) =
                server.call(Method::GET, &format!("/v1/accounts/{account}/roles"), Some(&token), None).await;
            let find = |list: &Value, field: &str, value: &str| {
                list["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .find(|item| item[field] == value)
                    .map(id)
                    .expect(value)
            };
            Tenant {
                slug: slug.clone(),
                account,
                token,
                user_type: find(&types, "key", "user"),
                admin_type: find(&types, "key", "admin"),
                member_type: find(&types, "key", "member"),
                user_role: find(&roles, "name", "user"),
                admin_role: find(&roles, "name", "admin"),
            }
        }
    };
    let acme = login("acme").await;
    let globex = login("globex").await;
    World {
        operator,
        acme,
        globex,
        east: String::new(),
        west: String::new(),
        tokens: Vec::new(),
        logins: Vec::new(),
        imports: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r19_r23_r24_the_authorization_matrix_covers_every_operation() {
    usher_e2e::on_sqlite(every_operation_answers_as_the_table_says).await;
}
