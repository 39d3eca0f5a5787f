//! The Zalo OA as a metrics [`Collector`] (`shared/api/zalo-oa.md` §3.4, §5, §7).
//!
//! Zalo has no per-article statistics call: `getslice` lists the OA's articles, newest first,
//! ten per page, each with `total_view` and `total_share`. One pass over the list serves every
//! asked id, so the collector takes all posts at once and pages until each is found or the list
//! ends. The per-minute budget is shared with publishing: paging stops while less than a tenth of
//! it is left in the minute, so that a due publish never meets `-32` because of metrics.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::channel::Channel;
use crate::i18n::tr;
use crate::metrics::{Account, Asked, Collected, Collector, Figures, ItemResult};
use crate::platform::json::{id_of, number_of};
use crate::platform::redact;
use crate::publisher::{BoxFuture, Outcome};
use crate::zalo::client::{SLICE_LIMIT, ZaloChannel, outcome_of};

/// Paging stops while fewer than this share of the minute's calls remain (10 %).
pub const HEADROOM_DIVISOR: u64 = 10;

impl ZaloChannel {
    /// Why metrics must not call now: the latest reply left less than a tenth of the minute's
    /// budget.
    fn headroom_refusal(&self) -> Option<Outcome> {
        let headers = self.recent_rate_limit()?;
        (headers.remain.saturating_mul(HEADROOM_DIVISOR) < headers.limit).then(|| {
            Outcome::Transient {
                message: tr(
                    format!(
                        "Zalo has {} of {} calls left this minute; metrics wait so that publishing keeps its headroom",
                        headers.remain, headers.limit
                    ),
                    format!(
                        "Zalo chỉ còn {} trên {} lượt gọi trong phút này; số liệu tạm chờ để việc đăng bài còn dư địa",
                        headers.remain, headers.limit
                    ),
                )
                .to_string(),
                retry_after: Some(std::time::Duration::from_secs(60)),
            }
        })
    }
}

/// The figures Zalo gives for one `getslice` item: views and shares only (§5).
fn figures_of(item: &Value) -> Figures {
    Figures {
        views: item.get("total_view").and_then(number_of),
        shares: item.get("total_share").and_then(number_of),
        ..Figures::default()
    }
}

/// What the article list search came to.
struct Search {
    /// Items found, by article id.
    found: BTreeMap<String, Value>,
    /// The whole list was read: an id not found is not on the OA any more.
    exhausted: bool,
    /// Why paging stopped early, if it did.
    stopped: Option<Outcome>,
}

impl ZaloChannel {
    /// Pages through the article list until every id of `wanted` is found or the list ends.
    async fn search(
        &self,
        wanted: &BTreeSet<&str>,
        progress: &(dyn Fn(usize) + Send + Sync),
        count_done: &(dyn Fn(&BTreeMap<String, Value>) -> usize + Sync),
    ) -> Search {
        let mut search = Search {
            found: BTreeMap::new(),
            exhausted: false,
            stopped: None,
        };
        let mut offset = 0;
        while search.found.len() < wanted.len() {
            if let Some(stop) = self.headroom_refusal() {
                search.stopped = Some(stop);
                break;
            }
            let page = match self.slice_at(offset).await {
                Ok(page) => page,
                Err(c) => {
                    let stop = outcome_of(c);
                    tracing::warn!(
                        class = stop.class(),
                        offset,
                        "Zalo's article list failed; the articles not found yet wait for the next round"
                    );
                    search.stopped = Some(stop);
                    break;
                }
            };
            for item in &page.items {
                if let Some(id) = item.get("id").and_then(id_of)
                    && wanted.contains(id.as_str())
                {
                    search.found.insert(id, item.clone());
                }
            }
            progress(count_done(&search.found));
            offset += page.items.len();
            let past_total = page
                .total
                .is_some_and(|t| u64::try_from(offset).unwrap_or(u64::MAX) >= t);
            if page.items.len() < SLICE_LIMIT || past_total {
                search.exhausted = true;
                break;
            }
        }
        search
    }
}

impl Collector for ZaloChannel {
    fn channel(&self) -> Channel {
        Channel::Zalo
    }

    fn chunk_size(&self) -> usize {
        // One pass over the list serves every id: all posts go in one call.
        usize::MAX
    }

    fn collect<'a>(
        &'a self,
        items: &'a [Asked],
        _retired: &'a BTreeSet<String>,
        progress: &'a (dyn Fn(usize) + Send + Sync),
    ) -> BoxFuture<'a, Collected> {
        Box::pin(async move {
            let wanted: BTreeSet<&str> = items.iter().map(|a| a.remote_id.as_str()).collect();
            let count_done = |found: &BTreeMap<String, Value>| {
                items
                    .iter()
                    .filter(|a| found.contains_key(&a.remote_id))
                    .count()
            };
            let search = self.search(&wanted, progress, &count_done).await;
            let mut out = Collected {
                stopped: search.stopped,
                ..Collected::default()
            };
            for asked in items {
                let result = match search.found.get(&asked.remote_id) {
                    Some(item) => ItemResult::Figures {
                        figures: figures_of(item),
                        link: item
                            .get("link_view")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        raw: redact::json(item.clone(), &[]),
                    },
                    None if search.exhausted => ItemResult::Gone {
                        message: tr(
                            "the article is no longer in the OA's article list (removed on Zalo?)",
                            "bài viết không còn trong danh sách bài của OA (đã bị gỡ trên Zalo?)",
                        )
                        .into(),
                    },
                    // Not seen because paging stopped: asked again next round.
                    None => continue,
                };
                out.items.push((asked.delivery_id, result));
            }
            out
        })
    }

    fn account<'a>(
        &'a self,
        _retired: &'a BTreeSet<String>,
    ) -> BoxFuture<'a, Result<Account, Outcome>> {
        Box::pin(async move {
            match self.getoa().await {
                Ok(data) => Ok(Account {
                    followers: data.get("num_follower").and_then(number_of),
                    raw: redact::json(data, &[]),
                }),
                Err(o @ (Outcome::RateLimited { .. } | Outcome::AuthExpired { .. })) => Err(o),
                Err(o) => Ok(Account {
                    followers: None,
                    raw: json!({ "error": o.message().unwrap_or(o.class()) }),
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_views_and_shares_are_read() {
        let item =
            json!({"id": "1", "total_view": "300", "total_share": 4, "link_view": "https://x"});
        assert_eq!(
            figures_of(&item),
            Figures {
                views: Some(300),
                shares: Some(4),
                ..Figures::default()
            }
        );
        assert_eq!(figures_of(&json!({"id": "1"})), Figures::default());
    }
}
