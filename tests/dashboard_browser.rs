//! The dashboard in a real browser: the built `loa run` serves it over a commune of Vietnamese
//! posts published to the sandbox (served in this process), and headless Chromium, driven
//! through chromedriver (WebDriver), reads the week, the posts, a post, the engagement and the
//! attention pages, retries a delivery the sandbox refused, and sees it published once. Each
//! page is photographed at a phone's and a desktop's width into `target/dashboard-screens/`, to
//! be looked at.
//!
//! Without Chromium or chromedriver the test fails when `CI` is set and is skipped (with a
//! notice) otherwise, like `tests/report_html.rs`.

#![cfg(unix)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use fantoccini::{Client, ClientBuilder, Locator};
use loa::channel::Channel;
use loa::clock::{Clock, EPOCH_ENV, SPEED_ENV};
use loa::sandbox::{self, Faults, Sandbox};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Both clocks (loa's and the sandbox's) run this many times faster than the wall's, so that
/// Zalo's "still processing" waits (2 s, 4 s) last a fraction of a second while the pages still
/// show about the real time.
const SPEED: f64 = 10.0;

/// The title that must stay text in the DOM.
const SCRIPT_TITLE: &str = "<script>alert(1)</script> Họp dân";

/// The posts published normally: (file, title, body).
const POSTS: [(&str, &str, &str); 3] = [
    (
        "01-tiep-dan.md",
        "Lịch tiếp công dân tháng 12",
        "Chủ tịch UBND xã tiếp công dân **sáng thứ Sáu** hằng tuần tại trụ sở xã.\n\n\
         - Mang theo căn cước công dân\n- Đơn thư ghi rõ họ tên, địa chỉ",
    ),
    (
        "02-hop-dan.md",
        SCRIPT_TITLE,
        "Mời bà con thôn Đồng Xoài đến nhà văn hóa lúc 19 giờ để bàn về đường liên thôn.",
    ),
    (
        "03-tiem-chung.md",
        "Thông báo tiêm chủng mở rộng đợt 2 cho trẻ dưới 5 tuổi",
        "Trạm y tế xã tổ chức tiêm chủng vào thứ Ba và thứ Tư. Phụ huynh nhớ mang sổ tiêm chủng.",
    ),
];

/// The post dropped while the sandbox refuses Facebook: its Facebook delivery fails.
const REFUSED: (&str, &str, &str) = (
    "04-sat-lo.md",
    "Cảnh báo mưa lớn, nguy cơ sạt lở đất ở thôn Đắk Rơ",
    "Bà con ở gần sườn đồi cần chủ động di dời tài sản, không qua suối khi nước lên.",
);

/// Where the test looks for Chromium and chromedriver, or `None` (after saying why) when the
/// test should be skipped.
fn browser() -> Option<()> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return Some(());
    }
    if std::env::var_os("CI").is_some() {
        panic!("{missing:?} missing; CI installs them (apt-get install chromium chromium-driver)");
    }
    eprintln!(
        "SKIPPED: {missing:?} missing; apt-get install chromium chromium-driver to run this test"
    );
    None
}

/// Every child this test started, killed (by its own id, or its own process group for
/// chromedriver and the browsers it started) when the test ends, failed or not.
#[derive(Default)]
struct Children {
    loa: Option<Child>,
    driver: Option<Child>,
}

impl Drop for Children {
    fn drop(&mut self) {
        if let Some(mut loa) = self.loa.take() {
            let _ = loa.kill();
            let _ = loa.wait();
        }
        if let Some(mut driver) = self.driver.take() {
            // chromedriver leads its own process group (see `start_driver`): the Chromium it
            // started goes with it.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", driver.id())])
                .stderr(Stdio::null())
                .status();
            let _ = driver.kill();
            let _ = driver.wait();
        }
    }
}

/// The commune: a folder with `posts/`, `data/` and `loa.toml`, and the sandbox.
struct Commune {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
    epoch: chrono::DateTime<Utc>,
    sandbox: Arc<Sandbox>,
    _server: tokio::task::JoinHandle<()>,
}

