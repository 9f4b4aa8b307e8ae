//! The spec lint: Redocly CLI, pinned, installed with npm under `target/`, over the
//! committed `docs/openapi.json` with the recommended rules (`docs/redocly.yaml`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Redocly CLI release the run is pinned to.
pub(crate) const VERSION: &str = "2.77.0";

/// Installs (once) the pinned CLI; answers its executable.
fn install(root: &Path) -> Result<PathBuf, String> {
    let prefix = root.join("target").join("redocly");
    let executable = prefix.join("node_modules").join(".bin").join("redocly");
    let installed = Command::new(&executable)
        .arg("--version")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == VERSION);
    if installed {
        return Ok(executable);
    }
    println!("xtask: installing @redocly/cli {VERSION} into {}", prefix.display());
    std::fs::create_dir_all(&prefix).map_err(|err| err.to_string())?;
    let status = Command::new("npm")
        .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(format!("@redocly/cli@{VERSION}"))
        .status();
    match status {
        Ok(status) if status.success() => Ok(executable),
        Ok(status) => Err(format!("npm install @redocly/cli@{VERSION} failed ({status})")),
        Err(err) => Err(format!("npm is missing ({err}); .ci/run installs it")),
    }
}

/// Lints the committed spec; an error fails, warnings are printed.
pub(crate) fn lint(root: &Path) -> Result<(), String> {
    let redocly = install(root)?;
    let status = Command::new(redocly)
        .current_dir(root)
        .args(["lint", "docs/openapi.json", "--config", "docs/redocly.yaml", "--format", "codeframe"])
        .status()
        .map_err(|err| err.to_string())?;
    if status.success() { Ok(()) } else { Err(format!("redocly lint found errors ({status})")) }
}
