//! Reports, evidence packets, retention and restore, on real sled stores: report figures from a
//! store seeded with known findings and decisions; packets whose hashes match the stored raw
//! payloads and still verify once the platform is gone; retention on a clock the test controls;
//! a restore that verifies and serves the same findings.

mod common;

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use netra::access::{Role, Scope, User, UserId};
use netra::model::{
    AccountId, Category, EvidenceBlob, EvidenceRef, FindingId, Platform, ReviewState, RuleStatus,
    UnitPath,
};
use netra::report::{self, Period};
use netra::review::{Command, Level, Verdict};
use netra::store::{ActivityRecord, Ingest, RetentionPolicy, Store};
use sha2::{Digest, Sha256};

const UNIT_A: &str = "kemenkumham/kanwil-sumsel";

fn reviewer() -> User {
    User {
        id: UserId(1),
        name: "siti".into(),
        role: Role::Reviewer,
        scope: Scope::All,
        senior: true,
        employee_id: None,
        active: true,
        created_at: common::at(0),
    }
}

fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

/// One activity with evidence and one finding of `category`, `hours_in` after the test epoch.
fn seed(
    store: &Store,
    employee_n: u64,
    unit: &str,
    n: u64,
    category: Category,
    entity: &str,
    at: Timestamp,
) -> FindingId {
    let mut employee = common::employee(employee_n);
    employee.unit = UnitPath::parse(unit).unwrap();
    store.put_employee(&employee).unwrap();
    let account = match store
        .account_by_handle(Platform::Mastodon, &format!("@p{employee_n}@m.example"))
        .unwrap()
    {
        Some(account) => account.id,
        None => {
            store
                .register_account(
                    &employee.employee_id,
                    Platform::Mastodon,
                    &format!("@p{employee_n}@m.example"),
                    at,
                )
                .unwrap()
                .id
        }
    };
    let body = format!("{{\"id\":\"{n}\",\"content\":\"Ayo coblos {entity}\"}}").into_bytes();
    let sha256 = hex::encode(Sha256::digest(&body));
    let blob = EvidenceBlob {
        sha256: sha256.clone(),
        url: format!("https://m.example/api/v1/statuses/{n}"),
        fetched_at: at,
        status: 200,
        content_type: "application/json".into(),
        body,
    };
    let mut activity = common::activity(account, n);
    activity.target = None;
    activity.kind = netra::model::ActivityKind::Post;
    activity.occurred_at = at;
    activity.observed_at = at;
    activity.evidence = Some(EvidenceRef {
        sha256,
        url: blob.url.clone(),
        fetched_at: at,
    });
    let mut detection = common::detection("ajakan", RuleStatus::Active);
    detection.category = category;
    detection.entities = vec![entity.to_string()];
    let outcome = store
        .ingest(
            Ingest {
                records: &[ActivityRecord {
                    activity,
                    employee_id: employee.employee_id.clone(),
                    detections: vec![detection],
                }],
                evidence: &[blob],
                scan: None,
                snapshot: None,
            },
            at,
        )
        .unwrap();
    outcome.new_findings[0]
}

fn decide(store: &Store, id: FindingId, to: ReviewState, level: Option<Level>, at: Timestamp) {
    let verdict = Verdict {
        to,
        note: "diperiksa".into(),
        level,
        skb_form: level.map(|_| "invite_to_vote".to_string()),
    };
    store
        .review(id, &Command::Decide(verdict), &reviewer(), at, hours(1))
        .unwrap();
}

