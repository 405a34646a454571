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

/// A server on the same machine is reached on its Unix socket (`postgres://user@%2Fvar%2Frun%2Fpostgresql/db`):
/// PostgreSQL offers no TLS there, and the default `sslmode=prefer` goes on without it.
#[tokio::test]
async fn a_unix_socket_is_reached_without_tls() {
    use cardinal_store::SettingStore;
    let Ok(url) = std::env::var("CARDINAL_TEST_POSTGRES_URL") else { return };
    let socket = std::path::Path::new("/var/run/postgresql/.s.PGSQL.5432");
    if !socket.exists() {
        assert!(std::env::var_os("CI").is_none(), "CI's PostgreSQL listens on {}", socket.display());
        return;
    }
    let config: tokio_postgres::Config = url.parse().unwrap();
    let user = config.get_user().unwrap_or("postgres");
    let database = config.get_dbname().unwrap_or(user);
    let over_socket = format!("postgres://{user}@%2Fvar%2Frun%2Fpostgresql/{database}");
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let store = PostgresStore::open_in_schema(&over_socket, &schema).await.expect("connect over the Unix socket");
    store.set_setting("socket", Some("yes")).await.unwrap();
    assert_eq!(store.setting("socket").await.unwrap().as_deref(), Some("yes"));
}
