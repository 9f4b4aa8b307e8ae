//! User types, the subscription (seats per type), roles and the permission catalog.

use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use usher_domain::id::{AccountId, RoleId, UserTypeId};
use usher_domain::model::{Role, SeatUsage, UserType, seat_totals_fingerprint};
use usher_domain::service::catalog::{self, NewUserType, RoleError, RolePatch, SeatError, UserTypePatch};
use usher_domain::value::Access;
use uuid::Uuid;

use crate::api::{Done, Plain, Tag, etag, fingerprint_of, if_match, permissions};
use crate::auth::BearerAuth;
use crate::problem::problems;
use crate::state::AppState;
use crate::types::{EtagKind, KeyKind, NameKind, PermissionKind, Text};
use crate::views::{
    PermissionList, PermissionView, RoleList, RoleView, SeatLine, Subscription, UserTypeList, UserTypeView,
};
use poem::web::Data;

problems! {
    /// Problems of the user type, seat and role operations.
    CatalogProblems from [SeatError, RoleError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks the permission, or would grant permissions it lacks (R4).",
        404 NotFound "No such account, user type or role in the caller's tenant.",
        409 Conflict "Key or name taken, seats below what is used and reserved (R2), a built-in or still assigned role (R22).",
        412 PreconditionFailed "`If-Match` names another version.",
        422 Unprocessable "A field is invalid (named in `field`).",
    }
}

/// A new user type.
#[derive(Object, Debug)]
pub(crate) struct NewUserTypeBody {
    /// Key, unique in the root account (e.g. `sales`).
    key: Text<KeyKind>,
    /// Name.
    name: Text<NameKind>,
    /// Whether users of this type take a license seat.
    consumes_seat: bool,
    /// The permissions users of this type may ever be granted.
    #[oai(default)]
    ceiling: Vec<Text<PermissionKind>>,
}

/// Changes to a user type.
#[derive(Object, Debug)]
pub(crate) struct UserTypePatchBody {
    /// New name.
    name: Option<Text<NameKind>>,
    /// New ceiling (replaces the set).
    ceiling: Option<Vec<Text<PermissionKind>>>,
}

#[derive(ApiResponse, Debug)]
pub(crate) enum UserTypeCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<UserTypeView>),
}

/// The seats of one user type.
#[derive(Object, Debug)]
pub(crate) struct SeatTotal {
    /// User type id.
    user_type: Uuid,
    /// Seats bought (not below used + reserved, R2).
    total: i64,
}

/// New seat totals.
#[derive(Object, Debug)]
pub(crate) struct SubscriptionBody {
    /// One entry per user type to change.
    seats: Vec<SeatTotal>,
}

/// A new role.
#[derive(Object, Debug)]
pub(crate) struct NewRoleBody {
    /// Name, unique in the root account.
    name: Text<NameKind>,
    /// Permissions, e.g. `users:write` (only ones the caller holds, R4).
    #[oai(default)]
    permissions: Vec<Text<PermissionKind>>,
}

/// Changes to a role.
#[derive(Object, Debug)]
pub(crate) struct RolePatchBody {
    /// New name.
    name: Option<Text<NameKind>>,
    /// New permissions (replaces the set).
    permissions: Option<Vec<Text<PermissionKind>>>,
}

/// A role with its `ETag`.
#[derive(ApiResponse, Debug)]
pub(crate) enum RoleResponse {
    /// The role.
    #[oai(status = 200)]
    Ok(Json<RoleView>, #[oai(header = "ETag")] String),
}

impl RoleResponse {
    fn of(role: &Role) -> RoleResponse {
        RoleResponse::Ok(Json(RoleView::from(role)), etag(role.version))
    }
}

#[derive(ApiResponse, Debug)]
pub(crate) enum RoleCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<RoleView>, #[oai(header = "ETag")] String),
}

