//! The HTTP layer: thin handlers over the store and the metrics.
//!
//! `router(state)` builds the whole application as a value, so tests drive it with
//! `tower::ServiceExt::oneshot` and `serve` hands it to `axum::serve`. Handlers never touch
//! sled; they call store operations.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::metrics::Metrics;
use crate::store::Store;

pub mod alerts;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub metrics: Metrics,
}

/// The application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .nest("/api/v1/alerts", alerts::routes())
        .with_state(state)
}

/// Alive and able to read the store.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.schema_version() {
        Ok(Some(version)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"status\":\"ok\",\"schema_version\":{version}}}"),
        )
            .into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"status\":\"unavailable\"}".to_string(),
        )
            .into_response(),
    }
}

/// Prometheus text exposition, with the store-derived gauges read fresh.
async fn metrics(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    let metrics = state.metrics.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        crate::metrics::refresh_store_gauges(&metrics, &store);
        metrics.render()
    })
    .await;
    match rendered {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
