//! Webhooks in the console: an organization's subscriptions with their receivers' health, its
//! deliveries, and one delivery's exact body, signature headers and every attempt, with a
//! retry button (the operator API's own handlers).

use super::auth::{Posted, Signed};
use super::forms::report;
use super::layout::{self, OrgNav};
use super::organizations as orgs;
use crate::http::auth::Operator;
use crate::http::error::{ApiError, ApiResult};
use crate::http::session::Notice;
use crate::operator::webhooks as operator;
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use cardinal_store::Organization;
use maud::{html, Markup};
use uuid::Uuid;

/// `GET /console/organizations/{org}/webhooks?status=&page=`.
pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let org = match orgs::organization_or_page(&state, &signed, &raw, "Webhooks").await {
        Ok(org) => org,
        Err(page) => return page,
    };
    let subscriptions =
        operator::subscriptions(State(state.clone()), Operator, Path(raw.clone()), RawQuery(None)).await;
    let query = RawQuery(super::forms::filled_query(query));
    let deliveries = operator::list(State(state.clone()), Operator, Path(raw.clone()), query).await;
    let base = format!("/console/organizations/{}/webhooks", org.id);
    let body = html! {
        h1 { "Webhooks" }
        section aria-labelledby="subs-h" {
            h2 #subs-h { "Subscriptions" }
            @match &subscriptions {
                Ok(found) if found.webhook_subscriptions.is_empty() => p { "No subscription: a member makes one with " code { "POST /v2/webhook_subscriptions" } "." },
                Ok(found) => div.scroll { table {
                    thead { tr { th scope="col" { "Callback" } th scope="col" { "Events" } th scope="col" { "State" } th scope="col" { "Failures in a row" } } }
                    tbody { @for s in &found.webhook_subscriptions {
                        tr { td { code { (s.callback_url) } } td { (s.types.join(", ")) } td { (s.state) } td.num { (s.consecutive_failures) } }
                    } }
                } },
                Err(error) => (super::forms::refusal(error)),
            }
        }
        section aria-labelledby="deliveries-h" {
            h2 #deliveries-h { "Deliveries" }
            form.inline-form method="get" action=(base) {
                label for="d-status" { "Status" }
                select #d-status name="status" {
                    option value="" { "any" }
                    @for s in ["pending", "delivered", "failed"] { option value=(s) { (s) } }
                }
                button type="submit" { "Filter" }
            }
            @match &deliveries {
                Ok(found) if found.webhook_deliveries.is_empty() => p { "No delivery." },
                Ok(found) => {
                    div.scroll { table {
                        thead { tr { th scope="col" { "Created" } th scope="col" { "Event" } th scope="col" { "Status" } th scope="col" { "Attempts" } th scope="col" { "Next attempt" } } }
                        tbody { @for d in &found.webhook_deliveries {
                            tr {
                                td { a href={(base) "/deliveries/" (d.id)} { (layout::time(d.created_at.0)) } }
                                td { (d.topic) " · " (d.event) }
                                td { span class={"status " (d.status)} { (d.status) } }
                                td.num { (d.attempts) }
                                td { @if let Some(next) = &d.next_attempt_at { (layout::time(next.0)) } }
                            }
                        } }
                    } }
                    (orgs::pager(&base, &found.meta))
                }
                Err(error) => (super::forms::refusal(error)),
            }
        }
    };
    let nav = OrgNav { id: org.id, name: &org.legal_name, current: "webhooks" };
    layout::page(&signed, "Webhooks", Some(nav), body)
}

/// The delivery, if it is the organization's.
async fn own_delivery(state: &AppState, raw_org: &str, raw: &str) -> ApiResult<(Organization, Uuid)> {
    let org = orgs::organization(state, raw_org).await?;
    let not_found = || ApiError::not_found("webhook delivery");
    let id = Uuid::parse_str(raw).map_err(|_| not_found())?;
    let (delivery, _) = state.store.webhook_delivery(id).await?.ok_or_else(not_found)?;
    if delivery.event.organization_id != org.id {
        return Err(not_found());
    }
    Ok((org, id))
}

/// `GET /console/organizations/{org}/webhooks/deliveries/{delivery}`.
pub async fn delivery(
    State(state): State<AppState>,
    signed: Signed,
    Path((raw_org, raw)): Path<(String, String)>,
) -> Response {
    let shown = async {
        let (org, id) = own_delivery(&state, &raw_org, &raw).await?;
        let detail = operator::show(State(state.clone()), Operator, Path(id.to_string())).await?.0.webhook_delivery;
        Ok::<_, ApiError>((org, detail))
    }
    .await;
    let (org, d) = match shown {
        Ok(shown) => shown,
        Err(error) => return layout::page(&signed, "Delivery", None, orgs::failure(&error)),
    };
    let retry = format!("/console/organizations/{}/webhooks/deliveries/{}/retry", org.id, d.summary.id);
    let body = html! {
        h1 { "Delivery of " (d.summary.topic) " · " (d.summary.event) }
        p.meta { "To " code { (d.callback_url) } " · " span class={"status " (d.summary.status)} { (d.summary.status) }
            " · " (d.summary.attempts) " attempts" }
        (layout::button_form(&signed, &retry, "Retry now", "primary"))
        h2 { "Body sent" }
        pre { (d.body) }
        h2 { "Attempts" }
        @if d.attempts_made.is_empty() { p { "No attempt yet." } }
        ol.attempts {
            @for a in &d.attempts_made {
                li {
                    strong { "Attempt " (a.number) } " · " (a.at) " · "
                    @match a.status_code { Some(code) => { "answered " (code) }, None => { "no answer" } }
                    " · " (a.latency_ms) " ms"
                    @if let Some(error) = &a.error { p role="note" { (error) } }
                    (headers(&a.headers))
                    @if !a.answer.is_empty() { details { summary { "Answer" } pre { (a.answer) } } }
                }
            }
        }
    };
    let nav = OrgNav { id: org.id, name: &org.legal_name, current: "webhooks" };
    layout::page(&signed, "Delivery", Some(nav), body)
}

fn headers(headers: &serde_json::Map<String, serde_json::Value>) -> Markup {
    html! {
        details {
            summary { "Headers sent (signature included)" }
            dl.headers { @for (name, value) in headers { dt { (name) } dd { code { (value.as_str().unwrap_or_default()) } } } }
        }
    }
}

/// `POST /console/organizations/{org}/webhooks/deliveries/{delivery}/retry`.
pub async fn retry(
    State(state): State<AppState>,
    Path((raw_org, raw)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let to = format!("/console/organizations/{raw_org}/webhooks/deliveries/{raw}");
    let retried = async {
        let (_, id) = own_delivery(&state, &raw_org, &raw).await?;
        operator::retry(State(state.clone()), Operator, Path(id.to_string())).await
    }
    .await;
    report(&posted.signed, &to, retried, |_| {
        Notice::done("The delivery is due now: the worker sends it within a second.")
    })
}
