//! The reviewers' API: findings and cases (lists, one item with its evidence), claims and
//! decisions, the detector on a text, and the audit log. Handlers parse, ask the policy, call
//! the store, and shape the answer per role; nothing else.

use axum::extract::{Path, State};
use axum::Json;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Subject;
use super::body::{ApiJson, ApiQuery};
use super::error::ApiError;
use super::AppState;
use crate::access::{self, Action, Resource, Role, Scope};
use crate::model::{
    ActivityKind, Case, CaseId, Finding, FindingId, Platform, ReviewState, Severity, UnitPath,
};
use crate::review::{self, Command, Level, Verdict};
use crate::store::{AuditDraft, FindingFilter};

/// Largest page a list returns, whatever `limit` asks.
pub const MAX_LIMIT: usize = 100;
const DEFAULT_LIMIT: usize = 50;

fn parse<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    value
        .parse::<T>()
        .map_err(|error| ApiError::bad_request(format!("{name}: {error}")))
}

fn parse_id(what: &str, raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>()
        .map_err(|_| ApiError::bad_request(format!("'{raw}' is not a {what} number")))
}

/// A day (`2024-02-14`, start of day in WIB) or an RFC 3339 instant.
fn parse_time(name: &str, raw: &str) -> Result<Timestamp, ApiError> {
    if let Ok(time) = raw.parse::<Timestamp>() {
        return Ok(time);
    }
    raw.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|date| {
            date.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(7)))
                .ok()
        })
        .map(|zoned| zoned.timestamp())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{name}: '{raw}' is neither a date (2024-02-14) nor an RFC 3339 time"
            ))
        })
}

fn limit_of(raw: Option<&str>) -> Result<usize, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => Ok(parse::<usize>("limit", raw)?.clamp(1, MAX_LIMIT)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingsQuery {
    pub status: Option<String>,
    pub severity: Option<String>,
    pub unit: Option<String>,
    pub platform: Option<String>,
    pub election: Option<String>,
    pub entity: Option<String>,
    pub rule: Option<String>,
    pub employee_id: Option<String>,
    pub case: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub shadow: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

impl FindingsQuery {
    pub fn filter(&self, state: &AppState) -> Result<FindingFilter, ApiError> {
        let mut filter = FindingFilter::default();
        if let Some(raw) = &self.status {
            for part in raw.split(',').filter(|p| !p.trim().is_empty()) {
                filter.states.push(parse::<ReviewState>("status", part)?);
            }
        }
        if let Some(raw) = &self.severity {
            filter.severity = Some(parse::<Severity>("severity", raw)?);
        }
        if let Some(raw) = &self.unit {
            filter.unit = Some(
                UnitPath::parse(raw).map_err(|e| ApiError::bad_request(format!("unit: {e}")))?,
            );
        }
        if let Some(raw) = &self.platform {
            filter.platform = Some(parse::<Platform>("platform", raw)?);
        }
        if let Some(raw) = &self.entity {
            filter.entities.push(raw.trim().to_string());
        }
        if let Some(raw) = &self.election {
            let entities = state.election_entities(raw.trim()).ok_or_else(|| {
                ApiError::bad_request(format!("election: '{raw}' is not in the word lists"))
            })?;
            if filter.entities.is_empty() {
                filter.entities = entities;
            } else {
                filter.entities.retain(|e| entities.contains(e));
                if filter.entities.is_empty() {
                    filter.entities.push(String::from("\u{0}none"));
                }
            }
        }
        filter.rule = self.rule.clone();
        filter.employee_id = self.employee_id.clone();
        if let Some(raw) = &self.case {
            filter.case_id = Some(CaseId(parse_id("case", raw)?));
        }
        if let Some(raw) = &self.from {
            filter.from = Some(parse_time("from", raw)?);
        }
        if let Some(raw) = &self.to {
            filter.to = Some(parse_time("to", raw)?);
        }
        filter.include_shadow = match self.shadow.as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "shadow: '{other}' is not true or false"
                )))
            }
        };
        Ok(filter)
    }
}

/// What a role may see of a finding in a list. Auditors get a pseudonym instead of the NIP.
pub fn finding_summary(
    state: &AppState,
    user_role: Role,
    finding: &Finding,
    now: Timestamp,
) -> Value {
    let detection = &finding.detection;
    let employee = match user_role {
        Role::Auditor => access::pseudonym(&state.pseudonym_key, &finding.employee_id),
        _ => finding.employee_id.clone(),
    };
    json!({
        "id": finding.id.0,
        "platform": finding.platform,
        "activity_id": finding.platform_activity_id,
        "rule": detection.rule_id,
        "category": detection.category,
        "severity": detection.severity,
        "score": detection.score,
        "status": review::effective_state(finding, now),
        "rule_status": detection.status,
        "employee_id": employee,
        "unit": finding.unit.as_ref().map(UnitPath::as_str),
        "entities": detection.entities,
        "reason": detection.reason,
        "case_id": finding.case_id.map(|c| c.0),
        "claimed_by": review::live_claim(finding, now).map(|c| c.user_id.0),
        "claim_until": review::live_claim(finding, now).map(|c| c.until.to_string()),
        "created_at": finding.created_at.to_string(),
    })
}

