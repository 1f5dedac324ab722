//! Web sessions: a random id in a `__Host-` cookie (HttpOnly, Secure, SameSite=Strict), an idle
//! and an absolute timeout, and a CSRF token per session for the page's forms.
//!
//! Sessions live in memory: a restart logs everyone out, which is the safe failure. Only the
//! SHA-256 of a session id is kept, so a memory dump does not hand out live sessions.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, Method};

use crate::access::UserId;

/// The cookie's name. The `__Host-` prefix makes browsers refuse it unless it is Secure, has
/// `Path=/` and no `Domain`, so no sibling host can plant or read it. Browsers treat loopback
/// (`http://127.0.0.1`, `http://localhost`) as secure, so the demo works without TLS.
pub const COOKIE: &str = "__Host-netra_sid";

pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
pub const ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(8 * 3600);

struct Session {
    user_id: UserId,
    csrf: String,
    created: Instant,
    last_seen: Instant,
}

/// The live sessions of this process.
pub struct Sessions {
    by_digest: Mutex<HashMap<String, Session>>,
    idle: Duration,
    absolute: Duration,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::new(IDLE_TIMEOUT, ABSOLUTE_TIMEOUT)
    }
}

fn random_hex() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

impl Sessions {
    pub fn new(idle: Duration, absolute: Duration) -> Sessions {
        Sessions {
            by_digest: Mutex::new(HashMap::new()),
            idle,
            absolute,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.by_digest.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a session (a fresh id at every login); returns the id for the cookie.
    pub fn create(&self, user_id: UserId) -> Option<String> {
        let id = random_hex()?;
        let csrf = random_hex()?;
        let now = Instant::now();
        let mut sessions = self.lock();
        let (idle, absolute) = (self.idle, self.absolute);
        sessions.retain(|_, s| fresh(s, now, idle, absolute));
        sessions.insert(
            crate::access::token_digest(&id),
            Session {
                user_id,
                csrf,
                created: now,
                last_seen: now,
            },
        );
        Some(id)
    }

    /// The user and CSRF token of a live session, refreshing its idle timer.
    pub fn lookup(&self, id: &str) -> Option<(UserId, String)> {
        let now = Instant::now();
        let mut sessions = self.lock();
        let digest = crate::access::token_digest(id);
        let session = sessions.get_mut(&digest)?;
        if !fresh(session, now, self.idle, self.absolute) {
            sessions.remove(&digest);
            return None;
        }
        session.last_seen = now;
        Some((session.user_id, session.csrf.clone()))
    }

    pub fn end(&self, id: &str) {
        self.lock().remove(&crate::access::token_digest(id));
    }
}

fn fresh(session: &Session, now: Instant, idle: Duration, absolute: Duration) -> bool {
    now.duration_since(session.last_seen) < idle && now.duration_since(session.created) < absolute
}

/// The session id the request carries, if any.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(id: &str) -> String {
    format!(
        "{COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
        ABSOLUTE_TIMEOUT.as_secs()
    )
}

/// `Set-Cookie` that ends a session in the browser.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// True when a state-changing browser request comes from another site: `Sec-Fetch-Site` says
/// `cross-site`, or, where a browser sends no such header, `Origin` names another host.
pub fn cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => false,
        Some(origin) => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let origin_host = origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or(origin);
            origin == "null" || !origin_host.eq_ignore_ascii_case(host)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_and_at_their_absolute_limit() {
        let sessions = Sessions::new(Duration::from_millis(30), Duration::from_secs(60));
        let id = sessions.create(UserId(7)).unwrap();
        assert_eq!(sessions.lookup(&id).map(|(u, _)| u), Some(UserId(7)));
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(sessions.lookup(&id), None);
        let absolute = Sessions::new(Duration::from_secs(60), Duration::from_millis(30));
        let id = absolute.create(UserId(7)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(absolute.lookup(&id), None);
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(!cross_site(&Method::POST, &headers));
        headers.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(cross_site(&Method::POST, &headers));
        assert!(!cross_site(&Method::GET, &headers));
        headers.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(!cross_site(&Method::POST, &headers));
        headers.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(cross_site(&Method::POST, &headers));
    }
}
