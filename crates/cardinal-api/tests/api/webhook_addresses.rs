//! The address rules of webhooks (server-side request forgery): every class of internal
//! address is refused when a subscription is made and again when an attempt connects, on the
//! address actually dialled; a refused attempt says "address not allowed" and nothing more.

use crate::support::*;
use crate::webhooks::{settled_delivery, subscribe};
use axum::http::Method;
use cardinal_api::webhooks::address::HostResolver;
use cardinal_domain::Role::*;
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// DNS as the test scripts it: each name gives its answers in turn, the last one for good;
/// other names go to the system's resolver (`localhost`).
#[derive(Default)]
struct ScriptedDns(Mutex<HashMap<String, VecDeque<Vec<IpAddr>>>>);

impl ScriptedDns {
    fn answer(self: &Arc<Self>, name: &str, answers: &[&[&str]]) -> Arc<Self> {
        let parsed = answers.iter().map(|a| a.iter().map(|ip| ip.parse().unwrap()).collect()).collect();
        self.0.lock().unwrap().insert(name.to_owned(), parsed);
        self.clone()
    }
}

impl HostResolver for ScriptedDns {
    fn lookup(&self, host: &str) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        let scripted = self.0.lock().unwrap().get_mut(host).map(|answers| match answers.len() {
            0 | 1 => answers.front().cloned().unwrap_or_default(),
            _ => answers.pop_front().unwrap_or_default(),
        });
        match scripted {
            Some(found) => Box::pin(async move { Ok(found) }),
            None => cardinal_api::webhooks::address::SystemResolver.lookup(host),
        }
    }
}

/// A TCP port that counts the connections made to it (and closes them).
async fn counting_port() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (port, count)
}

async fn create(app: &TestApp, org: &Org, url: &str) -> Response {
    app.post("/v2/webhook_subscriptions", &org.token(Owner), json!({"callback_url": url, "types": ["v1/cards"]})).await
}

#[tokio::test]
async fn production_refuses_every_internal_address_when_subscribing() {
    let dns = Arc::new(ScriptedDns::default())
        .answer("internal.example", &[&["127.0.0.1"]])
        .answer("mixed.example", &[&["93.184.216.34", "10.0.0.1"]])
        .answer("metadata.example", &[&["fd00:ec2::254"]])
        .answer("public.example", &[&["93.184.216.34"]]);
    let app = TestApp::builder().production().resolver(dns).build().await;
    let org = app.org().await;
    let refused = [
        "https://127.0.0.1/hook",
        "https://127.0.0.1:8443/hook",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.8/hook",
        "https://172.16.0.1/hook",
        "https://192.168.1.1/hook",
        "https://100.64.0.1/hook",
        "https://0x7f000001/hook",
        "https://2130706433/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://[fc00::1]/hook",
        "https://[fe80::1]/hook",
        "https://internal.example/hook",
        "https://mixed.example/hook",
        "https://metadata.example/hook",
        "https://does-not-resolve.invalid/hook",
        "http://public.example/hook",
        "file:///etc/passwd",
        "data:text/plain,hello",
        "javascript:alert(1)",
        "mailto:ops@public.example",
    ];
    for url in refused {
        let r = create(&app, &org, url).await;
        assert_eq!(r.status, 422, "{url} must be refused: {}", r.text);
        assert_eq!(r.body["source"]["pointer"], "/callback_url", "{url}");
        assert!(!r.text.contains("127.0.0.1") || url.contains("127.0.0.1"), "no resolved address is shown: {}", r.text);
    }
    let made = create(&app, &org, "https://public.example/hook").await;
    made.assert_status(201);
    let path = format!("/v2/webhook_subscriptions/{}", made.body["id"].as_str().unwrap());
    for url in ["https://internal.example/x", "https://10.0.0.1/x", "javascript:alert(1)"] {
        let r = app.send(Method::PUT, &path, Some(&org.token(Owner)), Some(json!({"callback_url": url}))).await;
        assert_eq!(r.status, 422, "an update to {url} is refused too");
    }
}

