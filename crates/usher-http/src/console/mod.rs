//! The admin console at `/console`: server-rendered pages (minijinja) that work without
//! JavaScript, enhanced by htmx (vendored from the npm package `htmx.org` 2.0.11 and embedded),
//! with one stylesheet. Every action calls the same use case as `/v1` with the signed-in user's
//! actor, so the console can do nothing the API refuses that user.
//!
//! Sign-in opens a console session (`sessions::login_on` with `Channel::Console`): its token
//! lives in an `HttpOnly; SameSite=Strict` cookie, `__Host-` prefixed and `Secure` behind https.
//! A console token is refused as a bearer token and a bearer token never opens the console; the
//! session also ends after the settings' idle time. Every form carries the signed CSRF value of
//! [`crate::csrf`]. Pages are sent with a strict Content-Security-Policy (`script-src 'self'`,
//! no inline script or style) and speak English or German, following the user's locale (the
//! browser's before sign-in), through one catalogue ([`i18n`]).

/// The value of a `Result<T, Response>`, or that answer returned from the handler.
macro_rules! or_answer {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(answer) => return answer,
        }
    };
}

mod contacts;
mod devices;
mod edit;
mod i18n;
mod invitations;
mod keys;
mod records;
mod roles;
mod settings;
mod subscription;
mod users;

use std::sync::OnceLock;

use minijinja::{Environment, Value, context};
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::{Data, Form};
use poem::{Request, Response, Route, get, handler, post};
use serde::Deserialize;
use usher_domain::authz::{Actor, Restriction};
use usher_domain::model::User;
use usher_domain::service::sessions::{self, ChangePasswordError, Channel, Credentials, LoginError};
use usher_domain::value::PlainPassword;

pub(crate) use self::i18n::Lang;
use crate::csrf::{csrf_of, csrf_ok};
use crate::problem::Problem;
use crate::state::AppState;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes, nested at `/console`.
pub(crate) fn routes() -> Route {
    Route::new()
        .at("/", get(home))
        .at("/sign-in", get(sign_in_page).post(sign_in))
        .at("/sign-out", post(sign_out))
        .at("/password", get(password_page).post(password_submit))
        .at("/users", get(users::list))
        .at("/users/:id", get(users::show))
        .at("/users/new", get(edit::new_user).post(edit::create))
        .at("/users/:id/edit", get(edit::edit).post(edit::save))
        .at("/users/:id/password", get(edit::password_form).post(edit::set_password))
        .at("/users/:id/devices", get(devices::list).post(devices::link))
        .at("/users/:id/devices/:device/unlink", post(devices::unlink))
        .at("/users/:id/:action", get(users::confirm).post(users::act))
        .at("/invite", get(invitations::page).post(invitations::submit))
        .at("/contacts", get(contacts::list))
        .at("/audit", get(records::audit_log))
        .at("/settings", get(settings::show).post(settings::save))
        .at("/accounts", get(settings::accounts_tree).post(settings::add))
        .at("/accounts/:id", get(settings::show_account).post(settings::save_account))
        .at("/api-keys", get(keys::list).post(keys::create))
        .at("/api-keys/:id/revoke", get(keys::confirm_revoke).post(keys::revoke))
        .at("/mail", get(records::outbox))
        .at("/mail/:id/retry", post(records::retry))
        .at("/roles", get(roles::list))
        .at("/roles/new", get(roles::new_role).post(roles::create))
        .at("/roles/:id", get(roles::show).post(roles::save))
        .at("/subscription", get(subscription::show).post(subscription::save))
        .at("/contacts/:id/user", get(contacts::user_form).post(contacts::make_user))
        .at("/invitations/:id/:action", get(invitations::confirm).post(invitations::act))
        .at("/assets/htmx.min.js", get(htmx))
        .at("/assets/console.css", get(stylesheet))
}

/// The session cookie's name: `__Host-` prefixed when it is `Secure`, so no sibling domain or
/// plain-http page can set it.
fn session_cookie(secure: bool) -> &'static str {
    if secure { "__Host-usher_console" } else { "usher_console" }
}

fn templates() -> &'static Environment<'static> {
    static TEMPLATES: OnceLock<Environment<'static>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES_SOURCES {
            // The templates are part of the binary; a syntax error fails the console tests.
            if let Err(err) = env.add_template(name, source) {
                tracing::error!(template = name, error = %err, "console template does not compile");
            }
        }
        env
    })
}

