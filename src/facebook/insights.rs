//! Reach and engagement of published posts, and the Page's followers, from the Graph API.
//!
//! Facebook rejects a whole insights call when one metric name in it is invalid or retired, so
//! loa asks for one metric per call, remembers a metric Facebook rejects, and stops asking for
//! it; one retired metric can never blank the others. Metrics the reference lists as retired
//! (`post_impressions*`, `post_engaged_users`, …) are never requested.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use crate::facebook::client::FacebookChannel;
use crate::facebook::errors::{CallKind, Classified};
use crate::i18n::tr;
use crate::platform::json::number_of;
use crate::publisher::Outcome;

/// One post's figures. A figure Facebook did not give is `None` (left out of reports, never 0).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PostMetrics {
    /// `post_media_view`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub views: Option<u64>,
    /// `post_total_media_view_unique`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reach: Option<u64>,
    /// Sum of `post_reactions_by_type_total`, else `reactions.summary.total_count`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions: Option<u64>,
    /// `comments.summary.total_count`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<u64>,
    /// `shares.count` (a post never shared has no `shares`: 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<u64>,
    /// `post_clicks`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clicks: Option<u64>,
}

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

/// Metrics Facebook has rejected in this process: not asked for again.
#[derive(Debug, Default)]
pub struct Retired(Mutex<BTreeSet<String>>);

impl Retired {
    /// Whether `metric` was rejected.
    pub fn contains(&self, metric: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(metric)
    }

    /// Remembers that Facebook rejected `metric`.
    pub fn insert(&self, metric: &str) {
        tracing::warn!(
            metric,
            "Facebook rejects this insights metric; loa stops asking for it"
        );
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(metric.to_string());
    }
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
    /// The figures of published post `post_id` (`{page}_{post}`). `Err` only when the whole
    /// channel must wait (rate limit, dead token).
    pub async fn post_metrics(
        &self,
        post_id: &str,
        retired: &Retired,
    ) -> Result<PostMetrics, Outcome> {
        let mut m = PostMetrics::default();
        for (metric, figure) in POST_METRICS {
            if retired.contains(metric) {
                continue;
            }
            let token = self.token();
            let req = self
                .http()
                .get(self.url(&format!("{post_id}/insights")))
                .query(&[
                    ("metric", metric),
                    ("period", "lifetime"),
                    ("access_token", token.as_str()),
                ]);
            let value = match self.call(CallKind::Read, req).await {
                Ok(answer) => latest_value(&answer),
                Err(Classified::MetricRetired) => {
                    retired.insert(metric);
                    None
                }
                Err(c) => {
                    if let Some(o) = channel_wide(&c) {
                        return Err(o);
                    }
                    None
                }
            };
            match figure {
                Figure::Views => m.views = value,
                Figure::Reach => m.reach = value,
                Figure::Clicks => m.clicks = value,
                Figure::Reactions => m.reactions = value,
            }
        }
        let token = self.token();
        let req = self.http().get(self.url(post_id)).query(&[
            ("fields", "shares,comments.summary(total_count).limit(0),reactions.summary(total_count).limit(0)"),
            ("access_token", token.as_str()),
        ]);
        match self.call(CallKind::Read, req).await {
            Ok(node) => {
                let count = |path: &[&str]| {
                    path.iter()
                        .try_fold(&node, |v, k| v.get(*k))
                        .and_then(value_of)
                };
                // A post nobody shared has no `shares` at all.
                m.shares = Some(count(&["shares", "count"]).unwrap_or(0));
                m.comments = count(&["comments", "summary", "total_count"]);
                if m.reactions.is_none() {
                    m.reactions = count(&["reactions", "summary", "total_count"]);
                }
            }
            Err(c) => {
                if let Some(o) = channel_wide(&c) {
                    return Err(o);
                }
            }
        }
        Ok(m)
    }

    /// The Page's followers (`page_follows`), for the account snapshot.
    pub async fn page_follows(&self, retired: &Retired) -> Result<Option<u64>, Outcome> {
        let answer = self
            .page_follows_answer(&|metric| retired.contains(metric))
            .await?;
        if answer.retired.is_some() {
            retired.insert(PAGE_FOLLOWS);
        }
        Ok(answer.followers)
    }

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
