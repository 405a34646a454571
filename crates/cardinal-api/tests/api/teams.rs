//! Teams and invitations (spec §9): listed by members, made and invited by owners and admins;
//! an invited member is in their team at once and holds no card before accepting.

use crate::support::*;
use axum::http::Method;
use cardinal_domain::Role::*;
use serde_json::json;

#[tokio::test]
async fn owners_make_teams_everyone_lists_them() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let made = app.post("/v2/teams", &org.token(Admin), json!({"name": "Marketing"})).await;
    made.assert_status(201);
    assert_eq!(made.body["team"]["name"], "Marketing");
    let listed = app.get("/v2/teams", &org.token(Employee)).await;
    listed.assert_status(200);
    let names: Vec<&str> =
        listed.body["teams"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Marketing"), "{names:?}");
    assert_eq!(listed.body["meta"]["total_count"].as_u64().unwrap() as usize, names.len());
    let paged = app.get("/v2/teams?per_page=1&page=2", &org.token(Employee)).await;
    assert_eq!(paged.body["teams"].as_array().unwrap().len(), 1);
    let twice = app.post("/v2/teams", &org.token(Owner), json!({"name": "Marketing"})).await;
    twice.assert_status(422);
    assert!(twice.text.contains("/name"), "{}", twice.text);
    app.post("/v2/teams", &org.token(Manager), json!({"name": "Ops"})).await.assert_status(403);
    app.post("/v2/teams", &org.token(Owner), json!({"name": "  "})).await.assert_status(422);
    let other = app.org().await;
    let theirs = app.get("/v2/teams", &other.token(Owner)).await;
    assert!(!theirs.text.contains("Marketing"), "another organization's teams are not listed");
}

#[tokio::test]
async fn an_invited_employee_joins_a_team_and_holds_no_card_before_accepting() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let teams = app.get("/v2/teams", &org.token(Owner)).await;
    let manager_team = org.member(Manager)["team_id"].as_str().unwrap().to_owned();
    assert!(teams.text.contains(&manager_team));
    let hook = json!({"callback_url": "https://hooks.example.com/members", "types": ["v1/memberships"]});
    app.post("/v2/webhook_subscriptions", &org.token(Owner), hook).await.assert_status(201);
    let invite = json!({"membership": {"email": "Zoe.Dupont@example.com", "first_name": "Zoé", "last_name": "Dupont",
        "role": "employee", "team_id": manager_team}});
    let invited = app.post("/v2/memberships/invite_employee_or_accountant", &org.token(Owner), invite.clone()).await;
    invited.assert_status(200);
    let member = &invited.body["membership"];
    assert_eq!((member["email"].as_str(), member["role"].as_str()), (Some("zoe.dupont@example.com"), Some("employee")));
    assert_eq!(member["team_id"], manager_team.as_str());
    let id = member["id"].as_str().unwrap().to_owned();
    let listed = app.get("/v2/memberships?per_page=100", &org.token(Owner)).await;
    let item = listed.body["memberships"].as_array().unwrap().iter().find(|m| m["id"] == id.as_str()).unwrap().clone();
    for field in ["residence_country", "birthdate", "nationality", "birth_country"] {
        assert!(item[field].is_string(), "{field} in {item}");
    }
    assert_eq!((item["ubo"].as_bool(), item["status"].as_str()), (Some(false), Some("invited")));
    assert_eq!(member["kyc_status"], "pending");

    assert_eq!(member["status"], "invited");
    // Until they accept, an invited member holds no card.
    let account = app.get("/v2/bank_accounts", &org.token(Owner)).await.body["bank_accounts"][0]["id"].clone();
    let card = json!({"card": {"holder_id": id, "bank_account_id": account, "card_level": "virtual", "payment_monthly_limit": 100}});
    let refused = app.post("/v2/cards", &org.token(Owner), card).await;
    refused.assert_status(422);
    assert!(refused.text.contains("/card/holder_id"), "{}", refused.text);

    // Refusals, each writing nothing.
    let again = app.post("/v2/memberships/invite_employee_or_accountant", &org.token(Owner), invite).await;
    again.assert_status(422);
    let admin =
        json!({"membership": {"email": "boss@example.com", "first_name": "A", "last_name": "B", "role": "admin"}});
    app.post("/v2/memberships/invite_employee_or_accountant", &org.token(Owner), admin).await.assert_status(422);
    let by_employee = json!({"membership": {"email": "x@example.com", "first_name": "X", "last_name": "Y"}});
    app.post("/v2/memberships/invite_employee_or_accountant", &org.token(Employee), by_employee.clone())
        .await
        .assert_status(403);
    let nowhere = json!({"membership": {"email": "y@example.com", "first_name": "Y", "last_name": "Z", "team_id": uuid::Uuid::new_v4()}});
    app.post("/v2/memberships/invite_employee_or_accountant", &org.token(Owner), nowhere).await.assert_status(422);
    let accountant = json!({"membership": {"email": "books@example.com", "first_name": "B", "last_name": "K", "role": "accountant"}});
    let made = app.post("/v2/memberships/invite_employee_or_accountant", &org.token(Admin), accountant).await;
    made.assert_status(200);
    assert_eq!(made.body["membership"]["role"], "reporting");
    let count = app.get("/v2/memberships?per_page=100", &org.token(Owner)).await.body["meta"]["total_count"].clone();
    assert_eq!(count, json!(org.body["memberships"].as_array().unwrap().len() + 2), "two invitations kept, no more");
    // Each invitation is reported to `v1/memberships`, as Qonto does; the refusals, not.
    let deliveries =
        app.admin(Method::GET, &format!("/_sandbox/organizations/{}/webhook_deliveries", org.id()), None).await;
    let reported: Vec<(&str, &str)> = deliveries.body["webhook_deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["type"].as_str().unwrap(), d["event"].as_str().unwrap()))
        .collect();
    assert_eq!(reported, vec![("v1/memberships", "created"); 2]);

    // They accept (the control API stands in for the e-mail's link): active, reported, once.
    let accept = format!("/_sandbox/memberships/{id}/accept");
    let joined = app.admin(Method::POST, &accept, None).await;
    joined.assert_status(200);
    assert_eq!(
        (joined.body["membership"]["status"].as_str(), joined.body["membership"]["kyc_status"].as_str()),
        (Some("active"), Some("accepted"))
    );
    let twice = app.admin(Method::POST, &accept, None).await;
    assert_eq!((twice.status.as_u16(), twice.error_code()), (422, "invalid_transition"));
    let unknown =
        app.admin(Method::POST, &format!("/_sandbox/memberships/{}/accept", uuid::Uuid::new_v4()), None).await;
    unknown.assert_status(404);
    let deliveries =
        app.admin(Method::GET, &format!("/_sandbox/organizations/{}/webhook_deliveries", org.id()), None).await;
    assert_eq!(deliveries.body["webhook_deliveries"][0]["event"], "updated", "newest first");
    let card = json!({"card": {"holder_id": id, "bank_account_id": account, "card_level": "virtual", "payment_monthly_limit": 100}});
    app.post("/v2/cards", &org.token(Owner), card).await.assert_status(200);
}
