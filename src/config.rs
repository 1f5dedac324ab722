//! Configuration: `config/netra.toml`, overridden by `NETRA_*` environment variables, with
//! secrets optionally read from files, validated into a typed [`Config`].
//!
//! Loading happens in layers, ripgrep's "low args → high args" idea applied to a file:
//!
//! 1. the TOML text is parsed into a plain table;
//! 2. every `NETRA_<PATH>` variable replaces the key at that path (`NETRA_HTTP_LISTEN` →
//!    `http.listen`), typed after the key it replaces;
//! 3. a secret key `k` may instead be given as `k_file`, a path whose contents become the value;
//! 4. the table is checked against the schema: unknown keys and wrong types are collected, not
//!    stopped at, so an operator sees every mistake in one run;
//! 5. the rest deserialises into [`RawConfig`] (`deny_unknown_fields`, defaults filled in);
//! 6. [`RawConfig::validate`] checks ranges and shapes and builds [`Config`].
//!
//! Durations carry their unit in the key name (`min_poll_interval_secs`), sizes likewise
//! (`cache_capacity_mb`), so a file never needs a comment to say what `300` means.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod alerts;
pub use alerts::{
    redact_url, AlertFormat, AlertsConfig, EndpointConfig, RawAlerts, RawEndpoint, RetryPolicy,
};

/// The shipped default configuration; used when no file exists at the default path so that a
/// fresh checkout (or a binary run elsewhere) still starts.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../config/netra.toml");

/// The default path of the configuration file, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/netra.toml";

/// Keys whose values are secrets: redacted when printed, and accepted as `<key>_file`. The
/// secrets of alert endpoints live in a list and are handled per element: see
/// [`alerts::ENDPOINT_SECRET_KEYS`].
pub const SECRET_KEYS: &[&str] = &["sources.x.bearer_token"];

/// Environment variables with this prefix override keys; see the module docs.
pub const ENV_PREFIX: &str = "NETRA_";

/// Variables that carry the prefix but are command-line settings, not keys.
const ENV_NOT_KEYS: &[&str] = &["NETRA_CONFIG", crate::store::POSTGRES_FOR_DIRECTORIES];

