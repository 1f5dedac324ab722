//! Reports to leadership: what the supervisory team saw and did for one unit subtree over one
//! period ("menyampaikan hasil pelaksanaan pembinaan dan pengawasan netralitas ... kepada
//! pimpinan"), as JSON, CSV or printable HTML with inline SVG charts.
//!
//! [`gather`] reads the store; [`build`] is pure: the same records give the same report, which
//! is what the tests check against a store seeded with known findings and decisions.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use jiff::Timestamp;
use serde::Serialize;

use crate::access::Scope;
use crate::model::{Account, AccountState, Case, Employee, Finding, ReviewState, ScanState};
use crate::review::HistoryEntry;
use crate::store::{Store, StoreError};

/// What a report is about.
#[derive(Debug, Clone)]
pub struct Period {
    pub scope: Scope,
    pub from: Timestamp,
    pub to: Timestamp,
}

/// The records a report is made from.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub employees: Vec<Employee>,
    pub accounts: Vec<Account>,
    pub scan_states: HashMap<u64, ScanState>,
    pub findings: Vec<Finding>,
    pub history: HashMap<u64, Vec<HistoryEntry>>,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub unit: String,
    pub from: String,
    pub to: String,
    pub employees: usize,
    pub accounts: usize,
    pub coverage: Coverage,
    pub findings: usize,
    pub by_category: BTreeMap<String, usize>,
    pub by_severity: BTreeMap<String, usize>,
    pub by_platform: BTreeMap<String, usize>,
    pub by_entity: BTreeMap<String, usize>,
    /// Decisions taken in the period, by the state decided.
    pub decisions: BTreeMap<String, usize>,
    pub recommended_levels: BTreeMap<String, usize>,
    /// Median hours from a finding to its first decision, for findings decided in the period.
    pub median_hours_to_decision: Option<f64>,
    pub escalated_cases: Vec<EscalatedCase>,
    /// Findings per ISO week (`2024-W07`).
    pub weekly: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Active accounts with a successful scan in the period.
    pub scanned: usize,
    /// Active accounts whose last scan failed.
    pub failing: usize,
    /// Accounts gone from their platform (not found, suspended, private).
    pub gone: usize,
    /// Active accounts never scanned successfully in the period.
    pub not_scanned: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EscalatedCase {
    pub case_id: u64,
    pub employee_id: String,
    pub unit: String,
    pub entity: String,
    pub findings: usize,
    pub level: Option<String>,
    pub skb_form: Option<String>,
}

/// Reads what a report needs for `scope` (whole store reads; a report is an occasional job).
pub fn gather(store: &Store, scope: &Scope) -> Result<Inputs, StoreError> {
    let employees: Vec<Employee> = store
        .employees()?
        .into_iter()
        .filter(|e| scope.covers(Some(&e.unit)))
        .collect();
    let in_scope: std::collections::HashSet<&str> =
        employees.iter().map(|e| e.employee_id.as_str()).collect();
    let accounts: Vec<Account> = store
        .accounts()?
        .into_iter()
        .filter(|a| in_scope.contains(a.employee_id.as_str()))
        .collect();
    let scan_states = store
        .scan_states()?
        .into_iter()
        .map(|(id, state)| (id.0, state))
        .collect();
    let findings: Vec<Finding> = store
        .findings()?
        .into_iter()
        .filter(|f| scope.covers(f.unit.as_ref()))
        .collect();
    let mut history = HashMap::new();
    for finding in &findings {
        history.insert(finding.id.0, store.history(finding.id)?);
    }
    let cases = store
        .cases()?
        .into_iter()
        .filter(|c| scope.covers(c.unit.as_ref()))
        .collect();
    Ok(Inputs {
        employees,
        accounts,
        scan_states,
        findings,
        history,
        cases,
    })
}

fn within(at: Timestamp, period: &Period) -> bool {
    at >= period.from && at < period.to
}

fn iso_week(at: Timestamp) -> String {
    let date = at
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(7)))
        .date();
    let week = date.iso_week_date();
    format!("{}-W{:02}", week.year(), week.week())
}

