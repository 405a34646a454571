//! Pending SCA sessions, answered from the console as the member's phone would
//! ([`crate::app::sca::decide`], the mocked route's own use case). A session is named in the
//! console by its token's SHA-256, which the store keeps: the token itself is the client's
//! and is never stored. The list refreshes itself over server-sent events whenever the
//! organization's sessions change, and every few seconds so expired ones leave it.

use super::auth::{Posted, Signed};
use super::forms::report;
use super::layout::{self, time};
use super::organizations as orgs;
use crate::app::sca;
use crate::http::error::ApiError;
use crate::http::session::Notice;
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use cardinal_store::{Organization, PageRequest, ScaResult};
use futures_util::stream::{self, Stream};
use maud::{html, Markup};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often a live list is redrawn without news: sessions expire on their own.
const REDRAW: Duration = Duration::from_secs(5);

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The organization's waiting sessions, each with its approve and deny buttons.
pub async fn pending_list(state: &AppState, signed: &Signed, org: &Organization) -> Markup {
    let waiting = match sca::waiting(&state.app, org.id, org.now()).await {
        Ok(waiting) => waiting,
        Err(_) => return html! { p role="alert" { "The pending sessions could not be read." } },
    };
    let members = state.store.memberships(org.id, PageRequest { page: 1, per_page: 100 }).await.map(|p| p.items);
    let name = |id| {
        members
            .as_ref()
            .ok()
            .and_then(|ms| ms.iter().find(|m| m.id == id))
            .map(|m| format!("{} {}", m.first_name, m.last_name))
    };
    let base = format!("/console/organizations/{}/sca", org.id);
    html! {
        @if waiting.is_empty() { p.empty { "No session is waiting." } } @else {
            ul.pending {
                @for s in &waiting {
                    li {
                        strong { (s.action_type) } " by " (name(s.membership_id).unwrap_or_else(|| s.membership_id.to_string()))
                        " · opened " (time(s.created_at)) " · expires " (time(s.expires_at)) " "
                        (layout::button_form(signed, &format!("{base}/{}/allow", hex(&s.token_hash)), "Approve", "primary small"))
                        (layout::button_form(signed, &format!("{base}/{}/deny", hex(&s.token_hash)), "Deny", "danger small"))
                    }
                }
            }
        }
    }
}

/// `GET /console/organizations/{org}/sca`: the list alone (what the live list redraws).
pub async fn pending(State(state): State<AppState>, signed: Signed, Path(raw): Path<String>) -> Response {
    match orgs::organization(&state, &raw).await {
        Ok(org) => {
            let fragment = pending_list(&state, &signed, &org).await;
            layout::html_page(axum::http::StatusCode::OK, fragment.into_string())
        }
        Err(error) => error.into_response(),
    }
}

/// `POST /console/organizations/{org}/sca/{session}/{allow|deny}`.
pub async fn decide(
    State(state): State<AppState>,
    Path((raw, session, decision)): Path<(String, String, String)>,
    posted: Posted,
) -> Response {
    let to = format!("/console/organizations/{raw}");
    let outcome = async {
        let org = orgs::organization(&state, &raw).await?;
        let result = match decision.as_str() {
            "allow" => ScaResult::Allow,
            "deny" => ScaResult::Deny,
            _ => return Err(ApiError::not_found("decision (use allow or deny)")),
        };
        let hash = unhex(&session).ok_or_else(|| ApiError::not_found("SCA session"))?;
        // Only this organization's session: the page it came from names both.
        match state.store.sca_session(&hash).await? {
            Some(s) if s.organization_id == org.id => {}
            _ => return Err(ApiError::not_found("SCA session")),
        }
        let decided =
            sca::decide(&state.app, &hash, result).await?.ok_or_else(|| ApiError::not_found("SCA session"))?;
        Ok((decided.result, result, decided.action_type))
    }
    .await;
    report(&posted.signed, &to, outcome, |(now, asked, action)| match now == asked {
        true => Notice::done(format!(
            "{action}: {}. The waiting request may now be retried.",
            if asked == ScaResult::Allow { "approved" } else { "denied" }
        )),
        false => Notice::refused(vec![format!("{action} had already been answered ({}).", now.as_str())]),
    })
}

/// `GET /console/organizations/{org}/sca/stream`: `pending` events, each the list redrawn.
pub async fn stream(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    let org = orgs::organization(&state, &raw).await.map_err(IntoResponse::into_response)?;
    let changes = state.app.sca_changes.watch();
    let first = true;
    let events =
        stream::unfold((state, signed, org, changes, first), |(state, signed, org, mut changes, first)| async move {
            if !first {
                wait_for_change(&mut changes, org.id).await?;
            }
            // The clock may have moved: read the organization again for its now.
            let org = state.store.organization(org.id).await.ok().flatten().unwrap_or(org);
            let fragment = pending_list(&state, &signed, &org).await.into_string();
            let event = Event::default().event("pending").data(fragment);
            Some((Ok(event), (state, signed, org, changes, false)))
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// Until the organization's sessions change, or [`REDRAW`] passes; `None` when the server
/// stops announcing.
async fn wait_for_change(changes: &mut tokio::sync::broadcast::Receiver<uuid::Uuid>, org: uuid::Uuid) -> Option<()> {
    let wait = async {
        loop {
            match changes.recv().await {
                Ok(id) if id == org => return Some(()),
                Ok(_) => continue,
                // Missed announcements: redraw, which shows whatever they were.
                Err(RecvError::Lagged(_)) => return Some(()),
                Err(RecvError::Closed) => return None,
            }
        }
    };
    match tokio::time::timeout(REDRAW, wait).await {
        Ok(outcome) => outcome,
        Err(_) => Some(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn session_names_read_back() {
        let hash = [0xabu8; 32];
        assert_eq!(super::unhex(&super::hex(&hash)), Some(hash));
        assert_eq!(super::unhex("zz"), None);
    }
}
