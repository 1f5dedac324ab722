//! Operations on records: the registry (employees, accounts, watched accounts) and ingested
//! activities with their findings. Each write is one transaction followed by a flush.

use std::collections::HashMap;

use super::kv::Transactional;
use super::kv::{ConflictableTransactionError, TransactionalTree};
use jiff::Timestamp;

use super::audit::{self, AuditDraft};
use super::{codec, keys, next_id, review, tx_error, Store, StoreError, TxResult};
use crate::model::{
    Account, AccountId, AccountState, Activity, Detection, Employee, EvidenceBlob, Finding,
    FindingId, HandleChange, Platform, ReviewState, RuleStatus, ScanState, UnitPath,
    WatchedAccount, WatchedRole,
};

pub(super) fn abort<T>(error: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(error))
}

/// Decodes a record read inside a transaction; an unreadable one aborts it.
pub(super) fn decode_tx<T: serde::de::DeserializeOwned>(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> TxResult<T> {
    codec::decode(tree, key, bytes).map_err(ConflictableTransactionError::Abort)
}

/// One activity to record with what detection found in it.
#[derive(Debug, Clone)]
pub struct ActivityRecord {
    pub activity: Activity,
    pub employee_id: String,
    pub detections: Vec<Detection>,
}

/// One scan step to store at once: what was found, the raw responses it came from, and where
/// the account's scan now stands. Together in one transaction, the cursor can never move past
/// activity that was not stored.
#[derive(Debug, Clone, Default)]
pub struct Ingest<'a> {
    pub records: &'a [ActivityRecord],
    pub evidence: &'a [EvidenceBlob],
    pub scan: Option<(AccountId, &'a ScanState)>,
    /// An account snapshot's new state, stored with the activities its comparison yielded.
    pub snapshot: Option<(AccountId, &'a crate::model::SnapshotState)>,
}

/// Whether an upsert added, changed or left a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Updated,
    Unchanged,
}

/// What importing one registry row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowOutcome {
    pub employee: Change,
    pub account: Change,
}

