//! The simulator over real loopback HTTP: paging semantics (Mastodon ids and Link headers,
//! Bluesky cursors, PDS listRecords), interaction lists, response shapes against the real
//! fixtures, determinism, and live activity. Each walk is compared with the population's
//! ground truth: every scripted item exactly once.

use std::collections::BTreeSet;

use netra::model::{ActivityKind, Platform};
use netra::simulator::{self, Population, RunningSimulator, SimConfig};
use reqwest::header::HeaderMap;
use serde_json::Value;

async fn start(seed: u64) -> RunningSimulator {
    simulator::spawn(SimConfig {
        seed,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("client")
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, HeaderMap, Value) {
    let response = client.get(url).send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json::<Value>().await.expect("json body");
    (status, headers, body)
}

/// The URL of `rel` in a Link header.
fn link(headers: &HeaderMap, rel: &str) -> Option<String> {
    let value = headers.get("link")?.to_str().ok()?;
    value.split(", <").find_map(|part| {
        let (url, params) = part.trim_start_matches('<').split_once('>')?;
        params
            .contains(&format!("rel=\"{rel}\""))
            .then(|| url.to_string())
    })
}

fn ids(body: &Value) -> Vec<String> {
    body.as_array()
        .expect("array")
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().expect("object").keys().cloned().collect()
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/../shared/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("fixture json")
}

/// Mastodon status ids of `account`, oldest first.
fn mastodon_statuses(pop: &Population, account: usize) -> Vec<String> {
    pop.index.by_actor[account]
        .iter()
        .map(|&i| &pop.activities[i])
        .filter(|a| a.is_mastodon_status())
        .map(|a| a.id.clone())
        .collect()
}

fn masto_base(sim: &RunningSimulator, domain: &str) -> String {
    format!("{}/mastodon/{domain}", sim.base_url)
}

#[tokio::test]
async fn mastodon_statuses_page_like_mastodon() {
    let sim = start(11).await;
    let pop = sim.state.snapshot();
    let http = client();
    let account = pop
        .find_account("@kabarnusantara@mastodon.example")
        .expect("news account");
    let truth = mastodon_statuses(&pop, account);
    assert!(
        truth.len() > 40,
        "needs more than one capped page, has {}",
        truth.len()
    );
    let base = masto_base(&sim, "mastodon.example");

    let (status, headers, found) = get(
        &http,
        &format!("{base}/api/v1/accounts/lookup?acct=kabarnusantara"),
    )
    .await;
    assert_eq!(status, 200);
    let id = found["id"].as_str().expect("id").to_string();
    assert_eq!(id, pop.accounts[account].platform_id);
    for header in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(headers.contains_key(header), "{header}");
    }
    let reset = headers["x-ratelimit-reset"].to_str().expect("ascii");
    assert!(
        reset.parse::<jiff::Timestamp>().is_ok(),
        "ISO reset: {reset}"
    );

    // Older pages through Link rel="next" (max_id): every status once, newest first.
    let statuses = format!("{base}/api/v1/accounts/{id}/statuses");
    let mut url = format!("{statuses}?limit=7");
    let mut walked = Vec::new();
    for _ in 0..100 {
        let (status, headers, page) = get(&http, &url).await;
        assert_eq!(status, 200);
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 7);
        walked.extend(page_ids);
        match link(&headers, "next") {
            Some(next) => {
                assert!(
                    next.starts_with(&statuses),
                    "absolute link on our base: {next}"
                );
                assert!(next.contains("limit=7") && next.contains("max_id="));
                url = next;
            }
            None => break,
        }
    }
    let newest_first: Vec<String> = truth.iter().rev().cloned().collect();
    assert_eq!(walked, newest_first);

    // limit: default 20, capped at 40.
    let (_, _, page) = get(&http, &statuses).await;
    assert_eq!(ids(&page), newest_first[..20].to_vec());
    let (_, _, page) = get(&http, &format!("{statuses}?limit=100")).await;
    assert_eq!(ids(&page).len(), 40);

    // min_id: the items immediately after the id, newest first within the page.
    let k = 5;
    let (_, headers, page) = get(&http, &format!("{statuses}?min_id={}&limit=3", truth[k])).await;
    assert_eq!(
        ids(&page),
        vec![
            truth[k + 3].clone(),
            truth[k + 2].clone(),
            truth[k + 1].clone()
        ]
    );
    let prev = link(&headers, "prev").expect("prev link");
    assert!(
        prev.ends_with(&format!("min_id={}", truth[k + 3])),
        "{prev}"
    );
    // since_id: the newest items above the id (gaps allowed).
    let (_, _, page) = get(&http, &format!("{statuses}?since_id={}&limit=3", truth[k])).await;
    assert_eq!(ids(&page), newest_first[..3].to_vec());
    // max_id: strictly older.
    let (_, _, page) = get(&http, &format!("{statuses}?max_id={}&limit=3", truth[k])).await;
    assert_eq!(
        ids(&page),
        vec![
            truth[k - 1].clone(),
            truth[k - 2].clone(),
            truth[k - 3].clone()
        ]
    );

    // Catch-up polling: follow rel="prev" (min_id) from the oldest id to the end.
    let mut url = format!("{statuses}?limit=4&min_id={}", truth[0]);
    let mut caught_up = Vec::new();
    for _ in 0..100 {
        let (_, headers, page) = get(&http, &url).await;
        let mut page_ids = ids(&page);
        page_ids.reverse();
        caught_up.extend(page_ids);
        match link(&headers, "prev") {
            Some(prev) => url = prev,
            None => break,
        }
    }
    assert_eq!(caught_up, truth[1..].to_vec());
    sim.stop().await.expect("stops");
}

