//! Hostile-upstream faults for chosen accounts, so connectors can be tested against the failures
//! of real platforms: 429 storms, 5xx, garbage JSON, HTML pages, huge (gzip-bombed) bodies, slow
//! drips and redirect loops.
//!
//! # Spec syntax (`--faults`)
//!
//! ```text
//! SPEC  := RULE (';' RULE)*
//! RULE  := KIND '=' TARGET (',' TARGET)*
//! KIND  := rate_limit | server_error | garbage | html | huge | slow | redirect_loop
//! TARGET:= @user@domain          (Mastodon account)
//!        | name.bsky.example     (Bluesky handle)   | did:plc:…  (Bluesky DID)
//!        | slug | /rss/slug.xml  (RSS-only feed)
//! ```
//!
//! Example: `rate_limit=@budi@mastodon.example;server_error=siti.bsky.example,did:plc:abc`.
//! Whitespace around parts is ignored; an empty spec means no faults. A fault applies to every
//! endpoint that touches the account: handle lookups, profile, timeline/feed, its statuses and
//! their `favourited_by`/`reblogged_by`/`context`/thread/likes, its PDS records, its DID
//! document and its RSS feed. Lists that merely *mention* the account (likers of someone else's
//! post) are served normally, so one bad account never hides the others.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;

use super::population::Population;
use super::ratelimit::{self, Family, RateInfo};
use super::web;

/// One kind of misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// 429 with the platform's rate-limit headers (`Remaining: 0`) on every request.
    RateLimit,
    /// 5xx: Mastodon 503 with an nginx HTML page, XRPC 500 `InternalServerError`.
    ServerError,
    /// 200 with `Content-Type: application/json` and a body that is not JSON (truncated, bad UTF-8).
    Garbage,
    /// 200 with an HTML page instead of JSON.
    Html,
    /// 200 JSON content type with a body of `huge_body_bytes` (64 MiB by default), streamed, and
    /// gzip-compressed when the client accepts gzip (a decompression bomb of ~100 KiB on the wire).
    Huge,
    /// The real response, but the body drips one byte per `slow_interval` after the headers.
    Slow,
    /// 302 to the same host, alternating between two URLs forever.
    RedirectLoop,
}

impl FaultKind {
    pub const ALL: [FaultKind; 7] = [
        FaultKind::RateLimit,
        FaultKind::ServerError,
        FaultKind::Garbage,
        FaultKind::Html,
        FaultKind::Huge,
        FaultKind::Slow,
        FaultKind::RedirectLoop,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::RateLimit => "rate_limit",
            FaultKind::ServerError => "server_error",
            FaultKind::Garbage => "garbage",
            FaultKind::Html => "html",
            FaultKind::Huge => "huge",
            FaultKind::Slow => "slow",
            FaultKind::RedirectLoop => "redirect_loop",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a fault spec was refused; each names the offending part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultSpecError {
    #[error("fault rule '{part}' has no '=': write KIND=TARGET[,TARGET...]")]
    MissingEquals { part: String },
    #[error("fault rule '{part}': unknown kind '{kind}' (expected one of rate_limit, server_error, garbage, html, huge, slow, redirect_loop)")]
    UnknownKind { part: String, kind: String },
    #[error("fault rule '{part}' names no account")]
    NoTargets { part: String },
    #[error("fault rule '{part}': no simulated account '{target}' (use @user@domain, a Bluesky handle or DID, or an RSS feed slug)")]
    UnknownAccount { part: String, target: String },
    #[error("fault rule '{part}': account '{target}' already has the fault '{existing}'")]
    Twice {
        part: String,
        target: String,
        existing: FaultKind,
    },
}

/// A parsed spec, before its targets are matched to accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    pub rules: Vec<FaultRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub part: String,
    pub kind: FaultKind,
    pub targets: Vec<String>,
}

impl FromStr for FaultPlan {
    type Err = FaultSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut rules = Vec::new();
        for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((kind, targets)) = part.split_once('=') else {
                return Err(FaultSpecError::MissingEquals { part: part.into() });
            };
            let kind_text = kind.trim();
            let kind = FaultKind::ALL
                .into_iter()
                .find(|k| k.as_str() == kind_text)
                .ok_or_else(|| FaultSpecError::UnknownKind {
                    part: part.into(),
                    kind: kind_text.into(),
                })?;
            let targets: Vec<String> = targets
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect();
            if targets.is_empty() {
                return Err(FaultSpecError::NoTargets { part: part.into() });
            }
            rules.push(FaultRule {
                part: part.into(),
                kind,
                targets,
            });
        }
        Ok(FaultPlan { rules })
    }
}

