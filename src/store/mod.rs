//! The durable store: SQLite at `data_dir/loa.db`. Only this module speaks SQL.
//!
//! WAL with `synchronous = FULL`: an office PC loses power, and a commit that returned must still be
//! there afterwards, because loa sends a platform request only after its attempt is committed.

mod alerts;
mod dashboard;
mod intent;
mod metrics;
mod migrations;
mod types;

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::channel::Channel;

use crate::i18n::tr;
pub use alerts::{ALERT_WINDOW, PendingSend, StoredAlert, Undelivered};
pub use dashboard::{PostFilter, PostSummary, SnapshotPoint};
pub use intent::{ChannelEffect, Closing, Step, Taken};
pub use metrics::{AccountRow, AttentionRow, Collectable, NewSnapshot, ReportRow, RetiredRecord};
pub use migrations::MIGRATIONS;
pub use types::{
    AttemptKind, BroadcastState, CancelReason, Health, State, UnknownValue, UpdateState,
};

/// A store error. Its text is what the officer reads, in their language: SQLite's own English
/// is told by kind (busy, damaged, full, read-only…), with what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("{}", sql_message(.0))]
    Sql(#[from] rusqlite::Error),
    /// A write found the row changed since it was read: a bug, refused rather than lost.
    #[error("{}", tr(
        format!("delivery {} changed while it was being written; nothing was overwritten", .0),
        format!("lượt đăng {} đã thay đổi trong lúc đang ghi; không có gì bị ghi đè", .0),
    ))]
    Conflict(i64),
    /// The row holds a value this loa does not know; loa leaves it alone.
    #[error("{}: {problem}", tr(format!("delivery {id}"), format!("lượt đăng {id}")))]
    Unreadable {
        /// The row.
        id: i64,
        /// What is wrong with it.
        problem: String,
    },
    /// The database was written by a newer loa.
    #[error("{}", tr(
        format!("the database is at schema {found}, newer than this loa knows ({known}); use the newer loa"),
        format!("cơ sở dữ liệu ở phiên bản {found}, mới hơn phiên bản loa này biết ({known}); hãy dùng bản loa mới hơn"),
    ))]
    TooNew {
        /// Schema version in the file.
        found: usize,
        /// Newest version this build knows.
        known: usize,
    },
}

/// A SQLite error in the officer's words.
fn sql_message(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode as C;
    let what = match e.sqlite_error_code() {
        Some(C::DatabaseBusy | C::DatabaseLocked) => tr(
            "the database is busy (another loa is writing to it); try again in a moment",
            "cơ sở dữ liệu đang bận (một loa khác đang ghi); hãy thử lại sau giây lát",
        ),
        Some(C::DatabaseCorrupt | C::NotADatabase) => tr(
            "the database file (loa.db in data_dir) is damaged or is not loa's; restore it from a backup",
            "tệp cơ sở dữ liệu (loa.db trong data_dir) bị hỏng hoặc không phải của loa; hãy khôi phục từ bản sao lưu",
        ),
        Some(C::DiskFull) => tr(
            "the disk is full; free some space",
            "ổ đĩa đã đầy; hãy giải phóng dung lượng",
        ),
        Some(C::ReadOnly | C::PermissionDenied) => tr(
            "loa is not allowed to write the database (loa.db in data_dir); check its owner and permissions",
            "loa không có quyền ghi cơ sở dữ liệu (loa.db trong data_dir); hãy kiểm tra chủ sở hữu và quyền truy cập",
        ),
        Some(C::CannotOpen) => tr(
            "the database (loa.db in data_dir) cannot be opened; check that data_dir exists and loa may write there",
            "không mở được cơ sở dữ liệu (loa.db trong data_dir); hãy kiểm tra data_dir có tồn tại và loa được ghi vào đó",
        ),
        Some(C::SystemIoFailure) => tr(
            "the disk could not be read or written; check the disk",
            "không đọc hoặc ghi được ổ đĩa; hãy kiểm tra ổ đĩa",
        ),
        _ => tr(
            "the database refused the change; run the command again, and if it happens again, keep a copy of data_dir for the technician",
            "cơ sở dữ liệu từ chối thay đổi; hãy chạy lại lệnh, nếu vẫn lỗi thì giữ một bản sao data_dir cho kỹ thuật viên",
        ),
    };
    format!("{}: {what}", tr("database", "cơ sở dữ liệu"))
}

