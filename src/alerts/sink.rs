//! A configured sink (an email list or a webhook), the secrets the sinks take from the
//! environment, and the one place that words a failed send and decides whether it is worth
//! trying again.

use secrecy::SecretString;

use super::Alert;
use super::email::EmailSink;
use super::webhook::WebhookSink;
use crate::config::AlertsConfig;
use crate::i18n::tr;

/// The environment variable holding the SMTP password of every `[[alerts.email]]` sink.
pub const SMTP_PASSWORD_ENV: &str = "LOA_SMTP_PASSWORD";

/// The environment variable holding the key that signs every webhook body.
pub const WEBHOOK_SECRET_ENV: &str = "LOA_WEBHOOK_SECRET";

/// The sinks' secrets, which only the environment holds (never the config file).
#[derive(Clone, Debug, Default)]
pub struct AlertSecrets {
    /// `LOA_SMTP_PASSWORD`: the password of the `[[alerts.email]]` sinks' `username`.
    pub smtp_password: Option<SecretString>,
    /// `LOA_WEBHOOK_SECRET`: the key of the `X-Loa-Signature` HMAC; no signature without it.
    pub webhook_secret: Option<SecretString>,
}

impl AlertSecrets {
    /// Reads `LOA_SMTP_PASSWORD` and `LOA_WEBHOOK_SECRET`; an empty variable counts as unset.
    pub fn from_env() -> AlertSecrets {
        let read = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .map(SecretString::from)
        };
        AlertSecrets {
            smtp_password: read(SMTP_PASSWORD_ENV),
            webhook_secret: read(WEBHOOK_SECRET_ENV),
        }
    }
}

/// One configured sink.
#[derive(Debug)]
pub enum Sink {
    /// An `[[alerts.email]]`: one mail to its `to` list.
    Email(EmailSink),
    /// An `[[alerts.webhook]]`: one JSON POST.
    Webhook(WebhookSink),
}

impl Sink {
    /// A key for this sink that stays the same across restarts for the same config, e.g.
    /// `email:vanhoa@example.gov.vn|smtp.example.gov.vn:587` or
    /// `webhook:https://example.gov.vn/hooks/loa`. No secret is part of it.
    pub fn id(&self) -> String {
        match self {
            Sink::Email(s) => s.id(),
            Sink::Webhook(s) => s.id(),
        }
    }

    /// What the officer reads about this sink, in their language, e.g.
    /// `email tới vanhoa@example.gov.vn qua smtp.example.gov.vn:587`.
    pub fn label(&self) -> String {
        match self {
            Sink::Email(s) => s.label(),
            Sink::Webhook(s) => s.label(),
        }
    }

    /// Sends `alert`, within a bounded wait.
    pub async fn send(&self, alert: &Alert) -> Result<(), SendError> {
        match self {
            Sink::Email(s) => s.send(alert).await,
            Sink::Webhook(s) => s.send(alert).await,
        }
    }
}

/// Every sink of `config`, emails first, in the file's order.
pub fn sinks(config: &AlertsConfig, secrets: &AlertSecrets) -> Vec<Sink> {
    let emails = config
        .email
        .iter()
        .map(|e| Sink::Email(EmailSink::new(e, secrets.smtp_password.clone())));
    let webhooks = config
        .webhook
        .iter()
        .map(|w| Sink::Webhook(WebhookSink::new(w, secrets.webhook_secret.clone())));
    emails.chain(webhooks).collect()
}

/// Why an alert did not go out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// What happened and what to do, in plain words in the officer's language; never a secret.
    pub message: String,
    /// Whether sending the same alert again later may work (a server down, busy or slow),
    /// rather than only after the officer changes something (a wrong password or address).
    pub retryable: bool,
}

