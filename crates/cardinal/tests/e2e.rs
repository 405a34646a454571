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
        Server::start_with(dir, &[])
    }

    /// Starts with extra environment variables (`CARDINAL_ADMIN_TOKEN`, …).
    fn start_with(dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut child = cardinal(dir, "127.0.0.1:0", env)
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

/// `cardinal serve` on `dir/cardinal.db` with only the environment given.
fn cardinal(dir: &Path, bind: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cardinal"));
    command
        .args(["serve", "--bind", bind, "--database"])
        .arg(format!("sqlite://{}", dir.join("cardinal.db").display()))
        .env_remove("CARDINAL_ADMIN_TOKEN")
        .env_remove("CARDINAL_STAGING_TOKEN")
        .env_remove("CARDINAL_CARD_KEY")
        .env_remove("CARDINAL_MODE");
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// A start that must fail: its stderr. A server that starts instead is stopped (after 20 s at
/// most) and the test fails, rather than waiting for it forever.
fn refused_start(dir: &Path, bind: &str, env: &[(&str, &str)]) -> String {
    let mut child =
        cardinal(dir, bind, env).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the start should have been refused, but the server started");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "the start should have been refused");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    stderr
}

/// Whether the database records an unfinished key rotation.
fn rotation_pending(database: &Path) -> bool {
    let conn = rusqlite::Connection::open(database).unwrap();
    conn.query_row("SELECT count(*) FROM settings WHERE key = 'card_key_rotating_to'", [], |r| r.get::<_, i64>(0))
        .unwrap()
        > 0
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

#[test]
fn a_busy_port_suggests_bind_and_creates_nothing() {
    let (first_dir, second_dir) = (temp_dir(), temp_dir());
    let mut first = Server::start(&first_dir);
    first.wait_for("These credentials are saved in");
    let address = first.base.strip_prefix("http://").unwrap().to_owned();
    let stderr = refused_start(&second_dir, &address, &[]);
    assert!(stderr.contains("already in use") && stderr.contains("--bind"), "{stderr}");
    let created: Vec<_> = std::fs::read_dir(&second_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(created.is_empty(), "nothing is created before the port is bound: {created:?}");
    first.terminate();
}

#[test]
fn a_second_server_on_the_same_sqlite_file_refuses() {
    let dir = temp_dir();
    let mut first = Server::start(&dir);
    first.wait_for("These credentials are saved in");
    let stderr = refused_start(&dir, "127.0.0.1:0", &[]);
    assert!(stderr.contains("in use by another Cardinal process"), "{stderr}");
    let (status, _, _) = first.request("GET", "/readyz", None);
    assert_eq!(status, 200, "the first server is untouched");
    first.terminate();
    // Once it stopped, the file is free again.
    let mut again = Server::start(&dir);
    again.wait_for("Demo credentials:");
    again.terminate();
}

#[test]
fn a_missing_or_wrong_card_key_refuses_to_start() {
    let dir = temp_dir();
    let mut first = Server::start(&dir);
    first.wait_for("These credentials are saved in");
    first.terminate();
    let key_file = dir.join("cardinal.key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    std::fs::remove_file(&key_file).unwrap();
    let stderr = refused_start(&dir, "127.0.0.1:0", &[]);
    assert!(stderr.contains("is missing") && stderr.contains("cardinal.key"), "{stderr}");
    assert!(!key_file.exists(), "no new key was generated for sealed cards");
    let wrong = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let stderr = refused_start(&dir, "127.0.0.1:0", &[("CARDINAL_CARD_KEY", wrong)]);
    assert!(stderr.contains("does not match"), "{stderr}");
    assert!(!stderr.contains(wrong) && !stderr.contains(key.trim()), "keys are never printed: {stderr}");
    std::fs::write(&key_file, &key).unwrap();
    let mut restored = Server::start(&dir);
    restored.wait_for("Demo credentials:");
    restored.terminate();
}

#[test]
fn a_later_start_that_generates_the_admin_token_saves_it() {
    let dir = temp_dir();
    let mut first = Server::start_with(&dir, &[("CARDINAL_ADMIN_TOKEN", "given-by-the-operator")]);
    first.wait_for("These credentials are saved in");
    first.terminate();
    let credentials_path = dir.join("cardinal.credentials.json");
    let before: Value = serde_json::from_str(&std::fs::read_to_string(&credentials_path).unwrap()).unwrap();
    assert!(before["control_api_admin_token"].is_null(), "a configured token is the operator's to keep");
    let mut later = Server::start(&dir);
    later.wait_for("Control API admin token:");
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&credentials_path).unwrap()).unwrap();
    let token = after["control_api_admin_token"].as_str().expect("the generated token is saved");
    assert_eq!(after["base_url"], later.base.as_str(), "the base URL is today's");
    let card = after["card_id"].as_str().unwrap();
    let (status, _, _) =
        later.request("GET", &format!("/_sandbox/cards/{card}/events"), Some(&format!("Bearer {token}")));
    assert_eq!(status, 200);
    later.terminate();
}

#[test]
fn an_unwritable_database_path_is_named() {
    let dir = temp_dir();
    let output = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database", "sqlite:///proc/cardinal-nowhere/cards.db"])
        .env_remove("CARDINAL_CARD_KEY")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/proc/cardinal-nowhere/cards.db"), "{stderr}");
}

/// Reads stderr lines of a started server until one contains `needle` (or 20 s pass).
fn stderr_until(child: &mut Child, needle: &str) -> Vec<String> {
    let stderr = child.stderr.take().unwrap();
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(20)) {
        let found = line.contains(needle);
        seen.push(line);
        if found {
            break;
        }
    }
    seen
}

#[test]
fn logs_have_no_colours_off_a_terminal_and_json_logs_say_what_started() {
    let dir = temp_dir();
    let mut pretty = cardinal(&dir, "127.0.0.1:0", &[]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let lines = stderr_until(&mut pretty, "started");
    let _ = pretty.kill();
    let _ = pretty.wait();
    assert!(lines.iter().any(|l| l.contains("started")), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "no escape codes in a pipe: {lines:?}");

    let mut json = cardinal(&dir, "127.0.0.1:0", &[("CARDINAL_LOG_FORMAT", "json")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_until(&mut json, "\"started\"");
    let _ = json.kill();
    let _ = json.wait();
    let started: Value = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == "started")
        .unwrap_or_else(|| panic!("a JSON start-up event: {lines:?}"));
    let fields = &started["fields"];
    assert!(fields["address"].as_str().is_some_and(|a| a.starts_with("127.0.0.1:")), "{fields}");
    assert_eq!(fields["mode"], "sandbox");
    assert!(fields["database"].as_str().is_some_and(|d| d.ends_with("cardinal.db")), "{fields}");
    assert_eq!(fields["version"], env!("CARGO_PKG_VERSION"));
}

/// A server started with extra flags, its first stdout line read.
fn start_with_flags(dir: &Path, flags: &[&str]) -> Server {
    let mut command = cardinal(dir, "127.0.0.1:0", &[]);
    command.args(flags);
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
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
    server.base = first.strip_prefix("Cardinal listening on ").unwrap().split_whitespace().next().unwrap().to_owned();
    server
}

#[test]
fn idle_and_half_sent_connections_do_not_lock_out_a_normal_client() {
    let dir = temp_dir();
    let mut server = start_with_flags(&dir, &["--idle-timeout", "1", "--max-connections", "300"]);
    server.wait_for("These credentials are saved in");
    let address = server.base.strip_prefix("http://").unwrap().to_owned();
    // 2,000 connections: most say nothing, some send half a request head and stop.
    let mut hogs = Vec::new();
    for i in 0..2_000 {
        let Ok(mut stream) = TcpStream::connect(&address) else { break };
        if i % 4 == 0 {
            let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n");
        }
        hogs.push(stream);
    }
    assert!(hogs.len() >= 1_000, "opened {} connections", hogs.len());
    let started = std::time::Instant::now();
    let (status, body, _) = server.request("GET", "/healthz", None);
    assert_eq!(status, 200, "{body}");
    assert!(started.elapsed() < Duration::from_secs(15), "served in {:?}", started.elapsed());
    eprintln!("idle connections: {} open, a normal client served in {:?}", hogs.len(), started.elapsed());
    // The silent ones were closed by the server: reading them ends.
    let first = &mut hogs[1];
    first.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buffer = [0u8; 64];
    let closed = match first.read(&mut buffer) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(closed, "an idle connection is closed by the server, not left open");
    drop(hogs);
    server.terminate();
}

#[test]
fn a_body_that_stops_arriving_gets_408_not_a_5xx() {
    let dir = temp_dir();
    let mut server = start_with_flags(&dir, &["--idle-timeout", "1"]);
    server.wait_for("These credentials are saved in");
    let credentials: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cardinal.credentials.json")).unwrap()).unwrap();
    let owner = credentials["owner_access_token"].as_str().unwrap();
    let card = credentials["card_id"].as_str().unwrap();
    let address = server.base.strip_prefix("http://").unwrap().to_owned();
    let mut stream = TcpStream::connect(&address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        stream,
        "PATCH /v2/cards/{card}/nickname HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {owner}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"card\":"
    )
    .unwrap();
    let started = std::time::Instant::now();
    let mut raw = String::new();
    let _ = stream.read_to_string(&mut raw);
    assert!(raw.starts_with("HTTP/1.1 408"), "{raw}");
    assert!(raw.contains("request_timeout"), "{raw}");
    assert!(started.elapsed() < Duration::from_secs(10), "answered in {:?}", started.elapsed());
    server.terminate();
}

/// Every card's sealed number and CVV, straight from the database file.
fn sealed_cards(database: &Path) -> Vec<(uuid::Uuid, Vec<u8>, Vec<u8>)> {
    let conn = rusqlite::Connection::open(database).unwrap();
    let mut statement = conn.prepare("SELECT id, pan_ciphertext, cvv_ciphertext FROM cards").unwrap();
    statement
        .query_map([], |r| {
            let id: String = r.get(0)?;
            Ok((uuid::Uuid::parse_str(&id).unwrap(), r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn vault(key_text: &str) -> cardinal_api::secrets::CardVault {
    cardinal_api::secrets::CardVault::new(&cardinal_api::secrets::CardKey::parse(key_text).unwrap())
}

fn rotate_command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cardinal"));
    command
        .args(["keys", "rotate", "--batch", "2", "--database"])
        .arg(format!("sqlite://{}", dir.join("cardinal.db").display()))
        .env_remove("CARDINAL_CARD_KEY")
        .env_remove("CARDINAL_NEW_CARD_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

#[test]
fn key_rotation_survives_kills_and_every_card_stays_readable() {
    let dir = temp_dir();
    let mut first = Server::start(&dir);
    first.wait_for("These credentials are saved in");
    first.terminate();
    let database = dir.join("cardinal.db");
    let old_key = std::fs::read_to_string(dir.join("cardinal.key")).unwrap();
    let seeded = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .args(["bench", "seed", "--cards", "3000", "--database"])
        .arg(format!("sqlite://{}", database.display()))
        .env("CARDINAL_CARD_KEY", old_key.trim())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(seeded.success());
    let total = sealed_cards(&database).len();
    assert!(total > 3000);

    // Kill the rotation at growing moments; after each kill every card opens under a key.
    let (old, mut tried_kills, mut mixed) = (vault(&old_key), 0, 0);
    for delay_ms in [5u64, 40, 120, 250, 400] {
        let mut running = rotate_command(&dir).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished = running.try_wait().unwrap().is_some();
        let _ = running.kill();
        let _ = running.wait();
        if finished {
            break;
        }
        tried_kills += 1;
        let Ok(next_key) = std::fs::read_to_string(dir.join("cardinal.key.next")) else { continue };
        let new = vault(&next_key);
        let mut under_new = 0;
        for (id, pan, cvv) in sealed_cards(&database) {
            let opens = |v: &cardinal_api::secrets::CardVault| v.open(id, &pan).is_some() && v.open(id, &cvv).is_some();
            assert!(opens(&old) || opens(&new), "card {id} is unreadable after a kill at {delay_ms} ms");
            under_new += usize::from(opens(&new));
        }
        mixed += usize::from(under_new > 0 && under_new < total);
        // Meanwhile a server refuses to start on the half-rotated database. (A kill before the
        // rotation recorded its target leaves every card under the old key: a server may start.)
        if rotation_pending(&database) {
            let stderr = refused_start(&dir, "127.0.0.1:0", &[]);
            assert!(stderr.contains("keys rotate"), "{stderr}");
        }
    }
    assert!(tried_kills >= 2, "the rotation was interrupted at least twice");
    assert!(mixed >= 1, "at least one kill landed mid-way, with cards under both keys");
    eprintln!("key rotation: {tried_kills} kills, {mixed} mid-way, {total} cards, 0 unreadable after any kill");

    let finished = rotate_command(&dir).output().unwrap();
    assert!(finished.status.success(), "{}", String::from_utf8_lossy(&finished.stderr));
    assert!(!dir.join("cardinal.key.next").exists());
    let new_key = std::fs::read_to_string(dir.join("cardinal.key")).unwrap();
    assert_ne!(new_key.trim(), old_key.trim());
    let new = vault(&new_key);
    let cards = sealed_cards(&database);
    assert_eq!(cards.len(), total);
    for (id, pan, cvv) in &cards {
        assert!(new.open(*id, pan).is_some() && new.open(*id, cvv).is_some(), "card {id} is under the new key");
        assert!(old.open(*id, pan).is_none(), "card {id} no longer opens with the old key");
    }

    // The server starts with the new key and shows a card's number.
    let mut server = Server::start(&dir);
    server.wait_for("Demo credentials:");
    let credentials: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cardinal.credentials.json")).unwrap()).unwrap();
    let owner = format!("Bearer {}", credentials["owner_access_token"].as_str().unwrap());
    let card = credentials["card_id"].as_str().unwrap();
    let (status, link, _) = server.request("GET", &format!("/v2/cards/{card}/data_view"), Some(&owner));
    assert_eq!(status, 200, "{link}");
    let page_path = link["iframe_url"].as_str().unwrap().strip_prefix(&server.base).unwrap().to_owned();
    let address = server.base.strip_prefix("http://").unwrap().to_owned();
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(stream, "GET {page_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200") && page.contains("id=\"pan\">5117"), "the page shows the number: {page}");
    server.terminate();
}

#[test]
fn tls_self_signed_serves_https_and_says_so() {
    let dir = temp_dir();
    let mut server = start_with_flags(&dir, &["--tls", "self-signed"]);
    assert!(server.base.starts_with("https://"), "the start-up line says https: {}", server.base);
    let tls_line = server.wait_for("TLS: self-signed certificate");
    let cert = dir.join("cardinal.tls.crt");
    assert!(tls_line.contains(&cert.display().to_string()), "{tls_line}");
    server.wait_for("These credentials are saved in");
    let curl = |extra: &[&str], path: &str| {
        Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"])
            .args(extra)
            .arg(format!("{}{path}", server.base))
            .output()
            .unwrap()
    };
    let ok = curl(&["--cacert", cert.to_str().unwrap()], "/healthz");
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "200", "HTTPS with the printed certificate");
    let untrusted = curl(&[], "/healthz");
    assert_ne!(String::from_utf8_lossy(&untrusted.stdout), "200", "an unknown certificate is not trusted");
    let credentials: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cardinal.credentials.json")).unwrap()).unwrap();
    assert!(credentials["base_url"].as_str().unwrap().starts_with("https://"));
    server.terminate();

    // The files it made serve as a configured certificate too; production refuses self-signed.
    let key = dir.join("cardinal.tls.key");
    let configured =
        start_with_flags(&dir, &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    assert!(configured.base.starts_with("https://"));
    configured.terminate();
    let output = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .args(["serve", "--mode", "production", "--tls", "self-signed", "--bind", "127.0.0.1:0", "--database"])
        .arg(format!("sqlite://{}", dir.join("prod.db").display()))
        .env("CARDINAL_CARD_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("sandbox"), "{}", String::from_utf8_lossy(&output.stderr));
}
