//! Connectors against recorded platform responses replayed over loopback HTTP, and against
//! upstreams that misbehave.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::replay::{ReplayServer, Reply};
use netra::config::{self, ConfigSource};
use netra::model::{AccountId, AccountState, ActivityKind};
use netra::sources::mastodon::Mastodon;
use netra::sources::{AccountRef, FetchError, HttpClient, SourceError};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn client(timeout: Duration, max_body_kib: usize) -> HttpClient {
    let loaded = config::load(&ConfigSource::BuiltIn, Vec::new()).unwrap();
    let mut sources = loaded.config.sources;
    sources.max_body_bytes = max_body_kib * 1024;
    sources.connect_timeout = Duration::from_secs(2);
    HttpClient::new(&sources, timeout)
        .unwrap()
        .with_backoff_base(Duration::from_millis(10))
}

fn mastodon(base: &str, domain: &str) -> Mastodon {
    let instances = BTreeMap::from([(domain.to_string(), base.to_string())]);
    Mastodon::new(client(Duration::from_secs(5), 4096), instances)
}

fn account(handle: &str, platform_id: &str) -> AccountRef {
    AccountRef {
        account_id: AccountId(7),
        handle: handle.into(),
        platform_id: Some(platform_id.into()),
    }
}

#[tokio::test]
async fn mastodon_lookup_resolves_the_permanent_id_and_reports_unknown_accounts() {
    let server = ReplayServer::default();
    server
        .route(
            "/api/v1/accounts/lookup?acct=mastodonpy_test",
            Reply::fixture(&fixtures(), "mastodon_accounts_lookup_localdev.2", "json"),
        )
        .route(
            "/api/v1/accounts/lookup?acct=kljadklajsdkljlkjlkjlkjasdasd",
            Reply::fixture(&fixtures(), "mastodon_accounts_lookup_localdev.1", "json"),
        );
    let base = server.start().await;
    let connector = mastodon(&base, "localhost.example");
    let resolved = connector
        .resolve("@mastodonpy_test@localhost.example")
        .await
        .unwrap();
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("mastodon_accounts_lookup_localdev.2.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(resolved.platform_id, expected["id"].as_str().unwrap());
    assert_eq!(resolved.handle, "@mastodonpy_test@localhost.example");
    assert_eq!(resolved.state, AccountState::Ok);

    let missing = connector
        .resolve("@kljadklajsdkljlkjlkjlkjasdasd@localhost.example")
        .await
        .unwrap_err();
    assert!(
        matches!(
            missing,
            SourceError::Fetch(FetchError::Gone { status: 404, .. })
        ),
        "{missing}"
    );
    assert_eq!(missing.account_state(), AccountState::NotFound);
}

#[tokio::test]
async fn mastodon_timeline_yields_posts_boosts_and_replies_with_their_targets() {
    let server = ReplayServer::default();
    let statuses = "/api/v1/accounts/109302436954721982/statuses";
    server
        .route(
            statuses,
            Reply::fixture(
                &fixtures(),
                "mastodon_account_statuses_paginated_fosstodon.3",
                "json",
            ),
        )
        // One reply's parent is served (a real status recording); the others are gone (404).
        .route(
            "/api/v1/statuses/112965680130692904",
            Reply::fixture(&fixtures(), "mastodon_status_get_anon_fosstodon", "json"),
        );
    let base = server.start().await;
    let connector = mastodon(&base, "fosstodon.org");
    let page = connector
        .scan_own(
            &account("@schochastics@fosstodon.org", "109302436954721982"),
            None,
        )
        .await
        .unwrap();

    assert_eq!(page.activities.len(), 20);
    assert_eq!(
        page.cursor.as_deref(),
        Some("112967653709377671"),
        "newest id becomes the cursor"
    );
    let count = |kind| page.activities.iter().filter(|a| a.kind == kind).count();
    assert_eq!(
        (count(ActivityKind::Repost), count(ActivityKind::Reply)),
        (1, 7)
    );
    assert_eq!(count(ActivityKind::Post), 12);

    let boost = page
        .activities
        .iter()
        .find(|a| a.kind == ActivityKind::Repost)
        .unwrap();
    let target = boost.target.as_ref().unwrap();
    assert_eq!(target.author, "@termehs@fosstodon.org");
    assert!(boost
        .platform_activity_id
        .starts_with("repost:schochastics@fosstodon.org:https://"));
    assert!(boost.text.is_empty() && !target.text.is_empty());

    let reply = page
        .activities
        .iter()
        .find(|a| {
            a.url
                .as_deref()
                .is_some_and(|u| u.ends_with("112967653709377671"))
        })
        .unwrap();
    assert_eq!(reply.kind, ActivityKind::Reply);
    let parent = reply.target.as_ref().unwrap();
    assert_eq!(
        parent.author, "@schochastics@fosstodon.org",
        "fetched parent's author"
    );
    assert!(!parent.text.is_empty());
    let recorded: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("mastodon_account_statuses_paginated_fosstodon.3.json"))
            .unwrap(),
    )
    .unwrap();
    let recorded_time: jiff::Timestamp =
        recorded[0]["created_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(reply.occurred_at, recorded_time);

    let gone_parent = page
        .activities
        .iter()
        .find(|a| {
            a.url
                .as_deref()
                .is_some_and(|u| u.ends_with("112901800303897928"))
        })
        .unwrap();
    let gone_target = gone_parent.target.as_ref().unwrap();
    assert!(
        gone_target.text.is_empty(),
        "a deleted parent leaves no text"
    );
    assert!(
        !gone_target.author.is_empty(),
        "but its author comes from the mentions"
    );

    let edited = page
        .activities
        .iter()
        .find(|a| a.platform_activity_id.contains("112897829757115130"))
        .unwrap();
    assert!(edited
        .platform_activity_id
        .ends_with("#edited=2024-08-03T11:42:55.169Z"));

    // Text is plain: no markup left from Mastodon's HTML.
    assert!(page
        .activities
        .iter()
        .all(|a| !a.text.contains("<p>") && !a.text.contains("&amp;")));
    // Every activity points at the raw response it came from.
    let hashes: Vec<&str> = page.evidence.iter().map(|f| f.sha256.as_str()).collect();
    assert!(page
        .activities
        .iter()
        .all(|a| hashes.contains(&a.evidence.as_ref().unwrap().sha256.as_str())));
}

