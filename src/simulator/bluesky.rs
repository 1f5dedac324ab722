//! The fake Bluesky: AppView XRPC methods (handles, profiles, author feeds, posts, likes,
//! reposts, threads), the PDS's `com.atproto.repo.listRecords`, and the PLC directory's DID
//! documents, in the lexicon shapes of `bsky_*` fixtures.
//!
//! Cursors: `getAuthorFeed` uses the ISO time of the last item (as the 2025 AppView does) and
//! omits it on the last page; `getLikes`/`getRepostedBy` use the last record key; the PDS's
//! `listRecords` returns the last rkey whenever the page is non-empty (so a client's final
//! request gets an empty page without cursor), like the real PDS.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::ids;
use super::population::Population;
use super::ratelimit::Family;
use super::web::{self, Query};
use super::{Guard, SimState};
use crate::model::{ActivityKind, Platform};

/// Renders AppView views.
struct View<'a> {
    base: &'a str,
    world: &'a Population,
}

impl View<'_> {
    fn avatar(&self, did: &str) -> String {
        format!("{}/bluesky/cdn/avatar/{did}.jpg", self.base)
    }

    /// `app.bsky.actor.defs#profileViewBasic`.
    fn basic(&self, account: usize) -> Value {
        let a = &self.world.accounts[account];
        json!({
            "did": a.platform_id,
            "handle": a.username,
            "displayName": a.display_name,
            "avatar": self.avatar(&a.platform_id),
            "associated": { "chat": { "allowIncoming": "following" } },
            "viewer": { "muted": false, "blockedBy": false },
            "labels": [],
            "createdAt": ids::iso_millis(a.created_ms),
        })
    }

    /// `#profileView`: basic plus description and indexedAt.
    fn profile(&self, account: usize) -> Value {
        let a = &self.world.accounts[account];
        let mut v = self.basic(account);
        if let Some(map) = v.as_object_mut() {
            map.insert("description".into(), json!(self.world.note_of(account)));
            map.insert(
                "indexedAt".into(),
                json!(ids::iso_millis(a.created_ms + 1_000)),
            );
        }
        v
    }

    /// `#profileViewDetailed`.
    fn detailed(&self, account: usize) -> Value {
        let a = &self.world.accounts[account];
        let posts = self.world.index.by_actor[account]
            .iter()
            .filter(|&&i| self.world.activities[i].is_bsky_post())
            .count();
        let mut v = self.profile(account);
        if let Some(map) = v.as_object_mut() {
            map.insert(
                "banner".into(),
                json!(format!(
                    "{}/bluesky/cdn/banner/{}.jpg",
                    self.base, a.platform_id
                )),
            );
            map.insert(
                "followersCount".into(),
                json!(account as u64 * 7919 % 5000 + 5),
            );
            map.insert("followsCount".into(), json!(account as u64 * 31 % 300));
            map.insert("postsCount".into(), json!(posts));
            map.insert(
                "associated".into(),
                json!({ "lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": false, "chat": { "allowIncoming": "following" } }),
            );
        }
        v
    }

    fn count(&self, map: &std::collections::HashMap<String, Vec<usize>>, uri: &str) -> usize {
        map.get(uri).map(Vec::len).unwrap_or(0)
    }

    fn strong_ref(&self, i: usize) -> Value {
        let act = &self.world.activities[i];
        json!({ "uri": act.id, "cid": act.cid })
    }

    fn target_index(&self, i: usize) -> Option<usize> {
        let t = self.world.activities[i].target.as_ref()?;
        self.world.index.record.get(&t.id).copied()
    }

    /// The raw `app.bsky.feed.post` record of a post, reply or quote.
    fn post_record(&self, i: usize) -> Value {
        let act = &self.world.activities[i];
        let mut record = Map::new();
        record.insert("$type".into(), json!("app.bsky.feed.post"));
        record.insert("text".into(), json!(act.text));
        record.insert("createdAt".into(), json!(ids::iso_millis(act.created_ms)));
        record.insert("langs".into(), json!(["id"]));
        let facets: Vec<Value> = web::hashtags(&act.text)
            .into_iter()
            .map(|(start, end, tag)| {
                json!({
                    "$type": "app.bsky.richtext.facet",
                    "index": { "byteStart": start, "byteEnd": end },
                    "features": [{ "$type": "app.bsky.richtext.facet#tag", "tag": tag }],
                })
            })
            .collect();
        if !facets.is_empty() {
            record.insert("facets".into(), Value::Array(facets));
        }
        if let Some(j) = self.target_index(i) {
            match act.kind {
                ActivityKind::Reply => {
                    // Targets are top-level posts, so root and parent coincide.
                    let r = self.strong_ref(j);
                    record.insert("reply".into(), json!({ "root": r, "parent": r }));
                }
                ActivityKind::Quote => {
                    record.insert(
                        "embed".into(),
                        json!({ "$type": "app.bsky.embed.record", "record": self.strong_ref(j) }),
                    );
                }
                _ => {}
            }
        }
        Value::Object(record)
    }

    /// `#postView` of a post, reply or quote.
    fn post_view(&self, i: usize) -> Value {
        let act = &self.world.activities[i];
        let mut v = json!({
            "uri": act.id,
            "cid": act.cid,
            "author": self.basic(act.actor),
            "record": self.post_record(i),
            "replyCount": self.count(&self.world.index.replies_of, &act.id),
            "repostCount": self.count(&self.world.index.reposts_of, &act.id),
            "likeCount": self.count(&self.world.index.likes_of, &act.id),
            "quoteCount": self.count(&self.world.index.quotes_of, &act.id),
            "indexedAt": ids::iso_millis(act.created_ms + 350),
            "viewer": { "threadMuted": false, "embeddingDisabled": false },
            "labels": [],
        });
        if let (ActivityKind::Quote, Some(j)) = (act.kind, self.target_index(i)) {
            let quoted = &self.world.activities[j];
            if let Some(map) = v.as_object_mut() {
                map.insert(
                    "embed".into(),
                    json!({
                        "$type": "app.bsky.embed.record#view",
                        "record": {
                            "$type": "app.bsky.embed.record#viewRecord",
                            "uri": quoted.id,
                            "cid": quoted.cid,
                            "author": self.basic(quoted.actor),
                            "value": self.post_record(j),
                            "labels": [],
                            "likeCount": self.count(&self.world.index.likes_of, &quoted.id),
                            "replyCount": self.count(&self.world.index.replies_of, &quoted.id),
                            "repostCount": self.count(&self.world.index.reposts_of, &quoted.id),
                            "quoteCount": self.count(&self.world.index.quotes_of, &quoted.id),
                            "indexedAt": ids::iso_millis(quoted.created_ms + 350),
                        }
                    }),
                );
            }
        }
        v
    }

    fn typed_post_view(&self, i: usize) -> Value {
        let mut v = self.post_view(i);
        if let Some(map) = v.as_object_mut() {
            map.insert("$type".into(), json!("app.bsky.feed.defs#postView"));
        }
        v
    }

    /// `#feedViewPost` for activity `i` of the feed's owner (post, reply, quote or repost).
    fn feed_item(&self, i: usize) -> Option<Value> {
        let act = &self.world.activities[i];
        match act.kind {
            ActivityKind::Repost => {
                let j = self.target_index(i)?;
                Some(json!({
                    "post": self.post_view(j),
                    "reason": {
                        "$type": "app.bsky.feed.defs#reasonRepost",
                        "by": self.basic(act.actor),
                        "uri": act.id,
                        "cid": act.cid,
                        "indexedAt": ids::iso_millis(act.created_ms),
                    }
                }))
            }
            ActivityKind::Reply => {
                let mut item = json!({ "post": self.post_view(i) });
                if let (Some(j), Some(map)) = (self.target_index(i), item.as_object_mut()) {
                    let parent = self.typed_post_view(j);
                    map.insert("reply".into(), json!({ "root": parent, "parent": parent }));
                }
                Some(item)
            }
            ActivityKind::Post | ActivityKind::Quote => Some(json!({ "post": self.post_view(i) })),
            _ => None,
        }
    }

    /// `#threadViewPost` with replies down to `depth` and parents up to `height`.
    fn thread(&self, i: usize, depth: u32, height: u32) -> Value {
        let act = &self.world.activities[i];
        let mut map = Map::new();
        map.insert("$type".into(), json!("app.bsky.feed.defs#threadViewPost"));
        map.insert("post".into(), self.post_view(i));
        if height > 0 && act.kind == ActivityKind::Reply {
            if let Some(j) = self.target_index(i) {
                map.insert("parent".into(), self.thread(j, 0, height - 1));
            }
        }
        if depth > 0 {
            let replies: Vec<Value> = self
                .world
                .index
                .replies_of
                .get(&act.id)
                .map(|list| {
                    list.iter()
                        .rev()
                        .map(|&j| self.thread(j, depth - 1, 0))
                        .collect()
                })
                .unwrap_or_default();
            map.insert("replies".into(), Value::Array(replies));
        }
        Value::Object(map)
    }
}

