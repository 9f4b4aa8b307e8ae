//! Every format that outlives a request, as one named type with both directions here:
//!
//! - [`MailDocument`]: a queued mail's message, as the outbox stores it and as mail templates
//!   read it (their variables are its fields);
//! - [`SettingsDocument`]: a root's settings, as stored, as hashed into the `If-Match`
//!   fingerprint, and as diffed in the audit log;
//! - [`UserAuditView`]: a user as its audit events show it (every field but secrets);
//! - [`ActorDocument`]: who acted, as stored with every audit event and invitation;
//! - [`EventDocument`]: a public event as a webhook delivers it (and as the feed lists it);
//! - [`Cursor`]: a list position, as handed to clients.
//!
//! Each is pinned by a snapshot test: renaming a field fails it until the snapshot is
//! updated on purpose, because stored mail, custom templates and audit readers depend on it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::id::{AccountId, ApiKeyId, InvitationId, RoleId, UserId, UserTypeId};
use crate::model::{ActorRef, Lifetime, MailMessage, Settings, User, UsernameFormat};
use crate::password::PasswordPolicy;
use crate::time::Timestamp;
use crate::value::{SecretToken, ValueError};

pub use crate::ports::Cursor;

/// A queued mail's message. The link token is here until the mail was sent; the fields are the
/// template variables of the mail of that `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MailDocument {
    /// See [`MailMessage::Invitation`].
    Invitation {
        /// Invitation id.
        invitation: Uuid,
        /// The inviting account's name.
        account_name: String,
        /// Link token.
        token: Option<String>,
        /// RFC 3339.
        expires_at: String,
    },
    /// See [`MailMessage::Welcome`].
    Welcome {
        /// User id.
        user: Uuid,
        /// Username to log in with.
        username: String,
        /// Link token.
        token: Option<String>,
        /// RFC 3339.
        expires_at: String,
    },
    /// See [`MailMessage::EmailVerification`].
    EmailVerification {
        /// User id.
        user: Uuid,
        /// Link token.
        token: Option<String>,
        /// RFC 3339.
        expires_at: String,
    },
    /// See [`MailMessage::PasswordReset`].
    PasswordReset {
        /// User id.
        user: Uuid,
        /// Link token.
        token: Option<String>,
        /// RFC 3339.
        expires_at: String,
    },
    /// See [`MailMessage::PasswordChanged`].
    PasswordChanged {
        /// User id.
        user: Uuid,
    },
    /// See [`MailMessage::RegistrationAttempt`].
    RegistrationAttempt {
        /// User id.
        user: Uuid,
        /// The account's slug.
        account: String,
    },
    /// See [`MailMessage::PasswordResetRequest`].
    PasswordResetRequest {
        /// Where the request came from.
        source: Option<String>,
    },
}

fn token_text(token: Option<&SecretToken>) -> Option<String> {
    token.map(|token| token.expose().to_owned())
}

fn token_from(text: Option<String>) -> Result<Option<SecretToken>, ValueError> {
    text.as_deref().map(SecretToken::parse).transpose()
}

fn time_from(text: &str) -> Result<Timestamp, ValueError> {
    time::OffsetDateTime::parse(text, &Rfc3339)
        .map(Timestamp::from_datetime)
        .map_err(|_| ValueError::Malformed { reason: "not an RFC 3339 time" })
}

