//! A database that stops taking writes — a standby, a primary demoted by a failover — is an
//! outage, not a bug (issue 28): writes answer `503 storage_unavailable` with `Retry-After`,
//! never a 500; `/readyz` says not ready; reads that a read-only server can answer are still
//! served where the URL allows read-only connections; and both processes write again by
//! themselves once the database takes writes.
//!
//! A database of its own is made read-only for new sessions (`ALTER DATABASE … SET
//! default_transaction_read_only`) and its connections are ended, as a failover ends them.
//! One process has the default URL (Cardinal then connects only to a server that takes
//! writes, as `target_session_attrs=read-write` asks); the other says
//! `target_session_attrs=any`, so it does connect, and meets SQLSTATE 25006 on its writes.

mod common;
use common::*;
use std::time::{Duration, Instant};

fn end_connections(url: &str, database: &str) {
    psql(
        url,
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{database}' \
             AND pid <> pg_backend_pid()"
        ),
    );
}

/// A lock or unlock of `card`: its status and whether a `Retry-After` came with it.
fn toggle(address: &str, owner: &str, card: &str, action: &str) -> (u16, serde_json::Value, bool) {
    let path = format!("/v2/cards/{card}/{action}");
    let (status, body, head) = http_with_head(address, "PUT", &path, owner, &[], None).expect("an answer");
    (status, body, header(&head, "retry-after").is_some())
}

fn ready(address: &str) -> u16 {
    http(address, "GET", "/readyz", "", &[], None).map(|(status, _)| status).unwrap_or(0)
}

#[test]
fn a_read_only_database_answers_503_and_writes_resume_by_themselves() {
    let Some(url) = postgres_url() else { return };
    let name = format!("cardinal_read_only_{}", std::process::id());
    psql(&url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    psql(&url, &format!("CREATE DATABASE {name}"));
    let database = format!("{}/{name}", url.rsplit_once('/').unwrap().0);
    let dir = std::env::temp_dir().join(format!("cardinal-read-only-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("any")).unwrap();
    let primary_only = start(&database, &dir);
    let any = start(&format!("{database}?target_session_attrs=any"), &dir.join("any"));
    let setup = organization(&primary_only.address);
    let card = &setup.cards[0];
    assert_eq!(toggle(&primary_only.address, &setup.owner, card, "lock").0, 200);
    assert_eq!(toggle(&any.address, &setup.owner, card, "unlock").0, 200);

    psql(&url, &format!("ALTER DATABASE {name} SET default_transaction_read_only = on"));
    end_connections(&url, &name);
    for process in [&primary_only, &any] {
        let (status, body, retry_after) = toggle(&process.address, &setup.owner, card, "lock");
        assert_eq!((status, retry_after), (503, true), "a write to a read-only database: {body}");
        assert_eq!(body["errors"][0]["code"], "storage_unavailable", "{body}");
        assert_eq!(ready(&process.address), 503, "not ready while no write can be made");
    }
    let dropped = metric(&any.address, "cardinal_postgres_read_only_total").unwrap_or(0.0);
    assert!(dropped >= 1.0, "/metrics counts the read-only connections dropped: {dropped}");
    let path = format!("/v2/cards/{card}");
    let (status, shown) = http(&any.address, "GET", &path, &setup.owner, &[], None).unwrap();
    assert_eq!((status, shown["card"]["status"].as_str()), (200, Some("live")), "reads are served: {shown}");

    psql(&url, &format!("ALTER DATABASE {name} RESET default_transaction_read_only"));
    end_connections(&url, &name);
    let back = Instant::now();
    for (process, action) in [(&primary_only, "lock"), (&any, "unlock")] {
        loop {
            let (status, body, _) = toggle(&process.address, &setup.owner, card, action);
            if status == 200 {
                break;
            }
            assert_eq!(status, 503, "{body}");
            assert!(back.elapsed() < Duration::from_secs(10), "writes resumed by themselves");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(ready(&process.address), 200);
    }
    drop((primary_only, any));
    psql(&url, &format!("DROP DATABASE {name} WITH (FORCE)"));
    let _ = std::fs::remove_dir_all(&dir);
}
