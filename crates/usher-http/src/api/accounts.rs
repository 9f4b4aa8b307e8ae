//! Root accounts (operator), sub-accounts, and the settings of a root account.

use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use usher_domain::id::{AccountId, RoleId, UserId, UserTypeId};
use usher_domain::model::{Account, Settings};
use usher_domain::service::accounts::{self, AccountError, AccountPatch, NewRootAccount, SettingsPatch};
use usher_domain::value::PlainPassword;
use uuid::Uuid;

use crate::api::{Plain, Tag, etag, fingerprint_of, id_set, if_match};
use crate::auth::BearerAuth;
use crate::problem::problems;
use crate::state::AppState;
use crate::types::{
    EmailKind, EtagKind, NameKind, NewPasswordKind, ShortTextKind, SlugKind, Text, UsernameFormatKind,
    UsernameKind,
};
use crate::views::{AccountList, AccountStateView, AccountView, SettingsView, UserView};
use poem::web::Data;

problems! {
    /// Problems of the account and settings operations.
    AccountProblems from [AccountError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks the permission, or only the operator may do this.",
        404 NotFound "No such account in the caller's reach.",
        409 Conflict "The slug is taken, or settings were asked of a sub-account.",
        412 PreconditionFailed "`If-Match` names another version of the account or other settings.",
        422 Unprocessable "A field is invalid (named in `field`).",
    }
}

/// A new root account (a tenant) and its first administrator.
#[derive(Object, Debug)]
pub(crate) struct NewAccountBody {
    /// Slug, globally unique (used to log in).
    slug: Text<SlugKind>,
    /// Name.
    name: Text<NameKind>,
    /// Email of the first administrator.
    admin_email: Text<EmailKind>,
    /// Username of the first administrator (the email when omitted).
    admin_username: Option<Text<UsernameKind>>,
    /// Password of the first administrator; without one a welcome mail with a set-password
    /// link is sent.
    admin_password: Option<Text<NewPasswordKind>>,
    /// Seats of the built-in `admin` type (at least 1).
    #[oai(default = "one", validator(minimum(value = "1"), maximum(value = "10000000")))]
    admin_seats: u32,
    /// Seats of the built-in `user` type.
    #[oai(default, validator(maximum(value = "10000000")))]
    user_seats: u32,
}

fn one() -> u32 {
    1
}

/// A new root account and its first administrator.
#[derive(Object, Debug)]
pub(crate) struct CreatedAccount {
    /// The account.
    account: AccountView,
    /// Its first administrator.
    admin: UserView,
}

#[derive(ApiResponse, Debug)]
pub(crate) enum AccountCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<CreatedAccount>),
}

#[derive(ApiResponse, Debug)]
pub(crate) enum SubAccountCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<AccountView>),
}

/// Changes to an account.
#[derive(Object, Debug)]
pub(crate) struct AccountPatchBody {
    /// New name.
    name: Option<Text<NameKind>>,
    /// Suspend or reactivate (operator only).
    state: Option<AccountStateView>,
    /// The sales representative (a user of the tenant) its users and the accounts below it
    /// default to; `null` clears it.
    sales_representative: MaybeUndefined<Uuid>,
}

/// A new sub-account.
#[derive(Object, Debug)]
pub(crate) struct NewSubAccount {
    /// Slug, globally unique.
    slug: Text<SlugKind>,
    /// Name.
    name: Text<NameKind>,
}

