//! The compiled word lists: elections with their calendars, entities, cue classes, regions,
//! slang, one Aho-Corasick automaton over every normalised term, the regex set, and the
//! official accounts. Built once from `wordlists/` and shared read-only by every `detect` call;
//! reloading means compiling a new one and swapping it in.

use std::collections::HashMap;
use std::path::Path;

use jiff::civil::Date;
use regex::{Regex, RegexSet};

use super::matcher::{is_word_byte, Boundary, Matcher};
use super::normalize::{normalize, SlangMap, HAND_SIGN_TOKENS};
use super::wordlists::{self, Level, Origin, Problem, RawWordlists, WordlistError};

/// Where an election stands on a given day. Rules may require stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Before,
    CandidatesSet,
    NumbersDrawn,
    Campaign,
    Quiet,
    VoteDay,
    After,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Before => "before",
            Stage::CandidatesSet => "candidates_set",
            Stage::NumbersDrawn => "numbers_drawn",
            Stage::Campaign => "campaign",
            Stage::Quiet => "quiet",
            Stage::VoteDay => "vote_day",
            Stage::After => "after",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        [
            Stage::Before,
            Stage::CandidatesSet,
            Stage::NumbersDrawn,
            Stage::Campaign,
            Stage::Quiet,
            Stage::VoteDay,
            Stage::After,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub candidates_set: Option<Date>,
    pub numbers_drawn: Option<Date>,
    pub campaign: Option<(Date, Date)>,
    pub quiet: Option<(Date, Date)>,
    pub vote: Option<Date>,
}

impl Calendar {
    /// The stage on `day`; without the relevant dates the earlier stage holds.
    pub fn stage_on(&self, day: Date) -> Stage {
        if let Some(vote) = self.vote {
            if day > vote {
                return Stage::After;
            }
            if day == vote {
                return Stage::VoteDay;
            }
        }
        if let Some((s, e)) = self.quiet {
            if day >= s && day <= e {
                return Stage::Quiet;
            }
        }
        if let Some((s, e)) = self.campaign {
            if day >= s && day <= e {
                return Stage::Campaign;
            }
        }
        if self.numbers_drawn.is_some_and(|d| day >= d) {
            return Stage::NumbersDrawn;
        }
        if self.candidates_set.is_some_and(|d| day >= d) {
            return Stage::CandidatesSet;
        }
        Stage::Before
    }
}

#[derive(Debug, Clone)]
pub struct Election {
    pub id: String,
    pub name: String,
    /// `None` for a national election, else the region id it is held in.
    pub region: Option<usize>,
    pub calendar: Calendar,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    Pair,
    Party,
    Candidate,
}

#[derive(Debug, Clone)]
pub struct Entity {
    pub id: String,
    pub election: usize,
    pub kind: EntityKind,
    pub number: Option<u8>,
    /// Short name for reasons (`Prabowo–Gibran`, `Gerindra`).
    pub label: String,
}

/// What a mention term says about its entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MentionClass {
    Name,
    Slogan,
    Hashtag,
    /// Phrases opponents use against the entity (`petugas partai`, `#TolakDinasti`).
    Against,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MentionTerm {
    pub entity: usize,
    pub class: MentionClass,
    /// Counts only with context (`amin`, `abah`, `garuda`).
    pub ambiguous: bool,
    /// Counts only when the text is about the entity's region (`petahana`).
    pub regional: bool,
    /// An acronym that is a stronger signal when written in capitals (`AMIN`, `RIDO`).
    pub acronym: bool,
    /// Counts only beside a confirmed mention or the ballot number of its own entity, never on
    /// talk of elections alone: everyday phrases that are also slogans (`perubahan`) and
    /// election talk that opponents also used as an attack line (`dua putaran`).
    pub needs_entity: bool,
    /// A name that is also an everyday lower-case word (`ganjar`, to reward): written with a
    /// capital it counts as a plain name, in lower case only as an ambiguous one.
    pub capital_name: bool,
}

/// Classes of cue words, one `[section]` of `cues.txt` each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CueClass {
    /// The text is about an election (`pemilu`, `capres`, `coblos`).
    Election,
    /// Words that make a bare number a ballot number (`nomor`, `no urut`, `coblos`).
    Ballot,
    /// Words after which a number is not a ballot number (`tps`, `rt`, `juara`).
    NumberBlocker,
    /// Words next to a number that make it a hand sign (`jari`, `driji`).
    Finger,
    /// The text is about parties (`partai`, `caleg`, `dapil`).
    Party,
    Support,
    SupportWeak,
    Invite,
    Share,
    Negative,
    Negator,
    Neutral,
    Photo,
    Attribute,
}

