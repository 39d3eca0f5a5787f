//! What the dashboard reads: a page of posts, the deliveries of a fortnight, one delivery's
//! snapshots and platform link. Each read is bounded (a page, a date range, one delivery), so a
//! page costs the same with 10 or 10,000 posts in the store.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{
    DELIVERY_COLUMNS, Delivery, Result, State, Store, parse_ts, read_delivery, readable, ts,
};
use crate::channel::Channel;
use crate::metrics::Figures;

/// A post's head as the dashboard lists it (without its text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostSummary {
    /// Stable id.
    pub id: String,
    /// Path under `posts_dir`.
    pub path: String,
    /// Title (may be empty for an invalid post).
    pub title: String,
    /// Problems, when the post is invalid.
    pub problems: Option<Vec<String>>,
    /// Whether the file is still there.
    pub present: bool,
    /// When loa first saw it.
    pub first_seen_at: DateTime<Utc>,
}

/// Which posts a page of the list holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostFilter {
    /// Only posts with a delivery in this state.
    pub state: Option<State>,
    /// Only posts with a delivery on this channel (in `state`, when both are given).
    pub channel: Option<Channel>,
}

/// One metrics snapshot of a delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotPoint {
    /// When it was taken.
    pub taken_at: DateTime<Utc>,
    /// The figures.
    pub figures: Figures,
}

/// The posts the list shows: present ones, and removed ones that went out or hold a delivery
/// that is not cancelled (the same rule as `loa status`).
const LISTED: &str = "(p.present = 1 OR EXISTS (SELECT 1 FROM deliveries x WHERE x.post_id = p.id \
     AND x.state <> 'cancelled'))";

/// The filter's condition on `p`: `?1` the state, `?2` the channel (NULL: any).
const MATCHES: &str = "((?1 IS NULL AND ?2 IS NULL) OR EXISTS (SELECT 1 FROM deliveries f \
     WHERE f.post_id = p.id AND (?1 IS NULL OR f.state = ?1) AND (?2 IS NULL OR f.channel = ?2)))";

/// A post's time in the list: its latest delivery's publication or due time, else when loa
/// first saw it.
const WHEN: &str = "COALESCE((SELECT MAX(COALESCE(w.published_at, w.due_at)) FROM deliveries w \
     WHERE w.post_id = p.id), p.first_seen_at)";

impl Store {
    /// How many posts `filter` lists.
    pub fn count_posts(&self, filter: &PostFilter) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM posts p WHERE {LISTED} AND {MATCHES}"),
            params![filter.state, filter.channel.map(Channel::name)],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// One page of the posts `filter` lists, newest first (by their latest delivery's time).
    pub fn posts_page(
        &self,
        filter: &PostFilter,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<PostSummary>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT p.id, p.path, p.title, p.problems, p.present, p.first_seen_at FROM posts p \
             WHERE {LISTED} AND {MATCHES} ORDER BY {WHEN} DESC, p.path LIMIT ?3 OFFSET ?4"
        ))?;
        let rows = stmt.query_map(
            params![
                filter.state,
                filter.channel.map(Channel::name),
                i64::try_from(limit).unwrap_or(i64::MAX),
                i64::try_from(offset).unwrap_or(i64::MAX)
            ],
            summary_from_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One post's head, by id.
    pub fn post_summary(&self, id: &str) -> Result<Option<PostSummary>> {
        Ok(self
            .conn
            .query_row(
                "SELECT p.id, p.path, p.title, p.problems, p.present, p.first_seen_at \
                 FROM posts p WHERE p.id = ?1",
                [id],
                summary_from_row,
            )
            .optional()?)
    }

    /// The deliveries of the posts with these ids, in post then channel order.
    pub fn deliveries_of_posts(&self, ids: &[String]) -> Result<Vec<Delivery>> {
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE post_id = ?1 ORDER BY channel"
        ))?;
        for id in ids {
            let rows = stmt.query_map([id], read_delivery)?;
            out.extend(readable(rows)?);
        }
        Ok(out)
    }

    /// Deliveries due (or published) in `[from, to)`, cancelled ones left out, by time.
    pub fn deliveries_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE state <> 'cancelled' AND \
             ((due_at >= ?1 AND due_at < ?2) OR (published_at >= ?1 AND published_at < ?2)) \
             ORDER BY COALESCE(due_at, published_at), post_id, channel"
        ))?;
        let rows = stmt.query_map(params![ts(from), ts(to)], read_delivery)?;
        Ok(readable(rows)?)
    }

    /// The due times of every delivery still to go out on `channel` from `since` on: the slots
    /// they take (the same deliveries `loa status` counts).
    pub fn taken_times(
        &self,
        channel: Channel,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>> {
        let mut stmt = self.conn.prepare(
            "SELECT due_at FROM deliveries WHERE channel = ?1 AND due_at >= ?2 \
             AND state NOT IN ('cancelled', 'failed', 'missed')",
        )?;
        let rows = stmt.query_map(params![channel.name(), ts(since)], |r| {
            r.get::<_, Option<String>>(0)
        })?;
        let mut out = Vec::new();
        for row in rows {
            out.extend(parse_ts(row?));
        }
        Ok(out)
    }

    /// A delivery's snapshots, oldest first.
    pub fn snapshots_of(&self, delivery_id: i64) -> Result<Vec<SnapshotPoint>> {
        let mut stmt = self.conn.prepare(
            "SELECT taken_at, views, reach, reactions, comments, shares, clicks FROM snapshots \
             WHERE delivery_id = ?1 ORDER BY taken_at",
        )?;
        let rows = stmt.query_map([delivery_id], |r| {
            let n = |i: usize| -> rusqlite::Result<Option<u64>> {
                Ok(r.get::<_, Option<i64>>(i)?
                    .and_then(|v| u64::try_from(v).ok()))
            };
            Ok((
                r.get::<_, String>(0)?,
                Figures {
                    views: n(1)?,
                    reach: n(2)?,
                    reactions: n(3)?,
                    comments: n(4)?,
                    shares: n(5)?,
                    clicks: n(6)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (taken, figures) = row?;
            if let Some(taken_at) = parse_ts(Some(taken)) {
                out.push(SnapshotPoint { taken_at, figures });
            }
        }
        Ok(out)
    }

    /// Where the platform said a delivery's post is seen, when a collection recorded it.
    pub fn platform_link(&self, delivery_id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT link FROM collections WHERE delivery_id = ?1",
                [delivery_id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }
}

fn summary_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PostSummary> {
    let problems: Option<String> = r.get(3)?;
    Ok(PostSummary {
        id: r.get(0)?,
        path: r.get(1)?,
        title: r.get(2)?,
        problems: problems.and_then(|p| serde_json::from_str(&p).ok()),
        present: r.get(4)?,
        first_seen_at: parse_ts(r.get(5)?).unwrap_or_default(),
    })
}
