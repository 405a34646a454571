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

/// Statements are kept prepared on each connection. One whose table changed shape under it (a
/// newer process's migration changing a column's type) fails once with "cached plan must not
/// change result type": the call is retried on a fresh preparation and succeeds.
#[tokio::test]
async fn a_kept_statement_survives_its_table_changing_shape() {
    use cardinal_store::SettingStore;
    let Ok(url) = std::env::var("CARDINAL_TEST_POSTGRES_URL") else { return };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let store = PostgresStore::open_in_schema(&url, &schema).await.expect("connect to the test database");
    store.set_setting("shape", Some("before")).await.unwrap();
    assert_eq!(store.setting("shape").await.unwrap().as_deref(), Some("before"));

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute(&format!("ALTER TABLE {schema}.settings ALTER COLUMN value TYPE VARCHAR(200)")).await.unwrap();

    assert_eq!(store.setting("shape").await.unwrap().as_deref(), Some("before"));
    store.set_setting("shape", Some("after")).await.unwrap();
    assert_eq!(store.setting("shape").await.unwrap().as_deref(), Some("after"));
}
