//! Collection rounds on a paused clock: the cadence (1 h … 30 d, then never), one late snapshot
//! after days off, a retired metric remembered and recorded missing, a post gone from the
//! platform, a round stopped by a rate limit, and the daily account snapshot.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use common::metrics::{at, published};
use loa::channel::Channel;
use loa::clock::Clock;
use loa::config::Config;
use loa::engine::Engine;
use loa::metrics::collect::{Silent, collect};
use loa::metrics::{
    Account, Asked, Collected, Collector, Figures, ItemResult, RetiredMetric, Scope,
};
use loa::publisher::{BoxFuture, Outcome};
use loa::store::Store;

/// A platform whose figures are the post's age in minutes at the clock's time.
struct FakePlatform {
    clock: Clock,
    published: DateTime<Utc>,
    calls: Mutex<Vec<(Vec<String>, BTreeSet<String>)>>,
    retire_clicks: Mutex<bool>,
    gone: Mutex<BTreeSet<String>>,
    rate_limited: Mutex<bool>,
    accounts: Mutex<u32>,
}

impl FakePlatform {
    fn new(clock: Clock, published: DateTime<Utc>) -> Arc<FakePlatform> {
        Arc::new(FakePlatform {
            clock,
            published,
            calls: Mutex::new(Vec::new()),
            retire_clicks: Mutex::new(false),
            gone: Mutex::new(BTreeSet::new()),
            rate_limited: Mutex::new(false),
            accounts: Mutex::new(0),
        })
    }

    fn asked(&self) -> Vec<Vec<String>> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.0.clone())
            .collect()
    }
}

impl Collector for FakePlatform {
    fn channel(&self) -> Channel {
        Channel::Facebook
    }

    fn chunk_size(&self) -> usize {
        2
    }

    fn collect<'a>(
        &'a self,
        items: &'a [Asked],
        retired: &'a BTreeSet<String>,
        progress: &'a (dyn Fn(usize) + Send + Sync),
    ) -> BoxFuture<'a, Collected> {
        Box::pin(async move {
            self.calls.lock().unwrap().push((
                items.iter().map(|i| i.remote_id.clone()).collect(),
                retired.clone(),
            ));
            if *self.rate_limited.lock().unwrap() {
                return Collected {
                    stopped: Some(Outcome::RateLimited {
                        message: "(#80001) too many calls".into(),
                        until: self.clock.now() + Duration::hours(1),
                    }),
                    ..Collected::default()
                };
            }
            let minutes = (self.clock.now() - self.published).num_minutes() as u64;
            let mut out = Collected::default();
            let retire = *self.retire_clicks.lock().unwrap();
            if retire && !retired.contains("post_clicks") {
                out.retired.push(RetiredMetric {
                    metric: "post_clicks".into(),
                    figure: "clicks".into(),
                    message: "(#100) The value must be a valid insights metric".into(),
                });
            }
            for item in items {
                if self.gone.lock().unwrap().contains(&item.remote_id) {
                    out.items.push((
                        item.delivery_id,
                        ItemResult::Gone {
                            message: "(#100) Object does not exist".into(),
                        },
                    ));
                    continue;
                }
                let figures = Figures {
                    views: Some(minutes),
                    reach: Some(minutes / 2),
                    clicks: (!retire).then_some(minutes / 10),
                    ..Figures::default()
                };
                out.items.push((
                    item.delivery_id,
                    ItemResult::Figures {
                        figures,
                        raw: serde_json::json!({ "minutes": minutes }),
                        link: Some(format!("https://www.facebook.com/{}", item.remote_id)),
                    },
                ));
            }
            progress(items.len());
            out
        })
    }

    fn account<'a>(
        &'a self,
        _retired: &'a BTreeSet<String>,
    ) -> BoxFuture<'a, Result<Account, Outcome>> {
        Box::pin(async move {
            *self.accounts.lock().unwrap() += 1;
            Ok(Account {
                followers: Some(1000),
                raw: serde_json::json!({ "page_follows": 1000 }),
            })
        })
    }
}

const PUBLISHED: &str = "2026-12-01T00:00:00Z";

