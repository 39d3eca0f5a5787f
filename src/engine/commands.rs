//! The officer's commands on the queue: `loa retry` and `loa cancel`.

use crate::channel::Channel;
use crate::engine::{Engine, EngineError};
use crate::store::{self, PostRecord, State, Store};

/// Why a command could not act.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No post matches.
    #[error("no post `{0}` is known; give its file (e.g. posts/x.md) or its id from `loa status`")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// loa cannot reach this channel now (no token, or no client in this build).
    #[error("loa cannot reach {0} now; see `loa status`")]
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
            let mut n = 0;
            for mut d in s
                .deliveries_of(&post.id)?
                .into_iter()
                .filter(|d| channel.is_none_or(|c| c == d.channel))
            {
                match d.state {
                    State::Failed | State::Missed => {
                        if d.state == State::Missed {
                            // Due now: an officer asked for it, so it is no longer late.
                            d.due_at = Some(now);
                            d.slotted = false;
                        }
                        d.state = State::RetryWait;
                    }
                    State::Unconfirmed if force => {
                        // The officer checked the platform: the post is not there.
                        d.state = State::RetryWait;
                        d.needs_reconcile = false;
                        d.reconcile_tries = 0;
                        d.progress = None;
                    }
                    State::Published if d.update_state.as_deref() == Some("failed") => {
                        d.update_state = Some("pending".into());
                    }
                    _ => continue,
                }
                d.failures = 0;
                d.next_attempt_at = Some(now);
                d.last_error = None;
                s.save_delivery(&d)?;
                if let Some(mut c) = s
                    .channels()?
                    .into_iter()
                    .find(|c| c.channel == d.channel && c.health == "needs_reauth")
                {
                    c.health = "ok".into();
                    c.reason = None;
                    s.set_channel(&c)?;
                }
                n += 1;
            }
            Ok(Some(n))
        })
        .await?;
    engine.wake();
    changed.ok_or_else(|| CommandError::NotFound(post.to_string()))
}

/// Cancels the deliveries of `post` that are not published (or being published). Returns how
/// many were cancelled.
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
            let mut n = 0;
            for mut d in s
                .deliveries_of(&post.id)?
                .into_iter()
                .filter(|d| channel.is_none_or(|c| c == d.channel))
            {
                if matches!(
                    d.state,
                    State::Scheduled
                        | State::RetryWait
                        | State::Missed
                        | State::Failed
                        | State::Unconfirmed
                ) {
                    d.state = State::Cancelled;
                    d.cancel_reason = Some("officer".into());
                    d.next_attempt_at = None;
                    s.save_delivery(&d)?;
                    n += 1;
                }
            }
            Ok(Some(n))
        })
        .await?;
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
    for mut d in found
        .into_iter()
        .filter(|d| channel.is_none_or(|c| c == d.channel))
    {
        let on_platform =
            d.state == State::Published || (d.platform_scheduled && d.state != State::Cancelled);
        let (Some(remote_id), true) = (d.remote_id.clone(), on_platform) else {
            continue;
        };
        let Some(publisher) = engine.publisher(d.channel) else {
            return Err(CommandError::NoClient(d.channel));
        };
        let id = d.id;
        let now = engine.clock().now();
        // Recorded before the request, like every other one.
        let attempt = engine
            .with_store(move |s| s.begin_attempt(id, "delete", now))
            .await?;
        let outcome = publisher.delete(&remote_id).await;
        if matches!(outcome, crate::publisher::Outcome::Published { .. }) {
            d.state = State::Cancelled;
            d.cancel_reason = Some("unpublished".into());
            d.platform_scheduled = false;
            d.update_state = None;
            d.next_attempt_at = None;
            d.last_error = None;
        }
        let (class, message) = (
            outcome.class().to_string(),
            outcome.message().map(String::from),
        );
        let saved = d.clone();
        let now = engine.clock().now();
        engine
            .with_store(move |s| {
                s.finish_attempt(attempt, &class, None, message.as_deref(), &saved, now)
            })
            .await?;
        done.push(Unpublished {
            channel: d.channel,
            outcome,
        });
    }
    Ok(done)
}
