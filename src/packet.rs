//! Evidence packets: everything about one case that the deciding official (or BKN) needs, in one
//! self-checking document. Each activity comes with its original text, the matched words, the
//! target post, URLs, fetch times and the SHA-256 of the raw payload it was read from (and, in
//! the JSON form, the payload itself); then the reviewers' decisions and the audit entries. The
//! packet carries the SHA-256 of its own canonical JSON, so anyone can check it was not altered,
//! and [`verify`] re-hashes every payload. It is built from the store alone: a post deleted on
//! its platform afterwards changes nothing.

use std::collections::HashSet;
use std::fmt::Write;

use base64::Engine;
use jiff::Timestamp;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::model::{CaseId, SpanField};
use crate::store::{Store, StoreError};

/// Builds the packet of a case, or `None` when the case does not exist.
pub fn build(store: &Store, id: CaseId, now: Timestamp) -> Result<Option<Value>, StoreError> {
    let Some(case) = store.case(id)? else {
        return Ok(None);
    };
    let employee = store.employee(&case.employee_id)?;
    let mut targets: HashSet<String> = HashSet::from([format!("case:{id}")]);
    let mut items = Vec::new();
    for finding_id in &case.finding_ids {
        let Some(finding) = store.finding(*finding_id)? else {
            continue;
        };
        targets.insert(format!("finding:{finding_id}"));
        let activity = store.activity(finding.platform, &finding.platform_activity_id)?;
        let evidence = match activity.as_ref().and_then(|a| a.evidence.as_ref()) {
            Some(reference) => {
                let blob = store.evidence(&reference.sha256)?;
                json!({
                    "url": reference.url,
                    "fetched_at": reference.fetched_at.to_string(),
                    "sha256": reference.sha256,
                    "status": blob.as_ref().map(|b| b.status),
                    "content_type": blob.as_ref().map(|b| b.content_type.clone()),
                    "payload_base64": blob.as_ref().map(|b| base64::engine::general_purpose::STANDARD.encode(&b.body)),
                })
            }
            None => Value::Null,
        };
        let matched: Vec<Value> = finding
            .detection
            .spans
            .iter()
            .map(|s| json!({"field": s.field, "start": s.start, "end": s.end, "text": s.text}))
            .collect();
        items.push(json!({
            "finding_id": finding.id.0,
            "rule": finding.detection.rule_id,
            "category": finding.detection.category,
            "severity": finding.detection.severity,
            "reason": finding.detection.reason,
            "entities": finding.detection.entities,
            "status": finding.review_state,
            "created_at": finding.created_at.to_string(),
            "matched": matched,
            "activity": activity,
            "evidence": evidence,
            "history": store.history(finding.id)?,
        }));
    }
    let audit: Vec<Value> = store
        .audit_entries(0, usize::MAX)?
        .into_iter()
        .filter(|entry| targets.contains(&entry.target))
        .map(|entry| json!(entry))
        .collect();
    let mut packet = json!({
        "kind": "netra.evidence_packet.v1",
        "generated_at": now.to_string(),
        "case": case,
        "employee": employee,
        "findings": items,
        "audit": audit,
    });
    let digest = digest(&packet);
    packet["digest_sha256"] = json!(digest);
    Ok(Some(packet))
}

/// SHA-256 over the packet's JSON without its own digest field (serde_json writes object keys
/// in sorted order, so the text is canonical).
fn digest(packet: &Value) -> String {
    let mut unsigned = packet.clone();
    if let Value::Object(map) = &mut unsigned {
        map.remove("digest_sha256");
    }
    hex::encode(Sha256::digest(unsigned.to_string().as_bytes()))
}

