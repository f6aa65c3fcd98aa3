//! The `firststep-adapter` command: `serve`, `check-config`, `requests`,
//! `visitor` (a visitor's data: export, erase), `backup` and `connect`
//! (grant access to a practice's calendar account).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use firststep_adapter::clock::Clock;
use firststep_adapter::config::Settings;
use firststep_adapter::store::StoreLocation;
use firststep_adapter::Application;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
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
        #[arg(long, env = "FIRSTSTEP_CONFIG", required_unless_present = "config_dir")]
        config: Option<PathBuf>,
        /// A folder of practices, one `{id}.toml` each, served under
        /// `/p/{id}/`; re-read on SIGHUP.
        #[arg(long, env = "FIRSTSTEP_CONFIG_DIR", conflicts_with = "config")]
        config_dir: Option<PathBuf>,
        /// Address to listen on; overrides the file's `server.listen`.
        #[arg(long, env = "FIRSTSTEP_LISTEN")]
        listen: Option<String>,
        /// SQLite file or postgres:// URL to keep bookings in; overrides the file's `server.store`.
        #[arg(long, env = "FIRSTSTEP_STORE")]
        store: Option<String>,
    },
    /// Check a configuration file (or each practice's of a folder) and
    /// print every problem in it.
    CheckConfig {
        /// The practice's configuration file.
        #[arg(required_unless_present = "config_dir")]
        file: Option<PathBuf>,
        /// A folder of practices, as `serve --config-dir` reads it.
        #[arg(long, conflicts_with = "file")]
        config_dir: Option<PathBuf>,
    },
    /// List, confirm or decline requests from the command line. Emails and
    /// calendar writes are delivered by the running adapter (or at its next start).
    Requests {
        /// The practice's configuration file.
        #[arg(long, env = "FIRSTSTEP_CONFIG")]
        config: PathBuf,
        /// SQLite file or postgres:// URL the bookings are in; overrides the file's `server.store`.
        #[arg(long, env = "FIRSTSTEP_STORE")]
        store: Option<String>,
        #[command(flatten)]
        practice: PracticeArg,
        #[command(subcommand)]
        action: RequestAction,
    },
    /// See or erase what is stored about a visitor (their right of access
    /// and erasure).
    Visitor {
        #[command(subcommand)]
        action: VisitorAction,
    },
    /// Grant the adapter access to the practice's calendar account: prints
    /// an address to open in a browser (Microsoft: and a code to enter
    /// there), then stores the token in the configuration's `token_file`.
    Connect {
        service: ConnectService,
        /// The practice's configuration file.
        #[arg(long, env = "FIRSTSTEP_CONFIG")]
        config: PathBuf,
        /// A clinician's own calendar (`[clinicians.calendar]`), by their id,
        /// instead of the practice's `[calendar]`.
        #[arg(long)]
        clinician: Option<String>,
    },
    /// Copy the store, consistently, while the adapter serves.
    Backup {
        #[command(flatten)]
        store: StoreArgs,
        /// The file to write the copy to.
        #[arg(long)]
        to: PathBuf,
        /// Replace FILE if it exists (only once the new copy is complete).
        #[arg(long)]
        overwrite: bool,
    },
}

/// Where the store is: the configuration's `server.store`, or `--store`.
#[derive(Args)]
struct StoreArgs {
    /// The practice's configuration file.
    #[arg(long, env = "FIRSTSTEP_CONFIG")]
    config: PathBuf,
    /// SQLite file or postgres:// URL the bookings are in; overrides the file's `server.store`.
    #[arg(long, env = "FIRSTSTEP_STORE")]
    store: Option<String>,
    #[command(flatten)]
    practice: PracticeArg,
}

/// Which practice's bookings, in a store of several.
#[derive(Args)]
struct PracticeArg {
    /// The practice's id when it is served from a `--config-dir` (its
    /// file's name without `.toml`); without it, the one practice of a `--config`.
    #[arg(long = "practice", env = "FIRSTSTEP_PRACTICE")]
    id: Option<String>,
}