fn invalid(message: &str) -> Response {
    web::xrpc_error(StatusCode::BAD_REQUEST, "InvalidRequest", message)
}

fn ok(value: &Value) -> Response {
    web::json(StatusCode::OK, value)
}

/// Resolves a handle or DID to a Bluesky account.
fn actor(world: &Population, actor: &str) -> Option<usize> {
    let a = actor.trim().trim_start_matches('@');
    if a.starts_with("did:") {
        world.index.bsky_did.get(a).copied()
    } else {
        world.index.bsky_handle.get(&a.to_lowercase()).copied()
    }
}

/// Activity of a post at-URI (post, reply or quote records only).
fn post_by_uri(world: &Population, uri: &str) -> Option<usize> {
    world
        .index
        .record
        .get(uri)
        .copied()
        .filter(|&i| world.activities[i].is_bsky_post())
}

/// The XRPC `limit` parameter: `default` when absent, an error outside `1..=max`.
fn xrpc_limit(q: &Query, default: usize, max: usize) -> Result<usize, String> {
    match q.get("limit") {
        None => Ok(default),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            Ok(n) if n > max => Err(format!("limit can not be greater than {max}")),
            Ok(_) => Err("limit can not be less than 1".into()),
            Err(_) => Err("limit must be an integer".into()),
        },
    }
}

