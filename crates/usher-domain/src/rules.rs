//! The rules of DESIGN §3 that are pure functions of values. The use cases in
//! [`crate::service`] call them with what they loaded from the store.

use std::collections::BTreeSet;

use unicode_normalization::UnicodeNormalization;

use crate::model::{Origin, SeatUsage, Settings, User, UserState, UserType, UsernameFormat, external_id};
use crate::time::{Duration, Timestamp};
use crate::value::{Email, Name, Username};

/// No free seat of a seat-consuming user type (R1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no seat available for user type {user_type}: {used} used and {reserved} reserved of {total}")]
pub struct NoSeatAvailable {
    /// User type key.
    pub user_type: String,
    /// Seats used by users.
    pub used: u32,
    /// Seats reserved by pending invitations.
    pub reserved: u32,
    /// Seats bought.
    pub total: u32,
}

/// R1: whether `wanted` more seats of `user_type` can be taken given `usage`.
pub fn check_seats(user_type: &UserType, usage: &SeatUsage, wanted: u32) -> Result<(), NoSeatAvailable> {
    if !user_type.consumes_seat || usage.free() >= wanted {
        return Ok(());
    }
    Err(NoSeatAvailable {
        user_type: user_type.key.to_string(),
        used: usage.used,
        reserved: usage.reserved,
        total: usage.total,
    })
}

/// Lowering seats below what is used and reserved (R2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot set {user_type} seats to {requested}: {used} used and {reserved} reserved")]
pub struct SeatsBelowUsage {
    /// User type key.
    pub user_type: String,
    /// The total asked for.
    pub requested: u32,
    /// Used.
    pub used: u32,
    /// Reserved.
    pub reserved: u32,
}

/// R2: a new seat total must cover what is used and reserved.
pub fn check_seat_total(
    user_type: &UserType,
    usage: &SeatUsage,
    requested: u32,
) -> Result<(), SeatsBelowUsage> {
    if !user_type.consumes_seat || requested >= usage.used.saturating_add(usage.reserved) {
        return Ok(());
    }
    Err(SeatsBelowUsage {
        user_type: user_type.key.to_string(),
        requested,
        used: usage.used,
        reserved: usage.reserved,
    })
}

/// R3: an enabled user has at least one role.
pub fn check_roles_for_state(
    state: UserState,
    roles: &BTreeSet<crate::id::RoleId>,
) -> Result<(), RoleRequired> {
    if state == UserState::Active && roles.is_empty() { Err(RoleRequired) } else { Ok(()) }
}

/// An enabled user needs a role (R3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an enabled user needs at least one role")]
pub struct RoleRequired;

/// What a username is generated from (R5).
#[derive(Debug, Clone, Copy)]
pub struct NameParts<'a> {
    /// Email.
    pub email: &'a Email,
    /// First name.
    pub first_name: Option<&'a Name>,
    /// Last name.
    pub last_name: Option<&'a Name>,
}

/// R5: the base username from the account's format, lower-cased, with whitespace removed.
/// Falls back to the email when the format needs a name the user does not have.
pub fn username_from_format(format: &UsernameFormat, parts: NameParts<'_>) -> Username {
    let first = parts.first_name.map(|n| squash(n.as_str()));
    let last = parts.last_name.map(|n| squash(n.as_str()));
    let initial = |value: &Option<String>| value.as_ref().and_then(|v| v.chars().next()).map(String::from);
    let substitutions: [(&str, Option<String>); 6] = [
        ("{email_local}", Some(parts.email.local_part().to_owned())),
        ("{email}", Some(parts.email.as_str().to_owned())),
        ("{first}", first.clone()),
        ("{last}", last.clone()),
        ("{f}", initial(&first)),
        ("{l}", initial(&last)),
    ];
    let mut text = format.as_str().to_owned();
    for (placeholder, value) in substitutions {
        if text.contains(placeholder) {
            // A name is never blank (`Name` is trimmed and non-empty), so neither is its squash.
            match value {
                Some(value) => text = text.replace(placeholder, &value),
                None => return email_username(parts.email),
            }
        }
    }
    Username::parse(&text).unwrap_or_else(|_| email_username(parts.email))
}

fn email_username(email: &Email) -> Username {
    // An Email is always a valid username: both refuse whitespace and control characters
    // and an email is at most 254 characters.
    Username::parse(email.as_str()).unwrap_or_else(|_| unreachable_username())
}

