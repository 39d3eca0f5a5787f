//! `loa run`: the long-running service around the engine — one instance per `data_dir` (a lock
//! file), a debounced watch of the posts folder, the periodic jobs, and a clean stop on
//! SIGINT/SIGTERM.
//!
//! An idle service does not wake: the watcher blocks in the kernel, the debounce sleeps only
//! while events are pending, and each periodic job sleeps until its next due time.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use std::collections::BTreeSet;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::channel::Channel;
use crate::channels::{Channels, Secrets};
use crate::config::Config;
use crate::engine::{Clock, Engine};
use crate::publisher::Publisher;

/// An enabled channel loa cannot send to now, and why (the registry's; kept here for its users).
pub use crate::channels::Unavailable;

/// The file other loa commands touch after changing the queue, so a running service looks again.
pub const WAKE_FILE: &str = "wake";

/// How long the folder must be quiet before loa reads what changed: editors save in several
/// steps. Real time, not the clock's: it is the editor's pace that it waits out.
const DEBOUNCE: Duration = Duration::from_millis(700);

/// The longest a stream of changes (a copy of many files) delays the read of what changed.
const DEBOUNCE_CAP: Duration = Duration::from_secs(3);

/// The safety rescan: every hour, at the minute the slot bookkeeping always ran. The watcher
/// reports the events it lost (then loa rescans at once), so this only catches what a watcher
/// cannot see (a network folder, a watch the system dropped); it reads every file but parses
/// only those whose text changed.
const RESCAN_CRON: &str = "0 0 * * * *";

/// Why the service could not start or went wrong. Its text is what the officer reads, in their
/// language: the libraries' own words (the OS's, notify's, the scheduler's) are told by kind.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Another `loa run` holds the lock.
    #[error("{}", crate::i18n::tr(
        format!("another loa is already running with the data folder {} (see its loa.lock); stop it first", .0.display()),
        format!("một tiến trình loa khác đang chạy với thư mục dữ liệu {} (xem tệp loa.lock); hãy dừng nó trước", .0.display()),
    ))]
    AlreadyRunning(PathBuf),
    /// Files or folders could not be used.
    #[error("{}: {}", .0.display(), crate::i18n::io_error(.1))]
    Io(PathBuf, std::io::Error),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    /// The folder watch could not start (on this folder, when it is known).
    #[error("{}", watch_message(.0.as_deref(), .1))]
    Watch(Option<PathBuf>, notify::Error),
    /// The timed jobs (bookkeeping, metrics, token refresh) could not start.
    #[error(
        "{}",
        crate::i18n::tr(
            "the service could not start its timed jobs (bookkeeping, metrics, token refresh); start it again, and if it happens again, restart the computer",
            "dịch vụ không khởi động được các việc định kỳ (sổ sách, số liệu, làm mới token); hãy chạy lại, nếu vẫn lỗi thì khởi động lại máy",
        )
    )]
    Schedule(String),
    /// The dashboard (`[web]`) could not start.
    #[error(transparent)]
    Web(#[from] crate::web::StartError),
}

/// Why the folder watch could not start, in the officer's words.
fn watch_message(path: Option<&Path>, e: &notify::Error) -> String {
    use crate::i18n::tr;
    let place = path.map_or_else(String::new, |p| format!("{}: ", p.display()));
    let why = match &e.kind {
        notify::ErrorKind::Io(io) => crate::i18n::io_error(io),
        notify::ErrorKind::PathNotFound => tr(
            "it does not exist; check the path",
            "không tồn tại; hãy kiểm tra đường dẫn",
        )
        .into(),
        notify::ErrorKind::MaxFilesWatch => tr(
            "the system's limit of watched folders is reached; raise fs.inotify.max_user_watches",
            "đã đạt giới hạn số thư mục được theo dõi của hệ thống; hãy tăng fs.inotify.max_user_watches",
        )
        .into(),
        _ => tr(
            "the system could not watch it for changes",
            "hệ thống không theo dõi được thay đổi của nó",
        )
        .into(),
    };
    format!(
        "{place}{}: {why}",
        tr("cannot watch the folder", "không theo dõi được thư mục")
    )
}

/// Holds `data_dir/loa.lock` for the life of the process (the OS releases it if loa dies).
pub struct InstanceLock {
    _file: File,
}

