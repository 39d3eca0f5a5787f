//! Weekly slots: the plan's Tue/Thu rhythm. A post without `publish_at` takes the next free slot
//! of each of its channels, one post per slot per channel, in file-name order.
//!
//! A slot is taken by any other delivery of the channel due within an hour of it, before or
//! after: a dated post at 07:00 or 07:30 takes the 07:00 slot, one at 08:00 does not. The Page
//! or the OA never gets two posts in the same hour because one was dated and one slotted.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use chrono_tz::Tz;

use crate::config::Slot;

/// Slot instants at or after `from`, in time order (up to ten years ahead).
pub fn upcoming(
    slots: &[Slot],
    tz: Tz,
    from: DateTime<Utc>,
) -> impl Iterator<Item = DateTime<Utc>> + '_ {
    let first_day = from.with_timezone(&tz).date_naive();
    (0..3660).flat_map(move |offset| {
        let day = first_day + Duration::days(offset);
        let mut times: Vec<DateTime<Utc>> = slots
            .iter()
            .filter(|s| s.weekday == day.weekday())
            .filter_map(|s| tz.from_local_datetime(&day.and_time(s.time)).earliest())
            .map(|t| t.with_timezone(&Utc))
            .filter(|t| *t >= from)
            .collect();
        times.sort();
        times
    })
}

/// How close another delivery's time must be to a slot to take it.
pub const SLOT_GAP: Duration = Duration::hours(1);

/// The first slot at or after `from` with no time of `taken` within [`SLOT_GAP`] of it.
pub fn next_free(
    slots: &[Slot],
    tz: Tz,
    from: DateTime<Utc>,
    taken: &[DateTime<Utc>],
) -> Option<DateTime<Utc>> {
    upcoming(slots, tz, from).find(|t| !taken.iter().any(|o| (*o - *t).abs() < SLOT_GAP))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Ho_Chi_Minh as VN;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn plan() -> Vec<Slot> {
        vec![
            Slot::parse("Tue 07:00").unwrap(),
            Slot::parse("Thu 07:00").unwrap(),
        ]
    }

    #[test]
    fn tuesday_and_thursday_at_seven_in_vietnam() {
        // Thursday 2026-11-26, 20:00 in Vietnam.
        let from = at("2026-11-26T20:00:00+07:00");
        let next: Vec<String> = upcoming(&plan(), VN, from)
            .take(3)
            .map(|t| t.with_timezone(&VN).to_rfc3339())
            .collect();
        assert_eq!(
            next,
            [
                "2026-12-01T07:00:00+07:00",
                "2026-12-03T07:00:00+07:00",
                "2026-12-08T07:00:00+07:00"
            ]
        );
    }

    #[test]
    fn a_slot_right_now_counts_and_taken_slots_are_skipped() {
        let from = at("2026-12-01T07:00:00+07:00");
        assert_eq!(next_free(&plan(), VN, from, &[]), Some(from));
        let taken = [from, at("2026-12-03T07:00:00+07:00")];
        assert_eq!(
            next_free(&plan(), VN, from, &taken),
            Some(at("2026-12-08T07:00:00+07:00"))
        );
    }

    #[test]
    fn a_dated_post_within_the_hour_takes_the_slot() {
        let from = at("2026-12-01T06:00:00+07:00");
        for dated in ["2026-12-01T07:30:00+07:00", "2026-12-01T06:01:00+07:00"] {
            assert_eq!(
                next_free(&plan(), VN, from, &[at(dated)]),
                Some(at("2026-12-03T07:00:00+07:00")),
                "a post dated {dated} takes Tuesday's 07:00 slot"
            );
        }
        // An hour away or more leaves the slot free.
        for dated in ["2026-12-01T08:00:00+07:00", "2026-12-01T06:00:00+07:00"] {
            assert_eq!(
                next_free(&plan(), VN, from, &[at(dated)]),
                Some(at("2026-12-01T07:00:00+07:00")),
                "a post dated {dated} leaves the slot free"
            );
        }
    }

    #[test]
    fn no_slots_means_none() {
        assert_eq!(next_free(&[], VN, at("2026-12-01T00:00:00Z"), &[]), None);
    }
}
