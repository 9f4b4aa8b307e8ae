//! What happened: the audit log (filtered by actor, object and action, so one user's history
//! opens from their page) and the mail outbox (by state, with a failed mail sent again).

use std::collections::{BTreeMap, BTreeSet};

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use usher_domain::id::{MailId, UserId};
use usher_domain::model::{ActorRef, DeliveryState};
use usher_domain::ports::{AuditFilter, Cursor};
use usher_domain::service::{audit, mail, users};

use super::users::when;
use super::{CsrfForm, csrf_refused, see_other, signed_in};
use crate::csrf::csrf_ok;
use crate::problem::Problem;
use crate::state::AppState;

/// A page's link to the next one, keeping the filters.
fn next_link(base: &str, filters: &[(&str, Option<&str>)], cursor: Option<Cursor>) -> Option<String> {
    let cursor = cursor?;
    let mut params = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in filters {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            params.append_pair(name, value);
        }
    }
    params.append_pair("cursor", &cursor.encode());
    Some(format!("{base}?{}", params.finish()))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    target_kind: Option<String>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct AuditLine {
    at: String,
    action: String,
    actor: String,
    actor_href: Option<String>,
    target: String,
    target_href: Option<String>,
    origin: String,
    changes: String,
}

/// Who acted, by name where the signed-in user may read them, else by id.
fn actor_of(actor: &ActorRef, names: &BTreeMap<UserId, String>) -> (String, Option<String>) {
    match actor {
        ActorRef::User(id) | ActorRef::Operator(id) => {
            let label = match names.get(id) {
                Some(name) => name.clone(),
                None if matches!(actor, ActorRef::Operator(_)) => format!("operator {id}"),
                None => format!("user {id}"),
            };
            (label, Some(format!("/console/users/{}", id.as_uuid())))
        }
        ActorRef::ApiKey(id) => (format!("api key {id}"), None),
        ActorRef::Anonymous => ("anonymous".to_owned(), None),
        ActorRef::System => ("usher".to_owned(), None),
    }
}

