//! The email sink: one plain-text mail per alert to an `[[alerts.email]]`'s `to` list, over SMTP
//! with STARTTLS or TLS (rustls; `none` only on this machine), logged in with `username` and
//! `LOA_SMTP_PASSWORD`. lettre writes the MIME: the Vietnamese subject as RFC 2047 encoded
//! words, the UTF-8 body as quoted-printable or base64, whichever it finds shorter.

use std::time::Duration;

use chrono::{DateTime, Datelike, Timelike};
use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use super::sink::{Failure, SendError};
use super::{Alert, Kind};
use crate::config::{EmailSinkConfig, SmtpSecurity};
use crate::i18n::tr;

/// How long connecting may take (lettre bounds only the connection by itself).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a whole send may take: connecting, logging in, the mail, however slow the server
/// answers each step. Shortened by `LOA_HTTP_TIMEOUT` in the proof suites.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// One `[[alerts.email]]`.
#[derive(Debug)]
pub struct EmailSink {
    config: EmailSinkConfig,
    password: Option<SecretString>,
}

impl EmailSink {
    /// The sink of `config`, logging in with `password` (`LOA_SMTP_PASSWORD`) when the config
    /// has a `username`.
    pub fn new(config: &EmailSinkConfig, password: Option<SecretString>) -> EmailSink {
        EmailSink {
            config: config.clone(),
            password,
        }
    }

    /// `email:<to,…>|<host>:<port>`: stable for the same config, no secret in it.
    pub fn id(&self) -> String {
        let c = &self.config;
        format!("email:{}|{}:{}", c.to.join(","), c.smtp_host, c.smtp_port)
    }

    /// "email to <to, …> via <host>:<port>", in the officer's language.
    pub fn label(&self) -> String {
        let c = &self.config;
        let to = c.to.join(", ");
        tr(
            format!("email to {to} via {}:{}", c.smtp_host, c.smtp_port),
            format!("email tới {to} qua {}:{}", c.smtp_host, c.smtp_port),
        )
    }

    /// Writes and sends the mail for `alert`.
    pub async fn send(&self, alert: &Alert) -> Result<(), SendError> {
        let message = self.message(alert).map_err(SendError::from)?;
        let transport = self.transport()?;
        let wait = crate::platform::http::shortened(SEND_TIMEOUT);
        match tokio::time::timeout(wait, transport.send(message)).await {
            Err(_) => Err(Failure::Timeout(wait.as_secs().max(1)).into()),
            Ok(Err(e)) => Err(failure(&e).into()),
            Ok(Ok(_)) => Ok(()),
        }
    }

