//! Inviting users (the portal's "Invite users"): many addresses at once, a user type picked
//! with its seat figures (a type with no free seat cannot be picked), roles (none: the
//! settings' default roles) and the mail's language; the answer is the outcome of every address
//! (R10). Pending invitations are resent or revoked from the Pending invitations tab, each
//! behind a confirmation.

use std::collections::BTreeSet;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use serde::Serialize;
use usher_domain::authz::Actor;
use usher_domain::id::{AccountId, InvitationId, RoleId, UserTypeId};
use usher_domain::service::catalog;
use usher_domain::service::invitations::{self, InviteOutcome, NewInvitations};

use super::i18n::{Lang, fill};
use super::{Console, CsrfForm, csrf_refused, see_other, signed_in};
use crate::csrf::csrf_ok;
use crate::problem::Problem;
use crate::state::AppState;

/// A user type on a picker, with its seat figures when it takes seats and the caller may see
/// them.
#[derive(Debug, Serialize)]
pub(crate) struct TypeChoice {
    value: String,
    label: String,
    /// No seat is free: shown, not pickable (unless it is the one already held).
    pub(crate) full: bool,
    selected: bool,
}

/// The user types of `account`'s root for a picker: "Sales (2 of 5 free)", and a type with no
/// free seat disabled.
pub(crate) async fn type_choices(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    account: AccountId,
    selected: Option<&str>,
) -> Vec<TypeChoice> {
    let ports = &state.ports;
    let figures = catalog::get_subscription(ports, actor, account).await.unwrap_or_default();
    let types = catalog::list_user_types(ports, actor, account).await.unwrap_or_default();
    types
        .into_iter()
        .filter(|user_type| user_type.key.as_str() != "member")
        .map(|user_type| {
            let usage = figures.iter().find(|(t, _)| t.id == user_type.id).map(|(_, usage)| *usage);
            let value = user_type.id.as_uuid().to_string();
            let (label, full) = match usage {
                Some(usage) if user_type.consumes_seat => {
                    let seats = [("free", usage.free().to_string()), ("total", usage.total.to_string())];
                    let label = format!("{} ({})", user_type.name, fill(lang.get("seats_free"), &seats));
                    (label, usage.free() == 0)
                }
                _ => (user_type.name.to_string(), false),
            };
            TypeChoice { selected: selected == Some(value.as_str()), value, label, full }
        })
        .collect()
}

/// The roles of `account`'s root as checkboxes.
#[derive(Debug, Serialize)]
pub(crate) struct RoleChoice {
    value: String,
    label: String,
    checked: bool,
}

pub(crate) async fn role_choices(
    state: &AppState,
    actor: &Actor,
    account: AccountId,
    checked: &BTreeSet<String>,
) -> Vec<RoleChoice> {
    let roles = catalog::list_roles(&state.ports, actor, account).await.unwrap_or_default();
    roles
        .into_iter()
        .map(|role| {
            let value = role.id.as_uuid().to_string();
            RoleChoice { checked: checked.contains(&value), label: role.name.to_string(), value }
        })
        .collect()
}

/// The invite form as posted: `roles` repeats, so it is read from the raw pairs.
#[derive(Debug, Default)]
struct InviteForm {
    csrf: String,
    emails: String,
    user_type: String,
    roles: BTreeSet<String>,
    locale: String,
}

impl InviteForm {
    fn parse(pairs: Vec<(String, String)>) -> InviteForm {
        let mut form = InviteForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "csrf" => form.csrf = value,
                "emails" => form.emails = value,
                "user_type" => form.user_type = value,
                "roles" => {
                    form.roles.insert(value);
                }
                "locale" => form.locale = value,
                _ => {}
            }
        }
        form
    }
}

/// One address's outcome.
#[derive(Debug, Serialize)]
struct Outcome {
    email: String,
    text: String,
    ok: bool,
}