/// Checks a packet: its own digest, and every payload against its SHA-256. Returns the problems.
pub fn verify(packet: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if packet["digest_sha256"].as_str() != Some(digest(packet).as_str()) {
        problems.push("the packet's digest does not match its content".to_string());
    }
    for item in packet["findings"].as_array().into_iter().flatten() {
        let evidence = &item["evidence"];
        let Some(payload) = evidence["payload_base64"].as_str() else {
            continue;
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .unwrap_or_default();
        let hash = hex::encode(Sha256::digest(&bytes));
        if Some(hash.as_str()) != evidence["sha256"].as_str() {
            problems.push(format!(
                "finding {}: the payload does not hash to its SHA-256",
                item["finding_id"]
            ));
        }
    }
    problems
}

/// The printable form (Bahasa Indonesia); payloads are named by hash, not printed.
pub fn to_html(packet: &Value) -> String {
    let esc = crate::http::web::esc;
    let text = |v: &Value| esc(v.as_str().unwrap_or(""));
    let case = &packet["case"];
    let employee = &packet["employee"];
    let mut body = format!(
        "<h1>Paket bukti kasus #{}</h1><p>Pegawai {} (NIP {}), {}, unit {}<br>Entitas {} · {} s.d. {}</p>",
        case["id"],
        text(&employee["name"]),
        text(&case["employee_id"]),
        text(&employee["position"]),
        text(&case["unit"]),
        text(&case["entity"]),
        text(&case["first_at"]),
        text(&case["last_at"]),
    );
    for item in packet["findings"].as_array().into_iter().flatten() {
        let activity = &item["activity"];
        let spans: Vec<(usize, usize)> = item["matched"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["field"] == json!(SpanField::Text))
            .filter_map(|s| Some((s["start"].as_u64()? as usize, s["end"].as_u64()? as usize)))
            .collect();
        let _ = write!(
            body,
            "<section><h2>Temuan #{} · {} · {}</h2><p><strong>{}</strong></p>\
             <p>{} {} pada {}</p><blockquote>{}</blockquote>",
            item["finding_id"],
            text(&item["category"]),
            text(&item["severity"]),
            text(&item["reason"]),
            text(&activity["platform"]),
            text(&activity["actor_handle"]),
            text(&activity["occurred_at"]),
            crate::http::web::highlight(activity["text"].as_str().unwrap_or(""), &spans),
        );
        if activity["target"].is_object() {
            let _ = write!(
                body,
                "<p>Kiriman sasaran oleh {}:</p><blockquote>{}</blockquote>",
                text(&activity["target"]["author"]),
                text(&activity["target"]["text"])
            );
        }
        let evidence = &item["evidence"];
        let _ = write!(
            body,
            "<p class=\"small\">URL {} · diambil {} · SHA-256 <code>{}</code></p><ul>",
            text(&evidence["url"]),
            text(&evidence["fetched_at"]),
            text(&evidence["sha256"])
        );
        for entry in item["history"].as_array().into_iter().flatten() {
            let _ = write!(
                body,
                "<li>{} {}: {} → {} {}</li>",
                text(&entry["at"]),
                text(&entry["user_name"]),
                text(&entry["from"]),
                text(&entry["to"]),
                text(&entry["note"])
            );
        }
        body.push_str("</ul></section>");
    }
    body.push_str("<h2>Jejak audit</h2><ul class=\"small\">");
    for entry in packet["audit"].as_array().into_iter().flatten() {
        let _ = write!(
            body,
            "<li>#{} {} {} {} {} <code>{}</code></li>",
            entry["seq"],
            text(&entry["at"]),
            text(&entry["actor"]),
            text(&entry["action"]),
            text(&entry["target"]),
            text(&entry["hash"])
        );
    }
    let _ = write!(
        body,
        "</ul><p class=\"small\">Dibuat {} · SHA-256 paket <code>{}</code></p>",
        text(&packet["generated_at"]),
        text(&packet["digest_sha256"])
    );
    format!(
        "<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\"><title>Paket bukti</title>\
         <style>@page{{size:A4;margin:18mm}}body{{font-family:serif;max-width:180mm;margin:auto}}\
         blockquote{{white-space:pre-wrap;border-left:3px solid #999;padding-left:8px}}mark{{background:#ffe066}}\
         section{{break-inside:avoid}}.small{{font-size:9pt;color:#333}}code{{word-break:break-all}}</style>\
         </head><body>{body}</body></html>"
    )
}
