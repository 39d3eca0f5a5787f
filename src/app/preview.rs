//! When `loa preview` should show each channel's requests going out: the post's own time, its
//! weekly slot (the one the queue gave it, when loa has seen the post), or `--at TIME`. The time
//! decides what is sent: a Facebook post due 10 minutes to 30 days ahead is handed to Facebook's
//! scheduler, so its requests differ from a post published at once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::config::Config;
use crate::post::{Post, PublishAt};

/// Where a channel's due time came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DueFrom {
    /// The post's `publish_at`.
    PublishAt,
    /// `publish_at: now`.
    Now,
    /// The weekly slot the queue gave it.
    Slot,
    /// The next free weekly slot (loa has not queued the post yet).
    NextSlot,
    /// `--at TIME`.
    Asked,
}

/// When each of the post's channels goes out, as `loa preview` assumes.
#[derive(Clone, Debug)]
pub struct Timing {
    /// The moment the preview is made.
    pub now: DateTime<Utc>,
    /// Per channel: when it goes out (none when no slot is free) and why then.
    pub due: BTreeMap<Channel, (Option<DateTime<Utc>>, DueFrom)>,
}

/// The timing of `post` at `now`; `at` (from `--at`) overrides every channel's time.
pub fn timing(
    post: &Post,
    config: &Config,
    now: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
) -> Timing {
    let queued = if at.is_none() && post.publish_at.is_none() {
        queued_slots(post, config)
    } else {
        BTreeMap::new()
    };
    let next_slot =
        || crate::engine::slots::next_free(&config.schedule.slots, config.timezone, now, &[]);
    let due = post
        .channels
        .iter()
        .map(|&channel| {
            let due = match (at, post.publish_at) {
                (Some(t), _) => (Some(t), DueFrom::Asked),
                (None, Some(PublishAt::At(t))) => (Some(t.with_timezone(&Utc)), DueFrom::PublishAt),
                (None, Some(PublishAt::Now)) => (Some(now), DueFrom::Now),
                (None, None) => match queued.get(&channel) {
                    Some(Some(t)) => (Some(*t), DueFrom::Slot),
                    _ => (next_slot(), DueFrom::NextSlot),
                },
            };
            (channel, due)
        })
        .collect();
    Timing { now, due }
}

/// The slots the queue gave this post, per channel, when loa has a store and knows the post.
/// A preview never creates a store (opening an existing one brings it to the current schema,
/// like every command).
fn queued_slots(post: &Post, config: &Config) -> BTreeMap<Channel, Option<DateTime<Utc>>> {
    let db = config.data_dir.join("loa.db");
    if !db.exists() {
        return BTreeMap::new();
    }
    let Ok(store) = crate::store::Store::open(&db) else {
        return BTreeMap::new();
    };
    let key = post.path.to_string_lossy();
    match crate::engine::commands::find_post(&store, &config.posts_dir, &key) {
        Ok(Some(record)) => store
            .deliveries_of(&record.id)
            .unwrap_or_default()
            .into_iter()
            .map(|d| (d.channel, d.due_at))
            .collect(),
        _ => BTreeMap::new(),
    }
}
