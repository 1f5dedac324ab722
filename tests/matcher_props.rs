//! Property test of the word matcher against a direct reading of its contract: at the leftmost
//! position where some pattern's key (`' ' + folded pattern + ' '`, no trailing space for a
//! prefix pattern) occurs in the folded text, the longest such key wins; its first pattern whose
//! own bytes are in the text is reported, with the number of words before its first word, and
//! the search goes on from the key's trailing space.
//! The reference tries every key at every position, so it shares no code or shortcut with the
//! matcher's word filter and anchored automaton.

use netra::detect::matcher::{Boundary, Hit, Matcher};
use proptest::prelude::*;

fn fold(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' {
                b
            } else {
                b' '
            }
        })
        .collect()
}

fn key(pattern: &str, boundary: Boundary) -> Vec<u8> {
    let mut key = vec![b' '];
    key.extend(fold(pattern.as_bytes()));
    if boundary == Boundary::Word {
        key.push(b' ');
    }
    key
}

fn reference(patterns: &[(String, Boundary)], text: &str) -> Vec<Hit> {
    let orig = text.as_bytes();
    let mut hay = vec![b' '];
    hay.extend(fold(orig));
    hay.push(b' ');
    let keys: Vec<Vec<u8>> = patterns.iter().map(|(p, b)| key(p, *b)).collect();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < hay.len() {
        let longest_at = |s: usize| {
            keys.iter()
                .filter(|k| hay[s..].starts_with(k))
                .max_by_key(|k| k.len())
        };
        let Some((start, best)) = (pos..hay.len()).find_map(|s| longest_at(s).map(|k| (s, k)))
        else {
            break;
        };
        let found = patterns.iter().enumerate().find(|(i, (p, _))| {
            keys[*i] == *best && orig.get(start..start + p.len()) == Some(p.as_bytes())
        });
        pos = match found {
            Some((i, (p, boundary))) => {
                // the first word byte of the match, in the folded copy
                let first = start + 1 + p.bytes().take_while(|&b| fold(&[b]) == b" ").count();
                let word = (1..first)
                    .filter(|&i| hay[i] != b' ' && hay[i - 1] == b' ')
                    .count();
                out.push(Hit {
                    pattern: i as u32,
                    start: start as u32,
                    end: (start + p.len()) as u32,
                    word: word as u32,
                });
                match boundary {
                    Boundary::Prefix => start + best.len(),
                    Boundary::Word => start + best.len() - 1,
                }
            }
            None => start + 1,
        };
    }
    out
}

const WORDS: &[&str] = &[
    "a", "ab", "amin", "aminx", "pan", "menpan", "14", "2", "x_y",
];
const SEPARATORS: &[&str] = &[" ", "  ", "#", " #", "/", "-", ",", ", "];

/// A vocabulary so small that keys often share their first word and texts often hold whole
/// keys: a one-word key beside longer keys that start with it (`a` and `a pan`).
const FEW_WORDS: &[&str] = &["a", "pan"];
const FEW_SEPARATORS: &[&str] = &[" ", " ", "#"];

fn pattern() -> impl Strategy<Value = (String, Boundary)> {
    pattern_of(WORDS, SEPARATORS)
}

fn pattern_of(
    words: &'static [&'static str],
    separators: &'static [&'static str],
) -> impl Strategy<Value = (String, Boundary)> {
    (
        prop::sample::select(vec!["", "#"]),
        prop::collection::vec(
            (
                prop::sample::select(words),
                prop::sample::select(separators),
            ),
            1..4,
        ),
        prop::bool::ANY,
    )
        .prop_map(|(lead, parts, prefix)| {
            let mut p = lead.to_string();
            for (i, (word, sep)) in parts.iter().enumerate() {
                if i > 0 {
                    p.push_str(sep);
                }
                p.push_str(word);
            }
            let boundary = if prefix {
                Boundary::Prefix
            } else {
                Boundary::Word
            };
            (p, boundary)
        })
}

fn text() -> impl Strategy<Value = String> {
    text_of(WORDS, SEPARATORS)
}

fn text_of(
    words: &'static [&'static str],
    separators: &'static [&'static str],
) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(words).prop_map(str::to_string),
            prop::sample::select(separators).prop_map(str::to_string),
        ],
        0..30,
    )
    .prop_map(|pieces| pieces.concat())
}

fn agrees_with_the_reference(
    patterns: &[(String, Boundary)],
    text: &str,
) -> Result<(), TestCaseError> {
    let matcher =
        Matcher::new(patterns.iter().map(|(p, b)| (p.as_str(), *b))).expect("patterns have words");
    prop_assert_eq!(matcher.find(text), reference(patterns, text));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn matcher_agrees_with_the_reference(
        patterns in prop::collection::vec(pattern(), 1..12),
        text in text(),
    ) {
        agrees_with_the_reference(&patterns, &text)?;
    }

    #[test]
    fn matcher_agrees_with_the_reference_on_few_words(
        patterns in prop::collection::vec(pattern_of(FEW_WORDS, FEW_SEPARATORS), 2..8),
        text in text_of(FEW_WORDS, FEW_SEPARATORS),
    ) {
        agrees_with_the_reference(&patterns, &text)?;
    }
}
