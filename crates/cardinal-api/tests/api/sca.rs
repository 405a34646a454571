use crate::support::*;
use axum::http::Method;
use cardinal_domain::Role::*;
use serde_json::{json, Value};

const TOKEN_HEADER: &str = "x-qonto-sca-session-token";

fn new_card(org: &Org) -> Value {
    json!({"card": {"holder_id": org.member_id(Employee), "bank_account_id": org.body["bank_account"]["id"],
        "card_level": "virtual", "payment_monthly_limit": 300}})
}

async fn decide(app: &TestApp, token: &str, decision: &str) {
    let r = app.send(Method::POST, &format!("/v2/mocked_sca_sessions/{token}/{decision}"), None, None).await;
    r.assert_status(200);
    assert_eq!(r.body, json!({"message": "Success"}));
}

#[tokio::test]
async fn create_goes_through_428_allow_retry() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({})).await; // SCA required is the default
    let admin = org.token(Admin);
    let before = app.get("/v2/cards", &admin).await.body["meta"]["total_count"].clone();

    let challenge = app.post("/v2/cards", &admin, new_card(&org)).await;
    challenge.assert_status(428);
    assert_eq!(challenge.body["code"], "sca_required");
    assert_eq!(challenge.body["message"], "SCA required");
    assert_eq!(challenge.body["action_type"], "card.create");
    assert_eq!(challenge.body["trace_id"], challenge.headers["x-request-id"].to_str().unwrap());
    let token = challenge.body["sca_session_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/v2/cards", &admin).await.body["meta"]["total_count"], before, "the 428 did nothing");

    let polled = app.get(&format!("/v2/sca_sessions/{token}"), &admin).await;
    assert_eq!(polled.body, json!({"result": "waiting", "canceled_at": null}));
    let pending =
        app.send_with(Method::POST, "/v2/cards", &admin, Some(new_card(&org)), &[(TOKEN_HEADER, &token)]).await;
    pending.assert_status(412);
    assert_eq!(pending.body["code"], "sca_pending");

    decide(&app, &token, "allow").await;
    assert_eq!(app.get(&format!("/v2/sca_sessions/{token}"), &admin).await.body["result"], "allow");
    let created =
        app.send_with(Method::POST, "/v2/cards", &admin, Some(new_card(&org)), &[(TOKEN_HEADER, &token)]).await;
    created.assert_status(200);
    assert_eq!(created.card()["status"], "live");

    let replay =
        app.send_with(Method::POST, "/v2/cards", &admin, Some(new_card(&org)), &[(TOKEN_HEADER, &token)]).await;
    replay.assert_status(422);
    assert_eq!(replay.body["code"], "sca_session_invalid");
    assert_eq!(replay.error_code(), "sca_session_invalid", "the errors array is there too");
}

#[tokio::test]
async fn a_session_runs_only_the_request_it_was_approved_for() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({})).await;
    let admin = org.token(Admin);
    let challenge = app.post("/v2/cards", &admin, new_card(&org)).await;
    let token = challenge.body["sca_session_token"].as_str().unwrap().to_owned();
    decide(&app, &token, "allow").await;

    let mut other_body = new_card(&org);
    other_body["card"]["payment_monthly_limit"] = json!(20000);
    let r = app.send_with(Method::POST, "/v2/cards", &admin, Some(other_body), &[(TOKEN_HEADER, &token)]).await;
    assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (422, Some("sca_session_invalid")));
    let card = org.card(Employee, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &admin).await.assert_status(200);
    let r =
        app.send_with(Method::PUT, &format!("/v2/cards/{card}/unlock"), &admin, None, &[(TOKEN_HEADER, &token)]).await;
    assert_eq!(r.body["code"], "sca_session_invalid", "another action");
    let owner = org.token(Owner);
    let r = app.send_with(Method::POST, "/v2/cards", &owner, Some(new_card(&org)), &[(TOKEN_HEADER, &token)]).await;
    assert_eq!(r.body["code"], "sca_session_invalid", "another member");
    let r = app.send_with(Method::POST, "/v2/cards", &admin, Some(new_card(&org)), &[(TOKEN_HEADER, "made-up")]).await;
    assert_eq!(r.body["code"], "sca_session_invalid", "an unknown token");
    // Key order and spacing do not matter; the values do.
    let reordered = json!({"card": {"payment_monthly_limit": 300, "card_level": "virtual",
        "bank_account_id": org.body["bank_account"]["id"], "holder_id": org.member_id(Employee)}});
    app.send_with(Method::POST, "/v2/cards", &admin, Some(reordered), &[(TOKEN_HEADER, &token)])
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_denied_session_answers_412() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({})).await;
    let card = org.card(Employee, "virtual");
    let admin = org.token(Admin);
    app.put(&format!("/v2/cards/{card}/lock"), &admin).await.assert_status(200);
    let challenge = app.put(&format!("/v2/cards/{card}/unlock"), &admin).await;
    challenge.assert_status(428);
    assert_eq!(challenge.body["action_type"], "card.unlock");
    let token = challenge.body["sca_session_token"].as_str().unwrap().to_owned();
    decide(&app, &token, "deny").await;
    let r =
        app.send_with(Method::PUT, &format!("/v2/cards/{card}/unlock"), &admin, None, &[(TOKEN_HEADER, &token)]).await;
    r.assert_status(412);
    assert_eq!(r.body["code"], "sca_denied");
    assert_eq!(app.get(&format!("/v2/cards/{card}"), &admin).await.card()["status"], "paused");
    let mocked = app.send(Method::GET, &format!("/v2/mocked_sca_sessions/{token}"), None, None).await;
    assert_eq!(mocked.body["result"], "deny");
    decide(&app, &token, "allow").await;
    assert_eq!(
        app.get(&format!("/v2/sca_sessions/{token}"), &admin).await.body["result"],
        "deny",
        "a decision is final"
    );
}

