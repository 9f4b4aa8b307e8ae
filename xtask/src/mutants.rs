//! `cargo xtask mutants`: what the domain's own tests and the in-memory contract suite (the
//! suite an embedder's store relies on) fail to pin. A pinned cargo-mutants, installed under
//! `target/tools`, mutates `usher-domain` and runs those tests against each mutant; the score
//! is the share of viable mutants some test caught.

use std::path::Path;
use std::process::Command;

/// The cargo-mutants release the run is pinned to.
const VERSION: &str = "27.1.0";

/// What one run found, from `mutants.out/outcomes.json`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Score {
    pub(crate) caught: u64,
    pub(crate) missed: u64,
    pub(crate) timeout: u64,
    pub(crate) unviable: u64,
    /// `file:line: mutation` of every missed mutant.
    pub(crate) survivors: Vec<String>,
}

impl Score {
    /// Caught among the viable mutants (a timeout counts as caught: the test never passed).
    pub(crate) fn percent(&self) -> f64 {
        let viable = self.caught + self.missed + self.timeout;
        if viable == 0 {
            return 100.0;
        }
        #[allow(clippy::cast_precision_loss, reason = "counts of mutants are small")]
        let percent = (self.caught + self.timeout) as f64 * 100.0 / viable as f64;
        percent
    }
}

/// Installs (once) the pinned cargo-mutants; answers its executable.
fn install(root: &Path, cargo: &str) -> Result<std::path::PathBuf, String> {
    let tools = root.join("target").join("tools");
    let executable = tools.join("bin").join(format!("cargo-mutants{}", std::env::consts::EXE_SUFFIX));
    let installed = Command::new(&executable)
        .args(["mutants", "--version"])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(VERSION));
    if installed {
        return Ok(executable);
    }
    println!("xtask: installing cargo-mutants {VERSION} into {}", tools.display());
    let status = Command::new(cargo)
        .args(["install", "--locked", "--quiet", "cargo-mutants", "--version", VERSION, "--root"])
        .arg(&tools)
        .status()
        .map_err(|err| err.to_string())?;
    if status.success() {
        Ok(executable)
    } else {
        Err(format!("cargo install cargo-mutants failed: {status}"))
    }
}

/// Runs cargo-mutants over `usher-domain` (optionally only `files`) and reads the outcome.
/// With `--iterate` among the arguments, only the mutants the last run missed are tried again;
/// with `--since REV`, only those on lines changed since that commit.
pub(crate) fn run(root: &Path, cargo: &str, arguments: &[String]) -> Result<Score, String> {
    let iterate = arguments.iter().any(|a| a == "--iterate");
    let since = arguments.iter().position(|a| a == "--since").map(|at| arguments.get(at + 1));
    let since = match since {
        Some(Some(rev)) => Some(rev.clone()),
        Some(None) => return Err("--since needs a commit, e.g. --since main~3".to_owned()),
        None => None,
    };
    let files: Vec<&String> = arguments
        .iter()
        .filter(|a| *a != "--iterate" && *a != "--since" && Some(*a) != since.as_ref())
        .collect();
    let executable = install(root, cargo)?;
    let output = root.join("target").join("mutants");
    std::fs::create_dir_all(&output).map_err(|err| err.to_string())?;
    let mut command = Command::new(&executable);
    command
        .args(["mutants", "--package", "usher-domain", "--test-package", "usher-domain"])
        .args(["--test-package", "usher-contract", "--jobs", "1", "--no-shuffle", "--output"])
        .arg(&output)
        .current_dir(root);
    for file in files {
        command.args(["--file", file]);
    }
    if iterate {
        command.arg("--iterate");
    }
    if let Some(rev) = &since {
        let diff = Command::new("git")
            .args(["diff", rev.as_str(), "--", "crates/usher-domain"])
            .current_dir(root)
            .output()
            .map_err(|err| format!("cannot run git diff: {err}"))?;
        if !diff.status.success() {
            return Err(format!("git diff {rev} failed: {}", String::from_utf8_lossy(&diff.stderr).trim()));
        }
        let file = output.join("since.diff");
        std::fs::write(&file, &diff.stdout).map_err(|err| err.to_string())?;
        command.arg("--in-diff").arg(&file);
    }
    // cargo-mutants exits non-zero when a mutant survives; the score is what counts.
    command.status().map_err(|err| format!("cannot run cargo-mutants: {err}"))?;
    let outcomes = output.join("mutants.out").join("outcomes.json");
    let text = std::fs::read_to_string(&outcomes).map_err(|err| format!("{}: {err}", outcomes.display()))?;
    parse(&text)
}

/// Reads cargo-mutants' `outcomes.json`.
pub(crate) fn parse(text: &str) -> Result<Score, String> {
    let document: serde_json::Value = serde_json::from_str(text).map_err(|err| err.to_string())?;
    let mut score = Score::default();
    for outcome in document["outcomes"].as_array().ok_or("outcomes.json has no outcomes")? {
        let scenario = &outcome["scenario"];
        if scenario.as_str() == Some("Baseline") {
            continue;
        }
        match outcome["summary"].as_str() {
            Some("CaughtMutant") => score.caught += 1,
            Some("MissedMutant") => {
                score.missed += 1;
                // The name reads `file:line:column: replace … with …`.
                score.survivors.push(scenario["Mutant"]["name"].as_str().unwrap_or("?").to_owned());
            }
            Some("Timeout") => score.timeout += 1,
            Some("Unviable") => score.unviable += 1,
            _ => {}
        }
    }
    Ok(score)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_score_counts_caught_and_timed_out_among_viable_mutants() {
        let text = r#"{"outcomes": [
            {"scenario": "Baseline", "summary": "Success"},
            {"scenario": {"Mutant": {"file": "a.rs", "name": "a.rs:3:5: replace f -> bool with true", "span": {"start": {"line": 3}}}}, "summary": "MissedMutant"},
            {"scenario": {"Mutant": {"file": "a.rs", "name": "x", "span": {"start": {"line": 4}}}}, "summary": "CaughtMutant"},
            {"scenario": {"Mutant": {"file": "a.rs", "name": "y", "span": {"start": {"line": 5}}}}, "summary": "CaughtMutant"},
            {"scenario": {"Mutant": {"file": "a.rs", "name": "z", "span": {"start": {"line": 6}}}}, "summary": "Timeout"},
            {"scenario": {"Mutant": {"file": "a.rs", "name": "u", "span": {"start": {"line": 7}}}}, "summary": "Unviable"}
        ]}"#;
        let score = parse(text).unwrap();
        assert_eq!((score.caught, score.missed, score.timeout, score.unviable), (2, 1, 1, 1));
        assert_eq!(score.survivors, vec!["a.rs:3:5: replace f -> bool with true".to_owned()]);
        assert!((score.percent() - 75.0).abs() < 1e-9);
    }
}
