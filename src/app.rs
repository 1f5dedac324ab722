//! Wiring: open the store once, compile the word lists, build the connectors, and run the
//! long-lived commands (`serve`, `scan --once`) and the ones that feed or read the store
//! (`import-activities`, `watched import`, `findings list`).
//!
//! Signals: the first SIGINT or SIGTERM asks everything to stop and waits up to
//! `scan.shutdown_grace_secs`; a second one exits at once (exit code 130), as an operator who
//! presses Ctrl-C twice means it.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use jiff::Timestamp;
use serde_json::json;
use tokio::sync::watch;

use crate::config::Loaded;
use crate::daemon::{Daemon, Summary};
use crate::http::AppState;
use crate::judging::WordListJudge;
use crate::metrics::Metrics;
use crate::model::{AccountId, Employee, ReviewState, UnitPath};
use crate::pipeline::{Judge, Pipeline};
use crate::sources::{jsonl, Sources};
use crate::store::{ActivityRecord, Ingest, Store};

/// Exit code when input was rejected (bad rows or lines).
pub const EXIT_REJECTED: u8 = 3;

/// The word-list judge for a configuration.
pub fn build_judge(loaded: &Loaded) -> anyhow::Result<Arc<WordListJudge>> {
    let (lexicon, rules) = crate::detect::commands::load(&loaded.config.detect)?;
    Ok(Arc::new(WordListJudge::new(
        Arc::new(lexicon),
        Arc::new(rules),
        loaded.config.detect.review_threshold,
    )))
}

/// Everything a scan needs, around an already open store.
pub fn build_pipeline(loaded: &Loaded, store: Store, metrics: Metrics) -> anyhow::Result<Pipeline> {
    build_pipeline_with(loaded, store, metrics, build_judge(loaded)?)
}

