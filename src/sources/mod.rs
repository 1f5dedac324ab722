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
pub mod mastodon;
pub mod rss;
pub mod x;

use crate::model::{AccountId, AccountState, Activity, ActivityKind, Platform};
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
