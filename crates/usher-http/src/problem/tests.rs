//! The problem mapping, in process: every variant of every domain error an area of the API
//! converts from answers `application/problem+json` with a status that area documents in the
//! spec (or 500 for a backend failure), and the whole variant → status and code table is
//! pinned by a snapshot, so a changed answer fails until the snapshot is updated on purpose.
//!
//! Each `every_*` list is paired with a `match` without a wildcard: a new variant does not
//! compile until it is listed, so it cannot slip through without a status.

use std::fmt::Write as _;

use poem::IntoResponse;
use poem::http::StatusCode;
use poem_openapi::ApiResponse;
use usher_domain::authz::{Denied, GrantDenied};
use usher_domain::error::{Invalid, RepoError};
use usher_domain::model::{DeliveryState, InvitationStatus};
use usher_domain::password::PasswordRejected;
use usher_domain::ports::SigningError;
use usher_domain::rules::{HasHistory, NoSeatAvailable, RenameRefused, RoleRequired, SeatsBelowUsage};
use usher_domain::service::access_tokens::AccessTokenError;
use usher_domain::service::accounts::AccountError;
use usher_domain::service::audit::AuditError;
use usher_domain::service::catalog::RoleError;
use usher_domain::service::catalog::SeatError;
use usher_domain::service::integrations::ApiKeyError;
use usher_domain::service::invitations::{AcceptError, InviteError, LinkProblem};
use usher_domain::service::mail::OutboxError;
use usher_domain::service::public::PublicError;
use usher_domain::service::sessions::{AuthError, ChangePasswordError, SessionError};
use usher_domain::service::users::UserError;
use usher_domain::value::{Access, Module, Permission, ValueError};

use super::{PROBLEM_JSON, Problem};
use crate::api::access_tokens::AccessTokenProblems;
use crate::api::accounts::AccountProblems;
use crate::api::audit::AuditProblems;
use crate::api::catalog::CatalogProblems;
use crate::api::contacts::ContactProblems;
use crate::api::integrations::IntegrationProblems;
use crate::api::invitations::InvitationProblems;
use crate::api::mail::MailProblems;
use crate::api::public::PublicProblems;
use crate::api::sessions::{SelfProblems, SessionProblems};
use crate::api::users::UserProblems;

/// One labelled sample of each variant.
type Samples<E> = Vec<(String, E)>;

/// Wraps every sample of an inner error in the outer variant `wrap`.
fn wrapped<I, E>(outer: &str, inner: Samples<I>, wrap: impl Fn(I) -> E) -> Samples<E> {
    inner.into_iter().map(|(label, error)| (format!("{outer}({label})"), wrap(error))).collect()
}

fn one<E>(label: &str, error: E) -> Samples<E> {
    vec![(label.to_owned(), error)]
}

fn users_write() -> Permission {
    Permission::new(Module::Users, Access::Write)
}

fn every_denied() -> Samples<Denied> {
    let all = vec![
        ("OtherTenant".to_owned(), Denied::OtherTenant),
        ("OutsideScope".to_owned(), Denied::OutsideScope),
        ("MissingPermission".to_owned(), Denied::MissingPermission { permission: users_write() }),
        ("OperatorOnly".to_owned(), Denied::OperatorOnly),
        ("Unauthenticated".to_owned(), Denied::Unauthenticated),
        ("RootLevel".to_owned(), Denied::RootLevel),
        ("SeatsBelongToOperator".to_owned(), Denied::SeatsBelongToOperator),
        ("TargetHoldsMore".to_owned(), Denied::TargetHoldsMore { permissions: vec![users_write()] }),
        ("PasswordChangeRequired".to_owned(), Denied::PasswordChangeRequired),
        ("SessionRequired".to_owned(), Denied::SessionRequired),
    ];
    for (_, denied) in &all {
        match denied {
            Denied::OtherTenant
            | Denied::OutsideScope
            | Denied::MissingPermission { .. }
            | Denied::OperatorOnly
            | Denied::Unauthenticated
            | Denied::RootLevel
            | Denied::SeatsBelongToOperator
            | Denied::TargetHoldsMore { .. }
            | Denied::PasswordChangeRequired
            | Denied::SessionRequired => {}
        }
    }
    all
}

