//! `loa::zalo::client::ZaloChannel` against a fake Zalo Open API and OAuth server (wiremock on
//! 127.0.0.1; never the real network).
//!
//! Every test asserts the exact requests Zalo would have received (method, path, query, the
//! `access_token` header, which must never be in the query or the body, and the JSON or form
//! body), then the outcome the engine is given. The shapes follow `shared/api/zalo-oa.md`
//! §1–§7. Every outcome is also checked for leaked secrets.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use loa::config::Config;
use loa::engine::Clock;
use loa::post::Post;
use loa::publisher::{BoxFuture, Job, Outcome, ProgressSink, Publisher, Reconciled};
use loa::token_store::{TokenStore, ZaloTokens};
use loa::zalo::client::ZaloChannel;
use loa::zalo::oauth::ZaloAuth;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const APP_ID: &str = "1234567890";
const APP_SECRET: &str = "s3cret";
const AT1: &str = "AT1-zalo-access-token-0001";
const RT1: &str = "RT1-zalo-refresh-token-0001";
const AT2: &str = "AT2-zalo-access-token-0002";
const RT2: &str = "RT2-zalo-refresh-token-0002";

/// Nothing any outcome (message or debug form) may contain.
const SECRETS: [&str; 5] = [APP_SECRET, AT1, RT1, AT2, RT2];

const CREATE: &str = "/v2.0/article/create";
const VERIFY: &str = "/v2.0/article/verify";
const UPDATE: &str = "/v2.0/article/update";
const REMOVE: &str = "/v2.0/article/remove";
const GETSLICE: &str = "/v2.0/article/getslice";
const GETOA: &str = "/v2.0/oa/getoa";
const MESSAGE: &str = "/v2.0/oa/message";
const TOKEN: &str = "/v4/oa/access_token";

const ARTICLE_ID: &str = "8f1c2a0e5b";
const TITLE: &str = "Chuyển đổi số là gì?";
const DEFAULT_COVER: &str = "https://example.gov.vn/logo.jpg";
const CUSTOM_COVER: &str = "https://example.gov.vn/loa-media/images/b%C3%ACa%20th%C3%A1ng%2012.jpg";
const BODY_IMAGE: &str = "https://example.gov.vn/loa-media/images/nha-van-hoa.jpg";

/// A post with its own cover (a local file whose name needs percent-encoding) and a body image.
const POST: &str = "---\n\
title: \"Chuyển đổi số là gì?\"\n\
channels: [zalo]\n\
cover: \"images/bìa tháng 12.jpg\"\n\
---\n\
Mời bà con đến nhà văn hoá lúc 8 giờ: điện & nước = 100%.\n\
\n\
![Nhà văn hóa thôn](images/nha-van-hoa.jpg)\n\
\n\
Cảm ơn bà con.\n";

/// A post without any picture: its cover is `zalo.default_cover_url`.
const PLAIN_POST: &str = "---\n\
title: \"Họp dân tháng 12\"\n\
channels: [zalo]\n\
---\n\
Mời bà con đến nhà văn hoá lúc 8 giờ.\n";

/// A tiny JPEG: SOI, a JFIF APP0 segment, EOI.
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The "now" of every test (10:00 in Asia/Ho_Chi_Minh), well away from the real date so that a
/// time taken from the system clock instead of the channel's clock shows.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap()
}

fn config_text(uri: &str) -> String {
    format!(
        r#"
timezone = "Asia/Ho_Chi_Minh"
language = "en"
[zalo]
app_id = "{APP_ID}"
openapi_url = "{uri}"
oauth_url = "{uri}"
author = "UBND xã Thanh Kỳ"
default_cover_url = "{DEFAULT_COVER}"
[media]
public_base_url = "https://example.gov.vn/loa-media/"
"#
    )
}

/// Records every token the channel saves, and which paths Zalo had been sent at that moment.
struct Progress {
    server: Arc<MockServer>,
    saved: Mutex<Vec<String>>,
    paths_at_save: Mutex<Vec<Vec<String>>>,
}

impl Progress {
    fn saved(&self) -> Vec<String> {
        self.saved.lock().unwrap().clone()
    }
}

impl ProgressSink for Progress {
    fn save<'a>(&'a self, progress: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let paths: Vec<String> = self
                .server
                .received_requests()
                .await
                .unwrap_or_default()
                .iter()
                .map(|r| r.url.path().to_string())
                .collect();
            self.paths_at_save.lock().unwrap().push(paths);
            self.saved.lock().unwrap().push(progress.to_string());
            Ok(())
        })
    }
}

/// A fake Zalo, a token store holding a valid pair (AT1 with 20 h left, RT1), a posts folder,
/// and the channel under test, its clock starting at `start`.
struct Fixture {
    server: Arc<MockServer>,
    data: TempDir,
    posts: TempDir,
    clock: Clock,
    channel: ZaloChannel,
}

impl Fixture {
    async fn new() -> Fixture {
        Fixture::starting_at(now()).await
    }

    async fn starting_at(start: DateTime<Utc>) -> Fixture {
        let server = Arc::new(MockServer::start().await);
        let data = tempfile::tempdir().unwrap();
        let posts = tempfile::tempdir().unwrap();
        let store = TokenStore::new(data.path());
        store
            .update(|t| {
                t.zalo = Some(ZaloTokens {
                    access_token: Some(AT1.into()),
                    access_expires_at: Some(start + Duration::hours(20)),
                    refresh_token: Some(RT1.into()),
                    refresh_issued_at: Some(start - Duration::hours(5)),
                    ..ZaloTokens::default()
                });
                Ok(())
            })
            .unwrap();
        let clock = Clock::starting_at(start);
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let auth = ZaloAuth::new(
            http,
            &server.uri(),
            APP_ID,
            SecretString::from(APP_SECRET),
            store,
            clock.clone(),
        );
        let mut config = Config::parse(&config_text(&server.uri()))
            .unwrap_or_else(|d| panic!("the test config is valid: {d:?}"));
        config.posts_dir = posts.path().to_path_buf();
        config.data_dir = data.path().to_path_buf();
        let channel = ZaloChannel::new(Arc::new(config), Arc::new(auth), clock.clone());
        Fixture {
            server,
            data,
            posts,
            clock,
            channel,
        }
    }

