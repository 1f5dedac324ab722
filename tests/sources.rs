//! Connectors against recorded platform responses replayed over loopback HTTP, and against
//! upstreams that misbehave.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::replay::{ReplayServer, Reply};
use netra::config::{self, ConfigSource};
use netra::model::{AccountId, AccountState, ActivityKind};
use netra::sources::bluesky::Bluesky;
use netra::sources::mastodon::Mastodon;
use netra::sources::rss::Rss;
use netra::sources::x::X;
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
            None,
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
        .scan_reverse(
            &account("@Gargron@mastodon.social", "1"),
            &registered,
            jiff::Timestamp::UNIX_EPOCH,
        )
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
        .route(&statuses("9"), Reply::json(200, "[]"))
        .route(
            &statuses("10"),
            Reply::GzipBomb {
                inflated: 256 * 1024 * 1024,
            },
        );
    let base = server.start().await;
    let timeout = Duration::from_secs(2);
    let instances = BTreeMap::from([("m.example".to_string(), base.clone())]);
    let connector = Mastodon::new(client(timeout, 256), instances);

    let scan = |id: &'static str| {
        let connector = connector.clone();
        async move {
            let started = Instant::now();
            let result = connector
                .scan_own(&account("@a@m.example", id), Some("100"), None)
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
    let rss_before = resident_bytes();
    let (bomb, _) = scan("10").await;
    assert!(
        matches!(bomb, Err(SourceError::Fetch(FetchError::TooLarge { .. }))),
        "{bomb:?}"
    );
    let growth = resident_bytes().saturating_sub(rss_before);
    assert!(
        growth < 64 * 1024 * 1024,
        "a 256 MiB bomb grew memory by {growth} bytes"
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

fn fixture_json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixtures().join(name)).unwrap()).unwrap()
}

fn bluesky(base: &str) -> Bluesky {
    Bluesky::new(
        client(Duration::from_secs(5), 4096),
        format!("{base}/appview"),
        format!("{base}/plc"),
    )
}

const OSMOTE: &str = "did:plc:etdcb47v54mwv2wdufhi4tu6";

/// The recorded author feed of osmote.net, a DID document pointing at our PDS, and two like
/// records (no real capture of `listRecords` exists; built after its lexicon): one of a post
/// that `getPosts` returns, one of a post that is gone.
async fn bluesky_server() -> (ReplayServer, String) {
    let server = ReplayServer::default();
    let base = server.start().await;
    let mut did_doc = fixture_json("bsky_plc_directory_did_doc.json");
    did_doc["id"] = OSMOTE.into();
    did_doc["service"][0]["serviceEndpoint"] = format!("{base}/pds").into();
    let feed = fixture_json("bsky_getAuthorFeed_2024_osmote.json");
    let liked_post = feed["feed"][0]["post"].clone();
    let liked_uri = liked_post["uri"].as_str().unwrap().to_string();
    let gone_uri = "at://did:plc:gone/app.bsky.feed.post/3kgone";
    let likes = serde_json::json!({
        "cursor": "3kk7zzz",
        "records": [
            {"uri": format!("at://{OSMOTE}/app.bsky.feed.like/3kk7b"), "cid": "bafy1",
             "value": {"$type": "app.bsky.feed.like", "subject": {"uri": liked_uri, "cid": "c1"},
                       "createdAt": "2024-01-30T16:07:00.000Z"}},
            {"uri": format!("at://{OSMOTE}/app.bsky.feed.like/3kk7a"), "cid": "bafy2",
             "value": {"$type": "app.bsky.feed.like", "subject": {"uri": gone_uri, "cid": "c2"},
                       "createdAt": "2024-01-29T08:00:00.000Z"}}
        ]
    });
    server
        .route(
            "/appview/xrpc/app.bsky.actor.getProfile",
            Reply::json(
                200,
                &std::fs::read_to_string(fixtures().join("bsky_getProfile_bsky.app_2024.json"))
                    .unwrap(),
            ),
        )
        .route(
            "/appview/xrpc/app.bsky.feed.getAuthorFeed",
            Reply::json(200, &feed.to_string()),
        )
        .route(
            &format!("/plc/{OSMOTE}"),
            Reply::json(200, &did_doc.to_string()),
        )
        .route(
            "/pds/xrpc/com.atproto.repo.listRecords",
            Reply::json(200, &likes.to_string()),
        )
        .route(
            "/appview/xrpc/app.bsky.feed.getPosts",
            Reply::json(200, &serde_json::json!({"posts": [liked_post]}).to_string()),
        );
    (server, base)
}

