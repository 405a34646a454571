//! Webhooks shared fairly: one organization flooding receivers that hang cannot starve
//! another's deliveries; a receiver that keeps failing is slowed, then disabled, and the control
//! API shows it; an organization's subscriptions are capped.

use crate::support::*;
use crate::webhooks::{subscribe, Receiver};
use axum::http::Method;
use cardinal_domain::Role::*;
use cardinal_store::HealthRules;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A receiver that accepts connections and never answers; answers its callback URL.
async fn hanging_receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://127.0.0.1:{port}/hangs")
}

/// Locks or unlocks `card` (whichever changes it), so that every call reports an event.
async fn toggle(app: &TestApp, org: &Org, card: &str, locked: bool) {
    let action = if locked { "unlock" } else { "lock" };
    app.put(&format!("/v2/cards/{card}/{action}"), &org.token(Owner)).await.assert_status(200);
}

/// Changes `org`'s card `n` times, `every` apart, and answers when each change was answered.
async fn changes(app: &TestApp, org: &Org, card: &str, n: usize, every: Duration) -> Vec<Instant> {
    let mut answered = Vec::new();
    for i in 0..n {
        toggle(app, org, card, i % 2 == 1).await;
        answered.push(Instant::now());
        tokio::time::sleep(every).await;
    }
    answered
}

/// How long each change took to reach the receiver (a card's events arrive in order).
async fn latencies(receiver: &Receiver, answered: &[Instant], before: usize) -> Vec<Duration> {
    let received = receiver.wait_for(before + answered.len()).await;
    let mut took: Vec<Duration> =
        received[before..].iter().zip(answered).map(|(r, sent)| r.at.saturating_duration_since(*sent)).collect();
    took.sort();
    took
}

fn p99(sorted: &[Duration]) -> Duration {
    sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)]
}

