//! The alert outbox (issue #8): messages waiting for their webhook, endpoint state, dead
//! letters and delivery leases.
//!
//! Rows are written by [`Store::ingest`] in the finding's own transaction (the transactional
//! outbox: a message exists if and only if its finding committed), routed by the
//! [`AlertRoute`]s set at open. The delivery worker (`crate::alerts`) then walks each endpoint's
//! rows in key order, which is message-number order, so delivery is in order per endpoint:
//!
//! 1. [`Store::claim_alert`] leases the oldest row (sealing a digest first when the endpoint
//!    groups findings) and flushes, so nothing is sent that a crash could forget;
//! 2. the worker sends it;
//! 3. [`Store::finish_alert`] removes it (delivered), reschedules it (retry), or moves it to
//!    `alert_dead` (dead), in one transaction with the lease and the endpoint's state.
//!
//! A lease carries its expiry, and all leases are dropped when the store opens: a process that
//! died mid-delivery holds none, so the message is sent again (at least once; the stable
//! message number becomes the `webhook-id` receivers deduplicate on).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::kv::Transactional;
use super::kv::{ConflictableTransactionError, TransactionalTree};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::records::ActivityRecord;
use super::{codec, keys, next_id, tx_error, Store, StoreError, TxResult};
use crate::model::{FindingId, RuleStatus, Severity, UnitPath};

/// Which findings one endpoint wants; set from the configuration with
/// [`Store::set_alert_routes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRoute {
    pub endpoint: String,
    pub min_severity: Severity,
    /// Only findings of employees in this unit or below it; `None` for all units.
    pub unit: Option<UnitPath>,
}

impl AlertRoute {
    fn wants(&self, severity: Severity, unit: Option<&UnitPath>) -> bool {
        severity >= self.min_severity
            && match &self.unit {
                None => true,
                Some(scope) => unit.is_some_and(|u| u.is_within(scope)),
            }
    }
}

/// One message waiting in `outbox`: one finding, or after digest sealing several findings of
/// one unit. The message number is the stable `webhook-id`; retries re-sign but never renumber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: u64,
    pub endpoint: String,
    /// The employee's unit when the finding was stored (`None`: the employee was unknown).
    pub unit: Option<UnitPath>,
    pub findings: Vec<FindingId>,
    pub created_at: Timestamp,
    /// Attempts made so far.
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    #[serde(default)]
    pub last_error: Option<String>,
    /// Whether the digest is closed: no further findings join this message.
    #[serde(default)]
    pub sealed: bool,
}

/// A message that will not be retried any more; `netra alerts replay ID` sends it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub message: OutboxMessage,
    pub died_at: Timestamp,
    pub reason: String,
}

/// Delivery state of one endpoint, kept in `alert_endpoints`. An endpoint without a row is
/// enabled and has delivered nothing yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointState {
    pub enabled: bool,
    #[serde(default)]
    pub disabled_reason: Option<String>,
    #[serde(default)]
    pub changed_at: Option<Timestamp>,
    /// What the configuration said when `serve` last started (format, host, filters); never a
    /// secret or a URL path (Slack and Telegram URLs carry tokens).
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub delivered_total: u64,
    #[serde(default)]
    pub last_delivered_at: Option<Timestamp>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// When the oldest waiting message is next tried, after a failure.
    #[serde(default)]
    pub next_attempt_at: Option<Timestamp>,
}

impl Default for EndpointState {
    fn default() -> Self {
        EndpointState {
            enabled: true,
            disabled_reason: None,
            changed_at: None,
            summary: None,
            delivered_total: 0,
            last_delivered_at: None,
            last_error: None,
            next_attempt_at: None,
        }
    }
}

/// What [`Store::claim_alert`] found at the head of an endpoint's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nothing waits.
    Idle,
    /// The oldest message is being delivered (leased) until then.
    Busy { until: Timestamp },
    /// The oldest message waits for a retry, or for its digest window to close.
    NotDue { at: Timestamp },
    /// Leased to the caller, durable: send it, then call [`Store::finish_alert`].
    Ready(OutboxMessage),
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Delivered,
    Retry {
        at: Timestamp,
        error: String,
    },
    Dead {
        reason: String,
    },
    /// Dead, and the endpoint is disabled (HTTP 410 Gone).
    DeadAndDisable {
        reason: String,
    },
}

