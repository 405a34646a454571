//! Accepting connections without letting idle or slow clients use the server up: every
//! connection must send a request's headers within the idle timeout (which also closes
//! keep-alive connections that stay silent), the number of open connections is capped below
//! the file-descriptor limit, and that limit is raised to the hard limit at start.
//!
//! `axum::serve` has none of these: 20,000 idle sockets used every descriptor and `/healthz`
//! stopped answering.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How connections are bounded.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A connection that has not sent a complete request head this long after it opened, or
    /// after its previous answer, is closed.
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// How long in-flight requests may finish after a stop signal.
const DRAIN: Duration = Duration::from_secs(30);

/// Descriptors kept for the database, log and key files beyond the connections.
const RESERVED_DESCRIPTORS: u64 = 256;

/// Raises the soft file-descriptor limit to the hard one and returns it.
pub fn raise_descriptor_limit() -> u64 {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return 1024;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        // rlim_t is u64 on Linux but not on every unix.
        #[allow(clippy::unnecessary_cast)]
        let current = limit.rlim_cur as u64;
        current
    }
    #[cfg(not(unix))]
    {
        8192
    }
}

/// The connection cap that fits a descriptor limit: what is left after the reserve, and at
/// most 100,000.
pub fn connections_for(descriptors: u64) -> usize {
    descriptors.saturating_sub(RESERVED_DESCRIPTORS).clamp(16, 100_000) as usize
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests in flight finish
/// (at most [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.idle_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        // At the cap, wait for a connection to close before accepting: new clients wait in
        // the kernel's backlog instead of taking descriptors.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or a connection reset before accept: not fatal.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(move |mut request: axum::extract::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let service = TowerToHyperService::new(service);
        let (http, watcher, tls, handshake_within) =
            (http.clone(), graceful.watcher(), tls.clone(), limits.idle_timeout);
        tokio::spawn(async move {
            // A client that goes away, times out or fails its handshake ends its connection;
            // nothing to report.
            match tls {
                None => {
                    let _ = watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await;
                }
                Some(acceptor) => {
                    if let Ok(Ok(stream)) = tokio::time::timeout(handshake_within, acceptor.accept(stream)).await {
                        let _ = watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await;
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {},
        _ = tokio::time::sleep(DRAIN) => tracing::warn!("stopped with requests still in flight after {DRAIN:?}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_descriptors_for_files() {
        assert_eq!(connections_for(1024), 768);
        assert_eq!(connections_for(20_000), 19_744);
        assert_eq!(connections_for(100), 16, "never below a usable minimum");
        assert_eq!(connections_for(10_000_000), 100_000);
    }
}
