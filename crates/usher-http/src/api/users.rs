//! Users: list, create, read, edit, enable, disable, delete, erase, passwords, mails, devices
//! and order attribution.

use std::collections::BTreeMap;

use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use usher_domain::id::{AccountId, DeviceId, RoleId, UserId, UserTypeId};
use usher_domain::model::User;
use usher_domain::service::users::{
    self, NewUser, ProfileInput, UserAccess, UserError, UserFilter, UserPatch,
};
use usher_domain::value::PlainPassword;
use uuid::Uuid;

use crate::api::{Done, Plain, Queued, Tag, clearable, etag, id_set, if_match, page};
use crate::auth::BearerAuth;
use crate::problem::problems;
use crate::state::AppState;
use crate::types::{
    AttributeKind, CursorKind, Day, EmailKind, EtagKind, KeyKind, LocaleKind, NameKind, NewPasswordKind,
    ShortTextKind, Text, UrlKind, UsernameKind,
};
use crate::views::{
    AccessInAccountView, AddressView, AttributionView, DeviceList, DeviceView, UserList, UserStateView,
    UserView, next_cursor,
};
use poem::web::Data;

problems! {
    /// Problems of the user operations.
    UserProblems from [UserError] {
        400 BadRequest "The request could not be read (malformed JSON, a bad id or cursor).",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks the permission, the account is outside its reach, or it would grant what it lacks (R4, R19).",
        404 NotFound "No such user, account, user type or role in the caller's tenant.",
        409 Conflict "A rule refused the change: no seat (with the numbers), username or email taken, the user has history, …",
        412 PreconditionFailed "`If-Match` names another version.",
        422 Unprocessable "A field is invalid (named in `field`), a role is missing, or a role is above the type's ceiling.",
        429 TooManyRequests "Too many verification mails for this address (`too_many_requests`; see `retry_after`)." ["Retry-After"],
    }
}

/// A user with its `ETag`.
#[derive(ApiResponse, Debug)]
pub(crate) enum UserResponse {
    /// The user.
    #[oai(status = 200)]
    Ok(Json<UserView>, #[oai(header = "ETag")] String),
}

impl UserResponse {
    pub(crate) fn of(user: &User) -> UserResponse {
        UserResponse::Ok(Json(UserView::from(user)), etag(user.version))
    }

    /// The user with its effective permissions and accounts in scope.
    pub(crate) fn with_access(user: &User, access: &UserAccess) -> UserResponse {
        UserResponse::Ok(Json(UserView::with_access(user, access)), etag(user.version))
    }
}

/// A new user with its `ETag`.
#[derive(ApiResponse, Debug)]
pub(crate) enum UserCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<UserView>, #[oai(header = "ETag")] String),
}

impl UserCreated {
    pub(crate) fn of(user: &User) -> UserCreated {
        UserCreated::Created(Json(UserView::from(user)), etag(user.version))
    }
}

