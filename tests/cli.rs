//! The command line as the officer uses it: `loa preview` on the sample posts, and messages in
//! the config's language.

mod common;

use assert_cmd::Command;

fn loa() -> Command {
    let mut cmd = Command::cargo_bin("loa").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("LOA_CONFIG");
    cmd
}

fn preview_json(post: &str) -> serde_json::Value {
    let out = loa()
        .args(["preview", post, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("preview prints JSON")
}

#[test]
fn preview_json_has_plain_facebook_text_and_allowed_zalo_html() {
    let doc = preview_json("posts/2026-12-01-chuyen-doi-so-la-gi.md");
    let fb = &doc["channels"]["facebook"]["requests"][0];
    assert_eq!(fb["method"], "POST");
    assert_eq!(fb["path"], "/v25.0/123456789012345/feed");
    let message = fb["form"]["message"].as_str().unwrap();
    for leftover in ["**", "](", "\n# ", "<"] {
        assert!(
            !message.contains(leftover),
            "{leftover:?} left in {message}"
        );
    }
    assert!(message.starts_with("Chuyển đổi số là gì"), "{message}");

    let create = &doc["channels"]["zalo"]["requests"][0];
    assert_eq!(create["path"], "/v2.0/article/create");
    let article = &create["json"];
    assert_eq!(article["status"], "show");
    assert_eq!(article["cover"]["cover_type"], "photo");
    for item in article["body"].as_array().unwrap() {
        if item["type"] == "text" {
            for (tag, _) in common::tags(item["content"].as_str().unwrap()) {
                assert!(
                    loa::render::zalo::ALLOWED_TAGS.contains(&tag.as_str()),
                    "<{tag}>"
                );
            }
        }
    }
    assert_eq!(
        doc["channels"]["zalo"]["requests"][1]["path"],
        "/v2.0/article/verify"
    );
}

#[test]
fn preview_json_of_a_photo_post_uploads_the_file() {
    let doc = preview_json("posts/2026-12-08-wifi-nha-van-hoa.md");
    let fb = &doc["channels"]["facebook"]["requests"][0];
    assert_eq!(fb["path"], "/v25.0/123456789012345/photos");
    assert_eq!(fb["multipart"]["source"]["content_type"], "image/png");
    assert_eq!(
        fb["multipart"]["source"]["file"],
        "posts/images/wifi-nha-van-hoa.png"
    );
    // This post asks for a broadcast: the third Zalo request sends the article to followers.
    assert_eq!(
        doc["channels"]["zalo"]["requests"][2]["path"],
        "/v2.0/oa/message"
    );
}

#[test]
fn preview_of_a_facebook_only_post_has_no_zalo() {
    let doc = preview_json("posts/2026-12-15-thanh-toan-khong-dung-tien-mat.md");
    assert!(doc["channels"].get("zalo").is_none());
    // No fixed date (the samples stay useful in any year): it takes the next free slot.
    assert!(doc["publish_at"].is_null(), "{doc:#}");
    let due = doc["channels"]["facebook"]["due_at"].as_str().unwrap();
    assert!(due.ends_with("07:00:00+07:00"), "{due}");
    assert_eq!(doc["timezone"], "Asia/Ho_Chi_Minh");
}

#[test]
fn the_officer_reads_vietnamese() {
    // The shipped config says language = "vi".
    let out = loa().arg("check").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Đã kiểm tra 5 bài: 0 lỗi, 0 cảnh báo"));

    let text = loa()
        .args(["preview", "posts/2026-12-01-chuyen-doi-so-la-gi.md"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    // The next Tuesday or Thursday, in the Vietnamese date form, with the zone named.
    let when = text
        .lines()
        .find_map(|l| l.strip_prefix("Đăng lúc: "))
        .unwrap_or_else(|| panic!("{text}"));
    let (date, why) = when.split_once(" (Asia/Ho_Chi_Minh) — ").expect(when);
    assert!(
        chrono::NaiveDateTime::parse_from_str(date, "%d/%m/%Y %H:%M").is_ok(),
        "{when}"
    );
    assert_eq!(why, "khung giờ hằng tuần (Thứ 3 07:00, Thứ 5 07:00)");
    assert!(
        text.contains("══ Zalo ══") && text.contains("Tiêu đề:"),
        "{text}"
    );
}

#[test]
fn preview_of_a_broken_post_fails_with_its_problems() {
    let out = loa()
        .args([
            "--config",
            "tests/fixtures/bad.toml",
            "preview",
            "tests/fixtures/bad/us-date.md",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("us-date.md:3:13: error:"));
}

#[test]
fn bad_usage_exits_2() {
    assert_eq!(
        loa().arg("frobnicate").output().unwrap().status.code(),
        Some(2)
    );
    assert_eq!(
        loa().args(["preview"]).output().unwrap().status.code(),
        Some(2)
    );
}

/// A config in a temporary folder over the repo's sample posts, with its own data folder.
fn temp_config() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let posts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("posts");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/loa.toml"),
    )
    .unwrap()
    .replace(
        "posts_dir = \"../posts\"",
        &format!("posts_dir = {:?}", posts.display().to_string()),
    )
    .replace("data_dir = \"../data\"", "data_dir = \"data\"")
    .replace("language = \"vi\"", "language = \"en\"");
    let path = dir.path().join("loa.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn status_json_has_the_contract_shape() {
    let (_dir, config) = temp_config();
    let out = loa()
        .arg("--config")
        .arg(&config)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let posts = doc["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 5);
    let first = &posts[0];
    for key in ["id", "file", "title", "publish_at", "deliveries"] {
        assert!(first.get(key).is_some(), "post key {key}");
    }
    assert_eq!(first["file"], "posts/2026-12-01-chuyen-doi-so-la-gi.md");
    // A weekly slot (Tue/Thu 07:00) in the configured zone; which one depends on today's date.
    let slot = chrono::DateTime::parse_from_rfc3339(first["publish_at"].as_str().unwrap()).unwrap();
    assert_eq!(slot.offset().local_minus_utc(), 7 * 3600, "{slot}");
    assert_eq!(slot.format("%H:%M").to_string(), "07:00");
    assert!(
        matches!(
            chrono::Datelike::weekday(&slot),
            chrono::Weekday::Tue | chrono::Weekday::Thu
        ),
        "{slot}"
    );
    let d = &first["deliveries"][0];
    for key in [
        "channel",
        "state",
        "remote_id",
        "attempts",
        "next_attempt_at",
        "published_at",
        "last_error",
    ] {
        assert!(d.get(key).is_some(), "delivery key {key}");
    }
    assert_eq!(
        (d["channel"].as_str(), d["state"].as_str()),
        (Some("facebook"), Some("scheduled"))
    );
    let c = &doc["channels"][0];
    for key in ["channel", "health", "paused_until", "token_expires_at"] {
        assert!(c.get(key).is_some(), "channel key {key}");
    }
}

#[test]
fn cancel_and_retry_say_what_they_did() {
    let (_dir, config) = temp_config();
    let post = "posts/2026-12-03-dich-vu-cong-truc-tuyen.md";
    assert!(
        loa()
            .arg("--config")
            .arg(&config)
            .arg("status")
            .output()
            .unwrap()
            .status
            .success()
    );

    let out = loa()
        .arg("--config")
        .arg(&config)
        .args(["cancel", post, "--channel", "zalo"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1 delivery(ies) cancelled"
    );

    let out = loa()
        .arg("--config")
        .arg(&config)
        .args(["status", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let states: Vec<&str> = doc["posts"][1]["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["scheduled", "cancelled"]);

    let out = loa()
        .arg("--config")
        .arg(&config)
        .args(["retry", post])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "nothing failed, so nothing to retry"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to retry"));

    let out = loa()
        .arg("--config")
        .arg(&config)
        .args(["cancel", "posts/khong-co.md"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no post `posts/khong-co.md`"));
}

#[test]
fn run_once_syncs_and_exits() {
    let (dir, config) = temp_config();
    let out = loa()
        .arg("--config")
        .arg(&config)
        .args(["run", "--once", "--log-format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/loa.db").exists());
    let first_log = String::from_utf8_lossy(&out.stderr)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        serde_json::from_str::<serde_json::Value>(&first_log).is_ok(),
        "json logs: {first_log}"
    );
}

#[test]
fn preview_at_a_time_it_cannot_read_says_how_to_write_it() {
    let out = loa()
        .args([
            "preview",
            "posts/2026-12-01-chuyen-doi-so-la-gi.md",
            "--at",
            "12/31/2026 07:00",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("--at: "), "{err}");
    assert!(
        err.contains("31/12/2026 07:00"),
        "the fix shows the form: {err}"
    );
}

#[test]
fn preview_json_names_each_channels_time() {
    let out = loa()
        .args([
            "preview",
            "posts/2026-12-01-chuyen-doi-so-la-gi.md",
            "--format",
            "json",
            "--at",
            "24/12/2030 07:00",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for channel in ["facebook", "zalo"] {
        assert_eq!(
            doc["channels"][channel]["due_at"], "2030-12-24T07:00:00+07:00",
            "{doc}"
        );
        assert_eq!(doc["channels"][channel]["due_from"], "asked");
    }
}
