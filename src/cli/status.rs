//! `loa status [--json]`.

use std::io::{self, Write};
use std::sync::Arc;

use crate::config::Config;
use crate::engine::{Clock, Engine};
use crate::service;

/// Prints every post, its deliveries and the channels' health.
pub fn run(config: Config, json: bool, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    let runtime = super::runtime()?;
    let tz = config.timezone;
    let result = runtime.block_on(async move {
        let store = crate::engine::open_store(&config.data_dir)?;
        let engine = Arc::new(Engine::new(
            store,
            config.clone(),
            Vec::new(),
            Clock::system(),
        ));
        // With no service running, read the posts folder first so the status is current, and
        // judge the channels by the tokens this environment would give `loa run`. A running
        // service keeps both current itself: its environment, not this shell's, decides whether
        // it has tokens. Asked without the service's lock: taking it, even briefly, would refuse
        // a `loa run` starting at that moment.
        let unavailable = if service::running(&config.data_dir).is_none() {
            engine.sync().await.map_err(io::Error::other)?;
            service::clients(&config, &Clock::system()).1
        } else {
            Vec::new()
        };
        let now = engine.clock().now();
        engine
            .with_store(move |s| crate::status::build(s, &config, now, &unavailable))
            .await
            .map_err(io::Error::other)
    });
    let status = match result {
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
