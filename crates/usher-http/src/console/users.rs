//! The users screens: the list (Active, Pending invitations and Deactivated tabs, search,
//! filters by type and role, cursor paging), one user's page, and its actions, each behind a
//! confirmation: deactivate, activate, send verification, mark verified, send a password reset,
//! delete and erase.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use time::macros::format_description;
use usher_domain::id::{RoleId, UserId, UserTypeId};
use usher_domain::model::{InvitationStatus, User, UserState};
use usher_domain::service::catalog;
use usher_domain::service::{invitations, users};
use usher_domain::time::Timestamp;

use super::i18n::fill;
use super::{Console, CsrfForm, csrf_refused, see_other, signed_in};
use crate::csrf::csrf_ok;
use crate::problem::Problem;
use crate::state::AppState;

/// Rows per page.
const PAGE_SIZE: u16 = 25;

/// The list's tab, search, filters and page.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    tab: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default, rename = "type")]
    user_type: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// One row of the list.
#[derive(Debug, Serialize)]
struct Row {
    id: String,
    href: Option<String>,
    username: String,
    name: String,
    email: String,
    user_type: String,
    roles: String,
    detail: String,
}

/// A choice of a filter.
#[derive(Debug, Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

pub(crate) fn when(at: Timestamp) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.as_datetime().format(format).unwrap_or_else(|_| at.to_rfc3339())
}

fn full_name(user: &User) -> String {
    let parts = [&user.profile.first_name, &user.profile.last_name];
    parts.iter().filter_map(|part| part.as_ref().map(ToString::to_string)).collect::<Vec<_>>().join(" ")
}

fn parse_id<T>(text: Option<&str>, make: fn(uuid::Uuid) -> T) -> Option<T> {
    text.filter(|t| !t.is_empty()).and_then(|t| uuid::Uuid::parse_str(t).ok()).map(make)
}

