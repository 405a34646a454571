use crate::support::*;
use cardinal_domain::Role::*;
use serde_json::json;

#[tokio::test]
async fn organization_and_bank_accounts() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({"legal_name": "Acme Corp", "balance": 1234.5})).await;
    let r = app.get("/v2/organization", &org.token(Employee)).await;
    r.assert_status(200);
    let o = &r.body["organization"];
    assert_eq!(o["id"], org.id());
    assert_eq!(o["legal_name"], "Acme Corp");
    assert!(o["slug"].as_str().unwrap().starts_with("acme-corp-"));
    let account = &o["bank_accounts"][0];
    for field in [
        "id",
        "name",
        "organization_id",
        "status",
        "main",
        "iban",
        "bic",
        "currency",
        "balance",
        "balance_cents",
        "authorized_balance",
        "authorized_balance_cents",
        "updated_at",
    ] {
        assert!(account.get(field).is_some(), "bank account lacks {field}");
    }
    assert_eq!(account["balance"], 1234.5);
    assert_eq!(account["balance_cents"], 123450);
    assert!(
        account["iban"].as_str().unwrap().starts_with("FR76") || account["iban"].as_str().unwrap().starts_with("FR")
    );
    assert!(cardinal_api::sandbox::seed::iban_valid(account["iban"].as_str().unwrap()));

    let list = app.get("/v2/bank_accounts", &org.token(Owner)).await;
    assert_eq!(list.body["bank_accounts"][0]["id"], account["id"]);
    assert_eq!(list.body["meta"]["total_count"], 1);
    let id = account["id"].as_str().unwrap();
    let one = app.get(&format!("/v2/bank_accounts/{id}"), &org.token(Owner)).await;
    assert_eq!(one.body["bank_account"]["iban"], account["iban"]);
    app.get("/v2/bank_accounts/nope", &org.token(Owner)).await.assert_status(404);
}

#[tokio::test]
async fn memberships_and_the_callers_membership() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let list = app.get("/v2/memberships?per_page=2", &org.token(Owner)).await;
    list.assert_status(200);
    assert_eq!(list.body["meta"]["total_count"], 5);
    assert_eq!(list.body["memberships"].as_array().unwrap().len(), 2);
    let first = &list.body["memberships"][0];
    for field in ["id", "first_name", "last_name", "role", "status", "team_id"] {
        assert!(first.get(field).is_some(), "membership lacks {field}");
    }
    let me = app.get("/v2/membership", &org.token(Manager)).await;
    me.assert_status(200);
    let m = &me.body["membership"];
    assert_eq!(m["id"], org.member_id(Manager).as_str());
    assert_eq!(m["role"], "manager");
    assert!(m["email"].as_str().unwrap().contains('@'));
    assert_eq!(m["team_id"], org.member(Employee)["team_id"], "manager and employee share a team");
    assert!(m["team_id"].is_string());
}

#[tokio::test]
async fn custom_members_and_their_teams() {
    let app = TestApp::new().await;
    let org = app
        .org_with(json!({"members": [
            {"first_name": "Zoé", "last_name": "Leroy", "role": "owner"},
            {"first_name": "Yann", "last_name": "Moreau", "role": "employee", "team": "Ops"}
        ], "cards": false}))
        .await;
    assert_eq!(org.card_count(), 0);
    let list = app.get("/v2/memberships", &org.token(Owner)).await;
    assert_eq!(list.body["meta"]["total_count"], 2);
    let cards = app.get("/v2/cards", &org.token(Owner)).await;
    assert_eq!(cards.body["meta"]["total_count"], 0);
}

/// `qonto-reference.md` §8.2: the organization's legal identity, and its embedded accounts'
/// `slug`, `is_external_account` and `account_number`; `/v2/bank_accounts` items carry the
/// last two, not the slug.
#[tokio::test]
async fn the_organization_shows_its_legal_identity_as_qonto_does() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let r = app.get("/v2/organization", &org.token(Owner)).await;
    r.assert_status(200);
    let o = &r.body["organization"];
    for field in ["name", "legal_country", "legal_form", "legal_address", "legal_sector", "legal_number"] {
        assert!(o[field].as_str().is_some_and(|v| !v.is_empty()), "{field}: {o}");
    }
    assert_eq!(o["legal_country"], "FR");
    assert!(o["legal_share_capital"].is_number());
    assert!(o["legal_registration_date"].as_str().unwrap().parse::<jiff::civil::Date>().is_ok());
    assert!(o["contract_signed_at"].as_str().unwrap().parse::<jiff::Timestamp>().is_ok());
    let siren = o["legal_number"].as_str().unwrap();
    assert_eq!(siren.len(), 9);
    assert!(cardinal_api::secrets::luhn_valid(siren), "{siren} is a SIREN");
    let again = app.get("/v2/organization", &org.token(Employee)).await;
    assert_eq!(again.body["organization"]["legal_number"], o["legal_number"], "the same at every read");
    let account = &o["bank_accounts"][0];
    let slug = o["slug"].as_str().unwrap();
    assert_eq!(account["slug"], format!("{slug}-bank-account-1"));
    assert_eq!(account["is_external_account"], false);
    let iban = account["iban"].as_str().unwrap();
    assert_eq!(account["account_number"].as_str(), Some(&iban[14..25]));
    let listed = app.get("/v2/bank_accounts", &org.token(Owner)).await;
    let item = &listed.body["bank_accounts"][0];
    assert!(item.get("slug").is_none() && item["account_number"] == account["account_number"]);

    // The control API sets some of it; the rest keeps its value, and members read the change.
    let legal = format!("/_sandbox/organizations/{}/legal", org.id());
    let change = json!({"legal_form": "SARL", "legal_share_capital": 25000.5, "legal_registration_date": "2021-03-01"});
    let set = app.admin(axum::http::Method::PATCH, &legal, Some(change)).await;
    set.assert_status(200);
    let read = app.get("/v2/organization", &org.token(Employee)).await;
    let o2 = &read.body["organization"];
    assert_eq!((o2["legal_form"].as_str(), o2["legal_share_capital"].as_f64()), (Some("SARL"), Some(25000.5)));
    assert_eq!(o2["legal_registration_date"], "2021-03-01");
    assert_eq!((&o2["legal_number"], &o2["legal_address"]), (&o["legal_number"], &o["legal_address"]));
    assert_eq!(set.body["organization"]["legal_form"], "SARL");
    for bad in [
        json!({"legal_country": "FRA"}),
        json!({"legal_form": " "}),
        json!({"legal_share_capital": -1}),
        json!({"siren": "1"}),
    ] {
        let refused = app.admin(axum::http::Method::PATCH, &legal, Some(bad.clone())).await;
        assert_eq!(refused.status.as_u16(), 422, "{bad}: {}", refused.text);
    }
    let nobody = format!("/_sandbox/organizations/{}/legal", uuid::Uuid::new_v4());
    assert_eq!(app.admin(axum::http::Method::PATCH, &nobody, Some(json!({}))).await.status.as_u16(), 404);
    assert_eq!(app.get("/v2/organization", &org.token(Owner)).await.body["organization"]["legal_form"], "SARL");
}
