//! The `firststep-adapter` command: `serve` and `check-config`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use firststep_adapter::config::Settings;
use firststep_adapter::Application;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    version,
    about = "Serves First Step protocol v1 over a practice's calendar."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the protocol (and the widget and demo page, when configured).
    Serve {
        /// The practice's configuration file.
        #[arg(long, env = "FIRSTSTEP_CONFIG")]
        config: PathBuf,
        /// Address to listen on; overrides the file's `server.listen`.
        #[arg(long, env = "FIRSTSTEP_LISTEN")]
        listen: Option<String>,
        /// SQLite file to keep bookings in; overrides the file's `server.store`.
        #[arg(long, env = "FIRSTSTEP_STORE")]
        store: Option<PathBuf>,
    },
    /// Check a configuration file and print every problem in it.
    CheckConfig {
        /// The practice's configuration file.
        file: PathBuf,
    },
    /// List, confirm or decline requests from the command line. Emails and
    /// calendar writes are delivered by the running adapter (or at its next start).
    Requests {
        /// The practice's configuration file.
        #[arg(long, env = "FIRSTSTEP_CONFIG")]
        config: PathBuf,
        /// SQLite file the bookings are in; overrides the file's `server.store`.
        #[arg(long, env = "FIRSTSTEP_STORE")]
        store: Option<PathBuf>,
        #[command(subcommand)]
        action: RequestAction,
    },
}

#[derive(Subcommand)]
enum RequestAction {
    /// The requests waiting for an answer, soonest first.
    List,
    /// Confirm a request.
    Confirm { id: String },
    /// Decline a request (the visitor is told kindly, the time is offered again).
    Decline { id: String },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::CheckConfig { file } => match Settings::load(&file) {
            Ok(settings) => match check_calendar(&settings) {
                Ok(()) => {
                    let practice = &settings.practice;
                    println!(
                        "{}: ok ({}, {} service(s))",
                        file.display(),
                        practice.name,
                        practice.services.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("{}: {error}", file.display());
                    ExitCode::FAILURE
                }
            },
            Err(error) => {
                eprintln!("{error}");
                ExitCode::FAILURE
            }
        },
        Command::Requests {
            config,
            store,
            action,
        } => match requests(&config, store, action) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("firststep-adapter: {error:#}");
                ExitCode::FAILURE
            }
        },
        Command::Serve {
            config,
            listen,
            store,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    EnvFilter::try_from_env("FIRSTSTEP_LOG")
                        .unwrap_or_else(|_| EnvFilter::new("info")),
                )
                // Logs go to stderr; stdout carries only the address to open.
                .with_writer(std::io::stderr)
                .init();
            let mut settings = match Settings::load(&config) {
                Ok(settings) => settings,
                Err(error) => {
                    eprintln!("{error}");
                    return ExitCode::FAILURE;
                }
            };
            settings.server.listen = listen.unwrap_or(settings.server.listen);
            settings.server.store = store.unwrap_or(settings.server.store);
            match serve(settings) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("firststep-adapter: {error:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn requests(
    config: &std::path::Path,
    store: Option<PathBuf>,
    action: RequestAction,
) -> anyhow::Result<()> {
    use firststep_adapter::mail::compose::{when, Language};
    use firststep_adapter::store::{Answer, Answered, Store};

    let settings = Settings::load(config)?;
    let store = Store::open(&store.unwrap_or(settings.server.store))?;
    let now = chrono::Utc::now();
    let zone = settings.practice.zone;
    let (id, answer) = match action {
        RequestAction::List => {
            let pending = store.pending_requests(now)?;
            if pending.is_empty() {
                println!("No requests are waiting for an answer.");
            }
            for request in pending {
                let expires = request
                    .expires_at
                    .map_or_else(String::new, |t| when(t, zone, Language::English));
                println!(
                    "{}  {}  {} <{}>  (expires {expires})",
                    request.id,
                    when(request.slot.start, zone, Language::English),
                    request.visitor.name,
                    request.visitor.email
                );
            }
            return Ok(());
        }
        RequestAction::Confirm { id } => (id, Answer::Confirm),
        RequestAction::Decline { id } => (id, Answer::Decline),
    };
    match store.answer(&id, answer, now)? {
        Answered::Done(status) => {
            println!("{id} is {}; the visitor will be told.", status.as_str())
        }
        Answered::AlreadyClosed(status) => {
            anyhow::bail!("{id} is already {}; nothing was changed", status.as_str())
        }
        Answered::NotFound => anyhow::bail!("there is no request {id}"),
    }
    Ok(())
}

/// Asks the configured calendar whether it answers and takes the credentials.
#[tokio::main]
async fn check_calendar(
    settings: &Settings,
) -> Result<(), firststep_adapter::calendar::CalendarError> {
    firststep_adapter::startup::calendar_of(settings)
        .check()
        .await
}

#[tokio::main]
async fn serve(settings: Settings) -> anyhow::Result<()> {
    let demo = settings.server.demo_dir.is_some();
    let app = Application::build(settings).await?;
    let address = app.address();
    if demo {
        println!("First Step demo practice page: http://{address}/");
    }
    println!("First Step adapter listening on http://{address} (Ctrl-C to stop)");
    app.run_until_stopped(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
