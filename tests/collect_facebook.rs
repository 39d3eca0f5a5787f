//! The Facebook metrics collector (`impl Collector for FacebookChannel`) against wiremock: one
//! Graph batch per ten posts (§7), single-metric items, the §5 mapping, retired metrics, gone
//! posts, rate limits and the usage headroom left for publishing.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use percent_encoding::percent_decode_str;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use loa::engine::Clock;
use loa::facebook::client::FacebookChannel;
use loa::metrics::{Asked, Collected, Collector, Figures, ItemResult, RetiredMetric};
use loa::publisher::Outcome;

const PAGE: &str = "123456789012345";
const TOKEN: &str = "PT-secret-page-token";
const NODE_FIELDS: &str =
    "shares,comments.summary(total_count).limit(0),reactions.summary(total_count).limit(0)";

fn channel(server: &MockServer) -> FacebookChannel {
    FacebookChannel::new(
        &server.uri(),
        "v25.0",
        PAGE,
        SecretString::from(TOKEN),
        false,
        Clock::system(),
    )
}

fn post_id(n: usize) -> String {
    format!("{PAGE}_{}", 9_000 + n)
}

fn asked(count: usize) -> Vec<Asked> {
    (0..count)
        .map(|n| Asked {
            delivery_id: n as i64 + 1,
            remote_id: post_id(n),
        })
        .collect()
}

/// `a=1&b=2` decoded (`+` is a space).
fn form(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// One batch item as the fake read it: the post, and the metric (`None` for the node read).
#[derive(Clone, Debug, PartialEq)]
struct ItemAsked {
    post: String,
    metric: Option<String>,
    relative_url: String,
}

fn read_item(item: &Value) -> ItemAsked {
    assert_eq!(item["method"], "GET", "{item}");
    let relative = item["relative_url"].as_str().unwrap().to_string();
    let (path, query) = relative.split_once('?').unwrap();
    let query = form(query);
    assert!(
        !relative.contains("access_token"),
        "the token goes once, in the form"
    );
    match path.strip_suffix("/insights") {
        Some(post) => {
            assert_eq!(query.len(), 2, "{relative}");
            assert!(
                query.contains(&("period".into(), "lifetime".into())),
                "{relative}"
            );
            let metric = query.iter().find(|(k, _)| k == "metric").unwrap().1.clone();
            assert!(!metric.contains(','), "one metric per item: {relative}");
            ItemAsked {
                post: post.to_string(),
                metric: Some(metric),
                relative_url: relative.clone(),
            }
        }
        None => {
            assert_eq!(query, [("fields".to_string(), NODE_FIELDS.to_string())]);
            ItemAsked {
                post: path.to_string(),
                metric: None,
                relative_url: relative.clone(),
            }
        }
    }
}

type Answer = dyn Fn(usize, &ItemAsked) -> Value + Send + Sync;

/// A Graph batch endpoint: checks the form, records each batch's items, and answers each item
/// with `answer(batch number, item)` (a full `{"code","body"}` object, or `null`).
struct Batch {
    seen: Arc<Mutex<Vec<Vec<ItemAsked>>>>,
    answer: Arc<Answer>,
    /// Headers for the reply to batch number `n`.
    headers: Arc<dyn Fn(usize) -> Vec<(&'static str, String)> + Send + Sync>,
    /// Batch number `n` is refused as a whole with this reply.
    refuse: Arc<dyn Fn(usize) -> Option<ResponseTemplate> + Send + Sync>,
}

impl Respond for Batch {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let fields = form(std::str::from_utf8(&request.body).unwrap());
        let keys: BTreeSet<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["access_token", "batch", "include_headers"])
        );
        let field = |k: &str| fields.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(field("include_headers"), "false");
        assert_eq!(field("access_token"), TOKEN);
        assert!(request.url.query().is_none(), "no token in the URL");
        let items: Vec<Value> = serde_json::from_str(&field("batch")).unwrap();
        assert!(items.len() <= 50, "{} items", items.len());
        let items: Vec<ItemAsked> = items.iter().map(read_item).collect();
        let n = {
            let mut seen = self.seen.lock().unwrap();
            seen.push(items.clone());
            seen.len() - 1
        };
        let mut reply = (self.refuse)(n).unwrap_or_else(|| {
            let answers: Vec<Value> = items.iter().map(|i| (self.answer)(n, i)).collect();
            ResponseTemplate::new(200).set_body_json(Value::Array(answers))
        });
        for (name, value) in (self.headers)(n) {
            reply = reply.insert_header(name, value.as_str());
        }
        reply
    }
}

