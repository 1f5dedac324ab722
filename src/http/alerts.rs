//! Admin API for alert endpoints (issue #8), mounted under `/api/v1/alerts`:
//!
//! | method and path | does |
//! |---|---|
//! | `GET /api/v1/alerts/endpoints` | every known endpoint with its state and queue sizes |
//! | `POST /api/v1/alerts/endpoints/{name}/enable` | enable (after a 410, or a manual disable) |
//! | `POST /api/v1/alerts/endpoints/{name}/disable` | disable; optional body `{"reason":"…"}` |
//! | `GET /api/v1/alerts/pending` | messages waiting for delivery |
//! | `GET /api/v1/alerts/dead` | dead messages, with why they died |
//! | `POST /api/v1/alerts/dead/{id}/replay` | queue a dead message again (same `webhook-id`) |
//!
//! Endpoints are defined in the configuration; `serve` records each one's description in the
//! store when it starts, which is what makes a name known here. Admins only; every switch and
//! replay is audited.

use axum::extract::{Path, State};
use axum::Json;
use jiff::Timestamp;
use serde_json::{json, Value};

use super::auth::Subject;
use super::error::ApiError;
use super::AppState;
use crate::access::Action;
use crate::store::{AuditDraft, DeadLetter, OutboxMessage, Store, StoreError};

/// Asks the policy, then runs store work off the async threads.
async fn with_store(
    state: AppState,
    subject: Subject,
    work: impl FnOnce(&Store, &str) -> Result<Value, StoreError> + Send + 'static,
) -> Result<Json<Value>, ApiError> {
    subject.require(&state, Action::ManageAlerts)?;
    let store = state.store.clone();
    let actor = subject.user.actor();
    match tokio::task::spawn_blocking(move || work(&store, &actor)).await {
        Ok(Ok(value)) => Ok(Json(value)),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(ApiError::internal()),
    }
}

fn message_json(message: &OutboxMessage) -> Value {
    json!({
        "id": message.id,
        "webhook_id": crate::alerts::format::webhook_id(message),
        "endpoint": message.endpoint,
        "unit": message.unit.as_ref().map(|u| u.as_str()),
        "findings": message.findings.iter().map(|f| f.0).collect::<Vec<_>>(),
        "created_at": message.created_at.to_string(),
        "attempts": message.attempts,
        "next_attempt_at": message.next_attempt_at.to_string(),
        "last_error": message.last_error,
    })
}

fn dead_json(letter: &DeadLetter) -> Value {
    let mut value = message_json(&letter.message);
    if let Value::Object(map) = &mut value {
        map.insert("died_at".into(), json!(letter.died_at.to_string()));
        map.insert("reason".into(), json!(letter.reason));
    }
    value
}

pub async fn list_endpoints(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<Value>, ApiError> {
    with_store(state, subject, |store, _| {
        let pending = store.pending_alerts(None)?;
        let dead = store.dead_alerts(None)?;
        let endpoints: Vec<Value> = store
            .endpoint_states()?
            .into_iter()
            .map(|(name, endpoint)| {
                json!({
                    "name": name,
                    "summary": endpoint.summary,
                    "enabled": endpoint.enabled,
                    "disabled_reason": endpoint.disabled_reason,
                    "changed_at": endpoint.changed_at.map(|t| t.to_string()),
                    "delivered_total": endpoint.delivered_total,
                    "last_delivered_at": endpoint.last_delivered_at.map(|t| t.to_string()),
                    "last_error": endpoint.last_error,
                    "next_attempt_at": endpoint.next_attempt_at.map(|t| t.to_string()),
                    "pending": pending.iter().filter(|m| m.endpoint == name).count(),
                    "dead": dead.iter().filter(|d| d.message.endpoint == name).count(),
                })
            })
            .collect();
        Ok(json!({ "endpoints": endpoints }))
    })
    .await
}

/// Only endpoints the store knows (described by `serve`, or with state) can be switched.
fn switch(
    store: &Store,
    actor: &str,
    name: &str,
    enabled: bool,
    reason: Option<String>,
) -> Result<Value, StoreError> {
    if !store
        .endpoint_states()?
        .iter()
        .any(|(known, _)| known == name)
    {
        return Err(StoreError::NotFound {
            what: "alert endpoint",
            id: name.to_string(),
        });
    }
    let now = Timestamp::now();
    let state = store.set_endpoint_enabled(name, enabled, reason.as_deref(), now)?;
    let action = if enabled {
        "alerts.enable"
    } else {
        "alerts.disable"
    };
    store.audit(
        AuditDraft::new(actor, action, format!("endpoint:{name}"))
            .detail(reason.clone().unwrap_or_default()),
        now,
    )?;
    Ok(json!({
        "name": name,
        "enabled": state.enabled,
        "disabled_reason": state.disabled_reason,
    }))
}

pub async fn enable(
    State(state): State<AppState>,
    subject: Subject,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    with_store(state, subject, move |store, actor| {
        switch(store, actor, &name, true, None)
    })
    .await
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisableBody {
    #[serde(default)]
    pub reason: Option<String>,
}

pub async fn disable(
    State(state): State<AppState>,
    subject: Subject,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: DisableBody = if body.is_empty() {
        DisableBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "bad_json",
                format!("the request body is not valid for this route: {error}"),
            )
        })?
    };
    let reason = body
        .reason
        .map(|r| r.chars().filter(|c| !c.is_control()).take(200).collect());
    with_store(state, subject, move |store, actor| {
        switch(store, actor, &name, false, reason)
    })
    .await
}

pub async fn list_pending(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<Value>, ApiError> {
    with_store(state, subject, |store, _| {
        let messages: Vec<Value> = store
            .pending_alerts(None)?
            .iter()
            .map(message_json)
            .collect();
        Ok(json!({ "pending": messages }))
    })
    .await
}

pub async fn list_dead(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<Value>, ApiError> {
    with_store(state, subject, |store, _| {
        let letters: Vec<Value> = store.dead_alerts(None)?.iter().map(dead_json).collect();
        Ok(json!({ "dead": letters }))
    })
    .await
}

pub async fn replay(
    State(state): State<AppState>,
    subject: Subject,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let Ok(id) = id.parse::<u64>() else {
        return Err(ApiError::bad_request(format!(
            "'{id}' is not a message number"
        )));
    };
    with_store(state, subject, move |store, actor| {
        let now = Timestamp::now();
        let message = store.replay_alert(id, now)?;
        store.audit(
            AuditDraft::new(actor, "alerts.replay", format!("alert:{id}")),
            now,
        )?;
        Ok(json!({ "replayed": message_json(&message) }))
    })
    .await
}
