//! Just-in-time users: an app that signs people in with an outside identity provider (Entra ID,
//! Okta, Google) tells usher who signed in, and usher makes or updates the user.
//!
//! The identity (issuer and subject) names the user for good: the first call creates a person
//! contact and a user from the settings' defaults (R1, R3, R4, R5, R17), later calls bring the
//! user's name and email up to date, and a call that changes nothing writes nothing. An
//! identity is linked to a user that already has its email only when the provider verified
//! the address and the settings allow it, so an unverified claim never takes over an account.

use serde_json::json;

use crate::authz::Actor;
use crate::error::{Invalid, RepoError};
use crate::id::{AccountId, ContactId, UserId};
use crate::model::{
    Contact, ContactKind, ExternalIdentity, Newcomer, Origin, Profile, TokenPurpose, User, UserState,
};
use crate::service::users::UserError;
use crate::service::{
    AuditEntry, Draft, Ports, check_draft, choose_username, diff, guard, load_account, load_settings,
    load_user, load_user_type, objects, optional, record, record_user, reject_member_type, user_view,
};
use crate::value::{Access, Email, Module, Name, Permission, Username, ValueError};

/// The longest issuer or subject accepted: providers' are URLs and ids far shorter.
pub const MAX_IDENTITY_PART: usize = 255;

/// What the provider says about the person who signed in.
#[derive(Debug, Clone, Default)]
pub struct IdentityClaims {
    /// Email (required: every user has one).
    pub email: String,
    /// Whether the provider verified the email.
    pub email_verified: bool,
    /// First name (`given_name`); left as it is when absent.
    pub first_name: Option<String>,
    /// Last name (`family_name`); left as it is when absent.
    pub last_name: Option<String>,
    /// The username wanted at creation (`preferred_username`); generated from the format
    /// when absent or taken. Later calls never rename.
    pub username: Option<String>,
}

/// What a call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityOutcome {
    /// A new contact and user.
    Created,
    /// The identity now names a user that already had its (verified) email.
    Linked,
    /// The user's name or email changed.
    Updated,
    /// Nothing changed; nothing was written.
    Unchanged,
}

/// The identity and its user after a call.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The identity.
    pub identity: ExternalIdentity,
    /// Its user.
    pub user: User,
    /// What the call did.
    pub outcome: IdentityOutcome,
}

/// How many times a call that lost a race to a concurrent first sign-in of the same identity
/// starts over; the second attempt finds the winner's user.
const ATTEMPTS: usize = 3;

/// Makes or updates the user an outside identity names in `account`'s tenant. Needs
/// `users:write` on the account; idempotent, and safe under concurrent calls for one identity.
pub async fn provision_identity(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    issuer: &str,
    subject: &str,
    claims: IdentityClaims,
) -> Result<Provisioned, UserError> {
    let issuer = identity_part("issuer", issuer)?;
    let subject = identity_part("subject", subject)?;
    let claims = Parsed::from(claims)?;
    let mut raced = RepoError::Stale { entity: "external identity" };
    for _ in 0..ATTEMPTS {
        match attempt(ports, actor, account, &issuer, &subject, &claims).await {
            Err(Attempt::Raced(err)) => raced = err,
            Err(Attempt::Failed(err)) => return Err(err),
            Ok(done) => return Ok(done),
        }
    }
    Err(UserError::Repo(raced))
}

/// An issuer or subject: trimmed, not empty, at most [`MAX_IDENTITY_PART`] characters, no
/// control characters.
fn identity_part(name: &str, raw: &str) -> Result<String, Invalid> {
    let value = raw.trim();
    let error = if value.is_empty() {
        ValueError::Empty
    } else if value.chars().count() > MAX_IDENTITY_PART {
        ValueError::TooLong { max: MAX_IDENTITY_PART, actual: value.chars().count() }
    } else if value.chars().any(char::is_control) {
        ValueError::Malformed { reason: "must not contain control characters" }
    } else {
        return Ok(value.to_owned());
    };
    Err(Invalid::new(name, error))
}

/// The claims, parsed.
struct Parsed {
    email: Email,
    email_verified: bool,
    first_name: Option<Name>,
    last_name: Option<Name>,
    username: Option<Username>,
}

