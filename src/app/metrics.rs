//! `loa metrics [--all]`: one collection round now, through the clients the registry builds
//! from this environment's tokens.

use crate::app::{AppError, open_engine};
use crate::channels::Secrets;
use crate::config::Config;
use crate::engine::Clock;
use crate::metrics::collect::{Progress, collect};
use crate::metrics::{Scope, Summary};

/// Collects what is due (`all`: every published delivery) and, like the service after each
/// round, rewrites `data_dir/report.html`. Channels that cannot be served (no token) are named
/// in the summary.
pub async fn collect_now(
    config: Config,
    all: bool,
    progress: &dyn Progress,
) -> Result<Summary, AppError> {
    let channels = crate::channels::build(&config, &Clock::system(), &Secrets::from_env());
    let engine = open_engine(config.clone(), Vec::new())?;
    let scope = if all { Scope::All } else { Scope::Due };
    let mut summary = collect(&engine, &channels.collectors, scope, progress).await?;
    for missing in channels.unavailable {
        summary.stopped.push((missing.channel, missing.reason));
    }
    crate::app::report::write_html(&engine).await;
    Ok(summary)
}
