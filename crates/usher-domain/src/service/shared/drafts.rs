//! A user in the making, whatever makes it (an administrator, an invitation, a registration,
//! a contact): the profile it is given, the checks of its type, roles and seats (R1, R3, R4,
//! R12), and the username it gets (R5).

use super::*;
use std::collections::HashSet;

use crate::model::Address;

/// The most sales territories a user has.
pub const MAX_SALES_TERRITORIES: usize = 100;
/// The most free attributes a user has.
pub const MAX_ATTRIBUTES: usize = 50;
/// The longest value of a free attribute, in characters.
pub const MAX_ATTRIBUTE_LENGTH: usize = 1_000;
/// The most postal addresses a user has.
pub const MAX_ADDRESSES: usize = 10;
/// The most street lines an address has.
pub const MAX_ADDRESS_LINES: usize = 4;
/// The kinds of address a user has, as in B2B commerce (Oro): where invoices go, and where
/// goods go.
pub const ADDRESS_KINDS: [&str; 2] = ["billing", "shipping"];

pub(crate) fn at_most(name: &str, actual: usize, max: usize) -> Result<(), Invalid> {
    if actual > max { Err(Invalid::new(name, ValueError::TooMany { max, actual })) } else { Ok(()) }
}

/// Profile fields as received; each is parsed into its value type.
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// "Email to".
    pub notification_email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Birthday.
    pub birthday: Option<time::Date>,
    /// Locale.
    pub locale: Option<String>,
    /// Image URL.
    pub image_url: Option<String>,
    /// Sales territories.
    pub sales_territories: Option<Vec<String>>,
    /// Free attributes.
    pub attributes: Option<BTreeMap<String, String>>,
    /// Postal addresses, replacing the ones the user had; the first of a kind is its default.
    pub addresses: Option<Vec<AddressInput>>,
}

/// A postal address as received.
#[derive(Debug, Clone, Default)]
pub struct AddressInput {
    /// One of [`ADDRESS_KINDS`].
    pub kind: String,
    /// Street lines (1 to [`MAX_ADDRESS_LINES`]).
    pub lines: Vec<String>,
    /// City.
    pub city: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Region or state.
    pub region: Option<String>,
    /// Country (ISO code or name).
    pub country: Option<String>,
}

impl AddressInput {
    /// The address, its fields named under `at` (e.g. `addresses[0].city`) when invalid.
    fn parse(&self, at: &str) -> Result<Address, Invalid> {
        let name = |field: &str| format!("{at}.{field}");
        if !ADDRESS_KINDS.contains(&self.kind.as_str()) {
            let error = ValueError::Malformed { reason: "must be billing or shipping" };
            return Err(Invalid::new(name("kind"), error));
        }
        let kind = field(&name("kind"), Key::parse(&self.kind))?;
        at_most(&name("lines"), self.lines.len(), MAX_ADDRESS_LINES)?;
        let lines = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, line)| field(&format!("{at}.lines[{i}]"), Name::parse(line)))
            .collect::<Result<Vec<_>, _>>()?;
        if lines.is_empty() {
            return Err(Invalid::new(name("lines"), ValueError::Empty));
        }
        Ok(Address {
            kind,
            lines,
            city: optional(&name("city"), self.city.as_deref(), Name::parse)?,
            postal_code: optional(&name("postal_code"), self.postal_code.as_deref(), Name::parse)?,
            region: optional(&name("region"), self.region.as_deref(), Name::parse)?,
            country: optional(&name("country"), self.country.as_deref(), Name::parse)?,
        })
    }
}

