//! Reach and engagement of published posts, and the Page's followers, from the Graph API.
//!
//! Facebook rejects a whole insights call when one metric name in it is invalid or retired, so
//! loa asks for one metric per call (batched by `super::collect`), remembers a metric Facebook
//! rejects, and stops asking for it; one retired metric can never blank the others. Metrics the reference lists as retired
//! (`post_impressions*`, `post_engaged_users`, …) are never requested.

use serde_json::Value;

use crate::facebook::client::FacebookChannel;
use crate::facebook::errors::{CallKind, Classified};
use crate::i18n::tr;
use crate::platform::json::number_of;
use crate::publisher::Outcome;

/// The insight metrics loa asks for, one per call: (metric, what it fills).
pub const POST_METRICS: [(&str, Figure); 4] = [
    ("post_media_view", Figure::Views),
    ("post_total_media_view_unique", Figure::Reach),
    ("post_clicks", Figure::Clicks),
    ("post_reactions_by_type_total", Figure::Reactions),
];

/// Which figure an insight metric fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Figure {
    /// Views.
    Views,
    /// Reach.
    Reach,
    /// Clicks.
    Clicks,
    /// Reactions.
    Reactions,
}

/// An insights value: a number (or a numeric string), or a map of numbers to add up
/// (`{"like":80,"love":8}`).
pub fn value_of(v: &Value) -> Option<u64> {
    match v {
        Value::Object(map) => Some(map.values().filter_map(value_of).sum()),
        other => number_of(other),
    }
}

/// The newest value of the first metric in an insights answer; `None` for `data: []`.
pub fn latest_value(answer: &Value) -> Option<u64> {
    let values = answer
        .get("data")?
        .as_array()?
        .first()?
        .get("values")?
        .as_array()?;
    values
        .last()
        .and_then(|v| v.get("value"))
        .and_then(value_of)
}

/// Stops on the answers that concern the whole channel; everything else only loses one figure.
pub(crate) fn channel_wide(c: &Classified) -> Option<Outcome> {
    match c {
        Classified::Outcome(o @ (Outcome::RateLimited { .. } | Outcome::AuthExpired { .. })) => {
            Some(o.clone())
        }
        _ => None,
    }
}

impl FacebookChannel {
    /// The Page's followers with Facebook's answer as received; `is_retired` says which metrics
    /// are not asked for any more. `Err` only when the whole channel must wait.
    pub(crate) async fn page_follows_answer(
        &self,
        is_retired: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<FollowsAnswer, Outcome> {
        if is_retired(PAGE_FOLLOWS) {
            return Ok(FollowsAnswer::default());
        }
        let token = self.token();
        let req = self
            .http()
            .get(self.url(&format!("{}/insights", self.page_id())))
            .query(&[
                ("metric", PAGE_FOLLOWS),
                ("period", "day"),
                ("access_token", token.as_str()),
            ]);
        match self.call(CallKind::Read, req).await {
            Ok(answer) => Ok(FollowsAnswer {
                followers: latest_value(&answer),
                raw: answer,
                retired: None,
            }),
            Err(Classified::MetricRetired) => Ok(FollowsAnswer {
                retired: Some(
                    tr(
                        "Facebook refused page_follows as no longer a valid insights metric",
                        "Facebook từ chối page_follows vì không còn là chỉ số hợp lệ",
                    )
                    .to_string(),
                ),
                ..FollowsAnswer::default()
            }),
            Err(c) => match channel_wide(&c) {
                Some(o) => Err(o),
                None => Ok(FollowsAnswer {
                    raw: serde_json::json!({ "error": failure_words(&c) }),
                    ..FollowsAnswer::default()
                }),
            },
        }
    }
}

/// The Page insight that counts followers.
pub const PAGE_FOLLOWS: &str = "page_follows";

/// What Facebook said about the Page's followers.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct FollowsAnswer {
    /// The newest value; `None` for no figure.
    pub followers: Option<u64>,
    /// The answer as received (the failure's words when the call failed), `null` when not asked.
    pub raw: Value,
    /// Why the metric counts as retired, when Facebook refused it as such in this call.
    pub retired: Option<String>,
}

/// The words of a failure that did not stop the channel, for a raw answer kept in the store
/// (already free of the token: the client hides it in every outcome).
pub(crate) fn failure_words(c: &Classified) -> String {
    match c {
        Classified::Outcome(o) => o.message().unwrap_or(o.class()).to_string(),
        Classified::AlreadyGone => "the object no longer exists".into(),
        Classified::MetricRetired => "not a valid insights metric".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_numbers_or_sums() {
        assert_eq!(value_of(&serde_json::json!(1200)), Some(1200));
        assert_eq!(
            value_of(&serde_json::json!({"like": 80, "love": 8, "wow": 2})),
            Some(90)
        );
        assert_eq!(value_of(&serde_json::json!("7")), Some(7));
        assert_eq!(value_of(&serde_json::json!(null)), None);
    }

    #[test]
    fn empty_data_is_no_figure() {
        assert_eq!(latest_value(&serde_json::json!({"data": []})), None);
        let answer =
            serde_json::json!({"data": [{"name": "post_media_view", "values": [{"value": 1200}]}]});
        assert_eq!(latest_value(&answer), Some(1200));
    }

    #[test]
    fn no_retired_metric_is_ever_requested() {
        for (metric, _) in POST_METRICS {
            assert!(
                !metric.starts_with("post_impressions") && metric != "post_engaged_users",
                "{metric}"
            );
        }
    }
}