#[test]
fn report_figures_match_the_seeded_findings_and_decisions() {
    let store = Store::temporary().unwrap();
    let t0 = Timestamp::from_second(1_707_696_000).unwrap(); // 2024-02-12 (a Monday, WIB)
    let a1 = seed(
        &store,
        1,
        &format!("{UNIT_A}/lapas"),
        1,
        Category::InviteToVote,
        "pilpres2024:02",
        t0,
    );
    let a2 = seed(
        &store,
        1,
        &format!("{UNIT_A}/lapas"),
        2,
        Category::SupportPost,
        "pilpres2024:02",
        t0 + hours(24),
    );
    let a3 = seed(
        &store,
        2,
        UNIT_A,
        3,
        Category::LikeCandidate,
        "pilpres2024:01",
        t0 + hours(24 * 8),
    );
    let _b = seed(
        &store,
        3,
        "kemenkeu/djp",
        4,
        Category::InviteToVote,
        "pilpres2024:03",
        t0,
    );
    decide(
        &store,
        a1,
        ReviewState::Escalated,
        Some(Level::DisiplinSedang),
        t0 + hours(2),
    );
    decide(&store, a2, ReviewState::Dismissed, None, t0 + hours(24 + 6));
    decide(
        &store,
        a3,
        ReviewState::Dismissed,
        None,
        t0 + hours(24 * 8 + 4),
    );

    let scope = Scope::parse(UNIT_A).unwrap();
    let period = Period {
        scope: scope.clone(),
        from: t0 - hours(7),
        to: t0 + hours(24 * 14),
    };
    let inputs = report::gather(&store, &scope).unwrap();
    let built = report::build(&inputs, &period);
    assert_eq!((built.employees, built.accounts, built.findings), (2, 2, 3));
    let map = |pairs: &[(&str, usize)]| -> BTreeMap<String, usize> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    assert_eq!(
        built.by_category,
        map(&[
            ("invite_to_vote", 1),
            ("support_post", 1),
            ("like_candidate", 1)
        ])
    );
    assert_eq!(
        built.by_entity,
        map(&[("pilpres2024:02", 2), ("pilpres2024:01", 1)])
    );
    assert_eq!(built.by_severity, map(&[("high", 3)]));
    assert_eq!(built.decisions, map(&[("escalated", 1), ("dismissed", 2)]));
    assert_eq!(built.recommended_levels, map(&[("disiplin_sedang", 1)]));
    assert_eq!(
        built.median_hours_to_decision,
        Some(4.0),
        "waits of 2, 6 and 4 hours"
    );
    assert_eq!(built.weekly, map(&[("2024-W07", 2), ("2024-W08", 1)]));
    assert_eq!(built.escalated_cases.len(), 1);
    assert_eq!(
        built.escalated_cases[0].level.as_deref(),
        Some("disiplin_sedang")
    );
    assert_eq!(built.coverage.not_scanned, 2, "no scan states were seeded");

    // A period that starts after the first week counts only what happened in it.
    let later = Period {
        scope: scope.clone(),
        from: t0 + hours(24 * 7),
        to: t0 + hours(24 * 14),
    };
    let second = report::build(&inputs, &later);
    assert_eq!(
        (second.findings, second.decisions.get("dismissed").copied()),
        (1, Some(1))
    );

    let csv = report::to_csv(&built);
    assert!(csv.contains("category,invite_to_vote,1\n"), "{csv}");
    assert!(csv.contains("decisions,median_hours_to_decision,4.0\n"));
    let html = report::to_html(&built);
    assert!(html.contains("<svg") && html.contains("@page{size:A4"));
    assert!(html.contains("Kasus yang dieskalasi"));
}

