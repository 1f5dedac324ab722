//! `netra eval`: scoring detection against a labelled JSONL file in the format of
//! `shared/eval/dev.jsonl`. An activity counts as flagged when it yields at least one active
//! finding at or above the review threshold; with no dates in the file every election is taken
//! to be in its campaign stage.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{detect_with, Lexicon, Rules, Scope, Scratch};
use crate::model::{AccountId, Activity, ActivityKind, Detection, Platform, RuleStatus, Target};

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Line {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// One labelled line. `kind` is an activity kind: `post`, `reply`, `repost`, `quote`, `like`
/// (with `target_author` and `target_text`), `follow` (with `target_author`: the followed
/// account, no text) or `profile` (alias `profile_change`, with `text`: the profile's display
/// name, bio and fields, one a line), as account snapshots produce them.
#[derive(Debug, Clone, Deserialize)]
pub struct Row {
    pub id: String,
    pub platform: String,
    pub kind: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub target_text: Option<String>,
    #[serde(default)]
    pub target_author: Option<String>,
    pub label: String,
    #[serde(default)]
    pub entity: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
}

/// Builds an activity with fixed metadata: detection never reads ids or times.
pub fn activity(
    platform: Platform,
    id: &str,
    kind: ActivityKind,
    text: &str,
    target_author: Option<&str>,
    target_text: Option<&str>,
) -> Activity {
    let target = (target_author.is_some() || target_text.is_some()).then(|| Target {
        author: target_author.unwrap_or("").to_string(),
        author_platform_id: None,
        text: target_text.unwrap_or("").to_string(),
        url: None,
    });
    Activity {
        platform,
        platform_activity_id: id.to_string(),
        kind,
        account_id: AccountId(0),
        actor_handle: String::new(),
        text: text.to_string(),
        target,
        url: None,
        occurred_at: jiff::Timestamp::UNIX_EPOCH,
        time_exact: true,
        observed_at: jiff::Timestamp::UNIX_EPOCH,
        evidence: None,
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CategoryRecall {
    pub n: usize,
    pub detected: usize,
    pub recall: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub n: usize,
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub tn: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub entity_accuracy: f64,
    pub per_category: BTreeMap<String, CategoryRecall>,
    pub false_positives: Vec<String>,
    pub false_negatives: Vec<String>,
    /// True positives whose findings do not name the labelled entity.
    #[serde(skip)]
    pub wrong_entity: Vec<String>,
}

/// The active findings at or above `threshold`.
pub fn flagged(found: &[Detection], threshold: f32) -> impl Iterator<Item = &Detection> {
    found
        .iter()
        .filter(move |d| d.status == RuleStatus::Active && d.score >= threshold)
}

pub fn read_rows(path: &Path) -> Result<Vec<Row>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Row = serde_json::from_str(line).map_err(|e| EvalError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        if row.label != "partisan" && row.label != "neutral" {
            return Err(EvalError::Line {
                path: path.to_path_buf(),
                line: i + 1,
                reason: format!("label '{}' is neither 'partisan' nor 'neutral'", row.label),
            });
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Runs detection over `rows` and scores it.
pub fn evaluate(
    rows: &[Row],
    lex: &Lexicon,
    rules: &Rules,
    threshold: f32,
) -> Result<Report, String> {
    let scope = Scope::campaign_everywhere(lex);
    let mut scratch = Scratch::default();
    let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
    let mut entity_ok = 0;
    let mut per_category: BTreeMap<String, CategoryRecall> = BTreeMap::new();
    let mut false_positives = Vec::new();
    let mut false_negatives = Vec::new();
    let mut wrong_entity = Vec::new();
    for row in rows {
        let kind: ActivityKind = row.kind.parse().map_err(|e| format!("{}: {e}", row.id))?;
        let platform: Platform = row
            .platform
            .parse()
            .map_err(|e| format!("{}: {e}", row.id))?;
        let act = activity(
            platform,
            &row.id,
            kind,
            &row.text,
            row.target_author.as_deref(),
            row.target_text.as_deref(),
        );
        let found = detect_with(&mut scratch, &act, lex, rules, &scope);
        let hits: Vec<&Detection> = flagged(&found, threshold).collect();
        let partisan = row.label == "partisan";
        match (partisan, !hits.is_empty()) {
            (true, true) => {
                tp += 1;
                let ents: BTreeSet<&str> = hits
                    .iter()
                    .flat_map(|d| d.entities.iter().map(|s| s.as_str()))
                    .collect();
                if row.entity.as_deref().is_some_and(|e| ents.contains(e)) {
                    entity_ok += 1;
                } else {
                    wrong_entity.push(row.id.clone());
                }
            }
            (true, false) => {
                fn_ += 1;
                false_negatives.push(row.id.clone());
            }
            (false, true) => {
                fp += 1;
                false_positives.push(row.id.clone());
            }
            (false, false) => tn += 1,
        }
        if partisan {
            let c = per_category
                .entry(row.category.clone().unwrap_or_else(|| "unknown".into()))
                .or_insert(CategoryRecall {
                    n: 0,
                    detected: 0,
                    recall: 0.0,
                });
            c.n += 1;
            if !hits.is_empty() {
                c.detected += 1;
            }
        }
    }
    for c in per_category.values_mut() {
        c.recall = ratio(c.detected, c.n);
    }
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall > 0.0 {
        round(2.0 * precision * recall / (precision + recall))
    } else {
        0.0
    };
    Ok(Report {
        n: rows.len(),
        tp,
        fp,
        fn_,
        tn,
        precision,
        recall,
        f1,
        entity_accuracy: ratio(entity_ok, tp),
        per_category,
        false_positives,
        false_negatives,
        wrong_entity,
    })
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        round(a as f64 / b as f64)
    }
}

/// The human-readable report.
pub fn render(r: &Report) -> String {
    let mut s = format!(
        "n={} tp={} fp={} fn={} tn={}\nprecision {:.3}  recall {:.3}  F1 {:.3}  entity accuracy {:.3}\n\nrecall per category:\n",
        r.n, r.tp, r.fp, r.fn_, r.tn, r.precision, r.recall, r.f1, r.entity_accuracy
    );
    for (c, v) in &r.per_category {
        s.push_str(&format!(
            "  {c:<22} {:>3}/{:<3} {:.3}\n",
            v.detected, v.n, v.recall
        ));
    }
    s.push_str(&format!(
        "\nfalse positives ({}): {}\n",
        r.false_positives.len(),
        r.false_positives.join(" ")
    ));
    s.push_str(&format!(
        "false negatives ({}): {}\n",
        r.false_negatives.len(),
        r.false_negatives.join(" ")
    ));
    s.push_str(&format!(
        "true positives with another entity ({}): {}\n",
        r.wrong_entity.len(),
        r.wrong_entity.join(" ")
    ));
    s
}
