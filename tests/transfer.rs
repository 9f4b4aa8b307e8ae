//! Users as CSV over HTTP: the export streams the list's users, with its filters, as a CSV file
//! a spreadsheet opens safely.

use reqwest::{Method, StatusCode};
use serde_json::json;
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

#[tokio::test]
async fn r19_users_export_as_csv_on_sqlite() {
    usher_e2e::on_sqlite(r19_users_export_as_csv).await;
}

#[tokio::test]
async fn r19_users_export_as_csv_on_postgres() {
    usher_e2e::on_postgres(r19_users_export_as_csv).await;
}