fn every_invalid() -> Samples<Invalid> {
    let all = vec![
        ("Empty".to_owned(), Invalid::new("name", ValueError::Empty)),
        ("TooLong".to_owned(), Invalid::new("name", ValueError::TooLong { max: 200, actual: 201 })),
        ("TooShort".to_owned(), Invalid::new("name", ValueError::TooShort { min: 2, actual: 1 })),
        ("Malformed".to_owned(), Invalid::new("email", ValueError::Malformed { reason: "not an email" })),
        (
            "OutOfRange".to_owned(),
            Invalid::new("total", ValueError::OutOfRange { min: 0, max: 10, actual: 11 }),
        ),
        ("TooMany".to_owned(), Invalid::new("roles", ValueError::TooMany { max: 50, actual: 51 })),
    ];
    for (_, invalid) in &all {
        match invalid.error {
            ValueError::Empty
            | ValueError::TooLong { .. }
            | ValueError::TooShort { .. }
            | ValueError::Malformed { .. }
            | ValueError::OutOfRange { .. }
            | ValueError::TooMany { .. } => {}
        }
    }
    all.into_iter().map(|(label, invalid)| (format!("Invalid({label})"), invalid)).collect()
}

fn every_repo() -> Samples<RepoError> {
    let all = vec![
        ("NotFound".to_owned(), RepoError::NotFound { entity: "user" }),
        ("Duplicate".to_owned(), RepoError::Duplicate { entity: "user", field: "username" }),
        ("Stale".to_owned(), RepoError::Stale { entity: "user" }),
        ("Corrupt".to_owned(), RepoError::corrupt("user", "a bad email")),
        ("Backend".to_owned(), RepoError::backend(std::io::Error::other("the disk is gone"))),
    ];
    for (_, repo) in &all {
        match repo {
            RepoError::NotFound { .. }
            | RepoError::Duplicate { .. }
            | RepoError::Stale { .. }
            | RepoError::Corrupt { .. }
            | RepoError::Backend(_) => {}
        }
    }
    wrapped("Repo", all, |repo| repo)
}

fn every_password() -> Samples<PasswordRejected> {
    let all = vec![
        ("TooShort".to_owned(), PasswordRejected::TooShort { min: 12, actual: 4 }),
        ("TooLong".to_owned(), PasswordRejected::TooLong { max: 256, actual: 300 }),
        ("Common".to_owned(), PasswordRejected::Common),
        ("SameAsIdentifier".to_owned(), PasswordRejected::SameAsIdentifier),
    ];
    for (_, rejected) in &all {
        match rejected {
            PasswordRejected::TooShort { .. }
            | PasswordRejected::TooLong { .. }
            | PasswordRejected::Common
            | PasswordRejected::SameAsIdentifier => {}
        }
    }
    wrapped("Password", all, |rejected| rejected)
}

fn every_grant() -> Samples<GrantDenied> {
    let role = || "sales".to_owned();
    let all = vec![
        (
            "AboveCeiling".to_owned(),
            GrantDenied::AboveCeiling {
                role: role(),
                user_type: "member".to_owned(),
                permissions: vec![users_write()],
            },
        ),
        ("Escalation".to_owned(), GrantDenied::Escalation { role: role(), permissions: vec![users_write()] }),
        ("OtherTenant".to_owned(), GrantDenied::OtherTenant { role: role() }),
    ];
    for (_, denied) in &all {
        match denied {
            GrantDenied::AboveCeiling { .. }
            | GrantDenied::Escalation { .. }
            | GrantDenied::OtherTenant { .. } => {}
        }
    }
    wrapped("Grant", all, |denied| denied)
}

fn every_link() -> Samples<LinkProblem> {
    let all = vec![
        ("Unknown".to_owned(), LinkProblem::Unknown),
        ("Expired".to_owned(), LinkProblem::Expired),
        ("Used".to_owned(), LinkProblem::Used),
    ];
    for (_, link) in &all {
        match link {
            LinkProblem::Unknown | LinkProblem::Expired | LinkProblem::Used => {}
        }
    }
    wrapped("Link", all, |link| link)
}

fn no_seat() -> NoSeatAvailable {
    NoSeatAvailable { user_type: "admin".to_owned(), used: 2, reserved: 1, total: 3 }
}

