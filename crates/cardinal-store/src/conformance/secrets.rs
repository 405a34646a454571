//! Storage stories: Sealed card secrets, idempotency keys, SCA sessions and data-view tokens.

use super::*;

/// What a key rotation needs: settings replaced and removed, every card's sealed secrets
/// walked in pages, and replaced in one transaction.
pub async fn sealed_secrets_are_walked_and_replaced(store: Arc<dyn Store>) {
    store.set_setting("rotating", Some("a")).await.unwrap();
    store.set_setting("rotating", Some("b")).await.unwrap();
    assert_eq!(store.setting("rotating").await.unwrap().as_deref(), Some("b"));
    store.set_setting("rotating", None).await.unwrap();
    assert_eq!(store.setting("rotating").await.unwrap(), None);

    let seed = seeded(&store, "seal").await;
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = store.sealed_cards(after, 1).await.unwrap();
        let Some((last, _)) = page.last() else { break };
        after = Some(*last);
        walked.extend(page);
    }
    let mut expected: Vec<Uuid> = seed.cards.iter().map(|c| c.card.id).collect();
    expected.sort();
    assert_eq!(walked.iter().map(|(id, _)| *id).collect::<Vec<_>>(), expected, "every card, in id order");
    let replaced: Vec<(Uuid, CardSecrets)> = walked
        .iter()
        .map(|(id, _)| {
            let marker = id.as_bytes().to_vec();
            (
                *id,
                CardSecrets {
                    pan_ciphertext: marker.clone(),
                    cvv_ciphertext: marker,
                    pan_fingerprint: *id.as_bytes().repeat(2).first_chunk().unwrap(),
                },
            )
        })
        .collect();
    store.reseal_cards(replaced.clone()).await.unwrap();
    let again = store.sealed_cards(None, 100).await.unwrap();
    for ((id, before), (_, after)) in replaced.iter().zip(&again) {
        assert_eq!(before.pan_ciphertext, after.pan_ciphertext, "{id}");
        assert_eq!(before.pan_fingerprint, after.pan_fingerprint, "{id}");
    }
}

fn idempotency(key: &str, request: u8, now: Timestamp) -> IdempotencyRequest {
    IdempotencyRequest {
        scope_hash: [7; 32],
        key: key.into(),
        request_hash: [request; 32],
        now,
        keep_for_seconds: 1_800,
        abandon_after_seconds: 60,
        claim: *uuid::Uuid::new_v4().as_bytes(),
    }
}

/// A key is claimed once; while it runs a repeat waits; its answer is replayed; another
/// request with it is refused; an abandoned claim is freed; past its time it can be reused.
pub async fn idempotency_keys_claim_replay_and_expire(store: Arc<dyn Store>) {
    let t0 = now();
    let later = |seconds: i64| t0.checked_add(jiff::SignedDuration::from_secs(seconds)).unwrap();
    let first = idempotency("k", 1, t0);
    assert_eq!(store.begin_idempotent(first.clone()).await.unwrap(), IdempotencyBegin::Started);
    assert_eq!(store.begin_idempotent(idempotency("k", 1, t0)).await.unwrap(), IdempotencyBegin::InProgress);
    store.finish_idempotent(idempotency("k", 1, t0).claimed(), 200, b"{}".to_vec()).await.unwrap();
    assert_eq!(
        store.begin_idempotent(idempotency("k", 1, t0)).await.unwrap(),
        IdempotencyBegin::InProgress,
        "only the claim's holder finishes it"
    );
    store.finish_idempotent(first.claimed(), 200, b"{}".to_vec()).await.unwrap();
    let replay = IdempotencyBegin::Replay { status: 200, body: b"{}".to_vec() };
    assert_eq!(store.begin_idempotent(idempotency("k", 1, later(10))).await.unwrap(), replay);
    assert_eq!(store.begin_idempotent(idempotency("k", 2, later(10))).await.unwrap(), IdempotencyBegin::Mismatch);
    assert_eq!(store.begin_idempotent(idempotency("k", 2, later(1_800))).await.unwrap(), IdempotencyBegin::Started);

    let abandoned = idempotency("a", 1, t0);
    assert_eq!(store.begin_idempotent(abandoned.clone()).await.unwrap(), IdempotencyBegin::Started);
    store.abandon_idempotent(abandoned.claimed()).await.unwrap();
    let again = idempotency("a", 1, t0);
    assert_eq!(store.begin_idempotent(again.clone()).await.unwrap(), IdempotencyBegin::Started, "freed");
    store.abandon_idempotent(abandoned.claimed()).await.unwrap();
    assert_eq!(
        store.begin_idempotent(idempotency("a", 1, t0)).await.unwrap(),
        IdempotencyBegin::InProgress,
        "a late release of an earlier claim leaves the later claim in place"
    );
    assert_eq!(
        store.begin_idempotent(idempotency("a", 1, later(60))).await.unwrap(),
        IdempotencyBegin::Started,
        "a claim whose process died is taken over"
    );
    // Twenty at once: exactly one claims the key.
    let racers: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.begin_idempotent(idempotency("race", 1, now())).await.unwrap() })
        })
        .collect();
    let mut started = 0;
    for racer in racers {
        started += usize::from(racer.await.unwrap() == IdempotencyBegin::Started);
    }
    assert_eq!(started, 1);
}

