//! The daemon against the simulator over loopback: `scan --once` and `serve` find the same
//! findings, a second pass adds none, and a restart resumes from stored cursors.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use netra::app;
use netra::config::{self, ConfigSource, Loaded};
use netra::daemon::Daemon;
use netra::metrics::Metrics;
use netra::simulator::{self, population_out, RunningSimulator, SimConfig};
use netra::store::Store;

/// The simulator's population registered in a fresh store in `dir`, and the configuration.
async fn setup(sim: &RunningSimulator, dir: &Path) -> (Loaded, Store) {
    let population = sim.state.snapshot();
    population_out::write_all(dir, &population, &sim.base_url).unwrap();
    let mut loaded = config::load(&ConfigSource::File(dir.join("netra.toml")), Vec::new()).unwrap();
    loaded.config.http.listen = "127.0.0.1:0".parse().unwrap();
    let store = Store::open(&loaded.config.store.path, 16 << 20).unwrap();
    let employees = std::fs::read_to_string(dir.join("employees.csv")).unwrap();
    let report =
        netra::registry::import_accounts(&store, &employees, jiff::Timestamp::now()).unwrap();
    assert!(report.errors.is_empty(), "{report}");
    let report = app::import_watched(&loaded, &store, &dir.join("watched.csv")).unwrap();
    assert!(report.errors.is_empty(), "{report}");
    (loaded, store)
}

fn assert_same(
    left: &BTreeSet<(String, String, String)>,
    right: &BTreeSet<(String, String, String)>,
) {
    let only_left: Vec<_> = left.difference(right).take(5).collect();
    let only_right: Vec<_> = right.difference(left).take(5).collect();
    assert!(
        only_left.is_empty() && only_right.is_empty(),
        "{} vs {} findings; only in the first (5): {only_left:#?}; only in the second (5): {only_right:#?}",
        left.len(),
        right.len()
    );
}

