//! What real Qonto clients need of Cardinal (issue: "Real Qonto clients work against Cardinal
//! unchanged"): each test covers one change a strict-schema CLI or `@qonto/embed-sdk` needed.

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request};
use cardinal_domain::Role::*;
use serde_json::{json, Value};

fn virtual_card(org: &Org) -> Value {
    json!({"card": {
        "holder_id": org.member_id(Employee),
        "initiator_id": org.member_id(Owner),
        "organization_id": org.id(),
        "bank_account_id": org.body["bank_account"]["id"],
        "card_level": "virtual",
    }})
}

#[tokio::test]
async fn a_card_that_never_paid_shows_its_creation_as_its_last_activity() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let owner = org.token(Owner);
    let created = app.post("/v2/cards", &owner, virtual_card(&org)).await;
    created.assert_status(200);
    let id = created.card()["id"].as_str().unwrap().to_owned();
    let locked = app.put(&format!("/v2/cards/{id}/lock"), &owner).await;
    let shown = app.get(&format!("/v2/cards/{id}"), &owner).await;
    let listed = app.get(&format!("/v2/cards?ids[]={id}"), &owner).await;
    for card in [created.card(), locked.card(), shown.card(), &listed.body["cards"][0]] {
        assert_eq!(card["last_activity_at"], card["created_at"], "{card}");
    }
    // Sorting by it treats such cards as active at their creation, on both backends.
    let sorted = app.get("/v2/cards?sort_by=last_activity_at:desc", &owner).await;
    sorted.assert_status(200);
    let times: Vec<&str> =
        sorted.body["cards"].as_array().unwrap().iter().map(|c| c["last_activity_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
}

#[tokio::test]
async fn a_card_created_without_a_monthly_limit_gets_its_levels_default() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let owner = org.token(Owner);
    let created = app.post("/v2/cards", &owner, virtual_card(&org)).await;
    created.assert_status(200);
    assert_eq!(created.card()["payment_monthly_limit"], 1000);

    let mut standard = virtual_card(&org);
    standard["card"]["card_level"] = json!("standard");
    standard["card"]["address"] = json!({"contact_name": "Front desk", "first_line": "12 rue de la Paix",
        "second_line": "Bâtiment B", "third_line": "3e étage", "zipcode": "75002", "city": "Paris", "country": "fr"});
    let created = app.post("/v2/cards", &owner, standard).await;
    created.assert_status(200);
    assert_eq!(created.card()["payment_monthly_limit"], 2000);
    let id = created.card()["id"].as_str().unwrap();
    let events = app.admin(Method::GET, &format!("/_sandbox/cards/{id}/events"), None).await;
    let address = &events.body["events"][0]["changes"]["address"];
    assert_eq!(address["contact_name"], "Front desk", "the address is stored and shown back: {address}");
    assert_eq!(address["third_line"], "3e étage");
    assert_eq!(address["country"], "FR");
}

#[tokio::test]
async fn only_owners_and_admins_rename_a_card_or_change_its_options() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Employee, "virtual");
    let rename = json!({"card": {"nickname": "Travel"}});
    for role in [Manager, Employee] {
        let r = app.patch(&format!("/v2/cards/{card}/nickname"), &org.token(role), rename.clone()).await;
        r.assert_status(403);
        assert_eq!(
            r.detail(),
            format!("{} {role} may not rename this card", if role == Employee { "an" } else { "a" })
        );
    }
    app.patch(&format!("/v2/cards/{card}/nickname"), &org.token(Admin), rename).await.assert_status(200);
    let limits = app
        .patch(&format!("/v2/cards/{card}/limits"), &org.token(Manager), json!({"card": {"payment_monthly_limit": 5}}))
        .await;
    assert_eq!(limits.detail(), "a manager may not update the limits of this card");
}

