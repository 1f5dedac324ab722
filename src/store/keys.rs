//! Every storage key is built and parsed here, and nowhere else.
//!
//! Integers are fixed-width big-endian so that sled's byte order is numeric order (little-endian
//! `1, 256` would sort as `256, 1`). Timestamps are milliseconds with the sign bit flipped, so
//! times before 1970 still sort first. Variable-length parts (platform ids, rule ids) come last
//! or carry a one-byte length, so no two different keys share bytes by accident.

use jiff::Timestamp;

use crate::model::{AccountId, FindingId, Platform, ReviewState, Severity};

/// Upper bound for a variable-length key part; ids on every platform are far shorter.
pub const MAX_KEY_PART: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{what} is {len} bytes long; the limit is {MAX_KEY_PART}")]
    TooLong { what: &'static str, len: usize },
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("malformed {what} key {key_hex}")]
    Malformed { what: &'static str, key_hex: String },
}

fn bounded<'a>(what: &'static str, part: &'a str) -> Result<&'a [u8], KeyError> {
    if part.is_empty() {
        return Err(KeyError::Empty { what });
    }
    if part.len() > MAX_KEY_PART {
        return Err(KeyError::TooLong {
            what,
            len: part.len(),
        });
    }
    Ok(part.as_bytes())
}

/// Milliseconds since the epoch, order-preserving as unsigned big-endian bytes.
pub fn time_bytes(time: Timestamp) -> [u8; 8] {
    let millis = time.as_millisecond();
    ((millis as u64) ^ (1 << 63)).to_be_bytes()
}

pub fn time_from_bytes(bytes: [u8; 8]) -> Option<Timestamp> {
    let millis = (u64::from_be_bytes(bytes) ^ (1 << 63)) as i64;
    Timestamp::from_millisecond(millis).ok()
}

pub fn u64_key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

pub fn u64_from_key(key: &[u8], what: &'static str) -> Result<u64, KeyError> {
    let bytes: [u8; 8] = key.try_into().map_err(|_| KeyError::Malformed {
        what,
        key_hex: hex::encode(key),
    })?;
    Ok(u64::from_be_bytes(bytes))
}

/// `employees`: the employee id (NIP) as given, already trimmed by the registry.
pub fn employee(employee_id: &str) -> Result<Vec<u8>, KeyError> {
    Ok(bounded("employee id", employee_id)?.to_vec())
}

/// `accounts` and `watched`: the store-assigned account number.
pub fn account(id: AccountId) -> [u8; 8] {
    u64_key(id.0)
}

/// `account_by_handle`: platform code, then the lowercased handle.
pub fn account_handle(platform: Platform, handle: &str) -> Result<Vec<u8>, KeyError> {
    let lowered = handle.trim().to_lowercase();
    let mut key = vec![platform.code()];
    key.extend_from_slice(bounded("handle", &lowered)?);
    Ok(key)
}

/// `activities`: platform code, then the platform's id of the act.
pub fn activity(platform: Platform, platform_activity_id: &str) -> Result<Vec<u8>, KeyError> {
    let mut key = vec![platform.code()];
    key.extend_from_slice(bounded("activity id", platform_activity_id)?);
    Ok(key)
}

/// `activity_by_time`: occurred time, then the activity key, so a range over time lists
/// activities oldest first (retention walks it).
pub fn activity_by_time(time: Timestamp, activity_key: &[u8]) -> Vec<u8> {
    let mut key = time_bytes(time).to_vec();
    key.extend_from_slice(activity_key);
    key
}

/// `findings`: the store-assigned finding number.
pub fn finding(id: FindingId) -> [u8; 8] {
    u64_key(id.0)
}

/// `finding_by_dedupe`: (platform, activity id, rule id) identifies a finding: a re-scan of the
/// same activity under the same rule must land on the same key.
pub fn finding_dedupe(
    platform: Platform,
    platform_activity_id: &str,
    rule_id: &str,
) -> Result<Vec<u8>, KeyError> {
    let activity_id = bounded("activity id", platform_activity_id)?;
    let rule = bounded("rule id", rule_id)?;
    let mut key = Vec::with_capacity(2 + activity_id.len() + rule.len() + 1);
    key.push(platform.code());
    key.push(activity_id.len() as u8);
    key.extend_from_slice(activity_id);
    key.extend_from_slice(rule);
    Ok(key)
}