impl Commune {
    async fn new() -> Commune {
        let epoch = Utc::now();
        let sandbox = Sandbox::new(Clock::anchored(epoch, SPEED), Faults::default());
        let (addr, server) = sandbox::serve(sandbox.clone(), 0).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("posts")).unwrap();
        let url = format!("http://{addr}");
        let config = root.join("loa.toml");
        std::fs::write(
            &config,
            format!(
                "language = \"vi\"\ntimezone = \"Asia/Ho_Chi_Minh\"\nposts_dir = \"posts\"\ndata_dir = \"data\"\n\
                 [facebook]\npage_id = \"{page}\"\ngraph_url = \"{url}\"\nnative_schedule = false\n\
                 [zalo]\napp_id = \"{app}\"\nopenapi_url = \"{url}\"\noauth_url = \"{url}\"\n\
                 author = \"UBND xã Thanh Kỳ\"\ndefault_cover_url = \"https://example.gov.vn/logo.jpg\"\n\
                 listing_delay = \"3s\"\n\
                 [media]\npublic_base_url = \"https://example.gov.vn/loa-media/\"\n\
                 [web]\nlisten = \"127.0.0.1:0\"\n",
                page = sandbox::PAGE_ID,
                app = sandbox::ZALO_APP.0,
            ),
        )
        .unwrap();
        Commune {
            _dir: dir,
            root,
            config,
            epoch,
            sandbox,
            _server: server,
        }
    }

    /// Writes `posts/file` for both channels, due now.
    fn post(&self, (file, title, body): (&str, &str, &str)) {
        std::fs::write(
            self.root.join("posts").join(file),
            format!(
                "---\ntitle: {title:?}\nchannels: [facebook, zalo]\npublish_at: now\n---\n{body}\n"
            ),
        )
        .unwrap();
    }

    /// `loa run` with the sandbox's secrets and the sped-up clock; its log in `loa.log`.
    fn run(&self) -> Child {
        let log = std::fs::File::create(self.root.join("loa.log")).unwrap();
        Command::new(env!("CARGO_BIN_EXE_loa"))
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .current_dir(&self.root)
            .env("LOA_FACEBOOK_PAGE_TOKEN", sandbox::PAGE_TOKEN)
            .env("LOA_ZALO_APP_SECRET", sandbox::ZALO_APP.1)
            .env("LOA_ZALO_REFRESH_TOKEN", sandbox::ZALO_FIRST_REFRESH_TOKEN)
            .env(SPEED_ENV, SPEED.to_string())
            .env(EPOCH_ENV, self.epoch.to_rfc3339())
            .env("LOA_LOG", "info")
            .env_remove("LOA_CONFIG")
            .env_remove("LOA_WEB_PASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("loa run starts")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("loa.log")).unwrap_or_default()
    }

    /// The dashboard's address, once `loa run` printed it and wrote `data/dashboard.url`.
    fn dashboard_url(&self) -> Option<String> {
        let url = std::fs::read_to_string(self.root.join("data/dashboard.url")).ok()?;
        let url = url.trim().to_string();
        let line = format!("Bảng điều khiển (mở bằng trình duyệt): {url}");
        self.log().contains(&line).then_some(url)
    }

    /// (file, channel, state) of every delivery.
    fn deliveries(&self) -> Vec<(String, String, String)> {
        let db = self.root.join("data/loa.db");
        if !db.exists() {
            return Vec::new();
        }
        let Ok(conn) =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        else {
            return Vec::new();
        };
        let Ok(mut stmt) = conn.prepare(
            "SELECT p.path, d.channel, d.state FROM deliveries d JOIN posts p ON p.id = d.post_id \
             ORDER BY p.path, d.channel",
        ) else {
            return Vec::new();
        };
        stmt.query_map([], |r| {
            let path: String = r.get(0)?;
            let file = Path::new(&path)
                .file_name()
                .map_or(path.clone(), |f| f.to_string_lossy().into_owned());
            Ok((file, r.get(1)?, r.get(2)?))
        })
        .map(|rows| rows.flatten().collect())
        .unwrap_or_default()
    }

    fn state(&self, file: &str, channel: &str) -> Option<String> {
        self.deliveries()
            .into_iter()
            .find(|(f, c, _)| f == file && c == channel)
            .map(|(_, _, s)| s)
    }

    /// What helps read a failure: the deliveries and the tail of loa's log.
    fn report(&self) -> String {
        let log = self.log();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        format!(
            "deliveries: {:#?}\nloa's log (last 30 lines, newest first):\n{}",
            self.deliveries(),
            tail.join("\n")
        )
    }

    /// How many live posts on the Page and articles on the OA carry `title`.
    fn on_platforms(&self, title: &str) -> (usize, usize) {
        let page = self
            .sandbox
            .facebook
            .lock()
            .unwrap()
            .posts()
            .into_iter()
            .filter(|p| p.message.starts_with(title) && !p.deleted)
            .count();
        let oa = self
            .sandbox
            .zalo
            .lock()
            .unwrap()
            .articles()
            .into_iter()
            .filter(|a| a.title == title && !a.removed)
            .count();
        (page, oa)
    }
}

