//! Two `cardinal serve` processes on one PostgreSQL database behave as one server (issue:
//! PostgreSQL backend). Runs when `CARDINAL_TEST_POSTGRES_URL` is set (`.ci/run` sets it).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN: &str = "multi-process-admin-token";
const CARD_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

struct Process {
    child: Child,
    address: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(database: &str, dir: &std::path::Path) -> Process {
    listening(spawn(database, dir))
}

fn spawn(database: &str, dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cardinal"))
        .args(["serve", "--bind", "127.0.0.1:0", "--rate-limits", "off", "--database", database])
        .env("CARDINAL_ADMIN_TOKEN", ADMIN)
        .env("CARDINAL_CARD_KEY", CARD_KEY)
        .env_remove("CARDINAL_STAGING_TOKEN")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cardinal")
}

/// Waits for a spawned process to say where it listens; panics with its error if it exits.
fn listening(mut child: Child) -> Process {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    if let Some(Ok(first)) = lines.next() {
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        return listening_at(child, first, lines);
    }
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    panic!("cardinal did not start: {stderr}");
}

fn listening_at(child: Child, first: String, lines: std::io::Lines<BufReader<std::process::ChildStdout>>) -> Process {
    let address = first
        .strip_prefix("Cardinal listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    Process { child, address }
}

/// One HTTP/1.1 request on a fresh connection. `None` when the server is gone.
fn http(
    address: &str,
    method: &str,
    path: &str,
    auth: &str,
    extra: &[(&str, &str)],
    body: Option<&Value>,
) -> Option<(u16, Value)> {
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
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

fn admin(address: &str, method: &str, path: &str, body: Value) -> Value {
    let (status, answer) =
        http(address, method, path, &format!("Bearer {ADMIN}"), &[], Some(&body)).expect("server answers");
    assert!(status < 300, "{method} {path}: {status} {answer}");
    answer
}

fn purchase(amount: f64) -> Value {
    json!({"amount": amount, "channel": "online", "merchant": {"name": "Shop", "category": "other", "country": "FR"}})
}

fn authorize(address: &str, card: &str, amount: f64) -> Option<Value> {
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

struct Setup {
    owner: String,
    cards: Vec<String>,
    account: String,
}

fn organization(address: &str) -> Setup {
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

fn set_monthly_limit(address: &str, owner: &str, card: &str, euros: u32) {
    let body = json!({"card": {"payment_monthly_limit": euros}});
    let (status, answer) =
        http(address, "PATCH", &format!("/v2/cards/{card}/limits"), owner, &[], Some(&body)).unwrap();
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn two_processes_on_one_postgres_behave_as_one_server() {
    let Ok(url) = std::env::var("CARDINAL_TEST_POSTGRES_URL") else {
        eprintln!("skipped: CARDINAL_TEST_POSTGRES_URL is not set");
        return;
    };
    let schema = format!("mp_{}", std::process::id());
    let created = Command::new("psql")
        .arg(&url)
        .args(["-q", "-c", &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")])
        .status();
    assert!(created.is_ok_and(|s| s.success()), "psql could not create the test schema");
    let separator = if url.contains('?') { '&' } else { '?' };
    let database = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    let dir = std::env::temp_dir().join(format!("cardinal-mp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let first = start(&database, &dir);
    let mut second = start(&database, &dir);
    let addresses = [first.address.clone(), second.address.clone()];
    let setup = organization(&addresses[0]);

    // 1. 400 concurrent payments of 1.00, split across both processes, against a 100.00 limit.
    let card = setup.cards[0].clone();
    set_monthly_limit(&addresses[1], &setup.owner, &card, 100);
    let approved = Arc::new(Mutex::new(0));
    let threads: Vec<_> = (0..20)
        .map(|t| {
            let (addresses, card, approved) = (addresses.clone(), card.clone(), approved.clone());
            std::thread::spawn(move || {
                for i in 0..20 {
                    let answer = authorize(&addresses[(t + i) % 2], &card, 1.0).expect("answered");
                    if answer["decision"] == "approved" {
                        *approved.lock().unwrap() += 1;
                    }
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(*approved.lock().unwrap(), 100, "exactly the limit, across processes");
    let (_, shown) = http(&addresses[0], "GET", &format!("/v2/cards/{card}"), &setup.owner, &[], None).unwrap();
    assert_eq!(shown["card"]["payment_monthly_spent"], 100);

    // 2. One process locks while both keep paying: nothing started after the lock's answer passes.
    let card = setup.cards[1].clone();
    set_monthly_limit(&addresses[0], &setup.owner, &card, 20000);
    let stop = Arc::new(AtomicBool::new(false));
    let payers: Vec<_> = (0..6)
        .map(|t| {
            let (address, card, stop) = (addresses[t % 2].clone(), card.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let answer = authorize(&address, &card, 0.01).expect("answered");
                    seen.push((started, answer["decision"].as_str().unwrap().to_owned()));
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (status, _) = http(&addresses[1], "PUT", &format!("/v2/cards/{card}/lock"), &setup.owner, &[], None).unwrap();
    assert_eq!(status, 200);
    let lock_answered = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let (mut before, mut after) = (0, 0);
    for payer in payers {
        for (started, decision) in payer.join().unwrap() {
            if started > lock_answered {
                after += 1;
                assert_eq!(decision, "declined", "a payment started after the lock answered was approved");
            } else if decision == "approved" {
                before += 1;
            }
        }
    }
    assert!(before > 0 && after > 0, "both sides exercised ({before} before, {after} after)");

    // 3. The same idempotency key sent to both processes at once creates one card.
    let holder_body = json!({"card": {"holder_id": null, "bank_account_id": setup.account, "card_level": "virtual", "payment_monthly_limit": 10}});
    let (_, me) = http(&addresses[0], "GET", "/v2/membership", &setup.owner, &[], None).unwrap();
    let mut body = holder_body.clone();
    body["card"]["holder_id"] = me["membership"]["id"].clone();
    let (_, before_list) = http(&addresses[0], "GET", "/v2/cards?per_page=1", &setup.owner, &[], None).unwrap();
    for round in 0..5 {
        let key = format!("same-key-{round}");
        let racers: Vec<_> = addresses
            .iter()
            .map(|address| {
                let (address, owner, body, key) = (address.clone(), setup.owner.clone(), body.clone(), key.clone());
                std::thread::spawn(move || {
                    http(&address, "POST", "/v2/cards", &owner, &[("X-Qonto-Idempotency-Key", &key)], Some(&body))
                        .unwrap()
                })
            })
            .collect();
        let answers: Vec<(u16, Value)> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        assert!(answers.iter().all(|(s, _)| *s == 200 || *s == 409), "{answers:?}");
        let ids: std::collections::HashSet<&str> =
            answers.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b["card"]["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 1, "both 200s are the same card: {answers:?}");
    }
    let (_, after_list) = http(&addresses[0], "GET", "/v2/cards?per_page=1", &setup.owner, &[], None).unwrap();
    let created =
        after_list["meta"]["total_count"].as_u64().unwrap() - before_list["meta"]["total_count"].as_u64().unwrap();
    assert_eq!(created, 5, "one card per key");

    // 4. SIGKILL one process mid-load: no acknowledged write is lost, the other keeps serving.
    let card = setup.cards[2].clone();
    set_monthly_limit(&addresses[0], &setup.owner, &card, 20000);
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let loaders: Vec<_> = (0..6)
        .map(|t| {
            let (address, card, acknowledged) = (addresses[t % 2].clone(), card.clone(), acknowledged.clone());
            std::thread::spawn(move || {
                for _ in 0..60 {
                    match authorize(&address, &card, 0.5) {
                        Some(answer) if answer["decision"] == "approved" => {
                            acknowledged.lock().unwrap().push(answer["transaction_id"].as_str().unwrap().to_owned())
                        }
                        Some(_) => {}
                        None => break, // that process is gone
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    second.child.kill().expect("SIGKILL");
    second.child.wait().unwrap();
    loaders.into_iter().for_each(|t| t.join().unwrap());
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(!acknowledged.is_empty());
    for id in &acknowledged {
        let (status, _) =
            http(&addresses[0], "GET", &format!("/v2/transactions/{id}"), &setup.owner, &[], None).unwrap();
        assert_eq!(status, 200, "acknowledged transaction {id} was lost");
    }
    let (_, listed) = http(
        &addresses[0],
        "GET",
        &format!("/v2/transactions?bank_account_id={}&status[]=pending&per_page=100", setup.account),
        &setup.owner,
        &[],
        None,
    )
    .unwrap();
    let (_, shown) = http(&addresses[0], "GET", &format!("/v2/cards/{card}"), &setup.owner, &[], None).unwrap();
    let spent = (shown["card"]["payment_monthly_spent"].as_f64().unwrap() * 100.0).round() as usize;
    assert!(spent >= acknowledged.len() * 50, "the card counts every acknowledged payment");
    assert!(listed["meta"]["total_count"].as_u64().unwrap() > 0);
    // Every pending transaction of this card is counted on it: nothing half-written.
    let mut page = 1;
    let mut counted = 0;
    loop {
        let (_, batch) = http(
            &addresses[0],
            "GET",
            &format!("/v2/transactions?bank_account_id={}&status[]=pending&per_page=100&page={page}", setup.account),
            &setup.owner,
            &[],
            None,
        )
        .unwrap();
        let last = shown["card"]["last_digits"].clone();
        counted += batch["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["card_last_digits"] == last)
            .map(|t| t["amount_cents"].as_u64().unwrap() as usize)
            .sum::<usize>();
        if batch["meta"]["next_page"].is_null() {
            break;
        }
        page += 1;
    }
    assert_eq!(counted, spent, "the card and its transactions agree to the cent");
    assert!(authorize(&addresses[0], &card, 0.5).is_some(), "the surviving process keeps serving");
    drop(first);
    let _ =
        Command::new("psql").arg(&url).args(["-q", "-c", &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")]).status();
    let _ = std::fs::remove_dir_all(&dir);
}

fn psql(url: &str, statement: &str) {
    let status = Command::new("psql").args([url, "-q", "-c", statement]).status().expect("psql runs");
    assert!(status.success(), "psql {statement}");
}

/// Migrations are safe for processes starting together on an empty database: 4 processes,
/// 10 rounds, each on a database of its own; every process starts.
#[test]
fn processes_starting_together_on_an_empty_database_all_start() {
    let Ok(url) = std::env::var("CARDINAL_TEST_POSTGRES_URL") else {
        eprintln!("skipped: CARDINAL_TEST_POSTGRES_URL is not set");
        return;
    };
    let (server, _) = url.rsplit_once('/').expect("a database URL");
    for round in 0..10 {
        let name = format!("cardinal_boot_{}_{round}", std::process::id());
        psql(&url, &format!("CREATE DATABASE {name}"));
        let database = format!("{server}/{name}");
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let children: Vec<Child> = (0..4).map(|_| spawn(&database, &dir)).collect();
        let processes: Vec<Process> = children.into_iter().map(listening).collect();
        for process in &processes {
            let (status, _) = http(&process.address, "GET", "/readyz", "", &[], None).expect("answers");
            assert_eq!(status, 200, "round {round}");
        }
        drop(processes);
        psql(&url, &format!("DROP DATABASE {name} WITH (FORCE)"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
