//! The fake Mastodon instances: REST handlers and the Account/Status JSON of Mastodon 4.4 as an
//! anonymous client sees it (the key set of `mastodon_account_statuses_paginated_fosstodon.*`).
//!
//! Paging follows Mastodon's controllers: results newest first; `max_id` (older), `since_id`
//! (newest above), `min_id` (immediately above, for catch-up); `limit` default 20, max 40
//! (`favourited_by`/`reblogged_by`: 40, max 80); `Link` with absolute `rel="next"` (only when
//! the page is full) and `rel="prev"` (unless the page is empty). Edited statuses have
//! `edited_at` and a two-entry `/history`.
//!
//! Ids are global across the simulated instances (one federation sharing ids), so a status has
//! the same id on every instance; URLs point at the author's home instance.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};

use super::ids;
use super::population::{Population, MASTODON_DOMAINS};
use super::ratelimit::Family;
use super::web::{self, Query};
use super::{Guard, SimState};
use crate::model::{ActivityKind, Platform};

/// Renders accounts and statuses as seen from instance `domain`.
pub struct View<'a> {
    pub base: &'a str,
    pub world: &'a Population,
    pub domain: &'a str,
}

impl View<'_> {
    fn home(&self, domain: &str) -> String {
        format!("{}/mastodon/{domain}", self.base)
    }

    fn acct(&self, account: usize) -> String {
        let a = &self.world.accounts[account];
        if a.domain == self.domain {
            a.username.clone()
        } else {
            format!("{}@{}", a.username, a.domain)
        }
    }

    /// The Account entity.
    pub fn account(&self, account: usize) -> Value {
        let a = &self.world.accounts[account];
        let home = self.home(&a.domain);
        let (statuses_count, newest_ms) = self
            .world
            .index
            .mastodon_statuses
            .get(account)
            .copied()
            .unwrap_or_default();
        let last = newest_ms.map(ids::iso_date);
        let followers = match a.owner {
            super::Owner::Employee(_) => (account * 37 % 400) as u64 + 3,
            _ => (account as u64 * 7919 % 90_000) + 10_000,
        };
        let avatar = format!("{home}/avatars/original/missing.png");
        let header_url = format!("{home}/headers/original/missing.png");
        json!({
            "id": a.platform_id,
            "username": a.username,
            "acct": self.acct(account),
            "display_name": a.display_name,
            "locked": false,
            "bot": false,
            "discoverable": true,
            "indexable": true,
            "group": false,
            "created_at": ids::iso_millis(a.created_ms - a.created_ms.rem_euclid(86_400_000)),
            "note": format!("<p>{}</p>", web::escape_html(self.world.note_of(account))),
            "url": format!("{home}/@{}", a.username),
            "uri": format!("{home}/users/{}", a.username),
            "avatar": avatar,
            "avatar_static": avatar,
            "header": header_url,
            "header_static": header_url,
            "followers_count": followers,
            "following_count": (account * 13 % 150) as u64,
            "statuses_count": statuses_count,
            "last_status_at": last,
            "hide_collections": self.world.script.following_hidden(account),
            "noindex": false,
            "emojis": [],
            "roles": [],
            "fields": [],
        })
    }

    fn mention(&self, account: usize) -> Value {
        let a = &self.world.accounts[account];
        json!({
            "id": a.platform_id,
            "username": a.username,
            "url": format!("{}/@{}", self.home(&a.domain), a.username),
            "acct": self.acct(account),
        })
    }

    /// Mastodon's sanitized HTML for `text`: one `<p>`, hashtags as `mention hashtag` anchors,
    /// and for replies a leading `h-card` mention of the parent's author.
    fn content(&self, text: &str, home: &str, mention: Option<usize>) -> (String, Vec<Value>) {
        let mut html = String::from("<p>");
        if let Some(account) = mention {
            let a = &self.world.accounts[account];
            html.push_str(&format!(
                "<span class=\"h-card\" translate=\"no\"><a href=\"{}/@{}\" class=\"u-url mention\">@<span>{}</span></a></span> ",
                self.home(&a.domain),
                a.username,
                a.username
            ));
        }
        let mut tags = Vec::new();
        let mut pos = 0;
        for (start, end, tag) in web::hashtags(text) {
            html.push_str(&web::escape_html(&text[pos..start]).replace('\n', "<br />"));
            let lower = tag.to_lowercase();
            html.push_str(&format!(
                "<a href=\"{home}/tags/{lower}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
                web::escape_html(&tag)
            ));
            tags.push(json!({ "name": lower, "url": format!("{home}/tags/{lower}") }));
            pos = end;
        }
        html.push_str(&web::escape_html(&text[pos..]).replace('\n', "<br />"));
        html.push_str("</p>");
        (html, tags)
    }

    fn count(&self, map: &std::collections::HashMap<String, Vec<usize>>, id: &str) -> usize {
        map.get(id).map(Vec::len).unwrap_or(0)
    }

    /// The StatusEdit entities of activity `i`, oldest first.
    pub fn history(&self, i: usize) -> Vec<Value> {
        let act = &self.world.activities[i];
        let a = &self.world.accounts[act.actor];
        let home = self.home(&a.domain);
        let mention = match (act.kind, &act.target) {
            (ActivityKind::Reply, Some(t)) => Some(t.account),
            _ => None,
        };
        let edit = |text: &str, at: i64| {
            let (content, _) = if act.kind == ActivityKind::Repost {
                (String::new(), Vec::new())
            } else {
                self.content(text, &home, mention)
            };
            json!({
                "content": content,
                "spoiler_text": "",
                "sensitive": false,
                "created_at": ids::iso_millis(at),
                "account": self.account(act.actor),
                "poll": null,
                "media_attachments": [],
                "emojis": [],
            })
        };
        match act.edited_ms {
            Some(edited) => {
                let original = act
                    .text
                    .rsplit_once(' ')
                    .map(|(head, _)| head)
                    .unwrap_or(&act.text);
                vec![edit(original, act.created_ms), edit(&act.text, edited)]
            }
            None => vec![edit(&act.text, act.created_ms)],
        }
    }

    /// The Status entity of activity `i` (a post, reply, quote or boost).
    pub fn status(&self, i: usize) -> Value {
        self.status_depth(i, 0)
    }

    fn status_depth(&self, i: usize, depth: u8) -> Value {
        let act = &self.world.activities[i];
        let a = &self.world.accounts[act.actor];
        let home = self.home(&a.domain);
        let uri = format!("{home}/users/{}/statuses/{}", a.username, act.id);
        let url = format!("{home}/@{}/{}", a.username, act.id);
        let target = act
            .target
            .as_ref()
            .and_then(|t| self.world.index.status.get(&t.id).copied());
        let nested = |j: Option<usize>| match j {
            Some(j) if depth < 2 => self.status_depth(j, depth + 1),
            _ => Value::Null,
        };
        if act.kind == ActivityKind::Repost {
            return json!({
                "id": act.id,
                "created_at": ids::iso_millis(act.created_ms),
                "in_reply_to_id": null,
                "in_reply_to_account_id": null,
                "sensitive": false,
                "spoiler_text": "",
                "visibility": "public",
                "language": null,
                "uri": format!("{uri}/activity"),
                "url": format!("{uri}/activity"),
                "replies_count": 0,
                "reblogs_count": 0,
                "favourites_count": 0,
                "edited_at": null,
                "content": "",
                "reblog": nested(target),
                "application": null,
                "account": self.account(act.actor),
                "media_attachments": [],
                "mentions": [],
                "tags": [],
                "emojis": [],
                "quote": null,
                "card": null,
                "poll": null,
            });
        }
        let reply_to = match (act.kind, &act.target) {
            (ActivityKind::Reply, Some(t)) => Some(t),
            _ => None,
        };
        let (content, tags) = self.content(&act.text, &home, reply_to.map(|t| t.account));
        let mentions: Vec<Value> = reply_to
            .map(|t| self.mention(t.account))
            .into_iter()
            .collect();
        let quote = match (act.kind, target) {
            (ActivityKind::Quote, Some(j)) => {
                json!({ "state": "accepted", "quoted_status": nested(Some(j)) })
            }
            _ => Value::Null,
        };
        json!({
            "id": act.id,
            "created_at": ids::iso_millis(act.created_ms),
            "in_reply_to_id": reply_to.map(|t| t.id.clone()),
            "in_reply_to_account_id": reply_to.map(|t| self.world.accounts[t.account].platform_id.clone()),
            "sensitive": false,
            "spoiler_text": "",
            "visibility": "public",
            "language": "id",
            "uri": uri,
            "url": url,
            "replies_count": self.count(&self.world.index.replies_of, &act.id),
            "reblogs_count": self.count(&self.world.index.reposts_of, &act.id),
            "favourites_count": self.count(&self.world.index.likes_of, &act.id),
            "edited_at": act.edited_ms.map(ids::iso_millis),
            "content": content,
            "reblog": null,
            "application": null,
            "account": self.account(act.actor),
            "media_attachments": [],
            "mentions": mentions,
            "tags": tags,
            "emojis": [],
            "quote": quote,
            "card": null,
            "poll": null,
        })
    }
}

