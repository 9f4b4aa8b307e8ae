//! Contacts (the contacts seed): the list with a search by name or email, and a user made from
//! a contact (R17), its name and email taken from the contact, its username from the account's
//! format unless one is typed, and its type and roles the settings' defaults.

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use usher_domain::id::ContactId;
use usher_domain::model::{Contact, ContactKind};
use usher_domain::service::contacts::{self, FromContact};

use super::{Console, csrf_refused, problem_text, see_other, signed_in};
use crate::csrf::csrf_ok;
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    email: String,
    kind: &'static str,
    user: Option<String>,
    make_user: Option<String>,
}

fn name_of(contact: &Contact) -> String {
    let parts = [&contact.first_name, &contact.last_name];
    parts.iter().filter_map(|part| part.as_ref().map(ToString::to_string)).collect::<Vec<_>>().join(" ")
}

fn kind_key(kind: ContactKind) -> &'static str {
    match kind {
        ContactKind::Person => "kind_person",
        ContactKind::Organization => "kind_organization",
    }
}

#[handler]
pub(crate) async fn list(
    Data(state): Data<&AppState>,
    req: &Request,
    Query(query): Query<ListQuery>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let lang = console.lang;
    let page = match crate::api::page(query.cursor.as_deref(), Some(25)) {
        Ok(page) => page,
        Err(problem) => return console.problem(state, &problem),
    };
    let search = query.q.as_deref();
    let found =
        match contacts::list_contacts(&state.ports, &console.actor, console.user.account, search, page).await
        {
            Ok(found) => found,
            Err(err) => return console.problem(state, &Problem::from(err)),
        };
    let rows: Vec<Row> = found
        .items
        .iter()
        .map(|contact| Row {
            name: name_of(contact),
            email: contact.email.as_ref().map(ToString::to_string).unwrap_or_default(),
            kind: lang.get(kind_key(contact.kind)),
            user: contact.user.map(|user| format!("/console/users/{}", user.as_uuid())),
            make_user: contact
                .user
                .is_none()
                .then(|| format!("/console/contacts/{}/user", contact.id.as_uuid())),
        })
        .collect();
    let next = found.next.map(|cursor| {
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        if let Some(q) = search.filter(|q| !q.is_empty()) {
            params.append_pair("q", q);
        }
        params.append_pair("cursor", &cursor.encode());
        format!("/console/contacts?{}", params.finish())
    });
    let values = context! {
        title => lang.get("contacts_title"), section => "contacts",
        q => query.q.clone().unwrap_or_default(), rows, next, paged => query.cursor.is_some(),
    };
    console.page(state, StatusCode::OK, "contacts.html", values)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    send_welcome: Option<String>,
}

async fn load(console: &Console, state: &AppState, id: &str) -> Result<Contact, Response> {
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return Err(super::users::not_found(console, state));
    };
    contacts::get_contact(&state.ports, &console.actor, ContactId::from_uuid(id))
        .await
        .map_err(|err| console.problem(state, &Problem::from(err)))
}

fn user_page(
    state: &AppState,
    console: &Console,
    contact: &Contact,
    form: &UserForm,
    status: StatusCode,
    problem: Option<&Problem>,
) -> Response {
    let lang = console.lang;
    let field = problem.and_then(|p| p.field.clone());
    let message = problem.map(|p| problem_text(lang, p));
    let values = context! {
        title => super::i18n::fill(lang.get("contact_user_title"), &[("name", name_of(contact))]),
        section => "contacts",
        id => contact.id.as_uuid().to_string(),
        kind => lang.get(kind_key(contact.kind)),
        username => form.username, email => form.email,
        first_name => form.first_name, last_name => form.last_name,
        send_welcome => form.send_welcome.is_some(),
        field, message,
    };
    console.page(state, status, "contact_user.html", values)
}

#[handler]
pub(crate) async fn user_form(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let contact = or_answer!(load(&console, state, &id).await);
    let text = |value: Option<String>| value.unwrap_or_default();
    let form = UserForm {
        email: text(contact.email.as_ref().map(ToString::to_string)),
        first_name: text(contact.first_name.as_ref().map(ToString::to_string)),
        last_name: text(contact.last_name.as_ref().map(ToString::to_string)),
        send_welcome: Some("on".to_owned()),
        ..UserForm::default()
    };
    user_page(state, &console, &contact, &form, StatusCode::OK, None)
}

#[handler]
pub(crate) async fn make_user(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<UserForm>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let contact = or_answer!(load(&console, state, &id).await);
    let some = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
    let command = FromContact {
        username: some(&form.username),
        email: some(&form.email),
        first_name: some(&form.first_name),
        last_name: some(&form.last_name),
        send_welcome: form.send_welcome.is_some(),
    };
    match contacts::create_user_from_contact(&state.ports, &console.actor, contact.id, command).await {
        Ok(user) => see_other(&format!("/console/users/{}?done=created", user.id.as_uuid())),
        Err(err) => {
            let problem = Problem::from(err);
            let status = super::status_of(&problem);
            user_page(state, &console, &contact, &form, status, Some(&problem))
        }
    }
}
