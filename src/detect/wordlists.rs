//! Reading the human-edited word-list files and checking them (`netra wordlists lint`).
//!
//! Every file uses one simple format that non-programmers can edit: `[section-id]` headers,
//! `key = value` lines (one term per line, keys may repeat), blank lines, and `#` comment
//! lines. Every entry remembers its file and line so every problem can be reported where it is.
//! `wordlists/README.md` documents the files and keys.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where something was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Section {
    pub id: String,
    pub origin: Origin,
    pub entries: Vec<Entry>,
}

impl Section {
    pub fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.key == key)
    }

    pub fn first(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// How bad a word-list problem is: errors stop the lexicon from loading and make lint fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub level: Level,
    pub origin: Origin,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Warning => "warning",
            Level::Error => "error",
        };
        write!(f, "{}: {level}: {}", self.origin, self.message)
    }
}

/// Word lists failing to load: unreadable files or errors found while checking them.
#[derive(Debug, thiserror::Error)]
pub enum WordlistError {
    #[error("cannot read word list {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("word lists have {} error(s); first: {}", .0.iter().filter(|p| p.level == Level::Error).count(), .0.iter().find(|p| p.level == Level::Error).map(|p| p.to_string()).unwrap_or_default())]
    Invalid(Vec<Problem>),
    #[error(transparent)]
    Matcher(#[from] super::matcher::MatcherError),
    #[error("{origin}: invalid pattern")]
    Regex {
        origin: Origin,
        #[source]
        source: regex::Error,
    },
}

/// Parses one file's text; syntax problems go to `problems`.
pub fn parse(file: &Path, text: &str, problems: &mut Vec<Problem>) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let origin = Origin {
            file: file.to_path_buf(),
            line: n + 1,
        };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            match rest.strip_suffix(']') {
                Some(id) if !id.trim().is_empty() => sections.push(Section {
                    id: id.trim().to_string(),
                    origin,
                    entries: Vec::new(),
                }),
                _ => problems.push(Problem {
                    level: Level::Error,
                    origin,
                    message: format!("malformed section header '{line}': expected [id]"),
                }),
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            problems.push(Problem {
                level: Level::Error,
                origin,
                message: format!("malformed line '{line}': expected 'key = value'"),
            });
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            problems.push(Problem {
                level: Level::Error,
                origin,
                message: format!("malformed line '{line}': the key before '=' is empty"),
            });
            continue;
        }
        if value.is_empty() {
            problems.push(Problem {
                level: Level::Error,
                origin,
                message: format!("empty entry: '{key}' has no value"),
            });
            continue;
        }
        let Some(section) = sections.last_mut() else {
            problems.push(Problem {
                level: Level::Error,
                origin,
                message: format!("'{key}' appears before any [section] header"),
            });
            continue;
        };
        section.entries.push(Entry {
            key: key.to_string(),
            value: value.to_string(),
            origin,
        });
    }
    sections
}

/// The raw contents of a word-list directory, file by file.
#[derive(Debug, Clone, Default)]
pub struct RawWordlists {
    pub elections: Vec<Section>,
    pub entities: Vec<Section>,
    pub cues: Vec<Section>,
    pub regions: Vec<Section>,
    pub slang: Vec<Section>,
    pub patterns: Vec<Section>,
}

fn read(path: &Path) -> Result<String, WordlistError> {
    std::fs::read_to_string(path).map_err(|source| WordlistError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads `dir`: `elections.txt`, `cues.txt`, `regions.txt`, `patterns.txt`, every
/// `entities/*.txt` and every `slang*.txt`, in a fixed (sorted) order so ids are stable.
pub fn read_dir(dir: &Path, problems: &mut Vec<Problem>) -> Result<RawWordlists, WordlistError> {
    let one = |name: &str, problems: &mut Vec<Problem>| -> Result<Vec<Section>, WordlistError> {
        let path = dir.join(name);
        Ok(parse(&path, &read(&path)?, problems))
    };
    let mut raw = RawWordlists {
        elections: one("elections.txt", problems)?,
        cues: one("cues.txt", problems)?,
        regions: one("regions.txt", problems)?,
        patterns: one("patterns.txt", problems)?,
        ..RawWordlists::default()
    };
    for path in sorted_txt(&dir.join("entities"), "")? {
        raw.entities.extend(parse(&path, &read(&path)?, problems));
    }
    for path in sorted_txt(dir, "slang")? {
        raw.slang.extend(parse(&path, &read(&path)?, problems));
    }
    Ok(raw)
}

fn sorted_txt(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>, WordlistError> {
    let entries = std::fs::read_dir(dir).map_err(|source| WordlistError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| WordlistError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with(prefix) && name.ends_with(".txt") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Lints a word-list directory: every syntax and consistency problem, errors first in
/// importance but in file order otherwise. An unreadable file is returned as `Err`.
pub fn lint(dir: &Path) -> Result<Vec<Problem>, WordlistError> {
    let mut problems = Vec::new();
    let raw = read_dir(dir, &mut problems)?;
    let _ = super::lexicon::Lexicon::compile_raw(&raw, &mut problems);
    problems.sort_by(|a, b| (&a.origin.file, a.origin.line).cmp(&(&b.origin.file, b.origin.line)));
    problems.dedup();
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_malformed_and_empty_lines_with_their_line() {
        let mut problems = Vec::new();
        let sections = parse(
            Path::new("x.txt"),
            "# c\nkey = before\n[a]\nname = Budi\nname =\njust words\n[ ]\n",
            &mut problems,
        );
        assert_eq!(sections.len(), 1);
        assert_eq!(sections[0].entries.len(), 1);
        let lines: Vec<usize> = problems.iter().map(|p| p.origin.line).collect();
        assert_eq!(lines, vec![2, 5, 6, 7]);
        assert!(problems.iter().all(|p| p.level == Level::Error));
    }
}