#[tokio::test]
async fn mastodon_catch_up_follows_prev_links_on_the_configured_host_only() {
    let server = ReplayServer::default();
    let statuses = "/api/v1/accounts/117020565966271181/statuses";
    server
        .route(
            &format!("{statuses}?limit=5&min_id=117020580452511285"),
            Reply::fixture(
                &fixtures(),
                "mastodon_account_statuses_localdev_pagination.2",
                "json",
            ),
        )
        .route(
            &format!("{statuses}?limit=5&min_id=117020580481736214"),
            Reply::fixture(
                &fixtures(),
                "mastodon_account_statuses_localdev_pagination.3",
                "json",
            ),
        )
        .route(
            &format!("{statuses}?limit=5&min_id=117020580518794573"),
            Reply::json(200, "[]"),
        );
    let base = server.start().await;
    let connector = mastodon(&base, "localdev.example").with_page_limit(5);
    // Page 2 of the recording holds the five statuses after ...452511285 except itself; its
    // `prev` link (recorded on localhost:3000) continues the catch-up.
    let page = connector
        .scan_own(
            &account("@admin@localdev.example", "117020565966271181"),
            Some("117020580452511285"),
        )
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "{requests:#?}");
    assert!(requests[1].ends_with("min_id=117020580481736214"));
    assert_eq!(page.activities.len(), 10);
    assert_eq!(page.cursor.as_deref(), Some("117020580518794573"));
}