const TEMPLATES_SOURCES: [(&str, &str); 23] = [
    ("devices.html", include_str!("../../console/devices.html")),
    ("account.html", include_str!("../../console/account.html")),
    ("settings.html", include_str!("../../console/settings.html")),
    ("accounts.html", include_str!("../../console/accounts.html")),
    ("api_keys.html", include_str!("../../console/api_keys.html")),
    ("permission_grid.html", include_str!("../../console/permission_grid.html")),
    ("audit.html", include_str!("../../console/audit.html")),
    ("mail.html", include_str!("../../console/mail.html")),
    ("roles.html", include_str!("../../console/roles.html")),
    ("role.html", include_str!("../../console/role.html")),
    ("subscription.html", include_str!("../../console/subscription.html")),
    ("contacts.html", include_str!("../../console/contacts.html")),
    ("contact_user.html", include_str!("../../console/contact_user.html")),
    ("user_form.html", include_str!("../../console/user_form.html")),
    ("set_password.html", include_str!("../../console/set_password.html")),
    ("invite.html", include_str!("../../console/invite.html")),
    ("layout.html", include_str!("../../console/layout.html")),
    ("sign_in.html", include_str!("../../console/sign_in.html")),
    ("password.html", include_str!("../../console/password.html")),
    ("users.html", include_str!("../../console/users.html")),
    ("user.html", include_str!("../../console/user.html")),
    ("confirm.html", include_str!("../../console/confirm.html")),
    ("message.html", include_str!("../../console/message.html")),
];

/// The signed-in user of a console request.
#[derive(Debug)]
pub(crate) struct Console {
    /// The actor the use cases get.
    pub(crate) actor: Actor,
    /// The user behind it.
    pub(crate) user: User,
    /// The language of the pages.
    pub(crate) lang: Lang,
    /// The CSRF value the page's forms carry.
    pub(crate) csrf: String,
}

impl Console {
    /// The values every signed-in page has.
    fn base(&self) -> Value {
        context! {
            lang => self.lang.tag(),
            t => self.lang.strings(),
            csrf => self.csrf,
            me => self.user.username.as_str(),
        }
    }

    /// A page for this user, with the CSRF cookie.
    pub(crate) fn page(
        &self,
        state: &AppState,
        status: StatusCode,
        template: &str,
        values: Value,
    ) -> Response {
        let values = context! { ..values, ..self.base() };
        render(status, template, values, Some((&self.csrf, state.config.secure_cookies)))
    }

    /// A domain problem as a readable page.
    pub(crate) fn problem(&self, state: &AppState, problem: &Problem) -> Response {
        let status = status_of(problem);
        if status.is_server_error() {
            tracing::error!(code = %problem.code, detail = %problem.detail, "console action failed");
        }
        let values = context! { title => self.lang.get("problem_title"), lines => [problem_text(self.lang, problem)], back => true };
        self.page(state, status, "message.html", values)
    }
}

