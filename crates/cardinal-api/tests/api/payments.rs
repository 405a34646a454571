use crate::support::*;
use axum::http::Method;
use cardinal_domain::Role::*;
use serde_json::{json, Value};
use std::sync::Arc;

fn purchase(amount: f64) -> Value {
    json!({"amount": amount, "currency": "EUR", "channel": "online", "merchant": {"name": "SNCF", "category": "transport", "country": "FR"}})
}

async fn pay(app: &TestApp, card: &str, body: Value) -> Response {
    let r = app.admin(Method::POST, &format!("/_sandbox/cards/{card}/authorizations"), Some(body)).await;
    r.assert_status(200);
    r
}

async fn decision(app: &TestApp, card: &str, body: Value) -> String {
    let r = pay(app, card, body).await;
    match r.body["authorization"]["decline_reason"].as_str() {
        Some(reason) => reason.to_owned(),
        None => r.body["authorization"]["decision"].as_str().unwrap().to_owned(),
    }
}

async fn set_clock(app: &TestApp, org: &Org, at: &str) {
    app.admin(Method::POST, &format!("/_sandbox/organizations/{}/clock", org.id()), Some(json!({"set": at})))
        .await
        .assert_status(200);
}

async fn patch(app: &TestApp, org: &Org, card: &str, what: &str, body: Value) {
    app.patch(&format!("/v2/cards/{card}/{what}"), &org.token(Owner), json!({"card": body})).await.assert_status(200);
}

#[tokio::test]
async fn each_decline_reason_from_a_request_crafted_for_it() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({"sca_mode": "disabled", "balance": 10_000})).await;
    let card = org.card(Admin, "standard");
    let with = |changes: Value| {
        let mut body = purchase(10.0);
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    assert_eq!(decision(&app, &card, purchase(10.0)).await, "approved");
    patch(
        &app,
        &org,
        &card,
        "options",
        json!({"atm_option": true, "nfc_option": false, "online_option": true, "foreign_option": false}),
    )
    .await;
    assert_eq!(decision(&app, &card, with(json!({"channel": "contactless"}))).await, "option_disabled");
    assert_eq!(
        decision(&app, &card, with(json!({"merchant": {"name": "DB", "category": "transport", "country": "DE"}})))
            .await,
        "option_disabled"
    );
    patch(&app, &org, &card, "limits", json!({"payment_transaction_limit": 50, "payment_transaction_limit_option": true, "atm_daily_limit": 20, "atm_daily_limit_option": true})).await;
    assert_eq!(decision(&app, &card, purchase(50.01)).await, "transaction_limit_exceeded");
    assert_eq!(decision(&app, &card, with(json!({"channel": "atm", "amount": 25}))).await, "atm_daily_limit_exceeded");
    assert_eq!(decision(&app, &card, with(json!({"channel": "atm", "amount": 20}))).await, "approved");
    patch(&app, &org, &card, "limits", json!({"atm_daily_limit_option": false})).await;
    assert_eq!(
        decision(&app, &card, with(json!({"channel": "atm", "amount": 990}))).await,
        "atm_monthly_limit_exceeded",
        "1,000 ATM monthly, 20 used"
    );
    patch(&app, &org, &card, "limits", json!({"payment_daily_limit": 40, "payment_daily_limit_option": true, "payment_transaction_limit_option": false})).await;
    assert_eq!(decision(&app, &card, purchase(31.0)).await, "daily_limit_exceeded", "10 already spent today");
    patch(&app, &org, &card, "limits", json!({"payment_daily_limit_option": false, "payment_monthly_limit": 100}))
        .await;
    assert_eq!(decision(&app, &card, purchase(91.0)).await, "monthly_limit_exceeded");
    patch(&app, &org, &card, "restrictions", json!({"categories": ["restaurant_and_bar"]})).await;
    assert_eq!(decision(&app, &card, purchase(1.0)).await, "category_not_allowed");
    patch(&app, &org, &card, "restrictions", json!({"categories": [], "active_days": [1]})).await;
    set_clock(&app, &org, "2027-01-16T10:00:00Z").await; // a Saturday
    assert_eq!(decision(&app, &card, purchase(1.0)).await, "day_not_allowed");
    patch(&app, &org, &card, "restrictions", json!({"active_days": [1, 2, 3, 4, 5, 6, 7]})).await;
    patch(&app, &org, &card, "limits", json!({"payment_monthly_limit": 40000})).await;
    assert_eq!(
        decision(&app, &card, purchase(10_000.0)).await,
        "insufficient_funds",
        "10,000 balance minus 30 authorized"
    );
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await.assert_status(200);
    assert_eq!(decision(&app, &card, purchase(1.0)).await, "card_not_active");
    set_clock(&app, &org, "2030-01-01T00:00:00Z").await;
    assert_eq!(decision(&app, &card, purchase(1.0)).await, "card_expired", "expiry is checked first");

    let flash_body = json!({"card": {"holder_id": org.member_id(Owner), "bank_account_id": org.body["bank_account"]["id"],
        "card_level": "flash", "payment_lifespan_limit": 20, "pre_expires_at": "2030-06-01T00:00:00Z"}});
    let flash = app.post("/v2/cards", &org.token(Owner), flash_body).await;
    let flash = flash.card()["id"].as_str().unwrap().to_owned();
    assert_eq!(decision(&app, &flash, purchase(15.0)).await, "approved");
    assert_eq!(decision(&app, &flash, purchase(6.0)).await, "lifespan_limit_exceeded");
}

