//! Every failure, in Qonto's error shape (spec §1.4):
//! `{"errors":[{"code","detail","source"?}],"trace_id"}`, with `trace_id` equal to the
//! response's `X-Request-Id`.

use crate::http::json::Json;
use crate::http::trace;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cardinal_domain::{DomainError, FieldIssue};
use cardinal_store::StoreError;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// JSON pointer into the request body.
    Pointer(String),
    /// Name of the query parameter.
    Parameter(String),
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, JsonSchema)]
pub struct ErrorItem {
    pub code: &'static str,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub errors: Vec<ErrorItem>,
    pub retry_after: Option<u64>,
    /// Keys some answers also carry at the top level, beside `errors` and `trace_id`.
    pub flat: Option<Box<Flat>>,
}

/// The top-level keys of the answers Qonto sends flat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flat {
    /// SCA answers (spec §1.8): `code`, `message`, and what the member is asked to approve.
    Sca { code: &'static str, message: String, action_type: Option<&'static str>, sca_session_token: Option<String> },
    /// The webhook-subscription routes: the first error's `code`, `detail` and `source`.
    First,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// What a `503 storage_unavailable` asks clients to wait before retrying.
pub const STORAGE_RETRY_AFTER_SECONDS: u64 = 1;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            errors: vec![ErrorItem { code, detail: detail.into(), source: None }],
            retry_after: None,
            flat: None,
        }
    }

    /// 422 listing every field that failed validation.
    pub fn issues(issues: Vec<FieldIssue>) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: issues
                .into_iter()
                .map(|i| ErrorItem { code: i.code, detail: i.detail, source: Some(Source::Pointer(i.pointer)) })
                .collect(),
            retry_after: None,
            flat: None,
        }
    }

    /// An SCA answer: Qonto's flat `code`/`message` (with the action to approve and the
    /// session that approves it, when there are), and `errors` too so clients reading either
    /// shape understand it.
    pub fn sca(
        status: StatusCode,
        code: &'static str,
        message: &str,
        action_type: Option<&'static str>,
        sca_session_token: Option<String>,
    ) -> ApiError {
        let flat = Flat::Sca { code, message: message.to_owned(), action_type, sca_session_token };
        ApiError { flat: Some(Box::new(flat)), ..ApiError::new(status, code, message) }
    }

    /// The same error in the flat shape of Qonto's webhook-subscription routes:
    /// `{"code","detail","source"?}` at the top level (beside `errors` and `trace_id`).
    pub fn flattened(mut self) -> ApiError {
        self.flat = self.flat.or(Some(Box::new(Flat::First)));
        self
    }

    /// `422 sca_session_invalid`: the presented SCA session cannot approve this request.
    pub fn sca_session_invalid(why: &str) -> ApiError {
        ApiError::sca(StatusCode::UNPROCESSABLE_ENTITY, "sca_session_invalid", why, None, None)
    }

    pub fn rate_limited(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests; retry later")
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn missing_scope() -> ApiError {
        // Clients match this exact text (spec §1.2).
        ApiError::forbidden("missing required oauth scope")
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    /// A body over the size limit (`detail` may say by how much).
    pub fn payload_too_large(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", detail)
    }

    pub fn internal() -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "an unexpected error occurred")
    }

    /// A 422 about one field of the body.
    pub fn field(code: &'static str, pointer: impl Into<String>, detail: impl Into<String>) -> ApiError {
        ApiError::unprocessable(code, detail, Some(Source::Pointer(pointer.into())))
    }

    /// A 422 about one query parameter.
    pub fn parameter(code: &'static str, name: impl Into<String>, detail: impl Into<String>) -> ApiError {
        ApiError::unprocessable(code, detail, Some(Source::Parameter(name.into())))
    }

    fn unprocessable(code: &'static str, detail: impl Into<String>, source: Option<Source>) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: vec![ErrorItem { code, detail: detail.into(), source }],
            retry_after: None,
            flat: None,
        }
    }

    /// The same errors with their body pointers under `prefix` (a wrapper key: `/card`).
    pub fn under(mut self, prefix: &str) -> ApiError {
        for item in &mut self.errors {
            if let Some(Source::Pointer(pointer)) = &mut item.source {
                *pointer = format!("{prefix}{pointer}");
            }
        }
        self
    }

    pub fn code(&self) -> &'static str {
        self.errors.first().map(|e| e.code).unwrap_or("internal_error")
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> ApiError {
        match e {
            DomainError::NotFound => ApiError::not_found("card"),
            DomainError::Missing(what) => ApiError::not_found(what),
            DomainError::Forbidden(detail) => ApiError::forbidden(detail),
            e @ (DomainError::InvalidTransition { .. } | DomainError::WrongLevel { .. }) => {
                ApiError::unprocessable("invalid_transition", e.to_string(), None)
            }
            DomainError::Invalid(issues) => ApiError::issues(issues),
            // A card's own rules, after a change: the fields of the body's `card`.
            DomainError::InvalidCard(issues) => ApiError::issues(issues.iter().map(|i| i.at("/card")).collect()),
            DomainError::InvalidState(detail) => ApiError::unprocessable("invalid_transition", detail, None),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Domain(d) => d.into(),
            StoreError::Conflict(detail) => ApiError::new(StatusCode::CONFLICT, "conflict", detail),
            StoreError::ScaSessionUsed => ApiError::sca_session_invalid("this SCA session has already been used"),
            StoreError::Backend(cause) => {
                tracing::error!(%cause, "storage failure");
                ApiError::internal()
            }
            StoreError::Unavailable(cause) => {
                tracing::error!(%cause, "storage unavailable");
                ApiError {
                    retry_after: Some(STORAGE_RETRY_AFTER_SECONDS),
                    ..ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "storage_unavailable",
                        "the database cannot take requests right now; retry later",
                    )
                }
            }
        }
    }
}

