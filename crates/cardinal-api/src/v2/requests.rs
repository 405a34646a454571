//! `/v2/requests…` (spec §9, `qonto-reference.md` §3): card requests asked, listed, approved
//! (with SCA, as card creation: the core checks the card first, then the SCA step, then the
//! request is approved and its card issued in one commit) and declined.

use crate::app::cards::create::Creator;
use crate::app::requests::{self, NewRequest, RequestFilter};
use crate::http::auth::Principal;
use crate::http::body::{JsonBody, JsonBodyWithRaw};
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::http::params::Params;
use crate::v2::sca::ScaStep;
use crate::wire::card_requests::{
    ApproveRequestBody, CardRequestBody, CardRequestEnvelope, CardRequestList, DeclineRequestBody,
    FlashCardRequestBody, VirtualCardRequestBody,
};
use crate::wire::Meta;
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use cardinal_domain::requests::{Ask, RequestStatus, RequestType};
use cardinal_store::RequestSort;
use uuid::Uuid;

/// `POST /v2/requests/flash_cards` → 200 `{"request_flash_card": …}` (Qonto answers 200).
pub async fn create_flash(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<FlashCardRequestBody>,
) -> ApiResult<Json<CardRequestEnvelope>> {
    let ask = body.request_flash_card;
    let ask = NewRequest {
        ask: Ask::Flash { lifespan_limit: ask.payment_lifespan_limit.0, pre_expires_at: ask.pre_expires_at.0 },
        note: ask.note,
    };
    create(&state, &principal, ask).await
}

/// `POST /v2/requests/virtual_cards` → 200 `{"request_virtual_card": …}`.
pub async fn create_virtual(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<VirtualCardRequestBody>,
) -> ApiResult<Json<CardRequestEnvelope>> {
    let ask = body.request_virtual_card;
    create(
        &state,
        &principal,
        NewRequest { ask: Ask::Virtual { monthly_limit: ask.payment_monthly_limit.0 }, note: ask.note },
    )
    .await
}

async fn create(state: &AppState, principal: &Principal, new: NewRequest) -> ApiResult<Json<CardRequestEnvelope>> {
    // The body's fields sit under its wrapper: `/request_flash_card/payment_lifespan_limit`.
    let wrapper = match new.ask.request_type() {
        RequestType::FlashCard => "/request_flash_card",
        RequestType::VirtualCard => "/request_virtual_card",
    };
    let made = requests::create(&state.app, &principal.organization, &principal.member(), new)
        .await
        .map_err(|e| ApiError::from(e).under(wrapper))?;
    Ok(Json(CardRequestEnvelope::of(&made)))
}

/// `GET /v2/requests?status[]=&request_type[]=&created_at_from=&processed_at_from=&sort_by=`.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<CardRequestList>> {
    let params = Params::parse(query.as_deref());
    let statuses: Vec<&str> = RequestStatus::ALL.iter().map(|s| s.as_str()).collect();
    let types: Vec<&str> = RequestType::ALL.iter().map(|t| t.as_str()).collect();
    let filter = RequestFilter {
        statuses: params.many_in_list("status", RequestStatus::parse, &statuses)?,
        types: params.many_in_list("request_type", RequestType::parse, &types)?,
        created_from: crate::v2::transactions::range(&params, "created_at")?.from,
        processed_from: crate::v2::transactions::range(&params, "processed_at")?.from,
        sort: params.one("sort_by").map(sort).transpose()?,
    };
    let page = params.page()?;
    let found = requests::list(&state.app, &principal.organization, &principal.member(), filter, page).await?;
    let requests = found.items.iter().map(CardRequestBody::from).collect();
    Ok(Json(CardRequestList { requests, meta: Meta::of(&found, page) }))
}

/// `{processed_at|created_at|status}:{asc|desc}`.
fn sort(raw: &str) -> ApiResult<(RequestSort, bool)> {
    let (field, direction) = raw.split_once(':').unwrap_or((raw, "desc"));
    let bad = || {
        ApiError::parameter(
            "not_in_list",
            "sort_by",
            "sort_by must be processed_at, created_at or status, then :asc or :desc",
        )
    };
    let field = match field {
        "created_at" => RequestSort::CreatedAt,
        "processed_at" => RequestSort::ProcessedAt,
        "status" => RequestSort::Status,
        _ => return Err(bad()),
    };
    match direction {
        "asc" => Ok((field, false)),
        "desc" => Ok((field, true)),
        _ => Err(bad()),
    }
}

/// The request a path names: its type (plural) and id; anything else is not found.
fn named(kind: &str, id: &str) -> ApiResult<(RequestType, Uuid)> {
    let kind = RequestType::of_plural(kind).ok_or_else(|| ApiError::not_found("request type"))?;
    let id = Uuid::parse_str(id).map_err(|_| ApiError::not_found("request"))?;
    Ok((kind, id))
}

/// `POST /v2/requests/{request_type}/{id}/approve` (owners and admins, SCA): the card is
/// issued to the requester with the requested budget.
pub async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    sca: ScaStep,
    Path((kind, id)): Path<(String, String)>,
    body: JsonBodyWithRaw<ApproveRequestBody>,
) -> ApiResult<Json<CardRequestEnvelope>> {
    let (kind, id) = named(&kind, &id)?;
    let creator = Creator { organization: (*principal.organization).clone(), member: principal.member() };
    let request = requests::reviewable(&state.app, &principal.organization, &creator.member, kind, id).await?;
    let card = requests::card_of(&state.app, &creator, &request, body.body.debit_iban.as_deref()).await?;
    let verdict = sca.check(&state, &principal, Some(&body.json)).await?;
    let redemption = verdict.settle(&state, &principal).await?;
    let origin = crate::http::trace::origin(principal.now());
    let (approved, _) = requests::approve(&state.app, &creator, id, card, redemption, &origin).await?;
    Ok(Json(CardRequestEnvelope::of(&approved)))
}

/// `POST /v2/requests/{request_type}/{id}/decline` (owners and admins).
pub async fn decline(
    State(state): State<AppState>,
    principal: Principal,
    Path((kind, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<DeclineRequestBody>,
) -> ApiResult<Json<CardRequestEnvelope>> {
    let (kind, id) = named(&kind, &id)?;
    let note = body.declined_note.unwrap_or_default();
    let declined = requests::decline(&state.app, &principal.organization, &principal.member(), kind, id, note).await?;
    Ok(Json(CardRequestEnvelope::of(&declined)))
}
