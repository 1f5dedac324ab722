//! The daemon: keeps the scheduler fed with the registry, runs scans as they fall due with
//! bounded concurrency, and stops cleanly.
//!
//! `netra serve` runs [`Daemon::run`] until a shutdown signal; `netra scan --once` runs
//! [`Daemon::scan_once`]. Both go through the same [`Daemon::scan_one`], so the findings of
//! one pass and of the daemon are the same by construction.
//!
//! Shutdown follows the mini-redis pattern: a `watch` channel tells every loop to stop taking
//! work; scans in flight get the configured grace period to finish (each stores its page and
//! cursor in one transaction, so abandoning one loses nothing: it is read again next time);
//! then the store is flushed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::config::Config;
use crate::model::{
    Account, AccountId, Employee, Finding, Platform, ReviewState, ScanState, WatchedAccount,
};
use crate::pipeline::Pipeline;
use crate::scheduler::policy::PolicyConfig;
use crate::scheduler::{ScanOutcome, Scheduler, SchedulerConfig};
use crate::sources::AccountRef;
use crate::store::{ScanClaim, StoreError};

/// How often the daemon looks whether the registry changed (a cheap counter). Store-derived
/// gauges are not refreshed here: `/metrics` reads them fresh on every scrape.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// How often the registry is read again even when unchanged: election stages (and so the
/// campaign weights) move with the calendar.
const RESYNC_EVERY: Duration = Duration::from_secs(6 * 3600);

/// The same when replicas share the store: the registry-change counter only sees this
/// process's changes, so registrations made through another replica arrive this often.
const SHARED_RESYNC_EVERY: Duration = Duration::from_secs(300);

/// Totals of a pass or a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub accounts_scanned: usize,
    pub activities: usize,
    pub findings: usize,
    pub errors: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "accounts scanned: {}, new activities: {}, new findings: {}, errors: {}",
            self.accounts_scanned, self.activities, self.findings, self.errors
        )
    }
}

impl Summary {
    fn add(&mut self, other: &Summary) {
        self.accounts_scanned += other.accounts_scanned;
        self.activities += other.activities;
        self.findings += other.findings;
        self.errors += other.errors;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("account {0} is neither a registered nor a watched account")]
    UnknownAccount(AccountId),
    #[error("the store task stopped unexpectedly: {0}")]
    Task(String),
}

/// The scheduler's host for an account: requests to one host share its budget.
fn host_of(platform: Platform, handle: &str) -> String {
    match platform {
        Platform::Mastodon => handle
            .trim()
            .trim_start_matches('@')
            .split_once('@')
            .map(|(_, domain)| domain.to_lowercase())
            .unwrap_or_else(|| "mastodon".into()),
        Platform::Bluesky => "bluesky".into(),
        Platform::X => "x".into(),
        Platform::Rss => handle
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("rss")
            .to_lowercase(),
        Platform::Facebook => "facebook".into(),
    }
}

/// Everything the running service shares between its tasks.
#[derive(Clone)]
pub struct Daemon {
    pipeline: Pipeline,
    scheduler: Arc<Mutex<Scheduler>>,
    /// Reverse-scan lookups per platform, with the registry version they were built from.
    reverse_maps: Arc<Mutex<ReverseMapCache>>,
    max_concurrent: usize,
    shutdown_grace: Duration,
    /// Flagged posts due for a deletion re-check.
    rechecks: Arc<Mutex<RecheckPlan>>,
    /// This process's name in scan claims (several replicas on PostgreSQL).
    replica: Arc<str>,
    /// How long a scan claim lasts (`scan.lease_secs`).
    lease: Duration,
}

/// How stale the re-check plan may get before it is rebuilt from the review queue.
const RECHECK_PLAN_MAX_AGE: Duration = Duration::from_secs(600);

/// Flagged posts due for a deletion re-check, by account. Built from the undecided findings
/// (at most every [`RECHECK_PLAN_MAX_AGE`], or the re-check interval when shorter) and taken
/// by each account's scan, so re-checks use the account's turn in the scheduler and its host's
/// budget. Only the plan is in memory: when a post was last seen is stored on the finding, so a
/// restart does not re-check early.
#[derive(Default)]
struct RecheckPlan {
    built_at: Option<Timestamp>,
    due: HashMap<AccountId, Vec<Finding>>,
}

