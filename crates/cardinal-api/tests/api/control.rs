use crate::support::*;
use axum::http::Method;
use cardinal_domain::Role::*;
use serde_json::json;

#[tokio::test]
async fn the_control_api_needs_the_admin_token() {
    let app = TestApp::new().await;
    let r = app.send(Method::POST, "/_sandbox/organizations", Some("Bearer wrong"), Some(json!({}))).await;
    r.assert_status(401);
    assert_eq!(r.error_code(), "unauthorized");
    let org = app.org().await;
    let member_token = org.token(Owner);
    let r = app.send(Method::POST, "/_sandbox/organizations", Some(&member_token), Some(json!({}))).await;
    r.assert_status(401);
}

#[tokio::test]
async fn production_mode_has_no_control_api() {
    let app = TestApp::builder().production().build().await;
    let r = app.send(Method::POST, "/_sandbox/organizations", Some(&format!("Bearer {ADMIN}")), Some(json!({}))).await;
    r.assert_status(404);
    assert_eq!(r.error_code(), "not_found");
}

#[tokio::test]
async fn organization_bodies_are_validated_with_pointers() {
    let app = TestApp::new().await;
    for (body, code, pointer) in [
        (json!({"sca_mode": "sometimes"}), "not_in_list", "/sca_mode"),
        (json!({"timezone": "Mars/Olympus"}), "invalid", "/timezone"),
        (json!({"balance": 12.345}), "invalid", "/balance"),
        (json!({"balance": -1}), "invalid", "/balance"),
        (json!({"country": "france"}), "invalid", "/country"),
        (json!({"slug": "Not A Slug"}), "invalid", "/slug"),
        (json!({"members": []}), "too_short", "/members"),
        (json!({"members": [{"first_name": "A", "last_name": "B", "role": "boss"}]}), "not_in_list", "/members/0/role"),
        (json!({"members": [{"last_name": "B", "role": "owner"}]}), "required", "/members/0/first_name"),
    ] {
        let r = app.admin(Method::POST, "/_sandbox/organizations", Some(body.clone())).await;
        r.assert_status(422);
        assert_eq!(r.error_code(), code, "{body}");
        assert_eq!(r.body["errors"][0]["source"]["pointer"], pointer, "{body}");
    }
}

#[tokio::test]
async fn slugs_are_unique() {
    let app = TestApp::new().await;
    app.org_with(json!({"slug": "unique-co"})).await;
    let again = app.admin(Method::POST, "/_sandbox/organizations", Some(json!({"slug": "unique-co"}))).await;
    again.assert_status(409);
    assert_eq!(again.error_code(), "conflict");
}

