//! Alerts: loa telling the officer that something needs them, by email and by webhook.
//!
//! One [`Alert`] is what every sink sends: its `Serialize` is the contract's webhook body, and
//! the email sink lays the same fields out as a plain-text mail in the officer's language.
//! The sinks are built from `[alerts]` (`crate::config::AlertsConfig`) and the environment's
//! secrets ([`AlertSecrets`]) by [`sinks`]; each one sends one alert at a time, within a bounded
//! wait, and says what went wrong as a [`SendError`] in the officer's language, retryable or
//! not. No secret (the SMTP password, the webhook secret) is ever part of an alert, a label, an
//! id, an error or a log line.
//!
//! Where alerts come from: the store's triggers write them in the transaction of the change
//! that causes them (a delivery failed, a channel needs a new token, …); `events` raises the
//! conditions that come with time (a token near its end, the service off past a slot);
//! `outbox` words a stored alert for the officer when it is sent; `sender` sends the outbox in
//! `loa run`, one task per sink, with retries and backoff, each send recorded.
//!
//! Files: `email.rs` (SMTP through lettre and rustls), `webhook.rs` (a signed JSON POST),
//! `sink.rs` (the `Sink` enum, `SendError` and the failures' wording, `sinks`), `events.rs`,
//! `outbox.rs`, `sender.rs`.

mod email;
pub mod events;
pub mod outbox;
pub mod sender;
mod sink;
mod webhook;

use chrono::{DateTime, SecondsFormat, TimeZone};
use serde::Serialize;

use crate::i18n::tr;

pub use email::{EmailSink, body as email_body, subject as email_subject};
pub use sink::{AlertSecrets, SMTP_PASSWORD_ENV, SendError, Sink, WEBHOOK_SECRET_ENV, sinks};
pub use webhook::{SIGNATURE_HEADER, WebhookSink, signature};

/// One alert, as every sink sends it (its `Serialize` is the contract's webhook body).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// What happened, serialized snake_case (`delivery_failed`, …, `test`).
    pub kind: Kind,
    /// Local time, RFC 3339 with its offset, e.g. `2026-12-01T07:03:00+07:00`.
    pub at: String,
    /// The post's file, e.g. `posts/x.md` (`null` when the alert is not about a post).
    pub file: Option<String>,
    /// The post's title.
    pub title: Option<String>,
    /// `facebook` or `zalo`.
    pub channel: Option<String>,
    /// The delivery's state (`failed`, `missed`, …).
    pub state: Option<String>,
    /// What happened, already in the officer's language.
    pub message: String,
    /// What to do about it, in the officer's language.
    pub fix: Option<String>,
    /// The alert's own id, the same each time it is sent (a send cut short by a crash is sent
    /// again with it): the mail's Message-ID and the webhook's `X-Loa-Alert-Id`, by which a
    /// receiver can tell a repeat. Not in the body. `None` for `loa alerts test`.
    #[serde(skip)]
    pub id: Option<String>,
}

impl Alert {
    /// The alert `loa alerts test` sends: no post, no channel, just proof the sink works.
    pub fn test<Tz: TimeZone>(now: DateTime<Tz>) -> Alert
    where
        Tz::Offset: std::fmt::Display,
    {
        Alert {
            kind: Kind::Test,
            at: rfc3339(&now),
            file: None,
            title: None,
            channel: None,
            state: None,
            message: tr(
                "This is a test alert from loa. If you can read it, loa can reach you here.",
                "Đây là cảnh báo thử của loa. Nếu bạn đọc được tin này, loa liên lạc được với bạn qua đây.",
            )
            .to_string(),
            fix: None,
            id: None,
        }
    }
}

/// `time` as the contract writes it: RFC 3339, whole seconds, its own offset (`+07:00`).
pub fn rfc3339<Tz: TimeZone>(time: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    time.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// What an alert is about (the contract's alert kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A delivery failed for good.
    DeliveryFailed,
    /// loa cannot tell whether a post went out.
    DeliveryUnconfirmed,
    /// A post was overdue by more than `max_lateness` and was not published.
    DeliveryMissed,
    /// A platform refused the token: the account must be connected again.
    NeedsReauth,
    /// A channel is paused (rate limit).
    ChannelPaused,
    /// A token ends soon.
    TokenExpiring,
    /// A post has errors and cannot be published.
    PostInvalid,
    /// A Zalo broadcast failed.
    BroadcastFailed,
    /// The service started after being off past a weekly slot (an addition to the contract's
    /// kinds).
    ServiceWasOff,
    /// The weekly summary.
    WeeklyDigest,
    /// `loa alerts test`.
    Test,
}