fn every_user_error() -> Samples<UserError> {
    let mut all = one("NotFound", UserError::NotFound { entity: "user" });
    all.extend(wrapped("Denied", every_denied(), UserError::Denied));
    all.extend(wrapped("", every_invalid(), UserError::Invalid));
    all.extend(one("NoSeatAvailable", UserError::NoSeatAvailable(no_seat())));
    all.extend(one("RoleRequired", UserError::RoleRequired(RoleRequired)));
    all.extend(wrapped("", every_grant(), UserError::Grant));
    all.extend(one("UsernameTaken", UserError::UsernameTaken { username: "ann".to_owned() }));
    all.extend(one("UsernameMustBeEmail", UserError::UsernameMustBeEmail));
    all.extend(one("EmailTaken", UserError::EmailTaken { email: "ann@example.com".to_owned() }));
    all.extend(one("Rename(RegisteredMember)", UserError::Rename(RenameRefused::RegisteredMember)));
    let external = RenameRefused::ExternalLink { username: "ann".to_owned(), kind: "erp".to_owned() };
    all.extend(one("Rename(ExternalLink)", UserError::Rename(external)));
    all.extend(one("HasHistory", UserError::HasHistory(HasHistory)));
    all.extend(one("MemberTypeReserved", UserError::MemberTypeReserved));
    all.extend(one("AlreadyVerified", UserError::AlreadyVerified));
    all.extend(one("VerificationNotRequired", UserError::VerificationNotRequired));
    all.extend(wrapped("", every_password(), UserError::Password));
    all.extend(one("NoPasswordYet", UserError::NoPasswordYet));
    all.extend(one("DeviceTaken", UserError::DeviceTaken { identifier: "till-7".to_owned() }));
    all.extend(one("ContactHasUser", UserError::ContactHasUser));
    all.extend(one("ExternalIdTaken", UserError::ExternalIdTaken { external_id: "00u1a2b3".to_owned() }));
    all.extend(one("Erased", UserError::Erased));
    let reason = "the identity provider did not verify the email";
    let not_linked = UserError::IdentityNotLinked { email: "ann@example.com".to_owned(), reason };
    all.extend(one("IdentityNotLinked", not_linked));
    all.extend(one("Throttled", UserError::Throttled { seconds: 30 }));
    all.extend(one("NotAUser", UserError::NotAUser));
    all.extend(one("OwnUser", UserError::OwnUser { action: "disable" }));
    all.extend(one("VersionMismatch", UserError::VersionMismatch { expected: 3, actual: 4 }));
    all.extend(wrapped("", every_repo(), UserError::Repo));
    for (_, error) in &all {
        match error {
            UserError::NotFound { .. }
            | UserError::Denied(_)
            | UserError::Invalid(_)
            | UserError::NoSeatAvailable(_)
            | UserError::RoleRequired(_)
            | UserError::Grant(_)
            | UserError::UsernameTaken { .. }
            | UserError::UsernameMustBeEmail
            | UserError::EmailTaken { .. }
            | UserError::ExternalIdTaken { .. }
            | UserError::IdentityNotLinked { .. }
            | UserError::Rename(_)
            | UserError::HasHistory(_)
            | UserError::MemberTypeReserved
            | UserError::AlreadyVerified
            | UserError::VerificationNotRequired
            | UserError::Password(_)
            | UserError::NoPasswordYet
            | UserError::DeviceTaken { .. }
            | UserError::ContactHasUser
            | UserError::Erased
            | UserError::Throttled { .. }
            | UserError::NotAUser
            | UserError::OwnUser { .. }
            | UserError::VersionMismatch { .. }
            | UserError::Repo(_) => {}
        }
    }
    all
}

