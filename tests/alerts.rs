//! Alert webhooks (issue #8) against real HTTP receivers on 127.0.0.1 and a real sled store:
//! signatures checked by an independent implementation of Standard Webhooks, retries and
//! their schedule under a manual clock, dead letters and replay, 410, crash and lease release,
//! the SSRF guard, digests, order, and the three body formats.

mod common;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{activity, detection, employee};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use netra::alerts::ssrf::Resolve;
use netra::alerts::{ManualClock, Step, Worker};
use netra::config::AlertsConfig;
use netra::metrics::Metrics;
use netra::model::{AccountId, Employee, Platform, RuleStatus, Severity, UnitPath};
use netra::store::{ActivityRecord, Finish, Ingest, Store};
use serde_json::Value;
use sha2::Sha256;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD_SECRET: &str = "whsec_c2VjcmV0LWtleS1iZWluZy1yb3RhdGVkLW91dC0wMQ==";

// ---- a scripted receiver -------------------------------------------------------------------

#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    /// Hold the answer this long (a receiver that hangs).
    delay: Duration,
}

fn reply(status: u16) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        delay: Duration::ZERO,
    }
}

#[derive(Debug, Clone)]
struct Got {
    headers: HeaderMap,
    body: Vec<u8>,
    at: Instant,
}

impl Got {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Mutex<VecDeque<Reply>>>,
    got: Arc<Mutex<Vec<Got>>>,
    url: String,
}

impl Receiver {
    /// Answers with `script` in order, then 200 for ever.
    async fn start(script: Vec<Reply>) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let receiver = Receiver {
            script: Arc::new(Mutex::new(script.into())),
            got: Arc::default(),
            url: format!("http://{address}/hook"),
        };
        let app = axum::Router::new()
            .fallback(record)
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    async fn wait_for(&self, count: usize, within: Duration) {
        let start = Instant::now();
        while self.count() < count {
            assert!(
                start.elapsed() < within,
                "receiver got {} requests, expected {count}",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn record(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    receiver.got.lock().unwrap().push(Got {
        headers,
        body: body.to_vec(),
        at: Instant::now(),
    });
    let next = receiver.script.lock().unwrap().pop_front();
    let answer = next.unwrap_or_else(|| reply(200));
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let mut response = (StatusCode::from_u16(answer.status).unwrap(), "answer").into_response();
    for (name, value) in answer.headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("a header value"));
    }
    response
}

// ---- the independent Standard Webhooks verifier --------------------------------------------

/// Verifies like a receiver would, from the specification: HMAC-SHA256 keyed with the base64
/// part of the secret over `id.timestamp.body`, any one `v1,` signature matching.
fn verifies(secret: &str, got: &Got) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let signed = format!(
        "{}.{}.",
        got.header("webhook-id"),
        got.header("webhook-timestamp")
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(signed.as_bytes());
    mac.update(&got.body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    got.header("webhook-signature")
        .split(' ')
        .any(|signature| signature.strip_prefix("v1,") == Some(expected.as_str()))
}

// ---- store, clock and configuration --------------------------------------------------------

fn alerts_config(endpoints: &str) -> AlertsConfig {
    let text = format!(
        "[alerts]\npublic_url = \"https://netra.example.go.id\"\nbackoff_base_secs = 1\n\
         backoff_max_secs = 60\nmax_attempts = 4\nrequest_timeout_secs = 5\n{endpoints}"
    );
    netra::config::load_str(&text, "test.toml", std::iter::empty())
        .unwrap_or_else(|error| panic!("{error}"))
        .config
        .alerts
}

/// One endpoint on a loopback receiver.
fn endpoint(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[alerts.endpoints]]\nname = \"{name}\"\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n\
         allow_private_address = true\n{extra}\n"
    )
}

struct Env {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: Store,
    clock: Arc<ManualClock>,
    config: AlertsConfig,
    account: AccountId,
    employee: Employee,
}

fn open(path: &std::path::Path) -> Store {
    // sled's file lock outlives a quick drop; retry briefly, as tests/crash.rs does.
    let start = Instant::now();
    loop {
        match Store::open(path, 8 << 20) {
            Ok(store) => return store,
            Err(error) if start.elapsed() < Duration::from_secs(10) => {
                let _ = error;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => panic!("cannot reopen the store: {error}"),
        }
    }
}

impl Env {
    fn new(config: AlertsConfig) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = open(&path);
        store.set_alert_routes(config.routes());
        let employee = employee(1);
        store.put_employee(&employee).unwrap();
        let account = store
            .register_account(
                &employee.employee_id,
                Platform::Mastodon,
                "@pegawai@mastodon.example",
                Timestamp::now(),
            )
            .unwrap()
            .id;
        Env {
            _dir: dir,
            path,
            store,
            clock: Arc::new(ManualClock::new(Timestamp::now())),
            config,
            account,
            employee,
        }
    }

    fn worker(&self) -> Worker {
        Worker::new(self.store.clone(), self.config.clone(), Metrics::new())
            .with_clock(self.clock.clone())
            .with_tick(Duration::from_millis(20))
    }

    /// Ingests activity `n` of employee 1 with one active, high-severity detection.
    fn ingest(&self, n: u64) -> usize {
        self.ingest_for(&self.employee.employee_id, self.account, n, Severity::High)
    }

    fn ingest_for(
        &self,
        employee_id: &str,
        account: AccountId,
        n: u64,
        severity: Severity,
    ) -> usize {
        let mut found = detection("invite.ballot_number", RuleStatus::Active);
        found.severity = severity;
        let record = ActivityRecord {
            activity: activity(account, n),
            employee_id: employee_id.to_string(),
            detections: vec![found],
        };
        self.store
            .ingest(
                Ingest {
                    records: std::slice::from_ref(&record),
                    ..Ingest::default()
                },
                self.clock.now(),
            )
            .unwrap()
            .new_alerts
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by)
    }
}

