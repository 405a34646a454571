//! Two `cardinal serve` processes on one PostgreSQL database behave as one server (issue:
//! PostgreSQL backend). Runs when `CARDINAL_TEST_POSTGRES_URL` is set (`.ci/run` sets it).

use serde_json::{json, Value};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::*;

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
        // Each child is killed on the way out, even if another failed to start.
        let mut processes: Vec<Process> = Vec::new();
        let mut waiting = children.into_iter();
        while let Some(child) = waiting.next() {
            let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| listening(child)));
            match started {
                Ok(process) => processes.push(process),
                Err(failure) => {
                    for mut rest in waiting {
                        let _ = rest.kill();
                        let _ = rest.wait();
                    }
                    std::panic::resume_unwind(failure);
                }
            }
        }
        for process in &processes {
            let (status, _) = http(&process.address, "GET", "/readyz", "", &[], None).expect("answers");
            assert_eq!(status, 200, "round {round}");
        }
        drop(processes);
        psql(&url, &format!("DROP DATABASE {name} WITH (FORCE)"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
