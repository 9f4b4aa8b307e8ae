//! Contacts and users created from them (R17).

use poem_openapi::param::Header;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use usher_domain::id::{AccountId, ContactId};
use usher_domain::model::Contact;
use usher_domain::service::contacts::{self, ContactPatch, FromContact, NewContact};
use usher_domain::service::users::UserError;
use uuid::Uuid;

use crate::api::users::UserCreated;
use crate::api::{Done, Plain, Tag, clearable, etag, if_match, page};
use crate::auth::BearerAuth;
use crate::problem::problems;
use crate::state::AppState;
use crate::types::{CursorKind, EmailKind, EtagKind, NameKind, Text, UsernameKind};
use crate::views::{ContactKindView, ContactList, ContactView, next_cursor};
use poem::web::Data;

problems! {
    /// Problems of the contact operations.
    ContactProblems from [UserError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks the permission.",
        404 NotFound "No such account or contact in the caller's tenant.",
        409 Conflict "The contact already has a user, no seat is free, or the username or email is taken.",
        412 PreconditionFailed "`If-Match` names another version.",
        422 Unprocessable "A field is invalid (named in `field`).",
    }
}

/// A new contact.
#[derive(Object, Debug)]
pub(crate) struct NewContactBody {
    /// Person or organization.
    kind: ContactKindView,
    /// First name.
    first_name: Option<Text<NameKind>>,
    /// Last name, or the organization's name.
    last_name: Text<NameKind>,
    /// Email.
    email: Option<Text<EmailKind>>,
    /// Phone.
    phone: Option<Text<NameKind>>,
}

#[derive(ApiResponse, Debug)]
pub(crate) enum ContactCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<ContactView>, #[oai(header = "ETag")] String),
}

/// A contact with its `ETag`.
#[derive(ApiResponse, Debug)]
pub(crate) enum ContactResponse {
    /// The contact.
    #[oai(status = 200)]
    Ok(Json<ContactView>, #[oai(header = "ETag")] String),
}

impl From<&Contact> for ContactResponse {
    fn from(contact: &Contact) -> Self {
        ContactResponse::Ok(Json(ContactView::from(contact)), etag(contact.version))
    }
}

/// Changes to a contact; `null` clears a field (not the last name).
#[derive(Object, Debug)]
pub(crate) struct ContactPatchBody {
    /// First name.
    first_name: MaybeUndefined<Text<NameKind>>,
    /// Last name, or the organization's name.
    last_name: Option<Text<NameKind>>,
    /// Email.
    email: MaybeUndefined<Text<EmailKind>>,
    /// Phone.
    phone: MaybeUndefined<Text<NameKind>>,
}

/// What the administrator adds when creating a user from a contact.
#[derive(Object, Debug, Default)]
pub(crate) struct FromContactBody {
    /// Username (generated from the format when omitted).
    username: Option<Text<UsernameKind>>,
    /// Email: required for an organization or a person without one.
    email: Option<Text<EmailKind>>,
    /// First name: required with `last_name` for an organization.
    first_name: Option<Text<NameKind>>,
    /// Last name.
    last_name: Option<Text<NameKind>>,
    /// Send a welcome mail with a set-password link.
    #[oai(default)]
    send_welcome: bool,
}

/// The contact operations.
#[derive(Debug, Default)]
pub(crate) struct ContactsApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Contacts")]
impl ContactsApi {
    /// List contacts
    #[oai(path = "/accounts/:account_id/contacts", method = "get", operation_id = "list_contacts")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<Text<CursorKind>>>,
        /// Only contacts whose first name, last name or email starts with this (ignoring case;
        /// on SQLite, only for ASCII letters).
        q: Query<Option<Text<NameKind>>>,
        /// Page size.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u16>>,
    ) -> Result<Json<ContactList>, ContactProblems> {
        let page = page(cursor.0.as_ref().map(Text::as_str), limit.0)?;
        let account = AccountId::from_uuid(account_id.0);
        let search = q.0.as_ref().map(Text::as_str);
        let found = contacts::list_contacts(&state.ports, &auth.0.actor, account, search, page).await?;
        Ok(Json(ContactList {
            items: found.items.iter().map(ContactView::from).collect(),
            next_cursor: next_cursor(found.next.as_ref()),
        }))
    }

    /// Create a contact
    #[oai(path = "/accounts/:account_id/contacts", method = "post", operation_id = "create_contact")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        body: Json<NewContactBody>,
    ) -> Result<ContactCreated, ContactProblems> {
        let body = body.0;
        let command = NewContact {
            kind: body.kind.into(),
            first_name: body.first_name.plain(),
            last_name: Some(body.last_name.plain()),
            email: body.email.plain(),
            phone: body.phone.plain(),
        };
        let contact = contacts::create_contact(
            &state.ports,
            &auth.0.actor,
            AccountId::from_uuid(account_id.0),
            command,
        )
        .await?;
        Ok(ContactCreated::Created(Json(ContactView::from(&contact)), etag(contact.version)))
    }

    /// Get a contact
    #[oai(path = "/contacts/:id", method = "get", operation_id = "get_contact")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<ContactResponse, ContactProblems> {
        let contact = contacts::get_contact(&state.ports, &auth.0.actor, ContactId::from_uuid(id.0)).await?;
        Ok(ContactResponse::from(&contact))
    }

    /// Edit a contact
    ///
    /// Send `If-Match` with the `ETag` read to refuse the change (412) when someone else
    /// changed the contact meanwhile. A user made from the contact keeps its own data.
    #[oai(path = "/contacts/:id", method = "patch", operation_id = "update_contact")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<Text<EtagKind>>>,
        body: Json<ContactPatchBody>,
    ) -> Result<ContactResponse, ContactProblems> {
        let expected = if_match(if_match_header.0.as_ref().map(Text::as_str), "contact")?;
        let patch = ContactPatch {
            first_name: clearable(&body.0.first_name),
            last_name: body.0.last_name.plain(),
            email: clearable(&body.0.email),
            phone: clearable(&body.0.phone),
        };
        let contact = contacts::update_contact(
            &state.ports,
            &auth.0.actor,
            ContactId::from_uuid(id.0),
            patch,
            expected,
        )
        .await?;
        Ok(ContactResponse::from(&contact))
    }

    /// Delete a contact
    ///
    /// Refused (409 `contact_has_user`) once a user was made from it: the link records where
    /// the user came from.
    #[oai(path = "/contacts/:id", method = "delete", operation_id = "delete_contact")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Done, ContactProblems> {
        contacts::delete_contact(&state.ports, &auth.0.actor, ContactId::from_uuid(id.0)).await?;
        Ok(Done::NoContent)
    }

    /// Create a user from a contact
    ///
    /// Name and email come from the contact; type, roles and seat from the settings' defaults
    /// (R17). An organization needs an explicit email and name.
    #[oai(path = "/contacts/:id/user", method = "post", operation_id = "create_user_from_contact")]
    async fn create_user(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<FromContactBody>,
    ) -> Result<UserCreated, ContactProblems> {
        let body = body.0;
        let command = FromContact {
            username: body.username.plain(),
            email: body.email.plain(),
            first_name: body.first_name.plain(),
            last_name: body.last_name.plain(),
            send_welcome: body.send_welcome,
        };
        let user = contacts::create_user_from_contact(
            &state.ports,
            &auth.0.actor,
            ContactId::from_uuid(id.0),
            command,
        )
        .await?;
        Ok(UserCreated::of(&user))
    }
}