#[tokio::test]
async fn a_locked_card_over_its_limit_declines_as_not_active() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Employee, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Employee)).await;
    assert_eq!(decision(&app, &card, purchase(5_000.0)).await, "card_not_active");
    let shown = app.get(&format!("/v2/cards/{card}"), &org.token(Owner)).await;
    assert!(shown.card()["last_activity_at"].is_string(), "a decline is activity");
    assert_eq!(shown.card()["had_operation"], false, "but not an operation");
}

#[tokio::test]
async fn the_daily_window_turns_at_paris_midnight() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Manager, "virtual");
    patch(&app, &org, &card, "limits", json!({"payment_daily_limit": 100, "payment_daily_limit_option": true})).await;
    set_clock(&app, &org, "2027-01-15T22:30:00Z").await; // 23:30 in Paris
    assert_eq!(decision(&app, &card, purchase(60.0)).await, "approved");
    assert_eq!(decision(&app, &card, purchase(50.0)).await, "daily_limit_exceeded");
    set_clock(&app, &org, "2027-01-15T23:10:00Z").await; // still the 15th in UTC, the 16th in Paris
    assert_eq!(decision(&app, &card, purchase(50.0)).await, "approved");
    let shown = app.get(&format!("/v2/cards/{card}"), &org.token(Owner)).await;
    assert_eq!(shown.card()["payment_daily_spent"], 50);
    assert_eq!(shown.card()["payment_monthly_spent"], 110);
    assert_eq!(shown.card()["had_operation"], true);
    set_clock(&app, &org, "2027-02-01T00:00:00Z").await; // February in Paris since 23:00 UTC
    let february = app.get(&format!("/v2/cards/{card}"), &org.token(Owner)).await;
    assert_eq!(
        (february.card()["payment_daily_spent"].as_i64(), february.card()["payment_monthly_spent"].as_i64()),
        (Some(0), Some(0))
    );
}

async fn account(app: &TestApp, org: &Org) -> Value {
    let id = org.body["bank_account"]["id"].as_str().unwrap();
    app.get(&format!("/v2/bank_accounts/{id}"), &org.token(Owner)).await.body["bank_account"].clone()
}

