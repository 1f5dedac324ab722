//! Load run: the findings list API over loopback HTTP with one million stored findings.
//! Reports figures; asserts nothing about speed.
//!
//! ```sh
//! scripts/load-api                                 # installs oha if needed, then this bench
//! NETRA_LOAD_STORE=/var/tmp/netra-load scripts/load-api   # keep the seeded store for re-runs
//! ```
//!
//! The bench seeds a store (1,000,000 findings over 10,000 employees in 20 units, in batches of
//! 5,000 records per `Store::ingest`), adds an admin (scope `/`) and a reviewer bound to one
//! unit with API tokens, serves the real router with `http::server::serve` on 127.0.0.1, and
//! drives it from a separate process, `oha` (path in `NETRA_OHA`), at a fixed rate with
//! latency correction (no coordinated omission). Then it prints one table and stops the server.
//!
//! Environment: `NETRA_LOAD_STORE` (a directory: the store is kept there and reused when it
//! already holds the findings), `NETRA_LOAD_FINDINGS` (1000000), `NETRA_LOAD_SECONDS` (30),
//! `NETRA_LOAD_RATE` (200), `NETRA_LOAD_RUNS` (comma-separated run names; all by default).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use netra::access::{new_token_secret, token_digest, Role, Scope};
use netra::http::{self, auth::RateLimiter, server::Limits, AppState};
use netra::metrics::Metrics;
use netra::model::{
    AccountId, Activity, ActivityKind, Category, Detection, Employee, EmploymentStatus, Platform,
    RuleStatus, Severity, Span, SpanField, Target, UnitPath,
};
use netra::store::{ActivityRecord, Ingest, NewUser, Store};
use serde_json::Value;

const EMPLOYEES: u64 = 10_000;
const BATCH: usize = 5_000;
/// Provinces × offices: 5 × 4 = 20 leaf units, three levels deep.
const PROVINCES: [&str; 5] = ["sumsel", "dki", "jateng", "jatim", "sulsel"];
const OFFICES: [&str; 4] = ["kantor-wilayah", "lapas-kelas-i", "rutan", "imigrasi"];
const REVIEWER_UNIT: &str = "kemenkumham/kanwil-sumsel/lapas-kelas-i";
const SEED_MARKER: &str = "seeded.json";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn unit_of(n: u64) -> UnitPath {
    let unit = (n % 20) as usize;
    UnitPath::parse(&format!(
        "kemenkumham/kanwil-{}/{}",
        PROVINCES[unit / 4],
        OFFICES[unit % 4]
    ))
    .expect("valid unit")
}

fn nip(n: u64) -> String {
    format!("{}", 198_501_012_010_000_000u64 + n)
}

/// The rules a finding can come from: id, category, severity, entities, reason, span text.
struct Rule {
    id: &'static str,
    category: Category,
    severity: Severity,
    entities: &'static [&'static str],
    reason: &'static str,
    span: &'static str,
}