/// The report for `period` from `inputs` (already limited to the period's scope).
pub fn build(inputs: &Inputs, period: &Period) -> Report {
    let mut coverage = Coverage {
        scanned: 0,
        failing: 0,
        gone: 0,
        not_scanned: 0,
    };
    for account in &inputs.accounts {
        match &account.state {
            AccountState::NotFound | AccountState::Suspended | AccountState::Private => {
                coverage.gone += 1;
                continue;
            }
            _ if !account.active => continue,
            AccountState::Failing { .. } => coverage.failing += 1,
            _ => {}
        }
        let scanned = inputs
            .scan_states
            .get(&account.id.0)
            .and_then(|s| s.last_success_at)
            .is_some_and(|at| at >= period.from);
        if scanned {
            coverage.scanned += 1;
        } else if !matches!(account.state, AccountState::Failing { .. }) {
            coverage.not_scanned += 1;
        }
    }
    let mut report = Report {
        unit: period.scope.to_string(),
        from: period.from.to_string(),
        to: period.to.to_string(),
        employees: inputs.employees.len(),
        accounts: inputs.accounts.len(),
        coverage,
        findings: 0,
        by_category: BTreeMap::new(),
        by_severity: BTreeMap::new(),
        by_platform: BTreeMap::new(),
        by_entity: BTreeMap::new(),
        decisions: BTreeMap::new(),
        recommended_levels: BTreeMap::new(),
        median_hours_to_decision: None,
        escalated_cases: Vec::new(),
        weekly: BTreeMap::new(),
    };
    let bump = |map: &mut BTreeMap<String, usize>, key: &str| {
        *map.entry(key.to_string()).or_insert(0) += 1;
    };
    let mut waits = Vec::new();
    for finding in &inputs.findings {
        let detection = &finding.detection;
        if within(finding.created_at, period)
            && detection.status == crate::model::RuleStatus::Active
        {
            report.findings += 1;
            bump(&mut report.by_category, detection.category.as_str());
            bump(&mut report.by_severity, detection.severity.as_str());
            bump(&mut report.by_platform, finding.platform.as_str());
            for entity in &detection.entities {
                bump(&mut report.by_entity, entity);
            }
            bump(&mut report.weekly, &iso_week(finding.created_at));
        }
        let history = inputs
            .history
            .get(&finding.id.0)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let decisions: Vec<&HistoryEntry> =
            history.iter().filter(|h| h.action == "decide").collect();
        for decision in &decisions {
            if within(decision.at, period) {
                bump(&mut report.decisions, decision.to.as_str());
                if let Some(level) = decision.level {
                    bump(&mut report.recommended_levels, level.as_str());
                }
            }
        }
        if let Some(first) = decisions.first() {
            if within(first.at, period) {
                waits.push(first.at.duration_since(finding.created_at).as_secs_f64() / 3600.0);
            }
        }
    }
    waits.sort_by(f64::total_cmp);
    report.median_hours_to_decision = match waits.len() {
        0 => None,
        n if n % 2 == 1 => Some(waits[n / 2]),
        n => Some((waits[n / 2 - 1] + waits[n / 2]) / 2.0),
    };
    let findings: HashMap<u64, &Finding> = inputs.findings.iter().map(|f| (f.id.0, f)).collect();
    for case in &inputs.cases {
        let escalated: Vec<&Finding> = case
            .finding_ids
            .iter()
            .filter_map(|id| findings.get(&id.0).copied())
            .filter(|f| {
                matches!(
                    f.review_state,
                    ReviewState::Escalated | ReviewState::Reported
                )
            })
            .collect();
        if escalated.is_empty() {
            continue;
        }
        let last_escalation = escalated
            .iter()
            .flat_map(|f| inputs.history.get(&f.id.0).into_iter().flatten())
            .filter(|h| h.to == ReviewState::Escalated)
            .max_by_key(|h| h.at);
        if last_escalation.is_none_or(|h| h.at >= period.to) {
            continue;
        }
        report.escalated_cases.push(EscalatedCase {
            case_id: case.id.0,
            employee_id: case.employee_id.clone(),
            unit: case
                .unit
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_default(),
            entity: case.entity.clone(),
            findings: escalated.len(),
            level: last_escalation
                .and_then(|h| h.level)
                .map(|l| l.as_str().to_string()),
            skb_form: last_escalation.and_then(|h| h.skb_form.clone()),
        });
    }
    report
}

/// One `section,key,value` row per figure.
pub fn to_csv(report: &Report) -> String {
    let mut out = String::from("section,key,value\n");
    let mut row = |section: &str, key: &str, value: String| {
        let quote = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let _ = writeln!(out, "{},{},{}", quote(section), quote(key), quote(&value));
    };
    row("period", "unit", report.unit.clone());
    row("period", "from", report.from.clone());
    row("period", "to", report.to.clone());
    row("registry", "employees", report.employees.to_string());
    row("registry", "accounts", report.accounts.to_string());
    row("coverage", "scanned", report.coverage.scanned.to_string());
    row("coverage", "failing", report.coverage.failing.to_string());
    row("coverage", "gone", report.coverage.gone.to_string());
    row(
        "coverage",
        "not_scanned",
        report.coverage.not_scanned.to_string(),
    );
    row("findings", "total", report.findings.to_string());
    for (section, map) in [
        ("category", &report.by_category),
        ("severity", &report.by_severity),
        ("platform", &report.by_platform),
        ("entity", &report.by_entity),
        ("decision", &report.decisions),
        ("recommended_level", &report.recommended_levels),
        ("week", &report.weekly),
    ] {
        for (key, value) in map {
            row(section, key, value.to_string());
        }
    }
    row(
        "decisions",
        "median_hours_to_decision",
        report
            .median_hours_to_decision
            .map(|h| format!("{h:.1}"))
            .unwrap_or_default(),
    );
    for case in &report.escalated_cases {
        row(
            "escalated_case",
            &case.case_id.to_string(),
            format!(
                "{} {} {} ({} temuan, {}, {})",
                case.employee_id,
                case.unit,
                case.entity,
                case.findings,
                case.level.as_deref().unwrap_or("-"),
                case.skb_form.as_deref().unwrap_or("-")
            ),
        );
    }
    out
}

