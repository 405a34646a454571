//! The storage stories on PostgreSQL, when `CARDINAL_TEST_POSTGRES_URL` names a database
//! (`.ci/run` always sets it). Each test runs in a schema of its own.

use std::sync::Arc;

use cardinal_store::Store;
use cardinal_store_postgres::PostgresStore;

async fn store() -> Option<Arc<dyn Store>> {
    let url = std::env::var("CARDINAL_TEST_POSTGRES_URL").ok()?;
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    Some(Arc::new(PostgresStore::open_in_schema(&url, &schema).await.expect("connect to the test database")))
}

cardinal_store::conformance_tests!(optional: store().await);
