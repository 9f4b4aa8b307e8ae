//! Import jobs: staged rows imported a batch per transaction by whichever process holds the
//! job, resumed after a crash without doing a row twice (R1, R5, R20).

use usher_domain::model::{ImportJob, ImportOptions, ImportState, RowKind, RowReport, StagedRow};
use usher_domain::ports::UserQuery;
use usher_domain::service::transfer::{
    IMPORT_BATCH, IMPORT_LEASE, ImportError, RECEIVING_LEASE, cancel_import, claim_import, get_import,
    import_report, plain_refusal, run_import, seal_import, stage_import_rows, submit_import,
    sweep_stalled_imports,
};

use super::*;

/// The users of a root.
async fn users_of(h: &Harness, tenant: &Tenant) -> usize {
    let mut tx = h.ports.store.begin().await.unwrap();
    let (mut n, mut request) = (0, PageRequest::first(500));
    loop {
        let query = UserQuery {
            root: tenant.account.id,
            within: BTreeSet::from([tenant.account.id]),
            state: None,
            prefix: None,
            user_type: None,
            role: None,
            page: request.clone(),
        };
        let page = tx.list_users(&query).await.unwrap();
        n += page.items.len();
        match page.next {
            Some(cursor) => request = PageRequest::after(cursor, 500),
            None => return n,
        }
    }
}

fn row(line: u64, cells: &[&str]) -> StagedRow {
    StagedRow { line, cells: cells.iter().map(|c| (*c).to_owned()).collect(), report: None }
}

/// Submits a job of `rows` with a `username,email,state` header and seals it for the server.
async fn queued(h: &Harness, tenant: &Tenant, options: ImportOptions, rows: &[StagedRow]) -> ImportJob {
    let header = ["username", "email", "state"].map(str::to_owned).to_vec();
    let job = submit_import(&h.ports, &tenant.admin_actor, tenant.account.id, options, header).await.unwrap();
    for chunk in rows.chunks(700) {
        stage_import_rows(&h.ports, job.id, chunk).await.unwrap();
    }
    seal_import(&h.ports, job.id, false).await.unwrap()
}

/// A job's whole report.
async fn report_of(h: &Harness, tenant: &Tenant, job: &ImportJob) -> Vec<RowReport> {
    let (mut all, mut after) = (Vec::new(), 0);
    loop {
        let (rows, next) =
            import_report(&h.ports, &tenant.admin_actor, job.id, after, 1_000, false).await.unwrap();
        all.extend(rows);
        match next {
            Some(line) => after = line,
            None => return all,
        }
    }
}

/// R1, R5, R20: a job resumes after a process died holding it, and every row is done once.
pub async fn r1_r5_an_import_job_resumes_after_a_crash_doing_each_row_once(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 3).await;
    let before = users_of(&h, &tenant).await;
    // Disabled users take no seat (R8), so the file can be larger than the subscription.
    let total = u64::from(IMPORT_BATCH) * 2 + 500;
    let mut rows: Vec<StagedRow> = (0..total)
        .map(|i| {
            let name = format!("u{i:05}");
            row(i + 2, &[&name, &format!("{name}@example.com"), "disabled"])
        })
        .collect();
    rows.push(StagedRow {
        line: total + 2,
        cells: Vec::new(),
        report: Some(RowReport::unreadable(total + 2, "bad")),
    });
    rows.push(row(total + 3, &["u00000", "again@example.com", "disabled"]));
    let job = queued(&h, &tenant, ImportOptions::default(), &rows).await;
    assert_eq!((job.state, job.counts.rows, job.counts.errors), (ImportState::Queued, total + 2, 1));

    // A server takes the job, commits one batch and stops: it lets the job go.
    let claimed = claim_import(&h.ports).await.unwrap().expect("the queued job");
    assert_eq!(claimed.id, job.id);
    let stop = || false;
    let paused = run_import(&h.ports, job.id, &plain_refusal, &stop, &mut |_| {}).await.unwrap().unwrap();
    assert_eq!((paused.state, paused.counts.done), (ImportState::Running, u64::from(IMPORT_BATCH) + 1));
    assert_eq!(users_of(&h, &tenant).await, before + IMPORT_BATCH as usize);

    // Another takes it over at once, and dies before its first batch commits.
    assert!(claim_import(&h.ports).await.unwrap().is_some(), "a released job is taken at once");
    assert!(claim_import(&h.ports).await.unwrap().is_none(), "a held job is not taken twice");
    h.clock.advance(IMPORT_LEASE + Duration::seconds(1));
    let resumed = claim_import(&h.ports).await.unwrap().expect("the job of a process that died");
    assert_eq!(resumed.cursor, paused.cursor, "it goes on after the last committed batch");
    let done = run_import(&h.ports, job.id, &plain_refusal, &|| true, &mut |_| {}).await.unwrap().unwrap();
    assert_eq!(done.state, ImportState::Succeeded);
    assert_eq!(
        (done.counts.done, done.counts.created, done.counts.skipped, done.counts.errors),
        (total + 2, total, 1, 1)
    );
    assert_eq!(users_of(&h, &tenant).await, before + total as usize, "every row once");
    let report = report_of(&h, &tenant, &done).await;
    assert_eq!(report.len() as u64, total + 2, "one outcome per row");
    let lines: BTreeSet<u64> = report.iter().map(|r| r.line).collect();
    assert_eq!(lines.len(), report.len());
    assert_eq!(report.iter().filter(|r| r.outcome == RowKind::Created).count() as u64, total);
    assert!(claim_import(&h.ports).await.unwrap().is_none(), "an ended job is never taken");
    assert!(matches!(
        cancel_import(&h.ports, &tenant.admin_actor, job.id).await,
        Err(ImportError::Finished { state: "succeeded" })
    ));
}