/// `queue`: review state, severity (most severe first), creation time, finding number. A prefix
/// scan on one state lists its findings most severe first, then oldest first.
pub fn queue(
    state: ReviewState,
    severity: Severity,
    created_at: Timestamp,
    id: FindingId,
) -> [u8; 18] {
    let mut key = [0u8; 18];
    key[0] = state.code();
    key[1] = u8::MAX - severity_rank(severity);
    key[2..10].copy_from_slice(&time_bytes(created_at));
    key[10..18].copy_from_slice(&u64_key(id.0));
    key
}

/// The finding number at the end of a `queue` key.
pub fn finding_from_queue(key: &[u8]) -> Result<FindingId, KeyError> {
    if key.len() != 18 {
        return Err(KeyError::Malformed {
            what: "queue",
            key_hex: hex::encode(key),
        });
    }
    Ok(FindingId(u64_from_key(&key[10..18], "queue")?))
}

fn severity_rank(severity: Severity) -> u8 {
    match severity {
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
    }
}

/// `evidence`: the 32 bytes of a SHA-256 given as 64 hex digits.
pub fn evidence(sha256_hex: &str) -> Result<[u8; 32], KeyError> {
    let bytes = hex::decode(sha256_hex)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok());
    bytes.ok_or_else(|| KeyError::Malformed {
        what: "evidence hash",
        key_hex: sha256_hex.chars().take(80).collect(),
    })
}

/// `alert_endpoints`: the endpoint's configured name.
pub fn alert_endpoint(name: &str) -> Result<Vec<u8>, KeyError> {
    Ok(bounded("endpoint name", name)?.to_vec())
}

/// `outbox`, `outbox_leases` and `alert_dead`: endpoint name (length-prefixed), then the
/// message number, so a prefix scan lists one endpoint's messages oldest first.
pub fn outbox(endpoint: &str, message: u64) -> Result<Vec<u8>, KeyError> {
    let mut key = outbox_prefix(endpoint)?;
    key.extend_from_slice(&u64_key(message));
    Ok(key)
}

/// The part of an [`outbox`] key shared by all messages of one endpoint.
pub fn outbox_prefix(endpoint: &str) -> Result<Vec<u8>, KeyError> {
    let name = bounded("endpoint name", endpoint)?;
    let mut key = Vec::with_capacity(1 + name.len() + 8);
    key.push(name.len() as u8);
    key.extend_from_slice(name);
    Ok(key)
}

/// The endpoint name and message number of an [`outbox`] key.
pub fn outbox_parts(key: &[u8]) -> Result<(String, u64), KeyError> {
    let malformed = || KeyError::Malformed {
        what: "outbox",
        key_hex: hex::encode(key),
    };
    let (&len, rest) = key.split_first().ok_or_else(malformed)?;
    let len = len as usize;
    if len == 0 || rest.len() != len + 8 {
        return Err(malformed());
    }
    let name = std::str::from_utf8(&rest[..len]).map_err(|_| malformed())?;
    Ok((name.to_string(), u64_from_key(&rest[len..], "outbox")?))
}