/// The value of a posted field (empty when absent), for forms read as pairs because a
/// checkbox list repeats its name.
pub(crate) fn form_value(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// A refusal the console words itself, already in the user's language: its sentence is the
/// detail (the catalogue's `problem_console_said`).
pub(crate) fn said(status: StatusCode, text: impl Into<String>) -> Problem {
    Problem::new(status, "console_said", text)
}

/// The status a problem answers with.
pub(crate) fn status_of(problem: &Problem) -> StatusCode {
    StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// What a problem reads as: the catalogue's sentence for its code with its numbers, else the
/// problem's own detail (English).
pub(crate) fn problem_text(lang: Lang, problem: &Problem) -> String {
    if problem.code == "invalid_field" {
        let text = value_text(lang, problem);
        return match &problem.field {
            Some(field) => format!("{field}: {text}"),
            None => text,
        };
    }
    // A password's sentence says which way it missed.
    let key = match (problem.code.as_str(), problem.limit, problem.actual) {
        ("password_rejected", Some(limit), Some(actual)) if actual < limit => {
            "problem_password_too_short".to_owned()
        }
        ("password_rejected", Some(_), Some(_)) => "problem_password_too_long".to_owned(),
        (code, ..) => format!("problem_{code}"),
    };
    let Some(text) = lang.strings().get(key.as_str()) else {
        return problem.detail.clone();
    };
    let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
    let big = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    i18n::fill(
        text,
        &[
            ("user_type", problem.user_type.clone().unwrap_or_default()),
            ("used", number(problem.used)),
            ("reserved", number(problem.reserved)),
            ("total", number(problem.total)),
            ("requested", number(problem.requested)),
            ("permissions", problem.permissions.clone().unwrap_or_default().join(", ")),
            ("limit", big(problem.limit)),
            ("actual", big(problem.actual)),
            ("retry_after", big(problem.retry_after)),
            ("field", problem.field.clone().unwrap_or_default()),
            ("detail", problem.detail.clone()),
        ],
    )
}

/// Why a value was refused, in `lang`, without the field: the domain's reason (the detail after
/// `field: `, one of `ValueError`'s sentences) read back into the catalogue's, numbers kept.
pub(crate) fn value_text(lang: Lang, problem: &Problem) -> String {
    // A pattern that did not compile is left out (a unit test reads every form).
    static BOUNDS: std::sync::LazyLock<Vec<(regex::Regex, &'static str, &'static [&'static str])>> =
        std::sync::LazyLock::new(|| {
            let form = |pattern: &str| regex::Regex::new(pattern).ok();
            let forms = [
                (form(r"^must not be empty$"), "value_empty", &[][..]),
                (
                    form(r"^must be at most (\d+) characters \(got (\d+)\)$"),
                    "value_too_long",
                    &["max", "actual"][..],
                ),
                (
                    form(r"^must be at least (\d+) characters \(got (\d+)\)$"),
                    "value_too_short",
                    &["min", "actual"][..],
                ),
                (
                    form(r"^must be between (-?\d+) and (-?\d+) \(got (-?\d+)\)$"),
                    "value_out_of_range",
                    &["min", "max", "actual"][..],
                ),
                (
                    form(r"^must have at most (\d+) entries \(got (\d+)\)$"),
                    "value_too_many",
                    &["max", "actual"][..],
                ),
            ];
            forms.into_iter().filter_map(|(pattern, key, names)| Some((pattern?, key, names))).collect()
        });
    let detail = problem.detail.as_str();
    let reason = match &problem.field {
        Some(field) => detail.strip_prefix(&format!("{field}: ")).unwrap_or(detail),
        None => detail,
    };
    for (pattern, key, names) in BOUNDS.iter() {
        if let Some(found) = pattern.captures(reason) {
            let values: Vec<(&str, String)> =
                names.iter().enumerate().map(|(i, name)| (*name, found[i + 1].to_owned())).collect();
            return i18n::fill(lang.get(key), &values);
        }
    }
    match lang.strings().get(format!("value: {reason}").as_str()) {
        Some(sentence) => (*sentence).to_owned(),
        None => reason.to_owned(),
    }
}

/// The language of a request before sign-in: the browser's.
fn browser_lang(req: &Request) -> Lang {
    Lang::of(req.header(header::ACCEPT_LANGUAGE))
}

/// The signed-in user, or the answer that sends the browser to sign in (or, under R16, to
/// change its password first).
pub(crate) async fn signed_in(state: &AppState, req: &Request) -> Result<Console, Response> {
    let token = crate::csrf::cookie(req, session_cookie(state.config.secure_cookies));
    let Some(token) = token else {
        return Err(see_other("/console/sign-in"));
    };
    let source = state.source_of(req);
    let authenticated = match sessions::authenticate_console(&state.ports, token, source.as_deref()).await {
        Ok(authenticated) => authenticated,
        Err(sessions::AuthError::InvalidToken) => {
            return Err(with_cookie(see_other("/console/sign-in?ended=1"), &clear_session(state)));
        }
        Err(err) => return Err(failure(browser_lang(req), &err)),
    };
    let Some(user) = authenticated.user else {
        return Err(see_other("/console/sign-in"));
    };
    let lang =
        Lang::of(user.profile.locale.as_ref().map(|l| l.as_str()).or(req.header(header::ACCEPT_LANGUAGE)));
    let restricted = authenticated.actor.restriction == Some(Restriction::PasswordChangeRequired);
    // `nest` strips `/console` from `uri()`; the original names the page asked for.
    if restricted && req.original_uri().path() != "/console/password" {
        return Err(see_other("/console/password"));
    }
    Ok(Console { actor: authenticated.actor, user, lang, csrf: csrf_of(state, req) })
}

/// A rendered page with the console's security headers; `csrf` sets the forms' cookie.
fn render(status: StatusCode, template: &str, values: Value, csrf: Option<(&str, bool)>) -> Response {
    let body = match templates().get_template(template).and_then(|t| t.render(values)) {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(template, error = %err, "console page did not render");
            return Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .content_type("text/plain; charset=utf-8")
                .body("The page could not be shown.");
        }
    };
    let response = Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)
        .header(header::REFERRER_POLICY, "same-origin")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::VARY, "Cookie, HX-Request")
        .body(body);
    match csrf {
        Some((value, secure)) => {
            let secure = if secure { "; Secure" } else { "" };
            let cookie =
                format!("{}={value}; Path=/; HttpOnly; SameSite=Strict{secure}", crate::csrf::CSRF_COOKIE);
            with_cookie(response, &cookie)
        }
        None => response,
    }
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The cookie that ends the browser's console session.
fn clear_session(state: &AppState) -> String {
    let secure = state.config.secure_cookies;
    let flag = if secure { "; Secure" } else { "" };
    format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{flag}", session_cookie(secure))
}

/// A redirect after a form (303), or to sign in.
pub(crate) fn see_other(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-store")
        .finish()
}

/// A page of sentences (signed out: no user in the header).
fn message(lang: Lang, status: StatusCode, lines: &[&str]) -> Response {
    let values = context! {
        lang => lang.tag(), t => lang.strings(), title => lang.get("problem_title"), lines,
    };
    render(status, "message.html", values, None)
}

pub(crate) fn failure(lang: Lang, error: &dyn std::error::Error) -> Response {
    tracing::error!(%error, "console page failed");
    message(lang, StatusCode::INTERNAL_SERVER_ERROR, &[lang.get("failure")])
}

/// A form that did not come from our page, or whose CSRF value expired.
pub(crate) fn csrf_refused(lang: Lang) -> Response {
    message(lang, StatusCode::FORBIDDEN, &[lang.get("form_expired")])
}

#[handler]
async fn home(Data(state): Data<&AppState>, req: &Request) -> Response {
    match signed_in(state, req).await {
        Ok(_) => see_other("/console/users"),
        Err(answer) => answer,
    }
}

// --- Signing in and out -----------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

fn sign_in_form(
    state: &AppState,
    req: &Request,
    status: StatusCode,
    form: &SignInForm,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let lang = browser_lang(req);
    let csrf = csrf_of(state, req);
    let values = context! {
        lang => lang.tag(), t => lang.strings(), title => lang.get("sign_in_title"), csrf,
        account => form.account, username => form.username, notice, error,
    };
    render(status, "sign_in.html", values, Some((&csrf, state.config.secure_cookies)))
}

#[derive(Debug, Deserialize)]
struct SignInQuery {
    ended: Option<String>,
    out: Option<String>,
    changed: Option<String>,
}

#[handler]
async fn sign_in_page(
    Data(state): Data<&AppState>,
    req: &Request,
    poem::web::Query(query): poem::web::Query<SignInQuery>,
) -> Response {
    let lang = browser_lang(req);
    let notice = if query.changed.is_some() {
        Some("password_changed")
    } else if query.out.is_some() {
        Some("signed_out")
    } else if query.ended.is_some() {
        Some("session_ended")
    } else {
        None
    };
    let notice = notice.map(|key| lang.get(key).to_owned());
    sign_in_form(state, req, StatusCode::OK, &SignInForm::default(), notice, None)
}

#[handler]
async fn sign_in(Data(state): Data<&AppState>, req: &Request, Form(form): Form<SignInForm>) -> Response {
    let lang = browser_lang(req);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(lang);
    }
    let credentials = Credentials {
        account: form.account.clone(),
        username: form.username.clone(),
        password: PlainPassword::new(form.password.clone()),
    };
    let source = state.source_of(req);
    match sessions::login_on(&state.ports, source.as_deref(), credentials, Channel::Console).await {
        Ok(logged_in) => {
            let secure = state.config.secure_cookies;
            let flag = if secure { "; Secure" } else { "" };
            let max_age = logged_in.expires_at.seconds_after(state.ports.clock.now());
            let cookie = format!(
                "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{flag}",
                session_cookie(secure),
                logged_in.token.expose()
            );
            let next =
                if logged_in.user.must_change_password { "/console/password" } else { "/console/users" };
            with_cookie(see_other(next), &cookie)
        }
        Err(LoginError::InvalidCredentials) => {
            let error = Some(lang.get("sign_in_failed").to_owned());
            sign_in_form(state, req, StatusCode::UNAUTHORIZED, &form, None, error)
        }
        Err(LoginError::Throttled { retry_after }) => {
            let seconds = retry_after.seconds_after(state.ports.clock.now()).max(1);
            let error = Some(i18n::fill(lang.get("sign_in_throttled"), &[("seconds", seconds.to_string())]));
            let mut response = sign_in_form(state, req, StatusCode::TOO_MANY_REQUESTS, &form, None, error);
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Err(LoginError::Repo(err)) => failure(lang, &err),
    }
}

#[derive(Debug, Default, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[handler]
async fn sign_out(Data(state): Data<&AppState>, req: &Request, Form(form): Form<CsrfForm>) -> Response {
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(browser_lang(req));
    }
    if let Some(token) = crate::csrf::cookie(req, session_cookie(state.config.secure_cookies))
        && let Err(err) = sessions::logout(&state.ports, token).await
    {
        return failure(browser_lang(req), &err);
    }
    with_cookie(see_other("/console/sign-in?out=1"), &clear_session(state))
}

// --- The own password (R16 on first sign-in) ----------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    again: String,
}