#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    req: &Request,
    Query(query): Query<ListQuery>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let (ports, actor, account) = (&state.ports, &console.actor, console.user.account);
    let page = match crate::api::page(query.cursor.as_deref(), Some(PAGE_SIZE)) {
        Ok(page) => page,
        Err(problem) => return console.problem(state, &problem),
    };
    // A user who may not read the catalogue still gets the list, without those filters.
    let types = catalog::list_user_types(ports, actor, account).await.unwrap_or_default();
    let roles = catalog::list_roles(ports, actor, account).await.unwrap_or_default();
    let type_names: BTreeMap<UserTypeId, String> = types.iter().map(|t| (t.id, t.name.to_string())).collect();
    let role_names: BTreeMap<RoleId, String> = roles.iter().map(|r| (r.id, r.name.to_string())).collect();
    let lang = console.lang;
    let tab = match query.tab.as_deref() {
        Some("pending") => "pending",
        Some("deactivated") => "deactivated",
        _ => "active",
    };
    let names = |ids: &mut dyn Iterator<Item = &RoleId>| {
        ids.filter_map(|id| role_names.get(id).cloned()).collect::<Vec<_>>().join(", ")
    };
    let (rows, next) = if tab == "pending" {
        let status = Some(InvitationStatus::Pending);
        match invitations::list_invitations(ports, actor, account, status, page).await {
            Ok(found) => {
                let rows = found.items.iter().map(|invitation| Row {
                    id: invitation.id.as_uuid().to_string(),
                    href: None,
                    username: String::new(),
                    name: String::new(),
                    email: invitation.email.to_string(),
                    user_type: type_names.get(&invitation.user_type).cloned().unwrap_or_default(),
                    roles: names(&mut invitation.roles.iter()),
                    detail: format!("{} {}", lang.get("expires"), when(invitation.expires_at)),
                });
                (rows.collect::<Vec<_>>(), found.next)
            }
            Err(err) => return console.problem(state, &Problem::from(err)),
        }
    } else {
        let filter = users::UserFilter {
            state: Some(if tab == "active" { UserState::Active } else { UserState::Disabled }),
            q: query.q.clone().filter(|q| !q.trim().is_empty()),
            user_type: parse_id(query.user_type.as_deref(), UserTypeId::from_uuid),
            role: parse_id(query.role.as_deref(), RoleId::from_uuid),
        };
        match users::list_users(ports, actor, account, filter, page).await {
            Ok(found) => {
                let rows = found.items.iter().map(|user| Row {
                    id: user.id.as_uuid().to_string(),
                    href: Some(format!("/console/users/{}", user.id.as_uuid())),
                    username: user.username.as_str().to_owned(),
                    name: full_name(user),
                    email: user.email.to_string(),
                    user_type: type_names.get(&user.user_type).cloned().unwrap_or_default(),
                    roles: names(&mut user.roles.iter()),
                    detail: lang
                        .get(if user.state == UserState::Active { "state_active" } else { "state_disabled" })
                        .to_owned(),
                });
                (rows.collect::<Vec<_>>(), found.next)
            }
            Err(err) => return console.problem(state, &Problem::from(err)),
        }
    };
    let choices = |items: Vec<(String, String)>, selected: Option<&str>| {
        items
            .into_iter()
            .map(|(value, label)| Choice { selected: selected == Some(value.as_str()), value, label })
            .collect::<Vec<_>>()
    };
    let type_choices = choices(
        types.iter().map(|t| (t.id.as_uuid().to_string(), t.name.to_string())).collect(),
        query.user_type.as_deref(),
    );
    let role_choices = choices(
        roles.iter().map(|r| (r.id.as_uuid().to_string(), r.name.to_string())).collect(),
        query.role.as_deref(),
    );
    // The next page keeps the tab, search and filters.
    let next = next.map(|cursor| {
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        params.append_pair("tab", tab);
        for (name, value) in [("q", &query.q), ("type", &query.user_type), ("role", &query.role)] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                params.append_pair(name, value);
            }
        }
        params.append_pair("cursor", &cursor.encode());
        format!("/console/users?{}", params.finish())
    });
    let done = done_notice(&console, query.done.as_deref());
    let values = context! {
        title => lang.get("users_title"), section => "users", tab, rows, next, done,
        paged => query.cursor.is_some(),
        q => query.q.clone().unwrap_or_default(), type_choices, role_choices,
    };
    console.page(state, StatusCode::OK, "users.html", values)
}

/// What an action does, as its path names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Disable,
    Enable,
    SendVerification,
    MarkVerified,
    SendReset,
    Delete,
    Erase,
}

impl Action {
    const ALL: [Action; 7] = [
        Action::Disable,
        Action::Enable,
        Action::SendVerification,
        Action::MarkVerified,
        Action::SendReset,
        Action::Delete,
        Action::Erase,
    ];

    fn slug(self) -> &'static str {
        match self {
            Action::Disable => "disable",
            Action::Enable => "enable",
            Action::SendVerification => "send-verification",
            Action::MarkVerified => "mark-verified",
            Action::SendReset => "send-reset",
            Action::Delete => "delete",
            Action::Erase => "erase",
        }
    }

    fn parse(slug: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|action| action.slug() == slug)
    }

    /// The catalogue's key stem (`action_…`, `confirm_…`, `done_…`).
    fn key(self) -> &'static str {
        match self {
            Action::Disable => "disable",
            Action::Enable => "enable",
            Action::SendVerification => "send_verification",
            Action::MarkVerified => "mark_verified",
            Action::SendReset => "send_reset",
            Action::Delete => "delete",
            Action::Erase => "erase",
        }
    }

    /// Whether the action cannot be undone (its button is marked as dangerous).
    fn destructive(self) -> bool {
        matches!(self, Action::Delete | Action::Erase | Action::Disable)
    }

    /// The actions that make sense for `user` now.
    /// `verification`: whether the account asks users to confirm their email.
    fn offered(user: &User, verification: bool) -> Vec<Action> {
        let mut actions = Vec::new();
        if user.erased_at.is_some() {
            return actions;
        }
        actions.push(if user.state == UserState::Active { Action::Disable } else { Action::Enable });
        if verification && user.email_verified_at.is_none() {
            actions.extend([Action::SendVerification, Action::MarkVerified]);
        }
        actions.extend([Action::SendReset, Action::Delete, Action::Erase]);
        actions
    }
}

