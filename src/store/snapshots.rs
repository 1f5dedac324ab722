//! Account snapshots (following list and profile, see [`crate::snapshots`]) and the deletion
//! re-checks of flagged posts.

use jiff::Timestamp;

use super::audit::{self, AuditDraft};
use super::kv::Transactional;
use super::records::{abort, decode_tx};

use super::{codec, keys, tx_error, Store, StoreError};
use crate::model::{AccountId, Finding, FindingId, Presence, SnapshotState};

impl Store {
    /// The last snapshot of a registered account, if one was ever stored.
    pub fn snapshot_state(&self, id: AccountId) -> Result<Option<SnapshotState>, StoreError> {
        self.get_record("snapshots", &self.trees.snapshots, &keys::account(id))
    }

    /// Records whether the account hides whom it follows, so registrars see why no follows
    /// are reported for it. Changes nothing (and writes nothing) when already so.
    pub fn set_following_hidden(&self, id: AccountId, hidden: bool) -> Result<(), StoreError> {
        let changed = self.change_account(
            id,
            "saving whether an account hides its following list",
            |account| {
                if account.following_hidden == hidden {
                    return false;
                }
                account.following_hidden = hidden;
                true
            },
        )?;
        if changed {
            self.registry_changed();
        }
        Ok(())
    }

    /// Records a re-check of a flagged post: `last_seen_at` moves when it is still there; the
    /// first time it is gone, `gone_at` is set and the audit log says so (in the same
    /// transaction). Evidence is never touched. Returns the finding as stored.
    pub fn record_presence(
        &self,
        id: FindingId,
        presence: Presence,
        now: Timestamp,
    ) -> Result<Finding, StoreError> {
        let key = keys::finding(id);
        let trees = &self.trees;
        let _gate = self.read_gate();
        let finding = (&trees.meta, &trees.audit, &trees.findings)
            .transaction(|(meta, audit_tree, findings)| {
                let Some(bytes) = findings.get(key)? else {
                    return abort(StoreError::NotFound {
                        what: "finding",
                        id: id.to_string(),
                    });
                };
                let before: Finding = decode_tx("findings", &key, &bytes)?;
                let mut after = before.clone();
                match presence {
                    Presence::Present => after.last_seen_at = Some(now),
                    Presence::Gone if before.gone_at.is_some() => return Ok(before),
                    Presence::Gone => {
                        after.gone_at = Some(now);
                        let draft = AuditDraft::new(
                            "system:recheck",
                            "finding.evidence_gone",
                            format!("finding:{id}"),
                        )
                        .change(Some(&before.gone_at), Some(&after.gone_at))
                        .detail(format!(
                            "unggahan {} tidak lagi tersedia; bukti tersimpan tetap utuh",
                            before.platform_activity_id
                        ));
                        audit::append(meta, audit_tree, &draft, now)?;
                    }
                }
                findings.insert(key, codec::encode(&after))?;
                Ok(after)
            })
            .map_err(tx_error("recording a re-check"))?;
        self.flush()?;
        Ok(finding)
    }
}
