//! The ingest pipeline: one scan of one account, from fetch to durable findings.
//!
//! ```text
//! source page ──▶ evidence (raw bytes, URL, time, SHA-256) ──▶ judge ──▶ one transaction ──▶ flush
//!                                                                (activities, findings,
//!                                                                 queue, evidence, cursor)
//! ```
//!
//! The cursor is stored in the same transaction as the activities it covers, so a crash at any
//! point either keeps both or neither: the next scan re-reads the page and the store's dedupe
//! keys make the repeat harmless. Judging is a trait so the pipeline does not depend on how
//! detection is built; [`crate::detect`] provides the real one.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;

use crate::metrics::Metrics;
use crate::model::{
    Account, AccountId, AccountState, Activity, ActivityKind, Detection, Employee, EvidenceBlob,
    Finding, Platform, ScanState, WatchedAccount,
};
use crate::snapshots::{self, Subject};
use crate::sources::http::RateLimit;
use crate::sources::{AccountRef, Fetched, SourceError, Sources};
use crate::store::{ActivityRecord, Ingest, RecordOutcome, Store, StoreError};

/// Decides what an activity of an employee may breach. Must be pure and deterministic.
pub trait Judge: Send + Sync {
    fn judge(&self, activity: &Activity, employee: &Employee) -> Vec<Detection>;

    /// How much more often than usual to read this employee's accounts at `now`: above 1 while
    /// an election covering their region is campaigning.
    fn campaign_weight(&self, _employee: &Employee, _now: Timestamp) -> f64 {
        1.0
    }

    /// The registry's watched accounts changed: interactions with them count whatever the text.
    fn update_watched(&self, _watched: &[crate::model::WatchedAccount]) {}
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("account {account} belongs to employee {employee_id}, who is not registered")]
    MissingEmployee {
        account: AccountId,
        employee_id: String,
    },
    #[error("the store task stopped unexpectedly: {0}")]
    Task(String),
}

impl PipelineError {
    /// The state a registrar sees for the account after this error.
    pub fn account_state(&self) -> AccountState {
        match self {
            PipelineError::Source(error) => error.account_state(),
            other => AccountState::Failing {
                last_error: other.to_string(),
            },
        }
    }

    /// The platform asked us to slow down (the account did nothing wrong).
    pub fn retry_after(&self) -> Option<Option<std::time::Duration>> {
        match self {
            PipelineError::Source(SourceError::Fetch(
                crate::sources::FetchError::RateLimited { retry_after, .. },
            )) => Some(*retry_after),
            _ => None,
        }
    }
}

/// What one scan did.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    pub activities_seen: usize,
    pub new_activities: usize,
    pub new_findings: usize,
    /// What the last response said about its host's budget.
    pub rate_limit: Option<RateLimit>,
}

/// An account snapshot taken during a scan, to be stored in the scan's transaction: the
/// judged activities its comparison yielded, their evidence, and the snapshot's next state.
struct SnapshotWrite {
    records: Vec<ActivityRecord>,
    evidence: Vec<EvidenceBlob>,
    next: crate::model::SnapshotState,
}

/// Everything a scan needs, cheap to clone into tasks.
#[derive(Clone)]
pub struct Pipeline {
    pub store: Store,
    pub sources: Sources,
    pub judge: Arc<dyn Judge>,
    pub metrics: Metrics,
    /// How far back an account's first scan reads.
    pub backfill: std::time::Duration,
    /// How far back a watched account's posts are checked for interactions.
    pub reverse_window: std::time::Duration,
    /// How often a registered account's following list and profile are snapshotted; `None`
    /// turns snapshots off.
    pub snapshot_interval: Option<std::time::Duration>,
    /// How often a flagged, undecided post is checked for deletion; `None` turns it off.
    pub recheck_interval: Option<std::time::Duration>,
}

