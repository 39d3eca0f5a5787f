//! The alert sinks against fakes on 127.0.0.1 (issue 14): a small SMTP server that speaks
//! enough SMTP for lettre and keeps what it receives, and an axum webhook receiver that checks
//! the contract's body and verifies the signature. Then `loa alerts test` through the built
//! binary against both. Every test speaks Vietnamese (the language is process-wide, so all of
//! them set the same one), and no secret may show up in anything loa says.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use hmac::{Hmac, Mac};
use loa::alerts::{Alert, AlertSecrets, Kind, Sink, sinks};
use loa::config::{AlertsConfig, EmailSinkConfig, SmtpSecurity, WebhookSinkConfig};
use loa::i18n::{Language, set_language};
use secrecy::SecretString;
use sha2::Sha256;
use tokio::net::TcpListener;

use common::smtp::{Smtp, decode_words, fake_smtp, header, read_mail};

const SMTP_PASSWORD: &str = "smtp-PW-6c1f0e93";
const WEBHOOK_SECRET: &str = "whsec-SECRET-a7d2b4";

// ---- The fake webhook receiver.

/// What the receiver got: the signature header, the content type, the body.
type Posted = (Option<String>, Option<String>, Vec<u8>);

struct FakeHook {
    url: String,
    received: Arc<Mutex<Vec<Posted>>>,
}

/// A receiver answering `status` to every POST on `/hooks/loa`, keeping the signature and
/// content-type headers and the body.
async fn fake_hook(status: u16) -> FakeHook {
    fake_hook_after(status, std::time::Duration::ZERO).await
}

