//! Logging in and out, and the caller's own profile and password.

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use time::OffsetDateTime;
use usher_domain::service::sessions::{self, Credentials, LoginError};
use usher_domain::service::users::{self, ProfileInput};
use usher_domain::value::PlainPassword;

use crate::api::users::UserResponse;
use crate::api::{Done, Plain, Tag, clearable, if_match};
use crate::auth::BearerAuth;
use crate::problem::{Problem, problems};
use crate::state::AppState;
use crate::types::{
    Day, EmailKind, EtagKind, LocaleKind, NameKind, NewPasswordKind, PasswordKind, SlugKind, Text, UrlKind,
    UsernameKind,
};
use crate::views::{SessionList, SessionView, UserView, at};
use poem::web::Data;

/// A login attempt.
#[derive(Object, Debug)]
pub(crate) struct LoginBody {
    /// Account slug.
    account: Text<SlugKind>,
    /// Username.
    username: Text<UsernameKind>,
    /// Password.
    password: Text<PasswordKind>,
}

/// A new session.
#[derive(Object, Debug)]
pub(crate) struct Session {
    /// Send as `Authorization: Bearer <token>`; shown once.
    token: String,
    /// When the session ends.
    expires_at: OffsetDateTime,
    /// The user.
    user: UserView,
}

#[derive(ApiResponse, Debug)]
pub(crate) enum LoginResponse {
    /// Logged in.
    #[oai(status = 200)]
    Ok(Json<Session>),
}

/// Why a login failed: one answer for every reason (R14), or throttled.
#[derive(ApiResponse, Debug)]
pub(crate) enum LoginProblems {
    /// The request could not be read (answered by the framework; listed for the spec).
    #[oai(status = 400, content_type = "application/problem+json")]
    #[allow(dead_code, reason = "malformed bodies are answered before the handler runs")]
    BadRequest(Json<Problem>),
    /// Wrong account, username or password, or the user may not log in (one answer for all).
    #[oai(status = 401, content_type = "application/problem+json")]
    InvalidCredentials(Json<Problem>),
    /// Too many failures for this user or from this address.
    #[oai(status = 429, content_type = "application/problem+json")]
    Throttled(Json<Problem>, #[oai(header = "Retry-After")] u64),
    /// Any other problem.
    #[oai(content_type = "application/problem+json")]
    Other(StatusCode, Json<Problem>),
}

/// The one body of every failed login (R14).
fn invalid_credentials() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "the account, username or password is wrong, or this user may not log in",
    )
}

problems! {
    /// Problems of sessions: listing and ending them.
    SessionProblems from [usher_domain::service::sessions::SessionError] {
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "Not a user, outside the accounts you administer, the user holds more than you (R24), or the password must be changed first.",
        404 NotFound "No such session or user, or one of another tenant.",
        409 Conflict "The session was changed by another request at the same time (`concurrent_update`).",
        422 Unprocessable "A parameter is invalid (named in `field`).",
    }
}

problems! {
    /// Problems of the caller's own profile and password.
    SelfProblems from [usher_domain::service::users::UserError, usher_domain::service::sessions::ChangePasswordError, usher_domain::service::sessions::AuthError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "Not a user, the password must be changed first, or the current password is wrong.",
        404 NotFound "The caller's user is gone (deleted since the token was issued).",
        409 Conflict "The user was erased.",
        412 PreconditionFailed "`If-Match` names another version.",
        422 Unprocessable "A field is invalid, or the new password is refused by the policy (R15).",
        429 TooManyRequests "Too many wrong current passwords (R14); `Retry-After` says when to try again." ["Retry-After"],
    }
}

/// Changes to the caller's own profile: absent leaves a field, `null` clears it.
#[derive(Object, Debug, Default)]
pub(crate) struct ProfilePatch {
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
    /// Preferred locale (BCP 47).
    locale: MaybeUndefined<Text<LocaleKind>>,
    /// Image URL.
    image_url: MaybeUndefined<Text<UrlKind>>,
}

impl ProfilePatch {
    fn into_input(self) -> ProfileInput {
        ProfileInput {
            first_name: clearable(&self.first_name),
            last_name: clearable(&self.last_name),
            notification_email: clearable(&self.notification_email),
            phone: clearable(&self.phone),
            birthday: self.birthday.take().map(|day| day.0),
            locale: clearable(&self.locale),
            image_url: clearable(&self.image_url),
            sales_territories: None,
            attributes: None,
            addresses: None,
        }
    }
}

/// A change of the caller's own password.
#[derive(Object, Debug)]
pub(crate) struct PasswordChange {
    /// The password in use.
    current_password: Text<PasswordKind>,
    /// The new password (R15: 8–128 characters by default 12+, not a common one).
    new_password: Text<NewPasswordKind>,
}

