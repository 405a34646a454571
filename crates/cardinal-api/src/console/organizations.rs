//! The console's organizations: the list with a one-click creation, and an organization's page
//! (its clock, pending SCA sessions, members with new tokens, cards with their limits as
//! bars, recent transactions). Creating, adding a member, issuing a token and moving the
//! clock call the operator and control API's own handlers with the body the form makes.

use super::auth::{Posted, Signed};
use super::forms::{self, json_body, report};
use super::layout::{self, csrf_field, euros, time, OrgNav};
use super::sca;
use crate::app::transactions::Embedded;
use crate::http::auth::Operator;
use crate::http::error::{ApiError, ApiResult};
use crate::http::session::Notice;
use crate::operator::{members, organizations as operator_orgs, tokens};
use crate::sandbox::clock;
use crate::wire::{self, Card as CardView};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use cardinal_store::{
    CardQuery, Membership, Organization, PageRequest, Transaction, TransactionQuery, TransactionSortField,
};
use maud::{html, Markup};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// `GET /console`: every organization, and a form that makes one.
pub async fn list(State(state): State<AppState>, signed: Signed, RawQuery(query): RawQuery) -> Response {
    let listed = operator_orgs::list(State(state), Operator, RawQuery(query)).await;
    let body = match listed {
        Ok(found) => html! {
            h1 { "Organizations" }
            (create_form(&signed))
            @if found.organizations.is_empty() {
                p { "No organization yet: create one above." }
            } @else {
                div.scroll { table {
                    caption { (found.meta.total_count) " organizations" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Slug" } th scope="col" { "SCA" } th scope="col" { "Clock" } } }
                    tbody { @for o in &found.organizations {
                        tr {
                            td { a href={"/console/organizations/" (o.settings.id)} { (o.settings.legal_name) } }
                            td { code { (o.settings.slug) } }
                            td { (o.settings.sca_mode) }
                            td { (time(o.now.0)) }
                        }
                    } }
                } }
                (pager("/console", &found.meta))
            }
        },
        Err(error) => failure(&error),
    };
    layout::page(&signed, "Organizations", None, body)
}

fn create_form(signed: &Signed) -> Markup {
    html! {
        form.card-form method="post" action="/console/organizations" {
            (csrf_field(signed))
            h2 { "New organization" }
            p.hint { "Made with an owner, an admin, a manager and an employee, a bank account and demo cards, as " code { "POST /_sandbox/organizations" } " makes it." }
            div.row {
                div { label for="legal_name" { "Name (optional)" } input #legal_name name="legal_name" maxlength="100"; }
                div { label for="sca_mode" { "SCA" }
                    select #sca_mode name="sca_mode" {
                        option value="required" selected { "required" }
                        option value="disabled" { "disabled" }
                        option value="not_enrolled" { "not_enrolled" }
                    }
                }
            }
            button.primary type="submit" { "Create organization" }
        }
    }
}

/// `POST /console/organizations`.
pub async fn create(State(state): State<AppState>, posted: Posted) -> Response {
    let mut body = Map::new();
    for field in ["legal_name", "sca_mode"] {
        if let Some(value) = posted.form.get(field) {
            body.insert(field.into(), Value::String(value.trim().to_owned()));
        }
    }
    let made = match json_body(Value::Object(body)) {
        Ok(request) => operator_orgs::create(State(state), Operator, request).await.map(|(_, answer)| answer.0),
        Err(error) => Err(error),
    };
    let to = match &made {
        Ok(created) => format!("/console/organizations/{}", created.organization.id),
        Err(_) => "/console".to_owned(),
    };
    report(&posted.signed, &to, made, |created| Notice {
        ok: true,
        lines: vec![format!(
            "Created {} with {} members and {} cards. Each member's token is below, shown this once.",
            created.organization.legal_name,
            created.memberships.len(),
            created.cards.len()
        )],
        secrets: created
            .memberships
            .iter()
            .map(|m| (format!("{} {} ({})", m.first_name, m.last_name, m.role), m.access_token.clone()))
            .collect(),
    })
}

/// Everything the organization page shows, read before it is drawn.
struct Overview {
    organization: Organization,
    members: Vec<Membership>,
    cards: Vec<CardView>,
    holders: Vec<(Uuid, String)>,
    transactions: Recent,
}

/// Transactions as the console lists them, with their receipts and labels.
#[derive(Default)]
pub(super) struct Recent {
    pub items: Vec<Transaction>,
    pub embedded: Embedded,
}

pub(super) async fn organization(state: &AppState, raw: &str) -> ApiResult<Organization> {
    state.organization_named(raw).await
}

/// The organization a page is about, or that page saying why it cannot be shown.
pub(super) async fn organization_or_page(
    state: &AppState,
    signed: &Signed,
    raw: &str,
    title: &str,
) -> Result<Organization, Response> {
    organization(state, raw).await.map_err(|error| layout::page(signed, title, None, failure(&error)))
}

async fn overview(state: &AppState, raw: &str) -> ApiResult<Overview> {
    let organization = organization(state, raw).await?;
    let all = PageRequest { page: 1, per_page: 100 };
    let members = state.store.memberships(organization.id, all).await?.items;
    let now = organization.now();
    let stored = state.store.list_cards(&CardQuery::all(organization.id, now)).await?.items;
    let tz = organization.time_zone();
    let cards = stored.iter().map(|c| CardView::of(c, now, &tz, state.links())).collect();
    let holders = members.iter().map(|m| (m.id, format!("{} {}", m.first_name, m.last_name))).collect();
    let transactions = recent_transactions(state, &organization, None, 20).await?;
    Ok(Overview { organization, members, cards, holders, transactions })
}

/// The newest transactions of the organization's first account (of one card, when given), with
/// their receipts and labels.
pub(super) async fn recent_transactions(
    state: &AppState,
    organization: &Organization,
    card_id: Option<Uuid>,
    most: u32,
) -> ApiResult<Recent> {
    let accounts = state.store.bank_accounts(organization.id, PageRequest { page: 1, per_page: 1 }).await?;
    let Some(account) = accounts.items.first() else { return Ok(Recent::default()) };
    let page = PageRequest { page: 1, per_page: most };
    // The newest only: the account's total is not shown, so not counted.
    let query = TransactionQuery {
        counted: false,
        card_id,
        ..TransactionQuery::of_account(organization.id, account.id, TransactionSortField::EmittedAt, true, page)
    };
    let includes = crate::app::transactions::Includes { attachments: true, labels: true };
    let (page, embedded) = crate::app::transactions::list(&state.app, &query, includes).await?;
    Ok(Recent { items: page.items, embedded })
}

/// `GET /console/organizations/{org}`.
pub async fn show(State(state): State<AppState>, signed: Signed, Path(raw): Path<String>) -> Response {
    let seen = match overview(&state, &raw).await {
        Ok(seen) => seen,
        Err(error) => return layout::page(&signed, "Organization", None, failure(&error)),
    };
    let org = &seen.organization;
    let base = format!("/console/organizations/{}", org.id);
    let pending = sca::pending_list(&state, &signed, org).await;
    let body = html! {
        h1 { (org.legal_name) }
        p.meta { "Slug " code { (org.slug) } " · SCA " (org.sca_mode.as_str()) " · time zone " (org.timezone) }
        section aria-labelledby="clock-h" {
            h2 #clock-h { "Clock" }
            p { "The organization's time is " strong { (time(org.now())) } "." }
            form.inline-form method="post" action={(base) "/clock"} {
                (csrf_field(&signed))
                label for="amount" { "Advance by" }
                input #amount name="amount" type="number" min="1" value="1" required;
                label for="unit" class="visually-hidden" { "Unit" }
                select #unit name="unit" {
                    option value="60" { "minutes" }
                    option value="3600" { "hours" }
                    option value="86400" selected { "days" }
                }
                button type="submit" { "Advance the clock" }
            }
        }
        section aria-labelledby="sca-h" {
            h2 #sca-h { "Pending SCA sessions" }
            p.hint { "Approve or deny as the member's phone would; the waiting request can then be retried. New ones appear here without a reload." }
            div #sca-pending data-stream={(base) "/sca/stream"} aria-live="polite" { (pending) }
        }
        section aria-labelledby="cards-h" {
            h2 #cards-h { "Cards" }
            (cards_table(&base, &seen.cards, &seen.holders))
        }
        section aria-labelledby="members-h" {
            h2 #members-h { "Members" }
            (members_table(&signed, &base, &seen.members))
            (member_form(&signed, &base))
        }
        section aria-labelledby="tx-h" {
            h2 #tx-h { "Recent transactions" }
            (transactions_table(&state, &seen.organization, &seen.transactions))
        }
    };
    let nav = OrgNav { id: org.id, name: &org.legal_name, current: "overview" };
    layout::page(&signed, &org.legal_name, Some(nav), body)
}