#[tokio::test]
async fn two_hundred_concurrent_authorizations_never_overspend() {
    let app = Arc::new(TestApp::new().await);
    let org = Arc::new(app.org_with(json!({"sca_mode": "disabled", "balance": 1000})).await);
    let card = org.card(Employee, "virtual");
    patch(&app, &org, &card, "limits", json!({"payment_monthly_limit": 50})).await;
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (app, card) = (app.clone(), card.clone());
            tokio::spawn(async move { decision(&app, &card, purchase(1.0)).await })
        })
        .collect();
    let mut approved = 0;
    for t in tasks {
        match t.await.unwrap().as_str() {
            "approved" => approved += 1,
            "monthly_limit_exceeded" => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(approved, 50);
    let shown = app.get(&format!("/v2/cards/{card}"), &org.token(Owner)).await;
    assert_eq!(shown.card()["payment_monthly_spent"], 50);
    let a = account(&app, &org).await;
    assert_eq!(a["authorized_balance_cents"], 95_000, "the account agrees to the cent");
    assert_eq!(a["balance_cents"], 100_000, "nothing settled yet");
    let bank = org.body["bank_account"]["id"].as_str().unwrap();
    let pending = app
        .get(&format!("/v2/transactions?bank_account_id={bank}&status[]=pending&per_page=100"), &org.token(Owner))
        .await;
    assert_eq!(pending.body["meta"]["total_count"], 50);
    let total: i64 =
        pending.body["transactions"].as_array().unwrap().iter().map(|t| t["amount_cents"].as_i64().unwrap()).sum();
    assert_eq!(total, 5_000, "the transactions agree to the cent");
    let declined =
        app.get(&format!("/v2/transactions?bank_account_id={bank}&status[]=declined"), &org.token(Owner)).await;
    assert_eq!(declined.body["meta"]["total_count"], 150);
}

#[tokio::test]
async fn no_authorization_started_after_a_lock_answered_is_approved() {
    let app = Arc::new(TestApp::new().await);
    let org = Arc::new(app.org().await);
    let card = org.card(Owner, "virtual");
    patch(&app, &org, &card, "limits", json!({"payment_monthly_limit": 20000})).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let payers: Vec<_> = (0..4)
        .map(|_| {
            let (app, card, stop) = (app.clone(), card.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let started = std::time::Instant::now();
                    let result = decision(&app, &card, purchase(0.01)).await;
                    seen.push((started, result));
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await.assert_status(200);
    let lock_answered = std::time::Instant::now();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut before, mut after) = (0, 0);
    for payer in payers {
        for (started, result) in payer.await.unwrap() {
            if started > lock_answered {
                after += 1;
                assert_eq!(result, "card_not_active", "approved after the lock answered");
            } else if result == "approved" {
                before += 1;
            }
        }
    }
    assert!(before > 0 && after > 0, "the test exercised both sides ({before} before, {after} after)");
}

#[tokio::test]
async fn settle_and_reverse() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({"sca_mode": "disabled", "balance": 500})).await;
    let card = org.card(Employee, "virtual");
    let first =
        pay(&app, &card, purchase(120.5)).await.body["authorization"]["transaction_id"].as_str().unwrap().to_owned();
    let second =
        pay(&app, &card, purchase(30.0)).await.body["authorization"]["transaction_id"].as_str().unwrap().to_owned();
    let settled = app.admin(Method::POST, &format!("/_sandbox/transactions/{first}/settle"), None).await;
    settled.assert_status(200);
    let t = &settled.body["transaction"];
    assert_eq!(t["status"], "completed");
    assert!(t["settled_at"].is_string());
    assert_eq!(t["settled_balance"], 379.5);
    let a = account(&app, &org).await;
    assert_eq!((a["balance"].as_f64(), a["authorized_balance"].as_f64()), (Some(379.5), Some(349.5)));
    let again = app.admin(Method::POST, &format!("/_sandbox/transactions/{first}/settle"), None).await;
    again.assert_status(422);
    assert_eq!(again.error_code(), "invalid_transition");

    let reversed = app.admin(Method::POST, &format!("/_sandbox/transactions/{second}/reverse"), None).await;
    reversed.assert_status(200);
    assert_eq!(reversed.body["transaction"]["status"], "declined", "reversed shows as declined");
    let a = account(&app, &org).await;
    assert_eq!(a["authorized_balance"], 379.5);
    let shown = app.get(&format!("/v2/cards/{card}"), &org.token(Owner)).await;
    assert_eq!(shown.card()["payment_monthly_spent"], 120.5, "the reversed amount left the spent counters");
    app.admin(Method::POST, &format!("/_sandbox/transactions/{second}/settle"), None).await.assert_status(422);
    app.admin(Method::POST, &format!("/_sandbox/transactions/{}/settle", uuid::Uuid::new_v4()), None)
        .await
        .assert_status(404);
}

#[tokio::test]
async fn transactions_list_with_fields_filters_and_visibility() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let employee_card = org.card(Employee, "virtual");
    let owner_card = org.card(Owner, "virtual");
    let approved = pay(&app, &employee_card, purchase(12.0)).await.body["authorization"]["transaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    pay(&app, &employee_card, purchase(2_000.0)).await;
    let settled = pay(&app, &owner_card, purchase(7.5)).await.body["authorization"]["transaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.admin(Method::POST, &format!("/_sandbox/transactions/{settled}/settle"), None).await.assert_status(200);
    let bank = org.body["bank_account"]["id"].as_str().unwrap();
    let iban = org.body["bank_account"]["iban"].as_str().unwrap();

    let all = app.get(&format!("/v2/transactions?iban={iban}"), &org.token(Owner)).await;
    all.assert_status(200);
    assert_eq!(all.body["meta"]["total_count"], 3);
    let statuses: Vec<&str> =
        all.body["transactions"].as_array().unwrap().iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.last(), Some(&"completed"), "settled_at:desc lists unsettled ones first");
    let t = all.body["transactions"].as_array().unwrap().iter().find(|t| t["id"] == approved.as_str()).unwrap();
    for field in [
        "id",
        "transaction_id",
        "amount",
        "amount_cents",
        "currency",
        "local_amount",
        "local_amount_cents",
        "local_currency",
        "side",
        "operation_type",
        "status",
        "label",
        "clean_counterparty_name",
        "category",
        "settled_balance",
        "settled_balance_cents",
        "emitted_at",
        "settled_at",
        "created_at",
        "updated_at",
        "initiator_id",
        "card_last_digits",
        "bank_account_id",
        "subject_type",
        "note",
        "reference",
        "attachment_ids",
        "label_ids",
        "attachment_lost",
        "attachment_required",
        "is_external_transaction",
    ] {
        assert!(t.get(field).is_some(), "transaction lacks {field}");
    }
    assert_eq!(
        (t["amount"].as_i64(), t["side"].as_str(), t["operation_type"].as_str()),
        (Some(12), Some("debit"), Some("card"))
    );
    assert_eq!(t["label"], "SNCF");
    assert_eq!(t["initiator_id"], org.member_id(Employee).as_str());
    let digits = app.get(&format!("/v2/cards/{employee_card}"), &org.token(Owner)).await.card()["last_digits"].clone();
    assert_eq!(t["card_last_digits"], digits);

    let count = |r: Response| r.body["meta"]["total_count"].as_u64().unwrap();
    assert_eq!(
        count(app.get(&format!("/v2/transactions?bank_account_id={bank}&status[]=declined"), &org.token(Owner)).await),
        1
    );
    assert_eq!(
        count(
            app.get(
                &format!("/v2/transactions?bank_account_id={bank}&status[]=completed&status[]=pending"),
                &org.token(Owner)
            )
            .await
        ),
        2
    );
    assert_eq!(
        count(app.get(&format!("/v2/transactions?bank_account_id={bank}&side=credit"), &org.token(Owner)).await),
        0
    );
    assert_eq!(
        count(
            app.get(
                &format!("/v2/transactions?bank_account_id={bank}&settled_at_from=2000-01-01T00:00:00Z"),
                &org.token(Owner)
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(
            app.get(
                &format!("/v2/transactions?bank_account_id={bank}&emitted_at_to=2000-01-01T00:00:00Z"),
                &org.token(Owner)
            )
            .await
        ),
        0
    );
    assert_eq!(
        count(app.get(&format!("/v2/transactions?bank_account_id={bank}"), &org.token(Employee)).await),
        2,
        "an employee sees their own card's"
    );
    assert_eq!(
        count(app.get(&format!("/v2/transactions?bank_account_id={bank}"), &org.token(Manager)).await),
        2,
        "a manager their team's"
    );
    app.get(&format!("/v2/transactions/{settled}"), &org.token(Employee)).await.assert_status(404);
    app.get(&format!("/v2/transactions/{approved}"), &org.token(Employee)).await.assert_status(200);
    app.get(&format!("/v2/transactions/{approved}"), &org.token(Reporting)).await.assert_status(200);

    let missing = app.get("/v2/transactions", &org.token(Owner)).await;
    missing.assert_status(422);
    assert_eq!(missing.body["errors"][0]["source"]["parameter"], "bank_account_id");
    for bad in ["status[]=lost", "sort_by=amount:asc", "settled_at_from=yesterday", "side=up"] {
        app.get(&format!("/v2/transactions?bank_account_id={bank}&{bad}"), &org.token(Owner)).await.assert_status(422);
    }
    let other = app.org().await;
    app.get(&format!("/v2/transactions?bank_account_id={bank}"), &other.token(Owner)).await.assert_status(422);
    app.get(&format!("/v2/transactions/{approved}"), &other.token(Owner)).await.assert_status(404);
}

#[tokio::test]
async fn authorization_bodies_are_validated() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "virtual");
    for (body, pointer) in [
        (
            json!({"amount": 0, "channel": "online", "merchant": {"name": "x", "category": "tax", "country": "FR"}}),
            "/amount",
        ),
        (
            json!({"amount": 1.001, "channel": "online", "merchant": {"name": "x", "category": "tax", "country": "FR"}}),
            "/amount",
        ),
        (
            json!({"amount": 1, "channel": "swipe", "merchant": {"name": "x", "category": "tax", "country": "FR"}}),
            "/channel",
        ),
        (
            json!({"amount": 1, "currency": "USD", "channel": "online", "merchant": {"name": "x", "category": "tax", "country": "FR"}}),
            "/currency",
        ),
        (
            json!({"amount": 1, "channel": "online", "merchant": {"name": "x", "category": "casino", "country": "FR"}}),
            "/merchant/category",
        ),
        (
            json!({"amount": 1, "channel": "online", "merchant": {"name": "x", "category": "tax", "country": "France"}}),
            "/merchant/country",
        ),
        (json!({"amount": 1, "channel": "online"}), "/merchant"),
        (
            json!({"amount": 1, "channel": "online", "merchant": {"name": "x", "category": "tax", "country": "FR"}, "at": "2999-01-01T00:00:00Z"}),
            "/at",
        ),
    ] {
        let r = app.admin(Method::POST, &format!("/_sandbox/cards/{card}/authorizations"), Some(body.clone())).await;
        r.assert_status(422);
        assert_eq!(r.body["errors"][0]["source"]["pointer"], pointer, "{body}");
    }
    app.admin(Method::POST, &format!("/_sandbox/cards/{}/authorizations", uuid::Uuid::new_v4()), Some(purchase(1.0)))
        .await
        .assert_status(404);
}
