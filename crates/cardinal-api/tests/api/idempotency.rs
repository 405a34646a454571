use crate::support::*;
use axum::http::Method;
use cardinal_domain::Role::*;
use serde_json::{json, Value};
use std::sync::Arc;

const KEY: &str = "x-qonto-idempotency-key";

fn new_card(org: &Org, limit: u32) -> Value {
    json!({"card": {"holder_id": org.member_id(Employee), "bank_account_id": org.body["bank_account"]["id"],
        "card_level": "virtual", "payment_monthly_limit": limit}})
}

async fn count(app: &TestApp, org: &Org) -> u64 {
    app.get("/v2/cards", &org.token(Owner)).await.body["meta"]["total_count"].as_u64().unwrap()
}

#[tokio::test]
async fn the_same_key_twice_creates_one_card_and_replays_the_answer() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let before = count(&app, &org).await;
    let first =
        app.send_with(Method::POST, "/v2/cards", &org.token(Admin), Some(new_card(&org, 100)), &[(KEY, "k-1")]).await;
    first.assert_status(200);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again =
        app.send_with(Method::POST, "/v2/cards", &org.token(Admin), Some(new_card(&org, 100)), &[(KEY, "k-1")]).await;
    again.assert_status(200);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first.body, "the first answer, byte for byte");
    assert_eq!(count(&app, &org).await, before + 1);

    let other_body =
        app.send_with(Method::POST, "/v2/cards", &org.token(Admin), Some(new_card(&org, 101)), &[(KEY, "k-1")]).await;
    other_body.assert_status(422);
    assert_eq!(other_body.error_code(), "idempotency_key_reused");
    let card = org.card(Owner, "virtual");
    let other_path =
        app.send_with(Method::PUT, &format!("/v2/cards/{card}/lock"), &org.token(Admin), None, &[(KEY, "k-1")]).await;
    assert_eq!(other_path.error_code(), "idempotency_key_reused");
    // Keys belong to a credential: the owner's k-1 is a different key.
    app.send_with(Method::POST, "/v2/cards", &org.token(Owner), Some(new_card(&org, 100)), &[(KEY, "k-1")])
        .await
        .assert_status(200);
    assert_eq!(count(&app, &org).await, before + 2);
}

#[tokio::test]
async fn twenty_concurrent_requests_with_one_key_create_one_card() {
    let app = Arc::new(TestApp::new().await);
    let org = Arc::new(app.org().await);
    let before = count(&app, &org).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, org) = (app.clone(), org.clone());
            tokio::spawn(async move {
                let r = app
                    .send_with(
                        Method::POST,
                        "/v2/cards",
                        &org.token(Admin),
                        Some(new_card(&org, 250)),
                        &[(KEY, "burst")],
                    )
                    .await;
                (r.status.as_u16(), r.body)
            })
        })
        .collect();
    let mut created_ids = std::collections::HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            200 => {
                created_ids.insert(body["card"]["id"].as_str().unwrap().to_owned());
            }
            409 => assert_eq!(body["errors"][0]["code"], "idempotency_key_in_use"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created_ids.len(), 1, "every 200 is the same card");
    assert_eq!(count(&app, &org).await, before + 1, "exactly one card was created");
}

#[tokio::test]
async fn an_sca_challenge_is_not_stored_so_the_retry_with_the_same_key_proceeds() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({})).await;
    let admin = org.token(Admin);
    let challenge = app.send_with(Method::POST, "/v2/cards", &admin, Some(new_card(&org, 70)), &[(KEY, "sca-1")]).await;
    challenge.assert_status(428);
    let token = challenge.body["sca_session_token"].as_str().unwrap().to_owned();
    app.send(Method::POST, &format!("/v2/mocked_sca_sessions/{token}/allow"), None, None).await.assert_status(200);
    let headers = [(KEY, "sca-1"), ("x-qonto-sca-session-token", token.as_str())];
    let done = app.send_with(Method::POST, "/v2/cards", &admin, Some(new_card(&org, 70)), &headers).await;
    done.assert_status(200);
    let replay = app.send_with(Method::POST, "/v2/cards", &admin, Some(new_card(&org, 70)), &headers).await;
    replay.assert_status(200);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.card()["id"], done.card()["id"], "replayed, not refused as a used SCA session");
}

#[tokio::test]
async fn failed_requests_are_not_stored_and_keys_are_validated() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let mut bad = new_card(&org, 100);
    bad["card"]["payment_monthly_limit"] = json!(-1);
    let first =
        app.send_with(Method::POST, "/v2/cards", &org.token(Admin), Some(bad.clone()), &[(KEY, "retry-me")]).await;
    first.assert_status(422);
    let again = app.send_with(Method::POST, "/v2/cards", &org.token(Admin), Some(bad), &[(KEY, "retry-me")]).await;
    assert!(again.headers.get("idempotent-replayed").is_none(), "errors are recomputed, not replayed");
    let long = "k".repeat(256);
    for key in [long.as_str(), ""] {
        let r =
            app.send_with(Method::POST, "/v2/cards", &org.token(Admin), Some(new_card(&org, 1)), &[(KEY, key)]).await;
        r.assert_status(422);
    }
    let card = org.card(Owner, "virtual");
    let lock = app
        .send_with(Method::PUT, &format!("/v2/cards/{card}/lock"), &org.token(Owner), None, &[(KEY, "lock-1")])
        .await;
    lock.assert_status(200);
    app.put(&format!("/v2/cards/{card}/unlock"), &org.token(Owner)).await.assert_status(200);
    let replay = app
        .send_with(Method::PUT, &format!("/v2/cards/{card}/lock"), &org.token(Owner), None, &[(KEY, "lock-1")])
        .await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(
        app.get(&format!("/v2/cards/{card}"), &org.token(Owner)).await.card()["status"],
        "live",
        "a replay does not act again"
    );
}
