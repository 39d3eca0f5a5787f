//! `loa run [--once]`: the service, or one pass for cron and systemd timers.

use std::io::{self, Write};

use crate::config::Config;
use crate::i18n::tr;
use crate::service::{self, ServiceError};

/// Runs the service; exit code 1 when it cannot start or its store fails.
pub fn run(config: Config, once: bool, err: &mut dyn Write) -> io::Result<u8> {
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
