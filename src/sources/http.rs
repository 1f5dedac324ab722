//! The one HTTP client every connector shares, and what it does about hostile upstreams.
//!
//! A platform is somebody else's server: it can be slow, send gigabytes, answer HTML where JSON
//! was promised, redirect forever, or throttle us. This module turns each of those into a typed
//! [`FetchError`] within a bounded time and memory, and reads the three rate-limit header
//! families in use (`X-RateLimit-*` with an ISO reset on Mastodon, `RateLimit-*` with a unix
//! reset on Bluesky, `x-rate-limit-*` on X) plus `Retry-After`, so the scheduler can respect
//! each host's budget.
//!
//! | upstream does | we do |
//! |---|---|
//! | no answer | connect and total timeouts → [`FetchError::Timeout`] |
//! | huge or endless body | stop reading at the cap, counted after decompression → `TooLarge` |
//! | HTML instead of JSON | check `Content-Type` before parsing → `UnexpectedContentType` |
//! | redirect elsewhere or in a loop | follow at most 5, same host and port only → `Redirect` |
//! | 429 | `RateLimited` with the wait from `Retry-After` or the reset header |
//! | 5xx, network error | retried with exponential backoff and full jitter, then `Server`/`Network` |
//! | 404, 410 | `Gone`: the account or post no longer exists |
//! | 401, 403 | `Forbidden`: private or restricted |

use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::{redirect, StatusCode};
use sha2::{Digest, Sha256};

use crate::config::SourcesConfig;

/// Redirects followed before giving up; real APIs rarely redirect at all.
const MAX_REDIRECTS: usize = 5;

/// Attempts for one request that fails with 5xx or a network error.
const MAX_ATTEMPTS: u32 = 3;

/// A 429 whose wait is at most this is waited out in place; a longer one goes back to the
/// scheduler so other hosts are not held up.
const MAX_INLINE_RATE_LIMIT_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: no complete answer within {after:?}")]
    Timeout { url: String, after: Duration },
    #[error("{url}: network error: {reason}")]
    Network { url: String, reason: String },
    #[error("{url}: response body exceeds the limit of {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url}: expected {expected} but the server sent '{found}'")]
    UnexpectedContentType {
        url: String,
        expected: &'static str,
        found: String,
    },
    #[error("{url}: redirect refused: {reason}")]
    Redirect { url: String, reason: String },
    #[error("{url}: rate limited (HTTP 429){}", wait_text(.retry_after))]
    RateLimited {
        url: String,
        retry_after: Option<Duration>,
    },
    #[error("{url}: server error HTTP {status} after {attempts} attempts")]
    Server {
        url: String,
        status: u16,
        attempts: u32,
    },
    #[error("{url}: gone (HTTP {status})")]
    Gone { url: String, status: u16 },
    #[error("{url}: not allowed (HTTP {status}); the account may be private")]
    Forbidden { url: String, status: u16 },
    #[error("{url}: HTTP {status}: {excerpt}")]
    Client {
        url: String,
        status: u16,
        excerpt: String,
    },
    #[error("{url}: the response could not be read as {what}: {reason}")]
    Malformed {
        url: String,
        what: &'static str,
        reason: String,
    },
}

fn wait_text(wait: &Option<Duration>) -> String {
    match wait {
        Some(wait) => format!("; retry in {}s", wait.as_secs()),
        None => String::new(),
    }
}

impl FetchError {
    /// True when the remote object no longer exists (the account state becomes `not_found`).
    pub fn is_gone(&self) -> bool {
        matches!(self, FetchError::Gone { .. })
    }
}

/// What the response said about the host's request budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimit {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// When the budget refills.
    pub reset_at: Option<Timestamp>,
    /// From `Retry-After`, as a delay.
    pub retry_after: Option<Duration>,
}

