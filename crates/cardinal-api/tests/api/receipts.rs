//! Receipts and labels (spec §9, `qonto-reference.md` §5–§7): a member attaches a receipt to
//! a transaction they see, lists, downloads and removes it; labels made by the control API show
//! on transactions; `includes[]` embeds both and `with_attachments` filters. Every bad file is
//! a clear 4xx with nothing stored.

use crate::support::*;
use axum::body::Body;
use axum::http::{Method, Request};
use cardinal_domain::Role::{self, *};
use serde_json::{json, Value};

pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const BOUNDARY: &str = "cardinal-test-boundary";

/// A multipart body with `content` in part `file`, named `name`.
pub fn multipart(name: &str, content: &[u8]) -> Vec<u8> {
    parts(&[("file", Some(name), content)])
}

/// A multipart body of these parts: (part name, file name, content).
fn parts(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (part, file_name, content) in parts {
        let file_name = file_name.map(|f| format!("; filename=\"{f}\"")).unwrap_or_default();
        let head = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{part}\"{file_name}\r\n\r\n");
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_file(app: &TestApp, path: &str, auth: &str, body: Vec<u8>) -> Response {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", auth)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(body))
        .unwrap();
    app.raw(request).await
}

/// A settled payment on `role`'s virtual card: its transaction's id.
async fn paid(app: &TestApp, org: &Org, role: Role) -> String {
    let card = org.card(role, "virtual");
    let purchase = json!({"amount": 42.0, "channel": "online", "merchant": {"name": "Uber", "category": "transport", "country": "FR"}});
    let r = app.admin(Method::POST, &format!("/_sandbox/cards/{card}/authorizations"), Some(purchase)).await;
    r.assert_status(200);
    let id = r.body["authorization"]["transaction_id"].as_str().or(r.body["transaction"]["id"].as_str());
    let id = id.unwrap_or_else(|| panic!("no transaction in {}", r.body)).to_owned();
    app.admin(Method::POST, &format!("/_sandbox/transactions/{id}/settle"), None).await.assert_status(200);
    id
}

async fn transaction(app: &TestApp, org: &Org, id: &str, query: &str) -> Value {
    let r = app.get(&format!("/v2/transactions/{id}?{query}"), &org.token(Owner)).await;
    r.assert_status(200);
    r.body["transaction"].clone()
}

/// The path and query of an absolute download URL.
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest[rest.find('/').unwrap()..].to_owned()
}

