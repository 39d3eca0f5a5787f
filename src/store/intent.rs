//! Writes by intent. Every change to a delivery that may race with another writer (the
//! service's handlers, a short command in another process, the folder sync) is one of these
//! operations: each runs in one `IMMEDIATE` transaction, re-reads the row inside it, and applies
//! the caller's decision (a pure function of `engine::transitions`) to the row *as it is now*.
//! No code writes back a copy of a row that it read before an await.

use chrono::{DateTime, Utc};
use rusqlite::{TransactionBehavior, params};

use super::types::sql_in;
use super::{
    AttemptKind, Delivery, Health, PostRecord, Result, State, Store, StoreError, read_one, ts,
    write_delivery,
};
use crate::channel::Channel;

/// What an outcome does to the whole channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelEffect {
    /// Nothing.
    None,
    /// No request on the channel before `until`.
    Pause {
        /// End of the pause.
        until: DateTime<Utc>,
        /// The platform's words.
        reason: String,
    },
    /// The channel needs a new token before anything else is sent.
    NeedsReauth {
        /// The platform's words.
        reason: String,
    },
}

/// A step the engine (or a command) takes on a delivery, each with the one condition under
/// which it may be taken. The conditions are this module's constants, never input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Publish, or first look for a post an earlier request may have made (`needs_reconcile`):
    /// moves the delivery to `publishing`.
    Publish,
    /// Send a pending edit of a post the platform has (`update_state` pending → sending).
    Update,
    /// Send a published post to followers (`broadcast_state` pending → sending).
    Broadcast,
    /// Check that a post the platform held for later went out.
    Confirm,
    /// Take back a cancelled post the platform still holds for later.
    Withdraw,
    /// Look for a cancelled post whose create may have reached the platform.
    Lookup,
    /// `loa unpublish`: remove a post the platform has.
    Unpublish,
}

impl Step {
    /// The SQL condition under which the step may be taken, and what taking it sets.
    fn sql(self) -> (String, &'static str) {
        let claimable = sql_in("state", State::CLAIMABLE);
        match self {
            Step::Publish => (claimable, "state = 'publishing'"),
            Step::Update => (
                format!(
                    "update_state = 'pending' AND (state = 'published' OR (platform_scheduled = 1 AND {claimable}))"
                ),
                "update_state = 'sending'",
            ),
            Step::Broadcast => (
                "state = 'published' AND broadcast_state = 'pending'".into(),
                "broadcast_state = 'sending'",
            ),
            Step::Confirm => (
                format!("platform_scheduled = 1 AND remote_id IS NOT NULL AND {claimable}"),
                "",
            ),
            Step::Withdraw => (
                "state = 'cancelled' AND platform_scheduled = 1 AND remote_id IS NOT NULL".into(),
                "",
            ),
            Step::Lookup => ("state = 'cancelled' AND needs_reconcile = 1".into(), ""),
            Step::Unpublish => (
                "remote_id IS NOT NULL AND (state = 'published' OR (platform_scheduled = 1 AND state <> 'cancelled'))"
                    .into(),
                "",
            ),
        }
    }

    /// The kind of attempt the step records, for a delivery as it is.
    fn kind(self, d: &Delivery) -> AttemptKind {
        match self {
            Step::Publish if d.needs_reconcile => AttemptKind::Reconcile,
            Step::Publish => AttemptKind::Create,
            Step::Update => AttemptKind::Update,
            Step::Broadcast => AttemptKind::Broadcast,
            Step::Confirm => AttemptKind::Confirm,
            Step::Withdraw | Step::Unpublish => AttemptKind::Delete,
            Step::Lookup => AttemptKind::Reconcile,
        }
    }
}

