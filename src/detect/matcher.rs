//! Whole-word multi-pattern matching over normalised text: one Aho-Corasick automaton,
//! leftmost-longest, with the word-boundary check done on bytes after the automaton reports.
//!
//! Why not `\b` in a regex: wrapping thousands of literals in `\b..\b` makes the regex crate
//! fall back to slow engines, and Unicode `\b` is wrong for normalised ASCII text anyway. The
//! automaton is built as a DFA explicitly (the automatic choice builds a DFA only for small
//! sets) with ASCII case-insensitivity off, since the text is lowercased by normalisation.

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind, StartKind};

/// A pattern occurrence in the normalised text, with word boundaries checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub pattern: u32,
    pub start: u32,
    pub end: u32,
}

/// How a pattern's ends must sit in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// No word byte (`[a-z0-9_]`) immediately before or after.
    Word,
    /// A word start, but the word may continue (`dukung*` matches `dukungan`).
    Prefix,
}

/// Word bytes for the boundary check, as in the benchmark's task semantics.
#[inline]
pub fn is_word_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'
}

#[derive(Debug, Clone)]
pub struct Matcher {
    ac: AhoCorasick,
    prefix: Vec<bool>,
}

/// The automaton could not be built (only for extremely large pattern sets).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the word matcher over {patterns} patterns: {source}")]
pub struct MatcherError {
    patterns: usize,
    #[source]
    source: aho_corasick::BuildError,
}

impl Matcher {
    /// Builds the automaton; pattern `i` of the iterator is reported as `Hit::pattern == i`.
    pub fn new<'a, I>(patterns: I) -> Result<Matcher, MatcherError>
    where
        I: IntoIterator<Item = (&'a str, Boundary)>,
    {
        let mut texts = Vec::new();
        let mut prefix = Vec::new();
        for (p, b) in patterns {
            texts.push(p);
            prefix.push(b == Boundary::Prefix);
        }
        let ac = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostLongest)
            .start_kind(StartKind::Unanchored)
            .ascii_case_insensitive(false)
            .prefilter(true)
            .build(&texts)
            .map_err(|source| MatcherError {
                patterns: texts.len(),
                source,
            })?;
        Ok(Matcher { ac, prefix })
    }

    pub fn pattern_count(&self) -> usize {
        self.prefix.len()
    }

    /// Appends to `out` every non-overlapping leftmost-longest occurrence that sits on word
    /// boundaries. When the longest candidate at a position fails the boundary check, the
    /// search resumes one byte later, so a failing long candidate only hides shorter patterns
    /// that start at exactly the same byte.
    pub fn find_into(&self, text: &str, out: &mut Vec<Hit>) {
        let hay = text.as_bytes();
        let mut pos = 0;
        while pos < hay.len() {
            let Some(m) = self.ac.find(Input::new(hay).range(pos..)) else {
                break;
            };
            let (s, e) = (m.start(), m.end());
            let left_ok = s == 0 || !is_word_byte(hay[s - 1]);
            let right_ok =
                e == hay.len() || !is_word_byte(hay[e]) || self.prefix[m.pattern().as_usize()];
            if left_ok && right_ok {
                out.push(Hit {
                    pattern: m.pattern().as_u32(),
                    start: s as u32,
                    end: e as u32,
                });
                pos = e.max(s + 1);
            } else {
                // resume at the next word start after s (a valid match cannot start mid-word)
                let mut next = s + 1;
                while next < hay.len() && is_word_byte(hay[next]) && is_word_byte(hay[next - 1]) {
                    next += 1;
                }
                pos = next;
            }
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
        ])
        .unwrap();
        let hits = m.find("menpan ganjaran ganjar pranowo mendukung dukungan pan #amin x#amin");
        let got: Vec<u32> = hits.iter().map(|h| h.pattern).collect();
        assert_eq!(got, vec![2, 3, 0, 4]);
    }
}
