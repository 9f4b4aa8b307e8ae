//! R17: contacts and users made from them.

use super::*;
use usher_domain::service::contacts;

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
    assert_eq!(user.contact, Some(person.id));
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
    contacts::create_user_from_contact(&h.ports, &tenant.admin_actor, org.id, explicit).await.unwrap();
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
