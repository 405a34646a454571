//! A team running a card program, from an empty PostgreSQL database: `cardinal serve --mode
//! production` with an operator token, an organization, a member and a token provisioned
//! through the operator API, then a card made, locked and unlocked with that token. What only
//! the sandbox has answers 404.

mod common;

use serde_json::{json, Value};
use std::process::{Command, Stdio};

const OPERATOR_TOKEN: &str = "production-operator-token-0123456789";

fn operator(address: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    common::http(address, method, path, &format!("Bearer {OPERATOR_TOKEN}"), &[], Some(&body)).expect("answers")
}

#[test]
fn an_empty_production_database_is_provisioned_and_serves_a_card() {
    let Some((url, schema)) = common::postgres_schema("operator_production") else { return };
    let database = common::in_schema(&url, &schema);
    let dir = std::env::temp_dir().join(format!("cardinal-operator-production-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = common::start_production(&database, &dir, OPERATOR_TOKEN);
    let address = server.address.as_str();

    let (status, created) = operator(
        address,
        "POST",
        "/_operator/organizations",
        json!({"legal_name": "Program Co", "sca_mode": "disabled", "balance": 1000,
            "members": [{"first_name": "Olga", "last_name": "Owner", "role": "owner"}]}),
    );
    assert_eq!(status, 201, "{created}");
    let org = created["organization"]["id"].as_str().unwrap().to_owned();
    let account = created["bank_account"]["id"].as_str().unwrap().to_owned();
    let (status, member) = operator(
        address,
        "POST",
        &format!("/_operator/organizations/{org}/memberships"),
        json!({"first_name": "Ada", "last_name": "Admin", "role": "admin", "team": "Finance"}),
    );
    assert_eq!(status, 201, "{member}");
    let admin_id = member["membership"]["id"].as_str().unwrap().to_owned();
    let (status, token) = operator(address, "POST", "/_operator/tokens", json!({"membership_id": admin_id}));
    assert_eq!(status, 201, "{token}");
    let admin = format!("Bearer {}", token["access_token"].as_str().unwrap());

    let card = json!({"card": {"holder_id": admin_id, "bank_account_id": account, "card_level": "virtual",
        "payment_monthly_limit": 250}});
    let (status, made) = common::http(address, "POST", "/v2/cards", &admin, &[], Some(&card)).unwrap();
    assert_eq!(status, 200, "{made}");
    let card_id = made["card"]["id"].as_str().unwrap().to_owned();
    for (action, expected) in [("lock", "paused"), ("unlock", "live")] {
        let (status, answer) =
            common::http(address, "PUT", &format!("/v2/cards/{card_id}/{action}"), &admin, &[], None).unwrap();
        assert_eq!((status, answer["card"]["status"].as_str()), (200, Some(expected)), "{action}: {answer}");
    }

    for (method, path) in [
        ("GET", "/_sandbox/organizations".to_owned()),
        ("POST", format!("/_sandbox/organizations/{org}/clock")),
        ("POST", format!("/_sandbox/cards/{card_id}/authorizations")),
        ("GET", "/v2/mocked_sca_sessions/whatever".to_owned()),
    ] {
        let (status, _) = operator(address, method, &path, json!({}));
        assert_eq!(status, 404, "{method} {path} is sandbox-only");
    }
    let (status, _) = common::http(address, "GET", "/_operator/organizations", "Bearer wrong", &[], None).unwrap();
    assert_eq!(status, 401);
    eprintln!("production on PostgreSQL: organization, member, token provisioned; card made, locked, unlocked");
}

#[test]
fn production_refuses_a_short_operator_token() {
    let output = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .args(["serve", "--mode", "production", "--bind", "127.0.0.1:0", "--database", "sqlite::memory:"])
        .env("CARDINAL_OPERATOR_TOKEN", "short")
        .env("CARDINAL_CARD_KEY", common::CARD_KEY)
        .env_remove("CARDINAL_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("at least 24 characters"), "{said}");
}

/// A second sandbox process on a shared database, started elsewhere, does not point at a
/// credentials file that is not there: it says where the first process's is not, and how to
/// find the organizations instead.
#[test]
fn a_second_process_elsewhere_does_not_name_a_credentials_file_it_cannot_see() {
    use std::io::{BufRead, BufReader};
    let Some((url, schema)) = common::postgres_schema("second_process") else { return };
    let database = common::in_schema(&url, &schema);
    let base = std::env::temp_dir().join(format!("cardinal-second-process-{}", std::process::id()));
    let (first_dir, second_dir) = (base.join("first"), base.join("second"));
    std::fs::create_dir_all(&first_dir).unwrap();
    std::fs::create_dir_all(&second_dir).unwrap();
    let _first = common::start(&database, &first_dir);
    common::first_run_credentials(&first_dir);
    let mut second = common::spawn(&database, &second_dir);
    let line = BufReader::new(second.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find(|line| line.starts_with("Demo credentials:"))
        .expect("the second process says where the credentials are");
    let _ = second.kill();
    let _ = second.wait();
    assert!(line.contains("not in") && line.contains("/_sandbox/organizations"), "{line}");
    assert!(!second_dir.join("cardinal.credentials.json").exists(), "no file is made up");
}
