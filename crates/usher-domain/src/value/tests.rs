//! Table tests and properties of the value types: what each accepts, refuses and normalises.

use super::*;
use proptest::prelude::*;

#[test]
fn email_is_trimmed_lowercased_and_nfc() {
    let decomposed = " Jose\u{0301}@Example.COM ";
    assert_eq!(Email::parse(decomposed).unwrap().as_str(), "jos\u{e9}@example.com");
}

#[test]
fn email_refuses_malformed_addresses_with_a_reason() {
    for raw in ["", "no-at", "a@b", "a b@example.com", "@example.com", "a..b@example.com", "a@-x.com"] {
        assert!(Email::parse(raw).is_err(), "{raw:?} should be refused");
    }
}

#[test]
fn username_key_ignores_case_and_unicode_composition() {
    // R5: uniqueness is case-insensitive and NFC.
    let composed = Username::parse("J\u{f6}rg").unwrap();
    let decomposed = Username::parse("jo\u{0308}RG").unwrap();
    assert_eq!(composed.key(), decomposed.key());
    assert_eq!(decomposed.as_str(), "jo\u{0308}RG".nfc().collect::<String>());
}

#[test]
fn emails_follow_the_usual_shape_at_its_limits() {
    let local64 = "l".repeat(64);
    let label63 = "d".repeat(63);
    for (raw, ok) in [
        ("ada@example.com", true),
        (&format!("{local64}@example.com"), true),
        (&format!("{local64}x@example.com"), false),
        (&format!("ada@{label63}.com"), true),
        (&format!("ada@{label63}d.com"), false),
        ("@example.com", false),
        ("ada@example", false),
        ("ada@@example.com", false),
        (".ada@example.com", false),
        ("ada.@example.com", false),
        ("a..da@example.com", false),
        ("ad<a@example.com", false),
        ("ada@-example.com", false),
        ("ada@example-.com", false),
        ("ada@exa_mple.com", false),
        ("ada@example..com", false),
    ] {
        assert_eq!(Email::parse(raw).is_ok(), ok, "{raw}");
    }
}

#[test]
fn names_slugs_locales_and_hashes_keep_their_bounds() {
    assert!(Name::parse(&"n".repeat(200)).is_ok());
    assert_eq!(Name::parse(&"n".repeat(201)), Err(ValueError::TooLong { max: 200, actual: 201 }));
    assert_eq!(Name::parse("  "), Err(ValueError::Empty));
    for (raw, ok) in
        [("ab", true), ("a", false), ("a-b", true), ("-ab", false), ("ab-", false), ("a_b", false)]
    {
        assert_eq!(Slug::parse(raw).is_ok(), ok, "slug {raw}");
    }
    assert!(Slug::parse(&"s".repeat(63)).is_ok() && Slug::parse(&"s".repeat(64)).is_err());
    for (raw, ok) in [
        ("en", true),
        ("de_CH", true),
        ("de-1996", true),
        ("e", false),
        ("en-", false),
        ("e1", false),
        ("en-toolongsub", false),
    ] {
        assert_eq!(Locale::parse(raw).is_ok(), ok, "locale {raw}");
    }
    assert!(PasswordHash::parse("$argon2id$v=19$m=19456").is_ok());
    for bad in ["argon2id", "$argon2id $v", &format!("${}", "h".repeat(512))] {
        assert!(PasswordHash::parse(bad).is_err(), "{bad}");
    }
    assert!(Username::parse("ada\u{7}").is_err(), "a control character");
    assert!(Username::parse("a da").is_err(), "a space");
    let listed = permission_list(&[
        Permission::new(Module::Users, Access::Write),
        Permission::new(Module::Roles, Access::Read),
    ]);
    assert_eq!(listed, "users:write, roles:read");
}

#[test]
fn tokens_and_hashes_keep_their_shape() {
    assert!(SecretToken::parse(&"t".repeat(16)).is_ok() && SecretToken::parse(&"t".repeat(15)).is_err());
    assert!(SecretToken::parse(&"t".repeat(256)).is_ok() && SecretToken::parse(&"t".repeat(257)).is_err());
    assert!(TokenHash::parse(&"a".repeat(64)).is_ok());
    assert!(TokenHash::parse(&"a".repeat(63)).is_err() && TokenHash::parse(&"g".repeat(64)).is_err());
    assert!(PasswordHash::parse(&format!("${}", "h".repeat(511))).is_ok(), "512 characters");
}

