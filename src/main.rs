//! The `netra` binary: parse the command line, set up logging, run the command, map the
//! outcome to an exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = netra::cli::Cli::parse();
    if let Err(error) = netra::telemetry::init(cli.log_format, cli.log_level.as_deref()) {
        eprintln!("error: {error:#}");
        return ExitCode::from(2);
    }
    match netra::cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
