//! The webhook ledger is a file of its own beside the database (`<database>-webhooks`): the
//! deliveries made survive a restart, and a ledger lost while the database stayed starts at
//! the outbox's end instead of sending the database's whole history again.

use cardinal_store::conformance::{fixture, later, reported_rename, subscription};
use cardinal_store::{Store, StoreResult};
use cardinal_store_sqlite::SqliteStore;
use jiff::Timestamp;
use std::sync::Arc;

async fn claimed_names(store: &Arc<dyn Store>) -> StoreResult<Vec<String>> {
    let claimed = store.claim_webhook_deliveries(uuid::Uuid::new_v4(), Timestamp::now(), later(30_000), 100).await?;
    Ok(claimed.into_iter().map(|c| c.delivery.event.data).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_is_a_file_beside_the_database_and_a_lost_one_resends_nothing() {
    let dir = std::env::temp_dir().join(format!("cardinal-ledger-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hooks.db");
    let url = format!("sqlite://{}", path.display());
    let seed = fixture("ledger");
    let (org, card) = (seed.organization.id, seed.cards[0].card.id);
    {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).unwrap());
        store.create_organization(seed.clone()).await.unwrap();
        store.insert_webhook_subscription(subscription(&seed, "v1/cards", Timestamp::now())).await.unwrap();
        store.update_card(org, card, reported_rename("first")).await.unwrap();
        assert_eq!(claimed_names(&store).await.unwrap().len(), 1, "the first event's delivery is made");
    }
    let ledger = dir.join("hooks.db-webhooks");
    assert!(ledger.exists(), "the ledger is beside the database");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&ledger).unwrap().permissions().mode() & 0o777, 0o600, "private");
    }
    {
        // Reopened: the delivery made is still there (its lease was this process's memory).
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).unwrap());
        let again = claimed_names(&store).await.unwrap();
        assert!(again.len() == 1 && again[0].contains("\"first\""), "made once, kept: {again:?}");
        store.update_card(org, card, reported_rename("unsent")).await.unwrap();
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("hooks.db-webhooks{suffix}")));
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).unwrap());
    store.update_card(org, card, reported_rename("after")).await.unwrap();
    let after = claimed_names(&store).await.unwrap();
    assert!(after.len() == 1 && after[0].contains("\"after\""), "only what came after the loss: {after:?}");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