/// Store result.
pub type Result<T> = std::result::Result<T, StoreError>;

/// A post as the store knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostRecord {
    /// Stable id.
    pub id: String,
    /// Path under `posts_dir`, `/`-separated.
    pub path: String,
    /// sha256 of the normalized text.
    pub content_hash: String,
    /// The normalized text that was read.
    pub content: String,
    /// Title (may be empty for an invalid post).
    pub title: String,
    /// Parsed front matter, as JSON.
    pub meta: serde_json::Value,
    /// Problems, when the post is invalid.
    pub problems: Option<Vec<String>>,
    /// Whether the file is still there.
    pub present: bool,
    /// When loa first saw it.
    pub first_seen_at: DateTime<Utc>,
}

/// One post on one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Row id.
    pub id: i64,
    /// The post.
    pub post_id: String,
    /// The channel.
    pub channel: Channel,
    /// Where it stands.
    pub state: State,
    /// When it is due; `None` while waiting for a slot.
    pub due_at: Option<DateTime<Utc>>,
    /// Whether `due_at` is a weekly slot.
    pub slotted: bool,
    /// Requests made.
    pub attempts: u32,
    /// Attempts counted against `retry.max_attempts`.
    pub failures: u32,
    /// When the next try is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The platform's id once published (or once the platform holds it for later).
    pub remote_id: Option<String>,
    /// The platform holds the post and publishes it itself at `due_at` (native scheduling).
    pub platform_scheduled: bool,
    /// Sending the published post to followers (Zalo).
    pub broadcast_state: Option<BroadcastState>,
    /// No broadcast try before this.
    pub broadcast_next: Option<DateTime<Utc>>,
    /// The platform's message id for the broadcast.
    pub broadcast_id: Option<String>,
    /// Why the broadcast is not sent, in the platform's words.
    pub broadcast_error: Option<String>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// Content hash of what is on the platform.
    pub published_hash: Option<String>,
    /// A platform's in-flight token, kept so a retry resumes instead of re-creating.
    pub progress: Option<String>,
    /// The next try must first look on the platform.
    pub needs_reconcile: bool,
    /// Reconciliations that could not decide.
    pub reconcile_tries: u32,
    /// An update of the published post.
    pub update_state: Option<UpdateState>,
    /// The last error, in the platform's words where it gave some.
    pub last_error: Option<String>,
    /// Why it was cancelled (on a published delivery: the officer cancelled what was still to
    /// be done, such as a broadcast in flight).
    pub cancel_reason: Option<CancelReason>,
    /// Bumped by every write; a write must have read the row at this version.
    pub version: i64,
}

impl Delivery {
    /// When this delivery may next be tried: its retry time, else its due time.
    pub fn ready_at(&self) -> Option<DateTime<Utc>> {
        match (self.next_attempt_at, self.due_at) {
            (Some(n), Some(d)) => Some(n.max(d)),
            (n, d) => n.or(d),
        }
    }
}

/// A channel's health.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelRecord {
    /// The channel.
    pub channel: Channel,
    /// Whether requests may be sent.
    pub health: Health,
    /// No request before this time.
    pub paused_until: Option<DateTime<Utc>>,
    /// Why, in the platform's words.
    pub reason: Option<String>,
    /// When the channel's token expires, when known.
    pub token_expires_at: Option<DateTime<Utc>>,
}

/// One request made (or being made).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptRecord {
    /// Row id.
    pub id: i64,
    /// What was asked.
    pub kind: AttemptKind,
    /// When the request was about to be sent.
    pub started_at: DateTime<Utc>,
    /// Outcome class, `None` while in flight (or if loa died during it).
    pub outcome: Option<String>,
    /// The platform's words.
    pub message: Option<String>,
}

