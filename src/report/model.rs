//! The engagement summary as data: one [`Report`] computed from the store for a range, which
//! every format (table, CSV, JSON, HTML) only lays out. Its `Serialize` form is the contract's
//! `loa report --format json` shape, extended only by adding keys.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::channel::Channel;
use crate::i18n::Language;
use crate::metrics::Figures;

/// How the report groups time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    /// ISO weeks, Monday first.
    Week,
    /// Calendar months.
    Month,
}

/// The engagement summary for a range of local days.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// First local day of the range.
    pub since: NaiveDate,
    /// Last local day of the range (inclusive).
    pub until: NaiveDate,
    /// The configured zone's IANA name; every date and time is in it.
    pub timezone: String,
    /// Per channel totals over the range.
    pub channels: Vec<ChannelTotals>,
    /// Per period and channel (every period of the range, empty ones too).
    pub periods: Vec<PeriodRow>,
    /// Every post published in the range, per channel, in publication order.
    pub posts: Vec<PostRow>,
    /// The plan's targets against what was published.
    pub targets: Vec<TargetRow>,
    /// What needs the officer.
    pub attention: Vec<Attention>,
    /// How periods are grouped.
    pub by: By,
    /// The report's language.
    pub language: Language,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// The most seen posts of the range, best first (at most [`TOP_POSTS`]).
    pub top_posts: Vec<PostRow>,
    /// Per tag totals, most posts first.
    pub tags: Vec<TagRow>,
    /// Follower growth of each account over the range.
    pub followers: Vec<FollowerGrowth>,
    /// The channels' metric names, in order (for laying out columns).
    pub metrics: Vec<ChannelMetrics>,
}

/// How many posts `top_posts` holds.
pub const TOP_POSTS: usize = 5;

/// Which metrics a channel reports, by the contract's names.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelMetrics {
    /// The channel.
    pub channel: Channel,
    /// Its metric names.
    pub metrics: Vec<&'static str>,
}

/// One channel's totals over the range.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelTotals {
    /// The channel.
    pub channel: Channel,
    /// Posts published in the range.
    pub posts: u64,
    /// Sums of each post's newest figures; a figure no post had is left out.
    #[serde(flatten)]
    pub figures: Figures,
}

/// One period of one channel.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PeriodRow {
    /// The period's first day (a Monday, or the 1st of a month), even when the range starts
    /// inside it.
    pub start: NaiveDate,
    /// The channel.
    pub channel: Channel,
    /// Posts published in the part of the period inside the range.
    pub posts: u64,
    /// Sums of those posts' newest figures.
    #[serde(flatten)]
    pub figures: Figures,
    /// The period's last day.
    pub end: NaiveDate,
}

/// One post on one channel.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PostRow {
    /// The post's file, relative to `posts_dir`.
    pub file: String,
    /// Its title.
    pub title: String,
    /// The channel.
    pub channel: Channel,
    /// The platform's id.
    pub remote_id: Option<String>,
    /// When it went out, in the configured zone.
    pub published_at: DateTime<chrono_tz::Tz>,
    /// Its newest figures (empty when never collected).
    pub metrics: Figures,
    /// Its tags.
    pub tags: Vec<String>,
    /// Where to see it on the platform.
    pub link: Option<String>,
    /// When its newest figures were taken, in the configured zone.
    pub metrics_at: Option<DateTime<chrono_tz::Tz>>,
}

/// One tag's totals over the range (all channels).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TagRow {
    /// The tag.
    pub tag: String,
    /// Posts (per channel) with the tag.
    pub posts: u64,
    /// Sums of their newest figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// An account's followers at the start and end of the range.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FollowerGrowth {
    /// The channel.
    pub channel: Channel,
    /// The first day in the range with a count, and the count.
    pub first_day: NaiveDate,
    /// Followers that day.
    pub first: u64,
    /// The last day in the range with a count.
    pub last_day: NaiveDate,
    /// Followers that day.
    pub last: u64,
    /// `last - first`.
    pub change: i64,
}

/// A channel's target against what was published.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetRow {
    /// The channel.
    pub channel: Channel,
    /// The target as configured (`2/week`).
    pub target: String,
    /// Posts per target period over the range (days in the range / period length), to 2 places.
    pub achieved: f64,
    /// Whether `achieved` reaches the target.
    pub met: bool,
    /// Posts the target asks for per period.
    pub count: u32,
    /// The target's period.
    pub per: By,
    /// Per target period in the range.
    pub periods: Vec<TargetPeriod>,
}

/// One target period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetPeriod {
    /// Its first day.
    pub start: NaiveDate,
    /// Posts published in it (inside the range).
    pub posts: u64,
    /// `met`, `missed`, or `open` (the period has not ended yet, or the range covers only part
    /// of it).
    pub status: PeriodStatus,
}

/// Whether a period met its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodStatus {
    /// Enough posts.
    Met,
    /// The period is over, inside the range, and had too few.
    Missed,
    /// Not over yet or not wholly in the range, and too few so far.
    Open,
}

/// Something that needs the officer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attention {
    /// The post's file, for a delivery; `null` for a channel.
    pub file: Option<String>,
    /// The channel.
    pub channel: Channel,
    /// A delivery's state (`failed`, `unconfirmed`, `missed`, `update_failed`,
    /// `broadcast_failed`, `broadcast_unconfirmed`) or the channel's (`rate_limited`,
    /// `needs_reauth`, `token_expiring`, `metric_retired`).
    pub state: String,
    /// Why, in the officer's language, with the platform's words when there are some.
    pub reason: String,
    /// What kind of thing it is: `delivery` or `channel`.
    pub kind: AttentionKind,
    /// The post's title, for a delivery.
    pub title: Option<String>,
    /// What the officer can do about it.
    pub fix: Option<String>,
    /// The post's id, for a delivery (the dashboard's actions name it; not in the JSON).
    #[serde(skip)]
    pub post_id: Option<String>,
}

/// Whether an attention item is about a post or a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttentionKind {
    /// A post's delivery.
    Delivery,
    /// A whole channel.
    Channel,
}