impl ProfileInput {
    /// Applies the given fields on top of `profile`; empty text clears a field.
    pub fn apply(&self, mut profile: Profile) -> Result<Profile, Invalid> {
        if self.first_name.is_some() {
            profile.first_name = optional("first_name", self.first_name.as_deref(), Name::parse)?;
        }
        if self.last_name.is_some() {
            profile.last_name = optional("last_name", self.last_name.as_deref(), Name::parse)?;
        }
        if self.notification_email.is_some() {
            profile.notification_email =
                optional("notification_email", self.notification_email.as_deref(), Email::parse)?;
        }
        if self.phone.is_some() {
            profile.phone = optional("phone", self.phone.as_deref(), Name::parse)?;
        }
        if self.birthday.is_some() {
            profile.birthday = self.birthday;
        }
        if self.locale.is_some() {
            profile.locale = optional("locale", self.locale.as_deref(), Locale::parse)?;
        }
        if let Some(url) = &self.image_url {
            let url = url.trim();
            let valid = url.is_empty()
                || (url.len() <= 2000 && (url.starts_with("https://") || url.starts_with("http://")));
            if !valid {
                let error = crate::value::ValueError::Malformed { reason: "must be an http(s) URL" };
                return Err(Invalid::new("image_url", error));
            }
            profile.image_url = (!url.is_empty()).then(|| url.to_owned());
        }
        if let Some(territories) = &self.sales_territories {
            at_most("sales_territories", territories.len(), MAX_SALES_TERRITORIES)?;
            profile.sales_territories = territories
                .iter()
                .enumerate()
                .map(|(i, t)| field(&format!("sales_territories[{i}]"), Name::parse(t)))
                .collect::<Result<_, _>>()?;
        }
        if let Some(attributes) = &self.attributes {
            at_most("attributes", attributes.len(), MAX_ATTRIBUTES)?;
            profile.attributes = attributes
                .iter()
                .map(|(k, v)| {
                    let name = format!("attributes.{k}");
                    let key = field(&name, Key::parse(k))?;
                    let length = v.chars().count();
                    if length > MAX_ATTRIBUTE_LENGTH {
                        let error = ValueError::TooLong { max: MAX_ATTRIBUTE_LENGTH, actual: length };
                        return Err(Invalid::new(&name, error));
                    }
                    Ok((key, v.clone()))
                })
                .collect::<Result<_, Invalid>>()?;
        }
        if let Some(addresses) = &self.addresses {
            at_most("addresses", addresses.len(), MAX_ADDRESSES)?;
            profile.addresses = addresses
                .iter()
                .enumerate()
                .map(|(i, address)| address.parse(&format!("addresses[{i}]")))
                .collect::<Result<_, _>>()?;
        }
        Ok(profile)
    }
}

pub(crate) fn parse_external_ids(raw: &BTreeMap<String, String>) -> Result<BTreeMap<Key, String>, Invalid> {
    raw.iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(kind, value)| {
            Ok((field(&format!("external_ids.{kind}"), Key::parse(kind))?, value.trim().to_owned()))
        })
        .collect()
}

/// The provisioning client's id for a user; empty means none.
pub(crate) fn parse_external_id(raw: Option<&str>) -> Result<Option<ExternalId>, Invalid> {
    raw.filter(|id| !id.is_empty()).map(|id| field("external_id", ExternalId::parse(id))).transpose()
}

/// What a user is about to become, checked as a whole before any write.
pub(crate) struct Draft<'a> {
    pub(crate) account: &'a Account,
    pub(crate) settings: &'a Settings,
    pub(crate) user_type: &'a UserType,
    pub(crate) roles: &'a BTreeSet<RoleId>,
    pub(crate) scope: &'a BTreeSet<AccountId>,
    pub(crate) state: UserState,
}

/// Loads a user type of `root`; one of another tenant reads as not found.
pub(crate) async fn load_user_type(
    tx: &mut dyn Tx,
    root: AccountId,
    id: UserTypeId,
) -> Result<UserType, Lookup> {
    match tx.user_type(id).await? {
        Some(found) if found.root == root => Ok(found),
        _ => Err(Lookup::Gate(Gate::NotFound { entity: "user type" })),
    }
}

/// What a user is written against: the account, guarded for `permission`, its root's settings
/// and the user type `user_type` of that root, read together ([`Tx::account_context`]). A
/// missing account, a refusal and a type of another root fail as one read each would.
pub(crate) async fn load_for_write(
    tx: &mut dyn Tx,
    actor: &Actor,
    permission: Permission,
    account: AccountId,
    user_type: UserTypeId,
) -> Result<(Account, Settings, UserType), Lookup> {
    let context = tx.account_context(account, Some(user_type)).await?;
    let AccountContext { account, settings, user_type } =
        context.ok_or(Gate::NotFound { entity: "account" })?;
    guard(actor, permission, &account, "account")?;
    let root = account.root();
    let settings = settings.ok_or_else(|| RepoError::corrupt("settings", "root account has no settings"))?;
    let user_type =
        user_type.filter(|found| found.root == root).ok_or(Gate::NotFound { entity: "user type" })?;
    Ok((account, settings, user_type))
}

