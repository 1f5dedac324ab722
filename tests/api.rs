//! The HTTP API through its router (`oneshot`) on a real sled store: the policy table (every
//! route × role × own unit / other unit / no token), bad input that changes nothing, scoping
//! that leaks nothing, tokens, rate limits, and the OpenAPI description matching the routes.

mod common;

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use jiff::Timestamp;
use netra::access::{self, Role, Scope, User};
use netra::http::{router, AppState};
use netra::judging::WordListJudge;
use netra::metrics::Metrics;
use netra::model::{AccountId, Employee, FindingId, Platform, RuleStatus, UnitPath};
use netra::store::{ActivityRecord, Ingest, NewUser, Store};
use serde_json::{json, Value};
use tower::ServiceExt;

const UNIT_A: &str = "kemenkumham/kanwil-sumsel";
const UNIT_B: &str = "kemenkeu/djp";

fn judge() -> Arc<WordListJudge> {
    static JUDGE: OnceLock<Arc<WordListJudge>> = OnceLock::new();
    JUDGE
        .get_or_init(|| {
            let config = netra::config::RawConfig::default().validate().unwrap();
            let (lexicon, rules) = netra::detect::commands::load(&config.detect).unwrap();
            Arc::new(WordListJudge::new(
                Arc::new(lexicon),
                Arc::new(rules),
                config.detect.review_threshold,
            ))
        })
        .clone()
}

/// A store with one employee, account and finding in each of two units, and a user of each
/// role bound to unit A (plus a user in unit B to manage), each with a token.
struct Fixture {
    store: Store,
    state: AppState,
    tokens: Vec<(Role, String)>,
    finding_a: FindingId,
    finding_b: FindingId,
    employee_a: Employee,
    employee_b: Employee,
    user_b: User,
    token_b_id: u64,
}

fn employee_in(n: u64, unit: &str) -> Employee {
    let mut employee = common::employee(n);
    employee.unit = UnitPath::parse(unit).unwrap();
    employee
}

fn seed_finding(store: &Store, employee: &Employee, account: AccountId, n: u64) -> FindingId {
    let record = ActivityRecord {
        activity: common::activity(account, n),
        employee_id: employee.employee_id.clone(),
        detections: vec![common::detection("ajakan_memilih", RuleStatus::Active)],
    };
    let outcome = store
        .ingest(
            Ingest {
                records: &[record],
                evidence: &[],
                scan: None,
                snapshot: None,
            },
            common::at(n as i64 * 60 + 60),
        )
        .unwrap();
    outcome.new_findings[0]
}

fn add_user(store: &Store, name: &str, role: Role, unit: &str, senior: bool) -> (User, String) {
    let user = store
        .add_user(
            NewUser {
                name: name.into(),
                role,
                scope: Scope::parse(unit).unwrap(),
                senior,
                employee_id: None,
            },
            "test",
            Timestamp::now(),
        )
        .unwrap();
    let secret = access::new_token_secret().unwrap();
    store
        .add_token(
            user.id,
            &access::token_digest(&secret),
            "test",
            Timestamp::now(),
        )
        .unwrap();
    (user, secret)
}

fn fixture() -> Fixture {
    let store = Store::temporary().unwrap();
    let employee_a = employee_in(1, &format!("{UNIT_A}/lapas-palembang"));
    let employee_b = employee_in(2, &format!("{UNIT_B}/kpp-medan"));
    let mut findings = Vec::new();
    for (n, employee) in [(1u64, &employee_a), (2, &employee_b)] {
        store.put_employee(employee).unwrap();
        let account = store
            .register_account(
                &employee.employee_id,
                Platform::Mastodon,
                &format!("@pegawai{n}@mastodon.example"),
                common::at(0),
            )
            .unwrap();
        findings.push(seed_finding(&store, employee, account.id, n));
    }
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let (_, secret) = add_user(&store, role.as_str(), role, UNIT_A, false);
        tokens.push((role, secret));
    }
    let (user_b, _) = add_user(&store, "reviewer-b", Role::Reviewer, UNIT_B, false);
    let token_b_id = store
        .tokens()
        .unwrap()
        .into_iter()
        .find(|t| t.user_id == user_b.id)
        .unwrap()
        .id
        .0;
    store
        .set_endpoint_enabled("ops", true, None, Timestamp::now())
        .unwrap();
    let state = AppState::new(store.clone(), Metrics::new())
        .unwrap()
        .with_judge(judge());
    Fixture {
        store,
        state,
        tokens,
        finding_a: findings[0],
        finding_b: findings[1],
        employee_a,
        employee_b,
        user_b,
        token_b_id,
    }
}

impl Fixture {
    fn token(&self, role: Role) -> &str {
        &self.tokens.iter().find(|(r, _)| *r == role).unwrap().1
    }

    async fn call(
        &self,
        token: Option<&str>,
        method: Method,
        uri: &str,
        body: Option<(&str, String)>,
    ) -> (StatusCode, Value) {
        call_app(self.state.clone(), token, method, uri, body).await
    }
}

