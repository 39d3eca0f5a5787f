//! `[alerts]`: where loa tells the officer what needs them — `[[alerts.email]]` (SMTP) and
//! `[[alerts.webhook]]` (a JSON POST), any number of each, and the optional `weekly_digest`
//! slot. Passwords and signing keys come only from the environment (`LOA_SMTP_PASSWORD`,
//! `LOA_WEBHOOK_SECRET`); `secrets.rs` refuses them in the file.

use serde::Deserialize;
use toml::Spanned;

use super::{Slot, Validator, is_http_url};
use crate::i18n::tr;

/// `[alerts]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertsConfig {
    /// When the weekly summary goes out (`Mon 08:00`), if it does.
    pub weekly_digest: Option<Slot>,
    /// Every `[[alerts.email]]`, in the file's order.
    pub email: Vec<EmailSinkConfig>,
    /// Every `[[alerts.webhook]]`, in the file's order.
    pub webhook: Vec<WebhookSinkConfig>,
}

/// One `[[alerts.email]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailSinkConfig {
    /// The SMTP server's name.
    pub smtp_host: String,
    /// Its port (default: 587 with STARTTLS, 465 with TLS, 25 with none).
    pub smtp_port: u16,
    /// How the connection is secured.
    pub security: SmtpSecurity,
    /// The login; the password is `LOA_SMTP_PASSWORD`. No login when absent.
    pub username: Option<String>,
    /// The sender, `loa@example.gov.vn` or `loa <loa@example.gov.vn>`.
    pub from: String,
    /// The recipients (at least one).
    pub to: Vec<String>,
}

/// How an SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587); the upgrade is required.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only to a server on this machine (a local relay, tests).
    None,
}

impl SmtpSecurity {
    fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

/// One `[[alerts.webhook]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSinkConfig {
    /// Where the JSON is POSTed: https, or http only on this machine.
    pub url: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    weekly_digest: Option<Spanned<String>>,
    #[serde(default)]
    email: Vec<Spanned<RawEmail>>,
    #[serde(default)]
    webhook: Vec<Spanned<RawWebhook>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    smtp_host: Option<Spanned<String>>,
    smtp_port: Option<Spanned<i64>>,
    security: Option<Spanned<String>>,
    username: Option<Spanned<String>>,
    from: Option<Spanned<String>>,
    to: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: Option<Spanned<String>>,
}

/// Whether `host` is this machine.
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `mailbox` is an address (`name@domain.tld`) or `Name <address>`, as lettre, which
/// sends the mail, will take it.
fn is_mailbox(mailbox: &str) -> bool {
    mailbox.parse::<lettre::message::Mailbox>().is_ok()
}

