use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request};
use cardinal_api::secrets::luhn_valid;
use cardinal_domain::Role::*;
use serde_json::json;

/// The path part of an iframe URL the server handed out.
fn path_of(url: &str) -> String {
    url.strip_prefix("http://cardinal.test").unwrap().to_owned()
}

async fn link(app: &TestApp, org: &Org, role: cardinal_domain::Role, card: &str) -> Response {
    app.get(&format!("/v2/cards/{card}/data_view"), &org.token(role)).await
}

#[tokio::test]
async fn the_link_opens_once_and_shows_a_valid_pan() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Employee, "standard");
    let r = link(&app, &org, Employee, &card).await;
    r.assert_status(200);
    let url = r.body["iframe_url"].as_str().unwrap();
    assert!(url.starts_with("http://cardinal.test/card_data/"), "{url}");

    let page = app.send(Method::GET, &path_of(url), None, None).await;
    page.assert_status(200);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = &page.text;
    assert!(html.contains("width:504px") && html.contains("height:460px"));
    assert!(html.contains("DAVID PETIT"), "holder name");
    let pan_text = html.split("id=\"pan\">").nth(1).unwrap().split('<').next().unwrap();
    let pan: String = pan_text.split(' ').collect();
    assert_eq!(pan_text.split(' ').count(), 4, "grouped in fours: {pan_text}");
    assert!(pan.starts_with("511768") && luhn_valid(&pan), "{pan}");
    let shown = app.get(&format!("/v2/cards/{card}"), &org.token(Owner)).await;
    assert!(pan.ends_with(shown.card()["last_digits"].as_str().unwrap()));
    let cvv = html.split("id=\"cvv\">").nth(1).unwrap().split('<').next().unwrap();
    assert!(cvv.len() == 3 && cvv.chars().all(|c| c.is_ascii_digit()));
    let expiry = html.split("id=\"expiry\">").nth(1).unwrap().split('<').next().unwrap();
    let month: u32 = shown.card()["exp_month"].as_str().unwrap().parse().unwrap();
    assert_eq!(expiry, format!("{month:02}/{}", &shown.card()["exp_year"].as_str().unwrap()[2..]));

    let again = app.send(Method::GET, &path_of(url), None, None).await;
    again.assert_status(410);
    assert!(again.text.contains("expired"));
    assert!(!again.text.contains(&pan));

    let events = app.admin(Method::GET, &format!("/_sandbox/cards/{card}/events"), None).await;
    let views: Vec<_> =
        events.body["events"].as_array().unwrap().iter().filter(|e| e["action"] == "data_view").collect();
    assert_eq!(views.len(), 1, "each view is audited once");
    assert_eq!(views[0]["actor"]["id"], org.member_id(Employee).as_str());
    assert!(!events.text.contains(&pan), "the PAN never reaches the audit trail");
}

#[tokio::test]
async fn the_page_speaks_six_languages() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "virtual");
    for (lang, label) in [
        ("en", "Card number"),
        ("fr", "Numéro de carte"),
        ("it", "Numero della carta"),
        ("es", "Número de tarjeta"),
        ("de", "Kartennummer"),
        ("pt", "Número do cartão"),
    ] {
        let url = link(&app, &org, Owner, &card).await.body["iframe_url"].as_str().unwrap().to_owned();
        let page = app.send(Method::GET, &format!("{}?lang={lang}", path_of(&url)), None, None).await;
        assert!(page.text.contains(label), "{lang}");
        assert!(page.text.contains(&format!("lang=\"{lang}\"")));
    }
    let url = link(&app, &org, Owner, &card).await.body["iframe_url"].as_str().unwrap().to_owned();
    let request =
        Request::builder().uri(path_of(&url)).header("accept-language", "de-CH, fr;q=0.8").body(Body::empty()).unwrap();
    assert!(app.raw(request).await.text.contains("Kartennummer"));
}

