//! `/healthz` (the process answers) and `/readyz` (and so does its database).

use crate::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state.store.is_empty().await?;
    Ok(Json(json!({"status": "ready"})))
}
