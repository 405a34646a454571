//! Receipts over `/v2` (`qonto-reference.md` §5), on [`crate::app::receipts`]: a standalone
//! upload, an attachment read, a transaction's attachments listed, attached (multipart part
//! `file`) and removed; and the signed download links their `url` carries.

use crate::app::receipts;
use crate::http::auth::Principal;
use crate::http::error::{ApiError, ApiResult};
use crate::http::files::{download, file_part};
use crate::http::json::Json;
use crate::http::params::Params;
use crate::wire::attachments::{AttachmentBody, AttachmentEnvelope, AttachmentId, AttachmentList, UploadedAttachment};
use crate::wire::Meta;
use crate::AppState;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use cardinal_domain::attachments::FileKind;
use cardinal_store::Attachment;
use uuid::Uuid;

/// `POST /v2/attachments` (multipart, part `file`) → `{"attachment": {"id"}}`.
pub async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<UploadedAttachment>> {
    let file = file_part(multipart).await?;
    let stored = receipts::upload(&state.app, &principal.organization, &principal.member(), file).await?;
    Ok(Json(UploadedAttachment { attachment: AttachmentId { id: stored.id } }))
}

/// `GET /v2/attachments/{id}` → `{"attachment": …}` with a 30-minute download link.
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
) -> ApiResult<Json<AttachmentEnvelope>> {
    let id = id_of(&raw, "attachment")?;
    let found = receipts::attachment(&state.app, &principal.organization, &principal.member(), id).await?;
    Ok(Json(AttachmentEnvelope { attachment: body(&state, &found, principal.organization.now()) }))
}

/// `GET /v2/transactions/{id}/attachments` → `{"attachments": […], "meta"}`, oldest first.
pub async fn of_transaction(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<AttachmentList>> {
    let page = Params::parse(query.as_deref()).page()?;
    let id = id_of(&raw, "transaction")?;
    let all = receipts::of_transaction(&state.app, &principal.organization, &principal.member(), id).await?;
    let now = principal.organization.now();
    let (shown, meta) = Meta::slice(all, page);
    Ok(Json(AttachmentList { attachments: shown.iter().map(|a| body(&state, a, now)).collect(), meta }))
}

/// `POST /v2/transactions/{id}/attachments` (multipart, part `file`) → 200, no body (Qonto's).
pub async fn attach(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<StatusCode> {
    let id = id_of(&raw, "transaction")?;
    let file = file_part(multipart).await?;
    receipts::attach(&state.app, &principal.organization, &principal.member(), id, file).await?;
    Ok(StatusCode::OK)
}

/// `DELETE /v2/transactions/{id}/attachments/{attachment_id}` → 200, no body.
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path((raw, attachment)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = id_of(&raw, "transaction")?;
    let attachment = id_of(&attachment, "attachment")?;
    receipts::detach(&state.app, &principal.organization, &principal.member(), id, Some(attachment)).await?;
    Ok(StatusCode::OK)
}

/// `DELETE /v2/transactions/{id}/attachments` → 200, no body: every receipt goes.
pub async fn remove_all(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let id = id_of(&raw, "transaction")?;
    receipts::detach(&state.app, &principal.organization, &principal.member(), id, None).await?;
    Ok(StatusCode::OK)
}

/// `GET /files/{organization_id}/{id}?expires&signature`: the file a download link opens,
/// to save (never rendered); a wrong, expired or unknown link is a 404 that says no more.
pub async fn file(
    State(state): State<AppState>,
    Path((organization, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let gone = || ApiError::not_found("file (or the link has expired)");
    let params = Params::parse(query.as_deref());
    let (Ok(organization), Ok(id)) = (Uuid::parse_str(&organization), Uuid::parse_str(&id)) else { return Err(gone()) };
    let expires = params.one("expires").and_then(|e| e.parse::<i64>().ok()).ok_or_else(gone)?;
    let signature = params.one("signature").ok_or_else(gone)?;
    let (attachment, content) =
        receipts::open_link(&state.app, organization, id, expires, signature).await?.ok_or_else(gone)?;
    let kind = FileKind::of_content_type(&attachment.content_type).ok_or_else(gone)?;
    Ok(download(content, kind.content_type(), &attachment.file_name))
}

/// An attachment as Qonto shows it, its `url` absolute.
pub fn body(state: &AppState, attachment: &Attachment, now: jiff::Timestamp) -> AttachmentBody {
    let url =
        format!("{}{}", state.config.public_url.trim_end_matches('/'), receipts::link(&state.app, attachment, now));
    AttachmentBody::of(attachment, url)
}

fn id_of(raw: &str, what: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found(what))
}
