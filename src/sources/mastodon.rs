//! Mastodon (and compatible servers): an account's own statuses, and who liked, boosted or
//! replied to a watched account's posts.
//!
//! Accounts are read on their home instance (`@budi@instansi.example` → `https://instansi.example`,
//! or the base URL configured for that domain). Anonymous access suffices for public posts.
//! Catch-up uses `min_id`, which returns the statuses immediately after the cursor, following
//! the `Link` header's `prev` page while pages come back full. Only the query of a `Link` URL is
//! used: the host always comes from configuration, so a hostile server cannot send us elsewhere.
//!
//! Mastodon does not show what an account liked. Likes are seen the other way round: for recent
//! posts of watched candidate accounts, `favourited_by` lists who liked them, and that list is
//! intersected with the registered accounts.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use serde::Deserialize;

use super::http::{Expect, FetchError, Fetched, HttpClient};
use super::{
    activity_id, html, id_order, percent_encode, AccountRef, AccountSnapshot, Capabilities,
    Resolved, ScanPage, SourceError,
};
use crate::model::{
    AccountState, Activity, ActivityKind, EvidenceRef, FollowedAccount, Platform, Presence,
    Profile, ProfileField, Target,
};

/// Mastodon's maximum page size for statuses.
const PAGE_LIMIT: usize = 40;
/// Pages followed in one catch-up before the rest waits for the next scan.
const MAX_PAGES: usize = 10;
/// Pages read back in time on an account's first scan.
const MAX_BACKFILL_PAGES: usize = 50;
/// Pages of `favourited_by` / `reblogged_by` read per watched post.
const MAX_INTERACTION_PAGES: usize = 5;
/// Accounts per page of a following list (Mastodon's maximum).
const FOLLOWING_LIMIT: usize = 80;
/// Pages of a following list read per snapshot (80 × 50 = 4,000 followed accounts).
const MAX_FOLLOWING_PAGES: usize = 50;

pub const CAPABILITIES: Capabilities = Capabilities {
    platform: Platform::Mastodon,
    own_kinds: &[
        ActivityKind::Post,
        ActivityKind::Reply,
        ActivityKind::Repost,
        ActivityKind::Quote,
    ],
    reverse_kinds: &[
        ActivityKind::Like,
        ActivityKind::Repost,
        ActivityKind::Reply,
    ],
    exact_times: false,
    needs_token: false,
    note: "Unggahan, balasan, boost dan kutipan publik terbaca langsung; suka (favourite) hanya \
           terlihat pada unggahan akun yang dipantau, dengan waktu perkiraan.",
};