impl CueClass {
    pub const ALL: [(&'static str, CueClass); 14] = [
        ("election", CueClass::Election),
        ("ballot", CueClass::Ballot),
        ("number_blocker", CueClass::NumberBlocker),
        ("finger", CueClass::Finger),
        ("party", CueClass::Party),
        ("support", CueClass::Support),
        ("support_weak", CueClass::SupportWeak),
        ("invite", CueClass::Invite),
        ("share", CueClass::Share),
        ("negative", CueClass::Negative),
        ("negator", CueClass::Negator),
        ("neutral", CueClass::Neutral),
        ("photo", CueClass::Photo),
        ("attribute", CueClass::Attribute),
    ];
}

/// What one pattern of the automaton stands for; a pattern may stand for several things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TermRef {
    Mention(MentionTerm),
    Cue(CueClass),
    /// A number written as digits or a word (`02`, `dua`, `loro`).
    Number(u8),
    /// A hand-sign emoji token.
    HandSign(u8),
    Region(usize),
    /// A phrase that points at one election (its vote day, its office words).
    ElectionCue(usize),
}

/// Regex-set patterns: what their first capture group means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    /// Capture 1 is a ballot number written in a ballot phrase.
    Ballot,
    /// Capture 1 is a number of raised fingers.
    HandSign,
}

#[derive(Debug)]
pub struct Lexicon {
    pub elections: Vec<Election>,
    pub entities: Vec<Entity>,
    pub regions: Vec<String>,
    pub slang: SlangMap,
    /// Public so the profiling driver can time it alone.
    pub matcher: Matcher,
    /// Per automaton pattern, what it stands for.
    pub(crate) terms: Vec<Vec<TermRef>>,
    /// Per automaton pattern, whether it holds a one-word ballot or finger cue (or, for a
    /// prefix pattern, the start of one). Each regex pattern needs such a word (the lint warns
    /// otherwise), and as the word is a key of its own, the matcher reports every occurrence
    /// inside some hit: its own, a longer key that starts with it, or an earlier key that
    /// covers it (`jangan salah pilih`). So a text without such a hit cannot match any regex
    /// pattern, and `analyse` skips the regex set.
    pub(crate) opens_regexes: Vec<bool>,
    /// Per automaton pattern, whether it stands for a name, a number or a hand sign: a text
    /// with no hit of one (and no regex match) names no entity.
    pub(crate) may_name: Vec<bool>,
    pub(crate) patterns: Vec<String>,
    pub(crate) regex_set: RegexSet,
    pub(crate) regexes: Vec<(Regex, PatternKind)>,
    /// The longest text any regex pattern can match, when each has a longest: the set then
    /// runs only that far around the hits that open it (`signals::regex_windows`), not over
    /// the whole text. `None` (a `+`, `*` or `^` somewhere) means the whole text.
    pub(crate) regex_reach: Option<usize>,
    /// Canonical handle → entity, from the `account` entries.
    pub(crate) accounts: HashMap<String, usize>,
    /// Handle fragments (strong names squeezed, `pdiperjuangan`) → entity, for recognising
    /// accounts named after a candidate or party that are not on the official list.
    pub(crate) handle_names: Vec<(String, usize)>,
    /// Short party acronyms, recognised in handles only beside an organisation word.
    pub(crate) party_acronyms: Vec<(String, usize)>,
    /// Number words → value (`dua` → 2), for the regex captures.
    pub(crate) number_words: HashMap<String, u8>,
    /// Per automaton pattern, whether it holds a number word (`dua`; for a prefix pattern,
    /// the start of one). As with `opens_regexes`, every number word standing as a word in a
    /// text lies inside a hit of such a pattern: a regex window without one, and without a
    /// digit, cannot capture a number (`signals::may_capture_a_number`).
    pub(crate) holds_number_word: Vec<bool>,
    entity_index: HashMap<String, usize>,
}

/// Lowercase, no leading `@`: `@PraBowo` and `prabowo` are the same account;
/// `@user@instance` becomes `user@instance`.
pub fn canonical_handle(handle: &str) -> String {
    handle.trim().trim_start_matches('@').to_lowercase()
}

const ENTITY_KEYS: [&str; 19] = [
    "regional_against",
    "election",
    "kind",
    "number",
    "label",
    "name",
    "nickname",
    "acronym",
    "slogan",
    "hashtag",
    "hand_sign",
    "against",
    "ambiguous",
    "name_or_word",
    "ambiguous_slogan",
    "ambiguous_against",
    "weak_against",
    "regional",
    "account",
];

impl Lexicon {
    /// Reads and compiles a word-list directory. Any error-level problem fails the load, with
    /// every problem listed.
    pub fn load(dir: &Path) -> Result<Lexicon, WordlistError> {
        let mut problems = Vec::new();
        let raw = wordlists::read_dir(dir, &mut problems)?;
        let lexicon = Lexicon::compile_raw(&raw, &mut problems)?;
        if problems.iter().any(|p| p.level == Level::Error) {
            return Err(WordlistError::Invalid(problems));
        }
        Ok(lexicon)
    }

