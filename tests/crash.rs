//! The crash test: the real `loa run` process against a fake Graph API on 127.0.0.1, killed with
//! SIGKILL at random moments (also in the middle of requests, and with answers lost after the
//! post was made), restarted each time. In the end every post is on the Page exactly once and
//! the database is intact.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PAGE: &str = "123456789012345";
const POSTS: usize = 6;

/// The fake Page: the posts it holds, and how many times each text was created.
#[derive(Default)]
struct Page {
    posts: Vec<(String, String, String)>, // (id, message, created_time)
    creates: BTreeMap<String, usize>,
    /// Answers lost after the post was made.
    ghosts: usize,
}

struct Feed(Arc<Mutex<Page>>);

impl Respond for Feed {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form = parse_form(&req.body);
        let Some(message) = form.get("message").cloned() else {
            return ResponseTemplate::new(400).set_body_json(
                serde_json::json!({"error": {"message": "(#197) The post is empty", "code": 197}}),
            );
        };
        assert_eq!(
            form.get("access_token").map(String::as_str),
            Some("PT"),
            "the token travels as access_token"
        );
        let mut page = self.0.lock().unwrap();
        let id = format!("{PAGE}_{}", 1000 + page.posts.len());
        let created = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S+0000")
            .to_string();
        page.posts.push((id.clone(), message.clone(), created));
        *page.creates.entry(message).or_default() += 1;
        // Slow answers give the killer a window mid-request; some answers are lost after the
        // post was made (the ghost case).
        let delay = Duration::from_millis(fastrand::u64(0..400));
        if fastrand::u8(0..3) == 0 {
            page.ghosts += 1;
            ResponseTemplate::new(500)
                .set_delay(delay)
                .set_body_json(serde_json::json!({"error": {"message": "An unknown error occurred", "code": 1, "is_transient": true}}))
        } else {
            ResponseTemplate::new(200)
                .set_delay(delay)
                .set_body_json(serde_json::json!({ "id": id }))
        }
    }
}

/// An `application/x-www-form-urlencoded` body.
fn parse_form(body: &[u8]) -> BTreeMap<String, String> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

struct Listing(Arc<Mutex<Page>>);

impl Respond for Listing {
    fn respond(&self, _req: &Request) -> ResponseTemplate {
        let page = self.0.lock().unwrap();
        let data: Vec<serde_json::Value> = page
            .posts
            .iter()
            .rev()
            .map(|(id, message, created)| serde_json::json!({"id": id, "message": message, "created_time": created}))
            .collect();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({ "data": data }))
    }
}

fn write_world(dir: &Path, graph: &str) -> std::path::PathBuf {
    let posts = dir.join("posts");
    std::fs::create_dir_all(&posts).unwrap();
    for i in 0..POSTS {
        std::fs::write(
            posts.join(format!("tin-{i}.md")),
            format!("---\ntitle: \"Tin số {i}\"\npublish_at: now\nchannels: [facebook]\n---\nNội dung bài số {i}.\n"),
        )
        .unwrap();
    }
    let config = dir.join("loa.toml");
    std::fs::write(
        &config,
        format!(
            "language = \"en\"\nposts_dir = \"posts\"\ndata_dir = \"data\"\n[retry]\nbase_delay = \"1s\"\nmax_delay = \"2s\"\nmax_attempts = 50\n[facebook]\npage_id = \"{PAGE}\"\ngraph_url = \"{graph}\"\nnative_schedule = false\n"
        ),
    )
    .unwrap();
    config
}

fn start(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_loa"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("LOA_FACEBOOK_PAGE_TOKEN", "PT")
        .env("LOA_LOG", "warn")
        .env_remove("LOA_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("loa starts")
}

fn published(config: &Path) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_loa"))
        .arg("--config")
        .arg(config)
        .args(["status", "--json"])
        .env_remove("LOA_CONFIG")
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    doc["posts"]
        .as_array()
        .map(|posts| {
            posts
                .iter()
                .filter(|p| p["deliveries"][0]["state"] == "published")
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_every_post_is_published_exactly_once() {
    let server = MockServer::start().await;
    let page = Arc::new(Mutex::new(Page::default()));
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PAGE}/feed")))
        .respond_with(Feed(page.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(
            r"^/v25.0/\d+/(published_posts|scheduled_posts)$",
        ))
        .respond_with(Listing(page.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/debug_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": {"type": "PAGE", "is_valid": true, "expires_at": 0, "scopes": ["pages_manage_posts", "pages_read_engagement"], "profile_id": PAGE}})))
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let config = write_world(dir.path(), &server.uri());
    fastrand::seed(7);

    for round in 0..12 {
        let mut child = start(&config);
        // Early rounds die fast (during start-up and the first requests), later ones live longer.
        let life = Duration::from_millis(fastrand::u64(30..250) + round * 60);
        tokio::time::sleep(life).await;
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
    }

    // Last run: let it finish the job, then stop it the proper way.
    let mut child = start(&config);
    let began = Instant::now();
    while published(&config) < POSTS && began.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    sigterm(&child);
    let stopped = Instant::now();
    child.wait().unwrap();
    assert!(
        stopped.elapsed() < Duration::from_secs(10),
        "stops within 10 s of SIGTERM"
    );

    let page = page.lock().unwrap();
    assert_eq!(
        page.creates.len(),
        POSTS,
        "every post reached the Page: {:?}",
        page.creates
    );
    for (message, n) in &page.creates {
        assert_eq!(*n, 1, "created {n} times: {message}");
    }
    assert_eq!(published(&config), POSTS);
    let db = rusqlite::Connection::open(dir.path().join("data/loa.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // The run really went through the hard paths: lost answers and killed requests were
    // reconciled against the Page (not just retried).
    let reconciles: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM attempts WHERE kind = 'reconcile'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let interrupted: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM attempts WHERE outcome = 'interrupted'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    eprintln!(
        "reconciliations: {reconciles}, requests cut by a kill: {interrupted}, lost answers: {}",
        page.ghosts
    );
    assert!(
        reconciles > 0,
        "no reconciliation happened: the test did not exercise a lost answer or a kill mid-request"
    );
}

/// SIGTERM, what systemd sends, via the `kill` command (no libc binding needed).
fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}
