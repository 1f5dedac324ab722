//! Operations on records: the registry (employees, accounts, watched accounts) and ingested
//! activities with their findings. Each write is one transaction followed by a flush.

use jiff::Timestamp;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;

use super::{codec, keys, next_id, tx_error, Store, StoreError, TxResult};
use crate::model::{
    Account, AccountId, AccountState, Activity, Detection, Employee, Finding, FindingId, Platform,
    ReviewState, RuleStatus, WatchedAccount, WatchedRole,
};

fn abort<T>(error: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(error))
}

/// One activity to record with what detection found in it.
#[derive(Debug, Clone)]
pub struct ActivityRecord {
    pub activity: Activity,
    pub employee_id: String,
    pub detections: Vec<Detection>,
}

/// What recording a batch changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordOutcome {
    /// Activities not seen before.
    pub new_activities: usize,
    /// Findings created; re-recording the same activity creates none.
    pub new_findings: Vec<FindingId>,
}

/// A broken invariant found by [`Store::verify_integrity`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityProblem {
    pub tree: &'static str,
    pub key_hex: String,
    pub problem: String,
}

impl std::fmt::Display for IntegrityProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.tree, self.key_hex, self.problem)
    }
}

impl Store {
    /// Adds or replaces an employee. Replacing keeps their accounts and history.
    pub fn put_employee(&self, employee: &Employee) -> Result<(), StoreError> {
        let key = keys::employee(&employee.employee_id)?;
        let _gate = self.read_gate();
        self.trees
            .employees
            .insert(key, codec::encode(employee))
            .map_err(StoreError::sled(format!("saving employee {}", employee.employee_id)))?;
        self.flush()
    }

    pub fn employee(&self, employee_id: &str) -> Result<Option<Employee>, StoreError> {
        let key = keys::employee(employee_id)?;
        self.get_record("employees", &self.trees.employees, &key)
    }

    pub fn employees(&self) -> Result<Vec<Employee>, StoreError> {
        self.all_records("employees", &self.trees.employees)
    }

    /// Registers a public account of an existing employee. A handle is registered once per
    /// platform: a second registration is refused rather than silently merged.
    pub fn register_account(
        &self,
        employee_id: &str,
        platform: Platform,
        handle: &str,
        now: Timestamp,
    ) -> Result<Account, StoreError> {
        let employee_key = keys::employee(employee_id)?;
        let handle_key = keys::account_handle(platform, handle)?;
        let trees = &self.trees;
        let _gate = self.read_gate();
        let account = (&trees.meta, &trees.employees, &trees.accounts, &trees.account_by_handle)
            .transaction(|(meta, employees, accounts, by_handle)| {
                if employees.get(&employee_key)?.is_none() {
                    return abort(StoreError::NotFound {
                        what: "employee",
                        id: employee_id.to_string(),
                    });
                }
                if by_handle.get(&handle_key)?.is_some() {
                    return abort(StoreError::AlreadyExists {
                        what: "account",
                        id: format!("{platform}:{handle}"),
                    });
                }
                let id = AccountId(next_id(meta, keys::META_NEXT_ACCOUNT_ID)?);
                let account = Account {
                    id,
                    employee_id: employee_id.to_string(),
                    platform,
                    handle: handle.trim().to_string(),
                    platform_id: None,
                    state: AccountState::Pending,
                    active: true,
                    registered_at: now,
                    previous_handles: Vec::new(),
                };
                accounts.insert(&keys::account(id), codec::encode(&account))?;
                by_handle.insert(handle_key.as_slice(), &keys::account(id))?;
                Ok(account)
            })
            .map_err(tx_error("registering an account"))?;
        self.flush()?;
        Ok(account)
    }

