//! The tenant's settings and its accounts: the settings read from the signed-in user's account
//! and changed at the root (R23), guarded by their fingerprint so a change made meanwhile is
//! refused; the account with its sub-accounts as a tree, and a sub-account added under it.

use minijinja::{Value, context};
use poem::http::StatusCode;
use poem::web::{Data, Form, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use usher_domain::id::AccountId;
use usher_domain::model::{Account, AccountState, Settings};
use usher_domain::service::accounts::{self, SettingsPatch};

use super::i18n::fill;
use super::{Console, csrf_refused, form_value, problem_text, see_other, signed_in};
use crate::csrf::csrf_ok;
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

/// The settings as the form shows them, in the units people think in.
#[derive(Debug, Default, Serialize)]
struct Shown {
    self_registration: bool,
    email_verification_required: bool,
    usernames_must_be_emails: bool,
    link_identities_by_verified_email: bool,
    username_format: String,
    invitation_days: String,
    link_hours: String,
    session_hours: String,
    idle_minutes: String,
    password_min_length: String,
}

impl Shown {
    fn of(settings: &Settings) -> Shown {
        Shown {
            self_registration: settings.self_registration,
            email_verification_required: settings.email_verification_required,
            usernames_must_be_emails: settings.usernames_must_be_emails,
            link_identities_by_verified_email: settings.link_identities_by_verified_email,
            username_format: settings.username_format.as_str().to_owned(),
            invitation_days: (settings.invitation_lifetime.seconds() / 86_400).to_string(),
            link_hours: (settings.link_lifetime.seconds() / 3_600).to_string(),
            session_hours: (settings.session_lifetime.seconds() / 3_600).to_string(),
            idle_minutes: (settings.console_idle_timeout.seconds() / 60).to_string(),
            password_min_length: settings.password_policy.min_length().to_string(),
        }
    }

    fn parse(pairs: &[(String, String)]) -> Shown {
        let value = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim().to_owned());
        let on = |name: &str| value(name).is_some_and(|v| v == "on");
        Shown {
            self_registration: on("self_registration"),
            email_verification_required: on("email_verification_required"),
            usernames_must_be_emails: on("usernames_must_be_emails"),
            link_identities_by_verified_email: on("link_identities_by_verified_email"),
            username_format: value("username_format").unwrap_or_default(),
            invitation_days: value("invitation_days").unwrap_or_default(),
            link_hours: value("link_hours").unwrap_or_default(),
            session_hours: value("session_hours").unwrap_or_default(),
            idle_minutes: value("idle_minutes").unwrap_or_default(),
            password_min_length: value("password_min_length").unwrap_or_default(),
        }
    }

    /// The changes against `before`; a number that does not parse is named by its field.
    fn patch(&self, before: &Shown) -> Result<SettingsPatch, &'static str> {
        let flag = |now: bool, was: bool| (now != was).then_some(now);
        let number =
            |field: &'static str, now: &str, was: &str, unit: i64| -> Result<Option<i64>, &'static str> {
                if now == was {
                    return Ok(None);
                }
                now.parse::<i64>().ok().and_then(|n| n.checked_mul(unit)).map(Some).ok_or(field)
            };
        Ok(SettingsPatch {
            self_registration: flag(self.self_registration, before.self_registration),
            email_verification_required: flag(
                self.email_verification_required,
                before.email_verification_required,
            ),
            usernames_must_be_emails: flag(self.usernames_must_be_emails, before.usernames_must_be_emails),
            link_identities_by_verified_email: flag(
                self.link_identities_by_verified_email,
                before.link_identities_by_verified_email,
            ),
            username_format: (self.username_format != before.username_format)
                .then(|| self.username_format.clone()),
            invitation_lifetime_seconds: number(
                "invitation_days",
                &self.invitation_days,
                &before.invitation_days,
                86_400,
            )?,
            link_lifetime_seconds: number("link_hours", &self.link_hours, &before.link_hours, 3_600)?,
            session_lifetime_seconds: number(
                "session_hours",
                &self.session_hours,
                &before.session_hours,
                3_600,
            )?,
            console_idle_timeout_seconds: number(
                "idle_minutes",
                &self.idle_minutes,
                &before.idle_minutes,
                60,
            )?,
            password_min_length: match number(
                "password_min_length",
                &self.password_min_length,
                &before.password_min_length,
                1,
            )? {
                Some(n) => Some(u16::try_from(n).map_err(|_| "password_min_length")?),
                None => None,
            },
            ..SettingsPatch::default()
        })
    }
}

async fn settings_page(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    typed: Option<(&Shown, String)>,
    error: Option<String>,
    done: bool,
) -> Response {
    let lang = console.lang;
    let settings = match accounts::get_settings(&state.ports, &console.actor, console.user.account).await {
        Ok(settings) => settings,
        Err(err) => return console.problem(state, &Problem::from(err)),
    };
    let current = Shown::of(&settings);
    let (shown, fingerprint) = match typed {
        Some((shown, fingerprint)) => (Value::from_serialize(shown), fingerprint),
        None => (Value::from_serialize(&current), settings.fingerprint()),
    };
    let values = context! {
        title => lang.get("settings_title"), section => "settings", s => shown, fingerprint, error,
        done => done.then(|| lang.get("done_settings")),
    };
    console.page(state, status, "settings.html", values)
}

