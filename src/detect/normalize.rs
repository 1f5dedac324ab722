//! Offset-preserving normalisation of informal Indonesian social-media text (design §7).
//!
//! The matcher only ever sees normalised text, but reviewers must see what the person actually
//! wrote. So every byte of the normalised text carries the byte span of the original it came
//! from, and any normalised span can be mapped back to an exact, char-aligned original span.
//!
//! Steps, in order: HTML to text (tags dropped, block tags and `<br>` become spaces, entities
//! decoded); Unicode compatibility decomposition with combining marks, zero-width characters,
//! variation selectors and skin tones dropped (this is NFKC followed by diacritic stripping
//! without the pointless compose-then-decompose: each char is decomposed compatibly, so
//! fullwidth `Ｐ` becomes `p` and `é` becomes `e`, and its marks are dropped);
//! hand-sign emoji mapped to word tokens (`jarisatu` .. `jariempat`); `&` read as `dan`; dashes
//! read as spaces; then per token: camel-case and letter/digit splitting of hashtags, lowercase,
//! leetspeak folded only when digits sit inside a word (`pr4b0w0`), other letter-digit tokens
//! split (`pemilu2024`), reduplication `ibu2` reduced to `ibu`, runs of three or more equal
//! letters collapsed (not at the start of a word: `PPP` and `PPPK` are acronyms), sequences of
//! three or more single letters joined (`g a n j a r`) and slang expanded from the word lists.
//! Pure numbers are kept as they are: `02` is a ballot number.
//!
//! Almost all text takes a fast path: one pass over the bytes, plain words copied lowercased
//! with identity spans, HTML tags, common entities, emoji and Latin letters with diacritics
//! read in place. Runs of plain prose (words of letters with punctuation and single spaces
//! between them) are copied by a loop of their own that records no span per word. Only rare
//! text (keycaps, spaced-out letters, entities decoding to letters, chars outside a fixed
//! table) goes through the general, per-char path. Property tests check
//! that both agree byte for byte, spans included.
//!
//! The result is idempotent: normalising normalised text changes nothing (a property test
//! checks it), which is what lets word-list terms be normalised with the same function.

use std::collections::HashMap;

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

use super::swar;

/// Tokens the hand-sign emoji become; plain words so they survive re-normalisation unchanged.
pub const HAND_SIGN_TOKENS: [&str; 4] = ["jarisatu", "jaridua", "jaritiga", "jariempat"];

/// FNV-1a: slang keys are short ASCII words from our own word lists, where SipHash's DoS
/// resistance buys nothing. (Words of up to eight bytes are looked up in `SlangMap::short`.)
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    /// A slice's hash starts with its length: one round for it rather than one per byte of
    /// a `usize`, which cost more than the short word after it.
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0 ^ n as u64).wrapping_mul(0x0100_0000_01b3);
    }
}

type FnvBuild = std::hash::BuildHasherDefault<Fnv>;

/// Informal-to-formal word replacements applied to whole tokens.
///
/// Values must be fixed points of normalisation (lowercase ASCII words that are not keys
/// themselves); [`SlangMap::insert`] refuses anything else so normalisation stays idempotent.
#[derive(Debug, Clone, Default)]
pub struct SlangMap {
    /// Every key. Lookups of keys longer than eight bytes use it; the rest use `short`.
    map: HashMap<Box<[u8]>, Box<str>, FnvBuild>,
    /// One bit per [`filter_slot`] of a key (its first eight bytes and its length), at most
    /// one bit in 64 set, so a word that is no key passes at most about once in 64 (grown
    /// and rebuilt as keys are added). Most words skip the lookup, and the branch on the test
    /// nearly always goes the same way. The two filters by first and last byte pairs that it
    /// replaced let one word in five through, and callgrind's model mispredicted their branch
    /// for one word in six.
    filter: Vec<u64>,
    /// Whether some value has a one-letter word, which the fast path must then look at for
    /// spaced-letter runs in its output.
    loose_values: bool,
    /// Keys of up to eight bytes (most of them), by [`short_key`], with linear probing; an
    /// empty slot has key 0. A word that passes the filter is then found with one
    /// multiplication and a load or two, where hashing it byte by byte and probing the map
    /// cost about a hundred instructions.
    short: Vec<(u64, Box<str>)>,
    /// Occupied slots of `short`.
    short_len: usize,
}

/// A word of one to eight bytes as a little-endian `u64`, zero-padded. Keys are letters, so
/// no key has a zero byte and the padding tells the length.
#[inline]
fn short_key(word: &[u8]) -> u64 {
    // two overlapping loads, ORed: a copy into a zeroed array became a call to `memcpy`
    let n = word.len();
    let (lo, hi, shift) = if n >= 4 {
        let four = |at: usize| {
            u64::from(u32::from_le_bytes([
                word[at],
                word[at + 1],
                word[at + 2],
                word[at + 3],
            ]))
        };
        (four(0), four(n - 4), n - 4)
    } else if n >= 2 {
        let two = |at: usize| u64::from(u16::from_le_bytes([word[at], word[at + 1]]));
        (two(0), two(n - 2), n - 2)
    } else {
        (u64::from(word[0]), 0, 0)
    };
    lo | hi << (8 * shift)
}

/// The slot of [`short_key`] `key` in a table of `1 << bits` slots.
#[inline]
fn short_slot(key: u64, bits: u32) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
}

impl SlangMap {
    pub fn new() -> SlangMap {
        SlangMap::default()
    }

    /// Adds `from → to`; returns false (and adds nothing) when the pair would make
    /// normalisation unstable: `from` not a single lowercase ASCII word, `to` not lowercase
    /// ASCII words separated by single spaces, or a chain (`to` contains a key or `from` is
    /// used inside an existing value).
    pub fn insert(&mut self, from: &str, to: &str) -> bool {
        let word_ok = |w: &str| {
            !w.is_empty()
                && w.bytes().all(|b| b.is_ascii_lowercase())
                && !has_run_of_three(w.as_bytes())
        };
        if !word_ok(from) || to.split(' ').any(|w| !word_ok(w)) || from == to {
            return false;
        }
        if to.split(' ').any(|w| self.map.contains_key(w.as_bytes()))
            || self.map.values().any(|v| v.split(' ').any(|w| w == from))
        {
            return false;
        }
        self.map.insert(from.as_bytes().into(), to.into());
        if from.len() <= 8 {
            self.insert_short(short_key(from.as_bytes()), to.into());
        }
        self.loose_values |= to.split(' ').any(|w| w.len() == 1);
        if self.map.len() > self.filter.len() {
            // at most one bit in 64 set: rebuilt, twice as large (4,096 bits at first), from
            // every key
            self.filter = vec![0; (self.filter.len() * 2).max(64)];
            for key in self.map.keys() {
                mark_in_filter(&mut self.filter, key);
            }
        } else {
            mark_in_filter(&mut self.filter, from.as_bytes());
        }
        true
    }

    pub fn get(&self, word: &str) -> Option<&str> {
        self.get_bytes(word.as_bytes())
    }

    /// The filter runs inline at every word of every post and rejects almost all words; only
    /// the rest pay for a call and the lookup.
    #[inline]
    fn get_bytes(&self, word: &[u8]) -> Option<&str> {
        if !self.may_hold(word) {
            return None;
        }
        self.lookup(word)
    }

    /// Whether `word` may be a key: the filter of [`SlangMap::get_bytes`] alone.
    #[inline]
    fn may_hold(&self, word: &[u8]) -> bool {
        self.may_hold_head(first_eight(word), word.len())
    }

    /// [`SlangMap::may_hold`] for a word of `len` bytes given its first eight bytes as a
    /// `u64` (bytes after the word do not count), which the fast path has already loaded.
    #[inline]
    fn may_hold_head(&self, head: u64, len: usize) -> bool {
        if self.filter.is_empty() {
            return false;
        }
        let slot = filter_slot(head, len, self.filter.len() * 64);
        self.filter[slot / 64] & (1 << (slot % 64)) != 0
    }

    #[inline(never)]
    fn lookup(&self, word: &[u8]) -> Option<&str> {
        if word.len() > 8 {
            return self.map.get(word).map(|v| &**v);
        }
        // every key of up to eight bytes is in `short`; an empty word may pass the filter
        if word.is_empty() || self.short.is_empty() {
            return None;
        }
        let (k, v) = &self.short[self.short_probe(short_key(word))];
        (*k != 0).then_some(&**v)
    }

    /// The slot of `short` that holds `key`, or the empty slot where it would go: the probe
    /// sequence of both lookups and inserts.
    fn short_probe(&self, key: u64) -> usize {
        let mut slot = short_slot(key, self.short.len().trailing_zeros());
        while self.short[slot].0 != 0 && self.short[slot].0 != key {
            slot = (slot + 1) & (self.short.len() - 1);
        }
        slot
    }