/// A user created by an administrator.
#[derive(Object, Debug)]
pub(crate) struct NewUserBody {
    /// Username; generated from the account's username format when omitted (R5).
    username: Option<Text<UsernameKind>>,
    /// Email.
    email: Text<EmailKind>,
    /// First name.
    first_name: Option<Text<NameKind>>,
    /// Last name.
    last_name: Option<Text<NameKind>>,
    /// Where notifications go.
    notification_email: Option<Text<EmailKind>>,
    /// Phone.
    phone: Option<Text<NameKind>>,
    /// Birthday.
    birthday: Option<Day>,
    /// Preferred locale (BCP 47).
    locale: Option<Text<LocaleKind>>,
    /// Image URL.
    image_url: Option<Text<UrlKind>>,
    /// Sales territories (at most 100).
    #[oai(validator(max_items = 100))]
    sales_territories: Option<Vec<Text<NameKind>>>,
    /// Free attributes (at most 50; keys like `cost_center`, values up to 1,000 characters).
    #[oai(validator(max_properties = 50))]
    attributes: Option<BTreeMap<String, Text<AttributeKind>>>,
    /// Postal addresses (at most 10; the first of a kind is its default).
    #[oai(validator(max_items = 10))]
    addresses: Option<Vec<AddressView>>,
    /// User type.
    user_type: Uuid,
    /// Roles (at least one unless `enabled` is false, R3).
    #[oai(default)]
    roles: Vec<Uuid>,
    /// Sub-accounts the user may act in; empty means the whole home subtree.
    #[oai(default)]
    sub_accounts: Vec<Uuid>,
    /// Create the user enabled (takes a seat, R1) or disabled.
    #[oai(default = "yes")]
    enabled: bool,
    /// Send a welcome mail with a set-password link (R16).
    #[oai(default)]
    send_welcome: bool,
    /// External ids, e.g. `erp_salesperson`, `pos_clerk`.
    #[oai(default)]
    external_ids: BTreeMap<String, Text<ShortTextKind>>,
    /// The user's sales representative.
    sales_representative: Option<Uuid>,
    /// Receives system messages.
    #[oai(default = "yes")]
    receive_system_messages: bool,
}

fn yes() -> bool {
    true
}

/// Changes to a user: an absent field stays as it is; `null` clears a profile field.
#[derive(Object, Debug)]
pub(crate) struct UserPatchBody {
    /// New username (R6: refused for registered members; needs `acknowledge_external_link`
    /// when the username matches an external id).
    username: Option<Text<UsernameKind>>,
    /// Consent to break the link between the username and an external id (audited).
    #[oai(default)]
    acknowledge_external_link: bool,
    /// New email (it becomes unverified).
    email: Option<Text<EmailKind>>,
    /// First name.
    first_name: MaybeUndefined<Text<NameKind>>,
    /// Last name.
    last_name: MaybeUndefined<Text<NameKind>>,
    /// Where notifications go.
    notification_email: MaybeUndefined<Text<EmailKind>>,
    /// Phone.
    phone: MaybeUndefined<Text<NameKind>>,
    /// Birthday (`null` leaves it as it is).
    birthday: MaybeUndefined<Day>,
    /// Preferred locale.
    locale: MaybeUndefined<Text<LocaleKind>>,
    /// Image URL.
    image_url: MaybeUndefined<Text<UrlKind>>,
    /// Sales territories (replaces the list; at most 100).
    #[oai(validator(max_items = 100))]
    sales_territories: Option<Vec<Text<NameKind>>>,
    /// Free attributes (replaces the map; at most 50, values up to 1,000 characters).
    #[oai(validator(max_properties = 50))]
    attributes: Option<BTreeMap<String, Text<AttributeKind>>>,
    /// Postal addresses (replaces the list; `[]` clears it; at most 10).
    #[oai(validator(max_items = 10))]
    addresses: Option<Vec<AddressView>>,
    /// User type (R1: a seat of the new type; R4: roles within its ceiling).
    user_type: Option<Uuid>,
    /// Roles (replaces the set).
    roles: Option<Vec<Uuid>>,
    /// Sub-account scope (replaces the set).
    sub_accounts: Option<Vec<Uuid>>,
    /// External ids (replaces the map).
    external_ids: Option<BTreeMap<String, Text<ShortTextKind>>>,
    /// Sales representative (`null` removes it).
    sales_representative: MaybeUndefined<Uuid>,
    /// Receives system messages.
    receive_system_messages: Option<bool>,
}

/// A password set by an administrator: the user must change it at the next login (R16).
#[derive(Object, Debug)]
pub(crate) struct PasswordBody {
    /// The password.
    password: Text<NewPasswordKind>,
}

/// A device to link.
#[derive(Object, Debug)]
pub(crate) struct NewDevice {
    /// Name.
    name: Text<NameKind>,
    /// Identifier, unique across users.
    identifier: Text<KeyKind>,
}

