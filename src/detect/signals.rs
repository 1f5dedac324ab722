//! From one text to evidence about entities: which entities it is really about (ambiguous
//! names need context), which numbers and hand signs are ballot numbers and for whom, and which
//! cues (support, invitation, negative, photo, attribute, share) sit near which entity.
//!
//! This is where the linguistic knowledge lives; the rules only combine what is found here.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use regex::SetMatches;

use super::lexicon::{
    CueClass, EntityKind, Lexicon, MentionClass, MentionTerm, PatternKind, TermRef,
};
use super::matcher::{is_word_byte, Hit};
use super::normalize::{emptied_with_room, normalize_with, Buffers, Normalized};
use super::{swar, Scope};

/// How many tokens apart a cue and a mention may be and still belong together.
pub const NEAR: u32 = 8;
/// How far an election word may be from an ambiguous name to vouch for it.
pub const CONTEXT_WINDOW: u32 = 12;

/// A signal about one entity; rules are written in terms of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Signal {
    /// A confirmed name, nickname, acronym or slogan of the entity.
    Mention,
    Hashtag,
    Slogan,
    Support,
    SupportWeak,
    Invite,
    Share,
    Negative,
    /// A phrase opponents use against the entity.
    Against,
    HandSign,
    /// A ballot number resolved to the entity.
    Ballot,
    Photo,
    Attribute,
}

impl Signal {
    pub const ALL: [(&'static str, Signal); 13] = [
        ("mention", Signal::Mention),
        ("hashtag", Signal::Hashtag),
        ("slogan", Signal::Slogan),
        ("support", Signal::Support),
        ("support_weak", Signal::SupportWeak),
        ("invite", Signal::Invite),
        ("share", Signal::Share),
        ("negative", Signal::Negative),
        ("against", Signal::Against),
        ("hand_sign", Signal::HandSign),
        ("ballot", Signal::Ballot),
        ("photo", Signal::Photo),
        ("attribute", Signal::Attribute),
    ];

    pub fn parse(s: &str) -> Option<Signal> {
        Signal::ALL.iter().find(|(n, _)| *n == s).map(|(_, x)| *x)
    }
}

#[derive(Debug, Clone, Copy)]
struct MentionHit {
    term: MentionTerm,
    pattern: u32,
    tok: u32,
    start: u32,
    end: u32,
    /// Written in capitals (two letters or more): `AMIN`, not `amin`.
    upper: bool,
    /// Its first letter is a capital: `Ganjar`, not `ganjar`.
    capitalised: bool,
}

#[derive(Debug, Clone, Copy)]
struct CueHit {
    class: CueClass,
    tok: u32,
    start: u32,
    end: u32,
}

#[derive(Debug, Clone, Copy)]
struct NumberHit {
    n: u8,
    tok: u32,
    start: u32,
    end: u32,
    hand: bool,
    ballot: bool,
    /// `pilih 03`: a two-digit number after a ballot word needs no further context.
    self_evident: bool,
}

/// Everything found in one text.
#[derive(Debug)]
pub struct Analysis {
    pub norm: Normalized,
    mentions: Vec<MentionHit>,
    cues: Vec<CueHit>,
    numbers: Vec<NumberHit>,
    regions: Vec<usize>,
    election_cues: Vec<(usize, u32)>,
}

impl Analysis {
    pub fn has_cue(&self, class: CueClass) -> bool {
        self.cues.iter().any(|c| c.class == class)
    }

    /// Whether the text names an entity or holds a ballot number or hand sign: without one,
    /// [`evidence`] finds no entity at all.
    pub fn names_an_entity(&self) -> bool {
        !self.mentions.is_empty() || !self.numbers.is_empty()
    }

    fn election_context(&self) -> bool {
        self.has_cue(CueClass::Election) || !self.election_cues.is_empty()
    }