#[tokio::test]
async fn mastodon_reverse_interactions_find_registered_likers_boosters_and_repliers() {
    let server = ReplayServer::default();
    let post_id = "109294719267373593";
    // The watched account's recent post: the context fixture's root status.
    let context: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("mastodon_status_context_anon_mastodon.social.json"))
            .unwrap(),
    )
    .unwrap();
    let mut root = context["descendants"][0].clone();
    root["id"] = post_id.into();
    root["in_reply_to_id"] = serde_json::Value::Null;
    root["uri"] = "https://mastodon.social/users/Gargron/statuses/109294719267373593".into();
    root["account"]["acct"] = "Gargron".into();
    server
        .route(
            "/api/v1/accounts/1/statuses",
            Reply::json(200, &serde_json::json!([root]).to_string()),
        )
        .route(
            &format!("/api/v1/statuses/{post_id}/favourited_by"),
            Reply::fixture(
                &fixtures(),
                "mastodon_status_favourited_by_anon_mastodon.social",
                "json",
            ),
        )
        .route(
            &format!("/api/v1/statuses/{post_id}/favourited_by?max_id=48110189"),
            Reply::json(200, "[]"),
        )
        .route(
            &format!("/api/v1/statuses/{post_id}/reblogged_by"),
            Reply::fixture(
                &fixtures(),
                "mastodon_status_reblogged_by_anon_mastodon.social",
                "json",
            ),
        )
        .route(
            &format!("/api/v1/statuses/{post_id}/context"),
            Reply::fixture(
                &fixtures(),
                "mastodon_status_context_anon_mastodon.social",
                "json",
            ),
        );
    let base = server.start().await;
    let connector = mastodon(&base, "mastodon.social");

    let liker = "cumulonimbus@infosec.exchange";
    let replier = format!(
        "{}@mastodon.social",
        context["descendants"][0]["account"]["acct"]
            .as_str()
            .unwrap()
            .to_lowercase()
    );
    let registered: HashMap<String, AccountRef> = [
        (
            liker.to_string(),
            AccountRef {
                account_id: AccountId(11),
                handle: format!("@{liker}"),
                platform_id: None,
            },
        ),
        (
            replier.clone(),
            AccountRef {
                account_id: AccountId(12),
                handle: format!("@{replier}"),
                platform_id: None,
            },
        ),
    ]
    .into();
    let page = connector
        .scan_reverse(&account("@Gargron@mastodon.social", "1"), &registered, 20)
        .await
        .unwrap();

    let likes: Vec<_> = page
        .activities
        .iter()
        .filter(|a| a.kind == ActivityKind::Like)
        .collect();
    assert_eq!(likes.len(), 1, "only registered likers count");
    assert_eq!(likes[0].account_id, AccountId(11));
    assert!(
        !likes[0].time_exact,
        "Mastodon does not say when a like happened"
    );
    assert_eq!(
        likes[0].target.as_ref().unwrap().author,
        "@gargron@mastodon.social"
    );
    assert_eq!(
        likes[0].platform_activity_id,
        format!("like:{liker}:https://mastodon.social/users/Gargron/statuses/109294719267373593")
    );
    let replies: Vec<_> = page
        .activities
        .iter()
        .filter(|a| a.kind == ActivityKind::Reply)
        .collect();
    assert!(!replies.is_empty());
    assert!(replies
        .iter()
        .all(|r| r.account_id == AccountId(12) && !r.text.is_empty()));
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.ends_with("max_id=48110189")),
        "favourited_by paged"
    );
}

