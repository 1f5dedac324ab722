//! The registry: who is watched. Employees and their public accounts, imported from the HR
//! system's CSV, and the official candidate, party and campaign-team accounts.
//!
//! Imports are idempotent (importing the same file twice changes nothing) and report every bad
//! row with its line, column and reason. A row is one employee and one account, stored together
//! or not at all; good rows are imported even when others are bad, so one typo does not hold
//! up a thousand registrations, and the report says which rows to fix.
//!
//! Accounts are registered by handle; the scheduler resolves each to its platform's permanent
//! id on the first scan, and records the state (found, gone, private) registrars see.

use std::collections::HashMap;
use std::fmt;

use jiff::Timestamp;

use crate::model::{Employee, EmploymentStatus, Platform, UnitPath, WatchedRole};
use crate::store::{Change, Store, StoreError};

/// Columns of the employees CSV, in the order the simulator and HR exports write them.
pub const ACCOUNT_COLUMNS: [&str; 7] = [
    "employee_id",
    "name",
    "unit",
    "position",
    "status",
    "platform",
    "handle",
];

/// Columns of the watched-accounts CSV.
pub const WATCHED_COLUMNS: [&str; 4] = ["platform", "handle", "entity_id", "role"];

/// One problem with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line in the file, counting the header as line 1.
    pub line: u64,
    pub column: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.reason
        )
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub rows: usize,
    pub employees_added: usize,
    pub employees_updated: usize,
    pub accounts_added: usize,
    pub unchanged: usize,
    pub errors: Vec<RowError>,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rows: {} employees added, {} updated, {} accounts added, {} unchanged, {} rejected",
            self.rows,
            self.employees_added,
            self.employees_updated,
            self.accounts_added,
            self.unchanged,
            self.errors.len()
        )?;
        for error in &self.errors {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "the CSV header {found:?} lacks the column(s) {missing:?}; expected at least {expected:?}"
    )]
    Header {
        found: Vec<String>,
        missing: Vec<&'static str>,
        expected: &'static [&'static str],
    },
    #[error("the CSV cannot be read: {0}")]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Maps the required columns to their positions; further columns are allowed and ignored.
fn column_positions(
    headers: &csv::StringRecord,
    expected: &'static [&'static str],
) -> Result<HashMap<&'static str, usize>, RegistryError> {
    let found: Vec<String> = headers.iter().map(|h| h.trim().to_lowercase()).collect();
    let mut positions = HashMap::new();
    let mut missing = Vec::new();
    for column in expected {
        match found.iter().position(|h| h == column) {
            Some(index) => {
                positions.insert(*column, index);
            }
            None => missing.push(*column),
        }
    }
    if missing.is_empty() {
        Ok(positions)
    } else {
        Err(RegistryError::Header {
            found,
            missing,
            expected,
        })
    }
}

/// Reads one row's fields by column name, collecting what is wrong with them.
struct Row<'a> {
    record: &'a csv::StringRecord,
    positions: &'a HashMap<&'static str, usize>,
    line: u64,
    errors: Vec<RowError>,
}

/// The record, or `None` after reporting why the row could not be read at all.
fn readable(
    result: Result<csv::StringRecord, csv::Error>,
    report: &mut ImportReport,
) -> Option<csv::StringRecord> {
    match result {
        Ok(record) => Some(record),
        Err(error) => {
            report.errors.push(RowError {
                line: error.position().map_or(0, |p| p.line()),
                column: "(row)".into(),
                reason: error.to_string(),
            });
            None
        }
    }
}

impl<'a> Row<'a> {
    fn new(record: &'a csv::StringRecord, positions: &'a HashMap<&'static str, usize>) -> Row<'a> {
        Row {
            record,
            positions,
            line: record.position().map_or(0, |p| p.line()),
            errors: Vec::new(),
        }
    }
}

impl Row<'_> {
    fn text(&mut self, column: &'static str) -> String {
        let value = self
            .positions
            .get(column)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
            .trim();
        if value.is_empty() {
            self.fail(column, "is empty".into());
        }
        value.to_string()
    }

    fn parsed<T, E: fmt::Display>(
        &mut self,
        column: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let value = self.text(column);
        if value.is_empty() {
            return None;
        }
        match parse(&value) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                self.fail(column, error.to_string());
                None
            }
        }
    }

    /// The handle, checked against the shape its platform requires (when the platform is
    /// known).
    fn handle(&mut self, platform: Option<Platform>) -> String {
        let handle = self.text("handle");
        if let (Some(platform), false) = (platform, handle.is_empty()) {
            if let Err(reason) = check_handle(platform, &handle) {
                self.fail("handle", reason);
            }
        }
        handle
    }

    fn fail(&mut self, column: &str, reason: String) {
        self.errors.push(RowError {
            line: self.line,
            column: column.to_string(),
            reason,
        });
    }
}

