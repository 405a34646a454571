use crate::support::*;
use axum::http::Method;
use cardinal_domain::Role::*;
use serde_json::{json, Value};

fn virtual_card(org: &Org) -> Value {
    json!({"card": {
        "holder_id": org.member_id(Employee),
        "bank_account_id": org.body["bank_account"]["id"],
        "card_level": "virtual",
        "payment_monthly_limit": 500,
    }})
}

fn physical_card(org: &Org, level: &str) -> Value {
    json!({"card": {
        "holder_id": org.member_id(Manager),
        "bank_account_id": org.body["bank_account"]["id"],
        "card_level": level,
        "payment_monthly_limit": 1000,
        "ship_to_business": true,
    }})
}

#[tokio::test]
async fn a_virtual_card_is_live_with_a_valid_pan() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let r = app.post("/v2/cards", &org.token(Admin), virtual_card(&org)).await;
    r.assert_status(200);
    let card = r.card();
    assert_full_card(card);
    assert_eq!(card["status"], "live");
    assert_eq!(card["card_level"], "virtual");
    assert_eq!(card["payment_monthly_limit"], 500);
    assert_eq!(card["holder_id"], org.member_id(Employee).as_str());
    assert_eq!(card["initiator_id"], org.member_id(Admin).as_str());
    assert_eq!(card["nickname"], "Virtual card");
    assert_eq!(card["atm_option"], false);
    let mask = card["mask_pan"].as_str().unwrap();
    assert!(mask.starts_with("511768******") && mask.len() == 16, "{mask}");
    let year: i32 = card["exp_year"].as_str().unwrap().parse().unwrap();
    let created: i32 = card["created_at"].as_str().unwrap()[..4].parse().unwrap();
    assert!(year == created + 3, "expiry is three years after issue");
    let events =
        app.admin(Method::GET, &format!("/_sandbox/cards/{}/events", card["id"].as_str().unwrap()), None).await;
    assert_eq!(events.body["events"][0]["action"], "create");
    assert_eq!(events.body["events"][0]["actor"]["id"], org.member_id(Admin).as_str());
}

#[tokio::test]
async fn a_physical_card_is_pending_until_activated() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let r = app.post("/v2/cards", &org.token(Owner), physical_card(&org, "plus")).await;
    r.assert_status(200);
    assert_eq!(r.card()["status"], "pending");
    assert_eq!(r.card()["pin_set"], false);
    assert_eq!(r.card()["embossed_name"], "CHLOÉ BERNARD");
    assert_eq!(r.card()["type_of_print"], "print");
    let id = r.card()["id"].as_str().unwrap().to_owned();
    let lock = app.put(&format!("/v2/cards/{id}/lock"), &org.token(Owner)).await;
    lock.assert_status(422);
    assert_eq!(lock.error_code(), "invalid_transition");
    let live = app.admin(Method::POST, &format!("/_sandbox/cards/{id}/activate"), None).await;
    live.assert_status(200);
    assert_eq!(live.card()["status"], "live");
    assert_eq!(live.card()["pin_set"], true);
}

#[tokio::test]
async fn only_owners_and_admins_create_and_api_keys_never() {
    let app = TestApp::new().await;
    let org = app.org().await;
    for role in [Manager, Employee, Reporting] {
        let r = app.post("/v2/cards", &org.token(role), virtual_card(&org)).await;
        r.assert_status(403);
        assert_eq!(r.error_code(), "forbidden");
    }
    app.post("/v2/cards", &org.api_key(), virtual_card(&org)).await.assert_status(403);
}

#[tokio::test]
async fn each_maximum_is_accepted_at_the_limit_and_refused_one_cent_above() {
    let app = TestApp::new().await;
    let org = app.org().await;
    for (level, field, max) in [
        ("standard", "payment_monthly_limit", 40_000.0),
        ("plus", "payment_monthly_limit", 60_000.0),
        ("metal", "payment_monthly_limit", 200_000.0),
        ("virtual", "payment_monthly_limit", 20_000.0),
        ("virtual_partner", "payment_monthly_limit", 20_000.0),
        ("advertising", "payment_monthly_limit", 200_000.0),
        ("standard", "atm_monthly_limit", 3_000.0),
        ("plus", "atm_monthly_limit", 5_000.0),
        ("metal", "atm_monthly_limit", 10_000.0),
    ] {
        let mut body = physical_card(&org, level);
        if !["standard", "plus", "metal"].contains(&level) {
            body["card"]["ship_to_business"] = Value::Null;
        }
        body["card"][field] = json!(max);
        app.post("/v2/cards", &org.token(Owner), body.clone()).await.assert_status(200);
        body["card"][field] = json!(max + 0.01);
        let r = app.post("/v2/cards", &org.token(Owner), body).await;
        r.assert_status(422);
        assert_eq!(r.error_code(), "invalid", "{level} {field}");
        assert_eq!(r.body["errors"][0]["source"]["pointer"], format!("/card/{field}"), "{level} {field}");
    }
}

