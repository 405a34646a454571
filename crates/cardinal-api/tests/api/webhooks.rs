//! Webhooks end to end: a real HTTP receiver on a local port, which checks every signature
//! with its own HMAC code, and the delivery worker running against the test's store.

use crate::support::*;
use axum::http::{HeaderMap, Method, StatusCode};
use cardinal_domain::Role::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const SECRET: &str = "a-receiver-secret-of-at-least-32-characters";

/// What the receiver does with one request.
#[derive(Clone)]
pub(crate) enum Answer {
    Status(u16),
    /// Waits this long, then answers 200.
    Slow(Duration),
    Redirect,
    /// 200 with a body this big.
    Huge(usize),
}

#[derive(Clone, Debug)]
pub(crate) struct Received {
    headers: HeaderMap,
    pub(crate) body: String,
    /// When it arrived.
    pub(crate) at: std::time::Instant,
}

#[derive(Clone, Default)]
pub(crate) struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    /// Answers in order; 200 once they are used up.
    script: Arc<Mutex<VecDeque<Answer>>>,
}

impl Receiver {
    /// Listens on a free local port; returns the callback URL.
    pub(crate) async fn start(&self) -> String {
        let this = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let this = this.clone();
                async move {
                    let at = std::time::Instant::now();
                    this.received.lock().unwrap().push(Received { headers, body, at });
                    let next = this.script.lock().unwrap().pop_front();
                    match next {
                        None => (StatusCode::OK, HeaderMap::new(), "ok".to_owned()),
                        Some(Answer::Status(code)) => {
                            (StatusCode::from_u16(code).unwrap(), HeaderMap::new(), "no".to_owned())
                        }
                        Some(Answer::Slow(wait)) => {
                            tokio::time::sleep(wait).await;
                            (StatusCode::OK, HeaderMap::new(), "late".to_owned())
                        }
                        Some(Answer::Redirect) => {
                            let mut headers = HeaderMap::new();
                            headers.insert("location", "http://127.0.0.1:1/elsewhere".parse().unwrap());
                            (StatusCode::FOUND, headers, String::new())
                        }
                        Some(Answer::Huge(size)) => (StatusCode::OK, HeaderMap::new(), "x".repeat(size)),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://127.0.0.1:{port}/hook")
    }

    fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.script.lock().unwrap().extend(answers);
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (at most 10 s) until `n` requests have arrived.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            if self.received().len() >= n {
                return self.received();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} webhook requests, got {}", self.received().len());
    }
}

/// The receiver's own check of `X-Qonto-Signature: t=<t>,v1=<hex>`.
fn verify(received: &Received, secret: &str) -> Value {
    let header = received.headers["x-qonto-signature"].to_str().unwrap();
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_owned()),
            Some(("v1", value)) => v1 = Some(value.to_owned()),
            _ => {}
        }
    }
    let (t, v1) = (t.expect("t="), v1.expect("v1="));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", received.body).as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v1, expected, "the signature verifies");
    let age = jiff::Timestamp::now().as_second() - t.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "t is the sending time");
    serde_json::from_str(&received.body).unwrap()
}

async fn app_with_worker(delays: Vec<jiff::SignedDuration>) -> TestApp {
    let app = TestApp::builder().webhook_retry_delays(delays).build().await;
    cardinal_api::webhooks::delivery::spawn(app.state.app.clone());
    app
}

pub(crate) async fn subscribe(app: &TestApp, org: &Org, url: &str, types: Value) -> Value {
    let body = json!({"callback_url": url, "types": types, "secret": SECRET, "description": "tests"});
    let r = app.post("/v2/webhook_subscriptions", &org.token(Owner), body).await;
    r.assert_status(201);
    r.body
}

fn short() -> Vec<jiff::SignedDuration> {
    vec![jiff::SignedDuration::from_millis(100); 9]
}