/// A pipeline around an already compiled judge (shared with the HTTP API by `serve`).
pub fn build_pipeline_with(
    loaded: &Loaded,
    store: Store,
    metrics: Metrics,
    judge: Arc<WordListJudge>,
) -> anyhow::Result<Pipeline> {
    let sources = Sources::from_config(&loaded.config).context("cannot build the HTTP client")?;
    Ok(Pipeline {
        store,
        sources,
        judge,
        metrics,
        backfill: loaded.config.scan.backfill,
        reverse_window: loaded.config.scan.reverse_window,
        snapshot_interval: loaded.config.scan.snapshot_interval,
        recheck_interval: loaded.config.scan.recheck_interval,
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `netra scan --once [--account ID | --all]`.
pub fn scan_once(
    loaded: &Loaded,
    store: Store,
    only: Option<u64>,
    all: bool,
) -> anyhow::Result<Summary> {
    let pipeline = build_pipeline(loaded, store, Metrics::new())?;
    let daemon = Daemon::new(&loaded.config, pipeline);
    let summary = runtime()?.block_on(daemon.scan_once(only.map(AccountId), all))?;
    Ok(summary)
}

/// Resolves when SIGINT or SIGTERM arrives; a second signal ends the process at once.
async fn first_signal() {
    wait_for_signal().await;
    tokio::spawn(async {
        wait_for_signal().await;
        eprintln!("second signal: exiting now");
        std::process::exit(130);
    });
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(error = %error, "Cannot listen for SIGTERM; only Ctrl-C stops Netra.");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `netra serve`: the daemon and the HTTP server until a signal.
pub fn serve(loaded: &Loaded, store: Store) -> anyhow::Result<Summary> {
    runtime()?.block_on(serve_until_signal(loaded, store))
}

/// The daemon, the HTTP server and alert delivery, until SIGINT or SIGTERM (`serve`, `demo`).
pub async fn serve_until_signal(loaded: &Loaded, store: Store) -> anyhow::Result<Summary> {
    let metrics = Metrics::new();
    let judge = build_judge(loaded)?;
    let pipeline = build_pipeline_with(loaded, store.clone(), metrics.clone(), judge.clone())?;
    let daemon = Daemon::new(&loaded.config, pipeline);
    let alerts =
        crate::alerts::Worker::new(store.clone(), loaded.config.alerts.clone(), metrics.clone());
    let state = http_state(loaded, store, metrics, judge)?;
    let listen = loaded.config.http.listen;
    let limits = crate::http::server::Limits::from_config(&loaded.config.http);
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        first_signal().await;
        tracing::info!("Signal received: stopping.");
        let _ = stop_tx.send(true);
    });
    // Alert delivery runs beside the daemon and stops on the same signal (issue #8).
    let alerts = tokio::spawn(alerts.run(stop_rx.clone()));
    let summary = serve_until(daemon, state, listen, limits, stop_rx).await;
    if tokio::time::timeout(std::time::Duration::from_secs(5), alerts)
        .await
        .is_err()
    {
        tracing::warn!("Alert delivery did not stop in time.");
    }
    summary
}

/// Runs the daemon and the HTTP server until `stop` turns true (tests pass their own).
pub async fn serve_until(
    daemon: Daemon,
    state: AppState,
    listen: std::net::SocketAddr,
    limits: crate::http::server::Limits,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Summary> {
    let retention = state.retention.clone();
    let backup = state.backup.clone();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr()?;
    println!("listening: http://{bound}");
    tracing::info!(address = %bound, "Serving.");
    let store = state.store.clone();
    let app = crate::http::router(state);
    let http = tokio::spawn(crate::http::server::serve(
        listener,
        app,
        limits,
        stop.clone(),
    ));
    let claims = tokio::spawn(release_expired_claims(store.clone(), stop.clone()));
    let (store_for_retention, retention_stop) = (store.clone(), stop.clone());
    let retention = tokio::spawn(async move {
        if let Some(config) = retention {
            crate::ops::retention_loop(store_for_retention, config, retention_stop).await;
        }
    });
    let backups = tokio::spawn(crate::ops::backup_loop(store, backup, stop.clone()));
    let summary = daemon.run(stop).await?;
    // Requests in flight get the same grace as scans; the server stops with the daemon.
    match tokio::time::timeout(std::time::Duration::from_secs(5), http).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => {
            tracing::warn!(error = %error, "The HTTP server stopped with an error.")
        }
        Ok(Err(error)) => tracing::warn!(error = %error, "The HTTP server task failed."),
        Err(_) => tracing::warn!("The HTTP server did not stop in time."),
    }
    claims.abort();
    retention.abort();
    backups.abort();
    tracing::info!(%summary, "Stopped.");
    Ok(summary)
}

/// The API state for a configuration.
pub fn http_state(
    loaded: &Loaded,
    store: Store,
    metrics: Metrics,
    judge: Arc<WordListJudge>,
) -> anyhow::Result<AppState> {
    Ok(AppState::new(store, metrics)
        .context("cannot read the pseudonym key from the store")?
        .configured(&loaded.config)
        .with_judge(judge))
}

/// Returns findings whose review claim ran out to the queue, once a minute.
async fn release_expired_claims(store: Store, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        let store = store.clone();
        let released =
            tokio::task::spawn_blocking(move || store.release_expired_claims(Timestamp::now()))
                .await;
        match released {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(released = n, "Released expired review claims."),
            Ok(Err(error)) => tracing::warn!(error = %error, "Could not release expired claims."),
            Err(error) => tracing::warn!(error = %error, "The claim-release task failed."),
        }
    }
}

/// `netra import-activities FILE`: every line checked and its account looked up before
/// anything is stored; then judged and stored in batches. Returns rejected lines, if any.
pub fn import_activities(
    loaded: &Loaded,
    store: &Store,
    path: &Path,
) -> anyhow::Result<Result<(usize, usize), Vec<String>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let now = Timestamp::now();
    let parsed = match jsonl::parse(&text, &path.display().to_string(), now) {
        Ok(parsed) => parsed,
        Err(errors) => return Ok(Err(errors.iter().map(ToString::to_string).collect())),
    };
    let employees: HashMap<String, Employee> = store
        .employees()?
        .into_iter()
        .map(|e| (e.employee_id.clone(), e))
        .collect();
    let mut problems = Vec::new();
    let mut resolved = Vec::with_capacity(parsed.len());
    for line in parsed {
        match store.account_by_handle(line.platform, &line.account_handle)? {
            Some(account) => match employees.get(&account.employee_id) {
                Some(employee) => resolved.push((line, account.id, employee.clone())),
                None => problems.push(format!(
                    "line {}: account: its employee is not registered",
                    line.line
                )),
            },
            None => problems.push(format!(
                "line {}: account: {} account '{}' is not registered",
                line.line, line.platform, line.account_handle
            )),
        }
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let judge = build_judge(loaded)?;
    judge.update_watched(&store.watched_accounts()?);
    let (mut activities, mut findings) = (0, 0);
    for batch in resolved.chunks(500) {
        let evidence: Vec<_> = batch
            .iter()
            .map(|(line, _, _)| line.evidence_blob())
            .collect();
        let records: Vec<ActivityRecord> = batch
            .iter()
            .map(|(line, account_id, employee)| {
                let activity = line.clone().into_activity(*account_id, now);
                ActivityRecord {
                    detections: judge.judge(&activity, employee),
                    employee_id: employee.employee_id.clone(),
                    activity,
                }
            })
            .collect();
        let outcome = store.ingest(
            Ingest {
                records: &records,
                evidence: &evidence,
                scan: None,
                snapshot: None,
            },
            now,
        )?;
        activities += outcome.new_activities;
        findings += outcome.new_findings.len();
    }
    Ok(Ok((activities, findings)))
}

/// `netra watched import FILE`: entity ids are checked against the word lists.
pub fn import_watched(
    loaded: &Loaded,
    store: &Store,
    path: &Path,
) -> anyhow::Result<crate::registry::ImportReport> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (lexicon, _) = crate::detect::commands::load(&loaded.config.detect)?;
    let known = |id: &str| lexicon.entity_id(id).is_some();
    Ok(crate::registry::import_watched(
        store,
        &text,
        &known,
        Timestamp::now(),
    )?)
}