    pub fn entity_id(&self, id: &str) -> Option<usize> {
        self.entity_index.get(id).copied()
    }

    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Compiles parsed word lists, appending every consistency problem to `problems`.
    /// Returns `Err` only when the automaton or a regex cannot be built at all.
    pub fn compile_raw(
        raw: &RawWordlists,
        problems: &mut Vec<Problem>,
    ) -> Result<Lexicon, WordlistError> {
        macro_rules! err {
            ($origin:expr, $message:expr) => {
                problems.push(Problem {
                    level: Level::Error,
                    origin: ($origin).clone(),
                    message: $message,
                })
            };
        }

        // regions
        let mut regions = Vec::new();
        let mut region_index = HashMap::new();
        for s in &raw.regions {
            if region_index.insert(s.id.clone(), regions.len()).is_some() {
                err!(&s.origin, format!("region '{}' is defined twice", s.id));
            }
            regions.push(s.id.clone());
        }

        // slang
        let mut slang = SlangMap::new();
        for s in &raw.slang {
            for e in &s.entries {
                if e.key != "map" {
                    err!(
                        &e.origin,
                        format!("unknown key '{}' in slang (expected 'map')", e.key)
                    );
                    continue;
                }
                let Some((from, to)) = e.value.split_once("->") else {
                    err!(
                        &e.origin,
                        format!(
                            "malformed slang entry '{}': expected 'informal -> formal'",
                            e.value
                        )
                    );
                    continue;
                };
                let (from, to) = (from.trim().to_lowercase(), to.trim().to_lowercase());
                if from.is_empty() || to.is_empty() {
                    err!(&e.origin, "empty slang entry".to_string());
                    continue;
                }
                if slang.get(&from).is_some() {
                    problems.push(Problem {
                        level: Level::Warning,
                        origin: e.origin.clone(),
                        message: format!("slang '{from}' is mapped twice; the first mapping wins"),
                    });
                    continue;
                }
                if !slang.insert(&from, &to) {
                    problems.push(Problem {
                        level: Level::Warning,
                        origin: e.origin.clone(),
                        message: format!("slang '{from} -> {to}' skipped: not single lowercase words, or it would chain with another entry"),
                    });
                }
            }
        }

        // elections
        let mut elections = Vec::new();
        let mut election_index = HashMap::new();
        let mut date_terms: Vec<(String, usize)> = Vec::new();
        let mut office_terms: Vec<(String, usize, Origin)> = Vec::new();
        for s in &raw.elections {
            let mut calendar = Calendar {
                candidates_set: None,
                numbers_drawn: None,
                campaign: None,
                quiet: None,
                vote: None,
            };
            let mut region = None;
            let idx = elections.len();
            for e in &s.entries {
                match e.key.as_str() {
                    "name" | "scope" => {}
                    "region" => match region_index.get(&e.value) {
                        Some(&r) => region = Some(r),
                        None => err!(&e.origin, format!("unknown region id '{}'", e.value)),
                    },
                    "candidates_set" | "numbers_drawn" | "vote" => match e.value.parse::<Date>() {
                        Ok(d) => match e.key.as_str() {
                            "candidates_set" => calendar.candidates_set = Some(d),
                            "numbers_drawn" => calendar.numbers_drawn = Some(d),
                            _ => calendar.vote = Some(d),
                        },
                        Err(_) => err!(
                            &e.origin,
                            format!("'{}' is not a date (YYYY-MM-DD)", e.value)
                        ),
                    },
                    "campaign" | "quiet" => {
                        let parsed = e.value.split_once("..").and_then(|(a, b)| {
                            Some((
                                a.trim().parse::<Date>().ok()?,
                                b.trim().parse::<Date>().ok()?,
                            ))
                        });
                        match parsed {
                            Some(range) if range.0 <= range.1 => {
                                if e.key == "campaign" {
                                    calendar.campaign = Some(range)
                                } else {
                                    calendar.quiet = Some(range)
                                }
                            }
                            _ => err!(
                                &e.origin,
                                format!(
                                    "'{}' is not a date range (YYYY-MM-DD..YYYY-MM-DD)",
                                    e.value
                                )
                            ),
                        }
                    }
                    "office" => office_terms.push((e.value.clone(), idx, e.origin.clone())),
                    other => err!(
                        &e.origin,
                        format!("unknown key '{other}' in election [{}]", s.id)
                    ),
                }
            }
            let Some(name) = s.first("name") else {
                err!(&s.origin, format!("election [{}] has no name", s.id));
                continue;
            };
            if let Some(vote) = calendar.vote {
                for t in vote_day_phrases(vote) {
                    date_terms.push((t, idx));
                }
            }
            if election_index.insert(s.id.clone(), idx).is_some() {
                err!(&s.origin, format!("election '{}' is defined twice", s.id));
            }
            elections.push(Election {
                id: s.id.clone(),
                name: name.value.clone(),
                region,
                calendar,
            });
        }

        // terms of the automaton
        let mut builder = TermsBuilder::default();
        let norm = |t: &str| normalize(t, &slang).text;
        for (t, e) in &date_terms {
            builder.add(&norm(t), Boundary::Word, TermRef::ElectionCue(*e));
        }
        for (t, e, origin) in &office_terms {
            let n = norm(t);
            if n.is_empty() {
                err!(origin, format!("'{t}' is empty after normalisation"));
            }
            builder.add(&n, Boundary::Word, TermRef::ElectionCue(*e));
        }
        for (i, token) in HAND_SIGN_TOKENS.iter().enumerate() {
            builder.add(token, Boundary::Word, TermRef::HandSign(i as u8 + 1));
        }
        for n in 1..=24u8 {
            builder.add(&n.to_string(), Boundary::Word, TermRef::Number(n));
            builder.add(&format!("{n:02}"), Boundary::Word, TermRef::Number(n));
        }
        for (r, s) in raw.regions.iter().enumerate() {
            for e in &s.entries {
                if e.key != "cue" {
                    err!(
                        &e.origin,
                        format!(
                            "unknown key '{}' in region [{}] (expected 'cue')",
                            e.key, s.id
                        )
                    );
                    continue;
                }
                builder.add(&norm(&e.value), Boundary::Word, TermRef::Region(r));
            }
        }
        let mut number_words = HashMap::new();
        // the one-word ballot and finger cues: a pattern that names none of them is never
        // tried (see `Lexicon::opens_regexes`)
        let mut pattern_gates: Vec<String> = Vec::new();
        for s in &raw.cues {
            if s.id == "numbers" {
                for e in &s.entries {
                    match e.key.parse::<u8>() {
                        Ok(n) if (1..=24).contains(&n) => {
                            let w = norm(&e.value);
                            number_words.insert(w.clone(), n);
                            builder.add(&w, Boundary::Word, TermRef::Number(n));
                        }
                        _ => err!(
                            &e.origin,
                            format!("number word key '{}' must be a number 1-24", e.key)
                        ),
                    }
                }
                continue;
            }
            let Some(&(_, class)) = CueClass::ALL.iter().find(|(name, _)| *name == s.id) else {
                err!(&s.origin, format!("unknown cue list [{}]", s.id));
                continue;
            };
            for e in &s.entries {
                if e.key != "cue" {
                    err!(
                        &e.origin,
                        format!(
                            "unknown key '{}' in cue list [{}] (expected 'cue')",
                            e.key, s.id
                        )
                    );
                    continue;
                }
                let (text, boundary) = match e.value.strip_suffix('*') {
                    Some(stem) => (stem, Boundary::Prefix),
                    None => (e.value.as_str(), Boundary::Word),
                };
                let n = norm(text);
                if n.is_empty() {
                    err!(
                        &e.origin,
                        format!("cue '{}' is empty after normalisation", e.value)
                    );
                    continue;
                }
                let one_word = n.bytes().all(is_word_byte);
                if one_word && matches!(class, CueClass::Ballot | CueClass::Finger) {
                    pattern_gates.push(n.clone());
                }
                builder.add(&n, boundary, TermRef::Cue(class));
            }
        }

        // entities
        let mut entities = Vec::new();
        let mut entity_index = HashMap::new();
        for s in &raw.entities {
            if entity_index.contains_key(&s.id) {
                err!(&s.origin, format!("entity '{}' is defined twice", s.id));
                continue;
            }
            entity_index.insert(s.id.clone(), entities.len());
            entities.push(Entity {
                id: s.id.clone(),
                election: 0,
                kind: EntityKind::Candidate,
                number: None,
                label: s.id.clone(),
            });
        }
        let mut accounts = HashMap::new();
        let mut handle_names = Vec::new();
        let mut party_acronyms: Vec<(String, usize)> = Vec::new();
        // normalised term -> (entity, origin) for the duplicate check
        let mut seen: HashMap<String, (usize, Origin, bool)> = HashMap::new();
        for s in &raw.entities {
            let Some(&idx) = entity_index.get(&s.id) else {
                continue;
            };
            if entities[idx].id != s.id {
                continue;
            }
            if !s.id.contains(':') {
                err!(
                    &s.origin,
                    format!(
                        "entity id '{}' must look like 'election:key' or 'party:name'",
                        s.id
                    )
                );
            }
            match s.first("election") {
                Some(e) => match election_index.get(&e.value) {
                    Some(&el) => entities[idx].election = el,
                    None => err!(&e.origin, format!("unknown election id '{}'", e.value)),
                },
                None => err!(&s.origin, format!("entity [{}] has no election", s.id)),
            }
            match s.first("kind").map(|e| (e, e.value.as_str())) {
                Some((_, "pair")) => entities[idx].kind = EntityKind::Pair,
                Some((_, "party")) => entities[idx].kind = EntityKind::Party,
                Some((_, "candidate")) => entities[idx].kind = EntityKind::Candidate,
                Some((e, other)) => err!(
                    &e.origin,
                    format!("unknown entity kind '{other}' (pair, party, candidate)")
                ),
                None => err!(&s.origin, format!("entity [{}] has no kind", s.id)),
            }
            if let Some(e) = s.first("number") {
                match e.value.parse::<u8>() {
                    Ok(n) if n >= 1 => entities[idx].number = Some(n),
                    _ => err!(
                        &e.origin,
                        format!("ballot number '{}' is not a positive number", e.value)
                    ),
                }
            }
            if let Some(e) = s.first("label") {
                entities[idx].label = e.value.clone();
            }
            let ambiguous_names: Vec<String> =
                s.values("ambiguous").map(|e| norm(&e.value)).collect();
            for e in &s.entries {
                if !ENTITY_KEYS.contains(&e.key.as_str()) && e.key != "party" {
                    err!(
                        &e.origin,
                        format!("unknown key '{}' in entity [{}]", e.key, s.id)
                    );
                    continue;
                }
                if e.key == "party" {
                    let id = format!("party:{}", e.value);
                    if !entity_index.contains_key(&id) {
                        err!(&e.origin, format!("unknown party id '{id}'"));
                    }
                    continue;
                }
                if e.key == "account" {
                    let Some((platform, handle)) = e.value.split_once(':') else {
                        err!(
                            &e.origin,
                            format!("account '{}' must be 'platform:handle'", e.value)
                        );
                        continue;
                    };
                    if platform.trim().parse::<crate::model::Platform>().is_err() {
                        err!(
                            &e.origin,
                            format!("unknown platform '{}' in account", platform.trim())
                        );
                        continue;
                    }
                    let h = canonical_handle(handle);
                    if let Some(&other) = accounts.get(&h) {
                        if other != idx {
                            err!(
                                &e.origin,
                                format!("account '{h}' is listed for two entities")
                            );
                        }
                    }
                    accounts.insert(h, idx);
                    continue;
                }
                let (class, ambiguous, regional) = match e.key.as_str() {
                    "name" | "nickname" | "acronym" => (MentionClass::Name, false, false),
                    "ambiguous" | "name_or_word" => (MentionClass::Name, true, false),
                    "regional" => (MentionClass::Name, true, true),
                    "regional_against" => (MentionClass::Against, true, true),
                    "slogan" => (MentionClass::Slogan, false, false),
                    "ambiguous_slogan" => (MentionClass::Slogan, true, false),
                    "hashtag" => (MentionClass::Hashtag, false, false),
                    "against" => (MentionClass::Against, false, false),
                    "ambiguous_against" | "weak_against" => (MentionClass::Against, true, false),
                    "hand_sign" => continue, // documented per entity; detected through numbers
                    _ => continue,
                };
                let n = norm(&e.value);
                if n.is_empty() {
                    err!(
                        &e.origin,
                        format!("'{}' is empty after normalisation", e.value)
                    );
                    continue;
                }
                if e.key == "hashtag" && !n.starts_with('#') {
                    err!(
                        &e.origin,
                        format!("hashtag '{}' must start with '#'", e.value)
                    );
                }
                let ambiguous = ambiguous || (e.key != "ambiguous" && ambiguous_names.contains(&n));
                let acronym = e.key == "acronym"
                    || (ambiguous
                        && e.value
                            .chars()
                            .filter(|c| c.is_alphabetic())
                            .all(|c| c.is_uppercase()));
                match seen.get(&n) {
                    Some((other, origin, other_amb))
                        if *other != idx
                            && !(ambiguous && *other_amb)
                            && class != MentionClass::Against =>
                    {
                        let level = if ambiguous || *other_amb {
                            Level::Warning
                        } else {
                            Level::Error
                        };
                        problems.push(Problem {
                            level,
                            origin: e.origin.clone(),
                            message: format!(
                                "'{}' is listed for both {} ({origin}) and {}",
                                e.value, entities[*other].id, s.id
                            ),
                        });
                    }
                    Some((other, origin, _)) if *other == idx && e.key != "ambiguous" => {
                        problems.push(Problem {
                            level: Level::Warning,
                            origin: e.origin.clone(),
                            message: format!(
                                "'{}' is listed twice for {} (first at {origin})",
                                e.value, s.id
                            ),
                        });
                    }
                    _ => {
                        seen.insert(n.clone(), (idx, e.origin.clone(), ambiguous));
                    }
                }
                // names and campaign slogans (`Timnas AMIN`) identify accounts named after them
                if !ambiguous && matches!(e.key.as_str(), "name" | "acronym" | "slogan") {
                    let squeezed: String =
                        n.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
                    if squeezed.len() >= 6 {
                        handle_names.push((squeezed, idx));
                    }
                }
                // short party acronyms (`pkb`), recognised in handles beside `dpp`, `official`...
                if entities[idx].kind == EntityKind::Party
                    && class == MentionClass::Name
                    && (2..=6).contains(&n.len())
                    && n.bytes().all(|b| b.is_ascii_lowercase())
                {
                    party_acronyms.push((n.clone(), idx));
                }
                if slang.get(&n).is_some() {
                    problems.push(Problem {
                        level: Level::Warning,
                        origin: e.origin.clone(),
                        message: format!(
                            "'{}' is also a slang key and is rewritten before matching",
                            e.value
                        ),
                    });
                }
                builder.add(
                    &n,
                    Boundary::Word,
                    TermRef::Mention(MentionTerm {
                        entity: idx,
                        class,
                        ambiguous,
                        regional,
                        acronym,
                        needs_entity: (class == MentionClass::Slogan && ambiguous)
                            || e.key == "weak_against",
                        capital_name: e.key == "name_or_word",
                    }),
                );
            }
        }
        // A titled form (`Bu Khofifah`) listed as ambiguous must not hide a plain name of the
        // same entity inside it: leftmost-longest matching reports only the longer term.
        let strong: Vec<(usize, String)> = builder
            .patterns
            .iter()
            .zip(&builder.refs)
            .flat_map(|((p, _), refs)| {
                refs.iter().filter_map(move |r| match r {
                    TermRef::Mention(m) if !m.ambiguous && m.class == MentionClass::Name => {
                        Some((m.entity, p.clone()))
                    }
                    _ => None,
                })
            })
            .collect();
        for ((p, _), refs) in builder.patterns.iter().zip(builder.refs.iter_mut()) {
            let padded = format!(" {p} ");
            for r in refs.iter_mut() {
                if let TermRef::Mention(m) = r {
                    if m.ambiguous
                        && !m.regional
                        && m.class == MentionClass::Name
                        && strong.iter().any(|(e, name)| {
                            *e == m.entity && padded.contains(&format!(" {name} "))
                        })
                    {
                        m.ambiguous = false;
                    }
                }
            }
        }
        handle_names.sort();
        handle_names.dedup();

        // regex set
        let mut regexes = Vec::new();
        // the longest any of them matches, while each has a longest (see `regex_reach`)
        let mut regex_reach = Some(0);
        for s in &raw.patterns {
            let kind = match s.id.as_str() {
                "ballot" => PatternKind::Ballot,
                "hand_sign" => PatternKind::HandSign,
                other => {
                    err!(
                        &s.origin,
                        format!("unknown pattern list [{other}] (ballot, hand_sign)")
                    );
                    continue;
                }
            };
            for e in &s.entries {
                if e.key != "pattern" {
                    err!(
                        &e.origin,
                        format!("unknown key '{}' in [{}] (expected 'pattern')", e.key, s.id)
                    );
                    continue;
                }
                if !names_a_word(&e.value, &pattern_gates) {
                    problems.push(Problem {
                        level: Level::Warning,
                        origin: e.origin.clone(),
                        message: "pattern names no one-word [ballot] or [finger] cue of \
                                  cues.txt, so it is never tried: patterns run only on texts \
                                  with one"
                            .to_string(),
                    });
                }
                match Regex::new(&ascii_word_boundaries(&e.value)) {
                    Ok(r) if r.captures_len() >= 2 => {
                        let longest = longest_match(r.as_str());
                        regex_reach = regex_reach.zip(longest).map(|(a, b)| a.max(b));
                        if longest.is_none() {
                            problems.push(Problem {
                                level: Level::Warning,
                                origin: e.origin.clone(),
                                message: "pattern can match text of any length (`+`, `*`, \
                                          `{n,}`) or uses `^` or `$`, so every pattern is \
                                          searched over whole texts rather than around \
                                          their cues, which is slower; words of the \
                                          normalised text are one space apart, so `\\s` \
                                          does what `\\s+` would"
                                    .to_string(),
                            });
                        }
                        regexes.push((r, kind))
                    }
                    Ok(_) => err!(
                        &e.origin,
                        "pattern needs a capture group for the number".to_string()
                    ),
                    Err(source) => {
                        return Err(WordlistError::Regex {
                            origin: e.origin.clone(),
                            source,
                        })
                    }
                }
            }
        }
        let regex_set =
            RegexSet::new(regexes.iter().map(|(r, _)| r.as_str())).map_err(|source| {
                WordlistError::Regex {
                    origin: Origin {
                        file: "patterns.txt".into(),
                        line: 0,
                    },
                    source,
                }
            })?;

        let matcher = Matcher::new(builder.patterns.iter().map(|(p, b)| (p.as_str(), *b)))?;
        let opens_regexes = builder
            .patterns
            .iter()
            .map(|(p, b)| holds_a_gate_word(p, *b, &pattern_gates))
            .collect();
        let number_word_list: Vec<String> = number_words.keys().cloned().collect();
        let holds_number_word = builder
            .patterns
            .iter()
            .map(|(p, b)| holds_a_gate_word(p, *b, &number_word_list))
            .collect();
        let may_name = builder
            .refs
            .iter()
            .map(|refs| {
                refs.iter().any(|r| {
                    matches!(
                        r,
                        TermRef::Mention(_) | TermRef::Number(_) | TermRef::HandSign(_)
                    )
                })
            })
            .collect();
        Ok(Lexicon {
            elections,
            entities,
            regions,
            slang,
            matcher,
            terms: builder.refs,
            opens_regexes,
            may_name,
            patterns: builder.patterns.into_iter().map(|(p, _)| p).collect(),
            regex_set,
            regexes,
            regex_reach,
            accounts,
            handle_names,
            party_acronyms,
            number_words,
            holds_number_word,
            entity_index,
        })
    }

