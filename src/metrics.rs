//! Counters and gauges, rendered in the Prometheus text format at `/metrics`.
//!
//! Deliberately small: a handful of named series with labels, kept in one mutex-guarded map.
//! Updates happen per fetch and per stored batch, not per byte, so contention is not a concern,
//! and the whole exposition fits in one `render` function an operator can read.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// The series Netra exports, with their help text. Names follow Prometheus conventions
/// (`_total` for counters, base units).
pub const SERIES: &[(&str, Kind, &str)] = &[
    (
        "netra_fetches_total",
        Kind::Counter,
        "Requests made to platforms, by platform and outcome.",
    ),
    (
        "netra_rate_limit_waits_total",
        Kind::Counter,
        "Times a platform said to slow down.",
    ),
    (
        "netra_activities_total",
        Kind::Counter,
        "New activities stored, by platform.",
    ),
    (
        "netra_findings_total",
        Kind::Counter,
        "New findings stored, by rule.",
    ),
    (
        "netra_scan_errors_total",
        Kind::Counter,
        "Account scans that failed, by platform.",
    ),
    (
        "netra_auth_failures_total",
        Kind::Counter,
        "API requests refused for a missing, unknown or revoked token.",
    ),
    (
        "netra_review_queue_depth",
        Kind::Gauge,
        "Findings waiting for review.",
    ),
    (
        "netra_outbox_backlog",
        Kind::Gauge,
        "Alerts waiting to be delivered.",
    ),
    (
        "netra_alert_deliveries_total",
        Kind::Counter,
        "Alert delivery attempts, by endpoint and outcome (delivered, retry, dead, gone).",
    ),
    (
        "netra_store_size_bytes",
        Kind::Gauge,
        "Size of the database on disk.",
    ),
    (
        "netra_snapshot_errors_total",
        Kind::Counter,
        "Account snapshots (following list, profile) that failed, by platform.",
    ),
    (
        "netra_evidence_gone_total",
        Kind::Counter,
        "Flagged posts found deleted by a re-check, by platform.",
    ),
    (
        "netra_accounts_scheduled",
        Kind::Gauge,
        "Accounts the scheduler is polling.",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

type Labels = Vec<(&'static str, String)>;

/// Shared handle; clones see the same values.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    values: Arc<Mutex<BTreeMap<(&'static str, Labels), f64>>>,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Adds `by` to a counter. Unknown names are a programming error caught by the tests.
    pub fn add(&self, name: &'static str, labels: &[(&'static str, &str)], by: f64) {
        debug_assert!(
            SERIES
                .iter()
                .any(|(n, k, _)| *n == name && *k == Kind::Counter),
            "{name}"
        );
        let key = (name, owned(labels));
        let mut values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        *values.entry(key).or_insert(0.0) += by;
    }

    pub fn inc(&self, name: &'static str, labels: &[(&'static str, &str)]) {
        self.add(name, labels, 1.0);
    }

    /// Sets a gauge.
    pub fn set(&self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        debug_assert!(
            SERIES
                .iter()
                .any(|(n, k, _)| *n == name && *k == Kind::Gauge),
            "{name}"
        );
        let mut values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        values.insert((name, owned(labels)), value);
    }

    /// The current value of one series (tests, health checks).
    pub fn get(&self, name: &'static str, labels: &[(&'static str, &str)]) -> f64 {
        let values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        values.get(&(name, owned(labels))).copied().unwrap_or(0.0)
    }

    /// The exposition text: every known series with its HELP and TYPE, even before its first
    /// value, so dashboards can be built on a fresh install.
    pub fn render(&self) -> String {
        let values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for (name, kind, help) in SERIES {
            let kind_text = match kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            };
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind_text}");
            let mut any = false;
            for ((series, labels), value) in values.iter() {
                if series != name {
                    continue;
                }
                any = true;
                let _ = writeln!(
                    out,
                    "{name}{} {}",
                    format_labels(labels),
                    format_value(*value)
                );
            }
            if !any && *kind == Kind::Counter {
                let _ = writeln!(out, "{name} 0");
            }
        }
        out
    }
}

/// Reads the gauges that come from the store (queue depth, size on disk) afresh.
pub fn refresh_store_gauges(metrics: &Metrics, store: &crate::store::Store) {
    let depth = store.queue_len(crate::model::ReviewState::New);
    metrics.set("netra_review_queue_depth", &[], depth as f64);
    if let Ok(backlog) = store.outbox_len() {
        metrics.set("netra_outbox_backlog", &[], backlog as f64);
    }
    if let Ok(size) = store.size_on_disk() {
        metrics.set("netra_store_size_bytes", &[], size as f64);
    }
}

fn owned(labels: &[(&'static str, &str)]) -> Labels {
    labels.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

fn format_labels(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            let escaped = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{escaped}\"")
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_escaped_labels() {
        let metrics = Metrics::new();
        metrics.inc(
            "netra_fetches_total",
            &[("platform", "mastodon"), ("outcome", "ok")],
        );
        metrics.add(
            "netra_fetches_total",
            &[("platform", "mastodon"), ("outcome", "ok")],
            2.0,
        );
        metrics.inc("netra_findings_total", &[("rule", "weird\"rule\\x")]);
        metrics.set("netra_store_size_bytes", &[], 1_048_576.0);
        let text = metrics.render();
        assert!(
            text.contains("netra_fetches_total{platform=\"mastodon\",outcome=\"ok\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("netra_findings_total{rule=\"weird\\\"rule\\\\x\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE netra_store_size_bytes gauge\nnetra_store_size_bytes 1048576\n"),
            "{text}"
        );
        assert!(
            text.contains("netra_scan_errors_total 0\n"),
            "counters show before their first event"
        );
        assert_eq!(
            metrics.get(
                "netra_fetches_total",
                &[("platform", "mastodon"), ("outcome", "ok")]
            ),
            3.0
        );
        // Every line is a comment or `name{labels} value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(
                series.starts_with("netra_") && value.parse::<f64>().is_ok(),
                "{line}"
            );
        }
    }
}