/// The largest number of messages merged into one digest; the rest form the next one.
const MAX_DIGEST_MESSAGES: usize = 100;

/// Routing and wake-up shared by every clone of the store.
pub(super) struct AlertsShared {
    routes: RwLock<Arc<Vec<AlertRoute>>>,
    /// Bumped after every commit that adds or re-queues messages; the worker waits on it.
    changes: tokio::sync::watch::Sender<u64>,
}

impl Default for AlertsShared {
    fn default() -> Self {
        AlertsShared {
            routes: RwLock::new(Arc::new(Vec::new())),
            changes: tokio::sync::watch::Sender::new(0),
        }
    }
}

/// For each detection of one record, the endpoints its finding is sent to (decided before the
/// transaction, which stays pure).
#[derive(Debug, Default)]
pub(super) struct RecordAlerts {
    unit: Option<UnitPath>,
    per_detection: Vec<Vec<String>>,
}

impl RecordAlerts {
    /// Writes one outbox row per routed endpoint for a new finding; returns how many.
    pub(super) fn enqueue(
        &self,
        detection: usize,
        meta: &TransactionalTree,
        outbox: &TransactionalTree,
        finding: FindingId,
        now: Timestamp,
    ) -> TxResult<usize> {
        let Some(endpoints) = self.per_detection.get(detection) else {
            return Ok(0);
        };
        for endpoint in endpoints {
            let id = next_id(meta, keys::META_NEXT_ALERT_ID)?;
            let key = keys::outbox(endpoint, id)
                .map_err(|e| ConflictableTransactionError::Abort(StoreError::Key(e)))?;
            let message = OutboxMessage {
                id,
                endpoint: endpoint.clone(),
                unit: self.unit.clone(),
                findings: vec![finding],
                created_at: now,
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                sealed: false,
            };
            outbox.insert(key, codec::encode(&message))?;
        }
        Ok(endpoints.len())
    }
}

fn plus(time: Timestamp, duration: Duration) -> Timestamp {
    time.checked_add(duration).unwrap_or(Timestamp::MAX)
}

impl Store {
    /// Sets which endpoints new findings are routed to (from `[alerts]`); an empty list (the
    /// default) writes no outbox rows.
    pub fn set_alert_routes(&self, routes: Vec<AlertRoute>) {
        let mut current = self
            .alerts
            .routes
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *current = Arc::new(routes);
    }

