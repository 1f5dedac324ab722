//! The pipeline's judge built from the word lists and rules: puts an activity in its election
//! context (the day it happened, where the employee works, which accounts are watched) and
//! keeps the detections at or above the review threshold.
//!
//! Days are counted in Western Indonesia Time (UTC+7), where election calendars are set, so a
//! post at 23:30 WIB on the last campaign day is still in the campaign.

use std::sync::{Arc, Mutex, RwLock};

use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;

use crate::detect::{detect, detect_with, Lexicon, Rules, Scope, Scratch, Stage, WatchedAccounts};
use crate::model::{Activity, Detection, Employee, UnitPath, WatchedAccount};
use crate::pipeline::Judge;

/// Accounts of employees in a region whose election is campaigning are read this much more
/// often (as if they posted this many times as much).
pub const CAMPAIGN_WEIGHT: f64 = 4.0;

/// Detection over compiled word lists.
pub struct WordListJudge {
    lexicon: Arc<Lexicon>,
    rules: Arc<Rules>,
    threshold: f32,
    /// Watched accounts from the registry, beyond the word lists' own.
    watched: RwLock<Arc<WatchedAccounts>>,
    /// Detection's buffers, kept from one activity to the next.
    scratch: Mutex<Scratch>,
}

impl WordListJudge {
    pub fn new(lexicon: Arc<Lexicon>, rules: Arc<Rules>, threshold: f32) -> WordListJudge {
        WordListJudge {
            lexicon,
            rules,
            threshold,
            watched: RwLock::default(),
            scratch: Mutex::default(),
        }
    }

    /// `netra check` over the API: what would be flagged in a text in any campaign, as the
    /// JSON `netra check --json` prints.
    pub fn check_json(
        &self,
        text: &str,
        kind: crate::model::ActivityKind,
        target_author: Option<&str>,
        target_text: Option<&str>,
    ) -> String {
        let activity = crate::detect::eval::activity(
            crate::model::Platform::X,
            "check",
            kind,
            text,
            target_author,
            target_text,
        );
        let scope = crate::detect::Scope::campaign_everywhere(&self.lexicon);
        let found = crate::detect::detect(&activity, &self.lexicon, &self.rules, &scope);
        let shown: Vec<_> = crate::detect::eval::flagged(&found, self.threshold).collect();
        crate::detect::explain::to_json(&shown)
    }

    /// The entity ids of an election, or `None` when the word lists do not know it.
    pub fn election_entities(&self, election_id: &str) -> Option<Vec<String>> {
        let index = self
            .lexicon
            .elections
            .iter()
            .position(|e| e.id == election_id)?;
        Some(
            self.lexicon
                .entities
                .iter()
                .filter(|e| e.election == index)
                .map(|e| e.id.clone())
                .collect(),
        )
    }

    /// Whether an entity id exists in the word lists.
    pub fn knows_entity(&self, entity_id: &str) -> bool {
        self.lexicon.entities.iter().any(|e| e.id == entity_id)
    }

    /// The word lists' region of a unit: the deepest path segment whose words (split on `-`)
    /// name a region, so `kemenkumham/kanwil-sumsel/lapas-palembang` is in `sumsel`.
    pub fn region_of(&self, unit: &UnitPath) -> Option<&str> {
        unit.as_str().rsplit('/').find_map(|segment| {
            segment.split(['-', '_', '.']).find_map(|word| {
                self.lexicon
                    .regions
                    .iter()
                    .find(|region| region.as_str() == word)
                    .map(String::as_str)
            })
        })
    }

    fn scope(&self, employee: &Employee, at: Timestamp) -> Scope {
        let day = at.to_zoned(wib()).date();
        let watched = self.watched.read().unwrap_or_else(|p| p.into_inner());
        Scope::on(&self.lexicon, day, self.region_of(&employee.unit)).watching(Arc::clone(&watched))
    }
}

fn wib() -> TimeZone {
    TimeZone::fixed(Offset::constant(7))
}

