//! The service as it runs: the real folder watcher, the real clock, a fake channel.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fake::FakeChannel;
use loa::channel::Channel;
use loa::config::Config;
use loa::publisher::Publisher;

fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::parse("language = \"en\"\n[facebook]\npage_id = \"1\"\n").unwrap();
    config.posts_dir = dir.join("posts");
    config.data_dir = dir.join("data");
    std::fs::create_dir_all(&config.posts_dir).unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_dropped_in_the_folder_is_published_within_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let posts = config.posts_dir.clone();
    let fb = FakeChannel::new(Channel::Facebook);
    let publishers: Vec<Arc<dyn Publisher>> = vec![Arc::new(fb.clone())];
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (engine_tx, engine_rx) = std::sync::mpsc::channel();
    let service = tokio::spawn(loa::service::serve(
        config,
        publishers,
        &[],
        false,
        async {
            let _ = stopped.await;
        },
        move |engine| {
            let _ = engine_tx.send(engine);
        },
    ));
    // Let the watcher start, then drop a post the way an editor saves: a temp file, then a rename.
    tokio::time::sleep(Duration::from_millis(500)).await;
    std::fs::write(
        posts.join(".tin-moi.md.tmp"),
        "---\ntitle: \"Tin mới\"\npublish_at: now\n---\nNội dung.\n",
    )
    .unwrap();
    std::fs::rename(posts.join(".tin-moi.md.tmp"), posts.join("tin-moi.md")).unwrap();
    let dropped = Instant::now();
    while fb.titles().is_empty() && dropped.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = dropped.elapsed();
    assert_eq!(fb.titles(), ["Tin mới"]);
    assert!(took < Duration::from_secs(2), "took {took:?}");

    // A second service on the same data folder is refused while the first runs.
    let second = loa::service::serve(
        self::config(dir.path()),
        Vec::new(),
        &[],
        true,
        async {},
        |_| {},
    )
    .await;
    assert!(matches!(
        second,
        Err(loa::service::ServiceError::AlreadyRunning(_))
    ));

    // Idle now: loa's own reads of the folder must not start another read, and so on forever.
    let engine = engine_rx.recv().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = engine.syncs();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        engine.syncs(),
        settled,
        "an idle service read the posts folder again"
    );

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), service)
        .await
        .expect("stops within 10 s")
        .unwrap()
        .unwrap();
    assert_eq!(fb.titles(), ["Tin mới"], "published once");
}

/// A file event reads the files it names, not the whole folder: with 300 posts present, a new
/// post is parsed on its own (issue 12: every change used to re-read every file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_event_parses_only_the_files_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let posts = config.posts_dir.clone();
    std::fs::create_dir_all(&posts).unwrap();
    for i in 0..300 {
        std::fs::write(
            posts.join(format!("bai-{i:03}.md")),
            format!("---\ntitle: \"Bài {i}\"\npublish_at: 2030-01-01 07:00\n---\nNội dung {i}.\n"),
        )
        .unwrap();
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (engine_tx, engine_rx) = std::sync::mpsc::channel();
    let service = tokio::spawn(loa::service::serve(
        config,
        Vec::new(),
        &[],
        false,
        async {
            let _ = stopped.await;
        },
        move |engine| {
            let _ = engine_tx.send(engine);
        },
    ));
    let engine = engine_rx.recv().unwrap();
    // The start-up reading parses every file once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let at_start = engine.posts_parsed();
    assert!(at_start >= 300, "the start parses the folder ({at_start})");
    std::fs::write(
        posts.join("tin-moi.md"),
        "---\ntitle: \"Tin mới\"\npublish_at: 2030-01-02 07:00\n---\nNội dung.\n",
    )
    .unwrap();
    let began = Instant::now();
    let known = || async {
        engine
            .with_store(|s| Ok(s.post_paths()?.len()))
            .await
            .unwrap()
    };
    while known().await < 301 && began.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(known().await, 301, "the new post is in the store");
    let parsed = engine.posts_parsed() - at_start;
    assert!(parsed <= 2, "one new file parsed {parsed} files");
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), service)
        .await
        .expect("stops within 10 s")
        .unwrap()
        .unwrap();
}