/// Mastodon's `limit_param`: default when absent, else `|to_i|` capped at `max`.
fn limit_param(q: &Query, default: usize, max: usize) -> usize {
    match q.ruby_int("limit") {
        None => default,
        Some(v) => (v.unsigned_abs() as usize).min(max),
    }
}

fn id_param(q: &Query, key: &str) -> Option<u64> {
    q.get(key).map(|v| ids::parse_snowflake(v).unwrap_or(0))
}

/// Mastodon's `paginate_by_id`: `items` (key, value) oldest first → one page newest first.
fn paginate<T: Copy>(items: &[(u64, T)], q: &Query, limit: usize) -> Vec<(u64, T)> {
    let max_id = id_param(q, "max_id");
    let since_id = id_param(q, "since_id");
    let min_id = id_param(q, "min_id");
    let in_range = |key: u64| {
        max_id.is_none_or(|m| key < m)
            && since_id.is_none_or(|s| key > s)
            && min_id.is_none_or(|m| key > m)
    };
    let selected: Vec<(u64, T)> = items
        .iter()
        .copied()
        .filter(|(k, _)| in_range(*k))
        .collect();
    if min_id.is_some() {
        let mut page: Vec<(u64, T)> = selected.into_iter().take(limit).collect();
        page.reverse();
        page
    } else {
        selected.into_iter().rev().take(limit).collect()
    }
}