/// Waits (real time, at most `limit`) until `ready`; on timeout fails with `report`.
async fn until(what: &str, limit: Duration, report: impl Fn() -> String, ready: impl Fn() -> bool) {
    let began = Instant::now();
    while !ready() {
        assert!(
            began.elapsed() < limit,
            "{what}: not within {limit:?}\n{}",
            report()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A free port on 127.0.0.1 (free when asked; chromedriver takes it right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver on a free port, leading its own process group; its log in `log`.
fn start_driver(log: &Path) -> (Child, u16) {
    let port = free_port();
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("chromedriver starts");
    (child, port)
}

/// A WebDriver session on headless Chromium with a fresh profile in `profile`.
async fn connect(port: u16, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let began = Instant::now();
    loop {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return client,
            // chromedriver is still starting.
            Err(e) if began.elapsed() < Duration::from_secs(15) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no WebDriver session from chromedriver: {e}"),
        }
    }
}

fn screens_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard-screens");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PNG's width and height, from its header.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[1..4], b"PNG", "{} is a PNG", path.display());
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

/// The window's height before a screenshot is fitted to the page.
const SHOT_HEIGHT: u32 = 2400;

/// The page's full height and the viewport's, read through WebDriver (whose scripts the
/// page's Content-Security-Policy does not bind; the page itself has none), or `None`; fails
/// when the page is wider than the window (something overflows sideways).
async fn heights(c: &Client) -> Option<(u32, u32)> {
    let answer = c
        .execute(
            "return [Math.ceil(document.documentElement.getBoundingClientRect().height), window.innerHeight, \
             document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .ok()?;
    let number = |i: usize| {
        answer
            .get(i)
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    let (wide, window) = (number(2)?, number(3)?);
    assert!(
        wide <= window,
        "{}: the page is {wide} px wide in a {window} px window",
        c.current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    );
    Some((number(0)?, number(1)?))
}

/// Photographs the page at `url` (or the one open, for a page a POST answered) at 390 and
/// 1280 px wide, the whole page's height, into `target/dashboard-screens/NAME-WIDTH.png`.
async fn screenshots(c: &Client, url: Option<&str>, name: &str) {
    let dir = screens_dir();
    for width in [390, 1280] {
        c.set_window_size(width, SHOT_HEIGHT).await.unwrap();
        if let Some(url) = url {
            c.goto(url).await.unwrap();
        }
        // The window's frame is not part of the viewport: grow the window by it so that the
        // viewport holds the whole page.
        let full = match heights(c).await {
            Some((page, viewport)) => {
                let page = page.clamp(600, 6000);
                c.set_window_size(width, page + SHOT_HEIGHT.saturating_sub(viewport))
                    .await
                    .unwrap();
                heights(c).await.map(|(p, v)| (p.clamp(600, 6000), v))
            }
            None => None,
        };
        let png = dir.join(format!("{name}-{width}.png"));
        std::fs::write(&png, c.screenshot().await.unwrap()).unwrap();
        let (w, h) = png_size(&png);
        assert_eq!(w, width, "{} is {w}×{h}", png.display());
        match full {
            // The viewport, at a device pixel ratio of 1, and it holds the whole page.
            Some((page, viewport)) => {
                assert_eq!(h, viewport, "{} is {w}×{h}", png.display());
                assert!(page <= viewport, "{}: page {page} px tall", png.display());
            }
            None => assert!(h >= 600, "{} is {w}×{h}", png.display()),
        }
    }
    c.set_window_size(1280, SHOT_HEIGHT).await.unwrap();
}

/// The page's source has no script element, and nothing that says a template or a request
/// went wrong.
async fn assert_clean(c: &Client, place: &str) {
    let source = c.source().await.unwrap();
    assert!(
        !source.to_ascii_lowercase().contains("<script"),
        "{place}: a script element in the DOM"
    );
    assert!(
        c.find_all(Locator::Css("script")).await.unwrap().is_empty(),
        "{place}: a script element in the DOM"
    );
    for bad in ["{{", "{%", "ERR_", "Internal"] {
        assert!(!source.contains(bad), "{place}: {bad:?} in the page");
    }
    assert!(
        source.contains("<html lang=\"vi\">"),
        "{place}: not in Vietnamese"
    );
}

/// Waits (10 s at most) until the browser is on a page whose path starts with `path`, and
/// returns its address: a click that submits a form or follows a link returns before the
/// browser has left the page (chromedriver then waits for the new page to load before the
/// next command).
async fn arrive(c: &Client, path: &str) -> String {
    let began = Instant::now();
    loop {
        let url = c.current_url().await.unwrap();
        if url.path().starts_with(path) {
            return url.to_string();
        }
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "still on {url}, not on {path}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks what `locator` finds and waits until the browser is on `path`.
async fn click_to(c: &Client, locator: Locator<'_>, path: &str) -> String {
    c.find(locator).await.unwrap().click().await.unwrap();
    arrive(c, path).await
}

/// The texts of every element matching `css`.
async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.text().await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_officer_sees_the_week_retries_a_refused_post_and_it_is_published_once() {
    let Some(()) = browser() else { return };
    let began = Instant::now();
    let commune = Commune::new().await;
    let mut children = Children::default();
    for post in POSTS {
        commune.post(post);
    }
    children.loa = Some(commune.run());
    let report = || commune.report();

    // Everything published on both channels, the dashboard's address printed and recorded.
    until(
        "the first posts published",
        Duration::from_secs(30),
        report,
        || {
            commune
                .deliveries()
                .iter()
                .filter(|(_, _, s)| s == "published")
                .count()
                == 2 * POSTS.len()
        },
    )
    .await;
    until(
        "the dashboard's address",
        Duration::from_secs(5),
        report,
        || commune.dashboard_url().is_some(),
    )
    .await;
    let base = commune.dashboard_url().unwrap();
    // `loa status` from another shell names the running service's dashboard.
    let status = Command::new(env!("CARGO_BIN_EXE_loa"))
        .arg("--config")
        .arg(&commune.config)
        .args(["status", "--json"])
        .env_remove("LOA_CONFIG")
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        status["dashboard"].as_str(),
        Some(base.as_str()),
        "{status}"
    );
    let base = base.trim_end_matches('/');

    // Both platforms refuse the next post for good: both its deliveries fail, at once.
    commune.sandbox.refuse_publishing(Channel::Facebook, true);
    commune.sandbox.refuse_publishing(Channel::Zalo, true);
    commune.post(REFUSED);
    let file = REFUSED.0;
    until(
        "the refused deliveries failed",
        Duration::from_secs(20),
        report,
        || {
            commune.state(file, "facebook").as_deref() == Some("failed")
                && commune.state(file, "zalo").as_deref() == Some("failed")
        },
    )
    .await;
    commune.sandbox.refuse_publishing(Channel::Facebook, false);
    commune.sandbox.refuse_publishing(Channel::Zalo, false);
    assert_eq!(commune.on_platforms(REFUSED.1), (0, 0), "refused: nowhere");
    let prepared = began.elapsed();

    // The browser.
    let driver_log = commune.root.join("chromedriver.log");
    let (driver, port) = start_driver(&driver_log);
    children.driver = Some(driver);
    let profile = tempfile::tempdir().unwrap();
    let c = connect(port, profile.path()).await;
    c.set_window_size(1280, SHOT_HEIGHT).await.unwrap();

    // The week: every title, the badges say "đã đăng", and the refused one "lỗi".
    c.goto(&format!("{base}/")).await.unwrap();
    assert_clean(&c, "/").await;
    let entries = texts(&c, ".week .entry").await;
    for (_, title, _) in POSTS.iter().chain([&REFUSED]) {
        assert!(
            entries.iter().any(|e| e.contains(title)),
            "{title:?} not in the week: {entries:#?}"
        );
    }
    let badges = texts(&c, ".week .badge").await;
    let count = |word: &str| badges.iter().filter(|b| b.ends_with(word)).count();
    assert_eq!(count("đã đăng"), 2 * POSTS.len(), "{badges:#?}");
    assert_eq!(count("lỗi"), 2, "{badges:#?}");
    // The script title is a link's text, never an element.
    let links = texts(&c, ".week .entry a").await;
    assert!(links.iter().any(|t| t == SCRIPT_TITLE), "{links:#?}");
    screenshots(&c, Some(&format!("{base}/")), "week").await;

    // The posts page, through the menu.
    click_to(&c, Locator::Css("nav a[href='/posts']"), "/posts").await;
    assert_clean(&c, "/posts").await;
    let titles = texts(&c, "td.title a").await;
    assert!(titles.iter().any(|t| t == SCRIPT_TITLE), "{titles:#?}");
    assert!(titles.iter().any(|t| t == REFUSED.1), "{titles:#?}");
    screenshots(&c, Some(&format!("{base}/posts")), "posts").await;
    // On a phone every state is in sight, not behind a sideways scroll.
    c.set_window_size(390, SHOT_HEIGHT).await.unwrap();
    c.refresh().await.unwrap();
    let states = c.find_all(Locator::Css("td .badge")).await.unwrap();
    assert_eq!(states.len(), 2 * POSTS.len() + 2);
    for badge in states {
        let (x, _, w, _) = badge.rectangle().await.unwrap();
        assert!(x + w <= 390.0, "a state at {x}+{w} px on a 390 px phone");
    }
    c.set_window_size(1280, SHOT_HEIGHT).await.unwrap();

    // The script title's page.
    click_to(&c, Locator::LinkText(SCRIPT_TITLE), "/posts/").await;
    assert_clean(&c, "a post").await;
    assert_eq!(
        c.find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        SCRIPT_TITLE
    );
    for channel in ["facebook", "zalo"] {
        let badge = c
            .find(Locator::Css(&format!("section#{channel} h3 .badge")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(badge, "đã đăng", "{channel}");
    }
    let post_url = c.current_url().await.unwrap().to_string();
    screenshots(&c, Some(&post_url), "post").await;

    // Engagement (nothing measured yet: it must still be a page).
    c.goto(&format!("{base}/engagement")).await.unwrap();
    assert_clean(&c, "/engagement").await;
    screenshots(&c, Some(&format!("{base}/engagement")), "engagement").await;

    // Attention: both refused deliveries, each with its platform's words; Facebook's Retry.
    c.goto(&format!("{base}/attention")).await.unwrap();
    assert_clean(&c, "/attention").await;
    screenshots(&c, Some(&format!("{base}/attention")), "attention").await;
    let items = texts(&c, ".attention-list li").await;
    assert_eq!(items.len(), 2, "{items:#?}");
    for (platform, words) in [
        ("Facebook", "(#100) Invalid parameter"),
        ("Zalo", "Violates our platform standards (lỗi -248)"),
    ] {
        assert!(
            items.iter().any(|i| i.contains(REFUSED.1)
                && i.contains(platform)
                && i.contains("lỗi")
                && i.contains(words)),
            "{platform}: {words:?} not on /attention: {items:#?}"
        );
    }
    // "Hủy đăng…" first asks on a page of its own (a GET: nothing is cancelled here).
    c.find(Locator::XPath(&format!(
        "//ul[contains(@class,'attention-list')]/li[.//strong[text()='{}'] and \
         .//span[@class='chan' and text()='Zalo']]\
         //form[@action='/confirm']//button[normalize-space()='Hủy đăng…']",
        REFUSED.1
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    arrive(&c, "/confirm").await;
    assert_clean(&c, "/confirm").await;
    let heading = c
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, format!("Hủy đăng “{}” trên Zalo?", REFUSED.1));
    c.find(Locator::XPath(
        "//form[@method='post' and @action='/actions']//button[normalize-space()='Hủy đăng']",
    ))
    .await
    .unwrap();
    screenshots(&c, None, "confirm").await;
    c.back().await.unwrap();
    arrive(&c, "/attention").await;
    assert_eq!(commune.state(file, "zalo").as_deref(), Some("failed"));

    c.find(Locator::XPath(&format!(
        "//ul[contains(@class,'attention-list')]/li[.//strong[text()='{}'] and \
         .//span[@class='chan' and text()='Facebook']]\
         //form[@action='/actions']//button[normalize-space()='Thử lại']",
        REFUSED.1
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();

    // The result page says it is queued again.
    arrive(&c, "/actions").await;
    assert_clean(&c, "the result").await;
    let notice = c
        .find(Locator::Css(".notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notice.contains("Đã xong"), "{notice}");
    assert!(
        notice.contains("đã vào lại hàng đợi của Facebook"),
        "{notice}"
    );
    screenshots(&c, None, "result").await;
    // To the post through the result's own link.
    c.find(Locator::Css(".actions a.button[href^='/posts/']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let refused_url = arrive(&c, "/posts/").await;

    // The post's page shows Facebook published, soon.
    let waited = Instant::now();
    loop {
        c.goto(&refused_url).await.unwrap();
        let badge = c
            .find(Locator::Css("section#facebook h3 .badge"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if badge == "đã đăng" {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "Facebook still {badge:?} after the retry\n{}",
            commune.report()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Zalo still failed on the post's page, with its own Retry, which the officer presses there.
    let zalo = c
        .find(Locator::Css("section#zalo h3 .badge"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(zalo, "lỗi");
    let error = c
        .find(Locator::Css("section#zalo .error-text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(error.contains("-248"), "{error}");
    c.find(Locator::XPath(
        "//section[@id='zalo']//form[@action='/actions']//button[normalize-space()='Thử lại']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    arrive(&c, "/actions").await;
    let notice = c
        .find(Locator::Css(".notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notice.contains("đã vào lại hàng đợi của Zalo"), "{notice}");
    let waited = Instant::now();
    loop {
        c.goto(&refused_url).await.unwrap();
        let badge = c
            .find(Locator::Css("section#zalo h3 .badge"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if badge == "đã đăng" {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "Zalo still {badge:?} after the retry\n{}",
            commune.report()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_clean(&c, "the retried post").await;
    screenshots(&c, Some(&refused_url), "post-retried").await;
    // Exactly once on each platform, as the sandbox holds them.
    assert_eq!(
        commune.on_platforms(REFUSED.1),
        (1, 1),
        "{}",
        commune.report()
    );
    for (_, title, _) in POSTS {
        assert_eq!(commune.on_platforms(title), (1, 1), "{title}");
    }
    // Nothing needs the officer any more.
    c.goto(&format!("{base}/attention")).await.unwrap();
    let calm = c.find(Locator::Css("section.calm")).await.unwrap();
    assert!(calm.text().await.unwrap().contains("Không có gì cần xử lý"));

    c.close().await.unwrap();
    eprintln!(
        "dashboard_browser: commune ready in {prepared:?}, everything in {:?}; screenshots in {}",
        began.elapsed(),
        screens_dir().display()
    );
    drop(children);
}