    pub fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.get_record("accounts", &self.trees.accounts, &keys::account(id))
    }

    pub fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.all_records("accounts", &self.trees.accounts)
    }

    /// Registers an official candidate, party or campaign-team account.
    pub fn register_watched(
        &self,
        platform: Platform,
        handle: &str,
        entity_id: &str,
        role: WatchedRole,
        now: Timestamp,
    ) -> Result<WatchedAccount, StoreError> {
        let handle_key = keys::account_handle(platform, handle)?;
        let trees = &self.trees;
        let _gate = self.read_gate();
        let watched = (&trees.meta, &trees.watched, &trees.watched_by_handle)
            .transaction(|(meta, watched, by_handle)| {
                if by_handle.get(&handle_key)?.is_some() {
                    return abort(StoreError::AlreadyExists {
                        what: "watched account",
                        id: format!("{platform}:{handle}"),
                    });
                }
                let id = AccountId(next_id(meta, keys::META_NEXT_ACCOUNT_ID)?);
                let record = WatchedAccount {
                    id,
                    platform,
                    handle: handle.trim().to_string(),
                    platform_id: None,
                    entity_id: entity_id.to_string(),
                    role,
                    active: true,
                    registered_at: now,
                };
                watched.insert(&keys::account(id), codec::encode(&record))?;
                by_handle.insert(handle_key.as_slice(), &keys::account(id))?;
                Ok(record)
            })
            .map_err(tx_error("registering a watched account"))?;
        self.flush()?;
        Ok(watched)
    }

    pub fn watched_accounts(&self) -> Result<Vec<WatchedAccount>, StoreError> {
        self.all_records("watched", &self.trees.watched)
    }

    /// Records a batch of activities and their findings in one transaction, then flushes once
    /// (group commit). Idempotent: an activity already stored is kept as first seen, and a
    /// finding whose (platform, activity id, rule id) exists is not created again. Only active
    /// rules' findings enter the review queue; shadow findings are kept for measurement.
    pub fn record_activities(
        &self,
        batch: &[ActivityRecord],
        now: Timestamp,
    ) -> Result<RecordOutcome, StoreError> {
        // Keys are built before the transaction so a bad id fails the batch up front.
        let mut prepared = Vec::with_capacity(batch.len());
        for record in batch {
            let activity = &record.activity;
            let activity_key = keys::activity(activity.platform, &activity.platform_activity_id)?;
            let time_key = keys::activity_by_time(activity.occurred_at, &activity_key);
            let mut dedupe_keys = Vec::with_capacity(record.detections.len());
            for detection in &record.detections {
                dedupe_keys.push(keys::finding_dedupe(
                    activity.platform,
                    &activity.platform_activity_id,
                    &detection.rule_id,
                )?);
            }
            prepared.push((record, activity_key, time_key, dedupe_keys));
        }

        let trees = &self.trees;
        let _gate = self.read_gate();
        let outcome = (
            &trees.meta,
            &trees.activities,
            &trees.activity_by_time,
            &trees.findings,
            &trees.finding_by_dedupe,
            &trees.queue,
        )
            .transaction(|(meta, activities, by_time, findings, by_dedupe, queue)| {
                let mut outcome = RecordOutcome::default();
                for (record, activity_key, time_key, dedupe_keys) in &prepared {
                    if activities.get(activity_key)?.is_none() {
                        activities.insert(activity_key.as_slice(), codec::encode(&record.activity))?;
                        by_time.insert(time_key.as_slice(), &[])?;
                        outcome.new_activities += 1;
                    }
                    for (detection, dedupe_key) in record.detections.iter().zip(dedupe_keys) {
                        if by_dedupe.get(dedupe_key)?.is_some() {
                            continue;
                        }
                        let id = FindingId(next_id(meta, keys::META_NEXT_FINDING_ID)?);
                        let finding = Finding {
                            id,
                            platform: record.activity.platform,
                            platform_activity_id: record.activity.platform_activity_id.clone(),
                            account_id: record.activity.account_id,
                            employee_id: record.employee_id.clone(),
                            detection: detection.clone(),
                            review_state: ReviewState::New,
                            created_at: now,
                        };
                        insert_finding(findings, queue, &finding)?;
                        by_dedupe.insert(dedupe_key.as_slice(), &keys::finding(id))?;
                        outcome.new_findings.push(id);
                    }
                }
                Ok(outcome)
            })
            .map_err(tx_error("recording activities"))?;
        self.flush()?;
        Ok(outcome)
    }

    pub fn activity(
        &self,
        platform: Platform,
        platform_activity_id: &str,
    ) -> Result<Option<Activity>, StoreError> {
        let key = keys::activity(platform, platform_activity_id)?;
        self.get_record("activities", &self.trees.activities, &key)
    }

    pub fn activity_count(&self) -> usize {
        self.trees.activities.len()
    }

    pub fn finding(&self, id: FindingId) -> Result<Option<Finding>, StoreError> {
        self.get_record("findings", &self.trees.findings, &keys::finding(id))
    }

    pub fn findings(&self) -> Result<Vec<Finding>, StoreError> {
        self.all_records("findings", &self.trees.findings)
    }

    /// Findings in one review state, most severe first, then oldest first.
    pub fn queue(&self, state: ReviewState) -> Result<Vec<Finding>, StoreError> {
        let mut out = Vec::new();
        for entry in self.trees.queue.scan_prefix([state.code()]) {
            let (key, _) = entry.map_err(StoreError::sled("reading the review queue"))?;
            let id = keys::finding_from_queue(&key)?;
            let finding = self.finding(id)?.ok_or_else(|| StoreError::Corrupt {
                tree: "queue",
                key_hex: hex::encode(&key),
                reason: format!("finding {id} is missing"),
            })?;
            out.push(finding);
        }
        Ok(out)
    }

    /// Checks every cross-tree invariant; an empty list means the store is whole. Used after
    /// crashes (tests) and before trusting a restored dump.
    pub fn verify_integrity(&self) -> Result<Vec<IntegrityProblem>, StoreError> {
        let mut problems = Vec::new();
        let mut note = |tree: &'static str, key: &[u8], problem: String| {
            problems.push(IntegrityProblem {
                tree,
                key_hex: hex::encode(key),
                problem,
            })
        };
        let read = |action: &'static str| StoreError::sled(action);

        for account in self.accounts()? {
            if self.employee(&account.employee_id)?.is_none() {
                note("accounts", &keys::account(account.id), format!("employee {} is missing", account.employee_id));
            }
            let handle_key = keys::account_handle(account.platform, &account.handle)?;
            let indexed = self.trees.account_by_handle.get(&handle_key).map_err(read("reading account_by_handle"))?;
            if indexed.as_deref() != Some(&keys::account(account.id)[..]) {
                note("accounts", &keys::account(account.id), "handle index does not point here".into());
            }
        }
        for entry in self.trees.account_by_handle.iter() {
            let (key, value) = entry.map_err(read("reading account_by_handle"))?;
            let id = AccountId(keys::u64_from_key(&value, "account_by_handle value")?);
            if self.account(id)?.is_none() {
                note("account_by_handle", &key, format!("account {id} is missing"));
            }
        }
        for entry in self.trees.activities.iter() {
            let (key, value) = entry.map_err(read("reading activities"))?;
            let activity: Activity = codec::decode("activities", &key, &value)?;
            let time_key = keys::activity_by_time(activity.occurred_at, &key);
            if !self.trees.activity_by_time.contains_key(&time_key).map_err(read("reading activity_by_time"))? {
                note("activities", &key, "time index entry is missing".into());
            }
        }
        for entry in self.trees.activity_by_time.iter() {
            let (key, _) = entry.map_err(read("reading activity_by_time"))?;
            let activity_key = key.get(8..).unwrap_or_default();
            if !self.trees.activities.contains_key(activity_key).map_err(read("reading activities"))? {
                note("activity_by_time", &key, "activity is missing".into());
            }
        }
        let mut queued = 0usize;
        for finding in self.findings()? {
            let key = keys::finding(finding.id);
            if self.activity(finding.platform, &finding.platform_activity_id)?.is_none() {
                note("findings", &key, "its activity is missing".into());
            }
            let dedupe = keys::finding_dedupe(finding.platform, &finding.platform_activity_id, &finding.detection.rule_id)?;
            let indexed = self.trees.finding_by_dedupe.get(&dedupe).map_err(read("reading finding_by_dedupe"))?;
            if indexed.as_deref() != Some(&key[..]) {
                note("findings", &key, "dedupe index does not point here".into());
            }
            let queue_key = keys::queue(finding.review_state, finding.detection.severity, finding.created_at, finding.id);
            let in_queue = self.trees.queue.contains_key(queue_key).map_err(read("reading queue"))?;
            let should_queue = finding.detection.status == RuleStatus::Active;
            if in_queue != should_queue {
                note("findings", &key, format!("queue entry present: {in_queue}, expected: {should_queue}"));
            }
            queued += usize::from(should_queue);
        }
        if self.trees.queue.len() != queued {
            note("queue", b"", format!("{} entries for {queued} queued findings", self.trees.queue.len()));
        }
        for entry in self.trees.finding_by_dedupe.iter() {
            let (key, value) = entry.map_err(read("reading finding_by_dedupe"))?;
            let id = FindingId(keys::u64_from_key(&value, "finding_by_dedupe value")?);
            if self.finding(id)?.is_none() {
                note("finding_by_dedupe", &key, format!("finding {id} is missing"));
            }
        }
        Ok(problems)
    }

    fn get_record<T: serde::de::DeserializeOwned>(
        &self,
        tree_name: &'static str,
        tree: &sled::Tree,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        let value = tree
            .get(key)
            .map_err(StoreError::sled(format!("reading {tree_name}")))?;
        value
            .map(|bytes| codec::decode(tree_name, key, &bytes))
            .transpose()
    }

    fn all_records<T: serde::de::DeserializeOwned>(
        &self,
        tree_name: &'static str,
        tree: &sled::Tree,
    ) -> Result<Vec<T>, StoreError> {
        tree.iter()
            .map(|entry| {
                let (key, value) =
                    entry.map_err(StoreError::sled(format!("reading {tree_name}")))?;
                codec::decode(tree_name, &key, &value)
            })
            .collect()
    }
}

/// Writes a finding and, when its rule is active, its queue entry.
fn insert_finding(
    findings: &TransactionalTree,
    queue: &TransactionalTree,
    finding: &Finding,
) -> TxResult<()> {
    findings.insert(&keys::finding(finding.id), codec::encode(finding))?;
    if finding.detection.status == RuleStatus::Active {
        let key = keys::queue(
            finding.review_state,
            finding.detection.severity,
            finding.created_at,
            finding.id,
        );
        queue.insert(&key, &[])?;
    }
    Ok(())
}