/// `Link: <…max_id=…>; rel="next", <…{prev_key}=…>; rel="prev"` as Mastodon writes it.
fn link_header(
    url: &str,
    kept: &[(String, String)],
    page_keys: (Option<u64>, Option<u64>),
    full: bool,
    prev_key: &str,
) -> Option<HeaderValue> {
    let (newest, oldest) = page_keys;
    let with = |key: &str, value: u64| {
        let mut pairs = kept.to_vec();
        pairs.push((key.to_string(), value.to_string()));
        pairs.sort();
        format!("<{url}?{}>", web::encode_query(&pairs))
    };
    let mut parts = Vec::new();
    if let (true, Some(oldest)) = (full, oldest) {
        parts.push(format!("{}; rel=\"next\"", with("max_id", oldest)));
    }
    if let Some(newest) = newest {
        parts.push(format!("{}; rel=\"prev\"", with(prev_key, newest)));
    }
    if parts.is_empty() {
        return None;
    }
    HeaderValue::from_str(&parts.join(", ")).ok()
}

fn ok_json(value: &Value, link: Option<HeaderValue>) -> Response {
    let mut response = web::json(StatusCode::OK, value);
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Authorization, Origin"),
    );
    if let Some(link) = link {
        headers.insert(header::LINK, link);
    }
    response
}

fn not_found() -> Response {
    web::mastodon_error(StatusCode::NOT_FOUND, "Record not found")
}

fn known_domain(domain: &str) -> bool {
    MASTODON_DOMAINS.contains(&domain)
}

