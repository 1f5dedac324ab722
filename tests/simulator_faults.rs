//! Hostile upstreams on demand: each fault kind is produced for its chosen account on every
//! endpoint touching it, and not for the others; per-client budgets run out into the platform's
//! 429; `--population-out` writes files Netra's registry and config loader accept; the
//! `simulate` command prints its address and refuses a bad fault spec naming the bad part.

use std::io::Read;
use std::time::{Duration, Instant};

use netra::model::Platform;
use netra::simulator::population_out::{self, EMPLOYEES_HEADER, WATCHED_HEADER};
use netra::simulator::{self, FaultSettings, Population, RateBudget, SimConfig, SimError};
use tokio::io::AsyncBufReadExt;

const SEED: u64 = 41;

/// Handles of the first `n` employee accounts on `platform`.
fn employee_handles(pop: &Population, platform: Platform, n: usize) -> Vec<String> {
    pop.employee_accounts()
        .filter(|a| a.platform == platform)
        .take(n)
        .map(|a| a.handle.clone())
        .collect()
}

struct Urls {
    base: String,
}

impl Urls {
    /// Endpoints touching a Mastodon account `@user@domain`.
    fn mastodon(&self, pop: &Population, handle: &str) -> Vec<String> {
        let a = &pop.accounts[pop.find_account(handle).expect("account")];
        let base = format!("{}/mastodon/{}", self.base, a.domain);
        let status = pop.index.by_actor[a.index]
            .iter()
            .map(|&i| &pop.activities[i])
            .find(|x| x.is_mastodon_status())
            .expect("a status");
        vec![
            format!("{base}/api/v1/accounts/lookup?acct={}", a.username),
            format!("{base}/api/v1/accounts/{}", a.platform_id),
            format!("{base}/api/v1/accounts/{}/statuses?limit=5", a.platform_id),
            format!("{base}/api/v1/statuses/{}", status.id),
            format!("{base}/api/v1/statuses/{}/favourited_by", status.id),
            format!("{base}/api/v1/statuses/{}/context", status.id),
        ]
    }

    /// Endpoints touching a Bluesky account.
    fn bluesky(&self, pop: &Population, handle: &str) -> Vec<String> {
        let a = &pop.accounts[pop.find_account(handle).expect("account")];
        let appview = format!("{}/bluesky/appview/xrpc", self.base);
        vec![
            format!("{appview}/com.atproto.identity.resolveHandle?handle={}", a.username),
            format!("{appview}/app.bsky.actor.getProfile?actor={}", a.username),
            format!("{appview}/app.bsky.feed.getAuthorFeed?actor={}", a.platform_id),
            format!("{}/bluesky/pds/xrpc/com.atproto.repo.listRecords?repo={}&collection=app.bsky.feed.like", self.base, a.platform_id),
        ]
    }
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .no_gzip()
        .build()
        .expect("client")
}

