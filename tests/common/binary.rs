//! The `netra` binary as the process-level tests and load runs start it: the configuration in
//! their directory, word lists and rules from this checkout, quiet logs, and an HTTP port the
//! system picks. Also used by `benches/replicas.rs`, which needs only part of it.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use netra::simulator::{population_out, RunningSimulator};
use tokio::process::{Child, Command};

/// `netra --config DIR/netra.toml ARGS...`, ready to run or spawn.
pub fn netra(dir: &Path, args: &[&str]) -> Command {
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
    // A load run's own settings are not configuration keys: the binary would refuse them.
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("NETRA_BENCH_")) {
        command.env_remove(name);
    }
    command
}

/// `netra serve` with its output discarded, ready to spawn.
pub fn serve(dir: &Path) -> Command {
    let mut command = netra(dir, &["serve"]);
    command.stdout(Stdio::null()).stderr(Stdio::null());
    command
}

/// Runs a command to the end; panics with its stderr unless it succeeded. Returns stdout.
pub async fn run_ok(dir: &Path, args: &[&str]) -> String {
    let output = netra(dir, args).output().await.expect("netra runs");
    assert!(
        output.status.success(),
        "netra {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Writes the simulator's population files (and a `netra.toml` pointed at it) into `dir` and
/// registers its employees, accounts and watched accounts.
pub async fn register(dir: &Path, sim: &RunningSimulator) {
    population_out::write_all(dir, &sim.state.snapshot(), &sim.base_url).unwrap();
    for (command, file) in [("accounts", "employees.csv"), ("watched", "watched.csv")] {
        let file = dir.join(file);
        run_ok(dir, &[command, "import", file.to_str().unwrap()]).await;
    }
}

/// What `findings list --json` shows.
pub struct Findings {
    /// Dedupe keys: platform, activity id, rule.
    pub keys: BTreeSet<(String, String, String)>,
    /// Rows listed (more than `keys` if a finding were stored twice).
    pub rows: usize,
    /// Rows of active rules (those queue for review and raise alerts).
    pub active: usize,
}

pub async fn findings(dir: &Path) -> Findings {
    let listed = run_ok(dir, &["findings", "list", "--json"]).await;
    let mut found = Findings {
        keys: BTreeSet::new(),
        rows: 0,
        active: 0,
    };
    for line in listed.lines() {
        let finding: serde_json::Value = serde_json::from_str(line).unwrap();
        found.keys.insert((
            finding["platform"].as_str().unwrap().to_string(),
            finding["activity_id"].as_str().unwrap().to_string(),
            finding["rule"].as_str().unwrap().to_string(),
        ));
        found.rows += 1;
        found.active += usize::from(finding["rule_status"] == "active");
    }
    found
}

/// Stops a running `serve` the way an operator does (SIGTERM), and waits for it.
pub async fn stop(mut child: Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    if tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .is_err()
    {
        let _ = child.start_kill();
    }
}

/// A number below `bound`, different each run (for kill moments).
pub fn random_below(bound: u64) -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(bound);
    hasher.finish() % bound
}
