//! A strict client's view: every route that answers a card is checked against spec §2.1 —
//! every key present, every type exact, `null` only where §2.1 allows it — for a card of every
//! level and in every state Cardinal can reach, including cards that never paid.

use crate::support::*;
use axum::http::Method;
use cardinal_domain::Role::*;
use serde_json::{json, Value};

/// Checks every card of an answer: `{"card"}`, `{"cards":[...]}`, `{"cards":[{"card"}...]}`.
#[track_caller]
fn assert_cards_strict(r: &Response) -> Vec<Value> {
    r.assert_status(if r.status.as_u16() == 201 { 201 } else { 200 });
    let cards: Vec<Value> = match (&r.body["card"], r.body["cards"].as_array()) {
        (card @ Value::Object(_), _) => vec![card.clone()],
        (_, Some(list)) => {
            list.iter().map(|c| if c["card"].is_object() { c["card"].clone() } else { c.clone() }).collect()
        }
        _ => panic!("no card in {}", r.text),
    };
    for card in &cards {
        assert_full_card(card);
    }
    cards
}

fn create_body(org: &Org, level: &str) -> Value {
    let mut card = json!({
        "holder_id": org.member_id(Employee),
        "bank_account_id": org.body["bank_account"]["id"],
        "card_level": level,
    });
    match level {
        "standard" | "plus" | "metal" => card["ship_to_business"] = json!(true),
        "flash" => {
            card["payment_lifespan_limit"] = json!(300);
            card["pre_expires_at"] = json!(jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_hours(24 * 30))
                .unwrap()
                .to_string());
        }
        _ => {}
    }
    json!({"card": card})
}

const LEVELS: [&str; 7] = ["standard", "plus", "metal", "virtual", "virtual_partner", "flash", "advertising"];

#[tokio::test]
async fn every_card_answer_has_every_field_with_its_exact_type() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let owner = org.token(Owner);
    let mut statuses = std::collections::BTreeSet::new();
    let mut ids = Vec::new();

    for level in LEVELS {
        let created = app.post("/v2/cards", &owner, create_body(&org, level)).await;
        let card = assert_cards_strict(&created).remove(0);
        assert_eq!(card["last_activity_at"], card["created_at"], "a card that never paid");
        ids.push((level, card["id"].as_str().unwrap().to_owned()));
    }
    let bulk = json!({"cards": LEVELS.iter().map(|l| create_body(&org, l)).collect::<Vec<_>>()});
    assert_eq!(assert_cards_strict(&app.post("/v2/cards/bulk", &owner, bulk).await).len(), LEVELS.len());

    for (level, id) in &ids {
        let base = format!("/v2/cards/{id}");
        let physical = matches!(*level, "standard" | "plus" | "metal");
        if physical {
            // Pending until activated; then usable like the rest.
            statuses
                .insert(assert_cards_strict(&app.get(&base, &owner).await)[0]["status"].as_str().unwrap().to_owned());
            assert_cards_strict(&app.admin(Method::POST, &format!("/_sandbox/cards/{id}/activate"), None).await);
        }
        for action in ["lock", "unlock"] {
            assert_cards_strict(&app.put(&format!("{base}/{action}"), &owner).await);
        }
        let system_lock = app
            .admin(
                Method::POST,
                &format!("/_sandbox/cards/{id}/system_locks"),
                Some(json!({"reason": "fraud_suspicion"})),
            )
            .await;
        statuses.insert(assert_cards_strict(&system_lock)[0]["status"].as_str().unwrap().to_owned());
        assert_cards_strict(
            &app.admin(Method::DELETE, &format!("/_sandbox/cards/{id}/system_locks/fraud_suspicion"), None).await,
        );
        let updates = [
            ("limits", json!({"payment_daily_limit": 50, "payment_daily_limit_option": true})),
            ("nickname", json!({"nickname": "Strict"})),
            (
                "options",
                json!({"atm_option": false, "nfc_option": false, "online_option": true, "foreign_option": true}),
            ),
            ("restrictions", json!({"active_days": [1, 2, 3], "categories": ["transport"]})),
        ];
        for (what, body) in updates {
            assert_cards_strict(&app.patch(&format!("{base}/{what}"), &owner, json!({"card": body})).await);
        }
        let pay = json!({"amount": 1, "channel": "online", "merchant": {"name": "SNCF", "category": "transport", "country": "FR"}});
        app.admin(Method::POST, &format!("/_sandbox/cards/{id}/authorizations"), Some(pay)).await.assert_status(200);
        let paid = assert_cards_strict(&app.get(&base, &owner).await).remove(0);
        assert_ne!(paid["last_activity_at"], Value::Null);
        let end = if physical { "lost" } else { "discard" };
        statuses.insert(
            assert_cards_strict(&app.put(&format!("{base}/{end}"), &owner).await)[0]["status"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let stolen = org.card(Manager, "standard");
    statuses.insert(
        assert_cards_strict(&app.put(&format!("/v2/cards/{stolen}/stolen"), &owner).await)[0]["status"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let live = org.card(Admin, "virtual");
    statuses.insert(
        assert_cards_strict(&app.get(&format!("/v2/cards/{live}"), &owner).await)[0]["status"]
            .as_str()
            .unwrap()
            .to_owned(),
    );

    // Four years on, every card has expired; the flash cards first reached pre_expired.
    let clock = format!("/_sandbox/organizations/{}/clock", org.id());
    app.admin(Method::POST, &clock, Some(json!({"advance_by": 40 * 24 * 3600}))).await.assert_status(200);
    let flash = assert_cards_strict(&app.get("/v2/cards?card_levels[]=flash&per_page=100", &owner).await);
    statuses.extend(flash.iter().map(|c| c["status"].as_str().unwrap().to_owned()));
    app.admin(Method::POST, &clock, Some(json!({"advance_by": 4 * 366 * 24 * 3600}))).await.assert_status(200);
    for page in 1..=3 {
        let listed = app.get(&format!("/v2/cards?per_page=10&page={page}"), &owner).await;
        statuses.extend(assert_cards_strict(&listed).iter().map(|c| c["status"].as_str().unwrap().to_owned()));
    }
    let seen: Vec<&str> = statuses.iter().map(String::as_str).collect();
    for expected in ["pending", "paused", "live", "lost", "stolen", "discarded", "pre_expired", "expired"] {
        assert!(seen.contains(&expected), "a card was checked in state {expected}: saw {seen:?}");
    }
}
