//! The simulated Zalo OA (`loa::sandbox::zalo`) driven by loa's real Zalo code: `ZaloAuth` with a
//! token store in a temporary folder and `ZaloChannel`, both pointed at the sandbox on
//! 127.0.0.1. A few tests also talk to the sandbox directly, to pin the answers themselves.
//!
//! Verify waits are real (loa sleeps 2 s after the first `-214`), so a publish takes a few
//! seconds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use loa::config::Config;
use loa::engine::Clock;
use loa::metrics::{Asked, Collector, Figures, ItemResult};
use loa::post::Post;
use loa::publisher::{BoxFuture, Job, Outcome, ProgressSink, Publisher, Reconciled};
use loa::sandbox::zalo::{FOLLOWERS, OA_ID, Oa};
use loa::sandbox::{Faults, Received, Sandbox, ZALO_APP, ZALO_FIRST_REFRESH_TOKEN};
use loa::token_store::TokenStore;
use loa::zalo::client::ZaloChannel;
use loa::zalo::oauth::{AuthError, ZaloAuth};
use secrecy::SecretString;
use serde_json::{Value, json};
use tempfile::TempDir;

const DEFAULT_COVER: &str = "https://example.gov.vn/logo.jpg";
const COVER: &str = "https://example.gov.vn/loa-media/images/b%C3%ACa%20th%C3%A1ng%2012.jpg";
const BODY_IMAGE: &str = "https://example.gov.vn/loa-media/images/nha-van-hoa.jpg";
const CALLBACK: &str = "https://example.gov.vn/loa/zalo-callback";

/// A post with its own cover (a file name that needs percent-encoding) and a body image.
const POST: &str = "---\n\
title: \"Họp dân tháng 12\"\n\
channels: [zalo]\n\
cover: \"images/bìa tháng 12.jpg\"\n\
---\n\
Mời bà con đến nhà văn hoá lúc 8 giờ.\n\
\n\
![Nhà văn hóa thôn](images/nha-van-hoa.jpg)\n\
\n\
Cảm ơn bà con.\n";

/// A tiny JPEG: SOI, a JFIF APP0 segment, EOI.
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];

/// 10:00 in Asia/Ho_Chi_Minh.
fn morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap()
}

/// 23:00 in Asia/Ho_Chi_Minh.
fn late_evening() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap()
}

/// Saves processing tokens in memory.
#[derive(Default)]
struct Saved(Mutex<Vec<String>>);

impl Saved {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl ProgressSink for Saved {
    fn save<'a>(&'a self, progress: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.0.lock().unwrap().push(progress.to_string());
            Ok(())
        })
    }
}

