//! The production adapters of the domain's non-store ports: the system clock, UUIDv7 ids,
//! secrets from the operating system, and argon2id on a bounded pool of blocking threads.
//! They are the only code that reads the clock or a random source (clippy bans it elsewhere).

use std::sync::Arc;

use argon2::password_hash::phc::{Output, PasswordHash as Phc, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use uuid::Uuid;

use usher_domain::password::ShippedPasswordList;
use usher_domain::ports::{Clock, HashError, IdGen, MailcheckerList, PasswordHasher, Store, TokenGen};
use usher_domain::rules::ThrottlePolicy;
use usher_domain::service::Ports;
use usher_domain::time::Timestamp;
use usher_domain::value::{PasswordHash, PlainPassword};

/// The ports `usher serve` runs the use cases with around `store`: these adapters, the
/// shipped breached-password list, mailchecker's disposable domains and the standard throttle.
pub fn ports(store: Arc<dyn Store>, hasher: Argon2Hasher) -> Ports {
    Ports {
        store,
        clock: Arc::new(SystemClock),
        ids: Arc::new(UuidV7Ids),
        tokens: Arc::new(OsTokens),
        hasher: Arc::new(hasher),
        breached: Arc::new(ShippedPasswordList),
        disposable: Arc::new(MailcheckerList),
        throttle: ThrottlePolicy::standard(),
        signing: None,
    }
}

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

/// The niceness of the hashing threads (0 is the default, 19 the lowest priority): during a
/// login flood, requests that need no hash are scheduled before the hashing, while the hashing
/// still gets every idle cycle and about a tenth of a busy machine (CFS weights 110 : 1024),
/// so that a flood of other requests cannot starve logins either.
const HASHING_NICENESS: i32 = 10;

/// Lowers the calling thread's priority to [`HASHING_NICENESS`]; where it cannot, the thread
/// keeps the default priority, which is only slower for other requests.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(err) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), HASHING_NICENESS) {
        tracing::warn!(%err, "cannot lower the priority of a password hashing thread");
    }
}

/// How long a hashing thread keeps its argon2 memory without work.
const IDLE_RELEASE: std::time::Duration = std::time::Duration::from_secs(10);

/// A job for the hashing threads; it borrows the thread's argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane) on a dedicated pool of
/// `workers` threads: a login flood queues here instead of starving the async workers, and
/// only those threads ever hold argon2's memory, so it stays at about `workers` × 19 MiB
/// (on tokio's shared blocking pool every thread that ever hashed kept a 19 MiB arena, and
/// the server grew past 500 MiB under a login flood) (R15).
#[derive(Clone)]
pub struct Argon2Hasher {
    jobs: std::sync::mpsc::Sender<Job>,
    dummy: Arc<tokio::sync::OnceCell<String>>,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher").finish_non_exhaustive()
    }
}

impl Argon2Hasher {
    /// A hasher with `workers` threads of its own (at least one); they end when the last
    /// clone of the hasher is dropped.
    pub fn new(workers: usize) -> Argon2Hasher {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for index in 0..workers.max(1) {
            let queue = queue.clone();
            let spawned =
                std::thread::Builder::new().name(format!("usher-argon2-{index}")).spawn(move || {
                    lower_priority();
                    // One buffer per thread, reused by every hash: argon2's 19 MiB are allocated
                    // once instead of on every call.
                    let mut memory = Vec::new();
                    loop {
                        // The lock is held only to take the next job, never while hashing.
                        let next = match queue.lock() {
                            Ok(receiver) => receiver.recv_timeout(IDLE_RELEASE),
                            Err(_) => return,
                        };
                        match next {
                            Ok(job) => job(&mut memory),
                            // Nothing to hash for a while: give the memory back.
                            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => memory = Vec::new(),
                            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(%err, "cannot start a password hashing thread");
            }
        }
        Argon2Hasher { jobs, dummy: Arc::new(tokio::sync::OnceCell::new()) }
    }

    /// Runs `work` on a hashing thread and waits for it without blocking the runtime.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = answer.send(work(memory));
        });
        self.jobs.send(job).map_err(|_| HashError("the password hashing threads stopped".to_owned()))?;
        answered.await.map_err(|_| HashError("a password hashing thread failed".to_owned()))?
    }

    /// The hash the dummy verification runs against (made once, with a random password).
    async fn dummy_hash(&self) -> Result<String, HashError> {
        let dummy = self
            .dummy
            .get_or_try_init(|| async {
                let random = OsTokens.random_bytes();
                self.run(move |memory| hash_blocking(&random, memory)).await
            })
            .await?;
        Ok(dummy.clone())
    }
}

