//! Done when: after a run against a platform fake, `loa report --format json` gives, per post
//! and channel, exactly the figures the fake served at its last collection, and `table`, `csv`
//! and `html` show the same numbers. The fake is loa's sandbox on a clock running 600 times
//! faster than the wall's (so posts have an hour of views within seconds); what it served is
//! read from the raw answers loa kept beside each snapshot.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use loa::engine::Clock;
use loa::sandbox::{self, Faults, Sandbox};
use serde_json::Value;

struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
}

impl World {
    fn new(url: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let posts = root.join("posts");
        std::fs::create_dir_all(&posts).unwrap();
        let post = |name: &str, front: &str, body: &str| {
            std::fs::write(
                posts.join(name),
                format!("---\n{front}\npublish_at: now\n---\n{body}\n"),
            )
            .unwrap()
        };
        post(
            "1-lich.md",
            "title: \"Lịch tiếp công dân tháng 12\"\ntags: [chinh-quyen-so]",
            "Chủ tịch UBND xã tiếp công dân sáng thứ Sáu hằng tuần.",
        );
        post(
            "2-dvc.md",
            "title: \"Nộp hồ sơ trực tuyến\"\ntags: [dich-vu-cong]",
            "Hướng dẫn nộp hồ sơ trên Cổng Dịch vụ công quốc gia.",
        );
        post(
            "3-cho.md",
            "title: \"<script>alert(1)</script> Chợ phiên\"\nchannels: [facebook]",
            "Mời bà con đến chợ phiên sáng Chủ nhật.",
        );
        let config = root.join("loa.toml");
        std::fs::write(
            &config,
            format!(
                "language = \"vi\"\nposts_dir = \"posts\"\ndata_dir = \"data\"\n\
                 [facebook]\npage_id = \"{page}\"\ngraph_url = \"{url}\"\nnative_schedule = false\n\
                 [zalo]\napp_id = \"{app}\"\nopenapi_url = \"{url}\"\noauth_url = \"{url}\"\nauthor = \"UBND xã Thanh Kỳ\"\n\
                 default_cover_url = \"https://example.gov.vn/logo.jpg\"\nlisting_delay = \"3s\"\n\
                 [targets]\nfacebook = \"2/week\"\n",
                page = sandbox::PAGE_ID,
                app = sandbox::ZALO_APP.0,
            ),
        )
        .unwrap();
        World {
            _dir: dir,
            root,
            config,
        }
    }

