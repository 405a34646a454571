//! How long a connection may take: the client's bounds and the server's (issue 20: a hung
//! database answers 503 within about a second).

use std::time::Duration;

/// The client side of the timeouts: connecting takes at most `timeout`; TCP keepalives and a
/// TCP user timeout close a connection whose server vanished (a partition) within seconds
/// instead of the kernel's minutes; and the server cancels a statement running longer than a
/// request could wait for it, and ends a transaction whose client went silent.
pub(crate) fn with_timeouts(config: &mut tokio_postgres::Config, timeout: Duration) {
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(timeout);
    }
    config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .keepalives_interval(Duration::from_secs(1))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(10));
    let statement_ms = timeout.as_millis().max(1000);
    let options = config.get_options().unwrap_or_default().to_owned();
    config.options(format!(
        "{options} -c statement_timeout={statement_ms} -c idle_in_transaction_session_timeout={}",
        statement_ms * 10
    ));
}
