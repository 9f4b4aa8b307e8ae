//! Just-in-time users: an app that signs people in with an outside identity provider tells
//! usher who signed in, and gets the user back.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use time::OffsetDateTime;
use usher_domain::id::AccountId;
use usher_domain::service::identities::{self, IdentityClaims, IdentityOutcome, Provisioned};
use usher_domain::service::users::UserError;
use uuid::Uuid;

use crate::api::{Plain, Tag, etag};
use crate::auth::BearerAuth;
use crate::problem::problems;
use crate::state::AppState;
use crate::types::{EmailKind, NameKind, Text, UsernameKind};
use crate::views::{UserView, at};

problems! {
    /// Problems of just-in-time provisioning.
    IdentityProblems from [UserError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks `users:write` on the account, or the user outranks it.",
        404 NotFound "No such account in the caller's tenant, or no default user type.",
        409 Conflict "No seat is free, the email is another user's, or the identity may not be linked to it.",
        422 Unprocessable "A field is invalid (named in `field`).",
    }
}

/// What the identity provider says about the person who signed in (the ID token's claims).
#[derive(Object, Debug)]
pub(crate) struct IdentityClaimsBody {
    /// Email (`email`).
    email: Text<EmailKind>,
    /// Whether the provider verified the email (`email_verified`).
    #[oai(default)]
    email_verified: bool,
    /// First name (`given_name`); left as it is when absent.
    first_name: Option<Text<NameKind>>,
    /// Last name (`family_name`); left as it is when absent.
    last_name: Option<Text<NameKind>>,
    /// Username wanted at creation (`preferred_username`); generated from the account's format
    /// when absent or taken. Never renames a user.
    username: Option<Text<UsernameKind>>,
}

/// What the call did.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case", rename = "IdentityOutcome")]
pub(crate) enum IdentityOutcomeView {
    /// A new contact and user, from the settings' default type and roles.
    Created,
    /// The identity now names the user that already had its verified email.
    Linked,
    /// The user's name or email changed.
    Updated,
    /// Nothing changed; nothing was written.
    Unchanged,
}

/// An outside identity and the user it names.
#[derive(Object, Debug)]
#[oai(rename = "ExternalIdentity")]
pub(crate) struct IdentityView {
    /// The provider (`iss`).
    issuer: String,
    /// The user at the provider (`sub`).
    subject: String,
    /// When the identity was linked to the user.
    linked_at: OffsetDateTime,
    /// What this call did.
    outcome: IdentityOutcomeView,
    /// The user.
    user: UserView,
}

/// The identity's user, with its `ETag`.
#[derive(ApiResponse, Debug)]
pub(crate) enum IdentityResponse {
    /// The identity was new: its user was created.
    #[oai(status = 201)]
    Created(Json<IdentityView>, #[oai(header = "ETag")] String),
    /// The identity was known, or was linked to the user with its email.
    #[oai(status = 200)]
    Ok(Json<IdentityView>, #[oai(header = "ETag")] String),
}

impl From<Provisioned> for IdentityResponse {
    fn from(done: Provisioned) -> Self {
        let outcome = match done.outcome {
            IdentityOutcome::Created => IdentityOutcomeView::Created,
            IdentityOutcome::Linked => IdentityOutcomeView::Linked,
            IdentityOutcome::Updated => IdentityOutcomeView::Updated,
            IdentityOutcome::Unchanged => IdentityOutcomeView::Unchanged,
        };
        let tag = etag(done.user.version);
        let view = IdentityView {
            issuer: done.identity.issuer,
            subject: done.identity.subject,
            linked_at: at(done.identity.linked_at),
            outcome,
            user: UserView::from(&done.user),
        };
        match done.outcome {
            IdentityOutcome::Created => IdentityResponse::Created(Json(view), tag),
            _ => IdentityResponse::Ok(Json(view), tag),
        }
    }
}

/// Just-in-time users.
#[derive(Debug, Default)]
pub(crate) struct IdentitiesApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Users")]
impl IdentitiesApi {
    /// Sign in an outside identity
    ///
    /// Call after someone signs in to your app through an identity provider (Entra ID, Okta,
    /// Google), with an API key holding `users:write`. `issuer` and `subject` are the ID
    /// token's `iss` and `sub`, percent-encoded (an issuer URL's `/` is `%2F`).
    ///
    /// The first call for an identity creates a person contact and a user of the account with
    /// the settings' default user type and roles (201, a seat is taken as for any new user).
    /// Later calls bring the user's name and email up to date (200 `updated`), or change
    /// nothing (200 `unchanged`). When another user of the tenant has the email, the identity is
    /// linked to that user only if the provider verified the email and the settings'
    /// `link_identities_by_verified_email` is on (200 `linked`); otherwise 409
    /// `identity_not_linked`. Concurrent calls for one identity make one user.
    #[oai(
        path = "/accounts/:account_id/external-identities/:issuer/:subject",
        method = "put",
        operation_id = "sign_in_external_identity"
    )]
    async fn provision(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        /// The provider (`iss`), percent-encoded.
        issuer: Path<String>,
        /// The user at the provider (`sub`), percent-encoded.
        subject: Path<String>,
        body: Json<IdentityClaimsBody>,
    ) -> Result<IdentityResponse, IdentityProblems> {
        let body = body.0;
        let claims = IdentityClaims {
            email: body.email.plain(),
            email_verified: body.email_verified,
            first_name: body.first_name.plain(),
            last_name: body.last_name.plain(),
            username: body.username.plain(),
        };
        let account = AccountId::from_uuid(account_id.0);
        let done = identities::provision_identity(
            &state.ports,
            &auth.0.actor,
            account,
            &issuer.0,
            &subject.0,
            claims,
        )
        .await?;
        Ok(IdentityResponse::from(done))
    }
}
