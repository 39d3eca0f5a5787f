//! The dashboard's handlers without a network: every page and action through axum's router
//! (`oneshot`), over an engine with a fake Facebook on tokio's paused clock. The CSRF and
//! password rules, escaping, bad requests, paging, and that no page writes in the posts folder.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::fake::{Call, FakeChannel, Script};
use common::world::{boot, run_for, start};
use loa::channel::Channel;
use loa::config::Config;
use loa::engine::{Clock, Engine};
use loa::i18n::{Language, set_language};
use loa::publisher::{Outcome, Publisher};
use loa::store::State;
use loa::web::{Dashboard, router};
use secrecy::SecretString;
use tower::ServiceExt;

const SCRIPT_TITLE: &str = "<script>alert(1)</script> Họp dân thôn Đắk Rơ";

struct World {
    _dir: tempfile::TempDir,
    posts: std::path::PathBuf,
    engine: Arc<Engine>,
    fb: FakeChannel,
}

impl World {
    /// A commune in Vietnamese with Facebook on a fake, its store in `data_dir`, the engine
    /// booted (the folder read).
    async fn new(posts: &[(&str, &str)]) -> World {
        set_language(Language::Vi);
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let posts_dir = root.join("posts");
        std::fs::create_dir_all(&posts_dir).unwrap();
        for (name, front) in posts {
            std::fs::write(
                posts_dir.join(name),
                format!("---\n{front}\n---\nBà con chú ý: nội dung bài viết.\n"),
            )
            .unwrap();
        }
        let mut config = Config::parse(
            "language = \"vi\"\n[schedule]\nslots = [\"Tue 07:00\", \"Thu 07:00\"]\n[retry]\nmax_attempts = 3\n[facebook]\npage_id = \"1\"\n[web]\nlisten = \"127.0.0.1:8640\"\n",
        )
        .unwrap();
        config.posts_dir = posts_dir.clone();
        config.data_dir = root.join("data");
        std::fs::create_dir_all(&config.data_dir).unwrap();
        let fb = FakeChannel::new(Channel::Facebook);
        let engine = Arc::new(Engine::new(
            loa::engine::open_store(&config.data_dir).unwrap(),
            config,
            vec![Arc::new(fb.clone()) as Arc<dyn Publisher>],
            Clock::starting_at(start()),
        ));
        boot(&engine).await;
        World {
            _dir: dir,
            posts: posts_dir,
            engine,
            fb,
        }
    }

    fn app(&self, password: Option<&str>) -> axum::Router {
        let password = password.map(SecretString::from);
        let d = Dashboard::new(
            self.engine.clone(),
            "127.0.0.1:8640".parse().unwrap(),
            password.as_ref(),
        )
        .unwrap();
        router(Arc::new(d))
    }

    async fn state_of(&self, path: &str) -> State {
        let path = path.to_string();
        self.engine
            .with_store(move |s| {
                let id = s
                    .all_posts()?
                    .into_iter()
                    .find(|p| p.path == path)
                    .unwrap()
                    .id;
                Ok(s.deliveries_of(&id)?[0].state)
            })
            .await
            .unwrap()
    }

    async fn id_of(&self, path: &str) -> String {
        let path = path.to_string();
        self.engine
            .with_store(move |s| {
                Ok(s.all_posts()?
                    .into_iter()
                    .find(|p| p.path == path)
                    .unwrap()
                    .id)
            })
            .await
            .unwrap()
    }
}

/// An answer: status, headers, body.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    /// The session cookie this answer sets, as `name=value`.
    fn cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("loa_session="))
            .map(|v| v.split(';').next().unwrap().to_string())
    }

    /// The CSRF token of the page's first form.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token");
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

async fn send(app: &axum::Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 10 << 20)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(app: &axum::Router, path: &str, cookie: Option<&str>) -> Answer {
    let mut r = Request::get(path).header(header::HOST, "127.0.0.1:8640");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    send(app, r.body(Body::empty()).unwrap()).await
}

