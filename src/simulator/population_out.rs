//! `--population-out DIR`: the files that let Netra register exactly the simulated population —
//! `employees.csv` (one row per account, the registry's import format), `watched.csv` (official
//! accounts and their entity ids) and `netra.toml` (a complete config pointing at the simulator,
//! data in `DIR/data`).

use std::fs;
use std::io;
use std::path::Path;

use super::population::{Owner, Population, MASTODON_DOMAINS};

pub const EMPLOYEES_HEADER: &str = "employee_id,name,unit,position,status,platform,handle";
pub const WATCHED_HEADER: &str = "platform,handle,entity_id,role";

/// Quotes a CSV field when it holds a comma, quote or line break (RFC 4180).
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

fn csv_line(fields: &[&str]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// `employees.csv`: one row per employee account.
pub fn employees_csv(population: &Population, base_url: &str) -> String {
    let mut out = String::from(EMPLOYEES_HEADER);
    out.push('\n');
    for employee in &population.employees {
        for &account in &employee.accounts {
            let a = &population.accounts[account];
            out.push_str(&csv_line(&[
                &employee.id,
                &employee.name,
                &employee.unit,
                &employee.position,
                &employee.status,
                a.platform.as_str(),
                &a.registry_handle(base_url),
            ]));
        }
    }
    out
}

/// `watched.csv`: one row per official account.
pub fn watched_csv(population: &Population, base_url: &str) -> String {
    let mut out = String::from(WATCHED_HEADER);
    out.push('\n');
    for a in population.watched_accounts() {
        if let Owner::Watched { entity_id, role } = &a.owner {
            out.push_str(&csv_line(&[
                a.platform.as_str(),
                &a.registry_handle(base_url),
                entity_id,
                role,
            ]));
        }
    }
    out
}

fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}

/// A complete `netra.toml` (every key of `config/netra.toml`) whose sources are the simulator.
pub fn netra_toml(dir: &Path, base_url: &str) -> String {
    let data = dir.join("data");
    let mut out = String::new();
    out.push_str(
        "# Written by `netra simulate --population-out`: Netra pointed at the simulator.\n\n",
    );
    out.push_str(&format!(
        "[store]\npath = {}\ncache_capacity_mb = 64\n\n",
        toml_string(&data.to_string_lossy())
    ));
    out.push_str("[http]\nlisten = \"127.0.0.1:8080\"\n\n");
    out.push_str("[scan]\nmin_poll_interval_secs = 300\nmax_poll_interval_secs = 3600\nrequest_timeout_secs = 30\nmax_concurrent_requests = 8\nshutdown_grace_secs = 20\n# The scripted history lies in the past: read all of it on the first scan.\nbackfill_days = 3650\nreverse_window_days = 3650\n\n");
    out.push_str("[detect]\nwordlists_dir = \"./wordlists\"\nrules_file = \"./config/rules.toml\"\nreview_threshold = 0.5\n\n");
    out.push_str("[sources.http]\nuser_agent = \"Netra/0.1.0 (pengawasan netralitas ASN)\"\nconnect_timeout_secs = 5\nmax_body_kib = 4096\n\n");
    out.push_str("[sources.mastodon]\n\n");
    for domain in MASTODON_DOMAINS {
        out.push_str(&format!(
            "[[sources.mastodon.instances]]\ndomain = {}\nbase_url = {}\n\n",
            toml_string(domain),
            toml_string(&format!("{base_url}/mastodon/{domain}"))
        ));
    }
    out.push_str(&format!(
        "[sources.bluesky]\nappview_url = {}\nplc_directory_url = {}\n\n",
        toml_string(&format!("{base_url}/bluesky/appview")),
        toml_string(&format!("{base_url}/bluesky/plc"))
    ));
    out.push_str("[sources.x]\nbase_url = \"https://api.x.com\"\n");
    out
}

/// Writes the three files into `dir` (created if needed).
pub fn write_all(dir: &Path, population: &Population, base_url: &str) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let dir_abs = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    fs::write(
        dir.join("employees.csv"),
        employees_csv(population, base_url),
    )?;
    fs::write(dir.join("watched.csv"), watched_csv(population, base_url))?;
    fs::write(dir.join("netra.toml"), netra_toml(&dir_abs, base_url))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
