//! Whole-word multi-pattern matching over normalised text: one Aho-Corasick automaton,
//! leftmost-longest, with the word boundaries built into the automaton and a word filter in
//! front of it.
//!
//! The haystack is copied with every non-word byte turned into a space and a space added at
//! both ends (eight bytes at a time), and every pattern is compiled as `' ' + pattern + ' '`
//! (its own non-word bytes turned into spaces too). A match of such a key can only start and
//! end on word boundaries, so there is no boundary check and no restart after a candidate
//! inside a word (`pan` in `menpan`), and the leftmost-longest match is the longest *valid*
//! one. The trailing space of a match is the leading space of the next, so the search resumes
//! one byte before a match's end. Patterns with non-word bytes (`#amin`, `14/2`) are confirmed
//! against the original bytes, which also separates patterns that fold to the same key. Prefix
//! patterns (`dukung*`) are compiled without the trailing space.
//!
//! Every key starts just before a word, so the automaton only needs to run, anchored, at word
//! starts, and only at those whose words could begin a key. The filter that decides this is
//! two bit sets indexed by hashes: one of the first word of one-word keys (or, for prefix
//! keys, of its first bytes), one of the first two words of longer keys. Both are needed
//! because phrases begin with everyday words (`partai`, `kota`, `ini`): on the benchmark
//! corpus a first-word filter alone lets through a quarter to half of all words, the pair
//! filter 1–3 %. Most words cost one hash and two bit tests (three when some keys are prefix
//! keys, which have a set of their own for their first bytes); a false pass costs an anchored
//! search that dies within a few bytes. A word that is itself a one-word key, with no longer
//! key possible after it, is found in a table of those keys instead of by the automaton: most
//! hits of the shipped lists are such cue words. Words are found 64 bytes at a time, as the
//! edges of a bit mask of the word bytes.
//!
//! Choices, measured in BENCHMARKS.md: the contiguous NFA rather than the DFA (anchored runs
//! are a few bytes long, and the 20,000-key DFA is tens of megabytes, so each run likely
//! misses cache; the profile put most of the time in its search: 120 against 300 MB/s);
//! anchored starts only (the filter picks the starts); no prefilter inside the automaton (the
//! word filter is the prefilter); ASCII case-insensitivity off (text is lowercased by
//! normalisation); byte classes on (the folded alphabet has ~38 bytes). The unanchored DFA
//! over every byte, without the filter, ran at 270 / 105 MB/s.

use std::collections::HashMap;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::nfa::contiguous;
use aho_corasick::{Anchored, MatchKind};

use super::swar;

/// A pattern occurrence in the original haystack, on word boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub pattern: u32,
    pub start: u32,
    pub end: u32,
    /// How many words (maximal runs of word bytes) of the text come before the match's first
    /// word: its token number, which the caller would otherwise count again byte by byte.
    pub word: u32,
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

/// Which words may begin a key. A key's first word goes in one bit set; a key with a second
/// word goes in a second bit set by both words and the spaces between them, because the first
/// words of phrases (`partai`, `kota`, `ini`) are everyday words while the pairs are rare.
/// False passes are allowed (the automaton decides); false misses are not.
#[derive(Debug, Clone)]
struct WordFilter {
    /// First words of keys with one word; bit `hash >> shift`.
    single: Vec<u64>,
    /// First two words (and the spaces between) of keys with more than one.
    pair: Vec<u64>,
    shift: u32,
    /// The first `prefix_probe` bytes of the first words of prefix keys such as ` dukung`;
    /// `prefix_probe` is the shortest such word (0 when there is none), so one test per word
    /// covers every prefix key.
    prefix: Vec<u64>,
    prefix_probe: usize,
    /// Distinct numbers of spaces before a key's first word beyond the usual one (`#amin` is
    /// compiled as `  amin `), so the automaton is also tried that far before the word,
    /// farthest (leftmost) first.
    extra_leads: Vec<usize>,
}

