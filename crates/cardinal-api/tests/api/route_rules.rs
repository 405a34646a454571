//! The rules each route declares in the table, walked route by route: every `/v2` route names
//! its scope, a token without that scope is refused on every one of them, and every route with
//! an SCA step answers 428 before it changes anything.

use crate::support::*;
use axum::http::Method;
use cardinal_api::routes::{operations, Surface};
use cardinal_domain::Role::*;
use serde_json::{json, Value};

/// `/v2` routes that any credential may call, whatever its scopes: Qonto names no scope for
/// polling an SCA session (its token is the key).
const ANY_CREDENTIAL: &[&str] = &["getScaSession"];

#[test]
fn every_qonto_route_declares_its_scope() {
    for (op, _) in operations() {
        if op.surface == Surface::Qonto && !ANY_CREDENTIAL.contains(&op.operation_id) {
            assert!(op.scope.is_some(), "{} {} declares no scope", op.method, op.path);
        }
    }
}

/// A request to `path` with ids this organization has (or a fresh one where any id does: the
/// scope is checked before anything is looked up).
fn concrete(path: &str, org: &Org, account: &str) -> String {
    let card = org.card(Owner, "virtual");
    let id = if path.starts_with("/v2/cards/") {
        card
    } else if path.starts_with("/v2/bank_accounts/") {
        account.to_owned()
    } else {
        uuid::Uuid::new_v4().to_string()
    };
    path.replace("{id}", &id).replace("{token}", "x")
}

#[tokio::test]
async fn a_token_without_a_routes_scope_is_refused_on_every_route() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let account = app.get("/v2/bank_accounts", &org.token(Owner)).await.body["bank_accounts"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut walked = 0;
    for (op, _) in operations() {
        let (Surface::Qonto, Some(scope)) = (op.surface, op.scope) else { continue };
        let others: Vec<&str> = cardinal_api::http::auth::scope::ALL.iter().copied().filter(|s| *s != scope).collect();
        let token = app
            .admin(
                Method::POST,
                "/_sandbox/tokens",
                Some(json!({"membership_id": org.member_id(Owner), "scopes": others})),
            )
            .await;
        token.assert_status(201);
        let auth = format!("Bearer {}", token.body["access_token"].as_str().unwrap());
        let method = Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
        let body = (op.method != "get" && op.method != "delete").then(|| json!({}));
        let r = app.send(method, &concrete(op.path, &org, &account), Some(&auth), body).await;
        assert_eq!(r.status.as_u16(), 403, "{} {} without {scope}: {}", op.method, op.path, r.text);
        walked += 1;
    }
    assert!(walked >= 25, "every scoped route was walked ({walked})");
}

/// A valid request to each route with an SCA step, by operation id: a new SCA row without one
/// here fails this test, so no row goes unwalked.
fn sca_request(operation_id: &str, org: &Org, account: &str, request: &str) -> (String, Option<Value>) {
    let card = json!({"holder_id": org.member_id(Owner), "bank_account_id": account, "card_level": "virtual",
        "payment_monthly_limit": 100});
    let id = org.card(Owner, "virtual");
    match operation_id {
        "createCard" => ("/v2/cards".into(), Some(json!({"card": card}))),
        "bulkCreateCards" => ("/v2/cards/bulk".into(), Some(json!({"cards": [{"card": card}]}))),
        "unlockCard" => (format!("/v2/cards/{id}/unlock"), None),
        "updateCardLimits" => (format!("/v2/cards/{id}/limits"), Some(json!({"card": {"payment_monthly_limit": 200}}))),
        "approveRequest" => (format!("/v2/requests/virtual_cards/{request}/approve"), Some(json!({}))),
        other => panic!("the SCA route {other} has no request in this test: add one"),
    }
}

#[tokio::test]
async fn every_sca_route_answers_428_before_it_changes_anything() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({"sca_mode": "required"})).await;
    let owner = org.token(Owner);
    let account =
        app.get("/v2/bank_accounts", &owner).await.body["bank_accounts"][0]["id"].as_str().unwrap().to_owned();
    let asked = json!({"request_virtual_card": {"payment_monthly_limit": "100.00"}});
    let request = app.post("/v2/requests/virtual_cards", &org.token(Employee), asked).await;
    let request = request.body["request_virtual_card"]["id"].as_str().unwrap().to_owned();
    let cards_before = app.get("/v2/cards", &owner).await.body["meta"]["total_count"].clone();
    let mut walked = 0;
    for (op, _) in operations() {
        if op.sca.is_none() {
            continue;
        }
        let (path, body) = sca_request(op.operation_id, &org, &account, &request);
        let method = Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
        let r = app.send(method, &path, Some(&owner), body).await;
        assert_eq!(r.status.as_u16(), 428, "{} {path}: {}", op.method, r.text);
        assert_eq!(r.body["code"], "sca_required", "{}", r.text);
        assert!(r.body["sca_session_token"].is_string());
        walked += 1;
    }
    assert_eq!(walked, 5, "create, bulk create, unlock, limits and a card request's approval need SCA");
    let cards_after = app.get("/v2/cards", &owner).await.body["meta"]["total_count"].clone();
    assert_eq!(cards_before, cards_after, "no card was made");
    let still = app.get("/v2/requests?status[]=pending", &owner).await;
    assert_eq!(still.body["meta"]["total_count"], 1, "the request still waits");
}
