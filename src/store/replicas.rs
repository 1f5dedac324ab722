//! Work shared between `netra serve` replicas on one PostgreSQL store (design §12): scan jobs
//! claimed with leases, and per-host request budgets that all replicas draw from.
//!
//! Each replica keeps its own scheduler (the polling policy is pure and local); before it
//! scans an account it claims the account's job row with `FOR UPDATE SKIP LOCKED`. The claim
//! succeeds only if the job is due and nobody holds a live lease on it, so a due account is
//! scanned by one replica per round. A replica that dies keeps its leases until they expire;
//! then another takes the job, and the stored cursor makes it resume where the dead one left.
//!
//! On sled there is one process: every claim is granted and every budget is local.

use std::time::Duration;

use jiff::Timestamp;

use super::kv::KvError;
use super::{Store, StoreError};
use crate::model::AccountId;

/// The answer to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanClaim {
    /// Scan it; finish with [`Store::finish_scan_claim`].
    Claimed,
    /// Another replica scanned it already; it is next due then.
    NotDue { due_at: Timestamp },
    /// Another replica is scanning it; its lease ends then.
    Leased { until: Timestamp },
}

const ENSURE_JOB: &str = "INSERT INTO netra_scan_jobs (account_id, due_at_ms) VALUES ($1, $2) \
     ON CONFLICT (account_id) DO NOTHING";
const CLAIM_JOB: &str = "UPDATE netra_scan_jobs SET holder = $2, lease_until_ms = $3 \
     WHERE account_id = (SELECT account_id FROM netra_scan_jobs \
        WHERE account_id = $1 AND ((due_at_ms <= $4 AND lease_until_ms <= $4) OR $5) \
        FOR UPDATE SKIP LOCKED) \
     RETURNING account_id";
const READ_JOB: &str =
    "SELECT due_at_ms, lease_until_ms FROM netra_scan_jobs WHERE account_id = $1";
const FINISH_JOB: &str = "UPDATE netra_scan_jobs \
     SET due_at_ms = $3, holder = NULL, lease_until_ms = 0 \
     WHERE account_id = $1 AND holder = $2";
/// Refills the bucket for the time since its last use (capacity: one minute's budget), then
/// takes one token if there is one. The row is created full on first use.
const TAKE_TOKEN: &str = "INSERT INTO netra_host_budgets AS b (host, tokens, updated_ms) \
     VALUES ($1, $2::float8 - 1, $3::bigint) \
     ON CONFLICT (host) DO UPDATE SET \
        tokens = LEAST($2, b.tokens + ($3 - b.updated_ms) * $2 / 60000.0) - 1, \
        updated_ms = $3 \
     WHERE LEAST($2, b.tokens + ($3 - b.updated_ms) * $2 / 60000.0) >= 1 \
     RETURNING tokens";

impl Store {
    /// Claims the scan of `account` for `holder` until `now + lease`. `force` claims it even
    /// if it is not due or another replica holds it (an operator's `scan --once --account` or
    /// `--all`, e.g. after a crash, when the dead replica's leases have not run out yet): a scan
    /// done twice costs requests, never a duplicate, since every write is deduplicated in the
    /// database.
    pub fn claim_scan(
        &self,
        account: AccountId,
        holder: &str,
        due_at: Timestamp,
        now: Timestamp,
        lease: Duration,
        force: bool,
    ) -> Result<ScanClaim, StoreError> {
        let Some(postgres) = self.engine.postgres() else {
            return Ok(ScanClaim::Claimed);
        };
        let failed = |error| StoreError::Backend {
            action: format!("claiming the scan of account {account}"),
            source: KvError::Postgres(error),
        };
        let id = account.0 as i64;
        let now_ms = now.as_millisecond();
        let until_ms = now_ms.saturating_add(lease.as_millis() as i64);
        postgres
            .rows(
                "creating a scan job",
                ENSURE_JOB,
                &[&id, &due_at.as_millisecond()],
            )
            .map_err(failed)?;
        let claimed = postgres
            .rows(
                "claiming a scan job",
                CLAIM_JOB,
                &[&id, &holder, &until_ms, &now_ms, &force],
            )
            .map_err(failed)?;
        if !claimed.is_empty() {
            return Ok(ScanClaim::Claimed);
        }
        let rows = postgres
            .rows("reading a scan job", READ_JOB, &[&id])
            .map_err(failed)?;
        let (due_ms, lease_ms): (i64, i64) = rows
            .first()
            .map(|row| (row.get(0), row.get(1)))
            .unwrap_or((now_ms, now_ms));
        let at = |ms: i64| Timestamp::from_millisecond(ms).unwrap_or(now);
        Ok(if lease_ms > now_ms {
            ScanClaim::Leased {
                until: at(lease_ms),
            }
        } else {
            // Locked by a claim in progress (skipped), or not due yet.
            ScanClaim::NotDue {
                due_at: at(due_ms.max(now_ms)),
            }
        })
    }

    /// Ends `holder`'s lease on `account`'s scan and records when it is next due, for every
    /// replica to see.
    pub fn finish_scan_claim(
        &self,
        account: AccountId,
        holder: &str,
        next_due_at: Timestamp,
    ) -> Result<(), StoreError> {
        let Some(postgres) = self.engine.postgres() else {
            return Ok(());
        };
        let id = account.0 as i64;
        postgres
            .rows(
                "finishing a scan job",
                FINISH_JOB,
                &[&id, &holder, &next_due_at.as_millisecond()],
            )
            .map(|_| ())
            .map_err(|error| StoreError::Backend {
                action: format!("finishing the scan of account {account}"),
                source: KvError::Postgres(error),
            })
    }

    /// Takes one request from `host`'s budget shared by every replica (`per_minute` requests
    /// a minute, at most a minute's worth saved up). On sled the local scheduler's budget is
    /// the only one, so this always grants.
    pub fn take_host_token(
        &self,
        host: &str,
        per_minute: f64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(postgres) = self.engine.postgres() else {
            return Ok(true);
        };
        let rows = postgres
            .rows(
                "taking a request from a host budget",
                TAKE_TOKEN,
                &[&host, &per_minute.max(1.0), &now.as_millisecond()],
            )
            .map_err(|error| StoreError::Backend {
                action: format!("taking a request from the budget of {host}"),
                source: KvError::Postgres(error),
            })?;
        Ok(!rows.is_empty())
    }
}
