//! X (Twitter) API v2: an account's tweets, retweets, replies and quotes, with a bearer token.
//!
//! `GET /2/users/:id/tweets` returns newest first; `since_id` bounds a catch-up and
//! `pagination_token` walks down to it. Retweets carry only a truncated "RT @…" text, so the
//! referenced tweets are expanded and their full text taken from `includes`. X answers some
//! failures with HTTP 200 and an `errors` array and no `data`; those are errors here too.
//!
//! Likes have been private on X since June 2024, and who liked a tweet is visible only to its
//! author, so X offers no likes at all; the capabilities say so.

use std::collections::HashMap;

use jiff::Timestamp;
use reqwest::header::HeaderValue;
use serde::Deserialize;

use super::http::{Expect, FetchError, Fetched, HttpClient};
use super::{
    activity_id, percent_encode, AccountRef, AccountSnapshot, Capabilities, Resolved, ScanPage,
    SourceError,
};
use crate::config::Secret;
use crate::model::{
    AccountState, Activity, ActivityKind, EvidenceRef, FollowedAccount, Platform, Presence,
    Profile, Target,
};

const MAX_RESULTS: usize = 100;
const MAX_PAGES: usize = 10;
/// Pages of `/following` per snapshot: X allows 15 requests per 15 minutes on it.
const MAX_FOLLOWING_PAGES: usize = 5;
/// `GET /2/tweets` takes at most 100 ids.
const LOOKUP_BATCH: usize = 100;
const TWEET_FIELDS: &str = "tweet.fields=created_at,author_id,referenced_tweets,in_reply_to_user_id,conversation_id,note_tweet&expansions=referenced_tweets.id,referenced_tweets.id.author_id&user.fields=username";

pub const CAPABILITIES: Capabilities = Capabilities {
    platform: Platform::X,
    own_kinds: &[
        ActivityKind::Post,
        ActivityKind::Reply,
        ActivityKind::Repost,
        ActivityKind::Quote,
    ],
    reverse_kinds: &[],
    exact_times: true,
    needs_token: true,
    note: "Butuh bearer token berbayar. Tweet, balasan, retweet dan kutipan terbaca; suka (like) \
           bersifat privat di X sejak Juni 2024 sehingga tidak dapat dipantau.",
};

#[derive(Debug, Deserialize)]
struct Problem {
    #[serde(default)]
    title: String,
    #[serde(default)]
    detail: String,
    #[serde(default, rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct UserEnvelope {
    #[serde(default)]
    data: Option<User>,
    #[serde(default)]
    errors: Vec<Problem>,
}

#[derive(Debug, Clone, Deserialize)]
struct User {
    id: String,
    username: String,
    #[serde(default)]
    protected: bool,
}

/// A user with the fields a profile snapshot asks for.
#[derive(Debug, Clone, Deserialize)]
struct UserProfile {
    id: String,
    username: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    profile_image_url: Option<String>,
    #[serde(default)]
    protected: bool,
}

#[derive(Debug, Deserialize)]
struct UserProfileEnvelope {
    #[serde(default)]
    data: Option<UserProfile>,
    #[serde(default)]
    errors: Vec<Problem>,
}

#[derive(Debug, Deserialize)]
struct UserList {
    #[serde(default)]
    data: Option<Vec<UserProfile>>,
    #[serde(default)]
    meta: Meta,
    #[serde(default)]
    errors: Vec<Problem>,
}