#[tokio::test]
async fn the_sandbox_keeps_local_receivers_but_never_metadata_or_host_less_urls() {
    let dns = Arc::new(ScriptedDns::default()).answer("metadata.example", &[&["169.254.169.254"]]);
    let app = TestApp::builder().resolver(dns).build().await;
    let org = app.org().await;
    for url in ["http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://localhost/hook", "https://offline.example/"]
    {
        create(&app, &org, url).await.assert_status(201);
    }
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "https://metadata.example/",
        "file:///etc/passwd",
        "data:text/plain,hello",
        "javascript:alert(1)",
    ] {
        let r = create(&app, &org, url).await;
        assert_eq!(r.status, 422, "{url}: {}", r.text);
    }
}

#[tokio::test]
async fn an_operator_names_the_internal_networks_webhooks_may_call() {
    let app = TestApp::builder().production().webhook_allow_network("10.1.2.0/24").build().await;
    let org = app.org().await;
    create(&app, &org, "https://10.1.2.3/hook").await.assert_status(201);
    create(&app, &org, "https://10.1.3.3/hook").await.assert_status(422);
    create(&app, &org, "http://10.1.2.3/hook").await.assert_status(422);
}

/// A name that answered a public address when the subscription was made, and loopback when the
/// attempt connects (DNS rebinding): nothing is dialled, and the attempt says why in three words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_address_dialled_is_checked_so_rebinding_gets_nothing() {
    let (port, connections) = counting_port().await;
    let dns = Arc::new(ScriptedDns::default()).answer("rebind.example", &[&["93.184.216.34"], &["127.0.0.1"]]);
    let app = TestApp::builder().production().webhook_retry_delays(vec![]).resolver(dns).build().await;
    cardinal_api::webhooks::delivery::spawn(app.state.app.clone());
    let org = app.org().await;
    subscribe(&app, &org, &format!("https://rebind.example:{port}/hook"), json!(["v1/cards"])).await;
    app.put(&format!("/v2/cards/{}/lock", org.card(Employee, "virtual")), &org.token(Owner)).await.assert_status(200);
    let delivery = settled_delivery(&app, &org).await;
    assert_eq!(delivery["status"], "failed");
    assert_eq!(delivery["attempts_made"][0]["error"], "address not allowed", "nothing about the port or the answer");
    assert_eq!(connections.load(Ordering::SeqCst), 0, "loopback was never dialled");
}

/// A subscription stored before these rules (or by a sandbox on the same database) to a
/// loopback literal: production refuses it at connect time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_internal_literal_is_refused_when_dialled() {
    let (port, connections) = counting_port().await;
    let app = TestApp::builder().production().webhook_retry_delays(vec![]).build().await;
    cardinal_api::webhooks::delivery::spawn(app.state.app.clone());
    let org = app.org().await;
    for url in [format!("http://127.0.0.1:{port}/hook"), format!("http://localhost:{port}/hook")] {
        let body = json!({"callback_url": url, "types": ["v1/cards"]});
        // Through the sandbox twin, whose rules take loopback.
        let twin = cardinal_api::router(app.control.clone());
        let request = axum::http::Request::post("/v2/webhook_subscriptions")
            .header("authorization", org.token(Owner))
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        let response = tower::ServiceExt::oneshot(twin, request).await.unwrap();
        assert_eq!(response.status(), 201, "{url}");
    }
    app.put(&format!("/v2/cards/{}/lock", org.card(Employee, "virtual")), &org.token(Owner)).await.assert_status(200);
    let deliveries = format!("/_sandbox/organizations/{}/webhook_deliveries", org.id());
    let mut settled = Vec::new();
    for _ in 0..100 {
        settled =
            app.admin(Method::GET, &deliveries, None).await.body["webhook_deliveries"].as_array().unwrap().clone();
        if settled.len() == 2 && settled.iter().all(|d| d["status"] != "pending") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(settled.len(), 2);
    for delivery in settled {
        let id = delivery["id"].as_str().unwrap();
        let shown = app.admin(Method::GET, &format!("/_sandbox/webhook_deliveries/{id}"), None).await;
        assert_eq!(shown.body["webhook_delivery"]["status"], "failed");
        assert_eq!(shown.body["webhook_delivery"]["attempts_made"][0]["error"], "address not allowed");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0, "loopback was never dialled");
}
