//! `netra store migrate`: a sled store copied into an empty PostgreSQL database comes out the
//! same (its dump byte for byte, its audit chain to the same head), and a second copy into the
//! now non-empty database is refused with nothing changed.
//!
//! Runs when `NETRA_STORE_POSTGRES` names a database (`.ci/run` starts one).

mod common;

use common::{activity, at, detection, employee};
use netra::model::{Platform, RuleStatus};
use netra::store::{ActivityRecord, AuditDraft, Store};

/// Runs `sql` on the database at `url` and returns the first column of every row as text.
fn sql(url: &str, sql: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (client, connection) = runtime
        .block_on(tokio_postgres::connect(url, tokio_postgres::NoTls))
        .unwrap();
    runtime.spawn(connection);
    let rows = runtime.block_on(client.simple_query(sql)).unwrap();
    rows.iter()
        .filter_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .collect()
}

/// A fresh, empty database next to the one `NETRA_STORE_POSTGRES` names; its URL.
fn fresh_database(url: &str) -> String {
    let mut random = [0u8; 6];
    getrandom::getrandom(&mut random).unwrap();
    let name = format!("netra_migrate_{}", hex::encode(random));
    sql(url, &format!("CREATE DATABASE {name}"));
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

fn dump(store: &Store) -> Vec<u8> {
    let mut out = Vec::new();
    store.export(&mut out).unwrap();
    out
}

#[test]
fn a_sled_store_moves_to_postgres_whole_and_a_second_copy_is_refused() {
    let url = match std::env::var(netra::store::POSTGRES_FOR_DIRECTORIES) {
        Ok(url) if netra::store::is_postgres_url(&url) => url,
        _ => {
            eprintln!("skipped: set NETRA_STORE_POSTGRES to copy into PostgreSQL");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let sled_path = dir.path().join("db");
    {
        let store = Store::open_sled(&sled_path, 8 << 20).unwrap();
        for n in 1..=3 {
            store.put_employee(&employee(n)).unwrap();
            let account = store
                .register_account(
                    &employee(n).employee_id,
                    Platform::Mastodon,
                    &format!("@pegawai{n}@m.example"),
                    at(0),
                )
                .unwrap();
            let records: Vec<ActivityRecord> = (1..=20)
                .map(|k| ActivityRecord {
                    activity: activity(account.id, n * 100 + k),
                    employee_id: employee(n).employee_id,
                    detections: vec![detection("invite.ballot_number", RuleStatus::Active)],
                })
                .collect();
            store.record_activities(&records, at(10)).unwrap();
        }
        store
            .audit(AuditDraft::new("admin", "note", "store:migrate"), at(20))
            .unwrap();
        store.flush().unwrap();
    }
    let target = fresh_database(&url);
    let netra = |from: &str, to: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_netra"))
            .args(["store", "migrate", "--from", from, "--to", to])
            .output()
            .unwrap()
    };
    let from = format!("sled:{}", sled_path.display());
    let copied = netra(&from, &target);
    let stderr = String::from_utf8_lossy(&copied.stderr);
    assert!(copied.status.success(), "{stderr}");
    assert!(stderr.contains("audit chain intact"), "{stderr}");

    let source = common::retry(|| Store::open_sled(&sled_path, 8 << 20));
    let copy = Store::open_postgres(&target, None).unwrap();
    assert!(copy.engine_name().starts_with("postgres://"));
    assert_eq!(copy.findings().unwrap().len(), 60);
    assert_eq!(
        dump(&source),
        dump(&copy),
        "the copy dumps byte for byte the same"
    );
    assert_eq!(
        source.verify_audit(None).unwrap().head_hash,
        copy.verify_audit(None).unwrap().head_hash
    );
    assert!(copy.verify_integrity().unwrap().is_empty());
    drop(source);
    // The schema came from the versioned migrations, each recorded once.
    assert_eq!(
        sql(
            &target,
            "SELECT version FROM netra_migrations ORDER BY version"
        ),
        ["1", "2"]
    );

    // Into a store that already holds records: refused, the copy unchanged.
    let before = dump(&copy);
    let again = netra(&from, &target);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds records"));
    assert_eq!(dump(&copy), before);
}
