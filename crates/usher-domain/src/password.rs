//! Password policy (R15, NIST SP 800-63B): length limits, no composition rules, and a refusal
//! of common and breached passwords and of passwords that repeat the user's own identifiers.

use std::collections::HashSet;
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

use crate::ports::BreachedPasswords;
use crate::value::{PlainPassword, ValueError};

/// Length limits of a root account's password policy.
/// Invariant: `8 <= min_length <= max_length <= 128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_length: u16,
    max_length: u16,
}

impl PasswordPolicy {
    /// The lowest minimum length the policy accepts (NIST SP 800-63B).
    pub const FLOOR: u16 = 8;
    /// The highest maximum length the policy accepts.
    pub const CEILING: u16 = 128;

    /// A policy with the given bounds.
    pub fn new(min_length: u16, max_length: u16) -> Result<PasswordPolicy, ValueError> {
        let in_range = |n: u16| (Self::FLOOR..=Self::CEILING).contains(&n);
        if !in_range(min_length) {
            return Err(ValueError::OutOfRange {
                min: Self::FLOOR.into(),
                max: Self::CEILING.into(),
                actual: min_length.into(),
            });
        }
        if !in_range(max_length) || max_length < min_length {
            return Err(ValueError::OutOfRange {
                min: min_length.into(),
                max: Self::CEILING.into(),
                actual: max_length.into(),
            });
        }
        Ok(PasswordPolicy { min_length, max_length })
    }
    /// The default: 12 to 128 characters.
    pub const fn standard() -> PasswordPolicy {
        PasswordPolicy { min_length: 12, max_length: 128 }
    }
    /// Minimum length in characters.
    pub fn min_length(&self) -> u16 {
        self.min_length
    }
    /// Maximum length in characters.
    pub fn max_length(&self) -> u16 {
        self.max_length
    }

    /// Checks a candidate password (R15). `context` holds words the password must not equal,
    /// such as the username and email of the user.
    pub fn check(
        &self,
        password: &PlainPassword,
        context: &[&str],
        breached: &dyn BreachedPasswords,
    ) -> Result<(), PasswordRejected> {
        // NIST: normalise with NFKC before counting and comparing.
        let normalized: String = password.expose().nfkc().collect();
        let length = normalized.chars().count();
        if length < usize::from(self.min_length) {
            return Err(PasswordRejected::TooShort { min: self.min_length, actual: length });
        }
        if length > usize::from(self.max_length) {
            return Err(PasswordRejected::TooLong { max: self.max_length, actual: length });
        }
        let lowered = normalized.to_lowercase();
        if context.iter().any(|word| !word.is_empty() && lowered == word.to_lowercase()) {
            return Err(PasswordRejected::SameAsIdentifier);
        }
        if breached.is_breached(&lowered) {
            return Err(PasswordRejected::Common);
        }
        Ok(())
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self::standard()
    }
}

/// Why a password was refused. The messages are safe to show to the person typing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejected {
    /// Shorter than the policy's minimum.
    #[error("password must be at least {min} characters (got {actual})")]
    TooShort {
        /// The minimum.
        min: u16,
        /// The length received.
        actual: usize,
    },
    /// Longer than the policy's maximum.
    #[error("password must be at most {max} characters (got {actual})")]
    TooLong {
        /// The maximum.
        max: u16,
        /// The length received.
        actual: usize,
    },
    /// On the list of common or breached passwords.
    #[error("password is too common; choose another")]
    Common,
    /// Equal to the username or email.
    #[error("password must not be the username or email")]
    SameAsIdentifier,
}

/// The shipped list of the 100,000 most common passwords (see `data/README.md`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ShippedPasswordList;

static COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

fn common_passwords() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().map(|line| line.trim().to_lowercase()).collect())
}

impl ShippedPasswordList {
    /// How many distinct passwords the list holds (lower-cased).
    pub fn len(&self) -> usize {
        common_passwords().len()
    }
    /// Whether the list is empty (it never is).
    pub fn is_empty(&self) -> bool {
        common_passwords().is_empty()
    }
}

impl BreachedPasswords for ShippedPasswordList {
    fn is_breached(&self, normalized_lowercase: &str) -> bool {
        common_passwords().contains(normalized_lowercase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: PasswordPolicy, password: &str) -> Result<(), PasswordRejected> {
        policy.check(&PlainPassword::new(password), &["ada@example.com", "ada"], &ShippedPasswordList)
    }

    #[test]
    fn r15_length_is_counted_in_characters_with_a_default_of_12() {
        let policy = PasswordPolicy::standard();
        assert_eq!(check(policy, "short-pass1"), Err(PasswordRejected::TooShort { min: 12, actual: 11 }));
        assert_eq!(check(policy, "ääääääääääää"), Ok(()), "12 non-ASCII characters are 12, not 24");
        assert_eq!(check(policy, &"x".repeat(129)), Err(PasswordRejected::TooLong { max: 128, actual: 129 }));
        assert_eq!(check(policy, &format!("{}q", "horse battery ".repeat(9))), Ok(()), "127 characters");
        assert_eq!(check(policy, &format!("{}qz", "horse battery ".repeat(9))), Ok(()), "exactly 128");
        assert!(!ShippedPasswordList.is_empty() && ShippedPasswordList.len() > 10_000);
    }

    #[test]
    fn r15_no_composition_rules() {
        assert_eq!(check(PasswordPolicy::standard(), "correct horse battery staple"), Ok(()));
    }

    #[test]
    fn r15_common_passwords_from_the_shipped_list_are_refused() {
        let policy = PasswordPolicy::new(8, 128).unwrap();
        assert!(ShippedPasswordList.len() > 95_000, "the shipped list holds the top 100k");
        assert_eq!(check(policy, "password1"), Err(PasswordRejected::Common));
        assert_eq!(check(policy, "PASSWORD1"), Err(PasswordRejected::Common), "case does not help");
        assert_eq!(check(policy, "baseball"), Err(PasswordRejected::Common));
    }

    #[test]
    fn r15_password_may_not_be_the_users_own_email() {
        assert_eq!(
            check(PasswordPolicy::standard(), "Ada@Example.com"),
            Err(PasswordRejected::SameAsIdentifier)
        );
    }

    #[test]
    fn r15_policy_bounds_are_8_to_128() {
        assert!(PasswordPolicy::new(7, 128).is_err());
        assert!(PasswordPolicy::new(8, 129).is_err());
        assert!(PasswordPolicy::new(20, 10).is_err());
        assert!(PasswordPolicy::new(8, 64).is_ok());
    }
}
