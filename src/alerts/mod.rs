//! Alert webhooks (issue #8): the delivery worker over the store's outbox.
//!
//! ```text
//! ingest ──(same transaction)──▶ outbox ──claim+lease──▶ sign ─▶ POST ─▶ finish
//!                                                          ▲                │
//!                                                          └── retry ◀──────┤ 408/429/5xx/network
//!                                                      dead letters ◀───────┘ other 4xx, 3xx, SSRF,
//!                                                      (replayable)             attempts used up
//! ```
//!
//! One task per endpoint walks that endpoint's messages oldest first and does not move past a
//! message until it is delivered or dead, so delivery is in order per endpoint and a slow
//! receiver holds up only itself. Every time-dependent decision reads the injected [`Clock`],
//! so tests run retries and digest windows without waiting; the worker sleeps at most `tick`
//! between looks at the clock, and wakes early when the outbox changes.
//!
//! | file | job |
//! |---|---|
//! | [`sign`] | Standard Webhooks signatures, `whsec_` keys, rotation |
//! | [`format`] | JSON / Slack / Telegram bodies in Bahasa Indonesia |
//! | [`ssrf`] | which addresses may be called; resolution checks |
//! | [`deliver`] | one attempt: guard, resolve, pin, POST, classify |

pub mod deliver;
pub mod format;
pub mod sign;
pub mod ssrf;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::watch;

use crate::config::{AlertsConfig, EndpointConfig, RetryPolicy};
use crate::metrics::Metrics;
use crate::store::{Claim, Finish, OutboxMessage, Store, StoreError};
use deliver::Outcome;
use format::{AlertItem, PersonalData};

/// Added to the request timeout to make a lease: a lease must outlive the longest attempt
/// (claim, sign, send, record). It is also how long a message waits after its replica died
/// mid-delivery on PostgreSQL, where a restart cannot tell its own old leases from another
/// replica's live ones, so it is kept short. An attempt that overruns it may be sent twice,
/// which receivers absorb by webhook-id.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// The longest `Retry-After` honoured as given; longer ones are cut to this (RFC 9110 allows
/// any delay, and a receiver must not park an endpoint for days by accident).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Where the worker reads the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock(Mutex::new(start))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now = now.checked_add(by).unwrap_or(Timestamp::MAX);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn plus(time: Timestamp, duration: Duration) -> Timestamp {
    time.checked_add(duration).unwrap_or(Timestamp::MAX)
}

/// How long from `now` until `at` (zero when past).
fn until(now: Timestamp, at: Timestamp) -> Duration {
    Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO)
}

/// A uniform random delay in `[0, min(cap, base · 2^attempt)]`: exponential backoff with full
/// jitter, so many endpoints failing together do not retry in lockstep.
pub fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let ceiling = policy
        .backoff_base
        .saturating_mul(1u32 << attempt.min(20))
        .min(policy.backoff_max);
    let nanos = ceiling.as_nanos().min(u64::MAX as u128) as u64;
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(random_u64() % (nanos + 1))
}

/// Per-process random bits from the standard library's hasher keys; jitter needs spread, not
/// secrecy.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x6e65_7472_615f_616c);
    hasher.finish()
}

/// What one [`Worker::step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing waits for this endpoint.
    Idle,
    /// Look again at this time (a retry, a digest window, a lease).
    WaitUntil(Timestamp),
    /// A message was finished (delivered, rescheduled or dead); look again at once.
    Finished { id: u64, finish: Finish },
}

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a store task failed: {0}")]
    Task(String),
    #[error("no endpoint named '{0}' is configured")]
    UnknownEndpoint(String),
}

/// The delivery worker. Cheap to clone; `run` it beside the daemon.
#[derive(Clone)]
pub struct Worker {
    store: Store,
    config: Arc<AlertsConfig>,
    clock: Arc<dyn Clock>,
    resolver: Arc<dyn ssrf::Resolve>,
    metrics: Metrics,
    user_agent: String,
    tick: Duration,
}

