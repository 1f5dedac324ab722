//! The engine under the store: ordered trees of byte keys and byte values, read one key at a
//! time or by key range, changed in multi-tree transactions. Two engines provide it:
//!
//! - **sled** (embedded, the default): each tree is a sled tree;
//! - **PostgreSQL** (several replicas sharing one database, design §12): each tree is the rows
//!   of one table `netra_kv(tree, key, value)` with the primary key `(tree, key)`, so every
//!   index tree's key (dedupe keys among them) is a unique constraint, and a transaction is a
//!   `SERIALIZABLE` transaction retried on serialisation failures the way sled retries on
//!   conflicts ([`super::postgres`]).
//!
//! Everything above this module is written once against these types: the same key layout, the
//! same transactions, on either engine. The method names and shapes follow sled's, so store code
//! reads as it did when it spoke to sled directly.

use std::collections::VecDeque;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use super::postgres::{KeyValue, PgError, PgTx, Postgres};
use super::StoreError;

/// Values and keys as they come back from either engine (sled's cheap shared byte buffer).
pub use sled::IVec;

/// A failure of the engine itself (I/O, connection, protocol), as opposed to bad data.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] PgError),
    #[error("trees of two different databases cannot share a transaction")]
    MixedEngines,
}

/// The open database: one of the two engines.
#[derive(Clone)]
pub enum Engine {
    Sled(sled::Db),
    Postgres(Arc<Postgres>),
}

impl Engine {
    pub fn open_tree(&self, name: &'static str) -> Result<Tree, KvError> {
        let inner = match self {
            Engine::Sled(db) => TreeInner::Sled(db.open_tree(name)?),
            Engine::Postgres(pg) => TreeInner::Postgres(pg.clone()),
        };
        Ok(Tree { name, inner })
    }

    /// Makes committed writes durable. PostgreSQL commits are durable already
    /// (`synchronous_commit`), so only sled has work to do.
    pub fn flush(&self) -> Result<(), KvError> {
        match self {
            Engine::Sled(db) => db.flush().map(|_| ()).map_err(KvError::from),
            Engine::Postgres(_) => Ok(()),
        }
    }

    pub fn size_on_disk(&self) -> Result<u64, KvError> {
        match self {
            Engine::Sled(db) => Ok(db.size_on_disk()?),
            Engine::Postgres(pg) => Ok(pg.size_on_disk()?),
        }
    }

    pub fn postgres(&self) -> Option<&Arc<Postgres>> {
        match self {
            Engine::Sled(_) => None,
            Engine::Postgres(pg) => Some(pg),
        }
    }
}

/// One ordered map of the store (see the table in the store's module docs).
#[derive(Clone)]
pub struct Tree {
    name: &'static str,
    inner: TreeInner,
}

#[derive(Clone)]
enum TreeInner {
    Sled(sled::Tree),
    Postgres(Arc<Postgres>),
}

impl Tree {
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<IVec>, KvError> {
        match &self.inner {
            TreeInner::Sled(tree) => Ok(tree.get(key)?),
            TreeInner::Postgres(pg) => Ok(pg.get(self.name, key.as_ref())?.map(IVec::from)),
        }
    }

    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool, KvError> {
        Ok(self.get(key)?.is_some())
    }

    /// Sets `key` to `value`, returning the value it replaced.
    pub fn insert(
        &self,
        key: impl AsRef<[u8]>,
        value: impl Into<IVec>,
    ) -> Result<Option<IVec>, KvError> {
        let value: IVec = value.into();
        match &self.inner {
            TreeInner::Sled(tree) => Ok(tree.insert(key.as_ref(), value)?),
            TreeInner::Postgres(pg) => {
                Ok(pg.insert(self.name, key.as_ref(), &value)?.map(IVec::from))
            }
        }
    }