fn cards_table(base: &str, cards: &[CardView], holders: &[(Uuid, String)]) -> Markup {
    let holder = |id: Uuid| holders.iter().find(|(h, _)| *h == id).map(|(_, n)| n.as_str()).unwrap_or("—");
    html! {
        @if cards.is_empty() { p { "No card." } } @else {
            div.scroll { table {
                thead { tr {
                    th scope="col" { "Card" } th scope="col" { "Holder" } th scope="col" { "Level" }
                    th scope="col" { "Status" } th scope="col" { "Spent this month" }
                } }
                tbody { @for card in cards {
                    tr {
                        td { a href={(base) "/cards/" (card.id)} { (card_name(card)) } }
                        td { (holder(card.holder_id)) }
                        td { (card.card_level) }
                        td { span class={"status " (card.status)} { (card.status) } }
                        td { (spending(card.payment_monthly_spent.0 .0, card.payment_monthly_limit.0 .0)) }
                    }
                } }
            } }
        }
    }
}

pub(super) fn card_name(card: &CardView) -> String {
    let digits = card.last_digits.as_deref().unwrap_or("····");
    match card.nickname.is_empty() {
        true => format!("•••• {digits}"),
        false => format!("{} •••• {digits}", card.nickname),
    }
}

/// Spent against a limit, as a bar with its numbers (a `<meter>`: no inline style needed).
pub(super) fn spending(spent: i64, limit: i64) -> Markup {
    let (spent_text, limit_text) =
        (cardinal_domain::Cents(spent).to_string(), cardinal_domain::Cents(limit).to_string());
    html! {
        span.spending {
            meter min="0" max=(limit.max(1)) high=((limit * 8 / 10).max(1)) value=(spent.min(limit.max(1))) {
                (spent_text) " of " (limit_text)
            }
            span { (euros(&spent_text)) " / " (euros(&limit_text)) }
        }
    }
}

