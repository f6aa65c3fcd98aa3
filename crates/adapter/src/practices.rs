//! Many practices in one process: `serve --config-dir DIR` serves each
//! `DIR/{id}.toml` under `/p/{id}/` — its API (`/p/{id}/v1/…`), pages,
//! feed and the links its emails carry — over one store, where each
//! practice's rows are kept apart by its id (`Store::for_practice`).
//!
//! - The file name is the practice's id ([`check_id`]); other files (not
//!   `*.toml`, or hidden) are passed over.
//! - Each file is checked as `check-config` checks it; a broken one stops
//!   the start, with every problem at its line.
//! - The server's settings (`[server]`: listen, store, proxies, metrics,
//!   limits) are one for the process: every file's `[server]` must be the
//!   same (files made from one template are), `--listen` and `--store`
//!   apply to all. `server.allowed_origins` is the practice's own: the
//!   sites its widget is on.
//! - SIGHUP ([`Practices::reload`]) reads the folder again: a practice added
//!   starts, one changed switches, one removed answers 404; a file now
//!   broken is refused (its problems logged) and its old version serves on.
//!   A folder unreadable, or without a practice file, stops no practice.
//!   Requests under way finish on the version they began with.
//! - Each file is read once, bounded, on a blocking thread; one that is not
//!   a regular file (a FIFO) is refused unread.
//! - Background work is shared, so idle practices cost next to nothing:
//!   one outbox round claims due items of the practices served (never
//!   another's, nor let another's crowd them out) and delivers each with
//!   its practice's settings; one housekeeping round a minute goes
//!   through the practices (retention, reminders due, the outbox's age).
//!   Each calendar's busy time is refreshed on its own interval.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::clock::Clock;
use crate::config::{read_config, ServerSettings, Settings};
use crate::error::ApiError;
use crate::startup::{Practice, HOUSEKEEPING_ROUND, OUTBOX_ROUND};
use crate::store::{Delivery, Store, StoreLocation};

/// The longest practice id.
const MAX_ID_LENGTH: usize = 64;

/// Whether `id` (a file's name without `.toml`) may name a practice: 1 to
/// 64 of `a-z`, `0-9` and `-`, neither first nor last a `-`. It is a path
/// segment of every address the practice serves, and its rows' mark.
pub fn check_id(id: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if id.is_empty()
        || id.len() > MAX_ID_LENGTH
        || !id.chars().all(allowed)
        || id.starts_with('-')
        || id.ends_with('-')
    {
        return Err(format!(
            "the file's name is the practice's id, in its addresses (/p/{{id}}/): \
             1 to {MAX_ID_LENGTH} of a-z, 0-9 and '-', not first or last"
        ));
    }
    Ok(())
}

