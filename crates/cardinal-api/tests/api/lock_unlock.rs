use crate::support::*;
use axum::http::Method;
use cardinal_domain::Role::*;
use serde_json::json;

#[tokio::test]
async fn lock_pauses_repeat_is_ok_unlock_makes_live() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "virtual");
    let path = format!("/v2/cards/{card}");

    let first = app.put(&format!("{path}/lock"), &org.token(Owner)).await;
    first.assert_status(200);
    assert_eq!(first.card()["status"], "paused");
    assert_full_card(first.card());

    let again = app.put(&format!("{path}/lock"), &org.token(Owner)).await;
    again.assert_status(200);
    assert_eq!(again.card()["status"], "paused");
    assert_eq!(again.card()["updated_at"], first.card()["updated_at"]);

    let unlocked = app.put(&format!("{path}/unlock"), &org.token(Admin)).await;
    unlocked.assert_status(200);
    assert_eq!(unlocked.card()["status"], "live");
    assert_eq!(unlocked.card()["has_only_user_liftable_locks"], true);
    assert_full_card(unlocked.card());

    let shown = app.get(&path, &org.token(Owner)).await;
    assert_eq!(shown.card()["status"], "live", "the change is stored, not just answered");
}

#[tokio::test]
async fn system_lock_survives_unlock() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Employee, "standard");
    let locked = app
        .admin(
            Method::POST,
            &format!("/_sandbox/cards/{card}/system_locks"),
            Some(json!({"reason": "fraud_suspicion"})),
        )
        .await;
    locked.assert_status(200);
    assert_eq!(locked.card()["status"], "paused");
    assert_eq!(locked.card()["has_only_user_liftable_locks"], false);

    let unlock = app.put(&format!("/v2/cards/{card}/unlock"), &org.token(Owner)).await;
    unlock.assert_status(200);
    assert_eq!(unlock.card()["status"], "paused");
    assert_eq!(unlock.card()["has_only_user_liftable_locks"], false);

    // A user lock on top, then the system lock lifted: still paused by the user lock.
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await.assert_status(200);
    let lifted = app.admin(Method::DELETE, &format!("/_sandbox/cards/{card}/system_locks/fraud_suspicion"), None).await;
    lifted.assert_status(200);
    assert_eq!(lifted.card()["status"], "paused");
    assert_eq!(lifted.card()["has_only_user_liftable_locks"], true);
    let live = app.put(&format!("/v2/cards/{card}/unlock"), &org.token(Admin)).await;
    assert_eq!(live.card()["status"], "live");
}

#[tokio::test]
async fn lock_is_audited_with_actor_and_request_id() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "virtual");
    let r = app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await;
    r.assert_status(200);
    let events = app.admin(Method::GET, &format!("/_sandbox/cards/{card}/events"), None).await;
    let last = events.body["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "lock");
    assert_eq!(last["from_status"], "live");
    assert_eq!(last["to_status"], "paused");
    assert_eq!(last["actor"]["type"], "membership");
    assert_eq!(last["actor"]["id"], org.member_id(Owner).as_str());
    assert_eq!(last["request_id"], r.headers["x-request-id"].to_str().unwrap(), "events carry the request id");
}

#[tokio::test]
async fn activate_makes_a_pending_card_live_and_lock_then_works() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "standard");
    // Seeded physical cards are already active: activating again is an invalid transition.
    let again = app.admin(Method::POST, &format!("/_sandbox/cards/{card}/activate"), None).await;
    again.assert_status(422);
    assert_eq!(again.error_code(), "invalid_transition");
    assert!(again.detail().contains("live"), "{}", again.detail());
    let shown = app.get(&format!("/v2/cards/{card}"), &org.token(Owner)).await;
    assert_eq!(shown.card()["pin_set"], true);
    assert_eq!(shown.card()["embossed_name"], "ALICE MARTIN");
}
