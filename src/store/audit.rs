//! The audit log: an append-only, hash-chained record of every change and every read of
//! evidence, written in the same transaction as the thing it records.
//!
//! Entry `n` stores `hash_n = SHA-256(hash_{n-1} ‖ n as u64 big-endian ‖ canonical JSON of the
//! entry's fields)`, with `hash_0` all zeros. The head `(n, hash_n)` lives in `meta`, so a
//! removed entry (a gap), an edited one (a hash that no longer follows) and a cut tail (a head
//! past the last entry) are all found by [`Store::verify_audit`]. A history rewritten from the
//! start is only caught against a head recorded elsewhere: `netra audit verify --checkpoint`.

use super::kv::Transactional;
use super::kv::{ConflictableTransactionError, TransactionalTree};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{codec, keys, tx_error, Store, StoreError, TxResult};

const META_AUDIT_HEAD: &[u8] = b"audit_head";

/// What a caller records; the store adds the sequence number, time and chain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditDraft {
    /// `user:<id>:<name>`, `cli`, or `system:<job>`.
    pub actor: String,
    /// Dotted verb: `finding.decide`, `evidence.read`, `user.add`, `ingest`, ...
    pub action: String,
    /// What it was done to: `finding:12`, `user:3`, `account:7`.
    pub target: String,
    /// Hex SHA-256 of the record before and after the change, when there is one.
    pub before: Option<String>,
    pub after: Option<String>,
    /// A short human-readable detail; never a secret.
    pub detail: Option<String>,
}

impl AuditDraft {
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        target: impl Into<String>,
    ) -> AuditDraft {
        AuditDraft {
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            ..AuditDraft::default()
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> AuditDraft {
        self.detail = Some(detail.into());
        self
    }

    /// Records the digests of a record before and after (either may be absent).
    pub fn change<B: Serialize, A: Serialize>(
        mut self,
        before: Option<&B>,
        after: Option<&A>,
    ) -> AuditDraft {
        self.before = before.map(record_digest);
        self.after = after.map(record_digest);
        self
    }
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub detail: Option<String>,
    /// Hex hash of the previous entry (all zeros for the first).
    pub prev: String,
    /// Hex hash of this entry.
    pub hash: String,
}

/// The fields the hash covers, in a fixed order.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: u64,
    at: Timestamp,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    before: &'a Option<String>,
    after: &'a Option<String>,
    detail: &'a Option<String>,
}

fn chain_hash(prev: &[u8; 32], entry: &AuditEntry) -> [u8; 32] {
    let body = serde_json::to_vec(&Hashed {
        seq: entry.seq,
        at: entry.at,
        actor: &entry.actor,
        action: &entry.action,
        target: &entry.target,
        before: &entry.before,
        after: &entry.after,
        detail: &entry.detail,
    })
    .expect("audit fields serialise");
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(entry.seq.to_be_bytes());
    hasher.update(&body);
    hasher.finalize().into()
}

/// Hex SHA-256 of a record's JSON, for `before`/`after`.
pub fn record_digest<T: Serialize>(record: &T) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(record).unwrap_or_default(),
    ))
}

fn parse_head(bytes: &[u8]) -> Option<(u64, [u8; 32])> {
    if bytes.len() != 40 {
        return None;
    }
    let seq = u64::from_be_bytes(bytes[..8].try_into().ok()?);
    let hash: [u8; 32] = bytes[8..].try_into().ok()?;
    Some((seq, hash))
}

fn corrupt_head() -> StoreError {
    StoreError::Corrupt {
        tree: "meta",
        key_hex: hex::encode(META_AUDIT_HEAD),
        reason: "the audit head is not 40 bytes".into(),
    }
}

/// Appends an entry inside a transaction that also holds `meta` and `audit`.
pub(super) fn append(
    meta: &TransactionalTree,
    audit: &TransactionalTree,
    draft: &AuditDraft,
    at: Timestamp,
) -> TxResult<AuditEntry> {
    let (last_seq, last_hash) = match meta.get(META_AUDIT_HEAD)? {
        Some(bytes) => {
            parse_head(&bytes).ok_or_else(|| ConflictableTransactionError::Abort(corrupt_head()))?
        }
        None => (0, [0u8; 32]),
    };
    let mut entry = AuditEntry {
        seq: last_seq + 1,
        at,
        actor: draft.actor.clone(),
        action: draft.action.clone(),
        target: draft.target.clone(),
        before: draft.before.clone(),
        after: draft.after.clone(),
        detail: draft.detail.clone(),
        prev: hex::encode(last_hash),
        hash: String::new(),
    };
    let hash = chain_hash(&last_hash, &entry);
    entry.hash = hex::encode(hash);
    audit.insert(keys::u64_key(entry.seq), codec::encode(&entry))?;
    let mut head = Vec::with_capacity(40);
    head.extend_from_slice(&entry.seq.to_be_bytes());
    head.extend_from_slice(&hash);
    meta.insert(META_AUDIT_HEAD, head)?;
    Ok(entry)
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Entries read.
    pub entries: u64,
    /// The head recorded in `meta`: publish it elsewhere to catch a rewritten history later.
    pub head_seq: u64,
    pub head_hash: String,
    /// The first broken link, if any.
    pub first_broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub seq: u64,
    pub reason: String,
}

