//! The HTML report opened in a real browser: headless Chromium (Debian's `chromium`) reads the
//! page from disk, and the test checks the DOM it built, takes screenshots at a phone's and a
//! desktop's width (kept in `target/report-screens/` to be looked at), and prints it to PDF.
//!
//! Without Chromium the test fails when `CI` is set and is skipped (with a notice) otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use loa::i18n::Language;
use loa::report::fixture::{SCRIPT_TITLE, fixture};
use loa::report::{Format, render};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium, or `None` (after saying why) when the test should be skipped.
fn chromium() -> Option<&'static str> {
    if Path::new(CHROMIUM).exists() {
        return Some(CHROMIUM);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{CHROMIUM} is missing; CI installs it (apt-get install chromium)");
    }
    eprintln!("SKIPPED: {CHROMIUM} is missing; apt-get install chromium to run this test");
    None
}

/// Runs Chromium headless on `page` with `args`, in a fresh profile, and returns its stdout.
/// Killed after a minute: a hung browser must fail the test, not hang it.
fn run(browser: &str, page: &Path, args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(browser);
    cmd.args([
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
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let child = cmd.spawn().expect("chromium starts");
    let id = child.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    let waiter = std::thread::spawn(move || child.wait_with_output());
    while !waiter.is_finished() {
        if Instant::now() > deadline {
            // Only the browser this test started, by its id.
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("chromium did not finish within a minute: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = waiter.join().unwrap().expect("chromium ran");
    assert!(
        out.status.success(),
        "chromium {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the DOM is UTF-8")
}

fn screens_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/report-screens");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_page(dir: &Path, name: &str, language: Language) -> PathBuf {
    let mut r = fixture();
    r.language = language;
    let page = dir.join(name);
    std::fs::write(&page, render(&r, Format::Html)).unwrap();
    page
}

/// A PNG's width and height, from its header.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[1..4], b"PNG", "{} is a PNG", path.display());
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn the_dom_chromium_builds_shows_the_report_and_no_script() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = write_page(dir.path(), "report.html", Language::Vi);
    let dom = run(browser, &page, &["--dump-dom".to_string()]);
    for text in [
        "Báo cáo tương tác",
        "giờ Asia/Ho_Chi_Minh",
        "02/11/2026 – 03/12/2026",
        "1.234",
        "5.678",
        "13.210",
        "1,09 bài/tuần",
        "Họp dân về quy hoạch khu dân cư Đồng Xoài",
        "Cảnh báo lũ quét và sạt lở đất ở thôn Đắk Rơ",
        "Cần xử lý (3)",
        "mã truy cập sắp hết hạn",
        "không đạt",
        "Lượt xem theo kỳ",
    ] {
        assert!(dom.contains(text), "{text:?} missing from the DOM");
    }
    // The script title is text: serialized escaped, never an element.
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!dom.contains("<script"), "no script element in the DOM");
    assert!(!dom.contains(SCRIPT_TITLE));
    assert!(dom.contains("<html lang=\"vi\">"));
    for error in ["ERR_", "parsererror", "{{", "{%"] {
        assert!(!dom.contains(error), "{error:?} in the DOM");
    }
    // Both charts, twice each (wide and narrow), inline.
    assert_eq!(dom.matches("<svg class=\"chart\"").count(), 4);
}

#[test]
fn english_dom() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = write_page(dir.path(), "report-en.html", Language::En);
    let dom = run(browser, &page, &["--dump-dom".to_string()]);
    for text in [
        "Engagement summary",
        "Asia/Ho_Chi_Minh time",
        "1,234",
        "5,678",
        "1.09 posts/week",
        "Needs your attention (3)",
    ] {
        assert!(dom.contains(text), "{text:?} missing from the DOM");
    }
    assert!(dom.contains("<html lang=\"en\">"));
}

#[test]
fn screenshots_at_phone_and_desktop_width_and_an_a4_pdf() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let screens = screens_dir();
    for (language, tag) in [(Language::Vi, "vi"), (Language::En, "en")] {
        let page = write_page(dir.path(), &format!("report-{tag}.html"), language);
        std::fs::copy(&page, screens.join(format!("report-{tag}.html"))).unwrap();
        for (name, width) in [("phone", 390), ("desktop", 1280)] {
            let png = screens.join(format!("report-{tag}-{name}.png"));
            let _ = std::fs::remove_file(&png);
            run(
                browser,
                &page,
                &[
                    format!("--screenshot={}", png.display()),
                    format!("--window-size={width},2400"),
                ],
            );
            let (w, h) = png_size(&png);
            assert_eq!((w, h), (width, 2400), "{}", png.display());
            assert!(
                std::fs::metadata(&png).unwrap().len() > 20_000,
                "{}",
                png.display()
            );
        }
        let pdf = screens.join(format!("report-{tag}.pdf"));
        let _ = std::fs::remove_file(&pdf);
        run(
            browser,
            &page,
            &[
                format!("--print-to-pdf={}", pdf.display()),
                "--no-pdf-header-footer".to_string(),
            ],
        );
        let bytes = std::fs::read(&pdf).unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "{} is a PDF", pdf.display());
        assert!(
            bytes.len() > 20_000,
            "{} is {} bytes",
            pdf.display(),
            bytes.len()
        );
    }
}