/// Takes the data folder's lock, or says who holds it.
pub fn lock_data_dir(data_dir: &Path) -> Result<InstanceLock, ServiceError> {
    std::fs::create_dir_all(data_dir).map_err(|e| ServiceError::Io(data_dir.to_path_buf(), e))?;
    let path = data_dir.join("loa.lock");
    let mut file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| ServiceError::Io(path.clone(), e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(ServiceError::AlreadyRunning(data_dir.to_path_buf()));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(ServiceError::Io(path, e)),
    }
    // The lock is what keeps a second service out. The pid is how the short commands (`status`)
    // learn that a service runs without ever trying the lock themselves (`running`): a command
    // that took the lock, even for a moment, would refuse a service starting at that moment.
    let _ = file
        .set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .and_then(|()| file.flush());
    Ok(InstanceLock { _file: file })
}

/// A stopping service clears its pid (before the OS releases the lock), so a pid left in the file
/// means a crash; `running` checks such a pid rather than trusting it.
impl Drop for InstanceLock {
    fn drop(&mut self) {
        let _ = self._file.set_len(0);
    }
}

/// The pid of the `loa run` serving `data_dir`, if one runs. Never takes the lock (see
/// `lock_data_dir`): it reads the pid the service wrote and checks that process is a live loa
/// service, because a crash leaves its pid behind and the system may give it to another process.
pub fn running(data_dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(data_dir.join("loa.lock")).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    is_loa_service(pid).then_some(pid)
}

/// Whether `pid` is a live `loa … run …`. Linux: `/proc/<pid>/cmdline` must name the `run`
/// command (a zombie's is empty), and the program must carry the same file name as this one:
/// `/proc/<pid>/exe` when it can be read, else the command's first word. The file name, not the
/// whole path, so that a service started before an upgrade (its exe then reads "… (deleted)")
/// or from another install folder still counts.
#[cfg(target_os = "linux")]
fn is_loa_service(pid: u32) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let Ok(cmdline) = std::fs::read(proc.join("cmdline")) else {
        return false;
    };
    let words: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    if !words.iter().skip(1).any(|w| *w == b"run") {
        return false;
    }
    // Reading another user's `exe` link is refused; the command line is readable by all.
    let program = std::fs::read_link(proc.join("exe")).ok().or_else(|| {
        words
            .first()
            .map(|w| PathBuf::from(std::ffi::OsStr::from_bytes(w)))
    });
    same_program(program.as_deref())
}

/// Elsewhere on Unix, `ps` gives the command line (the same checks as on Linux, by words).
#[cfg(all(unix, not(target_os = "linux")))]
fn is_loa_service(pid: u32) -> bool {
    let Ok(out) = std::process::Command::new("ps")
        .args(["-p", &pid.to_string(), "-o", "args="])
        .output()
    else {
        return false;
    };
    let args = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = args.split_whitespace().collect();
    out.status.success()
        && words.iter().skip(1).any(|w| *w == "run")
        && same_program(words.first().map(Path::new))
}

/// Without a cheap way to ask about another process, the pid is trusted: a clean stop clears it.
#[cfg(not(unix))]
fn is_loa_service(_pid: u32) -> bool {
    true
}

/// Whether `program` has this executable's file name (`loa`, or whatever it was renamed to);
/// without an answer either way, yes: the `run` word already matched.
#[cfg(unix)]
fn same_program(program: Option<&Path>) -> bool {
    let name = |p: &Path| {
        p.file_name().map(|n| {
            let n = n.to_string_lossy();
            n.strip_suffix(" (deleted)").unwrap_or(&n).to_string()
        })
    };
    match (std::env::current_exe().ok(), program) {
        (Some(ours), Some(theirs)) => name(&ours) == name(theirs),
        _ => true,
    }
}

/// Tells a running service that the queue changed (after `loa retry`, `loa cancel`).
pub fn poke(data_dir: &Path) {
    let _ = std::fs::write(data_dir.join(WAKE_FILE), b"");
}

/// Records the Zalo tokens' expiry and warnings for `loa status`.
async fn record_zalo_tokens(engine: &Engine, auth: &crate::zalo::oauth::ZaloAuth) {
    let auth = auth.clone();
    let Ok(status) = tokio::task::spawn_blocking(move || auth.status()).await else {
        return;
    };
    let _ = engine
        .with_store(move |s| {
            s.amend_channel(Channel::Zalo, |rec| {
                rec.token_expires_at = status.access_expires_at;
                if rec.health == crate::store::Health::Ok {
                    rec.reason = status.refresh_warning;
                }
            })?;
            Ok(())
        })
        .await;
}

