//! The formats, pinned: each document of a fixed value is compared with its snapshot, and
//! read back into the same domain value.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::*;
use crate::model::{Newcomer, Origin, Profile, UserState};
use crate::value::{Email, Key, Name, Username};

fn at() -> Timestamp {
    Timestamp::from_unix_micros(1_767_225_600_000_000).unwrap()
}

fn token() -> SecretToken {
    SecretToken::from_random("", [7; 32])
}

fn every_message() -> Vec<MailMessage> {
    let user = UserId::from_uuid(Uuid::from_u128(1));
    vec![
        MailMessage::Invitation {
            invitation: InvitationId::from_uuid(Uuid::from_u128(2)),
            account_name: "Acme <& Co>".to_owned(),
            token: Some(token()),
            expires_at: at(),
        },
        MailMessage::Welcome { user, username: "ann".to_owned(), token: Some(token()), expires_at: at() },
        MailMessage::EmailVerification { user, token: Some(token()), expires_at: at() },
        MailMessage::PasswordReset { user, token: None, expires_at: at() },
        MailMessage::PasswordChanged { user },
        MailMessage::RegistrationAttempt { user, account: "acme".to_owned() },
        MailMessage::PasswordResetRequest { source: Some("192.0.2.1".to_owned()) },
    ]
}

#[test]
fn r20_the_outbox_payload_and_template_variables_keep_their_names() {
    let mut shown = Vec::new();
    for message in every_message() {
        let document = MailDocument::from(&message);
        let json = serde_json::to_string(&document).unwrap();
        let back: MailDocument = serde_json::from_str(&json).unwrap();
        assert!(MailMessage::try_from(back).unwrap() == message, "{} reads back", message.kind());
        shown.push(json);
    }
    insta::assert_snapshot!("mail_documents", shown.join("\n"));
}

#[test]
fn a_stored_mail_with_a_bad_time_or_token_is_refused() {
    let bad_time =
        MailDocument::PasswordReset { user: Uuid::nil(), token: None, expires_at: "soon".to_owned() };
    assert!(MailMessage::try_from(bad_time).is_err());
    let bad_token = MailDocument::PasswordReset {
        user: Uuid::nil(),
        token: Some("short".to_owned()),
        expires_at: at().to_rfc3339(),
    };
    assert!(MailMessage::try_from(bad_token).is_err());
}

fn settings() -> Settings {
    let mut settings = Settings::initial(
        UserTypeId::from_uuid(Uuid::from_u128(10)),
        UserTypeId::from_uuid(Uuid::from_u128(11)),
        RoleId::from_uuid(Uuid::from_u128(12)),
    );
    settings.default_clerk_id = Some("c-7".to_owned());
    settings
}

#[test]
fn settings_are_stored_and_fingerprinted_in_one_format() {
    let document = SettingsDocument::from(&settings());
    let json = serde_json::to_string_pretty(&document).unwrap();
    insta::assert_snapshot!(
        "settings_document",
        format!("{json}\nfingerprint: {}", settings().fingerprint())
    );
    let back: SettingsDocument = serde_json::from_str(&json).unwrap();
    assert_eq!(Settings::try_from(back).unwrap(), settings());
}

#[test]
fn settings_stored_before_a_setting_existed_still_read() {
    let mut json = serde_json::to_value(SettingsDocument::from(&settings())).unwrap();
    json.as_object_mut().unwrap().remove("manages_own_seats");
    let document: SettingsDocument = serde_json::from_value(json).unwrap();
    assert!(!Settings::try_from(document).unwrap().manages_own_seats);
}

#[test]
fn a_fingerprint_changes_with_any_setting() {
    let mut changed = settings();
    changed.manages_own_seats = true;
    assert_ne!(changed.fingerprint(), settings().fingerprint());
    assert_eq!(settings().fingerprint().len(), 16);
}

#[test]
fn r20_the_audit_view_of_a_user_keeps_its_names_and_no_secret() {
    let newcomer = Newcomer {
        root: AccountId::from_uuid(Uuid::from_u128(20)),
        account: AccountId::from_uuid(Uuid::from_u128(21)),
        username: Username::parse("ann.smith").unwrap(),
        email: Email::parse("ann@people.example.com").unwrap(),
        user_type: UserTypeId::from_uuid(Uuid::from_u128(22)),
        origin: Origin::Admin,
    };
    let user = User {
        profile: Profile { first_name: Some(Name::parse("Ann").unwrap()), ..Profile::default() },
        roles: BTreeSet::from([RoleId::from_uuid(Uuid::from_u128(23))]),
        external_ids: BTreeMap::from([(Key::parse("erp").unwrap(), "E-1".to_owned())]),
        external_id: None,
        email_verified_at: Some(at()),
        state: UserState::Disabled,
        ..User::new(UserId::from_uuid(Uuid::from_u128(24)), newcomer, at())
    };
    let json = serde_json::to_string_pretty(&UserAuditView::from(&user)).unwrap();
    insta::assert_snapshot!("user_audit_view", json);
}

#[test]
fn a_cursor_is_handed_out_in_one_shape_and_read_back() {
    let cursor = Cursor::at_time(at(), Uuid::from_u128(30));
    let text = cursor.encode();
    insta::assert_snapshot!("cursor", text);
    assert_eq!(Cursor::decode(&text), Some(cursor));
}

#[test]
fn r20_who_acted_is_stored_in_one_shape() {
    let actors = [
        ActorRef::User(UserId::from_uuid(Uuid::from_u128(40))),
        ActorRef::Operator(UserId::from_uuid(Uuid::from_u128(41))),
        ActorRef::ApiKey(crate::id::ApiKeyId::from_uuid(Uuid::from_u128(42))),
        ActorRef::Anonymous,
        ActorRef::System,
    ];
    let mut shown = Vec::new();
    for actor in actors {
        let json = serde_json::to_string(&ActorDocument::from(actor)).unwrap();
        let back: ActorDocument = serde_json::from_str(&json).unwrap();
        assert_eq!(ActorRef::from(back), actor);
        shown.push(json);
    }
    insta::assert_snapshot!("actor_documents", shown.join("\n"));
}

#[test]
fn r26_an_event_is_delivered_in_one_shape() {
    let event = crate::model::PublicEvent {
        id: crate::id::EventId::from_uuid(Uuid::from_u128(40)),
        root: AccountId::from_uuid(Uuid::from_u128(41)),
        account: AccountId::from_uuid(Uuid::from_u128(42)),
        kind: "user.disabled",
        occurred_at: at(),
        actor: ActorRef::ApiKey(ApiKeyId::from_uuid(Uuid::from_u128(43))),
        origin: Some("pos".to_owned()),
        subject_kind: "user".to_owned(),
        subject_id: Uuid::from_u128(44).to_string(),
        data: serde_json::json!({"state": "disabled"}),
        changes: serde_json::json!({"state": {"before": "active", "after": "disabled"}}),
        sequence: Some(7),
    };
    let json = serde_json::to_string_pretty(&EventDocument::from(&event)).unwrap();
    insta::assert_snapshot!("event_document", json);
}
