//! The scheduler: when to read which account, within each host's request budget.
//!
//! [`policy`] says how often each account should be read. [`Scheduler`] keeps every account's
//! due time in a queue and hands out the next due account whose host still has budget and a
//! free connection. It holds no clock and does no I/O: callers pass `now`, which keeps it
//! testable on a virtual clock and lets `serve` and `scan --once` share it.
//!
//! Host budgets start from a configured default and are then learned from what the host says:
//! a response's rate-limit headers give how many requests remain until when; a 429 blocks the
//! host until its reset. Failures back off per account with full jitter, doubling up to the
//! maximum interval, so one broken account never delays the others.

pub mod policy;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use jiff::Timestamp;

use crate::model::{AccountId, ScanState};
use crate::sources::http::{full_jitter, RateLimit};
use policy::{PolicyConfig, RateEstimate};

/// How often the per-host scale is fitted again to the current estimates.
const REFIT_EVERY: Duration = Duration::from_secs(600);

/// Settings of the runtime scheduler.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SchedulerConfig {
    pub policy: PolicyConfig,
    /// Requests per minute a host is assumed to allow until its headers say otherwise.
    pub default_host_budget_per_min: f64,
    /// Requests in flight to one host at once.
    pub max_in_flight_per_host: usize,
    /// Base of the failure backoff.
    pub failure_backoff: Duration,
}

/// What one scan of an account found, reported back to the scheduler.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScanOutcome {
    /// The scan stored `new_activities` activities.
    Done { new_activities: u32 },
    /// The host said to slow down until `retry_after` from now.
    RateLimited { retry_after: Option<Duration> },
    /// Anything else went wrong.
    Failed,
}

#[derive(Debug, Clone)]
struct Entry {
    host: String,
    estimate: RateEstimate,
    /// Above 1 for accounts whose elections are campaigning: polled as if busier.
    weight: f64,
    due: Timestamp,
    last_scan: Option<Timestamp>,
    failures: u32,
    in_flight: bool,
    /// Bumped on every reschedule; queue items of older generations are stale.
    generation: u64,
}

#[derive(Debug, Clone)]
struct Host {
    budget_per_min: f64,
    /// Token bucket: requests that may be sent now.
    tokens: f64,
    refilled_at: Option<Timestamp>,
    blocked_until: Option<Timestamp>,
    in_flight: usize,
    scale: f64,
}

/// The due queue of every account, registered or watched.
#[derive(Debug)]
pub struct Scheduler {
    config: SchedulerConfig,
    entries: HashMap<AccountId, Entry>,
    queue: BinaryHeap<Reverse<(i64, AccountId, u64)>>,
    hosts: HashMap<String, Host>,
    next_refit: Option<Timestamp>,
}

