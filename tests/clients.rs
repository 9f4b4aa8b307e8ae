//! The generated Python client's journey (`clients/journey.py`): what an integrator does
//! first with the client openapi-python-client makes from `docs/openapi.json`, against a live
//! server. Every answer must parse into the type the spec promises.
#![allow(clippy::disallowed_methods, clippy::print_stderr, reason = "tests read their environment")]

use std::path::{Path, PathBuf};
use std::process::Command;

use usher_e2e::{Db, OPERATOR_PASSWORD, Server};

/// The folder holding the generated `usher_client` package, which `cargo xtask test` makes.
fn generated_client() -> Option<PathBuf> {
    let folder = std::env::var("USHER_PYTHON_CLIENT").ok().map(PathBuf::from).or_else(|| {
        let made = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/clients/python");
        made.join("usher_client").exists().then_some(made)
    });
    if folder.is_none() {
        assert!(
            !std::env::var("CI").is_ok_and(|ci| ci == "true"),
            "the generated Python client is missing: run `cargo xtask test`, which generates it"
        );
        eprintln!("SKIPPED: generated client (run `cargo xtask test` to generate it)");
    }
    folder
}

#[tokio::test]
async fn the_generated_python_client_logs_in_creates_invites_pages_and_reads_problems() {
    let (Some(python), Some(client)) = (usher_e2e::checkers_python(), generated_client()) else { return };
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/journey.py");
    let output = Command::new(python)
        .arg(script)
        .arg(&server.base)
        .arg(OPERATOR_PASSWORD)
        .env("PYTHONPATH", client)
        .output()
        .expect("run journey.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.trim() == "ok",
        "the journey failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
