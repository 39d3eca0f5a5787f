//! The engine and the real Facebook client against a strict, stateful fake Graph API on
//! 127.0.0.1: text, link, one-photo and three-photo posts, with server errors, lost answers
//! (the post was made, the answer never came) and a rate limit injected. Every post must end on
//! the Page exactly once, and no request may break the documented shapes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use loa::config::Config;
use loa::engine::{Clock, Engine};
use loa::facebook::client::FacebookChannel;
use loa::publisher::Publisher;
use loa::store::{State, Store};

const PAGE: &str = "123456789012345";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

/// A fault to inject on the Nth call of an endpoint.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// 500 code 2 without doing anything.
    ServerError,
    /// Do the work, then answer 500 (the answer is lost).
    Ghost,
    /// 400 code 4 with a one-minute regain estimate.
    RateLimit,
    /// 503 with no body.
    Unavailable,
}

#[derive(Default)]
struct Page {
    /// (id, message, created_time, photo ids)
    posts: Vec<(String, String, String, Vec<String>)>,
    /// Unpublished photo uploads not attached yet.
    loose_photos: Vec<String>,
    next_id: u64,
    feed_calls: usize,
    photo_calls: usize,
    feed_faults: BTreeMap<usize, Fault>,
    photo_faults: BTreeMap<usize, Fault>,
    violations: Vec<String>,
}

impl Page {
    fn id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    fn post(&mut self, message: String, photos: Vec<String>) -> String {
        let id = format!("{PAGE}_{}", self.id());
        let created = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S+0000")
            .to_string();
        self.posts.push((id.clone(), message, created, photos));
        id
    }
}

fn graph_error(status: u16, code: i64, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(serde_json::json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "T"}}))
}

