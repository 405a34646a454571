//! The storage stories, on SQLite files (the embedded default) and in memory.

use std::sync::Arc;

use cardinal_store_sqlite::SqliteStore;

fn temp_database() -> String {
    let dir = std::env::temp_dir().join(format!("cardinal-conformance-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}", dir.join("test.db").display())
}

mod file {
    use super::*;
    cardinal_store::conformance_tests!(Arc::new(SqliteStore::open(&temp_database()).unwrap()));
}

mod memory {
    use super::*;
    cardinal_store::conformance_tests!(Arc::new(SqliteStore::open("sqlite::memory:").unwrap()));
}
