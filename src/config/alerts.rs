//! `[alerts]`: the retry schedule and the webhook endpoints (issue #8).
//!
//! ```toml
//! [alerts]
//! public_url = "https://netra.example.go.id"
//! [[alerts.endpoints]]
//! name = "inspektorat"
//! url = "https://hooks.example.go.id/netra"
//! secret_file = "/run/secrets/netra-webhook"     # whsec_<base64>
//! previous_secret = "whsec_..."                  # during a rotation only
//! format = "json"                                # json | slack | telegram (needs chat_id)
//! min_severity = "high"
//! unit = "kemenkumham/kanwil-sumsel"
//! digest_window_secs = 300
//! ```
//!
//! Endpoints are a list, so their secrets cannot use the generic `<key>_file` mechanism of
//! `SECRET_KEYS` (which addresses one key path); `secret_file` and `previous_secret_file` are
//! resolved here, per element, before the schema check.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{get_path, ConfigProblem};
use crate::alerts::sign::SigningKey;
use crate::alerts::ssrf;
use crate::model::{Severity, UnitPath};

/// The secret keys of one endpoint, each also accepted as `<key>_file`.
pub const ENDPOINT_SECRET_KEYS: &[&str] = &["secret", "previous_secret"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawAlerts {
    /// Base of the links in alerts: `<public_url>/temuan/<finding id>`.
    pub public_url: String,
    /// Attempts of one message before it is dead (the first one included).
    pub max_attempts: i64,
    /// Retry waits are random in `[0, min(backoff_max_secs, backoff_base_secs · 2^attempt)]`
    /// (exponential backoff with full jitter), and never shorter than a `Retry-After`.
    pub backoff_base_secs: i64,
    pub backoff_max_secs: i64,
    /// Total time allowed for one delivery attempt.
    pub request_timeout_secs: i64,
    pub endpoints: Vec<RawEndpoint>,
}

impl Default for RawAlerts {
    fn default() -> Self {
        RawAlerts {
            public_url: "http://127.0.0.1:8080".into(),
            max_attempts: 12,
            backoff_base_secs: 10,
            backoff_max_secs: 21_600,
            request_timeout_secs: 15,
            endpoints: Vec::new(),
        }
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawEndpoint {
    /// Unique; names the endpoint in the store, the API and the logs (a-z, 0-9, '-', '_').
    pub name: String,
    pub url: String,
    pub format: String,
    /// `whsec_<base64>`: the signing key. Required for `json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The key being rotated out: requests are signed with both while it is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<String>,
    /// Telegram chat id (`-100…` or `@channel`); only with `format = "telegram"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    pub min_severity: String,
    /// Only findings of employees in this unit or below it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// 0 sends each finding at once; otherwise findings of one unit arriving within this many
    /// seconds of the first go out as one message when the window closes.
    pub digest_window_secs: i64,
    /// Allows a receiver on a private or loopback address (one you run yourself).
    pub allow_private_address: bool,
    /// Adds NIP, name and post text to the message; off by default (data minimisation).
    pub include_personal_data: bool,
}

impl Default for RawEndpoint {
    fn default() -> Self {
        RawEndpoint {
            name: String::new(),
            url: String::new(),
            format: "json".into(),
            secret: None,
            previous_secret: None,
            chat_id: None,
            min_severity: "high".into(),
            unit: None,
            digest_window_secs: 0,
            allow_private_address: false,
            include_personal_data: false,
        }
    }
}

impl std::fmt::Debug for RawEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawEndpoint")
            .field("name", &self.name)
            .field("url", &redact_url(&self.url))
            .field("format", &self.format)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field(
                "previous_secret",
                &self.previous_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("chat_id", &self.chat_id)
            .field("min_severity", &self.min_severity)
            .field("unit", &self.unit)
            .field("digest_window_secs", &self.digest_window_secs)
            .field("allow_private_address", &self.allow_private_address)
            .field("include_personal_data", &self.include_personal_data)
            .finish()
    }
}

impl RawAlerts {
    /// With one fully specified endpoint, so the schema knows every endpoint key.
    pub(super) fn documented() -> RawAlerts {
        RawAlerts {
            endpoints: vec![RawEndpoint {
                secret: Some(String::new()),
                previous_secret: Some(String::new()),
                chat_id: Some(String::new()),
                unit: Some(String::new()),
                ..RawEndpoint::default()
            }],
            ..RawAlerts::default()
        }
    }
}

/// How a message is written for its receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertFormat {
    /// Standard Webhooks JSON: `{"type","timestamp","data"}`.
    Json,
    /// Slack or Mattermost incoming webhook: `{"text", "blocks"}`.
    Slack,
    /// Telegram Bot API `sendMessage`: `{"chat_id","text"}`.
    Telegram { chat_id: String },
}

impl AlertFormat {
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertFormat::Json => "json",
            AlertFormat::Slack => "slack",
            AlertFormat::Telegram { .. } => "telegram",
        }
    }
}

