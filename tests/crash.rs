//! Crash safety of the store under SIGKILL, with a real child process and a real sled database.
//!
//! The child (this same test binary, re-run with `--ignored --exact crash_child_writer`) writes
//! multi-tree transactions through the store's public operations and prints `ack N` only after
//! each call returned, which is when the store promises durability. The parent kills it with
//! SIGKILL at random moments (sometimes while it is still opening the database), reopens the
//! store, and checks that every acknowledged write is there and no tree holds half a change.

mod common;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{activity, at, detection, employee};
use netra::model::{AccountId, Platform, RuleStatus};
use netra::store::{ActivityRecord, Store};

const ROUNDS: u64 = 24;
const CHILD_DIR_VAR: &str = "NETRA_CRASH_CHILD_DIR";
const CHILD_BASE_VAR: &str = "NETRA_CRASH_CHILD_BASE";

/// sled's file lock can outlive a process for a moment; retry opening briefly as its CI users do.
fn open_with_retry(path: &Path) -> Store {
    let mut last_error = None;
    for _ in 0..100 {
        match Store::open(path, 8 * 1024 * 1024) {
            Ok(store) => return store,
            Err(error) => {
                last_error = Some(error);
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    panic!("store did not open: {:?}", last_error);
}

fn random_below(bound: u64) -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(bound);
    hasher.finish() % bound
}

/// The ids of the two activities written by acknowledgement `n`.
fn activity_numbers(n: u64) -> [u64; 2] {
    [n * 2, n * 2 + 1]
}

#[test]
#[ignore = "the child process of sigkill_never_loses_acknowledged_writes; run only by it"]
fn crash_child_writer() {
    let dir = std::env::var(CHILD_DIR_VAR).expect("run by the crash test");
    let base: u64 = std::env::var(CHILD_BASE_VAR).unwrap().parse().unwrap();
    let store = open_with_retry(Path::new(&dir));
    let person = employee(1);
    if store.employee(&person.employee_id).unwrap().is_none() {
        store.put_employee(&person).unwrap();
    }
    let account = AccountId(1);
    for n in base.. {
        if n % 10 == 0 {
            // Registry writes are multi-tree transactions too.
            store
                .register_account(
                    &person.employee_id,
                    Platform::Bluesky,
                    &format!("h{n}.bsky.social"),
                    at(0),
                )
                .unwrap();
        }
        let records: Vec<ActivityRecord> = activity_numbers(n)
            .into_iter()
            .map(|k| ActivityRecord {
                activity: activity(account, k),
                employee_id: person.employee_id.clone(),
                detections: vec![
                    detection("invite.ballot_number", RuleStatus::Active),
                    detection("support.name_cue", RuleStatus::Active),
                    detection("shadow.experiment", RuleStatus::Shadow),
                ],
            })
            .collect();
        store.record_activities(&records, at(n as i64)).unwrap();
        println!("ack {n}");
    }
}

#[test]
fn sigkill_never_loses_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db");
    let mut total_acked = 0;
    let mut rounds_with_acks = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "crash_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_VAR, &db_path)
            .env(CHILD_BASE_VAR, (round * 1_000_000 + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("child starts");
        let acked = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let acked = Arc::clone(&acked);
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(n) = line.strip_prefix("ack ") {
                        acked.lock().unwrap().push(n.parse::<u64>().unwrap());
                    }
                }
            })
        };
        // Uniform 0–400 ms: early kills land while the child opens or recovers the database.
        std::thread::sleep(Duration::from_millis(random_below(400)));
        child.kill().expect("SIGKILL delivered");
        child.wait().unwrap();
        reader.join().unwrap();
        let acked = acked.lock().unwrap().clone();

        let store = open_with_retry(&db_path);
        for n in &acked {
            for k in activity_numbers(*n) {
                let wanted = activity(AccountId(1), k);
                let stored = store
                    .activity(wanted.platform, &wanted.platform_activity_id)
                    .unwrap();
                assert_eq!(
                    stored.as_ref(),
                    Some(&wanted),
                    "round {round}: acknowledged write {n} lost"
                );
            }
        }
        let problems = store.verify_integrity().unwrap();
        assert!(
            problems.is_empty(),
            "round {round}: torn records: {problems:#?}"
        );
        let audit = store.verify_audit(None).unwrap();
        assert_eq!(audit.first_broken, None, "round {round}: audit chain");
        let findings = store.findings().unwrap().len();
        assert_eq!(
            findings,
            store.activity_count().unwrap() * 3,
            "round {round}: every activity has its 3 findings"
        );
        total_acked += acked.len();
        rounds_with_acks += usize::from(!acked.is_empty());
        drop(store);
    }
    eprintln!("checked {total_acked} acknowledged writes over {ROUNDS} kills");
    // Guard against a vacuous pass: most rounds must have written something before the kill.
    assert!(
        rounds_with_acks >= (ROUNDS as usize) / 2,
        "only {rounds_with_acks} rounds wrote anything"
    );
    assert!(
        total_acked >= 100,
        "only {total_acked} acknowledged writes were checked"
    );
}
