//! Message bodies, in Bahasa Indonesia, for the three receiver kinds.
//!
//! Thin by default (Standard Webhooks' advice, and UU PDP data minimisation): finding number,
//! severity, category, unit, entities and a link to the finding's page, where a reviewer who is
//! allowed to see more signs in. NIP, name and post text only when the endpoint sets
//! `include_personal_data = true`.
//!
//! The body depends only on the message and the stored findings, not on the attempt, so every
//! retry sends the same bytes (only the signature's timestamp changes).

use serde_json::{json, Value};

use crate::config::{AlertFormat, EndpointConfig};
use crate::model::{Finding, Severity};
use crate::store::OutboxMessage;

/// Lines listed in a chat message before "dan N temuan lainnya" (Telegram caps a message at
/// 4,096 characters; a digest must not be refused for its length).
const MAX_CHAT_LINES: usize = 25;

/// A finding with what the endpoint may see of its employee and activity.
#[derive(Debug, Clone)]
pub struct AlertItem {
    pub finding: Finding,
    /// Only filled for endpoints with `include_personal_data`.
    pub personal: Option<PersonalData>,
}

#[derive(Debug, Clone, Default)]
pub struct PersonalData {
    pub employee_id: String,
    pub employee_name: Option<String>,
    pub text: Option<String>,
    pub activity_url: Option<String>,
}

/// The webhook id of a message: stable across retries, replays and restarts.
pub fn webhook_id(message: &OutboxMessage) -> String {
    format!("msg_netra_{}", message.id)
}

fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Low => "rendah",
        Severity::Medium => "sedang",
        Severity::High => "tinggi",
    }
}

fn finding_url(public_url: &str, finding: &Finding) -> String {
    format!("{public_url}/temuan/{}", finding.id)
}

/// The request body for `endpoint`.
pub fn body(
    endpoint: &EndpointConfig,
    public_url: &str,
    message: &OutboxMessage,
    items: &[AlertItem],
) -> Vec<u8> {
    let value = match &endpoint.format {
        AlertFormat::Json => standard_json(public_url, message, items),
        AlertFormat::Slack => json!({ "text": chat_text(public_url, message, items, true) }),
        AlertFormat::Telegram { chat_id } => json!({
            "chat_id": chat_id,
            "text": chat_text(public_url, message, items, false),
            "disable_web_page_preview": true,
        }),
    };
    serde_json::to_vec(&value).expect("JSON values serialise")
}

fn unit_text(message: &OutboxMessage) -> &str {
    message
        .unit
        .as_ref()
        .map_or("(unit tidak diketahui)", |u| u.as_str())
}

/// Standard Webhooks' envelope: `type`, `timestamp` (of the event), `data`.
fn standard_json(public_url: &str, message: &OutboxMessage, items: &[AlertItem]) -> Value {
    let findings: Vec<Value> = items
        .iter()
        .map(|item| {
            let finding = &item.finding;
            let detection = &finding.detection;
            let mut entry = json!({
                "id": finding.id.0,
                "url": finding_url(public_url, finding),
                "severity": detection.severity,
                "category": detection.category,
                "category_label": detection.category.label_id(),
                "entities": detection.entities,
                "platform": finding.platform,
                "created_at": finding.created_at.to_string(),
            });
            if let (Some(personal), Value::Object(map)) = (&item.personal, &mut entry) {
                map.insert("employee_id".into(), json!(personal.employee_id));
                map.insert("employee_name".into(), json!(personal.employee_name));
                map.insert("text".into(), json!(personal.text));
                map.insert("activity_url".into(), json!(personal.activity_url));
            }
            entry
        })
        .collect();
    let kind = if items.len() == 1 {
        "finding.created"
    } else {
        "finding.digest"
    };
    json!({
        "type": kind,
        "timestamp": message.created_at.to_string(),
        "data": {
            "unit": message.unit.as_ref().map(|u| u.as_str()),
            "count": items.len(),
            "summary": headline(message, items),
            "findings": findings,
        }
    })
}

/// "Temuan baru …" or "N temuan baru …".
fn headline(message: &OutboxMessage, items: &[AlertItem]) -> String {
    match items {
        [item] => format!(
            "Temuan baru dugaan pelanggaran netralitas ASN (tingkat {}) di unit {}",
            severity_label(item.finding.detection.severity),
            unit_text(message)
        ),
        _ => format!(
            "{} temuan baru dugaan pelanggaran netralitas ASN di unit {}",
            items.len(),
            unit_text(message)
        ),
    }
}

/// Text for Slack/Mattermost (`*bold*`, `<url|label>` links) or Telegram (plain text).
fn chat_text(
    public_url: &str,
    message: &OutboxMessage,
    items: &[AlertItem],
    slack: bool,
) -> String {
    let link = |url: &str, label: &str| {
        if slack {
            format!("<{url}|{label}>")
        } else {
            format!("{label}: {url}")
        }
    };
    let bold = |text: &str| {
        if slack {
            format!("*{text}*")
        } else {
            text.to_string()
        }
    };
    let mut lines = vec![bold(&headline(message, items))];
    for item in items.iter().take(MAX_CHAT_LINES) {
        let finding = &item.finding;
        let detection = &finding.detection;
        let mut line = format!(
            "• #{} {} — {}",
            finding.id,
            severity_label(detection.severity),
            detection.category.label_id()
        );
        if !detection.entities.is_empty() {
            line.push_str(&format!(" ({})", detection.entities.join(", ")));
        }
        line.push_str(&format!(
            " — {}",
            link(&finding_url(public_url, finding), "tinjau")
        ));
        if let Some(personal) = &item.personal {
            line.push_str(&format!(
                "\n  Pegawai: {} (NIP {})",
                personal.employee_name.as_deref().unwrap_or("-"),
                personal.employee_id
            ));
            if let Some(text) = personal.text.as_deref().filter(|t| !t.is_empty()) {
                let short: String = text.chars().take(280).collect();
                line.push_str(&format!("\n  Teks: {short}"));
            }
        }
        lines.push(line);
    }
    if items.len() > MAX_CHAT_LINES {
        lines.push(format!(
            "… dan {} temuan lainnya: {}",
            items.len() - MAX_CHAT_LINES,
            format_args!("{public_url}/temuan")
        ));
    }
    lines.push("Ini petunjuk untuk ditinjau, bukan putusan pelanggaran.".into());
    lines.join("\n")
}