#[tokio::test]
async fn bluesky_profile_resolves_to_the_did() {
    let (_server, base) = bluesky_server().await;
    let resolved = bluesky(&base).resolve("bsky.app").await.unwrap();
    assert_eq!(resolved.platform_id, "did:plc:z72i7hdynmk6r22z27h6tvur");
    assert_eq!(resolved.handle, "bsky.app");
    let bad = bluesky(&base).resolve("no handle").await.unwrap_err();
    assert!(matches!(bad, SourceError::BadHandle { .. }), "{bad}");
}

#[tokio::test]
async fn bluesky_feed_and_like_records_become_activities_and_the_cursor_stops_rescans() {
    let (server, base) = bluesky_server().await;
    let connector = bluesky(&base);
    let osmote = AccountRef {
        account_id: AccountId(3),
        handle: "osmote.net".into(),
        platform_id: Some(OSMOTE.into()),
    };
    let page = connector.scan_own(&osmote, None, None).await.unwrap();

    let count = |kind| page.activities.iter().filter(|a| a.kind == kind).count();
    assert_eq!(count(ActivityKind::Repost), 23);
    assert_eq!(count(ActivityKind::Quote), 2);
    assert_eq!(count(ActivityKind::Reply), 20);
    assert_eq!(count(ActivityKind::Post), 5);
    assert_eq!(count(ActivityKind::Like), 2);

    let repost = page
        .activities
        .iter()
        .find(|a| a.kind == ActivityKind::Repost)
        .unwrap();
    assert_eq!(
        repost.target.as_ref().unwrap().author,
        "@rikergoogling.bsky.social"
    );
    assert!(repost
        .platform_activity_id
        .starts_with(&format!("repost:{OSMOTE}:at://")));
    let quote = page
        .activities
        .iter()
        .find(|a| a.kind == ActivityKind::Quote)
        .unwrap();
    assert_eq!(
        quote.target.as_ref().unwrap().text,
        "I smoked a motor on my drone :-("
    );
    let reply = page
        .activities
        .iter()
        .find(|a| a.kind == ActivityKind::Reply)
        .unwrap();
    assert!(
        !reply.target.as_ref().unwrap().text.is_empty(),
        "the parent's text comes along"
    );

    let likes: Vec<_> = page
        .activities
        .iter()
        .filter(|a| a.kind == ActivityKind::Like)
        .collect();
    assert_eq!(
        likes[0].target.as_ref().unwrap().author,
        "@rikergoogling.bsky.social"
    );
    assert!(
        !likes[0].target.as_ref().unwrap().text.is_empty(),
        "the liked post is resolved"
    );
    assert_eq!(likes[0].occurred_at.to_string(), "2024-01-30T16:07:00Z");
    assert_eq!(
        likes[1].target.as_ref().unwrap().author,
        "did:plc:gone",
        "a gone post keeps its author"
    );
    assert!(server
        .requests()
        .iter()
        .any(|r| r.starts_with("/pds/xrpc/com.atproto.repo.listRecords?repo=did%3Aplc%3A")));

    // The same responses again: everything was seen, nothing new, the cursor stays.
    let cursor = page.cursor.clone().expect("a first scan sets the cursor");
    let again = connector
        .scan_own(&osmote, Some(&cursor), None)
        .await
        .unwrap();
    assert!(
        again.activities.is_empty(),
        "{:?}",
        again
            .activities
            .iter()
            .map(|a| &a.platform_activity_id)
            .collect::<Vec<_>>()
    );
    assert_eq!(again.cursor, None);
}

