//! Card requests (spec §9): asked by an employee or a manager, listed by who may see them,
//! approved by an owner or an admin — the card issued to the requester with the requested
//! budget, through the same checks as `POST /v2/cards` — or declined with a note. The rules
//! are the domain's ([`cardinal_domain::requests`]); a request is settled once, in the store's
//! transaction, with the card it issues.

use crate::cards::change::Origin;
use crate::cards::create::{self, Creator};
use crate::cards::member::Member;
use crate::issuing::audit::audit_event;
use crate::issuing::events::{card_event, card_outbox};
use crate::App;
use cardinal_domain::requests::{
    refusal, request_reach, Ask, CardRequest, RequestAction, RequestReach, RequestStatus, RequestType, Review,
    LARGEST_ASK, SMALLEST_ASK,
};
use cardinal_domain::{CardAction, DomainError, FieldIssue};
use cardinal_store::{
    IssuedCard, NewCard, Organization, Page, PageRequest, RequestQuery, RequestSort, RequestWrite, ScaRedemption,
    StoreResult, StoredCard, Visibility,
};
use serde_json::json;
use uuid::Uuid;

/// The longest note a request or a decline carries.
pub const NOTE_MAX: usize = 250;

/// What a member asks for.
pub struct NewRequest {
    pub ask: Ask,
    pub note: Option<String>,
}

/// `POST /v2/requests/flash_cards|virtual_cards`: the member's request, pending.
pub async fn create(
    app: &App,
    organization: &Organization,
    member: &Member,
    new: NewRequest,
) -> StoreResult<CardRequest> {
    if let Some(refused) = refusal(member.role, RequestAction::Create) {
        return Err(refused.into());
    }
    let now = organization.now();
    let mut issues = Vec::new();
    let (amount, field) = match &new.ask {
        Ask::Flash { lifespan_limit, pre_expires_at } => {
            if *pre_expires_at <= now {
                issues.push(FieldIssue::new("invalid", "/pre_expires_at", "pre_expires_at must be in the future"));
            }
            (*lifespan_limit, "payment_lifespan_limit")
        }
        Ask::Virtual { monthly_limit } => (*monthly_limit, "payment_monthly_limit"),
    };
    if !(SMALLEST_ASK..=LARGEST_ASK).contains(&amount) {
        let detail = format!("{field} must be from {SMALLEST_ASK} to {LARGEST_ASK} euros");
        issues.push(FieldIssue::new("invalid", format!("/{field}"), detail));
    }
    let note = new.note.unwrap_or_default();
    if note.chars().count() > NOTE_MAX {
        issues.push(FieldIssue::new("invalid", "/note", format!("note must be at most {NOTE_MAX} characters")));
    }
    if !issues.is_empty() {
        return Err(DomainError::Invalid(issues).into());
    }
    let request = CardRequest {
        id: crate::ids::random(),
        organization_id: organization.id,
        ask: new.ask,
        status: RequestStatus::Pending,
        initiator_id: member.membership_id,
        approver_id: None,
        note,
        declined_note: None,
        card_id: None,
        processed_at: None,
        created_at: now,
    };
    app.store.insert_card_request(request.clone()).await?;
    Ok(request)
}

/// Filters of `GET /v2/requests`.
#[derive(Debug, Default)]
pub struct RequestFilter {
    pub statuses: Vec<RequestStatus>,
    pub types: Vec<RequestType>,
    pub created_from: Option<jiff::Timestamp>,
    pub processed_from: Option<jiff::Timestamp>,
    pub sort: Option<(RequestSort, bool)>,
}

/// `GET /v2/requests`: the requests the member may see (their own; a manager their team's;
/// owners and admins all), newest first unless sorted otherwise.
pub async fn list(
    app: &App,
    organization: &Organization,
    member: &Member,
    filter: RequestFilter,
    page: PageRequest,
) -> StoreResult<Page<CardRequest>> {
    let visibility = match request_reach(member.role, RequestAction::See) {
        RequestReach::All => Visibility::All,
        RequestReach::OwnAndTeam => Visibility::HeldByOrTeam(member.membership_id, member.team_id),
        RequestReach::Own => Visibility::HeldBy(member.membership_id),
        RequestReach::Nothing => Visibility::Nothing,
    };
    let (sort, descending) = filter.sort.unwrap_or((RequestSort::CreatedAt, true));
    let query = RequestQuery {
        organization_id: organization.id,
        visibility,
        statuses: filter.statuses,
        types: filter.types,
        created_from: filter.created_from,
        processed_from: filter.processed_from,
        sort,
        descending,
        page,
    };
    app.store.card_requests(&query).await
}

