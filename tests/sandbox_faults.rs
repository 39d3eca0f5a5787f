//! The sandbox's faults for the proof suites, each on its own, over raw HTTP: injected rate
//! limits on both platforms (Facebook's with and without an estimate), answers held back after
//! the platform acted, Zalo tokens that die after N calls, and seeded dice that repeat.

use std::sync::Arc;
use std::time::Duration;

use loa::engine::Clock;
use loa::sandbox::{self, Faults, PAGE_ID, PAGE_TOKEN, Sandbox, ZALO_APP};
use serde_json::Value;

async fn serve(faults: Faults) -> (Arc<Sandbox>, String) {
    let sb = Sandbox::new(Clock::system(), faults);
    let (addr, _task) = sandbox::serve(sb.clone(), 0).await.unwrap();
    (sb, format!("http://{addr}"))
}

fn header_json(r: &reqwest::Response, name: &str) -> Value {
    serde_json::from_str(r.headers().get(name).unwrap().to_str().unwrap()).unwrap()
}

#[tokio::test]
async fn facebook_rate_limits_come_without_then_with_an_estimate() {
    let (sb, url) = serve(Faults {
        rate_limit_rate: 1.0,
        seed: Some(1),
        ..Faults::default()
    })
    .await;
    let http = reqwest::Client::new();
    let mut estimates = Vec::new();
    for _ in 0..2 {
        let r = http
            .post(format!("{url}/v25.0/{PAGE_ID}/feed"))
            .form(&[("message", "Xin chào"), ("access_token", PAGE_TOKEN)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let buc = header_json(&r, "x-business-use-case-usage");
        let app = header_json(&r, "x-app-usage");
        assert_eq!(app["call_count"], 100, "the quota is used up: {app}");
        estimates.push(buc[PAGE_ID][0]["estimated_time_to_regain_access"].clone());
        let body: Value = r.json().await.unwrap();
        let code = body["error"]["code"].as_i64().unwrap();
        assert!([4, 17, 32, 613].contains(&code), "{body}");
    }
    assert_eq!(estimates, [0, 1], "no estimate first, then one minute");
    assert!(
        sb.facebook.lock().unwrap().posts().is_empty(),
        "a refused call does nothing"
    );
}

#[tokio::test]
async fn a_slow_facebook_answer_comes_after_the_post_is_made() {
    let (sb, url) = serve(Faults {
        slow_rate: 1.0,
        slow_for: Some(Duration::from_millis(600)),
        ..Faults::default()
    })
    .await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let r = impatient
        .post(format!("{url}/v25.0/{PAGE_ID}/feed"))
        .form(&[("message", "Xin chào"), ("access_token", PAGE_TOKEN)])
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    let posts = sb.facebook.lock().unwrap().posts();
    assert_eq!(posts.len(), 1, "the platform acted: {posts:#?}");
    let received = sb.received.lock().unwrap();
    assert!(
        received[0].answer.contains("(answer held back)"),
        "{received:#?}"
    );
}

/// A Zalo access token from the first refresh token (the token call is never faulted).
async fn zalo_token(http: &reqwest::Client, url: &str) -> String {
    let r: Value = http
        .post(format!("{url}/v4/oa/access_token"))
        .header("secret_key", ZALO_APP.1)
        .form(&[
            ("app_id", ZALO_APP.0),
            ("grant_type", "refresh_token"),
            ("refresh_token", sandbox::ZALO_FIRST_REFRESH_TOKEN),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"].as_str().expect("a token").to_string()
}

async fn getoa(http: &reqwest::Client, url: &str, token: &str) -> reqwest::Response {
    http.get(format!("{url}/v2.0/oa/getoa"))
        .header("access_token", token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn zalo_rate_limits_answer_minus_32_with_nothing_remaining() {
    let (_sb, url) = serve(Faults {
        rate_limit_rate: 1.0,
        ..Faults::default()
    })
    .await;
    let http = reqwest::Client::new();
    let token = zalo_token(&http, &url).await;
    let r = getoa(&http, &url, &token).await;
    assert_eq!(r.headers()["x-ratelimit-remain"], "0");
    assert_eq!(r.headers()["x-ratelimit-limit"], "4000");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], -32, "{body}");
}

#[tokio::test]
async fn a_zalo_token_dies_after_its_calls() {
    let (_sb, url) = serve(Faults {
        token_calls: Some(2),
        ..Faults::default()
    })
    .await;
    let http = reqwest::Client::new();
    let token = zalo_token(&http, &url).await;
    let mut errors = Vec::new();
    for _ in 0..3 {
        let body: Value = getoa(&http, &url, &token).await.json().await.unwrap();
        errors.push(body["error"].as_i64().unwrap());
    }
    assert_eq!(errors, [0, 0, -216]);
}

#[tokio::test]
async fn a_slow_zalo_answer_is_held_after_the_call() {
    let (sb, url) = serve(Faults {
        slow_rate: 1.0,
        slow_for: Some(Duration::from_millis(600)),
        ..Faults::default()
    })
    .await;
    let http = reqwest::Client::new();
    let token = zalo_token(&http, &url).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let r = impatient
        .get(format!("{url}/v2.0/oa/getoa"))
        .header("access_token", &token)
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    let received = sb.received.lock().unwrap();
    let answers: Vec<&str> = received.iter().map(|r| r.answer.as_str()).collect();
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert!(answers[2].contains("held back"), "{answers:?}");
}

#[tokio::test]
async fn the_same_seed_rolls_the_same_faults() {
    let rolls = |seed| {
        let sb = Sandbox::new(
            Clock::system(),
            Faults {
                seed: Some(seed),
                ..Faults::default()
            },
        );
        (0..64).map(|_| sb.roll(0.5)).collect::<Vec<_>>()
    };
    assert_eq!(rolls(7), rolls(7));
    assert_ne!(rolls(7), rolls(8));
}
