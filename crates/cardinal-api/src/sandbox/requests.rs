//! `GET /_sandbox/organizations/{id}/requests` and `…/requests/stream` (spec §10): an
//! organization's last 1,000 `/v2` requests, newest first and filtered, and the new ones as
//! server-sent events. A reader that falls behind is told how many it missed; the server
//! never waits for it.

use crate::app::request_log::{Body, LoggedRequest, RequestFilter};
use crate::http::auth::Operator;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::http::params::Params;
use crate::wire::operator::{KeptBody, LoggedRequestBody, LoggedRequestList};
use crate::wire::{Meta, Time};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

fn body(kept: &Body) -> KeptBody {
    match kept {
        Body::Empty => KeptBody { text: None, truncated: false, withheld: None },
        Body::Text { text, truncated } => KeptBody { text: Some(text.clone()), truncated: *truncated, withheld: None },
        Body::Withheld(why) => KeptBody { text: None, truncated: false, withheld: Some((*why).into()) },
    }
}

pub(crate) fn entry(r: &LoggedRequest) -> LoggedRequestBody {
    let (request_body, response_body) = r.bodies();
    LoggedRequestBody {
        sequence: r.sequence,
        request_id: r.request_id.clone(),
        at: Time(jiff::Timestamp::try_from(r.at).unwrap_or(jiff::Timestamp::UNIX_EPOCH)),
        method: r.method.to_owned(),
        route: r.route.map(str::to_owned),
        path: r.path().to_owned(),
        query: r.query().map(str::to_owned),
        status: r.status,
        latency_ms: r.latency_micros as f64 / 1000.0,
        idempotency_key: r.idempotency_key.clone(),
        credential: r.credential.into(),
        membership_id: r.membership_id,
        request_body: body(&request_body),
        response_body: body(&response_body),
    }
}

/// `status` is a code (`404`) or a class (`4xx`).
pub(crate) fn filter(params: &Params) -> ApiResult<RequestFilter> {
    let status = params.one("status").map(str::to_owned);
    if let Some(status) = &status {
        let class = status.len() == 3 && status.as_bytes()[0].is_ascii_digit() && &status[1..] == "xx";
        let code = status.parse::<u16>().is_ok_and(|c| (100..=599).contains(&c));
        if !class && !code {
            return Err(ApiError::parameter("invalid", "status", "status must be a code (404) or a class (4xx)"));
        }
    }
    Ok(RequestFilter {
        status,
        path: params.one("path").map(str::to_owned),
        request_id: params.one("request_id").map(str::to_owned),
    })
}

/// `GET /_sandbox/organizations/{id}/requests?status=&path=&request_id=&page=&per_page=`.
pub async fn list(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<LoggedRequestList>> {
    let organization = state.organization_named(&raw).await?;
    let params = Params::parse(query.as_deref());
    let (filter, page) = (filter(&params)?, params.page()?);
    let found = state.app.requests.page(organization.id, &filter, page);
    let requests = found.items.iter().map(|r| entry(r)).collect();
    Ok(Json(LoggedRequestList { requests, meta: Meta::of(&found, page) }))
}

/// `GET /_sandbox/organizations/{id}/requests/stream`: each new request as an event
/// `request` (its JSON as the list shows it), and `lost` (`{"lost": n}`) when this reader fell
/// behind by `n`. The filter parameters of the list apply.
pub async fn stream(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let organization = state.organization_named(&raw).await?;
    let filter = filter(&Params::parse(query.as_deref()))?;
    let reader = state.app.requests.subscribe();
    let events = stream::unfold((reader, filter), move |(mut reader, filter)| async move {
        loop {
            let event = match reader.receiver.recv().await {
                Ok(request) if request.organization_id == organization.id && filter.matches(&request) => {
                    request_event(&request)
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(lost)) => Event::default().event("lost").data(format!(r#"{{"lost":{lost}}}"#)),
                Err(RecvError::Closed) => return None,
            };
            return Some((Ok(event), (reader, filter)));
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

fn request_event(request: &Arc<LoggedRequest>) -> Event {
    let data = serde_json::to_string(&entry(request)).unwrap_or_default();
    Event::default().event("request").id(request.sequence.to_string()).data(data)
}