    fn message(&self, alert: &Alert) -> Result<Message, Failure> {
        let c = &self.config;
        let from: Mailbox = c.from.parse().map_err(|_| Failure::BadMessage)?;
        // The Message-ID's right side is the sender's domain: some filters distrust `localhost`.
        // A stored alert keeps its id across resends (a mail client can tell the repeat); a
        // test mail gets a fresh one.
        let id = match &alert.id {
            Some(alert_id) => format!("<loa.alert.{alert_id}@{}>", from.email.domain()),
            None => format!(
                "<loa.{}.{:016x}@{}>",
                chrono::Utc::now().timestamp(),
                fastrand::u64(..),
                from.email.domain()
            ),
        };
        let mut builder = Message::builder()
            .from(from)
            .subject(subject(alert))
            .message_id(Some(id));
        for to in &c.to {
            builder = builder.to(to.parse().map_err(|_| Failure::BadMessage)?);
        }
        // A single `text/plain; charset=utf-8` part, so that the mail says `MIME-Version: 1.0`.
        builder
            .singlepart(SinglePart::plain(body(alert)))
            .map_err(|_| Failure::BadMessage)
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let c = &self.config;
        type Smtp = AsyncSmtpTransport<Tokio1Executor>;
        let builder = match c.security {
            SmtpSecurity::StartTls => Smtp::starttls_relay(&c.smtp_host),
            SmtpSecurity::Tls => Smtp::relay(&c.smtp_host),
            SmtpSecurity::None => Ok(Smtp::builder_dangerous(&c.smtp_host)),
        }
        .map_err(|_| SendError::from(Failure::SmtpTls))?;
        let connect = crate::platform::http::shortened(CONNECT_TIMEOUT);
        let mut builder = builder.port(c.smtp_port).timeout(Some(connect));
        if let Some(user) = &c.username {
            let Some(password) = &self.password else {
                return Err(Failure::NoPassword.into());
            };
            builder = builder
                .credentials(Credentials::new(
                    user.clone(),
                    password.expose_secret().to_string(),
                ))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Ok(builder.build())
    }
}

/// What a lettre error means for the officer. Its text is looked at only to tell kinds apart;
/// it is never shown.
fn failure(e: &lettre::transport::smtp::Error) -> Failure {
    if let Some(code) = e.status() {
        let code = u16::from(code);
        return match code {
            535 => Failure::WrongPassword,
            530 | 534 | 538 => Failure::LoginRefused(code),
            501 | 550 | 551 | 553 | 555 => Failure::AddressRejected(code),
            400..=499 => Failure::ServerBusy(code),
            _ => Failure::ServerRefused(code),
        };
    }
    let mut text = String::new();
    let mut io_kind = None;
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(cause) = source {
        text.push_str(&cause.to_string().to_lowercase());
        text.push(' ');
        if io_kind.is_none()
            && let Some(io) = cause.downcast_ref::<std::io::Error>()
        {
            io_kind = Some(io.kind());
        }
        source = cause.source();
    }
    use std::io::ErrorKind as K;
    if e.is_timeout() || io_kind == Some(K::TimedOut) {
        Failure::Timeout(
            crate::platform::http::shortened(CONNECT_TIMEOUT)
                .as_secs()
                .max(1),
        )
    } else if e.is_tls()
        || ["tls", "certificate", "handshake", "corrupt message"]
            .iter()
            .any(|w| text.contains(w))
    {
        Failure::SmtpTls
    } else if io_kind == Some(K::ConnectionRefused) {
        Failure::Refused
    } else if ["lookup", "resolve", "name or service", "dns"]
        .iter()
        .any(|w| text.contains(w))
    {
        Failure::AddressNotFound
    } else if text.contains("authentication mechanism") {
        Failure::LoginRefused(0)
    } else if text.contains("connection error") {
        Failure::CannotConnect
    } else {
        Failure::ConnectionLost
    }
}

/// The mail's subject: `[loa] Đăng bài lỗi: <title>`, or the channel when there is no title.
pub fn subject(alert: &Alert) -> String {
    let about = alert.title.as_deref().or(alert.channel.as_deref());
    match about {
        Some(about) => format!("[loa] {}: {about}", alert.kind.headline()),
        None => format!("[loa] {}", alert.kind.headline()),
    }
}

/// The mail's text: what happened, the post, the channel, the state, the fix and the time.
pub fn body(alert: &Alert) -> String {
    let mut lines = vec![alert.message.clone(), String::new()];
    let field = |en: &str, vi: &str, value: &str| format!("{}: {value}", tr(en, vi));
    match (&alert.title, &alert.file) {
        (Some(title), Some(file)) => lines.push(field("Post", "Bài", &format!("{title} ({file})"))),
        (Some(title), None) => lines.push(field("Post", "Bài", title)),
        (None, Some(file)) => lines.push(field("Post", "Bài", file)),
        (None, None) => {}
    }
    if let Some(channel) = &alert.channel {
        lines.push(field("Channel", "Kênh", channel));
    }
    if let Some(state) = &alert.state {
        lines.push(field("State", "Trạng thái", state));
    }
    if let Some(fix) = &alert.fix {
        lines.push(field("What to do", "Cách xử lý", fix));
    }
    lines.push(field("Time", "Thời điểm", &local_time(&alert.at)));
    lines.push(String::new());
    lines.push(match alert.kind {
        Kind::Test => tr(
            "— loa (a test: nothing needs you)",
            "— loa (tin thử: không có việc gì cần xử lý)",
        )
        .to_string(),
        _ => "— loa".to_string(),
    });
    lines.join("\n") + "\n"
}

/// `2026-12-01T07:03:00+07:00` as the officer reads it: `Thứ 3 01/12/2026 07:03 (+07:00)`.
fn local_time(at: &str) -> String {
    let Ok(time) = DateTime::parse_from_rfc3339(at) else {
        return at.to_string();
    };
    let slot = crate::config::Slot {
        weekday: time.weekday(),
        time: chrono::NaiveTime::from_hms_opt(time.hour(), time.minute(), 0).unwrap_or_default(),
    };
    // The slot reads "Thứ 3 07:03": the date goes between the day and the time.
    let text = slot.to_string();
    let (day, clock) = text.rsplit_once(' ').unwrap_or((&text, ""));
    format!(
        "{day} {} {clock} ({})",
        time.format("%d/%m/%Y"),
        time.offset()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        Alert {
            kind: Kind::DeliveryFailed,
            at: "2026-12-01T07:03:00+07:00".into(),
            file: Some("posts/x.md".into()),
            title: Some("Chuyển đổi số".into()),
            channel: Some("zalo".into()),
            state: Some("failed".into()),
            message: "Zalo refused the article.".into(),
            fix: Some("Shorten the title.".into()),
            id: Some("7-1765000000".into()),
        }
    }

    #[test]
    fn the_subject_names_the_kind_and_the_title() {
        assert_eq!(subject(&alert()), "[loa] Delivery failed: Chuyển đổi số");
        let mut a = alert();
        a.title = None;
        a.kind = Kind::NeedsReauth;
        assert_eq!(subject(&a), "[loa] Account must be reconnected: zalo");
    }

    #[test]
    fn the_body_says_everything_the_alert_holds() {
        let text = body(&alert());
        assert_eq!(
            text,
            "Zalo refused the article.\n\nPost: Chuyển đổi số (posts/x.md)\nChannel: zalo\nState: failed\nWhat to do: Shorten the title.\nTime: Tue 01/12/2026 07:03 (+07:00)\n\n— loa\n"
        );
    }

    #[test]
    fn the_label_and_id_hold_no_password() {
        let config = EmailSinkConfig {
            smtp_host: "smtp.example.gov.vn".into(),
            smtp_port: 587,
            security: SmtpSecurity::StartTls,
            username: Some("loa@example.gov.vn".into()),
            from: "loa <loa@example.gov.vn>".into(),
            to: vec!["vanhoa@example.gov.vn".into()],
        };
        let sink = EmailSink::new(&config, Some(SecretString::from("hunter2")));
        assert_eq!(
            sink.id(),
            "email:vanhoa@example.gov.vn|smtp.example.gov.vn:587"
        );
        assert_eq!(
            sink.label(),
            "email to vanhoa@example.gov.vn via smtp.example.gov.vn:587"
        );
        assert!(!format!("{sink:?}").contains("hunter2"));
    }
}