fn guard<'a>(state: &'a SimState, uri: &'a Uri, headers: &'a HeaderMap) -> Guard<'a> {
    Guard {
        state,
        family: Family::Xrpc,
        uri,
        headers,
    }
}

/// `GET /bluesky/appview/xrpc/:method`.
pub async fn appview(
    State(state): State<Arc<SimState>>,
    Path(method): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let q = Query::parse(uri.query());
    let g = guard(&state, &uri, &headers);
    match method.as_str() {
        "com.atproto.identity.resolveHandle" => {
            let Some(handle) = q.get("handle") else {
                return invalid("Error: Params must have the property \"handle\"");
            };
            let found = state
                .world()
                .index
                .bsky_handle
                .get(&handle.trim().to_lowercase())
                .copied();
            let Some(account) = found else {
                return invalid("Unable to resolve handle");
            };
            g.run(&[account], || {
                ok(&json!({ "did": state.world().accounts[account].platform_id }))
            })
            .await
        }
        "app.bsky.actor.getProfile" => {
            let Some(name) = q.get("actor") else {
                return invalid("Error: Params must have the property \"actor\"");
            };
            let found = actor(&state.world(), name);
            let Some(account) = found else {
                return invalid("Profile not found");
            };
            g.run(&[account], || {
                let world = state.world();
                ok(&View {
                    base: &state.base_url,
                    world: &world,
                }
                .detailed(account))
            })
            .await
        }
        "app.bsky.graph.getFollows" => {
            let Some(name) = q.get("actor") else {
                return invalid("Error: Params must have the property \"actor\"");
            };
            let limit = match xrpc_limit(&q, 50, 100) {
                Ok(l) => l,
                Err(message) => return invalid(&message),
            };
            let found = actor(&state.world(), name);
            let Some(account) = found else {
                return invalid("Profile not found");
            };
            g.run(&[account], || {
                let world = state.world();
                let view = View {
                    base: &state.base_url,
                    world: &world,
                };
                // The cursor is the position after the last one served, as an opaque string.
                let start: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
                let all = world.script.following(account);
                let page: Vec<Value> = all
                    .iter()
                    .skip(start)
                    .take(limit)
                    .map(|&t| view.profile(t))
                    .collect();
                let end = start + page.len();
                let mut body = json!({ "subject": view.profile(account), "follows": page });
                if end < all.len() {
                    body["cursor"] = json!(end.to_string());
                }
                ok(&body)
            })
            .await
        }
        "app.bsky.actor.getProfiles" => {
            let names = q.all("actors");
            if names.len() > 25 {
                return invalid("actors must not have more than 25 elements");
            }
            let found: Vec<usize> = {
                let world = state.world();
                names.iter().filter_map(|n| actor(&world, n)).collect()
            };
            g.run(&found, || {
                let world = state.world();
                let view = View {
                    base: &state.base_url,
                    world: &world,
                };
                let profiles: Vec<Value> = found.iter().map(|&a| view.detailed(a)).collect();
                ok(&json!({ "profiles": profiles }))
            })
            .await
        }
        "app.bsky.feed.getAuthorFeed" => {
            let Some(name) = q.get("actor") else {
                return invalid("Error: Params must have the property \"actor\"");
            };
            let limit = match xrpc_limit(&q, 50, 100) {
                Ok(l) => l,
                Err(message) => return invalid(&message),
            };
            let found = actor(&state.world(), name);
            let Some(account) = found else {
                return invalid("Profile not found");
            };
            g.run(&[account], || author_feed(&state, &q, account, limit))
                .await
        }
        "app.bsky.feed.getPosts" => {
            let uris = q.all("uris");
            if uris.len() > 25 {
                return invalid("uris must not have more than 25 elements");
            }
            let touched: Vec<usize> = {
                let world = state.world();
                uris.iter()
                    .filter_map(|u| post_by_uri(&world, u))
                    .map(|i| world.activities[i].actor)
                    .collect()
            };
            g.run(&touched, || {
                let world = state.world();
                let view = View {
                    base: &state.base_url,
                    world: &world,
                };
                let posts: Vec<Value> = uris
                    .iter()
                    .filter_map(|u| post_by_uri(&world, u))
                    .filter(|&i| !world.script.deleted(i))
                    .map(|i| view.post_view(i))
                    .collect();
                ok(&json!({ "posts": posts }))
            })
            .await
        }
        "app.bsky.feed.getLikes" | "app.bsky.feed.getRepostedBy" => {
            let Some(subject) = q.get("uri") else {
                return invalid("Error: Params must have the property \"uri\"");
            };
            let limit = match xrpc_limit(&q, 50, 100) {
                Ok(l) => l,
                Err(message) => return invalid(&message),
            };
            let likes = method == "app.bsky.feed.getLikes";
            let found = post_by_uri(&state.world(), subject);
            let touched: Vec<usize> = found
                .map(|i| state.world().activities[i].actor)
                .into_iter()
                .collect();
            g.run(&touched, || {
                interactions(&state, &q, subject, found, limit, likes)
            })
            .await
        }
        "app.bsky.feed.getPostThread" => {
            let Some(subject) = q.get("uri") else {
                return invalid("Error: Params must have the property \"uri\"");
            };
            let depth = q
                .get("depth")
                .and_then(|d| d.parse::<u32>().ok())
                .unwrap_or(6)
                .min(1000);
            let height = q
                .get("parentHeight")
                .and_then(|d| d.parse::<u32>().ok())
                .unwrap_or(80)
                .min(1000);
            let found = post_by_uri(&state.world(), subject);
            let Some(i) = found else {
                return web::xrpc_error(
                    StatusCode::BAD_REQUEST,
                    "NotFound",
                    &format!("Post not found: {subject}"),
                );
            };
            let author = state.world().activities[i].actor;
            g.run(&[author], || {
                let world = state.world();
                ok(&json!({ "thread": View { base: &state.base_url, world: &world }.thread(i, depth, height) }))
            })
            .await
        }
        _ => web::xrpc_error(
            StatusCode::NOT_IMPLEMENTED,
            "MethodNotImplemented",
            "Method Not Implemented",
        ),
    }
}