use netra::alerts::Clock;

async fn step(worker: &Worker, name: &str) -> Step {
    worker.step(name).await.expect("a delivery step")
}

fn finished(step: &Step) -> &Finish {
    match step {
        Step::Finished { finish, .. } => finish,
        other => panic!("expected a finished delivery, got {other:?}"),
    }
}

// ---- signing -------------------------------------------------------------------------------

#[tokio::test]
async fn signature_verifies_with_an_independent_implementation_and_rotation_signs_twice() {
    let receiver = Receiver::start(vec![]).await;
    let extra = format!("previous_secret = \"{OLD_SECRET}\"");
    let env = Env::new(alerts_config(&endpoint("ops", &receiver.url, &extra)));
    assert_eq!(env.ingest(1), 1);
    let worker = env.worker();
    assert_eq!(finished(&step(&worker, "ops").await), &Finish::Delivered);

    let got = receiver.got();
    assert_eq!(got.len(), 1);
    let delivery = &got[0];
    assert!(delivery.header("webhook-id").starts_with("msg_"));
    assert!(!delivery.header("webhook-id").contains('.'));
    assert_eq!(
        delivery.header("webhook-timestamp"),
        env.clock.now().as_second().to_string(),
        "the timestamp is the attempt's"
    );
    assert_eq!(delivery.header("content-type"), "application/json");
    let signatures: Vec<String> = delivery
        .header("webhook-signature")
        .split(' ')
        .map(str::to_string)
        .collect();
    assert_eq!(
        signatures.len(),
        2,
        "current and previous key during rotation"
    );
    assert!(verifies(SECRET, delivery), "the current key verifies");
    assert!(verifies(OLD_SECRET, delivery), "the previous key verifies");
    let mut tampered = delivery.clone();
    tampered.body.push(b' ');
    assert!(!verifies(SECRET, &tampered), "a changed body fails");
    let mut other_key = STANDARD.decode(&SECRET[6..]).unwrap();
    other_key[0] ^= 1;
    assert!(
        !verifies(&format!("whsec_{}", STANDARD.encode(other_key)), delivery),
        "another key fails"
    );
}

// ---- retries -------------------------------------------------------------------------------