/// [`fake_hook`], answering only after `delay`.
async fn fake_hook_after(status: u16, delay: std::time::Duration) -> FakeHook {
    use axum::http::{HeaderMap, StatusCode};
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let app = axum::Router::new().route(
        "/hooks/loa",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                let get = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                store.lock().unwrap().push((
                    get("x-loa-signature"),
                    get("content-type"),
                    body.to_vec(),
                ));
                tokio::time::sleep(delay).await;
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    FakeHook {
        url: format!("http://{address}/hooks/loa"),
        received,
    }
}

/// Checks `signature` is `sha256=<hex HMAC-SHA256(body)>` with the secret, computed here
/// independently of loa.
fn verify(signature: &str, body: &[u8]) {
    let hex = signature.strip_prefix("sha256=").expect("sha256= prefix");
    let expected: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(body);
    mac.verify_slice(&expected)
        .expect("the signature is the body's HMAC-SHA256 with LOA_WEBHOOK_SECRET");
}

// ---- Building sinks.

fn email_config(port: u16) -> EmailSinkConfig {
    EmailSinkConfig {
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        security: SmtpSecurity::None,
        username: Some("loa@example.gov.vn".into()),
        from: "loa xã Thanh Kỳ <loa@example.gov.vn>".into(),
        to: vec![
            "vanhoa@example.gov.vn".into(),
            "chutich@example.gov.vn".into(),
        ],
    }
}

fn secrets() -> AlertSecrets {
    AlertSecrets {
        smtp_password: Some(SecretString::from(SMTP_PASSWORD)),
        webhook_secret: Some(SecretString::from(WEBHOOK_SECRET)),
    }
}

fn only_sink(
    email: Vec<EmailSinkConfig>,
    webhook: Vec<WebhookSinkConfig>,
    secrets: &AlertSecrets,
) -> Sink {
    let config = AlertsConfig {
        weekly_digest: None,
        email,
        webhook,
    };
    let mut all = sinks(&config, secrets);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn failed_delivery() -> Alert {
    Alert {
        kind: Kind::DeliveryFailed,
        at: "2026-12-01T07:03:00+07:00".into(),
        file: Some("posts/lich-tiep-dan.md".into()),
        title: Some("Lịch tiếp công dân của UBND xã Thanh Kỳ".into()),
        channel: Some("zalo".into()),
        state: Some("failed".into()),
        message: "Zalo từ chối bài viết: tiêu đề dài hơn 150 ký tự.".into(),
        fix: Some("Rút gọn tiêu đề rồi chạy loa retry posts/lich-tiep-dan.md.".into()),
        id: Some("42-1765000000".into()),
    }
}

fn no_secret_in(text: &str) {
    assert!(
        !text.contains(SMTP_PASSWORD),
        "the SMTP password leaked: {text}"
    );
    assert!(
        !text.contains(WEBHOOK_SECRET),
        "the webhook secret leaked: {text}"
    );
}

// ---- Email.

#[tokio::test]
async fn an_email_alert_arrives_with_its_vietnamese_intact() {
    set_language(Language::Vi);
    let smtp = fake_smtp(Smtp::Accept).await;
    let sink = only_sink(vec![email_config(smtp.port)], vec![], &secrets());
    assert_eq!(
        sink.label(),
        format!(
            "email tới vanhoa@example.gov.vn, chutich@example.gov.vn qua 127.0.0.1:{}",
            smtp.port
        )
    );
    sink.send(&failed_delivery()).await.expect("sent");

    let received = smtp.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(
        mail.login,
        Some(("loa@example.gov.vn".to_string(), SMTP_PASSWORD.to_string())),
        "logged in with LOA_SMTP_PASSWORD"
    );
    assert_eq!(mail.mail_from, "<loa@example.gov.vn>");
    assert_eq!(
        mail.rcpt_to,
        ["<vanhoa@example.gov.vn>", "<chutich@example.gov.vn>"]
    );
    // Everything on the wire is ASCII: the Vietnamese is MIME-encoded.
    assert!(mail.data.is_ascii(), "{}", mail.data);
    let (headers, body) = read_mail(&mail.data);
    assert_eq!(
        decode_words(header(&headers, "Subject").unwrap()),
        "[loa] Đăng bài lỗi: Lịch tiếp công dân của UBND xã Thanh Kỳ"
    );
    assert_eq!(
        decode_words(header(&headers, "From").unwrap()),
        "loa xã Thanh Kỳ <loa@example.gov.vn>"
    );
    assert_eq!(
        header(&headers, "Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(header(&headers, "MIME-Version"), Some("1.0"));
    assert!(header(&headers, "Date").is_some() && header(&headers, "Message-ID").is_some());
    assert!(
        matches!(
            header(&headers, "Content-Transfer-Encoding"),
            Some("quoted-printable" | "base64")
        ),
        "{headers:?}"
    );
    // (lettre ends the part with a line end of its own.)
    assert_eq!(
        body.trim_end(),
        "Zalo từ chối bài viết: tiêu đề dài hơn 150 ký tự.\n\n\
         Bài: Lịch tiếp công dân của UBND xã Thanh Kỳ (posts/lich-tiep-dan.md)\n\
         Kênh: zalo\n\
         Trạng thái: failed\n\
         Cách xử lý: Rút gọn tiêu đề rồi chạy loa retry posts/lich-tiep-dan.md.\n\
         Thời điểm: Thứ 3 01/12/2026 07:03 (+07:00)\n\n— loa"
    );
    no_secret_in(&mail.data);
}

#[tokio::test]
async fn a_wrong_smtp_password_is_told_plainly_and_not_retried() {
    set_language(Language::Vi);
    let smtp = fake_smtp(Smtp::WrongPassword).await;
    let sink = only_sink(vec![email_config(smtp.port)], vec![], &secrets());
    let error = sink.send(&failed_delivery()).await.unwrap_err();
    assert!(
        error.message.contains("sai tên đăng nhập hoặc mật khẩu"),
        "{}",
        error.message
    );
    assert!(error.message.contains("535"), "{}", error.message);
    assert!(!error.retryable);
    no_secret_in(&error.message);
    no_secret_in(&format!("{error:?}"));
    assert!(smtp.received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_rejected_address_is_told_plainly() {
    set_language(Language::Vi);
    let smtp = fake_smtp(Smtp::RejectRecipient).await;
    let sink = only_sink(vec![email_config(smtp.port)], vec![], &secrets());
    let error = sink.send(&failed_delivery()).await.unwrap_err();
    assert!(
        error.message.contains("từ chối địa chỉ email"),
        "{}",
        error.message
    );
    assert!(error.message.contains("550"), "{}", error.message);
    assert!(!error.retryable);
}

#[tokio::test]
async fn nothing_listening_is_told_plainly_and_retried() {
    set_language(Language::Vi);
    // A port that was free a moment ago: nothing listens there now.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sink = only_sink(vec![email_config(port)], vec![], &secrets());
    let error = sink.send(&failed_delivery()).await.unwrap_err();
    assert!(
        error.message.contains("không kết nối được"),
        "{}",
        error.message
    );
    assert!(error.retryable);
    let hook = only_sink(
        vec![],
        vec![WebhookSinkConfig {
            url: format!("http://127.0.0.1:{port}/hooks/loa"),
        }],
        &secrets(),
    );
    let error = hook.send(&failed_delivery()).await.unwrap_err();
    assert!(
        error.message.contains("không kết nối được"),
        "{}",
        error.message
    );
    assert!(error.retryable);
}

#[tokio::test]
async fn a_tls_mismatch_is_told_as_a_tls_error() {
    set_language(Language::Vi);
    // The fake speaks plain SMTP and offers no STARTTLS.
    let smtp = fake_smtp(Smtp::Accept).await;
    for security in [SmtpSecurity::Tls, SmtpSecurity::StartTls] {
        let config = EmailSinkConfig {
            security,
            ..email_config(smtp.port)
        };
        let sink = only_sink(vec![config], vec![], &secrets());
        let error = sink.send(&failed_delivery()).await.unwrap_err();
        assert!(
            error.message.contains("TLS"),
            "{security:?}: {}",
            error.message
        );
        assert!(error.message.contains("security"), "{}", error.message);
        no_secret_in(&error.message);
    }
    assert!(smtp.received.lock().unwrap().is_empty());
    // An https address served in plain http.
    let hook = fake_hook(200).await;
    let url = hook.url.replace("http://", "https://");
    let sink = only_sink(vec![], vec![WebhookSinkConfig { url }], &secrets());
    let error = sink.send(&failed_delivery()).await.unwrap_err();
    assert!(error.message.contains("TLS"), "{}", error.message);
    assert!(hook.received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_login_without_password_names_the_variable_and_sends_nothing() {
    set_language(Language::Vi);
    let smtp = fake_smtp(Smtp::Accept).await;
    let sink = only_sink(
        vec![email_config(smtp.port)],
        vec![],
        &AlertSecrets::default(),
    );
    let error = sink.send(&failed_delivery()).await.unwrap_err();
    assert!(
        error.message.contains("LOA_SMTP_PASSWORD"),
        "{}",
        error.message
    );
    assert!(!error.retryable);
    assert!(smtp.received.lock().unwrap().is_empty());
}

// ---- Webhook.

#[tokio::test]
async fn a_webhook_alert_is_the_contracts_body_signed_with_the_secret() {
    set_language(Language::Vi);
    let hook = fake_hook(200).await;
    let sink = only_sink(
        vec![],
        vec![WebhookSinkConfig {
            url: hook.url.clone(),
        }],
        &secrets(),
    );
    assert_eq!(sink.label(), format!("webhook {}", hook.url));
    let alert = failed_delivery();
    sink.send(&alert).await.expect("sent");

    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (signature, content_type, body) = &received[0];
    assert!(
        content_type
            .as_deref()
            .unwrap()
            .starts_with("application/json")
    );
    verify(signature.as_deref().expect("signed"), body);
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "kind", "at", "file", "title", "channel", "state", "message", "fix"
        ]
    );
    assert_eq!(
        json,
        serde_json::json!({
            "kind": "delivery_failed",
            "at": "2026-12-01T07:03:00+07:00",
            "file": "posts/lich-tiep-dan.md",
            "title": "Lịch tiếp công dân của UBND xã Thanh Kỳ",
            "channel": "zalo",
            "state": "failed",
            "message": "Zalo từ chối bài viết: tiêu đề dài hơn 150 ký tự.",
            "fix": "Rút gọn tiêu đề rồi chạy loa retry posts/lich-tiep-dan.md.",
        })
    );
    no_secret_in(&String::from_utf8_lossy(body));
}

#[tokio::test]
async fn a_webhook_without_secret_is_not_signed_and_nulls_stay_null() {
    set_language(Language::Vi);
    let hook = fake_hook(204).await;
    let sink = only_sink(
        vec![],
        vec![WebhookSinkConfig {
            url: hook.url.clone(),
        }],
        &AlertSecrets::default(),
    );
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T07:03:00+07:00").unwrap();
    sink.send(&Alert::test(now)).await.expect("sent");
    let received = hook.received.lock().unwrap().clone();
    let (signature, _, body) = &received[0];
    assert_eq!(signature, &None);
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["kind"], "test");
    assert_eq!(json["file"], serde_json::Value::Null);
    assert_eq!(json["fix"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_webhook_answering_500_is_retryable_and_404_is_not() {
    set_language(Language::Vi);
    let hook = fake_hook(500).await;
    let sink = only_sink(
        vec![],
        vec![WebhookSinkConfig {
            url: hook.url.clone(),
        }],
        &secrets(),
    );
    let error = sink.send(&failed_delivery()).await.unwrap_err();
    assert!(error.retryable);
    assert!(error.message.contains("HTTP 500"), "{}", error.message);
    assert!(error.message.contains("lỗi máy chủ"), "{}", error.message);
    no_secret_in(&error.message);

    let hook = fake_hook(404).await;
    let sink = only_sink(
        vec![],
        vec![WebhookSinkConfig {
            url: hook.url.clone(),
        }],
        &secrets(),
    );
    let error = sink.send(&failed_delivery()).await.unwrap_err();
    assert!(!error.retryable);
    assert!(error.message.contains("HTTP 404"), "{}", error.message);
}

// ---- `loa alerts test` through the binary.

fn config_file(dir: &std::path::Path, alerts: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("config")).unwrap();
    let path = dir.join("config/loa.toml");
    std::fs::write(&path, format!("language = \"vi\"\n{alerts}")).unwrap();
    path
}

/// Runs `loa --config PATH alerts test` off the runtime's threads (the fakes run on them);
/// returns the exit code, standard output and standard error.
async fn alerts_test(config: std::path::PathBuf) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let output = Command::cargo_bin("loa")
            .unwrap()
            .env_remove("LOA_CONFIG")
            .env_remove("LOA_LOG")
            .env("LOA_SMTP_PASSWORD", SMTP_PASSWORD)
            .env("LOA_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .arg("--config")
            .arg(&config)
            .args(["alerts", "test"])
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    })
    .await
    .unwrap()
}

fn sinks_section(smtp_port: u16, hook_url: &str) -> String {
    format!(
        "[alerts]\n[[alerts.email]]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp_port}\nsecurity = \"none\"\nusername = \"loa@example.gov.vn\"\nfrom = \"loa <loa@example.gov.vn>\"\nto = [\"vanhoa@example.gov.vn\"]\n[[alerts.webhook]]\nurl = \"{hook_url}\"\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loa_alerts_test_says_per_sink_what_happened() {
    set_language(Language::Vi);
    let dir = tempfile::tempdir().unwrap();

    // Both sinks take the alert: one line each, exit 0.
    let smtp = fake_smtp(Smtp::Accept).await;
    let hook = fake_hook(200).await;
    let config = config_file(dir.path(), &sinks_section(smtp.port, &hook.url));
    let (code, out, err) = alerts_test(config).await;
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "✓ email tới vanhoa@example.gov.vn qua 127.0.0.1:{}: đã gửi",
                smtp.port
            ),
            format!("✓ webhook {}: đã gửi", hook.url),
        ]
    );
    no_secret_in(&out);
    no_secret_in(&err);
    let mails = smtp.received.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let (headers, body) = read_mail(&mails[0].data);
    assert_eq!(
        decode_words(header(&headers, "Subject").unwrap()),
        "[loa] Cảnh báo thử"
    );
    assert!(body.starts_with("Đây là cảnh báo thử của loa."), "{body}");
    let posts = hook.received.lock().unwrap().clone();
    let (signature, _, body) = &posts[0];
    verify(signature.as_deref().unwrap(), body);
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["kind"], "test");
    assert!(json["at"].as_str().unwrap().ends_with("+07:00"), "{json}");

    // A wrong password: that line says so, the webhook's still went, exit 1.
    let smtp = fake_smtp(Smtp::WrongPassword).await;
    let config = config_file(dir.path(), &sinks_section(smtp.port, &hook.url));
    let (code, out, err) = alerts_test(config).await;
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("✗ email tới vanhoa@example.gov.vn")
            && lines[0].contains("sai tên đăng nhập hoặc mật khẩu (SMTP 535)"),
        "{out}"
    );
    assert_eq!(lines[1], format!("✓ webhook {}: đã gửi", hook.url));
    no_secret_in(&out);
    no_secret_in(&err);

    // A receiver that fails, and nothing listening for mail.
    let failing = fake_hook(503).await;
    let config = config_file(dir.path(), &sinks_section(1, &failing.url));
    let (code, out, err) = alerts_test(config).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.lines().next().unwrap().contains("không kết nối được"),
        "{out}"
    );
    assert!(out.lines().nth(1).unwrap().contains("HTTP 503"), "{out}");
    no_secret_in(&out);
    no_secret_in(&err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loa_alerts_test_never_hangs_on_a_silent_server() {
    set_language(Language::Vi);
    let dir = tempfile::tempdir().unwrap();
    let smtp = fake_smtp(Smtp::Silent).await;
    let hook = fake_hook_after(200, std::time::Duration::from_secs(30)).await;
    let config = config_file(dir.path(), &sinks_section(smtp.port, &hook.url));
    let started = std::time::Instant::now();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        let output = Command::cargo_bin("loa")
            .unwrap()
            .env_remove("LOA_CONFIG")
            .env_remove("LOA_LOG")
            // The waits, shortened as the proof suites do (20-30 s in service).
            .env("LOA_HTTP_TIMEOUT", "1")
            .env("LOA_SMTP_PASSWORD", SMTP_PASSWORD)
            .arg("--config")
            .arg(&config)
            .args(["alerts", "test"])
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    })
    .await
    .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with('✗') && l.contains("quá thời gian chờ")),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loa_alerts_test_without_sinks_says_so_and_exits_2() {
    set_language(Language::Vi);
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = alerts_test(config_file(dir.path(), "")).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("chưa có mục [alerts]"), "{err}");
    assert!(err.contains("cách sửa"), "{err}");
    let (code, _, err) = alerts_test(config_file(dir.path(), "[alerts]\n")).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("[[alerts.email]]"), "{err}");
    // A password written in the file is refused as a config error, and not repeated.
    let (code, out, err) = alerts_test(config_file(
        dir.path(),
        &format!("[alerts]\n[[alerts.email]]\nsmtp_host = \"127.0.0.1\"\npassword = \"{SMTP_PASSWORD}\"\n"),
    ))
    .await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("LOA_SMTP_PASSWORD"), "{err}");
    no_secret_in(&out);
    no_secret_in(&err);
}