/// Asks Facebook about the Page token at start-up: when it expires, what it lacks. Problems are
/// logged and shown by `status`; a dead token puts the channel in `needs_reauth`.
async fn check_facebook_token(engine: &Engine, config: &Config) {
    let Some(token) = crate::facebook::spec::page_token(config, &Secrets::from_env()) else {
        return;
    };
    let http = crate::facebook::client::http_client_for(&config.facebook.graph_url);
    let base = format!(
        "{}/{}",
        config.facebook.graph_url.trim_end_matches('/'),
        config.facebook.api_version
    );
    let info = match crate::facebook::auth::debug_token(&http, &base, &token, &token).await {
        Ok(info) => info,
        Err(e) => {
            tracing::warn!(error = %e, "could not check the Facebook token");
            return;
        }
    };
    let problems = info.problems_at(&config.facebook.page_id, engine.clock().now());
    for p in &problems {
        tracing::warn!(problem = %p, "Facebook token");
    }
    let dead = !info.is_valid;
    let _ = engine
        .with_store(move |s| {
            s.amend_channel(Channel::Facebook, |rec| {
                rec.token_expires_at = info.expires_at;
                if dead {
                    rec.health = crate::store::Health::NeedsReauth;
                }
                rec.reason = (!problems.is_empty()).then(|| problems.join("; "));
            })?;
            Ok(())
        })
        .await;
}

/// Runs the service until SIGINT or SIGTERM (or `once`: one pass, then return).
pub async fn run(config: Config, once: bool) -> Result<(), ServiceError> {
    let channels = crate::channels::build(&config, &Clock::from_env(), &Secrets::from_env());
    serve_channels(config, channels, once, shutdown_signal(), |_| {}).await
}

/// The service with its publishers and stop signal given (tests give fakes and their own stop,
/// and may keep the engine `on_start` hands them). No token manager comes with bare
/// publishers, so no token is refreshed on a timer.
pub async fn serve(
    config: Config,
    publishers: Vec<Arc<dyn Publisher>>,
    missing: &[Unavailable],
    once: bool,
    shutdown: impl std::future::Future<Output = ()>,
    on_start: impl FnOnce(Arc<Engine>),
) -> Result<(), ServiceError> {
    let channels = Channels {
        publishers,
        unavailable: missing.to_vec(),
        zalo_auth: None,
        collectors: Vec::new(),
    };
    serve_channels(config, channels, once, shutdown, on_start).await
}

