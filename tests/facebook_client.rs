//! `loa::facebook::client::FacebookChannel` against a fake Graph API (wiremock on 127.0.0.1).
//!
//! Every test asserts the exact requests Facebook would have received (method, path, form
//! fields, multipart parts, query parameters, and where the token went), then the outcome the
//! engine is given. The shapes follow `shared/api/facebook-graph.md` §3–§8.

mod common;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use loa::engine::Clock;
use loa::facebook::client::FacebookChannel;
use loa::post::Post;
use loa::publisher::{BoxFuture, Job, Outcome, ProgressSink, Publisher, Reconciled};
use secrecy::SecretString;
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const PAGE: &str = "123456789012345";
const POST_ID: &str = "123456789012345_987654321098765";
const TOKEN: &str = "PT";
const FEED: &str = "/v25.0/123456789012345/feed";
const PHOTOS: &str = "/v25.0/123456789012345/photos";
const PUBLISHED_POSTS: &str = "/v25.0/123456789012345/published_posts";
const SCHEDULED_POSTS: &str = "/v25.0/123456789012345/scheduled_posts";
const NODE: &str = "/v25.0/123456789012345_987654321098765";

/// A real 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x64, 0x60, 0xF8, 0x5F,
    0x0F, 0x00, 0x02, 0x87, 0x01, 0x80, 0xEB, 0x47, 0xBA, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// A tiny JPEG: SOI, a JFIF APP0 segment, EOI.
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];

/// The text every test post renders to (title, blank line, body).
const MESSAGE: &str =
    "Họp dân tháng 12\n\nMời bà con đến nhà văn hoá lúc 8 giờ: điện & nước = 100%.";

const TEXT_POST: &str = "---\ntitle: \"Họp dân tháng 12\"\nchannels: [facebook]\n---\nMời bà con đến nhà văn hoá lúc 8 giờ: điện & nước = 100%.\n";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The fixed "now" of every test: 2026-12-01 00:00:00 UTC.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

/// Records what a publisher saves as progress; Facebook has nothing to save.
#[derive(Default)]
struct Progress(Mutex<Vec<String>>);

impl ProgressSink for Progress {
    fn save<'a>(&'a self, progress: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.0.lock().unwrap().push(progress.to_string());
            Ok(())
        })
    }
}

/// A posts folder in a temp dir, with the images the post uses.
struct Folder {
    dir: TempDir,
    config: loa::config::Config,
}

impl Folder {
    fn new() -> Folder {
        let dir = tempfile::tempdir().unwrap();
        let mut config = common::config();
        config.posts_dir = dir.path().to_path_buf();
        Folder { dir, config }
    }

    fn file(&self, rel: &str, bytes: &[u8]) -> &Folder {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        self
    }

    fn post(&self, text: &str) -> Post {
        let path = self.dir.path().join("hop-dan.md");
        std::fs::write(&path, text).unwrap();
        let loaded = loa::post::load(&path, &self.config);
        loaded
            .post
            .unwrap_or_else(|| panic!("the test post is valid: {:?}", loaded.problems))
    }
}

/// A job for `post`, due at `due_at`.
fn job_at(post: Post, due_at: DateTime<Utc>) -> (Job, Arc<Progress>) {
    let progress = Arc::new(Progress::default());
    let job = Job {
        delivery_id: 1,
        post,
        due_at,
        progress: None,
        scheduled_on_platform: false,
        progress_sink: progress.clone(),
    };
    (job, progress)
}

/// A job for `post`, due now.
fn job(post: Post) -> Job {
    job_at(post, now()).0
}

/// The plain text post of [`MESSAGE`].
fn text_post() -> Post {
    Folder::new().post(TEXT_POST)
}

/// A channel on `server` (API v25.0, the test Page), its clock starting at [`now`].
fn channel(server: &MockServer, native: bool) -> FacebookChannel {
    channel_with_token(&server.uri(), TOKEN, native)
}

fn channel_with_token(graph_url: &str, token: &str, native: bool) -> FacebookChannel {
    FacebookChannel::new(
        graph_url,
        "v25.0",
        PAGE,
        SecretString::from(token),
        native,
        Clock::starting_at(now()),
    )
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn graph_error(status: u16, code: i64, subcode: Option<i64>, message: &str) -> ResponseTemplate {
    let mut error = json!({
        "message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"
    });
    if let Some(s) = subcode {
        error["error_subcode"] = s.into();
    }
    ResponseTemplate::new(status).set_body_json(json!({ "error": error }))
}

async fn mount(server: &MockServer, verb: &str, at: &str, answer: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(answer)
        .mount(server)
        .await;
}

// ---------------------------------------------------------------------------------------------
// What the fake received
// ---------------------------------------------------------------------------------------------

/// One multipart part as received.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PartSeen {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

impl PartSeen {
    fn text(name: &str, value: &str) -> PartSeen {
        PartSeen {
            name: name.into(),
            file_name: None,
            content_type: None,
            data: value.as_bytes().to_vec(),
        }
    }

    fn file(name: &str, file_name: &str, content_type: &str, data: &[u8]) -> PartSeen {
        PartSeen {
            name: name.into(),
            file_name: Some(file_name.into()),
            content_type: Some(content_type.into()),
            data: data.to_vec(),
        }
    }
}

/// A request body as received.
#[derive(Clone, Debug, PartialEq, Eq)]
enum BodySeen {
    Empty,
    Form(Vec<(String, String)>),
    Multipart(Vec<PartSeen>),
    Other(Vec<u8>),
}

/// One request as received: method, path, query pairs in order, body.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    body: BodySeen,
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space).
fn decode_form(body: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(body).expect("a form body is ASCII");
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .expect("form values are UTF-8")
            .into_owned()
    };
    text.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// A `multipart/form-data` body, part by part.
fn decode_multipart(content_type: &str, body: &[u8]) -> Vec<PartSeen> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .expect("multipart has a boundary")
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut at = find(body, delimiter.as_bytes(), 0).expect("first boundary");
    assert_eq!(at, 0, "the body starts with the boundary");
    loop {
        let start = at + delimiter.len();
        if body[start..].starts_with(b"--") {
            assert_eq!(
                &body[start..],
                b"--\r\n",
                "the body ends after the last boundary"
            );
            break;
        }
        assert!(body[start..].starts_with(b"\r\n"));
        let next =
            find(body, format!("\r\n{delimiter}").as_bytes(), start).expect("every part is closed");
        let chunk = &body[start + 2..next];
        let split = find(chunk, b"\r\n\r\n", 0).expect("part headers end");
        let head = std::str::from_utf8(&chunk[..split]).unwrap();
        let data = chunk[split + 4..].to_vec();
        let mut part = PartSeen {
            name: String::new(),
            file_name: None,
            content_type: None,
            data,
        };
        for line in head.split("\r\n") {
            let (key, value) = line.split_once(':').unwrap();
            match key.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    for param in value.split(';').map(str::trim) {
                        if let Some(n) = param.strip_prefix("name=") {
                            part.name = n.trim_matches('"').to_string();
                        } else if let Some(f) = param.strip_prefix("filename=") {
                            part.file_name = Some(f.trim_matches('"').to_string());
                        }
                    }
                }
                "content-type" => part.content_type = Some(value.trim().to_string()),
                other => panic!("unexpected part header {other}"),
            }
        }
        parts.push(part);
        at = next + 2;
    }
    parts
}

