//! The schemathesis step: a pinned schemathesis in a venv under `target/`, run with every
//! check and the stateful phase against a fresh `usher serve`, authenticated as the operator.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The schemathesis release the run is pinned to.
pub(crate) const VERSION: &str = "4.32.5";

/// A fixed seed: the same cases every run, so a failure reproduces and CI is not a lottery.
/// One worker: hypothesis describing a case from two threads trips a CPython 3.11 `ast` bug
/// ("AST constructor recursion depth mismatch").
const SEED: &str = "20261123";

/// Creates (once) the venv with the pinned schemathesis; answers its executable.
fn install(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join("target").join("schemathesis-venv");
    let executable = venv.join("bin").join("schemathesis");
    let installed = Command::new(&executable)
        .arg("--version")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(VERSION));
    if installed {
        return Ok(executable);
    }
    println!("xtask: installing schemathesis {VERSION} into {}", venv.display());
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run(Command::new(&python).arg("-m").arg("venv").arg("--clear").arg(&venv))
        .map_err(|err| format!("{python} -m venv failed ({err}); install python3 with venv support"))?;
    run(Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("schemathesis=={VERSION}")))
    .map_err(|err| format!("pip install schemathesis=={VERSION} failed: {err}"))?;
    Ok(executable)
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command.status().map_err(|err| err.to_string())?;
    if status.success() { Ok(()) } else { Err(format!("exit status {status}")) }
}

/// A `usher serve` started for the run, killed when dropped.
struct Server {
    child: Child,
    address: String,
    _dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const OPERATOR_PASSWORD: &str = "schemathesis operator passphrase";

fn start(root: &Path) -> Result<Server, String> {
    let dir = TempDir(std::env::temp_dir().join(format!("usher-schemathesis-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).map_err(|err| err.to_string())?;
    let binary = root.join("target").join("debug").join(format!("usher{}", std::env::consts::EXE_SUFFIX));
    let mut child = Command::new(&binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--database-url")
        .arg(format!("sqlite:{}", dir.0.join("usher.db").display()))
        .env("USHER_MAIL", format!("file://{}", dir.0.join("mail").display()))
        .env("USHER_BOOTSTRAP_PASSWORD", OPERATOR_PASSWORD)
        .env("USHER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.0.join("server.log")).map_err(|err| err.to_string())?)
        .spawn()
        .map_err(|err| format!("cannot start {}: {err}", binary.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut address = None;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(found) = line.strip_prefix("listening: http://") {
            address = Some(found.to_owned());
            break;
        }
    }
    match address {
        Some(address) => Ok(Server { child, address, _dir: dir }),
        None => {
            let _ = child.kill();
            let log = std::fs::read_to_string(dir.0.join("server.log")).unwrap_or_default();
            let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
            Err(format!("usher serve exited before listening; it logged: {tail}"))
        }
    }
}

/// Logs the operator in over plain HTTP/1.1 and answers the session token.
fn login(address: &str) -> Result<String, String> {
    let body = serde_json::json!({"account": "default", "username": "admin", "password": OPERATOR_PASSWORD})
        .to_string();
    let mut stream = TcpStream::connect(address).map_err(|err| err.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|err| err.to_string())?;
    write!(
        stream,
        "POST /v1/auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|err| err.to_string())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(|err| err.to_string())?;
    let json = answer.split_once("\r\n\r\n").map(|(_, body)| body).ok_or("no HTTP body")?;
    let value: serde_json::Value = serde_json::from_str(json).map_err(|err| format!("{err}: {json}"))?;
    value["token"].as_str().map(str::to_owned).ok_or_else(|| format!("login failed: {json}"))
}

/// Runs schemathesis; `Ok` when it finds nothing.
pub(crate) fn check(root: &Path) -> Result<(), String> {
    let executable = install(root)?;
    let server = start(root)?;
    let token = login(&server.address)?;
    let config = root.join("tests").join("schemathesis").join("schemathesis.toml");
    let status = Command::new(&executable)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("http://{}/openapi.json", server.address))
        .args(["--checks", "all", "--phases", "examples,coverage,fuzzing,stateful", "--workers", "1"])
        .args(["--seed", SEED, "--no-color"])
        .arg("--header")
        .arg(format!("Authorization: Bearer {token}"))
        .status()
        .map_err(|err| format!("cannot run schemathesis: {err}"))?;
    drop(server);
    if status.success() { Ok(()) } else { Err(format!("schemathesis found failures ({status})")) }
}
