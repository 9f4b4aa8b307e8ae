//! Importing users from rows of the export's columns: every row gets exactly one outcome, and
//! a batch of rows is written in one transaction, so the seat pools are locked once per batch
//! rather than once per user.
//!
//! Rows are matched on external id (the provisioning client's id for the user), else on
//! username, else on email, so importing a file a second time changes nothing. A row with a
//! `contact` kind (`person` or `organization`, the latter named in `organization`) gives its
//! user a contact (R17): a contact of the root with the row's email that has no user yet,
//! else a new one. A row's problem is its outcome, named by the column it came from and told with the
//! same error the API answers (`no_seat_available` with the numbers, an invalid field, a role
//! above the ceiling); it never stops the other rows unless the import is all or nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{IMPORT_ONLY_COLUMNS, USER_COLUMNS};
use crate::authz::Actor;
use crate::authz::check_grant;
use crate::error::{Invalid, RepoError, field};
use crate::id::{AccountId, ContactId, RoleId, UserId, UserTypeId};
use crate::model::{
    Account, AuditEvent, Contact, ContactKind, Newcomer, Origin, Profile, PublicEvent, Role, SeatUsage,
    Settings, User, UserState, UserType,
};
use crate::ports::Tx;
use crate::rules::{check_roles_for_state, check_seats};
use crate::service::users::{ProfileInput, UserError};
use crate::service::{
    Draft, LinkKind, Ports, check_draft, choose_username_besides, diff, guard, issue_link, load_account,
    load_settings, lock_seats, new_user_entry, parse_external_ids, record_user, records_of, user_view,
};
use crate::value::{Access, Email, ExternalId, Module, Name, Permission, Username, ValueError};

pub use crate::model::{Existing, ImportMode, ImportOptions};

/// A file's header, checked: the column at each position, and the ones usher does not know
/// (reported, never guessed).
#[derive(Debug, Clone)]
pub struct ImportHeader {
    columns: Vec<Option<&'static str>>,
    /// The columns usher does not know, as named in the file.
    pub unknown: Vec<String>,
}

/// Why a header is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// There is no `email` column.
    #[error("the header has no email column")]
    NoEmail,
    /// A column appears twice.
    #[error("the column {column} appears twice")]
    Duplicate {
        /// The column.
        column: String,
    },
}

impl ImportHeader {
    /// Reads a header: names are matched without regard to case and surrounding space.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<ImportHeader, HeaderError> {
        let mut columns = Vec::with_capacity(names.len());
        let mut unknown = Vec::new();
        let mut seen = HashSet::new();
        for name in names {
            let wanted = name.as_ref().trim().to_lowercase();
            let known =
                USER_COLUMNS.iter().chain(&IMPORT_ONLY_COLUMNS).copied().find(|column| *column == wanted);
            match known {
                Some(column) if !seen.insert(column) => {
                    return Err(HeaderError::Duplicate { column: column.to_owned() });
                }
                Some(_) => {}
                None => unknown.push(name.as_ref().to_owned()),
            }
            columns.push(known);
        }
        if !seen.contains("email") {
            return Err(HeaderError::NoEmail);
        }
        Ok(ImportHeader { columns, unknown })
    }

    fn has(&self, column: &str) -> bool {
        self.columns.contains(&Some(column))
    }
}

/// A data row: its line in the file and its cells, in the header's order.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// The line in the file (the header is line 1).
    pub line: u64,
    /// The cells.
    pub cells: Vec<String>,
}

impl ImportRow {
    /// The trimmed cell of `column`, `None` when absent or empty.
    fn cell<'a>(&'a self, header: &ImportHeader, column: &str) -> Option<&'a str> {
        let index = header.columns.iter().position(|c| *c == Some(column))?;
        self.cells.get(index).map(|cell| cell.trim()).filter(|cell| !cell.is_empty())
    }
}

/// What became of a row.
#[derive(Debug)]
pub enum RowOutcome {
    /// A new user.
    Created(UserId),
    /// An existing user, brought to what the row says.
    Updated(UserId),
    /// An existing user that already was what the row says.
    Unchanged(UserId),
    /// Left alone, and why.
    Skipped {
        /// The user it matched, if any.
        user: Option<UserId>,
        /// Why (`exists`, `duplicate_in_file`).
        reason: &'static str,
    },
    /// Refused: the column it came from (when one did) and the error the API would answer.
    Error {
        /// The column.
        column: Option<String>,
        /// The error.
        error: UserError,
    },
}

