//! `firststep-conformance URL [--service ID] [--allow-writes] [--origin ORIGIN] [--json]`:
//! checks the server at URL against protocol v1; exit status 0 only when no check failed.

use std::process::ExitCode;

use clap::Parser;
use firststep_conformance::{run, Options};

/// Checks a running server against First Step protocol v1 (docs/protocol.md),
/// black-box over HTTP: one line per check, then a summary.
#[derive(Parser)]
#[command(name = "firststep-conformance", version)]
struct Cli {
    /// The server's address, like https://adapter.example.org
    url: String,
    /// The service to list and book (default: the practice's first)
    #[arg(long = "service", value_name = "ID")]
    service: Option<String>,
    /// Make bookings (each on an open slot, cancelled right after); without
    /// it the checks that book are skipped
    #[arg(long)]
    allow_writes: bool,
    /// An origin the server allows (CORS), like https://practice.example.org
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,
    /// Print the outcome as JSON, for machines
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let options = Options {
        base_url: cli.url,
        service: cli.service,
        allow_writes: cli.allow_writes,
        origin: cli.origin,
    };
    let report = match run(options, None).await {
        Ok(report) => report,
        Err(problem) => {
            eprintln!("firststep-conformance: {problem}");
            return ExitCode::from(2);
        }
    };
    if cli.json {
        println!("{:#}", report.json());
    } else {
        print!("{}", report.text());
    }
    if report.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
