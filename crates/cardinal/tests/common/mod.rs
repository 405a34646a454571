//! What the PostgreSQL process tests share: starting `cardinal serve` processes, one HTTP
//! request at a time, an organization to drive.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const ADMIN: &str = "multi-process-admin-token";
pub const CARD_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub struct Process {
    pub child: Child,
    pub address: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `child` to exit, at most `limit`: a process that does not is killed and the
/// test fails, instead of the test run hanging until CI's own limit.
pub fn wait_within(child: &mut Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            return status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {limit:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn start(database: &str, dir: &std::path::Path) -> Process {
    listening(spawn(database, dir))
}

pub fn spawn(database: &str, dir: &std::path::Path) -> Child {
    spawn_with_key(database, dir, CARD_KEY)
}

/// A server with another card-data key than [`CARD_KEY`].
pub fn start_with_key(database: &str, dir: &std::path::Path, key: &str) -> Process {
    listening(spawn_with_key(database, dir, key))
}

/// A start with `key` that must be refused: its stderr.
pub fn start_refused(database: &str, dir: &std::path::Path, key: &str) -> String {
    let output = serve_command(database, dir, key).stdin(Stdio::null()).output().expect("cardinal runs");
    assert!(!output.status.success(), "the start should have been refused");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A server with extra environment variables (flags given as their `CARDINAL_*` variables).
pub fn start_with_env(database: &str, dir: &std::path::Path, env: &[(&str, &str)]) -> Process {
    let mut command = serve_command(database, dir, CARD_KEY);
    command.envs(env.iter().copied());
    listening(command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start cardinal"))
}

fn spawn_with_key(database: &str, dir: &std::path::Path, key: &str) -> Child {
    serve_command(database, dir, key).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start cardinal")
}

fn serve_command(database: &str, dir: &std::path::Path, key: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cardinal"));
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--rate-limits", "off", "--database", database])
        .env("CARDINAL_ADMIN_TOKEN", ADMIN)
        .env("CARDINAL_CARD_KEY", key)
        .env_remove("CARDINAL_STAGING_TOKEN")
        .env_remove("CARDINAL_OPERATOR_TOKEN")
        .env_remove("CARDINAL_MODE")
        .current_dir(dir);
    command
}

/// A production server on `database` with `operator_token`, started in `dir`.
pub fn start_production(database: &str, dir: &std::path::Path, operator_token: &str) -> Process {
    let child = Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .args(["serve", "--mode", "production", "--bind", "127.0.0.1:0", "--database", database])
        .env("CARDINAL_OPERATOR_TOKEN", operator_token)
        .env("CARDINAL_CARD_KEY", CARD_KEY)
        .env_remove("CARDINAL_ADMIN_TOKEN")
        .env_remove("CARDINAL_STAGING_TOKEN")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cardinal");
    listening(child)
}

/// Waits for a spawned process to say where it listens; panics with its error if it exits.
pub fn listening(child: Child) -> Process {
    try_listening(child).unwrap_or_else(|stderr| panic!("cardinal did not start: {stderr}"))
}

/// The same; a process that exits instead answers its stderr.
pub fn try_listening(mut child: Child) -> Result<Process, String> {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    if let Some(Ok(first)) = lines.next() {
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        return Ok(listening_at(child, first, lines));
    }
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    let _ = child.wait();
    Err(stderr)
}

pub fn listening_at(
    child: Child,
    first: String,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
) -> Process {
    let address = first
        .strip_prefix("Cardinal listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    Process { child, address }
}

/// One HTTP/1.1 request on a fresh connection. `None` when the server is gone.
pub fn http(
    address: &str,
    method: &str,
    path: &str,
    auth: &str,
    extra: &[(&str, &str)],
    body: Option<&Value>,
) -> Option<(u16, Value)> {
    http_with_head(address, method, path, auth, extra, body).map(|(status, body, _)| (status, body))
}

/// A sample of the server's `/metrics` (read with the sandbox operator token); `None` when
/// the series is not there.
pub fn metric(address: &str, series: &str) -> Option<f64> {
    let mut stream = TcpStream::connect(address).ok()?;
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The same, with the answer's head (status line and headers) as text.
pub fn http_with_head(
    address: &str,
    method: &str,
    path: &str,
    auth: &str,
    extra: &[(&str, &str)],
    body: Option<&Value>,
) -> Option<(u16, Value, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: {auth}\r\nConnection: close\r\n");
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(head.as_bytes()).ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null), head.to_owned()))
}

/// A header's value in a head returned by [`http_with_head`].
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned()))
}

pub fn admin(address: &str, method: &str, path: &str, body: Value) -> Value {
    let (status, answer) =
        http(address, method, path, &format!("Bearer {ADMIN}"), &[], Some(&body)).expect("server answers");
    assert!(status < 300, "{method} {path}: {status} {answer}");
    answer
}

pub fn purchase(amount: f64) -> Value {
    json!({"amount": amount, "channel": "online", "merchant": {"name": "Shop", "category": "other", "country": "FR"}})
}

pub fn authorize(address: &str, card: &str, amount: f64) -> Option<Value> {
    let (status, body) = http(
        address,
        "POST",
        &format!("/_sandbox/cards/{card}/authorizations"),
        &format!("Bearer {ADMIN}"),
        &[],
        Some(&purchase(amount)),
    )?;
    if status != 200 {
        eprintln!("authorization answered {status}: {body}");
    }
    (status == 200).then(|| body["authorization"].clone())
}

pub struct Setup {
    pub owner: String,
    pub cards: Vec<String>,
    pub account: String,
}

pub fn organization(address: &str) -> Setup {
    let org = admin(address, "POST", "/_sandbox/organizations", json!({"sca_mode": "disabled", "balance": 1_000_000}));
    let owner = org["memberships"].as_array().unwrap().iter().find(|m| m["role"] == "owner").unwrap();
    Setup {
        owner: format!("Bearer {}", owner["access_token"].as_str().unwrap()),
        cards: org["cards"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["card_level"] == "virtual")
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect(),
        account: org["bank_account"]["id"].as_str().unwrap().to_owned(),
    }
}

pub fn set_monthly_limit(address: &str, owner: &str, card: &str, euros: u32) {
    let body = json!({"card": {"payment_monthly_limit": euros}});
    let (status, answer) =
        http(address, "PATCH", &format!("/v2/cards/{card}/limits"), owner, &[], Some(&body)).unwrap();
    assert_eq!(status, 200, "{answer}");
}

pub fn psql(url: &str, statement: &str) {
    let status = Command::new("psql").args([url, "-q", "-c", statement]).status().expect("psql runs");
    assert!(status.success(), "psql {statement}");
}

/// The test server's URL (`CARDINAL_TEST_POSTGRES_URL`); `None`, saying so, when it is not
/// set — outside CI only: CI runs the PostgreSQL tests.
pub fn postgres_url() -> Option<String> {
    let Ok(url) = std::env::var("CARDINAL_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs the PostgreSQL tests: set CARDINAL_TEST_POSTGRES_URL"
        );
        eprintln!("skipped: CARDINAL_TEST_POSTGRES_URL is not set");
        return None;
    };
    Some(url)
}

