//! Card requests (spec §9): asked by employees and managers, seen by who may see them,
//! approved with SCA (the card issued to the requester with the requested budget) or
//! declined, once; every refusal writes nothing.

use crate::support::*;
use axum::http::Method;
use cardinal_domain::Role::*;
use serde_json::{json, Value};

fn virtual_ask(monthly: &str) -> Value {
    json!({"request_virtual_card": {"note": "for the offsite", "payment_monthly_limit": monthly}})
}

async fn ask(app: &TestApp, org: &Org, role: cardinal_domain::Role, body: Value) -> Response {
    let path = if body.get("request_flash_card").is_some() {
        "/v2/requests/flash_cards"
    } else {
        "/v2/requests/virtual_cards"
    };
    app.post(path, &org.token(role), body).await
}

async fn approve(app: &TestApp, org: &Org, id: &str) -> Response {
    let path = format!("/v2/requests/virtual_cards/{id}/approve");
    let first = app.post(&path, &org.token(Owner), json!({})).await;
    if first.status.as_u16() != 428 {
        return first;
    }
    let token = first.body["sca_session_token"].as_str().unwrap().to_owned();
    app.send(Method::POST, &format!("/v2/mocked_sca_sessions/{token}/allow"), None, None).await.assert_status(200);
    app.send_with(Method::POST, &path, &org.token(Owner), Some(json!({})), &[("x-qonto-sca-session-token", &token)])
        .await
}

#[tokio::test]
async fn an_employee_asks_an_owner_approves_with_sca_and_the_card_is_theirs() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({"sca_mode": "required"})).await;
    let asked = ask(&app, &org, Employee, virtual_ask("250.00")).await;
    asked.assert_status(200);
    let request = &asked.body["request_virtual_card"];
    assert_eq!((request["status"].as_str(), request["request_type"].as_str()), (Some("pending"), Some("virtual_card")));
    assert_eq!(
        (request["payment_monthly_limit"].as_str(), request["currency"].as_str()),
        (Some("250.00"), Some("EUR"))
    );
    assert_eq!(request["initiator_id"], org.member_id(Employee).as_str());
    assert!(request["approver_id"].is_null() && request["processed_at"].is_null());
    let id = request["id"].as_str().unwrap().to_owned();

    let virtual_cards = "/v2/cards?card_levels[]=virtual&per_page=100";
    let before = app.get(virtual_cards, &org.token(Employee)).await.body["meta"]["total_count"].as_u64().unwrap();
    let approved = approve(&app, &org, &id).await;
    approved.assert_status(200);
    let request = &approved.body["request_virtual_card"];
    assert_eq!(
        (request["status"].as_str(), request["approver_id"].as_str()),
        (Some("approved"), Some(org.member_id(Owner).as_str()))
    );
    let cards = app.get(virtual_cards, &org.token(Employee)).await;
    assert_eq!(cards.body["meta"]["total_count"].as_u64().unwrap(), before + 1, "one card issued");
    let issued: Vec<&Value> =
        cards.body["cards"].as_array().unwrap().iter().filter(|c| c["payment_monthly_limit"] == 250).collect();
    assert_eq!(issued.len(), 1, "the requester holds a card with the requested limit");
    assert_eq!(issued[0]["holder_id"], org.member_id(Employee).as_str());

    // Settled once: neither approved nor declined again.
    let again = app.post(&format!("/v2/requests/virtual_cards/{id}/approve"), &org.token(Owner), json!({})).await;
    again.assert_status(422);
    let declined = app.post(&format!("/v2/requests/virtual_cards/{id}/decline"), &org.token(Admin), json!({})).await;
    declined.assert_status(422);
}

#[tokio::test]
async fn a_decline_carries_its_note_and_issues_nothing() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let future = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48)).to_string();
    let flash = json!({"request_flash_card": {"note": "conference", "payment_lifespan_limit": "120.50", "pre_expires_at": future}});
    let asked = ask(&app, &org, Manager, flash).await;
    asked.assert_status(200);
    let request = &asked.body["request_flash_card"];
    assert_eq!(
        (request["request_type"].as_str(), request["payment_lifespan_limit"].as_str()),
        (Some("flash_card"), Some("120.50"))
    );
    let id = request["id"].as_str().unwrap();
    let cards_before = app.get("/v2/cards", &org.token(Owner)).await.body["meta"]["total_count"].clone();
    let declined = app
        .post(
            &format!("/v2/requests/flash_cards/{id}/decline"),
            &org.token(Admin),
            json!({"declined_note": "no budget"}),
        )
        .await;
    declined.assert_status(200);
    let request = &declined.body["request_flash_card"];
    assert_eq!((request["status"].as_str(), request["declined_note"].as_str()), (Some("declined"), Some("no budget")));
    assert_eq!(app.get("/v2/cards", &org.token(Owner)).await.body["meta"]["total_count"], cards_before);
    let listed = app.get("/v2/requests?status[]=declined", &org.token(Owner)).await;
    assert_eq!(listed.body["requests"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["meta"]["total_count"], 1);
}

