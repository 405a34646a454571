//! Every failure, in Qonto's error shape (spec §1.4):
//! `{"errors":[{"code","detail","source"?}],"trace_id"}`, with `trace_id` equal to the
//! response's `X-Request-Id`.

use crate::http::trace;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cardinal_domain::{DomainError, FieldIssue};
use cardinal_store::StoreError;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// JSON pointer into the request body.
    Pointer(String),
    /// Name of the query parameter.
    Parameter(String),
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
    /// SCA answers are flat (`{"code","message",...}`) as Qonto sends them (spec §1.8); these
    /// keys go at the top level, beside `errors` and `trace_id`.
    pub flat: Option<serde_json::Map<String, serde_json::Value>>,
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

    /// An SCA answer: Qonto's flat `code`/`message` plus `extra` keys, and `errors` too so
    /// clients reading either shape understand it.
    pub fn sca(status: StatusCode, code: &'static str, message: &str, extra: serde_json::Value) -> ApiError {
        let mut flat = serde_json::Map::new();
        flat.insert("code".into(), code.into());
        flat.insert("message".into(), message.into());
        if let serde_json::Value::Object(more) = extra {
            flat.extend(more);
        }
        ApiError { flat: Some(flat), ..ApiError::new(status, code, message) }
    }

    /// The same error in the flat shape of Qonto's webhook-subscription routes:
    /// `{"code","detail","source"?}` at the top level (beside `errors` and `trace_id`).
    pub fn flattened(mut self) -> ApiError {
        if let Some(first) = self.errors.first() {
            let mut flat = serde_json::Map::new();
            flat.insert("code".into(), first.code.into());
            flat.insert("detail".into(), first.detail.clone().into());
            if let Some(source) = &first.source {
                flat.insert("source".into(), serde_json::to_value(source).unwrap_or_default());
            }
            self.flat.get_or_insert_with(Default::default).extend(flat);
        }
        self
    }

    /// `422 sca_session_invalid`: the presented SCA session cannot approve this request.
    pub fn sca_session_invalid(why: &str) -> ApiError {
        ApiError::sca(StatusCode::UNPROCESSABLE_ENTITY, "sca_session_invalid", why, serde_json::json!({}))
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

    pub fn code(&self) -> &'static str {
        self.errors.first().map(|e| e.code).unwrap_or("internal_error")
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> ApiError {
        match e {
            DomainError::NotFound => ApiError::not_found("card"),
            DomainError::Forbidden(detail) => ApiError::forbidden(detail),
            e @ (DomainError::InvalidTransition { .. } | DomainError::WrongLevel { .. }) => {
                ApiError::unprocessable("invalid_transition", e.to_string(), None)
            }
            DomainError::Invalid(issues) => ApiError::issues(issues),
            // A card's own rules, after a change: the fields of the body's `card`.
            DomainError::InvalidCard(issues) => ApiError::issues(issues.iter().map(|i| placed(i, "/card")).collect()),
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

#[derive(Serialize)]
struct ErrorBody<'a> {
    errors: &'a [ErrorItem],
    trace_id: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let trace_id = trace::request_id();
        let mut response = match self.flat {
            Some(mut flat) => {
                flat.insert("errors".into(), serde_json::to_value(&self.errors).unwrap_or_default());
                flat.insert("trace_id".into(), trace_id.into());
                (self.status, axum::Json(flat)).into_response()
            }
            None => (self.status, axum::Json(ErrorBody { errors: &self.errors, trace_id })).into_response(),
        };
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A card rule's issue (the domain names the field) placed where that field sits in a request:
/// under `prefix`, e.g. `/card` or `/cards/3/card`.
pub fn placed(issue: &cardinal_domain::CardIssue, prefix: &str) -> FieldIssue {
    FieldIssue::new(issue.code, format!("{prefix}/{}", issue.field.as_str()), issue.detail.clone())
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
