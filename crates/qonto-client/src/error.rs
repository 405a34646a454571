//! Every failure as one type. An API refusal keeps Qonto's `errors[]` (code, detail, where),
//! whichever of Qonto's two shapes it came in: `{"errors": [...]}` (most routes; sometimes a
//! single object) or flat `{"code", "detail", "source"}` (the webhook-subscription routes).

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API refused the request.
    #[error("{}", sentences(*status, errors))]
    Api {
        status: u16,
        errors: Vec<ApiErrorItem>,
        /// The answer's `X-Request-Id` (also its `trace_id`): what support, or Cardinal's
        /// request log, finds the request by.
        request_id: Option<String>,
    },
    /// The member denied the SCA session, or it expired.
    #[error("strong customer authentication was denied or expired")]
    ScaDenied,
    /// No answer from the member within the wait.
    #[error("strong customer authentication is still waiting for the member")]
    ScaStillPending,
    /// Still `429` after the retries, or a `Retry-After` too long to wait for.
    #[error("rate limited: retry after {} s", retry_after.unwrap_or(1))]
    RateLimited { retry_after: Option<u64> },
    /// The network, TLS or a timeout.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// A successful answer that is not the expected shape.
    #[error("unexpected answer ({status}): {detail}")]
    Decode { status: u16, detail: String },
    /// The client was built wrong (no credential, a bad URL).
    #[error("{0}")]
    Config(String),
}

/// One of Qonto's error items.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiErrorItem {
    pub code: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub source: Option<ErrorSource>,
}

/// Where an error is: a body field (`pointer`) or a query parameter (`parameter`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorSource {
    pub pointer: Option<String>,
    pub parameter: Option<String>,
}

impl Error {
    /// The HTTP status of an API refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// The first error's code (`not_found`, `sca_required`, `card_not_active`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { errors, .. } => errors.first().map(|e| e.code.as_str()),
            Error::ScaDenied => Some("sca_denied"),
            Error::RateLimited { .. } => Some("rate_limited"),
            _ => None,
        }
    }

    pub(crate) fn from_answer(status: u16, body: &[u8], request_id: Option<String>) -> Error {
        let errors = serde_json::from_slice::<Value>(body).map(|v| items(&v)).unwrap_or_default();
        let errors = match errors.is_empty() {
            true => vec![ApiErrorItem {
                code: format!("http_{status}"),
                detail: String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_owned(),
                source: None,
            }],
            false => errors,
        };
        Error::Api { status, errors, request_id }
    }
}

fn items(body: &Value) -> Vec<ApiErrorItem> {
    let read = |v: &Value| serde_json::from_value::<ApiErrorItem>(v.clone()).ok();
    match body.get("errors") {
        Some(Value::Array(list)) => list.iter().filter_map(read).collect(),
        Some(one @ Value::Object(_)) => read(one).into_iter().collect(),
        _ => read(body).into_iter().collect(),
    }
}

/// `404 card not found (not_found)`, or each item on its line.
fn sentences(status: u16, errors: &[ApiErrorItem]) -> String {
    let line = |e: &ApiErrorItem| {
        let at = e.source.as_ref().and_then(|s| s.pointer.as_deref().or(s.parameter.as_deref()));
        match at {
            Some(at) if !at.is_empty() => format!("{} ({} at {at})", e.detail, e.code),
            _ => format!("{} ({})", e.detail, e.code),
        }
    };
    let lines: Vec<String> = errors.iter().map(line).collect();
    format!("{status}: {}", lines.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_of_qontos_error_shapes_read() {
        let wrapped = br#"{"errors":[{"code":"not_found","detail":"card not found"}],"trace_id":"x"}"#;
        let error = Error::from_answer(404, wrapped, Some("x".into()));
        assert_eq!((error.code(), error.to_string().as_str()), (Some("not_found"), "404: card not found (not_found)"));
        let flat = br#"{"code":"invalid","detail":"callback_url must be https","source":{"pointer":"/callback_url"}}"#;
        let error = Error::from_answer(422, flat, None);
        assert_eq!(error.to_string(), "422: callback_url must be https (invalid at /callback_url)");
        let single = br#"{"errors":{"code":"forbidden","detail":"no"}}"#;
        assert_eq!(Error::from_answer(403, single, None).code(), Some("forbidden"));
        assert_eq!(Error::from_answer(502, b"<html>bad gateway</html>", None).code(), Some("http_502"));
    }
}
