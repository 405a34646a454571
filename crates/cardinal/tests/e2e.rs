//! End to end: the built `cardinal` binary, started as a user starts it, driven over TCP.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Server {
    child: Child,
    base: String,
    lines: mpsc::Receiver<String>,
    printed: Vec<String>,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cardinal"))
            .args(["serve", "--bind", "127.0.0.1:0", "--database"])
            .arg(format!("sqlite://{}", dir.join("cardinal.db").display()))
            .env_remove("CARDINAL_ADMIN_TOKEN")
            .env_remove("CARDINAL_STAGING_TOKEN")
            .env_remove("CARDINAL_CARD_KEY")
            .env_remove("CARDINAL_MODE")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cardinal");
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server { child, base: String::new(), lines, printed: vec![] };
        let first = server.next_line();
        let url = first
            .strip_prefix("Cardinal listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {first}"));
        server.base = url.to_owned();
        server
    }

    fn next_line(&mut self) -> String {
        let line = self.lines.recv_timeout(Duration::from_secs(20)).expect("the server printed a line in time");
        self.printed.push(line.clone());
        line
    }

    /// Reads printed lines until one contains `needle`.
    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = self.next_line();
            if line.contains(needle) {
                return line;
            }
        }
    }

    fn request(&self, method: &str, path: &str, auth: Option<&str>) -> (u16, Value, String) {
        self.request_with(method, path, auth, "")
    }

    fn request_with(&self, method: &str, path: &str, auth: Option<&str>, extra_headers: &str) -> (u16, Value, String) {
        let address = self.base.strip_prefix("http://").unwrap();
        let mut stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let auth_line = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth_line}{extra_headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, serde_json::from_str(body).unwrap_or(Value::Null), head.to_owned())
    }

    /// Graceful stop, as an init system does it.
    fn terminate(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "cardinal exits cleanly on SIGTERM, got {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cardinal-e2e-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

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
