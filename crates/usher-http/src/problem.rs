//! RFC 9457 problem details: every error the API answers is `application/problem+json` with a
//! stable machine `code` and, where they matter, the numbers behind it (seats used, reserved
//! and total; the version expected and found; when to retry).
//!
//! Each area of the API has its own response enum (see `problems!`) listing the statuses its
//! use cases can answer; all of them convert from [`Problem`].

use poem::http::StatusCode;
use poem_openapi::Object;
use usher_domain::authz::{Denied, GrantDenied};
use usher_domain::error::{Invalid, RepoError};
use usher_domain::password::PasswordRejected;
use usher_domain::service::access_tokens::AccessTokenError;
use usher_domain::service::accounts::AccountError;
use usher_domain::service::audit::AuditError;
use usher_domain::service::catalog::RoleError;
use usher_domain::service::catalog::SeatError;
use usher_domain::service::events::EventError;
use usher_domain::service::integrations::ApiKeyError;
use usher_domain::service::introspection::IntrospectionError;
use usher_domain::service::invitations::{AcceptError, InviteError, LinkProblem};
use usher_domain::service::mail::OutboxError;
use usher_domain::service::public::PublicError;
use usher_domain::service::sessions::{AuthError, ChangePasswordError};
use usher_domain::service::transfer::ImportError;
use usher_domain::service::users::UserError;
use usher_domain::service::webhooks::WebhookError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem. `code` is stable and meant for programs; `detail` is for people.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
#[oai(skip_serializing_if_is_none)]
pub struct Problem {
    /// A URI naming the problem type (`tag:usher,2026:problem:<code>`).
    #[oai(rename = "type")]
    pub kind: String,
    /// The HTTP status phrase.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for people.
    pub detail: String,
    /// What went wrong, for programs (e.g. `no_seat_available`, `version_mismatch`).
    pub code: String,
    /// The request field at fault.
    pub field: Option<String>,
    /// The kind of object concerned (`user`, `role`, …).
    pub entity: Option<String>,
    /// Permissions the caller lacks or would grant beyond a ceiling.
    pub permissions: Option<Vec<String>>,
    /// The user type whose seats are concerned.
    pub user_type: Option<String>,
    /// Seats used by enabled users.
    pub used: Option<u32>,
    /// Seats reserved by pending invitations.
    pub reserved: Option<u32>,
    /// Seats bought.
    pub total: Option<u32>,
    /// The seat total asked for.
    pub requested: Option<u32>,
    /// The version the request expected.
    pub expected_version: Option<u64>,
    /// The version the object is at.
    pub current_version: Option<u64>,
    /// Users and invitations still holding a role.
    pub assignments: Option<u64>,
    /// A limit that was crossed (length, count).
    pub limit: Option<u64>,
    /// The value received against `limit`.
    pub actual: Option<u64>,
    /// Seconds to wait before trying again.
    pub retry_after: Option<u64>,
    /// What to do instead.
    pub hint: Option<String>,
}

impl Problem {
    /// A problem with `status`, `code` and `detail`; the other members are empty.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("tag:usher,2026:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            field: None,
            entity: None,
            permissions: None,
            user_type: None,
            used: None,
            reserved: None,
            total: None,
            requested: None,
            expected_version: None,
            current_version: None,
            assignments: None,
            limit: None,
            actual: None,
            retry_after: None,
            hint: None,
        }
    }

    /// The status as a [`StatusCode`].
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 404 for an object that is missing or belongs to another tenant (indistinguishable).
    pub fn not_found(entity: &str) -> Problem {
        Problem {
            entity: Some(entity.to_owned()),
            ..Problem::new(StatusCode::NOT_FOUND, "not_found", format!("{entity} not found"))
        }
    }

    /// 400 for a request that could not be read (malformed JSON, a bad parameter).
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    /// 401 for a missing, unknown or expired bearer token.
    pub fn unauthenticated() -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", "a valid bearer token is required")
    }

    /// 412 when `If-Match` names another version.
    pub fn version_mismatch(entity: &str, expected: Option<u64>, current: Option<u64>) -> Problem {
        Problem {
            entity: Some(entity.to_owned()),
            expected_version: expected,
            current_version: current,
            ..Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "version_mismatch",
                format!("the {entity} was changed since the version named in If-Match; read it again"),
            )
        }
    }

    /// 500 for a failure the caller cannot act on; the cause is logged, never answered.
    pub fn internal(error: &dyn std::error::Error) -> Problem {
        tracing::error!(error = %error, "request failed");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed; it was logged")
    }

    pub(crate) fn with_field(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }

    fn with_entity(mut self, entity: &str) -> Problem {
        self.entity = Some(entity.to_owned());
        self
    }

    fn with_permissions(mut self, permissions: &[usher_domain::value::Permission]) -> Problem {
        self.permissions = Some(permissions.iter().map(ToString::to_string).collect());
        self
    }

    fn conflict(code: &str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::CONFLICT, code, detail)
    }

    fn unprocessable(code: &str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }
}

