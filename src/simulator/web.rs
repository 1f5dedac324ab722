//! HTTP plumbing shared by the fake platforms: query-string parsing (repeated keys, Rails-style
//! booleans and integers), JSON and error responses in each platform's exact form.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;

/// A parsed query string that keeps repeated keys (`uris=a&uris=b`) in order.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Query { pairs }
    }

    /// The first value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key` (also accepting the `key[]` spelling some clients send).
    pub fn all(&self, key: &str) -> Vec<&str> {
        let bracketed = format!("{key}[]");
        self.pairs
            .iter()
            .filter(|(k, _)| k == key || *k == bracketed)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A boolean the way Rails reads one: `true`, `1`, `t`, `on`, `yes` (any case) are true.
    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .map(|v| {
                matches!(
                    v.to_ascii_lowercase().as_str(),
                    "true" | "1" | "t" | "on" | "yes"
                )
            })
            .unwrap_or(false)
    }

    /// An integer the way Ruby's `to_i` reads one: leading digits, else 0.
    pub fn ruby_int(&self, key: &str) -> Option<i64> {
        self.get(key).map(ruby_to_i)
    }

    /// Pairs whose key is in `keep`, sorted by key (Rails' `to_query` order), for Link headers.
    pub fn kept(&self, keep: &[&str]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| keep.contains(&k.as_str()))
            .cloned()
            .collect();
        out.sort();
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }
}

/// Ruby's `String#to_i`: optional sign and leading digits; anything else reads as 0.
pub fn ruby_to_i(value: &str) -> i64 {
    let s = value.trim_start();
    let (sign, digits) = match s.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let end = digits.bytes().take_while(|b| b.is_ascii_digit()).count();
    digits[..end].parse::<i64>().map(|n| sign * n).unwrap_or(0)
}

/// Encodes `pairs` as a query string.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// A JSON response with the platforms' content type.
pub fn json(status: StatusCode, value: &Value) -> Response {
    bytes_response(status, JSON_UTF8, value.to_string().into_bytes())
}

pub fn bytes_response(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// Mastodon's error body, `{"error":"Record not found"}`.
pub fn mastodon_error(status: StatusCode, message: &str) -> Response {
    json(status, &serde_json::json!({ "error": message }))
}

/// An XRPC error body, `{"error":"InvalidRequest","message":"Profile not found"}`.
pub fn xrpc_error(status: StatusCode, error: &str, message: &str) -> Response {
    json(
        status,
        &serde_json::json!({ "error": error, "message": message }),
    )
}

/// Escapes text for HTML and XML (the page's own escaper: one rule for both).
pub fn escape_html(text: &str) -> String {
    crate::http::web::esc(text)
}

/// Hashtags in `text` as (byte start, byte end, tag without `#`): a `#` at the start or after
/// whitespace, followed by letters, digits or `_`.
pub fn hashtags(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut prev_is_space = true;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c == '#' && prev_is_space {
            let start = i;
            let mut end = i + 1;
            while let Some(&(j, d)) = iter.peek() {
                if d.is_alphanumeric() || d == '_' {
                    end = j + d.len_utf8();
                    iter.next();
                } else {
                    break;
                }
            }
            if end > start + 1 {
                out.push((start, end, text[start + 1..end].to_string()));
            }
            prev_is_space = false;
            continue;
        }
        prev_is_space = c.is_whitespace();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing_follows_rails() {
        let q = Query::parse(Some(
            "limit=5x&uris=a&uris%5B%5D=b&exclude_reblogs=FALSE&x=%20y",
        ));
        assert_eq!(q.ruby_int("limit"), Some(5));
        assert_eq!(q.all("uris"), vec!["a", "b"]);
        assert!(!q.flag("exclude_reblogs"));
        assert_eq!(q.get("x"), Some(" y"));
        assert_eq!(ruby_to_i("abc"), 0);
        assert_eq!(ruby_to_i("-3"), -3);
    }

    #[test]
    fn hashtags_have_byte_ranges() {
        let text = "Ayo 🇮🇩 #GarudaDiDadaku! dan #ASNNetral";
        let tags = hashtags(text);
        assert_eq!(tags.len(), 2);
        assert_eq!(&text[tags[0].0..tags[0].1], "#GarudaDiDadaku");
        assert_eq!(tags[1].2, "ASNNetral");
    }
}