    /// Neutral-context cues found, as normalised spans.
    pub fn neutral_spans(&self) -> Vec<(u32, u32)> {
        self.cues
            .iter()
            .filter(|c| c.class == CueClass::Neutral)
            .map(|c| (c.start, c.end))
            .collect()
    }
}

/// Normalises and scans one text.
pub fn analyse(text: &str, lex: &Lexicon) -> Analysis {
    analyse_with(text, lex, &mut Scratch::default())
}

/// [`analyse`], reusing `scratch`.
pub fn analyse_with(text: &str, lex: &Lexicon, scratch: &mut Scratch) -> Analysis {
    let norm = scan(text, lex, scratch);
    let regex_hits = regex_set_hits(&norm, &scratch.hits, lex);
    analysis(text, lex, norm, &scratch.hits, regex_hits)
}

/// [`analyse`], but `None` as soon as the text cannot name an entity: no hit of a name, a
/// number or a hand sign, and no regex pattern matching where it could capture a number (the
/// only other source of numbers).
/// Without a target that is the answer for most posts (four in five of the benchmark corpus),
/// and it skips reading the hits one by one.
pub fn analyse_if_named(text: &str, lex: &Lexicon) -> Option<Analysis> {
    analyse_if_named_with(text, lex, &mut Scratch::default())
}

/// [`analyse_if_named`], reusing `scratch`.
pub fn analyse_if_named_with(text: &str, lex: &Lexicon, scratch: &mut Scratch) -> Option<Analysis> {
    let norm = scan(text, lex, scratch);
    let hits = &scratch.hits;
    let regex_hits = regex_set_hits(&norm, hits, lex);
    let named = hits.iter().any(|h| lex.may_name[h.pattern as usize]);
    let unused = if named || !regex_hits.is_empty() {
        let found = analysis(text, lex, norm, hits, regex_hits);
        if found.names_an_entity() {
            return Some(found);
        }
        found.norm
    } else {
        norm
    };
    scratch.normalize.recycle(unused);
    None
}

/// Buffers that detection reuses from one text to the next: normalisation's, the matcher's
/// folded copy and the hit list. Fresh ones cost six allocations a text; reused, `detect` took
/// 3–4 % less time on the benchmark corpus. Each buffer is cleared before use, so a result never
/// depends on what the scratch saw before (a property test checks it).
#[derive(Debug, Default)]
pub struct Scratch {
    normalize: Buffers,
    folded: Vec<u8>,
    hits: Vec<Hit>,
}

impl Scratch {
    /// Takes back the storage of an analysis that is no longer needed.
    pub fn recycle_analysis(&mut self, done: Analysis) {
        self.normalize.recycle(done.norm);
    }
}

/// Normalises and matches `text`, leaving the hits in `scratch.hits`.
fn scan(text: &str, lex: &Lexicon, scratch: &mut Scratch) -> Normalized {
    let norm = normalize_with(text, &lex.slang, &mut scratch.normalize);
    // room for the few hits a post has (6.7 on average in the benchmark corpus), so a fresh
    // list is allocated once rather than grown
    scratch.hits = emptied_with_room(std::mem::take(&mut scratch.hits), 16);
    lex.matcher
        .find_with(&norm.text, &mut scratch.folded, &mut scratch.hits);
    norm
}

/// Which regex patterns match, window by window (see [`regex_windows`]), for the windows
/// where one does, in text order.
fn regex_set_hits(
    norm: &Normalized,
    hits: &[Hit],
    lex: &Lexicon,
) -> Vec<(Range<usize>, SetMatches)> {
    if lex.regexes.is_empty() {
        return Vec::new();
    }
    regex_windows(&norm.text, hits, lex)
        .into_iter()
        .filter(|window| may_capture_a_number(&norm.text, window, hits, lex))
        .map(|window| {
            let matched = lex.regex_set.matches(&norm.text[window.clone()]);
            (window, matched)
        })
        .filter(|(_, matched)| matched.matched_any())
        .collect()
}

/// Whether a match in `window` could capture a number: capture 1 is read as digits or as a
/// number word standing as a word (see `analysis`), and every such word lies inside a hit of a
/// pattern that holds it (`Lexicon::holds_number_word`). At least five windows in six of the
/// benchmark corpus have neither.
fn may_capture_a_number(text: &str, window: &Range<usize>, hits: &[Hit], lex: &Lexicon) -> bool {
    swar::has_digit(&text.as_bytes()[window.clone()])
        || hits.iter().any(|h| {
            lex.holds_number_word[h.pattern as usize]
                && (h.start as usize) < window.end
                && (h.end as usize) > window.start
        })
}

/// Where the regex set can match. Every pattern needs a ballot word (`coblos`, `nomor`) or a
/// finger word (`jari`), and every such word in the text lies inside a hit (see
/// `Lexicon::opens_regexes`): so no window at all without such a hit (two posts in three of
/// the benchmark corpus), and otherwise one around each, as far on both sides as the longest
/// pattern match reaches (`Lexicon::regex_reach`), overlapping ones merged. Edges are moved
/// out to just after and just before an ASCII non-word byte (or the text's ends): a word
/// boundary reads the edge of the window as it reads that byte, so a match inside a window is
/// one in the whole text, and any match of the whole text lies in a window. On the benchmark
/// corpus the set had taken 13 % of `detect`'s time over whole texts; over windows (and only
/// those that may hold a number) it takes about 5 %.
fn regex_windows(text: &str, hits: &[Hit], lex: &Lexicon) -> Vec<Range<usize>> {
    let mut openers = hits
        .iter()
        .filter(|h| lex.opens_regexes[h.pattern as usize]);
    let Some(reach) = lex.regex_reach else {
        return openers.next().map(|_| 0..text.len()).into_iter().collect();
    };
    let bytes = text.as_bytes();
    let splits_words = |b: u8| b.is_ascii() && !b.is_ascii_alphanumeric() && b != b'_';
    let mut windows: Vec<Range<usize>> = Vec::new();
    for hit in openers {
        let mut start = (hit.start as usize).saturating_sub(reach);
        while start > 0 && !splits_words(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = (hit.end as usize).saturating_add(reach).min(bytes.len());
        while end < bytes.len() && !splits_words(bytes[end]) {
            end += 1;
        }
        match windows.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => windows.push(start..end),
        }
    }
    windows
}

/// The hits and regex matches of one normalised text, read as mentions, cues and numbers.
fn analysis(
    text: &str,
    lex: &Lexicon,
    norm: Normalized,
    hits: &[Hit],
    regex_hits: Vec<(Range<usize>, SetMatches)>,
) -> Analysis {
    let bytes = norm.text.as_bytes();
    // A position's token number is how many words start at or before it; a hit's is that of
    // its first word, also when the hit starts before it (`#AMIN` is numbered at `AMIN`, not
    // at the `#`). The matcher counts the words before each hit; the regexes, which run on few
    // texts, count them here.
    let token_of_hit = |h: &Hit| h.word + 1;
    let token_of_position = |pos: u32| -> u32 {
        let mut count = 0;
        let mut in_word = false;
        for &b in &bytes[..=pos as usize] {
            let w = is_word_byte(b);
            count += u32::from(w && !in_word);
            in_word = w;
        }
        count
    };
    let mut a = Analysis {
        mentions: Vec::new(),
        // most hits are cues
        cues: Vec::with_capacity(hits.len()),
        numbers: Vec::new(),
        regions: Vec::new(),
        election_cues: Vec::new(),
        norm: Normalized::default(),
    };
    for h in hits {
        let tok = token_of_hit(h);
        for r in &lex.terms[h.pattern as usize] {
            match *r {
                TermRef::Mention(term) => {
                    let (s, e) = norm.original_span(h.start as usize, h.end as usize);
                    let orig = text.get(s..e).unwrap_or("");
                    let letters = orig.chars().filter(|c| c.is_alphabetic());
                    let upper = orig.chars().filter(|c| c.is_alphabetic()).count() >= 2
                        && letters.clone().all(|c| c.is_uppercase());
                    let capitalised = letters.clone().next().is_some_and(char::is_uppercase);
                    a.mentions.push(MentionHit {
                        term,
                        pattern: h.pattern,
                        tok,
                        start: h.start,
                        end: h.end,
                        upper,
                        capitalised,
                    });
                }
                TermRef::Cue(class) => a.cues.push(CueHit {
                    class,
                    tok,
                    start: h.start,
                    end: h.end,
                }),
                TermRef::Number(n) => a.numbers.push(NumberHit {
                    n,
                    tok,
                    start: h.start,
                    end: h.end,
                    hand: false,
                    ballot: bytes[h.start as usize] == b'0' && h.end - h.start == 2,
                    self_evident: false,
                }),
                TermRef::HandSign(n) => a.numbers.push(NumberHit {
                    n,
                    tok,
                    start: h.start,
                    end: h.end,
                    hand: true,
                    ballot: false,
                    self_evident: false,
                }),
                TermRef::Region(r) => a.regions.push(r),
                TermRef::ElectionCue(e) => a.election_cues.push((e, tok)),
            }
        }
    }
    // regex set: ballot phrases and finger phrases
    // pattern by pattern, then in text order, as a search of the whole text would go
    for (i, (re, kind)) in lex.regexes.iter().enumerate() {
        let windows = regex_hits.iter().filter(|(_, matched)| matched.matched(i));
        let found = windows.flat_map(|(window, _)| {
            re.captures_iter(&norm.text[window.clone()])
                .map(move |caps| (window.start, caps))
        });
        for (offset, caps) in found {
            let Some(g) = caps.get(1) else { continue };
            let (start, end) = ((offset + g.start()) as u32, (offset + g.end()) as u32);
            let n = g.as_str().parse::<u8>().ok().or_else(|| {
                let word_byte_at = |i: usize| bytes.get(i).is_some_and(|&b| is_word_byte(b));
                let inside_a_word =
                    (start > 0 && word_byte_at(start as usize - 1)) || word_byte_at(end as usize);
                lex.number_words
                    .get(g.as_str())
                    .copied()
                    .filter(|_| !inside_a_word)
            });
            let Some(n) = n else { continue };
            let tok = token_of_position(start);
            match kind {
                PatternKind::Ballot => {
                    if let Some(x) = a.numbers.iter_mut().find(|x| x.start == start) {
                        x.ballot = true;
                    } else {
                        a.numbers.push(NumberHit {
                            n,
                            tok,
                            start,
                            end,
                            hand: false,
                            ballot: true,
                            self_evident: false,
                        });
                    }
                }
                PatternKind::HandSign => {
                    let whole = caps.get(0).unwrap_or(g);
                    a.numbers.retain(|x| x.start != start || x.hand);
                    a.numbers.push(NumberHit {
                        n,
                        tok,
                        start: (offset + whole.start()) as u32,
                        end: (offset + whole.end()) as u32,
                        hand: true,
                        ballot: false,
                        self_evident: false,
                    });
                }
            }
        }
    }
    // numbers: next to a finger word they are hand signs; after a ballot word, ballot numbers;
    // after a blocker (`tps 05`, `juara 2`) never ballot numbers
    let cue_at = |cues: &[CueHit], class: CueClass, tok: u32| {
        cues.iter().any(|c| c.class == class && c.tok == tok)
    };
    for x in a.numbers.iter_mut() {
        if x.hand {
            continue;
        }
        let before = x.tok.wrapping_sub(1);
        if cue_at(&a.cues, CueClass::Finger, x.tok + 1)
            || (x.tok > 0 && cue_at(&a.cues, CueClass::Finger, before))
        {
            x.hand = true;
            x.ballot = false;
            continue;
        }
        if x.tok > 0 && cue_at(&a.cues, CueClass::NumberBlocker, before) {
            x.ballot = false;
            continue;
        }
        let is_digit = bytes[x.start as usize].is_ascii_digit();
        // number words are ballot numbers only after "nomor"-like words: "coblos satu kali"
        // is about how to vote, "nomor satu" is a number
        let ballot_word_at = |tok: u32| {
            a.cues.iter().any(|c| {
                c.class == CueClass::Ballot
                    && c.tok == tok
                    && (is_digit || {
                        let w = &norm.text[c.start as usize..c.end as usize];
                        w.starts_with("no") || w.starts_with("urut")
                    })
            })
        };
        if (x.tok > 0 && ballot_word_at(before)) || (x.tok > 1 && ballot_word_at(x.tok - 2)) {
            let two_digit = x.end - x.start == 2 && bytes[x.start as usize] == b'0';
            x.self_evident = two_digit;
            x.ballot = true;
        }
    }
    a.numbers.retain(|x| x.hand || x.ballot);
    a.norm = norm;
    a
}

/// What a text says about one entity, with the normalised spans that show it.
#[derive(Debug, Clone, Default)]
pub struct EntityEvidence {
    pub signals: BTreeSet<Signal>,
    pub spans: Vec<(u32, u32)>,
    /// Other entities of the same election mentioned as well (comparisons, news, lists).
    pub rivals: usize,
}

/// Evidence per entity plus text-level facts.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub entities: BTreeMap<usize, EntityEvidence>,
    pub neutral: Vec<(u32, u32)>,
    /// Cues found in the text with no entity to attach to (used for quotes).
    pub loose: BTreeSet<Signal>,
    pub loose_spans: Vec<(u32, u32)>,
}

