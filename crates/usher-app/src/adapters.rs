//! The production adapters of the domain's non-store ports: the system clock, UUIDv7 ids,
//! secrets from the operating system, and argon2id on a bounded pool of blocking threads.
//! They are the only code that reads the clock or a random source (clippy bans it elsewhere).

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use async_trait::async_trait;
use tokio::sync::Semaphore;
use uuid::Uuid;

use usher_domain::ports::{Clock, HashError, IdGen, PasswordHasher, TokenGen};
use usher_domain::time::Timestamp;
use usher_domain::value::{PasswordHash, PlainPassword};

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods, reason = "the one production reader of the clock")]
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(time::OffsetDateTime::now_utc())
    }
}

/// UUIDv7 ids: time-ordered, so primary-key indexes stay compact.
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidV7Ids;

impl IdGen for UuidV7Ids {
    #[allow(clippy::disallowed_methods, reason = "the one production minter of ids")]
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// 256-bit secrets from the operating system's generator (R13).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsTokens;

impl TokenGen for OsTokens {
    fn random_bytes(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        // The OS generator only fails when the platform has none; then no secret may be minted.
        if let Err(err) = getrandom::fill(&mut bytes) {
            tracing::error!(%err, "the operating system's random generator failed");
            std::process::abort();
        }
        bytes
    }
}

/// argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane), run on blocking threads, at
/// most `workers` at once: a login flood queues here instead of starving the async workers
/// or exhausting memory (R15).
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    permits: Arc<Semaphore>,
    dummy: Arc<tokio::sync::OnceCell<String>>,
}

impl Argon2Hasher {
    /// A hasher running at most `workers` hashes at once (at least one).
    pub fn new(workers: usize) -> Argon2Hasher {
        Argon2Hasher {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            dummy: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// Runs `work` on a blocking thread once a permit is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self.permits.acquire().await.map_err(|e| HashError(e.to_string()))?;
        tokio::task::spawn_blocking(work).await.map_err(|e| HashError(e.to_string()))?
    }

    /// The hash the dummy verification runs against (made once, with a random password).
    async fn dummy_hash(&self) -> Result<String, HashError> {
        let dummy = self
            .dummy
            .get_or_try_init(|| async {
                let random = OsTokens.random_bytes();
                self.run(move || hash_blocking(&random)).await
            })
            .await?;
        Ok(dummy.clone())
    }
}

fn hash_blocking(password: &[u8]) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError(e.to_string()))
}

fn verify_blocking(password: &[u8], phc: &str) -> Result<bool, HashError> {
    match Argon2::default().verify_password(password, phc) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(err) => Err(HashError(err.to_string())),
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &PlainPassword) -> Result<PasswordHash, HashError> {
        let bytes = password.expose().as_bytes().to_vec();
        let phc = self.run(move || hash_blocking(&bytes)).await?;
        PasswordHash::parse(&phc).map_err(|e| HashError(e.to_string()))
    }

    async fn verify(&self, password: &PlainPassword, hash: Option<PasswordHash>) -> Result<bool, HashError> {
        let bytes = password.expose().as_bytes().to_vec();
        match hash {
            Some(hash) => {
                let phc = hash.as_phc().to_owned();
                self.run(move || verify_blocking(&bytes, &phc)).await
            }
            None => {
                // R14: an unknown user costs one real verification, and never matches.
                let dummy = self.dummy_hash().await?;
                self.run(move || verify_blocking(&bytes, &dummy)).await?;
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn r15_argon2id_hashes_verify_and_refuse_wrong_passwords() {
        let hasher = Argon2Hasher::new(2);
        let password = PlainPassword::new("correct horse battery staple");
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", hash.as_phc());
        assert!(hasher.verify(&password, Some(hash.clone())).await.unwrap());
        assert!(!hasher.verify(&PlainPassword::new("wrong"), Some(hash.clone())).await.unwrap());
        let again = hasher.hash(&password).await.unwrap();
        assert_ne!(hash.as_phc(), again.as_phc(), "every hash has its own salt");
    }

    #[tokio::test]
    async fn r14_an_unknown_user_is_verified_against_a_dummy_and_never_matches() {
        let hasher = Argon2Hasher::new(1);
        assert!(!hasher.verify(&PlainPassword::new("anything at all"), None).await.unwrap());
        assert!(hasher.dummy.get().is_some(), "the dummy verification ran");
    }

    #[test]
    fn r13_secrets_are_random_and_ids_are_time_ordered() {
        assert_ne!(OsTokens.random_bytes(), OsTokens.random_bytes());
        let (a, b) = (UuidV7Ids.new_id(), UuidV7Ids.new_id());
        assert_eq!(a.get_version_num(), 7);
        assert!(a < b, "UUIDv7 ids sort by creation");
    }
}