fn failed(err: impl std::fmt::Display) -> HashError {
    HashError(err.to_string())
}

/// Runs argon2 with `params` into `out`, in `memory` (grown to the size `params` need).
fn argon2_into(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Result<(), HashError> {
    let blocks = params.block_count();
    if memory.len() != blocks {
        memory.clear();
        memory.shrink_to_fit();
        memory.resize(blocks, Block::default());
    }
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, memory.as_mut_slice())
        .map_err(failed)
}

/// An argon2id PHC string of `password` with OWASP's parameters and a fresh 128-bit salt.
fn hash_blocking(password: &[u8], memory: &mut Vec<Block>) -> Result<String, HashError> {
    let params = Params::default();
    let random = OsTokens.random_bytes();
    let salt = random.get(..16).ok_or_else(|| failed("no salt"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(Algorithm::Argon2id, Version::V0x13, params.clone(), password, salt, &mut out, memory)?;
    let phc = Phc {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params).try_into().map_err(failed)?,
        salt: Some(Salt::new(salt).map_err(failed)?),
        hash: Some(Output::new(&out).map_err(failed)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string (compared in constant time).
fn verify_blocking(password: &[u8], phc: &str, memory: &mut Vec<Block>) -> Result<bool, HashError> {
    let parsed = Phc::new(phc).map_err(failed)?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_ref()).map_err(failed)?;
    let version = parsed.version.map_or(Ok(Version::V0x13), Version::try_from).map_err(failed)?;
    let params = Params::try_from(&parsed).map_err(failed)?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(failed("the stored hash has no salt or output"));
    };
    let mut out = vec![0u8; expected.len()];
    argon2_into(algorithm, version, params, password, salt, &mut out, memory)?;
    Ok(Output::new(&out).map_err(failed)? == *expected)
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &PlainPassword) -> Result<PasswordHash, HashError> {
        let bytes = password.expose().as_bytes().to_vec();
        let phc = self.run(move |memory| hash_blocking(&bytes, memory)).await?;
        PasswordHash::parse(&phc).map_err(|e| HashError(e.to_string()))
    }

    async fn verify(&self, password: &PlainPassword, hash: Option<PasswordHash>) -> Result<bool, HashError> {
        let bytes = password.expose().as_bytes().to_vec();
        match hash {
            Some(hash) => {
                let phc = hash.as_phc().to_owned();
                self.run(move |memory| verify_blocking(&bytes, &phc, memory)).await
            }
            None => {
                // R14: an unknown user costs one real verification, and never matches.
                let dummy = self.dummy_hash().await?;
                self.run(move |memory| verify_blocking(&bytes, &dummy, memory)).await?;
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

    #[test]
    fn r15_hashes_agree_with_the_argon2_crates_own_phc_strings() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let mut memory = Vec::new();
        // A hash made by the crate's high-level API verifies here, and ours verifies there.
        let theirs = Argon2::default().hash_password(b"correct horse battery staple").unwrap().to_string();
        assert!(verify_blocking(b"correct horse battery staple", &theirs, &mut memory).unwrap());
        assert!(!verify_blocking(b"correct horse battery stapler", &theirs, &mut memory).unwrap());
        let ours = hash_blocking(b"correct horse battery staple", &mut memory).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery staple", ours.as_str()).is_ok());
        // A stored hash with other parameters still verifies (the buffer follows them).
        let light = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).unwrap())
            .hash_password(b"an older hash")
            .unwrap()
            .to_string();
        assert!(verify_blocking(b"an older hash", &light, &mut memory).unwrap());
    }

    #[tokio::test]
    async fn r14_an_unknown_user_is_verified_against_a_dummy_and_never_matches() {
        let hasher = Argon2Hasher::new(1);
        assert!(!hasher.verify(&PlainPassword::new("anything at all"), None).await.unwrap());
        assert!(hasher.dummy.get().is_some(), "the dummy verification ran");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_below_request_handling() {
        let hasher = Argon2Hasher::new(1);
        let own = || rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let theirs = hasher.run(move |_| Ok(own())).await.unwrap();
        assert_eq!(theirs, HASHING_NICENESS, "a hashing thread's niceness");
    }

    #[test]
    fn r13_secrets_are_random_and_ids_are_time_ordered() {
        assert_ne!(OsTokens.random_bytes(), OsTokens.random_bytes());
        let (a, b) = (UuidV7Ids.new_id(), UuidV7Ids.new_id());
        assert_eq!(a.get_version_num(), 7);
        assert!(a < b, "UUIDv7 ids sort by creation");
    }
}
