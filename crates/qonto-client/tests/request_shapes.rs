//! The requests the client sends, compared with what Qonto documents
//! (`shared/spec/qonto-reference.md`: §0 conventions, §1.1 webhook subscriptions, §7.1
//! transactions; the card routes are the contract's §3). A recording server stands in for
//! Qonto and keeps each request as it arrived.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use qonto_client::wire::requests::{SubscriptionRequest, SubscriptionUpdate};
use qonto_client::{Auth, Client, Query, Sca};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Value,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Answers as Qonto would, just enough for the client to go on: an unlock's first call
/// `428` with a session, every other call a minimal body of the route's shape.
async fn recording_server() -> (String, Log) {
    let log: Log = Arc::default();
    let kept = log.clone();
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let log = kept.clone();
        async move {
            let seen = Seen {
                method,
                path: uri.path().to_owned(),
                query: uri.query().unwrap_or_default().to_owned(),
                headers: headers.clone(),
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            };
            let answer = answer_for(&seen);
            log.lock().unwrap().push(seen);
            answer
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, log)
}

fn answer_for(seen: &Seen) -> (axum::http::StatusCode, axum::Json<Value>) {
    use axum::http::StatusCode;
    let subscription = json!({"id": uuid::Uuid::nil(), "organization_id": uuid::Uuid::nil(), "membership_id": uuid::Uuid::nil(),
        "callback_url": "https://example.com/hook", "types": ["v1/cards"], "created_at": "2026-12-06T10:00:00Z",
        "updated_at": "2026-12-06T10:00:00Z"});
    let meta = json!({"current_page": 1, "next_page": null, "prev_page": null, "total_pages": 1, "total_count": 0, "per_page": 10});
    match (seen.path.as_str(), seen.headers.contains_key("x-qonto-sca-session-token")) {
        (p, false) if p.ends_with("/unlock") => (
            StatusCode::PRECONDITION_REQUIRED,
            axum::Json(
                json!({"code": "sca_required", "message": "SCA required", "action_type": "card.unlock", "sca_session_token": "sca-1", "errors": [{"code": "sca_required", "detail": "SCA required"}]}),
            ),
        ),
        (p, true) if p.ends_with("/unlock") => {
            (StatusCode::BAD_REQUEST, axum::Json(json!({"errors": [{"code": "stop", "detail": "recorded"}]})))
        }
        ("/v2/webhook_subscriptions", _) if seen.method == Method::POST => {
            let mut made = subscription;
            made["secret"] = json!("whsec_x");
            (StatusCode::CREATED, axum::Json(made))
        }
        (p, _) if p.starts_with("/v2/webhook_subscriptions/") => (StatusCode::OK, axum::Json(subscription)),
        ("/v2/cards", _) => (StatusCode::OK, axum::Json(json!({"cards": [], "meta": meta}))),
        ("/v2/transactions", _) => (StatusCode::OK, axum::Json(json!({"transactions": [], "meta": meta}))),
        _ => (StatusCode::NOT_FOUND, axum::Json(json!({"errors": [{"code": "not_found", "detail": "recorded"}]}))),
    }
}

fn header<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
    seen.headers.get(name).and_then(|v| v.to_str().ok())
}