/// R1, R3: all or nothing and a dry run write no user, and report every row; a cancelled job
/// stops where it is.
pub async fn r1_r3_import_jobs_all_or_nothing_dry_run_and_cancel(store: Arc<dyn Store>) {
    use usher_domain::model::ImportMode;
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 3).await;
    let before = users_of(&h, &tenant).await;
    let rows = [
        row(2, &["ann", "ann@example.com", "active"]),
        row(3, &["ben", "ben@example.com", "active"]),
        row(4, &["cid", "cid@example.com", "active"]),
        row(5, &["dot", "dot@example.com", "active"]),
    ];
    // Three seats: the fourth active user is refused, with the numbers (R1).
    let all = ImportOptions { mode: ImportMode::AllOrNothing, ..ImportOptions::default() };
    let job = queued(&h, &tenant, all, &rows).await;
    claim_import(&h.ports).await.unwrap().unwrap();
    let failed = run_import(&h.ports, job.id, &plain_refusal, &|| true, &mut |_| {}).await.unwrap().unwrap();
    assert_eq!(failed.state, ImportState::Failed);
    assert!(!failed.committed);
    assert_eq!((failed.counts.created, failed.counts.errors), (3, 1), "told as what would have been");
    assert_eq!(users_of(&h, &tenant).await, before, "nothing written");
    let report = report_of(&h, &tenant, &failed).await;
    assert_eq!(report.len(), 4);
    assert_eq!(report[3].column.as_deref(), Some("user_type"));

    let dry = ImportOptions { dry_run: true, ..ImportOptions::default() };
    let job = queued(&h, &tenant, dry, &rows[..3]).await;
    claim_import(&h.ports).await.unwrap().unwrap();
    let told = run_import(&h.ports, job.id, &plain_refusal, &|| true, &mut |_| {}).await.unwrap().unwrap();
    assert_eq!((told.state, told.committed, told.counts.created), (ImportState::Succeeded, false, 3));
    assert_eq!(users_of(&h, &tenant).await, before, "a dry run writes nothing");

    let job = queued(&h, &tenant, ImportOptions::default(), &rows[..1]).await;
    let cancelled = cancel_import(&h.ports, &tenant.admin_actor, job.id).await.unwrap();
    assert_eq!(cancelled.state, ImportState::Cancelled);
    assert!(claim_import(&h.ports).await.unwrap().is_none(), "a cancelled job is never run");
    assert_eq!(users_of(&h, &tenant).await, before);
    let other = h.tenant("other", 3).await;
    assert!(
        matches!(get_import(&h.ports, &other.admin_actor, job.id).await, Err(ImportError::NotFound { .. })),
        "another tenant's job reads as not found"
    );
}