/// `netra findings list`: one line (or JSON object) per finding, filtered by review state and
/// unit subtree.
pub fn list_findings(
    store: &Store,
    status: Option<ReviewState>,
    unit: Option<&UnitPath>,
    json_lines: bool,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let employees: HashMap<String, Employee> = store
        .employees()?
        .into_iter()
        .map(|e| (e.employee_id.clone(), e))
        .collect();
    let mut count = 0;
    for finding in store.findings()? {
        if status.is_some_and(|s| s != finding.review_state) {
            continue;
        }
        let employee_unit = employees.get(&finding.employee_id).map(|e| &e.unit);
        if let Some(scope) = unit {
            if !employee_unit.is_some_and(|u| u.is_within(scope)) {
                continue;
            }
        }
        let detection = &finding.detection;
        if json_lines {
            let line = json!({
                "id": finding.id.0,
                "platform": finding.platform,
                "activity_id": finding.platform_activity_id,
                "rule": detection.rule_id,
                "rule_status": detection.status,
                "category": detection.category,
                "severity": detection.severity,
                "status": finding.review_state,
                "rule_status": detection.status,
                "score": detection.score,
                "employee_id": finding.employee_id,
                "unit": employee_unit.map(UnitPath::as_str),
                "entities": detection.entities,
                "reason": detection.reason,
                "created_at": finding.created_at.to_string(),
            });
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "#{} {} {} {} [{}] {} — {}",
                finding.id,
                detection.severity,
                detection.category,
                finding.employee_id,
                detection.entities.join(","),
                finding.platform_activity_id,
                detection.reason
            )?;
        }
        count += 1;
    }
    Ok(count)
}

// ---- Alerts (issue #8): `netra alerts list | replay | enable | disable` ----

/// `netra alerts list [--dead] [--json]`: each configured endpoint with its state, then the
/// waiting (or dead) messages.
pub fn list_alerts(
    loaded: &Loaded,
    store: &Store,
    dead: bool,
    json_lines: bool,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    for endpoint in &loaded.config.alerts.endpoints {
        let state = store.endpoint_state(&endpoint.name)?;
        if json_lines {
            let line = json!({
                "endpoint": endpoint.name,
                "summary": endpoint.summary(),
                "enabled": state.enabled,
                "disabled_reason": state.disabled_reason,
                "delivered_total": state.delivered_total,
                "last_error": state.last_error,
            });
            writeln!(out, "{line}")?;
        } else {
            let status = match &state.disabled_reason {
                _ if state.enabled => "enabled".to_string(),
                Some(reason) => format!("DISABLED ({reason})"),
                None => "DISABLED".to_string(),
            };
            writeln!(
                out,
                "endpoint {}: {} — {status}, delivered {}",
                endpoint.name,
                endpoint.summary(),
                state.delivered_total
            )?;
        }
    }
    let mut count = 0;
    let rows: Vec<(crate::store::OutboxMessage, Option<(Timestamp, String)>)> = if dead {
        store
            .dead_alerts(None)?
            .into_iter()
            .map(|d| (d.message, Some((d.died_at, d.reason))))
            .collect()
    } else {
        store
            .pending_alerts(None)?
            .into_iter()
            .map(|m| (m, None))
            .collect()
    };
    for (message, death) in rows {
        let findings: Vec<u64> = message.findings.iter().map(|f| f.0).collect();
        if json_lines {
            let line = json!({
                "id": message.id,
                "webhook_id": crate::alerts::format::webhook_id(&message),
                "endpoint": message.endpoint,
                "unit": message.unit.as_ref().map(UnitPath::as_str),
                "findings": findings,
                "created_at": message.created_at.to_string(),
                "attempts": message.attempts,
                "next_attempt_at": message.next_attempt_at.to_string(),
                "last_error": message.last_error,
                "died_at": death.as_ref().map(|(at, _)| at.to_string()),
                "reason": death.as_ref().map(|(_, reason)| reason),
            });
            writeln!(out, "{line}")?;
        } else {
            let tail = match &death {
                Some((at, reason)) => format!("dead since {at}: {reason}"),
                None => format!("next attempt {}", message.next_attempt_at),
            };
            writeln!(
                out,
                "#{} {} findings {:?} attempts {} — {tail}",
                message.id, message.endpoint, findings, message.attempts
            )?;
        }
        count += 1;
    }
    Ok(count)
}

/// `netra alerts replay ID`: the dead message goes back to its endpoint's queue with the same
/// `webhook-id`; `serve` delivers it.
pub fn replay_alert(store: &Store, id: u64) -> anyhow::Result<crate::store::OutboxMessage> {
    let message = store.replay_alert(id, Timestamp::now())?;
    if !store.endpoint_state(&message.endpoint)?.enabled {
        eprintln!(
            "warning: endpoint {} is disabled; enable it (`netra alerts enable {}`) or the message dies again",
            message.endpoint, message.endpoint
        );
    }
    Ok(message)
}
