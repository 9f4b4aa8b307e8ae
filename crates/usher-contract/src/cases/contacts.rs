//! R17: contacts and users made from them.

use super::*;
use usher_domain::service::{contacts, users};

/// R17: person contacts give name and email; organizations need them explicitly.
pub async fn r17_users_from_contacts(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let person = contacts::create_contact(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        contacts::NewContact {
            kind: ContactKind::Person,
            first_name: Some("Grace".into()),
            last_name: Some("Hopper".into()),
            email: Some("grace@example.com".into()),
            phone: None,
        },
    )
    .await
    .unwrap();
    let user =
        contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, person.id, Default::default())
            .await
            .unwrap();
    assert_eq!(user.email.as_str(), "grace@example.com");
    assert_eq!(user.user_type, tenant.user_type.id, "the default user type");
    assert_eq!(user.roles, BTreeSet::from([tenant.user_role]), "the default roles");
    assert_eq!((user.contact, user.contact_kind), (Some(person.id), Some(ContactKind::Person)));
    let err =
        contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, person.id, Default::default())
            .await
            .unwrap_err();
    assert!(matches!(err, UserError::ContactHasUser), "{err:?}");

    let org = contacts::create_contact(
        &h.ports,
        &tenant.admin_actor,
        tenant.account.id,
        contacts::NewContact {
            kind: ContactKind::Organization,
            first_name: None,
            last_name: Some("Initech".into()),
            email: Some("info@initech.example.com".into()),
            phone: None,
        },
    )
    .await
    .unwrap();
    let err = contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, org.id, Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, UserError::Invalid(_)), "{err:?}");
    let explicit = contacts::FromContact {
        email: Some("peter@initech.example.com".into()),
        first_name: Some("Peter".into()),
        last_name: Some("Gibbons".into()),
        ..Default::default()
    };
    let peter =
        contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, org.id, explicit).await.unwrap();
    let stored = users::get_user(&h.ports, &tenant.admin_actor, peter.id).await.unwrap();
    assert_eq!(stored.contact_kind, Some(ContactKind::Organization), "the kind is stored with the user");
}

/// R17: a person's names and phone go to the user; a person needs no first name, an
/// organization does.
pub async fn r17_contacts_give_their_names_and_phone(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let person = |first: Option<&str>, last: &str, email: &str, kind: ContactKind| contacts::NewContact {
        kind,
        first_name: first.map(str::to_owned),
        last_name: Some(last.to_owned()),
        email: Some(email.to_owned()),
        phone: Some("+49 30 1234567".to_owned()),
    };
    let from = contacts::FromContact {
        username: None,
        email: None,
        first_name: None,
        last_name: None,
        send_welcome: false,
    };
    let full = person(Some("Carla"), "Contact", "carla@example.com", ContactKind::Person);
    let contact =
        contacts::create_contact(&h.ports, &tenant.admin_actor, tenant.account.id, full).await.unwrap();
    let user = contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, contact.id, from.clone())
        .await
        .unwrap();
    assert_eq!(user.profile.first_name.as_ref().map(|n| n.as_str()), Some("Carla"));
    assert_eq!(user.profile.last_name.as_ref().map(|n| n.as_str()), Some("Contact"));
    assert_eq!(user.profile.phone.as_ref().map(|n| n.as_str()), Some("+49 30 1234567"));
    let surname_only = person(None, "Solo", "solo@example.com", ContactKind::Person);
    let contact = contacts::create_contact(&h.ports, &tenant.admin_actor, tenant.account.id, surname_only)
        .await
        .unwrap();
    contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, contact.id, from.clone())
        .await
        .unwrap();
    let company = person(None, "Acme Supplies", "orders@supplies.example.com", ContactKind::Organization);
    let contact =
        contacts::create_contact(&h.ports, &tenant.admin_actor, tenant.account.id, company).await.unwrap();
    let err = contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, contact.id, from)
        .await
        .unwrap_err();
    assert!(matches!(err, UserError::Invalid(_)), "an organization needs a first name: {err:?}");
}