    /// The entity behind a handle on the official list, if any.
    pub fn official_account(&self, handle: &str) -> Option<usize> {
        let h = canonical_handle(handle);
        if let Some(&e) = self.accounts.get(&h) {
            return Some(e);
        }
        // `@user@instance` against a listed `user` (or the reverse)
        let local = h.split('@').next().unwrap_or(&h);
        self.accounts
            .iter()
            .find(|(k, _)| {
                k.split('@').next() == Some(local) && (k.contains('@') != h.contains('@'))
            })
            .map(|(_, &e)| e)
    }

    /// The entity a handle is evidently named after (`pdiperjuangan.bsky.social`), for accounts
    /// not on the official list. Only unambiguous names of six letters or more count.
    pub fn named_account(&self, handle: &str) -> Option<usize> {
        let h: String = canonical_handle(handle)
            .split('@')
            .next()
            .unwrap_or("")
            .split('.')
            .filter(|part| !matches!(*part, "bsky" | "social" | "official" | "id" | "com"))
            .collect::<Vec<_>>()
            .join("");
        let squeezed: String = h.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let by_name = self
            .handle_names
            .iter()
            .filter(|(name, _)| squeezed.contains(name.as_str()))
            .max_by_key(|(name, _)| name.len())
            .map(|(_, e)| *e);
        if by_name.is_some() {
            return by_name;
        }
        // `pks_official`, `dpd.pan`: a party acronym as one segment beside an organisation word
        const ORG: [&str; 9] = [
            "dpp", "dpd", "dpc", "dpw", "partai", "official", "resmi", "fraksi", "kader",
        ];
        let local = canonical_handle(handle);
        let local = local.split('@').next().unwrap_or("");
        let segments: Vec<&str> = local
            .split(['.', '_', '-'])
            .filter(|s| !s.is_empty())
            .collect();
        if !segments.iter().any(|s| ORG.contains(s)) {
            return None;
        }
        self.party_acronyms
            .iter()
            .find(|(acr, _)| segments.contains(&acr.as_str()))
            .map(|(_, e)| *e)
    }
}

