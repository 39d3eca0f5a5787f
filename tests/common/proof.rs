//! The proof suites' world (`tests/proof_faults.rs`, `tests/proof_crash.rs`): the built `loa run`
//! against the sandbox served in the test's process, with faults on, on a clock both run
//! [`SPEED`] times faster than the wall's, so that Facebook's hour-long pause (a rate limit
//! without an estimate) lasts seconds. Then what the issue asks of the end state: every post
//! exactly once on each platform, no refresh token sent twice, nothing `unconfirmed`, every
//! request the platforms got behind an attempt in the store, every attempt closed, the database
//! and the token store intact.

#![allow(dead_code, reason = "each test binary uses its own subset")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use loa::clock::{Clock, EPOCH_ENV, SPEED_ENV};
use loa::sandbox::{self, Faults, Sandbox};

/// How many times faster than the wall's both clocks run: Facebook's hour without an estimate
/// is 3 s, Zalo's minute after `-32` 0.05 s, and the retries' backoff a few milliseconds.
pub const SPEED: f64 = 1200.0;

/// How long loa waits for an answer (real time), and how long a slow answer is held.
pub const CALL_TIMEOUT: Duration = Duration::from_millis(1500);
/// Longer than [`CALL_TIMEOUT`]: loa gives up before the answer comes.
pub const SLOW_FOR: Duration = Duration::from_millis(2500);

/// Zalo access tokens die after this many calls.
pub const TOKEN_CALLS: u32 = 4;

/// Every fault at once, as the issue lists them, from `seed`.
pub fn all_faults(seed: u64) -> Faults {
    Faults {
        fail_rate: 0.2,
        ghost_rate: 0.1,
        slow_rate: 0.05,
        slow_for: Some(SLOW_FOR),
        rate_limit_rate: 0.1,
        token_calls: Some(TOKEN_CALLS),
        latency: Duration::from_millis(5),
        token_ttl: None,
        seed: Some(seed),
    }
}