/// A user type with its `ETag`.
#[derive(ApiResponse, Debug)]
pub(crate) enum UserTypeResponse {
    /// The user type.
    #[oai(status = 200)]
    Ok(Json<UserTypeView>, #[oai(header = "ETag")] String),
}

/// The subscription with its `ETag`: the fingerprint of the seat totals.
#[derive(ApiResponse, Debug)]
pub(crate) enum SubscriptionResponse {
    /// The seat figures.
    #[oai(status = 200)]
    Ok(Json<Subscription>, #[oai(header = "ETag")] String),
}

impl SubscriptionResponse {
    fn of(figures: &[(UserType, SeatUsage)]) -> SubscriptionResponse {
        let totals = figures.iter().map(|(user_type, usage)| (user_type.id, usage.total));
        SubscriptionResponse::Ok(
            Json(subscription(figures)),
            format!("\"s{}\"", seat_totals_fingerprint(totals)),
        )
    }
}

fn subscription(figures: &[(UserType, SeatUsage)]) -> Subscription {
    Subscription {
        items: figures.iter().map(|(user_type, usage)| SeatLine::new(user_type, usage)).collect(),
        next_cursor: None,
    }
}

/// The catalog operations.
#[derive(Debug, Default)]
pub(crate) struct CatalogApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Catalog")]
impl CatalogApi {
    /// List user types
    #[oai(path = "/accounts/:account_id/user-types", method = "get", operation_id = "list_user_types")]
    async fn list_user_types(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
    ) -> Result<Json<UserTypeList>, CatalogProblems> {
        let types =
            catalog::list_user_types(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0)).await?;
        Ok(Json(UserTypeList { items: types.iter().map(UserTypeView::from).collect(), next_cursor: None }))
    }

    /// Create a user type
    ///
    /// Its ceiling holds only permissions the caller holds (R4). A seat type starts with 0 seats.
    #[oai(path = "/accounts/:account_id/user-types", method = "post", operation_id = "create_user_type")]
    async fn create_user_type(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        body: Json<NewUserTypeBody>,
    ) -> Result<UserTypeCreated, CatalogProblems> {
        let body = body.0;
        let command = NewUserType {
            ceiling: permissions("ceiling", &body.ceiling)?,
            key: body.key.plain(),
            name: body.name.plain(),
            consumes_seat: body.consumes_seat,
        };
        let created = catalog::create_user_type(
            &state.ports,
            &auth.0.actor,
            AccountId::from_uuid(account_id.0),
            command,
        )
        .await?;
        Ok(UserTypeCreated::Created(Json(UserTypeView::from(&created))))
    }

    /// Change a user type
    ///
    /// Send `If-Match: "v<version>"` (the `version` a list shows) to refuse the change (412)
    /// when the user type changed in between.
    #[oai(path = "/user-types/:id", method = "patch", operation_id = "update_user_type")]
    async fn update_user_type(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<Text<EtagKind>>>,
        body: Json<UserTypePatchBody>,
    ) -> Result<UserTypeResponse, CatalogProblems> {
        let body = body.0;
        let ceiling = match &body.ceiling {
            Some(raw) => Some(permissions("ceiling", raw)?),
            None => None,
        };
        let patch = UserTypePatch {
            name: body.name.plain(),
            ceiling,
            if_version: if_match(if_match_header.0.as_ref().map(Text::as_str), "user type")?,
        };
        let updated =
            catalog::update_user_type(&state.ports, &auth.0.actor, UserTypeId::from_uuid(id.0), patch)
                .await?;
        Ok(UserTypeResponse::Ok(Json(UserTypeView::from(&updated)), etag(updated.version)))
    }

    /// Read the subscription
    ///
    /// Per user type: seats bought, used by enabled users, reserved by pending invitations, free.
    #[oai(path = "/accounts/:account_id/subscription", method = "get", operation_id = "get_subscription")]
    async fn get_subscription(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
    ) -> Result<SubscriptionResponse, CatalogProblems> {
        let figures =
            catalog::get_subscription(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0))
                .await?;
        Ok(SubscriptionResponse::of(&figures))
    }

    /// Change seat totals
    ///
    /// A total below what is used and reserved is refused with the numbers (R2). Send
    /// `If-Match` with the `ETag` read to refuse the change (412) when a total changed in
    /// between; the `ETag` names the totals only, so users coming and going never make it stale.
    #[oai(path = "/accounts/:account_id/subscription", method = "put", operation_id = "set_subscription")]
    async fn set_subscription(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<Text<EtagKind>>>,
        body: Json<SubscriptionBody>,
    ) -> Result<SubscriptionResponse, CatalogProblems> {
        let totals =
            body.0.seats.iter().map(|line| (UserTypeId::from_uuid(line.user_type), line.total)).collect();
        let if_fingerprint = fingerprint_of(if_match_header.0.as_ref().map(Text::as_str));
        let figures = catalog::set_subscription(
            &state.ports,
            &auth.0.actor,
            AccountId::from_uuid(account_id.0),
            totals,
            if_fingerprint,
        )
        .await?;
        Ok(SubscriptionResponse::of(&figures))
    }

