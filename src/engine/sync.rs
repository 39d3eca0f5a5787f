//! The posts folder → the store. Every change (and start-up) rescans the whole folder and brings
//! the store in line with it, so a missed or reordered file event can never leave a wrong state:
//!
//! - a new file becomes a post with a delivery per channel (none while it has errors or is a
//!   draft; fixing it makes it deliverable);
//! - an edit changes what will be sent; after publishing, it queues an update (`on_edit`);
//! - a deleted file cancels what is not yet published and touches nothing on the platform;
//! - a renamed or moved file (same content) is the same post: nothing is published again.
//!
//! loa only reads here: nothing under `posts_dir` is ever written, moved or deleted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::channel::Channel;
use crate::config::{Config, OnEdit};
use crate::engine::transitions::{self, Canceller};
use crate::post::{self, Post, PublishAt, discover};
use crate::store::{self, BroadcastState, CancelReason, PostRecord, State, Store, UpdateState};

/// What a sync changed, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// New posts (paths).
    pub added: Vec<String>,
    /// Edited posts.
    pub edited: Vec<String>,
    /// Renamed or moved posts, as (from, to).
    pub renamed: Vec<(String, String)>,
    /// Posts whose file is gone.
    pub removed: Vec<String>,
    /// Posts with errors.
    pub invalid: Vec<String>,
}

/// Reads the folder and brings the store in line, in one transaction (for callers that hold
/// the store themselves; the engine scans outside the store's lock).
pub fn sync(store: &mut Store, config: &Config, now: DateTime<Utc>) -> store::Result<SyncReport> {
    let _turn = SyncTurn::take(&config.data_dir);
    let scanned = scan(config);
    store.in_transaction(|store| apply(store, config, scanned, now))
}

/// This process's turn to sync the data folder (`data_dir/sync.lock`, held until dropped).
/// Every process that syncs (the service, `loa status`) waits for its turn, so a reading of the
/// folder is applied before any later reading is taken. It is not the service's lock.
pub struct SyncTurn {
    _turn: crate::turn::Turn,
}

impl SyncTurn {
    /// Waits for the turn (blocking).
    pub fn take(data_dir: &std::path::Path) -> SyncTurn {
        SyncTurn {
            _turn: crate::turn::Turn::take(data_dir, "sync.lock"),
        }
    }
}

/// One file as read now, ready to be applied to the store.
pub struct Scanned {
    rel: String,
    hash: String,
    content: String,
    post: Option<Post>,
    problems: Vec<String>,
}

/// Reads every post file in the folder, with its images' headers (no store involved: run it
/// off the async threads and outside the store's lock).
pub fn scan(config: &Config) -> Vec<Scanned> {
    discover::find_posts(&config.posts_dir)
        .into_iter()
        .filter_map(|path| {
            let rel = crate::paths::relative_slash(&path, &config.posts_dir)?;
            let bytes = match post::source::read_post_bytes(&path) {
                Ok(b) => b,
                // Vanished between listing and reading: the next event rescans. Asked of the
                // entry itself, not its target, so a symlink loop or a dangling link is reported
                // rather than silently skipped.
                Err(_) if std::fs::symlink_metadata(&path).is_err() => return None,
                Err(d) => {
                    // Unreadable (too large, no permission, a symlink loop): no content to match
                    // renames by. Shown like every other problem: file, line, and the fix.
                    let hash = content_hash(format!("unreadable:{rel}").as_bytes());
                    let problem = crate::diagnostic::Problem {
                        path: crate::paths::display(&path),
                        diagnostic: d,
                    };
                    return Some(Scanned {
                        hash,
                        content: String::new(),
                        post: None,
                        problems: vec![problem.to_string()],
                        rel,
                    });
                }
            };
            let loaded = crate::channels::load_bytes(&path, &bytes, config);
            let problems: Vec<String> = loaded
                .problems
                .iter()
                .filter(|p| p.is_error())
                .map(ToString::to_string)
                .collect();
            let content = post::source::decode(&bytes).unwrap_or_default();
            Some(Scanned {
                hash: content_hash(if content.is_empty() {
                    &bytes
                } else {
                    content.as_bytes()
                }),
                content,
                post: loaded.post,
                problems,
                rel,
            })
        })
        .collect()
}

