//! Zalo under stress: the real `loa run` process against a strict fake Zalo API on 127.0.0.1
//! whose access tokens die every few calls and whose refresh tokens work once. `loa run` is
//! killed with SIGKILL several times. In the end fifty posts are on the OA exactly once, and no
//! refresh token was ever sent twice.
//!
//! One moment is spared from the kills: between Zalo answering a refresh and loa saving the new
//! pair. A process killed there loses the pair whatever it does (Zalo's refresh tokens work
//! once), so the killer waits while a refresh is in flight.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const POSTS: usize = 50;
/// Calls an access token survives.
const TOKEN_CALLS: u32 = 7;

#[derive(Default)]
struct Oa {
    access_token: String,
    calls_left: u32,
    refresh_token: String,
    refresh_tokens_seen: Vec<String>,
    refreshing_since: Option<Instant>,
    /// (id, title, created ms)
    articles: Vec<(String, String, i64)>,
    /// processing token → (article id, verifies still answered -214)
    pending: BTreeMap<String, (String, u32)>,
    creates: BTreeMap<String, usize>,
    violations: Vec<String>,
    next: u64,
}

impl Oa {
    fn next(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

fn envelope(data: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(serde_json::json!({"error": 0, "message": "Success", "data": data}))
}

fn zalo_error(code: i64, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({"error": code, "message": message}))
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

struct OAuth(Arc<Mutex<Oa>>);

impl Respond for OAuth {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut oa = self.0.lock().unwrap();
        if req.headers.get("secret_key").and_then(|v| v.to_str().ok()) != Some("s3cret") {
            oa.violations
                .push("refresh without the secret_key header".into());
        }
        let f = form(&req.body);
        let rt = f.get("refresh_token").cloned().unwrap_or_default();
        if f.get("grant_type").map(String::as_str) != Some("refresh_token")
            || f.get("app_id").map(String::as_str) != Some("1234567890")
        {
            oa.violations.push(format!("bad refresh form {f:?}"));
        }
        if oa.refresh_tokens_seen.contains(&rt) {
            oa.violations.push(format!("refresh token {rt} sent twice"));
        }
        oa.refresh_tokens_seen.push(rt.clone());
        if rt != oa.refresh_token {
            return ResponseTemplate::new(200).set_body_json(serde_json::json!({"error": -14014, "error_name": "invalid_grant", "error_description": "Invalid refresh token"}));
        }
        let n = oa.next();
        oa.access_token = format!("AT{n}");
        oa.refresh_token = format!("RT{n}");
        oa.calls_left = TOKEN_CALLS;
        oa.refreshing_since = Some(Instant::now());
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"access_token": oa.access_token, "refresh_token": oa.refresh_token, "expires_in": "90000"}))
    }
}

/// Every API call: the token must be the live one and not used up.
fn authorize(oa: &mut Oa, req: &Request) -> Option<ResponseTemplate> {
    // The first API call after a refresh proves the new pair was saved.
    oa.refreshing_since = None;
    let token = req
        .headers
        .get("access_token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if req.url.query().is_some_and(|q| q.contains("access_token")) {
        oa.violations.push("access_token in the query".into());
    }
    if token != oa.access_token || oa.calls_left == 0 {
        return Some(zalo_error(-216, "Access token is invalid"));
    }
    oa.calls_left -= 1;
    None
}

struct Api(Arc<Mutex<Oa>>);

impl Respond for Api {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut oa = self.0.lock().unwrap();
        if let Some(refused) = authorize(&mut oa, req) {
            return refused;
        }
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        match req.url.path() {
            "/v2.0/article/create" => {
                let title = body["title"].as_str().unwrap_or_default().to_string();
                let ok = body["type"] == "normal"
                    && body["status"] == "show"
                    && body["cover"]["cover_type"] == "photo"
                    && body["cover"]["status"] == "show"
                    && body["cover"]["photo_url"]
                        .as_str()
                        .is_some_and(|u| u.starts_with("https://"))
                    && !title.is_empty()
                    && title.chars().count() <= 150
                    && body["body"].as_array().is_some_and(|b| !b.is_empty());
                if !ok {
                    oa.violations.push(format!("bad article {body}"));
                    return zalo_error(-201, "body is invalid!");
                }
                *oa.creates.entry(title.clone()).or_default() += 1;
                // The article exists from here on (Zalo finishes it whether or not anyone
                // verifies); verify only tells its id.
                let n = oa.next();
                let id = format!("art{n}");
                oa.articles
                    .push((id.clone(), title, chrono::Utc::now().timestamp_millis()));
                let token = format!("tk_{n}");
                // Every third article keeps Zalo busy for one verify.
                oa.pending
                    .insert(token.clone(), (id, u32::from(n.is_multiple_of(3))));
                envelope(serde_json::json!({ "token": token }))
            }
            "/v2.0/article/verify" => {
                let token = body["token"].as_str().unwrap_or_default().to_string();
                let Some((id, busy)) = oa.pending.get(&token).cloned() else {
                    return zalo_error(-201, "token is invalid!");
                };
                if busy > 0 {
                    oa.pending.insert(token, (id, busy - 1));
                    return zalo_error(-214, "Article is being processed");
                }
                envelope(serde_json::json!({ "id": id }))
            }
            "/v2.0/article/getslice" => {
                let q: BTreeMap<String, String> = req.url.query_pairs().into_owned().collect();
                let offset: usize = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
                let medias: Vec<serde_json::Value> = oa
                    .articles
                    .iter()
                    .rev()
                    .skip(offset)
                    .take(10)
                    .map(|(id, title, created)| serde_json::json!({"id": id, "type": "normal", "title": title, "status": "show", "total_view": 0, "total_share": 0, "create_date": created}))
                    .collect();
                envelope(serde_json::json!({ "total": oa.articles.len(), "medias": medias }))
            }
            other => {
                oa.violations.push(format!("unexpected call {other}"));
                zalo_error(-209, "Not supported this api")
            }
        }
    }
}

