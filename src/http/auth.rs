//! Who is asking: the bearer token (or, for the web page, the session) turned into a user,
//! checked on every request so a revoked token or a disabled user is refused at once, and
//! metered per token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use jiff::Timestamp;

use super::error::ApiError;
use super::session;
use super::AppState;
use crate::access::{self, Action, Decision, Resource, User};
use crate::store::AuditDraft;

/// The authenticated user of a request.
#[derive(Debug, Clone)]
pub struct Subject {
    pub user: User,
    /// The session's CSRF token when the request came with the web page's cookie.
    pub csrf: Option<String>,
}

impl FromRequestParts<AppState> for Subject {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim);
        let mut csrf = None;
        let user = match presented {
            Some(secret) => state
                .store
                .authenticate(&access::token_digest(secret))?
                .map(|(_, user)| user),
            None => match session::cookie(&parts.headers).and_then(|id| state.sessions.lookup(&id))
            {
                Some((user_id, token)) => {
                    // A browser's request from another site never acts with the cookie.
                    if session::cross_site(&parts.method, &parts.headers) {
                        return Err(ApiError::new(
                            StatusCode::FORBIDDEN,
                            "cross_site",
                            "requests from another site are refused",
                        ));
                    }
                    csrf = Some(token);
                    state.store.user(user_id)?.filter(|user| user.active)
                }
                None => None,
            },
        };
        let Some(user) = user else {
            state.metrics.inc("netra_auth_failures_total", &[]);
            return Err(ApiError::unauthenticated());
        };
        state.limiter.check(&format!("user:{}", user.id))?;
        Ok(Subject { user, csrf })
    }
}

impl Subject {
    /// Asks the policy about a collection-level action: 403 when the role may not.
    pub fn require(&self, state: &AppState, action: Action) -> Result<(), ApiError> {
        self.ask(state, action, None, "", "")
    }

    /// Asks the policy about one resource, as stored. Out of scope answers exactly like missing.
    pub fn require_on(
        &self,
        state: &AppState,
        action: Action,
        resource: Resource<'_>,
        what: &str,
        id: &str,
    ) -> Result<(), ApiError> {
        self.ask(state, action, Some(resource), what, id)
    }

    fn ask(
        &self,
        state: &AppState,
        action: Action,
        resource: Option<Resource<'_>>,
        what: &str,
        id: &str,
    ) -> Result<(), ApiError> {
        let decision = access::authorize(&self.user, action, resource);
        if decision == Decision::Allow {
            return Ok(());
        }
        // Denials of known users are on the record (anonymous ones are only counted, so a
        // scanner on the internet cannot grow the audit log).
        let draft = AuditDraft::new(
            self.user.actor(),
            "access.denied",
            if what.is_empty() {
                format!("{action:?}")
            } else {
                format!("{what}:{id}")
            },
        )
        .detail(format!("{action:?}: {decision:?}"));
        if let Err(error) = state.store.audit(draft, Timestamp::now()) {
            tracing::warn!(error = %error, "Could not audit a denial.");
        }
        Err(match decision {
            Decision::Hidden => ApiError::not_found(what, id),
            _ => ApiError::forbidden(format!(
                "role '{}' may not do this ({action:?})",
                self.user.role
            )),
        })
    }
}

/// Requests per minute per token, as a token bucket: a burst of a minute's worth, refilled
/// continuously. Answers 429 with the seconds until a request would pass.
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            buckets.clear();
        }
        let (tokens, at) = buckets
            .entry(key.to_string())
            .or_insert((self.per_minute, now));
        let refill = now.duration_since(*at).as_secs_f64() * self.per_minute / 60.0;
        *tokens = (*tokens + refill).min(self.per_minute);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - *tokens) * 60.0 / self.per_minute).ceil() as u64;
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "more than {} requests a minute for this token",
                self.per_minute
            ),
        );
        error.retry_after_secs = Some(wait.max(1));
        Err(error)
    }
}