#[tokio::test]
async fn each_fault_hits_its_account_and_no_other() {
    let pop = Population::generate(SEED);
    let masto = employee_handles(&pop, Platform::Mastodon, 5);
    let bsky = employee_handles(&pop, Platform::Bluesky, 5);
    let spec = format!(
        "rate_limit={},{} ; server_error={};garbage={};html={};huge={};slow={};redirect_loop={}",
        masto[0], bsky[0], masto[1], bsky[1], masto[2], bsky[2], masto[3], bsky[3]
    );
    let huge_bytes = 3 * 1024 * 1024;
    let config = SimConfig {
        seed: SEED,
        faults: spec.parse().expect("spec parses"),
        fault_settings: FaultSettings {
            huge_body_bytes: huge_bytes,
            slow_interval: Duration::from_millis(300),
            ..FaultSettings::default()
        },
        ..SimConfig::default()
    };
    let sim = simulator::spawn(config).await.expect("starts");
    let urls = Urls {
        base: sim.base_url.clone(),
    };
    let http = plain_client();

    // rate_limit: Mastodon's 429 (no Retry-After) and the XRPC one (with Retry-After).
    for url in urls.mastodon(&pop, &masto[0]) {
        let r = http.get(&url).send().await.expect("get");
        assert_eq!(r.status().as_u16(), 429, "{url}");
        assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
        assert!(r.headers().contains_key("x-ratelimit-reset"));
        assert!(!r.headers().contains_key("retry-after"));
        assert_eq!(
            r.text().await.expect("body"),
            r#"{"error":"Too many requests"}"#
        );
    }
    for url in urls.bluesky(&pop, &bsky[0]) {
        let r = http.get(&url).send().await.expect("get");
        assert_eq!(r.status().as_u16(), 429, "{url}");
        assert_eq!(r.headers()["ratelimit-remaining"], "0");
        assert!(r.headers().contains_key("ratelimit-policy"));
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap_or_default()
            .parse()
            .expect("seconds");
        assert!(retry <= 2, "a storm resets soon: {retry}");
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(body["error"], "RateLimitExceeded");
    }
    let did = &pop.accounts[pop.find_account(&bsky[0]).expect("account")].platform_id;
    let r = http
        .get(format!("{}/bluesky/plc/{did}", sim.base_url))
        .send()
        .await
        .expect("plc");
    assert_eq!(r.status().as_u16(), 429);

    // server_error: 5xx.
    for url in urls.mastodon(&pop, &masto[1]) {
        let status = http.get(&url).send().await.expect("get").status();
        assert!(status.is_server_error(), "{url}: {status}");
    }
    // garbage: JSON content type, not JSON.
    for url in urls.bluesky(&pop, &bsky[1]) {
        let r = http.get(&url).send().await.expect("get");
        assert_eq!(r.status().as_u16(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("application/json"));
        let bytes = r.bytes().await.expect("body");
        assert!(
            serde_json::from_slice::<serde_json::Value>(&bytes).is_err(),
            "{url}"
        );
    }
    // html: an HTML page with 200.
    for url in urls.mastodon(&pop, &masto[2]) {
        let r = http.get(&url).send().await.expect("get");
        assert_eq!(r.status().as_u16(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with("text/html"),
            "{url}"
        );
    }
    // huge: streamed, gzip on the wire when accepted (a bomb), plain otherwise.
    let huge_url = &urls.bluesky(&pop, &bsky[2])[2];
    let r = http
        .get(huge_url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("get");
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let wire = r.bytes().await.expect("body");
    assert!(
        (wire.len() as u64) < huge_bytes / 20,
        "compressed to {} bytes",
        wire.len()
    );
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&wire[..])
        .read_to_end(&mut decoded)
        .expect("valid gzip");
    assert_eq!(decoded.len() as u64, huge_bytes);
    let r = http.get(huge_url).send().await.expect("get");
    assert!(!r.headers().contains_key("content-encoding"));
    assert_eq!(r.bytes().await.expect("body").len() as u64, huge_bytes);
    // A gzip-decoding client sees the decompressed size: its cap must count after decoding.
    let gz = reqwest::Client::builder()
        .gzip(true)
        .build()
        .expect("client");
    let mut r = gz.get(huge_url).send().await.expect("get");
    let mut seen = 0u64;
    while let Some(chunk) = r.chunk().await.expect("chunk") {
        seen += chunk.len() as u64;
    }
    assert_eq!(seen, huge_bytes);

    // slow: headers at once, then a drip that outlasts a client's total timeout.
    let slow_url = &urls.mastodon(&pop, &masto[3])[1];
    let timed = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("client");
    let started = Instant::now();
    let r = timed.get(slow_url).send().await.expect("headers arrive");
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "headers come before the drip"
    );
    let error = r.bytes().await.expect_err("body drips past the timeout");
    assert!(error.is_timeout(), "{error}");

    // redirect_loop: 302 to the same host, forever.
    for url in urls.bluesky(&pop, &bsky[3]) {
        let r = http.get(&url).send().await.expect("get");
        assert_eq!(r.status().as_u16(), 302);
        let location = r.headers()["location"]
            .to_str()
            .unwrap_or_default()
            .to_string();
        assert!(location.starts_with("/bluesky/"), "{location}");
    }
    let follow = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let error = follow
        .get(&urls.bluesky(&pop, &bsky[3])[1])
        .send()
        .await
        .expect_err("loop");
    assert!(error.is_redirect(), "{error}");

    // The other accounts are served normally on the same endpoints.
    for url in urls
        .mastodon(&pop, &masto[4])
        .into_iter()
        .chain(urls.bluesky(&pop, &bsky[4]))
    {
        let r = http.get(&url).send().await.expect("get");
        assert_eq!(r.status().as_u16(), 200, "{url}");
        r.json::<serde_json::Value>().await.expect("json");
    }
    sim.stop().await.expect("stops");
}

#[tokio::test]
async fn exhausted_budgets_answer_429_in_each_platform_style() {
    let config = SimConfig {
        seed: SEED,
        rate_budget: RateBudget {
            limit: 3,
            window: Duration::from_secs(300),
        },
        ..SimConfig::default()
    };
    let sim = simulator::spawn(config).await.expect("starts");
    let http = plain_client();
    let masto = format!(
        "{}/mastodon/mastodon.example/api/v1/accounts/lookup?acct=prabowo",
        sim.base_url
    );
    for expected in ["2", "1", "0"] {
        let r = http.get(&masto).send().await.expect("get");
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.headers()["x-ratelimit-remaining"], expected);
    }
    let r = http.get(&masto).send().await.expect("get");
    assert_eq!(r.status().as_u16(), 429);
    assert!(!r.headers().contains_key("retry-after"));
    assert_eq!(
        r.text().await.expect("body"),
        r#"{"error":"Too many requests"}"#
    );
    // Other instances and the AppView have their own budgets.
    let other = format!(
        "{}/mastodon/sosial.go.example/api/v1/accounts/lookup?acct=tidakada",
        sim.base_url
    );
    assert_eq!(
        http.get(&other)
            .send()
            .await
            .expect("get")
            .status()
            .as_u16(),
        404
    );
    let xrpc = format!(
        "{}/bluesky/appview/xrpc/app.bsky.actor.getProfile?actor=prabowo.bsky.example",
        sim.base_url
    );
    for _ in 0..3 {
        assert_eq!(
            http.get(&xrpc).send().await.expect("get").status().as_u16(),
            200
        );
    }
    let r = http.get(&xrpc).send().await.expect("get");
    assert_eq!(r.status().as_u16(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap_or_default()
        .parse()
        .expect("seconds");
    assert!(retry <= 300);
    let reset: i64 = r.headers()["ratelimit-reset"]
        .to_str()
        .unwrap_or_default()
        .parse()
        .expect("unix seconds");
    assert!(reset > 1_700_000_000);
    sim.stop().await.expect("stops");
}

#[tokio::test]
async fn bad_fault_specs_are_refused_naming_the_part() {
    let error = "rate_limit=@a@b;meledak=@c@d"
        .parse::<simulator::FaultPlan>()
        .expect_err("unknown kind");
    assert!(error.to_string().contains("meledak=@c@d"), "{error}");
    let plan = "slow=@tidakada@mastodon.example"
        .parse()
        .expect("syntax ok");
    let result = simulator::spawn(SimConfig {
        faults: plan,
        ..SimConfig::default()
    })
    .await;
    match result {
        Err(SimError::Faults(error)) => assert!(
            error.to_string().contains("@tidakada@mastodon.example"),
            "{error}"
        ),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("an unknown account must be refused"),
    }
}

#[test]
fn population_out_files_match_the_population_and_load() {
    let pop = Population::generate(SEED);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("pop");
    let base = "http://127.0.0.1:7070";
    population_out::write_all(&out, &pop, base).expect("written");

    let employees = std::fs::read_to_string(out.join("employees.csv")).expect("employees.csv");
    let mut lines = employees.lines();
    assert_eq!(lines.next(), Some(EMPLOYEES_HEADER));
    let rows: usize = pop.employees.iter().map(|e| e.accounts.len()).sum();
    assert_eq!(lines.clone().count(), rows);
    assert!(lines
        .clone()
        .any(|l| l.ends_with(",mastodon,@") || l.contains(",mastodon,@")));
    assert!(lines
        .clone()
        .any(|l| l.contains(&format!(",rss,{base}/rss/"))));
    assert!(
        lines
            .all(|l| l.split(',').count() == 7
                && l.split(',').next().is_some_and(|id| id.len() == 18))
    );

    let watched = std::fs::read_to_string(out.join("watched.csv")).expect("watched.csv");
    let mut lines = watched.lines();
    assert_eq!(lines.next(), Some(WATCHED_HEADER));
    assert_eq!(lines.clone().count(), pop.watched_accounts().count());
    assert!(lines.any(|l| l == "mastodon,@prabowo@mastodon.example,pilpres2024:02,candidate"));
    assert!(
        watched.contains(",pilkada2024:dki:anung,candidate")
            && watched.contains(",party:gerindra,party")
    );

    let source = netra::config::ConfigSource::File(out.join("netra.toml"));
    let loaded =
        netra::config::load(&source, Vec::<(String, String)>::new()).expect("the config loads");
    let sources = &loaded.config.sources;
    assert_eq!(
        sources.bluesky_appview_url,
        format!("{base}/bluesky/appview")
    );
    assert_eq!(
        sources.bluesky_plc_directory_url,
        format!("{base}/bluesky/plc")
    );
    assert_eq!(
        sources.mastodon_instances.len(),
        simulator::population::MASTODON_DOMAINS.len()
    );
    assert_eq!(
        sources
            .mastodon_instances
            .get("sosial.go.example")
            .map(String::as_str),
        Some(format!("{base}/mastodon/sosial.go.example").as_str())
    );
    assert!(loaded.config.store.path.ends_with("pop/data"));
}

#[tokio::test]
async fn simulate_command_prints_its_address_and_serves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_netra"))
        .args([
            "simulate",
            "--addr",
            "127.0.0.1:0",
            "--seed",
            "5",
            "--population-out",
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn netra simulate");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("prints in time")
        .expect("reads")
        .expect("a line");
    let base = line
        .strip_prefix("simulator: ")
        .expect("the address line")
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"));
    let r = reqwest::get(format!(
        "{base}/mastodon/mastodon.example/api/v1/accounts/lookup?acct=prabowo"
    ))
    .await
    .expect("get");
    assert_eq!(r.status().as_u16(), 200);
    let toml = std::fs::read_to_string(dir.path().join("netra.toml")).expect("netra.toml");
    assert!(toml.contains(&format!("appview_url = \"{base}/bluesky/appview\"")));
    child.kill().await.expect("kill");

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_netra"))
        .args([
            "simulate",
            "--addr",
            "127.0.0.1:0",
            "--faults",
            "html=@a@mastodon.example;boom",
        ])
        .output()
        .await
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("'boom'"), "{stderr}");
}
