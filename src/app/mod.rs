//! The app layer: what loa's short commands do, between the CLI (which parses arguments, prints
//! and picks exit codes) and the engine. It opens the store, runs the officer's commands on the
//! queue, builds the status model and connects the platform accounts.
//!
//! Nothing here takes the service's lock (`data_dir/loa.lock`): only `loa run` does. A short
//! command started at the same moment as a service must never stop it from starting; whether a
//! service runs is asked with [`crate::service::running`], which only reads.

pub mod connect;
pub mod metrics;
pub mod preview;
pub mod queue;
pub mod report;
pub mod status;

use std::sync::Arc;

use crate::config::Config;
use crate::engine::commands::CommandError;
use crate::engine::{Clock, Engine, EngineError};
use crate::publisher::Publisher;

/// Why a short command could not do its work. Its text is what the officer reads.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store in the data folder could not be opened.
    #[error("{}", open_message(.0))]
    Open(std::io::Error),
    /// The store failed while the command ran.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The command could not act (no such post, no client for the channel, …).
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// Why the store could not be opened, in the officer's words: the store's own error when it
/// is one (a newer schema, a damaged file), the folder's otherwise.
fn open_message(e: &std::io::Error) -> String {
    let why = match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<crate::store::StoreError>())
    {
        Some(store) => store.to_string(),
        None => crate::i18n::io_error(e),
    };
    format!(
        "{}: {why}",
        crate::i18n::tr(
            "cannot open loa's database in data_dir",
            "không mở được cơ sở dữ liệu của loa trong data_dir"
        )
    )
}

/// An engine over the config's store for one short command, sending through `publishers` (none
/// for the commands that only read or change the queue).
pub fn open_engine(
    config: Config,
    publishers: Vec<Arc<dyn Publisher>>,
) -> Result<Arc<Engine>, AppError> {
    let store = crate::engine::open_store(&config.data_dir).map_err(AppError::Open)?;
    Ok(Arc::new(Engine::new(
        store,
        config,
        publishers,
        Clock::system(),
    )))
}