/// The seed of a suite's faults: `LOA_PROOF_SEED` to replay a failed run, else `default`.
pub fn seed(default: u64) -> u64 {
    std::env::var("LOA_PROOF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A posts folder of `posts` posts for both channels, a config pointing at the sandbox, and
/// the sandbox.
pub struct Proof {
    _dir: tempfile::TempDir,
    /// The folder holding `posts/`, `data/` and `loa.toml`.
    pub root: PathBuf,
    config: PathBuf,
    /// When both clocks read the wall's time.
    epoch: DateTime<Utc>,
    /// The simulated platforms.
    pub sandbox: Arc<Sandbox>,
    _server: tokio::task::JoinHandle<()>,
    /// How many posts.
    pub posts: usize,
}

/// The title of post `i`.
pub fn title(i: usize) -> String {
    format!("Thông báo số {i:02} của UBND xã")
}

impl Proof {
    /// Serves the sandbox with `faults` and writes `posts` posts, all due now.
    pub async fn new(faults: Faults, posts: usize) -> Proof {
        let epoch = Utc::now();
        let sandbox = Sandbox::new(Clock::anchored(epoch, SPEED), faults);
        let (addr, server) = sandbox::serve(sandbox.clone(), 0).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let folder = root.join("posts");
        std::fs::create_dir_all(&folder).unwrap();
        for i in 1..=posts {
            // Every fifth one carries a link on Facebook: the other kind of feed request.
            let link = if i % 5 == 0 {
                "\nfacebook: { link: \"https://dichvucong.gov.vn\" }"
            } else {
                ""
            };
            std::fs::write(
                folder.join(format!("{i:02}.md")),
                format!(
                    "---\ntitle: \"{}\"\npublish_at: now{link}\n---\nNội dung thông báo số {i}: bà con lưu ý.\n",
                    title(i)
                ),
            )
            .unwrap();
        }
        let url = format!("http://{addr}");
        let config = root.join("loa.toml");
        // Backoff in the sped-up clock's time: 30 s to 5 min is 50 to 500 ms.
        std::fs::write(
            &config,
            format!(
                "language = \"en\"\nposts_dir = \"posts\"\ndata_dir = \"data\"\n\
                 [retry]\nbase_delay = \"30s\"\nmax_delay = \"5m\"\nmax_attempts = 60\n\
                 [facebook]\npage_id = \"{page}\"\ngraph_url = \"{url}\"\nnative_schedule = false\n\
                 [zalo]\napp_id = \"{app}\"\nopenapi_url = \"{url}\"\noauth_url = \"{url}\"\nauthor = \"UBND xã Thanh Kỳ\"\n\
                 default_cover_url = \"https://example.gov.vn/logo.jpg\"\nlisting_delay = \"3s\"\n\
                 [media]\npublic_base_url = \"https://example.gov.vn/loa-media/\"\n",
                page = sandbox::PAGE_ID,
                app = sandbox::ZALO_APP.0,
            ),
        )
        .unwrap();
        Proof {
            _dir: dir,
            root,
            config,
            epoch,
            sandbox,
            _server: server,
            posts,
        }
    }

    /// `loa` with the config, the sandbox's secrets, the sped-up clock and the short timeout.
    pub fn loa(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_loa"));
        cmd.arg("--config")
            .arg(&self.config)
            .current_dir(&self.root)
            .env("LOA_FACEBOOK_PAGE_TOKEN", sandbox::PAGE_TOKEN)
            .env("LOA_ZALO_APP_SECRET", sandbox::ZALO_APP.1)
            .env("LOA_ZALO_REFRESH_TOKEN", sandbox::ZALO_FIRST_REFRESH_TOKEN)
            .env(SPEED_ENV, SPEED.to_string())
            .env(EPOCH_ENV, self.epoch.to_rfc3339())
            .env("LOA_HTTP_TIMEOUT", CALL_TIMEOUT.as_secs_f64().to_string())
            .env("LOA_LOG", "warn")
            .env_remove("LOA_CONFIG")
            .stdin(Stdio::null());
        cmd
    }

    /// Starts `loa run`; its log is appended to `root/loa.log`.
    pub fn run(&self) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("loa.log"))
            .unwrap();
        self.loa()
            .arg("run")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("loa starts")
    }

    /// The store file.
    pub fn db(&self) -> PathBuf {
        self.root.join("data/loa.db")
    }

    /// Deliveries published so far (0 while there is no store yet).
    pub fn published(&self) -> i64 {
        let Some(conn) = read_only(&self.db()) else {
            return 0;
        };
        conn.query_row(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'published'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0)
    }

    /// Whether every post is published on both channels.
    pub fn all_published(&self) -> bool {
        self.published() == 2 * self.posts as i64
    }

    /// Everything that helps read a failure: `loa status`, the store's deliveries, the tail of
    /// the sandbox's log and of loa's.
    pub fn report(&self) -> String {
        let status = self
            .loa()
            .arg("status")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let received = self.sandbox.received.lock().unwrap();
        let tail: Vec<String> = received
            .iter()
            .rev()
            .take(60)
            .rev()
            .map(|r| {
                format!(
                    "{} {} {} {} → {}",
                    r.at, r.platform, r.method, r.path, r.answer
                )
            })
            .collect();
        let log = std::fs::read_to_string(self.root.join("loa.log")).unwrap_or_default();
        let log_tail: Vec<&str> = log.lines().rev().take(30).collect();
        format!(
            "loa status:\n{status}\ndeliveries:\n{}\nsandbox (last 60 of {}):\n{}\nloa's log (last 30 lines, newest first):\n{}",
            self.deliveries(),
            received.len(),
            tail.join("\n"),
            log_tail.join("\n")
        )
    }

    /// Every delivery's file, channel, state and error.
    pub fn deliveries(&self) -> String {
        let Some(conn) = read_only(&self.db()) else {
            return "no database".into();
        };
        let mut stmt = conn
            .prepare(
                "SELECT p.path, d.channel, d.state, d.needs_reconcile, d.last_error FROM deliveries d \
                 JOIN posts p ON p.id = d.post_id ORDER BY p.path, d.channel",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok(format!(
                "{} {} {} reconcile={} error={:?}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?
            ))
        })
        .unwrap()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n")
    }

    /// Waits (real time, at most `limit`) until every delivery is published; on timeout fails
    /// with [`Proof::report`].
    pub async fn wait_all_published(&self, limit: Duration) {
        let began = Instant::now();
        while !self.all_published() {
            assert!(
                began.elapsed() < limit,
                "not every delivery was published within {limit:?}:\n{}",
                self.report()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// How many requests the sandbox recorded on `platform` whose path ends with `suffix` and
    /// whose answer contains `answer`.
    pub fn count(&self, platform: &str, suffix: &str, answer: &str) -> usize {
        self.sandbox
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.platform == platform && r.path.ends_with(suffix))
            .filter(|r| r.answer.contains(answer))
            .count()
    }

    /// Every check of the end state the issue asks for (after loa stopped).
    pub fn assert_end_state(&self) {
        self.assert_exactly_once();
        let oa = self.sandbox.zalo.lock().unwrap();
        assert_eq!(oa.reused_refresh_tokens(), 0, "no refresh token sent twice");
        drop(oa);
        self.assert_settled();
        self.assert_attempts();
        self.assert_intact();
    }

    /// Each post exactly once on the Page and once on the OA, compared by content, and the
    /// store holds each platform object's id.
    pub fn assert_exactly_once(&self) {
        let fb = self.sandbox.facebook.lock().unwrap().posts();
        let zalo = self.sandbox.zalo.lock().unwrap().articles();
        let ids = self.remote_ids();
        for i in 1..=self.posts {
            let title = title(i);
            let on_page: Vec<_> = fb
                .iter()
                .filter(|p| p.message.starts_with(&title) && !p.deleted)
                .collect();
            assert_eq!(
                on_page.len(),
                1,
                "post {i} on the Page exactly once: {on_page:#?}\n{}",
                self.history(&format!("{i:02}.md"), "facebook")
            );
            let on_oa: Vec<_> = zalo
                .iter()
                .filter(|a| a.title == title && !a.removed)
                .collect();
            assert_eq!(
                on_oa.len(),
                1,
                "post {i} on the OA exactly once: {on_oa:#?}\n{}",
                self.history(&format!("{i:02}.md"), "zalo")
            );
            let file = format!("{i:02}.md");
            assert_eq!(
                ids.get(&(file.clone(), "facebook".to_string())),
                Some(&on_page[0].id),
                "the store holds the Page post's id of {file}"
            );
            assert_eq!(
                ids.get(&(file.clone(), "zalo".to_string())),
                Some(&on_oa[0].id),
                "the store holds the article's id of {file}"
            );
        }
        assert_eq!(fb.len(), self.posts, "nothing else on the Page: {fb:#?}");
        assert_eq!(zalo.len(), self.posts, "nothing else on the OA: {zalo:#?}");
    }

    /// The attempts of one delivery and the sandbox's log of `channel`, for a failure message.
    fn history(&self, file: &str, channel: &str) -> String {
        let conn = read_only(&self.db()).expect("the store opens");
        let mut stmt = conn
            .prepare(
                "SELECT a.kind, a.started_at, a.finished_at, a.outcome, a.remote_id, a.message \
                 FROM attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN posts p ON p.id = d.post_id \
                 WHERE p.path LIKE ?1 AND d.channel = ?2 ORDER BY a.id",
            )
            .unwrap();
        let attempts: Vec<String> = stmt
            .query_map([format!("%{file}"), channel.to_string()], |r| {
                Ok(format!(
                    "{} {} → {:?} {:?} {:?} {:?}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?
                ))
            })
            .unwrap()
            .flatten()
            .collect();
        let platform = if channel == "zalo" {
            "zalo"
        } else {
            "facebook"
        };
        let log: Vec<String> = self
            .sandbox
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.platform == platform)
            .map(|r| format!("{} {} {} → {}", r.at, r.method, r.path, r.answer))
            .collect();
        format!(
            "attempts of {file} on {channel}:\n{}\n{platform}'s log:\n{}",
            attempts.join("\n"),
            log.join("\n")
        )
    }

    /// (file name, channel) → the remote id the store holds.
    fn remote_ids(&self) -> std::collections::BTreeMap<(String, String), String> {
        let conn = read_only(&self.db()).expect("the store opens");
        let mut stmt = conn
            .prepare(
                "SELECT p.path, d.channel, d.remote_id FROM deliveries d JOIN posts p ON p.id = d.post_id \
                 WHERE d.remote_id IS NOT NULL",
            )
            .unwrap();
        stmt.query_map([], |r| {
            let path: String = r.get(0)?;
            let file = Path::new(&path)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or(path);
            Ok(((file, r.get(1)?), r.get(2)?))
        })
        .unwrap()
        .flatten()
        .collect()
    }

    /// Nothing `unconfirmed`: every answer loa lost, the platform could settle by a listing.
    pub fn assert_settled(&self) {
        let conn = read_only(&self.db()).expect("the store opens");
        let unconfirmed: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM deliveries WHERE state = 'unconfirmed' OR broadcast_state = 'unconfirmed'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            unconfirmed,
            0,
            "no delivery left unconfirmed: both platforms list every post, so a lost answer can always be settled:\n{}",
            self.deliveries()
        );
    }

    /// Every create request the platforms got was sent under a create attempt in the store (an
    /// attempt is committed before its request), and every attempt is closed.
    pub fn assert_attempts(&self) {
        let conn = read_only(&self.db()).expect("the store opens");
        let attempts = |channel: &str, kind: &str| -> usize {
            conn.query_row(
                "SELECT COUNT(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id \
                 WHERE d.channel = ?1 AND a.kind = ?2",
                [channel, kind],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| usize::try_from(n).unwrap_or(0))
            .unwrap()
        };
        // Each create the platform acted on was sent inside its own create attempt (a create
        // refused for a dead token is sent again in the same attempt, but did nothing).
        let feed = self.count("facebook", "/feed", "created");
        assert!(
            feed <= attempts("facebook", "create"),
            "{feed} posts made, {} create attempts",
            attempts("facebook", "create")
        );
        let creates = self.count("zalo", "/article/create", "created");
        assert!(
            creates <= attempts("zalo", "create"),
            "{creates} articles made, {} create attempts",
            attempts("zalo", "create")
        );
        // Every platform object was made under a create attempt of its delivery that started
        // before it (both clocks read the same time).
        let fb = self.sandbox.facebook.lock().unwrap().posts();
        let zalo = self.sandbox.zalo.lock().unwrap().articles();
        let made: Vec<(&str, DateTime<Utc>)> = fb
            .iter()
            .map(|p| (p.id.as_str(), p.created_time))
            .chain(zalo.iter().map(|a| (a.id.as_str(), a.created)))
            .collect();
        for (id, created) in made {
            let started: Option<String> = conn
                .query_row(
                    "SELECT MIN(a.started_at) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id \
                     WHERE d.remote_id = ?1 AND a.kind = 'create'",
                    [id],
                    |r| r.get(0),
                )
                .unwrap();
            let started = started
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .unwrap_or_else(|| panic!("no create attempt behind the platform's {id}"));
            assert!(
                started <= created + chrono::Duration::seconds(1),
                "{id} was made at {created}, before its first create attempt ({started})"
            );
        }
        let open: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM attempts WHERE finished_at IS NULL OR outcome IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(open, 0, "every attempt in the store is closed");
    }

    /// `PRAGMA integrity_check` is ok, and the token store and `loa status` read.
    pub fn assert_intact(&self) {
        let conn = read_only(&self.db()).expect("the store opens");
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let tokens = loa::token_store::TokenStore::new(&self.root.join("data"))
            .load()
            .expect("the token store reads");
        let zalo = tokens.zalo.expect("the Zalo pair is stored");
        let stored = zalo.refresh_token.expect("a refresh token is stored");
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&stored),
            self.sandbox.zalo.lock().unwrap().live_refresh_token(),
            "the stored refresh token is the one Zalo takes next"
        );
        let status = self.loa().args(["status", "--json"]).output().unwrap();
        assert!(
            status.status.success(),
            "loa status: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        let zalo = doc["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["channel"] == "zalo")
            .cloned()
            .unwrap_or_default();
        assert_ne!(zalo["health"], "needs_reauth", "{zalo}");
    }
}

/// The store, read-only (loa may still be writing it).
pub fn read_only(db: &Path) -> Option<rusqlite::Connection> {
    if !db.exists() {
        return None;
    }
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()
}

/// Sends SIGTERM and waits for the service to stop.
pub fn stop(child: &mut Child) {
    assert!(
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap()
            .success()
    );
    child.wait().unwrap();
}