fn every_account_error() -> Samples<AccountError> {
    let mut all = one("NotFound", AccountError::NotFound { entity: "account" });
    all.extend(wrapped("Denied", every_denied(), AccountError::Denied));
    all.extend(wrapped("", every_invalid(), AccountError::Invalid));
    all.extend(one("SlugTaken", AccountError::SlugTaken { slug: "acme".to_owned() }));
    all.extend(wrapped("", every_password(), AccountError::Password));
    let reference = AccountError::UnknownReference { field: "member_user_type", entity: "user type" };
    all.extend(one("UnknownReference", reference));
    all.extend(one("OwnAccount", AccountError::OwnAccount));
    all.extend(one("NotARoot", AccountError::NotARoot));
    all.extend(one("VersionMismatch", AccountError::VersionMismatch { expected: 3, actual: 4 }));
    all.extend(one(
        "SettingsChanged",
        AccountError::SettingsChanged { current: "\"s0123456789abcdef\"".to_owned() },
    ));
    all.extend(wrapped("", every_repo(), AccountError::Repo));
    for (_, error) in &all {
        match error {
            AccountError::NotFound { .. }
            | AccountError::Denied(_)
            | AccountError::Invalid(_)
            | AccountError::SlugTaken { .. }
            | AccountError::Password(_)
            | AccountError::UnknownReference { .. }
            | AccountError::OwnAccount
            | AccountError::NotARoot
            | AccountError::VersionMismatch { .. }
            | AccountError::SettingsChanged { .. }
            | AccountError::Repo(_) => {}
        }
    }
    all
}

fn every_seat_error() -> Samples<SeatError> {
    let mut all = one("NotFound", SeatError::NotFound { entity: "user type" });
    all.extend(wrapped("Denied", every_denied(), SeatError::Denied));
    all.extend(wrapped("", every_invalid(), SeatError::Invalid));
    all.extend(one("KeyTaken", SeatError::KeyTaken { key: "admin".to_owned() }));
    all.extend(one("Escalation", SeatError::Escalation { permissions: vec![users_write()] }));
    let below = SeatsBelowUsage { user_type: "admin".to_owned(), requested: 1, used: 2, reserved: 1 };
    all.extend(one("BelowUsage", SeatError::BelowUsage(below)));
    all.extend(one("VersionMismatch", SeatError::VersionMismatch { expected: 3, actual: 4 }));
    let changed = SeatError::SubscriptionChanged { current: "0123456789abcdef".to_owned() };
    all.extend(one("SubscriptionChanged", changed));
    all.extend(wrapped("", every_repo(), SeatError::Repo));
    for (_, error) in &all {
        match error {
            SeatError::NotFound { .. }
            | SeatError::Denied(_)
            | SeatError::Invalid(_)
            | SeatError::KeyTaken { .. }
            | SeatError::Escalation { .. }
            | SeatError::BelowUsage(_)
            | SeatError::VersionMismatch { .. }
            | SeatError::SubscriptionChanged { .. }
            | SeatError::Repo(_) => {}
        }
    }
    all
}

fn every_role_error() -> Samples<RoleError> {
    let mut all = one("NotFound", RoleError::NotFound { entity: "role" });
    all.extend(wrapped("Denied", every_denied(), RoleError::Denied));
    all.extend(wrapped("", every_invalid(), RoleError::Invalid));
    all.extend(one("NameTaken", RoleError::NameTaken { name: "sales".to_owned() }));
    all.extend(one("Escalation", RoleError::Escalation { permissions: vec![users_write()] }));
    all.extend(one("Builtin", RoleError::Builtin { name: "administrator".to_owned() }));
    all.extend(one("StillAssigned", RoleError::StillAssigned { name: "sales".to_owned(), assignments: 7 }));
    all.extend(one("VersionMismatch", RoleError::VersionMismatch { expected: 1, actual: 2 }));
    all.extend(wrapped("", every_repo(), RoleError::Repo));
    for (_, error) in &all {
        match error {
            RoleError::NotFound { .. }
            | RoleError::Denied(_)
            | RoleError::Invalid(_)
            | RoleError::NameTaken { .. }
            | RoleError::Escalation { .. }
            | RoleError::Builtin { .. }
            | RoleError::StillAssigned { .. }
            | RoleError::VersionMismatch { .. }
            | RoleError::Repo(_) => {}
        }
    }
    all
}