#[tokio::test]
async fn creation_rules_point_at_the_field() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let base = virtual_card(&org);
    let with = |patch: Value| {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body["card"][k] = v.clone();
        }
        body
    };
    for (body, code, pointer) in [
        (
            with(json!({"payment_daily_limit": 600, "payment_daily_limit_option": true})),
            "invalid",
            "/card/payment_daily_limit",
        ),
        (with(json!({"atm_option": true})), "invalid", "/card/atm_option"),
        (with(json!({"atm_monthly_limit": 10})), "invalid", "/card/atm_monthly_limit"),
        (with(json!({"payment_monthly_limit": 10.001})), "invalid", "/card/payment_monthly_limit"),
        (with(json!({"payment_monthly_limit": -5})), "invalid", "/card/payment_monthly_limit"),
        (with(json!({"payment_monthly_limit": 10.5})), "invalid", "/card/payment_monthly_limit"),
        (with(json!({"atm_monthly_limit": 0.5})), "invalid", "/card/atm_monthly_limit"),
        (with(json!({"card_level": "gold"})), "not_in_list", "/card/card_level"),
        (with(json!({"holder_id": uuid::Uuid::new_v4()})), "invalid", "/card/holder_id"),
        (with(json!({"holder_id": "nope"})), "invalid", "/card/holder_id"),
        (with(json!({"bank_account_id": uuid::Uuid::new_v4()})), "invalid", "/card/bank_account_id"),
        (with(json!({"organization_id": uuid::Uuid::new_v4()})), "invalid", "/card/organization_id"),
        (with(json!({"card_design": "metal.sand.gold.2024"})), "not_in_list", "/card/card_design"),
        (with(json!({"nickname": "x".repeat(41)})), "too_long", "/card/nickname"),
        (with(json!({"active_days": [8]})), "not_in_list", "/card/active_days/0"),
        (with(json!({"categories": ["casino"]})), "not_in_list", "/card/categories/0"),
        (with(json!({"type_of_print": "embossed"})), "invalid", "/card/type_of_print"),
    ] {
        let r = app.post("/v2/cards", &org.token(Owner), body.clone()).await;
        r.assert_status(422);
        assert_eq!(r.error_code(), code, "{body}");
        assert_eq!(r.body["errors"][0]["source"]["pointer"], pointer, "{body}");
    }
    let missing = app.post("/v2/cards", &org.token(Owner), json!({"card": {}})).await;
    let pointers: Vec<&str> =
        missing.body["errors"].as_array().unwrap().iter().map(|e| e["source"]["pointer"].as_str().unwrap()).collect();
    assert_eq!(
        pointers,
        ["/card/card_level", "/card/holder_id", "/card/bank_account_id"],
        "every missing field is named"
    );
    let physical = json!({"card": {"holder_id": org.member_id(Owner), "bank_account_id": org.body["bank_account"]["id"],
        "card_level": "standard", "payment_monthly_limit": 100}});
    let r = app.post("/v2/cards", &org.token(Owner), physical).await;
    assert_eq!(r.body["errors"][0]["source"]["pointer"], "/card/address");
    app.post("/v2/cards", &org.token(Owner), json!({"cards": {}})).await.assert_status(422);
}

#[tokio::test]
async fn options_and_restrictions_and_address_on_creation() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let body = json!({"card": {
        "holder_id": org.member_id(Owner), "bank_account_id": org.body["bank_account"]["id"], "card_level": "metal",
        "payment_monthly_limit": 150000, "atm_monthly_limit": 2000, "atm_daily_limit": 500, "atm_daily_limit_option": true,
        "nfc_option": false, "nickname": "  Travel  ", "card_design": "metal.sand.gold.2024",
        "active_days": [5, 1], "categories": ["transport", "restaurant_and_bar"],
        "address": {"first_line": "18 rue de Navarin", "zipcode": "75009", "city": "Paris", "country": "fr"},
    }});
    let r = app.post("/v2/cards", &org.token(Owner), body).await;
    r.assert_status(200);
    let c = r.card();
    assert_eq!((c["nickname"].as_str(), c["card_design"].as_str()), (Some("Travel"), Some("metal.sand.gold.2024")));
    assert_eq!(c["active_days"], json!([1, 5]));
    assert_eq!(c["categories"], json!(["transport", "restaurant_and_bar"]));
    assert_eq!((c["nfc_option"].as_bool(), c["atm_option"].as_bool()), (Some(false), Some(true)));
    assert_eq!((c["atm_daily_limit"].as_i64(), c["atm_daily_limit_option"].as_bool()), (Some(500), Some(true)));
    assert_eq!(c["ship_to_business"], false);
    let bad_address = json!({"card": {"holder_id": org.member_id(Owner), "bank_account_id": org.body["bank_account"]["id"],
        "card_level": "standard", "payment_monthly_limit": 100, "address": {"first_line": "x"}}});
    let r = app.post("/v2/cards", &org.token(Owner), bad_address).await;
    let pointers: Vec<&str> =
        r.body["errors"].as_array().unwrap().iter().map(|e| e["source"]["pointer"].as_str().unwrap()).collect();
    assert_eq!(pointers, ["/card/address/zipcode", "/card/address/city", "/card/address/country"]);
}

