//! The hosted pages a mail's link leads to: accept an invitation, verify an email, set or reset
//! a password, and ask for a reset. Server-rendered HTML that works without JavaScript, with
//! labelled fields and errors announced to screen readers.
//!
//! Every form carries a CSRF token that must equal the `usher_csrf` cookie set with the page
//! (double submit; the cookie is `SameSite=Strict` and `HttpOnly`), and a cross-site
//! `Sec-Fetch-Site` is refused. Every page is sent with a strict Content-Security-Policy (no
//! script at all, `frame-ancestors 'none'`), `Referrer-Policy: no-referrer` (the link token is
//! in the address) and `Cache-Control: no-store`. Tokens travel in the form body on submit and
//! are never logged (the request log names the path only).

use std::sync::OnceLock;

use minijinja::{Environment, Value, context};
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::{Data, Form, Query};
use poem::{Request, Response, Route, get, handler};
use serde::Deserialize;
use time::macros::format_description;
use usher_domain::password::{PasswordPolicy, PasswordRejected};
use usher_domain::service::invitations::{self, AcceptError, Acceptance, LinkProblem};
use usher_domain::service::public::{self, PublicError};
use usher_domain::value::PlainPassword;

use crate::csrf::{CSRF_COOKIE, csrf_of, csrf_ok};
use crate::state::AppState;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the pages' routes to `route`.
pub(crate) fn mount(route: Route) -> Route {
    route
        .at("/invite", get(invite_page).post(invite_submit))
        .at("/verify", get(verify_page).post(verify_submit))
        .at("/reset", get(reset_page).post(reset_submit))
        .at("/forgot", get(forgot_page).post(forgot_submit))
        .at("/assets/usher.css", get(stylesheet))
}

fn templates() -> &'static Environment<'static> {
    static TEMPLATES: OnceLock<Environment<'static>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("base.html", include_str!("../pages/base.html")),
            ("form_error.html", include_str!("../pages/form_error.html")),
            ("password_fields.html", include_str!("../pages/password_fields.html")),
            ("invite.html", include_str!("../pages/invite.html")),
            ("verify.html", include_str!("../pages/verify.html")),
            ("reset.html", include_str!("../pages/reset.html")),
            ("forgot.html", include_str!("../pages/forgot.html")),
            ("message.html", include_str!("../pages/message.html")),
        ] {
            // The templates are part of the binary; a syntax error fails the page tests.
            if let Err(err) = env.add_template(name, source) {
                tracing::error!(template = name, error = %err, "page template does not compile");
            }
        }
        env
    })
}

/// The link a page was opened with.
#[derive(Debug, Deserialize)]
struct LinkQuery {
    token: Option<String>,
}

/// A page in the answer, with the security headers; `csrf` sets the form's cookie.
fn page(status: StatusCode, template: &str, values: Value, csrf: Option<(&str, bool)>) -> Response {
    let body = match templates().get_template(template).and_then(|t| t.render(values)) {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(template, error = %err, "page did not render");
            return Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .content_type("text/plain; charset=utf-8")
                .body("The page could not be shown.");
        }
    };
    let mut response = Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(header::CACHE_CONTROL, "no-store")
        .body(body);
    if let Some((value, secure)) = csrf {
        let secure = if secure { "; Secure" } else { "" };
        let cookie = format!("{CSRF_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict{secure}");
        if let Ok(cookie) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
    }
    response
}

/// A page of sentences: a result, or why a link does not work.
fn message(status: StatusCode, title: &str, lines: &[&str], forgot: bool) -> Response {
    page(status, "message.html", context! { title, lines, forgot }, None)
}

fn csrf_refused() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "The form could not be sent",
        &["The form expired or did not come from this site. Open the link from your mail again."],
        false,
    )
}

fn link_problem(problem: LinkProblem, forgot: bool) -> Response {
    match problem {
        LinkProblem::Unknown => message(
            StatusCode::NOT_FOUND,
            "This link is not valid",
            &["Check that the whole link from your mail was opened, or ask for a new one."],
            forgot,
        ),
        LinkProblem::Expired => message(
            StatusCode::GONE,
            "This link has expired",
            &["Links work for a limited time. Ask for a new one."],
            forgot,
        ),
        LinkProblem::Used => message(
            StatusCode::GONE,
            "This link was already used",
            &["Each link works once. If that was you, sign in; otherwise ask for a new link."],
            forgot,
        ),
    }
}