    /// Adds a key of up to eight bytes to `short`, doubling the table when it would be more
    /// than half full (and creating it on the first key), so a probe ends at an empty slot
    /// within a few steps.
    fn insert_short(&mut self, key: u64, value: Box<str>) {
        if (self.short_len + 1) * 2 > self.short.len() {
            let size = (self.short.len() * 2).max(64);
            let old = std::mem::replace(&mut self.short, vec![(0, Box::from("")); size]);
            self.short_len = 0;
            for (k, v) in old {
                if k != 0 {
                    self.insert_short(k, v);
                }
            }
        }
        let slot = self.short_probe(key);
        if self.short[slot].0 == 0 {
            self.short_len += 1;
        }
        self.short[slot] = (key, value);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The first eight bytes of `word` as a little-endian `u64`, zero-padded when it is shorter.
#[inline]
fn first_eight(word: &[u8]) -> u64 {
    match word.first_chunk::<8>() {
        Some(chunk) => u64::from_le_bytes(*chunk),
        None if word.is_empty() => 0,
        None => short_key(word),
    }
}

/// Sets the bit of `key` in a slang filter.
fn mark_in_filter(filter: &mut [u64], key: &[u8]) {
    let slot = filter_slot(first_eight(key), key.len(), filter.len() * 64);
    filter[slot / 64] |= 1 << (slot % 64);
}

/// The filter slot of a word of `len` bytes whose first eight are `head` (bytes after the
/// word are masked off), in a filter of `bits` bits (a power of two). Longer words are told
/// apart by their first eight bytes and their length only, which is enough for a filter.
#[inline]
fn filter_slot(head: u64, len: usize, bits: usize) -> usize {
    // without a branch on the length, which varies from word to word
    let key = head
        & u64::MAX
            .checked_shr(64 - 8 * len.min(8) as u32)
            .unwrap_or(0);
    let mixed = (key ^ (len as u64).wrapping_mul(0x9e37_79b9)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    (mixed >> (64 - bits.trailing_zeros())) as usize
}

fn has_run_of_three(b: &[u8]) -> bool {
    b.windows(3).any(|w| w[0] == w[1] && w[1] == w[2])
}

/// Normalised text with, for every byte, the original byte span it came from.
///
/// The spans are kept per run, not per byte: most of the output is words copied from the
/// original byte for byte, so one run covers a whole word. Filling a per-byte table took about
/// a seventh of normalisation's instructions and eight bytes of writes per output byte, for
/// lookups that happen only at matches.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    pub text: String,
    runs: Vec<SpanRun>,
}

/// Output bytes from `out` up to the next run's: either copied (byte `out + k` came from
/// original byte `start + k`, except that a space there stands for the empty span at
/// `start + k`) or all from the one original span `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SpanRun {
    out: u32,
    start: u32,
    end: u32,
    copied: bool,
}

impl Normalized {
    /// The original byte span `[start, end)` that normalised bytes `[from, to)` came from.
    /// An empty or out-of-range request maps to an empty span.
    pub fn original_span(&self, from: usize, to: usize) -> (usize, usize) {
        if from >= to || to > self.text.len() {
            let at = self.span_at(from).map_or(0, |(start, _)| start);
            return (at, at);
        }
        let (start, _) = self.span_at(from).unwrap_or((0, 0));
        let (_, end) = self.span_at(to - 1).unwrap_or((0, 0));
        (start, end.max(start))
    }