    /// The permission catalog
    ///
    /// Every `module:access` permission roles, user-type ceilings and API keys may hold.
    #[oai(path = "/permissions", method = "get", operation_id = "list_permissions")]
    async fn list_permissions(&self, auth: BearerAuth) -> Result<Json<PermissionList>, CatalogProblems> {
        let items = usher_domain::service::catalog::permission_catalog(&auth.0.actor)?
            .into_iter()
            .map(|permission| PermissionView {
                name: permission.to_string(),
                module: permission.module().as_str().to_owned(),
                access: match permission.access() {
                    Access::Read => "read".to_owned(),
                    Access::Write => "write".to_owned(),
                },
            })
            .collect();
        Ok(Json(PermissionList { items, next_cursor: None }))
    }

    /// List roles
    #[oai(path = "/accounts/:account_id/roles", method = "get", operation_id = "list_roles")]
    async fn list_roles(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
    ) -> Result<Json<RoleList>, CatalogProblems> {
        let roles =
            catalog::list_roles(&state.ports, &auth.0.actor, AccountId::from_uuid(account_id.0)).await?;
        Ok(Json(RoleList { items: roles.iter().map(RoleView::from).collect(), next_cursor: None }))
    }

    /// Create a role
    ///
    /// Only with permissions the caller holds (R4).
    #[oai(path = "/accounts/:account_id/roles", method = "post", operation_id = "create_role")]
    async fn create_role(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        body: Json<NewRoleBody>,
    ) -> Result<RoleCreated, CatalogProblems> {
        let granted = permissions("permissions", &body.0.permissions)?;
        let role = catalog::create_role(
            &state.ports,
            &auth.0.actor,
            AccountId::from_uuid(account_id.0),
            body.0.name.as_str(),
            granted,
        )
        .await?;
        Ok(RoleCreated::Created(Json(RoleView::from(&role)), etag(role.version)))
    }

    /// Read a role
    #[oai(path = "/roles/:id", method = "get", operation_id = "get_role")]
    async fn get_role(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<RoleResponse, CatalogProblems> {
        let role = catalog::get_role(&state.ports, &auth.0.actor, RoleId::from_uuid(id.0)).await?;
        Ok(RoleResponse::of(&role))
    }

    /// Change a role
    ///
    /// Built-in roles keep their permissions (R22). Send `If-Match` to refuse the change (412)
    /// when the role changed in between.
    #[oai(path = "/roles/:id", method = "patch", operation_id = "update_role")]
    async fn update_role(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<Text<EtagKind>>>,
        body: Json<RolePatchBody>,
    ) -> Result<RoleResponse, CatalogProblems> {
        let body = body.0;
        let granted = match &body.permissions {
            Some(raw) => Some(permissions("permissions", raw)?),
            None => None,
        };
        let patch = RolePatch {
            name: body.name.plain(),
            permissions: granted,
            external_id: None,
            if_version: if_match(if_match_header.0.as_ref().map(Text::as_str), "role")?,
        };
        let role = catalog::update_role(&state.ports, &auth.0.actor, RoleId::from_uuid(id.0), patch).await?;
        Ok(RoleResponse::of(&role))
    }

    /// Delete a role
    ///
    /// A role still held by users or invitations needs a `replacement`, which takes its place
    /// (R22). Built-in roles cannot be deleted.
    #[oai(path = "/roles/:id", method = "delete", operation_id = "delete_role")]
    async fn delete_role(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// The role that replaces this one wherever it is held.
        replacement: Query<Option<Uuid>>,
    ) -> Result<Done, CatalogProblems> {
        let replacement = replacement.0.map(RoleId::from_uuid);
        catalog::delete_role(&state.ports, &auth.0.actor, RoleId::from_uuid(id.0), replacement).await?;
        Ok(Done::NoContent)
    }
}
