//! Storage stories: Card changes, listing and reading.

use super::*;

pub async fn card_change_and_event_commit_together(store: Arc<dyn Store>) {
    let seed = seeded(&store, "events").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    let locked = store.update_card(org, card, lock_change()).await.unwrap();
    assert_eq!(locked.card.status(now()), Status::Paused);
    assert_eq!(store.card(org, card).await.unwrap().unwrap().card.status(now()), Status::Paused);
    let events = store.card_events(org, card, None).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].action.as_str(), events[0].to_status), ("lock", Status::Paused));
    assert_eq!(events[0].changes, serde_json::json!({"n": 1}));
    assert_eq!(store.card_events(Uuid::new_v4(), card, None).await.unwrap(), vec![], "events are per organization");
}

pub async fn refused_change_writes_nothing(store: Arc<dyn Store>) {
    let seed = seeded(&store, "refused").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    let before = store.card(org, card).await.unwrap().unwrap();
    let err = store
        .update_card(
            org,
            card,
            Box::new(|stored| {
                stored.card.nickname = "half-written".into();
                Err(cardinal_domain::DomainError::Forbidden("no".into()))
            }),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Domain(_)));
    assert_eq!(store.card(org, card).await.unwrap().unwrap(), before);
    let missing = store.update_card(org, Uuid::new_v4(), lock_change()).await.unwrap_err();
    assert!(matches!(missing, StoreError::Domain(cardinal_domain::DomainError::NotFound)));
}

pub async fn unchanged_card_writes_no_event(store: Arc<dyn Store>) {
    let seed = seeded(&store, "unchanged").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    store.update_card(org, card, lock_change()).await.unwrap();
    store.update_card(org, card, lock_change()).await.unwrap();
    assert_eq!(store.card_events(org, card, None).await.unwrap().len(), 1);
}

/// Many concurrent read-modify-write changes on one card: none is lost.
pub async fn concurrent_changes_lose_no_write(store: Arc<dyn Store>) {
    let seed = seeded(&store, "concurrent").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    for t in spawn_increments(&store, org, card, 100) {
        t.await.unwrap();
    }
    assert_eq!(store.card(org, card).await.unwrap().unwrap().card.nickname, "100");
    assert_eq!(store.card_events(org, card, None).await.unwrap().len(), 100);
    // The newest ten, still oldest first: the changes that set the nicknames 91 to 100.
    let newest = store.card_events(org, card, Some(10)).await.unwrap();
    let all = store.card_events(org, card, None).await.unwrap();
    assert_eq!(newest, all[90..]);
}

/// A list shows each card as its last commit left it, however the card was read before: read
/// alone, listed, changed, paid with. (A store may serve a listed card from a read cache; this
/// is what keeps the cache honest.)
pub async fn lists_show_each_card_as_last_committed(store: Arc<dyn Store>) {
    let seed = seeded(&store, "listed-fresh").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    let listed_nickname = |page: crate::Page<Arc<StoredCard>>| {
        page.items.iter().find(|c| c.card.id == card).map(|c| c.card.nickname.clone()).unwrap()
    };
    for n in 1..=3 {
        store.card(org, card).await.unwrap(); // read alone first
        let before = listed_nickname(store.list_cards(&query(&seed)).await.unwrap());
        store.update_card(org, card, increment_nickname()).await.unwrap();
        let after = store.list_cards(&query(&seed)).await.unwrap();
        let shown = store.card(org, card).await.unwrap().unwrap();
        assert_eq!(after.items.iter().find(|c| c.card.id == card).unwrap().card, shown.card, "listed as shown");
        assert_ne!(before, n.to_string(), "listed before change {n}");
        assert_eq!(listed_nickname(after), n.to_string(), "the list shows change {n} at once");
    }
}

pub(super) fn query(seed: &OrganizationSeed) -> CardQuery {
    CardQuery::all(seed.organization.id, now())
}

/// The ids a list shows; also checks its total (`meta.total_count`) against them whenever the
/// page holds the whole list, so every list assertion checks the count as well.
pub(super) async fn listed(store: &Arc<dyn Store>, q: &CardQuery) -> Vec<Uuid> {
    let page = store.list_cards(q).await.unwrap();
    let ids: Vec<Uuid> = page.items.into_iter().map(|c| c.card.id).collect();
    if q.page.offset() == 0 && ids.len() < q.page.per_page as usize {
        assert_eq!(page.total, ids.len() as u64, "the total counts exactly the cards listed");
    }
    ids
}