#[derive(Debug, Deserialize)]
struct LookupProblem {
    #[serde(default)]
    resource_id: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default, rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct TweetLookup {
    #[serde(default)]
    data: Vec<Tweet>,
    #[serde(default)]
    errors: Vec<LookupProblem>,
}

#[derive(Debug, Clone, Deserialize)]
struct Reference {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

#[derive(Debug, Clone, Deserialize)]
struct NoteTweet {
    text: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Tweet {
    id: String,
    text: String,
    #[serde(default)]
    author_id: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    referenced_tweets: Vec<Reference>,
    /// Long tweets keep their full text here; `text` is then cut.
    #[serde(default)]
    note_tweet: Option<NoteTweet>,
}

impl Tweet {
    fn full_text(&self) -> String {
        self.note_tweet
            .as_ref()
            .map_or_else(|| self.text.clone(), |n| n.text.clone())
    }
}

#[derive(Debug, Default, Deserialize)]
struct Includes {
    #[serde(default)]
    tweets: Vec<Tweet>,
    #[serde(default)]
    users: Vec<User>,
}

#[derive(Debug, Default, Deserialize)]
struct Meta {
    #[serde(default)]
    newest_id: Option<String>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Timeline {
    #[serde(default)]
    data: Option<Vec<Tweet>>,
    #[serde(default)]
    includes: Includes,
    #[serde(default)]
    meta: Meta,
    #[serde(default)]
    errors: Vec<Problem>,
}

/// The X connector. Without a token it refuses to run rather than send anonymous requests.
#[derive(Clone)]
pub struct X {
    http: HttpClient,
    base_url: String,
    token: Secret,
}

impl X {
    pub fn new(http: HttpClient, base_url: String, token: Secret) -> X {
        X {
            http,
            base_url,
            token,
        }
    }

    async fn get(&self, url: &str) -> Result<Fetched, SourceError> {
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", self.token.expose())).map_err(|_| {
                SourceError::Unexpected {
                    url: url.to_string(),
                    reason: "the X bearer token holds characters not allowed in a header".into(),
                }
            })?;
        auth.set_sensitive(true);
        Ok(self
            .http
            .get(url, Expect::Json, &[("authorization", auth)])
            .await?)
    }

    /// Resolves a username (with or without `@`) to the permanent user id.
    pub async fn resolve(&self, handle: &str) -> Result<Resolved, SourceError> {
        let username = handle.trim().trim_start_matches('@');
        let valid = !username.is_empty()
            && username.len() <= 15
            && username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(SourceError::BadHandle {
                platform: Platform::X,
                handle: handle.to_string(),
                reason: "a username is 1-15 letters, digits or '_'",
            });
        }
        let url = format!(
            "{}/2/users/by/username/{}?user.fields=protected",
            self.base_url,
            percent_encode(username)
        );
        let fetched = self.get(&url).await?;
        let envelope: UserEnvelope = fetched.json()?;
        let user = envelope
            .data
            .ok_or_else(|| problems_error(&fetched, &envelope.errors))?;
        Ok(Resolved {
            state: if user.protected {
                AccountState::Private
            } else {
                AccountState::Ok
            },
            platform_id: user.id,
            handle: format!("@{}", user.username),
        })
    }