    /// Sets `key` to `value` only if it has no value yet; tells whether it did. Two processes
    /// racing here both end up reading the first value written.
    pub fn insert_if_absent(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<bool, KvError> {
        match &self.inner {
            TreeInner::Sled(tree) => Ok(tree
                .compare_and_swap(key, None as Option<&[u8]>, Some(value.as_ref()))?
                .is_ok()),
            TreeInner::Postgres(pg) => {
                Ok(pg.insert_if_absent(self.name, key.as_ref(), value.as_ref())?)
            }
        }
    }

    /// Writes many entries atomically (one sled batch, one PostgreSQL transaction).
    pub fn insert_many(&self, entries: &[KeyValue]) -> Result<(), KvError> {
        match &self.inner {
            TreeInner::Sled(tree) => {
                let mut batch = sled::Batch::default();
                for (key, value) in entries {
                    batch.insert(key.as_slice(), value.as_slice());
                }
                Ok(tree.apply_batch(batch)?)
            }
            TreeInner::Postgres(pg) => Ok(pg.insert_many(self.name, entries)?),
        }
    }

    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<IVec>, KvError> {
        match &self.inner {
            TreeInner::Sled(tree) => Ok(tree.remove(key)?),
            TreeInner::Postgres(pg) => Ok(pg.remove(self.name, key.as_ref())?.map(IVec::from)),
        }
    }

    /// Removes every entry.
    pub fn clear(&self) -> Result<(), KvError> {
        match &self.inner {
            TreeInner::Sled(tree) => Ok(tree.clear()?),
            TreeInner::Postgres(pg) => Ok(pg.clear(self.name)?),
        }
    }

    /// Number of entries (sled walks the whole tree for this).
    pub fn len(&self) -> Result<usize, KvError> {
        match &self.inner {
            TreeInner::Sled(tree) => Ok(tree.len()),
            TreeInner::Postgres(pg) => Ok(pg.count(self.name)?),
        }
    }

    pub fn is_empty(&self) -> Result<bool, KvError> {
        Ok(self.first()?.is_none())
    }

    /// The entry with the smallest key.
    pub fn first(&self) -> Result<Option<(IVec, IVec)>, KvError> {
        self.iter().next().transpose()
    }

    /// Every entry in key order.
    pub fn iter(&self) -> Iter {
        self.range::<&[u8], _>(..)
    }

    /// The entries whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        let prefix = prefix.as_ref();
        match &self.inner {
            TreeInner::Sled(tree) => Iter(IterInner::Sled(tree.scan_prefix(prefix))),
            TreeInner::Postgres(_) => {
                let upper = match prefix_successor(prefix) {
                    Some(end) => Bound::Excluded(end),
                    None => Bound::Unbounded,
                };
                self.range_bounds(Bound::Included(prefix.to_vec()), upper)
            }
        }
    }