#[tokio::test]
async fn server_error_then_success_is_retried_with_the_same_id_and_delivered_once() {
    let receiver = Receiver::start(vec![reply(500)]).await;
    let env = Env::new(alerts_config(&endpoint("ops", &receiver.url, "")));
    env.ingest(1);
    let worker = env.worker();
    let first = step(&worker, "ops").await;
    let Finish::Retry { at, error } = finished(&first) else {
        panic!("500 is retried: {first:?}");
    };
    assert!(error.contains("HTTP 500"), "{error}");
    // Full jitter: the first retry comes within [0, base · 2^0] = [0, 1 s].
    assert!(*at <= env.clock.now().checked_add(Duration::from_secs(1)).unwrap());
    env.advance(Duration::from_millis(1001));
    assert_eq!(finished(&step(&worker, "ops").await), &Finish::Delivered);
    assert_eq!(step(&worker, "ops").await, Step::Idle);

    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(got[0].body, got[1].body, "the same message, re-signed");
    assert!(verifies(SECRET, &got[1]));
    let state = env.store.endpoint_state("ops").unwrap();
    assert_eq!(state.delivered_total, 1, "marked delivered once");
    assert!(env.store.pending_alerts(None).unwrap().is_empty());
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after() {
    let mut throttled = reply(429);
    throttled.headers.push(("retry-after", "2".into()));
    let receiver = Receiver::start(vec![throttled]).await;
    let env = Env::new(alerts_config(&endpoint("ops", &receiver.url, "")));
    env.ingest(1);
    let worker = env.worker();
    let first = step(&worker, "ops").await;
    let Finish::Retry { at, .. } = finished(&first) else {
        panic!("429 is retried: {first:?}");
    };
    let wait = at.duration_since(env.clock.now());
    assert!(wait >= jiff::SignedDuration::from_secs(2), "{wait:?}");
    env.advance(Duration::from_millis(1900));
    assert!(matches!(step(&worker, "ops").await, Step::WaitUntil(_)));
    assert_eq!(receiver.count(), 1, "not retried before Retry-After");
    env.advance(Duration::from_millis(200));
    assert_eq!(finished(&step(&worker, "ops").await), &Finish::Delivered);

    // The same with the real clock and the running worker: the gap is really two seconds.
    let receiver = Receiver::start(vec![{
        let mut r = reply(429);
        r.headers.push(("retry-after", "2".into()));
        r
    }])
    .await;
    let env = Env::new(alerts_config(&endpoint("ops", &receiver.url, "")));
    let worker = Worker::new(env.store.clone(), env.config.clone(), Metrics::new())
        .with_tick(Duration::from_millis(50));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker.run(stop_rx));
    env.ingest(1);
    receiver.wait_for(2, Duration::from_secs(10)).await;
    let got = receiver.got();
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_millis(1950), "retried after {gap:?}");
    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the worker stops")
        .unwrap();
}

#[tokio::test]
async fn retries_end_in_the_dead_letters_after_max_attempts() {
    let receiver = Receiver::start(vec![reply(503); 10]).await;
    let env = Env::new(alerts_config(&endpoint("ops", &receiver.url, "")));
    env.ingest(1);
    let worker = env.worker();
    for attempt in 0..3u32 {
        let result = step(&worker, "ops").await;
        let Finish::Retry { at, .. } = finished(&result) else {
            panic!("attempt {attempt}: {result:?}");
        };
        // Each delay lies in [0, base · 2^attempt].
        let ceiling = env
            .clock
            .now()
            .checked_add(Duration::from_secs(1 << attempt))
            .unwrap();
        assert!(*at <= ceiling, "attempt {attempt}");
        env.advance(Duration::from_secs(1 << attempt));
    }
    let last = step(&worker, "ops").await;
    let Finish::Dead { reason } = finished(&last) else {
        panic!("max_attempts = 4: {last:?}");
    };
    assert!(reason.contains("4 attempts"), "{reason}");
    assert_eq!(receiver.count(), 4);
    assert_eq!(env.store.dead_alerts(None).unwrap().len(), 1);
}

// ---- dead letters, replay, 410 -------------------------------------------------------------