/// A step taken: the delivery as it is after taking it, the attempt recorded (committed before
/// any request is sent), and the post as stored at that moment (what the request must carry).
#[derive(Clone, Debug)]
pub struct Taken {
    /// The delivery, as taken.
    pub delivery: Delivery,
    /// The attempt's row id.
    pub attempt: i64,
    /// What the attempt asks.
    pub kind: AttemptKind,
    /// The post as stored when the step was taken.
    pub post: Option<PostRecord>,
}

/// How an attempt ended, as recorded with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Closing {
    /// The outcome class (`published`, `transient`, `found`, …).
    pub class: String,
    /// The platform id the answer carried.
    pub remote_id: Option<String>,
    /// The platform's words.
    pub message: Option<String>,
}

impl Store {
    /// Takes `step` on delivery `id` if its condition holds now, and records its attempt, in one
    /// committed transaction. `None` when the delivery is no longer where the caller saw it
    /// (another task or process took or changed it). Nothing may be sent before this returns.
    pub fn take_step(&mut self, id: i64, step: Step, now: DateTime<Utc>) -> Result<Option<Taken>> {
        let (condition, set) = step.sql();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(before) = read_one(&tx, id)? else {
            return Ok(None);
        };
        let kind = step.kind(&before);
        let counted = if kind.counts() {
            "attempts = attempts + 1, "
        } else {
            ""
        };
        // Cached (one text per step and kind): the alert triggers make preparing it costly.
        let changed = tx
            .prepare_cached(&format!(
                "UPDATE deliveries SET {counted}{set}{comma} version = version + 1 WHERE id = ?1 AND {condition}",
                comma = if set.is_empty() { "" } else { "," }
            ))?
            .execute([id])?;
        if changed == 0 {
            return Ok(None);
        }
        let attempt = record_attempt(&tx, id, kind, now)?;
        let delivery = read_one(&tx, id)?.ok_or(StoreError::Conflict(id))?;
        let post = tx
            .query_row(
                &format!("SELECT {} FROM posts WHERE id = ?1", super::POST_COLUMNS),
                [&delivery.post_id],
                super::post_from_row,
            )
            .ok();
        tx.commit()?;
        Ok(Some(Taken {
            delivery,
            attempt,
            kind,
            post,
        }))
    }

    /// Records a further attempt on a delivery this task already holds (a create right after a
    /// look-up found nothing), if it is still `publishing`: a cancel that came meanwhile stops it.
    pub fn continue_step(
        &mut self,
        id: i64,
        kind: AttemptKind,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let counted = if kind.counts() {
            ", attempts = attempts + 1"
        } else {
            ""
        };
        let changed = tx
            .prepare_cached(&format!(
                "UPDATE deliveries SET version = version + 1{counted} WHERE id = ?1 AND state = 'publishing'"
            ))?
            .execute([id])?;
        if changed == 0 {
            return Ok(None);
        }
        let attempt = record_attempt(&tx, id, kind, now)?;
        tx.commit()?;
        Ok(Some(attempt))
    }

