//! How long a store call waits for PostgreSQL (issue 20: a hung database answers 503 within
//! about a second, a busy one is waited for).
//!
//! A call that has not finished after `--database-timeout` is given up only when the server
//! has answered nothing for that long — neither another call nor the heartbeat, a `SELECT 1`
//! every quarter of the timeout on a connection of its own. A paused or partitioned server
//! answers nothing, so its callers get `Unavailable` after about the timeout. A busy one (a
//! hot card's row lock queueing payments) keeps answering, so its callers wait, up to
//! [`BUSY_FACTOR`] times the timeout, which is also the server's `statement_timeout`.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc, Weak,
    },
    time::Duration,
};

use tokio::time::Instant;

/// How many timeouts a call may wait for a server that keeps answering others.
pub(crate) const BUSY_FACTOR: u32 = 10;

/// When the server last answered, on this process's clock.
pub(crate) struct Liveness {
    started: std::time::Instant,
    last_answer_ms: AtomicI64,
}

impl Liveness {
    pub(crate) fn new() -> Arc<Liveness> {
        Arc::new(Liveness { started: std::time::Instant::now(), last_answer_ms: AtomicI64::new(0) })
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }

    /// The server just answered.
    pub(crate) fn answered(&self) {
        self.last_answer_ms.fetch_max(self.now_ms(), Ordering::Relaxed);
    }

    /// Whether the server answered within `window`.
    fn answered_within(&self, window: Duration) -> bool {
        self.now_ms() - self.last_answer_ms.load(Ordering::Relaxed) <= window.as_millis() as i64
    }
}

/// The patience of one store call, started when the call was.
pub(crate) struct Patience {
    pub(crate) started: Instant,
    pub(crate) timeout: Duration,
}

impl Patience {
    /// Whether a call started then may still try again.
    pub(crate) fn may_retry(&self) -> bool {
        self.started.elapsed() < self.timeout
    }

    /// Awaits `work`, statements the server answered (so the answer counts as a sign of life);
    /// `None` when the server went silent for the timeout, or the call outlived what a busy
    /// server gets.
    pub(crate) async fn wait<T>(&self, liveness: &Liveness, work: impl Future<Output = T>) -> Option<T> {
        let done = self.wait_quietly(liveness, work).await;
        if done.is_some() {
            liveness.answered();
        }
        done
    }

    /// The same for work whose end says nothing of the server (a pooled connection handed out).
    pub(crate) async fn wait_quietly<T>(&self, liveness: &Liveness, work: impl Future<Output = T>) -> Option<T> {
        let limit = self.started + self.timeout * BUSY_FACTOR;
        let mut deadline = (self.started + self.timeout).min(limit);
        tokio::pin!(work);
        loop {
            match tokio::time::timeout_at(deadline, &mut work).await {
                Ok(done) => return Some(done),
                Err(_) if liveness.answered_within(self.timeout) && deadline < limit => {
                    deadline = (Instant::now() + self.timeout / 4).min(limit);
                }
                Err(_) => return None,
            }
        }
    }
}

/// The client side of the timeouts: connecting takes at most `timeout`; TCP keepalives and a
/// TCP user timeout close a connection whose server vanished (a partition) within seconds
/// instead of the kernel's minutes; and the server cancels a statement running longer than
/// any call waits for it, and ends a transaction whose client went silent (these two are sent
/// as the `options` startup parameter, when `server_settings`: PgBouncer refuses it).
pub(crate) fn with_timeouts(config: &mut tokio_postgres::Config, timeout: Duration, server_settings: bool) {
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(timeout);
    }
    config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .keepalives_interval(Duration::from_secs(1))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(10));
    if !server_settings {
        return;
    }
    let statement_ms = (timeout * BUSY_FACTOR).as_millis().max(1000);
    let options = config.get_options().unwrap_or_default().to_owned();
    config.options(format!(
        "{options} -c statement_timeout={statement_ms} -c idle_in_transaction_session_timeout={}",
        statement_ms * 2
    ));
}

/// Asks the server `SELECT 1` every quarter of `timeout` on a connection of its own (the
/// pool's may all be busy), marking `liveness` at each answer; reconnects when the connection
/// fails. Stops when the store (the last holder of `liveness`) is dropped.
pub(crate) fn spawn_heartbeat(
    config: tokio_postgres::Config,
    tls: crate::tls::MakeRustls,
    liveness: Weak<Liveness>,
    timeout: Duration,
) {
    tokio::spawn(async move {
        let every = (timeout / 4).max(Duration::from_millis(50));
        while liveness.strong_count() > 0 {
            if let Ok(Ok((client, connection))) = tokio::time::timeout(timeout, config.connect(tls.clone())).await {
                tokio::spawn(connection);
                loop {
                    let Some(alive) = liveness.upgrade() else { return };
                    match tokio::time::timeout(timeout, client.simple_query("SELECT 1")).await {
                        Ok(Ok(_)) => alive.answered(),
                        Ok(Err(_)) => break, // the connection failed: make another
                        Err(_) => {}         // no answer: the server is silent, keep asking
                    }
                    drop(alive);
                    tokio::time::sleep(every).await;
                }
            }
            tokio::time::sleep(every).await;
        }
    });
}
