//! The store against a real sled database: idempotent ingest, cross-tree integrity, registry
//! rules, and dumps that round-trip byte for byte.

mod common;

use common::{activity, at, detection, employee};
use netra::model::{
    AccountState, EvidenceBlob, Platform, ReviewState, RuleStatus, ScanState, WatchedRole,
};
use netra::store::{ActivityRecord, Ingest, Store, StoreError};

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("db"), 8 * 1024 * 1024).expect("store opens")
}

#[test]
fn recording_the_same_activity_twice_creates_no_second_finding() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.put_employee(&employee(1)).unwrap();
    let account = store
        .register_account(
            &employee(1).employee_id,
            Platform::Mastodon,
            "@a@m.example",
            at(0),
        )
        .unwrap();
    let record = ActivityRecord {
        activity: activity(account.id, 1),
        employee_id: employee(1).employee_id,
        detections: vec![
            detection("invite.ballot_number", RuleStatus::Active),
            detection("shadow.experiment", RuleStatus::Shadow),
        ],
    };
    let first = store
        .record_activities(std::slice::from_ref(&record), at(10))
        .unwrap();
    assert_eq!(first.new_activities, 1);
    assert_eq!(first.new_findings.len(), 2);
    let again = store
        .record_activities(&[record.clone(), record], at(20))
        .unwrap();
    assert_eq!(again.new_activities, 0);
    assert!(again.new_findings.is_empty());

    assert_eq!(store.findings().unwrap().len(), 2);
    // Shadow findings are kept for measurement but never reach reviewers.
    let queued = store.queue(ReviewState::New).unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].detection.rule_id, "invite.ballot_number");
    assert!(store.verify_integrity().unwrap().is_empty());
}

#[test]
fn registry_refuses_unknown_employees_and_duplicate_handles() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let missing = store.register_account("nobody", Platform::Bluesky, "x.bsky.social", at(0));
    assert!(matches!(
        missing,
        Err(StoreError::NotFound {
            what: "employee",
            ..
        })
    ));

    store.put_employee(&employee(7)).unwrap();
    let id = employee(7).employee_id;
    store
        .register_account(&id, Platform::Bluesky, "Budi.bsky.social", at(0))
        .unwrap();
    // Handles compare case-insensitively; the first registration is kept as it was.
    let duplicate = store.register_account(&id, Platform::Bluesky, "budi.BSKY.social", at(1));
    assert!(matches!(duplicate, Err(StoreError::AlreadyExists { .. })));
    // The same handle on another platform is another account.
    store
        .register_account(&id, Platform::X, "budi.bsky.social", at(2))
        .unwrap();
    assert_eq!(store.accounts().unwrap().len(), 2);
    assert_eq!(store.accounts().unwrap()[0].handle, "Budi.bsky.social");
}

#[test]
fn queue_lists_most_severe_first_then_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.put_employee(&employee(1)).unwrap();
    let account = store
        .register_account(
            &employee(1).employee_id,
            Platform::Mastodon,
            "@q@m.example",
            at(0),
        )
        .unwrap();
    let severities = [
        netra::model::Severity::Low,
        netra::model::Severity::High,
        netra::model::Severity::Medium,
        netra::model::Severity::High,
    ];
    for (n, severity) in severities.into_iter().enumerate() {
        let mut found = detection("rule", RuleStatus::Active);
        found.severity = severity;
        let record = ActivityRecord {
            activity: activity(account.id, n as u64 + 1),
            employee_id: employee(1).employee_id,
            detections: vec![found],
        };
        store
            .record_activities(&[record], at(100 + n as i64))
            .unwrap();
    }
    let order: Vec<(netra::model::Severity, i64)> = store
        .queue(ReviewState::New)
        .unwrap()
        .iter()
        .map(|f| (f.detection.severity, f.created_at.as_second()))
        .collect();
    let mut expected = order.clone();
    expected.sort_by_key(|(severity, time)| (std::cmp::Reverse(*severity), *time));
    assert_eq!(order, expected);
    assert_eq!(order[0].0, netra::model::Severity::High);
}

