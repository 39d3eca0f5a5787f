//! The alerts outbox: alerts (written by the schema's triggers in the transaction of the change
//! that causes them, or by [`Store::raise_condition`] for conditions judged over time), and
//! each sink's delivery of each alert. A crash between a send and its record sends that one
//! alert again at most; nothing is lost, and nothing already recorded as sent is sent again.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Result, Store, parse_ts, ts};

/// An alert as stored: the facts, worded for the officer only when it is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAlert {
    /// Row id.
    pub id: i64,
    /// The contract's kind (`delivery_failed`, `needs_reauth`, …).
    pub kind: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The post, for a post's or a delivery's alert.
    pub post_id: Option<String>,
    /// The post's file under `posts_dir`, when the post is known.
    pub path: Option<String>,
    /// The post's title.
    pub title: Option<String>,
    /// The delivery.
    pub delivery_id: Option<i64>,
    /// The channel.
    pub channel: Option<String>,
    /// The delivery's or the channel's state.
    pub state: Option<String>,
    /// The platform's words, the reason, or the post's problems (a JSON list).
    pub detail: Option<String>,
}

/// One alert still owed to one sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSend {
    /// The alert.
    pub alert: StoredAlert,
    /// The sink's id.
    pub sink: String,
    /// Tries so far.
    pub attempts: u32,
}

/// An alert some sink has not taken yet, for `loa status` and the dashboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undelivered {
    /// The alert.
    pub alert: StoredAlert,
    /// The sink's id.
    pub sink: String,
    /// Tries so far.
    pub attempts: u32,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// The next try.
    pub next_at: Option<DateTime<Utc>>,
}

/// How far back a sink is owed alerts: a sink down for longer gets the last week, not years.
pub const ALERT_WINDOW: Duration = Duration::days(7);

const ALERT_COLUMNS: &str = "a.id, a.kind, a.at, a.post_id, p.path, p.title, a.delivery_id, \
    a.channel, a.state, a.detail";

fn alert_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAlert> {
    Ok(StoredAlert {
        id: r.get(0)?,
        kind: r.get(1)?,
        at: parse_ts(r.get(2)?).unwrap_or_default(),
        post_id: r.get(3)?,
        path: r.get(4)?,
        title: r.get(5)?,
        delivery_id: r.get(6)?,
        channel: r.get(7)?,
        state: r.get(8)?,
        detail: r.get(9)?,
    })
}

impl Store {
    /// Raises a condition judged over time (a token near its end, the service off past a slot)
    /// once: a second raise of the same `key` adds nothing. Returns whether it was new.
    pub fn raise_condition(
        &mut self,
        kind: &str,
        key: &str,
        channel: Option<&str>,
        detail: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        Ok(self.conn.execute(
            "INSERT OR IGNORE INTO alerts (kind, key, at, channel, state, detail) \
             VALUES (?1, ?2, ?3, ?4, ?1, ?5)",
            params![kind, key, ts(at), channel, detail],
        )? > 0)
    }