impl From<Denied> for Problem {
    fn from(denied: Denied) -> Problem {
        let detail = denied.to_string();
        match denied {
            Denied::OtherTenant => Problem::not_found("account"),
            Denied::OutsideScope => Problem::new(StatusCode::FORBIDDEN, "outside_scope", detail),
            Denied::MissingPermission { permission } => {
                Problem::new(StatusCode::FORBIDDEN, "missing_permission", detail)
                    .with_permissions(&[permission])
            }
            Denied::OperatorOnly => Problem::new(StatusCode::FORBIDDEN, "operator_only", detail),
            Denied::Unauthenticated => Problem::unauthenticated(),
            Denied::RootLevel => Problem {
                hint: Some("an administrator of the root account can make this change".to_owned()),
                ..Problem::new(StatusCode::FORBIDDEN, "root_level", detail)
            },
            Denied::SeatsBelongToOperator => Problem {
                hint: Some(
                    "ask the operator to change the seats, or to set manages_own_seats in this account's settings"
                        .to_owned(),
                ),
                ..Problem::new(StatusCode::FORBIDDEN, "seats_belong_to_operator", detail)
            },
            Denied::TargetHoldsMore { permissions } => {
                Problem::new(StatusCode::FORBIDDEN, "target_holds_more", detail).with_permissions(&permissions)
            }
            Denied::PasswordChangeRequired => Problem {
                hint: Some("PUT /v1/me/password with the current and a new password".to_owned()),
                ..Problem::new(StatusCode::FORBIDDEN, "password_change_required", detail)
            },
            Denied::SessionRequired => Problem::new(StatusCode::FORBIDDEN, "session_required", detail),
        }
    }
}

impl From<Invalid> for Problem {
    fn from(invalid: Invalid) -> Problem {
        let mut problem =
            Problem::unprocessable("invalid_field", invalid.to_string()).with_field(&invalid.field);
        if let usher_domain::value::ValueError::TooLong { max, actual }
        | usher_domain::value::ValueError::TooMany { max, actual } = invalid.error
        {
            problem.limit = u64::try_from(max).ok();
            problem.actual = u64::try_from(actual).ok();
        }
        problem
    }
}

impl From<RepoError> for Problem {
    fn from(err: RepoError) -> Problem {
        match err {
            RepoError::NotFound { entity } => Problem::not_found(entity),
            RepoError::Duplicate { entity, field } => {
                Problem::conflict("duplicate", err.to_string()).with_entity(entity).with_field(field)
            }
            RepoError::Stale { entity } => Problem::conflict(
                "concurrent_update",
                format!("the {entity} was changed by another request at the same time; try again"),
            )
            .with_entity(entity),
            other => Problem::internal(&other),
        }
    }
}

impl From<PasswordRejected> for Problem {
    fn from(rejected: PasswordRejected) -> Problem {
        let mut problem =
            Problem::unprocessable("password_rejected", rejected.to_string()).with_field("password");
        match rejected {
            PasswordRejected::TooShort { min, actual } => {
                problem.limit = Some(u64::from(min));
                problem.actual = u64::try_from(actual).ok();
            }
            PasswordRejected::TooLong { max, actual } => {
                problem.limit = Some(u64::from(max));
                problem.actual = u64::try_from(actual).ok();
            }
            PasswordRejected::Common | PasswordRejected::SameAsIdentifier => {}
        }
        problem
    }
}