#[tokio::test]
async fn limits_are_whole_euros_in_and_out() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "standard");
    let path = format!("/v2/cards/{card}/limits");
    let r = app.patch(&path, &org.token(Owner), json!({"card": {"payment_daily_limit": 99.5}})).await;
    r.assert_status(422);
    assert_eq!(r.detail(), "payment_daily_limit must be a whole number of euros");
    let r = app.patch(&path, &org.token(Owner), json!({"card": {"payment_daily_limit": 99.0}})).await;
    r.assert_status(200);
    for field in ["payment_daily_limit", "payment_monthly_limit", "atm_monthly_limit", "payment_transaction_limit"] {
        assert!(r.card()[field].is_i64(), "{field} is {}", r.card()[field]);
    }
    assert_eq!(r.card()["payment_daily_limit"], 99);
}

#[tokio::test]
async fn every_route_answers_with_a_trailing_slash() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let owner = org.token(Owner);
    let card = org.card(Owner, "virtual");
    let account = org.body["bank_account"]["id"].as_str().unwrap();
    for path in [
        "/v2/organization/".to_owned(),
        "/v2/bank_accounts/".to_owned(),
        format!("/v2/bank_accounts/{account}/"),
        "/v2/cards/".to_owned(),
        format!("/v2/cards/{card}/"),
        "/v2/memberships/".to_owned(),
        "/v2/membership/".to_owned(),
        format!("/v2/transactions/?bank_account_id={account}"),
    ] {
        app.get(&path, &owner).await.assert_status(200);
    }
    let locked = app.put(&format!("/v2/cards/{card}/lock/"), &owner).await;
    locked.assert_status(200);
    assert_eq!(locked.card()["status"], "paused");
    app.get("/healthz/", &owner).await.assert_status(200);
}

#[tokio::test]
async fn the_tyk_trace_id_header_equals_the_trace_id() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let ok = app.get("/v2/organization", &org.token(Owner)).await;
    ok.assert_status(200);
    assert_eq!(ok.headers["x-tyk-trace-id"], ok.headers["x-request-id"]);
    let refused = app.get("/v2/cards/not-a-card", &org.token(Owner)).await;
    refused.assert_status(404);
    assert_eq!(refused.headers["x-tyk-trace-id"].to_str().unwrap(), refused.body["trace_id"]);
    let unknown = app.get("/nowhere", "").await;
    assert_eq!(unknown.headers["x-tyk-trace-id"].to_str().unwrap(), unknown.body["trace_id"]);
}

#[tokio::test]
async fn the_data_view_page_speaks_the_language_of_the_request_that_made_the_link() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "virtual");
    let link = app
        .send_with(
            Method::GET,
            &format!("/v2/cards/{card}/data_view"),
            &org.token(Owner),
            None,
            &[("accept-language", "fr-FR,fr;q=0.9,en;q=0.8")],
        )
        .await;
    link.assert_status(200);
    let url = link.body["iframe_url"].as_str().unwrap();
    let path = url.strip_prefix("http://cardinal.test").unwrap();
    // The browser opening it prefers German; the page stays in the integrator's French.
    let request = Request::builder().uri(path).header("accept-language", "de-DE").body(Body::empty()).unwrap();
    let page = app.raw(request).await;
    page.assert_status(200);
    assert!(page.text.contains("lang=\"fr\"") && page.text.contains("Numéro de carte"), "{}", page.text);
}

async fn transactions(app: &TestApp, org: &Org, query: &str) -> Response {
    let account = org.body["bank_account"]["id"].as_str().unwrap();
    app.get(&format!("/v2/transactions?bank_account_id={account}&{query}"), &org.token(Owner)).await
}

fn count(r: &Response) -> usize {
    r.assert_status(200);
    r.body["transactions"].as_array().unwrap().len()
}