#[tokio::test]
async fn unlock_and_limits_need_sca_but_forbidden_callers_get_403_first() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({})).await;
    let card = org.card(Employee, "standard");
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Employee)).await.assert_status(200);
    app.put(&format!("/v2/cards/{card}/unlock"), &org.token(Employee)).await.assert_status(403);
    let body = json!({"card": {"payment_monthly_limit": 100}});
    app.patch(&format!("/v2/cards/{card}/limits"), &org.token(Manager), body.clone()).await.assert_status(403);
    let challenge = app.patch(&format!("/v2/cards/{card}/limits"), &org.token(Owner), body.clone()).await;
    challenge.assert_status(428);
    assert_eq!(challenge.body["action_type"], "card.limits_update");
    let token = challenge.body["sca_session_token"].as_str().unwrap().to_owned();
    decide(&app, &token, "allow").await;
    let done = app
        .send_with(
            Method::PATCH,
            &format!("/v2/cards/{card}/limits"),
            &org.token(Owner),
            Some(body),
            &[(TOKEN_HEADER, &token)],
        )
        .await;
    done.assert_status(200);
    assert_eq!(done.card()["payment_monthly_limit"], 100);
    // Locking, nickname and options need no SCA.
    app.patch(&format!("/v2/cards/{card}/nickname"), &org.token(Owner), json!({"card": {"nickname": "n"}}))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn invalid_bodies_are_refused_before_any_challenge() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({})).await;
    let mut body = new_card(&org);
    body["card"]["payment_monthly_limit"] = json!(20000.01);
    let r = app.post("/v2/cards", &org.token(Admin), body).await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid");
}

#[tokio::test]
async fn not_enrolled_organizations_cannot_perform_sensitive_actions() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({"sca_mode": "not_enrolled"})).await;
    let r = app.post("/v2/cards", &org.token(Admin), new_card(&org)).await;
    r.assert_status(428);
    assert_eq!(r.body["code"], "sca_not_enrolled");
    assert_eq!(r.body["message"], "You must enable SCA to perform this action");
    assert!(r.body.get("sca_session_token").is_none());
}

#[tokio::test]
async fn sca_sessions_belong_to_their_organization() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({})).await;
    let other = app.org_with(json!({})).await;
    let token = app.post("/v2/cards", &org.token(Admin), new_card(&org)).await.body["sca_session_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get(&format!("/v2/sca_sessions/{token}"), &other.token(Owner)).await.assert_status(404);
    app.get("/v2/sca_sessions/unknown", &org.token(Owner)).await.assert_status(404);
    app.send(Method::POST, &format!("/v2/mocked_sca_sessions/{token}/maybe"), None, None).await.assert_status(404);
    let production = TestApp::builder().production().build().await;
    production
        .send(Method::POST, &format!("/v2/mocked_sca_sessions/{token}/allow"), None, None)
        .await
        .assert_status(404);
}

/// The session is spent in the change's transaction: of several identical requests racing
/// with one approved token, exactly one changes the card; the others are told it was used.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_approved_session_runs_one_of_racing_requests() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let org = app.org_with(json!({})).await;
    let card = org.card(Employee, "standard");
    let owner = org.token(Owner);
    let path = format!("/v2/cards/{card}/limits");
    let body = json!({"card": {"payment_monthly_limit": 150}});
    let challenge = app.patch(&path, &owner, body.clone()).await;
    challenge.assert_status(428);
    let token = challenge.body["sca_session_token"].as_str().unwrap().to_owned();
    decide(&app, &token, "allow").await;
    let events_before =
        app.admin(Method::GET, &format!("/_sandbox/cards/{card}/events"), None).await.body["events"].clone();

    let racing = (0..8).map(|i| {
        let (app, owner, body, token) = (app.clone(), owner.clone(), body.clone(), token.clone());
        // The approval covers the request, not its spelling: a trailing slash is the same one.
        let path = if i % 2 == 0 { path.clone() } else { format!("{path}/") };
        tokio::spawn(
            async move { app.send_with(Method::PATCH, &path, &owner, Some(body), &[(TOKEN_HEADER, &token)]).await },
        )
    });
    let mut statuses = Vec::new();
    for answer in futures_join(racing).await {
        if answer.status.as_u16() == 422 {
            assert_eq!(answer.body["code"], "sca_session_invalid");
        }
        statuses.push(answer.status.as_u16());
    }
    statuses.sort();
    assert_eq!(statuses, [200, 422, 422, 422, 422, 422, 422, 422], "one request ran");
    let events = app.admin(Method::GET, &format!("/_sandbox/cards/{card}/events"), None).await.body["events"].clone();
    assert_eq!(events.as_array().unwrap().len(), events_before.as_array().unwrap().len() + 1);
}

async fn futures_join<T>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut done = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        done.push(task.await.unwrap());
    }
    done
}
