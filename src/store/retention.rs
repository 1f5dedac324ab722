//! Retention under UU PDP 27/2022 (purpose limitation, minimisation): what is no longer needed
//! is removed, on a clock the caller passes in, and every removal is in the audit log.
//!
//! - An activity that produced no finding keeps only its id, kind, times and evidence hash after
//!   `activity_days`; raw payloads no longer backing any kept activity go with it.
//! - A dismissed finding is purged `dismissed_days` after its decision.
//! - A case with an escalated finding is kept until it is closed (every finding dismissed or
//!   reported) plus `closed_case_days`.
//! - A case under legal hold is never purged.
//!
//! A purged finding keeps its dedupe key (and is listed in `purged`), so a re-scan of the same
//! post never raises it again.

use std::collections::{HashMap, HashSet};

use super::kv::Transactional;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::audit::{append, AuditDraft};
use super::records::{abort, decode_tx};
use super::{codec, keys, tx_error, Store, StoreError};
use crate::model::{Activity, Case, CaseId, Finding, FindingId, Platform, ReviewState};

/// How long things are kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetentionPolicy {
    pub activity_days: i64,
    pub dismissed_days: i64,
    pub closed_case_days: i64,
}

/// What one run removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub activities_minimised: usize,
    pub payloads_deleted: usize,
    pub findings_purged: Vec<u64>,
    pub cases_purged: Vec<u64>,
    pub cases_held: Vec<u64>,
}

const ACTOR: &str = "system:retention";

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

/// True when an activity has already been reduced to its id, times and hash.
pub fn is_minimised(activity: &Activity) -> bool {
    activity.text.is_empty()
        && activity.target.is_none()
        && activity.url.is_none()
        && activity.actor_handle.is_empty()
}

fn minimise(activity: &Activity) -> Activity {
    let mut kept = activity.clone();
    kept.text.clear();
    kept.target = None;
    kept.url = None;
    kept.actor_handle.clear();
    kept
}

impl Store {
    /// Puts a case under legal hold (`Some(reason)`) or lifts it (`None`). Audited.
    pub fn set_legal_hold(
        &self,
        id: CaseId,
        hold: Option<String>,
        actor: &str,
        now: Timestamp,
    ) -> Result<Case, StoreError> {
        let key = keys::u64_key(id.0);
        let trees = &self.trees;
        let _gate = self.read_gate();
        let case = (&trees.meta, &trees.audit, &trees.cases)
            .transaction(|(meta, audit, cases)| {
                let Some(bytes) = cases.get(key)? else {
                    return abort(StoreError::NotFound {
                        what: "case",
                        id: id.to_string(),
                    });
                };
                let mut case: Case = decode_tx("cases", &key, &bytes)?;
                case.legal_hold = hold.clone();
                cases.insert(key, codec::encode(&case))?;
                let action = if hold.is_some() {
                    "case.hold"
                } else {
                    "case.release_hold"
                };
                let draft = AuditDraft::new(actor, action, format!("case:{id}"))
                    .detail(hold.clone().unwrap_or_default());
                append(meta, audit, &draft, now)?;
                Ok(case)
            })
            .map_err(tx_error("changing a legal hold"))?;
        self.flush()?;
        Ok(case)
    }

    /// Whether a finding was removed by retention (its dedupe key stays).
    pub fn is_purged(&self, id: FindingId) -> Result<bool, StoreError> {
        self.trees
            .purged
            .contains_key(keys::finding(id))
            .map_err(StoreError::backend("reading purged findings"))
    }

