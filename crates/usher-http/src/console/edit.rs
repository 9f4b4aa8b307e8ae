//! Editing a user (POS: Edit; Licensed users: User Details) and setting a password (Edit
//! Password). The form carries the version it was made from, so a change made meanwhile is
//! refused with a "changed meanwhile" message (If-Match); a domain refusal that names a field
//! is shown next to that field: the rename guard and its acknowledgement (R6), the role
//! requirement (R3), the ceiling (R4), a taken username or email, no free seat (R1).

use std::collections::{BTreeMap, BTreeSet};

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use usher_domain::id::{AccountId, RoleId, UserId, UserTypeId};
use usher_domain::model::User;
use usher_domain::service::users::{self, ADDRESS_KINDS, AddressInput, ProfileInput, UserPatch};
use usher_domain::value::PlainPassword;

use super::invitations::{role_choices, type_choices};
use super::users::{named_user, username_of};
use super::{Console, csrf_refused, problem_text, see_other, signed_in};
use crate::csrf::csrf_ok;
use crate::problem::Problem;
use crate::state::AppState;

/// The edit form as posted (`roles` repeats, so it is read from the raw pairs).
#[derive(Debug, Default)]
struct EditForm {
    csrf: String,
    version: String,
    username: String,
    acknowledge: bool,
    email: String,
    first_name: String,
    last_name: String,
    user_type: String,
    roles: BTreeSet<String>,
    locale: String,
    enabled: bool,
    send_welcome: bool,
    /// The account a new user is made in (its home).
    account: String,
    /// Sub-accounts the user may act in (none: the whole home subtree).
    scope: BTreeSet<String>,
    /// The billing and the shipping address, in [`ADDRESS_KINDS`] order.
    addresses: [AddressFields; 2],
    /// User details (Licensed users): where notifications go ("Email to"), the phone, the
    /// image, system messages and sales territories (comma-separated).
    notification_email: String,
    phone: String,
    image_url: String,
    system_messages: bool,
    sales_territories: String,
    /// The sales representative, by username (empty: the account's applies).
    sales_representative: String,
}

/// One address as the form shows it.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
struct AddressFields {
    kind: &'static str,
    street: String,
    city: String,
    postal_code: String,
    country: String,
}

impl AddressFields {
    fn blank(kind: &'static str) -> AddressFields {
        AddressFields { kind, ..AddressFields::default() }
    }

    fn is_empty(&self) -> bool {
        [&self.street, &self.city, &self.postal_code, &self.country].iter().all(|f| f.trim().is_empty())
    }

    fn input(&self) -> AddressInput {
        let some = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        AddressInput {
            kind: self.kind.to_owned(),
            lines: some(&self.street).into_iter().collect(),
            city: some(&self.city),
            postal_code: some(&self.postal_code),
            region: None,
            country: some(&self.country),
        }
    }
}

fn blank_addresses() -> [AddressFields; 2] {
    [AddressFields::blank(ADDRESS_KINDS[0]), AddressFields::blank(ADDRESS_KINDS[1])]
}

impl EditForm {
    fn of(user: &User) -> EditForm {
        let text = |name: &Option<usher_domain::value::Name>| {
            name.as_ref().map(ToString::to_string).unwrap_or_default()
        };
        EditForm {
            csrf: String::new(),
            version: user.version.to_string(),
            username: user.username.as_str().to_owned(),
            acknowledge: false,
            email: user.email.to_string(),
            first_name: text(&user.profile.first_name),
            last_name: text(&user.profile.last_name),
            user_type: user.user_type.as_uuid().to_string(),
            roles: user.roles.iter().map(|r| r.as_uuid().to_string()).collect(),
            locale: user.profile.locale.as_ref().map(|l| l.as_str().to_owned()).unwrap_or_default(),
            enabled: true,
            send_welcome: false,
            account: user.account.as_uuid().to_string(),
            scope: user.scope.iter().map(|a| a.as_uuid().to_string()).collect(),
            addresses: blank_addresses().map(|blank| {
                let text = |name: &Option<usher_domain::value::Name>| {
                    name.as_ref().map(ToString::to_string).unwrap_or_default()
                };
                match user.profile.addresses.iter().find(|a| a.kind.as_str() == blank.kind) {
                    Some(address) => AddressFields {
                        kind: blank.kind,
                        street: address.lines.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                        city: text(&address.city),
                        postal_code: text(&address.postal_code),
                        country: text(&address.country),
                    },
                    None => blank,
                }
            }),
            notification_email: user
                .profile
                .notification_email
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            phone: text(&user.profile.phone),
            image_url: user.profile.image_url.clone().unwrap_or_default(),
            system_messages: user.receive_system_messages,
            sales_territories: user
                .profile
                .sales_territories
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            // Named by the caller, which may look the representative up.
            sales_representative: String::new(),
        }
    }

