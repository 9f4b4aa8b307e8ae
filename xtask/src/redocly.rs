//! The spec lint: Redocly CLI, pinned, installed with npm under `target/`, over the
//! committed `docs/openapi.json` with the recommended rules (`docs/redocly.yaml`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Redocly CLI release the run is pinned to.
pub(crate) const VERSION: &str = "2.77.0";

/// Installs (once) the pinned CLI; answers its executable.
fn install(root: &Path) -> Result<PathBuf, String> {
    crate::npm::install(root, "redocly", "@redocly/cli", VERSION)?;
    Ok(root.join("target").join("redocly").join("node_modules").join(".bin").join("redocly"))
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
