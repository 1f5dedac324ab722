//! The store: the only module that touches the database. Its trees live in sled (embedded, the
//! default) or in PostgreSQL (several replicas on one store), behind the key-value layer of
//! `kv.rs`; everything below is written once for both.
//!
//! # Trees
//!
//! | tree | key ([`keys`]) | value |
//! |---|---|---|
//! | `meta` | `schema_version`, `next_account_id`, `next_finding_id`, `next_alert_id` | `u64` big-endian |
//! | `employees` | employee id (NIP) bytes | [`Employee`](crate::model::Employee) |
//! | `accounts` | account number `u64` | [`Account`](crate::model::Account) |
//! | `account_by_handle` | platform `u8` · lowercased handle | account number `u64` |
//! | `watched` | account number `u64` | [`WatchedAccount`](crate::model::WatchedAccount) |
//! | `watched_by_handle` | platform `u8` · lowercased handle | account number `u64` |
//! | `activities` | platform `u8` · platform activity id | [`Activity`](crate::model::Activity) |
//! | `activity_by_time` | occurred time `u64` · activity key | empty |
//! | `findings` | finding number `u64` | [`Finding`](crate::model::Finding) |
//! | `finding_by_dedupe` | platform `u8` · len `u8` · finding subject (the activity id; for a follow `follow:<account>:<target id>`) · rule id | finding number `u64` |
//! | `queue` | state `u8` · 255−severity `u8` · created time `u64` · finding number `u64` | empty |
//! | `evidence` | SHA-256 (32 bytes) | header length `u32` · header JSON · raw body |
//! | `scan_state` | account number `u64` (registered or watched) | [`ScanState`](crate::model::ScanState) |
//! | `cases` | case number `u64` | [`Case`](crate::model::Case) |
//! | `case_by_subject` | employee id · `0` · entity id | case number `u64` (the latest case) |
//! | `history` | finding number `u64` · audit sequence `u64` | [`HistoryEntry`](crate::review::HistoryEntry) |
//! | `users` | user number `u64` | [`User`](crate::access::User) |
//! | `user_by_name` | lowercased name | user number `u64` |
//! | `tokens` | token number `u64` | [`ApiToken`](crate::access::ApiToken) (digest only) |
//! | `token_by_hash` | SHA-256 of the token (32 bytes) | token number `u64` |
//! | `purged` | finding number `u64` | purge time `u64` (its dedupe key stays, so it never returns) |
//! | `audit` | sequence `u64` | [`AuditEntry`](audit::AuditEntry); head `(seq, hash)` in `meta` |
//! | `outbox` | endpoint name (length `u8` · bytes) · message number `u64` | [`OutboxMessage`] |
//! | `alert_dead` | as `outbox` | [`DeadLetter`] |
//! | `alert_endpoints` | endpoint name | [`EndpointState`] |
//! | `outbox_leases` | as `outbox` | lease expiry time `u64` (not dumped; cleared at open) |
//! | `snapshots` | account number `u64` (registered) | [`SnapshotState`](crate::model::SnapshotState): last following list and profile, next due time |
//!
//! Records are [`codec`]-encoded: a version byte, then JSON. Index trees hold raw bytes.
//!
//! # Durability
//!
//! sled 0.34.7 loses writes that returned `Ok` on a process crash unless they were flushed
//! (measured here: 63–76% of unflushed transactions lost under SIGKILL, none of the flushed
//! ones). So every operation that reports success has flushed first (sharing the fsync with
//! concurrent writers: [`Store::flush`]), and every change that spans trees is one multi-tree
//! transaction: an activity, its findings and their queue entries
//! appear together or not at all, with the outbox rows of the alerts they raise ([`outbox`]).
//! Transaction closures are pure: no I/O, no scans. Two writes are left to the next flush on
//! purpose, because losing them costs only time: an account's resolution and the scheduler's
//! verdict after a scan ([`Store::update_account_resolution`], [`Store::put_scan_state`]).
//!
//! # Consistency of dumps
//!
//! Iterators do not share a snapshot across trees. Writers therefore hold the read side of
//! a gate and `export` holds the write side, so a dump never sees half of a change. The gate
//! is per process: on PostgreSQL with other replicas writing, use `pg_dump` instead.

mod access;
pub mod audit;
mod codec;
mod copy;
mod dump;
pub mod keys;
mod kv;
mod outbox;
mod postgres;
mod records;
mod replicas;
mod retention;
mod review;
mod snapshots;

