//! `loa status [--json]`.

use std::io::{self, Write};

use crate::app;
use crate::config::Config;

/// Prints every post, its deliveries and the channels' health.
pub fn run(config: Config, json: bool, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    let tz = config.timezone;
    let status = match super::runtime()?.block_on(app::status::status(config)) {
        Ok(s) => s,
        Err(e) => {
            writeln!(err, "{e}")?;
            return Ok(1);
        }
    };
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&status).unwrap_or_default()
        )?;
    } else {
        write!(out, "{}", crate::status::text(&status, tz))?;
    }
    Ok(0)
}