    /// The original span of output byte `at`, if there is such a byte.
    fn span_at(&self, at: usize) -> Option<(usize, usize)> {
        if at >= self.text.len() {
            return None;
        }
        let at = at as u32;
        let index = self.runs.partition_point(|r| r.out <= at).checked_sub(1)?;
        let run = self.runs[index];
        Some(if run.copied {
            let k = (run.start + (at - run.out)) as usize;
            // a space inside a copied run stands for the separator it replaced: the empty
            // span where that separator starts (see `Out::space`)
            if self.text.as_bytes()[at as usize] == b' ' {
                (k, k)
            } else {
                (k, k + 1)
            }
        } else {
            (run.start as usize, run.end as usize)
        })
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// Equal when the texts are and every byte has the same span, however the runs were cut.
impl PartialEq for Normalized {
    fn eq(&self, other: &Normalized) -> bool {
        self.text == other.text && (0..self.text.len()).all(|k| self.span_at(k) == other.span_at(k))
    }
}

impl Eq for Normalized {}

/// One character of the decoded text with the original span it stands for.
#[derive(Debug, Clone, Copy)]
struct Unit {
    c: char,
    start: u32,
    end: u32,
}

/// What normalisation reuses from one text to the next: the text and spans of a result the
/// caller is done with (see [`Buffers::recycle`]) and the word routines' unit lists. Fresh
/// ones cost four allocations a text; each buffer is cleared before use, so what ran before
/// never shows in a result.
#[derive(Debug, Default)]
pub struct Buffers {
    text: Vec<u8>,
    runs: Vec<SpanRun>,
    units: Vec<Unit>,
    buf: Vec<Unit>,
}

impl Buffers {
    /// Takes back the storage of a result that is no longer needed, for the next text.
    pub fn recycle(&mut self, done: Normalized) {
        let (text, runs) = (done.text.into_bytes(), done.runs);
        if text.capacity() > self.text.capacity() {
            self.text = text;
        }
        if runs.capacity() > self.runs.capacity() {
            self.runs = runs;
        }
    }
}

/// Normalises `text`; see the module docs for the steps.
pub fn normalize(text: &str, slang: &SlangMap) -> Normalized {
    normalize_with(text, slang, &mut Buffers::default())
}

/// [`normalize`], reusing `buffers` instead of allocating.
pub fn normalize_with(text: &str, slang: &SlangMap, buffers: &mut Buffers) -> Normalized {
    if let Some(n) = fast_with(text, slang, buffers) {
        return n;
    }
    normalize_general(text, slang)
}

/// The general path alone (what [`normalize`] does when the fast path declines); public so a
/// property test can check that both paths agree.
#[doc(hidden)]
pub fn normalize_general(text: &str, slang: &SlangMap) -> Normalized {
    let bytes = text.as_bytes();
    let mut units = Vec::with_capacity(text.len() + 8);
    if text.is_ascii() && !bytes.contains(&b'<') && !bytes.contains(&b'&') {
        // Fast path: no HTML, no Unicode work; one unit per byte.
        for (i, &b) in bytes.iter().enumerate() {
            let c = match b {
                b'-' | b'>' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => ' ',
                _ => b as char,
            };
            units.push(Unit {
                c,
                start: i as u32,
                end: i as u32 + 1,
            });
        }
    } else {
        decode(text, &mut units);
    }
    let mut out = Out::with_capacity(text.len() + 16);
    tokens(&units, slang, &mut out);
    let out = out.finish();
    join_leftover_letters(out, slang)
}

const fn is_ascii_sep(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b'-' | b'>')
}

/// Whether a non-ASCII char passes through normalisation unchanged (emoji, symbols, letters
/// without diacritics or case).
fn passes_unchanged(c: char) -> bool {
    if is_combining_mark(c) || c.is_whitespace() || is_dash(c) || is_marker(c) || is_invisible(c) {
        return false;
    }
    let mut same = true;
    let mut count = 0;
    decompose_compatible(c, |d| {
        count += 1;
        same &= d == c;
    });
    let mut lower = c.to_lowercase();
    same && count == 1 && lower.next() == Some(c) && lower.next().is_none()
}

/// The fast path: one pass over the bytes that produces exactly what the general path would
/// (a property test checks text and spans), without decoding the text into units first.
///
/// It reads what most posts are made of: ASCII words (copied lowercased with identity spans,
/// or expanded from the slang map), Latin letters with diacritics (a fixed table instead of
/// Unicode decomposition), HTML tags (block tags are spaces, inline tags and zero-width
/// characters are transparent, so a word or hashtag continues across them), `&`, the common
/// entities, hand signs and emoji. Words that are not plain ASCII letters (digits, elongation,
/// hashtags, letters across tags) are gathered into units and go through the same word
/// routines as the general path. `None` sends the text down the general path: keycaps, three
/// spaced single letters (`g a n j a r`, or a hashtag ending in one letter and two more),
/// entities decoding to letters or digits, and chars that normalisation would change other
/// than by the table (fullwidth forms, combining marks, `Æ`...).
/// Public so the property tests and the profiling driver can see which texts it declines.
#[doc(hidden)]
pub fn normalize_fast(text: &str, slang: &SlangMap) -> Option<Normalized> {
    fast_with(text, slang, &mut Buffers::default())
}

/// [`normalize_fast`] in `buffers`. When it declines, the buffers it took are dropped and the
/// next text allocates anew: declining is rare (no post of the benchmark corpus does).
fn fast_with(text: &str, slang: &SlangMap, buffers: &mut Buffers) -> Option<Normalized> {
    let mut out = Out::reusing(
        std::mem::take(&mut buffers.text),
        std::mem::take(&mut buffers.runs),
        text.len() + 16,
    );
    let mut units = emptied_with_room(std::mem::take(&mut buffers.units), 32);
    let mut buf = emptied_with_room(std::mem::take(&mut buffers.buf), 32);
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut run = LetterRun::default();
    let mut i = 0;
    while i < n {
        let b = bytes[i];
        if is_word_byte(b) {
            let at = out.text.len();
            let Scanned {
                end: mut j,
                letters_only,
                head,
                ..
            } = scan_word::<false>(bytes, i, &mut out.text);
            if continues_across(text, j) {
                out.text.truncate(at);
                units.clear();
                i = word_units(text, i, &mut units);
                run.word(is_single_letter(&units))?;
                word(&units, slang, &mut out, &mut buf, false);
                continue;
            }
            run.word(j - i == 1 && letters_only)?;
            // elongation (three equal letters, not at the start: `PPP` is an acronym) needs
            // the word routine
            let plain = letters_only && !elongated(&out.text[at..], head);
            if plain {
                if let Some(exp) = slang.get_bytes(&out.text[at..]) {
                    out.text.truncate(at);
                    out.push_str(exp, i as u32, j as u32);
                } else {
                    out.copied_spans(at, i as u32, j as u32);
                    // what follows is taken there for as long as it is as plain
                    i = copy_plain_words(bytes, j, slang, &mut out, &mut run)?;
                    continue;
                }
                // a slang word too mostly ends at one space, taken here rather than on
                // another turn
                if bytes.get(j) == Some(&b' ') {
                    out.space();
                    run.space();
                    j += 1;
                }
            } else if let Some(letters) = letters_then_number(&out.text[at..]) {
                // what `word` makes of `user73740` (a mention), read in place: the letters as
                // a word of their own, a space, the number
                let digits_at = at + letters;
                if let Some(exp) = slang.get_bytes(&out.text[at..digits_at]) {
                    let number = out.text.split_off(digits_at);
                    out.text.truncate(at);
                    out.push_str(exp, i as u32, (i + letters) as u32);
                    out.space();
                    let number_at = out.text.len();
                    out.text.extend_from_slice(&number);
                    out.copied_spans(number_at, (i + letters) as u32, j as u32);
                } else {
                    out.copied_spans(at, i as u32, (i + letters) as u32);
                    out.text.insert(digits_at, b' ');
                    out.copied_spans(digits_at + 1, (i + letters) as u32, j as u32);
                }
            } else {
                out.text.truncate(at);
                units.clear();
                units.extend((i..j).map(|k| Unit {
                    c: bytes[k] as char,
                    start: k as u32,
                    end: k as u32 + 1,
                }));
                word(&units, slang, &mut out, &mut buf, false);
            }
            i = j;
        } else if is_ascii_sep(b) {
            out.space();
            run.space();
            i += 1;
        } else if b == b'<' {
            match tag_at(text, i) {
                Some((close, block)) => {
                    if block {
                        out.space();
                        run.space();
                    }
                    i = close + 1;
                }
                None => {
                    out.space();
                    run.space();
                    i += 1;
                }
            }
        } else if b == b'#' {
            out.push('#', i as u32, i as u32 + 1);
            run.other();
            let body = skip_transparent(text, i + 1);
            if starts_word(bytes, body) {
                units.clear();
                i = word_units(text, body, &mut units);
                hashtag_parts(&units, slang, &mut out, &mut buf);
                // a last part of one letter (`#a`, `#1a` gives `#1 a`) can start a run
                let t = &out.text;
                let k = t.len();
                run.hashtag(k >= 2 && t[k - 1].is_ascii_lowercase() && !is_word_byte(t[k - 2]));
            } else {
                i += 1;
            }
        } else if b == b'&' {
            // what the general path decodes here; a bare `&` stays itself
            let (c, len) = entity(&text[i..]).unwrap_or(('&', 1));
            let (start, end) = (i as u32, (i + len) as u32);
            if c == '&' {
                out.space();
                out.push_str("dan", start, end);
                out.space();
                run.other();
            } else if c.is_ascii() && !is_word_byte(c as u8) && c != '#' {
                if is_ascii_sep(c as u8) || c == '<' {
                    out.space();
                    run.space();
                } else {
                    out.push(c, start, end);
                    run.other();
                }
            } else if !c.is_ascii() && (c.is_whitespace() || is_dash(c)) {
                out.space();
                run.space();
            } else {
                // letters, digits, `#` or other chars from entities: rare, and they would
                // join words or start hashtags
                return None;
            }
            i += len;
        } else if b < 0x80 {
            out.push(b as char, i as u32, i as u32 + 1);
            run.other();
            i += 1;
        } else if latin_letter(bytes, i).is_some() {
            units.clear();
            i = word_units(text, i, &mut units);
            run.word(is_single_letter(&units))?;
            word(&units, slang, &mut out, &mut buf, false);
        } else {
            let c = text[i..].chars().next()?;
            let len = c.len_utf8();
            let (start, end) = (i as u32, (i + len) as u32);
            if c.is_whitespace() || is_dash(c) {
                out.space();
                run.space();
            } else if let Some(k) = hand_sign(c) {
                out.space();
                out.push_str(HAND_SIGN_TOKENS[k - 1], start, end);
                out.space();
                run.other();
            } else if c == '\u{20E3}' {
                // a keycap (`3️⃣`) whose digit was already read as a word
                return None;
            } else if is_invisible(c) {
                // dropped, and transparent: a word before it continues after it
            } else if passes_unchanged(c) {
                out.push(c, start, end);
                run.other();
            } else {
                return None;
            }
            i += len;
        }
    }
    (buffers.units, buffers.buf) = (units, buf);
    let done = out.finish();
    // Every run of standalone letters in the output was declined above, unless slang values
    // bring their own one-letter words.
    Some(if slang.loose_values {
        join_leftover_letters(done, slang)
    } else {
        done
    })
}

/// A word read by [`scan_word`].
struct Scanned {
    /// The offset after the word.
    end: usize,
    letters_only: bool,
    /// The word's first eight bytes, lowercased, as a `u64` (bytes after the word included).
    head: u64,
    /// The byte after the word, read from the last chunk (0 past the end of the text).
    after: u8,
}

/// For a lowercase word of at least two letters then a number (`user73740`, `pemilu2024`,
/// no letter after a digit), the number of letters, when [`word`] would split it there and
/// change nothing else: no run of three equal letters (elongation), no more letters than it
/// looks up in the slang map, and not a reduplication (`ibu2`, which `word` reduces to `ibu`).
fn letters_then_number(word: &[u8]) -> Option<usize> {
    let letters = word.iter().take_while(|b| b.is_ascii_lowercase()).count();
    let number = &word[letters..];
    // `word` looks letter runs of up to 32 bytes up in the slang map, and no longer ones
    let split = (2..=32).contains(&letters)
        && !number.is_empty()
        && number.iter().all(u8::is_ascii_digit)
        && !(number == b"2" && letters >= 3)
        && !has_run_of_three(&word[..letters]);
    split.then_some(letters)
}

/// Reads the run of ASCII word bytes starting at `start` eight bytes at a time, learning
/// whether it is letters only, and appends its lowercase copy to `text`. With `LETTERS_ONLY`
/// the run is of letters alone (a digit or `_` ends it, as `after`): the plain-prose loop
/// wants nothing else, and the narrower test is cheaper on every chunk of every word.
#[inline(always)]
fn scan_word<const LETTERS_ONLY: bool>(bytes: &[u8], start: usize, text: &mut Vec<u8>) -> Scanned {
    let at = text.len();
    let mut end = start;
    let mut letters_only = true;
    let mut head = None;
    let after = loop {
        let x = swar::load_padded(bytes, end);
        let (word_bytes, letters) = if LETTERS_ONLY {
            let letters = swar::letter_bytes(x);
            (letters, letters)
        } else {
            swar::word_and_letter_bytes(x)
        };
        let len = swar::leading_run(word_bytes);
        let inside = TOP_BITS_BELOW[len];
        letters_only &= (word_bytes ^ letters) & inside == 0;
        // a letter's top bit, moved to bit 5, lowercases it
        let lower = x | (letters >> 2);
        head.get_or_insert(lower);
        // whole chunks are written and the excess cut below
        text.extend_from_slice(&lower.to_le_bytes());
        end += len;
        if len < 8 {
            break (x >> (8 * len)) as u8;
        }
    };
    text.truncate(at + (end - start));
    Scanned {
        end,
        letters_only,
        head: head.unwrap_or(0),
        after,
    }
}

/// Whether the word ending at `end` goes on after an inline tag or a zero-width char (which
/// normalisation drops), so that it must be read as units.
#[inline(always)]
fn continues_across(text: &str, end: usize) -> bool {
    let bytes = text.as_bytes();
    end < bytes.len()
        && (bytes[end] == b'<' || bytes[end] >= 0x80)
        && starts_word(bytes, skip_transparent(text, end))
}

/// After a plain word copied at the end of the output (its run ending at original offset
/// `end`), copies what follows for as long as it is plain words and the gaps between them:
/// most prose is exactly that. A gap is punctuation and single separators; it is copied as
/// the main loop would copy it (punctuation as it is, a separator as a space), and every
/// byte continues the same copied run, so no span is recorded. A word must be letters only,
/// not elongated, not a slang key and end before a byte that cannot continue it.
///
/// Stops at the first thing the main loop must read (a tag, `#`, `&`, a non-ASCII char, a
/// second separator in a row, a word that needs more) and returns its offset, with the
/// output, the cursor and `run` as the main loop would have left them there; `None` when the
/// words make a run of three single letters, which the general path joins.
fn copy_plain_words(
    bytes: &[u8],
    mut end: usize,
    slang: &SlangMap,
    out: &mut Out,
    run: &mut LetterRun,
) -> Option<usize> {
    let mut after = bytes.get(end).copied().unwrap_or(0);
    loop {
        // most gaps are one space before a letter; the rest are read byte by byte
        let start = if after == b' ' && bytes.get(end + 1).is_some_and(u8::is_ascii_alphabetic) {
            out.text.push(b' ');
            run.space();
            end + 1
        } else {
            let (next, cursor) = copy_gap(bytes, end, out, run);
            out.cursor = cursor as u32;
            if !bytes.get(next).is_some_and(u8::is_ascii_alphabetic) {
                return Some(next);
            }
            next
        };
        let before = out.text.len();
        let scanned = scan_word::<true>(bytes, start, &mut out.text);
        let word = &out.text[before..];
        // a digit or `_` after the letters makes a longer word; a tag or a non-ASCII char
        // might continue it (see `continues_across`)
        if is_word_byte(scanned.after)
            || scanned.after == b'<'
            || scanned.after >= 0x80
            || elongated(word, scanned.head)
            || (slang.may_hold_head(scanned.head, word.len()) && slang.lookup(word).is_some())
        {
            out.text.truncate(before);
            return Some(start);
        }
        run.word(scanned.end - start == 1)?;
        end = scanned.end;
        after = scanned.after;
        out.cursor = end as u32;
    }
}

/// Copies the gap from `at` (after a word) as the main loop would: punctuation as it is, a
/// separator as a space unless it follows another. Returns where it stopped and where the
/// main loop's cursor would be (after the last punctuation: a space does not move it).
fn copy_gap(bytes: &[u8], mut at: usize, out: &mut Out, run: &mut LetterRun) -> (usize, usize) {
    let mut cursor = at;
    let mut separator_last = false;
    while let Some(&b) = bytes.get(at) {
        match GAP_BYTE[b as usize] {
            GapByte::Punctuation => {
                out.text.push(b);
                run.other();
                cursor = at + 1;
                separator_last = false;
            }
            GapByte::Separator if !separator_last => {
                out.text.push(b' ');
                run.space();
                separator_last = true;
            }
            _ => break,
        }
        at += 1;
    }
    (at, cursor)
}

/// How [`copy_plain_words`] reads a byte between words.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GapByte {
    /// Pushed as itself by the main loop (ASCII other than word bytes, separators, `<`,
    /// `&` and `#`).
    Punctuation,
    /// Read as a space.
    Separator,
    /// Anything else: a word byte, or what the main loop reads in its own way.
    Other,
}

static GAP_BYTE: [GapByte; 256] = {
    let mut t = [GapByte::Other; 256];
    let mut b = 0;
    while b < 0x80 {
        let byte = b as u8;
        t[b] = if is_ascii_sep(byte) {
            GapByte::Separator
        } else if is_word_byte(byte) || matches!(byte, b'<' | b'&' | b'#') {
            GapByte::Other
        } else {
            GapByte::Punctuation
        };
        b += 1;
    }
    t
};

/// The top bits of the lowest `n` bytes of a `u64`, for `n` from 0 to 8.
const TOP_BITS_BELOW: [u64; 9] = {
    let mut t = [0u64; 9];
    let mut n = 1;
    while n <= 8 {
        t[n] = t[n - 1] | (0x80 << (8 * (n - 1)));
        n += 1;
    }
    t
};

/// Whether a lowercase word has a run of three equal bytes that does not start it (`PPP` is
/// an acronym, `gemoyyy` is elongated). Words of up to eight bytes, most of them, take one
/// test on `head`, the word's first eight bytes as a `u64` (anything after the word).
#[inline]
fn elongated(word: &[u8], head: u64) -> bool {
    let n = word.len();
    if n > 8 {
        return has_run_of_three(&word[1..]);
    }
    // No branch on shorter lengths, which vary from word to word too much to predict: words
    // of up to three bytes get an empty mask below. The bytes after the word are cleared so
    // they cannot extend a run.
    let x = head & u64::MAX.checked_shr(64 - 8 * n as u32).unwrap_or(0);
    // byte k equals bytes k+1 and k+2, for k from 1 to n-3
    let triples = swar::zero_bytes((x ^ (x >> 8)) | (x ^ (x >> 16)));
    triples & TOP_BITS_BELOW[n.saturating_sub(2)] & !0xff != 0
}

/// ASCII letter and digit bytes and `_`: what words are made of.
#[inline]
const fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The base letter of each char U+00C0..U+024F (Latin-1 letters, Latin Extended-A and -B)
/// whose compatibility decomposition is one ASCII letter followed by combining marks only, so
/// that normalisation turns it into that letter (`é` → `e`, `Ğ` → `G`); `.` for every other
/// char. A fixed table because decomposing through `decompose_compatible` costs a hash lookup
/// per char and these letters are common (names, loanwords); a unit test checks every entry.
const LATIN_BASE: &[u8; 0x190] = b"\
AAAAAA.CEEEEIIII.NOOOOO..UUUUY..aaaaaa.ceeeeiiii.nooooo..uuuuy.y\
AaAaAaCcCcCcCcDd..EeEeEeEeEeGgGgGgGgHh..IiIiIiIiI...JjKk.LlLlLl.\
...NnNnNn...OoOoOo..RrRrRrSsSsSsSsTtTt..UuUuUuUuUuUuWwYyYZzZzZzs\
................................Oo.............Uu...............\
.............AaIiOoUuUuUuUuUu.AaAa....GgKkOoOo..j...Gg..NnAa....\
AaAaEeEeIiIiOoOoRrRrUuUuSsTt..Hh......AaEeOoOoOoOoYy............\
................";

/// The ASCII letter that the two-byte char starting at `bytes[i]` normalises to, if
/// [`LATIN_BASE`] has one. `bytes` must be UTF-8 and `i` a char boundary.
#[inline]
fn latin_letter(bytes: &[u8], i: usize) -> Option<u8> {
    let lead = *bytes.get(i)?;
    if !(0xC3..=0xC9).contains(&lead) {
        return None;
    }
    let cont = *bytes.get(i + 1)?;
    let cp = (usize::from(lead & 0x1F) << 6) | usize::from(cont & 0x3F);
    let base = *LATIN_BASE.get(cp.checked_sub(0xC0)?)?;
    (base != b'.').then_some(base)
}

/// The tag starting at `text[i] == '<'`, if it is one: the offset of its `>` and whether it
/// is a block tag. The bare tags Mastodon writes around every paragraph, line and hashtag
/// are recognised by comparing bytes, without searching for the `>` and reading the name
/// (what [`tag_end`] and [`is_block_tag`] do for the others, with the same result).
#[inline]
fn tag_at(text: &str, i: usize) -> Option<(usize, bool)> {
    const COMMON: [(&[u8], bool); 6] = [
        (b"<p>", true),
        (b"</p>", true),
        (b"<br>", true),
        (b"<span>", false),
        (b"</span>", false),
        (b"</a>", false),
    ];
    let rest = text.as_bytes().get(i..)?;
    for (tag, block) in COMMON {
        if rest.starts_with(tag) {
            return Some((i + tag.len() - 1, block));
        }
    }
    let close = tag_end(text, i)?;
    Some((close, is_block_tag(&text[i + 1..close])))
}

/// Whether a word char (as the general path decodes it) starts at `i`.
#[inline]
fn starts_word(bytes: &[u8], i: usize) -> bool {
    bytes.get(i).is_some_and(|&b| is_word_byte(b)) || latin_letter(bytes, i).is_some()
}

/// The offset after the inline tags and zero-width chars starting at `i`: the general path
/// decodes them to nothing, so the units on either side are adjacent. A keycap's U+20E3 is
/// not skipped (it turns the digit before it into a hand sign).
fn skip_transparent(text: &str, mut i: usize) -> usize {
    let bytes = text.as_bytes();
    while let Some(&b) = bytes.get(i) {
        if b == b'<' {
            match tag_at(text, i) {
                Some((close, false)) => i = close + 1,
                _ => break,
            }
        } else if b >= 0x80 && latin_letter(bytes, i).is_none() {
            match text[i..].chars().next() {
                Some(c) if is_invisible(c) && c != '\u{20E3}' => i += c.len_utf8(),
                _ => break,
            }
        } else {
            break;
        }
    }
    i
}

/// Gathers the units of the word starting at `i` (a word char), across inline tags and
/// zero-width chars, into `units`; returns the offset after it.
fn word_units(text: &str, mut i: usize, units: &mut Vec<Unit>) -> usize {
    let bytes = text.as_bytes();
    loop {
        // only a tag or a non-ASCII char can be transparent; most units are neither
        if bytes.get(i).is_some_and(|&b| b == b'<' || b >= 0x80) {
            i = skip_transparent(text, i);
        }
        let Some(&b) = bytes.get(i) else { break };
        let (c, len) = if is_word_byte(b) {
            (b, 1)
        } else if let Some(base) = latin_letter(bytes, i) {
            (base, 2)
        } else {
            break;
        };
        units.push(Unit {
            c: c as char,
            start: i as u32,
            end: (i + len) as u32,
        });
        i += len;
    }
    i
}

/// A one-letter word, which might be part of a spaced-out word.
fn is_single_letter(units: &[Unit]) -> bool {
    units.len() == 1 && units[0].c.is_ascii_alphabetic()
}

/// Follows single-letter words separated only by spaces in the token stream: the general
/// path joins three or more of them (`g a n j a r`), which the fast path leaves to it. One
/// or two (`t.co`, `a b`) are ordinary words for both paths. A hashtag whose last part is a
/// single letter starts a run too: the general path's last step joins `#1a b c` into
/// `#1 abc`. Words of two or more letters never come out as single letters, hashtags cannot
/// continue a run (`#` is in the way) and other tokens print something between letters, so
/// the fast path's output never holds a run to join.
#[derive(Default)]
struct LetterRun {
    /// Single-letter words in the current run.
    letters: u8,
    /// Whether a space came after the last of them.
    spaced: bool,
}

impl LetterRun {
    fn space(&mut self) {
        self.spaced = true;
    }

