//! The HTTP layer: thin handlers over the store, the policy and the metrics.
//!
//! `router(state)` builds the whole application as a value, so tests drive it with
//! `tower::ServiceExt::oneshot` and [`server::serve`] runs it with the connection limits axum's
//! own `serve` lacks. The API's routes are one table, [`api_routes`]: the router and the
//! OpenAPI description at `/api/v1/openapi.json` are both made from it, so they cannot
//! disagree. Handlers never touch the database; they call store operations.

pub mod admin;
pub mod api;
pub mod auth;
pub mod body;
pub mod error;
pub mod server;
pub mod session;
pub mod web;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::{Json, Router};
use jiff::SignedDuration;
use serde_json::{json, Value};

use crate::judging::WordListJudge;
use crate::metrics::Metrics;
use crate::store::Store;
use error::ApiError;

pub mod alerts;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub metrics: Metrics,
    /// The detector, for `check`, election filters and watched-account entity checks.
    pub judge: Option<Arc<WordListJudge>>,
    pub limiter: Arc<auth::RateLimiter>,
    pub sessions: Arc<session::Sessions>,
    /// Key of the NIP pseudonyms auditors see; kept in the store, never shown.
    pub pseudonym_key: Arc<Vec<u8>>,
    pub claim_lease: SignedDuration,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// Background jobs `serve` runs beside the server (retention, backups).
    pub retention: Option<crate::config::RetentionConfig>,
    pub backup: crate::config::BackupConfig,
}

impl AppState {
    /// State with the configuration's defaults; the builder methods below adjust it.
    pub fn new(store: Store, metrics: Metrics) -> Result<AppState, crate::store::StoreError> {
        let pseudonym_key = Arc::new(store.pseudonym_key()?);
        Ok(AppState {
            store,
            metrics,
            judge: None,
            limiter: Arc::new(auth::RateLimiter::new(1200)),
            sessions: Arc::new(session::Sessions::default()),
            pseudonym_key,
            claim_lease: crate::review::DEFAULT_LEASE,
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            retention: None,
            backup: crate::config::BackupConfig {
                dir: None,
                interval: Duration::from_secs(86_400),
                keep: 7,
            },
        })
    }

    pub fn with_judge(mut self, judge: Arc<WordListJudge>) -> AppState {
        self.judge = Some(judge);
        self
    }

    /// Applies the `[http]` and `[review]` configuration.
    pub fn configured(mut self, config: &crate::config::Config) -> AppState {
        self.limiter = Arc::new(auth::RateLimiter::new(
            config.http.requests_per_minute_per_token,
        ));
        self.max_body_bytes = config.http.max_body_bytes;
        self.request_timeout = config.http.request_timeout;
        self.retention = Some(config.retention.clone());
        self.backup = config.backup.clone();
        self.claim_lease =
            SignedDuration::try_from(config.review.claim).unwrap_or(crate::review::DEFAULT_LEASE);
        self
    }

    /// The entity ids of an election of the word lists.
    pub fn election_entities(&self, election_id: &str) -> Option<Vec<String>> {
        self.judge.as_ref()?.election_entities(election_id)
    }
}

/// One API route: method, path (axum syntax), what it does, who may, and its handler.
pub struct ApiRoute {
    pub method: Method,
    pub path: &'static str,
    pub summary: &'static str,
    /// The roles the policy lets through (documentation; the handler asks the policy).
    pub roles: &'static str,
    pub handler: MethodRouter<AppState>,
}

fn route(
    method: Method,
    path: &'static str,
    summary: &'static str,
    roles: &'static str,
    handler: MethodRouter<AppState>,
) -> ApiRoute {
    ApiRoute {
        method,
        path,
        summary,
        roles,
        handler,
    }
}