#[tokio::test]
async fn a_member_attaches_a_receipt_finance_labels_it_and_the_list_shows_both() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let hook = json!({"callback_url": "https://hooks.example.com/t", "types": ["v1/transactions"]});
    app.post("/v2/webhook_subscriptions", &org.token(Owner), hook).await.assert_status(201);
    let id = paid(&app, &org, Employee).await;
    let attached = post_file(
        &app,
        &format!("/v2/transactions/{id}/attachments"),
        &org.token(Employee),
        multipart("taxi.pdf", PDF),
    )
    .await;
    attached.assert_status(200);
    assert!(attached.text.is_empty(), "Qonto's answer has no body: {}", attached.text);

    let t = transaction(&app, &org, &id, "").await;
    let ids = t["attachment_ids"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 1);
    // Qonto reports an upload as the transaction `updated` (after `created` and the settlement).
    let deliveries =
        app.admin(Method::GET, &format!("/_sandbox/organizations/{}/webhook_deliveries", org.id()), None).await;
    let events: Vec<&str> = deliveries.body["webhook_deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["updated", "updated", "created"], "newest first");
    assert!(t.get("attachments").is_none(), "embedded only on request");
    let listed = app.get(&format!("/v2/transactions/{id}/attachments"), &org.token(Employee)).await;
    listed.assert_status(200);
    let attachment = &listed.body["attachments"][0];
    assert_eq!(attachment["id"], ids[0]);
    assert_eq!(
        (attachment["file_name"].as_str(), attachment["file_content_type"].as_str()),
        (Some("taxi.pdf"), Some("application/pdf"))
    );
    assert_eq!(attachment["file_size"], PDF.len().to_string(), "a string of bytes, as Qonto's");
    assert_eq!(attachment["probative_attachment"]["status"], "unavailable");

    // The link opens the file without credentials, as a download, never as a page.
    let file = app.send(Method::GET, &path_of(attachment["url"].as_str().unwrap()), None, None).await;
    file.assert_status(200);
    assert_eq!(file.text.as_bytes(), PDF);
    assert_eq!(file.headers["content-type"], "application/pdf");
    assert!(file.headers["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"taxi.pdf\""));
    assert_eq!(file.headers["x-content-type-options"], "nosniff");
    let shown = app.get(&format!("/v2/attachments/{}", ids[0].as_str().unwrap()), &org.token(Owner)).await;
    assert_eq!((shown.status.as_u16(), &shown.body["attachment"]["id"]), (200, &ids[0]));

    // Finance labels it through the control API.
    let list = app
        .admin(Method::POST, &format!("/_sandbox/organizations/{}/labels", org.id()), Some(json!({"name": "Travel"})))
        .await;
    list.assert_status(201);
    let list_id = list.body["label"]["id"].as_str().unwrap().to_owned();
    let label = app
        .admin(
            Method::POST,
            &format!("/_sandbox/organizations/{}/labels", org.id()),
            Some(json!({"name": "Taxi", "parent_id": list_id})),
        )
        .await;
    let label_id = label.body["label"]["id"].as_str().unwrap().to_owned();
    let labelled = app
        .admin(Method::PUT, &format!("/_sandbox/transactions/{id}/labels"), Some(json!({"label_ids": [label_id]})))
        .await;
    labelled.assert_status(200);
    assert_eq!(labelled.body["transaction"]["label_ids"], json!([label_id]));
    let labels = app.get("/v2/labels", &org.token(Employee)).await;
    assert_eq!(labels.body["meta"]["total_count"], 2);
    let one = app.get(&format!("/v2/labels/{label_id}"), &org.token(Employee)).await;
    assert_eq!(one.body["label"], json!({"id": label_id, "name": "Taxi", "parent_id": list_id}));

    let account = org.body["bank_account"]["id"].as_str().unwrap();
    let with = format!(
        "/v2/transactions?bank_account_id={account}&with_attachments=true&includes[]=attachments&includes[]=labels"
    );
    let found = app.get(&with, &org.token(Owner)).await;
    found.assert_status(200);
    let item = &found.body["transactions"][0];
    assert_eq!(found.body["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(item["attachments"][0]["id"], ids[0]);
    assert_eq!(item["attachments"][0]["probative_attachment"], json!({"status": "unavailable"}));
    assert_eq!(item["labels"], json!([{"id": label_id, "name": "Taxi", "parent_id": list_id}]));

    // Removing it takes the file: the old link opens nothing.
    let gone = app
        .send(
            Method::DELETE,
            &format!("/v2/transactions/{id}/attachments/{}", ids[0].as_str().unwrap()),
            Some(&org.token(Employee)),
            None,
        )
        .await;
    gone.assert_status(200);
    assert_eq!(transaction(&app, &org, &id, "").await["attachment_ids"], json!([]));
    let stale = app.send(Method::GET, &path_of(attachment["url"].as_str().unwrap()), None, None).await;
    stale.assert_status(404);
    let without = format!("/v2/transactions?bank_account_id={account}&with_attachments=true");
    assert_eq!(app.get(&without, &org.token(Owner)).await.body["meta"]["total_count"], 0);
}

#[tokio::test]
async fn receipts_follow_the_permission_table() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let other = app.org().await;
    let id = paid(&app, &org, Employee).await;
    let path = format!("/v2/transactions/{id}/attachments");
    for (role, status) in [(Owner, 200), (Admin, 200), (Reporting, 200), (Employee, 200)] {
        let r = post_file(&app, &path, &org.token(role), multipart("r.pdf", PDF)).await;
        assert_eq!(r.status.as_u16(), status, "{role:?}: {}", r.text);
    }
    // Another employee does not see it; another organization's member neither; an API key may
    // read, never write.
    let owners = paid(&app, &org, Owner).await;
    let refused = post_file(
        &app,
        &format!("/v2/transactions/{owners}/attachments"),
        &org.token(Employee),
        multipart("r.pdf", PDF),
    )
    .await;
    assert_eq!((refused.status.as_u16(), refused.error_code()), (404, "not_found"));
    let foreign = post_file(&app, &path, &other.token(Owner), multipart("r.pdf", PDF)).await;
    assert_eq!(foreign.status.as_u16(), 404);
    let key = post_file(&app, &path, &org.api_key(), multipart("r.pdf", PDF)).await;
    assert_eq!(key.status.as_u16(), 403);
    assert_eq!(app.get(&path, &org.api_key()).await.body["meta"]["total_count"], 4);
    assert_eq!(app.get(&path, &other.token(Owner)).await.status.as_u16(), 404);
    // Removing them all.
    let all = app.send(Method::DELETE, &path, Some(&org.token(Owner)), None).await;
    all.assert_status(200);
    assert_eq!(app.get(&path, &org.token(Owner)).await.body["meta"]["total_count"], 0);
}

#[tokio::test]
async fn a_standalone_upload_is_seen_by_its_uploader_and_its_link_expires() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let up = post_file(&app, "/v2/attachments", &org.token(Employee), multipart("invoice.pdf", PDF)).await;
    up.assert_status(200);
    let id = up.body["attachment"]["id"].as_str().unwrap().to_owned();
    assert_eq!(up.body, json!({"attachment": {"id": id}}));
    let mine = app.get(&format!("/v2/attachments/{id}"), &org.token(Employee)).await;
    mine.assert_status(200);
    assert_eq!(app.get(&format!("/v2/attachments/{id}"), &org.token(Owner)).await.status.as_u16(), 200);
    assert_eq!(app.get(&format!("/v2/attachments/{id}"), &org.token(Manager)).await.status.as_u16(), 404);
    let url = path_of(mine.body["attachment"]["url"].as_str().unwrap());
    let tampered = url.replace(&id, &uuid::Uuid::new_v4().to_string());
    assert_eq!(app.send(Method::GET, &tampered, None, None).await.status.as_u16(), 404);
    let later = url.replace("expires=", "expires=9");
    assert_eq!(app.send(Method::GET, &later, None, None).await.status.as_u16(), 404, "the expiry is signed");
    assert_eq!(app.send(Method::GET, &url, None, None).await.status.as_u16(), 200);
    let clock = format!("/_sandbox/organizations/{}/clock", org.id());
    app.admin(Method::POST, &clock, Some(json!({"advance_by": 31 * 60}))).await.assert_status(200);
    assert_eq!(app.send(Method::GET, &url, None, None).await.status.as_u16(), 404, "30 minutes, as Qonto's");
}