impl From<GrantDenied> for Problem {
    fn from(denied: GrantDenied) -> Problem {
        let detail = denied.to_string();
        match denied {
            GrantDenied::AboveCeiling { permissions, .. } => Problem::unprocessable("above_ceiling", detail)
                .with_field("roles")
                .with_permissions(&permissions),
            GrantDenied::Escalation { permissions, .. } => {
                Problem::new(StatusCode::FORBIDDEN, "escalation", detail).with_permissions(&permissions)
            }
            GrantDenied::OtherTenant { .. } => Problem::not_found("role"),
        }
    }
}

impl From<LinkProblem> for Problem {
    fn from(problem: LinkProblem) -> Problem {
        let (status, code) = match problem {
            LinkProblem::Unknown => (StatusCode::NOT_FOUND, "link_invalid"),
            LinkProblem::Expired => (StatusCode::GONE, "link_expired"),
            LinkProblem::Used => (StatusCode::GONE, "link_used"),
        };
        Problem::new(status, code, problem.to_string()).with_field("token")
    }
}

fn no_seat(err: &usher_domain::rules::NoSeatAvailable) -> Problem {
    Problem {
        user_type: Some(err.user_type.clone()),
        used: Some(err.used),
        reserved: Some(err.reserved),
        total: Some(err.total),
        hint: Some("free a seat (disable a user or revoke an invitation) or buy more seats".to_owned()),
        ..Problem::conflict("no_seat_available", err.to_string())
    }
}

/// 429 with the seconds to wait (sent as `Retry-After` too).
fn throttled(seconds: u64, detail: String) -> Problem {
    Problem {
        retry_after: Some(seconds.max(1)),
        ..Problem::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", detail)
    }
}

fn escalation(permissions: &[usher_domain::value::Permission], detail: String) -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "escalation", detail).with_permissions(permissions)
}

impl From<UserError> for Problem {
    fn from(err: UserError) -> Problem {
        let detail = err.to_string();
        match err {
            UserError::NotFound { entity } => Problem::not_found(entity),
            UserError::Denied(denied) => denied.into(),
            UserError::Invalid(invalid) => invalid.into(),
            UserError::NoSeatAvailable(e) => no_seat(&e),
            UserError::RoleRequired(_) => Problem::unprocessable("role_required", detail).with_field("roles"),
            UserError::Grant(denied) => denied.into(),
            UserError::UsernameTaken { .. } => {
                Problem::conflict("username_taken", detail).with_field("username")
            }
            UserError::UsernameMustBeEmail => {
                Problem::unprocessable("username_must_be_email", detail).with_field("username")
            }
            UserError::EmailTaken { .. } => Problem::conflict("email_taken", detail).with_field("email"),
            UserError::ExternalIdTaken { .. } => {
                Problem::conflict("external_id_taken", detail).with_field("external_id")
            }
            UserError::Rename(refused) => {
                let code = match refused {
                    usher_domain::rules::RenameRefused::RegisteredMember => "rename_refused",
                    usher_domain::rules::RenameRefused::ExternalLink { .. } => "rename_needs_acknowledgement",
                };
                Problem {
                    hint: Some("set acknowledge_external_link to rename anyway".to_owned())
                        .filter(|_| code == "rename_needs_acknowledgement"),
                    ..Problem::conflict(code, detail).with_field("username")
                }
            }
            UserError::HasHistory(_) => Problem {
                hint: Some(
                    "disable the user instead (POST /v1/users/{id}/disable), or erase it for privacy"
                        .to_owned(),
                ),
                ..Problem::conflict("user_has_history", detail)
            },
            UserError::MemberTypeReserved => {
                Problem::unprocessable("member_type_reserved", detail).with_field("user_type")
            }
            UserError::AlreadyVerified => Problem::conflict("already_verified", detail),
            UserError::VerificationNotRequired => Problem::conflict("verification_not_required", detail),
            UserError::Password(rejected) => rejected.into(),
            UserError::NoPasswordYet => Problem::conflict("no_password_yet", detail),
            UserError::DeviceTaken { .. } => {
                Problem::conflict("device_taken", detail).with_field("identifier")
            }
            UserError::ContactHasUser => Problem::conflict("contact_has_user", detail),
            UserError::Erased => Problem::conflict("user_erased", detail),
            UserError::IdentityNotLinked { .. } => {
                Problem::conflict("identity_not_linked", detail).with_field("email")
            }
            UserError::OwnUser { .. } => Problem {
                hint: Some(
                    "another administrator can do this; change your own password with PUT /v1/me/password"
                        .to_owned(),
                ),
                ..Problem::conflict("own_user", detail)
            },
            UserError::VersionMismatch { expected, actual } => {
                Problem::version_mismatch("user", Some(expected), Some(actual))
            }
            UserError::Throttled { seconds } => throttled(seconds, detail),
            UserError::NotAUser => Problem::new(StatusCode::FORBIDDEN, "not_a_user", detail),
            UserError::Repo(err) => err.into(),
        }
    }
}

