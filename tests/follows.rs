//! Issue #11 against the simulator: account snapshots (following lists, profiles) and the
//! deletion re-check, phase by phase of the simulator's account script.
//!
//! - every scripted follow of a watched account is exactly one finding, also after an
//!   unfollow and a follow again;
//! - every partisan profile edit is exactly one finding, neutral edits none;
//! - a deleted flagged post is reported deleted and its evidence keeps its hash;
//! - a hidden following list is an account state, not an error.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use netra::app;
use netra::config::{self, ConfigSource};
use netra::daemon::Daemon;
use netra::judging::WordListJudge;
use netra::metrics::Metrics;
use netra::model::{
    Activity, ActivityKind, Category, Detection, Employee, Platform, WatchedAccount,
};
use netra::pipeline::{Judge, Pipeline};
use netra::simulator::graph::{AccountChange, LAST_PHASE};
use netra::simulator::{self, population_out, SimConfig};
use netra::sources::Sources;
use netra::store::Store;
use sha2::{Digest, Sha256};

/// The word-list judge, with account snapshots judged as if taken during the 2024 campaign:
/// the simulator's history is the 2024 campaign, but snapshots are taken today, after it.
struct InCampaign(Arc<WordListJudge>);

impl Judge for InCampaign {
    fn judge(&self, activity: &Activity, employee: &Employee) -> Vec<Detection> {
        let mut activity = activity.clone();
        if matches!(
            activity.kind,
            ActivityKind::Follow | ActivityKind::Unfollow | ActivityKind::ProfileChange
        ) {
            activity.occurred_at = "2024-01-15T03:00:00Z".parse().unwrap();
        }
        self.0.judge(&activity, employee)
    }

    fn update_watched(&self, watched: &[WatchedAccount]) {
        self.0.update_watched(watched)
    }
}