impl RateLimit {
    /// Reads whichever of the header families is present. `now` turns `Retry-After` dates and
    /// reset times into waits without reading the clock here.
    pub fn from_headers(headers: &HeaderMap, now: Timestamp) -> RateLimit {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let number = |name: &str| text(name).and_then(|v| v.parse::<u64>().ok());
        let first = |names: [&str; 3]| names.into_iter().find_map(number);
        let reset_at = ["x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset"]
            .into_iter()
            .find_map(|name| text(name).and_then(parse_reset));
        let retry_after = text("retry-after").and_then(|value| parse_retry_after(value, now));
        RateLimit {
            limit: first(["x-ratelimit-limit", "ratelimit-limit", "x-rate-limit-limit"]),
            remaining: first([
                "x-ratelimit-remaining",
                "ratelimit-remaining",
                "x-rate-limit-remaining",
            ]),
            reset_at,
            retry_after,
        }
    }

    /// How long to wait before asking this host again, if the headers say so.
    pub fn wait(&self, now: Timestamp) -> Option<Duration> {
        if let Some(wait) = self.retry_after {
            return Some(wait);
        }
        let reset = self.reset_at?;
        let seconds = reset.as_second() - now.as_second();
        Some(Duration::from_secs(seconds.max(0) as u64 + 1))
    }
}

/// A reset is either an ISO 8601 time (Mastodon) or unix seconds (Bluesky, X).
fn parse_reset(value: &str) -> Option<Timestamp> {
    if let Ok(seconds) = value.parse::<i64>() {
        return Timestamp::from_second(seconds).ok();
    }
    value.parse::<Timestamp>().ok()
}

/// `Retry-After` is delay seconds or an HTTP date.
fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let seconds = date.as_second() - now.as_second();
    Some(Duration::from_secs(seconds.max(0) as u64))
}

/// A response as received: the raw bytes are evidence and are hashed before anything is
/// derived from them.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL requested (after redirects, the final one).
    pub url: String,
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    pub fetched_at: Timestamp,
    /// Hex SHA-256 of `body`.
    pub sha256: String,
    pub rate_limit: RateLimit,
    /// The `Link` header (RFC 8288), used for paging by Mastodon.
    pub link: Option<String>,
}

impl Fetched {
    /// Parses the body as JSON into `T`, naming the URL and the reason on failure.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, FetchError> {
        serde_json::from_slice(&self.body).map_err(|error| FetchError::Malformed {
            url: self.url.clone(),
            what: "JSON of the expected shape",
            reason: error.to_string(),
        })
    }
}

/// What is kept of a response as evidence: everything but the paging and rate-limit headers.
impl From<Fetched> for crate::model::EvidenceBlob {
    fn from(f: Fetched) -> crate::model::EvidenceBlob {
        crate::model::EvidenceBlob {
            sha256: f.sha256,
            url: f.url,
            fetched_at: f.fetched_at,
            status: f.status,
            content_type: f.content_type,
            body: f.body,
        }
    }
}

/// What a caller accepts as the response's content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Json,
    /// RSS or Atom.
    Feed,
}

impl Expect {
    fn accepts(self, content_type: &str) -> bool {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match self {
            Expect::Json => essence == "application/json" || essence.ends_with("+json"),
            Expect::Feed => {
                essence.ends_with("/xml") || essence.ends_with("+xml") || essence == "text/xml"
            }
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Expect::Json => "JSON",
            Expect::Feed => "an RSS or Atom feed",
        }
    }
}

/// The shared client: one connection pool, one set of limits.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    max_body_bytes: usize,
    total_timeout: Duration,
    /// Base delay of the 5xx backoff; tests shorten it.
    backoff_base: Duration,
}