/// Formats a time the way the store keeps it: UTC, fixed width, so text order is time order.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn parse_ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The rows [`Store::active_deliveries`] reads (kept in step with the engine's `work_for`; a
/// test there checks every state against it).
const ACTIVE: &str = "state IN ('scheduled', 'retry_wait') \
    OR (state = 'published' AND (update_state = 'pending' OR broadcast_state = 'pending')) \
    OR (state = 'cancelled' AND (needs_reconcile = 1 OR (platform_scheduled = 1 AND remote_id IS NOT NULL)))";

/// The rows [`Store::ready_candidates`] reads (`?2` now, `?3` the scheduling horizon): each
/// branch of the engine's `work_for`, with its time condition.
const READY: &str = "((next_attempt_at IS NULL OR next_attempt_at <= ?2) AND ( \
        (state IN ('scheduled', 'retry_wait') AND platform_scheduled = 1 \
            AND (update_state = 'pending' OR due_at <= ?2)) \
        OR (state IN ('scheduled', 'retry_wait') AND platform_scheduled = 0 AND due_at <= ?3) \
        OR (state = 'published' AND update_state = 'pending') \
        OR (state = 'cancelled' AND (needs_reconcile = 1 \
            OR (platform_scheduled = 1 AND remote_id IS NOT NULL))))) \
    OR (state = 'published' AND broadcast_state = 'pending' \
        AND (broadcast_next IS NULL OR broadcast_next <= ?2))";

const DELIVERY_COLUMNS: &str = "id, post_id, channel, state, due_at, slotted, attempts, failures, next_attempt_at, remote_id, \
     published_at, published_hash, progress, needs_reconcile, reconcile_tries, update_state, last_error, cancel_reason, \
     platform_scheduled, broadcast_state, broadcast_next, broadcast_id, broadcast_error, version";

/// A delivery row that holds a value this loa does not know. loa never acts on it (no claim
/// matches it) and `status` shows it with `problem`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnreadableDelivery {
    /// Row id.
    pub id: i64,
    /// The post.
    pub post_id: String,
    /// The channel as stored.
    pub channel: String,
    /// What is wrong.
    pub problem: String,
}

fn delivery_from_row(r: &Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        post_id: r.get(1)?,
        channel: r.get(2)?,
        state: r.get(3)?,
        due_at: parse_ts(r.get(4)?),
        slotted: r.get(5)?,
        attempts: r.get(6)?,
        failures: r.get(7)?,
        next_attempt_at: parse_ts(r.get(8)?),
        remote_id: r.get(9)?,
        published_at: parse_ts(r.get(10)?),
        published_hash: r.get(11)?,
        progress: r.get(12)?,
        needs_reconcile: r.get(13)?,
        reconcile_tries: r.get(14)?,
        update_state: r.get(15)?,
        last_error: r.get(16)?,
        cancel_reason: r.get(17)?,
        platform_scheduled: r.get(18)?,
        broadcast_state: r.get(19)?,
        broadcast_next: parse_ts(r.get(20)?),
        broadcast_id: r.get(21)?,
        broadcast_error: r.get(22)?,
        version: r.get(23)?,
    })
}

/// Whether `e` says a value could not be read as its type (an unknown name, a wrong type).
fn is_unreadable(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::FromSqlConversionFailure(..) | rusqlite::Error::InvalidColumnType(..)
    )
}

/// Reads a delivery row, or says why it cannot be read.
fn read_delivery(
    r: &Row<'_>,
) -> rusqlite::Result<std::result::Result<Delivery, UnreadableDelivery>> {
    match delivery_from_row(r) {
        Ok(d) => Ok(Ok(d)),
        Err(e) if is_unreadable(&e) => {
            let problem = match &e {
                rusqlite::Error::FromSqlConversionFailure(_, _, inner) => inner.to_string(),
                other => other.to_string(),
            };
            Ok(Err(UnreadableDelivery {
                id: r.get(0)?,
                post_id: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                channel: r
                    .get::<_, Option<String>>(2)
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
                problem,
            }))
        }
        Err(e) => Err(e),
    }
}

