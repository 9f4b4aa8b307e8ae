//! Unit tests of the entities' own logic: paths, lifetimes, formats, statuses, redaction.

use super::*;
use uuid::Uuid;

fn account(n: u128) -> AccountId {
    AccountId::from_uuid(Uuid::from_u128(n))
}

#[test]
fn stored_paths_are_restored_unless_they_loop_and_know_their_root() {
    let path = AccountPath::restore(account(3), vec![account(1), account(2)]).unwrap();
    assert_eq!(path, AccountPath::root_of(account(1)).child(account(2)).child(account(3)));
    assert!(AccountPath::restore(account(3), vec![account(1), account(1)]).is_err(), "a repeated ancestor");
    assert!(AccountPath::restore(account(1), vec![account(1)]).is_err(), "its own ancestor");
    let account_at = |path: AccountPath| Account {
        id: path.id(),
        path,
        slug: crate::value::Slug::parse("acme").unwrap(),
        name: Name::parse("Acme").unwrap(),
        state: AccountState::Active,
        created_at: crate::time::Timestamp::from_unix_micros(0).unwrap(),
        version: 1,
        sales_representative: None,
    };
    assert!(account_at(AccountPath::root_of(account(1))).is_root());
    assert!(!account_at(AccountPath::root_of(account(1)).child(account(2))).is_root());
}

#[test]
fn lifetimes_stay_between_five_minutes_and_a_year() {
    const YEAR: i64 = 365 * 24 * 3600;
    assert_eq!(Lifetime::from_seconds(300).map(|l| l.seconds()), Ok(300));
    assert_eq!(Lifetime::from_seconds(YEAR).map(|l| l.seconds()), Ok(YEAR));
    assert!(Lifetime::from_seconds(299).is_err());
    assert!(Lifetime::from_seconds(YEAR + 1).is_err());
    assert_eq!(Lifetime::hours(12).seconds(), 12 * 3600);
    assert_eq!(Lifetime::days(7).seconds(), 7 * 24 * 3600);
    assert_eq!(Lifetime::hours(0).seconds(), 3600, "at least an hour");
    assert_eq!(Lifetime::hours(8760).seconds(), YEAR, "at most a year");
    assert_eq!(Lifetime::hours(9000).seconds(), YEAR);
}

#[test]
fn r5_username_formats_are_short_and_use_known_placeholders() {
    let long = format!("{{first}}{}", "x".repeat(93));
    assert_eq!(long.len(), 100);
    assert!(UsernameFormat::parse(&long).is_ok());
    assert!(UsernameFormat::parse(&format!("{long}x")).is_err());
    assert!(UsernameFormat::parse("{first}.{last}").is_ok());
    assert!(UsernameFormat::parse("plain").is_err(), "no placeholder");
    assert!(UsernameFormat::parse("{nickname}").is_err(), "an unknown one");
}

#[test]
fn delivery_states_have_their_names_and_mail_debug_shows_only_the_kind() {
    assert_eq!(
        [DeliveryState::Pending, DeliveryState::Sent, DeliveryState::Failed].map(DeliveryState::as_str),
        ["pending", "sent", "failed"]
    );
    let message = MailMessage::PasswordChanged { user: crate::id::UserId::from_uuid(Uuid::from_u128(4)) };
    assert_eq!(format!("{message:?}"), "MailMessage::password_changed");
}

#[test]
fn account_path_knows_its_root_and_subtree() {
    let root = AccountPath::root_of(account(1));
    let child = root.child(account(2));
    let grandchild = child.child(account(3));
    assert_eq!(grandchild.root(), account(1));
    assert!(grandchild.is_within(account(2)));
    assert!(grandchild.is_within(account(1)));
    assert!(!child.is_within(account(3)));
    assert!(AccountPath::restore(account(1), vec![account(2), account(1)]).is_err(), "cycle");
}

#[test]
fn invitation_expires_by_the_clock_not_by_a_sweep() {
    // R10: an invitation link lives until `expires_at`.
    let t0 = Timestamp::from_unix_micros(1_700_000_000_000_000).unwrap();
    let invitation = Invitation {
        id: InvitationId::from_uuid(Uuid::from_u128(9)),
        root: account(1),
        account: account(1),
        email: Email::parse("a@example.com").unwrap(),
        user_type: UserTypeId::from_uuid(Uuid::from_u128(5)),
        roles: BTreeSet::new(),
        scope: BTreeSet::new(),
        invited_by: ActorRef::System,
        token_hash: SecretToken::from_random("", [1; 32]).hash(),
        state: InvitationState::Pending,
        expires_at: t0.plus(Duration::days(7)),
        send_count: 1,
        created_at: t0,
        updated_at: t0,
        accepted_user: None,
        locale: None,
    };
    assert_eq!(invitation.status(t0.plus(Duration::days(6))), InvitationStatus::Pending);
    assert_eq!(invitation.status(t0.plus(Duration::days(7))), InvitationStatus::Expired);
}

#[test]
fn username_format_accepts_known_placeholders_only() {
    assert!(UsernameFormat::parse("{first}.{last}").is_ok());
    assert!(UsernameFormat::parse("{f}{last}").is_ok());
    assert!(UsernameFormat::parse("{middle}").is_err());
    assert!(UsernameFormat::parse("static").is_err());
}

#[test]
fn mail_message_debug_hides_the_link_token() {
    let token = SecretToken::from_random("", [3; 32]);
    let message = MailMessage::PasswordReset {
        user: UserId::from_uuid(Uuid::from_u128(1)),
        token: Some(token.clone()),
        expires_at: Timestamp::from_unix_micros(0).unwrap(),
    };
    assert!(!format!("{message:?}").contains(token.expose()));
}