/// The test server's URL and a fresh schema `{prefix}_{pid}` in it; `None` (saying so) when
/// `CARDINAL_TEST_POSTGRES_URL` is not set.
pub fn postgres_schema(prefix: &str) -> Option<(String, String)> {
    let url = postgres_url()?;
    let schema = format!("{prefix}_{}", std::process::id());
    psql(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"));
    Some((url, schema))
}

/// `url` with `schema` as the search path of its connections.
pub fn in_schema(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// Opens every card of the demo organization a first run in `dir` seeded (its owner's token is
/// in the credentials file there) through its data-view page, as a card holder would: each
/// page must show a card number. Returns how many opened.
pub fn every_card_number_opens(address: &str, dir: &std::path::Path) -> usize {
    let credentials = first_run_credentials(dir);
    let owner = format!("Bearer {}", credentials["owner_access_token"].as_str().unwrap());
    let (status, list) = http(address, "GET", "/v2/cards?per_page=100", &owner, &[], None).unwrap();
    assert_eq!(status, 200, "{list}");
    let cards = list["cards"].as_array().unwrap();
    for card in cards {
        let id = card["id"].as_str().unwrap();
        let (status, link) = http(address, "GET", &format!("/v2/cards/{id}/data_view"), &owner, &[], None).unwrap();
        assert_eq!(status, 200, "{link}");
        let url = link["iframe_url"].as_str().unwrap();
        let path = &url[url.find("/card_data/").unwrap()..];
        let mut stream = TcpStream::connect(address).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut page = String::new();
        stream.read_to_string(&mut page).unwrap();
        assert!(page.starts_with("HTTP/1.1 200") && page.contains("id=\"pan\">5"), "card {id} shows its number");
    }
    cards.len()
}

/// The credentials file a first run in `dir` writes, once it is whole (waits up to 20 s).
pub fn first_run_credentials(dir: &std::path::Path) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(dir.join("cardinal.credentials.json")).unwrap_or_default();
        if let Ok(credentials) = serde_json::from_str::<Value>(&text) {
            return credentials;
        }
        assert!(std::time::Instant::now() < deadline, "no credentials file in {}", dir.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}
