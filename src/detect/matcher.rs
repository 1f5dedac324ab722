//! Whole-word multi-pattern matching over normalised text: one Aho-Corasick automaton,
//! leftmost-longest, with the word boundaries built into the automaton.
//!
//! The haystack is copied with every non-word byte turned into a space and a space added at
//! both ends (one table lookup per byte), and every pattern is compiled as
//! `' ' + pattern + ' '` (its own non-word bytes turned into spaces too). A match of such a key
//! can only start and end on word boundaries, so there is no boundary check and no restart after
//! a candidate inside a word (`pan` in `menpan`), and the leftmost-longest match is the longest
//! *valid* one. The trailing space of a match is the leading space of the next, so the search
//! resumes one byte before a match's end. Patterns with non-word bytes (`#amin`, `14/2`) are
//! confirmed against the original bytes, which also separates patterns that fold to the same
//! key. Prefix patterns (`dukung*`) are compiled without the trailing space.
//!
//! Choices, measured in BENCHMARKS.md: the DFA kind explicitly (the automatic choice builds a
//! DFA only for small sets; the contiguous NFA is about half as fast here); no prefilter (every
//! key starts with a space, so a prefilter cannot skip anything); ASCII case-insensitivity off
//! (text is lowercased by normalisation); byte classes on (the folded alphabet has ~38 bytes,
//! which keeps DFA rows small). Walking an anchored DFA from each word start was tried and was
//! slower on this corpus: most words share a prefix with some pattern.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind, StartKind};

/// A pattern occurrence in the original haystack, on word boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub pattern: u32,
    pub start: u32,
    pub end: u32,
}

/// How a pattern's end must sit in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// No word byte (`[a-z0-9_]`) immediately before or after.
    Word,
    /// A word boundary before, but the word may continue (`dukung*` matches `dukungan`).
    Prefix,
}

/// Word bytes for the boundary check, as in the benchmark's task semantics.
#[inline]
pub fn is_word_byte(b: u8) -> bool {
    // one load instead of three range checks: analyse asks this for every normalised byte
    WORD[b as usize]
}

const fn word_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
        i += 1;
    }
    t
}

static WORD: [bool; 256] = word_table();

const fn fold_table() -> [u8; 256] {
    let mut t = [b' '; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' {
            t[i] = b;
        }
        i += 1;
    }
    t
}

/// Word bytes stay, everything else becomes a space.
static FOLD: [u8; 256] = fold_table();

#[derive(Debug, Clone)]
struct Pattern {
    len: usize,
    bytes: Box<[u8]>,
    /// Contains non-word bytes, so a key match must be confirmed on the original bytes.
    verify: bool,
}

#[derive(Debug, Clone)]
pub struct Matcher {
    ac: AhoCorasick,
    /// Per automaton key, the patterns that fold to it.
    keys: Vec<Vec<u32>>,
    /// Per automaton key, whether it is a prefix key (no trailing boundary).
    key_prefix: Vec<bool>,
    patterns: Vec<Pattern>,
}

/// The automaton could not be built, or a pattern cannot be matched as a word.
#[derive(Debug, thiserror::Error)]
pub enum MatcherError {
    #[error("cannot build the word matcher over {patterns} patterns")]
    Build {
        patterns: usize,
        #[source]
        source: aho_corasick::BuildError,
    },
    #[error("pattern '{0}' has no letter or digit, so it cannot be matched as a word")]
    NoWord(String),
}

