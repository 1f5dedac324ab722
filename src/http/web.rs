//! The reviewers' and registrars' web page, in Bahasa Indonesia: server-rendered HTML with a
//! small stylesheet and a few lines of script for keyboard shortcuts; no framework.
//!
//! Every value is escaped on the way out ([`esc`]); every form carries the session's CSRF token
//! and cross-site posts are refused before they reach a handler (see [`super::session`]). The
//! page asks the same policy as the API ([`crate::access::authorize`]) and calls the same store
//! operations, so it can never do more than the API would let the same user do.

use std::collections::HashMap;
use std::fmt::Write;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use jiff::Timestamp;

use super::auth::Subject;
use super::error::ApiError;
use super::{session, AppState};
use crate::access::{self, Action, Resource, Role};
use crate::model::{ActivityKind, Category, Finding, ReviewState, SpanField, UnitPath};
use crate::review::{self, Command, Level, Verdict};
use crate::store::{AuditDraft, FindingFilter};

/// The page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/antrian") }))
        .route("/masuk", get(login_page).post(login))
        .route("/keluar", post(logout))
        .route("/antrian", get(queue))
        .route("/temuan/{id}", get(finding_page))
        .route("/temuan/{id}/putusan", post(decide))
        .route("/akun", get(accounts_page))
        .route("/akun/impor", post(import_accounts))
        .route("/akun/{employee}/nonaktif", post(deactivate))
        .route("/dipantau", get(watched_page))
        .route("/laporan", get(report_page))
        .route("/kasus/{id}/paket", get(packet_page))
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The original text with the matched byte ranges marked. Ranges that do not fall on
/// character boundaries are ignored rather than trusted.
pub fn highlight(text: &str, ranges: &[(usize, usize)]) -> String {
    let mut ranges: Vec<(usize, usize)> = ranges
        .iter()
        .copied()
        .filter(|(s, e)| s < e && *e <= text.len())
        .filter(|(s, e)| text.is_char_boundary(*s) && text.is_char_boundary(*e))
        .collect();
    ranges.sort();
    let mut out = String::new();
    let mut at = 0;
    for (start, end) in ranges {
        if start < at {
            continue;
        }
        out.push_str(&esc(&text[at..start]));
        let _ = write!(out, "<mark>{}</mark>", esc(&text[start..end]));
        at = end;
    }
    out.push_str(&esc(&text[at..]));
    out
}

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0;color:#1d2530;background:#f5f6f8}
header{background:#7a1020;color:#fff;padding:.6rem 1rem;display:flex;gap:1.2rem;align-items:center}
header a{color:#fff;text-decoration:none}header form{margin-left:auto}
main{padding:1rem;max-width:70rem;margin:auto}
table{border-collapse:collapse;width:100%;background:#fff}
td,th{padding:.35rem .5rem;border-bottom:1px solid #dde;text-align:left;vertical-align:top}
tr.row.selected{outline:2px solid #7a1020;background:#fff4f4}
.group{margin:1rem 0 .3rem;font-weight:600}
.sev-high{color:#b00020;font-weight:600}.sev-medium{color:#a05a00}.sev-low{color:#466}
mark{background:#ffe066;padding:0 .1em}
.card{background:#fff;padding:1rem;margin:.8rem 0;border:1px solid #dde;border-radius:6px}
.muted{color:#667}header .muted{color:#f3d6da}.error{color:#b00020}
blockquote{white-space:pre-wrap;margin:.3rem 0;padding:.5rem;background:#fafafa;border-left:3px solid #ccd}
form.inline{display:inline}
kbd{border:1px solid #aab;border-radius:3px;padding:0 .3em;font-size:.85em}
";

/// j/k move through the queue, o opens; on a finding d/e/n choose a decision and focus the note.
const SCRIPT: &str = r#"
(function(){
  var rows=[].slice.call(document.querySelectorAll('tr.row'));var i=0;
  function sel(n){if(!rows.length)return;rows[i].classList.remove('selected');i=Math.max(0,Math.min(rows.length-1,n));rows[i].classList.add('selected');rows[i].scrollIntoView({block:'nearest'});}
  if(rows.length)sel(0);
  document.addEventListener('keydown',function(ev){
    var t=ev.target.tagName;if(t==='INPUT'||t==='TEXTAREA'||t==='SELECT')return;
    if(ev.key==='j')sel(i+1);else if(ev.key==='k')sel(i-1);
    else if(ev.key==='o'&&rows.length){location.href=rows[i].dataset.href;}
    else{var m={d:'dismissed',e:'escalated',n:'needs_info'}[ev.key];var f=document.getElementById('decide');
      if(m&&f){f.status.value=m;f.note.focus();ev.preventDefault();}}
  });
})();
"#;

fn layout(title: &str, subject: Option<&Subject>, body: &str) -> Html<String> {
    let mut nav = String::new();
    if let Some(subject) = subject {
        let user = &subject.user;
        let _ = write!(
            nav,
            "<a href=\"/antrian\">Antrian</a><a href=\"/akun\">Akun terdaftar</a><a href=\"/laporan\">Laporan</a>{}\
             <span class=\"muted\">{} ({}, {})</span>\
             <form class=\"inline\" method=\"post\" action=\"/keluar\">{}<button>Keluar</button></form>",
            if user.role == Role::Admin {
                "<a href=\"/dipantau\">Akun dipantau</a>"
            } else {
                ""
            },
            esc(&user.name),
            esc(user.role.as_str()),
            esc(&user.scope.to_string()),
            csrf_field(subject)
        );
    }
    Html(format!(
        "<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · Netra</title><style>{STYLE}</style></head>\
         <body><header><strong>Netra</strong>{nav}</header><main>{body}</main>\
         <script>{SCRIPT}</script></body></html>",
        esc(title)
    ))
}

fn csrf_field(subject: &Subject) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(subject.csrf.as_deref().unwrap_or(""))
    )
}

/// A friendly error page that names the problem and leaks nothing else.
fn error_page(error: ApiError, subject: Option<&Subject>) -> Response {
    if error.status == StatusCode::UNAUTHORIZED {
        return Redirect::to("/masuk").into_response();
    }
    let (title, text) = match error.status {
        StatusCode::NOT_FOUND => (
            "Tidak ditemukan",
            "Halaman atau data ini tidak ada, atau di luar unit Anda.".to_string(),
        ),
        StatusCode::FORBIDDEN => (
            "Tidak diizinkan",
            "Peran Anda tidak mengizinkan tindakan ini.".to_string(),
        ),
        StatusCode::CONFLICT => ("Tidak dapat diproses", error.message.clone()),
        StatusCode::BAD_REQUEST => ("Isian tidak valid", error.message.clone()),
        StatusCode::TOO_MANY_REQUESTS => (
            "Terlalu banyak permintaan",
            "Tunggu sebentar lalu coba lagi.".to_string(),
        ),
        _ => (
            "Terjadi kesalahan",
            "Kesalahan di sisi server; sudah dicatat di log.".to_string(),
        ),
    };
    let body = format!(
        "<div class=\"card\"><h1>{}</h1><p class=\"error\">{}</p><p><a href=\"/antrian\">Kembali ke antrian</a></p></div>",
        esc(title),
        esc(&text)
    );
    (error.status, layout(title, subject, &body)).into_response()
}

/// Runs a page for an authenticated subject: a missing login goes to `/masuk`, and any refusal
/// becomes the friendly error page.
fn page<T: IntoResponse>(
    subject: Result<Subject, ApiError>,
    render: impl FnOnce(&Subject) -> Result<T, ApiError>,
) -> Response {
    match subject {
        Err(error) => error_page(error, None),
        Ok(subject) => match render(&subject) {
            Ok(response) => response.into_response(),
            Err(error) => error_page(error, Some(&subject)),
        },
    }
}

/// Parses an urlencoded form body.
fn form(headers: &HeaderMap, body: &Bytes) -> Result<HashMap<String, String>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "forms are sent as application/x-www-form-urlencoded",
        ));
    }
    Ok(form_urlencoded::parse(body).into_owned().collect())
}

/// A form posted by the page itself: parsed, with the session's CSRF token checked.
fn checked_form(
    subject: &Subject,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<HashMap<String, String>, ApiError> {
    let fields = form(headers, body)?;
    check_csrf(subject, &fields)?;
    Ok(fields)
}

/// The CSRF token of the form must be the session's.
fn check_csrf(subject: &Subject, fields: &HashMap<String, String>) -> Result<(), ApiError> {
    match (&subject.csrf, fields.get("csrf")) {
        (Some(expected), Some(given)) if expected == given => Ok(()),
        _ => Err(ApiError::forbidden(
            "the form's CSRF token is missing or wrong",
        )),
    }
}

async fn login_page(RawQuery(query): RawQuery) -> Html<String> {
    let failed = query.as_deref().is_some_and(|q| q.contains("gagal"));
    let message = if failed {
        "<p class=\"error\">Token tidak dikenal, sudah dicabut, atau penggunanya nonaktif.</p>"
    } else {
        ""
    };
    layout(
        "Masuk",
        None,
        &format!(
            "<div class=\"card\"><h1>Masuk</h1>{message}\
             <form method=\"post\" action=\"/masuk\">\
             <label>Token API <input type=\"password\" name=\"token\" id=\"token\" autocomplete=\"off\" size=\"70\" required></label> \
             <button id=\"masuk\">Masuk</button></form>\
             <p class=\"muted\">Token dibuat oleh admin dengan <code>netra tokens create NAMA</code>.</p></div>"
        ),
    )
}

async fn login(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if session::cross_site(&method, &headers) {
        return error_page(ApiError::forbidden("cross-site login"), None);
    }
    let fields = match form(&headers, &body) {
        Ok(fields) => fields,
        Err(error) => return error_page(error, None),
    };
    let token = fields.get("token").map(|t| t.trim()).unwrap_or("");
    let now = Timestamp::now();
    let found = state
        .store
        .authenticate(&access::token_digest(token))
        .ok()
        .flatten();
    let Some((_, user)) = found else {
        let _ = state.store.audit(
            AuditDraft::new("anonymous", "login.failed", "web").detail("token tidak dikenal"),
            now,
        );
        return Redirect::to("/masuk?gagal").into_response();
    };
    let Some(id) = state.sessions.create(user.id) else {
        return error_page(ApiError::internal(), None);
    };
    let _ = state
        .store
        .audit(AuditDraft::new(user.actor(), "login", "web"), now);
    (
        [(header::SET_COOKIE, session::set_cookie(&id))],
        Redirect::to("/antrian"),
    )
        .into_response()
}

async fn logout(
    State(state): State<AppState>,
    subject: Result<Subject, ApiError>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Ok(subject) = &subject {
        if let Err(error) = checked_form(subject, &headers, &body).map(drop) {
            return error_page(error, Some(subject));
        }
    }
    if let Some(id) = session::cookie(&headers) {
        state.sessions.end(&id);
    }
    (
        [(header::SET_COOKIE, session::clear_cookie())],
        Redirect::to("/masuk"),
    )
        .into_response()
}

fn severity_class(finding: &Finding) -> &'static str {
    match finding.detection.severity {
        crate::model::Severity::High => "sev-high",
        crate::model::Severity::Medium => "sev-medium",
        crate::model::Severity::Low => "sev-low",
    }
}

fn label_state(state: ReviewState) -> &'static str {
    match state {
        ReviewState::New => "baru",
        ReviewState::InReview => "ditinjau",
        ReviewState::NeedsInfo => "butuh info",
        ReviewState::Dismissed => "ditolak",
        ReviewState::Escalated => "dieskalasi",
        ReviewState::Reported => "dilaporkan",
    }
}

async fn queue(
    State(state): State<AppState>,
    subject: Result<Subject, ApiError>,
    RawQuery(query): RawQuery,
) -> Response {
    page(subject, |subject| {
        render_queue(&state, subject, query.as_deref().unwrap_or(""))
    })
}

const FILTERS: [(&str, &str); 8] = [
    ("status", "Status"),
    ("severity", "Keparahan"),
    ("unit", "Unit"),
    ("platform", "Platform"),
    ("election", "Pemilihan"),
    ("entity", "Entitas"),
    ("from", "Dari"),
    ("to", "Sampai"),
];

fn render_queue(
    state: &AppState,
    subject: &Subject,
    query: &str,
) -> Result<Html<String>, ApiError> {
    subject.require(state, Action::ReadFindings)?;
    let pairs: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let mut params = super::api::FindingsQuery::default();
    for (key, value) in &pairs {
        let slot = match key.as_str() {
            "status" => &mut params.status,
            "severity" => &mut params.severity,
            "unit" => &mut params.unit,
            "platform" => &mut params.platform,
            "election" => &mut params.election,
            "entity" => &mut params.entity,
            "from" => &mut params.from,
            "to" => &mut params.to,
            _ => continue,
        };
        *slot = Some(value.clone());
    }
    if params.status.is_none() {
        params.status = Some("new,in_review,needs_info".into());
    }
    let filter = params.filter(state)?;
    let now = Timestamp::now();
    let user = subject.user.clone();
    let visible = |f: &Finding| access::sees_finding(&user, f.unit.as_ref(), &f.employee_id);
    let page = state
        .store
        .findings_page(&filter, &visible, None, 100, now)?;

    // Counts per state from one scan over the same filter without its states; a scan that
    // stopped early (limit or budget) shows its counts as lower bounds.
    let all_states = FindingFilter {
        states: Vec::new(),
        ..filter.clone()
    };
    let counted = state
        .store
        .findings_page(&all_states, &visible, None, 1000, now)?;
    let more = if counted.next_cursor.is_some() {
        "+"
    } else {
        ""
    };
    let mut counts = String::new();
    for status in ReviewState::ALL {
        let n = counted
            .items
            .iter()
            .filter(|f| review::effective_state(f, now) == status)
            .count();
        let _ = write!(
            counts,
            "<a href=\"/antrian?status={}\">{} <strong class=\"count-{}\">{n}{more}</strong></a> · ",
            status.as_str(),
            label_state(status),
            status.as_str()
        );
    }

    let mut form_html = String::from("<form method=\"get\" action=\"/antrian\" class=\"card\">");
    for (name, label) in FILTERS {
        let _ = write!(
            form_html,
            "<label>{label} <input name=\"{name}\" value=\"{}\" size=\"12\"></label> ",
            esc(pairs.get(name).map(String::as_str).unwrap_or(""))
        );
    }
    form_html.push_str("<button>Saring</button></form>");

    // Group by employee, in the order their newest finding appears: the queue shows people.
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<&Finding>> = HashMap::new();
    for finding in &page.items {
        if !groups.contains_key(&finding.employee_id) {
            order.push(finding.employee_id.clone());
        }
        groups
            .entry(finding.employee_id.clone())
            .or_default()
            .push(finding);
    }
    let mut table = String::new();
    for employee_id in &order {
        let findings = &groups[employee_id];
        let (who, unit) = match (user.role, state.store.employee(employee_id)?) {
            (Role::Auditor, _) | (_, None) => (
                access::pseudonym(&state.pseudonym_key, employee_id),
                findings[0]
                    .unit
                    .as_ref()
                    .map(UnitPath::to_string)
                    .unwrap_or_default(),
            ),
            (_, Some(e)) => (
                format!("{} ({})", e.name, e.employee_id),
                e.unit.to_string(),
            ),
        };
        let _ = write!(
            table,
            "<div class=\"group\">{} <span class=\"muted\">{} · {} temuan</span></div><table>",
            esc(&who),
            esc(&unit),
            findings.len()
        );
        for finding in findings {
            let d = &finding.detection;
            let _ = write!(
                table,
                "<tr class=\"row\" data-href=\"/temuan/{id}\"><td class=\"{}\">{}</td><td>{}</td>\
                 <td>{}</td><td><a href=\"/temuan/{id}\">{}</a></td><td>{}</td><td class=\"muted\">{}</td></tr>",
                severity_class(finding),
                esc(d.severity.as_str()),
                esc(d.category.as_str()),
                esc(&d.entities.join(", ")),
                esc(&d.reason),
                label_state(review::effective_state(finding, now)),
                esc(&finding.created_at.strftime("%Y-%m-%d %H:%M").to_string()),
                id = finding.id
            );
        }
        table.push_str("</table>");
    }
    if order.is_empty() {
        table.push_str("<p class=\"muted\" id=\"kosong\">Tidak ada temuan untuk saringan ini.</p>");
    }
    Ok(layout(
        "Antrian",
        Some(subject),
        &format!(
            "<h1>Antrian temuan</h1><p>{counts}</p>{form_html}\
             <p class=\"muted\"><kbd>j</kbd>/<kbd>k</kbd> pindah, <kbd>o</kbd> buka</p>{table}"
        ),
    ))
}

async fn finding_page(
    State(state): State<AppState>,
    subject: Result<Subject, ApiError>,
    Path(raw_id): Path<String>,
) -> Response {
    page(subject, |subject| render_finding(&state, subject, &raw_id))
}

fn render_finding(
    state: &AppState,
    subject: &Subject,
    raw_id: &str,
) -> Result<Html<String>, ApiError> {
    let finding = super::api::visible_finding(state, subject, Action::ReadEvidence, raw_id)?;
    let now = Timestamp::now();
    state.store.audit(
        AuditDraft::new(
            subject.user.actor(),
            "evidence.read",
            format!("finding:{}", finding.id),
        ),
        now,
    )?;
    let d = &finding.detection;
    let activity = state
        .store
        .activity(finding.platform, &finding.platform_activity_id)?;
    let ranges = |field: SpanField| -> Vec<(usize, usize)> {
        d.spans
            .iter()
            .filter(|s| s.field == field)
            .map(|s| (s.start, s.end))
            .collect()
    };
    let mut body = format!(
        "<h1>Temuan #{}</h1><div class=\"card\"><p class=\"{}\">{} · {} · skor {:.2}</p>\
         <p id=\"alasan\"><strong>{}</strong></p><p class=\"muted\">Aturan <code>{}</code> · entitas {} · status {}</p></div>",
        finding.id,
        severity_class(&finding),
        esc(d.severity.as_str()),
        esc(d.category.as_str()),
        d.score,
        esc(&d.reason),
        esc(&d.rule_id),
        esc(&d.entities.join(", ")),
        label_state(review::effective_state(&finding, now)),
    );
    if let Some(activity) = &activity {
        let _ = write!(
            body,
            "<div class=\"card\"><h2>Aktivitas ({})</h2><p class=\"muted\">{} · {} · {}</p>\
             <blockquote id=\"teks\">{}</blockquote>",
            esc(&format!("{:?}", activity.kind).to_lowercase()),
            esc(activity.platform.as_str()),
            esc(&activity.actor_handle),
            esc(&activity.occurred_at.to_string()),
            highlight(&activity.text, &ranges(SpanField::Text)),
        );
        if let Some(url) = &activity.url {
            let _ = write!(
                body,
                "<p><a rel=\"noreferrer\" href=\"{0}\">{0}</a></p>",
                esc(url)
            );
        }
        let diff = activity
            .evidence
            .as_ref()
            .and_then(|e| state.store.evidence(&e.sha256).ok().flatten())
            .and_then(|blob| crate::snapshots::DiffView::parse(&blob));
        match (&activity.target, activity.kind) {
            (Some(target), ActivityKind::Follow | ActivityKind::Unfollow) => {
                let verb = if activity.kind == ActivityKind::Follow {
                    "Mulai mengikuti"
                } else {
                    "Berhenti mengikuti"
                };
                let _ = write!(
                    body,
                    "<h3>{verb} akun</h3><p id=\"diikuti\"><strong>{}</strong> {}{}</p>",
                    esc(&target.author),
                    esc(&target.text),
                    target
                        .url
                        .as_ref()
                        .map(|u| format!(" · <a rel=\"noreferrer\" href=\"{0}\">{0}</a>", esc(u)))
                        .unwrap_or_default(),
                );
                if let Some(diff) = &diff {
                    let _ = write!(
                        body,
                        "<p id=\"jendela\" class=\"muted\">Waktu tidak pasti: terlihat pada potret akun, {}.</p>",
                        esc(&diff.following_window)
                    );
                }
            }
            (Some(target), _) => {
                let _ = write!(
                    body,
                    "<h3>Kiriman sasaran oleh {}</h3><blockquote id=\"sasaran\">{}</blockquote>",
                    esc(&target.author),
                    highlight(&target.text, &ranges(SpanField::TargetText)),
                );
            }
            (None, _) => {}
        }
        if let Some(profile) = diff.as_ref().and_then(|d| d.profile.as_ref()) {
            let show = |p: &Option<crate::model::Profile>| match p {
                Some(p) => format!(
                    "{}<br><span class=\"muted\">avatar {} · banner {}</span>",
                    esc(&p.text()).replace('\n', "<br>"),
                    esc(p.avatar.as_deref().unwrap_or("—")),
                    esc(p.banner.as_deref().unwrap_or("—"))
                ),
                None => "<span class=\"muted\">(belum ada potret sebelumnya)</span>".to_string(),
            };
            let _ = write!(
                body,
                "<h3>Profil sebelum dan sesudah</h3><p class=\"muted\">Berubah {}.</p>\
                 <table id=\"profil\"><tr><th>Sebelum</th><th>Sesudah</th></tr><tr><td>{}</td><td>{}</td></tr></table>",
                esc(&profile.window),
                show(&profile.before),
                show(&profile.after),
            );
        }
        if let Some(gone_at) = finding.gone_at {
            let since = finding.last_seen_at.unwrap_or(finding.created_at);
            let middle = since.as_second() + (gone_at.as_second() - since.as_second()) / 2;
            let hours = ((middle - finding.created_at.as_second()).max(0) + 1800) / 3600;
            let _ = write!(
                body,
                "<p id=\"dihapus\" class=\"high\"><strong>Dihapus ± {hours} jam setelah ditandai</strong> \
                 (terakhir terlihat {}, diketahui hilang {}). Bukti yang tersimpan tetap utuh.</p>",
                esc(&crate::snapshots::format_time(since)),
                esc(&crate::snapshots::format_time(gone_at)),
            );
        }
        if let Some(evidence) = &activity.evidence {
            let _ = write!(
                body,
                "<h3>Bukti</h3><p class=\"muted\">URL {}<br>diambil {}<br>SHA-256 <code>{}</code></p>",
                esc(&evidence.url),
                esc(&evidence.fetched_at.to_string()),
                esc(&evidence.sha256)
            );
        }
        body.push_str("</div>");
    }
    if let Some(case_id) = finding.case_id {
        let _ = write!(
            body,
            "<p><a id=\"paket\" href=\"/kasus/{case_id}/paket\">Paket bukti kasus #{case_id}</a> \
             (<a href=\"/kasus/{case_id}/paket?format=json\">JSON</a>)</p>"
        );
    }
    if let Some(employee) = state.store.employee(&finding.employee_id)? {
        let _ = write!(
            body,
            "<div class=\"card\"><h2>Pegawai</h2><p>{} · NIP {} · {} · {}</p></div>",
            esc(&employee.name),
            esc(&employee.employee_id),
            esc(&employee.position),
            esc(employee.unit.as_str())
        );
    }
    body.push_str("<div class=\"card\"><h2>Riwayat</h2><ul>");
    let history = state.store.history(finding.id)?;
    if history.is_empty() {
        body.push_str("<li class=\"muted\">Belum ada tindakan.</li>");
    }
    for entry in history {
        let _ = write!(
            body,
            "<li>{} — {} ({} → {}){}</li>",
            esc(&entry.at.strftime("%Y-%m-%d %H:%M").to_string()),
            esc(&entry.user_name),
            label_state(entry.from),
            label_state(entry.to),
            entry
                .note
                .as_ref()
                .map(|n| format!(": {}", esc(n)))
                .unwrap_or_default()
        );
    }
    body.push_str("</ul></div>");
    if access::authorize(
        &subject.user,
        Action::Review,
        Some(Resource {
            unit: finding.unit.as_ref(),
            employee_id: Some(&finding.employee_id),
        }),
    ) == access::Decision::Allow
    {
        let mut categories = String::from("<option value=\"\">—</option>");
        for category in Category::ALL {
            let _ = write!(categories, "<option>{}</option>", esc(category.as_str()));
        }
        let _ = write!(
            body,
            "<form class=\"card\" id=\"decide\" method=\"post\" action=\"/temuan/{}/putusan\">{}\
             <h2>Putusan</h2>\
             <label>Status <select name=\"status\"><option value=\"dismissed\">tolak (d)</option>\
             <option value=\"escalated\">eskalasi (e)</option><option value=\"needs_info\">butuh info (n)</option>\
             <option value=\"reported\">dilaporkan</option></select></label> \
             <label>Tingkat <select name=\"level\"><option value=\"\">—</option><option value=\"etik\">etik</option>\
             <option value=\"disiplin_sedang\">disiplin sedang</option><option value=\"disiplin_berat\">disiplin berat</option></select></label> \
             <label>Bentuk SKB <select name=\"skb_form\">{categories}</select></label><br>\
             <label>Catatan <input name=\"note\" id=\"note\" size=\"60\" required></label> <button>Simpan</button>\
             <p class=\"muted\"><kbd>d</kbd> tolak · <kbd>e</kbd> eskalasi · <kbd>n</kbd> butuh info, lalu tulis catatan dan Enter</p></form>",
            finding.id,
            csrf_field(subject)
        );
    }
    Ok(layout(
        &format!("Temuan #{}", finding.id),
        Some(subject),
        &body,
    ))
}

async fn decide(
    State(state): State<AppState>,
    subject: Result<Subject, ApiError>,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    page(subject, |subject| {
        let fields = checked_form(subject, &headers, &body)?;
        let finding = super::api::visible_finding(&state, subject, Action::Review, &raw_id)?;
        let field = |name: &str| fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let to = field("status")
            .unwrap_or("")
            .parse::<ReviewState>()
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let level = field("level")
            .map(|l| l.parse::<Level>())
            .transpose()
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let verdict = Verdict {
            to,
            note: field("note").unwrap_or("").to_string(),
            level: if to == ReviewState::Escalated {
                level
            } else {
                None
            },
            skb_form: if to == ReviewState::Escalated {
                field("skb_form").map(str::to_string)
            } else {
                None
            },
        };
        state.store.review(
            finding.id,
            &Command::Decide(verdict),
            &subject.user,
            Timestamp::now(),
            state.claim_lease,
        )?;
        Ok(Redirect::to("/antrian"))
    })
}

async fn accounts_page(
    State(state): State<AppState>,
    subject: Result<Subject, ApiError>,
) -> Response {
    page(subject, |subject| render_accounts(&state, subject, None))
}

fn render_accounts(
    state: &AppState,
    subject: &Subject,
    report: Option<&str>,
) -> Result<Html<String>, ApiError> {
    subject.require(state, Action::ReadRegistry)?;
    let user = &subject.user;
    let can_write = access::role_allows(user.role, Action::WriteRegistry);
    let employees: Vec<_> = state
        .store
        .employees()?
        .into_iter()
        .filter(|e| user.scope.covers(Some(&e.unit)))
        .collect();
    let accounts = state.store.accounts()?;
    let mut body = String::from("<h1>Akun terdaftar</h1>");
    if let Some(report) = report {
        let _ = write!(
            body,
            "<div class=\"card\" id=\"laporan-impor\">{report}</div>"
        );
    }
    if can_write {
        let _ = write!(
            body,
            "<form class=\"card\" method=\"post\" action=\"/akun/impor\">{}<h2>Impor CSV</h2>\
             <p class=\"muted\">Kolom: employee_id,name,unit,position,status,platform,handle. Semua baris atau tidak sama sekali.</p>\
             <input type=\"file\" accept=\".csv,text/csv\" onchange=\"var r=new FileReader();var t=this.form.csv;r.onload=function(){{t.value=r.result}};r.readAsText(this.files[0])\"><br>\
             <textarea name=\"csv\" rows=\"5\" cols=\"90\"></textarea><br><button>Impor</button></form>",
            csrf_field(subject)
        );
    }
    body.push_str(
        "<table><tr><th>Pegawai</th><th>Unit</th><th>Akun</th><th>Status pindai</th><th></th></tr>",
    );
    for employee in &employees {
        let (name, nip) = match user.role {
            Role::Auditor => (
                access::mask_name(&employee.name),
                access::pseudonym(&state.pseudonym_key, &employee.employee_id),
            ),
            _ => (employee.name.clone(), employee.employee_id.clone()),
        };
        let mut cells = String::new();
        let mut states = String::new();
        for account in accounts
            .iter()
            .filter(|a| a.employee_id == employee.employee_id)
        {
            let _ = write!(
                cells,
                "{} {}<br>",
                esc(account.platform.as_str()),
                esc(&account.handle)
            );
            let mut status = match &account.state {
                crate::model::AccountState::Failing { last_error } => {
                    format!("gagal: {last_error}")
                }
                other => format!("{other:?}").to_lowercase(),
            };
            if account.following_hidden {
                status.push_str(" · daftar ikuti tersembunyi");
            }
            let _ = write!(states, "{}<br>", esc(&status));
        }
        let action = if can_write && employee.active {
            format!(
                "<form class=\"inline\" method=\"post\" action=\"/akun/{}/nonaktif\">{}<button>Nonaktifkan</button></form>",
                esc(&employee.employee_id),
                csrf_field(subject)
            )
        } else if !employee.active {
            "<span class=\"muted\">nonaktif</span>".to_string()
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<tr><td>{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>{cells}</td><td>{states}</td><td>{action}</td></tr>",
            esc(&name),
            esc(&nip),
            esc(employee.unit.as_str())
        );
    }
    body.push_str("</table>");
    Ok(layout("Akun terdaftar", Some(subject), &body))
}

async fn import_accounts(
    State(state): State<AppState>,
    subject: Result<Subject, ApiError>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    page(subject, |subject| {
        let fields = checked_form(subject, &headers, &body)?;
        subject.require(&state, Action::WriteRegistry)?;
        let csv = fields.get("csv").map(String::as_str).unwrap_or("");
        let scope = subject.user.scope.clone();
        let report = crate::registry::import_accounts_with(
            &state.store,
            csv,
            Timestamp::now(),
            crate::registry::ImportMode::AllOrNothing {
                unit_allowed: &|unit| scope.covers(Some(unit)),
            },
        )
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let text = if report.errors.is_empty() {
            let _ = state.store.audit(
                AuditDraft::new(subject.user.actor(), "registry.import", "accounts")
                    .detail(format!("{} baris", report.rows)),
                Timestamp::now(),
            );
            format!("<p>Berhasil: {}</p>", esc(&report.to_string()))
        } else {
            let mut text = format!(
                "<p class=\"error\">{} dari {} baris salah; tidak ada yang diimpor.</p><ul>",
                report.errors.len(),
                report.rows
            );
            for error in &report.errors {
                let _ = write!(text, "<li>{}</li>", esc(&error.to_string()));
            }
            text.push_str("</ul>");
            text
        };
        render_accounts(&state, subject, Some(&text))
    })
}

async fn deactivate(
    State(state): State<AppState>,
    subject: Result<Subject, ApiError>,
    Path(employee_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    page(subject, |subject| {
        checked_form(subject, &headers, &body)?;
        let employee = state
            .store
            .employee(&employee_id)?
            .ok_or_else(|| ApiError::not_found("employee", &employee_id))?;
        subject.require_on(
            &state,
            Action::WriteRegistry,
            Resource {
                unit: Some(&employee.unit),
                employee_id: None,
            },
            "employee",
            &employee_id,
        )?;
        state.store.set_employee_active(
            &employee_id,
            false,
            &subject.user.actor(),
            Timestamp::now(),
        )?;
        Ok(Redirect::to("/akun"))
    })
}

async fn watched_page(
    State(state): State<AppState>,
    subject: Result<Subject, ApiError>,
) -> Response {
    page(subject, |subject| {
        subject.require(&state, Action::WriteWatched)?;
        let mut body = String::from(
            "<h1>Akun dipantau</h1><p class=\"muted\">Akun resmi calon, partai dan tim kampanye. \
             Impor dengan <code>netra watched import</code> atau <code>POST /api/v1/watched/import</code>.</p>\
             <table><tr><th>Platform</th><th>Akun</th><th>Entitas</th><th>Peran</th></tr>",
        );
        for watched in state.store.watched_accounts()? {
            let value = serde_json::to_value(&watched).unwrap_or_default();
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(value["platform"].as_str().unwrap_or("")),
                esc(value["handle"].as_str().unwrap_or("")),
                esc(value["entity_id"].as_str().unwrap_or("")),
                esc(value["role"].as_str().unwrap_or("")),
            );
        }
        body.push_str("</table>");
        Ok::<_, ApiError>(layout("Akun dipantau", Some(subject), &body))
    })
}

async fn report_page(
    State(state): State<AppState>,
    subject: Result<Subject, ApiError>,
    RawQuery(query): RawQuery,
) -> Response {
    page(subject, |subject| {
        subject.require(&state, Action::ReadFindings)?;
        let fields: HashMap<String, String> =
            form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
                .into_owned()
                .filter(|(_, v)| !v.trim().is_empty())
                .collect();
        let today = Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(7)))
            .date();
        let day = |name: &str, default: jiff::civil::Date| -> Result<jiff::civil::Date, ApiError> {
            match fields.get(name) {
                Some(raw) => raw.parse().map_err(|_| {
                    ApiError::bad_request(format!("{name}: '{raw}' bukan tanggal YYYY-MM-DD"))
                }),
                None => Ok(default),
            }
        };
        let from = day("from", today.saturating_sub(jiff::Span::new().days(30)))?;
        let to = day("to", today)?;
        let scope = match fields.get("unit") {
            Some(raw) => {
                let wanted = access::Scope::parse(raw).map_err(ApiError::bad_request)?;
                if !subject.user.scope.contains_scope(&wanted) {
                    return Err(ApiError::not_found("unit", raw));
                }
                wanted
            }
            None => subject.user.scope.clone(),
        };
        let start = |d: jiff::civil::Date| {
            d.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(7)))
                .map(|z| z.timestamp())
                .map_err(|e| ApiError::bad_request(e.to_string()))
        };
        let period = crate::report::Period {
            scope: scope.clone(),
            from: start(from)?,
            to: start(
                to.tomorrow()
                    .map_err(|e| ApiError::bad_request(e.to_string()))?,
            )?,
        };
        let inputs = crate::report::gather(&state.store, &scope)?;
        let report = crate::report::build(&inputs, &period);
        if fields.get("format").map(String::as_str) == Some("csv") {
            return Ok((
                [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
                crate::report::to_csv(&report),
            )
                .into_response());
        }
        if fields.get("format").map(String::as_str) == Some("cetak") {
            return Ok(Html(crate::report::to_html(&report)).into_response());
        }
        let form = format!(
            "<form class=\"card\" method=\"get\" action=\"/laporan\"><label>Unit <input name=\"unit\" value=\"{}\"></label> \
             <label>Dari <input name=\"from\" value=\"{from}\" size=\"10\"></label> <label>Sampai <input name=\"to\" value=\"{to}\" size=\"10\"></label> \
             <button>Tampilkan</button> <button name=\"format\" value=\"cetak\">Versi cetak</button> <button name=\"format\" value=\"csv\">CSV</button></form>",
            esc(&scope.to_string())
        );
        let printable = crate::report::to_html(&report);
        let inner = printable
            .split_once("<body>")
            .and_then(|(_, rest)| rest.rsplit_once("</body>"))
            .map(|(body, _)| body.to_string())
            .unwrap_or_default();
        Ok(layout(
            "Laporan",
            Some(subject),
            &format!("{form}<div class=\"card\">{inner}</div>"),
        )
        .into_response())
    })
}

async fn packet_page(
    State(state): State<AppState>,
    subject: Result<Subject, ApiError>,
    Path(raw_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    page(subject, |subject| {
        let case = super::api::visible_case(&state, subject, Action::ReadEvidence, &raw_id)?;
        let id = case.id;
        let now = Timestamp::now();
        let packet = crate::packet::build(&state.store, id, now)?
            .ok_or_else(|| ApiError::not_found("case", id))?;
        state.store.audit(
            AuditDraft::new(subject.user.actor(), "case.export", format!("case:{id}")),
            now,
        )?;
        if query.as_deref() == Some("format=json") {
            return Ok((
                [
                    (header::CONTENT_TYPE, "application/json".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"paket-kasus-{id}.json\""),
                    ),
                ],
                serde_json::to_string_pretty(&packet).unwrap_or_default(),
            )
                .into_response());
        }
        Ok(Html(crate::packet::to_html(&packet)).into_response())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_turns_markup_into_text() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn highlighting_marks_the_spans_and_escapes_everything_else() {
        let text = "Ayo <b>coblos</b> 02 ✌️";
        let start = text.find("coblos").unwrap();
        let out = highlight(text, &[(start, start + 6), (0, 3), (999, 1000), (1, 2)]);
        assert_eq!(
            out,
            "<mark>Ayo</mark> &lt;b&gt;<mark>coblos</mark>&lt;/b&gt; 02 ✌️"
        );
        // A range inside a multi-byte character is ignored, not trusted.
        let emoji = text.find('✌').unwrap();
        assert!(!highlight(text, &[(emoji + 1, emoji + 2)]).contains("<mark>"));
    }
}
