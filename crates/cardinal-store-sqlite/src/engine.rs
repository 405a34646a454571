//! Connections, migrations and the write path.
//!
//! SQLite allows one writer at a time. Every write goes to one thread that owns the write
//! connection. That thread takes whatever writes are waiting, runs them in one transaction
//! with a savepoint per operation (so a refused operation never undoes another), and commits
//! once: with `synchronous=FULL` each commit pays an fsync, and group commit shares it.
//! Nobody is answered before the commit that holds their write is durable.
//! Reads run on a pool of read-only connections and, thanks to WAL, never wait on writes.

use std::{
    cell::RefCell,
    collections::HashMap,
    panic::AssertUnwindSafe,
    path::PathBuf,
    sync::{
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    time::Instant,
};

use cardinal_store::{StoreError, StoreResult};
use rusqlite::Connection;

use crate::stats::{CommitStats, CommitTimes};

/// Most operations one commit carries; bounds the latency a batch adds to its first member.
const MAX_BATCH: usize = 256;

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Memory,
}

impl Location {
    /// Parses `sqlite://path`, `sqlite:path` or `sqlite::memory:`.
    pub fn parse(url: &str) -> Option<Location> {
        let rest = url.strip_prefix("sqlite:")?;
        if rest == ":memory:" || rest == "//:memory:" {
            return Some(Location::Memory);
        }
        let path = rest.strip_prefix("//").unwrap_or(rest);
        let path = path.split('?').next().unwrap_or_default();
        (!path.is_empty()).then(|| Location::File(PathBuf::from(path)))
    }
}

/// Finishes one operation once its batch's commit is known.
type Reply = Box<dyn FnOnce(Result<(), CommitFailed>) + Send>;
/// One write operation: runs on the writer's connection inside a savepoint and says whether
/// it succeeded (false rolls its savepoint back). Without a connection (no transaction could
/// begin) it does not run, and only makes its reply.
type Job = Box<dyn FnOnce(Option<&Connection>) -> (bool, Reply) + Send>;

/// How long a connection waits for a lock another process holds on the database file (a
/// backup, the `sqlite3` shell) before its operation answers `Unavailable` (503): a request's
/// patience, `--database-timeout`.
pub const DEFAULT_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

pub struct Engine {
    /// `None` only while dropping: closing it tells the writer to finish and stop.
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<std::thread::JoinHandle<()>>,
    readers: Option<Readers>,
}

impl Drop for Engine {
    /// Lets the writer finish the operations already queued and checkpoint the WAL, then waits
    /// for it: a process that drops its store before exiting (`cardinal bench seed`, a server
    /// stopping) leaves a database whose next start does not begin by copying a full WAL.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(writer) = self.writer.take() {
            // Joining itself would never return: should the last handle on the store ever be
            // dropped by an operation's callback, the writer stops on its own instead.
            if writer.thread().id() != std::thread::current().id() {
                let _ = writer.join();
            }
        }
    }
}

