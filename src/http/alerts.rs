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
//! store when it starts, which is what makes a name known here. Handlers are plain functions
//! over [`AppState`]; authentication wraps them where the router is assembled.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use jiff::Timestamp;
use serde_json::{json, Value};

use super::AppState;
use crate::store::{DeadLetter, OutboxMessage, Store, StoreError};

/// The alert routes, to be nested at `/api/v1/alerts`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/endpoints", get(list_endpoints))
        .route("/endpoints/{name}/enable", post(enable))
        .route("/endpoints/{name}/disable", post(disable))
        .route("/pending", get(list_pending))
        .route("/dead", get(list_dead))
        .route("/dead/{id}/replay", post(replay))
}

fn json_response(status: StatusCode, value: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// Stable error codes; internals stay in the log.
fn error_response(error: &StoreError) -> Response {
    match error {
        StoreError::NotFound { what, id } => json_response(
            StatusCode::NOT_FOUND,
            json!({"error": {"code": "not_found", "message": format!("{what} '{id}' does not exist")}}),
        ),
        other => {
            tracing::error!(error = %other, "Alert API request failed.");
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": {"code": "internal", "message": "the store could not be read"}}),
            )
        }
    }
}

/// Runs store work off the async threads and turns its result into a response.
async fn with_store(
    state: AppState,
    work: impl FnOnce(&Store) -> Result<Value, StoreError> + Send + 'static,
) -> Response {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || work(&store)).await {
        Ok(Ok(value)) => json_response(StatusCode::OK, value),
        Ok(Err(error)) => error_response(&error),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
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

async fn list_endpoints(State(state): State<AppState>) -> Response {
    with_store(state, |store| {
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
    let state = store.set_endpoint_enabled(name, enabled, reason.as_deref(), Timestamp::now())?;
    Ok(json!({
        "name": name,
        "enabled": state.enabled,
        "disabled_reason": state.disabled_reason,
    }))
}

async fn enable(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    with_store(state, move |store| switch(store, &name, true, None)).await
}

async fn disable(State(state): State<AppState>, Path(name): Path<String>, body: Bytes) -> Response {
    let reason = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("reason").and_then(Value::as_str).map(str::to_string))
        .map(|r| r.chars().filter(|c| !c.is_control()).take(200).collect());
    with_store(state, move |store| switch(store, &name, false, reason)).await
}

async fn list_pending(State(state): State<AppState>) -> Response {
    with_store(state, |store| {
        let messages: Vec<Value> = store
            .pending_alerts(None)?
            .iter()
            .map(message_json)
            .collect();
        Ok(json!({ "pending": messages }))
    })
    .await
}

async fn list_dead(State(state): State<AppState>) -> Response {
    with_store(state, |store| {
        let letters: Vec<Value> = store.dead_alerts(None)?.iter().map(dead_json).collect();
        Ok(json!({ "dead": letters }))
    })
    .await
}

async fn replay(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "bad_id", "message": "the id is a message number"}}),
        );
    };
    with_store(state, move |store| {
        let message = store.replay_alert(id, Timestamp::now())?;
        Ok(json!({ "replayed": message_json(&message) }))
    })
    .await
}