#[handler]
pub(crate) async fn show(
    Data(state): Data<&AppState>,
    req: &Request,
    Query(query): Query<DoneQuery>,
) -> Response {
    match signed_in(state, req).await {
        Ok(console) => {
            let done = query.done.as_deref() == Some("settings");
            settings_page(state, &console, StatusCode::OK, None, None, done).await
        }
        Err(answer) => answer,
    }
}

#[handler]
pub(crate) async fn save(
    Data(state): Data<&AppState>,
    req: &Request,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let value = |name: &str| form_value(&pairs, name);
    if !csrf_ok(state, req, &value("csrf")) {
        return csrf_refused(console.lang);
    }
    let lang = console.lang;
    let typed = Shown::parse(&pairs);
    let fingerprint = value("fingerprint");
    let before = match accounts::get_settings(&state.ports, &console.actor, console.user.account).await {
        Ok(settings) => Shown::of(&settings),
        Err(err) => return console.problem(state, &Problem::from(err)),
    };
    let mut patch = match typed.patch(&before) {
        Ok(patch) => patch,
        Err(field) => {
            let error = fill(lang.get("settings_not_a_number"), &[("field", lang.get(field).to_owned())]);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return settings_page(state, &console, status, Some((&typed, fingerprint)), Some(error), false)
                .await;
        }
    };
    patch.if_fingerprint = Some(fingerprint.clone()).filter(|f| !f.is_empty());
    // Settings belong to the root: they are changed there, by those who reach it (R23).
    match accounts::update_settings(&state.ports, &console.actor, console.user.root, patch).await {
        Ok(_) => see_other("/console/settings?done=settings"),
        Err(err) => {
            let problem = Problem::from(err);
            let status = super::status_of(&problem);
            let error = match problem.code.as_str() {
                "version_mismatch" => lang.get("problem_version_mismatch").to_owned(),
                _ => problem_text(lang, &problem),
            };
            settings_page(state, &console, status, Some((&typed, fingerprint)), Some(error), false).await
        }
    }
}

/// An account in the tree, with its sub-accounts.
#[derive(Debug, Serialize)]
struct Node {
    id: String,
    name: String,
    slug: String,
    suspended: bool,
    children: Vec<Node>,
}

/// How deep the tree is shown.
const TREE_DEPTH: usize = 4;

async fn node(state: &AppState, console: &Console, account: Account, depth: usize) -> Node {
    let children = if depth < TREE_DEPTH {
        accounts::list_sub_accounts(&state.ports, &console.actor, account.id).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut nodes = Vec::new();
    for child in children {
        nodes.push(Box::pin(node(state, console, child, depth + 1)).await);
    }
    Node {
        id: account.id.as_uuid().to_string(),
        name: account.name.to_string(),
        slug: account.slug.as_str().to_owned(),
        suspended: account.state == AccountState::Suspended,
        children: nodes,
    }
}

/// An account on a picker, indented by its depth below the first.
#[derive(Debug, Serialize)]
pub(crate) struct AccountChoice {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) depth: usize,
    pub(crate) selected: bool,
}

/// `top` and the accounts below it that the actor reads, in tree order.
pub(crate) async fn account_choices(
    state: &AppState,
    console: &Console,
    top: AccountId,
    selected: Option<&str>,
) -> Vec<AccountChoice> {
    let Ok(account) = accounts::get_account(&state.ports, &console.actor, top).await else {
        return Vec::new();
    };
    let tree = node(state, console, account, 0).await;
    let mut choices = Vec::new();
    let mut stack = vec![(&tree, 0usize)];
    while let Some((node, depth)) = stack.pop() {
        let label = format!("{}{} ({})", "– ".repeat(depth), node.name, node.slug);
        choices.push(AccountChoice {
            selected: selected == Some(node.id.as_str()),
            value: node.id.clone(),
            label,
            depth,
        });
        stack.extend(node.children.iter().rev().map(|child| (child, depth + 1)));
    }
    choices
}

async fn accounts_page(state: &AppState, console: &Console, status: StatusCode, extra: Value) -> Response {
    let lang = console.lang;
    let home = match accounts::get_account(&state.ports, &console.actor, console.user.account).await {
        Ok(home) => home,
        Err(err) => return console.problem(state, &Problem::from(err)),
    };
    let tree = node(state, console, home, 0).await;
    let values = context! { title => lang.get("accounts_title"), section => "accounts", tree, ..extra };
    console.page(state, status, "accounts.html", values)
}

#[handler]
pub(crate) async fn accounts_tree(
    Data(state): Data<&AppState>,
    req: &Request,
    Query(query): Query<DoneQuery>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let done = (query.done.as_deref() == Some("account")).then(|| console.lang.get("done_account"));
    accounts_page(state, &console, StatusCode::OK, context! { done }).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SubAccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
}

#[handler]
pub(crate) async fn add(
    Data(state): Data<&AppState>,
    req: &Request,
    Form(form): Form<SubAccountForm>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let parent: AccountId = console.user.account;
    match accounts::create_sub_account(&state.ports, &console.actor, parent, &form.slug, &form.name).await {
        Ok(_) => see_other("/console/accounts?done=account"),
        Err(err) => {
            let problem = Problem::from(err);
            let status = super::status_of(&problem);
            let extra = context! { error => problem_text(console.lang, &problem), slug => form.slug, name => form.name };
            accounts_page(state, &console, status, extra).await
        }
    }
}
