//! The report over a synthetic store of 1,000,000 snapshots: how long `loa report` takes to
//! read the store and compute the model, and each format, for the default range (four weeks)
//! and for the whole five years.
//!
//! Run: `cargo bench --bench report` (prints a table; nothing is asserted: see BENCHMARKS.md).
//! The store is built once in `target/bench-report/loa.db` and reused while its size matches.

use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use loa::config::Config;
use loa::report::{By, CsvRows, Format, Options};
use loa::store::Store;

/// Snapshots in the synthetic store.
const SNAPSHOTS: usize = 1_000_000;
/// Snapshots per delivery: the seven ages of the cadence.
const PER_DELIVERY: usize = 7;
/// Five years of history, up to the report's "today".
const YEARS: i64 = 5;
const TODAY: &str = "2026-12-03T03:00:00Z";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Fills `path` with posts, published deliveries, their seven snapshots each, the collection
/// plan pointing at the newest, and a follower count a day. Written with plain SQL in one
/// transaction: seeding a benchmark is not the code under test.
fn build(path: &std::path::Path) {
    drop(Store::open(path).expect("schema"));
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    let tx = conn.transaction().unwrap();
    let deliveries = SNAPSHOTS / PER_DELIVERY + 1;
    let today = at(TODAY);
    let start = today - Duration::days(365 * YEARS);
    let step = (today - start).num_seconds() / deliveries as i64;
    let ages = [1i64, 6, 24, 72, 168, 336, 720];
    {
        let mut post = tx
            .prepare(
                "INSERT INTO posts (id, path, content_hash, content, title, meta, present, first_seen_at, updated_at)
                 VALUES (?1, ?2, ?3, '', ?4, ?5, 1, ?6, ?6)",
            )
            .unwrap();
        let mut delivery = tx
            .prepare(
                "INSERT INTO deliveries (id, post_id, channel, state, due_at, attempts, remote_id, published_at, published_hash)
                 VALUES (?1, ?2, ?3, 'published', ?4, 1, ?5, ?4, 'h')",
            )
            .unwrap();
        let mut snapshot = tx
            .prepare(
                "INSERT INTO snapshots (delivery_id, taken_at, step, views, reach, reactions, comments, shares, clicks, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .unwrap();
        let mut plan = tx
            .prepare(
                "INSERT INTO collections (delivery_id, last_step, next_due_at, link, latest_snapshot)
                 VALUES (?1, 6, NULL, NULL, ?2)",
            )
            .unwrap();
        let tags = ["chinh-quyen-so", "kinh-te-so", "xa-hoi-so", "dich-vu-cong"];
        let mut made = 0;
        for i in 0..deliveries {
            let published = start + Duration::seconds(step * i as i64);
            // Two deliveries per post: Facebook and Zalo.
            let post_id = format!("p{}", i / 2);
            let channel = if i % 2 == 0 { "facebook" } else { "zalo" };
            if i % 2 == 0 {
                post.execute(rusqlite::params![
                    post_id,
                    format!("posts/{}/{}.md", 2021 + i / 30_000, i / 2),
                    format!("h{i}"),
                    format!("Tin chuyển đổi số số {}", i / 2),
                    serde_json::json!({ "tags": [tags[i / 2 % 4]] }).to_string(),
                    ts(published),
                ])
                .unwrap();
            }
            delivery
                .execute(rusqlite::params![
                    i as i64 + 1,
                    post_id,
                    channel,
                    ts(published),
                    format!("{}_{i}", 123_456_789),
                ])
                .unwrap();
            let mut last = 0;
            for (s, hours) in ages.iter().enumerate() {
                if made == SNAPSHOTS {
                    break;
                }
                let views = (i as i64 % 97 + 10) * hours;
                let raw = serde_json::json!({ "post_media_view": views }).to_string();
                let fb = channel == "facebook";
                snapshot
                    .execute(rusqlite::params![
                        i as i64 + 1,
                        ts(published + Duration::hours(*hours)),
                        s as i64,
                        views,
                        fb.then_some(views * 7 / 10),
                        fb.then_some(views / 12),
                        fb.then_some(views / 100),
                        views / 200,
                        fb.then_some(views / 20),
                        raw,
                    ])
                    .unwrap();
                last = tx.last_insert_rowid();
                made += 1;
            }
            plan.execute(rusqlite::params![i as i64 + 1, last]).unwrap();
        }
        let mut account = tx
            .prepare(
                "INSERT INTO account_snapshots (channel, day, taken_at, followers, raw) VALUES (?1, ?2, ?3, ?4, '{}')",
            )
            .unwrap();
        for d in 0..365 * YEARS {
            let day = start + Duration::days(d);
            for (c, base) in [("facebook", 800), ("zalo", 300)] {
                account
                    .execute(rusqlite::params![
                        c,
                        day.date_naive().to_string(),
                        ts(day),
                        base + d
                    ])
                    .unwrap();
            }
        }
    }
    tx.commit().unwrap();
}

fn count(path: &std::path::Path) -> usize {
    rusqlite::Connection::open(path)
        .and_then(|c| c.query_row("SELECT COUNT(*) FROM snapshots", [], |r| r.get::<_, i64>(0)))
        .map_or(0, |n| n as usize)
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-report");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("loa.db");
    if count(&path) != SNAPSHOTS {
        let _ = std::fs::remove_file(&path);
        let t = Instant::now();
        build(&path);
        eprintln!("built {} snapshots in {:.1?}", count(&path), t.elapsed());
    }
    let config = Config::parse(
        "timezone = \"Asia/Ho_Chi_Minh\"\nposts_dir = \"posts\"\nlanguage = \"vi\"\n\
         [facebook]\npage_id = \"123456789012345\"\n[zalo]\napp_id = \"1\"\nauthor = \"UBND\"\n\
         default_cover_url = \"https://example.gov.vn/logo.jpg\"\n[targets]\nfacebook = \"2/week\"\nzalo = \"1/week\"\n",
    )
    .unwrap();
    loa::i18n::set_language(config.language);
    let now = at(TODAY);
    let whole = Options {
        since: Some(NaiveDate::from_ymd_opt(2021, 1, 1).unwrap()),
        until: None,
        by: By::Month,
    };
    println!("| range | posts in range | store read | model | table | csv (posts) | json | html |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, options) in [
        ("default (4 weeks)", Options::default()),
        ("5 years, by month", whole),
    ] {
        let mut best = [f64::MAX; 6];
        let mut posts = 0;
        for _ in 0..5 {
            let store = Store::open(&path).unwrap();
            let t = Instant::now();
            let report = loa::report::load(&store, &config, &options, now, None).unwrap();
            let total = t.elapsed().as_secs_f64();
            // The store read alone, to see how the time divides.
            let tz = config.timezone;
            let (since, until) =
                loa::report::build::range(&options, now.with_timezone(&tz).date_naive());
            let t = Instant::now();
            let rows = store
                .report_rows(
                    loa::report::build::day_start(tz, since),
                    loa::report::build::day_start(tz, until + Duration::days(1)),
                )
                .unwrap();
            let read = t.elapsed().as_secs_f64();
            assert_eq!(rows.len(), report.posts.len());
            let time = |format: Format| {
                let t = Instant::now();
                let bytes = loa::report::render(&report, format);
                assert!(!bytes.is_empty());
                t.elapsed().as_secs_f64()
            };
            let formats = [
                time(Format::Table),
                time(Format::Csv(CsvRows::Posts)),
                time(Format::Json),
                time(Format::Html),
            ];
            posts = report.posts.len();
            best[0] = best[0].min(read);
            best[1] = best[1].min(total - read);
            for (i, f) in formats.iter().enumerate() {
                best[2 + i] = best[2 + i].min(*f);
            }
        }
        let cells: Vec<String> = best.iter().map(|s| format!("{s:.3} s")).collect();
        println!("| {name} | {posts} | {} |", cells.join(" | "));
    }
}