#[expect(clippy::unwrap_used, reason = "the literal is a valid username")]
fn unreachable_username() -> Username {
    Username::parse("user").unwrap()
}

fn squash(value: &str) -> String {
    value.nfc().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// R5: the `n`-th candidate for a base username: the base itself, then `base2`, `base3`, …
/// For an email-shaped base the suffix goes before the `@`.
pub fn username_candidate(base: &Username, n: u32) -> Username {
    if n <= 1 {
        return base.clone();
    }
    let text = match base.as_str().rsplit_once('@') {
        Some((local, domain)) => format!("{local}{n}@{domain}"),
        None => format!("{}{n}", base.as_str()),
    };
    Username::parse(&text).unwrap_or_else(|_| base.clone())
}

/// Why a rename is refused (R6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenameRefused {
    /// Registered members keep the username they registered with.
    #[error("the username of a registered member cannot change")]
    RegisteredMember,
    /// The username links the user to an external system.
    #[error("username {username} matches external id {kind}; acknowledge the broken link to rename")]
    ExternalLink {
        /// The current username.
        username: String,
        /// Which external id matches.
        kind: String,
    },
}

/// R6: whether `user` may be renamed; `acknowledged` is the administrator's explicit consent
/// to break an external link.
pub fn check_rename(user: &User, acknowledged: bool) -> Result<(), RenameRefused> {
    if user.origin == Origin::Registration {
        return Err(RenameRefused::RegisteredMember);
    }
    if acknowledged {
        return Ok(());
    }
    match user.external_ids.iter().find(|(_, value)| user.username.matches(value)) {
        Some((kind, _)) => {
            Err(RenameRefused::ExternalLink { username: user.username.to_string(), kind: kind.to_string() })
        }
        None => Ok(()),
    }
}

/// Where orders of a user are attributed (R7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribution {
    /// The ERP salesperson whose id equals the username.
    ErpSalesperson(String),
    /// The POS clerk whose id equals the username.
    PosClerk(String),
    /// The account's default clerk.
    DefaultClerk(String),
    /// Nothing matches and no default is set.
    Unattributed,
}

/// R7: ERP salesperson if the username matches one, else POS clerk if it matches one, else
/// the account's default clerk id.
pub fn attribution(user: &User, settings: &Settings) -> Attribution {
    let matching = |kind: &str| {
        user.external_ids
            .iter()
            .find(|(key, value)| key.as_str() == kind && user.username.matches(value))
            .map(|(_, value)| value.clone())
    };
    if let Some(id) = matching(external_id::ERP_SALESPERSON) {
        return Attribution::ErpSalesperson(id);
    }
    if let Some(id) = matching(external_id::POS_CLERK) {
        return Attribution::PosClerk(id);
    }
    match &settings.default_clerk_id {
        Some(id) => Attribution::DefaultClerk(id.clone()),
        None => Attribution::Unattributed,
    }
}

/// Deleting a user with history (R8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the user has history (logged in or acted); disable the user instead")]
pub struct HasHistory;

/// R8: only users who never logged in and never acted may be deleted.
pub fn check_delete(user: &User, has_acted: bool) -> Result<(), HasHistory> {
    if user.last_login_at.is_some() || has_acted { Err(HasHistory) } else { Ok(()) }
}

/// Why a login is refused. Callers see one answer for all of these (R14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// Unknown account or user, or wrong password.
    BadCredentials,
    /// The user or its account is disabled or suspended, or erased.
    Disabled,
    /// No password is set.
    NoPassword,
    /// No role.
    NoRole,
    /// Email not verified though the account requires it.
    Unverified,
    /// Seat type without a held seat.
    NoSeat,
}

/// What login eligibility depends on besides the password (R14).
#[derive(Debug, Clone, Copy)]
pub struct LoginFacts {
    /// The account tree is active.
    pub account_active: bool,
    /// The account requires verified email.
    pub verification_required: bool,
    /// The user's type consumes seats and more users hold them than were bought.
    pub seat_overcommitted: bool,
}

/// R14: login succeeds only for an enabled user with a password, a role, a verified email when
/// required, and (for seat types) a held seat.
pub fn check_login(user: &User, facts: LoginFacts) -> Result<(), LoginRefusal> {
    if user.state != UserState::Active || !facts.account_active || user.erased_at.is_some() {
        return Err(LoginRefusal::Disabled);
    }
    if !user.has_password {
        return Err(LoginRefusal::NoPassword);
    }
    if user.roles.is_empty() && !user.is_operator {
        return Err(LoginRefusal::NoRole);
    }
    if facts.verification_required && user.email_verified_at.is_none() && !user.is_operator {
        return Err(LoginRefusal::Unverified);
    }
    if facts.seat_overcommitted {
        return Err(LoginRefusal::NoSeat);
    }
    Ok(())
}