#[tokio::test]
async fn each_role_sees_and_does_what_the_table_says() {
    let app = TestApp::new().await;
    let org = app.org().await;
    ask(&app, &org, Employee, virtual_ask("100")).await.assert_status(200);
    // A minute later on the organization's clock: the two are ordered by their creation.
    let clock = format!("/_sandbox/organizations/{}/clock", org.id());
    app.admin(Method::POST, &clock, Some(json!({"advance_by": 60}))).await.assert_status(200);
    ask(&app, &org, Manager, virtual_ask("200")).await.assert_status(200);
    let count = |r: Response| r.body["requests"].as_array().map(Vec::len).unwrap_or(99);
    assert_eq!(count(app.get("/v2/requests", &org.token(Owner)).await), 2);
    assert_eq!(count(app.get("/v2/requests", &org.token(Employee)).await), 1, "an employee sees their own");
    assert_eq!(count(app.get("/v2/requests", &org.token(Manager)).await), 2, "a manager sees their team's");
    let refused = ask(&app, &org, Owner, virtual_ask("100")).await;
    refused.assert_status(403);
    let id = app.get("/v2/requests", &org.token(Owner)).await.body["requests"][0]["id"].as_str().unwrap().to_owned();
    let by_employee =
        app.post(&format!("/v2/requests/virtual_cards/{id}/approve"), &org.token(Employee), json!({})).await;
    by_employee.assert_status(403);
    let by_manager =
        app.post(&format!("/v2/requests/virtual_cards/{id}/decline"), &org.token(Manager), json!({})).await;
    by_manager.assert_status(403);
    assert_eq!(count(app.get("/v2/requests?status[]=pending", &org.token(Owner)).await), 2, "nothing was settled");
    let sorted = app.get("/v2/requests?sort_by=created_at:asc", &org.token(Owner)).await;
    assert_eq!(sorted.body["requests"][0]["payment_monthly_limit"], "100.00");
}

#[tokio::test]
async fn bad_requests_are_refused_at_their_field_and_nothing_is_kept() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let too_much = ask(&app, &org, Employee, virtual_ask("20000.01")).await;
    too_much.assert_status(422);
    assert!(too_much.text.contains("/request_virtual_card/payment_monthly_limit"), "{}", too_much.text);
    let not_money = ask(&app, &org, Employee, virtual_ask("lots")).await;
    not_money.assert_status(422);
    let past =
        json!({"request_flash_card": {"payment_lifespan_limit": "50", "pre_expires_at": "2020-01-01T00:00:00Z"}});
    let expired = ask(&app, &org, Employee, past).await;
    expired.assert_status(422);
    assert!(expired.text.contains("/request_flash_card/pre_expires_at"), "{}", expired.text);
    assert_eq!(app.get("/v2/requests", &org.token(Owner)).await.body["meta"]["total_count"], 0);
    let unknown = uuid::Uuid::new_v4();
    app.post(&format!("/v2/requests/virtual_cards/{unknown}/decline"), &org.token(Owner), json!({}))
        .await
        .assert_status(404);
    app.post(&format!("/v2/requests/transfers/{unknown}/decline"), &org.token(Owner), json!({}))
        .await
        .assert_status(404);
    // Another organization's request is not found; a request named under the wrong type neither.
    let asked = ask(&app, &org, Employee, virtual_ask("100")).await;
    let id = asked.body["request_virtual_card"]["id"].as_str().unwrap().to_owned();
    let other = app.org().await;
    app.post(&format!("/v2/requests/virtual_cards/{id}/decline"), &other.token(Owner), json!({}))
        .await
        .assert_status(404);
    app.post(&format!("/v2/requests/flash_cards/{id}/decline"), &org.token(Owner), json!({})).await.assert_status(404);
    assert_eq!(app.get("/v2/requests", &other.token(Owner)).await.body["meta"]["total_count"], 0);
}