fn esc(text: &str) -> String {
    crate::http::web::esc(text)
}

/// A horizontal bar chart as inline SVG.
fn bars(map: &BTreeMap<String, usize>) -> String {
    if map.is_empty() {
        return "<p class=\"muted\">—</p>".into();
    }
    let max = map.values().copied().max().unwrap_or(1).max(1) as f64;
    let height = map.len() * 22 + 4;
    let mut svg = format!(
        "<svg width=\"640\" height=\"{height}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">"
    );
    for (i, (label, value)) in map.iter().enumerate() {
        let y = i * 22 + 2;
        let width = (*value as f64 / max * 380.0).round();
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"200\" y=\"{y}\" width=\"{width}\" height=\"16\" fill=\"#7a1020\"/>\
             <text x=\"{}\" y=\"{}\">{value}</text>",
            y + 13,
            esc(label),
            205.0 + width,
            y + 13
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Printable HTML (A4), in Bahasa Indonesia.
pub fn to_html(report: &Report) -> String {
    let mut body = format!(
        "<h1>Laporan pengawasan netralitas ASN</h1>\
         <p>Unit <strong>{}</strong>, periode {} s.d. {}</p>\
         <h2>Pendaftaran dan cakupan pemindaian</h2>\
         <table><tr><td>Pegawai terdaftar</td><td>{}</td></tr><tr><td>Akun terdaftar</td><td>{}</td></tr>\
         <tr><td>Akun terpindai dalam periode</td><td>{}</td></tr><tr><td>Akun gagal dipindai</td><td>{}</td></tr>\
         <tr><td>Akun hilang (tidak ditemukan, ditangguhkan, privat)</td><td>{}</td></tr>\
         <tr><td>Akun belum terpindai</td><td>{}</td></tr></table>\
         <h2>Temuan: {}</h2>",
        esc(&report.unit),
        esc(&report.from),
        esc(&report.to),
        report.employees,
        report.accounts,
        report.coverage.scanned,
        report.coverage.failing,
        report.coverage.gone,
        report.coverage.not_scanned,
        report.findings
    );
    for (title, map) in [
        ("Menurut bentuk pelanggaran (SKB)", &report.by_category),
        ("Menurut tingkat keparahan", &report.by_severity),
        ("Menurut platform", &report.by_platform),
        ("Menurut calon/partai", &report.by_entity),
        ("Tren per minggu", &report.weekly),
        ("Putusan dalam periode", &report.decisions),
        ("Rekomendasi sanksi", &report.recommended_levels),
    ] {
        let _ = write!(body, "<h3>{title}</h3>{}", bars(map));
    }
    let _ = write!(
        body,
        "<p>Median waktu dari temuan ke putusan: <strong>{}</strong></p><h2>Kasus yang dieskalasi</h2>",
        report
            .median_hours_to_decision
            .map(|h| format!("{h:.1} jam"))
            .unwrap_or_else(|| "—".into())
    );
    if report.escalated_cases.is_empty() {
        body.push_str("<p>Tidak ada.</p>");
    } else {
        body.push_str("<table><tr><th>Kasus</th><th>NIP</th><th>Unit</th><th>Entitas</th><th>Temuan</th><th>Rekomendasi</th><th>Bentuk SKB</th></tr>");
        for case in &report.escalated_cases {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                case.case_id,
                esc(&case.employee_id),
                esc(&case.unit),
                esc(&case.entity),
                case.findings,
                esc(case.level.as_deref().unwrap_or("—")),
                esc(case.skb_form.as_deref().unwrap_or("—"))
            );
        }
        body.push_str("</table>");
    }
    format!(
        "<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\"><title>Laporan netralitas ASN</title>\
         <style>@page{{size:A4;margin:18mm}}body{{font-family:serif;color:#111;max-width:180mm;margin:auto}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #999;padding:2px 6px;text-align:left}}\
         h1{{font-size:18pt}}h2{{font-size:14pt;margin-top:1.2em}}h3{{font-size:11pt}}.muted{{color:#666}}\
         svg{{break-inside:avoid}}</style></head><body>{body}\
         <p class=\"muted\">Dibuat oleh Netra pada {}</p></body></html>",
        Timestamp::now().strftime("%Y-%m-%d %H:%M UTC")
    )
}
