//! The command line: one binary, one subcommand per job (design §10).
//!
//! Each command loads the configuration itself, so a command that needs no store (`config
//! check`) never opens one, and one that does opens it exactly once.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{self, ConfigSource, Loaded};
use crate::detect;
use crate::store::Store;
use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "netra",
    version,
    about = "Watches registered civil servants' public posts for breaches of ASN neutrality and queues them for review"
)]
pub struct Cli {
    /// Configuration file [default: config/netra.toml if present, else the built-in default]
    #[arg(long, global = true, env = "NETRA_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Log line format (logs go to stderr).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Log filter, e.g. `info`, `debug` or `netra=debug,warn` [default: RUST_LOG, else info]
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write a consistent JSONL dump of the whole store (a backup).
    Export(ExportArgs),
    /// Restore a JSONL dump made by `export` into an empty store.
    Import(ImportArgs),
    /// Serve fake Mastodon, Bluesky and RSS platforms with a scripted population on loopback
    /// (for the demo, tests and benchmarks).
    Simulate(SimulateArgs),
    /// Register employees and their accounts.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Register official candidate, party and campaign-team accounts.
    #[command(subcommand)]
    Watched(WatchedCommand),
    /// Run the daemon: scheduled scans, the HTTP API and /metrics, until SIGINT or SIGTERM.
    Serve,
    /// Everything on the simulator in a fresh temporary store: prints `url:` and `token:`.
    Demo(DemoArgs),
    /// Scan accounts now and exit with a summary.
    Scan(ScanArgs),
    /// Import activity collected by other tools (JSON lines; format in `sources::jsonl`).
    ImportActivities(CsvArgs),
    /// Work with findings.
    #[command(subcommand)]
    Findings(FindingsCommand),
    /// Show what detection would flag in a text, and why.
    Check(CheckArgs),
    /// Score detection against a labelled JSONL file (precision, recall, entity accuracy).
    Eval(EvalArgs),
    /// Work with the word lists.
    #[command(subcommand)]
    Wordlists(WordlistsCommand),
    /// Users of the API and web page.
    #[command(subcommand)]
    Users(UsersCommand),
    /// API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Alert webhooks: endpoints, waiting and dead messages, replay.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// A report to leadership for a unit and period.
    Report(ReportArgs),
    /// Cases: evidence packets and legal holds.
    #[command(subcommand)]
    Case(CaseCommand),
    /// Employees' personal data.
    #[command(subcommand)]
    Employees(EmployeesCommand),
    /// Retention (UU PDP): purge what is no longer needed.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// The store itself: move it to another engine.
    #[command(subcommand)]
    Store(StoreCommand),
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy a whole store into an empty one on another engine (sled → PostgreSQL), then check
    /// entry counts and the audit chain on both sides. Stop `serve` first.
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The store to copy: `sled:PATH` (or a directory), or a PostgreSQL URL.
    #[arg(long)]
    pub from: String,
    /// The empty store to fill: a PostgreSQL URL, or `sled:PATH`.
    #[arg(long)]
    pub to: String,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Unit subtree, or / for the whole agency.
    #[arg(long, default_value = "/")]
    pub unit: String,
    /// First day (YYYY-MM-DD, WIB), inclusive.
    #[arg(long)]
    pub from: jiff::civil::Date,
    /// Last day (YYYY-MM-DD, WIB), inclusive.
    #[arg(long)]
    pub to: jiff::civil::Date,
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Print a case's evidence packet (JSON with payloads and its own digest, or HTML to print).
    Export(CaseExportArgs),
    /// Put a case under legal hold: retention never purges it.
    Hold(CaseHoldArgs),
    /// Lift a legal hold.
    Unhold(CaseIdArgs),
    /// Check a packet file: its digest and every payload's SHA-256.
    Verify(CsvArgs),
}