/// How a send failed, before it is worded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// The sink has a `username` but `LOA_SMTP_PASSWORD` is not set.
    NoPassword,
    /// SMTP 535: the user name or password is wrong.
    WrongPassword,
    /// Another SMTP refusal at login (530, 534, 538…), or no login method in common.
    LoginRefused(u16),
    /// SMTP 550/551/553/501 and the like: an address was refused.
    AddressRejected(u16),
    /// A 4xx SMTP answer: the server asks to come back later.
    ServerBusy(u16),
    /// Another 5xx SMTP answer.
    ServerRefused(u16),
    /// The connection was refused: nothing listens at that host and port.
    Refused,
    /// The host's name could not be looked up.
    AddressNotFound,
    /// The connection could not be made for another reason.
    CannotConnect,
    /// No secure SMTP connection (STARTTLS or TLS) could be set up.
    SmtpTls,
    /// No secure HTTPS connection could be set up.
    HttpsTls,
    /// No answer within the wait (seconds).
    Timeout(u64),
    /// The connection broke before the end.
    ConnectionLost,
    /// The webhook answered with this HTTP status, not a success.
    Http(u16),
    /// The mail could not be written (an address loa could not use).
    BadMessage,
}

impl Failure {
    /// Whether the same alert may go out later without the officer changing anything.
    pub(super) fn retryable(self) -> bool {
        match self {
            Failure::ServerBusy(_)
            | Failure::Refused
            | Failure::AddressNotFound
            | Failure::CannotConnect
            | Failure::Timeout(_)
            | Failure::ConnectionLost => true,
            Failure::Http(status) => status >= 500 || status == 408 || status == 429,
            Failure::NoPassword
            | Failure::WrongPassword
            | Failure::LoginRefused(_)
            | Failure::AddressRejected(_)
            | Failure::ServerRefused(_)
            | Failure::SmtpTls
            | Failure::HttpsTls
            | Failure::BadMessage => false,
        }
    }

    /// What happened and what to do, in the officer's language.
    pub(super) fn words(self) -> String {
        match self {
            Failure::NoPassword => tr(
                format!("the SMTP server needs a password: set {SMTP_PASSWORD_ENV} in loa's environment"),
                format!("máy chủ SMTP cần mật khẩu: hãy đặt biến môi trường {SMTP_PASSWORD_ENV} cho loa"),
            ),
            Failure::WrongPassword => tr(
                format!("wrong user name or password (SMTP 535): check `username` in the config and {SMTP_PASSWORD_ENV}"),
                format!("sai tên đăng nhập hoặc mật khẩu (SMTP 535): hãy kiểm tra `username` trong cấu hình và {SMTP_PASSWORD_ENV}"),
            ),
            Failure::LoginRefused(code) => tr(
                format!("the server did not let loa log in (SMTP {code}): check that the account may send mail by SMTP"),
                format!("máy chủ không cho loa đăng nhập (SMTP {code}): hãy kiểm tra tài khoản có được phép gửi thư qua SMTP không"),
            ),
            Failure::AddressRejected(code) => tr(
                format!("the server rejected an address (SMTP {code}): check `from` and `to` in the config"),
                format!("máy chủ từ chối địa chỉ email (SMTP {code}): hãy kiểm tra `from` và `to` trong cấu hình"),
            ),
            Failure::ServerBusy(code) => tr(
                format!("the server asked to try again later (SMTP {code})"),
                format!("máy chủ yêu cầu thử lại sau (SMTP {code})"),
            ),
            Failure::ServerRefused(code) => tr(
                format!("the server refused the mail (SMTP {code})"),
                format!("máy chủ từ chối thư (SMTP {code})"),
            ),
            Failure::Refused => tr(
                "cannot connect: the server refused the connection (check the address and port in the config, and that the server is running)".to_string(),
                "không kết nối được: máy chủ từ chối kết nối (hãy kiểm tra địa chỉ, cổng trong cấu hình và máy chủ có đang chạy không)".to_string(),
            ),
            Failure::AddressNotFound => tr(
                "cannot connect: the server's name was not found (check the Internet and the address in the config)".to_string(),
                "không kết nối được: không tìm thấy máy chủ (hãy kiểm tra mạng Internet và địa chỉ trong cấu hình)".to_string(),
            ),
            Failure::CannotConnect => tr(
                "cannot connect to the server (check the Internet)".to_string(),
                "không kết nối được tới máy chủ (hãy kiểm tra mạng Internet)".to_string(),
            ),
            Failure::SmtpTls => tr(
                "no secure connection (TLS error): check `security` (starttls for port 587, tls for port 465) and the computer's date and time".to_string(),
                "lỗi kết nối bảo mật (TLS): hãy kiểm tra `security` (starttls với cổng 587, tls với cổng 465) và ngày giờ của máy".to_string(),
            ),
            Failure::HttpsTls => tr(
                "no secure connection (TLS error): check the https address and the computer's date and time".to_string(),
                "lỗi kết nối bảo mật (TLS): hãy kiểm tra địa chỉ https và ngày giờ của máy".to_string(),
            ),
            Failure::Timeout(seconds) => tr(
                format!("timed out: no answer within {seconds} s (the network or the server is slow)"),
                format!("quá thời gian chờ: sau {seconds} giây máy chủ vẫn chưa trả lời (mạng hoặc máy chủ đang chậm)"),
            ),
            Failure::ConnectionLost => tr(
                "the connection dropped before the end (check the Internet)".to_string(),
                "mất kết nối giữa chừng (hãy kiểm tra mạng Internet)".to_string(),
            ),
            Failure::Http(status) => http_words(status),
            Failure::BadMessage => tr(
                "the mail could not be written: check `from` and `to` in the config".to_string(),
                "không soạn được thư: hãy kiểm tra `from` và `to` trong cấu hình".to_string(),
            ),
        }
    }
}