impl From<AccountError> for Problem {
    fn from(err: AccountError) -> Problem {
        let detail = err.to_string();
        match err {
            AccountError::NotFound { entity } => Problem::not_found(entity),
            AccountError::Denied(denied) => denied.into(),
            AccountError::Invalid(invalid) => invalid.into(),
            AccountError::SlugTaken { .. } => Problem::conflict("slug_taken", detail).with_field("slug"),
            AccountError::Password(rejected) => {
                Problem { field: Some("admin_password".to_owned()), ..rejected.into() }
            }
            AccountError::UnknownReference { field, entity } => {
                Problem::unprocessable("unknown_reference", detail).with_field(field).with_entity(entity)
            }
            AccountError::OwnAccount => Problem::conflict("own_account", detail),
            AccountError::VersionMismatch { expected, actual } => {
                Problem::version_mismatch("account", Some(expected), Some(actual))
            }
            AccountError::SettingsChanged { .. } => {
                Problem { detail, ..Problem::version_mismatch("settings", None, None) }
            }
            AccountError::NotARoot => Problem {
                hint: Some("change the settings of the root account; sub-accounts share them".to_owned()),
                ..Problem::conflict("not_a_root_account", detail)
            },
            AccountError::Repo(err) => err.into(),
        }
    }
}

impl From<ImportError> for Problem {
    fn from(err: ImportError) -> Problem {
        let detail = err.to_string();
        match err {
            ImportError::NotFound { entity } => Problem::not_found(entity),
            ImportError::Denied(denied) => denied.into(),
            ImportError::Invalid(invalid) => invalid.into(),
            ImportError::Header(_) => Problem::unprocessable("invalid_header", detail),
            ImportError::Finished { .. } => Problem::conflict("import_finished", detail),
            ImportError::NotReceiving { .. } => Problem::conflict("import_sealed", detail),
            ImportError::Repo(err) => err.into(),
        }
    }
}

/// A refused import row as the problem the API answers for the same error, without what only
/// a response has (`type`, `title`, `status`): `code`, `detail`, `field` and the numbers.
pub fn describe_refusal(error: UserError) -> serde_json::Value {
    use poem_openapi::types::ToJSON;
    let mut value = Problem::from(error).to_json().unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        for member in ["type", "title", "status"] {
            object.remove(member);
        }
    }
    value
}

impl From<SeatError> for Problem {
    fn from(err: SeatError) -> Problem {
        let detail = err.to_string();
        match err {
            SeatError::NotFound { entity } => Problem::not_found(entity),
            SeatError::Denied(denied) => denied.into(),
            SeatError::Invalid(invalid) => invalid.into(),
            SeatError::KeyTaken { .. } => Problem::conflict("key_taken", detail).with_field("key"),
            SeatError::Escalation { permissions } => escalation(&permissions, detail),
            SeatError::BelowUsage(e) => Problem {
                user_type: Some(e.user_type.clone()),
                requested: Some(e.requested),
                used: Some(e.used),
                reserved: Some(e.reserved),
                ..Problem::conflict("seats_below_usage", detail)
            },
            SeatError::VersionMismatch { expected, actual } => {
                Problem::version_mismatch("user type", Some(expected), Some(actual))
            }
            SeatError::SubscriptionChanged { .. } => {
                Problem { detail, ..Problem::version_mismatch("subscription", None, None) }
            }
            SeatError::Repo(err) => err.into(),
        }
    }
}