const RULES: [Rule; 12] = [
    Rule {
        id: "ajakan-coblos-paslon",
        category: Category::InviteToVote,
        severity: Severity::High,
        entities: &["pilpres2024:02"],
        reason: "Mengajak memilih paslon 02",
        span: "coblos nomor 02",
    },
    Rule {
        id: "dukungan-paslon-01",
        category: Category::SupportPost,
        severity: Severity::Medium,
        entities: &["pilpres2024:01"],
        reason: "Menyatakan dukungan kepada paslon 01",
        span: "AMIN menang",
    },
    Rule {
        id: "dukungan-paslon-03",
        category: Category::SupportPost,
        severity: Severity::Medium,
        entities: &["pilpres2024:03"],
        reason: "Menyatakan dukungan kepada paslon 03",
        span: "Ganjar-Mahfud",
    },
    Rule {
        id: "kampanye-negatif",
        category: Category::NegativeCampaign,
        severity: Severity::High,
        entities: &["pilpres2024:01", "pilpres2024:02"],
        reason: "Menyerang peserta pemilu lain",
        span: "jangan pilih",
    },
    Rule {
        id: "bagikan-materi-kampanye",
        category: Category::ShareCampaign,
        severity: Severity::Medium,
        entities: &["pilpres2024:02"],
        reason: "Membagikan ulang materi kampanye",
        span: "repost",
    },
    Rule {
        id: "komentar-dukungan",
        category: Category::SupportComment,
        severity: Severity::Low,
        entities: &["pilpres2024:03"],
        reason: "Berkomentar mendukung di unggahan kandidat",
        span: "mantap pak",
    },
    Rule {
        id: "suka-unggahan-kandidat",
        category: Category::LikeCandidate,
        severity: Severity::Low,
        entities: &["pilpres2024:01"],
        reason: "Menyukai unggahan akun kampanye",
        span: "suka",
    },
    Rule {
        id: "simbol-jari",
        category: Category::HandSign,
        severity: Severity::Medium,
        entities: &["pilpres2024:02"],
        reason: "Emoji simbol jari nomor urut",
        span: "✌️",
    },
    Rule {
        id: "atribut-partai",
        category: Category::PartyAttribute,
        severity: Severity::Medium,
        entities: &["partai:gerindra", "partai:pdip"],
        reason: "Menampilkan atribut partai politik",
        span: "kaos partai",
    },
    Rule {
        id: "foto-bersama-kandidat",
        category: Category::PhotoWithCandidate,
        severity: Severity::High,
        entities: &["pilkada2024:jateng:1"],
        reason: "Berfoto bersama calon kepala daerah",
        span: "bersama bapak calon",
    },
    Rule {
        id: "ikuti-akun-tim-kampanye",
        category: Category::FollowCampaignAccount,
        severity: Severity::Low,
        entities: &["pilpres2024:03"],
        reason: "Mengikuti akun resmi tim kampanye",
        span: "@timkampanye",
    },
    Rule {
        id: "keanggotaan-partai",
        category: Category::PartyMembership,
        severity: Severity::High,
        entities: &["partai:golkar"],
        reason: "Mengaku anggota partai politik",
        span: "kader partai",
    },
];

/// A cheap, repeatable mix so figures do not depend on a random seed.
fn mix(n: u64) -> u64 {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 32)
}

fn detection(rule: &Rule, n: u64) -> Detection {
    Detection {
        rule_id: rule.id.into(),
        category: rule.category,
        severity: rule.severity,
        // One finding in twenty comes from a rule still in shadow mode.
        status: if mix(n) % 20 == 0 {
            RuleStatus::Shadow
        } else {
            RuleStatus::Active
        },
        score: 0.6 + (mix(n) % 40) as f32 / 100.0,
        entities: rule.entities.iter().map(|e| e.to_string()).collect(),
        spans: vec![Span {
            field: SpanField::Text,
            start: 0,
            end: rule.span.len(),
            text: rule.span.into(),
        }],
        reason: rule.reason.into(),
    }
}

fn record(n: u64, base: Timestamp, detections: usize) -> ActivityRecord {
    let employee = mix(n) % EMPLOYEES;
    let kinds = [
        ActivityKind::Post,
        ActivityKind::Reply,
        ActivityKind::Repost,
        ActivityKind::Like,
        ActivityKind::Quote,
    ];
    let kind = kinds[(n % 5) as usize];
    let occurred_at = base + SignedDuration::from_secs(n as i64 * 15);
    let first = (mix(n + 7) % RULES.len() as u64) as usize;
    let detections = (0..detections)
        .map(|i| detection(&RULES[(first + i * 5) % RULES.len()], n * 2 + i as u64))
        .collect();
    ActivityRecord {
        activity: Activity {
            platform: Platform::Mastodon,
            platform_activity_id: format!("{}", 113_000_000_000_000_000u64 + n),
            kind,
            account_id: AccountId(employee + 1),
            actor_handle: format!("@pegawai{employee}@instansi.example"),
            text: format!(
                "Ayo coblos nomor 02 ✌️ demi Indonesia maju, kiriman ke-{n} dari pegawai {employee}"
            ),
            target: matches!(kind, ActivityKind::Like | ActivityKind::Repost).then(|| Target {
                author: "@prabowo".into(),
                author_platform_id: Some("109".into()),
                text: "Terima kasih relawan".into(),
                url: Some("https://mastodon.example/@prabowo/1".into()),
            }),
            url: Some(format!("https://instansi.example/@pegawai{employee}/{n}")),
            occurred_at,
            time_exact: true,
            observed_at: occurred_at + SignedDuration::from_secs(90),
            evidence: None,
        },
        employee_id: nip(employee),
        detections,
    }
}

