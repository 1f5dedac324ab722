//! The web page end to end in a real headless Chromium: log in with a token, see the queue,
//! open a finding with the keyboard, see the matched words highlighted, dismiss it with the
//! keyboard and confirm through the API; an injected `<script>` never runs; cross-site and
//! token-less form posts are refused. Screenshots go to `target/screenshots/`.

mod common;

use std::path::PathBuf;

use common::webdriver::Browser;
use jiff::Timestamp;
use netra::access::{self, Role, Scope};
use netra::http::{router, AppState};
use netra::metrics::Metrics;
use netra::model::{Platform, RuleStatus, Span, SpanField, UnitPath};
use netra::store::{ActivityRecord, Ingest, NewUser, Store};
use serde_json::Value;

const POST: &str = "Ayo coblos nomor 02 ya! <script>window.__pwned = 1</script>";

struct Site {
    base: String,
    token: String,
    finding: u64,
    stop: tokio::sync::watch::Sender<bool>,
}

async fn site() -> (Site, Store) {
    let store = Store::temporary().unwrap();
    let mut employee = common::employee(1);
    employee.unit = UnitPath::parse("kemenkumham/kanwil-sumsel/lapas-palembang").unwrap();
    store.put_employee(&employee).unwrap();
    let account = store
        .register_account(
            &employee.employee_id,
            Platform::Mastodon,
            "@budi@mastodon.example",
            common::at(0),
        )
        .unwrap();
    let mut activity = common::activity(account.id, 1);
    activity.kind = netra::model::ActivityKind::Post;
    activity.target = None;
    activity.text = POST.to_string();
    let mut detection = common::detection("ajakan_memilih", RuleStatus::Active);
    detection.spans = ["coblos", "02"]
        .iter()
        .map(|word| {
            let start = POST.find(word).unwrap();
            Span {
                field: SpanField::Text,
                start,
                end: start + word.len(),
                text: word.to_string(),
            }
        })
        .collect();
    let record = ActivityRecord {
        activity,
        employee_id: employee.employee_id.clone(),
        detections: vec![detection],
    };
    let outcome = store
        .ingest(
            Ingest {
                records: &[record],
                evidence: &[],
                scan: None,
                snapshot: None,
            },
            common::at(120),
        )
        .unwrap();
    let user = store
        .add_user(
            NewUser {
                name: "siti".into(),
                role: Role::Reviewer,
                scope: Scope::parse("kemenkumham").unwrap(),
                senior: false,
                employee_id: None,
            },
            "test",
            Timestamp::now(),
        )
        .unwrap();
    let token = access::new_token_secret().unwrap();
    store
        .add_token(
            user.id,
            &access::token_digest(&token),
            "test",
            Timestamp::now(),
        )
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let app = router(AppState::new(store.clone(), Metrics::new()).unwrap());
    let limits = netra::http::server::Limits {
        header_read_timeout: std::time::Duration::from_secs(10),
        max_connections: 64,
        drain: std::time::Duration::from_secs(1),
    };
    tokio::spawn(netra::http::server::serve(listener, app, limits, stop_rx));
    (
        Site {
            base,
            token,
            finding: outcome.new_findings[0].0,
            stop,
        },
        store,
    )
}

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_logs_in_opens_a_finding_and_dismisses_it_with_the_keyboard() {
    let (site, _store) = site().await;
    let browser = Browser::start().await;

    browser.goto(&format!("{}/antrian", site.base)).await;
    browser.wait_for_url(|u| u.ends_with("/masuk")).await;
    let field = browser.find("#token").await;
    browser.type_into(&field, &site.token).await;
    browser.click(&browser.find("#masuk").await).await;
    browser.wait_for_url(|u| u.ends_with("/antrian")).await;
    let rows = browser.find_all("tr.row").await;
    assert_eq!(rows.len(), 1, "the queue shows the finding");
    assert!(browser.text(&rows[0]).await.contains("Mengajak memilih"));
    browser.screenshot(&screenshots().join("antrian.png")).await;

    // o opens the selected row.
    browser.keys("o").await;
    browser.wait_for_url(|u| u.contains("/temuan/")).await;
    let marks = browser.find_all("#teks mark").await;
    let mut marked = Vec::new();
    for mark in &marks {
        marked.push(browser.text(mark).await);
    }
    assert_eq!(marked, ["coblos", "02"]);
    let text = browser.text(&browser.find("#teks").await).await;
    assert!(
        text.contains("<script>window.__pwned = 1</script>"),
        "the script shows as text: {text}"
    );
    assert_eq!(
        browser.script("return typeof window.__pwned;").await,
        "undefined",
        "the injected script ran"
    );
    browser.screenshot(&screenshots().join("temuan.png")).await;

    // d chooses dismissal and puts the cursor in the note; Enter submits.
    browser.keys("d").await;
    browser.keys("Bukan ajakan, kutipan berita\u{E007}").await;
    browser.wait_for_url(|u| u.ends_with("/antrian")).await;

    let finding: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/findings/{}", site.base, site.finding))
        .bearer_auth(&site.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(finding["status"], "dismissed", "{finding}");
    assert_eq!(
        finding["history"][0]["note"],
        "Bukan ajakan, kutipan berita"
    );

    // The session cookie from the browser, replayed from another site or without the form's
    // CSRF token, changes nothing.
    let cookie = browser
        .cookie("__Host-netra_sid")
        .await
        .expect("a session cookie");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let decide = format!("{}/temuan/{}/putusan", site.base, site.finding);
    let cross = client
        .post(&decide)
        .header("cookie", format!("__Host-netra_sid={cookie}"))
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("status=escalated&note=x&level=etik&skb_form=invite_to_vote")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let no_token = client
        .post(&decide)
        .header("cookie", format!("__Host-netra_sid={cookie}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("status=needs_info&note=x")
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let api_cross = client
        .post(format!(
            "{}/api/v1/findings/{}/reopen",
            site.base, site.finding
        ))
        .header("cookie", format!("__Host-netra_sid={cookie}"))
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/json")
        .body("{\"note\":\"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(api_cross.status(), 403);
    let after: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/findings/{}", site.base, site.finding))
        .bearer_auth(&site.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        after["status"], "dismissed",
        "refused posts changed nothing"
    );

    browser.quit().await;
    let _ = site.stop.send(true);
}

/// The README's first command: `netra demo` prints a url and a token, the queue has findings
/// within a minute, and Ctrl-C stops it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_fills_its_queue_and_stops_on_ctrl_c() {
    use tokio::io::AsyncBufReadExt;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_netra"))
        .args(["demo", "--addr", &format!("127.0.0.1:{port}")])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NETRA_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut token) = (None, None);
    while url.is_none() || token.is_none() {
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("the demo prints url and token")
            .unwrap()
            .expect("the demo keeps running");
        if let Some(rest) = line.strip_prefix("url: ") {
            url = Some(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("token: ") {
            token = Some(rest.to_string());
        }
    }
    let (url, token) = (url.unwrap(), token.unwrap());
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let answer = client
            .get(format!("{url}/api/v1/findings"))
            .bearer_auth(&token)
            .send()
            .await;
        if let Ok(answer) = answer {
            let body: Value = answer.json().await.unwrap_or_default();
            let n = body["items"].as_array().map_or(0, Vec::len);
            if n > 0 {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no findings within a minute"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("the demo stops within the grace period")
        .unwrap();
    assert!(status.success(), "{status}");
}

/// A follow of a campaign account and a post deleted after it was flagged, as the reviewer sees
/// them: the followed account, and the deletion notice with the evidence kept.
#[tokio::test]
async fn the_finding_page_shows_a_followed_account_and_a_deletion_notice() {
    use tower::ServiceExt;
    let (site, store) = site().await;
    let account = store.accounts().unwrap()[0].id;
    let mut follow = common::activity(account, 7);
    follow.kind = netra::model::ActivityKind::Follow;
    follow.platform_activity_id = "follow:1:109:1".into();
    follow.text = String::new();
    follow.target = Some(netra::model::Target {
        author: "@prabowo@mastodon.example".into(),
        author_platform_id: Some("109".into()),
        text: "Akun resmi Prabowo Subianto".into(),
        url: Some("https://mastodon.example/@prabowo".into()),
    });
    let mut detection = common::detection("follow.watched_account", RuleStatus::Active);
    detection.category = netra::model::Category::FollowCampaignAccount;
    detection.spans.clear();
    let record = ActivityRecord {
        activity: follow,
        employee_id: common::employee(1).employee_id,
        detections: vec![detection],
    };
    let outcome = store
        .ingest(
            Ingest {
                records: &[record],
                evidence: &[],
                scan: None,
                snapshot: None,
            },
            common::at(600),
        )
        .unwrap();
    let follow_finding = outcome.new_findings[0];
    store
        .record_presence(
            netra::model::FindingId(site.finding),
            netra::model::Presence::Gone,
            common::at(3 * 3600),
        )
        .unwrap();
    let app = router(AppState::new(store.clone(), Metrics::new()).unwrap());
    let page = |id: u64| {
        let app = app.clone();
        let token = site.token.clone();
        async move {
            let request = axum::http::Request::get(format!("/temuan/{id}"))
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.status(), 200);
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        }
    };
    let followed = page(follow_finding.0).await;
    assert!(followed.contains("Mulai mengikuti akun"), "{followed}");
    assert!(followed.contains("@prabowo@mastodon.example"));
    let deleted = page(site.finding).await;
    assert!(deleted.contains("id=\"dihapus\""), "{deleted}");
    assert!(deleted.contains("Bukti yang tersimpan tetap utuh"));
    let _ = site.stop.send(true);
}
