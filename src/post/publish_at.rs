//! `publish_at`: when a post goes out, read in the configured zone.
//!
//! Accepted: `now`; ISO `2026-12-01 07:00` (or with `T`, seconds, an offset or `Z`); and the
//! Vietnamese order `01/12/2026 07:00` (also `1/12/2026 7h30`, `07:00 01/12/2026`). Slash dates
//! are always day first: a date that only makes sense month first is refused, never guessed.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

use crate::config::parse_time_of_day;
use crate::i18n::tr;

/// When a post should be published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishAt {
    /// As soon as loa sees it.
    Now,
    /// At this moment.
    At(DateTime<Tz>),
}

/// Why a `publish_at` value was refused: the message and the fix.
#[derive(Debug, PartialEq, Eq)]
pub struct BadTime {
    /// What is wrong.
    pub message: String,
    /// How to write it.
    pub fix: String,
}

fn bad(message: String) -> BadTime {
    BadTime {
        message,
        fix: tr(
            "write it as 2026-12-01 07:00, as 01/12/2026 07:00 (day/month/year) or as now",
            "ghi dạng 2026-12-01 07:00, dạng 01/12/2026 07:00 (ngày/tháng/năm) hoặc now",
        )
        .to_string(),
    }
}

/// Parses a `publish_at` value in zone `tz`.
pub fn parse_publish_at(s: &str, tz: Tz) -> Result<PublishAt, BadTime> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("now") {
        return Ok(PublishAt::Now);
    }
    // With an explicit offset the zone is given; show it in the configured zone anyway.
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%:z",
        "%Y-%m-%d %H:%M:%S%:z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%d %H:%M%:z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(&s.replace('Z', "+00:00"), fmt) {
            return Ok(PublishAt::At(dt.with_timezone(&tz)));
        }
    }
    let naive = if s.contains('/') {
        parse_day_first(s)?
    } else {
        parse_iso_local(s)?
    };
    localize(naive, tz, s)
}

fn parse_iso_local(s: &str) -> Result<NaiveDateTime, BadTime> {
    for fmt in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(dt);
        }
    }
    if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        return Err(BadTime {
            message: tr(
                format!("publish_at `{s}` has no time of day"),
                format!("publish_at `{s}` thiếu giờ đăng"),
            ),
            fix: tr(
                format!("add the time, e.g. {s} 07:00"),
                format!("thêm giờ, ví dụ {s} 07:00"),
            ),
        });
    }
    Err(bad(tr(
        format!("publish_at `{s}` is not a date and time"),
        format!("publish_at `{s}` không phải ngày giờ hợp lệ"),
    )))
}