impl Store {
    /// Appends one entry on its own (for actions with no other write, such as reading evidence).
    pub fn audit(&self, draft: AuditDraft, at: Timestamp) -> Result<AuditEntry, StoreError> {
        let _gate = self.read_gate();
        let entry = (&self.trees.meta, &self.trees.audit)
            .transaction(|(meta, audit)| append(meta, audit, &draft, at))
            .map_err(tx_error("appending to the audit log"))?;
        self.flush()?;
        Ok(entry)
    }

    /// Entries from `after_seq` (exclusive), oldest first, at most `limit`.
    pub fn audit_entries(
        &self,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees.audit.range(keys::u64_key(after_seq + 1)..) {
            let (key, value) = item.map_err(StoreError::backend("reading the audit log"))?;
            out.push(codec::decode("audit", &key, &value)?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Walks the whole chain and reports the first entry that does not follow from the one
    /// before it. `checkpoint`, a `(seq, hash)` recorded outside the store, must still match.
    pub fn verify_audit(&self, checkpoint: Option<(u64, &str)>) -> Result<AuditReport, StoreError> {
        let _gate = self.read_gate();
        let (head_seq, head_hash) = match self
            .trees
            .meta
            .get(META_AUDIT_HEAD)
            .map_err(StoreError::backend("reading the audit head"))?
        {
            Some(bytes) => parse_head(&bytes).ok_or_else(corrupt_head)?,
            None => (0, [0u8; 32]),
        };
        let mut report = AuditReport {
            entries: 0,
            head_seq,
            head_hash: hex::encode(head_hash),
            first_broken: None,
        };
        let mut expected_seq = 1u64;
        let mut prev = [0u8; 32];
        let broken = |seq: u64, reason: String| Some(BrokenLink { seq, reason });
        for item in self.trees.audit.iter() {
            let (key, value) = item.map_err(StoreError::backend("reading the audit log"))?;
            report.entries += 1;
            let key_seq = keys::u64_from_key(&key, "audit sequence").unwrap_or(0);
            if key_seq != expected_seq {
                report.first_broken = broken(
                    expected_seq,
                    format!("entry {expected_seq} is missing (next stored entry is {key_seq})"),
                );
                return Ok(report);
            }
            let entry: AuditEntry = match codec::decode("audit", &key, &value) {
                Ok(entry) => entry,
                Err(error) => {
                    report.first_broken = broken(key_seq, format!("unreadable: {error}"));
                    return Ok(report);
                }
            };
            let computed = chain_hash(&prev, &entry);
            if entry.seq != key_seq
                || entry.prev != hex::encode(prev)
                || entry.hash != hex::encode(computed)
            {
                report.first_broken = broken(
                    key_seq,
                    "its hash does not follow from its content and the entry before it (edited?)"
                        .into(),
                );
                return Ok(report);
            }
            if let Some((seq, hash)) = checkpoint {
                if seq == key_seq && !entry.hash.eq_ignore_ascii_case(hash) {
                    report.first_broken = broken(
                        seq,
                        "differs from the external checkpoint (history rewritten?)".into(),
                    );
                    return Ok(report);
                }
            }
            prev = computed;
            expected_seq += 1;
        }
        let last = expected_seq - 1;
        if head_seq != last || head_hash != prev {
            report.first_broken = broken(
                last + 1,
                format!(
                    "the log ends at entry {last} but the recorded head is entry {head_seq} \
                     (entries cut from the end?)"
                ),
            );
        } else if let Some((seq, _)) = checkpoint {
            if seq > last {
                report.first_broken = broken(
                    seq,
                    format!("the checkpoint names entry {seq} but the log ends at {last}"),
                );
            }
        }
        Ok(report)
    }
}