#[tokio::test]
async fn flash_cards_need_a_budget_and_an_end() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let soon = jiff::Timestamp::now().saturating_add(jiff::SignedDuration::from_hours(24 * 30)).unwrap();
    let mut body = json!({"card": {"holder_id": org.member_id(Employee), "bank_account_id": org.body["bank_account"]["id"],
        "card_level": "flash", "payment_lifespan_limit": 5, "pre_expires_at": soon.to_string()}});
    let r = app.post("/v2/cards", &org.token(Owner), body.clone()).await;
    r.assert_status(200);
    assert_eq!(r.card()["payment_lifespan_limit"], 5);
    assert_eq!(r.card()["payment_lifespan_spent"], 0);
    assert!(r.card()["pre_expires_at"].is_string());
    assert_eq!(r.card()["nfc_option"], false);
    body["card"]["payment_lifespan_limit"] = json!(4.99);
    assert_eq!(
        app.post("/v2/cards", &org.token(Owner), body.clone()).await.body["errors"][0]["source"]["pointer"],
        "/card/payment_lifespan_limit"
    );
    body["card"]["payment_lifespan_limit"] = json!(20000.01);
    app.post("/v2/cards", &org.token(Owner), body.clone()).await.assert_status(422);
    body["card"]["payment_lifespan_limit"] = json!(100);
    body["card"]["pre_expires_at"] = json!("2001-01-01T00:00:00Z");
    let r = app.post("/v2/cards", &org.token(Owner), body.clone()).await;
    assert_eq!(r.body["errors"][0]["source"]["pointer"], "/card/pre_expires_at");
    let too_far = jiff::Timestamp::now().saturating_add(jiff::SignedDuration::from_hours(24 * 400)).unwrap();
    body["card"]["pre_expires_at"] = json!(too_far.to_string());
    app.post("/v2/cards", &org.token(Owner), body).await.assert_status(422);
}

#[tokio::test]
async fn bulk_creates_all_or_nothing_in_order() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let good = virtual_card(&org);
    let bare = good["card"].clone();
    let r = app
        .post("/v2/cards/bulk", &org.token(Admin), json!({"cards": [good.clone(), bare.clone(), good.clone()]}))
        .await;
    r.assert_status(200);
    let cards = r.body["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 3);
    for item in cards {
        assert_full_card(&item["card"]);
    }
    let before = app.get("/v2/cards", &org.token(Owner)).await.body["meta"]["total_count"].clone();

    let mut bad = good.clone();
    bad["card"]["holder_id"] = json!(uuid::Uuid::new_v4());
    let r = app
        .post("/v2/cards/bulk", &org.token(Admin), json!({"cards": [good.clone(), good.clone(), good.clone(), bad]}))
        .await;
    r.assert_status(422);
    assert_eq!(r.body["errors"][0]["source"]["pointer"], "/cards/3/card/holder_id");
    let mut bad_bare = bare.clone();
    bad_bare["payment_monthly_limit"] = json!(20000.01);
    let r = app.post("/v2/cards/bulk", &org.token(Admin), json!({"cards": [bad_bare]})).await;
    assert_eq!(r.body["errors"][0]["source"]["pointer"], "/cards/0/payment_monthly_limit");
    let after = app.get("/v2/cards", &org.token(Owner)).await.body["meta"]["total_count"].clone();
    assert_eq!(before, after, "a refused bulk creates nothing");

    let empty = app.post("/v2/cards/bulk", &org.token(Admin), json!({"cards": []})).await;
    assert_eq!(empty.error_code(), "too_short");
    let many = app.post("/v2/cards/bulk", &org.token(Admin), json!({"cards": vec![good; 51]})).await;
    assert_eq!(many.error_code(), "too_long");
}