impl Engine {
    /// Opens the database; with `max_pages`, the writer may not grow it past that many pages.
    /// Connections wait `busy` for another process's lock on the file.
    pub fn open_with(location: Location, max_pages: Option<u64>, busy: std::time::Duration) -> StoreResult<Engine> {
        let mut writer = match &location {
            Location::File(path) => create_private(path).and_then(|_| Connection::open(path).map_err(backend)),
            Location::Memory => Connection::open_in_memory().map_err(backend),
        }?;
        configure_writer(&writer)?;
        if let Some(pages) = max_pages {
            writer.pragma_update(None, "max_page_count", pages).map_err(backend)?;
        }
        crate::migrations::migrate(&mut writer)?;
        writer.busy_timeout(busy).map_err(backend)?;
        let (readers, checkpoints) = match location {
            Location::File(path) => {
                checkpoint_whole_log(&writer)?;
                (Some(Readers::new(path.clone(), busy)), Some(spawn_checkpointer(&path)?))
            }
            // A private in-memory database has one connection and no WAL: reads queue behind
            // writes, and there is nothing to checkpoint.
            Location::Memory => (None, None),
        };
        let (jobs, queue) = mpsc::channel::<Job>();
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(writer, queue, checkpoints))
            .map_err(backend)?;
        Ok(Engine { jobs: Some(jobs), writer: Some(writer), readers })
    }

    /// Runs `op` in the next group commit and answers once that commit is durable.
    pub async fn write<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.write_then(op, |_| {}).await
    }

    /// Like [`Engine::write`], and once the commit is durable runs `committed` on the writer
    /// thread — in commit order, before anyone is answered — with the operation's result.
    pub async fn write_then<T, F, C>(&self, op: F, committed: C) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
        C: FnOnce(&T) + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                Some(conn) => op(conn),
                None => Err(StoreError::Unavailable("the database is locked or cannot be written".into())),
            };
            let succeeded = result.is_ok();
            let reply: Reply = Box::new(move |commit| {
                if let (Ok(()), Ok(value)) = (&commit, &result) {
                    committed(value);
                }
                let _ = answer.send(match commit {
                    Ok(()) => result,
                    Err(failed) => result.and(Err(failed.into_error())),
                });
            });
            (succeeded, reply)
        });
        let stopped = || StoreError::Backend("the writer thread has stopped".into());
        self.jobs.as_ref().ok_or_else(stopped)?.send(job).map_err(|_| stopped())?;
        answered.await.map_err(|_| StoreError::Backend("the write was abandoned".into()))?
    }

    /// Runs `op` on a read-only connection: it sees the last committed state.
    ///
    /// Reads run inline, on a connection of the calling thread's own: with WAL they never wait
    /// for the writer, and an indexed lookup takes microseconds, far less than handing the
    /// work to another thread would cost.
    pub async fn read<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let Some(readers) = &self.readers else {
            return self.write(op).await;
        };
        readers.with_connection(op)
    }
}

static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's read-only connections, one per open database.
    static READ_CONNECTIONS: RefCell<HashMap<usize, Connection>> = RefCell::new(HashMap::new());
}

struct Readers {
    id: usize,
    path: PathBuf,
    busy: std::time::Duration,
}

impl Readers {
    fn new(path: PathBuf, busy: std::time::Duration) -> Readers {
        Readers { id: NEXT_DATABASE.fetch_add(1, Ordering::Relaxed), path, busy }
    }

    fn with_connection<T>(&self, op: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        READ_CONNECTIONS.with(|connections| {
            let mut connections = connections.try_borrow_mut().map_err(backend)?;
            let connection = match connections.entry(self.id) {
                std::collections::hash_map::Entry::Occupied(open) => open.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => slot.insert(self.open()?),
            };
            op(connection)
        })
    }

    fn open(&self) -> StoreResult<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(backend)?;
        conn.execute_batch("PRAGMA query_only = ON;").map_err(backend)?;
        conn.busy_timeout(self.busy).map_err(backend)?;
        configure_statements(&conn)?;
        map_database_file(&conn)?;
        Ok(conn)
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        // Connections on other threads close when those threads end; this one's now.
        let _ = READ_CONNECTIONS.try_with(|c| c.try_borrow_mut().map(|mut c| c.remove(&self.id)));
    }
}

/// Creates a new database file readable by its owner only; SQLite gives the WAL and shared
/// memory files the same permissions. An existing file keeps its own.
fn create_private(path: &std::path::Path) -> StoreResult<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Backend(format!("cannot create {}: {e}", path.display()))),
    }
}

fn configure_writer(conn: &Connection) -> StoreResult<()> {
    // WAL lets readers proceed during writes; FULL makes an answered write survive power loss.
    // The writer keeps up to 8 MiB of pages in its own cache: every operation first reads the
    // rows it changes, and a page read from the operating system costs a system call. Not
    // more: SQLite scans the cache's whole hash table at commits that split a B-tree page,
    // and with 32 MiB that scan was an eighth of the writer's time.
    // Checkpoints are the checkpointer thread's work; the writer checkpoints only as a
    // backstop, when the WAL has grown to WRITER_CHECKPOINT_PAGES.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -8192;
         PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES};"
    ))
    .map_err(backend)?;
    configure_statements(conn)?;
    map_database_file(conn)
}

