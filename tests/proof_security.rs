//! Issue 12, point 8: no secret in any output, and a post's title is text everywhere.
//!
//! Known secret values (the sandbox's own, so loa really holds and sends them: the Facebook app
//! secret and user token used by `loa auth facebook`, the Page token it stores, the Zalo app
//! secret, the first refresh token and every token pair the sandbox rotates to) are planted in
//! the environment and in the token store, the binary runs against the sandbox with
//! `LOA_LOG=debug` in text and in JSON, and every output is grepped for every form of each:
//! stdout and stderr of `auth`, `run --once`, `metrics`, `status`, `status --json`, `report` in
//! each format, `preview`, `check`, the failing paths (a wrong Page token), and every file loa
//! wrote under the data folder except the token store itself, and every page of the dashboard
//! served by `loa run` (with the Page token in its environment).

#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::leak::Leaks;
use common::served::{World, published, text};
use loa::engine::Clock;
use loa::sandbox::{self, Faults, Sandbox};
use serde_json::Value;

/// The title that must stay text in every output.
const SCRIPT_TITLE: &str = "<script>alert(1)</script> Chợ phiên";
/// A Page token the sandbox does not know, for the platform's auth error path.
const WRONG_PAGE_TOKEN: &str = "planted-wrong-page-token-Zq81";