async fn post(app: &axum::Router, path: &str, cookie: Option<&str>, form: &str) -> Answer {
    let mut r = Request::post(path)
        .header(header::HOST, "127.0.0.1:8640")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    send(app, r.body(Body::from(form.to_string())).unwrap()).await
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(snapshot(&path));
        } else {
            out.insert(path.display().to_string(), std::fs::read(&path).unwrap());
        }
    }
    out
}

/// A world with a failed post (`hong.md`), a published one (`hop.md`, the script title), one
/// dated next Tuesday and one waiting for a slot.
async fn commune() -> World {
    let w = World::new(&[
        (
            "hop.md",
            &format!("title: {SCRIPT_TITLE:?}\npublish_at: 26/11/2026 20:00"),
        ),
        (
            "hong.md",
            "title: Bài bị từ chối\npublish_at: 26/11/2026 20:01",
        ),
        (
            "hen.md",
            "title: Lịch tiêm chủng\npublish_at: 01/12/2026 07:00",
        ),
        ("khung.md", "title: Chuyển đổi số là gì"),
    ])
    .await;
    w.fb.script([
        Script::Answer(Outcome::Published {
            remote_id: "1_100".into(),
        }),
        Script::Answer(Outcome::Permanent {
            message: "(#100) Invalid parameter".into(),
        }),
    ]);
    run_for(&w.engine, Duration::from_secs(120)).await;
    assert_eq!(w.state_of("hop.md").await, State::Published);
    assert_eq!(w.state_of("hong.md").await, State::Failed);
    w
}

