//! The delivery engine: it keeps the store in line with the posts folder, gives weekly slots,
//! and publishes each due delivery exactly once through its channel's [`Publisher`].
//!
//! Invariants (see ARCHITECTURE.md): an attempt is committed before its request is sent; a
//! platform id is committed as soon as it is known; after an ambiguous answer or a crash, the
//! platform is asked before anything is created again.

pub mod commands;
pub mod retry;
pub mod slots;
pub mod sync;
pub mod transitions;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::channel::Channel;
use crate::config::Config;
use crate::i18n::tr;
use crate::publisher::{BoxFuture, Job, Outcome, ProgressSink, Publisher, Reconciled};
use crate::store::{
    self, AttemptKind, BroadcastState, ChannelRecord, Closing, Delivery, Health, State, Step,
    Store, StoreError, Taken, UpdateState,
};

pub use crate::clock::Clock;
pub use sync::SyncReport;
use transitions::ChannelEffect;

/// Requests in flight at once, over all channels.
pub const GLOBAL_CONCURRENCY: usize = 4;
/// Requests in flight at once on one channel.
pub const CHANNEL_CONCURRENCY: usize = 2;

/// An engine error: the store failed (the disk is full, the file is locked, …).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store said no.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking task died.
    #[error("internal task failed: {0}")]
    Join(String),
}

/// Engine result.
pub type Result<T> = std::result::Result<T, EngineError>;

/// The delivery engine.
pub struct Engine {
    store: Arc<Mutex<Store>>,
    config: Arc<Config>,
    publishers: BTreeMap<Channel, Arc<dyn Publisher>>,
    clock: Clock,
    wake: Arc<Notify>,
    global: Arc<Semaphore>,
    per_channel: BTreeMap<Channel, Arc<Semaphore>>,
    /// Deliveries with a task running, so a dispatch pass never starts a second one.
    in_flight: Mutex<BTreeSet<i64>>,
    /// How many times the posts folder was read (an idle service must not read it).
    syncs: std::sync::atomic::AtomicU64,
    /// How many post files syncs have parsed (a file event parses the files it names).
    parsed: std::sync::atomic::AtomicU64,
    /// Ticks after every store call that changed a row (the alert senders wait on it).
    changes: tokio::sync::watch::Sender<u64>,
}

/// Which request a ready delivery needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Work {
    /// Publish (after a reconciliation when one is owed), or hand over to the platform's own
    /// scheduler.
    Publish,
    /// Update the published (or platform-held) post.
    Update,
    /// The platform held the post until now: check that it went out.
    Confirm,
    /// A cancelled post the platform still holds for later: take it back.
    Withdraw,
    /// Send the published post to followers.
    Broadcast,
    /// A cancelled delivery whose create may have reached the platform: look for it.
    Lookup,
}

/// After the platform should have published a post it held, loa looks this much later.
const CONFIRM_GRACE: chrono::Duration = chrono::Duration::minutes(1);

/// When `d` next needs work, and which, given its channel's native-scheduling window.
fn work_for(
    d: &Delivery,
    native: Option<(chrono::Duration, chrono::Duration)>,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, Work)> {
    let retry = |at: DateTime<Utc>| d.next_attempt_at.map_or(at, |n| n.max(at));
    match d.state {
        State::Scheduled | State::RetryWait if d.platform_scheduled => {
            if d.update_state == Some(UpdateState::Pending) {
                return Some((d.next_attempt_at.unwrap_or(now), Work::Update));
            }
            Some((retry(d.due_at? + CONFIRM_GRACE), Work::Confirm))
        }
        s if s.is_claimable() => {
            let due = d.due_at?;
            let at = match native {
                // Hand the post to the platform as soon as it is inside the window it accepts,
                // so it goes out on time even if this computer is off then.
                Some((min, max))
                    if !d.needs_reconcile && d.progress.is_none() && due - now >= min =>
                {
                    (due - max).max(now)
                }
                _ => due,
            };
            Some((retry(at), Work::Publish))
        }
        State::Published
            if d.broadcast_state == Some(BroadcastState::Pending)
                && d.update_state != Some(UpdateState::Pending) =>
        {
            Some((d.broadcast_next.unwrap_or(now), Work::Broadcast))
        }
        State::Published if d.update_state == Some(UpdateState::Pending) => {
            Some((d.next_attempt_at.unwrap_or(now), Work::Update))
        }
        State::Cancelled if d.platform_scheduled && d.remote_id.is_some() => {
            Some((d.next_attempt_at.unwrap_or(now), Work::Withdraw))
        }
        State::Cancelled if d.needs_reconcile => {
            Some((d.next_attempt_at.unwrap_or(now), Work::Lookup))
        }
        _ => None,
    }
}

