//! Three `netra serve` replicas sharing one PostgreSQL store, against the simulator (issue 10):
//! every due account is scanned by exactly one replica, the findings equal a single replica's
//! with none twice, a replica killed mid-scan has its claims finished by the others once its
//! leases expire, and every alert arrives.
//!
//! Runs when `NETRA_STORE_POSTGRES` names a database (`.ci/run` starts one and runs the whole
//! suite on it); on sled one store belongs to one process, so there is nothing to share.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use common::binary::{findings, register, run_ok, serve, stop};
use netra::simulator::{self, SimConfig};
use tokio::process::Child;

const REPLICAS: usize = 3;
/// Scans one replica runs at once (`scan.max_concurrent_requests`): at most this many of the
/// killed replica's scans can be cut short and done again by another.
const CONCURRENT_SCANS: usize = 4;
const LEASE_SECS: u64 = 4;
const SECRET: &str = "whsec_c2VjcmV0LWZvci10aGUtcmVwbGljYS10ZXN0";

/// Timeline requests per account (a Mastodon account's statuses, a Bluesky author feed): how
/// often each account's posts were read.
fn timeline_reads(requests: &[String]) -> BTreeMap<String, usize> {
    let mut reads = BTreeMap::new();
    for request in requests {
        let (path, query) = request.split_once('?').unwrap_or((request, ""));
        let account = if path.contains("/api/v1/accounts/") && path.ends_with("/statuses") {
            Some(path.to_string())
        } else if path.ends_with("app.bsky.feed.getAuthorFeed") {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("actor="))
                .map(|actor| format!("bluesky:{actor}"))
        } else {
            None
        };
        if let Some(account) = account {
            *reads.entry(account).or_insert(0) += 1;
        }
    }
    reads
}

/// Webhook ids received, in order.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<String>>>);

async fn receive(
    axum::extract::State(received): axum::extract::State<Received>,
    headers: HeaderMap,
) -> StatusCode {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    received.0.lock().unwrap().push(id);
    StatusCode::OK
}

/// Whether the suite runs on PostgreSQL; if not, says why the test is skipped.
fn on_postgres() -> bool {
    match std::env::var(netra::store::POSTGRES_FOR_DIRECTORIES) {
        Ok(url) if netra::store::is_postgres_url(&url) => true,
        _ => {
            eprintln!("skipped: set NETRA_STORE_POSTGRES to run replicas on PostgreSQL");
            false
        }
    }
}