#[tokio::test(start_paused = true)]
async fn every_page_answers_in_vietnamese_escaped_and_with_strict_headers() {
    let w = commune().await;
    let before = snapshot(&w.posts);
    let app = w.app(None);
    let hop = w.id_of("hop.md").await;
    let pages = [
        (
            "/",
            vec![
                "Tuần này",
                "Tuần sau",
                "Thứ 3",
                "01/12",
                "Lịch tiêm chủng",
                "07:00",
                "đã lên lịch",
                "Khung giờ trống tiếp theo",
                "giờ Asia/Ho_Chi_Minh",
            ],
        ),
        (
            "/posts",
            vec![
                "4 bài",
                "Bài bị từ chối",
                "lỗi",
                "(#100) Invalid parameter",
                "đã đăng",
                "Xem trên nền tảng",
                "https://www.facebook.com/1_100",
            ],
        ),
        (
            &format!("/posts/{hop}") as &str,
            vec![
                "đã đăng",
                "Nội dung mỗi kênh nhận",
                "Bà con chú ý",
                "Lịch sử gửi",
                "Gỡ bài",
            ],
        ),
        ("/engagement", vec!["Số liệu", "Tổng theo kênh", "Tải CSV"]),
        (
            "/attention",
            vec![
                "Cần xử lý (1)",
                "Bài bị từ chối",
                "Đăng không thành công",
                "Thử lại",
                "Hủy đăng",
            ],
        ),
    ];
    for (path, words) in &pages {
        let a = get(&app, path, None).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        for word in words {
            assert!(a.body.contains(word), "{path} lacks {word:?}");
        }
        // A title is text: never an element.
        assert!(!a.body.contains("<script"), "{path} has a script element");
        let csp = a.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("unsafe"),
            "{csp}"
        );
        assert_eq!(a.headers[header::X_FRAME_OPTIONS], "DENY");
        let cookie = a.headers[header::SET_COOKIE].to_str().unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        assert!(a.body.contains("<html lang=\"vi\">"));
    }
    for path in ["/", "/posts", &format!("/posts/{hop}")] {
        let a = get(&app, path, None).await;
        assert!(
            a.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
                || a.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}: the title shows as text"
        );
    }
    let csv = get(&app, "/engagement/report.csv", None).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with('\u{feff}'), "CSV for Excel");
    assert!(
        csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let html = get(&app, "/engagement/report.html", None).await;
    assert!(html.body.starts_with("<!DOCTYPE html>"));
    let css = get(&app, "/assets/loa.css", None).await;
    assert!(css.body.contains(".ch-facebook") && css.body.contains(".st-bad"));
    assert_eq!(
        snapshot(&w.posts),
        before,
        "no page writes in the posts folder"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_from_attention_publishes_once_and_a_second_click_queues_nothing() {
    let w = commune().await;
    let before = snapshot(&w.posts);
    let app = w.app(None);
    let hong = w.id_of("hong.md").await;
    let page = get(&app, "/attention", None).await;
    let cookie = page.cookie().expect("a session cookie");
    let csrf = page.csrf();
    let form = |csrf: &str| format!("csrf={csrf}&action=retry&post={hong}&channel=facebook");

    // No token, a wrong one, another session's: refused, nothing queued.
    for (c, token) in [
        (Some(cookie.as_str()), String::new()),
        (Some(cookie.as_str()), "0".repeat(64)),
        (None, csrf.clone()),
    ] {
        let a = post(&app, "/actions", c, &form(&token)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        assert!(a.body.contains("hết hạn"), "{}", a.body);
    }
    assert_eq!(w.state_of("hong.md").await, State::Failed);

    let a = post(&app, "/actions", Some(&cookie), &form(&csrf)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("đã vào lại hàng đợi"), "{}", a.body);
    let again = post(&app, "/actions", Some(&cookie), &form(&csrf)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again.body.contains("không có gì được xếp hai lần"),
        "{}",
        again.body
    );

    run_for(&w.engine, Duration::from_secs(120)).await;
    assert_eq!(w.state_of("hong.md").await, State::Published);
    let publishes =
        w.fb.calls()
            .into_iter()
            .filter(|c| *c == Call::Publish("Bài bị từ chối".into()))
            .count();
    assert_eq!(publishes, 2, "the refused try, then one retry");
    let after = get(&app, &format!("/posts/{hong}"), Some(&cookie)).await;
    assert!(after.body.contains("đã đăng"));
    assert!(
        !get(&app, "/attention", Some(&cookie))
            .await
            .body
            .contains("Bài bị từ chối")
    );
    // A retry of a published delivery is stale: it says what the delivery is now.
    let stale = post(&app, "/actions", Some(&cookie), &form(&csrf)).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("đã đăng"), "{}", stale.body);
    assert_eq!(snapshot(&w.posts), before);
}

#[tokio::test(start_paused = true)]
async fn cancel_force_and_unpublish_ask_first_then_do_what_the_commands_do() {
    let w = commune().await;
    let app = w.app(None);
    let (hop, hen) = (w.id_of("hop.md").await, w.id_of("hen.md").await);
    let page = get(&app, "/", None).await;
    let cookie = page.cookie().unwrap();

    // Each confirmation page says what will happen, and its button carries the token.
    let confirm = get(
        &app,
        &format!("/confirm?action=cancel&post={hen}&channel=facebook"),
        Some(&cookie),
    )
    .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm.body.contains("Tệp vẫn nằm nguyên"),
        "{}",
        confirm.body
    );
    let csrf = confirm.csrf();
    let a = post(
        &app,
        "/actions",
        Some(&cookie),
        &format!("csrf={csrf}&action=cancel&post={hen}&channel=facebook"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(w.state_of("hen.md").await, State::Cancelled);

    let force = get(
        &app,
        &format!("/confirm?action=force&post={hop}&channel=facebook"),
        Some(&cookie),
    )
    .await;
    assert!(
        force.body.contains("KHÔNG thử lại"),
        "says what to check first"
    );

    let unpublish = get(
        &app,
        &format!("/confirm?action=unpublish&post={hop}&channel=facebook"),
        Some(&cookie),
    )
    .await;
    assert!(unpublish.body.contains("Không thể hoàn tác"));
    let a = post(
        &app,
        "/actions",
        Some(&cookie),
        &format!("csrf={csrf}&action=unpublish&post={hop}&channel=facebook"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("Đã gỡ"), "{}", a.body);
    assert!(w.fb.calls().contains(&Call::Delete("1_100".into())));
    assert_eq!(w.state_of("hop.md").await, State::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn bad_requests_get_a_page_in_vietnamese_with_a_way_back() {
    let w = commune().await;
    let app = w.app(None);
    let cookie = get(&app, "/", None).await.cookie().unwrap();
    let csrf = get(&app, "/attention", Some(&cookie)).await.csrf();
    let hong = w.id_of("hong.md").await;
    let cases = [
        (
            get(&app, "/posts/khong-co", Some(&cookie)).await,
            StatusCode::NOT_FOUND,
            "Không có bài này",
        ),
        (
            get(&app, "/posts?state=xyz", Some(&cookie)).await,
            StatusCode::BAD_REQUEST,
            "không phải trạng thái",
        ),
        (
            get(&app, "/posts?page=0", Some(&cookie)).await,
            StatusCode::BAD_REQUEST,
            "không phải số trang",
        ),
        (
            get(&app, "/posts?channel=tiktok", Some(&cookie)).await,
            StatusCode::BAD_REQUEST,
            "không phải kênh",
        ),
        (
            get(&app, "/khong-co-trang", Some(&cookie)).await,
            StatusCode::NOT_FOUND,
            "Không tìm thấy trang",
        ),
        (
            get(&app, "/engagement?by=year", Some(&cookie)).await,
            StatusCode::BAD_REQUEST,
            "year",
        ),
        (
            get(&app, "/confirm?action=force", Some(&cookie)).await,
            StatusCode::BAD_REQUEST,
            "biểu mẫu",
        ),
        (
            post(&app, "/actions", Some(&cookie), "rác").await,
            StatusCode::BAD_REQUEST,
            "biểu mẫu",
        ),
        (
            post(
                &app,
                "/actions",
                Some(&cookie),
                &format!("csrf={csrf}&action=xoa&post={hong}&channel=facebook"),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "biểu mẫu",
        ),
        (
            post(
                &app,
                "/actions",
                Some(&cookie),
                &format!("csrf={csrf}&action=retry&post=khong-co&channel=facebook"),
            )
            .await,
            StatusCode::NOT_FOUND,
            "Không có bài này",
        ),
        (
            post(
                &app,
                "/actions",
                Some(&cookie),
                &format!("csrf={csrf}&action=retry&post={hong}&channel=zalo"),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "không đăng lên Zalo",
        ),
    ];
    for (a, status, word) in cases {
        assert_eq!(a.status, status, "{}", a.body);
        assert!(a.body.contains(word), "{word:?} in {}", a.body);
        assert!(a.body.contains("href=\"/\""), "a way back");
        assert!(!a.body.contains("panicked") && !a.body.contains("RUST_BACKTRACE"));
    }
    assert_eq!(
        w.state_of("hong.md").await,
        State::Failed,
        "nothing changed"
    );

    // Another site's name for this address (DNS rebinding) gets nothing.
    let mut r = Request::get("/").header(header::HOST, "evil.example:8640");
    r = r.header(header::COOKIE, &cookie);
    let a = send(&app, r.body(Body::empty()).unwrap()).await;
    assert_eq!(a.status, StatusCode::MISDIRECTED_REQUEST);
    assert!(!a.body.contains("Bài bị từ chối"));
    let a = send(
        &app,
        Request::get("/")
            .header(header::HOST, "localhost:8640")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn a_password_guards_every_page_and_wrong_guesses_are_slow() {
    let w = commune().await;
    let app = w.app(Some("mật-khẩu-xã"));
    let first = get(&app, "/", None).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.headers[header::LOCATION], "/login");
    assert!(!first.body.contains("Bài bị từ chối"));
    for path in ["/posts", "/attention", "/engagement/report.csv"] {
        assert_eq!(
            get(&app, path, None).await.status,
            StatusCode::SEE_OTHER,
            "{path}"
        );
    }
    assert_eq!(
        get(&app, "/assets/loa.css", None).await.status,
        StatusCode::OK
    );

    let login = get(&app, "/login", None).await;
    let cookie = login.cookie().unwrap();
    let csrf = login.csrf();
    assert!(login.body.contains("type=\"password\""));
    let t0 = tokio::time::Instant::now();
    let wrong = post(
        &app,
        "/login",
        Some(&cookie),
        &format!("csrf={csrf}&password=sai"),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Sai mật khẩu"));
    assert!(
        t0.elapsed() >= Duration::from_secs(1),
        "a wrong guess waits"
    );
    let no_token = post(
        &app,
        "/login",
        Some(&cookie),
        &format!("password={}", enc("mật-khẩu-xã")),
    )
    .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);

    let ok = post(
        &app,
        "/login",
        Some(&cookie),
        &format!("csrf={csrf}&password={}", enc("mật-khẩu-xã")),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let session = ok.cookie().expect("a new session");
    assert_ne!(session, cookie, "a new id after logging in");
    let home = get(&app, "/", Some(&session)).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Đăng xuất"));
    assert!(
        !home.body.contains("mật-khẩu-xã"),
        "the password never shows"
    );
    assert_eq!(
        get(&app, "/", Some(&cookie)).await.status,
        StatusCode::SEE_OTHER
    );

    let out = post(
        &app,
        "/logout",
        Some(&session),
        &format!("csrf={}", home.csrf()),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        get(&app, "/", Some(&session)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test(start_paused = true)]
async fn the_posts_list_pages_through_many_posts() {
    let names: Vec<(String, String)> = (0..120)
        .map(|i| {
            (
                format!("bai-{i:03}.md"),
                format!("title: Bài số {i}\npublish_at: 20/12/2026 08:{:02}", i % 60),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = names
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let w = World::new(&refs).await;
    let app = w.app(None);
    let first = get(&app, "/posts", None).await;
    assert!(first.body.contains("120 bài"), "{}", first.body);
    assert!(first.body.contains("trang 1 / 3"));
    assert_eq!(first.body.matches("class=\"title\"").count(), 50);
    assert!(first.body.contains("href=\"/posts?page=2\""));
    let last = get(&app, "/posts?page=3", None).await;
    assert_eq!(last.body.matches("class=\"title\"").count(), 20);
    assert!(last.body.contains("rel=\"prev\""));
    let none = get(&app, "/posts?state=failed", None).await;
    assert!(none.body.contains("0 bài"));
    let scheduled = get(&app, "/posts?state=scheduled&channel=facebook", None).await;
    assert!(scheduled.body.contains("120 bài"));
}

#[tokio::test]
async fn off_loopback_the_dashboard_needs_a_password() {
    set_language(Language::Vi);
    let w = World::new(&[]).await;
    let web = loa::config::WebConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
    };
    let Err(e) = loa::web::start(w.engine.clone(), &web, None).await else {
        panic!("started without a password");
    };
    assert!(e.to_string().contains("LOA_WEB_PASSWORD"), "{e}");
    let started = loa::web::start(
        w.engine.clone(),
        &web,
        Some(SecretString::from("x".to_string())),
    )
    .await
    .unwrap();
    started.task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_result_address_opened_again_gets_a_page_not_a_bare_error() {
    let w = commune().await;
    let app = w.app(None);
    let a = get(&app, "/actions", None).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(a.body.contains("chưa có gì thay đổi"), "{}", a.body);
    assert!(a.body.contains("href=\"/\""));
    // The attention list speaks of its buttons, and shows a channel's command as code.
    let attention = get(&app, "/attention", None).await;
    assert!(attention.body.contains("sửa tệp theo lỗi, rồi bấm Thử lại"));
    assert!(!attention.body.contains('`'), "no backticks on a page");
}