#[tokio::test]
async fn bad_request_is_dead_at_once_visible_and_replay_sends_it_again() {
    let receiver = Receiver::start(vec![reply(400)]).await;
    let env = Env::new(alerts_config(&endpoint("ops", &receiver.url, "")));
    env.ingest(1);
    let worker = env.worker();
    let result = step(&worker, "ops").await;
    assert!(
        matches!(finished(&result), Finish::Dead { reason } if reason.contains("HTTP 400")),
        "{result:?}"
    );
    env.advance(Duration::from_secs(3600));
    assert_eq!(step(&worker, "ops").await, Step::Idle, "not retried");
    assert_eq!(receiver.count(), 1);

    // Visible: the store, the CLI listing and the admin API.
    let dead = env.store.dead_alerts(None).unwrap();
    assert_eq!(dead.len(), 1);
    let id = dead[0].message.id;
    let api = AdminApi::start(env.store.clone()).await;
    let listed = api.get("/api/v1/alerts/dead").await;
    assert_eq!(listed["dead"][0]["id"], id);
    assert!(listed["dead"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("HTTP 400"));

    // `netra alerts replay ID` (its library function), then delivery with the same id.
    let replayed = netra::app::replay_alert(&env.store, id).unwrap();
    assert_eq!(replayed.id, id);
    assert!(env.store.dead_alerts(None).unwrap().is_empty());
    assert_eq!(finished(&step(&worker, "ops").await), &Finish::Delivered);
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));

    // Replaying through the API works the same way; an unknown id is a 404.
    let missing = api.post("/api/v1/alerts/dead/999999/replay").await;
    assert_eq!(missing["error"]["code"], "not_found");
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_later_messages_go_to_the_dead_letters() {
    let receiver = Receiver::start(vec![reply(410)]).await;
    let env = Env::new(alerts_config(&endpoint("ops", &receiver.url, "")));
    env.ingest(1);
    let worker = env.worker();
    assert!(matches!(
        finished(&step(&worker, "ops").await),
        Finish::DeadAndDisable { .. }
    ));
    let state = env.store.endpoint_state("ops").unwrap();
    assert!(!state.enabled);
    assert!(state.disabled_reason.unwrap().contains("410"));

    env.ingest(2);
    let result = step(&worker, "ops").await;
    assert!(
        matches!(finished(&result), Finish::Dead { reason } if reason.contains("disabled")),
        "{result:?}"
    );
    assert_eq!(receiver.count(), 1, "a disabled endpoint is not called");
    assert_eq!(env.store.dead_alerts(Some("ops")).unwrap().len(), 2);

    // The admin API shows it disabled and enables it again; the dead ones can then be replayed.
    let api = AdminApi::start(env.store.clone()).await;
    let listed = api.get("/api/v1/alerts/endpoints").await;
    assert_eq!(listed["endpoints"][0]["name"], "ops");
    assert_eq!(listed["endpoints"][0]["enabled"], false);
    assert_eq!(listed["endpoints"][0]["dead"], 2);
    let enabled = api.post("/api/v1/alerts/endpoints/ops/enable").await;
    assert_eq!(enabled["enabled"], true);
    let second = env.store.dead_alerts(None).unwrap()[1].message.id;
    api.post(&format!("/api/v1/alerts/dead/{second}/replay"))
        .await;
    env.advance(Duration::from_secs(1)); // the API queued it at the real time
    assert_eq!(finished(&step(&worker, "ops").await), &Finish::Delivered);
    assert_eq!(receiver.count(), 2);
    let unknown = api.post("/api/v1/alerts/endpoints/nope/disable").await;
    assert_eq!(unknown["error"]["code"], "not_found");
}

// ---- crash and leases ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_delivery_releases_the_lease_and_the_message_is_delivered_after_restart() {
    let mut hang = reply(200);
    hang.delay = Duration::from_secs(60);
    let receiver = Receiver::start(vec![hang]).await;
    let config = alerts_config(&endpoint("ops", &receiver.url, ""));
    let env = Env::new(config.clone());
    env.ingest(1);
    env.ingest(2);
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(env.worker().run(stop_rx));
    receiver.wait_for(1, Duration::from_secs(10)).await;
    // The "crash": the worker vanishes mid-send, leaving its lease behind.
    running.abort();
    let _ = running.await;
    assert!(
        matches!(env.worker().step("ops").await.unwrap(), Step::WaitUntil(_)),
        "the message is leased"
    );
    let Env {
        store,
        path,
        clock,
        _dir,
        ..
    } = env;
    drop(store);
    // Let the runtime drop the aborted tasks (and their store handles) before reopening.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Restart: opening a sled store drops every lease. On PostgreSQL other replicas may be
    // delivering, so the lease runs out instead (request timeout 5 s + 5 s margin).
    let store = open(&path);
    store.set_alert_routes(config.routes());
    if std::env::var_os(netra::store::POSTGRES_FOR_DIRECTORIES).is_some() {
        clock.advance(Duration::from_secs(11));
    }
    assert_eq!(store.pending_alerts(None).unwrap().len(), 2, "nothing lost");
    let worker = Worker::new(store.clone(), config, Metrics::new()).with_clock(clock);
    assert_eq!(finished(&step(&worker, "ops").await), &Finish::Delivered);
    assert_eq!(finished(&step(&worker, "ops").await), &Finish::Delivered);
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[0].header("webhook-id"),
        got[1].header("webhook-id"),
        "the interrupted message again, same id"
    );
    assert_ne!(got[1].header("webhook-id"), got[2].header("webhook-id"));
    assert!(store.pending_alerts(None).unwrap().is_empty());
    assert!(store.verify_integrity().unwrap().is_empty());
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_without_a_restart() {
    let mut hang = reply(200);
    hang.delay = Duration::from_secs(60);
    let receiver = Receiver::start(vec![hang]).await;
    let env = Env::new(alerts_config(&endpoint("ops", &receiver.url, "")));
    env.ingest(1);
    let worker = env.worker();
    // The step is dropped mid-send (a stuck task); its lease stays.
    let _ = tokio::time::timeout(Duration::from_millis(300), worker.step("ops")).await;
    assert!(matches!(step(&worker, "ops").await, Step::WaitUntil(_)));
    // Lease = request timeout (5 s) + 30 s margin.
    env.advance(Duration::from_secs(36));
    assert_eq!(finished(&step(&worker, "ops").await), &Finish::Delivered);
    assert_eq!(receiver.count(), 2);
}

