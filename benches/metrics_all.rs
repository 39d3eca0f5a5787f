//! `loa metrics --all` over 5,000 published deliveries (2,500 Facebook posts, 2,500 Zalo
//! articles) against the sandbox on 127.0.0.1: how long one round takes, how many calls it
//! makes, and the highest rate-limit usage the sandbox saw — with Facebook's default budget,
//! and with a budget so small that loa must stop its round before the limit.
//!
//! Run: `cargo bench --bench metrics_all` (prints a table; nothing is asserted here: see
//! BENCHMARKS.md).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use loa::channel::Channel;
use loa::channels::Secrets;
use loa::config::Config;
use loa::engine::{Clock, Engine};
use loa::metrics::Scope;
use loa::metrics::collect::{Silent, collect};
use loa::sandbox::{self, Faults, Sandbox};
use loa::store::{PostRecord, State, Store};

const PER_CHANNEL: usize = 2_500;

/// A store in `dir` whose 5,000 deliveries are the sandbox's seeded posts, published over the
/// last 30 days.
fn seeded(dir: &std::path::Path, sb: &Sandbox) -> Store {
    let mut store = Store::open(&dir.join("loa.db")).unwrap();
    let now = Utc::now();
    store
        .in_transaction(|s| {
            for i in 0..PER_CHANNEL {
                let at = now
                    - Duration::minutes(
                        30 * 24 * 60 * (PER_CHANNEL - i) as i64 / PER_CHANNEL as i64,
                    );
                let title = format!("Tin chuyển đổi số số {i}");
                let fb = sb.facebook.lock().unwrap().seed_post(&title, at);
                let zalo = sb.zalo.lock().unwrap().seed_article(&title, at);
                let id = format!("p{i}");
                s.insert_post(
                    &PostRecord {
                        id: id.clone(),
                        path: format!("{i}.md"),
                        content_hash: format!("h{i}"),
                        content: String::new(),
                        title,
                        meta: serde_json::json!({ "tags": [] }),
                        problems: None,
                        present: true,
                        first_seen_at: at,
                    },
                    at,
                )?;
                for (channel, remote) in [(Channel::Facebook, fb), (Channel::Zalo, zalo)] {
                    let d = s.insert_delivery(&id, channel, Some(at), false)?;
                    let mut d = s.delivery(d)?.expect("just made");
                    d.state = State::Published;
                    d.remote_id = Some(remote);
                    d.published_at = Some(at);
                    s.save_delivery(&d)?;
                }
            }
            Ok(())
        })
        .unwrap();
    store
}

async fn round(budget: Option<usize>) -> String {
    let sb = Sandbox::new(Clock::system(), Faults::default());
    if let Some(b) = budget {
        sb.set_facebook_call_budget(b);
    }
    let (addr, server) = sandbox::serve(sb.clone(), 0).await.unwrap();
    let url = format!("http://{addr}");
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(dir.path(), &sb);
    let mut config = Config::parse(&format!(
        "language = \"en\"\n[facebook]\npage_id = \"{page}\"\ngraph_url = \"{url}\"\n\
         [zalo]\napp_id = \"{app}\"\nopenapi_url = \"{url}\"\noauth_url = \"{url}\"\nauthor = \"UBND\"\n\
         default_cover_url = \"https://example.gov.vn/logo.jpg\"\n",
        page = sandbox::PAGE_ID,
        app = sandbox::ZALO_APP.0,
    ))
    .unwrap();
    config.data_dir = dir.path().to_path_buf();
    let secrets = Secrets::given([
        (
            loa::facebook::spec::PAGE_TOKEN_ENV,
            sandbox::PAGE_TOKEN.to_string(),
        ),
        (
            loa::zalo::spec::APP_SECRET_ENV,
            sandbox::ZALO_APP.1.to_string(),
        ),
        (
            loa::zalo::oauth::REFRESH_TOKEN_ENV,
            sandbox::ZALO_FIRST_REFRESH_TOKEN.to_string(),
        ),
    ]);
    let channels = loa::channels::build(&config, &Clock::system(), &secrets);
    let engine = Arc::new(Engine::new(
        store,
        config,
        channels.publishers,
        Clock::system(),
    ));
    let calls_before = sb.received.lock().unwrap().len();
    let t = Instant::now();
    let summary = collect(&engine, &channels.collectors, Scope::All, &Silent)
        .await
        .unwrap();
    let elapsed = t.elapsed();
    let calls = sb.received.lock().unwrap().len() - calls_before;
    let limits = sb.limits();
    server.abort();
    format!(
        "| {} | {} of {} | {:.1} s | {calls} | {} % / {} | {} % / {} | {} |",
        budget.map_or("60,000/h (default)".to_string(), |b| format!("{b}/h")),
        summary.snapshots,
        summary.asked,
        elapsed.as_secs_f64(),
        limits.facebook_peak_percent,
        limits.facebook_refusals,
        limits.zalo_peak_percent,
        limits.zalo_refusals,
        if summary.stopped.is_empty() {
            "—".to_string()
        } else {
            summary
                .stopped
                .iter()
                .map(|(c, why)| format!("{c}: {why}"))
                .collect::<Vec<_>>()
                .join("; ")
        }
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "| Facebook budget | snapshots | time | HTTP requests | Facebook peak usage / refusals | Zalo peak usage / refusals | round stopped |"
    );
    println!("|---|---|---|---|---|---|---|");
    for budget in [None, Some(10_000)] {
        println!("{}", runtime.block_on(round(budget)));
    }
}
