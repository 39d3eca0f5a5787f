//! A whole metrics round (`loa::metrics::collect`) through the real Facebook collector against
//! the sandbox: published deliveries in loa's store, a metric Facebook retires mid-life, and a
//! call budget tight enough that the round must stop at 75 % to leave publishing its headroom.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;

use loa::channel::Channel;
use loa::config::Config;
use loa::engine::{Clock, Engine};
use loa::facebook::client::FacebookChannel;
use loa::metrics::Collector;
use loa::metrics::collect::{Scope, Silent, collect};
use loa::publisher::Publisher;
use loa::sandbox::{Faults, PAGE_ID, PAGE_TOKEN, Sandbox, serve};
use loa::store::{Health, Store};

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap()
}

struct World {
    _dir: tempfile::TempDir,
    sandbox: Arc<Sandbox>,
    fb: Arc<FacebookChannel>,
    engine: Arc<Engine>,
}

/// A sandbox, and an engine that has published `count` Facebook posts to it.
async fn published(count: usize) -> World {
    let clock = Clock::starting_at(start_time());
    let sandbox = Sandbox::new(clock.clone(), Faults::default());
    let (addr, _task) = serve(sandbox.clone(), 0).await.unwrap();
    let url = format!("http://{addr}");
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("posts");
    std::fs::create_dir_all(&posts).unwrap();
    for n in 0..count {
        std::fs::write(
            posts.join(format!("{n:03}.md")),
            format!(
                "---\ntitle: \"Tin số {n}\"\nchannels: [facebook]\npublish_at: now\n---\nThông báo số {n} của xã.\n"
            ),
        )
        .unwrap();
    }
    let mut config = Config::parse(&format!(
        "language = \"en\"\n[facebook]\npage_id = \"{PAGE_ID}\"\ngraph_url = \"{url}\"\nnative_schedule = false\n"
    ))
    .unwrap_or_else(|d| panic!("valid config: {d:?}"));
    config.posts_dir = posts;
    config.data_dir = dir.path().join("data");
    let fb = Arc::new(FacebookChannel::new(
        &url,
        "v25.0",
        PAGE_ID,
        SecretString::from(PAGE_TOKEN),
        false,
        clock.clone(),
    ));
    let engine = Arc::new(Engine::new(
        Store::open(&dir.path().join("loa.db")).unwrap(),
        config,
        vec![fb.clone() as Arc<dyn Publisher>],
        clock,
    ));
    engine.recover().await.unwrap();
    engine.sync().await.unwrap();
    for _ in 0..5 {
        engine.run_once().await.unwrap();
        let live = sandbox.facebook.lock().unwrap().posts().len();
        if live == count {
            break;
        }
    }
    assert_eq!(sandbox.facebook.lock().unwrap().posts().len(), count);
    World {
        _dir: dir,
        sandbox,
        fb,
        engine,
    }
}

fn facebook_calls(sandbox: &Sandbox) -> usize {
    sandbox
        .received
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.platform == "facebook")
        .count()
}

#[tokio::test]
async fn a_round_keeps_every_snapshot_and_learns_a_metric_facebook_retired() {
    let w = published(25).await;
    w.sandbox.retire_metric("post_clicks");
    let collectors = [w.fb.clone() as Arc<dyn Collector>];

    let summary = collect(&w.engine, &collectors, Scope::All, &Silent)
        .await
        .unwrap();

    assert_eq!(summary.asked, 25);
    assert_eq!(summary.snapshots, 25, "{summary:?}");
    assert_eq!(summary.gone, 0);
    assert_eq!(
        summary.retired,
        [(Channel::Facebook, "post_clicks".to_string())]
    );
    assert!(summary.stopped.is_empty(), "{summary:?}");
    assert_eq!(summary.accounts, 1);
    let retired = w
        .engine
        .with_store(|s| s.retired_metrics(Channel::Facebook))
        .await
        .unwrap();
    assert!(retired.contains("post_clicks"));
    // Three batches (10 + 10 + 5 posts) and the Page's followers: no call per metric.
    let batches = w
        .sandbox
        .received
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.answer.starts_with("batch of"))
        .count();
    assert_eq!(batches, 3);
    let limits = w.sandbox.limits();
    assert_eq!(limits.facebook_refusals, 0);
    assert!(limits.facebook_peak_percent < 75, "{limits:?}");
}

#[tokio::test]
async fn a_tight_budget_stops_the_round_at_75_percent_without_pausing_publishing() {
    let w = published(30).await;
    // The publishing calls so far, and room for 60 more: the first batch (50 items) takes the
    // usage past 75 %, so the second waits for the next round.
    let used = facebook_calls(&w.sandbox);
    w.sandbox.set_facebook_call_budget(used + 60);
    let collectors = [w.fb.clone() as Arc<dyn Collector>];

    let summary = collect(&w.engine, &collectors, Scope::All, &Silent)
        .await
        .unwrap();

    assert_eq!(summary.asked, 30);
    assert_eq!(summary.snapshots, 10, "{summary:?}");
    assert_eq!(summary.stopped.len(), 1, "{summary:?}");
    assert_eq!(w.sandbox.limits().facebook_refusals, 0, "never refused");
    let health = w
        .engine
        .with_store(|s| s.channel(Channel::Facebook))
        .await
        .unwrap()
        .health;
    assert_ne!(health, Health::RateLimited, "publishing is not paused");
    assert!(w.sandbox.limits().facebook_peak_percent < 100);
}
