//! Per-client request budgets and the rate-limit headers of each platform family:
//! Mastodon's `X-RateLimit-*` (ISO 8601 reset, no `Retry-After`) and the XRPC servers'
//! `RateLimit-*` (unix-seconds reset, `RateLimit-Policy`, `Retry-After` on 429).
//!
//! Budgets are counted in fixed windows aligned to the epoch, like rack-attack, on the wall
//! clock: rate limits are about real time, and they never change the scripted content.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use super::{ids, web};

/// How many requests one client (IP address) may make per window to one service (one Mastodon
/// instance, the AppView, the PDS). Generous by default so tests and the demo never throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBudget {
    pub limit: u32,
    pub window: Duration,
}

impl Default for RateBudget {
    fn default() -> Self {
        RateBudget {
            limit: 100_000,
            window: Duration::from_secs(300),
        }
    }
}

/// Which header family and error body a path gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Mastodon,
    /// Bluesky AppView and PDS (XRPC).
    Xrpc,
    /// The PLC directory (no rate headers in normal responses).
    Plc,
    /// Plain feeds (no rate headers).
    Rss,
}

/// The state of one client's budget after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    pub limit: u32,
    pub remaining: u32,
    /// End of the current window, microseconds since the epoch.
    pub reset_micros: i64,
    pub window_secs: u64,
}

impl RateInfo {
    /// The same window with nothing left (what a 429 reports).
    pub fn exhausted(self) -> RateInfo {
        RateInfo {
            remaining: 0,
            ..self
        }
    }

    fn retry_after_secs(self) -> i64 {
        let now = now_micros();
        ((self.reset_micros - now).max(0) + 999_999) / 1_000_000
    }
}

/// Counts requests per (client, service) in the current window.
#[derive(Debug)]
pub struct Limiter {
    budget: RateBudget,
    counts: Mutex<HashMap<(IpAddr, String), (u64, u32)>>,
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

impl Limiter {
    pub fn new(budget: RateBudget) -> Limiter {
        Limiter {
            budget,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the budget; `None` in the second place when it was already spent.
    pub fn take(&self, client: IpAddr, service: &str) -> (RateInfo, bool) {
        let window_micros = self.budget.window.as_micros().max(1) as i64;
        let now = now_micros();
        let window = (now / window_micros) as u64;
        let reset_micros = (window as i64 + 1) * window_micros;
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let entry = counts
            .entry((client, service.to_string()))
            .or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        let allowed = entry.1 < self.budget.limit;
        if allowed {
            entry.1 += 1;
        }
        let info = RateInfo {
            limit: self.budget.limit,
            remaining: self.budget.limit - entry.1,
            reset_micros,
            window_secs: self.budget.window.as_secs().max(1),
        };
        (info, allowed)
    }

    /// What a `rate_limit` fault reports: the configured limit, nothing left, and a reset
    /// `retry` from now (short, so a client retries into the storm instead of sleeping long).
    pub fn storm(&self, retry: Duration) -> RateInfo {
        RateInfo {
            limit: self.budget.limit,
            remaining: 0,
            reset_micros: now_micros() + retry.as_micros() as i64,
            window_secs: self.budget.window.as_secs().max(1),
        }
    }
}

/// Which family and budget a request path belongs to; `None` for paths without rate headers.
pub fn classify(path: &str) -> Option<(Family, String)> {
    let mut segments = path.trim_start_matches('/').split('/');
    match (segments.next(), segments.next(), segments.next()) {
        (Some("mastodon"), Some(domain), Some("api")) => {
            Some((Family::Mastodon, format!("mastodon:{domain}")))
        }
        (Some("bluesky"), Some(service @ ("appview" | "pds")), _) => {
            Some((Family::Xrpc, service.to_string()))
        }
        _ => None,
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// Adds the family's rate-limit headers unless the response already has them (a fault's 429).
pub fn add_headers(family: Family, info: &RateInfo, headers: &mut HeaderMap) {
    match family {
        Family::Mastodon => {
            if headers.contains_key("x-ratelimit-limit") {
                return;
            }
            set(headers, "x-ratelimit-limit", info.limit.to_string());
            set(headers, "x-ratelimit-remaining", info.remaining.to_string());
            set(
                headers,
                "x-ratelimit-reset",
                ids::iso_micros(info.reset_micros),
            );
        }
        Family::Xrpc | Family::Plc => {
            if headers.contains_key("ratelimit-limit") {
                return;
            }
            set(headers, "ratelimit-limit", info.limit.to_string());
            set(headers, "ratelimit-remaining", info.remaining.to_string());
            set(
                headers,
                "ratelimit-reset",
                (info.reset_micros / 1_000_000).to_string(),
            );
            set(
                headers,
                "ratelimit-policy",
                format!("{};w={}", info.limit, info.window_secs),
            );
        }
        Family::Rss => {}
    }
}

/// The platform's 429: Mastodon `{"error":"Too many requests"}` without `Retry-After`; XRPC
/// `RateLimitExceeded` with `Retry-After`.
pub fn too_many(family: Family, info: &RateInfo) -> Response {
    let info = info.exhausted();
    let mut response = match family {
        Family::Mastodon => web::mastodon_error(StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
        Family::Rss => web::bytes_response(
            StatusCode::TOO_MANY_REQUESTS,
            "text/plain; charset=utf-8",
            b"Too many requests\n".to_vec(),
        ),
        Family::Xrpc | Family::Plc => web::xrpc_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RateLimitExceeded",
            "Rate Limit Exceeded",
        ),
    };
    let headers = response.headers_mut();
    match family {
        Family::Mastodon => add_headers(Family::Mastodon, &info, headers),
        Family::Rss => set(headers, "retry-after", info.retry_after_secs().to_string()),
        Family::Xrpc | Family::Plc => {
            add_headers(Family::Xrpc, &info, headers);
            set(headers, "retry-after", info.retry_after_secs().to_string());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_runs_out_and_paths_are_classified() {
        let limiter = Limiter::new(RateBudget {
            limit: 2,
            window: Duration::from_secs(300),
        });
        let ip: IpAddr = [127, 0, 0, 1].into();
        assert!(limiter.take(ip, "x").1);
        let (info, allowed) = limiter.take(ip, "x");
        assert!(allowed);
        assert_eq!(info.remaining, 0);
        assert!(!limiter.take(ip, "x").1);
        assert!(limiter.take(ip, "y").1);
        assert_eq!(
            classify("/mastodon/m.example/api/v1/statuses/1").map(|c| c.0),
            Some(Family::Mastodon)
        );
        assert_eq!(classify("/mastodon/m.example/@a.rss"), None);
        assert_eq!(
            classify("/bluesky/pds/xrpc/x").map(|c| c.1),
            Some("pds".to_string())
        );
    }
}