/// Ways people write an election's vote day: `14 februari`, `14 feb`, `14/2`, `14/02`.
fn vote_day_phrases(d: Date) -> Vec<String> {
    const MONTHS: [(&str, &str); 12] = [
        ("januari", "jan"),
        ("februari", "feb"),
        ("maret", "mar"),
        ("april", "apr"),
        ("mei", "mei"),
        ("juni", "jun"),
        ("juli", "jul"),
        ("agustus", "agu"),
        ("september", "sep"),
        ("oktober", "okt"),
        ("november", "nov"),
        ("desember", "des"),
    ];
    let (long, short) = MONTHS[(d.month() - 1) as usize];
    let day = d.day();
    let month = d.month();
    vec![
        format!("{day} {long}"),
        format!("{day} {short}"),
        format!("{day}/{month}"),
        format!("{day}/{month:02}"),
    ]
}

#[derive(Default)]
struct TermsBuilder {
    patterns: Vec<(String, Boundary)>,
    refs: Vec<Vec<TermRef>>,
    index: HashMap<String, usize>,
}

impl TermsBuilder {
    fn add(&mut self, pattern: &str, boundary: Boundary, r: TermRef) {
        if pattern.is_empty() {
            return;
        }
        let i = match self.index.get(pattern) {
            Some(&i) => {
                // a prefix entry widens the boundary of an identical word entry
                if boundary == Boundary::Prefix {
                    self.patterns[i].1 = Boundary::Prefix;
                }
                i
            }
            None => {
                self.patterns.push((pattern.to_string(), boundary));
                self.refs.push(Vec::new());
                self.index
                    .insert(pattern.to_string(), self.patterns.len() - 1);
                self.patterns.len() - 1
            }
        };
        if !self.refs[i].contains(&r) {
            self.refs[i].push(r);
        }
    }
}