use std::path::Path;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use access::{check_user_name, NewUser, UserChange};
pub use audit::{AuditDraft, AuditEntry, AuditReport};
pub use copy::CopyReport;
pub use outbox::{AlertRoute, Claim, DeadLetter, EndpointState, Finish, OutboxMessage};
pub use records::{ActivityRecord, Change, Ingest, IntegrityProblem, RecordOutcome, RowOutcome};
pub use replicas::ScanClaim;
pub use retention::{is_minimised, PurgeReport, RetentionPolicy};
pub use review::{FindingFilter, Page};

/// Version of the layout described above. Bump it with a migration in [`MIGRATIONS`].
pub const SCHEMA_VERSION: u64 = 1;

/// `MIGRATIONS[i]` upgrades a store from schema `i + 1` to `i + 2`. Each runs once, in order,
/// when an older store is opened (or an older dump imported), before anything else reads it.
const MIGRATIONS: &[Migration] = &[];

/// One schema step; runs on an open store before anything else reads it.
type Migration = fn(&Store) -> Result<(), StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error while {action}: {source}")]
    Backend {
        action: String,
        #[source]
        source: kv::KvError,
    },
    #[error("record in tree '{tree}' at key {key_hex} is unreadable: {reason}")]
    Corrupt {
        tree: &'static str,
        key_hex: String,
        reason: String,
    },
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    #[error("{what} '{id}' does not exist")]
    NotFound { what: &'static str, id: String },
    #[error("{what} is invalid: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error(transparent)]
    Review(#[from] crate::review::ReviewError),
    #[error("bulk decision refused, nothing changed: {}", .0.join("; "))]
    Bulk(Vec<String>),
    #[error("{what} '{id}' already exists")]
    AlreadyExists { what: &'static str, id: String },
    #[error(
        "the store has schema version {found}, newer than this build of Netra knows ({known}); \
         use a newer Netra or restore a dump"
    )]
    SchemaTooNew { found: u64, known: u64 },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("dump line {line}: {reason}")]
    Dump { line: usize, reason: String },
    #[error("import needs an empty store, but tree '{tree}' already holds records; nothing was imported")]
    NotEmpty { tree: &'static str },
}

impl StoreError {
    fn backend(action: impl Into<String>) -> impl FnOnce(kv::KvError) -> StoreError {
        let action = action.into();
        move |source| StoreError::Backend { action, source }
    }
}

use kv::{Engine, Tree, TxResult};

/// Handle to the open database. Cheap to clone; open it once per process and share it (sled
/// holds a file lock that outlives a quick drop-and-reopen).
#[derive(Clone)]
pub struct Store {
    engine: Engine,
    trees: Trees,
    gate: Arc<RwLock<()>>,
    /// Bumped by every change to employees, accounts or watched accounts in this process, so
    /// the daemon re-reads the registry only when it changed.
    registry_version: Arc<std::sync::atomic::AtomicU64>,
    /// Group commit: see [`Store::flush`].
    group: Arc<GroupCommit>,
    /// How far apart two findings of one employee about one entity may be and still share a
    /// case.
    case_window: jiff::SignedDuration,
    /// Alert routing and the outbox wake-up signal (issue #8).
    alerts: Arc<outbox::AlertsShared>,
}

/// Default for [`Store::with_case_window`]: a campaign season's worth of related posts.
pub const DEFAULT_CASE_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(30 * 24);

/// Tickets of committed-but-maybe-unflushed writes, and how far the last flush reached.
#[derive(Default)]
struct GroupCommit {
    written: std::sync::atomic::AtomicU64,
    flushed: std::sync::Mutex<u64>,
}

/// The open trees, one field per row of the table in the module docs.
#[derive(Clone)]
struct Trees {
    meta: Tree,
    employees: Tree,
    accounts: Tree,
    account_by_handle: Tree,
    watched: Tree,
    watched_by_handle: Tree,
    activities: Tree,
    activity_by_time: Tree,
    findings: Tree,
    finding_by_dedupe: Tree,
    queue: Tree,
    evidence: Tree,
    scan_state: Tree,
    cases: Tree,
    case_by_subject: Tree,
    history: Tree,
    users: Tree,
    user_by_name: Tree,
    tokens: Tree,
    token_by_hash: Tree,
    audit: Tree,
    purged: Tree,
    outbox: Tree,
    alert_dead: Tree,
    alert_endpoints: Tree,
    outbox_leases: Tree,
    snapshots: Tree,
}