/// The readable deliveries among `rows`; the others are logged and left alone.
fn readable(
    rows: impl Iterator<Item = rusqlite::Result<std::result::Result<Delivery, UnreadableDelivery>>>,
) -> rusqlite::Result<Vec<Delivery>> {
    let mut out = Vec::new();
    for row in rows {
        match row? {
            Ok(d) => out.push(d),
            Err(u) => {
                tracing::warn!(delivery = u.id, problem = %u.problem, "unreadable delivery left alone")
            }
        }
    }
    Ok(out)
}

const POST_COLUMNS: &str =
    "id, path, content_hash, content, title, meta, problems, present, first_seen_at";

fn post_from_row(r: &Row<'_>) -> rusqlite::Result<PostRecord> {
    let meta: String = r.get(5)?;
    let problems: Option<String> = r.get(6)?;
    Ok(PostRecord {
        id: r.get(0)?,
        path: r.get(1)?,
        content_hash: r.get(2)?,
        content: r.get(3)?,
        title: r.get(4)?,
        meta: serde_json::from_str(&meta).unwrap_or_default(),
        problems: problems.and_then(|p| serde_json::from_str(&p).ok()),
        present: r.get(7)?,
        first_seen_at: parse_ts(r.get(8)?).unwrap_or_default(),
    })
}

/// Writes every field of `d` that loa decides, if the row is still at the version `d` was read
/// at (and bumps it). `attempts` is left alone: it counts requests and is only ever incremented
/// where a request is recorded (a claim, `begin_attempt`).
fn write_delivery(conn: &Connection, d: &Delivery) -> Result<()> {
    // Cached: with the alert triggers attached, preparing this statement anew for every write
    // costs more than the write itself.
    let changed = conn.prepare_cached(
        "UPDATE deliveries SET state = ?2, due_at = ?3, slotted = ?4, failures = ?5, next_attempt_at = ?6,
             remote_id = ?7, published_at = ?8, published_hash = ?9, progress = ?10, needs_reconcile = ?11,
             reconcile_tries = ?12, update_state = ?13, last_error = ?14, cancel_reason = ?15,
             platform_scheduled = ?16, broadcast_state = ?17, broadcast_next = ?18, broadcast_id = ?19,
             broadcast_error = ?20, version = version + 1
         WHERE id = ?1 AND version = ?21")?.execute(
        params![
            d.id,
            d.state,
            d.due_at.map(ts),
            d.slotted,
            d.failures,
            d.next_attempt_at.map(ts),
            d.remote_id,
            d.published_at.map(ts),
            d.published_hash,
            d.progress,
            d.needs_reconcile,
            d.reconcile_tries,
            d.update_state,
            d.last_error,
            d.cancel_reason,
            d.platform_scheduled,
            d.broadcast_state,
            d.broadcast_next.map(ts),
            d.broadcast_id,
            d.broadcast_error,
            d.version
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::Conflict(d.id));
    }
    Ok(())
}