/// sha256 of a post's normalized text, hex.
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Brings the store in line with a reading of the folder; call inside a transaction.
pub fn apply(
    store: &mut Store,
    config: &Config,
    scanned: Vec<Scanned>,
    now: DateTime<Utc>,
) -> store::Result<SyncReport> {
    let mut report = SyncReport::default();
    // Posts with a delivery row this loa cannot read: read once per sync, not once per post.
    let unreadable: BTreeSet<String> = store
        .unreadable_deliveries()?
        .into_iter()
        .map(|u| u.post_id)
        .collect();
    let known: BTreeMap<String, PostRecord> = store
        .present_posts()?
        .into_iter()
        .map(|p| (p.path.clone(), p))
        .collect();
    let scanned_paths: BTreeSet<&str> = scanned.iter().map(|s| s.rel.as_str()).collect();
    // Posts whose file is not where it was: deleted, or renamed to a path met below.
    let mut vanished: Vec<PostRecord> = known
        .values()
        .filter(|p| !scanned_paths.contains(p.path.as_str()))
        .cloned()
        .collect();
    // The first post seen with a given text owns it; a later copy is held back, because
    // publishing it would put the same text out twice.
    let mut owners: BTreeMap<String, (DateTime<Utc>, String)> = BTreeMap::new();
    for p in known
        .values()
        .filter(|p| scanned_paths.contains(p.path.as_str()))
    {
        let entry = owners
            .entry(p.content_hash.clone())
            .or_insert((p.first_seen_at, p.path.clone()));
        if (p.first_seen_at, &p.path) < (entry.0, &entry.1) {
            *entry = (p.first_seen_at, p.path.clone());
        }
    }

    for file in &scanned {
        let (mut record, change) = if let Some(record) = known.get(&file.rel) {
            let edited = record.content_hash != file.hash;
            if edited {
                report.edited.push(file.rel.clone());
            }
            (
                record_for(file, record.id.clone(), record.first_seen_at),
                Change::Same(Box::new(record.clone())),
            )
        } else if let Some(old) = take_renamed(store, &mut vanished, &file.hash)? {
            report.renamed.push((old.path.clone(), file.rel.clone()));
            (
                record_for(file, old.id.clone(), old.first_seen_at),
                Change::Moved,
            )
        } else {
            report.added.push(file.rel.clone());
            (
                record_for(file, new_id(&file.rel, &file.hash, now), now),
                Change::New,
            )
        };
        let owner = owners
            .entry(file.hash.clone())
            .or_insert((record.first_seen_at, file.rel.clone()));
        if owner.1 != file.rel && record.problems.is_none() {
            record.problems = Some(vec![crate::i18n::tr(
                format!(
                    "same content as {}: a copy is not published twice (change it, or delete one of the two)",
                    owner.1
                ),
                format!(
                    "trùng nội dung với {}: bản sao không được đăng lần hai (sửa lại, hoặc xóa một trong hai tệp)",
                    owner.1
                ),
            )]);
        }
        match change {
            Change::Same(old) => {
                if *old != record {
                    store.update_post(&record, now)?;
                }
            }
            Change::Moved => store.update_post(&record, now)?,
            Change::New => store.insert_post(&record, now)?,
        }
        align_deliveries(store, config, &record, file, &unreadable)?;
        if record.problems.is_some() {
            report.invalid.push(file.rel.clone());
        }
    }

    for gone in vanished {
        store.mark_absent(&gone.id, now)?;
        for mut d in store.deliveries_of(&gone.id)? {
            if transitions::cancel(&mut d, Canceller::Sync(CancelReason::Deleted)) {
                store.save_delivery(&d)?;
            }
        }
        report.removed.push(gone.path);
    }
    Ok(report)
}