/// R20: an upload that broke off (its server died while receiving the file) does not stay
/// `receiving` for ever: once no rows came for the receiving lease, the sweep fails it, says
/// why, imports nothing, and leaves a job still receiving rows alone.
pub async fn r20_an_import_whose_file_stopped_arriving_is_failed_by_the_sweep(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 3).await;
    let before = users_of(&h, &tenant).await;
    let header = || ["username", "email", "state"].map(str::to_owned).to_vec();
    let submit = || {
        submit_import(&h.ports, &tenant.admin_actor, tenant.account.id, ImportOptions::default(), header())
    };
    let broken = submit().await.unwrap();
    stage_import_rows(&h.ports, broken.id, &[row(2, &["ann", "ann@example.com", "active"])]).await.unwrap();
    h.clock.advance(RECEIVING_LEASE - Duration::seconds(60));
    let alive = submit().await.unwrap();
    assert_eq!(sweep_stalled_imports(&h.ports).await.unwrap(), 0, "both files may still arrive");
    h.clock.advance(Duration::seconds(61));
    // The live upload sends more rows, which moves its lease on.
    stage_import_rows(&h.ports, alive.id, &[row(2, &["bob", "bob@example.com", "active"])]).await.unwrap();
    assert_eq!(sweep_stalled_imports(&h.ports).await.unwrap(), 1);
    let failed = get_import(&h.ports, &tenant.admin_actor, broken.id).await.unwrap();
    assert_eq!(failed.state, ImportState::Failed);
    let failure = failed.failure.unwrap_or_default();
    assert!(failure.contains("stopped arriving") && failure.contains("after line 2"), "{failure}");
    assert_eq!(
        get_import(&h.ports, &tenant.admin_actor, alive.id).await.unwrap().state,
        ImportState::Receiving
    );
    let late = stage_import_rows(&h.ports, broken.id, &[row(3, &["cy", "cy@example.com", "active"])]).await;
    assert!(matches!(late, Err(ImportError::NotReceiving { .. })), "{late:?}");
    assert_eq!(users_of(&h, &tenant).await, before, "nothing was imported");
    assert_eq!(sweep_stalled_imports(&h.ports).await.unwrap(), 0, "a failed job is swept once");
    // The live upload ends normally and is imported.
    let sealed = seal_import(&h.ports, alive.id, false).await.unwrap();
    assert_eq!(sealed.state, ImportState::Queued);
}

/// R8: an import's report never keeps another user's username or email: a row refused because
/// they are taken says so by its field, so erasing that user leaves nothing of them in reports.
pub async fn r8_an_import_report_names_no_other_user(store: Arc<dyn Store>) {
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 5).await;
    let ann = h.user(&tenant, tenant.account.id, "ann").await.unwrap();
    let rows = [
        row(2, &["bob", "ann@people.example.com", "active"]),
        row(3, &["ann", "someone@example.com", "active"]),
    ];
    let job = queued(&h, &tenant, ImportOptions::default(), &rows).await;
    claim_import(&h.ports).await.unwrap().expect("the queued job");
    run_import(&h.ports, job.id, &plain_refusal, &|| true, &mut |_| {}).await.unwrap();
    let erased =
        usher_domain::service::users::erase_user(&h.ports, &tenant.admin_actor, ann.id).await.unwrap();
    assert!(erased.erased_at.is_some());
    let report = report_of(&h, &tenant, &job).await;
    let outcomes: Vec<(u64, RowKind)> = report.iter().map(|line| (line.line, line.outcome)).collect();
    assert_eq!(outcomes, [(2, RowKind::Error), (3, RowKind::Skipped)], "{report:?}");
    // The refusal says which field, not whose value; the match keeps the id alone.
    let refusal = report[0].problem.clone().unwrap_or_default();
    assert_eq!(refusal["detail"], "the email is already used by another user", "{refusal}");
    for line in &report {
        let kept =
            format!("{:?} {:?} {}", line.reason, line.column, serde_json::to_string(&line.problem).unwrap());
        assert!(!kept.contains("ann"), "line {} keeps a trace of ann: {kept}", line.line);
    }
    assert_eq!(report[1].user, Some(ann.id));
}

