//! Flows reached without logging in: the invitation link, self-registration, email
//! verification and password reset (R9, R11, R12, R13, R21).

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use time::OffsetDateTime;
use usher_domain::service::invitations::{self, AcceptError, Acceptance};
use usher_domain::service::public::{self, PublicError, Registration};
use usher_domain::value::PlainPassword;

use crate::api::{Done, Plain, Queued, Tag};
use crate::problem::problems;
use crate::state::AppState;
use crate::types::{EmailKind, NameKind, NewPasswordKind, SlugKind, Text, TokenKind, UsernameKind};
use crate::views::{UserView, at};
use poem::web::Data;

problems! {
    /// Problems of the public flows.
    PublicProblems from [AcceptError, PublicError] {
        400 BadRequest "The request could not be read.",
        404 NotFound "The link is not one of ours (`link_invalid`).",
        410 Gone "The link expired (`link_expired`) or was used (`link_used`).",
        403 Forbidden "Registration is not open for this account.",
        409 Conflict "The username is taken, or no seat is free.",
        422 Unprocessable "A field is invalid or the password is refused (R15).",
        429 TooManyRequests "Too many requests for this address or from this source (`too_many_requests`; see `retry_after`)." ["Retry-After"],
    }
}

/// What the invitation page shows before the invitee sets a password.
#[derive(Object, Debug)]
pub(crate) struct InvitationPreviewView {
    /// The invited address.
    email: String,
    /// The account the invitee joins.
    account_name: String,
    /// When the link stops working.
    expires_at: OffsetDateTime,
    /// Shortest password accepted.
    password_min_length: u16,
    /// Longest password accepted.
    password_max_length: u16,
    /// Whether the username must be an email (it is the invited address when omitted).
    usernames_must_be_emails: bool,
}

/// Accepting an invitation.
#[derive(Object, Debug)]
pub(crate) struct AcceptBody {
    /// The token from the invitation link.
    token: Text<TokenKind>,
    /// The password to set (R15).
    password: Text<NewPasswordKind>,
    /// First name.
    first_name: Option<Text<NameKind>>,
    /// Last name.
    last_name: Option<Text<NameKind>>,
    /// Username (the invited address when omitted).
    username: Option<Text<UsernameKind>>,
}

#[derive(ApiResponse, Debug)]
pub(crate) enum UserCreatedPublic {
    /// The user was created.
    #[oai(status = 201)]
    Created(Json<UserView>),
}

/// A self-registration.
#[derive(Object, Debug)]
pub(crate) struct RegistrationBody {
    /// Account slug.
    account: Text<SlugKind>,
    /// Email (it becomes the username, R12).
    email: Text<EmailKind>,
    /// Password (R15).
    password: Text<NewPasswordKind>,
    /// First name.
    first_name: Option<Text<NameKind>>,
    /// Last name.
    last_name: Option<Text<NameKind>>,
}

/// A link token.
#[derive(Object, Debug)]
pub(crate) struct TokenBody {
    /// The token from the link.
    token: Text<TokenKind>,
}

/// A password-reset request.
#[derive(Object, Debug)]
pub(crate) struct ResetRequestBody {
    /// Account slug.
    account: Text<SlugKind>,
    /// The user's email.
    email: Text<EmailKind>,
}

/// Completing a reset or set-password link.
#[derive(Object, Debug)]
pub(crate) struct ResetCompleteBody {
    /// The token from the link.
    token: Text<TokenKind>,
    /// The new password (R15).
    password: Text<NewPasswordKind>,
}

/// The public flows.
#[derive(Debug, Default)]
pub(crate) struct PublicApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Public")]
impl PublicApi {
    /// Look up an invitation link
    #[oai(path = "/invitations/lookup", method = "get", operation_id = "lookup_invitation")]
    async fn lookup(
        &self,
        state: Data<&AppState>,
        /// The token from the invitation link.
        token: Query<String>,
    ) -> Result<Json<InvitationPreviewView>, PublicProblems> {
        let preview = invitations::lookup(&state.ports, &token.0).await?;
        Ok(Json(InvitationPreviewView {
            email: preview.invitation.email.to_string(),
            account_name: preview.account_name,
            expires_at: at(preview.invitation.expires_at),
            password_min_length: preview.password_policy.min_length(),
            password_max_length: preview.password_policy.max_length(),
            usernames_must_be_emails: preview.usernames_must_be_emails,
        }))
    }

    /// Accept an invitation
    ///
    /// Sets the password and creates an active user with the invited type, roles and scope and
    /// a verified email (R11). Single use.
    #[oai(path = "/invitations/accept", method = "post", operation_id = "accept_invitation")]
    async fn accept(
        &self,
        state: Data<&AppState>,
        body: Json<AcceptBody>,
    ) -> Result<UserCreatedPublic, PublicProblems> {
        let body = body.0;
        let command = Acceptance {
            token: body.token.plain(),
            first_name: body.first_name.plain(),
            last_name: body.last_name.plain(),
            username: body.username.plain(),
            password: PlainPassword::new(body.password.0),
        };
        let user = invitations::accept(&state.ports, command).await?;
        Ok(UserCreatedPublic::Created(Json(UserView::from(&user))))
    }

    /// Register
    ///
    /// When the account allows self-registration: creates a member whose username is the
    /// email, with the default roles; a verification mail follows when required (R12).
    /// The answer is 202 whether or not the address has a user already; its owner is mailed
    /// that someone tried to register. Throttled per address and per source.
    #[oai(path = "/registrations", method = "post", operation_id = "register")]
    async fn register(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: Json<RegistrationBody>,
    ) -> Result<Queued, PublicProblems> {
        let body = body.0;
        let source = state.source_of(req);
        let command = Registration {
            account: body.account.plain(),
            email: body.email.plain(),
            password: PlainPassword::new(body.password.0),
            first_name: body.first_name.plain(),
            last_name: body.last_name.plain(),
        };
        public::register(&state.ports, source.as_deref(), command).await?;
        Ok(Queued::Accepted)
    }

    /// Verify an email
    #[oai(path = "/email-verifications", method = "post", operation_id = "verify_email")]
    async fn verify(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: Json<TokenBody>,
    ) -> Result<Done, PublicProblems> {
        let source = state.source_of(req);
        public::verify_email(&state.ports, source.as_deref(), body.0.token.as_str()).await?;
        Ok(Done::NoContent)
    }

    /// Request a password reset
    ///
    /// Always 202, whether or not the address exists (R21).
    #[oai(path = "/password-resets", method = "post", operation_id = "request_password_reset")]
    async fn request_reset(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: Json<ResetRequestBody>,
    ) -> Result<Queued, PublicProblems> {
        let source = state.source_of(req);
        public::request_password_reset(
            &state.ports,
            source.as_deref(),
            body.0.account.as_str(),
            body.0.email.as_str(),
        )
        .await?;
        Ok(Queued::Accepted)
    }

    /// Complete a password reset
    ///
    /// Sets the password from a reset or set-password link; every session ends (R21).
    #[oai(path = "/password-resets/complete", method = "post", operation_id = "complete_password_reset")]
    async fn complete_reset(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: Json<ResetCompleteBody>,
    ) -> Result<Done, PublicProblems> {
        let source = state.source_of(req);
        let password = PlainPassword::new(body.0.password.0);
        public::complete_password_link(&state.ports, source.as_deref(), body.0.token.as_str(), &password)
            .await?;
        Ok(Done::NoContent)
    }
}