impl Matcher {
    /// Builds the automaton; pattern `i` of the iterator is reported as `Hit::pattern == i`.
    pub fn new<'a, I>(patterns: I) -> Result<Matcher, MatcherError>
    where
        I: IntoIterator<Item = (&'a str, Boundary)>,
    {
        let mut key_index: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut keys: Vec<Vec<u32>> = Vec::new();
        let mut key_prefix = Vec::new();
        let mut key_bytes: Vec<Vec<u8>> = Vec::new();
        let mut list = Vec::new();
        for (i, (p, boundary)) in patterns.into_iter().enumerate() {
            let bytes = p.as_bytes();
            if !bytes.iter().any(|&b| WORD[b as usize]) {
                return Err(MatcherError::NoWord(p.to_string()));
            }
            let prefix = boundary == Boundary::Prefix;
            let mut key = Vec::with_capacity(bytes.len() + 2);
            key.push(b' ');
            key.extend(bytes.iter().map(|&b| FOLD[b as usize]));
            if !prefix {
                key.push(b' ');
            }
            let k = match key_index.get(&key) {
                Some(&k) => k,
                None => {
                    keys.push(Vec::new());
                    key_prefix.push(prefix);
                    key_bytes.push(key.clone());
                    key_index.insert(key, keys.len() - 1);
                    keys.len() - 1
                }
            };
            keys[k].push(i as u32);
            list.push(Pattern {
                len: bytes.len(),
                verify: bytes.iter().any(|&b| !WORD[b as usize]),
                bytes: bytes.into(),
            });
        }
        let ac = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostLongest)
            .start_kind(StartKind::Unanchored)
            .ascii_case_insensitive(false)
            .prefilter(false)
            .byte_classes(true)
            .build(&key_bytes)
            .map_err(|source| MatcherError::Build {
                patterns: key_bytes.len(),
                source,
            })?;
        Ok(Matcher {
            ac,
            keys,
            key_prefix,
            patterns: list,
        })
    }

    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Appends every leftmost-longest whole-word occurrence to `out`.
    pub fn find_into(&self, text: &str, out: &mut Vec<Hit>) {
        let mut scratch = Vec::new();
        self.find_with(text, &mut scratch, out);
    }

    /// As [`Matcher::find_into`], reusing `scratch` for the folded copy of the text.
    pub fn find_with(&self, text: &str, scratch: &mut Vec<u8>, out: &mut Vec<Hit>) {
        let orig = text.as_bytes();
        scratch.clear();
        scratch.reserve(orig.len() + 2);
        scratch.push(b' ');
        scratch.extend(orig.iter().map(|&b| FOLD[b as usize]));
        scratch.push(b' ');
        let hay = scratch.as_slice();
        let mut pos = 0;
        while pos < hay.len() {
            let Some(m) = self.ac.find(Input::new(hay).range(pos..)) else {
                break;
            };
            // key byte 0 is the boundary before the pattern, at folded offset m.start(); the
            // pattern itself starts at folded offset m.start() + 1, which is original offset
            // m.start()
            let start = m.start();
            let key = m.pattern().as_usize();
            let mut found = false;
            for &pid in &self.keys[key] {
                let p = &self.patterns[pid as usize];
                let end = start + p.len;
                if p.verify && orig.get(start..end) != Some(&p.bytes[..]) {
                    continue;
                }
                out.push(Hit {
                    pattern: pid,
                    start: start as u32,
                    end: end as u32,
                });
                found = true;
                break;
            }
            pos = match (found, self.key_prefix[key]) {
                (true, true) => m.end(),
                // the trailing boundary of this match is the leading boundary of the next
                (true, false) => m.end() - 1,
                (false, _) => start + 1,
            };
        }
    }

    pub fn find(&self, text: &str) -> Vec<Hit> {
        let mut out = Vec::new();
        self.find_into(text, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_and_longest() {
        let m = Matcher::new([
            ("pan", Boundary::Word),
            ("ganjar", Boundary::Word),
            ("ganjar pranowo", Boundary::Word),
            ("dukung", Boundary::Prefix),
            ("#amin", Boundary::Word),
            ("amin", Boundary::Word),
        ])
        .unwrap();
        let text = "menpan ganjaran ganjar pranowo mendukung dukungan pan #amin x#amin amin";
        let hits = m.find(text);
        let got: Vec<(u32, &str)> = hits
            .iter()
            .map(|h| (h.pattern, &text[h.start as usize..h.end as usize]))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "ganjar pranowo"),
                (3, "dukung"),
                (0, "pan"),
                (4, "#amin"),
                (5, "amin"),
                (5, "amin")
            ]
        );
    }

    #[test]
    fn adjacent_words_both_match_and_longest_valid_wins() {
        let m = Matcher::new([
            ("a", Boundary::Word),
            ("b", Boundary::Word),
            ("pak anies x", Boundary::Word),
            ("pak anies", Boundary::Word),
        ])
        .unwrap();
        let hits = m.find("a b pak anies xy");
        let got: Vec<u32> = hits.iter().map(|h| h.pattern).collect();
        assert_eq!(got, vec![0, 1, 3]);
        // a separator other than a space is not the pattern's space
        assert!(m.find("pak,anies").is_empty());
    }
}
