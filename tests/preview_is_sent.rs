//! The preview is what is sent: for every post shape, what `loa preview --format json --at TIME`
//! prints equals, request for request and field for field, what the real client sends to a
//! platform (wiremock) when the post goes out at TIME. The token is the only thing the client
//! adds; ids that only exist once the platform answers (a photo's id, Zalo's processing token,
//! the article id) are the placeholders the preview names.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request as Received, Respond, ResponseTemplate};

use loa::config::Config;
use loa::engine::Clock;
use loa::facebook::client::FacebookChannel;
use loa::publisher::{BoxFuture, Job, Outcome, ProgressSink, Publisher};
use loa::token_store::{TokenStore, ZaloTokens};
use loa::zalo::client::ZaloChannel;
use loa::zalo::oauth::ZaloAuth;

const PAGE: &str = "123456789012345";
const TOKEN: &str = "EAAtest-page-token";
const DEFAULT_COVER: &str = "https://example.gov.vn/loa-media/default-cover.jpg";

/// A JPEG that passes loa's magic-byte check.
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];

/// One request reduced to what the preview shows: method, path and body (form fields, multipart
/// parts, or JSON), without the token.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    method: String,
    path: String,
    body: Value,
}

struct World {
    dir: tempfile::TempDir,
    server: MockServer,
    config_file: PathBuf,
    config: Config,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let server = MockServer::start().await;
        let posts = dir.path().join("posts");
        std::fs::create_dir_all(posts.join("images")).unwrap();
        for name in ["a.jpg", "b.jpg", "bìa.jpg"] {
            std::fs::write(posts.join("images").join(name), JPEG).unwrap();
        }
        let text = format!(
            r#"timezone = "Asia/Ho_Chi_Minh"
language = "en"
posts_dir = "posts"
data_dir = "data"
[facebook]
page_id = "{PAGE}"
graph_url = "{uri}"
native_schedule = true
[zalo]
app_id = "1234567890"
openapi_url = "{uri}"
oauth_url = "{uri}"
author = "UBND xã Thanh Kỳ"
default_cover_url = "{DEFAULT_COVER}"
[media]
public_base_url = "https://example.gov.vn/loa-media/"
"#,
            uri = server.uri()
        );
        let config_file = dir.path().join("loa.toml");
        std::fs::write(&config_file, &text).unwrap();
        let config = Config::from_file(&config_file).unwrap();
        World {
            dir,
            server,
            config_file,
            config,
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let file = self.dir.path().join("posts").join(name);
        std::fs::write(&file, text).unwrap();
        file
    }

