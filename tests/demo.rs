//! `loa demo` — the README's first command — from a folder holding only the sample posts: no
//! config, no network, every sample post published exactly once. (Its length is set by the
//! compressed clock — two seconds a day — not by the machine, so it is not timed here.)

use std::path::Path;
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_demo_publishes_every_sample_post_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("posts"),
        &dir.path().join("posts"),
    );
    // A stale working folder is reset, never reused.
    std::fs::create_dir_all(dir.path().join("demo-data/data")).unwrap();
    std::fs::write(dir.path().join("demo-data/data/loa.db"), b"not a database").unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_loa"))
        .arg("demo")
        .current_dir(dir.path())
        .env_remove("LOA_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("9 / 9 lượt đăng thành công; 0 bài bị đăng trùng"),
        "{stdout}"
    );
    // The story is the officer's: no log line in it (they are in demo-data/demo.log), and its
    // times carry the date and never go backwards.
    for noise in [" WARN ", " INFO ", " ERROR ", "Z  "] {
        assert!(!stdout.contains(noise), "a log line in the story: {stdout}");
    }
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("WARN"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(dir.path().join("demo-data/demo.log")).unwrap();
    assert!(log.contains("publish attempt"), "{log}");
    // Zalo's "still processing" (-214) while verifying is the normal path, not a warning.
    assert!(
        !log.lines()
            .any(|l| l.contains("WARN") && l.contains("-214")),
        "{log}"
    );
    assert!(stdout.contains("demo-data/demo.log"), "{stdout}");
    // The dashboard's address, while the demo runs (not on a terminal: it does not wait).
    assert!(
        stdout.contains("Bảng điều khiển (mở bằng trình duyệt): http://127.0.0.1:"),
        "{stdout}"
    );
    let times: Vec<chrono::NaiveDateTime> = stdout
        .lines()
        .take_while(|l| !l.starts_with("Bài viết"))
        .filter(|l| l.contains("  facebook ") || l.contains("  zalo "))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let at = words
                .iter()
                .position(|w| w.contains('/'))
                .unwrap_or_else(|| panic!("no date in {l:?}"));
            chrono::NaiveDateTime::parse_from_str(
                &format!("{} {}", words[at], words[at + 1]),
                "%d/%m/%Y %H:%M",
            )
            .unwrap_or_else(|e| panic!("{l:?}: {e}"))
        })
        .collect();
    assert!(times.len() > 9, "{stdout}");
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "the story's times go backwards: {stdout}"
    );
    // The officer sees the status at the end, with the zone named.
    assert!(
        stdout.contains("Bài viết (giờ Asia/Ho_Chi_Minh)"),
        "{stdout}"
    );
    // It ends with the engagement summary: the table, and the page whose path it prints.
    for words in [
        "Báo cáo tương tác",
        "Tổng theo kênh",
        "Mục tiêu đăng bài",
        "Bài được xem nhiều nhất",
        "Cần xử lý",
        "demo-data/report.html",
    ] {
        assert!(stdout.contains(words), "{words} missing: {stdout}");
    }
    let facebook_totals = stdout
        .lines()
        .find(|l| l.starts_with("│ Facebook ┆        5 ┆"))
        .unwrap_or_else(|| panic!("no Facebook totals: {stdout}"));
    assert!(
        facebook_totals.contains('.'),
        "views in Vietnamese form (1.234): {facebook_totals}"
    );
    // Facebook retires a metric partway through: said in the story and in what needs the
    // officer, and the other figures carry on.
    assert!(
        stdout.contains("Facebook đã bỏ chỉ số post_clicks"),
        "{stdout}"
    );
    let page = std::fs::read_to_string(dir.path().join("demo-data/report.html")).unwrap();
    assert_eq!(
        page.matches("<svg").count() % 2,
        0,
        "each chart has a wide and a narrow drawing"
    );
    assert!(page.matches("<svg").count() >= 4, "both charts: {page}");
    assert!(page.contains("Chuyển đổi số là gì?"));
    assert!(page.contains("<html lang=\"vi\""));
    assert!(
        !page.contains("http://127.0.0.1"),
        "the page needs no network"
    );
    // loa never touched the posts it read.
    let before = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("posts/2026-12-01-chuyen-doi-so-la-gi.md"),
    )
    .unwrap();
    let after = std::fs::read(dir.path().join("posts/2026-12-01-chuyen-doi-so-la-gi.md")).unwrap();
    assert_eq!(before, after);
}