#[derive(Debug, Serialize)]
struct Offered {
    href: String,
    label: String,
    destructive: bool,
}

/// The notice after an action, named by its slug in `?done=`: only actions' own notices.
fn done_notice(console: &Console, done: Option<&str>) -> Option<String> {
    let done = done?;
    let key = match Action::parse(done) {
        Some(action) => action.key(),
        None if matches!(done, "resend" | "revoke" | "edit" | "password" | "created") => done,
        None => return None,
    };
    Some(console.lang.get(&format!("done_{key}")).to_owned())
}

pub(crate) fn not_found(console: &Console, state: &AppState) -> Response {
    let problem = super::said(StatusCode::NOT_FOUND, console.lang.get("not_found"));
    console.problem(state, &problem)
}

pub(crate) async fn load(console: &Console, state: &AppState, id: &str) -> Result<User, Response> {
    let Some(id) = parse_id(Some(id), UserId::from_uuid) else {
        return Err(not_found(console, state));
    };
    users::get_user(&state.ports, &console.actor, id)
        .await
        .map_err(|err| console.problem(state, &Problem::from(err)))
}

/// The user a form names by username or email (a sales representative): one the signed-in
/// user can see, or a problem for the field `field`. Empty names nobody; an id is taken as
/// it is (the domain checks it, and a form shows an id for a user its viewer cannot see).
pub(crate) async fn named_user(
    state: &AppState,
    console: &Console,
    typed: &str,
    field: &str,
) -> Result<Option<UserId>, Problem> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    if let Ok(id) = uuid::Uuid::parse_str(typed) {
        return Ok(Some(UserId::from_uuid(id)));
    }
    let filter = users::UserFilter { q: Some(typed.to_owned()), ..users::UserFilter::default() };
    let page = crate::api::page(None, Some(PAGE_SIZE)).map_err(|problem| *problem)?;
    let found = users::list_users(&state.ports, &console.actor, console.user.account, filter, page)
        .await
        .map_err(Problem::from)?;
    let wanted = typed.to_lowercase();
    match found.items.iter().find(|u| u.username.as_str() == wanted || u.email.to_string() == wanted) {
        Some(user) => Ok(Some(user.id)),
        // The catalogue's text names what was typed, which is the problem's detail.
        None => Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_user", typed).with_field(field)),
    }
}

