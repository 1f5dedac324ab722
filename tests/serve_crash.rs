//! `netra serve` killed with SIGKILL again and again while it ingests from the simulator: after
//! restarting, the findings equal a clean run's, with none duplicated and none missing.

use std::collections::hash_map::RandomState;
use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use netra::simulator::{self, population_out, SimConfig};
use tokio::process::Command;

const KILLS: usize = 10;

fn random_below(bound: u64) -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(bound);
    hasher.finish() % bound
}

/// The binary with the test's configuration; word lists and rules from this checkout.
fn netra(dir: &Path, args: &[&str]) -> Command {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut command = Command::new(env!("CARGO_BIN_EXE_netra"));
    command
        .arg("--config")
        .arg(dir.join("netra.toml"))
        .args(args)
        .env("NETRA_HTTP_LISTEN", "127.0.0.1:0")
        .env("NETRA_DETECT_WORDLISTS_DIR", format!("{root}/wordlists"))
        .env(
            "NETRA_DETECT_RULES_FILE",
            format!("{root}/config/rules.toml"),
        )
        .env("RUST_LOG", "error")
        .stdin(Stdio::null());
    command
}

async fn run_ok(dir: &Path, args: &[&str]) -> String {
    let output = netra(dir, args).output().await.expect("netra runs");
    assert!(
        output.status.success(),
        "netra {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Writes the simulator's population files into `dir` and registers them.
async fn register(dir: &Path, sim: &simulator::RunningSimulator) {
    population_out::write_all(dir, &sim.state.snapshot(), &sim.base_url).unwrap();
    run_ok(
        dir,
        &[
            "accounts",
            "import",
            dir.join("employees.csv").to_str().unwrap(),
        ],
    )
    .await;
    run_ok(
        dir,
        &[
            "watched",
            "import",
            dir.join("watched.csv").to_str().unwrap(),
        ],
    )
    .await;
}

/// Findings by dedupe key, and how many there are in all (to catch duplicates).
async fn findings(dir: &Path) -> (BTreeSet<(String, String, String)>, usize) {
    let listed = run_ok(dir, &["findings", "list", "--json"]).await;
    let mut keys = BTreeSet::new();
    let mut count = 0;
    for line in listed.lines() {
        let finding: serde_json::Value = serde_json::from_str(line).unwrap();
        keys.insert((
            finding["platform"].as_str().unwrap().to_string(),
            finding["activity_id"].as_str().unwrap().to_string(),
            finding["rule"].as_str().unwrap().to_string(),
        ));
        count += 1;
    }
    (keys, count)
}

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
        let mut child = netra(crashed.path(), &["serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
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

    let (crashed_keys, crashed_count) = findings(crashed.path()).await;
    let (clean_keys, clean_count) = findings(clean.path()).await;
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
