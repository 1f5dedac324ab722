//! Load run: end-to-end ingest from the simulator over loopback HTTP, and the daemon's idle
//! cost with many registered accounts. Reports figures; asserts nothing about speed.
//!
//! ```sh
//! cargo bench --bench ingest                      # both parts
//! NETRA_BENCH_EMPLOYEES=3000 cargo bench --bench ingest
//! ```
//!
//! Part 1 registers the simulator's population, runs one `scan --once` pass (every account's
//! history read back, judged, stored with its evidence and cursor, flushed per account) and
//! reports activities per second. Part 2 registers 100,000 accounts that are not due, starts
//! the scheduler loop, and reports resident memory and CPU time per minute while idle.

use std::time::{Duration, Instant};

use netra::app;
use netra::config::{self, ConfigSource};
use netra::daemon::Daemon;
use netra::metrics::Metrics;
use netra::model::ScanState;
use netra::simulator::{self, population_out, SimConfig};
use netra::store::Store;

fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

async fn ingest(employees: usize) {
    let sim = simulator::spawn(SimConfig {
        employees,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().unwrap();
    population_out::write_all(dir.path(), &sim.state.snapshot(), &sim.base_url).unwrap();
    let loaded = config::load(
        &ConfigSource::File(dir.path().join("netra.toml")),
        Vec::new(),
    )
    .unwrap();
    let store = Store::open(&loaded.config.store.path, 64 << 20).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("employees.csv")).unwrap();
    netra::registry::import_accounts(&store, &csv, jiff::Timestamp::now()).unwrap();
    app::import_watched(&loaded, &store, &dir.path().join("watched.csv")).unwrap();
    let pipeline = app::build_pipeline(&loaded, store.clone(), Metrics::new()).unwrap();
    let daemon = Daemon::new(&loaded.config, pipeline);
    let started = Instant::now();
    let summary = daemon.scan_once(None).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "ingest: {employees} employees, {} accounts, {} activities, {} findings in {seconds:.2} s \
         = {:.0} activities/s ({} errors)",
        summary.accounts_scanned,
        summary.activities,
        summary.findings,
        summary.activities as f64 / seconds,
        summary.errors
    );
    sim.stop().await.unwrap();
}

async fn idle(accounts: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut loaded = config::load(&ConfigSource::BuiltIn, Vec::new()).unwrap();
    loaded.config.store.path = dir.path().join("data");
    let store = Store::open(
        &loaded.config.store.path,
        loaded.config.store.cache_capacity_bytes,
    )
    .unwrap();
    let mut csv = String::from("employee_id,name,unit,position,status,platform,handle\n");
    for n in 0..accounts {
        csv.push_str(&format!(
            "{:018},Pegawai {n},kemenkumham/kanwil-{}/unit-{},Staf,pns,mastodon,@p{n}@instansi{}.example\n",
            198_001_012_010_000_000u64 + n as u64,
            ["dki", "jateng", "sumsel", "jabar"][n % 4],
            n % 50,
            n % 20
        ));
    }
    netra::registry::import_accounts(&store, &csv, jiff::Timestamp::now()).unwrap();
    // Nothing is due for a day: the daemon only keeps its queue.
    let later = jiff::Timestamp::now() + Duration::from_secs(86_400);
    let states: Vec<_> = store
        .accounts()
        .unwrap()
        .into_iter()
        .map(|account| {
            let mut state = ScanState::new(later);
            state.last_scan_at = Some(jiff::Timestamp::now());
            (account.id, state)
        })
        .collect();
    store.put_scan_states(&states).unwrap();
    let pipeline = app::build_pipeline(&loaded, store.clone(), Metrics::new()).unwrap();
    let daemon = Daemon::new(&loaded.config, pipeline);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let before = resident_mib();
    let running = tokio::spawn(async move { daemon.run(stop_rx).await });
    tokio::time::sleep(Duration::from_secs(5)).await;
    let cpu_start = cpu_seconds();
    let window = Duration::from_secs(60);
    tokio::time::sleep(window).await;
    let cpu = cpu_seconds() - cpu_start;
    let resident = resident_mib();
    stop_tx.send(true).unwrap();
    running.await.unwrap().unwrap();
    println!(
        "idle serve loop: {accounts} accounts scheduled; resident {resident:.0} MiB (process, \
         {before:.0} MiB before the loop); CPU {cpu:.2} s per minute"
    );
}

fn main() {
    // `cargo test --benches` runs benches with --bench absent; keep that cheap.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let employees: usize = std::env::var("NETRA_BENCH_EMPLOYEES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(ingest(employees));
    runtime.block_on(idle(100_000));
}
