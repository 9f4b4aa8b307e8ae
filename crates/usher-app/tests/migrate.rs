//! `usher migrate` on a fresh SQLite file: applies the migrations once, then nothing; a bad
//! URL exits non-zero with one line naming the problem.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::process::Command;

fn usher(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_usher"))
        .args(args)
        .env_remove("USHER_DATABASE_URL")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn migrate_applies_once_then_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("usher.db").display());
    let (ok, out, err) = usher(&["migrate", "--database-url", &url]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "migrate: applied 17 migration(s); the database is at 17 of 17");
    let (ok, out, _) = usher(&["migrate", "--database-url", &url]);
    assert!(ok);
    assert!(out.starts_with("migrate: applied 0 migration(s)"), "{out}");
}

#[test]
fn migrate_refuses_an_unsupported_url_in_one_line() {
    let (ok, out, err) = usher(&["migrate", "--database-url", "mysql://root@localhost/usher"]);
    assert!(!ok);
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("usher: unsupported database URL scheme \"mysql\""), "{err}");
}

#[test]
fn every_command_has_help() {
    let (ok, out, _) = usher(&["migrate", "--help"]);
    assert!(ok);
    assert!(out.contains("USHER_DATABASE_URL"), "{out}");
}
