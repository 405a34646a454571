//! What the process counts for `/metrics`, kept where it happens and read at each scrape.
//! Recording is a few relaxed atomic additions — no lock, no allocation — so it stays off every
//! critical section it measures (the SQLite writer, a PostgreSQL commit, a request).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// A histogram of fixed bucket bounds, lock-free: each observation adds to its bucket, the count
/// and the sum. Buckets are not cumulative here; the exporter sums them.
#[derive(Debug)]
pub struct AtomicHistogram {
    bounds: &'static [f64],
    /// One per bound, and the last for everything above.
    buckets: [AtomicU64; MAX_BUCKETS],
    count: AtomicU64,
    /// The sum, in millionths of the unit (seconds: microseconds).
    sum_millionths: AtomicU64,
}

/// The most bounds a histogram has (its overflow bucket aside).
pub const MAX_BUCKETS: usize = 16;

impl AtomicHistogram {
    pub const fn new(bounds: &'static [f64]) -> AtomicHistogram {
        assert!(bounds.len() < MAX_BUCKETS, "too many bucket bounds");
        AtomicHistogram {
            bounds,
            buckets: [const { AtomicU64::new(0) }; MAX_BUCKETS],
            count: AtomicU64::new(0),
            sum_millionths: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: f64) {
        let slot = self.bounds.iter().position(|bound| value <= *bound).unwrap_or(self.bounds.len());
        self.buckets[slot].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.sum_millionths.fetch_add((value.max(0.0) * 1e6) as u64, Relaxed);
    }

    pub fn observe_duration(&self, took: Duration) {
        self.observe(took.as_secs_f64());
    }

    /// `(sum, count, [(upper bound, cumulative count)])`, the overflow bucket last (`+Inf`).
    pub fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(self.bounds.len() + 1);
        for (slot, bound) in self.bounds.iter().copied().chain(std::iter::once(f64::INFINITY)).enumerate() {
            cumulative += self.buckets[slot].load(Relaxed);
            buckets.push((bound, cumulative));
        }
        // The count is read after the buckets: a scrape racing an observation may see the
        // count one ahead, never behind the `+Inf` bucket by more.
        let count = self.count.load(Relaxed).max(cumulative);
        (self.sum_millionths.load(Relaxed) as f64 / 1e6, count, buckets)
    }
}

/// Latency bounds in seconds, from 0.1 ms to 10 s.
pub const LATENCY_SECONDS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Operations per commit.
pub const COMMIT_SIZES: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// What the database's commits cost: how many operations each carried (SQLite's group commits;
/// one on PostgreSQL) and how long the commit itself took (writing and syncing the log).
#[derive(Debug)]
pub struct CommitMetrics {
    pub sizes: AtomicHistogram,
    pub latency: AtomicHistogram,
}

impl CommitMetrics {
    pub fn record(&self, operations: usize, took: Duration) {
        self.sizes.observe(operations as f64);
        self.latency.observe_duration(took);
    }
}

/// The process's commits, whichever backend makes them.
pub static COMMITS: CommitMetrics =
    CommitMetrics { sizes: AtomicHistogram::new(COMMIT_SIZES), latency: AtomicHistogram::new(LATENCY_SECONDS) };

/// What the store knows at a scrape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreGauges {
    /// SCA sessions still waiting for the member's answer, not expired.
    pub pending_sca_sessions: u64,
    /// Webhook deliveries not yet delivered nor failed.
    pub pending_deliveries: u64,
    /// PostgreSQL's connection pool, when there is one.
    pub pool: Option<PoolGauges>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolGauges {
    /// Connections open.
    pub size: u64,
    /// Of which idle.
    pub idle: u64,
    /// Callers waiting for a connection now.
    pub waiting: u64,
    /// Times a caller had to wait for one, since start.
    pub waits_total: u64,
    /// Connections closed because their server took no writes (a standby), since start.
    pub read_only_total: u64,
    /// Reads the read replica failed and the primary served, since start.
    pub replica_fallbacks_total: u64,
}

/// A counter that is one relaxed addition to bump.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub const fn new() -> Counter {
        Counter(AtomicU64::new(0))
    }

    pub fn inc(&self) {
        self.0.fetch_add(1, Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_with_the_overflow_last() {
        static H: AtomicHistogram = AtomicHistogram::new(&[1.0, 2.0]);
        for v in [0.5, 1.5, 1.5, 3.0] {
            H.observe(v);
        }
        let (sum, count, buckets) = H.snapshot();
        assert_eq!((sum, count), (6.5, 4));
        assert_eq!(buckets, vec![(1.0, 1), (2.0, 3), (f64::INFINITY, 4)]);
    }
}
