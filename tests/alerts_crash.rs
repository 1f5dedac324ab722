//! `netra serve` killed with SIGKILL again and again while it delivers alerts (issue #8): every
//! alert reaches the receiver at least once, and a receiver that deduplicates by `webhook-id`
//! sees each exactly once. Nothing is left waiting or dead afterwards.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::binary::{random_below, run_ok, serve};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const KILLS: usize = 10;
const ACTIVITIES: usize = 40;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Clone, Default)]
struct Seen {
    ids: Arc<Mutex<Vec<String>>>,
    bad_signatures: Arc<Mutex<usize>>,
}

fn verifies(headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let key = STANDARD.decode(&SECRET[6..]).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", header("webhook-id"), header("webhook-timestamp")).as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    header("webhook-signature")
        .split(' ')
        .any(|signature| signature == expected)
}

/// A slow receiver (so kills land mid-delivery) that fails every seventh request.
async fn receive(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if !verifies(&headers, &body) {
        *seen.bad_signatures.lock().unwrap() += 1;
    }
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let count = {
        let mut ids = seen.ids.lock().unwrap();
        ids.push(id);
        ids.len()
    };
    tokio::time::sleep(Duration::from_millis(25)).await;
    if count % 7 == 0 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_delivery_loses_no_alert_and_ids_deduplicate_to_exactly_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Seen::default();
    let app = axum::Router::new()
        .fallback(receive)
        .with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    std::fs::write(
        path.join("netra.toml"),
        format!(
            "[store]\npath = {:?}\n\n[alerts]\npublic_url = \"http://netra.test\"\n\
             backoff_base_secs = 1\nbackoff_max_secs = 1\nmax_attempts = 100\n\
             request_timeout_secs = 2\n\n[[alerts.endpoints]]\nname = \"crash\"\n\
             url = \"http://{address}/hook\"\nsecret = \"{SECRET}\"\nmin_severity = \"low\"\n\
             allow_private_address = true\n",
            path.join("db").display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        path.join("pegawai.csv"),
        "employee_id,name,unit,position,status,platform,handle\n\
         1001,Ani,kemendagri/biro-umum,Staf,pns,facebook,ani.susanti\n",
    )
    .unwrap();
    run_ok(
        path,
        &[
            "accounts",
            "import",
            path.join("pegawai.csv").to_str().unwrap(),
        ],
    )
    .await;
    let lines: String = (0..ACTIVITIES)
        .map(|n| {
            format!(
                "{{\"platform\":\"facebook\",\"account\":\"ani.susanti\",\"kind\":\"like\",\
                 \"id\":\"fb-{n}\",\"occurred_at\":\"2024-01-20T08:00:00+07:00\",\
                 \"target\":{{\"author\":\"@prabowo\",\"text\":\"Terima kasih relawan! {n}\"}}}}\n"
            )
        })
        .collect();
    std::fs::write(path.join("likes.jsonl"), lines).unwrap();
    run_ok(
        path,
        &[
            "import-activities",
            path.join("likes.jsonl").to_str().unwrap(),
        ],
    )
    .await;

    // The alerts the import queued (one per finding: liking a candidate is one).
    let listed = run_ok(path, &["alerts", "list", "--json"]).await;
    let expected: BTreeSet<String> = listed
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|v| v["webhook_id"].as_str().map(str::to_string))
        .collect();
    assert!(
        expected.len() >= ACTIVITIES,
        "every like is a finding with an alert: {listed}"
    );

    let mut kills_mid_delivery = 0;
    for round in 0..KILLS {
        let before = seen.ids.lock().unwrap().len();
        let mut child = serve(path).spawn().expect("serve starts");
        // Wait for the first delivery of this run (or a while), then kill at a random moment.
        let start = Instant::now();
        // On PostgreSQL the killed run's delivery lease (2 s timeout + 5 s margin) must expire
        // first; on sled a restart releases it at once.
        while seen.ids.lock().unwrap().len() == before && start.elapsed() < Duration::from_secs(10)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(random_below(300))).await;
        child.start_kill().expect("SIGKILL delivered");
        let status = child.wait().await.unwrap();
        assert!(!status.success(), "round {round}: serve was killed");
        let after = seen.ids.lock().unwrap().len();
        kills_mid_delivery += usize::from(after > before);
    }
    assert!(
        kills_mid_delivery >= KILLS / 2,
        "most kills landed while alerts were being delivered ({kills_mid_delivery})"
    );

    // The restart that finishes: run until every alert has arrived and the receiver has been
    // quiet for a while (a retry comes within 1 s), then stop cleanly with SIGTERM. A failed
    // last attempt can still be waiting then; one more run delivers it.
    let start = Instant::now();
    let mut waiting = String::new();
    for _ in 0..3 {
        let mut child = serve(path).spawn().expect("serve starts");
        let mut last_count = usize::MAX;
        let mut quiet_since = Instant::now();
        loop {
            let (unique, count) = {
                let ids = seen.ids.lock().unwrap();
                (ids.iter().cloned().collect::<BTreeSet<String>>(), ids.len())
            };
            if count != last_count {
                last_count = count;
                quiet_since = Instant::now();
            }
            if unique.is_superset(&expected) && quiet_since.elapsed() > Duration::from_millis(1500)
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "{} of {} alerts arrived",
                unique.intersection(&expected).count(),
                expected.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let pid = child.id().expect("serve is running").to_string();
        let terminated = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(terminated.success());
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("serve stops on SIGTERM")
            .unwrap();
        assert!(status.success(), "clean stop: {status:?}");
        waiting = run_ok(path, &["alerts", "list", "--json"]).await;
        if !waiting.contains("webhook_id") {
            break;
        }
    }
    assert!(
        !waiting.contains("webhook_id"),
        "nothing is left waiting: {waiting}"
    );

    let ids = seen.ids.lock().unwrap().clone();
    let mut per_id: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &ids {
        *per_id.entry(id.as_str()).or_default() += 1;
    }
    let unique: BTreeSet<String> = per_id.keys().map(|id| id.to_string()).collect();
    assert_eq!(
        unique, expected,
        "deduplicated by webhook-id: each alert exactly once"
    );
    let redelivered = per_id.values().filter(|n| **n > 1).count();
    eprintln!(
        "{} alerts, {} requests, {} alerts sent more than once after {KILLS} kills",
        expected.len(),
        ids.len(),
        redelivered
    );
    assert_eq!(
        *seen.bad_signatures.lock().unwrap(),
        0,
        "every request verifies"
    );
    let dead = run_ok(path, &["alerts", "list", "--dead", "--json"]).await;
    assert!(!dead.contains("webhook_id"), "nothing died: {dead}");
}