impl Kind {
    /// Every kind, in the contract's order.
    pub const ALL: [Kind; 11] = [
        Kind::DeliveryFailed,
        Kind::DeliveryUnconfirmed,
        Kind::DeliveryMissed,
        Kind::NeedsReauth,
        Kind::ChannelPaused,
        Kind::TokenExpiring,
        Kind::PostInvalid,
        Kind::BroadcastFailed,
        Kind::ServiceWasOff,
        Kind::WeeklyDigest,
        Kind::Test,
    ];

    /// The contract's name, e.g. `delivery_failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DeliveryFailed => "delivery_failed",
            Kind::DeliveryUnconfirmed => "delivery_unconfirmed",
            Kind::DeliveryMissed => "delivery_missed",
            Kind::NeedsReauth => "needs_reauth",
            Kind::ChannelPaused => "channel_paused",
            Kind::TokenExpiring => "token_expiring",
            Kind::PostInvalid => "post_invalid",
            Kind::BroadcastFailed => "broadcast_failed",
            Kind::ServiceWasOff => "service_was_off",
            Kind::WeeklyDigest => "weekly_digest",
            Kind::Test => "test",
        }
    }

    /// The kind named `name` (the contract's name), if there is one.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// A few words for a mail's subject, in the officer's language ("Đăng bài lỗi").
    pub fn headline(self) -> &'static str {
        match self {
            Kind::DeliveryFailed => tr("Delivery failed", "Đăng bài lỗi"),
            Kind::DeliveryUnconfirmed => {
                tr("Delivery unconfirmed", "Chưa xác nhận được bài đã đăng")
            }
            Kind::DeliveryMissed => tr("Delivery missed", "Bài bị lỡ giờ đăng"),
            Kind::NeedsReauth => tr("Account must be reconnected", "Cần kết nối lại tài khoản"),
            Kind::ChannelPaused => tr("Channel paused", "Kênh đang tạm dừng"),
            Kind::TokenExpiring => tr("Access token expiring", "Mã truy cập sắp hết hạn"),
            Kind::PostInvalid => tr("Post has errors", "Bài viết có lỗi"),
            Kind::BroadcastFailed => tr("Broadcast failed", "Gửi thông báo tới người quan tâm lỗi"),
            Kind::ServiceWasOff => tr("loa was not running", "loa đã không chạy"),
            Kind::WeeklyDigest => tr("Weekly digest", "Tóm tắt tuần"),
            Kind::Test => tr("Test alert", "Cảnh báo thử"),
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_contract_names() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert_eq!(Kind::parse("delivery-failed"), None);
    }

    #[test]
    fn the_body_has_exactly_the_contracts_keys_in_order() {
        let alert = Alert {
            kind: Kind::DeliveryFailed,
            at: "2026-12-01T07:03:00+07:00".into(),
            file: Some("posts/x.md".into()),
            title: Some("Chuyển đổi số".into()),
            channel: Some("zalo".into()),
            state: Some("failed".into()),
            message: "m".into(),
            fix: None,
            id: None,
        };
        assert_eq!(
            serde_json::to_string(&alert).unwrap(),
            r#"{"kind":"delivery_failed","at":"2026-12-01T07:03:00+07:00","file":"posts/x.md","title":"Chuyển đổi số","channel":"zalo","state":"failed","message":"m","fix":null}"#
        );
    }

    #[test]
    fn a_test_alert_carries_its_local_time_with_the_offset() {
        let now = chrono_tz::Asia::Ho_Chi_Minh
            .with_ymd_and_hms(2026, 12, 1, 7, 3, 0)
            .unwrap();
        let alert = Alert::test(now);
        assert_eq!(alert.kind, Kind::Test);
        assert_eq!(alert.at, "2026-12-01T07:03:00+07:00");
        assert!(alert.file.is_none() && alert.channel.is_none());
    }
}