/// The service over the channels the registry built: the Zalo token manager the client uses is
/// the one the refresh job keeps fresh.
pub async fn serve_channels(
    config: Config,
    channels: Channels,
    once: bool,
    shutdown: impl std::future::Future<Output = ()>,
    on_start: impl FnOnce(Arc<Engine>),
) -> Result<(), ServiceError> {
    let Channels {
        publishers,
        unavailable: missing,
        zalo_auth: zalo,
        collectors,
    } = channels;
    let _lock = lock_data_dir(&config.data_dir)?;
    let store = crate::engine::open_store(&config.data_dir)
        .map_err(|e| ServiceError::Io(config.data_dir.clone(), e))?;
    for m in &missing {
        tracing::warn!(channel = %m.channel, "{}", m.reason);
    }
    let data_dir = config.data_dir.clone();
    let posts_dir = config.posts_dir.clone();
    let tz = config.timezone;
    let serves_facebook = publishers.iter().any(|p| p.channel() == Channel::Facebook);
    let clock = Clock::from_env();
    let engine = Arc::new(Engine::new(
        store,
        config.clone(),
        publishers,
        clock.clone(),
    ));
    on_start(engine.clone());
    // The sinks are noted before anything this start does can raise an alert.
    let sinks = config.alerts.as_ref().map_or_else(Vec::new, |a| {
        crate::alerts::sinks(a, &crate::alerts::AlertSecrets::from_env())
    });
    crate::alerts::sender::note(&engine, &sinks).await;
    if serves_facebook {
        check_facebook_token(&engine, &config).await;
    }
    if let Some(auth) = &zalo {
        record_zalo_tokens(&engine, auth).await;
    }
    let recovered = engine.recover().await?;
    if recovered > 0 {
        tracing::warn!(
            recovered,
            "deliveries were in flight when loa last stopped; they are reconciled before anything is sent again"
        );
    }
    // What this service cannot serve, and why, for `loa status` run from another shell.
    for m in &missing {
        let (channel, reason) = (m.channel, m.reason.clone());
        engine
            .with_store(move |s| {
                s.amend_channel(channel, |rec| {
                    rec.health = crate::store::Health::NeedsReauth;
                    rec.reason = Some(reason);
                })?;
                Ok(())
            })
            .await?;
    }
    engine.sync().await?;
    // Conditions that came while loa was off (a token near its end, a slot passed unserved).
    alert_conditions(&engine, true).await;
    if once {
        let attempted = engine.run_once().await?;
        tracing::info!(attempted, "one pass done");
        collect_round(&engine, &collectors).await;
        crate::alerts::sender::flush(&engine, &sinks).await;
        return Ok(());
    }
    // One sender per sink: a sink that is down delays neither publishing nor the others.
    let senders = crate::alerts::sender::start(engine.clone(), sinks).await;

    // The dashboard, when configured: started before the watcher so that a port in use stops
    // the service at once, with the fix, instead of after it has started publishing.
    let dashboard = match &config.web {
        Some(web) => {
            let started =
                crate::web::start(engine.clone(), web, crate::web::password_from_env()).await?;
            eprintln!("{}", crate::web::address_line(started.address));
            Some(started.task)
        }
        None => None,
    };
    let (tx, rx) = mpsc::unbounded_channel::<Seen>();
    let _watcher = watch(&posts_dir, &data_dir, tx)?;
    let jobs = periodic_jobs(engine.clone(), tz, zalo, collectors)?;
    let syncer = tokio::spawn(follow(engine.clone(), rx));
    tracing::info!(posts = %posts_dir.display(), "loa is running; stop with Ctrl+C");
    engine.clone().run(shutdown).await?;
    for job in jobs {
        job.abort();
    }
    syncer.abort();
    for sender in senders {
        sender.abort();
    }
    // A clean stop is a sign of life: the next start judges the slots missed from here.
    let now = chrono::Utc::now();
    let _ = engine
        .with_store(move |s| s.set_mark(crate::alerts::events::ALIVE, now))
        .await;
    if let Some(task) = dashboard {
        task.abort();
        crate::web::forget_address(&data_dir);
    }
    tracing::info!("loa stopped");
    Ok(())
}

/// What the watcher saw.
#[derive(Debug)]
enum Seen {
    /// These paths changed (created, written, removed, renamed from or to).
    Paths(Vec<PathBuf>),
    /// The watcher lost events: only a rescan can say what changed.
    Lost,
    /// Another loa command changed the queue (the wake file).
    Wake,
}

/// Watches the posts folder (and the wake file), sending what changed as it happens; `follow`
/// debounces. The plain watcher, not a debouncer crate's: those tick every quarter of the
/// debounce even when nothing happens, and an idle service must not wake.
fn watch(
    posts_dir: &Path,
    data_dir: &Path,
    tx: mpsc::UnboundedSender<Seen>,
) -> Result<notify::RecommendedWatcher, ServiceError> {
    let data = crate::paths::absolute(data_dir);
    let mut watcher = notify::recommended_watcher(move |result: notify::Result<notify::Event>| {
        let event = match result {
            Ok(event) => event,
            // An error from the watcher (a queue overflow, a watch lost) may hide a change.
            Err(_) => {
                let _ = tx.send(Seen::Lost);
                return;
            }
        };
        if event.need_rescan() {
            let _ = tx.send(Seen::Lost);
            return;
        }
        // Opening and reading a file is not a change: loa's own reads during a sync would
        // otherwise start the next sync, forever.
        if event.kind.is_access() {
            return;
        }
        let mut paths = Vec::new();
        for path in event.paths {
            if !is_relevant(&path, &data) {
                continue;
            }
            if path
                .parent()
                .is_some_and(|p| crate::paths::absolute(p) == data)
            {
                let _ = tx.send(Seen::Wake);
            } else {
                paths.push(path);
            }
        }
        if !paths.is_empty() {
            let _ = tx.send(Seen::Paths(paths));
        }
    })
    .map_err(|e| ServiceError::Watch(None, e))?;
    std::fs::create_dir_all(posts_dir).map_err(|e| ServiceError::Io(posts_dir.to_path_buf(), e))?;
    watcher
        .watch(posts_dir, RecursiveMode::Recursive)
        .map_err(|e| ServiceError::Watch(Some(posts_dir.to_path_buf()), e))?;
    watcher
        .watch(data_dir, RecursiveMode::NonRecursive)
        .map_err(|e| ServiceError::Watch(Some(data_dir.to_path_buf()), e))?;
    Ok(watcher)
}

