//! A card in the console: its status, locks and limits (as bars); lock and unlock as a chosen
//! member; system locks; a simulated payment with its decision and decline reason; the
//! card's audit timeline and transactions.
//!
//! Lock and unlock go through the application core's one path for a member's card change
//! ([`crate::app::cards::change::by_member`]): the permission table decides, exactly as for
//! `PUT /v2/cards/{id}/lock`. The console's sign-in stands for the member's strong
//! authentication (a person at the console is the member's phone in the sandbox), so an
//! unlock asks for no second SCA step here; docs/decisions.md says why.

use super::auth::{Posted, Signed};
use super::forms::{json_body, report};
use super::layout::{self, csrf_field, time, OrgNav};
use super::organizations::{self as orgs, card_name, failure, spending, transactions_table};
use crate::app::cards::change::{self, MemberChange};
use crate::app::cards::member::Member;
use crate::http::auth::Operator;
use crate::http::error::{ApiError, ApiResult};
use crate::http::session::Notice;
use crate::operator::cards as operator_cards;
use crate::sandbox::payments;
use crate::wire::{Card as CardView, EventBody};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use cardinal_domain::authorization::Channel;
use cardinal_domain::card::Category;
use cardinal_domain::{CardAction, Role, Transition};
use cardinal_store::{Actor, ActorKind, Membership, Organization, PageRequest, StoredCard};
use maud::{html, Markup};
use serde_json::{json, Value};
use std::sync::Arc;
use uuid::Uuid;

struct CardPage {
    organization: Organization,
    stored: Arc<StoredCard>,
    view: CardView,
    members: Vec<Membership>,
    events: Vec<EventBody>,
}

async fn card_of(state: &AppState, raw_org: &str, raw_card: &str) -> ApiResult<(Organization, Arc<StoredCard>)> {
    let organization = orgs::organization(state, raw_org).await?;
    let id = Uuid::parse_str(raw_card).map_err(|_| ApiError::not_found("card"))?;
    let stored = state.store.card(organization.id, id).await?.ok_or_else(|| ApiError::not_found("card"))?;
    Ok((organization, stored))
}

async fn read(state: &AppState, raw_org: &str, raw_card: &str) -> ApiResult<CardPage> {
    let (organization, stored) = card_of(state, raw_org, raw_card).await?;
    let view = CardView::of(&stored, organization.now(), &organization.time_zone(), state.links());
    let members = state.store.memberships(organization.id, PageRequest { page: 1, per_page: 100 }).await?.items;
    let events = operator_cards::events_of(state, organization.id, stored.card.id, Some(TIMELINE_EVENTS)).await?;
    Ok(CardPage { organization, stored, view, members, events })
}

/// `GET /console/organizations/{org}/cards/{card}`.
pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path((raw_org, raw_card)): Path<(String, String)>,
) -> Response {
    let page = match read(&state, &raw_org, &raw_card).await {
        Ok(page) => page,
        Err(error) => return layout::page(&signed, "Card", None, failure(&error)),
    };
    let card_id = Some(page.stored.card.id);
    let transactions = orgs::recent_transactions(&state, &page.organization, card_id, 20).await.unwrap_or_default();
    let org = &page.organization;
    let base = format!("/console/organizations/{}/cards/{}", org.id, page.stored.card.id);
    let card = &page.view;
    let body = html! {
        h1 { (card_name(card)) }
        p.meta {
            span class={"status " (card.status)} { (card.status) } " · " (card.card_level) " · held by "
            (page.stored.holder.first_name) " " (page.stored.holder.last_name)
            " · " code.id { (card.id) }
        }
        (locks(&signed, &base, &page.stored))
        section aria-labelledby="limits-h" {
            h2 #limits-h { "Limits and spending" }
            dl.limits {
                dt { "Payments this month" } dd { (spending(card.payment_monthly_spent.0 .0, card.payment_monthly_limit.0 .0)) }
                @if card.payment_daily_limit_option {
                    dt { "Payments today" } dd { (spending(card.payment_daily_spent.0 .0, card.payment_daily_limit.0 .0)) }
                }
                dt { "Withdrawals this month" } dd { (spending(card.atm_monthly_spent.0 .0, card.atm_monthly_limit.0 .0)) }
                @if let Some(lifespan) = &card.payment_lifespan_limit {
                    dt { "Over the card's life" } dd { (spending(card.payment_lifespan_spent.0 .0, lifespan.0 .0)) }
                }
            }
        }
        (actions_form(&signed, &base, &page.members, page.stored.card.holder_id))
        (payment_form(&signed, &base))
        section aria-labelledby="tx-h" {
            h2 #tx-h { "Transactions" }
            (transactions_table(&state, &page.organization, &transactions))
        }
        section aria-labelledby="timeline-h" {
            h2 #timeline-h { "Audit timeline" }
            (timeline(&page.events))
        }
    };
    let nav = OrgNav { id: org.id, name: &org.legal_name, current: "overview" };
    layout::page(&signed, &card_name(card), Some(nav), body)
}