fn finding_resource(finding: &Finding) -> Resource<'_> {
    Resource {
        unit: finding.unit.as_ref(),
        employee_id: Some(&finding.employee_id),
    }
}

/// `GET /api/v1/findings`
pub async fn list_findings(
    State(state): State<AppState>,
    subject: Subject,
    ApiQuery(query): ApiQuery<FindingsQuery>,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::ReadFindings)?;
    let mut filter = query.filter(&state)?;
    let cursor = query
        .cursor
        .as_deref()
        .map(|c| parse_id("cursor", c))
        .transpose()?;
    let limit = limit_of(query.limit.as_deref())?;
    let now = Timestamp::now();
    let user = subject.user.clone();
    // A unit-bound user sees nothing outside their unit, so scanning with it as the unit filter
    // gives the same page, and the scan skips other units' findings without decoding them.
    if let Scope::Unit(scope) = &user.scope {
        if filter
            .unit
            .as_ref()
            .is_none_or(|unit| scope.is_within(unit))
        {
            filter.unit = Some(scope.clone());
        }
    }
    // The scan reads up to SCAN_BUDGET records: off the async workers, so it never stalls
    // the other requests they serve.
    let store = state.store.clone();
    let scanner = user.clone();
    let page = tokio::task::spawn_blocking(move || {
        store.findings_page(
            &filter,
            &|finding| access::sees_finding(&scanner, finding.unit.as_ref(), &finding.employee_id),
            cursor,
            limit,
            now,
        )
    })
    .await
    .map_err(|_| ApiError::internal())??;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|f| finding_summary(&state, user.role, f, now))
        .collect();
    Ok(Json(
        json!({"items": items, "next_cursor": page.next_cursor.map(|c| c.to_string())}),
    ))
}

/// Loads a finding the subject may act on, or 404 (missing and out of scope look the same).
pub(super) fn visible_finding(
    state: &AppState,
    subject: &Subject,
    action: Action,
    raw_id: &str,
) -> Result<Finding, ApiError> {
    let id = FindingId(parse_id("finding", raw_id)?);
    let finding = state
        .store
        .finding(id)?
        .ok_or_else(|| ApiError::not_found("finding", id))?;
    subject.require_on(state, action, finding_resource(&finding), "finding", raw_id)?;
    Ok(finding)
}

