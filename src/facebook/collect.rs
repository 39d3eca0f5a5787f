//! The Facebook Page as a metrics [`Collector`]: the figures of published posts, ten posts per
//! Graph batch (`shared/api/facebook-graph.md` §5 and §7).
//!
//! Each post costs five single-metric items (four insights and the node's counts), so one batch
//! of at most 50 items serves ten posts. Facebook counts every item as one call, and publishing
//! shares the same quota: before each batch the collector checks the pause gate and the latest
//! usage headers, and stops its round at [`METRICS_STOP_AT_PERCENT`] so that a due publish
//! always finds headroom.

use std::collections::BTreeSet;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

use crate::channel::Channel;
use crate::facebook::client::FacebookChannel;
use crate::facebook::errors::{CallKind, Classified, GraphError, classify, error_of};
use crate::facebook::insights::{
    Figure, PAGE_FOLLOWS, POST_METRICS, channel_wide, failure_words, latest_value, value_of,
};
use crate::facebook::usage::METRICS_STOP_AT_PERCENT;
use crate::i18n::tr;
use crate::metrics::{Account, Asked, Collected, Collector, Figures, ItemResult, RetiredMetric};
use crate::platform::redact;
use crate::publisher::{BoxFuture, Outcome};

/// Posts per batch: 4 insight items and 1 node item each, 50 items in all (Graph's maximum).
pub const POSTS_PER_BATCH: usize = 10;

/// The fields of the post node that give comments, shares and the reactions fallback.
pub const NODE_FIELDS: &str =
    "shares,comments.summary(total_count).limit(0),reactions.summary(total_count).limit(0)";

/// What a query value may keep unencoded in a relative URL: RFC 3986's unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Graph's code for an invalid parameter, and its subcode for an object that does not exist.
const INVALID_PARAMETER: i64 = 100;
const OBJECT_MISSING: i64 = 33;

/// One batch item: which post it is about and what it asks.
struct Item {
    /// Index of the post in the batch.
    post: usize,
    /// The insight metric, or `None` for the node's counts.
    metric: Option<(&'static str, Figure)>,
    relative_url: String,
}

/// The relative URL of one insight metric of `post_id`.
fn insights_url(post_id: &str, metric: &str) -> String {
    format!(
        "{}/insights?metric={}&period=lifetime",
        utf8_percent_encode(post_id, QUERY_VALUE),
        utf8_percent_encode(metric, QUERY_VALUE)
    )
}

/// The relative URL of the node counts of `post_id`.
fn node_url(post_id: &str) -> String {
    format!(
        "{}?fields={}",
        utf8_percent_encode(post_id, QUERY_VALUE),
        utf8_percent_encode(NODE_FIELDS, QUERY_VALUE)
    )
}

/// The contract's name of the figure an insight fills.
fn figure_name(figure: Figure) -> &'static str {
    match figure {
        Figure::Views => "views",
        Figure::Reach => "reach",
        Figure::Clicks => "clicks",
        Figure::Reactions => "reactions",
    }
}

/// What one batch item came to.
enum Answered {
    /// A 200 with a JSON body.
    Ok(Value),
    /// The metric is retired; Facebook's words.
    Retired(String),
    /// The post no longer exists; Facebook's words.
    Gone(String),
    /// The whole channel must wait.
    Stop(Outcome),
    /// A passing failure of this item only.
    Failed,
}

/// How one post's items went so far.
#[derive(Default)]
struct PostState {
    figures: Figures,
    /// Reactions from the node's summary, used when the insight gave none.
    reactions_fallback: Option<u64>,
    raw: Map<String, Value>,
    gone: Option<String>,
    failed: bool,
}

impl FacebookChannel {
    /// Why metrics must not call now: the gate is closed (the channel is paused), or the latest
    /// usage is at [`METRICS_STOP_AT_PERCENT`] or more.
    fn headroom_refusal(&self) -> Option<Outcome> {
        if let Some(refused) = self.gate_refusal() {
            return Some(refused);
        }
        let percent = self.recent_usage_percent()?;
        (percent >= METRICS_STOP_AT_PERCENT).then(|| Outcome::Transient {
            message: tr(
                format!(
                    "Facebook usage is at {percent:.0} %; metrics wait so that publishing keeps its headroom"
                ),
                format!(
                    "mức dùng API Facebook đã {percent:.0} %; số liệu tạm chờ để việc đăng bài còn dư địa"
                ),
            )
            .to_string(),
            retry_after: None,
        })
    }