    /// Writes `text` (and the images the test posts use) and loads it as the engine would.
    fn post(&self, text: &str) -> Post {
        let images = self.posts.path().join("images");
        std::fs::create_dir_all(&images).unwrap();
        std::fs::write(images.join("bìa tháng 12.jpg"), JPEG).unwrap();
        std::fs::write(images.join("nha-van-hoa.jpg"), JPEG).unwrap();
        let file = self.posts.path().join("chuyen-doi-so.md");
        std::fs::write(&file, text).unwrap();
        let mut config = Config::parse(&config_text(&self.server.uri())).unwrap();
        config.posts_dir = self.posts.path().to_path_buf();
        let loaded = loa::post::load(&file, &config);
        loaded
            .post
            .unwrap_or_else(|| panic!("the test post is valid: {:?}", loaded.problems))
    }

    /// A job for `text`, resuming `progress` if given.
    fn job(&self, text: &str, progress: Option<&str>) -> (Job, Arc<Progress>) {
        let sink = Arc::new(Progress {
            server: Arc::clone(&self.server),
            saved: Mutex::new(Vec::new()),
            paths_at_save: Mutex::new(Vec::new()),
        });
        let job = Job {
            delivery_id: 7,
            post: self.post(text),
            due_at: now(),
            progress: progress.map(str::to_string),
            scheduled_on_platform: false,
            progress_sink: sink.clone(),
        };
        (job, sink)
    }

    async fn seen(&self) -> Vec<Seen> {
        self.server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(seen)
            .collect()
    }

    fn stored(&self) -> ZaloTokens {
        TokenStore::new(self.data.path())
            .load()
            .unwrap()
            .zalo
            .unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// Zalo's answers
// ---------------------------------------------------------------------------------------------

fn ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"error": 0, "message": "Success", "data": data}))
}

/// A refusal as Zalo sends it: HTTP 200, a negative `error`, no `data`.
fn refused(code: i64, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"error": code, "message": message}))
}

fn processing() -> ResponseTemplate {
    refused(-214, "Article is being processed")
}

fn server_error() -> ResponseTemplate {
    ResponseTemplate::new(500).set_body_string("<html><body>502 Bad Gateway</body></html>")
}

fn granted(access: &str, refresh: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access, "refresh_token": refresh, "expires_in": "90000"
    }))
}

/// Answers `verb path` with `answers` in turn; the last one repeats.
async fn answer(server: &MockServer, verb: &str, at: &str, answers: Vec<ResponseTemplate>) {
    let last = answers.len() - 1;
    for (i, a) in answers.into_iter().enumerate() {
        let mock = Mock::given(method(verb))
            .and(path(at))
            .respond_with(a)
            .with_priority(u8::try_from(i + 1).unwrap());
        let mock = if i < last {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(server).await;
    }
}

/// One `getslice` item as §3.4 describes it.
fn item(id: &str, title: &str, create_ms: i64) -> Value {
    json!({
        "id": id, "type": "normal", "title": title, "status": "show",
        "total_view": 0, "total_share": 0,
        "create_date": create_ms, "update_date": create_ms,
        "thumb": "https://zalo.example/thumb.jpg", "link_view": "https://zalo.me/link"
    })
}

/// `count` articles that are not the test's.
fn others(count: usize, prefix: &str, create_ms: i64) -> Vec<Value> {
    (0..count)
        .map(|i| {
            item(
                &format!("{prefix}{i}"),
                &format!("Tin khác số {i}"),
                create_ms,
            )
        })
        .collect()
}

async fn slice_page(server: &MockServer, offset: &str, items: Vec<Value>) {
    let total = 100;
    Mock::given(method("GET"))
        .and(path(GETSLICE))
        .and(query_param("offset", offset))
        .respond_with(ok(json!({"total": total, "medias": items})))
        .mount(server)
        .await;
}

// ---------------------------------------------------------------------------------------------
// What the fake received
// ---------------------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum Body {
    Empty,
    Json(Value),
    Form(BTreeMap<String, String>),
    Other(String),
}

/// One request as received: method, path, query pairs in order, the headers that matter, body.
#[derive(Debug, PartialEq)]
struct Seen {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    /// `access_token`, `secret_key`, `authorization` and `content-type`, when present.
    headers: BTreeMap<String, String>,
    body: Body,
}

fn seen(request: &Request) -> Seen {
    let headers: BTreeMap<String, String> = [
        "access_token",
        "secret_key",
        "authorization",
        "content-type",
    ]
    .into_iter()
    .filter_map(|name| {
        let value = request.headers.get(name)?.to_str().ok()?;
        Some((name.to_string(), value.to_string()))
    })
    .collect();
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    let text = String::from_utf8(request.body.clone()).expect("every body is UTF-8");
    // The access token travels in its header only: never in the URL or a body.
    for token in [AT1, AT2] {
        assert!(!request.url.as_str().contains(token), "{}", request.url);
        assert!(!text.contains(token), "{text}");
    }
    assert!(
        !request.url.query_pairs().any(|(k, _)| k == "access_token"),
        "{}",
        request.url
    );
    let body = if text.is_empty() {
        Body::Empty
    } else if content_type.starts_with("application/json") {
        Body::Json(serde_json::from_str(&text).expect("a JSON body"))
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let url = reqwest::Url::parse(&format!("http://x/?{text}")).unwrap();
        let mut form = BTreeMap::new();
        for (k, v) in url.query_pairs() {
            assert!(
                form.insert(k.into_owned(), v.into_owned()).is_none(),
                "{text}"
            );
        }
        Body::Form(form)
    } else {
        Body::Other(text)
    };
    Seen {
        method: request.method.as_str().to_string(),
        path: request.url.path().to_string(),
        query: request.url.query_pairs().into_owned().collect(),
        headers,
        body,
    }
}

