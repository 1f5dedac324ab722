//! Account snapshots: whom a registered account follows and what its profile says, read on a
//! slower schedule than posts (`scan.snapshot_interval_secs`) and compared with the previous
//! snapshot. Pure: the pipeline fetches and stores, this module only compares.
//!
//! # What a comparison yields
//!
//! | change | activity | id |
//! |---|---|---|
//! | a followed account appears | `follow`, target = the followed account | `follow:<actor id>:<target id>:<generation>` |
//! | a followed account disappears | `unfollow` | `unfollow:<actor id>:<target id>:<generation>` |
//! | the profile's words change | `profile_change`, text = the new profile text | `profile:<actor id>:<generation>` |
//!
//! `generation` counts the account's stored snapshots, and the new snapshot state is stored in
//! the same transaction as these activities: the same follow seen again is no change (no
//! activity), a crash before the store re-takes the same generation, and following again after
//! an unfollow is a later generation, so a new activity. Findings about follows dedupe on the
//! relation, not the episode (see [`crate::model::Activity::finding_subject`]), so unfollowing
//! and following again does not raise a second finding.
//!
//! Platforms say when a post was made but not when a follow was: a follow's time is only
//! bounded by the two snapshots (`time_exact: false`, `occurred_at` = the later one). The
//! first snapshot of an account has no lower bound: its follows existed "before" it. They
//! still count when the follow is current; the pipeline keeps only those the judge flags, so a
//! first snapshot does not store hundreds of ordinary follows.
//!
//! Each comparison that changed something is kept as one more evidence record beside the raw
//! responses: a JSON document (`content_type` [`DIFF_CONTENT_TYPE`]) with the window in words
//! ("antara … dan …", "sebelum …"), the accounts followed and unfollowed, the profile before and
//! after, and the URL and SHA-256 of every response it was derived from. The activities point
//! at it.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::model::{
    AccountId, Activity, ActivityKind, EvidenceBlob, EvidenceRef, FollowedAccount, Platform,
    SnapshotState, Target,
};
use crate::sources::{activity_id, AccountSnapshot};

/// Content type of the comparison record kept as evidence.
pub const DIFF_CONTENT_TYPE: &str = "application/vnd.netra.snapshot-diff+json";

/// The registered account a snapshot is of.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub account_id: AccountId,
    pub platform: Platform,
    /// As registered or last seen; shown as the actor.
    pub handle: &'a str,
    /// The permanent id: part of every activity id.
    pub platform_id: &'a str,
}

/// What comparing a new snapshot with the stored one gave.
#[derive(Debug, Clone)]
pub struct Compared {
    pub activities: Vec<Activity>,
    /// The state to store with the activities.
    pub next: SnapshotState,
    /// The comparison record the activities point at; `None` when nothing changed.
    pub diff: Option<EvidenceBlob>,
    /// The following list was read for the first time (a baseline, see the module docs).
    pub first_following: bool,
}

