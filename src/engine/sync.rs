//! The posts folder → the store. Start-up reads every file; a file event reads the files it
//! names; a periodic rescan (and a watcher that lost events) reads every file again but parses
//! only those whose text changed. Each brings the store in line with the files it read, with the
//! same rules, so a missed or reordered file event can never leave a wrong state for long:
//!
//! - a new file becomes a post with a delivery per channel (none while it has errors or is a
//!   draft; fixing it makes it deliverable);
//! - an edit changes what will be sent; after publishing, it queues an update (`on_edit`);
//! - a deleted file cancels what is not yet published and touches nothing on the platform;
//! - a renamed or moved file (same content) is the same post: nothing is published again.
//!
//! Nothing per post is held in memory beyond one sync: the store holds the posts, and a sync
//! holds the files it read in a compact form (the facts the store needs, not the parsed post).
//!
//! loa only reads here: nothing under `posts_dir` is ever written, moved or deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::channel::Channel;
use crate::config::{Config, OnEdit};
use crate::engine::transitions::{self, Canceller};
use crate::post::{self, PublishAt, discover};
use crate::store::{
    self, BroadcastState, CancelReason, PostHead, PostRecord, State, Store, UpdateState,
};

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

/// Which files a sync reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every file, each parsed: start-up (the configuration may have changed since the store
    /// was written), `loa status`, tests.
    All,
    /// Every file read and hashed; only a file whose text differs from the store's (or whose
    /// recorded state may depend on something else: problems, images) is parsed. The periodic
    /// rescan, and the one after the watcher lost events.
    Changed,
    /// Only these paths (files or folders, absolute or under `posts_dir`), as a file event
    /// names them; a post that shares its text with one of them is read too.
    Paths(Vec<PathBuf>),
}

/// Reads every file and brings the store in line, in one transaction (for callers that hold
/// the store themselves; the engine reads outside the store's lock).
pub fn sync(store: &mut Store, config: &Config, now: DateTime<Utc>) -> store::Result<SyncReport> {
    sync_scope(store, config, &Scope::All, now)
}

