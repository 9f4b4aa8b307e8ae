//! The client generators integrators use, run over the committed `docs/openapi.json`:
//! openapi-python-client (pinned in the checkers venv) and openapi-typescript (pinned, with
//! npm under `target/`). Each must generate every operation of the spec and print no warning.
//! The Python client is left under `target/clients/python` for the end-to-end journey test.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The generator's settings: which content types it treats as others (CSV as bytes).
const PYTHON_CONFIG: &str = "docs/python-client.yaml";

/// The openapi-typescript release the run is pinned to.
pub(crate) const TYPESCRIPT_VERSION: &str = "7.13.0";

/// The operations of the committed spec.
fn operations(root: &Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(root.join(crate::OPENAPI_SNAPSHOT)).map_err(|e| e.to_string())?;
    let spec: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let methods = ["get", "put", "post", "delete", "patch"];
    Ok(spec["paths"]
        .as_object()
        .map(|paths| {
            paths.values().map(|item| methods.iter().filter(|m| item.get(**m).is_some()).count()).sum()
        })
        .unwrap_or(0))
}

/// Runs a generator; answers the lines it printed that are not its normal progress.
fn run(mut command: Command, normal: &[&str]) -> Result<Vec<String>, String> {
    let output = command.output().map_err(|err| err.to_string())?;
    let printed =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let unexpected: Vec<String> = printed
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !normal.iter().any(|start| line.starts_with(start)))
        .map(str::to_owned)
        .collect();
    if !output.status.success() {
        return Err(format!("it failed ({}): {}", output.status, unexpected.join(" | ")));
    }
    Ok(unexpected)
}

/// Generates the Python client with the checkers venv's openapi-python-client; answers the
/// folder to put on `PYTHONPATH`.
pub(crate) fn python(root: &Path, python: &Path) -> Result<PathBuf, String> {
    let bin = python.parent().ok_or("no venv")?;
    let folder = root.join("target").join("clients").join("python");
    let package = folder.join("usher_client");
    let mut command = Command::new(bin.join("openapi-python-client"));
    // Its formatter, ruff, comes with it in the venv.
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    command
        .current_dir(root)
        .env("PATH", path)
        .args([
            "generate",
            "--path",
            crate::OPENAPI_SNAPSHOT,
            "--meta",
            "none",
            "--config",
            PYTHON_CONFIG,
            "--overwrite",
            "--output-path",
        ])
        .arg(&package);
    let warnings = run(command, &["Generating "])?;
    if !warnings.is_empty() {
        return Err(format!("openapi-python-client warned: {}", warnings.join(" | ")));
    }
    let mut generated = 0;
    let api = package.join("api");
    let areas = std::fs::read_dir(&api).map_err(|e| format!("{}: {e}", api.display()))?.flatten();
    for area in areas.filter(|entry| entry.path().is_dir()) {
        let files = std::fs::read_dir(area.path()).map_err(|e| format!("{}: {e}", area.path().display()))?;
        for file in files.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            generated += usize::from(name.ends_with(".py") && name != "__init__.py");
        }
    }
    let expected = operations(root)?;
    if generated != expected {
        return Err(format!("openapi-python-client generated {generated} of {expected} operations"));
    }
    println!("xtask: openapi-python-client generated all {expected} operations without a warning");
    Ok(folder)
}

/// Installs (once) the pinned openapi-typescript and generates the types.
pub(crate) fn typescript(root: &Path) -> Result<(), String> {
    let package = crate::npm::install(root, "openapi-typescript", "openapi-typescript", TYPESCRIPT_VERSION)?;
    let executable = package.with_file_name(".bin").join("openapi-typescript");
    let output = root.join("target").join("clients").join("usher.d.ts");
    let mut command = Command::new(executable);
    command.current_dir(root).arg(crate::OPENAPI_SNAPSHOT).arg("-o").arg(&output);
    let warnings = run(command, &["✨ openapi-typescript", "🚀 "])?;
    if !warnings.is_empty() {
        return Err(format!("openapi-typescript warned: {}", warnings.join(" | ")));
    }
    let types = std::fs::read_to_string(&output).map_err(|e| e.to_string())?;
    let operations_block = types.split("export interface operations {").nth(1).unwrap_or_default();
    let generated = operations_block
        .lines()
        .filter(|line| line.starts_with("    ") && !line.starts_with("     ") && line.ends_with(": {"))
        .count();
    let expected = operations(root)?;
    if generated != expected {
        return Err(format!("openapi-typescript typed {generated} of {expected} operations"));
    }
    println!("xtask: openapi-typescript typed all {expected} operations without a warning");
    Ok(())
}