/// `GET /api/v1/findings/{id}`: the finding, its activity (original text, target), evidence
/// metadata and history. Every view is audited.
pub async fn get_finding(
    State(state): State<AppState>,
    subject: Subject,
    Path(raw_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let finding = visible_finding(&state, &subject, Action::ReadFindings, &raw_id)?;
    let now = Timestamp::now();
    let with_evidence = access::role_allows(subject.user.role, Action::ReadEvidence);
    let mut body = finding_summary(&state, subject.user.role, &finding, now);
    body["spans"] = json!(finding.detection.spans);
    body["history"] = json!(state.store.history(finding.id)?);
    if with_evidence {
        let activity = state
            .store
            .activity(finding.platform, &finding.platform_activity_id)?;
        body["activity"] = json!(activity);
        if let Some(evidence) = activity.as_ref().and_then(|a| a.evidence.as_ref()) {
            let stored = state.store.evidence(&evidence.sha256)?;
            body["evidence"] = json!({
                "url": evidence.url,
                "fetched_at": evidence.fetched_at.to_string(),
                "sha256": evidence.sha256,
                "stored": stored.is_some(),
                "status": stored.as_ref().map(|b| b.status),
                "content_type": stored.as_ref().map(|b| b.content_type.clone()),
                "bytes": stored.as_ref().map(|b| b.body.len()),
            });
        }
        if let Some(employee) = state.store.employee(&finding.employee_id)? {
            body["employee"] = json!({
                "employee_id": employee.employee_id,
                "name": employee.name,
                "position": employee.position,
                "unit": employee.unit,
            });
        }
    }
    state.store.audit(
        AuditDraft::new(
            subject.user.actor(),
            if with_evidence {
                "evidence.read"
            } else {
                "finding.read"
            },
            format!("finding:{}", finding.id),
        ),
        now,
    )?;
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    pub status: String,
    pub note: String,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub skb_form: Option<String>,
}

impl DecideBody {
    fn verdict(&self) -> Result<Verdict, ApiError> {
        Ok(Verdict {
            to: parse::<ReviewState>("status", &self.status)?,
            note: self.note.clone(),
            level: self
                .level
                .as_deref()
                .map(|l| parse::<Level>("level", l))
                .transpose()?,
            skb_form: self.skb_form.clone(),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReopenBody {
    pub note: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    pub ids: Vec<u64>,
    #[serde(flatten)]
    pub decision: DecideBody,
}

fn lease(state: &AppState) -> SignedDuration {
    state.claim_lease
}

async fn command(
    state: AppState,
    subject: Subject,
    raw_id: String,
    action: Action,
    command: Command,
) -> Result<Json<Value>, ApiError> {
    let finding = visible_finding(&state, &subject, action, &raw_id)?;
    let now = Timestamp::now();
    let changed = state
        .store
        .review(finding.id, &command, &subject.user, now, lease(&state))?;
    Ok(Json(finding_summary(
        &state,
        subject.user.role,
        &changed,
        now,
    )))
}

/// `POST /api/v1/findings/{id}/claim`
pub async fn claim(
    State(state): State<AppState>,
    subject: Subject,
    Path(raw_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    command(state, subject, raw_id, Action::Review, Command::Claim).await
}

/// `POST /api/v1/findings/{id}/release`
pub async fn release(
    State(state): State<AppState>,
    subject: Subject,
    Path(raw_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    command(state, subject, raw_id, Action::Review, Command::Release).await
}

/// `POST /api/v1/findings/{id}/decide`
pub async fn decide(
    State(state): State<AppState>,
    subject: Subject,
    Path(raw_id): Path<String>,
    ApiJson(body): ApiJson<DecideBody>,
) -> Result<Json<Value>, ApiError> {
    let verdict = body.verdict()?;
    command(
        state,
        subject,
        raw_id,
        Action::Review,
        Command::Decide(verdict),
    )
    .await
}

/// `POST /api/v1/findings/{id}/reopen` (senior reviewers and admins)
pub async fn reopen(
    State(state): State<AppState>,
    subject: Subject,
    Path(raw_id): Path<String>,
    ApiJson(body): ApiJson<ReopenBody>,
) -> Result<Json<Value>, ApiError> {
    command(
        state,
        subject,
        raw_id,
        Action::Reopen,
        Command::Reopen { note: body.note },
    )
    .await
}

/// `POST /api/v1/findings/bulk`: one decision for up to 500 findings, all or none.
pub async fn bulk(
    State(state): State<AppState>,
    subject: Subject,
    ApiJson(body): ApiJson<BulkBody>,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::Review)?;
    if body.ids.is_empty() || body.ids.len() > review::MAX_BULK {
        return Err(ApiError::bad_request(format!(
            "ids: give 1 to {} finding ids, got {}",
            review::MAX_BULK,
            body.ids.len()
        )));
    }
    let verdict = body.decision.verdict()?;
    let mut ids = Vec::with_capacity(body.ids.len());
    for id in &body.ids {
        let finding = visible_finding(&state, &subject, Action::Review, &id.to_string())?;
        ids.push(finding.id);
    }
    let now = Timestamp::now();
    let changed = state.store.review_bulk(
        &ids,
        &Command::Decide(verdict),
        &subject.user,
        now,
        lease(&state),
    )?;
    let items: Vec<Value> = changed
        .iter()
        .map(|f| finding_summary(&state, subject.user.role, f, now))
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasesQuery {
    pub employee_id: Option<String>,
    pub entity: Option<String>,
    pub unit: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

fn case_json(state: &AppState, role: Role, case: &Case) -> Value {
    let employee = match role {
        Role::Auditor => access::pseudonym(&state.pseudonym_key, &case.employee_id),
        _ => case.employee_id.clone(),
    };
    json!({
        "id": case.id.0,
        "employee_id": employee,
        "unit": case.unit.as_ref().map(UnitPath::as_str),
        "entity": case.entity,
        "first_at": case.first_at.to_string(),
        "last_at": case.last_at.to_string(),
        "finding_ids": case.finding_ids.iter().map(|f| f.0).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/cases`
pub async fn list_cases(
    State(state): State<AppState>,
    subject: Subject,
    ApiQuery(query): ApiQuery<CasesQuery>,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::ReadFindings)?;
    let unit = query
        .unit
        .as_deref()
        .map(|u| UnitPath::parse(u).map_err(|e| ApiError::bad_request(format!("unit: {e}"))))
        .transpose()?;
    let cursor = query
        .cursor
        .as_deref()
        .map(|c| parse_id("cursor", c))
        .transpose()?;
    let limit = limit_of(query.limit.as_deref())?;
    let user = subject.user.clone();
    let page = state.store.cases_page(
        &|case| {
            access::sees_finding(&user, case.unit.as_ref(), &case.employee_id)
                && query
                    .employee_id
                    .as_ref()
                    .is_none_or(|e| &case.employee_id == e)
                && query.entity.as_ref().is_none_or(|e| &case.entity == e)
                && unit
                    .as_ref()
                    .is_none_or(|u| case.unit.as_ref().is_some_and(|have| have.is_within(u)))
        },
        cursor,
        limit,
    )?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|c| case_json(&state, user.role, c))
        .collect();
    Ok(Json(
        json!({"items": items, "next_cursor": page.next_cursor.map(|c| c.to_string())}),
    ))
}

/// Loads a case the subject may act on, or 404 (missing and out of scope look the same).
pub(super) fn visible_case(
    state: &AppState,
    subject: &Subject,
    action: Action,
    raw_id: &str,
) -> Result<Case, ApiError> {
    let id = CaseId(parse_id("case", raw_id)?);
    let case = state
        .store
        .case(id)?
        .ok_or_else(|| ApiError::not_found("case", id))?;
    subject.require_on(
        state,
        action,
        Resource {
            unit: case.unit.as_ref(),
            employee_id: Some(&case.employee_id),
        },
        "case",
        raw_id,
    )?;
    Ok(case)
}

/// `GET /api/v1/cases/{id}`: the case with its findings' summaries.
pub async fn get_case(
    State(state): State<AppState>,
    subject: Subject,
    Path(raw_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let case = visible_case(&state, &subject, Action::ReadFindings, &raw_id)?;
    let now = Timestamp::now();
    let mut body = case_json(&state, subject.user.role, &case);
    let mut findings = Vec::new();
    for id in &case.finding_ids {
        if let Some(finding) = state.store.finding(*id)? {
            findings.push(finding_summary(&state, subject.user.role, &finding, now));
        }
    }
    body["findings"] = json!(findings);
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    pub text: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub target_author: Option<String>,
    #[serde(default)]
    pub target_text: Option<String>,
}

/// `POST /api/v1/check`: what the detector would flag in a text, and why.
pub async fn check(
    State(state): State<AppState>,
    subject: Subject,
    ApiJson(body): ApiJson<CheckBody>,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::Check)?;
    let kind = match &body.kind {
        Some(raw) => parse::<ActivityKind>("kind", raw)?,
        None => ActivityKind::Post,
    };
    let Some(judge) = &state.judge else {
        return Err(ApiError::internal());
    };
    let found = judge.check_json(
        &body.text,
        kind,
        body.target_author.as_deref(),
        body.target_text.as_deref(),
    );
    let value: Value = serde_json::from_str(&found).map_err(|_| ApiError::internal())?;
    Ok(Json(value))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub after: Option<String>,
    pub limit: Option<String>,
}

/// `GET /api/v1/audit`: entries after a sequence number, oldest first.
pub async fn audit_log(
    State(state): State<AppState>,
    subject: Subject,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::ReadAudit)?;
    let after = query
        .after
        .as_deref()
        .map(|a| parse_id("audit entry", a))
        .transpose()?
        .unwrap_or(0);
    let limit = limit_of(query.limit.as_deref())?;
    let mut entries = state.store.audit_entries(after, limit)?;
    if subject.user.role == Role::Auditor {
        for entry in &mut entries {
            entry.target = pseudonymise_nips(&state, &entry.target);
            entry.detail = entry
                .detail
                .as_deref()
                .map(|d| pseudonymise_nips(&state, d));
        }
    }
    let next = (entries.len() == limit)
        .then(|| entries.last().map(|e| e.seq.to_string()))
        .flatten();
    Ok(Json(json!({"items": entries, "next_cursor": next})))
}

/// Replaces every 18-digit NIP in a text with its pseudonym (auditors never see a NIP).
fn pseudonymise_nips(state: &AppState, text: &str) -> String {
    static NIP: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\b\d{18}\b").expect("valid pattern"));
    NIP.replace_all(text, |found: &regex::Captures<'_>| {
        access::pseudonym(&state.pseudonym_key, &found[0])
    })
    .into_owned()
}

/// `GET /api/v1/audit/verify`
pub async fn audit_verify(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::ReadAudit)?;
    let report = state.store.verify_audit(None)?;
    Ok(Json(json!(report)))
}
