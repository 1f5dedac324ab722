//! `netra store migrate`: copies a whole store, tree by tree and byte for byte, into an empty
//! store on another engine (sled → PostgreSQL when a deployment outgrows one machine), then
//! proves the copy: the same number of entries in every tree, and an audit chain that verifies
//! and ends at the same head.

use serde::Serialize;

use super::{Store, StoreError, TREE_NAMES};

/// Entries copied per transaction on the target.
const CHUNK: usize = 500;

/// What was copied, and the checks that passed.
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    /// Entries per tree, equal on both sides.
    pub trees: Vec<(String, usize)>,
    pub audit_entries: u64,
    pub audit_head_seq: u64,
    pub audit_head_hash: String,
}

impl std::fmt::Display for CopyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total: usize = self.trees.iter().map(|(_, n)| n).sum();
        write!(
            f,
            "copied {total} entries in {} trees; audit chain intact: {} entries, head {}:{}",
            self.trees.len(),
            self.audit_entries,
            self.audit_head_seq,
            self.audit_head_hash
        )
    }
}

impl Store {
    /// Copies every tree of this store into `target`, which must be empty, then checks counts
    /// and the audit chain on both sides. Nothing in this store changes; hold writers off it
    /// (stop `serve`) while it runs.
    pub fn copy_into(&self, target: &Store) -> Result<CopyReport, StoreError> {
        target.ensure_empty()?;
        let source_audit = self.verify_audit(None)?;
        if let Some(broken) = &source_audit.first_broken {
            return Err(StoreError::Invalid {
                what: "source store",
                reason: format!(
                    "its audit chain is broken at entry {} ({}); run `netra audit verify` \
                     and restore a backup before migrating",
                    broken.seq, broken.reason
                ),
            });
        }
        let _gate = self.write_gate();
        let mut trees = Vec::with_capacity(TREE_NAMES.len());
        for (name, _) in TREE_NAMES {
            let (Some(from), Some(to)) = (self.trees.by_name(name), target.trees.by_name(name))
            else {
                continue;
            };
            let mut copied = 0;
            let mut chunk = Vec::with_capacity(CHUNK);
            for entry in from.iter() {
                let (key, value) = entry.map_err(StoreError::backend(format!("reading {name}")))?;
                chunk.push((key.to_vec(), value.to_vec()));
                if chunk.len() == CHUNK {
                    copied += write_chunk(to, name, &mut chunk)?;
                }
            }
            copied += write_chunk(to, name, &mut chunk)?;
            let count = to
                .len()
                .map_err(StoreError::backend(format!("counting {name} in the copy")))?;
            if count != copied {
                return Err(StoreError::Invalid {
                    what: "copy",
                    reason: format!("tree '{name}': {copied} entries copied but {count} found"),
                });
            }
            trees.push((name.to_string(), copied));
        }
        target.flush()?;
        let copied_audit = target.verify_audit(None)?;
        if copied_audit.first_broken.is_some()
            || copied_audit.head_seq != source_audit.head_seq
            || copied_audit.head_hash != source_audit.head_hash
            || copied_audit.entries != source_audit.entries
        {
            return Err(StoreError::Invalid {
                what: "copy",
                reason: format!(
                    "the copied audit chain does not match the source's: source {} entries, \
                     head {}:{}; copy {} entries, head {}:{}",
                    source_audit.entries,
                    source_audit.head_seq,
                    source_audit.head_hash,
                    copied_audit.entries,
                    copied_audit.head_seq,
                    copied_audit.head_hash
                ),
            });
        }
        Ok(CopyReport {
            trees,
            audit_entries: copied_audit.entries,
            audit_head_seq: copied_audit.head_seq,
            audit_head_hash: copied_audit.head_hash,
        })
    }
}

fn write_chunk(
    to: &super::kv::Tree,
    name: &str,
    chunk: &mut Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<usize, StoreError> {
    let written = chunk.len();
    if written > 0 {
        to.insert_many(chunk)
            .map_err(StoreError::backend(format!("writing {name} to the copy")))?;
        chunk.clear();
    }
    Ok(written)
}