/// How a tree's values appear in a dump: decoded records (readable, migratable) or raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueFormat {
    Record,
    Bytes,
}

/// Tree names in dump order; [`Trees::by_name`] must list the same.
/// `outbox_leases` is left out on purpose: leases mean nothing outside the process that took them.
const TREE_NAMES: [(&str, ValueFormat); 26] = [
    ("meta", ValueFormat::Bytes),
    ("employees", ValueFormat::Record),
    ("accounts", ValueFormat::Record),
    ("account_by_handle", ValueFormat::Bytes),
    ("watched", ValueFormat::Record),
    ("watched_by_handle", ValueFormat::Bytes),
    ("activities", ValueFormat::Record),
    ("activity_by_time", ValueFormat::Bytes),
    ("findings", ValueFormat::Record),
    ("finding_by_dedupe", ValueFormat::Bytes),
    ("queue", ValueFormat::Bytes),
    ("evidence", ValueFormat::Bytes),
    ("scan_state", ValueFormat::Record),
    ("cases", ValueFormat::Record),
    ("case_by_subject", ValueFormat::Bytes),
    ("history", ValueFormat::Record),
    ("users", ValueFormat::Record),
    ("user_by_name", ValueFormat::Bytes),
    ("tokens", ValueFormat::Record),
    ("token_by_hash", ValueFormat::Bytes),
    ("audit", ValueFormat::Record),
    ("purged", ValueFormat::Bytes),
    ("outbox", ValueFormat::Record),
    ("alert_dead", ValueFormat::Record),
    ("alert_endpoints", ValueFormat::Record),
    ("snapshots", ValueFormat::Record),
];

impl Trees {
    fn open(engine: &Engine) -> Result<Trees, StoreError> {
        let open = |name: &'static str| {
            engine
                .open_tree(name)
                .map_err(StoreError::backend(format!("opening tree '{name}'")))
        };
        Ok(Trees {
            meta: open("meta")?,
            employees: open("employees")?,
            accounts: open("accounts")?,
            account_by_handle: open("account_by_handle")?,
            watched: open("watched")?,
            watched_by_handle: open("watched_by_handle")?,
            activities: open("activities")?,
            activity_by_time: open("activity_by_time")?,
            findings: open("findings")?,
            finding_by_dedupe: open("finding_by_dedupe")?,
            queue: open("queue")?,
            evidence: open("evidence")?,
            scan_state: open("scan_state")?,
            cases: open("cases")?,
            case_by_subject: open("case_by_subject")?,
            history: open("history")?,
            users: open("users")?,
            user_by_name: open("user_by_name")?,
            tokens: open("tokens")?,
            token_by_hash: open("token_by_hash")?,
            audit: open("audit")?,
            purged: open("purged")?,
            outbox: open("outbox")?,
            alert_dead: open("alert_dead")?,
            alert_endpoints: open("alert_endpoints")?,
            outbox_leases: open("outbox_leases")?,
            snapshots: open("snapshots")?,
        })
    }

    fn by_name(&self, name: &str) -> Option<&Tree> {
        Some(match name {
            "meta" => &self.meta,
            "employees" => &self.employees,
            "accounts" => &self.accounts,
            "account_by_handle" => &self.account_by_handle,
            "watched" => &self.watched,
            "watched_by_handle" => &self.watched_by_handle,
            "activities" => &self.activities,
            "activity_by_time" => &self.activity_by_time,
            "findings" => &self.findings,
            "finding_by_dedupe" => &self.finding_by_dedupe,
            "queue" => &self.queue,
            "evidence" => &self.evidence,
            "scan_state" => &self.scan_state,
            "cases" => &self.cases,
            "case_by_subject" => &self.case_by_subject,
            "history" => &self.history,
            "users" => &self.users,
            "user_by_name" => &self.user_by_name,
            "tokens" => &self.tokens,
            "token_by_hash" => &self.token_by_hash,
            "audit" => &self.audit,
            "purged" => &self.purged,
            "outbox" => &self.outbox,
            "alert_dead" => &self.alert_dead,
            "alert_endpoints" => &self.alert_endpoints,
            "snapshots" => &self.snapshots,
            _ => return None,
        })
    }
}