    /// Changes whenever messages are added or re-queued; the delivery worker waits on it.
    pub fn outbox_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.alerts.changes.subscribe()
    }

    pub(super) fn outbox_changed(&self) {
        self.alerts.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Routes every active detection of `record` (its employee's unit read now, outside the
    /// transaction). Shadow findings never alert: they do not reach reviewers either.
    pub(super) fn plan_alerts(
        &self,
        record: &ActivityRecord,
        unit: Option<UnitPath>,
    ) -> RecordAlerts {
        if record.detections.is_empty() {
            return RecordAlerts::default();
        }
        let routes = Arc::clone(&self.alerts.routes.read().unwrap_or_else(|p| p.into_inner()));
        if routes.is_empty() {
            return RecordAlerts::default();
        }
        let per_detection = record
            .detections
            .iter()
            .map(|detection| {
                if detection.status != RuleStatus::Active {
                    return Vec::new();
                }
                routes
                    .iter()
                    .filter(|route| route.wants(detection.severity, unit.as_ref()))
                    .map(|route| route.endpoint.clone())
                    .collect()
            })
            .collect();
        RecordAlerts {
            unit,
            per_detection,
        }
    }

    /// Drops every delivery lease: called at open, when no delivery can be in flight, and by
    /// the worker when it stops. On PostgreSQL other replicas may be delivering, so leases are
    /// left to expire instead.
    pub fn release_alert_leases(&self) -> Result<(), StoreError> {
        if self.is_shared() {
            return Ok(());
        }
        if self
            .trees
            .outbox_leases
            .is_empty()
            .map_err(StoreError::backend("reading outbox_leases"))?
        {
            return Ok(());
        }
        self.trees
            .outbox_leases
            .clear()
            .map_err(StoreError::backend("releasing delivery leases"))?;
        self.flush()
    }

    /// Leases the oldest message of `endpoint` if it is due. With a digest window, the oldest
    /// message waits until `created_at + window`, then absorbs every later message of the
    /// same unit created within the window, once (sealed), so retries resend the same digest.
    pub fn claim_alert(
        &self,
        endpoint: &str,
        digest_window: Duration,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        let prefix = keys::outbox_prefix(endpoint)?;
        let mut rows = self.trees.outbox.scan_prefix(&prefix);
        let Some(first) = rows.next() else {
            return Ok(Claim::Idle);
        };
        let (head_key, head_bytes) = first.map_err(StoreError::backend("reading the outbox"))?;
        if let Some(until) = self.lease_of(&head_key)? {
            if until > now {
                return Ok(Claim::Busy { until });
            }
        }
        let mut head: OutboxMessage = codec::decode("outbox", &head_key, &head_bytes)?;
        if head.next_attempt_at > now {
            return Ok(Claim::NotDue {
                at: head.next_attempt_at,
            });
        }
        let mut members = Vec::new();
        if !digest_window.is_zero() && !head.sealed {
            let window_end = plus(head.created_at, digest_window);
            if now < window_end {
                return Ok(Claim::NotDue { at: window_end });
            }
            for row in rows {
                if members.len() + 1 >= MAX_DIGEST_MESSAGES {
                    break;
                }
                let (key, bytes) = row.map_err(StoreError::backend("reading the outbox"))?;
                let message: OutboxMessage = codec::decode("outbox", &key, &bytes)?;
                let leased = self.lease_of(&key)?.is_some_and(|until| until > now);
                if !message.sealed
                    && !leased
                    && message.unit == head.unit
                    && message.created_at <= window_end
                {
                    members.push((key, bytes, message));
                }
            }
            for (_, _, member) in &members {
                head.findings.extend_from_slice(&member.findings);
            }
            head.sealed = true;
        }
        let lease = keys::time_bytes(lease_until);
        let _gate = self.read_gate();
        let claimed = (&self.trees.outbox, &self.trees.outbox_leases)
            .transaction(|(outbox, leases)| {
                // Compare-and-set: every row must still be as read, and the head not leased by
                // another worker (another replica, on PostgreSQL), or nothing is written.
                if outbox.get(&head_key)?.as_deref() != Some(&head_bytes[..]) {
                    return Ok(false);
                }
                let leased = leases
                    .get(&head_key)?
                    .and_then(|bytes| lease_expiry(&bytes))
                    .is_some_and(|until| until > now);
                if leased {
                    return Ok(false);
                }
                for (key, bytes, _) in &members {
                    if outbox.get(key)?.as_deref() != Some(&bytes[..]) {
                        return Ok(false);
                    }
                }
                for (key, _, _) in &members {
                    outbox.remove(key)?;
                    leases.remove(key)?;
                }
                outbox.insert(&head_key, codec::encode(&head))?;
                leases.insert(&head_key, &lease)?;
                Ok(true)
            })
            .map_err(tx_error("leasing an alert"))?;
        if !claimed {
            // Changed under us (a concurrent claim or replay): look again next round.
            return Ok(Claim::NotDue { at: now });
        }
        // Durable before anything is sent: a crash after the send must still find the row.
        self.flush()?;
        Ok(Claim::Ready(head))
    }

    fn lease_of(&self, key: &[u8]) -> Result<Option<Timestamp>, StoreError> {
        let lease = self
            .trees
            .outbox_leases
            .get(key)
            .map_err(StoreError::backend("reading outbox_leases"))?;
        Ok(lease.and_then(|bytes| lease_expiry(&bytes)))
    }

    /// Records how a delivery of a claimed message ended, with the endpoint's state, in one
    /// transaction, then flushes.
    pub fn finish_alert(
        &self,
        message: &OutboxMessage,
        finish: Finish,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let key = keys::outbox(&message.endpoint, message.id)?;
        let endpoint_key = keys::alert_endpoint(&message.endpoint)?;
        let attempted = OutboxMessage {
            attempts: message.attempts.saturating_add(1),
            ..message.clone()
        };
        let trees = &self.trees;
        let _gate = self.read_gate();
        (
            &trees.outbox,
            &trees.outbox_leases,
            &trees.alert_dead,
            &trees.alert_endpoints,
        )
            .transaction(|(outbox, leases, dead, endpoints)| {
                let mut state: EndpointState = match endpoints.get(&endpoint_key)? {
                    Some(bytes) => codec::decode("alert_endpoints", &endpoint_key, &bytes)
                        .map_err(ConflictableTransactionError::Abort)?,
                    None => EndpointState::default(),
                };
                leases.remove(key.as_slice())?;
                match &finish {
                    Finish::Delivered => {
                        outbox.remove(key.as_slice())?;
                        state.delivered_total += 1;
                        state.last_delivered_at = Some(now);
                        state.last_error = None;
                        state.next_attempt_at = None;
                    }
                    Finish::Retry { at, error } => {
                        let retry = OutboxMessage {
                            next_attempt_at: *at,
                            last_error: Some(error.clone()),
                            ..attempted.clone()
                        };
                        outbox.insert(key.as_slice(), codec::encode(&retry))?;
                        state.last_error = Some(error.clone());
                        state.next_attempt_at = Some(*at);
                    }
                    Finish::Dead { reason } | Finish::DeadAndDisable { reason } => {
                        outbox.remove(key.as_slice())?;
                        let letter = DeadLetter {
                            message: OutboxMessage {
                                last_error: Some(reason.clone()),
                                ..attempted.clone()
                            },
                            died_at: now,
                            reason: reason.clone(),
                        };
                        dead.insert(key.as_slice(), codec::encode(&letter))?;
                        state.last_error = Some(reason.clone());
                        state.next_attempt_at = None;
                        if matches!(finish, Finish::DeadAndDisable { .. }) {
                            state.enabled = false;
                            state.disabled_reason = Some(reason.clone());
                            state.changed_at = Some(now);
                        }
                    }
                }
                endpoints.insert(endpoint_key.as_slice(), codec::encode(&state))?;
                Ok(())
            })
            .map_err(tx_error("recording an alert delivery"))?;
        self.flush()
    }

    /// Puts a dead message back in its endpoint's queue, same number (so the same
    /// `webhook-id`) and same content, due now with a fresh retry schedule.
    pub fn replay_alert(&self, id: u64, now: Timestamp) -> Result<OutboxMessage, StoreError> {
        let not_found = || StoreError::NotFound {
            what: "dead alert",
            id: id.to_string(),
        };
        let mut found = None;
        for entry in self.trees.alert_dead.iter() {
            let (key, bytes) = entry.map_err(StoreError::backend("reading alert_dead"))?;
            if keys::outbox_parts(&key)?.1 == id {
                found = Some((key, bytes));
                break;
            }
        }
        let (key, bytes) = found.ok_or_else(not_found)?;
        let letter: DeadLetter = codec::decode("alert_dead", &key, &bytes)?;
        let message = OutboxMessage {
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            ..letter.message
        };
        let _gate = self.read_gate();
        (&self.trees.alert_dead, &self.trees.outbox)
            .transaction(|(dead, outbox)| {
                if dead.remove(&key)?.is_none() {
                    return Err(ConflictableTransactionError::Abort(not_found()));
                }
                outbox.insert(&key, codec::encode(&message))?;
                Ok(())
            })
            .map_err(tx_error("replaying an alert"))?;
        self.flush()?;
        self.outbox_changed();
        Ok(message)
    }

    /// Enables or disables an endpoint (admin API, CLI). Disabled endpoints' messages go to
    /// the dead letters, from where they can be replayed once it is enabled again.
    pub fn set_endpoint_enabled(
        &self,
        name: &str,
        enabled: bool,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Result<EndpointState, StoreError> {
        let key = keys::alert_endpoint(name)?;
        let _gate = self.read_gate();
        let state = self
            .trees
            .alert_endpoints
            .transaction(|endpoints| {
                let mut state: EndpointState = match endpoints.get(&key)? {
                    Some(bytes) => codec::decode("alert_endpoints", &key, &bytes)
                        .map_err(ConflictableTransactionError::Abort)?,
                    None => EndpointState::default(),
                };
                state.enabled = enabled;
                state.disabled_reason = if enabled {
                    None
                } else {
                    Some(reason.unwrap_or("disabled by an administrator").to_string())
                };
                state.changed_at = Some(now);
                endpoints.insert(key.as_slice(), codec::encode(&state))?;
                Ok(state)
            })
            .map_err(tx_error("saving an endpoint's state"))?;
        self.flush()?;
        self.outbox_changed();
        Ok(state)
    }

    /// Records what the configuration says about an endpoint (shown by the API), keeping its
    /// delivery state.
    pub fn describe_endpoint(&self, name: &str, summary: &str) -> Result<(), StoreError> {
        let key = keys::alert_endpoint(name)?;
        let _gate = self.read_gate();
        let changed = self
            .trees
            .alert_endpoints
            .transaction(|endpoints| {
                let mut state: EndpointState = match endpoints.get(&key)? {
                    Some(bytes) => codec::decode("alert_endpoints", &key, &bytes)
                        .map_err(ConflictableTransactionError::Abort)?,
                    None => EndpointState::default(),
                };
                if state.summary.as_deref() == Some(summary) {
                    return Ok(false);
                }
                state.summary = Some(summary.to_string());
                endpoints.insert(key.as_slice(), codec::encode(&state))?;
                Ok(true)
            })
            .map_err(tx_error("describing an endpoint"))?;
        if changed {
            self.flush()?;
        }
        Ok(())
    }

    /// An endpoint's state; the default (enabled, nothing delivered) when it has none yet.
    pub fn endpoint_state(&self, name: &str) -> Result<EndpointState, StoreError> {
        let key = keys::alert_endpoint(name)?;
        Ok(self
            .get_record("alert_endpoints", &self.trees.alert_endpoints, &key)?
            .unwrap_or_default())
    }

    /// Every endpoint with a stored state, by name.
    pub fn endpoint_states(&self) -> Result<Vec<(String, EndpointState)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.trees.alert_endpoints.iter() {
            let (key, bytes) = entry.map_err(StoreError::backend("reading alert_endpoints"))?;
            let name = String::from_utf8_lossy(&key).into_owned();
            out.push((name, codec::decode("alert_endpoints", &key, &bytes)?));
        }
        Ok(out)
    }

    /// Waiting messages, oldest first per endpoint; of one endpoint, or all.
    pub fn pending_alerts(&self, endpoint: Option<&str>) -> Result<Vec<OutboxMessage>, StoreError> {
        self.scan_alerts("outbox", &self.trees.outbox, endpoint)
    }

    /// Dead messages, oldest first per endpoint; of one endpoint, or all.
    pub fn dead_alerts(&self, endpoint: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        self.scan_alerts("alert_dead", &self.trees.alert_dead, endpoint)
    }

    /// Messages waiting for delivery, all endpoints (the backlog gauge).
    pub fn outbox_len(&self) -> Result<usize, StoreError> {
        self.trees
            .outbox
            .len()
            .map_err(StoreError::backend("counting the outbox"))
    }

    fn scan_alerts<T: serde::de::DeserializeOwned>(
        &self,
        name: &'static str,
        tree: &super::kv::Tree,
        endpoint: Option<&str>,
    ) -> Result<Vec<T>, StoreError> {
        let prefix = match endpoint {
            Some(endpoint) => keys::outbox_prefix(endpoint)?,
            None => Vec::new(),
        };
        tree.scan_prefix(prefix)
            .map(|entry| {
                let (key, bytes) = entry.map_err(StoreError::backend(format!("reading {name}")))?;
                codec::decode(name, &key, &bytes)
            })
            .collect()
    }

    /// Outbox rows whose findings are missing (for [`Store::verify_integrity`]).
    pub(super) fn outbox_problems(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut problems = Vec::new();
        for entry in self.trees.outbox.iter() {
            let (key, bytes) = entry.map_err(StoreError::backend("reading the outbox"))?;
            let message: OutboxMessage = codec::decode("outbox", &key, &bytes)?;
            for id in &message.findings {
                if self.finding(*id)?.is_none() {
                    problems.push((format!("finding {id} is missing"), key.to_vec()));
                }
            }
        }
        Ok(problems)
    }
}

/// The expiry time stored as a delivery lease.
fn lease_expiry(bytes: &[u8]) -> Option<Timestamp> {
    <[u8; 8]>::try_from(bytes)
        .ok()
        .and_then(keys::time_from_bytes)
}