struct Fake {
    server: MockServer,
    seen: Arc<Mutex<Vec<Vec<ItemAsked>>>>,
}

impl Fake {
    async fn start(
        answer: impl Fn(usize, &ItemAsked) -> Value + Send + Sync + 'static,
        headers: impl Fn(usize) -> Vec<(&'static str, String)> + Send + Sync + 'static,
        refuse: impl Fn(usize) -> Option<ResponseTemplate> + Send + Sync + 'static,
    ) -> Fake {
        let server = MockServer::start().await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        Mock::given(method("POST"))
            .and(path("/v25.0/"))
            .respond_with(Batch {
                seen: seen.clone(),
                answer: Arc::new(answer),
                headers: Arc::new(headers),
                refuse: Arc::new(refuse),
            })
            .mount(&server)
            .await;
        Fake { server, seen }
    }

    async fn simple(answer: impl Fn(usize, &ItemAsked) -> Value + Send + Sync + 'static) -> Fake {
        Fake::start(answer, |_| Vec::new(), |_| None).await
    }

    fn batches(&self) -> Vec<Vec<ItemAsked>> {
        self.seen.lock().unwrap().clone()
    }
}

fn item(code: u16, body: Value) -> Value {
    json!({ "code": code, "body": body.to_string() })
}

fn insight(name: &str, value: Value) -> Value {
    item(
        200,
        json!({"data": [{"name": name, "period": "lifetime", "values": [{"value": value}],
                "title": "t", "description": "d", "id": format!("x/insights/{name}/lifetime")}],
               "paging": {}}),
    )
}

fn graph_error(code: i64, subcode: Option<i64>, message: &str) -> Value {
    let mut error =
        json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"});
    if let Some(s) = subcode {
        error["error_subcode"] = json!(s);
    }
    json!({ "error": error })
}

fn retired_error() -> Value {
    item(
        400,
        graph_error(
            100,
            None,
            "(#100) The value must be a valid insights metric",
        ),
    )
}

/// Figures of post `n`: views 1000+n, reach 700+n, clicks 30+n, reactions like 80 + love n,
/// comments 12, shares 7.
fn healthy(_batch: usize, i: &ItemAsked) -> Value {
    let n: usize = i.post.rsplit('_').next().unwrap().parse::<usize>().unwrap() - 9_000;
    match i.metric.as_deref() {
        Some("post_media_view") => insight("post_media_view", json!(1000 + n)),
        Some("post_total_media_view_unique") => {
            insight("post_total_media_view_unique", json!(700 + n))
        }
        Some("post_clicks") => insight("post_clicks", json!(30 + n)),
        Some("post_reactions_by_type_total") => insight(
            "post_reactions_by_type_total",
            json!({"like": 80, "love": n}),
        ),
        Some(other) => panic!("unexpected metric {other}"),
        None => item(
            200,
            json!({"shares": {"count": 7}, "comments": {"data": [], "summary": {"total_count": 12}},
                   "reactions": {"data": [], "summary": {"total_count": 999}}, "id": i.post}),
        ),
    }
}

fn healthy_figures(n: u64) -> Figures {
    Figures {
        views: Some(1000 + n),
        reach: Some(700 + n),
        reactions: Some(80 + n),
        comments: Some(12),
        shares: Some(7),
        clicks: Some(30 + n),
    }
}

fn figures_of(result: &ItemResult) -> Figures {
    match result {
        ItemResult::Figures { figures, .. } => *figures,
        other => panic!("expected figures, got {other:?}"),
    }
}

async fn collect(
    fb: &FacebookChannel,
    items: &[Asked],
    retired: &BTreeSet<String>,
) -> (Collected, Vec<usize>) {
    let ticks = Mutex::new(Vec::new());
    let progress = |done: usize| ticks.lock().unwrap().push(done);
    let out = fb.collect(items, retired, &progress).await;
    (out, ticks.into_inner().unwrap())
}

const METRICS: [&str; 4] = [
    "post_media_view",
    "post_total_media_view_unique",
    "post_clicks",
    "post_reactions_by_type_total",
];

#[tokio::test]
async fn one_batch_asks_one_metric_per_item_and_maps_every_figure() {
    let fake = Fake::simple(|b, i| {
        // Post 1: no clicks figure yet (`data: []`), never shared (no `shares`).
        if i.post == post_id(1) {
            match i.metric.as_deref() {
                Some("post_clicks") => return item(200, json!({"data": [], "paging": {}})),
                None => {
                    return item(
                        200,
                        json!({"comments": {"data": [], "summary": {"total_count": 3}},
                               "reactions": {"data": [], "summary": {"total_count": 5}}, "id": i.post}),
                    );
                }
                _ => {}
            }
        }
        healthy(b, i)
    })
    .await;
    let fb = channel(&fake.server);
    assert_eq!(fb.chunk_size(), 10);
    let (out, ticks) = collect(&fb, &asked(2), &BTreeSet::new()).await;

    let batches = fake.batches();
    assert_eq!(batches.len(), 1);
    let expected: Vec<(String, Option<String>)> = (0..2)
        .flat_map(|n| {
            METRICS
                .iter()
                .map(move |m| (post_id(n), Some(m.to_string())))
                .chain([(post_id(n), None)])
        })
        .collect();
    let got: Vec<(String, Option<String>)> = batches[0]
        .iter()
        .map(|i| (i.post.clone(), i.metric.clone()))
        .collect();
    assert_eq!(got, expected);

    assert_eq!(out.stopped, None);
    assert!(out.retired.is_empty());
    assert_eq!(out.items.len(), 2);
    assert_eq!(out.items[0].0, 1);
    assert_eq!(figures_of(&out.items[0].1), healthy_figures(0));
    assert_eq!(
        figures_of(&out.items[1].1),
        Figures {
            clicks: None,
            shares: Some(0),
            comments: Some(3),
            ..healthy_figures(1)
        }
    );
    let ItemResult::Figures { raw, link, .. } = &out.items[0].1 else {
        unreachable!()
    };
    assert_eq!(
        link.as_deref(),
        Some(format!("https://www.facebook.com/{}", post_id(0)).as_str())
    );
    let raw = raw.as_object().unwrap();
    assert_eq!(raw.len(), 5);
    let clicks_url = batches[0][2].relative_url.clone();
    assert_eq!(raw[&clicks_url]["data"][0]["values"][0]["value"], 30);
    assert!(!Value::Object(raw.clone()).to_string().contains(TOKEN));
    assert_eq!(ticks, [2]);
}

#[tokio::test]
async fn batches_hold_ten_posts_and_progress_counts_them() {
    let fake = Fake::simple(healthy).await;
    let fb = channel(&fake.server);
    let (out, ticks) = collect(&fb, &asked(23), &BTreeSet::new()).await;
    let sizes: Vec<usize> = fake.batches().iter().map(Vec::len).collect();
    assert_eq!(sizes, [50, 50, 15]);
    assert_eq!(ticks, [10, 20, 23]);
    assert_eq!(out.items.len(), 23);
    for (i, (delivery, result)) in out.items.iter().enumerate() {
        assert_eq!(*delivery, i as i64 + 1);
        assert_eq!(figures_of(result), healthy_figures(i as u64));
    }
}

#[tokio::test]
async fn a_retired_metric_is_reported_once_and_not_asked_in_the_next_batch() {
    let fake = Fake::simple(|b, i| match i.metric.as_deref() {
        Some("post_clicks") => retired_error(),
        _ => healthy(b, i),
    })
    .await;
    let fb = channel(&fake.server);
    let (out, _) = collect(&fb, &asked(20), &BTreeSet::new()).await;

    assert_eq!(
        out.retired,
        [RetiredMetric {
            metric: "post_clicks".into(),
            figure: "clicks".into(),
            message: "(#100) The value must be a valid insights metric".into(),
        }]
    );
    let batches = fake.batches();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].len(), 50);
    assert_eq!(batches[1].len(), 40);
    assert!(
        batches[1]
            .iter()
            .all(|i| i.metric.as_deref() != Some("post_clicks"))
    );
    // The other figures carry on, for every post.
    assert_eq!(out.items.len(), 20);
    for (i, (_, result)) in out.items.iter().enumerate() {
        assert_eq!(
            figures_of(result),
            Figures {
                clicks: None,
                ..healthy_figures(i as u64)
            }
        );
    }
    assert_eq!(out.stopped, None);
}

