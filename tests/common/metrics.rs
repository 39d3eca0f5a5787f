//! A store with published deliveries and known snapshots, for the metrics and report tests.

use chrono::{DateTime, Utc};
use loa::channel::Channel;
use loa::metrics::Figures;
use loa::store::{NewSnapshot, PostRecord, State, Store};

/// `s` (RFC 3339) in UTC.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a valid time")
        .with_timezone(&Utc)
}

/// Adds post `path` (if new) and its delivery on `channel`, published at `published` as
/// `remote_id`; returns the delivery id.
pub fn published(
    store: &mut Store,
    path: &str,
    title: &str,
    tags: &[&str],
    channel: Channel,
    remote_id: &str,
    published: DateTime<Utc>,
) -> i64 {
    let id = format!("id-{path}");
    if store.post(&id).expect("read").is_none() {
        let post = PostRecord {
            id: id.clone(),
            path: path.to_string(),
            content_hash: format!("hash-{path}"),
            content: String::new(),
            title: title.to_string(),
            meta: serde_json::json!({ "tags": tags }),
            problems: None,
            present: true,
            first_seen_at: published,
        };
        store.insert_post(&post, published).expect("insert post");
    }
    let delivery = store
        .insert_delivery(&id, channel, Some(published), false)
        .expect("insert delivery");
    let mut d = store.delivery(delivery).expect("read").expect("there");
    d.state = State::Published;
    d.remote_id = Some(remote_id.to_string());
    d.published_at = Some(published);
    d.published_hash = Some(format!("hash-{path}"));
    d.attempts = 1;
    store.save_delivery(&d).expect("save");
    delivery
}

/// Keeps a snapshot of `delivery` taken at `taken` (counted as `step`).
pub fn snapshot(
    store: &mut Store,
    delivery: i64,
    taken: DateTime<Utc>,
    step: Option<u8>,
    figures: Figures,
) {
    let kept = store
        .record_snapshot(&NewSnapshot {
            delivery_id: delivery,
            taken_at: taken,
            step,
            figures: &figures,
            missing: &[],
            raw: &serde_json::json!({"fixture": true}),
            link: None,
        })
        .expect("record");
    assert!(kept, "snapshot of {delivery} at {taken} kept");
}

/// Facebook-shaped figures.
pub fn fb(
    views: u64,
    reach: u64,
    reactions: u64,
    comments: u64,
    shares: u64,
    clicks: Option<u64>,
) -> Figures {
    Figures {
        views: Some(views),
        reach: Some(reach),
        reactions: Some(reactions),
        comments: Some(comments),
        shares: Some(shares),
        clicks,
    }
}

/// Zalo-shaped figures.
pub fn zalo(views: u64, shares: u64) -> Figures {
    Figures {
        views: Some(views),
        shares: Some(shares),
        ..Figures::default()
    }
}