/// Retries of one message: exponential backoff with full jitter, at most `max_attempts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    pub public_url: String,
    pub retry: RetryPolicy,
    pub request_timeout: Duration,
    pub endpoints: Vec<EndpointConfig>,
}

#[derive(Clone, PartialEq)]
pub struct EndpointConfig {
    pub name: String,
    /// Checked: http(s), no credentials, and (unless allowed) no private address.
    pub url: String,
    pub format: AlertFormat,
    /// Current key first; requests are signed with each. Empty: unsigned (Slack, Telegram).
    pub keys: Vec<SigningKey>,
    pub min_severity: Severity,
    pub unit: Option<UnitPath>,
    pub digest_window: Duration,
    pub allow_private_address: bool,
    pub include_personal_data: bool,
}

impl std::fmt::Debug for EndpointConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointConfig")
            .field("name", &self.name)
            .field("url", &redact_url(&self.url))
            .field("format", &self.format)
            .field("keys", &self.keys)
            .field("min_severity", &self.min_severity)
            .field("unit", &self.unit)
            .field("digest_window", &self.digest_window)
            .field("allow_private_address", &self.allow_private_address)
            .field("include_personal_data", &self.include_personal_data)
            .finish()
    }
}

impl EndpointConfig {
    /// One line for the API and `alerts list`: format, host and filters; no secrets, and no URL
    /// path (Slack and Telegram URLs carry tokens there).
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} → {} (severity ≥ {}",
            self.format.as_str(),
            redact_url(&self.url),
            self.min_severity
        );
        if let Some(unit) = &self.unit {
            text.push_str(&format!(", unit {unit}"));
        }
        if !self.digest_window.is_zero() {
            text.push_str(&format!(", digest {} s", self.digest_window.as_secs()));
        }
        text.push(')');
        text
    }

    /// The route [`crate::store::Store::ingest`] uses for this endpoint.
    pub fn route(&self) -> crate::store::AlertRoute {
        crate::store::AlertRoute {
            endpoint: self.name.clone(),
            min_severity: self.min_severity,
            unit: self.unit.clone(),
        }
    }
}

impl AlertsConfig {
    pub fn routes(&self) -> Vec<crate::store::AlertRoute> {
        self.endpoints.iter().map(EndpointConfig::route).collect()
    }
}

/// `scheme://host[:port]/<redacted>`: what may be shown of a webhook URL.
pub fn redact_url(raw: &str) -> String {
    match reqwest::Url::parse(raw) {
        Ok(url) => {
            let host = url.host_str().unwrap_or("");
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            let path = if url.path() == "/" && url.query().is_none() {
                ""
            } else {
                "/<redacted>"
            };
            format!("{}://{host}{port}{path}", url.scheme())
        }
        Err(_) => "<not a URL>".into(),
    }
}

/// Replaces each endpoint's `secret_file` / `previous_secret_file` with the file's contents
/// (one trailing newline trimmed), like the top-level `<key>_file` settings.
pub(super) fn resolve_endpoint_secret_files(
    table: &mut toml::Table,
    problems: &mut Vec<ConfigProblem>,
) {
    let Some(toml::Value::Array(endpoints)) = table
        .get_mut("alerts")
        .and_then(|alerts| alerts.as_table_mut())
        .and_then(|alerts| alerts.get_mut("endpoints"))
    else {
        return;
    };
    for (index, endpoint) in endpoints.iter_mut().enumerate() {
        let Some(endpoint) = endpoint.as_table_mut() else {
            continue;
        };
        for secret in ENDPOINT_SECRET_KEYS {
            let file_key = format!("{secret}_file");
            let shown = format!("alerts.endpoints[{index}].{file_key}");
            let Some(value) = endpoint.remove(&file_key) else {
                continue;
            };
            let Some(path) = value.as_str() else {
                problems.push(ConfigProblem {
                    key: shown,
                    reason: "expects a string (a file path)".into(),
                });
                continue;
            };
            if endpoint.contains_key(*secret) {
                problems.push(ConfigProblem {
                    key: shown,
                    reason: format!("both {secret} and {file_key} are set: keep one"),
                });
                continue;
            }
            match std::fs::read_to_string(path) {
                Ok(contents) => {
                    let value = contents.trim_end_matches(['\n', '\r']).to_string();
                    endpoint.insert(secret.to_string(), toml::Value::String(value));
                }
                Err(error) => problems.push(ConfigProblem {
                    key: shown,
                    reason: format!("cannot read secret file '{path}': {error}"),
                }),
            }
        }
    }
}

