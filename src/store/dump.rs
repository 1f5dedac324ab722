//! `netra export` / `netra import`: the whole store as JSON lines, for backups and moves.
//!
//! ```text
//! {"netra_dump":1,"schema_version":1}
//! {"tree":"employees","key":"3139…","record":{…}}      records decoded, so a dump is readable
//! {"tree":"queue","key":"01fd…","bytes":""}            index entries as hex
//! {"end":true,"lines":42}                               a trailer: a truncated dump is refused
//! ```
//!
//! Trees appear in a fixed order and keys in sled order, so exporting the same store twice gives
//! the same bytes, and so does export → import → export. sled's own `export` is not used: it is
//! meant for sled version upgrades and panics on bad input.

use std::io::{BufRead, Write};
use std::path::Path;

use serde_json::{json, Value};

use super::{codec, keys, Store, StoreError, ValueFormat, SCHEMA_VERSION, TREE_NAMES};
use crate::model::{Account, Activity, Employee, Finding, ScanState, WatchedAccount};

const DUMP_FORMAT: u64 = 1;

impl Store {
    /// Writes every record to `out`; returns the number of records written. Writers wait while
    /// it runs, so the dump is one consistent moment of the store.
    pub fn export(&self, out: &mut dyn Write) -> Result<usize, StoreError> {
        let _gate = self.write_gate();
        let io = |source| StoreError::Io {
            path: "export output".into(),
            source,
        };
        let schema_version = self.schema_version()?.unwrap_or(SCHEMA_VERSION);
        writeln!(
            out,
            "{}",
            json!({"netra_dump": DUMP_FORMAT, "schema_version": schema_version})
        )
        .map_err(io)?;
        let mut count = 0;
        for (name, format) in TREE_NAMES {
            let tree = self
                .trees
                .by_name(name)
                .expect("TREE_NAMES lists open trees");
            for entry in tree.iter() {
                let (key, value) = entry.map_err(StoreError::backend(format!("reading {name}")))?;
                let line = match format {
                    ValueFormat::Record => {
                        let json_bytes = codec::json_part(name, &key, &value)?;
                        let record: Value =
                            serde_json::from_slice(json_bytes).map_err(|error| {
                                StoreError::Corrupt {
                                    tree: name,
                                    key_hex: hex::encode(&key),
                                    reason: error.to_string(),
                                }
                            })?;
                        json!({"tree": name, "key": hex::encode(&key), "record": record})
                    }
                    ValueFormat::Bytes => {
                        json!({"tree": name, "key": hex::encode(&key), "bytes": hex::encode(&value)})
                    }
                };
                writeln!(out, "{line}").map_err(io)?;
                count += 1;
            }
        }
        writeln!(out, "{}", json!({"end": true, "lines": count})).map_err(io)?;
        out.flush().map_err(io)?;
        Ok(count)
    }

    /// Restores a dump into this store, which must be empty. The whole file is checked before
    /// anything is written, so a bad dump changes nothing; the schema is then migrated if the
    /// dump is older than this build.
    pub fn import_file(&self, path: &Path) -> Result<usize, StoreError> {
        let open = || {
            std::fs::File::open(path)
                .map(std::io::BufReader::new)
                .map_err(|source| StoreError::Io {
                    path: path.display().to_string(),
                    source,
                })
        };
        let _gate = self.write_gate();
        self.ensure_empty()?;
        let (dump_version, _) = read_dump(open()?, path, &mut |_| Ok(()))?;
        let (_, count) = read_dump(open()?, path, &mut |entry| {
            let tree = self.trees.by_name(entry.tree).expect("validated tree name");
            tree.insert(entry.key, entry.value)
                .map(|_| ())
                .map_err(StoreError::backend(format!(
                    "importing into {}",
                    entry.tree
                )))
        })?;
        // The dump's meta lines replaced the version written at open; make it the dump's.
        self.trees
            .meta
            .insert(keys::META_SCHEMA_VERSION, &keys::u64_key(dump_version))
            .map_err(StoreError::backend("writing the schema version"))?;
        self.flush()?;
        self.registry_changed();
        self.migrate_from(dump_version)?;
        Ok(count)
    }

    pub(super) fn ensure_empty(&self) -> Result<(), StoreError> {
        for (name, _) in TREE_NAMES {
            let tree = self
                .trees
                .by_name(name)
                .expect("TREE_NAMES lists open trees");
            let read = StoreError::backend(format!("reading {name}"));
            let len = tree.len().map_err(read)?;
            let only_version = name == "meta"
                && len == 1
                && tree
                    .contains_key(keys::META_SCHEMA_VERSION)
                    .unwrap_or(false);
            if len > 0 && !only_version {
                return Err(StoreError::NotEmpty { tree: name });
            }
        }
        Ok(())
    }
}

/// One validated dump line, ready to insert.
struct DumpEntry {
    tree: &'static str,
    key: Vec<u8>,
    value: Vec<u8>,
}

