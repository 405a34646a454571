//! The CLI end to end: each command run as a user runs it, in the directory of a running
//! sandbox (it reads the credentials file there), on SQLite and, when
//! `CARDINAL_TEST_POSTGRES_URL` is set, on PostgreSQL; the failure paths included.

mod common;

use common::{Process, ADMIN};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Sandbox {
    _server: Process,
    dir: PathBuf,
    label: &'static str,
}

/// A fresh sandbox on SQLite, and one on PostgreSQL when a test server is named.
fn sandboxes(name: &str) -> Vec<Sandbox> {
    let mut all = Vec::new();
    let dir = temp_dir(name);
    let database = format!("sqlite://{}", dir.join("cardinal.db").display());
    all.push(Sandbox { _server: common::start(&database, &dir), dir, label: "sqlite" });
    if let Some((url, schema)) = common::postgres_schema(&format!("cli_{name}")) {
        let dir = temp_dir(&format!("{name}-pg"));
        all.push(Sandbox { _server: common::start(&common::in_schema(&url, &schema), &dir), dir, label: "postgres" });
    }
    for sandbox in &all {
        common::first_run_credentials(&sandbox.dir);
    }
    all
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cardinal-cli-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cardinal"));
    command.args(args).current_dir(dir).env("CARDINAL_OPERATOR_TOKEN", ADMIN);
    for name in ["CARDINAL_TOKEN", "CARDINAL_BASE_URL", "CARDINAL_AS", "CARDINAL_CREDENTIALS", "CARDINAL_STAGING_TOKEN"]
    {
        command.env_remove(name);
    }
    command
}

/// Runs a command to its end (a minute at most): its exit code, stdout and stderr.
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut child =
        command(dir, args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().unwrap()));
    let stderr = read_all(Box::new(child.stderr.take().unwrap()));
    let status = common::wait_within(&mut child, Duration::from_secs(60), &format!("cardinal {args:?}"));
    (status.code().unwrap_or(-1), stdout.join().unwrap(), stderr.join().unwrap())
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(dir, args);
    assert_eq!(code, 0, "cardinal {args:?} failed: {out}{err}");
    out
}

fn live_card(dir: &Path, level: &str) -> String {
    let listed: Value =
        serde_json::from_str(&ok(dir, &["cards", "list", "--status", "live", "--level", level, "--json"])).unwrap();
    listed[0]["id"].as_str().expect("a live card").to_owned()
}