/// Findings by their dedupe key.
fn finding_keys(store: &Store) -> BTreeSet<(String, String, String)> {
    store
        .findings()
        .unwrap()
        .into_iter()
        .map(|f| {
            (
                f.platform.to_string(),
                f.platform_activity_id,
                f.detection.rule_id,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_finds_what_scan_once_finds_and_nothing_twice() {
    let sim = simulator::spawn(SimConfig {
        record_requests: true,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let once_dir = tempfile::tempdir().unwrap();
    let (loaded, store) = setup(&sim, once_dir.path()).await;
    let pipeline = app::build_pipeline(&loaded, store.clone(), Metrics::new()).unwrap();
    let daemon = Daemon::new(&loaded.config, pipeline);
    let first = daemon.scan_once(None, false).await.unwrap();
    let accounts = store.accounts().unwrap().len() + store.watched_accounts().unwrap().len();
    assert_eq!(first.accounts_scanned, accounts, "{first}");
    assert_eq!(first.errors, 0, "{first}");
    let once = finding_keys(&store);
    assert!(
        once.len() > 50,
        "the scripted partisan activity is found: {first}"
    );
    assert_eq!(once.len(), first.findings);
    assert!(store.verify_integrity().unwrap().is_empty());

    // A restart (a new daemon on the same store) scans every account again, due or not:
    // nothing new, and every account is read from its stored cursor, not from the start.
    drop(daemon);
    let pipeline = app::build_pipeline(&loaded, store.clone(), Metrics::new()).unwrap();
    let daemon = Daemon::new(&loaded.config, pipeline);
    sim.state.clear_requests();
    let mut again = netra::daemon::Summary::default();
    for account in store.accounts().unwrap() {
        let one = daemon.scan_one(account.id).await.unwrap();
        again.findings += one.findings;
        again.activities += one.activities;
        again.errors += one.errors;
        again.accounts_scanned += one.accounts_scanned;
    }
    assert_eq!((again.activities, again.findings), (0, 0));
    let requests = sim.state.requests();
    let timelines: Vec<&String> = requests
        .iter()
        .filter(|r| r.contains("/api/v1/accounts/") && r.contains("/statuses"))
        .collect();
    assert!(
        !timelines.is_empty(),
        "{} requests, e.g. {:?}; {again:?}",
        requests.len(),
        requests.first()
    );
    assert!(
        timelines.iter().all(|r| r.contains("min_id=")),
        "a Mastodon timeline was read from the start: {:?}",
        timelines.iter().find(|r| !r.contains("min_id="))
    );
    let deeper_pages = requests
        .iter()
        .filter(|r| {
            (r.contains("getAuthorFeed") || r.contains("listRecords")) && r.contains("cursor=")
        })
        .count();
    assert_eq!(
        deeper_pages, 0,
        "Bluesky scans stop at the first item already seen"
    );
    assert_same(&finding_keys(&store), &once);

    // The same population under `serve`, stopped once every account has been scanned.
    let serve_dir = tempfile::tempdir().unwrap();
    let (loaded, store) = setup(&sim, serve_dir.path()).await;
    let metrics = Metrics::new();
    let judge = app::build_judge(&loaded).unwrap();
    let pipeline =
        app::build_pipeline_with(&loaded, store.clone(), metrics.clone(), judge.clone()).unwrap();
    let daemon = Daemon::new(&loaded.config, pipeline);
    let state = app::http_state(&loaded, store.clone(), metrics.clone(), judge).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(app::serve_until(
        daemon,
        state,
        loaded.config.http.listen,
        netra::http::server::Limits::from_config(&loaded.config.http),
        stop_rx,
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let scanned = store
            .scan_states()
            .unwrap()
            .iter()
            .filter(|(_, state)| state.last_success_at.is_some())
            .count();
        if scanned == accounts {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {scanned} of {accounts} accounts scanned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop_tx.send(true).unwrap();
    let summary = running.await.unwrap().unwrap();
    assert_eq!(summary.errors, 0, "{summary}");
    assert_same(&finding_keys(&store), &once);
    assert!(metrics.get("netra_activities_total", &[("platform", "mastodon")]) > 0.0);
    sim.stop().await.unwrap();
}

/// Deactivating an employee takes their accounts off the schedule at the next registry sync,
/// and keeps their history.
#[tokio::test]
async fn a_deactivated_employee_is_no_longer_scanned_but_keeps_history() {
    let loaded = config::load(&ConfigSource::BuiltIn, Vec::new()).unwrap();
    let store = Store::temporary().unwrap();
    let now = jiff::Timestamp::now();
    let csv = "employee_id,name,unit,position,status,platform,handle\n\
        198501012010000001,Satu,kemenkumham/kanwil-sumsel,Analis,pns,bluesky,satu.bsky.social\n\
        198501012010000001,Satu,kemenkumham/kanwil-sumsel,Analis,pns,mastodon,@satu@mastodon.example\n\
        198501012010000002,Dua,kemenkumham/kanwil-sumsel,Analis,pns,bluesky,dua.bsky.social\n";
    let report = netra::registry::import_accounts(&store, csv, now).unwrap();
    assert!(report.errors.is_empty(), "{report}");
    let pipeline = app::build_pipeline(&loaded, store.clone(), Metrics::new()).unwrap();
    let daemon = Daemon::new(&loaded.config, pipeline);
    assert_eq!(daemon.sync_accounts(now).unwrap(), 3);
    store
        .set_employee_active("198501012010000001", false, "test", now)
        .unwrap();
    assert_eq!(
        daemon.sync_accounts(now).unwrap(),
        1,
        "only Dua's account is scanned"
    );
    let kept = store.employee("198501012010000001").unwrap().unwrap();
    assert!(!kept.active);
    assert_eq!(
        store.accounts().unwrap().len(),
        3,
        "accounts stay registered"
    );
    let actions: Vec<String> = store
        .audit_entries(0, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"employee.deactivate".to_string()));
}
