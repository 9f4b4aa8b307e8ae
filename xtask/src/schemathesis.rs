//! The schemathesis step: a pinned schemathesis in a venv under `target/`, run with every
//! check and the stateful phase against a fresh `usher serve`. It acts as four identities (a
//! Web Fuzzing Commons auth document): the administrator of a sub-account of `acme`, the
//! administrator of another tenant `globex`, the administrator of `acme`'s root and the
//! operator; the first two are peers, whose objects its object-level authorization check
//! requires to stay out of each other's reach.

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
        // Signed access tokens on, so their minting is exercised rather than answered 503.
        .env("USHER_TOKEN_KEY", "5c1e0b7a9d3f2e4c6a8b0d1f3e5c7a9b2d4f6e8a0c1b3d5f7e9a2c4b6d8f0e1a")
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

/// One JSON request over plain HTTP/1.1; answers the body of a 2xx answer.
fn call(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    let body = body.to_string();
    let mut stream = TcpStream::connect(address).map_err(|err| err.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|err| err.to_string())?;
    let authorization = token.map(|token| format!("Authorization: Bearer {token}\r\n")).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|err| err.to_string())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(|err| err.to_string())?;
    let (head, json) = answer.split_once("\r\n\r\n").ok_or("no HTTP body")?;
    if !head.split(' ').nth(1).is_some_and(|status| status.starts_with('2')) {
        return Err(format!("{method} {path}: {head}: {json}"));
    }
    if json.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_str(json).map_err(|err| format!("{err}: {json}"))
}

fn login(address: &str, account: &str, username: &str, password: &str) -> Result<String, String> {
    let body = serde_json::json!({"account": account, "username": username, "password": password});
    let session = call(address, "POST", "/v1/auth/login", None, &body)?;
    session["token"].as_str().map(str::to_owned).ok_or_else(|| format!("login failed: {session}"))
}

const ADMIN_PASSWORD: &str = "schemathesis administrator passphrase";

/// Two tenants and a sub-account administrator; answers the Web Fuzzing Commons document that
/// names them with the operator, peers first, so schemathesis tries them first.
fn identities(address: &str) -> Result<(serde_json::Value, Ids), String> {
    use serde_json::json;
    let operator = login(address, "default", "admin", OPERATOR_PASSWORD)?;
    let mut admins = Vec::new();
    for slug in ["acme", "globex"] {
        let email = format!("admin@{slug}.example.com");
        let account = json!({"slug": slug, "name": slug, "admin_email": email, "admin_password": ADMIN_PASSWORD, "admin_seats": 10, "user_seats": 100});
        let created = call(address, "POST", "/v1/accounts", Some(&operator), &account)?;
        let id = created["account"]["id"].as_str().ok_or("no account id")?.to_owned();
        admins.push((id, login(address, slug, &email, ADMIN_PASSWORD)?));
    }
    let [(acme, acme_token), (globex, globex_token)] =
        <[_; 2]>::try_from(admins).map_err(|_| "two tenants")?;
    let sub = json!({"slug": "acme-east", "name": "East"});
    let east = call(address, "POST", &format!("/v1/accounts/{acme}/sub-accounts"), Some(&acme_token), &sub)?;
    let east = east["id"].as_str().ok_or("no sub-account id")?.to_owned();
    let catalog = |path: &str| {
        call(address, "GET", &format!("/v1/accounts/{acme}/{path}"), Some(&acme_token), &json!(null))
    };
    let find = |list: &serde_json::Value, field: &str, value: &str| -> Result<String, String> {
        let items = list["items"].as_array().ok_or("no items")?;
        let item = items.iter().find(|item| item[field] == value).ok_or(format!("no {value}"))?;
        item["id"].as_str().map(str::to_owned).ok_or_else(|| "no id".to_owned())
    };
    let admin_type = find(&catalog("user-types")?, "key", "admin")?;
    let admin_role = find(&catalog("roles")?, "name", "admin")?;
    let user = json!({"username": "east-admin", "email": "east@acme.example.com", "user_type": admin_type, "roles": [admin_role]});
    let user = call(address, "POST", &format!("/v1/accounts/{east}/users"), Some(&acme_token), &user)?;
    let user = user["id"].as_str().ok_or("no user id")?.to_owned();
    call(address, "POST", &format!("/v1/users/{user}/email-verified"), Some(&acme_token), &json!({}))?;
    let first = "a first passphrase for east";
    let password = json!({"password": first});
    call(address, "PUT", &format!("/v1/users/{user}/password"), Some(&acme_token), &password)?;
    let restricted = login(address, "acme", "east-admin", first)?;
    let change = json!({"current_password": first, "new_password": ADMIN_PASSWORD});
    call(address, "PUT", "/v1/me/password", Some(&restricted), &change)?;
    let east_token = login(address, "acme", "east-admin", ADMIN_PASSWORD)?;
    let user_type = find(&catalog("user-types")?, "key", "user")?;
    let user_role = find(&catalog("roles")?, "name", "user")?;
    let globex_id = globex.as_str();
    let ids = Ids {
        accounts: vec![acme.clone(), east.clone(), globex_id.to_owned()],
        user_types: vec![admin_type, user_type],
        roles: vec![admin_role, user_role],
        users: vec![user],
    };
    let entry = |name: &str, token: &str| json!({"name": name, "fixedHeaders": [{"name": "Authorization", "value": format!("Bearer {token}")}]});
    let document = json!({"auth": [
        entry("east-admin", &east_token),
        entry("globex-admin", &globex_token),
        entry("acme-admin", &acme_token),
        entry("operator", &operator),
    ]});
    Ok((document, ids))
}

