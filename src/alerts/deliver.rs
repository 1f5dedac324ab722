//! One delivery attempt: guard, resolve, pin, POST, classify.
//!
//! | receiver answers | outcome |
//! |---|---|
//! | 2xx | delivered |
//! | 408, 429, 5xx, network error, timeout, DNS failure | retry (after `Retry-After` if given) |
//! | 410 | dead, and the endpoint is disabled |
//! | 3xx | dead: redirects are never followed (the target could be anything) |
//! | other 4xx | dead: the receiver refuses this message; retrying would not change that |
//! | host resolves to a forbidden address | dead: refused by the SSRF guard |

use std::net::SocketAddr;
use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::{redirect, StatusCode};

use super::ssrf::{self, Resolve};
use crate::config::EndpointConfig;

/// Bytes of a receiver's answer kept for the error message.
const EXCERPT_BYTES: usize = 512;

/// Connect timeout; the total timeout is the configured `request_timeout_secs`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    Dead {
        error: String,
    },
    /// 410 Gone: the receiver asks never to be called again.
    Gone {
        error: String,
    },
}

/// Sends `body` to the endpoint with `headers`, after checking where the host leads.
pub async fn send(
    endpoint: &EndpointConfig,
    resolver: &dyn Resolve,
    headers: &[(&'static str, String)],
    body: Vec<u8>,
    timeout: Duration,
    user_agent: &str,
    now: Timestamp,
) -> Outcome {
    let dead = |error: String| Outcome::Dead { error };
    let target = match ssrf::check_static(&endpoint.url, endpoint.allow_private_address) {
        Ok(target) => target,
        Err(refused) => return dead(format!("refused: {refused}")),
    };
    let addresses: Vec<SocketAddr> = match target.literal {
        Some(ip) => vec![SocketAddr::new(ip, target.port)],
        None => match resolver.resolve(&target.host, target.port).await {
            Ok(addresses) => addresses,
            Err(error) => {
                return Outcome::Retry {
                    error: format!("cannot resolve {}: {error}", target.host),
                    retry_after: None,
                }
            }
        },
    };
    if let Err(refused) =
        ssrf::check_resolved(&target.host, &addresses, endpoint.allow_private_address)
    {
        return match refused {
            ssrf::UrlRefused::Unresolved(..) => Outcome::Retry {
                error: refused.to_string(),
                retry_after: None,
            },
            _ => dead(format!("refused: {refused}")),
        };
    }
    let mut builder = reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .user_agent(user_agent);
    if target.literal.is_none() {
        // Connect to exactly the addresses checked above, whatever DNS says a moment later.
        builder = builder.resolve_to_addrs(&target.host, &addresses);
    }
    let client = match builder.build() {
        Ok(client) => client,
        Err(error) => {
            return Outcome::Retry {
                error: format!("cannot build the HTTP client: {}", error_chain(&error)),
                retry_after: None,
            }
        }
    };
    let mut header_map = HeaderMap::new();
    header_map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            header_map.insert(*name, value);
        }
    }
    let response = match client
        .post(target.url.clone())
        .headers(header_map)
        .body(body)
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) => {
            // Slack and Telegram URLs carry tokens: keep the URL out of stored errors.
            let error = error.without_url();
            let kind = if error.is_timeout() {
                "timed out"
            } else {
                "network error"
            };
            return Outcome::Retry {
                error: format!("{kind}: {}", error_chain(&error)),
                retry_after: None,
            };
        }
    };
    let status = response.status();
    if status.is_success() {
        return Outcome::Delivered;
    }
    let retry_after =
        crate::sources::http::RateLimit::from_headers(response.headers(), now).retry_after;
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect::<String>());
    let excerpt = excerpt(response).await;
    let error = format!("HTTP {}{excerpt}", status.as_u16());
    match status {
        StatusCode::GONE => Outcome::Gone { error },
        StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
            Outcome::Retry { error, retry_after }
        }
        s if s.is_server_error() => Outcome::Retry { error, retry_after },
        s if s.is_redirection() => dead(format!(
            "{error}: redirect{} not followed; fix the endpoint's URL",
            location.map(|l| format!(" to {l}")).unwrap_or_default()
        )),
        _ => dead(error),
    }
}

/// The start of the receiver's answer, for the error message (read in chunks, capped).
async fn excerpt(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(EXCERPT_BYTES);
    let text = String::from_utf8_lossy(&bytes);
    let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    if text.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", text.trim())
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
