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
//! the real `netra serve` on them, and reports its resident memory and CPU time per minute
//! while idle, read from /proc.

use std::time::{Duration, Instant};

use netra::app;
use netra::config::{self, ConfigSource};
use netra::daemon::Daemon;
use netra::metrics::Metrics;
use netra::model::ScanState;
use netra::simulator::{self, population_out, SimConfig};
use netra::store::Store;

async fn ingest(employees: usize) {
    let sim = simulator::spawn(SimConfig {
        employees,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().unwrap();
    population_out::write_all(dir.path(), &sim.state.snapshot(), &sim.base_url).unwrap();
    // NETRA_SCAN_* variables tune the run (e.g. NETRA_SCAN_MAX_CONCURRENT_PER_HOST=8).
    let overrides: Vec<(String, String)> = std::env::vars()
        .filter(|(key, _)| key.starts_with("NETRA_SCAN_"))
        .collect();
    let loaded = config::load(
        &ConfigSource::File(dir.path().join("netra.toml")),
        overrides,
    )
    .unwrap();
    let store = Store::open(&loaded.config.store.path, 64 << 20).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("employees.csv")).unwrap();
    netra::registry::import_accounts(&store, &csv, jiff::Timestamp::now()).unwrap();
    app::import_watched(&loaded, &store, &dir.path().join("watched.csv")).unwrap();
    let pipeline = app::build_pipeline(&loaded, store.clone(), Metrics::new()).unwrap();
    let daemon = Daemon::new(&loaded.config, pipeline);
    let cpu_before = process_cpu_seconds(std::process::id());
    let started = Instant::now();
    let summary = daemon.scan_once(None, false).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    // the simulator runs in this process too, so this is Netra and the simulator together
    let cpu = process_cpu_seconds(std::process::id()) - cpu_before;
    println!(
        "ingest: {employees} employees, {} accounts, {} activities, {} findings in {seconds:.2} s \
         = {:.0} activities/s ({} errors); CPU {cpu:.2} s = {:.0} µs per activity",
        summary.accounts_scanned,
        summary.activities,
        summary.findings,
        summary.activities as f64 / seconds,
        summary.errors,
        cpu * 1e6 / summary.activities.max(1) as f64
    );
    sim.stop().await.unwrap();
}

/// Resident memory and CPU ticks of another process, from /proc.
fn process_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn process_cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
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

/// A store with `accounts` registered accounts, none due for a day; then the real `netra
/// serve` on it, measured from outside.
fn idle(accounts: usize) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let store = Store::open(&data, 64 << 20).unwrap();
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
    }
    std::thread::sleep(Duration::from_secs(1));
    let root = env!("CARGO_MANIFEST_DIR");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_netra"))
        .arg("serve")
        .env("NETRA_STORE_PATH", &data)
        .env("NETRA_HTTP_LISTEN", "127.0.0.1:0")
        .env("NETRA_DETECT_WORDLISTS_DIR", format!("{root}/wordlists"))
        .env(
            "NETRA_DETECT_RULES_FILE",
            format!("{root}/config/rules.toml"),
        )
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("netra serve starts");
    let pid = child.id();
    std::thread::sleep(Duration::from_secs(20));
    let cpu_start = process_cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(60));
    let cpu = process_cpu_seconds(pid) - cpu_start;
    let resident = process_rss_mib(pid);
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    let _ = child.wait();
    println!(
        "idle serve: {accounts} registered accounts, none due; resident {resident:.0} MiB after \
         20 s; CPU {cpu:.2} s over the next minute"
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
    drop(runtime);
    idle(100_000);
}
