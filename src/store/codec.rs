//! Record encoding: one version byte, then JSON.
//!
//! JSON costs some space but keeps dumps readable and lets a migration read an old record as a
//! plain `serde_json::Value` and rewrite it. The version byte says which shape the JSON has.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;

/// Shape version of every record written by this build.
pub const RECORD_VERSION: u8 = 1;

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = vec![RECORD_VERSION];
    serde_json::to_writer(&mut bytes, value).expect("model types serialise to JSON");
    bytes
}

/// The JSON part of a stored record, checking its version byte.
pub fn json_part<'a>(tree: &'static str, key: &[u8], bytes: &'a [u8]) -> Result<&'a [u8], StoreError> {
    match bytes.split_first() {
        Some((&RECORD_VERSION, json)) => Ok(json),
        Some((version, _)) => Err(StoreError::Corrupt {
            tree,
            key_hex: hex::encode(key),
            reason: format!("record version {version} is unknown (this build writes {RECORD_VERSION})"),
        }),
        None => Err(StoreError::Corrupt {
            tree,
            key_hex: hex::encode(key),
            reason: "record is empty".into(),
        }),
    }
}

pub fn decode<T: DeserializeOwned>(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(json_part(tree, key, bytes)?).map_err(|error| StoreError::Corrupt {
        tree,
        key_hex: hex::encode(key),
        reason: error.to_string(),
    })
}