    /// What `loa preview --format json --at AT` prints for `file`.
    fn preview(&self, file: &Path, at: DateTime<Utc>) -> Value {
        let at = at
            .with_timezone(&self.config.timezone)
            .format("%d/%m/%Y %H:%M")
            .to_string();
        let out = assert_cmd::Command::cargo_bin("loa")
            .unwrap()
            .current_dir(self.dir.path())
            .env_remove("LOA_CONFIG")
            .arg("--config")
            .arg(&self.config_file)
            .args(["preview", "--format", "json", "--at", &at])
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn job(&self, file: &Path, due_at: DateTime<Utc>) -> Job {
        let loaded = loa::post::load(file, &self.config);
        Job {
            delivery_id: 1,
            post: loaded
                .post
                .unwrap_or_else(|| panic!("{:?}", loaded.problems)),
            due_at,
            progress: None,
            scheduled_on_platform: false,
            progress_sink: Arc::new(NoProgress),
        }
    }

    async fn received(&self) -> Vec<Seen> {
        self.server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(seen)
            .collect()
    }
}

struct NoProgress;

impl ProgressSink for NoProgress {
    fn save<'a>(&'a self, _progress: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// Facebook's answers: photo uploads get `ph1`, `ph2`, …; a feed post gets a post id.
struct Graph {
    photos: AtomicUsize,
}

impl Respond for Graph {
    fn respond(&self, request: &Received) -> ResponseTemplate {
        if request.url.path().ends_with("/photos") {
            let n = self.photos.fetch_add(1, Ordering::SeqCst) + 1;
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": format!("ph{n}"), "post_id": format!("{PAGE}_9{n}") }))
        } else {
            ResponseTemplate::new(200).set_body_json(json!({ "id": format!("{PAGE}_1") }))
        }
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// A received request as the preview would show it.
fn seen(r: &Received) -> Seen {
    let content_type = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = String::from_utf8_lossy(&r.body).into_owned();
    let body = if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut form = serde_json::Map::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            form.insert(decode(k), json!(decode(v)));
        }
        Value::Object(form)
    } else if let Some(boundary) = content_type.split("boundary=").nth(1) {
        Value::Object(multipart(&r.body, boundary))
    } else {
        serde_json::from_slice(&r.body).unwrap_or(Value::Null)
    };
    let mut body = body;
    if let Value::Object(map) = &mut body {
        map.remove("access_token");
    }
    Seen {
        method: r.method.to_string(),
        path: r.url.path().to_string(),
        body,
    }
}

/// The parts of a multipart body: text parts as text, file parts as the preview shows them
/// (`content_type`, `bytes`).
fn multipart(body: &[u8], boundary: &str) -> serde_json::Map<String, Value> {
    let text = String::from_utf8_lossy(body);
    let mut out = serde_json::Map::new();
    for part in text.split(&format!("--{boundary}")) {
        let Some((head, content)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let content = content.strip_suffix("\r\n").unwrap_or(content);
        let name = head
            .split("name=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_default()
            .to_string();
        let file_type = head.lines().find_map(|l| {
            l.strip_prefix("Content-Type: ")
                .or_else(|| l.strip_prefix("content-type: "))
        });
        let value = match file_type {
            Some(ct) if head.contains("filename=") => {
                // The bytes sent are the file's: the JPEG above.
                json!({ "content_type": ct.trim(), "bytes": JPEG.len() })
            }
            _ => json!(content),
        };
        out.insert(name, value);
    }
    out
}

/// The preview's requests for `channel` as [`Seen`], with the platform's ids put in place of
/// their placeholders.
fn previewed(doc: &Value, channel: &str, key: &str, ids: &[(&str, &str)]) -> Vec<Seen> {
    doc["channels"][channel][key]
        .as_array()
        .unwrap_or_else(|| panic!("no {channel}.{key} in {doc}"))
        .iter()
        .map(|r| {
            let mut text = r.to_string();
            for (placeholder, id) in ids {
                text = text.replace(placeholder, id);
            }
            let r: Value = serde_json::from_str(&text).unwrap();
            let body = r
                .get("form")
                .or_else(|| r.get("multipart"))
                .or_else(|| r.get("json"))
                .cloned()
                .unwrap_or(Value::Null);
            // A file part shows its path for the officer; the wire carries its bytes.
            let body = match body {
                Value::Object(map) if r.get("multipart").is_some() => Value::Object(
                    map.into_iter()
                        .map(|(k, v)| match v {
                            Value::Object(mut file) => {
                                file.remove("file");
                                (k, Value::Object(file))
                            }
                            other => (k, other),
                        })
                        .collect(),
                ),
                other => other,
            };
            Seen {
                method: r["method"].as_str().unwrap().to_string(),
                path: r["path"].as_str().unwrap().to_string(),
                body,
            }
        })
        .collect()
}

async fn facebook_case(front: &str, body: &str, lead: Duration, native: bool) {
    let w = World::new().await;
    Mock::given(method("POST"))
        .respond_with(Graph {
            photos: AtomicUsize::new(0),
        })
        .mount(&w.server)
        .await;
    let file = w.write(
        "bai.md",
        &format!("---\n{front}\nchannels: [facebook]\n---\n{body}\n"),
    );
    let due = on_the_minute(Utc::now() + lead);
    let doc = w.preview(&file, due);
    assert_eq!(
        doc["channels"]["facebook"]["native_scheduling"],
        json!(native),
        "{doc}"
    );
    let fb = FacebookChannel::new(
        &w.server.uri(),
        &w.config.facebook.api_version,
        PAGE,
        SecretString::from(TOKEN),
        true,
        Clock::system(),
    );
    let outcome = fb.publish(&w.job(&file, due)).await;
    assert!(
        matches!(
            outcome,
            Outcome::Published { .. } | Outcome::ScheduledOnPlatform { .. }
        ),
        "{outcome:?}"
    );
    let ids = [("{photo_1_id}", "ph1"), ("{photo_2_id}", "ph2")];
    assert_eq!(
        w.received().await,
        previewed(&doc, "facebook", "requests", &ids)
    );
}

/// `t` without its seconds: `--at` takes minutes, as `publish_at` does.
fn on_the_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp() / 60 * 60, 0).unwrap()
}

/// Published at once: 5 minutes ahead is too close for Facebook's scheduler.
const SOON: Duration = Duration::minutes(5);
/// Handed to Facebook's scheduler: 2 days ahead.
const LATER: Duration = Duration::days(2);

#[tokio::test]
async fn a_text_post_is_sent_as_previewed() {
    facebook_case(
        "title: \"Thông báo\"",
        "Họp dân **tối nay** lúc 19:30.",
        SOON,
        false,
    )
    .await;
}

#[tokio::test]
async fn a_link_post_is_sent_as_previewed() {
    facebook_case(
        "title: \"Dịch vụ công\"\nfacebook: { link: \"https://dichvucong.gov.vn/\" }",
        "Nộp hồ sơ trực tuyến.",
        SOON,
        false,
    )
    .await;
}

#[tokio::test]
async fn a_one_photo_post_is_sent_as_previewed() {
    facebook_case(
        "title: \"Nhà văn hóa\"",
        "Khánh thành nhà văn hóa.\n\n![Nhà văn hóa](images/a.jpg)",
        SOON,
        false,
    )
    .await;
}

#[tokio::test]
async fn a_several_photo_post_is_sent_as_previewed() {
    facebook_case(
        "title: \"Ngày hội\"",
        "Ngày hội chuyển đổi số.\n\n![Một](images/a.jpg)\n\n![Hai](images/b.jpg)",
        SOON,
        false,
    )
    .await;
}

#[tokio::test]
async fn a_natively_scheduled_text_post_is_sent_as_previewed() {
    facebook_case("title: \"Lịch họp\"", "Họp dân thứ Năm.", LATER, true).await;
}

#[tokio::test]
async fn a_natively_scheduled_photo_post_is_sent_as_previewed() {
    // One photo held for later: uploaded unpublished, then attached to a scheduled feed post.
    facebook_case(
        "title: \"Lịch tiêm\"",
        "Lịch tiêm chủng.\n\n![Lịch](images/a.jpg)",
        LATER,
        true,
    )
    .await;
}

#[tokio::test]
async fn a_natively_scheduled_several_photo_post_is_sent_as_previewed() {
    facebook_case(
        "title: \"Ảnh hội nghị\"",
        "Hội nghị.\n\n![Một](images/a.jpg)\n\n![Hai](images/b.jpg)",
        LATER,
        true,
    )
    .await;
}

/// A Zalo channel against the world's wiremock, with a live access token in its token store.
fn zalo(w: &World) -> ZaloChannel {
    let store = TokenStore::new(&w.config.data_dir);
    let now = Utc::now();
    store
        .update(|t| {
            t.zalo = Some(ZaloTokens {
                access_token: Some("zalo-access".into()),
                access_expires_at: Some(now + Duration::hours(20)),
                refresh_token: Some("zalo-refresh".into()),
                refresh_issued_at: Some(now - Duration::hours(5)),
                ..ZaloTokens::default()
            });
            Ok(())
        })
        .unwrap();
    let auth = ZaloAuth::new(
        reqwest::Client::builder().no_proxy().build().unwrap(),
        &w.server.uri(),
        "1234567890",
        SecretString::from("app-secret"),
        store,
        Clock::system(),
    );
    ZaloChannel::new(Arc::new(w.config.clone()), Arc::new(auth), Clock::system())
}

fn zalo_ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"error": 0, "message": "Success", "data": data}))
}

