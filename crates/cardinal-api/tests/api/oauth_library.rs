//! The whole sign-in flow driven by a maintained OAuth library, the `oauth2` crate, against
//! Cardinal (on SQLite, and on PostgreSQL when the suite runs there): discovery, the
//! authorization URL, the consent post, the code exchange with PKCE, `/v2/cards` with the
//! token, the ID token checked against the JWK set, refresh, reuse detection, revocation.

use crate::oauth::{consent, query_of, register};
use crate::support::*;
use axum::body::Body;
use axum::http::Method;
use cardinal_domain::Role::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, ExtraTokenFields, PkceCodeChallenge, RedirectUrl,
    RequestTokenError, RevocationUrl, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The token answer's OpenID field, which plain OAuth 2.0 does not know.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdTokenField {
    id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

type OpenIdClient = oauth2::Client<
    BasicErrorResponse,
    StandardTokenResponse<IdTokenField, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// The library's HTTP client: its requests go to the in-process router.
async fn send(app: &TestApp, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, std::io::Error> {
    let (parts, body) = request.into_parts();
    let mut forwarded = axum::http::Request::builder().method(parts.method).uri(parts.uri.path());
    for (name, value) in &parts.headers {
        forwarded = forwarded.header(name, value);
    }
    let answer = app.raw(forwarded.body(Body::from(body)).unwrap()).await;
    let mut response = axum::http::Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        response = response.header(name, value);
    }
    Ok(response.body(answer.text.into_bytes()).unwrap())
}

#[tokio::test]
async fn the_oauth2_crate_signs_in_refreshes_detects_reuse_and_revokes() {
    let app = TestApp::new().await;
    let (org, registered) = (app.org().await, register(&app).await);
    let http = |request| send(&app, request);

    // 1. Discovery.
    let metadata = app.send(Method::GET, "/.well-known/openid-configuration", None, None).await.body;
    let endpoint = |name: &str| metadata[name].as_str().unwrap().to_owned();
    let client = OpenIdClient::new(ClientId::new(registered.id.clone()))
        .set_client_secret(ClientSecret::new(registered.secret.clone()))
        .set_auth_uri(AuthUrl::new(endpoint("authorization_endpoint")).unwrap())
        .set_token_uri(TokenUrl::new(endpoint("token_endpoint")).unwrap())
        // The library revokes over https only (RFC 7009 asks for TLS); the in-process
        // transport above reads only the path.
        .set_revocation_url(RevocationUrl::new(endpoint("revocation_endpoint").replace("http:", "https:")).unwrap())
        .set_redirect_uri(RedirectUrl::new(crate::oauth::CALLBACK.into()).unwrap());

    // 2. The authorization URL, with PKCE.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(["card.read", "offline_access", "openid"].map(|s| Scope::new(s.into())))
        .add_extra_param("organization_id", org.id())
        .set_pkce_challenge(challenge)
        .url();
    let params: Vec<(&'static str, String)> =
        url.query_pairs().map(|(k, v)| (&*String::leak(k.into_owned()), v.into_owned())).collect();

    // 3. The consent post; the state comes back untouched.
    let location = consent(&app, &params, &org.member_id(Manager), "allow").await;
    assert_eq!(query_of(&location, "state").as_deref(), Some(state.secret().as_str()));
    let code = query_of(&location, "code").unwrap();

    // 4. The code exchange with the PKCE verifier.
    let tokens =
        client.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request_async(&http).await;
    let tokens = tokens.expect("the exchange");
    let scopes: Vec<String> = tokens.scopes().unwrap().iter().map(|s| s.to_string()).collect();
    assert_eq!(scopes, ["card.read", "offline_access", "openid"]);

    // 5. /v2/cards with the token: the manager's team's cards.
    let access = format!("Bearer {}", tokens.access_token().secret());
    let cards = app.get("/v2/cards", &access).await;
    cards.assert_status(200);
    assert!(!cards.body["cards"].as_array().unwrap().is_empty());

    // 6. The ID token, checked against the JWK set.
    let raw = app.send(Method::POST, "/oauth2/token", None, None).await;
    assert_eq!(raw.status.as_u16(), 400, "the endpoint takes forms only");
    let id_token = tokens.extra_fields().id_token.as_deref().expect("openid gives an ID token");
    let jwks: JwkSet = serde_json::from_value(
        app.send(Method::GET, &endpoint("jwks_uri").replace("http://cardinal.test", ""), None, None).await.body,
    )
    .unwrap();
    let key = jwks.find(&decode_header(id_token).unwrap().kid.unwrap()).unwrap().clone();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&registered.id]);
    validation.set_issuer(&[endpoint("issuer")]);
    let claims = decode::<Value>(id_token, &DecodingKey::from_jwk(&key).unwrap(), &validation).unwrap().claims;
    assert_eq!(claims["sub"], org.member_id(Manager).as_str());

    // 7. Refresh: a new pair.
    let first_refresh = tokens.refresh_token().unwrap().clone();
    let refreshed = client.exchange_refresh_token(&first_refresh).request_async(&http).await.expect("the refresh");
    assert_ne!(refreshed.refresh_token().unwrap().secret(), first_refresh.secret());
    app.get("/v2/cards", &format!("Bearer {}", refreshed.access_token().secret())).await.assert_status(200);

    // 8. Reuse after the grace period: refused, and the family revoked.
    let clock = format!("/_sandbox/organizations/{}/clock", org.id());
    app.admin(Method::POST, &clock, Some(json!({"advance_by": 61}))).await.assert_status(200);
    match client.exchange_refresh_token(&first_refresh).request_async(&http).await {
        Err(RequestTokenError::ServerResponse(error)) => assert_eq!(error.error().as_ref(), "invalid_grant"),
        other => panic!("reuse must be refused: {other:?}"),
    }
    app.get("/v2/cards", &format!("Bearer {}", refreshed.access_token().secret())).await.assert_status(401);

    // 9. Revocation, on a new sign-in.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("card.read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let params: Vec<(&'static str, String)> =
        url.query_pairs().map(|(k, v)| (&*String::leak(k.into_owned()), v.into_owned())).collect();
    let location = consent(&app, &params, &org.member_id(Owner), "allow").await;
    let code = AuthorizationCode::new(query_of(&location, "code").unwrap());
    let tokens = client.exchange_code(code).set_pkce_verifier(verifier).request_async(&http).await.unwrap();
    let revocable: StandardRevocableToken = tokens.access_token().into();
    client.revoke_token(revocable).unwrap().request_async(&http).await.expect("RFC 7009");
    app.get("/v2/cards", &format!("Bearer {}", tokens.access_token().secret())).await.assert_status(401);
}