/// Registers the employees and ingests `target` findings. Returns seconds taken.
fn seed(store: &Store, target: u64) -> f64 {
    let started = Instant::now();
    let now = Timestamp::now();
    let rows: Vec<(Employee, Platform, String)> = (0..EMPLOYEES)
        .map(|n| {
            (
                Employee {
                    employee_id: nip(n),
                    name: format!("Pegawai {n}"),
                    unit: unit_of(n),
                    position: ["Analis", "Penjaga Tahanan", "Pengadministrasi"][(n % 3) as usize]
                        .into(),
                    status: EmploymentStatus::Pns,
                    active: true,
                    registered_at: now,
                },
                Platform::Mastodon,
                format!("@pegawai{n}@instansi.example"),
            )
        })
        .collect();
    for outcome in store.upsert_employees_with_accounts(&rows, now).unwrap() {
        outcome.unwrap();
    }
    println!(
        "seed: {EMPLOYEES} employees in 20 units in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Spread over the last ~half year: each batch is "now" for its findings.
    let base = now - SignedDuration::from_hours(24 * 180);
    let mut findings = 0u64;
    let mut n = 0u64;
    let mut batch_no = 0i64;
    let ingest_started = Instant::now();
    while findings < target {
        let mut batch = Vec::with_capacity(BATCH);
        let mut in_batch = 0u64;
        while batch.len() < BATCH && findings + in_batch < target {
            // One activity in four trips two rules.
            let want = if n % 4 == 0 && findings + in_batch + 2 <= target {
                2
            } else {
                1
            };
            batch.push(record(n, base, want));
            in_batch += want as u64;
            n += 1;
        }
        let at = base + SignedDuration::from_mins(batch_no * 20);
        let outcome = store
            .ingest(
                Ingest {
                    records: &batch,
                    ..Ingest::default()
                },
                at,
            )
            .unwrap();
        findings += outcome.new_findings.len() as u64;
        batch_no += 1;
        if batch_no % 20 == 0 {
            let seconds = ingest_started.elapsed().as_secs_f64();
            println!(
                "seed: {findings} findings, {:.0} findings/s",
                findings as f64 / seconds
            );
        }
    }
    let seconds = ingest_started.elapsed().as_secs_f64();
    println!(
        "seed: {findings} findings from {n} activities in {seconds:.1} s = {:.0} findings/s \
         ({BATCH} activities per ingest call)",
        findings as f64 / seconds
    );
    started.elapsed().as_secs_f64()
}

/// A user by name, created if missing, with a fresh token.
fn user_with_token(store: &Store, name: &str, role: Role, scope: Scope) -> String {
    let now = Timestamp::now();
    let user = match store.user_by_name(name).unwrap() {
        Some(user) => user,
        None => store
            .add_user(
                NewUser {
                    name: name.into(),
                    role,
                    scope,
                    senior: false,
                    employee_id: None,
                },
                "system:load",
                now,
            )
            .unwrap(),
    };
    let secret = new_token_secret().unwrap();
    store
        .add_token(user.id, &token_digest(&secret), "system:load", now)
        .unwrap();
    secret
}

struct Run {
    name: &'static str,
    what: String,
    figures: Option<Figures>,
}

struct Figures {
    rate_asked: Option<u32>,
    requests: u64,
    achieved: f64,
    errors: u64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

fn millis(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN) * 1000.0
}

/// Runs oha once and reads its JSON summary.
fn oha(oha: &Path, args: &[String], rate: Option<u32>) -> Option<Figures> {
    let output = Command::new(oha)
        // Requests still open at the deadline are waited for, not counted as errors.
        .args(["--no-tui", "--output-format", "json", "-w"])
        .args(args)
        .output()
        .expect("oha runs");
    if !output.status.success() {
        eprintln!(
            "oha failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let report: Value = match serde_json::from_slice(&output.stdout) {
        Ok(report) => report,
        Err(error) => {
            eprintln!(
                "oha's output is not JSON ({error}): {}",
                String::from_utf8_lossy(&output.stdout)
            );
            return None;
        }
    };
    let statuses = report["statusCodeDistribution"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut ok = 0u64;
    let mut bad = 0u64;
    for (code, count) in &statuses {
        let count = count.as_u64().unwrap_or(0);
        if code.starts_with('2') {
            ok += count;
        } else {
            bad += count;
            eprintln!("  status {code}: {count}");
        }
    }
    let transport: u64 = report["errorDistribution"]
        .as_object()
        .map(|errors| {
            for (error, count) in errors {
                eprintln!("  error {error}: {count}");
            }
            errors.values().filter_map(Value::as_u64).sum()
        })
        .unwrap_or(0);
    let summary = &report["summary"];
    let percentiles = &report["latencyPercentiles"];
    let seconds = summary["total"].as_f64().unwrap_or(f64::NAN);
    Some(Figures {
        rate_asked: rate,
        requests: ok + bad,
        achieved: (ok + bad) as f64 / seconds,
        errors: bad + transport,
        p50: millis(&percentiles["p50"]),
        p90: millis(&percentiles["p90"]),
        p99: millis(&percentiles["p99"]),
        max: millis(&summary["slowest"]),
    })
}

fn print_table(runs: &[Run]) {
    println!();
    println!(
        "| run | request | asked req/s | achieved req/s | requests | errors | p50 ms | p90 ms | p99 ms | max ms |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for run in runs {
        match &run.figures {
            Some(f) => println!(
                "| {} | `{}` | {} | {:.1} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                run.name,
                run.what,
                f.rate_asked
                    .map_or("unbounded".to_string(), |r| r.to_string()),
                f.achieved,
                f.requests,
                f.errors,
                f.p50,
                f.p90,
                f.p99,
                f.max
            ),
            None => println!("| {} | `{}` | failed | | | | | | | |", run.name, run.what),
        }
    }
}

fn store_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("NETRA_LOAD_STORE") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).unwrap();
            (None, dir)
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("netra-load-")
                .tempdir_in(std::env::var_os("TMPDIR").unwrap_or_else(|| "/var/tmp".into()))
                .unwrap();
            let path = temp.path().to_path_buf();
            (Some(temp), path)
        }
    }
}

