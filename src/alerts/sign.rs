//! Standard Webhooks signatures (<https://www.standardwebhooks.com>).
//!
//! Each request carries `webhook-id` (the message number, the same on every retry),
//! `webhook-timestamp` (Unix seconds of *this* attempt) and `webhook-signature`, a
//! space-separated list of `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per
//! key. Keys are written `whsec_<base64>`; the HMAC key is the decoded bytes. During a rotation
//! the endpoint has two keys and every request is signed with both, so a receiver that knows
//! either accepts it.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a secret in the scheme's text form.
pub const SECRET_PREFIX: &str = "whsec_";

/// Accepted key sizes in bytes (the scheme recommends 24 to 64).
pub const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// A decoded signing key; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// Parses `whsec_<base64>`; the message says what is wrong without echoing the secret.
    pub fn parse(text: &str) -> Result<SigningKey, String> {
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or_else(|| format!("must start with '{SECRET_PREFIX}' followed by base64"))?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| format!("the part after '{SECRET_PREFIX}' is not valid base64"))?;
        if !KEY_BYTES.contains(&bytes.len()) {
            return Err(format!(
                "decodes to {} bytes; use {} to {} random bytes",
                bytes.len(),
                KEY_BYTES.start(),
                KEY_BYTES.end()
            ));
        }
        Ok(SigningKey(bytes))
    }

    /// `v1,<base64 signature>` of one request.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The three headers of one attempt: signed with every key, current key first.
pub fn headers(
    keys: &[SigningKey],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
    ];
    if !keys.is_empty() {
        let signatures: Vec<String> = keys.iter().map(|k| k.sign(id, timestamp, body)).collect();
        headers.push(("webhook-signature", signatures.join(" ")));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_specification_example() {
        // The example of the Standard Webhooks reference libraries.
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = key.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn bad_secrets_are_explained_without_echoing_them() {
        assert!(SigningKey::parse("c2VjcmV0")
            .unwrap_err()
            .contains("whsec_"));
        assert!(SigningKey::parse("whsec_!!!")
            .unwrap_err()
            .contains("base64"));
        let short = SigningKey::parse("whsec_c2VjcmV0").unwrap_err();
        assert!(
            short.contains("6 bytes") && !short.contains("c2Vj"),
            "{short}"
        );
        assert_eq!(
            format!(
                "{:?}",
                SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            ),
            "Ok(SigningKey(<redacted>))"
        );
    }

    #[test]
    fn rotation_signs_with_both_keys_current_first() {
        let new = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let old = SigningKey::parse(&format!("whsec_{}", STANDARD.encode([7u8; 32]))).unwrap();
        let headers = headers(&[new.clone(), old.clone()], "msg_1", 10, b"{}");
        let signature = &headers[2].1;
        assert_eq!(
            signature,
            &format!(
                "{} {}",
                new.sign("msg_1", 10, b"{}"),
                old.sign("msg_1", 10, b"{}")
            )
        );
    }
}
