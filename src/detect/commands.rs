//! The detection commands behind `netra check`, `netra eval` and `netra wordlists lint`:
//! loading the word lists and rules named in the configuration and printing results, so
//! `cli.rs` only parses arguments.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::eval::{self, flagged};
use super::explain;
use super::wordlists::{self, Level};
use super::{detect, Lexicon, Rules, Scope};
use crate::config::DetectConfig;
use crate::model::{ActivityKind, Platform};

/// Writes to stdout; a closed pipe (`netra check ... | head`) is not an error.
fn out(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Loads the lexicon and rules named in the configuration.
pub fn load(config: &DetectConfig) -> anyhow::Result<(Lexicon, Rules)> {
    let lexicon = Lexicon::load(&config.wordlists_dir).with_context(|| {
        format!(
            "cannot load word lists from {}",
            config.wordlists_dir.display()
        )
    })?;
    let rules = Rules::load(&config.rules_file)?;
    Ok((lexicon, rules))
}

pub struct CheckInput<'a> {
    pub text: &'a str,
    pub kind: ActivityKind,
    pub target_author: Option<&'a str>,
    pub target_text: Option<&'a str>,
    pub json: bool,
}

pub fn check(config: &DetectConfig, input: CheckInput<'_>) -> anyhow::Result<ExitCode> {
    let (lexicon, rules) = load(config)?;
    let activity = eval::activity(
        Platform::X,
        "check",
        input.kind,
        input.text,
        input.target_author,
        input.target_text,
    );
    let scope = Scope::campaign_everywhere(&lexicon);
    let found = detect(&activity, &lexicon, &rules, &scope);
    if input.json {
        let shown: Vec<_> = flagged(&found, config.review_threshold).collect();
        println!("{}", explain::to_json(&shown));
    } else {
        print!(
            "{}",
            explain::render(
                input.text,
                input.target_text,
                &found,
                config.review_threshold
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn eval(config: &DetectConfig, file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let (lexicon, rules) = load(config)?;
    let rows = eval::read_rows(file)?;
    let report = eval::evaluate(&rows, &lexicon, &rules, config.review_threshold)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if json {
        out(&format!("{}\n", serde_json::to_string(&report)?))?;
    } else {
        out(&eval::render(&report))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints every problem as `file:line: level: message`; exits 1 when any is an error.
pub fn lint(config: &DetectConfig) -> anyhow::Result<ExitCode> {
    let problems = wordlists::lint(&config.wordlists_dir)?;
    let listing: String = problems.iter().map(|p| format!("{p}\n")).collect();
    out(&listing)?;
    let errors = problems.iter().filter(|p| p.level == Level::Error).count();
    let warnings = problems.len() - errors;
    eprintln!(
        "{}: {errors} error(s), {warnings} warning(s)",
        config.wordlists_dir.display()
    );
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
