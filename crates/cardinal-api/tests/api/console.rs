//! The console's door (spec §10), below the browser: signing in, what a form must prove
//! (a live session, its CSRF token, a same-origin sender), escaping, and that production has
//! no console. Each refused form is checked to have written nothing. The browser tests
//! (clients/console_browser.py) drive the same pages in Chromium.

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request};
use cardinal_domain::Role::*;
use serde_json::json;

/// A browser's session: its cookies and the CSRF token of its last page.
struct Browser<'a> {
    app: &'a TestApp,
    cookies: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Browser<'a> {
        Browser { app, cookies: Vec::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep_cookies(&mut self, r: &Response) {
        for value in r.headers.get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    async fn get(&mut self, path: &str) -> Response {
        let request = Request::get(path).header("cookie", self.cookie_header()).body(Body::empty()).unwrap();
        let r = self.app.raw(request).await;
        self.keep_cookies(&r);
        r
    }

    /// A form post, as a browser on the console's own page sends it.
    async fn post(&mut self, path: &str, form: &str) -> Response {
        self.post_with(path, form, &[("sec-fetch-site", "same-origin")]).await
    }

    async fn post_with(&mut self, path: &str, form: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = Request::post(path)
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let r = self.app.raw(request.body(Body::from(form.to_owned())).unwrap()).await;
        self.keep_cookies(&r);
        r
    }

    async fn sign_in(app: &'a TestApp) -> (Browser<'a>, String) {
        let mut browser = Browser::new(app);
        let page = browser.get("/console/sign-in").await;
        page.assert_status(200);
        let form = format!("csrf_token={}&token={ADMIN}", csrf_of(&page.text));
        let signed = browser.post("/console/sign-in", &form).await;
        assert_eq!((signed.status.as_u16(), location(&signed)), (303, "/console"));
        let home = browser.get("/console").await;
        home.assert_status(200);
        let csrf = csrf_of(&home.text);
        (browser, csrf)
    }
}

fn csrf_of(page: &str) -> String {
    let start = page.find(r#"name="csrf_token" value=""#).expect("a form with a CSRF token") + 25;
    page[start..].split('"').next().unwrap().to_owned()
}

fn location(r: &Response) -> &str {
    r.headers.get("location").map(|v| v.to_str().unwrap()).unwrap_or_default()
}

async fn organization_count(app: &TestApp) -> u64 {
    app.admin(Method::GET, "/_sandbox/organizations", None).await.body["meta"]["total_count"].as_u64().unwrap()
}

#[tokio::test]
async fn the_root_leads_to_the_console_which_asks_to_sign_in() {
    let app = TestApp::new().await;
    let root = app.send(Method::GET, "/", None, None).await;
    assert_eq!((root.status.as_u16(), location(&root)), (303, "/console"));
    let console = app.send(Method::GET, "/console", None, None).await;
    assert_eq!((console.status.as_u16(), location(&console)), (303, "/console/sign-in"));
    let page = app.send(Method::GET, "/console/sign-in", None, None).await;
    page.assert_status(200);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    for directive in ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"] {
        assert!(csp.contains(directive), "{csp}");
    }
    let cookie = page.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
}

#[tokio::test]
async fn signing_in_takes_the_admin_token_and_nothing_else() {
    let app = TestApp::new().await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/console/sign-in").await;
    let wrong = browser.post("/console/sign-in", &format!("csrf_token={}&token=guess", csrf_of(&page.text))).await;
    wrong.assert_status(401);
    assert!(wrong.text.contains("not the admin token"));
    let no_csrf = browser.post("/console/sign-in", &format!("token={ADMIN}")).await;
    no_csrf.assert_status(403);
    let (_, csrf) = Browser::sign_in(&app).await;
    assert!(!csrf.is_empty());
}

#[tokio::test]
async fn a_form_without_its_csrf_token_or_from_another_site_writes_nothing() {
    let app = TestApp::new().await;
    let (mut browser, csrf) = Browser::sign_in(&app).await;
    let before = organization_count(&app).await;
    let missing = browser.post("/console/organizations", "legal_name=No+token").await;
    missing.assert_status(403);
    let wrong = browser.post("/console/organizations", "legal_name=Wrong&csrf_token=forged").await;
    wrong.assert_status(403);
    let form = format!("legal_name=Cross+site&csrf_token={csrf}");
    let cross = browser.post_with("/console/organizations", &form, &[("sec-fetch-site", "cross-site")]).await;
    cross.assert_status(403);
    let foreign = browser.post_with("/console/organizations", &form, &[("origin", "https://evil.example")]).await;
    foreign.assert_status(403);
    assert_eq!(organization_count(&app).await, before, "nothing was written");
    let made = browser.post("/console/organizations", &format!("legal_name=Made&csrf_token={csrf}")).await;
    made.assert_status(303);
    assert_eq!(organization_count(&app).await, before + 1);
}

#[tokio::test]
async fn a_stale_cookie_opens_nothing_and_writes_nothing() {
    let app = TestApp::new().await;
    let (mut browser, csrf) = Browser::sign_in(&app).await;
    let signed_out = browser.post("/console/sign-out", &format!("csrf_token={csrf}")).await;
    assert_eq!((signed_out.status.as_u16(), location(&signed_out)), (303, "/console/sign-in"));
    let mut stale = Browser::new(&app);
    stale.cookies.push(("cardinal_console".into(), "a-session-that-ended".into()));
    let page = stale.get("/console").await;
    assert_eq!((page.status.as_u16(), location(&page)), (303, "/console/sign-in"));
    let before = organization_count(&app).await;
    let form = format!("legal_name=Stale&csrf_token={csrf}");
    stale.post("/console/organizations", &form).await.assert_status(403);
    browser.post("/console/organizations", &form).await.assert_status(403);
    assert_eq!(organization_count(&app).await, before);
}

#[tokio::test]
async fn html_in_an_organization_name_is_shown_as_text() {
    let app = TestApp::new().await;
    let (mut browser, csrf) = Browser::sign_in(&app).await;
    let name = "%3Cscript%3Ealert(1)%3C%2Fscript%3E+%26+%22Co%22";
    let made = browser.post("/console/organizations", &format!("legal_name={name}&csrf_token={csrf}")).await;
    made.assert_status(303);
    let page = browser.get(location(&made)).await;
    page.assert_status(200);
    assert!(!page.text.contains("<script>alert(1)"), "no markup from a name");
    assert!(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;"));
    let list = browser.get("/console").await;
    assert!(list.text.contains("&lt;script&gt;") && !list.text.contains("<script>alert"));
}

#[tokio::test]
async fn the_console_refuses_what_the_api_refuses() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let (mut browser, csrf) = Browser::sign_in(&app).await;
    let card = org.card(Owner, "standard");
    let base = format!("/console/organizations/{}/cards/{card}", org.id());
    // An employee may not unlock (the one permission table): refused, the card unchanged.
    let locked =
        browser.post(&format!("{base}/lock"), &format!("member={}&csrf_token={csrf}", org.member_id(Owner))).await;
    locked.assert_status(303);
    let employee = org.member_id(Employee);
    browser.post(&format!("{base}/unlock"), &format!("member={employee}&csrf_token={csrf}")).await.assert_status(303);
    let page = browser.get(&base).await;
    assert!(page.text.contains("notice refused"), "{}", page.text);
    let card_now = app.get(&format!("/v2/cards/{card}"), &org.token(Owner)).await;
    assert_eq!(card_now.card()["status"], "paused");
    // A bad amount is the API's own schema error, at its pointer.
    let paid = browser
        .post(
            &format!("{base}/payment"),
            &format!("amount=-3&merchant=Shop&category=other&country=FR&channel=online&csrf_token={csrf}"),
        )
        .await;
    paid.assert_status(303);
    let page = browser.get(&base).await;
    assert!(page.text.contains("at /amount"), "{}", page.text);
    // Another organization's card is not found under this one.
    let other = app.org().await;
    let elsewhere = format!("/console/organizations/{}/cards/{card}", other.id());
    assert!(browser.get(&elsewhere).await.text.contains("not_found"));
}

#[tokio::test]
async fn every_console_page_is_small() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "standard");
    let (mut browser, _) = Browser::sign_in(&app).await;
    let base = format!("/console/organizations/{}", org.id());
    for path in [
        "/console".to_owned(),
        base.clone(),
        format!("{base}/cards/{card}"),
        format!("{base}/requests"),
        format!("{base}/webhooks"),
        "/console/oauth".into(),
        "/console/reference".into(),
    ] {
        let page = browser.get(&path).await;
        page.assert_status(200);
        assert!(page.text.len() < 100_000, "{path}: {} bytes", page.text.len());
        assert_eq!(page.headers["content-type"], "text/html; charset=utf-8", "{path}");
    }
}

