//! Identifiers and time formats exactly as the real platforms print them: Mastodon snowflake
//! ids, AT Protocol DIDs, TIDs (record keys) and CIDs, ISO 8601 and RFC 822 times.
//!
//! Everything is derived from the simulated clock (milliseconds since the Unix epoch) and
//! content hashes, never from the wall clock, so the same seed yields the same ids.

use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use sha2::{Digest, Sha256};

/// Mastodon's id layout: milliseconds since the epoch in the high bits, 16 sequence bits below.
/// Ids of one server therefore sort by time, as clients may assume.
pub fn snowflake(millis: i64, sequence: u64) -> String {
    (((millis as u64) << 16) | (sequence & 0xffff)).to_string()
}

/// Parses a Mastodon id given by a client; `None` for anything that is not a plain number.
pub fn parse_snowflake(id: &str) -> Option<u64> {
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

const BASE32_SORTABLE: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
const BASE32_LOWER: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// An AT Protocol TID: 64 bits (microseconds << 10 | clock id) in sortable base32, 13 chars.
pub fn tid(millis: i64, clock_id: u64) -> String {
    let value = ((millis as u64 * 1000) << 10 | (clock_id & 0x3ff)) & 0x7fff_ffff_ffff_ffff;
    let mut out = [0u8; 13];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 60 - 5 * i as u32;
        *slot = BASE32_SORTABLE[((value >> shift) & 0x1f) as usize];
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `did:plc:` identifier: 24 base32 characters, derived from the seed and account number.
pub fn did_plc(seed: u64, account: usize) -> String {
    let digest = Sha256::digest(format!("netra-sim did {seed} {account}").as_bytes());
    let mut s = String::from("did:plc:");
    s.push_str(&base32_lower(&digest)[..24]);
    s
}

/// A CIDv1 (dag-cbor, sha2-256) in base32, the `bafyrei…` form records carry. It hashes our
/// own record text, not real CBOR, which no reader can tell without the block.
pub fn cid_for(content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    let mut bytes = vec![0x01, 0x71, 0x12, 0x20];
    bytes.extend_from_slice(&digest);
    format!("b{}", base32_lower(&bytes))
}

fn base32_lower(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32_LOWER[((buffer >> bits) & 0x1f) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32_LOWER[((buffer << (5 - bits)) & 0x1f) as usize] as char);
    }
    out
}

fn civil(millis: i64) -> jiff::civil::DateTime {
    Timestamp::from_millisecond(millis)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(TimeZone::UTC)
        .datetime()
}

/// `2024-02-01T09:30:12.345Z`, the form both Mastodon and Bluesky use.
pub fn iso_millis(millis: i64) -> String {
    let dt = civil(millis);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
}

/// `2024-02-01`, Mastodon's `last_status_at`.
pub fn iso_date(millis: i64) -> String {
    let dt = civil(millis);
    format!("{:04}-{:02}-{:02}", dt.year(), dt.month(), dt.day())
}

/// `2025-07-17T13:50:00.377431Z`, Mastodon's `X-RateLimit-Reset` (microseconds).
pub fn iso_micros(micros: i64) -> String {
    let millis = micros.div_euclid(1000);
    let dt = civil(millis);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        micros.rem_euclid(1_000_000)
    )
}

/// `Sat, 17 Feb 2024 23:51:02 +0000`, RSS `pubDate`.
pub fn rfc822(millis: i64) -> String {
    let dt = civil(millis);
    let day = match dt.weekday() {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[(dt.month() as usize).saturating_sub(1) % 12];
    format!(
        "{day}, {:02} {month} {:04} {:02}:{:02}:{:02} +0000",
        dt.day(),
        dt.year(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// Milliseconds since the epoch for a UTC civil time; used for the fixed script calendar.
pub fn utc_millis(year: i16, month: i8, day: i8, hour: i8, minute: i8) -> i64 {
    jiff::civil::date(year, month, day)
        .at(hour, minute, 0, 0)
        .to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_the_platforms() {
        let t = utc_millis(2024, 2, 17, 23, 51) + 2_345;
        assert_eq!(iso_millis(t), "2024-02-17T23:51:02.345Z");
        assert_eq!(rfc822(t), "Sat, 17 Feb 2024 23:51:02 +0000");
        assert_eq!(iso_date(t), "2024-02-17");
        assert_eq!(tid(t, 5).len(), 13);
        assert!(tid(t, 5) < tid(t + 1, 0));
        assert!(cid_for("x").starts_with("bafyrei"));
        assert_eq!(did_plc(1, 2).len(), "did:plc:".len() + 24);
        assert_eq!(
            parse_snowflake("112967653709377671"),
            Some(112967653709377671)
        );
        assert_eq!(parse_snowflake("12a"), None);
        // Mastodon ids of 2024 are 18 digits, so lexical order is numeric order.
        assert_eq!(snowflake(t, 1).len(), 18);
    }
}