/// Turns what the watcher saw into syncs: paths gathered until the folder has been quiet for
/// `DEBOUNCE` (at most `DEBOUNCE_CAP` after the first), then one sync of those paths, or a
/// rescan when events were lost. A wake-up from another command needs no reading of the folder:
/// it changed the store, which the engine reads.
async fn follow(engine: Arc<Engine>, mut rx: mpsc::UnboundedReceiver<Seen>) {
    use crate::engine::sync::Scope;
    while let Some(first) = rx.recv().await {
        let mut paths: BTreeSet<PathBuf> = BTreeSet::new();
        let mut lost = false;
        let take = |seen: Seen, paths: &mut BTreeSet<PathBuf>, lost: &mut bool| match seen {
            Seen::Paths(p) => paths.extend(p),
            Seen::Lost => *lost = true,
            Seen::Wake => engine.wake(),
        };
        let started = tokio::time::Instant::now();
        take(first, &mut paths, &mut lost);
        // Real time: the editor's pace (see DEBOUNCE). Sleeps only while events are pending.
        if !paths.is_empty() || lost {
            loop {
                let cap =
                    (started + DEBOUNCE_CAP).saturating_duration_since(tokio::time::Instant::now());
                tokio::select! {
                    seen = rx.recv() => match seen {
                        Some(seen) => take(seen, &mut paths, &mut lost),
                        None => break,
                    },
                    () = tokio::time::sleep(DEBOUNCE.min(cap)) => break,
                }
            }
        }
        let scope = if lost {
            tracing::warn!("the folder watcher lost events; rescanning the posts folder");
            Scope::Changed
        } else if paths.is_empty() {
            continue;
        } else {
            Scope::Paths(paths.into_iter().collect())
        };
        if let Err(e) = engine.sync_scope(scope).await {
            tracing::error!(error = %e, "could not sync the posts folder");
        }
    }
}

/// Changes worth a rescan: posts and their images, and the wake file; not hidden files, editor
/// swap and backup files, or loa's own database files.
fn is_relevant(path: &Path, data_dir: &Path) -> bool {
    // A name in no encoding is still a file the officer dropped: read lossily, it is checked
    // (and reported) like any other.
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return false;
    };
    // In the data folder only the wake file speaks to the service; the database and the token
    // store change all the time by loa's own hand.
    if path
        .parent()
        .is_some_and(|p| crate::paths::absolute(p) == data_dir)
    {
        return name == WAKE_FILE;
    }
    let noise = name.starts_with('.')
        || name.starts_with('#')
        || name.starts_with('~')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".tmp")
        || name.starts_with("loa.db")
        || name == "loa.lock";
    !noise
}

/// One metrics round (what is due), then `report.html` rewritten. Never fails the service: a
/// store error is logged and the next round tries again.
async fn collect_round(engine: &Engine, collectors: &[Arc<dyn crate::metrics::Collector>]) {
    use crate::metrics::collect::{Silent, collect};
    match collect(engine, collectors, crate::metrics::Scope::Due, &Silent).await {
        Ok(summary) if summary.asked > 0 || summary.accounts > 0 => {
            tracing::info!(
                asked = summary.asked,
                snapshots = summary.snapshots,
                accounts = summary.accounts,
                "metrics collected"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "metrics collection failed"),
    }
    crate::app::report::write_html(engine).await;
    // The report over every post is the largest thing the service builds.
    engine.release_memory();
}

/// How often the service looks for due metrics (the ages are 1 h and more apart).
const METRICS_CRON: &str = "0 */10 * * * *";

/// Refresh well before the 25-hour Zalo access token ends (and keep the refresh token alive).
const ZALO_REFRESH_CRON: &str = "0 */30 * * * *";

/// The longest a job sleeps before it looks at the wall time again: tokio's sleep runs on the
/// monotonic clock, which stops while the computer is suspended and ignores a clock change.
const CRON_RECHECK: Duration = Duration::from_secs(300);

/// Runs `job` at each time `expr` (cron with seconds, in `tz`) names, one run at a time,
/// sleeping until the next. Not tokio-cron-scheduler: its scheduler loop wakes every 500 ms
/// whatever the jobs (a fixed sleep in its ticker, not configurable), and an idle service must
/// not wake; croner is the cron parser that crate used.
fn cron_job<F, Fut>(
    expr: &str,
    tz: chrono_tz::Tz,
    job: F,
) -> Result<tokio::task::JoinHandle<()>, ServiceError>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    use croner::parser::{CronParser, Seconds};
    let cron = CronParser::builder()
        .seconds(Seconds::Required)
        .build()
        .parse(expr)
        .map_err(|e| ServiceError::Schedule(format!("{expr}: {e}")))?;
    // The cron runs on the system's wall time, which is the service's clock (`Clock::system`).
    Ok(tokio::spawn(async move {
        let mut after = chrono::Utc::now().with_timezone(&tz);
        loop {
            let Ok(next) = cron.find_next_occurrence(&after, false) else {
                return;
            };
            loop {
                let left = (next.with_timezone(&chrono::Utc) - chrono::Utc::now())
                    .to_std()
                    .unwrap_or_default();
                if left.is_zero() {
                    break;
                }
                tokio::time::sleep(left.min(CRON_RECHECK)).await;
            }
            job().await;
            after = next.max(chrono::Utc::now().with_timezone(&tz));
        }
    }))
}