/// R3, R4 and R19 for a user about to be written; R1 when it takes a new seat (`takes_seat`).
pub(crate) async fn check_draft(
    ports: &Ports,
    tx: &mut dyn Tx,
    actor: &Actor,
    draft: Draft<'_>,
    takes_seat: bool,
) -> Result<(), UserError> {
    check_roles_for_state(draft.state, draft.roles).map_err(UserError::RoleRequired)?;
    let mut roles = Vec::new();
    for id in draft.roles {
        match tx.role(*id).await? {
            Some(role) if role.root == draft.account.root() => roles.push(role),
            _ => return Err(UserError::NotFound { entity: "role" }),
        }
    }
    check_grant(actor, &roles, draft.user_type).map_err(UserError::Grant)?;
    for account in draft.scope {
        let scoped = load_account(tx, *account).await?;
        // Reach first: another tenant's account reads as not found, like a random id.
        guard(actor, Permission::new(Module::Users, Access::Write), &scoped, "account")?;
        if !scoped.path.is_within(draft.account.id) {
            return Err(UserError::Denied(Denied::OutsideScope));
        }
    }
    if takes_seat && draft.state == UserState::Active {
        let usage = lock_seats(tx, draft.account.root(), draft.user_type, ports.now()).await?;
        check_seats(draft.user_type, &usage, 1).map_err(UserError::NoSeatAvailable)?;
    }
    let _ = draft.settings;
    Ok(())
}

/// Locks the seat pool of a type that consumes seats and returns its figures (R1). A type
/// that consumes none has no pool: nothing is locked, and its figures are all zero, which
/// [`check_seats`] never holds against it.
pub(crate) async fn lock_seats(
    tx: &mut dyn Tx,
    root: AccountId,
    user_type: &UserType,
    now: Timestamp,
) -> Result<SeatUsage, RepoError> {
    if user_type.consumes_seat {
        tx.lock_seat_pool(root, user_type.id, now).await
    } else {
        Ok(SeatUsage { user_type: user_type.id, total: 0, used: 0, reserved: 0 })
    }
}

/// R5: the username given, or one generated from the format with a free numeric suffix. A
/// given username is not looked up: the unique index refuses it on insert if taken, and the
/// caller answers `UsernameTaken` from that `Duplicate`, one statement fewer per creation.
pub(crate) async fn choose_username(
    tx: &mut dyn Tx,
    settings: &Settings,
    root: AccountId,
    given: Option<&str>,
    email: &Email,
    profile: &Profile,
) -> Result<Username, UserError> {
    choose_username_besides(tx, settings, root, given, email, profile, &HashSet::new()).await
}

/// [`choose_username`], a generated username also avoiding the keys in `taken` (usernames
/// of users made but not yet written, as an import batch holds them).
pub(crate) async fn choose_username_besides(
    tx: &mut dyn Tx,
    settings: &Settings,
    root: AccountId,
    given: Option<&str>,
    email: &Email,
    profile: &Profile,
    taken: &HashSet<String>,
) -> Result<Username, UserError> {
    if let Some(raw) = given.filter(|raw| !raw.trim().is_empty()) {
        let username = field("username", Username::parse(raw))?;
        if settings.usernames_must_be_emails && Email::parse(username.as_str()).is_err() {
            return Err(UserError::UsernameMustBeEmail);
        }
        return Ok(username);
    }
    let parts =
        NameParts { email, first_name: profile.first_name.as_ref(), last_name: profile.last_name.as_ref() };
    let base = if settings.usernames_must_be_emails {
        field("email", Username::parse(email.as_str()))?
    } else {
        username_from_format(&settings.username_format, parts)
    };
    for n in 1..=1000 {
        let candidate = username_candidate(&base, n);
        if !taken.contains(candidate.key().as_str())
            && tx.user_by_username(root, &candidate.key()).await?.is_none()
        {
            return Ok(candidate);
        }
    }
    Err(UserError::UsernameTaken { username: base.to_string() })
}

/// R12: members are made by self-registration only, never by an administrator, an invitation
/// or a contact.
pub(crate) fn reject_member_type(settings: &Settings, user_type: UserTypeId) -> Result<(), UserError> {
    if settings.member_user_type == Some(user_type) { Err(UserError::MemberTypeReserved) } else { Ok(()) }
}

/// Parses an optional text field into a value type.
pub(crate) fn optional<T>(
    name: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Result<T, crate::value::ValueError>,
) -> Result<Option<T>, Invalid> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => parse(text).map(Some).map_err(|error| Invalid::new(name, error)),
    }
}