fn seen(request: &Request) -> Seen {
    let content_type = header(request, "content-type").unwrap_or_default();
    let body = if request.body.is_empty() {
        BodySeen::Empty
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        BodySeen::Form(decode_form(&request.body))
    } else if content_type.starts_with("multipart/form-data") {
        BodySeen::Multipart(decode_multipart(&content_type, &request.body))
    } else {
        BodySeen::Other(request.body.clone())
    };
    Seen {
        method: request.method.as_str().to_string(),
        path: request.url.path().to_string(),
        query: request.url.query_pairs().into_owned().collect(),
        body,
    }
}

/// Everything the fake received, in order; also checks that the token went nowhere but
/// `access_token` (once per request: in the body of a POST, in the query otherwise).
async fn received(server: &MockServer, token: &str) -> Vec<Seen> {
    let requests = server.received_requests().await.expect("recording is on");
    for request in &requests {
        assert_token_only_in_access_token(request, token);
    }
    requests.iter().map(seen).collect()
}

fn assert_token_only_in_access_token(request: &Request, token: &str) {
    let what = format!("{} {}", request.method, request.url.path());
    assert!(
        !request.url.path().contains(token),
        "token in the path: {what}"
    );
    for (name, value) in &request.headers {
        assert!(
            !String::from_utf8_lossy(value.as_bytes()).contains(token),
            "token in header {name}: {what}"
        );
    }
    assert!(
        request.headers.get("authorization").is_none(),
        "no Authorization header: {what}"
    );
    let s = seen(request);
    let mut places = Vec::new();
    for (k, v) in &s.query {
        if k == "access_token" {
            assert_eq!(v, token, "{what}");
            places.push("query");
        } else {
            assert!(
                !v.contains(token) && !k.contains(token),
                "token in ?{k}: {what}"
            );
        }
    }
    match &s.body {
        BodySeen::Empty => {}
        BodySeen::Form(form) => {
            for (k, v) in form {
                if k == "access_token" {
                    assert_eq!(v, token, "{what}");
                    places.push("body");
                } else {
                    assert!(!v.contains(token), "token in form field {k}: {what}");
                }
            }
        }
        BodySeen::Multipart(parts) => {
            for p in parts {
                if p.name == "access_token" {
                    assert_eq!(p.data, token.as_bytes(), "{what}");
                    assert_eq!(p.file_name, None);
                    places.push("body");
                } else if p.file_name.is_none() {
                    assert!(
                        !String::from_utf8_lossy(&p.data).contains(token),
                        "token in part {}: {what}",
                        p.name
                    );
                }
            }
        }
        BodySeen::Other(bytes) => {
            assert!(
                !String::from_utf8_lossy(bytes).contains(token),
                "token in the body: {what}"
            );
        }
    }
    let expected = if request.method.as_str() == "POST" {
        "body"
    } else {
        "query"
    };
    assert_eq!(places, vec![expected], "access_token exactly once: {what}");
}

/// The expected multipart form of a photo upload.
fn upload(first: PartSeen, rest: &[(&str, &str)]) -> BodySeen {
    let mut parts = vec![first];
    parts.extend(rest.iter().map(|(k, v)| PartSeen::text(k, v)));
    parts.push(PartSeen::text("access_token", TOKEN));
    BodySeen::Multipart(parts)
}

fn post_form(path: &str, form: &[(&str, &str)]) -> Seen {
    let mut fields = pairs(form);
    fields.push(("access_token".into(), TOKEN.into()));
    Seen {
        method: "POST".into(),
        path: path.into(),
        query: vec![],
        body: BodySeen::Form(fields),
    }
}

fn post_multipart(path: &str, body: BodySeen) -> Seen {
    Seen {
        method: "POST".into(),
        path: path.into(),
        query: vec![],
        body,
    }
}

fn get(path: &str, query: &[(&str, &str)]) -> Seen {
    let mut query = pairs(query);
    query.push(("access_token".into(), TOKEN.into()));
    Seen {
        method: "GET".into(),
        path: path.into(),
        query,
        body: BodySeen::Empty,
    }
}

fn listing(path: &str) -> Seen {
    let fields = if path == SCHEDULED_POSTS {
        "id,message,created_time,scheduled_publish_time"
    } else {
        "id,message,created_time"
    };
    get(path, &[("fields", fields), ("limit", "25")])
}

fn assert_near(at: DateTime<Utc>, expected: DateTime<Utc>) {
    let off = (at - expected).num_seconds();
    assert!(
        (0..=30).contains(&off),
        "{at} should be just after {expected}"
    );
}

// ---------------------------------------------------------------------------------------------
// 1. Text and link posts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn text_post_is_a_feed_post_with_its_message() {
    let server = MockServer::start().await;
    mount(&server, "POST", FEED, ok(json!({ "id": POST_ID }))).await;
    let fb = channel(&server, false);
    assert_eq!(fb.channel(), loa::channel::Channel::Facebook);

    let (job, progress) = job_at(text_post(), now());
    let outcome = fb.publish(&job).await;

    assert_eq!(
        outcome,
        Outcome::Published {
            remote_id: POST_ID.into()
        }
    );
    assert_eq!(
        received(&server, TOKEN).await,
        vec![post_form(FEED, &[("message", MESSAGE)])]
    );
    assert!(progress.0.lock().unwrap().is_empty(), "nothing to resume");
}

#[tokio::test]
async fn facebook_link_becomes_the_link_field() {
    let server = MockServer::start().await;
    mount(&server, "POST", FEED, ok(json!({ "id": POST_ID }))).await;
    let post = Folder::new().post(
        "---\ntitle: \"Họp dân tháng 12\"\nchannels: [facebook]\nfacebook: { link: \"https://example.gov.vn/tin/hop-dan?a=1&b=2\" }\n---\nMời bà con đến nhà văn hoá lúc 8 giờ: điện & nước = 100%.\n",
    );

    let outcome = channel(&server, false).publish(&job(post)).await;

    assert_eq!(
        outcome,
        Outcome::Published {
            remote_id: POST_ID.into()
        }
    );
    assert_eq!(
        received(&server, TOKEN).await,
        vec![post_form(
            FEED,
            &[
                ("message", MESSAGE),
                ("link", "https://example.gov.vn/tin/hop-dan?a=1&b=2")
            ]
        )]
    );
}