    /// A token other than a word or a space (punctuation, emoji, hashtag) ends a run.
    fn other(&mut self) {
        self.letters = 0;
    }

    /// A hashtag just written, whose output ends in a standalone letter or not.
    fn hashtag(&mut self, ends_in_single_letter: bool) {
        self.letters = u8::from(ends_in_single_letter);
        self.spaced = false;
    }

    /// A word token; `None` when it makes a run of three single letters.
    fn word(&mut self, single_letter: bool) -> Option<()> {
        if !single_letter {
            self.letters = 0;
            return Some(());
        }
        self.letters = if self.letters > 0 && self.spaced {
            self.letters + 1
        } else {
            1
        };
        self.spaced = false;
        (self.letters < 3).then_some(())
    }
}

/// Joins runs of three or more standalone single letters left in the output (from hashtag
/// parts, splits or decoded entities), so a second normalisation finds nothing more to join.
fn join_leftover_letters(n: Normalized, slang: &SlangMap) -> Normalized {
    let b = n.text.as_bytes();
    // cheap test first: a run needs "x y z", so some byte two after a space is a space too
    if !b
        .windows(4)
        .any(|w| w[1] == b' ' && w[3] == b' ' && w[2].is_ascii_lowercase())
    {
        return n;
    }
    let wb = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    let standalone = |i: usize| {
        b[i].is_ascii_lowercase()
            && (i == 0 || !wb(b[i - 1]))
            && (i + 1 == b.len() || !wb(b[i + 1]))
    };
    // quick check: any run at all?
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if standalone(i) {
            let start = i;
            let mut j = i;
            let mut count = 1;
            while j + 2 < b.len() && b[j + 1] == b' ' && standalone(j + 2) {
                j += 2;
                count += 1;
            }
            if count >= 3 {
                runs.push((start, j + 1));
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    if runs.is_empty() {
        return n;
    }
    let mut out = Out::with_capacity(n.text.len());
    let mut buf = Vec::new();
    let mut at = 0;
    for (s, e) in runs {
        out.push_from(&n, at, s);
        let letters: Vec<Unit> = (s..e)
            .step_by(2)
            .map(|k| {
                let (start, end) = n.span_at(k).unwrap_or((0, 0));
                Unit {
                    c: b[k] as char,
                    start: start as u32,
                    end: end as u32,
                }
            })
            .collect();
        word(&letters, slang, &mut out, &mut buf, false);
        at = e;
    }
    out.push_from(&n, at, n.text.len());
    out.finish()
}

/// HTML and Unicode decoding into units.
fn decode(text: &str, units: &mut Vec<Unit>) {
    let looks_html = text.contains('<') && text.contains('>');
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let start = i as u32;
        let mut end = (i + c.len_utf8()) as u32;
        if c == '<' {
            if looks_html {
                if let Some(close) = tag_end(text, i) {
                    let tag = &text[i + 1..close];
                    if is_block_tag(tag) {
                        units.push(Unit {
                            c: ' ',
                            start,
                            end: close as u32 + 1,
                        });
                    }
                    while iter.peek().is_some_and(|&(j, _)| j <= close) {
                        iter.next();
                    }
                    continue;
                }
            }
            units.push(Unit { c: ' ', start, end });
            continue;
        }
        let mut ch = c;
        if c == '&' {
            if let Some((decoded, len)) = entity(&text[i..]) {
                ch = decoded;
                end = (i + len) as u32;
                while iter.peek().is_some_and(|&(j, _)| (j as u32) < end) {
                    iter.next();
                }
            }
        }
        push_char(ch, start, end, text, end as usize, units);
    }
}

/// Position of the `>` closing a tag opened at `open`, when the `<` really starts a tag.
fn tag_end(text: &str, open: usize) -> Option<usize> {
    let rest = &text[open + 1..];
    let first = rest.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '/' || first == '!') {
        return None;
    }
    let close = rest.find('>')?;
    if rest[..close].contains('<') {
        return None;
    }
    Some(open + 1 + close)
}

/// Whether a tag (the text between `<` and `>`) is a block tag, read as a space; the name is
/// compared without allocating since both paths ask this for every tag.
fn is_block_tag(tag: &str) -> bool {
    let tag = tag.trim_start_matches('/').as_bytes();
    let len = tag
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .unwrap_or(tag.len());
    let name = &tag[..len];
    const BLOCK: [&[u8]; 12] = [
        b"br",
        b"p",
        b"div",
        b"li",
        b"ul",
        b"ol",
        b"blockquote",
        b"h1",
        b"h2",
        b"h3",
        b"tr",
        b"td",
    ];
    BLOCK.iter().any(|block| block.eq_ignore_ascii_case(name))
}

/// Decodes an HTML entity at the start of `s` (which begins with `&`): the char and the
/// entity's byte length.
fn entity(s: &str) -> Option<(char, usize)> {
    let semi = s.as_bytes().iter().take(12).position(|&b| b == b';')?;
    let name = &s[1..semi];
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()?
            } else if let Some(dec) = name.strip_prefix('#') {
                dec.parse::<u32>().ok()?
            } else {
                return None;
            };
            char::from_u32(code)?
        }
    };
    Some((c, semi + 1))
}