/// The file as written: every field optional with a default, unknown keys rejected.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    pub store: RawStore,
    pub http: RawHttp,
    pub scan: RawScan,
    pub detect: RawDetect,
    pub review: RawReview,
    pub retention: RawRetention,
    pub backup: RawBackup,
    pub sources: RawSources,
    pub alerts: RawAlerts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawStore {
    /// Directory of the sled database, or a `postgres://` URL (several replicas, one store).
    pub path: String,
    /// sled's page cache. Its default (1 GiB) is far more than Netra needs, and sled is known to
    /// use several times this in RSS, so it is set explicitly and kept small.
    pub cache_capacity_mb: i64,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            path: "./data".into(),
            cache_capacity_mb: 64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawHttp {
    /// Address of the API and web page. Loopback by default: exposing it is a deliberate act.
    pub listen: String,
    /// Largest request body accepted (JSON and CSV uploads), in KiB.
    pub max_body_kib: i64,
    /// A client must send its request headers within this time (slowloris guard).
    pub header_read_timeout_secs: i64,
    /// Longest a request may take from headers to response.
    pub request_timeout_secs: i64,
    /// Requests a minute one API token (or session) may make before it is answered 429.
    pub requests_per_minute_per_token: i64,
    /// Open connections at most; more wait in the kernel's accept queue.
    pub max_connections: i64,
}

impl Default for RawHttp {
    fn default() -> Self {
        RawHttp {
            listen: "127.0.0.1:8080".into(),
            max_body_kib: 1024,
            header_read_timeout_secs: 10,
            request_timeout_secs: 30,
            requests_per_minute_per_token: 1200,
            max_connections: 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawRetention {
    /// Activities that produced no finding keep only id, time and hash after this many days.
    pub activity_days: i64,
    /// Dismissed findings are purged this many days after the decision.
    pub dismissed_days: i64,
    /// Escalated cases are kept until closed plus this many days.
    pub closed_case_days: i64,
    /// How often `serve` runs the purge.
    pub interval_hours: i64,
}

impl Default for RawRetention {
    fn default() -> Self {
        RawRetention {
            activity_days: 90,
            dismissed_days: 180,
            closed_case_days: 1825,
            interval_hours: 24,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawBackup {
    /// Directory for scheduled exports; empty turns them off.
    pub dir: String,
    pub interval_hours: i64,
    /// Exports kept; older ones are deleted.
    pub keep: i64,
}

impl Default for RawBackup {
    fn default() -> Self {
        RawBackup {
            dir: String::new(),
            interval_hours: 24,
            keep: 7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawReview {
    /// Findings of one employee about one entity at most this many days apart share a case.
    pub case_window_days: i64,
    /// How long a reviewer's claim on a finding lasts before others may take it.
    pub claim_minutes: i64,
}

impl Default for RawReview {
    fn default() -> Self {
        RawReview {
            case_window_days: 30,
            claim_minutes: 15,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawScan {
    /// The most often an active account is polled.
    pub min_poll_interval_secs: i64,
    /// The least often a quiet account is polled.
    pub max_poll_interval_secs: i64,
    /// Total time allowed for one upstream request, body included.
    pub request_timeout_secs: i64,
    /// Requests in flight across all platforms.
    pub max_concurrent_requests: i64,
    /// Requests in flight to one host (one Mastodon instance, the Bluesky AppView).
    pub max_concurrent_per_host: i64,
    /// Requests per minute a host is assumed to allow until its rate-limit headers say.
    pub host_budget_per_min: i64,
    /// How long `serve` waits for in-flight work after SIGINT/SIGTERM before it gives up.
    pub shutdown_grace_secs: i64,
    /// With several replicas on PostgreSQL: how long a replica's claim on a scan lasts. A
    /// replica that dies loses its claims this long after; a scan must finish within it.
    pub lease_secs: i64,
    /// On an account's first scan, how far back its history is read.
    pub backfill_days: i64,
    /// How far back a watched account's posts are checked for likes, reposts and replies.
    pub reverse_window_days: i64,
    /// How often an account's following list and profile are snapshotted (0: never).
    pub snapshot_interval_secs: i64,
    /// How often a flagged, undecided post is checked for deletion (0: never).
    pub recheck_interval_secs: i64,
}

impl Default for RawScan {
    fn default() -> Self {
        RawScan {
            min_poll_interval_secs: 300,
            max_poll_interval_secs: 3600,
            request_timeout_secs: 30,
            max_concurrent_requests: 8,
            max_concurrent_per_host: 2,
            host_budget_per_min: 20,
            shutdown_grace_secs: 20,
            lease_secs: 300,
            backfill_days: 14,
            reverse_window_days: 14,
            snapshot_interval_secs: 86_400,
            recheck_interval_secs: 21_600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawDetect {
    /// Directory of the word lists (`wordlists/README.md` describes the format).
    pub wordlists_dir: String,
    /// The rules file.
    pub rules_file: String,
    /// Findings scoring below this are kept but not queued for review.
    pub review_threshold: f64,
}

impl Default for RawDetect {
    fn default() -> Self {
        RawDetect {
            wordlists_dir: "./wordlists".into(),
            rules_file: "./config/rules.toml".into(),
            review_threshold: 0.5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawSources {
    pub http: RawSourceHttp,
    pub mastodon: RawMastodonSource,
    pub bluesky: RawBlueskySource,
    pub x: RawXSource,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawSourceHttp {
    /// Sent with every request so platform operators can tell who is calling.
    pub user_agent: String,
    /// Time allowed to establish a connection.
    pub connect_timeout_secs: i64,
    /// Largest response body accepted, counted after decompression (a gzip bomb stops here).
    pub max_body_kib: i64,
}

impl Default for RawSourceHttp {
    fn default() -> Self {
        RawSourceHttp {
            user_agent: concat!(
                "Netra/",
                env!("CARGO_PKG_VERSION"),
                " (pengawasan netralitas ASN)"
            )
            .into(),
            connect_timeout_secs: 5,
            max_body_kib: 4096,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawMastodonSource {
    /// Accounts are read from their home instance at `https://<domain>`; an entry here sends
    /// one domain elsewhere (a local simulator, a proxy).
    pub instances: Vec<RawInstanceOverride>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstanceOverride {
    pub domain: String,
    pub base_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawBlueskySource {
    /// The public AppView (no authentication).
    pub appview_url: String,
    /// Where `did:plc` documents are read, to find an account's PDS (for its like records).
    pub plc_directory_url: String,
}

impl Default for RawBlueskySource {
    fn default() -> Self {
        RawBlueskySource {
            appview_url: "https://public.api.bsky.app".into(),
            plc_directory_url: "https://plc.directory".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawXSource {
    pub base_url: String,
    /// X API v2 bearer token; without it X accounts are not scanned.
    pub bearer_token: Option<String>,
}

impl Default for RawXSource {
    fn default() -> Self {
        RawXSource {
            base_url: "https://api.x.com".into(),
            bearer_token: None,
        }
    }
}

impl RawConfig {
    /// A value with every optional key present, so the schema (key paths and their types) can
    /// be read off its serialisation instead of being kept in a second list by hand.
    fn documented() -> RawConfig {
        let mut config = RawConfig::default();
        config.sources.x.bearer_token = Some(String::new());
        config.sources.mastodon.instances = vec![RawInstanceOverride {
            domain: String::new(),
            base_url: String::new(),
        }];
        config.alerts = RawAlerts::documented();
        config
    }
}

/// The validated configuration the program runs on.
#[derive(Clone, PartialEq)]
pub struct Config {
    pub store: StoreConfig,
    pub http: HttpConfig,
    pub scan: ScanConfig,
    pub detect: DetectConfig,
    pub review: ReviewConfig,
    pub retention: RetentionConfig,
    pub backup: BackupConfig,
    pub sources: SourcesConfig,
    pub alerts: AlertsConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetentionConfig {
    pub policy: crate::store::RetentionPolicy,
    pub interval: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BackupConfig {
    pub dir: Option<PathBuf>,
    pub interval: Duration,
    pub keep: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewConfig {
    pub case_window: Duration,
    pub claim: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    pub path: PathBuf,
    pub cache_capacity_bytes: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub requests_per_minute_per_token: u32,
    pub max_connections: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScanConfig {
    pub min_poll_interval: Duration,
    pub max_poll_interval: Duration,
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
    pub max_concurrent_per_host: usize,
    pub host_budget_per_min: f64,
    pub shutdown_grace: Duration,
    pub lease: Duration,
    pub backfill: Duration,
    pub reverse_window: Duration,
    /// `None`: snapshots are off.
    pub snapshot_interval: Option<Duration>,
    /// `None`: deletion re-checks are off.
    pub recheck_interval: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DetectConfig {
    pub wordlists_dir: PathBuf,
    pub rules_file: PathBuf,
    pub review_threshold: f32,
}

#[derive(Clone, PartialEq)]
pub struct SourcesConfig {
    pub user_agent: String,
    pub connect_timeout: Duration,
    pub max_body_bytes: usize,
    /// Mastodon instance domain (lowercase) → base URL to use instead of `https://<domain>`.
    pub mastodon_instances: BTreeMap<String, String>,
    pub bluesky_appview_url: String,
    pub bluesky_plc_directory_url: String,
    pub x_base_url: String,
    pub x_bearer_token: Option<Secret>,
}

/// A secret string whose `Debug` never shows it, so it cannot leak into logs by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }
    /// The secret itself; call only where it is sent to its rightful receiver.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("store", &self.store)
            .field("http", &self.http)
            .field("scan", &self.scan)
            .field("detect", &self.detect)
            .field("sources", &self.sources)
            .field("alerts", &self.alerts)
            .finish()
    }
}

impl fmt::Debug for SourcesConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourcesConfig")
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("mastodon_instances", &self.mastodon_instances)
            .field("bluesky_appview_url", &self.bluesky_appview_url)
            .field("bluesky_plc_directory_url", &self.bluesky_plc_directory_url)
            .field("x_base_url", &self.x_base_url)
            .field("x_bearer_token", &self.x_bearer_token)
            .finish()
    }
}

/// One problem with the configuration, naming the key (or variable) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key path (`scan.min_poll_interval_secs`), or the environment variable's name.
    pub key: String,
    pub reason: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// Every problem found while loading one configuration, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file read, or `<built-in default>`.
    pub source_name: String,
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        write!(
            f,
            "{}: {count} configuration error{}",
            self.source_name,
            if count == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  {}: {problem}", self.source_name)?;
        }
        Ok(())
    }
}

/// Where the configuration text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    File(PathBuf),
    BuiltIn,
}

impl ConfigSource {
    /// The file if it was named explicitly or exists at the default path; the built-in default
    /// when no path was given and the default file is absent.
    pub fn choose(explicit: Option<&Path>) -> ConfigSource {
        match explicit {
            Some(path) => ConfigSource::File(path.to_path_buf()),
            None if Path::new(DEFAULT_CONFIG_PATH).exists() => {
                ConfigSource::File(PathBuf::from(DEFAULT_CONFIG_PATH))
            }
            None => ConfigSource::BuiltIn,
        }
    }

    fn name(&self) -> String {
        match self {
            ConfigSource::File(path) => path.display().to_string(),
            ConfigSource::BuiltIn => "<built-in default>".into(),
        }
    }
}

/// The outcome of loading: the validated config plus the effective raw values (for printing).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub effective: RawConfig,
    pub source_name: String,
}

/// Loads from `source`, applying overrides from `env` (pass `std::env::vars()` in production;
/// tests pass their own list so they never touch the process environment).
pub fn load(
    source: &ConfigSource,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Loaded, ConfigError> {
    let source_name = source.name();
    let fail = |problems: Vec<ConfigProblem>| ConfigError {
        source_name: source_name.clone(),
        problems,
    };
    let text = match source {
        ConfigSource::File(path) => std::fs::read_to_string(path).map_err(|error| {
            fail(vec![ConfigProblem {
                key: "(file)".into(),
                reason: format!("cannot read the file: {error}"),
            }])
        })?,
        ConfigSource::BuiltIn => DEFAULT_CONFIG_TOML.to_string(),
    };
    load_str(&text, &source_name, env)
}

/// [`load`] on text already read; `source_name` is used in messages.
pub fn load_str(
    text: &str,
    source_name: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Loaded, ConfigError> {
    let fail = |problems: Vec<ConfigProblem>| ConfigError {
        source_name: source_name.to_string(),
        problems,
    };
    let mut table: toml::Table = toml::from_str(text).map_err(|error| {
        fail(vec![ConfigProblem {
            key: "(syntax)".into(),
            reason: error.message().to_string() + &line_of(text, error.span()),
        }])
    })?;

    let schema = Schema::new();
    let mut problems = Vec::new();
    apply_env(&mut table, &schema, env, &mut problems);
    resolve_secret_files(&mut table, &mut problems);
    alerts::resolve_endpoint_secret_files(&mut table, &mut problems);
    check_against_schema(&mut table, &schema, "", "", &mut problems);

    let raw: RawConfig = match RawConfig::deserialize(toml::Value::Table(table)) {
        Ok(raw) => raw,
        Err(error) => {
            problems.push(ConfigProblem {
                key: "(structure)".into(),
                reason: error.message().to_string(),
            });
            return Err(fail(problems));
        }
    };
    match raw.validate() {
        Ok(config) if problems.is_empty() => Ok(Loaded {
            config,
            effective: raw,
            source_name: source_name.to_string(),
        }),
        Ok(_) => Err(fail(problems)),
        Err(more) => {
            problems.extend(more);
            Err(fail(problems))
        }
    }
}

fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

/// The type a key expects, read off the documented default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Integer,
    Float,
    Bool,
    Array,
    Table,
}

impl Kind {
    fn of(value: &toml::Value) -> Kind {
        match value {
            toml::Value::String(_) | toml::Value::Datetime(_) => Kind::String,
            toml::Value::Integer(_) => Kind::Integer,
            toml::Value::Float(_) => Kind::Float,
            toml::Value::Boolean(_) => Kind::Bool,
            toml::Value::Array(_) => Kind::Array,
            toml::Value::Table(_) => Kind::Table,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Integer => "an integer",
            Kind::Float => "a number",
            Kind::Bool => "true or false",
            Kind::Array => "a list",
            Kind::Table => "a table",
        }
    }

    fn accepts(self, value: &toml::Value) -> bool {
        let given = Kind::of(value);
        // An integer is a fine float (`review_threshold = 1`).
        given == self || (self == Kind::Float && given == Kind::Integer)
    }
}

/// Every key path with the kind it expects.
struct Schema {
    keys: BTreeMap<String, Kind>,
}

impl Schema {
    fn new() -> Schema {
        let documented = toml::Value::try_from(RawConfig::documented())
            .expect("the documented configuration serialises to TOML");
        let mut keys = BTreeMap::new();
        collect_keys(&documented, "", &mut keys);
        for secret in SECRET_KEYS {
            keys.insert(format!("{secret}_file"), Kind::String);
        }
        for secret in alerts::ENDPOINT_SECRET_KEYS {
            keys.insert(format!("alerts.endpoints[].{secret}_file"), Kind::String);
        }
        Schema { keys }
    }

    fn env_name(path: &str) -> String {
        format!(
            "{ENV_PREFIX}{}",
            path.replace('.', "_").to_ascii_uppercase()
        )
    }
}

/// Key paths with their kinds; the elements of a list of tables appear as `<list>[].<key>`.
fn collect_keys(value: &toml::Value, prefix: &str, out: &mut BTreeMap<String, Kind>) {
    match value {
        toml::Value::Table(table) => {
            if !prefix.is_empty() {
                out.insert(prefix.to_string(), Kind::Table);
            }
            for (key, child) in table {
                collect_keys(child, &join(prefix, key), out);
            }
        }
        toml::Value::Array(items) if items.first().is_some_and(toml::Value::is_table) => {
            out.insert(prefix.to_string(), Kind::Array);
            collect_keys(&items[0], &format!("{prefix}[]"), out);
        }
        _ => {
            out.insert(prefix.to_string(), Kind::of(value));
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn apply_env(
    table: &mut toml::Table,
    schema: &Schema,
    env: impl IntoIterator<Item = (String, String)>,
    problems: &mut Vec<ConfigProblem>,
) {
    let by_env_name: BTreeMap<String, (&String, Kind)> = schema
        .keys
        .iter()
        .filter(|(path, kind)| **kind != Kind::Table && !path.contains("[]"))
        .map(|(path, kind)| (Schema::env_name(path), (path, *kind)))
        .collect();
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX) && !ENV_NOT_KEYS.contains(&name.as_str()))
        .collect();
    vars.sort();
    for (name, raw_value) in vars {
        let Some((path, kind)) = by_env_name.get(&name) else {
            problems.push(ConfigProblem {
                key: name.clone(),
                reason: "this environment variable names no configuration key".into(),
            });
            continue;
        };
        match parse_env_value(&raw_value, *kind) {
            Ok(value) => set_path(table, path, value),
            Err(reason) => problems.push(ConfigProblem {
                key: name.clone(),
                reason: format!(
                    "overrides {path}, which expects {}: {reason}",
                    kind.describe()
                ),
            }),
        }
    }
}

fn parse_env_value(raw: &str, kind: Kind) -> Result<toml::Value, String> {
    let trimmed = raw.trim();
    match kind {
        Kind::String => Ok(toml::Value::String(raw.to_string())),
        Kind::Integer => trimmed
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("'{raw}' is not an integer")),
        Kind::Float => trimmed
            .parse::<f64>()
            .map(toml::Value::Float)
            .map_err(|_| format!("'{raw}' is not a number")),
        Kind::Bool => match trimmed {
            "true" | "1" => Ok(toml::Value::Boolean(true)),
            "false" | "0" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("'{raw}' is not true or false")),
        },
        Kind::Array | Kind::Table => {
            let wrapped: toml::Table = toml::from_str(&format!("v = {trimmed}"))
                .map_err(|error| format!("'{raw}' is not a TOML value: {}", error.message()))?;
            Ok(wrapped
                .get("v")
                .cloned()
                .unwrap_or(toml::Value::Array(vec![])))
        }
    }
}

fn set_path(table: &mut toml::Table, path: &str, value: toml::Value) {
    let mut current = table;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_string(), value);
            return;
        }
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        current = entry.as_table_mut().expect("just made a table");
    }
}

fn get_path<'a>(table: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
    let mut parts = path.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    Some(value)
}

fn remove_path(table: &mut toml::Table, path: &str) -> Option<toml::Value> {
    match path.rsplit_once('.') {
        None => table.remove(path),
        Some((parent, last)) => {
            let mut current = table;
            for part in parent.split('.') {
                current = current.get_mut(part)?.as_table_mut()?;
            }
            current.remove(last)
        }
    }
}

/// Replaces each `<secret>_file` with the file's contents (one trailing newline trimmed, as
/// files written by `echo` and secret managers end with one).
fn resolve_secret_files(table: &mut toml::Table, problems: &mut Vec<ConfigProblem>) {
    for secret in SECRET_KEYS {
        let file_key = format!("{secret}_file");
        let Some(value) = remove_path(table, &file_key) else {
            continue;
        };
        let Some(path) = value.as_str() else {
            problems.push(ConfigProblem {
                key: file_key,
                reason: "expects a string (a file path)".into(),
            });
            continue;
        };
        if get_path(table, secret).is_some() {
            problems.push(ConfigProblem {
                key: file_key.clone(),
                reason: format!("both {secret} and {file_key} are set: keep one"),
            });
            continue;
        }
        match std::fs::read_to_string(path) {
            Ok(contents) => {
                let value = contents
                    .strip_suffix('\n')
                    .map(|s| s.strip_suffix('\r').unwrap_or(s))
                    .unwrap_or(&contents);
                set_path(table, secret, toml::Value::String(value.to_string()));
            }
            Err(error) => problems.push(ConfigProblem {
                key: file_key,
                reason: format!("cannot read secret file '{path}': {error}"),
            }),
        }
    }
}

/// Reports unknown keys and wrong types, removing them so the rest can still be checked.
/// `prefix` is the schema path (`alerts.endpoints[]`), `shown` the one reported
/// (`alerts.endpoints[2]`).
fn check_against_schema(
    table: &mut toml::Table,
    schema: &Schema,
    prefix: &str,
    shown: &str,
    problems: &mut Vec<ConfigProblem>,
) {
    let keys: Vec<String> = table.keys().cloned().collect();
    for key in keys {
        let path = join(prefix, &key);
        let shown_path = join(shown, &key);
        let Some(expected) = schema.keys.get(&path).copied() else {
            let known = known_siblings(schema, prefix);
            problems.push(ConfigProblem {
                key: shown_path,
                reason: format!("unknown key (known keys here: {known})"),
            });
            table.remove(&key);
            continue;
        };
        let value = table.get_mut(&key).expect("key listed above");
        if !expected.accepts(value) {
            problems.push(ConfigProblem {
                key: shown_path,
                reason: format!(
                    "expects {}, found {} ({})",
                    expected.describe(),
                    Kind::of(value).describe(),
                    value
                ),
            });
            table.remove(&key);
            continue;
        }
        if let toml::Value::Table(child) = value {
            check_against_schema(child, schema, &path, &shown_path, problems);
        }
        let element_path = format!("{path}[]");
        if let (toml::Value::Array(items), true) = (value, schema.keys.contains_key(&element_path))
        {
            for (index, item) in items.iter_mut().enumerate() {
                let shown_item = format!("{shown_path}[{index}]");
                match item.as_table_mut() {
                    Some(child) => {
                        check_against_schema(child, schema, &element_path, &shown_item, problems)
                    }
                    None => problems.push(ConfigProblem {
                        key: shown_item,
                        reason: format!("expects a table, found {}", Kind::of(item).describe()),
                    }),
                }
            }
        }
    }
}

fn known_siblings(schema: &Schema, prefix: &str) -> String {
    let depth = if prefix.is_empty() {
        0
    } else {
        prefix.split('.').count()
    };
    let names: Vec<&str> = schema
        .keys
        .keys()
        .filter(|path| {
            (prefix.is_empty() || path.starts_with(&format!("{prefix}.")))
                && path.split('.').count() == depth + 1
        })
        .map(|path| path.rsplit('.').next().unwrap_or(path))
        .collect();
    names.join(", ")
}

impl RawConfig {
    /// Checks ranges and shapes, returning every problem found.
    pub fn validate(&self) -> Result<Config, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut problems_days = Vec::new();
        fn days(problems: &mut Vec<ConfigProblem>, key: &str, value: i64) -> u64 {
            if !(0..=3650).contains(&value) {
                problems.push(ConfigProblem {
                    key: key.into(),
                    reason: format!("must be between 0 and 3650 days, got {value}"),
                });
            }
            value.clamp(0, 3650) as u64
        }
        let mut seconds = |key: &str, value: i64, min: i64, max: i64| -> Duration {
            if value < min || value > max {
                problems.push(ConfigProblem {
                    key: key.into(),
                    reason: if value < 0 {
                        format!("must not be negative, got {value} (seconds, {min}–{max})")
                    } else {
                        format!("must be between {min} and {max} seconds, got {value}")
                    },
                });
            }
            Duration::from_secs(value.clamp(min, max) as u64)
        };
        let scan = ScanConfig {
            min_poll_interval: seconds(
                "scan.min_poll_interval_secs",
                self.scan.min_poll_interval_secs,
                1,
                7 * 86_400,
            ),
            max_poll_interval: seconds(
                "scan.max_poll_interval_secs",
                self.scan.max_poll_interval_secs,
                1,
                30 * 86_400,
            ),
            request_timeout: seconds(
                "scan.request_timeout_secs",
                self.scan.request_timeout_secs,
                1,
                600,
            ),
            max_concurrent_requests: 1,
            max_concurrent_per_host: 1,
            host_budget_per_min: 60.0,
            backfill: Duration::from_secs(
                86_400
                    * days(
                        &mut problems_days,
                        "scan.backfill_days",
                        self.scan.backfill_days,
                    ),
            ),
            reverse_window: Duration::from_secs(
                86_400
                    * days(
                        &mut problems_days,
                        "scan.reverse_window_days",
                        self.scan.reverse_window_days,
                    ),
            ),
            shutdown_grace: seconds(
                "scan.shutdown_grace_secs",
                self.scan.shutdown_grace_secs,
                0,
                3600,
            ),
            lease: seconds("scan.lease_secs", self.scan.lease_secs, 1, 86_400),
            snapshot_interval: Some(seconds(
                "scan.snapshot_interval_secs",
                self.scan.snapshot_interval_secs,
                0,
                30 * 86_400,
            ))
            .filter(|d| !d.is_zero()),
            recheck_interval: Some(seconds(
                "scan.recheck_interval_secs",
                self.scan.recheck_interval_secs,
                0,
                30 * 86_400,
            ))
            .filter(|d| !d.is_zero()),
        };
        problems.append(&mut problems_days);
        let scan = ScanConfig {
            max_concurrent_requests: match self.scan.max_concurrent_requests {
                n @ 1..=1024 => n as usize,
                n => {
                    problems.push(ConfigProblem {
                        key: "scan.max_concurrent_requests".into(),
                        reason: format!("must be between 1 and 1024, got {n}"),
                    });
                    1
                }
            },
            ..scan
        };
        let scan = ScanConfig {
            max_concurrent_per_host: match self.scan.max_concurrent_per_host {
                n @ 1..=64 => n as usize,
                n => {
                    problems.push(ConfigProblem {
                        key: "scan.max_concurrent_per_host".into(),
                        reason: format!("must be between 1 and 64, got {n}"),
                    });
                    1
                }
            },
            host_budget_per_min: match self.scan.host_budget_per_min {
                n @ 1..=100_000 => n as f64,
                n => {
                    problems.push(ConfigProblem {
                        key: "scan.host_budget_per_min".into(),
                        reason: format!("must be between 1 and 100000 requests a minute, got {n}"),
                    });
                    60.0
                }
            },
            ..scan
        };
        if self.scan.min_poll_interval_secs > self.scan.max_poll_interval_secs {
            problems.push(ConfigProblem {
                key: "scan.min_poll_interval_secs".into(),
                reason: format!(
                    "is {} but scan.max_poll_interval_secs is {}: the minimum must not exceed the maximum",
                    self.scan.min_poll_interval_secs, self.scan.max_poll_interval_secs
                ),
            });
        }

        let listen = match self.http.listen.parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => {
                problems.push(ConfigProblem {
                    key: "http.listen".into(),
                    reason: format!(
                        "'{}' is not an IP address with a port, e.g. 127.0.0.1:8080",
                        self.http.listen
                    ),
                });
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }
        };

        fn bounded(
            problems: &mut Vec<ConfigProblem>,
            key: &str,
            value: i64,
            min: i64,
            max: i64,
            unit: &str,
        ) -> u64 {
            if value < min || value > max {
                problems.push(ConfigProblem {
                    key: key.into(),
                    reason: format!("must be between {min} and {max} {unit}, got {value}"),
                });
            }
            value.clamp(min, max) as u64
        }
        let raw_http = &self.http;
        let http_config = HttpConfig {
            listen,
            max_body_bytes: 1024
                * bounded(
                    &mut problems,
                    "http.max_body_kib",
                    raw_http.max_body_kib,
                    1,
                    1 << 20,
                    "KiB",
                ) as usize,
            header_read_timeout: Duration::from_secs(bounded(
                &mut problems,
                "http.header_read_timeout_secs",
                raw_http.header_read_timeout_secs,
                1,
                300,
                "seconds",
            )),
            request_timeout: Duration::from_secs(bounded(
                &mut problems,
                "http.request_timeout_secs",
                raw_http.request_timeout_secs,
                1,
                3600,
                "seconds",
            )),
            requests_per_minute_per_token: bounded(
                &mut problems,
                "http.requests_per_minute_per_token",
                raw_http.requests_per_minute_per_token,
                1,
                1_000_000,
                "requests",
            ) as u32,
            max_connections: bounded(
                &mut problems,
                "http.max_connections",
                raw_http.max_connections,
                1,
                100_000,
                "connections",
            ) as usize,
        };
        let retention = RetentionConfig {
            policy: crate::store::RetentionPolicy {
                activity_days: bounded(
                    &mut problems,
                    "retention.activity_days",
                    self.retention.activity_days,
                    1,
                    36_500,
                    "days",
                ) as i64,
                dismissed_days: bounded(
                    &mut problems,
                    "retention.dismissed_days",
                    self.retention.dismissed_days,
                    1,
                    36_500,
                    "days",
                ) as i64,
                closed_case_days: bounded(
                    &mut problems,
                    "retention.closed_case_days",
                    self.retention.closed_case_days,
                    1,
                    36_500,
                    "days",
                ) as i64,
            },
            interval: Duration::from_secs(
                3600 * bounded(
                    &mut problems,
                    "retention.interval_hours",
                    self.retention.interval_hours,
                    1,
                    24 * 30,
                    "hours",
                ),
            ),
        };
        let backup = BackupConfig {
            dir: (!self.backup.dir.trim().is_empty())
                .then(|| PathBuf::from(self.backup.dir.trim())),
            interval: Duration::from_secs(
                3600 * bounded(
                    &mut problems,
                    "backup.interval_hours",
                    self.backup.interval_hours,
                    1,
                    24 * 365,
                    "hours",
                ),
            ),
            keep: bounded(
                &mut problems,
                "backup.keep",
                self.backup.keep,
                1,
                1000,
                "files",
            ) as usize,
        };
        let review = ReviewConfig {
            case_window: Duration::from_secs(
                86_400
                    * bounded(
                        &mut problems,
                        "review.case_window_days",
                        self.review.case_window_days,
                        1,
                        3650,
                        "days",
                    ),
            ),
            claim: Duration::from_secs(
                60 * bounded(
                    &mut problems,
                    "review.claim_minutes",
                    self.review.claim_minutes,
                    1,
                    24 * 60,
                    "minutes",
                ),
            ),
        };

        let cache_capacity_bytes = match self.store.cache_capacity_mb {
            n @ 1..=65_536 => n as u64 * 1024 * 1024,
            n => {
                problems.push(ConfigProblem {
                    key: "store.cache_capacity_mb".into(),
                    reason: format!("must be between 1 and 65536 (MiB), got {n}"),
                });
                64 * 1024 * 1024
            }
        };
        for (key, value) in [
            ("store.path", &self.store.path),
            ("detect.wordlists_dir", &self.detect.wordlists_dir),
            ("detect.rules_file", &self.detect.rules_file),
        ] {
            if value.trim().is_empty() {
                problems.push(ConfigProblem {
                    key: key.into(),
                    reason: "must not be empty".into(),
                });
            }
        }
        let threshold = self.detect.review_threshold;
        if !(0.0..=1.0).contains(&threshold) {
            problems.push(ConfigProblem {
                key: "detect.review_threshold".into(),
                reason: format!("must be between 0.0 and 1.0, got {threshold}"),
            });
        }
        fn base_url(problems: &mut Vec<ConfigProblem>, key: &str, value: &str) -> String {
            let trimmed = value.trim().trim_end_matches('/').to_string();
            if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
                problems.push(ConfigProblem {
                    key: key.into(),
                    reason: format!("'{value}' must start with http:// or https://"),
                });
            }
            trimmed
        }
        let x_base_url = base_url(
            &mut problems,
            "sources.x.base_url",
            &self.sources.x.base_url,
        );
        let bluesky_appview_url = base_url(
            &mut problems,
            "sources.bluesky.appview_url",
            &self.sources.bluesky.appview_url,
        );
        let bluesky_plc_directory_url = base_url(
            &mut problems,
            "sources.bluesky.plc_directory_url",
            &self.sources.bluesky.plc_directory_url,
        );
        let mut mastodon_instances = BTreeMap::new();
        for (index, instance) in self.sources.mastodon.instances.iter().enumerate() {
            let key = format!("sources.mastodon.instances[{index}]");
            let url = base_url(
                &mut problems,
                &format!("{key}.base_url"),
                &instance.base_url,
            );
            let domain = instance.domain.trim().to_lowercase();
            if domain.is_empty() || domain.contains('/') || domain.contains('@') {
                problems.push(ConfigProblem {
                    key: format!("{key}.domain"),
                    reason: format!(
                        "'{}' is not a domain name such as mastodon.social",
                        instance.domain
                    ),
                });
            } else if mastodon_instances.insert(domain.clone(), url).is_some() {
                problems.push(ConfigProblem {
                    key: format!("{key}.domain"),
                    reason: format!("'{domain}' is listed twice"),
                });
            }
        }
        let http = &self.sources.http;
        let connect_timeout = match http.connect_timeout_secs {
            n @ 1..=120 => Duration::from_secs(n as u64),
            n => {
                problems.push(ConfigProblem {
                    key: "sources.http.connect_timeout_secs".into(),
                    reason: format!("must be between 1 and 120 seconds, got {n}"),
                });
                Duration::from_secs(5)
            }
        };
        let max_body_bytes = match http.max_body_kib {
            n @ 1..=1_048_576 => n as usize * 1024,
            n => {
                problems.push(ConfigProblem {
                    key: "sources.http.max_body_kib".into(),
                    reason: format!("must be between 1 and 1048576 (KiB), got {n}"),
                });
                4096 * 1024
            }
        };
        if http.user_agent.trim().is_empty() {
            problems.push(ConfigProblem {
                key: "sources.http.user_agent".into(),
                reason: "must not be empty".into(),
            });
        }
        let x_bearer_token = match &self.sources.x.bearer_token {
            Some(token) if token.trim().is_empty() => {
                problems.push(ConfigProblem {
                    key: "sources.x.bearer_token".into(),
                    reason: "is set but empty; remove it to disable X".into(),
                });
                None
            }
            Some(token) => Some(Secret::new(token.clone())),
            None => None,
        };

        let alerts = self.alerts.validate(&mut problems);

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Config {
            store: StoreConfig {
                path: PathBuf::from(&self.store.path),
                cache_capacity_bytes,
            },
            http: http_config,
            scan,
            detect: DetectConfig {
                wordlists_dir: PathBuf::from(&self.detect.wordlists_dir),
                rules_file: PathBuf::from(&self.detect.rules_file),
                review_threshold: threshold as f32,
            },
            review,
            retention,
            backup,
            sources: SourcesConfig {
                user_agent: http.user_agent.trim().to_string(),
                connect_timeout,
                max_body_bytes,
                mastodon_instances,
                bluesky_appview_url,
                bluesky_plc_directory_url,
                x_base_url,
                x_bearer_token,
            },
            alerts,
        })
    }

    /// The effective configuration as TOML, with every secret replaced by `<redacted>`.
    pub fn to_redacted_toml(&self) -> String {
        let mut value = toml::Value::try_from(self).expect("the configuration serialises to TOML");
        if let toml::Value::Table(table) = &mut value {
            for secret in SECRET_KEYS {
                if get_path(table, secret).is_some() {
                    set_path(table, secret, toml::Value::String("<redacted>".into()));
                }
            }
            alerts::redact(table);
        }
        toml::to_string_pretty(&value).expect("a TOML table prints")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str, env: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
        load_str(
            text,
            "test.toml",
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn shipped_default_is_valid_and_equals_the_code_defaults() {
        let loaded = load_text(DEFAULT_CONFIG_TOML, &[]).unwrap();
        assert_eq!(loaded.effective, RawConfig::default());
        assert_eq!(loaded.config.http.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn environment_overrides_keys_by_path_with_their_type() {
        let loaded = load_text(
            "",
            &[
                ("NETRA_HTTP_LISTEN", "127.0.0.1:9999"),
                ("NETRA_SCAN_MIN_POLL_INTERVAL_SECS", "60"),
                ("NETRA_DETECT_REVIEW_THRESHOLD", "0.7"),
                ("NETRA_CONFIG", "ignored.toml"),
                ("HOME", "/root"),
            ],
        )
        .unwrap();
        assert_eq!(loaded.config.http.listen.port(), 9999);
        assert_eq!(
            loaded.config.scan.min_poll_interval,
            Duration::from_secs(60)
        );
        assert!((loaded.config.detect.review_threshold - 0.7).abs() < 1e-6);
    }

    #[test]
    fn bad_environment_values_and_unknown_variables_are_reported() {
        let error = load_text(
            "",
            &[
                ("NETRA_SCAN_MAX_POLL_INTERVAL_SECS", "soon"),
                ("NETRA_HTTP_PORT", "80"),
            ],
        )
        .unwrap_err();
        let keys: Vec<&str> = error.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["NETRA_HTTP_PORT", "NETRA_SCAN_MAX_POLL_INTERVAL_SECS"]
        );
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let error = load_text(
            "[http]\nlisten = 8080\nlisen = \"x\"\n[scan]\nmin_poll_interval_secs = -5\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(error.problems.len(), 3, "{error}");
        let text = error.to_string();
        assert!(text.contains("http.lisen: unknown key"), "{text}");
        assert!(
            text.contains("http.listen: expects a string, found an integer"),
            "{text}"
        );
        assert!(
            text.contains("scan.min_poll_interval_secs: must not be negative"),
            "{text}"
        );
    }

    #[test]
    fn secrets_come_from_files_and_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let token_path = dir.path().join("x-token");
        std::fs::write(&token_path, "s3cr3t-token\n").unwrap();
        let text = format!(
            "[sources.x]\nbearer_token_file = {:?}\n",
            token_path.display().to_string()
        );
        let loaded = load_text(&text, &[]).unwrap();
        let token = loaded.config.sources.x_bearer_token.clone().unwrap();
        assert_eq!(token.expose(), "s3cr3t-token");
        assert!(!format!("{:?}", loaded.config).contains("s3cr3t"));
        let printed = loaded.effective.to_redacted_toml();
        assert!(
            printed.contains("<redacted>") && !printed.contains("s3cr3t"),
            "{printed}"
        );

        let both = format!("{text}bearer_token = \"inline\"\n");
        let error = load_text(&both, &[]).unwrap_err();
        assert!(error.to_string().contains("keep one"), "{error}");
    }

    #[test]
    fn mastodon_instance_overrides_are_checked() {
        let text = "[[sources.mastodon.instances]]\ndomain = \"Mastodon.Example\"\nbase_url = \"http://127.0.0.1:7070/mastodon/\"\n";
        let loaded = load_text(text, &[]).unwrap();
        assert_eq!(
            loaded
                .config
                .sources
                .mastodon_instances
                .get("mastodon.example")
                .map(String::as_str),
            Some("http://127.0.0.1:7070/mastodon")
        );
        let bad = format!("{text}[[sources.mastodon.instances]]\ndomain = \"mastodon.example\"\nbase_url = \"ftp://x\"\n");
        let error = load_text(&bad, &[]).unwrap_err();
        let keys: Vec<&str> = error.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sources.mastodon.instances[1].base_url",
                "sources.mastodon.instances[1].domain"
            ]
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let error = load_text("[http]\nlisten = \n", &[]).unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
    }
}