/// Logging in and the caller's own account.
#[derive(Debug, Default)]
pub(crate) struct SessionApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Sessions")]
impl SessionApi {
    /// Log in
    ///
    /// Issues an opaque session token for `{account, username, password}`. Every failure gets
    /// the same 401 answer (R14); repeated failures per user or address get 429 with
    /// `Retry-After`.
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: Json<LoginBody>,
    ) -> Result<LoginResponse, LoginProblems> {
        let body = body.0;
        let source = state.source_of(req);
        let credentials = Credentials {
            account: body.account.plain(),
            username: body.username.plain(),
            password: PlainPassword::new(body.password.0),
        };
        match sessions::login(&state.ports, source.as_deref(), credentials).await {
            Ok(logged_in) => Ok(LoginResponse::Ok(Json(Session {
                token: logged_in.token.expose().to_owned(),
                expires_at: at(logged_in.expires_at),
                user: UserView::from(&logged_in.user),
            }))),
            Err(LoginError::InvalidCredentials) => {
                Err(LoginProblems::InvalidCredentials(Json(invalid_credentials())))
            }
            Err(LoginError::Throttled { retry_after }) => {
                let now = state.ports.clock.now();
                let micros = retry_after.unix_micros().saturating_sub(now.unix_micros()).max(0);
                let seconds = u64::try_from((micros + 999_999) / 1_000_000).unwrap_or(1).max(1);
                let problem = Problem {
                    retry_after: Some(seconds),
                    ..Problem::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too_many_attempts",
                        format!("too many failed logins; try again in {seconds} seconds"),
                    )
                };
                Err(LoginProblems::Throttled(Json(problem), seconds))
            }
            Err(LoginError::Repo(err)) => {
                let problem = Problem::from(err);
                Err(LoginProblems::Other(problem.status_code(), Json(problem)))
            }
        }
    }

    /// Log out
    ///
    /// Ends the session of the bearer token (nothing happens for an API key).
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, state: Data<&AppState>, auth: BearerAuth) -> Result<Done, SelfProblems> {
        sessions::logout(&state.ports, &auth.0.token).await?;
        Ok(Done::NoContent)
    }

    /// The caller
    ///
    /// With its effective permissions and the accounts in its scope (R4, R19).
    #[oai(path = "/me", method = "get", operation_id = "get_me")]
    async fn me(&self, state: Data<&AppState>, auth: BearerAuth) -> Result<UserResponse, SelfProblems> {
        let (user, access) = users::my_access(&state.ports, &auth.0.actor).await?;
        Ok(UserResponse::with_access(&user, &access))
    }

    /// Edit the caller's profile
    ///
    /// Personal data only; username, email, type and roles are changed by an administrator.
    #[oai(path = "/me", method = "patch", operation_id = "update_me")]
    async fn update_me(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(name = "If-Match")] if_match_header: Header<Option<Text<EtagKind>>>,
        body: Json<ProfilePatch>,
    ) -> Result<UserResponse, SelfProblems> {
        let version = if_match(if_match_header.0.as_ref().map(Text::as_str), "user")?;
        let input = body.0.into_input();
        let updated = users::update_own_profile(&state.ports, &auth.0.actor, input, version).await?;
        Ok(UserResponse::of(&updated))
    }

    /// The caller's sessions
    ///
    /// Every open session of the caller, newest first, with when and where it was opened and
    /// when it was last used; `current` marks the one of this request.
    #[oai(path = "/me/sessions", method = "get", operation_id = "list_my_sessions")]
    async fn my_sessions(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<SessionList>, SessionProblems> {
        let sessions = sessions::list_own_sessions(&state.ports, &auth.0.actor).await?;
        let items = sessions.iter().map(|s| SessionView::of(s, auth.0.actor.session)).collect();
        Ok(Json(SessionList { items, next_cursor: None }))
    }

    /// A user's sessions
    ///
    /// Every open session of a user the caller may read (`users:read`), newest first.
    #[oai(path = "/users/:id/sessions", method = "get", operation_id = "list_user_sessions")]
    async fn user_sessions(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: poem_openapi::param::Path<uuid::Uuid>,
    ) -> Result<Json<SessionList>, SessionProblems> {
        let user = usher_domain::id::UserId::from_uuid(id.0);
        let sessions = sessions::list_user_sessions(&state.ports, &auth.0.actor, user).await?;
        let items = sessions.iter().map(|s| SessionView::of(s, auth.0.actor.session)).collect();
        Ok(Json(SessionList { items, next_cursor: None }))
    }

    /// End a session
    ///
    /// Ends one session at once: the caller's own, or one of a user the caller may change
    /// (`users:write`, and the user holds nothing the caller lacks, R24). Audited.
    #[oai(path = "/sessions/:id", method = "delete", operation_id = "end_session")]
    async fn end_session(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: poem_openapi::param::Path<uuid::Uuid>,
    ) -> Result<Done, SessionProblems> {
        let session = usher_domain::id::SessionId::from_uuid(id.0);
        sessions::end_session(&state.ports, &auth.0.actor, session).await?;
        Ok(Done::NoContent)
    }

    /// Change the caller's password
    ///
    /// Ends every session of the user, this one included (R21): log in again with the new
    /// password. The only call besides logout a user who must change the password may make.
    #[oai(path = "/me/password", method = "put", operation_id = "change_my_password")]
    async fn change_password(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<PasswordChange>,
    ) -> Result<Done, SelfProblems> {
        let current = PlainPassword::new(body.0.current_password.0);
        let new = PlainPassword::new(body.0.new_password.0);
        sessions::change_own_password(&state.ports, &auth.0.actor, &current, &new).await?;
        Ok(Done::NoContent)
    }
}
