//! `GET /console/oauth`: the registered OAuth clients (the control API's list) and, for each,
//! the consents in force: which member of which organization allowed it which scopes.

use super::auth::Signed;
use super::layout::{self, time};
use crate::app::oauth::clients;
use crate::http::auth::Operator;
use crate::sandbox::oauth_clients;
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use maud::html;

pub async fn page(State(state): State<AppState>, signed: Signed, RawQuery(query): RawQuery) -> Response {
    let listed = oauth_clients::list(State(state.clone()), Operator, RawQuery(query)).await;
    let mut consents = Vec::new();
    if let Ok(found) = &listed {
        for client in &found.oauth_clients {
            consents.push(clients::consents(&state.app, &client.client_id).await.unwrap_or_default());
        }
    }
    let body = html! {
        h1 { "OAuth clients" }
        p.hint { "Register one with " code { "POST /_sandbox/oauth_clients" } " (docs/oauth.md); members sign in to it on Cardinal's consent page." }
        @match &listed {
            Ok(found) if found.oauth_clients.is_empty() => p { "No client registered." },
            Ok(found) => {
                @for (client, grants) in found.oauth_clients.iter().zip(&consents) {
                    section {
                        h2 { (client.name) }
                        p.meta { "client_id " code { (client.client_id) } " · registered " (time(client.created_at.0)) }
                        p { "Redirect URIs: " @for uri in &client.redirect_uris { code { (uri) } " " } }
                        @if grants.is_empty() { p { "No consent in force." } } @else {
                            div.scroll { table {
                                caption { "Consents in force" }
                                thead { tr { th scope="col" { "Organization" } th scope="col" { "Member" } th scope="col" { "Scopes" } th scope="col" { "Since" } } }
                                tbody { @for g in grants {
                                    tr {
                                        td { a href={"/console/organizations/" (g.consent.organization_id)} { code.id { (g.consent.organization_id) } } }
                                        td { code.id { (g.consent.membership_id) } }
                                        td { (g.consent.scopes.join(" ")) }
                                        td { (time(g.created_at)) }
                                    }
                                } }
                            } }
                        }
                    }
                }
            }
            Err(error) => (super::forms::refusal(error)),
        }
    };
    layout::page(&signed, "OAuth clients", None, body)
}
