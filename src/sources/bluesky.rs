//! Bluesky (AT Protocol): an account's posts, replies, reposts and quotes from the public
//! AppView, its likes from its own repository, and who liked, reposted or replied to a watched
//! account's posts.
//!
//! Accounts are keyed on their DID; handles change. `getAuthorFeed` has no "since" parameter,
//! so a scan reads newest first and stops at the first item it has already seen. Likes are
//! public records in the account's repository: the DID document names its PDS, whose
//! `com.atproto.repo.listRecords` lists `app.bsky.feed.like` records newest first; the liked
//! posts are then resolved with `getPosts` so a reviewer sees what was liked.
//!
//! The scan cursor is one opaque string for the store: a small JSON object holding the newest
//! feed item and the newest like record seen.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{Expect, FetchError, Fetched, HttpClient};
use super::{
    activity_id, AccountRef, AccountSnapshot, Capabilities, Resolved, ScanPage, SourceError,
};
use crate::model::{
    AccountState, Activity, ActivityKind, EvidenceRef, FollowedAccount, Platform, Presence,
    Profile as AccountProfile, Target,
};

/// Feed items per page (the API allows 100).
const FEED_LIMIT: usize = 50;
/// Pages read in one scan before the rest waits for the next one.
const MAX_PAGES: usize = 10;
/// Pages read back in time on an account's first scan.
const MAX_BACKFILL_PAGES: usize = 50;
/// `getPosts` takes at most 25 URIs.
const GET_POSTS_BATCH: usize = 25;
/// Pages of `getFollows` read per snapshot (100 × 50 = 5,000 followed accounts).
const MAX_FOLLOWS_PAGES: usize = 50;

pub const CAPABILITIES: Capabilities = Capabilities {
    platform: Platform::Bluesky,
    own_kinds: &[
        ActivityKind::Post,
        ActivityKind::Reply,
        ActivityKind::Repost,
        ActivityKind::Quote,
        ActivityKind::Like,
    ],
    reverse_kinds: &[
        ActivityKind::Like,
        ActivityKind::Repost,
        ActivityKind::Reply,
    ],
    exact_times: true,
    needs_token: false,
    note: "Unggahan, balasan, repost, kutipan dan suka (like) semuanya data publik dan terbaca \
           langsung dari akun.",
};

/// Where the previous scan stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlueskyCursor {
    /// Key of the newest feed item seen (see [`feed_item_key`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
    /// URI of the newest like record seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likes: Option<String>,
}