/// The page has no script element and shows the title as escaped text.
fn assert_html_shows_title_as_text(place: &str, html: &str) {
    assert!(
        !html.to_ascii_lowercase().contains("<script"),
        "{place}: a script element"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;")
            || html.contains("&#60;script&#62;alert(1)&#60;"),
        "{place}: the title is not shown as text"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_output_and_titles_stay_text() {
    let sb = Sandbox::new(Clock::compressed(Utc::now(), 600.0), Faults::default());
    let (addr, _server) = sandbox::serve(sb.clone(), 0).await.unwrap();
    let mut w = World::new(&format!("http://{addr}"));
    w.post(
        "1-lich.md",
        "Lịch tiếp công dân",
        "facebook, zalo",
        "Chủ tịch UBND xã tiếp công dân sáng thứ Sáu.",
    );
    w.post(
        "2-cho.md",
        SCRIPT_TITLE,
        "facebook",
        "Mời bà con đến chợ phiên sáng Chủ nhật.",
    );

    let mut leaks = Leaks::default();
    for planted in [
        sandbox::PAGE_TOKEN,
        sandbox::FACEBOOK_APP.1,
        sandbox::USER_TOKEN,
        sandbox::ZALO_APP.1,
        sandbox::ZALO_FIRST_REFRESH_TOKEN,
        WRONG_PAGE_TOKEN,
    ] {
        leaks.add(planted);
    }

    // The Page token into the store through the real connect flow (user token on stdin).
    let out = w.loa(
        "text",
        &["auth", "facebook", "--user-token", "-"],
        &[],
        &format!("{}\n", sandbox::USER_TOKEN),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::metadata(w.tokens()).unwrap().permissions().mode() & 0o777,
        0o600,
        "the token store is created 0600"
    );

    // Publish, alternating the log format; the Page token comes from the store.
    let began = Instant::now();
    let mut round = 0;
    while published(&w.data()) < 3 {
        assert!(
            began.elapsed() < Duration::from_secs(40),
            "not all published"
        );
        let format = if round % 2 == 0 { "text" } else { "json" };
        w.loa(format, &["run", "--once"], &[], "");
        round += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The same with the Page token from the environment.
    w.loa(
        "json",
        &["run", "--once"],
        &[("LOA_FACEBOOK_PAGE_TOKEN", sandbox::PAGE_TOKEN)],
        "",
    );
    tokio::time::sleep(Duration::from_secs(7)).await;
    for format in ["text", "json"] {
        let out = w.loa(format, &["metrics", "--all"], &[], "");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }

    // The short commands and every report format, in both log formats.
    for format in ["text", "json"] {
        let status = w.loa(format, &["status"], &[], "");
        assert!(
            text(&status.stdout).contains(SCRIPT_TITLE)
                || text(&status.stdout).contains("2-cho.md")
        );
        let status = w.loa(format, &["status", "--json"], &[], "");
        let _: Value = serde_json::from_slice(&status.stdout).expect("status --json is JSON");
        for report in ["table", "csv", "json", "html"] {
            let out = w.loa(format, &["report", "--format", report], &[], "");
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        }
        w.loa(format, &["preview", "posts/2-cho.md"], &[], "");
        w.loa(
            format,
            &["preview", "posts/1-lich.md", "--format", "json"],
            &[],
            "",
        );
        w.loa(format, &["check"], &[], "");
    }

    // The title is text: in the report's page, its JSON, its CSV and the preview.
    let html = text(
        &w.loa("text", &["report", "--format", "html"], &[], "")
            .stdout,
    );
    assert_html_shows_title_as_text("report --format html", &html);
    let page = std::fs::read_to_string(w.data().join("report.html")).expect("report.html");
    assert_html_shows_title_as_text("data/report.html", &page);
    let json: Value = serde_json::from_slice(
        &w.loa("text", &["report", "--format", "json"], &[], "")
            .stdout,
    )
    .unwrap();
    assert!(
        json["posts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["title"] == SCRIPT_TITLE),
        "the JSON report carries the title exactly"
    );
    let csv = text(
        &w.loa("text", &["report", "--format", "csv"], &[], "")
            .stdout,
    );
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let title = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "title")
        .unwrap();
    assert!(
        reader
            .records()
            .any(|r| r.unwrap().get(title) == Some(SCRIPT_TITLE)),
        "the CSV report carries the title exactly"
    );
    let preview = w.loa(
        "text",
        &["preview", "posts/2-cho.md", "--format", "json"],
        &[],
        "",
    );
    assert!(
        text(&preview.stdout).contains(&serde_json::to_string(SCRIPT_TITLE).unwrap()[1..10]),
        "the preview's JSON carries the title as a JSON string"
    );
    let status = w.loa("text", &["status", "--json"], &[], "");
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(
        status.to_string().contains("2-cho.md"),
        "status --json names the post"
    );

    // The dashboard of a running service with the Page token in its environment: every page,
    // every post's page and the downloads; the script title is text there too.
    std::fs::write(
        &w.config,
        format!(
            "{}\n[web]\nlisten = \"127.0.0.1:0\"\n",
            std::fs::read_to_string(&w.config).unwrap()
        ),
    )
    .unwrap();
    let mut service = w.spawn_run(&[("LOA_FACEBOOK_PAGE_TOKEN", sandbox::PAGE_TOKEN)]);
    let url_file = w.data().join("dashboard.url");
    let began = Instant::now();
    while !url_file.exists() {
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "the dashboard started"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let base = std::fs::read_to_string(&url_file)
        .unwrap()
        .trim()
        .to_string();
    let http = reqwest::Client::new();
    let get = |path: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let answer = http
                .get(format!("{}{}", base.trim_end_matches('/'), path))
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success(), "{path}: {}", answer.status());
            answer.text().await.unwrap()
        }
    };
    let list = get("/posts".into()).await;
    let mut pages: Vec<String> = [
        "/",
        "/posts",
        "/engagement",
        "/attention",
        "/engagement/report.csv",
        "/engagement/report.html",
    ]
    .map(String::from)
    .to_vec();
    pages.extend(
        list.match_indices("href=\"/posts/")
            .map(|(i, _)| list[i + 6..].split('"').next().unwrap().to_string()),
    );
    assert_eq!(pages.len(), 8, "both posts' pages: {pages:?}");
    for path in pages {
        let page = get(path.clone()).await;
        if !path.ends_with(".csv") {
            assert!(!page.contains("<script"), "{path}: a script element");
        }
        w.outputs.push((format!("dashboard {path}"), page));
    }
    let _ = service.kill();
    let _ = service.wait();
    w.outputs.push((
        "loa run with the dashboard".into(),
        std::fs::read_to_string(w.root.join("run.log")).unwrap_or_default(),
    ));

    // The failing path: a Page token the platform refuses, for a new post.
    let published_before = published(&w.data());
    w.post("3-moi.md", "Thông báo mới", "facebook", "Nội dung.");
    for format in ["text", "json"] {
        w.loa(
            format,
            &["run", "--once"],
            &[("LOA_FACEBOOK_PAGE_TOKEN", WRONG_PAGE_TOKEN)],
            "",
        );
        w.loa(
            format,
            &["status"],
            &[("LOA_FACEBOOK_PAGE_TOKEN", WRONG_PAGE_TOKEN)],
            "",
        );
        // And `auth facebook` refused by the platform.
        let out = w.loa(
            format,
            &["auth", "facebook", "--user-token", WRONG_PAGE_TOKEN],
            &[],
            "",
        );
        assert_ne!(out.status.code(), Some(0), "a wrong user token is refused");
    }

    assert_eq!(
        published(&w.data()),
        published_before,
        "the platform refused the wrong Page token"
    );

    // What loa holds now: the Page token and the Zalo pair the sandbox rotated to.
    let found = leaks.add_token_store(&w.tokens());
    assert!(found >= 3, "the store holds the Page token and a Zalo pair");
    assert!(leaks.len() >= 8, "{}", leaks.len());
    for (place, output) in &w.outputs {
        leaks.assert_none_in(place, output);
        // Every Zalo token the sandbox ever issued has this form, not only the stored pair.
        for prefix in ["sandbox-access-", "sandbox-refresh-"] {
            assert!(!output.contains(prefix), "a Zalo token appears in {place}");
        }
    }
    let tokens = w.tokens();
    let files = leaks.assert_none_under(&w.data(), &[tokens.as_path()]);
    assert!(files >= 2, "the database and report.html were grepped");
    // Debug logs were really on: the grep read something worth reading.
    assert!(
        w.outputs
            .iter()
            .any(|(p, o)| p.contains("json logs") && o.contains("\"level\":\"DEBUG\"")),
        "debug logs in JSON"
    );
}

use std::os::unix::fs::PermissionsExt;

#[test]
fn every_command_refuses_a_token_store_others_can_read() {
    let mut w = World::new("http://127.0.0.1:9");
    w.post("1-a.md", "Tin", "facebook", "Nội dung.");
    std::fs::create_dir_all(w.data()).unwrap();
    std::fs::write(w.tokens(), "{}\n").unwrap();
    std::fs::set_permissions(w.tokens(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let chmod = format!("chmod 600 {}", w.tokens().display());
    let runs = [
        vec!["run"],
        vec!["run", "--once"],
        vec!["status"],
        vec!["status", "--json"],
        vec!["report"],
        vec!["metrics"],
    ];
    for args in &runs {
        let out = w.loa("text", args, &[], "");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(&chmod), "{args:?}: {err}");
        assert!(err.contains("other users can read"), "{args:?}: {err}");
    }
    // In Vietnamese too.
    let config = std::fs::read_to_string(&w.config).unwrap();
    std::fs::write(
        &w.config,
        config.replace("language = \"en\"", "language = \"vi\""),
    )
    .unwrap();
    let out = w.loa("text", &["run"], &[], "");
    let err = text(&out.stderr);
    assert!(err.contains("người dùng khác có thể đọc"), "{err}");
    assert!(err.contains(&chmod), "{err}");
    // check and preview never read it; after the chmod, the service's short pass starts.
    assert_eq!(w.loa("text", &["check"], &[], "").status.code(), Some(0));
    std::fs::set_permissions(w.tokens(), std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = w.loa("text", &["status"], &[], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
#[should_panic(expected = "a secret (a|b c…) appears in a query")]
fn the_grep_finds_a_secret_in_its_url_encoded_form() {
    let mut leaks = Leaks::default();
    leaks.add("a|b c");
    leaks.assert_none_in("a query", "GET /me?access_token=a%7Cb%20c");
}