#[tokio::test]
async fn seeded_cards_follow_the_contract() {
    let app = TestApp::new().await;
    let org = app.org().await;
    assert_eq!(org.card_count(), 10);
    for card in org.body["cards"].as_array().unwrap() {
        assert_full_card(card);
        assert_eq!(card["status"], "live");
        match card["card_level"].as_str().unwrap() {
            "virtual" => {
                assert_eq!(card["payment_monthly_limit"], 1000);
                assert_eq!(card["atm_option"], false);
                assert_eq!(card["embossed_name"], serde_json::Value::Null);
            }
            "standard" => {
                assert_eq!(card["payment_monthly_limit"], 5000);
                assert_eq!(card["atm_monthly_limit"], 1000);
                assert_eq!(card["pin_set"], true);
            }
            other => panic!("unexpected level {other}"),
        }
        let pan = card["mask_pan"].as_str().unwrap();
        assert!(pan.starts_with("511768******") && pan.ends_with(card["last_digits"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn scoped_expiring_and_revoked_tokens() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let r = app
        .admin(
            Method::POST,
            "/_sandbox/tokens",
            Some(json!({"membership_id": org.member_id(Admin), "scopes": ["card.read", "card.write"], "expires_in": 3600})),
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.body["scopes"], json!(["card.read", "card.write"]));
    assert!(r.body["expires_at"].as_str().unwrap().ends_with('Z'));
    let secret = r.body["access_token"].as_str().unwrap().to_owned();
    let token = format!("Bearer {secret}");
    let card = org.card(Employee, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &token).await.assert_status(200);

    app.admin(Method::DELETE, &format!("/_sandbox/tokens/{secret}"), None).await.assert_status(204);
    let after = app.put(&format!("/v2/cards/{card}/unlock"), &token).await;
    after.assert_status(401);
    assert_eq!(after.error_code(), "unauthorized");
    app.admin(Method::DELETE, &format!("/_sandbox/tokens/{secret}"), None).await.assert_status(404);

    for (body, pointer) in [
        (json!({"membership_id": org.member_id(Admin), "scopes": ["card.fly"]}), "/scopes/0"),
        (json!({"membership_id": uuid::Uuid::new_v4()}), "/membership_id"),
        (json!({"scopes": ["card.read"]}), "/membership_id"),
        (json!({"membership_id": org.member_id(Admin), "expires_in": 0}), "/expires_in"),
    ] {
        let r = app.admin(Method::POST, "/_sandbox/tokens", Some(body)).await;
        r.assert_status(422);
        assert_eq!(r.body["errors"][0]["source"]["pointer"], pointer);
    }
}

#[tokio::test]
async fn deleting_an_organization_removes_its_cards_and_credentials() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let other = app.org().await;
    let card = org.card(Owner, "virtual");
    app.admin(Method::DELETE, &format!("/_sandbox/organizations/{}", org.id()), None).await.assert_status(204);
    app.get("/v2/cards", &org.token(Owner)).await.assert_status(401);
    app.admin(Method::GET, &format!("/_sandbox/cards/{card}/events"), None).await.assert_status(404);
    app.admin(Method::DELETE, &format!("/_sandbox/organizations/{}", org.id()), None).await.assert_status(404);
    app.get("/v2/cards", &other.token(Owner)).await.assert_status(200);
}

#[tokio::test]
async fn system_lock_reasons_are_validated_and_audited() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Admin, "virtual");
    let bad =
        app.admin(Method::POST, &format!("/_sandbox/cards/{card}/system_locks"), Some(json!({"reason": "No!"}))).await;
    bad.assert_status(422);
    assert_eq!(bad.body["errors"][0]["source"]["pointer"], "/reason");
    let missing = app.admin(Method::POST, &format!("/_sandbox/cards/{card}/system_locks"), Some(json!({}))).await;
    assert_eq!(missing.error_code(), "required");
    app.admin(Method::POST, &format!("/_sandbox/cards/{card}/system_locks"), Some(json!({"reason": "sca_failures"})))
        .await
        .assert_status(200);
    // Lifting a lock the card does not have is a no-op, safe to retry.
    let absent = app.admin(Method::DELETE, &format!("/_sandbox/cards/{card}/system_locks/fraud_suspicion"), None).await;
    absent.assert_status(200);
    assert_eq!(absent.card()["status"], "paused");
    let events = app.admin(Method::GET, &format!("/_sandbox/cards/{card}/events"), None).await;
    let actions: Vec<&str> =
        events.body["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "system_lock"]);
    assert_eq!(events.body["events"][1]["actor"]["type"], "system");
    // Only the latest: a card changed for years has thousands of events.
    let newest = app.admin(Method::GET, &format!("/_sandbox/cards/{card}/events?newest=1"), None).await;
    assert_eq!(newest.body["events"].as_array().unwrap().len(), 1);
    assert_eq!(newest.body["events"][0], events.body["events"][1]);
    let zero = app.admin(Method::GET, &format!("/_sandbox/cards/{card}/events?newest=0"), None).await;
    zero.assert_status(422);
    assert_eq!(zero.body["errors"][0]["source"]["parameter"], "newest");
}