fn locks(signed: &Signed, base: &str, stored: &StoredCard) -> Markup {
    let card = &stored.card;
    html! {
        section aria-labelledby="locks-h" {
            h2 #locks-h { "Locks" }
            ul {
                li { "Locked by a member: " strong { (if card.user_locked { "yes" } else { "no" }) } }
                @for reason in &card.system_locks {
                    li { "System lock " code { (reason.as_str()) } " "
                        (layout::button_form(signed, &format!("{base}/system_unlock?reason={}", reason.as_str()), "Lift", "small")) }
                }
            }
            form.inline-form method="post" action={(base) "/system_lock"} {
                (csrf_field(signed))
                label for="reason" { "Add a system lock" }
                input #reason name="reason" value="fraud_suspicion" pattern="[a-z0-9_]{1,64}" required;
                button type="submit" { "Add system lock" }
            }
        }
    }
}

/// The member choices default to the first owner: the person at the console acts as them.
fn actions_form(signed: &Signed, base: &str, members: &[Membership], holder: Uuid) -> Markup {
    let default = members.iter().find(|m| m.role == Role::Owner).map(|m| m.id).unwrap_or(holder);
    html! {
        section aria-labelledby="actions-h" {
            h2 #actions-h { "Act on the card" }
            form.inline-form method="post" action={(base) "/lock"} {
                (csrf_field(signed))
                label for="member" { "As" }
                select #member name="member" {
                    @for m in members {
                        option value=(m.id) selected[m.id == default] { (m.first_name) " " (m.last_name) " (" (m.role.as_str()) ")" }
                    }
                }
                button type="submit" formaction={(base) "/lock"} { "Lock" }
                button type="submit" formaction={(base) "/unlock"} { "Unlock" }
                button type="submit" formaction={(base) "/lost"} { "Report lost" }
                button type="submit" formaction={(base) "/stolen"} { "Report stolen" }
                button type="submit" formaction={(base) "/discard"} { "Discard" }
            }
        }
    }
}