#[tokio::test]
async fn hostile_upstreams_give_typed_errors_within_the_timeout() {
    let server = ReplayServer::default();
    let statuses = |id: &str| format!("/api/v1/accounts/{id}/statuses");
    server
        .route(
            &statuses("1"),
            Reply::Huge {
                bytes: 64 * 1024 * 1024,
            },
        )
        .route(
            &statuses("2"),
            Reply::Fixed {
                status: 200,
                headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
                body: b"<html><body>Maintenance</body></html>".to_vec(),
            },
        )
        .route(&statuses("3"), Reply::json(200, "{\"not\": \"a list\""))
        .route(&statuses("4"), Reply::RedirectLoop)
        .route(&statuses("5"), Reply::RedirectAway)
        .route(
            &statuses("6"),
            Reply::Trickle {
                every: Duration::from_millis(300),
                body: b"[]".repeat(50),
            },
        )
        .route(
            &statuses("7"),
            Reply::json(429, "{\"error\":\"Too many requests\"}")
                .with_header("x-ratelimit-remaining", "0")
                .with_header("x-ratelimit-reset", "2999-01-01T00:00:00Z"),
        )
        .route(&statuses("8"), Reply::json(503, "{\"error\":\"busy\"}"))
        .route(&statuses("9"), Reply::json(200, "[]"));
    let base = server.start().await;
    let timeout = Duration::from_secs(2);
    let instances = BTreeMap::from([("m.example".to_string(), base.clone())]);
    let connector = Mastodon::new(client(timeout, 256), instances);

    let scan = |id: &'static str| {
        let connector = connector.clone();
        async move {
            let started = Instant::now();
            let result = connector
                .scan_own(&account("@a@m.example", id), Some("100"))
                .await;
            (result, started.elapsed())
        }
    };
    let (huge, _) = scan("1").await;
    assert!(
        matches!(
            huge,
            Err(SourceError::Fetch(FetchError::TooLarge {
                limit: 262144,
                ..
            }))
        ),
        "{huge:?}"
    );
    let (html, _) = scan("2").await;
    assert!(
        matches!(
            html,
            Err(SourceError::Fetch(FetchError::UnexpectedContentType { .. }))
        ),
        "{html:?}"
    );
    let (garbage, _) = scan("3").await;
    assert!(
        matches!(
            garbage,
            Err(SourceError::Fetch(FetchError::Malformed { .. }))
        ),
        "{garbage:?}"
    );
    let (looping, _) = scan("4").await;
    assert!(
        matches!(
            looping,
            Err(SourceError::Fetch(FetchError::Redirect { .. }))
        ),
        "{looping:?}"
    );
    let (away, _) = scan("5").await;
    assert!(
        matches!(away, Err(SourceError::Fetch(FetchError::Redirect { .. }))),
        "{away:?}"
    );
    let (slow, elapsed) = scan("6").await;
    assert!(
        matches!(slow, Err(SourceError::Fetch(FetchError::Timeout { .. }))),
        "{slow:?}"
    );
    assert!(elapsed < timeout * 3, "gave up after {elapsed:?}");
    let (limited, _) = scan("7").await;
    match limited {
        Err(SourceError::Fetch(FetchError::RateLimited {
            retry_after: Some(wait),
            ..
        })) => {
            assert!(
                wait > Duration::from_secs(3600),
                "waits until the reset header: {wait:?}"
            )
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
    let (failing, _) = scan("8").await;
    assert!(
        matches!(
            failing,
            Err(SourceError::Fetch(FetchError::Server {
                status: 503,
                attempts: 3,
                ..
            }))
        ),
        "{failing:?}"
    );
    // None of the failures moved a cursor (they returned no page at all), and a healthy
    // account on the same host still scans.
    let (healthy, _) = scan("9").await;
    let healthy = healthy.unwrap();
    assert!(
        healthy.activities.is_empty() && healthy.cursor.is_none(),
        "an empty page keeps the old cursor"
    );
    let requests_for = |id: &str| {
        server
            .requests()
            .iter()
            .filter(|r| r.starts_with(&statuses(id)))
            .count()
    };
    assert_eq!(requests_for("8"), 3, "5xx is retried, then given up");
    assert_eq!(
        requests_for("7"),
        1,
        "a long rate-limit wait goes back to the scheduler"
    );
}