#[handler]
pub(crate) async fn audit_log(
    Data(state): Data<&AppState>,
    req: &Request,
    Query(query): Query<AuditQuery>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let lang = console.lang;
    let page = match crate::api::page(query.cursor.as_deref(), Some(50)) {
        Ok(page) => page,
        Err(problem) => return console.problem(state, &problem),
    };
    let text = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
    let actor = match text(&query.actor).map(|a| uuid::Uuid::parse_str(a.trim())) {
        Some(Err(_)) => {
            let problem = super::said(StatusCode::UNPROCESSABLE_ENTITY, lang.get("audit_bad_actor"));
            return console.problem(state, &problem);
        }
        Some(Ok(id)) => Some(id),
        None => None,
    };
    let filter = AuditFilter {
        actor,
        target_kind: text(&query.target_kind),
        target_id: text(&query.target),
        action: text(&query.action),
        since: None,
        until: None,
    };
    let found = match audit::list_audit_events(
        &state.ports,
        &console.actor,
        console.user.account,
        filter,
        page,
    )
    .await
    {
        Ok(found) => found,
        Err(err) => return console.problem(state, &Problem::from(err)),
    };
    // The users named on the page, by name: one read for the page, never one per line.
    let user_target = |event: &usher_domain::model::AuditEvent| {
        (event.target_kind == "user")
            .then(|| uuid::Uuid::parse_str(&event.target_id).ok().map(UserId::from_uuid))
            .flatten()
    };
    let named: BTreeSet<UserId> = found
        .items
        .iter()
        .flat_map(|event| {
            let actor = match event.actor {
                ActorRef::User(id) | ActorRef::Operator(id) => Some(id),
                _ => None,
            };
            actor.into_iter().chain(user_target(event))
        })
        .collect();
    let names = match users::display_names(&state.ports, &console.actor, &named).await {
        Ok(names) => names,
        Err(err) => return console.problem(state, &Problem::from(err)),
    };
    let lines: Vec<AuditLine> = found
        .items
        .iter()
        .map(|event| {
            let (actor, actor_href) = actor_of(&event.actor, &names);
            let target_user = user_target(event);
            let target_href = target_user.map(|id| format!("/console/users/{}", id.as_uuid()));
            let target = match target_user.and_then(|id| names.get(&id)) {
                Some(name) => name.clone(),
                None => format!("{} {}", event.target_kind, event.target_id),
            };
            AuditLine {
                at: when(event.at),
                action: event.action.clone(),
                actor,
                actor_href,
                target,
                target_href,
                origin: event.origin.clone().unwrap_or_default(),
                changes: if event.diff.as_object().is_some_and(|d| d.is_empty()) {
                    String::new()
                } else {
                    event.diff.to_string()
                },
            }
        })
        .collect();
    let filters = [
        ("actor", query.actor.as_deref()),
        ("target_kind", query.target_kind.as_deref()),
        ("target", query.target.as_deref()),
        ("action", query.action.as_deref()),
    ];
    let next = next_link("/console/audit", &filters, found.next);
    let values = context! {
        title => lang.get("audit_title"), section => "audit", lines, next,
        actor => query.actor.clone().unwrap_or_default(),
        target_kind => query.target_kind.clone().unwrap_or_default(),
        target => query.target.clone().unwrap_or_default(),
        action => query.action.clone().unwrap_or_default(),
    };
    console.page(state, StatusCode::OK, "audit.html", values)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct MailQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

#[derive(Debug, Serialize)]
struct MailLine {
    id: String,
    to: String,
    kind: &'static str,
    state: &'static str,
    attempts: u32,
    last_error: String,
    created: String,
    failed: bool,
}

#[handler]
pub(crate) async fn outbox(
    Data(state): Data<&AppState>,
    req: &Request,
    Query(query): Query<MailQuery>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let lang = console.lang;
    let page = match crate::api::page(query.cursor.as_deref(), Some(50)) {
        Ok(page) => page,
        Err(problem) => return console.problem(state, &problem),
    };
    let wanted = match query.state.as_deref() {
        Some("pending") => Some(DeliveryState::Pending),
        Some("sent") => Some(DeliveryState::Sent),
        Some("failed") => Some(DeliveryState::Failed),
        _ => None,
    };
    let found = match mail::list_mail(&state.ports, &console.actor, console.user.account, wanted, page).await
    {
        Ok(found) => found,
        Err(err) => return console.problem(state, &Problem::from(err)),
    };
    let lines: Vec<MailLine> = found
        .items
        .iter()
        .map(|queued| MailLine {
            id: queued.mail.id.as_uuid().to_string(),
            to: queued.mail.to.to_string(),
            kind: queued.mail.message.kind(),
            state: lang.get(&format!("mail_{}", queued.delivery.state.as_str())),
            attempts: queued.delivery.attempts,
            last_error: queued.delivery.last_error.clone().unwrap_or_default(),
            created: when(queued.mail.created_at),
            failed: queued.delivery.state == DeliveryState::Failed,
        })
        .collect();
    let next = next_link("/console/mail", &[("state", query.state.as_deref())], found.next);
    let done = (query.done.as_deref() == Some("retry")).then(|| lang.get("done_retry"));
    let values = context! {
        title => lang.get("mail_title"), section => "mail", lines, next, done,
        state => wanted.map(DeliveryState::as_str).unwrap_or_default(),
    };
    console.page(state, StatusCode::OK, "mail.html", values)
}

#[handler]
pub(crate) async fn retry(
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
    match mail::retry_mail(&state.ports, &console.actor, MailId::from_uuid(id)).await {
        Ok(_) => see_other("/console/mail?done=retry"),
        Err(err) => console.problem(state, &Problem::from(err)),
    }
}