fn members_table(signed: &Signed, base: &str, members: &[Membership]) -> Markup {
    html! {
        div.scroll { table {
            thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Email" } th scope="col" { "Id" } th scope="col" { "Token" } } }
            tbody { @for m in members {
                tr {
                    td { (m.first_name) " " (m.last_name) }
                    td { (m.role.as_str()) }
                    td { (m.email) }
                    td { code.id { (m.id) } }
                    td { (layout::button_form(signed, &format!("{base}/members/{}/token", m.id), "New token", "small")) }
                }
            } }
        } }
    }
}

fn member_form(signed: &Signed, base: &str) -> Markup {
    html! {
        form.card-form method="post" action={(base) "/members"} {
            (csrf_field(signed))
            h3 { "Add a member" }
            div.row {
                div { label for="first_name" { "First name" } input #first_name name="first_name" required maxlength="60"; }
                div { label for="last_name" { "Last name" } input #last_name name="last_name" required maxlength="60"; }
                div { label for="role" { "Role" }
                    select #role name="role" { @for role in ["employee", "manager", "admin", "owner", "reporting"] { option value=(role) { (role) } } }
                }
                div { label for="team" { "Team (optional)" } input #team name="team" maxlength="60"; }
                div { label for="email" { "Email (optional)" } input #email name="email" type="email" maxlength="254"; }
            }
            button type="submit" { "Add member" }
        }
    }
}

/// The transactions, each with its receipts (download links, 30 minutes) and labels.
pub(super) fn transactions_table(state: &AppState, organization: &Organization, recent: &Recent) -> Markup {
    let now = organization.now();
    html! {
        @if recent.items.is_empty() { p { "No transaction yet." } } @else {
            div.scroll { table {
                thead { tr { th scope="col" { "When" } th scope="col" { "Merchant" } th scope="col" { "Amount" } th scope="col" { "Status" } th scope="col" { "Decline reason" } th scope="col" { "Card" } th scope="col" { "Receipts" } th scope="col" { "Labels" } } }
                tbody { @for t in &recent.items {
                    tr {
                        td { (time(t.emitted_at)) }
                        td { (t.label) }
                        td.num { (euros(&t.amount.to_string())) }
                        td { span class={"status " (t.status.as_str())} { (t.status.as_str()) } }
                        td { (t.decline_reason.as_deref().unwrap_or("")) }
                        td { "•••• " (t.card_last_digits) }
                        td { @for a in recent.embedded.attachments_of(t) {
                            a href=(crate::app::receipts::link(&state.app, a, now)) download { (a.file_name) } " "
                        } }
                        td { (recent.embedded.labels_of(t).iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", ")) }
                    }
                } }
            } }
        }
    }
}

/// `POST /console/organizations/{org}/members`: `POST /_operator/organizations/{id}/memberships`.
pub async fn add_member(State(state): State<AppState>, Path(raw): Path<String>, posted: Posted) -> Response {
    let mut body = Map::new();
    for field in ["first_name", "last_name", "role", "team", "email"] {
        if let Some(value) = posted.form.get(field) {
            body.insert(field.into(), Value::String(value.trim().to_owned()));
        }
    }
    let added = match json_body(Value::Object(body)) {
        Ok(request) => members::add_membership(State(state), Operator, Path(raw.clone()), request).await,
        Err(error) => Err(error),
    };
    report(&posted.signed, &format!("/console/organizations/{raw}"), added, |(_, answer)| {
        let m = &answer.0.membership;
        Notice::done(format!("Added {} {} as {}.", m.first_name, m.last_name, m.role))
    })
}

/// `POST /console/organizations/{org}/members/{member}/token`: `POST /_operator/tokens`; the
/// token is shown once.
pub async fn issue_token(
    State(state): State<AppState>,
    Path((raw, member)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let to = format!("/console/organizations/{raw}");
    let issued = async {
        let organization = organization(&state, &raw).await?;
        let id = Uuid::parse_str(&member).map_err(|_| ApiError::not_found("membership"))?;
        // Only a member of this organization: the page a form came from names both.
        state.store.membership(organization.id, id).await?.ok_or_else(|| ApiError::not_found("membership"))?;
        let request = json_body(json!({ "membership_id": id }))?;
        tokens::create_token(State(state.clone()), Operator, request).await.map(|(_, answer)| answer.0)
    }
    .await;
    report(&posted.signed, &to, issued, |token| Notice {
        ok: true,
        lines: vec![format!(
            "A new access token with {} scopes. Copy it now: it is not shown again.",
            token.scopes.len()
        )],
        secrets: vec![("Access token".into(), token.access_token)],
    })
}

/// `POST /console/organizations/{org}/clock`: `POST /_sandbox/organizations/{id}/clock` with
/// `advance_by` = amount × unit seconds.
pub async fn advance_clock(State(state): State<AppState>, Path(raw): Path<String>, posted: Posted) -> Response {
    let to = format!("/console/organizations/{raw}");
    let moved = async {
        let amount = forms::number(&posted.form, "amount")?.unwrap_or(0);
        let unit = forms::number(&posted.form, "unit")?.filter(|u| [60, 3600, 86400].contains(u)).unwrap_or(86400);
        let request = json_body(json!({ "advance_by": amount.saturating_mul(unit) }))?;
        clock::clock(State(state), Operator, Path(raw.clone()), request).await.map(|answer| answer.0)
    }
    .await;
    report(&posted.signed, &to, moved, |clock| {
        let expired = match clock.cards_expired {
            0 => String::new(),
            n => format!(" {n} cards expired."),
        };
        Notice::done(format!("The organization's clock now reads {}.{expired}", time(clock.now.0)))
    })
}

/// A page's whole body when what it shows could not be read (an unknown organization).
pub(super) fn failure(error: &ApiError) -> Markup {
    html! {
        h1 { "Not shown" }
        (forms::refusal(error))
        p { a href="/console" { "Back to the organizations" } }
    }
}

/// Links to the previous and next pages of a list.
pub(super) fn pager(base: &str, meta: &wire::Meta) -> Markup {
    html! {
        @if meta.prev_page.is_some() || meta.next_page.is_some() {
            nav.pager aria-label="Pages" {
                @if let Some(prev) = meta.prev_page { a href={(base) "?page=" (prev)} { "Previous" } }
                span { "Page " (meta.current_page) " of " (meta.total_pages) }
                @if let Some(next) = meta.next_page { a href={(base) "?page=" (next)} { "Next" } }
            }
        }
    }
}
