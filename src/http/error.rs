//! API errors: one shape, `{"error":{"code","message"}}`, with codes that never change meaning.
//!
//! | status | code | when |
//! |---|---|---|
//! | 400 | `bad_json` | the body is not JSON, or not the JSON this route takes (unknown field, wrong type) |
//! | 400 | `bad_request` | a query parameter, path id or field value is invalid |
//! | 400 | `bad_csv` | a CSV upload has bad rows; nothing was imported |
//! | 401 | `unauthenticated` | no token, an unknown or revoked one, or a disabled user |
//! | 403 | `forbidden` | the role may not do this at all |
//! | 403 | `cross_site` | a browser request from another site |
//! | 404 | `not_found` | no such resource, or not in your units (the two look the same) |
//! | 404 | `unknown_route` | no route at this path |
//! | 405 | `method_not_allowed` | the route exists with another method |
//! | 409 | `conflict` | the finding is held by another reviewer, or the change is not allowed in its state |
//! | 409 | `already_exists` | a user, employee or account with this key exists |
//! | 413 | `body_too_large` | the body exceeds `http.max_body_kib` |
//! | 415 | `unsupported_media_type` | the body is not `application/json` (or `text/csv` for uploads) |
//! | 429 | `rate_limited` | too many requests for this token; see `Retry-After` |
//! | 500 | `internal` | a fault on our side; details are in the server log, not the answer |
//! | 503 | `timeout` | the request took longer than `http.request_timeout_secs` |

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

/// Every code in the table above, for tests and the OpenAPI description.
pub const CODES: [&str; 18] = [
    "bad_json",
    "bad_request",
    "bad_csv",
    "unauthenticated",
    "forbidden",
    "cross_site",
    "not_found",
    "unknown_route",
    "method_not_allowed",
    "conflict",
    "already_exists",
    "body_too_large",
    "unsupported_media_type",
    "rate_limited",
    "internal",
    "timeout",
    "invalid_state",
    "too_many",
];

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after_secs: Option<u64>,
    /// Row-level problems of an upload, shown as `error.rows`.
    pub rows: Vec<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
            rows: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(what: &str, id: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} {id} does not exist"),
        )
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "a valid API token is required (Authorization: Bearer asnt_...)",
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the server log has the details",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match &error {
            StoreError::NotFound { what, id } => ApiError::not_found(what, id),
            StoreError::AlreadyExists { .. } => {
                ApiError::new(StatusCode::CONFLICT, "already_exists", error.to_string())
            }
            StoreError::Invalid { .. } | StoreError::Key(_) => {
                ApiError::bad_request(error.to_string())
            }
            StoreError::Review(review) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", review.to_string())
            }
            StoreError::Bulk(_) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", error.to_string())
            }
            _ => {
                tracing::error!(error = %error, "Store error while answering a request.");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": {"code": self.code, "message": self.message}});
        if !self.rows.is_empty() {
            body["error"]["rows"] = json!(self.rows);
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}
