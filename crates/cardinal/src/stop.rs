//! The stop signals (SIGTERM, Ctrl-C), for the server and for the CLI's commands that run
//! until stopped (`listen`, `logs tail`).

use std::future::Future;

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not when
/// the future is first polled, and the one future is meant to be kept (pinned) across a
/// command's whole run: a stop that arrives while the work is starting, or between two
/// polls, is then a clean stop, never a kill and never lost. (`tokio::signal::ctrl_c()` made
/// anew in each turn of a loop misses a signal that lands between two turns: a `logs tail`
/// that was printing a line when Ctrl-C came ran on forever.)
pub fn requested() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let handlers = {
        use tokio::signal::unix::{signal, SignalKind};
        (signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok())
    };
    async move {
        #[cfg(unix)]
        {
            let (mut terminate, mut interrupt) = handlers;
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(terminate.take()) => {},
                _ = wait(interrupt.take()) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