/// Every API route. Adding one here adds it to the router and to the OpenAPI description.
#[rustfmt::skip]
pub fn api_routes() -> Vec<ApiRoute> {
    use axum::routing::{patch, post};
    use Method as M;
    const ALL: &str = "admin, registrar, reviewer, auditor";
    const READERS: &str = "admin, reviewer, auditor";
    const REVIEWERS: &str = "admin, reviewer";
    const REGISTRARS: &str = "admin, registrar";
    const ADMINS: &str = "admin";
    vec![
        route(M::GET, "/api/v1/me", "The user the token belongs to", ALL, get(admin::me)),
        route(M::GET, "/api/v1/findings", "Findings in your units, newest first, filtered and paged", READERS, get(api::list_findings)),
        route(M::GET, "/api/v1/findings/{id}", "One finding with its activity, evidence and history (audited)", READERS, get(api::get_finding)),
        route(M::POST, "/api/v1/findings/{id}/claim", "Claim a finding for review (a lease)", REVIEWERS, post(api::claim)),
        route(M::POST, "/api/v1/findings/{id}/release", "Release your claim", REVIEWERS, post(api::release)),
        route(M::POST, "/api/v1/findings/{id}/decide", "Decide: dismissed, escalated, needs_info, reported", REVIEWERS, post(api::decide)),
        route(M::POST, "/api/v1/findings/{id}/reopen", "Reopen a decided finding (senior reviewers)", REVIEWERS, post(api::reopen)),
        route(M::POST, "/api/v1/findings/bulk", "One decision for up to 500 findings, all or none", REVIEWERS, post(api::bulk)),
        route(M::GET, "/api/v1/cases", "Cases (one employee, one entity, one window) in your units", READERS, get(api::list_cases)),
        route(M::GET, "/api/v1/cases/{id}", "One case with its findings", READERS, get(api::get_case)),
        route(M::POST, "/api/v1/check", "What the detector would flag in a text, and why", ALL, post(api::check)),
        route(M::GET, "/api/v1/audit", "Audit log entries after a sequence number", "admin, auditor", get(api::audit_log)),
        route(M::GET, "/api/v1/audit/verify", "Verify the audit hash chain", "admin, auditor", get(api::audit_verify)),
        route(M::GET, "/api/v1/employees", "Employees in your units", ALL, get(admin::list_employees)),
        route(M::GET, "/api/v1/employees/{id}", "One employee with accounts and scan state", ALL, get(admin::get_employee)),
        route(M::POST, "/api/v1/employees/{id}/deactivate", "Stop scanning an employee; history stays", REGISTRARS, post(admin::deactivate_employee)),
        route(M::POST, "/api/v1/employees/{id}/activate", "Resume scanning an employee", REGISTRARS, post(admin::activate_employee)),
        route(M::GET, "/api/v1/accounts", "Registered accounts in your units with scan state", ALL, get(admin::list_accounts)),
        route(M::POST, "/api/v1/accounts/import", "Register employees and accounts from CSV (text/csv), all rows or none", REGISTRARS, post(admin::import_accounts)),
        route(M::GET, "/api/v1/watched", "Watched candidate, party and campaign-team accounts", ALL, get(admin::list_watched)),
        route(M::POST, "/api/v1/watched/import", "Register watched accounts from CSV (text/csv), all rows or none", ADMINS, post(admin::import_watched)),
        route(M::GET, "/api/v1/users", "Users in your units", ADMINS, get(admin::list_users)),
        route(M::POST, "/api/v1/users", "Add a user", ADMINS, post(admin::add_user)),
        route(M::PATCH, "/api/v1/users/{id}", "Change a user's role, unit, seniority or active flag", ADMINS, patch(admin::change_user)),
        route(M::POST, "/api/v1/users/{id}/tokens", "Create an API token (shown once)", ADMINS, post(admin::create_token)),
        route(M::GET, "/api/v1/tokens", "API tokens (never their secrets)", ADMINS, get(admin::list_tokens)),
        route(M::POST, "/api/v1/tokens/{id}/revoke", "Revoke a token at once", ADMINS, post(admin::revoke_token)),
        route(M::GET, "/api/v1/alerts/endpoints", "Alert endpoints with their state and queue sizes", ADMINS, get(alerts::list_endpoints)),
        route(M::POST, "/api/v1/alerts/endpoints/{name}/enable", "Enable an alert endpoint", ADMINS, post(alerts::enable)),
        route(M::POST, "/api/v1/alerts/endpoints/{name}/disable", "Disable an alert endpoint (optional JSON reason)", ADMINS, post(alerts::disable)),
        route(M::GET, "/api/v1/alerts/pending", "Alert messages waiting for delivery", ADMINS, get(alerts::list_pending)),
        route(M::GET, "/api/v1/alerts/dead", "Dead alert messages and why they died", ADMINS, get(alerts::list_dead)),
        route(M::POST, "/api/v1/alerts/dead/{id}/replay", "Queue a dead alert again (same webhook-id)", ADMINS, post(alerts::replay)),
    ]
}

/// The application.
pub fn router(state: AppState) -> Router {
    let mut api = Router::new();
    for spec in api_routes() {
        api = api.route(spec.path, spec.handler);
    }
    let max_body = state.max_body_bytes;
    let timeout = state.request_timeout;
    api.merge(web::routes())
        .route("/api/v1/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            time_limited(request, next, timeout)
        }))
        .with_state(state)
}

async fn time_limited(request: Request, next: Next, limit: Duration) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long",
        )
        .into_response(),
    }
}

async fn unknown_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_route",
        "no route at this path",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take this method",
    )
}

/// The OpenAPI 3.1 description, made from [`api_routes`].
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    for spec in api_routes() {
        let entry = paths
            .entry(spec.path.to_string())
            .or_insert_with(|| json!({}));
        let mut parameters = Vec::new();
        for name in ["id", "name"] {
            if spec.path.contains(&format!("{{{name}}}")) {
                parameters.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
            }
        }
        entry[spec.method.as_str().to_lowercase()] = json!({
            "summary": spec.summary,
            "description": format!("Roles: {}.", spec.roles),
            "parameters": parameters,
            "security": [{"bearer": []}],
            "responses": {
                "200": {"description": "OK"},
                "default": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        });
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Netra API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "enum": error::CODES},
                        "message": {"type": "string"},
                    },
                }},
            }},
        },
    })
}

async fn openapi() -> Json<Value> {
    Json(openapi_document())
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