/// The store. Methods that change several rows do so in one transaction.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Store> {
        Self::setup(Connection::open(path)?)
    }

    /// An empty in-memory store, for tests.
    pub fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let found = usize::try_from(found).unwrap_or(0);
        if found > MIGRATIONS.len() {
            return Err(StoreError::TooNew {
                found,
                known: MIGRATIONS.len(),
            });
        }
        migrations::migrate(&mut conn)?;
        Ok(Store { conn })
    }

    /// Rows this connection has inserted, updated or deleted since it opened.
    pub fn total_changes(&self) -> u64 {
        self.conn.total_changes()
    }

    /// Frees SQLite's page cache of this connection (`PRAGMA shrink_memory`): up to its 2 MB,
    /// kept by an idle service after every scan of the queue otherwise. Only pages no statement
    /// holds are freed; nothing is written. A failure only means the cache stays.
    pub fn release_cache(&self) {
        let _ = self.conn.execute_batch("PRAGMA shrink_memory");
    }

    /// `PRAGMA integrity_check` answers `ok`.
    pub fn integrity_ok(&self) -> Result<bool> {
        let answer: String = self
            .conn
            .pragma_query_value(None, "integrity_check", |r| r.get(0))?;
        Ok(answer == "ok")
    }

    // ---- posts

    /// Every post whose file is present, by path.
    pub fn present_posts(&self) -> Result<Vec<PostRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {POST_COLUMNS} FROM posts WHERE present = 1 ORDER BY path"
        ))?;
        let rows = stmt.query_map([], post_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every post, present or not, by path.
    pub fn all_posts(&self) -> Result<Vec<PostRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {POST_COLUMNS} FROM posts ORDER BY path, first_seen_at"
        ))?;
        let rows = stmt.query_map([], post_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Posts whose file is gone and whose content hash is `hash`: candidates for a rename.
    pub fn absent_posts_with_hash(&self, hash: &str) -> Result<Vec<PostRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {POST_COLUMNS} FROM posts WHERE present = 0 AND content_hash = ?1 ORDER BY updated_at DESC"
        ))?;
        let rows = stmt.query_map([hash], post_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A post by id.
    pub fn post(&self, id: &str) -> Result<Option<PostRecord>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {POST_COLUMNS} FROM posts WHERE id = ?1"),
                [id],
                post_from_row,
            )
            .optional()?)
    }

    /// Adds a post.
    pub fn insert_post(&mut self, p: &PostRecord, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO posts (id, path, content_hash, content, title, meta, problems, present, first_seen_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                p.id,
                p.path,
                p.content_hash,
                p.content,
                p.title,
                p.meta.to_string(),
                p.problems.as_ref().map(|v| serde_json::to_string(v).unwrap_or_default()),
                p.present,
                ts(p.first_seen_at),
                ts(now)
            ],
        )?;
        Ok(())
    }

    /// Replaces a post's content, path and problems (an edit, a rename, or a re-check).
    pub fn update_post(&mut self, p: &PostRecord, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE posts SET path = ?2, content_hash = ?3, content = ?4, title = ?5, meta = ?6, problems = ?7,
                 present = ?8, updated_at = ?9 WHERE id = ?1",
            params![
                p.id,
                p.path,
                p.content_hash,
                p.content,
                p.title,
                p.meta.to_string(),
                p.problems.as_ref().map(|v| serde_json::to_string(v).unwrap_or_default()),
                p.present,
                ts(now)
            ],
        )?;
        Ok(())
    }

    /// Marks a post's file as gone.
    pub fn mark_absent(&mut self, id: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE posts SET present = 0, updated_at = ?2 WHERE id = ?1",
            params![id, ts(now)],
        )?;
        Ok(())
    }

    // ---- deliveries

    /// Every delivery, in post path then channel order.
    pub fn deliveries(&self) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries ORDER BY post_id, channel"
        ))?;
        let rows = stmt.query_map([], read_delivery)?;
        Ok(readable(rows)?)
    }

    /// The deliveries that may still have work for the engine: waiting to publish, held by a
    /// platform, published with an update or a broadcast pending, cancelled with something
    /// left to withdraw or look up. A superset of what the engine's own rule picks, read
    /// without touching the published history (which only grows), so a service with years of
    /// posts does not read them all at every turn.
    pub fn active_deliveries(&self) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {ACTIVE} ORDER BY post_id, channel"
        ))?;
        let rows = stmt.query_map([], read_delivery)?;
        Ok(readable(rows)?)
    }

    /// Up to `limit` deliveries of `channel` that may be ready at `now`, soonest first: the rows
    /// of [`Store::active_deliveries`] whose own times allow work now (`horizon` is how far
    /// ahead a post may be handed to a platform's scheduler). A superset of what is ready, cut
    /// to what one turn of the engine can start, so a turn costs the same with 10 or 10,000
    /// posts waiting.
    pub fn ready_candidates(
        &self,
        channel: Channel,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE channel = ?1 AND ({READY}) \
             ORDER BY COALESCE(next_attempt_at, broadcast_next, due_at, ''), id LIMIT ?4"
        ))?;
        let rows = stmt.query_map(
            params![
                channel.name(),
                ts(now),
                ts(horizon),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            read_delivery,
        )?;
        Ok(readable(rows)?)
    }

    /// The deliveries still waiting (scheduled, retrying, in flight) and every other one due at
    /// or after `since`, in post then channel order: what slot bookkeeping needs.
    pub fn deliveries_due_since(&self, since: DateTime<Utc>) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries \
             WHERE state IN ('scheduled', 'retry_wait', 'publishing') OR due_at >= ?1 \
             ORDER BY post_id, channel"
        ))?;
        let rows = stmt.query_map([ts(since)], read_delivery)?;
        Ok(readable(rows)?)
    }

    /// Deliveries whose row holds a value this loa does not know (never acted on).
    pub fn unreadable_deliveries(&self) -> Result<Vec<UnreadableDelivery>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries ORDER BY post_id, channel"
        ))?;
        let rows = stmt.query_map([], read_delivery)?;
        let mut out = Vec::new();
        for row in rows {
            if let Err(u) = row? {
                out.push(u);
            }
        }
        Ok(out)
    }

    /// A post's deliveries.
    pub fn deliveries_of(&self, post_id: &str) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE post_id = ?1 ORDER BY channel"
        ))?;
        let rows = stmt.query_map([post_id], read_delivery)?;
        Ok(readable(rows)?)
    }

    /// One delivery; an unreadable row is an error that names the problem.
    pub fn delivery(&self, id: i64) -> Result<Option<Delivery>> {
        read_one(&self.conn, id)
    }

    /// Adds a delivery in `scheduled`.
    pub fn insert_delivery(
        &mut self,
        post_id: &str,
        channel: Channel,
        due_at: Option<DateTime<Utc>>,
        slotted: bool,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO deliveries (post_id, channel, state, due_at, slotted) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![post_id, channel, State::Scheduled, due_at.map(ts), slotted],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Writes every mutable field of `d`, which must have been read in the same transaction
    /// (sync, bookkeeping): a row changed since is refused with [`StoreError::Conflict`].
    pub fn save_delivery(&mut self, d: &Delivery) -> Result<()> {
        write_delivery(&self.conn, d)
    }

    /// The attempts of a delivery, oldest first.
    pub fn attempts_of(&self, delivery_id: i64) -> Result<Vec<AttemptRecord>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, kind, started_at, outcome, message FROM attempts WHERE delivery_id = ?1 ORDER BY id")?;
        // An attempt's kind is a record of the past: an unknown one is shown, not refused.
        let rows = stmt.query_map([delivery_id], |r| {
            Ok(AttemptRecord {
                id: r.get(0)?,
                kind: r.get(1)?,
                started_at: parse_ts(r.get(2)?).unwrap_or_default(),
                outcome: r.get(3)?,
                message: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The newest create attempt's start: the window a reconciliation searches from.
    pub fn last_create_started(&self, delivery_id: i64) -> Result<Option<DateTime<Utc>>> {
        let s: Option<String> = self
            .conn
            .query_row(
                "SELECT started_at FROM attempts WHERE delivery_id = ?1 AND kind = ?2 ORDER BY id DESC LIMIT 1",
                params![delivery_id, AttemptKind::Create],
                |r| r.get(0),
            )
            .optional()?;
        Ok(parse_ts(s))
    }

    /// Closes attempts left open by a crash; returns how many.
    pub fn close_dangling_attempts(&mut self, now: DateTime<Utc>) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE attempts SET finished_at = ?1, outcome = 'interrupted' WHERE outcome IS NULL",
            [ts(now)],
        )?)
    }

    // ---- channels

    /// Every channel's recorded health.
    pub fn channels(&self) -> Result<Vec<ChannelRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT channel, health, paused_until, reason, token_expires_at FROM channels ORDER BY channel",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ChannelRecord {
                channel: r.get(0)?,
                health: r.get(1)?,
                paused_until: parse_ts(r.get(2)?),
                reason: r.get(3)?,
                token_expires_at: parse_ts(r.get(4)?),
            })
        })?;
        let mut out = Vec::new();
        for row in rows {
            match row {
                Ok(c) => out.push(c),
                // A channel row loa cannot read is treated as one that needs a person.
                Err(e) if is_unreadable(&e) => {
                    tracing::warn!(error = %e, "unreadable channel record left alone");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// A channel's record (a fresh `ok` one when nothing was recorded yet).
    pub fn channel(&self, channel: Channel) -> Result<ChannelRecord> {
        Ok(self
            .channels()?
            .into_iter()
            .find(|c| c.channel == channel)
            .unwrap_or(ChannelRecord {
                channel,
                health: Health::Ok,
                paused_until: None,
                reason: None,
                token_expires_at: None,
            }))
    }

    /// Records a channel's health and pause.
    pub fn set_channel(&mut self, c: &ChannelRecord) -> Result<()> {
        self.conn.execute(
            "INSERT INTO channels (channel, health, paused_until, reason, token_expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (channel) DO UPDATE SET health = ?2, paused_until = ?3, reason = ?4, token_expires_at = ?5",
            params![c.channel, c.health, c.paused_until.map(ts), c.reason, c.token_expires_at.map(ts)],
        )?;
        Ok(())
    }

    /// Runs `f` in one transaction (for the sync of the posts folder, which changes many rows).
    pub fn in_transaction<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// What sync needs of a present post to place a file event without its text: a post's record
/// carries its whole text, and a folder of 10,000 posts must not be held in memory at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostHead {
    /// Stable id.
    pub id: String,
    /// Path under `posts_dir`, `/`-separated.
    pub path: String,
    /// sha256 of the normalized text.
    pub content_hash: String,
    /// When loa first saw it.
    pub first_seen_at: DateTime<Utc>,
    /// No problems were recorded for it.
    pub clean: bool,
}

const HEAD_COLUMNS: &str = "id, path, content_hash, first_seen_at, problems IS NULL";

fn head_from_row(r: &Row<'_>) -> rusqlite::Result<PostHead> {
    Ok(PostHead {
        id: r.get(0)?,
        path: r.get(1)?,
        content_hash: r.get(2)?,
        first_seen_at: parse_ts(r.get(3)?).unwrap_or_default(),
        clean: r.get(4)?,
    })
}

impl Store {
    fn heads_where(&self, condition: &str, args: impl rusqlite::Params) -> Result<Vec<PostHead>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {HEAD_COLUMNS} FROM posts WHERE present = 1 {condition} ORDER BY path"
        ))?;
        let rows = stmt.query_map(args, head_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every present post's head, by path.
    pub fn present_heads(&self) -> Result<Vec<PostHead>> {
        self.heads_where("", [])
    }

    /// The present post at `path`, if any.
    pub fn present_head_at(&self, path: &str) -> Result<Option<PostHead>> {
        Ok(self
            .heads_where("AND path = ?1", [path])?
            .into_iter()
            .next())
    }

    /// Present posts whose text has the hash `hash` (copies of one another).
    pub fn present_heads_with_hash(&self, hash: &str) -> Result<Vec<PostHead>> {
        self.heads_where("AND content_hash = ?1", [hash])
    }

    /// Present posts at `path` or under the folder `path`.
    pub fn present_heads_under(&self, path: &str) -> Result<Vec<PostHead>> {
        self.heads_where(
            "AND (path = ?1 OR substr(path, 1, length(?1) + 1) = ?1 || '/')",
            [path],
        )
    }

    /// Present posts whose text contains `text` (an image's file name).
    pub fn present_heads_mentioning(&self, text: &str) -> Result<Vec<PostHead>> {
        self.heads_where("AND instr(content, ?1) > 0", [text])
    }

    /// Every post's id and path, present or not, without their text.
    pub fn post_paths(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached("SELECT id, path FROM posts")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The deliveries of one post whose row this loa cannot read.
    pub fn unreadable_deliveries_of(&self, post_id: &str) -> Result<Vec<UnreadableDelivery>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE post_id = ?1 ORDER BY channel"
        ))?;
        let rows = stmt.query_map([post_id], read_delivery)?;
        let mut out = Vec::new();
        for row in rows {
            if let Err(u) = row? {
                out.push(u);
            }
        }
        Ok(out)
    }
}

/// One delivery read in `conn` (a transaction or not); an unreadable row is an error.
fn read_one(conn: &Connection, id: i64) -> Result<Option<Delivery>> {
    let row = conn
        .query_row(
            &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?1"),
            [id],
            read_delivery,
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some(Ok(d)) => Ok(Some(d)),
        Some(Err(u)) => Err(StoreError::Unreadable {
            id: u.id,
            problem: u.problem,
        }),
    }
}

#[cfg(test)]
mod tests;