/// A session is decided once (a later decision does not change it) and used once, only if
/// allowed and unexpired.
pub async fn sca_sessions_are_decided_once_and_used_once(store: Arc<dyn Store>) {
    let seed = seeded(&store, "sca").await;
    let t0 = now();
    let session = |hash: u8, expires_in: i64| ScaSession {
        token_hash: [hash; 32],
        organization_id: seed.organization.id,
        membership_id: seed.memberships[0].id,
        action_type: "card.unlock".into(),
        request_hash: [9; 32],
        result: ScaResult::Waiting,
        created_at: t0,
        expires_at: t0.checked_add(jiff::SignedDuration::from_secs(expires_in)).unwrap(),
        consumed_at: None,
    };
    store.insert_sca_session(session(1, 900)).await.unwrap();
    assert_eq!(store.sca_session(&[1; 32]).await.unwrap().unwrap().result, ScaResult::Waiting);
    let waiting = store.waiting_sca_sessions(seed.organization.id, t0, 10).await.unwrap();
    assert_eq!(waiting.iter().map(|s| s.token_hash).collect::<Vec<_>>(), vec![[1; 32]], "the pending list");
    let other = crate::ids::random();
    assert!(store.waiting_sca_sessions(other, t0, 10).await.unwrap().is_empty(), "another organization's");
    assert!(!store.consume_sca_session(&[1; 32], t0).await.unwrap(), "a waiting session is not usable");
    assert_eq!(store.decide_sca_session(&[1; 32], ScaResult::Allow).await.unwrap().unwrap().result, ScaResult::Allow);
    assert_eq!(
        store.decide_sca_session(&[1; 32], ScaResult::Deny).await.unwrap().unwrap().result,
        ScaResult::Allow,
        "decided once"
    );
    assert!(store.consume_sca_session(&[1; 32], t0).await.unwrap());
    assert!(!store.consume_sca_session(&[1; 32], t0).await.unwrap(), "used once");
    assert!(store.sca_session(&[1; 32]).await.unwrap().unwrap().consumed_at.is_some());

    store.insert_sca_session(session(2, 1)).await.unwrap();
    store.decide_sca_session(&[2; 32], ScaResult::Allow).await.unwrap();
    let after_expiry = t0.checked_add(jiff::SignedDuration::from_secs(2)).unwrap();
    assert!(!store.consume_sca_session(&[2; 32], after_expiry).await.unwrap(), "an expired session is not usable");
    store.insert_sca_session(session(4, 1)).await.unwrap();
    let pending = |at| store.waiting_sca_sessions(seed.organization.id, at, 10);
    assert_eq!(pending(t0).await.unwrap().len(), 1, "decided sessions are not pending");
    assert!(pending(after_expiry).await.unwrap().is_empty(), "nor are expired ones");
    assert_eq!(store.sca_session(&[3; 32]).await.unwrap(), None);
    assert_eq!(store.decide_sca_session(&[3; 32], ScaResult::Allow).await.unwrap(), None);
}