fn payment_form(signed: &Signed, base: &str) -> Markup {
    html! {
        form.card-form method="post" action={(base) "/payment"} {
            (csrf_field(signed))
            h2 { "Simulate a payment" }
            div.row {
                div { label for="pay-amount" { "Amount (€)" } input #pay-amount name="amount" type="number" min="0.01" step="0.01" value="12.50" required; }
                div { label for="merchant" { "Merchant" } input #merchant name="merchant" value="Café de Flore" maxlength="100" required; }
                div { label for="category" { "Category" }
                    select #category name="category" {
                        @for c in Category::ALL { option value=(c.as_str()) selected[c.as_str() == "restaurant_and_bar"] { (c.as_str()) } }
                        option value="other" { "other" }
                    }
                }
                div { label for="country" { "Country" } input #country name="country" value="FR" pattern="[A-Za-z]{2}" maxlength="2" required; }
                div { label for="channel" { "Channel" }
                    select #channel name="channel" { @for c in Channel::ALL { option value=(c.as_str()) { (c.as_str()) } } }
                }
            }
            button.primary type="submit" { "Pay" }
        }
    }
}

/// How many of a card's events its page shows, newest first: a card changed daily for years
/// has thousands, and the page loads in a few milliseconds only if it reads a bounded number.
const TIMELINE_EVENTS: u32 = 50;

fn timeline(events: &[EventBody]) -> Markup {
    html! {
        @if events.len() == TIMELINE_EVENTS as usize {
            p.meta { "The " (TIMELINE_EVENTS) " newest events; all of them: "
                code { "GET /_operator/cards/{id}/events" } }
        }
        @if events.is_empty() { p { "No event." } } @else {
            ol.timeline reversed {
                @for e in events.iter().rev() {
                    li {
                        strong { (e.action) } " · " (e.from_status.as_deref().unwrap_or("—")) " → " (e.to_status)
                        " · " (time(e.at.0)) " · by " (e.actor.kind) " · request " code { (e.request_id) }
                        @if e.changes.as_object().is_some_and(|c| !c.is_empty()) { pre { (e.changes.to_string()) } }
                    }
                }
            }
        }
    }
}

/// `POST /console/organizations/{org}/cards/{card}/{action}`.
pub async fn act(
    State(state): State<AppState>,
    Path((raw_org, raw_card, action)): Path<(String, String, String)>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    posted: Posted,
) -> Response {
    let to = format!("/console/organizations/{raw_org}/cards/{raw_card}");
    let outcome = match action.as_str() {
        "lock" => member_change(&state, &raw_org, &raw_card, &posted, Transition::Lock).await,
        "unlock" => member_change(&state, &raw_org, &raw_card, &posted, Transition::Unlock).await,
        "lost" => member_change(&state, &raw_org, &raw_card, &posted, Transition::ReportLost).await,
        "stolen" => member_change(&state, &raw_org, &raw_card, &posted, Transition::ReportStolen).await,
        "discard" => member_change(&state, &raw_org, &raw_card, &posted, Transition::Discard).await,
        "system_lock" => system_lock(&state, &raw_org, &raw_card, posted.form.get("reason")).await,
        "system_unlock" => {
            let reason = query.as_deref().and_then(|q| q.strip_prefix("reason=")).unwrap_or_default().to_owned();
            system_unlock(&state, &raw_org, &raw_card, reason).await
        }
        "payment" => pay(&state, &raw_org, &raw_card, &posted).await,
        _ => Err(ApiError::not_found("card action")),
    };
    report(&posted.signed, &to, outcome, |notice| notice)
}

async fn member_change(
    state: &AppState,
    raw_org: &str,
    raw_card: &str,
    posted: &Posted,
    transition: Transition,
) -> ApiResult<Notice> {
    let (organization, stored) = card_of(state, raw_org, raw_card).await?;
    let chosen = posted.form.get("member").and_then(|m| Uuid::parse_str(m).ok());
    let unknown = || ApiError::field("invalid", "/member", "choose a member of this organization");
    let membership = state.store.membership(organization.id, chosen.ok_or_else(unknown)?).await?.ok_or_else(unknown)?;
    let member = Member {
        membership_id: membership.id,
        role: membership.role,
        team_id: membership.team_id,
        actor: Actor { kind: ActorKind::Membership, id: Some(membership.id) },
    };
    let action = CardAction::from(transition);
    let change = MemberChange { organization: organization.id, card: stored.card.id, member, action, sca: Some(None) };
    let origin = crate::http::trace::origin(organization.now());
    let changed = change::by_member(&state.app, change, change::transition(transition), origin).await?;
    let status = changed.card.status(organization.now());
    Ok(Notice::done(format!(
        "{}, as {} {} ({}): the card is {}.",
        crate::app::issuing::audit::verb(action),
        membership.first_name,
        membership.last_name,
        membership.role.as_str(),
        status.as_str()
    )))
}

async fn system_lock(state: &AppState, raw_org: &str, raw_card: &str, reason: Option<&str>) -> ApiResult<Notice> {
    let (_, stored) = card_of(state, raw_org, raw_card).await?;
    let request = json_body(json!({ "reason": reason.unwrap_or_default() }))?;
    let answer =
        operator_cards::add_system_lock(State(state.clone()), Operator, Path(stored.card.id.to_string()), request)
            .await?;
    Ok(Notice::done(format!("System lock added: the card is {}.", answer.0.card.status)))
}

async fn system_unlock(state: &AppState, raw_org: &str, raw_card: &str, reason: String) -> ApiResult<Notice> {
    let (_, stored) = card_of(state, raw_org, raw_card).await?;
    let path = Path((stored.card.id.to_string(), reason));
    let answer = operator_cards::remove_system_lock(State(state.clone()), Operator, path).await?;
    Ok(Notice::done(format!("System lock lifted: the card is {}.", answer.0.card.status)))
}

/// `POST /_sandbox/cards/{id}/authorizations` with the form's purchase.
async fn pay(state: &AppState, raw_org: &str, raw_card: &str, posted: &Posted) -> ApiResult<Notice> {
    let (_, stored) = card_of(state, raw_org, raw_card).await?;
    let form = &posted.form;
    let amount = form.get("amount").unwrap_or_default().trim();
    // The API takes a JSON number: a form's text that is not one is refused at its pointer.
    let amount: Value =
        serde_json::from_str(amount).ok().filter(Value::is_number).unwrap_or(Value::String(amount.into()));
    let request = json_body(json!({
        "amount": amount,
        "channel": form.get("channel").unwrap_or("online"),
        "merchant": {
            "name": form.get("merchant").unwrap_or_default(),
            "category": form.get("category").unwrap_or("other"),
            "country": form.get("country").unwrap_or_default(),
        },
    }))?;
    let answer = payments::authorize(State(state.clone()), Operator, Path(stored.card.id.to_string()), request).await?;
    let a = answer.0.authorization;
    Ok(match a.decline_reason {
        None => Notice::done(format!("Approved: {} € (transaction {}).", a.amount.0, a.transaction_id)),
        Some(reason) => Notice { ok: false, lines: vec![format!("Declined: {reason}.")], secrets: Vec::new() },
    })
}
