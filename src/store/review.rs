//! Review decisions, their history, cases, and the paged queries the API lists from.
//!
//! Each decision is one transaction: the finding, its queue entry, a history line and an audit
//! entry change together. The rules themselves are [`crate::review::apply`], run inside the
//! transaction on the stored finding, so a race between two reviewers has one winner.

use super::kv::Transactional;
use super::kv::{ConflictableTransactionError, TransactionalTree};
use jiff::{SignedDuration, Timestamp};

use super::audit::{append, AuditDraft};
use super::records::decode_tx;
use super::{codec, keys, tx_error, Store, StoreError, TxResult};
use crate::access::User;
use crate::model::{
    Case, CaseId, Finding, FindingId, Platform, ReviewState, RuleStatus, Severity, UnitPath,
};
use crate::review::{self, Command, HistoryEntry, Reviewer};

/// Most records one list request reads before it answers with what it has and a cursor; keeps
/// a selective filter over a million findings from holding a worker for seconds.
const SCAN_BUDGET: usize = 20_000;

/// Filters of the findings list; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Effective states (an expired claim counts as released).
    pub states: Vec<ReviewState>,
    pub severity: Option<Severity>,
    pub unit: Option<UnitPath>,
    pub platform: Option<Platform>,
    /// Any of these entities.
    pub entities: Vec<String>,
    pub rule: Option<String>,
    pub employee_id: Option<String>,
    pub case_id: Option<CaseId>,
    /// Created at or after / before.
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Shadow-rule findings are for rule authors; the queue hides them unless asked.
    pub include_shadow: bool,
}

impl FindingFilter {
    pub fn matches(&self, finding: &Finding, now: Timestamp) -> bool {
        let detection = &finding.detection;
        (self.states.is_empty() || self.states.contains(&review::effective_state(finding, now)))
            && self.severity.is_none_or(|s| detection.severity == s)
            && self.unit.as_ref().is_none_or(|unit| {
                finding
                    .unit
                    .as_ref()
                    .is_some_and(|have| have.is_within(unit))
            })
            && self.platform.is_none_or(|p| finding.platform == p)
            && (self.entities.is_empty()
                || detection.entities.iter().any(|e| self.entities.contains(e)))
            && self.rule.as_ref().is_none_or(|r| &detection.rule_id == r)
            && self
                .employee_id
                .as_ref()
                .is_none_or(|e| &finding.employee_id == e)
            && self.case_id.is_none_or(|c| finding.case_id == Some(c))
            && self.from.is_none_or(|t| finding.created_at >= t)
            && self.to.is_none_or(|t| finding.created_at < t)
            && (self.include_shadow || detection.status == RuleStatus::Active)
    }
}

impl FindingFilter {
    /// Byte strings that the stored JSON of every finding this filter matches contains: a
    /// record lacking one of them cannot match, so a scan skips it without decoding it.
    ///
    /// Exact because stored findings are compact serde_json (`"key":value`, no spaces) of a
    /// [`Finding`], written by `codec::encode` (dump import re-encodes them the same way), and
    /// a value's JSON form is fixed. A record holding them all is still decoded and checked
    /// with [`FindingFilter::matches`]. Review state is not pre-checked: an expired claim
    /// changes it without a write.
    fn required_bytes(&self) -> Vec<Vec<u8>> {
        fn pair(key: &str, value: &impl serde::Serialize) -> Vec<u8> {
            let mut bytes = format!("\"{key}\":").into_bytes();
            serde_json::to_writer(&mut bytes, value).expect("filter values serialise to JSON");
            bytes
        }
        let mut needles = Vec::new();
        if let Some(unit) = &self.unit {
            // Without the closing quote, so the units below it pass too.
            let mut needle = pair("unit", &unit.as_str());
            needle.pop();
            needles.push(needle);
        }
        if let Some(severity) = self.severity {
            needles.push(pair("severity", &severity));
        }
        if let Some(platform) = self.platform {
            needles.push(pair("platform", &platform));
        }
        if let Some(rule) = &self.rule {
            needles.push(pair("rule_id", rule));
        }
        if let Some(employee_id) = &self.employee_id {
            needles.push(pair("employee_id", employee_id));
        }
        if !self.include_shadow {
            needles.push(pair("status", &RuleStatus::Active));
        }
        needles
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let mut from = 0;
    while let Some(at) = haystack[from..].iter().position(|&b| b == first) {
        let start = from + at + 1;
        if haystack[start..].starts_with(rest) {
            return true;
        }
        from = start;
    }
    false
}

/// One page of a list, newest first, and where the next page starts (exclusive).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<u64>,
}

