use crate::support::*;
use cardinal_domain::Role::*;
use serde_json::Value;

fn ids(r: &Response) -> Vec<String> {
    let mut ids: Vec<String> =
        r.body["cards"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().into()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn employee_locks_own_card_but_cannot_unlock_nor_touch_others() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let own = org.card(Employee, "virtual");
    let token = org.token(Employee);

    let locked = app.put(&format!("/v2/cards/{own}/lock"), &token).await;
    locked.assert_status(200);
    assert_eq!(locked.card()["status"], "paused");

    let unlock = app.put(&format!("/v2/cards/{own}/unlock"), &token).await;
    unlock.assert_status(403);
    assert_eq!(unlock.error_code(), "forbidden");

    let other = org.card(Admin, "virtual");
    for path in [format!("/v2/cards/{other}"), format!("/v2/cards/{other}/lock"), format!("/v2/cards/{other}/unlock")] {
        let r = if path.ends_with("lock") { app.put(&path, &token).await } else { app.get(&path, &token).await };
        r.assert_status(404);
        assert_eq!(r.error_code(), "not_found");
    }
    let listed = app.get("/v2/cards", &token).await;
    assert_eq!(listed.body["meta"]["total_count"], 2, "an employee sees their own two cards");
}

#[tokio::test]
async fn reporting_sees_everything_and_changes_nothing() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let token = org.token(Reporting);
    let listed = app.get("/v2/cards", &token).await;
    listed.assert_status(200);
    assert_eq!(listed.body["meta"]["total_count"], org.card_count() as u64);
    let owners = org.card(Owner, "virtual");
    app.get(&format!("/v2/cards/{owners}"), &token).await.assert_status(200);
    for action in ["lock", "unlock"] {
        let r = app.put(&format!("/v2/cards/{owners}/{action}"), &token).await;
        r.assert_status(403);
        assert_eq!(r.error_code(), "forbidden");
    }
    let own = org.card(Reporting, "virtual");
    app.put(&format!("/v2/cards/{own}/lock"), &token).await.assert_status(403);
}

#[tokio::test]
async fn manager_sees_and_locks_own_and_team_cards_only() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let token = org.token(Manager);
    let listed = app.get("/v2/cards", &token).await;
    let mut expected = vec![
        org.card(Manager, "virtual"),
        org.card(Manager, "standard"),
        org.card(Employee, "virtual"),
        org.card(Employee, "standard"),
    ];
    expected.sort();
    assert_eq!(ids(&listed), expected);

    let team_card = org.card(Employee, "virtual");
    app.put(&format!("/v2/cards/{team_card}/lock"), &token).await.assert_status(200);
    let unlock = app.put(&format!("/v2/cards/{team_card}/unlock"), &token).await;
    unlock.assert_status(403);
    let owners = org.card(Owner, "virtual");
    app.put(&format!("/v2/cards/{owners}/lock"), &token).await.assert_status(404);
    app.get(&format!("/v2/cards/{owners}"), &token).await.assert_status(404);
}

#[tokio::test]
async fn owners_and_admins_unlock_any_card() {
    let app = TestApp::new().await;
    let org = app.org().await;
    for (role, card) in [(Owner, org.card(Employee, "virtual")), (Admin, org.card(Manager, "standard"))] {
        app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await.assert_status(200);
        let r = app.put(&format!("/v2/cards/{card}/unlock"), &org.token(role)).await;
        r.assert_status(200);
        assert_eq!(r.card()["status"], "live");
    }
}