fn guard<'a>(state: &'a SimState, uri: &'a Uri, headers: &'a HeaderMap) -> Guard<'a> {
    Guard {
        state,
        family: Family::Mastodon,
        uri,
        headers,
    }
}

/// Account index for a Mastodon account id, if it is one.
fn account_by_id(world: &Population, id: &str) -> Option<usize> {
    world.index.mastodon_id.get(id).copied()
}

/// Account index for a Mastodon account id on one of the simulated instances.
fn account_on(state: &SimState, domain: &str, id: &str) -> Option<usize> {
    known_domain(domain)
        .then(|| account_by_id(&state.world(), id))
        .flatten()
}

/// Activity index of a status id on one of the simulated instances.
fn status_on(state: &SimState, domain: &str, id: &str) -> Option<usize> {
    known_domain(domain)
        .then(|| status_by_id(&state.world(), id))
        .flatten()
}

/// Activity index of a status id.
fn status_by_id(world: &Population, id: &str) -> Option<usize> {
    world.index.status.get(id).copied()
}

/// `GET /api/v1/accounts/lookup?acct=user` or `acct=user@domain`.
pub async fn lookup(
    State(state): State<Arc<SimState>>,
    Path(domain): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let q = Query::parse(uri.query());
    let found = known_domain(&domain)
        .then(|| {
            let acct = q.get("acct")?.trim().trim_start_matches('@').to_lowercase();
            let (user, host) = match acct.split_once('@') {
                Some((u, h)) => (u.to_string(), h.to_string()),
                None => (acct.clone(), domain.clone()),
            };
            state
                .world()
                .index
                .mastodon_acct
                .get(&(host, user))
                .copied()
        })
        .flatten();
    let Some(account) = found else {
        return guard(&state, &uri, &headers).run(&[], not_found).await;
    };
    account_response(&state, &uri, &headers, &domain, account).await
}

/// The Account entity of `account` as instance `domain` shows it.
async fn account_response(
    state: &SimState,
    uri: &Uri,
    headers: &HeaderMap,
    domain: &str,
    account: usize,
) -> Response {
    guard(state, uri, headers)
        .run(&[account], || {
            let world = state.world();
            let view = View {
                base: &state.base_url,
                world: &world,
                domain,
            };
            ok_json(&view.account(account), None)
        })
        .await
}