fn failure(error: &dyn std::error::Error) -> Response {
    tracing::error!(%error, "page failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        &["Please try again in a moment."],
        false,
    )
}

fn day(at: usher_domain::time::Timestamp) -> String {
    let format = format_description!("[day padding:none] [month repr:long] [year], [hour]:[minute] UTC");
    at.as_datetime().format(format).unwrap_or_else(|_| at.to_rfc3339())
}

fn password_context(policy: &PasswordPolicy) -> (u16, u16) {
    (policy.min_length(), policy.max_length())
}

/// What a refused password reads as on a page.
fn password_message(rejected: &PasswordRejected) -> String {
    format!("{}.", capitalised(&rejected.to_string()))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

// --- Accepting an invitation ---------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct InviteForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

async fn invite_form(
    state: &AppState,
    req: &Request,
    form: &InviteForm,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let preview = match invitations::lookup(&state.ports, &form.token).await {
        Ok(preview) => preview,
        Err(AcceptError::Link(problem)) => return link_problem(problem, false),
        Err(err) => return failure(&err),
    };
    let csrf = csrf_of(state, req);
    let (min_length, max_length) = password_context(&preview.password_policy);
    let values = context! {
        title => format!("Join {}", preview.account_name),
        account_name => preview.account_name,
        email => preview.invitation.email.to_string(),
        expires => day(preview.invitation.expires_at),
        token => form.token,
        csrf,
        first_name => form.first_name,
        last_name => form.last_name,
        min_length, max_length,
        password_label => "Password",
        error,
    };
    page(status, "invite.html", values, Some((&csrf, state.config.secure_cookies)))
}

#[handler]
async fn invite_page(state: Data<&AppState>, req: &Request, Query(link): Query<LinkQuery>) -> Response {
    let form = InviteForm { token: link.token.unwrap_or_default(), ..InviteForm::default() };
    invite_form(&state, req, &form, None, StatusCode::OK).await
}

#[handler]
async fn invite_submit(
    state: Data<&AppState>,
    req: &Request,
    form: poem::Result<Form<InviteForm>>,
) -> Response {
    let Ok(Form(form)) = form else { return csrf_refused() };
    if !csrf_ok(&state, req, &form.csrf) {
        return csrf_refused();
    }
    if form.password != form.password_confirm {
        let error = Some("The two passwords differ; type the same password twice.".to_owned());
        return invite_form(&state, req, &form, error, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let optional = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
    let acceptance = Acceptance {
        token: form.token.clone(),
        first_name: optional(&form.first_name),
        last_name: optional(&form.last_name),
        username: None,
        password: PlainPassword::new(form.password.clone()),
    };
    let refused = |error: String, status| invite_form(&state, req, &form, Some(error), status);
    match invitations::accept(&state.ports, acceptance).await {
        Ok(user) => message(
            StatusCode::OK,
            "Your account is ready",
            &[&format!("Sign in with the username {} and the password you chose.", user.username)],
            false,
        ),
        Err(AcceptError::Link(problem)) => link_problem(problem, false),
        Err(AcceptError::Password(rejected)) => {
            refused(password_message(&rejected), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AcceptError::Invalid(invalid)) => {
            refused(format!("{}.", capitalised(&invalid.to_string())), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AcceptError::UsernameTaken { .. } | AcceptError::ExistingUser) => {
            refused(
                "A user with this email exists already. Sign in, or ask for a password reset.".to_owned(),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(AcceptError::NoSeatAvailable(_)) => {
            refused(
                "The account has no free seat for you right now. Ask your administrator.".to_owned(),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(err @ AcceptError::Repo(_)) => failure(&err),
    }
}

// --- Verifying an email ----------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct TokenForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
}

#[handler]
async fn verify_page(state: Data<&AppState>, req: &Request, Query(link): Query<LinkQuery>) -> Response {
    let token = link.token.unwrap_or_default();
    match public::verification_link(&state.ports, &token).await {
        Ok(email) => {
            let csrf = csrf_of(&state, req);
            let values =
                context! { title => "Confirm your email address", email => email.to_string(), token, csrf };
            page(StatusCode::OK, "verify.html", values, Some((&csrf, state.config.secure_cookies)))
        }
        Err(PublicError::Link(problem)) => link_problem(problem, false),
        Err(err) => failure(&err),
    }
}

#[handler]
async fn verify_submit(
    state: Data<&AppState>,
    req: &Request,
    form: poem::Result<Form<TokenForm>>,
) -> Response {
    let Ok(Form(form)) = form else { return csrf_refused() };
    if !csrf_ok(&state, req, &form.csrf) {
        return csrf_refused();
    }
    let source = state.source_of(req);
    match public::verify_email(&state.ports, source.as_deref(), &form.token).await {
        Ok(user) => message(
            StatusCode::OK,
            "Your email address is confirmed",
            &[&format!("{} is confirmed. You can close this page.", user.email)],
            false,
        ),
        Err(PublicError::Link(problem)) => link_problem(problem, false),
        Err(err) => failure(&err),
    }
}

// --- Setting or resetting a password ------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

async fn reset_form(
    state: &AppState,
    req: &Request,
    token: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let link = match public::password_link(&state.ports, &token).await {
        Ok(link) => link,
        Err(PublicError::Link(problem)) => return link_problem(problem, true),
        Err(err) => return failure(&err),
    };
    let csrf = csrf_of(state, req);
    let (min_length, max_length) = password_context(&link.password_policy);
    let title = if link.first_password { "Set your password" } else { "Choose a new password" };
    let values = context! {
        title, username => link.username, first_password => link.first_password, token, csrf,
        min_length, max_length, password_label => "New password", error,
    };
    page(status, "reset.html", values, Some((&csrf, state.config.secure_cookies)))
}

#[handler]
async fn reset_page(state: Data<&AppState>, req: &Request, Query(link): Query<LinkQuery>) -> Response {
    reset_form(&state, req, link.token.unwrap_or_default(), None, StatusCode::OK).await
}

#[handler]
async fn reset_submit(
    state: Data<&AppState>,
    req: &Request,
    form: poem::Result<Form<ResetForm>>,
) -> Response {
    let Ok(Form(form)) = form else { return csrf_refused() };
    if !csrf_ok(&state, req, &form.csrf) {
        return csrf_refused();
    }
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    if form.password != form.password_confirm {
        let error = Some("The two passwords differ; type the same password twice.".to_owned());
        return reset_form(&state, req, form.token, error, status).await;
    }
    let source = state.source_of(req);
    let password = PlainPassword::new(form.password.clone());
    match public::complete_password_link(&state.ports, source.as_deref(), &form.token, &password).await {
        Ok(user) => message(
            StatusCode::OK,
            "Your password is saved",
            &[&format!("Sign in with the username {} and your new password.", user.username)],
            false,
        ),
        Err(PublicError::Link(problem)) => link_problem(problem, true),
        Err(PublicError::Password(rejected)) => {
            reset_form(&state, req, form.token, Some(password_message(&rejected)), status).await
        }
        Err(err) => failure(&err),
    }
}

// --- Asking for a reset -------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    email: String,
}

fn forgot_form(state: &AppState, req: &Request, form: &ForgotForm, error: Option<&str>) -> Response {
    let csrf = csrf_of(state, req);
    let values = context! {
        title => "Forgot your password?", account => form.account, email => form.email, csrf, error,
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    page(status, "forgot.html", values, Some((&csrf, state.config.secure_cookies)))
}

#[handler]
fn forgot_page(state: Data<&AppState>, req: &Request) -> Response {
    forgot_form(&state, req, &ForgotForm::default(), None)
}

#[handler]
async fn forgot_submit(
    state: Data<&AppState>,
    req: &Request,
    form: poem::Result<Form<ForgotForm>>,
) -> Response {
    let Ok(Form(form)) = form else { return csrf_refused() };
    if !csrf_ok(&state, req, &form.csrf) {
        return csrf_refused();
    }
    if form.account.trim().is_empty() || form.email.trim().is_empty() {
        return forgot_form(&state, req, &form, Some("Enter both the account and your email address."));
    }
    let source = state.source_of(req);
    // The same answer whether or not the address is known (R21).
    match public::request_password_reset(
        &state.ports,
        source.as_deref(),
        form.account.trim(),
        form.email.trim(),
    )
    .await
    {
        Ok(()) => message(
            StatusCode::OK,
            "Check your mail",
            &[
                "If the account and address match a user, a mail with a link to choose a new password is on its way.",
            ],
            false,
        ),
        Err(err) => failure(&err),
    }
}

#[handler]
fn stylesheet() -> Response {
    Response::builder()
        .content_type("text/css; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=3600")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(include_str!("../pages/usher.css"))
}