// ---- SSRF ----------------------------------------------------------------------------------

#[test]
fn private_addresses_are_refused_in_the_configuration() {
    let urls = [
        "http://127.0.0.1/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/hook",
        "http://localhost:9000/hook",
        "http://[fd00:ec2::254]/",
        "ftp://example.org/hook",
    ];
    let mut text = String::from("[alerts]\n");
    for (index, url) in urls.iter().enumerate() {
        text.push_str(&format!(
            "[[alerts.endpoints]]\nname = \"e{index}\"\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n"
        ));
    }
    let error = netra::config::load_str(&text, "test.toml", std::iter::empty()).unwrap_err();
    let keys: Vec<String> = error.problems.iter().map(|p| p.key.clone()).collect();
    let expected: Vec<String> = (0..urls.len())
        .map(|i| format!("alerts.endpoints[{i}].url"))
        .collect();
    assert_eq!(keys, expected, "{error}");
    assert!(error.to_string().contains("cloud metadata"), "{error}");
}

/// A local "DNS": fixed answers for made-up names.
struct FixedResolver(HashMap<&'static str, Vec<SocketAddr>>);

impl Resolve for FixedResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        _port: u16,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<SocketAddr>, String>> {
        let answer = self
            .0
            .get(host)
            .cloned()
            .ok_or_else(|| format!("{host}: no such host"));
        Box::pin(async move { answer })
    }
}

#[tokio::test]
async fn hosts_resolving_to_private_addresses_are_refused_at_send_and_redirects_not_followed() {
    let target = Receiver::start(vec![]).await;
    let target_address: SocketAddr = target.url[7..].trim_end_matches("/hook").parse().unwrap();
    let resolver = Arc::new(FixedResolver(HashMap::from([
        (
            "metadata.example",
            vec!["169.254.169.254:80".parse().unwrap()],
        ),
        ("intranet.example", vec!["10.20.30.40:80".parse().unwrap()]),
        ("rebind.example", vec![target_address]),
    ])));
    let mut config = alerts_config(&endpoint("ops", &target.url, ""));
    let template = config.endpoints[0].clone();
    config.endpoints.clear();
    let port = target_address.port();
    for (name, url, allow) in [
        ("meta", "http://metadata.example/latest".to_string(), false),
        (
            "intranet",
            "http://intranet.example/hook".to_string(),
            false,
        ),
        (
            "rebind",
            format!("http://rebind.example:{port}/hook"),
            false,
        ),
        ("literal", "http://127.0.0.1:9/hook".to_string(), false),
        ("pinned", format!("http://rebind.example:{port}/hook"), true),
    ] {
        let mut endpoint = template.clone();
        endpoint.name = name.into();
        endpoint.url = url;
        endpoint.allow_private_address = allow;
        config.endpoints.push(endpoint);
    }
    let env = Env::new(config);
    env.ingest(1);
    let worker = env.worker().with_resolver(resolver);
    for (name, why) in [
        ("meta", "cloud metadata"),
        ("intranet", "private address"),
        ("rebind", "loopback"),
        ("literal", "loopback"),
    ] {
        let result = step(&worker, name).await;
        assert!(
            matches!(finished(&result), Finish::Dead { reason } if reason.contains("refused") && reason.contains(why)),
            "{name}: {result:?}"
        );
    }
    assert_eq!(target.count(), 0, "nothing reached the loopback receiver");
    // Allowed explicitly, the same made-up name reaches the address the guard checked: the
    // connection is pinned to the resolver's answer (the system DNS does not know the name).
    assert_eq!(finished(&step(&worker, "pinned").await), &Finish::Delivered);
    assert_eq!(target.count(), 1);

    // A redirect (to a loopback receiver) is a failed delivery, and is not followed.
    let mut redirect = reply(302);
    redirect.headers.push(("location", target.url.clone()));
    let redirector = Receiver::start(vec![redirect]).await;
    let env = Env::new(alerts_config(&endpoint("ops", &redirector.url, "")));
    env.ingest(1);
    let result = step(&env.worker(), "ops").await;
    assert!(
        matches!(finished(&result), Finish::Dead { reason } if reason.contains("302") && reason.contains("not followed")),
        "{result:?}"
    );
    assert_eq!(redirector.count(), 1);
    assert_eq!(target.count(), 1, "the redirect target was never called");
}

// ---- digests and order ---------------------------------------------------------------------