impl Scheduler {
    pub fn new(config: SchedulerConfig) -> Scheduler {
        Scheduler {
            config,
            entries: HashMap::new(),
            queue: BinaryHeap::new(),
            hosts: HashMap::new(),
            next_refit: None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, id: AccountId) -> bool {
        self.entries.contains_key(&id)
    }

    /// Adds (or re-adds) an account, resuming from its stored state.
    pub fn add(&mut self, id: AccountId, host: &str, state: &ScanState, weight: f64) {
        let estimate = RateEstimate {
            events: state.activity_per_day,
            exposure_secs: if state.activity_per_day > 0.0 {
                86_400.0
            } else {
                0.0
            },
        };
        let entry = Entry {
            host: host.to_string(),
            estimate,
            weight: weight.max(0.01),
            due: state.next_due_at,
            last_scan: state.last_scan_at,
            failures: state.consecutive_failures,
            in_flight: false,
            generation: 0,
        };
        self.host_mut(host);
        self.queue
            .push(Reverse((entry.due.as_millisecond(), id, 0)));
        self.entries.insert(id, entry);
        self.next_refit = None;
    }

    /// Stops scheduling an account (deactivated).
    pub fn remove(&mut self, id: AccountId) {
        self.entries.remove(&id);
    }

    /// Changes how strongly an account is favoured (an election entered its campaign).
    pub fn set_weight(&mut self, id: AccountId, weight: f64) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.weight = weight.max(0.01);
        }
    }

    fn host_mut(&mut self, host: &str) -> &mut Host {
        let budget = self.config.default_host_budget_per_min;
        self.hosts.entry(host.to_string()).or_insert_with(|| Host {
            budget_per_min: budget,
            tokens: budget.min(10.0),
            refilled_at: None,
            blocked_until: None,
            in_flight: 0,
            scale: 0.0,
        })
    }

    /// Fits each host's polling scale to its budget (see [`policy::fit_scale`]).
    fn refit(&mut self) {
        let mut rates: HashMap<&str, Vec<f64>> = HashMap::new();
        for entry in self.entries.values() {
            rates
                .entry(entry.host.as_str())
                .or_default()
                .push(entry.estimate.per_day(&self.config.policy) * entry.weight);
        }
        let mut scales = Vec::new();
        for (host, host_rates) in rates {
            let budget = self
                .hosts
                .get(host)
                .map_or(self.config.default_host_budget_per_min, |h| {
                    h.budget_per_min
                });
            // 90% of the budget: the rest absorbs retries and reverse lookups' extra pages.
            let scale = policy::fit_scale(&host_rates, budget * 0.9 / 60.0, &self.config.policy);
            scales.push((host.to_string(), scale));
        }
        for (host, scale) in scales {
            self.host_mut(&host).scale = scale;
        }
    }

    /// When the earliest account is due (to sleep until then).
    pub fn next_due_at(&mut self) -> Option<Timestamp> {
        self.drop_stale();
        self.queue
            .peek()
            .and_then(|Reverse((millis, _, _))| Timestamp::from_millisecond(*millis).ok())
    }

    fn drop_stale(&mut self) {
        while let Some(Reverse((_, id, generation))) = self.queue.peek() {
            match self.entries.get(id) {
                Some(entry) if entry.generation == *generation && !entry.in_flight => break,
                _ => {
                    self.queue.pop();
                }
            }
        }
    }

    /// The next account to scan now, if one is due and its host allows a request. Accounts of
    /// a host that has no budget left wait; other hosts' accounts go ahead.
    pub fn take_due(&mut self, now: Timestamp) -> Option<AccountId> {
        if self.next_refit.is_none_or(|at| now >= at) {
            self.refit();
            self.next_refit = Some(now + REFIT_EVERY);
        }
        let mut deferred = Vec::new();
        let mut chosen = None;
        while let Some(Reverse((millis, id, generation))) = self.queue.pop() {
            let Some(entry) = self.entries.get(&id) else {
                continue;
            };
            if entry.generation != generation || entry.in_flight {
                continue;
            }
            if millis > now.as_millisecond() {
                deferred.push(Reverse((millis, id, generation)));
                break;
            }
            let host_name = entry.host.clone();
            let max_in_flight = self.config.max_in_flight_per_host;
            let host = self.host_mut(&host_name);
            refill(host, now);
            let blocked = host.blocked_until.is_some_and(|until| now < until);
            if blocked || host.tokens < 1.0 || host.in_flight >= max_in_flight {
                deferred.push(Reverse((millis, id, generation)));
                continue;
            }
            host.tokens -= 1.0;
            host.in_flight += 1;
            if let Some(entry) = self.entries.get_mut(&id) {
                entry.in_flight = true;
            }
            chosen = Some(id);
            break;
        }
        self.queue.extend(deferred);
        chosen
    }

    /// Hands back an account taken with [`Scheduler::take_due`] without scanning it, due again
    /// at `at`: another replica scanned it already, or is scanning it.
    pub fn postpone(&mut self, id: AccountId, at: Timestamp) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let was_in_flight = std::mem::replace(&mut entry.in_flight, false);
        entry.generation += 1;
        entry.due = at;
        let (host, generation) = (entry.host.clone(), entry.generation);
        if was_in_flight {
            let host = self.host_mut(&host);
            host.in_flight = host.in_flight.saturating_sub(1);
        }
        self.queue
            .push(Reverse((at.as_millisecond(), id, generation)));
    }

    /// The host an account's requests go to.
    pub fn host_of(&self, id: AccountId) -> Option<&str> {
        self.entries.get(&id).map(|entry| entry.host.as_str())
    }

    /// Records the end of a scan and schedules the account's next one; returns the state to
    /// store. `rate_limit` is what the host's last response said about its budget.
    pub fn finish(
        &mut self,
        id: AccountId,
        now: Timestamp,
        outcome: ScanOutcome,
        rate_limit: Option<RateLimit>,
        state: &mut ScanState,
    ) {
        let config = self.config;
        let Some(entry) = self.entries.get(&id).cloned() else {
            return;
        };
        let host_scale = {
            let host = self.host_mut(&entry.host);
            host.in_flight = host.in_flight.saturating_sub(1);
            if let Some(limit) = rate_limit {
                learn_budget(host, &limit, now);
            }
            if let ScanOutcome::RateLimited { retry_after } = outcome {
                let wait = retry_after.unwrap_or(Duration::from_secs(60));
                host.blocked_until = Some(now + wait);
            }
            host.scale
        };
        let mut entry = entry;
        entry.in_flight = false;
        entry.generation += 1;
        let elapsed = entry.last_scan.map_or(Duration::ZERO, |last| {
            Duration::from_millis((now.as_millisecond() - last.as_millisecond()).max(0) as u64)
        });
        let wait = match outcome {
            ScanOutcome::Done { new_activities } => {
                entry.failures = 0;
                if entry.last_scan.is_some() {
                    entry
                        .estimate
                        .observe(new_activities, elapsed, &config.policy);
                }
                entry.last_scan = Some(now);
                state.last_success_at = Some(now);
                state.last_error = None;
                policy::interval(
                    entry.estimate.per_day(&config.policy),
                    entry.weight,
                    host_scale,
                    &config.policy,
                )
            }
            ScanOutcome::RateLimited { retry_after } => {
                // Not the account's fault: retry when the host allows, without counting a failure.
                retry_after
                    .unwrap_or(Duration::from_secs(60))
                    .max(config.policy.min_interval)
            }
            ScanOutcome::Failed => {
                entry.failures += 1;
                let backoff = full_jitter(config.failure_backoff, entry.failures.min(16));
                backoff
                    .max(config.failure_backoff)
                    .min(config.policy.max_interval)
            }
        };
        entry.due = now + wait;
        state.next_due_at = entry.due;
        state.last_scan_at = Some(now);
        state.consecutive_failures = entry.failures;
        state.activity_per_day = entry.estimate.per_day(&config.policy);
        self.queue
            .push(Reverse((entry.due.as_millisecond(), id, entry.generation)));
        self.entries.insert(id, entry);
    }

    /// What the scheduler believes about a host's budget (for metrics and tests).
    pub fn host_budget_per_min(&self, host: &str) -> Option<f64> {
        self.hosts.get(host).map(|h| h.budget_per_min)
    }
}