fn api_headers(token: &str, json: bool) -> BTreeMap<String, String> {
    let mut headers = BTreeMap::from([("access_token".to_string(), token.to_string())]);
    if json {
        headers.insert("content-type".into(), "application/json".into());
    }
    headers
}

/// `POST path` with `access_token: token` and a JSON body.
fn post(at: &str, token: &str, body: Value) -> Seen {
    Seen {
        method: "POST".into(),
        path: at.into(),
        query: Vec::new(),
        headers: api_headers(token, true),
        body: Body::Json(body),
    }
}

/// `GET path?query` with `access_token: token`.
fn get(at: &str, token: &str, query: &[(&str, &str)]) -> Seen {
    Seen {
        method: "GET".into(),
        path: at.into(),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        headers: api_headers(token, false),
        body: Body::Empty,
    }
}

fn getslice(token: &str, offset: &str) -> Seen {
    get(
        GETSLICE,
        token,
        &[("offset", offset), ("limit", "10"), ("type", "normal")],
    )
}

fn verify(token: &str, tk: &str) -> Seen {
    post(VERIFY, token, json!({"token": tk}))
}

/// The refresh call of §2: the secret in the `secret_key` header, the token in the form.
fn refresh(refresh_token: &str) -> Seen {
    Seen {
        method: "POST".into(),
        path: TOKEN.into(),
        query: Vec::new(),
        headers: BTreeMap::from([
            ("secret_key".to_string(), APP_SECRET.to_string()),
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ),
        ]),
        body: Body::Form(BTreeMap::from([
            ("app_id".to_string(), APP_ID.to_string()),
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("refresh_token".to_string(), refresh_token.to_string()),
        ])),
    }
}

/// The article [`POST`] renders to (§3.1), with `photo_url` as its cover.
fn article(photo_url: &str) -> Value {
    json!({
        "type": "normal",
        "title": TITLE,
        "author": "UBND xã Thanh Kỳ",
        "description": "Mời bà con đến nhà văn hoá lúc 8 giờ: điện & nước = 100%.",
        "cover": {"cover_type": "photo", "photo_url": photo_url, "status": "show"},
        "body": [
            {"type": "text", "content": "<p>Mời bà con đến nhà văn hoá lúc 8 giờ: điện &amp; nước = 100%.</p>"},
            {"type": "image", "url": BODY_IMAGE, "caption": "Nhà văn hóa thôn"},
            {"type": "text", "content": "<p>Cảm ơn bà con.</p>"}
        ],
        "status": "show",
        "comment": "show"
    })
}

/// The article [`PLAIN_POST`] renders to.
fn plain_article() -> Value {
    json!({
        "type": "normal",
        "title": "Họp dân tháng 12",
        "author": "UBND xã Thanh Kỳ",
        "description": "Mời bà con đến nhà văn hoá lúc 8 giờ.",
        "cover": {"cover_type": "photo", "photo_url": DEFAULT_COVER, "status": "show"},
        "body": [{"type": "text", "content": "<p>Mời bà con đến nhà văn hoá lúc 8 giờ.</p>"}],
        "status": "show",
        "comment": "show"
    })
}

/// No secret in the outcome, neither in its message nor anywhere in its debug form.
fn assert_clean(outcome: &Outcome) {
    let shown = format!("{outcome:?} {}", outcome.message().unwrap_or_default());
    for secret in SECRETS {
        assert!(!shown.contains(secret), "{secret} leaked into {shown}");
    }
}

fn published(id: &str) -> Outcome {
    Outcome::Published {
        remote_id: id.into(),
    }
}

/// For tests on paused tokio time: makes it run at a steady pace (about 100 ms per real
/// millisecond) instead of jumping to the next timer whenever the runtime idles. A jump while a
/// request is in flight would fire the HTTP client's own timeout (it runs on tokio time too).
fn pace_paused_time() {
    // An idle runtime jumps at most to this timer, always at most 100 ms away.
    tokio::spawn(async {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    // While a blocking task runs, tokio does not auto-advance paused time: time moves only here.
    tokio::spawn(async {
        loop {
            tokio::task::spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(1)))
                .await
                .unwrap();
            tokio::time::advance(std::time::Duration::from_millis(100)).await;
        }
    });
}

#[track_caller]
fn assert_near(actual: DateTime<Utc>, expected: DateTime<Utc>) {
    assert!(
        actual >= expected && actual - expected < Duration::seconds(2),
        "{actual} is not just after {expected}"
    );
}

// ---------------------------------------------------------------------------------------------
// 1. Publish: create → save the token → verify
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn publish_creates_saves_the_token_then_polls_verify_until_zalo_gives_the_id() {
    pace_paused_time();
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![ok(json!({"token": "tk_01"}))],
    )
    .await;
    answer(
        &f.server,
        "POST",
        VERIFY,
        vec![
            processing(),
            processing(),
            processing(),
            ok(json!({"id": ARTICLE_ID})),
        ],
    )
    .await;
    let (job, progress) = f.job(POST, None);

    let outcome = f.channel.publish(&job).await;

    assert_eq!(outcome, published(ARTICLE_ID));
    assert_eq!(
        f.seen().await,
        [
            post(CREATE, AT1, article(CUSTOM_COVER)),
            verify(AT1, "tk_01"),
            verify(AT1, "tk_01"),
            verify(AT1, "tk_01"),
            verify(AT1, "tk_01"),
        ]
    );
    // The token was on "disk" before the first verify left.
    assert_eq!(progress.saved(), ["tk_01"]);
    assert_eq!(*progress.paths_at_save.lock().unwrap(), [vec![CREATE]]);
    // Backoff between the -214 answers: 2 + 4 + 8 s (and not the next 16 s step).
    let waited = f.clock.now() - now();
    assert!(
        waited >= Duration::seconds(14) && waited < Duration::seconds(20),
        "{waited}"
    );
    assert_clean(&outcome);
}

