//! When a published post's figures are asked for: at ages of about 1 h, 6 h, 24 h, 3 d, 7 d,
//! 14 d and 30 d, then never again. Pure functions of the publication time, the last step taken
//! and now, so the cadence is the same in the service, `loa run --once` and the tests.
//!
//! A step missed while loa was off is not made up several times: when loa comes back, the one
//! snapshot it takes counts as the newest step reached, and the ones before it are skipped.

use chrono::{DateTime, Duration, Utc};

/// The ages at which a snapshot is due, in hours (index = step).
pub const AGES_HOURS: [i64; 7] = [1, 6, 24, 72, 168, 336, 720];

/// The age of step `step`.
pub fn age(step: u8) -> Option<Duration> {
    AGES_HOURS
        .get(usize::from(step))
        .map(|h| Duration::hours(*h))
}

/// The step a snapshot taken `now` counts as, when one is due: the newest age reached, if it is
/// newer than `last_step`. `None` when nothing is due (too young, or that age already taken).
pub fn due_step(
    published_at: DateTime<Utc>,
    last_step: Option<u8>,
    now: DateTime<Utc>,
) -> Option<u8> {
    let reached = (0..AGES_HOURS.len() as u8)
        .rev()
        .find(|s| age(*s).is_some_and(|a| published_at + a <= now))?;
    match last_step {
        Some(last) if last >= reached => None,
        _ => Some(reached),
    }
}

/// When the next snapshot is due after step `last_step` was taken; `None` after the last age.
pub fn next_due_at(published_at: DateTime<Utc>, last_step: Option<u8>) -> Option<DateTime<Utc>> {
    let next = last_step.map_or(0, |s| s + 1);
    age(next).map(|a| published_at + a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_first_snapshot_is_due_an_hour_after_publication() {
        let p = at("2026-12-01T00:00:00Z");
        assert_eq!(due_step(p, None, at("2026-12-01T00:59:59Z")), None);
        assert_eq!(due_step(p, None, at("2026-12-01T01:00:00Z")), Some(0));
        assert_eq!(next_due_at(p, None), Some(at("2026-12-01T01:00:00Z")));
        assert_eq!(next_due_at(p, Some(0)), Some(at("2026-12-01T06:00:00Z")));
    }

    #[test]
    fn a_step_already_taken_is_not_due_again() {
        let p = at("2026-12-01T00:00:00Z");
        assert_eq!(due_step(p, Some(0), at("2026-12-01T05:00:00Z")), None);
        assert_eq!(due_step(p, Some(0), at("2026-12-01T06:00:00Z")), Some(1));
    }

    #[test]
    fn days_off_give_one_late_snapshot_not_several() {
        let p = at("2026-12-01T00:00:00Z");
        // Off from 2 h to 10 days: one snapshot, counted as the 7-day step.
        assert_eq!(due_step(p, Some(0), at("2026-12-11T00:00:00Z")), Some(4));
        assert_eq!(next_due_at(p, Some(4)), Some(at("2026-12-15T00:00:00Z")));
    }

    #[test]
    fn collection_ends_after_thirty_days() {
        let p = at("2026-12-01T00:00:00Z");
        assert_eq!(due_step(p, Some(5), at("2026-12-31T00:00:00Z")), Some(6));
        assert_eq!(due_step(p, Some(6), at("2027-06-01T00:00:00Z")), None);
        assert_eq!(next_due_at(p, Some(6)), None);
    }
}
