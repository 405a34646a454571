//! PostgreSQL goes away under load and comes back. While it is down Cardinal answers
//! `503 storage_unavailable` with `Retry-After` — never a hang, never a 500 — recovers by
//! itself, and loses no write it acknowledged.
//!
//! It stops the local PostgreSQL cluster, so it runs alone in this test binary, and only
//! when `CARDINAL_TEST_POSTGRES_CLUSTER` names a cluster it may restart (`15 main`; set by
//! `scripts/test` when it manages the local server).

mod common;
use common::*;
use serde_json::Value;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn cluster(action: &str, cluster: &str) {
    let mut words = cluster.split_whitespace();
    let (version, name) = (words.next().unwrap(), words.next().unwrap_or("main"));
    let status = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", version, name, action])
        .status()
        .expect("pg_ctlcluster runs");
    assert!(status.success(), "pg_ctlcluster {action}");
}

/// What the load saw: acknowledged transactions, and every answer that was not a 200.
#[derive(Default)]
struct Observed {
    acknowledged: Vec<String>,
    refusals: Vec<(u16, Value, Option<String>)>,
    slowest: Duration,
}

#[test]
fn postgres_restarting_under_load_answers_503_and_loses_nothing() {
    let (Ok(url), Ok(name)) =
        (std::env::var("CARDINAL_TEST_POSTGRES_URL"), std::env::var("CARDINAL_TEST_POSTGRES_CLUSTER"))
    else {
        eprintln!("skipped: CARDINAL_TEST_POSTGRES_URL and CARDINAL_TEST_POSTGRES_CLUSTER are not both set");
        return;
    };
    let dir = std::env::temp_dir().join(format!("cardinal-pg-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database_name = format!("cardinal_restart_{}", std::process::id());
    psql(&url, &format!("CREATE DATABASE {database_name}"));
    let database = format!("{}/{database_name}", url.rsplit_once('/').unwrap().0);
    let process = start(&database, &dir);
    let setup = organization(&process.address);
    let (address, card) = (process.address.clone(), setup.cards[0].clone());

    let observed = Arc::new(Mutex::new(Observed::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (observed, stop, address, card) = (observed.clone(), stop.clone(), address.clone(), card.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let path = format!("/_sandbox/cards/{card}/authorizations");
                let answer =
                    http_with_head(&address, "POST", &path, &format!("Bearer {ADMIN}"), &[], Some(&purchase(1.0)))
                        .map(|(status, body, head)| (status, body, header(&head, "retry-after")));
                let took = started.elapsed();
                let mut seen = observed.lock().unwrap();
                seen.slowest = seen.slowest.max(took);
                match answer {
                    Some((200, body, _)) => {
                        seen.acknowledged.push(body["authorization"]["transaction_id"].as_str().unwrap().to_owned())
                    }
                    Some((status, body, retry_after)) => seen.refusals.push((status, body, retry_after)),
                    None => seen.refusals.push((0, Value::Null, None)),
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(800));
    cluster("stop", &name);
    std::thread::sleep(Duration::from_secs(3));
    cluster("start", &name);
    // Recovery: approvals flow again within a few seconds, without restarting Cardinal.
    let back = Instant::now();
    let acknowledged_before = observed.lock().unwrap().acknowledged.len();
    while observed.lock().unwrap().acknowledged.len() < acknowledged_before + 20 {
        assert!(back.elapsed() < Duration::from_secs(30), "Cardinal recovered by itself");
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();

    let seen = observed.lock().unwrap();
    assert!(!seen.refusals.is_empty(), "the load met the outage");
    for (status, body, retry_after) in &seen.refusals {
        assert_eq!(*status, 503, "while PostgreSQL is down: 503, never a 500 or a dropped connection: {body}");
        assert_eq!(body["errors"][0]["code"], "storage_unavailable");
        assert!(retry_after.is_some(), "503 carries Retry-After");
    }
    assert!(seen.slowest < Duration::from_secs(10), "no request hung: slowest took {:?}", seen.slowest);
    let listed = (1..=50)
        .flat_map(|page| {
            let path = format!("/v2/transactions?bank_account_id={}&per_page=100&page={page}", setup.account);
            let (status, body) = http(&address, "GET", &path, &setup.owner, &[], None).expect("answers");
            assert_eq!(status, 200);
            body["transactions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect::<std::collections::HashSet<_>>();
    let lost: Vec<&String> = seen.acknowledged.iter().filter(|id| !listed.contains(*id)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    eprintln!(
        "PostgreSQL restart: {} writes acknowledged, {} answered 503, 0 lost, slowest answer {:?}",
        seen.acknowledged.len(),
        seen.refusals.len(),
        seen.slowest
    );
    drop(process);
    psql(&url, &format!("DROP DATABASE {database_name} WITH (FORCE)"));
    let _ = std::fs::remove_dir_all(&dir);
}