impl From<RoleError> for Problem {
    fn from(err: RoleError) -> Problem {
        let detail = err.to_string();
        match err {
            RoleError::NotFound { entity } => Problem::not_found(entity),
            RoleError::Denied(denied) => denied.into(),
            RoleError::Invalid(invalid) => invalid.into(),
            RoleError::NameTaken { .. } => Problem::conflict("name_taken", detail).with_field("name"),
            RoleError::Escalation { permissions } => escalation(&permissions, detail),
            RoleError::Builtin { .. } => Problem::conflict("builtin_role", detail),
            RoleError::StillAssigned { assignments, .. } => Problem {
                assignments: Some(assignments),
                hint: Some("name a replacement role: DELETE /v1/roles/{id}?replacement=<role id>".to_owned()),
                ..Problem::conflict("role_still_assigned", detail)
            },
            RoleError::VersionMismatch { expected, actual } => {
                Problem::version_mismatch("role", Some(expected), Some(actual))
            }
            RoleError::Repo(err) => err.into(),
        }
    }
}

impl From<InviteError> for Problem {
    fn from(err: InviteError) -> Problem {
        let detail = err.to_string();
        match err {
            InviteError::NotFound { entity } => Problem::not_found(entity),
            InviteError::Denied(denied) => denied.into(),
            InviteError::Invalid(invalid) => invalid.into(),
            InviteError::RoleRequired(_) => {
                Problem::unprocessable("role_required", detail).with_field("roles")
            }
            InviteError::Grant(denied) => denied.into(),
            InviteError::NoSeatAvailable(e) => no_seat(&e),
            InviteError::TooMany { max, actual } => Problem {
                limit: u64::try_from(max).ok(),
                actual: u64::try_from(actual).ok(),
                ..Problem::unprocessable("too_many_addresses", detail).with_field("emails")
            },
            InviteError::NotPending { .. } => Problem::conflict("invitation_not_pending", detail),
            InviteError::MemberTypeReserved => {
                Problem::unprocessable("member_type_reserved", detail).with_field("user_type")
            }
            InviteError::Repo(err) => err.into(),
        }
    }
}

impl From<AcceptError> for Problem {
    fn from(err: AcceptError) -> Problem {
        let detail = err.to_string();
        match err {
            AcceptError::Link(link) => link.into(),
            AcceptError::Invalid(invalid) => invalid.into(),
            AcceptError::Password(rejected) => rejected.into(),
            AcceptError::UsernameTaken { .. } => {
                Problem::conflict("username_taken", detail).with_field("username")
            }
            AcceptError::ExistingUser => Problem::conflict("existing_user", detail),
            AcceptError::NoSeatAvailable(e) => no_seat(&e),
            AcceptError::Repo(err) => err.into(),
        }
    }
}

impl From<PublicError> for Problem {
    fn from(err: PublicError) -> Problem {
        let detail = err.to_string();
        match err {
            PublicError::RegistrationClosed => {
                Problem::new(StatusCode::FORBIDDEN, "registration_closed", detail)
            }
            PublicError::Invalid(invalid) => invalid.into(),
            PublicError::Password(rejected) => rejected.into(),
            PublicError::NoSeatAvailable(e) => no_seat(&e),
            PublicError::Link(link) => link.into(),
            PublicError::Throttled { seconds } => throttled(seconds, detail),
            PublicError::Repo(err) => err.into(),
        }
    }
}

impl From<ApiKeyError> for Problem {
    fn from(err: ApiKeyError) -> Problem {
        let detail = err.to_string();
        match err {
            ApiKeyError::NotFound { entity } => Problem::not_found(entity),
            ApiKeyError::Denied(denied) => denied.into(),
            ApiKeyError::Invalid(invalid) => invalid.into(),
            ApiKeyError::Escalation { permissions } => escalation(&permissions, detail),
            ApiKeyError::Repo(err) => err.into(),
        }
    }
}

