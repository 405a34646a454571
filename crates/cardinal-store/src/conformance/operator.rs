//! Storage stories: what the operator API does to whole organizations.

use super::cards::{listed, query};
use super::*;

pub async fn operators_list_extend_and_reset_organizations(store: Arc<dyn Store>) {
    let mut seed = fixture("operated");
    seed.snapshot = Some("{\"any\":\"text\"}".into());
    store.create_organization(seed.clone()).await.unwrap();
    let other = seeded(&store, "bystander").await;
    let org = seed.organization.id;

    // Listed oldest first, paged.
    let all = store.organizations(PageRequest { page: 1, per_page: 100 }).await.unwrap();
    assert_eq!(all.total, 2);
    assert!(all.items.iter().any(|o| o.id == org) && all.items.iter().any(|o| o.id == other.organization.id));
    let one = store.organizations(PageRequest { page: 2, per_page: 1 }).await.unwrap();
    assert_eq!((one.items.len(), one.total), (1, 2));

    // Additions land together, or not at all for an organization that is not there.
    let mut member = seed.memberships[1].clone();
    member.id = Uuid::new_v4();
    member.email = "new@example.com".into();
    let team = Team { id: Uuid::new_v4(), organization_id: org, name: "Ops".into() };
    member.team_id = Some(team.id);
    let mut account = seed.bank_accounts[0].clone();
    account.id = Uuid::new_v4();
    account.main = false;
    account.iban = "FR7630001007941234567890185".into();
    let parts = OrganizationParts {
        teams: vec![team.clone()],
        labels: vec![],
        bank_accounts: vec![account.clone()],
        memberships: vec![member.clone()],
        credentials: vec![],
        events: vec![],
    };
    assert!(store.extend_organization(org, parts.clone()).await.unwrap());
    assert!(!store.extend_organization(Uuid::new_v4(), OrganizationParts::default()).await.unwrap());
    assert_eq!(store.membership(org, member.id).await.unwrap().as_ref(), Some(&member));
    assert_eq!(store.bank_account(org, account.id).await.unwrap().as_ref(), Some(&account));
    assert!(store.teams(org).await.unwrap().contains(&team));
    let again = store.extend_organization(org, parts).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "the same ids twice: {again:?}");

    // The API key is replaced in one step: the old one stops, the new one works.
    let old_key = seed.credentials.iter().find(|c| c.kind == CredentialKind::ApiKey).cloned();
    let mut new_key = seed.credentials[0].clone();
    new_key.id = Uuid::new_v4();
    new_key.kind = CredentialKind::ApiKey;
    new_key.secret_hash = [7; 32];
    assert!(store.replace_api_key(org, Some(new_key.clone()), now()).await.unwrap());
    let found = store.api_key_by_slug("operated").await.unwrap().unwrap();
    assert_eq!(found.id, new_key.id);
    if let Some(old) = old_key {
        let stale = store.credential_by_hash(&old.secret_hash).await.unwrap().unwrap();
        assert!(stale.revoked_at.is_some(), "the old key is revoked");
    }
    assert!(store.replace_api_key(org, None, now()).await.unwrap(), "the live key is revoked");
    assert!(store.api_key_by_slug("operated").await.unwrap().is_none());
    assert!(!store.replace_api_key(org, None, now()).await.unwrap(), "nothing left to revoke");

    // A reset: cards made since go, seeded ones come back as they were, clock and balances too.
    assert_eq!(store.organization_snapshot(org).await.unwrap().as_deref(), Some("{\"any\":\"text\"}"));
    let seeded_card = seed.cards[0].clone();
    store.update_card(org, seeded_card.card.id, lock_change()).await.unwrap();
    let extra = new_card(&seed.memberships[0], seed.bank_accounts[0].id, CardLevel::Virtual, now(), &tz());
    store.insert_cards(vec![extra.clone()], vec![], vec![]).await.unwrap();
    store.advance_clock(org, ClockChange::By(86_400)).await.unwrap();
    let reset = OrganizationReset {
        cards: seed.cards.clone(),
        events: vec![event(&seed.cards[0].card, "create")],
        balances: vec![(seed.bank_accounts[0].id, Cents::euros(123))],
    };
    assert!(store.reset_organization(org, reset.clone()).await.unwrap());
    assert!(!store.reset_organization(Uuid::new_v4(), reset).await.unwrap());
    assert_eq!(store.card(org, extra.card.id).await.unwrap(), None, "a card made since is gone");
    let back = store.card(org, seeded_card.card.id).await.unwrap().unwrap();
    assert_eq!(back.card, seeded_card.card, "a seeded card is as it was seeded");
    assert_eq!(listed(&store, &query(&seed)).await.len(), seed.cards.len());
    assert_eq!(store.card_events(org, seeded_card.card.id, None).await.unwrap().len(), 1);
    assert_eq!(store.organization(org).await.unwrap().unwrap().clock_offset_seconds, 0);
    let account = store.bank_account(org, seed.bank_accounts[0].id).await.unwrap().unwrap();
    assert_eq!((account.balance, account.authorized_balance), (Cents::euros(123), Cents::euros(123)));
    assert!(store.membership(org, member.id).await.unwrap().is_some(), "members stay");
    assert!(store.credential_by_hash(&seed.credentials[0].secret_hash).await.unwrap().is_some(), "tokens stay");
    assert_eq!(listed(&store, &query(&other)).await.len(), other.cards.len(), "others untouched");

    assert!(store.delete_organization(org).await.unwrap());
    assert_eq!(store.organization_snapshot(org).await.unwrap(), None, "the snapshot goes with it");
}

fn tz() -> TimeZone {
    TimeZone::get("Europe/Paris").unwrap()
}