#[tokio::test]
async fn metrics_already_retired_are_never_asked_and_reactions_fall_back_to_the_node() {
    let fake = Fake::simple(healthy).await;
    let fb = channel(&fake.server);
    let retired = BTreeSet::from(["post_reactions_by_type_total".to_string()]);
    let (out, _) = collect(&fb, &asked(1), &retired).await;
    let batches = fake.batches();
    assert_eq!(batches[0].len(), 4);
    assert!(
        batches[0]
            .iter()
            .all(|i| i.metric.as_deref() != Some("post_reactions_by_type_total"))
    );
    assert!(out.retired.is_empty(), "known before: not reported again");
    assert_eq!(
        figures_of(&out.items[0].1),
        Figures {
            reactions: Some(999),
            ..healthy_figures(0)
        }
    );
}

#[tokio::test]
async fn a_post_deleted_on_facebook_is_gone() {
    let fake = Fake::simple(|b, i| {
        if i.post == post_id(1) {
            return item(
                400,
                graph_error(
                    100,
                    Some(33),
                    "Unsupported get request. Object with ID 'x' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
                ),
            );
        }
        healthy(b, i)
    })
    .await;
    let fb = channel(&fake.server);
    let (out, _) = collect(&fb, &asked(3), &BTreeSet::new()).await;
    assert_eq!(out.items.len(), 3);
    assert!(
        matches!(&out.items[1], (2, ItemResult::Gone { message }) if message.contains("does not exist"))
    );
    assert_eq!(figures_of(&out.items[0].1), healthy_figures(0));
    assert_eq!(figures_of(&out.items[2].1), healthy_figures(2));
    assert!(out.retired.is_empty());
    assert_eq!(out.stopped, None);
}

