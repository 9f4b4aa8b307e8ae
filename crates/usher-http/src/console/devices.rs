//! A user's linked devices (Licensed users: Linked Devices): the list, a device linked by its
//! name and identifier once the user has a password (R18), and unlinking. Listing is audited,
//! as through `/v1`.

use minijinja::{Value, context};
use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use usher_domain::id::DeviceId;
use usher_domain::model::User;
use usher_domain::service::users;

use super::i18n::fill;
use super::users::{load, not_found, when};
use super::{Console, CsrfForm, csrf_refused, problem_text, see_other, signed_in};
use crate::csrf::csrf_ok;
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct DeviceLine {
    name: String,
    identifier: String,
    linked: String,
    unlink: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DevicesQuery {
    done: Option<String>,
}

fn devices_of(user: &User) -> String {
    format!("/console/users/{}/devices", user.id.as_uuid())
}

/// The page, with the devices listed (an audited read, R18) unless `listed` is false: a refused
/// form is shown again without reading them, so a refusal leaves the audit as it was.
async fn devices_page(
    state: &AppState,
    console: &Console,
    user: &User,
    status: StatusCode,
    listed: bool,
    extra: Value,
) -> Response {
    let lang = console.lang;
    let devices = if listed {
        match users::list_devices(&state.ports, &console.actor, user.id).await {
            Ok(devices) => devices,
            Err(err) => return console.problem(state, &Problem::from(err)),
        }
    } else {
        Vec::new()
    };
    let lines: Vec<DeviceLine> = devices
        .iter()
        .map(|device| DeviceLine {
            name: device.name.to_string(),
            identifier: device.identifier.to_string(),
            linked: when(device.linked_at),
            unlink: format!("{}/{}/unlink", devices_of(user), device.id.as_uuid()),
        })
        .collect();
    let values = context! {
        title => fill(lang.get("devices_title"), &[("username", user.username.as_str().to_owned())]),
        section => "users",
        back => format!("/console/users/{}", user.id.as_uuid()),
        target => devices_of(user),
        has_password => user.has_password,
        listed,
        lines,
        ..extra
    };
    console.page(state, status, "devices.html", values)
}

#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    Query(query): Query<DevicesQuery>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let user = or_answer!(load(&console, state, &id).await);
    let done = match query.done.as_deref() {
        Some("linked") => Some(console.lang.get("done_device_linked")),
        Some("unlinked") => Some(console.lang.get("done_device_unlinked")),
        _ => None,
    };
    devices_page(state, &console, &user, StatusCode::OK, true, context! { done }).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    identifier: String,
}

#[handler]
pub(crate) async fn link(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<LinkForm>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let user = or_answer!(load(&console, state, &id).await);
    match users::link_device(&state.ports, &console.actor, user.id, form.name.trim(), form.identifier.trim())
        .await
    {
        Ok(_) => see_other(&format!("{}?done=linked", devices_of(&user))),
        Err(err) => {
            let problem = Problem::from(err);
            let status = super::status_of(&problem);
            let error = problem_text(console.lang, &problem);
            let extra = context! { error, name => form.name, identifier => form.identifier };
            devices_page(state, &console, &user, status, false, extra).await
        }
    }
}

#[handler]
pub(crate) async fn unlink(
    Data(state): Data<&AppState>,
    req: &Request,
    Path((id, device)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let user = or_answer!(load(&console, state, &id).await);
    let Ok(device) = uuid::Uuid::parse_str(&device) else {
        return not_found(&console, state);
    };
    match users::unlink_device(&state.ports, &console.actor, user.id, DeviceId::from_uuid(device)).await {
        Ok(()) => see_other(&format!("{}?done=unlinked", devices_of(&user))),
        Err(err) => console.problem(state, &Problem::from(err)),
    }
}
