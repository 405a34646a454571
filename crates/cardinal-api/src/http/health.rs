//! `/` (the console, or an index), `/healthz` (the process answers), `/readyz` (and so does its
//! database) and `/openapi.json`.

use crate::http::error::ApiResult;
use crate::http::json::Json;
use crate::wire::answers::Status;
use crate::AppState;
use axum::extract::State;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// `GET /`: in the sandbox, on to the console (spec §10); in production, what this server is
/// and where its document and health checks are.
pub async fn index(State(state): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match state.config.mode {
        crate::Mode::Sandbox => axum::response::Redirect::to("/console").into_response(),
        crate::Mode::Production => Json(serde_json::json!({
            "name": "Cardinal",
            "version": env!("CARGO_PKG_VERSION"),
            "mode": "production",
            "docs": "/openapi.json",
            "health": "/healthz",
            "ready": "/readyz",
        }))
        .into_response(),
    }
}

pub async fn healthz() -> Json<Status> {
    Json(Status { status: "ok".into() })
}

pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Status>> {
    state.store.ready_for_writes().await?;
    Ok(Json(Status { status: "ready".into() }))
}

/// An OpenAPI 3.1 document.
#[derive(Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(extend("type" = "object"))]
pub struct OpenApiDocument(Value);

/// `GET /openapi.json`: the document the router built of the routes it serves (the route
/// table lists this handler, so the document is not built here).
pub async fn openapi_document(State(state): State<AppState>) -> Json<OpenApiDocument> {
    let document = state.openapi.get_or_init(|| state.openapi_source.get().map(|build| build()).unwrap_or(Value::Null));
    Json(OpenApiDocument(document.clone()))
}