    /// Whether an alert holds the condition `key` now.
    pub fn alert_key_exists(&self, key: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM alerts WHERE key = ?1", [key], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Clears the condition `key` (the channel was connected anew): the next raise alerts again.
    pub fn clear_condition(&mut self, key: &str) -> Result<()> {
        self.conn
            .execute("UPDATE alerts SET key = NULL WHERE key = ?1", [key])?;
        Ok(())
    }

    /// Every alert, newest first, up to `limit` (tests and the dashboard).
    pub fn alerts(&self, limit: usize) -> Result<Vec<StoredAlert>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN posts p ON p.id = a.post_id \
             ORDER BY a.id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], alert_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records that `sinks` are configured now (the first time a sink is seen, older alerts are
    /// not owed to it).
    pub fn note_sinks(&mut self, sinks: &[String], now: DateTime<Utc>) -> Result<()> {
        self.in_transaction(|s| {
            for sink in sinks {
                s.conn.execute(
                    "INSERT OR IGNORE INTO alert_sinks (sink, first_seen) VALUES (?1, ?2)",
                    params![sink, ts(now)],
                )?;
            }
            Ok(())
        })
    }

    /// What is owed to `sinks` and may be tried at `now`: alerts of the last [`ALERT_WINDOW`]
    /// that came after the sink was configured, not yet sent to it, oldest first.
    pub fn pending_sends(&self, sinks: &[String], now: DateTime<Utc>) -> Result<Vec<PendingSend>> {
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ALERT_COLUMNS}, COALESCE(x.attempts, 0) FROM alerts a \
             LEFT JOIN posts p ON p.id = a.post_id \
             JOIN alert_sinks k ON k.sink = ?1 \
             LEFT JOIN alert_sends x ON x.alert_id = a.id AND x.sink = ?1 \
             WHERE a.at >= ?2 AND a.at >= k.first_seen AND x.sent_at IS NULL \
               AND (x.next_at IS NULL OR x.next_at <= ?3) \
             ORDER BY a.id"
        ))?;
        for sink in sinks {
            let rows = stmt.query_map(params![sink, ts(now - ALERT_WINDOW), ts(now)], |r| {
                Ok((alert_from_row(r)?, r.get::<_, u32>(10)?))
            })?;
            for row in rows {
                let (alert, attempts) = row?;
                out.push(PendingSend {
                    alert,
                    sink: sink.clone(),
                    attempts,
                });
            }
        }
        out.sort_by_key(|p| p.alert.id);
        Ok(out)
    }

    /// When the next try owed to `sinks` is due, if one waits.
    pub fn next_send_at(
        &self,
        sinks: &[String],
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let mut next: Option<DateTime<Utc>> = None;
        for sink in sinks {
            let at: Option<String> = self
                .conn
                .query_row(
                    "SELECT MIN(x.next_at) FROM alert_sends x JOIN alerts a ON a.id = x.alert_id \
                     WHERE x.sink = ?1 AND x.sent_at IS NULL AND a.at >= ?2",
                    params![sink, ts(now - ALERT_WINDOW)],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            if let Some(t) = parse_ts(at) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        Ok(next)
    }

    /// Records that `sink` took alert `alert_id`.
    pub fn record_sent(&mut self, alert_id: i64, sink: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO alert_sends (alert_id, sink, attempts, sent_at) VALUES (?1, ?2, 1, ?3) \
             ON CONFLICT (alert_id, sink) DO UPDATE SET attempts = attempts + 1, sent_at = ?3, \
             next_at = NULL, last_error = NULL",
            params![alert_id, sink, ts(now)],
        )?;
        Ok(())
    }

    /// Records a failed try of `sink` on alert `alert_id`, and when to try again (`None`: never,
    /// the sink refused it for good).
    pub fn record_send_failure(
        &mut self,
        alert_id: i64,
        sink: &str,
        error: &str,
        next_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        // A sink that refuses for good is not tried again: its next try is far past the window.
        let next = next_at.map_or_else(|| "9999-12-31T00:00:00.000Z".to_string(), ts);
        self.conn.execute(
            "INSERT INTO alert_sends (alert_id, sink, attempts, next_at, last_error) \
             VALUES (?1, ?2, 1, ?3, ?4) \
             ON CONFLICT (alert_id, sink) DO UPDATE SET attempts = attempts + 1, next_at = ?3, \
             last_error = ?4",
            params![alert_id, sink, next, error],
        )?;
        Ok(())
    }

    /// Alerts of the last [`ALERT_WINDOW`] that a configured sink has tried and not taken yet.
    pub fn undelivered_alerts(
        &self,
        sinks: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Undelivered>> {
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ALERT_COLUMNS}, x.attempts, x.last_error, x.next_at FROM alert_sends x \
             JOIN alerts a ON a.id = x.alert_id LEFT JOIN posts p ON p.id = a.post_id \
             WHERE x.sink = ?1 AND x.sent_at IS NULL AND a.at >= ?2 ORDER BY a.id"
        ))?;
        for sink in sinks {
            let rows = stmt.query_map(params![sink, ts(now - ALERT_WINDOW)], |r| {
                Ok(Undelivered {
                    alert: alert_from_row(r)?,
                    sink: sink.clone(),
                    attempts: r.get(10)?,
                    last_error: r.get(11)?,
                    next_at: parse_ts(r.get(12)?),
                })
            })?;
            out.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
        }
        Ok(out)
    }

    /// The time recorded under `name` (the service's last sign of life).
    pub fn mark(&self, name: &str) -> Result<Option<DateTime<Utc>>> {
        let at: Option<String> = self
            .conn
            .query_row(
                "SELECT at FROM service_marks WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        Ok(parse_ts(at))
    }

    /// Records `at` under `name`.
    pub fn set_mark(&mut self, name: &str, at: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO service_marks (name, at) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET at = ?2",
            params![name, ts(at)],
        )?;
        Ok(())
    }
}