impl Pipeline {
    /// Runs a store operation off the async threads: sled calls block, and flushes take
    /// milliseconds.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, PipelineError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(store))
            .await
            .map_err(|error| PipelineError::Task(error.to_string()))?
            .map_err(PipelineError::from)
    }

    fn count_fetches(
        &self,
        platform: Platform,
        page_evidence: &[Fetched],
        error: Option<&PipelineError>,
    ) {
        let platform = platform.as_str();
        self.metrics.add(
            "netra_fetches_total",
            &[("platform", platform), ("outcome", "ok")],
            page_evidence.len() as f64,
        );
        if let Some(error) = error {
            self.metrics
                .inc("netra_scan_errors_total", &[("platform", platform)]);
            if error.retry_after().is_some() {
                self.metrics
                    .inc("netra_rate_limit_waits_total", &[("platform", platform)]);
            }
        }
    }

    /// Scans a registered account's own activity since its cursor and stores the result with
    /// the new cursor. Resolves the account first if it has never been resolved.
    pub async fn scan_registered(
        &self,
        account: &Account,
        state: &mut ScanState,
        now: Timestamp,
    ) -> Result<ScanReport, PipelineError> {
        let result = self.scan_registered_inner(account, state, now).await;
        if let Err(error) = &result {
            self.count_fetches(account.platform, &[], Some(error));
            state.last_error = Some(error.to_string());
            let id = account.id;
            let visible = error.account_state();
            self.blocking(move |store| store.set_account_state(id, visible))
                .await?;
        }
        result
    }

    async fn scan_registered_inner(
        &self,
        account: &Account,
        state: &mut ScanState,
        now: Timestamp,
    ) -> Result<ScanReport, PipelineError> {
        let mut account = account.clone();
        if account.platform_id.is_none() || account.state != AccountState::Ok {
            let resolved = self
                .sources
                .resolve(account.platform, &account.handle)
                .await?;
            let id = account.id;
            account = self
                .blocking(move |store| {
                    store.update_account_resolution(
                        id,
                        &resolved.platform_id,
                        &resolved.handle,
                        resolved.state,
                        now,
                    )
                })
                .await?;
        }
        let employee_id = account.employee_id.clone();
        let id = account.id;
        let plan = self.snapshot_plan(&account);
        let snapshots = plan.is_some();
        // one trip to the blocking pool for both reads
        let (employee, previous_snapshot) = self
            .blocking(move |store| {
                let employee = store.employee(&employee_id)?;
                let previous = if snapshots {
                    Some(store.snapshot_state(id)?.unwrap_or_default())
                } else {
                    None
                };
                Ok((employee, previous))
            })
            .await?;
        let employee = employee.ok_or_else(|| PipelineError::MissingEmployee {
            account: account.id,
            employee_id: account.employee_id.clone(),
        })?;
        let reference = AccountRef {
            account_id: account.id,
            handle: account.handle.clone(),
            platform_id: account.platform_id.clone(),
        };
        let page = self
            .sources
            .scan_own(
                account.platform,
                &reference,
                state.cursor.as_deref(),
                Some(now - self.backfill),
            )
            .await?;
        self.count_fetches(account.platform, &page.evidence, None);
        if let Some(cursor) = page.cursor.clone() {
            state.cursor = Some(cursor);
        }
        // the snapshot, when due, is stored in the same transaction as the page: one flush
        // per scanned account instead of two
        let snapshot = match plan.zip(previous_snapshot) {
            Some((plan, previous)) => {
                self.snapshot_if_due(&account, &employee, plan, previous, now)
                    .await?
            }
            None => None,
        };
        let employees = HashMap::from([(account.id, employee)]);
        self.store_page(
            account.id,
            account.platform,
            page.activities,
            page.evidence,
            &employees,
            state,
            snapshot,
            now,
        )
        .await
    }

    /// The snapshot interval and the account's platform id, when its following list and
    /// profile are snapshotted at all: snapshots are on, the platform has them, and the
    /// account is resolved.
    fn snapshot_plan(&self, account: &Account) -> Option<(std::time::Duration, String)> {
        let supported = matches!(
            account.platform,
            Platform::Mastodon | Platform::Bluesky | Platform::X
        );
        let interval = self.snapshot_interval.filter(|_| supported)?;
        Some((interval, account.platform_id.clone()?))
    }

    /// Takes the account's snapshot (following list and profile) when it is due and returns
    /// what changed since the last one (see [`crate::snapshots`]), judged, for the scan to
    /// store with its page. A failed snapshot is recorded on the snapshot state and tried
    /// again within the hour; it never fails the scan, so a following list that always errors
    /// cannot put the account in a retry loop. A hidden list is not a failure: it is recorded
    /// on the account.
    async fn snapshot_if_due(
        &self,
        account: &Account,
        employee: &Employee,
        (interval, platform_id): (std::time::Duration, String),
        previous: crate::model::SnapshotState,
        now: Timestamp,
    ) -> Result<Option<SnapshotWrite>, PipelineError> {
        let id = account.id;
        if previous.next_due_at.is_some_and(|due| due > now) {
            return Ok(None);
        }
        let reference = AccountRef {
            account_id: account.id,
            handle: account.handle.clone(),
            platform_id: Some(platform_id.clone()),
        };
        let platform = account.platform;
        let taken = match self.sources.snapshot(platform, &reference).await {
            Ok(taken) => taken,
            Err(error) => {
                let retry = match error {
                    SourceError::Unsupported { .. } => interval,
                    _ => interval.min(std::time::Duration::from_secs(3600)),
                };
                tracing::warn!(account = %id, error = %error, "Account snapshot failed.");
                self.metrics.inc(
                    "netra_snapshot_errors_total",
                    &[("platform", platform.as_str())],
                );
                let mut next = previous;
                next.last_error = Some(error.to_string());
                next.next_due_at = Some(now + retry);
                return Ok(Some(SnapshotWrite {
                    records: Vec::new(),
                    evidence: Vec::new(),
                    next,
                }));
            }
        };
        self.count_fetches(platform, &taken.evidence, None);
        let compared = snapshots::compare(
            Subject {
                account_id: account.id,
                platform,
                handle: &account.handle,
                platform_id: &platform_id,
            },
            &previous,
            &taken,
            now,
            interval,
        );
        if compared.next.following_hidden != account.following_hidden {
            let hidden = compared.next.following_hidden;
            self.blocking(move |store| store.set_following_hidden(id, hidden))
                .await?;
        }
        let mut records = Vec::new();
        for activity in compared.activities {
            let detections = self.judge.judge(&activity, employee);
            // A first snapshot is a baseline: an ordinary follow from before Netra looked is
            // no news, a current follow of a campaign account is.
            if compared.first_following
                && activity.kind == ActivityKind::Follow
                && detections.is_empty()
            {
                continue;
            }
            records.push(ActivityRecord {
                employee_id: employee.employee_id.clone(),
                activity,
                detections,
            });
        }
        let mut blobs = Vec::new();
        if !records.is_empty() {
            blobs.extend(taken.evidence.into_iter().map(EvidenceBlob::from));
            blobs.extend(compared.diff);
        }
        Ok(Some(SnapshotWrite {
            records,
            evidence: blobs,
            next: compared.next,
        }))
    }

    /// Checks whether the flagged posts behind `findings` (all of `account`) are still online
    /// and records the answer on each finding; returns how many were found gone. Stored
    /// evidence is never touched. Findings of likes and reposts are skipped: the platforms
    /// offer no lookup for them.
    pub async fn recheck(
        &self,
        account: &Account,
        findings: Vec<Finding>,
        now: Timestamp,
    ) -> Result<usize, PipelineError> {
        let mut ids: Vec<String> = findings
            .iter()
            .map(|f| f.platform_activity_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(0);
        }
        let reference = AccountRef {
            account_id: account.id,
            handle: account.handle.clone(),
            platform_id: account.platform_id.clone(),
        };
        let answers: HashMap<String, crate::model::Presence> = self
            .sources
            .presence(account.platform, &reference, &ids)
            .await?
            .into_iter()
            .collect();
        let mut gone = 0;
        for finding in findings {
            let Some(&presence) = answers.get(&finding.platform_activity_id) else {
                continue;
            };
            let recorded = self
                .blocking(move |store| store.record_presence(finding.id, presence, now))
                .await?;
            if presence == crate::model::Presence::Gone && recorded.gone_at == Some(now) {
                gone += 1;
                self.metrics.inc(
                    "netra_evidence_gone_total",
                    &[("platform", account.platform.as_str())],
                );
            }
        }
        Ok(gone)
    }

    /// Scans a watched account's recent posts for interactions by registered accounts.
    /// `registered` maps the platform's actor key (canonical `user@domain` on Mastodon, DID on
    /// Bluesky) to the account, and `employees` gives each account's employee.
    pub async fn scan_watched(
        &self,
        watched: &WatchedAccount,
        registered: &HashMap<String, AccountRef>,
        employees: &HashMap<AccountId, Employee>,
        state: &mut ScanState,
        now: Timestamp,
    ) -> Result<ScanReport, PipelineError> {
        let result = async {
            let platform_id = match &watched.platform_id {
                Some(id) => id.clone(),
                None => {
                    let resolved = self
                        .sources
                        .resolve(watched.platform, &watched.handle)
                        .await?;
                    let (id, platform_id) = (watched.id, resolved.platform_id.clone());
                    self.blocking(move |store| store.set_watched_platform_id(id, &platform_id))
                        .await?;
                    resolved.platform_id
                }
            };
            let reference = AccountRef {
                account_id: watched.id,
                handle: watched.handle.clone(),
                platform_id: Some(platform_id),
            };
            let page = self
                .sources
                .scan_reverse(
                    watched.platform,
                    &reference,
                    registered,
                    now - self.reverse_window,
                )
                .await?;
            self.count_fetches(watched.platform, &page.evidence, None);
            self.store_page(
                watched.id,
                watched.platform,
                page.activities,
                page.evidence,
                employees,
                state,
                None,
                now,
            )
            .await
        }
        .await;
        if let Err(error) = &result {
            self.count_fetches(watched.platform, &[], Some(error));
            state.last_error = Some(error.to_string());
        }
        result
    }

    /// Judges a page's activities and stores them, their evidence, `state` and the account's
    /// snapshot (if one was taken) together.
    #[allow(clippy::too_many_arguments)]
    async fn store_page(
        &self,
        scanned: AccountId,
        platform: Platform,
        activities: Vec<Activity>,
        evidence: Vec<Fetched>,
        employees: &HashMap<AccountId, Employee>,
        state: &ScanState,
        snapshot: Option<SnapshotWrite>,
        now: Timestamp,
    ) -> Result<ScanReport, PipelineError> {
        let rate_limit = evidence.last().map(|f| f.rate_limit);
        let mut records = Vec::with_capacity(activities.len());
        for activity in activities {
            let Some(employee) = employees.get(&activity.account_id) else {
                continue; // an interaction by someone no longer registered
            };
            let detections = self.judge.judge(&activity, employee);
            records.push(ActivityRecord {
                employee_id: employee.employee_id.clone(),
                activity,
                detections,
            });
        }
        let mut blobs: Vec<EvidenceBlob> = evidence.into_iter().map(EvidenceBlob::from).collect();
        let mut next_snapshot = None;
        if let Some(taken) = snapshot {
            records.extend(taken.records);
            blobs.extend(taken.evidence);
            next_snapshot = Some(taken.next);
        }
        let activities_seen = records.len();
        let state = state.clone();
        let outcome = self
            .blocking(move |store| {
                store.ingest(
                    Ingest {
                        records: &records,
                        evidence: &blobs,
                        scan: Some((scanned, &state)),
                        snapshot: next_snapshot.as_ref().map(|next| (scanned, next)),
                    },
                    now,
                )
            })
            .await?;
        Ok(self.report(platform, activities_seen, &outcome, rate_limit))
    }

    /// Counts what a scan stored in the metrics and sums it up for the scheduler.
    fn report(
        &self,
        platform: Platform,
        activities_seen: usize,
        outcome: &RecordOutcome,
        rate_limit: Option<RateLimit>,
    ) -> ScanReport {
        self.metrics.add(
            "netra_activities_total",
            &[("platform", platform.as_str())],
            outcome.new_activities as f64,
        );
        for rule in &outcome.new_finding_rules {
            self.metrics.inc("netra_findings_total", &[("rule", rule)]);
        }
        ScanReport {
            activities_seen,
            new_activities: outcome.new_activities,
            new_findings: outcome.new_findings.len(),
            rate_limit,
        }
    }
}
