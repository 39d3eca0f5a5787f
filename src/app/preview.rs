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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn world(front: &str) -> (tempfile::TempDir, Config, Post) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::parse(
            "language = \"en\"\n[schedule]\nslots = [\"Tue 07:00\", \"Thu 07:00\"]\n[facebook]\npage_id = \"1\"\n",
        )
        .unwrap();
        config.posts_dir = dir.path().join("posts");
        config.data_dir = dir.path().join("data");
        std::fs::create_dir_all(&config.posts_dir).unwrap();
        let file = config.posts_dir.join("a.md");
        std::fs::write(&file, format!("---\n{front}\n---\nx\n")).unwrap();
        let post = crate::post::load(&file, &config).post.unwrap();
        (dir, config, post)
    }

    #[test]
    fn the_post_time_now_or_asked_time_decides() {
        // Thursday 2026-12-03 10:00 in Vietnam.
        let now = at("2026-12-03T10:00:00+07:00");
        let (_d, config, post) = world("title: A\npublish_at: 05/12/2026 08:00");
        let t = timing(&post, &config, now, None);
        assert_eq!(
            t.due[&Channel::Facebook],
            (Some(at("2026-12-05T08:00:00+07:00")), DueFrom::PublishAt)
        );
        let asked = at("2026-12-24T07:00:00+07:00");
        let t = timing(&post, &config, now, Some(asked));
        assert_eq!(t.due[&Channel::Facebook], (Some(asked), DueFrom::Asked));
        let (_d, config, post) = world("title: A\npublish_at: now");
        let t = timing(&post, &config, now, None);
        assert_eq!(t.due[&Channel::Facebook], (Some(now), DueFrom::Now));
    }

    #[test]
    fn a_slotted_post_shows_its_queued_slot_else_the_next_free_one() {
        let now = at("2026-12-03T10:00:00+07:00");
        let (_d, config, post) = world("title: A");
        // Not queued yet (no store): the next Tue/Thu 07:00 after now.
        let t = timing(&post, &config, now, None);
        assert_eq!(
            t.due[&Channel::Facebook],
            (Some(at("2026-12-08T07:00:00+07:00")), DueFrom::NextSlot)
        );
        // Queued: the slot the queue gave it (here another one, as if Tuesday were taken).
        let mut store = crate::engine::open_store(&config.data_dir).unwrap();
        crate::engine::sync::sync(&mut store, &config, now).unwrap();
        store
            .amend_all(|d| {
                d.due_at = Some(at("2026-12-10T07:00:00+07:00"));
                true
            })
            .unwrap();
        drop(store);
        let t = timing(&post, &config, now, None);
        assert_eq!(
            t.due[&Channel::Facebook],
            (Some(at("2026-12-10T07:00:00+07:00")), DueFrom::Slot)
        );
    }
}