impl<T> Page<T> {
    /// The page a newest-first scan produced: a cursor when it stopped at `limit` or at the scan
    /// budget with older records left.
    fn after_scan(items: Vec<T>, limit: usize, scanned: usize, last_key: Option<u64>) -> Page<T> {
        let more =
            last_key.is_some_and(|id| id > 1) && (items.len() == limit || scanned >= SCAN_BUDGET);
        Page {
            items,
            next_cursor: if more { last_key } else { None },
        }
    }
}

fn queue_key(finding: &Finding) -> Option<[u8; 18]> {
    (finding.detection.status == RuleStatus::Active).then(|| {
        keys::queue(
            finding.review_state,
            finding.detection.severity,
            finding.created_at,
            finding.id,
        )
    })
}

/// meta, audit, findings, queue, history.
type ReviewTrees<'t> = (
    TransactionalTree<'t>,
    TransactionalTree<'t>,
    TransactionalTree<'t>,
    TransactionalTree<'t>,
    TransactionalTree<'t>,
);

/// Applies `rule` to the stored finding inside a transaction; returns the changed finding, or
/// the rule's refusal (which the caller turns into an abort or a bulk error).
fn review_in_tx(
    (meta, audit, findings, queue, history): &ReviewTrees<'_>,
    id: FindingId,
    actor: &str,
    now: Timestamp,
    rule: &dyn Fn(&Finding) -> Result<review::Applied, review::ReviewError>,
) -> TxResult<Result<Finding, review::ReviewError>> {
    let key = keys::finding(id);
    let Some(bytes) = findings.get(key)? else {
        return Err(ConflictableTransactionError::Abort(StoreError::NotFound {
            what: "finding",
            id: id.to_string(),
        }));
    };
    let before: Finding = decode_tx("findings", &key, &bytes)?;
    let applied = match rule(&before) {
        Ok(applied) => applied,
        Err(error) => return Ok(Err(error)),
    };
    if let Some(old) = queue_key(&before) {
        queue.remove(old)?;
    }
    if let Some(new) = queue_key(&applied.finding) {
        queue.insert(new, &[])?;
    }
    findings.insert(key, codec::encode(&applied.finding))?;
    let mut draft = AuditDraft::new(
        actor,
        format!("finding.{}", applied.entry.action),
        format!("finding:{id}"),
    )
    .change(Some(&before), Some(&applied.finding))
    .detail(format!(
        "{} → {}",
        applied.entry.from.as_str(),
        applied.entry.to.as_str()
    ));
    if let Some(note) = &applied.entry.note {
        draft.detail = Some(format!(
            "{}: {}",
            draft.detail.unwrap_or_default(),
            note.chars().take(200).collect::<String>()
        ));
    }
    let entry = append(meta, audit, &draft, now)?;
    let mut history_key = keys::finding(id).to_vec();
    history_key.extend_from_slice(&keys::u64_key(entry.seq));
    history.insert(history_key, codec::encode(&applied.entry))?;
    Ok(Ok(applied.finding))
}

