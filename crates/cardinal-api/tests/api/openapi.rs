use crate::support::*;
use axum::http::Method;
use cardinal_api::openapi::document;
use cardinal_api::routes::{operations, Served, Surface};
use cardinal_api::Mode;

fn table() -> Vec<cardinal_api::routes::Operation> {
    operations().into_iter().map(|(op, _)| op).collect()
}

const SANDBOX: Served = Served { mode: Mode::Sandbox, operator_api: true };
use serde_json::Value;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

/// A wire change shows as a diff of `docs/openapi.json`. To accept one:
/// `UPDATE_SNAPSHOTS=1 cargo test -p cardinal-api --test api openapi`.
#[test]
fn the_document_matches_its_snapshot() {
    let text = serde_json::to_string_pretty(&document(&table(), SANDBOX, "http://127.0.0.1:8080")).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        committed == text,
        "the OpenAPI document changed; review the diff and run `UPDATE_SNAPSHOTS=1 cargo test -p cardinal-api --test api openapi`"
    );
}

fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    found.push(v.as_str().unwrap().to_owned());
                }
                refs(v, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves_and_every_route_is_listed() {
    let doc = document(&table(), SANDBOX, "http://x");
    assert_eq!(doc["openapi"], "3.1.0");
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 40);
    for r in found {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(doc["components"]["schemas"].get(name).is_some(), "unresolved {r}");
    }
    for (op, _) in operations() {
        let documented = &doc["paths"][op.path][op.method];
        assert_eq!(documented["operationId"], op.operation_id, "{} {}", op.method, op.path);
    }
    for (op, _) in operations() {
        if let Some(alias) = op.alias {
            let documented = &doc["paths"][alias][op.method];
            assert_eq!(documented["deprecated"], true, "{} {alias} is a deprecated alias", op.method);
        }
    }
    let production = document(&table(), Served { mode: Mode::Production, operator_api: true }, "http://x");
    assert!(production["paths"].get("/_sandbox/organizations").is_none());
    assert!(production["paths"].get("/_sandbox/organizations/{id}/clock").is_none());
    assert!(production["paths"].get("/_operator/organizations").is_some());
    let closed = document(&table(), Served { mode: Mode::Production, operator_api: false }, "http://x");
    assert!(closed["paths"].get("/_operator/organizations").is_none(), "no operator token, no operator API");
    assert!(production["paths"].get("/v2/mocked_sca_sessions/{token}").is_none());
    assert!(production["paths"].get("/v2/cards").is_some());
}

#[tokio::test]
async fn the_document_is_served_and_each_listed_route_exists() {
    let app = TestApp::new().await;
    let r = app.send(Method::GET, "/openapi.json", None, None).await;
    r.assert_status(200);
    assert_eq!(r.body["servers"][0]["url"], "http://cardinal.test");
    let org = app.org().await;
    for (op, _) in operations() {
        let path = op.path.replace("{id}", &uuid::Uuid::new_v4().to_string()).replace('{', "x").replace('}', "");
        let method = Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
        let auth = match op.surface {
            Surface::Control | Surface::Operator => format!("Bearer {ADMIN}"),
            _ => org.token(cardinal_domain::Role::Owner),
        };
        let r = app.send(method, &path, Some(&auth), None).await;
        assert!(
            !(r.status == 404 && r.body["errors"][0]["detail"] == "no such route") && r.status != 405,
            "{} {} is documented but not routed: {}",
            op.method,
            op.path,
            r.text
        );
    }
}