fn reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(text.as_bytes())
}

/// How an import treats bad rows.
#[derive(Clone, Copy)]
pub enum ImportMode<'a> {
    /// Good rows are stored, bad rows reported (the command line: fix and re-run, idempotent).
    Partial,
    /// Nothing is stored unless every row is good (API uploads). Rows whose unit is not
    /// allowed for the uploader are bad rows.
    AllOrNothing {
        unit_allowed: &'a dyn Fn(&UnitPath) -> bool,
    },
}

/// Imports employees and their accounts (see [`ACCOUNT_COLUMNS`]), storing the good rows.
pub fn import_accounts(
    store: &Store,
    csv_text: &str,
    now: Timestamp,
) -> Result<ImportReport, RegistryError> {
    import_accounts_with(store, csv_text, now, ImportMode::Partial)
}

/// Imports employees and their accounts in the given mode.
pub fn import_accounts_with(
    store: &Store,
    csv_text: &str,
    now: Timestamp,
    mode: ImportMode<'_>,
) -> Result<ImportReport, RegistryError> {
    let all_or_nothing = matches!(mode, ImportMode::AllOrNothing { .. });
    let mut reader = reader(csv_text);
    let positions = column_positions(reader.headers()?, &ACCOUNT_COLUMNS)?;
    let mut report = ImportReport::default();
    let mut pending: Vec<(u64, (Employee, Platform, String))> = Vec::new();
    for result in reader.records() {
        report.rows += 1;
        let Some(record) = readable(result, &mut report) else {
            continue;
        };
        let mut row = Row::new(&record, &positions);
        let line = row.line;
        let employee_id = row.text("employee_id");
        if !employee_id.is_empty()
            && !employee_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            row.fail(
                "employee_id",
                format!("'{employee_id}' may hold only letters, digits, '-' and '.'"),
            );
        }
        let name = row.text("name");
        let unit = row.parsed("unit", UnitPath::parse);
        if let (ImportMode::AllOrNothing { unit_allowed }, Some(unit)) = (mode, &unit) {
            if !unit_allowed(unit) {
                row.fail("unit", format!("'{unit}' is outside your units"));
            }
        }
        let position = row.text("position");
        let status = row.parsed("status", |s| s.parse::<EmploymentStatus>());
        let platform = row.parsed("platform", |s| s.parse::<Platform>());
        let handle = row.handle(platform);
        if !row.errors.is_empty() {
            report.errors.append(&mut row.errors);
            continue;
        }
        let (Some(unit), Some(status), Some(platform)) = (unit, status, platform) else {
            continue;
        };
        let employee = Employee {
            employee_id,
            name,
            unit,
            position,
            status,
            active: true,
            registered_at: now,
        };
        if all_or_nothing {
            if let Some(owner) = store.account_by_handle(platform, &handle)? {
                if owner.employee_id != employee.employee_id {
                    report.errors.push(RowError {
                        line,
                        column: "handle".into(),
                        reason: format!(
                            "{platform} account '{handle}' is registered to another employee"
                        ),
                    });
                    continue;
                }
            }
        }
        pending.push((line, (employee, platform, handle)));
        if pending.len() >= ROWS_PER_FLUSH && !all_or_nothing {
            store_rows(store, &mut pending, &mut report, now)?;
        }
    }
    if all_or_nothing && !report.errors.is_empty() {
        return Ok(report);
    }
    store_rows(store, &mut pending, &mut report, now)?;
    Ok(report)
}

/// Rows stored per flush: large imports are group-committed.
const ROWS_PER_FLUSH: usize = 1000;