    /// Reads one batch item's answer (`null` when Facebook sent none).
    fn judge(&self, answer: &Value, now: chrono::DateTime<chrono::Utc>) -> (Answered, Value) {
        let Some(code) = answer.get("code").and_then(Value::as_u64) else {
            return (Answered::Failed, answer.clone());
        };
        let status = u16::try_from(code).unwrap_or(0);
        let body: Value = match answer.get("body") {
            Some(Value::String(text)) => {
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
            }
            Some(other) => other.clone(),
            None => Value::Null,
        };
        let raw = if status == 200 {
            body.clone()
        } else {
            json!({ "code": status, "body": body })
        };
        let error = error_of(&body);
        if (200..300).contains(&status) && error.is_none() && body.is_object() {
            return (Answered::Ok(body), raw);
        }
        // Facebook's words are stored (the gone reason, the retired metric's message).
        let token = self.token();
        let words = |e: Option<GraphError>| {
            e.map(|e| redact::scrub_with(&e.message, &[token.as_str()]))
                .unwrap_or_default()
        };
        let judged = match &error {
            Some(e) if is_missing_object(e) => Answered::Gone(words(Some(e.clone()))),
            _ => match classify(
                CallKind::Read,
                status,
                error.as_ref(),
                now,
                self.paused_until(),
            ) {
                Classified::MetricRetired => Answered::Retired(words(error)),
                Classified::AlreadyGone => Answered::Gone(words(error)),
                c => match channel_wide(&c) {
                    Some(o) => Answered::Stop(redact::outcome(o, &[token.as_str()])),
                    None => Answered::Failed,
                },
            },
        };
        (judged, raw)
    }

    /// One batch for `items`, asking for every metric not in `retired`. Posts whose answers
    /// are complete go to `out.items`; metrics refused as retired are added to `retired` and
    /// `out.retired`. `Err` when the round must stop (nothing of this batch is kept then).
    async fn one_batch(
        &self,
        items: &[Asked],
        retired: &mut BTreeSet<String>,
        out: &mut Collected,
    ) -> Result<(), Outcome> {
        let mut requests = Vec::new();
        for (i, asked) in items.iter().enumerate() {
            for (metric, figure) in POST_METRICS {
                if !retired.contains(metric) {
                    requests.push(Item {
                        post: i,
                        metric: Some((metric, figure)),
                        relative_url: insights_url(&asked.remote_id, metric),
                    });
                }
            }
            requests.push(Item {
                post: i,
                metric: None,
                relative_url: node_url(&asked.remote_id),
            });
        }
        let batch: Vec<Value> = requests
            .iter()
            .map(|r| json!({ "method": "GET", "relative_url": r.relative_url }))
            .collect();
        let token = self.token();
        let req = self.http().post(self.url("")).form(&[
            ("batch", Value::Array(batch).to_string()),
            ("include_headers", "false".to_string()),
            ("access_token", token.clone()),
        ]);
        let answers = match self.call(CallKind::Read, req).await {
            Ok(Value::Array(answers)) => answers,
            Ok(_) => {
                return Err(Outcome::Transient {
                    message: tr(
                        "Facebook answered the metrics batch with something other than a list",
                        "Facebook trả lời lô số liệu không phải dạng danh sách",
                    )
                    .into(),
                    retry_after: None,
                });
            }
            Err(c) => {
                return Err(match c {
                    Classified::Outcome(o) => o,
                    other => Outcome::Transient {
                        message: failure_words(&other),
                        retry_after: None,
                    },
                });
            }
        };
        let now = self.clock().now();
        let mut posts: Vec<PostState> = items.iter().map(|_| PostState::default()).collect();
        for (n, request) in requests.iter().enumerate() {
            let answer = answers.get(n).cloned().unwrap_or(Value::Null);
            let (judged, raw) = self.judge(&answer, now);
            let post = &mut posts[request.post];
            post.raw.insert(
                request.relative_url.clone(),
                redact::json(raw, &[token.as_str()]),
            );
            match (judged, request.metric) {
                (Answered::Stop(o), _) => return Err(o),
                (Answered::Ok(body), Some((_, figure))) => {
                    let value = latest_value(&body);
                    match figure {
                        Figure::Views => post.figures.views = value,
                        Figure::Reach => post.figures.reach = value,
                        Figure::Clicks => post.figures.clicks = value,
                        Figure::Reactions => post.figures.reactions = value,
                    }
                }
                (Answered::Ok(node), None) => {
                    let count = |path: &[&str]| {
                        path.iter()
                            .try_fold(&node, |v, k| v.get(*k))
                            .and_then(value_of)
                    };
                    // A post nobody shared has no `shares` at all (§5: missing → 0).
                    post.figures.shares = Some(count(&["shares", "count"]).unwrap_or(0));
                    post.figures.comments = count(&["comments", "summary", "total_count"]);
                    post.reactions_fallback = count(&["reactions", "summary", "total_count"]);
                }
                (Answered::Retired(message), Some((metric, figure))) => {
                    if retired.insert(metric.to_string()) {
                        tracing::warn!(
                            metric,
                            "Facebook refuses this insights metric as retired; loa stops asking for it"
                        );
                        out.retired.push(RetiredMetric {
                            metric: metric.to_string(),
                            figure: figure_name(figure).to_string(),
                            message,
                        });
                    }
                }
                // "Not a valid insights metric" on the node read is not about a metric.
                (Answered::Retired(_), None) | (Answered::Failed, _) => post.failed = true,
                (Answered::Gone(message), _) => {
                    post.gone.get_or_insert(message);
                }
            }
        }
        for (asked, post) in items.iter().zip(posts) {
            let result = if let Some(message) = post.gone {
                ItemResult::Gone { message }
            } else if post.failed {
                // A partial snapshot would read as missing figures: ask again next round.
                continue;
            } else {
                let mut figures = post.figures;
                if figures.reactions.is_none() {
                    figures.reactions = post.reactions_fallback;
                }
                ItemResult::Figures {
                    figures,
                    raw: Value::Object(post.raw),
                    link: Some(format!("https://www.facebook.com/{}", asked.remote_id)),
                }
            };
            out.items.push((asked.delivery_id, result));
        }
        Ok(())
    }
}

