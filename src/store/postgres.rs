//! The PostgreSQL engine behind [`super::kv`]: a small pool of connections, versioned SQL
//! migrations applied at open, the key-value statements, and transactions retried on
//! serialisation failures.
//!
//! The store's operations are synchronous (sled's are), and they are called from async tasks
//! and from blocking threads alike. So the connections' I/O runs on one private runtime thread,
//! and callers wait for their query's answer by parking their own thread ([`block_on`]), never
//! by entering a runtime: that works from anywhere, like a sled call.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Statement};

use super::kv::{ConflictableTransactionError, Direction, KvError, TransactionError, TxResult};

/// Versioned migrations, applied in order at open; `netra_migrations` records which ran.
/// Never edit one that has shipped: add the next.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "key-value trees",
        include_str!("../../migrations/postgres/0001_kv.sql"),
    ),
    (
        2,
        "leases and shared budgets",
        include_str!("../../migrations/postgres/0002_leases.sql"),
    ),
];

/// Connections one process keeps open at most; more callers wait for a free one. PostgreSQL
/// allows 100 by default, and a replica rarely has more than a few store calls in flight.
const MAX_CONNECTIONS: usize = 16;

/// Transaction attempts before giving up on a transaction that keeps conflicting.
const MAX_ATTEMPTS: u32 = 1000;

/// Any advisory-lock number works as long as nothing else in the database uses it.
const MIGRATION_LOCK: i64 = 0x006e_6574_7261;

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("{target}: {action}: {source}")]
    Query {
        target: String,
        action: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("the store URL is not a valid PostgreSQL connection string: {0}")]
    Url(tokio_postgres::Error),
    #[error("cannot start the PostgreSQL connection thread: {0}")]
    Runtime(String),
    #[error("{target}: gave up after {MAX_ATTEMPTS} attempts that conflicted with other writers")]
    TooManyConflicts { target: String },
}

impl PgError {
    /// Another transaction got there first; running again will succeed.
    fn is_conflict(&self) -> bool {
        match self {
            PgError::Query { source, .. } => matches!(
                source.code(),
                Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED
            ),
            _ => false,
        }
    }
}

impl From<PgError> for ConflictableTransactionError {
    fn from(error: PgError) -> Self {
        if error.is_conflict() {
            ConflictableTransactionError::Conflict
        } else {
            ConflictableTransactionError::Storage(KvError::Postgres(error))
        }
    }
}

const GET: &str = "SELECT value FROM netra_kv WHERE tree = $1 AND key = $2";
const UPSERT: &str = "WITH old AS (SELECT value FROM netra_kv WHERE tree = $1 AND key = $2) \
     INSERT INTO netra_kv (tree, key, value) VALUES ($1, $2, $3) \
     ON CONFLICT (tree, key) DO UPDATE SET value = EXCLUDED.value \
     RETURNING (SELECT value FROM old)";
const INSERT_IF_ABSENT: &str = "INSERT INTO netra_kv (tree, key, value) VALUES ($1, $2, $3) \
     ON CONFLICT (tree, key) DO NOTHING";
const DELETE: &str = "DELETE FROM netra_kv WHERE tree = $1 AND key = $2 RETURNING value";
const CLEAR: &str = "DELETE FROM netra_kv WHERE tree = $1";
const COUNT: &str = "SELECT count(*) FROM netra_kv WHERE tree = $1";
const RANGE_UP: &str = "SELECT key, value FROM netra_kv WHERE tree = $1 AND key >= $2 \
     ORDER BY key LIMIT $3";
const RANGE_UP_BOUNDED: &str = "SELECT key, value FROM netra_kv \
     WHERE tree = $1 AND key >= $2 AND key < $3 ORDER BY key LIMIT $4";
const RANGE_DOWN: &str = "SELECT key, value FROM netra_kv WHERE tree = $1 AND key >= $2 \
     ORDER BY key DESC LIMIT $3";
const RANGE_DOWN_BOUNDED: &str = "SELECT key, value FROM netra_kv \
     WHERE tree = $1 AND key >= $2 AND key < $3 ORDER BY key DESC LIMIT $4";

/// A PostgreSQL database (and schema) holding one store.
pub struct Postgres {
    config: tokio_postgres::Config,
    /// Where, for messages: host, port and database, never the password.
    target: String,
    schema: Option<String>,
    pool: Mutex<Pool>,
    freed: Condvar,
    /// One transaction at a time from this process. Store transactions touch the same few
    /// rows (id counters, the audit head), so concurrent ones from one replica would mostly
    /// fail serialisation and run again; queueing them here wastes no round trips. Other
    /// replicas still conflict, and retry.
    writer: Mutex<()>,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Connection>,
    open: usize,
}