fn author_feed(state: &SimState, q: &Query, account: usize, limit: usize) -> Response {
    let world = state.world();
    let view = View {
        base: &state.base_url,
        world: &world,
    };
    let filter = q.get("filter").unwrap_or("posts_with_replies");
    let before = match q.get("cursor") {
        None => i64::MAX,
        Some(c) => match c.parse::<jiff::Timestamp>() {
            Ok(t) => t.as_millisecond(),
            // The AppView answers a malformed cursor with an empty page.
            Err(_) => i64::MIN,
        },
    };
    let items: Vec<usize> = world.index.by_actor[account]
        .iter()
        .rev()
        .copied()
        .filter(|&i| {
            let act = &world.activities[i];
            if act.platform != Platform::Bluesky
                || act.kind == ActivityKind::Like
                || act.created_ms >= before
            {
                return false;
            }
            match filter {
                "posts_no_replies" | "posts_and_author_threads" => act.kind != ActivityKind::Reply,
                "posts_with_media" | "posts_with_video" => false,
                _ => true,
            }
        })
        .collect();
    let page: Vec<usize> = items.iter().copied().take(limit).collect();
    let feed: Vec<Value> = page.iter().filter_map(|&i| view.feed_item(i)).collect();
    let mut body = json!({ "feed": feed });
    if items.len() > page.len() {
        if let (Some(&last), Some(map)) = (page.last(), body.as_object_mut()) {
            map.insert(
                "cursor".into(),
                json!(ids::iso_millis(world.activities[last].created_ms)),
            );
        }
    }
    ok(&body)
}