    fn loa(&self, args: &[&str]) -> (String, String, i32) {
        let out = Command::new(env!("CARGO_BIN_EXE_loa"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(&self.root)
            .env("LOA_FACEBOOK_PAGE_TOKEN", sandbox::PAGE_TOKEN)
            .env("LOA_ZALO_APP_SECRET", sandbox::ZALO_APP.1)
            .env("LOA_ZALO_REFRESH_TOKEN", sandbox::ZALO_FIRST_REFRESH_TOKEN)
            .env("LOA_LOG", "warn")
            .env_remove("LOA_CONFIG")
            .stdin(Stdio::null())
            .output()
            .expect("loa runs");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code().unwrap_or(-1),
        )
    }

    fn db(&self) -> PathBuf {
        self.root.join("data/loa.db")
    }
}

fn published(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .and_then(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM deliveries WHERE state = 'published'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap_or(0)
}

/// (file, channel) → the raw answers of the delivery's newest snapshot.
fn served(db: &Path) -> BTreeMap<(String, String), Value> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT p.path, d.channel, s.raw FROM deliveries d JOIN posts p ON p.id = d.post_id
             JOIN collections c ON c.delivery_id = d.id JOIN snapshots s ON s.id = c.latest_snapshot",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
            serde_json::from_str(&r.get::<_, String>(2)?).unwrap(),
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// A number, or the sum of a map of numbers (reactions by type).
fn number(v: &Value) -> u64 {
    match v {
        Value::Object(m) => m.values().map(number).sum(),
        other => other
            .as_u64()
            .unwrap_or_else(|| panic!("not a count: {other}")),
    }
}

/// What the reference says each figure is, read straight from the platform's answers.
fn expected(channel: &str, raw: &Value) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    if channel == "zalo" {
        out.insert("views".into(), number(&raw["total_view"]));
        out.insert("shares".into(), number(&raw["total_share"]));
        return out;
    }
    let answers = raw.as_object().expect("one answer per call");
    for (url, answer) in answers {
        let latest = |a: &Value| {
            a["data"][0]["values"]
                .as_array()
                .and_then(|v| v.last())
                .map(|v| number(&v["value"]))
        };
        let figure = if url.contains("metric=post_media_view&") {
            Some(("views", latest(answer)))
        } else if url.contains("metric=post_total_media_view_unique&") {
            Some(("reach", latest(answer)))
        } else if url.contains("metric=post_clicks&") {
            Some(("clicks", latest(answer)))
        } else if url.contains("metric=post_reactions_by_type_total&") {
            Some(("reactions", latest(answer)))
        } else {
            // The node: shares (absent = never shared) and comments.
            out.insert(
                "shares".into(),
                answer.pointer("/shares/count").map_or(0, number),
            );
            out.insert(
                "comments".into(),
                number(&answer["comments"]["summary"]["total_count"]),
            );
            None
        };
        if let Some((name, Some(v))) = figure {
            out.insert(name.into(), v);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_shows_exactly_what_the_platforms_served() {
    let sb = Sandbox::new(Clock::compressed(Utc::now(), 600.0), Faults::default());
    let (addr, _server) = sandbox::serve(sb.clone(), 0).await.unwrap();
    let w = World::new(&format!("http://{addr}"));

    let began = Instant::now();
    while published(&w.db()) < 5 {
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "not all published"
        );
        let (_, err, _) = w.loa(&["run", "--once"]);
        assert!(!err.contains("panicked"), "{err}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // An hour and more of the platforms' time for views to grow.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let (out, err, code) = w.loa(&["metrics", "--all"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("đã lưu 5 lần đo của 5 bài"), "{out}");

    // Each collection round (`loa run --once`, `loa metrics`) rewrites data_dir/report.html.
    let page = std::fs::read_to_string(w.root.join("data/report.html")).expect("report.html");
    assert!(
        page.contains("Nộp hồ sơ trực tuyến"),
        "the page shows the posts"
    );

    let served = served(&w.db());
    assert_eq!(served.len(), 5);
    let (json, err, code) = w.loa(&["report", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&json).unwrap();
    let posts = report["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 5);
    let mut some_views = false;
    for p in posts {
        let key = (
            p["file"].as_str().unwrap().to_string(),
            p["channel"].as_str().unwrap().to_string(),
        );
        let want = expected(&key.1, &served[&key]);
        let got: BTreeMap<String, u64> = p["metrics"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect();
        assert_eq!(got, want, "{key:?}");
        some_views |= got.get("views").is_some_and(|v| *v > 0);
    }
    assert!(some_views, "the sandbox served views: {json}");

    // CSV: the same numbers, per post and channel, with the Vietnamese intact.
    let (csv, _, code) = w.loa(&["report", "--format", "csv"]);
    assert_eq!(code, 0);
    let csv = csv.strip_prefix('\u{feff}').expect("a BOM for Excel");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let mut rows = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let field = |name: &str| {
            let i = headers.iter().position(|h| h == name).unwrap();
            record.get(i).unwrap().to_string()
        };
        let p = posts
            .iter()
            .find(|p| {
                p["file"] == field("file").as_str() && p["channel"] == field("channel").as_str()
            })
            .expect("the same posts");
        assert_eq!(p["title"], field("title").as_str());
        for metric in [
            "views",
            "reach",
            "reactions",
            "comments",
            "shares",
            "clicks",
        ] {
            let cell = field(metric);
            match p["metrics"].get(metric) {
                Some(v) => assert_eq!(cell, v.to_string(), "{metric}"),
                None => assert_eq!(cell, "", "{metric}"),
            }
        }
        rows += 1;
    }
    assert_eq!(rows, 5);
    assert!(csv.contains("Nộp hồ sơ trực tuyến"));

    // Table and HTML: the channels' totals, in the Vietnamese number form.
    let vi = |n: u64| {
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push('.');
            }
            out.push(c);
        }
        out
    };
    let (table, _, _) = w.loa(&["report"]);
    w.loa(&["report", "--format", "html", "--out", "report.html"]);
    let html = std::fs::read_to_string(w.root.join("report.html")).unwrap();
    for channel in report["channels"].as_array().unwrap() {
        let name = if channel["channel"] == "facebook" {
            "Facebook"
        } else {
            "Zalo"
        };
        let line = table
            .lines()
            .find(|l| l.starts_with(&format!("│ {name}")))
            .unwrap_or_else(|| panic!("{name} in {table}"));
        for metric in ["views", "shares"] {
            let n = vi(channel[metric].as_u64().unwrap());
            assert!(line.contains(&format!(" {n} ")), "{metric} {n} in {line}");
            assert!(html.contains(&n), "{metric} {n} in the page");
        }
    }
    // A hostile title is text on the page, never markup.
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; Chợ phiên"));
    assert!(!html.contains("<script>alert(1)"));
}