    /// The sales territories typed in, one per comma.
    fn territories(&self) -> Vec<String> {
        self.sales_territories
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn parse(pairs: Vec<(String, String)>) -> EditForm {
        let mut form = EditForm { addresses: blank_addresses(), ..EditForm::default() };
        for (name, value) in pairs {
            if let Some((kind, part)) = name.split_once('.')
                && let Some(address) = form.addresses.iter_mut().find(|a| a.kind == kind)
            {
                match part {
                    "street" => address.street = value,
                    "city" => address.city = value,
                    "postal_code" => address.postal_code = value,
                    "country" => address.country = value,
                    _ => {}
                }
                continue;
            }
            match name.as_str() {
                "account" => form.account = value,
                "scope" => {
                    form.scope.insert(value);
                }
                "csrf" => form.csrf = value,
                "version" => form.version = value,
                "username" => form.username = value,
                "acknowledge" => form.acknowledge = value == "on",
                "email" => form.email = value,
                "first_name" => form.first_name = value,
                "last_name" => form.last_name = value,
                "user_type" => form.user_type = value,
                "roles" => {
                    form.roles.insert(value);
                }
                "locale" => form.locale = value,
                "enabled" => form.enabled = value == "on",
                "send_welcome" => form.send_welcome = value == "on",
                "notification_email" => form.notification_email = value,
                "phone" => form.phone = value,
                "image_url" => form.image_url = value,
                "system_messages" => form.system_messages = value == "on",
                "sales_territories" => form.sales_territories = value,
                "sales_representative" => form.sales_representative = value,
                _ => {}
            }
        }
        form
    }

    /// What changed against `user` (whose form showed `before`), as the domain's patch at the
    /// form's version; `representative` is the sales representative the form names, resolved.
    fn patch(&self, user: &User, before: &EditForm, representative: Option<UserId>) -> UserPatch {
        let changed = |now: &str, was: &str| (now.trim() != was).then(|| now.trim().to_owned());
        let roles: BTreeSet<RoleId> =
            self.roles.iter().filter_map(|r| uuid::Uuid::parse_str(r).ok()).map(RoleId::from_uuid).collect();
        let scope = self.scope_ids();
        UserPatch {
            username: changed(&self.username, &before.username),
            acknowledge_external_link: self.acknowledge,
            email: changed(&self.email, &before.email),
            profile: ProfileInput {
                first_name: changed(&self.first_name, &before.first_name),
                last_name: changed(&self.last_name, &before.last_name),
                locale: changed(&self.locale, &before.locale),
                addresses: (self.addresses != before.addresses).then(|| self.address_inputs()),
                notification_email: changed(&self.notification_email, &before.notification_email),
                phone: changed(&self.phone, &before.phone),
                image_url: changed(&self.image_url, &before.image_url),
                sales_territories: (self.territories() != before.territories()).then(|| self.territories()),
                ..ProfileInput::default()
            },
            receive_system_messages: (self.system_messages != user.receive_system_messages)
                .then_some(self.system_messages),
            sales_representative: (representative != user.sales_representative).then_some(representative),
            scope: (scope != user.scope).then_some(scope),
            user_type: (self.user_type != before.user_type)
                .then(|| uuid::Uuid::parse_str(&self.user_type).ok().map(UserTypeId::from_uuid))
                .flatten(),
            roles: (roles != user.roles).then_some(roles),
            // A version that does not parse names no state of ours: it never matches.
            if_version: Some(self.version.parse().unwrap_or(u64::MAX)),
            ..UserPatch::default()
        }
    }

    fn scope_ids(&self) -> BTreeSet<AccountId> {
        self.scope.iter().filter_map(|a| uuid::Uuid::parse_str(a).ok()).map(AccountId::from_uuid).collect()
    }

    /// The addresses typed in; one left empty is none.
    fn address_inputs(&self) -> Vec<AddressInput> {
        self.addresses.iter().filter(|a| !a.is_empty()).map(AddressFields::input).collect()
    }
}

/// The user form: editing `user`, or a new user when `None`.
async fn edit_page(
    state: &AppState,
    console: &Console,
    user: Option<&User>,
    form: &EditForm,
    status: StatusCode,
    problem: Option<&Problem>,
) -> Response {
    let lang = console.lang;
    let account = user.map_or(console.user.account, |user| user.account);
    // Where a new user may live, and the sub-accounts a user may be limited to (R19).
    let accounts = match user {
        Some(_) => Vec::new(),
        None => {
            super::settings::account_choices(state, console, console.user.account, Some(&form.account)).await
        }
    };
    let mut scope_choices = super::settings::account_choices(state, console, account, None).await;
    scope_choices.retain(|choice| choice.depth > 0);
    for choice in &mut scope_choices {
        choice.selected = form.scope.contains(&choice.value);
    }
    let types = type_choices(state, &console.actor, lang, account, Some(&form.user_type)).await;
    let roles = role_choices(state, &console.actor, account, &form.roles).await;
    // A refusal naming a field is shown beside it; any other above the form.
    let mut errors = BTreeMap::new();
    let mut error = None;
    if let Some(problem) = problem {
        let text = match problem.code.as_str() {
            "version_mismatch" => lang.get("problem_version_mismatch").to_owned(),
            // Beside its field, or named above the form: the field is said once.
            "invalid_field" => super::value_text(lang, problem),
            _ => problem_text(lang, problem),
        };
        // The fields with a message place of their own; any other is named above the form.
        const BESIDE: [&str; 9] = [
            "username",
            "email",
            "user_type",
            "roles",
            "notification_email",
            "phone",
            "image_url",
            "sales_territories",
            "sales_representative",
        ];
        // `sales_territories[2]` is shown beside the territories.
        let field = problem.field.as_deref().map(|f| f.split('[').next().unwrap_or(f));
        match field {
            Some(field) if BESIDE.contains(&field) => {
                errors.insert(field.to_owned(), text);
            }
            Some(field) => error = Some(format!("{field}: {text}")),
            None if problem.code == "no_seat_available" => {
                errors.insert("user_type".to_owned(), text);
            }
            None => error = Some(text),
        }
    }
    let needs_acknowledgement = problem.is_some_and(|p| p.code == "rename_needs_acknowledgement");
    let full_types = types.iter().any(|t| t.full);
    let (title, target, cancel) = match user {
        Some(user) => (
            super::i18n::fill(lang.get("edit_title"), &[("username", user.username.as_str().to_owned())]),
            format!("/console/users/{}/edit", user.id.as_uuid()),
            format!("/console/users/{}", user.id.as_uuid()),
        ),
        None => (
            lang.get("new_user_title").to_owned(),
            "/console/users/new".to_owned(),
            "/console/users".to_owned(),
        ),
    };
    let values = context! {
        title, target, cancel, creating => user.is_none(), full_types,
        enabled => form.enabled, send_welcome => form.send_welcome,
        section => "users",
        version => form.version,
        username => form.username, email => form.email,
        first_name => form.first_name, last_name => form.last_name, locale => form.locale,
        linked => user.is_some_and(|user| !user.external_ids.is_empty() || user.external_id.is_some()),
        needs_acknowledgement, acknowledge => form.acknowledge,
        types, roles, errors, error, accounts, scope_choices, addresses => form.addresses,
        notification_email => form.notification_email, phone => form.phone,
        image_url => form.image_url, system_messages => form.system_messages,
        sales_territories => form.sales_territories, sales_representative => form.sales_representative,
    };
    console.page(state, status, "user_form.html", values)
}

/// The form again, with the domain's refusal.
async fn refused(
    state: &AppState,
    console: &Console,
    user: Option<&User>,
    form: &EditForm,
    problem: Problem,
) -> Response {
    let status = super::status_of(&problem);
    edit_page(state, console, user, form, status, Some(&problem)).await
}

/// The form as `user` fills it, its sales representative named as the viewer may see it.
async fn form_of(state: &AppState, console: &Console, user: &User) -> EditForm {
    EditForm {
        sales_representative: username_of(state, console, user.sales_representative).await,
        ..EditForm::of(user)
    }
}

#[handler]
pub(crate) async fn edit(Data(state): Data<&AppState>, req: &Request, Path(id): Path<String>) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let user = or_answer!(super::users::load(&console, state, &id).await);
    let form = form_of(state, &console, &user).await;
    edit_page(state, &console, Some(&user), &form, StatusCode::OK, None).await
}