#[tokio::test]
async fn verify_falls_back_to_article_id_and_keeps_big_ids_as_text() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![ok(json!({"token": "tk_01"}))],
    )
    .await;
    answer(
        &f.server,
        "POST",
        VERIFY,
        vec![ok(json!({"article_id": ARTICLE_ID}))],
    )
    .await;
    let (job, progress) = f.job(PLAIN_POST, None);
    assert_eq!(f.channel.publish(&job).await, published(ARTICLE_ID));
    assert_eq!(
        f.seen().await,
        [post(CREATE, AT1, plain_article()), verify(AT1, "tk_01")]
    );
    assert_eq!(progress.saved(), ["tk_01"]);

    // An id beyond 2^53, sent as a number, is kept digit for digit.
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![ok(json!({"token": "tk_01"}))],
    )
    .await;
    answer(
        &f.server,
        "POST",
        VERIFY,
        vec![ok(json!({"id": 9_007_199_254_740_993_u64}))],
    )
    .await;
    let (job, _) = f.job(PLAIN_POST, None);
    assert_eq!(f.channel.publish(&job).await, published("9007199254740993"));
}

#[tokio::test(start_paused = true)]
async fn verify_that_stays_processing_ends_transient_and_keeps_the_token() {
    pace_paused_time();
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![ok(json!({"token": "tk_01"}))],
    )
    .await;
    answer(&f.server, "POST", VERIFY, vec![processing()]).await;
    let (job, progress) = f.job(POST, None);

    let outcome = f.channel.publish(&job).await;

    assert!(matches!(outcome, Outcome::Transient { .. }), "{outcome:?}");
    assert_clean(&outcome);
    assert_eq!(progress.saved(), ["tk_01"]);
    let seen = f.seen().await;
    // One create, then verify only: a token is never re-created.
    assert_eq!(seen[0], post(CREATE, AT1, article(CUSTOM_COVER)));
    assert!(seen.len() > 2);
    assert!(seen[1..].iter().all(|s| *s == verify(AT1, "tk_01")));
}

// ---------------------------------------------------------------------------------------------
// 2. Resume
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_saved_token_is_verified_and_never_created_again() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![ok(json!({"token": "tk_99"}))],
    )
    .await;
    answer(
        &f.server,
        "POST",
        VERIFY,
        vec![ok(json!({"id": ARTICLE_ID}))],
    )
    .await;
    let (job, progress) = f.job(POST, Some("tk_01"));

    assert_eq!(f.channel.publish(&job).await, published(ARTICLE_ID));
    assert_eq!(f.seen().await, [verify(AT1, "tk_01")]);
    assert!(progress.saved().is_empty());
}

#[tokio::test]
async fn a_saved_token_whose_verify_fails_stays_a_verify() {
    let f = Fixture::new().await;
    answer(&f.server, "POST", VERIFY, vec![server_error()]).await;
    let (job, progress) = f.job(POST, Some("tk_01"));

    let outcome = f.channel.publish(&job).await;
    assert!(matches!(outcome, Outcome::Transient { .. }), "{outcome:?}");
    assert_clean(&outcome);
    assert_eq!(f.seen().await, [verify(AT1, "tk_01")]);
    assert!(progress.saved().is_empty());
}

// ---------------------------------------------------------------------------------------------
// 3. Cover rejected at verify (-200)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_rejected_custom_cover_is_replaced_once_by_the_default_cover() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![ok(json!({"token": "tk_01"})), ok(json!({"token": "tk_02"}))],
    )
    .await;
    answer(
        &f.server,
        "POST",
        VERIFY,
        vec![
            refused(-200, "Upload media failed"),
            ok(json!({"id": ARTICLE_ID})),
        ],
    )
    .await;
    let (job, progress) = f.job(POST, None);

    assert_eq!(f.channel.publish(&job).await, published(ARTICLE_ID));
    assert_eq!(
        f.seen().await,
        [
            post(CREATE, AT1, article(CUSTOM_COVER)),
            verify(AT1, "tk_01"),
            post(CREATE, AT1, article(DEFAULT_COVER)),
            verify(AT1, "tk_02"),
        ]
    );
    assert_eq!(progress.saved(), ["tk_01", "tk_02"]);
}

#[tokio::test]
async fn a_default_cover_rejected_too_is_permanent_after_one_re_create() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![ok(json!({"token": "tk_01"})), ok(json!({"token": "tk_02"}))],
    )
    .await;
    answer(
        &f.server,
        "POST",
        VERIFY,
        vec![refused(-200, "Upload media failed")],
    )
    .await;
    let (job, progress) = f.job(POST, None);

    let outcome = f.channel.publish(&job).await;
    let Outcome::Permanent { message } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(message.contains("-200"), "{message}");
    assert!(message.contains("default_cover_url"), "{message}");
    assert_clean(&outcome);
    assert_eq!(
        f.seen().await,
        [
            post(CREATE, AT1, article(CUSTOM_COVER)),
            verify(AT1, "tk_01"),
            post(CREATE, AT1, article(DEFAULT_COVER)),
            verify(AT1, "tk_02"),
        ]
    );
    assert_eq!(progress.saved(), ["tk_01", "tk_02"]);
}

#[tokio::test]
async fn a_rejected_default_cover_is_not_created_again() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![ok(json!({"token": "tk_01"}))],
    )
    .await;
    answer(
        &f.server,
        "POST",
        VERIFY,
        vec![refused(-200, "Upload media failed")],
    )
    .await;
    let (job, _) = f.job(PLAIN_POST, None);

    let outcome = f.channel.publish(&job).await;
    assert!(matches!(outcome, Outcome::Permanent { .. }), "{outcome:?}");
    assert_eq!(
        f.seen().await,
        [post(CREATE, AT1, plain_article()), verify(AT1, "tk_01")]
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Refusals at create: HTTP 200 with a negative `error`
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_invalid_field_is_permanent_with_zalos_words() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![refused(-201, "cover.photo_url is invalid!")],
    )
    .await;
    let (job, progress) = f.job(POST, None);

    let outcome = f.channel.publish(&job).await;
    let Outcome::Permanent { message } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(message.contains("cover.photo_url is invalid!"), "{message}");
    assert!(message.contains("-201"), "{message}");
    assert_clean(&outcome);
    assert_eq!(f.seen().await, [post(CREATE, AT1, article(CUSTOM_COVER))]);
    assert!(progress.saved().is_empty());
}