fn main() {
    // `cargo test --benches` runs benches with --bench absent; keep that cheap.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let oha_path = PathBuf::from(std::env::var_os("NETRA_OHA").unwrap_or_else(|| "oha".into()));
    let target: u64 = env_or("NETRA_LOAD_FINDINGS", 1_000_000);
    let seconds: u32 = env_or("NETRA_LOAD_SECONDS", 30);
    let rate: u32 = env_or("NETRA_LOAD_RATE", 200);
    let only: Option<Vec<String>> = std::env::var("NETRA_LOAD_RUNS")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());

    let (_temp, dir) = store_dir();
    let marker = dir.join(SEED_MARKER);
    let store = Store::open(&dir.join("store"), 64 << 20).unwrap();
    let seeded: u64 = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if seeded == target {
        println!("seed: reusing {target} findings in {}", dir.display());
    } else {
        assert_eq!(
            seeded,
            0,
            "{} holds {seeded} findings, not {target}: use an empty NETRA_LOAD_STORE",
            dir.display()
        );
        seed(&store, target);
        std::fs::write(&marker, target.to_string()).unwrap();
    }
    println!(
        "store: {:.0} MiB on disk at {}",
        store.size_on_disk().unwrap() as f64 / (1 << 20) as f64,
        dir.display()
    );
    let admin = user_with_token(&store, "load-admin", Role::Admin, Scope::All);
    let reviewer = user_with_token(
        &store,
        "load-reviewer",
        Role::Reviewer,
        Scope::Unit(UnitPath::parse(REVIEWER_UNIT).unwrap()),
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut state = AppState::new(store.clone(), Metrics::new()).unwrap();
    // The production limit (1,200 requests a minute per token) would answer 429 to a single
    // token at 200 req/s: the run measures the list, not the limiter.
    state.limiter = Arc::new(RateLimiter::new(u32::MAX));
    let app = http::router(state);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = runtime.spawn(http::server::serve(
        listener,
        app,
        Limits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain: Duration::from_secs(5),
        },
        stopped,
    ));

    let bearer = |token: &str| format!("Authorization: Bearer {token}");
    let fixed = |url: String, token: &str| -> Vec<String> {
        vec![
            "-z".into(),
            format!("{seconds}s"),
            "-q".into(),
            rate.to_string(),
            "--latency-correction".into(),
            "-c".into(),
            "50".into(),
            "-H".into(),
            bearer(token),
            url,
        ]
    };
    let plans: Vec<(&'static str, String, Vec<String>, Option<u32>)> = vec![
        (
            "admin-list",
            "GET /api/v1/findings?limit=50 (admin)".into(),
            fixed(format!("{base}/api/v1/findings?limit=50"), &admin),
            Some(rate),
        ),
        (
            "reviewer-new",
            format!("GET /api/v1/findings?status=new (reviewer of {REVIEWER_UNIT})"),
            fixed(format!("{base}/api/v1/findings?status=new"), &reviewer),
            Some(rate),
        ),
        (
            "admin-unit-new",
            "GET /api/v1/findings?status=new&unit=kemenkumham/kanwil-jateng/rutan (admin)".into(),
            fixed(
                format!("{base}/api/v1/findings?status=new&unit=kemenkumham/kanwil-jateng/rutan"),
                &admin,
            ),
            Some(rate),
        ),
        (
            "admin-high",
            "GET /api/v1/findings?severity=high&limit=100 (admin)".into(),
            fixed(
                format!("{base}/api/v1/findings?severity=high&limit=100"),
                &admin,
            ),
            Some(rate),
        ),
        (
            "admin-item",
            "GET /api/v1/findings/{random id} (admin; audited: write + fsync)".into(),
            {
                let mut args = fixed(String::new(), &admin);
                args.pop();
                args.push("--rand-regex-url".into());
                args.push(format!("{base}/api/v1/findings/[1-9][0-9]{{0,5}}"));
                args
            },
            Some(rate),
        ),
        (
            "admin-list-max",
            "GET /api/v1/findings?limit=50 (admin), 32 connections, no rate".into(),
            vec![
                "-z".into(),
                "20s".into(),
                "-c".into(),
                "32".into(),
                "-H".into(),
                bearer(&admin),
                format!("{base}/api/v1/findings?limit=50"),
            ],
            None,
        ),
    ];
    let mut runs = Vec::new();
    for (name, what, args, asked) in plans {
        if only
            .as_ref()
            .is_some_and(|only| !only.iter().any(|o| o == name))
        {
            continue;
        }
        println!("run: {name}: {what}");
        let figures = oha(&oha_path, &args, asked);
        if let Some(f) = &figures {
            println!(
                "run: {name}: {:.1} req/s, p50 {:.1} ms, p99 {:.1} ms, {} errors",
                f.achieved, f.p50, f.p99, f.errors
            );
        }
        runs.push(Run {
            name,
            what,
            figures,
        });
    }
    print_table(&runs);
    stop.send(true).unwrap();
    runtime.block_on(server).unwrap().unwrap();
}