#[handler]
pub(crate) async fn save(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let form = EditForm::parse(pairs);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let user = or_answer!(super::users::load(&console, state, &id).await);
    let before = form_of(state, &console, &user).await;
    let representative = if form.sales_representative.trim() == before.sales_representative {
        user.sales_representative
    } else {
        match named_user(state, &console, &form.sales_representative, "sales_representative").await {
            Ok(representative) => representative,
            Err(problem) => return refused(state, &console, Some(&user), &form, problem).await,
        }
    };
    let patch = form.patch(&user, &before, representative);
    match users::update_user(&state.ports, &console.actor, user.id, patch).await {
        Ok(saved) => see_other(&format!("/console/users/{}?done=edit", saved.id.as_uuid())),
        Err(err) => refused(state, &console, Some(&user), &form, Problem::from(err)).await,
    }
}

#[handler]
pub(crate) async fn new_user(Data(state): Data<&AppState>, req: &Request) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    // The licensed-users screen's default: enabled, and a set-password mail on save.
    let form = EditForm {
        enabled: true,
        send_welcome: true,
        system_messages: true,
        account: console.user.account.as_uuid().to_string(),
        addresses: blank_addresses(),
        ..EditForm::default()
    };
    edit_page(state, &console, None, &form, StatusCode::OK, None).await
}

