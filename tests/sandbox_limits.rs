//! The sandbox's rate limits, so that "collecting without breaking the limits" means something:
//! Facebook's rolling-hour call budget (every batch item one call, true usage headers, 80001
//! past it), a metric retired at runtime, and Zalo's 4,000 calls a minute (`-32` past it).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};

use loa::engine::Clock;
use loa::facebook::client::FacebookChannel;
use loa::metrics::{Asked, Collector, ItemResult, RetiredMetric};
use loa::sandbox::{Faults, Limits, PAGE_ID, PAGE_TOKEN, Sandbox, serve};

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap()
}

async fn start(clock: Clock) -> (Arc<Sandbox>, String) {
    let sandbox = Sandbox::new(clock, Faults::default());
    let (addr, _task) = serve(sandbox.clone(), 0).await.unwrap();
    (sandbox, format!("http://{addr}"))
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A text post on the Page, made with a raw call (one call of the budget).
async fn new_post(url: &str, message: &str) -> String {
    let r = http()
        .post(format!("{url}/v25.0/{PAGE_ID}/feed"))
        .form(&[("message", message), ("access_token", PAGE_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

/// The `call_count` of `X-App-Usage` and the BUC entry of a reply.
fn usage(r: &reqwest::Response) -> (u64, Value) {
    let header = |name: &str| -> Value {
        serde_json::from_str(r.headers().get(name).unwrap().to_str().unwrap()).unwrap()
    };
    let app = header("x-app-usage");
    let buc = header("x-business-use-case-usage");
    (app["call_count"].as_u64().unwrap(), buc[PAGE_ID][0].clone())
}

#[tokio::test]
async fn batch_items_count_against_the_budget_and_past_it_facebook_answers_80001() {
    let (sandbox, url) = start(Clock::starting_at(start_time())).await;
    sandbox.set_facebook_call_budget(10);
    let post = new_post(&url, "Họp dân").await;

    // Call 1 was the post; this batch is calls 2..=7: six items.
    let items: Vec<Value> = (0..6)
        .map(|_| json!({"method": "GET", "relative_url": format!("{post}/insights?metric=post_media_view&period=lifetime")}))
        .collect();
    let batch = |items: &[Value]| {
        http().post(format!("{url}/v25.0/")).form(&[
            ("batch", Value::Array(items.to_vec()).to_string()),
            ("include_headers", "false".into()),
            ("access_token", PAGE_TOKEN.into()),
        ])
    };
    let r = batch(&items).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (count, buc) = usage(&r);
    assert_eq!(count, 70, "7 of 10 calls: each item counts");
    assert_eq!(buc["call_count"], 70);
    assert_eq!(buc["estimated_time_to_regain_access"], 0);
    let answers: Value = r.json().await.unwrap();
    assert!(answers.as_array().unwrap().iter().all(|a| a["code"] == 200));

    // Calls 8..=12: the last two items are over the budget.
    let r = batch(&items[..5]).send().await.unwrap();
    let (count, buc) = usage(&r);
    assert_eq!(count, 120);
    assert!(buc["estimated_time_to_regain_access"].as_u64().unwrap() >= 1);
    let answers: Value = r.json().await.unwrap();
    let codes: Vec<u64> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [200, 200, 200, 400, 400]);
    let refused: Value = serde_json::from_str(answers[4]["body"].as_str().unwrap()).unwrap();
    assert_eq!(refused["error"]["code"], 80_001);

    // Any call now: 80001 with the BUC header saying when.
    let r = http()
        .get(format!("{url}/v25.0/{post}"))
        .query(&[("fields", "shares"), ("access_token", PAGE_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (count, buc) = usage(&r);
    assert!(count >= 100 && buc["call_count"].as_u64().unwrap() >= 100);
    assert!(buc["estimated_time_to_regain_access"].as_u64().unwrap() >= 1);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], 80_001);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("(#80001) There have been too many calls to this Page account")
    );

    let limits = sandbox.limits();
    assert_eq!(limits.facebook_refusals, 3);
    assert!(limits.facebook_peak_percent >= 130, "{limits:?}");
    assert_eq!(limits.zalo_refusals, 0);
}

#[tokio::test]
async fn loa_collects_within_the_budget_and_then_stops_before_breaking_it() {
    let clock = Clock::starting_at(start_time());
    let (sandbox, url) = start(clock.clone()).await;
    // Two posts (2 calls) and one batch of two posts (10 items): exactly the budget.
    sandbox.set_facebook_call_budget(12);
    let ids = [new_post(&url, "Một").await, new_post(&url, "Hai").await];
    let fb = FacebookChannel::new(
        &url,
        "v25.0",
        PAGE_ID,
        SecretString::from(PAGE_TOKEN),
        false,
        clock,
    );
    let asked: Vec<Asked> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| Asked {
            delivery_id: n as i64 + 1,
            remote_id: id.clone(),
        })
        .collect();
    let out = fb.collect(&asked, &BTreeSet::new(), &|_| {}).await;
    assert_eq!(out.items.len(), 2, "{out:?}");
    assert!(out.stopped.is_none());
    assert!(
        matches!(&out.items[0].1, ItemResult::Figures { figures, .. } if figures.views.is_some() && figures.shares.is_some())
    );
    assert_eq!(fb.recent_usage_percent(), Some(100.0));

    // At 100 % the client has closed its gate: the next round stops without calling.
    let again = fb.collect(&asked, &BTreeSet::new(), &|_| {}).await;
    assert!(again.items.is_empty());
    assert!(matches!(
        again.stopped,
        Some(loa::publisher::Outcome::RateLimited { .. })
    ));
    assert_eq!(
        sandbox.limits(),
        Limits {
            facebook_peak_percent: 100,
            facebook_refusals: 0,
            zalo_peak_percent: 0,
            zalo_refusals: 0,
        }
    );
}

#[tokio::test]
async fn a_metric_retired_at_runtime_is_refused_as_invalid_and_reported_by_loa() {
    let clock = Clock::starting_at(start_time());
    let (sandbox, url) = start(clock.clone()).await;
    let post = new_post(&url, "Ba").await;
    let ask = |metric: &'static str| {
        http()
            .get(format!("{url}/v25.0/{post}/insights"))
            .query(&[
                ("metric", metric),
                ("period", "lifetime"),
                ("access_token", PAGE_TOKEN),
            ])
            .send()
    };
    assert_eq!(ask("post_clicks").await.unwrap().status(), 200);

    sandbox.retire_metric("post_clicks");
    let r = ask("post_clicks").await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], 100);
    assert_eq!(
        body["error"]["message"],
        "(#100) The value must be a valid insights metric"
    );
    assert_eq!(ask("post_media_view").await.unwrap().status(), 200);

    let fb = FacebookChannel::new(
        &url,
        "v25.0",
        PAGE_ID,
        SecretString::from(PAGE_TOKEN),
        false,
        clock,
    );
    let asked = [Asked {
        delivery_id: 1,
        remote_id: post,
    }];
    let out = fb.collect(&asked, &BTreeSet::new(), &|_| {}).await;
    assert_eq!(
        out.retired,
        [RetiredMetric {
            metric: "post_clicks".into(),
            figure: "clicks".into(),
            message: "(#100) The value must be a valid insights metric".into(),
        }]
    );
    let ItemResult::Figures { figures, .. } = &out.items[0].1 else {
        panic!("{out:?}")
    };
    assert_eq!(figures.clicks, None);
    assert!(figures.views.is_some() && figures.comments.is_some());
}

#[tokio::test]
async fn zalo_refuses_past_4000_calls_a_minute_with_minus_32() {
    let (sandbox, url) = start(Clock::starting_at(start_time())).await;
    let client = http();
    let call = |client: reqwest::Client, url: String| async move {
        let r = client
            .get(format!("{url}/v2.0/oa/getoa"))
            .send()
            .await
            .unwrap();
        let remain: i64 = r.headers()["x-ratelimit-remain"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(r.headers()["x-ratelimit-limit"], "4000");
        let body: Value = r.json().await.unwrap();
        (remain, body["error"].as_i64().unwrap())
    };
    // 4000 calls, eight at a time: none of them is refused for the limit.
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            for _ in (worker..4000).step_by(8) {
                errors.push(call(client.clone(), url.clone()).await.1);
            }
            errors
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().iter().all(|e| *e != -32));
    }
    let (remain, error) = call(client.clone(), url.clone()).await;
    assert_eq!((remain, error), (0, -32));
    let limits = sandbox.limits();
    assert_eq!(limits.zalo_refusals, 1);
    assert_eq!(limits.zalo_peak_percent, 100);
}