#[tokio::test]
async fn bluesky_reverse_interactions_find_registered_likers_reposters_and_repliers() {
    let server = ReplayServer::default();
    let base = server.start().await;
    let thread = fixture_json("bsky_getPostThread_2024.json");
    let root = thread["thread"]["post"].clone();
    let candidate_did = root["author"]["did"].as_str().unwrap().to_string();
    let replier_did = thread["thread"]["replies"][0]["post"]["author"]["did"]
        .as_str()
        .unwrap()
        .to_string();
    let feed = serde_json::json!({"feed": [{"post": root}]});
    let profile = |did: &str, handle: &str| serde_json::json!({"did": did, "handle": handle});
    let likes = serde_json::json!({"uri": root["uri"], "likes": [
        {"indexedAt": "2024-02-01T00:00:01Z", "createdAt": "2024-02-01T00:00:00Z", "actor": profile("did:plc:pegawai1", "pegawai1.bsky.social")},
        {"indexedAt": "2024-02-01T00:00:01Z", "createdAt": "2024-02-01T00:00:00Z", "actor": profile("did:plc:stranger", "stranger.bsky.social")}
    ]});
    let reposts = serde_json::json!({"uri": root["uri"], "repostedBy": [profile("did:plc:pegawai1", "pegawai1.bsky.social")]});
    server
        .route(
            "/appview/xrpc/app.bsky.feed.getAuthorFeed",
            Reply::json(200, &feed.to_string()),
        )
        .route(
            "/appview/xrpc/app.bsky.feed.getLikes",
            Reply::json(200, &likes.to_string()),
        )
        .route(
            "/appview/xrpc/app.bsky.feed.getRepostedBy",
            Reply::json(200, &reposts.to_string()),
        )
        .route(
            "/appview/xrpc/app.bsky.feed.getPostThread",
            Reply::json(200, &thread.to_string()),
        );
    let registered: HashMap<String, AccountRef> = [
        (
            "did:plc:pegawai1".to_string(),
            AccountRef {
                account_id: AccountId(21),
                handle: "pegawai1.bsky.social".into(),
                platform_id: Some("did:plc:pegawai1".into()),
            },
        ),
        (
            replier_did.clone(),
            AccountRef {
                account_id: AccountId(22),
                handle: "r.bsky.social".into(),
                platform_id: Some(replier_did.clone()),
            },
        ),
    ]
    .into();
    let watched = AccountRef {
        account_id: AccountId(1),
        handle: "kandidat.bsky.social".into(),
        platform_id: Some(candidate_did),
    };
    let page = bluesky(&base)
        .scan_reverse(&watched, &registered, jiff::Timestamp::UNIX_EPOCH)
        .await
        .unwrap();
    let kinds: Vec<(ActivityKind, AccountId)> = page
        .activities
        .iter()
        .map(|a| (a.kind, a.account_id))
        .collect();
    assert_eq!(
        kinds,
        [
            (ActivityKind::Like, AccountId(21)),
            (ActivityKind::Repost, AccountId(21)),
            (ActivityKind::Reply, AccountId(22))
        ]
    );
    assert!(page.activities[0].time_exact && !page.activities[1].time_exact);
    assert!(!page.activities[2].text.is_empty());
    assert_eq!(
        page.activities[0].platform_activity_id,
        format!("like:did:plc:pegawai1:{}", root["uri"].as_str().unwrap())
    );
}

fn x_connector(base: &str) -> X {
    X::new(
        client(Duration::from_secs(5), 4096),
        base.to_string(),
        netra::config::Secret::new("AAAA-test-token".into()),
    )
}

#[tokio::test]
async fn x_timeline_expands_retweets_replies_and_quotes_with_the_bearer_token() {
    let server = ReplayServer::default();
    server.route(
        "/2/users/2832986725/tweets",
        Reply::fixture(
            &fixtures(),
            "x_v2_users_tweets_expanded_rt_reply_quote_2021",
            "json",
        ),
    );
    server.route(
        "/2/users/by/username/Twitter",
        Reply::fixture(&fixtures(), "x_v2_users_by_username_tweepy", "json"),
    );
    let base = server.start().await;
    let connector = x_connector(&base);
    let resolved = connector.resolve("@Twitter").await.unwrap();
    assert_eq!(
        (resolved.platform_id.as_str(), resolved.handle.as_str()),
        ("783214", "@Twitter")
    );
    assert!(matches!(
        connector.resolve("@bukan handle").await,
        Err(SourceError::BadHandle { .. })
    ));

    let page = connector
        .scan_own(
            &AccountRef {
                account_id: AccountId(5),
                handle: "@IttefaqM".into(),
                platform_id: Some("2832986725".into()),
            },
            None,
            None,
        )
        .await
        .unwrap();
    let count = |kind| page.activities.iter().filter(|a| a.kind == kind).count();
    assert_eq!(page.activities.len(), 22);
    assert_eq!(
        (
            count(ActivityKind::Repost),
            count(ActivityKind::Reply),
            count(ActivityKind::Quote)
        ),
        (12, 6, 2)
    );
    assert_eq!(page.cursor.as_deref(), Some("1400193111150706693"));
    let retweet = &page.activities[0];
    assert_eq!(retweet.kind, ActivityKind::Repost);
    let target = retweet.target.as_ref().unwrap();
    assert_eq!(target.author, "@KUnews");
    assert!(
        !target.text.starts_with("RT @") && !target.text.ends_with('\u{2026}'),
        "full text from includes: {}",
        target.text
    );
    assert_eq!(
        retweet.platform_activity_id,
        "repost:2832986725:1400180419086090244"
    );

    let heads = server.heads.lock().unwrap().clone();
    assert!(heads.iter().all(|h| h
        .to_ascii_lowercase()
        .contains("authorization: bearer aaaa-test-token")));
}

