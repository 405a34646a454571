//! `POST /_sandbox/organizations/{id}/clock`: an organization's own clock, moved forward.

use crate::app::cards::expiry;
use crate::http::auth::Operator;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::wire::answers::Clock;
use crate::wire::requests::ClockRequest;
use crate::wire::Time;
use crate::AppState;
use axum::extract::{Path, State};
use cardinal_store::*;
use jiff::Timestamp;

use uuid::Uuid;

/// The most one call may move a clock (100 years): the sum stays far inside what timestamps
/// can hold.
const MAX_ADVANCE_SECONDS: i64 = 100 * 366 * 24 * 3600;

/// `POST /_sandbox/organizations/{id}/clock`: `{"advance_by": seconds}` or `{"set": time}`,
/// never backwards → `{"now"}` (spec §6.4).
pub async fn clock(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<ClockRequest>,
) -> ApiResult<Json<Clock>> {
    let not_found = || ApiError::not_found("organization");
    let id = Uuid::parse_str(&raw).map_err(|_| not_found())?;
    let organization = state.store.organization(id).await?.ok_or_else(not_found)?;
    let real_now = Timestamp::now();
    let change = match (body.advance_by, body.set) {
        // An advance is an increment, so concurrent advances all count.
        (Some(seconds), None) if (0..=MAX_ADVANCE_SECONDS).contains(&seconds) => ClockChange::By(seconds),
        (Some(seconds), None) if seconds < 0 => {
            return Err(ApiError::field(
                "invalid",
                "/advance_by",
                "advance_by must not be negative: clocks never go backwards",
            ))
        }
        (Some(_), None) => {
            return Err(ApiError::field(
                "invalid",
                "/advance_by",
                format!("advance_by must be at most {MAX_ADVANCE_SECONDS} seconds (100 years)"),
            ))
        }
        (None, Some(Time(at))) => {
            if at < organization.now_at(real_now) {
                return Err(ApiError::field(
                    "invalid",
                    "/set",
                    "set must not be before the organization's current time",
                ));
            }
            ClockChange::ToAtLeast(at.as_second().saturating_sub(real_now.as_second()))
        }
        _ => return Err(ApiError::field("required", "/advance_by", "give exactly one of advance_by or set")),
    };
    let updated = state.store.advance_clock(id, change).await?.ok_or_else(not_found)?;
    let now = updated.now_at(real_now);
    // The cards this move expired announce it now (cards.expired), not at their next read.
    let expired = expiry::sweep(&state.app, id, &crate::http::trace::origin(now)).await?;
    Ok(Json(Clock { now: Time(now), cards_expired: expired }))
}