fn every_invite_error() -> Samples<InviteError> {
    let mut all = one("NotFound", InviteError::NotFound { entity: "invitation" });
    all.extend(wrapped("Denied", every_denied(), InviteError::Denied));
    all.extend(wrapped("", every_invalid(), InviteError::Invalid));
    all.extend(one("RoleRequired", InviteError::RoleRequired(RoleRequired)));
    all.extend(wrapped("", every_grant(), InviteError::Grant));
    all.extend(one("NoSeatAvailable", InviteError::NoSeatAvailable(no_seat())));
    all.extend(one("TooMany", InviteError::TooMany { max: 1000, actual: 1001 }));
    all.extend(one("MemberTypeReserved", InviteError::MemberTypeReserved));
    all.extend(one("NotPending", InviteError::NotPending { status: InvitationStatus::Accepted }));
    all.extend(wrapped("", every_repo(), InviteError::Repo));
    for (_, error) in &all {
        match error {
            InviteError::NotFound { .. }
            | InviteError::Denied(_)
            | InviteError::Invalid(_)
            | InviteError::RoleRequired(_)
            | InviteError::Grant(_)
            | InviteError::NoSeatAvailable(_)
            | InviteError::TooMany { .. }
            | InviteError::MemberTypeReserved
            | InviteError::NotPending { .. }
            | InviteError::Repo(_) => {}
        }
    }
    all
}

fn every_accept_error() -> Samples<AcceptError> {
    let mut all = wrapped("", every_link(), AcceptError::Link);
    all.extend(wrapped("", every_invalid(), AcceptError::Invalid));
    all.extend(wrapped("", every_password(), AcceptError::Password));
    all.extend(one("UsernameTaken", AcceptError::UsernameTaken { username: "ann".to_owned() }));
    all.extend(one("ExistingUser", AcceptError::ExistingUser));
    all.extend(one("NoSeatAvailable", AcceptError::NoSeatAvailable(no_seat())));
    all.extend(wrapped("", every_repo(), AcceptError::Repo));
    for (_, error) in &all {
        match error {
            AcceptError::Link(_)
            | AcceptError::Invalid(_)
            | AcceptError::Password(_)
            | AcceptError::UsernameTaken { .. }
            | AcceptError::ExistingUser
            | AcceptError::NoSeatAvailable(_)
            | AcceptError::Repo(_) => {}
        }
    }
    all
}

fn every_public_error() -> Samples<PublicError> {
    let mut all = one("RegistrationClosed", PublicError::RegistrationClosed);
    all.extend(wrapped("", every_invalid(), PublicError::Invalid));
    all.extend(wrapped("", every_password(), PublicError::Password));
    all.extend(one("NoSeatAvailable", PublicError::NoSeatAvailable(no_seat())));
    all.extend(wrapped("", every_link(), PublicError::Link));
    all.extend(one("Throttled", PublicError::Throttled { seconds: 60 }));
    all.extend(wrapped("", every_repo(), PublicError::Repo));
    for (_, error) in &all {
        match error {
            PublicError::RegistrationClosed
            | PublicError::Invalid(_)
            | PublicError::Password(_)
            | PublicError::NoSeatAvailable(_)
            | PublicError::Link(_)
            | PublicError::Throttled { .. }
            | PublicError::Repo(_) => {}
        }
    }
    all
}

fn every_api_key_error() -> Samples<ApiKeyError> {
    let mut all = one("NotFound", ApiKeyError::NotFound { entity: "api key" });
    all.extend(wrapped("Denied", every_denied(), ApiKeyError::Denied));
    all.extend(wrapped("", every_invalid(), ApiKeyError::Invalid));
    all.extend(one("Escalation", ApiKeyError::Escalation { permissions: vec![users_write()] }));
    all.extend(wrapped("", every_repo(), ApiKeyError::Repo));
    for (_, error) in &all {
        match error {
            ApiKeyError::NotFound { .. }
            | ApiKeyError::Denied(_)
            | ApiKeyError::Invalid(_)
            | ApiKeyError::Escalation { .. }
            | ApiKeyError::Repo(_) => {}
        }
    }
    all
}

fn every_audit_error() -> Samples<AuditError> {
    let mut all = one("NotFound", AuditError::NotFound { entity: "account" });
    all.extend(wrapped("Denied", every_denied(), AuditError::Denied));
    all.extend(wrapped("", every_invalid(), AuditError::Invalid));
    all.extend(wrapped("", every_repo(), AuditError::Repo));
    for (_, error) in &all {
        match error {
            AuditError::NotFound { .. }
            | AuditError::Denied(_)
            | AuditError::Invalid(_)
            | AuditError::Repo(_) => {}
        }
    }
    all
}

