//! Card requests: listed by who may see them, settled once, an approval writing its card.

use super::*;
use crate::{IssuedCard, RequestQuery, RequestSort, RequestWrite};
use cardinal_domain::requests::{Ask, CardRequest, RequestStatus, Review};
use cardinal_domain::DomainError;

fn request(seed: &OrganizationSeed, initiator: Uuid, at: Timestamp) -> CardRequest {
    CardRequest {
        id: Uuid::new_v4(),
        organization_id: seed.organization.id,
        ask: Ask::Virtual { monthly_limit: Cents::euros(300) },
        status: RequestStatus::Pending,
        initiator_id: initiator,
        approver_id: None,
        note: "travel".into(),
        declined_note: None,
        card_id: None,
        processed_at: None,
        created_at: at,
    }
}

fn query(org: Uuid, visibility: Visibility) -> RequestQuery {
    RequestQuery {
        organization_id: org,
        visibility,
        statuses: vec![],
        types: vec![],
        created_from: None,
        processed_from: None,
        sort: RequestSort::CreatedAt,
        descending: true,
        page: PageRequest { page: 1, per_page: 100 },
    }
}

/// An employee's and a manager's requests: the employee sees theirs, the manager their team's,
/// the owner all; an approval writes the card with the request, once; a decline writes no card;
/// a refused rule writes nothing.
pub async fn card_requests_are_settled_once_with_their_card(store: Arc<dyn Store>) {
    let seed = seeded(&store, "requests").await;
    let org = seed.organization.id;
    let (owner, manager, employee) = (&seed.memberships[0], &seed.memberships[2], &seed.memberships[3]);
    let t0 = now();
    let asked = request(&seed, employee.id, t0);
    let mine = request(&seed, manager.id, t0.checked_add(jiff::SignedDuration::from_secs(1)).unwrap());
    store.insert_card_request(asked.clone()).await.unwrap();
    store.insert_card_request(mine.clone()).await.unwrap();
    assert_eq!(store.card_request(org, asked.id).await.unwrap(), Some(asked.clone()));
    let ids = |page: crate::Page<CardRequest>| page.items.iter().map(|r| r.id).collect::<Vec<_>>();
    let as_employee = store.card_requests(&query(org, Visibility::HeldBy(employee.id))).await.unwrap();
    assert_eq!(ids(as_employee), vec![asked.id]);
    let as_manager =
        store.card_requests(&query(org, Visibility::HeldByOrTeam(manager.id, manager.team_id))).await.unwrap();
    assert_eq!(ids(as_manager), vec![mine.id, asked.id], "their own and their team's, newest first");
    assert_eq!(store.card_requests(&query(org, Visibility::All)).await.unwrap().total, 2);
    let other = crate::ids::random();
    assert!(store.card_request(other, asked.id).await.unwrap().is_none(), "another organization's is not found");

    let card = new_card(employee, seed.bank_accounts[0].id, CardLevel::Virtual, t0, &TimeZone::UTC);
    let card_id = card.card.id;
    let owner_id = owner.id;
    let approve = move |request: &mut CardRequest| -> Result<RequestWrite, DomainError> {
        request.settle(&Review::Approve, owner_id, t0)?;
        request.card_id = Some(card_id);
        Ok(RequestWrite {
            issues: Some(IssuedCard { card: card.clone(), events: vec![], outbox: vec![] }),
            redeems_sca: None,
        })
    };
    let (approved, issued) = store.settle_card_request(org, asked.id, Box::new(approve.clone())).await.unwrap();
    assert_eq!(
        (approved.status, approved.card_id, approved.approver_id),
        (RequestStatus::Approved, Some(card_id), Some(owner_id))
    );
    assert_eq!(issued.map(|c| c.card.id), Some(card_id));
    assert_eq!(
        store.card(org, card_id).await.unwrap().map(|c| c.holder.first_name.clone()),
        Some(employee.first_name.clone())
    );
    let again = store.settle_card_request(org, asked.id, Box::new(approve)).await.unwrap_err();
    assert!(matches!(again, StoreError::Domain(DomainError::InvalidState(_))), "settled once: {again:?}");

    let decline = |request: &mut CardRequest| -> Result<RequestWrite, DomainError> {
        request.settle(&Review::Decline { note: "no".into() }, Uuid::nil(), now())?;
        Ok(RequestWrite::default())
    };
    let (declined, none) = store.settle_card_request(org, mine.id, Box::new(decline)).await.unwrap();
    assert_eq!(
        (declined.status, declined.declined_note.as_deref(), none.is_none()),
        (RequestStatus::Declined, Some("no"), true)
    );
    let mut filtered = query(org, Visibility::All);
    filtered.statuses = vec![RequestStatus::Declined];
    assert_eq!(ids(store.card_requests(&filtered).await.unwrap()), vec![mine.id]);
    let missing = store.settle_card_request(org, Uuid::new_v4(), Box::new(decline)).await.unwrap_err();
    assert!(matches!(missing, StoreError::Domain(DomainError::NotFound)));
}
