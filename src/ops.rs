//! Operations around the store: backups with checksum files, the scheduled retention and backup
//! jobs of `serve`, and the export of one employee's data for an access request (UU PDP).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use jiff::Timestamp;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::config::{BackupConfig, RetentionConfig};
use crate::store::{AuditDraft, Store};

/// Writes a consistent dump to `path` and `path.sha256` beside it (`sha256sum -c` format).
/// Returns the record count and the hex digest.
pub fn export_with_checksum(store: &Store, path: &Path) -> anyhow::Result<(usize, String)> {
    let partial = path.with_extension("partial");
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let mut writer = HashingWriter {
        inner: std::io::BufWriter::new(file),
        hasher: Sha256::new(),
    };
    let count = store.export(&mut writer)?;
    writer
        .inner
        .flush()
        .with_context(|| format!("cannot write {}", partial.display()))?;
    writer
        .inner
        .get_ref()
        .sync_all()
        .with_context(|| format!("cannot sync {}", partial.display()))?;
    let digest = hex::encode(writer.hasher.finalize());
    std::fs::rename(&partial, path)
        .with_context(|| format!("cannot move the dump to {}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let checksum = checksum_path(path);
    std::fs::write(&checksum, format!("{digest}  {name}\n"))
        .with_context(|| format!("cannot write {}", checksum.display()))?;
    Ok((count, digest))
}

/// `backup.jsonl` → `backup.jsonl.sha256`.
pub fn checksum_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

/// Checks a dump against its `.sha256` file before it is restored.
pub fn verify_checksum(path: &Path) -> anyhow::Result<Option<bool>> {
    let checksum = checksum_path(path);
    let Ok(expected) = std::fs::read_to_string(&checksum) else {
        return Ok(None);
    };
    let expected = expected
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_lowercase();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Some(hex::encode(Sha256::digest(&bytes)) == expected))
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Runs retention every `config.interval` until `stop`.
pub async fn retention_loop(
    store: Store,
    config: RetentionConfig,
    mut stop: watch::Receiver<bool>,
) {
    // Not at the very start: a restart loop must not turn into a purge loop.
    if sleep_or_stop(config.interval.min(Duration::from_secs(600)), &mut stop).await {
        return;
    }
    loop {
        let store = store.clone();
        let policy = config.policy;
        let outcome =
            tokio::task::spawn_blocking(move || store.purge(policy, Timestamp::now())).await;
        match outcome {
            Ok(Ok(report)) => tracing::info!(
                findings = report.findings_purged.len(),
                cases = report.cases_purged.len(),
                activities = report.activities_minimised,
                payloads = report.payloads_deleted,
                "Retention ran."
            ),
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "Retention failed; it runs again later.")
            }
            Err(error) => tracing::warn!(error = %error, "The retention task failed."),
        }
        if sleep_or_stop(config.interval, &mut stop).await {
            return;
        }
    }
}

/// Writes an export into `config.dir` every `config.interval`, keeping the newest `keep`.
pub async fn backup_loop(store: Store, config: BackupConfig, mut stop: watch::Receiver<bool>) {
    let Some(dir) = config.dir.clone() else {
        return;
    };
    loop {
        if sleep_or_stop(config.interval, &mut stop).await {
            return;
        }
        let store = store.clone();
        let dir = dir.clone();
        let keep = config.keep;
        let outcome =
            tokio::task::spawn_blocking(move || scheduled_backup(&store, &dir, keep)).await;
        match outcome {
            Ok(Ok(path)) => tracing::info!(path = %path.display(), "Backup written."),
            Ok(Err(error)) => tracing::error!(error = %error, "Backup failed."),
            Err(error) => tracing::error!(error = %error, "The backup task failed."),
        }
    }
}

fn scheduled_backup(store: &Store, dir: &Path, keep: usize) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = format!(
        "netra-{}.jsonl",
        Timestamp::now().strftime("%Y%m%dT%H%M%SZ")
    );
    let path = dir.join(name);
    let (count, digest) = export_with_checksum(store, &path)?;
    store.audit(
        AuditDraft::new("system:backup", "export", path.display().to_string())
            .detail(format!("{count} rekaman, sha256 {digest}")),
        Timestamp::now(),
    )?;
    let mut dumps: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy().starts_with("netra-") && n.to_string_lossy().ends_with(".jsonl")
            })
        })
        .collect();
    dumps.sort();
    while dumps.len() > keep {
        let old = dumps.remove(0);
        let _ = std::fs::remove_file(checksum_path(&old));
        std::fs::remove_file(&old).with_context(|| format!("cannot delete {}", old.display()))?;
    }
    Ok(path)
}

/// True when stopped during the wait.
async fn sleep_or_stop(wait: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    let stopped = tokio::select! {
        _ = tokio::time::sleep(wait) => false,
        _ = stop.wait_for(|stopped| *stopped) => true,
    };
    stopped || *stop.borrow()
}

/// Everything Netra holds about one employee, for an access request (UU PDP Pasal 7): the
/// registry record, accounts, activities, findings with history, and cases. Audited.
pub fn employee_export(store: &Store, employee_id: &str, actor: &str) -> anyhow::Result<Value> {
    let employee = store
        .employee(employee_id)?
        .ok_or_else(|| anyhow::anyhow!("employee '{employee_id}' is not registered"))?;
    let accounts: Vec<_> = store
        .accounts()?
        .into_iter()
        .filter(|a| a.employee_id == employee_id)
        .collect();
    let account_ids: std::collections::HashSet<u64> = accounts.iter().map(|a| a.id.0).collect();
    let activities: Vec<_> = store
        .activities()?
        .into_iter()
        .filter(|a| account_ids.contains(&a.account_id.0))
        .collect();
    let mut findings = Vec::new();
    for finding in store.findings()? {
        if finding.employee_id == employee_id {
            let history = store.history(finding.id)?;
            findings.push(json!({"finding": finding, "history": history}));
        }
    }
    let cases: Vec<_> = store
        .cases()?
        .into_iter()
        .filter(|c| c.employee_id == employee_id)
        .collect();
    let now = Timestamp::now();
    store.audit(
        AuditDraft::new(actor, "employee.export", format!("employee:{employee_id}"))
            .detail("permintaan akses data pribadi"),
        now,
    )?;
    Ok(json!({
        "kind": "netra.personal_data_export.v1",
        "generated_at": now.to_string(),
        "employee": employee,
        "accounts": accounts,
        "activities": activities,
        "findings": findings,
        "cases": cases,
    }))
}
