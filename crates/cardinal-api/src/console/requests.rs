//! An organization's request log in the console: the control API's list
//! (`GET /_sandbox/organizations/{id}/requests`, same filters), each request with its bodies,
//! and new requests added live over server-sent events. A request id pasted from an error
//! answer finds its request.

use super::auth::Signed;
use super::layout::{self, time, OrgNav};
use super::organizations as orgs;
use crate::http::auth::Operator;
use crate::http::params::Params;
use crate::sandbox::requests as log;
use crate::wire::operator::{KeptBody, LoggedRequestBody};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use maud::{html, Markup};
use std::convert::Infallible;
use tokio::sync::broadcast::error::RecvError;

/// `GET /console/organizations/{org}/requests?status=&path=&request_id=&page=`.
pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let org = match orgs::organization_or_page(&state, &signed, &raw, "Requests").await {
        Ok(org) => org,
        Err(page) => return page,
    };
    let query = super::forms::filled_query(query);
    let params = Params::parse(query.as_deref());
    let wanted = |name| params.one(name).unwrap_or_default().to_owned();
    let (status, path, request_id) = (wanted("status"), wanted("path"), wanted("request_id"));
    let listed = log::list(State(state.clone()), Operator, Path(raw.clone()), RawQuery(query.clone())).await;
    let base = format!("/console/organizations/{}/requests", org.id);
    let live = format!("{base}/stream{}", query.as_deref().map(|q| format!("?{q}")).unwrap_or_default());
    let body = html! {
        h1 { "Requests" }
        p.hint { "The last 1,000 " code { "/v2" } " requests of this organization, newest first. Card numbers and CVVs are never kept." }
        form.inline-form method="get" action=(base) role="search" {
            label for="f-status" { "Status" }
            input #f-status name="status" value=(status) placeholder="4xx or 404" size="6";
            label for="f-path" { "Path contains" }
            input #f-path name="path" value=(path) placeholder="/v2/cards";
            label for="f-id" { "Request id" }
            input #f-id name="request_id" value=(request_id) placeholder="from an error answer";
            button type="submit" { "Filter" }
            a href=(base) { "Clear" }
        }
        @match &listed {
            Ok(found) => {
                p { (found.meta.total_count) (if found.meta.total_count == 1 { " request matches." } else { " requests match." }) }
                p #requests-lost role="status" {}
                div.scroll { table.requests {
                    thead { tr {
                        th scope="col" { "When" } th scope="col" { "Method" } th scope="col" { "Path" } th scope="col" { "Status" }
                        th scope="col" { "Latency" } th scope="col" { "Request id" } th scope="col" { "Idempotency key" }
                    } }
                    tbody #request-rows data-stream=(live) {
                        @for r in &found.requests { (row(r)) }
                    }
                } }
                (orgs::pager(&base, &found.meta))
            }
            Err(error) => (super::forms::refusal(error)),
        }
    };
    let nav = OrgNav { id: org.id, name: &org.legal_name, current: "requests" };
    layout::page(&signed, "Requests", Some(nav), body)
}

/// One request: its line, and its bodies under a disclosure.
fn row(r: &LoggedRequestBody) -> Markup {
    let class = format!("code{}", r.status / 100);
    html! {
        tr {
            td { (time(r.at.0)) }
            td { (r.method) }
            td.path {
                details {
                    summary { code { (r.path) @if let Some(q) = &r.query { "?" (q) } } }
                    @if let Some(route) = &r.route { p { "Route " code { (route) } " · " (r.credential) " of member " code.id { (r.membership_id) } } }
                    h4 { "Request body" } (kept(&r.request_body))
                    h4 { "Answer body" } (kept(&r.response_body))
                }
            }
            td { span class={"http " (class)} { (r.status) } }
            td.num { (format!("{:.2}", r.latency_ms)) " ms" }
            td { code { (r.request_id) } }
            td { @if let Some(key) = &r.idempotency_key { code { (key) } } }
        }
    }
}

fn kept(body: &KeptBody) -> Markup {
    html! {
        @match (&body.text, body.withheld.as_deref()) {
            (_, Some(why)) => p.withheld { "Not kept: " (why) },
            (Some(text), None) => {
                pre { (text) }
                @if body.truncated { p.hint { "Cut at 16 KiB." } }
            }
            (None, None) => p.hint { "Empty." },
        }
    }
}

/// `GET /console/organizations/{org}/requests/stream`: `request` events (a rendered row) for
/// each new request that passes the page's filters, and `lost` when this reader fell behind.
pub async fn stream(
    State(state): State<AppState>,
    _: Signed,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    let org = orgs::organization(&state, &raw).await.map_err(IntoResponse::into_response)?;
    let filter = log::filter(&Params::parse(query.as_deref())).map_err(IntoResponse::into_response)?;
    let reader = state.app.requests.subscribe();
    let events = stream::unfold((reader, filter), move |(mut reader, filter)| async move {
        loop {
            let event = match reader.receiver.recv().await {
                Ok(request) if request.organization_id == org.id && filter.matches(&request) => {
                    Event::default().event("request").data(row(&log::entry(&request)).into_string())
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(lost)) => Event::default().event("lost").data(lost.to_string()),
                Err(RecvError::Closed) => return None,
            };
            return Some((Ok(event), (reader, filter)));
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