fn keys(body: &Value) -> Vec<String> {
    body.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

#[tokio::test]
async fn credentials_and_the_staging_token_are_sent_as_qonto_documents() {
    let (base, log) = recording_server().await;
    let bearer =
        Client::builder().base_url(&base).auth(Auth::Bearer("tok".into())).staging_token("stg").build().unwrap();
    bearer.cards().list(&Query::new().page(2).per_page(10)).await.unwrap();
    let key = Auth::ApiKey { login: "acme-1234".into(), secret: "s3cr3t".into() };
    Client::builder().base_url(&base).auth(key).build().unwrap().cards().list(&Query::new()).await.unwrap();
    let seen = log.lock().unwrap().clone();
    // §0: OAuth is `Bearer <token>`; an API key is `<login>:<secret>` with no scheme word.
    assert_eq!(header(&seen[0], "authorization"), Some("Bearer tok"));
    assert_eq!(header(&seen[1], "authorization"), Some("acme-1234:s3cr3t"));
    // §0: the sandbox header, and pagination as `page` and `per_page`.
    assert_eq!(header(&seen[0], "x-qonto-staging-token"), Some("stg"));
    assert_eq!(seen[0].query, "page=2&per_page=10");
    assert_eq!(header(&seen[0], "x-qonto-idempotency-key"), None, "reads carry no idempotency key");
}

#[tokio::test]
async fn a_write_keeps_its_idempotency_key_through_its_sca_step() {
    let (base, log) = recording_server().await;
    let client = Client::builder().base_url(&base).auth(Auth::Bearer("tok".into())).build().unwrap();
    let id = uuid::Uuid::new_v4();
    let Sca::Pending(pending) = client.cards().unlock(id).await.unwrap() else { panic!("428 is a pending step") };
    assert_eq!((pending.token.as_str(), pending.action_type.as_deref()), ("sca-1", Some("card.unlock")));
    let _ = client.resume(pending).await;
    let seen = log.lock().unwrap().clone();
    let (first, again) = (&seen[0], &seen[1]);
    assert_eq!((first.method.as_str(), first.path.as_str()), ("PUT", format!("/v2/cards/{id}/unlock").as_str()));
    let key = header(first, "x-qonto-idempotency-key").expect("a write carries X-Qonto-Idempotency-Key (§0)");
    assert!(uuid::Uuid::parse_str(key).is_ok(), "a UUID, as Qonto suggests");
    assert_eq!(header(again, "x-qonto-idempotency-key"), Some(key), "the same key on the SCA retry");
    assert_eq!(header(again, "x-qonto-sca-session-token"), Some("sca-1"), "§0: retried with the session token");
}

#[tokio::test]
async fn webhook_subscription_bodies_have_qontos_fields_unwrapped() {
    let (base, log) = recording_server().await;
    let client = Client::builder().base_url(&base).auth(Auth::Bearer("tok".into())).build().unwrap();
    let create = SubscriptionRequest {
        callback_url: "https://example.com/hook".into(),
        types: vec!["v1/cards".into()],
        secret: None,
        description: Some("mine".into()),
    };
    client.webhook_subscriptions().create(create).await.unwrap();
    let update =
        SubscriptionUpdate { callback_url: Some("https://example.com/new".into()), types: None, description: None };
    client.webhook_subscriptions().update(uuid::Uuid::nil(), update).await.unwrap();
    let seen = log.lock().unwrap().clone();
    // §1.1: the create body is unwrapped: callback_url, types, and optionally secret, description.
    let created = keys(&seen[0].body);
    assert!(
        created.iter().all(|k| ["callback_url", "types", "secret", "description"].contains(&k.as_str())),
        "{created:?}"
    );
    assert!(created.contains(&"callback_url".into()) && created.contains(&"types".into()));
    assert!(!created.contains(&"secret".into()), "an absent secret is not sent (Qonto generates one)");
    // §1.1: the update body: callback_url, types, description (no secret).
    assert_eq!(keys(&seen[1].body), vec!["callback_url".to_owned()], "only what changes");
    assert_eq!(seen[1].method, Method::PUT);
}

#[tokio::test]
async fn a_transaction_list_names_its_account() {
    let (base, log) = recording_server().await;
    let client = Client::builder().base_url(&base).auth(Auth::Bearer("tok".into())).build().unwrap();
    let account = uuid::Uuid::new_v4();
    let query =
        Query::new().with("bank_account_id", account).with("status[]", "completed").with("sort_by", "settled_at:desc");
    client.organization().transactions(&query).await.unwrap();
    let seen = log.lock().unwrap().clone();
    // §7.1: `bank_account_id` (or `iban`), `status[]`, `sort_by`.
    assert_eq!(seen[0].query, format!("bank_account_id={account}&status%5B%5D=completed&sort_by=settled_at%3Adesc"));
}