fn interactions(
    state: &SimState,
    q: &Query,
    subject: &str,
    found: Option<usize>,
    limit: usize,
    likes: bool,
) -> Response {
    let world = state.world();
    let view = View {
        base: &state.base_url,
        world: &world,
    };
    let map = if likes {
        &world.index.likes_of
    } else {
        &world.index.reposts_of
    };
    let cursor = q.get("cursor").unwrap_or("");
    let all: Vec<usize> = map
        .get(subject)
        .map(|list| {
            list.iter()
                .rev()
                .copied()
                .filter(|&i| world.activities[i].platform == Platform::Bluesky)
                .filter(|&i| cursor.is_empty() || world.activities[i].rkey.as_str() < cursor)
                .collect()
        })
        .unwrap_or_default();
    let page: Vec<usize> = all.iter().copied().take(limit).collect();
    let mut body = Map::new();
    body.insert("uri".into(), json!(subject));
    if let Some(i) = found {
        body.insert("cid".into(), json!(world.activities[i].cid));
    }
    if all.len() > page.len() {
        if let Some(&last) = page.last() {
            body.insert("cursor".into(), json!(world.activities[last].rkey));
        }
    }
    if likes {
        let list: Vec<Value> = page
            .iter()
            .map(|&i| {
                let act = &world.activities[i];
                json!({
                    "indexedAt": ids::iso_millis(act.created_ms + 350),
                    "createdAt": ids::iso_millis(act.created_ms),
                    "actor": view.profile(act.actor),
                })
            })
            .collect();
        body.insert("likes".into(), Value::Array(list));
    } else {
        let list: Vec<Value> = page
            .iter()
            .map(|&i| view.profile(world.activities[i].actor))
            .collect();
        body.insert("repostedBy".into(), Value::Array(list));
    }
    ok(&Value::Object(body))
}