impl From<&MailMessage> for MailDocument {
    fn from(message: &MailMessage) -> MailDocument {
        match message {
            MailMessage::Invitation { invitation, account_name, token, expires_at } => {
                MailDocument::Invitation {
                    invitation: invitation.as_uuid(),
                    account_name: account_name.clone(),
                    token: token_text(token.as_ref()),
                    expires_at: expires_at.to_rfc3339(),
                }
            }
            MailMessage::Welcome { user, username, token, expires_at } => MailDocument::Welcome {
                user: user.as_uuid(),
                username: username.clone(),
                token: token_text(token.as_ref()),
                expires_at: expires_at.to_rfc3339(),
            },
            MailMessage::EmailVerification { user, token, expires_at } => MailDocument::EmailVerification {
                user: user.as_uuid(),
                token: token_text(token.as_ref()),
                expires_at: expires_at.to_rfc3339(),
            },
            MailMessage::PasswordReset { user, token, expires_at } => MailDocument::PasswordReset {
                user: user.as_uuid(),
                token: token_text(token.as_ref()),
                expires_at: expires_at.to_rfc3339(),
            },
            MailMessage::PasswordChanged { user } => MailDocument::PasswordChanged { user: user.as_uuid() },
            MailMessage::RegistrationAttempt { user, account } => {
                MailDocument::RegistrationAttempt { user: user.as_uuid(), account: account.clone() }
            }
            MailMessage::PasswordResetRequest { source } => {
                MailDocument::PasswordResetRequest { source: source.clone() }
            }
        }
    }
}

impl TryFrom<MailDocument> for MailMessage {
    type Error = ValueError;

    fn try_from(document: MailDocument) -> Result<MailMessage, ValueError> {
        Ok(match document {
            MailDocument::Invitation { invitation, account_name, token, expires_at } => {
                MailMessage::Invitation {
                    invitation: InvitationId::from_uuid(invitation),
                    account_name,
                    token: token_from(token)?,
                    expires_at: time_from(&expires_at)?,
                }
            }
            MailDocument::Welcome { user, username, token, expires_at } => MailMessage::Welcome {
                user: UserId::from_uuid(user),
                username,
                token: token_from(token)?,
                expires_at: time_from(&expires_at)?,
            },
            MailDocument::EmailVerification { user, token, expires_at } => MailMessage::EmailVerification {
                user: UserId::from_uuid(user),
                token: token_from(token)?,
                expires_at: time_from(&expires_at)?,
            },
            MailDocument::PasswordReset { user, token, expires_at } => MailMessage::PasswordReset {
                user: UserId::from_uuid(user),
                token: token_from(token)?,
                expires_at: time_from(&expires_at)?,
            },
            MailDocument::PasswordChanged { user } => {
                MailMessage::PasswordChanged { user: UserId::from_uuid(user) }
            }
            MailDocument::RegistrationAttempt { user, account } => {
                MailMessage::RegistrationAttempt { user: UserId::from_uuid(user), account }
            }
            MailDocument::PasswordResetRequest { source } => MailMessage::PasswordResetRequest { source },
        })
    }
}

/// A root's settings as stored: a JSON document, so a new setting needs no migration (it
/// gets a `#[serde(default)]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsDocument {
    /// R12.
    pub self_registration: bool,
    /// R12.
    pub member_user_type: Option<Uuid>,
    /// R9, R14.
    pub email_verification_required: bool,
    /// R5.
    pub usernames_must_be_emails: bool,
    /// R5.
    pub username_format: String,
    /// R17.
    pub default_user_type: Option<Uuid>,
    /// R12, R17, in id order.
    pub default_roles: Vec<Uuid>,
    /// R7.
    pub default_clerk_id: Option<String>,
    /// R10.
    pub invitation_lifetime_seconds: i64,
    /// Verification, set-password and reset links.
    pub link_lifetime_seconds: i64,
    /// R15.
    pub password_min_length: u16,
    /// R15.
    pub password_max_length: u16,
    /// Login sessions.
    pub session_lifetime_seconds: i64,
    /// Console sessions without a request (30 minutes in settings stored before it existed).
    #[serde(default = "default_console_idle_timeout")]
    pub console_idle_timeout_seconds: i64,
    /// R23.
    #[serde(default)]
    pub manages_own_seats: bool,
    /// Just-in-time users.
    #[serde(default)]
    pub link_identities_by_verified_email: bool,
}

fn default_console_idle_timeout() -> i64 {
    Lifetime::minutes(30).seconds()
}

