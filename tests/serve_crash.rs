//! `netra serve` killed with SIGKILL again and again while it ingests from the simulator: after
//! restarting, the findings equal a clean run's, with none duplicated and none missing.

mod common;

use std::time::Duration;

use common::binary::{findings, random_below, register, run_ok, serve};
use netra::simulator::{self, SimConfig};

const KILLS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_ingest_loses_and_duplicates_nothing() {
    // A population large enough that ten short runs cannot finish it: the kills land in the
    // middle of ingesting, and the last pass has work left.
    let sim = simulator::spawn(SimConfig {
        employees: 1000,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");

    let crashed = tempfile::tempdir().unwrap();
    register(crashed.path(), &sim).await;
    for round in 0..KILLS {
        let mut child = serve(crashed.path()).spawn().expect("serve starts");
        // 0.05–0.5 s: from still opening the store to deep into a batch. Ten runs this short
        // cannot ingest 1,000 employees' history, so the last pass always has work left.
        tokio::time::sleep(Duration::from_millis(50 + random_below(450))).await;
        child.start_kill().expect("SIGKILL delivered");
        let status = child.wait().await.unwrap();
        assert!(
            !status.success(),
            "round {round}: serve was killed, not finished"
        );
    }
    // The restart that finishes the work: every account once more, from its cursor.
    let summary = run_ok(crashed.path(), &["scan", "--once", "--all"]).await;
    eprintln!("after {KILLS} kills: {summary}");
    let finished_after: usize = summary
        .split("accounts scanned: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        finished_after > 0,
        "the kills interrupted work that the restart finished"
    );

    let clean = tempfile::tempdir().unwrap();
    register(clean.path(), &sim).await;
    run_ok(clean.path(), &["scan", "--once"]).await;

    let after_crashes = findings(crashed.path()).await;
    let clean_run = findings(clean.path()).await;
    let (crashed_keys, crashed_count) = (after_crashes.keys, after_crashes.rows);
    let (clean_keys, clean_count) = (clean_run.keys, clean_run.rows);
    assert!(
        clean_count > 50,
        "the clean run finds the scripted partisan activity"
    );
    assert_eq!(crashed_count, crashed_keys.len(), "no finding stored twice");
    assert_eq!(clean_count, clean_keys.len());
    let missing: Vec<_> = clean_keys.difference(&crashed_keys).take(5).collect();
    let extra: Vec<_> = crashed_keys.difference(&clean_keys).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing after crashes: {missing:#?}; extra: {extra:#?}"
    );
    // Every ingest wrote its audit entry in its own transaction: the chain survived the kills.
    run_ok(crashed.path(), &["audit", "verify"]).await;
    sim.stop().await.unwrap();
}
