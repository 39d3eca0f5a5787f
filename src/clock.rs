//! The one clock loa reads: the engine, the platform clients, the Zalo token manager and the
//! sandbox all take one. In service it is the system's wall clock; in tests and the offline demo
//! it follows tokio's clock from a chosen start, so a paused runtime can run a week of schedule
//! in seconds, and every wait on it (a retry's pause included) shrinks with the clock.

use chrono::{DateTime, Utc};

/// Longest single sleep on the system clock: the wall clock can jump (NTP, a laptop waking from
/// suspend) while tokio's monotonic timer does not see it, so long waits are re-checked.
const MAX_SYSTEM_SLEEP: std::time::Duration = std::time::Duration::from_secs(600);

/// Wall-clock time for loa: what time it is, and waiting.
#[derive(Clone, Debug)]
pub struct Clock {
    virtual_start: Option<(DateTime<Utc>, tokio::time::Instant)>,
    /// How many seconds of this clock pass per second of tokio's (the offline demo runs a week
    /// of schedule in under a minute).
    speed: f64,
}

/// Makes `loa run`'s clock run this many times faster than the wall's (with
/// [`EPOCH_ENV`]). For the proof suites (`tests/proof_*.rs`), whose platforms pause a channel
/// for an hour; never set in service.
pub const SPEED_ENV: &str = "LOA_CLOCK_SPEED";

/// The wall time (RFC 3339) at which a [`SPEED_ENV`] clock reads the wall's time: processes
/// given the same pair read the same time (the test's sandbox, and each `loa run` it restarts).
pub const EPOCH_ENV: &str = "LOA_CLOCK_EPOCH";

impl Clock {
    /// The service's clock: the system's, unless [`SPEED_ENV`] asks for a faster one
    /// ([`Clock::anchored`] at [`EPOCH_ENV`], or now when that is unset or unreadable).
    pub fn from_env() -> Clock {
        let speed = std::env::var(SPEED_ENV)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0);
        let Some(speed) = speed else {
            return Clock::system();
        };
        let epoch = std::env::var(EPOCH_ENV)
            .ok()
            .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
            .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
        tracing::warn!(speed, "the clock runs faster than the wall's ({SPEED_ENV})");
        Clock::anchored(epoch, speed)
    }

    /// A clock `speed` times faster than the wall's that read `epoch` when the wall did: it
    /// reads `epoch + (wall now - epoch) × speed`, in any process. Must be created inside the
    /// runtime whose time it follows.
    pub fn anchored(epoch: DateTime<Utc>, speed: f64) -> Clock {
        let speed = speed.max(f64::MIN_POSITIVE);
        let since = (Utc::now() - epoch)
            .to_std()
            .unwrap_or_default()
            .mul_f64(speed);
        Clock::compressed(
            epoch + chrono::Duration::from_std(since).unwrap_or_default(),
            speed,
        )
    }

    /// The system clock.
    pub fn system() -> Clock {
        Clock {
            virtual_start: None,
            speed: 1.0,
        }
    }

    /// A clock that reads `start` now and then advances with tokio's (possibly paused) time.
    /// Must be created inside the runtime whose time it follows.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock::compressed(start, 1.0)
    }

    /// A clock that reads `start` now and then runs `speed` times faster than tokio's time.
    pub fn compressed(start: DateTime<Utc>, speed: f64) -> Clock {
        Clock {
            virtual_start: Some((start, tokio::time::Instant::now())),
            speed: speed.max(f64::MIN_POSITIVE),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match self.virtual_start {
            None => Utc::now(),
            Some((wall, at)) => {
                let elapsed = tokio::time::Instant::now()
                    .saturating_duration_since(at)
                    .mul_f64(self.speed);
                wall + chrono::Duration::from_std(elapsed).unwrap_or_default()
            }
        }
    }

    /// Sleeps until `t` (or, on the system clock, at most ten minutes: the caller re-checks).
    pub async fn sleep_until(&self, t: DateTime<Utc>) {
        let wait = (t - self.now()).to_std().unwrap_or_default();
        let wait = if self.virtual_start.is_none() {
            wait.min(MAX_SYSTEM_SLEEP)
        } else {
            wait.div_f64(self.speed)
        };
        tokio::time::sleep(wait).await;
    }

    /// Sleeps for `span` of this clock's time: on a compressed clock, `span / speed` of tokio's.
    /// Short waits between tries (a retry's pause) go through here, so the demo compresses them
    /// with everything else.
    pub async fn sleep(&self, span: std::time::Duration) {
        tokio::time::sleep(span.div_f64(self.speed)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn virtual_time_follows_tokio() {
        let start = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::starting_at(start);
        clock.sleep_until(start + chrono::Duration::days(2)).await;
        assert_eq!(clock.now(), start + chrono::Duration::days(2));
    }

    /// Two processes given the same epoch and speed read the same time, however far apart
    /// they started (the proof suites' sandbox and each `loa run` they restart).
    #[tokio::test]
    async fn anchored_clocks_made_apart_agree() {
        let epoch = Utc::now() - chrono::Duration::seconds(2);
        let first = Clock::anchored(epoch, 1200.0);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let second = Clock::anchored(epoch, 1200.0);
        let gap = (first.now() - second.now()).num_milliseconds().abs();
        // A few milliseconds of reading apart, times 1200.
        assert!(gap < 10_000, "{gap} ms apart");
        assert!(second.now() - epoch >= chrono::Duration::seconds(2 * 1200));
    }

    #[tokio::test(start_paused = true)]
    async fn a_compressed_clock_runs_a_week_in_seconds() {
        let start = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::compressed(start, 86_400.0);
        tokio::time::sleep(std::time::Duration::from_secs(7)).await;
        assert_eq!(clock.now(), start + chrono::Duration::days(7));
        let before = tokio::time::Instant::now();
        clock.sleep_until(start + chrono::Duration::days(8)).await;
        assert_eq!(
            tokio::time::Instant::now() - before,
            std::time::Duration::from_secs(1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_sleep_lasts_its_span_of_the_clocks_time() {
        let start = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let day = std::time::Duration::from_secs(86_400);
        let compressed = Clock::compressed(start, 43_200.0);
        let before = tokio::time::Instant::now();
        compressed.sleep(day).await;
        assert_eq!(
            tokio::time::Instant::now() - before,
            std::time::Duration::from_secs(2)
        );
        assert_eq!(compressed.now(), start + chrono::Duration::days(1));

        let before = tokio::time::Instant::now();
        Clock::system().sleep(day).await;
        assert_eq!(tokio::time::Instant::now() - before, day);
    }
}
