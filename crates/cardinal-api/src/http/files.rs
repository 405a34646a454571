//! Files in and out. Uploads: `multipart/form-data` with the file in part `file` (Qonto's
//! attachment routes), read by `multer` (axum's `Multipart`) a chunk at a time, the size cap
//! enforced as the chunks arrive; the routes that take uploads are the only ones whose bodies
//! may be larger than the API's usual limit ([`limit_for`]). Downloads: a file to save, never
//! to render ([`download`]).

use crate::app::receipts::Upload;
use crate::http::error::{ApiError, ApiResult};
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cardinal_domain::attachments::MAX_FILE_BYTES;

/// The most an upload's whole body may hold: the file and the multipart framing around it.
pub const UPLOAD_BODY_LIMIT: usize = MAX_FILE_BYTES + 64 * 1024;

/// The body limit of a request to `path` with `method`: [`UPLOAD_BODY_LIMIT`] on the routes
/// that take files (`POST /v2/attachments`, `POST /v2/transactions/{id}/attachments`), the
/// configured limit elsewhere. Decided on the path, before routing, because the outer layers
/// (the declared-length check, idempotency keys) read bodies before a route is chosen.
pub fn limit_for(method: &axum::http::Method, path: &str, configured: usize) -> usize {
    if method != axum::http::Method::POST {
        return configured;
    }
    // Matched on the text, not on a list of its segments: every POST asks (1,100 instructions).
    let path = path.trim_end_matches('/');
    let transaction_attachments = path
        .strip_prefix("/v2/transactions/")
        .and_then(|rest| rest.strip_suffix("/attachments"))
        .is_some_and(|id| !id.contains('/'));
    match path == "/v2/attachments" || transaction_attachments {
        true => UPLOAD_BODY_LIMIT,
        false => configured,
    }
}

/// The one part of an upload, `file`, whole. Qonto's uploads have no other part: another, or a
/// second file, is refused rather than silently dropped.
pub async fn file_part(multipart: Result<Multipart, MultipartRejection>) -> ApiResult<Upload> {
    let mut multipart = multipart.map_err(|rejection| {
        ApiError::bad_request(format!("the body must be multipart/form-data with the file in part `file`: {rejection}"))
    })?;
    let mut upload = None;
    while let Some(mut field) = multipart.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name != "file" || upload.is_some() {
            let detail = "an upload has one part, `file`";
            return Err(ApiError::field("invalid", format!("/{}", name.replace('~', "~0").replace('/', "~1")), detail));
        }
        let file_name = field.file_name().unwrap_or("receipt").to_owned();
        let mut content = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(broken)? {
            if content.len() + chunk.len() > MAX_FILE_BYTES {
                return Err(too_large());
            }
            content.extend_from_slice(&chunk);
        }
        upload = Some(Upload { file_name, content });
    }
    upload.ok_or_else(|| ApiError::field("required", "/file", "the upload has no part named `file`"))
}

/// A body that broke off or is not well-formed multipart: 400, or 413 past the body limit.
fn broken(error: axum::extract::multipart::MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    ApiError::bad_request(format!("the multipart body is malformed or cut short: {}", error.body_text()))
}

/// `bytes` as a file to save under `file_name`: `Content-Disposition: attachment`, `nosniff`
/// and a sandboxing CSP, so a browser never renders it as a page nor runs anything in it.
pub fn download(bytes: Vec<u8>, content_type: &'static str, file_name: &str) -> Response {
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_DISPOSITION, disposition(file_name));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

/// `attachment; filename="…"` with an ASCII fallback, and `filename*` (RFC 6266) for the rest.
fn disposition(file_name: &str) -> HeaderValue {
    let ascii: String = file_name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

fn too_large() -> ApiError {
    ApiError::payload_too_large(format!("the file is larger than {} MB", MAX_FILE_BYTES / (1024 * 1024)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn only_the_upload_routes_take_files() {
        let limit = |method: &Method, path: &str| limit_for(method, path, 1000);
        assert_eq!(limit(&Method::POST, "/v2/attachments"), UPLOAD_BODY_LIMIT);
        assert_eq!(limit(&Method::POST, "/v2/attachments/"), UPLOAD_BODY_LIMIT);
        assert_eq!(limit(&Method::POST, "/v2/transactions/abc/attachments"), UPLOAD_BODY_LIMIT);
        assert_eq!(limit(&Method::GET, "/v2/attachments"), 1000);
        assert_eq!(limit(&Method::POST, "/v2/transactions/abc/attachments/x"), 1000);
        assert_eq!(limit(&Method::POST, "/v2/cards"), 1000);
        assert_eq!(limit(&Method::POST, "/v2/transactions/a/b/attachments"), 1000);
        assert_eq!(limit(&Method::POST, "/v2/transactions/attachments"), 1000);
        assert_eq!(limit(&Method::POST, "/x/v2/attachments"), 1000);
    }
}
