//! `cargo xtask`: the project's only build script (see `cargo xtask help`).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    clippy::unwrap_used,
    reason = "a developer tool: it prints, reads the environment and fails loudly"
)]

mod bench;
mod clients;
mod mutants;
mod npm;
mod redocly;
mod schemathesis;
mod tidy;
mod verifier;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const HELP: &str = "\
cargo xtask <command>

commands:
  test               fmt --check, clippy -D warnings, every test, the embedding example,
                     the OpenAPI snapshot and its redocly lint, schemathesis against usher
                     serve, the client generators (openapi-python-client, openapi-typescript),
                     the Python checkers of the e2e tests, the benchmark
                     in quick mode, tidy, and that the run left the git tree as it found it
  openapi [--write]  compare docs/openapi.json with the spec the server serves; --write refreshes it
  schemathesis       only the schemathesis step (builds the workspace first)
  clients            only the client generators: target/clients/python and target/clients/usher.d.ts
  bench [--quick]    the benchmark of DESIGN §6 over usher serve on SQLite and PostgreSQL,
                     wrk driving the load: builds in release and writes docs/benchmarks.md
                     (--quick: every scenario small, in the debug build, nothing written)
  mutants [--iterate] [--since REV] [FILE...]
                     cargo-mutants over usher-domain (or only FILEs, e.g.
                     crates/usher-domain/src/authz.rs) against the domain tests and the
                     in-memory contract suite; prints the score and every surviving mutant
                     (--iterate: only those the last run missed; --since: only on lines
                     changed since REV)
  help               this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") | Some("ci") => test(),
        Some("openapi") => openapi(args.iter().any(|a| a == "--write")),
        Some("schemathesis") => schemathesis_only(),
        Some("clients") => clients_only(),
        Some("bench") => bench_only(args.iter().any(|a| a == "--quick")),
        Some("mutants") => mutants_score(&args[1..]),
        Some("help") | None => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("xtask: unknown command {other:?}\n\n{HELP}");
            ExitCode::from(2)
        }
    }
}