#[handler]
pub(crate) async fn create(
    Data(state): Data<&AppState>,
    req: &Request,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    let form = EditForm::parse(pairs);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let Some(user_type) = uuid::Uuid::parse_str(&form.user_type).ok().map(UserTypeId::from_uuid) else {
        let problem = super::said(StatusCode::UNPROCESSABLE_ENTITY, console.lang.get("pick_a_type"));
        return refused(state, &console, None, &form, problem.with_field("user_type")).await;
    };
    let some = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
    let sales_representative =
        match named_user(state, &console, &form.sales_representative, "sales_representative").await {
            Ok(representative) => representative,
            Err(problem) => return refused(state, &console, None, &form, problem).await,
        };
    let home =
        uuid::Uuid::parse_str(&form.account).ok().map(AccountId::from_uuid).unwrap_or(console.user.account);
    let command = users::NewUser {
        username: some(&form.username),
        email: form.email.trim().to_owned(),
        profile: ProfileInput {
            first_name: some(&form.first_name),
            last_name: some(&form.last_name),
            locale: some(&form.locale),
            addresses: Some(form.address_inputs()),
            notification_email: some(&form.notification_email),
            phone: some(&form.phone),
            image_url: some(&form.image_url),
            sales_territories: Some(form.territories()),
            ..ProfileInput::default()
        },
        user_type,
        roles: form
            .roles
            .iter()
            .filter_map(|r| uuid::Uuid::parse_str(r).ok())
            .map(RoleId::from_uuid)
            .collect(),
        scope: form.scope_ids(),
        enabled: form.enabled,
        send_welcome: form.send_welcome,
        external_ids: BTreeMap::new(),
        external_id: None,
        sales_representative,
        receive_system_messages: form.system_messages,
    };
    match users::create_user(&state.ports, &console.actor, home, command).await {
        Ok(user) => see_other(&format!("/console/users/{}?done=created", user.id.as_uuid())),
        Err(err) => refused(state, &console, None, &form, Problem::from(err)).await,
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    again: String,
}

async fn password_page(
    state: &AppState,
    console: &Console,
    user: &User,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let lang = console.lang;
    let values = context! {
        title => super::i18n::fill(lang.get("set_password_title"), &[("username", user.username.as_str().to_owned())]),
        section => "users",
        id => user.id.as_uuid().to_string(),
        error,
    };
    console.page(state, status, "set_password.html", values)
}

#[handler]
pub(crate) async fn password_form(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    match super::users::load(&console, state, &id).await {
        Ok(user) => password_page(state, &console, &user, StatusCode::OK, None).await,
        Err(answer) => answer,
    }
}

#[handler]
pub(crate) async fn set_password(
    Data(state): Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    let console = or_answer!(signed_in(state, req).await);
    if !csrf_ok(state, req, &form.csrf) {
        return csrf_refused(console.lang);
    }
    let user = or_answer!(super::users::load(&console, state, &id).await);
    if form.password != form.again {
        let error = Some(console.lang.get("password_mismatch").to_owned());
        return password_page(state, &console, &user, StatusCode::UNPROCESSABLE_ENTITY, error).await;
    }
    let chosen = PlainPassword::new(form.password);
    match users::set_password(&state.ports, &console.actor, user.id, &chosen).await {
        Ok(_) => see_other(&format!("/console/users/{}?done=password", user.id.as_uuid())),
        Err(err) => {
            let problem = Problem::from(err);
            let status = super::status_of(&problem);
            let error = Some(problem_text(console.lang, &problem));
            password_page(state, &console, &user, status, error).await
        }
    }
}