impl HttpClient {
    pub fn new(
        sources: &SourcesConfig,
        total_timeout: Duration,
    ) -> Result<HttpClient, reqwest::Error> {
        let policy = redirect::Policy::custom(|attempt| {
            let first = attempt.previous().first();
            let same_origin = first.is_some_and(|first| {
                first.host_str() == attempt.url().host_str()
                    && first.port_or_known_default() == attempt.url().port_or_known_default()
            });
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else if !same_origin {
                let target = attempt.url().to_string();
                attempt.error(format!("redirect to another host ({target})"))
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(sources.user_agent.clone())
            .connect_timeout(sources.connect_timeout)
            .timeout(total_timeout)
            .redirect(policy)
            .gzip(true)
            .build()?;
        Ok(HttpClient {
            client,
            max_body_bytes: sources.max_body_bytes,
            total_timeout,
            backoff_base: Duration::from_millis(500),
        })
    }

    /// Shortens the retry backoff (tests only need to see that it retries).
    pub fn with_backoff_base(mut self, base: Duration) -> HttpClient {
        self.backoff_base = base;
        self
    }

    /// GET with retries for 5xx and network errors (full jitter), short 429 waits honoured.
    pub async fn get(
        &self,
        url: &str,
        expect: Expect,
        headers: &[(&'static str, HeaderValue)],
    ) -> Result<Fetched, FetchError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.get_once(url, expect, headers).await;
            let retry_in = match &outcome {
                Err(FetchError::Server { .. }) | Err(FetchError::Network { .. }) => {
                    Some(full_jitter(self.backoff_base, attempt))
                }
                Err(FetchError::RateLimited {
                    retry_after: Some(wait),
                    ..
                }) if *wait <= MAX_INLINE_RATE_LIMIT_WAIT => Some(*wait),
                _ => None,
            };
            match (retry_in, outcome) {
                (Some(wait), Err(_)) if attempt < MAX_ATTEMPTS => tokio::time::sleep(wait).await,
                (_, Err(FetchError::Server { url, status, .. })) => {
                    return Err(FetchError::Server {
                        url,
                        status,
                        attempts: attempt,
                    })
                }
                (_, outcome) => return outcome,
            }
        }
    }

    async fn get_once(
        &self,
        url: &str,
        expect: Expect,
        headers: &[(&'static str, HeaderValue)],
    ) -> Result<Fetched, FetchError> {
        let mut request = self.client.get(url);
        for (name, value) in headers {
            request = request.header(*name, value.clone());
        }
        let mut response = request
            .send()
            .await
            .map_err(|error| self.classify(url, error))?;
        let fetched_at = Timestamp::now();
        let status = response.status();
        let final_url = response.url().to_string();
        let rate_limit = RateLimit::from_headers(response.headers(), fetched_at);
        let link = response
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();

        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(FetchError::RateLimited {
                url: final_url,
                retry_after: rate_limit.wait(fetched_at),
            });
        }
        if status.is_server_error() {
            return Err(FetchError::Server {
                url: final_url,
                status: status.as_u16(),
                attempts: 1,
            });
        }
        if status.is_redirection() {
            return Err(FetchError::Redirect {
                url: final_url,
                reason: format!("HTTP {status} was not followed"),
            });
        }
        if matches!(status.as_u16(), 404 | 410) {
            return Err(FetchError::Gone {
                url: final_url,
                status: status.as_u16(),
            });
        }
        if matches!(status.as_u16(), 401 | 403) {
            return Err(FetchError::Forbidden {
                url: final_url,
                status: status.as_u16(),
            });
        }

        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.classify(url, error))?
        {
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(FetchError::TooLarge {
                    url: final_url,
                    limit: self.max_body_bytes,
                });
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_client_error() {
            let excerpt: String = String::from_utf8_lossy(&body).chars().take(200).collect();
            return Err(FetchError::Client {
                url: final_url,
                status: status.as_u16(),
                excerpt,
            });
        }
        if !expect.accepts(&content_type) {
            return Err(FetchError::UnexpectedContentType {
                url: final_url,
                expected: expect.describe(),
                found: content_type,
            });
        }
        let sha256 = hex::encode(Sha256::digest(&body));
        Ok(Fetched {
            url: final_url,
            status: status.as_u16(),
            content_type,
            body,
            fetched_at,
            sha256,
            rate_limit,
            link,
        })
    }

    fn classify(&self, url: &str, error: reqwest::Error) -> FetchError {
        let url = url.to_string();
        if error.is_timeout() {
            FetchError::Timeout {
                url,
                after: self.total_timeout,
            }
        } else if error.is_redirect() {
            FetchError::Redirect {
                url,
                reason: source_chain(&error),
            }
        } else {
            FetchError::Network {
                url,
                reason: source_chain(&error),
            }
        }
    }
}

/// The error with its causes, since reqwest's own message is often just "error sending request".
fn source_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Exponential backoff with full jitter: a uniform delay in `[0, base·2^attempt)`, capped at a
/// minute. Full jitter spreads retries of many workers so they do not return in lockstep.
pub fn full_jitter(base: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .saturating_mul(1u32 << attempt.min(16))
        .min(Duration::from_secs(60));
    let nanos = ceiling.as_nanos() as u64;
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(random_u64() % nanos)
}

/// A random number from the standard library's per-process hasher keys; good enough for
/// jitter, which needs spread, not secrecy.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x006e_6574_7261);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn reads_all_three_rate_limit_header_families() {
        let now: Timestamp = "2025-07-17T13:50:45Z".parse().unwrap();
        let mastodon = RateLimit::from_headers(
            &headers(&[
                ("x-ratelimit-limit", "300"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "2025-07-17T14:00:00.351121Z"),
            ]),
            now,
        );
        assert_eq!((mastodon.limit, mastodon.remaining), (Some(300), Some(0)));
        assert_eq!(mastodon.wait(now), Some(Duration::from_secs(556)));

        let bluesky = RateLimit::from_headers(
            &headers(&[
                ("ratelimit-limit", "3000"),
                ("ratelimit-remaining", "12"),
                ("ratelimit-reset", &(now.as_second() + 30).to_string()),
                ("retry-after", "7"),
            ]),
            now,
        );
        assert_eq!(bluesky.remaining, Some(12));
        assert_eq!(
            bluesky.wait(now),
            Some(Duration::from_secs(7)),
            "Retry-After wins"
        );

        let x = RateLimit::from_headers(
            &headers(&[
                ("x-rate-limit-limit", "900"),
                ("x-rate-limit-remaining", "899"),
                ("x-rate-limit-reset", &(now.as_second() + 60).to_string()),
            ]),
            now,
        );
        assert_eq!(
            (x.limit, x.wait(now)),
            (Some(900), Some(Duration::from_secs(61)))
        );

        let dated = RateLimit::from_headers(
            &headers(&[("retry-after", "Thu, 17 Jul 2025 13:51:45 GMT")]),
            now,
        );
        assert_eq!(dated.retry_after, Some(Duration::from_secs(60)));
        assert_eq!(
            RateLimit::from_headers(&HeaderMap::new(), now).wait(now),
            None
        );
    }

    #[test]
    fn full_jitter_stays_under_the_exponential_ceiling() {
        let base = Duration::from_millis(100);
        for attempt in 1..8 {
            for _ in 0..50 {
                let delay = full_jitter(base, attempt);
                assert!(
                    delay < base * (1 << attempt),
                    "attempt {attempt}: {delay:?}"
                );
            }
        }
        assert!(full_jitter(Duration::from_secs(10), 30) <= Duration::from_secs(60));
    }

    #[test]
    fn content_types_are_checked_by_essence() {
        assert!(Expect::Json.accepts("application/json; charset=utf-8"));
        assert!(Expect::Json.accepts("application/activity+json"));
        assert!(!Expect::Json.accepts("text/html; charset=utf-8"));
        assert!(Expect::Feed.accepts("application/rss+xml; charset=utf-8"));
        assert!(Expect::Feed.accepts("application/xml"));
        assert!(!Expect::Feed.accepts("application/json"));
    }
}