async fn call_app(
    state: AppState,
    token: Option<&str>,
    method: Method,
    uri: &str,
    body: Option<(&str, String)>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some((content_type, text)) => request
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(text)),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = router(state).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 16 << 20)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

fn json_body(value: Value) -> Option<(&'static str, String)> {
    Some(("application/json", value.to_string()))
}

/// A request body with its content type.
type SentBody = (&'static str, String);

/// A request made before the one under test, as the same user.
type Prep = fn(&Fixture, Target) -> (Method, String, Option<SentBody>);

/// One row of the bad-input table: who, what, and the status, code and words expected.
type BadCase<'a> = (
    &'a str,
    Method,
    String,
    Option<(&'a str, String)>,
    u16,
    &'a str,
    &'a str,
);

/// Which resource a case of the policy table is about.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Own,
    Other,
}

/// One request of the policy table, built for a target; `prep` runs first as the same user.
struct Case {
    method: Method,
    path: &'static str,
    build: fn(&Fixture, Target) -> (String, Option<SentBody>),
    prep: Option<Prep>,
    /// Expected status for admin, registrar, reviewer, auditor: (own unit, other unit).
    expect: [(u16, u16); 4],
}

fn finding_of(f: &Fixture, target: Target) -> u64 {
    match target {
        Target::Own => f.finding_a.0,
        Target::Other => f.finding_b.0,
    }
}

fn employee_of(f: &Fixture, target: Target) -> String {
    match target {
        Target::Own => f.employee_a.employee_id.clone(),
        Target::Other => f.employee_b.employee_id.clone(),
    }
}

fn unit_of(target: Target) -> &'static str {
    match target {
        Target::Own => UNIT_A,
        Target::Other => UNIT_B,
    }
}

fn decide_body() -> Option<(&'static str, String)> {
    json_body(json!({"status": "dismissed", "note": "bukan kampanye"}))
}

