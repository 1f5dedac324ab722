//! Logging: a tracing subscriber writing human-readable or JSON lines to stderr.
//!
//! Stdout is left to commands (`config check`, `export -`, `check --json`), so their output can
//! be piped while logs still show.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid log level '{given}': {reason} (try 'info', 'debug' or 'netra=debug,warn')")]
    BadLevel { given: String, reason: String },
    #[error("could not install the log subscriber: {0}")]
    Install(String),
}

/// Installs the global subscriber. `level` is an `EnvFilter` directive; without it `RUST_LOG`
/// is used, and without that `info` for Netra and `warn` for dependencies.
pub fn init(format: LogFormat, level: Option<&str>) -> Result<(), TelemetryError> {
    let filter = match level {
        Some(directive) => {
            EnvFilter::try_new(directive).map_err(|error| TelemetryError::BadLevel {
                given: directive.to_string(),
                reason: error.to_string(),
            })?
        }
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,netra=info")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|error| TelemetryError::Install(error.to_string()))
}