fn fault_answer(f: Fault, ok: serde_json::Value) -> ResponseTemplate {
    match f {
        Fault::ServerError | Fault::Ghost => graph_error(500, 2, "An unexpected error has occurred. Please retry your request later."),
        Fault::RateLimit => graph_error(400, 4, "(#4) Application request limit reached").insert_header(
            "x-business-use-case-usage",
            format!(r#"{{"{PAGE}":[{{"type":"pages","call_count":100,"total_cputime":10,"total_time":12,"estimated_time_to_regain_access":1}}]}}"#),
        ),
        Fault::Unavailable => ResponseTemplate::new(503),
    }
    .append_header("x-debug-would-have-been", ok.to_string())
}

fn form(body: &[u8]) -> Vec<(String, String)> {
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

/// One multipart part: (name, filename, bytes).
type FormPart = (String, Option<String>, Vec<u8>);

/// A minimal multipart/form-data reader.
fn multipart(req: &Request) -> Option<Vec<FormPart>> {
    let ct = req.headers.get("content-type")?.to_str().ok()?;
    let boundary = ct.split("boundary=").nth(1)?.trim_matches('"');
    let delimiter = format!("--{boundary}");
    let body = &req.body;
    let mut parts = Vec::new();
    let positions: Vec<usize> = body
        .windows(delimiter.len())
        .enumerate()
        .filter(|(_, w)| *w == delimiter.as_bytes())
        .map(|(i, _)| i)
        .collect();
    for pair in positions.windows(2) {
        let chunk = &body[pair[0] + delimiter.len()..pair[1]];
        let chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
        let chunk = chunk.strip_suffix(b"\r\n").unwrap_or(chunk);
        let split = chunk.windows(4).position(|w| w == b"\r\n\r\n")?;
        let headers = String::from_utf8_lossy(&chunk[..split]).to_string();
        let content = chunk[split + 4..].to_vec();
        let attr = |key: &str| {
            headers.split(';').map(str::trim).find_map(|kv| {
                kv.strip_prefix(&format!("{key}=\""))
                    .map(|v| v.trim_end_matches('"').to_string())
            })
        };
        parts.push((attr("name")?, attr("filename"), content));
    }
    Some(parts)
}

struct Feed(Arc<Mutex<Page>>);

impl Respond for Feed {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut page = self.0.lock().unwrap();
        page.feed_calls += 1;
        let fault = page.feed_faults.get(&page.feed_calls).copied();
        let fields = form(&req.body);
        let mut message = None;
        let mut attached = Vec::new();
        for (k, v) in &fields {
            match k.as_str() {
                "access_token" if v == "PT" => {}
                "message" => message = Some(v.clone()),
                "link" if v.starts_with("https://") => {}
                k if k.starts_with("attached_media[") => {
                    match serde_json::from_str::<serde_json::Value>(v)
                        .ok()
                        .and_then(|j| j["media_fbid"].as_str().map(String::from))
                    {
                        Some(id) if page.loose_photos.contains(&id) => attached.push(id),
                        _ => page
                            .violations
                            .push(format!("feed: bad attached_media {v}")),
                    }
                }
                other => page
                    .violations
                    .push(format!("feed: unexpected field {other}={v}")),
            }
        }
        let message = match message {
            Some(m) if !m.trim().is_empty() => m,
            _ => {
                page.violations.push("feed: no message".into());
                return graph_error(400, 197, "(#197) The post is empty");
            }
        };
        if let Some(f @ (Fault::ServerError | Fault::RateLimit | Fault::Unavailable)) = fault {
            return fault_answer(f, serde_json::json!({}));
        }
        page.loose_photos.retain(|p| !attached.contains(p));
        let id = page.post(message, attached);
        match fault {
            Some(Fault::Ghost) => fault_answer(Fault::Ghost, serde_json::json!({ "id": id })),
            _ => ResponseTemplate::new(200).set_body_json(serde_json::json!({ "id": id })),
        }
    }
}

struct Photos(Arc<Mutex<Page>>);

impl Respond for Photos {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut page = self.0.lock().unwrap();
        page.photo_calls += 1;
        let fault = page.photo_faults.get(&page.photo_calls).copied();
        let Some(parts) = multipart(req) else {
            page.violations.push("photos: not multipart".into());
            return graph_error(400, 100, "(#100) Invalid parameter");
        };
        let mut caption = None;
        let mut published = true;
        let mut has_photo = 0;
        for (name, filename, content) in &parts {
            match name.as_str() {
                "source"
                    if filename.is_some()
                        && (content.starts_with(b"\x89PNG")
                            || content.starts_with(b"\xFF\xD8\xFF")) =>
                {
                    has_photo += 1
                }
                "url" if content.starts_with(b"https://") => has_photo += 1,
                "caption" => caption = Some(String::from_utf8_lossy(content).into_owned()),
                "published" if content == b"false" => published = false,
                "temporary" if content == b"true" => {}
                "access_token" if content == b"PT" => {}
                other => page
                    .violations
                    .push(format!("photos: unexpected part {other}")),
            }
        }
        if has_photo != 1 {
            page.violations
                .push(format!("photos: {has_photo} photos in one upload"));
            return graph_error(400, 324, "(#324) Requires upload file");
        }
        if let Some(f @ (Fault::ServerError | Fault::RateLimit | Fault::Unavailable)) = fault {
            return fault_answer(f, serde_json::json!({}));
        }
        let photo = page.id();
        if published {
            let post = page.post(caption.unwrap_or_default(), vec![photo.clone()]);
            let body = serde_json::json!({ "id": photo, "post_id": post });
            return match fault {
                Some(Fault::Ghost) => fault_answer(Fault::Ghost, body),
                _ => ResponseTemplate::new(200).set_body_json(body),
            };
        }
        page.loose_photos.push(photo.clone());
        ResponseTemplate::new(200).set_body_json(serde_json::json!({ "id": photo }))
    }
}

struct Listing(Arc<Mutex<Page>>);

impl Respond for Listing {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if req.url.path().ends_with("scheduled_posts") {
            return ResponseTemplate::new(200).set_body_json(serde_json::json!({ "data": [] }));
        }
        let page = self.0.lock().unwrap();
        let data: Vec<serde_json::Value> = page
            .posts
            .iter()
            .rev()
            .take(25)
            .map(|(id, message, created, _)| serde_json::json!({"id": id, "message": message, "created_time": created}))
            .collect();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({ "data": data }))
    }
}