/// R17: a row with a `contact` kind gives its user a contact: the root's contact with the
/// row's email that has no user yet, else a new person (the row's names) or organization (its
/// `organization`); a bad kind or a person without a last name is the row's error; a second
/// import of the file makes no contact.
pub async fn r17_an_import_creates_or_matches_contacts(store: Arc<dyn Store>) {
    use usher_domain::model::ContactKind;
    use usher_domain::service::contacts::{self, NewContact};
    let h = Harness::new(store);
    let tenant = h.tenant("acme", 10).await;
    let cora = NewContact {
        kind: ContactKind::Person,
        first_name: Some("Cora".into()),
        last_name: Some("Contact".into()),
        email: Some("cora@example.com".into()),
        phone: None,
    };
    let cora =
        contacts::create_contact(&h.ports, &tenant.admin_actor, tenant.account.id, cora).await.unwrap();
    let header = ["username", "email", "first_name", "last_name", "contact", "organization"];
    let rows = [
        row(2, &["cora", "cora@example.com", "Cora", "Contact", "person", ""]),
        row(3, &["dan", "dan@example.com", "Dan", "Doe", "Person", ""]),
        row(4, &["olga", "olga@example.com", "Olga", "Org", "organization", "Org GmbH"]),
        row(5, &["eve", "eve@example.com", "Eve", "", "person", ""]),
        row(6, &["fay", "fay@example.com", "Fay", "Fox", "robot", ""]),
        row(7, &["gil", "gil@example.com", "Gil", "Gray", "organization", ""]),
    ];
    let import = || async {
        let header = header.map(str::to_owned).to_vec();
        let options =
            ImportOptions { existing: usher_domain::model::Existing::Update, ..ImportOptions::default() };
        let job =
            submit_import(&h.ports, &tenant.admin_actor, tenant.account.id, options, header).await.unwrap();
        stage_import_rows(&h.ports, job.id, &rows).await.unwrap();
        seal_import(&h.ports, job.id, false).await.unwrap();
        claim_import(&h.ports).await.unwrap().expect("the queued job");
        run_import(&h.ports, job.id, &plain_refusal, &|| true, &mut |_| {}).await.unwrap().unwrap()
    };
    let all_contacts = || async {
        let query = usher_domain::ports::ContactQuery {
            root: tenant.account.id,
            within: BTreeSet::new(),
            search: None,
            page: PageRequest::first(100),
        };
        h.ports.store.begin().await.unwrap().list_contacts(&query).await.unwrap().items
    };
    let first = import().await;
    let report = report_of(&h, &tenant, &first).await;
    let outcomes: Vec<(u64, RowKind, Option<String>)> =
        report.iter().map(|r| (r.line, r.outcome, r.column.clone())).collect();
    assert_eq!(
        outcomes,
        [
            (2, RowKind::Created, None),
            (3, RowKind::Created, None),
            (4, RowKind::Created, None),
            (5, RowKind::Error, Some("last_name".to_owned())),
            (6, RowKind::Error, Some("contact".to_owned())),
            (7, RowKind::Error, Some("organization".to_owned())),
        ],
        "{report:?}"
    );
    let user = |line: usize| report[line].user.unwrap();
    let mut tx = h.ports.store.begin().await.unwrap();
    let cora_user = tx.user(user(0)).await.unwrap().unwrap();
    assert_eq!(
        (cora_user.contact, cora_user.contact_kind),
        (Some(cora.id), Some(ContactKind::Person)),
        "matched"
    );
    assert_eq!(tx.contact(cora.id).await.unwrap().unwrap().user, Some(cora_user.id));
    let dan = tx.user(user(1)).await.unwrap().unwrap();
    let dan_contact = tx.contact(dan.contact.expect("a new contact")).await.unwrap().unwrap();
    assert_eq!(dan_contact.user, Some(dan.id));
    assert_eq!(
        (
            dan_contact.kind,
            dan_contact.first_name.map(|n| n.to_string()),
            dan_contact.last_name.map(|n| n.to_string())
        ),
        (ContactKind::Person, Some("Dan".to_owned()), Some("Doe".to_owned()))
    );
    let olga = tx.user(user(2)).await.unwrap().unwrap();
    let org = tx.contact(olga.contact.expect("an organization")).await.unwrap().unwrap();
    assert_eq!(
        (org.kind, org.last_name.map(|n| n.to_string())),
        (ContactKind::Organization, Some("Org GmbH".to_owned()))
    );
    assert_eq!(olga.contact_kind, Some(ContactKind::Organization));
    drop(tx);
    let contacts_after_first = all_contacts().await.len();
    assert_eq!(contacts_after_first, 3, "Cora's, and one each for Dan and Olga");

    let second = import().await;
    let again: Vec<(u64, RowKind)> =
        report_of(&h, &tenant, &second).await.iter().map(|r| (r.line, r.outcome)).take(3).collect();
    assert_eq!(again, [(2, RowKind::Unchanged), (3, RowKind::Unchanged), (4, RowKind::Unchanged)]);
    assert_eq!(all_contacts().await.len(), contacts_after_first, "a second import makes no contact");
}