fn populated(dir: &tempfile::TempDir) -> Store {
    let store = open(dir);
    for n in 1..=3 {
        store.put_employee(&employee(n)).unwrap();
        let account = store
            .register_account(
                &employee(n).employee_id,
                Platform::Mastodon,
                &format!("@p{n}@m.example"),
                at(n as i64),
            )
            .unwrap();
        let records: Vec<ActivityRecord> = (1..=4)
            .map(|k| ActivityRecord {
                activity: activity(account.id, n * 10 + k),
                employee_id: employee(n).employee_id,
                detections: if k % 2 == 0 {
                    vec![detection("invite.ballot_number", RuleStatus::Active)]
                } else {
                    vec![]
                },
            })
            .collect();
        store.record_activities(&records, at(500)).unwrap();
    }
    store
        .register_watched(
            Platform::X,
            "@prabowo",
            "pilpres2024:02",
            WatchedRole::Candidate,
            at(1),
        )
        .unwrap();
    store
}

fn export_to_string(store: &Store) -> String {
    let mut out = Vec::new();
    store.export(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn export_import_export_is_identical() {
    let source_dir = tempfile::tempdir().unwrap();
    let source = populated(&source_dir);
    let first = export_to_string(&source);
    assert!(
        first.lines().count() > 30,
        "the dump holds every record:\n{first}"
    );

    let dump_path = source_dir.path().join("dump.jsonl");
    std::fs::write(&dump_path, &first).unwrap();
    let target_dir = tempfile::tempdir().unwrap();
    let target = open(&target_dir);
    let imported = target.import_file(&dump_path).unwrap();
    assert_eq!(imported + 2, first.lines().count());
    assert_eq!(export_to_string(&target), first);
    assert!(target.verify_integrity().unwrap().is_empty());
    // Counters came along: a new finding does not reuse an imported number.
    assert_eq!(target.findings().unwrap(), source.findings().unwrap());
}

#[test]
fn import_refuses_a_store_that_holds_data_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = populated(&dir);
    let before = export_to_string(&store);
    let dump_path = dir.path().join("dump.jsonl");
    std::fs::write(&dump_path, &before).unwrap();
    let error = store.import_file(&dump_path).unwrap_err();
    assert!(matches!(error, StoreError::NotEmpty { .. }), "{error}");
    assert_eq!(export_to_string(&store), before);
}

#[test]
fn bad_dumps_are_refused_with_the_line_and_leave_the_store_empty() {
    let source_dir = tempfile::tempdir().unwrap();
    let dump = export_to_string(&populated(&source_dir));
    let lines: Vec<&str> = dump.lines().collect();

    let truncated = lines[..lines.len() - 1].join("\n");
    let mut corrupted: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let employee_line = corrupted
        .iter()
        .position(|l| l.contains("\"employees\""))
        .unwrap();
    corrupted[employee_line] =
        corrupted[employee_line].replace("\"status\":\"pns\"", "\"status\":\"honorer\"");
    let corrupted = corrupted.join("\n");

    for (text, expected) in [
        (truncated.as_str(), "truncated"),
        (corrupted.as_str(), "employees record does not fit"),
        ("{\"hello\":1}\n", "not a Netra dump"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, text).unwrap();
        let store = open(&dir);
        let error = store.import_file(&path).unwrap_err().to_string();
        assert!(error.contains(expected), "{error}");
        assert!(store.employees().unwrap().is_empty());
        assert_eq!(store.activity_count().unwrap(), 0);
    }
}

#[test]
fn a_dump_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dump = export_to_string(&populated(&dir)).replacen(
        "\"schema_version\":1",
        "\"schema_version\":99",
        1,
    );
    let path = dir.path().join("future.jsonl");
    std::fs::write(&path, dump).unwrap();
    let target_dir = tempfile::tempdir().unwrap();
    let error = open(&target_dir)
        .import_file(&path)
        .unwrap_err()
        .to_string();
    assert!(error.contains("schema version 99"), "{error}");
}