#[test]
fn debug_output_names_values_but_never_secrets() {
    assert_eq!(format!("{:?}", Email::parse("ada@example.com").unwrap()), "Email(ada@example.com)");
    assert_eq!(format!("{:?}", Username::parse("ada").unwrap()), "Username(ada)");
    assert!(!format!("{:?}", PlainPassword::new("hunter2 hunter2")).contains("hunter2"));
}

#[test]
fn r5_confusable_and_invisible_usernames_are_refused() {
    // UTS #39: a name that passes for another is refused; honest names in any script pass.
    for spoof in [
        "\u{430}dmin",        // Cyrillic a beside Latin letters
        "ad\u{200b}min",      // zero-width space
        "admin\u{202e}nimda", // right-to-left override
        "\u{ff41}dmin",       // fullwidth a
        "adm\u{ad}in",        // soft hyphen (default-ignorable)
    ] {
        assert!(Username::parse(spoof).is_err(), "{spoof:?} must be refused");
    }
    for honest in [
        "admin",
        "J\u{f6}rg.M\u{fc}ller",
        "\u{432}\u{438}\u{43a}\u{442}\u{43e}\u{440}@example.com",
        "\u{5c71}\u{7530}",
        "jo.doe+1@example.com",
    ] {
        assert!(Username::parse(honest).is_ok(), "{honest:?} must pass");
    }
}

#[test]
fn token_hash_is_sha256_hex_and_debug_hides_the_secret() {
    // R13: only the hash is stored; the secret never appears in debug output.
    let token = SecretToken::from_random("", [7; 32]);
    assert_eq!(token.expose().len(), 64);
    assert_eq!(token.hash().as_str().len(), 64);
    assert_ne!(token.hash().as_str(), token.expose());
    assert!(!format!("{token:?}").contains(token.expose()));
    assert!(TokenHash::parse(token.hash().as_str()).is_ok());
}

#[test]
fn permission_round_trips_through_its_text() {
    for permission in Permission::catalog() {
        assert_eq!(Permission::parse(&permission.to_string()), Ok(permission));
    }
    assert!(Permission::parse("users:delete").is_err());
    assert!(Permission::parse("nope:read").is_err());
}

#[test]
fn seat_count_refuses_negative_and_huge_numbers() {
    assert!(SeatCount::new(-1).is_err());
    assert!(SeatCount::new(10_000_001).is_err());
    assert_eq!(SeatCount::new(10_000_000).unwrap().get(), SeatCount::MAX);
    assert_eq!(SeatCount::new(10).unwrap().get(), 10);
}

proptest! {
    // R5: normalisation is idempotent and the key is case-insensitive.
    #[test]
    // The Latin-1 and Extended-A letters, less the compatibility forms (Ĳ, Ŀ, ſ) and the
    // deprecated ŉ that the UTS #39 check refuses.
    fn username_parsing_is_idempotent(
        raw in "[A-Za-z\u{c0}-\u{d6}\u{d8}-\u{f6}\u{f8}-\u{131}\u{134}-\u{13e}\u{141}-\u{148}\u{14a}-\u{17e}0-9._@+-]{1,40}"
    ) {
        let once = Username::parse(&raw).unwrap();
        let twice = Username::parse(once.as_str()).unwrap();
        prop_assert_eq!(&once, &twice);
        let upper = Username::parse(&raw.to_uppercase()).unwrap();
        prop_assert_eq!(upper.key(), Username::parse(&raw.to_lowercase()).unwrap().key());
    }

    #[test]
    fn email_parsing_is_idempotent(raw in "[a-zA-Z0-9._+-]{1,20}@[a-z0-9]{1,20}\\.[a-z]{2,6}") {
        prop_assume!(!raw.starts_with('.') && !raw.contains("..") && !raw.contains(".@"));
        let once = Email::parse(&raw).unwrap();
        prop_assert_eq!(Email::parse(once.as_str()).unwrap(), once);
    }
}