#[tokio::test]
async fn a_trailing_slash_on_graph_url_is_harmless() {
    let server = MockServer::start().await;
    mount(&server, "POST", FEED, ok(json!({ "id": POST_ID }))).await;
    let fb = channel_with_token(&format!("{}/", server.uri()), TOKEN, false);
    assert_eq!(fb.publish(&job(text_post())).await.class(), "published");
    assert_eq!(
        received(&server, TOKEN).await,
        vec![post_form(FEED, &[("message", MESSAGE)])]
    );
}

#[tokio::test]
async fn a_numeric_id_is_read_as_text() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        FEED,
        ok(json!({ "id": 987654321098765_i64 })),
    )
    .await;
    let outcome = channel(&server, false).publish(&job(text_post())).await;
    assert_eq!(
        outcome,
        Outcome::Published {
            remote_id: "987654321098765".into()
        }
    );
}

#[tokio::test]
async fn a_success_without_an_id_is_ambiguous() {
    for answer in [
        ok(json!({})),
        ok(json!({ "id": "" })),
        ResponseTemplate::new(200).set_body_string("<html>OK</html>"),
    ] {
        let server = MockServer::start().await;
        mount(&server, "POST", FEED, answer).await;
        let outcome = channel(&server, false).publish(&job(text_post())).await;
        assert_eq!(outcome.class(), "ambiguous", "{outcome:?}");
        assert_eq!(received(&server, TOKEN).await.len(), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. One photo
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn one_local_photo_is_uploaded_with_its_caption_and_the_post_id_is_kept() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        PHOTOS,
        ok(json!({ "id": "555000111", "post_id": POST_ID })),
    )
    .await;
    let folder = Folder::new();
    folder.file("images/hop-dan.png", PNG);
    let post = folder.post(
        "---\ntitle: \"Họp dân tháng 12\"\nchannels: [facebook]\ncover: images/hop-dan.png\n---\nMời bà con đến nhà văn hoá lúc 8 giờ: điện & nước = 100%.\n",
    );

    let outcome = channel(&server, false).publish(&job(post)).await;

    assert_eq!(
        outcome,
        Outcome::Published {
            remote_id: POST_ID.into()
        },
        "the post id, never the photo id"
    );
    assert_eq!(
        received(&server, TOKEN).await,
        vec![post_multipart(
            PHOTOS,
            upload(
                PartSeen::file("source", "hop-dan.png", "image/png", PNG),
                &[("caption", MESSAGE)]
            )
        )]
    );
}

#[tokio::test]
async fn one_photo_answer_without_post_id_is_ambiguous_not_the_photo_id() {
    let server = MockServer::start().await;
    mount(&server, "POST", PHOTOS, ok(json!({ "id": "555000111" }))).await;
    let folder = Folder::new();
    folder.file("a.jpg", JPEG);
    let post = folder.post("---\ntitle: \"Họp dân tháng 12\"\nchannels: [facebook]\ncover: a.jpg\n---\nMời bà con đến nhà văn hoá lúc 8 giờ: điện & nước = 100%.\n");

    let outcome = channel(&server, false).publish(&job(post)).await;

    assert_eq!(outcome.class(), "ambiguous", "{outcome:?}");
    assert!(!format!("{outcome:?}").contains("555000111"));
}

#[tokio::test]
async fn one_web_photo_is_sent_as_url() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        PHOTOS,
        ok(json!({ "id": "555000111", "post_id": POST_ID })),
    )
    .await;
    let post = Folder::new().post(
        "---\ntitle: \"Họp dân tháng 12\"\nchannels: [facebook]\ncover: \"https://example.gov.vn/anh/hop-dan.jpg\"\n---\nMời bà con đến nhà văn hoá lúc 8 giờ: điện & nước = 100%.\n",
    );

    let outcome = channel(&server, false).publish(&job(post)).await;

    assert_eq!(
        outcome,
        Outcome::Published {
            remote_id: POST_ID.into()
        }
    );
    assert_eq!(
        received(&server, TOKEN).await,
        vec![post_multipart(
            PHOTOS,
            upload(
                PartSeen::text("url", "https://example.gov.vn/anh/hop-dan.jpg"),
                &[("caption", MESSAGE)]
            )
        )]
    );
}

#[tokio::test]
async fn a_link_on_a_photo_post_goes_into_the_caption() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        PHOTOS,
        ok(json!({ "id": "555000111", "post_id": POST_ID })),
    )
    .await;
    let folder = Folder::new();
    folder.file("a.png", PNG);
    let post = folder.post("---\ntitle: \"Họp dân tháng 12\"\nchannels: [facebook]\ncover: a.png\nfacebook: { link: \"https://example.gov.vn/tin/1\" }\n---\nMời bà con đến nhà văn hoá lúc 8 giờ: điện & nước = 100%.\n");

    channel(&server, false).publish(&job(post)).await;

    let caption = format!("{MESSAGE}\n\nhttps://example.gov.vn/tin/1");
    assert_eq!(
        received(&server, TOKEN).await,
        vec![post_multipart(
            PHOTOS,
            upload(
                PartSeen::file("source", "a.png", "image/png", PNG),
                &[("caption", &caption)]
            )
        )]
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Several photos
// ---------------------------------------------------------------------------------------------

/// A post with a cover and two body images: three photos, in the order a, b, c. The folder
/// must outlive the publish (it holds the files).
fn three_photo_post() -> (Folder, Post) {
    let folder = Folder::new();
    folder
        .file("images/a.png", PNG)
        .file("images/b.jpg", JPEG)
        .file("images/c.png", PNG);
    let post = folder.post(
        "---\ntitle: \"Họp dân tháng 12\"\nchannels: [facebook]\ncover: images/a.png\n---\nMời bà con đến nhà văn hoá lúc 8 giờ: điện & nước = 100%.\n\n![Hội trường](images/b.jpg)\n\n![Bà con](images/c.png)\n",
    );
    (folder, post)
}

/// Answers each unpublished upload with an id derived from its file name (a → 555000111, …).
async fn mount_uploads(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(PHOTOS))
        .respond_with(|request: &Request| {
            let content_type = header(request, "content-type").unwrap();
            let parts = decode_multipart(&content_type, &request.body);
            let id = match parts[0].file_name.as_deref() {
                Some("a.png") => "555000111",
                Some("b.jpg") => "555000112",
                Some("c.png") => "555000113",
                other => panic!("unexpected upload {other:?}"),
            };
            ResponseTemplate::new(200).set_body_json(json!({ "id": id }))
        })
        .mount(server)
        .await;
}

fn attached(ids: &[&str]) -> Vec<(String, String)> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            (
                format!("attached_media[{i}]"),
                format!("{{\"media_fbid\":\"{id}\"}}"),
            )
        })
        .collect()
}