#[tokio::test]
async fn x_errors_inside_a_200_are_errors_and_catch_up_walks_pages_down_to_the_cursor() {
    let server = ReplayServer::default();
    server.route(
        "/2/users/1405327120163872777/tweets",
        Reply::fixture(
            &fixtures(),
            "x_v2_users_tweets_user_not_found_200_with_errors_2021",
            "json",
        ),
    );
    let paginated = "/2/users/460255655/tweets";
    server.route(
        paginated,
        Reply::fixture(
            &fixtures(),
            "x_v2_users_tweets_paginated_2021_page_with_next_and_prev",
            "json",
        ),
    );
    let base = server.start().await;
    let connector = x_connector(&base);
    let gone = connector
        .scan_own(
            &AccountRef {
                account_id: AccountId(6),
                handle: "@hilang".into(),
                platform_id: Some("1405327120163872777".into()),
            },
            Some("1"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(gone.account_state(), AccountState::NotFound, "{gone}");

    // Every page of this recording says there is a next page; the walk is bounded, and the
    // pagination token of the recording is passed on.
    let page = connector
        .scan_own(
            &AccountRef {
                account_id: AccountId(7),
                handle: "@akun".into(),
                platform_id: Some("460255655".into()),
            },
            Some("1399397831383920000"),
            None,
        )
        .await
        .unwrap();
    let requests = server.requests();
    let walked: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with(paginated))
        .collect();
    assert!(walked.len() > 1 && walked.len() <= 10, "{}", walked.len());
    assert!(walked[0].contains("since_id=1399397831383920000"));
    assert!(walked[1].contains("pagination_token=7140dibdnow9c7btw3w4sp2kq4wpgzoib1w43dhc456pe"));
    assert_eq!(page.cursor.as_deref(), Some("1399925617651552259"));
}

#[tokio::test]
async fn rss_feed_items_become_posts_and_the_cursor_skips_what_was_seen() {
    let server = ReplayServer::default();
    let xml = std::fs::read(fixtures().join("mastodon_user_rss_m.cmx.im_nova.xml")).unwrap();
    server
        .route(
            "/@nova.rss",
            Reply::Fixed {
                status: 200,
                headers: vec![(
                    "content-type".into(),
                    "application/rss+xml; charset=utf-8".into(),
                )],
                body: xml,
            },
        )
        .route("/not-a-feed", Reply::json(200, "{}"));
    let base = server.start().await;
    let connector = Rss::new(client(Duration::from_secs(5), 4096));
    let feed_url = format!("{base}/@nova.rss");
    let account = AccountRef {
        account_id: AccountId(9),
        handle: feed_url.clone(),
        platform_id: Some(feed_url.clone()),
    };

    let resolved = connector.resolve(&feed_url).await.unwrap();
    assert_eq!(resolved.platform_id, feed_url);
    let page = connector.scan_own(&account, None, None).await.unwrap();
    assert_eq!(page.activities.len(), 20);
    let first = &page.activities[0];
    assert_eq!(
        first.platform_activity_id,
        "https://m.cmx.im/@nova/111949503705606861"
    );
    assert_eq!(first.kind, ActivityKind::Post);
    assert!(first.text.starts_with("早上发现自己一直在梦里哭") && !first.text.contains("<p>"));
    assert_eq!(first.occurred_at.to_string(), "2024-02-17T23:51:02Z");
    assert_eq!(page.cursor.as_deref(), Some("2024-02-17T23:51:02Z"));

    let again = connector
        .scan_own(&account, page.cursor.as_deref(), None)
        .await
        .unwrap();
    assert!(again.activities.is_empty() && again.cursor.is_none());

    let wrong = connector
        .resolve(&format!("{base}/not-a-feed"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            wrong,
            SourceError::Fetch(FetchError::UnexpectedContentType { .. })
        ),
        "{wrong}"
    );
    assert!(matches!(
        connector.resolve("@nova@m.cmx.im").await,
        Err(SourceError::BadHandle { .. })
    ));
}

/// Resident memory of this process, from /proc (Linux).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[test]
fn every_platform_declares_what_it_can_see() {
    use netra::model::Platform;
    use netra::sources::Sources;
    for platform in [
        Platform::Mastodon,
        Platform::Bluesky,
        Platform::Rss,
        Platform::X,
    ] {
        let capabilities = Sources::capabilities(platform).unwrap();
        assert_eq!(capabilities.platform, platform);
        assert!(capabilities.own_kinds.contains(&ActivityKind::Post));
        assert!(!capabilities.note.is_empty());
    }
    assert!(Sources::capabilities(Platform::X).unwrap().needs_token);
    assert!(!Sources::capabilities(Platform::X)
        .unwrap()
        .own_kinds
        .contains(&ActivityKind::Like));
    assert!(Sources::capabilities(Platform::Bluesky)
        .unwrap()
        .own_kinds
        .contains(&ActivityKind::Like));
    assert!(Sources::capabilities(Platform::Mastodon)
        .unwrap()
        .reverse_kinds
        .contains(&ActivityKind::Like));
    assert!(Sources::capabilities(Platform::Facebook).is_none());
}

#[tokio::test]
async fn without_a_token_x_is_refused_and_facebook_is_import_only() {
    use netra::model::Platform;
    let loaded = config::load(&ConfigSource::BuiltIn, Vec::new()).unwrap();
    let sources = netra::sources::Sources::from_config(&loaded.config).unwrap();
    let x = sources.resolve(Platform::X, "@budi").await.unwrap_err();
    assert!(x.to_string().contains("no bearer token"), "{x}");
    let facebook = sources
        .resolve(Platform::Facebook, "budi")
        .await
        .unwrap_err();
    assert!(
        facebook.to_string().contains("import-activities"),
        "{facebook}"
    );
}

#[tokio::test]
async fn mastodon_first_scan_backfills_older_pages_down_to_the_horizon() {
    let server = ReplayServer::default();
    let path = "/api/v1/accounts/109302436954721982/statuses";
    let name = |i: usize| format!("mastodon_account_statuses_paginated_fosstodon.{i}");
    server.route(path, Reply::fixture(&fixtures(), &name(1), "json"));
    // Each later page is served at the query of the previous page's recorded `next` link.
    for i in 2..=5 {
        let previous = fixture_json(&format!("{}.headers.json", name(i - 1)));
        let link = previous["headers"]["link"].as_str().unwrap();
        let next = link
            .split(',')
            .find(|part| part.contains("rel=\"next\""))
            .unwrap();
        let query = next.split('?').nth(1).unwrap().split('>').next().unwrap();
        server.route(
            &format!("{path}?{query}"),
            Reply::fixture(&fixtures(), &name(i), "json"),
        );
    }
    let base = server.start().await;
    let connector = mastodon(&base, "fosstodon.org").with_page_limit(20);
    let since: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    let page = connector
        .scan_own(
            &account("@schochastics@fosstodon.org", "109302436954721982"),
            None,
            Some(since),
        )
        .await
        .unwrap();

    let mut expected = 0;
    for i in 1..=3 {
        let statuses = fixture_json(&format!("{}.json", name(i)));
        expected += statuses
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| {
                s["created_at"]
                    .as_str()
                    .unwrap()
                    .parse::<jiff::Timestamp>()
                    .unwrap()
                    >= since
            })
            .count();
    }
    assert_eq!(page.activities.len(), expected);
    assert!(page.activities.iter().all(|a| a.occurred_at >= since));
    let timeline_requests = server
        .requests()
        .iter()
        .filter(|r| r.starts_with(path))
        .count();
    assert_eq!(
        timeline_requests, 3,
        "page 3 reaches back past the horizon, so page 4 is not read"
    );
    assert_eq!(
        page.cursor.as_deref(),
        Some(
            fixture_json(&format!("{}.json", name(1)))[0]["id"]
                .as_str()
                .unwrap()
        )
    );
}
