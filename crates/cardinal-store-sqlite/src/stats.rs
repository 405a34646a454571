//! What the writer's group commits cost, reported in the logs at debug level.
//!
//! Durable writes are bound either by the writer's own work or by the disk's sync, and which
//! one it is decides what would make them faster (a faster disk, or less work per operation).
//! The writer counts, per commit, the operations it carried, the time it spent running them and
//! the time the commit took (writing the WAL and syncing it). At most once a second, and only
//! while commits happen, it logs the running totals (`target: cardinal_store_sqlite`, message
//! `group commits`): the difference between two lines is what happened in between.

use std::time::{Duration, Instant};

/// The least time between two reports.
const REPORT_EVERY: Duration = Duration::from_secs(1);

pub struct CommitStats {
    commits: u64,
    operations: u64,
    executing: Duration,
    committing: Duration,
    reported: Instant,
}

/// When one commit's phases began and ended.
pub struct CommitTimes {
    pub began: Instant,
    pub executed: Instant,
    pub committed: Instant,
}

impl CommitStats {
    pub fn new() -> CommitStats {
        CommitStats {
            commits: 0,
            operations: 0,
            executing: Duration::ZERO,
            committing: Duration::ZERO,
            reported: Instant::now(),
        }
    }

    pub fn record(&mut self, operations: usize, times: CommitTimes) {
        self.commits += 1;
        self.operations += operations as u64;
        self.executing += times.executed - times.began;
        self.committing += times.committed - times.executed;
        cardinal_store::telemetry::COMMITS.record(operations, times.committed - times.executed);
        if times.committed.duration_since(self.reported) >= REPORT_EVERY {
            self.reported = times.committed;
            self.report();
        }
    }

    pub fn report(&self) {
        tracing::debug!(
            commits = self.commits,
            operations = self.operations,
            executing_us = self.executing.as_micros() as u64,
            committing_us = self.committing.as_micros() as u64,
            "group commits"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_over_commits() {
        let mut stats = CommitStats::new();
        let t = Instant::now();
        let ms = Duration::from_millis;
        stats.record(3, CommitTimes { began: t, executed: t + ms(2), committed: t + ms(5) });
        stats.record(1, CommitTimes { began: t + ms(6), executed: t + ms(7), committed: t + ms(8) });
        assert_eq!((stats.commits, stats.operations), (2, 4));
        assert_eq!((stats.executing, stats.committing), (ms(3), ms(4)));
    }
}
