use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request};
use cardinal_domain::Role::*;

#[tokio::test]
async fn every_kind_of_error_has_the_contract_shape() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let owner = org.token(Owner);
    let card = org.card(Owner, "virtual");
    let cases: Vec<(Response, u16, &str)> = vec![
        (app.send(Method::GET, "/v2/nowhere", Some(&owner), None).await, 404, "not_found"),
        (app.send(Method::GET, "/completely/unknown", None, None).await, 404, "not_found"),
        (app.send(Method::DELETE, "/v2/cards", Some(&owner), None).await, 405, "method_not_allowed"),
        (
            app.send(Method::POST, &format!("/v2/cards/{card}/lock"), Some(&owner), None).await,
            405,
            "method_not_allowed",
        ),
        (app.send(Method::GET, "/v2/cards", None, None).await, 401, "unauthorized"),
        (app.get("/v2/cards", "Bearer nope").await, 401, "unauthorized"),
        (app.get("/v2/cards", "garbage").await, 401, "unauthorized"),
        (app.get("/v2/cards/not-a-uuid", &owner).await, 404, "not_found"),
        (app.get(&format!("/v2/cards/{}", uuid::Uuid::new_v4()), &owner).await, 404, "not_found"),
        (app.get("/v2/cards?page=0", &owner).await, 422, "invalid"),
        (app.put(&format!("/v2/cards/{card}/unlock"), &org.token(Employee)).await, 404, "not_found"),
        (app.send(Method::POST, "/_sandbox/organizations", None, None).await, 401, "unauthorized"),
    ];
    for (r, status, code) in &cases {
        assert_eq!(r.status.as_u16(), *status, "{}", r.text);
        assert_eq!(r.error_code(), *code, "{}", r.text);
    }
}

#[tokio::test]
async fn unparsable_and_oversized_bodies_are_json_errors() {
    let app = TestApp::new().await;
    let bad_json = Request::builder()
        .method(Method::POST)
        .uri("/_sandbox/organizations")
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json")
        .body(Body::from("{\"legal_name\": "))
        .unwrap();
    let r = app.raw(bad_json).await;
    r.assert_status(400);
    assert_eq!(r.error_code(), "bad_request");

    let wrong_type =
        app.admin(Method::POST, "/_sandbox/organizations", Some(serde_json::json!({"cards": "yes"}))).await;
    wrong_type.assert_status(422);
    assert_eq!(wrong_type.error_code(), "invalid");

    let huge = Request::builder()
        .method(Method::POST)
        .uri("/_sandbox/organizations")
        .header("authorization", format!("Bearer {ADMIN}"))
        .body(Body::from(format!("{{\"legal_name\":\"{}\"}}", "x".repeat(300 * 1024))))
        .unwrap();
    let r = app.raw(huge).await;
    r.assert_status(413);
    assert_eq!(r.error_code(), "payload_too_large");
}

#[tokio::test]
async fn lifecycle_puts_accept_no_body_or_an_empty_object() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Owner, "virtual");
    let with_object = Request::builder()
        .method(Method::PUT)
        .uri(format!("/v2/cards/{card}/lock"))
        .header("authorization", org.token(Owner))
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    app.raw(with_object).await.assert_status(200);
    app.put(&format!("/v2/cards/{card}/unlock"), &org.token(Owner)).await.assert_status(200);
}

#[tokio::test]
async fn successful_answers_carry_a_request_id_too() {
    let app = TestApp::new().await;
    let r = app.send(Method::GET, "/healthz", None, None).await;
    r.assert_status(200);
    let id = r.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 16);
    let ready = app.send(Method::GET, "/readyz", None, None).await;
    ready.assert_status(200);
    assert_ne!(ready.headers["x-request-id"], r.headers["x-request-id"]);
}

/// Framework rejections (a body over the limit on a handler reading raw bytes, a path that
/// is not valid UTF-8) answer in the contract's shape too, not as plain text.
#[tokio::test]
async fn framework_rejections_use_the_contract_shape() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let huge = format!("{{\"card\":{{\"nickname\":\"{}\"}}}}", "x".repeat(300 * 1024));
    for (method, path) in [
        (Method::POST, "/v2/cards".to_owned()),
        (Method::PATCH, format!("/v2/cards/{}/limits", org.card(Owner, "virtual"))),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(&path)
            .header("authorization", org.token(Owner))
            .body(Body::from(huge.clone()))
            .unwrap();
        let r = app.raw(request).await;
        r.assert_status(413);
        assert_eq!(r.error_code(), "payload_too_large", "{path}");
    }
    let bad_path =
        Request::builder().uri("/v2/cards/%FF").header("authorization", org.token(Owner)).body(Body::empty()).unwrap();
    let r = app.raw(bad_path).await;
    r.assert_status(404);
    assert_eq!(r.error_code(), "not_found", "an undecodable id is a malformed id");
}
