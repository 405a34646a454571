//! Request bodies: read within the size limit, parsed as JSON, failures in the error shape.

use crate::http::error::{ApiError, ApiResult};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use cardinal_domain::FieldIssue;
use cardinal_wire::validate::violations_of;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use serde_json::Value;

/// A request body of type `T`: parsed, checked against `T`'s derived JSON Schema (every
/// problem reported at once, each with its pointer), then read. The schema is the one the
/// OpenAPI document shows. An empty body reads as `{}` so "all fields optional" bodies may be
/// omitted.
pub struct JsonBody<T>(pub T);

/// A [`JsonBody`] and the JSON it was read from, for the routes whose SCA approval is bound
/// to the exact request.
pub struct JsonBodyWithRaw<T> {
    pub body: T,
    pub json: Value,
}

impl<S: Send + Sync, T: DeserializeOwned + JsonSchema + 'static> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> ApiResult<JsonBody<T>> {
        JsonBodyWithRaw::from_request(request, state).await.map(|read| JsonBody(read.body))
    }
}

impl<S: Send + Sync, T: DeserializeOwned + JsonSchema + 'static> FromRequest<S> for JsonBodyWithRaw<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> ApiResult<JsonBodyWithRaw<T>> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large("the request body is too large")
            } else {
                ApiError::bad_request("the request body could not be read")
            }
        })?;
        read::<T>(&bytes).map(|(body, json)| JsonBodyWithRaw { body, json })
    }
}

/// Reads a body of type `T` (see [`JsonBody`]), with the JSON it came as.
pub fn read<T: DeserializeOwned + JsonSchema + 'static>(bytes: &[u8]) -> ApiResult<(T, Value)> {
    let json: Value = parse(bytes)?;
    let problems = violations_of::<T>(&json);
    if !problems.is_empty() {
        return Err(ApiError::issues(
            problems.into_iter().map(|v| FieldIssue::new(v.code, v.pointer, v.detail)).collect(),
        ));
    }
    // The schema has passed, so this only fails where a type reads more strictly than its
    // schema can say; serde's message names the field.
    let body = T::deserialize(&json).map_err(|e| ApiError::field("invalid", "", e.to_string()))?;
    Ok((body, json))
}

/// A body whose declared `Content-Length` is over the limit is refused before any of it is
/// read, whatever the route (a client announcing 10 GB and sending nothing would otherwise
/// wait for the stall timeout). The connection is closed: the body stays unread.
/// The body length a request's `Content-Length` declares, if it declares one.
pub fn declared_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers.get(axum::http::header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse::<u64>().ok()
}

pub fn declared_too_large(request: &Request, limit: usize) -> Option<axum::response::Response> {
    use axum::http::{header, HeaderValue};
    use axum::response::IntoResponse;
    let declared = declared_length(request.headers())?;
    if declared <= limit as u64 {
        return None;
    }
    let detail = format!("the request body is too large: {declared} bytes declared, at most {limit} taken");
    let mut response = ApiError::payload_too_large(detail).into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    Some(response)
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    refuse_nul(text)?;
    serde_json::from_slice(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string()),
        _ => ApiError::bad_request(format!("malformed JSON body: {e}")),
    })
}

/// Strings with U+0000 are refused on every backend (spec §1.1): PostgreSQL cannot store them,
/// and a search for one must not match everything. JSON can only carry it escaped, so bodies
/// without `\u0000` are not walked at all, and those without a backslash not even searched
/// for it (finding a byte is a `memchr`; comparing every window of six, 900 instructions).
fn refuse_nul(bytes: &[u8]) -> ApiResult<()> {
    if !bytes.contains(&b'\\') || !bytes.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else { return Ok(()) };
    match nul_at(&value, String::new()) {
        Some(pointer) => Err(ApiError::field("invalid", pointer, "strings must not contain the character U+0000")),
        None => Ok(()),
    }
}

/// The JSON pointer of the first string (or key) holding U+0000.
fn nul_at(value: &serde_json::Value, pointer: String) -> Option<String> {
    use serde_json::Value::*;
    match value {
        String(text) if text.contains('\0') => Some(pointer),
        Array(items) => items.iter().enumerate().find_map(|(i, v)| nul_at(v, format!("{pointer}/{i}"))),
        Object(map) => map.iter().find_map(|(k, v)| {
            let here = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
            if k.contains('\0') {
                Some(here)
            } else {
                nul_at(v, here)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_refused_with_their_pointer() {
        let err = parse::<serde_json::Value>(br#"{"card":{"nickname":"a\u0000b"}}"#).unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.errors[0].source, Some(crate::http::error::Source::Pointer("/card/nickname".into())));
        let err = parse::<serde_json::Value>(br#"{"cards":[{"card":{}},{"card":{"x\u0000":1}}]}"#).unwrap_err();
        assert_eq!(err.errors[0].source, Some(crate::http::error::Source::Pointer("/cards/1/card/x\u{0}".into())));
        assert!(parse::<serde_json::Value>(br#"{"nickname":"a\\u0000b"}"#).is_ok(), "an escaped backslash is no NUL");
    }
}