impl FaultPlan {
    /// Matches every target to an account of `population`: account index → fault.
    pub fn resolve(
        &self,
        population: &Population,
    ) -> Result<HashMap<usize, FaultKind>, FaultSpecError> {
        let mut out = HashMap::new();
        for rule in &self.rules {
            for target in &rule.targets {
                let account = population.find_account(target).ok_or_else(|| {
                    FaultSpecError::UnknownAccount {
                        part: rule.part.clone(),
                        target: target.clone(),
                    }
                })?;
                if let Some(existing) = out.insert(account, rule.kind) {
                    return Err(FaultSpecError::Twice {
                        part: rule.part.clone(),
                        target: target.clone(),
                        existing,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Sizes and speeds of the faults, settable for fast tests.
#[derive(Debug, Clone)]
pub struct FaultSettings {
    /// Size of a `huge` body before compression.
    pub huge_body_bytes: u64,
    /// Pause between the bytes of a `slow` body.
    pub slow_interval: Duration,
    /// How far ahead a `rate_limit` 429 puts its reset (`Retry-After` on XRPC).
    pub rate_limit_reset: Duration,
}

impl Default for FaultSettings {
    fn default() -> Self {
        FaultSettings {
            huge_body_bytes: 64 * 1024 * 1024,
            slow_interval: Duration::from_millis(500),
            rate_limit_reset: Duration::from_secs(2),
        }
    }
}

/// What a fault response needs to know about the request.
pub struct RequestInfo<'a> {
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub accepts_gzip: bool,
}

/// The response for every fault kind except [`FaultKind::Slow`] (see [`slow`]).
pub fn respond(
    kind: FaultKind,
    family: Family,
    request: &RequestInfo<'_>,
    settings: &FaultSettings,
    rate: RateInfo,
) -> Response {
    match kind {
        FaultKind::RateLimit => ratelimit::too_many(family, &rate.exhausted()),
        FaultKind::ServerError => match family {
            Family::Mastodon | Family::Rss => web::bytes_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/html",
                b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n".to_vec(),
            ),
            _ => web::xrpc_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "Internal Server Error"),
        },
        FaultKind::Garbage => {
            let mut body = b"{\"id\":\"1129676537093\",\"content\":\"<p>ter\xff\xfe\x00".to_vec();
            body.extend_from_slice(b"]]}}\"\x01\x02 not json");
            web::bytes_response(StatusCode::OK, web::JSON_UTF8, body)
        }
        FaultKind::Html => web::bytes_response(
            StatusCode::OK,
            "text/html; charset=utf-8",
            b"<!DOCTYPE html>\n<html lang=\"id\"><head><title>Sedang dalam pemeliharaan</title></head><body><h1>We're sorry, but something went wrong.</h1><p>Silakan coba beberapa saat lagi.</p></body></html>\n".to_vec(),
        ),
        FaultKind::Huge => huge(settings.huge_body_bytes, request.accepts_gzip),
        FaultKind::RedirectLoop => redirect_loop(request),
        // The server wraps the real response with [`slow`] instead; standing alone, a slow
        // fault still drips its (empty object) body.
        FaultKind::Slow => web::bytes_response(StatusCode::OK, web::JSON_UTF8, b"{}".to_vec()),
    }
}

/// 302 to the same path, toggling a `_loop` parameter, so the chain A → B → A never ends.
fn redirect_loop(request: &RequestInfo<'_>) -> Response {
    let mut pairs: Vec<(String, String)> = request
        .query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let had = pairs.iter().any(|(k, _)| k == "_loop");
    pairs.retain(|(k, _)| k != "_loop");
    if !had {
        pairs.push(("_loop".into(), "1".into()));
    }
    let query = web::encode_query(&pairs);
    let location = if query.is_empty() {
        request.path.to_string()
    } else {
        format!("{}?{query}", request.path)
    };
    let mut response = web::bytes_response(
        StatusCode::FOUND,
        "text/html; charset=utf-8",
        b"<html><body>You are being redirected.</body></html>".to_vec(),
    );
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A JSON-looking array of `total` bytes, produced chunk by chunk (never held in memory), and
/// gzip-compressed on the fly when the client accepts it.
fn huge(total: u64, gzip: bool) -> Response {
    const CHUNK: usize = 64 * 1024;
    let unit: &[u8] = b"{\"id\":\"1\",\"content\":\"<p>netra simulator huge body</p>\"},";
    let make_chunk = move |offset: u64| -> Vec<u8> {
        let len = (total - offset).min(CHUNK as u64) as usize;
        let mut chunk = Vec::with_capacity(len);
        if offset == 0 && len > 0 {
            chunk.push(b'[');
        }
        while chunk.len() < len {
            let room = len - chunk.len();
            chunk.extend_from_slice(&unit[..room.min(unit.len())]);
        }
        chunk
    };
    struct State {
        offset: u64,
        encoder: Option<GzEncoder<Vec<u8>>>,
        done: bool,
    }
    let state = State {
        offset: 0,
        encoder: gzip.then(|| GzEncoder::new(Vec::new(), Compression::fast())),
        done: false,
    };
    let stream = futures_util::stream::unfold(state, move |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            if st.offset >= total {
                st.done = true;
                let tail = match st.encoder.take() {
                    Some(encoder) => encoder.finish().unwrap_or_default(),
                    None => Vec::new(),
                };
                return Some((Ok::<Bytes, std::io::Error>(Bytes::from(tail)), st));
            }
            let chunk = make_chunk(st.offset);
            st.offset += chunk.len() as u64;
            match st.encoder.as_mut() {
                None => return Some((Ok(Bytes::from(chunk)), st)),
                Some(encoder) => {
                    if let Err(error) = encoder.write_all(&chunk) {
                        return Some((Err(error), st));
                    }
                    let out = std::mem::take(encoder.get_mut());
                    if !out.is_empty() {
                        return Some((Ok(Bytes::from(out)), st));
                    }
                }
            }
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(web::JSON_UTF8),
    );
    if gzip {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// Keeps the status and headers of `response` but sends its body one byte per `interval`.
pub async fn slow(response: Response, interval: Duration) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    let stream = futures_util::stream::unfold((bytes, 0usize), move |(bytes, pos)| async move {
        if pos >= bytes.len() {
            return None;
        }
        tokio::time::sleep(interval).await;
        let piece = bytes.slice(pos..pos + 1);
        Some((Ok::<Bytes, std::io::Error>(piece), (bytes, pos + 1)))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_and_names_the_bad_part() {
        let plan: FaultPlan = "rate_limit=@a@b, c.bsky.example ; slow=x"
            .parse()
            .unwrap_or_default();
        assert_eq!(plan.rules.len(), 2);
        assert_eq!(plan.rules[0].targets, vec!["@a@b", "c.bsky.example"]);
        assert_eq!("".parse::<FaultPlan>(), Ok(FaultPlan::default()));
        let err = "rate_limit=@a@b;explode=x".parse::<FaultPlan>().err();
        assert!(
            matches!(err, Some(FaultSpecError::UnknownKind { ref part, .. }) if part == "explode=x")
        );
        assert!(matches!(
            "html".parse::<FaultPlan>(),
            Err(FaultSpecError::MissingEquals { .. })
        ));
        assert!(matches!(
            "html= ,".parse::<FaultPlan>(),
            Err(FaultSpecError::NoTargets { .. })
        ));
    }
}