/// Changes to settings; an absent field stays as it is.
#[derive(Object, Debug)]
pub(crate) struct SettingsPatchBody {
    /// Self-registration on or off.
    self_registration: Option<bool>,
    /// User type of self-registered members.
    member_user_type: Option<Uuid>,
    /// Users must verify their email before logging in.
    email_verification_required: Option<bool>,
    /// Usernames must be email addresses.
    usernames_must_be_emails: Option<bool>,
    /// Username format, e.g. `{first}.{last}`.
    username_format: Option<Text<UsernameFormatKind>>,
    /// User type of users created from contacts and imports.
    default_user_type: Option<Uuid>,
    /// Default roles.
    default_roles: Option<Vec<Uuid>>,
    /// Default clerk id (`null` clears it).
    default_clerk_id: MaybeUndefined<Text<ShortTextKind>>,
    /// Invitation lifetime (300 s to 365 days).
    invitation_lifetime_seconds: Option<i64>,
    /// Lifetime of verification, set-password and reset links.
    link_lifetime_seconds: Option<i64>,
    /// Session lifetime.
    session_lifetime_seconds: Option<i64>,
    /// How long a console session lives without a request (300 s to 365 days).
    console_idle_timeout_seconds: Option<i64>,
    /// Shortest password accepted (8 or more).
    password_min_length: Option<u16>,
    /// Longest password accepted (up to 128).
    password_max_length: Option<u16>,
    /// Let this account's administrators set its seat totals (the operator only).
    manages_own_seats: Option<bool>,
    /// Link a just-in-time sign-in to the user that already has its email, when the identity
    /// provider verified that email.
    link_identities_by_verified_email: Option<bool>,
}

/// Settings with their `ETag`.
#[derive(ApiResponse, Debug)]
pub(crate) enum SettingsResponse {
    /// The settings.
    #[oai(status = 200)]
    Ok(Json<SettingsView>, #[oai(header = "ETag")] String),
}

/// An account with its `ETag`.
#[derive(ApiResponse, Debug)]
pub(crate) enum AccountResponse {
    /// The account.
    #[oai(status = 200)]
    Ok(Json<AccountView>, #[oai(header = "ETag")] String),
}

impl AccountResponse {
    fn of(account: &Account) -> AccountResponse {
        AccountResponse::Ok(Json(AccountView::from(account)), etag(account.version))
    }
}

/// The `ETag` of settings: their fingerprint (settings carry no version).
fn settings_etag(settings: &Settings) -> String {
    format!("\"s{}\"", settings.fingerprint())
}

impl SettingsResponse {
    fn of(settings: &Settings) -> SettingsResponse {
        SettingsResponse::Ok(Json(SettingsView::from(settings)), settings_etag(settings))
    }
}

/// The account operations.
#[derive(Debug, Default)]
pub(crate) struct AccountsApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Accounts")]
impl AccountsApi {
    /// Create a root account
    ///
    /// Operator only. Creates the tenant with its built-in roles (`admin`, `user`), user types
    /// (`admin`, `user`, `member`), seats and settings, and its first administrator.
    #[oai(path = "/accounts", method = "post", operation_id = "create_account")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<NewAccountBody>,
    ) -> Result<AccountCreated, AccountProblems> {
        let body = body.0;
        let command = NewRootAccount {
            slug: body.slug.plain(),
            name: body.name.plain(),
            admin_email: body.admin_email.plain(),
            admin_username: body.admin_username.plain(),
            admin_password: body.admin_password.map(|p| PlainPassword::new(p.0)),
            admin_seats: body.admin_seats,
            user_seats: body.user_seats,
        };
        let created = accounts::create_root_account(&state.ports, &auth.0.actor, command).await?;
        Ok(AccountCreated::Created(Json(CreatedAccount {
            account: AccountView::from(&created.account),
            admin: UserView::from(&created.admin),
        })))
    }

