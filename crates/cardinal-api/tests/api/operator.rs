//! The operator API: production provisioned from nothing to a member locking a card, the
//! production rules (named members, no demo cards, no sandbox routes), credentials issued and
//! revoked, and the sandbox's list and reset.

use crate::support::*;
use axum::http::Method;
use serde_json::{json, Value};

const OPERATOR: &str = "Bearer test-admin-token";

async fn operator(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Response {
    app.send(method, path, Some(OPERATOR), body).await
}

#[tokio::test]
async fn production_is_provisioned_through_the_operator_api_down_to_a_locked_card() {
    let app = TestApp::builder().production().build().await;
    let created = operator(
        &app,
        Method::POST,
        "/_operator/organizations",
        Some(json!({"legal_name": "Acme Cards", "sca_mode": "disabled",
            "members": [{"first_name": "Olga", "last_name": "Owner", "role": "owner", "email": "olga@acme.test"}]})),
    )
    .await;
    created.assert_status(201);
    let org = created.body["organization"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["cards"], json!([]), "production seeds no cards");
    assert_eq!(created.body["bank_account"]["balance_cents"], 0, "nor money");
    assert_eq!(created.body["memberships"][0]["email"], "olga@acme.test");
    let owner = format!("Bearer {}", created.body["memberships"][0]["access_token"].as_str().unwrap());

    let listed = operator(&app, Method::GET, "/_operator/organizations", None).await;
    listed.assert_status(200);
    assert!(listed.body["organizations"].as_array().unwrap().iter().any(|o| o["id"] == org.as_str()));

    let account = operator(
        &app,
        Method::POST,
        &format!("/_operator/organizations/{org}/bank_accounts"),
        Some(json!({"name": "Cards", "balance": 500})),
    )
    .await;
    account.assert_status(201);
    let account_id = account.body["bank_account"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (account.body["bank_account"]["balance_cents"].as_i64(), account.body["bank_account"]["main"].as_bool()),
        (Some(50_000), Some(false))
    );

    let member = operator(
        &app,
        Method::POST,
        &format!("/_operator/organizations/{org}/memberships"),
        Some(json!({"first_name": "Eve", "last_name": "Employee", "role": "employee", "team": "Ops"})),
    )
    .await;
    member.assert_status(201);
    let employee_id = member.body["membership"]["id"].as_str().unwrap().to_owned();
    assert!(member.body["membership"]["team_id"].is_string(), "the team Ops was made");
    let shown = operator(&app, Method::GET, &format!("/_operator/organizations/{org}"), None).await;
    shown.assert_status(200);
    assert_eq!(shown.body["organization"]["memberships_count"], 2);
    assert_eq!(shown.body["organization"]["bank_accounts"].as_array().unwrap().len(), 2);
    assert_eq!(shown.body["organization"]["teams"][0]["name"], "Ops");

    let token = operator(&app, Method::POST, "/_operator/tokens", Some(json!({"membership_id": employee_id}))).await;
    token.assert_status(201);
    let employee = format!("Bearer {}", token.body["access_token"].as_str().unwrap());
    app.get("/v2/membership", &employee).await.assert_status(200);

    // The owner issues the employee a card on the new account; the employee locks it, the
    // owner unlocks it (SCA is off for this organization).
    let card = app
        .post(
            "/v2/cards",
            &owner,
            json!({"card": {"holder_id": employee_id, "bank_account_id": account_id,
            "card_level": "virtual", "payment_monthly_limit": 100}}),
        )
        .await;
    card.assert_status(200);
    let card_id = card.card()["id"].as_str().unwrap().to_owned();
    let locked = app.put(&format!("/v2/cards/{card_id}/lock"), &employee).await;
    locked.assert_status(200);
    assert_eq!(locked.card()["status"], "paused");
    let unlocked = app.put(&format!("/v2/cards/{card_id}/unlock"), &owner).await;
    unlocked.assert_status(200);
    assert_eq!(unlocked.card()["status"], "live");

    // What only the sandbox has is not here.
    for (method, path) in [
        (Method::GET, "/_sandbox/organizations".to_owned()),
        (Method::POST, format!("/_sandbox/organizations/{org}/clock")),
        (Method::POST, format!("/_sandbox/organizations/{org}/reset")),
        (Method::POST, format!("/_sandbox/cards/{card_id}/authorizations")),
        (Method::POST, "/v2/mocked_sca_sessions/anything/allow".to_owned()),
    ] {
        let r = operator(&app, method.clone(), &path, Some(json!({}))).await;
        assert_eq!(r.status, 404, "{method} {path} is sandbox-only");
    }
}

#[tokio::test]
async fn production_names_its_members_and_seeds_no_demo_cards() {
    let app = TestApp::builder().production().build().await;
    let r = operator(&app, Method::POST, "/_operator/organizations", Some(json!({"legal_name": "Nobody"}))).await;
    r.assert_status(422);
    assert_eq!(r.body["errors"][0]["source"]["pointer"], "/members");
    let members = json!([{"first_name": "A", "last_name": "B", "role": "owner"}]);
    let r = operator(&app, Method::POST, "/_operator/organizations", Some(json!({"members": members, "cards": true})))
        .await;
    r.assert_status(422);
    assert_eq!(r.body["errors"][0]["source"]["pointer"], "/cards");
    let listed = operator(&app, Method::GET, "/_operator/organizations", None).await;
    assert_eq!(listed.body["meta"]["total_count"], 0, "nothing half-made");
}

#[tokio::test]
async fn production_without_an_operator_token_serves_no_operator_api() {
    let app = TestApp::builder().production().without_operator_token().build().await;
    let r = operator(&app, Method::GET, "/_operator/organizations", None).await;
    r.assert_status(404);
    let doc = app.send(Method::GET, "/openapi.json", None, None).await;
    assert!(doc.body["paths"].get("/_operator/organizations").is_none());
}

#[tokio::test]
async fn the_operator_api_needs_the_operator_token() {
    let app = TestApp::builder().production().build().await;
    for auth in [None, Some("Bearer wrong"), Some("test-admin-token")] {
        let r = app.send(Method::GET, "/_operator/organizations", auth, None).await;
        r.assert_status(401);
        assert_error_shape(&r);
    }
}

#[tokio::test]
async fn the_api_key_is_replaced_and_revoked() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let old_key = org.api_key();
    app.get("/v2/cards", &old_key).await.assert_status(200);
    let issued = operator(&app, Method::POST, &format!("/_operator/organizations/{}/api_key", org.id()), None).await;
    issued.assert_status(201);
    let new_key = format!("{}:{}", issued.body["login"].as_str().unwrap(), issued.body["secret_key"].as_str().unwrap());
    app.get("/v2/cards", &old_key).await.assert_status(401);
    app.get("/v2/cards", &new_key).await.assert_status(200);
    let path = format!("/_operator/organizations/{}/api_key", org.id());
    operator(&app, Method::DELETE, &path, None).await.assert_status(204);
    app.get("/v2/cards", &new_key).await.assert_status(401);
    operator(&app, Method::DELETE, &path, None).await.assert_status(404);
}

