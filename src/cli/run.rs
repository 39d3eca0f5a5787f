//! `loa run [--once]`: the service, or one pass for cron and systemd timers.

use std::io::{self, Write};

use crate::config::Config;
use crate::i18n::tr;
use crate::service::{self, ServiceError};
use crate::token_store::TokenStore;

/// Runs the service; exit code 1 when it cannot start or its store fails.
pub fn run(config: Config, once: bool, err: &mut dyn Write) -> io::Result<u8> {
    if let Err(code) = tokens_private(&config, err) {
        return Ok(code);
    }
    let runtime = super::runtime()?;
    match runtime.block_on(service::run(config, once)) {
        Ok(()) => Ok(0),
        Err(e @ ServiceError::AlreadyRunning(_)) => {
            writeln!(err, "{}: {e}", tr("error", "lỗi"))?;
            Ok(1)
        }
        Err(e) => {
            writeln!(err, "{}: {e}", tr("error", "lỗi"))?;
            Ok(1)
        }
    }
}

/// Refuses to go on when other users can read or change `data_dir/tokens.json`, printing the
/// `chmod` that fixes it; `Err` holds the exit code (1: the command cannot start). Checked before
/// anything starts, so a service never runs on tokens that may already be copied.
pub(super) fn tokens_private(config: &Config, err: &mut dyn Write) -> Result<(), u8> {
    match TokenStore::new(&config.data_dir).check_private() {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = writeln!(err, "{}: {e}", tr("error", "lỗi"));
            Err(1)
        }
    }
}