/// `GET /api/v1/accounts/:id`.
pub async fn account(
    State(state): State<Arc<SimState>>,
    Path((domain, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let found = account_on(&state, &domain, &id);
    let Some(account) = found else {
        return not_found();
    };
    account_response(&state, &uri, &headers, &domain, account).await
}

/// `GET /api/v1/accounts/:id/statuses`.
pub async fn account_statuses(
    State(state): State<Arc<SimState>>,
    Path((domain, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let found = account_on(&state, &domain, &id);
    let Some(account) = found else {
        return not_found();
    };
    guard(&state, &uri, &headers)
        .run(&[account], || {
            statuses_page(&state, &domain, &id, account, &uri)
        })
        .await
}

/// One page of an account's statuses with Mastodon's filters, paging and Link header.
fn statuses_page(state: &SimState, domain: &str, id: &str, account: usize, uri: &Uri) -> Response {
    let world = state.world();
    let q = Query::parse(uri.query());
    let limit = limit_param(&q, 20, 40);
    let exclude_replies = q.flag("exclude_replies");
    let exclude_reblogs = q.flag("exclude_reblogs");
    let only_media = q.flag("only_media");
    let pinned = q.flag("pinned");
    let tagged = q
        .get("tagged")
        .map(|t| t.trim_start_matches('#').to_lowercase());
    let items: Vec<(u64, usize)> = world.index.by_actor[account]
        .iter()
        .copied()
        .filter(|&i| {
            let act = &world.activities[i];
            if !act.is_mastodon_status() || only_media || pinned {
                return false;
            }
            if exclude_reblogs && act.kind == ActivityKind::Repost {
                return false;
            }
            if exclude_replies
                && act.kind == ActivityKind::Reply
                && act.target.as_ref().is_some_and(|t| t.account != account)
            {
                return false;
            }
            match &tagged {
                Some(tag) => {
                    act.kind != ActivityKind::Repost
                        && web::hashtags(&act.text)
                            .iter()
                            .any(|(_, _, t)| t.to_lowercase() == *tag)
                }
                None => true,
            }
        })
        .map(|i| {
            (
                ids::parse_snowflake(&world.activities[i].id).unwrap_or(0),
                i,
            )
        })
        .collect();
    let page = paginate(&items, &q, limit);
    let view = View {
        base: &state.base_url,
        world: &world,
        domain,
    };
    let body: Vec<Value> = page.iter().map(|&(_, i)| view.status(i)).collect();
    let url = format!(
        "{}/api/v1/accounts/{}/statuses",
        state.mastodon_base(domain),
        id
    );
    let kept = q.kept(&[
        "exclude_reblogs",
        "exclude_replies",
        "limit",
        "only_media",
        "pinned",
        "tagged",
    ]);
    let link = link_header(
        &url,
        &kept,
        (page.first().map(|p| p.0), page.last().map(|p| p.0)),
        page.len() == limit && limit > 0,
        "min_id",
    );
    ok_json(&Value::Array(body), link)
}

/// `GET /api/v1/statuses/:id`.
pub async fn status(
    State(state): State<Arc<SimState>>,
    Path((domain, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let found = status_on(&state, &domain, &id);
    let Some(i) = found else { return not_found() };
    if state.world().script.deleted(i) {
        return not_found();
    }
    let author = state.world().activities[i].actor;
    guard(&state, &uri, &headers)
        .run(&[author], || {
            let world = state.world();
            let view = View {
                base: &state.base_url,
                world: &world,
                domain: &domain,
            };
            ok_json(&view.status(i), None)
        })
        .await
}

/// `GET /api/v1/accounts/:id/following`: the accounts it follows now, paged by `max_id` over
/// the (internal) follow key with a `Link` header, 40 by default and at most 80. An account
/// that hides its social graph answers an empty list, as Mastodon does for other viewers.
pub async fn following(
    State(state): State<Arc<SimState>>,
    Path((domain, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let found = account_on(&state, &domain, &id);
    let Some(account) = found else {
        return not_found();
    };
    guard(&state, &uri, &headers)
        .run(&[account], || {
            let world = state.world();
            let q = Query::parse(uri.query());
            let limit = limit_param(&q, 40, 80);
            let items: Vec<(u64, usize)> = if world.script.following_hidden(account) {
                Vec::new()
            } else {
                world
                    .script
                    .following(account)
                    .into_iter()
                    .map(|target| (target as u64 + 1, target))
                    .collect()
            };
            let page = paginate(&items, &q, limit);
            let view = View {
                base: &state.base_url,
                world: &world,
                domain: &domain,
            };
            let body: Vec<Value> = page.iter().map(|&(_, t)| view.account(t)).collect();
            let url = format!(
                "{}/api/v1/accounts/{id}/following",
                state.mastodon_base(&domain)
            );
            let link = link_header(
                &url,
                &q.kept(&["limit"]),
                (page.first().map(|p| p.0), page.last().map(|p| p.0)),
                page.len() == limit && limit > 0,
                "since_id",
            );
            ok_json(&Value::Array(body), link)
        })
        .await
}

/// `GET /api/v1/statuses/:id/history`: the StatusEdit list, oldest first. An edited status has
/// its original version (the text without its last word) and the current one; others only
/// the current one.
pub async fn history(
    State(state): State<Arc<SimState>>,
    Path((domain, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let found = status_on(&state, &domain, &id);
    let Some(i) = found else { return not_found() };
    let author = state.world().activities[i].actor;
    guard(&state, &uri, &headers)
        .run(&[author], || {
            let world = state.world();
            let view = View {
                base: &state.base_url,
                world: &world,
                domain: &domain,
            };
            ok_json(&Value::Array(view.history(i)), None)
        })
        .await
}

/// Shared by `favourited_by` and `reblogged_by`: accounts who acted on a status, newest first.
async fn actors_of(
    state: Arc<SimState>,
    domain: String,
    id: String,
    uri: Uri,
    headers: HeaderMap,
    kind: ActivityKind,
) -> Response {
    let found = status_on(&state, &domain, &id);
    let Some(i) = found else { return not_found() };
    let author = state.world().activities[i].actor;
    guard(&state, &uri, &headers)
        .run(&[author], || {
            actors_page(&state, &domain, &id, i, &uri, kind)
        })
        .await
}

/// One page of the accounts that liked (`kind` = like) or boosted status activity `i`.
fn actors_page(
    state: &SimState,
    domain: &str,
    id: &str,
    i: usize,
    uri: &Uri,
    kind: ActivityKind,
) -> Response {
    let world = state.world();
    let q = Query::parse(uri.query());
    let limit = limit_param(&q, 40, 80);
    let map = if kind == ActivityKind::Like {
        &world.index.likes_of
    } else {
        &world.index.reposts_of
    };
    let mut items: Vec<(u64, usize)> = map
        .get(id)
        .map(|list| {
            list.iter()
                .map(|&j| {
                    let act = &world.activities[j];
                    let key = if kind == ActivityKind::Like {
                        act.favourite_id
                    } else {
                        ids::parse_snowflake(&act.id).unwrap_or(0)
                    };
                    (key, j)
                })
                .filter(|_| world.activities[i].platform == Platform::Mastodon)
                .collect()
        })
        .unwrap_or_default();
    items.sort();
    let page = paginate(&items, &q, limit);
    let view = View {
        base: &state.base_url,
        world: &world,
        domain,
    };
    let body: Vec<Value> = page
        .iter()
        .map(|&(_, j)| view.account(world.activities[j].actor))
        .collect();
    let endpoint = if kind == ActivityKind::Like {
        "favourited_by"
    } else {
        "reblogged_by"
    };
    let url = format!(
        "{}/api/v1/statuses/{id}/{endpoint}",
        state.mastodon_base(domain)
    );
    let kept = q.kept(&["limit"]);
    let link = link_header(
        &url,
        &kept,
        (page.first().map(|p| p.0), page.last().map(|p| p.0)),
        page.len() == limit && limit > 0,
        "since_id",
    );
    let mut response = ok_json(&Value::Array(body), link);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(
            "max-age=15, public, stale-while-revalidate=30, stale-if-error=86400",
        ),
    );
    response
}

/// `GET /api/v1/statuses/:id/favourited_by` (paged by the internal Favourite id).
pub async fn favourited_by(
    State(state): State<Arc<SimState>>,
    Path((domain, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    actors_of(state, domain, id, uri, headers, ActivityKind::Like).await
}

/// `GET /api/v1/statuses/:id/reblogged_by` (paged by the boost's status id).
pub async fn reblogged_by(
    State(state): State<Arc<SimState>>,
    Path((domain, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    actors_of(state, domain, id, uri, headers, ActivityKind::Repost).await
}

/// `GET /api/v1/statuses/:id/context`: the parent of a reply, and the replies to a status.
pub async fn context(
    State(state): State<Arc<SimState>>,
    Path((domain, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let found = status_on(&state, &domain, &id);
    let Some(i) = found else { return not_found() };
    let author = state.world().activities[i].actor;
    guard(&state, &uri, &headers)
        .run(&[author], || context_body(&state, &domain, i))
        .await
}

/// `{ancestors, descendants}` of status activity `i`.
fn context_body(state: &SimState, domain: &str, i: usize) -> Response {
    let world = state.world();
    let view = View {
        base: &state.base_url,
        world: &world,
        domain,
    };
    let act = &world.activities[i];
    let ancestors: Vec<Value> = match (act.kind, &act.target) {
        (ActivityKind::Reply, Some(t)) => status_by_id(&world, &t.id)
            .map(|j| view.status(j))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    let descendants: Vec<Value> = world
        .index
        .replies_of
        .get(&act.id)
        .map(|list| list.iter().map(|&j| view.status(j)).collect())
        .unwrap_or_default();
    let mut response = ok_json(
        &json!({ "ancestors": ancestors, "descendants": descendants }),
        None,
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60, public"),
    );
    response
}