/// `meta` keys.
pub const META_SCHEMA_VERSION: &[u8] = b"schema_version";
pub const META_NEXT_ACCOUNT_ID: &[u8] = b"next_account_id";
pub const META_NEXT_FINDING_ID: &[u8] = b"next_finding_id";
pub const META_NEXT_CASE_ID: &[u8] = b"next_case_id";
pub const META_NEXT_ALERT_ID: &[u8] = b"next_alert_id";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sorted_by_bytes<T: Clone>(items: &[T], key: impl Fn(&T) -> Vec<u8>) -> Vec<T> {
        let mut keyed: Vec<(Vec<u8>, T)> = items.iter().map(|i| (key(i), i.clone())).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.into_iter().map(|(_, i)| i).collect()
    }

    proptest! {
        #[test]
        fn u64_keys_sort_numerically(mut numbers in proptest::collection::vec(any::<u64>(), 1..50)) {
            let by_bytes = sorted_by_bytes(&numbers, |n| u64_key(*n).to_vec());
            numbers.sort();
            prop_assert_eq!(by_bytes, numbers);
        }

        #[test]
        fn time_keys_sort_chronologically(
            mut millis in proptest::collection::vec(-8_000_000_000_000i64..8_000_000_000_000i64, 1..50)
        ) {
            let by_bytes = sorted_by_bytes(&millis, |m| {
                time_bytes(Timestamp::from_millisecond(*m).unwrap()).to_vec()
            });
            millis.sort();
            prop_assert_eq!(&by_bytes, &millis);
            for m in millis {
                let t = Timestamp::from_millisecond(m).unwrap();
                prop_assert_eq!(time_from_bytes(time_bytes(t)), Some(t));
            }
        }

        #[test]
        fn queue_keys_sort_by_state_then_severity_then_time_then_id(
            mut entries in proptest::collection::vec(
                (0usize..6, 0usize..3, 0i64..4_000_000_000_000i64, any::<u64>()), 1..50)
        ) {
            let severities = [Severity::High, Severity::Medium, Severity::Low];
            let key = |e: &(usize, usize, i64, u64)| {
                queue(
                    ReviewState::ALL[e.0],
                    severities[e.1],
                    Timestamp::from_millisecond(e.2).unwrap(),
                    FindingId(e.3),
                )
                .to_vec()
            };
            let by_bytes = sorted_by_bytes(&entries, key);
            // Expected: state code ascending, most severe first, oldest first, id ascending.
            entries.sort_by_key(|e| (ReviewState::ALL[e.0].code(), e.1, e.2, e.3));
            prop_assert_eq!(by_bytes, entries.clone());
            for e in &entries {
                prop_assert_eq!(finding_from_queue(&key(e)).unwrap(), FindingId(e.3));
            }
        }

        #[test]
        fn dedupe_keys_are_injective(
            a in "[a-z0-9:/.]{1,12}", b in "[a-z0-9:/.]{1,12}",
            r1 in "[a-z_]{1,8}", r2 in "[a-z_]{1,8}"
        ) {
            let k1 = finding_dedupe(Platform::Bluesky, &a, &r1).unwrap();
            let k2 = finding_dedupe(Platform::Bluesky, &b, &r2).unwrap();
            prop_assert_eq!(k1 == k2, a == b && r1 == r2);
        }
    }

    #[test]
    fn big_endian_is_what_makes_order_numeric() {
        // The motivating case: little-endian keys would sort 256 before 1.
        assert!(u64_key(1) < u64_key(2));
        assert!(u64_key(2) < u64_key(256));
        assert!(u64_key(256) < u64_key(65536));
        assert!(1u64.to_le_bytes() > 256u64.to_le_bytes());
    }

    #[test]
    fn outbox_keys_group_by_endpoint_and_sort_by_message() {
        let a1 = outbox("ops", 1).unwrap();
        let a2 = outbox("ops", 256).unwrap();
        let b = outbox("ops-2", 0).unwrap();
        assert!(a1 < a2, "messages of one endpoint sort numerically");
        assert!(a1.starts_with(&outbox_prefix("ops").unwrap()));
        assert!(
            !b.starts_with(&outbox_prefix("ops").unwrap()),
            "length prefix separates names"
        );
        assert_eq!(outbox_parts(&a2).unwrap(), ("ops".to_string(), 256));
        assert!(outbox_parts(&a2[..a2.len() - 1]).is_err());
    }

    #[test]
    fn oversized_and_empty_parts_are_refused() {
        assert!(matches!(employee(""), Err(KeyError::Empty { .. })));
        let long = "x".repeat(MAX_KEY_PART + 1);
        assert!(matches!(
            activity(Platform::X, &long),
            Err(KeyError::TooLong { len, .. }) if len == MAX_KEY_PART + 1
        ));
    }
}