impl Store {
    /// Runs `work` in one transaction over the trees a review decision changes.
    fn review_transaction<T>(
        &self,
        action: &str,
        work: impl Fn(&ReviewTrees<'_>) -> TxResult<T>,
    ) -> Result<T, StoreError> {
        let trees = &self.trees;
        let _gate = self.read_gate();
        (
            &trees.meta,
            &trees.audit,
            &trees.findings,
            &trees.queue,
            &trees.history,
        )
            .transaction(|trees| work(trees))
            .map_err(tx_error(action))
    }

    /// Claims, releases, decides or reopens one finding as `user`.
    pub fn review(
        &self,
        id: FindingId,
        command: &Command,
        user: &User,
        now: Timestamp,
        lease: SignedDuration,
    ) -> Result<Finding, StoreError> {
        let by = Reviewer {
            id: user.id,
            name: &user.name,
        };
        let actor = user.actor();
        let outcome = self.review_transaction("recording a review decision", |trees| {
            review_in_tx(trees, id, &actor, now, &|finding| {
                review::apply(finding, command, by, now, lease)
            })
        })?;
        let finding = outcome?;
        self.flush()?;
        Ok(finding)
    }

    /// One decision over many findings (at most [`review::MAX_BULK`]): all of them change, or
    /// none does and the error lists every refusal.
    pub fn review_bulk(
        &self,
        ids: &[FindingId],
        command: &Command,
        user: &User,
        now: Timestamp,
        lease: SignedDuration,
    ) -> Result<Vec<Finding>, StoreError> {
        if ids.is_empty() || ids.len() > review::MAX_BULK {
            return Err(StoreError::Invalid {
                what: "bulk decision",
                reason: format!(
                    "needs 1 to {} findings, got {}",
                    review::MAX_BULK,
                    ids.len()
                ),
            });
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = ids.iter().find(|id| !seen.insert(**id)) {
            return Err(StoreError::Invalid {
                what: "bulk decision",
                reason: format!("finding {dup} is listed twice"),
            });
        }
        let by = Reviewer {
            id: user.id,
            name: &user.name,
        };
        let actor = user.actor();
        let changed = self.review_transaction("recording a bulk decision", |trees| {
            let mut changed = Vec::with_capacity(ids.len());
            let mut refused = Vec::new();
            for id in ids {
                let rule = |finding: &Finding| review::apply(finding, command, by, now, lease);
                match review_in_tx(trees, *id, &actor, now, &rule) {
                    Ok(Ok(finding)) => changed.push(finding),
                    Ok(Err(error)) => refused.push(error.to_string()),
                    Err(ConflictableTransactionError::Abort(error)) => {
                        refused.push(error.to_string())
                    }
                    Err(other) => return Err(other),
                }
            }
            if refused.is_empty() {
                Ok(changed)
            } else {
                Err(ConflictableTransactionError::Abort(StoreError::Bulk(
                    refused,
                )))
            }
        })?;
        self.flush()?;
        Ok(changed)
    }

    /// Returns findings whose claim ran out to the state before the claim, so the stored queue
    /// matches what reviewers see. Run periodically by `serve`.
    pub fn release_expired_claims(&self, now: Timestamp) -> Result<usize, StoreError> {
        let mut expired = Vec::new();
        for entry in self.trees.queue.scan_prefix([ReviewState::InReview.code()]) {
            let (key, _) = entry.map_err(StoreError::backend("reading the review queue"))?;
            let id = keys::finding_from_queue(&key)?;
            if let Some(finding) = self.finding(id)? {
                if let Some(claim) = &finding.claim {
                    if claim.until <= now {
                        expired.push(id);
                    }
                }
            }
        }
        let mut released = 0;
        for id in expired {
            let changed = self.review_transaction("releasing an expired claim", |trees| {
                // Renewed or decided meanwhile: `expire` refuses and nothing changes.
                review_in_tx(trees, id, "system:lease-expiry", now, &|finding| {
                    review::expire(finding, now)
                })
            })?;
            released += usize::from(changed.is_ok());
        }
        if released > 0 {
            self.flush()?;
        }
        Ok(released)
    }

    /// The history of a finding, oldest first.
    pub fn history(&self, id: FindingId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.trees
            .history
            .scan_prefix(keys::finding(id))
            .map(|entry| {
                let (key, value) = entry.map_err(StoreError::backend("reading review history"))?;
                codec::decode("history", &key, &value)
            })
            .collect()
    }

    /// A page of findings, newest first, that pass `filter` and `visible`, starting below
    /// `before` (a cursor from the previous page).
    pub fn findings_page(
        &self,
        filter: &FindingFilter,
        visible: &dyn Fn(&Finding) -> bool,
        before: Option<u64>,
        limit: usize,
        now: Timestamp,
    ) -> Result<Page<Finding>, StoreError> {
        let end = keys::u64_key(before.unwrap_or(u64::MAX));
        let needles = filter.required_bytes();
        let mut items = Vec::with_capacity(limit);
        let mut scanned = 0usize;
        let mut last_key = None;
        for entry in self.trees.findings.range(..end).rev() {
            let (key, value) = entry.map_err(StoreError::backend("reading findings"))?;
            scanned += 1;
            let id = keys::u64_from_key(&key, "finding key")?;
            last_key = Some(id);
            let json = codec::json_part("findings", &key, &value)?;
            if !needles.iter().all(|needle| contains(json, needle)) {
                if scanned >= SCAN_BUDGET {
                    break;
                }
                continue;
            }
            let finding: Finding = codec::decode("findings", &key, &value)?;
            if filter.matches(&finding, now) && visible(&finding) {
                items.push(finding);
                if items.len() == limit {
                    break;
                }
            }
            if scanned >= SCAN_BUDGET {
                break;
            }
        }
        Ok(Page::after_scan(items, limit, scanned, last_key))
    }

    pub fn cases(&self) -> Result<Vec<Case>, StoreError> {
        self.all_records("cases", &self.trees.cases)
    }

    pub fn case(&self, id: CaseId) -> Result<Option<Case>, StoreError> {
        self.get_record("cases", &self.trees.cases, &keys::u64_key(id.0))
    }

    /// A page of cases, newest first, that pass `keep`.
    pub fn cases_page(
        &self,
        keep: &dyn Fn(&Case) -> bool,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Page<Case>, StoreError> {
        let end = keys::u64_key(before.unwrap_or(u64::MAX));
        let mut items = Vec::with_capacity(limit);
        let mut scanned = 0usize;
        let mut last_key = None;
        for entry in self.trees.cases.range(..end).rev() {
            let (key, value) = entry.map_err(StoreError::backend("reading cases"))?;
            scanned += 1;
            last_key = Some(keys::u64_from_key(&key, "case key")?);
            let case: Case = codec::decode("cases", &key, &value)?;
            if keep(&case) {
                items.push(case);
                if items.len() == limit {
                    break;
                }
            }
            if scanned >= SCAN_BUDGET {
                break;
            }
        }
        Ok(Page::after_scan(items, limit, scanned, last_key))
    }
}

/// Puts a new finding into its case inside the ingest transaction: the employee's latest case
/// about the same entity if the finding falls within `window` of it, else a new case.
pub(super) fn assign_case(
    meta: &TransactionalTree,
    cases: &TransactionalTree,
    by_subject: &TransactionalTree,
    finding: &Finding,
    occurred_at: Timestamp,
    window: SignedDuration,
) -> TxResult<CaseId> {
    let entity = finding
        .detection
        .entities
        .first()
        .cloned()
        .unwrap_or_default();
    let mut subject = finding.employee_id.as_bytes().to_vec();
    subject.push(0);
    subject.extend_from_slice(entity.as_bytes());
    if let Some(id_bytes) = by_subject.get(&subject)? {
        let case_key: [u8; 8] = id_bytes.as_ref().try_into().unwrap_or([0; 8]);
        if let Some(bytes) = cases.get(case_key)? {
            let mut case: Case = decode_tx("cases", &case_key, &bytes)?;
            let near =
                occurred_at <= case.last_at + window && occurred_at + window >= case.first_at;
            if near {
                case.first_at = case.first_at.min(occurred_at);
                case.last_at = case.last_at.max(occurred_at);
                case.finding_ids.push(finding.id);
                cases.insert(case_key, codec::encode(&case))?;
                return Ok(case.id);
            }
        }
    }
    let id = CaseId(super::next_id(meta, keys::META_NEXT_CASE_ID)?);
    let case = Case {
        id,
        employee_id: finding.employee_id.clone(),
        unit: finding.unit.clone(),
        entity,
        first_at: occurred_at,
        last_at: occurred_at,
        finding_ids: vec![finding.id],
        legal_hold: None,
    };
    let key = keys::u64_key(id.0);
    cases.insert(key, codec::encode(&case))?;
    by_subject.insert(subject, &key)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccountId, Category, Detection, Span, SpanField};

    fn finding(n: u64, unit: &str, rule: &str, employee: &str, status: RuleStatus) -> Finding {
        let severities = [Severity::Low, Severity::Medium, Severity::High];
        Finding {
            id: FindingId(n),
            platform: Platform::ALL[n as usize % Platform::ALL.len()],
            platform_activity_id: format!("act-{n}"),
            account_id: AccountId(n),
            employee_id: employee.into(),
            detection: Detection {
                rule_id: rule.into(),
                category: Category::InviteToVote,
                severity: severities[n as usize % 3],
                status,
                score: 0.8,
                entities: vec!["pilpres2024:02".into()],
                spans: vec![Span {
                    field: SpanField::Text,
                    start: 0,
                    end: 3,
                    // Text that looks like the fields a pre-check looks for.
                    text: "\"unit\":\"kemenkumham/x\" \"severity\":\"high\"".into(),
                }],
                reason: "\"status\":\"active\"".into(),
            },
            review_state: ReviewState::New,
            created_at: Timestamp::from_second(1_732_000_000).unwrap(),
            unit: (!unit.is_empty()).then(|| UnitPath::parse(unit).unwrap()),
            case_id: None,
            claim: None,
            last_seen_at: None,
            gone_at: None,
        }
    }

    /// The pre-check on stored bytes never drops a finding that the filter matches, and does
    /// drop some that it does not.
    #[test]
    fn required_bytes_are_in_every_matching_record() {
        let units = [
            "",
            "kemenkumham",
            "kemenkumham/kanwil-jateng",
            "kemenkumham/kanwil-jateng/rutan",
            "kemenkumham/kanwil-jateng/rutan-2",
            "kemenkumham/kanwil-sumsel/rutan",
        ];
        let rules = ["ajakan", "ajakan-2", "r\"quoted\\", "aturan-ü"];
        let employees = ["19850101", "1985010", "nip \"x\""];
        let mut findings = Vec::new();
        let mut n = 0;
        for unit in units {
            for rule in rules {
                for employee in employees {
                    for status in [RuleStatus::Active, RuleStatus::Shadow] {
                        n += 1;
                        findings.push(finding(n, unit, rule, employee, status));
                    }
                }
            }
        }
        let mut filters = vec![FindingFilter::default()];
        for unit in units.iter().filter(|u| !u.is_empty()) {
            filters.push(FindingFilter {
                unit: Some(UnitPath::parse(unit).unwrap()),
                ..FindingFilter::default()
            });
        }
        for severity in [Severity::Low, Severity::Medium, Severity::High] {
            filters.push(FindingFilter {
                severity: Some(severity),
                include_shadow: true,
                ..FindingFilter::default()
            });
        }
        for platform in Platform::ALL {
            filters.push(FindingFilter {
                platform: Some(platform),
                ..FindingFilter::default()
            });
        }
        for rule in rules {
            filters.push(FindingFilter {
                rule: Some(rule.into()),
                ..FindingFilter::default()
            });
        }
        for employee in employees {
            filters.push(FindingFilter {
                employee_id: Some(employee.into()),
                unit: Some(UnitPath::parse("kemenkumham/kanwil-jateng").unwrap()),
                severity: Some(Severity::High),
                ..FindingFilter::default()
            });
        }
        let now = Timestamp::from_second(1_732_000_100).unwrap();
        let mut skipped = 0;
        for filter in &filters {
            let needles = filter.required_bytes();
            for finding in &findings {
                let stored = codec::encode(finding);
                let passes = needles.iter().all(|needle| contains(&stored[1..], needle));
                if filter.matches(finding, now) {
                    assert!(
                        passes,
                        "{filter:?} matches {finding:?} but the pre-check drops it"
                    );
                } else {
                    skipped += usize::from(!passes);
                }
            }
        }
        assert!(skipped > 1000, "the pre-check skipped only {skipped}");
    }

    #[test]
    fn contains_finds_needles_anywhere() {
        assert!(contains(b"abcabd", b"abd"));
        assert!(contains(b"abd", b"abd"));
        assert!(contains(b"abd", b""));
        assert!(!contains(b"abcab", b"abd"));
        assert!(!contains(b"", b"a"));
    }
}
