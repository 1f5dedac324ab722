//! Sources: turn platform responses into [`Activity`] values, one module per platform, all on
//! one shared [`http::HttpClient`].
//!
//! Sources only read and translate. They never call detection or the store: a scan returns a
//! [`ScanPage`] (activities, the raw responses they came from, the next cursor) and the caller
//! decides what to keep. A cursor only moves when the caller has stored the page, so a failed
//! parse or a crash never skips activity.
//!
//! # Activity ids
//!
//! An activity must get the same id whichever way it is seen (a boost on the employee's own
//! timeline and the same boost in the candidate post's `reblogged_by`), or it would be flagged
//! twice. Ids are therefore built from global identifiers, in [`activity_id`].

pub mod bluesky;
pub mod html;
pub mod http;
pub mod jsonl;
pub mod mastodon;
pub mod rss;
pub mod x;

use std::collections::HashMap;

use crate::config::Config;
use crate::model::{
    AccountId, AccountState, Activity, ActivityKind, FollowedAccount, Platform, Presence, Profile,
};
pub use http::{FetchError, Fetched, HttpClient};

/// What a platform lets Netra see; shown to registrars so nobody expects likes from X.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub platform: Platform,
    /// Kinds read from the account's own public activity.
    pub own_kinds: &'static [ActivityKind],
    /// Kinds seen only by looking at watched accounts' posts (who liked, reposted, replied).
    pub reverse_kinds: &'static [ActivityKind],
    /// False when some times are only bounded (a like seen between two scans).
    pub exact_times: bool,
    pub needs_token: bool,
    /// One sentence for people, in Bahasa Indonesia.
    pub note: &'static str,
}

/// A registered (or watched) account as a connector needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRef {
    pub account_id: AccountId,
    pub handle: String,
    /// The permanent id, once resolved.
    pub platform_id: Option<String>,
}

impl AccountRef {
    /// The permanent id, which every scan needs: an account is resolved before it is scanned.
    pub fn resolved_id(&self, platform: Platform) -> Result<&str, SourceError> {
        self.platform_id
            .as_deref()
            .ok_or_else(|| SourceError::Unresolved {
                platform,
                handle: self.handle.clone(),
            })
    }
}

/// The outcome of resolving a handle on its platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub platform_id: String,
    /// The handle as the platform spells it now (it may have changed).
    pub handle: String,
    pub state: AccountState,
}

/// One scan step's result.
#[derive(Debug, Clone, Default)]
pub struct ScanPage {
    pub activities: Vec<Activity>,
    /// Every response the activities were derived from, kept as evidence.
    pub evidence: Vec<Fetched>,
    /// Where the next scan continues; `None` keeps the old cursor.
    pub cursor: Option<String>,
}

/// An account's following list and profile as read now (see [`crate::snapshots`]).
#[derive(Debug, Clone, Default)]
pub struct AccountSnapshot {
    /// `None` when the account hides whom it follows (or the platform shows no list).
    pub following: Option<Vec<FollowedAccount>>,
    pub profile: Option<Profile>,
    /// Every response read, kept as evidence when the snapshot changed something.
    pub evidence: Vec<Fetched>,
}

/// Errors of a connector: the fetch failed, or the platform answered something unusable.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("handle '{handle}' is not a valid {platform} handle: {reason}")]
    BadHandle {
        platform: Platform,
        handle: String,
        reason: &'static str,
    },
    #[error("{platform} account '{handle}' must be resolved before it is scanned")]
    Unresolved { platform: Platform, handle: String },
    #[error("{url}: {reason}")]
    Unexpected { url: String, reason: String },
    #[error("{platform}: {reason}")]
    Unsupported {
        platform: Platform,
        reason: &'static str,
    },
}

impl SourceError {
    /// The account state a registrar should see after this error.
    pub fn account_state(&self) -> AccountState {
        match self {
            SourceError::Fetch(FetchError::Gone { .. }) => AccountState::NotFound,
            SourceError::Fetch(FetchError::Forbidden { .. }) => AccountState::Private,
            other => AccountState::Failing {
                last_error: other.to_string(),
            },
        }
    }
}

/// Every connector, built once from the configuration and sharing one HTTP client.
#[derive(Clone)]
pub struct Sources {
    mastodon: mastodon::Mastodon,
    bluesky: bluesky::Bluesky,
    rss: rss::Rss,
    /// Absent without a bearer token: X has no anonymous access.
    x: Option<x::X>,
}

impl Sources {
    pub fn from_config(config: &Config) -> Result<Sources, reqwest::Error> {
        let http = HttpClient::new(&config.sources, config.scan.request_timeout)?;
        let sources = &config.sources;
        Ok(Sources {
            mastodon: mastodon::Mastodon::new(http.clone(), sources.mastodon_instances.clone()),
            bluesky: bluesky::Bluesky::new(
                http.clone(),
                sources.bluesky_appview_url.clone(),
                sources.bluesky_plc_directory_url.clone(),
            ),
            rss: rss::Rss::new(http.clone()),
            x: sources
                .x_bearer_token
                .clone()
                .map(|token| x::X::new(http, sources.x_base_url.clone(), token)),
        })
    }

    /// What Netra can see on `platform`; `None` for platforms seen only through imports.
    pub fn capabilities(platform: Platform) -> Option<Capabilities> {
        match platform {
            Platform::Mastodon => Some(mastodon::CAPABILITIES),
            Platform::Bluesky => Some(bluesky::CAPABILITIES),
            Platform::Rss => Some(rss::CAPABILITIES),
            Platform::X => Some(x::CAPABILITIES),
            Platform::Facebook => None,
        }
    }