/// A time as the evidence says it, in UTC.
pub fn format_time(time: Timestamp) -> String {
    time.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// The window an account-level change happened in, in words.
pub fn window_text(since: Option<Timestamp>, until: Timestamp) -> String {
    match since {
        Some(since) => format!("antara {} dan {}", format_time(since), format_time(until)),
        None => format!("sebelum {}", format_time(until)),
    }
}

/// Compares what was read now with the stored state. `interval` sets the next due time.
pub fn compare(
    subject: Subject<'_>,
    previous: &SnapshotState,
    taken: &AccountSnapshot,
    now: Timestamp,
    interval: Duration,
) -> Compared {
    let generation = previous.generation + 1;
    let actor_handle = format!("@{}", subject.handle.trim().trim_start_matches('@'));
    let mut next = SnapshotState {
        generation,
        taken_at: Some(now),
        following: previous.following.clone(),
        following_at: previous.following_at,
        following_hidden: taken.following.is_none(),
        profile: previous.profile.clone(),
        next_due_at: Some(now + interval),
        last_error: None,
    };
    let base = |kind: ActivityKind, id: String, text: String, target: Option<Target>| Activity {
        platform: subject.platform,
        platform_activity_id: id,
        kind,
        account_id: subject.account_id,
        actor_handle: actor_handle.clone(),
        text,
        target,
        url: None,
        occurred_at: now,
        time_exact: false,
        observed_at: now,
        evidence: None,
    };
    let mut activities = Vec::new();
    let mut followed: Vec<FollowedAccount> = Vec::new();
    let mut unfollowed: Vec<FollowedAccount> = Vec::new();
    let first_following = previous.following.is_none();
    let following_window = window_text(previous.following_at, now);
    if let Some(list) = &taken.following {
        let current: BTreeMap<String, FollowedAccount> = list
            .iter()
            .map(|f| (f.platform_id.clone(), f.clone()))
            .collect();
        let before = previous.following.clone().unwrap_or_default();
        for (id, account) in &current {
            if !before.contains_key(id) {
                followed.push(account.clone());
                activities.push(base(
                    ActivityKind::Follow,
                    activity_id::follow(subject.platform_id, id, generation),
                    String::new(),
                    Some(target_of(account)),
                ));
            }
        }
        for (id, account) in &before {
            if !current.contains_key(id) {
                unfollowed.push(account.clone());
                activities.push(base(
                    ActivityKind::Unfollow,
                    activity_id::unfollow(subject.platform_id, id, generation),
                    String::new(),
                    Some(target_of(account)),
                ));
            }
        }
        next.following = Some(current);
        next.following_at = Some(now);
    }
    let mut profile_change = None;
    if let Some(profile) = &taken.profile {
        let before_text = previous.profile.as_ref().map(|p| p.text());
        let after_text = profile.text();
        let changed = match &before_text {
            Some(before) => *before != after_text,
            None => !after_text.trim().is_empty(),
        };
        if changed {
            activities.push(base(
                ActivityKind::ProfileChange,
                activity_id::profile(subject.platform_id, generation),
                after_text,
                None,
            ));
            profile_change = Some(json!({
                "window": window_text(previous.taken_at, now),
                "before": previous.profile,
                "after": profile,
            }));
        }
        next.profile = Some(profile.clone());
    }
    let diff = (!activities.is_empty()).then(|| {
        let record = json!({
            "netra_snapshot_diff": 1,
            "platform": subject.platform,
            "account": actor_handle,
            "account_platform_id": subject.platform_id,
            "generation": generation,
            "previous_snapshot_at": previous.taken_at,
            "snapshot_at": now,
            "following_window": following_window,
            "following_hidden": next.following_hidden,
            "followed": followed,
            "unfollowed": unfollowed,
            "profile": profile_change,
            "responses": taken.evidence.iter().map(|f| json!({
                "url": f.url,
                "sha256": f.sha256,
                "fetched_at": f.fetched_at,
            })).collect::<Vec<_>>(),
        });
        let body = serde_json::to_vec(&record).expect("JSON values serialise");
        EvidenceBlob {
            sha256: hex::encode(Sha256::digest(&body)),
            url: format!(
                "netra:snapshot/{}/{}/{generation}",
                subject.platform, subject.platform_id
            ),
            fetched_at: now,
            status: 200,
            content_type: DIFF_CONTENT_TYPE.to_string(),
            body,
        }
    });
    if let Some(blob) = &diff {
        for activity in &mut activities {
            activity.evidence = Some(EvidenceRef {
                sha256: blob.sha256.clone(),
                url: blob.url.clone(),
                fetched_at: now,
            });
        }
    }
    Compared {
        activities,
        next,
        diff,
        first_following,
    }
}

fn target_of(account: &FollowedAccount) -> Target {
    Target {
        author: account.handle.clone(),
        author_platform_id: Some(account.platform_id.clone()),
        text: account.display_name.clone(),
        url: account.url.clone(),
    }
}

/// The comparison record's fields a reviewer reads, from a stored evidence body.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct DiffView {
    #[serde(default)]
    pub following_window: String,
    #[serde(default)]
    pub profile: Option<ProfileDiffView>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct ProfileDiffView {
    #[serde(default)]
    pub window: String,
    #[serde(default)]
    pub before: Option<crate::model::Profile>,
    #[serde(default)]
    pub after: Option<crate::model::Profile>,
}

impl DiffView {
    /// Reads a comparison record; `None` for any other evidence.
    pub fn parse(blob: &EvidenceBlob) -> Option<DiffView> {
        (blob.content_type == DIFF_CONTENT_TYPE)
            .then(|| serde_json::from_slice(&blob.body).ok())
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Profile;

    fn subject() -> Subject<'static> {
        Subject {
            account_id: AccountId(7),
            platform: Platform::Mastodon,
            handle: "@budi@m.example",
            platform_id: "109",
        }
    }

    fn follows(ids: &[&str]) -> AccountSnapshot {
        AccountSnapshot {
            following: Some(
                ids.iter()
                    .map(|id| FollowedAccount {
                        platform_id: id.to_string(),
                        handle: format!("@user{id}@m.example"),
                        display_name: String::new(),
                        url: None,
                    })
                    .collect(),
            ),
            profile: None,
            evidence: Vec::new(),
        }
    }

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + hours * 3600).unwrap()
    }

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn follows_unfollows_and_following_again_are_new_activities_but_a_repeat_is_not() {
        let first = compare(
            subject(),
            &SnapshotState::default(),
            &follows(&["1", "2"]),
            at(0),
            DAY,
        );
        assert!(first.first_following);
        assert_eq!(first.activities.len(), 2);
        assert!(first.activities.iter().all(|a| !a.time_exact));
        let same = compare(subject(), &first.next, &follows(&["1", "2"]), at(24), DAY);
        assert!(
            same.activities.is_empty(),
            "the same follows seen again are no change"
        );
        assert!(same.diff.is_none());
        let dropped = compare(subject(), &same.next, &follows(&["1"]), at(48), DAY);
        assert_eq!(dropped.activities.len(), 1);
        assert_eq!(dropped.activities[0].kind, ActivityKind::Unfollow);
        let again = compare(subject(), &dropped.next, &follows(&["1", "2"]), at(72), DAY);
        assert_eq!(again.activities.len(), 1);
        let refollow = &again.activities[0];
        assert_eq!(refollow.kind, ActivityKind::Follow);
        assert_ne!(
            refollow.platform_activity_id, first.activities[1].platform_activity_id,
            "following again is a new activity"
        );
        assert_eq!(
            refollow.finding_subject(),
            first.activities[1].finding_subject(),
            "but the same relation for findings"
        );
        let diff = DiffView::parse(again.diff.as_ref().unwrap()).unwrap();
        assert!(diff.following_window.starts_with("antara "), "{diff:?}");
        assert_eq!(again.next.generation, 4);
    }

    #[test]
    fn a_hidden_list_keeps_the_last_known_follows_and_raises_no_unfollows() {
        let first = compare(
            subject(),
            &SnapshotState::default(),
            &follows(&["1"]),
            at(0),
            DAY,
        );
        let hidden = AccountSnapshot::default();
        let later = compare(subject(), &first.next, &hidden, at(24), DAY);
        assert!(later.activities.is_empty());
        assert!(later.next.following_hidden);
        assert_eq!(later.next.following, first.next.following);
        let visible = compare(subject(), &later.next, &follows(&["1"]), at(48), DAY);
        assert!(visible.activities.is_empty());
        assert!(!visible.next.following_hidden);
    }

    #[test]
    fn a_profile_change_carries_the_new_words_and_both_versions_in_evidence() {
        let profile = |note: &str| AccountSnapshot {
            following: None,
            profile: Some(Profile {
                display_name: "Budi".into(),
                note: note.into(),
                ..Profile::default()
            }),
            evidence: Vec::new(),
        };
        let first = compare(
            subject(),
            &SnapshotState::default(),
            &profile("Guru."),
            at(0),
            DAY,
        );
        assert_eq!(first.activities.len(), 1);
        let same = compare(subject(), &first.next, &profile("Guru."), at(24), DAY);
        assert!(same.activities.is_empty());
        let changed = compare(
            subject(),
            &same.next,
            &profile("Kader partai."),
            at(48),
            DAY,
        );
        assert_eq!(changed.activities[0].kind, ActivityKind::ProfileChange);
        assert_eq!(changed.activities[0].text, "Budi\nKader partai.");
        let view = DiffView::parse(changed.diff.as_ref().unwrap()).unwrap();
        let profile = view.profile.unwrap();
        assert_eq!(profile.before.unwrap().note, "Guru.");
        assert_eq!(profile.after.unwrap().note, "Kader partai.");
        assert!(profile.window.starts_with("antara "));
        assert_eq!(
            changed.activities[0].evidence.as_ref().unwrap().sha256,
            changed.diff.as_ref().unwrap().sha256
        );
    }
}
