//! An engine over a temporary posts folder and store, with fake channels and tokio's paused
//! clock: what the engine tests share.

#![allow(dead_code, reason = "each test binary uses its own subset")]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::fake::FakeChannel;
use loa::channel::Channel;
use loa::config::Config;
use loa::engine::{Clock, Engine};
use loa::publisher::Publisher;
use loa::store::{State, Store};

/// Thursday 2026-11-26 20:00 in Vietnam.
pub fn start() -> DateTime<Utc> {
    at("2026-11-26T20:00:00+07:00")
}

/// A time from RFC 3339.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A posts folder, a store file and a config, in a temporary folder.
pub struct World {
    /// Kept so the folder lives as long as the world.
    pub _dir: tempfile::TempDir,
    /// The posts folder.
    pub posts: PathBuf,
    /// The store file.
    pub db: PathBuf,
    /// The config.
    pub config: Config,
}

impl World {
    /// A world whose config has `extra` appended.
    pub fn new(extra: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let posts = dir.path().join("posts");
        std::fs::create_dir_all(&posts).unwrap();
        let mut config = Config::parse(&format!(
            "language = \"en\"\n[schedule]\nslots = [\"Tue 07:00\", \"Thu 07:00\"]\nmax_lateness = \"2d\"\n[retry]\nbase_delay = \"30s\"\nmax_delay = \"10m\"\nmax_attempts = 4\n[facebook]\npage_id = \"1\"\n{extra}"
        ))
        .unwrap();
        config.posts_dir = posts.clone();
        config.data_dir = dir.path().join("data");
        World {
            db: dir.path().join("loa.db"),
            _dir: dir,
            posts,
            config,
        }
    }

    /// Writes a post with this front matter and body.
    pub fn write(&self, name: &str, front: &str, body: &str) {
        let path = self.posts.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, format!("---\n{front}\n---\n{body}\n")).unwrap();
    }

    /// An engine over this world with these fakes, on a clock starting at [`start`].
    pub fn engine(&self, fakes: &[&FakeChannel]) -> Arc<Engine> {
        let publishers: Vec<Arc<dyn Publisher>> = fakes
            .iter()
            .map(|f| Arc::new((*f).clone()) as Arc<dyn Publisher>)
            .collect();
        Arc::new(Engine::new(
            Store::open(&self.db).unwrap(),
            self.config.clone(),
            publishers,
            Clock::starting_at(start()),
        ))
    }
}

/// (path, channel, state) of every delivery.
pub async fn states(engine: &Engine) -> Vec<(String, Channel, State)> {
    engine
        .with_store(|s| {
            let posts = s.all_posts()?;
            let mut out: Vec<(String, Channel, State)> = s
                .deliveries()?
                .into_iter()
                .map(|d| {
                    (
                        posts
                            .iter()
                            .find(|p| p.id == d.post_id)
                            .unwrap()
                            .path
                            .clone(),
                        d.channel,
                        d.state,
                    )
                })
                .collect();
            out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
            Ok(out)
        })
        .await
        .unwrap()
}

/// Runs the service loop for `wait` of virtual time, then stops it.
pub async fn run_for(engine: &Arc<Engine>, wait: Duration) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(engine.clone().run(async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(wait).await;
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

/// Start-up: recover, then sync the folder.
pub async fn boot(engine: &Arc<Engine>) {
    engine.recover().await.unwrap();
    engine.sync().await.unwrap();
}

/// An engine over `w` whose Facebook fake holds posts 10 minutes to 30 days ahead and publishes
/// them itself (native scheduling), on a clock starting at [`start`].
pub fn native_engine(w: &World) -> (Arc<Engine>, FakeChannel) {
    let clock = Clock::starting_at(start());
    let fb = FakeChannel::with_native_scheduling(Channel::Facebook, clock.clone());
    let publishers: Vec<Arc<dyn Publisher>> = vec![Arc::new(fb.clone())];
    (
        Arc::new(Engine::new(
            Store::open(&w.db).unwrap(),
            w.config.clone(),
            publishers,
            clock,
        )),
        fb,
    )
}

/// The service loop running in the background until [`Running::stop`].
pub struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<loa::engine::Result<()>>,
}

impl Running {
    /// Starts the loop.
    pub fn start(engine: &Arc<Engine>) -> Running {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(engine.clone().run(async {
            let _ = stopped.await;
        }));
        Running { stop, task }
    }

    /// Lets it run `wait` more of virtual time, then stops it.
    pub async fn stop_after(self, wait: Duration) {
        tokio::time::sleep(wait).await;
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}