/// Spawns a command that runs until it is interrupted; its stdout as lines.
fn spawn(dir: &Path, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = command(dir, args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

fn line_with(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    loop {
        let line = lines.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("no line with {needle:?}"));
        if line.contains(needle) {
            return line;
        }
    }
}

fn interrupt(child: &mut Child) {
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = common::wait_within(child, Duration::from_secs(20), "a command stopped with Ctrl-C");
    assert!(status.success(), "a command stopped with Ctrl-C exits cleanly: {status}");
}

#[test]
fn card_commands_and_their_failures() {
    for sandbox in sandboxes("cards") {
        let dir = &sandbox.dir;
        let table = ok(dir, &["cards", "list"]);
        assert!(table.starts_with("ID") && table.contains(" cards"), "{}: {table}", sandbox.label);
        let card = live_card(dir, "standard");
        assert!(ok(dir, &["cards", "show", &card]).contains(&card));
        assert!(ok(dir, &["cards", "lock", &card]).contains(" paused "));
        let (code, out, err) = run(dir, &["cards", "unlock", &card, "--approve"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(err.contains("SCA required for card.unlock") && out.contains(" live "), "{out}{err}");
        let own: Value =
            serde_json::from_str(&ok(dir, &["cards", "list", "--as", "employee", "--status", "live", "--json"]))
                .unwrap();
        let own = own[0]["id"].as_str().unwrap();
        ok(dir, &["cards", "lock", own, "--as", "employee"]);
        let (code, _, err) = run(dir, &["cards", "unlock", own, "--as", "employee"]);
        assert_eq!(code, 1);
        assert!(err.contains("403"), "an employee may not unlock, even their own card: {err}");
        let (code, _, err) = run(dir, &["cards", "list", "--token", "not-a-token"]);
        assert_eq!((code, err.contains("401")), (1, true), "{err}");
        let (code, _, err) = run(dir, &["cards", "show", "00000000-0000-0000-0000-000000000000"]);
        assert_eq!((code, err.contains("card not found (not_found)")), (1, true), "{err}");
        let changed = ok(dir, &["cards", "limits", &card, "--monthly", "1200", "--approve", "--json"]);
        let changed: Value = serde_json::from_str(&changed).unwrap();
        assert_eq!(changed["payment_monthly_limit"], 1200);
    }
}

#[test]
fn triggers_say_what_happened_and_why() {
    for sandbox in sandboxes("trigger") {
        let dir = &sandbox.dir;
        let card = live_card(dir, "standard");
        let approved = ok(dir, &["trigger", "payment", "--card", &card, "--amount", "12.50", "--mcc", "5812"]);
        assert!(approved.starts_with("approved: 12.50 €"), "{}: {approved}", sandbox.label);
        let transaction = approved.rsplit("transaction ").next().unwrap().trim_end_matches([')', '\n']).to_owned();
        assert!(ok(dir, &["trigger", "settlement", "--transaction", &transaction]).starts_with("settled:"));
        ok(dir, &["cards", "lock", &card]);
        let (code, out, err) = run(dir, &["trigger", "payment", "--card", &card, "--amount", "3"]);
        assert_eq!(code, 1, "a declined payment is a failure");
        assert!(
            out.starts_with("declined: card_not_active") && err.contains("declined: card_not_active"),
            "{out}{err}"
        );
        let virtual_card = live_card(dir, "virtual");
        let expired = ok(dir, &["trigger", "expiry", "--card", &virtual_card]);
        assert!(expired.contains(" expired "), "{expired}");
        assert!(ok(dir, &["clock", "advance", "1d"]).starts_with("the organization's clock now reads"));
    }
}

#[test]
fn listen_forwards_signed_deliveries_and_unsubscribes() {
    for sandbox in sandboxes("listen") {
        let dir = &sandbox.dir;
        let (receiver, verified) = signature_checking_receiver();
        let url = format!("http://{receiver}/hooks");
        let (mut listen, lines) = spawn(dir, &["listen", "--forward-to", &url, "--events", "v1/cards"]);
        let ready = line_with(&lines, "Ready.");
        let secret = ready.split("secret: ").nth(1).unwrap().split(' ').next().unwrap().to_owned();
        verified.0.send(secret).unwrap();
        let card = live_card(dir, "standard");
        ok(dir, &["cards", "lock", &card]);
        let delivered = verified.1.recv_timeout(Duration::from_secs(20)).expect("a delivery reached the app");
        assert!(delivered.contains("\"locked\""), "{}: {delivered}", sandbox.label);
        assert!(line_with(&lines, "v1/cards locked").contains("-> 200 in"));
        interrupt(&mut listen);
        let credentials = common::first_run_credentials(dir);
        let owner = format!("Bearer {}", credentials["owner_access_token"].as_str().unwrap());
        let address = credentials["base_url"].as_str().unwrap().trim_start_matches("http://").to_owned();
        let (_, subscriptions) = common::http(&address, "GET", "/v2/webhook_subscriptions", &owner, &[], None).unwrap();
        assert_eq!(subscriptions["subscriptions"].as_array().map(Vec::len), Some(0), "Ctrl-C unsubscribed");
    }
}

#[test]
fn listen_without_a_forward_prints_events_and_logs_tail_streams_requests() {
    for sandbox in sandboxes("tail") {
        let dir = &sandbox.dir;
        let (mut listen, events) = spawn(dir, &["listen"]);
        line_with(&events, "Ready.");
        let (mut tail, requests) = spawn(dir, &["logs", "tail"]);
        std::thread::sleep(Duration::from_millis(500));
        let card = live_card(dir, "standard");
        ok(dir, &["cards", "lock", &card]);
        assert!(line_with(&events, "v1/cards locked").contains("(signature verified)"), "{}", sandbox.label);
        let _ = run(dir, &["cards", "show", "00000000-0000-0000-0000-000000000000"]);
        let missing = line_with(&requests, "/v2/cards/00000000-0000-0000-0000-000000000000");
        assert!(missing.contains(" GET ") && missing.contains(" 404 "), "{missing}");
        interrupt(&mut listen);
        // Ctrl-C while lines are streaming in is a clean stop too, not one that is missed.
        let burst = request_burst(dir, 400);
        line_with(&requests, "/v2/cards?burst");
        interrupt(&mut tail);
        burst.join().unwrap();
    }
}

/// `count` quick requests from a thread, each one a line for `logs tail`.
fn request_burst(dir: &Path, count: usize) -> std::thread::JoinHandle<()> {
    let credentials = common::first_run_credentials(dir);
    let owner = format!("Bearer {}", credentials["owner_access_token"].as_str().unwrap());
    let address = credentials["base_url"].as_str().unwrap().trim_start_matches("http://").to_owned();
    std::thread::spawn(move || {
        for _ in 0..count {
            let _ = common::http(&address, "GET", "/v2/cards?burst=1&per_page=1", &owner, &[], None);
        }
    })
}

#[test]
fn organizations_tokens_and_completions() {
    let sandbox = sandboxes("admin").remove(0);
    let dir = &sandbox.dir;
    let made: Value = serde_json::from_str(&ok(dir, &["orgs", "create", "--name", "Acme CLI", "--json"])).unwrap();
    assert_eq!(made["organization"]["legal_name"], "Acme CLI");
    assert!(ok(dir, &["orgs", "list"]).contains("Acme CLI"));
    let token = ok(dir, &["tokens", "create", "--role", "employee", "--scope", "card.read"]);
    let token = token.lines().next().unwrap();
    let (code, _, err) = run(dir, &["cards", "lock", &live_card(dir, "standard"), &format!("--token={token}")]);
    assert_eq!(code, 1, "a read-only token cannot lock: {err}");
    for shell in ["bash", "zsh", "fish"] {
        assert!(ok(dir, &["completions", shell]).contains("cardinal"), "{shell}");
    }
}

/// A local app that checks each delivery's `X-Qonto-Signature` with the secret it is sent
/// first, answers 200, and passes on the body of each delivery it verified.
fn signature_checking_receiver() -> (String, (mpsc::Sender<String>, mpsc::Receiver<String>)) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (secret_tx, secret_rx) = mpsc::channel::<String>();
    let (body_tx, body_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let secret = secret_rx.recv().unwrap();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (signature, body) = read_request(&mut stream);
            let t = signature.split(',').find_map(|p| p.strip_prefix("t=")).and_then(|t| t.parse().ok()).unwrap_or(0);
            let valid = cardinal_api::webhooks::signature::sign(&secret, t, body.as_bytes()) == signature;
            let status = if valid { "200 OK" } else { "401 Unauthorized" };
            let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if valid {
                let _ = body_tx.send(body);
            }
        }
    });
    (address, (secret_tx, body_rx))
}

