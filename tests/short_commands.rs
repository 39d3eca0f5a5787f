//! The short commands (`status`, `retry`, `cancel`, `unpublish`, `check`) never take the
//! service's lock: an operator's `loa status` right after `systemctl start loa`, or one that
//! meets a cron `loa run --once`, must never stop the service from starting. Only a second
//! `loa run` on the same data folder is refused.
//!
//! Every test drives the built binary in its own temporary folder, with a config whose only
//! channel points at a closed port on 127.0.0.1 and with no `LOA_*` variable (so no token): nothing
//! can leave the machine.

#![cfg(unix)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a freshly started `loa run` must stay up while the short commands race it.
const ALIVE_FOR: Duration = Duration::from_millis(1500);

struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
}

impl World {
    /// A world whose database exists already, as on any machine where loa has run once.
    ///
    /// Two processes creating the database at the same instant is a separate matter (the
    /// store's migrations); these tests are about the service's lock.
    fn installed() -> World {
        let w = World::new();
        let (code, _, err) = finish(w.spawn(&["status"]));
        assert_eq!(code, Some(0), "{err}");
        w
    }

    /// A config (English messages, Facebook only, towards a closed local port) and two posts.
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let posts = root.join("posts");
        std::fs::create_dir_all(&posts).unwrap();
        for (name, title) in [("1-lich.md", "Lịch tiếp dân"), ("2-cho.md", "Chợ phiên")] {
            std::fs::write(
                posts.join(name),
                format!("---\ntitle: \"{title}\"\n---\nNội dung.\n"),
            )
            .unwrap();
        }
        let config = root.join("loa.toml");
        std::fs::write(
            &config,
            "language = \"en\"\nposts_dir = \"posts\"\ndata_dir = \"data\"\n\
             [facebook]\npage_id = \"123456789012345\"\ngraph_url = \"http://127.0.0.1:9\"\n",
        )
        .unwrap();
        World {
            _dir: dir,
            root,
            config,
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn lock_file(&self) -> PathBuf {
        self.data_dir().join("loa.lock")
    }

    /// `loa --config FILE ARGS…` with no `LOA_*` variable inherited.
    fn loa(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("loa"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("LOA_") {
                cmd.env_remove(key);
            }
        }
        cmd.arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(&self.root)
            .stdin(Stdio::null());
        cmd
    }

    /// A short command started in the background, its output captured.
    fn spawn(&self, args: &[&str]) -> Child {
        self.loa(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("loa starts")
    }

    /// `loa run` in the background.
    fn service(&self) -> Service {
        Service::start(self.loa(&["run"]))
    }
}

/// A `loa run` child whose log is read on a thread, so the test can wait for "loa is running".
struct Service {
    child: Child,
    started: Instant,
    ready: mpsc::Receiver<()>,
    said_ready: bool,
    log: Option<std::thread::JoinHandle<String>>,
}

impl Service {
    fn start(mut cmd: Command) -> Service {
        let started = Instant::now();
        let mut child = cmd
            .env("LOA_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("loa run starts");
        let mut stderr = child.stderr.take().unwrap();
        let (tx, ready) = mpsc::channel();
        let log = std::thread::spawn(move || {
            let mut log = String::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                log.push_str(&String::from_utf8_lossy(&buf[..n]));
                if log.contains("loa is running") {
                    let _ = tx.send(());
                }
            }
            log
        });
        Service {
            child,
            started,
            ready,
            said_ready: false,
            log: Some(log),
        }
    }

    /// Waits until the service says it runs; panics with its log if it stopped instead.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.said_ready && Instant::now() < deadline {
            if self.ready.recv_timeout(Duration::from_millis(50)).is_ok() {
                self.said_ready = true;
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "loa run stopped ({status}) before it ran:\n{}",
                    self.take_log()
                );
            }
        }
        assert!(self.said_ready, "loa run never said it runs");
    }

    /// Asserts the service is still running, then stops it with SIGTERM and expects exit 0.
    fn assert_alive_then_stop(mut self, round: usize) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "round {round}: loa run stopped ({status}) while short commands ran:\n{}",
                self.take_log()
            );
        }
        // SIGTERM is what systemd sends; the handler is in place once the service says it runs.
        self.wait_ready();
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = wait_for_exit(&mut self.child, Duration::from_secs(20));
        let log = self.take_log();
        assert_eq!(
            status.code(),
            Some(0),
            "round {round}: loa run did not stop cleanly:\n{log}"
        );
    }

    /// The service's log so far; stops it first if it still runs (the log ends when it exits).
    fn take_log(&mut self) -> String {
        if self.child.try_wait().unwrap().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.log
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default()
    }
}

