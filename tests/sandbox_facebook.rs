//! loa's real Facebook client (`FacebookChannel`, `auth`, `insights`) against the sandbox's
//! simulated Graph API, served on 127.0.0.1 by `loa::sandbox::serve`.
//!
//! Each test drives the sandbox the way loa does in service, then checks both what loa concluded
//! and what the simulated Page now holds (one object per post, deleted ones flagged). A few raw
//! requests check the sandbox's strictness where loa itself never errs.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use secrecy::SecretString;
use serde_json::Value;
use tempfile::TempDir;

use loa::engine::Clock;
use loa::facebook::auth::{debug_token, exchange_user_token, find_page_token};
use loa::facebook::client::{FacebookChannel, parse_graph_time};
use loa::metrics::{Asked, Collected, Collector, Figures, ItemResult};
use loa::post::Post;
use loa::publisher::{BoxFuture, Job, Outcome, ProgressSink, Publisher, Reconciled};
use loa::sandbox::facebook::PostView;
use loa::sandbox::{FACEBOOK_APP, Faults, PAGE_ID, PAGE_TOKEN, Sandbox, USER_TOKEN, serve};

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

const CONFIG: &str = r#"
timezone = "Asia/Ho_Chi_Minh"
language = "en"
[facebook]
page_id = "123456789012345"
"#;

const TEXT: &str = "---\ntitle: \"Họp dân tháng 12\"\nchannels: [facebook]\n---\nMời bà con đến nhà văn hoá lúc 8 giờ: điện & nước = 100%.\n";
const LINK: &str = "---\ntitle: \"Nộp hồ sơ trực tuyến\"\nchannels: [facebook]\nfacebook: { link: \"https://dichvucong.gov.vn/p/home.html?a=1&b=2\" }\n---\nXem hướng dẫn trên Cổng dịch vụ công.\n";
const ONE_PHOTO: &str = "---\ntitle: \"Wi-Fi nhà văn hóa\"\nchannels: [facebook]\ncover: images/a.png\n---\nĐã lắp xong điểm Wi-Fi miễn phí.\n";
const THREE_PHOTOS: &str = "---\ntitle: \"Tập huấn kỹ năng số\"\nchannels: [facebook]\ncover: images/a.png\n---\nHình ảnh buổi tập huấn.\n\n![Hội trường](images/b.jpg)\n\n![Bà con](images/c.png)\n";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// Facebook saves no progress, but a job needs somewhere to put it.
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

/// A posts folder with the photos the posts use.
struct Folder {
    dir: TempDir,
    config: loa::config::Config,
}

impl Folder {
    fn new() -> Folder {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("images");
        std::fs::create_dir_all(&images).unwrap();
        std::fs::write(images.join("a.png"), PNG).unwrap();
        std::fs::write(images.join("b.jpg"), JPEG).unwrap();
        std::fs::write(images.join("c.png"), PNG).unwrap();
        let mut config = loa::config::Config::parse(CONFIG).expect("the test config is valid");
        config.posts_dir = dir.path().to_path_buf();
        Folder { dir, config }
    }

    fn post(&self, name: &str, text: &str) -> Post {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let loaded = loa::post::load(&path, &self.config);
        loaded
            .post
            .unwrap_or_else(|| panic!("the test post is valid: {:?}", loaded.problems))
    }
}

fn job(post: Post, due_at: DateTime<Utc>) -> Job {
    Job {
        delivery_id: 1,
        post,
        due_at,
        progress: None,
        scheduled_on_platform: false,
        progress_sink: Arc::new(Progress::default()),
    }
}

/// The sandbox on a free port, with `clock` and `faults`, and its base URL.
async fn start(clock: Clock, faults: Faults) -> (Arc<Sandbox>, String) {
    let sandbox = Sandbox::new(clock, faults);
    let (addr, _task) = serve(sandbox.clone(), 0).await.unwrap();
    (sandbox, format!("http://{addr}"))
}

fn channel(url: &str, token: &str, native: bool, clock: Clock) -> FacebookChannel {
    FacebookChannel::new(
        url,
        "v25.0",
        PAGE_ID,
        SecretString::from(token),
        native,
        clock,
    )
}

fn posts(sandbox: &Sandbox) -> Vec<PostView> {
    sandbox.facebook.lock().unwrap().posts()
}

fn loose_uploads(sandbox: &Sandbox) -> usize {
    sandbox.facebook.lock().unwrap().loose_uploads()
}