impl From<AuditError> for Problem {
    fn from(err: AuditError) -> Problem {
        match err {
            AuditError::NotFound { entity } => Problem::not_found(entity),
            AuditError::Denied(denied) => denied.into(),
            AuditError::Invalid(invalid) => invalid.into(),
            AuditError::Repo(err) => err.into(),
        }
    }
}

impl From<EventError> for Problem {
    fn from(err: EventError) -> Problem {
        match err {
            EventError::NotFound { entity } => Problem::not_found(entity),
            EventError::Denied(denied) => denied.into(),
            EventError::Invalid(invalid) => invalid.into(),
            EventError::Repo(err) => err.into(),
        }
    }
}

impl From<IntrospectionError> for Problem {
    fn from(err: IntrospectionError) -> Problem {
        match err {
            IntrospectionError::NotFound { entity } => Problem::not_found(entity),
            IntrospectionError::Denied(denied) => denied.into(),
            IntrospectionError::Invalid(invalid) => invalid.into(),
            IntrospectionError::Repo(err) => err.into(),
        }
    }
}

impl From<AccessTokenError> for Problem {
    fn from(err: AccessTokenError) -> Problem {
        match err {
            AccessTokenError::NotFound { entity } => Problem::not_found(entity),
            AccessTokenError::Denied(denied) => denied.into(),
            AccessTokenError::Invalid(invalid) => invalid.into(),
            AccessTokenError::NotConfigured => Problem {
                hint: Some("the operator turns them on with USHER_TOKEN_KEY (64 hex digits)".to_owned()),
                ..Problem::new(StatusCode::SERVICE_UNAVAILABLE, "signing_off", err.to_string())
            },
            AccessTokenError::Signing(err) => Problem::internal(&err),
            AccessTokenError::Repo(err) => err.into(),
        }
    }
}

impl From<WebhookError> for Problem {
    fn from(err: WebhookError) -> Problem {
        let detail = err.to_string();
        match err {
            WebhookError::NotFound { entity } => Problem::not_found(entity),
            WebhookError::Denied(denied) => denied.into(),
            WebhookError::Invalid(invalid) => invalid.into(),
            WebhookError::TooMany { .. } => Problem::conflict("too_many_webhooks", detail),
            WebhookError::VersionMismatch { expected, actual } => {
                Problem::version_mismatch("webhook", Some(expected), Some(actual))
            }
            WebhookError::Repo(err) => err.into(),
        }
    }
}

impl From<OutboxError> for Problem {
    fn from(err: OutboxError) -> Problem {
        let detail = err.to_string();
        match err {
            OutboxError::NotFound { entity } => Problem::not_found(entity),
            OutboxError::Denied(denied) => denied.into(),
            OutboxError::Invalid(invalid) => invalid.into(),
            OutboxError::NotFailed { .. } => Problem::conflict("mail_not_failed", detail).with_entity("mail"),
            OutboxError::Repo(err) => err.into(),
        }
    }
}

impl From<AuthError> for Problem {
    fn from(err: AuthError) -> Problem {
        match err {
            AuthError::InvalidToken => Problem::unauthenticated(),
            AuthError::Repo(err) => err.into(),
        }
    }
}

impl From<usher_domain::service::sessions::SessionError> for Problem {
    fn from(err: usher_domain::service::sessions::SessionError) -> Problem {
        use usher_domain::service::sessions::SessionError;
        let detail = err.to_string();
        match err {
            SessionError::NotFound { entity } => Problem::not_found(entity),
            SessionError::Denied(denied) => denied.into(),
            SessionError::Invalid(invalid) => invalid.into(),
            SessionError::NotAUser => Problem::new(StatusCode::FORBIDDEN, "not_a_user", detail),
            SessionError::Repo(err) => err.into(),
        }
    }
}

