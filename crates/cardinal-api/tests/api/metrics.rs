//! `GET /metrics` (issue 27): behind the operator token, in Prometheus's text format, with each
//! route's requests by template and status, the database's commits, the rate limiter's refusals,
//! waiting SCA sessions and the webhook queue. (clients/metrics_scrape.py parses a scrape with
//! the Prometheus project's own parser.)

use crate::support::*;
use axum::http::Method;
use cardinal_domain::Role::*;
use serde_json::json;

/// The value of the sample named exactly `series` (name and labels as the text shows them).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_commits_and_waiting_sessions() {
    let app = TestApp::new().await;
    let org = app.org_with(json!({"sca_mode": "required"})).await;
    let refused = app.send(Method::GET, "/metrics", Some(&org.token(Owner)), None).await;
    refused.assert_status(401);

    let card = org.card(Employee, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await.assert_status(200);
    app.put(&format!("/v2/cards/{card}/unlock"), &org.token(Owner)).await.assert_status(428);
    app.get("/v2/cards", &org.token(Owner)).await.assert_status(200);
    app.get("/v2/nowhere", &org.token(Owner)).await.assert_status(404);

    let scrape = app.admin(Method::GET, "/metrics", None).await;
    scrape.assert_status(200);
    assert!(scrape.headers["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = &scrape.text;
    let listed = sample(text, r#"cardinal_http_requests_total{route="/v2/cards",method="GET",status="200"}"#);
    assert!(listed.is_some_and(|n| n >= 1.0), "{text}");
    let locked = sample(text, r#"cardinal_http_requests_total{route="/v2/cards/{id}/lock",method="PUT",status="200"}"#);
    assert!(locked.is_some_and(|n| n >= 1.0), "{text}");
    let challenged =
        sample(text, r#"cardinal_http_requests_total{route="/v2/cards/{id}/unlock",method="PUT",status="428"}"#);
    assert!(challenged.is_some_and(|n| n >= 1.0), "{text}");
    assert!(sample(text, r#"cardinal_http_requests_total{route="unmatched",method="any",status="404"}"#).is_some());
    let timed = sample(text, r#"cardinal_http_request_duration_seconds_count{route="/v2/cards",method="GET"}"#);
    assert!(timed.is_some_and(|n| n >= 1.0), "{text}");
    assert!(sample(text, "cardinal_commit_duration_seconds_count").is_some_and(|n| n >= 1.0), "{text}");
    assert!(sample(text, r#"cardinal_commit_operations_bucket{le="+Inf"}"#).is_some_and(|n| n >= 1.0));
    assert!(sample(text, "cardinal_sca_sessions_pending").is_some_and(|n| n >= 1.0), "the unlock's session");
    assert!(sample(text, "cardinal_webhook_deliveries_pending").is_some());
    assert!(sample(text, r#"cardinal_rate_limited_total{reason="requests"}"#).is_some());
    assert!(text.contains("cardinal_build_info{version=\""), "{text}");
    if std::env::var("CARDINAL_TEST_API_BACKEND").is_ok_and(|b| b == "postgres") {
        assert!(sample(text, r#"cardinal_postgres_pool_connections{state="idle"}"#).is_some(), "{text}");
        assert!(sample(text, "cardinal_postgres_pool_waits_total").is_some(), "{text}");
        assert_eq!(sample(text, "cardinal_postgres_read_only_total"), Some(0.0), "{text}");
        assert_eq!(sample(text, "cardinal_postgres_replica_fallbacks_total"), Some(0.0), "{text}");
    }
    // Each family is described once.
    let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    let mut unique = types.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(types.len(), unique.len(), "{text}");
}