fn three_uploads(extra: &[(&str, &str)]) -> Vec<Seen> {
    [
        PartSeen::file("source", "a.png", "image/png", PNG),
        PartSeen::file("source", "b.jpg", "image/jpeg", JPEG),
        PartSeen::file("source", "c.png", "image/png", PNG),
    ]
    .into_iter()
    .map(|first| post_multipart(PHOTOS, upload(first, extra)))
    .collect()
}

#[tokio::test]
async fn three_photos_are_uploaded_unpublished_in_order_then_attached_in_order() {
    let server = MockServer::start().await;
    mount_uploads(&server).await;
    mount(&server, "POST", FEED, ok(json!({ "id": POST_ID }))).await;

    let (_folder, post) = three_photo_post();
    let outcome = channel(&server, false).publish(&job(post)).await;

    assert_eq!(
        outcome,
        Outcome::Published {
            remote_id: POST_ID.into()
        }
    );
    let mut expected = three_uploads(&[("published", "false")]);
    let mut feed = vec![("message".to_string(), MESSAGE.to_string())];
    feed.extend(attached(&["555000111", "555000112", "555000113"]));
    feed.push(("access_token".into(), TOKEN.into()));
    expected.push(Seen {
        method: "POST".into(),
        path: FEED.into(),
        query: vec![],
        body: BodySeen::Form(feed),
    });
    assert_eq!(received(&server, TOKEN).await, expected);
}

