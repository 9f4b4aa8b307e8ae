//! Pinned npm packages installed under `target/<folder>` (npm itself comes from `.ci/run`):
//! Redocly CLI, openapi-typescript and axe-core.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Installs (once) `package@version` under `target/<folder>` and answers the package's folder.
/// An install whose `package.json` names another version is replaced.
pub(crate) fn install(root: &Path, folder: &str, package: &str, version: &str) -> Result<PathBuf, String> {
    let prefix = root.join("target").join(folder);
    let installed = prefix.join("node_modules").join(package);
    let current = std::fs::read_to_string(installed.join("package.json")).unwrap_or_default();
    if current.contains(&format!("\"version\": \"{version}\"")) {
        return Ok(installed);
    }
    println!("xtask: installing {package} {version} into {}", prefix.display());
    std::fs::create_dir_all(&prefix).map_err(|err| err.to_string())?;
    let status = Command::new("npm")
        .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(format!("{package}@{version}"))
        .status()
        .map_err(|err| format!("npm is missing ({err}); .ci/run installs it"))?;
    if status.success() {
        Ok(installed)
    } else {
        Err(format!("npm install {package}@{version} failed ({status})"))
    }
}