/// How a form shows a user it names: the username where the signed-in user can read it,
/// else the id.
pub(crate) async fn username_of(state: &AppState, console: &Console, id: Option<UserId>) -> String {
    let Some(id) = id else {
        return String::new();
    };
    match users::get_user(&state.ports, &console.actor, id).await {
        Ok(user) => user.username.as_str().to_owned(),
        Err(_) => id.as_uuid().to_string(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ShowQuery {
    done: Option<String>,
}

#[handler]
pub(crate) async fn show(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let user = or_answer!(load(&console, state, &id).await);
    let lang = console.lang;
    let (ports, actor) = (&state.ports, &console.actor);
    let type_name = catalog::list_user_types(ports, actor, user.account)
        .await
        .unwrap_or_default()
        .into_iter()
        .find(|t| t.id == user.user_type)
        .map(|t| t.name.to_string());
    let role_names: Vec<String> = catalog::list_roles(ports, actor, user.account)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| user.roles.contains(&r.id))
        .map(|r| r.name.to_string())
        .collect();
    // POS: Email Confirmed is shown, and verification offered, only when the account asks for
    // it (someone who cannot read the settings sees it as the default has it: on).
    let verification = usher_domain::service::accounts::get_settings(ports, actor, user.account)
        .await
        .map_or(true, |settings| settings.email_verification_required);
    // Oro: the user's own sales representative, else the one its account (or the nearest
    // account above) names.
    let effective =
        users::get_user_access(ports, actor, user.id).await.ok().and_then(|(_, a)| a.sales_representative);
    let representative = match effective {
        Some(id) => {
            let names = users::display_names(ports, actor, &BTreeSet::from([id])).await.unwrap_or_default();
            let name = names.get(&id).cloned().unwrap_or_else(|| id.as_uuid().to_string());
            let inherited = user.sales_representative.is_none();
            Some(if inherited { fill(lang.get("sales_rep_inherited"), &[("name", name)]) } else { name })
        }
        None => None,
    };
    let actions: Vec<Offered> = Action::offered(&user, verification)
        .into_iter()
        .map(|action| Offered {
            href: format!("/console/users/{}/{}", user.id.as_uuid(), action.slug()),
            label: lang.get(&format!("action_{}", action.key())).to_owned(),
            destructive: action.destructive(),
        })
        .collect();
    let values = context! {
        title => fill(lang.get("user_title"), &[("username", user.username.as_str().to_owned())]),
        section => "users",
        username => user.username.as_str(),
        name => full_name(&user),
        email => user.email.to_string(),
        user_type => type_name.unwrap_or_default(),
        roles => role_names.join(", "),
        active => user.state == UserState::Active,
        verified => user.email_verified_at.map(when),
        verification,
        last_login => user.last_login_at.map(when),
        created => when(user.created_at),
        actions,
        edit => format!("/console/users/{}/edit", user.id.as_uuid()),
        history => format!("/console/audit?target_kind=user&target={}", user.id.as_uuid()),
        set_password => format!("/console/users/{}/password", user.id.as_uuid()),
        devices => format!("/console/users/{}/devices", user.id.as_uuid()),
        representative,
        notification_email => user.profile.notification_email.as_ref().map(ToString::to_string),
        sales_territories => user.profile.sales_territories.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        done => done_notice(&console, query.done.as_deref()),
    };
    console.page(state, StatusCode::OK, "user.html", values)
}

#[handler]
pub(crate) async fn confirm(
    Data(state): Data<&AppState>,
    req: &Request,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let Some(action) = Action::parse(&action) else {
        return not_found(&console, state);
    };
    let user = or_answer!(load(&console, state, &id).await);
    let lang = console.lang;
    let label = lang.get(&format!("action_{}", action.key()));
    let values = [("username", user.username.as_str().to_owned()), ("email", user.email.to_string())];
    let values = context! {
        title => fill(lang.get("confirm_title"), &[("action", label.to_owned())]),
        sentence => fill(lang.get(&format!("confirm_{}", action.key())), &values),
        section => "users",
        label,
        destructive => action.destructive(),
        back => format!("/console/users/{}", user.id.as_uuid()),
        target => format!("/console/users/{}/{}", user.id.as_uuid(), action.slug()),
    };
    console.page(state, StatusCode::OK, "confirm.html", values)
}

#[handler]
pub(crate) async fn act(
    Data(state): Data<&AppState>,
    req: &Request,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let (Some(action), Some(user)) = (Action::parse(&action), parse_id(Some(&id), UserId::from_uuid)) else {
        return not_found(&console, state);
    };
    let (ports, actor) = (&state.ports, &console.actor);
    let outcome = match action {
        Action::Disable => users::disable_user(ports, actor, user).await.map(drop),
        Action::Enable => users::enable_user(ports, actor, user).await.map(drop),
        Action::SendVerification => users::send_verification_email(ports, actor, user).await,
        Action::MarkVerified => users::mark_email_verified(ports, actor, user).await.map(drop),
        Action::SendReset => users::send_password_reset(ports, actor, user).await,
        Action::Delete => users::delete_user(ports, actor, user).await,
        Action::Erase => users::erase_user(ports, actor, user).await.map(drop),
    };
    match outcome {
        Ok(()) if matches!(action, Action::Delete | Action::Erase) => {
            see_other(&format!("/console/users?done={}", action.slug()))
        }
        Ok(()) => see_other(&format!("/console/users/{}?done={}", user.as_uuid(), action.slug())),
        Err(err) => console.problem(state, &Problem::from(err)),
    }
}