fn cue_signal(class: CueClass) -> Option<Signal> {
    Some(match class {
        CueClass::Support => Signal::Support,
        CueClass::SupportWeak => Signal::SupportWeak,
        CueClass::Invite => Signal::Invite,
        CueClass::Share => Signal::Share,
        CueClass::Negative => Signal::Negative,
        CueClass::Photo => Signal::Photo,
        CueClass::Attribute => Signal::Attribute,
        _ => return None,
    })
}

/// Weighs `a` (with `context`: the other text of a reply or quote, used only to vouch for
/// names and pick the election) into evidence per entity in `scope`.
pub fn evidence(
    a: &Analysis,
    context: Option<&Analysis>,
    lex: &Lexicon,
    scope: &Scope,
) -> Evidence {
    let mut ev = Evidence::default();
    let in_scope = |e: usize| scope.stage_of(lex.entities[e].election).is_some();

    // region: the scope's if given, else the one the texts point at most
    let region = scope.region.or_else(|| {
        let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
        for r in a
            .regions
            .iter()
            .chain(context.map(|c| c.regions.as_slice()).unwrap_or(&[]))
        {
            *counts.entry(*r).or_default() += 1;
        }
        let max = counts.values().copied().max()?;
        let top: Vec<usize> = counts
            .iter()
            .filter(|(_, &c)| c == max)
            .map(|(&r, _)| r)
            .collect();
        (top.len() == 1).then(|| top[0])
    });
    let ctx_election = context.is_some_and(|c| c.election_context());
    let named_elections: BTreeSet<usize> = a
        .election_cues
        .iter()
        .chain(context.map(|c| c.election_cues.as_slice()).unwrap_or(&[]))
        .map(|(e, _)| *e)
        .collect();
    // election words near a mention vouch for it, except words that name another election
    // (`presiden` does not vouch for a party called Garuda, nor `gubernur` for a Pilpres name)
    let election_near = |tok: u32, election: usize| {
        let other_office = |t: u32| {
            a.election_cues
                .iter()
                .any(|&(e, et)| et == t && e != election)
                && !a
                    .election_cues
                    .iter()
                    .any(|&(e, et)| et == t && e == election)
        };
        a.cues.iter().any(|c| {
            c.class == CueClass::Election
                && c.tok.abs_diff(tok) <= CONTEXT_WINDOW
                && !other_office(c.tok)
        }) || a
            .election_cues
            .iter()
            .any(|&(e, t)| e == election && t.abs_diff(tok) <= CONTEXT_WINDOW)
    };
    let party_near = |tok: u32| {
        a.cues.iter().any(|c| {
            matches!(c.class, CueClass::Party | CueClass::Attribute) && c.tok.abs_diff(tok) <= 3
        })
    };
    let last_word = |p: u32| lex.patterns[p as usize].rsplit(' ').next().unwrap_or("");

    // confirm mentions
    let mut confirmed: Vec<MentionHit> = Vec::new();
    // names first, then the phrases that need them: an ambiguous slogan or a weak attack line
    // counts only beside a confirmed mention (or the entity's number), never beside another
    // everyday phrase (`gemoy` + `oke gas` about a cat) or on election talk alone (`dua
    // putaran` in a news report)
    // a name that stands on its own: not ambiguous, or a name that is also a word written
    // with a capital (`Ganjar`, not `ganjar`)
    let plain_name = |m: &MentionHit| !m.term.ambiguous || (m.term.capital_name && m.capitalised);
    let ordered = a
        .mentions
        .iter()
        .filter(|m| !m.term.needs_entity)
        .chain(a.mentions.iter().filter(|m| m.term.needs_entity));
    for m in ordered {
        let e = m.term.entity;
        if !in_scope(e) {
            continue;
        }
        let entity = &lex.entities[e];
        let ok = if m.term.regional {
            region.is_some() && region == lex.elections[entity.election].region
        } else if plain_name(m) {
            true
        } else {
            // a lower-case `amin` cannot vouch for anything: it is a prayer until shown otherwise
            let can_vouch = |o: &MentionHit| {
                !(o.term.regional
                    || o.term.ambiguous && o.term.acronym && !o.upper
                    || o.term.capital_name && !o.capitalised)
            };
            let corroborated = if m.term.needs_entity {
                // a slogan beside an attack on its own entity is not support; an attack line
                // may stand beside anything that names its target
                let backs = |o: &MentionHit| {
                    m.term.class == MentionClass::Against || o.term.class != MentionClass::Against
                };
                confirmed.iter().any(|o| o.term.entity == e && backs(o))
            } else {
                a.mentions.iter().any(|o| {
                    o.term.entity == e
                        && last_word(o.pattern) != last_word(m.pattern)
                        && can_vouch(o)
                        && !o.term.needs_entity
                })
            } || context.is_some_and(|c| {
                c.mentions
                    .iter()
                    .any(|o| o.term.entity == e && can_vouch(o))
            });
            // the entity's ballot number is in the text, and no entity already confirmed there
            // carries it: in `Pilkada Jatim: Khofifah-Emil lanjutkan! coblos 2` the 2 is
            // Khofifah's, and does not vouch for the Pilpres 02 of the everyday `lanjutkan`
            let number_match = entity.number.is_some_and(|n| {
                a.numbers.iter().any(|x| x.n == n)
                    && !confirmed.iter().any(|o| {
                        o.term.entity != e && lex.entities[o.term.entity].number == Some(n)
                    })
            });
            if m.term.acronym && !m.upper {
                // `amin` in lower case is a prayer until a plain name or the pair's number ties it
                // to the pair
                let strong_name = a
                    .mentions
                    .iter()
                    .any(|o| o.term.entity == e && plain_name(o));
                strong_name || number_match
            } else {
                // `pilih AMIN`, `coblos PKB`: capitals right beside a voting word. Beside `ayo`
                // or `dukung` they are not enough: `Ayo bayar PKB` is the vehicle tax, `AMIN YA
                // RABB, ayo kita doakan` a prayer, and `PBB` beside `dukung` may be UN news
                let upper_beside_vote = m.term.acronym
                    && m.upper
                    && a.cues
                        .iter()
                        .any(|c| c.class == CueClass::Ballot && c.tok.abs_diff(m.tok) <= 2);
                // everyday phrases that are also slogans (`perubahan`, `Indonesia Maju`,
                // `gerak cepat`) need the entity itself nearby, not just talk of elections
                corroborated
                    || number_match
                    || (!m.term.needs_entity
                        && (upper_beside_vote
                            || election_near(m.tok, entity.election)
                            || ctx_election
                            || named_elections.contains(&entity.election)
                            || (entity.kind == EntityKind::Party && party_near(m.tok))))
            }
        };
        if ok {
            confirmed.push(*m);
        }
    }

    let general_context = a.election_context() || ctx_election;
    let party_context =
        a.has_cue(CueClass::Party) || context.is_some_and(|c| c.has_cue(CueClass::Party));

    // resolve ballot numbers and hand signs
    let mut resolved: Vec<(usize, NumberHit)> = Vec::new();
    for x in &a.numbers {
        let candidates: Vec<usize> = (0..lex.entities.len())
            .filter(|&e| in_scope(e) && lex.entities[e].number == Some(x.n))
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let mentioned: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&e| confirmed.iter().any(|m| m.term.entity == e))
            .collect();
        let pick: Vec<usize> = if !mentioned.is_empty() {
            mentioned
        } else if !(general_context || party_context || x.self_evident) {
            Vec::new()
        } else if let Some(r) = region.filter(|&r| {
            candidates
                .iter()
                .any(|&e| lex.elections[lex.entities[e].election].region == Some(r))
        }) {
            candidates
                .iter()
                .copied()
                .filter(|&e| lex.elections[lex.entities[e].election].region == Some(r))
                .collect()
        } else if candidates
            .iter()
            .any(|&e| named_elections.contains(&lex.entities[e].election))
        {
            candidates
                .iter()
                .copied()
                .filter(|&e| named_elections.contains(&lex.entities[e].election))
                .collect()
        } else if party_context && !x.hand {
            candidates
                .iter()
                .copied()
                .filter(|&e| lex.entities[e].kind == EntityKind::Party)
                .collect()
        } else {
            candidates
                .iter()
                .copied()
                .filter(|&e| {
                    lex.entities[e].kind == EntityKind::Pair
                        && lex.elections[lex.entities[e].election].region.is_none()
                })
                .collect()
        };
        let pick: Vec<usize> = if pick.len() > 1 {
            let parties = pick
                .iter()
                .filter(|&&e| lex.entities[e].kind == EntityKind::Party)
                .count();
            if party_context && !x.hand && parties > 0 {
                pick.into_iter()
                    .filter(|&e| lex.entities[e].kind == EntityKind::Party)
                    .collect()
            } else {
                pick.into_iter()
                    .filter(|&e| lex.entities[e].kind != EntityKind::Party)
                    .collect()
            }
        } else {
            pick
        };
        if pick.len() == 1 {
            resolved.push((pick[0], *x));
        }
    }

    // entity records
    for m in &confirmed {
        let rec = ev.entities.entry(m.term.entity).or_default();
        rec.spans.push((m.start, m.end));
        rec.signals.insert(match m.term.class {
            MentionClass::Against => Signal::Against,
            MentionClass::Hashtag => Signal::Hashtag,
            MentionClass::Slogan => Signal::Slogan,
            MentionClass::Name => Signal::Mention,
        });
    }
    for (e, x) in &resolved {
        let rec = ev.entities.entry(*e).or_default();
        rec.spans.push((x.start, x.end));
        rec.signals.insert(if x.hand {
            Signal::HandSign
        } else {
            Signal::Ballot
        });
    }

    // anchors: token positions of each entity's positive and negative evidence
    let mut anchors: Vec<(usize, u32, bool)> = Vec::new();
    for m in &confirmed {
        anchors.push((m.term.entity, m.tok, m.term.class == MentionClass::Against));
    }
    for (e, x) in &resolved {
        anchors.push((*e, x.tok, false));
    }

    // cues go to the nearest anchor
    for c in &a.cues {
        let Some(mut sig) = cue_signal(c.class) else {
            continue;
        };
        let negated = a
            .cues
            .iter()
            .any(|n| n.class == CueClass::Negator && n.tok < c.tok && c.tok - n.tok <= 2);
        if negated && matches!(sig, Signal::Support | Signal::SupportWeak | Signal::Invite) {
            sig = Signal::Negative;
        }
        let sole = anchors.iter().all(|a| a.0 == anchors[0].0);
        let reach = if sole { 2 * NEAR } else { NEAR };
        let best = anchors
            .iter()
            .map(|&(e, t, _)| (t.abs_diff(c.tok), e))
            .filter(|&(d, _)| d <= reach)
            .min();
        match best {
            Some((d, _)) => {
                let winners: BTreeSet<usize> = anchors
                    .iter()
                    .filter(|&&(_, t, _)| t.abs_diff(c.tok) == d)
                    .map(|&(e, _, _)| e)
                    .collect();
                for e in winners {
                    let rec = ev.entities.entry(e).or_default();
                    // support words next to an opponent's slur are not support for it
                    let against_only = anchors.iter().filter(|a| a.0 == e).all(|a| a.2);
                    let sig = if against_only
                        && matches!(sig, Signal::Support | Signal::SupportWeak | Signal::Invite)
                    {
                        Signal::Negative
                    } else {
                        sig
                    };
                    rec.signals.insert(sig);
                    rec.spans.push((c.start, c.end));
                }
            }
            None => {
                ev.loose.insert(sig);
                ev.loose_spans.push((c.start, c.end));
            }
        }
    }

    // a reply naming one entity under a post asking whom to support answers the question
    if let Some(c) = context {
        let asks = c
            .cues
            .iter()
            .any(|x| matches!(x.class, CueClass::Support | CueClass::SupportWeak));
        if asks && ev.entities.len() == 1 {
            if let Some(rec) = ev.entities.values_mut().next() {
                if !rec.signals.contains(&Signal::Negative)
                    && !rec.signals.contains(&Signal::Against)
                {
                    rec.signals.insert(Signal::SupportWeak);
                }
            }
        }
    }

    // rivals: other entities of the same election in the same text
    let keys: Vec<usize> = ev.entities.keys().copied().collect();
    for &e in &keys {
        let el = lex.entities[e].election;
        let rivals = keys
            .iter()
            .filter(|&&o| o != e && lex.entities[o].election == el)
            .count();
        if let Some(rec) = ev.entities.get_mut(&e) {
            rec.rivals = rivals;
            rec.spans.sort_unstable();
            rec.spans.dedup();
        }
    }
    ev.neutral = a.neutral_spans();
    ev
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Windows hold every stretch a pattern match could take around a hit that opens the
    /// regex set, end beside an ASCII non-word byte (or the text's end), and neither overlap
    /// nor touch.
    #[test]
    fn regex_windows_cover_each_cue_and_end_between_words() {
        let lex = Lexicon::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("wordlists"))
            .expect("word lists");
        let reach = lex
            .regex_reach
            .expect("the shipped patterns have a longest match");
        let words = [
            "coblos",
            "nomor",
            "urut",
            "pilih",
            "jari",
            "salam",
            "dua",
            "12",
            "3",
            "2024",
            "kampanye",
            "x",
            "pemilihan",
            "desa",
            "✌️",
            "#pilih02",
        ];
        let splits_words = |b: u8| b.is_ascii() && !is_word_byte(b);
        // a fixed sequence of pseudo-random texts of up to 40 words
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..3000 {
            let count = next(40);
            let text: Vec<&str> = (0..count).map(|_| words[next(words.len())]).collect();
            let text = text.join(if next(4) == 0 { ", " } else { " " });
            let mut scratch = Scratch::default();
            let norm = scan(&text, &lex, &mut scratch);
            let hits = scratch.hits;
            let bytes = norm.text.as_bytes();
            let windows = regex_windows(&norm.text, &hits, &lex);
            for w in &windows {
                assert!(
                    w.start == 0 || splits_words(bytes[w.start - 1]),
                    "{w:?} {text}"
                );
                assert!(
                    w.end == bytes.len() || splits_words(bytes[w.end]),
                    "{w:?} {text}"
                );
            }
            for pair in windows.windows(2) {
                assert!(pair[0].end < pair[1].start, "{windows:?} {text}");
            }
            let openers: Vec<&Hit> = hits
                .iter()
                .filter(|h| lex.opens_regexes[h.pattern as usize])
                .collect();
            assert_eq!(windows.is_empty(), openers.is_empty(), "{text}");
            for h in openers {
                let from = (h.start as usize).saturating_sub(reach);
                let to = (h.end as usize + reach).min(bytes.len());
                assert!(
                    windows.iter().any(|w| w.start <= from && to <= w.end),
                    "{h:?} {windows:?} {text}"
                );
            }
        }
    }
}