/// What recording a batch changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordOutcome {
    /// Activities not seen before.
    pub new_activities: usize,
    /// Findings created; re-recording the same activity creates none.
    pub new_findings: Vec<FindingId>,
    /// The rule of each new finding, in the same order.
    pub new_finding_rules: Vec<String>,
    /// Alert outbox rows written for the new findings (one per finding and routed endpoint).
    pub new_alerts: usize,
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
            .map_err(StoreError::backend(format!(
                "saving employee {}",
                employee.employee_id
            )))?;
        self.registry_changed();
        self.flush()
    }

    /// Deactivates (or reactivates) an employee and all their accounts: scanning stops, the
    /// history stays. Audited in the same transaction.
    pub fn set_employee_active(
        &self,
        employee_id: &str,
        active: bool,
        actor: &str,
        now: Timestamp,
    ) -> Result<Employee, StoreError> {
        let key = keys::employee(employee_id)?;
        let account_ids: Vec<AccountId> = self
            .accounts()?
            .into_iter()
            .filter(|account| account.employee_id == employee_id)
            .map(|account| account.id)
            .collect();
        let trees = &self.trees;
        let _gate = self.read_gate();
        let employee = (&trees.meta, &trees.audit, &trees.employees, &trees.accounts)
            .transaction(|(meta, audit_tree, employees, accounts)| {
                let Some(bytes) = employees.get(&key)? else {
                    return abort(StoreError::NotFound {
                        what: "employee",
                        id: employee_id.to_string(),
                    });
                };
                let before: Employee = decode_tx("employees", &key, &bytes)?;
                let mut after = before.clone();
                after.active = active;
                employees.insert(key.as_slice(), codec::encode(&after))?;
                for id in &account_ids {
                    let account_key = keys::account(*id);
                    if let Some(bytes) = accounts.get(account_key)? {
                        let mut account: Account = decode_tx("accounts", &account_key, &bytes)?;
                        account.active = active;
                        accounts.insert(account_key, codec::encode(&account))?;
                    }
                }
                let action = if active {
                    "employee.activate"
                } else {
                    "employee.deactivate"
                };
                let draft = AuditDraft::new(actor, action, format!("employee:{employee_id}"))
                    .change(Some(&before), Some(&after))
                    .detail(format!("{} akun", account_ids.len()));
                audit::append(meta, audit_tree, &draft, now)?;
                Ok(after)
            })
            .map_err(tx_error("changing whether an employee is active"))?;
        self.registry_changed();
        self.flush()?;
        Ok(employee)
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
        let account = (
            &trees.meta,
            &trees.employees,
            &trees.accounts,
            &trees.account_by_handle,
        )
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
                    following_hidden: false,
                };
                accounts.insert(keys::account(id), codec::encode(&account))?;
                by_handle.insert(handle_key.as_slice(), &keys::account(id))?;
                Ok(account)
            })
            .map_err(tx_error("registering an account"))?;
        self.registry_changed();
        self.flush()?;
        Ok(account)
    }

    /// Adds or updates an employee and registers one of their accounts, both or neither (one
    /// CSV row). Re-importing the same row changes nothing; a handle already registered to
    /// another employee is refused.
    pub fn upsert_employee_with_account(
        &self,
        employee: &Employee,
        platform: Platform,
        handle: &str,
        now: Timestamp,
    ) -> Result<RowOutcome, StoreError> {
        let outcome = self.upsert_row_unflushed(employee, platform, handle, now)?;
        self.registry_changed();
        self.flush()?;
        Ok(outcome)
    }

    /// Many rows, each its own transaction, then one flush for all (group commit: a 100,000-row
    /// HR export would otherwise wait for 100,000 fsyncs). Nothing is reported as stored until
    /// the flush returned.
    pub fn upsert_employees_with_accounts(
        &self,
        rows: &[(Employee, Platform, String)],
        now: Timestamp,
    ) -> Result<Vec<Result<RowOutcome, StoreError>>, StoreError> {
        let outcomes = rows
            .iter()
            .map(|(employee, platform, handle)| {
                self.upsert_row_unflushed(employee, *platform, handle, now)
            })
            .collect();
        self.registry_changed();
        self.flush()?;
        Ok(outcomes)
    }

    fn upsert_row_unflushed(
        &self,
        employee: &Employee,
        platform: Platform,
        handle: &str,
        now: Timestamp,
    ) -> Result<RowOutcome, StoreError> {
        let employee_key = keys::employee(&employee.employee_id)?;
        let handle_key = keys::account_handle(platform, handle)?;
        let trees = &self.trees;
        let _gate = self.read_gate();
        let outcome = (
            &trees.meta,
            &trees.employees,
            &trees.accounts,
            &trees.account_by_handle,
        )
            .transaction(|(meta, employees, accounts, by_handle)| {
                let stored = match employees.get(&employee_key)? {
                    Some(bytes) => Some(decode_tx::<Employee>("employees", &employee_key, &bytes)?),
                    None => None,
                };
                let employee_change = match &stored {
                    None => Change::Added,
                    // Registration time is the first one; the rest follows the HR data.
                    Some(old)
                        if Employee {
                            registered_at: old.registered_at,
                            ..employee.clone()
                        } == *old =>
                    {
                        Change::Unchanged
                    }
                    Some(_) => Change::Updated,
                };
                if employee_change != Change::Unchanged {
                    let record = Employee {
                        registered_at: stored
                            .as_ref()
                            .map_or(employee.registered_at, |old| old.registered_at),
                        ..employee.clone()
                    };
                    employees.insert(employee_key.as_slice(), codec::encode(&record))?;
                }
                let account_change = match by_handle.get(&handle_key)? {
                    Some(id_bytes) => {
                        let Some(bytes) = accounts.get(&id_bytes)? else {
                            return abort(StoreError::Corrupt {
                                tree: "account_by_handle",
                                key_hex: hex::encode(&handle_key),
                                reason: "points at a missing account".into(),
                            });
                        };
                        let existing: Account = decode_tx("accounts", &id_bytes, &bytes)?;
                        if existing.employee_id != employee.employee_id {
                            return abort(StoreError::AlreadyExists {
                                what: "account",
                                id: format!(
                                    "{platform}:{handle} (registered to employee {})",
                                    existing.employee_id
                                ),
                            });
                        }
                        Change::Unchanged
                    }
                    None => {
                        let id = AccountId(next_id(meta, keys::META_NEXT_ACCOUNT_ID)?);
                        let account = Account {
                            id,
                            employee_id: employee.employee_id.clone(),
                            platform,
                            handle: handle.trim().to_string(),
                            platform_id: None,
                            state: AccountState::Pending,
                            active: true,
                            registered_at: now,
                            previous_handles: Vec::new(),
                            following_hidden: false,
                        };
                        accounts.insert(keys::account(id), codec::encode(&account))?;
                        by_handle.insert(handle_key.as_slice(), &keys::account(id))?;
                        Change::Added
                    }
                };
                Ok(RowOutcome {
                    employee: employee_change,
                    account: account_change,
                })
            })
            .map_err(tx_error("registering an employee's account"))?;
        Ok(outcome)
    }

    /// Registers a watched account unless the same one (same entity and role) already is;
    /// a handle already watched for another entity is refused.
    pub fn upsert_watched(
        &self,
        platform: Platform,
        handle: &str,
        entity_id: &str,
        role: WatchedRole,
        now: Timestamp,
    ) -> Result<Change, StoreError> {
        let handle_key = keys::account_handle(platform, handle)?;
        let existing = self
            .trees
            .watched_by_handle
            .get(&handle_key)
            .map_err(StoreError::backend("reading watched_by_handle"))?;
        if let Some(id_bytes) = existing {
            let id = AccountId(keys::u64_from_key(&id_bytes, "watched_by_handle")?);
            let watched: WatchedAccount = self
                .get_record("watched", &self.trees.watched, &keys::account(id))?
                .ok_or_else(|| StoreError::NotFound {
                    what: "watched account",
                    id: id.to_string(),
                })?;
            if watched.entity_id == entity_id && watched.role == role {
                return Ok(Change::Unchanged);
            }
            return Err(StoreError::AlreadyExists {
                what: "watched account",
                id: format!("{platform}:{handle} (watched for {})", watched.entity_id),
            });
        }
        self.register_watched(platform, handle, entity_id, role, now)?;
        Ok(Change::Added)
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
                watched.insert(keys::account(id), codec::encode(&record))?;
                by_handle.insert(handle_key.as_slice(), &keys::account(id))?;
                Ok(record)
            })
            .map_err(tx_error("registering a watched account"))?;
        self.registry_changed();
        self.flush()?;
        Ok(watched)
    }

    pub fn watched_accounts(&self) -> Result<Vec<WatchedAccount>, StoreError> {
        self.all_records("watched", &self.trees.watched)
    }

    pub fn watched_account(&self, id: AccountId) -> Result<Option<WatchedAccount>, StoreError> {
        self.get_record("watched", &self.trees.watched, &keys::account(id))
    }

    /// Records the permanent id of a watched account once resolved.
    pub fn set_watched_platform_id(
        &self,
        id: AccountId,
        platform_id: &str,
    ) -> Result<(), StoreError> {
        let key = keys::account(id);
        let _gate = self.read_gate();
        self.trees
            .watched
            .transaction(|watched| {
                let Some(bytes) = watched.get(key)? else {
                    return abort(StoreError::NotFound {
                        what: "watched account",
                        id: id.to_string(),
                    });
                };
                let mut record: WatchedAccount = decode_tx("watched", &key, &bytes)?;
                record.platform_id = Some(platform_id.to_string());
                watched.insert(key, codec::encode(&record))?;
                Ok(())
            })
            .map_err(tx_error("saving a watched account"))?;
        self.registry_changed();
        self.flush()
    }

    /// How many findings are in one review state, without reading them.
    pub fn queue_len(&self, state: ReviewState) -> usize {
        self.trees.queue.scan_prefix([state.code()]).count()
    }

    /// Records a batch of activities and their findings in one transaction, then flushes once
    /// (group commit). See [`Store::ingest`].
    pub fn record_activities(
        &self,
        batch: &[ActivityRecord],
        now: Timestamp,
    ) -> Result<RecordOutcome, StoreError> {
        self.ingest(
            Ingest {
                records: batch,
                ..Ingest::default()
            },
            now,
        )
    }

    /// Stores a scan step in one transaction, then flushes once (group commit). Idempotent: an
    /// activity already stored is kept as first seen, a finding whose (platform, subject, rule
    /// id) exists is not created again (the subject is the activity id, or for a follow the
    /// relation: see [`Activity::finding_subject`]), and evidence is stored once per hash. Only active
    /// rules' findings enter the review queue; shadow findings are kept for measurement.
    pub fn ingest(&self, batch: Ingest<'_>, now: Timestamp) -> Result<RecordOutcome, StoreError> {
        // Keys and encodings are made before the transaction so a bad id fails the batch up
        // front and the closure, which sled may re-run, stays cheap and pure.
        // Units are read once per batch, outside the transaction: a finding keeps the unit its
        // employee had when it was made (scoping and alert routing read it from there).
        let mut units: HashMap<&str, Option<UnitPath>> = HashMap::new();
        for record in batch.records {
            if !record.detections.is_empty() && !units.contains_key(record.employee_id.as_str()) {
                let unit = self.employee(&record.employee_id)?.map(|e| e.unit);
                units.insert(record.employee_id.as_str(), unit);
            }
        }
        let mut prepared = Vec::with_capacity(batch.records.len());
        for record in batch.records {
            let activity = &record.activity;
            let activity_key = keys::activity(activity.platform, &activity.platform_activity_id)?;
            let time_key = keys::activity_by_time(activity.occurred_at, &activity_key);
            let mut dedupe_keys = Vec::with_capacity(record.detections.len());
            for detection in &record.detections {
                dedupe_keys.push(keys::finding_dedupe(
                    activity.platform,
                    &activity.finding_subject(),
                    &detection.rule_id,
                )?);
            }
            let unit = units.get(record.employee_id.as_str()).cloned().flatten();
            let alerts = self.plan_alerts(record, unit); // issue #8: endpoints per detection
            prepared.push((record, activity_key, time_key, dedupe_keys, alerts));
        }
        let mut evidence = Vec::with_capacity(batch.evidence.len());
        for blob in batch.evidence {
            evidence.push((keys::evidence(&blob.sha256)?, codec::encode_evidence(blob)));
        }
        let scan = batch
            .scan
            .map(|(id, state)| (keys::account(id), codec::encode(state)));
        let snapshot = batch
            .snapshot
            .map(|(id, state)| (keys::account(id), codec::encode(state)));
        let audit_actor = match (batch.scan, batch.snapshot) {
            (Some((id, _)), _) => format!("system:scan:account:{id}"),
            (None, Some((id, _))) => format!("system:snapshot:account:{id}"),
            (None, None) => "system:import".to_string(),
        };
        let case_window = self.case_window;

        let trees = &self.trees;
        let _gate = self.read_gate();
        let outcome = (
            &trees.meta,
            &trees.activities,
            &trees.activity_by_time,
            &trees.findings,
            &trees.finding_by_dedupe,
            &trees.queue,
            &trees.evidence,
            &trees.scan_state,
            &trees.cases,
            &trees.case_by_subject,
            &trees.audit,
            &trees.outbox,
            &trees.snapshots,
        )
            .transaction(
                |(
                    meta,
                    activities,
                    by_time,
                    findings,
                    by_dedupe,
                    queue,
                    evidence_tree,
                    scan_tree,
                    cases,
                    by_subject,
                    audit_tree,
                    outbox,
                    snapshot_tree,
                )| {
                    let mut outcome = RecordOutcome::default();
                    for (key, value) in &evidence {
                        if evidence_tree.get(key)?.is_none() {
                            evidence_tree.insert(key.as_slice(), value.as_slice())?;
                        }
                    }
                    for (record, activity_key, time_key, dedupe_keys, alerts) in &prepared {
                        if activities.get(activity_key)?.is_none() {
                            activities
                                .insert(activity_key.as_slice(), codec::encode(&record.activity))?;
                            by_time.insert(time_key.as_slice(), &[])?;
                            outcome.new_activities += 1;
                        }
                        let detections = record.detections.iter().zip(dedupe_keys);
                        for (index, (detection, dedupe_key)) in detections.enumerate() {
                            if by_dedupe.get(dedupe_key)?.is_some() {
                                continue;
                            }
                            let id = FindingId(next_id(meta, keys::META_NEXT_FINDING_ID)?);
                            let mut finding = Finding {
                                id,
                                platform: record.activity.platform,
                                platform_activity_id: record.activity.platform_activity_id.clone(),
                                account_id: record.activity.account_id,
                                employee_id: record.employee_id.clone(),
                                detection: detection.clone(),
                                review_state: ReviewState::New,
                                created_at: now,
                                unit: units.get(record.employee_id.as_str()).cloned().flatten(),
                                case_id: None,
                                claim: None,
                                last_seen_at: None,
                                gone_at: None,
                            };
                            finding.case_id = Some(review::assign_case(
                                meta,
                                cases,
                                by_subject,
                                &finding,
                                record.activity.occurred_at,
                                case_window,
                            )?);
                            insert_finding(findings, queue, &finding)?;
                            outcome.new_alerts += alerts.enqueue(index, meta, outbox, id, now)?;
                            by_dedupe.insert(dedupe_key.as_slice(), &keys::finding(id))?;
                            outcome.new_findings.push(id);
                            outcome.new_finding_rules.push(detection.rule_id.clone());
                        }
                    }
                    if let Some((key, value)) = &scan {
                        scan_tree.insert(key, value.as_slice())?;
                    }
                    if let Some((key, value)) = &snapshot {
                        snapshot_tree.insert(key, value.as_slice())?;
                    }
                    if outcome.new_activities > 0 || !outcome.new_findings.is_empty() {
                        let ids: Vec<u64> = outcome.new_findings.iter().map(|id| id.0).collect();
                        let draft = AuditDraft::new(audit_actor.as_str(), "ingest", "activities")
                            .change(None::<&()>, Some(&ids))
                            .detail(format!(
                                "{} aktivitas baru, {} temuan baru",
                                outcome.new_activities,
                                ids.len()
                            ));
                        audit::append(meta, audit_tree, &draft, now)?;
                    }
                    Ok(outcome)
                },
            )
            .map_err(tx_error("recording activities"))?;
        self.flush()?;
        if outcome.new_alerts > 0 {
            self.outbox_changed();
        }
        Ok(outcome)
    }

    /// Saves many scan states with one flush.
    pub fn put_scan_states(&self, states: &[(AccountId, ScanState)]) -> Result<(), StoreError> {
        let _gate = self.read_gate();
        let entries: Vec<(Vec<u8>, Vec<u8>)> = states
            .iter()
            .map(|(id, state)| (keys::account(*id).to_vec(), codec::encode(state)))
            .collect();
        self.trees
            .scan_state
            .insert_many(&entries)
            .map_err(StoreError::backend("saving scan states"))?;
        self.flush()
    }

    /// Saves an account's scan state alone: the scheduler's verdict after a scan (next due
    /// time, backoff, last error).
    ///
    /// Not flushed on its own; it becomes durable with the next flush (any operation's, or
    /// sled's own within half a second). Losing it in a crash costs an early re-scan from the
    /// cursor that the scan's ingest stored and flushed, never a finding or a cursor, and a
    /// flush per scan here was a third of all flushes in the ingest benchmark.
    pub fn put_scan_state(&self, id: AccountId, state: &ScanState) -> Result<(), StoreError> {
        let _gate = self.read_gate();
        self.trees
            .scan_state
            .insert(keys::account(id), codec::encode(state))
            .map_err(StoreError::backend(format!(
                "saving the scan state of account {id}"
            )))?;
        Ok(())
    }

    pub fn scan_state(&self, id: AccountId) -> Result<Option<ScanState>, StoreError> {
        self.get_record("scan_state", &self.trees.scan_state, &keys::account(id))
    }

    /// Every stored scan state, by account number.
    pub fn scan_states(&self) -> Result<Vec<(AccountId, ScanState)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.trees.scan_state.iter() {
            let (key, value) = entry.map_err(StoreError::backend("reading scan_state"))?;
            let id = AccountId(keys::u64_from_key(&key, "scan_state")?);
            out.push((id, codec::decode("scan_state", &key, &value)?));
        }
        Ok(out)
    }

    /// A stored raw response, by its hex SHA-256.
    pub fn evidence(&self, sha256: &str) -> Result<Option<EvidenceBlob>, StoreError> {
        let key = keys::evidence(sha256)?;
        let value = self
            .trees
            .evidence
            .get(key)
            .map_err(StoreError::backend("reading evidence"))?;
        value
            .map(|bytes| codec::decode_evidence(&key, &bytes))
            .transpose()
    }

    /// Records what resolving an account on its platform found: the permanent id, the state,
    /// and, when the platform now spells the handle differently, the old handle in its history.
    ///
    /// Not flushed on its own: the scan that resolved the account flushes its ingest right
    /// after, and if a crash comes first the next scan resolves the account again.
    pub fn update_account_resolution(
        &self,
        id: AccountId,
        platform_id: &str,
        current_handle: &str,
        state: AccountState,
        now: Timestamp,
    ) -> Result<Account, StoreError> {
        let trees = &self.trees;
        let _gate = self.read_gate();
        let account = (&trees.accounts, &trees.account_by_handle)
            .transaction(|(accounts, by_handle)| {
                let key = keys::account(id);
                let Some(bytes) = accounts.get(key)? else {
                    return abort(StoreError::NotFound {
                        what: "account",
                        id: id.to_string(),
                    });
                };
                let mut account: Account = decode_tx("accounts", &key, &bytes)?;
                let renamed = !account
                    .handle
                    .eq_ignore_ascii_case(current_handle.trim_start_matches('@'))
                    && !account
                        .handle
                        .trim_start_matches('@')
                        .eq_ignore_ascii_case(current_handle.trim_start_matches('@'));
                if renamed && !current_handle.is_empty() {
                    let old_key = keys::account_handle(account.platform, &account.handle)
                        .map_err(|e| ConflictableTransactionError::Abort(StoreError::Key(e)))?;
                    let new_key = keys::account_handle(account.platform, current_handle)
                        .map_err(|e| ConflictableTransactionError::Abort(StoreError::Key(e)))?;
                    if by_handle.get(&new_key)?.is_none() {
                        by_handle.remove(old_key)?;
                        by_handle.insert(new_key, &key)?;
                        account.previous_handles.push(HandleChange {
                            handle: account.handle.clone(),
                            seen_until: now,
                        });
                        account.handle = current_handle.to_string();
                    }
                }
                account.platform_id = Some(platform_id.to_string());
                account.state = state.clone();
                accounts.insert(key, codec::encode(&account))?;
                Ok(account)
            })
            .map_err(tx_error("updating an account"))?;
        self.registry_changed();
        Ok(account)
    }

    /// Records what the last scan learned about an account (gone, private, failing).
    pub fn set_account_state(&self, id: AccountId, state: AccountState) -> Result<(), StoreError> {
        self.change_account(id, "saving an account's state", |account| {
            if account.state == state {
                return false;
            }
            account.state = state.clone();
            true
        })?;
        Ok(())
    }

    /// Applies `change` to the stored account in one transaction; writes and flushes only when
    /// `change` says it changed something, and tells whether it did.
    pub(super) fn change_account(
        &self,
        id: AccountId,
        action: &str,
        change: impl Fn(&mut Account) -> bool,
    ) -> Result<bool, StoreError> {
        let key = keys::account(id);
        let _gate = self.read_gate();
        let changed = self
            .trees
            .accounts
            .transaction(|accounts| {
                let Some(bytes) = accounts.get(key)? else {
                    return abort(StoreError::NotFound {
                        what: "account",
                        id: id.to_string(),
                    });
                };
                let mut account: Account = decode_tx("accounts", &key, &bytes)?;
                if !change(&mut account) {
                    return Ok(false);
                }
                accounts.insert(key, codec::encode(&account))?;
                Ok(true)
            })
            .map_err(tx_error(action))?;
        if changed {
            self.flush()?;
        }
        Ok(changed)
    }

    /// The registered account with this handle on this platform, if any.
    pub fn account_by_handle(
        &self,
        platform: Platform,
        handle: &str,
    ) -> Result<Option<Account>, StoreError> {
        let key = keys::account_handle(platform, handle)?;
        let id = self
            .trees
            .account_by_handle
            .get(&key)
            .map_err(StoreError::backend("reading account_by_handle"))?;
        match id {
            Some(bytes) => {
                self.account(AccountId(keys::u64_from_key(&bytes, "account_by_handle")?))
            }
            None => Ok(None),
        }
    }

    pub fn activity(
        &self,
        platform: Platform,
        platform_activity_id: &str,
    ) -> Result<Option<Activity>, StoreError> {
        let key = keys::activity(platform, platform_activity_id)?;
        self.get_record("activities", &self.trees.activities, &key)
    }

    /// Every stored activity (access requests, retention; not for hot paths).
    pub fn activities(&self) -> Result<Vec<Activity>, StoreError> {
        self.all_records("activities", &self.trees.activities)
    }

    pub fn activity_count(&self) -> Result<usize, StoreError> {
        self.trees
            .activities
            .len()
            .map_err(StoreError::backend("counting activities"))
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
            let (key, _) = entry.map_err(StoreError::backend("reading the review queue"))?;
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
        let read = |action: &'static str| StoreError::backend(action);

        for account in self.accounts()? {
            if self.employee(&account.employee_id)?.is_none() {
                note(
                    "accounts",
                    &keys::account(account.id),
                    format!("employee {} is missing", account.employee_id),
                );
            }
            let handle_key = keys::account_handle(account.platform, &account.handle)?;
            let indexed = self
                .trees
                .account_by_handle
                .get(&handle_key)
                .map_err(read("reading account_by_handle"))?;
            if indexed.as_deref() != Some(&keys::account(account.id)[..]) {
                note(
                    "accounts",
                    &keys::account(account.id),
                    "handle index does not point here".into(),
                );
            }
        }
        for entry in self.trees.account_by_handle.iter() {
            let (key, value) = entry.map_err(read("reading account_by_handle"))?;
            let id = AccountId(keys::u64_from_key(&value, "account_by_handle value")?);
            if self.account(id)?.is_none() {
                note(
                    "account_by_handle",
                    &key,
                    format!("account {id} is missing"),
                );
            }
        }
        for entry in self.trees.activities.iter() {
            let (key, value) = entry.map_err(read("reading activities"))?;
            let activity: Activity = codec::decode("activities", &key, &value)?;
            let time_key = keys::activity_by_time(activity.occurred_at, &key);
            if !self
                .trees
                .activity_by_time
                .contains_key(&time_key)
                .map_err(read("reading activity_by_time"))?
            {
                note("activities", &key, "time index entry is missing".into());
            }
        }
        for entry in self.trees.activity_by_time.iter() {
            let (key, _) = entry.map_err(read("reading activity_by_time"))?;
            let activity_key = key.get(8..).unwrap_or_default();
            if !self
                .trees
                .activities
                .contains_key(activity_key)
                .map_err(read("reading activities"))?
            {
                note("activity_by_time", &key, "activity is missing".into());
            }
        }
        let mut queued = 0usize;
        for finding in self.findings()? {
            let key = keys::finding(finding.id);
            if self
                .activity(finding.platform, &finding.platform_activity_id)?
                .is_none()
            {
                note("findings", &key, "its activity is missing".into());
            }
            let subject = self
                .activity(finding.platform, &finding.platform_activity_id)?
                .map(|a| a.finding_subject().into_owned())
                .unwrap_or_else(|| finding.platform_activity_id.clone());
            let dedupe =
                keys::finding_dedupe(finding.platform, &subject, &finding.detection.rule_id)?;
            let indexed = self
                .trees
                .finding_by_dedupe
                .get(&dedupe)
                .map_err(read("reading finding_by_dedupe"))?;
            if indexed.as_deref() != Some(&key[..]) {
                note("findings", &key, "dedupe index does not point here".into());
            }
            let queue_key = keys::queue(
                finding.review_state,
                finding.detection.severity,
                finding.created_at,
                finding.id,
            );
            let in_queue = self
                .trees
                .queue
                .contains_key(queue_key)
                .map_err(read("reading queue"))?;
            let should_queue = finding.detection.status == RuleStatus::Active;
            if in_queue != should_queue {
                note(
                    "findings",
                    &key,
                    format!("queue entry present: {in_queue}, expected: {should_queue}"),
                );
            }
            queued += usize::from(should_queue);
        }
        let queue_len = self
            .trees
            .queue
            .len()
            .map_err(StoreError::backend("counting the queue"))?;
        if queue_len != queued {
            note(
                "queue",
                b"",
                format!("{queue_len} entries for {queued} queued findings"),
            );
        }
        for (problem, key) in self.outbox_problems()? {
            note("outbox", &key, problem);
        }
        for entry in self.trees.finding_by_dedupe.iter() {
            let (key, value) = entry.map_err(read("reading finding_by_dedupe"))?;
            let id = FindingId(keys::u64_from_key(&value, "finding_by_dedupe value")?);
            if self.finding(id)?.is_none() && !self.is_purged(id)? {
                note(
                    "finding_by_dedupe",
                    &key,
                    format!("finding {id} is missing"),
                );
            }
        }
        Ok(problems)
    }

    pub(super) fn get_record<T: serde::de::DeserializeOwned>(
        &self,
        tree_name: &'static str,
        tree: &super::kv::Tree,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        let value = tree
            .get(key)
            .map_err(StoreError::backend(format!("reading {tree_name}")))?;
        value
            .map(|bytes| codec::decode(tree_name, key, &bytes))
            .transpose()
    }

    pub(super) fn all_records<T: serde::de::DeserializeOwned>(
        &self,
        tree_name: &'static str,
        tree: &super::kv::Tree,
    ) -> Result<Vec<T>, StoreError> {
        tree.iter()
            .map(|entry| {
                let (key, value) =
                    entry.map_err(StoreError::backend(format!("reading {tree_name}")))?;
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
    findings.insert(keys::finding(finding.id), codec::encode(finding))?;
    if finding.detection.status == RuleStatus::Active {
        let key = keys::queue(
            finding.review_state,
            finding.detection.severity,
            finding.created_at,
            finding.id,
        );
        queue.insert(key, &[])?;
    }
    Ok(())
}