impl Engine {
    /// An engine over `store`, publishing through `publishers` (one per channel it serves).
    pub fn new(
        store: Store,
        config: Config,
        publishers: Vec<Arc<dyn Publisher>>,
        clock: Clock,
    ) -> Engine {
        let publishers: BTreeMap<Channel, Arc<dyn Publisher>> =
            publishers.into_iter().map(|p| (p.channel(), p)).collect();
        let per_channel = publishers
            .keys()
            .map(|c| (*c, Arc::new(Semaphore::new(CHANNEL_CONCURRENCY))))
            .collect();
        Engine {
            store: Arc::new(Mutex::new(store)),
            config: Arc::new(config),
            publishers,
            clock,
            wake: Arc::new(Notify::new()),
            global: Arc::new(Semaphore::new(GLOBAL_CONCURRENCY)),
            per_channel,
            in_flight: Mutex::new(BTreeSet::new()),
            syncs: std::sync::atomic::AtomicU64::new(0),
            parsed: std::sync::atomic::AtomicU64::new(0),
            changes: tokio::sync::watch::Sender::new(0),
        }
    }

    /// A receiver that sees a change after every store call that wrote a row: an alert may
    /// have been written with it (the triggers of the schema write alerts with the change).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// The publisher for `channel`, if this engine has one.
    pub fn publisher(&self, channel: Channel) -> Option<Arc<dyn Publisher>> {
        self.publishers.get(&channel).cloned()
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Wakes the dispatcher (a file changed, a command queued something).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs `f` on the store in a blocking thread: SQLite with `synchronous = FULL` waits for the
    /// disk, which must not stall the async workers.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> store::Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        let (out, wrote) = tokio::task::spawn_blocking(move || {
            let mut guard = store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let before = guard.total_changes();
            let out = f(&mut guard);
            (out, guard.total_changes() != before)
        })
        .await
        .map_err(|e| EngineError::Join(e.to_string()))?;
        if wrote {
            self.changes.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok(out?)
    }

    /// Gives back what idle work does not need: SQLite's page cache (the store's file stays in
    /// the system's cache, so the next reading costs a `pread` per page, not the disk), then the
    /// memory the process freed ([`release_freed_memory`]). Skips the cache when the store is
    /// busy (a sync reading the folder): that work ends with a wake-up and so another call.
    pub fn release_memory(&self) {
        if let Ok(store) = self.store.try_lock() {
            store.release_cache();
        }
        release_freed_memory();
    }

    /// Start-up after any stop, clean or not: requests that were in flight may have reached the
    /// platform, so their deliveries must reconcile before anything is sent again.
    pub async fn recover(&self) -> Result<usize> {
        let now = self.clock.now();
        self.with_store(move |s| {
            s.close_dangling_attempts(now)?;
            let mut in_flight = 0;
            s.amend_all(|d| {
                in_flight += usize::from(d.state == State::Publishing);
                transitions::recover(d, now)
            })?;
            // A new process may have a new token: give channels that waited for one a new chance.
            for c in s.channels()? {
                s.amend_channel(c.channel, |rec| {
                    if rec.health == Health::NeedsReauth {
                        rec.health = Health::Ok;
                        rec.reason = None;
                    }
                })?;
            }
            Ok(in_flight)
        })
        .await
    }

    /// How many times the posts folder has been read since start.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many post files the syncs since start have parsed.
    pub fn posts_parsed(&self) -> u64 {
        self.parsed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Brings the store in line with the posts folder, every file read and parsed (start-up,
    /// `loa status`); gives slots, marks missed deliveries. See [`Engine::sync_scope`].
    pub async fn sync(&self) -> Result<SyncReport> {
        self.sync_scope(sync::Scope::All).await
    }

    /// Brings the store in line with the files `scope` names, gives slots, marks missed
    /// deliveries.
    ///
    /// The files are read (with each image's header) on a blocking thread and outside the
    /// store's lock, which is taken only briefly per question about a path, so requests in
    /// flight are never held up by a scan; syncs of all processes on this data folder (the
    /// service, `loa status`) take turns through `data_dir/sync.lock`, so an older reading of
    /// the folder is never applied over a newer one.
    pub async fn sync_scope(&self, scope: sync::Scope) -> Result<SyncReport> {
        self.syncs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let config = self.config.clone();
        let now = self.clock.now();
        let store = self.store.clone();
        let (report, parsed) = tokio::task::spawn_blocking(move || {
            let _turn = sync::SyncTurn::take(&config.data_dir);
            let lock = || {
                store
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            };
            let reading = sync::read(&config, &scope, |q| sync::lookup(&lock(), q))?;
            let parsed = reading.parsed();
            lock()
                .in_transaction(|s| {
                    let report = sync::apply(s, &config, reading, now)?;
                    bookkeeping(s, &config, now)?;
                    Ok(report)
                })
                .map(|report| (report, parsed))
        })
        .await
        .map_err(|e| EngineError::Join(e.to_string()))??;
        self.parsed
            .fetch_add(parsed as u64, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(?report, parsed, "posts folder synced");
        self.wake();
        Ok(report)
    }

    /// Slot bookkeeping and missed deliveries, also run periodically by the service.
    pub async fn bookkeeping(&self) -> Result<()> {
        let config = self.config.clone();
        let now = self.clock.now();
        self.with_store(move |s| s.in_transaction(|s| bookkeeping(s, &config, now)))
            .await?;
        self.wake();
        Ok(())
    }

    /// Each served channel's native-scheduling window, if its publisher has one.
    fn native_windows(&self) -> BTreeMap<Channel, Option<(chrono::Duration, chrono::Duration)>> {
        self.publishers
            .iter()
            .map(|(c, p)| (*c, p.native_window()))
            .collect()
    }

    /// Deliveries ready now, with the work each needs, skipping paused channels and channels
    /// this engine has no publisher for. Reads at most what one turn can start per channel
    /// (plus `skip`, the deliveries this pass already handled), soonest first.
    async fn ready(&self, skip: usize) -> Result<Vec<(Delivery, Work)>> {
        let now = self.clock.now();
        let windows = self.native_windows();
        let limit = CHANNEL_CONCURRENCY * READY_PAGE + skip;
        self.with_store(move |s| {
            let blocked = blocked_channels(s, now)?;
            let mut out: Vec<(DateTime<Utc>, Delivery, Work)> = Vec::new();
            for (channel, window) in windows.iter().filter(|(c, _)| !blocked.contains(c)) {
                // A post may be handed to this platform's scheduler so far ahead of its time.
                let horizon = now + window.map(|(_, max)| max).unwrap_or_default();
                for d in s.ready_candidates(*channel, now, horizon, limit)? {
                    if let Some((at, work)) = work_for(&d, *window, now)
                        && at <= now
                    {
                        out.push((at, d, work));
                    }
                }
            }
            out.sort_by_key(|(at, d, _)| (*at, d.id));
            Ok(out.into_iter().map(|(_, d, w)| (d, w)).collect())
        })
        .await
    }

    /// The next moment something may become ready, if any.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        let now = self.clock.now();
        let windows = self.native_windows();
        self.with_store(move |s| {
            let channels: BTreeMap<Channel, ChannelRecord> =
                s.channels()?.into_iter().map(|c| (c.channel, c)).collect();
            let next = s
                .active_deliveries()?
                .into_iter()
                .filter_map(|d| {
                    let window = windows.get(&d.channel)?;
                    let (at, _) = work_for(&d, *window, now)?;
                    let channel = channels.get(&d.channel);
                    if channel.is_some_and(|c| c.health == Health::NeedsReauth) {
                        return None;
                    }
                    let paused = channel.and_then(|c| c.paused_until).unwrap_or(at);
                    Some(at.max(paused))
                })
                .min();
            Ok(next)
        })
        .await
    }

    /// Starts every ready delivery the concurrency limits allow, into `tasks`; `skip` holds
    /// deliveries already handled in this pass (for `run --once`).
    async fn dispatch(
        self: &Arc<Self>,
        tasks: &mut JoinSet<()>,
        skip: &mut BTreeSet<i64>,
    ) -> Result<Dispatched> {
        let mut started = 0;
        let mut waiting = false;
        for (d, work) in self.ready(skip.len()).await? {
            if skip.contains(&d.id)
                || self
                    .in_flight
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .contains(&d.id)
            {
                continue;
            }
            let Ok(global) = self.global.clone().try_acquire_owned() else {
                waiting = true;
                break;
            };
            let Some(channel_permit) = self
                .per_channel
                .get(&d.channel)
                .and_then(|s| s.clone().try_acquire_owned().ok())
            else {
                waiting = true;
                continue;
            };
            skip.insert(d.id);
            self.in_flight
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(d.id);
            started += 1;
            let engine = self.clone();
            tasks.spawn(async move {
                let _permits = (global, channel_permit);
                if let Err(e) = engine.handle(d.id, work).await {
                    tracing::error!(delivery = d.id, error = %e, "delivery attempt could not be recorded");
                }
                engine.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&d.id);
                engine.wake();
            });
        }
        Ok(Dispatched { started, waiting })
    }

    /// One pass for `loa run --once`: one attempt at every delivery ready now; returns how many.
    pub async fn run_once(self: &Arc<Self>) -> Result<usize> {
        let mut tasks = JoinSet::new();
        let mut done = BTreeSet::new();
        loop {
            let started = self.dispatch(&mut tasks, &mut done).await?.started;
            if started == 0 && tasks.is_empty() {
                break;
            }
            // Wait for one to finish, freeing permits, then look again.
            tasks.join_next().await;
        }
        Ok(done.len())
    }

    /// The service loop: sleeps until the next due moment or a wake-up, dispatches, repeats; on
    /// `shutdown`, stops starting requests and gives those in flight up to 10 s (what is still
    /// running then is left for the next start's reconciliation).
    pub async fn run(
        self: Arc<Self>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<()> {
        tokio::pin!(shutdown);
        let mut tasks = JoinSet::new();
        loop {
            let mut fresh = BTreeSet::new();
            let dispatched = self.dispatch(&mut tasks, &mut fresh).await?;
            let now = self.clock.now();
            // Work that is ready but did not start is waiting for a permit: a finishing task
            // wakes the loop, so there is no time to look for (and sleeping on a past time
            // would only spin).
            let next = if dispatched.waiting && !tasks.is_empty() {
                None
            } else {
                self.next_due().await?
            };
            let timer = match next {
                Some(t) if t > now => Some(t),
                Some(_) if tasks.is_empty() => Some(now + chrono::Duration::seconds(1)),
                _ => None,
            };
            // About to sleep with nothing in flight: what the work freed (a sync's reading,
            // the deliveries read, SQLite's cached pages) goes back to the system, so an idle
            // service stays small. Not between the turns of busy work: trimming walks the heap
            // each time, and the cached pages serve the next turn.
            if tasks.is_empty() {
                self.release_memory();
            }
            let sleep = async {
                match timer {
                    Some(t) => self.clock.sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut shutdown => break,
                () = self.wake.notified() => {}
                () = sleep => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        tracing::info!(in_flight = tasks.len(), "stopping: no new requests");
        let drain = async { while tasks.join_next().await.is_some() {} };
        // Real time, not the clock's: requests in flight take real time, and whoever stops loa
        // waits for the drain.
        if tokio::time::timeout(std::time::Duration::from_secs(10), drain)
            .await
            .is_err()
        {
            tracing::warn!(
                "requests still in flight after 10 s are left for reconciliation at the next start"
            );
            tasks.abort_all();
        }
        Ok(())
    }

    async fn handle(&self, id: i64, work: Work) -> Result<()> {
        match work {
            Work::Publish => self.publish(id).await,
            Work::Update => self.update(id).await,
            Work::Confirm => self.confirm(id).await,
            Work::Withdraw => self.withdraw(id).await,
            Work::Broadcast => self.broadcast(id).await,
            Work::Lookup => self.lookup(id).await,
        }
    }

    /// Takes `step` on delivery `id` (recording its attempt before anything is sent).
    async fn take(&self, id: i64, step: Step) -> Result<Option<Taken>> {
        let now = self.clock.now();
        self.with_store(move |s| s.take_step(id, step, now)).await
    }

    /// The job for a taken step, built from the post as stored when the step was taken (so the
    /// content hash recorded is the one of what is sent). Reading the post checks its images on
    /// disk, so it runs off the async threads.
    async fn job(&self, taken: &Taken) -> Result<std::result::Result<(Job, String), String>> {
        let Some(record) = taken.post.clone() else {
            return Ok(Err(tr(
                "the post is no longer in the store",
                "bài không còn trong cơ sở dữ liệu",
            )
            .to_string()));
        };
        let config = self.config.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            let path = config.posts_dir.join(&record.path);
            (
                crate::channels::load_bytes(&path, record.content.as_bytes(), &config),
                record.content_hash,
            )
        })
        .await
        .map_err(|e| EngineError::Join(e.to_string()))?;
        let (loaded, hash) = loaded;
        let Some(post) = loaded.post else {
            let problems: Vec<String> = loaded
                .problems
                .iter()
                .filter(|p| p.is_error())
                .map(ToString::to_string)
                .collect();
            return Ok(Err(problems.join("; ")));
        };
        let d = &taken.delivery;
        Ok(Ok((
            Job {
                delivery_id: d.id,
                post,
                due_at: d.due_at.unwrap_or_else(|| self.clock.now()),
                progress: d.progress.clone(),
                scheduled_on_platform: d.platform_scheduled,
                progress_sink: Arc::new(StoreProgress {
                    store: self.store.clone(),
                    delivery_id: d.id,
                }),
            },
            hash,
        )))
    }

    /// Closes `attempt` with `closing` and applies `decide` to the delivery as it is *now*, in
    /// one transaction; then anything edited meanwhile is owed as an update.
    async fn close<T: Send + 'static>(
        &self,
        id: i64,
        attempt: i64,
        closing: Closing,
        decide: impl FnOnce(&mut Delivery, DateTime<Utc>) -> (ChannelEffect, T) + Send + 'static,
    ) -> Result<(Delivery, T)> {
        let now = self.clock.now();
        let on_edit = self.config.schedule.on_edit;
        self.with_store(move |s| {
            s.close_attempt(id, attempt, &closing, now, |d, hash| {
                let out = decide(d, now);
                transitions::owe_update(d, hash, on_edit);
                out
            })
        })
        .await
    }

    async fn publish(&self, id: i64) -> Result<()> {
        // The attempt is committed before any request leaves.
        let Some(taken) = self.take(id, Step::Publish).await? else {
            return Ok(());
        };
        let channel = taken.delivery.channel;
        let publisher = self.publishers[&channel].clone();
        let policy = self.config.retry.clone();
        let (job, hash) = match self.job(&taken).await? {
            Ok(j) => j,
            Err(problems) => {
                let outcome = Outcome::Permanent { message: problems };
                self.close(id, taken.attempt, closing(&outcome), move |d, now| {
                    let hash = d.published_hash.clone().unwrap_or_default();
                    (
                        transitions::after_create(
                            d,
                            &outcome,
                            now,
                            &hash,
                            &policy,
                            fastrand::f64(),
                        ),
                        (),
                    )
                })
                .await?;
                return Ok(());
            }
        };

        let mut attempt = taken.attempt;
        if taken.kind == AttemptKind::Reconcile {
            let since = self.reconcile_window(id).await?;
            let found = publisher.reconcile(&job, since).await;
            tracing::info!(delivery = id, result = found.record().0, "reconciled");
            let (hash, policy) = (hash.clone(), policy.clone());
            let (_, create) = self
                .close(id, attempt, reconcile_closing(&found), move |d, now| {
                    transitions::after_reconcile(
                        d,
                        &found,
                        now,
                        &hash,
                        &policy,
                        true,
                        fastrand::f64(),
                    )
                })
                .await?;
            if !create {
                return Ok(());
            }
            // Still ours (`publishing`)? A cancel that came during the look-up stops it here.
            let now = self.clock.now();
            let Some(next) = self
                .with_store(move |s| s.continue_step(id, AttemptKind::Create, now))
                .await?
            else {
                return Ok(());
            };
            attempt = next;
        }

        let outcome = publisher.publish(&job).await;
        tracing::info!(delivery = id, %channel, outcome = outcome.class(), "publish attempt");
        let ambiguous = matches!(outcome, Outcome::Ambiguous { .. });
        let (h, p) = (hash.clone(), policy.clone());
        self.close(id, attempt, closing(&outcome), move |d, now| {
            (
                transitions::after_create(d, &outcome, now, &h, &p, fastrand::f64()),
                (),
            )
        })
        .await?;

        if ambiguous {
            // Ask the platform now, with the create's own window; nothing is re-sent before
            // that. Taken like any step, so a cancel that came meanwhile is respected.
            let Some(taken) = self.take(id, Step::Publish).await? else {
                // Cancelled meanwhile: only looked for (withdrawn, or shown as out).
                return self.lookup(id).await;
            };
            let since = self.reconcile_window(id).await?;
            let found = publisher.reconcile(&job, since).await;
            tracing::info!(
                delivery = id,
                result = found.record().0,
                "reconciled after an ambiguous answer"
            );
            self.close(
                id,
                taken.attempt,
                reconcile_closing(&found),
                move |d, now| {
                    transitions::after_reconcile(
                        d,
                        &found,
                        now,
                        &hash,
                        &policy,
                        false,
                        fastrand::f64(),
                    )
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Looks for a cancelled delivery's post that an earlier request may have made: found out,
    /// it is shown as out; found held for later, it is withdrawn. Never creates.
    async fn lookup(&self, id: i64) -> Result<()> {
        let Some(taken) = self.take(id, Step::Lookup).await? else {
            return Ok(());
        };
        let publisher = self.publishers[&taken.delivery.channel].clone();
        let policy = self.config.retry.clone();
        let (job, hash) = match self.job(&taken).await? {
            Ok(j) => j,
            Err(problems) => {
                let found = Reconciled::Undecidable { message: problems };
                self.close(
                    id,
                    taken.attempt,
                    reconcile_closing(&found),
                    move |d, now| {
                        transitions::after_reconcile(d, &found, now, "", &policy, false, 0.5)
                    },
                )
                .await?;
                return Ok(());
            }
        };
        let since = self.reconcile_window(id).await?;
        let found = publisher.reconcile(&job, since).await;
        tracing::info!(
            delivery = id,
            result = found.record().0,
            "looked up a cancelled delivery"
        );
        self.close(
            id,
            taken.attempt,
            reconcile_closing(&found),
            move |d, now| {
                transitions::after_reconcile(d, &found, now, &hash, &policy, false, fastrand::f64())
            },
        )
        .await?;
        Ok(())
    }

    async fn update(&self, id: i64) -> Result<()> {
        let Some(taken) = self.take(id, Step::Update).await? else {
            return Ok(());
        };
        let d = taken.delivery.clone();
        let publisher = self.publishers[&d.channel].clone();
        let policy = self.config.retry.clone();
        let now = self.clock.now();
        // A held post moved outside the window the platform accepts (too close, or too far):
        // take it back, and loa schedules it itself (handing it over again when it can).
        let outside_window = match (d.platform_scheduled, publisher.native_window(), d.due_at) {
            (true, Some((min, max)), Some(due)) => due - now < min || due - now > max,
            (true, None, _) => true,
            _ => false,
        };
        if let (true, Some(remote_id)) = (outside_window, d.remote_id.clone()) {
            let outcome = publisher.delete(&remote_id).await;
            tracing::info!(
                delivery = id,
                outcome = outcome.class(),
                "held post taken back to be rescheduled by loa"
            );
            self.close(id, taken.attempt, closing(&outcome), move |d, now| {
                (
                    transitions::after_requeue(d, &outcome, now, &policy, fastrand::f64()),
                    (),
                )
            })
            .await?;
            return Ok(());
        }
        let (outcome, hash) = match (self.job(&taken).await?, d.remote_id.clone()) {
            (Ok((job, hash)), Some(remote_id)) => (publisher.update(&job, &remote_id).await, hash),
            (Err(problems), _) => (Outcome::Permanent { message: problems }, String::new()),
            (_, None) => (
                Outcome::Permanent {
                    message: "no platform id to update".into(),
                },
                String::new(),
            ),
        };
        tracing::info!(delivery = id, channel = %d.channel, outcome = outcome.class(), "update attempt");
        self.close(id, taken.attempt, closing(&outcome), move |d, now| {
            (
                transitions::after_update(d, &outcome, now, &hash, &policy, fastrand::f64()),
                (),
            )
        })
        .await?;
        Ok(())
    }

    /// Checks that a post the platform held has gone out.
    async fn confirm(&self, id: i64) -> Result<()> {
        let Some(taken) = self.take(id, Step::Confirm).await? else {
            return Ok(());
        };
        let d = taken.delivery.clone();
        let Some(remote_id) = d.remote_id.clone() else {
            return Ok(());
        };
        let publisher = self.publishers[&d.channel].clone();
        let policy = self.config.retry.clone();
        let (outcome, hash) = match self.job(&taken).await? {
            Ok((job, hash)) => (publisher.confirm(&job, &remote_id).await, hash),
            Err(problems) => (
                Outcome::Transient {
                    message: problems,
                    retry_after: None,
                },
                String::new(),
            ),
        };
        tracing::info!(delivery = id, channel = %d.channel, outcome = outcome.class(), "confirm");
        self.close(id, taken.attempt, closing(&outcome), move |d, now| {
            (
                transitions::after_confirm(d, &outcome, now, &hash, &policy, fastrand::f64()),
                (),
            )
        })
        .await?;
        Ok(())
    }

    /// Sends a published post to the channel's followers, once.
    async fn broadcast(&self, id: i64) -> Result<()> {
        let Some(taken) = self.take(id, Step::Broadcast).await? else {
            return Ok(());
        };
        let d = taken.delivery.clone();
        let policy = self.config.retry.clone();
        let outcome = match (self.job(&taken).await?, d.remote_id.clone()) {
            (Ok((job, _)), Some(remote_id)) => {
                self.publishers[&d.channel]
                    .broadcast(&job, &remote_id)
                    .await
            }
            // Taken, so the attempt is closed rather than left `sending` (which would read as
            // a broadcast that may have gone out).
            (_, None) => Outcome::Permanent {
                message: "no platform id to send to followers".into(),
            },
            (Err(problems), _) => Outcome::Permanent { message: problems },
        };
        tracing::info!(delivery = id, channel = %d.channel, outcome = outcome.class(), "broadcast");
        self.close(id, taken.attempt, closing(&outcome), move |d, now| {
            (
                transitions::after_broadcast(d, &outcome, now, &policy, fastrand::f64()),
                (),
            )
        })
        .await?;
        Ok(())
    }

    /// Takes back a cancelled post that the platform holds for later.
    async fn withdraw(&self, id: i64) -> Result<()> {
        let Some(taken) = self.take(id, Step::Withdraw).await? else {
            return Ok(());
        };
        let d = taken.delivery.clone();
        let Some(remote_id) = d.remote_id.clone() else {
            return Ok(());
        };
        let policy = self.config.retry.clone();
        let outcome = self.publishers[&d.channel].delete(&remote_id).await;
        tracing::info!(delivery = id, channel = %d.channel, outcome = outcome.class(), "withdraw");
        self.close(id, taken.attempt, closing(&outcome), move |d, now| {
            (
                transitions::after_withdraw(d, &outcome, now, &policy, fastrand::f64()),
                (),
            )
        })
        .await?;
        Ok(())
    }

    /// `loa unpublish` for one delivery: removes the post the platform has. `None` when the
    /// delivery is not on the platform (any more).
    pub async fn unpublish_delivery(&self, id: i64) -> Result<Option<Outcome>> {
        let Some(taken) = self.take(id, Step::Unpublish).await? else {
            return Ok(None);
        };
        let Some(remote_id) = taken.delivery.remote_id.clone() else {
            return Ok(None);
        };
        let Some(publisher) = self.publisher(taken.delivery.channel) else {
            return Ok(None);
        };
        let outcome = publisher.delete(&remote_id).await;
        let recorded = outcome.clone();
        self.close(id, taken.attempt, closing(&outcome), move |d, _| {
            (transitions::after_unpublish(d, &recorded), ())
        })
        .await?;
        Ok(Some(outcome))
    }

    /// A reconciliation looks from two minutes before the newest create attempt (clock skew).
    async fn reconcile_window(&self, id: i64) -> Result<DateTime<Utc>> {
        let fallback = self.clock.now() - chrono::Duration::days(1);
        let started = self.with_store(move |s| s.last_create_started(id)).await?;
        Ok(started.map_or(fallback, |t| t - chrono::Duration::minutes(2)))
    }
}

/// How an attempt that got `outcome` is recorded.
fn closing(outcome: &Outcome) -> Closing {
    let remote_id = match outcome {
        Outcome::Published { remote_id } | Outcome::ScheduledOnPlatform { remote_id, .. } => {
            Some(remote_id.clone())
        }
        _ => None,
    };
    Closing {
        class: outcome.class().to_string(),
        remote_id,
        message: outcome.message().map(String::from),
    }
}

/// How a look-up that found `found` is recorded.
fn reconcile_closing(found: &Reconciled) -> Closing {
    let (class, remote_id, message) = found.record();
    Closing {
        class: class.to_string(),
        remote_id,
        message,
    }
}

/// What one dispatch did.
struct Dispatched {
    /// Requests started.
    started: usize,
    /// Whether ready work was left for want of a permit (a finishing task wakes the loop).
    waiting: bool,
}

/// How many candidates per permit one turn reads from the store.
const READY_PAGE: usize = 8;

/// Channels that may not be sent to now: paused, or waiting for a token.
fn blocked_channels(s: &Store, now: DateTime<Utc>) -> store::Result<BTreeSet<Channel>> {
    Ok(s.channels()?
        .into_iter()
        .filter(|c| c.health == Health::NeedsReauth || c.paused_until.is_some_and(|t| t > now))
        .map(|c| c.channel)
        .collect())
}

/// The times that take a slot on `channel`: every delivery still going or gone out but `except`.
fn taken_times(all: &[Delivery], channel: Channel, except: Option<i64>) -> Vec<DateTime<Utc>> {
    all.iter()
        .filter(|o| {
            o.channel == channel
                && Some(o.id) != except
                && !matches!(o.state, State::Cancelled | State::Failed | State::Missed)
        })
        .filter_map(|o| o.due_at)
        .collect()
}

/// The slot of delivery `i` when a dated delivery of its channel is due within the hour of it:
/// only a slotted delivery not yet tried, still ahead, and not being updated on the platform.
fn dated_post_in_slot(all: &[Delivery], i: usize, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let d = &all[i];
    let slot = d.due_at.filter(|t| *t > now)?;
    let movable = d.state == State::Scheduled && d.slotted && d.update_state.is_none();
    let dated = all.iter().any(|o| {
        o.id != d.id
            && o.channel == d.channel
            && !o.slotted
            && !matches!(o.state, State::Cancelled | State::Failed | State::Missed)
            && o.due_at.is_some_and(|t| (t - slot).abs() < slots::SLOT_GAP)
    });
    (movable && dated).then_some(slot)
}

/// Gives slots to deliveries waiting for one (file-name order), and marks as missed the
/// deliveries overdue by more than `max_lateness` that were never tried.
pub fn bookkeeping(s: &mut Store, config: &Config, now: DateTime<Utc>) -> store::Result<()> {
    // Ids and paths only: a post's text is not needed to order slots.
    let posts: BTreeMap<String, String> = s.post_paths()?.into_iter().collect();
    // Only what can matter: deliveries still waiting, and those due from an hour before now on
    // (a slot is at or after now, and only a time within the hour of it takes it). The
    // published history is not read.
    let mut all = s.deliveries_due_since(now - slots::SLOT_GAP)?;
    all.sort_by(|a, b| posts.get(&a.post_id).cmp(&posts.get(&b.post_id)));
    let lateness = chrono::Duration::from_std(config.schedule.max_lateness).unwrap_or_default();
    for i in 0..all.len() {
        if let Some(slot) = dated_post_in_slot(&all, i, now) {
            // A dated post came to this slot after it was given: the officer's date wins and
            // the slotted post moves to the channel's next free slot (the platform is told
            // when it already holds it).
            let taken = taken_times(&all, all[i].channel, Some(all[i].id));
            let moved = slots::next_free(&config.schedule.slots, config.timezone, now, &taken);
            tracing::info!(delivery = all[i].id, %slot, ?moved, "slot taken by a dated post");
            all[i].due_at = moved;
            if all[i].platform_scheduled {
                all[i].update_state = Some(UpdateState::Pending);
                all[i].next_attempt_at = None;
            }
            s.save_delivery(&all[i])?;
            continue;
        }
        let d = &all[i];
        if d.state == State::Scheduled && d.slotted && d.due_at.is_none() {
            let taken = taken_times(&all, d.channel, None);
            if let Some(slot) =
                slots::next_free(&config.schedule.slots, config.timezone, now, &taken)
            {
                all[i].due_at = Some(slot);
                s.save_delivery(&all[i])?;
            }
        } else if matches!(d.state, State::Scheduled | State::RetryWait)
            && d.attempts == 0
            && d.due_at.is_some_and(|due| now - due > lateness)
        {
            let due = d
                .due_at
                .map(|t| {
                    t.with_timezone(&config.timezone)
                        .format("%Y-%m-%d %H:%M %Z")
                        .to_string()
                })
                .unwrap_or_default();
            all[i].state = State::Missed;
            all[i].last_error = Some(tr(
                format!(
                    "missed: it was due {due} and loa was not running; `loa retry` publishes it now"
                ),
                format!(
                    "lỡ lịch: bài đến hạn lúc {due} khi loa không chạy; `loa retry` để đăng ngay"
                ),
            ));
            s.save_delivery(&all[i])?;
        }
    }
    Ok(())
}

/// Hands memory freed after work (a sync, the deliveries read by a dispatch pass, a metrics
/// round) back to the system; the dispatcher calls it each time before it sleeps with nothing
/// in flight. glibc keeps what is freed: without this, an idle service over 10,000 posts stays
/// at the size of its start-up reading (measured: 18 MB of 38 MB anonymous memory).
/// `malloc_trim` returns the free pages inside every arena but trims the *top* of the main
/// arena only, which is why [`steady_heap`] fixes the thresholds that trim a thread's arena.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free pages to the system; it takes no pointer and
    // is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Fixes glibc's trim and mmap thresholds at their defaults (128 KiB); call before any thread
/// starts (the runtime's blocking pool).
///
/// glibc gives each thread that allocates its own arena, and `malloc_trim` never shrinks the
/// top of a thread's arena (only the main one's): its free top goes back to the system only
/// when a `free` leaves more than the trim threshold there, and glibc raises that threshold
/// (up to 64 MB) each time a large block, such as a `Vec` of 10,000 deliveries, is freed. So
/// every blocking-pool thread that ran a sync or read the queue kept megabytes: measured over
/// 10,000 posts, four arenas held 3–6 MB each after 100 file events (anonymous memory
/// 6.3 → 18.1 MB, while massif counted 2.6 MB live at both). With the thresholds fixed, large
/// blocks are mapped and unmapped on their own and a thread's arena gives back its top on
/// `free`: 6.1 → 6.0 MB. One arena (`M_ARENA_MAX` 1) stopped the growth too, but made the
/// deliveries bench 9 % slower; fixed thresholds cost nothing measurable there.
pub fn steady_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` changes a setting of the allocator; it takes no pointer.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Saves a publisher's in-flight token straight to the store.
struct StoreProgress {
    store: Arc<Mutex<Store>>,
    delivery_id: i64,
}

impl ProgressSink for StoreProgress {
    fn save<'a>(&'a self, progress: &'a str) -> BoxFuture<'a, std::result::Result<(), String>> {
        Box::pin(async move {
            let store = self.store.clone();
            let (id, progress) = (self.delivery_id, progress.to_string());
            let saved = tokio::task::spawn_blocking(move || {
                store
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .save_progress(id, &progress)
            })
            .await;
            match saved {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// Opens the store at `data_dir/loa.db`, creating the folder (mode 0700 on Unix: it will hold
/// the token store).
pub fn open_store(data_dir: &Path) -> std::io::Result<Store> {
    std::fs::create_dir_all(data_dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700));
    }
    Store::open(&data_dir.join("loa.db")).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BroadcastState, PostRecord, State, UpdateState};

    /// Every delivery the engine's rule finds ready is among the store's ready candidates, and
    /// every delivery with any work is among the active ones, whatever its fields: the SQL
    /// prefilters never hide work.
    #[test]
    fn the_stores_prefilters_never_hide_work() {
        let now: DateTime<Utc> = "2026-12-06T12:00:00Z".parse().unwrap();
        let native = Some((chrono::Duration::minutes(15), chrono::Duration::days(29)));
        let horizon = now + chrono::Duration::days(29);
        let times = [
            None,
            Some(now - chrono::Duration::days(3)),
            Some(now - chrono::Duration::seconds(30)),
            Some(now),
            Some(now + chrono::Duration::minutes(5)),
            Some(now + chrono::Duration::days(2)),
            Some(now + chrono::Duration::days(40)),
        ];
        let states = [
            State::Scheduled,
            State::Publishing,
            State::RetryWait,
            State::Published,
            State::Unconfirmed,
            State::Failed,
            State::Missed,
            State::Cancelled,
        ];
        let updates = [None, Some(UpdateState::Pending), Some(UpdateState::Sending)];
        let broadcasts = [
            None,
            Some(BroadcastState::Pending),
            Some(BroadcastState::Sent),
        ];
        fastrand::seed(7);
        let mut s = Store::open_in_memory().unwrap();
        let mut rows = Vec::new();
        for i in 0..3000 {
            let id = format!("p{i}");
            s.insert_post(
                &PostRecord {
                    id: id.clone(),
                    path: format!("{i}.md"),
                    content_hash: "h".into(),
                    content: String::new(),
                    title: "t".into(),
                    meta: serde_json::json!({}),
                    problems: None,
                    present: true,
                    first_seen_at: now,
                },
                now,
            )
            .unwrap();
            let channel = if i % 2 == 0 {
                Channel::Facebook
            } else {
                Channel::Zalo
            };
            let pick = |n: usize| fastrand::usize(..n);
            let due = times[pick(times.len())];
            let d_id = s.insert_delivery(&id, channel, due, false).unwrap();
            let mut d = s.delivery(d_id).unwrap().unwrap();
            d.state = states[pick(states.len())];
            d.next_attempt_at = times[pick(times.len())];
            d.broadcast_next = times[pick(times.len())];
            d.platform_scheduled = fastrand::bool();
            d.needs_reconcile = fastrand::bool();
            d.remote_id = fastrand::bool().then(|| "1_2".to_string());
            d.update_state = updates[pick(updates.len())];
            d.broadcast_state = broadcasts[pick(broadcasts.len())];
            s.save_delivery(&d).unwrap();
            rows.push(s.delivery(d_id).unwrap().unwrap());
        }
        let active: BTreeSet<i64> = s
            .active_deliveries()
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect();
        // With a platform scheduler (Facebook's) and without one (the horizon is now).
        for (native, horizon) in [(native, horizon), (None, now)] {
            let mut candidates = BTreeSet::new();
            for channel in [Channel::Facebook, Channel::Zalo] {
                candidates.extend(
                    s.ready_candidates(channel, now, horizon, usize::MAX)
                        .unwrap()
                        .iter()
                        .map(|d| d.id),
                );
            }
            let mut ready = 0;
            for d in &rows {
                if let Some((at, _)) = work_for(d, native, now) {
                    assert!(active.contains(&d.id), "active misses {d:?}");
                    if at <= now {
                        ready += 1;
                        assert!(candidates.contains(&d.id), "candidates miss {d:?}");
                    }
                }
            }
            assert!(ready > 100, "the sample covers ready work ({ready})");
        }
    }
}
