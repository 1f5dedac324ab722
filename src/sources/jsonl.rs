//! Activity collected by other tools (a vendor's crawler, a browser capture, a platform Netra
//! has no connector for), imported from JSON lines.
//!
//! # Line format
//!
//! One JSON object per line; blank lines and lines starting with `#` are skipped.
//!
//! | field | required | meaning |
//! |---|---|---|
//! | `platform` | yes | `mastodon`, `bluesky`, `x`, `rss` or `facebook` |
//! | `account` | yes | the registered account's handle, as registered |
//! | `kind` | yes | `post`, `reply`, `repost`, `quote`, `like` |
//! | `id` | yes | the platform's id of the act (unique per platform; re-importing is harmless) |
//! | `occurred_at` | yes | RFC 3339 time, e.g. `2024-11-20T08:00:00+07:00` |
//! | `time_exact` | no | `false` when the time is only an estimate (default `true`) |
//! | `text` | for post, reply, quote | the person's own words |
//! | `target` | for reply, repost, quote, like | `{"author": "@handle", "text": "...", "url": "..."}` |
//! | `url` | no | where the act can be seen |
//! | `source` | no | who collected it (kept in the evidence) |
//!
//! Every line is checked before anything is stored: one bad line stops the import and every
//! bad line is reported with its number, field and reason.

use jiff::Timestamp;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::model::{AccountId, Activity, ActivityKind, EvidenceRef, Platform, Target};

/// Longest text accepted in one field; far above any platform's post limit.
const MAX_TEXT: usize = 100_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    platform: String,
    account: String,
    kind: String,
    id: String,
    occurred_at: String,
    #[serde(default)]
    time_exact: Option<bool>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    target: Option<LineTarget>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineTarget {
    author: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    url: Option<String>,
}

/// A valid line, waiting for its account to be looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedActivity {
    pub line: usize,
    pub platform: Platform,
    pub account_handle: String,
    kind: ActivityKind,
    id: String,
    occurred_at: Timestamp,
    time_exact: bool,
    text: String,
    target: Option<Target>,
    url: Option<String>,
    evidence: EvidenceRef,
    /// The line as read, kept as the activity's evidence.
    pub raw: String,
}

impl ImportedActivity {
    /// The raw line as stored evidence.
    pub fn evidence_blob(&self) -> crate::model::EvidenceBlob {
        crate::model::EvidenceBlob {
            sha256: self.evidence.sha256.clone(),
            url: self.evidence.url.clone(),
            fetched_at: self.evidence.fetched_at,
            status: 200,
            content_type: "application/x-ndjson".into(),
            body: self.raw.as_bytes().to_vec(),
        }
    }

    /// The activity, attributed to the registered account.
    pub fn into_activity(self, account_id: AccountId, observed_at: Timestamp) -> Activity {
        Activity {
            platform: self.platform,
            platform_activity_id: self.id,
            kind: self.kind,
            account_id,
            actor_handle: self.account_handle,
            text: self.text,
            target: self.target,
            url: self.url,
            occurred_at: self.occurred_at,
            time_exact: self.time_exact,
            observed_at,
            evidence: Some(self.evidence),
        }
    }
}

/// What is wrong with one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {field}: {reason}")]
pub struct LineError {
    pub line: usize,
    pub field: String,
    pub reason: String,
}

/// Parses and checks every line of `text`; returns all valid activities or all the errors.
/// `origin` names the file in each activity's evidence; `imported_at` is the evidence time.
pub fn parse(
    text: &str,
    origin: &str,
    imported_at: Timestamp,
) -> Result<Vec<ImportedActivity>, Vec<LineError>> {
    let mut activities = Vec::new();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match parse_line(trimmed, number, origin, imported_at) {
            Ok(activity) => activities.push(activity),
            Err(mut line_errors) => errors.append(&mut line_errors),
        }
    }
    if errors.is_empty() {
        Ok(activities)
    } else {
        Err(errors)
    }
}