/// Throttling limits (R14, R21), in a sliding window.
///
/// Logins are limited in the spirit of NIST SP 800-63B §5.2.2 and OWASP's authentication
/// guidance, so that failures cannot lock a user out from elsewhere:
/// - a source that failed `per_user` times for one user is refused for that user;
/// - a source that failed `per_source` times for anyone is refused for everyone;
/// - a user that failed `per_user_total` times from anywhere is refused from every source
///   that has failed for it, while a source that has not failed for it (the user's own
///   browser, usually) still logs in with the right password.
///
/// The public forms that send mail (registration, reset, verification resend) take
/// `per_address` requests per address and `per_source` per source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed for one user from one source.
    pub per_user: u32,
    /// Failures allowed for one user from every source together, before the sources that
    /// failed for it are refused.
    pub per_user_total: u32,
    /// Failures (or form requests) allowed from one source.
    pub per_source: u32,
    /// Form requests allowed for one address.
    pub per_address: u32,
    /// The window.
    pub window: Duration,
}

impl ThrottlePolicy {
    /// In 15 minutes: 5 failures per user and source, 100 per user, 50 per source, and 5
    /// mails per address.
    pub const fn standard() -> ThrottlePolicy {
        ThrottlePolicy {
            per_user: 5,
            per_user_total: 100,
            per_source: 50,
            per_address: 5,
            window: Duration::minutes(15),
        }
    }
}