/// Adds the tokens earned since the last refill, up to one minute's worth.
fn refill(host: &mut Host, now: Timestamp) {
    let capacity = host.budget_per_min.max(1.0);
    if let Some(last) = host.refilled_at {
        let minutes = (now.as_millisecond() - last.as_millisecond()).max(0) as f64 / 60_000.0;
        host.tokens = (host.tokens + minutes * host.budget_per_min).min(capacity);
    }
    host.refilled_at = Some(now);
}

/// Adopts the host's own word: with `remaining` requests until `reset_at`, spending them
/// evenly is the budget; with none left, the host is blocked until the reset.
fn learn_budget(host: &mut Host, limit: &RateLimit, now: Timestamp) {
    let (Some(remaining), Some(reset_at)) = (limit.remaining, limit.reset_at) else {
        return;
    };
    let minutes = (reset_at.as_millisecond() - now.as_millisecond()) as f64 / 60_000.0;
    if remaining == 0 && minutes > 0.0 {
        host.blocked_until = Some(reset_at);
        host.tokens = 0.0;
    } else if minutes > 0.0 {
        // Never more than the host's stated limit per minute, and never nothing.
        host.budget_per_min = (remaining as f64 / minutes).max(0.1);
        host.tokens = host.tokens.min(remaining as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SchedulerConfig {
        SchedulerConfig {
            policy: PolicyConfig::new(Duration::from_secs(60), Duration::from_secs(3600)),
            default_host_budget_per_min: 60.0,
            max_in_flight_per_host: 2,
            failure_backoff: Duration::from_secs(30),
        }
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    #[test]
    fn due_accounts_come_out_in_order_and_in_flight_ones_are_not_handed_out_twice() {
        let mut scheduler = Scheduler::new(config());
        for (id, due) in [(1, 5), (2, 1), (3, 100)] {
            scheduler.add(AccountId(id), "m.example", &ScanState::new(at(due)), 1.0);
        }
        assert_eq!(scheduler.take_due(at(0)), None, "nothing due yet");
        assert_eq!(scheduler.take_due(at(10)), Some(AccountId(2)));
        assert_eq!(scheduler.take_due(at(10)), Some(AccountId(1)));
        assert_eq!(scheduler.take_due(at(10)), None, "3 is not due");
        let mut state = ScanState::new(at(0));
        scheduler.finish(
            AccountId(2),
            at(11),
            ScanOutcome::Done { new_activities: 3 },
            None,
            &mut state,
        );
        assert!(
            state.next_due_at >= at(11 + 60),
            "at least the minimum interval later"
        );
        assert!(state.next_due_at <= at(11 + 3600), "at most the maximum");
        assert_eq!(
            scheduler.next_due_at(),
            Some(at(100)).min(Some(state.next_due_at))
        );
    }

    #[test]
    fn a_host_with_no_connection_free_holds_its_accounts_but_not_others() {
        let mut scheduler = Scheduler::new(config());
        for id in 1..=3 {
            scheduler.add(AccountId(id), "busy.example", &ScanState::new(at(0)), 1.0);
        }
        scheduler.add(AccountId(9), "other.example", &ScanState::new(at(1)), 1.0);
        assert!(scheduler.take_due(at(2)).is_some());
        assert!(scheduler.take_due(at(2)).is_some());
        assert_eq!(
            scheduler.take_due(at(2)),
            Some(AccountId(9)),
            "two in flight on busy.example"
        );
        assert_eq!(scheduler.take_due(at(2)), None);
    }

    #[test]
    fn rate_limits_block_the_host_until_reset_and_failures_back_off() {
        let mut scheduler = Scheduler::new(config());
        scheduler.add(AccountId(1), "m.example", &ScanState::new(at(0)), 1.0);
        scheduler.add(AccountId(2), "m.example", &ScanState::new(at(0)), 1.0);
        let first = scheduler.take_due(at(1)).unwrap();
        let mut state = ScanState::new(at(0));
        let exhausted = RateLimit {
            limit: Some(300),
            remaining: Some(0),
            reset_at: Some(at(301)),
            retry_after: None,
        };
        scheduler.finish(
            first,
            at(1),
            ScanOutcome::Done { new_activities: 0 },
            Some(exhausted),
            &mut state,
        );
        assert_eq!(
            scheduler.take_due(at(2)),
            None,
            "the host said: none left until the reset"
        );
        assert!(
            scheduler.take_due(at(302)).is_some(),
            "after the reset it goes on"
        );

        let mut scheduler = Scheduler::new(config());
        scheduler.add(AccountId(1), "m.example", &ScanState::new(at(0)), 1.0);
        let mut state = ScanState::new(at(0));
        let mut previous_max = Duration::ZERO;
        for round in 1..=6 {
            let id = scheduler.take_due(at(100_000 * round)).unwrap();
            scheduler.finish(
                id,
                at(100_000 * round),
                ScanOutcome::Failed,
                None,
                &mut state,
            );
            let wait = Duration::from_millis(
                (state.next_due_at.as_millisecond() - at(100_000 * round).as_millisecond()) as u64,
            );
            assert!(
                wait >= Duration::from_secs(30) && wait <= Duration::from_secs(3600),
                "{wait:?}"
            );
            previous_max = previous_max.max(wait);
        }
        assert_eq!(state.consecutive_failures, 6);
        let id = scheduler.take_due(at(1_000_000)).unwrap();
        scheduler.finish(
            id,
            at(1_000_000),
            ScanOutcome::Done { new_activities: 1 },
            None,
            &mut state,
        );
        assert_eq!(
            state.consecutive_failures, 0,
            "a success resets the backoff"
        );
    }

    #[test]
    fn budgets_are_learned_from_headers() {
        let mut scheduler = Scheduler::new(config());
        scheduler.add(AccountId(1), "m.example", &ScanState::new(at(0)), 1.0);
        let id = scheduler.take_due(at(0)).unwrap();
        let headers = RateLimit {
            limit: Some(300),
            remaining: Some(100),
            reset_at: Some(at(600)),
            retry_after: None,
        };
        let mut state = ScanState::new(at(0));
        scheduler.finish(
            id,
            at(0),
            ScanOutcome::Done { new_activities: 0 },
            Some(headers),
            &mut state,
        );
        assert_eq!(scheduler.host_budget_per_min("m.example"), Some(10.0));
    }

    #[test]
    fn busy_and_campaigning_accounts_come_round_sooner() {
        // A budget tight enough that the accounts compete for it: 3 requests an hour.
        let mut scheduler = Scheduler::new(SchedulerConfig {
            policy: PolicyConfig::new(Duration::from_secs(60), Duration::from_secs(12 * 3600)),
            default_host_budget_per_min: 0.05,
            ..config()
        });
        let mut states: HashMap<u64, ScanState> = HashMap::new();
        let mut last_poll: HashMap<u64, i64> = HashMap::new();
        for id in 1..=3u64 {
            scheduler.add(
                AccountId(id),
                "m.example",
                &ScanState::new(at(0)),
                if id == 3 { 8.0 } else { 1.0 },
            );
            states.insert(id, ScanState::new(at(0)));
        }
        // Four days of polls: account 1 posts 48 times a day, 2 and 3 never; 3 is in a region
        // whose election is campaigning.
        let mut now = 0;
        while now < 4 * 86_400 {
            while let Some(id) = scheduler.take_due(at(now)) {
                let since = now - last_poll.insert(id.0, now).unwrap_or(0);
                let found = if id == AccountId(1) {
                    (since * 48 / 86_400) as u32
                } else {
                    0
                };
                let state = states.get_mut(&id.0).unwrap();
                scheduler.finish(
                    id,
                    at(now),
                    ScanOutcome::Done {
                        new_activities: found,
                    },
                    None,
                    state,
                );
            }
            now += 30;
        }
        let gap = |id: u64| {
            let s = &states[&id];
            s.next_due_at.as_second() - s.last_scan_at.unwrap().as_second()
        };
        assert!(gap(1) < gap(3), "busy {} vs campaigning {}", gap(1), gap(3));
        assert!(
            gap(3) < gap(2),
            "campaigning {} vs quiet {}",
            gap(3),
            gap(2)
        );
        assert!(gap(2) <= 12 * 3600);
    }
}
