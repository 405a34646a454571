use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request};
use cardinal_domain::Role::*;

#[tokio::test]
async fn a_configured_staging_token_is_required_on_v2() {
    let app = TestApp::builder().staging_token("stage-secret").build().await;
    let org = app.org().await;
    let without = app.get("/v2/cards", &org.token(Owner)).await;
    without.assert_status(401);
    assert_eq!(without.error_code(), "unauthorized");
    assert!(without.detail().contains("X-Qonto-Staging-Token"));
    let with = |value: &str| {
        Request::builder()
            .uri("/v2/cards")
            .header("authorization", org.token(Owner))
            .header("x-qonto-staging-token", value)
            .body(Body::empty())
            .unwrap()
    };
    app.raw(with("stage-secret")).await.assert_status(200);
    app.raw(with("wrong")).await.assert_status(401);
}

#[tokio::test]
async fn without_a_staging_token_the_header_is_ignored() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let request = Request::builder()
        .uri("/v2/cards")
        .header("authorization", org.token(Owner))
        .header("x-qonto-staging-token", "anything")
        .body(Body::empty())
        .unwrap();
    app.raw(request).await.assert_status(200);
}

/// Card numbers are encrypted at rest: no 16-digit number with our BIN appears anywhere in
/// the database files, though the cards were issued and locked.
#[tokio::test]
async fn the_database_never_holds_a_card_number_in_clear() {
    let app = TestApp::builder().on_disk().build().await;
    let org = app.org().await;
    let card = org.card(Owner, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await.assert_status(200);
    let path = app.database_path.clone().unwrap();
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        bytes.extend(std::fs::read(&file).unwrap_or_default());
    }
    assert!(bytes.len() > 10_000, "the database files were read");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains(&card), "sanity: card ids are stored in clear");
    let mut found = 0;
    for (at, _) in text.match_indices("511768") {
        let digits = text[at..].chars().take(16).filter(char::is_ascii_digit).count();
        if digits == 16 {
            found += 1;
        }
    }
    assert_eq!(found, 0, "a card number is stored in clear");
}

#[tokio::test]
async fn secrets_are_stored_as_hashes() {
    let app = TestApp::builder().on_disk().build().await;
    let org = app.org().await;
    let path = app.database_path.clone().unwrap();
    let mut text = String::new();
    for suffix in ["", "-wal"] {
        let bytes = std::fs::read(format!("{}{suffix}", path.display())).unwrap_or_default();
        text.push_str(&String::from_utf8_lossy(&bytes));
    }
    let token = org.member(Owner)["access_token"].as_str().unwrap();
    let secret = org.body["api_key"]["secret_key"].as_str().unwrap();
    assert!(!text.contains(token), "an access token is stored in clear");
    assert!(!text.contains(secret), "an API key is stored in clear");
}

#[tokio::test]
async fn auth_errors_never_reveal_whose_credential() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let slug = org.body["api_key"]["login"].as_str().unwrap();
    let wrong_secret = app.get("/v2/cards", &format!("{slug}:nope")).await;
    let unknown_slug = app.get("/v2/cards", "nobody-here:nope").await;
    assert_eq!(wrong_secret.detail(), unknown_slug.detail());
    let r = app.send(Method::GET, "/v2/cards", Some(""), None).await;
    assert_eq!(r.error_code(), "unauthorized");
}

#[tokio::test]
async fn past_the_rate_limit_answers_429_with_retry_after() {
    use cardinal_api::http::rate_limit::{RateLimits, Rule};
    let limits =
        RateLimits { requests: vec![Rule::parse("5/10s").unwrap()], unauthorized: None, trusted_proxies: vec![] };
    let app = TestApp::builder().rate_limits(limits).build().await;
    for _ in 0..5 {
        app.send(Method::GET, "/healthz", None, None).await.assert_status(200);
    }
    let r = app.send(Method::GET, "/v2/cards", None, None).await;
    r.assert_status(429);
    assert_eq!(r.error_code(), "rate_limited");
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&wait), "{wait}");
}

#[tokio::test]
async fn too_many_unauthorized_answers_throttle_the_client() {
    use cardinal_api::http::rate_limit::{RateLimits, Rule};
    let limits =
        RateLimits { requests: vec![], unauthorized: Some(Rule::parse("3/1h").unwrap()), trusted_proxies: vec![] };
    let app = TestApp::builder().rate_limits(limits).build().await;
    for _ in 0..4 {
        app.get("/v2/cards", "Bearer guess").await.assert_status(401);
    }
    let r = app.get("/v2/cards", "Bearer guess").await;
    r.assert_status(429);
    assert!(r.headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 3000);
}

#[tokio::test]
async fn the_401_throttle_spares_valid_credentials_and_the_control_api() {
    use cardinal_api::http::rate_limit::{RateLimits, Rule};
    let limits = RateLimits {
        requests: vec![Rule::parse("20/10s").unwrap()],
        unauthorized: Some(Rule::parse("3/1h").unwrap()),
        trusted_proxies: vec![],
    };
    let app = TestApp::builder().rate_limits(limits).build().await;
    let org = app.org().await;
    for _ in 0..5 {
        app.get("/v2/cards", "Bearer guess").await;
    }
    app.get("/v2/cards", "Bearer guess").await.assert_status(429);
    // The same address, a valid token: served (behind a load balancer, that address is everyone).
    app.get("/v2/cards", &org.token(Owner)).await.assert_status(200);
    // The control API is not counted at all.
    for _ in 0..30 {
        app.admin(Method::GET, &format!("/_sandbox/cards/{}/events", org.card(Owner, "virtual")), None)
            .await
            .assert_status(200);
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limits() {
    use cardinal_api::http::rate_limit::{Cidr, RateLimits, Rule};
    // In-process requests come from no address (0.0.0.0): that is the "proxy" here.
    let limits = RateLimits {
        requests: vec![Rule::parse("2/10s").unwrap()],
        unauthorized: None,
        trusted_proxies: vec![Cidr::parse("0.0.0.0/32").unwrap()],
    };
    let app = TestApp::builder().rate_limits(limits).build().await;
    let from = |client: &'static str| [("x-forwarded-for", client)];
    for _ in 0..2 {
        let r = app.send_with(Method::GET, "/healthz", "", None, &from("198.51.100.1")).await;
        r.assert_status(200);
    }
    let third = app.send_with(Method::GET, "/healthz", "", None, &from("198.51.100.1")).await;
    third.assert_status(429);
    app.send_with(Method::GET, "/healthz", "", None, &from("198.51.100.2")).await.assert_status(200);
}