impl WordFilter {
    /// Built from the keys (each `' ' + folded pattern [+ ' ']`).
    fn new(keys: &[Vec<u8>]) -> Self {
        // at most one bit in 32 set, so a word that begins no key passes about once in 32
        let bits = (keys.len() * 32)
            .max(1 << 12)
            .next_power_of_two()
            .min(1 << 26);
        let mut filter = WordFilter {
            single: vec![0; bits / 64],
            pair: vec![0; bits / 64],
            prefix: vec![0; bits / 64],
            shift: 64 - bits.trailing_zeros(),
            prefix_probe: 0,
            extra_leads: Vec::new(),
        };
        let mut prefix_words = Vec::new();
        for key in keys {
            let lead = key.iter().take_while(|&&b| b == b' ').count();
            if lead > 1 {
                filter.extra_leads.push(lead - 1);
            }
            let rest = &key[lead..];
            let first = &rest[..word_len(rest)];
            let after = &rest[first.len()..];
            let gap = after.iter().take_while(|&&b| b == b' ').count();
            let second = &after[gap..][..word_len(&after[gap..])];
            // a second word counts only when it is whole: the last word of a prefix key may go on
            let whole = after.len() > gap + second.len();
            if !second.is_empty() && whole {
                let slot = filter.slot(pair_hash(word_hash(first), gap, word_hash(second)));
                set(&mut filter.pair, slot);
            } else {
                if after.is_empty() {
                    prefix_words.push(first);
                }
                let slot = filter.slot(word_hash(first));
                set(&mut filter.single, slot);
            }
        }
        filter.prefix_probe = prefix_words.iter().map(|w| w.len()).min().unwrap_or(0);
        for word in prefix_words {
            let slot = filter.slot(word_hash(&word[..filter.prefix_probe]));
            set(&mut filter.prefix, slot);
        }
        filter.extra_leads.sort_unstable();
        filter.extra_leads.dedup();
        filter.extra_leads.reverse();
        filter
    }

    #[inline]
    fn slot(&self, hash: u64) -> usize {
        (hash >> self.shift) as usize
    }

    /// Whether a key may start just before `word`, followed `gap` spaces later by a word
    /// hashed to `next` (if any).
    #[inline(always)]
    fn passes(&self, hay: &[u8], word: &Word, next: Option<(usize, u64)>) -> bool {
        get(&self.single, self.slot(word.hash)) || self.longer_may_start(hay, word, next)
    }

    /// Whether a key other than those in `single` (one-word keys, mostly) may start there.
    #[inline(always)]
    fn longer_may_start(&self, hay: &[u8], word: &Word, next: Option<(usize, u64)>) -> bool {
        next.is_some_and(|(gap, next)| get(&self.pair, self.slot(pair_hash(word.hash, gap, next))))
            // A word as long as a prefix key's is in `single` already. With a probe of up to
            // eight bytes, shorter words are probed too, from their first eight bytes: those
            // then hold a space, which no key's first word has, so they can pass only by a
            // collision, and the length test they skip went either way for two words in five.
            || (self.prefix_probe != 0
                && (self.prefix_probe <= 8 || word.end - word.start > self.prefix_probe)
                && get(&self.prefix, self.slot(self.prefix_hash(hay, word))))
    }

    /// The hash of the word's first `prefix_probe` bytes: from the bytes already loaded when
    /// the probe is no longer than them, as it is with the shipped lists (`ajak*`).
    #[inline(always)]
    fn prefix_hash(&self, hay: &[u8], word: &Word) -> u64 {
        if self.prefix_probe <= 8 {
            head_hash(word.head, self.prefix_probe)
        } else {
            word_hash_at(hay, word.start, word.start + self.prefix_probe)
        }
    }
}

/// The one-word keys (`' ' + word + ' '`) by word, for words that the filter lets through
/// with no longer key possible: then the key equal to the word is the longest match there,
/// found by one probe instead of an anchored run. Three hits in four of the shipped lists are
/// such everyday cue words (`dukung`, `pilih`), and a run cost about 360 instructions there
/// (callgrind): it walks the automaton's sparse states byte by byte and goes on past the word.
///
/// A word is left out (and so runs the automaton) when a longer key that the pair filter
/// does not cover starts with its key (`amin!` folds to `' amin  '`, `dukung pen*`).
#[derive(Debug, Clone)]
struct OneWordKeys {
    slots: Vec<OneWordKey>,
    shift: u32,
    /// The bytes past the eighth of longer words, one after the other.
    tails: Vec<u8>,
}