async fn password_form(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let forced = console.actor.restriction == Some(Restriction::PasswordChangeRequired);
    let policy = match sessions::own_password_policy(&state.ports, &console.actor).await {
        Ok(policy) => policy,
        Err(err) => return failure(console.lang, &err),
    };
    let rules = i18n::fill(
        console.lang.get("password_rules"),
        &[("min", policy.min_length().to_string()), ("max", policy.max_length().to_string())],
    );
    let values = context! {
        title => console.lang.get("password_title"), forced, rules, error,
        min_length => policy.min_length(), max_length => policy.max_length(),
    };
    console.page(state, status, "password.html", values)
}

#[handler]
async fn password_page(Data(state): Data<&AppState>, req: &Request) -> Response {
    match signed_in(state, req).await {
        Ok(console) => password_form(state, &console, StatusCode::OK, None).await,
        Err(answer) => answer,
    }
}

#[handler]
async fn password_submit(
    Data(state): Data<&AppState>,
    req: &Request,
    Form(form): Form<PasswordForm>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let lang = console.lang;
    if form.new != form.again {
        return password_form(
            state,
            &console,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(lang.get("password_mismatch").to_owned()),
        )
        .await;
    }
    let (current, new) = (PlainPassword::new(form.current), PlainPassword::new(form.new));
    match sessions::change_own_password(&state.ports, &console.actor, &current, &new).await {
        // Every session ended with the change, this one too: sign in with the new password.
        Ok(()) => with_cookie(see_other("/console/sign-in?changed=1"), &clear_session(state)),
        Err(ChangePasswordError::WrongPassword) => {
            password_form(
                state,
                &console,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(lang.get("password_wrong").to_owned()),
            )
            .await
        }
        Err(ChangePasswordError::Password(rejected)) => {
            password_form(state, &console, StatusCode::UNPROCESSABLE_ENTITY, Some(rejected.to_string())).await
        }
        Err(err) => console.problem(state, &Problem::from(err)),
    }
}

