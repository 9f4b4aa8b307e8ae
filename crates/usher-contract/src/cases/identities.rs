//! Just-in-time users: outside identities that name users (R1, R5, R8, R17).

use super::*;
use usher_domain::model::Origin;
use usher_domain::service::identities::{self, IdentityClaims, IdentityOutcome};
use usher_domain::service::{accounts, users};

/// The issuer the cases sign in with.
pub(crate) const ISSUER: &str = "https://login.example.com/tenant-1/v2.0";

/// The claims of a verified Ada Lovelace.
pub(crate) fn ada() -> IdentityClaims {
    IdentityClaims {
        email: "ada@example.com".into(),
        email_verified: true,
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        username: None,
    }
}

/// R1, R17: the first sign-in of an identity makes a person contact and a user of the default
/// type and roles, taking a seat; a repeat writes nothing; later claims update the user; a
/// refused first sign-in writes nothing; an erasure forgets the identity (R8).
pub async fn r1_r17_an_identity_makes_one_user_that_later_sign_ins_update(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 1).await;
    let admin = &tenant.admin_actor;
    let sign_in = |subject: &'static str, claims: IdentityClaims| {
        let h = h.clone();
        let (actor, account) = (admin.clone(), tenant.account.id);
        async move { identities::provision_identity(&h.ports, &actor, account, ISSUER, subject, claims).await }
    };

    let first = sign_in("ada-1", ada()).await.unwrap();
    assert_eq!(first.outcome, IdentityOutcome::Created);
    let user = first.user;
    assert_eq!(user.origin, Origin::Jit);
    assert_eq!(user.user_type, tenant.user_type.id, "the default user type");
    assert_eq!(user.roles, BTreeSet::from([tenant.user_role]), "the default roles");
    assert_eq!(user.contact_kind, Some(ContactKind::Person));
    assert!(user.email_verified_at.is_some(), "the provider verified the email");
    assert_eq!(user.username.as_str(), "ada@example.com", "the username from the default format");
    let contact =
        usher_domain::service::contacts::get_contact(&h.ports, admin, user.contact.unwrap()).await.unwrap();
    assert_eq!(
        (contact.user, contact.email.map(|e| e.to_string())),
        (Some(user.id), Some("ada@example.com".into()))
    );
    assert_eq!(seats_of(&h, &tenant).await, (1, 0, 1), "R1: the user took the seat");

    let counts = h.counts(tenant.account.id).await;
    let again = sign_in("ada-1", ada()).await.unwrap();
    assert_eq!(
        (again.outcome, again.user.id, again.user.version),
        (IdentityOutcome::Unchanged, user.id, user.version)
    );
    assert_eq!(h.counts(tenant.account.id).await, counts, "an unchanged sign-in writes nothing");

    let renamed = IdentityClaims { first_name: None, last_name: Some("King".into()), ..ada() };
    let updated = sign_in("ada-1", renamed).await.unwrap();
    assert_eq!(updated.outcome, IdentityOutcome::Updated);
    assert_eq!(updated.user.version, user.version + 1);
    let name = |n: &Option<usher_domain::value::Name>| n.as_ref().map(|n| n.as_str().to_owned());
    let names = (name(&updated.user.profile.first_name), name(&updated.user.profile.last_name));
    assert_eq!(names, (Some("Ada".to_owned()), Some("King".to_owned())), "an absent name stays");
    assert_eq!(updated.user.username, user.username, "a sign-in never renames");

    let moved = IdentityClaims { email: "ada@new.example.com".into(), email_verified: false, ..ada() };
    let moved = sign_in("ada-1", moved).await.unwrap();
    assert_eq!(moved.user.email.as_str(), "ada@new.example.com");
    assert!(moved.user.email_verified_at.is_none(), "a new, unverified email is not verified");
    let stored = users::get_user(&h.ports, admin, user.id).await.unwrap();
    assert_eq!((stored.version, stored.email), (moved.user.version, moved.user.email.clone()));

    let counts = h.counts(tenant.account.id).await;
    let err =
        sign_in("bob-1", IdentityClaims { email: "bob@example.com".into(), ..ada() }).await.unwrap_err();
    assert!(matches!(err, UserError::NoSeatAvailable(NoSeatAvailable { used: 1, total: 1, .. })), "{err:?}");
    assert_eq!(h.counts(tenant.account.id).await, counts, "a refused sign-in writes nothing");

    for (subject, field) in [("", "subject"), ("a\u{0}b", "subject")] {
        let err = sign_in(subject, ada()).await.unwrap_err();
        assert!(matches!(&err, UserError::Invalid(invalid) if invalid.field == field), "{err:?}");
    }
    let long = "i".repeat(identities::MAX_IDENTITY_PART + 1);
    let err = identities::provision_identity(&h.ports, admin, tenant.account.id, &long, "s", ada())
        .await
        .unwrap_err();
    assert!(matches!(&err, UserError::Invalid(invalid) if invalid.field == "issuer"), "{err:?}");
    let err = sign_in("ada-2", IdentityClaims { email: "not an email".into(), ..ada() }).await.unwrap_err();
    assert!(matches!(&err, UserError::Invalid(invalid) if invalid.field == "email"), "{err:?}");

    let other = h.tenant("globex", 5).await;
    let err = identities::provision_identity(
        &h.ports,
        &other.admin_actor,
        tenant.account.id,
        ISSUER,
        "ada-1",
        ada(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, UserError::NotFound { entity: "account" }),
        "R19: another tenant's account: {err:?}"
    );
    let theirs = identities::provision_identity(
        &h.ports,
        &other.admin_actor,
        other.account.id,
        ISSUER,
        "ada-1",
        ada(),
    )
    .await
    .unwrap();
    assert_eq!(theirs.outcome, IdentityOutcome::Created, "one identity names one user per tenant");
    assert_ne!(theirs.user.id, user.id);

    users::erase_user(&h.ports, admin, user.id).await.unwrap();
    let after = sign_in("ada-1", ada()).await.unwrap();
    assert_eq!(after.outcome, IdentityOutcome::Created, "R8: an erasure forgets the identity");
    assert_ne!(after.user.id, user.id);
}

