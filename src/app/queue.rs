//! The officer's say over the queue: `loa retry`, `loa cancel` and `loa unpublish`.

use crate::app::{AppError, open_engine};
use crate::channel::Channel;
use crate::channels::Secrets;
use crate::config::Config;
use crate::engine::commands::{self, CommandError, Unpublished};
use crate::engine::{Clock, EngineError};
use crate::service;

/// Puts the failed, missed (and with `force`, unconfirmed) deliveries of `post` back in the
/// queue, only on `channel` if given, and wakes a running service. Returns how many changed.
pub async fn retry(
    config: Config,
    post: &str,
    channel: Option<Channel>,
    force: bool,
) -> Result<usize, AppError> {
    let data_dir = config.data_dir.clone();
    let engine = open_queue(config)?;
    let changed = commands::retry(&engine, post, channel, force).await?;
    if changed > 0 {
        service::poke(&data_dir);
    }
    Ok(changed)
}

/// Cancels the deliveries of `post` that are not published yet, only on `channel` if given,
/// and wakes a running service. Returns how many changed.
pub async fn cancel(
    config: Config,
    post: &str,
    channel: Option<Channel>,
) -> Result<usize, AppError> {
    let data_dir = config.data_dir.clone();
    let engine = open_queue(config)?;
    let changed = commands::cancel(&engine, post, channel).await?;
    if changed > 0 {
        service::poke(&data_dir);
    }
    Ok(changed)
}

/// Deletes the published post of `post` on its channels (only `channel` if given), through the
/// clients this environment's tokens allow; one answer per channel it was on.
pub async fn unpublish(
    config: Config,
    post: &str,
    channel: Option<Channel>,
) -> Result<Vec<Unpublished>, AppError> {
    let channels = crate::channels::build(&config, &Clock::system(), &Secrets::from_env());
    let engine = open_engine(config, channels.publishers)?;
    Ok(commands::unpublish(&engine, post, channel).await?)
}

/// The engine for `retry` and `cancel`, which send nothing.
fn open_queue(config: Config) -> Result<std::sync::Arc<crate::engine::Engine>, AppError> {
    open_engine(config, Vec::new()).map_err(|e| match e {
        // `retry` and `cancel` have always reported a store that cannot be opened as
        // "internal task failed: …"; moving them here changes nothing the officer reads.
        AppError::Open(e) => {
            AppError::Command(CommandError::Engine(EngineError::Join(e.to_string())))
        }
        other => other,
    })
}