async fn invite_page(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    form: &InviteForm,
    outcomes: Vec<Outcome>,
    error: Option<String>,
) -> Response {
    let account = console.user.account;
    let selected = Some(form.user_type.as_str()).filter(|s| !s.is_empty());
    let types = type_choices(state, &console.actor, console.lang, account, selected).await;
    let roles = role_choices(state, &console.actor, account, &form.roles).await;
    let invited = outcomes.iter().filter(|o| o.ok).count();
    let summary = (!outcomes.is_empty()).then(|| {
        let counts = [("invited", invited.to_string()), ("total", outcomes.len().to_string())];
        fill(console.lang.get("invite_summary"), &counts)
    });
    let values = context! {
        title => console.lang.get("invite_title"), section => "users",
        emails => if outcomes.is_empty() { form.emails.as_str() } else { "" },
        locale => form.locale, types, roles, outcomes, summary, error,
    };
    console.page(state, status, "invite.html", values)
}

#[handler]
pub(crate) async fn page(Data(state): Data<&AppState>, req: &Request) -> Response {
    match signed_in(state, req).await {
        Ok(console) => {
            invite_page(state, &console, StatusCode::OK, &InviteForm::default(), Vec::new(), None).await
        }
        Err(answer) => answer,
    }
}

#[handler]
pub(crate) async fn submit(
    Data(state): Data<&AppState>,
    req: &Request,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let form = InviteForm::parse(pairs);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let lang = console.lang;
    let emails: Vec<String> = form
        .emails
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    let user_type = uuid::Uuid::parse_str(&form.user_type).ok().map(UserTypeId::from_uuid);
    let (Some(user_type), false) = (user_type, emails.is_empty()) else {
        let error = Some(lang.get("invite_incomplete").to_owned());
        return invite_page(state, &console, StatusCode::UNPROCESSABLE_ENTITY, &form, Vec::new(), error)
            .await;
    };
    let roles =
        form.roles.iter().filter_map(|r| uuid::Uuid::parse_str(r).ok()).map(RoleId::from_uuid).collect();
    let locale = Some(form.locale.clone()).filter(|l| matches!(l.as_str(), "en" | "de"));
    let command = NewInvitations { emails, user_type, roles, scope: BTreeSet::new(), locale };
    match invitations::invite(&state.ports, &console.actor, console.user.account, command).await {
        Ok(results) => {
            let outcomes = results
                .into_iter()
                .map(|(email, outcome)| Outcome {
                    ok: matches!(outcome, InviteOutcome::Invited(_)),
                    text: lang.get(&format!("outcome_{}", outcome.code())).to_owned(),
                    email,
                })
                .collect();
            invite_page(state, &console, StatusCode::OK, &form, outcomes, None).await
        }
        Err(err) => {
            let error = Some(super::problem_text(lang, &Problem::from(err)));
            invite_page(state, &console, StatusCode::UNPROCESSABLE_ENTITY, &form, Vec::new(), error).await
        }
    }
}

/// What can be done to a pending invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Resend,
    Revoke,
}

impl Action {
    fn parse(slug: &str) -> Option<Action> {
        match slug {
            "resend" => Some(Action::Resend),
            "revoke" => Some(Action::Revoke),
            _ => None,
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Action::Resend => "resend",
            Action::Revoke => "revoke",
        }
    }
}

#[handler]
pub(crate) async fn confirm(
    Data(state): Data<&AppState>,
    req: &Request,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let (Some(action), Ok(id)) = (Action::parse(&action), uuid::Uuid::parse_str(&id)) else {
        return super::users::not_found(&console, state);
    };
    let lang = console.lang;
    let label = lang.get(&format!("action_{}", action.slug()));
    let values = context! {
        title => fill(lang.get("confirm_title"), &[("action", label.to_owned())]),
        section => "users",
        sentence => lang.get(&format!("confirm_{}", action.slug())),
        label,
        destructive => action == Action::Revoke,
        back => "/console/users?tab=pending",
        target => format!("/console/invitations/{id}/{}", action.slug()),
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
    let (Some(action), Ok(id)) = (Action::parse(&action), uuid::Uuid::parse_str(&id)) else {
        return super::users::not_found(&console, state);
    };
    let id = InvitationId::from_uuid(id);
    let outcome = match action {
        Action::Resend => invitations::resend(&state.ports, &console.actor, id).await.map(drop),
        Action::Revoke => invitations::revoke(&state.ports, &console.actor, id).await,
    };
    match outcome {
        Ok(()) => see_other(&format!("/console/users?tab=pending&done={}", action.slug())),
        Err(err) => console.problem(state, &Problem::from(err)),
    }
}