/// `GET /bluesky/pds/xrpc/:method`: `com.atproto.repo.listRecords`.
pub async fn pds(
    State(state): State<Arc<SimState>>,
    Path(method): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != "com.atproto.repo.listRecords" {
        return web::xrpc_error(
            StatusCode::NOT_IMPLEMENTED,
            "MethodNotImplemented",
            "Method Not Implemented",
        );
    }
    let q = Query::parse(uri.query());
    let (Some(repo), Some(collection)) = (q.get("repo"), q.get("collection")) else {
        return invalid("Error: Params must have the properties \"repo\" and \"collection\"");
    };
    let limit = match xrpc_limit(&q, 50, 100) {
        Ok(l) => l,
        Err(message) => return invalid(&message),
    };
    let found = actor(&state.world(), repo);
    let Some(account) = found else {
        return invalid(&format!("Could not find repo: {repo}"));
    };
    guard(&state, &uri, &headers)
        .run(&[account], || {
            let world = state.world();
            let view = View { base: &state.base_url, world: &world };
            let reverse = q.flag("reverse");
            let cursor = q.get("cursor").unwrap_or("");
            let wanted = |kind: ActivityKind| match collection {
                "app.bsky.feed.post" => matches!(kind, ActivityKind::Post | ActivityKind::Reply | ActivityKind::Quote),
                "app.bsky.feed.repost" => kind == ActivityKind::Repost,
                "app.bsky.feed.like" => kind == ActivityKind::Like,
                _ => false,
            };
            let mut items: Vec<usize> = world.index.by_actor[account]
                .iter()
                .copied()
                .filter(|&i| wanted(world.activities[i].kind))
                .collect();
            if !reverse {
                items.reverse();
            }
            let page: Vec<usize> = items
                .into_iter()
                .filter(|&i| {
                    let rkey = world.activities[i].rkey.as_str();
                    cursor.is_empty() || if reverse { rkey > cursor } else { rkey < cursor }
                })
                .take(limit)
                .collect();
            let records: Vec<Value> = page
                .iter()
                .map(|&i| {
                    let act = &world.activities[i];
                    let value = match act.kind {
                        ActivityKind::Like | ActivityKind::Repost => {
                            let subject = view.target_index(i).map(|j| view.strong_ref(j)).unwrap_or(Value::Null);
                            let kind = if act.kind == ActivityKind::Like { "app.bsky.feed.like" } else { "app.bsky.feed.repost" };
                            json!({ "$type": kind, "subject": subject, "createdAt": ids::iso_millis(act.created_ms) })
                        }
                        _ => view.post_record(i),
                    };
                    json!({ "uri": act.id, "cid": act.cid, "value": value })
                })
                .collect();
            let mut body = json!({ "records": records });
            if let (Some(&last), Some(map)) = (page.last(), body.as_object_mut()) {
                map.insert("cursor".into(), json!(world.activities[last].rkey));
            }
            ok(&body)
        })
        .await
}

/// `GET /bluesky/plc/:did`: the DID document, whose PDS is this simulator.
pub async fn plc(
    State(state): State<Arc<SimState>>,
    Path(did): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let found = state.world().index.bsky_did.get(&did).copied();
    let Some(account) = found else {
        return web::json(
            StatusCode::NOT_FOUND,
            &json!({ "message": format!("DID not registered: {did}") }),
        );
    };
    Guard {
        state: &state,
        family: Family::Plc,
        uri: &uri,
        headers: &headers,
    }
    .run(&[account], || {
        let world = state.world();
        let a = &world.accounts[account];
        let key = ids::cid_for(&format!("key {}", a.platform_id));
        let doc = json!({
            "@context": [
                "https://www.w3.org/ns/did/v1",
                "https://w3id.org/security/multikey/v1",
                "https://w3id.org/security/suites/secp256k1-2019/v1"
            ],
            "id": a.platform_id,
            "alsoKnownAs": [format!("at://{}", a.username)],
            "verificationMethod": [{
                "id": format!("{}#atproto", a.platform_id),
                "type": "Multikey",
                "controller": a.platform_id,
                "publicKeyMultibase": format!("zQ3sh{}", &key[8..52]),
            }],
            "service": [{
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": format!("{}/bluesky/pds", state.base_url),
            }],
        });
        web::bytes_response(
            StatusCode::OK,
            "application/did+ld+json; charset=utf-8",
            doc.to_string().into_bytes(),
        )
    })
    .await
}