/// The periodic jobs: the safety rescan with slot bookkeeping every hour, metrics every ten
/// minutes (one round at a time, the first at start), the Zalo token refresh every half hour.
fn periodic_jobs(
    engine: Arc<Engine>,
    tz: chrono_tz::Tz,
    zalo: Option<Arc<crate::zalo::oauth::ZaloAuth>>,
    collectors: Vec<Arc<dyn crate::metrics::Collector>>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, ServiceError> {
    let mut jobs = Vec::new();
    let rescanner = engine.clone();
    jobs.push(cron_job(RESCAN_CRON, tz, move || {
        let engine = rescanner.clone();
        async move {
            // The rescan gives slots and marks missed deliveries too.
            if let Err(e) = engine.sync_scope(crate::engine::sync::Scope::Changed).await {
                tracing::error!(error = %e, "could not rescan the posts folder");
            }
            // The hour's sign of life, and the conditions that come with time.
            alert_conditions(&engine, false).await;
        }
    })?);
    // A round that runs long (thousands of posts, a slow platform) is never doubled by the next
    // tick: the tick finds the round still going and leaves it.
    let collecting = Arc::new(tokio::sync::Mutex::new(collectors));
    {
        let (engine, collecting) = (engine.clone(), collecting.clone());
        tokio::spawn(async move {
            let collectors = collecting.lock().await;
            collect_round(&engine, &collectors).await;
        });
    }
    let collector_engine = engine.clone();
    jobs.push(cron_job(METRICS_CRON, tz, move || {
        let (engine, collecting) = (collector_engine.clone(), collecting.clone());
        async move {
            let Ok(collectors) = collecting.try_lock() else {
                return;
            };
            collect_round(&engine, &collectors).await;
        }
    })?);
    if let Some(auth) = zalo {
        jobs.push(cron_job(ZALO_REFRESH_CRON, tz, move || {
            let (auth, engine) = (auth.clone(), engine.clone());
            async move {
                match auth.refresh_if_due().await {
                    Ok(true) => tracing::info!("Zalo token refreshed ahead of expiry"),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "Zalo token refresh"),
                }
                record_zalo_tokens(&engine, &auth).await;
            }
        })?);
    }
    Ok(jobs)
}

/// Raises the alerts that come with time (a token near its end) and records the service's sign
/// of life; `starting`: also whether it was off past a slot. Wall time: alerts are about real
/// time (see `alerts::sender`).
async fn alert_conditions(engine: &Engine, starting: bool) {
    let config = engine.config().clone();
    let refresh = crate::app::report::zalo_refresh_expires(&config.data_dir);
    let now = chrono::Utc::now();
    let raised = engine
        .with_store(move |s| {
            if starting {
                crate::alerts::events::started(s, &config, now)?;
            } else {
                s.set_mark(crate::alerts::events::ALIVE, now)?;
            }
            crate::alerts::events::digest(s, &config, now)?;
            crate::alerts::events::scan(s, &config, now, refresh)
        })
        .await;
    if let Err(e) = raised {
        tracing::warn!(error = %e, "could not check the alert conditions");
    }
}