#[derive(Debug, Clone, Copy, Default)]
struct OneWordKey {
    /// The word's hash as the matcher computes it; 0 marks an empty slot (a word hashing to 0
    /// is left out).
    hash: u64,
    /// Its first eight bytes, zero past its end.
    head: u64,
    len: u32,
    /// Where its bytes past the eighth start in `tails`.
    tail: u32,
    key: u32,
    /// Whether some longer key starts with this one (each such key has a whole second word
    /// and is in the pair filter; otherwise the word is not in the table). Only then must the
    /// next word be read: a longer key that matches where this one does starts with it. Most
    /// cue words start none.
    extended: bool,
}

impl OneWordKeys {
    /// From the keys (each `' ' + folded pattern [+ ' ']`) and whether each is a prefix key.
    /// A one-word key comes from patterns of word bytes only (any other byte folds to a
    /// space), so its patterns never need confirming on the original bytes.
    fn new(keys: &[Vec<u8>], prefix: &[bool]) -> OneWordKeys {
        // in byte order, the keys that start with a key follow it
        let mut sorted: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        sorted.sort_unstable();
        let mut words: Vec<(&[u8], usize, bool)> = Vec::new();
        for (k, key) in keys.iter().enumerate() {
            let word = &key[1..key.len().saturating_sub(1)];
            let one_word = !prefix[k]
                && key.len() >= 3
                && key[0] == b' '
                && key[key.len() - 1] == b' '
                && word.iter().all(|&b| b != b' ');
            if !one_word {
                continue;
            }
            match Self::longer_keys(&sorted, key) {
                LongerKeys::None => words.push((word, k, false)),
                LongerKeys::AllInPairFilter => words.push((word, k, true)),
                LongerKeys::SomeNotInPairFilter => {}
            }
        }
        let size = (words.len() * 2).max(16).next_power_of_two();
        let mut table = OneWordKeys {
            slots: vec![OneWordKey::default(); size],
            shift: 64 - size.trailing_zeros(),
            tails: Vec::new(),
        };
        for (word, key, extended) in words {
            let hash = word_hash(word);
            if hash == 0 {
                continue;
            }
            let entry = OneWordKey {
                hash,
                head: swar::load_padded(word, 0),
                len: word.len() as u32,
                tail: table.tails.len() as u32,
                key: key as u32,
                extended,
            };
            table.tails.extend_from_slice(word.get(8..).unwrap_or(&[]));
            let mut slot = (hash >> table.shift) as usize;
            while table.slots[slot].hash != 0 {
                slot = (slot + 1) & (size - 1);
            }
            table.slots[slot] = entry;
        }
        table
    }

    /// The keys other than `key` that start with it, and whether the pair filter holds them
    /// (their second word is whole). `sorted` holds every key in byte order.
    fn longer_keys(sorted: &[&[u8]], key: &[u8]) -> LongerKeys {
        let from = sorted.partition_point(|k| *k <= key);
        let mut longer = sorted[from..]
            .iter()
            .take_while(|k| k.starts_with(key))
            .peekable();
        if longer.peek().is_none() {
            return LongerKeys::None;
        }
        let uncovered = longer.any(|other| {
            let rest = &other[key.len()..];
            let gap = rest.iter().take_while(|&&b| b == b' ').count();
            let second = word_len(&rest[gap..]);
            // in the pair filter: a second word that is followed by something (a boundary
            // space or more), so that it is whole
            let whole_second = second > 0 && gap + second < rest.len();
            !whole_second
        });
        if uncovered {
            LongerKeys::SomeNotInPairFilter
        } else {
            LongerKeys::AllInPairFilter
        }
    }