/// A first sign-in whose email another user has is linked to that user only when the provider
/// verified the email and the settings allow it; otherwise it is refused and writes nothing.
pub async fn r17_r24_jit_links_to_the_user_with_the_email_only_when_verified_and_allowed(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let admin = &tenant.admin_actor;
    let grace = h.user(&tenant, tenant.account.id, "grace").await.unwrap();
    let claims = |verified: bool| IdentityClaims {
        email: grace.email.to_string(),
        email_verified: verified,
        first_name: None,
        last_name: None,
        username: None,
    };
    let sign_in = |claims: IdentityClaims| {
        identities::provision_identity(&h.ports, admin, tenant.account.id, ISSUER, "grace-1", claims)
    };
    let counts = h.counts(tenant.account.id).await;
    for verified in [false, true] {
        let err = sign_in(claims(verified)).await.unwrap_err();
        assert!(matches!(err, UserError::IdentityNotLinked { .. }), "verified {verified}: {err:?}");
    }
    assert_eq!(h.counts(tenant.account.id).await, counts, "a refused link writes nothing");

    let allow =
        accounts::SettingsPatch { link_identities_by_verified_email: Some(true), ..Default::default() };
    accounts::update_settings(&h.ports, admin, tenant.account.id, allow).await.unwrap();
    let err = sign_in(claims(false)).await.unwrap_err();
    assert!(matches!(err, UserError::IdentityNotLinked { .. }), "an unverified email never links: {err:?}");
    let linked = sign_in(claims(true)).await.unwrap();
    assert_eq!((linked.outcome, linked.user.id), (IdentityOutcome::Linked, grace.id));
    let again = sign_in(claims(false)).await.unwrap();
    assert_eq!(
        (again.outcome, again.user.id),
        (IdentityOutcome::Unchanged, grace.id),
        "the identity names grace now"
    );

    // R24: a user manager may not link an identity to an administrator it does not outrank.
    let manager = user_manager(&h, &tenant).await;
    let boss = IdentityClaims { email: tenant.admin.email.to_string(), ..claims(true) };
    let err = identities::provision_identity(&h.ports, &manager, tenant.account.id, ISSUER, "admin-1", boss)
        .await
        .unwrap_err();
    assert!(matches!(err, UserError::Denied(Denied::TargetHoldsMore { .. })), "R24: {err:?}");
}