#[tokio::test]
async fn a_rate_limited_batch_stops_the_round_keeping_earlier_batches() {
    let fake = Fake::start(
        healthy,
        |_| Vec::new(),
        |n| {
            (n == 1).then(|| {
                ResponseTemplate::new(400).set_body_json(graph_error(
                    4,
                    None,
                    "(#4) Application request limit reached",
                ))
            })
        },
    )
    .await;
    let fb = channel(&fake.server);
    let (out, ticks) = collect(&fb, &asked(30), &BTreeSet::new()).await;
    assert_eq!(fake.batches().len(), 2, "no third batch after the limit");
    assert_eq!(out.items.len(), 10);
    assert!(out.items.iter().all(|(d, _)| *d <= 10));
    assert!(
        matches!(&out.stopped, Some(Outcome::RateLimited { .. })),
        "{:?}",
        out.stopped
    );
    assert_eq!(ticks, [10]);
}

#[tokio::test]
async fn a_rate_limited_item_stops_the_round_too() {
    let fake = Fake::simple(|b, i| {
        if b == 1 {
            return item(
                400,
                graph_error(
                    80_001,
                    None,
                    "(#80001) There have been too many calls to this Page account.",
                ),
            );
        }
        healthy(b, i)
    })
    .await;
    let fb = channel(&fake.server);
    let (out, _) = collect(&fb, &asked(30), &BTreeSet::new()).await;
    assert_eq!(fake.batches().len(), 2);
    assert_eq!(out.items.len(), 10);
    assert!(matches!(&out.stopped, Some(Outcome::RateLimited { .. })));
}

#[tokio::test]
async fn a_dead_token_stops_the_round_without_leaking_it() {
    let fake = Fake::start(
        healthy,
        |_| Vec::new(),
        |_| {
            Some(ResponseTemplate::new(400).set_body_json(graph_error(
                190,
                Some(463),
                &format!("Error validating access token {TOKEN}: Session has expired"),
            )))
        },
    )
    .await;
    let fb = channel(&fake.server);
    let (out, _) = collect(&fb, &asked(3), &BTreeSet::new()).await;
    assert!(out.items.is_empty());
    let Some(Outcome::AuthExpired { message }) = &out.stopped else {
        panic!("{:?}", out.stopped)
    };
    assert!(!message.contains(TOKEN), "{message}");
}