/// A failed assertion must not leave a `loa run` behind.
impl Drop for Service {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_for_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("loa did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for a short command and returns (exit code, stdout, stderr).
fn finish(child: Child) -> (Option<i32>, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The short commands an operator or a monitoring script may start next to the service: three
/// `status --json`, and `cancel`/`retry` of a post that does not exist.
fn short_commands(w: &World) -> Vec<Child> {
    let mut children: Vec<Child> = (0..3).map(|_| w.spawn(&["status", "--json"])).collect();
    children.push(w.spawn(&["cancel", "posts/khong-co.md"]));
    children.push(w.spawn(&["retry", "posts/khong-co.md"]));
    children
}

/// Each short command did its job: status printed JSON, cancel/retry found no such post.
fn assert_short_commands_ok(round: usize, children: Vec<Child>) {
    for child in children {
        let (code, out, err) = finish(child);
        if out.trim_start().starts_with('{') {
            assert_eq!(code, Some(0), "round {round}: status failed: {err}");
            let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert!(doc["posts"].is_array(), "round {round}: {out}");
        } else {
            assert_eq!(code, Some(1), "round {round}: {err}");
            assert!(
                err.contains("has no post `posts/khong-co.md`"),
                "round {round}: {err}"
            );
        }
    }
}

#[test]
fn status_and_queue_commands_started_with_the_service_never_stop_it() {
    for round in 0..15 {
        let w = World::installed();
        // Both orders: the service a hair before the short commands, and a hair after.
        let (service, children) = if round % 2 == 0 {
            let service = w.service();
            (service, short_commands(&w))
        } else {
            let children = short_commands(&w);
            (w.service(), children)
        };
        assert_short_commands_ok(round, children);
        let left = ALIVE_FOR.saturating_sub(service.started.elapsed());
        std::thread::sleep(left);
        service.assert_alive_then_stop(round);
    }
}

#[test]
fn run_once_is_never_refused_because_of_status() {
    for round in 0..12 {
        let w = World::installed();
        let statuses: Vec<Child> = (0..3).map(|_| w.spawn(&["status", "--json"])).collect();
        let once = w.spawn(&["run", "--once"]);
        let more: Vec<Child> = (0..2).map(|_| w.spawn(&["status", "--json"])).collect();
        let (code, _, err) = finish(once);
        assert_eq!(code, Some(0), "round {round}: loa run --once failed: {err}");
        assert_short_commands_ok(round, statuses.into_iter().chain(more).collect());
    }
}

#[test]
fn a_second_service_on_the_same_data_folder_is_still_refused() {
    let w = World::new();
    let mut first = w.service();
    first.wait_ready();
    let (code, _, err) = finish(w.spawn(&["run"]));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("another loa is already running with the data folder"),
        "{err}"
    );
    assert!(err.contains(&w.data_dir().display().to_string()), "{err}");
    // So is a second `--once` pass: it would race the service's own sends.
    let (code, _, err) = finish(w.spawn(&["run", "--once"]));
    assert_eq!(code, Some(1), "{err}");
    first.assert_alive_then_stop(0);
}

/// Posts listed by `loa status --json`, by file.
fn status_files(w: &World) -> Vec<String> {
    let (code, out, err) = finish(w.spawn(&["status", "--json"]));
    assert_eq!(code, Some(0), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    doc["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["file"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn status_with_no_service_reads_the_posts_folder_and_leaves_the_lock_alone() {
    let w = World::new();
    assert_eq!(status_files(&w), ["posts/1-lich.md", "posts/2-cho.md"]);
    // No short command creates, takes or writes the service's lock file.
    for args in [
        &["status"][..],
        &["cancel", "posts/1-lich.md", "--channel", "facebook"],
        &["retry", "posts/1-lich.md"],
        &["unpublish", "posts/1-lich.md"],
        &["check"],
    ] {
        let _ = finish(w.spawn(args));
        assert!(!w.lock_file().exists(), "`loa {}` made loa.lock", args[0]);
    }
    // Judged by this environment, which has no token: the reason is the one `status` finds
    // itself, not a service's record (which would add "then restart loa").
    let (code, out, _) = finish(w.spawn(&["status", "--json"]));
    assert_eq!(code, Some(0));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let facebook = &doc["channels"][0];
    assert_eq!(facebook["health"], "needs_reauth", "{out}");
    let reason = facebook["reason"].as_str().unwrap();
    assert!(reason.starts_with("no Page token"), "{reason}");
    assert!(!reason.contains("restart loa"), "{reason}");
}

#[test]
fn a_pid_left_behind_is_not_taken_for_a_running_service() {
    let w = World::new();
    std::fs::create_dir_all(w.data_dir()).unwrap();
    // A process that has ended, then a live one that is not loa (a crash leaves the pid, and the
    // system may give it to another program).
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let mut other = Command::new("sleep").arg("30").spawn().unwrap();
    for (n, pid) in [gone.id(), other.id()].into_iter().enumerate() {
        std::fs::write(w.lock_file(), format!("{pid}\n")).unwrap();
        let name = format!("3-moi-{n}.md");
        std::fs::write(
            w.root.join("posts").join(&name),
            format!("---\ntitle: \"Bài {n}\"\n---\nx\n"),
        )
        .unwrap();
        // Taken for "no service": the folder is read, so the new post shows.
        assert!(
            status_files(&w).contains(&format!("posts/{name}")),
            "pid {pid} taken for a service"
        );
    }
    let _ = other.kill();
    let _ = other.wait();
}

#[test]
fn status_next_to_a_running_service_shows_its_view_and_the_pid_is_cleared_on_stop() {
    let w = World::new();
    let mut service = w.service();
    service.wait_ready();
    let pid = service.child.id();
    assert_eq!(
        std::fs::read_to_string(w.lock_file()).unwrap().trim(),
        pid.to_string()
    );
    for _ in 0..5 {
        assert_eq!(status_files(&w), ["posts/1-lich.md", "posts/2-cho.md"]);
    }
    // Status knew a service runs: it shows what the service recorded (its reason, then the
    // store view's "restart loa" hint), not a judgement of this shell's environment.
    let (_, out, _) = finish(w.spawn(&["status", "--json"]));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let facebook = &doc["channels"][0];
    assert_eq!(facebook["health"], "needs_reauth", "{out}");
    let reason = facebook["reason"].as_str().unwrap();
    assert!(reason.starts_with("no Page token"), "{reason}");
    assert!(reason.ends_with("then restart loa"), "{reason}");
    service.assert_alive_then_stop(0);
    assert_eq!(std::fs::read_to_string(w.lock_file()).unwrap().trim(), "");
}