/// What the command line says of the server for every practice.
#[derive(Debug, Clone, Default)]
pub struct ServerOverrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--store`.
    pub store: Option<StoreLocation>,
}

/// A practice file's `[server]` table (without `allowed_origins`, each
/// practice's own), which every file served must share.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerTable(Option<toml::Value>);

/// One practice file, read and checked.
pub struct PracticeFile {
    pub id: String,
    /// The file's text, to tell a changed file at a reload.
    pub text: String,
    pub settings: Settings,
    server_table: ServerTable,
}

/// A folder of practice files, read.
#[derive(Default)]
pub struct Folder {
    /// The files that passed, in the order of their ids.
    pub files: Vec<PracticeFile>,
    /// The files refused, by their practice's id: what is wrong with each
    /// (as `check-config` says it, `file:line: …`).
    pub refused: BTreeMap<String, String>,
    /// What names no practice: a file's name not an id, an entry that could
    /// not be read.
    pub unnamed: Vec<String>,
    /// Whether every entry could be read: only then is a practice whose file
    /// is not listed gone.
    pub whole: bool,
}

impl Folder {
    /// Every problem, the unnamed first, then by id.
    pub fn problems(&self) -> Vec<String> {
        let refused = self.refused.values().cloned();
        self.unnamed.iter().cloned().chain(refused).collect()
    }
}

/// Each `*.toml` of `dir` as a practice file, and what is wrong with the
/// others: a bad name, not a regular file, a problem of its content, a
/// `[server]` unlike `server` (the running one's; at the start, `None`:
/// the first file's). Blocking: run it aside ([`read_dir_aside`]). The
/// folder itself unreadable is `Err`.
pub fn read_dir(dir: &Path, server: Option<&ServerTable>) -> Result<Folder, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("{}: cannot read the folder: {error}", dir.display()))?;
    let mut folder = Folder {
        whole: true,
        ..Folder::default()
    };
    let mut paths = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => paths.push(entry.path()),
            Err(error) => {
                folder.whole = false;
                folder.unnamed.push(format!(
                    "{}: an entry cannot be read: {error}",
                    dir.display()
                ));
            }
        }
    }
    paths.retain(|path| {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        !name.starts_with('.') && path.extension().is_some_and(|e| e == "toml")
    });
    paths.sort();
    for path in paths {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if let Err(message) = check_id(stem) {
            folder
                .unnamed
                .push(format!("{}: {message}", path.display()));
            continue;
        }
        match read_file(&path, stem) {
            Ok(file) => folder.files.push(file),
            Err(problem) => {
                folder.refused.insert(stem.to_owned(), problem);
            }
        }
    }
    let (shared, whose) = match (server, folder.files.first()) {
        (Some(running), _) => (
            running.clone(),
            "the running one's: the server's settings change only at a restart".to_owned(),
        ),
        (None, Some(first)) => (
            first.server_table.clone(),
            format!(
                "{}.toml's: the server's settings are one for every practice",
                first.id
            ),
        ),
        (None, None) => return Ok(folder),
    };
    let (same, different): (Vec<_>, Vec<_>) = std::mem::take(&mut folder.files)
        .into_iter()
        .partition(|file| file.server_table == shared);
    folder.files = same;
    for file in different {
        let problem = format!(
            "{}: [server] differs from {whose}",
            dir.join(format!("{}.toml", file.id)).display()
        );
        folder.refused.insert(file.id, problem);
    }
    Ok(folder)
}

/// [`read_dir`] on a thread for blocking work: a slow disk holds up no request.
pub async fn read_dir_aside(dir: &Path, server: Option<ServerTable>) -> Result<Folder, String> {
    let owned = dir.to_owned();
    tokio::task::spawn_blocking(move || read_dir(&owned, server.as_ref()))
        .await
        .unwrap_or_else(|error| Err(format!("{}: reading the folder: {error}", dir.display())))
}

/// The practice file at `path`, read once (bounded) and checked.
fn read_file(path: &Path, id: &str) -> Result<PracticeFile, String> {
    let shown = path.display();
    // A FIFO or a device would block the read, or never end.
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Err(format!("{shown}: not a regular file")),
        Err(error) => return Err(format!("{shown}: cannot read the file: {error}")),
    }
    let text = read_config(path).map_err(|error| error.to_string())?;
    let settings = Settings::from_file_text(&text, path).map_err(|error| error.to_string())?;
    let mut server_table = text
        .parse::<toml::Table>()
        .map_err(|e| format!("{shown}: {e}"))?
        .remove("server");
    // Each practice's own site: not a setting of the server.
    if let Some(toml::Value::Table(server)) = &mut server_table {
        server.remove("allowed_origins");
    }
    Ok(PracticeFile {
        id: id.to_owned(),
        text,
        settings,
        server_table: ServerTable(server_table),
    })
}

/// A practice being served: its router (its own state inside) and the
/// tasks keeping its busy time fresh, ended with it.
pub struct Served {
    text: String,
    practice: Practice,
    router: Router,
    refreshers: Vec<JoinHandle<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.refreshers.iter().for_each(JoinHandle::abort);
    }
}

/// Every practice served, by id; swapped whole at a reload.
type ById = HashMap<String, Arc<Served>>;

/// The practices of one `--config-dir`.
pub struct Practices {
    dir: PathBuf,
    server: ServerSettings,
    /// The `[server]` the files share; a file changed to another is refused.
    server_table: ServerTable,
    /// The store of every practice (each served with its own handle).
    store: Store,
    clock: Clock,
    /// Woken by any practice's change: the one outbox worker delivers.
    wake: Arc<Notify>,
    by_id: RwLock<Arc<ById>>,
    stopping: AtomicBool,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
}

/// What a reload did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reload {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// Each file refused, with its problems (the old version, if any, serves on).
    pub refused: Vec<String>,
}

impl Practices {
    /// Reads `dir` and starts each practice in it; any problem stops the start.
    pub async fn start(
        dir: &Path,
        overrides: ServerOverrides,
        clock: Clock,
    ) -> anyhow::Result<Arc<Self>> {
        let folder = read_dir_aside(dir, None)
            .await
            .map_err(anyhow::Error::msg)?;
        let problems = folder.problems();
        anyhow::ensure!(problems.is_empty(), "{}", problems.join("\n"));
        let files = folder.files;
        let Some(first) = files.first() else {
            anyhow::bail!(
                "{}: no practice in it (a file {{id}}.toml each)",
                dir.display()
            );
        };
        let mut server = first.settings.server.clone();
        if let Some(listen) = &overrides.listen {
            server.listen.clone_from(listen);
        }
        if let Some(store) = &overrides.store {
            server.store = store.clone();
        }
        let practices = Arc::new(Self {
            dir: dir.to_owned(),
            server_table: first.server_table.clone(),
            store: Store::open(&server.store)?,
            server,
            clock,
            wake: Arc::new(Notify::new()),
            by_id: RwLock::default(),
            stopping: AtomicBool::new(false),
            reloading: tokio::sync::Mutex::new(()),
        });
        let mut by_id = ById::new();
        for file in files {
            let id = file.id.clone();
            let served = practices
                .serve(file)
                .await
                .with_context(|| format!("starting the practice {id}"))?;
            by_id.insert(id, Arc::new(served));
        }
        tracing::info!(practices = by_id.len(), "practices started");
        *practices.by_id.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(by_id);
        Ok(practices)
    }

    /// The server's settings, one for every practice.
    pub fn server(&self) -> &ServerSettings {
        &self.server
    }

    /// The practices served now.
    fn current(&self) -> Arc<ById> {
        self.by_id.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The ids served now, in order.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.current().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Starts `file`'s practice: its settings on the server's, its links
    /// under `/p/{id}`, its handle to the store.
    async fn serve(&self, file: PracticeFile) -> anyhow::Result<Served> {
        let PracticeFile {
            id,
            text,
            mut settings,
            ..
        } = file;
        let base_path = format!("/p/{id}");
        let origins = std::mem::take(&mut settings.server.allowed_origins);
        settings.server = ServerSettings {
            allowed_origins: origins,
            ..self.server.clone()
        };
        if let Some(mail) = &mut settings.mail {
            mail.public_url = format!("{}{base_path}", mail.public_url.trim_end_matches('/'));
        }
        let store = self.store.for_practice(&id);
        let wake = Some(self.wake.clone());
        let practice =
            Practice::start(settings, store, &base_path, wake, self.clock.clone()).await?;
        let refreshers = practice.spawn_refreshers(&self.clock);
        let router = crate::routes::router(practice.state.clone());
        Ok(Served {
            text,
            practice,
            router,
            refreshers,
        })
    }

    /// Reads the folder again (on SIGHUP): practices added start, changed
    /// ones switch, removed ones stop; a file refused leaves its practice as
    /// it was. Requests under way finish on the version they began with.
    pub async fn reload(&self) -> Reload {
        let _one_at_a_time = self.reloading.lock().await;
        let server = Some(self.server_table.clone());
        let folder = match read_dir_aside(&self.dir, server).await {
            Ok(folder) if !folder.files.is_empty() || !folder.refused.is_empty() => folder,
            // Nothing to go by: a practice is never stopped for it.
            Ok(folder) => {
                let empty = format!(
                    "{}: no practice file in it; the practices served are left as they are",
                    self.dir.display()
                );
                return Self::said(Reload {
                    refused: [folder.unnamed, vec![empty]].concat(),
                    ..Reload::default()
                });
            }
            Err(unreadable) => {
                return Self::said(Reload {
                    refused: vec![format!(
                        "{unreadable}; the practices served are left as they are"
                    )],
                    ..Reload::default()
                })
            }
        };
        let mut report = Reload {
            refused: folder.problems(),
            ..Reload::default()
        };
        let before = self.current();
        let mut after = ById::new();
        for file in folder.files {
            let id = file.id.clone();
            if let Some(old) = before.get(&id).filter(|old| old.text == file.text) {
                after.insert(id, old.clone());
                continue;
            }
            match self.serve(file).await {
                Ok(served) => {
                    match before.contains_key(&id) {
                        true => report.changed.push(id.clone()),
                        false => report.added.push(id.clone()),
                    }
                    after.insert(id, Arc::new(served));
                }
                Err(error) => {
                    report.refused.push(format!("{id}: {error:#}"));
                    if let Some(old) = before.get(&id) {
                        after.insert(id, old.clone());
                    }
                }
            }
        }
        // A practice stops only when its file is gone from a folder read
        // whole; a file refused keeps its old version serving.
        for (id, old) in before.iter() {
            let gone = folder.whole && !folder.refused.contains_key(id);
            if !gone && !after.contains_key(id) {
                after.insert(id.clone(), old.clone());
            }
        }
        report.removed = before
            .keys()
            .filter(|id| !after.contains_key(*id))
            .cloned()
            .collect();
        for list in [&mut report.added, &mut report.changed, &mut report.removed] {
            list.sort();
        }
        *self.by_id.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(after);
        Self::said(report)
    }

    /// Logs what a reload did.
    fn said(report: Reload) -> Reload {
        for problem in &report.refused {
            tracing::error!(problem, "reload: refused; what it names is left as it was");
        }
        tracing::info!(
            added = report.added.len(),
            changed = report.changed.len(),
            removed = report.removed.len(),
            refused = report.refused.len(),
            "practices reloaded"
        );
        report
    }

    /// Every practice's routes under `/p/{id}/`; an id not served is 404.
    pub fn router(self: Arc<Self>) -> Router {
        // What no practice answers, in the request log as each practice's
        // own routes log theirs.
        let unserved = Router::new()
            .route("/healthz", get(health))
            .fallback(not_served)
            .layer(axum::middleware::from_fn(crate::routes::log_request))
            .with_state(self.clone());
        Router::new()
            .fallback(dispatch)
            .with_state((self, unserved))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
    }

    /// Serves on `listener` until `shutdown`, with the shared background
    /// rounds; then lets the requests under way and the delivery being made
    /// finish, as one practice's server does.
    pub async fn run_until_stopped(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let worker = self.clone().spawn_outbox();
        let housekeeping = self.clone().spawn_housekeeping();
        let limits = self.server.connections.clone();
        let stopping = self.clone();
        let shutdown = async move {
            shutdown.await;
            stopping.stop();
        };
        crate::connections::serve(listener, self.clone().router(), limits, shutdown).await;
        housekeeping.abort();
        crate::startup::wait_for_outbox(worker).await;
        // The practices' refreshers end with them.
        *self.by_id.write().unwrap_or_else(|p| p.into_inner()) = Arc::default();
        Ok(())
    }

    /// Tells the outbox to end after the delivery under way.
    fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        for served in self.current().values() {
            served.practice.state.outbox.stop();
        }
        self.wake.notify_one();
    }

    /// One outbox round for every practice: requests lapsed expire, due
    /// items are claimed whoever's they are, and each practice's are
    /// delivered by its own outbox (its calendars, mail, links), the
    /// practices side by side, so one whose server stalls holds none of the
    /// others'; the items of a practice no longer served are let go.
    pub async fn deliver_due(&self) -> usize {
        let now = self.clock.now();
        // One end for the whole round: its items share one lease.
        let until = tokio::time::Instant::now() + crate::outbox::LIMITS.round;
        let due = crate::outbox::take_due(&self.store, now, self.ids()).await;
        let mut by_practice: HashMap<String, Vec<Delivery>> = HashMap::new();
        for delivery in due {
            by_practice
                .entry(delivery.practice.clone())
                .or_default()
                .push(delivery);
        }
        let served = self.current();
        let mut rounds = tokio::task::JoinSet::new();
        for (id, items) in by_practice {
            let (served, store) = (served.get(&id).cloned(), self.store.clone());
            rounds.spawn(async move {
                let Some(practice) = served else {
                    if let Err(e) = store.call(move |s| s.let_go(&items)).await {
                        tracing::error!(error = format!("{e:#}"), "letting outbox items go");
                    }
                    return 0;
                };
                let outbox = &practice.practice.state.outbox;
                outbox.deliver_each(items, now, until).await
            });
        }
        let mut delivered = 0;
        while let Some(done) = rounds.join_next().await {
            match done {
                Ok(count) => delivered += count,
                // One practice's panic is its round's end, not the others'.
                Err(error) => tracing::error!(error = %error, "a practice's outbox round failed"),
            }
        }
        delivered
    }

    fn spawn_outbox(self: Arc<Self>) -> JoinHandle<()> {
        let mut clock = self.clock.clone();
        tokio::spawn(async move {
            while !self.stopping.load(Ordering::Relaxed) {
                let practices = self.clone();
                crate::background::round("outbox deliveries", async move {
                    practices.deliver_due().await
                })
                .await;
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(OUTBOX_ROUND) => {}
                    _ = clock.jumped() => {}
                }
            }
        })
    }

    /// One housekeeping round: each practice's retention (and idempotency
    /// records expired), reminders due and outbox age.
    pub async fn keep_house(&self) {
        let now = self.clock.now();
        for (id, served) in self.current().iter() {
            let state = &served.practice.state;
            state.outbox.queue_reminders(now).await;
            let retention = Duration::days(state.settings.privacy.retention_days.into());
            if let Err(error) = crate::housekeeping::round(&state.store, retention, now).await {
                tracing::error!(
                    practice = id,
                    error = format!("{error:#}"),
                    "housekeeping round"
                );
            }
        }
    }

    fn spawn_housekeeping(self: Arc<Self>) -> JoinHandle<()> {
        let mut clock = self.clock.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(HOUSEKEEPING_ROUND);
            loop {
                crate::background::next_tick(&mut ticks, &mut clock).await;
                let practices = self.clone();
                crate::background::round(
                    "housekeeping",
                    async move { practices.keep_house().await },
                )
                .await;
            }
        })
    }
}

/// `GET /healthz`: the process serves and the store takes writes (each
/// practice's calendars: `/p/{id}/healthz`).
async fn health(State(practices): State<Arc<Practices>>) -> (axum::http::StatusCode, &'static str) {
    match practices.store.call(|s| s.check_writable()).await {
        Ok(()) => (axum::http::StatusCode::OK, "ok"),
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "health check: store not writable"
            );
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "store not writable",
            )
        }
    }
}

/// A request's practice id and the rest of its path: `/p/{id}/…`.
fn practice_of(uri: &Uri) -> Option<(&str, &str)> {
    let tail = uri.path().strip_prefix("/p/")?;
    Some(match tail.find('/') {
        Some(at) => tail.split_at(at),
        None => (tail, "/"),
    })
}

/// What no practice served answers: 404 problem+json.
async fn not_served(uri: Uri) -> ApiError {
    match practice_of(&uri) {
        Some(_) => ApiError::UnknownPractice,
        None => ApiError::UnknownRoute,
    }
}

/// `/p/{id}/…`: the request, its path without `/p/{id}`, to the practice's
/// own routes; anything else to `unserved` (`/healthz`, 404s).
async fn dispatch(
    State((practices, unserved)): State<(Arc<Practices>, Router)>,
    mut request: Request,
) -> Response {
    let uri = request.uri();
    let served = practice_of(uri).and_then(|(id, rest)| {
        let served = practices.current().get(id).cloned()?;
        Some((served, rest))
    });
    let Some((served, rest)) = served else {
        return match unserved.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    };
    let path_and_query = match uri.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    match path_and_query.parse::<Uri>() {
        Ok(inner) => *request.uri_mut() = inner,
        Err(_) => return ApiError::UnknownRoute.into_response(),
    }
    match served.router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::check_id;

    #[test]
    fn practice_ids_are_lowercase_letters_digits_and_inner_dashes() {
        for good in ["a", "riverside-counselling", "dr-2", &"x".repeat(64)] {
            assert_eq!(check_id(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "Riverside",
            "river side",
            "-a",
            "a-",
            "a.b",
            "a/b",
            "é",
            &"x".repeat(65),
        ] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }
}