/// Resolves on Ctrl+C or SIGTERM (what systemd sends).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("stop requested");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_instance_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_data_dir(dir.path()).unwrap();
        assert!(matches!(
            lock_data_dir(dir.path()),
            Err(ServiceError::AlreadyRunning(_))
        ));
        drop(first);
        assert!(lock_data_dir(dir.path()).is_ok());
    }

    #[test]
    fn a_stopped_service_clears_its_pid() {
        let dir = tempfile::tempdir().unwrap();
        let lock = lock_data_dir(dir.path()).unwrap();
        let file = dir.path().join("loa.lock");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap().trim(),
            std::process::id().to_string()
        );
        drop(lock);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "");
        assert_eq!(running(dir.path()), None);
    }

    #[cfg(unix)]
    #[test]
    fn only_a_live_loa_run_counts_as_running() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(running(dir.path()), None, "no lock file");
        let file = dir.path().join("loa.lock");
        std::fs::write(&file, "not a pid\n").unwrap();
        assert_eq!(running(dir.path()), None);
        let mut ended = std::process::Command::new("true").spawn().unwrap();
        ended.wait().unwrap();
        std::fs::write(&file, format!("{}\n", ended.id())).unwrap();
        assert_eq!(running(dir.path()), None, "a crashed service's pid");
        // A pid the system gave to another program, even one whose arguments say `run`.
        // (`; :` keeps the shell from handing its pid over to `sleep`.)
        let mut other = std::process::Command::new("sh")
            .args(["-c", "sleep 30; :", "run"])
            .spawn()
            .unwrap();
        // Real time: the shell is another process.
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(other.try_wait().unwrap().is_none());
        std::fs::write(&file, format!("{}\n", other.id())).unwrap();
        assert_eq!(running(dir.path()), None, "another program");
        let _ = other.kill();
        let _ = other.wait();
    }

    /// `loa run` builds its channels once: the token manager the refresh job keeps fresh is the
    /// Zalo client's own, not a second one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_refresh_job_shares_the_zalo_clients_token_manager() {
        let dir = tempfile::tempdir().unwrap();
        // Nothing listens on port 9: a refresh that came due would fail at once, sending nothing.
        let mut config = Config::parse(
            "language = \"en\"\n[zalo]\napp_id = \"2\"\nopenapi_url = \"http://127.0.0.1:9\"\noauth_url = \"http://127.0.0.1:9\"\n",
        )
        .unwrap();
        config.posts_dir = dir.path().join("posts");
        config.data_dir = dir.path().join("data");
        let secrets = Secrets::given([
            ("LOA_ZALO_APP_SECRET", "app-secret".to_string()),
            ("LOA_ZALO_REFRESH_TOKEN", "refresh-0".to_string()),
        ]);
        let channels = crate::channels::build(&config, &Clock::system(), &secrets);
        let auth = channels.zalo_auth.clone().expect("Zalo is served");
        assert_eq!(channels.publishers.len(), 1);
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = {
            let (auth, seen) = (auth.clone(), seen.clone());
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let n = Arc::strong_count(&auth);
                seen.store(n, std::sync::atomic::Ordering::SeqCst);
            }
        };
        let data_dir = config.data_dir.clone();
        serve_channels(config, channels, false, stop, |_| {})
            .await
            .unwrap();
        assert_eq!(
            crate::zalo::spec::built::count(&data_dir),
            1,
            "the service made no second token manager"
        );
        // While the service ran, the registry's manager was held by this test (twice), the
        // client, and the service (for its refresh job).
        assert!(seen.load(std::sync::atomic::Ordering::SeqCst) >= 4);
    }

    #[test]
    fn noise_does_not_trigger_a_rescan() {
        let data = Path::new("/srv/loa/data");
        for noisy in [
            "/srv/posts/.bai.md.swp",
            "/srv/posts/bai.md~",
            "/srv/posts/#bai.md#",
            "/srv/loa/data/loa.db-wal",
            "/srv/loa/data/tokens.json",
            "/srv/posts/.git",
        ] {
            assert!(!is_relevant(Path::new(noisy), data), "{noisy}");
        }
        for relevant in [
            "/srv/posts/bai.md",
            "/srv/posts/images/anh.jpg",
            "/srv/loa/data/wake",
        ] {
            assert!(is_relevant(Path::new(relevant), data), "{relevant}");
        }
    }
}