/// Whether the normalised matcher pattern `pattern` holds one of `gates` as a word, or, as a
/// prefix pattern, ends in the start of one (`cob*` covers `coblos`).
fn holds_a_gate_word(pattern: &str, boundary: Boundary, gates: &[String]) -> bool {
    // words as the matcher reads them
    let words: Vec<&[u8]> = pattern
        .as_bytes()
        .split(|&b| !is_word_byte(b))
        .filter(|w| !w.is_empty())
        .collect();
    let last_is_prefix = |w: &&[u8]| boundary == Boundary::Prefix && Some(w) == words.last();
    words.iter().any(|w| {
        gates
            .iter()
            .map(|g| g.as_bytes())
            .any(|g| g == *w || (last_is_prefix(w) && g.starts_with(w)))
    })
}

/// Whether the regex source `pattern` holds one of `words` as a whole word, once its escapes
/// (`\b`, `\s`) are blanked out. A lint heuristic: a word inside a character class or an
/// optional group counts too, so it finds patterns that surely name none, not every pattern
/// that could run without one.
fn names_a_word(pattern: &str, words: &[String]) -> bool {
    let mut plain = String::with_capacity(pattern.len());
    let mut escaped = false;
    for c in pattern.chars() {
        plain.push(if escaped || c == '\\' { ' ' } else { c });
        escaped = !escaped && c == '\\';
    }
    let bytes = plain.as_bytes();
    let is_word = |i: usize| bytes.get(i).is_some_and(|b| b.is_ascii_alphanumeric());
    words.iter().any(|w| {
        plain
            .match_indices(w.as_str())
            .any(|(at, _)| (at == 0 || !is_word(at - 1)) && !is_word(at + w.len()))
    })
}