    /// The entries whose key lies in `range`, in key order (or reversed with `.rev()`).
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        let owned = |bound: Bound<&K>| match bound {
            Bound::Included(key) => Bound::Included(key.as_ref().to_vec()),
            Bound::Excluded(key) => Bound::Excluded(key.as_ref().to_vec()),
            Bound::Unbounded => Bound::Unbounded,
        };
        self.range_bounds(owned(range.start_bound()), owned(range.end_bound()))
    }

    fn range_bounds(&self, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> Iter {
        match &self.inner {
            TreeInner::Sled(tree) => Iter(IterInner::Sled(tree.range((lower, upper)))),
            TreeInner::Postgres(pg) => Iter(IterInner::Postgres(PgIter {
                pg: pg.clone(),
                tree: self.name,
                lower: lower_as_inclusive(lower),
                upper: upper_as_exclusive(upper),
                front: VecDeque::new(),
                back: VecDeque::new(),
                exhausted: false,
            })),
        }
    }

    /// Runs `work` as a transaction on this tree alone (see [`Transactional`]).
    pub fn transaction<R>(
        &self,
        work: impl Fn(&TransactionalTree<'_>) -> TxResult<R>,
    ) -> Result<R, TransactionError> {
        (self,).transaction(|(tree,)| work(tree))
    }

    fn sled(&self) -> Result<&sled::Tree, KvError> {
        match &self.inner {
            TreeInner::Sled(tree) => Ok(tree),
            TreeInner::Postgres(_) => Err(KvError::MixedEngines),
        }
    }
}

/// The smallest key greater than every key starting with `prefix`, if there is one.
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Key ranges for PostgreSQL as `lower <= key` (the empty key is the smallest of all) ...
fn lower_as_inclusive(bound: Bound<Vec<u8>>) -> Vec<u8> {
    match bound {
        Bound::Included(key) => key,
        // The next key after `k` in byte order is `k · 0x00`.
        Bound::Excluded(mut key) => {
            key.push(0);
            key
        }
        Bound::Unbounded => Vec::new(),
    }
}

/// ... and `key < upper`, with no upper bound as `None`.
fn upper_as_exclusive(bound: Bound<Vec<u8>>) -> Option<Vec<u8>> {
    match bound {
        Bound::Included(mut key) => {
            key.push(0);
            Some(key)
        }
        Bound::Excluded(key) => Some(key),
        Bound::Unbounded => None,
    }
}

/// Entries of a tree in key order, from either end. On PostgreSQL, pages of rows are fetched
/// as they are needed, so a long walk never holds a connection or a snapshot.
pub struct Iter(IterInner);

enum IterInner {
    Sled(sled::Iter),
    Postgres(PgIter),
}

type Entry = Result<(IVec, IVec), KvError>;

impl Iterator for Iter {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        match &mut self.0 {
            IterInner::Sled(iter) => iter.next().map(|item| item.map_err(KvError::from)),
            IterInner::Postgres(iter) => iter.next_entry(Direction::Forward),
        }
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Entry> {
        match &mut self.0 {
            IterInner::Sled(iter) => iter.next_back().map(|item| item.map_err(KvError::from)),
            IterInner::Postgres(iter) => iter.next_entry(Direction::Backward),
        }
    }
}

impl Iter {
    pub fn keys(self) -> impl DoubleEndedIterator<Item = Result<IVec, KvError>> {
        self.map(|entry| entry.map(|(key, _)| key))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

/// Rows still to visit lie in `lower <= key < upper`; rows fetched but not yet handed out wait
/// in `front` (ascending) or `back` (descending).
struct PgIter {
    pg: Arc<Postgres>,
    tree: &'static str,
    lower: Vec<u8>,
    upper: Option<Vec<u8>>,
    front: VecDeque<(IVec, IVec)>,
    back: VecDeque<(IVec, IVec)>,
    exhausted: bool,
}

/// Rows per round trip while walking a tree.
const PAGE_ROWS: i64 = 256;

impl PgIter {
    fn next_entry(&mut self, direction: Direction) -> Option<Entry> {
        if let Some(entry) = self.buffer(direction).pop_front() {
            return Some(Ok(entry));
        }
        if !self.exhausted {
            let page = self.pg.range(
                self.tree,
                &self.lower,
                self.upper.as_deref(),
                direction,
                PAGE_ROWS,
            );
            match page {
                Err(error) => {
                    self.exhausted = true;
                    return Some(Err(error.into()));
                }
                Ok(rows) if rows.is_empty() => self.exhausted = true,
                Ok(rows) => {
                    if let Some((last_key, _)) = rows.last() {
                        match direction {
                            Direction::Forward => {
                                self.lower = last_key.clone();
                                self.lower.push(0);
                            }
                            Direction::Backward => self.upper = Some(last_key.clone()),
                        }
                    }
                    let buffer = self.buffer(direction);
                    buffer.extend(
                        rows.into_iter()
                            .map(|(key, value)| (IVec::from(key), IVec::from(value))),
                    );
                    return buffer.pop_front().map(Ok);
                }
            }
        }
        // Nothing is left between the bounds: what remains was fetched by the other end.
        let other = match direction {
            Direction::Forward => Direction::Backward,
            Direction::Backward => Direction::Forward,
        };
        self.buffer(other).pop_back().map(Ok)
    }

    /// Rows fetched for `direction`, nearest first.
    fn buffer(&mut self, direction: Direction) -> &mut VecDeque<(IVec, IVec)> {
        match direction {
            Direction::Forward => &mut self.front,
            Direction::Backward => &mut self.back,
        }
    }
}

/// Why a transaction closure stopped early.
pub enum ConflictableTransactionError {
    /// The closure's own decision: roll back and return this error.
    Abort(StoreError),
    /// Another writer got there first: run the closure again.
    Conflict,
    /// The engine failed.
    Storage(KvError),
}

/// What a transaction closure returns.
pub type TxResult<T> = Result<T, ConflictableTransactionError>;

/// How a finished transaction failed.
#[derive(Debug)]
pub enum TransactionError {
    Abort(StoreError),
    Storage(KvError),
}

impl ConflictableTransactionError {
    fn into_sled(self) -> sled::transaction::ConflictableTransactionError<StoreError> {
        use sled::transaction::ConflictableTransactionError as Sled;
        match self {
            ConflictableTransactionError::Abort(error) => Sled::Abort(error),
            ConflictableTransactionError::Conflict => Sled::Conflict,
            ConflictableTransactionError::Storage(KvError::Sled(error)) => Sled::Storage(error),
            ConflictableTransactionError::Storage(error) => Sled::Abort(StoreError::Backend {
                action: "running a transaction".into(),
                source: error,
            }),
        }
    }
}

impl From<sled::transaction::UnabortableTransactionError> for ConflictableTransactionError {
    fn from(error: sled::transaction::UnabortableTransactionError) -> Self {
        match error {
            sled::transaction::UnabortableTransactionError::Conflict => {
                ConflictableTransactionError::Conflict
            }
            sled::transaction::UnabortableTransactionError::Storage(error) => {
                ConflictableTransactionError::Storage(KvError::Sled(error))
            }
        }
    }
}

impl From<sled::transaction::TransactionError<StoreError>> for TransactionError {
    fn from(error: sled::transaction::TransactionError<StoreError>) -> Self {
        match error {
            sled::transaction::TransactionError::Abort(error) => TransactionError::Abort(error),
            sled::transaction::TransactionError::Storage(error) => {
                TransactionError::Storage(KvError::Sled(error))
            }
        }
    }
}

/// One tree as seen from inside a transaction: reads see the transaction's own writes.
pub enum TransactionalTree<'t> {
    Sled(&'t sled::transaction::TransactionalTree),
    Postgres {
        tx: &'t PgTx<'t>,
        tree: &'static str,
    },
}

impl TransactionalTree<'_> {
    pub fn get(&self, key: impl AsRef<[u8]>) -> TxResult<Option<IVec>> {
        match self {
            TransactionalTree::Sled(tree) => Ok(tree.get(key)?),
            TransactionalTree::Postgres { tx, tree } => {
                Ok(tx.get(tree, key.as_ref())?.map(IVec::from))
            }
        }
    }

    /// Sets `key`; returns the value it replaced.
    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl Into<IVec>) -> TxResult<Option<IVec>> {
        let value: IVec = value.into();
        match self {
            TransactionalTree::Sled(tree) => Ok(tree.insert(key.as_ref(), value)?),
            TransactionalTree::Postgres { tx, tree } => {
                Ok(tx.insert(tree, key.as_ref(), &value)?.map(IVec::from))
            }
        }
    }

    pub fn remove(&self, key: impl AsRef<[u8]>) -> TxResult<Option<IVec>> {
        match self {
            TransactionalTree::Sled(tree) => Ok(tree.remove(key.as_ref())?),
            TransactionalTree::Postgres { tx, tree } => {
                Ok(tx.remove(tree, key.as_ref())?.map(IVec::from))
            }
        }
    }
}

/// A set of trees changed together: all of a closure's writes commit, or none. The closure may
/// run more than once (after a conflict with another writer), so it must not have side effects
/// beyond its trees: no I/O, no scans.
pub trait Transactional {
    type View<'t>;

    fn transaction<R>(
        &self,
        work: impl Fn(&Self::View<'_>) -> TxResult<R>,
    ) -> Result<R, TransactionError>;
}

macro_rules! tuple_transactional {
    ($($index:tt),+) => {
        impl Transactional for ($(tuple_transactional!(@tree $index),)+) {
            type View<'t> = ($(tuple_transactional!(@view 't $index),)+);

            fn transaction<R>(
                &self,
                work: impl Fn(&Self::View<'_>) -> TxResult<R>,
            ) -> Result<R, TransactionError> {
                match &self.0.inner {
                    TreeInner::Sled(_) => {
                        let trees = ($(self.$index.sled().map_err(TransactionError::Storage)?,)+);
                        sled::Transactional::transaction(&trees, |view| {
                            let view = ($(TransactionalTree::Sled(&view.$index),)+);
                            work(&view).map_err(ConflictableTransactionError::into_sled)
                        })
                        .map_err(TransactionError::from)
                    }
                    TreeInner::Postgres(pg) => pg.transaction(|tx| {
                        let view = ($(TransactionalTree::Postgres { tx, tree: self.$index.name },)+);
                        work(&view)
                    }),
                }
            }
        }
    };
    (@tree $index:tt) => { &Tree };
    (@view $lifetime:lifetime $index:tt) => { TransactionalTree<$lifetime> };
}