fn every_outbox_error() -> Samples<OutboxError> {
    let mut all = one("NotFound", OutboxError::NotFound { entity: "mail" });
    all.extend(wrapped("Denied", every_denied(), OutboxError::Denied));
    all.extend(wrapped("", every_invalid(), OutboxError::Invalid));
    all.extend(one("NotFailed", OutboxError::NotFailed { state: DeliveryState::Sent }));
    all.extend(wrapped("", every_repo(), OutboxError::Repo));
    for (_, error) in &all {
        match error {
            OutboxError::NotFound { .. }
            | OutboxError::Denied(_)
            | OutboxError::Invalid(_)
            | OutboxError::NotFailed { .. }
            | OutboxError::Repo(_) => {}
        }
    }
    all
}

fn every_auth_error() -> Samples<AuthError> {
    let mut all = one("InvalidToken", AuthError::InvalidToken);
    all.extend(wrapped("", every_repo(), AuthError::Repo));
    for (_, error) in &all {
        match error {
            AuthError::InvalidToken | AuthError::Repo(_) => {}
        }
    }
    all
}

fn every_session_error() -> Samples<SessionError> {
    let mut all = one("NotFound", SessionError::NotFound { entity: "session" });
    all.extend(wrapped("Denied", every_denied(), SessionError::Denied));
    all.extend(wrapped("", every_invalid(), SessionError::Invalid));
    all.extend(one("NotAUser", SessionError::NotAUser));
    all.extend(wrapped("", every_repo(), SessionError::Repo));
    for (_, error) in &all {
        match error {
            SessionError::NotFound { .. }
            | SessionError::Denied(_)
            | SessionError::Invalid(_)
            | SessionError::NotAUser
            | SessionError::Repo(_) => {}
        }
    }
    all
}

fn every_change_password_error() -> Samples<ChangePasswordError> {
    let mut all = one("WrongPassword", ChangePasswordError::WrongPassword);
    all.extend(wrapped("", every_password(), ChangePasswordError::Password));
    all.extend(one("NotAUser", ChangePasswordError::NotAUser));
    all.extend(one("Throttled", ChangePasswordError::Throttled { seconds: 30 }));
    all.extend(wrapped("", every_repo(), ChangePasswordError::Repo));
    for (_, error) in &all {
        match error {
            ChangePasswordError::WrongPassword
            | ChangePasswordError::Password(_)
            | ChangePasswordError::NotAUser
            | ChangePasswordError::Throttled { .. }
            | ChangePasswordError::Repo(_) => {}
        }
    }
    all
}

fn every_access_token_error() -> Samples<AccessTokenError> {
    let mut all = one("NotFound", AccessTokenError::NotFound { entity: "session" });
    all.extend(one("Denied(SessionRequired)", AccessTokenError::Denied(Denied::SessionRequired)));
    all.extend(one(
        "Denied(PasswordChangeRequired)",
        AccessTokenError::Denied(Denied::PasswordChangeRequired),
    ));
    all.extend(one("Invalid", AccessTokenError::Invalid(Invalid::new("token", ValueError::Empty))));
    all.extend(one("NotConfigured", AccessTokenError::NotConfigured));
    all.extend(one("Signing", AccessTokenError::Signing(SigningError("the disk is gone".to_owned()))));
    all.extend(one(
        "Repo(Backend)",
        AccessTokenError::Repo(RepoError::backend(std::io::Error::other("the disk is gone"))),
    ));
    for (_, error) in &all {
        match error {
            AccessTokenError::NotFound { .. }
            | AccessTokenError::Denied(_)
            | AccessTokenError::Invalid(_)
            | AccessTokenError::NotConfigured
            | AccessTokenError::Signing(_)
            | AccessTokenError::Repo(_) => {}
        }
    }
    all
}

/// Variants an area's error type has but its operations cannot produce, with the reason; they
/// need no documented status there.
const UNREACHABLE: [(&str, &str, &str); 4] = [
    ("access tokens", "Invalid", "minting reads no field"),
    ("audit", "Repo(Duplicate)", "the audit log is only read"),
    ("audit", "Repo(Stale)", "the audit log is only read"),
    ("contacts", "Throttled", "no contact operation sends a throttled mail"),
];

