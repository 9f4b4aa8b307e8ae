//! User types and the subscription (the licensed-users seed's Subscription screen): each type
//! with its seats used, reserved and bought, and the totals of seat-taking types changed in one
//! form. Totals are the operator's unless the operator lets the account set them (R23); a total
//! below what is used and reserved is refused with the numbers (R2); the form carries the
//! totals' fingerprint, so a change made meanwhile is refused, not overwritten.

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Form, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use usher_domain::id::UserTypeId;
use usher_domain::model::{SeatUsage, UserType, seat_totals_fingerprint};
use usher_domain::service::catalog;

use super::i18n::fill;
use super::{Console, csrf_refused, form_value, problem_text, see_other, signed_in};
use crate::csrf::csrf_ok;
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct Line {
    id: String,
    name: String,
    key: String,
    seats: bool,
    used: u32,
    reserved: u32,
    total: String,
    free: u32,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ShowQuery {
    done: Option<String>,
}

fn lines(figures: &[(UserType, SeatUsage)], typed: Option<&[(String, String)]>) -> Vec<Line> {
    figures
        .iter()
        .map(|(user_type, usage)| {
            let id = user_type.id.as_uuid().to_string();
            let total = typed
                .and_then(|typed| typed.iter().find(|(name, _)| *name == format!("total_{id}")))
                .map_or_else(|| usage.total.to_string(), |(_, value)| value.clone());
            Line {
                name: user_type.name.to_string(),
                key: user_type.key.as_str().to_owned(),
                seats: user_type.consumes_seat,
                used: usage.used,
                reserved: usage.reserved,
                free: usage.free(),
                total,
                id,
            }
        })
        .collect()
}

async fn page(
    state: &AppState,
    console: &Console,
    status: StatusCode,
    typed: Option<&[(String, String)]>,
    problem: Option<&Problem>,
    done: bool,
) -> Response {
    let lang = console.lang;
    let figures = match catalog::get_subscription(&state.ports, &console.actor, console.user.account).await {
        Ok(figures) => figures,
        Err(err) => return console.problem(state, &Problem::from(err)),
    };
    let fingerprint = seat_totals_fingerprint(figures.iter().map(|(t, u)| (t.id, u.total)));
    let error = problem.map(|problem| match problem.code.as_str() {
        "version_mismatch" => lang.get("problem_version_mismatch").to_owned(),
        _ => problem_text(lang, problem),
    });
    let values = context! {
        title => lang.get("subscription_title"), section => "subscription",
        lines => lines(&figures, typed), fingerprint, error,
        done => done.then(|| lang.get("done_subscription")),
    };
    console.page(state, status, "subscription.html", values)
}

#[handler]
pub(crate) async fn show(
    Data(state): Data<&AppState>,
    req: &Request,
    Query(query): Query<ShowQuery>,
) -> Response {
    match signed_in(state, req).await {
        Ok(console) => {
            let done = query.done.as_deref() == Some("subscription");
            page(state, &console, StatusCode::OK, None, None, done).await
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
    let current = match catalog::get_subscription(&state.ports, &console.actor, console.user.account).await {
        Ok(figures) => figures,
        Err(err) => return console.problem(state, &Problem::from(err)),
    };
    let mut totals = Vec::new();
    for (name, raw) in &pairs {
        let Some(id) = name.strip_prefix("total_") else { continue };
        let Ok(id) = uuid::Uuid::parse_str(id) else { continue };
        let Ok(total) = raw.trim().parse::<i64>() else {
            let text = fill(lang.get("seats_not_a_number"), &[("value", raw.clone())]);
            let problem = super::said(StatusCode::UNPROCESSABLE_ENTITY, text);
            return page(
                state,
                &console,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&pairs),
                Some(&problem),
                false,
            )
            .await;
        };
        let id = UserTypeId::from_uuid(id);
        // Only the totals typed anew are changes (and audited as such).
        if current.iter().any(|(t, usage)| t.id == id && i64::from(usage.total) != total) {
            totals.push((id, total));
        }
    }
    let fingerprint = Some(value("fingerprint")).filter(|f| !f.is_empty());
    match catalog::set_subscription(&state.ports, &console.actor, console.user.account, totals, fingerprint)
        .await
    {
        Ok(_) => see_other("/console/subscription?done=subscription"),
        Err(err) => {
            let problem = Problem::from(err);
            let status = super::status_of(&problem);
            page(state, &console, status, Some(&pairs), Some(&problem), false).await
        }
    }
}