impl BlueskyCursor {
    pub fn parse(text: Option<&str>) -> BlueskyCursor {
        // An unreadable cursor (an older format) means "start fresh", never an error that
        // would stop the account being scanned.
        text.and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    did: String,
    handle: String,
}

/// `app.bsky.actor.defs#profileViewDetailed` (getProfile) and `#profileView` (getFollows).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileView {
    did: String,
    handle: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    avatar: Option<String>,
    #[serde(default)]
    banner: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Follows {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    follows: Vec<ProfileView>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostView {
    uri: String,
    author: Profile,
    #[serde(default)]
    record: Value,
    #[serde(default)]
    embed: Option<Value>,
    #[serde(default)]
    indexed_at: Option<String>,
}

impl PostView {
    fn text(&self) -> String {
        self.record
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    fn created_at(&self) -> Option<&str> {
        self.record.get("createdAt").and_then(Value::as_str)
    }

    fn target(&self) -> Target {
        Target {
            author: format!("@{}", self.author.handle),
            author_platform_id: Some(self.author.did.clone()),
            text: self.text(),
            url: Some(web_url(&self.uri, &self.author.handle)),
        }
    }

    /// The quoted post, from a record embed or a record-with-media embed.
    fn quoted(&self) -> Option<Target> {
        let embed = self.embed.as_ref()?;
        let record = match embed.get("$type").and_then(Value::as_str)? {
            "app.bsky.embed.record#view" => embed.get("record")?,
            "app.bsky.embed.recordWithMedia#view" => embed.get("record")?.get("record")?,
            _ => return None,
        };
        if record.get("$type").and_then(Value::as_str) != Some("app.bsky.embed.record#viewRecord") {
            // A quoted post that is gone or blocked: the author may still be known.
            let uri = record.get("uri").and_then(Value::as_str)?;
            return Some(Target {
                author: did_of_uri(uri).unwrap_or_default().to_string(),
                author_platform_id: did_of_uri(uri).map(str::to_string),
                text: String::new(),
                url: None,
            });
        }
        let author: Profile = serde_json::from_value(record.get("author")?.clone()).ok()?;
        let uri = record.get("uri").and_then(Value::as_str)?;
        Some(Target {
            author: format!("@{}", author.handle),
            text: record
                .get("value")
                .and_then(|v| v.get("text"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            url: Some(web_url(uri, &author.handle)),
            author_platform_id: Some(author.did),
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
struct FeedItem {
    post: PostView,
    #[serde(default)]
    reply: Option<Value>,
    #[serde(default)]
    reason: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Feed {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    feed: Vec<FeedItem>,
}

#[derive(Debug, Deserialize)]
struct Records {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    records: Vec<LikeRecord>,
}

#[derive(Debug, Deserialize)]
struct LikeRecord {
    uri: String,
    value: Value,
}

#[derive(Debug, Deserialize)]
struct Posts {
    #[serde(default)]
    posts: Vec<PostView>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Likes {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    likes: Vec<LikeView>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LikeView {
    actor: Profile,
    #[serde(default)]
    created_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RepostedBy {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    reposted_by: Vec<Profile>,
}

/// Where a scan stops reading back: at an item already seen (a catch-up), or at a time (the
/// first scan's backfill), or after the newest page (neither).
#[derive(Debug, Clone, Copy)]
struct Horizon<'a> {
    seen: Option<&'a str>,
    backfill_since: Option<Timestamp>,
}

impl<'a> Horizon<'a> {
    fn new(seen: Option<&'a str>, backfill_since: Option<Timestamp>) -> Horizon<'a> {
        Horizon {
            seen,
            // A backfill only applies to a first scan.
            backfill_since: if seen.is_some() { None } else { backfill_since },
        }
    }

    fn is_before(&self, time: Timestamp) -> bool {
        self.backfill_since.is_some_and(|since| time < since)
    }

    /// Whether to read another (older) page.
    fn keep_paging(&self, reached_backfill_horizon: bool) -> bool {
        self.seen.is_some() || (self.backfill_since.is_some() && !reached_backfill_horizon)
    }

    fn max_pages(&self) -> usize {
        if self.backfill_since.is_some() {
            MAX_BACKFILL_PAGES
        } else {
            MAX_PAGES
        }
    }
}

/// The key that identifies a feed item: a repost is the reposter's act, not the post.
fn feed_item_key(item: &FeedItem) -> String {
    match repost_reason(item) {
        Some(by) => activity_id::repost(&by.did, &item.post.uri),
        None => item.post.uri.clone(),
    }
}

fn repost_reason(item: &FeedItem) -> Option<Profile> {
    let reason = item.reason.as_ref()?;
    if reason.get("$type").and_then(Value::as_str) != Some("app.bsky.feed.defs#reasonRepost") {
        return None;
    }
    serde_json::from_value(reason.get("by")?.clone()).ok()
}

fn is_pin(item: &FeedItem) -> bool {
    item.reason
        .as_ref()
        .and_then(|r| r.get("$type"))
        .and_then(Value::as_str)
        == Some("app.bsky.feed.defs#reasonPin")
}

/// `at://did:plc:x/app.bsky.feed.post/rkey` → `did:plc:x`.
fn did_of_uri(uri: &str) -> Option<&str> {
    uri.strip_prefix("at://")?.split('/').next()
}

/// The bsky.app address of a post, which a reviewer can open.
fn web_url(uri: &str, handle: &str) -> String {
    match uri.rsplit('/').next() {
        Some(rkey) if uri.contains("/app.bsky.feed.post/") => {
            format!("https://bsky.app/profile/{handle}/post/{rkey}")
        }
        _ => uri.to_string(),
    }
}

/// The Bluesky connector.
#[derive(Clone)]
pub struct Bluesky {
    http: HttpClient,
    appview_url: String,
    plc_directory_url: String,
}

impl Bluesky {
    pub fn new(http: HttpClient, appview_url: String, plc_directory_url: String) -> Bluesky {
        Bluesky {
            http,
            appview_url,
            plc_directory_url,
        }
    }

    async fn get(&self, url: &str) -> Result<Fetched, SourceError> {
        self.http
            .get(url, Expect::Json, &[])
            .await
            .map_err(|error| match error {
                // XRPC says "not found" with a 400 and a message, not a 404.
                FetchError::Client {
                    url,
                    status: 400,
                    excerpt,
                } if excerpt.contains("not found") || excerpt.contains("NotFound") => {
                    SourceError::Fetch(FetchError::Gone { url, status: 400 })
                }
                other => SourceError::Fetch(other),
            })
    }

    fn xrpc(&self, method: &str, query: &[(&str, &str)]) -> String {
        xrpc_url(&self.appview_url, method, query)
    }

    /// Resolves a handle (or DID) to the DID and the current handle.
    pub async fn resolve(&self, handle: &str) -> Result<Resolved, SourceError> {
        let actor = handle.trim().trim_start_matches('@');
        if actor.is_empty() || actor.contains(char::is_whitespace) || !actor.contains(['.', ':']) {
            return Err(SourceError::BadHandle {
                platform: Platform::Bluesky,
                handle: handle.to_string(),
                reason: "expected a handle such as nama.bsky.social or a DID",
            });
        }
        let fetched = self
            .get(&self.xrpc("app.bsky.actor.getProfile", &[("actor", actor)]))
            .await?;
        let profile: Profile = fetched.json()?;
        Ok(Resolved {
            platform_id: profile.did,
            handle: profile.handle,
            state: AccountState::Ok,
        })
    }

    /// New feed items and likes of a registered account since `cursor`. Without a cursor (the
    /// first scan), items back to `backfill_since` are read; without that either, the newest
    /// page of each.
    pub async fn scan_own(
        &self,
        account: &AccountRef,
        cursor: Option<&str>,
        backfill_since: Option<Timestamp>,
    ) -> Result<ScanPage, SourceError> {
        let did = account.resolved_id(Platform::Bluesky)?;
        let previous = BlueskyCursor::parse(cursor);
        let mut page = ScanPage::default();
        let feed_horizon = Horizon::new(previous.feed.as_deref(), backfill_since);
        let feed = self
            .scan_feed(account, did, feed_horizon, &mut page)
            .await?;
        let likes_horizon = Horizon::new(previous.likes.as_deref(), backfill_since);
        let likes = self
            .scan_likes(account, did, likes_horizon, &mut page)
            .await?;
        let next = BlueskyCursor {
            feed: feed.or(previous.feed.clone()),
            likes: likes.or(previous.likes.clone()),
        };
        page.cursor =
            (next != previous).then(|| serde_json::to_string(&next).expect("cursor serialises"));
        Ok(page)
    }

    /// Reads the author feed down to the first item already seen (or back to the backfill
    /// horizon); returns the newest key.
    async fn scan_feed(
        &self,
        account: &AccountRef,
        did: &str,
        horizon: Horizon<'_>,
        page: &mut ScanPage,
    ) -> Result<Option<String>, SourceError> {
        let limit = FEED_LIMIT.to_string();
        let mut api_cursor: Option<String> = None;
        let mut newest = None;
        'pages: for _ in 0..horizon.max_pages() {
            let mut query = vec![("actor", did), ("limit", limit.as_str())];
            if let Some(c) = &api_cursor {
                query.push(("cursor", c.as_str()));
            }
            let fetched = self
                .get(&self.xrpc("app.bsky.feed.getAuthorFeed", &query))
                .await?;
            let feed: Feed = fetched.json()?;
            let mut reached = false;
            for item in &feed.feed {
                if is_pin(item) {
                    continue;
                }
                let key = feed_item_key(item);
                if Some(key.as_str()) == horizon.seen {
                    page.evidence.push(fetched);
                    break 'pages;
                }
                newest.get_or_insert_with(|| key.clone());
                let activity = feed_activity(account, item, key, &fetched)?;
                if horizon.is_before(activity.occurred_at) {
                    reached = true;
                    continue;
                }
                page.activities.push(activity);
            }
            page.evidence.push(fetched);
            match feed.cursor {
                Some(next) if !feed.feed.is_empty() && horizon.keep_paging(reached) => {
                    api_cursor = Some(next)
                }
                _ => break,
            }
        }
        Ok(newest)
    }

    /// Reads like records from the account's PDS down to the first one already seen (or back
    /// to the backfill horizon).
    async fn scan_likes(
        &self,
        account: &AccountRef,
        did: &str,
        horizon: Horizon<'_>,
        page: &mut ScanPage,
    ) -> Result<Option<String>, SourceError> {
        let pds = self.pds_of(did, page).await?;
        let mut api_cursor: Option<String> = None;
        let mut newest = None;
        let mut likes: Vec<(LikeRecord, usize)> = Vec::new();
        'pages: for _ in 0..horizon.max_pages() {
            let mut query = vec![
                ("repo", did),
                ("collection", "app.bsky.feed.like"),
                ("limit", "100"),
            ];
            if let Some(c) = &api_cursor {
                query.push(("cursor", c.as_str()));
            }
            let fetched = self
                .get(&xrpc_url(&pds, "com.atproto.repo.listRecords", &query))
                .await?;
            let records: Records = fetched.json()?;
            let evidence_index = page.evidence.len();
            page.evidence.push(fetched);
            let has_more = records.cursor.is_some() && !records.records.is_empty();
            let mut reached = false;
            for record in records.records {
                if Some(record.uri.as_str()) == horizon.seen {
                    break 'pages;
                }
                newest.get_or_insert_with(|| record.uri.clone());
                let created = record
                    .value
                    .get("createdAt")
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse::<Timestamp>().ok());
                if created.is_some_and(|t| horizon.is_before(t)) {
                    reached = true;
                    continue;
                }
                likes.push((record, evidence_index));
            }
            match records.cursor {
                Some(next) if has_more && horizon.keep_paging(reached) => api_cursor = Some(next),
                _ => break,
            }
        }
        let subjects: Vec<String> = likes
            .iter()
            .filter_map(|(r, _)| {
                r.value
                    .get("subject")?
                    .get("uri")?
                    .as_str()
                    .map(str::to_string)
            })
            .collect();
        let posts = self.get_posts(&subjects, page).await?;
        for (record, evidence_index) in &likes {
            let Some(subject) = record
                .value
                .get("subject")
                .and_then(|s| s.get("uri"))
                .and_then(Value::as_str)
            else {
                continue;
            };
            let fetched = &page.evidence[*evidence_index];
            let created = record.value.get("createdAt").and_then(Value::as_str);
            let target = posts
                .get(subject)
                .map(PostView::target)
                .unwrap_or_else(|| Target {
                    author: did_of_uri(subject).unwrap_or_default().to_string(),
                    author_platform_id: did_of_uri(subject).map(str::to_string),
                    text: String::new(),
                    url: None,
                });
            let activity = Activity {
                platform: Platform::Bluesky,
                platform_activity_id: activity_id::like(did, subject),
                kind: ActivityKind::Like,
                account_id: account.account_id,
                actor_handle: format!("@{}", account.handle.trim_start_matches('@')),
                text: String::new(),
                target: Some(target),
                url: None,
                occurred_at: parse_time(created, fetched)?,
                time_exact: created.is_some(),
                observed_at: fetched.fetched_at,
                evidence: Some(evidence(fetched)),
            };
            page.activities.push(activity);
        }
        Ok(newest)
    }

    /// The PDS base URL from the account's DID document.
    async fn pds_of(&self, did: &str, page: &mut ScanPage) -> Result<String, SourceError> {
        let url = if let Some(host) = did.strip_prefix("did:web:") {
            format!("https://{host}/.well-known/did.json")
        } else {
            format!("{}/{did}", self.plc_directory_url)
        };
        let fetched = self.get(&url).await?;
        let document: Value = fetched.json()?;
        let endpoint = document
            .get("service")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|s| {
                s.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.ends_with("#atproto_pds"))
            })
            .and_then(|s| s.get("serviceEndpoint").and_then(Value::as_str))
            .map(|e| e.trim_end_matches('/').to_string())
            .ok_or_else(|| SourceError::Unexpected {
                url: fetched.url.clone(),
                reason: "the DID document names no #atproto_pds service".into(),
            })?;
        page.evidence.push(fetched);
        Ok(endpoint)
    }

    /// Hydrates post URIs; posts that are gone are simply absent from the map.
    async fn get_posts(
        &self,
        uris: &[String],
        page: &mut ScanPage,
    ) -> Result<HashMap<String, PostView>, SourceError> {
        let mut found = HashMap::new();
        for batch in uris.chunks(GET_POSTS_BATCH) {
            let query: Vec<(&str, &str)> = batch.iter().map(|u| ("uris", u.as_str())).collect();
            let fetched = self
                .get(&self.xrpc("app.bsky.feed.getPosts", &query))
                .await?;
            let posts: Posts = fetched.json()?;
            page.evidence.push(fetched);
            for post in posts.posts {
                found.insert(post.uri.clone(), post);
            }
        }
        Ok(found)
    }

    /// Likes, reposts and replies by registered accounts on a watched account's recent posts.
    /// `registered` maps DIDs (and, for accounts not resolved yet, lowercase handles) to
    /// accounts.
    pub async fn scan_reverse(
        &self,
        watched: &AccountRef,
        registered: &HashMap<String, AccountRef>,
        since: Timestamp,
    ) -> Result<ScanPage, SourceError> {
        let did = watched.resolved_id(Platform::Bluesky)?;
        let limit = FEED_LIMIT.to_string();
        let mut page = ScanPage::default();
        let mut posts: Vec<PostView> = Vec::new();
        let mut api_cursor: Option<String> = None;
        // The watched account's own posts back to `since`, newest first.
        for _ in 0..MAX_BACKFILL_PAGES {
            let mut query = vec![
                ("actor", did),
                ("limit", limit.as_str()),
                ("filter", "posts_no_replies"),
            ];
            if let Some(c) = &api_cursor {
                query.push(("cursor", c.as_str()));
            }
            let fetched = self
                .get(&self.xrpc("app.bsky.feed.getAuthorFeed", &query))
                .await?;
            let feed: Feed = fetched.json()?;
            let mut reached = false;
            for item in feed.feed.iter().filter(|i| !is_pin(i)) {
                let created = item
                    .post
                    .created_at()
                    .and_then(|t| t.parse::<Timestamp>().ok());
                if created.is_some_and(|t| t < since) {
                    reached = true;
                } else if item.reason.is_none() && item.post.author.did == did {
                    posts.push(item.post.clone());
                }
            }
            page.evidence.push(fetched);
            match feed.cursor {
                Some(next) if !feed.feed.is_empty() && !reached => api_cursor = Some(next),
                _ => break,
            }
        }
        for post in &posts {
            self.reverse_interactions(post, ActivityKind::Like, registered, &mut page)
                .await?;
            self.reverse_interactions(post, ActivityKind::Repost, registered, &mut page)
                .await?;
            self.reverse_replies(post, registered, &mut page).await?;
        }
        Ok(page)
    }

    /// Registered accounts among those who liked (`getLikes`) or reposted (`getRepostedBy`)
    /// a watched post. A like says when it was made; a repost listing does not, so its time
    /// is when it was seen.
    async fn reverse_interactions(
        &self,
        post: &PostView,
        kind: ActivityKind,
        registered: &HashMap<String, AccountRef>,
        page: &mut ScanPage,
    ) -> Result<(), SourceError> {
        let method = match kind {
            ActivityKind::Like => "app.bsky.feed.getLikes",
            _ => "app.bsky.feed.getRepostedBy",
        };
        let mut api_cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("uri", post.uri.as_str()), ("limit", "100")];
            if let Some(c) = &api_cursor {
                query.push(("cursor", c.as_str()));
            }
            let fetched = self.get(&self.xrpc(method, &query)).await?;
            let (cursor, actors): (Option<String>, Vec<(Profile, Option<String>)>) = match kind {
                ActivityKind::Like => {
                    let likes: Likes = fetched.json()?;
                    let actors = likes
                        .likes
                        .into_iter()
                        .map(|l| (l.actor, l.created_at))
                        .collect();
                    (likes.cursor, actors)
                }
                _ => {
                    let reposts: RepostedBy = fetched.json()?;
                    let actors = reposts.reposted_by.into_iter().map(|p| (p, None)).collect();
                    (reposts.cursor, actors)
                }
            };
            for (actor, created_at) in &actors {
                let Some(account) = lookup(registered, actor) else {
                    continue;
                };
                let id = match kind {
                    ActivityKind::Like => activity_id::like(&actor.did, &post.uri),
                    _ => activity_id::repost(&actor.did, &post.uri),
                };
                let activity = interaction(
                    account,
                    actor,
                    kind,
                    id,
                    post.target(),
                    parse_time(created_at.as_deref(), &fetched)?,
                    created_at.is_some(),
                    &fetched,
                );
                page.activities.push(activity);
            }
            page.evidence.push(fetched);
            match cursor {
                Some(next) if !actors.is_empty() => api_cursor = Some(next),
                _ => break,
            }
        }
        Ok(())
    }

    async fn reverse_replies(
        &self,
        post: &PostView,
        registered: &HashMap<String, AccountRef>,
        page: &mut ScanPage,
    ) -> Result<(), SourceError> {
        let fetched = self
            .get(&self.xrpc(
                "app.bsky.feed.getPostThread",
                &[
                    ("uri", post.uri.as_str()),
                    ("depth", "1"),
                    ("parentHeight", "0"),
                ],
            ))
            .await?;
        let thread: Value = fetched.json()?;
        let replies = thread
            .get("thread")
            .and_then(|t| t.get("replies"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for reply in replies {
            let Some(view) = reply
                .get("post")
                .and_then(|p| serde_json::from_value::<PostView>(p.clone()).ok())
            else {
                continue; // a reply that is gone or blocked
            };
            let Some(account) = lookup(registered, &view.author) else {
                continue;
            };
            let mut activity = interaction(
                account,
                &view.author,
                ActivityKind::Reply,
                view.uri.clone(),
                post.target(),
                parse_time(view.created_at(), &fetched)?,
                view.created_at().is_some(),
                &fetched,
            );
            activity.text = view.text();
            activity.url = Some(web_url(&view.uri, &view.author.handle));
            page.activities.push(activity);
        }
        page.evidence.push(fetched);
        Ok(())
    }
}

impl Bluesky {
    /// The profile (`app.bsky.actor.getProfile`) and following list (`app.bsky.graph.getFollows`,
    /// cursor paging) of a registered account. Follows are public records on Bluesky: there is
    /// no hidden list.
    pub async fn snapshot(&self, account: &AccountRef) -> Result<AccountSnapshot, SourceError> {
        let did = account.resolved_id(Platform::Bluesky)?;
        let fetched = self
            .get(&self.xrpc("app.bsky.actor.getProfile", &[("actor", did)]))
            .await?;
        let me: ProfileView = fetched.json()?;
        let mut snapshot = AccountSnapshot {
            following: None,
            profile: Some(AccountProfile {
                display_name: me.display_name.clone().unwrap_or_default(),
                note: me.description.clone().unwrap_or_default(),
                fields: Vec::new(),
                avatar: me.avatar.clone(),
                banner: me.banner.clone(),
            }),
            evidence: vec![fetched],
        };
        let mut following = Vec::new();
        let mut api_cursor: Option<String> = None;
        for _ in 0..MAX_FOLLOWS_PAGES {
            let mut query = vec![("actor", did), ("limit", "100")];
            if let Some(c) = &api_cursor {
                query.push(("cursor", c.as_str()));
            }
            let fetched = self
                .get(&self.xrpc("app.bsky.graph.getFollows", &query))
                .await?;
            let page: Follows = fetched.json()?;
            for followed in &page.follows {
                following.push(FollowedAccount {
                    platform_id: followed.did.clone(),
                    handle: format!("@{}", followed.handle),
                    display_name: followed.display_name.clone().unwrap_or_default(),
                    url: Some(format!("https://bsky.app/profile/{}", followed.handle)),
                });
            }
            snapshot.evidence.push(fetched);
            match page.cursor {
                Some(next) if !page.follows.is_empty() => api_cursor = Some(next),
                _ => break,
            }
        }
        snapshot.following = Some(following);
        Ok(snapshot)
    }

    /// Whether posts are still online: `app.bsky.feed.getPosts` leaves out posts that are gone.
    /// Only post URIs can be asked for; reposts and likes are left out.
    pub async fn presence(
        &self,
        activity_ids: &[String],
    ) -> Result<Vec<(String, Presence)>, SourceError> {
        let uris: Vec<String> = activity_ids
            .iter()
            .filter(|id| id.starts_with("at://") && id.contains("/app.bsky.feed.post/"))
            .cloned()
            .collect();
        let mut page = ScanPage::default();
        let found = self.get_posts(&uris, &mut page).await?;
        Ok(uris
            .into_iter()
            .map(|uri| {
                let presence = if found.contains_key(&uri) {
                    Presence::Present
                } else {
                    Presence::Gone
                };
                (uri, presence)
            })
            .collect())
    }
}

/// A registered account by DID, or by handle for accounts not resolved yet.
fn lookup<'a>(
    registered: &'a HashMap<String, AccountRef>,
    actor: &Profile,
) -> Option<&'a AccountRef> {
    registered
        .get(&actor.did)
        .or_else(|| registered.get(&actor.handle.to_lowercase()))
}

/// The activity for one feed item of the account's own feed.
fn feed_activity(
    account: &AccountRef,
    item: &FeedItem,
    key: String,
    fetched: &Fetched,
) -> Result<Activity, SourceError> {
    let post = &item.post;
    let actor_handle = format!("@{}", account.handle.trim_start_matches('@'));
    let base = |kind,
                text: String,
                target: Option<Target>,
                time: Option<&str>|
     -> Result<Activity, SourceError> {
        Ok(Activity {
            platform: Platform::Bluesky,
            platform_activity_id: key.clone(),
            kind,
            account_id: account.account_id,
            actor_handle: actor_handle.clone(),
            text,
            target,
            url: Some(web_url(&post.uri, &post.author.handle)),
            occurred_at: parse_time(time, fetched)?,
            time_exact: time.is_some(),
            observed_at: fetched.fetched_at,
            evidence: Some(evidence(fetched)),
        })
    };
    if let Some(reason) = &item.reason {
        let time = reason.get("indexedAt").and_then(Value::as_str);
        let mut activity = base(
            ActivityKind::Repost,
            String::new(),
            Some(post.target()),
            time,
        )?;
        activity.url = None;
        return Ok(activity);
    }
    if let Some(quoted) = post.quoted() {
        return base(
            ActivityKind::Quote,
            post.text(),
            Some(quoted),
            post.created_at(),
        );
    }
    if let Some(reply) = &item.reply {
        let parent = reply.get("parent");
        let target = parent
            .and_then(|p| serde_json::from_value::<PostView>(p.clone()).ok())
            .map(|p| p.target())
            .unwrap_or_else(|| {
                // The parent is gone or blocked; its URI still names its author.
                let uri = parent
                    .and_then(|p| p.get("uri"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                Target {
                    author: did_of_uri(uri).unwrap_or_default().to_string(),
                    author_platform_id: did_of_uri(uri).map(str::to_string),
                    text: String::new(),
                    url: None,
                }
            });
        return base(
            ActivityKind::Reply,
            post.text(),
            Some(target),
            post.created_at(),
        );
    }
    base(
        ActivityKind::Post,
        post.text(),
        None,
        post.created_at().or(post.indexed_at.as_deref()),
    )
}

#[allow(clippy::too_many_arguments)]
fn interaction(
    account: &AccountRef,
    actor: &Profile,
    kind: ActivityKind,
    id: String,
    target: Target,
    occurred_at: Timestamp,
    time_exact: bool,
    fetched: &Fetched,
) -> Activity {
    Activity {
        platform: Platform::Bluesky,
        platform_activity_id: id,
        kind,
        account_id: account.account_id,
        actor_handle: format!("@{}", actor.handle),
        text: String::new(),
        target: Some(target),
        url: None,
        occurred_at,
        time_exact,
        observed_at: fetched.fetched_at,
        evidence: Some(evidence(fetched)),
    }
}

fn evidence(fetched: &Fetched) -> EvidenceRef {
    EvidenceRef {
        sha256: fetched.sha256.clone(),
        url: fetched.url.clone(),
        fetched_at: fetched.fetched_at,
    }
}

/// A record's declared time; absent means "seen now" (and the activity says it is inexact).
fn parse_time(value: Option<&str>, fetched: &Fetched) -> Result<Timestamp, SourceError> {
    match value {
        None => Ok(fetched.fetched_at),
        Some(text) => text
            .parse::<Timestamp>()
            .map_err(|error| SourceError::Unexpected {
                url: fetched.url.clone(),
                reason: format!("time '{text}' is not an ISO 8601 time: {error}"),
            }),
    }
}

fn xrpc_url(base: &str, method: &str, query: &[(&str, &str)]) -> String {
    let mut url = format!("{base}/xrpc/{method}");
    for (index, (name, value)) in query.iter().enumerate() {
        url.push(if index == 0 { '?' } else { '&' });
        url.push_str(name);
        url.push('=');
        url.push_str(&super::percent_encode(value));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_start_fresh() {
        let cursor = BlueskyCursor {
            feed: Some("at://did:plc:a/app.bsky.feed.post/1".into()),
            likes: None,
        };
        let text = serde_json::to_string(&cursor).unwrap();
        assert_eq!(BlueskyCursor::parse(Some(&text)), cursor);
        assert_eq!(
            BlueskyCursor::parse(Some("1706556632894::bafy")),
            BlueskyCursor::default()
        );
    }

    #[test]
    fn post_uris_become_web_addresses() {
        assert_eq!(
            web_url("at://did:plc:x/app.bsky.feed.post/3kk7", "budi.bsky.social"),
            "https://bsky.app/profile/budi.bsky.social/post/3kk7"
        );
        assert_eq!(
            did_of_uri("at://did:plc:x/app.bsky.feed.post/3kk7"),
            Some("did:plc:x")
        );
    }
}
