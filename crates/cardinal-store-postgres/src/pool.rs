//! A store call's connection from the pool, within the call's patience; one that did not
//! answer in time leaves the pool.

use crate::errors::{pg, Fail};
use crate::timeouts::Patience;
use cardinal_store::telemetry::Counter;
use cardinal_store::StoreError;

/// Calls that found no idle connection and waited for one, since start.
pub(crate) static POOL_WAITS: Counter = Counter::new();

/// Connections closed because their server took no writes, since start.
pub(crate) static READ_ONLY_DISCARDS: Counter = Counter::new();

/// Reads the read replica failed and the primary served, since start.
pub(crate) static REPLICA_FALLBACKS: Counter = Counter::new();

/// How long a read replica that failed is left alone.
const REPLICA_BENCH: std::time::Duration = std::time::Duration::from_secs(5);

impl crate::PostgresStore {
    /// The patience of a store call starting now.
    pub(crate) fn patience(&self) -> Patience {
        Patience { started: tokio::time::Instant::now(), timeout: self.timeout }
    }

    /// A pooled connection, within `patience`.
    pub(crate) async fn client(&self, patience: &Patience) -> Result<deadpool_postgres::Client, Fail> {
        // No idle connection: this call waits for one (counted for `/metrics`).
        if self.pool.status().available == 0 {
            POOL_WAITS.inc();
        }
        match patience.wait_quietly(&self.liveness, self.pool.get()).await {
            Some(Ok(client)) => Ok(client),
            Some(Err(deadpool_postgres::PoolError::Backend(e))) => Err(pg(e)),
            Some(Err(other)) => Err(Fail::Retry(other.to_string())),
            None => Err(self.no_answer()),
        }
    }

    /// A connection that did not answer by the deadline: it leaves the pool and closes (its
    /// state is unknown: a statement may still be running on it), and the call is unavailable.
    pub(crate) fn abandon(&self, client: deadpool_postgres::Client) -> Fail {
        drop(deadpool_postgres::Object::take(client));
        self.no_answer()
    }

    /// A connection whose server takes no writes (a standby, a demoted primary): it leaves
    /// the pool, and so do the idle ones (made to the same server, most likely); the attempt
    /// is retried on a fresh connection.
    pub(crate) fn discard_read_only(&self, client: deadpool_postgres::Client, cause: String) -> Fail {
        drop(deadpool_postgres::Object::take(client));
        self.pool.retain(|_, _| false);
        READ_ONLY_DISCARDS.inc();
        // Every call meets it until the primary is found: said once a second, not per call.
        static LAST_SAID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let second = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if LAST_SAID.swap(second, std::sync::atomic::Ordering::Relaxed) != second {
            tracing::warn!(%cause, "a database connection found its server read-only: reconnecting");
        }
        Fail::Retry(cause)
    }

    /// The replica a read the request lets be stale goes to, if there is one, the request
    /// allows it, and the replica has not failed in the last [`REPLICA_BENCH`].
    pub(crate) fn replica_for_stale_read(&self) -> Option<&crate::PostgresStore> {
        let replica = self.replica.as_deref()?;
        let benched = self.replica_benched_until.load(std::sync::atomic::Ordering::Relaxed) > self.liveness.now_ms();
        (cardinal_store::staleness::stale_allowed() && !benched).then_some(replica)
    }

    /// The replica failed a read: its reads go to the primary for a while.
    pub(crate) fn bench_replica(&self, error: &StoreError) {
        REPLICA_FALLBACKS.inc();
        let until = self.liveness.now_ms() + REPLICA_BENCH.as_millis() as i64;
        let before = self.replica_benched_until.swap(until, std::sync::atomic::Ordering::Relaxed);
        if before < self.liveness.now_ms() {
            tracing::warn!(%error, "the read replica failed: its reads go to the primary for {REPLICA_BENCH:?}");
        }
    }

    pub(crate) fn no_answer(&self) -> Fail {
        Fail::Store(StoreError::Unavailable(format!(
            "PostgreSQL did not answer within {} ms",
            self.timeout.as_millis()
        )))
    }
}