#[test]
fn a_scan_step_stores_activities_evidence_and_the_cursor_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.put_employee(&employee(1)).unwrap();
    let account = store
        .register_account(
            &employee(1).employee_id,
            Platform::Mastodon,
            "@e@m.example",
            at(0),
        )
        .unwrap();
    let body = b"[{\"id\":\"1\"}]".to_vec();
    let blob = EvidenceBlob {
        sha256: "ab".repeat(32),
        url: "https://m.example/api/v1/accounts/1/statuses".into(),
        fetched_at: at(5),
        status: 200,
        content_type: "application/json".into(),
        body: body.clone(),
    };
    let mut state = ScanState::new(at(0));
    state.cursor = Some("113".into());
    let records = [ActivityRecord {
        activity: activity(account.id, 1),
        employee_id: employee(1).employee_id,
        detections: vec![detection("invite.ballot_number", RuleStatus::Active)],
    }];
    let outcome = store
        .ingest(
            Ingest {
                records: &records,
                evidence: std::slice::from_ref(&blob),
                scan: Some((account.id, &state)),
                snapshot: None,
            },
            at(6),
        )
        .unwrap();
    assert_eq!((outcome.new_activities, outcome.new_findings.len()), (1, 1));
    assert_eq!(store.evidence(&blob.sha256).unwrap(), Some(blob.clone()));
    assert_eq!(
        store
            .scan_state(account.id)
            .unwrap()
            .unwrap()
            .cursor
            .as_deref(),
        Some("113")
    );
    assert!(store.evidence(&"cd".repeat(32)).unwrap().is_none());
    assert!(store.evidence("not-a-hash").is_err());

    // A batch with a bad key fails whole: the cursor does not move past what was not stored.
    let mut bad = records[0].clone();
    bad.activity.platform_activity_id = String::new();
    let mut later = state.clone();
    later.cursor = Some("999".into());
    let refused = store.ingest(
        Ingest {
            records: &[bad],
            evidence: &[],
            scan: Some((account.id, &later)),
            snapshot: None,
        },
        at(7),
    );
    assert!(refused.is_err());
    assert_eq!(
        store
            .scan_state(account.id)
            .unwrap()
            .unwrap()
            .cursor
            .as_deref(),
        Some("113")
    );

    // Evidence and scan states survive a dump round trip.
    let dump = export_to_string(&store);
    let dump_path = dir.path().join("dump.jsonl");
    std::fs::write(&dump_path, &dump).unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other = open(&other_dir);
    other.import_file(&dump_path).unwrap();
    assert_eq!(other.evidence(&blob.sha256).unwrap().unwrap().body, body);
    assert_eq!(other.scan_states().unwrap().len(), 1);
}

#[test]
fn resolving_an_account_records_its_id_state_and_handle_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.put_employee(&employee(2)).unwrap();
    let account = store
        .register_account(
            &employee(2).employee_id,
            Platform::Bluesky,
            "lama.bsky.social",
            at(0),
        )
        .unwrap();
    let same = store
        .update_account_resolution(
            account.id,
            "did:plc:abc",
            "LAMA.bsky.social",
            AccountState::Ok,
            at(1),
        )
        .unwrap();
    assert!(same.previous_handles.is_empty(), "case is not a rename");
    assert_eq!(same.platform_id.as_deref(), Some("did:plc:abc"));
    let renamed = store
        .update_account_resolution(
            account.id,
            "did:plc:abc",
            "baru.bsky.social",
            AccountState::Ok,
            at(2),
        )
        .unwrap();
    assert_eq!(renamed.handle, "baru.bsky.social");
    assert_eq!(renamed.previous_handles[0].handle, "lama.bsky.social");
    assert_eq!(
        store
            .account_by_handle(Platform::Bluesky, "baru.bsky.social")
            .unwrap()
            .unwrap()
            .id,
        account.id
    );
    assert!(store
        .account_by_handle(Platform::Bluesky, "lama.bsky.social")
        .unwrap()
        .is_none());
    assert!(store.verify_integrity().unwrap().is_empty());
}