/// Reads and validates a dump, handing each entry to `apply`; returns the dump's schema version
/// and the number of entries.
fn read_dump(
    reader: impl BufRead,
    path: &Path,
    apply: &mut dyn FnMut(DumpEntry) -> Result<(), StoreError>,
) -> Result<(u64, usize), StoreError> {
    let mut schema_version = None;
    let mut entries = 0usize;
    let mut ended = false;
    for (index, line) in reader.lines().enumerate() {
        let line_number = index + 1;
        let bad = |reason: String| StoreError::Dump {
            line: line_number,
            reason,
        };
        let line = line.map_err(|source| StoreError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if ended {
            return Err(bad("text after the end line".into()));
        }
        let value: Value =
            serde_json::from_str(&line).map_err(|error| bad(format!("not JSON: {error}")))?;
        if line_number == 1 {
            schema_version = Some(parse_header(&value).map_err(bad)?);
            continue;
        }
        if value.get("end").is_some() {
            let declared = value.get("lines").and_then(Value::as_u64);
            if declared != Some(entries as u64) {
                return Err(bad(format!(
                    "the end line declares {declared:?} records but {entries} were read"
                )));
            }
            ended = true;
            continue;
        }
        let entry = parse_entry(&value).map_err(bad)?;
        apply(entry)?;
        entries += 1;
    }
    if !ended {
        return Err(StoreError::Dump {
            line: entries + 1,
            reason: "the dump ends without its end line: it is truncated".into(),
        });
    }
    let version = schema_version.ok_or_else(|| StoreError::Dump {
        line: 1,
        reason: "the file is empty".into(),
    })?;
    Ok((version, entries))
}

fn parse_header(value: &Value) -> Result<u64, String> {
    if value.get("netra_dump").and_then(Value::as_u64) != Some(DUMP_FORMAT) {
        return Err(format!(
            "not a Netra dump (the first line must be {{\"netra_dump\":{DUMP_FORMAT},...}})"
        ));
    }
    let version = value
        .get("schema_version")
        .and_then(Value::as_u64)
        .ok_or("the header has no schema_version")?;
    if version == 0 || version > SCHEMA_VERSION {
        return Err(format!(
            "schema version {version} is not one this build can import (1 to {SCHEMA_VERSION})"
        ));
    }
    Ok(version)
}

fn parse_entry(value: &Value) -> Result<DumpEntry, String> {
    let tree_name = value
        .get("tree")
        .and_then(Value::as_str)
        .ok_or("no \"tree\"")?;
    let (tree, format) = TREE_NAMES
        .iter()
        .find(|(name, _)| *name == tree_name)
        .copied()
        .ok_or_else(|| format!("unknown tree '{tree_name}'"))?;
    let key_hex = value
        .get("key")
        .and_then(Value::as_str)
        .ok_or("no \"key\"")?;
    let key = hex::decode(key_hex).map_err(|error| format!("key is not hex: {error}"))?;
    if key.is_empty() {
        return Err("key is empty".into());
    }
    let stored = match format {
        ValueFormat::Record => {
            let record = value.get("record").ok_or("no \"record\"")?;
            check_record_shape(tree, record)
                .map_err(|error| format!("{tree} record does not fit: {error}"))?;
            if tree == "findings" {
                // Stored exactly as this build writes a finding (unit paths normalised and
                // all): the findings list pre-checks the stored bytes before decoding.
                let finding: Finding = serde_json::from_value(record.clone())
                    .map_err(|error| format!("{tree} record does not fit: {error}"))?;
                codec::encode(&finding)
            } else {
                let mut bytes = vec![codec::RECORD_VERSION];
                serde_json::to_writer(&mut bytes, record).map_err(|error| error.to_string())?;
                bytes
            }
        }
        ValueFormat::Bytes => {
            let hex_value = value
                .get("bytes")
                .and_then(Value::as_str)
                .ok_or("no \"bytes\"")?;
            hex::decode(hex_value).map_err(|error| format!("bytes are not hex: {error}"))?
        }
    };
    Ok(DumpEntry {
        tree,
        key,
        value: stored,
    })
}

/// Refuses records that this build could not read back.
fn check_record_shape(tree: &str, record: &Value) -> Result<(), serde_json::Error> {
    let record = record.clone();
    match tree {
        "employees" => serde_json::from_value::<Employee>(record).map(drop),
        "accounts" => serde_json::from_value::<Account>(record).map(drop),
        "watched" => serde_json::from_value::<WatchedAccount>(record).map(drop),
        "activities" => serde_json::from_value::<Activity>(record).map(drop),
        "findings" => serde_json::from_value::<Finding>(record).map(drop),
        "scan_state" => serde_json::from_value::<ScanState>(record).map(drop),
        "cases" => serde_json::from_value::<crate::model::Case>(record).map(drop),
        "history" => serde_json::from_value::<crate::review::HistoryEntry>(record).map(drop),
        "users" => serde_json::from_value::<crate::access::User>(record).map(drop),
        "tokens" => serde_json::from_value::<crate::access::ApiToken>(record).map(drop),
        "audit" => serde_json::from_value::<super::AuditEntry>(record).map(drop),
        "outbox" => serde_json::from_value::<super::OutboxMessage>(record).map(drop),
        "alert_dead" => serde_json::from_value::<super::DeadLetter>(record).map(drop),
        "alert_endpoints" => serde_json::from_value::<super::EndpointState>(record).map(drop),
        _ => Ok(()),
    }
}
