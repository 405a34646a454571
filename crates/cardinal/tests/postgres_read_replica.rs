//! `--read-database` (issue 28): card and transaction lists and shows are read from the
//! replica, everything else from the primary, and a replica that fails leaves its reads to
//! the primary.
//!
//! The "replica" is a copy of the database taken after the organization was made
//! (`CREATE DATABASE … TEMPLATE`): a standby that stopped replaying, as stale as one can be.
//! What the replica serves shows the card as it was; a write made since is not in it.

mod common;
use common::*;

fn card_status(address: &str, owner: &str, card: &str) -> String {
    let (status, body) = http(address, "GET", &format!("/v2/cards/{card}"), owner, &[], None).unwrap();
    assert_eq!(status, 200, "{body}");
    body["card"]["status"].as_str().unwrap().to_owned()
}

fn listed_status(address: &str, owner: &str, card: &str) -> String {
    let (status, body) = http(address, "GET", "/v2/cards?per_page=100", owner, &[], None).unwrap();
    assert_eq!(status, 200, "{body}");
    let listed = body["cards"].as_array().unwrap().iter().find(|c| c["id"] == card).expect("listed");
    listed["status"].as_str().unwrap().to_owned()
}

fn transaction_count(address: &str, owner: &str, account: &str) -> u64 {
    let path = format!("/v2/transactions?bank_account_id={account}");
    let (status, body) = http(address, "GET", &path, owner, &[], None).unwrap();
    assert_eq!(status, 200, "{body}");
    body["meta"]["total_count"].as_u64().unwrap()
}

#[test]
fn lists_and_shows_come_from_the_replica_and_writes_from_the_primary() {
    let Some(url) = postgres_url() else { return };
    let pid = std::process::id();
    let (primary_name, replica_name) = (format!("cardinal_primary_{pid}"), format!("cardinal_replica_{pid}"));
    let server = url.rsplit_once('/').unwrap().0.to_owned();
    for name in [&primary_name, &replica_name] {
        psql(&url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
    psql(&url, &format!("CREATE DATABASE {primary_name}"));
    let (primary, replica) = (format!("{server}/{primary_name}"), format!("{server}/{replica_name}"));
    let dir = std::env::temp_dir().join(format!("cardinal-read-replica-{pid}"));
    std::fs::create_dir_all(&dir).unwrap();

    let first = start(&primary, &dir);
    let setup = organization(&first.address);
    drop(first);
    psql(&url, &format!("CREATE DATABASE {replica_name} TEMPLATE {primary_name}"));

    let process = start_with_env(&primary, &dir, &[("CARDINAL_READ_DATABASE", &replica)]);
    let (address, owner, card) = (&process.address, &setup.owner, &setup.cards[0]);
    let transactions_before = transaction_count(address, owner, &setup.account);
    let (status, body) = http(address, "PUT", &format!("/v2/cards/{card}/lock"), owner, &[], None).unwrap();
    assert_eq!((status, body["card"]["status"].as_str()), (200, Some("paused")), "the write is the primary's");
    assert!(authorize(address, &setup.cards[1], 3.0).is_some(), "a payment is made on the primary");
    assert_eq!(card_status(address, owner, card), "live", "a show is the replica's: it has not the lock");
    assert_eq!(listed_status(address, owner, card), "live", "so is a list");
    assert_eq!(transaction_count(address, owner, &setup.account), transactions_before, "and a transaction list");

    // The replica goes away: its reads go to the primary, which has everything.
    psql(&url, &format!("DROP DATABASE {replica_name} WITH (FORCE)"));
    assert_eq!(card_status(address, owner, card), "paused");
    assert_eq!(listed_status(address, owner, card), "paused");
    assert_eq!(transaction_count(address, owner, &setup.account), transactions_before + 1);
    assert!(metric(address, "cardinal_postgres_replica_fallbacks_total").unwrap_or(0.0) >= 1.0, "/metrics counts it");

    drop(process);
    psql(&url, &format!("DROP DATABASE {primary_name} WITH (FORCE)"));
    let _ = std::fs::remove_dir_all(&dir);
}