/// A batch's outcomes, one per row in order, and whether its writes were committed (never for
/// a dry run, nor for an all-or-nothing batch with an error).
#[derive(Debug)]
pub struct BatchReport {
    /// One per row.
    pub outcomes: Vec<RowOutcome>,
    /// Whether the batch's writes were committed.
    pub committed: bool,
}

/// Imports a batch of rows into `account` (users go to it, or to the sub-account of their
/// `account` slug within its subtree), in one transaction. Needs `users:write` there; each
/// user is checked as one made by hand is (R1, R3, R4, R5, R12, R19). Fails as a whole only
/// when the store does.
pub async fn import_batch(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    header: &ImportHeader,
    options: ImportOptions,
    rows: &[ImportRow],
) -> Result<BatchReport, UserError> {
    let mut tx = ports.begin().await?;
    let mut importer = Importer::open(ports, tx.as_mut(), actor, account, header, options).await?;
    let outcomes = importer.rows(tx.as_mut(), rows).await?;
    let failed = outcomes.iter().any(|o| matches!(o, RowOutcome::Error { .. }));
    let all_or_nothing_failed = options.mode == ImportMode::AllOrNothing && failed;
    let commit = !options.dry_run && !all_or_nothing_failed;
    if commit {
        tx.commit().await?;
    }
    Ok(BatchReport { outcomes, committed: commit })
}

/// Imports rows on a transaction the caller holds, chunk after chunk: what one chunk wrote
/// (a username, an email) counts for the next, as if the rows came in one batch.
pub struct Importer<'a> {
    batch: Batch<'a>,
}

impl std::fmt::Debug for Importer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer").field("account", &self.batch.target.id).finish_non_exhaustive()
    }
}

impl<'a> Importer<'a> {
    /// Reads what the rows are checked against. Needs `users:write` on `account`.
    pub async fn open(
        ports: &'a Ports,
        tx: &mut dyn Tx,
        actor: &'a Actor,
        account: AccountId,
        header: &'a ImportHeader,
        options: ImportOptions,
    ) -> Result<Importer<'a>, UserError> {
        let target = load_account(tx, account).await?;
        guard(actor, Permission::new(Module::Users, Access::Write), &target, "account")?;
        let root = target.root();
        let settings = load_settings(tx, root).await?;
        let catalog = Catalog::read(tx, root).await?;
        let batch = Batch {
            ports,
            actor,
            header,
            options,
            target,
            settings,
            catalog,
            accounts: HashMap::new(),
            usernames: HashSet::new(),
            emails: HashSet::new(),
            external_ids: HashSet::new(),
            known_by_key: HashMap::new(),
            known_by_email: HashMap::new(),
            known_by_external_id: HashMap::new(),
            seats: HashMap::new(),
            unlinked_contacts: HashMap::new(),
            contacts: Vec::new(),
            links: Vec::new(),
            made: Vec::new(),
            audits: Vec::new(),
            events: Vec::new(),
        };
        Ok(Importer { batch })
    }

    /// One outcome per row, in order; fails only when the store does.
    pub async fn rows(&mut self, tx: &mut dyn Tx, rows: &[ImportRow]) -> Result<Vec<RowOutcome>, UserError> {
        self.batch.preload(tx, rows).await?;
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            let outcome = match self.batch.row(tx, row).await {
                Ok(outcome) => outcome,
                Err(Refusal::Row { column, error }) => RowOutcome::Error { column, error },
                Err(Refusal::Store(err)) => return Err(err.into()),
            };
            outcomes.push(outcome);
        }
        self.batch.flush(tx).await?;
        Ok(outcomes)
    }
}

/// The root's user types and roles, by what a file names them with.
struct Catalog {
    types: Vec<UserType>,
    roles: Vec<Role>,
}

impl Catalog {
    async fn read(tx: &mut dyn Tx, root: AccountId) -> Result<Catalog, RepoError> {
        Ok(Catalog { types: tx.user_types(root).await?, roles: tx.roles(root).await? })
    }

