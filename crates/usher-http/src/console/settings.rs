//! The tenant's settings and its accounts: the settings read from the signed-in user's account
//! and changed at the root (R23), guarded by their fingerprint so a change made meanwhile is
//! refused; the account with its sub-accounts as a tree, and a sub-account added under it.

use std::collections::BTreeMap;

use minijinja::{Value, context};
use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use usher_domain::id::AccountId;
use usher_domain::model::{Account, AccountState, Settings};
use usher_domain::service::accounts::{self, AccountPatch, SettingsPatch};

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

/// The tree below `top`, read at once; `None` when the signed-in user may not read `top`.
async fn tree(state: &AppState, console: &Console, top: AccountId) -> Result<Node, Problem> {
    let accounts = accounts::account_tree(&state.ports, &console.actor, top).await.map_err(Problem::from)?;
    let mut children: BTreeMap<AccountId, Vec<&Account>> = BTreeMap::new();
    for account in &accounts {
        if let Some(parent) = account.parent().filter(|_| account.id != top) {
            children.entry(parent).or_default().push(account);
        }
    }
    fn node(account: &Account, children: &BTreeMap<AccountId, Vec<&Account>>) -> Node {
        let mut below: Vec<&Account> = children.get(&account.id).cloned().unwrap_or_default();
        below.sort_by(|a, b| a.slug.cmp(&b.slug));
        Node {
            id: account.id.as_uuid().to_string(),
            name: account.name.to_string(),
            slug: account.slug.as_str().to_owned(),
            suspended: account.state == AccountState::Suspended,
            children: below.into_iter().map(|child| node(child, children)).collect(),
        }
    }
    match accounts.iter().find(|a| a.id == top) {
        Some(account) => Ok(node(account, &children)),
        None => Err(Problem::not_found("account")),
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
    let Ok(tree) = tree(state, console, top).await else {
        return Vec::new();
    };
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
    let tree = match tree(state, console, console.user.account).await {
        Ok(tree) => tree,
        Err(problem) => return console.problem(state, &problem),
    };
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
    let done = match query.done.as_deref() {
        Some("account") => Some(console.lang.get("done_account")),
        Some("account_saved") => Some(console.lang.get("done_account_saved")),
        _ => None,
    };
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

/// An account's form: its name and the sales representative its users and the accounts below
/// it default to (Oro), at the version it was made from (If-Match).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    sales_representative: String,
}

async fn account_page(
    state: &AppState,
    console: &Console,
    account: &Account,
    form: &AccountForm,
    status: StatusCode,
    problem: Option<&Problem>,
) -> Response {
    let lang = console.lang;
    let (mut error, mut rep_error) = (None, None);
    if let Some(problem) = problem {
        let text = match problem.code.as_str() {
            "version_mismatch" => lang.get("problem_version_mismatch").to_owned(),
            _ => problem_text(lang, problem),
        };
        if problem.field.as_deref() == Some("sales_representative")
            || problem.entity.as_deref() == Some("sales representative")
        {
            rep_error = Some(text);
        } else {
            error = Some(text);
        }
    }
    let values = context! {
        title => fill(lang.get("account_title"), &[("name", account.name.to_string())]),
        section => "accounts",
        target => format!("/console/accounts/{}", account.id.as_uuid()),
        slug => account.slug.as_str(),
        version => form.version, name => form.name, sales_representative => form.sales_representative,
        error, rep_error,
    };
    console.page(state, status, "account.html", values)
}

async fn load_account(state: &AppState, console: &Console, id: &str) -> Result<Account, Response> {
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return Err(super::users::not_found(console, state));
    };
    accounts::get_account(&state.ports, &console.actor, AccountId::from_uuid(id))
        .await
        .map_err(|err| console.problem(state, &Problem::from(err)))
}

async fn account_form(state: &AppState, console: &Console, account: &Account) -> AccountForm {
    AccountForm {
        csrf: String::new(),
        version: account.version.to_string(),
        name: account.name.to_string(),
        sales_representative: super::users::username_of(state, console, account.sales_representative).await,
    }
}

#[handler]
pub(crate) async fn show_account(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let account = or_answer!(load_account(state, &console, &id).await);
    let form = account_form(state, &console, &account).await;
    account_page(state, &console, &account, &form, StatusCode::OK, None).await
}

#[handler]
pub(crate) async fn save_account(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<AccountForm>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let account = or_answer!(load_account(state, &console, &id).await);
    let before = account_form(state, &console, &account).await;
    let typed = form.sales_representative.trim();
    let sales_representative = if typed == before.sales_representative {
        None
    } else {
        match super::users::named_user(state, &console, typed, "sales_representative").await {
            Ok(representative) => Some(representative),
            Err(problem) => {
                let status = super::status_of(&problem);
                return account_page(state, &console, &account, &form, status, Some(&problem)).await;
            }
        }
    };
    let name = form.name.trim();
    let patch = AccountPatch {
        name: (name != before.name).then(|| name.to_owned()),
        sales_representative,
        // A version that does not parse names no state of ours: it never matches.
        if_version: Some(form.version.parse().unwrap_or(u64::MAX)),
        ..AccountPatch::default()
    };
    match accounts::update_account(&state.ports, &console.actor, account.id, patch).await {
        Ok(_) => see_other("/console/accounts?done=account_saved"),
        Err(err) => {
            let problem = Problem::from(err);
            let status = super::status_of(&problem);
            account_page(state, &console, &account, &form, status, Some(&problem)).await
        }
    }
}