impl Judge for WordListJudge {
    fn judge(&self, activity: &Activity, employee: &Employee) -> Vec<Detection> {
        let scope = self.scope(employee, activity.occurred_at);
        let found = match self.scratch.try_lock() {
            Ok(mut scratch) => {
                detect_with(&mut scratch, activity, &self.lexicon, &self.rules, &scope)
            }
            // busy with another activity (or poisoned by a panic): fresh buffers give the
            // same result
            Err(_) => detect(activity, &self.lexicon, &self.rules, &scope),
        };
        found
            .into_iter()
            .filter(|d| d.score >= self.threshold)
            .collect()
    }

    fn campaign_weight(&self, employee: &Employee, now: Timestamp) -> f64 {
        let scope = self.scope(employee, now);
        let campaigning = (0..self.lexicon.elections.len())
            .any(|election| scope.stage_of(election) == Some(Stage::Campaign));
        if campaigning {
            CAMPAIGN_WEIGHT
        } else {
            1.0
        }
    }

    fn update_watched(&self, watched: &[WatchedAccount]) {
        let mut accounts = WatchedAccounts::default();
        for w in watched.iter().filter(|w| w.active) {
            if !accounts.insert(&self.lexicon, &w.handle, &w.entity_id) {
                tracing::warn!(handle = %w.handle, entity = %w.entity_id,
                    "Watched account names an entity the word lists do not know; ignored.");
            }
        }
        *self.watched.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(accounts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccountId, ActivityKind, EmploymentStatus, Platform};
    use std::path::Path;

    fn judge() -> WordListJudge {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let lexicon = Lexicon::load(&root.join("wordlists")).expect("shipped word lists load");
        let rules = Rules::load(&root.join("config/rules.toml")).expect("shipped rules load");
        WordListJudge::new(Arc::new(lexicon), Arc::new(rules), 0.5)
    }

    fn employee(unit: &str) -> Employee {
        Employee {
            employee_id: "1".into(),
            name: "A".into(),
            unit: UnitPath::parse(unit).unwrap(),
            position: "Staf".into(),
            status: EmploymentStatus::Pns,
            active: true,
            registered_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn post(text: &str, at: &str) -> Activity {
        Activity {
            platform: Platform::Mastodon,
            platform_activity_id: "1".into(),
            kind: ActivityKind::Post,
            account_id: AccountId(1),
            actor_handle: "@a@m.example".into(),
            text: text.into(),
            target: None,
            url: None,
            occurred_at: at.parse().unwrap(),
            time_exact: true,
            observed_at: at.parse().unwrap(),
            evidence: None,
        }
    }

    #[test]
    fn units_map_to_the_word_lists_regions() {
        let judge = judge();
        assert_eq!(
            judge.region_of(&UnitPath::parse("kemenkumham/kanwil-sumsel/lapas-palembang").unwrap()),
            Some("sumsel")
        );
        assert_eq!(
            judge.region_of(&UnitPath::parse("kemenkeu/setjen").unwrap()),
            None
        );
    }

    #[test]
    fn the_election_calendar_decides_what_counts_and_how_often_to_look() {
        let judge = judge();
        let support = "Ayo coblos Prabowo-Gibran nomor 2, lanjutkan!";
        let someone = employee("kemenkumham/kanwil-dki");
        let in_campaign = judge.judge(&post(support, "2024-01-15T03:00:00Z"), &someone);
        assert!(
            !in_campaign.is_empty(),
            "support for a pair during its campaign is flagged"
        );
        assert!(in_campaign.iter().all(|d| d.score >= 0.5));
        assert_eq!(
            judge.campaign_weight(&someone, "2024-01-15T03:00:00Z".parse().unwrap()),
            CAMPAIGN_WEIGHT
        );
        assert_eq!(
            judge.campaign_weight(&someone, "2022-01-15T03:00:00Z".parse().unwrap()),
            1.0
        );
    }
}