    /// Tweets newer than `cursor` (a tweet id), walking pages down to it; on a first scan,
    /// tweets since `backfill_since`.
    pub async fn scan_own(
        &self,
        account: &AccountRef,
        cursor: Option<&str>,
        backfill_since: Option<Timestamp>,
    ) -> Result<ScanPage, SourceError> {
        let user_id = account.resolved_id(Platform::X)?;
        let endpoint = format!(
            "{}/2/users/{}/tweets?max_results={MAX_RESULTS}&{TWEET_FIELDS}",
            self.base_url,
            percent_encode(user_id)
        );
        let first_url = match (cursor, backfill_since) {
            (Some(since), _) => format!("{endpoint}&since_id={}", percent_encode(since)),
            (None, Some(since)) => format!(
                "{endpoint}&start_time={}",
                percent_encode(&since.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            ),
            (None, None) => endpoint.clone(),
        };
        let mut url = first_url.clone();
        let mut page = ScanPage::default();
        let mut newest: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let fetched = self.get(&url).await?;
            let timeline: Timeline = fetched.json()?;
            let tweets = match timeline.data {
                Some(tweets) => tweets,
                // 200 with errors and no data: the user is gone, suspended or protected.
                None if !timeline.errors.is_empty() => {
                    return Err(problems_error(&fetched, &timeline.errors))
                }
                None => Vec::new(),
            };
            if newest.is_none() {
                newest = timeline
                    .meta
                    .newest_id
                    .clone()
                    .or_else(|| tweets.first().map(|t| t.id.clone()));
            }
            let included: HashMap<&str, &Tweet> = timeline
                .includes
                .tweets
                .iter()
                .map(|t| (t.id.as_str(), t))
                .collect();
            let users: HashMap<&str, &str> = timeline
                .includes
                .users
                .iter()
                .map(|u| (u.id.as_str(), u.username.as_str()))
                .collect();
            for tweet in &tweets {
                page.activities.push(tweet_activity(
                    account, user_id, tweet, &included, &users, &fetched,
                )?);
            }
            page.evidence.push(fetched);
            // Without a cursor or a backfill only the newest page is read; otherwise walk down.
            match (
                cursor.is_some() || backfill_since.is_some(),
                timeline.meta.next_token,
            ) {
                (true, Some(token)) if !tweets.is_empty() => {
                    url = format!("{first_url}&pagination_token={}", percent_encode(&token))
                }
                _ => break,
            }
        }
        page.cursor = newest.filter(|n| Some(n.as_str()) != cursor);
        Ok(page)
    }
}

impl X {
    /// The profile (`GET /2/users/:id`) and following list (`GET /2/users/:id/following`,
    /// `pagination_token` paging) of a registered account. A protected account's list is
    /// `following: None`, as is a list X refuses to show.
    pub async fn snapshot(&self, account: &AccountRef) -> Result<AccountSnapshot, SourceError> {
        let user_id = percent_encode(account.resolved_id(Platform::X)?);
        let url = format!(
            "{}/2/users/{user_id}?user.fields=description,name,profile_image_url,protected",
            self.base_url
        );
        let fetched = self.get(&url).await?;
        let envelope: UserProfileEnvelope = fetched.json()?;
        let me = envelope
            .data
            .ok_or_else(|| problems_error(&fetched, &envelope.errors))?;
        let mut snapshot = AccountSnapshot {
            following: None,
            profile: Some(Profile {
                display_name: me.name.clone(),
                note: me.description.clone(),
                fields: Vec::new(),
                avatar: me.profile_image_url.clone(),
                banner: None,
            }),
            evidence: vec![fetched],
        };
        if me.protected {
            return Ok(snapshot);
        }
        let first = format!(
            "{}/2/users/{user_id}/following?max_results=1000&user.fields=name,username",
            self.base_url
        );
        let mut url = first.clone();
        let mut following = Vec::new();
        for _ in 0..MAX_FOLLOWING_PAGES {
            let fetched = match self.get(&url).await {
                Ok(fetched) => fetched,
                Err(SourceError::Fetch(FetchError::Forbidden { .. })) => return Ok(snapshot),
                Err(error) => return Err(error),
            };
            let list: UserList = fetched.json()?;
            let users = match list.data {
                Some(users) => users,
                None if list
                    .errors
                    .iter()
                    .any(|p| p.kind.ends_with("not-authorized-for-resource")) =>
                {
                    snapshot.evidence.push(fetched);
                    return Ok(snapshot);
                }
                None if !list.errors.is_empty() => {
                    return Err(problems_error(&fetched, &list.errors))
                }
                None => Vec::new(),
            };
            for user in &users {
                following.push(FollowedAccount {
                    platform_id: user.id.clone(),
                    handle: format!("@{}", user.username),
                    display_name: user.name.clone(),
                    url: Some(format!("https://x.com/{}", user.username)),
                });
            }
            snapshot.evidence.push(fetched);
            match list.meta.next_token {
                Some(token) if !users.is_empty() => {
                    url = format!("{first}&pagination_token={}", percent_encode(&token))
                }
                _ => break,
            }
        }
        snapshot.following = Some(following);
        Ok(snapshot)
    }

