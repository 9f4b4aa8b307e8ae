//! `cargo xtask`: the project's only build script (see `cargo xtask help`).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    clippy::unwrap_used,
    reason = "a developer tool: it prints, reads the environment and fails loudly"
)]

mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const HELP: &str = "\
cargo xtask <command>

commands:
  test    fmt --check, clippy -D warnings, every test, the embedding example, tidy
  help    this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") | Some("ci") => test(),
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
    Step {
        name: "embedding example",
        args: &["run", "--quiet", "--locked", "-p", "usher-contract", "--example", "embed"],
        counts_tests: false,
    },
];

fn test() -> ExitCode {
    let root = project_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let (mut passed, mut failed) = (0u64, 0u64);
    let mut failures = Vec::new();
    for step in STEPS {
        println!("xtask: == {} (cargo {})", step.name, step.args.join(" "));
        let output = Command::new(&cargo).args(step.args).current_dir(&root).output();
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
    println!(
        "xtask: SKIPPED: PostgreSQL and SQLite contract runs: usher-store has no adapter yet (the persistence issue adds them)"
    );
    println!("xtask: ran {}", STEPS.iter().map(|s| s.name).collect::<Vec<_>>().join(", "));
    if !failures.is_empty() {
        println!("xtask: failed steps: {}", failures.join(", "));
    }
    println!("{passed} passed, {failed} failed");
    if failures.is_empty() && failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
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
    fn test_result_lines_are_summed() {
        let out = "test result: ok. 3 passed; 0 failed; 0 ignored\nother\ntest result: FAILED. 2 passed; 1 failed; 0 ignored\n";
        assert_eq!(count_results(out), (5, 1));
    }
}
