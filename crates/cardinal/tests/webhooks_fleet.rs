//! Two `cardinal serve` processes on one PostgreSQL database deliver webhooks as one: each
//! event reaches the receiver once, in each card's order, and none is lost when a process is
//! SIGKILLed mid-run (issue: webhooks). Runs when `CARDINAL_TEST_POSTGRES_URL` is set.

use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::*;

/// Envelopes as they arrived, in arrival order.
type Arrivals = Arc<Mutex<Vec<Value>>>;

/// A plain HTTP receiver on a local port: records each body, answers 200.
fn receiver() -> (String, Arrivals) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let arrivals: Arrivals = Default::default();
    let record = arrivals.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let record = record.clone();
            std::thread::spawn(move || serve_one(stream, &record));
        }
    });
    (url, arrivals)
}

fn serve_one(stream: TcpStream, record: &Arrivals) {
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    if let Ok(envelope) = serde_json::from_slice::<Value>(&body) {
        record.lock().unwrap().push(envelope);
    }
    let _ = reader.get_mut().write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
}

/// `rounds` lock/unlock changes on each card, spread over both processes; each is an event.
fn change_cards(addresses: &[String; 2], owner: &str, cards: &[String], rounds: usize) {
    let threads: Vec<_> = cards
        .iter()
        .enumerate()
        .map(|(i, card)| {
            let (addresses, owner, card) = (addresses.clone(), owner.to_owned(), card.clone());
            std::thread::spawn(move || {
                for round in 0..rounds {
                    let action = if round % 2 == 0 { "lock" } else { "unlock" };
                    let address = &addresses[(i + round) % 2];
                    let (status, body) =
                        http(address, "PUT", &format!("/v2/cards/{card}/{action}"), &owner, &[], None).unwrap();
                    assert_eq!(status, 200, "{body}");
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
}

/// Waits until `expected` distinct events arrived; returns (arrivals, distinct).
fn wait_for(arrivals: &Arrivals, expected: usize, limit: Duration) -> (Vec<Value>, usize) {
    let started = Instant::now();
    loop {
        let seen = arrivals.lock().unwrap().clone();
        let distinct = seen.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect::<HashSet<_>>().len();
        if distinct >= expected || started.elapsed() > limit {
            return (seen, distinct);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Each card's events, first arrivals only, alternate locked/unlocked, from `first`.
fn assert_card_order(arrivals: &[Value], first: &str) {
    let mut seen = HashSet::new();
    let mut per_card: HashMap<String, Vec<String>> = HashMap::new();
    for envelope in arrivals {
        if seen.insert(envelope["id"].as_str().unwrap().to_owned()) {
            let data = &envelope["data"];
            per_card
                .entry(data["id"].as_str().unwrap().to_owned())
                .or_default()
                .push(data["event"].as_str().unwrap().into());
        }
    }
    for (card, events) in per_card {
        let second = if first == "locked" { "unlocked" } else { "locked" };
        for (i, event) in events.iter().enumerate() {
            assert_eq!(event, if i % 2 == 0 { first } else { second }, "card {card}: event {i} out of order");
        }
    }
}

#[test]
fn two_processes_deliver_each_event_once_and_lose_none_when_one_is_killed() {
    let Some((url, schema)) = postgres_schema("hooks") else { return };
    let database = in_schema(&url, &schema);
    let dir = std::env::temp_dir().join(format!("cardinal-hooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let first = start(&database, &dir);
    let mut second = start(&database, &dir);
    let addresses = [first.address.clone(), second.address.clone()];
    let setup = organization(&addresses[0]);
    let (callback, arrivals) = receiver();
    let subscription = json!({"callback_url": callback, "types": ["v1/cards"]});
    let (status, body) =
        http(&addresses[1], "POST", "/v2/webhook_subscriptions", &setup.owner, &[], Some(&subscription)).unwrap();
    assert_eq!(status, 201, "{body}");
    let cards = &setup.cards;
    let rounds = 1000 / cards.len();
    let expected = rounds * cards.len();

    // 1. 1,000 events with both processes delivering: each arrives once, in each card's order.
    let started = Instant::now();
    change_cards(&addresses, &setup.owner, cards, rounds);
    let (seen, distinct) = wait_for(&arrivals, expected, Duration::from_secs(60));
    let elapsed = started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let total = arrivals.lock().unwrap().len();
    eprintln!("{distinct} distinct events, {total} deliveries, in {:.1} s with two processes", elapsed.as_secs_f64());
    assert_eq!(distinct, expected, "every event arrived");
    assert_eq!(total, expected, "each exactly once");
    assert_card_order(&seen, "locked");

    // 2. 1,000 more; one process is SIGKILLed while deliveries are under way: none is lost
    //    (the other takes the dead one's leases when they expire); some may arrive twice.
    arrivals.lock().unwrap().clear();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        second.child.kill().unwrap(); // SIGKILL
        second.child.wait().unwrap();
    });
    let only_first = [addresses[0].clone(), addresses[0].clone()];
    change_cards(&only_first, &setup.owner, cards, rounds);
    killer.join().unwrap();
    let (seen, distinct) = wait_for(&arrivals, expected, Duration::from_secs(60));
    let total = arrivals.lock().unwrap().len();
    eprintln!(
        "after the kill: {distinct} distinct events of {expected}, {total} deliveries ({} repeated)",
        total - distinct
    );
    assert_eq!(distinct, expected, "no event lost when a process dies mid-delivery");
    assert_card_order(&seen, "locked");
    drop(first);
    psql(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
}