/// Redacts every endpoint's secrets and URL path in a printed configuration.
pub(super) fn redact(table: &mut toml::Table) {
    if get_path(table, "alerts.endpoints").is_none() {
        return;
    }
    let Some(toml::Value::Array(endpoints)) = table
        .get_mut("alerts")
        .and_then(|alerts| alerts.as_table_mut())
        .and_then(|alerts| alerts.get_mut("endpoints"))
    else {
        return;
    };
    for endpoint in endpoints.iter_mut().filter_map(|e| e.as_table_mut()) {
        for secret in ENDPOINT_SECRET_KEYS {
            if endpoint.contains_key(*secret) {
                endpoint.insert(secret.to_string(), toml::Value::String("<redacted>".into()));
            }
        }
        if let Some(url) = endpoint.get("url").and_then(|u| u.as_str()) {
            let shown = redact_url(url);
            endpoint.insert("url".into(), toml::Value::String(shown));
        }
    }
}

impl RawAlerts {
    pub(super) fn validate(&self, problems: &mut Vec<ConfigProblem>) -> AlertsConfig {
        let mut problem =
            |key: String, reason: String| problems.push(ConfigProblem { key, reason });
        let public_url = self.public_url.trim().trim_end_matches('/').to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            problem(
                "alerts.public_url".into(),
                format!("'{}' must start with http:// or https://", self.public_url),
            );
        }
        let mut range = |key: &str, value: i64, min: i64, max: i64, unit: &str| -> u64 {
            if !(min..=max).contains(&value) {
                problem(
                    key.into(),
                    format!("must be between {min} and {max}{unit}, got {value}"),
                );
            }
            value.clamp(min, max) as u64
        };
        let max_attempts = range("alerts.max_attempts", self.max_attempts, 1, 100, "") as u32;
        let backoff_base = Duration::from_secs(range(
            "alerts.backoff_base_secs",
            self.backoff_base_secs,
            1,
            86_400,
            " seconds",
        ));
        let backoff_max = Duration::from_secs(range(
            "alerts.backoff_max_secs",
            self.backoff_max_secs,
            1,
            7 * 86_400,
            " seconds",
        ));
        let request_timeout = Duration::from_secs(range(
            "alerts.request_timeout_secs",
            self.request_timeout_secs,
            1,
            300,
            " seconds",
        ));
        if self.backoff_base_secs > self.backoff_max_secs {
            problem(
                "alerts.backoff_base_secs".into(),
                format!(
                    "is {} but alerts.backoff_max_secs is {}: the base must not exceed the cap",
                    self.backoff_base_secs, self.backoff_max_secs
                ),
            );
        }
        let mut endpoints: Vec<EndpointConfig> = Vec::new();
        for (index, raw) in self.endpoints.iter().enumerate() {
            let key = |name: &str| format!("alerts.endpoints[{index}].{name}");
            let name = raw.name.trim().to_string();
            let name_ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !name_ok {
                problem(
                    key("name"),
                    format!("'{}' must be 1 to 64 of a-z, 0-9, '-' and '_'", raw.name),
                );
            } else if endpoints.iter().any(|e| e.name == name) {
                problem(key("name"), format!("'{name}' is used by another endpoint"));
            }
            if let Err(refused) = ssrf::check_config_url(&raw.url, raw.allow_private_address) {
                problem(key("url"), refused.to_string());
            }
            // A bad format is one mistake: later checks that depend on it are skipped.
            let mut format_ok = true;
            let format = match raw.format.trim() {
                "json" => AlertFormat::Json,
                "slack" => AlertFormat::Slack,
                "telegram" => match raw.chat_id.as_deref().map(str::trim) {
                    Some(chat) if !chat.is_empty() => AlertFormat::Telegram {
                        chat_id: chat.to_string(),
                    },
                    _ => {
                        problem(
                            key("chat_id"),
                            "is required with format = \"telegram\"".into(),
                        );
                        format_ok = false;
                        AlertFormat::Json
                    }
                },
                other => {
                    problem(
                        key("format"),
                        format!("unknown format '{other}': expected json, slack or telegram"),
                    );
                    format_ok = false;
                    AlertFormat::Json
                }
            };
            if format_ok && raw.chat_id.is_some() && !matches!(format, AlertFormat::Telegram { .. })
            {
                problem(
                    key("chat_id"),
                    "is only used with format = \"telegram\"".into(),
                );
            }
            let mut keys = Vec::new();
            for (field, value) in [
                ("secret", &raw.secret),
                ("previous_secret", &raw.previous_secret),
            ] {
                if let Some(text) = value {
                    match SigningKey::parse(text) {
                        Ok(signing) => keys.push(signing),
                        Err(reason) => problem(key(field), reason),
                    }
                }
            }
            if raw.secret.is_none() && raw.previous_secret.is_some() {
                problem(
                    key("previous_secret"),
                    "is set without secret: the new key goes in secret".into(),
                );
            }
            if format_ok && raw.secret.is_none() && format == AlertFormat::Json {
                problem(
                    key("secret"),
                    "is required for format = \"json\" (whsec_<base64>, or secret_file)".into(),
                );
            }
            let min_severity = raw
                .min_severity
                .parse::<Severity>()
                .unwrap_or_else(|error| {
                    problem(key("min_severity"), error.to_string());
                    Severity::High
                });
            let unit = match raw.unit.as_deref() {
                None => None,
                Some(text) => match UnitPath::parse(text) {
                    Ok(unit) => Some(unit),
                    Err(error) => {
                        problem(key("unit"), error.to_string());
                        None
                    }
                },
            };
            if !(0..=86_400).contains(&raw.digest_window_secs) {
                problem(
                    key("digest_window_secs"),
                    format!(
                        "must be between 0 and 86400 seconds, got {}",
                        raw.digest_window_secs
                    ),
                );
            }
            endpoints.push(EndpointConfig {
                name,
                url: raw.url.trim().to_string(),
                format,
                keys,
                min_severity,
                unit,
                digest_window: Duration::from_secs(raw.digest_window_secs.clamp(0, 86_400) as u64),
                allow_private_address: raw.allow_private_address,
                include_personal_data: raw.include_personal_data,
            });
        }
        AlertsConfig {
            public_url,
            retry: RetryPolicy {
                max_attempts,
                backoff_base,
                backoff_max,
            },
            request_timeout,
            endpoints,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    const KEY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_overrides_reach_alert_keys_and_the_endpoint_list() {
        let endpoints = format!(
            "[{{name = \"ops\", url = \"https://hooks.example/h\", secret = \"{KEY}\", \
             min_severity = \"medium\", unit = \"Kemenkeu/DJP\"}}]"
        );
        let loaded = load_str(
            "",
            "test.toml",
            env(&[
                ("NETRA_ALERTS_MAX_ATTEMPTS", "3"),
                ("NETRA_ALERTS_ENDPOINTS", &endpoints),
            ]),
        )
        .unwrap();
        let alerts = &loaded.config.alerts;
        assert_eq!(alerts.retry.max_attempts, 3);
        assert_eq!(alerts.endpoints.len(), 1);
        let route = alerts.endpoints[0].route();
        assert_eq!(route.min_severity, crate::model::Severity::Medium);
        assert_eq!(route.unit.unwrap().as_str(), "kemenkeu/djp");
        assert_eq!(
            alerts.endpoints[0].summary(),
            "json → https://hooks.example/<redacted> (severity ≥ medium, unit kemenkeu/djp)"
        );
    }

    #[test]
    fn lists_of_tables_are_checked_per_element() {
        let text = "[[sources.mastodon.instances]]\ndomain = \"m.example\"\nbase_url = \"http://127.0.0.1:1\"\nport = 3\n";
        let error = load_str(text, "test.toml", Vec::new()).unwrap_err();
        assert_eq!(error.problems[0].key, "sources.mastodon.instances[0].port");
        let text = format!(
            "[[alerts.endpoints]]\nname = \"a\"\nurl = \"https://h.example/x\"\nsecret = \"{KEY}\"\nsecret_file = \"/nonexistent\"\n"
        );
        let error = load_str(&text, "test.toml", Vec::new()).unwrap_err();
        assert_eq!(error.problems[0].key, "alerts.endpoints[0].secret_file");
        assert!(error.problems[0].reason.contains("keep one"));
        let error = load_str(
            "[alerts]\nbackoff_base_secs = 100\nbackoff_max_secs = 10\nmax_attempts = 0\n",
            "test.toml",
            Vec::new(),
        )
        .unwrap_err();
        let keys: Vec<&str> = error.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["alerts.max_attempts", "alerts.backoff_base_secs"]);
    }
}