async fn zalo_case(front: &str, cover_refused: bool) {
    let w = World::new().await;
    Mock::given(method("POST"))
        .and(path("/v2.0/article/create"))
        .respond_with(zalo_ok(json!({ "token": "tk1" })))
        .mount(&w.server)
        .await;
    if cover_refused {
        Mock::given(method("POST"))
            .and(path("/v2.0/article/verify"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"error": -200, "message": "Upload media failed"})),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&w.server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/v2.0/article/verify"))
        .respond_with(zalo_ok(json!({ "id": "art1" })))
        .with_priority(2)
        .mount(&w.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2.0/oa/message"))
        .respond_with(zalo_ok(json!({ "message_id": "msg1" })))
        .mount(&w.server)
        .await;
    let file = w.write(
        "bai.md",
        &format!(
            "---\n{front}\nchannels: [zalo]\nzalo: {{ broadcast: true }}\n---\nNội dung **chính**.\n\n![Ảnh](images/a.jpg)\n"
        ),
    );
    let due = on_the_minute(Utc::now() + SOON);
    let doc = w.preview(&file, due);
    let channel = zalo(&w);
    let job = w.job(&file, due);
    let outcome = channel.publish(&job).await;
    let Outcome::Published { remote_id } = outcome else {
        panic!("{outcome:?}")
    };
    // The broadcast is its own step, after publishing.
    assert!(matches!(
        channel.broadcast(&job, &remote_id).await,
        Outcome::Published { .. }
    ));
    let ids = [
        ("{token from create}", "tk1"),
        ("{article id from verify}", "art1"),
    ];
    let mut expected = previewed(&doc, "zalo", "requests", &ids);
    if cover_refused {
        // create, verify (cover refused), then what the preview shows for that case.
        let broadcast = expected.pop().unwrap();
        expected.extend(previewed(&doc, "zalo", "if_cover_refused", &ids));
        expected.push(broadcast);
    }
    assert_eq!(w.received().await, expected);
}

#[tokio::test]
async fn a_zalo_article_with_its_own_cover_is_sent_as_previewed() {
    zalo_case("title: \"Tin xã\"\ncover: images/bìa.jpg", false).await;
}

#[tokio::test]
async fn a_zalo_article_without_a_cover_gets_the_default_as_previewed() {
    zalo_case("title: \"Tin xã\"", false).await;
}

#[tokio::test]
async fn a_zalo_article_whose_cover_is_refused_falls_back_as_previewed() {
    zalo_case("title: \"Tin xã\"\ncover: images/bìa.jpg", true).await;
}
