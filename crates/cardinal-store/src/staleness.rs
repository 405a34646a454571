//! Reads that may be served by a read replica (`--read-database`, issue 28). A request's
//! handler says which of its reads may be a moment stale by running them inside
//! [`may_be_stale`]; a backend with a replica serves the reads it offers to replicas
//! (card and transaction lists and shows) from it only there. Everything else — a credential's
//! lookup, the read that decides a write — goes to the primary.

use std::future::Future;

tokio::task_local! {
    static MAY_BE_STALE: ();
}

/// Runs `reads`, letting them be served by a replica.
pub async fn may_be_stale<F: Future>(reads: F) -> F::Output {
    MAY_BE_STALE.scope((), reads).await
}

/// Whether the read being made now may be served by a replica.
pub fn stale_allowed() -> bool {
    MAY_BE_STALE.try_with(|_| ()).is_ok()
}