/// The longest text the regex `pattern` can match, when it has a longest and looks around
/// only at word boundaries: those read a window's edge as they read the non-word byte beyond
/// it (`signals::regex_windows` cuts there), where `^` and `$` would not.
fn longest_match(pattern: &str) -> Option<usize> {
    let hir = regex_syntax::parse(pattern).ok()?;
    let properties = hir.properties();
    if properties.look_set().contains_anchor() {
        return None;
    }
    properties.maximum_len()
}

/// `pattern` with its word boundaries (`\b`, `\B`) made ASCII ones. Patterns run over the
/// normalised text, whose words are ASCII (diacritics are gone; emoji are not word characters
/// either way), so what they match is the same; but a Unicode boundary makes the regex engine
/// leave its fast DFA for a much slower one on every text that holds a non-ASCII character.
fn ascii_word_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(boundary @ ('b' | 'B')) => {
                out.push_str("(?-u:\\");
                out.push(boundary);
                out.push(')');
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod boundary_tests {
    use super::ascii_word_boundaries;

    #[test]
    fn word_boundaries_become_ascii_and_escaped_backslashes_stay() {
        assert_eq!(
            ascii_word_boundaries(r"\bsalam\s+\B"),
            r"(?-u:\b)salam\s+(?-u:\B)"
        );
        assert_eq!(ascii_word_boundaries(r"a\\b"), r"a\\b");
    }
}

#[cfg(test)]
mod gate_tests {
    use super::{holds_a_gate_word, names_a_word};
    use crate::detect::matcher::Boundary;

    #[test]
    fn a_pattern_opens_the_regexes_when_it_covers_a_ballot_or_finger_word() {
        let gates = vec![
            "pilih".to_string(),
            "coblos".to_string(),
            "jari".to_string(),
        ];
        let holds = |p: &str, b: Boundary| holds_a_gate_word(p, b, &gates);
        assert!(holds("pilih", Boundary::Word));
        assert!(
            holds("jangan salah pilih", Boundary::Word),
            "a word inside a phrase"
        );
        assert!(holds("salam dua jari", Boundary::Word));
        assert!(
            holds("salah cob", Boundary::Prefix),
            "a prefix of a gate word"
        );
        assert!(
            !holds("salah cob", Boundary::Word),
            "a whole word that is only a prefix"
        );
        assert!(!holds("pilihan", Boundary::Word), "a longer word");
        assert!(
            !holds("pilihan", Boundary::Prefix),
            "a prefix longer than the gate word"
        );
        assert!(!holds("dukung", Boundary::Word));
    }

    #[test]
    fn a_regex_names_a_word_outside_its_escapes() {
        let gates = vec!["jari".to_string()];
        assert!(names_a_word(r"(?:jari|driji)\s+([1-4])", &gates));
        assert!(!names_a_word(r"jarinya\s+([1-4])", &gates));
        assert!(!names_a_word(r"salam\s+([1-4])", &gates));
    }
}