#[tokio::test]
async fn a_failed_upload_is_transient_and_no_post_is_created() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PHOTOS))
        .respond_with(ok(json!({ "id": "555000111" })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount(
        &server,
        "POST",
        PHOTOS,
        graph_error(500, 2, None, "An unexpected error has occurred."),
    )
    .await;
    mount(&server, "POST", FEED, ok(json!({ "id": POST_ID }))).await;

    let (_folder, post) = three_photo_post();
    let outcome = channel(&server, false).publish(&job(post)).await;

    // An unpublished upload is not a post: retrying it is safe.
    assert_eq!(outcome.class(), "transient", "{outcome:?}");
    let seen = received(&server, TOKEN).await;
    assert_eq!(seen, three_uploads(&[("published", "false")])[..2].to_vec());
    assert!(seen.iter().all(|s| s.path != FEED));
}

#[tokio::test]
async fn an_upload_without_an_id_stops_before_the_feed_post() {
    let server = MockServer::start().await;
    mount(&server, "POST", PHOTOS, ok(json!({ "success": true }))).await;
    let (_folder, post) = three_photo_post();
    let outcome = channel(&server, false).publish(&job(post)).await;
    assert_eq!(outcome.class(), "transient", "{outcome:?}");
    assert_eq!(received(&server, TOKEN).await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 4. Native scheduling
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn native_scheduling_three_days_ahead_hands_the_post_to_facebook() {
    let server = MockServer::start().await;
    mount(&server, "POST", FEED, ok(json!({ "id": POST_ID }))).await;
    let due = now() + Duration::days(3);
    let fb = channel(&server, true);

    let outcome = fb.publish(&job_at(text_post(), due).0).await;

    assert_eq!(
        outcome,
        Outcome::ScheduledOnPlatform {
            remote_id: POST_ID.into(),
            at: due
        }
    );
    let ts = due.timestamp().to_string();
    assert_eq!(ts, "1796342400");
    assert_eq!(
        received(&server, TOKEN).await,
        vec![post_form(
            FEED,
            &[
                ("message", MESSAGE),
                ("published", "false"),
                ("scheduled_publish_time", &ts)
            ]
        )]
    );
    assert_eq!(
        fb.native_window(),
        Some((Duration::minutes(15), Duration::days(29)))
    );
}

#[tokio::test]
async fn five_minutes_ahead_or_native_off_publishes_now() {
    for (native, due) in [
        (true, now() + Duration::minutes(5)),
        (false, now() + Duration::days(3)),
        (true, now() + Duration::days(31)),
        (true, now() - Duration::minutes(1)),
    ] {
        let server = MockServer::start().await;
        mount(&server, "POST", FEED, ok(json!({ "id": POST_ID }))).await;
        let fb = channel(&server, native);
        if !native {
            assert_eq!(fb.native_window(), None);
        }

        let outcome = fb.publish(&job_at(text_post(), due).0).await;

        assert_eq!(
            outcome,
            Outcome::Published {
                remote_id: POST_ID.into()
            },
            "native {native}, due {due}"
        );
        assert_eq!(
            received(&server, TOKEN).await,
            vec![post_form(FEED, &[("message", MESSAGE)])],
            "native {native}, due {due}"
        );
    }
}

#[tokio::test]
async fn scheduled_multi_photo_uploads_are_temporary() {
    let server = MockServer::start().await;
    mount_uploads(&server).await;
    mount(&server, "POST", FEED, ok(json!({ "id": POST_ID }))).await;
    let due = now() + Duration::days(3);

    let (_folder, post) = three_photo_post();
    let outcome = channel(&server, true).publish(&job_at(post, due).0).await;

    assert_eq!(
        outcome,
        Outcome::ScheduledOnPlatform {
            remote_id: POST_ID.into(),
            at: due
        }
    );
    let mut expected = three_uploads(&[("published", "false"), ("temporary", "true")]);
    let mut feed = vec![("message".to_string(), MESSAGE.to_string())];
    feed.extend(attached(&["555000111", "555000112", "555000113"]));
    feed.extend(pairs(&[
        ("published", "false"),
        ("scheduled_publish_time", &due.timestamp().to_string()),
        ("access_token", TOKEN),
    ]));
    expected.push(Seen {
        method: "POST".into(),
        path: FEED.into(),
        query: vec![],
        body: BodySeen::Form(feed),
    });
    assert_eq!(received(&server, TOKEN).await, expected);
}

#[tokio::test]
async fn a_scheduled_single_photo_is_uploaded_then_scheduled_as_a_feed_post() {
    let server = MockServer::start().await;
    mount(&server, "POST", PHOTOS, ok(json!({ "id": "555000111" }))).await;
    mount(&server, "POST", FEED, ok(json!({ "id": POST_ID }))).await;
    let folder = Folder::new();
    folder.file("a.png", PNG);
    let post = folder.post("---\ntitle: \"Họp dân tháng 12\"\nchannels: [facebook]\ncover: a.png\n---\nMời bà con đến nhà văn hoá lúc 8 giờ: điện & nước = 100%.\n");
    let due = now() + Duration::days(3);

    let outcome = channel(&server, true).publish(&job_at(post, due).0).await;

    assert_eq!(
        outcome,
        Outcome::ScheduledOnPlatform {
            remote_id: POST_ID.into(),
            at: due
        }
    );
    let ts = due.timestamp().to_string();
    let mut feed = vec![("message".to_string(), MESSAGE.to_string())];
    feed.extend(attached(&["555000111"]));
    feed.extend(pairs(&[
        ("published", "false"),
        ("scheduled_publish_time", &ts),
        ("access_token", TOKEN),
    ]));
    assert_eq!(
        received(&server, TOKEN).await,
        vec![
            post_multipart(
                PHOTOS,
                upload(
                    PartSeen::file("source", "a.png", "image/png", PNG),
                    &[("published", "false"), ("temporary", "true")]
                )
            ),
            Seen {
                method: "POST".into(),
                path: FEED.into(),
                query: vec![],
                body: BodySeen::Form(feed),
            }
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Update
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn update_posts_the_new_message_to_the_post() {
    let server = MockServer::start().await;
    mount(&server, "POST", NODE, ok(json!({ "success": true }))).await;

    let outcome = channel(&server, false)
        .update(&job(text_post()), POST_ID)
        .await;

    assert_eq!(
        outcome,
        Outcome::Published {
            remote_id: POST_ID.into()
        }
    );
    assert_eq!(
        received(&server, TOKEN).await,
        vec![post_form(NODE, &[("message", MESSAGE)])]
    );
}

#[tokio::test]
async fn update_answered_success_false_is_not_published() {
    let server = MockServer::start().await;
    mount(&server, "POST", NODE, ok(json!({ "success": false }))).await;

    let outcome = channel(&server, false)
        .update(&job(text_post()), POST_ID)
        .await;

    assert!(!matches!(outcome, Outcome::Published { .. }), "{outcome:?}");
    assert_eq!(outcome.class(), "transient");
}

#[tokio::test]
async fn update_of_a_post_held_by_facebook_keeps_its_time() {
    let server = MockServer::start().await;
    mount(&server, "POST", NODE, ok(json!({ "success": true }))).await;
    let due = now() + Duration::days(3);
    let (mut j, _) = job_at(text_post(), due);
    j.scheduled_on_platform = true;

    let outcome = channel(&server, true).update(&j, POST_ID).await;

    assert_eq!(
        outcome,
        Outcome::Published {
            remote_id: POST_ID.into()
        }
    );
    assert_eq!(
        received(&server, TOKEN).await,
        vec![post_form(
            NODE,
            &[
                ("message", MESSAGE),
                ("scheduled_publish_time", &due.timestamp().to_string())
            ]
        )]
    );
}

#[tokio::test]
async fn update_of_a_held_post_due_too_soon_publishes_it_now() {
    let server = MockServer::start().await;
    mount(&server, "POST", NODE, ok(json!({ "success": true }))).await;
    let (mut j, _) = job_at(text_post(), now() + Duration::minutes(5));
    j.scheduled_on_platform = true;

    channel(&server, true).update(&j, POST_ID).await;

    assert_eq!(
        received(&server, TOKEN).await,
        vec![post_form(
            NODE,
            &[("message", MESSAGE), ("is_published", "true")]
        )]
    );
}

#[tokio::test]
async fn update_of_a_deleted_post_is_permanent() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        NODE,
        graph_error(
            400,
            100,
            Some(33),
            "Unsupported post request. Object with ID '123456789012345_987654321098765' does not exist",
        ),
    )
    .await;
    let outcome = channel(&server, false)
        .update(&job(text_post()), POST_ID)
        .await;
    assert_eq!(outcome.class(), "permanent", "{outcome:?}");
    assert!(outcome.message().unwrap().contains("does not exist"));
}

// ---------------------------------------------------------------------------------------------
// 6. Delete
// ---------------------------------------------------------------------------------------------

fn delete_request() -> Seen {
    Seen {
        method: "DELETE".into(),
        path: NODE.into(),
        query: pairs(&[("access_token", TOKEN)]),
        body: BodySeen::Empty,
    }
}

#[tokio::test]
async fn delete_sends_delete_with_the_token_in_the_query() {
    let server = MockServer::start().await;
    mount(&server, "DELETE", NODE, ok(json!({ "success": true }))).await;

    let outcome = channel(&server, false).delete(POST_ID).await;

    assert_eq!(
        outcome,
        Outcome::Published {
            remote_id: POST_ID.into()
        }
    );
    assert_eq!(received(&server, TOKEN).await, vec![delete_request()]);
}

#[tokio::test]
async fn delete_answered_success_false_is_transient() {
    let server = MockServer::start().await;
    mount(&server, "DELETE", NODE, ok(json!({ "success": false }))).await;
    let outcome = channel(&server, false).delete(POST_ID).await;
    assert_eq!(outcome.class(), "transient", "{outcome:?}");
    assert_eq!(received(&server, TOKEN).await, vec![delete_request()]);
}

#[tokio::test]
async fn delete_of_a_post_already_gone_is_done() {
    let server = MockServer::start().await;
    mount(
        &server,
        "DELETE",
        NODE,
        graph_error(
            400,
            100,
            Some(33),
            "Unsupported delete request. Object with ID '123456789012345_987654321098765' does not exist",
        ),
    )
    .await;
    let outcome = channel(&server, false).delete(POST_ID).await;
    assert_eq!(
        outcome,
        Outcome::Published {
            remote_id: POST_ID.into()
        }
    );
}

#[tokio::test]
async fn delete_server_error_is_transient_not_ambiguous() {
    let server = MockServer::start().await;
    mount(&server, "DELETE", NODE, ResponseTemplate::new(503)).await;
    let outcome = channel(&server, false).delete(POST_ID).await;
    assert_eq!(outcome.class(), "transient", "{outcome:?}");
}

// ---------------------------------------------------------------------------------------------
// 7. Confirm
// ---------------------------------------------------------------------------------------------

fn confirm_request() -> Seen {
    get(
        NODE,
        &[("fields", "id,is_published,scheduled_publish_time")],
    )
}

#[tokio::test]
async fn confirm_of_a_published_post() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        NODE,
        ok(json!({ "id": POST_ID, "is_published": true })),
    )
    .await;

    let outcome = channel(&server, true)
        .confirm(&job(text_post()), POST_ID)
        .await;

    assert_eq!(
        outcome,
        Outcome::Published {
            remote_id: POST_ID.into()
        }
    );
    assert_eq!(received(&server, TOKEN).await, vec![confirm_request()]);
}

#[tokio::test]
async fn confirm_of_a_post_still_held_for_later() {
    let at = now() + Duration::hours(2);
    for time in [json!(at.timestamp()), json!(at.timestamp().to_string())] {
        let server = MockServer::start().await;
        mount(
            &server,
            "GET",
            NODE,
            ok(json!({ "id": POST_ID, "is_published": false, "scheduled_publish_time": time })),
        )
        .await;

        let outcome = channel(&server, true)
            .confirm(&job(text_post()), POST_ID)
            .await;

        assert_eq!(
            outcome,
            Outcome::ScheduledOnPlatform {
                remote_id: POST_ID.into(),
                at
            }
        );
        assert_eq!(received(&server, TOKEN).await, vec![confirm_request()]);
    }
}

#[tokio::test]
async fn confirm_of_a_post_late_to_go_out_looks_again() {
    let server = MockServer::start().await;
    let past = now() - Duration::minutes(3);
    mount(
        &server,
        "GET",
        NODE,
        ok(json!({ "id": POST_ID, "is_published": false, "scheduled_publish_time": past.timestamp() })),
    )
    .await;
    let outcome = channel(&server, true)
        .confirm(&job(text_post()), POST_ID)
        .await;
    assert_eq!(outcome.class(), "transient", "{outcome:?}");
}

#[tokio::test]
async fn confirm_of_a_deleted_post_is_permanent() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        NODE,
        graph_error(
            400,
            100,
            Some(33),
            "Unsupported get request. Object with ID '123456789012345_987654321098765' does not exist",
        ),
    )
    .await;
    let outcome = channel(&server, true)
        .confirm(&job(text_post()), POST_ID)
        .await;
    assert_eq!(outcome.class(), "permanent", "{outcome:?}");
    assert_eq!(received(&server, TOKEN).await, vec![confirm_request()]);
}