impl Daemon {
    pub fn new(config: &Config, pipeline: Pipeline) -> Daemon {
        let scan = &config.scan;
        let scheduler = Scheduler::new(SchedulerConfig {
            policy: PolicyConfig::new(scan.min_poll_interval, scan.max_poll_interval),
            default_host_budget_per_min: scan.host_budget_per_min,
            max_in_flight_per_host: scan.max_concurrent_per_host,
            failure_backoff: scan.min_poll_interval.min(Duration::from_secs(60)),
        });
        Daemon {
            pipeline,
            scheduler: Arc::new(Mutex::new(scheduler)),
            reverse_maps: Arc::new(Mutex::new(HashMap::new())),
            max_concurrent: scan.max_concurrent_requests,
            shutdown_grace: scan.shutdown_grace,
            rechecks: Arc::new(Mutex::new(RecheckPlan::default())),
            replica: replica_name().into(),
            lease: scan.lease,
        }
    }

    fn scheduler(&self) -> std::sync::MutexGuard<'_, Scheduler> {
        self.scheduler.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Brings the scheduler in line with the registry: active accounts in, inactive out.
    /// Returns how many accounts are scheduled.
    pub fn sync_accounts(&self, now: Timestamp) -> Result<usize, DaemonError> {
        let store = &self.pipeline.store;
        let states: HashMap<AccountId, ScanState> = store.scan_states()?.into_iter().collect();
        let accounts = store.accounts()?;
        let watched = store.watched_accounts()?;
        let employees: HashMap<String, Employee> = store
            .employees()?
            .into_iter()
            .map(|e| (e.employee_id.clone(), e))
            .collect();
        self.pipeline.judge.update_watched(&watched);
        let mut scheduler = self.scheduler();
        let mut wanted = Vec::new();
        for account in &accounts {
            let employee = employees.get(&account.employee_id);
            let active = account.active && employee.is_some_and(|e| e.active);
            if !active {
                scheduler.remove(account.id);
                continue;
            }
            let weight = employee.map_or(1.0, |e| self.pipeline.judge.campaign_weight(e, now));
            wanted.push((
                account.id,
                host_of(account.platform, &account.handle),
                weight,
            ));
        }
        for account in &watched {
            if account.active {
                wanted.push((account.id, host_of(account.platform, &account.handle), 1.0));
            } else {
                scheduler.remove(account.id);
            }
        }
        for (id, host, weight) in &wanted {
            if scheduler.contains(*id) {
                scheduler.set_weight(*id, *weight);
            } else {
                let state = states
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| ScanState::new(now));
                scheduler.add(*id, host, &state, *weight);
            }
        }
        let count = scheduler.len();
        self.pipeline
            .metrics
            .set("netra_accounts_scheduled", &[], count as f64);
        Ok(count)
    }

    /// Scans one account (registered or watched) now, due or not, then schedules its next
    /// scan.
    pub async fn scan_one(&self, id: AccountId) -> Result<Summary, DaemonError> {
        self.scan(id, Turn::Forced).await
    }

    /// Claims the account's scan for this replica (on PostgreSQL, shared with the others), and
    /// for the daemon's own scans takes a request from its host's shared budget. Answers what
    /// the scan starts from (read in the same trip to the blocking pool), or the time to look
    /// again when the scan is not this replica's to do now.
    async fn claim(&self, id: AccountId, turn: Turn) -> Result<Claim, DaemonError> {
        let now = Timestamp::now();
        let (host, budget) = if turn != Turn::Scheduled {
            (None, None)
        } else {
            let scheduler = self.scheduler();
            let host = scheduler.host_of(id).map(str::to_string);
            let budget = host
                .as_deref()
                .and_then(|host| scheduler.host_budget_per_min(host));
            (host, budget)
        };
        let store = self.pipeline.store.clone();
        let (replica, lease) = (self.replica.clone(), self.lease);
        tokio::task::spawn_blocking(move || {
            if let (Some(host), Some(budget)) = (&host, budget) {
                if !store.take_host_token(host, budget, now)? {
                    let wait = Duration::from_secs_f64(60.0 / budget.max(1.0));
                    return Ok(Claim::Later(now + wait));
                }
            }
            match store.claim_scan(id, &replica, now, now, lease, turn == Turn::Forced)? {
                ScanClaim::Claimed => Ok(Claim::Start(Box::new(ScanStart {
                    account: store.account(id)?,
                    watched: store.watched_account(id)?,
                    state: store.scan_state(id)?,
                }))),
                ScanClaim::NotDue { due_at: at } | ScanClaim::Leased { until: at } => {
                    Ok(Claim::Later(at))
                }
            }
        })
        .await
        .map_err(|e| DaemonError::Task(e.to_string()))?
        .map_err(|e: StoreError| DaemonError::from(e))
    }

    async fn scan(&self, id: AccountId, turn: Turn) -> Result<Summary, DaemonError> {
        let ScanStart {
            account,
            watched,
            state: stored_state,
        } = match self.claim(id, turn).await? {
            Claim::Start(start) => *start,
            Claim::Later(again_at) => {
                tracing::debug!(account = %id, %again_at, "Another replica has this scan.");
                self.scheduler().postpone(id, again_at);
                return Ok(Summary::default());
            }
        };
        let now = Timestamp::now();
        let mut state = stored_state.unwrap_or_else(|| ScanState::new(now));
        let registered = account.clone();
        let result = match (account, watched) {
            (Some(account), _) => {
                self.pipeline
                    .scan_registered(&account, &mut state, now)
                    .await
            }
            (None, Some(watched)) => {
                let maps = self.registered_for(watched.platform).await?;
                self.pipeline
                    .scan_watched(&watched, &maps.accounts, &maps.employees, &mut state, now)
                    .await
            }
            (None, None) => return Err(DaemonError::UnknownAccount(id)),
        };
        if let (Some(account), Ok(_)) = (&registered, &result) {
            self.recheck_account(account, now).await?;
        }
        let mut summary = Summary {
            accounts_scanned: 1,
            ..Summary::default()
        };
        let finished = Timestamp::now();
        let (outcome, rate_limit) = match &result {
            Ok(report) => {
                summary.activities = report.new_activities;
                summary.findings = report.new_findings;
                (
                    ScanOutcome::Done {
                        new_activities: report.new_activities as u32,
                    },
                    report.rate_limit,
                )
            }
            Err(error) => {
                summary.errors = 1;
                tracing::warn!(account = %id, error = %error, "Scan failed.");
                let outcome = match error.retry_after() {
                    Some(retry_after) => ScanOutcome::RateLimited { retry_after },
                    None => ScanOutcome::Failed,
                };
                (outcome, None)
            }
        };
        self.scheduler()
            .finish(id, finished, outcome, rate_limit, &mut state);
        let store = self.pipeline.store.clone();
        let replica = self.replica.clone();
        tokio::task::spawn_blocking(move || {
            store.put_scan_state(id, &state)?;
            store.finish_scan_claim(id, &replica, state.next_due_at)
        })
        .await
        .map_err(|e| DaemonError::Task(e.to_string()))??;
        Ok(summary)
    }

    /// Re-checks the account's flagged posts that are due (see [`RecheckPlan`]). A platform
    /// error only postpones them to the next plan; it is logged, not a scan failure.
    async fn recheck_account(&self, account: &Account, now: Timestamp) -> Result<(), DaemonError> {
        let Some(interval) = self.pipeline.recheck_interval else {
            return Ok(());
        };
        let stale = {
            let plan = self.rechecks.lock().unwrap_or_else(|p| p.into_inner());
            plan.built_at
                .is_none_or(|at| at + interval.min(RECHECK_PLAN_MAX_AGE) <= now)
        };
        if stale {
            let store = self.pipeline.store.clone();
            let due =
                tokio::task::spawn_blocking(move || build_recheck_plan(&store, interval, now))
                    .await
                    .map_err(|e| DaemonError::Task(e.to_string()))??;
            let mut plan = self.rechecks.lock().unwrap_or_else(|p| p.into_inner());
            plan.built_at = Some(now);
            plan.due = due;
        }
        let due = self
            .rechecks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .due
            .remove(&account.id)
            .unwrap_or_default();
        if due.is_empty() {
            return Ok(());
        }
        match self.pipeline.recheck(account, due, now).await {
            Ok(gone) if gone > 0 => {
                tracing::info!(account = %account.id, gone, "Flagged posts were deleted.");
            }
            Ok(_) => {}
            Err(crate::pipeline::PipelineError::Store(error)) => return Err(error.into()),
            Err(error) => {
                tracing::warn!(account = %account.id, error = %error, "Re-checking flagged posts failed.");
            }
        }
        Ok(())
    }

    /// Registered accounts of one platform keyed as that platform names actors, with their
    /// employees: what a reverse scan intersects with. Built once per registry version and
    /// platform, not once per watched account.
    async fn registered_for(&self, platform: Platform) -> Result<Arc<ReverseMaps>, DaemonError> {
        let version = self.pipeline.store.registry_version();
        if let Some((cached_version, maps)) = self.reverse_maps().get(&platform) {
            if *cached_version == version {
                return Ok(Arc::clone(maps));
            }
        }
        let store = self.pipeline.store.clone();
        let maps = tokio::task::spawn_blocking(move || build_reverse_maps(&store, platform))
            .await
            .map_err(|e| DaemonError::Task(e.to_string()))??;
        let maps = Arc::new(maps);
        self.reverse_maps()
            .insert(platform, (version, Arc::clone(&maps)));
        Ok(maps)
    }

    fn reverse_maps(&self) -> std::sync::MutexGuard<'_, ReverseMapCache> {
        self.reverse_maps.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One pass: every account due now (every active one with `all`, or just `only`), each
    /// scanned once, then a summary. Registered accounts go first so that reverse scans know
    /// their resolved ids.
    pub async fn scan_once(
        &self,
        only: Option<AccountId>,
        all: bool,
    ) -> Result<Summary, DaemonError> {
        let now = Timestamp::now();
        self.sync_accounts(now)?;
        if let Some(id) = only {
            return self.scan_one(id).await;
        }
        let store = &self.pipeline.store;
        let states: HashMap<AccountId, ScanState> = store.scan_states()?.into_iter().collect();
        let is_due = |id: &AccountId| all || states.get(id).is_none_or(|s| s.next_due_at <= now);
        let registered: Vec<AccountId> = store
            .accounts()?
            .into_iter()
            .filter(|a| a.active)
            .map(|a| a.id)
            .filter(is_due)
            .collect();
        let watched: Vec<AccountId> = store
            .watched_accounts()?
            .into_iter()
            .filter(|a| a.active)
            .map(|a| a.id)
            .filter(is_due)
            .collect();
        let mut summary = Summary::default();
        for group in [registered, watched] {
            summary.add(&self.scan_all(group, all).await);
        }
        Ok(summary)
    }

    /// Scans every listed account once, at most `max_concurrent` at a time.
    async fn scan_all(&self, ids: Vec<AccountId>, all: bool) -> Summary {
        let semaphore = Arc::new(Semaphore::new(self.max_concurrent));
        let mut tasks = JoinSet::new();
        for id in ids {
            let Ok(permit) = semaphore.clone().acquire_owned().await else {
                break;
            };
            let daemon = self.clone();
            tasks.spawn(async move {
                let turn = if all { Turn::Forced } else { Turn::Due };
                let result = daemon.scan(id, turn).await;
                drop(permit);
                result
            });
        }
        let mut summary = Summary::default();
        while let Some(joined) = tasks.join_next().await {
            collect(&mut summary, joined);
        }
        summary
    }

    /// Runs until `shutdown` turns true: scans accounts as they fall due, within the global
    /// and per-host limits, and picks up registry changes within seconds.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) -> Result<Summary, DaemonError> {
        let semaphore = Arc::new(Semaphore::new(self.max_concurrent));
        let mut tasks: JoinSet<Result<Summary, DaemonError>> = JoinSet::new();
        let mut summary = Summary::default();
        let mut next_check = Timestamp::now();
        let mut next_resync = Timestamp::now();
        let mut synced_version = None;
        while !*shutdown.borrow() {
            let now = Timestamp::now();
            if now >= next_check {
                let version = self.pipeline.store.registry_version();
                if synced_version != Some(version) || now >= next_resync {
                    match self.sync_accounts(now) {
                        Ok(_) => synced_version = Some(version),
                        Err(error) => {
                            tracing::error!(error = %error, "Reading the registry failed.")
                        }
                    }
                    next_resync = now
                        + if self.pipeline.store.is_shared() {
                            SHARED_RESYNC_EVERY
                        } else {
                            RESYNC_EVERY
                        };
                }
                next_check = now + CHECK_EVERY;
            }
            while let Some(joined) = tasks.try_join_next() {
                collect(&mut summary, joined);
            }
            let permit = tokio::select! {
                permit = semaphore.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                _ = shutdown.changed() => break,
            };
            let due = self.scheduler().take_due(Timestamp::now());
            match due {
                Some(id) => {
                    let daemon = self.clone();
                    tasks.spawn(async move {
                        let result = daemon.scan(id, Turn::Scheduled).await;
                        drop(permit);
                        result
                    });
                }
                None => {
                    drop(permit);
                    let next = self.scheduler().next_due_at();
                    let wait = next
                        .map(|at| {
                            (at.as_millisecond() - Timestamp::now().as_millisecond()).max(10) as u64
                        })
                        .map_or(Duration::from_secs(1), Duration::from_millis)
                        .min(Duration::from_secs(1));
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => break,
                        Some(joined) = tasks.join_next(), if !tasks.is_empty() => collect(&mut summary, joined),
                    }
                }
            }
        }
        tracing::info!(
            in_flight = tasks.len(),
            "Stopping: waiting for scans in flight."
        );
        let drained = tokio::time::timeout(self.shutdown_grace, async {
            while let Some(joined) = tasks.join_next().await {
                collect(&mut summary, joined);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = tasks.len(),
                "Grace period over: abandoning scans in flight; they are read again next time."
            );
            tasks.abort_all();
        }
        self.pipeline.store.flush()?;
        Ok(summary)
    }
}