#[tokio::test]
async fn mastodon_statuses_have_the_fixture_shape_and_kinds() {
    let sim = start(12).await;
    let pop = sim.state.snapshot();
    let http = client();
    let fixture_page = fixture("mastodon_account_statuses_paginated_fosstodon.3.json");
    let fixture_status_keys = keys(&fixture_page[0]);
    let fixture_account_keys = keys(&fixture("mastodon_account_get_fosstodon.json"));

    for kind in [
        ActivityKind::Post,
        ActivityKind::Reply,
        ActivityKind::Repost,
        ActivityKind::Quote,
    ] {
        let act = pop
            .employee_activities()
            .find(|a| a.platform == Platform::Mastodon && a.kind == kind)
            .expect("an employee act of each kind");
        let domain = &pop.accounts[act.actor].domain;
        let (status, _, body) = get(
            &http,
            &format!("{}/api/v1/statuses/{}", masto_base(&sim, domain), act.id),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(keys(&body), fixture_status_keys, "{kind:?} status keys");
        assert_eq!(keys(&body["account"]), fixture_account_keys);
        assert!(body["id"].is_string() && body["account"]["id"].is_string());
        let target = act.target.as_ref();
        match kind {
            ActivityKind::Repost => {
                assert_eq!(body["content"], "");
                assert!(body["uri"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with("/activity"));
                assert_eq!(body["reblog"]["id"].as_str(), target.map(|t| t.id.as_str()));
                assert_eq!(keys(&body["reblog"]), fixture_status_keys);
            }
            ActivityKind::Reply => {
                let t = target.expect("reply target");
                assert_eq!(body["in_reply_to_id"].as_str(), Some(t.id.as_str()));
                assert_eq!(
                    body["in_reply_to_account_id"].as_str(),
                    Some(pop.accounts[t.account].platform_id.as_str())
                );
                assert!(body["content"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("u-url mention"));
                assert_eq!(
                    body["mentions"][0]["id"].as_str(),
                    Some(pop.accounts[t.account].platform_id.as_str())
                );
            }
            ActivityKind::Quote => {
                assert_eq!(body["quote"]["state"], "accepted");
                assert_eq!(
                    body["quote"]["quoted_status"]["id"].as_str(),
                    target.map(|t| t.id.as_str())
                );
            }
            _ => {
                assert!(body["content"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("<p>"));
                assert!(body["created_at"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with('Z'));
            }
        }
    }

    let edited = pop
        .activities
        .iter()
        .find(|a| a.edited_ms.is_some())
        .expect("an edited status");
    let domain = &pop.accounts[edited.actor].domain;
    let (_, _, body) = get(
        &http,
        &format!("{}/api/v1/statuses/{}", masto_base(&sim, domain), edited.id),
    )
    .await;
    assert!(body["edited_at"].is_string());
    let (_, _, history) = get(
        &http,
        &format!(
            "{}/api/v1/statuses/{}/history",
            masto_base(&sim, domain),
            edited.id
        ),
    )
    .await;
    assert_eq!(history.as_array().map(Vec::len), Some(2));
    assert_eq!(history[1]["created_at"], body["edited_at"]);
    assert_eq!(history[1]["content"], body["content"]);

    // Filters: an account that has boosts and replies.
    let account = pop
        .employee_accounts()
        .filter(|a| a.platform == Platform::Mastodon)
        .find(|a| {
            let acts: Vec<_> = pop.index.by_actor[a.index]
                .iter()
                .map(|&i| pop.activities[i].kind)
                .collect();
            acts.contains(&ActivityKind::Repost) && acts.contains(&ActivityKind::Reply)
        })
        .expect("an account with boosts and replies");
    let statuses = format!(
        "{}/api/v1/accounts/{}/statuses?limit=40",
        masto_base(&sim, &account.domain),
        account.platform_id
    );
    let (_, _, all) = get(&http, &statuses).await;
    let (_, _, no_boosts) = get(&http, &format!("{statuses}&exclude_reblogs=true")).await;
    let (_, _, no_replies) = get(&http, &format!("{statuses}&exclude_replies=1")).await;
    let count = |v: &Value, f: &dyn Fn(&Value) -> bool| {
        v.as_array()
            .map(|a| a.iter().filter(|s| f(s)).count())
            .unwrap_or(0)
    };
    assert!(count(&all, &|s| !s["reblog"].is_null()) > 0);
    assert_eq!(count(&no_boosts, &|s| !s["reblog"].is_null()), 0);
    assert_eq!(count(&no_replies, &|s| !s["in_reply_to_id"].is_null()), 0);
    assert_eq!(
        ids(&no_boosts).len() + count(&all, &|s| !s["reblog"].is_null()),
        ids(&all).len()
    );

    // Errors exactly as Mastodon writes them.
    let base = masto_base(&sim, "mastodon.example");
    for url in [
        format!("{base}/api/v1/accounts/lookup?acct=tidakada"),
        format!("{base}/api/v1/accounts/1234"),
        format!("{base}/api/v1/statuses/abc"),
    ] {
        let (status, headers, body) = get(&http, &url).await;
        assert_eq!(status, 404, "{url}");
        assert_eq!(body, serde_json::json!({ "error": "Record not found" }));
        assert!(headers.contains_key("x-ratelimit-remaining"));
    }
    sim.stop().await.expect("stops");
}

#[tokio::test]
async fn mastodon_interaction_lists_page_to_every_scripted_actor() {
    let sim = start(13).await;
    let pop = sim.state.snapshot();
    let http = client();
    let base = masto_base(&sim, "mastodon.example");
    for (endpoint, map) in [
        ("favourited_by", &pop.index.likes_of),
        ("reblogged_by", &pop.index.reposts_of),
    ] {
        let (status_id, acts) = map
            .iter()
            .filter(|(id, _)| pop.index.status.contains_key(*id))
            .max_by_key(|(id, list)| (list.len(), (*id).clone()))
            .expect("a liked/boosted status");
        assert!(acts.len() >= 3, "{endpoint}: {}", acts.len());
        let mut expected: Vec<String> = acts
            .iter()
            .map(|&i| pop.accounts[pop.activities[i].actor].platform_id.clone())
            .collect();
        expected.reverse();
        let mut url = format!("{base}/api/v1/statuses/{status_id}/{endpoint}?limit=2");
        let mut walked = Vec::new();
        for _ in 0..200 {
            let (status, headers, page) = get(&http, &url).await;
            assert_eq!(status, 200);
            walked.extend(ids(&page));
            match link(&headers, "next") {
                Some(next) => url = next,
                None => break,
            }
        }
        assert_eq!(walked, expected, "{endpoint}");
    }

    // Likes are visible only here: each employee like on Mastodon is found on its status.
    let likes: Vec<_> = pop
        .employee_activities()
        .filter(|a| a.platform == Platform::Mastodon && a.kind == ActivityKind::Like)
        .collect();
    assert!(!likes.is_empty());
    let like = likes[0];
    assert_eq!(Some(&like.id), like.target.as_ref().map(|t| &t.id));
    let (_, _, page) = get(
        &http,
        &format!("{base}/api/v1/statuses/{}/favourited_by?limit=80", like.id),
    )
    .await;
    assert!(ids(&page).contains(&pop.accounts[like.actor].platform_id));

    // Context: replies of a candidate's status are its descendants; a reply's parent its ancestor.
    let (parent, replies) = pop
        .index
        .replies_of
        .iter()
        .filter(|(id, _)| pop.index.status.contains_key(*id))
        .max_by_key(|(id, list)| (list.len(), (*id).clone()))
        .expect("a replied status");
    let (_, _, context) = get(&http, &format!("{base}/api/v1/statuses/{parent}/context")).await;
    let descendants: Vec<String> = context["descendants"]
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let expected: Vec<String> = replies
        .iter()
        .map(|&i| pop.activities[i].id.clone())
        .collect();
    assert_eq!(descendants, expected);
    let (_, _, context) = get(
        &http,
        &format!("{base}/api/v1/statuses/{}/context", expected[0]),
    )
    .await;
    assert_eq!(
        context["ancestors"][0]["id"].as_str(),
        Some(parent.as_str())
    );
    sim.stop().await.expect("stops");
}

#[tokio::test]
async fn bluesky_feeds_records_and_likes_page_to_the_end() {
    let sim = start(14).await;
    let pop = sim.state.snapshot();
    let http = client();
    let appview = format!("{}/bluesky/appview/xrpc", sim.base_url);
    let pds = format!("{}/bluesky/pds/xrpc", sim.base_url);

    // getAuthorFeed: cursor until absent; posts by post.uri, reposts by reason.uri.
    let account = pop
        .employee_accounts()
        .filter(|a| a.platform == Platform::Bluesky)
        .max_by_key(|a| {
            pop.index.by_actor[a.index]
                .iter()
                .filter(|&&i| pop.activities[i].kind != ActivityKind::Like)
                .count()
        })
        .expect("a bluesky employee");
    let truth: Vec<String> = pop.index.by_actor[account.index]
        .iter()
        .rev()
        .map(|&i| &pop.activities[i])
        .filter(|a| a.kind != ActivityKind::Like)
        .map(|a| a.id.clone())
        .collect();
    let (_, _, resolved) = get(
        &http,
        &format!(
            "{appview}/com.atproto.identity.resolveHandle?handle={}",
            account.username
        ),
    )
    .await;
    assert_eq!(resolved["did"].as_str(), Some(account.platform_id.as_str()));
    let mut cursor: Option<String> = None;
    let mut walked = Vec::new();
    for _ in 0..100 {
        let mut url = format!(
            "{appview}/app.bsky.feed.getAuthorFeed?actor={}&limit=3",
            account.platform_id
        );
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (status, headers, page) = get(&http, &url).await;
        assert_eq!(status, 200);
        for header in [
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "ratelimit-policy",
        ] {
            assert!(headers.contains_key(header), "{header}");
        }
        for item in page["feed"].as_array().expect("feed") {
            let id = if item["reason"].is_object() {
                &item["reason"]["uri"]
            } else {
                &item["post"]["uri"]
            };
            walked.push(id.as_str().expect("uri").to_string());
        }
        match page["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(walked, truth);

    // listRecords of likes, newest first and reversed, with the liked post as subject.
    let liker = pop
        .employee_accounts()
        .filter(|a| a.platform == Platform::Bluesky)
        .max_by_key(|a| {
            pop.index.by_actor[a.index]
                .iter()
                .filter(|&&i| pop.activities[i].kind == ActivityKind::Like)
                .count()
        })
        .expect("a liker");
    let likes: Vec<_> = pop.index.by_actor[liker.index]
        .iter()
        .map(|&i| &pop.activities[i])
        .filter(|a| a.kind == ActivityKind::Like)
        .collect();
    assert!(likes.len() >= 2);
    for reverse in [false, true] {
        let mut cursor: Option<String> = None;
        let mut walked = Vec::new();
        for _ in 0..100 {
            let mut url = format!(
                "{pds}/com.atproto.repo.listRecords?repo={}&collection=app.bsky.feed.like&limit=2",
                liker.platform_id
            );
            if reverse {
                url.push_str("&reverse=true");
            }
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let (status, _, page) = get(&http, &url).await;
            assert_eq!(status, 200);
            let records = page["records"].as_array().expect("records");
            for record in records {
                assert_eq!(record["value"]["$type"], "app.bsky.feed.like");
                walked.push((
                    record["uri"].as_str().unwrap_or_default().to_string(),
                    record["value"]["subject"]["uri"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ));
            }
            match page["cursor"].as_str() {
                Some(c) if !records.is_empty() => cursor = Some(c.to_string()),
                _ => break,
            }
        }
        let mut expected: Vec<(String, String)> = likes
            .iter()
            .map(|a| {
                (
                    a.id.clone(),
                    a.target.as_ref().map(|t| t.id.clone()).unwrap_or_default(),
                )
            })
            .collect();
        if !reverse {
            expected.reverse();
        }
        assert_eq!(walked, expected, "reverse={reverse}");
    }

    // getLikes on the most liked post: every liker once.
    let (uri, acts) = pop
        .index
        .likes_of
        .iter()
        .filter(|(id, _)| id.starts_with("at://"))
        .max_by_key(|(id, list)| (list.len(), (*id).clone()))
        .expect("a liked post");
    let expected: Vec<String> = acts
        .iter()
        .rev()
        .map(|&i| pop.accounts[pop.activities[i].actor].platform_id.clone())
        .collect();
    let mut cursor: Option<String> = None;
    let mut walked = Vec::new();
    for _ in 0..100 {
        let mut url = format!("{appview}/app.bsky.feed.getLikes?uri={uri}&limit=2");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (_, _, page) = get(&http, &url).await;
        assert_eq!(page["uri"].as_str(), Some(uri.as_str()));
        for like in page["likes"].as_array().expect("likes") {
            walked.push(
                like["actor"]["did"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        match page["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(walked, expected);
    sim.stop().await.expect("stops");
}

#[tokio::test]
async fn bluesky_views_have_the_fixture_shapes() {
    let sim = start(15).await;
    let pop = sim.state.snapshot();
    let http = client();
    let appview = format!("{}/bluesky/appview/xrpc", sim.base_url);
    let fixture_feed = fixture("bsky_getAuthorFeed_libphpsky.json");
    let fixture_post_keys = keys(&fixture_feed["feed"][0]["post"]);
    let fixture_author_keys = keys(&fixture_feed["feed"][0]["post"]["author"]);

    for kind in [
        ActivityKind::Post,
        ActivityKind::Reply,
        ActivityKind::Quote,
        ActivityKind::Repost,
    ] {
        let act = pop
            .employee_activities()
            .find(|a| a.platform == Platform::Bluesky && a.kind == kind)
            .expect("a bluesky act of each kind");
        let account = &pop.accounts[act.actor];
        let mut cursor: Option<String> = None;
        let mut item = None;
        for _ in 0..50 {
            let mut url = format!(
                "{appview}/app.bsky.feed.getAuthorFeed?actor={}&limit=100",
                account.username
            );
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let (_, _, page) = get(&http, &url).await;
            item = page["feed"]
                .as_array()
                .expect("feed")
                .iter()
                .find(|i| {
                    i["reason"]["uri"] == act.id.as_str()
                        || (i["reason"].is_null() && i["post"]["uri"] == act.id.as_str())
                })
                .cloned();
            match (&item, page["cursor"].as_str()) {
                (None, Some(c)) => cursor = Some(c.to_string()),
                _ => break,
            }
        }
        let item = item.expect("the act is in the author feed");
        let post = &item["post"];
        let mut expected_keys = fixture_post_keys.clone();
        if kind == ActivityKind::Quote {
            expected_keys.insert("embed".into());
        }
        assert_eq!(keys(post), expected_keys, "{kind:?}");
        assert_eq!(keys(&post["author"]), fixture_author_keys);
        assert_eq!(post["record"]["$type"], "app.bsky.feed.post");
        let target = act.target.as_ref().map(|t| t.id.as_str());
        match kind {
            ActivityKind::Repost => {
                assert_eq!(item["reason"]["$type"], "app.bsky.feed.defs#reasonRepost");
                assert_eq!(
                    item["reason"]["by"]["did"].as_str(),
                    Some(account.platform_id.as_str())
                );
                assert_eq!(post["uri"].as_str(), target);
            }
            ActivityKind::Reply => {
                assert_eq!(
                    item["reply"]["parent"]["$type"],
                    "app.bsky.feed.defs#postView"
                );
                assert_eq!(item["reply"]["parent"]["uri"].as_str(), target);
                assert_eq!(post["record"]["reply"]["parent"]["uri"].as_str(), target);
            }
            ActivityKind::Quote => {
                assert_eq!(post["embed"]["$type"], "app.bsky.embed.record#view");
                assert_eq!(post["embed"]["record"]["uri"].as_str(), target);
            }
            _ => assert_eq!(post["record"]["text"].as_str(), Some(act.text.as_str())),
        }
    }

    // Profile and DID document.
    let watched = pop
        .watched_accounts()
        .find(|a| a.platform == Platform::Bluesky)
        .expect("watched");
    let (_, _, profile) = get(
        &http,
        &format!(
            "{appview}/app.bsky.actor.getProfile?actor={}",
            watched.username
        ),
    )
    .await;
    let fixture_profile_keys = keys(&fixture("bsky_getProfile_bsky.app_2024.json"));
    assert!(
        keys(&profile).is_subset(&fixture_profile_keys),
        "{:?}",
        keys(&profile)
    );
    assert_eq!(profile["did"].as_str(), Some(watched.platform_id.as_str()));
    let (_, _, profiles) = get(
        &http,
        &format!(
            "{appview}/app.bsky.actor.getProfiles?actors={}&actors=tidakada.bsky.example&actors={}",
            watched.username, watched.platform_id
        ),
    )
    .await;
    assert_eq!(profiles["profiles"].as_array().map(Vec::len), Some(2));
    let response = http
        .get(format!(
            "{}/bluesky/plc/{}",
            sim.base_url, watched.platform_id
        ))
        .send()
        .await
        .expect("plc");
    let doc: Value = response.json().await.expect("did doc");
    assert_eq!(
        keys(&doc),
        keys(&fixture("bsky_plc_directory_did_doc.json"))
    );
    assert_eq!(doc["service"][0]["id"], "#atproto_pds");
    assert_eq!(
        doc["service"][0]["serviceEndpoint"].as_str(),
        Some(format!("{}/bluesky/pds", sim.base_url).as_str())
    );

    // getPosts hydrates like subjects; getPostThread shows replies.
    let liked: Vec<String> = pop
        .activities
        .iter()
        .filter(|a| a.platform == Platform::Bluesky && a.kind == ActivityKind::Like)
        .filter_map(|a| a.target.as_ref().map(|t| t.id.clone()))
        .take(3)
        .collect();
    let query: String = liked.iter().map(|u| format!("uris={u}&")).collect();
    let (_, _, posts) = get(&http, &format!("{appview}/app.bsky.feed.getPosts?{query}")).await;
    let got: Vec<&str> = posts["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .filter_map(|p| p["uri"].as_str())
        .collect();
    assert_eq!(got, liked.iter().map(String::as_str).collect::<Vec<_>>());
    let too_many: String = (0..26).map(|_| format!("uris={}&", liked[0])).collect();
    let (status, _, body) = get(
        &http,
        &format!("{appview}/app.bsky.feed.getPosts?{too_many}"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("InvalidRequest"))
    );
    let (parent, replies) = pop
        .index
        .replies_of
        .iter()
        .filter(|(id, _)| id.starts_with("at://"))
        .max_by_key(|(id, l)| (l.len(), (*id).clone()))
        .expect("replied post");
    let (_, _, thread) = get(
        &http,
        &format!("{appview}/app.bsky.feed.getPostThread?uri={parent}"),
    )
    .await;
    assert_eq!(
        thread["thread"]["$type"],
        "app.bsky.feed.defs#threadViewPost"
    );
    assert_eq!(
        thread["thread"]["replies"].as_array().map(Vec::len),
        Some(replies.len())
    );

    // XRPC errors.
    let (status, _, body) = get(
        &http,
        &format!("{appview}/app.bsky.actor.getProfile?actor=tidakada.bsky.example"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        serde_json::json!({ "error": "InvalidRequest", "message": "Profile not found" })
    );
    let (status, _, body) = get(
        &http,
        &format!(
            "{appview}/app.bsky.feed.getAuthorFeed?actor={}&limit=101",
            watched.username
        ),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("InvalidRequest"))
    );
    sim.stop().await.expect("stops");
}

/// Fetches a fixed walk through both platforms and returns the bodies with the base URL
/// replaced, so two simulators on different ports can be compared.
async fn walk(sim: &RunningSimulator) -> Vec<String> {
    let http = client();
    let base = masto_base(sim, "mastodon.example");
    let mut out = Vec::new();
    let (_, _, account) = get(
        &http,
        &format!("{base}/api/v1/accounts/lookup?acct=prabowo"),
    )
    .await;
    let id = account["id"].as_str().unwrap_or_default().to_string();
    let urls = [
        format!("{base}/api/v1/accounts/lookup?acct=prabowo"),
        format!("{base}/api/v1/accounts/{id}/statuses?limit=40"),
        format!("{}/bluesky/appview/xrpc/app.bsky.feed.getAuthorFeed?actor=prabowo.bsky.example", sim.base_url),
        format!("{}/bluesky/appview/xrpc/app.bsky.feed.getAuthorFeed?actor=kabarnusantara.bsky.example&limit=100", sim.base_url),
        format!("{}/bluesky/pds/xrpc/com.atproto.repo.listRecords?repo=kabarnusantara.bsky.example&collection=app.bsky.feed.post", sim.base_url),
        format!("{base}/@prabowo.rss"),
    ];
    for url in urls {
        let body = http
            .get(&url)
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("text");
        out.push(body.replace(&sim.base_url, "BASE"));
    }
    out
}

#[tokio::test]
async fn same_seed_same_population_and_responses_different_seed_differs() {
    let a = Population::generate(21);
    let b = Population::generate(21);
    let c = Population::generate(22);
    assert_eq!(
        (&a.employees, &a.accounts, &a.activities),
        (&b.employees, &b.accounts, &b.activities)
    );
    assert_ne!(a.employees, c.employees);
    assert_ne!(a.activities, c.activities);

    let (one, two, other) = (start(21).await, start(21).await, start(22).await);
    let (w1, w2, w3) = (walk(&one).await, walk(&two).await, walk(&other).await);
    assert_eq!(w1, w2);
    assert_ne!(w1, w3);
    assert!(w1[5].contains("<rss version=\"2.0\""));
    for sim in [one, two, other] {
        sim.stop().await.expect("stops");
    }
}

#[tokio::test]
async fn live_steps_add_activity_that_catch_up_paging_finds() {
    let sim = start(31).await;
    let http = client();
    let before = sim.state.snapshot();
    let last = before.activities.last().map(|a| a.created_ms).unwrap_or(0);
    let mut after = before.clone();
    for _ in 0..40 {
        sim.state.live_step();
        after = sim.state.snapshot();
        if after.activities[before.activities.len()..]
            .iter()
            .any(|a| a.is_mastodon_status())
        {
            break;
        }
    }
    let new: Vec<_> = after.activities[before.activities.len()..].to_vec();
    assert!(!new.is_empty());
    assert!(new.iter().all(|a| a.live && a.created_ms > last));
    let status = new
        .iter()
        .find(|a| a.is_mastodon_status())
        .expect("a new Mastodon status");
    let account = &after.accounts[status.actor];
    let previous = mastodon_statuses(&before, status.actor);
    let statuses = format!(
        "{}/api/v1/accounts/{}/statuses",
        masto_base(&sim, &account.domain),
        account.platform_id
    );
    let url = match previous.last() {
        Some(id) => format!("{statuses}?min_id={id}"),
        None => statuses,
    };
    let (_, _, page) = get(&http, &url).await;
    assert!(ids(&page).contains(&status.id));
    sim.stop().await.expect("stops");
}

#[tokio::test]
async fn rss_feeds_carry_own_posts_only() {
    let sim = start(16).await;
    let pop = sim.state.snapshot();
    let http = client();

    // Mastodon's /@user.rss: posts and quotes, never boosts or replies; guid is the status URL.
    let account = pop
        .employee_accounts()
        .filter(|a| a.platform == Platform::Mastodon)
        .find(|a| {
            pop.index.by_actor[a.index].iter().any(|&i| {
                matches!(
                    pop.activities[i].kind,
                    ActivityKind::Repost | ActivityKind::Reply
                )
            })
        })
        .expect("an account with boosts or replies");
    let own: Vec<&str> = pop.index.by_actor[account.index]
        .iter()
        .rev()
        .map(|&i| &pop.activities[i])
        .filter(|a| matches!(a.kind, ActivityKind::Post | ActivityKind::Quote))
        .map(|a| a.id.as_str())
        .take(20)
        .collect();
    let url = format!(
        "{}/@{}.rss",
        masto_base(&sim, &account.domain),
        account.username
    );
    let response = http.get(&url).send().await.expect("rss");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("application/rss+xml"));
    let xml = response.text().await.expect("text");
    let guids: Vec<&str> = xml
        .split("<guid isPermaLink=\"true\">")
        .skip(1)
        .filter_map(|rest| rest.split("</guid>").next())
        .filter_map(|url| url.rsplit('/').next())
        .collect();
    assert_eq!(guids, own);

    // A blog feed of an RSS-only employee: guids are the ground-truth ids.
    let blog = pop
        .employee_accounts()
        .find(|a| a.platform == Platform::Rss)
        .expect("an RSS-only employee");
    let expected: Vec<&str> = pop.index.by_actor[blog.index]
        .iter()
        .rev()
        .map(|&i| pop.activities[i].id.as_str())
        .collect();
    let xml = http
        .get(blog.registry_handle(&sim.base_url))
        .send()
        .await
        .expect("feed")
        .text()
        .await
        .expect("text");
    let guids: Vec<&str> = xml
        .split("<guid isPermaLink=\"false\">")
        .skip(1)
        .filter_map(|rest| rest.split("</guid>").next())
        .collect();
    assert_eq!(guids, expected);
    sim.stop().await.expect("stops");
}

/// Walks a Mastodon Link-paged list to the end.
async fn walk_links(http: &reqwest::Client, first: String) -> Vec<Value> {
    let mut url = first;
    let mut out = Vec::new();
    for _ in 0..1000 {
        let (status, headers, page) = get(http, &url).await;
        assert_eq!(status, 200, "{url}");
        out.extend(page.as_array().expect("array").iter().cloned());
        match link(&headers, "next") {
            Some(next) => url = next,
            None => break,
        }
    }
    out
}

/// Walks an XRPC cursor-paged list to the end, collecting the items under `field`.
async fn walk_cursor(http: &reqwest::Client, first: String, field: &str) -> Vec<Value> {
    let mut cursor: Option<String> = None;
    let mut out = Vec::new();
    for _ in 0..1000 {
        let url = match &cursor {
            Some(c) => format!("{first}&cursor={c}"),
            None => first.clone(),
        };
        let (status, _, page) = get(http, &url).await;
        assert_eq!(status, 200, "{url}");
        let items = page[field].as_array().expect("items");
        out.extend(items.iter().cloned());
        match page["cursor"].as_str() {
            Some(c) if !items.is_empty() => cursor = Some(c.to_string()),
            _ => break,
        }
    }
    out
}

/// Scans the whole population the way a connector would (home-instance timelines, reverse
/// interactions of watched accounts, Bluesky feeds and like records, feeds) and finds every
/// observable scripted employee act, with its kind and target, exactly once.
#[tokio::test]
async fn a_full_scan_finds_every_scripted_employee_act() {
    let sim = start(17).await;
    let pop = sim.state.snapshot();
    let http = client();
    let mut found: Vec<(String, String, String, Option<String>)> = Vec::new();
    let kind_of = |s: &Value| -> &'static str {
        if !s["reblog"].is_null() {
            "repost"
        } else if !s["in_reply_to_id"].is_null() {
            "reply"
        } else if !s["quote"].is_null() {
            "quote"
        } else {
            "post"
        }
    };
    for account in pop.employee_accounts() {
        match account.platform {
            Platform::Mastodon => {
                let base = masto_base(&sim, &account.domain);
                let (_, _, resolved) = get(
                    &http,
                    &format!("{base}/api/v1/accounts/lookup?acct={}", account.username),
                )
                .await;
                let id = resolved["id"].as_str().expect("id");
                for s in walk_links(
                    &http,
                    format!("{base}/api/v1/accounts/{id}/statuses?limit=40"),
                )
                .await
                {
                    let kind = kind_of(&s);
                    let target = match kind {
                        "repost" => s["reblog"]["id"].as_str().map(String::from),
                        "reply" => s["in_reply_to_id"].as_str().map(String::from),
                        "quote" => s["quote"]["quoted_status"]["id"].as_str().map(String::from),
                        _ => None,
                    };
                    found.push((
                        account.handle.clone(),
                        kind.into(),
                        s["id"].as_str().unwrap_or_default().into(),
                        target,
                    ));
                }
            }
            Platform::Bluesky => {
                let appview = format!("{}/bluesky/appview/xrpc", sim.base_url);
                let (_, _, resolved) = get(
                    &http,
                    &format!(
                        "{appview}/com.atproto.identity.resolveHandle?handle={}",
                        account.username
                    ),
                )
                .await;
                let did = resolved["did"].as_str().expect("did").to_string();
                let (_, _, doc) = get(&http, &format!("{}/bluesky/plc/{did}", sim.base_url)).await;
                let pds = doc["service"][0]["serviceEndpoint"]
                    .as_str()
                    .expect("pds")
                    .to_string();
                for item in walk_cursor(
                    &http,
                    format!("{appview}/app.bsky.feed.getAuthorFeed?actor={did}&limit=100"),
                    "feed",
                )
                .await
                {
                    let post = &item["post"];
                    let (kind, id, target) = if item["reason"].is_object() {
                        (
                            "repost",
                            item["reason"]["uri"].as_str(),
                            post["uri"].as_str(),
                        )
                    } else if item["reply"].is_object() {
                        (
                            "reply",
                            post["uri"].as_str(),
                            item["reply"]["parent"]["uri"].as_str(),
                        )
                    } else if post["embed"]["$type"] == "app.bsky.embed.record#view" {
                        (
                            "quote",
                            post["uri"].as_str(),
                            post["embed"]["record"]["uri"].as_str(),
                        )
                    } else {
                        ("post", post["uri"].as_str(), None)
                    };
                    found.push((
                        account.handle.clone(),
                        kind.into(),
                        id.unwrap_or_default().into(),
                        target.map(String::from),
                    ));
                }
                let likes = format!("{pds}/xrpc/com.atproto.repo.listRecords?repo={did}&collection=app.bsky.feed.like&limit=100");
                for record in walk_cursor(&http, likes, "records").await {
                    found.push((
                        account.handle.clone(),
                        "like".into(),
                        record["uri"].as_str().unwrap_or_default().into(),
                        record["value"]["subject"]["uri"].as_str().map(String::from),
                    ));
                }
            }
            _ => {
                let xml = http
                    .get(account.registry_handle(&sim.base_url))
                    .send()
                    .await
                    .expect("feed")
                    .text()
                    .await
                    .expect("text");
                for guid in xml
                    .split("<guid isPermaLink=\"false\">")
                    .skip(1)
                    .filter_map(|r| r.split("</guid>").next())
                {
                    found.push((account.handle.clone(), "post".into(), guid.into(), None));
                }
            }
        }
    }
    // Mastodon likes: only through favourited_by of the watched accounts' statuses.
    for watched in pop
        .watched_accounts()
        .filter(|a| a.platform == Platform::Mastodon)
    {
        let base = masto_base(&sim, &watched.domain);
        for s in walk_links(
            &http,
            format!(
                "{base}/api/v1/accounts/{}/statuses?limit=40",
                watched.platform_id
            ),
        )
        .await
        {
            let status_id = s["id"].as_str().unwrap_or_default().to_string();
            for liker in walk_links(
                &http,
                format!("{base}/api/v1/statuses/{status_id}/favourited_by?limit=80"),
            )
            .await
            {
                let acct = liker["acct"].as_str().unwrap_or_default();
                let handle = if acct.contains('@') {
                    format!("@{acct}")
                } else {
                    format!("@{acct}@{}", watched.domain)
                };
                if pop.find_account(&handle).is_some_and(|i| {
                    matches!(pop.accounts[i].owner, netra::simulator::Owner::Employee(_))
                }) {
                    found.push((
                        handle,
                        "like".into(),
                        status_id.clone(),
                        Some(status_id.clone()),
                    ));
                }
            }
        }
    }
    let mut expected: Vec<(String, String, String, Option<String>)> = pop
        .observable_activities()
        .map(|a| {
            (
                a.actor_handle.clone(),
                a.kind.as_str().to_string(),
                a.id.clone(),
                a.target.as_ref().map(|t| t.id.clone()),
            )
        })
        .collect();
    found.sort();
    expected.sort();
    assert_eq!(found.len(), expected.len());
    assert_eq!(found, expected);
    sim.stop().await.expect("stops");
}