fn normal(handle: &str) -> String {
    handle.trim().trim_start_matches('@').to_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_profiles_and_deletions_become_exactly_the_scripted_findings() {
    let sim = simulator::spawn(SimConfig {
        employees: 120,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let dir = tempfile::tempdir().unwrap();
    let population = sim.state.snapshot();
    population_out::write_all(dir.path(), &population, &sim.base_url).unwrap();
    let env = vec![
        (
            "NETRA_SCAN_SNAPSHOT_INTERVAL_SECS".to_string(),
            "1".to_string(),
        ),
        (
            "NETRA_SCAN_RECHECK_INTERVAL_SECS".to_string(),
            "1".to_string(),
        ),
    ];
    let loaded = config::load(&ConfigSource::File(dir.path().join("netra.toml")), env).unwrap();
    let store = Store::open(&loaded.config.store.path, 16 << 20).unwrap();
    let employees = std::fs::read_to_string(dir.path().join("employees.csv")).unwrap();
    let report = netra::registry::import_accounts(&store, &employees, Timestamp::now()).unwrap();
    assert!(report.errors.is_empty(), "{report}");
    let report = app::import_watched(&loaded, &store, &dir.path().join("watched.csv")).unwrap();
    assert!(report.errors.is_empty(), "{report}");
    let judge = app::build_judge(&loaded).unwrap();
    let pipeline = Pipeline {
        store: store.clone(),
        sources: Sources::from_config(&loaded.config).unwrap(),
        judge: Arc::new(InCampaign(judge)),
        metrics: Metrics::new(),
        backfill: loaded.config.scan.backfill,
        reverse_window: loaded.config.scan.reverse_window,
        snapshot_interval: loaded.config.scan.snapshot_interval,
        recheck_interval: loaded.config.scan.recheck_interval,
    };
    let daemon = Daemon::new(&loaded.config, pipeline);

    for phase in 0..=LAST_PHASE {
        if phase > 0 {
            assert_eq!(sim.state.advance_account_phase(), phase);
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
        let summary = daemon.scan_once(None, true).await.unwrap();
        assert_eq!(summary.errors, 0, "phase {phase}: {summary}");
    }

    let world = sim.state.snapshot();
    let script = &world.script;
    let account_by_handle: HashMap<String, netra::model::Account> = store
        .accounts()
        .unwrap()
        .into_iter()
        .map(|a| (normal(&a.handle), a))
        .collect();
    let registry_handle = |i: usize| normal(&world.accounts[i].registry_handle(&sim.base_url));
    let findings = store.findings().unwrap();
    let activity_of = |f: &netra::model::Finding| {
        store
            .activity(f.platform, &f.platform_activity_id)
            .unwrap()
            .expect("a finding's activity is stored")
    };

    // Follows of watched accounts: one finding per (actor, watched account) ever followed
    // while visible, however often it was unfollowed and followed again.
    let mut expected_follows: BTreeSet<(String, String)> = BTreeSet::new();
    let mut refollows = 0;
    for event in &script.events {
        let AccountChange::Follow(target) = event.change else {
            continue;
        };
        let watched = matches!(
            world.accounts[target].owner,
            simulator::Owner::Watched { .. }
        );
        let hidden = script
            .events
            .iter()
            .any(|e| e.actor == event.actor && e.change == AccountChange::HideFollowing);
        let key = (
            registry_handle(event.actor),
            normal(&world.accounts[target].handle),
        );
        if watched && !hidden && !expected_follows.insert(key) {
            refollows += 1;
        }
    }
    let mut found_follows: Vec<(String, String)> = Vec::new();
    for finding in &findings {
        if finding.detection.category != Category::FollowCampaignAccount {
            continue;
        }
        let activity = activity_of(finding);
        assert!(!activity.time_exact);
        let account = store.account(finding.account_id).unwrap().unwrap();
        found_follows.push((
            normal(&account.handle),
            normal(&activity.target.unwrap().author),
        ));
    }
    let found_set: BTreeSet<(String, String)> = found_follows.iter().cloned().collect();
    assert_eq!(
        found_set.len(),
        found_follows.len(),
        "no follow finding twice"
    );
    assert_eq!(
        found_set, expected_follows,
        "every scripted follow of a watched account, exactly once"
    );
    assert!(expected_follows.len() > 5, "{expected_follows:?}");
    assert!(refollows > 0, "the script follows again after unfollowing");

    // Profiles: each partisan edit is one finding; neutral edits none.
    let mut expected_profiles: BTreeMap<String, usize> = BTreeMap::new();
    for event in &script.events {
        if let AccountChange::Profile {
            partisan: Some(_), ..
        } = &event.change
        {
            *expected_profiles
                .entry(registry_handle(event.actor))
                .or_default() += 1;
        }
    }
    let mut found_profiles: BTreeMap<String, usize> = BTreeMap::new();
    for finding in &findings {
        if matches!(
            finding.detection.category,
            Category::PartyMembership | Category::SupportProfile
        ) {
            assert_eq!(activity_of(finding).kind, ActivityKind::ProfileChange);
            let account = store.account(finding.account_id).unwrap().unwrap();
            *found_profiles.entry(normal(&account.handle)).or_default() += 1;
        }
    }
    assert_eq!(
        found_profiles, expected_profiles,
        "one finding per partisan profile edit"
    );
    assert!(expected_profiles.len() > 3, "{expected_profiles:?}");

    // Deletions: flagged posts the script deleted are reported gone; the others are not; the
    // evidence is intact.
    let deleted: BTreeSet<String> = script
        .events
        .iter()
        .filter_map(|e| match e.change {
            AccountChange::Delete(i) => Some(world.activities[i].id.clone()),
            _ => None,
        })
        .collect();
    let post_key = |f: &netra::model::Finding| match f.platform {
        Platform::Mastodon => f
            .platform_activity_id
            .split('#')
            .next()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string(),
        _ => f.platform_activity_id.clone(),
    };
    let (mut gone, mut still_there) = (0, 0);
    for finding in &findings {
        let activity = activity_of(finding);
        if activity.kind != ActivityKind::Post {
            continue;
        }
        let was_deleted = deleted.contains(&post_key(finding));
        assert_eq!(
            finding.gone_at.is_some(),
            was_deleted,
            "finding {} ({}): deleted in the script: {was_deleted}",
            finding.id,
            finding.platform_activity_id
        );
        if was_deleted {
            gone += 1;
            assert!(finding.gone_at > Some(finding.created_at));
            let evidence = activity.evidence.unwrap();
            let blob = store.evidence(&evidence.sha256).unwrap().unwrap();
            assert_eq!(hex::encode(Sha256::digest(&blob.body)), evidence.sha256);
        } else if finding.last_seen_at.is_some() {
            still_there += 1;
        }
    }
    assert!(gone > 0, "some flagged posts were deleted and noticed");
    assert!(
        still_there > 0,
        "the others were re-checked and are still there"
    );
    let audited = store
        .audit_entries(0, 100_000)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "finding.evidence_gone")
        .count();
    assert_eq!(audited, gone, "each deletion is in the audit log once");

    // Hidden following lists: an account state, no errors (asserted per phase above).
    let hidden: Vec<&netra::model::Account> = script
        .events
        .iter()
        .filter(|e| e.change == AccountChange::HideFollowing)
        .filter_map(|e| account_by_handle.get(&registry_handle(e.actor)))
        .collect();
    assert!(!hidden.is_empty());
    assert!(hidden.iter().all(|a| a.following_hidden));
    assert!(account_by_handle
        .values()
        .filter(|a| !hidden.iter().any(|h| h.id == a.id))
        .all(|a| !a.following_hidden));
    assert!(store.verify_integrity().unwrap().is_empty());
    sim.stop().await.unwrap();
}
