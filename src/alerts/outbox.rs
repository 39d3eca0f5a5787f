//! Stored alerts worded for the officer: what happened, to which post and channel, and the
//! exact fix, in the config's language, when the alert is sent (the store keeps the facts).

use chrono_tz::Tz;

use super::{Alert, Kind};
use crate::channel::Channel;
use crate::config::Config;
use crate::i18n::tr;
use crate::store::StoredAlert;

/// The alert `a` as every sink sends it.
pub fn compose(a: &StoredAlert, config: &Config) -> Alert {
    let tz: Tz = config.timezone;
    let kind = Kind::parse(&a.kind).unwrap_or(Kind::Test);
    let file = a.path.as_ref().map(|p| {
        crate::paths::display(&config.posts_dir.join(p))
            .display()
            .to_string()
    });
    let title = a.title.clone().filter(|t| !t.trim().is_empty());
    let channel = a.channel.as_deref().and_then(Channel::parse);
    let platform = channel.map_or("", crate::report::format::channel);
    let name = title.clone().or_else(|| file.clone()).unwrap_or_default();
    let file_arg = file
        .clone()
        .unwrap_or_else(|| tr("FILE", "TỆP").to_string());
    let channel_arg = channel.map_or(String::new(), |c| format!(" --channel {}", c.name()));
    let detail = a.detail.clone().unwrap_or_default();
    let with_detail = |s: String| {
        if detail.is_empty() {
            s
        } else {
            format!("{s}: {detail}")
        }
    };
    let reauth = || {
        channel
            .and_then(crate::channels::spec)
            .map(|s| s.reauth_hint())
    };
    let (message, fix): (String, Option<String>) = match kind {
        Kind::DeliveryFailed => (
            with_detail(tr(
                format!("“{name}” could not be published on {platform}"),
                format!("“{name}” không đăng được lên {platform}"),
            )),
            Some(tr(
                format!("fix what the error says, then run `loa retry {file_arg}{channel_arg}` (or press Retry on the dashboard)"),
                format!("sửa theo lỗi, rồi chạy `loa retry {file_arg}{channel_arg}` (hoặc bấm Thử lại trên bảng điều khiển)"),
            )),
        ),
        Kind::DeliveryUnconfirmed => (
            with_detail(tr(
                format!("loa cannot tell whether “{name}” went out on {platform}"),
                format!("loa không xác định được “{name}” đã lên {platform} hay chưa"),
            )),
            Some(tr(
                format!("look on {platform}; if the post is not there, run `loa retry --force {file_arg}{channel_arg}`"),
                format!("xem trên {platform}; nếu chưa có bài, chạy `loa retry --force {file_arg}{channel_arg}`"),
            )),
        ),
        Kind::DeliveryMissed => (
            tr(
                format!("“{name}” missed its time on {platform}: it could not be published in time"),
                format!("“{name}” đã lỡ giờ đăng trên {platform}: không đăng được đúng lúc"),
            ),
            Some(tr(
                format!("set a new publish_at in the file, or run `loa retry {file_arg}{channel_arg}` to publish it now"),
                format!("đặt publish_at mới trong tệp, hoặc chạy `loa retry {file_arg}{channel_arg}` để đăng ngay"),
            )),
        ),
        Kind::BroadcastFailed => (
            with_detail(tr(
                format!("sending “{name}” to the OA's followers failed"),
                format!("gửi “{name}” tới người quan tâm OA không thành công"),
            )),
            Some(tr(
                "see the error; the article itself is published".to_string(),
                "xem lỗi; bài viết vẫn đã được đăng".to_string(),
            )),
        ),
        Kind::NeedsReauth => (
            with_detail(tr(
                format!("{platform} needs a new token: posts to it wait"),
                format!("{platform} cần mã truy cập mới: các bài đăng lên kênh này đang chờ"),
            )),
            reauth(),
        ),
        Kind::ChannelPaused => (
            with_detail(tr(
                format!("{platform} has paused loa's requests for more than an hour"),
                format!("{platform} đã tạm dừng nhận yêu cầu của loa hơn một giờ"),
            )),
            Some(tr(
                "nothing at once: loa carries on by itself after the pause; if it happens often, post less at a time".to_string(),
                "chưa cần làm gì: loa tự tiếp tục sau khi hết tạm dừng; nếu lặp lại thường xuyên, hãy đăng thưa hơn".to_string(),
            )),
        ),
        Kind::TokenExpiring => (
            tr(
                format!("the {platform} token ends on {detail}"),
                format!("mã truy cập {platform} hết hạn vào {detail}"),
            ),
            reauth(),
        ),
        Kind::PostInvalid => {
            let problems: Vec<String> = serde_json::from_str(&detail).unwrap_or_default();
            (
                tr(
                    format!("“{name}” has errors and will not go out: {}", problems.join("; ")),
                    format!("“{name}” có lỗi nên sẽ không được đăng: {}", problems.join("; ")),
                ),
                Some(tr(
                    format!("correct the file and save it; `loa check {file_arg}` shows each problem with its line"),
                    format!("sửa tệp rồi lưu lại; `loa check {file_arg}` chỉ rõ từng lỗi và dòng của nó"),
                )),
            )
        }
        Kind::ServiceWasOff => (
            tr(
                format!("loa was not running at {detail}: posts due then went out late or were missed"),
                format!("loa không chạy vào {detail}: các bài đến giờ lúc đó đã đăng muộn hoặc bị lỡ"),
            ),
            Some(tr(
                "keep loa running (see docs/loa.service); `loa status` shows what was missed".to_string(),
                "hãy để loa chạy liên tục (xem docs/loa.service); `loa status` cho biết bài nào bị lỡ".to_string(),
            )),
        ),
        Kind::WeeklyDigest | Kind::Test => (detail.clone(), None),
    };
    Alert {
        kind,
        at: super::rfc3339(&a.at.with_timezone(&tz)),
        file,
        title,
        channel: channel.map(|c| c.name().to_string()),
        state: a.state.clone(),
        message,
        fix,
        // The row's id and its time: unique for this database, the same on every resend.
        id: Some(format!("{}-{}", a.id, a.at.timestamp())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BroadcastState, Health, PostRecord, State, Store};
    use chrono::{Duration, Utc};

    /// Every kind of alert the store and the scans make, each worded with its fix.
    #[test]
    fn every_kind_is_told_with_what_happened_and_the_fix() {
        let config = Config::parse(
            "[facebook]\npage_id = \"1\"\n[zalo]\napp_id = \"1\"\nauthor = \"UBND\"\ndefault_cover_url = \"https://example.gov.vn/a.jpg\"\n",
        )
        .unwrap();
        let mut s = Store::open_in_memory().unwrap();
        let now = Utc::now();
        let post = |id: &str, problems: Option<Vec<String>>| PostRecord {
            id: id.into(),
            path: format!("{id}.md"),
            content_hash: format!("h-{id}"),
            content: String::new(),
            title: format!("Bài {id}"),
            meta: serde_json::json!({}),
            problems,
            present: true,
            first_seen_at: now,
        };
        s.insert_post(&post("a", None), now).unwrap();
        s.insert_post(&post("b", Some(vec!["b.md:2:1: no title".into()])), now)
            .unwrap();
        for (i, state) in [State::Failed, State::Unconfirmed, State::Missed]
            .into_iter()
            .enumerate()
        {
            let channel = if i == 1 {
                Channel::Zalo
            } else {
                Channel::Facebook
            };
            let post_id = format!("p{i}");
            s.insert_post(&post(&post_id, None), now).unwrap();
            let id = s
                .insert_delivery(&post_id, channel, Some(now), false)
                .unwrap();
            let mut d = s.delivery(id).unwrap().unwrap();
            d.state = state;
            d.last_error = Some("(#100) Invalid parameter".into());
            s.save_delivery(&d).unwrap();
        }
        let id = s
            .insert_delivery("a", Channel::Zalo, Some(now), false)
            .unwrap();
        let mut d = s.delivery(id).unwrap().unwrap();
        d.state = State::Published;
        d.broadcast_state = Some(BroadcastState::Failed);
        d.broadcast_error = Some("-224 quota".into());
        s.save_delivery(&d).unwrap();
        s.amend_channel(Channel::Facebook, |c| {
            c.health = Health::RateLimited;
            c.paused_until = Some(now + Duration::hours(3));
            c.token_expires_at = Some(now + Duration::days(3));
        })
        .unwrap();
        s.amend_channel(Channel::Zalo, |c| c.health = Health::NeedsReauth)
            .unwrap();
        super::super::events::scan(&mut s, &config, now, Some(now + Duration::days(5))).unwrap();

        let alerts = s.alerts(50).unwrap();
        let mut kinds: Vec<&str> = alerts.iter().map(|a| a.kind.as_str()).collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(
            kinds,
            [
                "broadcast_failed",
                "channel_paused",
                "delivery_failed",
                "delivery_missed",
                "delivery_unconfirmed",
                "needs_reauth",
                "post_invalid",
                "token_expiring"
            ]
        );
        for a in &alerts {
            let told = compose(a, &config);
            assert_eq!(told.kind.as_str(), a.kind);
            assert!(!told.message.is_empty(), "{told:?}");
            assert!(
                told.fix.as_deref().is_some_and(|f| !f.is_empty()),
                "{told:?}"
            );
            assert!(told.at.len() == 25, "{told:?}");
            assert!(told.id.is_some());
            if a.post_id.is_some() {
                assert!(
                    told.file.as_deref().is_some_and(|f| f.ends_with(".md")),
                    "{told:?}"
                );
                assert!(told.title.is_some(), "{told:?}");
            }
        }
        let failed = alerts.iter().find(|a| a.kind == "delivery_failed").unwrap();
        let told = compose(failed, &config);
        assert!(
            told.message.contains("(#100) Invalid parameter"),
            "{told:?}"
        );
        assert!(told.fix.unwrap().contains("loa retry"), "the exact command");
        let tokens: Vec<_> = alerts
            .iter()
            .filter(|a| a.kind == "token_expiring")
            .collect();
        assert_eq!(tokens.len(), 2, "Facebook's and Zalo's");
    }
}