#[tokio::test]
async fn findings_of_one_unit_within_the_window_go_out_as_one_digest() {
    let receiver = Receiver::start(vec![]).await;
    let env = Env::new(alerts_config(&endpoint(
        "ops",
        &receiver.url,
        "digest_window_secs = 60",
    )));
    // Another unit's employee: their finding is not part of the first unit's digest.
    let mut other = employee(2);
    other.unit = UnitPath::parse("kemenkeu/djp").unwrap();
    env.store.put_employee(&other).unwrap();
    let other_account = env
        .store
        .register_account(
            &other.employee_id,
            Platform::Mastodon,
            "@lain@m.example",
            env.clock.now(),
        )
        .unwrap()
        .id;
    for n in 1..=5 {
        env.ingest(n);
    }
    env.ingest_for(&other.employee_id, other_account, 100, Severity::High);
    env.advance(Duration::from_secs(30));
    for n in 6..=10 {
        env.ingest(n);
    }
    let worker = env.worker();
    assert!(
        matches!(step(&worker, "ops").await, Step::WaitUntil(_)),
        "the window is still open"
    );
    assert_eq!(receiver.count(), 0);
    env.advance(Duration::from_secs(31));
    assert_eq!(finished(&step(&worker, "ops").await), &Finish::Delivered);
    let digest = receiver.got()[0].json();
    assert_eq!(digest["type"], "finding.digest");
    assert_eq!(digest["data"]["count"], 10);
    assert_eq!(digest["data"]["findings"].as_array().unwrap().len(), 10);
    assert_eq!(
        digest["data"]["unit"],
        "kemenkumham/kanwil-sumsel/lapas-palembang"
    );
    assert!(digest["data"]["summary"]
        .as_str()
        .unwrap()
        .starts_with("10 temuan baru"));
    // Then the other unit's finding, alone.
    assert_eq!(finished(&step(&worker, "ops").await), &Finish::Delivered);
    let single = receiver.got()[1].json();
    assert_eq!(single["type"], "finding.created");
    assert_eq!(single["data"]["unit"], "kemenkeu/djp");
    assert_eq!(step(&worker, "ops").await, Step::Idle);
    assert_eq!(receiver.count(), 2);
}

#[tokio::test]
async fn messages_are_delivered_in_order_per_endpoint_even_across_retries() {
    let receiver = Receiver::start(vec![reply(200), reply(500), reply(502)]).await;
    let env = Env::new(alerts_config(&endpoint("ops", &receiver.url, "")));
    for n in 1..=5 {
        env.ingest(n);
    }
    let worker = env.worker();
    let mut rounds = 0;
    while step(&worker, "ops").await != Step::Idle {
        env.advance(Duration::from_secs(2));
        rounds += 1;
        assert!(rounds < 50);
    }
    let ids: Vec<String> = receiver
        .got()
        .iter()
        .map(|g| g.header("webhook-id"))
        .collect();
    let mut firsts: Vec<String> = Vec::new();
    for id in &ids {
        if firsts.last() != Some(id) {
            assert!(
                !firsts.contains(id),
                "{id} came back after a later one: {ids:?}"
            );
            firsts.push(id.clone());
        }
    }
    assert_eq!(firsts.len(), 5);
    assert_eq!(
        ids.len(),
        7,
        "the second message was tried three times: {ids:?}"
    );
    let numbers: Vec<u64> = firsts
        .iter()
        .map(|id| id.rsplit('_').next().unwrap().parse().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
}

// ---- formats -------------------------------------------------------------------------------

#[tokio::test]
async fn thin_json_slack_and_telegram_bodies_have_their_documented_shape() {
    let receiver = Receiver::start(vec![]).await;
    let endpoints = [
        endpoint("thin", &receiver.url, ""),
        endpoint("full", &receiver.url, "include_personal_data = true"),
        endpoint("slack", &receiver.url, "format = \"slack\""),
        endpoint(
            "telegram",
            &receiver.url,
            "format = \"telegram\"\nchat_id = \"-1001234567890\"",
        ),
    ]
    .concat();
    let env = Env::new(alerts_config(&endpoints));
    assert_eq!(env.ingest(1), 4);
    let worker = env.worker();
    let mut bodies = HashMap::new();
    for name in ["thin", "full", "slack", "telegram"] {
        assert_eq!(finished(&step(&worker, name).await), &Finish::Delivered);
        let got = receiver.got().pop().unwrap();
        bodies.insert(
            name,
            (String::from_utf8(got.body.clone()).unwrap(), got.json()),
        );
    }
    let nip = &env.employee.employee_id;
    let name = &env.employee.name;
    let text = &activity(env.account, 1).text;
    let finding = env.store.findings().unwrap()[0].id;
    let link = format!("https://netra.example.go.id/temuan/{finding}");

    let (raw, thin) = &bodies["thin"];
    assert_eq!(thin["type"], "finding.created");
    let item = &thin["data"]["findings"][0];
    assert_eq!(item["id"], finding.0);
    assert_eq!(item["severity"], "high");
    assert_eq!(item["category"], "invite_to_vote");
    assert_eq!(item["entities"][0], "pilpres2024:02");
    assert_eq!(item["url"], link.as_str());
    assert_eq!(
        thin["data"]["unit"],
        "kemenkumham/kanwil-sumsel/lapas-palembang"
    );
    for personal in [nip.as_str(), name.as_str(), text.as_str(), "Ayo coblos"] {
        assert!(
            !raw.contains(personal),
            "thin JSON leaks '{personal}': {raw}"
        );
    }

    let (raw, full) = &bodies["full"];
    assert_eq!(full["data"]["findings"][0]["employee_id"], nip.as_str());
    assert!(raw.contains(name.as_str()) && raw.contains("Ayo coblos"));

    let (raw, slack) = &bodies["slack"];
    let keys: Vec<&String> = slack.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["text"], "{raw}");
    let slack_text = slack["text"].as_str().unwrap();
    assert!(slack_text.starts_with("*Temuan baru"), "{slack_text}");
    assert!(
        slack_text.contains(&format!("<{link}|tinjau>")),
        "{slack_text}"
    );
    assert!(!raw.contains(nip.as_str()) && !raw.contains("Ayo coblos"));

    let (raw, telegram) = &bodies["telegram"];
    let mut keys: Vec<&String> = telegram.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["chat_id", "disable_web_page_preview", "text"],
        "{raw}"
    );
    assert_eq!(telegram["chat_id"], "-1001234567890");
    let telegram_text = telegram["text"].as_str().unwrap();
    assert!(telegram_text.contains("menyukai") || telegram_text.contains("ajakan memilih"));
    assert!(telegram_text.contains(&link), "{telegram_text}");
    assert!(!raw.contains(nip.as_str()));
}