impl Validator<'_> {
    pub(super) fn alerts(&mut self, raw: Spanned<RawAlerts>) -> AlertsConfig {
        let section = raw.span();
        let raw = raw.into_inner();
        let weekly_digest = raw
            .weekly_digest
            .and_then(|s| match Slot::parse(s.get_ref()) {
                Ok(slot) => Some(slot),
                Err(e) => {
                    self.error(
                        s.span(),
                        format!("`alerts.weekly_digest`: {e}"),
                        Some(
                            tr(
                                "write a day and a time, e.g. weekly_digest = \"Mon 08:00\"",
                                "ghi thứ và giờ, ví dụ weekly_digest = \"Thứ 2 08:00\"",
                            )
                            .into(),
                        ),
                    );
                    None
                }
            });
        if raw.email.is_empty() && raw.webhook.is_empty() {
            self.warn(
                section,
                tr(
                    "`[alerts]` has no [[alerts.email]] and no [[alerts.webhook]]: loa has nowhere to send alerts",
                    "`[alerts]` chưa có [[alerts.email]] hay [[alerts.webhook]] nào: loa không có nơi gửi cảnh báo",
                )
                .into(),
            );
        }
        let email = raw
            .email
            .into_iter()
            .enumerate()
            .filter_map(|(i, e)| self.email(i + 1, e))
            .collect();
        let webhook = raw
            .webhook
            .into_iter()
            .enumerate()
            .filter_map(|(i, w)| self.webhook(i + 1, w))
            .collect();
        AlertsConfig {
            weekly_digest,
            email,
            webhook,
        }
    }

    /// The `n`th `[[alerts.email]]`, or `None` (with its errors recorded) when it cannot be used.
    fn email(&mut self, n: usize, raw: Spanned<RawEmail>) -> Option<EmailSinkConfig> {
        let section = raw.span();
        let raw = raw.into_inner();
        let key = |k: &str| format!("alerts.email[{n}].{k}");
        let errors_before = self.errors.len();

        let smtp_host = match raw.smtp_host {
            None => {
                self.missing(
                    section.clone(),
                    &key("smtp_host"),
                    "smtp_host = \"smtp.example.gov.vn\"",
                );
                String::new()
            }
            Some(h) => {
                let host = h.get_ref().trim().to_string();
                let bad = host.is_empty()
                    || host.contains("://")
                    || host.contains(|c: char| c.is_whitespace() || c == '/' || c == '@');
                if bad {
                    self.error(
                        h.span(),
                        tr(
                            format!("`{}`: `{host}` is not a server name", key("smtp_host")),
                            format!("`{}`: `{host}` không phải tên máy chủ", key("smtp_host")),
                        ),
                        Some(tr(
                            "write only the server's name, e.g. smtp_host = \"smtp.example.gov.vn\" (no smtp://, no port)".into(),
                            "chỉ ghi tên máy chủ, ví dụ smtp_host = \"smtp.example.gov.vn\" (không có smtp://, không có cổng)".into(),
                        )),
                    );
                }
                host
            }
        };

        let security = match &raw.security {
            None => SmtpSecurity::StartTls,
            Some(s) => match s.get_ref().trim() {
                "starttls" => SmtpSecurity::StartTls,
                "tls" => SmtpSecurity::Tls,
                "none" => SmtpSecurity::None,
                other => {
                    self.error(
                        s.span(),
                        tr(
                            format!("`{}`: `{other}` is not one of the choices", key("security")),
                            format!("`{}`: `{other}` không phải một lựa chọn", key("security")),
                        ),
                        Some(tr(
                            r#"write security = "starttls" (port 587) or security = "tls" (port 465)"#.into(),
                            r#"ghi security = "starttls" (cổng 587) hoặc security = "tls" (cổng 465)"#.into(),
                        )),
                    );
                    SmtpSecurity::StartTls
                }
            },
        };
        if security == SmtpSecurity::None
            && !smtp_host.is_empty()
            && !is_loopback_host(&smtp_host)
            && let Some(s) = &raw.security
        {
            self.error(
                s.span(),
                tr(
                    format!("`{}`: \"none\" sends the password and the alert unencrypted; it is allowed only for a server on this machine (127.0.0.1 or localhost), not {smtp_host}", key("security")),
                    format!("`{}`: \"none\" gửi mật khẩu và cảnh báo không mã hóa; chỉ được dùng với máy chủ trên chính máy này (127.0.0.1 hoặc localhost), không phải {smtp_host}", key("security")),
                ),
                Some(tr(
                    r#"write security = "starttls" (port 587) or security = "tls" (port 465)"#.into(),
                    r#"ghi security = "starttls" (cổng 587) hoặc security = "tls" (cổng 465)"#.into(),
                )),
            );
        }

        let smtp_port = match raw.smtp_port {
            None => security.default_port(),
            Some(p) => match u16::try_from(*p.get_ref()) {
                Ok(port) if port > 0 => port,
                _ => {
                    self.error(
                        p.span(),
                        tr(
                            format!(
                                "`{}`: {} is not a port (1 to 65535)",
                                key("smtp_port"),
                                p.get_ref()
                            ),
                            format!(
                                "`{}`: {} không phải số cổng (1 đến 65535)",
                                key("smtp_port"),
                                p.get_ref()
                            ),
                        ),
                        Some(tr(
                            "e.g. smtp_port = 587 with starttls, or 465 with tls".into(),
                            "ví dụ smtp_port = 587 với starttls, hoặc 465 với tls".into(),
                        )),
                    );
                    security.default_port()
                }
            },
        };

        let username = raw.username.and_then(|u| {
            let name = u.get_ref().trim().to_string();
            if name.is_empty() {
                self.error(
                    u.span(),
                    tr(
                        format!("`{}` is empty", key("username")),
                        format!("`{}` đang để trống", key("username")),
                    ),
                    Some(tr(
                        "write the login of the mail account, or delete the line if the server needs none".into(),
                        "ghi tên đăng nhập của hộp thư, hoặc xóa dòng này nếu máy chủ không cần đăng nhập".into(),
                    )),
                );
                None
            } else {
                Some(name)
            }
        });

        let from = match raw.from {
            None => {
                self.missing(
                    section.clone(),
                    &key("from"),
                    "from = \"loa <loa@example.gov.vn>\"",
                );
                String::new()
            }
            Some(f) => {
                let from = f.get_ref().trim().to_string();
                if !is_mailbox(&from) {
                    self.error(
                        f.span(),
                        tr(
                            format!("`{}`: `{from}` is not an email address", key("from")),
                            format!("`{}`: `{from}` không phải địa chỉ email", key("from")),
                        ),
                        Some(tr(
                            r#"e.g. from = "loa@example.gov.vn" or from = "loa <loa@example.gov.vn>""#.into(),
                            r#"ví dụ from = "loa@example.gov.vn" hoặc from = "loa <loa@example.gov.vn>""#.into(),
                        )),
                    );
                }
                from
            }
        };

        let to = match raw.to {
            None => {
                self.missing(section, &key("to"), "to = [\"vanhoa@example.gov.vn\"]");
                Vec::new()
            }
            Some(list) => {
                let span = list.span();
                let list = list.into_inner();
                if list.is_empty() {
                    self.error(
                        span,
                        tr(
                            format!("`{}` lists no address", key("to")),
                            format!("`{}` chưa có địa chỉ nào", key("to")),
                        ),
                        Some(tr(
                            r#"e.g. to = ["vanhoa@example.gov.vn"]"#.into(),
                            r#"ví dụ to = ["vanhoa@example.gov.vn"]"#.into(),
                        )),
                    );
                }
                let mut to = Vec::new();
                for (i, address) in list.into_iter().enumerate() {
                    let text = address.get_ref().trim().to_string();
                    if is_mailbox(&text) {
                        to.push(text);
                    } else {
                        self.error(
                            address.span(),
                            tr(
                                format!(
                                    "`{}[{}]`: `{text}` is not an email address",
                                    key("to"),
                                    i + 1
                                ),
                                format!(
                                    "`{}[{}]`: `{text}` không phải địa chỉ email",
                                    key("to"),
                                    i + 1
                                ),
                            ),
                            Some(tr(
                                "write one address per item, e.g. \"vanhoa@example.gov.vn\"".into(),
                                "ghi mỗi mục một địa chỉ, ví dụ \"vanhoa@example.gov.vn\"".into(),
                            )),
                        );
                    }
                }
                to
            }
        };

        (self.errors.len() == errors_before).then_some(EmailSinkConfig {
            smtp_host,
            smtp_port,
            security,
            username,
            from,
            to,
        })
    }

    /// The `n`th `[[alerts.webhook]]`, or `None` (with its errors recorded).
    fn webhook(&mut self, n: usize, raw: Spanned<RawWebhook>) -> Option<WebhookSinkConfig> {
        let section = raw.span();
        let key = format!("alerts.webhook[{n}].url");
        let Some(url) = raw.into_inner().url else {
            self.missing(section, &key, "url = \"https://example.gov.vn/hooks/loa\"");
            return None;
        };
        let text = url.get_ref().trim().to_string();
        if !is_http_url(&text) {
            self.error(
                url.span(),
                tr(
                    format!("`{key}`: `{text}` is not a web address (https://)"),
                    format!("`{key}`: `{text}` không phải địa chỉ web (https://)"),
                ),
                Some(tr(
                    r#"write the full address, e.g. url = "https://example.gov.vn/hooks/loa""#
                        .into(),
                    r#"ghi đủ địa chỉ, ví dụ url = "https://example.gov.vn/hooks/loa""#.into(),
                )),
            );
            return None;
        }
        // The host itself must be this machine: `http://127.0.0.1.example.com/` is not.
        let on_this_machine = reqwest::Url::parse(&text)
            .ok()
            .and_then(|u| u.host_str().map(is_loopback_host))
            .unwrap_or(false);
        if text.starts_with("http://") && !on_this_machine {
            self.error(
                url.span(),
                tr(
                    format!("`{key}`: plain http would send the alerts unencrypted over the network"),
                    format!("`{key}`: http thường sẽ gửi cảnh báo qua mạng mà không mã hóa"),
                ),
                Some(tr(
                    "use the receiver's https:// address (plain http only for 127.0.0.1 or localhost)".into(),
                    "dùng địa chỉ https:// của bên nhận (http thường chỉ dùng với 127.0.0.1 hoặc localhost)".into(),
                )),
            );
            return None;
        }
        if reqwest::Url::parse(&text).is_err() {
            self.error(
                url.span(),
                tr(
                    format!("`{key}`: `{text}` is not a web address loa can use"),
                    format!("`{key}`: loa không dùng được địa chỉ web `{text}`"),
                ),
                Some(tr(
                    r#"e.g. url = "https://example.gov.vn/hooks/loa""#.into(),
                    r#"ví dụ url = "https://example.gov.vn/hooks/loa""#.into(),
                )),
            );
            return None;
        }
        Some(WebhookSinkConfig { url: text })
    }

    /// "`key` is missing", at the section's header.
    fn missing(&mut self, section: std::ops::Range<usize>, key: &str, example: &str) {
        let (table, short) = key.rsplit_once('.').unwrap_or(("alerts", key));
        self.error(
            section,
            tr(
                format!("`{table}` has no `{short}`"),
                format!("`{table}` chưa có `{short}`"),
            ),
            Some(tr(
                format!("add a line {example}"),
                format!("thêm dòng {example}"),
            )),
        );
    }
}