impl Store {
    /// Opens (or creates) the database at `path`, then brings its schema up to date.
    ///
    /// A `postgres://` (or `postgresql://`) URL in place of the path opens a PostgreSQL store
    /// instead (design §12). When [`POSTGRES_FOR_DIRECTORIES`] is set, a directory path is
    /// kept in that database too, in a schema named after the path: that is how the whole test
    /// suite runs on PostgreSQL, and reopening the same path reaches the same data.
    pub fn open(path: &Path, cache_capacity_bytes: u64) -> Result<Store, StoreError> {
        if let Some(url) = path.to_str().filter(|text| is_postgres_url(text)) {
            return Store::open_postgres(url, None);
        }
        if let Some(url) = postgres_for_directories() {
            return Store::open_postgres(&url, Some(schema_for_directory(path)));
        }
        Store::open_sled(path, cache_capacity_bytes)
    }

    /// Opens (or creates) the sled database at `path`, whatever the environment says.
    pub fn open_sled(path: &Path, cache_capacity_bytes: u64) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_capacity_bytes)
            .open()
            .map_err(|error| {
                StoreError::backend(format!("opening {}", path.display()))(error.into())
            })?;
        if db.was_recovered() {
            tracing::info!(path = %path.display(), "Opened an existing store.");
        } else {
            tracing::info!(path = %path.display(), "Created a new store.");
        }
        Store::from_engine(Engine::Sled(db))
    }

    /// A store in a temporary directory that sled deletes on drop; for tests and `netra check`.
    pub fn temporary() -> Result<Store, StoreError> {
        if let Some(url) = postgres_for_directories() {
            let mut random = [0u8; 8];
            getrandom::getrandom(&mut random).map_err(|error| StoreError::Invalid {
                what: "temporary store",
                reason: format!("no randomness available: {error}"),
            })?;
            return Store::open_postgres(&url, Some(format!("netra_tmp_{}", hex::encode(random))));
        }
        let db = sled::Config::new()
            .temporary(true)
            .cache_capacity(16 * 1024 * 1024)
            .open()
            .map_err(|error| StoreError::backend("opening a temporary store")(error.into()))?;
        Store::from_engine(Engine::Sled(db))
    }

    /// Opens the store kept in the PostgreSQL database at `url` (in `schema`, or the
    /// connection's default), applying the SQL migrations it has not seen yet.
    pub fn open_postgres(url: &str, schema: Option<String>) -> Result<Store, StoreError> {
        let postgres =
            postgres::Postgres::open(url, schema).map_err(|error| StoreError::Backend {
                action: "opening the PostgreSQL store".into(),
                source: kv::KvError::Postgres(error),
            })?;
        tracing::info!(database = postgres.target(), "Opened a PostgreSQL store.");
        Store::from_engine(Engine::Postgres(postgres))
    }

    /// Whether other processes may write to this store at the same time (replicas on
    /// PostgreSQL); sled allows one process.
    pub fn is_shared(&self) -> bool {
        self.engine.postgres().is_some()
    }

    /// Which engine holds this store, for messages: `sled` or the PostgreSQL target.
    pub fn engine_name(&self) -> String {
        match &self.engine {
            Engine::Sled(_) => "sled".into(),
            Engine::Postgres(postgres) => postgres.target().to_string(),
        }
    }

    fn from_engine(engine: Engine) -> Result<Store, StoreError> {
        let store = Store {
            trees: Trees::open(&engine)?,
            engine,
            gate: Arc::new(RwLock::new(())),
            registry_version: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            group: Arc::new(GroupCommit::default()),
            case_window: DEFAULT_CASE_WINDOW,
            alerts: Arc::new(outbox::AlertsShared::default()),
        };
        store.upgrade_schema()?;
        store.release_alert_leases()?;
        Ok(store)
    }

    /// Writes the current version into a new store, or runs the migrations an old one needs.
    fn upgrade_schema(&self) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        match found {
            None => {
                let _gate = self.write_gate();
                self.trees
                    .meta
                    .insert(keys::META_SCHEMA_VERSION, &keys::u64_key(SCHEMA_VERSION))
                    .map_err(StoreError::backend("writing the schema version"))?;
                self.flush()?;
            }
            Some(version) if version > SCHEMA_VERSION => {
                return Err(StoreError::SchemaTooNew {
                    found: version,
                    known: SCHEMA_VERSION,
                });
            }
            Some(version) => self.migrate_from(version)?,
        }
        Ok(())
    }

    fn migrate_from(&self, mut version: u64) -> Result<(), StoreError> {
        while version < SCHEMA_VERSION {
            let migration = MIGRATIONS[(version - 1) as usize];
            tracing::info!(
                from = version,
                to = version + 1,
                "Migrating the store schema."
            );
            migration(self)?;
            version += 1;
            self.trees
                .meta
                .insert(keys::META_SCHEMA_VERSION, &keys::u64_key(version))
                .map_err(StoreError::backend("writing the schema version"))?;
            self.flush()?;
        }
        Ok(())
    }

    /// Sets how far apart findings may be to share a case (`review.case_window_days`).
    pub fn with_case_window(mut self, window: jiff::SignedDuration) -> Store {
        self.case_window = window;
        self
    }

    /// The schema version recorded in `meta`, if any.
    pub fn schema_version(&self) -> Result<Option<u64>, StoreError> {
        let value = self
            .trees
            .meta
            .get(keys::META_SCHEMA_VERSION)
            .map_err(StoreError::backend("reading the schema version"))?;
        value
            .map(|bytes| {
                keys::u64_from_key(&bytes, "schema version").map_err(|_| StoreError::Corrupt {
                    tree: "meta",
                    key_hex: hex::encode(keys::META_SCHEMA_VERSION),
                    reason: "schema version is not 8 bytes".into(),
                })
            })
            .transpose()
    }

    /// Makes every write so far durable, sharing one fsync with the writers that finished at
    /// the same time (group commit). Called by each operation before it reports success.
    ///
    /// A writer takes a ticket after its write; whoever holds the flush lock notes the newest
    /// ticket, flushes, and records it; a writer whose ticket is already covered returns
    /// without flushing. A ticket is taken after the write, so the flush that covers it began
    /// after the write and includes it.
    pub fn flush(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        let ticket = self.group.written.fetch_add(1, Ordering::AcqRel) + 1;
        let mut flushed = self.group.flushed.lock().unwrap_or_else(|p| p.into_inner());
        if *flushed >= ticket {
            return Ok(());
        }
        let reach = self.group.written.load(Ordering::Acquire);
        self.engine
            .flush()
            .map_err(StoreError::backend("flushing to disk"))?;
        *flushed = reach;
        Ok(())
    }

    /// Bytes the database occupies on disk (a metric: sled can grow large).
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.engine
            .size_on_disk()
            .map_err(StoreError::backend("measuring the size on disk"))
    }

    /// Changes whenever the registry changes (in this process).
    pub fn registry_version(&self) -> u64 {
        self.registry_version
            .load(std::sync::atomic::Ordering::Acquire)
    }

    fn registry_changed(&self) {
        self.registry_version
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Held by every writer; many at once. See "Consistency of dumps" above.
    fn read_gate(&self) -> RwLockReadGuard<'_, ()> {
        self.gate
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Held by `export` and `import`, which must see or make the whole store at once.
    fn write_gate(&self) -> RwLockWriteGuard<'_, ()> {
        self.gate
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Environment variable naming a PostgreSQL database in which directory stores are kept (see
/// [`Store::open`]).
pub const POSTGRES_FOR_DIRECTORIES: &str = "NETRA_STORE_POSTGRES";

/// Whether a configured store location is a PostgreSQL URL rather than a directory.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

fn postgres_for_directories() -> Option<String> {
    std::env::var(POSTGRES_FOR_DIRECTORIES)
        .ok()
        .filter(|url| is_postgres_url(url))
}

/// `netra_` and a digest of the directory's absolute path: the same directory, the same schema.
pub fn schema_for_directory(path: &Path) -> String {
    use sha2::Digest;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let digest = sha2::Sha256::digest(absolute.to_string_lossy().as_bytes());
    format!("netra_{}", hex::encode(&digest[..10]))
}

/// Reads and increments a `meta` counter inside a transaction; ids stay dense and never repeat
/// because the increment commits with the record that uses the id.
fn next_id(meta: &kv::TransactionalTree<'_>, counter: &[u8]) -> TxResult<u64> {
    let current = match meta.get(counter)? {
        Some(bytes) => keys::u64_from_key(&bytes, "id counter")
            .map_err(|error| kv::ConflictableTransactionError::Abort(StoreError::Key(error)))?,
        None => 1,
    };
    meta.insert(counter, &keys::u64_key(current + 1))?;
    Ok(current)
}

/// Maps the error of a finished transaction to ours.
fn tx_error(action: &str) -> impl FnOnce(kv::TransactionError) -> StoreError + '_ {
    move |error| match error {
        kv::TransactionError::Abort(error) => error,
        kv::TransactionError::Storage(source) => StoreError::Backend {
            action: action.to_string(),
            source,
        },
    }
}
