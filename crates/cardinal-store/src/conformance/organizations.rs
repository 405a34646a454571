//! Storage stories: Organizations, members, credentials and clocks.

use super::cards::{listed, query};
use super::*;

pub async fn organization_round_trip(store: Arc<dyn Store>) {
    assert!(store.is_empty().await.unwrap());
    let seed = seeded(&store, "acme").await;
    assert!(!store.is_empty().await.unwrap());
    let org = store.organization(seed.organization.id).await.unwrap().unwrap();
    assert_eq!(org, seed.organization);
    // Read again after a change: a backend that caches organizations must see the change.
    let advanced = store.advance_clock(org.id, ClockChange::ToAtLeast(3_600)).await.unwrap().unwrap();
    assert_eq!(advanced.clock_offset_seconds, 3_600);
    assert_eq!(store.organization(org.id).await.unwrap().unwrap(), advanced);
    let page = store.memberships(org.id, PageRequest { page: 1, per_page: 2 }).await.unwrap();
    assert_eq!((page.items.len(), page.total), (2, 5));
    let m = &seed.memberships[2];
    assert_eq!(store.membership(org.id, m.id).await.unwrap().as_ref(), Some(m));
    assert_eq!(store.membership(Uuid::new_v4(), m.id).await.unwrap(), None);
    let accounts = store.bank_accounts(org.id, PageRequest { page: 1, per_page: 100 }).await.unwrap();
    assert_eq!(accounts.items, seed.bank_accounts);
    let card = &seed.cards[0].card;
    let stored = store.card(org.id, card.id).await.unwrap().unwrap();
    assert_eq!(&stored.card, card, "a card reads back exactly as written");
    assert_eq!(stored.holder.first_name, seed.memberships[0].first_name);
    assert_eq!(store.setting("k").await.unwrap(), None);
    assert_eq!(store.init_setting("k", "v1").await.unwrap(), "v1");
    assert_eq!(store.init_setting("k", "v2").await.unwrap(), "v1", "the first value stays");
    assert_eq!(store.setting("k").await.unwrap().as_deref(), Some("v1"));
}

pub async fn duplicate_slug_writes_nothing(store: Arc<dyn Store>) {
    seeded(&store, "taken").await;
    let again = fixture("taken");
    let err = store.create_organization(again.clone()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.organization(again.organization.id).await.unwrap(), None);
    assert_eq!(store.membership_by_id(again.memberships[0].id).await.unwrap(), None, "no half-written organization");
}

pub async fn credentials_are_found_by_hash(store: Arc<dyn Store>) {
    let seed = seeded(&store, "creds").await;
    let wanted = &seed.credentials[3];
    let found = store.credential_by_hash(&wanted.secret_hash).await.unwrap().unwrap();
    assert_eq!(found.membership.id, wanted.membership_id);
    assert_eq!(found.organization.id, seed.organization.id);
    assert_eq!(*found.scopes, ["card.read".to_string()]);
    assert_eq!(store.credential_by_hash(&[7; 32]).await.unwrap(), None);

    let key =
        NewCredential { id: Uuid::new_v4(), kind: CredentialKind::ApiKey, secret_hash: [9; 32], ..wanted.clone() };
    store.insert_credential(key).await.unwrap();
    let by_slug = store.api_key_by_slug("creds").await.unwrap().unwrap();
    assert_eq!((by_slug.kind, by_slug.secret_hash), (CredentialKind::ApiKey, [9; 32]));
    assert_eq!(store.api_key_by_slug("nobody").await.unwrap(), None);

    assert!(store.revoke_credential(&wanted.secret_hash, now()).await.unwrap());
    assert!(!store.revoke_credential(&wanted.secret_hash, now()).await.unwrap(), "revoking twice changes nothing");
    assert!(store.credential_by_hash(&wanted.secret_hash).await.unwrap().unwrap().revoked_at.is_some());
}

pub async fn delete_organization_removes_everything(store: Arc<dyn Store>) {
    let seed = seeded(&store, "doomed").await;
    let keep = seeded(&store, "kept").await;
    // Read first, so a backend that caches reads has them cached: deletion must reach caches.
    assert!(store.card_by_id(seed.cards[0].card.id).await.unwrap().is_some());
    assert!(store.credential_by_hash(&seed.credentials[0].secret_hash).await.unwrap().is_some());
    assert!(store.organization(seed.organization.id).await.unwrap().is_some());
    assert!(store.delete_organization(seed.organization.id).await.unwrap());
    assert!(!store.delete_organization(seed.organization.id).await.unwrap());
    assert_eq!(store.organization(seed.organization.id).await.unwrap(), None);
    assert_eq!(store.card_by_id(seed.cards[0].card.id).await.unwrap(), None);
    assert_eq!(store.credential_by_hash(&seed.credentials[0].secret_hash).await.unwrap(), None);
    assert!(store.card_by_id(keep.cards[0].card.id).await.unwrap().is_some());
}

pub async fn other_organizations_are_invisible(store: Arc<dyn Store>) {
    let a = seeded(&store, "org-a").await;
    let b = seeded(&store, "org-b").await;
    let foreign = b.cards[0].card.id;
    assert_eq!(store.card(a.organization.id, foreign).await.unwrap(), None);
    let mut q = query(&a);
    q.ids = vec![foreign];
    assert_eq!(listed(&store, &q).await, Vec::<Uuid>::new());
    let err = store.update_card(a.organization.id, foreign, lock_change()).await.unwrap_err();
    assert!(matches!(err, StoreError::Domain(cardinal_domain::DomainError::NotFound)));
    assert_eq!(store.bank_account(a.organization.id, b.bank_accounts[0].id).await.unwrap(), None);
}

/// Twenty concurrent one-hour advances move the clock twenty hours; a `ToAtLeast` behind the
/// clock does not move it back.
pub async fn concurrent_clock_advances_all_count(store: Arc<dyn Store>) {
    let seed = seeded(&store, "clock").await;
    let org = seed.organization.id;
    let advances: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.advance_clock(org, ClockChange::By(3_600)).await.unwrap() })
        })
        .collect();
    for advance in advances {
        advance.await.unwrap();
    }
    let after = store.organization(org).await.unwrap().unwrap();
    assert_eq!(after.clock_offset_seconds, seed.organization.clock_offset_seconds + 20 * 3_600);
    let unchanged = store.advance_clock(org, ClockChange::ToAtLeast(60)).await.unwrap().unwrap();
    assert_eq!(unchanged.clock_offset_seconds, after.clock_offset_seconds, "never backwards");
    assert_eq!(store.advance_clock(Uuid::new_v4(), ClockChange::By(1)).await.unwrap(), None);
}