#[tokio::test]
async fn bad_files_are_refused_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let other = app.org().await;
    let id = paid(&app, &org, Employee).await;
    let path = format!("/v2/transactions/{id}/attachments");
    let token = org.token(Employee);
    let big = [PDF, &vec![b' '; 16 * 1024 * 1024]].concat();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("16 MB", multipart("big.pdf", &big), 413, "payload_too_large"),
        ("a PDF named .png", multipart("r.png", PDF), 422, "invalid"),
        ("HTML named .pdf", multipart("r.pdf", b"<html><script>alert(1)</script></html>"), 422, "invalid"),
        ("an empty file", multipart("r.pdf", b""), 422, "invalid"),
        ("a truncated body", multipart("r.pdf", PDF)[..60].to_vec(), 400, "bad_request"),
    ];
    for (what, body, status, code) in cases {
        let r = post_file(&app, &path, &token, body).await;
        assert_eq!((r.status.as_u16(), r.error_code()), (status, code), "{what}: {}", r.text);
        assert_error_shape(&r);
    }
    let two = parts(&[("file", Some("a.pdf"), PDF), ("file", Some("b.pdf"), PDF)]);
    let r = post_file(&app, &path, &token, two).await;
    assert_eq!(r.status.as_u16(), 422, "two files: {}", r.text);
    let extra = parts(&[("note", None, b"lunch"), ("file", Some("r.pdf"), PDF)]);
    let r = post_file(&app, &path, &token, extra).await;
    assert_eq!(
        (r.status.as_u16(), r.body["errors"][0]["source"]["pointer"].as_str()),
        (422, Some("/note")),
        "{}",
        r.text
    );
    let json = app.post(&path, &token, json!({"file": "x"})).await;
    assert_eq!((json.status.as_u16(), json.error_code()), (400, "bad_request"), "not multipart");
    let foreign = post_file(&app, &path, &other.token(Owner), multipart("r.pdf", PDF)).await;
    assert_eq!(foreign.status.as_u16(), 404, "another organization's transaction");
    assert_eq!(transaction(&app, &org, &id, "").await["attachment_ids"], json!([]), "nothing stored");
    let labels = format!("/_sandbox/transactions/{id}/labels");
    let unknown = app.admin(Method::PUT, &labels, Some(json!({"label_ids": [uuid::Uuid::new_v4()]}))).await;
    assert_eq!(
        (unknown.status.as_u16(), unknown.body["errors"][0]["source"]["pointer"].as_str()),
        (422, Some("/label_ids/0"))
    );
}

