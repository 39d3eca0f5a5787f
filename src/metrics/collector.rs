//! What a platform client does for metrics: the [`Collector`] each channel's client implements.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::channel::Channel;
use crate::publisher::{BoxFuture, Outcome};

use super::Figures;

/// One published delivery whose figures are asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asked {
    /// The delivery in the store.
    pub delivery_id: i64,
    /// The platform's id of the post.
    pub remote_id: String,
}

/// What the platform said about one post.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemResult {
    /// Its figures (a figure the platform did not give is `None`), the platform's answers as
    /// received (every call made for this post), and where the post can be seen, when known.
    Figures {
        /// Normalized figures.
        figures: Figures,
        /// The raw answers.
        raw: Value,
        /// The post's address on the platform.
        link: Option<String>,
    },
    /// The platform no longer has the post (deleted on the website): collection stops.
    Gone {
        /// The platform's words.
        message: String,
    },
}

/// A platform metric that the platform refuses as retired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetiredMetric {
    /// The platform's name for it (`post_clicks`).
    pub metric: String,
    /// The contract's name of the figure it filled (`clicks`).
    pub figure: String,
    /// The platform's words.
    pub message: String,
}

/// What one collection call came to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Collected {
    /// The posts the platform answered about, by delivery. A post left out was not collected
    /// this time (a passing failure, or the round stopped): it is asked again next round.
    pub items: Vec<(i64, ItemResult)>,
    /// Metrics the platform refused as retired during this call.
    pub retired: Vec<RetiredMetric>,
    /// Why the round stopped early for the whole channel (rate limit, token), if it did.
    pub stopped: Option<Outcome>,
}

/// The account's own figures, once a day.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    /// Page followers (Facebook), OA followers (Zalo).
    pub followers: Option<u64>,
    /// The platform's answer.
    pub raw: Value,
}

/// A platform's metrics calls, batched: Graph batches on Facebook, `getslice` pages on Zalo.
///
/// A collector never waits out a rate limit: it stops the round and says so in
/// [`Collected::stopped`], so that a due publish is never queued behind metrics.
pub trait Collector: Send + Sync {
    /// Which channel this is.
    fn channel(&self) -> Channel;

    /// How many posts one [`Collector::collect`] call should be given: what one batch holds
    /// (Facebook), or all at once where the platform lists everything in one pass (Zalo).
    fn chunk_size(&self) -> usize;

    /// The figures of `items`, not asking for the platform metrics named in `retired` (by the
    /// platform's own names). `progress` is called with the number of posts done so far.
    fn collect<'a>(
        &'a self,
        items: &'a [Asked],
        retired: &'a BTreeSet<String>,
        progress: &'a (dyn Fn(usize) + Send + Sync),
    ) -> BoxFuture<'a, Collected>;

    /// The account's followers.
    fn account<'a>(
        &'a self,
        retired: &'a BTreeSet<String>,
    ) -> BoxFuture<'a, Result<Account, Outcome>>;
}