/// 25 subscriptions (the cap) of one organization to receivers that hang, and 20 new cards a
/// second there (500 deliveries a second, each holding an attempt slot for its full second),
/// while another organization's card changes every 200 ms. Slowing failing subscriptions is
/// turned off here, so the caps alone are measured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_organization_does_not_starve_another() {
    let never_slowed = HealthRules { slow_after: u32::MAX, ..HealthRules::default() };
    let app = std::sync::Arc::new(TestApp::builder().webhook_health(never_slowed).build().await);
    cardinal_api::webhooks::delivery::spawn(app.state.app.clone());
    let (flood, quiet) = (app.org().await, app.org().await);
    let receiver = Receiver::default();
    subscribe(&app, &quiet, &receiver.start().await, json!(["v1/cards"])).await;
    let card = quiet.card(Employee, "virtual");

    let alone = latencies(&receiver, &changes(&app, &quiet, &card, 10, Duration::from_millis(200)).await, 0).await;

    let hanging = hanging_receiver().await;
    for i in 0..25 {
        subscribe(&app, &flood, &format!("{hanging}?n={i}"), json!(["v1/cards"])).await;
    }
    let flooding = {
        let (app, flood) = (app.clone(), Org { body: flood.body.clone() });
        tokio::spawn(async move {
            // A new card each time: each event is the head of its own queue (a card's events
            // reach a subscription in order), so every one of them wants a slot at once.
            let card = json!({"card": {"holder_id": flood.member_id(Owner), "card_level": "virtual",
                "bank_account_id": flood.body["bank_account"]["id"], "payment_monthly_limit": 100}});
            for _ in 0..160 {
                app.post("/v2/cards", &flood.token(Owner), card.clone()).await.assert_status(200);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await; // the flood's backlog builds up first
    let answered = changes(&app, &quiet, &card, 30, Duration::from_millis(200)).await;
    let flooded = latencies(&receiver, &answered, alone.len()).await;
    flooding.await.unwrap();
    eprintln!(
        "the quiet organization's deliveries: alone p99 {:?} (max {:?}); beside the flood p99 {:?} (max {:?}, median {:?})",
        p99(&alone),
        alone.last().unwrap(),
        p99(&flooded),
        flooded.last().unwrap(),
        flooded[flooded.len() / 2]
    );
    assert!(p99(&flooded) < Duration::from_secs(2), "p99 {:?} beside the flood", p99(&flooded));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_is_slowed_then_disabled_and_the_control_api_shows_it() {
    let rules = HealthRules {
        slow_after: 3,
        first_pause: jiff::SignedDuration::from_millis(300),
        disable_after: jiff::SignedDuration::from_secs(2),
        ..HealthRules::default()
    };
    let app = TestApp::builder()
        .webhook_health(rules)
        .webhook_retry_delays(vec![jiff::SignedDuration::from_millis(100); 9])
        .build()
        .await;
    cardinal_api::webhooks::delivery::spawn(app.state.app.clone());
    let org = app.org().await;
    let made = subscribe(&app, &org, "http://127.0.0.1:1/nobody", json!(["v1/cards"])).await;
    let id = made["id"].as_str().unwrap();
    let view = format!("/_sandbox/organizations/{}/webhook_subscriptions", org.id());
    let card = org.card(Employee, "virtual");
    let mut seen = Vec::new();
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(20) {
        toggle(&app, &org, &card, i % 2 == 1).await;
        i += 1;
        let shown = app.admin(Method::GET, &view, None).await.body["webhook_subscriptions"][0].clone();
        let state = shown["state"].as_str().unwrap().to_owned();
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if state == "disabled" {
            assert!(shown["disabled_at"].is_string() && shown["failing_since"].is_string(), "{shown}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, ["active", "slowed", "disabled"], "as the failures went on");
    let deliveries = format!("/_sandbox/organizations/{}/webhook_deliveries", org.id());
    let pending = app.admin(Method::GET, &format!("{deliveries}?status=pending"), None).await;
    assert_eq!(pending.body["meta"]["total_count"], 0, "a disabled subscription's deliveries are failed");
    let before = app.admin(Method::GET, &deliveries, None).await.body["meta"]["total_count"].clone();
    toggle(&app, &org, &card, i % 2 == 1).await;
    let after = app.admin(Method::GET, &deliveries, None).await.body["meta"]["total_count"].clone();
    assert_eq!(before, after, "no delivery is made for a disabled subscription");

    let path = format!("/v2/webhook_subscriptions/{id}");
    let put = app.send(Method::PUT, &path, Some(&org.token(Owner)), Some(json!({"description": "fixed"}))).await;
    put.assert_status(200);
    let shown = app.admin(Method::GET, &view, None).await;
    assert_eq!(shown.body["webhook_subscriptions"][0]["state"], "active", "the owner's update enables it");
    let enable = format!("{view}/{id}/enable");
    let enabled = app.admin(Method::POST, &enable, None).await;
    enabled.assert_status(200);
    assert_eq!(enabled.body["webhook_subscription"]["consecutive_failures"], 0);
    app.admin(Method::POST, &format!("{view}/{}/enable", uuid::Uuid::new_v4()), None).await.assert_status(404);
}

#[tokio::test]
async fn an_organization_has_at_most_25_subscriptions() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let body = |i: usize, by: &str| json!({"callback_url": format!("https://hooks.example.com/{by}/{i}"), "types": ["v1/cards"]});
    let mut ids = Vec::new();
    for i in 0..25 {
        let by = if i % 2 == 0 { Owner } else { Admin };
        let r = app.post("/v2/webhook_subscriptions", &org.token(by), body(i, "x")).await;
        r.assert_status(201);
        ids.push((by, r.body["id"].as_str().unwrap().to_owned()));
    }
    let refused = app.post("/v2/webhook_subscriptions", &org.token(Owner), body(25, "x")).await;
    refused.assert_status(422);
    assert_eq!(refused.body["code"], "limit_reached");
    assert!(refused.body["detail"].as_str().unwrap().contains("25"), "{}", refused.text);
    let other = app.org().await;
    app.post("/v2/webhook_subscriptions", &other.token(Owner), body(0, "y")).await.assert_status(201);
    let (by, id) = &ids[0];
    let deleted =
        app.send(Method::DELETE, &format!("/v2/webhook_subscriptions/{id}"), Some(&org.token(*by)), None).await;
    deleted.assert_status(204);
    app.post("/v2/webhook_subscriptions", &org.token(Owner), body(26, "x")).await.assert_status(201);
    let listed: Value =
        app.admin(Method::GET, &format!("/_sandbox/organizations/{}/webhook_subscriptions", org.id()), None).await.body;
    assert_eq!(listed["meta"]["total_count"], 25, "every member's, in the control API");
}

/// A subscription belongs to its organization and its maker (at Qonto: the OAuth application
/// and the organization), not to the access token that made it: revoking that token, even the
/// maker's only one, leaves it delivering (docs/decisions.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_the_subscribers_token_leaves_its_subscription_delivering() {
    let app = TestApp::builder().build().await;
    cardinal_api::webhooks::delivery::spawn(app.state.app.clone());
    let org = app.org().await;
    let receiver = Receiver::default();
    subscribe(&app, &org, &receiver.start().await, json!(["v1/cards"])).await;
    let token = org.token(Owner);
    let secret = token.strip_prefix("Bearer ").unwrap();
    app.admin(Method::DELETE, &format!("/_sandbox/tokens/{secret}"), None).await.assert_status(204);
    app.get("/v2/webhook_subscriptions", &token).await.assert_status(401);
    let card = org.card(Employee, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Admin)).await.assert_status(200);
    let received = receiver.wait_for(1).await;
    assert!(received[0].body.contains("\"locked\""), "still delivered: {}", received[0].body);
}