/// Two handles on one store stand for two replicas: a claim held by one is refused to the
/// other until it is finished or its lease runs out, a finished scan is not due again for
/// anyone before its next due time, and a host's budget is one budget for both.
#[test]
fn claims_and_host_budgets_are_shared_between_replicas() {
    if !on_postgres() {
        return;
    }
    use netra::model::AccountId;
    use netra::store::{ScanClaim, Store};
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(&dir.path().join("data"), 8 << 20).unwrap();
    let second = Store::open(&dir.path().join("data"), 8 << 20).unwrap();
    let at = common::at;
    let lease = Duration::from_secs(60);
    let account = AccountId(7);

    assert_eq!(
        first
            .claim_scan(account, "a", at(0), at(0), lease, false)
            .unwrap(),
        ScanClaim::Claimed
    );
    assert_eq!(
        second
            .claim_scan(account, "b", at(0), at(1), lease, false)
            .unwrap(),
        ScanClaim::Leased { until: at(60) }
    );
    first.finish_scan_claim(account, "a", at(300)).unwrap();
    assert_eq!(
        second
            .claim_scan(account, "b", at(0), at(2), lease, false)
            .unwrap(),
        ScanClaim::NotDue { due_at: at(300) }
    );
    // An operator's forced scan goes ahead whatever the due time.
    assert_eq!(
        second
            .claim_scan(account, "b", at(0), at(3), lease, true)
            .unwrap(),
        ScanClaim::Claimed
    );
    assert_eq!(
        first
            .claim_scan(account, "a", at(0), at(10), lease, true)
            .unwrap(),
        ScanClaim::Claimed,
        "forced again: an operator's word beats a lease"
    );
    first.finish_scan_claim(account, "a", at(300)).unwrap();
    assert_eq!(
        second
            .claim_scan(account, "b", at(0), at(301), lease, false)
            .unwrap(),
        ScanClaim::Claimed
    );
    assert_eq!(
        first
            .claim_scan(account, "a", at(0), at(302), lease, false)
            .unwrap(),
        ScanClaim::Leased { until: at(361) }
    );
    // b died without finishing: after its lease, a takes over the scan, still due.
    assert_eq!(
        first
            .claim_scan(account, "a", at(0), at(361), lease, false)
            .unwrap(),
        ScanClaim::Claimed
    );

    // Three requests a minute between both: the fourth waits for the refill.
    let host = "mastodon.example";
    assert!(first.take_host_token(host, 3.0, at(1000)).unwrap());
    assert!(second.take_host_token(host, 3.0, at(1000)).unwrap());
    assert!(first.take_host_token(host, 3.0, at(1000)).unwrap());
    assert!(!second.take_host_token(host, 3.0, at(1000)).unwrap());
    assert!(!first.take_host_token(host, 3.0, at(1010)).unwrap());
    assert!(second.take_host_token(host, 3.0, at(1020)).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_scans_and_finish_a_killed_ones_work() {
    if !on_postgres() {
        return;
    }
    let sim = simulator::spawn(SimConfig {
        employees: 150,
        record_requests: true,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");

    // The reference: one process, one pass.
    let single = tempfile::tempdir().unwrap();
    register(single.path(), &sim).await;
    run_ok(single.path(), &["scan", "--once"]).await;
    let reference = findings(single.path()).await.keys;
    let reference_reads = timeline_reads(&sim.state.requests());
    assert!(reference.len() > 10, "the population has partisan activity");

    // Three replicas on one store, with an alert endpoint.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let received = Received::default();
    let app = axum::Router::new()
        .fallback(receive)
        .with_state(received.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let shared = tempfile::tempdir().unwrap();
    register(shared.path(), &sim).await;
    let mut config = std::fs::read_to_string(shared.path().join("netra.toml")).unwrap();
    config.push_str(&format!(
        "\n[alerts]\npublic_url = \"http://netra.test\"\n\n[[alerts.endpoints]]\n\
         name = \"replicas\"\nurl = \"http://{address}/hook\"\nsecret = \"{SECRET}\"\n\
         min_severity = \"low\"\nallow_private_address = true\n"
    ));
    std::fs::write(shared.path().join("netra.toml"), config).unwrap();
    sim.state.clear_requests();

    let mut replicas: Vec<Child> = (0..REPLICAS)
        .map(|_| {
            serve(shared.path())
                .env("NETRA_SCAN_LEASE_SECS", LEASE_SECS.to_string())
                .env(
                    "NETRA_SCAN_MAX_CONCURRENT_REQUESTS",
                    CONCURRENT_SCANS.to_string(),
                )
                .spawn()
                .expect("serve starts")
        })
        .collect();
    // Kill one replica while it scans: as soon as the simulator has seen some reads.
    let started = Instant::now();
    while sim.state.requests().len() < 20 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut killed = replicas.remove(0);
    killed.start_kill().expect("SIGKILL delivered");
    killed.wait().await.unwrap();

    // The survivors finish everything, the killed replica's claims after their leases end.
    let deadline = Instant::now() + Duration::from_secs(180);
    let found = loop {
        let found = findings(shared.path()).await;
        let reads = timeline_reads(&sim.state.requests());
        let all_read = reference_reads
            .keys()
            .all(|account| reads.contains_key(account));
        if (found.keys == reference && all_read) || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    // Alerts of the last findings may still be on their way.
    let alert_deadline = Instant::now() + Duration::from_secs(60);
    let (keys, rows, active) = (found.keys, found.rows, found.active);
    while received.0.lock().unwrap().len() < active && Instant::now() < alert_deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for replica in replicas {
        stop(replica).await;
    }

    assert_eq!(rows, keys.len(), "no finding stored twice");
    let missing: Vec<_> = reference.difference(&keys).take(5).collect();
    let extra: Vec<_> = keys.difference(&reference).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "replicas vs one process: missing {missing:#?}; extra {extra:#?}"
    );

    // One replica per account: every account's timeline read as often as by one process,
    // except the scans the killed replica had in flight, which another replica did again.
    let reads = timeline_reads(&sim.state.requests());
    assert_eq!(
        reads.keys().collect::<Vec<_>>(),
        reference_reads.keys().collect::<Vec<_>>(),
        "the replicas read exactly the accounts one process reads"
    );
    let read_again: Vec<&String> = reads
        .iter()
        .filter(|(account, n)| **n > reference_reads[*account])
        .map(|(account, _)| account)
        .collect();
    eprintln!(
        "{} accounts, {} findings, {} alerts; read again after the kill: {read_again:?}",
        reads.len(),
        keys.len(),
        received.0.lock().unwrap().len()
    );
    assert!(
        read_again.len() <= CONCURRENT_SCANS,
        "only the killed replica's scans in flight are done twice, not {} accounts, e.g. {:?}",
        read_again.len(),
        &read_again[..read_again.len().min(5)]
    );

    // Every finding's alert arrived (at least once), under ids that stayed the same.
    let ids = received.0.lock().unwrap().clone();
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert!(active > 0);
    assert_eq!(
        distinct.len(),
        active,
        "one webhook-id per finding of an active rule, every one delivered"
    );
    assert!(distinct.iter().all(|id| id.starts_with("msg_netra_")));

    run_ok(shared.path(), &["audit", "verify"]).await;
    sim.stop().await.unwrap();
}