/// An app whose worker delivers (retries 100 ms apart), an organization, and a receiver that
/// gives `script`'s answers first (then 200), subscribed by the owner to `types`.
async fn hooked(types: Value, script: impl IntoIterator<Item = Answer>) -> (TestApp, Org, Receiver) {
    let app = app_with_worker(short()).await;
    let org = app.org().await;
    let receiver = Receiver::default();
    receiver.script(script);
    let url = receiver.start().await;
    subscribe(&app, &org, &url, types).await;
    (app, org, receiver)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_card_event_arrives_once_signed_and_in_order() {
    let app = app_with_worker(short()).await;
    let org = app.org().await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let card = org.card(Employee, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await.assert_status(200);
    let subscription = subscribe(&app, &org, &url, json!(["v1/cards"])).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(receiver.received().is_empty(), "an event from before the subscription is never sent");

    let owner = org.token(Owner);
    let path = |action: &str| format!("/v2/cards/{card}/{action}");
    app.put(&path("unlock"), &owner).await.assert_status(200);
    app.put(&path("lock"), &owner).await.assert_status(200);
    app.put(&path("lock"), &owner).await.assert_status(200); // no change: no event
    app.patch(&path("nickname"), &owner, json!({"card": {"nickname": "hooked"}})).await.assert_status(200);
    let options =
        json!({"card": {"atm_option": false, "nfc_option": true, "online_option": true, "foreign_option": false}});
    app.patch(&path("options"), &owner, options).await.assert_status(200);
    app.patch(&path("limits"), &owner, json!({"card": {"payment_monthly_limit": 1234}})).await.assert_status(200);
    app.patch(&path("restrictions"), &owner, json!({"card": {"active_days": [1, 3, 5]}})).await.assert_status(200);
    app.put(&path("discard"), &owner).await.assert_status(200);
    let physical = org.card(Manager, "standard");
    app.put(&format!("/v2/cards/{physical}/lost"), &owner).await.assert_status(200); // Qonto names no event

    let expected = [
        "unlocked",
        "locked",
        "nickname_updated",
        "options_updated",
        "limits_updated",
        "restrictions_updated",
        "discarded",
    ];
    let received = receiver.wait_for(expected.len()).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.received().len(), expected.len(), "each event once");
    let mut ids = std::collections::HashSet::new();
    for (received, event) in received.iter().zip(expected) {
        let envelope = verify(received, SECRET);
        assert!(ids.insert(envelope["id"].as_str().unwrap().to_owned()));
        assert_eq!(envelope["type"], "v1/cards");
        assert_eq!(envelope["subscription_id"], subscription["id"]);
        assert_eq!(envelope["organization_id"], org.id());
        assert_eq!(envelope["membership_id"], org.member_id(Owner).as_str());
        assert!(envelope["created_at"].as_str().unwrap().ends_with('Z'));
        let data = &envelope["data"];
        assert_eq!(data["event"], event, "events of one card arrive in order");
        assert_eq!(data["id"], card.as_str());
        assert!(
            data["masked_pan"].as_str().unwrap().contains('*') || data["masked_pan"].as_str().unwrap().contains('x')
        );
        assert!(data["atm_monthly_limit"].as_str().unwrap().ends_with(".00"), "limits are decimal strings");
        assert!(data["category_tags"].is_array());
        assert_eq!(data["card_level"], "virtual");
        assert!(received.headers.contains_key("x-cardinal-delivery-id"));
        assert_eq!(received.headers["x-cardinal-attempt"], "1");
    }
    let last = verify(&received[6], SECRET);
    assert_eq!(last["data"]["status"], "discarded");
    assert_eq!(verify(&received[4], SECRET)["data"]["payment_monthly_limit"], "1234.00");
    assert_eq!(verify(&received[5], SECRET)["data"]["active_days"], json!([1, 3, 5]));

    let deliveries =
        app.admin(Method::GET, &format!("/_sandbox/organizations/{}/webhook_deliveries", org.id()), None).await;
    deliveries.assert_status(200);
    assert_eq!(deliveries.body["meta"]["total_count"], 7);
    assert!(deliveries.body["webhook_deliveries"].as_array().unwrap().iter().all(|d| d["status"] == "delivered"));
    assert_eq!(deliveries.body["webhook_deliveries"][0]["event"], "discarded", "newest first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_card_and_an_activated_one_are_reported() {
    let (app, org, receiver) = hooked(json!(["v1/cards", "v1/transactions"]), []).await;
    let body = json!({"card": {"holder_id": org.member_id(Employee), "bank_account_id": org.body["bank_account"]["id"],
        "card_level": "standard", "ship_to_business": true}});
    let created = app.post("/v2/cards", &org.token(Owner), body).await;
    created.assert_status(200);
    let id = created.card()["id"].as_str().unwrap().to_owned();
    app.admin(Method::POST, &format!("/_sandbox/cards/{id}/activate"), None).await.assert_status(200);
    let received = receiver.wait_for(2).await;
    let events: Vec<Value> = received.iter().map(|r| verify(r, SECRET)["data"].clone()).collect();
    assert_eq!((events[0]["event"].as_str(), events[1]["event"].as_str()), (Some("created"), Some("activated")));
    assert_eq!(events[0]["status"], "pending");
    assert_eq!(events[0]["masked_pan"], created.card()["mask_pan"], "the number the card has");
    assert_eq!(events[1]["status"], "live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_twice_gets_the_third_attempt() {
    let (app, org, receiver) = hooked(json!(["v1/cards"]), [Answer::Status(500), Answer::Status(503)]).await;
    let card = org.card(Employee, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await.assert_status(200);
    let received = receiver.wait_for(3).await;
    let attempts: Vec<&str> = received.iter().map(|r| r.headers["x-cardinal-attempt"].to_str().unwrap()).collect();
    assert_eq!(attempts, ["1", "2", "3"]);
    assert_eq!(received[0].body, received[2].body, "the same body on every attempt");
    let delivery = settled_delivery(&app, &org).await;
    assert_eq!(delivery["status"], "delivered");
    let codes: Vec<Value> =
        delivery["attempts_made"].as_array().unwrap().iter().map(|a| a["status_code"].clone()).collect();
    assert_eq!(codes, [json!(500), json!(503), json!(200)]);
    assert!(delivery["body"].as_str().unwrap().contains("\"event\":\"locked\""), "the exact body is shown");
}

/// The organization's newest delivery once it is no longer pending.
pub(crate) async fn settled_delivery(app: &TestApp, org: &Org) -> Value {
    for _ in 0..100 {
        let list =
            app.admin(Method::GET, &format!("/_sandbox/organizations/{}/webhook_deliveries", org.id()), None).await;
        let newest = &list.body["webhook_deliveries"][0];
        if newest["status"] != "pending" {
            let id = newest["id"].as_str().unwrap();
            return app.admin(Method::GET, &format!("/_sandbox/webhook_deliveries/{id}"), None).await.body
                ["webhook_delivery"]
                .clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the delivery stayed pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_redirecting_and_huge_answers_are_failed_attempts_or_cut() {
    let (app, org, _receiver) = hooked(
        json!(["v1/cards"]),
        [Answer::Slow(Duration::from_millis(1500)), Answer::Redirect, Answer::Huge(10_000)],
    )
    .await;
    let card = org.card(Employee, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await.assert_status(200);
    let delivery = settled_delivery(&app, &org).await;
    let attempts = delivery["attempts_made"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert_eq!(attempts[0]["status_code"], Value::Null);
    assert!(attempts[0]["error"].as_str().unwrap().contains("no answer within 1000 ms"));
    assert!(attempts[0]["latency_ms"].as_u64().unwrap() < 1400, "the worker did not wait for the slow answer");
    assert_eq!(attempts[1]["status_code"], 302, "a redirect is not followed");
    assert_eq!(attempts[2]["status_code"], 200);
    assert_eq!(attempts[2]["answer"].as_str().unwrap().len(), 2048, "at most 2 KiB of an answer is read");
    assert_eq!(delivery["status"], "delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_receiver_fails_after_the_last_attempt_and_can_be_retried() {
    let app = app_with_worker(vec![jiff::SignedDuration::from_millis(50); 2]).await;
    let org = app.org().await;
    subscribe(&app, &org, "http://127.0.0.1:1/nobody", json!(["v1/cards"])).await;
    let card = org.card(Employee, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await.assert_status(200);
    let delivery = settled_delivery(&app, &org).await;
    assert_eq!(delivery["status"], "failed");
    assert_eq!(delivery["attempts"], 3, "three attempts with two retry delays");
    assert!(delivery["attempts_made"][0]["error"].as_str().unwrap().to_lowercase().contains("connect"));
    let id = delivery["id"].as_str().unwrap();
    let retried = app.admin(Method::POST, &format!("/_sandbox/webhook_deliveries/{id}/retry"), None).await;
    retried.assert_status(200);
    assert_eq!(retried.body["webhook_delivery"]["status"], "pending");
    let again = settled_delivery(&app, &org).await;
    assert_eq!((again["status"].as_str(), again["attempts"].as_u64()), (Some("failed"), Some(4)));
}

#[tokio::test]
async fn subscriptions_are_managed_as_qonto_answers() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let owner = org.token(Owner);
    let created = app
        .post(
            "/v2/webhook_subscriptions",
            &owner,
            json!({"callback_url": "https://hooks.example.com/q", "types": ["v1/cards"]}),
        )
        .await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(created.body["secret"].as_str().unwrap().starts_with("whsec_"), "generated when not given");
    assert_eq!(created.body["membership_id"], org.member_id(Owner).as_str());
    assert!(created.body.get("subscription").is_none(), "not wrapped");

    let list = app.get("/v2/webhook_subscriptions", &owner).await;
    list.assert_status(200);
    assert_eq!(list.body["subscriptions"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["meta"]["total_count"], 1);
    let listed = list.body["subscriptions"][0].as_object().unwrap();
    assert!(listed.get("secret").is_some_and(Value::is_null), "the secret is shown once: null after");
    assert_eq!(
        app.get("/v2/webhook_subscriptions", &org.token(Admin)).await.body["meta"]["total_count"],
        0,
        "own only"
    );

    let put = json!({"callback_url": "https://hooks.example.com/v2", "types": ["v1/transactions", "v1/cards"]});
    let replaced = app.send(Method::PUT, &format!("/v2/webhook_subscriptions/{id}"), Some(&owner), Some(put)).await;
    replaced.assert_status(200);
    assert_eq!(replaced.body["callback_url"], "https://hooks.example.com/v2");
    assert!(replaced.body.get("description").is_none());
    let shown = app.get(&format!("/v2/webhook_subscriptions/{id}"), &owner).await;
    assert_eq!(shown.body["types"], json!(["v1/transactions", "v1/cards"]));
    let path = format!("/v2/webhook_subscriptions/{id}");
    let described = app.send(Method::PUT, &path, Some(&owner), Some(json!({"description": "only this"}))).await;
    described.assert_status(200);
    assert_eq!(described.body["description"], "only this");
    assert_eq!(described.body["callback_url"], "https://hooks.example.com/v2", "fields not given stay");
    let removed = app.send(Method::PUT, &path, Some(&owner), Some(json!({"description": null}))).await;
    assert!(removed.body.get("description").is_none());
    app.send(Method::PUT, &path, Some(&owner), Some(json!({}))).await.assert_status(422);

    app.send(Method::DELETE, &format!("/v2/webhook_subscriptions/{id}"), Some(&owner), None).await.assert_status(204);
    let gone = app.get(&format!("/v2/webhook_subscriptions/{id}"), &owner).await;
    gone.assert_status(404);
    assert_eq!(gone.body["code"], "not_found", "flat, as Qonto's subscription routes answer");
    assert!(gone.body["detail"].is_string());
}

#[tokio::test]
async fn bad_subscriptions_are_refused() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let post = |token: String, body: Value| {
        let app = &app;
        async move { app.post("/v2/webhook_subscriptions", &token, body).await }
    };
    for url in ["ftp://hooks.example.com/", "http://hooks.example.com/", "not a url", "http://8.8.8.8/hook"] {
        let r = post(org.token(Owner), json!({"callback_url": url, "types": ["v1/cards"]})).await;
        r.assert_status(422);
        assert_eq!(r.body["source"]["pointer"], "/callback_url", "{url}");
    }
    for url in ["http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://localhost/hook", "http://[::1]:8/x"] {
        post(org.token(Owner), json!({"callback_url": url, "types": ["v1/cards"]})).await.assert_status(201);
    }
    let r = post(org.token(Owner), json!({"callback_url": "https://a.example/", "types": ["v1/nothing"]})).await;
    r.assert_status(422);
    assert_eq!(r.body["code"], "not_in_list", "an unknown topic is refused like every value off a list");
    assert_eq!(r.body["source"]["pointer"], "/types/0");
    post(org.token(Owner), json!({"callback_url": "https://a.example/", "types": []})).await.assert_status(422);
    post(org.token(Owner), json!({"callback_url": "https://a.example/"})).await.assert_status(422);
    let short_secret = json!({"callback_url": "https://a.example/", "types": ["v1/cards"], "secret": "short"});
    post(org.token(Owner), short_secret).await.assert_status(422);
    let fine = json!({"callback_url": "https://a.example/", "types": ["v1/cards"]});
    post(org.token(Employee), fine.clone()).await.assert_status(403);
    post(org.api_key(), fine).await.assert_status(403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_settlements_and_reversals_are_reported() {
    let (app, org, receiver) = hooked(json!(["v1/transactions"]), []).await;
    let card = org.card(Employee, "virtual");
    let pay = |amount: f64| json!({"amount": amount, "channel": "online", "merchant": {"name": "Hook Shop", "category": "other", "country": "FR"}});
    let mut ids = Vec::new();
    for amount in [12.5, 7.0] {
        let r = app.admin(Method::POST, &format!("/_sandbox/cards/{card}/authorizations"), Some(pay(amount))).await;
        r.assert_status(200);
        ids.push(r.body["authorization"]["transaction_id"].as_str().unwrap().to_owned());
    }
    app.admin(Method::POST, &format!("/_sandbox/transactions/{}/settle", ids[0]), None).await.assert_status(200);
    app.admin(Method::POST, &format!("/_sandbox/transactions/{}/reverse", ids[1]), None).await.assert_status(200);
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await.assert_status(200); // not subscribed
    let received = receiver.wait_for(4).await;
    let data: Vec<Value> = received
        .iter()
        .map(|r| verify(r, SECRET))
        .map(|e| {
            assert_eq!(e["type"], "v1/transactions");
            e["data"].clone()
        })
        .collect();
    let seen: Vec<(&str, &str, &str)> = data
        .iter()
        .map(|d| (d["event"].as_str().unwrap(), d["id"].as_str().unwrap(), d["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("created", ids[0].as_str(), "pending"),
            ("created", ids[1].as_str(), "pending"),
            ("updated", ids[0].as_str(), "completed"),
            ("updated", ids[1].as_str(), "declined"),
        ]
    );
    assert_eq!(data[0]["amount"], "12.50", "amounts are decimal strings");
    assert_eq!(data[1]["amount"], "7.00");
    assert_eq!(data[0]["subject_type"], "Card");
    assert_eq!(data[2]["settled_balance"], "99987.50");
    assert_eq!(data[0]["side"], "debit");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 4, "the lock is a v1/cards event: not sent to this subscription");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_is_reported_once_by_the_first_read_or_the_clock() {
    let (app, org, receiver) = hooked(json!(["v1/cards"]), []).await;
    let owner = org.token(Owner);
    let card = org.card(Employee, "virtual");

    // Time passes (as real time would, without the control API): the first read that shows the
    // card expired stores it and reports it.
    let org_id: uuid::Uuid = org.id().parse().unwrap();
    let six_years = 6 * 366 * 24 * 3600;
    app.state.store.advance_clock(org_id, cardinal_store::ClockChange::By(six_years)).await.unwrap().unwrap();
    let shown = app.get(&format!("/v2/cards/{card}"), &owner).await;
    shown.assert_status(200);
    assert_eq!(shown.card()["status"], "expired");
    let first = receiver.wait_for(1).await;
    let data = &verify(&first[0], SECRET)["data"];
    assert_eq!(
        (data["event"].as_str(), data["id"].as_str(), data["status"].as_str()),
        (Some("expired"), Some(card.as_str()), Some("expired"))
    );

    // A payment attempt on another card finds it expired too: declined, and reported.
    let paid = org.card(Manager, "virtual");
    let attempt =
        json!({"amount": 5.0, "channel": "online", "merchant": {"name": "Late", "category": "other", "country": "FR"}});
    let declined = app.admin(Method::POST, &format!("/_sandbox/cards/{paid}/authorizations"), Some(attempt)).await;
    assert_eq!(declined.body["authorization"]["decline_reason"], "card_expired");
    let second = receiver.wait_for(2).await;
    assert_eq!(verify(&second[1], SECRET)["data"]["id"], paid.as_str());

    // The clock moves through the control API: every other card it expired is reported now.
    let moved = app
        .admin(Method::POST, &format!("/_sandbox/organizations/{}/clock", org.id()), Some(json!({"advance_by": 1})))
        .await;
    moved.assert_status(200);
    let others = moved.body["cards_expired"].as_u64().unwrap() as usize;
    assert!(others >= 1, "the organization's other cards expired too: {}", moved.body);
    let all = receiver.wait_for(2 + others).await;

    // Reads and clock moves after that report nothing again.
    app.get(&format!("/v2/cards/{card}"), &owner).await.assert_status(200);
    app.get("/v2/cards", &owner).await.assert_status(200);
    let again = app
        .admin(Method::POST, &format!("/_sandbox/organizations/{}/clock", org.id()), Some(json!({"advance_by": 60})))
        .await;
    assert_eq!(again.body["cards_expired"], 0);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.received().len(), all.len(), "each card's expiry once");
    let mut cards = std::collections::HashSet::new();
    for received in &all {
        let data = &verify(received, SECRET)["data"];
        assert_eq!(data["event"], "expired");
        assert!(cards.insert(data["id"].as_str().unwrap().to_owned()), "one event per card");
    }
    let events = app.admin(Method::GET, &format!("/_sandbox/cards/{card}/events"), None).await;
    let actions: Vec<&str> =
        events.body["events"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "expire").count(), 1, "audited once: {actions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_failure_is_a_failed_attempt() {
    let app = app_with_worker(vec![jiff::SignedDuration::from_millis(50); 1]).await;
    let org = app.org().await;
    let receiver = Receiver::default();
    // https to a receiver that speaks plain http: the handshake fails.
    let url = receiver.start().await.replace("http://", "https://");
    subscribe(&app, &org, &url, json!(["v1/cards"])).await;
    let card = org.card(Employee, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await.assert_status(200);
    let delivery = settled_delivery(&app, &org).await;
    assert_eq!((delivery["status"].as_str(), delivery["attempts"].as_u64()), (Some("failed"), Some(2)));
    let error = delivery["attempts_made"][0]["error"].as_str().unwrap().to_lowercase();
    assert!(error.starts_with("tls failed"), "{error}");
    assert_eq!(delivery["attempts_made"][0]["status_code"], Value::Null);
}

/// Qonto shows a subscription's secret only in the create answer; reads and replacements carry
/// the key with `null` (strict clients require it), the list's items too.
#[tokio::test]
async fn only_the_create_answer_shows_the_secret() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let owner = org.token(cardinal_domain::Role::Owner);
    let hook = serde_json::json!({"callback_url": "http://127.0.0.1:9/hook", "types": ["v1/cards"]});
    let made = app.post("/v2/webhook_subscriptions", &owner, hook).await;
    made.assert_status(201);
    assert!(made.body["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")));
    let id = made.body["id"].as_str().unwrap();
    let shown = app.get(&format!("/v2/webhook_subscriptions/{id}"), &owner).await;
    assert!(shown.body.as_object().unwrap().get("secret").is_some_and(|s| s.is_null()), "{}", shown.text);
    let replaced = app
        .send(
            axum::http::Method::PUT,
            &format!("/v2/webhook_subscriptions/{id}"),
            Some(&owner),
            Some(serde_json::json!({"types": ["v1/transactions"]})),
        )
        .await;
    replaced.assert_status(200);
    assert!(replaced.body.as_object().unwrap().get("secret").is_some_and(|s| s.is_null()), "{}", replaced.text);
    let listed = app.get("/v2/webhook_subscriptions", &owner).await;
    assert!(listed.body["subscriptions"][0].as_object().unwrap().get("secret").is_some_and(|s| s.is_null()));
}