/// How a scanned file relates to the store.
enum Change {
    /// Known at this path (possibly edited).
    Same(Box<PostRecord>),
    /// A known post that was renamed or moved here.
    Moved,
    /// A new post.
    New,
}

/// A vanished post (this scan) or an absent one (earlier scans) with the same content.
fn take_renamed(
    store: &Store,
    vanished: &mut Vec<PostRecord>,
    hash: &str,
) -> store::Result<Option<PostRecord>> {
    if let Some(i) = vanished.iter().position(|p| p.content_hash == hash) {
        return Ok(Some(vanished.remove(i)));
    }
    Ok(store.absent_posts_with_hash(hash)?.into_iter().next())
}

fn new_id(rel: &str, hash: &str, now: DateTime<Utc>) -> String {
    let seed = format!("{rel}\n{hash}\n{}", store::ts(now));
    content_hash(seed.as_bytes())[..12].to_string()
}

fn record_for(file: &Scanned, id: String, first_seen_at: DateTime<Utc>) -> PostRecord {
    let meta = match &file.post {
        Some(p) => json!({
            "publish_at": match p.publish_at {
                None => serde_json::Value::Null,
                Some(PublishAt::Now) => json!("now"),
                Some(PublishAt::At(t)) => json!(t.to_rfc3339()),
            },
            "channels": p.channels,
            "tags": p.tags,
            "draft": p.draft,
        }),
        None => json!({}),
    };
    PostRecord {
        id,
        path: file.rel.clone(),
        content_hash: file.hash.clone(),
        content: file.content.clone(),
        title: file
            .post
            .as_ref()
            .map(|p| p.title.clone())
            .unwrap_or_default(),
        meta,
        problems: if file.post.is_some() && file.problems.is_empty() {
            None
        } else {
            Some(file.problems.clone())
        },
        present: true,
        first_seen_at,
    }
}

/// Where the post's own schedule puts a delivery: (due_at, from a slot).
fn schedule_of(post: &Post, record: &PostRecord) -> (Option<DateTime<Utc>>, bool) {
    match post.publish_at {
        Some(PublishAt::At(t)) => (Some(t.with_timezone(&Utc)), false),
        Some(PublishAt::Now) => (Some(record.first_seen_at), false),
        None => (None, true),
    }
}