// --- Assets -----------------------------------------------------------------------------------

fn asset(body: &'static str, content_type: &'static str) -> Response {
    Response::builder()
        .content_type(content_type)
        .header(header::CACHE_CONTROL, "public, max-age=3600")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(body)
}

#[handler]
fn htmx() -> Response {
    asset(include_str!("../../console/assets/htmx.min.js"), "text/javascript; charset=utf-8")
}

#[handler]
fn stylesheet() -> Response {
    asset(include_str!("../../console/assets/console.css"), "text/css; charset=utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every Rust source file under `top`, with its path.
    fn rust_sources(top: std::path::PathBuf) -> Vec<(std::path::PathBuf, String)> {
        let mut sources = Vec::new();
        let mut dirs = vec![top];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let source = std::fs::read_to_string(&path).unwrap();
                    sources.push((path, source));
                }
            }
        }
        sources
    }

    /// Every code a problem of this crate can carry, read from the source that makes them.
    fn problem_codes() -> std::collections::BTreeSet<String> {
        let made = regex::Regex::new(
            r#"(?:Problem::new\(\s*[^,()]+,\s*|conflict\(\s*|unprocessable\(\s*|StatusCode::[A-Z_]+,\s*)"([a-z_]+)""#,
        )
        .unwrap();
        // problem.rs also picks a code by matching an error's variant.
        let picked = regex::Regex::new(r#"::[A-Za-z]+(?: \{ \.\. \})? => "([a-z_]+)","#).unwrap();
        let mut codes = std::collections::BTreeSet::new();
        for (path, source) in rust_sources(concat!(env!("CARGO_MANIFEST_DIR"), "/src").into()) {
            codes.extend(made.captures_iter(&source).map(|c| c[1].to_owned()));
            if path.ends_with("problem.rs") {
                codes.extend(picked.captures_iter(&source).map(|c| c[1].to_owned()));
            }
        }
        codes
    }

    #[test]
    fn every_problem_code_reads_as_a_sentence_of_the_catalogue() {
        let codes = problem_codes();
        // The scan finds the codes made in several ways (a sanity check that it still reads them).
        for known in ["no_seat_available", "rename_refused", "link_used", "version_mismatch", "unknown_user"]
        {
            assert!(codes.contains(known), "the scan missed {known}");
        }
        let keys = Lang::De.strings();
        let missing: Vec<_> =
            codes.iter().filter(|code| !keys.contains_key(format!("problem_{code}").as_str())).collect();
        assert!(missing.is_empty(), "the catalogue has no sentence for the problems {missing:?}");
    }

    /// Every reason the domain gives for refusing a value (`ValueError`), read from its source.
    fn value_reasons() -> std::collections::BTreeSet<String> {
        let given = regex::Regex::new(r#"(?:malformed\(|reason: )"([^"]+)""#).unwrap();
        let mut reasons = std::collections::BTreeSet::new();
        for (_, source) in rust_sources(concat!(env!("CARGO_MANIFEST_DIR"), "/../usher-domain/src").into()) {
            reasons.extend(given.captures_iter(&source).map(|c| c[1].to_owned()));
        }
        // An import row's skip reasons are codes, not a value's reasons.
        for skip in ["exists", "erased", "duplicate_in_file"] {
            reasons.remove(skip);
        }
        reasons
    }

    #[test]
    fn every_reason_for_a_refused_value_reads_as_a_sentence_of_the_catalogue() {
        use usher_domain::error::Invalid;
        use usher_domain::value::ValueError;
        let said = |error: ValueError| {
            let problem = Problem::from(Invalid::new("phone", error));
            (value_text(Lang::En, &problem), value_text(Lang::De, &problem), problem_text(Lang::De, &problem))
        };
        let (en, de, whole) = said(ValueError::OutOfRange { min: 300, max: 86_400, actual: 180 });
        assert_eq!(en, "Must be between 300 and 86400 (180 given).");
        assert_eq!(de, "Muss zwischen 300 und 86400 liegen (180 angegeben).");
        assert_eq!(whole, format!("phone: {de}"), "the field is named once");
        let bounds = [
            ValueError::Empty,
            ValueError::TooLong { max: 100, actual: 120 },
            ValueError::TooShort { min: 8, actual: 3 },
            ValueError::TooMany { max: 20, actual: 21 },
        ];
        let reasons = value_reasons();
        assert!(
            reasons.contains("must be an email address") && reasons.len() > 30,
            "the scan reads {reasons:?}"
        );
        let malformed =
            reasons.iter().map(|reason| ValueError::Malformed { reason: String::leak(reason.clone()) });
        for error in bounds.into_iter().chain(malformed) {
            let english = error.to_string();
            let (en, de, _) = said(error);
            assert_ne!(en, english, "the catalogue has no English sentence for {english:?}");
            assert_ne!(de, english, "the catalogue has no German sentence for {english:?}");
            let digits = |text: &str| text.chars().filter(char::is_ascii_digit).collect::<String>();
            assert_eq!(digits(&de), digits(&english), "{de:?} keeps the numbers of {english:?}");
        }
    }

    #[test]
    fn every_template_compiles_and_names_only_strings_of_the_catalogue() {
        let mut env = Environment::new();
        let keys = Lang::En.strings();
        let pattern = regex::Regex::new(r"\bt\.([a-z_]+)").unwrap();
        for (name, source) in TEMPLATES_SOURCES {
            env.add_template(name, source).unwrap();
            for key in pattern.captures_iter(source) {
                assert!(keys.contains_key(&key[1]), "{name} names `{}`, which the catalogue lacks", &key[1]);
            }
        }
    }
}
