//! Roles (the portal's Set Permission): the tenant's roles, and one role's name and its
//! permissions as a module × read/write grid. A built-in role is shown, not changed (R22); a
//! role is given only permissions the editor holds (R4); the form carries the role's version.

use std::collections::BTreeSet;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use usher_domain::id::RoleId;
use usher_domain::model::Role;
use usher_domain::service::catalog::{self, RolePatch};
use usher_domain::value::{Access, Module, Permission};

use super::i18n::{Lang, fill};
use super::{Console, csrf_refused, problem_text, see_other, signed_in};
use crate::csrf::csrf_ok;
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct Summary {
    href: String,
    name: String,
    builtin: bool,
    permissions: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    done: Option<String>,
}

#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    req: &Request,
    Query(query): Query<ListQuery>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let lang = console.lang;
    let roles = match catalog::list_roles(&state.ports, &console.actor, console.user.account).await {
        Ok(roles) => roles,
        Err(err) => return console.problem(state, &Problem::from(err)),
    };
    let summaries: Vec<Summary> = roles
        .iter()
        .map(|role| Summary {
            href: format!("/console/roles/{}", role.id.as_uuid()),
            name: role.name.to_string(),
            builtin: role.builtin.is_some(),
            permissions: role.permissions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        })
        .collect();
    let done = query.done.as_deref().filter(|d| *d == "role").map(|_| lang.get("done_role"));
    let values = context! { title => lang.get("roles_title"), section => "roles", roles => summaries, done };
    console.page(state, StatusCode::OK, "roles.html", values)
}

/// One line of the grid.
#[derive(Debug, Serialize)]
pub(crate) struct GridLine {
    module: &'static str,
    label: &'static str,
    read: bool,
    write: bool,
}

pub(crate) fn grid(lang: Lang, held: &BTreeSet<Permission>) -> Vec<GridLine> {
    Module::ALL
        .iter()
        .map(|module| GridLine {
            module: module.as_str(),
            label: lang.get(&format!("module_{}", module.as_str())),
            read: held.contains(&Permission::new(*module, Access::Read)),
            write: held.contains(&Permission::new(*module, Access::Write)),
        })
        .collect()
}

/// The role form as posted (`perm` repeats).
#[derive(Debug, Default)]
struct RoleForm {
    csrf: String,
    version: String,
    name: String,
    permissions: BTreeSet<Permission>,
}

impl RoleForm {
    fn parse(pairs: Vec<(String, String)>) -> RoleForm {
        let mut form = RoleForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "csrf" => form.csrf = value,
                "version" => form.version = value,
                "name" => form.name = value,
                "perm" => {
                    if let Ok(permission) = Permission::parse(&value) {
                        form.permissions.insert(permission);
                    }
                }
                _ => {}
            }
        }
        form
    }
}

fn role_page(
    state: &AppState,
    console: &Console,
    role: Option<&Role>,
    form: &RoleForm,
    status: StatusCode,
    problem: Option<&Problem>,
) -> Response {
    let lang = console.lang;
    let error = problem.map(|problem| match problem.code.as_str() {
        "version_mismatch" => lang.get("problem_version_mismatch").to_owned(),
        _ => problem_text(lang, problem),
    });
    let title = match role {
        Some(role) => fill(lang.get("role_title"), &[("name", role.name.to_string())]),
        None => lang.get("new_role").to_owned(),
    };
    let values = context! {
        title, section => "roles",
        target => role.map_or_else(|| "/console/roles/new".to_owned(), |r| format!("/console/roles/{}", r.id.as_uuid())),
        builtin => role.is_some_and(|r| r.builtin.is_some()),
        version => form.version, name => form.name,
        grid => grid(lang, &form.permissions), error,
    };
    console.page(state, status, "role.html", values)
}

async fn load(console: &Console, state: &AppState, id: &str) -> Result<Role, Response> {
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return Err(super::users::not_found(console, state));
    };
    catalog::get_role(&state.ports, &console.actor, RoleId::from_uuid(id))
        .await
        .map_err(|err| console.problem(state, &Problem::from(err)))
}

fn form_of(role: &Role) -> RoleForm {
    RoleForm {
        csrf: String::new(),
        version: role.version.to_string(),
        name: role.name.to_string(),
        permissions: role.permissions.clone(),
    }
}

#[handler]
pub(crate) async fn show(Data(state): Data<&AppState>, req: &Request, Path(id): Path<String>) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    match load(&console, state, &id).await {
        Ok(role) => role_page(state, &console, Some(&role), &form_of(&role), StatusCode::OK, None),
        Err(answer) => answer,
    }
}

#[handler]
pub(crate) async fn new_role(Data(state): Data<&AppState>, req: &Request) -> Response {
    match signed_in(state, req).await {
        Ok(console) => role_page(state, &console, None, &RoleForm::default(), StatusCode::OK, None),
        Err(answer) => answer,
    }
}

#[handler]
pub(crate) async fn create(
    Data(state): Data<&AppState>,
    req: &Request,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let form = RoleForm::parse(pairs);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let account = console.user.account;
    match catalog::create_role(&state.ports, &console.actor, account, &form.name, form.permissions.clone())
        .await
    {
        Ok(_) => see_other("/console/roles?done=role"),
        Err(err) => {
            let problem = Problem::from(err);
            let status = super::status_of(&problem);
            role_page(state, &console, None, &form, status, Some(&problem))
        }
    }
}

#[handler]
pub(crate) async fn save(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let form = RoleForm::parse(pairs);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let role = or_answer!(load(&console, state, &id).await);
    let patch = RolePatch {
        name: (form.name.trim() != role.name.as_str()).then(|| form.name.trim().to_owned()),
        permissions: (form.permissions != role.permissions).then(|| form.permissions.clone()),
        external_id: None,
        // A version that does not parse names no state of ours: it never matches.
        if_version: Some(form.version.parse().unwrap_or(u64::MAX)),
    };
    match catalog::update_role(&state.ports, &console.actor, role.id, patch).await {
        Ok(_) => see_other("/console/roles?done=role"),
        Err(err) => {
            let problem = Problem::from(err);
            let status = super::status_of(&problem);
            role_page(state, &console, Some(&role), &form, status, Some(&problem))
        }
    }
}