#[derive(Debug, Clone, Deserialize)]
struct MastodonAccount {
    id: String,
    username: String,
    acct: String,
    #[serde(default)]
    suspended: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct Field {
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
}

/// The Account entity with what a profile snapshot needs (`GET /api/v1/accounts/:id`, and
/// each entry of `/following`).
#[derive(Debug, Clone, Deserialize)]
struct AccountProfile {
    id: String,
    acct: String,
    #[serde(default)]
    display_name: String,
    /// HTML.
    #[serde(default)]
    note: String,
    #[serde(default)]
    fields: Vec<Field>,
    #[serde(default)]
    avatar: Option<String>,
    #[serde(default)]
    header: Option<String>,
    #[serde(default)]
    url: Option<String>,
    /// "Hide your social graph": `/following` then answers an empty list to everyone else.
    #[serde(default)]
    hide_collections: Option<bool>,
}

impl AccountProfile {
    fn profile(&self) -> Profile {
        Profile {
            display_name: self.display_name.clone(),
            note: html::to_text(&self.note),
            fields: self
                .fields
                .iter()
                .map(|f| ProfileField {
                    name: html::to_text(&f.name),
                    value: html::to_text(&f.value),
                })
                .collect(),
            avatar: self.avatar.clone(),
            banner: self.header.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Mention {
    id: String,
    acct: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Quote {
    #[serde(default)]
    quoted_status: Option<Box<Status>>,
}

#[derive(Debug, Clone, Deserialize)]
struct Status {
    id: String,
    created_at: String,
    #[serde(default)]
    in_reply_to_id: Option<String>,
    #[serde(default)]
    in_reply_to_account_id: Option<String>,
    uri: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    content: String,
    #[serde(default)]
    spoiler_text: String,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    edited_at: Option<String>,
    #[serde(default)]
    reblog: Option<Box<Status>>,
    account: MastodonAccount,
    #[serde(default)]
    mentions: Vec<Mention>,
    #[serde(default)]
    quote: Option<Quote>,
}

impl Status {
    /// Content warning and content together: a slogan hidden behind a CW still counts.
    fn text(&self) -> String {
        let content = html::to_text(&self.content);
        if self.spoiler_text.trim().is_empty() {
            content
        } else {
            format!("{}\n{content}", self.spoiler_text.trim())
        }
    }

    fn target(&self, server_domain: &str) -> Target {
        Target {
            author: format!("@{}", canonical_acct(&self.account.acct, server_domain)),
            author_platform_id: Some(self.account.id.clone()),
            text: self.text(),
            url: self.url.clone().or_else(|| Some(self.uri.clone())),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Context {
    #[serde(default)]
    descendants: Vec<Status>,
}

/// `user@domain` for an `acct` as a server shows it (local accounts have no domain).
fn canonical_acct(acct: &str, server_domain: &str) -> String {
    let acct = acct.trim_start_matches('@');
    if acct.contains('@') {
        acct.to_lowercase()
    } else {
        format!("{}@{}", acct.to_lowercase(), server_domain.to_lowercase())
    }
}

/// The Mastodon connector.
#[derive(Clone)]
pub struct Mastodon {
    http: HttpClient,
    /// Domain → base URL overrides from configuration.
    instances: BTreeMap<String, String>,
    /// Statuses asked for per page; a full page means more may follow.
    page_limit: usize,
}

impl Mastodon {
    pub fn new(http: HttpClient, instances: BTreeMap<String, String>) -> Mastodon {
        Mastodon {
            http,
            instances,
            page_limit: PAGE_LIMIT,
        }
    }

    /// Smaller pages, to replay recordings made with another `limit`.
    pub fn with_page_limit(mut self, limit: usize) -> Mastodon {
        self.page_limit = limit.clamp(1, PAGE_LIMIT);
        self
    }

    /// Splits `@user@domain` into its parts.
    pub fn split_handle(handle: &str) -> Result<(String, String), SourceError> {
        let bad = |reason| SourceError::BadHandle {
            platform: Platform::Mastodon,
            handle: handle.to_string(),
            reason,
        };
        let trimmed = handle.trim().trim_start_matches('@');
        let (user, domain) = trimmed
            .split_once('@')
            .ok_or_else(|| bad("expected @user@domain"))?;
        let valid_user = !user.is_empty()
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
        let valid_domain = !domain.is_empty()
            && domain.contains('.')
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == ':');
        if !valid_user {
            return Err(bad(
                "the user part may hold only letters, digits, '_', '.' and '-'",
            ));
        }
        if !valid_domain {
            return Err(bad("the domain is not a host name"));
        }
        Ok((user.to_string(), domain.to_lowercase()))
    }

    fn base_url(&self, domain: &str) -> String {
        self.instances
            .get(domain)
            .cloned()
            .unwrap_or_else(|| format!("https://{domain}"))
    }

    async fn get(&self, url: &str) -> Result<Fetched, SourceError> {
        Ok(self.http.get(url, Expect::Json, &[]).await?)
    }

    /// Resolves a handle to the permanent account id on its home instance.
    pub async fn resolve(&self, handle: &str) -> Result<Resolved, SourceError> {
        let (user, domain) = Mastodon::split_handle(handle)?;
        let url = format!(
            "{}/api/v1/accounts/lookup?acct={}",
            self.base_url(&domain),
            percent_encode(&user)
        );
        let fetched = self.get(&url).await?;
        let account: MastodonAccount = fetched.json()?;
        // A locked account only vets followers; its public posts stay readable, so it is Ok.
        let state = if account.suspended {
            AccountState::Suspended
        } else {
            AccountState::Ok
        };
        Ok(Resolved {
            platform_id: account.id,
            handle: format!("@{}@{domain}", account.username),
            state,
        })
    }

    /// New statuses of a registered account since `cursor` (a status id), oldest pages first.
    /// Without a cursor (the first scan), statuses back to `backfill_since` are read, newest
    /// pages first; without that either, only the newest page.
    pub async fn scan_own(
        &self,
        account: &AccountRef,
        cursor: Option<&str>,
        backfill_since: Option<Timestamp>,
    ) -> Result<ScanPage, SourceError> {
        let (_, domain) = Mastodon::split_handle(&account.handle)?;
        let account_id = account.resolved_id(Platform::Mastodon)?;
        let base = self.base_url(&domain);
        let endpoint = format!(
            "{base}/api/v1/accounts/{}/statuses",
            percent_encode(account_id)
        );
        let mut url = match cursor {
            Some(cursor) => format!(
                "{endpoint}?limit={}&min_id={}",
                self.page_limit,
                percent_encode(cursor)
            ),
            None => format!("{endpoint}?limit={}", self.page_limit),
        };
        let mut page = ScanPage::default();
        let mut newest: Option<String> = cursor.map(str::to_string);
        let backfill = cursor.is_none().then_some(backfill_since).flatten();
        let max_pages = if backfill.is_some() {
            MAX_BACKFILL_PAGES
        } else {
            MAX_PAGES
        };
        for _ in 0..max_pages {
            let fetched = self.get(&url).await?;
            let statuses: Vec<Status> = fetched.json()?;
            let full = statuses.len() >= self.page_limit;
            let mut reached_horizon = false;
            for status in &statuses {
                if newest
                    .as_deref()
                    .is_none_or(|n| id_order(&status.id, n).is_gt())
                {
                    newest = Some(status.id.clone());
                }
                if let Some(since) = backfill {
                    if parse_time(&status.created_at, &fetched.url)? < since {
                        reached_horizon = true;
                        continue;
                    }
                }
                if let Some(activity) = self
                    .own_activity(account, &domain, status, &fetched, &mut page)
                    .await?
                {
                    page.activities.push(activity);
                }
            }
            // Catching up walks towards newer pages (`prev`); a backfill towards older (`next`).
            let follow = match (cursor, backfill) {
                (Some(_), _) => full.then(|| link_query(&fetched, "prev")).flatten(),
                (None, Some(_)) if !reached_horizon => {
                    full.then(|| link_query(&fetched, "next")).flatten()
                }
                _ => None,
            };
            page.evidence.push(fetched);
            match follow {
                Some(query) => url = format!("{endpoint}?{query}"),
                None => break,
            }
        }
        page.cursor = newest.filter(|n| Some(n.as_str()) != cursor);
        Ok(page)
    }

    async fn own_activity(
        &self,
        account: &AccountRef,
        domain: &str,
        status: &Status,
        fetched: &Fetched,
        page: &mut ScanPage,
    ) -> Result<Option<Activity>, SourceError> {
        if !matches!(
            status.visibility.as_deref(),
            None | Some("public") | Some("unlisted")
        ) {
            return Ok(None);
        }
        let actor = canonical_acct(&status.account.acct, domain);
        let (kind, id, text, target) = if let Some(boosted) = &status.reblog {
            (
                ActivityKind::Repost,
                activity_id::repost(&actor, &boosted.uri),
                String::new(),
                Some(boosted.target(domain)),
            )
        } else if let Some(quoted) = status.quote.as_ref().and_then(|q| q.quoted_status.as_ref()) {
            (
                ActivityKind::Quote,
                activity_id::object(&status.uri, status.edited_at.as_deref()),
                status.text(),
                Some(quoted.target(domain)),
            )
        } else if let Some(parent_id) = &status.in_reply_to_id {
            let target = self.reply_target(domain, status, parent_id, page).await?;
            (
                ActivityKind::Reply,
                activity_id::object(&status.uri, status.edited_at.as_deref()),
                status.text(),
                Some(target),
            )
        } else {
            (
                ActivityKind::Post,
                activity_id::object(&status.uri, status.edited_at.as_deref()),
                status.text(),
                None,
            )
        };
        let occurred_at = parse_time(&status.created_at, &fetched.url)?;
        Ok(Some(Activity {
            platform: Platform::Mastodon,
            platform_activity_id: id,
            kind,
            account_id: account.account_id,
            actor_handle: format!("@{actor}"),
            text,
            target,
            url: status.url.clone().or_else(|| Some(status.uri.clone())),
            occurred_at,
            time_exact: true,
            observed_at: fetched.fetched_at,
            evidence: Some(evidence(fetched)),
        }))
    }

    /// The post replied to, fetched so a reviewer sees what the reply answered. A parent that
    /// is gone still leaves its author, from the mentions.
    async fn reply_target(
        &self,
        domain: &str,
        status: &Status,
        parent_id: &str,
        page: &mut ScanPage,
    ) -> Result<Target, SourceError> {
        let url = format!(
            "{}/api/v1/statuses/{}",
            self.base_url(domain),
            percent_encode(parent_id)
        );
        match self.get(&url).await {
            Ok(fetched) => {
                let parent: Status = fetched.json()?;
                page.evidence.push(fetched);
                Ok(parent.target(domain))
            }
            Err(SourceError::Fetch(error)) if error.is_gone() => {
                let author = status
                    .mentions
                    .iter()
                    .find(|m| Some(&m.id) == status.in_reply_to_account_id.as_ref())
                    .map(|m| format!("@{}", canonical_acct(&m.acct, domain)))
                    .unwrap_or_default();
                Ok(Target {
                    author,
                    author_platform_id: status.in_reply_to_account_id.clone(),
                    text: String::new(),
                    url: None,
                })
            }
            Err(error) => Err(error),
        }
    }

    /// Likes, boosts and replies by registered accounts on the recent posts of a watched
    /// account. `registered` maps canonical `user@domain` (lowercase) to the account.
    pub async fn scan_reverse(
        &self,
        watched: &AccountRef,
        registered: &HashMap<String, AccountRef>,
        since: Timestamp,
    ) -> Result<ScanPage, SourceError> {
        let (_, domain) = Mastodon::split_handle(&watched.handle)?;
        let watched_id = watched.resolved_id(Platform::Mastodon)?;
        let base = self.base_url(&domain);
        let endpoint = format!(
            "{base}/api/v1/accounts/{}/statuses",
            percent_encode(watched_id)
        );
        let mut url = format!("{endpoint}?limit={}&exclude_reblogs=true", self.page_limit);
        let mut page = ScanPage::default();
        let mut posts: Vec<Status> = Vec::new();
        // The watched account's own posts back to `since`, newest first.
        for _ in 0..MAX_BACKFILL_PAGES {
            let fetched = self.get(&url).await?;
            let batch: Vec<Status> = fetched.json()?;
            let full = batch.len() >= self.page_limit;
            let mut reached_horizon = false;
            for status in batch {
                if parse_time(&status.created_at, &fetched.url)? < since {
                    reached_horizon = true;
                } else if status.reblog.is_none() {
                    posts.push(status);
                }
            }
            let next = link_query(&fetched, "next");
            page.evidence.push(fetched);
            match next {
                Some(query) if full && !reached_horizon => url = format!("{endpoint}?{query}"),
                _ => break,
            }
        }
        for post in &posts {
            let target = post.target(&domain);
            for (path, kind) in [
                ("favourited_by", ActivityKind::Like),
                ("reblogged_by", ActivityKind::Repost),
            ] {
                let endpoint =
                    format!("{base}/api/v1/statuses/{}/{path}", percent_encode(&post.id));
                let mut url = endpoint.clone();
                for _ in 0..MAX_INTERACTION_PAGES {
                    let fetched = self.get(&url).await?;
                    let accounts: Vec<MastodonAccount> = fetched.json()?;
                    for liker in &accounts {
                        let actor = canonical_acct(&liker.acct, &domain);
                        let Some(registered_account) = registered.get(&actor) else {
                            continue;
                        };
                        let id = match kind {
                            ActivityKind::Like => activity_id::like(&actor, &post.uri),
                            _ => activity_id::repost(&actor, &post.uri),
                        };
                        page.activities.push(Activity {
                            platform: Platform::Mastodon,
                            platform_activity_id: id,
                            kind,
                            account_id: registered_account.account_id,
                            actor_handle: format!("@{actor}"),
                            text: String::new(),
                            target: Some(target.clone()),
                            url: None,
                            // Mastodon does not say when: it happened between the post and now.
                            occurred_at: fetched.fetched_at,
                            time_exact: false,
                            observed_at: fetched.fetched_at,
                            evidence: Some(evidence(&fetched)),
                        });
                    }
                    let next = link_query(&fetched, "next");
                    page.evidence.push(fetched);
                    match next {
                        Some(query) if !accounts.is_empty() => url = format!("{endpoint}?{query}"),
                        _ => break,
                    }
                }
            }
            let url = format!(
                "{base}/api/v1/statuses/{}/context",
                percent_encode(&post.id)
            );
            let fetched = self.get(&url).await?;
            let context: Context = fetched.json()?;
            let mut by_id: HashMap<&str, &Status> = HashMap::new();
            by_id.insert(post.id.as_str(), post);
            for reply in &context.descendants {
                by_id.insert(reply.id.as_str(), reply);
            }
            for reply in &context.descendants {
                let actor = canonical_acct(&reply.account.acct, &domain);
                let Some(registered_account) = registered.get(&actor) else {
                    continue;
                };
                let parent = reply
                    .in_reply_to_id
                    .as_deref()
                    .and_then(|id| by_id.get(id))
                    .copied()
                    .unwrap_or(post);
                page.activities.push(Activity {
                    platform: Platform::Mastodon,
                    platform_activity_id: activity_id::object(
                        &reply.uri,
                        reply.edited_at.as_deref(),
                    ),
                    kind: ActivityKind::Reply,
                    account_id: registered_account.account_id,
                    actor_handle: format!("@{actor}"),
                    text: reply.text(),
                    target: Some(parent.target(&domain)),
                    url: reply.url.clone().or_else(|| Some(reply.uri.clone())),
                    occurred_at: parse_time(&reply.created_at, &fetched.url)?,
                    time_exact: true,
                    observed_at: fetched.fetched_at,
                    evidence: Some(evidence(&fetched)),
                });
            }
            page.evidence.push(fetched);
        }
        Ok(page)
    }
}

impl Mastodon {
    /// The profile (`GET /api/v1/accounts/:id`) and following list (`/following`, `Link`
    /// paging) of a registered account. An account that hides its network, or a list the
    /// server refuses (401/403), is `following: None`.
    pub async fn snapshot(&self, account: &AccountRef) -> Result<AccountSnapshot, SourceError> {
        let (_, domain) = Mastodon::split_handle(&account.handle)?;
        let id = percent_encode(account.resolved_id(Platform::Mastodon)?);
        let base = self.base_url(&domain);
        let fetched = self.get(&format!("{base}/api/v1/accounts/{id}")).await?;
        let me: AccountProfile = fetched.json()?;
        let mut snapshot = AccountSnapshot {
            following: None,
            profile: Some(me.profile()),
            evidence: vec![fetched],
        };
        if me.hide_collections == Some(true) {
            return Ok(snapshot);
        }
        let endpoint = format!("{base}/api/v1/accounts/{id}/following");
        let mut url = format!("{endpoint}?limit={FOLLOWING_LIMIT}");
        let mut following = Vec::new();
        for _ in 0..MAX_FOLLOWING_PAGES {
            let fetched = match self.get(&url).await {
                Ok(fetched) => fetched,
                Err(SourceError::Fetch(FetchError::Forbidden { .. })) => return Ok(snapshot),
                Err(error) => return Err(error),
            };
            let page: Vec<AccountProfile> = fetched.json()?;
            for followed in &page {
                following.push(FollowedAccount {
                    platform_id: followed.id.clone(),
                    handle: format!("@{}", canonical_acct(&followed.acct, &domain)),
                    display_name: followed.display_name.clone(),
                    url: followed.url.clone(),
                });
            }
            let next = link_query(&fetched, "next");
            snapshot.evidence.push(fetched);
            match next {
                Some(query) if !page.is_empty() => url = format!("{endpoint}?{query}"),
                _ => break,
            }
        }
        snapshot.following = Some(following);
        Ok(snapshot)
    }

    /// Whether the account's statuses are still online: `GET /api/v1/statuses/:id` on its home
    /// instance, where 404/410 means deleted. Only posts, replies and quotes have an id to ask
    /// for (the last segment of the status URI); likes and boosts are left out.
    pub async fn presence(
        &self,
        account: &AccountRef,
        activity_ids: &[String],
    ) -> Result<Vec<(String, Presence)>, SourceError> {
        let (_, domain) = Mastodon::split_handle(&account.handle)?;
        let base = self.base_url(&domain);
        let mut out = Vec::new();
        for activity_id in activity_ids {
            let Some(status_id) = status_id_of(activity_id) else {
                continue;
            };
            let url = format!("{base}/api/v1/statuses/{}", percent_encode(status_id));
            let presence = match self.get(&url).await {
                Ok(_) => Presence::Present,
                Err(SourceError::Fetch(error)) if error.is_gone() => Presence::Gone,
                Err(error) => return Err(error),
            };
            out.push((activity_id.clone(), presence));
        }
        Ok(out)
    }
}

/// The status id in an activity id that is a status URI (`…/statuses/123`, maybe with
/// `#edited=…`); `None` for likes and boosts.
fn status_id_of(activity_id: &str) -> Option<&str> {
    if activity_id.starts_with("like:") || activity_id.starts_with("repost:") {
        return None;
    }
    let uri = activity_id.split('#').next()?;
    let id = uri.rsplit('/').next()?;
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())).then_some(id)
}

fn evidence(fetched: &Fetched) -> EvidenceRef {
    EvidenceRef {
        sha256: fetched.sha256.clone(),
        url: fetched.url.clone(),
        fetched_at: fetched.fetched_at,
    }
}

fn parse_time(value: &str, url: &str) -> Result<Timestamp, SourceError> {
    value
        .parse::<Timestamp>()
        .map_err(|error| SourceError::Unexpected {
            url: url.to_string(),
            reason: format!("created_at '{value}' is not an ISO 8601 time: {error}"),
        })
}

/// The query part of the `Link` header's link with relation `rel`.
fn link_query(fetched: &Fetched, rel: &str) -> Option<String> {
    fetched.link.as_deref().and_then(|header| {
        header.split(',').find_map(|part| {
            let (target, params) = part.split_once(';')?;
            let is_rel = params
                .split(';')
                .any(|p| p.trim().trim_start_matches("rel=").trim_matches('"') == rel);
            let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_rel
                .then(|| url.split_once('?').map(|(_, q)| q.to_string()))
                .flatten()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_split_and_bad_ones_say_why() {
        assert_eq!(
            Mastodon::split_handle("@Budi@Instansi.Example").unwrap(),
            ("Budi".to_string(), "instansi.example".to_string())
        );
        assert!(Mastodon::split_handle("budi").is_err());
        assert!(Mastodon::split_handle("@budi@localhost").is_err());
        assert!(Mastodon::split_handle("@bu di@m.example").is_err());
    }

    #[test]
    fn status_ids_come_from_status_uris_only() {
        assert_eq!(
            status_id_of("https://m.example/users/budi/statuses/1234#edited=2024"),
            Some("1234")
        );
        assert_eq!(status_id_of("like:budi@m.example:https://x/1"), None);
        assert_eq!(status_id_of("repost:budi@m.example:https://x/1"), None);
    }

    #[test]
    fn accts_become_canonical() {
        assert_eq!(canonical_acct("Budi", "m.example"), "budi@m.example");
        assert_eq!(
            canonical_acct("siti@other.example", "m.example"),
            "siti@other.example"
        );
    }
}