/// The statuses an area's response enum documents in the spec.
fn documented<R: ApiResponse>() -> Vec<u16> {
    R::meta().responses.iter().filter_map(|response| response.status).collect()
}

/// The answer of one problem through an area's response, as the server sends it.
async fn answer<R: From<Problem> + IntoResponse>(
    problem: Problem,
) -> (StatusCode, poem::http::HeaderMap, String) {
    let response = R::from(problem).into_response();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.into_body().into_string().await.unwrap();
    (status, headers, body)
}

/// Checks every sample through the area `R` and, with a `table`, appends `label → status
/// code` to it (once per error type: the mapping is the type's, whichever area answers it).
async fn check<R, E>(area: &str, samples: Samples<E>, mut table: Option<&mut String>)
where
    R: ApiResponse + From<Problem> + IntoResponse,
    Problem: From<E>,
{
    let statuses = documented::<R>();
    if let Some(table) = table.as_deref_mut() {
        writeln!(table, "## {area} (documents {statuses:?})").unwrap();
    }
    for (label, error) in samples {
        let label = label.trim_start_matches('(').replace("((", "(").replace("))", ")");
        let problem = Problem::from(error);
        let (status, headers, body) = answer::<R>(problem.clone()).await;
        let what = format!("{area}: {label}");
        let unreachable = UNREACHABLE.iter().any(|(a, l, _)| *a == area && *l == label);
        assert!(
            statuses.contains(&status.as_u16()) || status == StatusCode::INTERNAL_SERVER_ERROR || unreachable,
            "{what} answers {status}, which the area does not document ({statuses:?})"
        );
        assert_eq!(status.as_u16(), problem.status, "{what}");
        assert_eq!(headers.get("content-type").unwrap(), PROBLEM_JSON, "{what}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["status"], problem.status, "{what}: {body}");
        assert_eq!(json["code"], problem.code.as_str(), "{what}: {body}");
        assert_eq!(json["type"], format!("tag:usher,2026:problem:{}", problem.code), "{what}");
        assert!(!problem.detail.is_empty(), "{what}: a detail for people");
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(headers.get("www-authenticate").unwrap(), "Bearer", "{what}");
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry = headers.get("retry-after").unwrap().to_str().unwrap();
            assert_eq!(json["retry_after"].to_string(), retry, "{what}: Retry-After matches the body");
        }
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            assert!(
                !body.contains("the disk is gone"),
                "{what}: a backend's words are logged, never answered"
            );
        }
        if let Some(table) = table.as_deref_mut() {
            writeln!(table, "{label} → {} {}", problem.status, problem.code).unwrap();
        }
    }
}

#[tokio::test]
async fn every_domain_error_answers_a_status_its_area_documents() {
    let mut table = String::new();
    check::<AccountProblems, _>("accounts", every_account_error(), Some(&mut table)).await;
    check::<CatalogProblems, _>("catalog: seats", every_seat_error(), Some(&mut table)).await;
    check::<CatalogProblems, _>("catalog: roles", every_role_error(), Some(&mut table)).await;
    check::<UserProblems, _>("users", every_user_error(), Some(&mut table)).await;
    check::<ContactProblems, _>("contacts", every_user_error(), None).await;
    check::<InvitationProblems, _>("invitations", every_invite_error(), Some(&mut table)).await;
    check::<PublicProblems, _>("public: acceptance", every_accept_error(), Some(&mut table)).await;
    check::<PublicProblems, _>("public", every_public_error(), Some(&mut table)).await;
    check::<SessionProblems, _>("sessions", every_session_error(), Some(&mut table)).await;
    check::<SelfProblems, _>("self: profile", every_user_error(), None).await;
    check::<SelfProblems, _>("self: password", every_change_password_error(), Some(&mut table)).await;
    check::<SelfProblems, _>("self: token", every_auth_error(), Some(&mut table)).await;
    check::<IntegrationProblems, _>("integrations", every_api_key_error(), Some(&mut table)).await;
    check::<AuditProblems, _>("audit", every_audit_error(), Some(&mut table)).await;
    check::<MailProblems, _>("mail", every_outbox_error(), Some(&mut table)).await;
    check::<AccessTokenProblems, _>("access tokens", every_access_token_error(), None).await;
    insta::assert_snapshot!("problem_mapping", table);
}
