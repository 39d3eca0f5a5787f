//! The officer's commands on the queue: `loa retry` and `loa cancel`.

use crate::channel::Channel;
use crate::engine::transitions::{self, Canceller};
use crate::engine::{Engine, EngineError};
use crate::store::{self, Health, PostRecord, State, Store};

/// Why a command could not act.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No post matches.
    #[error("{}", crate::i18n::tr(
        format!("loa has no post `{}`; give its file (e.g. posts/x.md) or its id from `loa status`", .0),
        format!("loa không có bài `{}`; hãy ghi tệp của bài (ví dụ posts/x.md) hoặc mã bài trong `loa status`", .0),
    ))]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// loa cannot reach this channel now (no token, or no client in this build).
    #[error("{}", crate::i18n::tr(
        format!("loa cannot reach {} now; see `loa status`", .0),
        format!("loa hiện không kết nối được {}; xem `loa status`", .0),
    ))]
    NoClient(Channel),
}

/// Finds a post by its id, its path under `posts_dir`, or a path to its file.
pub fn find_post(
    s: &Store,
    posts_dir: &std::path::Path,
    key: &str,
) -> store::Result<Option<PostRecord>> {
    let posts = s.all_posts()?;
    let by_path = crate::paths::relative_slash(std::path::Path::new(key), posts_dir);
    let wanted = |p: &PostRecord| {
        p.id == key || p.path == key || by_path.as_deref() == Some(p.path.as_str())
    };
    // Prefer the present post when an old one had the same path.
    Ok(posts
        .iter()
        .find(|p| p.present && wanted(p))
        .or_else(|| posts.iter().find(|p| wanted(p)))
        .cloned())
}

/// Puts failed, missed and (with `force`) unconfirmed deliveries of `post` back in the queue, and
/// failed updates back to pending. Returns how many deliveries changed.
pub async fn retry(
    engine: &Engine,
    post: &str,
    channel: Option<Channel>,
    force: bool,
) -> Result<usize, CommandError> {
    let (key, posts_dir, now) = (
        post.to_string(),
        engine.config.posts_dir.clone(),
        engine.clock().now(),
    );
    let changed = engine
        .with_store(move |s| {
            let Some(post) = find_post(s, &posts_dir, &key)? else {
                return Ok(None);
            };
            let mut retried = Vec::new();
            let n = s.amend_deliveries_of(&post.id, channel, |d| {
                let changed = transitions::retry(d, force, now);
                if changed {
                    retried.push(d.channel);
                }
                changed
            })?;
            // The officer says it is worth another try: a channel that waited for a token too.
            for channel in retried {
                s.amend_channel(channel, |rec| {
                    if rec.health == Health::NeedsReauth {
                        rec.health = Health::Ok;
                        rec.reason = None;
                    }
                })?;
            }
            Ok(Some(n))
        })
        .await?;
    engine.wake();
    changed.ok_or_else(|| CommandError::NotFound(post.to_string()))
}

/// Cancels what is still to be done for `post`: deliveries not yet published (one whose request
/// is in flight included: its answer then meets a cancelled delivery) and a broadcast not yet
/// sent. Returns how many deliveries changed.
pub async fn cancel(
    engine: &Engine,
    post: &str,
    channel: Option<Channel>,
) -> Result<usize, CommandError> {
    let (key, posts_dir) = (post.to_string(), engine.config.posts_dir.clone());
    let changed = engine
        .with_store(move |s| {
            let Some(post) = find_post(s, &posts_dir, &key)? else {
                return Ok(None);
            };
            let n = s.amend_deliveries_of(&post.id, channel, |d| {
                transitions::cancel(d, Canceller::Officer)
            })?;
            Ok(Some(n))
        })
        .await?;
    engine.wake();
    changed.ok_or_else(|| CommandError::NotFound(post.to_string()))
}

/// What `unpublish` did on one channel.
#[derive(Debug)]
pub struct Unpublished {
    /// The channel.
    pub channel: Channel,
    /// The platform's answer (`Published` means the post is gone).
    pub outcome: crate::publisher::Outcome,
}

/// Deletes the published (or platform-held) post of `post` on each of its channels (or only
/// `channel`). A deleted delivery becomes `cancelled` and is not published again, even though
/// its file stays in the posts folder.
pub async fn unpublish(
    engine: &Engine,
    post: &str,
    channel: Option<Channel>,
) -> Result<Vec<Unpublished>, CommandError> {
    let (key, posts_dir) = (post.to_string(), engine.config.posts_dir.clone());
    let found = engine
        .with_store(move |s| {
            let Some(post) = find_post(s, &posts_dir, &key)? else {
                return Ok(None);
            };
            Ok(Some(s.deliveries_of(&post.id)?))
        })
        .await?
        .ok_or_else(|| CommandError::NotFound(post.to_string()))?;
    let mut done = Vec::new();
    for d in found
        .into_iter()
        .filter(|d| channel.is_none_or(|c| c == d.channel))
    {
        let on_platform =
            d.state == State::Published || (d.platform_scheduled && d.state != State::Cancelled);
        if !on_platform || d.remote_id.is_none() {
            continue;
        }
        if engine.publisher(d.channel).is_none() {
            return Err(CommandError::NoClient(d.channel));
        }
        // Taken like any step (the attempt is recorded before the request), and closed on the
        // delivery as it is then.
        if let Some(outcome) = engine.unpublish_delivery(d.id).await? {
            done.push(Unpublished {
                channel: d.channel,
                outcome,
            });
        }
    }
    Ok(done)
}