    /// Whether tweets are still online: `GET /2/tweets?ids=…` answers deleted ones in
    /// `errors` as `resource-not-found`. Retweets (no own id here) are left out.
    pub async fn presence(
        &self,
        activity_ids: &[String],
    ) -> Result<Vec<(String, Presence)>, SourceError> {
        let ids: Vec<&String> = activity_ids
            .iter()
            .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
            .collect();
        let mut out = Vec::new();
        for batch in ids.chunks(LOOKUP_BATCH) {
            let joined: Vec<&str> = batch.iter().map(|id| id.as_str()).collect();
            let url = format!(
                "{}/2/tweets?ids={}",
                self.base_url,
                percent_encode(&joined.join(","))
            );
            let fetched = self.get(&url).await?;
            let lookup: TweetLookup = fetched.json()?;
            for id in batch {
                if lookup.data.iter().any(|t| &t.id == *id) {
                    out.push(((*id).clone(), Presence::Present));
                } else if lookup.errors.iter().any(|p| {
                    p.kind.ends_with("resource-not-found")
                        && (p.resource_id.as_ref() == Some(*id) || p.value.as_ref() == Some(*id))
                }) {
                    out.push(((*id).clone(), Presence::Gone));
                }
            }
        }
        Ok(out)
    }
}

fn tweet_activity(
    account: &AccountRef,
    user_id: &str,
    tweet: &Tweet,
    included: &HashMap<&str, &Tweet>,
    users: &HashMap<&str, &str>,
    fetched: &Fetched,
) -> Result<Activity, SourceError> {
    let target_of = |id: &str| {
        let referenced = included.get(id);
        let author_id = referenced.and_then(|t| t.author_id.clone());
        let author = author_id
            .as_deref()
            .and_then(|a| users.get(a))
            .map(|name| format!("@{name}"))
            .unwrap_or_default();
        Target {
            url: author_id
                .as_deref()
                .and_then(|a| users.get(a))
                .map(|name| format!("https://x.com/{name}/status/{id}")),
            author,
            author_platform_id: author_id,
            text: referenced.map(|t| t.full_text()).unwrap_or_default(),
        }
    };
    let reference = |kind: &str| tweet.referenced_tweets.iter().find(|r| r.kind == kind);
    let (kind, id, text, target) = if let Some(retweeted) = reference("retweeted") {
        (
            ActivityKind::Repost,
            activity_id::repost(user_id, &retweeted.id),
            String::new(),
            Some(target_of(&retweeted.id)),
        )
    } else if let Some(quoted) = reference("quoted") {
        (
            ActivityKind::Quote,
            tweet.id.clone(),
            tweet.full_text(),
            Some(target_of(&quoted.id)),
        )
    } else if let Some(parent) = reference("replied_to") {
        (
            ActivityKind::Reply,
            tweet.id.clone(),
            tweet.full_text(),
            Some(target_of(&parent.id)),
        )
    } else {
        (
            ActivityKind::Post,
            tweet.id.clone(),
            tweet.full_text(),
            None,
        )
    };
    let occurred_at = match tweet.created_at.as_deref() {
        Some(text) => text
            .parse::<Timestamp>()
            .map_err(|error| SourceError::Unexpected {
                url: fetched.url.clone(),
                reason: format!("created_at '{text}' is not an ISO 8601 time: {error}"),
            })?,
        None => fetched.fetched_at,
    };
    let handle = account.handle.trim_start_matches('@');
    Ok(Activity {
        platform: Platform::X,
        platform_activity_id: id,
        kind,
        account_id: account.account_id,
        actor_handle: format!("@{handle}"),
        text,
        target,
        url: Some(format!("https://x.com/{handle}/status/{}", tweet.id)),
        occurred_at,
        time_exact: tweet.created_at.is_some(),
        observed_at: fetched.fetched_at,
        evidence: Some(EvidenceRef {
            sha256: fetched.sha256.clone(),
            url: fetched.url.clone(),
            fetched_at: fetched.fetched_at,
        }),
    })
}

/// Turns X's `errors` array into our error: "resource-not-found" means the account is gone.
fn problems_error(fetched: &Fetched, problems: &[Problem]) -> SourceError {
    let not_found = problems
        .iter()
        .any(|p| p.kind.ends_with("resource-not-found"));
    if not_found {
        return SourceError::Fetch(FetchError::Gone {
            url: fetched.url.clone(),
            status: fetched.status,
        });
    }
    let text: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.title, p.detail))
        .collect();
    SourceError::Unexpected {
        url: fetched.url.clone(),
        reason: if text.is_empty() {
            "the response holds neither data nor errors".into()
        } else {
            text.join("; ")
        },
    }
}
