//! The OAuth 2.0 and OpenID Connect server (spec §8) through its HTTP door: the consent
//! page, the token endpoint's grants, refresh rotation with its grace, revocation, consent
//! withdrawal, discovery and ID tokens — and a test for every error the issue lists.

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use cardinal_domain::Role::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const CALLBACK: &str = "https://app.example/callback";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const STATE: &str = "state-0123456789";

pub struct Client {
    pub id: String,
    pub secret: String,
}

pub async fn register(app: &TestApp) -> Client {
    let body = json!({"name": "Books & Co", "redirect_uris": [CALLBACK, "http://127.0.0.1:9/cb"]});
    let r = app.admin(Method::POST, "/_sandbox/oauth_clients", Some(body)).await;
    r.assert_status(201);
    Client {
        id: r.body["client_id"].as_str().unwrap().into(),
        secret: r.body["client_secret"].as_str().unwrap().into(),
    }
}

fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The authorization request's parameters for `scope`, with PKCE.
pub fn authorization(client: &Client, scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", client.id.clone()),
        ("redirect_uri", CALLBACK.into()),
        ("scope", scope.into()),
        ("state", STATE.into()),
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".into()),
        ("nonce", "nonce-42".into()),
    ]
}

fn borrowed<'a>(params: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    params.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

