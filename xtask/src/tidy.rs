//! Tidy checks: code invariants that are tests, so plain `cargo test` enforces them too.

use std::path::Path;
use std::process::Command;

/// Crates the domain must never reach, directly or not (DESIGN §1).
pub(crate) const IO_CRATES: [&str; 9] =
    ["tokio", "sea-orm", "sqlx", "poem", "poem-openapi", "hyper", "lettre", "reqwest", "mio"];

/// Crates in `cargo tree -p usher-domain -e normal` that do I/O.
pub(crate) fn domain_tree_violations(cargo: &str, root: &Path) -> Result<Vec<String>, String> {
    let output = Command::new(cargo)
        .args(["tree", "-p", "usher-domain", "-e", "normal", "--prefix", "none", "--locked"])
        .current_dir(root)
        .output()
        .map_err(|err| err.to_string())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let tree = String::from_utf8_lossy(&output.stdout);
    Ok(tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| IO_CRATES.contains(name))
        .map(str::to_owned)
        .collect())
}

/// `git status --porcelain` of the tree (untracked files included), or `None` outside a git
/// checkout. A test run must leave it as it found it: caches and reports belong under
/// `target/`.
pub(crate) fn tree_status(root: &Path) -> Option<String> {
    let output = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(root)
        .output()
        .ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The lines of `after` that `before` lacks: what a run added to or changed in the tree.
pub(crate) fn tree_changes(before: &str, after: &str) -> Vec<String> {
    let seen: std::collections::BTreeSet<&str> = before.lines().collect();
    after.lines().filter(|line| !seen.contains(line)).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    #[test]
    fn tree_changes_are_the_new_status_lines() {
        let before = " M README.md\n";
        let after = " M README.md\n?? .schemathesis/cache.json\n";
        assert_eq!(tree_changes(before, after), vec!["?? .schemathesis/cache.json".to_owned()]);
        assert!(tree_changes(after, after).is_empty());
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == "target" || name.to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    fn manifest(path: &Path) -> toml::Table {
        fs::read_to_string(path).unwrap().parse().unwrap()
    }

    fn crate_dirs() -> Vec<PathBuf> {
        let root = crate::project_root();
        let mut dirs: Vec<PathBuf> =
            fs::read_dir(root.join("crates")).unwrap().flatten().map(|e| e.path()).collect();
        dirs.push(root.join("xtask"));
        dirs.sort();
        dirs
    }

    #[test]
    fn domain_has_no_io_dependencies() {
        let manifest = manifest(&crate::project_root().join("crates/usher-domain/Cargo.toml"));
        let deps = manifest["dependencies"].as_table().unwrap(); // dev-dependencies (tokio for tests) are fine
        for banned in IO_CRATES {
            assert!(
                !deps.contains_key(banned),
                "crates/usher-domain must not depend on `{banned}`; see docs/ARCHITECTURE.md"
            );
        }
        for (name, _) in deps {
            assert!(
                !name.starts_with("usher-"),
                "usher-domain depends on no other usher crate, found `{name}`"
            );
        }
    }

    #[test]
    fn domain_dependency_tree_reaches_no_io_crate() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let violations = domain_tree_violations(&cargo, &crate::project_root()).unwrap();
        assert!(violations.is_empty(), "usher-domain reaches {violations:?}");
    }

    #[test]
    fn adapters_depend_on_the_domain_but_not_on_each_other() {
        let adapters = ["usher-store", "usher-mail", "usher-http", "usher-contract"];
        for adapter in adapters {
            let manifest = manifest(&crate::project_root().join(format!("crates/{adapter}/Cargo.toml")));
            let deps = manifest["dependencies"].as_table().unwrap();
            assert!(deps.contains_key("usher-domain"), "{adapter} implements domain ports");
            for other in adapters.iter().filter(|other| **other != adapter) {
                assert!(
                    !deps.contains_key(*other),
                    "{adapter} must not depend on {other}; only usher-app wires adapters"
                );
            }
        }
    }

    #[test]
    fn every_crate_uses_the_workspace_lints() {
        for dir in crate_dirs() {
            let manifest = manifest(&dir.join("Cargo.toml"));
            let workspace =
                manifest.get("lints").and_then(|l| l.get("workspace")).and_then(toml::Value::as_bool);
            assert_eq!(workspace, Some(true), "{} needs `[lints] workspace = true`", dir.display());
        }
    }

    #[test]
    fn every_rust_file_starts_with_a_module_doc() {
        let mut files = Vec::new();
        for dir in crate_dirs() {
            rust_files(&dir, &mut files);
        }
        assert!(files.len() > 10);
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            assert!(
                text.starts_with("//!"),
                "{} must start with a `//!` line saying what it is for",
                file.display()
            );
        }
    }

    #[test]
    fn no_ignored_or_should_panic_tests() {
        let mut files = Vec::new();
        for dir in crate_dirs() {
            rust_files(&dir, &mut files);
        }
        let (ignore, should_panic) = (["#[", "ignore"].concat(), ["#[", "should_panic"].concat());
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            assert!(!text.contains(&ignore), "{}: no ignored tests (STYLE 5.6)", file.display());
            assert!(!text.contains(&should_panic), "{}: no should_panic tests (STYLE 5.6)", file.display());
        }
    }
}