#[tokio::test]
async fn usage_at_75_percent_stops_metrics_without_pausing_the_channel() {
    let fake = Fake::start(
        healthy,
        |_| {
            vec![(
                "x-app-usage",
                r#"{"call_count":76,"total_time":10,"total_cputime":10}"#.to_string(),
            )]
        },
        |_| None,
    )
    .await;
    let fb = channel(&fake.server);
    let (out, _) = collect(&fb, &asked(25), &BTreeSet::new()).await;
    assert_eq!(fake.batches().len(), 1, "the second batch waits");
    assert_eq!(out.items.len(), 10);
    let Some(Outcome::Transient { message, .. }) = &out.stopped else {
        panic!("{:?}", out.stopped)
    };
    assert!(message.contains("76"), "{message}");
    assert_eq!(fb.recent_usage_percent(), Some(76.0));

    // The channel itself is not paused: a publishing-side read still goes out.
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{PAGE}/insights")))
        .and(query_param("metric", "page_follows"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&fake.server)
        .await;
    let account = fb.account(&BTreeSet::new()).await.unwrap();
    assert_eq!(account.followers, None);
}

#[tokio::test]
async fn usage_at_90_percent_closes_the_gate_and_the_next_round_stops_rate_limited() {
    let fake = Fake::start(
        healthy,
        |_| vec![("x-business-use-case-usage", format!(r#"{{"{PAGE}":[{{"type":"pages","call_count":92,"total_cputime":5,"total_time":5,"estimated_time_to_regain_access":0}}]}}"#))],
        |_| None,
    )
    .await;
    let fb = channel(&fake.server);
    let (first, _) = collect(&fb, &asked(5), &BTreeSet::new()).await;
    assert_eq!(first.items.len(), 5, "the answers that came are kept");
    let (second, _) = collect(&fb, &asked(5), &BTreeSet::new()).await;
    assert_eq!(fake.batches().len(), 1, "no call while the gate is closed");
    assert!(second.items.is_empty());
    assert!(matches!(second.stopped, Some(Outcome::RateLimited { .. })));
}

#[tokio::test]
async fn a_passing_item_failure_leaves_only_that_post_out() {
    let fake = Fake::simple(|b, i| {
        if i.post == post_id(2) && i.metric.as_deref() == Some("post_total_media_view_unique") {
            return item(
                500,
                json!({"error": {"message": "An unexpected error has occurred.", "type": "OAuthException", "code": 2, "is_transient": true, "fbtrace_id": "A9"}}),
            );
        }
        if i.post == post_id(3) && i.metric.is_none() {
            return Value::Null;
        }
        healthy(b, i)
    })
    .await;
    let fb = channel(&fake.server);
    let (out, ticks) = collect(&fb, &asked(5), &BTreeSet::new()).await;
    let delivered: Vec<i64> = out.items.iter().map(|(d, _)| *d).collect();
    assert_eq!(
        delivered,
        [1, 2, 5],
        "posts 3 and 4 are asked again next round"
    );
    assert_eq!(out.stopped, None);
    assert_eq!(ticks, [5]);
}

#[tokio::test]
async fn the_account_is_the_page_follows_answer() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{PAGE}/insights")))
        .and(query_param("metric", "page_follows"))
        .and(query_param("period", "day"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{"name": "page_follows", "period": "day", "values": [{"value": 1510}, {"value": 1523}]}]})))
        .mount(&server)
        .await;
    let fb = channel(&server);
    let account = fb.account(&BTreeSet::new()).await.unwrap();
    assert_eq!(account.followers, Some(1523));
    assert_eq!(account.raw["data"][0]["name"], "page_follows");

    let none = fb
        .account(&BTreeSet::from(["page_follows".to_string()]))
        .await
        .unwrap();
    assert_eq!(none.followers, None);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "a retired metric is not asked"
    );
}

#[tokio::test]
async fn once_facebook_s_pause_is_over_the_reading_that_caused_it_no_longer_holds_metrics_back() {
    let fake = Fake::start(
        healthy,
        |n| {
            if n == 0 {
                vec![("x-business-use-case-usage", format!(r#"{{"{PAGE}":[{{"type":"pages","call_count":95,"total_cputime":5,"total_time":5,"estimated_time_to_regain_access":1}}]}}"#))]
            } else {
                Vec::new()
            }
        },
        |_| None,
    )
    .await;
    // Ten sandbox minutes per real second: the one-minute pause ends after 0.1 s.
    let clock = Clock::compressed(chrono::Utc::now(), 600.0);
    let fb = FacebookChannel::new(
        &fake.server.uri(),
        "v25.0",
        PAGE,
        SecretString::from(TOKEN),
        false,
        clock.clone(),
    );
    let (first, _) = collect(&fb, &asked(2), &BTreeSet::new()).await;
    assert_eq!(first.items.len(), 2);
    assert_eq!(fb.recent_usage_percent(), Some(95.0));
    let (paused, _) = collect(&fb, &asked(2), &BTreeSet::new()).await;
    assert!(matches!(paused.stopped, Some(Outcome::RateLimited { .. })));

    clock
        .sleep_until(clock.now() + chrono::Duration::seconds(90))
        .await;
    assert_eq!(fb.recent_usage_percent(), None);
    let (after, _) = collect(&fb, &asked(2), &BTreeSet::new()).await;
    assert_eq!(after.stopped, None);
    assert_eq!(after.items.len(), 2);
    assert_eq!(fake.batches().len(), 2);
}