impl From<&Settings> for SettingsDocument {
    fn from(settings: &Settings) -> SettingsDocument {
        SettingsDocument {
            self_registration: settings.self_registration,
            member_user_type: settings.member_user_type.map(|t| t.as_uuid()),
            email_verification_required: settings.email_verification_required,
            usernames_must_be_emails: settings.usernames_must_be_emails,
            username_format: settings.username_format.as_str().to_owned(),
            default_user_type: settings.default_user_type.map(|t| t.as_uuid()),
            default_roles: settings.default_roles.iter().map(|r| r.as_uuid()).collect(),
            default_clerk_id: settings.default_clerk_id.clone(),
            invitation_lifetime_seconds: settings.invitation_lifetime.seconds(),
            link_lifetime_seconds: settings.link_lifetime.seconds(),
            password_min_length: settings.password_policy.min_length(),
            password_max_length: settings.password_policy.max_length(),
            session_lifetime_seconds: settings.session_lifetime.seconds(),
            console_idle_timeout_seconds: settings.console_idle_timeout.seconds(),
            manages_own_seats: settings.manages_own_seats,
            link_identities_by_verified_email: settings.link_identities_by_verified_email,
        }
    }
}

impl TryFrom<SettingsDocument> for Settings {
    type Error = ValueError;

    fn try_from(document: SettingsDocument) -> Result<Settings, ValueError> {
        Ok(Settings {
            self_registration: document.self_registration,
            member_user_type: document.member_user_type.map(UserTypeId::from_uuid),
            email_verification_required: document.email_verification_required,
            usernames_must_be_emails: document.usernames_must_be_emails,
            username_format: UsernameFormat::parse(&document.username_format)?,
            default_user_type: document.default_user_type.map(UserTypeId::from_uuid),
            default_roles: document.default_roles.into_iter().map(RoleId::from_uuid).collect(),
            default_clerk_id: document.default_clerk_id,
            invitation_lifetime: Lifetime::from_seconds(document.invitation_lifetime_seconds)?,
            link_lifetime: Lifetime::from_seconds(document.link_lifetime_seconds)?,
            password_policy: PasswordPolicy::new(document.password_min_length, document.password_max_length)?,
            session_lifetime: Lifetime::from_seconds(document.session_lifetime_seconds)?,
            console_idle_timeout: Lifetime::from_seconds(document.console_idle_timeout_seconds)?,
            manages_own_seats: document.manages_own_seats,
            link_identities_by_verified_email: document.link_identities_by_verified_email,
        })
    }
}

/// A user as its audit events show it: every field but secrets (no password, no token).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserAuditView {
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// Account.
    pub account: AccountId,
    /// Names, phone, addresses and the rest of the profile.
    pub profile: serde_json::Value,
    /// Whether the user gets system messages.
    pub receive_system_messages: bool,
    /// The sales representative orders are attributed to (R7).
    pub sales_representative: Option<UserId>,
    /// External ids by kind.
    pub external_ids: BTreeMap<String, String>,
    /// The provisioning client's id for the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// User type.
    pub user_type: UserTypeId,
    /// Roles.
    pub roles: BTreeSet<RoleId>,
    /// Sub-account scope (R19).
    pub scope: BTreeSet<AccountId>,
    /// `active` or `disabled`.
    pub state: String,
    /// R9.
    pub email_verified_at: Option<String>,
    /// R16.
    pub must_change_password: bool,
}

impl From<&User> for UserAuditView {
    fn from(user: &User) -> UserAuditView {
        UserAuditView {
            username: user.username.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            account: user.account,
            profile: serde_json::to_value(&user.profile).unwrap_or_default(),
            receive_system_messages: user.receive_system_messages,
            sales_representative: user.sales_representative,
            external_ids: user.external_ids.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect(),
            external_id: user.external_id.as_ref().map(ToString::to_string),
            user_type: user.user_type,
            roles: user.roles.clone(),
            scope: user.scope.clone(),
            state: match user.state {
                crate::model::UserState::Active => "active".to_owned(),
                crate::model::UserState::Disabled => "disabled".to_owned(),
            },
            email_verified_at: user.email_verified_at.map(|at| at.to_rfc3339()),
            must_change_password: user.must_change_password,
        }
    }
}