// ---------------------------------------------------------------------------------------------
// 8. Errors, end to end
// ---------------------------------------------------------------------------------------------

/// Publishes the text post against a fake that answers `answer`; returns the outcome and checks
/// that exactly one request was sent.
async fn publish_answered(answer: ResponseTemplate) -> Outcome {
    let server = MockServer::start().await;
    mount(&server, "POST", FEED, answer).await;
    let outcome = channel(&server, false).publish(&job(text_post())).await;
    assert_eq!(
        received(&server, TOKEN).await,
        vec![post_form(FEED, &[("message", MESSAGE)])]
    );
    outcome
}

#[tokio::test]
async fn server_error_code_2_on_publish_is_ambiguous() {
    let outcome = publish_answered(graph_error(
        500,
        2,
        None,
        "An unexpected error has occurred. Please retry your request later.",
    ))
    .await;
    assert_eq!(outcome.class(), "ambiguous", "{outcome:?}");
    assert!(
        outcome
            .message()
            .unwrap()
            .contains("An unexpected error has occurred"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn server_error_without_a_body_on_publish_is_ambiguous() {
    let outcome =
        publish_answered(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
            .await;
    assert_eq!(outcome.class(), "ambiguous", "{outcome:?}");
}

#[tokio::test]
async fn expired_token_asks_the_officer_to_authorise_again() {
    let outcome = publish_answered(graph_error(
        400,
        190,
        Some(463),
        "Error validating access token: Session has expired on Monday, 30-Nov-26.",
    ))
    .await;
    let Outcome::AuthExpired { message } = &outcome else {
        panic!("expected AuthExpired, got {outcome:?}");
    };
    assert!(message.contains("loa auth facebook"), "{message}");
    assert!(message.contains("LOA_FACEBOOK_PAGE_TOKEN"), "{message}");
    assert!(message.contains("Session has expired"), "{message}");
}

#[tokio::test]
async fn invalid_parameter_is_permanent_with_facebooks_words() {
    let outcome = publish_answered(ResponseTemplate::new(400).set_body_json(json!({"error": {
        "message": "(#100) Invalid parameter",
        "type": "OAuthException",
        "code": 100,
        "error_user_title": "Liên kết không hợp lệ",
        "error_user_msg": "The link could not be fetched.",
        "fbtrace_id": "A9"
    }})))
    .await;
    let Outcome::Permanent { message } = &outcome else {
        panic!("expected Permanent, got {outcome:?}");
    };
    assert!(message.contains("(#100) Invalid parameter"), "{message}");
    assert!(
        message.contains("The link could not be fetched."),
        "{message}"
    );
}

#[tokio::test]
async fn duplicate_refusal_is_ambiguous() {
    let outcome = publish_answered(graph_error(
        400,
        506,
        None,
        "(#506) Duplicate status message",
    ))
    .await;
    assert_eq!(outcome.class(), "ambiguous", "{outcome:?}");
    assert!(
        outcome
            .message()
            .unwrap()
            .contains("(#506) Duplicate status message")
    );
}

#[tokio::test]
async fn page_rate_limit_pauses_for_the_usage_estimate() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        FEED,
        graph_error(
            400,
            80001,
            None,
            "(#80001) There have been too many calls to this Page account. Wait a bit and try again.",
        )
        .insert_header(
            "X-Business-Use-Case-Usage",
            r#"{"123456789012345":[{"type":"pages","call_count":100,"total_cputime":10,"total_time":12,"estimated_time_to_regain_access":12}]}"#,
        ),
    )
    .await;
    let fb = channel(&server, false);

    let outcome = fb.publish(&job(text_post())).await;

    let Outcome::RateLimited { until, message } = &outcome else {
        panic!("expected RateLimited, got {outcome:?}");
    };
    assert_near(*until, now() + Duration::minutes(12));
    assert!(message.contains("80001"), "{message}");

    // Calling while throttled extends the block: the next call is not even sent.
    let again = fb.publish(&job(text_post())).await;
    let Outcome::RateLimited {
        until: again_until, ..
    } = again
    else {
        panic!("expected RateLimited, got {again:?}");
    };
    assert_eq!(again_until, *until);
    assert_eq!(received(&server, TOKEN).await.len(), 1);
}

#[tokio::test]
async fn http_429_without_a_code_is_rate_limited_for_an_hour() {
    let outcome = publish_answered(ResponseTemplate::new(429)).await;
    let Outcome::RateLimited { until, .. } = outcome else {
        panic!("expected RateLimited, got {outcome:?}");
    };
    assert_near(until, now() + Duration::hours(1));
}

#[tokio::test]
async fn a_connection_failure_on_publish_is_ambiguous() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let fb = channel_with_token(&format!("http://127.0.0.1:{port}"), TOKEN, false);

    let outcome = fb.publish(&job(text_post())).await;
    assert_eq!(outcome.class(), "ambiguous", "{outcome:?}");

    // The same failure on calls that cannot create a post is simply retried.
    let deleted = fb.delete(POST_ID).await;
    assert_eq!(deleted.class(), "transient", "{deleted:?}");
    let found = fb.reconcile(&job(text_post()), now()).await;
    assert!(matches!(found, Reconciled::Unknown { .. }), "{found:?}");
}

#[tokio::test]
async fn a_photo_post_server_error_is_ambiguous() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        PHOTOS,
        graph_error(500, 1, None, "An unknown error has occurred."),
    )
    .await;
    let folder = Folder::new();
    folder.file("a.png", PNG);
    let post = folder.post("---\ntitle: \"Họp dân tháng 12\"\nchannels: [facebook]\ncover: a.png\n---\nMời bà con đến nhà văn hoá lúc 8 giờ: điện & nước = 100%.\n");
    // A single /photos without published=false is a publish POST: it may have created the post.
    let outcome = channel(&server, false).publish(&job(post)).await;
    assert_eq!(outcome.class(), "ambiguous", "{outcome:?}");
}