/// Reads what `scope` names and brings the store in line, in one transaction.
pub fn sync_scope(
    store: &mut Store,
    config: &Config,
    scope: &Scope,
    now: DateTime<Utc>,
) -> store::Result<SyncReport> {
    let _turn = SyncTurn::take(&config.data_dir);
    let reading = read(config, scope, |q| lookup(store, q))?;
    store.in_transaction(|store| apply(store, config, reading, now))
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

/// What a post's file says, as the store and the deliveries need it (not the parsed post,
/// which is many times larger).
#[derive(Clone, Debug)]
struct Facts {
    title: String,
    meta: serde_json::Value,
    publish_at: Option<PublishAt>,
    channels: Vec<Channel>,
    draft: bool,
    /// The channels on which the post asks to be sent to followers.
    broadcast: Vec<Channel>,
}

/// One file as read now, ready to be applied to the store.
pub struct Scanned {
    rel: String,
    hash: String,
    /// The normalized text; `None` when it is the text the store holds for this path.
    content: Option<String>,
    facts: Option<Facts>,
    problems: Vec<String>,
}

/// What a sync read: the files it read (by path) and the post paths it found empty.
pub struct Reading {
    scanned: Vec<Scanned>,
    gone: Vec<String>,
    /// Every file of the folder was listed (a known path not read is gone).
    listed_all: bool,
    /// Every file listed was parsed (none was left out as unchanged).
    parsed_all: bool,
}

impl Reading {
    /// How many post files this reading parsed.
    pub fn parsed(&self) -> usize {
        self.scanned.len()
    }
}

/// A question a reading asks the store (kept to heads: no post's text is loaded to answer).
pub enum Query<'a> {
    /// The present post at this path.
    At(&'a str),
    /// Present posts at or under this path.
    Under(&'a str),
    /// Present posts whose text contains this (an image's file name).
    Mentioning(&'a str),
    /// Every present post.
    All,
}

/// Answers a [`Query`] from `store`.
pub fn lookup(store: &Store, query: Query<'_>) -> store::Result<Vec<PostHead>> {
    match query {
        Query::At(path) => Ok(store.present_head_at(path)?.into_iter().collect()),
        Query::Under(path) => store.present_heads_under(path),
        Query::Mentioning(text) => store.present_heads_mentioning(text),
        Query::All => store.present_heads(),
    }
}

/// Reads the files `scope` names, with their images' headers, asking the store only for heads
/// (run it off the async threads and outside the store's lock: `ask` may take the lock briefly).
pub fn read(
    config: &Config,
    scope: &Scope,
    mut ask: impl FnMut(Query<'_>) -> store::Result<Vec<PostHead>>,
) -> store::Result<Reading> {
    let dir = &config.posts_dir;
    // Each candidate path with the store's head for it, if it has one.
    // The file's own path is kept when it was listed: a name that is not valid UTF-8 has a
    // lossy `rel` that joins back to no file.
    type Candidates = BTreeMap<String, (Option<PathBuf>, Option<PostHead>)>;
    let mut candidates: Candidates = BTreeMap::new();
    let add_heads = |c: &mut Candidates, heads: Vec<PostHead>| {
        for h in heads {
            let entry = c.entry(h.path.clone()).or_insert((None, None));
            entry.1 = Some(h);
        }
    };
    let listed_all = matches!(scope, Scope::All | Scope::Changed);
    match scope {
        Scope::All | Scope::Changed => {
            for path in discover::find_posts(dir) {
                if let Some(rel) = crate::paths::relative_slash(&path, dir) {
                    candidates.insert(rel, (Some(path), None));
                }
            }
            add_heads(&mut candidates, ask(Query::All)?);
        }
        Scope::Paths(paths) => {
            for path in paths {
                let path = if path.is_absolute() {
                    path.clone()
                } else {
                    dir.join(path)
                };
                let Some(rel) = crate::paths::relative_slash(&path, dir) else {
                    continue;
                };
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                match std::fs::symlink_metadata(&path) {
                    Ok(m) if m.is_dir() => {
                        if discover::is_post_folder(&rel) {
                            for file in discover::find_posts(&path) {
                                if let Some(rel) = crate::paths::relative_slash(&file, dir) {
                                    candidates.entry(rel).or_insert((Some(file), None));
                                }
                            }
                        }
                        add_heads(&mut candidates, ask(Query::Under(&rel))?);
                    }
                    Ok(_) if discover::is_post_path(&rel) => {
                        candidates
                            .entry(rel.clone())
                            .or_insert((Some(path.clone()), None));
                        add_heads(&mut candidates, ask(Query::At(&rel))?);
                    }
                    // Another file (an image): the posts that may use it are read again.
                    Ok(_) => add_heads(&mut candidates, ask(Query::Mentioning(name))?),
                    // Gone: a post, a folder of posts, or an image.
                    Err(_) => {
                        add_heads(&mut candidates, ask(Query::Under(&rel))?);
                        if !name.is_empty() && !discover::is_post_path(&rel) {
                            add_heads(&mut candidates, ask(Query::Mentioning(name))?);
                        }
                    }
                }
            }
        }
    }
    let skip_unchanged = *scope == Scope::Changed;
    let mut reading = Reading {
        scanned: Vec::new(),
        gone: Vec::new(),
        listed_all,
        parsed_all: *scope == Scope::All,
    };
    for (rel, (path, head)) in candidates {
        match read_one(config, &rel, path.as_deref(), head.as_ref(), skip_unchanged) {
            Read::Post(s) => reading.scanned.push(*s),
            Read::Unchanged => {}
            Read::Gone => {
                if head.is_some() {
                    reading.gone.push(rel);
                }
            }
        }
    }
    Ok(reading)
}

/// One candidate path as read now.
enum Read {
    Post(Box<Scanned>),
    /// The text the store holds, and nothing else it depends on: not parsed again.
    Unchanged,
    /// No post file there.
    Gone,
}

/// Whether a post's recorded state may depend on more than its text: a post with problems
/// (an image may have appeared) or one that names an image or a cover (which may have changed).
fn depends_on_more(text: &str) -> bool {
    text.contains("![") || text.to_lowercase().contains("cover")
}

/// Reads the post file at `rel` (under `posts_dir`), comparing it with the store's `head`.
fn read_one(
    config: &Config,
    rel: &str,
    path: Option<&Path>,
    head: Option<&PostHead>,
    skip_unchanged: bool,
) -> Read {
    if !discover::is_post_path(rel) {
        return Read::Gone;
    }
    let path = path.map_or_else(|| config.posts_dir.join(rel), Path::to_path_buf);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if !m.is_dir() => {}
        _ => return Read::Gone,
    }
    let bytes = match post::source::read_post_bytes(&path) {
        Ok(b) => b,
        // Vanished between listing and reading: the next event rescans. Asked of the entry
        // itself, not its target, so a symlink loop or a dangling link is reported rather than
        // silently skipped.
        Err(_) if std::fs::symlink_metadata(&path).is_err() => return Read::Gone,
        Err(d) => {
            // Unreadable (too large, no permission, a symlink loop): no content to match
            // renames by. Shown like every other problem: file, line, and the fix.
            let hash = content_hash(format!("unreadable:{rel}").as_bytes());
            let problem = crate::diagnostic::Problem {
                path: crate::paths::display(&path),
                diagnostic: d,
            };
            return Read::Post(Box::new(Scanned {
                hash,
                content: Some(String::new()),
                facts: None,
                problems: vec![problem.to_string()],
                rel: rel.to_string(),
            }));
        }
    };
    let content = post::source::decode(&bytes).unwrap_or_default();
    let hash = content_hash(if content.is_empty() {
        &bytes
    } else {
        content.as_bytes()
    });
    let same = head.is_some_and(|h| h.content_hash == hash);
    if skip_unchanged && same && head.is_some_and(|h| h.clean) && !depends_on_more(&content) {
        return Read::Unchanged;
    }
    let loaded = crate::channels::load_bytes(&path, &bytes, config);
    let problems: Vec<String> = loaded
        .problems
        .iter()
        .filter(|p| p.is_error())
        .map(ToString::to_string)
        .collect();
    let facts = loaded.post.as_ref().map(|p| Facts {
        title: p.title.clone(),
        meta: json!({
            "publish_at": match p.publish_at {
                None => serde_json::Value::Null,
                Some(PublishAt::Now) => json!("now"),
                Some(PublishAt::At(t)) => json!(t.to_rfc3339()),
            },
            "channels": p.channels,
            "tags": p.tags,
            "draft": p.draft,
        }),
        publish_at: p.publish_at,
        channels: p.channels.clone(),
        draft: p.draft,
        broadcast: Channel::ALL
            .into_iter()
            .filter(|c| crate::channels::wants_broadcast(*c, p, config))
            .collect(),
    });
    Read::Post(Box::new(Scanned {
        rel: rel.to_string(),
        hash,
        // The store already holds this text: no second copy of it in memory.
        content: (!same).then_some(content),
        facts,
        problems,
    }))
}

/// sha256 of a post's normalized text, hex.
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Brings the store in line with a reading of the folder; call inside a transaction.
///
/// A partial reading (a file event, a rescan that skipped unchanged files) is first widened to
/// every present post that shares a text with a file it read, so which copy owns a text is
/// decided as a full reading would.
pub fn apply(
    store: &mut Store,
    config: &Config,
    reading: Reading,
    now: DateTime<Utc>,
) -> store::Result<SyncReport> {
    let Reading {
        mut scanned,
        mut gone,
        listed_all,
        parsed_all,
    } = reading;
    let mut report = SyncReport::default();
    // The store's heads of the paths read (every present post's when every file was listed).
    let mut known: BTreeMap<String, PostHead> = if listed_all {
        store
            .present_heads()?
            .into_iter()
            .map(|h| (h.path.clone(), h))
            .collect()
    } else {
        let mut known = BTreeMap::new();
        for rel in scanned.iter().map(|s| &s.rel).chain(gone.iter()) {
            if let Some(h) = store.present_head_at(rel)? {
                known.insert(h.path.clone(), h);
            }
        }
        known
    };
    if !parsed_all {
        // Copies of a text read now decide together who owns it: read them all (a file left
        // out keeps its text, so this reaches every post whose ownership can change).
        let mut in_scope: BTreeSet<String> = scanned
            .iter()
            .map(|s| s.rel.clone())
            .chain(gone.iter().cloned())
            .collect();
        let mut asked: BTreeSet<String> = BTreeSet::new();
        loop {
            let hashes: BTreeSet<String> = scanned
                .iter()
                .map(|s| s.hash.clone())
                .chain(
                    in_scope
                        .iter()
                        .filter_map(|p| known.get(p))
                        .map(|h| h.content_hash.clone()),
                )
                .filter(|h| !asked.contains(h))
                .collect();
            if hashes.is_empty() {
                break;
            }
            for hash in hashes {
                for h in store.present_heads_with_hash(&hash)? {
                    if !in_scope.insert(h.path.clone()) {
                        continue;
                    }
                    match read_one(config, &h.path, None, Some(&h), false) {
                        Read::Post(s) => scanned.push(*s),
                        Read::Unchanged => {}
                        Read::Gone => gone.push(h.path.clone()),
                    }
                    known.insert(h.path.clone(), h);
                }
                asked.insert(hash);
            }
        }
        scanned.sort_by(|a, b| a.rel.cmp(&b.rel));
        gone.sort();
    }
    // Posts whose file is not where it was: deleted, or renamed to a path met below.
    let mut vanished: Vec<PostHead> = gone.iter().filter_map(|p| known.get(p)).cloned().collect();
    // Who each file is: the post at its path, a post renamed or moved here, or a new one.
    let mut identities: Vec<Identity> = Vec::with_capacity(scanned.len());
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for file in &scanned {
        let identity = if let Some(head) = known.get(&file.rel) {
            Identity::Same(head.id.clone())
        } else if let Some((id, from, first_seen_at)) =
            take_renamed(store, &mut vanished, &taken, &file.hash)?
        {
            Identity::Moved(id, from, first_seen_at)
        } else {
            Identity::New(new_id(&file.rel, &file.hash, now))
        };
        if let Identity::Moved(id, ..) = &identity {
            taken.insert(id.clone());
        }
        identities.push(identity);
    }
    // The first post seen with a given text owns it; a later copy is held back, because
    // publishing it would put the same text out twice. Every file counts with its text as read
    // now and when its post was first seen, so one sync settles who owns what.
    let mut owners: BTreeMap<&str, (DateTime<Utc>, &str)> = BTreeMap::new();
    for (file, identity) in scanned.iter().zip(&identities) {
        let first_seen = match identity {
            Identity::Same(_) => known[&file.rel].first_seen_at,
            Identity::Moved(_, _, first_seen) => *first_seen,
            Identity::New(_) => now,
        };
        let candidate = (first_seen, file.rel.as_str());
        let entry = owners.entry(file.hash.as_str()).or_insert(candidate);
        if candidate < *entry {
            *entry = candidate;
        }
    }

    for (file, identity) in scanned.iter().zip(identities) {
        let (mut record, change) = match identity {
            Identity::Same(id) => {
                let Some(old) = store.post(&id)? else {
                    continue;
                };
                if old.content_hash != file.hash {
                    report.edited.push(file.rel.clone());
                }
                (
                    record_for(file, old.id.clone(), old.first_seen_at, Some(&old)),
                    Change::Same(Box::new(old)),
                )
            }
            Identity::Moved(id, from, first_seen_at) => {
                report.renamed.push((from, file.rel.clone()));
                (record_for(file, id, first_seen_at, None), Change::Moved)
            }
            Identity::New(id) => {
                report.added.push(file.rel.clone());
                (record_for(file, id, now, None), Change::New)
            }
        };
        let owner = owners[file.hash.as_str()].1;
        if owner != file.rel && record.problems.is_none() {
            record.problems = Some(vec![crate::i18n::tr(
                format!(
                    "same content as {owner}: a copy is not published twice (change it, or delete one of the two)"
                ),
                format!(
                    "trùng nội dung với {owner}: bản sao không được đăng lần hai (sửa lại, hoặc xóa một trong hai tệp)"
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
        align_deliveries(store, config, &record, file)?;
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

/// Which post a file read is.
enum Identity {
    /// The present post at its path (by id).
    Same(String),
    /// A post renamed or moved here: its id, its former path, when it was first seen.
    Moved(String, String, DateTime<Utc>),
    /// A new post, with its new id.
    New(String),
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

/// A vanished post (this sync) or an absent one (earlier syncs) with the same content: its id
/// and when it was first seen.
fn take_renamed(
    store: &Store,
    vanished: &mut Vec<PostHead>,
    taken: &BTreeSet<String>,
    hash: &str,
) -> store::Result<Option<(String, String, DateTime<Utc>)>> {
    if let Some(i) = vanished.iter().position(|p| p.content_hash == hash) {
        let h = vanished.remove(i);
        return Ok(Some((h.id, h.path, h.first_seen_at)));
    }
    Ok(store
        .absent_posts_with_hash(hash)?
        .into_iter()
        .find(|p| !taken.contains(&p.id))
        .map(|p| (p.id, p.path, p.first_seen_at)))
}

fn new_id(rel: &str, hash: &str, now: DateTime<Utc>) -> String {
    let seed = format!("{rel}\n{hash}\n{}", store::ts(now));
    content_hash(seed.as_bytes())[..12].to_string()
}

/// The record a file makes; `old` is the store's record at the same path, whose text it keeps
/// when the reading did not hold a second copy of it.
fn record_for(
    file: &Scanned,
    id: String,
    first_seen_at: DateTime<Utc>,
    old: Option<&PostRecord>,
) -> PostRecord {
    // No text was kept only when the store's record at this path had the same hash when the
    // file was read, and no other sync runs between a reading and its applying (`SyncTurn`).
    let content = match (&file.content, old) {
        (Some(c), _) => c.clone(),
        (None, old) => old.map(|o| o.content.clone()).unwrap_or_default(),
    };
    PostRecord {
        id,
        path: file.rel.clone(),
        content_hash: file.hash.clone(),
        content,
        title: file
            .facts
            .as_ref()
            .map(|p| p.title.clone())
            .unwrap_or_default(),
        meta: file
            .facts
            .as_ref()
            .map_or_else(|| json!({}), |f| f.meta.clone()),
        problems: if file.facts.is_some() && file.problems.is_empty() {
            None
        } else {
            Some(file.problems.clone())
        },
        present: true,
        first_seen_at,
    }
}

/// Where the post's own schedule puts a delivery: (due_at, from a slot).
fn schedule_of(post: &Facts, record: &PostRecord) -> (Option<DateTime<Utc>>, bool) {
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
) -> store::Result<()> {
    let usable = file.facts.as_ref().filter(|_| record.problems.is_none());
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
            let wants = post.broadcast.contains(&d.channel);
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
    let unreadable = !store.unreadable_deliveries_of(&record.id)?.is_empty();
    if let Some(post) = usable.filter(|_| !unreadable) {
        for channel in wanted {
            if !existing.iter().any(|d| d.channel == channel) {
                let (due_at, slotted) = schedule_of(post, record);
                let id = store.insert_delivery(&record.id, channel, due_at, slotted)?;
                if post.broadcast.contains(&channel)
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
        let reading = read(&config, &Scope::All, |_| Ok(Vec::new())).unwrap();
        let problems: BTreeMap<&str, &[String]> = reading
            .scanned
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

    /// A file event naming a file whose name is not valid UTF-8 reads that file (its lossy
    /// relative name joins back to no file).
    #[cfg(unix)]
    #[test]
    fn an_event_on_a_file_named_in_no_encoding_reads_that_file() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let posts = dir.path().join("posts");
        std::fs::create_dir(&posts).unwrap();
        let file = posts.join(std::ffi::OsStr::from_bytes(b"tin-\xff-moi.md"));
        std::fs::write(
            &file,
            "---\ntitle: x\npublish_at: 2026-13-45 07:00\n---\nx\n",
        )
        .unwrap();
        let mut config = Config::parse("").unwrap();
        config.posts_dir = posts;
        let reading = read(&config, &Scope::Paths(vec![file]), |_| Ok(Vec::new())).unwrap();
        assert_eq!(reading.scanned.len(), 1);
        assert!(
            reading.scanned[0].problems[0].contains("publish_at"),
            "{:?}",
            reading.scanned[0].problems
        );
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