#[tokio::test]
async fn the_call_limit_pauses_the_channel_and_the_next_call_is_not_sent() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![
            refused(-32, "Your application reached limit call api")
                .insert_header("X-RateLimit-Limit", "4000")
                .insert_header("X-RateLimit-Remain", "0"),
        ],
    )
    .await;
    let (job, progress) = f.job(POST, None);

    let outcome = f.channel.publish(&job).await;
    let Outcome::RateLimited { message, until } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(message.contains("-32"), "{message}");
    assert_near(*until, now() + Duration::seconds(60));
    assert_clean(&outcome);

    // Inside the pause nothing leaves: not the publish again, not a remove, not a read.
    let again = f.channel.publish(&job).await;
    assert!(matches!(again, Outcome::RateLimited { .. }), "{again:?}");
    let removed = f.channel.delete(ARTICLE_ID).await;
    assert!(
        matches!(removed, Outcome::RateLimited { .. }),
        "{removed:?}"
    );
    assert!(f.channel.followers().await.is_err());
    assert_eq!(f.seen().await, [post(CREATE, AT1, article(CUSTOM_COVER))]);
    assert!(progress.saved().is_empty());
}

#[tokio::test]
async fn a_zero_remain_header_on_a_success_pauses_the_next_call() {
    let f = Fixture::new().await;
    Mock::given(method("GET"))
        .and(path(GETOA))
        .respond_with(ok(json!({"num_follower": 1520})).insert_header("X-RateLimit-Remain", "0"))
        .mount(&f.server)
        .await;

    assert_eq!(f.channel.followers().await, Ok(Some(1520)));
    let second = f.channel.followers().await.unwrap_err();
    let Outcome::RateLimited { until, .. } = &second else {
        panic!("{second:?}")
    };
    assert_near(*until, now() + Duration::seconds(60));
    assert_eq!(f.seen().await, [get(GETOA, AT1, &[])]);
}

/// `path` answered `answer` only when the `access_token` header is `token`.
async fn answer_for_token(server: &MockServer, at: &str, token: &str, a: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(at))
        .and(header("access_token", token))
        .respond_with(a)
        .mount(server)
        .await;
}

/// The refresh endpoint, answering only to the app secret in its header.
async fn token_endpoint(server: &MockServer, a: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(TOKEN))
        .and(header("secret_key", APP_SECRET))
        .respond_with(a)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once_and_the_create_replayed_with_the_new_one() {
    let f = Fixture::new().await;
    answer_for_token(
        &f.server,
        CREATE,
        AT1,
        refused(-216, "Access token is invalid"),
    )
    .await;
    answer_for_token(&f.server, CREATE, AT2, ok(json!({"token": "tk_01"}))).await;
    answer_for_token(&f.server, VERIFY, AT2, ok(json!({"id": ARTICLE_ID}))).await;
    token_endpoint(&f.server, granted(AT2, RT2)).await;
    let (job, progress) = f.job(POST, None);

    let outcome = f.channel.publish(&job).await;

    assert_eq!(outcome, published(ARTICLE_ID));
    assert_eq!(
        f.seen().await,
        [
            post(CREATE, AT1, article(CUSTOM_COVER)),
            refresh(RT1),
            post(CREATE, AT2, article(CUSTOM_COVER)),
            verify(AT2, "tk_01"),
        ]
    );
    assert_eq!(progress.saved(), ["tk_01"]);
    // The new pair is the stored one.
    let z = f.stored();
    assert_eq!(z.access_token.unwrap().expose_secret(), AT2);
    assert_eq!(z.refresh_token.unwrap().expose_secret(), RT2);
}

#[tokio::test]
async fn a_fresh_token_rejected_again_needs_an_admin_and_is_refreshed_only_once() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![refused(-216, "Access token is invalid")],
    )
    .await;
    token_endpoint(&f.server, granted(AT2, RT2)).await;
    let (job, progress) = f.job(POST, None);

    let outcome = f.channel.publish(&job).await;

    let Outcome::AuthExpired { message } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(message.contains("loa auth zalo --url"), "{message}");
    assert_clean(&outcome);
    assert_eq!(
        f.seen().await,
        [
            post(CREATE, AT1, article(CUSTOM_COVER)),
            refresh(RT1),
            post(CREATE, AT2, article(CUSTOM_COVER)),
        ]
    );
    assert!(progress.saved().is_empty());
}

#[tokio::test]
async fn an_expired_token_at_verify_is_refreshed_and_the_verify_replayed() {
    let f = Fixture::new().await;
    answer_for_token(&f.server, CREATE, AT1, ok(json!({"token": "tk_01"}))).await;
    answer_for_token(
        &f.server,
        VERIFY,
        AT1,
        refused(-220, "access_token is expired or removed"),
    )
    .await;
    answer_for_token(&f.server, VERIFY, AT2, ok(json!({"id": ARTICLE_ID}))).await;
    token_endpoint(&f.server, granted(AT2, RT2)).await;
    let (job, _) = f.job(POST, None);

    assert_eq!(f.channel.publish(&job).await, published(ARTICLE_ID));
    assert_eq!(
        f.seen().await,
        [
            post(CREATE, AT1, article(CUSTOM_COVER)),
            verify(AT1, "tk_01"),
            refresh(RT1),
            verify(AT2, "tk_01"),
        ]
    );
}