// ---------------------------------------------------------------------------------------------
// 9. Usage headers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn high_usage_on_a_success_pauses_the_channel_before_the_next_call() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        FEED,
        ok(json!({ "id": POST_ID })).insert_header(
            "X-App-Usage",
            r#"{"call_count":95,"total_time":20,"total_cputime":20}"#,
        ),
    )
    .await;
    let fb = channel(&server, false);

    let first = fb.publish(&job(text_post())).await;
    assert_eq!(
        first,
        Outcome::Published {
            remote_id: POST_ID.into()
        }
    );

    let second = fb.publish(&job(text_post())).await;
    let Outcome::RateLimited { until, .. } = second else {
        panic!("expected RateLimited, got {second:?}");
    };
    assert_near(until, now() + Duration::hours(1));
    // Every other call waits too, and none reaches Facebook.
    assert_eq!(fb.delete(POST_ID).await.class(), "rate_limited");
    assert!(matches!(
        fb.reconcile(&job(text_post()), now()).await,
        Reconciled::Paused { .. }
    ));
    assert_eq!(
        received(&server, TOKEN).await,
        vec![post_form(FEED, &[("message", MESSAGE)])],
        "no request after the pause"
    );
}

#[tokio::test]
async fn usage_headers_are_read_on_refusals_too() {
    // The legacy X-Page-Usage at 92 % on an error answer: one hour.
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        NODE,
        graph_error(400, 100, None, "(#100) Invalid parameter").insert_header(
            "X-Page-Usage",
            r#"{"call_count":92,"total_time":10,"total_cputime":10}"#,
        ),
    )
    .await;
    let fb = channel(&server, false);
    assert_eq!(
        fb.update(&job(text_post()), POST_ID).await.class(),
        "permanent"
    );
    let Outcome::RateLimited { until, .. } = fb.delete(POST_ID).await else {
        panic!("expected the channel to be paused");
    };
    assert_near(until, now() + Duration::hours(1));
    assert_eq!(received(&server, TOKEN).await.len(), 1);
}

#[tokio::test]
async fn a_regain_estimate_on_a_success_pauses_for_that_long() {
    let server = MockServer::start().await;
    mount(
        &server,
        "DELETE",
        NODE,
        ok(json!({ "success": true })).insert_header(
            "X-Business-Use-Case-Usage",
            r#"{"123456789012345":[{"type":"pages","call_count":40,"total_cputime":10,"total_time":12,"estimated_time_to_regain_access":7}]}"#,
        ),
    )
    .await;
    let fb = channel(&server, false);
    assert_eq!(fb.delete(POST_ID).await.class(), "published");
    let Outcome::RateLimited { until, .. } = fb.publish(&job(text_post())).await else {
        panic!("expected the channel to be paused");
    };
    assert_near(until, now() + Duration::minutes(7));
    assert_eq!(received(&server, TOKEN).await, vec![delete_request()]);
}

#[tokio::test]
async fn moderate_usage_does_not_pause() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        FEED,
        ok(json!({ "id": POST_ID }))
            .insert_header(
                "X-App-Usage",
                r#"{"call_count":28,"total_time":25,"total_cputime":25}"#,
            )
            .insert_header(
                "X-Business-Use-Case-Usage",
                r#"{"123456789012345":[{"type":"pages","call_count":50,"total_cputime":23,"total_time":23,"estimated_time_to_regain_access":0}]}"#,
            ),
    )
    .await;
    let fb = channel(&server, false);
    for _ in 0..2 {
        assert_eq!(fb.publish(&job(text_post())).await.class(), "published");
    }
    assert_eq!(received(&server, TOKEN).await.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// 10. Reconciliation
// ---------------------------------------------------------------------------------------------

fn listed(entries: Value) -> ResponseTemplate {
    ok(json!({ "data": entries, "paging": { "cursors": { "before": "b", "after": "a" } } }))
}

#[tokio::test]
async fn reconcile_finds_the_post_by_its_exact_message_since_the_attempt() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        PUBLISHED_POSTS,
        listed(json!([
            { "id": "123456789012345_1", "message": "Một bài khác", "created_time": "2026-12-01T00:00:09+0000" },
            { "id": "123456789012345_2", "message": "Họp dân tháng 12", "created_time": "2026-12-01T00:00:08+0000" },
            { "id": POST_ID, "message": format!("{MESSAGE}\n"), "created_time": "2026-12-01T00:00:05+0000" },
        ])),
    )
    .await;

    let found = channel(&server, false)
        .reconcile(&job(text_post()), now())
        .await;

    assert_eq!(
        found,
        Reconciled::Found {
            remote_id: POST_ID.into()
        }
    );
    assert_eq!(
        received(&server, TOKEN).await,
        vec![listing(PUBLISHED_POSTS)]
    );
}

#[tokio::test]
async fn reconcile_ignores_the_same_message_posted_before_the_attempt() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        PUBLISHED_POSTS,
        listed(json!([
            { "id": POST_ID, "message": MESSAGE, "created_time": "2026-11-30T23:59:59+0000" },
        ])),
    )
    .await;

    let found = channel(&server, false)
        .reconcile(&job(text_post()), now())
        .await;

    assert_eq!(found, Reconciled::Absent);
    assert_eq!(
        received(&server, TOKEN).await,
        vec![listing(PUBLISHED_POSTS)],
        "native scheduling is off: no scheduled_posts listing"
    );
}

#[tokio::test]
async fn reconcile_reads_other_time_offsets() {
    let server = MockServer::start().await;
    // 07:00:05 in Vietnam is 00:00:05 UTC, after `since`.
    mount(
        &server,
        "GET",
        PUBLISHED_POSTS,
        listed(json!([
            { "id": POST_ID, "message": MESSAGE, "created_time": "2026-12-01T07:00:05+0700" },
        ])),
    )
    .await;
    let found = channel(&server, false)
        .reconcile(&job(text_post()), now())
        .await;
    assert_eq!(
        found,
        Reconciled::Found {
            remote_id: POST_ID.into()
        }
    );
}

#[tokio::test]
async fn reconcile_with_an_empty_page_is_absent() {
    let server = MockServer::start().await;
    mount(&server, "GET", PUBLISHED_POSTS, listed(json!([]))).await;
    mount(&server, "GET", SCHEDULED_POSTS, ok(json!({ "data": [] }))).await;
    let found = channel(&server, true)
        .reconcile(&job(text_post()), now())
        .await;
    assert_eq!(found, Reconciled::Absent);
    assert_eq!(
        received(&server, TOKEN).await,
        vec![listing(PUBLISHED_POSTS), listing(SCHEDULED_POSTS)]
    );
}