// ---- the outbox in the ingest transaction --------------------------------------------------

#[test]
fn ingest_writes_outbox_rows_with_the_finding_and_only_for_routed_findings() {
    let config = alerts_config(
        &[
            endpoint("all", "http://127.0.0.1:9/a", ""),
            endpoint(
                "high-djp",
                "http://127.0.0.1:9/b",
                "min_severity = \"high\"\nunit = \"kemenkeu/djp\"",
            ),
            endpoint(
                "sumsel",
                "http://127.0.0.1:9/c",
                "unit = \"kemenkumham/kanwil-sumsel\"",
            ),
        ]
        .concat(),
    );
    let env = Env::new(config);
    // A high finding of employee 1 (kemenkumham/kanwil-sumsel/lapas-palembang): "all" and
    // "sumsel" (a subtree match), not "high-djp".
    assert_eq!(env.ingest(1), 2);
    let pending = env.store.pending_alerts(None).unwrap();
    let endpoints: Vec<&str> = pending.iter().map(|m| m.endpoint.as_str()).collect();
    assert_eq!(endpoints, ["all", "sumsel"]);
    let finding = env.store.findings().unwrap()[0].id;
    assert!(pending.iter().all(|m| m.findings == [finding]));
    assert_ne!(
        pending[0].id, pending[1].id,
        "one message number per endpoint"
    );

    // Re-ingesting the same activity creates no finding and so no alert.
    assert_eq!(env.ingest(1), 0);
    assert_eq!(env.store.pending_alerts(None).unwrap().len(), 2);

    // Below every endpoint's minimum, or a shadow rule: stored, never alerted.
    assert_eq!(
        env.ingest_for(&env.employee.employee_id, env.account, 2, Severity::Low),
        0
    );
    let shadow = ActivityRecord {
        activity: activity(env.account, 3),
        employee_id: env.employee.employee_id.clone(),
        detections: vec![detection("shadow.rule", RuleStatus::Shadow)],
    };
    let outcome = env
        .store
        .record_activities(&[shadow], env.clock.now())
        .unwrap();
    assert_eq!((outcome.new_findings.len(), outcome.new_alerts), (1, 0));

    // A batch that fails (an oversized activity id) writes neither findings nor outbox rows.
    let mut bad = activity(env.account, 4);
    bad.platform_activity_id = "x".repeat(300);
    let failing = [
        ActivityRecord {
            activity: activity(env.account, 5),
            employee_id: env.employee.employee_id.clone(),
            detections: vec![detection("invite.ballot_number", RuleStatus::Active)],
        },
        ActivityRecord {
            activity: bad,
            employee_id: env.employee.employee_id.clone(),
            detections: vec![detection("invite.ballot_number", RuleStatus::Active)],
        },
    ];
    assert!(env
        .store
        .record_activities(&failing, env.clock.now())
        .is_err());
    assert_eq!(env.store.findings().unwrap().len(), 3);
    assert_eq!(env.store.pending_alerts(None).unwrap().len(), 2);
    assert!(env.store.verify_integrity().unwrap().is_empty());

    // The outbox, dead letters and endpoint state survive a dump; leases do not need to.
    env.store
        .set_endpoint_enabled("sumsel", false, Some("maintenance"), env.clock.now())
        .unwrap();
    let mut dump = Vec::new();
    env.store.export(&mut dump).unwrap();
    let dump_path = env.path.with_file_name("dump.jsonl");
    std::fs::write(&dump_path, &dump).unwrap();
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = Store::open(&restored_dir.path().join("db"), 8 << 20).unwrap();
    restored.import_file(&dump_path).unwrap();
    assert_eq!(
        restored.pending_alerts(None).unwrap(),
        env.store.pending_alerts(None).unwrap()
    );
    assert!(!restored.endpoint_state("sumsel").unwrap().enabled);
}

