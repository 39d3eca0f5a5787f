//! Snapshots of reach and engagement, the per-delivery collection plan, retired metrics and the
//! accounts' daily followers: what `metrics::collect` writes and the report reads.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Result, Store, parse_ts, ts};
use crate::channel::Channel;
use crate::metrics::cadence;
use crate::metrics::{Figures, RetiredMetric};

/// A published delivery that collection may ask about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collectable {
    /// The delivery.
    pub delivery_id: i64,
    /// Its channel.
    pub channel: Channel,
    /// The platform's id of the post.
    pub remote_id: String,
    /// When it went out.
    pub published_at: DateTime<Utc>,
    /// The newest age step taken, if any.
    pub last_step: Option<u8>,
}

/// One snapshot to keep.
#[derive(Clone, Debug, PartialEq)]
pub struct NewSnapshot<'a> {
    /// The delivery.
    pub delivery_id: i64,
    /// When it was taken.
    pub taken_at: DateTime<Utc>,
    /// The age step it counts as (`None`: taken by hand, counts as none).
    pub step: Option<u8>,
    /// The normalized figures.
    pub figures: &'a Figures,
    /// Figures recorded as missing because the platform retired their metric.
    pub missing: &'a [String],
    /// The platform's answers.
    pub raw: &'a serde_json::Value,
    /// Where the post is seen, when the platform said.
    pub link: Option<&'a str>,
}

/// A metric a platform retired, as remembered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetiredRecord {
    /// The channel.
    pub channel: Channel,
    /// The platform's name.
    pub metric: String,
    /// The contract's name of the figure it filled.
    pub figure: String,
    /// When loa learnt it.
    pub retired_at: DateTime<Utc>,
    /// The platform's words.
    pub message: Option<String>,
}

/// One published delivery with its newest figures, for the report.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportRow {
    /// The delivery.
    pub delivery_id: i64,
    /// The post's file, relative to `posts_dir`.
    pub file: String,
    /// The post's title.
    pub title: String,
    /// The post's tags.
    pub tags: Vec<String>,
    /// The channel.
    pub channel: Channel,
    /// The platform's id.
    pub remote_id: Option<String>,
    /// When it went out.
    pub published_at: DateTime<Utc>,
    /// The newest snapshot's figures (`None`: never collected).
    pub figures: Option<Figures>,
    /// When that snapshot was taken.
    pub taken_at: Option<DateTime<Utc>>,
    /// Where the post is seen on the platform, when known.
    pub link: Option<String>,
    /// Why collection stopped (the platform no longer has the post), if it did.
    pub stopped: Option<String>,
}

/// A delivery that needs the officer, for the report's attention list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttentionRow {
    /// The post's id.
    pub post_id: String,
    /// The post's file.
    pub file: String,
    /// The post's title.
    pub title: String,
    /// The channel.
    pub channel: Channel,
    /// What needs attention: the delivery's state (`failed`, `unconfirmed`, `missed`), or
    /// `update_failed`, `broadcast_failed`, `broadcast_unconfirmed`.
    pub state: String,
    /// The last error, when there is one.
    pub reason: Option<String>,
    /// When it was due.
    pub due_at: Option<DateTime<Utc>>,
}

/// A day's followers of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    /// The channel.
    pub channel: Channel,
    /// The local day.
    pub day: NaiveDate,
    /// The followers, when the platform gave the figure.
    pub followers: Option<u64>,
}

fn to_u64(v: Option<i64>) -> Option<u64> {
    v.and_then(|v| u64::try_from(v).ok())
}

