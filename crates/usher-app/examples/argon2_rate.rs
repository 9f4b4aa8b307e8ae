//! The machine's argon2id limit, for comparing login throughput with it (DESIGN §6): times
//! password verifications on one hashing thread and prints the time of one and the limit,
//! cores ÷ that time.
//!
//! `cargo run --release -p usher-app --example argon2_rate`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::disallowed_methods, reason = "a measuring tool")]

use usher_app::adapters::Argon2Hasher;
use usher_domain::ports::PasswordHasher;
use usher_domain::value::PlainPassword;

#[tokio::main]
async fn main() {
    let hasher = Argon2Hasher::new(1);
    let password = PlainPassword::new("correct horse battery staple");
    let hash = hasher.hash(&password).await.unwrap();
    let rounds = 50;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        assert!(hasher.verify(&password, Some(hash.clone())).await.unwrap());
    }
    let one = started.elapsed().as_secs_f64() / f64::from(rounds);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "argon2id verification: {:.1} ms; limit with {cores} cores: {:.1}/s",
        one * 1000.0,
        cores as f64 / one
    );
}
