use crate::support::*;
use cardinal_domain::Role::*;
use serde_json::json;

#[tokio::test]
async fn lost_stolen_and_discard_follow_the_transition_table() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let owner = org.token(Owner);
    let virtual_card = org.card(Employee, "virtual");
    let physical = org.card(Employee, "standard");

    let r = app.put(&format!("/v2/cards/{virtual_card}/lost"), &owner).await;
    r.assert_status(422);
    assert_eq!(r.error_code(), "invalid_transition");
    assert_eq!(r.detail(), "a virtual card cannot be reported lost", "the refusal names the level");
    let r = app.put(&format!("/v2/cards/{physical}/discard"), &owner).await;
    assert_eq!(r.error_code(), "invalid_transition");
    assert_eq!(r.detail(), "a standard card cannot be discarded");

    let lost = app.put(&format!("/v2/cards/{physical}/lost"), &owner).await;
    lost.assert_status(200);
    assert_eq!(lost.card()["status"], "lost");
    app.put(&format!("/v2/cards/{physical}/lost"), &owner).await.assert_status(200);
    for action in ["stolen", "lock", "unlock", "discard"] {
        let r = app.put(&format!("/v2/cards/{physical}/{action}"), &owner).await;
        r.assert_status(422);
        assert_eq!(r.error_code(), "invalid_transition", "{action} on a lost card");
        let reason = if action == "discard" { "a standard card" } else { "a lost card" };
        assert!(r.detail().starts_with(&format!("{reason} cannot be ")), "{}", r.detail());
    }
    let r = app.patch(&format!("/v2/cards/{physical}/nickname"), &owner, json!({"card": {"nickname": "x"}})).await;
    assert_eq!(r.error_code(), "invalid_transition", "settings on a terminal card");

    let discarded = app.put(&format!("/v2/cards/{virtual_card}/discard"), &owner).await;
    assert_eq!(discarded.card()["status"], "discarded");
    app.put(&format!("/v2/cards/{virtual_card}/discard"), &owner).await.assert_status(200);
    let stolen_card = org.card(Manager, "standard");
    let stolen = app.put(&format!("/v2/cards/{stolen_card}/stolen"), &org.token(Manager)).await;
    assert_eq!(stolen.card()["status"], "stolen");
}

#[tokio::test]
async fn limits_are_checked_on_the_resulting_card() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Employee, "standard");
    let path = format!("/v2/cards/{card}/limits");
    let ok = app.patch(&path, &org.token(Admin), json!({"card": {"payment_monthly_limit": 40000, "payment_daily_limit": 101, "payment_daily_limit_option": true}})).await;
    ok.assert_status(200);
    assert_eq!(ok.card()["payment_monthly_limit"], 40000);
    assert_eq!(ok.card()["payment_daily_limit"], 101);
    let over = app.patch(&path, &org.token(Admin), json!({"card": {"payment_monthly_limit": 40001}})).await;
    over.assert_status(422);
    assert_eq!(over.body["errors"][0]["source"]["pointer"], "/card/payment_monthly_limit");
    // Lowering the monthly limit below the active daily limit breaks the resulting card.
    let below = app.patch(&path, &org.token(Admin), json!({"card": {"payment_monthly_limit": 100}})).await;
    below.assert_status(422);
    assert_eq!(below.body["errors"][0]["source"]["pointer"], "/card/payment_daily_limit");
    let shown = app.get(&format!("/v2/cards/{card}"), &org.token(Admin)).await;
    assert_eq!(shown.card()["payment_monthly_limit"], 40000, "a refused update changes nothing");
    for role in [Manager, Employee, Reporting] {
        let r = app.patch(&path, &org.token(role), json!({"card": {"payment_monthly_limit": 10}})).await;
        assert_eq!(r.error_code(), "forbidden", "only owners and admins change limits");
    }
    let virtual_card = org.card(Owner, "virtual");
    let r = app
        .patch(
            &format!("/v2/cards/{virtual_card}/limits"),
            &org.token(Owner),
            json!({"card": {"atm_monthly_limit": 1}}),
        )
        .await;
    assert_eq!(r.body["errors"][0]["source"]["pointer"], "/card/atm_monthly_limit");
    let events = app.admin(axum::http::Method::GET, &format!("/_sandbox/cards/{card}/events"), None).await;
    let last = events.body["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "update limits");
    assert_eq!(last["changes"]["payment_monthly_limit"], json!([5000, 40000]));
}

#[tokio::test]
async fn nickname_options_and_restrictions() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Employee, "virtual");
    let base = format!("/v2/cards/{card}");
    let r = app
        .patch(&format!("{base}/nickname"), &org.token(Admin), json!({"card": {"nickname": "  Cloud bills "}}))
        .await;
    r.assert_status(200);
    assert_eq!(r.card()["nickname"], "Cloud bills");
    let r = app.patch(&format!("{base}/nickname"), &org.token(Admin), json!({"card": {"nickname": "   "}})).await;
    assert_eq!(r.error_code(), "too_short");

    let options =
        json!({"card": {"atm_option": false, "nfc_option": false, "online_option": true, "foreign_option": false}});
    app.patch(&format!("{base}/options"), &org.token(Employee), options.clone()).await.assert_status(403);
    app.patch(&format!("{base}/options"), &org.token(Manager), options.clone()).await.assert_status(403);
    let r = app.patch(&format!("{base}/options"), &org.token(Admin), options).await;
    r.assert_status(200);
    assert_eq!((r.card()["nfc_option"].as_bool(), r.card()["foreign_option"].as_bool()), (Some(false), Some(false)));
    let r = app.patch(&format!("{base}/options"), &org.token(Owner), json!({"card": {"atm_option": true}})).await;
    let pointers: Vec<&str> =
        r.body["errors"].as_array().unwrap().iter().map(|e| e["source"]["pointer"].as_str().unwrap()).collect();
    assert_eq!(pointers, ["/card/nfc_option", "/card/online_option", "/card/foreign_option"], "all four are required");
    let r = app
        .patch(
            &format!("{base}/options"),
            &org.token(Owner),
            json!({"card": {"atm_option": true, "nfc_option": true, "online_option": true, "foreign_option": true}}),
        )
        .await;
    assert_eq!(r.body["errors"][0]["source"]["pointer"], "/card/atm_option", "no ATM on virtual cards");

    let r = app
        .patch(
            &format!("{base}/restrictions"),
            &org.token(Admin),
            json!({"card": {"active_days": [7, 6], "categories": ["transport"]}}),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.card()["active_days"], json!([6, 7]));
    assert_eq!(r.card()["categories"], json!(["transport"]));
    let r = app.patch(&format!("{base}/restrictions"), &org.token(Admin), json!({"card": {"categories": []}})).await;
    assert_eq!(r.card()["categories"], json!([]), "an empty list lifts the restriction");
    assert_eq!(r.card()["active_days"], json!([6, 7]), "untouched fields stay");
    for body in
        [json!({"card": {"active_days": []}}), json!({"card": {"active_days": [1, 1]}}), json!({"card": {}}), json!({})]
    {
        app.patch(&format!("{base}/restrictions"), &org.token(Admin), body).await.assert_status(422);
    }
    app.patch(&format!("{base}/restrictions"), &org.token(Manager), json!({"card": {"active_days": [1]}}))
        .await
        .assert_status(403);
}