    /// Read an account
    #[oai(path = "/accounts/:account_id", method = "get", operation_id = "get_account")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
    ) -> Result<AccountResponse, AccountProblems> {
        let account =
            accounts::get_account(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0)).await?;
        Ok(AccountResponse::of(&account))
    }

    /// Rename, suspend or reactivate an account
    ///
    /// Send `If-Match` with the `ETag` read to refuse the change (412) when the account changed
    /// in between.
    #[oai(path = "/accounts/:account_id", method = "patch", operation_id = "update_account")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<Text<EtagKind>>>,
        body: Json<AccountPatchBody>,
    ) -> Result<AccountResponse, AccountProblems> {
        let body = body.0;
        let patch = AccountPatch {
            name: body.name.plain(),
            state: body.state.map(Into::into),
            sales_representative: match body.sales_representative {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(id) => Some(Some(UserId::from_uuid(id))),
            },
            if_version: if_match(if_match_header.0.as_ref().map(Text::as_str), "account")?,
        };
        let account =
            accounts::update_account(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0), patch)
                .await?;
        Ok(AccountResponse::of(&account))
    }

    /// Create a sub-account
    #[oai(path = "/accounts/:account_id/sub-accounts", method = "post", operation_id = "create_sub_account")]
    async fn create_sub(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        body: Json<NewSubAccount>,
    ) -> Result<SubAccountCreated, AccountProblems> {
        let account = accounts::create_sub_account(
            &state.ports,
            &auth.0.actor,
            AccountId::from_uuid(account_id.0),
            body.0.slug.as_str(),
            body.0.name.as_str(),
        )
        .await?;
        Ok(SubAccountCreated::Created(Json(AccountView::from(&account))))
    }

    /// List the direct sub-accounts
    #[oai(path = "/accounts/:account_id/sub-accounts", method = "get", operation_id = "list_sub_accounts")]
    async fn list_sub(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
    ) -> Result<Json<AccountList>, AccountProblems> {
        let accounts =
            accounts::list_sub_accounts(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0))
                .await?;
        Ok(Json(AccountList { items: accounts.iter().map(AccountView::from).collect(), next_cursor: None }))
    }

    /// Read the settings
    ///
    /// The settings of the account's root (sub-accounts share them).
    #[oai(path = "/accounts/:account_id/settings", method = "get", operation_id = "get_settings")]
    async fn settings(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
    ) -> Result<SettingsResponse, AccountProblems> {
        let settings =
            accounts::get_settings(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0)).await?;
        Ok(SettingsResponse::of(&settings))
    }

    /// Change the settings
    ///
    /// Of a root account only. Send `If-Match` with the `ETag` read to refuse the change (412)
    /// when the settings changed in between.
    #[oai(path = "/accounts/:account_id/settings", method = "patch", operation_id = "update_settings")]
    async fn update_settings(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<Text<EtagKind>>>,
        body: Json<SettingsPatchBody>,
    ) -> Result<SettingsResponse, AccountProblems> {
        let account = AccountId::from_uuid(account_id.0);
        let actor = &auth.0.actor;
        let if_fingerprint = fingerprint_of(if_match_header.0.as_ref().map(Text::as_str));
        let body = body.0;
        let patch = SettingsPatch {
            self_registration: body.self_registration,
            member_user_type: body.member_user_type.map(UserTypeId::from_uuid),
            email_verification_required: body.email_verification_required,
            usernames_must_be_emails: body.usernames_must_be_emails,
            username_format: body.username_format.plain(),
            default_user_type: body.default_user_type.map(UserTypeId::from_uuid),
            default_roles: body.default_roles.map(|roles| id_set(&roles, RoleId::from_uuid)),
            default_clerk_id: crate::api::clearable(&body.default_clerk_id),
            invitation_lifetime_seconds: body.invitation_lifetime_seconds,
            link_lifetime_seconds: body.link_lifetime_seconds,
            session_lifetime_seconds: body.session_lifetime_seconds,
            console_idle_timeout_seconds: body.console_idle_timeout_seconds,
            password_min_length: body.password_min_length,
            password_max_length: body.password_max_length,
            manages_own_seats: body.manages_own_seats,
            link_identities_by_verified_email: body.link_identities_by_verified_email,
            if_fingerprint,
        };
        let settings = accounts::update_settings(&state.ports, actor, account, patch).await?;
        Ok(SettingsResponse::of(&settings))
    }
}