fn published_id(outcome: Outcome) -> String {
    match outcome {
        Outcome::Published { remote_id } => remote_id,
        other => panic!("expected Published, got {other:?}"),
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A raw GET: status and JSON body.
async fn get(url: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let r = http().get(url).query(query).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// A raw form POST: status and JSON body.
async fn post_form(url: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http().post(url).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// A raw multipart POST to `/photos`.
async fn upload(url: &str, form: reqwest::multipart::Form) -> (u16, Value) {
    let r = http()
        .post(format!("{url}/v25.0/{PAGE_ID}/photos"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

fn code(body: &Value) -> (i64, Option<i64>) {
    (
        body["error"]["code"].as_i64().unwrap_or(0),
        body["error"]["error_subcode"].as_i64(),
    )
}

/// Nothing the sandbox recorded contains a token.
fn assert_no_token_recorded(sandbox: &Sandbox) {
    let received = sandbox.received.lock().unwrap();
    assert!(!received.is_empty());
    for r in received.iter() {
        let text = format!("{} {} {}", r.method, r.path, r.answer);
        for secret in [PAGE_TOKEN, USER_TOKEN, FACEBOOK_APP.1, "sandbox-long-lived"] {
            assert!(!text.contains(secret), "a token was recorded: {text}");
        }
    }
}

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Publishing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn text_link_one_photo_and_three_photo_posts_land_on_the_page_once_each() {
    let (sandbox, url) = start(Clock::system(), Faults::default()).await;
    let fb = channel(&url, PAGE_TOKEN, false, Clock::system());
    let folder = Folder::new();

    let text = published_id(
        fb.publish(&job(folder.post("1.md", TEXT), Utc::now()))
            .await,
    );
    let link = published_id(
        fb.publish(&job(folder.post("2.md", LINK), Utc::now()))
            .await,
    );
    let one = published_id(
        fb.publish(&job(folder.post("3.md", ONE_PHOTO), Utc::now()))
            .await,
    );
    let three = published_id(
        fb.publish(&job(folder.post("4.md", THREE_PHOTOS), Utc::now()))
            .await,
    );
    for id in [&text, &link, &one, &three] {
        assert!(id.starts_with(&format!("{PAGE_ID}_")), "a post id: {id}");
    }

    let on_page = posts(&sandbox);
    assert_eq!(on_page.len(), 4, "{on_page:#?}");
    let by_id = |id: &str| on_page.iter().find(|p| p.id == id).unwrap().clone();
    let t = by_id(&text);
    assert!(t.message.starts_with("Họp dân tháng 12\n\n"), "{t:?}");
    assert_eq!(
        (t.photos, t.published, t.deleted, t.edits),
        (0, true, false, 0)
    );
    assert_eq!(t.link, None);
    assert_eq!(
        by_id(&link).link.as_deref(),
        Some("https://dichvucong.gov.vn/p/home.html?a=1&b=2")
    );
    let o = by_id(&one);
    assert_eq!(o.photos, 1);
    assert!(o.message.starts_with("Wi-Fi nhà văn hóa"), "caption: {o:?}");
    assert_eq!(by_id(&three).photos, 3);
    assert_eq!(loose_uploads(&sandbox), 0, "every upload was attached");
    assert!(on_page.iter().all(|p| p.scheduled_for.is_none()));
    let json = serde_json::to_value(&on_page).unwrap();
    assert_eq!(json[0]["photos"], 0);

    // The listing loa reconciles with: newest first, Facebook's time format.
    let (status, listed) = get(
        &format!("{url}/v25.0/{PAGE_ID}/published_posts"),
        &[
            ("fields", "id,message,created_time"),
            ("limit", "25"),
            ("access_token", PAGE_TOKEN),
        ],
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let data = listed["data"].as_array().unwrap();
    assert_eq!(data.len(), 4);
    assert_eq!(data[0]["id"], three.as_str());
    assert_eq!(data[3]["id"], text.as_str());
    let created = data[0]["created_time"].as_str().unwrap();
    assert!(created.ends_with("+0000"), "{created}");
    assert!(parse_graph_time(created).is_some());

    assert_no_token_recorded(&sandbox);
    let received = sandbox.received.lock().unwrap();
    let photo_calls = received
        .iter()
        .filter(|r| r.path.ends_with("/photos"))
        .count();
    assert_eq!(photo_calls, 4, "one published photo plus three uploads");
    assert!(received.iter().all(|r| r.platform == "facebook"));
}

#[tokio::test]
async fn update_delete_and_reconcile() {
    let (sandbox, url) = start(Clock::system(), Faults::default()).await;
    let fb = channel(&url, PAGE_TOKEN, false, Clock::system());
    let folder = Folder::new();
    let before = Utc::now() - Duration::minutes(2);

    let original = job(folder.post("a.md", TEXT), Utc::now());
    let id = published_id(fb.publish(&original).await);

    // Reconciliation finds the post by its exact message; another post is absent.
    match fb.reconcile(&original, before).await {
        Reconciled::Found { remote_id } => assert_eq!(remote_id, id),
        other => panic!("expected Found, got {other:?}"),
    }
    let other = job(folder.post("b.md", LINK), Utc::now());
    assert!(matches!(
        fb.reconcile(&other, before).await,
        Reconciled::Absent
    ));
    // A post older than the attempt does not count.
    assert!(matches!(
        fb.reconcile(&original, Utc::now() + Duration::minutes(5))
            .await,
        Reconciled::Absent
    ));

    let edited = job(
        folder.post("a.md", &TEXT.replace("8 giờ", "9 giờ")),
        Utc::now(),
    );
    assert_eq!(published_id(fb.update(&edited, &id).await), id);
    let after_edit = posts(&sandbox);
    assert_eq!(after_edit.len(), 1);
    assert_eq!(after_edit[0].edits, 1);
    assert!(after_edit[0].message.contains("9 giờ"));

    assert_eq!(published_id(fb.delete(&id).await), id);
    let after_delete = posts(&sandbox);
    assert_eq!(after_delete.len(), 1, "the deleted post is kept, flagged");
    assert!(after_delete[0].deleted);
    // Deleting again is "already gone" (100/33), which loa counts as done.
    assert_eq!(published_id(fb.delete(&id).await), id);
    // An edit of a deleted post fails for good.
    assert!(matches!(
        fb.update(&edited, &id).await,
        Outcome::Permanent { .. }
    ));
    assert!(matches!(
        fb.reconcile(&edited, before).await,
        Reconciled::Absent
    ));

    let (status, body) = get(
        &format!("{url}/v25.0/{id}"),
        &[("fields", "id"), ("access_token", PAGE_TOKEN)],
    )
    .await;
    assert_eq!((status, code(&body)), (400, (100, Some(33))), "{body}");
    assert_no_token_recorded(&sandbox);
}

// ---------------------------------------------------------------------------------------------
// Native scheduling
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn native_scheduling_follows_the_sandbox_clock() {
    // One sandbox hour per real second: the post goes out while the test waits.
    let clock = Clock::compressed(start_time(), 3600.0);
    let (sandbox, url) = start(clock.clone(), Faults::default()).await;
    let fb = channel(&url, PAGE_TOKEN, true, clock.clone());
    let folder = Folder::new();
    let since = clock.now() - Duration::minutes(2);

    let due = clock.now() + Duration::hours(2);
    let mut held = job(folder.post("a.md", TEXT), due);
    let id = match fb.publish(&held).await {
        Outcome::ScheduledOnPlatform { remote_id, at } => {
            assert_eq!(at, due);
            remote_id
        }
        other => panic!("expected ScheduledOnPlatform, got {other:?}"),
    };
    let view = posts(&sandbox);
    assert_eq!(view.len(), 1);
    assert!(!view[0].published);
    assert_eq!(
        view[0].scheduled_for.map(|t| t.timestamp()),
        Some(due.timestamp())
    );
    assert!(matches!(
        fb.confirm(&held, &id).await,
        Outcome::ScheduledOnPlatform { .. }
    ));
    match fb.reconcile(&held, since).await {
        Reconciled::FoundScheduled { remote_id, at } => {
            assert_eq!(remote_id, id);
            assert_eq!(at.timestamp(), due.timestamp());
        }
        other => panic!("expected FoundScheduled, got {other:?}"),
    }

    // Moved an hour later: rescheduled on Facebook.
    let later = due + Duration::hours(1);
    held.due_at = later;
    held.scheduled_on_platform = true;
    assert_eq!(published_id(fb.update(&held, &id).await), id);
    let view = posts(&sandbox);
    assert_eq!(
        view[0].scheduled_for.map(|t| t.timestamp()),
        Some(later.timestamp())
    );
    assert_eq!(view[0].edits, 1);

    // Photos held for later: uploaded (temporary), then attached to a scheduled feed post.
    for (name, text, n) in [("p1.md", ONE_PHOTO, 1), ("p3.md", THREE_PHOTOS, 3)] {
        let photo_job = job(folder.post(name, text), due);
        let photo_id = match fb.publish(&photo_job).await {
            Outcome::ScheduledOnPlatform { remote_id, .. } => remote_id,
            other => panic!("{name}: expected ScheduledOnPlatform, got {other:?}"),
        };
        let view = posts(&sandbox);
        let held_photo = view.iter().find(|p| p.id == photo_id).unwrap();
        assert_eq!((held_photo.photos, held_photo.published), (n, false));
    }
    assert_eq!(loose_uploads(&sandbox), 0);

    // Five minutes ahead is too soon for Facebook's scheduler: loa publishes now.
    let soon = job(
        folder.post("b.md", LINK),
        clock.now() + Duration::minutes(5),
    );
    published_id(fb.publish(&soon).await);

    clock.sleep_until(later + Duration::minutes(5)).await;
    assert_eq!(published_id(fb.confirm(&held, &id).await), id);
    let view = posts(&sandbox);
    assert_eq!(view.len(), 4);
    assert!(view.iter().all(|p| p.published), "{view:#?}");
    let (_, scheduled) = get(
        &format!("{url}/v25.0/{PAGE_ID}/scheduled_posts"),
        &[
            ("fields", "id,message,created_time,scheduled_publish_time"),
            ("access_token", PAGE_TOKEN),
        ],
    )
    .await;
    assert_eq!(scheduled["data"].as_array().unwrap().len(), 0);
    match fb.reconcile(&held, since).await {
        Reconciled::Found { remote_id } => assert_eq!(remote_id, id),
        other => panic!("expected Found, got {other:?}"),
    }
}

#[tokio::test]
async fn scheduling_outside_facebooks_window_is_refused() {
    let clock = Clock::starting_at(start_time());
    let (sandbox, url) = start(clock.clone(), Faults::default()).await;
    let feed = format!("{url}/v25.0/{PAGE_ID}/feed");
    let at = |lead: Duration| (clock.now() + lead).timestamp().to_string();

    for lead in [Duration::minutes(5), Duration::days(31)] {
        let (status, body) = post_form(
            &feed,
            &[
                ("message", "Lịch tiêm chủng"),
                ("published", "false"),
                ("scheduled_publish_time", &at(lead)),
                ("access_token", PAGE_TOKEN),
            ],
        )
        .await;
        assert_eq!((status, code(&body).0), (400, 100), "{lead}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("scheduled publish time"),
            "{body}"
        );
    }
    // A time without published=false.
    let (status, body) = post_form(
        &feed,
        &[
            ("message", "Lịch tiêm chủng"),
            ("scheduled_publish_time", &at(Duration::hours(1))),
            ("access_token", PAGE_TOKEN),
        ],
    )
    .await;
    assert_eq!((status, code(&body).0), (400, 100), "{body}");
    assert!(posts(&sandbox).is_empty());

    // Inside the window: held, listed as scheduled, with a numeric time.
    let (status, body) = post_form(
        &feed,
        &[
            ("message", "Lịch tiêm chủng"),
            ("published", "false"),
            ("scheduled_publish_time", &at(Duration::days(29))),
            ("access_token", PAGE_TOKEN),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, listed) = get(
        &format!("{url}/v25.0/{PAGE_ID}/scheduled_posts"),
        &[
            ("fields", "id,message,scheduled_publish_time"),
            ("access_token", PAGE_TOKEN),
        ],
    )
    .await;
    assert_eq!(listed["data"][0]["id"], body["id"]);
    assert!(listed["data"][0]["scheduled_publish_time"].is_i64());

    // Rescheduling obeys the same window.
    let held = format!("{url}/v25.0/{}", body["id"].as_str().unwrap());
    let (status, refused) = post_form(
        &held,
        &[
            ("scheduled_publish_time", &at(Duration::days(40))),
            ("access_token", PAGE_TOKEN),
        ],
    )
    .await;
    assert_eq!((status, code(&refused).0), (400, 100), "{refused}");
    let three_days = at(Duration::days(3));
    let (status, moved) = post_form(
        &held,
        &[
            ("scheduled_publish_time", &three_days),
            ("access_token", PAGE_TOKEN),
        ],
    )
    .await;
    assert_eq!((status, &moved["success"]), (200, &Value::Bool(true)));
    let view = posts(&sandbox);
    assert_eq!(
        view[0].scheduled_for.map(|t| t.timestamp().to_string()),
        Some(three_days)
    );
    assert_eq!(view[0].edits, 1);
}

// ---------------------------------------------------------------------------------------------
// Insights
// ---------------------------------------------------------------------------------------------

/// One post's figures through the collector (one Graph batch), and the metrics it found retired.
async fn figures(fb: &FacebookChannel, id: &str) -> (Figures, Vec<String>) {
    let asked = [Asked {
        delivery_id: 1,
        remote_id: id.to_string(),
    }];
    let Collected {
        items,
        retired,
        stopped,
    } = fb
        .collect(&asked, &std::collections::BTreeSet::new(), &|_| {})
        .await;
    assert_eq!(stopped, None);
    match items.into_iter().next() {
        Some((_, ItemResult::Figures { figures, .. })) => {
            (figures, retired.into_iter().map(|r| r.metric).collect())
        }
        other => panic!("no figures: {other:?}"),
    }
}

#[tokio::test]
async fn insights_grow_with_age_and_retired_metrics_are_refused() {
    // Ten sandbox hours per real second.
    let clock = Clock::compressed(start_time(), 36_000.0);
    let (sandbox, url) = start(clock.clone(), Faults::default()).await;
    let fb = channel(&url, PAGE_TOKEN, false, clock.clone());
    let folder = Folder::new();
    let id = published_id(
        fb.publish(&job(folder.post("a.md", TEXT), clock.now()))
            .await,
    );

    clock.sleep_until(clock.now() + Duration::hours(5)).await;
    let (first, retired) = figures(&fb, &id).await;
    let views = first.views.unwrap();
    assert!(views > 100, "{first:?}");
    let reach = first.reach.unwrap();
    assert!(reach < views && reach >= views / 2, "{first:?}");
    assert!(first.clicks.unwrap() > 0, "{first:?}");
    assert!(first.reactions.unwrap() > 0, "{first:?}");
    assert!(
        first.comments.is_some() && first.shares.is_some(),
        "{first:?}"
    );
    assert!(
        retired.is_empty(),
        "every metric asked is served: {retired:?}"
    );

    clock.sleep_until(clock.now() + Duration::hours(10)).await;
    let (second, _) = figures(&fb, &id).await;
    assert!(second.views.unwrap() > views, "{first:?} then {second:?}");
    assert!(second.reactions >= first.reactions);

    // The same age gives the same figures.
    let node = format!("{url}/v25.0/{id}");
    let (_, counts) = get(
        &node,
        &[
            (
                "fields",
                "shares,comments.summary(total_count).limit(0),reactions.summary(total_count).limit(0)",
            ),
            ("access_token", PAGE_TOKEN),
        ],
    )
    .await;
    assert!(
        counts["comments"]["summary"]["total_count"].is_u64(),
        "{counts}"
    );
    assert!(
        counts["reactions"]["summary"]["total_count"].is_u64(),
        "{counts}"
    );

    // Retired and unknown metrics fail the whole call with #100.
    for metric in [
        "post_impressions",
        "post_impressions_unique",
        "post_engaged_users",
        "post_media_view,post_engaged_users",
        "no_such_metric",
    ] {
        let (status, body) = get(
            &format!("{node}/insights"),
            &[
                ("metric", metric),
                ("period", "lifetime"),
                ("access_token", PAGE_TOKEN),
            ],
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (400, (100, None)),
            "{metric}: {body}"
        );
        assert_eq!(
            body["error"]["message"],
            "(#100) The value must be a valid insights metric"
        );
    }
    let (_, reactions) = get(
        &format!("{node}/insights"),
        &[
            ("metric", "post_reactions_by_type_total"),
            ("period", "lifetime"),
            ("access_token", PAGE_TOKEN),
        ],
    )
    .await;
    let map = &reactions["data"][0]["values"][0]["value"];
    assert!(map["like"].as_u64().unwrap() > 0, "{reactions}");

    let followers = fb
        .account(&std::collections::BTreeSet::new())
        .await
        .unwrap()
        .followers;
    assert!(followers.unwrap() > 1000, "{followers:?}");

    // A deleted post has no figures: 100/33, which stops collecting.
    published_id(fb.delete(&id).await);
    let (status, body) = get(
        &format!("{node}/insights"),
        &[
            ("metric", "post_media_view"),
            ("period", "lifetime"),
            ("access_token", PAGE_TOKEN),
        ],
    )
    .await;
    assert_eq!((status, code(&body)), (400, (100, Some(33))), "{body}");
    assert_no_token_recorded(&sandbox);
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn auth_exchanges_the_user_token_finds_the_page_and_checks_it() {
    let (sandbox, url) = start(Clock::system(), Faults::default()).await;
    let http = http();
    let base = format!("{url}/v25.0");
    let secret = SecretString::from(FACEBOOK_APP.1);

    let long = exchange_user_token(
        &http,
        &base,
        FACEBOOK_APP.0,
        &secret,
        &SecretString::from(USER_TOKEN),
    )
    .await
    .unwrap();
    assert_eq!(long.token_type.as_deref(), Some("bearer"));
    let days = long.expires_in.unwrap().as_secs() / 86_400;
    assert!((55..=61).contains(&days), "{days} days");

    let page = find_page_token(&http, &base, &long.token, PAGE_ID)
        .await
        .unwrap();
    assert_eq!(page.id, PAGE_ID);
    assert!(page.can_publish(), "{:?}", page.tasks);
    use secrecy::ExposeSecret;
    assert_eq!(page.token.expose_secret(), PAGE_TOKEN);
    let account_pages = sandbox
        .received
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path.ends_with("/me/accounts"))
        .count();
    assert_eq!(account_pages, 2, "the Page is on the second page");

    let info = debug_token(&http, &base, &page.token, &page.token)
        .await
        .unwrap();
    assert_eq!(info.token_type.as_deref(), Some("PAGE"));
    assert!(info.is_valid);
    assert_eq!(info.expires_at, None, "a Page token never expires");
    assert_eq!(info.profile_id.as_deref(), Some(PAGE_ID));
    assert!(
        info.problems(PAGE_ID).is_empty(),
        "{:?}",
        info.problems(PAGE_ID)
    );

    // A dead user token cannot be exchanged; a wrong secret is refused.
    let dead = exchange_user_token(
        &http,
        &base,
        FACEBOOK_APP.0,
        &secret,
        &SecretString::from("expired-user-token"),
    )
    .await
    .unwrap_err();
    assert!(dead.needs_reauth(), "{dead}");
    let wrong = exchange_user_token(
        &http,
        &base,
        FACEBOOK_APP.0,
        &SecretString::from("nope"),
        &SecretString::from(USER_TOKEN),
    )
    .await
    .unwrap_err();
    assert!(!wrong.to_string().contains("nope"), "{wrong}");
    // The Page token is no user token: it has no /me/accounts.
    assert!(
        find_page_token(&http, &base, &page.token, PAGE_ID)
            .await
            .is_err()
    );
    // An unknown input token is reported invalid, not refused.
    let bogus = debug_token(&http, &base, &SecretString::from("bogus"), &page.token)
        .await
        .unwrap();
    assert!(!bogus.is_valid);
    assert_no_token_recorded(&sandbox);
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused() {
    let (sandbox, url) = start(Clock::system(), Faults::default()).await;
    let folder = Folder::new();
    let fb = channel(&url, "EAAexpired-token", false, Clock::system());
    match fb
        .publish(&job(folder.post("a.md", TEXT), Utc::now()))
        .await
    {
        Outcome::AuthExpired { message } => {
            assert!(!message.contains("EAAexpired"), "{message}");
            assert!(message.contains("Session has expired"), "{message}");
        }
        other => panic!("expected AuthExpired, got {other:?}"),
    }
    let photo = fb
        .publish(&job(folder.post("b.md", THREE_PHOTOS), Utc::now()))
        .await;
    assert!(matches!(photo, Outcome::AuthExpired { .. }), "{photo:?}");
    assert!(posts(&sandbox).is_empty());
    assert_eq!(loose_uploads(&sandbox), 0);

    let (status, body) = post_form(
        &format!("{url}/v25.0/{PAGE_ID}/feed"),
        &[("message", "Không có token")],
    )
    .await;
    assert_eq!((status, code(&body).0), (400, 104), "{body}");

    // The user token is not a Page token.
    let fb = channel(&url, USER_TOKEN, false, Clock::system());
    assert!(matches!(
        fb.publish(&job(folder.post("c.md", TEXT), Utc::now()))
            .await,
        Outcome::AuthExpired { .. }
    ));
    assert!(posts(&sandbox).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_failed_publish_is_ambiguous_and_creates_nothing() {
    let faults = Faults {
        fail_rate: 1.0,
        ..Faults::default()
    };
    let (sandbox, url) = start(Clock::system(), faults).await;
    let fb = channel(&url, PAGE_TOKEN, false, Clock::system());
    let folder = Folder::new();
    let since = Utc::now() - Duration::minutes(2);

    for (name, text) in [("a.md", TEXT), ("b.md", ONE_PHOTO), ("c.md", THREE_PHOTOS)] {
        let j = job(folder.post(name, text), Utc::now());
        let outcome = fb.publish(&j).await;
        assert!(
            matches!(outcome, Outcome::Ambiguous { .. }),
            "{name}: {outcome:?}"
        );
        assert!(matches!(fb.reconcile(&j, since).await, Reconciled::Absent));
    }
    assert!(posts(&sandbox).is_empty());
    // Unpublished uploads are no publishing requests: they went through.
    assert_eq!(loose_uploads(&sandbox), 3);
}

/// The proof suite's lesson on Zalo, checked on the Page too: a post whose answer was lost is
/// found behind more newer posts than one page of `published_posts` (25) holds.
#[tokio::test]
async fn a_lost_post_is_found_behind_more_than_a_page_of_newer_posts() {
    let faults = Faults {
        ghost_rate: 1.0,
        ..Faults::default()
    };
    let (sandbox, url) = start(Clock::system(), faults).await;
    let fb = channel(&url, PAGE_TOKEN, false, Clock::system());
    let folder = Folder::new();
    let since = Utc::now() - Duration::minutes(2);
    let j = job(folder.post("a.md", TEXT), Utc::now());
    assert!(matches!(fb.publish(&j).await, Outcome::Ambiguous { .. }));
    let ghost = posts(&sandbox)[0].clone();
    let id = ghost.id.clone();
    tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    for n in 0..30 {
        let at = ghost.created_time + Duration::milliseconds(1 + n);
        sandbox
            .facebook
            .lock()
            .unwrap()
            .seed_post(&format!("Tin khác {n}"), at);
    }
    assert_eq!(
        fb.reconcile(&j, since).await,
        Reconciled::Found { remote_id: id }
    );
}

#[tokio::test]
async fn a_lost_answer_is_ambiguous_and_reconciliation_finds_the_post() {
    let faults = Faults {
        ghost_rate: 1.0,
        ..Faults::default()
    };
    let (sandbox, url) = start(Clock::system(), faults).await;
    let fb = channel(&url, PAGE_TOKEN, false, Clock::system());
    let folder = Folder::new();
    let since = Utc::now() - Duration::minutes(2);

    let mut found = Vec::new();
    for (name, text) in [("a.md", TEXT), ("b.md", ONE_PHOTO), ("c.md", THREE_PHOTOS)] {
        let j = job(folder.post(name, text), Utc::now());
        let outcome = fb.publish(&j).await;
        assert!(
            matches!(outcome, Outcome::Ambiguous { .. }),
            "{name}: {outcome:?}"
        );
        match fb.reconcile(&j, since).await {
            Reconciled::Found { remote_id } => found.push(remote_id),
            other => panic!("{name}: expected Found, got {other:?}"),
        }
    }
    let on_page = posts(&sandbox);
    assert_eq!(
        on_page.len(),
        3,
        "exactly one object per post: {on_page:#?}"
    );
    let ids: Vec<String> = on_page.iter().map(|p| p.id.clone()).collect();
    assert_eq!(found, ids);
    assert_eq!(on_page[2].photos, 3);
    let received = sandbox.received.lock().unwrap();
    assert!(
        received.iter().any(|r| r.answer.contains("answer lost")),
        "{received:#?}"
    );
}

#[tokio::test]
async fn latency_is_waited_before_answering() {
    let faults = Faults {
        latency: StdDuration::from_millis(150),
        ..Faults::default()
    };
    let (_sandbox, url) = start(Clock::system(), faults).await;
    let began = std::time::Instant::now();
    let (status, _) = get(
        &format!("{url}/v25.0/{PAGE_ID}"),
        &[("access_token", PAGE_TOKEN)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(began.elapsed() >= StdDuration::from_millis(150));
}

// ---------------------------------------------------------------------------------------------
// Strictness, headers, versions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_sandbox_refuses_what_facebook_refuses() {
    let (sandbox, url) = start(Clock::system(), Faults::default()).await;
    let feed = format!("{url}/v25.0/{PAGE_ID}/feed");
    let text_part = |s: &str| reqwest::multipart::Part::text(s.to_string());
    let file = |bytes: Vec<u8>, name: &str| {
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string())
    };

    // Empty post; unknown Page; unknown parameter; a link that is no web address.
    let (_, body) = post_form(&feed, &[("message", ""), ("access_token", PAGE_TOKEN)]).await;
    assert_eq!(code(&body).0, 197, "{body}");
    let (_, body) = post_form(
        &format!("{url}/v25.0/999999999999999/feed"),
        &[("message", "x"), ("access_token", PAGE_TOKEN)],
    )
    .await;
    assert_eq!(code(&body), (100, Some(33)), "{body}");
    let (_, body) = post_form(&feed, &[("messsage", "x"), ("access_token", PAGE_TOKEN)]).await;
    assert_eq!(code(&body).0, 100, "{body}");
    let (_, body) = post_form(
        &feed,
        &[
            ("message", "x"),
            ("link", "ftp://example.gov.vn/a"),
            ("access_token", PAGE_TOKEN),
        ],
    )
    .await;
    assert_eq!(code(&body).0, 100, "{body}");

    // Photos: not an image, too large, a plain-http URL, none at all.
    let (_, body) = upload(
        &url,
        reqwest::multipart::Form::new()
            .part("source", file(b"GIF89a not allowed".to_vec(), "a.gif"))
            .part("access_token", text_part(PAGE_TOKEN)),
    )
    .await;
    assert_eq!(code(&body), (100, Some(1_366_046)), "{body}");
    let mut big = PNG.to_vec();
    big.resize(4 * 1024 * 1024 + 1, 0);
    let (_, body) = upload(
        &url,
        reqwest::multipart::Form::new()
            .part("source", file(big, "big.png"))
            .part("access_token", text_part(PAGE_TOKEN)),
    )
    .await;
    assert_eq!(code(&body), (100, Some(1_366_046)), "{body}");
    let (_, body) = upload(
        &url,
        reqwest::multipart::Form::new()
            .part("url", text_part("http://example.gov.vn/a.jpg"))
            .part("access_token", text_part(PAGE_TOKEN)),
    )
    .await;
    assert_eq!(code(&body).0, 100, "{body}");
    let (_, body) = upload(
        &url,
        reqwest::multipart::Form::new().part("access_token", text_part(PAGE_TOKEN)),
    )
    .await;
    assert_eq!(code(&body).0, 324, "{body}");

    // attached_media: an unknown id; the same upload attached twice.
    let (_, body) = post_form(
        &feed,
        &[
            ("message", "x"),
            ("attached_media[0]", r#"{"media_fbid":"42"}"#),
            ("access_token", PAGE_TOKEN),
        ],
    )
    .await;
    assert_eq!(code(&body).0, 100, "{body}");
    let (status, uploaded) = upload(
        &url,
        reqwest::multipart::Form::new()
            .part("source", file(JPEG.to_vec(), "b.jpg"))
            .part("published", text_part("false"))
            .part("access_token", text_part(PAGE_TOKEN)),
    )
    .await;
    assert_eq!(status, 200, "{uploaded}");
    assert!(uploaded.get("post_id").is_none(), "an upload is no post");
    let media = format!(r#"{{"media_fbid":"{}"}}"#, uploaded["id"].as_str().unwrap());
    let attach = [
        ("message", "Ảnh"),
        ("attached_media[0]", media.as_str()),
        ("access_token", PAGE_TOKEN),
    ];
    let (status, body) = post_form(&feed, &attach).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = post_form(&feed, &attach).await;
    assert_eq!(code(&body), (100, Some(1_366_051)), "{body}");

    // A published photo by URL makes a post whose id is post_id, not the photo's.
    let (status, body) = upload(
        &url,
        reqwest::multipart::Form::new()
            .part("url", text_part("https://example.gov.vn/a.jpg"))
            .part("caption", text_part("Ảnh từ web"))
            .part("access_token", text_part(PAGE_TOKEN)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["post_id"].as_str().unwrap().starts_with(PAGE_ID));
    assert_ne!(body["post_id"], body["id"]);

    let on_page = posts(&sandbox);
    assert_eq!(on_page.len(), 2, "{on_page:#?}");
    assert_no_token_recorded(&sandbox);
}

#[tokio::test]
async fn any_version_is_served_with_usage_headers() {
    let (_sandbox, url) = start(Clock::system(), Faults::default()).await;
    for version in ["v23.0", "v25.0", "v26.0"] {
        let r = http()
            .get(format!("{url}/{version}/{PAGE_ID}/published_posts"))
            .query(&[("access_token", PAGE_TOKEN)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let header = |name: &str| {
            r.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_else(|| panic!("no {name}"))
        };
        assert_eq!(header("facebook-api-version"), version);
        let app: Value = serde_json::from_str(&header("x-app-usage")).unwrap();
        assert!(app["call_count"].as_u64().unwrap() < 90);
        let buc: Value = serde_json::from_str(&header("x-business-use-case-usage")).unwrap();
        let entry = &buc[PAGE_ID][0];
        assert_eq!(entry["type"], "pages");
        assert!(entry["call_count"].as_u64().unwrap() < 90);
        assert_eq!(entry["estimated_time_to_regain_access"], 0);
    }
    // An error also carries them, and a Graph error body.
    let r = http()
        .get(format!("{url}/v25.0/{PAGE_ID}/nonsense"))
        .query(&[("access_token", PAGE_TOKEN)])
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("x-app-usage"));
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["fbtrace_id"].is_string(), "{body}");
}