/// Who acted, as stored: `{"kind": "user", "id": "…"}`, or just a kind for the anonymous and
/// the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ActorDocument {
    /// A user.
    User(Uuid),
    /// The operator.
    Operator(Uuid),
    /// An API key.
    ApiKey(Uuid),
    /// Someone not logged in (a public flow).
    Anonymous,
    /// usher itself.
    System,
}

impl From<ActorRef> for ActorDocument {
    fn from(actor: ActorRef) -> ActorDocument {
        match actor {
            ActorRef::User(id) => ActorDocument::User(id.as_uuid()),
            ActorRef::Operator(id) => ActorDocument::Operator(id.as_uuid()),
            ActorRef::ApiKey(id) => ActorDocument::ApiKey(id.as_uuid()),
            ActorRef::Anonymous => ActorDocument::Anonymous,
            ActorRef::System => ActorDocument::System,
        }
    }
}

impl From<ActorDocument> for ActorRef {
    fn from(document: ActorDocument) -> ActorRef {
        match document {
            ActorDocument::User(id) => ActorRef::User(UserId::from_uuid(id)),
            ActorDocument::Operator(id) => ActorRef::Operator(UserId::from_uuid(id)),
            ActorDocument::ApiKey(id) => ActorRef::ApiKey(ApiKeyId::from_uuid(id)),
            ActorDocument::Anonymous => ActorRef::Anonymous,
            ActorDocument::System => ActorRef::System,
        }
    }
}

/// A public event as webhooks deliver it, field for field what `GET …/events` lists (R26).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventDocument {
    /// Id (also the `webhook-id` header).
    pub id: Uuid,
    /// Type, e.g. `user.disabled`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Position in the root's feed.
    pub sequence: u64,
    /// RFC 3339.
    pub occurred_at: String,
    /// Account of the object.
    pub account_id: Uuid,
    /// Root account.
    pub root_id: Uuid,
    /// Who, and from which app.
    pub actor: EventActorDocument,
    /// What the change was made to.
    pub subject: EventSubjectDocument,
    /// The object after the change.
    pub data: serde_json::Value,
    /// Field-level changes.
    pub changes: serde_json::Value,
}

/// Who made a change, and from which app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventActorDocument {
    /// `user`, `operator`, `api_key`, `anonymous` or `system`.
    pub kind: &'static str,
    /// The user or API key id.
    pub id: Option<Uuid>,
    /// The caller's origin.
    pub origin: Option<String>,
}

/// The object an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventSubjectDocument {
    /// Kind, e.g. `user`.
    pub kind: String,
    /// Id.
    pub id: String,
}

impl From<&crate::model::PublicEvent> for EventDocument {
    fn from(event: &crate::model::PublicEvent) -> EventDocument {
        let (kind, id) = match event.actor {
            ActorRef::User(id) => ("user", Some(id.as_uuid())),
            ActorRef::Operator(id) => ("operator", Some(id.as_uuid())),
            ActorRef::ApiKey(id) => ("api_key", Some(id.as_uuid())),
            ActorRef::Anonymous => ("anonymous", None),
            ActorRef::System => ("system", None),
        };
        EventDocument {
            id: event.id.as_uuid(),
            kind: event.kind,
            sequence: event.sequence.unwrap_or_default(),
            occurred_at: event.occurred_at.to_rfc3339(),
            account_id: event.account.as_uuid(),
            root_id: event.root.as_uuid(),
            actor: EventActorDocument { kind, id, origin: event.origin.clone() },
            subject: EventSubjectDocument { kind: event.subject_kind.clone(), id: event.subject_id.clone() },
            data: event.data.clone(),
            changes: event.changes.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