#[tokio::test]
async fn a_refused_refresh_needs_an_admin_and_nothing_is_replayed() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![refused(-216, "Access token is invalid")],
    )
    .await;
    // Zalo quoting what it was sent must not leak it.
    token_endpoint(
        &f.server,
        ResponseTemplate::new(200).set_body_json(json!({
            "error": -14014, "error_name": "invalid_refresh_token",
            "error_reason": format!("refresh token {RT1} used"),
            "error_description": format!("Invalid refresh token {RT1} for secret {APP_SECRET}")
        })),
    )
    .await;
    let (job, _) = f.job(POST, None);

    let outcome = f.channel.publish(&job).await;
    let Outcome::AuthExpired { message } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(message.contains("loa auth zalo --url"), "{message}");
    assert_clean(&outcome);
    assert_eq!(
        f.seen().await,
        [post(CREATE, AT1, article(CUSTOM_COVER)), refresh(RT1)]
    );
    assert!(f.stored().needs_reauth.is_some());
}

#[tokio::test]
async fn a_rate_limited_refresh_pauses_by_the_channels_clock() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![refused(-216, "Access token is invalid")],
    )
    .await;
    token_endpoint(
        &f.server,
        refused(-32, "Your application reached limit call api"),
    )
    .await;
    let (job, _) = f.job(POST, None);

    let outcome = f.channel.publish(&job).await;
    let Outcome::RateLimited { until, .. } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_near(*until, now() + Duration::seconds(60));
    assert_clean(&outcome);
    assert_eq!(
        f.seen().await,
        [post(CREATE, AT1, article(CUSTOM_COVER)), refresh(RT1)]
    );
    // Nothing was spent: the pair is intact.
    let z = f.stored();
    assert_eq!(z.refresh_token.unwrap().expose_secret(), RT1);
    assert!(z.needs_reauth.is_none());
}

#[tokio::test]
async fn zalo_quoting_the_access_token_never_reaches_an_outcome() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![refused(
            -201,
            &format!("access_token {AT1} is not allowed to set title!"),
        )],
    )
    .await;
    answer(
        &f.server,
        "POST",
        REMOVE,
        vec![refused(-248, &format!("Violates our standards ({AT1})"))],
    )
    .await;
    let (job, _) = f.job(POST, None);

    let outcome = f.channel.publish(&job).await;
    assert!(matches!(outcome, Outcome::Permanent { .. }), "{outcome:?}");
    assert!(
        outcome
            .message()
            .unwrap()
            .contains("is not allowed to set title"),
        "{outcome:?}"
    );
    assert_clean(&outcome);
    let removed = f.channel.delete(ARTICLE_ID).await;
    assert!(matches!(removed, Outcome::Permanent { .. }), "{removed:?}");
    assert_clean(&removed);
}

// ---------------------------------------------------------------------------------------------
// 5. Transport failures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_create_without_a_readable_answer_is_ambiguous() {
    for answer_with in [
        server_error(),
        ResponseTemplate::new(200).set_body_string("<html>gateway</html>"),
        ResponseTemplate::new(200).set_body_string(""),
        // Accepted, but no processing token: the article may exist.
        ok(json!({})),
    ] {
        let f = Fixture::new().await;
        answer(&f.server, "POST", CREATE, vec![answer_with]).await;
        let (job, progress) = f.job(POST, None);

        let outcome = f.channel.publish(&job).await;
        assert!(matches!(outcome, Outcome::Ambiguous { .. }), "{outcome:?}");
        assert_clean(&outcome);
        assert_eq!(f.seen().await, [post(CREATE, AT1, article(CUSTOM_COVER))]);
        assert!(progress.saved().is_empty());
    }
}

#[tokio::test]
async fn a_verify_without_a_readable_answer_is_transient_and_the_token_is_kept() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        CREATE,
        vec![ok(json!({"token": "tk_01"}))],
    )
    .await;
    answer(&f.server, "POST", VERIFY, vec![server_error()]).await;
    let (job, progress) = f.job(POST, None);

    let outcome = f.channel.publish(&job).await;
    let Outcome::Transient { message, .. } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(message.contains("500"), "{message}");
    assert_clean(&outcome);
    assert_eq!(
        f.seen().await,
        [
            post(CREATE, AT1, article(CUSTOM_COVER)),
            verify(AT1, "tk_01")
        ]
    );
    assert_eq!(progress.saved(), ["tk_01"]);
}

#[tokio::test]
async fn a_create_to_nowhere_is_ambiguous_and_sends_nothing_twice() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let f = Fixture::new().await;
    let (job, _) = f.job(POST, None);
    let mut config = Config::parse(&config_text(&dead)).unwrap();
    config.posts_dir = f.posts.path().to_path_buf();
    let auth = ZaloAuth::new(
        reqwest::Client::builder().no_proxy().build().unwrap(),
        &dead,
        APP_ID,
        SecretString::from(APP_SECRET),
        TokenStore::new(f.data.path()),
        f.clock.clone(),
    );
    let channel = ZaloChannel::new(Arc::new(config), Arc::new(auth), f.clock.clone());

    let outcome = channel.publish(&job).await;
    assert!(matches!(outcome, Outcome::Ambiguous { .. }), "{outcome:?}");
    assert_clean(&outcome);
    let removed = channel.delete(ARTICLE_ID).await;
    assert!(matches!(removed, Outcome::Transient { .. }), "{removed:?}");
}

// ---------------------------------------------------------------------------------------------
// 6. Update
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn update_sends_the_create_body_with_the_id_then_verifies() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        UPDATE,
        vec![ok(json!({"token": "tk_07"}))],
    )
    .await;
    answer(
        &f.server,
        "POST",
        VERIFY,
        vec![ok(json!({"id": "some-other-id"}))],
    )
    .await;
    let (job, _) = f.job(POST, None);

    let outcome = f.channel.update(&job, ARTICLE_ID).await;

    // The article keeps its id, whatever verify echoes.
    assert_eq!(outcome, published(ARTICLE_ID));
    let mut body = article(CUSTOM_COVER);
    body["id"] = json!(ARTICLE_ID);
    assert_eq!(
        f.seen().await,
        [post(UPDATE, AT1, body), verify(AT1, "tk_07")]
    );
}

