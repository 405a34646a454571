//! The connection a store call runs its statements on, in or out of a transaction — and the
//! prepared statements it keeps.
//!
//! Sent as text, each statement costs PostgreSQL a parse and a plan and the call a round trip
//! more (prepare, then execute): a card lock was eleven round trips and about 1 ms of the
//! server's CPU in parsing and planning alone. A statement whose text is fixed in the code
//! (`&'static str`) is prepared once per connection and kept in the connection's cache. Texts
//! made per call (lists with their filters, migrations) are not kept: they would fill the cache
//! without bound. Behind PgBouncer's transaction pooling nothing is kept: a statement prepared
//! on one server connection is not there on the next transaction's.

use deadpool_postgres::StatementCache;
use tokio_postgres::{types::ToSql, Client, Error, Row, Statement};

/// A connection in use by one store call.
#[derive(Clone, Copy)]
pub(crate) struct Db<'a> {
    client: &'a Client,
    /// The connection's prepared statements; `None` when they may not be kept (PgBouncer).
    cache: Option<&'a StatementCache>,
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl<'a> Db<'a> {
    pub(crate) fn new(client: &'a Client, cache: Option<&'a StatementCache>) -> Db<'a> {
        Db { client, cache }
    }

    /// The rows of a statement whose text is fixed.
    pub(crate) async fn query(&self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        let statement = self.statement(sql).await?;
        self.kept(sql, self.client.query(&statement, params).await)
    }

    pub(crate) async fn query_one(&self, sql: &'static str, params: Params<'_>) -> Result<Row, Error> {
        let statement = self.statement(sql).await?;
        self.kept(sql, self.client.query_one(&statement, params).await)
    }

    pub(crate) async fn query_opt(&self, sql: &'static str, params: Params<'_>) -> Result<Option<Row>, Error> {
        let statement = self.statement(sql).await?;
        self.kept(sql, self.client.query_opt(&statement, params).await)
    }

    /// The number of rows a statement whose text is fixed changed.
    pub(crate) async fn execute(&self, sql: &'static str, params: Params<'_>) -> Result<u64, Error> {
        let statement = self.statement(sql).await?;
        self.kept(sql, self.client.execute(&statement, params).await)
    }

    /// A statement whose text is made per call: prepared, run and forgotten.
    pub(crate) async fn query_made(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        self.client.query(sql, params).await
    }

    pub(crate) async fn query_one_made(&self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
        self.client.query_one(sql, params).await
    }

    pub(crate) async fn execute_made(&self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
        self.client.execute(sql, params).await
    }

    /// Statements without parameters, sent as one text (simple query protocol).
    pub(crate) async fn batch_execute(&self, sql: &str) -> Result<(), Error> {
        self.client.batch_execute(sql).await
    }

    /// The statement for `sql`: the connection's kept one (prepared now if it is new there),
    /// or, where none may be kept, one prepared for this use alone — what tokio-postgres does
    /// itself with a text, closed when dropped.
    async fn statement(&self, sql: &'static str) -> Result<Statement, Error> {
        match self.cache {
            Some(cache) => cache.prepare(self.client, sql).await,
            None => self.client.prepare(sql).await,
        }
    }

    /// A kept statement the server no longer runs as prepared — its tables changed under it
    /// (a migration by a newer process: "cached plan must not change result type") — is
    /// forgotten, so the call's retry prepares it afresh.
    fn kept<T>(&self, sql: &str, outcome: Result<T, Error>) -> Result<T, Error> {
        if let (Err(e), Some(cache)) = (&outcome, self.cache) {
            if crate::errors::stale_statement(e) {
                cache.remove(sql, &[]);
            }
        }
        outcome
    }
}
