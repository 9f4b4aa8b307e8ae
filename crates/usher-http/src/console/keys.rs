//! API keys of the signed-in user's account: the list, a new key (its permissions on the
//! module × read/write grid, never more than its maker holds, R4 and R24) whose secret is shown
//! once, on the answer to the form, and revocation behind a confirmation.

use std::collections::BTreeSet;

use minijinja::{Value, context};
use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use usher_domain::id::ApiKeyId;
use usher_domain::service::integrations;
use usher_domain::value::Permission;

use super::i18n::fill;
use super::roles::grid;
use super::users::when;
use super::{Console, CsrfForm, csrf_refused, form_value, problem_text, see_other, signed_in};
use crate::csrf::csrf_ok;
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct KeyLine {
    name: String,
    permissions: String,
    created: String,
    expires: String,
    state: &'static str,
    revoke: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    done: Option<String>,
}

async fn keys_page(state: &AppState, console: &Console, status: StatusCode, extra: Value) -> Response {
    let lang = console.lang;
    let keys = match integrations::list_api_keys(&state.ports, &console.actor, console.user.account).await {
        Ok(keys) => keys,
        Err(err) => return console.problem(state, &Problem::from(err)),
    };
    let now = state.ports.clock.now();
    let lines: Vec<KeyLine> = keys
        .iter()
        .map(|key| {
            let expired = key.expires_at.is_some_and(|at| at <= now);
            let state = match (key.revoked_at, expired) {
                (Some(_), _) => "key_revoked",
                (None, true) => "key_expired",
                (None, false) => "key_active",
            };
            KeyLine {
                name: key.name.to_string(),
                permissions: key.permissions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                created: when(key.created_at),
                expires: key.expires_at.map(when).unwrap_or_else(|| lang.get("never").to_owned()),
                state: lang.get(state),
                revoke: (state == "key_active")
                    .then(|| format!("/console/api-keys/{}/revoke", key.id.as_uuid())),
            }
        })
        .collect();
    let values = context! {
        title => lang.get("keys_title"), section => "keys", keys => lines,
        grid => grid(lang, &BTreeSet::new()), ..extra
    };
    console.page(state, status, "api_keys.html", values)
}

#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    req: &Request,
    Query(query): Query<ListQuery>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let done = query.done.as_deref().filter(|d| *d == "revoke").map(|_| console.lang.get("done_key_revoked"));
    keys_page(state, &console, StatusCode::OK, context! { done }).await
}

#[handler]
pub(crate) async fn create(
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
    let permissions: BTreeSet<Permission> =
        pairs.iter().filter(|(n, _)| n == "perm").filter_map(|(_, v)| Permission::parse(v).ok()).collect();
    let days = value("days");
    let lifetime = match days.trim() {
        "" => None,
        text => match text.parse::<u16>() {
            Ok(days) => Some(days),
            Err(_) => {
                let error = fill(lang.get("key_days_invalid"), &[("value", days.clone())]);
                let extra = context! { error, name => value("name"), days };
                return keys_page(state, &console, StatusCode::UNPROCESSABLE_ENTITY, extra).await;
            }
        },
    };
    let (account, name) = (console.user.account, value("name"));
    match integrations::create_api_key(&state.ports, &console.actor, account, &name, permissions, lifetime)
        .await
    {
        // The secret is shown this once; the page is not cached (`no-store`).
        Ok((_, secret)) => {
            let extra = context! { secret => secret.expose() };
            keys_page(state, &console, StatusCode::CREATED, extra).await
        }
        Err(err) => {
            let problem = Problem::from(err);
            let status = super::status_of(&problem);
            let extra = context! { error => problem_text(lang, &problem), name, days };
            keys_page(state, &console, status, extra).await
        }
    }
}

#[handler]
pub(crate) async fn confirm_revoke(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return super::users::not_found(&console, state);
    };
    let lang = console.lang;
    let label = lang.get("action_revoke");
    let values = context! {
        title => fill(lang.get("confirm_title"), &[("action", label.to_owned())]),
        section => "keys",
        sentence => lang.get("confirm_revoke_key"),
        label, destructive => true,
        back => "/console/api-keys",
        target => format!("/console/api-keys/{id}/revoke"),
    };
    console.page(state, StatusCode::OK, "confirm.html", values)
}

#[handler]
pub(crate) async fn revoke(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return super::users::not_found(&console, state);
    };
    match integrations::revoke_api_key(&state.ports, &console.actor, ApiKeyId::from_uuid(id)).await {
        Ok(()) => see_other("/console/api-keys?done=revoke"),
        Err(err) => console.problem(state, &Problem::from(err)),
    }
}