/// One session with its prepared statements.
pub struct Connection {
    client: Client,
    statements: RefCell<HashMap<&'static str, Statement>>,
    target: String,
}

/// One row of a tree: key and value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

type Params<'a> = [&'a (dyn tokio_postgres::types::ToSql + Sync)];

impl Connection {
    fn prepared(&self, sql: &'static str) -> Result<Statement, PgError> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = block_on(self.client.prepare(sql)).map_err(self.failed("preparing"))?;
        self.statements.borrow_mut().insert(sql, statement.clone());
        Ok(statement)
    }

    fn query(
        &self,
        action: &'static str,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Vec<tokio_postgres::Row>, PgError> {
        let statement = self.prepared(sql)?;
        block_on(self.client.query(&statement, params)).map_err(self.failed(action))
    }

    fn execute(
        &self,
        action: &'static str,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<u64, PgError> {
        let statement = self.prepared(sql)?;
        block_on(self.client.execute(&statement, params)).map_err(self.failed(action))
    }

    fn batch(&self, action: &'static str, sql: &str) -> Result<(), PgError> {
        block_on(self.client.batch_execute(sql)).map_err(self.failed(action))
    }

    fn failed(&self, action: &'static str) -> impl FnOnce(tokio_postgres::Error) -> PgError + '_ {
        move |source| PgError::Query {
            target: self.target.clone(),
            action,
            source,
        }
    }

    fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, PgError> {
        let rows = self.query("reading a key", GET, &[&tree, &key])?;
        Ok(rows.first().map(|row| row.get(0)))
    }

    fn insert(&self, tree: &str, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, PgError> {
        let rows = self.query("writing a key", UPSERT, &[&tree, &key, &value])?;
        Ok(rows.first().and_then(|row| row.get(0)))
    }

    fn remove(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, PgError> {
        let rows = self.query("removing a key", DELETE, &[&tree, &key])?;
        Ok(rows.first().map(|row| row.get(0)))
    }
}

/// A transaction in progress, as the store's transactional trees see it.
pub struct PgTx<'c> {
    connection: &'c Connection,
}

impl PgTx<'_> {
    pub fn get(&self, tree: &str, key: &[u8]) -> TxResult<Option<Vec<u8>>> {
        Ok(self.connection.get(tree, key)?)
    }

    pub fn insert(&self, tree: &str, key: &[u8], value: &[u8]) -> TxResult<Option<Vec<u8>>> {
        Ok(self.connection.insert(tree, key, value)?)
    }

    pub fn remove(&self, tree: &str, key: &[u8]) -> TxResult<Option<Vec<u8>>> {
        Ok(self.connection.remove(tree, key)?)
    }
}

/// A connection taken from the pool; it goes back when dropped, unless it broke.
pub struct Pooled<'p> {
    postgres: &'p Postgres,
    connection: Option<Connection>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match &self.connection {
            Some(connection) => connection,
            None => unreachable!("a pooled connection is only taken in drop"),
        }
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let mut pool = self.postgres.lock_pool();
        match self.connection.take() {
            Some(connection) if !connection.client.is_closed() => pool.idle.push(connection),
            _ => pool.open -= 1,
        }
        self.postgres.freed.notify_one();
    }
}

impl Postgres {
    /// Connects to `url`, keeps the store in `schema` (created if missing) or in the
    /// connection's default schema, and applies the migrations it has not seen yet.
    pub fn open(url: &str, schema: Option<String>) -> Result<Arc<Postgres>, PgError> {
        let config: tokio_postgres::Config = url.parse().map_err(PgError::Url)?;
        let target = describe(&config);
        let postgres = Arc::new(Postgres {
            config,
            target,
            schema,
            pool: Mutex::new(Pool::default()),
            freed: Condvar::new(),
            writer: Mutex::new(()),
        });
        postgres.migrate()?;
        Ok(postgres)
    }