fn engine(dir: &std::path::Path, clock: Clock) -> Arc<Engine> {
    let config = Config::parse(&format!(
        "timezone = \"Asia/Ho_Chi_Minh\"\nposts_dir = \"{}\"\ndata_dir = \"{}\"\nlanguage = \"en\"\n\
         [facebook]\npage_id = \"123456789012345\"\n[zalo]\nenabled = false\n",
        dir.join("posts").display(),
        dir.join("data").display()
    ))
    .expect("config");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let db = dir.join("data/loa.db");
    let fresh = !db.exists();
    let mut store = Store::open(&db).expect("store");
    // A restart opens the same store: only a new one gets the three published posts.
    let posts: &[&str] = if fresh {
        &["a.md", "b.md", "c.md"]
    } else {
        &[]
    };
    for (i, path) in posts.iter().enumerate() {
        published(
            &mut store,
            path,
            "Tin xã",
            &[],
            Channel::Facebook,
            &format!("1_{i}"),
            at(PUBLISHED),
        );
    }
    Arc::new(Engine::new(store, config, Vec::new(), clock))
}

async fn steps(engine: &Engine) -> Vec<(i64, Option<u64>)> {
    let rows = engine
        .with_store(|s| s.report_rows(at("2026-01-01T00:00:00Z"), at("2028-01-01T00:00:00Z")))
        .await
        .unwrap();
    rows.iter()
        .map(|r| (r.delivery_id, r.figures.and_then(|f| f.views)))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn snapshots_follow_the_cadence_and_days_off_give_one_late_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::starting_at(at(PUBLISHED) + Duration::minutes(30));
    let engine = engine(dir.path(), clock.clone());
    let platform = FakePlatform::new(clock.clone(), at(PUBLISHED));
    let collectors: Vec<Arc<dyn Collector>> = vec![platform.clone()];

    // 30 minutes old: nothing due, but the day's follower count is taken once.
    let s = collect(&engine, &collectors, Scope::Due, &Silent)
        .await
        .unwrap();
    assert_eq!((s.asked, s.snapshots, s.accounts), (0, 0, 1));
    assert!(platform.asked().is_empty());

    // 1 h: the first snapshot of all three, in chunks of two.
    tokio::time::advance(std::time::Duration::from_secs(30 * 60)).await;
    let s = collect(&engine, &collectors, Scope::Due, &Silent)
        .await
        .unwrap();
    assert_eq!((s.asked, s.snapshots, s.accounts), (3, 3, 0));
    assert_eq!(platform.asked(), [vec!["1_0", "1_1"], vec!["1_2"]]);
    assert!(steps(&engine).await.iter().all(|(_, v)| *v == Some(60)));

    // Again at 1 h 30: nothing is due.
    tokio::time::advance(std::time::Duration::from_secs(30 * 60)).await;
    let s = collect(&engine, &collectors, Scope::Due, &Silent)
        .await
        .unwrap();
    assert_eq!(s.asked, 0);

    // loa is off for ten days, then starts again on the same data folder: one snapshot
    // (counted as the 7-day step), not five.
    drop(engine);
    tokio::time::advance(std::time::Duration::from_secs(10 * 86_400 - 90 * 60)).await;
    let engine = self::engine(dir.path(), clock.clone());
    let calls_before = platform.asked().len();
    let s = collect(&engine, &collectors, Scope::Due, &Silent)
        .await
        .unwrap();
    assert_eq!(s.snapshots, 3);
    assert_eq!(platform.asked().len(), calls_before + 2);
    let s = collect(&engine, &collectors, Scope::Due, &Silent)
        .await
        .unwrap();
    assert_eq!(s.asked, 0, "the steps skipped are not made up");
    assert!(
        steps(&engine)
            .await
            .iter()
            .all(|(_, v)| *v == Some(10 * 24 * 60))
    );

    // 14 d and 30 d, then never again.
    tokio::time::advance(std::time::Duration::from_secs(4 * 86_400)).await;
    assert_eq!(
        collect(&engine, &collectors, Scope::Due, &Silent)
            .await
            .unwrap()
            .snapshots,
        3
    );
    tokio::time::advance(std::time::Duration::from_secs(16 * 86_400)).await;
    assert_eq!(
        collect(&engine, &collectors, Scope::Due, &Silent)
            .await
            .unwrap()
            .snapshots,
        3
    );
    tokio::time::advance(std::time::Duration::from_secs(300 * 86_400)).await;
    let s = collect(&engine, &collectors, Scope::Due, &Silent)
        .await
        .unwrap();
    assert_eq!(s.asked, 0, "collection ends after 30 days");
    // `--all` still asks, without moving the cadence.
    let s = collect(&engine, &collectors, Scope::All, &Silent)
        .await
        .unwrap();
    assert_eq!((s.asked, s.snapshots), (3, 3));
}