/// Every error: the problems, and the request's id (equal to the `X-Request-Id` header).
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorAnswer {
    pub errors: Vec<ErrorItem>,
    /// Equals the X-Request-Id response header.
    pub trace_id: String,
}

/// A `428`/`412`/`422` of strong customer authentication, flat as Qonto sends it.
#[derive(Serialize, JsonSchema)]
pub struct ScaAnswer {
    #[schemars(schema_with = "sca_codes")]
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sca_session_token: Option<String>,
    pub errors: Vec<ErrorItem>,
    pub trace_id: String,
}

fn sca_codes(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    cardinal_wire::schema::one_of([
        "sca_required",
        "sca_not_enrolled",
        "sca_denied",
        "sca_pending",
        "sca_session_invalid",
    ])
}

/// An error of the webhook-subscription routes: the first error also at the top level when
/// the route's handler answered (a layer before it, such as the idempotency key's or the
/// query's checks, answers `errors` and `trace_id` only).
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "FlatError")]
pub struct FlatError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    pub errors: Vec<ErrorItem>,
    pub trace_id: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let trace_id = trace::request_id();
        let errors = self.errors;
        let mut response = match self.flat.map(|flat| *flat) {
            Some(Flat::Sca { code, message, action_type, sca_session_token }) => {
                let body = ScaAnswer { code, message, action_type, sca_session_token, errors, trace_id };
                (self.status, Json(body)).into_response()
            }
            Some(Flat::First) => {
                let first = errors.first().cloned();
                let body = FlatError {
                    code: first.as_ref().map(|e| e.code),
                    detail: first.as_ref().map(|e| e.detail.clone()),
                    source: first.and_then(|e| e.source),
                    errors,
                    trace_id,
                };
                (self.status, Json(body)).into_response()
            }
            None => (self.status, Json(ErrorAnswer { errors, trace_id })).into_response(),
        };
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_storage_is_a_503_to_retry() {
        let e = ApiError::from(StoreError::Unavailable("disk full".into()));
        assert_eq!(
            (e.status, e.code(), e.retry_after),
            (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", Some(1))
        );
        assert!(!e.errors[0].detail.contains("disk"), "the cause stays in the logs");
    }
}