/// The store key under which a throttle counts: the scope (`login-user`,
/// `registration-address`, …) in clear and the identity (account and username, address,
/// source) as SHA-256, so the counts hold no username, address or IP address in clear. They
/// are forgotten once out of the window.
pub fn throttle_key(scope: &str, identity: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in identity {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") count apart.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("{scope}:{digest}")
}

/// R14: with `failures` (times, oldest first) inside the window and a `limit`, when the
/// caller may try again; `None` when not throttled.
pub fn throttled_until(failures: &[Timestamp], limit: u32, window: Duration) -> Option<Timestamp> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if failures.len() < limit {
        return None;
    }
    // The oldest failure that still counts leaves the window first.
    let index = failures.len() - limit;
    failures.get(index).map(|oldest| oldest.plus(window))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{AccountId, RoleId, UserId, UserTypeId};
    use crate::model::{Profile, UserType};
    use crate::value::Key;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use uuid::Uuid;

    #[test]
    fn r14_throttle_keys_hide_the_identity_and_keep_parts_apart() {
        let key = throttle_key("login-user", &["acme", "alice@example.com"]);
        assert!(key.starts_with("login-user:"));
        assert!(!key.contains("alice") && !key.contains("acme"));
        assert_eq!(key.len(), "login-user:".len() + 64);
        assert_eq!(key, throttle_key("login-user", &["acme", "alice@example.com"]));
        assert_ne!(key, throttle_key("login-user", &["acmea", "lice@example.com"]));
        assert_ne!(key, throttle_key("login-source", &["acme", "alice@example.com"]));
    }

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_unix_micros(1_700_000_000_000_000 + seconds * 1_000_000).unwrap()
    }

    fn user_type(consumes_seat: bool) -> UserType {
        UserType {
            id: UserTypeId::from_uuid(Uuid::from_u128(5)),
            root: AccountId::from_uuid(Uuid::from_u128(1)),
            key: Key::parse("sales").unwrap(),
            name: Name::parse("Sales").unwrap(),
            consumes_seat,
            ceiling: BTreeSet::new(),
            created_at: t(0),
            version: 1,
        }
    }

    fn usage(total: u32, used: u32, reserved: u32) -> SeatUsage {
        SeatUsage { user_type: UserTypeId::from_uuid(Uuid::from_u128(5)), total, used, reserved }
    }

    fn user(username: &str) -> User {
        User {
            id: UserId::from_uuid(Uuid::from_u128(10)),
            root: AccountId::from_uuid(Uuid::from_u128(1)),
            account: AccountId::from_uuid(Uuid::from_u128(1)),
            username: Username::parse(username).unwrap(),
            email: Email::parse("ada@example.com").unwrap(),
            profile: Profile::default(),
            receive_system_messages: true,
            sales_representative: None,
            external_ids: BTreeMap::new(),
            external_id: None,
            user_type: UserTypeId::from_uuid(Uuid::from_u128(5)),
            roles: BTreeSet::from([RoleId::from_uuid(Uuid::from_u128(6))]),
            scope: BTreeSet::new(),
            origin: Origin::Admin,
            state: UserState::Active,
            email_verified_at: Some(t(0)),
            has_password: true,
            must_change_password: false,
            is_operator: false,
            contact: None,
            contact_kind: None,
            created_at: t(0),
            updated_at: t(0),
            last_login_at: None,
            erased_at: None,
            version: 0,
        }
    }

    #[test]
    fn r1_reserved_seats_count_like_used_ones() {
        assert_eq!(check_seats(&user_type(true), &usage(3, 1, 1), 1), Ok(()));
        assert_eq!(
            check_seats(&user_type(true), &usage(3, 2, 1), 1),
            Err(NoSeatAvailable { user_type: "sales".into(), used: 2, reserved: 1, total: 3 })
        );
        assert_eq!(
            check_seats(&user_type(false), &usage(0, 9, 9), 1),
            Ok(()),
            "seatless types never run out"
        );
    }

    #[test]
    fn r2_seat_total_cannot_drop_below_used_plus_reserved() {
        assert_eq!(check_seat_total(&user_type(true), &usage(5, 2, 1), 3), Ok(()));
        assert_eq!(
            check_seat_total(&user_type(true), &usage(5, 2, 1), 2),
            Err(SeatsBelowUsage { user_type: "sales".into(), requested: 2, used: 2, reserved: 1 })
        );
    }

    #[test]
    fn r3_enabled_users_need_a_role_disabled_ones_do_not() {
        assert_eq!(check_roles_for_state(UserState::Active, &BTreeSet::new()), Err(RoleRequired));
        assert_eq!(check_roles_for_state(UserState::Disabled, &BTreeSet::new()), Ok(()));
    }

    fn generated(format: &str, first: Option<&str>, last: Option<&str>) -> String {
        let email = Email::parse("Ada.L@Example.com").unwrap();
        let first = first.map(|f| Name::parse(f).unwrap());
        let last = last.map(|l| Name::parse(l).unwrap());
        let parts = NameParts { email: &email, first_name: first.as_ref(), last_name: last.as_ref() };
        username_from_format(&UsernameFormat::parse(format).unwrap(), parts).to_string()
    }

    #[test]
    fn r5_usernames_follow_the_account_format() {
        assert_eq!(generated("{email}", None, None), "ada.l@example.com");
        assert_eq!(generated("{first}.{last}", Some("Ada"), Some("Love Lace")), "ada.lovelace");
        assert_eq!(generated("{f}{last}", Some("Ada"), Some("Lovelace")), "alovelace");
        assert_eq!(generated("{email_local}", None, None), "ada.l");
        assert_eq!(
            generated("{first}.{last}", None, Some("Lovelace")),
            "ada.l@example.com",
            "falls back to email"
        );
    }

    #[test]
    fn r5_collisions_get_a_numeric_suffix_before_the_at() {
        let plain = Username::parse("alovelace").unwrap();
        assert_eq!(username_candidate(&plain, 1).as_str(), "alovelace");
        assert_eq!(username_candidate(&plain, 2).as_str(), "alovelace2");
        let email = Username::parse("ada@example.com").unwrap();
        assert_eq!(username_candidate(&email, 3).as_str(), "ada3@example.com");
    }

    #[test]
    fn r6_registered_members_cannot_be_renamed() {
        let mut member = user("ada@example.com");
        member.origin = Origin::Registration;
        assert_eq!(check_rename(&member, true), Err(RenameRefused::RegisteredMember));
    }

    #[test]
    fn r6_renaming_a_user_linked_to_an_external_id_needs_acknowledgement() {
        let mut clerk = user("JSMITH");
        clerk.external_ids.insert(Key::parse(external_id::ERP_SALESPERSON).unwrap(), "jsmith".into());
        assert!(matches!(check_rename(&clerk, false), Err(RenameRefused::ExternalLink { .. })));
        assert_eq!(check_rename(&clerk, true), Ok(()));
        assert_eq!(check_rename(&user("other"), false), Ok(()));
    }

    fn settings(default_clerk: Option<&str>) -> Settings {
        let id = Uuid::from_u128(1);
        let mut settings =
            Settings::initial(UserTypeId::from_uuid(id), UserTypeId::from_uuid(id), RoleId::from_uuid(id));
        settings.default_clerk_id = default_clerk.map(String::from);
        settings
    }

    #[test]
    fn r7_attribution_prefers_erp_then_pos_then_default_clerk() {
        let mut both = user("S100");
        both.external_ids.insert(Key::parse(external_id::POS_CLERK).unwrap(), "s100".into());
        assert_eq!(attribution(&both, &settings(Some("C9"))), Attribution::PosClerk("s100".into()));
        both.external_ids.insert(Key::parse(external_id::ERP_SALESPERSON).unwrap(), "S100".into());
        assert_eq!(attribution(&both, &settings(Some("C9"))), Attribution::ErpSalesperson("S100".into()));

        let mut mismatch = user("S100");
        mismatch.external_ids.insert(Key::parse(external_id::ERP_SALESPERSON).unwrap(), "S200".into());
        assert_eq!(attribution(&mismatch, &settings(Some("C9"))), Attribution::DefaultClerk("C9".into()));
        assert_eq!(attribution(&mismatch, &settings(None)), Attribution::Unattributed);
    }

    #[test]
    fn r8_users_with_history_cannot_be_deleted() {
        let fresh = user("fresh");
        assert_eq!(check_delete(&fresh, false), Ok(()));
        assert_eq!(check_delete(&fresh, true), Err(HasHistory));
        let mut logged_in = user("old");
        logged_in.last_login_at = Some(t(5));
        assert_eq!(check_delete(&logged_in, false), Err(HasHistory));
    }

    #[test]
    fn r14_login_needs_every_condition() {
        let facts =
            LoginFacts { account_active: true, verification_required: true, seat_overcommitted: false };
        assert_eq!(check_login(&user("ok"), facts), Ok(()));
        let mut disabled = user("d");
        disabled.state = UserState::Disabled;
        assert_eq!(check_login(&disabled, facts), Err(LoginRefusal::Disabled));
        let mut no_password = user("p");
        no_password.has_password = false;
        assert_eq!(check_login(&no_password, facts), Err(LoginRefusal::NoPassword));
        let mut no_role = user("r");
        no_role.roles.clear();
        assert_eq!(check_login(&no_role, facts), Err(LoginRefusal::NoRole));
        let mut unverified = user("u");
        unverified.email_verified_at = None;
        assert_eq!(check_login(&unverified, facts), Err(LoginRefusal::Unverified));
        assert_eq!(
            check_login(&unverified, LoginFacts { verification_required: false, ..facts }),
            Ok(()),
            "R9: verification applies only when required"
        );
        assert_eq!(
            check_login(&user("s"), LoginFacts { seat_overcommitted: true, ..facts }),
            Err(LoginRefusal::NoSeat)
        );
        assert_eq!(
            check_login(&user("a"), LoginFacts { account_active: false, ..facts }),
            Err(LoginRefusal::Disabled)
        );
    }

    #[test]
    fn r14_throttle_opens_when_the_oldest_counted_failure_leaves_the_window() {
        let window = Duration::minutes(15);
        let failures: Vec<Timestamp> = (0..5).map(|i| t(i * 60)).collect();
        assert_eq!(throttled_until(&failures[..4], 5, window), None);
        assert_eq!(throttled_until(&failures, 5, window), Some(t(0).plus(window)));
    }

    proptest! {
        // R5: generated usernames are always valid, lower-case and whitespace-free.
        #[test]
        fn generated_usernames_are_valid(first in "[A-Za-zÀ-ÿ ]{1,20}", last in "[A-Za-zÀ-ÿ ]{1,20}", n in 1u32..50) {
            prop_assume!(!first.trim().is_empty() && !last.trim().is_empty());
            let email = Email::parse("someone@example.com").unwrap();
            let first = Name::parse(&first).unwrap();
            let last = Name::parse(&last).unwrap();
            let parts = NameParts { email: &email, first_name: Some(&first), last_name: Some(&last) };
            let base = username_from_format(&UsernameFormat::parse("{f}{last}").unwrap(), parts);
            let candidate = username_candidate(&base, n);
            prop_assert!(!candidate.as_str().chars().any(char::is_whitespace));
            prop_assert_eq!(Username::parse(candidate.as_str()).unwrap(), candidate.clone());
            prop_assert_eq!(candidate.as_str().to_lowercase(), candidate.as_str());
            if n > 1 { prop_assert_ne!(candidate.key(), base.key()); }
        }
    }
}
