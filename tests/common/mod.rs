//! Shared helpers for the integration tests: sample records built the same way everywhere, and a
//! replaying HTTP server.
#![allow(dead_code)]

pub mod binary;
pub mod raw;
pub mod replay;
pub mod webdriver;

use jiff::Timestamp;
use netra::model::{
    AccountId, Activity, ActivityKind, Category, Detection, Employee, EmploymentStatus, Platform,
    RuleStatus, Severity, Span, SpanField, Target, UnitPath,
};

pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_732_000_000 + seconds).expect("a valid test time")
}

pub fn employee(n: u64) -> Employee {
    Employee {
        employee_id: format!("1985010120100{n:05}"),
        name: format!("Pegawai {n}"),
        unit: UnitPath::parse("kemenkumham/kanwil-sumsel/lapas-palembang").expect("valid unit"),
        position: "Analis".into(),
        status: EmploymentStatus::Pns,
        active: true,
        registered_at: at(0),
    }
}

pub fn activity(account: AccountId, n: u64) -> Activity {
    Activity {
        platform: Platform::Mastodon,
        platform_activity_id: format!("11300000000{n:07}"),
        kind: if n % 3 == 0 {
            ActivityKind::Like
        } else {
            ActivityKind::Post
        },
        account_id: account,
        actor_handle: "@pegawai@mastodon.example".into(),
        text: format!("Ayo coblos nomor 02 ✌️ kiriman ke-{n}"),
        target: (n % 3 == 0).then(|| Target {
            author: "@prabowo".into(),
            author_platform_id: Some("109".into()),
            text: "Terima kasih relawan".into(),
            url: Some("https://mastodon.example/@prabowo/1".into()),
        }),
        url: Some(format!("https://mastodon.example/@pegawai/{n}")),
        occurred_at: at(n as i64 * 60),
        time_exact: true,
        observed_at: at(n as i64 * 60 + 30),
        evidence: None,
    }
}

pub fn detection(rule_id: &str, status: RuleStatus) -> Detection {
    Detection {
        rule_id: rule_id.into(),
        category: Category::InviteToVote,
        severity: Severity::High,
        status,
        score: 0.9,
        entities: vec!["pilpres2024:02".into()],
        spans: vec![Span {
            field: SpanField::Text,
            start: 0,
            end: 3,
            text: "Ayo".into(),
        }],
        reason: "Mengajak memilih paslon 02".into(),
    }
}

/// sled's file lock outlives a dropped handle for a moment (its flusher thread lets go last),
/// so reopening right after a drop retries briefly instead of failing.
pub fn retry<T, E: std::fmt::Debug>(mut open: impl FnMut() -> Result<T, E>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match open() {
            Ok(value) => return value,
            Err(error) if std::time::Instant::now() > deadline => panic!("cannot open: {error:?}"),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
}