tuple_transactional!(0);
tuple_transactional!(0, 1);
tuple_transactional!(0, 1, 2);
tuple_transactional!(0, 1, 2, 3);
tuple_transactional!(0, 1, 2, 3, 4);
tuple_transactional!(0, 1, 2, 3, 4, 5);
tuple_transactional!(0, 1, 2, 3, 4, 5, 6);
tuple_transactional!(0, 1, 2, 3, 4, 5, 6, 7);
tuple_transactional!(0, 1, 2, 3, 4, 5, 6, 7, 8);
tuple_transactional!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
tuple_transactional!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
tuple_transactional!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
tuple_transactional!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
tuple_transactional!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_skips_trailing_ff() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 255]), Some(vec![2]));
        assert_eq!(prefix_successor(&[255, 255]), None);
        assert_eq!(prefix_successor(b""), None);
    }

    #[test]
    fn bounds_become_half_open() {
        assert_eq!(lower_as_inclusive(Bound::Excluded(vec![5])), vec![5, 0]);
        assert_eq!(lower_as_inclusive(Bound::Unbounded), Vec::<u8>::new());
        assert_eq!(
            upper_as_exclusive(Bound::Included(vec![5])),
            Some(vec![5, 0])
        );
        assert_eq!(upper_as_exclusive(Bound::Unbounded), None);
    }
}