/// `cargo xtask bench`: builds and runs the benchmark.
fn bench_only(quick: bool) -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    match bench::run(&project_root(), &cargo, quick, false) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Runs cargo-mutants and prints the score.
fn mutants_score(files: &[String]) -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    match mutants::run(&project_root(), &cargo, files) {
        Ok(score) => {
            for survivor in &score.survivors {
                println!("xtask: survived: {survivor}");
            }
            println!(
                "xtask: mutants: {:.1} % caught ({} caught, {} timed out, {} missed; {} unviable)",
                score.percent(),
                score.caught,
                score.timeout,
                score.missed,
                score.unviable
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Builds what the tests build: `usher` and the examples, with the features the test step
/// unifies. A plain `cargo build --workspace` resolves other features (no dev-dependencies)
/// and would rebuild much of the stack a second time, and replace the tested binary.
pub(crate) fn build_as_tests(cargo: &str, root: &Path) -> Result<(), String> {
    let status = Command::new(cargo)
        .args(["test", "--workspace", "--locked", "--no-run", "--quiet"])
        .current_dir(root)
        .status()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    if status.success() { Ok(()) } else { Err("cargo test --workspace --no-run failed".to_owned()) }
}

/// Runs the client generators alone (over the committed spec; nothing is built).
fn clients_only() -> ExitCode {
    let root = project_root();
    let generated = verifier::install(&root)
        .and_then(|python| clients::python(&root, &python))
        .and_then(|_| clients::typescript(&root));
    match generated {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the workspace and runs the schemathesis step alone.
fn schemathesis_only() -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    if let Err(err) = build_as_tests(&cargo, &project_root()) {
        eprintln!("xtask: {err}");
        return ExitCode::FAILURE;
    }
    match schemathesis::check(&project_root()) {
        Ok(()) => {
            println!("xtask: schemathesis found no failure");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

struct Step {
    name: &'static str,
    args: &'static [&'static str],
    /// Parse `test result:` lines into the totals.
    counts_tests: bool,
}

const STEPS: &[Step] = &[
    Step { name: "format", args: &["fmt", "--all", "--", "--check"], counts_tests: false },
    Step {
        name: "clippy",
        args: &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"],
        counts_tests: false,
    },
    Step { name: "tests", args: &["test", "--workspace", "--locked", "--no-fail-fast"], counts_tests: true },
];

/// The PostgreSQL server the tests use: `USHER_TEST_POSTGRES_URL`, else the local one.
fn postgres_url() -> String {
    std::env::var("USHER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `host:port` of a `postgres://user@host:port/db` URL (port 5432 when absent).
fn postgres_address(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    if host_port.is_empty() {
        return None;
    }
    Some(if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") })
}

/// Whether something accepts connections at the PostgreSQL address.
fn postgres_answers(url: &str) -> bool {
    use std::net::{TcpStream, ToSocketAddrs};
    let Some(address) = postgres_address(url) else { return false };
    let Ok(mut addresses) = address.to_socket_addrs() else { return false };
    addresses.any(|a| TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).is_ok())
}

/// The axe-core release the console's accessibility checks are pinned to.
const AXE_VERSION: &str = "4.11.0";

fn test() -> ExitCode {
    let root = project_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let (mut passed, mut failed) = (0u64, 0u64);
    let mut failures = Vec::new();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let tree_before = tidy::tree_status(&root);
    let postgres = postgres_url();
    let postgres_up = postgres_answers(&postgres);
    if postgres_up {
        println!(
            "xtask: PostgreSQL answers at {}: its contract, race, migration and plan tests run",
            redact_url(&postgres)
        );
    } else {
        println!(
            "xtask: SKIPPED: PostgreSQL: no server answers at {} (set USHER_TEST_POSTGRES_URL); its tests are skipped{}",
            redact_url(&postgres),
            if ci { " and CI=true makes that a failure" } else { "" }
        );
        if ci {
            failures.push("PostgreSQL");
        }
    }
    // The end-to-end tests check webhook deliveries and access tokens with others' libraries.
    let verifier = match verifier::install(&root) {
        Ok(python) => Some(python),
        Err(err) => {
            println!(
                "xtask: SKIPPED: Python checkers: {err}; the tests that need them are skipped{}",
                if ci { " and CI=true makes that a failure" } else { "" }
            );
            None
        }
    };
    // Integrators generate clients from the spec: both generators must take all of it, and
    // the end-to-end journey drives the generated Python client.
    println!(
        "xtask: == client generators (openapi-python-client {}, openapi-typescript {})",
        verifier::PACKAGES[3].1,
        clients::TYPESCRIPT_VERSION
    );
    let python_client = match verifier.as_deref().map(|python| clients::python(&root, python)) {
        Some(Ok(folder)) => Some(folder),
        Some(Err(err)) => {
            println!("xtask: {err}");
            failures.push("openapi-python-client");
            None
        }
        None => None,
    };
    if let Err(err) = clients::typescript(&root) {
        println!("xtask: {err}");
        failures.push("openapi-typescript");
    }
    // The console's browser stories check every screen with axe-core.
    let axe = match npm::install(&root, "axe", "axe-core", AXE_VERSION) {
        Ok(package) => Some(package.join("axe.min.js")),
        Err(err) => {
            println!("xtask: {err}");
            failures.push("axe-core");
            None
        }
    };
    for step in STEPS {
        println!("xtask: == {} (cargo {})", step.name, step.args.join(" "));
        let mut command = Command::new(&cargo);
        command.args(step.args).current_dir(&root).env("USHER_TEST_POSTGRES_URL", &postgres);
        if let Some(python) = &verifier {
            command.env("USHER_TEST_PYTHON", python);
        }
        if let Some(axe) = &axe {
            command.env("USHER_AXE", axe);
        }
        if let Some(folder) = &python_client {
            command.env("USHER_PYTHON_CLIENT", folder);
        }
        if postgres_up {
            // The server answered: a test that cannot reach it now is a failure, not a skip.
            command.env("USHER_REQUIRE_POSTGRES", "1");
        }
        let output = command.output();
        let output = match output {
            Ok(output) => output,
            Err(err) => {
                eprintln!("xtask: cannot run cargo: {err}");
                return ExitCode::FAILURE;
            }
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        print!("{stdout}");
        eprint!("{stderr}");
        if step.counts_tests {
            let (p, f) = count_results(&stdout);
            passed += p;
            failed += f;
        }
        if !output.status.success() {
            failures.push(step.name);
        }
    }
    // The test step built the example with the features it unified; `cargo run -p` would
    // resolve others and rebuild the stack.
    println!("xtask: == embedding example (target/debug/examples/embed)");
    let embed = root.join("target").join("debug").join("examples").join("embed");
    match Command::new(&embed).current_dir(&root).status() {
        Ok(status) if status.success() => {}
        Ok(status) => {
            eprintln!("xtask: the embedding example failed ({status})");
            failures.push("embedding example");
        }
        Err(err) => {
            eprintln!("xtask: cannot run {}: {err}", embed.display());
            failures.push("embedding example");
        }
    }
    println!("xtask: == openapi snapshot ({OPENAPI_SNAPSHOT})");
    if openapi(false) != ExitCode::SUCCESS {
        failures.push("openapi snapshot");
    }
    println!("xtask: == redocly lint {} (docs/openapi.json, recommended rules)", redocly::VERSION);
    match redocly::lint(&root) {
        Ok(()) => println!("xtask: redocly lint found no error"),
        Err(err) => {
            println!("xtask: {err}");
            failures.push("redocly lint");
        }
    }
    println!(
        "xtask: == schemathesis {} (every check, stateful phase, against usher serve)",
        schemathesis::VERSION
    );
    match schemathesis::check(&root) {
        Ok(()) => println!("xtask: schemathesis found no failure"),
        Err(err) => {
            eprintln!("xtask: {err}");
            failures.push("schemathesis");
        }
    }
    println!("xtask: == benchmark, quick (every scenario small; errors fail, speed does not)");
    if let Err(err) = bench::run(&root, &cargo, true, true) {
        eprintln!("xtask: {err}");
        failures.push("benchmark");
    }
    println!("xtask: == dependency direction (cargo tree -p usher-domain -e normal)");
    match tidy::domain_tree_violations(&cargo, &root) {
        Ok(violations) if violations.is_empty() => println!("xtask: usher-domain reaches no I/O crate"),
        Ok(violations) => {
            eprintln!("xtask: usher-domain depends on {violations:?}; see docs/ARCHITECTURE.md");
            failures.push("dependency direction");
        }
        Err(err) => {
            eprintln!("xtask: cargo tree failed: {err}");
            failures.push("dependency direction");
        }
    }
    println!("xtask: == the tree as the run found it (git status)");
    if let (Some(before), Some(after)) = (&tree_before, tidy::tree_status(&root)) {
        let changes = tidy::tree_changes(before, &after);
        if changes.is_empty() {
            println!("xtask: the run left the tree as it found it");
        } else {
            eprintln!("xtask: the run changed the tree (keep caches and reports under target/):");
            for change in &changes {
                eprintln!("  {change}");
            }
            failures.push("clean tree");
        }
    }
    let steps: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
    println!(
        "xtask: ran {}, embedding example, openapi snapshot, redocly lint, client generators, schemathesis, benchmark (quick), dependency direction, clean tree",
        steps.join(", ")
    );
    if !failures.is_empty() {
        println!("xtask: failed steps: {}", failures.join(", "));
    }
    println!("{passed} passed, {failed} failed");
    if failures.is_empty() && failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// The committed snapshot of the served OpenAPI document.
pub(crate) const OPENAPI_SNAPSHOT: &str = "docs/openapi.json";

/// Builds `usher`, asks it for its spec, and compares it with (or writes) the snapshot.
fn openapi(write: bool) -> ExitCode {
    let root = project_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    if let Err(err) = build_as_tests(&cargo, &root) {
        eprintln!("xtask: building usher failed: {err}");
        return ExitCode::FAILURE;
    }
    let binary = root.join("target").join("debug").join(format!("usher{}", std::env::consts::EXE_SUFFIX));
    let output = match Command::new(&binary).arg("openapi").output() {
        Ok(output) if output.status.success() => output,
        Ok(output) => {
            eprintln!("xtask: usher openapi failed: {}", String::from_utf8_lossy(&output.stderr));
            return ExitCode::FAILURE;
        }
        Err(err) => {
            eprintln!("xtask: cannot run {}: {err}", binary.display());
            return ExitCode::FAILURE;
        }
    };
    let served = String::from_utf8_lossy(&output.stdout).into_owned();
    let path = root.join(OPENAPI_SNAPSHOT);
    if write {
        if let Err(err) = std::fs::write(&path, &served) {
            eprintln!("xtask: cannot write {}: {err}", path.display());
            return ExitCode::FAILURE;
        }
        println!("xtask: wrote {OPENAPI_SNAPSHOT} ({} bytes)", served.len());
        return ExitCode::SUCCESS;
    }
    match std::fs::read_to_string(&path) {
        Ok(committed) if committed == served => {
            println!("xtask: {OPENAPI_SNAPSHOT} matches the served spec");
            ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!(
                "xtask: {OPENAPI_SNAPSHOT} differs from the served spec; review the API change and run `cargo xtask openapi --write`"
            );
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("xtask: cannot read {}: {err}; run `cargo xtask openapi --write`", path.display());
            ExitCode::FAILURE
        }
    }
}

/// The URL without its password, for printing.
fn redact_url(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(_)) => match rest.split_once('@') {
            Some((user, host)) => {
                let user = user.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}@{host}")
            }
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

/// Sums `test result: ok. N passed; M failed; …` lines.
fn count_results(stdout: &str) -> (u64, u64) {
    let number_before = |line: &str, word: &str| -> u64 {
        line.split(';')
            .find_map(|part| {
                part.trim()
                    .trim_start_matches("test result: ok.")
                    .trim_start_matches("test result: FAILED.")
                    .trim()
                    .strip_suffix(word)
            })
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    stdout
        .lines()
        .filter(|line| line.starts_with("test result:"))
        .fold((0, 0), |(p, f), line| (p + number_before(line, "passed"), f + number_before(line, "failed")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_addresses_come_from_the_url() {
        assert_eq!(
            postgres_address("postgres://postgres@127.0.0.1:5432/postgres").as_deref(),
            Some("127.0.0.1:5432")
        );
        assert_eq!(
            postgres_address("postgresql://u:pw@db.internal/x?sslmode=require").as_deref(),
            Some("db.internal:5432")
        );
        assert_eq!(postgres_address("not a url"), None);
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u@h:5432/db");
    }

    #[test]
    fn test_result_lines_are_summed() {
        let out = "test result: ok. 3 passed; 0 failed; 0 ignored\nother\ntest result: FAILED. 2 passed; 1 failed; 0 ignored\n";
        assert_eq!(count_results(out), (5, 1));
    }
}