    fn x(&self) -> Result<&x::X, SourceError> {
        self.x.as_ref().ok_or(SourceError::Unsupported {
            platform: Platform::X,
            reason: "no bearer token is configured (sources.x.bearer_token)",
        })
    }

    fn import_only(platform: Platform) -> SourceError {
        SourceError::Unsupported {
            platform,
            reason: "Netra has no connector for this platform; use import-activities",
        }
    }

    /// Resolves a handle to its permanent id.
    pub async fn resolve(&self, platform: Platform, handle: &str) -> Result<Resolved, SourceError> {
        match platform {
            Platform::Mastodon => self.mastodon.resolve(handle).await,
            Platform::Bluesky => self.bluesky.resolve(handle).await,
            Platform::Rss => self.rss.resolve(handle).await,
            Platform::X => self.x()?.resolve(handle).await,
            Platform::Facebook => Err(Sources::import_only(platform)),
        }
    }

    /// The account's own new activity since `cursor`; on a first scan (no cursor), back to
    /// `backfill_since`, so what an employee posted in the campaign before being registered is
    /// seen too.
    pub async fn scan_own(
        &self,
        platform: Platform,
        account: &AccountRef,
        cursor: Option<&str>,
        backfill_since: Option<jiff::Timestamp>,
    ) -> Result<ScanPage, SourceError> {
        match platform {
            Platform::Mastodon => {
                self.mastodon
                    .scan_own(account, cursor, backfill_since)
                    .await
            }
            Platform::Bluesky => self.bluesky.scan_own(account, cursor, backfill_since).await,
            Platform::Rss => self.rss.scan_own(account, cursor, backfill_since).await,
            Platform::X => self.x()?.scan_own(account, cursor, backfill_since).await,
            Platform::Facebook => Err(Sources::import_only(platform)),
        }
    }

    /// Interactions of registered accounts with a watched account's posts since `since`.
    /// `registered` is keyed as the platform identifies actors: canonical `user@domain` on
    /// Mastodon, DIDs on Bluesky. Platforms without reverse lookups return an empty page.
    pub async fn scan_reverse(
        &self,
        platform: Platform,
        watched: &AccountRef,
        registered: &HashMap<String, AccountRef>,
        since: jiff::Timestamp,
    ) -> Result<ScanPage, SourceError> {
        match platform {
            Platform::Mastodon => self.mastodon.scan_reverse(watched, registered, since).await,
            Platform::Bluesky => self.bluesky.scan_reverse(watched, registered, since).await,
            Platform::Rss | Platform::X | Platform::Facebook => Ok(ScanPage::default()),
        }
    }
}

impl Sources {
    /// The account's following list and profile now. A hidden list is `following: None`,
    /// not an error: it is an account state, and asking again will not change it.
    pub async fn snapshot(
        &self,
        platform: Platform,
        account: &AccountRef,
    ) -> Result<AccountSnapshot, SourceError> {
        match platform {
            Platform::Mastodon => self.mastodon.snapshot(account).await,
            Platform::Bluesky => self.bluesky.snapshot(account).await,
            Platform::X => self.x()?.snapshot(account).await,
            Platform::Rss | Platform::Facebook => Err(SourceError::Unsupported {
                platform,
                reason: "this platform shows no following list or profile",
            }),
        }
    }

    /// Whether the account's posts with these activity ids are still online. Ids the platform
    /// cannot look up (likes, reposts) are left out of the answer.
    pub async fn presence(
        &self,
        platform: Platform,
        account: &AccountRef,
        activity_ids: &[String],
    ) -> Result<Vec<(String, Presence)>, SourceError> {
        match platform {
            Platform::Mastodon => self.mastodon.presence(account, activity_ids).await,
            Platform::Bluesky => self.bluesky.presence(activity_ids).await,
            Platform::X => self.x()?.presence(activity_ids).await,
            Platform::Rss | Platform::Facebook => Ok(Vec::new()),
        }
    }
}

/// Global activity ids (see the module docs).
pub mod activity_id {
    /// A post, reply or quote: the object's global URI, with the edit time when edited so an
    /// edit is judged again.
    pub fn object(uri: &str, edited_at: Option<&str>) -> String {
        match edited_at {
            Some(edited) => format!("{uri}#edited={edited}"),
            None => uri.to_string(),
        }
    }

    /// A repost (boost) of `target_uri` by `actor` (a canonical `user@domain` or DID).
    pub fn repost(actor: &str, target_uri: &str) -> String {
        format!("repost:{}:{target_uri}", actor.to_lowercase())
    }

    /// A like of `target_uri` by `actor`.
    pub fn like(actor: &str, target_uri: &str) -> String {
        format!("like:{}:{target_uri}", actor.to_lowercase())
    }

    /// `actor` (permanent id) found following `target` (permanent id) in its `generation`-th
    /// stored snapshot. Following again after an unfollow is a new snapshot, so a new id.
    pub fn follow(actor: &str, target: &str, generation: u64) -> String {
        format!("follow:{actor}:{target}:{generation}")
    }

    /// `actor` found no longer following `target` in its `generation`-th snapshot.
    pub fn unfollow(actor: &str, target: &str, generation: u64) -> String {
        format!("unfollow:{actor}:{target}:{generation}")
    }

    /// `actor`'s profile as changed in its `generation`-th snapshot.
    pub fn profile(actor: &str, generation: u64) -> String {
        format!("profile:{actor}:{generation}")
    }
}

/// Compares ids that platforms document as opaque but sortable within one server: numeric
/// snowflakes sort by length then bytes, ULIDs and TIDs by bytes, which the same rule covers.
pub fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters pass).
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