#[test]
fn endpoint_configuration_is_checked_and_secrets_never_print() {
    let dir = tempfile::tempdir().unwrap();
    let secret_path = dir.path().join("hook-secret");
    std::fs::write(&secret_path, format!("{SECRET}\n")).unwrap();
    let text = format!(
        "[[alerts.endpoints]]\nname = \"ops\"\nurl = \"https://hooks.slack.example/services/T0/B0/XYZ\"\n\
         format = \"slack\"\nsecret_file = {:?}\nprevious_secret = \"{OLD_SECRET}\"\n",
        secret_path.display().to_string()
    );
    let loaded = netra::config::load_str(&text, "test.toml", std::iter::empty()).unwrap();
    let endpoint = &loaded.config.alerts.endpoints[0];
    assert_eq!(endpoint.keys.len(), 2);
    let printed = loaded.effective.to_redacted_toml();
    assert!(
        !printed.contains("MfKQ9r8") && !printed.contains("c2VjcmV0"),
        "{printed}"
    );
    assert!(
        !printed.contains("XYZ"),
        "the URL path carries a token: {printed}"
    );
    assert!(
        printed.contains("https://hooks.slack.example/<redacted>"),
        "{printed}"
    );
    let debug = format!("{:?} {:?}", loaded.config, loaded.effective);
    assert!(
        !debug.contains("MfKQ9r8") && !debug.contains("XYZ"),
        "{debug}"
    );

    let bad = "[[alerts.endpoints]]\nname = \"Ops Team\"\nurl = \"https://h.example/x\"\n\
               format = \"telegram\"\ncolour = \"red\"\nmin_severity = \"urgent\"\n\
               [[alerts.endpoints]]\nname = \"b\"\nurl = \"https://h.example/y\"\n\
               secret = \"whsec_c2hvcnQ=\"\ndigest_window_secs = -1\n";
    let error = netra::config::load_str(bad, "test.toml", std::iter::empty()).unwrap_err();
    let keys: Vec<&str> = error.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "alerts.endpoints[0].colour",
            "alerts.endpoints[0].name",
            "alerts.endpoints[0].chat_id",
            "alerts.endpoints[0].min_severity",
            "alerts.endpoints[1].secret",
            "alerts.endpoints[1].digest_window_secs",
        ],
        "{error}"
    );
}

// ---- the admin API over HTTP ---------------------------------------------------------------

struct AdminApi {
    base: String,
    client: reqwest::Client,
}

impl AdminApi {
    async fn start(store: Store) -> AdminApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        // The alert routes are for admins: one with a token, as an operator would have.
        let admin = store
            .add_user(
                netra::store::NewUser {
                    name: "ops-admin".into(),
                    role: netra::access::Role::Admin,
                    scope: netra::access::Scope::All,
                    senior: false,
                    employee_id: None,
                },
                "test",
                Timestamp::now(),
            )
            .unwrap();
        let token = netra::access::new_token_secret().unwrap();
        store
            .add_token(
                admin.id,
                &netra::access::token_digest(&token),
                "test",
                Timestamp::now(),
            )
            .unwrap();
        let app = netra::http::router(netra::http::AppState::new(store, Metrics::new()).unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        AdminApi {
            base: format!("http://{address}"),
            client: reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .unwrap(),
        }
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    async fn post(&self, path: &str) -> Value {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }
}
