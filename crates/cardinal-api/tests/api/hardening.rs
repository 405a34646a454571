//! What an adversarial review broke (issue "Hardening"), each checked on both backends.

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request};
use cardinal_domain::Role::*;
use serde_json::json;

#[tokio::test]
async fn concurrent_clock_advances_all_count() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let org = app.org().await;
    let path = format!("/_sandbox/organizations/{}/clock", org.id());
    let before = app.admin(Method::POST, &path, Some(json!({"advance_by": 0}))).await;
    let start: jiff::Timestamp = before.body["now"].as_str().unwrap().parse().unwrap();
    let advances: Vec<_> = (0..20)
        .map(|_| {
            let (app, path) = (app.clone(), path.clone());
            tokio::spawn(async move { app.admin(Method::POST, &path, Some(json!({"advance_by": 3600}))).await.status })
        })
        .collect();
    for advance in advances {
        assert_eq!(advance.await.unwrap().as_u16(), 200);
    }
    let after = app.admin(Method::POST, &path, Some(json!({"advance_by": 0}))).await;
    let end: jiff::Timestamp = after.body["now"].as_str().unwrap().parse().unwrap();
    let moved = end.duration_since(start).as_secs();
    assert!((20 * 3600..20 * 3600 + 5).contains(&moved), "20 advances of an hour moved the clock {moved} s");
    let huge = app.admin(Method::POST, &path, Some(json!({"advance_by": i64::MAX}))).await;
    huge.assert_status(422);
}

#[tokio::test]
async fn an_api_key_may_not_see_card_numbers() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "virtual");
    let r = app.get(&format!("/v2/cards/{card}/data_view"), &org.api_key()).await;
    r.assert_status(403);
    assert!(r.detail().contains("OAuth access token"), "{}", r.detail());
    let events = app.admin(Method::GET, &format!("/_sandbox/cards/{card}/events"), None).await;
    assert!(events.body["events"].as_array().unwrap().iter().all(|e| e["action"] != "data_view"));
}

#[tokio::test]
async fn a_revoked_token_gets_401_not_a_stored_answer() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let token = org.token(Owner);
    let card = org.card(Owner, "virtual");
    let key = [("x-qonto-idempotency-key", "lock-once")];
    let path = format!("/v2/cards/{card}/lock");
    app.send_with(Method::PUT, &path, &token, None, &key).await.assert_status(200);
    let secret = token.strip_prefix("Bearer ").unwrap();
    app.admin(Method::DELETE, &format!("/_sandbox/tokens/{secret}"), None).await.assert_status(204);
    let replay = app.send_with(Method::PUT, &path, &token, None, &key).await;
    replay.assert_status(401);
    assert!(replay.headers.get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn nul_characters_are_refused_everywhere() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "virtual");
    let r = app
        .patch(&format!("/v2/cards/{card}/nickname"), &org.token(Owner), json!({"card": {"nickname": "a\u{0}b"}}))
        .await;
    r.assert_status(422);
    assert_eq!(r.body["errors"][0]["source"]["pointer"], "/card/nickname");
    let r = app.get("/v2/cards?query=%00zzzz", &org.token(Owner)).await;
    r.assert_status(422);
    assert_eq!(r.body["errors"][0]["source"]["parameter"], "query");
    let r = app.admin(Method::POST, "/_sandbox/organizations", Some(json!({"legal_name": "Nul\u{0} SAS"}))).await;
    r.assert_status(422);
    let pay = json!({"amount": 1, "channel": "online", "merchant": {"name": "x\u{0}", "category": "transport", "country": "FR"}});
    let r = app.admin(Method::POST, &format!("/_sandbox/cards/{card}/authorizations"), Some(pay)).await;
    r.assert_status(422);
    assert_eq!(r.body["errors"][0]["source"]["pointer"], "/merchant/name");
}

#[tokio::test]
async fn odd_numbers_ids_and_schemes_get_the_right_answer() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "standard");
    let r = app
        .patch(&format!("/v2/cards/{card}/limits"), &org.token(Owner), json!({"card": {"payment_daily_limit": 1e-308}}))
        .await;
    r.assert_status(422);
    let r = app.get("/v2/cards?page=4294967296", &org.token(Owner)).await;
    assert_eq!(r.detail(), "page must be between 1 and 4294967295");
    let r = app.get("/v2/cards/%ff", &org.token(Owner)).await;
    r.assert_status(404);
    assert_eq!(r.error_code(), "not_found");
    let r =
        app.send(Method::GET, &format!("/_sandbox/cards/{card}/events"), Some(&format!("BEARER {ADMIN}")), None).await;
    r.assert_status(200);
    let shown = app.get(&format!("/v2/cards/{card}"), &org.token(Owner)).await;
    assert_eq!(shown.headers["content-type"], "application/json; charset=utf-8");
    let missing = app.get("/nowhere", "").await;
    assert_eq!(missing.headers["content-type"], "application/json; charset=utf-8");
    let request =
        Request::builder().uri("/v2/cards").header("authorization", org.token(Owner)).body(Body::empty()).unwrap();
    assert_eq!(app.raw(request).await.headers["content-type"], "application/json; charset=utf-8");
}

/// A body that never sends a byte.
struct Silent;

impl http_body::Body for Silent {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Pending
    }
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_at_once() {
    let app = TestApp::new().await;
    let org = app.org().await;
    for (method, path) in [(Method::POST, "/v2/cards"), (Method::GET, "/v2/cards"), (Method::POST, "/nowhere")] {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", org.token(Owner))
            .header("content-length", "10000000000")
            .body(Body::new(Silent))
            .unwrap();
        let started = std::time::Instant::now();
        let r = tokio::time::timeout(std::time::Duration::from_secs(2), app.raw(request)).await.expect("no wait");
        r.assert_status(413);
        assert_eq!(r.error_code(), "payload_too_large");
        assert_eq!(r.headers["connection"], "close");
        assert!(started.elapsed() < std::time::Duration::from_millis(500), "{path}: {:?}", started.elapsed());
    }
}

/// Another process holding the SQLite file's write lock (a backup, the `sqlite3` shell): a
/// write waits for it about a second (the busy timeout), then answers 503 with Retry-After,
/// having changed nothing; reads go on. Once the lock is gone, the same write succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sqlite_file_answers_503_within_about_a_second() {
    if std::env::var("CARDINAL_TEST_API_BACKEND").is_ok_and(|b| b == "postgres") {
        return; // a SQLite story (PostgreSQL's is crates/cardinal/tests/postgres_hang.rs)
    }
    let app = TestApp::builder().on_disk().build().await;
    let org = app.org().await;
    let card = org.card(Employee, "virtual");
    let other = rusqlite::Connection::open(app.database_path.as_ref().unwrap()).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = std::time::Instant::now();
    let locked = app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await;
    let took = started.elapsed();
    locked.assert_status(503);
    assert!(locked.headers.contains_key("retry-after"));
    assert!(took < std::time::Duration::from_millis(2500), "answered after {took:?}");
    app.get(&format!("/v2/cards/{card}"), &org.token(Owner)).await.assert_status(200);
    other.execute_batch("COMMIT").unwrap();
    let shown = app.get(&format!("/v2/cards/{card}"), &org.token(Owner)).await;
    assert_eq!(shown.card()["status"], "live", "the refused lock changed nothing");
    let again = app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await;
    again.assert_status(200);
    assert_eq!(again.card()["status"], "paused");
}