/// Stores the pending rows (each its own transaction, one flush) and records their outcomes.
fn store_rows(
    store: &Store,
    pending: &mut Vec<(u64, (Employee, Platform, String))>,
    report: &mut ImportReport,
    now: Timestamp,
) -> Result<(), RegistryError> {
    let (lines, rows): (Vec<u64>, Vec<(Employee, Platform, String)>) = pending.drain(..).unzip();
    let outcomes = store.upsert_employees_with_accounts(&rows, now)?;
    for (line, outcome) in lines.into_iter().zip(outcomes) {
        match outcome {
            Ok(outcome) => {
                match outcome.employee {
                    Change::Added => report.employees_added += 1,
                    Change::Updated => report.employees_updated += 1,
                    Change::Unchanged => {}
                }
                match outcome.account {
                    Change::Added => report.accounts_added += 1,
                    _ if outcome.employee == Change::Unchanged => report.unchanged += 1,
                    _ => {}
                }
            }
            Err(error @ (StoreError::AlreadyExists { .. } | StoreError::Key(_))) => {
                report.errors.push(RowError {
                    line,
                    column: "handle".into(),
                    reason: error.to_string(),
                })
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(())
}

/// Imports official candidate, party and campaign-team accounts (see [`WATCHED_COLUMNS`]).
/// `known_entity` says whether an entity id exists in the word lists.
pub fn import_watched(
    store: &Store,
    csv_text: &str,
    known_entity: &dyn Fn(&str) -> bool,
    now: Timestamp,
) -> Result<ImportReport, RegistryError> {
    import_watched_with(store, csv_text, known_entity, now, ImportMode::Partial)
}

/// Imports watched accounts in the given mode.
pub fn import_watched_with(
    store: &Store,
    csv_text: &str,
    known_entity: &dyn Fn(&str) -> bool,
    now: Timestamp,
    mode: ImportMode<'_>,
) -> Result<ImportReport, RegistryError> {
    let mut pending = Vec::new();
    let mut reader = reader(csv_text);
    let positions = column_positions(reader.headers()?, &WATCHED_COLUMNS)?;
    let mut report = ImportReport::default();
    for result in reader.records() {
        report.rows += 1;
        let Some(record) = readable(result, &mut report) else {
            continue;
        };
        let mut row = Row::new(&record, &positions);
        let line = row.line;
        let platform = row.parsed("platform", |s| s.parse::<Platform>());
        let handle = row.handle(platform);
        let entity_id = row.text("entity_id");
        if !entity_id.is_empty() && !known_entity(&entity_id) {
            row.fail(
                "entity_id",
                format!("'{entity_id}' is not an entity of the word lists"),
            );
        }
        let role = row.parsed("role", parse_role);
        if !row.errors.is_empty() {
            report.errors.append(&mut row.errors);
            continue;
        }
        let (Some(platform), Some(role)) = (platform, role) else {
            continue;
        };
        pending.push((line, platform, handle, entity_id, role));
    }
    if matches!(mode, ImportMode::AllOrNothing { .. }) && !report.errors.is_empty() {
        return Ok(report);
    }
    for (line, platform, handle, entity_id, role) in pending {
        match store.upsert_watched(platform, &handle, &entity_id, role, now) {
            Ok(Change::Added) => report.accounts_added += 1,
            Ok(_) => report.unchanged += 1,
            Err(error @ (StoreError::AlreadyExists { .. } | StoreError::Key(_))) => {
                report.errors.push(RowError {
                    line,
                    column: "handle".into(),
                    reason: error.to_string(),
                })
            }
            Err(other) => return Err(other.into()),
        }
    }
    // Store refusals come after the row checks: report every error in line order.
    report.errors.sort_by_key(|error| error.line);
    Ok(report)
}

fn parse_role(value: &str) -> Result<WatchedRole, String> {
    match value.trim().to_lowercase().as_str() {
        "candidate" => Ok(WatchedRole::Candidate),
        "party" => Ok(WatchedRole::Party),
        "campaign_team" => Ok(WatchedRole::CampaignTeam),
        other => Err(format!(
            "unknown role '{other}': expected candidate, party or campaign_team"
        )),
    }
}

/// The shape a handle must have on its platform, checked before anything is stored.
pub fn check_handle(platform: Platform, handle: &str) -> Result<(), String> {
    let handle = handle.trim();
    let ok = match platform {
        Platform::Mastodon => crate::sources::mastodon::Mastodon::split_handle(handle).is_ok(),
        Platform::Bluesky => {
            let bare = handle.trim_start_matches('@');
            bare.starts_with("did:") || (bare.contains('.') && !bare.contains(char::is_whitespace))
        }
        Platform::X => {
            let bare = handle.trim_start_matches('@');
            !bare.is_empty()
                && bare.len() <= 15
                && bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        Platform::Rss => handle.starts_with("http://") || handle.starts_with("https://"),
        Platform::Facebook => !handle.is_empty() && !handle.contains(char::is_whitespace),
    };
    if ok {
        Ok(())
    } else {
        Err(match platform {
            Platform::Mastodon => {
                format!("'{handle}' is not a Mastodon handle such as @nama@instansi.example")
            }
            Platform::Bluesky => {
                format!("'{handle}' is not a Bluesky handle such as nama.bsky.social")
            }
            Platform::X => format!("'{handle}' is not an X username (1-15 letters, digits or '_')"),
            Platform::Rss => format!("'{handle}' is not a feed URL (http:// or https://)"),
            Platform::Facebook => format!("'{handle}' is not a Facebook profile name"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2024-11-01T00:00:00Z".parse().unwrap()
    }

    const GOOD: &str = "employee_id,name,unit,position,status,platform,handle,email\n\
        198501012010011001,\"Siti, S.H.\",kemenkumham/kanwil-sumsel,Analis,pns,mastodon,@siti@sosial.go.example,siti@example\n\
        198501012010011001,\"Siti, S.H.\",kemenkumham/kanwil-sumsel,Analis,pns,bluesky,siti.bsky.social,\n\
        199001012015021002,Budi,kemenkumham/kanwil-dki,Pranata,pppk,x,@budi_asn,\n";

    #[test]
    fn a_good_file_imports_once_and_again_changes_nothing() {
        let store = Store::temporary().unwrap();
        let first = import_accounts(&store, GOOD, now()).unwrap();
        assert_eq!(
            (first.rows, first.employees_added, first.accounts_added),
            (3, 2, 3),
            "{first}"
        );
        assert!(first.errors.is_empty());
        assert_eq!(
            store.employee("198501012010011001").unwrap().unwrap().name,
            "Siti, S.H."
        );
        let again = import_accounts(&store, GOOD, now()).unwrap();
        assert_eq!(
            (again.employees_added, again.accounts_added, again.unchanged),
            (0, 0, 3),
            "{again}"
        );
        assert_eq!(store.accounts().unwrap().len(), 3);

        let moved = GOOD.replace(
            "kemenkumham/kanwil-dki,Pranata",
            "kemenkumham/kanwil-dki,Pranata Ahli",
        );
        let update = import_accounts(&store, &moved, now()).unwrap();
        assert_eq!(update.employees_updated, 1, "{update}");
        assert_eq!(
            store
                .employee("199001012015021002")
                .unwrap()
                .unwrap()
                .position,
            "Pranata Ahli"
        );
    }

    #[test]
    fn every_bad_row_is_reported_and_good_rows_still_import() {
        let store = Store::temporary().unwrap();
        let csv = "employee_id,name,unit,position,status,platform,handle\n\
            1001,Ani,kemendagri/biro-umum,Staf,pns,mastodon,@ani@m.example\n\
            1002,,kemendagri/biro umum,Staf,honorer,myspace,ani\n\
            1003,Dedi,kemendagri,Staf,pns,bluesky,dedi\n\
            1004,Eka,kemendagri,Staf,pns,mastodon,@ani@m.example\n";
        let report = import_accounts(&store, csv, now()).unwrap();
        let located: Vec<(u64, &str)> = report
            .errors
            .iter()
            .map(|e| (e.line, e.column.as_str()))
            .collect();
        assert_eq!(
            located,
            [
                (3, "name"),
                (3, "unit"),
                (3, "status"),
                (3, "platform"),
                (4, "handle"),
                (5, "handle")
            ],
            "{report}"
        );
        assert!(
            report.errors[5]
                .reason
                .contains("registered to employee 1001"),
            "{report}"
        );
        // Row 5's employee was not stored without its account: no half rows.
        assert!(store.employee("1004").unwrap().is_none());
        assert_eq!(store.accounts().unwrap().len(), 1);
    }

    #[test]
    fn a_header_without_the_needed_columns_is_refused() {
        let store = Store::temporary().unwrap();
        let error = import_accounts(&store, "nip,nama\n1,a\n", now()).unwrap_err();
        assert!(error.to_string().contains("lacks the column(s)"), "{error}");
    }

    #[test]
    fn watched_accounts_need_a_known_entity_and_role() {
        let store = Store::temporary().unwrap();
        let csv = "platform,handle,entity_id,role\n\
            x,@prabowo,pilpres2024:02,candidate\n\
            bluesky,gerindra.bsky.social,party:gerindra,party\n\
            x,@somebody,pilpres2024:09,candidate\n\
            x,@prabowo,pilpres2024:01,candidate\n\
            mastodon,@tim@m.example,pilpres2024:02,volunteer\n";
        let known = |id: &str| matches!(id, "pilpres2024:01" | "pilpres2024:02" | "party:gerindra");
        let report = import_watched(&store, csv, &known, now()).unwrap();
        assert_eq!(report.accounts_added, 2, "{report}");
        let located: Vec<(u64, &str)> = report
            .errors
            .iter()
            .map(|e| (e.line, e.column.as_str()))
            .collect();
        assert_eq!(
            located,
            [(4, "entity_id"), (5, "handle"), (6, "role")],
            "{report}"
        );
        let again = import_watched(&store, csv, &known, now()).unwrap();
        assert_eq!((again.accounts_added, again.unchanged), (0, 2));
    }
}