#[tokio::test]
async fn an_update_without_a_readable_answer_is_transient() {
    let f = Fixture::new().await;
    answer(&f.server, "POST", UPDATE, vec![server_error()]).await;
    let (job, _) = f.job(POST, None);

    let outcome = f.channel.update(&job, ARTICLE_ID).await;
    assert!(matches!(outcome, Outcome::Transient { .. }), "{outcome:?}");
    assert_clean(&outcome);
    assert_eq!(f.seen().await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 7. Remove
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn remove_sends_the_id_and_is_done() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        REMOVE,
        vec![ResponseTemplate::new(200).set_body_json(json!({"error": 0, "message": "Success"}))],
    )
    .await;

    assert_eq!(f.channel.delete(ARTICLE_ID).await, published(ARTICLE_ID));
    assert_eq!(
        f.seen().await,
        [post(REMOVE, AT1, json!({"id": ARTICLE_ID}))]
    );
}

#[tokio::test]
async fn removing_an_article_zalo_no_longer_has_is_done() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        REMOVE,
        vec![refused(-201, "Article is not exist")],
    )
    .await;
    assert_eq!(f.channel.delete(ARTICLE_ID).await, published(ARTICLE_ID));

    let f = Fixture::new().await;
    answer(&f.server, "POST", REMOVE, vec![server_error()]).await;
    let outcome = f.channel.delete(ARTICLE_ID).await;
    assert!(matches!(outcome, Outcome::Transient { .. }), "{outcome:?}");
}

// ---------------------------------------------------------------------------------------------
// 8. Broadcast
// ---------------------------------------------------------------------------------------------

fn broadcast_body(id: &str) -> Value {
    json!({
        "recipient": {"target": {}},
        "message": {"attachment": {"type": "template", "payload": {
            "template_type": "media",
            "elements": [{"media_type": "article", "attachment_id": id}]
        }}}
    })
}

#[tokio::test]
async fn broadcast_sends_the_article_to_all_followers() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "POST",
        MESSAGE,
        vec![ok(json!({"message_id": "b7d0c4e1"}))],
    )
    .await;
    let (job, _) = f.job(POST, None);

    assert_eq!(
        f.channel.broadcast(&job, ARTICLE_ID).await,
        published("b7d0c4e1")
    );
    assert_eq!(
        f.seen().await,
        [post(MESSAGE, AT1, broadcast_body(ARTICLE_ID))]
    );
}

#[tokio::test]
async fn a_broadcast_at_night_waits_until_six_in_the_morning_local_time() {
    // 23:30 on 1 December in Asia/Ho_Chi_Minh (UTC+7).
    let start = Utc.with_ymd_and_hms(2026, 12, 1, 16, 30, 0).unwrap();
    let f = Fixture::starting_at(start).await;
    answer(
        &f.server,
        "POST",
        MESSAGE,
        vec![refused(
            -234,
            "This message cannot be sent at night (10:00PM - 6:00AM)",
        )],
    )
    .await;
    let (job, _) = f.job(POST, None);

    let outcome = f.channel.broadcast(&job, ARTICLE_ID).await;
    let Outcome::RateLimited { until, message } = &outcome else {
        panic!("{outcome:?}")
    };
    // 06:00 on 2 December, local.
    assert_eq!(*until, Utc.with_ymd_and_hms(2026, 12, 1, 23, 0, 0).unwrap());
    assert!(message.contains("-234"), "{message}");
    assert_clean(&outcome);

    // 03:00 local: the same morning.
    let start = Utc.with_ymd_and_hms(2026, 12, 1, 20, 0, 0).unwrap();
    let f = Fixture::starting_at(start).await;
    answer(
        &f.server,
        "POST",
        MESSAGE,
        vec![refused(
            -234,
            "This message cannot be sent at night (10:00PM - 6:00AM)",
        )],
    )
    .await;
    let outcome = f.channel.broadcast(&job, ARTICLE_ID).await;
    let Outcome::RateLimited { until, .. } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(*until, Utc.with_ymd_and_hms(2026, 12, 1, 23, 0, 0).unwrap());
}

#[tokio::test]
async fn a_broadcast_without_a_readable_answer_is_ambiguous_and_not_resent() {
    let f = Fixture::new().await;
    answer(&f.server, "POST", MESSAGE, vec![server_error()]).await;
    let (job, _) = f.job(POST, None);

    let outcome = f.channel.broadcast(&job, ARTICLE_ID).await;
    assert!(matches!(outcome, Outcome::Ambiguous { .. }), "{outcome:?}");
    assert_clean(&outcome);
    assert_eq!(
        f.seen().await,
        [post(MESSAGE, AT1, broadcast_body(ARTICLE_ID))]
    );
}

// ---------------------------------------------------------------------------------------------
// 9. Reconcile
// ---------------------------------------------------------------------------------------------

/// The window of a create attempted 8 minutes ago (the engine passes attempt − 2 min), with a
/// sub-second part as a real attempt time has.
fn since() -> DateTime<Utc> {
    now() - Duration::minutes(10) + Duration::milliseconds(500)
}

#[tokio::test]
async fn reconcile_finds_the_article_by_title_created_in_the_window() {
    let f = Fixture::new().await;
    let created = (since() + Duration::seconds(90)).timestamp_millis();
    let mut items = others(3, "x", created);
    items.insert(1, item(ARTICLE_ID, TITLE, created));
    slice_page(&f.server, "0", items).await;
    let (job, _) = f.job(POST, None);

    assert_eq!(
        f.channel.reconcile(&job, since()).await,
        Reconciled::Found {
            remote_id: ARTICLE_ID.into()
        }
    );
    assert_eq!(f.seen().await, [getslice(AT1, "0")]);
}

