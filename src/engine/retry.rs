//! The retry policy, in one small place: capped exponential backoff with jitter, honouring a
//! platform's own wait.

use std::time::Duration;

/// The wait before try number `failures + 1`, given `failures` ≥ 1 failed tries so far.
///
/// The delay doubles from `base` up to `max`; jitter keeps it between half and all of that (never
/// under `base`), so deliveries that failed together do not retry together. A platform's
/// `retry_after` wins when it is longer.
pub fn backoff(
    failures: u32,
    base: Duration,
    max: Duration,
    retry_after: Option<Duration>,
    unit_random: f64,
) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    let full = base.saturating_mul(1u32 << exp).min(max).max(base);
    let jittered = full
        .mul_f64(0.5 + 0.5 * unit_random.clamp(0.0, 1.0))
        .max(base.min(max));
    match retry_after {
        Some(wait) if wait > jittered => wait,
        _ => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S30: Duration = Duration::from_secs(30);
    const H1: Duration = Duration::from_secs(3600);

    #[test]
    fn doubles_and_caps() {
        assert_eq!(backoff(1, S30, H1, None, 1.0), S30);
        assert_eq!(backoff(2, S30, H1, None, 1.0), Duration::from_secs(60));
        assert_eq!(backoff(5, S30, H1, None, 1.0), Duration::from_secs(480));
        assert_eq!(backoff(8, S30, H1, None, 1.0), H1);
        assert_eq!(
            backoff(40, S30, H1, None, 1.0),
            H1,
            "no overflow for huge counts"
        );
    }

    #[test]
    fn jitter_stays_within_bounds() {
        for failures in 1..12 {
            for r in [0.0, 0.3, 0.7, 1.0] {
                let d = backoff(failures, S30, H1, None, r);
                assert!(d >= S30 && d <= H1, "{failures} {r} {d:?}");
            }
        }
        assert_eq!(backoff(3, S30, H1, None, 0.0), Duration::from_secs(60));
    }

    #[test]
    fn honours_a_longer_platform_wait() {
        assert_eq!(
            backoff(1, S30, H1, Some(Duration::from_secs(90)), 1.0),
            Duration::from_secs(90)
        );
        assert_eq!(
            backoff(1, S30, H1, Some(Duration::from_secs(7200)), 1.0),
            Duration::from_secs(7200)
        );
        assert_eq!(
            backoff(3, S30, H1, Some(Duration::from_secs(5)), 1.0),
            Duration::from_secs(120)
        );
    }
}
