//! End to end: the built `cardinal` binary, started as a user starts it, driven over TCP.

use serde_json::Value;
use std::process::Command;

mod server;
use server::*;

#[test]
fn first_run_walkthrough_survives_a_restart() {
    let dir = temp_dir();
    let mut server = Server::start(&dir);
    server.wait_for("First run: seeded the demo organization");
    let saved = server.wait_for("These credentials are saved in");
    let credentials_path = dir.join("cardinal.credentials.json");
    assert!(saved.contains("cardinal.credentials.json"), "{saved}");
    let credentials: Value = serde_json::from_str(&std::fs::read_to_string(&credentials_path).unwrap()).unwrap();
    let printed = server.printed.join("\n");
    let owner = format!("Bearer {}", credentials["owner_access_token"].as_str().unwrap());
    let admin = format!("Bearer {}", credentials["admin_access_token"].as_str().unwrap());
    let card = credentials["card_id"].as_str().unwrap().to_owned();
    assert!(printed.contains(credentials["owner_access_token"].as_str().unwrap()), "the owner token is printed");
    assert!(printed.contains(&format!("{}/v2/cards/{card}/unlock", server.base)), "the unlock curl line is printed");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&credentials_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the credentials file is private");
        for private in ["cardinal.db", "cardinal.key"] {
            let mode = std::fs::metadata(dir.join(private)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{private} is private");
        }
    }

    let (status, list, head) = server.request("GET", "/v2/cards", Some(&owner));
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("x-request-id:"));
    assert_eq!(list["meta"]["total_count"], 10);
    let (status, locked, _) = server.request("PUT", &format!("/v2/cards/{card}/lock"), Some(&owner));
    assert_eq!((status, locked["card"]["status"].as_str()), (200, Some("paused")));
    let (status, error, _) = server.request("GET", "/v2/nowhere", Some(&owner));
    assert_eq!((status, error["errors"][0]["code"].as_str()), (404, Some("not_found")));
    server.terminate();

    let mut again = Server::start(&dir);
    let line = again.wait_for("Demo credentials:");
    assert!(line.contains("cardinal.credentials.json"), "{line}");
    let (status, shown, _) = again.request("GET", &format!("/v2/cards/{card}"), Some(&owner));
    assert_eq!((status, shown["card"]["status"].as_str()), (200, Some("paused")), "the lock survived the restart");
    // The demo organization requires SCA, as Qonto does: 428, approve, retry with the token.
    let unlock = format!("/v2/cards/{card}/unlock");
    let (status, challenge, _) = again.request("PUT", &unlock, Some(&admin));
    assert_eq!((status, challenge["code"].as_str()), (428, Some("sca_required")));
    let token = challenge["sca_session_token"].as_str().unwrap();
    let (status, _, _) = again.request("POST", &format!("/v2/mocked_sca_sessions/{token}/allow"), None);
    assert_eq!(status, 200);
    let header = format!("X-Qonto-Sca-Session-Token: {token}\r\n");
    let (status, unlocked, _) = again.request_with("PUT", &unlock, Some(&admin), &header);
    assert_eq!((status, unlocked["card"]["status"].as_str()), (200, Some("live")));
    again.terminate();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn production_mode_refuses_to_start_without_a_card_key() {
    let dir = temp_dir();
    let output = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .args(["serve", "--mode", "production", "--bind", "127.0.0.1:0", "--database"])
        .arg(format!("sqlite://{}", dir.join("prod.db").display()))
        .env_remove("CARDINAL_CARD_KEY")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CARDINAL_CARD_KEY"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