#[tokio::test]
async fn links_expire_after_five_minutes_on_the_organizations_clock() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "virtual");
    let url = link(&app, &org, Owner, &card).await.body["iframe_url"].as_str().unwrap().to_owned();
    let moved = app
        .admin(Method::POST, &format!("/_sandbox/organizations/{}/clock", org.id()), Some(json!({"advance_by": 301})))
        .await;
    moved.assert_status(200);
    app.send(Method::GET, &path_of(&url), None, None).await.assert_status(410);
    app.send(Method::GET, "/card_data/not-a-real-token", None, None).await.assert_status(410);
}

#[tokio::test]
async fn who_may_see_card_numbers() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let employee_card = org.card(Employee, "virtual");
    link(&app, &org, Admin, &employee_card).await.assert_status(200);
    link(&app, &org, Employee, &employee_card).await.assert_status(200);
    assert_eq!(
        link(&app, &org, Manager, &employee_card).await.error_code(),
        "forbidden",
        "a manager sees only their own"
    );
    link(&app, &org, Manager, &org.card(Manager, "virtual")).await.assert_status(200);
    assert_eq!(link(&app, &org, Reporting, &employee_card).await.error_code(), "forbidden");
    assert_eq!(link(&app, &org, Employee, &org.card(Owner, "virtual")).await.error_code(), "not_found");
    let other = app.org().await;
    assert_eq!(link(&app, &other, Owner, &employee_card).await.error_code(), "not_found");
}

#[tokio::test]
async fn the_clock_moves_forward_only() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let path = format!("/_sandbox/organizations/{}/clock", org.id());
    let r = app.admin(Method::POST, &path, Some(json!({"advance_by": 86_400}))).await;
    r.assert_status(200);
    let now: jiff::Timestamp = r.body["now"].as_str().unwrap().parse().unwrap();
    let ahead = now.as_second() - jiff::Timestamp::now().as_second();
    assert!((86_390..=86_410).contains(&ahead), "{ahead}");
    let r = app.admin(Method::POST, &path, Some(json!({"set": "2001-01-01T00:00:00Z"}))).await;
    assert_eq!(r.body["errors"][0]["source"]["pointer"], "/set");
    let r = app.admin(Method::POST, &path, Some(json!({"advance_by": -5}))).await;
    r.assert_status(422);
    let r = app.admin(Method::POST, &path, Some(json!({"set": "2099-06-01T10:00:00Z"}))).await;
    assert_eq!(r.body["now"], "2099-06-01T10:00:00Z");
    let card = org.card(Owner, "virtual");
    let shown = app.get(&format!("/v2/cards/{card}"), &org.token(Owner)).await;
    assert_eq!(shown.card()["status"], "expired", "cards read expired on the organization's clock");
    let locked = app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await;
    assert_eq!(locked.error_code(), "invalid_transition");
    let expired = app.get("/v2/cards?statuses[]=expired", &org.token(Owner)).await;
    assert_eq!(expired.body["meta"]["total_count"], 10);
    let other = app.org().await;
    let theirs = app.get(&format!("/v2/cards/{}", other.card(Owner, "virtual")), &other.token(Owner)).await;
    assert_eq!(theirs.card()["status"], "live", "clocks are per organization");
    app.admin(Method::POST, "/_sandbox/organizations/nope/clock", Some(json!({"advance_by": 1})))
        .await
        .assert_status(404);
}

#[tokio::test]
async fn sca_sessions_expire_after_fifteen_minutes() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({})).await;
    let card = org.card(Employee, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Admin)).await;
    let token = app.put(&format!("/v2/cards/{card}/unlock"), &org.token(Admin)).await.body["sca_session_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.send(Method::POST, &format!("/v2/mocked_sca_sessions/{token}/allow"), None, None).await.assert_status(200);
    app.admin(
        Method::POST,
        &format!("/_sandbox/organizations/{}/clock", org.id()),
        Some(json!({"advance_by": 15 * 60})),
    )
    .await;
    assert_eq!(app.get(&format!("/v2/sca_sessions/{token}"), &org.token(Admin)).await.body["result"], "deny");
    let r = app
        .send_with(
            Method::PUT,
            &format!("/v2/cards/{card}/unlock"),
            &org.token(Admin),
            None,
            &[("x-qonto-sca-session-token", &token)],
        )
        .await;
    r.assert_status(412);
    assert_eq!(r.body["code"], "sca_denied");
}