impl From<ChangePasswordError> for Problem {
    fn from(err: ChangePasswordError) -> Problem {
        let detail = err.to_string();
        match err {
            // The body is well formed; proving who one is failed, so the change is refused.
            ChangePasswordError::WrongPassword => {
                Problem::new(StatusCode::FORBIDDEN, "wrong_password", detail).with_field("current_password")
            }
            ChangePasswordError::Password(rejected) => {
                Problem { field: Some("new_password".to_owned()), ..rejected.into() }
            }
            ChangePasswordError::NotAUser => Problem::new(StatusCode::FORBIDDEN, "not_a_user", detail),
            ChangePasswordError::Throttled { seconds } => throttled(seconds, detail),
            ChangePasswordError::Repo(err) => err.into(),
        }
    }
}

/// An error carrying a problem through poem, so the catch-all handler answers it unchanged.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.detail)]
pub struct ProblemError(pub Problem);

impl poem::error::ResponseError for ProblemError {
    fn status(&self) -> StatusCode {
        self.0.status_code()
    }
    fn as_response(&self) -> poem::Response {
        problem_response(&self.0)
    }
}

/// The HTTP response of a problem.
pub fn problem_response(problem: &Problem) -> poem::Response {
    use poem_openapi::types::ToJSON;
    let mut response = poem::Response::builder()
        .status(problem.status_code())
        .content_type(PROBLEM_JSON)
        .body(problem.to_json_string());
    if problem.status == 401 {
        response.headers_mut().insert("www-authenticate", poem::http::HeaderValue::from_static("Bearer"));
    }
    if let Some(seconds) = problem.retry_after {
        response.headers_mut().insert("retry-after", poem::http::HeaderValue::from(seconds));
    }
    response
}

/// The value of a header a problem's response carries: `Retry-After` for a throttled request
/// and `WWW-Authenticate` for a missing or invalid token.
pub(crate) fn problem_header(name: &str, problem: &Problem) -> Option<String> {
    match name {
        "Retry-After" => problem.retry_after.map(|seconds| seconds.to_string()),
        "WWW-Authenticate" => (problem.status == 401).then(|| "Bearer".to_owned()),
        _ => None,
    }
}

/// Declares the error response of an area of the API: one variant per status it documents,
/// each `application/problem+json` with the headers listed after it (see [`problem_header`]),
/// and a default for anything else (e.g. 413 or 415 from the framework).
macro_rules! problems {
    ($(#[doc = $doc:literal])* $name:ident from [$($error:ty),* $(,)?] { $($status:literal $variant:ident $desc:literal $([$($header:literal),*])?),* $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(poem_openapi::ApiResponse, Debug)]
        pub enum $name {
            $(
                #[doc = $desc]
                #[oai(status = $status, content_type = "application/problem+json")]
                $variant(poem_openapi::payload::Json<$crate::problem::Problem> $($(, #[oai(header = $header)] Option<String>)*)?),
            )*
            /// Any other problem (e.g. 413 body too large, 415 wrong media type, 500).
            #[oai(content_type = "application/problem+json")]
            Other(
                poem::http::StatusCode,
                poem_openapi::payload::Json<$crate::problem::Problem>,
                #[oai(header = "Retry-After")] Option<String>,
                #[oai(header = "WWW-Authenticate")] Option<String>,
            ),
        }

        impl From<$crate::problem::Problem> for $name {
            fn from(problem: $crate::problem::Problem) -> Self {
                match problem.status {
                    $($status => Self::$variant(
                        poem_openapi::payload::Json(problem.clone())
                        $($(, $crate::problem::problem_header($header, &problem))*)?
                    ),)*
                    _ => Self::Other(
                        problem.status_code(),
                        poem_openapi::payload::Json(problem.clone()),
                        $crate::problem::problem_header("Retry-After", &problem),
                        $crate::problem::problem_header("WWW-Authenticate", &problem),
                    ),
                }
            }
        }

        impl From<Box<$crate::problem::Problem>> for $name {
            fn from(problem: Box<$crate::problem::Problem>) -> Self {
                Self::from(*problem)
            }
        }

        $(
            impl From<$error> for $name {
                fn from(err: $error) -> Self {
                    Self::from($crate::problem::Problem::from(err))
                }
            }
        )*
    };
}
pub(crate) use problems;

#[cfg(test)]
mod tests;