    /// Runs retention as of `now`.
    pub fn purge(
        &self,
        policy: RetentionPolicy,
        now: Timestamp,
    ) -> Result<PurgeReport, StoreError> {
        let mut report = PurgeReport::default();
        let findings: HashMap<FindingId, Finding> =
            self.findings()?.into_iter().map(|f| (f.id, f)).collect();
        let decided_at = |finding: &Finding| -> Result<Timestamp, StoreError> {
            Ok(self
                .history(finding.id)?
                .iter()
                .filter(|h| h.action == "decide" || h.action == "reopen")
                .map(|h| h.at)
                .max()
                .unwrap_or(finding.created_at))
        };
        let mut doomed: Vec<(FindingId, String)> = Vec::new();
        let mut doomed_cases: Vec<CaseId> = Vec::new();
        let mut in_cases: HashSet<FindingId> = HashSet::new();
        for case in self.cases()? {
            let members: Vec<&Finding> = case
                .finding_ids
                .iter()
                .filter_map(|id| findings.get(id))
                .collect();
            in_cases.extend(case.finding_ids.iter().copied());
            if case.legal_hold.is_some() {
                report.cases_held.push(case.id.0);
                continue;
            }
            let escalated = members.iter().any(|f| {
                matches!(
                    f.review_state,
                    ReviewState::Escalated | ReviewState::Reported
                )
            });
            if escalated {
                let closed = members.iter().all(|f| {
                    matches!(
                        f.review_state,
                        ReviewState::Dismissed | ReviewState::Reported
                    )
                });
                if !closed {
                    continue;
                }
                let mut closed_at = Timestamp::MIN;
                for finding in &members {
                    closed_at = closed_at.max(decided_at(finding)?);
                }
                if now >= closed_at + days(policy.closed_case_days) {
                    for finding in &members {
                        doomed.push((finding.id, format!("kasus {} ditutup", case.id)));
                    }
                    doomed_cases.push(case.id);
                }
                continue;
            }
            for finding in members {
                if finding.review_state == ReviewState::Dismissed
                    && now >= decided_at(finding)? + days(policy.dismissed_days)
                {
                    doomed.push((finding.id, "ditolak".into()));
                }
            }
        }
        for finding in findings.values() {
            if !in_cases.contains(&finding.id)
                && finding.review_state == ReviewState::Dismissed
                && now >= decided_at(finding)? + days(policy.dismissed_days)
            {
                doomed.push((finding.id, "ditolak".into()));
            }
        }
        for (id, why) in &doomed {
            if self.purge_finding(*id, why, now)? {
                report.findings_purged.push(id.0);
            }
        }
        for id in doomed_cases {
            if self.purge_empty_case(id, now)? {
                report.cases_purged.push(id.0);
            }
        }
        let purged: HashSet<u64> = report.findings_purged.iter().copied().collect();
        let with_findings: HashSet<(Platform, String)> = findings
            .values()
            .filter(|f| !purged.contains(&f.id.0))
            .map(|f| (f.platform, f.platform_activity_id.clone()))
            .collect();
        let (minimised, payloads) = self.minimise_activities(policy, &with_findings, now)?;
        report.activities_minimised = minimised;
        report.payloads_deleted = payloads;
        report.findings_purged.sort_unstable();
        self.audit(
            AuditDraft::new(ACTOR, "retention.run", "store").detail(format!(
                "{} temuan, {} kasus dihapus; {} aktivitas diringkas; {} muatan mentah dihapus; {} kasus ditahan",
                report.findings_purged.len(),
                report.cases_purged.len(),
                report.activities_minimised,
                report.payloads_deleted,
                report.cases_held.len()
            )),
            now,
        )?;
        Ok(report)
    }

    /// Removes one finding, its queue entry and history; minimises its activity; keeps its
    /// dedupe key. One transaction with its audit entry.
    fn purge_finding(&self, id: FindingId, why: &str, now: Timestamp) -> Result<bool, StoreError> {
        let Some(finding) = self.finding(id)? else {
            return Ok(false);
        };
        let history_keys: Vec<super::kv::IVec> = self
            .trees
            .history
            .scan_prefix(keys::finding(id))
            .keys()
            .collect::<Result<_, _>>()
            .map_err(StoreError::backend("reading review history"))?;
        let activity_key = keys::activity(finding.platform, &finding.platform_activity_id)?;
        let trees = &self.trees;
        let _gate = self.read_gate();
        (
            &trees.meta,
            &trees.audit,
            &trees.findings,
            &trees.queue,
            &trees.history,
            &trees.cases,
            &trees.purged,
            &trees.activities,
        )
            .transaction(
                |(meta, audit, findings, queue, history, cases, purged, activities)| {
                    let key = keys::finding(id);
                    findings.remove(key)?;
                    for state in ReviewState::ALL {
                        queue.remove(keys::queue(
                            state,
                            finding.detection.severity,
                            finding.created_at,
                            id,
                        ))?;
                    }
                    for history_key in &history_keys {
                        history.remove(history_key)?;
                    }
                    if let Some(case_id) = finding.case_id {
                        let case_key = keys::u64_key(case_id.0);
                        if let Some(bytes) = cases.get(case_key)? {
                            let mut case: Case = decode_tx("cases", &case_key, &bytes)?;
                            case.finding_ids.retain(|f| *f != id);
                            cases.insert(case_key, codec::encode(&case))?;
                        }
                    }
                    purged.insert(key, &keys::time_bytes(now))?;
                    if let Some(bytes) = activities.get(&activity_key)? {
                        let activity: Activity = decode_tx("activities", &activity_key, &bytes)?;
                        activities
                            .insert(activity_key.as_slice(), codec::encode(&minimise(&activity)))?;
                    }
                    let draft = AuditDraft::new(ACTOR, "retention.purge", format!("finding:{id}"))
                        .change(Some(&finding), None::<&()>)
                        .detail(why.to_string());
                    append(meta, audit, &draft, now)?;
                    Ok(())
                },
            )
            .map_err(tx_error("purging a finding"))?;
        self.flush()?;
        Ok(true)
    }