#[derive(Debug, Args)]
pub struct CaseExportArgs {
    pub id: u64,
    #[arg(long, value_enum, default_value_t = PacketFormat::Json)]
    pub format: PacketFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PacketFormat {
    Json,
    Html,
}

#[derive(Debug, Args)]
pub struct CaseHoldArgs {
    pub id: u64,
    /// Why (a court order, an inspection): recorded in the audit log.
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct CaseIdArgs {
    pub id: u64,
}

#[derive(Debug, Subcommand)]
pub enum EmployeesCommand {
    /// Everything held about one employee, as JSON (an access request).
    Export(EmployeeExportArgs),
}

#[derive(Debug, Args)]
pub struct EmployeeExportArgs {
    /// The employee's NIP.
    pub employee_id: String,
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Purge now, by the `[retention]` policy; prints what was removed.
    Run(RetentionRunArgs),
}

#[derive(Debug, Args)]
pub struct RetentionRunArgs {
    /// Act as if it were this time (RFC 3339), e.g. to preview next month's purge on a copy.
    #[arg(long)]
    pub now: Option<jiff::Timestamp>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the web page and API listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user with a role, bound to a unit and everything below it (`/` for the whole
    /// agency).
    Add(UserAddArgs),
    /// List users.
    List,
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// Login name (letters, digits, '-', '_', '.').
    pub name: String,
    /// admin, registrar, reviewer or auditor.
    #[arg(long)]
    pub role: crate::access::Role,
    /// Unit path, e.g. kemenkumham/kanwil-sumsel, or / for the whole agency.
    #[arg(long)]
    pub unit: String,
    /// A senior reviewer may reopen decided findings.
    #[arg(long)]
    pub senior: bool,
    /// The user's own NIP, so they never see or review their own findings.
    #[arg(long, value_name = "NIP")]
    pub employee_id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create an API token for a user; prints the token alone on stdout (shown only once).
    Create(TokenCreateArgs),
    /// Revoke a token by its number; refused from the next request on.
    Revoke(TokenRevokeArgs),
    /// List tokens (never their secrets).
    List,
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// The user's name.
    pub name: String,
}

#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    pub id: u64,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; report the first broken link (exit 1) or the head to record
    /// elsewhere.
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// A head recorded earlier outside the store, as SEQ:HASH; a history rewritten since is
    /// caught against it.
    #[arg(long, value_name = "SEQ:HASH")]
    pub checkpoint: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Show each endpoint's state, then the messages waiting (or, with --dead, the dead ones).
    List(AlertsListArgs),
    /// Queue a dead message again, with the same webhook-id (delivered by `serve`).
    Replay(AlertsReplayArgs),
    /// Enable an endpoint (after a 410 or an administrator disabled it).
    Enable(EndpointArgs),
    /// Disable an endpoint: its messages go to the dead letters until it is enabled again.
    Disable(EndpointArgs),
}

#[derive(Debug, Args)]
pub struct AlertsListArgs {
    /// The dead messages instead of the waiting ones.
    #[arg(long)]
    pub dead: bool,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AlertsReplayArgs {
    /// The message number (the N of webhook-id msg_netra_N), as `alerts list --dead` shows.
    pub id: u64,
}

#[derive(Debug, Args)]
pub struct EndpointArgs {
    /// The endpoint's name in `[[alerts.endpoints]]`.
    pub name: String,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Import employees and accounts from CSV (header `employee_id,name,unit,position,status,
    /// platform,handle`; further columns ignored). Idempotent; every bad row is reported.
    Import(CsvArgs),
}

#[derive(Debug, Subcommand)]
pub enum WatchedCommand {
    /// Import watched accounts from CSV (header `platform,handle,entity_id,role`); entity ids
    /// must exist in the word lists.
    Import(CsvArgs),
}

#[derive(Debug, Args)]
pub struct CsvArgs {
    /// The input file.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// One pass over the accounts that are due (the only mode: `serve` runs continuously).
    #[arg(long, required = true)]
    pub once: bool,
    /// Scan only this account (its number), due or not.
    #[arg(long, value_name = "ID", conflicts_with = "all")]
    pub account: Option<u64>,
    /// Scan every active account, due or not (each continues from its cursor).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum FindingsCommand {
    /// List findings, one per line.
    List(FindingsListArgs),
}

#[derive(Debug, Args)]
pub struct FindingsListArgs {
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Only findings in this review state (new, in_review, needs_info, dismissed, escalated,
    /// reported).
    #[arg(long)]
    pub status: Option<crate::model::ReviewState>,
    /// Only findings of employees in this unit or below it.
    #[arg(long)]
    pub unit: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print `{"findings":[...]}` instead of text.
    #[arg(long)]
    pub json: bool,
    /// Activity kind: post, reply, repost, quote, like.
    #[arg(long, default_value = "post")]
    pub kind: crate::model::ActivityKind,
    /// Handle of the author of the replied-to, reposted, quoted or liked content.
    #[arg(long, value_name = "HANDLE")]
    pub target_author: Option<String>,
    /// Text of the replied-to, reposted, quoted or liked content.
    #[arg(long, value_name = "TEXT")]
    pub target_text: Option<String>,
    /// The person's own words (empty for likes and plain reposts).
    #[arg(default_value = "")]
    pub text: String,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Labelled activities, one JSON object per line (shared/eval/dev.jsonl format).
    pub file: PathBuf,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum WordlistsCommand {
    /// Report duplicates, unknown ids, empty entries and malformed lines with file:line;
    /// exits non-zero on errors.
    Lint,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (secrets redacted), or every error with its key and
    /// reason; exits non-zero on errors.
    Check,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Where to write the dump; `-` for standard output.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A dump written by `netra export`.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub addr: String,
    /// Seed of the scripted population: the same seed gives the same accounts and history.
    #[arg(long, default_value_t = crate::simulator::population::DEFAULT_SEED)]
    pub seed: u64,
    /// Faults for chosen accounts, e.g. `rate_limit=@budi@mastodon.example;slow=siti.bsky.example`
    /// (kinds: rate_limit, server_error, garbage, html, huge, slow, redirect_loop).
    #[arg(long, default_value = "", value_name = "SPEC")]
    pub faults: String,
    /// Keep adding new activity over time.
    #[arg(long)]
    pub live: bool,
    /// Write employees.csv, watched.csv and netra.toml for this population into DIR.
    #[arg(long, value_name = "DIR")]
    pub population_out: Option<PathBuf>,
}

/// Runs the parsed command; `Err` is an operational failure, printed by `main`.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let source = ConfigSource::choose(cli.config.as_deref());
    match cli.command {
        Command::Config(ConfigCommand::Check) => Ok(config_check(&source)),
        Command::Demo(args) => {
            crate::demo::run(args.addr)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Users(command) => {
            let store = open_store(&load_config(&source)?)?;
            users_command(&store, command)
        }
        Command::Tokens(command) => {
            let store = open_store(&load_config(&source)?)?;
            tokens_command(&store, command)
        }
        Command::Report(args) => {
            let store = open_store(&load_config(&source)?)?;
            report_command(&store, &args)
        }
        Command::Case(command) => {
            let store = open_store(&load_config(&source)?)?;
            case_command(&store, command)
        }
        Command::Employees(EmployeesCommand::Export(args)) => {
            let store = open_store(&load_config(&source)?)?;
            let export = crate::ops::employee_export(&store, &args.employee_id, CLI_ACTOR)?;
            println!("{}", serde_json::to_string_pretty(&export)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Retention(RetentionCommand::Run(args)) => {
            let loaded = load_config(&source)?;
            let store = open_store(&loaded)?;
            let now = args.now.unwrap_or_else(jiff::Timestamp::now);
            let report = store.purge(loaded.config.retention.policy, now)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Store(StoreCommand::Migrate(args)) => {
            let from = open_location(&args.from).context("cannot open the source store")?;
            let to = open_location(&args.to).context("cannot open the target store")?;
            let report = from.copy_into(&to)?;
            eprintln!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(AuditCommand::Verify(args)) => {
            let store = open_store(&load_config(&source)?)?;
            audit_verify(&store, &args)
        }
        Command::Export(args) => {
            let loaded = load_config(&source)?;
            let store = open_store(&loaded)?;
            if args.file.as_os_str() == "-" {
                let stdout = std::io::stdout();
                let count = store.export(&mut stdout.lock())?;
                eprintln!("exported {count} records");
            } else {
                let (count, digest) = crate::ops::export_with_checksum(&store, &args.file)?;
                eprintln!(
                    "exported {count} records to {} (sha256 {digest}, also in {})",
                    args.file.display(),
                    crate::ops::checksum_path(&args.file).display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Watched(WatchedCommand::Import(args)) => {
            let loaded = load_config(&source)?;
            let store = open_store(&loaded)?;
            let report = crate::app::import_watched(&loaded, &store, &args.file)?;
            Ok(report_import(&report))
        }
        Command::Serve => {
            let loaded = load_config(&source)?;
            let store = open_store(&loaded)?;
            let summary = crate::app::serve(&loaded, store)?;
            eprintln!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Scan(args) => {
            let loaded = load_config(&source)?;
            let store = open_store(&loaded)?;
            let summary = crate::app::scan_once(&loaded, store, args.account, args.all)?;
            println!("{summary}");
            Ok(if summary.errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::ImportActivities(args) => {
            let loaded = load_config(&source)?;
            let store = open_store(&loaded)?;
            match crate::app::import_activities(&loaded, &store, &args.file)? {
                Ok((activities, findings)) => {
                    println!("imported {activities} new activities, {findings} new findings");
                    Ok(ExitCode::SUCCESS)
                }
                Err(problems) => {
                    for problem in &problems {
                        eprintln!("{}: {problem}", args.file.display());
                    }
                    eprintln!("{} problem(s); nothing was imported", problems.len());
                    Ok(ExitCode::from(crate::app::EXIT_REJECTED))
                }
            }
        }
        Command::Findings(FindingsCommand::List(args)) => {
            let loaded = load_config(&source)?;
            let store = open_store(&loaded)?;
            let unit = args
                .unit
                .as_deref()
                .map(crate::model::UnitPath::parse)
                .transpose()
                .context("--unit")?;
            let stdout = std::io::stdout();
            crate::app::list_findings(
                &store,
                args.status,
                unit.as_ref(),
                args.json,
                &mut stdout.lock(),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts(AccountsCommand::Import(args)) => {
            let text = read_file(&args.file)?;
            let store = open_store(&load_config(&source)?)?;
            let report = crate::registry::import_accounts(&store, &text, jiff::Timestamp::now())?;
            Ok(report_import(&report))
        }
        Command::Import(args) => {
            let loaded = load_config(&source)?;
            let store = open_store(&loaded)?;
            match crate::ops::verify_checksum(&args.file)? {
                Some(false) => anyhow::bail!(
                    "{} does not match its checksum file {}; nothing was imported",
                    args.file.display(),
                    crate::ops::checksum_path(&args.file).display()
                ),
                Some(true) => eprintln!("checksum ok"),
                None => eprintln!("no checksum file beside the dump; importing unchecked"),
            }
            let count = store.import_file(&args.file)?;
            eprintln!("imported {count} records from {}", args.file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate(args) => {
            crate::simulator::simulate_command(crate::simulator::SimulateOptions {
                addr: args.addr,
                seed: args.seed,
                faults: args.faults,
                live: args.live,
                population_out: args.population_out,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => {
            let loaded = load_config(&source)?;
            detect::commands::check(
                &loaded.config.detect,
                detect::commands::CheckInput {
                    text: &args.text,
                    kind: args.kind,
                    target_author: args.target_author.as_deref(),
                    target_text: args.target_text.as_deref(),
                    json: args.json,
                },
            )
        }
        Command::Eval(args) => {
            let loaded = load_config(&source)?;
            detect::commands::eval(&loaded.config.detect, &args.file, args.json)
        }
        Command::Wordlists(WordlistsCommand::Lint) => {
            let loaded = load_config(&source)?;
            detect::commands::lint(&loaded.config.detect)
        }
        Command::Alerts(command) => alerts_command(&source, command),
    }
}

/// `netra alerts …` (issue #8).
fn alerts_command(source: &ConfigSource, command: AlertsCommand) -> anyhow::Result<ExitCode> {
    let loaded = load_config(source)?;
    let store = open_store(&loaded)?;
    match command {
        AlertsCommand::List(args) => {
            let stdout = std::io::stdout();
            crate::app::list_alerts(&loaded, &store, args.dead, args.json, &mut stdout.lock())?;
        }
        AlertsCommand::Replay(args) => {
            let message = crate::app::replay_alert(&store, args.id)?;
            println!(
                "alert {} queued again for endpoint {}",
                message.id, message.endpoint
            );
        }
        AlertsCommand::Enable(EndpointArgs { name }) => {
            set_enabled(&loaded, &store, &name, true)?;
        }
        AlertsCommand::Disable(EndpointArgs { name }) => {
            set_enabled(&loaded, &store, &name, false)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn set_enabled(loaded: &Loaded, store: &Store, name: &str, enabled: bool) -> anyhow::Result<()> {
    if !loaded
        .config
        .alerts
        .endpoints
        .iter()
        .any(|e| e.name == name)
    {
        anyhow::bail!("no endpoint named '{name}' is configured in [[alerts.endpoints]]");
    }
    let reason = (!enabled).then_some("disabled with `netra alerts disable`");
    store.set_endpoint_enabled(name, enabled, reason, jiff::Timestamp::now())?;
    println!(
        "endpoint {name} {}",
        if enabled { "enabled" } else { "disabled" }
    );
    Ok(())
}

/// Prints an import report; rejected rows make the exit code non-zero.
fn report_import(report: &crate::registry::ImportReport) -> ExitCode {
    println!("{report}");
    if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::app::EXIT_REJECTED)
    }
}

fn read_file(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn config_check(source: &ConfigSource) -> ExitCode {
    match config::load(source, std::env::vars()) {
        Ok(loaded) => {
            println!("# effective configuration from {}", loaded.source_name);
            print!("{}", loaded.effective.to_redacted_toml());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(2)
        }
    }
}

/// The actor the audit log records for command-line changes: whoever runs the binary on the
/// server.
const CLI_ACTOR: &str = "cli";

/// A day in WIB as the instant it starts.
fn wib_start(date: jiff::civil::Date) -> anyhow::Result<jiff::Timestamp> {
    Ok(date
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(7)))?
        .timestamp())
}

fn report_command(store: &Store, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let scope = crate::access::Scope::parse(&args.unit)
        .map_err(|reason| anyhow::anyhow!("--unit '{}': {reason}", args.unit))?;
    if args.to < args.from {
        anyhow::bail!("--to {} is before --from {}", args.to, args.from);
    }
    let period = crate::report::Period {
        scope: scope.clone(),
        from: wib_start(args.from)?,
        to: wib_start(args.to.tomorrow()?)?,
    };
    let inputs = crate::report::gather(store, &scope)?;
    let report = crate::report::build(&inputs, &period);
    let text = match args.format {
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Csv => crate::report::to_csv(&report),
        ReportFormat::Html => crate::report::to_html(&report),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn case_command(store: &Store, command: CaseCommand) -> anyhow::Result<ExitCode> {
    let now = jiff::Timestamp::now();
    match command {
        CaseCommand::Export(args) => {
            let packet = crate::packet::build(store, crate::model::CaseId(args.id), now)?
                .ok_or_else(|| anyhow::anyhow!("case {} does not exist", args.id))?;
            store.audit(
                crate::store::AuditDraft::new(
                    CLI_ACTOR,
                    "case.export",
                    format!("case:{}", args.id),
                ),
                now,
            )?;
            match args.format {
                PacketFormat::Json => println!("{}", serde_json::to_string_pretty(&packet)?),
                PacketFormat::Html => print!("{}", crate::packet::to_html(&packet)),
            }
        }
        CaseCommand::Hold(args) => {
            store.set_legal_hold(
                crate::model::CaseId(args.id),
                Some(args.reason),
                CLI_ACTOR,
                now,
            )?;
            eprintln!("case {} is under legal hold", args.id);
        }
        CaseCommand::Unhold(args) => {
            store.set_legal_hold(crate::model::CaseId(args.id), None, CLI_ACTOR, now)?;
            eprintln!("case {}: legal hold lifted", args.id);
        }
        CaseCommand::Verify(args) => {
            let text = read_file(&args.file)?;
            let packet: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", args.file.display()))?;
            let problems = crate::packet::verify(&packet);
            if problems.is_empty() {
                eprintln!("packet intact: digest and every payload hash match");
            } else {
                for problem in &problems {
                    eprintln!("{problem}");
                }
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn users_command(store: &Store, command: UsersCommand) -> anyhow::Result<ExitCode> {
    match command {
        UsersCommand::Add(args) => {
            let scope = crate::access::Scope::parse(&args.unit)
                .map_err(|reason| anyhow::anyhow!("--unit '{}': {reason}", args.unit))?;
            let user = store.add_user(
                crate::store::NewUser {
                    name: args.name,
                    role: args.role,
                    scope,
                    senior: args.senior,
                    employee_id: args.employee_id,
                },
                CLI_ACTOR,
                jiff::Timestamp::now(),
            )?;
            eprintln!(
                "user {} '{}' added as {} for {}",
                user.id, user.name, user.role, user.scope
            );
        }
        UsersCommand::List => {
            for user in store.users()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    user.id,
                    user.name,
                    user.role,
                    user.scope,
                    if user.active { "active" } else { "disabled" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn tokens_command(store: &Store, command: TokensCommand) -> anyhow::Result<ExitCode> {
    let now = jiff::Timestamp::now();
    match command {
        TokensCommand::Create(args) => {
            let user = store
                .user_by_name(&args.name)?
                .ok_or_else(|| anyhow::anyhow!("no user named '{}'", args.name))?;
            let secret = crate::access::new_token_secret()
                .map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
            let token = store.add_token(
                user.id,
                &crate::access::token_digest(&secret),
                CLI_ACTOR,
                now,
            )?;
            println!("{secret}");
            eprintln!(
                "token {} created for {}; it is not shown again",
                token.id, user.name
            );
        }
        TokensCommand::Revoke(args) => {
            let token = store.revoke_token(crate::access::TokenId(args.id), CLI_ACTOR, now)?;
            eprintln!("token {} revoked", token.id);
        }
        TokensCommand::List => {
            for token in store.tokens()? {
                let state = match token.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => "live".to_string(),
                };
                println!(
                    "{}\tuser {}\t{}\t{}",
                    token.id, token.user_id, token.created_at, state
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn audit_verify(store: &Store, args: &AuditVerifyArgs) -> anyhow::Result<ExitCode> {
    let checkpoint = match &args.checkpoint {
        Some(raw) => {
            let (seq, hash) = raw
                .split_once(':')
                .ok_or_else(|| anyhow::anyhow!("--checkpoint '{raw}' is not SEQ:HASH"))?;
            let seq: u64 = seq
                .parse()
                .map_err(|_| anyhow::anyhow!("--checkpoint: '{seq}' is not a sequence number"))?;
            Some((seq, hash.to_string()))
        }
        None => None,
    };
    let report = store.verify_audit(checkpoint.as_ref().map(|(s, h)| (*s, h.as_str())))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    match &report.first_broken {
        None => {
            eprintln!(
                "audit log intact: {} entries; head {}:{}",
                report.entries, report.head_seq, report.head_hash
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(broken) => {
            eprintln!(
                "audit log broken at entry {}: {}",
                broken.seq, broken.reason
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// Loads and validates the configuration for a command that needs it.
pub fn load_config(source: &ConfigSource) -> anyhow::Result<Loaded> {
    Ok(config::load(source, std::env::vars())?)
}

/// Opens a store named on the command line: `sled:PATH`, a PostgreSQL URL, or a directory.
fn open_location(location: &str) -> anyhow::Result<Store> {
    let store = if let Some(path) = location.strip_prefix("sled:") {
        Store::open_sled(std::path::Path::new(path), 64 << 20)?
    } else if crate::store::is_postgres_url(location) {
        Store::open_postgres(location, None)?
    } else {
        Store::open(std::path::Path::new(location), 64 << 20)?
    };
    Ok(store)
}

/// Opens the store named in the configuration.
pub fn open_store(loaded: &Loaded) -> anyhow::Result<Store> {
    let store_config = &loaded.config.store;
    let store = Store::open(&store_config.path, store_config.cache_capacity_bytes)
        .with_context(|| format!("cannot open the store at {}", store_config.path.display()))?;
    let window = jiff::SignedDuration::try_from(loaded.config.review.case_window)
        .context("review.case_window_days is too large")?;
    // New findings get their alert outbox rows in the same transaction (issue #8).
    store.set_alert_routes(loaded.config.alerts.routes());
    Ok(store.with_case_window(window))
}
