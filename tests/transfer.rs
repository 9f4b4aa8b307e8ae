//! Users as CSV over HTTP: the export streams the list's users, with its filters, as a CSV file
//! a spreadsheet opens safely.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use usher_e2e::{Db, Server};

async fn r19_users_export_as_csv(server: Server, db: Db) -> Db {
    let acme = server.tenant("acme", 5).await;
    let users = format!("/v1/accounts/{}/users", acme.account);
    for (email, first) in [("ada@example.com", "Ada"), ("formula@example.com", "=cmd|' /C calc'!A0")] {
        let body = json!({"email": email, "first_name": first, "user_type": acme.user_type, "roles": [acme.user_role]});
        let (status, created) = server.post(&users, &acme.token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    let export = |query: &str| format!("{users}/export{query}");
    let response = reqwest::Client::new()
        .get(format!("{}{}", server.base, export("")))
        .bearer_auth(&acme.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(&header[..4], ["username", "email", "first_name", "last_name"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3, "the administrator and two users:\n{body}");
    let formula = rows.iter().find(|r| &r[1] == "formula@example.com").unwrap();
    assert_eq!(&formula[2], "'=cmd|' /C calc'!A0", "a formula is neutralised");

    let (status, headers, filtered) =
        server.call_with_headers(Method::GET, &export("?q=ada"), Some(&acme.token), None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(filtered.as_str().unwrap().lines().count(), 2, "the header and Ada: {filtered}");

    // The same file from the command line, read from the database as the operator.
    let output = tokio::process::Command::new(usher_e2e::usher_binary())
        .args(["export", "--account", "acme", "--database-url", &db.url])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), body, "the CLI writes what the API streams");
    let missing = tokio::process::Command::new(usher_e2e::usher_binary())
        .args(["export", "--account", "nowhere", "--database-url", &db.url])
        .output()
        .await
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr).trim(),
        "usher: export: account nowhere: account not found"
    );

    // An import from the command line: one outcome per row, the refused ones with their line.
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("people.csv");
    let csv = "username,email,first_name,user_type,roles,state,nickname\n\
               cy,cy@example.com,Cy,user,user,disabled,x\n\
               ,ada@example.com,Ada,,,,\n\
               bad,not-an-email,,,,,\n";
    std::fs::write(&file, csv).unwrap();
    let import = |extra: &[&str]| {
        let mut command = tokio::process::Command::new(usher_e2e::usher_binary());
        command
            .args(["import"])
            .arg(&file)
            .args(["--account", "acme", "--database-url", &db.url])
            .args(extra);
        command.output()
    };
    let output = import(&[]).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert_eq!(output.status.code(), Some(1), "a refused row fails the command:\n{stdout}");
    assert!(stdout.contains("unknown columns, not read: nickname"), "{stdout}");
    assert!(
        stdout.contains("| created | 1 |") && stdout.contains("| skipped | 1 |"),
        "cy new, ada exists:\n{stdout}"
    );
    assert!(stdout.contains("line 4 (email): email:"), "{stdout}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "usher: import: 1 row(s) refused; the others are reported above"
    );
    let (_, found) = server.get(&format!("{users}?q=cy"), &acme.token).await;
    assert_eq!(found["items"][0]["origin"], "import", "{found}");
    // A row with a cell more than the header, and one that is not UTF-8: each refused with
    // its line, the good row between them still written.
    let mut bytes =
        b"username,email,state\nfred,fred@example.com,disabled,extra\ngus,gus@example.com,disabled\n"
            .to_vec();
    bytes.extend_from_slice(b"h\xffl,hal@example.com,disabled\n");
    std::fs::write(&file, bytes).unwrap();
    let output = import(&[]).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(stdout.contains("| created | 1 |"), "{stdout}");
    assert!(stdout.contains("line 2: 4 cells, but the header names 3 columns"), "{stdout}");
    assert!(stdout.contains("line 4: cell 1 is not UTF-8"), "{stdout}");

    let globex = server.tenant("globex", 5).await;
    let (status, problem) = server.get(&export(""), &globex.token).await;
    assert_eq!((status, problem["code"].clone()), (StatusCode::NOT_FOUND, json!("not_found")), "{problem}");
    db
}

/// POSTs a CSV file as an import; answers status, `Location` and body.
async fn submit(
    server: &Server,
    token: &str,
    path: &str,
    csv: String,
) -> (StatusCode, Option<String>, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", server.base))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
    (status, location, response.json().await.unwrap())
}

/// R1, R5, R20: an import job survives the server killed mid-job: the next server takes it
/// over, and every row ends with exactly one outcome, none done twice.
async fn r1_r5_an_import_job_survives_a_killed_server(server: Server, db: Db) -> Db {
    let acme = server.tenant("acme", 5).await;
    let imports = format!("/v1/accounts/{}/imports", acme.account);
    let rows = 20_000;
    let mut csv = String::from("username,email,state\n");
    for i in 0..rows {
        csv.push_str(&format!("p{i:05},p{i:05}@example.com,disabled\n"));
    }
    csv.push_str("bad,not-an-email,disabled\n");
    let (status, location, job) = submit(&server, &acme.token, &imports, csv).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let location = location.expect("a Location");
    assert_eq!(location, format!("/v1/imports/{}", job["id"].as_str().unwrap()));
    assert_eq!(job["counts"]["rows"], rows + 1);

    // Killed (SIGKILL) once a batch has committed and before the last.
    let running = usher_e2e::until("the first batch", || async {
        let (_, found) = server.get(&location, &acme.token).await;
        let done = found["job"]["counts"]["done"].as_u64().unwrap_or(0);
        (found["job"]["state"] == "running" && done >= 1_000).then_some(done)
    })
    .await;
    assert!(running < rows + 1, "the job ended before the kill; make the file larger");
    server.kill();
    let server = Server::start(&db).await;
    let finished = usher_e2e::until("the job taken over", || async {
        let (_, found) = server.get(&location, &acme.token).await;
        (found["job"]["state"] == "succeeded").then_some(found)
    })
    .await;
    let counts = &finished["job"]["counts"];
    assert_eq!(
        (
            counts["done"].as_u64(),
            counts["created"].as_u64(),
            counts["skipped"].as_u64(),
            counts["errors"].as_u64()
        ),
        (Some(rows + 1), Some(rows), Some(0), Some(1)),
        "every row once: {finished}"
    );
    let mut lines = std::collections::BTreeSet::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = server.get(&format!("{location}?limit=1000&cursor={cursor}"), &acme.token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for row in page["rows"].as_array().unwrap() {
            assert!(lines.insert(row["line"].as_u64().unwrap()), "one outcome per line: {row}");
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(lines.len() as u64, rows + 1);
    let (_, refused) = server.get(&format!("{location}?errors_only=true"), &acme.token).await;
    let refused = &refused["rows"][0];
    assert_eq!(
        (refused["line"].as_u64(), refused["column"].as_str()),
        (Some(rows + 2), Some("email")),
        "{refused}"
    );
    assert_eq!(refused["problem"]["code"], "invalid_field", "{refused}");
    let (status, problem) = server.delete(&location, &acme.token).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("import_finished")),
        "{problem}"
    );

    // Refusals come before any job: no email column, an empty file, another tenant.
    let (status, _, problem) = submit(&server, &acme.token, &imports, "username\nann\n".to_owned()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_header"))
    );
    let (status, _, problem) = submit(&server, &acme.token, &imports, String::new()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unreadable_file"))
    );
    let globex = server.tenant("globex", 5).await;
    let (status, _) = server.get(&location, &globex.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = submit(&server, &globex.token, &imports, "email\nx@example.com\n".to_owned()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    db
}

#[tokio::test]
async fn r1_r5_an_import_job_survives_a_killed_server_on_sqlite() {
    usher_e2e::on_sqlite(r1_r5_an_import_job_survives_a_killed_server).await;
}

#[tokio::test]
async fn r1_r5_an_import_job_survives_a_killed_server_on_postgres() {
    usher_e2e::on_postgres(r1_r5_an_import_job_survives_a_killed_server).await;
}

#[tokio::test]
async fn r19_users_export_as_csv_on_sqlite() {
    usher_e2e::on_sqlite(r19_users_export_as_csv).await;
}

#[tokio::test]
async fn r19_users_export_as_csv_on_postgres() {
    usher_e2e::on_postgres(r19_users_export_as_csv).await;
}

/// The server's peak resident memory so far (`VmHWM`), in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Imports `rows` disabled users named `{prefix}NNNNNN` over HTTP; answers the seconds it
/// took and the server's peak memory after it.
#[allow(clippy::disallowed_methods, reason = "the wall time of the import is a printed figure")]
async fn import_file(server: &Server, acme: &usher_e2e::Tenant, prefix: &str, rows: u64) -> (f64, u64) {
    let mut csv = String::with_capacity(40 * rows as usize);
    csv.push_str("username,email,first_name,last_name,state\n");
    for i in 0..rows {
        csv.push_str(&format!("{prefix}{i:06},{prefix}{i:06}@example.com,Max,Muster{i},disabled\n"));
    }
    let started = std::time::Instant::now();
    let imports = format!("/v1/accounts/{}/imports", acme.account);
    let (status, location, job) = submit(server, &acme.token, &imports, csv).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let location = location.expect("a Location");
    let finished = usher_e2e::until_within("the import", 600, || async {
        let (_, found) = server.get(&location, &acme.token).await;
        found["job"]["finished_at"].is_string().then_some(found)
    })
    .await;
    let counts = &finished["job"]["counts"];
    assert_eq!(finished["job"]["state"], "succeeded", "{finished}");
    assert_eq!((counts["created"].as_u64(), counts["errors"].as_u64()), (Some(rows), Some(0)), "{finished}");
    (started.elapsed().as_secs_f64(), peak_kib(server.pid()))
}

/// R1, R5: a file of 100,000 rows imports over HTTP in bounded memory: the server reads it as
/// it arrives and imports a batch at a time, so a file five times larger leaves its peak
/// memory where a 20,000-row file left it. The figures are printed.
#[tokio::test]
async fn r1_r5_a_file_of_100000_rows_imports_in_bounded_memory() {
    let db = Db::sqlite().await;
    let server = Server::start(&db).await;
    let acme = server.tenant("acme", 5).await;
    let started = peak_kib(server.pid());
    let (_, small) = import_file(&server, &acme, "s", 20_000).await;
    let (seconds, large) = import_file(&server, &acme, "l", 100_000).await;
    eprintln!(
        "import of 100000 rows (debug build, SQLite): {seconds:.1} s, {:.0} rows/s; server peak memory \
         {} MiB at start, {} MiB after 20,000 rows, {} MiB after 100,000 more",
        100_000.0 / seconds,
        started / 1024,
        small / 1024,
        large / 1024
    );
    let grown = large.saturating_sub(small);
    assert!(grown < 32 * 1024, "100,000 rows took {} MiB more than 20,000 did", grown / 1024);
    db.drop_database().await;
}