    /// Closes `attempt` and applies its outcome, in one transaction: `decide` gets the delivery
    /// *as it is now* (a cancel or an edit that came while the request was in flight is in it)
    /// and the post's current content hash, changes the delivery, and says what the outcome does
    /// to the channel. Returns the delivery as saved.
    pub fn close_attempt<T>(
        &mut self,
        delivery_id: i64,
        attempt: i64,
        closing: &Closing,
        now: DateTime<Utc>,
        decide: impl FnOnce(&mut Delivery, Option<&str>) -> (ChannelEffect, T),
    ) -> Result<(Delivery, T)> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE attempts SET finished_at = ?2, outcome = ?3, remote_id = ?4, message = ?5 WHERE id = ?1",
            params![attempt, ts(now), closing.class, closing.remote_id, closing.message],
        )?;
        let mut d = read_one(&tx, delivery_id)?.ok_or(StoreError::Conflict(delivery_id))?;
        let hash: Option<String> = tx
            .query_row(
                "SELECT content_hash FROM posts WHERE id = ?1",
                [&d.post_id],
                |r| r.get(0),
            )
            .ok();
        let (effect, out) = decide(&mut d, hash.as_deref());
        write_delivery(&tx, &d)?;
        apply_effect(&tx, d.channel, &effect)?;
        tx.commit()?;
        d.version += 1;
        Ok((d, out))
    }

    /// Applies `change` to each delivery of `post_id` (only `channel`, if given) as it is now, in
    /// one transaction; saves those it changed and returns how many. For the officer's commands.
    pub fn amend_deliveries_of(
        &mut self,
        post_id: &str,
        channel: Option<Channel>,
        mut change: impl FnMut(&mut Delivery) -> bool,
    ) -> Result<usize> {
        self.in_transaction(|s| {
            let mut n = 0;
            for mut d in s
                .deliveries_of(post_id)?
                .into_iter()
                .filter(|d| channel.is_none_or(|c| c == d.channel))
            {
                if change(&mut d) {
                    s.save_delivery(&d)?;
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    /// Applies `change` to every delivery as it is now, in one transaction; returns how many
    /// changed. For start-up recovery.
    pub fn amend_all(&mut self, mut change: impl FnMut(&mut Delivery) -> bool) -> Result<usize> {
        self.in_transaction(|s| {
            let mut n = 0;
            for mut d in s.deliveries()? {
                if change(&mut d) {
                    s.save_delivery(&d)?;
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    /// Changes a channel's record as it is now (a fresh `ok` one when none was kept), in one
    /// transaction; returns whether `change` changed it.
    pub fn amend_channel(
        &mut self,
        channel: Channel,
        change: impl FnOnce(&mut super::ChannelRecord),
    ) -> Result<bool> {
        self.in_transaction(|s| {
            let before = s.channel(channel)?;
            let mut rec = before.clone();
            change(&mut rec);
            if rec != before {
                s.set_channel(&rec)?;
            }
            Ok(rec != before)
        })
    }

    /// Saves a platform's in-flight token at once (e.g. Zalo's create token), so that a crash
    /// after this point resumes with it instead of creating again.
    pub fn save_progress(&mut self, delivery_id: i64, progress: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE deliveries SET progress = ?2, version = version + 1 WHERE id = ?1",
            )?
            .execute(params![delivery_id, progress])?;
        Ok(())
    }
}

impl Store {
    /// Applies what an outcome met outside any delivery (a metrics round) does to its channel.
    pub fn apply_channel_effect(&mut self, channel: Channel, effect: &ChannelEffect) -> Result<()> {
        self.in_transaction(|s| apply_effect(&s.conn, channel, effect))
    }
}

/// Records an attempt about to be made, in the caller's transaction; returns its id.
fn record_attempt(
    conn: &rusqlite::Connection,
    delivery_id: i64,
    kind: AttemptKind,
    now: DateTime<Utc>,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO attempts (delivery_id, kind, started_at) VALUES (?1, ?2, ?3)",
        params![delivery_id, kind, ts(now)],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Records what an outcome does to its channel, in the caller's transaction.
fn apply_effect(
    conn: &rusqlite::Connection,
    channel: Channel,
    effect: &ChannelEffect,
) -> Result<()> {
    let (health, until, reason) = match effect {
        ChannelEffect::None => return Ok(()),
        ChannelEffect::Pause { until, reason } => {
            tracing::warn!(%channel, %until, %reason, "channel paused");
            (Health::RateLimited, Some(*until), reason)
        }
        ChannelEffect::NeedsReauth { reason } => {
            tracing::warn!(%channel, %reason, "channel needs a new token");
            (Health::NeedsReauth, None, reason)
        }
    };
    conn.execute(
        "INSERT INTO channels (channel, health, paused_until, reason) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (channel) DO UPDATE SET health = ?2, paused_until = ?3, reason = ?4",
        params![channel, health, until.map(ts), reason],
    )?;
    Ok(())
}
