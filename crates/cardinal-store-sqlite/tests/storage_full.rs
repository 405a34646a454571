//! A full disk (SQLite's `max_page_count` stands in for it): writes answer `Unavailable`,
//! reads keep working, nothing is half-written, and writes resume when there is room again.

use std::sync::Arc;

use cardinal_store::{conformance::fixture, Store, StoreError};
use cardinal_store_sqlite::SqliteStore;

fn page_count(path: &std::path::Path) -> u64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_refuses_writes_keeps_reads_and_recovers() {
    let dir = std::env::temp_dir().join(format!("cardinal-full-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("full.db");
    let url = format!("sqlite://{}", path.display());
    let first = fixture("first");
    {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).unwrap());
        store.create_organization(first.clone()).await.unwrap();
    }
    // No room to grow: the database may not take one more page.
    let full: Arc<dyn Store> = Arc::new(SqliteStore::open(&format!("{url}?max_pages={}", page_count(&path))).unwrap());
    let mut refused = 0;
    for i in 0..20 {
        match full.create_organization(fixture(&format!("more-{i}"))).await {
            Err(StoreError::Unavailable(_)) => refused += 1,
            Ok(()) => {}
            Err(other) => panic!("a full disk is Unavailable, not {other:?}"),
        }
    }
    assert!(refused > 0, "the database filled up");
    eprintln!("storage full: 20 writes tried, {refused} refused as Unavailable, reads served");
    let card = &first.cards[0].card;
    assert!(full.card(first.organization.id, card.id).await.unwrap().is_some(), "reads keep working");
    drop(full);

    // Room again: writes resume, and no refused organization was half-written.
    let roomy: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).unwrap());
    let again = fixture("again");
    roomy.create_organization(again.clone()).await.unwrap();
    assert!(roomy.organization(again.organization.id).await.unwrap().is_some());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM organizations"), 2 + (20 - refused), "refused ones left no row");
    let orphans = "SELECT count(*) FROM memberships m WHERE NOT EXISTS \
                   (SELECT 1 FROM organizations o WHERE o.id = m.organization_id)";
    assert_eq!(count(orphans), 0, "no member of a refused organization was left behind");
    let _ = std::fs::remove_dir_all(&dir);
}
