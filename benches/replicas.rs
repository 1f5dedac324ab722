//! Load run: end-to-end ingest with 1, 2 and 3 `netra serve` replicas sharing one PostgreSQL
//! store (issue 10). Reports activities per second; asserts nothing about speed.
//!
//! ```sh
//! url=$(NETRA_PG_DURABLE=1 scripts/postgres-up target/postgres-bench 54330)
//! NETRA_STORE_POSTGRES=$url cargo bench --bench replicas
//! NETRA_BENCH_EMPLOYEES=2000 NETRA_BENCH_REPLICAS="1 3" NETRA_STORE_POSTGRES=$url cargo bench --bench replicas
//! NETRA_BENCH_REPLICAS=1 cargo bench --bench replicas   # one serve on sled, for comparison
//! ```
//!
//! For each replica count: the simulator's population is registered in a fresh store (a fresh
//! schema), the replicas start together, and the clock stops when every registered and watched
//! account has been scanned once; throughput is the activities stored over that time. The
//! simulator runs in this process, the replicas and PostgreSQL in their own, all on this
//! machine's cores.

#[path = "../tests/common/binary.rs"]
mod binary;

use std::time::{Duration, Instant};

use binary::{register, serve, stop};
use netra::simulator::{self, SimConfig};
use netra::store::Store;

/// Accounts scanned at least once, and accounts in all.
fn scanned(store: &Store) -> (usize, usize) {
    let total = store.accounts().unwrap().len() + store.watched_accounts().unwrap().len();
    let done = store
        .scan_states()
        .unwrap()
        .iter()
        .filter(|(_, state)| state.last_scan_at.is_some())
        .count();
    (done, total)
}

async fn round(sim: &simulator::RunningSimulator, replicas: usize) {
    let dir = tempfile::tempdir().unwrap();
    register(dir.path(), sim).await;
    let store = Store::open(&dir.path().join("data"), 16 << 20).unwrap();
    let children: Vec<_> = (0..replicas)
        .map(|_| {
            // Loopback hosts without rate-limit headers (the RSS feeds) would otherwise keep
            // the default budget of 20 requests a minute and pace the whole run.
            serve(dir.path())
                .env("NETRA_SCAN_HOST_BUDGET_PER_MIN", "100000")
                .spawn()
                .expect("serve starts")
        })
        .collect();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(1800);
    loop {
        let (done, total) = scanned(&store);
        if done >= total || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    let activities = store.activity_count().unwrap();
    let findings = store.findings().unwrap().len();
    for child in children {
        stop(child).await;
    }
    println!(
        "replicas {replicas}: {activities} activities, {findings} findings in {:.2} s: {:.0} activities/s",
        elapsed.as_secs_f64(),
        activities as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let on_postgres = std::env::var(netra::store::POSTGRES_FOR_DIRECTORIES).is_ok();
    let employees: usize = std::env::var("NETRA_BENCH_EMPLOYEES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let counts: Vec<usize> = std::env::var("NETRA_BENCH_REPLICAS")
        .unwrap_or_else(|_| "1 2 3".into())
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let sim = simulator::spawn(SimConfig {
        employees,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    for replicas in counts {
        if replicas > 1 && !on_postgres {
            eprintln!("replicas {replicas}: several replicas need NETRA_STORE_POSTGRES; skipped");
            continue;
        }
        round(&sim, replicas).await;
    }
    sim.stop().await.unwrap();
}
