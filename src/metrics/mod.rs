//! Reach and engagement: what loa asks each platform about published posts, when, and how the
//! answers are kept.
//!
//! Every snapshot is kept forever in the store, with the figures under the contract's metric
//! names and the platform's raw answer beside them. A figure a platform has retired is recorded
//! as missing and never asked for again; the other figures carry on.

pub mod cadence;
pub mod collect;
pub mod collector;

use serde::{Deserialize, Serialize};

pub use collect::{Scope, Summary};
pub use collector::{Account, Asked, Collected, Collector, ItemResult, RetiredMetric};

/// The figures of one post on one channel. `None` is "no figure" (the platform has none, or it
/// retired the metric): left out of reports, never shown as 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// How many times the post was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub views: Option<u64>,
    /// How many people saw it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reach: Option<u64>,
    /// Likes and other reactions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions: Option<u64>,
    /// Comments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<u64>,
    /// Shares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<u64>,
    /// Clicks on the post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clicks: Option<u64>,
}

/// The contract's metric names, in the order reports show them.
pub const METRIC_NAMES: [&str; 6] = [
    "views",
    "reach",
    "reactions",
    "comments",
    "shares",
    "clicks",
];

impl Figures {
    /// The figure called `name` (one of [`METRIC_NAMES`]).
    pub fn get(&self, name: &str) -> Option<u64> {
        match name {
            "views" => self.views,
            "reach" => self.reach,
            "reactions" => self.reactions,
            "comments" => self.comments,
            "shares" => self.shares,
            "clicks" => self.clicks,
            _ => None,
        }
    }

    /// A mutable handle on the figure called `name`.
    pub fn slot(&mut self, name: &str) -> Option<&mut Option<u64>> {
        match name {
            "views" => Some(&mut self.views),
            "reach" => Some(&mut self.reach),
            "reactions" => Some(&mut self.reactions),
            "comments" => Some(&mut self.comments),
            "shares" => Some(&mut self.shares),
            "clicks" => Some(&mut self.clicks),
            _ => None,
        }
    }

    /// Adds `other` figure by figure; a figure missing on both sides stays missing.
    pub fn add(&mut self, other: &Figures) {
        for name in METRIC_NAMES {
            if let (Some(slot), Some(v)) = (self.slot(name), other.get(name)) {
                *slot = Some(slot.unwrap_or(0) + v);
            }
        }
    }

    /// The figures as `(name, value)` pairs, the missing ones left out.
    pub fn present(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        METRIC_NAMES
            .into_iter()
            .filter_map(|n| self.get(n).map(|v| (n, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_keeps_missing_figures_missing() {
        let mut total = Figures::default();
        total.add(&Figures {
            views: Some(10),
            shares: Some(1),
            ..Figures::default()
        });
        total.add(&Figures {
            views: Some(5),
            reach: Some(3),
            ..Figures::default()
        });
        assert_eq!(total.views, Some(15));
        assert_eq!(total.reach, Some(3));
        assert_eq!(total.shares, Some(1));
        assert_eq!(total.clicks, None);
        assert_eq!(
            serde_json::to_value(total).unwrap(),
            serde_json::json!({"views": 15, "reach": 3, "shares": 1})
        );
    }
}