/// Statements each connection keeps prepared: more than the store's distinct statements, so
/// none is ever parsed twice (the default of 16 made the writer re-parse statements).
const STATEMENT_CACHE: usize = 128;

/// Keeps prepared statements prepared. By default SQLite re-plans a statement whenever a value
/// bound to a parameter the planner looked at changes — and it looks at `LIMIT ?`, so every
/// list page was parsed and planned again (a tenth of a page's time in profiles). With the
/// query planner stability guarantee, plans never depend on bound values; ours rest on
/// indexes, not on values.
pub(crate) fn configure_statements(conn: &Connection) -> StoreResult<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(backend)?;
    Ok(())
}

/// Reads the database file through a memory map instead of a `pread` per page. Writes still
/// go through the WAL, so durability is unchanged.
fn map_database_file(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch("PRAGMA mmap_size = 1073741824;").map_err(backend)
}

/// WAL pages after which the writer checkpoints itself, after a commit. The checkpointer thread
/// copies committed pages into the database file while the writer goes on, but the WAL only
/// starts over from its beginning once every page in it has been copied when a transaction
/// begins — which a steady stream of commits never allows. At this size the writer finishes
/// the copy (little is left by then) and the WAL restarts: its size stays bounded.
///
/// Small, because every checkpoint sorts the WAL index's entries of the log's current 4,096-page
/// segment (`walMerge`), however few pages it copies: with 8,192 pages (a segment always half
/// full on average) the checkpointer spent 72,000 instructions per durable lock/unlock and
/// 81,000 per authorization; with 1,024, 21,000 and 24,000, the writer's own work unchanged
/// (callgrind, issue 27). That is about 2 µs of CPU time a write, and a WAL of 6 MB at most.
const WRITER_CHECKPOINT_PAGES: u32 = 1024;

/// The shortest time between two checkpoints while commits keep coming. Small on purpose:
/// measured under a steady durable-write load, checkpoints every 2 ms (each copying a few
/// commits' pages) kept the slowest writes' latency at half of what checkpoints every 20 ms
/// or 100 ms gave — a big copy and its sync hold up the disk that the next commit's WAL sync
/// waits for — at the same throughput.
const CHECKPOINT_PAUSE: std::time::Duration = std::time::Duration::from_millis(2);

/// Starts the thread that checkpoints the WAL: copying committed pages into the database file
/// and syncing it, done by the writer, stalled every operation queued behind the commit that
/// crossed SQLite's threshold — the slowest writes' latency. A passive checkpoint never blocks
/// the writer or readers. The thread runs after commits (the writer signals it through the
/// returned sender, never waiting), so an idle database costs nothing, and it stops when the
/// sender is dropped with the writer.
fn spawn_checkpointer(path: &std::path::Path) -> StoreResult<Checkpointer> {
    let conn = Connection::open(path).map_err(backend)?;
    // FULL: the checkpoint syncs the WAL before copying and the database file after.
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;").map_err(backend)?;
    // One pending signal is enough: a checkpoint copies everything committed before it.
    let (commits, committed) = mpsc::sync_channel::<()>(1);
    let thread = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while committed.recv().is_ok() {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "checkpoint failed; the next one will retry");
                }
                std::thread::sleep(CHECKPOINT_PAUSE);
            }
        })
        .map_err(backend)?;
    Ok(Checkpointer { commits, thread })
}

/// The writer's handle on the checkpointer thread.
struct Checkpointer {
    commits: mpsc::SyncSender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    /// Says a commit happened, never waiting: a full channel means a checkpoint is already due,
    /// and it will take this commit's pages too.
    fn committed(&self) {
        let _ = self.commits.try_send(());
    }

