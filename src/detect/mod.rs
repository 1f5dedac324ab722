//! Detection: deciding, for one activity, whether it may breach ASN neutrality, about whom,
//! under which SKB form, and why (design §7).
//!
//! [`detect`] is pure: it reads the activity, the compiled [`Lexicon`] and [`Rules`] and a
//! [`Scope`] (which elections are in which stage, where the person works, extra watched
//! accounts) and returns detections. No I/O, no clock, no globals, so the same input always
//! gives the same output and the daemon can compile the word lists once and swap them on reload.
//! [`detect_with`] is the same with a [`Scratch`] of buffers kept from one call to the next, for
//! callers that judge activity after activity: what the buffers held never shows in a result.
//!
//! | module | job |
//! |---|---|
//! | [`commands`] | `netra check`, `netra eval`, `netra wordlists lint` |
//! | [`normalize`] | offset-preserving normalisation of informal Indonesian |
//! | [`matcher`] | whole-word Aho-Corasick matching on normalised text |
//! | [`wordlists`] | reading and linting the word-list files |
//! | [`lexicon`] | compiling word lists into the automaton, entities and calendars |
//! | [`signals`] | per-text evidence: confirmed entities, ballot numbers, cues |
//! | [`rules`] | `config/rules.toml`: conditions, scores, reasons, examples |
//! | [`explain`] | rendering detections for people (`netra check`) |
//! | [`eval`] | scoring a labelled JSONL file (`netra eval`) |

pub mod commands;
pub mod eval;
pub mod explain;
pub mod lexicon;
pub mod matcher;
pub mod normalize;
pub mod rules;
pub mod signals;
mod swar;
pub mod wordlists;

use std::collections::HashMap;
use std::sync::Arc;

use jiff::civil::Date;

pub use lexicon::{Lexicon, Stage};
pub use rules::{Rules, RulesError};
pub use signals::Scratch;

use crate::model::{Activity, Detection};

/// Which elections count for an activity and how: the stage of each election (none: out of
/// scope), the region the person works in, and watched accounts known beyond the word lists.
#[derive(Debug, Clone)]
pub struct Scope {
    stages: Vec<Option<Stage>>,
    /// Region index in the lexicon; when set, only that region's regional elections count.
    pub region: Option<usize>,
    extra_watched: Arc<WatchedAccounts>,
}

/// Watched accounts known beyond the word lists (the store's registry), by canonical handle.
/// Built once when the registry changes and shared by every activity's [`Scope`]: rebuilt per
/// activity, it took about two fifths of judging's time in the ingest profile.
#[derive(Debug, Clone, Default)]
pub struct WatchedAccounts {
    entity_by_handle: HashMap<String, usize>,
}

impl WatchedAccounts {
    /// Adds a watched account. Returns false when the entity id is unknown.
    pub fn insert(&mut self, lex: &Lexicon, handle: &str, entity_id: &str) -> bool {
        match lex.entity_id(entity_id) {
            Some(e) => {
                self.entity_by_handle
                    .insert(lexicon::canonical_handle(handle), e);
                true
            }
            None => false,
        }
    }

    fn get(&self, handle: &str) -> Option<usize> {
        self.entity_by_handle
            .get(&lexicon::canonical_handle(handle))
            .copied()
    }
}

impl Scope {
    /// Every election in its campaign stage, no region: what `netra eval` and `netra check` use
    /// when the data carries no dates.
    pub fn campaign_everywhere(lex: &Lexicon) -> Scope {
        Scope {
            stages: vec![Some(Stage::Campaign); lex.elections.len()],
            region: None,
            extra_watched: Arc::default(),
        }
    }

    /// Stages on `day` from the calendars; with `region` (a region id of the word lists),
    /// regional elections elsewhere are out of scope. Unknown region ids are ignored.
    pub fn on(lex: &Lexicon, day: Date, region: Option<&str>) -> Scope {
        let region = region.and_then(|r| lex.regions.iter().position(|x| x == r));
        let stages = lex
            .elections
            .iter()
            .map(|e| match (region, e.region) {
                (Some(r), Some(er)) if r != er => None,
                _ => Some(e.calendar.stage_on(day)),
            })
            .collect();
        Scope {
            stages,
            region,
            extra_watched: Arc::default(),
        }
    }

    /// The scope with these watched accounts from outside the word lists.
    pub fn watching(mut self, watched: Arc<WatchedAccounts>) -> Scope {
        self.extra_watched = watched;
        self
    }

    /// Adds one watched account from outside the word lists. Returns false when the entity id
    /// is unknown.
    pub fn watch(&mut self, lex: &Lexicon, handle: &str, entity_id: &str) -> bool {
        Arc::make_mut(&mut self.extra_watched).insert(lex, handle, entity_id)
    }

    pub fn stage_of(&self, election: usize) -> Option<Stage> {
        self.stages.get(election).copied().flatten()
    }

    pub(crate) fn extra_watched(&self, handle: &str) -> Option<usize> {
        self.extra_watched.get(handle)
    }
}

/// Judges one activity. Detections come sorted by score, highest first; shadow-rule
/// detections are included with their status so they can be counted.
pub fn detect(activity: &Activity, lex: &Lexicon, rules: &Rules, scope: &Scope) -> Vec<Detection> {
    rules.evaluate(activity, lex, scope)
}

/// [`detect`], reusing the buffers in `scratch`: what a caller judging many activities in a
/// row does. The result is the same whatever the scratch held before.
pub fn detect_with(
    scratch: &mut Scratch,
    activity: &Activity,
    lex: &Lexicon,
    rules: &Rules,
    scope: &Scope,
) -> Vec<Detection> {
    rules.evaluate_with(activity, lex, scope, scratch)
}
