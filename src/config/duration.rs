//! Durations written the way people write them: `30s`, `15m`, `1h`, `2d`, `1h 30m`.

use std::time::Duration;

/// Parses a human duration such as `30s`, `2d` or `1h 30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(crate::i18n::tr(
            "the duration is empty".into(),
            "khoảng thời gian đang trống".into(),
        ));
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        // A bare number is ambiguous (seconds? minutes?): ask for the unit instead of guessing.
        return Err(crate::i18n::tr(
            format!("`{s}` has no unit"),
            format!("`{s}` thiếu đơn vị"),
        ));
    }
    // humantime's own message lists units loa does not document; say it plainly instead.
    humantime::parse_duration(s).map_err(|_| {
        crate::i18n::tr(
            format!("`{s}` is not a duration"),
            format!("`{s}` không phải khoảng thời gian"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5_400)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
    }
}