#[tokio::test]
async fn reconcile_cannot_tell_when_the_listing_fails() {
    // A passing failure is tried again (it counts); a dead token waits for a new one (it does not).
    for (answer, passing) in [
        (
            graph_error(500, 2, None, "Service temporarily unavailable"),
            true,
        ),
        (
            graph_error(
                400,
                190,
                Some(460),
                "Error validating access token: password changed",
            ),
            false,
        ),
        (ResponseTemplate::new(200).set_body_string("not json"), true),
    ] {
        let server = MockServer::start().await;
        mount(&server, "GET", PUBLISHED_POSTS, answer).await;
        let found = channel(&server, true)
            .reconcile(&job(text_post()), now())
            .await;
        if passing {
            assert!(matches!(found, Reconciled::Unknown { .. }), "{found:?}");
        } else {
            assert!(matches!(found, Reconciled::AuthExpired { .. }), "{found:?}");
        }
        assert_eq!(
            received(&server, TOKEN).await,
            vec![listing(PUBLISHED_POSTS)]
        );
    }
}

#[tokio::test]
async fn reconcile_cannot_tell_when_the_scheduled_listing_fails() {
    let server = MockServer::start().await;
    mount(&server, "GET", PUBLISHED_POSTS, listed(json!([]))).await;
    mount(
        &server,
        "GET",
        SCHEDULED_POSTS,
        graph_error(500, 2, None, "Service temporarily unavailable"),
    )
    .await;
    let found = channel(&server, true)
        .reconcile(&job(text_post()), now())
        .await;
    assert!(matches!(found, Reconciled::Unknown { .. }), "{found:?}");
}

#[tokio::test]
async fn reconcile_with_native_scheduling_finds_a_post_facebook_holds() {
    let server = MockServer::start().await;
    let at = now() + Duration::days(3);
    mount(&server, "GET", PUBLISHED_POSTS, listed(json!([]))).await;
    mount(
        &server,
        "GET",
        SCHEDULED_POSTS,
        listed(json!([
            { "id": POST_ID, "message": MESSAGE, "created_time": "2026-12-01T00:00:05+0000",
              "scheduled_publish_time": at.timestamp() },
        ])),
    )
    .await;

    let found = channel(&server, true)
        .reconcile(&job_at(text_post(), at).0, now())
        .await;

    assert_eq!(
        found,
        Reconciled::FoundScheduled {
            remote_id: POST_ID.into(),
            at
        }
    );
    assert_eq!(
        received(&server, TOKEN).await,
        vec![listing(PUBLISHED_POSTS), listing(SCHEDULED_POSTS)]
    );
}

// ---------------------------------------------------------------------------------------------
// 11. The ghost post
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_post_created_behind_a_500_is_found_and_not_posted_twice() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        FEED,
        graph_error(
            500,
            2,
            None,
            "An unexpected error has occurred. Please retry your request later.",
        ),
    )
    .await;
    // Facebook did create the post.
    mount(
        &server,
        "GET",
        PUBLISHED_POSTS,
        listed(json!([
            { "id": POST_ID, "message": MESSAGE, "created_time": "2026-12-01T00:00:01+0000" },
        ])),
    )
    .await;
    let fb = channel(&server, false);
    let j = job(text_post());

    let outcome = fb.publish(&j).await;
    assert_eq!(outcome.class(), "ambiguous", "{outcome:?}");

    // What the engine does next: look before sending again (since = attempt start − 2 min).
    let found = fb.reconcile(&j, now() - Duration::minutes(2)).await;
    assert_eq!(
        found,
        Reconciled::Found {
            remote_id: POST_ID.into()
        }
    );

    let seen = received(&server, TOKEN).await;
    assert_eq!(
        seen,
        vec![
            post_form(FEED, &[("message", MESSAGE)]),
            listing(PUBLISHED_POSTS)
        ]
    );
    assert_eq!(seen.iter().filter(|s| s.path == FEED).count(), 1);
}

// ---------------------------------------------------------------------------------------------
// The token stays secret
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_token_is_only_ever_sent_as_access_token_and_never_shown() {
    const SECRET: &str = "PT-SECRET";
    let server = MockServer::start().await;
    // Facebook quotes a malformed token back in its message.
    let echo = format!("Malformed access token {SECRET}");
    mount(
        &server,
        "POST",
        FEED,
        ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": echo, "type": "OAuthException", "code": 190, "fbtrace_id": "A3"
        }})),
    )
    .await;
    mount(
        &server,
        "POST",
        PHOTOS,
        graph_error(
            500,
            2,
            None,
            &format!("Service unavailable for access_token={SECRET}"),
        ),
    )
    .await;
    mount(
        &server,
        "POST",
        NODE,
        graph_error(
            400,
            100,
            None,
            &format!("(#100) Invalid parameter (token {SECRET})"),
        ),
    )
    .await;
    mount(
        &server,
        "DELETE",
        NODE,
        graph_error(
            400,
            10,
            None,
            &format!("(#10) Permission denied for {SECRET}"),
        ),
    )
    .await;
    mount(
        &server,
        "GET",
        NODE,
        graph_error(
            400,
            100,
            Some(33),
            &format!("Object does not exist ({SECRET})"),
        ),
    )
    .await;
    mount(
        &server,
        "GET",
        PUBLISHED_POSTS,
        graph_error(
            400,
            190,
            Some(463),
            &format!("Session has expired: {SECRET}"),
        ),
    )
    .await;

    let fb = channel_with_token(&server.uri(), SECRET, true);
    let folder = Folder::new();
    folder.file("a.png", PNG).file("b.jpg", JPEG);
    let photos = folder.post("---\ntitle: \"Họp dân tháng 12\"\nchannels: [facebook]\ncover: a.png\n---\nMời bà con.\n\n![b](b.jpg)\n");

    let outcomes = vec![
        fb.publish(&job(text_post())).await,
        fb.publish(&job(photos)).await,
        fb.update(&job(text_post()), POST_ID).await,
        fb.delete(POST_ID).await,
        fb.confirm(&job(text_post()), POST_ID).await,
    ];
    let reconciled = fb.reconcile(&job(text_post()), now()).await;

    for outcome in &outcomes {
        let text = format!("{outcome:?}");
        assert!(!text.contains(SECRET), "token in an outcome: {text}");
        assert!(outcome.message().is_some(), "{outcome:?}");
    }
    assert!(
        outcomes[0]
            .message()
            .unwrap()
            .contains("Malformed access token [hidden]"),
        "{:?}",
        outcomes[0]
    );
    let text = format!("{reconciled:?}");
    assert!(
        !matches!(
            reconciled,
            Reconciled::Found { .. } | Reconciled::FoundScheduled { .. } | Reconciled::Absent
        ),
        "{text}"
    );
    assert!(!text.contains(SECRET), "token in a reconciliation: {text}");

    let seen = received(&server, SECRET).await;
    assert_eq!(
        seen.iter()
            .map(|s| (s.method.as_str(), s.path.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("POST", FEED),
            ("POST", PHOTOS),
            ("POST", NODE),
            ("DELETE", NODE),
            ("GET", NODE),
            ("GET", PUBLISHED_POSTS),
        ]
    );
}