fn read_request(stream: &mut std::net::TcpStream) -> (String, String) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let (mut signature, mut length) = (String::new(), 0usize);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or_default();
        match name.to_ascii_lowercase().as_str() {
            "x-qonto-signature" => signature = value.trim().to_owned(),
            "content-length" => length = value.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (signature, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn listen_is_refused_clearly_by_a_production_server() {
    const OPERATOR: &str = "cli-production-operator-token-0123456789";
    let dir = temp_dir("production");
    let database = format!("sqlite://{}", dir.join("cardinal.db").display());
    let server = common::start_production(&database, &dir, OPERATOR);
    let body = serde_json::json!({"legal_name": "Program Co", "members": [{"first_name": "Olga", "last_name": "Owner", "role": "owner"}]});
    let (status, created) = common::http(
        &server.address,
        "POST",
        "/_operator/organizations",
        &format!("Bearer {OPERATOR}"),
        &[],
        Some(&body),
    )
    .unwrap();
    assert_eq!(status, 201, "{created}");
    let token = created["memberships"][0]["access_token"].as_str().unwrap();
    let base = format!("http://{}", server.address);
    // `--token=…`: a token may begin with `-`, which a separate argument would read as a flag.
    let token = format!("--token={token}");
    let (code, out, err) = run(&dir, &["listen", "--base-url", &base, &token]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("only a sandbox server calls"), "{err}");
}