pub async fn page(app: &TestApp, params: &[(&'static str, String)], headers: &[(&str, &str)]) -> Response {
    let mut request = Request::builder().uri(format!("/oauth2/auth?{}", encode(&borrowed(params))));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.raw(request.body(Body::empty()).unwrap()).await
}

/// The page's CSRF cookie and form token.
pub fn csrf(page: &Response) -> (String, String) {
    let cookie = page.headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let marker = r#"name="csrf_token" value=""#;
    let start = page.text.find(marker).expect("a CSRF field") + marker.len();
    let token = page.text[start..].split('"').next().unwrap().to_owned();
    (cookie, token)
}

pub async fn post_form(app: &TestApp, path: &str, form: &str, headers: &[(&str, &str)]) -> Response {
    let mut request =
        Request::builder().method(Method::POST).uri(path).header("content-type", "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.raw(request.body(Body::from(form.to_owned())).unwrap()).await
}

/// Signs in as `member` on the consent page of `params`, decides, and returns the redirect.
pub async fn consent(app: &TestApp, params: &[(&'static str, String)], member: &str, decision: &str) -> String {
    let shown = page(app, params, &[]).await;
    shown.assert_status(200);
    let (cookie, token) = csrf(&shown);
    let mut form = borrowed(params);
    form.extend([("membership_id", member), ("decision", decision), ("csrf_token", token.as_str())]);
    let r = post_form(app, "/oauth2/auth", &encode(&form), &[("cookie", &cookie)]).await;
    r.assert_status(302);
    r.headers["location"].to_str().unwrap().to_owned()
}

pub fn query_of(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn basic(client: &Client) -> String {
    format!("Basic {}", STANDARD.encode(format!("{}:{}", client.id, client.secret)))
}

pub async fn token(app: &TestApp, client: &Client, form: &[(&str, &str)]) -> Response {
    post_form(app, "/oauth2/token", &encode(form), &[("authorization", &basic(client))]).await
}

/// A code for `member` of `org` with `scope` (PKCE), exchanged: the token answer.
pub async fn signed_in(app: &TestApp, client: &Client, org: &Org, scope: &str) -> Value {
    let mut params = authorization(client, scope);
    params.push(("organization_id", org.id().into()));
    let location = consent(app, &params, &org.member_id(Admin), "allow").await;
    let code = query_of(&location, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let r = token(app, client, &form).await;
    r.assert_status(200);
    r.body
}

fn bearer(answer: &Value, field: &str) -> String {
    format!("Bearer {}", answer[field].as_str().unwrap())
}

#[track_caller]
pub fn assert_oauth_error(r: &Response, status: u16, error: &str) {
    r.assert_status(status);
    assert_eq!(r.body["error"], error, "{}", r.text);
    assert!(r.body["error_description"].is_string());
    assert_eq!(r.headers["cache-control"], "no-store");
}

async fn advance(app: &TestApp, org: &Org, seconds: i64) {
    let path = format!("/_sandbox/organizations/{}/clock", org.id());
    app.admin(Method::POST, &path, Some(json!({"advance_by": seconds}))).await.assert_status(200);
}

#[tokio::test]
async fn a_signed_in_member_gets_tokens_with_exactly_the_granted_scopes() {
    let app = TestApp::new().await;
    let (org, client) = (app.org().await, register(&app).await);
    let answer = signed_in(&app, &client, &org, "card.read offline_access openid").await;
    assert_eq!((answer["token_type"].as_str(), answer["expires_in"].as_i64()), (Some("bearer"), Some(3600)));
    assert_eq!(answer["scope"], "card.read offline_access openid");
    assert!(answer["access_token"].as_str().unwrap().starts_with("ory_at_"));
    assert!(answer["refresh_token"].as_str().unwrap().starts_with("ory_rt_"));
    let access = bearer(&answer, "access_token");
    app.get("/v2/cards", &access).await.assert_status(200);
    let lock = app.put(&format!("/v2/cards/{}/lock", org.card(Admin, "virtual")), &access).await;
    assert_eq!((lock.status.as_u16(), lock.detail()), (403, "missing required oauth scope"));
    let membership = app.get("/v2/membership", &access).await;
    assert_eq!(membership.status.as_u16(), 403, "membership.read was not granted");

    let without_offline = signed_in(&app, &client, &org, "card.read").await;
    assert!(without_offline.get("refresh_token").is_none() && without_offline.get("id_token").is_none());
}

#[tokio::test]
async fn the_id_token_carries_qontos_claims_and_verifies_against_the_jwks() {
    let app = TestApp::new().await;
    let (org, client) = (app.org().await, register(&app).await);
    // The organization's clock a day ahead: the ID token's times stay the client's (real).
    advance(&app, &org, 86_400).await;
    let answer = signed_in(&app, &client, &org, "openid organization.read").await;
    let id_token = answer["id_token"].as_str().unwrap();
    let jwks: JwkSet =
        serde_json::from_value(app.send(Method::GET, "/.well-known/jwks.json", None, None).await.body).unwrap();
    let header = decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let key = jwks.find(header.kid.as_deref().unwrap()).expect("the kid is published");
    assert!(header.kid.unwrap().starts_with("private:"));
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&client.id]);
    validation.set_issuer(&["http://cardinal.test"]);
    let claims = decode::<Value>(id_token, &DecodingKey::from_jwk(key).unwrap(), &validation).unwrap().claims;
    for claim in ["iss", "sub", "aud", "exp", "iat", "auth_time", "at_hash", "email", "sid", "jti", "rat"] {
        assert!(claims.get(claim).is_some(), "{claim} in {claims}");
    }
    assert_eq!(claims["sub"], org.member_id(Admin).as_str());
    assert_eq!(claims["email"], org.member(Admin)["email"]);
    assert_eq!(claims["nonce"], "nonce-42");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
    let real_now = jiff::Timestamp::now().as_second();
    assert!((claims["iat"].as_i64().unwrap() - real_now).abs() < 60, "iat is real time: {claims}");
    let access = answer["access_token"].as_str().unwrap();
    assert_eq!(claims["at_hash"], URL_SAFE_NO_PAD.encode(&Sha256::digest(access.as_bytes())[..16]));

    // A tampered token: one claim changed, the signature kept.
    let parts: Vec<&str> = id_token.split('.').collect();
    let mut forged: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    forged["sub"] = json!(org.member_id(Owner));
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(forged.to_string()), parts[2]);
    let refused = decode::<Value>(&forged, &DecodingKey::from_jwk(key).unwrap(), &validation);
    assert_eq!(refused.unwrap_err().kind(), &jsonwebtoken::errors::ErrorKind::InvalidSignature);
}

#[tokio::test]
async fn refresh_rotates_with_a_grace_then_reuse_revokes_the_family() {
    let app = TestApp::new().await;
    let (org, client) = (app.org().await, register(&app).await);
    let first = signed_in(&app, &client, &org, "card.read offline_access").await;
    let old = first["refresh_token"].as_str().unwrap();
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", old)];
    let second = token(&app, &client, &refresh).await;
    second.assert_status(200);
    assert_ne!(second.body["refresh_token"], first["refresh_token"], "rotated");
    assert_eq!(second.body["scope"], "card.read offline_access");
    let grace = token(&app, &client, &refresh).await;
    grace.assert_status(200);
    app.get("/v2/cards", &bearer(&grace.body, "access_token")).await.assert_status(200);

    advance(&app, &org, 61).await;
    assert_oauth_error(&token(&app, &client, &refresh).await, 400, "invalid_grant");
    for answer in [&first, &second.body, &grace.body] {
        let r = app.get("/v2/cards", &bearer(answer, "access_token")).await;
        assert_eq!(r.status.as_u16(), 401, "the whole family is revoked");
    }
    let newest = [("grant_type", "refresh_token"), ("refresh_token", second.body["refresh_token"].as_str().unwrap())];
    assert_oauth_error(&token(&app, &client, &newest).await, 400, "invalid_grant");
}

#[tokio::test]
async fn refresh_may_narrow_the_scopes_but_never_widen_them() {
    let app = TestApp::new().await;
    let (org, client) = (app.org().await, register(&app).await);
    let first = signed_in(&app, &client, &org, "card.read card.write offline_access").await;
    let rt = first["refresh_token"].as_str().unwrap();
    let narrowed =
        token(&app, &client, &[("grant_type", "refresh_token"), ("refresh_token", rt), ("scope", "card.read")]).await;
    narrowed.assert_status(200);
    assert_eq!(narrowed.body["scope"], "card.read");
    let rt = narrowed.body["refresh_token"].as_str().unwrap();
    let wider =
        token(&app, &client, &[("grant_type", "refresh_token"), ("refresh_token", rt), ("scope", "webhook")]).await;
    assert_oauth_error(&wider, 400, "invalid_scope");
}

async fn code_for(app: &TestApp, client: &Client, member: &str) -> String {
    let location = consent(app, &authorization(client, "card.read"), member, "allow").await;
    query_of(&location, "code").unwrap()
}

async fn exchange(app: &TestApp, client: &Client, code: &str, redirect: &str, verifier: &str) -> Response {
    let form =
        [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier)];
    token(app, client, &form).await
}

#[tokio::test]
async fn codes_are_single_use_short_lived_and_bound_to_their_verifier_and_redirect() {
    let app = TestApp::new().await;
    let (org, client) = (app.org().await, register(&app).await);
    let member = org.member_id(Employee);
    // Wrong verifier, wrong redirect_uri.
    let wrong = "x".repeat(43);
    let code = code_for(&app, &client, &member).await;
    assert_oauth_error(&exchange(&app, &client, &code, CALLBACK, &wrong).await, 400, "invalid_grant");
    let code = code_for(&app, &client, &member).await;
    let elsewhere = exchange(&app, &client, &code, "http://127.0.0.1:9/cb", VERIFIER).await;
    assert_oauth_error(&elsewhere, 400, "invalid_grant");
    // A replay: refused, and the first use's tokens revoked.
    let code = code_for(&app, &client, &member).await;
    let first = exchange(&app, &client, &code, CALLBACK, VERIFIER).await;
    first.assert_status(200);
    assert_oauth_error(&exchange(&app, &client, &code, CALLBACK, VERIFIER).await, 400, "invalid_grant");
    app.get("/v2/cards", &bearer(&first.body, "access_token")).await.assert_status(401);
    // Expired: past 10 minutes on the organization's clock.
    let code = code_for(&app, &client, &member).await;
    advance(&app, &org, 601).await;
    assert_oauth_error(&exchange(&app, &client, &code, CALLBACK, VERIFIER).await, 400, "invalid_grant");
}

#[tokio::test]
async fn request_errors_go_back_to_the_client_unless_the_client_or_redirect_is_unknown() {
    let app = TestApp::new().await;
    let client = register(&app).await;
    let with = |name: &'static str, value: &str| {
        let mut params = authorization(&client, "card.read");
        params.retain(|(k, _)| *k != name);
        params.push((name, value.to_owned()));
        params
    };
    // Unknown redirect URI, unknown client: an error page, never a redirect.
    for params in [with("redirect_uri", "https://evil.example/callback"), with("client_id", "nobody")] {
        let r = page(&app, &params, &[]).await;
        r.assert_status(400);
        assert!(r.headers.get("location").is_none());
        assert!(r.text.contains("<h1>"), "{}", r.text);
    }
    for (params, error) in [
        (with("scope", "card.read card.fly"), "invalid_scope"),
        (with("response_type", "token"), "unsupported_response_type"),
        (with("code_challenge_method", "plain"), "invalid_request"),
    ] {
        let r = page(&app, &params, &[]).await;
        r.assert_status(302);
        let location = r.headers["location"].to_str().unwrap();
        assert!(location.starts_with(CALLBACK), "{location}");
        assert_eq!(query_of(location, "error").as_deref(), Some(error));
        assert_eq!(query_of(location, "state").as_deref(), Some(STATE), "state comes back untouched");
    }
    let short = page(&app, &with("state", "1234567"), &[]).await;
    assert_eq!(query_of(short.headers["location"].to_str().unwrap(), "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn a_denied_consent_sends_access_denied_with_the_state() {
    let app = TestApp::new().await;
    let (org, client) = (app.org().await, register(&app).await);
    let location = consent(&app, &authorization(&client, "card.read"), &org.member_id(Owner), "deny").await;
    assert_eq!(query_of(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_of(&location, "state").as_deref(), Some(STATE));
    assert_eq!(query_of(&location, "code"), None);
}

#[tokio::test]
async fn the_client_authenticates_once_with_its_secret() {
    let app = TestApp::new().await;
    let client = register(&app).await;
    let wrong = Client { id: client.id.clone(), secret: "not-the-secret".into() };
    let r = token(&app, &wrong, &[("grant_type", "authorization_code"), ("code", "ory_ac_x")]).await;
    assert_oauth_error(&r, 401, "invalid_client");
    assert!(r.headers["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    let posted = encode(&[
        ("grant_type", "authorization_code"),
        ("code", "ory_ac_x"),
        ("redirect_uri", CALLBACK),
        ("client_id", &client.id),
        ("client_secret", &client.secret),
    ]);
    let r = post_form(&app, "/oauth2/token", &posted, &[]).await;
    assert_oauth_error(&r, 400, "invalid_grant");
    let both = post_form(&app, "/v2/oauth2/token", &posted, &[("authorization", &basic(&client))]).await;
    assert_oauth_error(&both, 400, "invalid_request");
    let none = post_form(&app, "/oauth2/token", "grant_type=refresh_token&refresh_token=ory_rt_x", &[]).await;
    assert_oauth_error(&none, 401, "invalid_client");
    let other = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(&other, 400, "unsupported_grant_type");
    let twice = token(&app, &client, &[("grant_type", "refresh_token"), ("grant_type", "refresh_token")]).await;
    assert_oauth_error(&twice, 400, "invalid_request");
    let json_body = app
        .send_with(
            Method::POST,
            "/oauth2/token",
            &basic(&client),
            Some(json!({"grant_type": "refresh_token"})),
            &[("content-type", "application/json")],
        )
        .await;
    assert_oauth_error(&json_body, 400, "invalid_request");
}

#[tokio::test]
async fn revocation_and_withdrawn_consents_stop_tokens() {
    let app = TestApp::new().await;
    let (org, client) = (app.org().await, register(&app).await);
    let answer = signed_in(&app, &client, &org, "card.read organization.read offline_access").await;
    let form = encode(&[("token", answer["access_token"].as_str().unwrap())]);
    let r = post_form(&app, "/oauth2/revoke", &form, &[("authorization", &basic(&client))]).await;
    r.assert_status(200);
    app.get("/v2/cards", &bearer(&answer, "access_token")).await.assert_status(401);
    let unknown =
        post_form(&app, "/oauth2/revoke", "token=ory_at_nothing", &[("authorization", &basic(&client))]).await;
    unknown.assert_status(200);
    // The refresh token still works; revoking it revokes its grant.
    let rt = answer["refresh_token"].as_str().unwrap();
    let fresh = token(&app, &client, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await;
    fresh.assert_status(200);
    let form = encode(&[("token", rt), ("token_type_hint", "refresh_token")]);
    post_form(&app, "/oauth2/revoke", &form, &[("authorization", &basic(&client))]).await.assert_status(200);
    app.get("/v2/cards", &bearer(&fresh.body, "access_token")).await.assert_status(401);

    // Withdrawing the consent: every token of the client for the member, and a
    // `v1/consent-revocations` event for the organization's subscriptions.
    let hook = json!({"callback_url": "http://127.0.0.1:9/hook", "types": ["v1/consent-revocations"]});
    app.post("/v2/webhook_subscriptions", &org.token(Owner), hook).await.assert_status(201);
    let a = signed_in(&app, &client, &org, "card.read organization.read offline_access").await;
    let b = signed_in(&app, &client, &org, "organization.read").await;
    app.send(Method::DELETE, "/v2/oauth2/consents", Some(&bearer(&b, "access_token")), None).await.assert_status(204);
    let deliveries =
        app.admin(Method::GET, &format!("/_sandbox/organizations/{}/webhook_deliveries", org.id()), None).await;
    let delivery = &deliveries.body["webhook_deliveries"][0];
    assert_eq!(delivery["type"], "v1/consent-revocations", "{}", deliveries.text);
    let id = delivery["id"].as_str().unwrap();
    let detail = app.admin(Method::GET, &format!("/_sandbox/webhook_deliveries/{id}"), None).await;
    let sent: Value = serde_json::from_str(detail.body["webhook_delivery"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["data"]["client_id"], client.id.as_str());
    assert!(sent["data"]["revoked_at"].is_string());
    for answer in [&a, &b] {
        app.get("/v2/organization", &bearer(answer, "access_token")).await.assert_status(401);
    }
    let after = token(
        &app,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", a["refresh_token"].as_str().unwrap())],
    )
    .await;
    assert_oauth_error(&after, 400, "invalid_grant");
    // Another member's tokens stay.
    app.get("/v2/cards", &org.token(Owner)).await.assert_status(200);
}

#[tokio::test]
async fn the_consent_page_is_inert_bilingual_and_csrf_protected() {
    let app = TestApp::new().await;
    let (org, client) = (app.org().await, register(&app).await);
    let mut params = authorization(&client, "card.read openid");
    let choose = page(&app, &params, &[]).await;
    choose.assert_status(200);
    let query = encode(&borrowed(&params));
    let newest = app.raw(Request::builder().uri(format!("/v2/oauth2/auth?{query}")).body(Body::empty()).unwrap()).await;
    assert_eq!(newest.text, choose.text.replace(&csrf(&choose).1, &csrf(&newest).1), "Qonto's newest path");
    assert!(choose.text.contains(r#"name="organization_id""#) && choose.text.contains("Sign in to Books &amp; Co"));
    params.push(("organization_id", org.id().into()));
    let shown = page(&app, &params, &[("accept-language", "fr-FR,fr;q=0.9")]).await;
    assert!(shown.text.contains("Se connecter à Books &amp; Co") && shown.text.contains("Autoriser"), "{}", shown.text);
    assert!(shown.text.contains(&org.member_id(Employee)), "the organization's members are offered");
    assert!(!shown.text.contains("<script"), "no JavaScript");
    let csp = shown.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self' https://app.example"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"));
    let cookie = shown.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");

    let (cookie, csrf_token) = csrf(&shown);
    let mut form = borrowed(&params);
    let member = org.member_id(Employee);
    form.extend([("membership_id", member.as_str()), ("decision", "allow")]);
    let forged = encode(&[form.clone(), vec![("csrf_token", "x".repeat(43).as_str())]].concat());
    let r = post_form(&app, "/oauth2/auth", &forged, &[("cookie", &cookie)]).await;
    assert_eq!((r.status.as_u16(), r.headers.get("location")), (403, None));
    let without_cookie = encode(&[form.clone(), vec![("csrf_token", csrf_token.as_str())]].concat());
    post_form(&app, "/oauth2/auth", &without_cookie, &[]).await.assert_status(403);
    // A member of another organization cannot be signed in through a pre-selected one.
    let other = app.org().await;
    let foreign = other.member_id(Owner);
    let mut form = borrowed(&params);
    form.extend([("membership_id", foreign.as_str()), ("decision", "allow"), ("csrf_token", csrf_token.as_str())]);
    post_form(&app, "/oauth2/auth", &encode(&form), &[("cookie", &cookie)]).await.assert_status(400);
}

#[tokio::test]
async fn clients_are_registered_listed_and_deleted_through_the_control_api() {
    let app = TestApp::new().await;
    let (org, client) = (app.org().await, register(&app).await);
    let listed = app.admin(Method::GET, "/_sandbox/oauth_clients", None).await;
    listed.assert_status(200);
    assert_eq!(listed.body["oauth_clients"][0]["client_id"], client.id.as_str());
    assert!(listed.body["oauth_clients"][0].get("client_secret").is_none(), "the secret shows once");
    let bad = app
        .admin(
            Method::POST,
            "/_sandbox/oauth_clients",
            Some(json!({"name": "x", "redirect_uris": ["ftp://a/b", "https://a/b#f"]})),
        )
        .await;
    assert_eq!(bad.status.as_u16(), 422);
    assert_eq!(bad.body["errors"][0]["source"]["pointer"], "/redirect_uris/0");
    assert_eq!(bad.body["errors"][1]["source"]["pointer"], "/redirect_uris/1");
    let answer = signed_in(&app, &client, &org, "card.read").await;
    let path = format!("/_sandbox/oauth_clients/{}", client.id);
    app.admin(Method::DELETE, &path, None).await.assert_status(204);
    app.admin(Method::DELETE, &path, None).await.assert_status(404);
    app.get("/v2/cards", &bearer(&answer, "access_token")).await.assert_status(401);
}

#[tokio::test]
async fn discovery_documents_name_every_endpoint() {
    let app = TestApp::new().await;
    let rfc8414 = app.send(Method::GET, "/.well-known/oauth-authorization-server", None, None).await;
    rfc8414.assert_status(200);
    assert_eq!(rfc8414.body["issuer"], "http://cardinal.test");
    assert_eq!(rfc8414.body["token_endpoint"], "http://cardinal.test/oauth2/token");
    assert_eq!(rfc8414.body["code_challenge_methods_supported"], json!(["S256"]));
    assert!(rfc8414.body.get("id_token_signing_alg_values_supported").is_none());
    let openid = app.send(Method::GET, "/.well-known/openid-configuration", None, None).await;
    assert_eq!(openid.body["id_token_signing_alg_values_supported"], json!(["RS256"]));
    assert_eq!(openid.body["jwks_uri"], "http://cardinal.test/.well-known/jwks.json");
    assert_eq!(openid.body["authorization_endpoint"], rfc8414.body["authorization_endpoint"]);
    let production = TestApp::builder().production().build().await;
    production.send(Method::GET, "/.well-known/openid-configuration", None, None).await.assert_status(404);
}

#[tokio::test]
async fn the_signing_key_is_stored_sealed_and_the_same_after_a_restart() {
    use cardinal_api::app::oauth::id_token::{SigningKey, SIGNING_KEY_SETTING};
    let app = TestApp::new().await;
    let jwks = app.send(Method::GET, "/.well-known/jwks.json", None, None).await.body;
    let stored = app.state.store.setting(SIGNING_KEY_SETTING).await.unwrap().unwrap();
    assert!(!stored.contains("PRIVATE"));
    // A new process on the same database and card key loads the same key.
    let again = SigningKey::load_or_create(app.state.store.as_ref(), &app.state.app.vault).await.unwrap();
    assert_eq!(serde_json::to_value(again.jwks()).unwrap(), jwks);
}
