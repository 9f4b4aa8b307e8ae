//! The Python tools the run checks usher with, written by others: the Standard Webhooks
//! reference library (deliveries), PyJWT with cryptography (signed access tokens),
//! openapi-python-client (the generated client) and scim2-tester with its SCIM client over
//! httpx2 (SCIM compliance), pinned, in a venv under `target/`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned packages, as pip names them.
pub(crate) const PACKAGES: [(&str, &str); 8] = [
    ("standardwebhooks", "1.1.0"),
    ("PyJWT", "2.15.1"),
    ("cryptography", "50.0.2"),
    ("openapi-python-client", "0.29.1"),
    ("scim2-tester", "0.5.2"),
    ("scim2-client", "0.13.2"),
    ("scim2-models", "0.12.3"),
    ("httpx2", "2.16.2"),
];

/// Creates (once) the venv with the pinned packages; answers its python.
pub(crate) fn install(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join("target").join("checkers-venv");
    let python = venv.join("bin").join("python");
    let wanted: Vec<String> = PACKAGES.iter().map(|(name, version)| format!("{name}=={version}")).collect();
    let probe = format!(
        "import importlib.metadata as m; print(' '.join(n + '==' + m.version(n) for n in {:?}))",
        PACKAGES.iter().map(|(name, _)| *name).collect::<Vec<_>>()
    );
    let installed = Command::new(&python)
        .args(["-c", &probe])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == wanted.join(" "));
    if installed {
        return Ok(python);
    }
    println!("xtask: installing {} into {}", wanted.join(", "), venv.display());
    let system = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let status = Command::new(&system).arg("-m").arg("venv").arg("--clear").arg(&venv).status();
    if !status.is_ok_and(|s| s.success()) {
        return Err(format!("{system} -m venv failed; install python3 with venv support"));
    }
    let status = Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(&wanted)
        .status();
    if !status.is_ok_and(|s| s.success()) {
        return Err(format!("pip install {} failed", wanted.join(" ")));
    }
    Ok(python)
}