#[tokio::test]
async fn production_has_no_console_and_answers_an_index_at_the_root() {
    let app = TestApp::builder().production().build().await;
    for path in ["/console", "/console/sign-in", "/console/assets/console.css", "/console/reference"] {
        app.send(Method::GET, path, None, None).await.assert_status(404);
    }
    let index = app.send(Method::GET, "/", None, None).await;
    index.assert_status(200);
    assert_eq!((index.body["name"].as_str(), index.body["docs"].as_str()), (Some("Cardinal"), Some("/openapi.json")));
}

/// A card's page lists its transactions with their receipts (download links that open the
/// file) and labels.
#[tokio::test]
async fn a_cards_transactions_show_their_receipts_and_labels() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Employee, "virtual");
    let purchase = json!({"amount": 9.9, "channel": "online", "merchant": {"name": "Kiosk", "category": "other", "country": "FR"}});
    let paid = app.admin(Method::POST, &format!("/_sandbox/cards/{card}/authorizations"), Some(purchase)).await;
    let transaction = paid.body["authorization"]["transaction_id"].as_str().unwrap().to_owned();
    let body = crate::receipts::multipart("kiosk.pdf", crate::receipts::PDF);
    let request = Request::post(format!("/v2/transactions/{transaction}/attachments"))
        .header("authorization", org.token(Employee))
        .header("content-type", "multipart/form-data; boundary=cardinal-test-boundary")
        .body(Body::from(body))
        .unwrap();
    app.raw(request).await.assert_status(200);
    let label = app
        .admin(Method::POST, &format!("/_sandbox/organizations/{}/labels", org.id()), Some(json!({"name": "Snacks"})))
        .await;
    let label = label.body["label"]["id"].as_str().unwrap().to_owned();
    let labels = format!("/_sandbox/transactions/{transaction}/labels");
    app.admin(Method::PUT, &labels, Some(json!({"label_ids": [label]}))).await.assert_status(200);

    let (mut browser, _) = Browser::sign_in(&app).await;
    let page = browser.get(&format!("/console/organizations/{}/cards/{card}", org.id())).await;
    page.assert_status(200);
    assert!(page.text.contains("kiosk.pdf") && page.text.contains("Snacks"), "{}", page.text);
    let start = page.text.find("href=\"/files/").expect("a download link") + 6;
    let link = page.text[start..].split('"').next().unwrap().replace("&amp;", "&");
    let file = app.send(Method::GET, &link, None, None).await;
    assert_eq!((file.status.as_u16(), file.text.as_bytes()), (200, crate::receipts::PDF));
}