/// Ids of the objects [`identities`] made, offered to schemathesis as dictionaries
/// (`tests/schemathesis/schemathesis.toml`) so half of the generated requests name something
/// that exists, in one tenant or the other, and reach the rules behind the lookups.
struct Ids {
    accounts: Vec<String>,
    user_types: Vec<String>,
    roles: Vec<String>,
    users: Vec<String>,
}

impl Ids {
    /// Writes one libFuzzer-style dictionary per kind into `dir`.
    fn write(&self, dir: &Path) -> Result<(), String> {
        let every = [self.users.clone(), self.roles.clone(), self.user_types.clone()].concat();
        for (name, ids) in [
            ("accounts", &self.accounts),
            ("user-types", &self.user_types),
            ("roles", &self.roles),
            ("objects", &every),
        ] {
            let lines: String = ids.iter().map(|id| format!("\"{id}\"\n")).collect();
            std::fs::write(dir.join(format!("{name}.dict")), lines).map_err(|err| err.to_string())?;
        }
        Ok(())
    }
}

/// Runs schemathesis; `Ok` when it finds nothing.
pub(crate) fn check(root: &Path) -> Result<(), String> {
    let executable = install(root)?;
    let server = start(root)?;
    let (document, ids) = identities(&server.address)?;
    let wfc = server._dir.0.join("identities.json");
    std::fs::write(&wfc, document.to_string()).map_err(|err| err.to_string())?;
    let config = root.join("tests").join("schemathesis").join("schemathesis.toml");
    // Its cache, reports and the dictionaries of ids go under target/, so a run leaves the tree
    // as it found it.
    let workdir = root.join("target").join("schemathesis-run");
    std::fs::create_dir_all(&workdir).map_err(|err| err.to_string())?;
    ids.write(&workdir)?;
    let status = Command::new(&executable)
        .current_dir(&workdir)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("http://{}/openapi.json", server.address))
        .args(["--checks", "all", "--phases", "examples,coverage,fuzzing,stateful", "--workers", "1"])
        // Each operation settles on its own identity, so an object one identity made is rightly
        // a 404 to the next (see schemathesis.toml); the matrix and the peers check cover reach.
        .args(["--exclude-checks", "ensure_resource_availability"])
        .args(["--seed", SEED, "--no-color"])
        .env("USHER_SCHEMATHESIS_IDENTITIES", &wfc)
        .status()
        .map_err(|err| format!("cannot run schemathesis: {err}"))?;
    drop(server);
    if status.success() { Ok(()) } else { Err(format!("schemathesis found failures ({status})")) }
}