#[tokio::test]
async fn another_organizations_card_is_invisible_everywhere() {
    let app = TestApp::new().await;
    let mine = app.org().await;
    let theirs = app.org().await;
    let foreign = theirs.card(Owner, "virtual");
    let token = mine.token(Owner);
    for (method, path) in [
        ("GET", format!("/v2/cards/{foreign}")),
        ("PUT", format!("/v2/cards/{foreign}/lock")),
        ("PUT", format!("/v2/cards/{foreign}/unlock")),
    ] {
        let r = if method == "GET" { app.get(&path, &token).await } else { app.put(&path, &token).await };
        r.assert_status(404);
        assert_eq!(r.error_code(), "not_found");
    }
    let via_ids = app.get(&format!("/v2/cards?ids[]={foreign}"), &token).await;
    via_ids.assert_status(200);
    assert_eq!(via_ids.body["cards"], Value::Array(vec![]));
    assert_eq!(via_ids.body["meta"]["total_count"], 0);
    let all = app.get("/v2/cards?per_page=100", &token).await;
    assert!(ids(&all).iter().all(|id| *id != foreign));
    let theirs_account = theirs.body["bank_account"]["id"].as_str().unwrap();
    app.get(&format!("/v2/bank_accounts/{theirs_account}"), &token).await.assert_status(404);
    // Their card stays untouched.
    let still = app.get(&format!("/v2/cards/{foreign}"), &theirs.token(Owner)).await;
    assert_eq!(still.card()["status"], "live");
}

#[tokio::test]
async fn a_token_without_card_write_cannot_lock() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let r = app
        .admin(
            axum::http::Method::POST,
            "/_sandbox/tokens",
            Some(serde_json::json!({"membership_id": org.member_id(Owner), "scopes": ["card.read"]})),
        )
        .await;
    r.assert_status(201);
    let token = format!("Bearer {}", r.body["access_token"].as_str().unwrap());
    let card = org.card(Owner, "virtual");
    app.get(&format!("/v2/cards/{card}"), &token).await.assert_status(200);
    let lock = app.put(&format!("/v2/cards/{card}/lock"), &token).await;
    lock.assert_status(403);
    assert_eq!(lock.error_code(), "forbidden");
    assert_eq!(lock.detail(), "missing required oauth scope");
    let org_read = app.get("/v2/organization", &token).await;
    org_read.assert_status(403);
    assert_eq!(org_read.detail(), "missing required oauth scope");
}

#[tokio::test]
async fn an_api_key_lists_cards_but_cannot_lock() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let key = org.api_key();
    let listed = app.get("/v2/cards", &key).await;
    listed.assert_status(200);
    assert_eq!(listed.body["meta"]["total_count"], org.card_count() as u64, "an API key reads as the owner");
    let card = org.card(Employee, "virtual");
    let lock = app.put(&format!("/v2/cards/{card}/lock"), &key).await;
    lock.assert_status(403);
    assert_eq!(lock.error_code(), "forbidden");
    assert!(lock.detail().contains("OAuth access token"), "{}", lock.detail());
    app.get("/v2/membership", &key).await.assert_status(200);
    let wrong = format!("{}:wrong", org.body["api_key"]["login"].as_str().unwrap());
    assert_eq!(app.get("/v2/cards", &wrong).await.error_code(), "unauthorized");
    let basic = format!("Basic {}", key);
    assert_eq!(app.get("/v2/cards", &basic).await.error_code(), "unauthorized");
}

/// Every Qonto route enforces the scope its row of the route table names: a token without
/// that scope is refused before anything else is read (no handler can forget the check).
#[tokio::test]
async fn every_route_enforces_the_scope_its_table_row_names() {
    use axum::http::Method;
    use cardinal_api::routes::{operations, Surface};
    let app = TestApp::new().await;
    let org = app.org().await;
    for (op, _) in operations() {
        let Some(needed) = op.scope.filter(|_| op.surface == Surface::Qonto) else { continue };
        // A token with every scope but the one this route needs.
        let others: Vec<&str> = cardinal_api::http::auth::scope::ALL.iter().copied().filter(|s| *s != needed).collect();
        let token = app
            .admin(
                Method::POST,
                "/_sandbox/tokens",
                Some(serde_json::json!({"membership_id": org.member_id(Owner), "scopes": others})),
            )
            .await;
        let token = format!("Bearer {}", token.body["access_token"].as_str().unwrap());
        let path = op.path.replace("{id}", &uuid::Uuid::new_v4().to_string());
        let method = Method::from_bytes(op.method.to_ascii_uppercase().as_bytes()).unwrap();
        let r = app.send(method, &path, Some(&token), Some(serde_json::json!({}))).await;
        r.assert_status(403);
        assert_eq!(r.detail(), "missing required oauth scope", "{} {}", op.method, op.path);
    }
}