#[derive(ApiResponse, Debug)]
pub(crate) enum DeviceCreated {
    /// Linked.
    #[oai(status = 201)]
    Created(Json<DeviceView>),
}

fn user_id(id: Uuid) -> UserId {
    UserId::from_uuid(id)
}

/// The filters of the user list (and of its export), from their query parameters.
pub(crate) fn user_filter(
    state: Option<UserStateView>,
    q: Option<String>,
    user_type: Option<Uuid>,
    role: Option<Uuid>,
) -> UserFilter {
    UserFilter {
        state: state.map(Into::into),
        q,
        user_type: user_type.map(UserTypeId::from_uuid),
        role: role.map(RoleId::from_uuid),
    }
}

/// The user operations.
#[derive(Debug, Default)]
pub(crate) struct UsersApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Users")]
impl UsersApi {
    /// List users
    ///
    /// Users whose home account is in the account's subtree, by username. `q` matches the
    /// start of the username, email, first or last name (case-insensitive).
    #[oai(path = "/accounts/:account_id/users", method = "get", operation_id = "list_users")]
    #[allow(clippy::too_many_arguments, reason = "one argument per documented query parameter")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        /// Only users in this state.
        #[oai(name = "state")]
        state_filter: Query<Option<UserStateView>>,
        /// Prefix of username, email, first or last name.
        q: Query<Option<String>>,
        /// Only users of this type.
        user_type: Query<Option<Uuid>>,
        /// Only users with this role.
        role: Query<Option<Uuid>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<Text<CursorKind>>>,
        /// Page size.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u16>>,
    ) -> Result<Json<UserList>, UserProblems> {
        let page = page(cursor.0.as_ref().map(Text::as_str), limit.0)?;
        let filter = user_filter(state_filter.0, q.0, user_type.0, role.0);
        let found =
            users::list_users(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0), filter, page)
                .await?;
        Ok(Json(UserList {
            items: found.items.iter().map(UserView::from).collect(),
            next_cursor: next_cursor(found.next.as_ref()),
        }))
    }

    /// Create a user
    ///
    /// R1 (a free seat of a seat type), R3 (a role when enabled), R4 (roles within the type's
    /// ceiling and the caller's own permissions), R5 (username), R12 (not the member type).
    #[oai(path = "/accounts/:account_id/users", method = "post", operation_id = "create_user")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        body: Json<NewUserBody>,
    ) -> Result<UserCreated, UserProblems> {
        let body = body.0;
        let command = NewUser {
            username: body.username.plain(),
            email: body.email.plain(),
            profile: ProfileInput {
                first_name: body.first_name.plain(),
                last_name: body.last_name.plain(),
                notification_email: body.notification_email.plain(),
                phone: body.phone.plain(),
                birthday: body.birthday.map(|day| day.0),
                locale: body.locale.plain(),
                image_url: body.image_url.plain(),
                sales_territories: body.sales_territories.plain(),
                attributes: body.attributes.plain(),
                addresses: body.addresses.map(|list| list.into_iter().map(AddressView::into_input).collect()),
            },
            user_type: UserTypeId::from_uuid(body.user_type),
            roles: id_set(&body.roles, RoleId::from_uuid),
            scope: id_set(&body.sub_accounts, AccountId::from_uuid),
            enabled: body.enabled,
            send_welcome: body.send_welcome,
            external_ids: body.external_ids.plain(),
            external_id: None,
            sales_representative: body.sales_representative.map(UserId::from_uuid),
            receive_system_messages: body.receive_system_messages,
        };
        let user =
            users::create_user(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0), command)
                .await?;
        Ok(UserCreated::of(&user))
    }

    /// Read a user
    ///
    /// With its effective permissions and the accounts in its scope (R4, R19).
    #[oai(path = "/users/:id", method = "get", operation_id = "get_user")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<UserResponse, UserProblems> {
        let (user, access) = users::get_user_access(&state.ports, &auth.0.actor, user_id(id.0)).await?;
        Ok(UserResponse::with_access(&user, &access))
    }

    /// What a user may do in an account
    ///
    /// Whether `account` lies within the user's reach (R19), and the permissions it holds
    /// there (R4), so that an app asks instead of reimplementing the rules.
    #[oai(path = "/users/:id/permissions", method = "get", operation_id = "get_user_permissions")]
    async fn permissions(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// The account to ask about.
        account: Query<Uuid>,
    ) -> Result<Json<AccessInAccountView>, UserProblems> {
        let user = user_id(id.0);
        let access =
            users::access_in_account(&state.ports, &auth.0.actor, user, AccountId::from_uuid(account.0))
                .await?;
        Ok(Json(AccessInAccountView {
            user_id: id.0,
            account_id: account.0,
            within_reach: access.within_reach,
            permissions: access.permissions.iter().map(ToString::to_string).collect(),
        }))
    }

    /// Edit a user
    ///
    /// Send `If-Match` with the `ETag` read to refuse the change (412) when someone else
    /// changed the user in between.
    #[oai(path = "/users/:id", method = "patch", operation_id = "update_user")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<Text<EtagKind>>>,
        body: Json<UserPatchBody>,
    ) -> Result<UserResponse, UserProblems> {
        let body = body.0;
        let patch = UserPatch {
            username: body.username.plain(),
            acknowledge_external_link: body.acknowledge_external_link,
            email: body.email.plain(),
            profile: ProfileInput {
                first_name: clearable(&body.first_name),
                last_name: clearable(&body.last_name),
                notification_email: clearable(&body.notification_email),
                phone: clearable(&body.phone),
                birthday: body.birthday.take().map(|day| day.0),
                locale: clearable(&body.locale),
                image_url: clearable(&body.image_url),
                sales_territories: body.sales_territories.plain(),
                attributes: body.attributes.plain(),
                addresses: body.addresses.map(|list| list.into_iter().map(AddressView::into_input).collect()),
            },
            user_type: body.user_type.map(UserTypeId::from_uuid),
            roles: body.roles.map(|roles| id_set(&roles, RoleId::from_uuid)),
            scope: body.sub_accounts.map(|scope| id_set(&scope, AccountId::from_uuid)),
            external_ids: body.external_ids.plain(),
            external_id: None,
            sales_representative: match body.sales_representative {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(id) => Some(Some(UserId::from_uuid(id))),
            },
            receive_system_messages: body.receive_system_messages,
            if_version: if_match(if_match_header.0.as_ref().map(Text::as_str), "user")?,
        };
        let user = users::update_user(&state.ports, &auth.0.actor, user_id(id.0), patch).await?;
        Ok(UserResponse::of(&user))
    }

    /// Delete a user
    ///
    /// Only users without history (never logged in, nothing done); otherwise 409 with a hint
    /// to disable (R8).
    #[oai(path = "/users/:id", method = "delete", operation_id = "delete_user")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Done, UserProblems> {
        users::delete_user(&state.ports, &auth.0.actor, user_id(id.0)).await?;
        Ok(Done::NoContent)
    }

    /// Enable a user
    ///
    /// Needs a free seat of a seat type (R1) and a role (R3).
    #[oai(path = "/users/:id/enable", method = "post", operation_id = "enable_user")]
    async fn enable(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<UserResponse, UserProblems> {
        let user = users::enable_user(&state.ports, &auth.0.actor, user_id(id.0)).await?;
        Ok(UserResponse::of(&user))
    }

    /// Disable a user
    ///
    /// Always allowed; frees the seat and ends the user's sessions (R8).
    #[oai(path = "/users/:id/disable", method = "post", operation_id = "disable_user")]
    async fn disable(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<UserResponse, UserProblems> {
        let user = users::disable_user(&state.ports, &auth.0.actor, user_id(id.0)).await?;
        Ok(UserResponse::of(&user))
    }

    /// Erase a user
    ///
    /// Anonymises personal data, disables the user and ends its sessions; the audit chain stays
    /// (R8, R21).
    #[oai(path = "/users/:id/erase", method = "post", operation_id = "erase_user")]
    async fn erase(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<UserResponse, UserProblems> {
        let user = users::erase_user(&state.ports, &auth.0.actor, user_id(id.0)).await?;
        Ok(UserResponse::of(&user))
    }

    /// Set a user's password
    ///
    /// The user must change it at the next login; every session ends (R16, R21).
    #[oai(path = "/users/:id/password", method = "put", operation_id = "set_user_password")]
    async fn set_password(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<PasswordBody>,
    ) -> Result<UserResponse, UserProblems> {
        let password = PlainPassword::new(body.0.password.0);
        let user = users::set_password(&state.ports, &auth.0.actor, user_id(id.0), &password).await?;
        Ok(UserResponse::of(&user))
    }

    /// Send a password-reset mail
    ///
    /// A user without a password gets a set-password (welcome) link instead (R16).
    #[oai(path = "/users/:id/password-reset", method = "post", operation_id = "send_password_reset")]
    async fn password_reset(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Queued, UserProblems> {
        users::send_password_reset(&state.ports, &auth.0.actor, user_id(id.0)).await?;
        Ok(Queued::Accepted)
    }

    /// Re-send the verification mail
    ///
    /// Only while the email is unverified and the account requires verification (R9).
    #[oai(path = "/users/:id/verification-email", method = "post", operation_id = "send_verification_email")]
    async fn verification_email(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Queued, UserProblems> {
        users::send_verification_email(&state.ports, &auth.0.actor, user_id(id.0)).await?;
        Ok(Queued::Accepted)
    }

    /// Mark the email verified by hand
    ///
    /// Audited (R9).
    #[oai(path = "/users/:id/email-verified", method = "post", operation_id = "mark_email_verified")]
    async fn email_verified(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<UserResponse, UserProblems> {
        let user = users::mark_email_verified(&state.ports, &auth.0.actor, user_id(id.0)).await?;
        Ok(UserResponse::of(&user))
    }

    /// List a user's devices
    #[oai(path = "/users/:id/devices", method = "get", operation_id = "list_devices")]
    async fn devices(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Json<DeviceList>, UserProblems> {
        let devices = users::list_devices(&state.ports, &auth.0.actor, user_id(id.0)).await?;
        Ok(Json(DeviceList { items: devices.iter().map(DeviceView::from).collect(), next_cursor: None }))
    }

    /// Link a device
    ///
    /// Only once the user has a password (R18).
    #[oai(path = "/users/:id/devices", method = "post", operation_id = "link_device")]
    async fn link_device(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<NewDevice>,
    ) -> Result<DeviceCreated, UserProblems> {
        let device = users::link_device(
            &state.ports,
            &auth.0.actor,
            user_id(id.0),
            body.0.name.as_str(),
            body.0.identifier.as_str(),
        )
        .await?;
        Ok(DeviceCreated::Created(Json(DeviceView::from(&device))))
    }

    /// Unlink a device
    #[oai(path = "/users/:id/devices/:device_id", method = "delete", operation_id = "unlink_device")]
    async fn unlink_device(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        device_id: Path<Uuid>,
    ) -> Result<Done, UserProblems> {
        users::unlink_device(&state.ports, &auth.0.actor, user_id(id.0), DeviceId::from_uuid(device_id.0))
            .await?;
        Ok(Done::NoContent)
    }

    /// Where the user's orders are attributed
    ///
    /// The ERP salesperson id if the username matches one, else the POS clerk id, else the
    /// account's default clerk id (R7).
    #[oai(path = "/users/:id/attribution", method = "get", operation_id = "get_attribution")]
    async fn attribution(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Json<AttributionView>, UserProblems> {
        let attribution = users::order_attribution(&state.ports, &auth.0.actor, user_id(id.0)).await?;
        Ok(Json(attribution.into()))
    }
}