    /// A user type by key or name (ignoring case).
    fn user_type(&self, named: &str) -> Option<&UserType> {
        let named = named.to_lowercase();
        self.types
            .iter()
            .find(|t| t.key.as_str().to_lowercase() == named || t.name.as_str().to_lowercase() == named)
    }

    /// A role by name (ignoring case).
    fn role(&self, named: &str) -> Option<&Role> {
        let named = named.to_lowercase();
        self.roles.iter().find(|r| r.name.as_str().to_lowercase() == named)
    }
}

/// Why a row ends as an error, or the batch as a failure.
enum Refusal {
    Row { column: Option<String>, error: UserError },
    Store(RepoError),
}

impl From<RepoError> for Refusal {
    fn from(err: RepoError) -> Self {
        Refusal::Store(err)
    }
}

impl From<UserError> for Refusal {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Repo(err) => Refusal::Store(err),
            error => {
                let column = match &error {
                    UserError::Invalid(invalid) => Some(invalid.field.clone()),
                    UserError::NoSeatAvailable(_) | UserError::MemberTypeReserved => {
                        Some("user_type".to_owned())
                    }
                    UserError::Grant(_) | UserError::RoleRequired(_) => Some("roles".to_owned()),
                    UserError::UsernameTaken { .. } | UserError::UsernameMustBeEmail => {
                        Some("username".to_owned())
                    }
                    UserError::EmailTaken { .. } => Some("email".to_owned()),
                    _ => None,
                };
                Refusal::Row { column, error }
            }
        }
    }
}

impl From<Invalid> for Refusal {
    fn from(invalid: Invalid) -> Self {
        UserError::Invalid(invalid).into()
    }
}

/// A refusal naming a column.
fn at(column: &str, error: UserError) -> Refusal {
    Refusal::Row { column: Some(column.to_owned()), error }
}

/// What a batch knows while it goes through its rows.
struct Batch<'a> {
    ports: &'a Ports,
    actor: &'a Actor,
    header: &'a ImportHeader,
    options: ImportOptions,
    target: Account,
    settings: Settings,
    catalog: Catalog,
    accounts: HashMap<String, Account>,
    /// The usernames and emails this batch wrote, so that a file naming one twice gets one
    /// user and a `duplicate_in_file` for the other row.
    usernames: HashSet<String>,
    emails: HashSet<Email>,
    external_ids: HashSet<ExternalId>,
    /// The users of the root that the rows of the current chunk name, by username key, by
    /// email and by external id: read once per chunk rather than once per row.
    known_by_key: HashMap<String, User>,
    known_by_email: HashMap<Email, User>,
    known_by_external_id: HashMap<ExternalId, User>,
    /// The seat figures of each type, read (and locked) once per transaction and counted on
    /// in memory as the batch takes seats; cleared when a write the batch does not count
    /// (an update) changes them.
    seats: HashMap<UserTypeId, SeatUsage>,
    /// The contacts of the root without a user that the chunk's emails name (read once per
    /// chunk when the file has a `contact` column), taken as rows match them.
    unlinked_contacts: HashMap<Email, Contact>,
    /// Contacts the chunk made, and the existing ones it gave a user, written at its end.
    contacts: Vec<Contact>,
    links: Vec<(ContactId, UserId)>,
    /// What the chunk made, written together at its end.
    made: Vec<(User, bool)>,
    audits: Vec<AuditEvent>,
    events: Vec<PublicEvent>,
}

/// The contact a row's user gets.
enum RowContact {
    /// A contact of the root that had no user.
    Existing(Contact),
    /// One made for the row.
    New(Contact),
}

/// A row, parsed.
struct Wanted {
    email: Email,
    username: Option<Username>,
    account: Account,
    user_type: UserType,
    roles: BTreeSet<RoleId>,
    state: UserState,
    profile: ProfileInput,
    external_ids: Option<BTreeMap<String, String>>,
    external_id: Option<ExternalId>,
    /// The kind of contact the row asks its user to have, and an organization's name.
    contact: Option<(ContactKind, Option<Name>)>,
}