impl Parsed {
    fn from(claims: IdentityClaims) -> Result<Parsed, UserError> {
        let email = crate::error::field("email", Email::parse(&claims.email))?;
        Ok(Parsed {
            email,
            email_verified: claims.email_verified,
            first_name: optional("first_name", claims.first_name.as_deref(), Name::parse)?,
            last_name: optional("last_name", claims.last_name.as_deref(), Name::parse)?,
            username: optional("username", claims.username.as_deref(), Username::parse)?,
        })
    }
}

/// Why one attempt ended without an answer.
enum Attempt {
    /// A concurrent call for the same identity committed first: start over.
    Raced(RepoError),
    /// The answer is this error.
    Failed(UserError),
}

impl<E: Into<UserError>> From<E> for Attempt {
    fn from(err: E) -> Self {
        match err.into() {
            UserError::Repo(err @ RepoError::Stale { .. }) => Attempt::Raced(err),
            other => Attempt::Failed(other),
        }
    }
}

/// A write that fails on a unique key lost a race with a concurrent first sign-in.
fn raced(err: RepoError) -> Attempt {
    match err {
        RepoError::Duplicate { .. } | RepoError::Stale { .. } => Attempt::Raced(err),
        other => Attempt::Failed(other.into()),
    }
}

async fn attempt(
    ports: &Ports,
    actor: &Actor,
    account: AccountId,
    issuer: &str,
    subject: &str,
    claims: &Parsed,
) -> Result<Provisioned, Attempt> {
    let mut tx = ports.begin().await.map_err(raced)?;
    let account = load_account(tx.as_mut(), account).await.map_err(UserError::from)?;
    guard(actor, Permission::new(Module::Users, Access::Write), &account, "account")
        .map_err(UserError::from)?;
    let root = account.root();
    if let Some(identity) = tx.external_identity(root, issuer, subject).await? {
        let (user, _) = load_user(tx.as_mut(), actor, identity.user, Access::Read).await?;
        let Some(updated) = brought_up_to_date(&user, claims, ports) else {
            return Ok(Provisioned { identity, user, outcome: IdentityOutcome::Unchanged });
        };
        // Changing the user takes what any edit takes (R24), checked now that there is one.
        let (user, _) = load_user(tx.as_mut(), actor, identity.user, Access::Write).await?;
        if updated.email != user.email && tx.user_by_email(root, &updated.email).await?.is_some() {
            return Err(Attempt::Failed(UserError::EmailTaken { email: updated.email.to_string() }));
        }
        tx.update_user(&updated).await.map_err(raced)?;
        if updated.email != user.email {
            // R25: links sent to the old address verify nothing now.
            tx.retire_tokens(user.id, TokenPurpose::EmailVerification, ports.now()).await?;
        }
        let stored = User { version: updated.version + 1, ..updated };
        let changes = diff(Some(&user_view(&user)), Some(&user_view(&stored)));
        record_user(ports, tx.as_mut(), actor, "user.updated", &stored, changes).await?;
        tx.commit().await?;
        return Ok(Provisioned { identity, user: stored, outcome: IdentityOutcome::Updated });
    }
    let settings = load_settings(tx.as_mut(), root).await?;
    let identity = |user: UserId| ExternalIdentity {
        root,
        issuer: issuer.to_owned(),
        subject: subject.to_owned(),
        user,
        linked_at: ports.now(),
    };
    if let Some(holder) = tx.user_by_email(root, &claims.email).await? {
        if tx.external_identity(root, issuer, subject).await?.is_some() {
            // Committed between the two reads: the holder is the winner's new user.
            return Err(Attempt::Raced(RepoError::Stale { entity: "external identity" }));
        }
        let reason = if !claims.email_verified {
            Some("the identity provider did not verify the email")
        } else if !settings.link_identities_by_verified_email {
            Some("the settings do not link identities to users by verified email")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(Attempt::Failed(UserError::IdentityNotLinked {
                email: claims.email.to_string(),
                reason,
            }));
        }
        let (user, _) = load_user(tx.as_mut(), actor, holder.id, Access::Write).await?;
        let identity = identity(user.id);
        tx.insert_external_identity(&identity).await.map_err(raced)?;
        let changes = json!({"external_identity": {"issuer": issuer, "subject": subject}});
        record_user(ports, tx.as_mut(), actor, "user.identity_linked", &user, changes).await?;
        tx.commit().await?;
        return Ok(Provisioned { identity, user, outcome: IdentityOutcome::Linked });
    }
    let type_id = settings.default_user_type.ok_or(UserError::NotFound { entity: "default user type" })?;
    let user_type = load_user_type(tx.as_mut(), root, type_id).await?;
    reject_member_type(&settings, user_type.id)?;
    let roles = settings.default_roles.clone();
    let scope = Default::default();
    let draft = Draft {
        account: &account,
        settings: &settings,
        user_type: &user_type,
        roles: &roles,
        scope: &scope,
        state: UserState::Active,
    };
    check_draft(ports, tx.as_mut(), actor, draft, true).await?;
    let profile = Profile {
        first_name: claims.first_name.clone(),
        last_name: claims.last_name.clone(),
        ..Profile::default()
    };
    let wanted = match &claims.username {
        Some(name) if tx.user_by_username(root, &name.key()).await?.is_none() => Some(name.as_str()),
        _ => None,
    };
    let username = choose_username(tx.as_mut(), &settings, root, wanted, &claims.email, &profile).await?;
    let now = ports.now();
    let contact = Contact {
        id: ports.new_id(ContactId::from_uuid),
        root,
        account: account.id,
        kind: ContactKind::Person,
        first_name: claims.first_name.clone(),
        last_name: claims.last_name.clone(),
        email: Some(claims.email.clone()),
        phone: None,
        user: None,
        created_at: now,
        version: 1,
    };
    let user = User {
        profile,
        roles,
        scope,
        contact: Some(contact.id),
        contact_kind: Some(ContactKind::Person),
        email_verified_at: claims.email_verified.then_some(now),
        ..User::new(
            ports.new_id(UserId::from_uuid),
            Newcomer {
                root,
                account: account.id,
                username,
                email: claims.email.clone(),
                user_type: user_type.id,
                origin: Origin::Jit,
            },
            now,
        )
    };
    tx.insert_contact(&contact).await?;
    tx.insert_user(&user).await.map_err(raced)?;
    tx.link_contact(contact.id, user.id).await?;
    let identity = identity(user.id);
    tx.insert_external_identity(&identity).await.map_err(raced)?;
    let entry = AuditEntry {
        root,
        account: account.id,
        action: "contact.created",
        target_kind: "contact",
        target_id: contact.id.to_string(),
        diff: json!({"kind": contact.kind}),
        actor,
        object: objects::contact(&Contact { user: Some(user.id), ..contact }),
    };
    record(ports, tx.as_mut(), entry).await?;
    let mut changes = diff(None, Some(&user_view(&user)));
    if let serde_json::Value::Object(map) = &mut changes {
        map.insert("external_identity".into(), json!({"issuer": issuer, "subject": subject}));
    }
    record_user(ports, tx.as_mut(), actor, "user.created", &user, changes).await?;
    tx.commit().await?;
    Ok(Provisioned { identity, user, outcome: IdentityOutcome::Created })
}

/// The user with the claims applied, or `None` when they change nothing. Absent names stay;
/// a new email is unverified unless the provider verified it; the provider's verification of
/// the current email verifies it here too.
fn brought_up_to_date(user: &User, claims: &Parsed, ports: &Ports) -> Option<User> {
    let mut updated = user.clone();
    if let Some(first) = &claims.first_name {
        updated.profile.first_name = Some(first.clone());
    }
    if let Some(last) = &claims.last_name {
        updated.profile.last_name = Some(last.clone());
    }
    if claims.email != user.email {
        updated.email = claims.email.clone();
        updated.email_verified_at = None;
    }
    if claims.email_verified && updated.email_verified_at.is_none() {
        updated.email_verified_at = Some(ports.now());
    }
    if updated == *user {
        return None;
    }
    updated.updated_at = ports.now();
    Some(updated)
}
