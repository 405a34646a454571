//! The sandbox's request log (spec §10): each organization's last `/v2` requests, found by
//! request id, status and path, with bodies cut and secrets never kept, and streamed live.

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request};
use cardinal_domain::Role::*;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::time::Duration;
use tower::ServiceExt;

async fn logged(app: &TestApp, org: &Org, query: &str, at_least: usize) -> Vec<Value> {
    for _ in 0..200 {
        let r = app.admin(Method::GET, &format!("/_sandbox/organizations/{}/requests?{query}", org.id()), None).await;
        r.assert_status(200);
        let found = r.body["requests"].as_array().unwrap().clone();
        if found.len() >= at_least {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("fewer than {at_least} requests logged for {query}");
}

#[tokio::test]
async fn a_failed_request_is_found_by_its_request_id() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let missing = format!("/v2/cards/{}", uuid::Uuid::new_v4());
    let failed = app.get(&missing, &org.token(Employee)).await;
    failed.assert_status(404);
    let id = failed.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(failed.body["trace_id"], id.as_str());
    let found = logged(&app, &org, &format!("request_id={id}"), 1).await;
    assert_eq!(found.len(), 1);
    let entry = &found[0];
    assert_eq!((entry["method"].as_str(), entry["path"].as_str()), (Some("GET"), Some(missing.as_str())));
    assert_eq!((entry["route"].as_str(), entry["status"].as_u64()), (Some("/v2/cards/{id}"), Some(404)));
    assert_eq!(entry["credential"], "access_token");
    assert_eq!(entry["membership_id"], org.member_id(Employee).as_str());
    assert!(entry["latency_ms"].as_f64().unwrap() > 0.0);
    assert!(entry["response_body"]["text"].as_str().unwrap().contains("not_found"));
    let by_status = logged(&app, &org, "status=4xx&path=/v2/cards/", 1).await;
    assert!(by_status.iter().all(|e| e["status"].as_u64().unwrap() / 100 == 4));
    let none = app.admin(Method::GET, &format!("/_sandbox/organizations/{}/requests?status=2xx", org.id()), None).await;
    assert_eq!(none.body["requests"], json!([]));
    let bad =
        app.admin(Method::GET, &format!("/_sandbox/organizations/{}/requests?status=teapot", org.id()), None).await;
    assert_eq!(bad.status.as_u16(), 422);
}

#[tokio::test]
async fn bodies_are_kept_cut_and_never_hold_secrets() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Employee, "virtual");
    let renamed = app
        .send_with(
            Method::PATCH,
            &format!("/v2/cards/{card}/nickname"),
            &org.token(Admin),
            Some(json!({"card": {"nickname": "Travel"}})),
            &[("content-type", "application/json"), ("x-qonto-idempotency-key", "key-0123456789")],
        )
        .await;
    renamed.assert_status(200);
    let link = app.get(&format!("/v2/cards/{card}/data_view"), &org.token(Employee)).await;
    link.assert_status(200);
    let hook = json!({"callback_url": "http://127.0.0.1:9/hook", "types": ["v1/cards"], "secret": "s".repeat(40)});
    let subscribed = app.post("/v2/webhook_subscriptions", &org.token(Owner), hook).await;
    subscribed.assert_status(201);
    let padded = json!({"card": {"nickname": "p".repeat(20_000)}});
    app.patch(&format!("/v2/cards/{card}/nickname"), &org.token(Admin), padded).await.assert_status(422);

    let all = logged(&app, &org, "per_page=100", 4).await;
    let nickname = all.iter().find(|e| e["idempotency_key"] == "key-0123456789").expect("the PATCH");
    assert_eq!(nickname["request_body"]["text"], r#"{"card":{"nickname":"Travel"}}"#);
    assert!(nickname["response_body"]["text"].as_str().unwrap().contains("Travel"));
    let view = all.iter().find(|e| e["route"] == "/v2/cards/{id}/data_view").unwrap();
    assert!(view["response_body"]["withheld"].is_string() && view["response_body"]["text"].is_null());
    let subscription = all.iter().find(|e| e["route"] == "/v2/webhook_subscriptions").unwrap();
    assert!(
        subscription["request_body"]["withheld"].is_string() && subscription["response_body"]["withheld"].is_string()
    );
    let cut = all.iter().find(|e| e["status"] == 422).unwrap();
    assert_eq!(cut["request_body"]["truncated"], true);
    assert_eq!(cut["request_body"]["text"].as_str().unwrap().len(), 16 * 1024);

    let everything = serde_json::to_string(&all).unwrap();
    let iframe = link.body["iframe_url"].as_str().unwrap();
    let token = iframe.rsplit('/').next().unwrap().split('?').next().unwrap();
    for secret in [token, &"s".repeat(40), subscribed.body["secret"].as_str().unwrap()] {
        assert!(!everything.contains(secret), "a secret was kept");
    }
    for role in [Owner, Admin, Employee] {
        let bearer = org.token(role);
        assert!(!everything.contains(bearer.trim_start_matches("Bearer ")), "a token was kept");
    }
}