    fn lock_pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A connection from the pool, a new one if there is room, or the next one freed.
    pub fn connection(&self) -> Result<Pooled<'_>, PgError> {
        let mut pool = self.lock_pool();
        loop {
            if let Some(connection) = pool.idle.pop() {
                return Ok(Pooled {
                    postgres: self,
                    connection: Some(connection),
                });
            }
            if pool.open < MAX_CONNECTIONS {
                pool.open += 1;
                drop(pool);
                return match self.connect() {
                    Ok(connection) => Ok(Pooled {
                        postgres: self,
                        connection: Some(connection),
                    }),
                    Err(error) => {
                        self.lock_pool().open -= 1;
                        self.freed.notify_one();
                        Err(error)
                    }
                };
            }
            pool = self
                .freed
                .wait(pool)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn connect(&self) -> Result<Connection, PgError> {
        let config = self.config.clone();
        let (sender, receiver) = std::sync::mpsc::channel();
        runtime()?.spawn(async move {
            let connected = config.connect(NoTls).await.map(|(client, connection)| {
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::warn!(%error, "A PostgreSQL connection ended with an error.");
                    }
                });
                client
            });
            let _ = sender.send(connected);
        });
        let client = receiver
            .recv()
            .map_err(|_| PgError::Runtime("the connection thread stopped".into()))?
            .map_err(|source| PgError::Query {
                target: self.target.clone(),
                action: "connecting",
                source,
            })?;
        let connection = Connection {
            client,
            statements: RefCell::new(HashMap::new()),
            target: self.target.clone(),
        };
        if let Some(schema) = &self.schema {
            connection.batch(
                "choosing the schema",
                &format!("SET search_path TO {}", quote_identifier(schema)),
            )?;
        }
        Ok(connection)
    }

    /// Creates the schema if needed and runs the migrations not yet recorded, one replica at
    /// a time (an advisory lock held for the transaction).
    fn migrate(&self) -> Result<(), PgError> {
        let connection = self.connection()?;
        connection.batch("starting the migrations", "BEGIN")?;
        let applied = self.migrate_in(&connection);
        let end = if applied.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        let ended = connection.batch("finishing the migrations", end);
        applied.and(ended)
    }

    fn migrate_in(&self, connection: &Connection) -> Result<(), PgError> {
        connection.batch(
            "waiting for other replicas' migrations",
            &format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"),
        )?;
        if let Some(schema) = &self.schema {
            connection.batch(
                "creating the schema",
                &format!("CREATE SCHEMA IF NOT EXISTS {}", quote_identifier(schema)),
            )?;
        }
        connection.batch(
            "creating the migration table",
            "CREATE TABLE IF NOT EXISTS netra_migrations (\
               version integer PRIMARY KEY, name text NOT NULL, \
               applied_at timestamptz NOT NULL DEFAULT now())",
        )?;
        let rows = connection.query(
            "reading applied migrations",
            "SELECT version FROM netra_migrations",
            &[],
        )?;
        let applied: Vec<i32> = rows.iter().map(|row| row.get(0)).collect();
        for (version, name, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            tracing::info!(version, name, "Applying a PostgreSQL migration.");
            connection.batch("applying a migration", sql)?;
            connection.execute(
                "recording a migration",
                "INSERT INTO netra_migrations (version, name) VALUES ($1, $2)",
                &[version, name],
            )?;
        }
        Ok(())
    }

    pub fn get(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, PgError> {
        self.connection()?.get(tree, key)
    }

    pub fn insert(&self, tree: &str, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, PgError> {
        self.connection()?.insert(tree, key, value)
    }

    pub fn insert_if_absent(&self, tree: &str, key: &[u8], value: &[u8]) -> Result<bool, PgError> {
        let inserted = self.connection()?.execute(
            "writing a new key",
            INSERT_IF_ABSENT,
            &[&tree, &key, &value],
        )?;
        Ok(inserted == 1)
    }

    pub fn insert_many(&self, tree: &str, entries: &[KeyValue]) -> Result<(), PgError> {
        let written = self.transaction(|tx| {
            for (key, value) in entries {
                tx.insert(tree, key, value)?;
            }
            Ok(())
        });
        match written {
            Ok(()) => Ok(()),
            Err(TransactionError::Storage(KvError::Postgres(error))) => Err(error),
            Err(other) => Err(PgError::Runtime(format!("{other:?}"))),
        }
    }

    pub fn remove(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>, PgError> {
        self.connection()?.remove(tree, key)
    }

    pub fn clear(&self, tree: &str) -> Result<(), PgError> {
        self.connection()?
            .execute("clearing a tree", CLEAR, &[&tree])
            .map(|_| ())
    }

    pub fn count(&self, tree: &str) -> Result<usize, PgError> {
        let rows = self
            .connection()?
            .query("counting a tree", COUNT, &[&tree])?;
        let count: i64 = rows.first().map(|row| row.get(0)).unwrap_or(0);
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    /// Up to `limit` rows with `lower <= key < upper`, nearest to the `direction`'s start first.
    pub fn range(
        &self,
        tree: &str,
        lower: &[u8],
        upper: Option<&[u8]>,
        direction: Direction,
        limit: i64,
    ) -> Result<Vec<KeyValue>, PgError> {
        let connection = self.connection()?;
        let rows = match (direction, upper) {
            (Direction::Forward, None) => {
                connection.query("walking a tree", RANGE_UP, &[&tree, &lower, &limit])?
            }
            (Direction::Forward, Some(upper)) => connection.query(
                "walking a tree",
                RANGE_UP_BOUNDED,
                &[&tree, &lower, &upper, &limit],
            )?,
            (Direction::Backward, None) => {
                connection.query("walking a tree", RANGE_DOWN, &[&tree, &lower, &limit])?
            }
            (Direction::Backward, Some(upper)) => connection.query(
                "walking a tree",
                RANGE_DOWN_BOUNDED,
                &[&tree, &lower, &upper, &limit],
            )?,
        };
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    pub fn size_on_disk(&self) -> Result<u64, PgError> {
        let rows = self.connection()?.query(
            "measuring the store",
            "SELECT pg_total_relation_size('netra_kv')",
            &[],
        )?;
        let bytes: i64 = rows.first().map(|row| row.get(0)).unwrap_or(0);
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    /// Runs `work` in a `SERIALIZABLE` transaction, again after a serialisation failure or
    /// deadlock (with a short random pause), until it commits, aborts or fails.
    pub fn transaction<R>(
        &self,
        work: impl Fn(&PgTx<'_>) -> TxResult<R>,
    ) -> Result<R, TransactionError> {
        let storage = |error: PgError| TransactionError::Storage(KvError::Postgres(error));
        let _writer = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let connection = self.connection().map_err(storage)?;
        for attempt in 1..=MAX_ATTEMPTS {
            connection
                .batch(
                    "starting a transaction",
                    "BEGIN ISOLATION LEVEL SERIALIZABLE",
                )
                .map_err(storage)?;
            let outcome = work(&PgTx {
                connection: &connection,
            });
            let conflict = match outcome {
                Ok(value) => match connection.batch("committing", "COMMIT") {
                    Ok(()) => return Ok(value),
                    Err(error) if error.is_conflict() => true,
                    Err(error) => return Err(storage(error)),
                },
                Err(ConflictableTransactionError::Conflict) => true,
                Err(ConflictableTransactionError::Abort(error)) => {
                    connection
                        .batch("rolling back", "ROLLBACK")
                        .map_err(storage)?;
                    return Err(TransactionError::Abort(error));
                }
                Err(ConflictableTransactionError::Storage(error)) => {
                    let _ = connection.batch("rolling back", "ROLLBACK");
                    return Err(TransactionError::Storage(error));
                }
            };
            if conflict {
                let _ = connection.batch("rolling back", "ROLLBACK");
                pause_after_conflict(attempt);
            }
        }
        Err(storage(PgError::TooManyConflicts {
            target: self.target.clone(),
        }))
    }

    /// Runs one SQL statement that returns rows, for the replica coordination tables.
    pub fn rows(
        &self,
        action: &'static str,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Vec<tokio_postgres::Row>, PgError> {
        self.connection()?.query(action, sql, params)
    }

    pub fn target(&self) -> &str {
        &self.target
    }
}

/// Up to `attempt` milliseconds (at most 20), chosen at random so that conflicting writers
/// spread out.
fn pause_after_conflict(attempt: u32) {
    let mut random = [0u8; 2];
    let _ = getrandom::getrandom(&mut random);
    let ceiling_us = u64::from(attempt.min(20)) * 1000;
    let pause_us = u64::from(u16::from_le_bytes(random)) % ceiling_us.max(1);
    std::thread::sleep(std::time::Duration::from_micros(pause_us));
}

/// `host:port/database` for messages; the password never appears.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config.get_dbname().unwrap_or("postgres");
    format!("postgres://{host}:{port}/{database}")
}

/// `name` as an SQL identifier, quoted so any characters are safe.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The thread that runs every PostgreSQL connection's I/O in this process.
fn runtime() -> Result<&'static tokio::runtime::Runtime, PgError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("netra-postgres")
                .enable_all()
                .build()
                .map_err(|error| error.to_string())
        })
        .as_ref()
        .map_err(|error| PgError::Runtime(error.clone()))
}

/// Waits for `future` by parking this thread between polls. The futures polled here (a
/// client's requests) only exchange messages with the connection task on [`runtime`], so they
/// need no runtime of their own.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_leave_out_the_password() {
        let config: tokio_postgres::Config = "postgres://netra:s3cret@db.example:6543/netra"
            .parse()
            .unwrap();
        let described = describe(&config);
        assert_eq!(described, "postgres://db.example:6543/netra");
        assert!(!described.contains("s3cret"));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("t_1"), "\"t_1\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }
}