/// Why an account is being scanned, which decides what its claim checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// The daemon's scheduler says it is due: it must be due for every replica, and its host's
    /// shared budget must allow a request.
    Scheduled,
    /// `scan --once` found it due.
    Due,
    /// An operator asked for it (`scan --once --account`, `--all`): claimed even from another
    /// replica.
    Forced,
}

/// Whether this replica scans the account now, or when to look again.
enum Claim {
    Start(Box<ScanStart>),
    Later(Timestamp),
}

/// What a claimed scan starts from: the account (registered or watched) and its stored state.
struct ScanStart {
    account: Option<Account>,
    watched: Option<WatchedAccount>,
    state: Option<ScanState>,
}

/// `host:pid:random`: unique among the replicas sharing a store, and telling in the database
/// which machine holds a claim.
fn replica_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_default();
    let mut random = [0u8; 4];
    let _ = getrandom::getrandom(&mut random);
    format!("{host}:{}:{}", std::process::id(), hex::encode(random))
}

/// Per platform: the registry version the maps were built from, and the maps.
type ReverseMapCache = HashMap<Platform, (u64, Arc<ReverseMaps>)>;

/// What a reverse scan intersects a candidate's likers, reposters and repliers with.
pub struct ReverseMaps {
    /// Actor key → account: canonical `user@domain` on Mastodon; DID on Bluesky, and the
    /// lowercase handle too, so accounts not resolved yet are still found.
    pub accounts: HashMap<String, AccountRef>,
    pub employees: HashMap<AccountId, Employee>,
}

