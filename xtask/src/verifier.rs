//! The Standard Webhooks verifier the end-to-end tests check deliveries with: the reference
//! Python library, pinned, in a venv under `target/`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `standardwebhooks` release the run is pinned to.
pub(crate) const VERSION: &str = "1.1.0";

/// Creates (once) the venv with the pinned library; answers its python.
pub(crate) fn install(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join("target").join("webhooks-venv");
    let python = venv.join("bin").join("python");
    let installed = Command::new(&python)
        .args(["-c", "import importlib.metadata as m; print(m.version('standardwebhooks'))"])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == VERSION);
    if installed {
        return Ok(python);
    }
    println!("xtask: installing standardwebhooks {VERSION} into {}", venv.display());
    let system = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let status = Command::new(&system).arg("-m").arg("venv").arg("--clear").arg(&venv).status();
    if !status.is_ok_and(|s| s.success()) {
        return Err(format!("{system} -m venv failed; install python3 with venv support"));
    }
    let status = Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("standardwebhooks=={VERSION}"))
        .status();
    if !status.is_ok_and(|s| s.success()) {
        return Err(format!("pip install standardwebhooks=={VERSION} failed"));
    }
    Ok(python)
}