/// Makes the post's deliveries match what the file now asks for.
fn align_deliveries(
    store: &mut Store,
    config: &Config,
    record: &PostRecord,
    file: &Scanned,
    unreadable: &BTreeSet<String>,
) -> store::Result<()> {
    let usable = file.post.as_ref().filter(|_| record.problems.is_none());
    let wanted: Vec<Channel> = usable
        .filter(|p| !p.draft)
        .map(|p| p.channels.clone())
        .unwrap_or_default();
    let reason = match usable {
        None => CancelReason::Invalid,
        Some(p) if p.draft => CancelReason::Draft,
        Some(_) => CancelReason::Channel,
    };
    let existing = store.deliveries_of(&record.id)?;
    for mut d in existing.clone() {
        let before = d.clone();
        if let Some(post) = usable.filter(|_| wanted.contains(&d.channel)) {
            let (due_at, slotted) = schedule_of(post, record);
            // What the officer cancelled or unpublished stays so; what loa cancelled comes back.
            if d.state == State::Cancelled
                && !d.cancel_reason.is_some_and(CancelReason::is_officers)
            {
                d.state = State::Scheduled;
                d.cancel_reason = None;
                d.failures = 0;
                d.last_error = None;
                d.next_attempt_at = None;
            }
            let moved = d.slotted != slotted || (!slotted && d.due_at != due_at);
            if d.platform_scheduled && d.state.is_claimable() {
                // The platform holds it: a new time (or text) must be sent there. A post that
                // lost its publish_at keeps the time the platform has.
                if !slotted && d.due_at != due_at && due_at.is_some() {
                    d.due_at = due_at;
                    d.update_state = Some(UpdateState::Pending);
                    d.next_attempt_at = None;
                }
            } else if d.state.is_claimable() && moved {
                // The officer changed when it goes out. A slot already given keeps its place.
                d.due_at = due_at;
                d.slotted = slotted;
            }
            // Whether the post asks to be sent to followers, for as long as that is still open.
            let wants = crate::channels::wants_broadcast(d.channel, post, config);
            match (wants, d.broadcast_state) {
                (true, None) if d.state != State::Published => {
                    d.broadcast_state = Some(BroadcastState::Wanted)
                }
                (false, Some(BroadcastState::Wanted | BroadcastState::Pending)) => {
                    d.broadcast_state = None
                }
                _ => {}
            }
            let changed_since_published = d
                .published_hash
                .as_deref()
                .is_some_and(|h| h != record.content_hash);
            let on_platform = d.state == State::Published
                || (d.platform_scheduled && d.state != State::Cancelled);
            if on_platform
                && changed_since_published
                && config.schedule.on_edit == OnEdit::Update
                && d.update_state != Some(UpdateState::Sending)
            {
                d.update_state = Some(UpdateState::Pending);
                d.failures = 0;
                d.next_attempt_at = None;
            }
        } else {
            transitions::cancel(&mut d, Canceller::Sync(reason));
        }
        if d != before {
            store.save_delivery(&d)?;
        }
    }
    // A post with an unreadable delivery row gets no new one: that row may be this channel's.
    if let Some(post) = usable.filter(|_| !unreadable.contains(&record.id)) {
        for channel in wanted {
            if !existing.iter().any(|d| d.channel == channel) {
                let (due_at, slotted) = schedule_of(post, record);
                let id = store.insert_delivery(&record.id, channel, due_at, slotted)?;
                if crate::channels::wants_broadcast(channel, post, config)
                    && let Some(mut d) = store.delivery(id)?
                {
                    d.broadcast_state = Some(BroadcastState::Wanted);
                    store.save_delivery(&d)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn unreadable_files_are_reported_with_their_place_and_fix_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let posts = dir.path().join("posts");
        std::fs::create_dir(&posts).unwrap();
        std::fs::write(posts.join("huge.md"), vec![b'a'; 2 * 1024 * 1024]).unwrap();
        std::os::unix::fs::symlink("loop.md", posts.join("loop.md")).unwrap();
        std::os::unix::fs::symlink("nowhere.md", posts.join("dangling.md")).unwrap();
        let mut config = Config::parse("").unwrap();
        config.posts_dir = posts;
        let scanned = scan(&config);
        let problems: BTreeMap<&str, &[String]> = scanned
            .iter()
            .map(|s| (s.rel.as_str(), s.problems.as_slice()))
            .collect();
        assert_eq!(
            problems.keys().copied().collect::<Vec<_>>(),
            ["dangling.md", "huge.md", "loop.md"]
        );
        let huge = &problems["huge.md"][0];
        assert!(
            huge.contains("huge.md:1:1: error: the file is 2.0 MB"),
            "{huge}"
        );
        assert!(huge.contains("fix: keep only the text"), "{huge}");
        for link in ["loop.md", "dangling.md"] {
            let problem = &problems[link][0];
            assert!(
                problem.contains(&format!("{link}:1:1: error: cannot open the file")),
                "{problem}"
            );
        }
    }

    #[test]
    fn syncs_take_turns_across_holders_of_the_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        let first = SyncTurn::take(dir.path());
        let (tx, rx) = std::sync::mpsc::channel();
        let path = dir.path().to_path_buf();
        let second = std::thread::spawn(move || {
            let _turn = SyncTurn::take(&path);
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(300))
                .is_err(),
            "a second sync waits while the first holds its turn"
        );
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("and goes once the first is done");
        second.join().unwrap();
    }
}