/// Hand-sign number (1–4) of an emoji, if it is one.
fn hand_sign(c: char) -> Option<usize> {
    match c {
        '\u{261D}' | '\u{1F446}' => Some(1),
        '\u{270C}' => Some(2),
        '\u{1F91F}' | '\u{1F918}' => Some(3),
        _ => None,
    }
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0100}'..='\u{E01EF}'
        | '\u{20E3}')
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// Pushes one decoded char: keycaps and hand signs become marker units, the rest is
/// decomposed with marks and invisibles dropped. `after` is the byte offset following the
/// char in `text`, used to spot a keycap sequence (`1`, U+FE0F, U+20E3).
fn push_char(c: char, start: u32, end: u32, text: &str, after: usize, units: &mut Vec<Unit>) {
    if c.is_ascii() {
        if c.is_ascii_digit() {
            // keycap: digit, optional VS16, U+20E3
            let rest = &text[after..];
            let rest = rest.strip_prefix('\u{FE0F}').unwrap_or(rest);
            if rest.starts_with('\u{20E3}') {
                let n = (c as u8 - b'0') as usize;
                if (1..=4).contains(&n) {
                    units.push(Unit {
                        c: marker(n),
                        start,
                        end: (text.len() - rest.len() + '\u{20E3}'.len_utf8()) as u32,
                    });
                    return;
                }
            }
        }
        let c = match c {
            '\t' | '\n' | '\r' | '\u{b}' | '\u{c}' | '>' | '<' => ' ',
            '-' => ' ',
            _ => c,
        };
        units.push(Unit { c, start, end });
        return;
    }
    if is_invisible(c) {
        return;
    }
    if let Some(n) = hand_sign(c) {
        units.push(Unit {
            c: marker(n),
            start,
            end,
        });
        return;
    }
    if c.is_whitespace() || is_dash(c) {
        units.push(Unit { c: ' ', start, end });
        return;
    }
    if is_marker(c) {
        // A literal private-use marker in the input would otherwise be read as a hand sign.
        units.push(Unit { c: ' ', start, end });
        return;
    }
    decompose_compatible(c, |d| {
        if is_combining_mark(d) || is_invisible(d) || is_marker(d) {
            return;
        }
        let d = if d.is_whitespace() || is_dash(d) || d == '<' || d == '>' {
            ' '
        } else {
            d
        };
        units.push(Unit { c: d, start, end });
    });
}

const MARKER_BASE: u32 = 0xE100;

fn marker(n: usize) -> char {
    char::from_u32(MARKER_BASE + n as u32).unwrap_or(' ')
}