/// A sandbox on 127.0.0.1 and loa's Zalo client pointed at it.
struct World {
    sandbox: Arc<Sandbox>,
    base: String,
    clock: Clock,
    auth: Arc<ZaloAuth>,
    channel: ZaloChannel,
    config: Config,
    posts: TempDir,
    _data: TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for World {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl World {
    /// Sandbox and client share one clock starting at `start`.
    async fn new(start: DateTime<Utc>, faults: Faults) -> World {
        let clock = Clock::starting_at(start);
        World::with_clocks(clock.clone(), clock, faults).await
    }

    /// Sandbox and client share one clock starting at `start`, running `speed` times faster
    /// than real time.
    async fn fast(start: DateTime<Utc>, speed: f64, faults: Faults) -> World {
        let clock = Clock::compressed(start, speed);
        World::with_clocks(clock.clone(), clock, faults).await
    }

    async fn with_clocks(sandbox_clock: Clock, clock: Clock, faults: Faults) -> World {
        let sandbox = Sandbox::new(sandbox_clock, faults);
        let (addr, server) = loa::sandbox::serve(sandbox.clone(), 0).await.unwrap();
        let base = format!("http://{addr}");
        let data = tempfile::tempdir().unwrap();
        let posts = tempfile::tempdir().unwrap();
        let text = format!(
            r#"
timezone = "Asia/Ho_Chi_Minh"
language = "en"
[zalo]
app_id = "{app}"
openapi_url = "{base}"
oauth_url = "{base}"
author = "UBND xã Thanh Kỳ"
default_cover_url = "{DEFAULT_COVER}"
listing_delay = "2s"
[media]
public_base_url = "https://example.gov.vn/loa-media/"
"#,
            app = ZALO_APP.0
        );
        let mut config =
            Config::parse(&text).unwrap_or_else(|d| panic!("the test config is valid: {d:?}"));
        config.posts_dir = posts.path().to_path_buf();
        config.data_dir = data.path().to_path_buf();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let auth = ZaloAuth::new(
            http,
            &config.zalo.oauth_url,
            &config.zalo.app_id,
            SecretString::from(ZALO_APP.1),
            TokenStore::new(data.path()),
            clock.clone(),
        );
        auth.seed(ZALO_FIRST_REFRESH_TOKEN).unwrap();
        let auth = Arc::new(auth);
        let channel = ZaloChannel::new(Arc::new(config.clone()), auth.clone(), clock.clone());
        World {
            sandbox,
            base,
            clock,
            auth,
            channel,
            config,
            posts,
            _data: data,
            server,
        }
    }

    /// Loads `text` as the engine would (with the images the test posts use).
    fn post(&self, text: &str) -> Post {
        let images = self.posts.path().join("images");
        std::fs::create_dir_all(&images).unwrap();
        std::fs::write(images.join("bìa tháng 12.jpg"), JPEG).unwrap();
        std::fs::write(images.join("nha-van-hoa.jpg"), JPEG).unwrap();
        let file = self.posts.path().join("hop-dan.md");
        std::fs::write(&file, text).unwrap();
        let loaded = loa::post::load(&file, &self.config);
        loaded
            .post
            .unwrap_or_else(|| panic!("the test post is valid: {:?}", loaded.problems))
    }

    fn job(&self, post: Post, progress: Option<String>) -> (Job, Arc<Saved>) {
        let saved = Arc::new(Saved::default());
        let job = Job {
            delivery_id: 1,
            post,
            due_at: self.clock.now(),
            progress,
            scheduled_on_platform: false,
            progress_sink: saved.clone(),
        };
        (job, saved)
    }

    fn oa(&self) -> MutexGuard<'_, Oa> {
        self.sandbox.zalo.lock().unwrap()
    }

    fn received(&self) -> Vec<Received> {
        self.sandbox.received.lock().unwrap().clone()
    }

    /// How many requests went to `path`.
    fn calls(&self, path: &str) -> usize {
        self.received().iter().filter(|r| r.path == path).count()
    }

    /// How many answers said `words`.
    fn answers(&self, words: &str) -> usize {
        self.received()
            .iter()
            .filter(|r| r.answer.contains(words))
            .count()
    }

    /// No token of any kind in what the sandbox recorded.
    fn assert_no_token_recorded(&self) {
        for r in self.received() {
            for secret in [
                "sandbox-access",
                "sandbox-refresh",
                "sandbox-code",
                ZALO_APP.1,
            ] {
                assert!(!r.answer.contains(secret), "{r:?}");
            }
        }
    }
}

fn published(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Published { remote_id } => remote_id.clone(),
        other => panic!("expected published, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// loa's real client against the sandbox
// ---------------------------------------------------------------------------------------------

/// The figures of the articles `ids` through the collector (one pass over `getslice`); an
/// article no longer on the OA is left out.
async fn stats(channel: &ZaloChannel, ids: &[String]) -> BTreeMap<String, Figures> {
    let asked: Vec<Asked> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Asked {
            delivery_id: i as i64,
            remote_id: id.clone(),
        })
        .collect();
    let collected = channel
        .collect(&asked, &std::collections::BTreeSet::new(), &|_| {})
        .await;
    assert_eq!(collected.stopped, None);
    collected
        .items
        .into_iter()
        .filter_map(|(i, result)| match result {
            ItemResult::Figures { figures, .. } => Some((ids[i as usize].clone(), figures)),
            ItemResult::Gone { .. } => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_update_stats_broadcast_and_remove() {
    // Ten minutes of sandbox time per real second (loa's verify waits too), so the article
    // gathers views within the test.
    let w = World::fast(morning(), 600.0, Faults::default()).await;
    let (job, saved) = w.job(w.post(POST), None);

    let id = published(&w.channel.publish(&job).await);
    assert_eq!(saved.all().len(), 1, "the processing token was saved");
    let articles = w.oa().articles();
    assert_eq!(articles.len(), 1);
    assert_eq!(articles[0].id, id);
    assert_eq!(articles[0].title, "Họp dân tháng 12");
    assert_eq!(articles[0].cover_url, COVER);
    assert_eq!(articles[0].images, [BODY_IMAGE]);
    assert_eq!(w.calls("/v2.0/article/create"), 1);
    assert!(w.answers("error -214 Article is being processed") >= 1);
    assert_eq!(w.answers(&format!("verified article {id}")), 1);

    // An edit: update, then verify the new token; the id stays.
    let edited = POST.replace("Họp dân tháng 12", "Họp dân tháng 12 (đổi giờ)");
    let (job, _) = w.job(w.post(&edited), None);
    assert_eq!(published(&w.channel.update(&job, &id).await), id);
    let article = w.oa().articles().remove(0);
    assert_eq!(article.title, "Họp dân tháng 12 (đổi giờ)");
    assert_eq!(article.updates, 1);
    assert_eq!(w.calls("/v2.0/article/create"), 1);

    // Views grow with the article's age.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ids = vec![id.clone()];
    let first = stats(&w.channel, &ids).await[&id];
    let views = first.views.unwrap();
    assert!(views > 0, "{first:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = stats(&w.channel, &ids).await[&id];
    assert!(later.views.unwrap() > views, "{first:?} then {later:?}");
    assert!(later.shares.unwrap() <= later.views.unwrap());
    assert_eq!(w.channel.followers().await.unwrap(), Some(FOLLOWERS));

    // 10:00 local: the broadcast goes out.
    let message_id = published(&w.channel.broadcast(&job, &id).await);
    assert!(!message_id.is_empty());
    assert_eq!(w.oa().broadcasts(), std::slice::from_ref(&id));

    // Unpublish.
    assert_eq!(published(&w.channel.delete(&id).await), id);
    assert!(w.oa().articles()[0].removed);
    assert!(
        stats(&w.channel, &ids).await.is_empty(),
        "a removed article has no figures"
    );

    // One refresh for the whole session, none reused, no -216.
    assert_eq!(w.oa().refresh_tokens_used(), [ZALO_FIRST_REFRESH_TOKEN]);
    assert_eq!(w.oa().reused_refresh_tokens(), 0);
    assert_eq!(w.answers("error -216"), 0);
    w.assert_no_token_recorded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_processing_token_is_resumed_not_recreated() {
    let w = World::new(morning(), Faults::default()).await;
    let (job, saved) = w.job(w.post(POST), None);
    // Cut the attempt while loa waits between verifies (it sleeps 2 s after the first -214).
    let cut = tokio::time::timeout(Duration::from_secs(1), w.channel.publish(&job)).await;
    assert!(cut.is_err(), "the attempt was still verifying: {cut:?}");
    let tokens = saved.all();
    assert_eq!(tokens.len(), 1);
    assert_eq!(w.oa().articles().len(), 1);

    let (resumed, saved_again) = w.job(w.post(POST), Some(tokens[0].clone()));
    let id = published(&w.channel.publish(&resumed).await);
    assert_eq!(id, w.oa().articles()[0].id);
    assert_eq!(w.oa().articles().len(), 1, "never created twice");
    assert_eq!(w.calls("/v2.0/article/create"), 1);
    assert!(saved_again.all().is_empty());
    w.assert_no_token_recorded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_at_night_waits_until_six() {
    let w = World::fast(late_evening(), 60.0, Faults::default()).await;
    let (job, _) = w.job(w.post(POST), None);
    // Articles may be published at night; only the broadcast waits.
    let id = published(&w.channel.publish(&job).await);
    let Outcome::RateLimited { message, until } = w.channel.broadcast(&job, &id).await else {
        panic!("expected rate_limited");
    };
    // 06:00 on 2 December in Vietnam.
    assert_eq!(until, Utc.with_ymd_and_hms(2026, 12, 1, 23, 0, 0).unwrap());
    assert!(message.contains("(error -234)"), "{message}");
    assert!(w.oa().broadcasts().is_empty());
    assert_eq!(w.answers("error -234"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_was_lost_is_found_by_reconciling() {
    let faults = Faults {
        ghost_rate: 1.0,
        ..Faults::default()
    };
    let w = World::new(morning(), faults).await;
    // The engine's window: the create's start, less two minutes.
    let since = w.clock.now() - chrono::Duration::minutes(2);
    let (job, saved) = w.job(w.post(POST), None);
    let outcome = w.channel.publish(&job).await;
    assert!(
        matches!(outcome, Outcome::Ambiguous { .. }),
        "a 500 on create is ambiguous: {outcome:?}"
    );
    assert!(saved.all().is_empty());
    let articles = w.oa().articles();
    assert_eq!(articles.len(), 1, "the ghost create took effect");
    assert_eq!(
        w.channel.reconcile(&job, since).await,
        Reconciled::Found {
            remote_id: articles[0].id.clone()
        }
    );
}

/// Found by the proof suite (issue 12): with the OA busy, twenty or more articles can be made
/// between a lost answer and its reconciliation; the article is then past the first two pages
/// of `getslice`, and a look at only those pages called it absent and made it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_is_found_behind_many_newer_articles() {
    let faults = Faults {
        ghost_rate: 1.0,
        ..Faults::default()
    };
    let w = World::new(morning(), faults).await;
    let since = w.clock.now() - chrono::Duration::minutes(2);
    let (job, _) = w.job(w.post(POST), None);
    assert!(matches!(
        w.channel.publish(&job).await,
        Outcome::Ambiguous { .. }
    ));
    let id = w.oa().articles()[0].id.clone();
    // 25 newer articles: two and a half pages of ten.
    for n in 0..25 {
        let at = w.clock.now() + chrono::Duration::minutes(10 + n);
        w.oa().seed_article(&format!("Tin khác {n}"), at);
    }
    assert_eq!(
        w.channel.reconcile(&job, since).await,
        Reconciled::Found { remote_id: id }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_create_is_not_found_by_reconciling() {
    let faults = Faults {
        fail_rate: 1.0,
        ..Faults::default()
    };
    let w = World::new(morning(), faults).await;
    let since = w.clock.now() - chrono::Duration::minutes(2);
    let (job, _) = w.job(w.post(POST), None);
    assert!(matches!(
        w.channel.publish(&job).await,
        Outcome::Ambiguous { .. }
    ));
    assert!(w.oa().articles().is_empty());
    // Too early to conclude it is absent: listing_delay (2 s) has not passed.
    assert!(matches!(
        w.channel.reconcile(&job, since).await,
        Reconciled::NotYet { .. }
    ));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(w.channel.reconcile(&job, since).await, Reconciled::Absent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_token_is_refreshed_once_ahead_of_time() {
    let faults = Faults {
        token_ttl: Some(Duration::from_secs(2)),
        ..Faults::default()
    };
    let w = World::new(morning(), faults).await;
    assert_eq!(w.channel.followers().await.unwrap(), Some(FOLLOWERS));
    assert_eq!(w.channel.followers().await.unwrap(), Some(FOLLOWERS));
    assert_eq!(w.calls("/v4/oa/access_token"), 1);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(w.channel.followers().await.unwrap(), Some(FOLLOWERS));
    let used = w.oa().refresh_tokens_used();
    assert_eq!(used.len(), 2, "{used:?}");
    assert_eq!(used[0], ZALO_FIRST_REFRESH_TOKEN);
    assert_eq!(w.oa().reused_refresh_tokens(), 0);
    assert_eq!(w.calls("/v4/oa/access_token"), 2);
    assert_eq!(
        w.answers("error -216"),
        0,
        "refreshed before the token died"
    );
    w.assert_no_token_recorded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_sandbox_expired_is_refreshed_after_rejection() {
    // The sandbox's hours pass in seconds while loa's clock keeps real time: loa still thinks
    // its 2 h token is fresh when the sandbox has expired it.
    let faults = Faults {
        token_ttl: Some(Duration::from_secs(2 * 3600)),
        ..Faults::default()
    };
    let w = World::with_clocks(
        Clock::compressed(morning(), 3600.0),
        Clock::starting_at(morning()),
        faults,
    )
    .await;
    assert_eq!(w.channel.followers().await.unwrap(), Some(FOLLOWERS));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(w.channel.followers().await.unwrap(), Some(FOLLOWERS));
    assert_eq!(w.answers("error -216 Access token is invalid"), 1);
    assert_eq!(w.oa().refresh_tokens_used().len(), 2);
    assert_eq!(w.oa().reused_refresh_tokens(), 0);
    assert_eq!(
        w.calls("/v2.0/oa/getoa"),
        3,
        "one call, one rejected, one replay"
    );
    w.assert_no_token_recorded();
}

/// Follows the consent link as the OA admin's browser would, up to the callback.
async fn consent(w: &World) -> (String, String) {
    let link = w.auth.consent_url(CALLBACK).unwrap();
    assert!(link.starts_with(&format!("{}/v4/oa/permission?", w.base)));
    let browser = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser.get(&link).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{CALLBACK}?")), "{location}");
    let query: BTreeMap<String, String> = reqwest::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(query["oa_id"], OA_ID);
    (query["code"].clone(), query["state"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consent_flow_gives_a_working_pair() {
    let w = World::new(morning(), Faults::default()).await;
    let (code, state) = consent(&w).await;
    w.auth.exchange_code(&code, Some(&state)).await.unwrap();
    // The exchanged access token is used as is: no refresh.
    assert_eq!(w.channel.followers().await.unwrap(), Some(FOLLOWERS));
    assert!(w.oa().refresh_tokens_used().is_empty());
    // A code works once.
    assert!(matches!(
        w.auth.exchange_code(&code, None).await,
        Err(AuthError::NeedsReauth(_))
    ));
    // A code is bound to its link's PKCE challenge: after a newer link, loa holds another
    // verifier, and the older code is refused.
    let (older, _) = consent(&w).await;
    w.auth.consent_url(CALLBACK).unwrap();
    assert!(matches!(
        w.auth.exchange_code(&older, None).await,
        Err(AuthError::NeedsReauth(_))
    ));
    assert_eq!(w.answers("error -14019"), 1);
    // The pair from the consent still works.
    assert_eq!(w.channel.followers().await.unwrap(), Some(FOLLOWERS));
    w.assert_no_token_recorded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_over_150_characters_is_permanent() {
    let w = World::fast(morning(), 60.0, Faults::default()).await;
    let title = |n: usize| -> String {
        "Thông báo lịch tiếp công dân tháng 12 "
            .chars()
            .cycle()
            .take(n - 1)
            .chain(['x'])
            .collect()
    };

    let mut post = w.post(POST);
    post.title = title(151);
    let (job, saved) = w.job(post, None);
    let Outcome::Permanent { message } = w.channel.publish(&job).await else {
        panic!("expected permanent");
    };
    assert!(
        message.contains("Parameter exceeds allowable limit (error -210)"),
        "{message}"
    );
    assert!(saved.all().is_empty());
    assert!(w.oa().articles().is_empty());

    // Exactly 150 is accepted.
    let mut post = w.post(POST);
    post.title = title(150);
    let (job, _) = w.job(post, None);
    published(&w.channel.publish(&job).await);
    assert_eq!(w.oa().articles()[0].title.chars().count(), 150);
}

// ---------------------------------------------------------------------------------------------
// The sandbox's own answers
// ---------------------------------------------------------------------------------------------

struct Raw {
    http: reqwest::Client,
    base: String,
}

impl Raw {
    fn new(w: &World) -> Raw {
        Raw {
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            base: w.base.clone(),
        }
    }

    async fn token(&self, form: &[(&str, &str)], secret: &str) -> Value {
        self.http
            .post(format!("{}/v4/oa/access_token", self.base))
            .header("secret_key", secret)
            .form(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> Value {
        let answer = self
            .http
            .post(format!("{}{path}", self.base))
            .header("access_token", token)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        answer.json().await.unwrap()
    }

    async fn get(&self, path_and_query: &str, token: &str) -> Value {
        let answer = self
            .http
            .get(format!("{}{path_and_query}", self.base))
            .header("access_token", token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        answer.json().await.unwrap()
    }
}

fn article(title: &str, cover: &str) -> Value {
    json!({
        "type": "normal", "title": title, "author": "UBND xã", "description": "Mô tả",
        "cover": {"cover_type": "photo", "photo_url": cover, "status": "show"},
        "body": [{"type": "text", "content": "<p>Nội dung</p>"}, {"type": "image", "url": BODY_IMAGE}],
        "status": "show", "comment": "show"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_answers_follow_the_reference() {
    let w = World::new(morning(), Faults::default()).await;
    let raw = Raw::new(&w);

    // No token, or a token in the query: -216 with HTTP 200, and the rate-limit headers.
    let answer = raw
        .http
        .get(format!("{}/v2.0/oa/getoa?access_token=x", raw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-ratelimit-limit"], "4000");
    assert!(answer.headers().contains_key("x-ratelimit-remain"));
    let body: Value = answer.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": -216, "message": "Access token is invalid"})
    );

    // OAuth: the secret travels in its header; a refresh token works once.
    let refresh = [
        ("refresh_token", ZALO_FIRST_REFRESH_TOKEN),
        ("app_id", ZALO_APP.0),
        ("grant_type", "refresh_token"),
    ];
    assert_eq!(raw.token(&refresh, "wrong").await["error"], -14002);
    let pair = raw.token(&refresh, ZALO_APP.1).await;
    assert_eq!(pair["expires_in"], "90000");
    let token = pair["access_token"].as_str().unwrap().to_string();
    assert!(pair["refresh_token"].is_string());
    let again = raw.token(&refresh, ZALO_APP.1).await;
    assert_eq!(again["error"], -14014);
    assert_eq!(again["error_name"], "invalid_grant");
    assert_eq!(again["error_description"], "Invalid refresh token");
    assert_eq!(w.oa().reused_refresh_tokens(), 1);

    // Create: strict fields.
    let create = "/v2.0/article/create";
    let plain_cover = raw
        .post(
            create,
            &token,
            &article("Tin", "http://example.gov.vn/a.jpg"),
        )
        .await;
    assert_eq!(
        plain_cover,
        json!({"error": -201, "message": "cover is invalid!"})
    );
    let raw_letters = raw
        .post(
            create,
            &token,
            &article("Tin", "https://example.gov.vn/bìa.jpg"),
        )
        .await;
    assert_eq!(raw_letters["error"], -201);
    let mut no_status = article("Tin", DEFAULT_COVER);
    no_status["cover"].as_object_mut().unwrap().remove("status");
    assert_eq!(raw.post(create, &token, &no_status).await["error"], -201);
    let mut long_author = article("Tin", DEFAULT_COVER);
    long_author["author"] = json!("a".repeat(51));
    assert_eq!(
        raw.post(create, &token, &long_author).await,
        json!({"error": -210, "message": "Parameter exceeds allowable limit"})
    );
    // 150 characters in NFC are 190 in NFD: counted after NFC, so accepted.
    let nfd: String = "Việt Nam "
        .repeat(15)
        .chars()
        .take(149)
        .chain(['x'])
        .collect::<String>();
    let nfd = unicode_normalization::UnicodeNormalization::nfd(nfd.as_str()).collect::<String>();
    assert!(nfd.chars().count() > 150);
    let created = raw
        .post(create, &token, &article(&nfd, DEFAULT_COVER))
        .await;
    assert_eq!(created["error"], 0, "{created}");
    let processing = created["data"]["token"].as_str().unwrap().to_string();

    // Verify: -214 once or twice, then the id.
    let mut busy = 0;
    let id = loop {
        let v = raw
            .post(
                "/v2.0/article/verify",
                &token,
                &json!({"token": processing}),
            )
            .await;
        if v["error"] == -214 {
            assert_eq!(v["message"], "Article is being processed");
            busy += 1;
            continue;
        }
        break v["data"]["id"].as_str().unwrap().to_string();
    };
    assert!((1..=2).contains(&busy), "{busy}");
    let unknown = raw
        .post("/v2.0/article/verify", &token, &json!({"token": "nope"}))
        .await;
    assert_eq!(unknown["error"], -201);

    // List and detail.
    let slice = raw
        .get(
            "/v2.0/article/getslice?offset=0&limit=10&type=normal",
            &token,
        )
        .await;
    assert_eq!(slice["data"]["total"], 1);
    let item = &slice["data"]["medias"][0];
    assert_eq!(item["id"], id.as_str());
    for key in [
        "type",
        "title",
        "status",
        "total_view",
        "total_share",
        "create_date",
        "update_date",
        "thumb",
        "link_view",
    ] {
        assert!(!item[key].is_null(), "{key}: {item}");
    }
    assert_eq!(
        item["create_date"],
        w.oa().articles()[0].created.timestamp_millis()
    );
    let too_many = raw
        .get(
            "/v2.0/article/getslice?offset=0&limit=11&type=normal",
            &token,
        )
        .await;
    assert_eq!(too_many["error"], -210);
    let no_type = raw
        .get("/v2.0/article/getslice?offset=0&limit=10", &token)
        .await;
    assert_eq!(no_type["error"], -201);
    let detail = raw
        .get(&format!("/v2.0/article/getdetail?id={id}"), &token)
        .await;
    assert_eq!(detail["data"]["cover"]["photo_url"], DEFAULT_COVER);

    // Broadcast needs an existing article.
    let broadcast = |id: &str| loa::render::zalo::broadcast_body(id);
    let bad = raw
        .post("/v2.0/oa/message", &token, &broadcast("nope"))
        .await;
    assert_eq!(
        bad,
        json!({"error": -201, "message": "attachment_id is invalid!"})
    );
    let sent = raw.post("/v2.0/oa/message", &token, &broadcast(&id)).await;
    assert!(sent["data"]["message_id"].is_string(), "{sent}");

    // Remove: once; then the id is unknown.
    let remove = "/v2.0/article/remove";
    let removed = raw.post(remove, &token, &json!({"id": id})).await;
    assert_eq!(removed, json!({"error": 0, "message": "Success"}));
    let twice = raw.post(remove, &token, &json!({"id": id})).await;
    assert_eq!(twice, json!({"error": -201, "message": "id is invalid!"}));
    w.assert_no_token_recorded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_failures_are_500_without_json() {
    let faults = Faults {
        fail_rate: 1.0,
        ..Faults::default()
    };
    let w = World::new(morning(), faults).await;
    // loa refreshes through the real code; the failure hits the create only.
    assert_eq!(w.channel.followers().await.unwrap(), Some(FOLLOWERS));
    let token = {
        let store = TokenStore::new(&w.config.data_dir).load().unwrap();
        secrecy::ExposeSecret::expose_secret(store.zalo.unwrap().access_token.as_ref().unwrap())
            .to_string()
    };
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}/v2.0/article/create", w.base))
        .header("access_token", token)
        .json(&article("Tin", DEFAULT_COVER))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 500);
    assert!(serde_json::from_str::<Value>(&answer.text().await.unwrap()).is_err());
    assert!(w.oa().articles().is_empty());
}
