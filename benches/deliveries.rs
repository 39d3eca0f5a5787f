//! 1,000 deliveries (500 posts × Facebook and Zalo, `publish_at: now`) through loa's engine
//! against a zero-latency sandbox on 127.0.0.1, compared with a bare reqwest loop sending the
//! same requests (the bodies loa's renderers make, the Zalo create → verify dance, one token
//! refresh) to a fresh sandbox: what loa's queue, durable attempts and bookkeeping cost on top
//! of the HTTP itself.
//!
//! Both run on the same compressed clock (two seconds stand for a day), so the waits Zalo's
//! asynchronous article API asks for (verify again in 2 s) take microseconds in both.
//!
//! Run: `cargo bench --bench deliveries` (`LOA_BENCH_POSTS=50` for a quick run). Prints a
//! table; nothing is asserted here: see BENCHMARKS.md.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use loa::channels::Secrets;
use loa::config::Config;
use loa::engine::{Clock, Engine};
use loa::render::request::Body;
use loa::sandbox::{self, Faults, Sandbox};
use loa::store::State;

/// The demo's speed: two real seconds stand for a day.
const SPEED: f64 = 43_200.0;

fn posts() -> usize {
    std::env::var("LOA_BENCH_POSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

fn config(url: &str, dir: &Path) -> Config {
    let text = format!(
        "timezone = \"Asia/Ho_Chi_Minh\"\nlanguage = \"en\"\n\
         [facebook]\npage_id = \"{page}\"\ngraph_url = \"{url}\"\n\
         [zalo]\napp_id = \"{app}\"\nopenapi_url = \"{url}\"\noauth_url = \"{url}\"\n\
         default_cover_url = \"https://example.gov.vn/logo.jpg\"\nbroadcast = false\n",
        page = sandbox::PAGE_ID,
        app = sandbox::ZALO_APP.0,
    );
    let mut config = Config::parse(&text).expect("bench config");
    config.posts_dir = dir.join("posts");
    config.data_dir = dir.join("data");
    config
}

fn write_posts(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        std::fs::write(
            dir.join(format!("{i:04}.md")),
            format!(
                "---\ntitle: \"Tin chuyển đổi số số {i}\"\npublish_at: now\n\
                 zalo: {{ description: \"Bà con xã Thanh Kỳ lưu ý thông báo số {i}.\" }}\n---\n\
                 Ban Văn hóa xã thông báo: **điểm Wi-Fi miễn phí** tại nhà văn hóa thôn {i} mở cửa \
                 từ 7 giờ đến 21 giờ.\n\n- Mang theo căn cước.\n- Hỏi cán bộ nếu cần hỗ trợ.\n"
            ),
        )
        .unwrap();
    }
}

async fn sandbox_on(clock: &Clock) -> (Arc<Sandbox>, String, tokio::task::JoinHandle<()>) {
    let sb = Sandbox::new(clock.clone(), Faults::default());
    let (addr, server) = sandbox::serve(sb.clone(), 0).await.unwrap();
    let handle = tokio::spawn(async move {
        let _ = server.await;
    });
    (sb, format!("http://{addr}"), handle)
}

/// loa's engine, from reading the folder to every delivery published.
async fn through_loa(dir: &Path, n: usize) -> (Duration, usize) {
    let clock = Clock::compressed(Utc::now(), SPEED);
    let (sb, url, server) = sandbox_on(&clock).await;
    let config = config(&url, dir);
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
    let channels = loa::channels::build(&config, &clock, &secrets);
    assert!(channels.unavailable.is_empty(), "channels unavailable");
    let engine = Arc::new(Engine::new(
        loa::engine::open_store(&config.data_dir).unwrap(),
        config,
        channels.publishers,
        clock,
    ));
    // Reading the folder is measured on its own (`check` + render); the clock starts when the
    // deliveries are in the queue, as the bare loop's starts with its requests rendered.
    engine.recover().await.unwrap();
    engine.sync().await.unwrap();
    let began = Instant::now();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(engine.clone().run(async {
        let _ = stopped.await;
    }));
    loop {
        let published = engine
            .with_store(|s| {
                Ok(s.deliveries()?
                    .iter()
                    .filter(|d| d.state == State::Published)
                    .count())
            })
            .await
            .unwrap();
        if published == 2 * n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = began.elapsed();
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    let requests = sb.received.lock().unwrap().len();
    server.abort();
    (took, requests)
}

/// The same requests from a plain loop: render outside the timing, then send.
async fn bare_loop(dir: &Path, n: usize) -> (Duration, usize) {
    let clock = Clock::compressed(Utc::now(), SPEED);
    let (sb, url, server) = sandbox_on(&clock).await;
    let config = config(&url, dir);
    let mut work = Vec::new();
    for i in 0..n {
        let loaded = loa::post::load(&config.posts_dir.join(format!("{i:04}.md")), &config);
        let post = loaded.post.expect("bench posts are valid");
        let fb =
            loa::render::facebook::requests(&loa::render::facebook::render(&post), &config, None);
        let article = loa::render::zalo::render(&post, &config);
        work.push((fb, loa::render::zalo::create_body(&article)));
    }
    let http = reqwest::Client::new();
    let began = Instant::now();
    let token: serde_json::Value = http
        .post(format!("{url}/v4/oa/access_token"))
        .header("secret_key", sandbox::ZALO_APP.1)
        .form(&[
            ("refresh_token", sandbox::ZALO_FIRST_REFRESH_TOKEN),
            ("app_id", sandbox::ZALO_APP.0),
            ("grant_type", "refresh_token"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"]
        .as_str()
        .expect("an access token")
        .to_string();
    for (fb, create) in work {
        for r in fb {
            let Body::Form(mut fields) = r.body else {
                panic!("text posts are forms")
            };
            fields.push(("access_token".into(), sandbox::PAGE_TOKEN.into()));
            let answer = http
                .post(format!("{url}{}", r.path))
                .form(&fields)
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success());
        }
        let created = zalo_call(
            &http,
            &url,
            loa::render::zalo::CREATE_PATH,
            &access,
            &create,
        )
        .await;
        let processing = created["data"]["token"]
            .as_str()
            .expect("a token")
            .to_string();
        for wait in [2, 4, 8, 16] {
            let body = serde_json::json!({ "token": processing });
            let verified = zalo_call(&http, &url, "/v2.0/article/verify", &access, &body).await;
            if verified["error"] == 0 {
                break;
            }
            clock
                .sleep_until(clock.now() + chrono::Duration::seconds(wait))
                .await;
        }
    }
    let took = began.elapsed();
    let requests = sb.received.lock().unwrap().len();
    server.abort();
    (took, requests)
}

/// One Zalo OA call of the bare loop: a JSON POST with the access token, its JSON answer.
async fn zalo_call(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    access: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    http.post(format!("{url}{path}"))
        .header("access_token", access)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::main]
async fn main() {
    let n = posts();
    let root = tempfile::tempdir().unwrap();
    write_posts(&root.path().join("posts"), n);
    let mut loa_runs = Vec::new();
    let mut bare_runs = Vec::new();
    for run in 0..3 {
        let dir = root.path().join(format!("run{run}"));
        std::fs::create_dir_all(&dir).unwrap();
        // Each run reads the same posts (a symlink keeps the folder the same) with a new store.
        std::os::unix::fs::symlink(root.path().join("posts"), dir.join("posts")).unwrap();
        loa_runs.push(through_loa(&dir, n).await);
        bare_runs.push(bare_loop(&dir, n).await);
    }
    let best = |runs: &[(Duration, usize)]| runs.iter().min_by_key(|r| r.0).copied().unwrap();
    let (loa_time, loa_requests) = best(&loa_runs);
    let (bare_time, bare_requests) = best(&bare_runs);
    println!(
        "{} deliveries ({n} posts × Facebook, Zalo), best of 3",
        2 * n
    );
    println!("| run | time | requests at the sandbox |");
    println!("|---|---|---|");
    println!(
        "| loa engine | {:.2} s | {loa_requests} |",
        loa_time.as_secs_f64()
    );
    println!(
        "| bare reqwest loop | {:.2} s | {bare_requests} |",
        bare_time.as_secs_f64()
    );
    println!(
        "ratio: {:.2}×",
        loa_time.as_secs_f64() / bare_time.as_secs_f64()
    );
}