#[tokio::test]
async fn operator_inputs_are_checked_with_pointers() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let accounts = format!("/_operator/organizations/{}/bank_accounts", org.id());
    let members = format!("/_operator/organizations/{}/memberships", org.id());
    for (path, body, pointer) in [
        (&accounts, json!({}), "/name"),
        (&accounts, json!({"name": "X", "balance": -1}), "/balance"),
        (&members, json!({"first_name": "A", "last_name": "B"}), "/role"),
        (&members, json!({"first_name": "A", "last_name": "B", "role": "king"}), "/role"),
        (&members, json!({"first_name": "A", "last_name": "B", "role": "admin", "email": "nope"}), "/email"),
    ] {
        let r = operator(&app, Method::POST, path, Some(body.clone())).await;
        r.assert_status(422);
        assert_eq!(r.body["errors"][0]["source"]["pointer"], pointer, "{body}");
    }
    let unknown = format!("/_operator/organizations/{}/memberships", uuid::Uuid::new_v4());
    let r = operator(&app, Method::POST, &unknown, Some(json!({"first_name": "A", "last_name": "B", "role": "admin"})))
        .await;
    r.assert_status(404);
    operator(&app, Method::GET, "/_operator/organizations/not-a-uuid", None).await.assert_status(404);
}

#[tokio::test]
async fn the_sandbox_lists_organizations_and_resets_one_to_its_seeded_state() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let owner = org.token(cardinal_domain::Role::Owner);
    let card = org.card(cardinal_domain::Role::Owner, "virtual");
    let listed = app.admin(Method::GET, "/_sandbox/organizations", None).await;
    listed.assert_status(200);
    assert!(listed.body["organizations"].as_array().unwrap().iter().any(|o| o["id"] == org.id()));

    // Change everything a test run changes: a lock, a payment, the clock.
    app.put(&format!("/v2/cards/{card}/lock"), &owner).await.assert_status(200);
    app.put(&format!("/v2/cards/{card}/unlock"), &owner).await;
    let pay = json!({"amount": 12.5, "channel": "online", "merchant": {"name": "Shop", "category": "other", "country": "FR"}});
    app.admin(Method::POST, &format!("/_sandbox/cards/{card}/authorizations"), Some(pay)).await.assert_status(200);
    app.admin(
        Method::POST,
        &format!("/_sandbox/organizations/{}/clock", org.id()),
        Some(json!({"advance_by": 86_400})),
    )
    .await
    .assert_status(200);
    let account = app.get("/v2/bank_accounts", &owner).await.body["bank_accounts"][0].clone();

    let reset = app.admin(Method::POST, &format!("/_sandbox/organizations/{}/reset", org.id()), None).await;
    reset.assert_status(200);
    assert_eq!(reset.body["cards"].as_u64(), Some(org.card_count() as u64));

    let shown = app.get(&format!("/v2/cards/{card}"), &owner).await;
    shown.assert_status(200);
    assert_eq!(shown.card()["status"], "live", "the seeded card is as it was seeded");
    assert_eq!(shown.card()["payment_monthly_spent"], 0);
    let listed = app.get("/v2/cards?per_page=100", &owner).await;
    assert_eq!(listed.body["meta"]["total_count"].as_u64(), Some(org.card_count() as u64));
    let transactions =
        app.get(&format!("/v2/transactions?bank_account_id={}", account["id"].as_str().unwrap()), &owner).await;
    assert_eq!(transactions.body["transactions"], json!([]), "transactions are gone");
    let balance = app.get("/v2/bank_accounts", &owner).await.body["bank_accounts"][0]["balance_cents"].clone();
    assert_eq!(balance, 10_000_000, "the seeded balance is back");
    let events = app.admin(Method::GET, &format!("/_operator/cards/{card}/events"), None).await;
    assert_eq!(events.body["events"].as_array().unwrap().len(), 1, "the trail starts again");
    assert_eq!(events.body["events"][0]["action"], "reset");
}

#[tokio::test]
async fn guessing_the_operator_token_in_production_is_throttled() {
    use cardinal_api::http::rate_limit::{RateLimits, Rule};
    let limits =
        RateLimits { requests: vec![], unauthorized: Some(Rule::parse("3/1h").unwrap()), trusted_proxies: vec![] };
    let app = TestApp::builder().production().rate_limits(limits).build().await;
    // As on /v2: three 401s are allowed, the fourth is the last answered, then 429.
    for _ in 0..4 {
        app.send(Method::GET, "/_operator/organizations", Some("Bearer guess"), None).await.assert_status(401);
    }
    let r = app.send(Method::GET, "/_operator/organizations", Some("Bearer guess"), None).await;
    r.assert_status(429);
    assert_eq!(r.error_code(), "rate_limited");
    // The operator's own token still gets through from that address.
    operator(&app, Method::GET, "/_operator/organizations", None).await.assert_status(200);
}
