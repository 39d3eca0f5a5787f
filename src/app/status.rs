//! The model behind `loa status`: every post, its deliveries and the channels' health.

use crate::app::{AppError, open_engine};
use crate::channels::Secrets;
use crate::config::Config;
use crate::engine::Clock;
use crate::service;
use crate::status::Status;

/// The status now. With no service running, the posts folder is read first so the status is
/// current, and the channels are judged by the tokens this environment would give `loa run`. A
/// running service keeps both current itself: its environment, not this shell's, decides
/// whether it has tokens, so its view (recorded in the store) is shown.
pub async fn status(config: Config) -> Result<Status, AppError> {
    let engine = open_engine(config.clone(), Vec::new())?;
    // Asked without the service's lock: taking it, even briefly, would refuse a `loa run`
    // starting at that moment.
    let unavailable = if service::running(&config.data_dir).is_none() {
        engine.sync().await?;
        crate::channels::build(&config, &Clock::system(), &Secrets::from_env()).unavailable
    } else {
        Vec::new()
    };
    let now = engine.clock().now();
    let dashboard = crate::web::running_address(&config.data_dir);
    let mut status = engine
        .with_store(move |s| crate::status::build(s, &config, now, &unavailable))
        .await?;
    status.dashboard = dashboard;
    status.undelivered_alerts = undelivered_alerts(&engine).await?;
    Ok(status)
}

/// What the configured alert sinks have not taken yet (the last week's alerts).
pub async fn undelivered_alerts(
    engine: &crate::engine::Engine,
) -> Result<Vec<crate::status::UndeliveredAlert>, AppError> {
    let config = engine.config().clone();
    let Some(alerts) = &config.alerts else {
        return Ok(Vec::new());
    };
    let sinks = crate::alerts::sinks(alerts, &crate::alerts::AlertSecrets::from_env());
    let labels: std::collections::BTreeMap<String, String> =
        sinks.iter().map(|s| (s.id(), s.label())).collect();
    let ids: Vec<String> = labels.keys().cloned().collect();
    let now = chrono::Utc::now();
    let tz = config.timezone;
    let rows = engine
        .with_store(move |s| s.undelivered_alerts(&ids, now))
        .await?;
    Ok(rows
        .into_iter()
        .map(|u| crate::status::UndeliveredAlert {
            kind: u.alert.kind.clone(),
            at: u.alert.at.with_timezone(&tz).to_rfc3339(),
            sink: labels.get(&u.sink).cloned().unwrap_or(u.sink),
            attempts: u.attempts,
            error: u.last_error,
        })
        .collect())
}