#[test]
fn a_packet_hashes_match_the_stored_payloads_and_tampering_is_found() {
    let store = Store::temporary().unwrap();
    let t0 = common::at(0);
    let first = seed(
        &store,
        1,
        UNIT_A,
        1,
        Category::InviteToVote,
        "pilpres2024:02",
        t0,
    );
    seed(
        &store,
        1,
        UNIT_A,
        2,
        Category::InviteToVote,
        "pilpres2024:02",
        t0 + hours(3),
    );
    let case = store.finding(first).unwrap().unwrap().case_id.unwrap();
    let packet = netra::packet::build(&store, case, t0).unwrap().unwrap();
    assert_eq!(netra::packet::verify(&packet), Vec::<String>::new());
    let items = packet["findings"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for item in items {
        let sha = item["evidence"]["sha256"].as_str().unwrap();
        let stored = store.evidence(sha).unwrap().unwrap();
        assert_eq!(hex::encode(Sha256::digest(&stored.body)), sha);
        assert!(item["activity"]["text"]
            .as_str()
            .unwrap()
            .contains("coblos"));
        assert!(!item["matched"].as_array().unwrap().is_empty());
    }
    let mut edited = packet.clone();
    edited["findings"][0]["activity"]["text"] = "teks lain".into();
    assert!(!netra::packet::verify(&edited).is_empty());
    let html = netra::packet::to_html(&packet);
    assert!(html.contains("Paket bukti kasus") && html.contains("<mark>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packet_still_verifies_when_the_platform_is_gone() {
    use netra::simulator::{self, population_out, SimConfig};
    let sim = simulator::spawn(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    population_out::write_all(dir.path(), &sim.state.snapshot(), &sim.base_url).unwrap();
    let loaded = netra::config::load(
        &netra::config::ConfigSource::File(dir.path().join("netra.toml")),
        Vec::new(),
    )
    .unwrap();
    let store = Store::open(&loaded.config.store.path, 16 << 20).unwrap();
    let employees = std::fs::read_to_string(dir.path().join("employees.csv")).unwrap();
    netra::registry::import_accounts(&store, &employees, Timestamp::now()).unwrap();
    netra::app::import_watched(&loaded, &store, &dir.path().join("watched.csv")).unwrap();
    let pipeline =
        netra::app::build_pipeline(&loaded, store.clone(), netra::metrics::Metrics::new()).unwrap();
    let daemon = netra::daemon::Daemon::new(&loaded.config, pipeline);
    daemon.scan_once(None, false).await.unwrap();
    let case = store
        .findings()
        .unwrap()
        .into_iter()
        .find_map(|f| f.case_id)
        .expect("the scan found something");
    let before = netra::packet::build(&store, case, Timestamp::now())
        .unwrap()
        .unwrap();
    // Every post is gone: the whole platform stops.
    sim.stop().await.unwrap();
    let after = netra::packet::build(&store, case, Timestamp::now())
        .unwrap()
        .unwrap();
    assert_eq!(netra::packet::verify(&after), Vec::<String>::new());
    assert_eq!(
        before["findings"], after["findings"],
        "the store alone makes the packet"
    );
    let payloads = after["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["evidence"]["payload_base64"].is_string())
        .count();
    assert!(payloads > 0, "the packet carries the raw payloads");
}

#[test]
fn retention_removes_what_must_go_keeps_what_must_stay_and_audits_every_purge() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 16 << 20).unwrap();
    let t0 = common::at(0);
    let day = |n: i64| hours(24 * n);
    // A plain activity with no finding.
    let mut employee = common::employee(9);
    employee.unit = UnitPath::parse(UNIT_A).unwrap();
    store.put_employee(&employee).unwrap();
    let account = store
        .register_account(
            &employee.employee_id,
            Platform::Mastodon,
            "@quiet@m.example",
            t0,
        )
        .unwrap();
    let mut plain = common::activity(account.id, 500);
    plain.kind = netra::model::ActivityKind::Post;
    plain.target = None;
    plain.text = "Selamat pagi, rapat jam 9".into();
    plain.observed_at = t0;
    store
        .ingest(
            Ingest {
                records: &[ActivityRecord {
                    activity: plain.clone(),
                    employee_id: employee.employee_id.clone(),
                    detections: vec![],
                }],
                evidence: &[],
                scan: None,
                snapshot: None,
            },
            t0,
        )
        .unwrap();
    let dismissed = seed(
        &store,
        1,
        UNIT_A,
        1,
        Category::InviteToVote,
        "pilpres2024:02",
        t0,
    );
    decide(&store, dismissed, ReviewState::Dismissed, None, t0 + day(1));
    let open = seed(
        &store,
        2,
        UNIT_A,
        2,
        Category::InviteToVote,
        "pilpres2024:01",
        t0,
    );
    let reported = seed(
        &store,
        3,
        UNIT_A,
        3,
        Category::InviteToVote,
        "pilpres2024:03",
        t0,
    );
    decide(
        &store,
        reported,
        ReviewState::Escalated,
        Some(Level::Etik),
        t0 + day(1),
    );
    decide(&store, reported, ReviewState::Reported, None, t0 + day(2));
    let held = seed(
        &store,
        4,
        UNIT_A,
        4,
        Category::InviteToVote,
        "pilpres2024:03",
        t0,
    );
    decide(&store, held, ReviewState::Dismissed, None, t0 + day(1));
    let held_case = store.finding(held).unwrap().unwrap().case_id.unwrap();
    store
        .set_legal_hold(
            held_case,
            Some("pemeriksaan inspektorat".into()),
            "cli",
            t0 + day(1),
        )
        .unwrap();

    let policy = RetentionPolicy {
        activity_days: 30,
        dismissed_days: 60,
        closed_case_days: 365,
    };
    // Day 40: only the plain activity is old enough.
    let first = store.purge(policy, t0 + day(40)).unwrap();
    assert_eq!(first.activities_minimised, 1);
    assert!(first.findings_purged.is_empty());
    let kept = store
        .activity(Platform::Mastodon, &plain.platform_activity_id)
        .unwrap()
        .unwrap();
    assert!(kept.text.is_empty() && kept.url.is_none() && kept.actor_handle.is_empty());
    assert_eq!(kept.occurred_at, plain.occurred_at, "id and time stay");
    // Day 62: the dismissed finding goes; the open one, the reported case and the held case stay.
    let second = store.purge(policy, t0 + day(62)).unwrap();
    assert_eq!(second.findings_purged, vec![dismissed.0]);
    assert!(second.cases_held.contains(&held_case.0));
    assert!(store.finding(dismissed).unwrap().is_none());
    assert!(store.history(dismissed).unwrap().is_empty());
    for id in [open, reported, held] {
        assert!(
            store.finding(id).unwrap().is_some(),
            "finding {id} must stay"
        );
    }
    let gone_activity = store
        .activity(
            Platform::Mastodon,
            &common::activity(AccountId(0), 1).platform_activity_id,
        )
        .unwrap()
        .unwrap();
    assert!(
        gone_activity.text.is_empty(),
        "the purged finding's post text is gone"
    );
    // Re-ingesting the purged finding's post does not raise it again.
    let mut repeat = common::activity(AccountId(0), 1);
    repeat.account_id = store
        .account_by_handle(Platform::Mastodon, "@p1@m.example")
        .unwrap()
        .unwrap()
        .id;
    let outcome = store
        .ingest(
            Ingest {
                records: &[ActivityRecord {
                    activity: repeat,
                    employee_id: common::employee(1).employee_id,
                    detections: vec![common::detection("ajakan", RuleStatus::Active)],
                }],
                evidence: &[],
                scan: None,
                snapshot: None,
            },
            t0 + day(63),
        )
        .unwrap();
    assert!(
        outcome.new_findings.is_empty(),
        "a purged finding never comes back"
    );
    // A year after the reported case closed, it goes too; the held case still stays.
    let third = store.purge(policy, t0 + day(2 + 366)).unwrap();
    assert_eq!(third.findings_purged, vec![reported.0]);
    assert_eq!(third.cases_purged.len(), 1);
    assert!(store.finding(held).unwrap().is_some(), "legal hold");
    assert!(
        store.finding(open).unwrap().is_some(),
        "undecided findings are never purged"
    );
    // Every purge is on the record, and the store and its chain are whole.
    let purges: Vec<String> = store
        .audit_entries(0, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("retention."))
        .map(|e| format!("{} {}", e.action, e.target))
        .collect();
    for wanted in [
        format!("retention.purge finding:{dismissed}"),
        format!("retention.purge finding:{reported}"),
        "retention.minimise activities".to_string(),
        "retention.run store".to_string(),
    ] {
        assert!(purges.contains(&wanted), "{wanted} missing from {purges:?}");
    }
    assert!(store.verify_integrity().unwrap().is_empty());
    assert_eq!(store.verify_audit(None).unwrap().first_broken, None);
}

#[test]
fn a_restore_into_a_fresh_directory_verifies_and_serves_the_same_findings() {
    let dir = tempfile::tempdir().unwrap();
    let original = Store::open(&dir.path().join("a"), 16 << 20).unwrap();
    let t0 = common::at(0);
    let first = seed(
        &original,
        1,
        UNIT_A,
        1,
        Category::InviteToVote,
        "pilpres2024:02",
        t0,
    );
    seed(
        &original,
        2,
        UNIT_A,
        2,
        Category::SupportPost,
        "pilpres2024:01",
        t0,
    );
    decide(
        &original,
        first,
        ReviewState::Escalated,
        Some(Level::Etik),
        t0 + hours(1),
    );
    let dump = dir.path().join("backup.jsonl");
    let (count, digest) = netra::ops::export_with_checksum(&original, &dump).unwrap();
    assert!(count > 10);
    assert_eq!(netra::ops::verify_checksum(&dump).unwrap(), Some(true));
    assert!(std::fs::read_to_string(netra::ops::checksum_path(&dump))
        .unwrap()
        .starts_with(&digest));

    let restored = Store::open(&dir.path().join("b"), 16 << 20).unwrap();
    restored.import_file(&dump).unwrap();
    assert_eq!(restored.verify_audit(None).unwrap().first_broken, None);
    assert_eq!(
        restored.verify_audit(None).unwrap(),
        original.verify_audit(None).unwrap()
    );
    assert_eq!(restored.findings().unwrap(), original.findings().unwrap());
    assert_eq!(
        restored.history(first).unwrap(),
        original.history(first).unwrap()
    );
    assert!(restored.verify_integrity().unwrap().is_empty());

    // A dump changed after its checksum was written is caught before import.
    let mut text = std::fs::read_to_string(&dump).unwrap();
    text = text.replacen("Ayo coblos", "Ayo pilih", 1);
    std::fs::write(&dump, text).unwrap();
    assert_eq!(netra::ops::verify_checksum(&dump).unwrap(), Some(false));
}