/// Code 100 with subcode 33, or the words Graph uses for an object that does not exist.
fn is_missing_object(e: &GraphError) -> bool {
    e.code == INVALID_PARAMETER
        && (e.subcode == Some(OBJECT_MISSING) || e.message.contains("does not exist"))
}

impl Collector for FacebookChannel {
    fn channel(&self) -> Channel {
        Channel::Facebook
    }

    fn chunk_size(&self) -> usize {
        POSTS_PER_BATCH
    }

    fn collect<'a>(
        &'a self,
        items: &'a [Asked],
        retired: &'a BTreeSet<String>,
        progress: &'a (dyn Fn(usize) + Send + Sync),
    ) -> BoxFuture<'a, Collected> {
        Box::pin(async move {
            let mut out = Collected::default();
            // Metrics refused during this call are not asked again in its later batches.
            let mut retired = retired.clone();
            let mut done = 0;
            for batch in items.chunks(POSTS_PER_BATCH) {
                if let Some(stop) = self.headroom_refusal() {
                    out.stopped = Some(stop);
                    break;
                }
                if let Err(stop) = self.one_batch(batch, &mut retired, &mut out).await {
                    tracing::warn!(
                        class = stop.class(),
                        "Facebook metrics batch stopped the round"
                    );
                    out.stopped = Some(stop);
                    break;
                }
                done += batch.len();
                progress(done);
            }
            out
        })
    }

    fn account<'a>(
        &'a self,
        retired: &'a BTreeSet<String>,
    ) -> BoxFuture<'a, Result<Account, Outcome>> {
        Box::pin(async move {
            let answer = self
                .page_follows_answer(&|metric| retired.contains(metric))
                .await?;
            let raw = match answer.retired {
                Some(message) => json!({ "error": message, "metric": PAGE_FOLLOWS }),
                None => redact::json(answer.raw, &[self.token().as_str()]),
            };
            Ok(Account {
                followers: answer.followers,
                raw,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls_encode_query_values() {
        assert_eq!(
            insights_url("1_2", "post_clicks"),
            "1_2/insights?metric=post_clicks&period=lifetime"
        );
        assert_eq!(
            node_url("1_2"),
            "1_2?fields=shares%2Ccomments.summary%28total_count%29.limit%280%29%2Creactions.summary%28total_count%29.limit%280%29"
        );
    }

    #[test]
    fn kept_answers_hold_no_token() {
        let raw = json!({
            "data": [],
            "access_token": "SECRET",
            "paging": {"next": "https://graph.facebook.com/v25.0/x?access_token=SECRET&after=a"},
            "quoted": "token SECRET seen"
        });
        let kept = redact::json(raw, &["SECRET"]).to_string();
        assert!(!kept.contains("SECRET"), "{kept}");
        assert!(kept.contains("paging"));
    }

    #[test]
    fn five_items_per_post_fill_one_batch() {
        assert!(POSTS_PER_BATCH * (POST_METRICS.len() + 1) <= 50);
    }
}