    /// The entry of the key equal to `word` of the folded haystack, if it is in the table.
    #[inline]
    fn get(&self, hay: &[u8], word: &Word) -> Option<&OneWordKey> {
        let len = word.end - word.start;
        let head = word.head & (u64::MAX >> (64 - 8 * len.min(8)));
        let mut slot = (word.hash >> self.shift) as usize;
        loop {
            let entry = &self.slots[slot];
            if entry.hash == word.hash && entry.head == head && entry.len as usize == len {
                let tail = entry.tail as usize;
                let same =
                    len <= 8 || hay[word.start + 8..word.end] == self.tails[tail..tail + len - 8];
                if same {
                    return Some(entry);
                }
            }
            if entry.hash == 0 {
                return None;
            }
            slot = (slot + 1) & (self.slots.len() - 1);
        }
    }
}

/// What starts with a one-word key, for [`OneWordKeys::new`].
enum LongerKeys {
    None,
    AllInPairFilter,
    /// Such keys run the automaton: the word is left out of the table.
    SomeNotInPairFilter,
}

/// A word of the folded haystack, judged once the word after it is known.
#[derive(Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
    hash: u64,
    /// Its first eight bytes (and what follows when it is shorter).
    head: u64,
    /// How many words come before it.
    index: u32,
}

fn word_len(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|&&b| b != b' ').count()
}

#[inline]
fn get(bits: &[u64], slot: usize) -> bool {
    bits[slot / 64] & (1 << (slot % 64)) != 0
}

fn set(bits: &mut [u64], slot: usize) {
    bits[slot / 64] |= 1 << (slot % 64);
}

/// A multiplicative hash of the word `buf[start..end]`: its first and last eight bytes and its
/// length are enough to tell words apart for a filter that allows false passes. Reads eight
/// bytes from `start`, so `buf` must go on at least eight bytes past it (the folded copy is
/// padded); bytes past `end` are masked off and do not count.
#[inline]
fn word_hash_at(buf: &[u8], start: usize, end: usize) -> u64 {
    word_hash_with_head(buf, swar::load8(buf, start), start, end)
}

/// [`word_hash_at`] given the eight bytes from `start`, which the caller also needs.
#[inline]
fn word_hash_with_head(buf: &[u8], head: u64, start: usize, end: usize) -> u64 {
    // without branches: word lengths vary too much to predict
    let n = end - start;
    let head = head & (u64::MAX >> (64 - 8 * n.min(8)));
    let tail = swar::load8(buf, end.saturating_sub(8)) & 0u64.wrapping_sub((n > 8) as u64);
    mix(head ^ tail.rotate_left(29) ^ (n as u64).wrapping_mul(0x9e37_79b9))
}

/// [`word_hash_at`] of a word's first `n` bytes, `n` from 1 to 8, from its first eight.
#[inline]
fn head_hash(head: u64, n: usize) -> u64 {
    mix((head & (u64::MAX >> (64 - 8 * n))) ^ (n as u64).wrapping_mul(0x9e37_79b9))
}

/// [`word_hash_at`] of a whole slice, for building the filter.
fn word_hash(word: &[u8]) -> u64 {
    let mut padded = word.to_vec();
    padded.extend_from_slice(&[b' '; 8]);
    word_hash_at(&padded, 0, word.len())
}

/// [`FOLD`] of eight bytes at once: word bytes stay, everything else becomes a space.
#[inline]
fn fold8(x: u64) -> u64 {
    let keep = (swar::lower_word_bytes(x) >> 7).wrapping_mul(0xff);
    (x & keep) | (swar::every(b' ') & !keep)
}