#[tokio::test]
async fn reconcile_counts_create_date_to_the_millisecond_and_accepts_seconds() {
    // Created exactly at the start of the window.
    let f = Fixture::new().await;
    slice_page(
        &f.server,
        "0",
        vec![item(ARTICLE_ID, TITLE, since().timestamp_millis())],
    )
    .await;
    let (job, _) = f.job(POST, None);
    assert_eq!(
        f.channel.reconcile(&job, since()).await,
        Reconciled::Found {
            remote_id: ARTICLE_ID.into()
        }
    );

    // One millisecond before it: an older article of the same title.
    let f = Fixture::new().await;
    slice_page(
        &f.server,
        "0",
        vec![item(ARTICLE_ID, TITLE, since().timestamp_millis() - 1)],
    )
    .await;
    assert_eq!(f.channel.reconcile(&job, since()).await, Reconciled::Absent);

    // `created_date` in seconds, as a string (one client saw it so).
    let f = Fixture::new().await;
    let seconds = (since() + Duration::seconds(30)).timestamp().to_string();
    slice_page(
        &f.server,
        "0",
        vec![json!({"id": ARTICLE_ID, "title": TITLE, "created_date": seconds})],
    )
    .await;
    assert_eq!(
        f.channel.reconcile(&job, since()).await,
        Reconciled::Found {
            remote_id: ARTICLE_ID.into()
        }
    );
}

#[tokio::test]
async fn reconcile_ignores_an_older_article_of_the_same_title() {
    let f = Fixture::new().await;
    let old = (since() - Duration::days(3)).timestamp_millis();
    slice_page(&f.server, "0", vec![item(ARTICLE_ID, TITLE, old)]).await;
    let (job, _) = f.job(POST, None);

    assert_eq!(f.channel.reconcile(&job, since()).await, Reconciled::Absent);
    assert_eq!(f.seen().await, [getslice(AT1, "0")]);
}

#[tokio::test]
async fn reconcile_turns_to_the_second_page_when_the_first_is_full() {
    let f = Fixture::new().await;
    let created = (since() + Duration::seconds(60)).timestamp_millis();
    slice_page(&f.server, "0", others(10, "a", created)).await;
    slice_page(
        &f.server,
        "10",
        vec![
            item("x1", "Tin khác", created),
            item(ARTICLE_ID, TITLE, created),
        ],
    )
    .await;
    let (job, _) = f.job(POST, None);

    assert_eq!(
        f.channel.reconcile(&job, since()).await,
        Reconciled::Found {
            remote_id: ARTICLE_ID.into()
        }
    );
    assert_eq!(f.seen().await, [getslice(AT1, "0"), getslice(AT1, "10")]);

    // Absent after two full pages without it once the list is older than the window.
    let f = Fixture::new().await;
    let older = (since() - Duration::seconds(60)).timestamp_millis();
    slice_page(&f.server, "0", others(10, "a", created)).await;
    slice_page(&f.server, "10", others(10, "b", older)).await;
    assert_eq!(f.channel.reconcile(&job, since()).await, Reconciled::Absent);
    assert_eq!(f.seen().await, [getslice(AT1, "0"), getslice(AT1, "10")]);

    // While the pages are inside the window, a third is read (issue 12's duplicate).
    let f = Fixture::new().await;
    slice_page(&f.server, "0", others(10, "a", created)).await;
    slice_page(&f.server, "10", others(10, "b", created)).await;
    slice_page(&f.server, "20", vec![item(ARTICLE_ID, TITLE, created)]).await;
    assert_eq!(
        f.channel.reconcile(&job, since()).await,
        Reconciled::Found {
            remote_id: ARTICLE_ID.into()
        }
    );
}

#[tokio::test]
async fn reconcile_cannot_tell_when_the_listing_fails() {
    // A rate limit pauses the channel (not a try); a server error is tried again (a try).
    for (answer_with, rate_limited) in [
        (
            refused(-32, "Your application reached limit call api"),
            true,
        ),
        (server_error(), false),
    ] {
        let f = Fixture::new().await;
        answer(&f.server, "GET", GETSLICE, vec![answer_with]).await;
        let (job, _) = f.job(POST, None);

        let found = f.channel.reconcile(&job, since()).await;
        let message = match (&found, rate_limited) {
            (Reconciled::Paused { message, .. }, true) => message,
            (Reconciled::Unknown { message }, false) => message,
            _ => panic!("{found:?}"),
        };
        for secret in SECRETS {
            assert!(!message.contains(secret), "{message}");
        }
        assert_eq!(f.seen().await, [getslice(AT1, "0")]);
    }
}

#[tokio::test]
async fn reconcile_with_a_saved_token_is_absent_without_asking() {
    let f = Fixture::new().await;
    let (job, _) = f.job(POST, Some("tk_01"));
    assert_eq!(f.channel.reconcile(&job, since()).await, Reconciled::Absent);
    assert!(f.seen().await.is_empty());
}

#[tokio::test]
async fn reconcile_soon_after_the_create_says_not_yet_unless_the_article_is_listed() {
    let f = Fixture::new().await;
    slice_page(&f.server, "0", others(2, "a", now().timestamp_millis())).await;
    let (job, _) = f.job(POST, None);
    // The create was attempted a minute ago: the window starts 2 minutes before it, and the
    // listing can be trusted `zalo.listing_delay` (3 min by default) after it.
    let window = now() - Duration::minutes(3);

    assert_eq!(
        f.channel.reconcile(&job, window).await,
        Reconciled::NotYet {
            until: now() + Duration::minutes(2)
        }
    );
    assert_eq!(f.seen().await, [getslice(AT1, "0")]);

    // Listed already: found, however early.
    let f = Fixture::new().await;
    slice_page(
        &f.server,
        "0",
        vec![item(ARTICLE_ID, TITLE, now().timestamp_millis())],
    )
    .await;
    assert_eq!(
        f.channel.reconcile(&job, window).await,
        Reconciled::Found {
            remote_id: ARTICLE_ID.into()
        }
    );
}

// ---------------------------------------------------------------------------------------------
// 10. Followers (the stats themselves: tests/collect_zalo.rs)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn followers_reads_num_follower_from_getoa() {
    let f = Fixture::new().await;
    answer(
        &f.server,
        "GET",
        GETOA,
        vec![ok(json!({
            "oaid": "2491302944280861639", "name": "UBND xã Thanh Kỳ",
            "num_follower": "1520", "is_verified": true
        }))],
    )
    .await;

    assert_eq!(f.channel.followers().await, Ok(Some(1520)));
    assert_eq!(f.seen().await, [get(GETOA, AT1, &[])]);
}