/// A card change that redeems an SCA session spends it in the change's transaction: the
/// second change redeeming it fails with `ScaSessionUsed` and writes nothing, nor does a
/// change redeeming a session still waiting.
pub async fn card_changes_spend_their_sca_session_with_the_change(store: Arc<dyn Store>) {
    let seed = seeded(&store, "sca-spend").await;
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    let t0 = now();
    for (hash, result) in [(1u8, ScaResult::Allow), (2, ScaResult::Waiting)] {
        store
            .insert_sca_session(ScaSession {
                token_hash: [hash; 32],
                organization_id: org,
                membership_id: seed.memberships[0].id,
                action_type: "card.limits_update".into(),
                request_hash: [9; 32],
                result: ScaResult::Waiting,
                created_at: t0,
                expires_at: t0.checked_add(jiff::SignedDuration::from_mins(15)).unwrap(),
                consumed_at: None,
            })
            .await
            .unwrap();
        store.decide_sca_session(&[hash; 32], result).await.unwrap();
    }
    let rename = |name: &'static str, hash: u8| -> CardChange {
        Box::new(move |stored| {
            stored.card.nickname = name.into();
            let redeems_sca = Some(ScaRedemption { token_hash: [hash; 32], now: t0 });
            Ok(CardWrite { redeems_sca, ..CardWrite::of(event(&stored.card, "nickname")) })
        })
    };
    let events_before = store.card_events(org, card, None).await.unwrap().len();
    assert_eq!(store.update_card(org, card, rename("first", 1)).await.unwrap().card.nickname, "first");
    assert!(store.sca_session(&[1; 32]).await.unwrap().unwrap().consumed_at.is_some(), "spent with the change");
    for hash in [1, 2] {
        let refused = store.update_card(org, card, rename("second", hash)).await.unwrap_err();
        assert!(matches!(refused, StoreError::ScaSessionUsed), "{refused:?}");
    }
    assert_eq!(store.card(org, card).await.unwrap().unwrap().card.nickname, "first", "nothing half-written");
    assert_eq!(store.card_events(org, card, None).await.unwrap().len(), events_before + 1);
}

/// A data-view token opens once, before it expires on the organization's clock, with an
/// audit event; never again.
pub async fn data_view_tokens_open_once_before_they_expire(store: Arc<dyn Store>) {
    let seed = seeded(&store, "view").await;
    let card = &seed.cards[0].card;
    let t0 = now();
    let token = |hash: u8, expires_in: i64| DataViewToken {
        token_hash: [hash; 32],
        card_id: card.id,
        organization_id: seed.organization.id,
        membership_id: seed.memberships[0].id,
        expires_at: t0.checked_add(jiff::SignedDuration::from_secs(expires_in)).unwrap(),
    };
    let audit = || -> DataViewAudit {
        Box::new(|stored: &StoredCard, member: Uuid, at: Timestamp| AuditEvent {
            id: Uuid::new_v4(),
            card_id: stored.card.id,
            action: "data_view".into(),
            actor: Actor { kind: ActorKind::Membership, id: Some(member) },
            from_status: None,
            to_status: stored.card.status(at),
            changes: serde_json::json!({}),
            request_id: "test".into(),
            at,
        })
    };
    store.insert_data_view_token(token(1, 300)).await.unwrap();
    let (opened, secrets) = store.open_data_view(&[1; 32], t0, audit()).await.unwrap().expect("opens");
    assert_eq!(opened.card.id, card.id);
    assert_eq!(secrets.pan_ciphertext, seed.cards[0].secrets.pan_ciphertext);
    assert!(store.open_data_view(&[1; 32], t0, audit()).await.unwrap().is_none(), "once");
    let events = store.card_events(seed.organization.id, card.id, None).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.action == "data_view").count(), 1, "the view is audited once");

    store.insert_data_view_token(token(2, 300)).await.unwrap();
    let late = t0.checked_add(jiff::SignedDuration::from_secs(301)).unwrap();
    assert!(store.open_data_view(&[2; 32], late, audit()).await.unwrap().is_none(), "expired");
    assert!(store.open_data_view(&[3; 32], t0, audit()).await.unwrap().is_none(), "unknown");
}
