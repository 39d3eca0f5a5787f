//! A temporary commune run through the built binary against loa's sandbox: a config pointing both
//! platforms at it, posts dropped by name, and every command's output kept for later greps.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use loa::sandbox;

/// The folder, the config and the outputs of the commands run so far.
pub struct World {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub config: PathBuf,
    /// Every output so far, with where it came from, grepped at the end.
    pub outputs: Vec<(String, String)>,
}

impl World {
    /// A commune whose config points both platforms at the sandbox at `url`.
    pub fn new(url: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("posts")).unwrap();
        let config = root.join("loa.toml");
        std::fs::write(
            &config,
            format!(
                "language = \"en\"\nposts_dir = \"posts\"\ndata_dir = \"data\"\n\
                 [facebook]\npage_id = \"{page}\"\ngraph_url = \"{url}\"\nnative_schedule = false\n\
                 [zalo]\napp_id = \"{app}\"\nopenapi_url = \"{url}\"\noauth_url = \"{url}\"\n\
                 author = \"UBND xã Thanh Kỳ\"\ndefault_cover_url = \"https://example.gov.vn/logo.jpg\"\n\
                 listing_delay = \"3s\"\n",
                page = sandbox::PAGE_ID,
                app = sandbox::ZALO_APP.0,
            ),
        )
        .unwrap();
        World {
            _dir: dir,
            root,
            config,
            outputs: Vec::new(),
        }
    }

    /// Writes `posts/name`, due now.
    pub fn post(&self, name: &str, title: &str, channels: &str, body: &str) {
        std::fs::write(
            self.root.join("posts").join(name),
            format!(
                "---\ntitle: {title:?}\nchannels: [{channels}]\npublish_at: now\n---\n{body}\n"
            ),
        )
        .unwrap();
    }

    /// Runs loa at debug level in `log_format`, with the planted environment plus `env`, keeps
    /// its output for the grep, and returns it.
    pub fn loa(
        &mut self,
        log_format: &str,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: &str,
    ) -> Output {
        let mut child = self
            .command(log_format)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("loa runs");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let place = format!("loa {} ({log_format} logs)", args.join(" "));
        self.outputs.push((
            format!("{place}: stdout"),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ));
        self.outputs.push((
            format!("{place}: stderr"),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{place} panicked"
        );
        out
    }

    /// loa with the config, `log_format`, debug logs and the planted environment: the sandbox's
    /// app secrets and first Zalo refresh token (the Page token comes from the store, or is given).
    pub fn command(&self, log_format: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_loa"));
        command
            .arg("--config")
            .arg(&self.config)
            .args(["--log-format", log_format])
            .current_dir(&self.root)
            .env("LOA_LOG", "debug")
            .env("LOA_FACEBOOK_APP_ID", sandbox::FACEBOOK_APP.0)
            .env("LOA_FACEBOOK_APP_SECRET", sandbox::FACEBOOK_APP.1)
            .env("LOA_ZALO_APP_SECRET", sandbox::ZALO_APP.1)
            .env("LOA_ZALO_REFRESH_TOKEN", sandbox::ZALO_FIRST_REFRESH_TOKEN)
            .env_remove("LOA_FACEBOOK_PAGE_TOKEN")
            .env_remove("LOA_CONFIG");
        command
    }

    /// `loa run` in the background with `env` added, its info-level log in `run.log`.
    pub fn spawn_run(&self, env: &[(&str, &str)]) -> Child {
        let log = std::fs::File::create(self.root.join("run.log")).unwrap();
        self.command("text")
            .arg("run")
            .env("LOA_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("loa run starts")
    }

    /// `data_dir`.
    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The token store.
    pub fn tokens(&self) -> PathBuf {
        self.data().join("tokens.json")
    }
}

/// Output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// How many deliveries the store in `data_dir` holds as published (0 before it exists).
pub fn published(data_dir: &Path) -> i64 {
    rusqlite::Connection::open(data_dir.join("loa.db"))
        .and_then(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM deliveries WHERE state = 'published'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap_or(0)
}
