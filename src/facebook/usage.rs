//! Facebook's usage headers, and when they say the channel must pause
//! (`shared/api/facebook-graph.md` §7 and "What loa must do" 7).
//!
//! Meta sends no `Retry-After`, and calling while throttled extends the block, so loa reads the
//! usage figures on every reply and stops *before* Facebook starts refusing. The figures are
//! percentages of a rolling quota; throttling starts at 100, loa pauses from 90 like [mixpost].
//!
//! Everything here is pure (header text in, figures out) so it can be tested with the exact
//! header examples from the reference.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// From this percentage of any quota on, the whole Facebook channel pauses: 10 points of slack
/// before Facebook's own limit at 100, so that a burst of metric reads cannot tip it over.
pub const PAUSE_AT_PERCENT: f64 = 90.0;

/// From this percentage of any quota on, metrics collection stops its round (without pausing
/// the channel): the last quarter of the quota is kept for publishing, so that reading figures
/// can never push a due post behind Facebook's throttle.
pub const METRICS_STOP_AT_PERCENT: f64 = 75.0;

/// How long to pause when Facebook gives no estimate. The reference calls the duration
/// undocumented; one hour is the rolling window of the app quota and what [mixpost] uses.
pub const DEFAULT_PAUSE_MINUTES: u64 = 60;

/// The longest pause loa honours from a header. The Page quota is counted per 24 h at most (§7),
/// so a longer estimate is a garbled header, and an unbounded one would overflow the clock.
pub const MAX_PAUSE_MINUTES: u64 = 24 * 60;

/// The percentage fields of `X-App-Usage`, `X-Page-Usage` and each Business Use Case object.
const PERCENT_FIELDS: [&str; 3] = ["call_count", "total_time", "total_cputime"];

/// The Business Use Case field holding Facebook's estimate, in minutes.
const REGAIN_FIELD: &str = "estimated_time_to_regain_access";

/// What the usage headers of one reply add up to: only the worst figures matter, because any
/// quota that runs out blocks the Page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// The highest percentage found in any header and any field (0 when none was readable).
    pub max_percent: f64,
    /// The longest `estimated_time_to_regain_access`, in minutes (0 = no block announced).
    pub regain_minutes: u64,
}

impl Usage {
    /// Takes the worse of the current figures and those of one usage object.
    fn absorb(&mut self, object: &Map<String, Value>) {
        for field in PERCENT_FIELDS {
            if let Some(percent) = object.get(field).and_then(figure) {
                self.max_percent = self.max_percent.max(percent);
            }
        }
        if let Some(minutes) = object.get(REGAIN_FIELD).and_then(figure) {
            // Round up: pausing a few seconds too long is harmless, too short extends the block.
            // The float-to-int `as` saturates, so a huge figure cannot wrap.
            self.regain_minutes = self.regain_minutes.max(minutes.ceil() as u64);
        }
    }
}

/// Reads the usage headers of one reply (each one optional, as Facebook sends them).
///
/// - `X-App-Usage` and the legacy `X-Page-Usage`: `{"call_count":28,"total_time":25,"total_cputime":25}`.
/// - `X-Business-Use-Case-Usage`: `{"<page-id>":[{"type":"pages","call_count":97,…,
///   "estimated_time_to_regain_access":0}]}`, up to 32 objects over all ids.
///
/// The result is the maximum of every percentage and of every regain estimate. A header that is
/// not the expected JSON adds nothing (all garbage gives `Usage::default()`): usage headers are
/// advice, and a reply must never fail because of them.
pub fn parse_usage(
    app_usage: Option<&str>,
    buc_usage: Option<&str>,
    page_usage: Option<&str>,
) -> Usage {
    let mut usage = Usage::default();
    for header in [app_usage, page_usage].into_iter().flatten() {
        if let Some(object) = json_object(header) {
            usage.absorb(&object);
        }
    }
    if let Some(by_id) = buc_usage.and_then(json_object) {
        for entry in by_id.values() {
            match entry {
                Value::Array(objects) => {
                    for object in objects.iter().filter_map(Value::as_object) {
                        usage.absorb(object);
                    }
                }
                // Documented as an array; a single object is read too rather than ignored.
                Value::Object(object) => usage.absorb(object),
                _ => {}
            }
        }
    }
    usage
}

/// Until when the whole Facebook channel must wait, according to `usage`; `None` = go on.
///
/// - Any figure at [`PAUSE_AT_PERCENT`] or more: pause for `regain_minutes` when Facebook gave
///   an estimate, else for [`DEFAULT_PAUSE_MINUTES`].
/// - An estimate above 0 means Facebook is already blocking, whatever the percentages say: pause
///   for it too.
///
/// Pauses are capped at [`MAX_PAUSE_MINUTES`]. The result can be passed as `regain` to
/// [`crate::facebook::errors::classify`] when a reply is a rate-limit error.
pub fn pause_until(usage: &Usage, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let minutes = if usage.regain_minutes > 0 {
        usage.regain_minutes
    } else if usage.max_percent >= PAUSE_AT_PERCENT {
        DEFAULT_PAUSE_MINUTES
    } else {
        return None;
    };
    let minutes = i64::try_from(minutes.min(MAX_PAUSE_MINUTES)).unwrap_or(0);
    Some(now + chrono::Duration::minutes(minutes))
}