impl Worker {
    pub fn new(store: Store, config: AlertsConfig, metrics: Metrics) -> Worker {
        Worker {
            store,
            config: Arc::new(config),
            clock: Arc::new(SystemClock),
            resolver: Arc::new(ssrf::SystemResolver),
            metrics,
            user_agent: concat!("Netra/", env!("CARGO_PKG_VERSION"), " (webhook)").into(),
            tick: Duration::from_secs(1),
        }
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Worker {
        self.clock = clock;
        self
    }

    /// Resolves endpoint hosts at send time (tests pass a fixed table).
    pub fn with_resolver(mut self, resolver: Arc<dyn ssrf::Resolve>) -> Worker {
        self.resolver = resolver;
        self
    }

    /// The longest real sleep between looks at the clock.
    pub fn with_tick(mut self, tick: Duration) -> Worker {
        self.tick = tick;
        self
    }

    fn endpoint(&self, name: &str) -> Result<&EndpointConfig, AlertError> {
        self.config
            .endpoints
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| AlertError::UnknownEndpoint(name.to_string()))
    }

    /// Delivers until `stop` turns true: one task per configured endpoint.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        if self.config.endpoints.is_empty() {
            return;
        }
        for endpoint in &self.config.endpoints {
            let store = self.store.clone();
            let (name, summary) = (endpoint.name.clone(), endpoint.summary());
            let described =
                tokio::task::spawn_blocking(move || store.describe_endpoint(&name, &summary)).await;
            if let Ok(Err(error)) = described {
                tracing::warn!(endpoint = %endpoint.name, error = %error, "Cannot record the endpoint's description.");
            }
        }
        tracing::info!(
            endpoints = self.config.endpoints.len(),
            "Alert delivery started."
        );
        let mut tasks = tokio::task::JoinSet::new();
        for endpoint in &self.config.endpoints {
            let worker = self.clone();
            let name = endpoint.name.clone();
            let stop = stop.clone();
            tasks.spawn(async move { worker.run_endpoint(&name, stop).await });
        }
        while tasks.join_next().await.is_some() {}
        // A send cut short by the stop leaves its lease: hand it back so the message goes
        // first when delivery resumes (a restart would drop it anyway).
        let store = self.store.clone();
        if let Ok(Err(error)) =
            tokio::task::spawn_blocking(move || store.release_alert_leases()).await
        {
            tracing::warn!(error = %error, "Cannot release delivery leases.");
        }
        tracing::info!("Alert delivery stopped.");
    }

    async fn run_endpoint(&self, name: &str, mut stop: watch::Receiver<bool>) {
        let mut changes = self.store.outbox_changes();
        loop {
            if *stop.borrow() {
                return;
            }
            let step = tokio::select! {
                step = self.step(name) => step,
                _ = stop.wait_for(|stopped| *stopped) => return,
            };
            let wait = match step {
                Ok(Step::Finished { .. }) => continue,
                Ok(Step::WaitUntil(at)) => until(self.clock.now(), at).min(self.tick),
                Ok(Step::Idle) => self.tick,
                Err(error) => {
                    tracing::error!(endpoint = %name, error = %error, "Alert delivery step failed.");
                    self.tick
                }
            };
            tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => return,
                _ = changes.changed() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, AlertError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|error| AlertError::Task(error.to_string()))?
            .map_err(AlertError::from)
    }

    /// Claims the endpoint's oldest due message, sends it once, records the outcome.
    pub async fn step(&self, name: &str) -> Result<Step, AlertError> {
        let endpoint = self.endpoint(name)?.clone();
        let now = self.clock.now();
        let lease_until = plus(now, self.config.request_timeout + LEASE_MARGIN);
        let window = endpoint.digest_window;
        let claim_name = endpoint.name.clone();
        let (state, claim) = self
            .blocking(move |store| {
                let state = store.endpoint_state(&claim_name)?;
                let window = if state.enabled {
                    window
                } else {
                    Duration::ZERO
                };
                let claim = store.claim_alert(&claim_name, window, now, lease_until)?;
                Ok((state, claim))
            })
            .await?;
        let message = match claim {
            Claim::Idle => return Ok(Step::Idle),
            Claim::Busy { until } | Claim::NotDue { at: until } => {
                return Ok(Step::WaitUntil(until))
            }
            Claim::Ready(message) => message,
        };
        let finish = if !state.enabled {
            Finish::Dead {
                reason: format!(
                    "endpoint disabled: {}",
                    state
                        .disabled_reason
                        .as_deref()
                        .unwrap_or("no reason given")
                ),
            }
        } else {
            self.attempt(&endpoint, &message).await?
        };
        let outcome = match &finish {
            Finish::Delivered => "delivered",
            Finish::Retry { .. } => "retry",
            Finish::Dead { .. } => "dead",
            Finish::DeadAndDisable { .. } => "gone",
        };
        self.metrics.inc(
            "netra_alert_deliveries_total",
            &[("endpoint", &endpoint.name), ("outcome", outcome)],
        );
        match &finish {
            Finish::Delivered => {
                tracing::info!(endpoint = %endpoint.name, message = message.id, findings = message.findings.len(), "Alert delivered.")
            }
            Finish::Retry { at, error } => {
                tracing::warn!(endpoint = %endpoint.name, message = message.id, attempt = message.attempts + 1, retry_at = %at, error = %error, "Alert delivery failed; will retry.")
            }
            Finish::Dead { reason } => {
                tracing::error!(endpoint = %endpoint.name, message = message.id, reason = %reason, "Alert is dead; replay it with `netra alerts replay`.")
            }
            Finish::DeadAndDisable { reason } => {
                tracing::error!(endpoint = %endpoint.name, message = message.id, reason = %reason, "Receiver answered 410 Gone: endpoint disabled.")
            }
        }
        let recorded = finish.clone();
        let finished_at = self.clock.now();
        let id = message.id;
        let backlog = self
            .blocking(move |store| {
                store.finish_alert(&message, recorded, finished_at)?;
                store.outbox_len() // counting walks the tree: keep it off async threads
            })
            .await?;
        self.metrics
            .set("netra_outbox_backlog", &[], backlog as f64);
        Ok(Step::Finished { id, finish })
    }

    /// One attempt at `message`: render, sign with this attempt's timestamp, send, classify.
    async fn attempt(
        &self,
        endpoint: &EndpointConfig,
        message: &OutboxMessage,
    ) -> Result<Finish, AlertError> {
        let personal = endpoint.include_personal_data;
        let ids = message.findings.clone();
        let items = self
            .blocking(move |store| load_items(store, &ids, personal))
            .await?;
        if items.is_empty() {
            return Ok(Finish::Dead {
                reason: "the findings of this message no longer exist".into(),
            });
        }
        let body = format::body(endpoint, &self.config.public_url, message, &items);
        let id = format::webhook_id(message);
        let now = self.clock.now();
        let headers = sign::headers(&endpoint.keys, &id, now.as_second(), &body);
        let outcome = deliver::send(
            endpoint,
            self.resolver.as_ref(),
            &headers,
            body,
            self.config.request_timeout,
            &self.user_agent,
            now,
        )
        .await;
        let now = self.clock.now();
        Ok(match outcome {
            Outcome::Delivered => Finish::Delivered,
            Outcome::Gone { error } => Finish::DeadAndDisable { reason: error },
            Outcome::Dead { error } => Finish::Dead { reason: error },
            Outcome::Retry { error, retry_after } => {
                let attempts = message.attempts + 1;
                if attempts >= self.config.retry.max_attempts {
                    Finish::Dead {
                        reason: format!("gave up after {attempts} attempts; last: {error}"),
                    }
                } else {
                    let jitter = backoff(&self.config.retry, message.attempts);
                    let wait = retry_after
                        .map(|after| after.min(MAX_RETRY_AFTER).max(jitter))
                        .unwrap_or(jitter);
                    Finish::Retry {
                        at: plus(now, wait),
                        error,
                    }
                }
            }
        })
    }
}

/// The findings of a message with what the endpoint may see; findings gone since are skipped.
fn load_items(
    store: &Store,
    ids: &[crate::model::FindingId],
    personal: bool,
) -> Result<Vec<AlertItem>, StoreError> {
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(finding) = store.finding(*id)? else {
            continue;
        };
        let personal = if personal {
            let employee = store.employee(&finding.employee_id)?;
            let activity = store.activity(finding.platform, &finding.platform_activity_id)?;
            Some(PersonalData {
                employee_id: finding.employee_id.clone(),
                employee_name: employee.map(|e| e.name),
                text: activity.as_ref().map(|a| a.text.clone()),
                activity_url: activity.and_then(|a| a.url),
            })
        } else {
            None
        };
        items.push(AlertItem { finding, personal });
    }
    Ok(items)
}