fn to_i64(v: Option<u64>) -> Option<i64> {
    v.map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

fn step_of(v: Option<i64>) -> Option<u8> {
    v.and_then(|v| u8::try_from(v).ok())
}

impl Store {
    /// Published deliveries whose next snapshot may be due at `now` (the caller applies the
    /// cadence), or with `all`, every published delivery still collected.
    pub fn collectable(&self, now: DateTime<Utc>, all: bool) -> Result<Vec<Collectable>> {
        let mut stmt = self.conn.prepare(
            "SELECT d.id, d.channel, d.remote_id, d.published_at, c.last_step
             FROM deliveries d LEFT JOIN collections c ON c.delivery_id = d.id
             WHERE d.state = 'published' AND d.remote_id IS NOT NULL AND d.published_at IS NOT NULL
               AND (c.delivery_id IS NULL
                    OR (c.stopped IS NULL AND (?2 OR (c.next_due_at IS NOT NULL AND c.next_due_at <= ?1))))
             ORDER BY d.channel, d.published_at, d.id",
        )?;
        let rows = stmt.query_map(params![ts(now), all], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (delivery_id, channel, remote_id, published_at, last_step) = row?;
            // A row loa cannot read is left alone here too (status lists it).
            let (Some(channel), Some(published_at)) =
                (Channel::parse(&channel), parse_ts(Some(published_at)))
            else {
                continue;
            };
            out.push(Collectable {
                delivery_id,
                channel,
                remote_id,
                published_at,
                last_step: step_of(last_step),
            });
        }
        Ok(out)
    }

    /// Keeps one snapshot and moves the delivery's collection plan on, in one transaction.
    /// Returns `false`, keeping nothing, when the delivery is no longer published or its step was
    /// taken meanwhile (by another loa process).
    pub fn record_snapshot(&mut self, s: &NewSnapshot<'_>) -> Result<bool> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let published: Option<Option<String>> = tx
            .query_row(
                "SELECT published_at FROM deliveries WHERE id = ?1 AND state = 'published'",
                [s.delivery_id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(published_at) = published.and_then(parse_ts) else {
            return Ok(false);
        };
        let plan: Option<(Option<i64>, Option<String>)> = tx
            .query_row(
                "SELECT last_step, stopped FROM collections WHERE delivery_id = ?1",
                [s.delivery_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (last_step, stopped) = plan.unwrap_or((None, None));
        let last_step = step_of(last_step);
        if stopped.is_some() {
            return Ok(false);
        }
        if let (Some(step), Some(last)) = (s.step, last_step)
            && last >= step
        {
            return Ok(false);
        }
        let missing = if s.missing.is_empty() {
            None
        } else {
            Some(serde_json::to_string(s.missing).unwrap_or_default())
        };
        let f = s.figures;
        tx.execute(
            "INSERT INTO snapshots (delivery_id, taken_at, step, views, reach, reactions, comments,
                 shares, clicks, missing, raw)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                s.delivery_id,
                ts(s.taken_at),
                s.step,
                to_i64(f.views),
                to_i64(f.reach),
                to_i64(f.reactions),
                to_i64(f.comments),
                to_i64(f.shares),
                to_i64(f.clicks),
                missing,
                s.raw.to_string(),
            ],
        )?;
        let snapshot = tx.last_insert_rowid();
        let new_last = match (last_step, s.step) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let next = cadence::next_due_at(published_at, new_last);
        tx.execute(
            "INSERT INTO collections (delivery_id, last_step, next_due_at, link, latest_snapshot)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (delivery_id) DO UPDATE SET last_step = ?2, next_due_at = ?3,
                 link = COALESCE(?4, link), latest_snapshot = ?5",
            params![s.delivery_id, new_last, next.map(ts), s.link, snapshot],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// The figures recorded missing in a delivery's newest snapshot (JSON array), if any.
    pub fn latest_missing(&self, delivery_id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT s.missing FROM collections c JOIN snapshots s ON s.id = c.latest_snapshot
                 WHERE c.delivery_id = ?1",
                [delivery_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Stops collecting a delivery the platform no longer has.
    pub fn stop_collection(&mut self, delivery_id: i64, reason: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO collections (delivery_id, stopped, stopped_reason, next_due_at)
             VALUES (?1, 'gone', ?2, NULL)
             ON CONFLICT (delivery_id) DO UPDATE SET stopped = 'gone', stopped_reason = ?2,
                 next_due_at = NULL",
            params![delivery_id, reason],
        )?;
        Ok(())
    }

    /// The platform metrics `channel` has retired (by the platform's names).
    pub fn retired_metrics(&self, channel: Channel) -> Result<BTreeSet<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT metric FROM retired_metrics WHERE channel = ?1")?;
        let rows = stmt.query_map([channel], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every retired metric, by channel and name.
    pub fn all_retired_metrics(&self) -> Result<Vec<RetiredRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT channel, metric, figure, retired_at, message FROM retired_metrics
             ORDER BY channel, metric",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (channel, metric, figure, at, message) = row?;
            let (Some(channel), Some(retired_at)) = (Channel::parse(&channel), parse_ts(Some(at)))
            else {
                continue;
            };
            out.push(RetiredRecord {
                channel,
                metric,
                figure,
                retired_at,
                message,
            });
        }
        Ok(out)
    }

    /// Remembers that `channel` retired a metric (the first time only).
    pub fn record_retired(
        &mut self,
        channel: Channel,
        m: &RetiredMetric,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO retired_metrics (channel, metric, figure, retired_at, message)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![channel, m.metric, m.figure, ts(at), m.message],
        )?;
        Ok(())
    }

    /// Whether the account snapshot of `channel` for local day `day` was taken.
    pub fn account_taken(&self, channel: Channel, day: NaiveDate) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM account_snapshots WHERE channel = ?1 AND day = ?2",
                params![channel, day.to_string()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Keeps the account snapshot of local day `day` (the first one of the day only).
    pub fn record_account(
        &mut self,
        channel: Channel,
        day: NaiveDate,
        taken_at: DateTime<Utc>,
        followers: Option<u64>,
        raw: &serde_json::Value,
    ) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO account_snapshots (channel, day, taken_at, followers, raw)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                channel,
                day.to_string(),
                ts(taken_at),
                to_i64(followers),
                raw.to_string()
            ],
        )?;
        Ok(n > 0)
    }

    /// The accounts' daily followers from `from` to `to` (local days, inclusive), by channel and
    /// day.
    pub fn account_rows(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<AccountRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT channel, day, followers FROM account_snapshots
             WHERE day >= ?1 AND day <= ?2 ORDER BY channel, day",
        )?;
        let rows = stmt.query_map(params![from.to_string(), to.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (channel, day, followers) = row?;
            let (Some(channel), Ok(day)) = (Channel::parse(&channel), day.parse()) else {
                continue;
            };
            out.push(AccountRow {
                channel,
                day,
                followers: to_u64(followers),
            });
        }
        Ok(out)
    }

    /// Deliveries published (and still up) from `from` until before `until`, each with its
    /// newest snapshot, in publication order.
    pub fn report_rows(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<ReportRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT d.id, p.path, p.title, json_extract(p.meta, '$.tags'), d.channel, d.remote_id,
                    d.published_at, s.taken_at, s.views, s.reach, s.reactions, s.comments,
                    s.shares, s.clicks, c.link, c.stopped_reason
             FROM deliveries d
             JOIN posts p ON p.id = d.post_id
             LEFT JOIN collections c ON c.delivery_id = d.id
             LEFT JOIN snapshots s ON s.id = c.latest_snapshot
             WHERE d.state = 'published' AND d.published_at >= ?1 AND d.published_at < ?2
             ORDER BY d.published_at, d.id",
        )?;
        let rows = stmt.query_map(params![ts(from), ts(until)], |r| {
            let taken: Option<String> = r.get(7)?;
            let figure = |i: usize| -> rusqlite::Result<Option<u64>> {
                Ok(to_u64(r.get::<_, Option<i64>>(i)?))
            };
            let figures = Figures {
                views: figure(8)?,
                reach: figure(9)?,
                reactions: figure(10)?,
                comments: figure(11)?,
                shares: figure(12)?,
                clicks: figure(13)?,
            };
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                taken,
                figures,
                r.get::<_, Option<String>>(14)?,
                r.get::<_, Option<String>>(15)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (
                id,
                file,
                title,
                tags,
                channel,
                remote_id,
                published,
                taken,
                figures,
                link,
                stopped,
            ) = row?;
            let (Some(channel), Some(published_at)) =
                (Channel::parse(&channel), parse_ts(published))
            else {
                continue;
            };
            let taken_at = parse_ts(taken);
            out.push(ReportRow {
                delivery_id: id,
                file,
                title,
                tags: tags
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default(),
                channel,
                remote_id,
                published_at,
                figures: taken_at.map(|_| figures),
                taken_at,
                link,
                stopped,
            });
        }
        Ok(out)
    }

    /// Deliveries that need the officer: failed, unconfirmed or missed, an edit that could not
    /// be pushed, a broadcast that failed or may not have gone out. Posts whose file is gone
    /// and that never went out are left out (the officer removed them).
    pub fn attention_rows(&self) -> Result<Vec<AttentionRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT p.path, p.title, d.channel, d.state, d.update_state, d.broadcast_state,
                    d.last_error, d.broadcast_error, d.due_at, p.present, p.id
             FROM deliveries d JOIN posts p ON p.id = d.post_id
             WHERE d.state IN ('failed', 'unconfirmed', 'missed')
                OR d.update_state = 'failed'
                OR d.broadcast_state IN ('failed', 'unconfirmed')
             ORDER BY d.due_at, p.path, d.channel",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, bool>(9)?,
                r.get::<_, String>(10)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (file, title, channel, state, update, broadcast, error, b_error, due, present, id) =
                row?;
            let Some(channel) = Channel::parse(&channel) else {
                continue;
            };
            let due_at = parse_ts(due);
            let mut push = |state: String, reason: Option<String>| {
                out.push(AttentionRow {
                    post_id: id.clone(),
                    file: file.clone(),
                    title: title.clone(),
                    channel,
                    state,
                    reason,
                    due_at,
                });
            };
            if matches!(state.as_str(), "failed" | "unconfirmed" | "missed") && present {
                push(state.clone(), error.clone());
            }
            if update.as_deref() == Some("failed") {
                push("update_failed".into(), error.clone());
            }
            if let Some(b @ ("failed" | "unconfirmed")) = broadcast.as_deref() {
                push(format!("broadcast_{b}"), b_error.clone());
            }
        }
        Ok(out)
    }
}