/// Undecided findings whose post was last seen (or flagged) at least `interval` ago and is not
/// known to be gone, by account.
fn build_recheck_plan(
    store: &crate::store::Store,
    interval: Duration,
    now: Timestamp,
) -> Result<HashMap<AccountId, Vec<Finding>>, StoreError> {
    let mut due: HashMap<AccountId, Vec<Finding>> = HashMap::new();
    for state in [
        ReviewState::New,
        ReviewState::InReview,
        ReviewState::NeedsInfo,
    ] {
        for finding in store.queue(state)? {
            let checked = finding.last_seen_at.unwrap_or(finding.created_at);
            if finding.gone_at.is_none() && checked + interval <= now {
                due.entry(finding.account_id).or_default().push(finding);
            }
        }
    }
    Ok(due)
}

fn build_reverse_maps(
    store: &crate::store::Store,
    platform: Platform,
) -> Result<ReverseMaps, StoreError> {
    let employees: HashMap<String, Employee> = store
        .employees()?
        .into_iter()
        .map(|e| (e.employee_id.clone(), e))
        .collect();
    let mut maps = ReverseMaps {
        accounts: HashMap::new(),
        employees: HashMap::new(),
    };
    for account in store.accounts()? {
        if account.platform != platform || !account.active {
            continue;
        }
        let Some(employee) = employees.get(&account.employee_id) else {
            continue;
        };
        let reference = AccountRef {
            account_id: account.id,
            handle: account.handle.clone(),
            platform_id: account.platform_id.clone(),
        };
        if let (Platform::Bluesky, Some(did)) = (platform, &account.platform_id) {
            maps.accounts.insert(did.clone(), reference.clone());
        }
        let handle = account.handle.trim().trim_start_matches('@').to_lowercase();
        maps.accounts.insert(handle, reference);
        maps.employees.insert(account.id, employee.clone());
    }
    Ok(maps)
}