pub async fn list_visibility_and_filters(store: Arc<dyn Store>) {
    let seed = seeded(&store, "lists").await;
    let ids = |indexes: &[usize]| -> Vec<Uuid> { indexes.iter().map(|i| seed.cards[*i].card.id).collect() };
    let sorted = |mut v: Vec<Uuid>| {
        v.sort();
        v
    };
    let (manager, employee) = (&seed.memberships[2], &seed.memberships[3]);

    assert_eq!(listed(&store, &query(&seed)).await.len(), 6);
    let mut q = query(&seed);
    q.visibility = Visibility::HeldBy(employee.id);
    assert_eq!(listed(&store, &q).await, ids(&[3]));
    q.visibility = Visibility::HeldByOrTeam(manager.id, manager.team_id);
    assert_eq!(sorted(listed(&store, &q).await), sorted(ids(&[2, 3])));
    q.ids = ids(&[0, 3]);
    assert_eq!(listed(&store, &q).await, ids(&[3]), "ids[] never widens visibility");

    let mut q = query(&seed);
    q.levels = vec![CardLevel::Standard];
    assert_eq!(listed(&store, &q).await, ids(&[5]));
    let mut q = query(&seed);
    q.holder_ids = vec![seed.memberships[0].id];
    assert_eq!(sorted(listed(&store, &q).await), sorted(ids(&[0, 5])));
    let mut q = query(&seed);
    q.statuses = vec![Status::Pending];
    assert_eq!(listed(&store, &q).await, ids(&[5]));
    let mut q = query(&seed);
    q.search = Some("REPORTING-last".into());
    assert_eq!(listed(&store, &q).await, ids(&[4]), "search matches holder names, case-insensitively");
    q.search = Some("pend".into());
    assert_eq!(listed(&store, &q).await, ids(&[5]), "search matches the status");
    q.search = Some(seed.cards[1].card.id.to_string()[..8].to_uppercase());
    assert_eq!(listed(&store, &q).await, ids(&[1]), "search matches the card id");
    q.search = Some("%".into());
    assert_eq!(listed(&store, &q).await, Vec::<Uuid>::new(), "LIKE wildcards are literal");

    store.update_card(seed.organization.id, seed.cards[2].card.id, lock_change()).await.unwrap();
    let mut q = query(&seed);
    q.statuses = vec![Status::Paused];
    assert_eq!(listed(&store, &q).await, ids(&[2]));

    let discard: CardChange = Box::new(|stored| {
        stored.card.apply(cardinal_domain::Transition::Discard, now())?;
        Ok(CardWrite::of(event(&stored.card, "discard")))
    });
    store.update_card(seed.organization.id, seed.cards[3].card.id, discard).await.unwrap();
    q.statuses = vec![Status::Discarded];
    assert_eq!(listed(&store, &q).await, ids(&[3]), "a change of status moves the card's count");
    q.statuses = vec![Status::Live];
    q.visibility = Visibility::HeldByOrTeam(manager.id, manager.team_id);
    assert_eq!(listed(&store, &q).await, Vec::<Uuid>::new());
    q.statuses = vec![Status::Paused, Status::Discarded];
    assert_eq!(sorted(listed(&store, &q).await), sorted(ids(&[2, 3])));
}

pub async fn list_sorting_and_pagination(store: Arc<dyn Store>) {
    let seed = seeded(&store, "sorting").await;
    let org = seed.organization.id;
    for (i, new) in seed.cards.iter().enumerate() {
        let name = format!("card-{}", (b'a' + (5 - i) as u8) as char);
        store
            .update_card(
                org,
                new.card.id,
                Box::new(move |stored| {
                    stored.card.nickname = name.clone();
                    Ok(CardWrite::of(event(&stored.card, "nickname")))
                }),
            )
            .await
            .unwrap();
    }
    let mut q = query(&seed);
    q.sort = CardSortField::Nickname;
    q.descending = false;
    let names: Vec<String> =
        store.list_cards(&q).await.unwrap().items.into_iter().map(|c| c.card.nickname.clone()).collect();
    assert_eq!(names, ["card-a", "card-b", "card-c", "card-d", "card-e", "card-f"]);

    q.page = PageRequest { page: 2, per_page: 4 };
    let page = store.list_cards(&q).await.unwrap();
    assert_eq!(page.total, 6);
    assert_eq!(page.items.iter().map(|c| c.card.nickname.as_str()).collect::<Vec<_>>(), ["card-e", "card-f"]);
    q.page = PageRequest { page: 9, per_page: 4 };
    assert_eq!(store.list_cards(&q).await.unwrap().items.len(), 0);

    let mut q = query(&seed);
    q.sort = CardSortField::Status;
    q.descending = false;
    let statuses: Vec<Status> =
        store.list_cards(&q).await.unwrap().items.iter().map(|c| c.card.status(now())).collect();
    assert_eq!(statuses.first(), Some(&Status::Live));
    assert_eq!(statuses.last(), Some(&Status::Pending));
}