#[tokio::test(start_paused = true)]
async fn a_retired_metric_is_remembered_and_recorded_missing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::starting_at(at(PUBLISHED) + Duration::hours(1));
    let engine = engine(dir.path(), clock.clone());
    let platform = FakePlatform::new(clock.clone(), at(PUBLISHED));
    let collectors: Vec<Arc<dyn Collector>> = vec![platform.clone()];
    *platform.retire_clicks.lock().unwrap() = true;

    let s = collect(&engine, &collectors, Scope::Due, &Silent)
        .await
        .unwrap();
    assert_eq!(s.retired, [(Channel::Facebook, "post_clicks".to_string())]);
    assert_eq!(s.snapshots, 3, "the other figures carry on");
    // The second chunk of the same round already knew.
    let calls = platform.calls.lock().unwrap().clone();
    assert!(calls[1].1.contains("post_clicks"));
    let retired = engine
        .with_store(|s| s.retired_metrics(Channel::Facebook))
        .await
        .unwrap();
    assert_eq!(retired, BTreeSet::from(["post_clicks".to_string()]));
    let rows = engine
        .with_store(|s| s.report_rows(at("2026-01-01T00:00:00Z"), at("2028-01-01T00:00:00Z")))
        .await
        .unwrap();
    let f = rows[0].figures.unwrap();
    assert_eq!((f.views, f.reach, f.clicks), (Some(60), Some(30), None));
    let first = rows[0].delivery_id;
    let missing = engine
        .with_store(move |s| s.latest_missing(first))
        .await
        .unwrap();
    assert_eq!(missing.as_deref(), Some("[\"clicks\"]"));

    // Next round (6 h): asked with the retired set from the store, reported once only.
    tokio::time::advance(std::time::Duration::from_secs(5 * 3600)).await;
    let s = collect(&engine, &collectors, Scope::Due, &Silent)
        .await
        .unwrap();
    assert!(s.retired.is_empty());
    assert!(
        platform
            .calls
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .1
            .contains("post_clicks")
    );
}

#[tokio::test(start_paused = true)]
async fn a_post_gone_stops_and_a_rate_limit_pauses_the_channel() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::starting_at(at(PUBLISHED) + Duration::hours(1));
    let engine = engine(dir.path(), clock.clone());
    let platform = FakePlatform::new(clock.clone(), at(PUBLISHED));
    let collectors: Vec<Arc<dyn Collector>> = vec![platform.clone()];
    platform.gone.lock().unwrap().insert("1_1".into());
    let s = collect(&engine, &collectors, Scope::Due, &Silent)
        .await
        .unwrap();
    assert_eq!((s.snapshots, s.gone), (2, 1));
    let s = collect(&engine, &collectors, Scope::All, &Silent)
        .await
        .unwrap();
    assert_eq!(
        s.asked, 2,
        "a post gone is asked about no more, even by --all"
    );

    tokio::time::advance(std::time::Duration::from_secs(5 * 3600)).await;
    *platform.rate_limited.lock().unwrap() = true;
    let s = collect(&engine, &collectors, Scope::Due, &Silent)
        .await
        .unwrap();
    assert_eq!(s.snapshots, 0);
    assert_eq!(
        platform.asked().last().unwrap().len(),
        2,
        "one chunk, then the round stops"
    );
    let rec = engine
        .with_store(|s| s.channel(Channel::Facebook))
        .await
        .unwrap();
    assert_eq!(rec.health, loa::store::Health::RateLimited);
    // While paused, the channel is not asked at all; the posts stay due.
    let calls = platform.asked().len();
    let s = collect(&engine, &collectors, Scope::Due, &Silent)
        .await
        .unwrap();
    assert_eq!(platform.asked().len(), calls);
    assert_eq!(s.stopped.len(), 1);
}