fn collect(
    summary: &mut Summary,
    joined: Result<Result<Summary, DaemonError>, tokio::task::JoinError>,
) {
    match joined {
        Ok(Ok(one)) => summary.add(&one),
        Ok(Err(error)) => {
            tracing::error!(error = %error, "Scan could not be recorded.");
            summary.errors += 1;
        }
        Err(error) if error.is_cancelled() => {}
        Err(error) => {
            tracing::error!(error = %error, "Scan task failed.");
            summary.errors += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::host_of;
    use crate::model::Platform;

    #[test]
    fn reverse_maps_find_unresolved_bluesky_accounts_by_handle() {
        use crate::model::{AccountState, Employee, EmploymentStatus, UnitPath};
        let store = crate::store::Store::temporary().unwrap();
        let now = jiff::Timestamp::UNIX_EPOCH;
        store
            .put_employee(&Employee {
                employee_id: "1".into(),
                name: "A".into(),
                unit: UnitPath::parse("bkn").unwrap(),
                position: "Staf".into(),
                status: EmploymentStatus::Pns,
                active: true,
                registered_at: now,
            })
            .unwrap();
        let resolved = store
            .register_account("1", Platform::Bluesky, "Ani.bsky.social", now)
            .unwrap();
        store
            .update_account_resolution(
                resolved.id,
                "did:plc:ani",
                "ani.bsky.social",
                AccountState::Ok,
                now,
            )
            .unwrap();
        store
            .register_account("1", Platform::Bluesky, "budi.bsky.social", now)
            .unwrap();
        store
            .register_account("1", Platform::Mastodon, "@Cici@m.example", now)
            .unwrap();

        let maps = super::build_reverse_maps(&store, Platform::Bluesky).unwrap();
        let mut keys: Vec<&str> = maps.accounts.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["ani.bsky.social", "budi.bsky.social", "did:plc:ani"]);
        assert_eq!(maps.employees.len(), 2);
        let mastodon = super::build_reverse_maps(&store, Platform::Mastodon).unwrap();
        assert!(mastodon.accounts.contains_key("cici@m.example"));
    }

    #[test]
    fn accounts_share_a_budget_per_host() {
        assert_eq!(
            host_of(Platform::Mastodon, "@budi@Sosial.Go.Example"),
            "sosial.go.example"
        );
        assert_eq!(host_of(Platform::Bluesky, "budi.bsky.social"), "bluesky");
        assert_eq!(
            host_of(Platform::Rss, "https://blog.example/feed.xml"),
            "blog.example"
        );
        assert_eq!(host_of(Platform::X, "@budi"), "x");
    }
}