#[tokio::test]
async fn each_organization_sees_its_own_and_unauthenticated_requests_are_nobodys() {
    let app = TestApp::new().await;
    let (a, b) = (app.org().await, app.org().await);
    app.get("/v2/cards", &a.token(Owner)).await.assert_status(200);
    app.get("/v2/cards", "Bearer not-a-token").await.assert_status(401);
    app.get("/v2/organization", &b.token(Owner)).await.assert_status(200);
    let in_a = logged(&app, &a, "", 1).await;
    assert!(in_a.iter().all(|e| e["path"] == "/v2/cards" && e["status"] == 200), "{in_a:?}");
    let in_b = logged(&app, &b, "", 1).await;
    assert!(in_b.iter().all(|e| e["path"] == "/v2/organization"), "{in_b:?}");
    let path = format!("/_operator/organizations/{}", a.id());
    app.admin(Method::DELETE, &path, None).await.assert_status(204);
    let gone = app.admin(Method::GET, &format!("/_sandbox/organizations/{}/requests", a.id()), None).await;
    gone.assert_status(404);
}

#[tokio::test]
async fn a_production_server_keeps_no_request_log() {
    let app = TestApp::builder().production().build().await;
    let org = app.org().await;
    app.get("/v2/cards", &org.token(Owner)).await.assert_status(200);
    let page = cardinal_store::PageRequest { page: 1, per_page: 10 };
    let org_id = uuid::Uuid::parse_str(org.id()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(app.state.app.requests.page(org_id, &Default::default(), page).total, 0);
    let route = format!("/_sandbox/organizations/{}/requests", org.id());
    let r = app.send(Method::GET, &route, Some(&format!("Bearer {ADMIN}")), None).await;
    r.assert_status(404);
}

#[tokio::test]
async fn new_requests_stream_as_server_sent_events() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let router = cardinal_api::router(app.state.clone());
    let stream = Request::builder()
        .uri(format!("/_sandbox/organizations/{}/requests/stream?status=4xx", org.id()))
        .header("authorization", format!("Bearer {ADMIN}"))
        .body(Body::empty())
        .unwrap();
    let response = router.oneshot(stream).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut body = response.into_body();
    app.get("/v2/cards", &org.token(Owner)).await.assert_status(200);
    let missing = app.get(&format!("/v2/cards/{}", uuid::Uuid::new_v4()), &org.token(Owner)).await;
    let id = missing.headers["x-request-id"].to_str().unwrap().to_owned();
    let mut seen = String::new();
    while !seen.contains(&id) {
        let frame =
            tokio::time::timeout(Duration::from_secs(5), body.frame()).await.expect("an event").unwrap().unwrap();
        if let Some(data) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
        }
    }
    assert!(seen.starts_with("event: request\n"), "{seen}");
    assert!(!seen.contains(r#""status":200"#), "the filter applies: {seen}");
}