/// "the webhook answered HTTP 500 (…)", the status in words.
fn http_words(status: u16) -> String {
    let (en, vi) = match status {
        300..=399 => (
            "it moved elsewhere: write its new address as `url`",
            "địa chỉ đã chuyển đi nơi khác: hãy ghi địa chỉ mới vào `url`",
        ),
        401 | 403 => (
            "not allowed: check that LOA_WEBHOOK_SECRET is the key the receiver expects",
            "không được phép: hãy kiểm tra LOA_WEBHOOK_SECRET có đúng khóa bên nhận chờ không",
        ),
        404 | 410 => (
            "no such address: check `url` in the config",
            "không có địa chỉ này: hãy kiểm tra `url` trong cấu hình",
        ),
        408 | 429 => (
            "the receiver is busy; try again later",
            "bên nhận đang bận; hãy thử lại sau",
        ),
        400..=499 => (
            "the receiver refused the alert",
            "bên nhận từ chối cảnh báo",
        ),
        500..=599 => (
            "the receiver had a server error; try again later",
            "bên nhận gặp lỗi máy chủ; hãy thử lại sau",
        ),
        _ => (
            "an answer loa does not expect",
            "câu trả lời loa không chờ đợi",
        ),
    };
    tr(
        format!("the webhook answered HTTP {status}: {en}"),
        format!("webhook trả lời HTTP {status}: {vi}"),
    )
}

impl From<Failure> for SendError {
    fn from(failure: Failure) -> SendError {
        SendError {
            message: failure.words(),
            retryable: failure.retryable(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_error_is_retried_and_a_wrong_password_is_not() {
        assert!(Failure::Http(500).retryable());
        assert!(Failure::Http(429).retryable());
        assert!(!Failure::Http(404).retryable());
        assert!(!Failure::WrongPassword.retryable());
        assert!(Failure::ServerBusy(421).retryable());
        assert!(Failure::Refused.retryable());
        let e = SendError::from(Failure::Http(503));
        assert!(e.message.contains("HTTP 503"), "{}", e.message);
        assert!(e.retryable);
    }

    #[test]
    fn no_sinks_without_sections() {
        let config = AlertsConfig {
            weekly_digest: None,
            email: Vec::new(),
            webhook: Vec::new(),
        };
        assert!(sinks(&config, &AlertSecrets::default()).is_empty());
    }
}