    /// Stops the thread once its checkpoint in progress, if any, is done.
    fn stop(self) {
        drop(self.commits);
        let _ = self.thread.join();
    }
}

/// Copies every page the WAL holds into the database file and empties the WAL: at start-up,
/// before anyone reads, and when the engine is dropped. A process that ended without closing
/// its connections (killed) leaves its WAL behind, and while a WAL has pages that were never
/// copied, every page any reader reads is first looked up in the WAL's index: 6% of a list
/// page's time after seeding 10,000 cards. Nothing else would copy them until the next write,
/// because checkpoints follow commits.
fn checkpoint_whole_log(conn: &Connection) -> StoreResult<()> {
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0)).map_err(backend)?;
    if busy != 0 {
        // Another process is using the database: the WAL is left for its checkpoints.
        tracing::warn!("the WAL could not be checkpointed whole: another connection is using the database");
    }
    Ok(())
}

fn run_writer(conn: Connection, queue: mpsc::Receiver<Job>, checkpointer: Option<Checkpointer>) {
    let mut stats = CommitStats::new();
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&conn, batch, &mut stats);
        if let Some(checkpointer) = &checkpointer {
            checkpointer.committed();
        }
    }
    stats.report();
    // The engine was dropped: every queued operation has run. Copy the WAL into the database
    // now, as SQLite would when the last connection closes — readers' connections on other
    // threads may outlive this one, so SQLite's own copy at close cannot be counted on.
    if let Some(checkpointer) = checkpointer {
        checkpointer.stop();
        if let Err(e) = checkpoint_whole_log(&conn) {
            tracing::warn!(error = %e, "the closing checkpoint failed; the next start will copy the WAL");
        }
    }
}

/// Runs a statement without results through the statement cache: the writer runs the same
/// few transaction-control statements for every operation, and parsing them each time
/// showed in profiles.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn commit_batch(conn: &Connection, batch: Vec<Job>, stats: &mut CommitStats) {
    let began = Instant::now();
    let operations = batch.len();
    if let Err(e) = run(conn, "BEGIN IMMEDIATE") {
        // Nothing can run without a transaction: each caller is answered that the database is
        // unavailable (503, retry), not left waiting.
        tracing::error!(error = %e, operations = batch.len(), "could not begin a write transaction");
        let failed = CommitFailed::of(&e);
        for job in batch {
            let (_, reply) = job(None);
            reply(Err(failed.clone()));
        }
        return;
    }
    let mut replies = Vec::with_capacity(batch.len());
    for job in batch {
        if let Some(reply) = run_in_savepoint(conn, job) {
            replies.push(reply);
        }
    }
    let executed = Instant::now();
    let commit = run(conn, "COMMIT").map_err(|e| CommitFailed::of(&e));
    stats.record(operations, CommitTimes { began, executed, committed: Instant::now() });
    if commit.is_err() {
        let _ = run(conn, "ROLLBACK");
        tracing::error!(error = ?commit, "group commit failed");
    }
    for reply in replies {
        reply(commit.clone());
    }
}

/// Runs one operation between `SAVEPOINT` and `RELEASE`, undoing it alone if it fails or
/// panics. A panicking operation has no reply: its caller sees the write abandoned.
fn run_in_savepoint(conn: &Connection, job: Job) -> Option<Reply> {
    if let Err(e) = run(conn, "SAVEPOINT op") {
        tracing::error!(error = %e, "could not open a savepoint; the operation is abandoned");
        return None;
    }
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| job(Some(conn))));
    let succeeded = matches!(outcome, Ok((true, _)));
    if !succeeded {
        let _ = run(conn, "ROLLBACK TO op");
    }
    let _ = run(conn, "RELEASE op");
    match outcome {
        Ok((_, reply)) => Some(reply),
        Err(_) => {
            tracing::error!("a storage operation panicked; it was rolled back");
            None
        }
    }
}

