//! Request bodies and query strings, decoded strictly: the right content type, no unknown
//! fields, and an error that names what is wrong.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body of type `T`. Only `application/json` is accepted, which also keeps browsers'
/// cross-site "simple" form posts out (they cannot send it without a preflight).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        require_content_type(request.headers(), "application/json")?;
        let bytes = read_body(request, state).await?;
        let mut decoder = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut decoder)
            .map(ApiJson)
            .map_err(|error| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_json",
                    format!(
                        "the request body is not valid for this route: {}: {}",
                        error.path(),
                        error.inner()
                    ),
                )
            })
    }
}

/// A `text/csv` body, as UTF-8 text.
pub struct CsvText(pub String);

impl<S: Send + Sync> FromRequest<S> for CsvText {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        require_content_type(request.headers(), "text/csv")?;
        let bytes = read_body(request, state).await?;
        String::from_utf8(bytes.to_vec())
            .map(CsvText)
            .map_err(|error| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_csv",
                    format!("the CSV is not UTF-8: {error}"),
                )
            })
    }
}

fn require_content_type(headers: &axum::http::HeaderMap, wanted: &str) -> Result<(), ApiError> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case(wanted) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("this route takes Content-Type: {wanted}, got '{given}'"),
        ))
    }
}

/// Reads the body under the router's size limit; an oversized body is refused as 413 without
/// being buffered past the limit.
async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "the request body is larger than http.max_body_kib allows",
                )
            } else {
                ApiError::bad_request(format!("the request body cannot be read: {rejection}"))
            }
        })
}

/// A query string decoded into `T`, with unknown parameters refused.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let object: serde_json::Map<String, serde_json::Value> = pairs
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        serde_json::from_value(serde_json::Value::Object(object))
            .map(ApiQuery)
            .map_err(|error| ApiError::bad_request(format!("bad query parameter: {error}")))
    }
}
