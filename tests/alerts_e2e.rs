//! Alerts through the built `loa run` against the sandbox and a webhook receiver on 127.0.0.1
//! (issue 14): a channel that needs a new token alerts once — not again when loa restarts still
//! without one —, once more after it was connected anew and failed again; a refused post
//! alerts with its fix; a sink that is down gets the alert when it is back; a SIGKILL between
//! neither loses nor repeats one; the signature verifies; no secret is in any alert.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use loa::channel::Channel;
use loa::engine::Clock;
use loa::sandbox::{self, Faults, Sandbox};
use sha2::Sha256;

use common::smtp::{FakeSmtp, Smtp, decode_words, fake_smtp, header, read_mail};

const WEBHOOK_SECRET: &str = "whsec-e2e-5b7d1c";
const SMTP_PASSWORD: &str = "smtp-e2e-PW-31d9";

/// Each mail's decoded subject and body.
fn mails(smtp: &FakeSmtp) -> Vec<(String, String)> {
    smtp.received
        .lock()
        .unwrap()
        .iter()
        .map(|m| {
            let (headers, body) = read_mail(&m.data);
            (decode_words(header(&headers, "Subject").unwrap()), body)
        })
        .collect()
}

/// The receiver: what it took (bodies, each with a verified signature), and whether it is up.
#[derive(Clone, Default)]
struct Receiver {
    took: Arc<Mutex<Vec<serde_json::Value>>>,
    ids: Arc<Mutex<Vec<String>>>,
    down: Arc<Mutex<bool>>,
    refused: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn serve(&self) -> String {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let me = me.clone();
                async move {
                    if *me.down.lock().unwrap() {
                        *me.refused.lock().unwrap() += 1;
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let mut mac =
                        Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
                    mac.update(&body);
                    let want = format!(
                        "sha256={}",
                        mac.finalize()
                            .into_bytes()
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<String>()
                    );
                    let got = headers
                        .get("x-loa-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    assert_eq!(got, want, "the signature verifies");
                    me.ids.lock().unwrap().push(
                        headers
                            .get("x-loa-alert-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string(),
                    );
                    me.took
                        .lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).unwrap());
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/hook")
    }

    fn kinds(&self) -> Vec<String> {
        self.took
            .lock()
            .unwrap()
            .iter()
            .map(|b| b["kind"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    fn count(&self, kind: &str) -> usize {
        self.kinds().iter().filter(|k| *k == kind).count()
    }
}

struct Commune {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
    sandbox: Arc<Sandbox>,
    _server: tokio::task::JoinHandle<()>,
}

/// Kills the service when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Commune {
    async fn new(hook: &str, smtp_port: u16) -> Commune {
        let sandbox = Sandbox::new(Clock::system(), Faults::default());
        let (addr, server) = sandbox::serve(sandbox.clone(), 0).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("posts")).unwrap();
        let url = format!("http://{addr}");
        let config = root.join("loa.toml");
        std::fs::write(
            &config,
            format!(
                "language = \"vi\"\nposts_dir = \"posts\"\ndata_dir = \"data\"\n\
                 [zalo]\napp_id = \"{app}\"\nopenapi_url = \"{url}\"\noauth_url = \"{url}\"\n\
                 author = \"UBND xã Thanh Kỳ\"\ndefault_cover_url = \"https://example.gov.vn/logo.jpg\"\n\
                 listing_delay = \"2s\"\n\
                 [alerts]\n[[alerts.webhook]]\nurl = \"{hook}\"\n\
                 [[alerts.email]]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp_port}\nsecurity = \"none\"\n\
                 username = \"loa@example.gov.vn\"\nfrom = \"loa <loa@example.gov.vn>\"\nto = [\"vanhoa@example.gov.vn\"]\n",
                app = sandbox::ZALO_APP.0,
            ),
        )
        .unwrap();
        Commune {
            _dir: dir,
            root,
            config,
            sandbox,
            _server: server,
        }
    }

    fn loa(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_loa"));
        cmd.arg("--config")
            .arg(&self.config)
            .current_dir(&self.root)
            .env("LOA_ZALO_APP_SECRET", sandbox::ZALO_APP.1)
            .env("LOA_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("LOA_SMTP_PASSWORD", SMTP_PASSWORD)
            .env("LOA_ALERT_RETRY", "300ms")
            .env("LOA_LOG", "info")
            .env_remove("LOA_ZALO_REFRESH_TOKEN")
            .env_remove("LOA_CONFIG");
        cmd
    }

    fn run(&self) -> Running {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("loa.log"))
            .unwrap();
        Running(
            self.loa()
                .arg("run")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("loa run starts"),
        )
    }

    fn auth(&self, refresh_token: &str) {
        let out = self
            .loa()
            .args(["auth", "zalo", "--refresh-token", refresh_token])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn post(&self, file: &str, title: &str) {
        std::fs::write(
            self.root.join("posts").join(file),
            format!(
                "---\ntitle: {title:?}\nchannels: [zalo]\npublish_at: now\n---\nBà con chú ý.\n"
            ),
        )
        .unwrap();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("loa.log")).unwrap_or_default()
    }

    fn status(&self) -> String {
        let out = self.loa().args(["status"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

async fn until(what: &str, c: &Commune, r: &Receiver, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "{what}: not within 40 s; received {:?}; log:\n{}",
            r.kinds(),
            c.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Long enough for a service to have sent what it would send.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_alert_arrives_once_across_restarts_kills_and_a_sink_that_was_down() {
    let receiver = Receiver::default();
    let hook = receiver.serve().await;
    let smtp = fake_smtp(Smtp::Accept).await;
    let c = Commune::new(&hook, smtp.port).await;

    // No Zalo token at all: the channel needs re-authorization, told once with the command.
    let run = c.run();
    until("needs_reauth alert", &c, &receiver, || {
        receiver.count("needs_reauth") == 1
    })
    .await;
    let first = receiver.took.lock().unwrap()[0].clone();
    assert_eq!(first["channel"], "zalo");
    assert!(
        first["fix"]
            .as_str()
            .unwrap()
            .contains("loa auth zalo --url"),
        "{first}"
    );
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "kind", "at", "file", "title", "channel", "state", "message", "fix"
        ],
        "the contract's body"
    );
    // The same, once, by mail: Vietnamese intact after MIME decoding, the command in it.
    until("the needs_reauth mail", &c, &receiver, || {
        mails(&smtp).len() == 1
    })
    .await;
    let (subject, body) = mails(&smtp)[0].clone();
    assert!(subject.contains("Cần kết nối lại tài khoản"), "{subject}");
    assert!(body.contains("loa auth zalo --url"), "{body}");
    assert!(body.contains("cần mã truy cập mới"), "{body}");
    // Killed (once the sends were recorded: a kill between a send and its record may repeat
    // that one alert, the documented limit) and started again, still without a token: nothing
    // new, nothing repeated.
    settle().await;
    drop(run);
    let run = c.run();
    settle().await;
    assert_eq!(receiver.kinds(), ["needs_reauth"]);
    assert_eq!(mails(&smtp).len(), 1);
    drop(run);

    // Connected anew (with a token the platform will refuse), and a post: one more alert.
    c.auth("a-refresh-token-zalo-does-not-know");
    c.post("01-hop.md", "Họp dân thôn Đồng Xoài");
    let run = c.run();
    until("a second needs_reauth", &c, &receiver, || {
        receiver.count("needs_reauth") == 2
    })
    .await;
    until("the second needs_reauth mail", &c, &receiver, || {
        mails(&smtp).len() == 2
    })
    .await;
    settle().await;
    assert_eq!(receiver.count("needs_reauth"), 2, "{:?}", receiver.kinds());
    assert_eq!(mails(&smtp).len(), 2);
    drop(run);

    // Connected for real; the sink goes down; the platform refuses the next post for good.
    c.auth(sandbox::ZALO_FIRST_REFRESH_TOKEN);
    *receiver.down.lock().unwrap() = true;
    c.sandbox.refuse_publishing(Channel::Zalo, true);
    let run = c.run();
    c.post("02-sat-lo.md", "Cảnh báo sạt lở ở thôn Đắk Rơ");
    until("the sink refused a try", &c, &receiver, || {
        *receiver.refused.lock().unwrap() >= 1
    })
    .await;
    // The mail sink is up: both refused posts are mailed (the first post waited for its token).
    until("the failed posts' mails", &c, &receiver, || {
        mails(&smtp).len() == 4
    })
    .await;
    settle().await;
    assert!(
        c.status().contains("Cảnh báo chưa gửi được"),
        "status shows the undelivered alert:\n{}",
        c.status()
    );
    // Killed while the webhook's alerts wait; started again; the sink comes back: each arrives
    // once, and the mails are not sent again.
    let mut run = run;
    unsafe_kill(&mut run);
    drop(run);
    c.sandbox.refuse_publishing(Channel::Zalo, false);
    *receiver.down.lock().unwrap() = false;
    let run = c.run();
    // Both waiting posts were refused (the first waited for its token): one alert each.
    until(
        "delivery_failed after the sink came back",
        &c,
        &receiver,
        || receiver.count("delivery_failed") >= 2,
    )
    .await;
    settle().await;
    drop(run);
    let failed: Vec<serde_json::Value> = receiver
        .took
        .lock()
        .unwrap()
        .iter()
        .filter(|b| b["kind"] == "delivery_failed")
        .cloned()
        .collect();
    let mut files: Vec<&str> = failed.iter().map(|b| b["file"].as_str().unwrap()).collect();
    files.sort();
    assert_eq!(
        files,
        ["posts/01-hop.md", "posts/02-sat-lo.md"],
        "once each"
    );
    let f = failed
        .iter()
        .find(|b| b["file"] == "posts/02-sat-lo.md")
        .unwrap();
    assert_eq!(f["title"], "Cảnh báo sạt lở ở thôn Đắk Rơ");
    assert_eq!(f["file"], "posts/02-sat-lo.md");
    assert_eq!(f["state"], "failed");
    assert!(f["message"].as_str().unwrap().contains("-248"), "{f}");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("loa retry posts/02-sat-lo.md --channel zalo"),
        "{f}"
    );
    assert!(f["at"].as_str().unwrap().ends_with("+07:00"), "{f}");
    assert_eq!(receiver.count("needs_reauth"), 2, "{:?}", receiver.kinds());

    // No secret in anything an alert carried, nor in the log.
    let everything = format!("{:?}\n{}", receiver.took.lock().unwrap(), c.log());
    let mut ids = receiver.ids.lock().unwrap().clone();
    assert!(
        ids.iter().all(|id| !id.is_empty()),
        "every alert has its id"
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), receiver.kinds().len(), "no id twice");
    let subjects: Vec<String> = mails(&smtp).into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        subjects.len(),
        4,
        "two needs_reauth, two failed posts: {subjects:?}"
    );
    for (_, body) in mails(&smtp) {
        assert!(!body.contains(SMTP_PASSWORD) && !body.contains(WEBHOOK_SECRET));
    }
    for secret in [
        SMTP_PASSWORD,
        WEBHOOK_SECRET,
        sandbox::ZALO_APP.1,
        sandbox::ZALO_FIRST_REFRESH_TOKEN,
    ] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
}

/// SIGKILL, as a power cut would stop it.
fn unsafe_kill(run: &mut Running) {
    let _ = Command::new("kill")
        .args(["-9", &run.0.id().to_string()])
        .status();
    let _ = run.0.wait();
}