fn write_world(dir: &Path, api: &str) -> std::path::PathBuf {
    let posts = dir.join("posts");
    std::fs::create_dir_all(&posts).unwrap();
    for i in 0..POSTS {
        std::fs::write(
            posts.join(format!("tin-{i:02}.md")),
            format!("---\ntitle: \"Tin số {i}: lịch tiếp dân và dịch vụ công\"\npublish_at: now\nchannels: [zalo]\n---\nNội dung bài số {i}.\n"),
        )
        .unwrap();
    }
    let config = dir.join("loa.toml");
    std::fs::write(
        &config,
        format!(
            "language = \"en\"\nposts_dir = \"posts\"\ndata_dir = \"data\"\n[retry]\nbase_delay = \"1s\"\nmax_delay = \"2s\"\nmax_attempts = 50\n\
             [zalo]\napp_id = \"1234567890\"\nopenapi_url = \"{api}\"\noauth_url = \"{api}\"\nauthor = \"UBND xã Thanh Kỳ\"\n\
             default_cover_url = \"https://example.gov.vn/logo.jpg\"\nlisting_delay = \"2s\"\n"
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
        .env("LOA_ZALO_APP_SECRET", "s3cret")
        .env("LOA_ZALO_REFRESH_TOKEN", "RT0")
        .env("LOA_LOG", "warn")
        .env_remove("LOA_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("loa starts")
}

fn published(db: &Path) -> usize {
    let Ok(conn) = rusqlite::Connection::open(db) else {
        return 0;
    };
    conn.query_row(
        "SELECT COUNT(*) FROM deliveries WHERE state = 'published'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as usize)
    .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_posts_exactly_once_across_kills_with_single_use_refresh_tokens() {
    let server = MockServer::start().await;
    let oa = Arc::new(Mutex::new(Oa {
        refresh_token: "RT0".into(),
        ..Oa::default()
    }));
    Mock::given(method("POST"))
        .and(path("/v4/oa/access_token"))
        .respond_with(OAuth(oa.clone()))
        .mount(&server)
        .await;
    Mock::given(path("/v2.0/article/create"))
        .respond_with(Api(oa.clone()))
        .mount(&server)
        .await;
    Mock::given(path("/v2.0/article/verify"))
        .respond_with(Api(oa.clone()))
        .mount(&server)
        .await;
    Mock::given(path("/v2.0/article/getslice"))
        .respond_with(Api(oa.clone()))
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let config = write_world(dir.path(), &server.uri());
    let db = dir.path().join("data/loa.db");

    for round in 0..6u64 {
        let mut child = start(&config);
        tokio::time::sleep(Duration::from_millis(fastrand::u64(200..900) + round * 150)).await;
        // Spare the moment between a refresh answer and its save (see the module comment).
        loop {
            let busy = oa
                .lock()
                .unwrap()
                .refreshing_since
                .is_some_and(|t| t.elapsed() < Duration::from_millis(500));
            if !busy {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
    }

    let mut child = start(&config);
    let began = Instant::now();
    while published(&db) < POSTS && began.elapsed() < Duration::from_secs(150) {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let oa = oa.lock().unwrap();
    assert!(oa.violations.is_empty(), "{:#?}", oa.violations);
    assert_eq!(
        oa.articles.len(),
        POSTS,
        "{} articles on the OA",
        oa.articles.len()
    );
    let mut titles: Vec<&String> = oa.articles.iter().map(|(_, t, _)| t).collect();
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), POSTS, "an article was published twice");
    assert!(
        oa.creates.values().all(|n| *n == 1),
        "an article was created twice: {:?}",
        oa.creates
            .iter()
            .filter(|(_, n)| **n > 1)
            .collect::<Vec<_>>()
    );
    assert!(
        oa.refresh_tokens_seen.len() > 3,
        "tokens expired and were refreshed: {:?}",
        oa.refresh_tokens_seen
    );
    assert_eq!(published(&db), POSTS);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    eprintln!(
        "refreshes: {}, reconciliations: {}, requests cut by a kill: {}",
        oa.refresh_tokens_seen.len(),
        count("SELECT COUNT(*) FROM attempts WHERE kind = 'reconcile'"),
        count("SELECT COUNT(*) FROM attempts WHERE outcome = 'interrupted'")
    );
}
