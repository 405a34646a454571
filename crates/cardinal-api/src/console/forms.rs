//! How a console form becomes an API call: its fields are made into the JSON body the API
//! route takes, read by the route's own reader (the same schema, every problem at its
//! pointer), and the route's answer or refusal becomes the notice the next page shows. After
//! a form, the browser is sent back (`303`), so a reload never sends it twice.

use super::auth::Signed;
use crate::http::body::{self, JsonBody};
use crate::http::error::{ApiError, ApiResult, Source};
use crate::http::session::Notice;
use axum::response::{IntoResponse, Redirect, Response};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// `json` read as the API reads a request body of type `T`.
pub fn json_body<T: DeserializeOwned + JsonSchema + 'static>(json: Value) -> ApiResult<JsonBody<T>> {
    let bytes = serde_json::to_vec(&json).unwrap_or_default();
    body::read::<T>(&bytes).map(|(body, _)| JsonBody(body))
}

/// The API's refusal as sentences: each error's detail, with the field it is about.
pub fn refusal_lines(error: &ApiError) -> Vec<String> {
    let mut lines: Vec<String> = error
        .errors
        .iter()
        .map(|e| match &e.source {
            Some(Source::Pointer(at) | Source::Parameter(at)) if !at.is_empty() => {
                format!("{} ({} at {at})", e.detail, e.code)
            }
            _ => format!("{} ({})", e.detail, e.code),
        })
        .collect();
    if lines.is_empty() {
        lines.push(format!("Refused: {}", error.status));
    }
    lines
}

/// The API's refusal, where a page shows it.
pub fn refusal(error: &ApiError) -> maud::Markup {
    maud::html! { @for line in refusal_lines(error) { p role="alert" { (line) } } }
}

/// Tells the next page how `outcome` went, and sends the browser back to `to`.
pub fn report<T>(signed: &Signed, to: &str, outcome: ApiResult<T>, said: impl FnOnce(T) -> Notice) -> Response {
    let notice = match outcome {
        Ok(value) => said(value),
        Err(error) => Notice::refused(refusal_lines(&error)),
    };
    signed.tell(notice);
    back(to)
}

pub fn back(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A whole number of a form field, or the API's kind of refusal at the field.
pub fn number(form: &crate::http::form::Form, name: &str) -> ApiResult<Option<i64>> {
    form.get(name)
        .map(|text| {
            text.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::field("invalid", format!("/{name}"), format!("{name} must be a whole number")))
        })
        .transpose()
}

/// A filter form's query without its empty fields: an empty field is no filter (the API
/// refuses `status=`, the form sends it).
pub fn filled_query(query: Option<String>) -> Option<String> {
    let query = query?;
    let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    (!kept.is_empty()).then(|| form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish())
}
