//! Storage stories: webhook subscriptions, the outbox written with card changes, and delivery
//! leases.

use super::*;

fn subscription(seed: &OrganizationSeed, topic: &str, created_at: Timestamp) -> WebhookSubscription {
    WebhookSubscription {
        id: Uuid::new_v4(),
        organization_id: seed.organization.id,
        membership_id: seed.memberships[0].id,
        callback_url: "https://hooks.example/q".into(),
        types: vec![topic.to_owned()],
        description: None,
        secret_sealed: vec![1, 2, 3],
        created_at,
        updated_at: created_at,
        health: SubscriptionHealth::default(),
    }
}

/// A nickname change reporting a `v1/cards` event.
fn reported_rename(name: &'static str) -> CardChange {
    Box::new(move |stored| {
        stored.card.nickname = name.into();
        let outbox = OutboxEvent {
            id: Uuid::new_v4(),
            organization_id: stored.card.organization_id,
            topic: "v1/cards".into(),
            ordering_key: stored.card.id,
            data: format!(r#"{{"event":"nickname_updated","nickname":"{name}"}}"#).into(),
            created_at: now(),
        };
        Ok(CardWrite { events: vec![outbox], ..CardWrite::of(event(&stored.card, "nickname")) })
    })
}

fn later(ms: i64) -> Timestamp {
    Timestamp::now().checked_add(jiff::SignedDuration::from_millis(ms)).unwrap()
}

/// Events are written with their change, one delivery per subscription to their topic; a
/// refused change writes none; subscriptions are listed to their owner, replaced and deleted.
pub async fn card_changes_write_their_deliveries_with_them(store: Arc<dyn Store>) {
    let seed = seeded(&store, "outbox").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    store.update_card(org, card, reported_rename("before")).await.unwrap();
    let cards_sub = subscription(&seed, "v1/cards", now());
    let other_sub = subscription(&seed, "v1/transactions", now());
    store.insert_webhook_subscription(cards_sub.clone()).await.unwrap();
    store.insert_webhook_subscription(other_sub.clone()).await.unwrap();
    let query = DeliveryQuery {
        organization_id: org,
        status: None,
        subscription_id: None,
        page: PageRequest { page: 1, per_page: 100 },
    };
    assert_eq!(
        store.webhook_deliveries(&query).await.unwrap().total,
        0,
        "no delivery for a change before the subscription"
    );

    store.update_card(org, card, reported_rename("after")).await.unwrap();
    let refused: CardChange = Box::new(|stored| {
        let _ = reported_rename("refused")(stored)?;
        Err(cardinal_domain::DomainError::InvalidState("refused".into()))
    });
    store.update_card(org, card, refused).await.unwrap_err();
    let page = store.webhook_deliveries(&query).await.unwrap();
    assert_eq!(page.total, 1, "one delivery: one event, one subscription to its topic");
    let delivery = &page.items[0];
    assert_eq!(
        (delivery.subscription_id, delivery.status, delivery.attempts),
        (cards_sub.id, DeliveryStatus::Pending, 0)
    );
    assert!(delivery.event.data.text().contains("\"after\""));
    assert_eq!(delivery.event.ordering_key, card);

    let listed = store
        .webhook_subscriptions(org, Some(seed.memberships[0].id), PageRequest { page: 1, per_page: 10 })
        .await
        .unwrap();
    assert_eq!(listed.total, 2);
    assert_eq!(
        store
            .webhook_subscriptions(org, Some(seed.memberships[1].id), PageRequest { page: 1, per_page: 10 })
            .await
            .unwrap()
            .total,
        0
    );
    let mut replaced = cards_sub.clone();
    replaced.callback_url = "https://hooks.example/v2".into();
    assert!(store.update_webhook_subscription(replaced.clone()).await.unwrap());
    assert_eq!(
        store.webhook_subscription(org, cards_sub.id).await.unwrap().unwrap().callback_url,
        replaced.callback_url
    );
    assert!(store.delete_webhook_subscription(org, cards_sub.id).await.unwrap());
    assert_eq!(store.webhook_deliveries(&query).await.unwrap().total, 0, "its deliveries go with it");
    assert!(!store.delete_webhook_subscription(org, cards_sub.id).await.unwrap());
}

/// A claim holds its deliveries for one owner until the lease ends; an attempt recorded by an
/// owner whose lease was taken over is refused; a card's later event waits for its earlier one.
pub async fn delivery_leases_are_exclusive_and_ordered(store: Arc<dyn Store>) {
    let seed = seeded(&store, "leases").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    store.insert_webhook_subscription(subscription(&seed, "v1/cards", now())).await.unwrap();
    store.update_card(org, card, reported_rename("one")).await.unwrap();
    store.update_card(org, card, reported_rename("two")).await.unwrap();
    store.update_card(org, seed.cards[1].card.id, reported_rename("other card")).await.unwrap();

    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let claimed = store.claim_webhook_deliveries(a, Timestamp::now(), later(300), &FairShare::room(10)).await.unwrap();
    let names: Vec<bool> = claimed.iter().map(|c| c.delivery.event.data.text().contains("\"one\"")).collect();
    assert_eq!(claimed.len(), 2, "the first event of each card; the second waits for the first: {names:?}");
    assert!(claimed.iter().any(|c| c.delivery.event.data.text().contains("\"one\"")));
    assert!(
        store.claim_webhook_deliveries(b, Timestamp::now(), later(300), &FairShare::room(10)).await.unwrap().is_empty(),
        "leased"
    );

    // The lease runs out: another owner takes the deliveries; the first owner's record is refused.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let taken = store.claim_webhook_deliveries(b, Timestamp::now(), later(30_000), &FairShare::room(10)).await.unwrap();
    assert_eq!(taken.len(), 2);
    let first = taken.iter().find(|c| c.delivery.event.data.text().contains("\"one\"")).unwrap();
    let attempt = |owner_note: &str| DeliveryAttempt {
        delivery_id: first.delivery.id,
        number: 1,
        at: Timestamp::now(),
        latency_ms: 3,
        status_code: Some(200),
        error: None,
        answer: owner_note.into(),
        request_headers: vec![("x-cardinal-attempt".into(), "1".into())],
    };
    let late = store
        .record_webhook_attempts(a, vec![(attempt("late"), AttemptOutcome::Delivered)], HealthRules::default())
        .await
        .unwrap();
    assert_eq!(late, vec![false], "a lease taken over refuses its former owner's record");
    // One write records several attempts: the other card's as well.
    let other = taken.iter().find(|c| c.delivery.id != first.delivery.id).unwrap();
    let other_attempt = DeliveryAttempt { delivery_id: other.delivery.id, ..attempt("other") };
    let both = vec![(attempt("ok"), AttemptOutcome::Delivered), (other_attempt, AttemptOutcome::Delivered)];
    assert_eq!(store.record_webhook_attempts(b, both, HealthRules::default()).await.unwrap(), vec![true, true]);
    assert_eq!(store.webhook_delivery(other.delivery.id).await.unwrap().unwrap().0.status, DeliveryStatus::Delivered);
    let (delivered, attempts) = store.webhook_delivery(first.delivery.id).await.unwrap().unwrap();
    assert_eq!((delivered.status, delivered.attempts, attempts.len()), (DeliveryStatus::Delivered, 1, 1));
    assert_eq!(attempts[0].answer, "ok");
    assert_eq!(attempts[0].request_headers, vec![("x-cardinal-attempt".to_owned(), "1".to_owned())]);

    let next = store.claim_webhook_deliveries(a, Timestamp::now(), later(30_000), &FairShare::room(10)).await.unwrap();
    assert_eq!(next.len(), 1, "the card's second event, now that the first was delivered");
    assert!(next[0].delivery.event.data.text().contains("\"two\""));
    let retry_at = later(60_000);
    let failed =
        DeliveryAttempt { delivery_id: next[0].delivery.id, number: 1, status_code: Some(500), ..attempt("no") };
    assert_eq!(
        store
            .record_webhook_attempts(a, vec![(failed, AttemptOutcome::RetryAt(retry_at))], HealthRules::default())
            .await
            .unwrap(),
        vec![true]
    );
    assert!(
        store
            .claim_webhook_deliveries(a, Timestamp::now(), later(30_000), &FairShare::room(10))
            .await
            .unwrap()
            .is_empty(),
        "not due"
    );
    assert!(store.retry_webhook_delivery(next[0].delivery.id, Timestamp::now()).await.unwrap());
    assert_eq!(
        store.claim_webhook_deliveries(a, Timestamp::now(), later(30_000), &FairShare::room(10)).await.unwrap().len(),
        1,
        "due now"
    );
}

/// An event becomes a delivery for each subscription that wanted it and still exists, however
/// late its deliveries are made; events that went with their organization make no later event
/// of another organization skipped (the SQLite outbox is read behind a cursor).
pub async fn outbox_events_outlive_nothing_and_skip_nothing(store: Arc<dyn Store>) {
    let (gone, kept) = (seeded(&store, "outbox-gone").await, seeded(&store, "outbox-kept").await);
    let owner = Uuid::new_v4();
    let room = FairShare::room(100);
    let claim = || store.claim_webhook_deliveries(owner, Timestamp::now(), later(30_000), &room);
    let delivered = |claimed: &[ClaimedDelivery]| {
        claimed
            .iter()
            .map(|c| {
                let attempt = DeliveryAttempt {
                    delivery_id: c.delivery.id,
                    number: 1,
                    at: Timestamp::now(),
                    latency_ms: 1,
                    status_code: Some(200),
                    error: None,
                    answer: String::new(),
                    request_headers: Vec::new(),
                };
                (attempt, AttemptOutcome::Delivered)
            })
            .collect::<Vec<_>>()
    };

    // A subscription deleted before its event's delivery was made: no delivery.
    let dropped = subscription(&kept, "v1/cards", now());
    store.insert_webhook_subscription(dropped.clone()).await.unwrap();
    store.update_card(kept.organization.id, kept.cards[0].card.id, reported_rename("unwanted")).await.unwrap();
    assert!(store.delete_webhook_subscription(kept.organization.id, dropped.id).await.unwrap());
    assert!(claim().await.unwrap().is_empty(), "the subscription went before its delivery was made");

    // The newest events go with their organization after earlier ones were delivered; the next
    // organization's event is still delivered.
    store.insert_webhook_subscription(subscription(&gone, "v1/cards", now())).await.unwrap();
    let gone_org = gone.organization.id;
    store.update_card(gone_org, gone.cards[0].card.id, reported_rename("early")).await.unwrap();
    let early = claim().await.unwrap();
    assert_eq!(early.len(), 1);
    store.record_webhook_attempts(owner, delivered(&early), HealthRules::default()).await.unwrap();
    store.update_card(gone_org, gone.cards[0].card.id, reported_rename("late")).await.unwrap();
    store.update_card(gone_org, gone.cards[1].card.id, reported_rename("late too")).await.unwrap();
    assert!(store.delete_organization(gone_org).await.unwrap());
    store.insert_webhook_subscription(subscription(&kept, "v1/cards", now())).await.unwrap();
    store.update_card(kept.organization.id, kept.cards[1].card.id, reported_rename("next")).await.unwrap();
    let next = claim().await.unwrap();
    assert_eq!(next.len(), 1, "the other organization's event, and nothing of the deleted one");
    assert!(next[0].delivery.event.data.text().contains("\"next\""));
}

/// Secrets are listed and replaced for a key rotation.
pub async fn webhook_secrets_are_walked_and_replaced(store: Arc<dyn Store>) {
    let seed = seeded(&store, "hook-secrets").await;
    let sub = subscription(&seed, "v1/cards", now());
    store.insert_webhook_subscription(sub.clone()).await.unwrap();
    assert!(store.webhook_secrets().await.unwrap().contains(&(sub.id, vec![1, 2, 3])));
    store.reseal_webhook_secrets(vec![(sub.id, vec![9, 9])]).await.unwrap();
    let stored = store.webhook_subscription(seed.organization.id, sub.id).await.unwrap().unwrap();
    assert_eq!(stored.secret_sealed, vec![9, 9]);
}

/// A claim shares the room out: a subscription (or organization) at its cap is passed over,
/// so another organization's delivery due later is claimed before the flood's backlog.
pub async fn claims_share_the_room_out_fairly(store: Arc<dyn Store>) {
    let (flood, quiet) = (seeded(&store, "fair-flood").await, seeded(&store, "fair-quiet").await);
    let (flooding, waiting) = (subscription(&flood, "v1/cards", now()), subscription(&quiet, "v1/cards", now()));
    store.insert_webhook_subscription(flooding.clone()).await.unwrap();
    store.insert_webhook_subscription(waiting.clone()).await.unwrap();
    for card in &flood.cards {
        store.update_card(flood.organization.id, card.card.id, reported_rename("flood")).await.unwrap();
    }
    store.update_card(quiet.organization.id, quiet.cards[0].card.id, reported_rename("quiet")).await.unwrap();
    assert!(flood.cards.len() >= 3, "the flood has more heads than its cap");
    let owner = Uuid::new_v4();
    let busy = FairShare {
        room: 10,
        per_subscription: 2,
        per_organization: 10,
        in_flight: vec![(flood.organization.id, flooding.id); 2],
        failing: vec![flooding.id],
    };
    let claimed = store.claim_webhook_deliveries(owner, Timestamp::now(), later(30_000), &busy).await.unwrap();
    let subscriptions: Vec<Uuid> = claimed.iter().map(|c| c.subscription.id).collect();
    assert_eq!(subscriptions, [waiting.id], "the flooding subscription at its cap is passed over");
    let fresh = FairShare {
        room: 10,
        per_subscription: 2,
        per_organization: 10,
        in_flight: vec![],
        failing: vec![flooding.id],
    };
    let claimed = store.claim_webhook_deliveries(owner, Timestamp::now(), later(30_000), &fresh).await.unwrap();
    assert_eq!(claimed.len(), 2, "at most two of one failing subscription in one claim");
    assert!(claimed.iter().all(|c| c.subscription.id == flooding.id));
    let capped = FairShare { room: 10, per_subscription: 1, per_organization: 3, in_flight: vec![], failing: vec![] };
    let claimed = store.claim_webhook_deliveries(owner, Timestamp::now(), later(30_000), &capped).await.unwrap();
    assert_eq!(claimed.len(), 3, "an organization's cap holds within one claim; a healthy subscription has no cap");
}

/// A failed attempt of `claimed`, for the health stories.
fn failed_attempt(claimed: &ClaimedDelivery) -> (DeliveryAttempt, AttemptOutcome) {
    let attempt = DeliveryAttempt {
        delivery_id: claimed.delivery.id,
        number: claimed.delivery.attempts + 1,
        at: Timestamp::now(),
        latency_ms: 1000,
        status_code: None,
        error: Some("no answer within 1000 ms".into()),
        answer: String::new(),
        request_headers: vec![],
    };
    (attempt, AttemptOutcome::RetryAt(later(10)))
}

/// Failures in a row slow a subscription: its pending deliveries, and those its later events
/// make, wait for the end of the pause. Failing for longer than the rules allow disables it:
/// its pending deliveries fail and its organization's changes write none for it any more. An
/// update by its owner enables it again.
pub async fn failing_subscriptions_are_slowed_then_disabled(store: Arc<dyn Store>) {
    let seed = seeded(&store, "health").await;
    let org = seed.organization.id;
    let hook = subscription(&seed, "v1/cards", now());
    store.insert_webhook_subscription(hook.clone()).await.unwrap();
    for card in &seed.cards[..3] {
        store.update_card(org, card.card.id, reported_rename("fails")).await.unwrap();
    }
    let owner = Uuid::new_v4();
    let claimed =
        store.claim_webhook_deliveries(owner, Timestamp::now(), later(30_000), &FairShare::room(10)).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let slow =
        HealthRules { slow_after: 3, first_pause: jiff::SignedDuration::from_secs(60), ..HealthRules::default() };
    let failures = claimed.iter().map(failed_attempt).collect();
    assert_eq!(store.record_webhook_attempts(owner, failures, slow).await.unwrap(), vec![true; 3]);
    let health = store.webhook_subscription(org, hook.id).await.unwrap().unwrap().health;
    assert_eq!((health.consecutive_failures, health.state()), (3, "slowed"));
    store.update_card(org, seed.cards[3].card.id, reported_rename("during the pause")).await.unwrap();
    let soon = later(30_000);
    assert!(
        store.claim_webhook_deliveries(owner, soon, soon, &FairShare::room(10)).await.unwrap().is_empty(),
        "nothing is due before the pause ends, not even the newest event"
    );
    let after_pause = later(61_000);
    let probes = store.claim_webhook_deliveries(owner, after_pause, later(90_000), &FairShare::room(10)).await.unwrap();
    assert_eq!(probes.len(), 4, "all due once the pause is over");

    let disabling = HealthRules { disable_after: jiff::SignedDuration::ZERO, ..slow };
    store.record_webhook_attempts(owner, vec![failed_attempt(&probes[0])], disabling).await.unwrap();
    let disabled = store.webhook_subscription(org, hook.id).await.unwrap().unwrap();
    assert_eq!(disabled.health.state(), "disabled");
    let query = DeliveryQuery {
        organization_id: org,
        status: Some(DeliveryStatus::Pending),
        subscription_id: None,
        page: PageRequest { page: 1, per_page: 100 },
    };
    assert_eq!(store.webhook_deliveries(&query).await.unwrap().total, 0, "its pending deliveries failed");
    // The other probes were in flight when it was disabled: their attempts are kept, but their
    // deliveries stay failed rather than wait for a retry nobody will make.
    let late: Vec<_> = probes[1..].iter().map(failed_attempt).collect();
    assert_eq!(store.record_webhook_attempts(owner, late, disabling).await.unwrap(), vec![true; 3]);
    assert_eq!(store.webhook_deliveries(&query).await.unwrap().total, 0, "a late attempt makes nothing pending");
    let (late, attempts) = store.webhook_delivery(probes[1].delivery.id).await.unwrap().unwrap();
    assert_eq!((late.status, attempts.len()), (DeliveryStatus::Failed, 2), "its second attempt is recorded");
    store.update_card(org, seed.cards[0].card.id, reported_rename("while disabled")).await.unwrap();
    assert_eq!(store.webhook_deliveries(&query).await.unwrap().total, 0, "no delivery is made for it");

    let enabled = WebhookSubscription { health: SubscriptionHealth::default(), ..disabled };
    assert!(store.update_webhook_subscription(enabled).await.unwrap());
    store.update_card(org, seed.cards[0].card.id, reported_rename("enabled again")).await.unwrap();
    assert_eq!(store.webhook_deliveries(&query).await.unwrap().total, 1, "enabled again");
    let everyone = store.webhook_subscriptions(org, None, PageRequest { page: 1, per_page: 10 }).await.unwrap();
    assert_eq!(everyone.total, 1, "the organization's subscriptions, whoever made them");
}