#[tokio::test]
async fn labels_are_read_by_every_member_and_made_two_levels_deep() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let other = app.org().await;
    let make = |body: Value| {
        let path = format!("/_sandbox/organizations/{}/labels", org.id());
        let app = &app;
        async move { app.admin(Method::POST, &path, Some(body)).await }
    };
    let list = make(json!({"name": "Projects"})).await;
    list.assert_status(201);
    let list_id = list.body["label"]["id"].as_str().unwrap().to_owned();
    let label = make(json!({"name": "Apollo", "parent_id": list_id})).await;
    label.assert_status(201);
    let label_id = label.body["label"]["id"].as_str().unwrap().to_owned();
    // Refusals: a third level, a name taken in its list, a parent of another organization, blank.
    let deeper = make(json!({"name": "Deeper", "parent_id": label_id})).await;
    assert_eq!(
        (deeper.status.as_u16(), deeper.body["errors"][0]["source"]["pointer"].as_str()),
        (422, Some("/parent_id"))
    );
    assert_eq!(make(json!({"name": "apollo", "parent_id": list_id})).await.status.as_u16(), 422);
    let foreign = app
        .admin(Method::POST, &format!("/_sandbox/organizations/{}/labels", other.id()), Some(json!({"name": "Theirs"})))
        .await;
    let foreign_id = foreign.body["label"]["id"].as_str().unwrap().to_owned();
    assert_eq!(make(json!({"name": "X", "parent_id": foreign_id})).await.status.as_u16(), 422);
    assert_eq!(make(json!({"name": "  "})).await.status.as_u16(), 422);
    for role in [Owner, Admin, Manager, Employee, Reporting] {
        let r = app.get("/v2/labels", &org.token(role)).await;
        assert_eq!((r.status.as_u16(), r.body["meta"]["total_count"].as_u64()), (200, Some(2)), "{role:?}");
    }
    assert_eq!(app.get("/v2/labels", &org.api_key()).await.status.as_u16(), 200);
    let second = app.get("/v2/labels?per_page=1&page=2", &org.token(Owner)).await;
    assert_eq!(second.body["labels"][0]["name"], "Projects", "by name, paged");
    assert_eq!(second.body["meta"]["prev_page"], 1);
    assert_eq!(app.get(&format!("/v2/labels/{foreign_id}"), &org.token(Owner)).await.status.as_u16(), 404);
    assert_eq!(app.get("/v2/labels/not-a-uuid", &org.token(Owner)).await.status.as_u16(), 404);
}
