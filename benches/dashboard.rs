//! The dashboard's pages over a store of 10,000 posts (20,000 deliveries: half published
//! over the past year with their attempts, half scheduled over the coming year, some failed),
//! answered by the router in process (no network, so the figure is the page's own cost: the
//! store's reads and the template).
//!
//! Run: `cargo bench --bench dashboard`. Prints the best of five answers per page; nothing is
//! asserted here: see BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration as Days, Utc};
use loa::engine::{Clock, Engine};
use loa::web::{Dashboard, router};
use tower::ServiceExt;

const POSTS: usize = 10_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    loa::i18n::set_language(loa::i18n::Language::Vi);
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("posts");
    std::fs::create_dir_all(&posts).unwrap();
    let now = Utc::now();
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    for i in 0..POSTS {
        // Half in the past year (published), half in the next (scheduled), an hour apart.
        let offset = i as i64 - (POSTS as i64 / 2);
        let at = (now + Days::minutes(offset * 53)).with_timezone(&tz);
        std::fs::write(
            posts.join(format!("{i:05}-bai.md")),
            format!(
                "---\ntitle: \"Bài số {i}: thông báo của UBND xã về chuyển đổi số\"\npublish_at: {}\nchannels: [facebook, zalo]\n---\nBà con chú ý: nội dung bài viết số {i}.\n",
                at.format("%d/%m/%Y %H:%M")
            ),
        )
        .unwrap();
    }
    let mut config = loa::config::Config::parse(
        "language = \"vi\"\n[schedule]\nmax_lateness = \"1000d\"\n[facebook]\npage_id = \"1\"\n[zalo]\napp_id = \"1\"\nauthor = \"UBND\"\ndefault_cover_url = \"https://example.gov.vn/a.jpg\"\n[web]\n",
    )
    .unwrap();
    config.posts_dir = posts.clone();
    config.data_dir = dir.path().join("data");
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let engine = Arc::new(Engine::new(
        loa::engine::open_store(&config.data_dir).unwrap(),
        config,
        Vec::new(),
        Clock::system(),
    ));
    let began = Instant::now();
    let report = engine.sync().await.unwrap();
    assert_eq!(report.added.len(), POSTS, "every post read");
    // The past half published, every 50th of them failed instead.
    engine
        .with_store(move |s| {
            s.amend_all(|d| {
                let Some(due) = d.due_at else { return false };
                if due >= now {
                    return false;
                }
                if d.id % 50 == 0 {
                    d.state = loa::store::State::Failed;
                    d.last_error = Some("(#100) Invalid parameter".into());
                } else {
                    d.state = loa::store::State::Published;
                    d.published_at = Some(due);
                    d.remote_id = Some(format!("1_{}", d.id));
                }
                true
            })?;
            Ok(())
        })
        .await
        .unwrap();
    let problems = engine
        .with_store(|s| {
            Ok(s.all_posts()?
                .iter()
                .filter(|p| p.problems.is_some())
                .count())
        })
        .await
        .unwrap();
    assert_eq!(problems, 0, "every post valid");
    eprintln!("store of {POSTS} posts ready in {:.1?}", began.elapsed());

    let d = Dashboard::new(engine.clone(), "127.0.0.1:8640".parse().unwrap(), None).unwrap();
    let app = router(Arc::new(d));
    let some_post = engine
        .with_store(|s| Ok(s.all_posts()?[POSTS / 3].id.clone()))
        .await
        .unwrap();
    let pages = [
        "/".to_string(),
        "/posts".to_string(),
        "/posts?page=150".to_string(),
        "/posts?state=failed".to_string(),
        format!("/posts/{some_post}"),
        "/engagement".to_string(),
        "/attention".to_string(),
    ];
    println!("| page | best of 5 | size |");
    println!("|---|---|---|");
    for page in &pages {
        let mut best = Duration::MAX;
        let mut size = 0;
        for _ in 0..5 {
            let request = Request::get(page.as_str())
                .header(header::HOST, "127.0.0.1:8640")
                .body(Body::empty())
                .unwrap();
            let began = Instant::now();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{page}");
            let body = axum::body::to_bytes(response.into_body(), 64 << 20)
                .await
                .unwrap();
            best = best.min(began.elapsed());
            size = body.len();
        }
        println!(
            "| `{page}` | {:.1} ms | {} KB |",
            best.as_secs_f64() * 1000.0,
            size / 1024
        );
    }
}