pub async fn expiry_shows_in_status_filters(store: Arc<dyn Store>) {
    let seed = seeded(&store, "expiry").await;
    let card = &seed.cards[0].card;
    let mut q = query(&seed);
    q.now = card.expires_at;
    q.statuses = vec![Status::Expired];
    assert_eq!(listed(&store, &q).await.len(), 6, "every card is expired at its expiry instant");
    q.now = Timestamp::from_second(card.expires_at.as_second() - 1).unwrap();
    assert_eq!(listed(&store, &q).await.len(), 0);
}

/// The cards a clock expired and that are not stored so are found; one stored as expired is
/// not found again, and still lists as expired.
pub async fn stored_expiries_are_found_once(store: Arc<dyn Store>) {
    let seed = seeded(&store, "expiry-stored").await;
    let (org, card) = (seed.organization.id, &seed.cards[0].card);
    let before = Timestamp::from_second(card.expires_at.as_second() - 1).unwrap();
    assert!(store.cards_due_to_expire(org, before, 100).await.unwrap().is_empty(), "nothing before expiry");
    let due = store.cards_due_to_expire(org, card.expires_at, 100).await.unwrap();
    assert_eq!(due.len(), 6, "every card of the seed is due at its expiry instant");
    assert_eq!(store.cards_due_to_expire(org, card.expires_at, 2).await.unwrap().len(), 2, "the limit holds");

    let at = card.expires_at;
    let settle: CardChange = Box::new(move |s| {
        assert_eq!(s.card.settle_expiry(at), Outcome::Changed);
        Ok(CardWrite::of(event(&s.card, "expire")))
    });
    store.update_card(org, card.id, settle).await.unwrap();
    let due = store.cards_due_to_expire(org, at, 100).await.unwrap();
    assert_eq!(due.len(), 5);
    assert!(!due.contains(&card.id), "a stored expiry is not due again");
    let mut q = query(&seed);
    q.now = at;
    q.statuses = vec![Status::Expired];
    assert_eq!(listed(&store, &q).await.len(), 6, "stored or derived, an expired card lists as expired");
    assert!(store.cards_due_to_expire(Uuid::new_v4(), at, 100).await.unwrap().is_empty(), "another organization's");
}

/// Card numbers are random within the BIN; a collision must be reported as such (the API then
/// issues a new number), and must write nothing.
pub async fn a_duplicate_card_number_is_a_conflict(store: Arc<dyn Store>) {
    let seed = seeded(&store, "pan-clash").await;
    let tz = TimeZone::get("Europe/Paris").unwrap();
    let mut twin = new_card(&seed.memberships[1], seed.bank_accounts[0].id, CardLevel::Virtual, now(), &tz);
    twin.secrets.pan_fingerprint = seed.cards[0].secrets.pan_fingerprint;
    let fresh = new_card(&seed.memberships[1], seed.bank_accounts[0].id, CardLevel::Virtual, now(), &tz);
    let err = store.insert_cards(vec![fresh.clone(), twin], vec![], vec![]).await.unwrap_err();
    match err {
        StoreError::Conflict(cause) => assert!(cause.contains("pan_fingerprint"), "{cause}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.card(seed.organization.id, fresh.card.id).await.unwrap(), None, "all or nothing");
}

/// Readers racing writers (a backend may cache reads): once the writes are answered, every
/// read shows the last committed state, never an older one.
pub async fn reads_racing_writes_end_on_the_last_commit(store: Arc<dyn Store>) {
    let seed = seeded(&store, "racing").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..200 {
                    store.card(org, card).await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let writers = spawn_increments(&store, org, card, 60);
    for w in writers {
        w.await.unwrap();
    }
    for r in readers {
        r.await.unwrap();
    }
    for _ in 0..3 {
        assert_eq!(store.card(org, card).await.unwrap().unwrap().card.nickname, "60");
        assert_eq!(store.card_by_id(card).await.unwrap().unwrap().card.nickname, "60");
    }
}