    /// Removes a case whose findings are all gone.
    fn purge_empty_case(&self, id: CaseId, now: Timestamp) -> Result<bool, StoreError> {
        let trees = &self.trees;
        let _gate = self.read_gate();
        let removed = (&trees.meta, &trees.audit, &trees.cases)
            .transaction(|(meta, audit, cases)| {
                let key = keys::u64_key(id.0);
                let Some(bytes) = cases.get(key)? else {
                    return Ok(false);
                };
                let case: Case = decode_tx("cases", &key, &bytes)?;
                if !case.finding_ids.is_empty() || case.legal_hold.is_some() {
                    return Ok(false);
                }
                cases.remove(key)?;
                let draft = AuditDraft::new(ACTOR, "retention.purge", format!("case:{id}"))
                    .change(Some(&case), None::<&()>);
                append(meta, audit, &draft, now)?;
                Ok(true)
            })
            .map_err(tx_error("purging a case"))?;
        self.flush()?;
        Ok(removed)
    }

    /// Reduces old activities without findings to id, times and hash, then deletes raw payloads
    /// that no kept activity needs any more. Returns (activities minimised, payloads deleted).
    fn minimise_activities(
        &self,
        policy: RetentionPolicy,
        with_findings: &HashSet<(Platform, String)>,
        now: Timestamp,
    ) -> Result<(usize, usize), StoreError> {
        let cutoff = now - days(policy.activity_days);
        let mut to_minimise = Vec::new();
        let mut payloads_needed: HashSet<String> = HashSet::new();
        let mut payloads_seen: HashSet<String> = HashSet::new();
        for entry in self.trees.activities.iter() {
            let (key, value) = entry.map_err(StoreError::backend("reading activities"))?;
            let activity: Activity = codec::decode("activities", &key, &value)?;
            let old = activity.observed_at < cutoff;
            let needed = !old
                || with_findings
                    .contains(&(activity.platform, activity.platform_activity_id.clone()));
            if let Some(evidence) = &activity.evidence {
                payloads_seen.insert(evidence.sha256.clone());
                if needed {
                    payloads_needed.insert(evidence.sha256.clone());
                }
            }
            if !needed && !is_minimised(&activity) {
                to_minimise.push((key.to_vec(), activity));
            }
        }
        let mut minimised = 0;
        for chunk in to_minimise.chunks(500) {
            let trees = &self.trees;
            let _gate = self.read_gate();
            (&trees.meta, &trees.audit, &trees.activities)
                .transaction(|(meta, audit, activities)| {
                    for (key, activity) in chunk {
                        activities.insert(key.as_slice(), codec::encode(&minimise(activity)))?;
                    }
                    let ids: Vec<&str> = chunk
                        .iter()
                        .map(|(_, a)| a.platform_activity_id.as_str())
                        .collect();
                    let draft = AuditDraft::new(ACTOR, "retention.minimise", "activities")
                        .change(None::<&()>, Some(&ids))
                        .detail(format!("{} aktivitas tanpa temuan diringkas", chunk.len()));
                    append(meta, audit, &draft, now)?;
                    Ok(())
                })
                .map_err(tx_error("minimising activities"))?;
            minimised += chunk.len();
        }
        let mut deleted = 0;
        let doomed: Vec<String> = payloads_seen
            .difference(&payloads_needed)
            .cloned()
            .collect();
        for sha256 in doomed {
            let key = keys::evidence(&sha256)?;
            let removed = self
                .trees
                .evidence
                .remove(key)
                .map_err(StoreError::backend("deleting a raw payload"))?;
            deleted += usize::from(removed.is_some());
        }
        if deleted > 0 {
            self.audit(
                AuditDraft::new(ACTOR, "retention.payloads", "evidence")
                    .detail(format!("{deleted} muatan mentah lama dihapus")),
                now,
            )?;
        }
        self.flush()?;
        Ok((minimised, deleted))
    }
}
