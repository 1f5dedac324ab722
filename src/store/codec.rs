//! Record encoding: one version byte, then JSON.
//!
//! JSON costs some space but keeps dumps readable and lets a migration read an old record as a
//! plain `serde_json::Value` and rewrite it. The version byte says which shape the JSON has.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;
use crate::model::EvidenceBlob;

/// Shape version of every record written by this build.
pub const RECORD_VERSION: u8 = 1;

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = vec![RECORD_VERSION];
    serde_json::to_writer(&mut bytes, value).expect("model types serialise to JSON");
    bytes
}

/// The JSON part of a stored record, checking its version byte.
pub fn json_part<'a>(
    tree: &'static str,
    key: &[u8],
    bytes: &'a [u8],
) -> Result<&'a [u8], StoreError> {
    match bytes.split_first() {
        Some((&RECORD_VERSION, json)) => Ok(json),
        Some((version, _)) => Err(StoreError::Corrupt {
            tree,
            key_hex: hex::encode(key),
            reason: format!(
                "record version {version} is unknown (this build writes {RECORD_VERSION})"
            ),
        }),
        None => Err(StoreError::Corrupt {
            tree,
            key_hex: hex::encode(key),
            reason: "record is empty".into(),
        }),
    }
}

pub fn decode<T: DeserializeOwned>(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(json_part(tree, key, bytes)?).map_err(|error| StoreError::Corrupt {
        tree,
        key_hex: hex::encode(key),
        reason: error.to_string(),
    })
}

/// The metadata of an evidence record; the body follows it raw, since payloads can be large
/// and JSON would double their size.
#[derive(serde::Serialize, serde::Deserialize)]
struct EvidenceHeader {
    url: String,
    fetched_at: jiff::Timestamp,
    status: u16,
    content_type: String,
}

/// Version byte, header length (`u32` big-endian), header JSON, raw body.
pub fn encode_evidence(blob: &EvidenceBlob) -> Vec<u8> {
    let header = serde_json::to_vec(&EvidenceHeader {
        url: blob.url.clone(),
        fetched_at: blob.fetched_at,
        status: blob.status,
        content_type: blob.content_type.clone(),
    })
    .expect("evidence header serialises");
    let mut bytes = Vec::with_capacity(5 + header.len() + blob.body.len());
    bytes.push(RECORD_VERSION);
    bytes.extend_from_slice(&(header.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&blob.body);
    bytes
}

pub fn decode_evidence(key: &[u8], bytes: &[u8]) -> Result<EvidenceBlob, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        tree: "evidence",
        key_hex: hex::encode(key),
        reason,
    };
    let rest = json_part("evidence", key, bytes)?;
    let (length, rest) = rest
        .split_first_chunk::<4>()
        .ok_or_else(|| corrupt("record shorter than its header length".into()))?;
    let length = u32::from_be_bytes(*length) as usize;
    if rest.len() < length {
        return Err(corrupt(format!(
            "header of {length} bytes exceeds the record"
        )));
    }
    let (header, body) = rest.split_at(length);
    let header: EvidenceHeader =
        serde_json::from_slice(header).map_err(|error| corrupt(error.to_string()))?;
    Ok(EvidenceBlob {
        sha256: hex::encode(key),
        url: header.url,
        fetched_at: header.fetched_at,
        status: header.status,
        content_type: header.content_type,
        body: body.to_vec(),
    })
}