fn is_marker(c: char) -> bool {
    (MARKER_BASE + 1..=MARKER_BASE + 4).contains(&(c as u32))
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `v` cleared, with room for `n` items. A new vector is allocated directly: `reserve` on an
/// empty one takes a slower path, which fresh buffers took for every buffer of every text.
pub(super) fn emptied_with_room<T>(mut v: Vec<T>, n: usize) -> Vec<T> {
    if v.capacity() == 0 {
        return Vec::with_capacity(n);
    }
    v.clear();
    v.reserve(n);
    v
}

/// The output under construction, with its span runs.
struct Out {
    /// Always valid UTF-8 (only whole chars are pushed); checked once in `finish`.
    text: Vec<u8>,
    runs: Vec<SpanRun>,
    /// Original offset the next inserted (spanless) byte is pinned to.
    cursor: u32,
}

impl Out {
    fn with_capacity(n: usize) -> Out {
        Out::reusing(Vec::new(), Vec::new(), n)
    }

    /// An empty output in `text` and `runs` (cleared), with room for `n` bytes.
    fn reusing(text: Vec<u8>, runs: Vec<SpanRun>, n: usize) -> Out {
        Out {
            text: emptied_with_room(text, n),
            runs: emptied_with_room(runs, n / 16 + 4),
            cursor: 0,
        }
    }

    /// Records the span of the `len` bytes just written at `at`: copied from original `start`
    /// on, or all from `[start, end)`. Extends the last run when it continues it, so a word
    /// written in pieces still takes one run.
    #[inline]
    fn span(&mut self, at: usize, len: usize, start: u32, end: u32, copied: bool) {
        if len == 0 {
            self.cursor = end;
            return;
        }
        // a space is never copied (`space` gives it an empty span), so it cannot be read as one
        let copied = copied || (len == 1 && end == start + 1 && self.text[at] != b' ');
        self.cursor = if copied { start + len as u32 } else { end };
        let continues = if copied {
            self.continues_copied_run(at, start)
        } else {
            self.runs
                .last()
                .is_some_and(|last| !last.copied && (last.start, last.end) == (start, end))
        };
        if continues {
            return;
        }
        self.runs.push(SpanRun {
            out: at as u32,
            start,
            end,
            copied,
        });
    }

    /// Whether output byte `at`, read as coming from original `start`, is where the last run,
    /// a copied one, already places it.
    #[inline]
    fn continues_copied_run(&self, at: usize, start: u32) -> bool {
        self.runs
            .last()
            .is_some_and(|last| last.copied && last.start + (at as u32 - last.out) == start)
    }

    #[inline]
    fn push(&mut self, c: char, start: u32, end: u32) {
        let mut tmp = [0u8; 4];
        self.push_str(c.encode_utf8(&mut tmp), start, end);
    }

    /// Spans for bytes just written at `at`, copied unchanged from original `[from, to)`.
    #[inline]
    fn copied_spans(&mut self, at: usize, from: u32, to: u32) {
        self.span(at, (to - from) as usize, from, to, true);
    }

    /// Pushes lowercase ASCII `bytes`, one per unit, each with its unit's span. Units read
    /// one byte each from consecutive offsets (a plain word) take one copied span, which is
    /// the run the bytes would make one by one.
    fn push_ascii(&mut self, bytes: &[u8], units: &[Unit]) {
        if let Some(first) = units.first() {
            let start = first.start;
            let one_byte_each = (start..)
                .zip(units)
                .all(|(k, u)| u.start == k && u.end == k + 1);
            if bytes.len() == units.len() && one_byte_each {
                let at = self.text.len();
                self.text.extend_from_slice(bytes);
                self.span(at, bytes.len(), start, start + units.len() as u32, true);
                return;
            }
        }
        for (&b, u) in bytes.iter().zip(units) {
            self.text.push(b);
            self.span(self.text.len() - 1, 1, u.start, u.end, false);
        }
    }

    /// Pushes `units` as they are, through [`Out::push_ascii`] when they are all ASCII.
    fn push_units(&mut self, units: &[Unit]) {
        let mut bytes = [0u8; 32];
        if units.len() <= bytes.len() && units.iter().all(|u| u.c.is_ascii()) {
            for (b, u) in bytes.iter_mut().zip(units) {
                *b = u.c as u8;
            }
            self.push_ascii(&bytes[..units.len()], units);
        } else {
            for u in units {
                self.push(u.c, u.start, u.end);
            }
        }
    }

    #[inline]
    fn push_str(&mut self, s: &str, start: u32, end: u32) {
        let at = self.text.len();
        self.text.extend_from_slice(s.as_bytes());
        self.span(at, s.len(), start, end, false);
    }

    /// Copies bytes `[from, to)` of an earlier output with their spans.
    fn push_from(&mut self, n: &Normalized, from: usize, to: usize) {
        for k in from..to {
            let (start, end) = n.span_at(k).unwrap_or((0, 0));
            self.text.push(n.text.as_bytes()[k]);
            self.span(self.text.len() - 1, 1, start as u32, end as u32, false);
        }
    }

    /// A separating space, unless the output is empty or already ends in one.
    ///
    /// Its span is empty, at the cursor. After a copied word that is where a copied run
    /// would place it, so it stays inside that run with no run of its own, and a next word
    /// after a one-byte separator continues the same run: plain prose takes a run per
    /// sentence rather than two per word.
    #[inline]
    fn space(&mut self) {
        if self.text.last().is_some_and(|&b| b != b' ') {
            let at = self.text.len();
            self.text.push(b' ');
            if !self.continues_copied_run(at, self.cursor) {
                let cursor = self.cursor;
                self.span(at, 1, cursor, cursor, false);
            }
        }
    }

    fn finish(mut self) -> Normalized {
        while self.text.last() == Some(&b' ') {
            self.text.pop();
        }
        let len = self.text.len() as u32;
        while self.runs.last().is_some_and(|r| r.out >= len) {
            self.runs.pop();
        }
        let text = String::from_utf8(self.text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Normalized {
            text,
            runs: self.runs,
        }
    }
}

/// A run of word characters (the unit range) or a single other unit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    Word(usize, usize),
    Hashtag(usize, usize),
    Other(usize),
    Space,
}

fn tokens(units: &[Unit], slang: &SlangMap, out: &mut Out) {
    let mut toks: Vec<Tok> = Vec::with_capacity(units.len() / 4 + 4);
    let mut i = 0;
    while i < units.len() {
        let c = units[i].c;
        if c == ' ' || c.is_whitespace() {
            if toks.last() != Some(&Tok::Space) {
                toks.push(Tok::Space);
            }
            i += 1;
        } else if is_word_char(c) {
            let s = i;
            while i < units.len() && is_word_char(units[i].c) {
                i += 1;
            }
            toks.push(Tok::Word(s, i));
        } else if c == '#' && i + 1 < units.len() && is_word_char(units[i + 1].c) {
            let s = i;
            i += 1;
            while i < units.len() && is_word_char(units[i].c) {
                i += 1;
            }
            toks.push(Tok::Hashtag(s, i));
        } else {
            toks.push(Tok::Other(i));
            i += 1;
        }
    }

    let mut buf: Vec<Unit> = Vec::with_capacity(32);
    let mut t = 0;
    while t < toks.len() {
        match toks[t] {
            Tok::Space => {
                out.space();
                t += 1;
            }
            Tok::Other(u) => {
                let unit = units[u];
                if is_marker(unit.c) {
                    out.space();
                    let n = unit.c as u32 - MARKER_BASE;
                    out.push_str(HAND_SIGN_TOKENS[n as usize - 1], unit.start, unit.end);
                    out.space();
                } else if unit.c == '&' {
                    out.space();
                    out.push_str("dan", unit.start, unit.end);
                    out.space();
                } else {
                    for lc in unit.c.to_lowercase() {
                        if !is_combining_mark(lc) {
                            out.push(lc, unit.start, unit.end);
                        }
                    }
                }
                t += 1;
            }
            Tok::Hashtag(s, e) => {
                out.push('#', units[s].start, units[s].end);
                hashtag_parts(&units[s + 1..e], slang, out, &mut buf);
                t += 1;
            }
            Tok::Word(s, e) => {
                // spaced letters: three or more single letters separated by single spaces
                if e - s == 1 && units[s].c.is_ascii_alphabetic() {
                    let mut j = t;
                    let mut letters = 0;
                    while let Some(Tok::Word(ws, we)) = toks.get(j) {
                        if we - ws != 1 || !units[*ws].c.is_ascii_alphabetic() {
                            break;
                        }
                        letters += 1;
                        if toks.get(j + 1) == Some(&Tok::Space)
                            && matches!(toks.get(j + 2), Some(Tok::Word(a, b)) if b - a == 1 && units[*a].c.is_ascii_alphabetic())
                        {
                            j += 2;
                        } else {
                            break;
                        }
                    }
                    if letters >= 3 {
                        buf.clear();
                        let mut k = t;
                        while k <= j {
                            if let Tok::Word(ws, _) = toks[k] {
                                buf.push(units[ws]);
                            }
                            k += 1;
                        }
                        let joined: Vec<Unit> = buf.clone();
                        word(&joined, slang, out, &mut buf, false);
                        t = j + 1;
                        continue;
                    }
                }
                word(&units[s..e], slang, out, &mut buf, false);
                t += 1;
            }
        }
    }
}

/// Splits a hashtag body by case changes and letter/digit changes, then treats each part as a
/// word without leetspeak (digits in hashtags are numbers: `#Salam4Jari`).
fn hashtag_parts(body: &[Unit], slang: &SlangMap, out: &mut Out, buf: &mut Vec<Unit>) {
    // where a new part starts: a case change into capitals, a letter/digit change, or the
    // last capital of an acronym before a capitalised word (`KPUPusat`)
    let splits_before = |k: usize| {
        let (prev, c) = (body[k - 1].c, body[k].c);
        let next = body.get(k + 1).map(|n| n.c);
        (prev.is_ascii_lowercase() && c.is_ascii_uppercase())
            || (prev.is_ascii_alphabetic() && c.is_ascii_digit())
            || (prev.is_ascii_digit() && c.is_ascii_alphabetic())
            || (prev.is_ascii_uppercase()
                && c.is_ascii_uppercase()
                && next.is_some_and(|n| n.is_ascii_lowercase()))
    };
    // most hashtags are one part (`#pemilu`): no need to cut them up
    if body.iter().all(|u| u.c != '_') && !(1..body.len()).any(splits_before) {
        word(body, slang, out, buf, false);
        return;
    }
    let mut parts: Vec<Vec<Unit>> = Vec::with_capacity(4);
    let mut cur: Vec<Unit> = Vec::with_capacity(body.len());
    for (k, u) in body.iter().enumerate() {
        if u.c == '_' {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if !cur.is_empty() {
            // `cur` is not empty, so the unit before this one is in it: no `_` in between
            if splits_before(k) {
                parts.push(std::mem::take(&mut cur));
            }
        }
        cur.push(*u);
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    // A single letter on its own could later be joined with neighbouring single letters, so
    // it is glued to an adjacent letter part; parts stay purely letters or purely digits, which
    // keeps a second normalisation from splitting them differently.
    let single = |p: &[Unit]| p.len() == 1 && p[0].c.is_ascii_alphabetic();
    let letters = |p: &[Unit]| p.iter().all(|u| u.c.is_ascii_alphabetic());
    let mut merged: Vec<Vec<Unit>> = Vec::with_capacity(parts.len());
    for p in parts {
        match merged.last_mut() {
            Some(last) if letters(last) && letters(&p) && (single(&p) || single(last)) => {
                last.extend(p)
            }
            _ => merged.push(p),
        }
    }
    for (i, part) in merged.iter().enumerate() {
        if i > 0 {
            out.space();
        }
        word(part, slang, out, buf, false);
    }
}

fn leet(d: char) -> Option<char> {
    Some(match d {
        '4' => 'a',
        '3' => 'e',
        '1' => 'i',
        '0' => 'o',
        '5' => 's',
        '7' => 't',
        '9' => 'g',
        '6' => 'g',
        '8' => 'b',
        _ => return None,
    })
}

/// True when every letter run of a mixed token has at least two letters, so splitting it
/// cannot create single letters that a later pass would join (which would break idempotence).
fn letter_parts_are_words(buf: &[Unit]) -> bool {
    let mut run = 0;
    for u in buf {
        if u.c.is_ascii_digit() {
            if run == 1 {
                return false;
            }
            run = 0;
        } else {
            run += 1;
        }
    }
    run != 1
}

/// Normalises one word token (units of word characters) into `out`.
fn word(units: &[Unit], slang: &SlangMap, out: &mut Out, buf: &mut Vec<Unit>, in_hashtag: bool) {
    // Fast path, most words: ASCII letters only, no elongation.
    let mut key = [0u8; 32];
    let mut plain = units.len() <= key.len();
    if plain {
        for (k, u) in units.iter().enumerate() {
            let c = u.c;
            if !c.is_ascii_alphabetic() {
                plain = false;
                break;
            }
            let l = c.to_ascii_lowercase() as u8;
            if k >= 2 && key[k - 1] == l && key[k - 2] == l {
                plain = false;
                break;
            }
            key[k] = l;
        }
    }
    if plain {
        let key = &key[..units.len()];
        if let Some(exp) = slang.get_bytes(key) {
            out.push_str(exp, units[0].start, units[units.len() - 1].end);
        } else {
            out.push_ascii(key, units);
        }
        return;
    }
    // numbers (and the number parts of `pemilu2024`) pass unchanged: no case, no elongation,
    // no slang, so none of the steps below applies
    if units.iter().all(|u| u.c.is_ascii_digit()) {
        out.push_units(units);
        return;
    }
    buf.clear();
    buf.extend(units.iter().map(|u| Unit {
        c: u.c.to_ascii_lowercase(),
        ..*u
    }));
    let has_digit = buf.iter().any(|u| u.c.is_ascii_digit());
    let has_letter = buf.iter().any(|u| u.c.is_ascii_lowercase());
    if has_digit && has_letter {
        let first_digit = buf.iter().position(|u| u.c.is_ascii_digit()).unwrap_or(0);
        let letter_after_digit = buf[first_digit..].iter().any(|u| u.c.is_ascii_lowercase());
        let digit_count = buf.iter().filter(|u| u.c.is_ascii_digit()).count();
        let letters_before = buf[..first_digit]
            .iter()
            .filter(|u| u.c.is_ascii_lowercase())
            .count();
        if !in_hashtag
            && digit_count == 1
            && first_digit == buf.len() - 1
            && buf[first_digit].c == '2'
            && letters_before >= 3
        {
            // reduplication: ibu2 -> ibu
            buf.pop();
        } else if !in_hashtag
            && first_digit > 0
            && letter_after_digit
            && buf
                .iter()
                .all(|u| !u.c.is_ascii_digit() || leet(u.c).is_some())
        {
            for u in buf.iter_mut() {
                if let Some(l) = leet(u.c) {
                    u.c = l;
                }
            }
        } else if letter_parts_are_words(buf) {
            // split at letter/digit changes: pemilu2024 -> pemilu 2024; the parts are read from
            // this copy while `buf` serves as the scratch of the words they make
            let parts = std::mem::take(buf);
            let mut s = 0;
            for k in 1..=parts.len() {
                if k == parts.len()
                    || parts[k].c.is_ascii_digit() != parts[k - 1].c.is_ascii_digit()
                {
                    if s > 0 {
                        out.space();
                    }
                    word(&parts[s..k], slang, out, buf, in_hashtag);
                    s = k;
                }
            }
            *buf = parts;
            return;
        }
    }
    // collapse runs of three or more equal letters into one (elongation: gemoyyy)
    let mut w = 0;
    let mut r = 0;
    while r < buf.len() {
        let c = buf[r].c;
        let mut run_end = r + 1;
        if c.is_ascii_lowercase() {
            while run_end < buf.len() && buf[run_end].c == c {
                run_end += 1;
            }
        }
        // word-initial runs are acronyms (PPP, PPPK, WWW), not elongation
        if run_end - r >= 3 && r > 0 {
            let mut kept = buf[r];
            kept.end = buf[run_end - 1].end;
            buf[w] = kept;
            w += 1;
        } else {
            for x in r..run_end {
                buf[w] = buf[x];
                w += 1;
            }
        }
        r = run_end;
    }
    buf.truncate(w);
    if buf.is_empty() {
        return;
    }
    if buf.len() <= 24 && buf.iter().all(|u| u.c.is_ascii_lowercase()) {
        let mut key = [0u8; 24];
        for (k, u) in buf.iter().enumerate() {
            key[k] = u.c as u8;
        }
        if let Some(exp) = slang.get_bytes(&key[..buf.len()]) {
            let start = buf[0].start;
            let end = buf[buf.len() - 1].end;
            out.push_str(exp, start, end);
            return;
        }
    }
    out.push_units(buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slang() -> SlangMap {
        let mut s = SlangMap::new();
        assert!(s.insert("yg", "yang"));
        assert!(s.insert("jgn", "jangan"));
        assert!(s.insert("paslon", "pasangan calon"));
        assert!(!s.insert("x", "yg"), "chains are refused");
        s
    }

    fn norm(t: &str) -> String {
        normalize(t, &slang()).text
    }

    /// Keys of up to eight bytes live in their own table and longer ones in the map; both
    /// must answer for every key of every length, and miss the words around them (a key's
    /// prefixes and extensions, which share its bytes), through several doublings of the table.
    #[test]
    fn slang_keys_of_every_length_are_found_and_their_neighbours_are_not() {
        let mut s = SlangMap::new();
        let keys: Vec<String> = (0..300)
            .map(|i: usize| {
                let letter = |k: usize| char::from(b'a' + (k % 26) as u8);
                (0..1 + i % 12).map(|k| letter(i / 12 + k * 7)).collect()
            })
            .filter(|k: &String| !has_run_of_three(k.as_bytes()))
            .collect();
        for k in &keys {
            assert!(s.insert(k, "nilai"), "{k}");
        }
        let (mut tried, mut passed) = (0, 0);
        for k in &keys {
            assert_eq!(s.get(k), Some("nilai"), "{k}");
            // the table itself, without the filters in front of it
            let mut neighbours = vec![format!("{k}z"), k[..k.len() - 1].to_string()];
            for at in 0..k.len() {
                let mut other = k.clone().into_bytes();
                other[at] = if other[at] == b'z' { b'y' } else { b'z' };
                neighbours.push(String::from_utf8(other).unwrap());
            }
            for other in neighbours
                .iter()
                .filter(|o| !o.is_empty() && !keys.contains(o))
            {
                assert_eq!(s.lookup(other.as_bytes()), None, "{other}");
                // longer words are told apart by their first eight bytes and length only
                if other.len() <= 8 {
                    tried += 1;
                    passed += usize::from(s.may_hold(other.as_bytes()));
                }
            }
        }
        assert!(s.short.len() > 64, "the table grew");
        // no key is missed (above); and the filter in front lets few other words through
        assert!(
            passed * 20 < tried,
            "{passed} of {tried} non-keys pass the filter"
        );
    }

    #[test]
    fn folds_the_documented_phenomena() {
        assert_eq!(norm("pr4b0w0 - g1br4n"), "prabowo gibran");
        assert_eq!(norm("Gemoyyy amiiinnn"), "gemoy amin");
        assert_eq!(norm("A M I N . titik"), "amin . titik");
        assert_eq!(norm("#PrabowoGibran2024"), "#prabowo gibran 2024");
        assert_eq!(norm("#Salam4Jari"), "#salam 4 jari");
        assert_eq!(norm("coblos 02 yg"), "coblos 02 yang");
        assert_eq!(norm("pose ☝️☝️"), "pose jarisatu jarisatu");
        assert_eq!(norm("3️⃣ mantap"), "jaritiga mantap");
        assert_eq!(norm("Pémilu   <b>café</b>"), "pemilu cafe");
        assert_eq!(norm("ayat &amp; mayat"), "ayat dan mayat");
        assert_eq!(norm("ibu2 pemilu2024"), "ibu pemilu 2024");
        assert_eq!(norm("ga\u{200B}n\u{200D}jar"), "ganjar");
        assert_eq!(norm("aamiin saat"), "aamiin saat");
        assert_eq!(norm("PPP PPPK"), "ppp pppk", "acronyms are not elongation");
    }

    /// Every entry of the fixed table is what the general path's decomposition gives, and
    /// every two-byte char that decomposes to one ASCII letter is in it (within its range).
    #[test]
    fn latin_table_agrees_with_decomposition() {
        for cp in 0x80u32..0x800 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let mut kept = Vec::new();
            decompose_compatible(c, |d| {
                if !(is_combining_mark(d) || is_invisible(d) || is_marker(d)) {
                    kept.push(d);
                }
            });
            let plain = !(c.is_whitespace() || is_dash(c) || is_invisible(c) || is_marker(c));
            let expected = match kept[..] {
                [l] if plain && l.is_ascii_alphabetic() && (0xC0..0x250).contains(&cp) => {
                    Some(l as u8)
                }
                _ => None,
            };
            let mut tmp = [0u8; 4];
            let bytes = c.encode_utf8(&mut tmp).as_bytes();
            assert_eq!(latin_letter(bytes, 0), expected, "U+{cp:04X} {c}");
        }
    }

    #[test]
    fn common_tags_read_as_the_general_rule_reads_them() {
        for tag in [
            "<p>",
            "</p>",
            "<br>",
            "<span>",
            "</span>",
            "</a>",
            "<p class=x>",
            "<br/>",
            "<spanx>",
            "<a href=\"y\">",
            "<3",
            "<<p>",
        ] {
            let text = format!("{tag} x>");
            let general = tag_end(&text, 0).map(|c| (c, is_block_tag(&text[1..c])));
            assert_eq!(tag_at(&text, 0), general, "{tag}");
        }
    }

    /// Words of letters then a number are split in place by the fast path; what it leaves to
    /// the word routine (reduplication, elongation, one letter, long runs) must come out the
    /// same, and so must a slang word before the number.
    #[test]
    fn letters_then_a_number_split_as_the_word_routine_splits_them() {
        let mut s = slang();
        // the word routine looks letter runs of up to 32 bytes up in the slang map, not longer
        assert!(s.insert(&"ab".repeat(17), "panjang"));
        assert!(s.insert(&"ab".repeat(13), "sedang"));
        let long = format!("{}7 {}7", "ab".repeat(17), "ab".repeat(13));
        for text in [
            "@user73740 hai",
            "Pemilu2024 yg2024 jgn02",
            "ibu2 ibu22 ab2",
            "gemoyyy24 a1 x9y",
            long.as_str(),
        ] {
            let fast = normalize_fast(text, &s).expect("fast path");
            assert_eq!(fast, normalize_general(text, &s), "{text}");
        }
        assert_eq!(norm("@user73740 Pemilu2024"), "@user 73740 pemilu 2024");
        assert_eq!(norm("yg2024 ibu2"), "yang 2024 ibu");
    }

    #[test]
    fn html_and_diacritics_take_the_fast_path() {
        let s = slang();
        for text in [
            "<p>Pémilu café yg</p><p>Müller<br>señor</p>",
            "<p><a href=\"https://x.example/tags/pemilu\" class=\"mention hashtag\">#<span>Pemilu</span></a></p>",
            "ga<span>n</span>jar &amp; Erdoğan&#39;s t.co/ab",
            "naïve ☝️ 🙏🏻 «ok»",
        ] {
            let fast = normalize_fast(text, &s).expect("fast path");
            assert_eq!(fast, normalize_general(text, &s), "{text}");
        }
        assert_eq!(
            norm("<p>Pémilu café yg</p><p>Müller<br>señor</p>"),
            "pemilu cafe yang muller senor"
        );
        assert_eq!(norm("#<span>PrabowoGibran</span>"), "#prabowo gibran");
        assert_eq!(
            norm("ga<b>n</b>jar"),
            "ganjar",
            "inline tags are transparent"
        );
        for text in [
            "g a n j a r",
            "<p>g</p><p>a</p><p>n</p>",
            "é x ñ",
            "1\u{FE0F}\u{20E3}",
            "&#97;b",
        ] {
            assert!(
                normalize_fast(text, &s).is_none(),
                "{text} is for the general path"
            );
        }
    }

    /// Runs of plain words are copied by `copy_plain_words`, which hands every word that
    /// needs more back to the main loop: each way a run can end must give what the general
    /// path gives, spans included, and the run must pick up again after it.
    #[test]
    fn plain_word_runs_end_where_the_main_loop_must_take_over() {
        let s = slang();
        for (text, expected) in [
            ("Kami Dukung Kota", "kami dukung kota"),
            ("kami yg lain jgn", "kami yang lain jangan"),
            ("suara ibu2 kami", "suara ibu kami"),
            ("kota 2024 desa x_y hari", "kota 2024 desa x_y hari"),
            ("mantap bangettt sekali", "mantap banget sekali"),
            ("PPPK kami", "pppk kami"),
            ("kata<b>lanjut</b> lagi", "katalanjut lagi"),
            ("kata café lagi", "kata cafe lagi"),
            ("kata  dua   spasi", "kata dua spasi"),
            ("kata, lalu. akhir", "kata, lalu. akhir"),
            (
                "kata (lagi) - akhir\nbaris!! ok?",
                "kata (lagi) akhir baris!! ok?",
            ),
            ("ibu-ibu kita.lagi \n\n baru", "ibu ibu kita.lagi baru"),
            // the space after `.`, read by the main loop, takes its span from the cursor
            ("kata x.< p>", "kata x. p"),
            ("a b kata c d", "a b kata c d"),
            ("paslon yg kami", "pasangan calon yang kami"),
            ("akhir ", "akhir"),
        ] {
            let fast = normalize_fast(text, &s).expect("fast path");
            assert_eq!(fast.text, expected, "{text}");
            assert_eq!(fast, normalize_general(text, &s), "{text}");
        }
        assert!(
            normalize_fast("kata a b c lagi", &s).is_none(),
            "three spaced letters inside a run still go to the general path"
        );
    }

    #[test]
    fn spans_point_at_what_was_written() {
        let text = "Ayo PR4B0W0!! yg";
        let n = normalize(text, &slang());
        let at = n.text.find("prabowo").unwrap();
        let (s, e) = n.original_span(at, at + "prabowo".len());
        assert_eq!(&text[s..e], "PR4B0W0");
        let at = n.text.find("yang").unwrap();
        let (s, e) = n.original_span(at + 1, at + 3);
        assert_eq!(
            &text[s..e],
            "yg",
            "a part of an expansion maps to the whole token"
        );
    }

    /// Spaces share copied runs with the words around them (`Out::space`); every byte must
    /// still read as if it had a span of its own: a letter its original byte, a space the
    /// empty span where the separator it replaced starts.
    #[test]
    fn every_byte_of_plain_prose_has_its_own_span() {
        let text = "Kami dukung  warga,\tdi <p>desa</p> kota! x";
        let n = normalize(text, &slang());
        assert_eq!(n.text, "kami dukung warga, di desa kota! x");
        let expected: Vec<(usize, usize)> =
            ["Kami ", "dukung ", "warga, ", "di ", "desa ", "kota! ", "x"]
                .iter()
                .flat_map(|piece| {
                    // where the piece is in the original, and where the separator after it starts
                    let word = piece.trim_end();
                    let start = text.find(word).unwrap();
                    let mut spans: Vec<(usize, usize)> =
                        (start..start + word.len()).map(|k| (k, k + 1)).collect();
                    if piece.ends_with(' ') {
                        let sep = start + word.len();
                        spans.push((sep, sep));
                    }
                    spans
                })
                .collect();
        let actual: Vec<(usize, usize)> =
            (0..n.text.len()).map(|k| n.span_at(k).unwrap()).collect();
        assert_eq!(actual, expected);
        assert!(n.runs.len() < 6, "prose takes few runs: {:?}", n.runs);
    }
}