/// `dd/mm/yyyy HH:MM` or `HH:MM dd/mm/yyyy`.
fn parse_day_first(s: &str) -> Result<NaiveDateTime, BadTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let (date, time) = match parts.as_slice() {
        [d, t] if d.contains('/') => (*d, *t),
        [t, d] if d.contains('/') => (*d, *t),
        [d] => {
            return Err(BadTime {
                message: tr(
                    format!("publish_at `{d}` has no time of day"),
                    format!("publish_at `{d}` thiếu giờ đăng"),
                ),
                fix: tr(
                    format!("add the time, e.g. {d} 07:00"),
                    format!("thêm giờ, ví dụ {d} 07:00"),
                ),
            });
        }
        _ => {
            return Err(bad(tr(
                format!("publish_at `{s}` is not a date and time"),
                format!("publish_at `{s}` không phải ngày giờ hợp lệ"),
            )));
        }
    };
    let nums: Vec<&str> = date.split('/').collect();
    let [d, m, y] = nums.as_slice() else {
        return Err(bad(tr(
            format!("`{date}` is not a day/month/year date"),
            format!("`{date}` không phải ngày/tháng/năm"),
        )));
    };
    let (Ok(day), Ok(month), Ok(year)) = (d.parse::<u32>(), m.parse::<u32>(), y.parse::<i32>())
    else {
        return Err(bad(tr(
            format!("`{date}` is not a day/month/year date"),
            format!("`{date}` không phải ngày/tháng/năm"),
        )));
    };
    if y.len() != 4 {
        return Err(bad(tr(
            format!("write the year of `{date}` with four digits"),
            format!("ghi năm của `{date}` đủ bốn chữ số"),
        )));
    }
    if month > 12 && day <= 12 {
        return Err(BadTime {
            message: tr(
                format!("`{date}` has month {month}: dates are day/month/year, not month/day/year"),
                format!("`{date}` có tháng {month}: ngày viết theo thứ tự ngày/tháng/năm"),
            ),
            fix: tr(
                format!("write {month:02}/{day:02}/{year} {time}"),
                format!("ghi {month:02}/{day:02}/{year} {time}"),
            ),
        });
    }
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| {
        bad(tr(
            format!("`{date}` is not a real date (day/month/year)"),
            format!("`{date}` không phải ngày có thật (ngày/tháng/năm)"),
        ))
    })?;
    let time: NaiveTime = parse_time_of_day(time).ok_or_else(|| {
        bad(tr(
            format!("`{time}` is not a time of day (HH:MM)"),
            format!("`{time}` không phải giờ hợp lệ (HH:MM)"),
        ))
    })?;
    Ok(date.and_time(time))
}

fn localize(naive: NaiveDateTime, tz: Tz, s: &str) -> Result<PublishAt, BadTime> {
    // `earliest` resolves a repeated hour (DST end); a skipped hour (DST start) does not exist.
    tz.from_local_datetime(&naive)
        .earliest()
        .map(PublishAt::At)
        .ok_or_else(|| BadTime {
            message: tr(
                format!("`{s}` does not exist in {tz} (the clocks skip it)"),
                format!("`{s}` không tồn tại ở múi giờ {tz}"),
            ),
            fix: tr("pick a time an hour later", "chọn giờ muộn hơn một tiếng").to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Ho_Chi_Minh as VN;

    fn at(s: &str) -> String {
        match parse_publish_at(s, VN).unwrap() {
            PublishAt::At(t) => t.to_rfc3339(),
            PublishAt::Now => "now".into(),
        }
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(at("2026-12-01 07:00"), "2026-12-01T07:00:00+07:00");
        assert_eq!(at("2026-12-01T07:00:30"), "2026-12-01T07:00:30+07:00");
        assert_eq!(at("2026-12-01T00:00:00Z"), "2026-12-01T07:00:00+07:00");
        assert_eq!(at("2026-12-01T09:00:00+09:00"), "2026-12-01T07:00:00+07:00");
        assert_eq!(at("01/12/2026 07:00"), "2026-12-01T07:00:00+07:00");
        assert_eq!(at("1/12/2026 7h30"), "2026-12-01T07:30:00+07:00");
        assert_eq!(at("07:00 25/12/2026"), "2026-12-25T07:00:00+07:00");
        assert_eq!(at("NOW"), "now");
    }

    #[test]
    fn us_order_is_refused_with_the_swap() {
        let e = parse_publish_at("12/25/2026 07:00", VN).unwrap_err();
        assert!(e.message.contains("month 25"), "{}", e.message);
        assert_eq!(e.fix, "write 25/12/2026 07:00");
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(parse_publish_at("31/02/2026 07:00", VN).is_err());
        assert!(
            parse_publish_at("2026-12-01", VN)
                .unwrap_err()
                .message
                .contains("no time")
        );
        assert!(parse_publish_at("tomorrow", VN).is_err());
        assert!(parse_publish_at("01/12/26 07:00", VN).is_err());
    }

    #[test]
    fn skipped_dst_hour_is_refused() {
        let e = parse_publish_at("2026-03-29 02:30", chrono_tz::Europe::Berlin).unwrap_err();
        assert!(e.message.contains("does not exist"));
    }
}