fn write(dir: &Path, name: &str, front: &str, body: &str) {
    std::fs::write(
        dir.join(name),
        format!("---\n{front}\npublish_at: now\nchannels: [facebook]\n---\n{body}\n"),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mix_of_posts_under_faults_is_published_exactly_once_each() {
    let server = MockServer::start().await;
    let page = Arc::new(Mutex::new(Page::default()));
    {
        let mut p = page.lock().unwrap();
        // Order of arrival is not fixed, so faults hit whichever request comes Nth.
        p.feed_faults = BTreeMap::from([
            (1, Fault::Ghost),
            (2, Fault::ServerError),
            (4, Fault::RateLimit),
            (6, Fault::Unavailable),
        ]);
        p.photo_faults = BTreeMap::from([(1, Fault::Unavailable), (3, Fault::Ghost)]);
    }
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PAGE}/feed")))
        .respond_with(Feed(page.clone()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PAGE}/photos")))
        .respond_with(Photos(page.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v25.0/\d+/(published|scheduled)_posts$"))
        .respond_with(Listing(page.clone()))
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("posts");
    std::fs::create_dir_all(posts.join("images")).unwrap();
    for name in ["a.png", "b.png", "c.png", "d.png"] {
        std::fs::write(posts.join("images").join(name), PNG).unwrap();
    }
    write(
        &posts,
        "1-text.md",
        "title: \"Thông báo lịch tiếp dân\"",
        "Chủ tịch UBND xã tiếp dân sáng thứ Sáu.",
    );
    write(
        &posts,
        "2-link.md",
        "title: \"Nộp hồ sơ trực tuyến\"\nfacebook: { link: \"https://dichvucong.gov.vn\" }",
        "Xem hướng dẫn.",
    );
    write(
        &posts,
        "3-photo.md",
        "title: \"Wi-Fi nhà văn hóa\"",
        "![Điểm Wi-Fi](images/a.png)\n\nĐã lắp xong.",
    );
    write(
        &posts,
        "4-photos.md",
        "title: \"Tập huấn kỹ năng số\"",
        "![1](images/b.png)\n![2](images/c.png)\n![3](images/d.png)\n\nHình ảnh buổi tập huấn.",
    );
    write(
        &posts,
        "5-text.md",
        "title: \"Cảnh giác lừa đảo\"",
        "Không cung cấp mã OTP cho ai.",
    );

    let mut config = Config::parse(&format!(
        "language = \"en\"\n[retry]\nbase_delay = \"1s\"\nmax_delay = \"3s\"\nmax_attempts = 20\n[facebook]\npage_id = \"{PAGE}\"\ngraph_url = \"{}\"\nnative_schedule = false\n",
        server.uri()
    ))
    .unwrap();
    config.posts_dir = posts.clone();
    config.data_dir = dir.path().join("data");
    let channel = FacebookChannel::new(
        &server.uri(),
        "v25.0",
        PAGE,
        SecretString::from("PT"),
        false,
        Clock::system(),
    );
    let publishers: Vec<Arc<dyn Publisher>> = vec![Arc::new(channel)];
    let engine = Arc::new(Engine::new(
        loa::engine::open_store(&config.data_dir).unwrap(),
        config,
        publishers,
        Clock::system(),
    ));
    engine.recover().await.unwrap();
    engine.sync().await.unwrap();

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(engine.clone().run(async {
        let _ = stopped.await;
    }));
    let began = Instant::now();
    // The injected rate limit pauses the channel for a minute: allow for it.
    loop {
        let states: Vec<State> = engine
            .with_store(|s| Ok(s.deliveries()?.into_iter().map(|d| d.state).collect()))
            .await
            .unwrap();
        if states.iter().all(|s| *s == State::Published)
            || began.elapsed() > Duration::from_secs(150)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    let states: Vec<State> = engine
        .with_store(|s| Ok(s.deliveries()?.into_iter().map(|d| d.state).collect()))
        .await
        .unwrap();
    assert!(states.iter().all(|s| *s == State::Published), "{states:?}");

    let page = page.lock().unwrap();
    assert!(
        page.feed_calls >= 6 && page.photo_calls >= 3,
        "every injected fault was reached: {} feed, {} photo calls",
        page.feed_calls,
        page.photo_calls
    );
    assert!(
        page.violations.is_empty(),
        "requests broke the documented shapes: {:#?}",
        page.violations
    );
    let mut titles: BTreeMap<String, usize> = BTreeMap::new();
    for (_, message, _, _) in &page.posts {
        *titles
            .entry(message.lines().next().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    assert_eq!(titles.len(), 5, "{titles:?}");
    assert!(
        titles.values().all(|n| *n == 1),
        "a post was published twice: {titles:?}"
    );
    let three = page
        .posts
        .iter()
        .find(|p| p.1.starts_with("Tập huấn"))
        .unwrap();
    assert_eq!(
        three.3.len(),
        3,
        "the three-photo post carries its three photos"
    );
    let store = Store::open(&dir.path().join("data/loa.db")).unwrap();
    assert!(store.integrity_ok().unwrap());
}