/// One bit per byte of a 64-byte block of the folded copy: set for word bytes, clear for
/// spaces. Eight bytes at a time: a byte is a word byte when it differs from a space, and the
/// top bits of the differences are gathered into one byte by a multiplication.
#[inline]
fn word_bits(block: &[u8]) -> u64 {
    let mut bits = 0;
    for (i, chunk) in block.chunks_exact(8).enumerate() {
        let diff = swar::load8(chunk, 0) ^ swar::every(b' ');
        let word = swar::zero_bytes(diff) ^ swar::TOP;
        bits |= ((word >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * i);
    }
    bits
}

/// Both word hashes are already mixed, so a rotation keeps `a b` and `b a` apart without
/// another multiplication; the gap goes into the low bits, which the slot does not use alone.
#[inline]
fn pair_hash(first: u64, gap: usize, second: u64) -> u64 {
    first.rotate_left(17) ^ second ^ (gap as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[inline]
fn mix(x: u64) -> u64 {
    let m = x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    m ^ (m >> 29)
}

#[derive(Debug, Clone)]
pub struct Matcher {
    /// Driven directly through [`Automaton`]: an anchored run is a few bytes long, and
    /// `AhoCorasick::find` spent more on setting up each search than on the search.
    ac: contiguous::NFA,
    anchored_start: StateID,
    filter: WordFilter,
    one_word: OneWordKeys,
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
    #[error("the word matcher cannot run anchored searches")]
    Anchored(#[source] aho_corasick::MatchError),
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
        let filter = WordFilter::new(&key_bytes);
        let one_word = OneWordKeys::new(&key_bytes, &key_prefix);
        let build_error = |source| MatcherError::Build {
            patterns: key_bytes.len(),
            source,
        };
        let ac = contiguous::NFA::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .ascii_case_insensitive(false)
            .prefilter(false)
            .byte_classes(true)
            .build(&key_bytes)
            .map_err(build_error)?;
        let anchored_start = ac
            .start_state(Anchored::Yes)
            .map_err(MatcherError::Anchored)?;
        Ok(Matcher {
            ac,
            anchored_start,
            filter,
            one_word,
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
        // ' ' + folded text + ' ', then spaces up to whole 64-byte blocks and eight more for
        // the hash's loads; the automaton sees only the first part
        let text_end = orig.len() + 2;
        let blocks_end = text_end.div_ceil(64) * 64;
        scratch.reserve(blocks_end + 8);
        scratch.push(b' ');
        scratch.extend_from_slice(orig);
        scratch.resize(blocks_end + 8, b' ');
        for chunk in scratch.chunks_exact_mut(8) {
            let folded = fold8(swar::load8(chunk, 0));
            chunk.copy_from_slice(&folded.to_le_bytes());
        }
        let hay = scratch.as_slice();
        let search = &hay[..text_end];
        // keys before `resume` overlap a match already reported
        let mut resume = 0;
        // a word is judged once the next one is known
        let mut pending: Option<Word> = None;
        let mut word_start = 0;
        let mut words_seen = 0;
        // whether the byte before the current block is a word byte
        let mut carry = 0;
        for (block_index, block) in hay[..blocks_end].chunks_exact(64).enumerate() {
            let words = word_bits(block);
            let before = (words << 1) | carry;
            carry = words >> 63;
            // a bit where a byte differs from the one before it: a word starts or ends there
            let mut edges = words ^ before;
            while edges != 0 {
                let bit = edges.trailing_zeros();
                edges &= edges - 1;
                let at = block_index * 64 + bit as usize;
                if words & (1 << bit) != 0 {
                    word_start = at;
                    continue;
                }
                let head = swar::load8(hay, word_start);
                let word = Word {
                    start: word_start,
                    end: at,
                    hash: word_hash_with_head(hay, head, word_start, at),
                    head,
                    index: words_seen,
                };
                if let Some(last) = pending {
                    if self
                        .filter
                        .passes(hay, &last, Some((word.start - last.end, word.hash)))
                    {
                        resume = self.match_before(
                            (search, hay),
                            orig,
                            (last.start, last.end, last.index),
                            resume,
                            out,
                        );
                    }
                }
                pending = Some(word);
                words_seen += 1;
            }
        }
        if let Some(last) = pending {
            if self.filter.passes(hay, &last, None) {
                self.match_before(
                    (search, hay),
                    orig,
                    (last.start, last.end, last.index),
                    resume,
                    out,
                );
            }
        }
    }

    /// Tries the keys that start just before the word `hay[start..end]` (or, for keys with
    /// extra leading spaces, that far before), leftmost first, and returns the new `resume`.
    /// `padded` is `hay` with the padding that hashing reads past its end.
    #[inline(always)]
    fn match_before(
        &self,
        (hay, padded): (&[u8], &[u8]),
        orig: &[u8],
        (start, end, index): (usize, usize, u32),
        resume: usize,
        out: &mut Vec<Hit>,
    ) -> usize {
        let key_start = start - 1;
        for &extra in &self.filter.extra_leads {
            if let Some(at) = key_start.checked_sub(extra) {
                if at >= resume && hay[at..key_start].iter().all(|&b| b == b' ') {
                    if let Some(next) = self.match_at(hay, orig, at, index, out) {
                        return next;
                    }
                }
            }
        }
        if key_start >= resume {
            if let Some(key) = self.one_word_key(padded, start, end) {
                // folded offset `key_start` is original offset `key_start` (see `match_at`);
                // the key's trailing space is the next key's leading one
                let pattern = self.keys[key][0];
                out.push(Hit {
                    pattern,
                    start: key_start as u32,
                    end: (key_start + self.patterns[pattern as usize].len) as u32,
                    word: index,
                });
                return end;
            }
            if let Some(next) = self.match_at(hay, orig, key_start, index, out) {
                return next;
            }
        }
        resume
    }

    /// The one-word key equal to the word `hay[start..end]`, when the filter rules out every
    /// longer key there. The word and the next are hashed again: this runs only for the few
    /// words the filter lets through, and handing their hashes over from the scan made the
    /// scan itself slower (it kept its words in memory rather than in registers).
    #[inline(never)]
    fn one_word_key(&self, hay: &[u8], start: usize, end: usize) -> Option<usize> {
        let head = swar::load8(hay, start);
        let word = Word {
            start,
            end,
            hash: word_hash_with_head(hay, head, start, end),
            head,
            index: 0,
        };
        // most words the filter lets through are hits of longer keys or false passes: the
        // table turns those away before the next word is read
        let entry = self.one_word.get(hay, &word)?;
        let key = entry.key as usize;
        if !entry.extended {
            return Some(key);
        }
        let gap = hay[end..].iter().take_while(|&&b| b == b' ').count();
        let next_start = end + gap;
        let next_end = next_start + word_len(&hay[next_start..]);
        let next = (next_end > next_start).then(|| (gap, word_hash_at(hay, next_start, next_end)));
        (!self.filter.longer_may_start(hay, &word, next)).then_some(key)
    }

    /// Runs the automaton anchored at `at`; on a confirmed match, reports it and returns where
    /// the next key may start.
    #[inline]
    fn match_at(
        &self,
        hay: &[u8],
        orig: &[u8],
        at: usize,
        word: u32,
        out: &mut Vec<Hit>,
    ) -> Option<usize> {
        // leftmost-longest from `at`: the last match state before the automaton dies
        let mut state = self.anchored_start;
        let mut found = None;
        for (i, &b) in hay[at..].iter().enumerate() {
            state = self.ac.next_state(Anchored::Yes, state, b);
            if self.ac.is_special(state) {
                if self.ac.is_dead(state) {
                    break;
                }
                // a match state may also carry a key that starts later (reached through a
                // failure link when the automaton was built); only keys starting at `at` count
                if self.ac.is_match(state) {
                    let key = self.ac.match_pattern(state, 0);
                    if self.ac.pattern_len(key) == i + 1 {
                        found = Some((at + i + 1, key.as_usize()));
                    }
                }
            }
        }
        let (key_end, key) = found?;
        // key byte 0 is the boundary before the pattern, at folded offset `at`; the pattern
        // itself starts at folded offset at + 1, which is original offset `at`
        let start = at;
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
                word,
            });
            // the trailing boundary of a whole-word match is the leading boundary of the next
            return Some(if self.key_prefix[key] {
                key_end
            } else {
                key_end - 1
            });
        }
        None
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
    fn eight_bytes_fold_like_the_table() {
        swar::each_byte_in_each_lane(|bytes, lane, b| {
            let folded = fold8(u64::from_le_bytes(bytes)).to_le_bytes();
            let expected: Vec<u8> = bytes.iter().map(|&x| FOLD[x as usize]).collect();
            assert_eq!(folded.to_vec(), expected, "byte {b:#04x} in lane {lane}");
        });
    }

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

    /// The filter probes a prefix key by its first word's first bytes, taken from the word's
    /// first eight bytes when the shortest such word fits in them, and hashed from the text
    /// when it does not: both must let the key's longer words through.
    #[test]
    fn prefix_keys_match_longer_words_whatever_their_length() {
        for (prefix, word) in [("ajak", "ajakan"), ("menangkan", "menangkanlah")] {
            let m = Matcher::new([(prefix, Boundary::Prefix), ("lain", Boundary::Word)]).unwrap();
            let text = format!("ayo {word} sekarang");
            let hits = m.find(&text);
            assert_eq!(hits.len(), 1, "{prefix}* in {text}");
            assert_eq!(&text[hits[0].start as usize..hits[0].end as usize], prefix);
            assert!(m.find("ayo menang").is_empty());
            // the word itself matches; its bytes split over two words do not
            assert_eq!(m.find(&format!("ayo {prefix}")).len(), 1, "{prefix}");
            let split = format!("{} {}", &prefix[..3], &prefix[3..]);
            assert!(m.find(&split).is_empty(), "{split}");
        }
    }

    /// Words are read 64 bytes at a time; a word that begins in one block and ends in the
    /// next must keep its start, wherever the boundary falls in it.
    #[test]
    fn words_across_block_boundaries_match() {
        let m = Matcher::new([("ganjar pranowo", Boundary::Word)]).unwrap();
        for lead in 40..80 {
            // a long word across the boundary before the phrase, or the phrase across it
            for before in ["a".repeat(lead), "a ".repeat(lead / 2)] {
                let text = format!("{before} ganjar pranowo x");
                let hits = m.find(&text);
                assert_eq!(hits.len(), 1, "{text}");
                let found = &text[hits[0].start as usize..hits[0].end as usize];
                assert_eq!(found, "ganjar pranowo");
            }
        }
    }

    /// A one-word key is taken from its table only when no longer key can start there: a
    /// phrase ending in a prefix and a key with trailing punctuation are not in the pair
    /// filter, so the word must run the automaton.
    #[test]
    fn one_word_keys_give_way_to_longer_keys() {
        let m = Matcher::new([
            ("amin", Boundary::Word),
            ("amin pan", Boundary::Prefix),
            ("pilih", Boundary::Word),
            ("pilih!", Boundary::Word),
            ("dukung", Boundary::Word),
            ("dukung penuh", Boundary::Word),
        ])
        .unwrap();
        let found = |text: &str| -> Vec<(u32, String)> {
            m.find(text)
                .iter()
                .map(|h| {
                    (
                        h.pattern,
                        text[h.start as usize..h.end as usize].to_string(),
                    )
                })
                .collect()
        };
        assert_eq!(found("amin panas"), vec![(1, "amin pan".to_string())]);
        assert_eq!(found("amin pan"), vec![(1, "amin pan".to_string())]);
        assert_eq!(found("amin lagi"), vec![(0, "amin".to_string())]);
        assert_eq!(found("pilih! ya"), vec![(3, "pilih!".to_string())]);
        assert_eq!(found("pilih ya"), vec![(2, "pilih".to_string())]);
        assert_eq!(found("dukung penuh"), vec![(5, "dukung penuh".to_string())]);
        assert_eq!(found("dukung dia"), vec![(4, "dukung".to_string())]);
        // the table answers for words of more than eight bytes too, by all their bytes
        let long = Matcher::new([
            ("kampanyekan", Boundary::Word),
            ("kampanyekanlah", Boundary::Word),
        ])
        .unwrap();
        let text = "kampanyekan kampanyekanlah kampanyekam";
        let got: Vec<u32> = long.find(text).iter().map(|h| h.pattern).collect();
        assert_eq!(got, vec![0, 1]);
    }

    /// Hashes may collide: the table also compares every byte of the word, past the first
    /// eight as well.
    #[test]
    fn one_word_table_compares_the_bytes_not_only_the_hash() {
        let keys = vec![b" kampanyekanlah ".to_vec()];
        let table = OneWordKeys::new(&keys, &[false]);
        let hay = b" kampanyekanlih         ".to_vec();
        let colliding = Word {
            start: 1,
            end: 15,
            hash: word_hash(b"kampanyekanlah"),
            head: swar::load8(&hay, 1),
            index: 0,
        };
        assert_eq!(table.get(&hay, &colliding).map(|e| e.key), None);
        let same = b" kampanyekanlah         ".to_vec();
        assert_eq!(table.get(&same, &colliding).map(|e| e.key), Some(0));
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