fn policy_table() -> Vec<Case> {
    fn none(_: &Fixture, _: Target) -> Option<(&'static str, String)> {
        None
    }
    macro_rules! case {
        ($method:ident, $path:literal, $build:expr, $expect:expr) => {
            Case {
                method: Method::$method,
                path: $path,
                build: $build,
                prep: None,
                expect: $expect,
            }
        };
        ($method:ident, $path:literal, $build:expr, prep $prep:expr, $expect:expr) => {
            Case {
                method: Method::$method,
                path: $path,
                build: $build,
                prep: Some($prep),
                expect: $expect,
            }
        };
    }
    const ALL_OK: [(u16, u16); 4] = [(200, 200); 4];
    const ADMIN_ONLY: [(u16, u16); 4] = [(200, 200), (403, 403), (403, 403), (403, 403)];
    vec![
        case!(
            GET,
            "/api/v1/me",
            |f, t| ("/api/v1/me".into(), none(f, t)),
            ALL_OK
        ),
        case!(
            GET,
            "/api/v1/findings",
            |_, _| ("/api/v1/findings".into(), None),
            [(200, 200), (403, 403), (200, 200), (200, 200)]
        ),
        case!(
            GET,
            "/api/v1/findings/{id}",
            |f, t| (format!("/api/v1/findings/{}", finding_of(f, t)), None),
            [(200, 404), (403, 403), (200, 404), (200, 404)]
        ),
        case!(
            POST,
            "/api/v1/findings/{id}/claim",
            |f, t| (format!("/api/v1/findings/{}/claim", finding_of(f, t)), None),
            [(200, 404), (403, 403), (200, 404), (403, 403)]
        ),
        case!(
            POST,
            "/api/v1/findings/{id}/release",
            |f, t| (
                format!("/api/v1/findings/{}/release", finding_of(f, t)),
                None
            ),
            prep | f,
            t | (
                Method::POST,
                format!("/api/v1/findings/{}/claim", finding_of(f, t)),
                None
            ),
            [(200, 404), (403, 403), (200, 404), (403, 403)]
        ),
        case!(
            POST,
            "/api/v1/findings/{id}/decide",
            |f, t| (
                format!("/api/v1/findings/{}/decide", finding_of(f, t)),
                decide_body()
            ),
            [(200, 404), (403, 403), (200, 404), (403, 403)]
        ),
        case!(
            POST,
            "/api/v1/findings/{id}/reopen",
            |f, t| (
                format!("/api/v1/findings/{}/reopen", finding_of(f, t)),
                json_body(json!({"note": "perlu ditinjau ulang"}))
            ),
            prep | f,
            t | (
                Method::POST,
                format!("/api/v1/findings/{}/decide", finding_of(f, t)),
                decide_body()
            ),
            [(200, 404), (403, 403), (403, 403), (403, 403)]
        ),
        case!(
            POST,
            "/api/v1/findings/bulk",
            |f, t| (
                "/api/v1/findings/bulk".into(),
                json_body(
                    json!({"ids": [finding_of(f, t)], "status": "dismissed", "note": "massal"})
                )
            ),
            [(200, 404), (403, 403), (200, 404), (403, 403)]
        ),
        case!(
            GET,
            "/api/v1/cases",
            |_, _| ("/api/v1/cases".into(), None),
            [(200, 200), (403, 403), (200, 200), (200, 200)]
        ),
        case!(
            GET,
            "/api/v1/cases/{id}",
            |f, t| (
                format!("/api/v1/cases/{}", if t == Target::Own { 1 } else { 2 }),
                {
                    let _ = f;
                    None
                }
            ),
            [(200, 404), (403, 403), (200, 404), (200, 404)]
        ),
        case!(
            POST,
            "/api/v1/check",
            |_, _| (
                "/api/v1/check".into(),
                json_body(json!({"text": "Ayo coblos 02!"}))
            ),
            ALL_OK
        ),
        case!(
            GET,
            "/api/v1/audit",
            |_, _| ("/api/v1/audit".into(), None),
            [(200, 200), (403, 403), (403, 403), (200, 200)]
        ),
        case!(
            GET,
            "/api/v1/audit/verify",
            |_, _| ("/api/v1/audit/verify".into(), None),
            [(200, 200), (403, 403), (403, 403), (200, 200)]
        ),
        case!(
            GET,
            "/api/v1/employees",
            |_, _| ("/api/v1/employees".into(), None),
            ALL_OK
        ),
        case!(
            GET,
            "/api/v1/employees/{id}",
            |f, t| (format!("/api/v1/employees/{}", employee_of(f, t)), None),
            [(200, 404); 4]
        ),
        case!(
            POST,
            "/api/v1/employees/{id}/deactivate",
            |f, t| (
                format!("/api/v1/employees/{}/deactivate", employee_of(f, t)),
                None
            ),
            [(200, 404), (200, 404), (403, 403), (403, 403)]
        ),
        case!(
            POST,
            "/api/v1/employees/{id}/activate",
            |f, t| (
                format!("/api/v1/employees/{}/activate", employee_of(f, t)),
                None
            ),
            [(200, 404), (200, 404), (403, 403), (403, 403)]
        ),
        case!(
            GET,
            "/api/v1/accounts",
            |_, _| ("/api/v1/accounts".into(), None),
            ALL_OK
        ),
        case!(
            POST,
            "/api/v1/accounts/import",
            |_, t| {
                ("/api/v1/accounts/import".into(), Some(("text/csv", format!(
                "employee_id,name,unit,position,status,platform,handle\n198501012010009999,Baru,{}/kantor,Analis,pns,bluesky,baru.bsky.social\n",
                unit_of(t)))))
            },
            [(200, 400), (200, 400), (403, 403), (403, 403)]
        ),
        case!(
            GET,
            "/api/v1/watched",
            |_, _| ("/api/v1/watched".into(), None),
            ALL_OK
        ),
        case!(
            POST,
            "/api/v1/watched/import",
            |_, _| {
                ("/api/v1/watched/import".into(), Some(("text/csv",
                "platform,handle,entity_id,role\nbluesky,tim.contoh.bsky.social,pilpres2024:02,campaign_team\n".to_string())))
            },
            [(200, 200), (403, 403), (403, 403), (403, 403)]
        ),
        case!(
            GET,
            "/api/v1/users",
            |_, _| ("/api/v1/users".into(), None),
            [(200, 200), (403, 403), (403, 403), (403, 403)]
        ),
        case!(
            POST,
            "/api/v1/users",
            |_, t| (
                "/api/v1/users".into(),
                json_body(json!({"name": "baru", "role": "reviewer", "unit": unit_of(t)}))
            ),
            [(201, 403), (403, 403), (403, 403), (403, 403)]
        ),
        case!(
            PATCH,
            "/api/v1/users/{id}",
            |f, t| (
                format!(
                    "/api/v1/users/{}",
                    if t == Target::Own { 3 } else { f.user_b.id.0 }
                ),
                json_body(json!({"senior": true}))
            ),
            [(200, 404), (403, 403), (403, 403), (403, 403)]
        ),
        case!(
            POST,
            "/api/v1/users/{id}/tokens",
            |f, t| (
                format!(
                    "/api/v1/users/{}/tokens",
                    if t == Target::Own { 3 } else { f.user_b.id.0 }
                ),
                None
            ),
            [(201, 404), (403, 403), (403, 403), (403, 403)]
        ),
        case!(
            GET,
            "/api/v1/tokens",
            |_, _| ("/api/v1/tokens".into(), None),
            [(200, 200), (403, 403), (403, 403), (403, 403)]
        ),
        case!(
            POST,
            "/api/v1/tokens/{id}/revoke",
            |f, t| (
                format!(
                    "/api/v1/tokens/{}/revoke",
                    if t == Target::Own { 3 } else { f.token_b_id }
                ),
                None
            ),
            [(200, 404), (403, 403), (403, 403), (403, 403)]
        ),
        case!(
            GET,
            "/api/v1/alerts/endpoints",
            |_, _| ("/api/v1/alerts/endpoints".into(), None),
            ADMIN_ONLY
        ),
        case!(
            POST,
            "/api/v1/alerts/endpoints/{name}/enable",
            |_, _| ("/api/v1/alerts/endpoints/ops/enable".into(), None),
            ADMIN_ONLY
        ),
        case!(
            POST,
            "/api/v1/alerts/endpoints/{name}/disable",
            |_, _| (
                "/api/v1/alerts/endpoints/ops/disable".into(),
                json_body(json!({"reason": "pemeliharaan"}))
            ),
            ADMIN_ONLY
        ),
        case!(
            GET,
            "/api/v1/alerts/pending",
            |_, _| ("/api/v1/alerts/pending".into(), None),
            ADMIN_ONLY
        ),
        case!(
            GET,
            "/api/v1/alerts/dead",
            |_, _| ("/api/v1/alerts/dead".into(), None),
            ADMIN_ONLY
        ),
        case!(
            POST,
            "/api/v1/alerts/dead/{id}/replay",
            |_, _| ("/api/v1/alerts/dead/1/replay".into(), None),
            [(404, 404), (403, 403), (403, 403), (403, 403)]
        ),
    ]
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_policy_table_says() {
    let mut failures = Vec::new();
    for case in policy_table() {
        for (index, role) in Role::ALL.into_iter().enumerate() {
            for target in [Target::Own, Target::Other] {
                let fixture = fixture();
                let token = fixture.token(role).to_string();
                if let Some(prep) = case.prep {
                    let (method, uri, body) = prep(&fixture, target);
                    fixture.call(Some(&token), method, &uri, body).await;
                }
                let (uri, body) = (case.build)(&fixture, target);
                let (status, answer) = fixture
                    .call(Some(&token), case.method.clone(), &uri, body.clone())
                    .await;
                let expected = match target {
                    Target::Own => case.expect[index].0,
                    Target::Other => case.expect[index].1,
                };
                if status.as_u16() != expected {
                    failures.push(format!(
                        "{} {uri} as {role} ({target:?}): {status}, expected {expected}: {answer}",
                        case.method
                    ));
                }
                if !status.is_success() {
                    let code = answer["error"]["code"].as_str().unwrap_or("");
                    assert!(
                        netra::http::error::CODES.contains(&code),
                        "{uri}: error without a known code: {answer}"
                    );
                }
                // Without a token every route is 401, whatever the target.
                if index == 0 {
                    let (status, _) = fixture.call(None, case.method.clone(), &uri, body).await;
                    if status != StatusCode::UNAUTHORIZED {
                        failures.push(format!("{} {uri} without a token: {status}", case.method));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_policy_table_covers_every_route_and_the_openapi_description_lists_them() {
    let mut table: Vec<(String, String)> = policy_table()
        .iter()
        .map(|c| (c.method.to_string(), c.path.to_string()))
        .collect();
    let mut routes: Vec<(String, String)> = netra::http::api_routes()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    table.sort();
    routes.sort();
    assert_eq!(
        table, routes,
        "a route without a policy-table row (or the reverse)"
    );

    let document = netra::http::openapi_document();
    let mut described: Vec<(String, String)> = Vec::new();
    for (path, methods) in document["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            described.push((method.to_uppercase(), path.clone()));
        }
    }
    described.sort();
    assert_eq!(described, routes);
}

#[tokio::test]
async fn the_openapi_description_is_served_and_every_described_route_exists() {
    let f = fixture();
    let (status, document) = f
        .call(None, Method::GET, "/api/v1/openapi.json", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    for (path, methods) in document["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            let uri = path.replace("{id}", "1");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, answer) = f
                .call(Some(f.token(Role::Admin)), method.clone(), &uri, None)
                .await;
            assert_ne!(answer["error"]["code"], "unknown_route", "{method} {uri}");
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        }
    }
    let (status, answer) = f
        .call(
            Some(f.token(Role::Admin)),
            Method::GET,
            "/api/v1/nothing",
            None,
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_route"))
    );
    let (status, _) = f
        .call(
            Some(f.token(Role::Admin)),
            Method::DELETE,
            "/api/v1/findings",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn another_units_finding_looks_exactly_like_a_missing_one() {
    let f = fixture();
    let reviewer = f.token(Role::Reviewer);
    let other = format!("/api/v1/findings/{}", f.finding_b.0);
    let (status_other, body_other) = f.call(Some(reviewer), Method::GET, &other, None).await;
    let (status_missing, body_missing) = f
        .call(Some(reviewer), Method::GET, "/api/v1/findings/999999", None)
        .await;
    assert_eq!(status_other, StatusCode::NOT_FOUND);
    assert_eq!(status_missing, StatusCode::NOT_FOUND);
    let shape = |v: &Value, id: u64| v.to_string().replace(&id.to_string(), "ID");
    assert_eq!(
        shape(&body_other, f.finding_b.0),
        shape(&body_missing, 999999)
    );
    // And the list shows only the reviewer's unit.
    let (_, list) = f
        .call(Some(reviewer), Method::GET, "/api/v1/findings", None)
        .await;
    let ids: Vec<u64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![f.finding_a.0]);
}

/// Everything a bad request could have touched.
fn snapshot(store: &Store) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        store.findings().unwrap(),
        store.employees().unwrap(),
        store.accounts().unwrap(),
        store.users().unwrap(),
        store.history(FindingId(1)).unwrap(),
        store.watched_accounts().unwrap(),
    )
}

#[tokio::test]
async fn bad_input_gets_a_named_4xx_and_changes_nothing() {
    let mut f = fixture();
    f.state.max_body_bytes = 4096;
    let reviewer = f.token(Role::Reviewer).to_string();
    let admin = f.token(Role::Admin).to_string();
    let decide = format!("/api/v1/findings/{}/decide", f.finding_a.0);
    let before = snapshot(&f.store);
    let cases: Vec<BadCase<'_>> = vec![
        (&reviewer, Method::POST, decide.clone(), Some(("application/json", "{\"status\":".into())), 400, "bad_json", "EOF"),
        (&reviewer, Method::POST, decide.clone(), json_body(json!({"status": "dismissed", "note": 5})), 400, "bad_json", "note"),
        (&reviewer, Method::POST, decide.clone(), json_body(json!({"status": "dismissed", "note": "x", "extra": 1})), 400, "bad_json", "extra"),
        (&reviewer, Method::POST, decide.clone(), json_body(json!({"status": "maybe", "note": "x"})), 400, "bad_request", "maybe"),
        (&reviewer, Method::POST, decide.clone(), json_body(json!({"status": "dismissed", "note": " "})), 409, "conflict", "note"),
        (&reviewer, Method::POST, decide.clone(), json_body(json!({"status": "escalated", "note": "x"})), 409, "conflict", "level"),
        (&reviewer, Method::POST, decide.clone(), json_body(json!({"status": "escalated", "note": "x", "level": "etik", "skb_form": "bogus"})), 409, "conflict", "bogus"),
        (&reviewer, Method::POST, decide.clone(), json_body(json!({"status": "reported", "note": "x"})), 409, "conflict", "'new' and cannot become 'reported'"),
        (&reviewer, Method::POST, decide.clone(), Some(("text/plain", "{}".into())), 415, "unsupported_media_type", "application/json"),
        (&reviewer, Method::POST, decide.clone(), Some(("application/json", format!("{{\"note\":\"{}\"}}", "a".repeat(10_000)))), 413, "body_too_large", "max_body_kib"),
        (&reviewer, Method::POST, "/api/v1/findings/abc/claim".into(), None, 400, "bad_request", "abc"),
        (&reviewer, Method::POST, "/api/v1/findings/424242/claim".into(), None, 404, "not_found", "424242"),
        (&reviewer, Method::GET, "/api/v1/findings?severity=extreme".into(), None, 400, "bad_request", "extreme"),
        (&reviewer, Method::GET, "/api/v1/findings?colour=red".into(), None, 400, "bad_request", "colour"),
        (&reviewer, Method::GET, "/api/v1/findings?from=yesterday".into(), None, 400, "bad_request", "yesterday"),
        (&reviewer, Method::POST, "/api/v1/findings/bulk".into(), json_body(json!({"ids": (1..=501).collect::<Vec<u64>>(), "status": "dismissed", "note": "x"})), 400, "bad_request", "500"),
        // One of two findings cannot be decided: neither is.
        (&admin, Method::POST, "/api/v1/findings/bulk".into(), json_body(json!({"ids": [f.finding_a.0, 777], "status": "dismissed", "note": "x"})), 404, "not_found", "777"),
        (&admin, Method::POST, "/api/v1/accounts/import".into(), Some(("text/csv",
            "employee_id,name,unit,position,status,platform,handle\n198501012010008888,Satu,kemenkumham/kanwil-sumsel/a,Analis,pns,bluesky,satu.bsky.social\n198501012010007777,Dua,kemenkumham/kanwil-sumsel/a,Analis,robot,bluesky,dua.bsky.social\n".into())),
            400, "bad_csv", "line 3, column status"),
        (&admin, Method::POST, "/api/v1/accounts/import".into(), Some(("text/csv", "nip,nama\n1,2\n".into())), 400, "bad_csv", "employee_id"),
        (&admin, Method::POST, "/api/v1/users".into(), json_body(json!({"name": "x y", "role": "reviewer", "unit": UNIT_A})), 400, "bad_request", "user name"),
        (&admin, Method::POST, "/api/v1/users".into(), json_body(json!({"name": "xy", "role": "boss", "unit": UNIT_A})), 400, "bad_request", "boss"),
        (&admin, Method::POST, "/api/v1/users".into(), json_body(json!({"name": "reviewer", "role": "reviewer", "unit": UNIT_A})), 409, "already_exists", "reviewer"),
        (&admin, Method::POST, "/api/v1/check".into(), json_body(json!({"text": "x", "kind": "dance"})), 400, "bad_request", "dance"),
    ];
    for (token, method, uri, body, status, code, mentions) in cases {
        let (got, answer) = f.call(Some(token), method.clone(), &uri, body).await;
        let message = answer["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string()
            + &answer["error"]["rows"].to_string();
        assert_eq!(got.as_u16(), status, "{method} {uri}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{method} {uri}: {answer}");
        assert!(
            message.contains(mentions),
            "{method} {uri}: '{message}' should name '{mentions}'"
        );
    }
    assert_eq!(
        snapshot(&f.store),
        before,
        "a refused request changed the store"
    );
    let (status, _) = f
        .call(
            Some(&reviewer),
            Method::POST,
            &decide,
            json_body(json!({"status": "dismissed", "note": "sudah dicek"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the valid request still works");
    assert_ne!(snapshot(&f.store), before);
}

#[tokio::test]
async fn two_reviewers_never_hold_one_finding_and_history_is_appended() {
    let f = fixture();
    let (_, second) = add_user(&f.store, "reviewer-2", Role::Reviewer, UNIT_A, false);
    let (_, senior) = add_user(&f.store, "senior", Role::Reviewer, UNIT_A, true);
    let first = f.token(Role::Reviewer).to_string();
    let base = format!("/api/v1/findings/{}", f.finding_a.0);
    let (status, claimed) = f
        .call(Some(&first), Method::POST, &format!("{base}/claim"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(claimed["status"], "in_review");
    let (status, refused) = f
        .call(Some(&second), Method::POST, &format!("{base}/claim"), None)
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let (status, _) = f
        .call(
            Some(&second),
            Method::POST,
            &format!("{base}/decide"),
            decide_body(),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a decision by someone else while held"
    );
    let escalate = json_body(
        json!({"status": "escalated", "note": "mengajak memilih paslon", "level": "disiplin_sedang", "skb_form": "invite_to_vote"}),
    );
    let (status, decided) = f
        .call(
            Some(&first),
            Method::POST,
            &format!("{base}/decide"),
            escalate,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["status"], "escalated");
    let (status, _) = f
        .call(
            Some(&first),
            Method::POST,
            &format!("{base}/reopen"),
            json_body(json!({"note": "x"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only a senior reviewer reopens"
    );
    let (status, reopened) = f
        .call(
            Some(&senior),
            Method::POST,
            &format!("{base}/reopen"),
            json_body(json!({"note": "bukti kurang"})),
        )
        .await;
    assert_eq!(
        (status, reopened["status"].as_str()),
        (StatusCode::OK, Some("new"))
    );
    let (_, detail) = f.call(Some(&senior), Method::GET, &base, None).await;
    let actions: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["claim", "decide", "reopen"]);
    assert_eq!(detail["history"][1]["level"], "disiplin_sedang");
    assert_eq!(detail["history"][1]["skb_form"], "invite_to_vote");
    assert!(detail["activity"]["text"]
        .as_str()
        .unwrap()
        .contains("coblos"));
    // Every change and the evidence read are in the audit log, and the chain holds.
    let actions: Vec<String> = f
        .store
        .audit_entries(0, 1000)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for wanted in [
        "ingest",
        "user.add",
        "token.create",
        "finding.claim",
        "finding.decide",
        "access.denied",
        "finding.reopen",
        "evidence.read",
    ] {
        assert!(
            actions.iter().any(|a| a == wanted),
            "{wanted} missing from {actions:?}"
        );
    }
    assert_eq!(f.store.verify_audit(None).unwrap().first_broken, None);
}

#[tokio::test]
async fn a_claim_expires_and_then_another_reviewer_may_take_it() {
    let f = fixture();
    let first = f.store.user_by_name("reviewer").unwrap().unwrap();
    let (second, _) = add_user(&f.store, "reviewer-2", Role::Reviewer, UNIT_A, false);
    let lease = jiff::SignedDuration::from_mins(15);
    let t0 = Timestamp::now();
    let claim = netra::review::Command::Claim;
    f.store
        .review(f.finding_a, &claim, &first, t0, lease)
        .unwrap();
    let early = f.store.review(
        f.finding_a,
        &claim,
        &second,
        t0 + jiff::SignedDuration::from_mins(14),
        lease,
    );
    assert!(early.is_err(), "still held");
    assert_eq!(
        f.store
            .release_expired_claims(t0 + jiff::SignedDuration::from_mins(10))
            .unwrap(),
        0
    );
    assert_eq!(
        f.store
            .release_expired_claims(t0 + jiff::SignedDuration::from_mins(16))
            .unwrap(),
        1
    );
    assert_eq!(
        f.store.finding(f.finding_a).unwrap().unwrap().review_state,
        netra::model::ReviewState::New
    );
    let taken = f
        .store
        .review(
            f.finding_a,
            &claim,
            &second,
            t0 + jiff::SignedDuration::from_mins(16),
            lease,
        )
        .unwrap();
    assert_eq!(taken.claim.unwrap().user_id, second.id);
}

#[tokio::test]
async fn findings_of_one_employee_about_one_entity_form_a_case() {
    let f = fixture();
    let account = f.store.accounts().unwrap()[0].id;
    let later = seed_finding(&f.store, &f.employee_a, account, 10);
    let far = seed_finding(&f.store, &f.employee_a, account, 100_000); // ~69 days later
    let first = f.store.finding(f.finding_a).unwrap().unwrap();
    assert_eq!(
        f.store.finding(later).unwrap().unwrap().case_id,
        first.case_id
    );
    assert_ne!(
        f.store.finding(far).unwrap().unwrap().case_id,
        first.case_id
    );
    let case = f.store.case(first.case_id.unwrap()).unwrap().unwrap();
    assert_eq!(case.finding_ids, vec![f.finding_a, later]);
    let (status, body) = f
        .call(
            Some(f.token(Role::Reviewer)),
            Method::GET,
            &format!("/api/v1/cases/{}", case.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["findings"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bulk_decisions_change_all_or_nothing() {
    let f = fixture();
    let account = f.store.accounts().unwrap()[0].id;
    let ids: Vec<u64> = (10..20)
        .map(|n| seed_finding(&f.store, &f.employee_a, account, n).0)
        .collect();
    let reviewer = f.token(Role::Reviewer);
    let (status, _) = f
        .call(
            Some(reviewer),
            Method::POST,
            &format!("/api/v1/findings/{}/decide", ids[3]),
            decide_body(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = f
        .call(
            Some(reviewer),
            Method::POST,
            "/api/v1/findings/bulk",
            json_body(json!({"ids": ids, "status": "dismissed", "note": "massal"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&format!("finding {}", ids[3])));
    let undecided = ids
        .iter()
        .filter(|id| {
            f.store
                .finding(FindingId(**id))
                .unwrap()
                .unwrap()
                .review_state
                == netra::model::ReviewState::New
        })
        .count();
    assert_eq!(undecided, 9, "the refused bulk decision changed nothing");
    let rest: Vec<u64> = ids.iter().copied().filter(|id| *id != ids[3]).collect();
    let (status, answer) = f
        .call(
            Some(reviewer),
            Method::POST,
            "/api/v1/findings/bulk",
            json_body(json!({"ids": rest, "status": "dismissed", "note": "massal"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["items"].as_array().unwrap().len(), 9);
}

#[tokio::test]
async fn revoking_a_token_disabling_a_user_or_changing_a_unit_applies_on_the_next_request() {
    let f = fixture();
    let admin = f.token(Role::Admin).to_string();
    let (user, secret) = add_user(&f.store, "r2", Role::Reviewer, UNIT_A, false);
    let list = "/api/v1/findings";
    assert_eq!(
        f.call(Some(&secret), Method::GET, list, None).await.0,
        StatusCode::OK
    );
    // Move the reviewer's unit: the list follows at once.
    let (status, _) = f
        .call(
            Some(&admin),
            Method::PATCH,
            &format!("/api/v1/users/{}", user.id),
            json_body(json!({"unit": format!("{UNIT_A}/lapas-lain")})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = f.call(Some(&secret), Method::GET, list, None).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 0);
    // Disable: refused at once.
    let (status, _) = f
        .call(
            Some(&admin),
            Method::PATCH,
            &format!("/api/v1/users/{}", user.id),
            json_body(json!({"active": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        f.call(Some(&secret), Method::GET, list, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A new token for an active user, then revoked: refused at once.
    let (status, created) = f
        .call(
            Some(&admin),
            Method::POST,
            &format!("/api/v1/users/{}/tokens", f.user_b.id),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "user B is outside the admin's unit: {created}"
    );
    let reviewer_id = f.store.user_by_name("reviewer").unwrap().unwrap().id;
    let (_, created) = f
        .call(
            Some(&admin),
            Method::POST,
            &format!("/api/v1/users/{reviewer_id}/tokens"),
            None,
        )
        .await;
    let fresh = created["token"].as_str().unwrap().to_string();
    assert!(fresh.starts_with("asnt_") && fresh.len() == 69);
    assert_eq!(
        f.call(Some(&fresh), Method::GET, list, None).await.0,
        StatusCode::OK
    );
    let (status, _) = f
        .call(
            Some(&admin),
            Method::POST,
            &format!("/api/v1/tokens/{}/revoke", created["id"]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        f.call(Some(&fresh), Method::GET, list, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // No secret is at rest: the dump holds neither token.
    let mut dump = Vec::new();
    f.store.export(&mut dump).unwrap();
    let dump = String::from_utf8(dump).unwrap();
    assert!(!dump.contains(&fresh) && !dump.contains(&secret));
    assert!(dump.contains(&access::token_digest(&fresh)));
}

#[tokio::test]
async fn a_token_over_its_rate_is_answered_429_with_retry_after() {
    let mut f = fixture();
    f.state.limiter = Arc::new(netra::http::auth::RateLimiter::new(5));
    let token = f.token(Role::Reviewer).to_string();
    for _ in 0..5 {
        assert_eq!(
            f.call(Some(&token), Method::GET, "/api/v1/me", None)
                .await
                .0,
            StatusCode::OK
        );
    }
    let request = Request::get("/api/v1/me")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = router(f.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    // Another token is not affected.
    assert_eq!(
        f.call(Some(f.token(Role::Admin)), Method::GET, "/api/v1/me", None)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn auditors_see_pseudonyms_never_a_nip() {
    let f = fixture();
    let admin = f.token(Role::Admin).to_string();
    let employee = format!("/api/v1/employees/{}/deactivate", f.employee_a.employee_id);
    assert_eq!(
        f.call(Some(&admin), Method::POST, &employee, None).await.0,
        StatusCode::OK
    );
    let auditor = f.token(Role::Auditor);
    let nip = regex::Regex::new(r"\b\d{18}\b").unwrap();
    let case_uri = format!(
        "/api/v1/cases/{}",
        f.store
            .finding(f.finding_a)
            .unwrap()
            .unwrap()
            .case_id
            .unwrap()
    );
    let finding_uri = format!("/api/v1/findings/{}", f.finding_a.0);
    let employee_uri = format!("/api/v1/employees/{}", f.employee_a.employee_id);
    for uri in [
        "/api/v1/findings",
        "/api/v1/cases",
        "/api/v1/employees",
        "/api/v1/accounts",
        "/api/v1/audit?limit=100",
        &case_uri,
        &finding_uri,
        &employee_uri,
    ] {
        let (status, body) = f.call(Some(auditor), Method::GET, uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        let text = body.to_string();
        for nip in [&f.employee_a.employee_id, &f.employee_b.employee_id] {
            assert!(
                !text.contains(nip.as_str()),
                "{uri} shows a NIP to an auditor: {text}"
            );
        }
        // Any other 18-digit number may only be a platform's post id, never a person.
        for found in nip.find_iter(&text) {
            assert!(
                text.contains(&format!("\"activity_id\":\"{}\"", found.as_str()))
                    || text.contains(&format!("\"platform_activity_id\":\"{}\"", found.as_str())),
                "{uri}: {}",
                found.as_str()
            );
        }
        assert!(
            !text.contains("Pegawai 1"),
            "{uri} shows a name to an auditor"
        );
    }
    let (_, body) = f.call(Some(auditor), Method::GET, &finding_uri, None).await;
    assert!(body["employee_id"].as_str().unwrap().starts_with("p-"));
    assert!(body.get("activity").is_none(), "auditors get no post text");
}

#[tokio::test]
async fn the_check_route_explains_like_the_command() {
    let f = fixture();
    let (status, body) = f
        .call(
            Some(f.token(Role::Registrar)),
            Method::POST,
            "/api/v1/check",
            json_body(json!({"text": "Ayo coblos Prabowo-Gibran nomor 2!"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let findings = body["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "{body}");
    assert!(findings[0]["reason"].as_str().unwrap().len() > 5);
    let (_, neutral) = f
        .call(
            Some(f.token(Role::Registrar)),
            Method::POST,
            "/api/v1/check",
            json_body(json!({"text": "KPU menetapkan jadwal debat capres 2024."})),
        )
        .await;
    assert_eq!(
        neutral["findings"].as_array().unwrap().len(),
        0,
        "{neutral}"
    );
}

/// The real server: a client that never finishes its headers is cut off, normal requests
/// still pass meanwhile, and a 10 MB body is refused with 413.
#[tokio::test]
async fn the_server_cuts_slow_headers_and_refuses_huge_bodies() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut f = fixture();
    f.state.max_body_bytes = 64 * 1024;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let limits = netra::http::server::Limits {
        header_read_timeout: std::time::Duration::from_secs(1),
        max_connections: 64,
        drain: std::time::Duration::from_secs(1),
    };
    let server = tokio::spawn(netra::http::server::serve(
        listener,
        router(f.state.clone()),
        limits,
        stop_rx,
    ));

    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    let started = std::time::Instant::now();
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.status(),
        200,
        "normal requests pass beside slow ones"
    );
    for mut stream in slow {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            stream.read_to_end(&mut buf),
        )
        .await;
        assert!(
            read.is_ok(),
            "a connection with unfinished headers stayed open"
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(4));

    let huge = client
        .post(format!("http://{addr}/api/v1/findings/1/decide"))
        .bearer_auth(f.token(Role::Reviewer))
        .header("content-type", "application/json")
        .body(vec![b' '; 10 << 20])
        .send()
        .await;
    match huge {
        Ok(response) => {
            assert_eq!(response.status(), 413);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "body_too_large");
        }
        // The server may close the connection while the client is still sending.
        Err(error) => assert!(error.is_request() || error.is_body(), "{error}"),
    }
    stop_tx.send(true).unwrap();
    server.await.unwrap().unwrap();
}