impl PracticeArg {
    /// `store`'s handle for this practice, said on stderr (stdout may be
    /// JSON): a folder's file without `--practice` would act on no practice
    /// of the folder, and say nothing else of it.
    fn of(
        &self,
        store: firststep_adapter::store::Store,
    ) -> anyhow::Result<firststep_adapter::store::Store> {
        let Some(id) = &self.id else {
            eprintln!(
                "practice: the one of --config alone (a practice served from a \
                 --config-dir is named with --practice ID)"
            );
            return Ok(store);
        };
        firststep_adapter::practices::check_id(id)
            .map_err(|message| anyhow::anyhow!("--practice {id:?}: {message}"))?;
        eprintln!("practice: {id}");
        Ok(store.for_practice(id))
    }
}

impl StoreArgs {
    /// The store, which must exist already, for the practice.
    fn open(self) -> anyhow::Result<firststep_adapter::store::Store> {
        let practice = PracticeArg {
            id: self.practice.id.clone(),
        };
        practice.of(firststep_adapter::store::Store::open(&self.location()?)?)
    }

    /// The store, which must exist already.
    fn location(self) -> anyhow::Result<StoreLocation> {
        let settings = Settings::load(&self.config)?;
        let location = store_location(self.store, &settings)?;
        if let StoreLocation::Sqlite(path) = &location {
            anyhow::ensure!(path.is_file(), "there is no store at {}", path.display());
        }
        Ok(location)
    }

    /// The SQLite store's file, for what only SQLite has (a file to copy).
    fn path(self) -> anyhow::Result<PathBuf> {
        match self.location()? {
            StoreLocation::Sqlite(path) => Ok(path),
            StoreLocation::Postgres(_) => {
                anyhow::bail!(
                    "backup copies a SQLite store; back a PostgreSQL store up with its own tools: \
                     pg_dump --format=custom (a consistent copy while the adapter serves), \
                     restored with pg_restore"
                )
            }
        }
    }
}

/// Where the store is: `--store` (or `FIRSTSTEP_STORE`) when given, read as
/// `server.store` is; else the file's. Not
/// parsed by clap, whose errors repeat the value (a URL's password).
fn store_location(given: Option<String>, settings: &Settings) -> anyhow::Result<StoreLocation> {
    match given {
        Some(text) => store_location_given(&text),
        None => Ok(settings.server.store.clone()),
    }
}

/// `--store` as given.
fn store_location_given(text: &str) -> anyhow::Result<StoreLocation> {
    StoreLocation::parse(text).map_err(|message| anyhow::anyhow!("--store {message}"))
}