/// The pending request a reviewer is about to settle: the reviewer's role, the request's
/// type (the path names it) and its state are checked, nothing written. Runs before the SCA
/// step, so a request that cannot be approved never asks for one.
pub async fn reviewable(
    app: &App,
    organization: &Organization,
    reviewer: &Member,
    kind: RequestType,
    id: Uuid,
) -> StoreResult<CardRequest> {
    if let Some(refused) = refusal(reviewer.role, RequestAction::Review) {
        return Err(refused.into());
    }
    let request = app.store.card_request(organization.id, id).await?.filter(|r| r.ask.request_type() == kind);
    let request = request.ok_or(DomainError::Missing("request"))?;
    if request.status != RequestStatus::Pending {
        return Err(DomainError::InvalidState(format!("this request is already {}", request.status)).into());
    }
    Ok(request)
}

/// The card an approval would issue, checked as `POST /v2/cards` checks one: the requester
/// holds it, the account `debit_iban` names (the main one by default) pays it, the requested
/// budget is its limit.
pub async fn card_of(
    app: &App,
    creator: &Creator,
    request: &CardRequest,
    debit_iban: Option<&str>,
) -> StoreResult<NewCard> {
    let accounts = app.store.bank_accounts(creator.organization.id, PageRequest { page: 1, per_page: 100 }).await?;
    let account = match debit_iban {
        Some(iban) => {
            accounts.items.iter().find(|a| a.iban.replace(' ', "").eq_ignore_ascii_case(&iban.replace(' ', "")))
        }
        None => accounts.items.iter().find(|a| a.main).or(accounts.items.first()),
    };
    let account = account.ok_or_else(|| match debit_iban {
        Some(_) => DomainError::Invalid(vec![FieldIssue::new(
            "invalid",
            "/debit_iban",
            "debit_iban names no account of the organization",
        )]),
        None => DomainError::InvalidState("the organization has no bank account".into()),
    })?;
    let mut fields = json!({"holder_id": request.initiator_id, "bank_account_id": account.id});
    match &request.ask {
        Ask::Flash { lifespan_limit, pre_expires_at } => {
            fields["card_level"] = json!("flash");
            fields["payment_lifespan_limit"] = json!(lifespan_limit.0 / 100);
            fields["pre_expires_at"] = json!(cardinal_domain::time::rfc3339(*pre_expires_at));
        }
        Ask::Virtual { monthly_limit } => {
            fields["card_level"] = json!("virtual");
            fields["payment_monthly_limit"] = json!(monthly_limit.0 / 100);
        }
    }
    let fields = serde_json::from_value(fields).map_err(|e| DomainError::InvalidState(e.to_string()))?;
    let mut cards = create::prepare(app, creator, vec![(fields, "/request".to_owned())]).await?;
    cards.pop().ok_or_else(|| DomainError::InvalidState("no card was prepared".into()).into())
}

/// Approves the request and issues its card in one commit (the SCA session spent with them).
pub async fn approve(
    app: &App,
    creator: &Creator,
    id: Uuid,
    card: NewCard,
    sca: Option<ScaRedemption>,
    origin: &Origin,
) -> StoreResult<(CardRequest, StoredCard)> {
    let reviewer = creator.member.membership_id;
    let (now, request_id) = (origin.now, origin.request_id.clone());
    let actor = creator.member.actor.clone();
    let change = move |request: &mut CardRequest| -> Result<RequestWrite, DomainError> {
        request.settle(&Review::Approve, reviewer, now)?;
        request.card_id = Some(card.card.id);
        let event =
            audit_event(&card.card, "create", actor.clone(), None, now, &request_id, json!({"request_id": request.id}));
        let outbox = card_outbox(&card.card, card_event(CardAction::Create), now);
        Ok(RequestWrite {
            issues: Some(IssuedCard { card: card.clone(), events: vec![event], outbox }),
            redeems_sca: sca,
        })
    };
    let settled = app.store.settle_card_request(creator.organization.id, id, Box::new(change)).await;
    let (request, card) = settled.map_err(|e| match e {
        cardinal_store::StoreError::Domain(DomainError::NotFound) => DomainError::Missing("request").into(),
        other => other,
    })?;
    let card = card.ok_or_else(|| DomainError::InvalidState("the approval issued no card".into()))?;
    Ok((request, card))
}

/// Declines the request with the reviewer's note.
pub async fn decline(
    app: &App,
    organization: &Organization,
    reviewer: &Member,
    kind: RequestType,
    id: Uuid,
    note: String,
) -> StoreResult<CardRequest> {
    reviewable(app, organization, reviewer, kind, id).await?;
    if note.chars().count() > NOTE_MAX {
        let issue = FieldIssue::new(
            "invalid",
            "/declined_note",
            format!("declined_note must be at most {NOTE_MAX} characters"),
        );
        return Err(DomainError::Invalid(vec![issue]).into());
    }
    let (who, now) = (reviewer.membership_id, organization.now());
    let change = move |request: &mut CardRequest| -> Result<RequestWrite, DomainError> {
        request.settle(&Review::Decline { note: note.clone() }, who, now)?;
        Ok(RequestWrite::default())
    };
    Ok(app.store.settle_card_request(organization.id, id, Box::new(change)).await?.0)
}