impl Batch<'_> {
    async fn row(&mut self, tx: &mut dyn Tx, row: &ImportRow) -> Result<RowOutcome, Refusal> {
        let wanted = self.parse(tx, row).await?;
        let key = wanted.username.as_ref().map(|u| u.key().as_str().to_owned());
        if key.as_ref().is_some_and(|k| self.usernames.contains(k))
            || self.emails.contains(&wanted.email)
            || wanted.external_id.as_ref().is_some_and(|id| self.external_ids.contains(id))
        {
            return Ok(RowOutcome::Skipped { user: None, reason: "duplicate_in_file" });
        }
        let by_external_id = wanted.external_id.as_ref().and_then(|id| self.known_by_external_id.get(id));
        let existing = match (by_external_id, &key) {
            (Some(user), _) => Some(user.clone()),
            (None, Some(key)) => self.known_by_key.get(key).cloned(),
            (None, None) => self.known_by_email.get(&wanted.email).cloned(),
        };
        let outcome = match existing {
            Some(user) if self.options.existing == Existing::Skip => {
                RowOutcome::Skipped { user: Some(user.id), reason: "exists" }
            }
            Some(user) => self.update(tx, user, wanted).await?,
            None => self.create(tx, wanted).await?,
        };
        Ok(outcome)
    }

    /// Reads the users the rows name, by username and by email, in one lookup.
    async fn preload(&mut self, tx: &mut dyn Tx, rows: &[ImportRow]) -> Result<(), RepoError> {
        let header = self.header;
        let keys: Vec<_> = rows
            .iter()
            .filter_map(|row| row.cell(header, "username").and_then(|raw| Username::parse(raw).ok()))
            .map(|username| username.key())
            .collect();
        let emails: Vec<Email> = rows
            .iter()
            .filter_map(|row| row.cell(header, "email").and_then(|raw| Email::parse(raw).ok()))
            .collect();
        let external_ids: Vec<ExternalId> = rows
            .iter()
            .filter_map(|row| row.cell(header, "external_id").and_then(|raw| ExternalId::parse(raw).ok()))
            .collect();
        self.unlinked_contacts.clear();
        if header.has("contact") {
            for contact in tx.unlinked_contacts_with_emails(self.target.root(), &emails).await? {
                if let Some(email) = contact.email.clone() {
                    self.unlinked_contacts.entry(email).or_insert(contact);
                }
            }
        }
        let found = tx.users_named(self.target.root(), &keys, &emails).await?;
        self.known_by_key.clear();
        self.known_by_email.clear();
        self.known_by_external_id.clear();
        for user in found {
            self.known_by_key.insert(user.username.key().as_str().to_owned(), user.clone());
            self.known_by_email.insert(user.email.clone(), user);
        }
        if !external_ids.is_empty() {
            for user in tx.users_by_external_ids(self.target.root(), &external_ids).await? {
                if let Some(id) = user.external_id.clone() {
                    self.known_by_external_id.insert(id, user);
                }
            }
        }
        Ok(())
    }

    /// Writes what the chunk made: its users, then their welcome links, events and audit.
    async fn flush(&mut self, tx: &mut dyn Tx) -> Result<(), RepoError> {
        if !self.contacts.is_empty() {
            tx.insert_contacts(&std::mem::take(&mut self.contacts)).await?;
        }
        for (contact, user) in std::mem::take(&mut self.links) {
            tx.link_contact(contact, user).await?;
        }
        let (users, welcomes): (Vec<User>, Vec<bool>) = std::mem::take(&mut self.made).into_iter().unzip();
        if !users.is_empty() {
            tx.insert_users(&users).await?;
            for (user, welcome) in users.iter().zip(welcomes) {
                if welcome {
                    issue_link(self.ports, tx, &self.settings, user, LinkKind::Welcome).await?;
                }
            }
        }
        if !self.events.is_empty() {
            tx.append_events(&std::mem::take(&mut self.events)).await?;
        }
        if !self.audits.is_empty() {
            tx.append_audits(&std::mem::take(&mut self.audits)).await?;
        }
        Ok(())
    }

    /// Takes a seat of a type for a new enabled user (R1), from figures read once.
    async fn take_seat(&mut self, tx: &mut dyn Tx, user_type: &UserType) -> Result<(), Refusal> {
        if !user_type.consumes_seat {
            return Ok(());
        }
        let usage = match self.seats.get_mut(&user_type.id) {
            Some(usage) => usage,
            None => {
                let usage = lock_seats(tx, self.target.root(), user_type, self.ports.now()).await?;
                self.seats.entry(user_type.id).or_insert(usage)
            }
        };
        check_seats(user_type, usage, 1)
            .map_err(|no_seat| at("user_type", UserError::NoSeatAvailable(no_seat)))?;
        usage.used += 1;
        Ok(())
    }

    async fn parse(&mut self, tx: &mut dyn Tx, row: &ImportRow) -> Result<Wanted, Refusal> {
        let header = self.header;
        let cell = |column: &str| row.cell(header, column);
        let email = field("email", Email::parse(cell("email").unwrap_or_default()))?;
        let username = cell("username").map(|raw| field("username", Username::parse(raw))).transpose()?;
        let account = match cell("account") {
            None => self.target.clone(),
            Some(slug) => self.account(tx, slug).await?,
        };
        let user_type = match cell("user_type") {
            Some(named) => self
                .catalog
                .user_type(named)
                .cloned()
                .ok_or_else(|| at("user_type", UserError::NotFound { entity: "user type" }))?,
            None => {
                let id = self.settings.default_user_type;
                let found = self.catalog.types.iter().find(|t| Some(t.id) == id).cloned();
                found.ok_or_else(|| at("user_type", UserError::NotFound { entity: "default user type" }))?
            }
        };
        let roles = match cell("roles") {
            Some(names) => {
                let mut roles = BTreeSet::new();
                for name in names.split(';').map(str::trim).filter(|n| !n.is_empty()) {
                    let role = self
                        .catalog
                        .role(name)
                        .ok_or_else(|| at("roles", UserError::NotFound { entity: "role" }))?;
                    roles.insert(role.id);
                }
                roles
            }
            None => self.settings.default_roles.clone(),
        };
        let state = match cell("state") {
            None | Some("active") => UserState::Active,
            Some("disabled") => UserState::Disabled,
            Some(_) => {
                let error = ValueError::Malformed { reason: "must be active or disabled" };
                return Err(Invalid::new("state", error).into());
            }
        };
        let text = |column: &str| header.has(column).then(|| cell(column).unwrap_or_default().to_owned());
        let profile = ProfileInput {
            first_name: text("first_name"),
            last_name: text("last_name"),
            phone: text("phone"),
            locale: text("locale"),
            ..ProfileInput::default()
        };
        let external_ids = match cell("external_ids") {
            None => None,
            Some(raw) => Some(serde_json::from_str::<BTreeMap<String, String>>(raw).map_err(|_| {
                let error = ValueError::Malformed { reason: "must be a JSON object of strings" };
                Invalid::new("external_ids", error)
            })?),
        };
        let external_id = crate::service::parse_external_id(cell("external_id"))?;
        let contact = match cell("contact") {
            None => None,
            Some(kind) => {
                let kind = ContactKind::parse(kind).ok_or_else(|| {
                    Invalid::new(
                        "contact",
                        ValueError::Malformed { reason: "must be person or organization" },
                    )
                })?;
                let organization = match kind {
                    ContactKind::Person => None,
                    ContactKind::Organization => {
                        let name = cell("organization")
                            .ok_or_else(|| Invalid::new("organization", ValueError::Empty))?;
                        Some(field("organization", Name::parse(name))?)
                    }
                };
                Some((kind, organization))
            }
        };
        Ok(Wanted {
            email,
            username,
            account,
            user_type,
            roles,
            state,
            profile,
            external_ids,
            external_id,
            contact,
        })
    }

    /// The account of a slug, within the import's account subtree and the actor's reach.
    async fn account(&mut self, tx: &mut dyn Tx, slug: &str) -> Result<Account, Refusal> {
        if let Some(found) = self.accounts.get(slug) {
            return Ok(found.clone());
        }
        let missing = || at("account", UserError::NotFound { entity: "account" });
        let found = crate::service::accounts::account_by_slug(tx, slug).await?.ok_or_else(missing)?;
        if !found.path.is_within(self.target.id) {
            return Err(missing());
        }
        guard(self.actor, Permission::new(Module::Users, Access::Write), &found, "account")
            .map_err(|gate| at("account", gate.into()))?;
        self.accounts.insert(slug.to_owned(), found.clone());
        Ok(found)
    }

    /// Makes a user of a row, checked as one made by hand (R1, R3, R4, R5, R12), and keeps it to
    /// be written with the chunk.
    async fn create(&mut self, tx: &mut dyn Tx, wanted: Wanted) -> Result<RowOutcome, Refusal> {
        let profile = wanted.profile.apply(Profile::default())?;
        let external_ids = parse_external_ids(&wanted.external_ids.unwrap_or_default())?;
        crate::service::reject_member_type(&self.settings, wanted.user_type.id)?;
        check_roles_for_state(wanted.state, &wanted.roles).map_err(UserError::RoleRequired)?;
        let roles: Vec<&Role> = wanted
            .roles
            .iter()
            .filter_map(|id| self.catalog.roles.iter().find(|role| role.id == *id))
            .collect();
        check_grant(self.actor, roles, &wanted.user_type).map_err(UserError::Grant)?;
        if self.known_by_email.contains_key(&wanted.email) {
            return Err(at("email", UserError::EmailTaken { email: wanted.email.to_string() }));
        }
        let root = self.target.root();
        let given = wanted.username.as_ref().map(|u| u.as_str().to_owned());
        let username = choose_username_besides(
            tx,
            &self.settings,
            root,
            given.as_deref(),
            &wanted.email,
            &profile,
            &self.usernames,
        )
        .await?;
        let contact = match &wanted.contact {
            Some((kind, organization)) => Some(self.contact_for(
                &wanted.account,
                *kind,
                organization.as_ref(),
                &wanted.email,
                &profile,
            )?),
            None => None,
        };
        if wanted.state == UserState::Active {
            self.take_seat(tx, &wanted.user_type).await?;
        }
        let mut user = User {
            profile,
            external_ids,
            external_id: wanted.external_id,
            roles: wanted.roles,
            scope: BTreeSet::new(),
            state: wanted.state,
            ..User::new(
                self.ports.new_id(UserId::from_uuid),
                Newcomer {
                    root,
                    account: wanted.account.id,
                    username,
                    email: wanted.email,
                    user_type: wanted.user_type.id,
                    origin: Origin::Import,
                },
                self.ports.now(),
            )
        };
        if let Some(contact) = contact {
            self.give_contact(&mut user, contact);
        }
        let (audit, event) = records_of(self.ports, new_user_entry(self.actor, "user.imported", &user));
        self.audits.push(audit);
        self.events.extend(event);
        self.remember(&user);
        let id = user.id;
        let welcome = self.options.welcome_mail && user.state == UserState::Active;
        self.made.push((user, welcome));
        Ok(RowOutcome::Created(id))
    }

    async fn update(&mut self, tx: &mut dyn Tx, user: User, wanted: Wanted) -> Result<RowOutcome, Refusal> {
        // An update reads and changes the seat figures itself: what the chunk made is written
        // first, and the figures read again after.
        self.flush(tx).await?;
        self.seats.clear();
        let (user, _) = crate::service::load_user(tx, self.actor, user.id, Access::Write).await?;
        if user.erased_at.is_some() {
            return Ok(RowOutcome::Skipped { user: Some(user.id), reason: "erased" });
        }
        let mut changed = user.clone();
        changed.profile = wanted.profile.apply(changed.profile)?;
        if let Some(ids) = &wanted.external_ids {
            changed.external_ids = parse_external_ids(ids)?;
        }
        if let Some(id) = wanted.external_id {
            changed.external_id = Some(id);
        }
        // A user keeps the contact it has; one without gets the row's.
        let contact = match (&wanted.contact, user.contact) {
            (Some((kind, organization)), None) => {
                let account = load_account(tx, user.account).await.map_err(UserError::from)?;
                Some(self.contact_for(
                    &account,
                    *kind,
                    organization.as_ref(),
                    &wanted.email,
                    &changed.profile,
                )?)
            }
            _ => None,
        };
        if self.header.has("user_type") {
            changed.user_type = wanted.user_type.id;
        }
        if self.header.has("roles") {
            changed.roles = wanted.roles;
        }
        if wanted.email != user.email {
            if tx.user_by_email(user.root, &wanted.email).await?.is_some() {
                return Err(at("email", UserError::EmailTaken { email: wanted.email.to_string() }));
            }
            changed.email = wanted.email;
            changed.email_verified_at = None;
        }
        if changed == user && contact.is_none() {
            self.remember(&user);
            return Ok(RowOutcome::Unchanged(user.id));
        }
        if let Some(contact) = contact {
            self.give_contact(&mut changed, contact);
        }
        let type_changed = changed.user_type != user.user_type;
        if type_changed {
            crate::service::reject_member_type(&self.settings, changed.user_type)?;
        }
        let account = load_account(tx, changed.account).await.map_err(UserError::from)?;
        let draft = Draft {
            account: &account,
            settings: &self.settings,
            user_type: &wanted.user_type,
            roles: &changed.roles,
            scope: &changed.scope,
            state: changed.state,
        };
        check_draft(self.ports, tx, self.actor, draft, type_changed).await?;
        changed.updated_at = self.ports.now();
        tx.update_user(&changed).await.map_err(|err| match err {
            RepoError::Stale { .. } => at(
                "username",
                UserError::VersionMismatch { expected: user.version, actual: user.version + 1 },
            ),
            other => Refusal::Store(other),
        })?;
        changed.version += 1;
        let changes = diff(Some(&user_view(&user)), Some(&user_view(&changed)));
        record_user(self.ports, tx, self.actor, "user.updated", &changed, changes).await?;
        self.remember(&changed);
        Ok(RowOutcome::Updated(changed.id))
    }

    /// The contact a row's user gets: the root's contact with the row's email that has no user
    /// yet and is of the kind asked, else a new one (a person with the row's names and phone,
    /// or the named organization) in the user's account. Needs `contacts:write` there.
    fn contact_for(
        &mut self,
        account: &Account,
        kind: ContactKind,
        organization: Option<&Name>,
        email: &Email,
        profile: &Profile,
    ) -> Result<RowContact, Refusal> {
        guard(self.actor, Permission::new(Module::Contacts, Access::Write), account, "account")
            .map_err(|gate| at("contact", gate.into()))?;
        if let Some(found) = self.unlinked_contacts.remove(email) {
            if found.kind == kind {
                return Ok(RowContact::Existing(found));
            }
            // Another kind of contact keeps its address; this row's contact is a new one.
            self.unlinked_contacts.insert(email.clone(), found);
        }
        let (first_name, last_name) = match kind {
            ContactKind::Person => {
                let last_name =
                    profile.last_name.clone().ok_or_else(|| Invalid::new("last_name", ValueError::Empty))?;
                (profile.first_name.clone(), last_name)
            }
            ContactKind::Organization => {
                let name =
                    organization.cloned().ok_or_else(|| Invalid::new("organization", ValueError::Empty))?;
                (None, name)
            }
        };
        Ok(RowContact::New(Contact {
            id: self.ports.new_id(ContactId::from_uuid),
            root: account.root(),
            account: account.id,
            kind,
            first_name,
            last_name: Some(last_name),
            email: Some(email.clone()),
            phone: if kind == ContactKind::Person { profile.phone.clone() } else { None },
            user: None,
            created_at: self.ports.now(),
            version: 1,
        }))
    }

    /// Links `user` and `contact`: a new contact is written with the chunk and audited, an
    /// existing one is linked to the user.
    fn give_contact(&mut self, user: &mut User, contact: RowContact) {
        let mut contact = match contact {
            RowContact::Existing(contact) => {
                user.contact = Some(contact.id);
                user.contact_kind = Some(contact.kind);
                self.links.push((contact.id, user.id));
                return;
            }
            RowContact::New(contact) => contact,
        };
        user.contact = Some(contact.id);
        user.contact_kind = Some(contact.kind);
        contact.user = Some(user.id);
        let diff = serde_json::json!({"kind": contact.kind, "user": user.id});
        let entry = crate::service::contacts::contact_entry(self.actor, "contact.created", &contact, diff);
        let (audit, event) = records_of(self.ports, entry);
        self.audits.push(audit);
        self.events.extend(event);
        self.contacts.push(contact);
    }

    fn remember(&mut self, user: &User) {
        self.usernames.insert(user.username.key().as_str().to_owned());
        self.emails.insert(user.email.clone());
        if let Some(id) = &user.external_id {
            self.external_ids.insert(id.clone());
        }
    }
}
