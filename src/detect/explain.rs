//! Showing detections to people: the `netra check` text with matched words highlighted, and
//! the JSON shape scripts rely on.

use serde::Serialize;

use crate::model::{Detection, RuleStatus, SpanField};

#[derive(Debug, Serialize)]
struct JsonSpan<'a> {
    start: usize,
    end: usize,
    text: &'a str,
}

#[derive(Debug, Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    category: &'a str,
    severity: &'a str,
    score: f32,
    entities: &'a [String],
    reason: &'a str,
    spans: Vec<JsonSpan<'a>>,
}

#[derive(Debug, Serialize)]
struct JsonFindings<'a> {
    findings: Vec<JsonFinding<'a>>,
}

/// `{"findings":[...]}` with spans as byte offsets into the checked TEXT (spans in the target
/// text or author are left out: their offsets would not point into TEXT).
pub fn to_json(found: &[&Detection]) -> String {
    let findings = found
        .iter()
        .map(|d| JsonFinding {
            rule: &d.rule_id,
            category: d.category.as_str(),
            severity: d.severity.as_str(),
            score: d.score,
            entities: &d.entities,
            reason: &d.reason,
            spans: d
                .spans
                .iter()
                .filter(|s| s.field == SpanField::Text)
                .map(|s| JsonSpan {
                    start: s.start,
                    end: s.end,
                    text: &s.text,
                })
                .collect(),
        })
        .collect();
    serde_json::to_string(&JsonFindings { findings }).unwrap_or_else(|_| "{\"findings\":[]}".into())
}

/// `text` with the byte ranges wrapped in `[[` `]]`; overlapping or unaligned ranges are skipped.
pub fn highlight(text: &str, ranges: &[(usize, usize)]) -> String {
    let mut ranges: Vec<(usize, usize)> = ranges
        .iter()
        .copied()
        .filter(|&(s, e)| {
            s < e && e <= text.len() && text.is_char_boundary(s) && text.is_char_boundary(e)
        })
        .collect();
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len() + ranges.len() * 4);
    let mut at = 0;
    for (s, e) in ranges {
        if s < at {
            continue;
        }
        out.push_str(&text[at..s]);
        out.push_str("[[");
        out.push_str(&text[s..e]);
        out.push_str("]]");
        at = e;
    }
    out.push_str(&text[at..]);
    out
}

/// The human-readable `netra check` report.
pub fn render(
    text: &str,
    target_text: Option<&str>,
    found: &[Detection],
    threshold: f32,
) -> String {
    if found.is_empty() {
        return "tidak ada temuan (no findings)\n".to_string();
    }
    let mut s = String::new();
    for d in found {
        let queued = d.status == RuleStatus::Active && d.score >= threshold;
        let mark = match (d.status, queued) {
            (RuleStatus::Shadow, _) => "shadow",
            (_, true) => "FLAG",
            (_, false) => "below threshold",
        };
        s.push_str(&format!(
            "[{mark}] {} · {} · {} · skor {:.2} · {}\n  {}\n",
            d.rule_id,
            d.category,
            d.severity,
            d.score,
            d.entities.join(", "),
            d.reason
        ));
        let own: Vec<(usize, usize)> = d
            .spans
            .iter()
            .filter(|x| x.field == SpanField::Text)
            .map(|x| (x.start, x.end))
            .collect();
        if !own.is_empty() {
            s.push_str(&format!("  teks: {}\n", highlight(text, &own)));
        }
        if let Some(t) = target_text {
            let tgt: Vec<(usize, usize)> = d
                .spans
                .iter()
                .filter(|x| x.field == SpanField::TargetText)
                .map(|x| (x.start, x.end))
                .collect();
            if !tgt.is_empty() {
                s.push_str(&format!("  target: {}\n", highlight(t, &tgt)));
            }
        }
        for x in d
            .spans
            .iter()
            .filter(|x| x.field == SpanField::TargetAuthor)
        {
            s.push_str(&format!("  akun target: {}\n", x.text));
        }
    }
    s
}
