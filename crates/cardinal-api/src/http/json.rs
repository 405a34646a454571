//! JSON answers: `Json(value)` as handlers return it, written by `cardinal_json`.
//!
//! The same response as axum's `Json` (`Content-Type: application/json`, serde_json's compact
//! text, byte for byte), at a fraction of the cost: serializing a card's answer was a third of
//! a lock/unlock's instructions in the HTTP workers (issue 27).

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON answer; `(status, Json(value))` sets another status, as with axum's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// The console reads the answers the API's handlers make, as with axum's `Json`.
impl<T> std::ops::Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        json_response(cardinal_json::to_vec(&self.0))
    }
}

/// Not generic, so compiled once for every answer's type.
fn json_response(written: Result<Vec<u8>, cardinal_json::Error>) -> Response {
    match written {
        Ok(body) => json_bytes(Bytes::from(body)),
        // No type Cardinal answers with fails to serialize (only a map whose keys are not
        // strings could); if one ever did, that is the server's bug, said as axum's `Json` says
        // it. (The contract's error shape would need `http::error`, which answers through this
        // module.)
        Err(e) => {
            tracing::error!(error = %e, "an answer could not be written as JSON");
            let plain = HeaderValue::from_static("text/plain; charset=utf-8");
            (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, plain)], e.to_string()).into_response()
        }
    }
}

/// A 200 answer of JSON written earlier (a rendered card, a page of them).
pub fn json_bytes(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}
