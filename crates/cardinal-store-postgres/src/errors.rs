//! What a failed call to PostgreSQL means: retried (a race, a lost connection), a conflict,
//! or a backend failure; and what one that outlived its retries answers.

use cardinal_domain::DomainError;
use cardinal_store::StoreError;
use tokio_postgres::error::SqlState;

/// Why a transaction attempt failed: for the caller, or worth another attempt.
pub(crate) enum Fail {
    Store(StoreError),
    Retry(String),
    /// The connection's server takes no writes (SQLSTATE 25006: a standby, or a primary
    /// demoted by a failover): the connection is dropped, not pooled again, and the attempt
    /// retried on a fresh one, which `target_session_attrs=read-write` sends to the primary.
    ReadOnly(String),
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Fail {
        Fail::Store(e)
    }
}

impl From<DomainError> for Fail {
    fn from(e: DomainError) -> Fail {
        Fail::Store(StoreError::Domain(e))
    }
}

/// Classifies a driver error: races and lost connections are retried, uniqueness violations
/// are conflicts, everything else is a backend failure.
pub(crate) fn pg(e: tokio_postgres::Error) -> Fail {
    match e.code() {
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED => {
            Fail::Retry(e.to_string())
        }
        Some(code) if *code == SqlState::UNIQUE_VIOLATION => Fail::Store(StoreError::Conflict(
            e.as_db_error().map(|d| d.message().to_owned()).unwrap_or_else(|| "already exists".into()),
        )),
        // Only schema creation races produce these (another process created the same object a
        // moment ago): the retried `IF NOT EXISTS` then finds it.
        Some(code)
            if *code == SqlState::DUPLICATE_OBJECT
                || *code == SqlState::DUPLICATE_TABLE
                || *code == SqlState::DUPLICATE_SCHEMA =>
        {
            Fail::Retry(describe(&e))
        }
        Some(code) if *code == SqlState::READ_ONLY_SQL_TRANSACTION => Fail::ReadOnly(describe(&e)),
        // A kept prepared statement whose tables a newer process's migration changed: the
        // connection has forgotten it (`db::Db`), and the retry prepares it afresh.
        Some(_) if stale_statement(&e) => Fail::Retry(describe(&e)),
        // The server cancelled a statement that outlived `statement_timeout` (ten times the
        // call's patience, so the call has given up too): a server that cannot take the work
        // now — a commit waiting for a synchronous standby that is gone, a lock held too long.
        Some(code) if *code == SqlState::QUERY_CANCELED => Fail::Store(StoreError::Unavailable(describe(&e))),
        // The server is going away, starting, or out of room: worth retrying, then 503.
        Some(code) if server_unavailable(code) => Fail::Retry(e.to_string()),
        // No SQLSTATE: the client side failed (connection refused, reset, closed, a TLS
        // certificate refused): the causes say which.
        None => Fail::Retry(with_causes(&e)),
        _ if e.is_closed() => Fail::Retry(with_causes(&e)),
        _ => Fail::Store(StoreError::Backend(describe(&e))),
    }
}

/// "cached plan must not change result type": a prepared statement outlived its tables' shape.
pub(crate) fn stale_statement(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        *db.code() == SqlState::FEATURE_NOT_SUPPORTED && db.message().starts_with("cached plan must not change")
    })
}

/// An error and its causes: "error connecting to server: Connection refused (os error 111)".
fn with_causes(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(next) = cause {
        text.push_str(&format!(": {next}"));
        cause = next.source();
    }
    text
}

/// The server's message and SQLSTATE (tokio-postgres's own text is only "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Connection exceptions (class 08), the server shutting down or starting (57P01–57P03),
/// and no room (class 53: disk full, out of memory, too many connections).
fn server_unavailable(code: &SqlState) -> bool {
    let code = code.code();
    code.starts_with("08") || code.starts_with("53") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// A failed COMMIT: a serialization failure or deadlock means nothing was committed, so the
/// attempt is retried; a connection lost during the COMMIT leaves the outcome unknown, so it is
/// not (a retry could apply the change twice).
pub(crate) fn commit_failure(e: tokio_postgres::Error) -> Fail {
    if e.code().is_none() && e.is_closed() {
        // Not retried here (a retry could apply the change twice); the client may retry with
        // its idempotency key.
        return Fail::Store(StoreError::Unavailable(format!("commit outcome unknown: {e}")));
    }
    pg(e)
}

/// What a failure that outlived its retries means: the database cannot be reached.
pub(crate) fn store_error(fail: Fail) -> StoreError {
    match fail {
        Fail::Store(e) => e,
        Fail::Retry(cause) | Fail::ReadOnly(cause) => StoreError::Unavailable(cause),
    }
}