/// The header's JSON object, or `None` for anything else.
fn json_object(header: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str(header.trim()) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

/// A usage figure: a number, or a number in a string (tolerated); never negative or NaN.
fn figure(value: &Value) -> Option<f64> {
    let number = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (number.is_finite() && number >= 0.0).then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
    }

    /// The examples of §7, verbatim.
    const APP: &str = r#"{"call_count":28,"total_time":25,"total_cputime":25}"#;
    const BUC: &str = r#"{"<page-id>":[{"type":"pages","call_count":97,"total_cputime":23,"total_time":23,"estimated_time_to_regain_access":0}]}"#;
    /// The throttled reply of §8, verbatim.
    const BUC_THROTTLED: &str = r#"{"123456789012345":[{"type":"pages","call_count":100,"total_cputime":10,"total_time":12,"estimated_time_to_regain_access":12}]}"#;

    #[test]
    fn app_usage_example_is_read_and_does_not_pause() {
        let usage = parse_usage(Some(APP), None, None);
        assert_eq!(
            usage,
            Usage {
                max_percent: 28.0,
                regain_minutes: 0
            }
        );
        assert_eq!(pause_until(&usage, now()), None);
    }

    #[test]
    fn legacy_page_usage_reads_like_app_usage() {
        let usage = parse_usage(None, None, Some(APP));
        assert_eq!(usage.max_percent, 28.0);
        assert_eq!(pause_until(&usage, now()), None);
    }

    #[test]
    fn buc_example_at_97_percent_pauses_one_hour() {
        let usage = parse_usage(None, Some(BUC), None);
        assert_eq!(
            usage,
            Usage {
                max_percent: 97.0,
                regain_minutes: 0
            }
        );
        assert_eq!(pause_until(&usage, now()), Some(now() + Duration::hours(1)));
    }

    #[test]
    fn throttled_example_pauses_for_the_estimate() {
        let usage = parse_usage(None, Some(BUC_THROTTLED), None);
        assert_eq!(
            usage,
            Usage {
                max_percent: 100.0,
                regain_minutes: 12
            }
        );
        assert_eq!(
            pause_until(&usage, now()),
            Some(now() + Duration::minutes(12))
        );
    }

    #[test]
    fn the_worst_figure_of_all_headers_and_objects_wins() {
        let buc = r#"{"111":[{"type":"pages","call_count":10,"total_cputime":5,"total_time":91,"estimated_time_to_regain_access":3}],
                      "222":[{"type":"pages","call_count":40,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0},
                             {"type":"instagram","call_count":2,"total_cputime":2,"total_time":2,"estimated_time_to_regain_access":7}]}"#;
        let page = r#"{"call_count":50,"total_time":1,"total_cputime":1}"#;
        let usage = parse_usage(Some(APP), Some(buc), Some(page));
        assert_eq!(
            usage,
            Usage {
                max_percent: 91.0,
                regain_minutes: 7
            }
        );
        assert_eq!(
            pause_until(&usage, now()),
            Some(now() + Duration::minutes(7))
        );
    }

    #[test]
    fn exactly_90_percent_pauses() {
        let usage = parse_usage(
            Some(r#"{"call_count":90,"total_time":0,"total_cputime":0}"#),
            None,
            None,
        );
        assert_eq!(pause_until(&usage, now()), Some(now() + Duration::hours(1)));
        let below = parse_usage(
            Some(r#"{"call_count":89.9,"total_time":0,"total_cputime":0}"#),
            None,
            None,
        );
        assert_eq!(pause_until(&below, now()), None);
    }

    #[test]
    fn an_estimate_pauses_even_below_90_percent() {
        let usage = Usage {
            max_percent: 20.0,
            regain_minutes: 5,
        };
        assert_eq!(
            pause_until(&usage, now()),
            Some(now() + Duration::minutes(5))
        );
    }

    #[test]
    fn garbage_gives_the_default_and_does_not_spoil_good_headers() {
        for junk in [
            "",
            "not json",
            "[1,2]",
            "42",
            r#"{"call_count":"lots"}"#,
            "{",
        ] {
            assert_eq!(
                parse_usage(Some(junk), Some(junk), Some(junk)),
                Usage::default(),
                "{junk}"
            );
        }
        let odd_buc = r#"{"1":"x","2":[1,"y",null],"3":{"call_count":-5}}"#;
        assert_eq!(parse_usage(None, Some(odd_buc), None), Usage::default());
        assert_eq!(
            parse_usage(Some("garbage"), Some(BUC_THROTTLED), None).regain_minutes,
            12
        );
        assert_eq!(pause_until(&Usage::default(), now()), None);
    }

    #[test]
    fn figures_in_strings_and_fractions_are_tolerated() {
        let buc = r#"{"1":{"call_count":"95","estimated_time_to_regain_access":2.5}}"#;
        let usage = parse_usage(None, Some(buc), None);
        assert_eq!(
            usage,
            Usage {
                max_percent: 95.0,
                regain_minutes: 3
            }
        );
    }

    #[test]
    fn absurd_estimates_are_capped_at_a_day() {
        let buc = r#"{"1":[{"call_count":100,"estimated_time_to_regain_access":1e300}]}"#;
        let usage = parse_usage(None, Some(buc), None);
        assert_eq!(usage.regain_minutes, u64::MAX);
        assert_eq!(pause_until(&usage, now()), Some(now() + Duration::days(1)));
    }
}