pub fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// SQLite's answer as a store error: a full disk, an I/O error or a database that cannot be
/// written is `Unavailable` (retry later; nothing was written); anything else a failure.
pub fn classify(e: rusqlite::Error) -> StoreError {
    match is_unavailable(&e) {
        true => StoreError::Unavailable(e.to_string()),
        false => backend(e),
    }
}

fn is_unavailable(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(
        e.sqlite_error_code(),
        Some(DiskFull | SystemIoFailure | ReadOnly | CannotOpen | DatabaseBusy | DatabaseLocked)
    )
}

/// Why a group commit failed, shared by every operation of the batch.
#[derive(Debug, Clone)]
pub struct CommitFailed {
    unavailable: bool,
    cause: String,
}

impl CommitFailed {
    fn of(e: &rusqlite::Error) -> CommitFailed {
        CommitFailed { unavailable: is_unavailable(e), cause: e.to_string() }
    }

    fn into_error(self) -> StoreError {
        match self.unavailable {
            true => StoreError::Unavailable(self.cause),
            false => StoreError::Backend(self.cause),
        }
    }
}

/// The value of `name` in a database URL's query string (`sqlite://c.db?max_pages=100`).
pub fn url_option<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = url.split_once('?')?;
    query.split('&').filter_map(|pair| pair.split_once('=')).find(|(key, _)| *key == name).map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_database_urls() {
        assert_eq!(Location::parse("sqlite::memory:"), Some(Location::Memory));
        assert_eq!(Location::parse("sqlite://cardinal.db"), Some(Location::File("cardinal.db".into())));
        assert_eq!(Location::parse("sqlite:///var/lib/c.db"), Some(Location::File("/var/lib/c.db".into())));
        assert_eq!(Location::parse("sqlite:data.db?mode=rwc"), Some(Location::File("data.db".into())));
        assert_eq!(Location::parse("postgres://x"), None);
        assert_eq!(Location::parse("sqlite://"), None);
    }

    /// A fresh directory for one test's database files.
    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cardinal-engine-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Creates table `t` with 200 rows, enough pages for the WAL to show them.
    const TWO_HUNDRED_ROWS: &str = "CREATE TABLE t (v TEXT);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
         INSERT INTO t SELECT hex(randomblob(500)) FROM n;";

    fn rows_in(path: &std::path::Path) -> i64 {
        Connection::open(path).unwrap().query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    fn wal_len(path: &std::path::Path) -> u64 {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::metadata(wal).unwrap().len()
    }

    #[test]
    fn opening_copies_a_log_left_behind_into_the_database() {
        let dir = temp_dir();
        let path = dir.join("left.db");
        // A process that wrote and ended without closing: its pages are still in the WAL.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; {TWO_HUNDRED_ROWS}"))
            .unwrap();
        std::mem::forget(conn);
        assert!(wal_len(&path) > 100_000, "the WAL holds the writes");

        let _engine = Engine::open_with(Location::File(path.clone()), None, DEFAULT_BUSY_TIMEOUT).unwrap();
        assert_eq!(wal_len(&path), 0, "the WAL was copied and emptied");
        assert_eq!(rows_in(&path), 200, "and nothing it held was lost");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_dropped_engine_leaves_its_writes_in_the_database_and_an_empty_log() {
        let dir = temp_dir();
        let path = dir.join("closed.db");
        let engine = Engine::open_with(Location::File(path.clone()), None, DEFAULT_BUSY_TIMEOUT).unwrap();
        engine.write(|conn| conn.execute_batch(TWO_HUNDRED_ROWS).map_err(backend)).await.unwrap();
        // A reader's connection on another thread outlives the engine, so SQLite's own copy when
        // the last connection closes does not happen.
        let reader = Connection::open(&path).unwrap();
        reader.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap();
        drop(engine);
        assert_eq!(wal_len(&path), 0, "the WAL was copied and emptied");
        drop(reader);
        assert_eq!(rows_in(&path), 200);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