#[tokio::test]
async fn transactions_take_dates_every_sort_includes_and_the_attachment_filter() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "virtual");
    let clock = app
        .admin(Method::POST, &format!("/_sandbox/organizations/{}/clock", org.id()), Some(json!({"advance_by": 0})))
        .await;
    let now: jiff::Timestamp = clock.body["now"].as_str().unwrap().parse().unwrap();
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let (yesterday, tomorrow) = (today.yesterday().unwrap(), today.tomorrow().unwrap());
    let purchase = json!({"amount": 12.5, "channel": "online", "merchant": {"name": "SNCF", "category": "transport", "country": "FR"}});
    for _ in 0..2 {
        app.admin(Method::POST, &format!("/_sandbox/cards/{card}/authorizations"), Some(purchase.clone()))
            .await
            .assert_status(200);
    }
    let whole_day = format!("emitted_at_from={today}&emitted_at_to={today}");
    assert_eq!(count(&transactions(&app, &org, &whole_day).await), 2, "a date is its whole day");
    assert_eq!(count(&transactions(&app, &org, &format!("emitted_at_to={yesterday}")).await), 0);
    assert_eq!(count(&transactions(&app, &org, &format!("updated_at_from={tomorrow}")).await), 0);
    assert_eq!(count(&transactions(&app, &org, &format!("created_at_from={today}T00:00:00Z")).await), 2);
    let bad = transactions(&app, &org, "emitted_at_from=10/03/2026").await;
    bad.assert_status(422);
    assert_eq!(bad.body["errors"][0]["source"]["parameter"], "emitted_at_from");

    for field in ["settled_at", "updated_at", "emitted_at", "created_at"] {
        for direction in ["asc", "desc"] {
            assert_eq!(count(&transactions(&app, &org, &format!("sort_by={field}:{direction}")).await), 2);
        }
    }

    let plain = transactions(&app, &org, "").await;
    let first = &plain.body["transactions"][0];
    assert!(first.get("labels").is_none() && first.get("attachments").is_none() && first.get("vat_details").is_none());
    let included = transactions(&app, &org, "includes[]=labels&includes[]=attachments&includes[]=vat_details").await;
    let first = &included.body["transactions"][0];
    assert_eq!((&first["labels"], &first["attachments"]), (&json!([]), &json!([])));
    assert_eq!(first["vat_details"], json!({"items": []}));
    let id = first["id"].as_str().unwrap();
    let shown = app.get(&format!("/v2/transactions/{id}?includes[]=labels"), &org.token(Owner)).await;
    assert_eq!(shown.body["transaction"]["labels"], json!([]));
    assert_eq!(transactions(&app, &org, "includes[]=receipts").await.error_code(), "not_in_list");

    assert_eq!(count(&transactions(&app, &org, "with_attachments=false").await), 2);
    assert_eq!(count(&transactions(&app, &org, "with_attachments=true").await), 0, "no transaction has one yet");
    assert_eq!(transactions(&app, &org, "with_attachments=yes").await.status.as_u16(), 422);
}

#[tokio::test]
async fn the_iban_certificate_is_a_pdf_naming_the_holder_and_the_iban() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({"sca_mode": "disabled", "legal_name": "Ateliers Durand", "country": "FR"})).await;
    let account = &org.body["bank_account"];
    let path = format!("/v2/bank_accounts/{}/iban_certificate", account["id"].as_str().unwrap());
    let r = app.get(&path, &org.token(Owner)).await;
    r.assert_status(200);
    assert_eq!(r.headers["content-type"], "application/pdf");
    assert!(r.text.starts_with("%PDF-") && r.text.trim_end().ends_with("%%EOF"));
    let iban = account["iban"].as_str().unwrap();
    let grouped: Vec<String> = iban.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    assert!(r.text.contains(&grouped.join(" ")), "the IBAN, in groups of four");
    assert!(r.text.contains("Ateliers Durand") && r.text.contains("QNTOFRP1XXX"));
    assert!(r.text.contains("Titulaire"), "a French organization's certificate is in French");
    let english = app.get(&format!("{path}?locale=en"), &org.token(Owner)).await;
    assert!(english.text.contains("IBAN certificate"));
    let unknown = app.get(&format!("{path}?locale=xx"), &org.token(Owner)).await;
    assert_eq!(unknown.error_code(), "not_in_list");

    let other = app.org().await;
    app.get(&path, &other.token(Owner)).await.assert_status(404);
    let path_of_other =
        format!("/v2/bank_accounts/{}/iban_certificate", other.body["bank_account"]["id"].as_str().unwrap());
    app.get(&path_of_other, &org.token(Owner)).await.assert_status(404);
}