/// R17, R19, R26: a contact is read, searched, edited under its version and deleted until a
/// user is made from it; another tenant sees none of it, and each change is audited and
/// published.
pub async fn r17_contacts_are_read_searched_edited_and_deleted(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let new = |first: &str, last: &str, email: &str| contacts::NewContact {
        kind: ContactKind::Person,
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        email: Some(email.into()),
        phone: None,
    };
    let admin = &tenant.admin_actor;
    let account = tenant.account.id;
    let grace =
        contacts::create_contact(&h.ports, admin, account, new("Grace", "Hopper", "grace@navy.example.com"))
            .await
            .unwrap();
    let ada = contacts::create_contact(&h.ports, admin, account, new("Ada", "Lovelace", "ada@example.com"))
        .await
        .unwrap();
    let search = |q: &'static str| {
        let h = h.clone();
        let admin = admin.clone();
        async move {
            let page = contacts::list_contacts(&h.ports, &admin, account, Some(q), PageRequest::first(50))
                .await
                .unwrap();
            page.items.into_iter().map(|c| c.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(search("HOP").await, [grace.id], "a last name, ignoring case");
    assert_eq!(search("ada@").await, [ada.id], "an email");
    assert_eq!(search("grace").await, [grace.id], "a first name");
    assert!(search("%").await.is_empty(), "wildcards are plain text");
    assert_eq!(contacts::get_contact(&h.ports, admin, grace.id).await.unwrap(), grace);
    let other = h.tenant("globex", 5).await;
    let err = contacts::get_contact(&h.ports, &other.admin_actor, grace.id).await.unwrap_err();
    assert!(matches!(err, UserError::NotFound { .. }), "{err:?}");

    let patch = contacts::ContactPatch {
        first_name: Some("Amazing Grace".into()),
        phone: Some("+1 555 0100".into()),
        email: Some(String::new()),
        ..Default::default()
    };
    let edited = contacts::update_contact(&h.ports, admin, grace.id, patch.clone(), Some(1)).await.unwrap();
    assert_eq!(edited.first_name.as_ref().map(|n| n.as_str()), Some("Amazing Grace"));
    assert_eq!((edited.email.clone(), edited.version), (None, 2), "an empty text clears");
    let err = contacts::update_contact(&h.ports, admin, grace.id, patch, Some(1)).await.unwrap_err();
    assert!(matches!(err, UserError::VersionMismatch { expected: 1, actual: 2 }), "{err:?}");
    let cleared = contacts::ContactPatch { last_name: Some(" ".into()), ..Default::default() };
    let err = contacts::update_contact(&h.ports, admin, grace.id, cleared, None).await.unwrap_err();
    assert!(matches!(err, UserError::Invalid(_)), "the last name stays: {err:?}");

    contacts::create_user_from_contact(&h.ports, admin, ada.id, Default::default()).await.unwrap();
    let err = contacts::delete_contact(&h.ports, admin, ada.id).await.unwrap_err();
    assert!(matches!(err, UserError::ContactHasUser), "{err:?}");
    let err = contacts::delete_contact(&h.ports, &other.admin_actor, grace.id).await.unwrap_err();
    assert!(matches!(err, UserError::NotFound { .. }), "{err:?}");
    contacts::delete_contact(&h.ports, admin, grace.id).await.unwrap();
    let err = contacts::get_contact(&h.ports, admin, grace.id).await.unwrap_err();
    assert!(matches!(err, UserError::NotFound { .. }), "{err:?}");

    let audit = usher_domain::service::audit::list_audit_events(
        &h.ports,
        admin,
        account,
        Default::default(),
        PageRequest::first(50),
    )
    .await
    .unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"contact.updated") && actions.contains(&"contact.deleted"), "{actions:?}");
    let updated = audit.items.iter().find(|e| e.action == "contact.updated").unwrap();
    assert_eq!(
        updated.diff,
        serde_json::json!({"changed": ["first_name", "email", "phone"]}),
        "names, no values"
    );
}
