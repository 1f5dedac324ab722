//! Byte-class tests eight bytes at a time, in a `u64` ("SIMD within a register"), for the
//! loops that touch every byte of every post (the normaliser's word scan and the matcher's
//! folded copy) and the search for digits around ballot words. A result has the top bit of
//! each byte set where the test holds.
//!
//! A byte is tested against a range by two subtractions whose top bits say "at least the low
//! end" and "above the high end". The top bit of every byte is set first so that no
//! subtraction borrows from its neighbour; bytes that had it set (UTF-8) are never word bytes.

pub const TOP: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

pub const fn every(b: u8) -> u64 {
    u64::from_le_bytes([b; 8])
}

/// Eight bytes from `at`, all of which must be in `buf`.
#[inline]
pub fn load8(buf: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(bytes)
}

/// Eight bytes from `at`; bytes past the end of `buf` read as 0 (not a word byte).
#[inline]
pub fn load_padded(buf: &[u8], at: usize) -> u64 {
    if let Some(&chunk) = buf.get(at..).and_then(|rest| rest.first_chunk::<8>()) {
        return u64::from_le_bytes(chunk);
    }
    let mut bytes = [0u8; 8];
    let tail = buf.get(at..).unwrap_or(&[]);
    let n = tail.len().min(8);
    bytes[..n].copy_from_slice(&tail[..n]);
    u64::from_le_bytes(bytes)
}

#[inline]
fn within(lifted: u64, low: u8, high: u8) -> u64 {
    lifted.wrapping_sub(every(low)) & !lifted.wrapping_sub(every(high + 1)) & TOP
}

/// Word bytes (`a-z`, `0-9`, `_`) of lowercase text.
#[inline]
pub fn lower_word_bytes(x: u64) -> u64 {
    let lifted = x | TOP;
    (within(lifted, b'a', b'z') | within(lifted, b'0', b'9') | within(lifted, b'_', b'_')) & !x
}

/// Word bytes of any case, and which of them are letters.
#[inline]
pub fn word_and_letter_bytes(x: u64) -> (u64, u64) {
    let lifted = x | TOP;
    // setting bit 5 lowercases letters and sends no other byte into `a-z`
    let letters = within(lifted | every(0x20), b'a', b'z') & !x;
    let others = (within(lifted, b'0', b'9') | within(lifted, b'_', b'_')) & !x;
    (letters | others, letters)
}

/// ASCII letters of any case.
#[inline]
pub fn letter_bytes(x: u64) -> u64 {
    // setting bit 5 lowercases letters and sends no other byte into `a-z`
    within(x | TOP | every(0x20), b'a', b'z') & !x
}

/// ASCII digits.
#[inline]
pub fn digit_bytes(x: u64) -> u64 {
    within(x | TOP, b'0', b'9') & !x
}

/// Whether `bytes` hold an ASCII digit, eight at a time.
pub fn has_digit(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    chunks
        .by_ref()
        .any(|chunk| digit_bytes(load8(chunk, 0)) != 0)
        || chunks.remainder().iter().any(u8::is_ascii_digit)
}

/// Zero bytes of `x`, exactly (no false positives from borrows).
#[inline]
pub fn zero_bytes(x: u64) -> u64 {
    !((((x & LOW7) + LOW7) | x) & TOP) & TOP
}

/// How many bytes from the lowest one have the test's top bit set (0 to 8).
#[inline]
pub fn leading_run(mask: u64) -> usize {
    ((!mask & TOP).trailing_zeros() / 8) as usize
}

/// Calls `check(bytes, lane, b)` for every byte value `b` in every lane, its neighbours at
/// both extremes, so that a borrow or carry across lanes would show.
#[cfg(test)]
pub(super) fn each_byte_in_each_lane(mut check: impl FnMut([u8; 8], usize, u8)) {
    for b in 0..=255u8 {
        for lane in 0..8 {
            let mut bytes = [if lane % 2 == 0 { 0x00 } else { 0xff }; 8];
            bytes[lane] = b;
            check(bytes, lane, b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value in every lane agrees with the plain tests.
    #[test]
    fn lanes_agree_with_the_byte_tests() {
        each_byte_in_each_lane(|bytes, lane, b| {
            let x = u64::from_le_bytes(bytes);
            let bit = 0x80u64 << (8 * lane);
            let word = b.is_ascii_alphanumeric() || b == b'_';
            let (any_case, letters) = word_and_letter_bytes(x);
            assert_eq!(any_case & bit != 0, word, "word byte {b:#x} lane {lane}");
            assert_eq!(letters & bit != 0, b.is_ascii_alphabetic(), "letter {b:#x}");
            assert_eq!(letter_bytes(x), letters, "letters alone {b:#x}");
            let lower = b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
            assert_eq!(lower_word_bytes(x) & bit != 0, lower, "lower word {b:#x}");
            assert_eq!(zero_bytes(x) & bit != 0, b == 0, "zero {b:#x}");
            assert_eq!(
                digit_bytes(x) & bit != 0,
                b.is_ascii_digit(),
                "digit {b:#x}"
            );
        });
    }

    /// A digit is found at every offset of texts of every length up to three chunks.
    #[test]
    fn a_digit_is_found_wherever_it_stands() {
        for len in 0..24 {
            let mut text = vec![b'x'; len];
            assert!(!has_digit(&text));
            for at in 0..len {
                text[at] = b'7';
                assert!(has_digit(&text), "length {len}, digit at {at}");
                text[at] = b'x';
            }
        }
    }

    #[test]
    fn runs_and_padding() {
        assert_eq!(
            leading_run(word_and_letter_bytes(load_padded(b"abc def", 0)).0),
            3
        );
        assert_eq!(
            leading_run(word_and_letter_bytes(load_padded(b"abcdefghij", 0)).0),
            8
        );
        assert_eq!(
            leading_run(word_and_letter_bytes(load_padded(b"abcdefghij", 6)).0),
            4
        );
        assert_eq!(load_padded(b"ab", 5), 0);
    }
}