/// `check-config --config-dir`: each practice file as `serve --config-dir`
/// reads it, every problem printed.
fn check_dir(dir: &std::path::Path) -> ExitCode {
    let folder = match firststep_adapter::practices::read_dir(dir, None) {
        Ok(folder) => folder,
        Err(problem) => {
            eprintln!("{problem}");
            return ExitCode::FAILURE;
        }
    };
    let problems = folder.problems();
    let mut failed = !problems.is_empty();
    for problem in problems {
        eprintln!("{problem}");
    }
    let files = folder.files;
    for file in &files {
        if let Err(error) = check_calendar(&file.settings) {
            eprintln!("{}/{}.toml: {error}", dir.display(), file.id);
            failed = true;
        }
    }
    if failed {
        return ExitCode::FAILURE;
    }
    if files.is_empty() {
        eprintln!(
            "{}: no practice in it (a file {{id}}.toml each)",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    println!("{}: ok ({} practice(s))", dir.display(), files.len());
    ExitCode::SUCCESS
}

/// The calendar services `connect` knows.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ConnectService {
    Google,
    Microsoft,
}

#[derive(Subcommand)]
enum VisitorAction {
    /// Print everything stored about a visitor, as JSON: their bookings with
    /// every stored field, and the outbox items about them.
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// Their email address (letters compared without regard to case).
        #[arg(long)]
        email: String,
    },
    /// Erase a visitor: personal fields of all their bookings; their pending
    /// requests and bookings to come are cancelled and calendar holds released
    /// (delivered by the running adapter, or at its next start).
    Erase {
        #[command(flatten)]
        store: StoreArgs,
        /// Their email address (letters compared without regard to case).
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum RequestAction {
    /// The requests waiting for an answer, soonest first, then what the
    /// outbox set aside because it could not succeed.
    List,
    /// Confirm a request.
    Confirm { id: String },
    /// Decline a request (the visitor is told kindly, the time is offered again).
    Decline { id: String },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::CheckConfig {
            config_dir: Some(dir),
            ..
        } => check_dir(&dir),
        Command::CheckConfig { file: None, .. } => ExitCode::FAILURE,
        Command::CheckConfig {
            file: Some(file), ..
        } => match Settings::load(&file) {
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
            practice,
            action,
        } => match requests(&config, store, &practice, action) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("firststep-adapter: {error:#}");
                ExitCode::FAILURE
            }
        },
        Command::Visitor { action } => exit_with(visitor(action)),
        Command::Connect {
            service,
            config,
            clinician,
        } => exit_with(connect(service, &config, clinician.as_deref())),
        Command::Backup {
            store,
            to,
            overwrite,
        } => exit_with(store.path().and_then(|store| {
            let report = firststep_adapter::store::backup(&store, &to, overwrite)?;
            println!(
                "{}: {} booking(s), {} bytes; passes SQLite's integrity check",
                to.display(),
                report.bookings,
                report.bytes
            );
            Ok(())
        })),
        Command::Serve {
            config,
            config_dir,
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
                // Colours for a person at a terminal, not for journald or a file.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .finish()
                // Apart from FIRSTSTEP_LOG, which cannot widen it.
                .with(tracing_subscriber::filter::filter_fn(
                    no_database_client_detail,
                ))
                .init();
            if let Some(dir) = config_dir {
                let overrides = match store.map(|s| store_location_given(&s)).transpose() {
                    Ok(store) => firststep_adapter::practices::ServerOverrides { listen, store },
                    Err(error) => {
                        eprintln!("firststep-adapter: {error:#}");
                        return ExitCode::FAILURE;
                    }
                };
                return exit_with(serve_practices(dir, overrides));
            }
            let Some(config) = config else {
                return ExitCode::FAILURE;
            };
            let mut settings = match Settings::load(&config) {
                Ok(settings) => settings,
                Err(error) => {
                    eprintln!("{error}");
                    return ExitCode::FAILURE;
                }
            };
            settings.server.listen = listen.unwrap_or(settings.server.listen);
            settings.server.store = match store_location(store, &settings) {
                Ok(location) => location,
                Err(error) => {
                    eprintln!("firststep-adapter: {error:#}");
                    return ExitCode::FAILURE;
                }
            };
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

fn exit_with(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("firststep-adapter: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn visitor(action: VisitorAction) -> anyhow::Result<()> {
    let (VisitorAction::Export { email, .. } | VisitorAction::Erase { email, .. }) = &action;
    anyhow::ensure!(
        email.trim().contains('@'),
        "--email must be an email address, like sam@example.org"
    );
    match action {
        VisitorAction::Export { store, email } => {
            let store = store.open()?;
            let export = store.visitor_export(&email)?;
            // Often piped (`| less`, `| head`): a reader that stops early is no error.
            let json = serde_json::to_string_pretty(&export)?;
            match writeln!(std::io::stdout().lock(), "{json}") {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(error.into())
                }
                _ => {}
            }
        }
        VisitorAction::Erase { store, email } => {
            let store = store.open()?;
            let erased = store.erase_visitor(&email, Clock::system().now())?;
            println!(
                "Erased {} booking(s); {} cancelled with their calendar holds released; {} unsent email(s) dropped.",
                erased.bookings, erased.cancelled, erased.mails_dropped
            );
        }
    }
    Ok(())
}

fn requests(
    config: &std::path::Path,
    store: Option<String>,
    practice: &PracticeArg,
    action: RequestAction,
) -> anyhow::Result<()> {
    use firststep_adapter::mail::compose::{when, Language};
    use firststep_adapter::store::{Answer, Answered, Store};

    let settings = Settings::load(config)?;
    let store = practice.of(Store::open(&store_location(store, &settings)?)?)?;
    let now = Clock::system().now();
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
                // In a group practice, whom it is with.
                let with = request
                    .clinician
                    .as_deref()
                    .map(|id| {
                        let name = settings.practice.clinician(id).map_or(id, |c| &c.name);
                        format!("  with {name}")
                    })
                    .unwrap_or_default();
                println!(
                    "{}  {}{with}  {} <{}>  (expires {expires})",
                    request.id,
                    when(request.slot.start, zone, Language::English),
                    request.visitor.name,
                    request.visitor.email
                );
            }
            // What the outbox gave up on: the practice may need to act by hand.
            let set_aside = store.set_aside_deliveries()?;
            if !set_aside.is_empty() {
                println!("\nSet aside, will not be retried (they could not succeed):");
            }
            for item in set_aside {
                println!(
                    "{}  {}  after {} tries on {}: {}",
                    item.booking_id,
                    item.action,
                    item.attempts,
                    when(item.set_aside_at, zone, Language::English),
                    item.last_error.as_deref().unwrap_or("no reason recorded")
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
        // Not asked for a version: the current one is answered.
        Answered::NotFound | Answered::Moved => anyhow::bail!("there is no request {id}"),
    }
    Ok(())
}

/// Grants access to the configured calendar account and stores the
/// refresh token (0600) where the configuration says.
/// `clinician`: their own calendar instead of the practice's.
#[tokio::main]
async fn connect(
    service: ConnectService,
    config: &std::path::Path,
    clinician: Option<&str>,
) -> anyhow::Result<()> {
    let settings = Settings::load(config)?;
    let (calendar, section) = match clinician {
        None => (&settings.calendar, "[calendar]".to_owned()),
        Some(id) => {
            let Some(own) = settings.practice.clinician(id) else {
                anyhow::bail!("{}: there is no clinician \"{id}\"", config.display());
            };
            let Some(calendar) = &own.calendar else {
                anyhow::bail!(
                    "{}: clinician \"{id}\" has no [clinicians.calendar] of their own",
                    config.display()
                );
            };
            (
                calendar,
                format!("clinician \"{id}\"'s [clinicians.calendar]"),
            )
        }
    };
    let place = format!("{}: {section}", config.display());
    match service {
        ConnectService::Google => connect_google(calendar, &place).await,
        ConnectService::Microsoft => connect_microsoft(calendar, &place).await,
    }
}

/// The installed-app consent: prints the address, waits for the browser's
/// return on 127.0.0.1. `place` names the calendar's section, for errors.
async fn connect_google(
    calendar: &firststep_adapter::config::CalendarSettings,
    place: &str,
) -> anyhow::Result<()> {
    use firststep_adapter::calendar::oauth::{Consent, Grant, InstalledClient};
    use firststep_adapter::config::CalendarSettings;

    let CalendarSettings::Google(google) = calendar else {
        anyhow::bail!("{place} backend is not \"google\"");
    };
    let Grant::RefreshToken {
        client_id,
        client_secret: Some(client_secret),
        token_file,
    } = &google.grant
    else {
        anyhow::bail!(
            "{place}: a service account needs no connect: share the calendar with its address instead"
        );
    };
    let client = InstalledClient {
        auth_url: &google.auth_url,
        token_url: &google.token_url,
        client_id,
        client_secret,
        scope: firststep_adapter::calendar::google::SCOPE,
    };
    let consent = Consent::begin(&client).await?;
    println!(
        "Open this address in a browser on this computer and allow access to the calendar:\n\n{}\n",
        consent.url
    );
    println!("Waiting for the browser (up to 10 minutes)…");
    consent
        .finish(&client, token_file, std::time::Duration::from_secs(600))
        .await?;
    println!(
        "Connected. The token is in {} (readable by this user only).",
        token_file.display()
    );
    Ok(())
}

/// The device-code sign-in: prints the address and the code to enter
/// there (on any device), then waits until the practice has signed in.
async fn connect_microsoft(
    calendar: &firststep_adapter::config::CalendarSettings,
    place: &str,
) -> anyhow::Result<()> {
    use firststep_adapter::calendar::microsoft;
    use firststep_adapter::calendar::oauth::{DeviceClient, DeviceCode, Grant};
    use firststep_adapter::config::CalendarSettings;

    let CalendarSettings::Microsoft(graph) = calendar else {
        anyhow::bail!("{place} backend is not \"microsoft\"");
    };
    let Grant::RefreshToken {
        client_id,
        token_file,
        ..
    } = &graph.grant
    else {
        anyhow::bail!(
            "{place}: a tenant's app (client secret) needs no connect: an admin grants it Calendars.ReadWrite instead"
        );
    };
    let (device_url, token_url) = (
        microsoft::device_url(&graph.authority, &graph.tenant),
        microsoft::token_url(&graph.authority, &graph.tenant),
    );
    let client = DeviceClient {
        device_url: &device_url,
        token_url: &token_url,
        client_id,
        scope: microsoft::DELEGATED_SCOPE,
    };
    let code = DeviceCode::begin(&client).await?;
    println!(
        "On any device, open this address, enter the code, and sign in with the practice's Microsoft account:\n\n{}\nCode: {}\n",
        code.verification_uri, code.user_code
    );
    println!("Waiting for the sign-in…");
    code.finish(&client, token_file).await?;
    println!(
        "Connected. The token is in {} (readable by this user only).",
        token_file.display()
    );
    Ok(())
}

/// Asks each configured calendar (the practice's, each clinician's own)
/// whether it answers and takes the credentials.
#[tokio::main]
async fn check_calendar(settings: &Settings) -> Result<(), String> {
    use firststep_adapter::startup::{calendar_from, calendars};
    for (clinician, calendar) in calendars(settings) {
        let checked = calendar_from(calendar, settings.practice.zone)
            .check()
            .await;
        checked.map_err(|error| match clinician {
            Some(id) => format!("the calendar of clinician \"{id}\": {error}"),
            None => error.to_string(),
        })?;
    }
    Ok(())
}

#[tokio::main]
async fn serve(settings: Settings) -> anyhow::Result<()> {
    let demo = settings.server.demo_dir.is_some();
    let app = Application::build(settings).await?;
    let stop = stop_asked();
    let address = app.address();
    if demo {
        println!("First Step demo practice page: http://{address}/");
    }
    println!("First Step adapter listening on http://{address} (Ctrl-C to stop)");
    app.run_until_stopped(stop).await
}

#[tokio::main]
async fn serve_practices(
    dir: PathBuf,
    overrides: firststep_adapter::practices::ServerOverrides,
) -> anyhow::Result<()> {
    // Listened for before the practices start (calendar checks, migrations
    // take a while): SIGHUP's default ends the process. One that comes
    // meanwhile is kept, and read once they serve.
    #[cfg(unix)]
    let hangups = {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::hangup()).map_err(|e| anyhow::anyhow!("listening for SIGHUP: {e}"))?
    };
    let app = Application::build_practices(&dir, overrides, Clock::system()).await?;
    #[cfg(unix)]
    if let Some(practices) = app.practices() {
        tokio::spawn(reload_on_hangup(hangups, practices));
    }
    let stop = stop_asked();
    println!(
        "First Step adapter listening on http://{} for the practices of {} (Ctrl-C to stop)",
        app.address(),
        dir.display()
    );
    app.run_until_stopped(stop).await
}

/// Reads the practices' folder again at each SIGHUP.
#[cfg(unix)]
async fn reload_on_hangup(
    mut hangups: tokio::signal::unix::Signal,
    practices: std::sync::Arc<firststep_adapter::practices::Practices>,
) {
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP: reading the practices again");
        practices.reload().await;
    }
}

/// Completes at the first SIGTERM (how systemd, Docker and Kubernetes stop a
/// service) or SIGINT (Ctrl-C) from its call on. Called before the adapter
/// says it listens: until a handler is installed, such a signal ends the
/// process at once, or is lost where the parent ignores it (a background
/// job's shell does), and the adapter runs on.
fn stop_asked() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let listened = signal(SignalKind::terminate())
            .and_then(|terminate| Ok((terminate, signal(SignalKind::interrupt())?)));
        async move {
            match listened {
                Ok((mut terminate, mut interrupt)) => tokio::select! {
                    _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
                    _ = interrupt.recv() => tracing::info!("SIGINT: stopping"),
                },
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops cleanly");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Whether a log event or span is not the PostgreSQL client's below
/// `info`: it logs each statement's parameters at `debug` (visitors' names
/// and emails), and no `FIRSTSTEP_LOG` may bring them out.
fn no_database_client_detail(event: &tracing::Metadata<'_>) -> bool {
    let target = event.target();
    let of_the_client = ["tokio_postgres", "postgres"].iter().any(|client| {
        target
            .strip_prefix(client)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    });
    !of_the_client || *event.level() <= tracing::Level::INFO
}
