//! Weekly publishing slots such as `Tue 07:00` or, in Vietnamese, `Thứ 3 07:00`.
//!
//! The commune's plan runs a radio column on Tuesdays and Thursdays; posts without a `publish_at`
//! take the next free slot.

use std::fmt;

use chrono::{NaiveTime, Weekday};

use crate::text::nfc;

/// A weekday and a local time of day at which a post may go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Slot {
    /// Day of the week.
    pub weekday: Weekday,
    /// Local time in the configured zone.
    pub time: NaiveTime,
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let vi = match self.weekday {
            Weekday::Mon => "Thứ 2",
            Weekday::Tue => "Thứ 3",
            Weekday::Wed => "Thứ 4",
            Weekday::Thu => "Thứ 5",
            Weekday::Fri => "Thứ 6",
            Weekday::Sat => "Thứ 7",
            Weekday::Sun => "Chủ nhật",
        };
        let day = crate::i18n::tr(self.weekday.to_string(), vi.to_string());
        write!(f, "{day} {}", self.time.format("%H:%M"))
    }
}

impl Slot {
    /// Parses `Tue 07:00`, `Tuesday 7:00`, `Thứ 3 07:00`, `T3 07:00`, `Chủ nhật 19:30`, `CN 7h30`.
    pub fn parse(s: &str) -> Result<Slot, String> {
        let s = nfc(s.trim());
        let (day, time) = s.rsplit_once(char::is_whitespace).ok_or_else(|| {
            crate::i18n::tr(
                format!("`{s}` is not a day and a time"),
                format!("`{s}` không phải thứ và giờ"),
            )
        })?;
        let weekday = parse_weekday(day.trim()).ok_or_else(|| {
            crate::i18n::tr(
                format!("`{}` is not a day of the week", day.trim()),
                format!("`{}` không phải một thứ trong tuần", day.trim()),
            )
        })?;
        let time = parse_time_of_day(time).ok_or_else(|| {
            crate::i18n::tr(
                format!("`{time}` is not a time (HH:MM)"),
                format!("`{time}` không phải giờ (HH:MM)"),
            )
        })?;
        Ok(Slot { weekday, time })
    }
}

/// Parses `07:00`, `7:00` or the Vietnamese `7h`, `7h30`, `07g30`.
pub fn parse_time_of_day(s: &str) -> Option<NaiveTime> {
    let s = s.trim().to_lowercase();
    let (h, m) = if let Some((h, m)) = s.split_once(':') {
        (h, m)
    } else if let Some((h, m)) = s.split_once(['h', 'g']) {
        (h, if m.is_empty() { "00" } else { m })
    } else {
        return None;
    };
    let all_digits =
        |x: &str| !x.is_empty() && x.len() <= 2 && x.chars().all(|c| c.is_ascii_digit());
    if !all_digits(h) || !all_digits(m) || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

fn parse_weekday(day: &str) -> Option<Weekday> {
    let d = day.to_lowercase();
    // English names and abbreviations, as chrono reads them.
    if let Ok(w) = d.parse::<Weekday>() {
        return Some(w);
    }
    let d = d.replace(['.', '-'], " ");
    let words: Vec<&str> = d.split_whitespace().collect();
    let number = |w: &str| match w {
        "2" | "hai" => Some(Weekday::Mon),
        "3" | "ba" => Some(Weekday::Tue),
        "4" | "tư" | "bốn" => Some(Weekday::Wed),
        "5" | "năm" => Some(Weekday::Thu),
        "6" | "sáu" => Some(Weekday::Fri),
        "7" | "bảy" => Some(Weekday::Sat),
        _ => None,
    };
    match words.as_slice() {
        ["thứ", n] => number(n),
        ["chủ", "nhật"] | ["cn"] => Some(Weekday::Sun),
        [w] => w.strip_prefix('t').and_then(number),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(s: &str) -> (Weekday, String) {
        let slot = Slot::parse(s).unwrap();
        (slot.weekday, slot.time.format("%H:%M").to_string())
    }

    #[test]
    fn english_and_vietnamese_days() {
        assert_eq!(slot("Tue 07:00"), (Weekday::Tue, "07:00".into()));
        assert_eq!(slot("thursday 7:30"), (Weekday::Thu, "07:30".into()));
        assert_eq!(slot("Thứ 3 07:00"), (Weekday::Tue, "07:00".into()));
        assert_eq!(slot("thứ năm 19h30"), (Weekday::Thu, "19:30".into()));
        assert_eq!(slot("T7 8h"), (Weekday::Sat, "08:00".into()));
        assert_eq!(slot("Chủ nhật 09:00"), (Weekday::Sun, "09:00".into()));
        assert_eq!(slot("CN 09:00"), (Weekday::Sun, "09:00".into()));
        // Decomposed input (typed on some keyboards) reads the same.
        assert_eq!(
            slot("Thu\u{31b}\u{301} 3 07:00"),
            (Weekday::Tue, "07:00".into())
        );
    }

    #[test]
    fn rejects_nonsense() {
        assert!(Slot::parse("Tue").is_err());
        assert!(Slot::parse("Funday 07:00").is_err());
        assert!(Slot::parse("Thứ 8 07:00").is_err());
        assert!(Slot::parse("Tue 25:00").is_err());
        assert!(Slot::parse("Tue 7:5").is_err());
    }
}
