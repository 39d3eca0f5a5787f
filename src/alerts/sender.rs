//! Sends the outbox in `loa run`: one task per sink, so a sink that is down delays neither
//! publishing nor the other sinks. Each alert is recorded as sent (or its failure and next try)
//! right after its send; a crash in between sends that one alert again at most once.
//!
//! Timing is real time (`Utc::now`, tokio's sleep): the triggers stamp alerts with SQLite's wall
//! time, and a sink's backoff is about the network, not the posts' clock.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use super::{Sink, outbox};
use crate::engine::Engine;

/// The first wait after a failed send; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Alerts sent per pass of a sink (the rest follow at once in the next pass).
const BATCH: usize = 20;

/// The test suites' shorter first wait (`LOA_ALERT_RETRY`, e.g. `1s`); it can only shorten.
pub const RETRY_ENV: &str = "LOA_ALERT_RETRY";

/// The wait before try `attempts + 1` of an alert on a sink.
pub fn backoff(attempts: u32) -> Duration {
    static FIRST: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    let first = *FIRST.get_or_init(|| {
        std::env::var(RETRY_ENV)
            .ok()
            .and_then(|v| humantime::parse_duration(v.trim()).ok())
            .map_or(FIRST_BACKOFF, |d| d.min(FIRST_BACKOFF))
    });
    first.saturating_mul(1 << attempts.min(10)).min(MAX_BACKOFF)
}

/// Starts one sending task per sink (after [`note`]); they run until aborted, waking when the
/// engine wrote to the store (an alert may have been written with it) or a retry is due.
pub async fn start(engine: Arc<Engine>, sinks: Vec<Sink>) -> Vec<tokio::task::JoinHandle<()>> {
    sinks
        .into_iter()
        .map(|sink| {
            let engine = engine.clone();
            let changes = engine.changes();
            tokio::spawn(run_sink(engine, sink, changes))
        })
        .collect()
}

/// Records the configured sinks (alerts from before a sink existed are not owed to it): called
/// as the service starts, before anything it does can raise an alert.
pub async fn note(engine: &Engine, sinks: &[Sink]) {
    let ids: Vec<String> = sinks.iter().map(Sink::id).collect();
    let now = Utc::now();
    if let Err(e) = engine.with_store(move |s| s.note_sinks(&ids, now)).await {
        tracing::warn!(error = %e, "could not record the alert sinks");
    }
}

/// One pass for `loa run --once`: every alert owed to each sink and due now is tried once.
pub async fn flush(engine: &Arc<Engine>, sinks: &[Sink]) {
    for sink in sinks {
        while pass(engine, sink).await {}
    }
}

/// Tries what is owed to `sink` and due now (at most [`BATCH`]); returns whether more may wait.
async fn pass(engine: &Arc<Engine>, sink: &Sink) -> bool {
    let id = sink.id();
    let now = Utc::now();
    let ids = vec![id.clone()];
    let pending = match engine.with_store(move |s| s.pending_sends(&ids, now)).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the alerts outbox");
            return false;
        }
    };
    let full = pending.len() > BATCH;
    for p in pending.into_iter().take(BATCH) {
        let alert = outbox::compose(&p.alert, engine.config());
        let result = sink.send(&alert).await;
        let (alert_id, sink_id, now) = (p.alert.id, id.clone(), Utc::now());
        let recorded = match result {
            Ok(()) => {
                tracing::info!(sink = %sink.label(), kind = %alert.kind.as_str(), "alert sent");
                engine
                    .with_store(move |s| s.record_sent(alert_id, &sink_id, now))
                    .await
            }
            Err(e) => {
                tracing::warn!(sink = %sink.label(), error = %e.message, "alert not sent");
                let next = e.retryable.then(|| {
                    now + chrono::Duration::from_std(backoff(p.attempts))
                        .unwrap_or(chrono::Duration::hours(1))
                });
                let message = e.message.clone();
                engine
                    .with_store(move |s| s.record_send_failure(alert_id, &sink_id, &message, next))
                    .await
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "could not record an alert's send");
            return false;
        }
    }
    full
}

async fn run_sink(engine: Arc<Engine>, sink: Sink, mut changes: watch::Receiver<u64>) {
    let id = sink.id();
    loop {
        changes.mark_unchanged();
        if pass(&engine, &sink).await {
            continue;
        }
        let ids = vec![id.clone()];
        let next = engine
            .with_store(move |s| s.next_send_at(&ids, Utc::now()))
            .await
            .ok()
            .flatten();
        // Asleep until the store changes or the next retry is due: no wake-up while idle. (The
        // pass's own records count as a change: one more read, then sleep.)
        match next {
            Some(at) => {
                let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                tokio::select! {
                    r = changes.changed() => if r.is_err() { return },
                    () = tokio::time::sleep(wait.max(Duration::from_millis(50))) => {}
                }
            }
            None => {
                if changes.changed().await.is_err() {
                    return;
                }
            }
        }
        // Let a burst of changes settle into one read.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_to_an_hour() {
        assert_eq!(backoff(0), Duration::from_secs(60));
        assert_eq!(backoff(1), Duration::from_secs(120));
        assert_eq!(backoff(5), Duration::from_secs(1920));
        assert_eq!(backoff(6), Duration::from_secs(3600));
        assert_eq!(backoff(40), Duration::from_secs(3600));
    }
}