fn parse_line(
    raw: &str,
    line: usize,
    origin: &str,
    imported_at: Timestamp,
) -> Result<ImportedActivity, Vec<LineError>> {
    let error = |field: &str, reason: String| LineError {
        line,
        field: field.to_string(),
        reason,
    };
    let parsed: Line =
        serde_json::from_str(raw).map_err(|e| vec![error("(line)", e.to_string())])?;
    let mut errors = Vec::new();
    let platform = parsed
        .platform
        .parse::<Platform>()
        .map_err(|e| errors.push(error("platform", e.to_string())))
        .ok();
    let kind = parsed.kind.parse::<ActivityKind>().ok().filter(|k| {
        matches!(
            k,
            ActivityKind::Post
                | ActivityKind::Reply
                | ActivityKind::Repost
                | ActivityKind::Quote
                | ActivityKind::Like
        )
    });
    if kind.is_none() {
        errors.push(error(
            "kind",
            format!(
                "'{}' is not one of post, reply, repost, quote, like",
                parsed.kind
            ),
        ));
    }
    let occurred_at = parsed
        .occurred_at
        .parse::<Timestamp>()
        .map_err(|e| {
            errors.push(error(
                "occurred_at",
                format!("'{}' is not an RFC 3339 time: {e}", parsed.occurred_at),
            ))
        })
        .ok();
    if parsed.account.trim().is_empty() {
        errors.push(error("account", "is empty".into()));
    }
    if parsed.id.trim().is_empty() || parsed.id.len() > 255 {
        errors.push(error("id", "must be 1 to 255 bytes".into()));
    }
    let text = parsed.text.unwrap_or_default();
    let needs_text = matches!(
        kind,
        Some(ActivityKind::Post | ActivityKind::Reply | ActivityKind::Quote)
    );
    if needs_text && text.trim().is_empty() {
        errors.push(error(
            "text",
            format!("a {} needs the person's own words", parsed.kind),
        ));
    }
    if text.len() > MAX_TEXT {
        errors.push(error("text", format!("is longer than {MAX_TEXT} bytes")));
    }
    let needs_target = matches!(
        kind,
        Some(ActivityKind::Reply | ActivityKind::Repost | ActivityKind::Quote | ActivityKind::Like)
    );
    let target = match (parsed.target, needs_target) {
        (None, true) => {
            errors.push(error(
                "target",
                format!("a {} needs the target it acted on", parsed.kind),
            ));
            None
        }
        (Some(target), _) if target.author.trim().is_empty() => {
            errors.push(error("target.author", "is empty".into()));
            None
        }
        (Some(target), _) if target.text.len() > MAX_TEXT => {
            errors.push(error(
                "target.text",
                format!("is longer than {MAX_TEXT} bytes"),
            ));
            None
        }
        (target, _) => target.map(|t| Target {
            author: t.author.trim().to_string(),
            author_platform_id: None,
            text: t.text,
            url: t.url,
        }),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(platform), Some(kind), Some(occurred_at)) = (platform, kind, occurred_at) else {
        return Err(vec![error("(line)", "incomplete".into())]);
    };
    let source = parsed.source.map(|s| format!(" ({s})")).unwrap_or_default();
    Ok(ImportedActivity {
        line,
        platform,
        account_handle: parsed.account.trim().to_string(),
        kind,
        id: parsed.id.trim().to_string(),
        occurred_at,
        time_exact: parsed.time_exact.unwrap_or(true),
        text,
        target,
        url: parsed.url,
        evidence: EvidenceRef {
            sha256: hex::encode(Sha256::digest(raw.as_bytes())),
            url: format!("{origin}#line={line}{source}"),
            fetched_at: imported_at,
        },
        raw: raw.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2024-11-21T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn valid_lines_become_activities_with_evidence() {
        let text = "# ekspor vendor\n\n\
            {\"platform\":\"facebook\",\"account\":\"budi.santoso\",\"kind\":\"like\",\"id\":\"fb-1\",\"occurred_at\":\"2024-11-20T08:00:00+07:00\",\"time_exact\":false,\"target\":{\"author\":\"@ridwankamil\",\"text\":\"Ayo menangkan RIDO\"},\"source\":\"vendor A\"}\n\
            {\"platform\":\"x\",\"account\":\"@budi\",\"kind\":\"post\",\"id\":\"17\",\"occurred_at\":\"2024-11-20T01:00:00Z\",\"text\":\"Salam satu jari\"}\n";
        let parsed = parse(text, "capture.jsonl", now()).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].line, 3);
        let like = parsed[0].clone().into_activity(AccountId(4), now());
        assert_eq!(like.kind, ActivityKind::Like);
        assert!(!like.time_exact);
        assert_eq!(like.occurred_at.to_string(), "2024-11-20T01:00:00Z");
        assert_eq!(like.target.unwrap().author, "@ridwankamil");
        let evidence = like.evidence.unwrap();
        assert_eq!(evidence.url, "capture.jsonl#line=3 (vendor A)");
        assert_eq!(evidence.sha256.len(), 64);
    }

    #[test]
    fn every_bad_line_is_reported_with_its_field() {
        let text = "{\"platform\":\"myspace\",\"account\":\"a\",\"kind\":\"post\",\"id\":\"1\",\"occurred_at\":\"2024-11-20T01:00:00Z\",\"text\":\"x\"}\n\
            {\"platform\":\"x\",\"account\":\"a\",\"kind\":\"like\",\"id\":\"2\",\"occurred_at\":\"kemarin\"}\n\
            not json\n\
            {\"platform\":\"x\",\"account\":\"a\",\"kind\":\"post\",\"id\":\"3\",\"occurred_at\":\"2024-11-20T01:00:00Z\",\"text\":\"ok\",\"colour\":1}\n";
        let errors = parse(text, "bad.jsonl", now()).unwrap_err();
        let located: Vec<(usize, &str)> =
            errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(
            located,
            [
                (1, "platform"),
                (2, "occurred_at"),
                (2, "target"),
                (3, "(line)"),
                (4, "(line)")
            ]
        );
        assert!(
            errors[4].reason.contains("unknown field `colour`"),
            "{}",
            errors[4]
        );
    }
}
