//! What every page shares: the frame (language, navigation, the CSRF token for its forms), the
//! state badges (a colour *and* a word) and the officer's forms of times.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use crate::channel::Channel;
use crate::i18n::{Language, tr};
use crate::store::State;

/// The frame around a page: `templates/web/base.html`.
pub struct Frame {
    /// `vi` or `en`, for `<html lang>`.
    pub lang: &'static str,
    /// The page's title.
    pub title: String,
    /// Which tab is open (`week`, `posts`, `engagement`, `attention`; empty for none).
    pub tab: &'static str,
    /// The tabs.
    pub nav: Vec<Tab>,
    /// The session's CSRF token, for the page's forms.
    pub csrf: String,
    /// Whether a logout button shows (a password is set and the session logged in).
    pub logout: bool,
    /// The zone every time is shown in, named.
    pub zone: String,
}

/// One tab of the navigation.
pub struct Tab {
    /// Where it goes.
    pub href: &'static str,
    /// What it says.
    pub label: String,
    /// Its key, compared with [`Frame::tab`].
    pub key: &'static str,
}

impl Frame {
    /// A frame that needs no session (an error page): the tabs, no forms.
    pub fn bare(title: impl Into<String>) -> Frame {
        Frame {
            lang: match crate::i18n::language() {
                Language::En => "en",
                Language::Vi => "vi",
            },
            title: title.into(),
            tab: "",
            nav: tabs(tr("Attention", "Cần xử lý").to_string()),
            csrf: String::new(),
            logout: false,
            zone: String::new(),
        }
    }

    /// A frame for a page titled `title` under tab `tab`; `attention` is how many things need
    /// the officer (shown on the Attention tab), when known.
    pub fn new(
        d: &super::Dashboard,
        session: Option<&super::Session>,
        title: impl Into<String>,
        tab: &'static str,
        attention: Option<usize>,
    ) -> Frame {
        let attention_label = match attention {
            Some(n) if n > 0 => format!("{} ({n})", tr("Attention", "Cần xử lý")),
            _ => tr("Attention", "Cần xử lý").to_string(),
        };
        Frame {
            lang: match crate::i18n::language() {
                Language::En => "en",
                Language::Vi => "vi",
            },
            title: title.into(),
            tab,
            nav: tabs(attention_label),
            csrf: session.map(|s| d.access.csrf(&s.id)).unwrap_or_default(),
            logout: session.is_some() && d.access.needs_login(),
            zone: zone(d.config.timezone),
        }
    }
}

fn tabs(attention_label: String) -> Vec<Tab> {
    vec![
        Tab {
            href: "/",
            label: tr("This week", "Tuần này").into(),
            key: "week",
        },
        Tab {
            href: "/posts",
            label: tr("Posts", "Bài viết").into(),
            key: "posts",
        },
        Tab {
            href: "/engagement",
            label: tr("Engagement", "Số liệu").into(),
            key: "engagement",
        },
        Tab {
            href: "/attention",
            label: attention_label,
            key: "attention",
        },
    ]
}

/// A page's answer: `page` rendered with `status` (a template that cannot render is the
/// dashboard's own fault, told as an internal error page).
pub fn render(
    page: &impl askama::Template,
    status: axum::http::StatusCode,
) -> Result<axum::response::Response, super::WebError> {
    use axum::response::IntoResponse;
    let html = page
        .render()
        .map_err(|e| super::WebError::Internal(e.to_string()))?;
    Ok((status, axum::response::Html(html)).into_response())
}

/// `giờ Asia/Ho_Chi_Minh` / `Asia/Ho_Chi_Minh time`.
pub fn zone(tz: Tz) -> String {
    crate::report::format::zone(crate::i18n::language(), tz.name())
}

/// A coloured badge with a word.
#[derive(Clone, Debug)]
pub struct Badge {
    /// The CSS class (`st-failed`, …), which gives the colour.
    pub class: &'static str,
    /// The word, which says the same without the colour.
    pub word: String,
}

/// The badge of a delivery's state.
pub fn state_badge(state: State) -> Badge {
    Badge {
        class: match state {
            State::Published => "st-ok",
            State::Scheduled | State::Publishing => "st-wait",
            State::RetryWait => "st-warn",
            State::Failed | State::Unconfirmed | State::Missed => "st-bad",
            State::Cancelled => "st-off",
        },
        word: crate::status::state_label(state).to_string(),
    }
}

/// The word for a channel.
pub fn channel_name(c: Channel) -> &'static str {
    crate::report::format::channel(c)
}

/// A local time: `Thứ 3 15/12/2026 07:00` (vi) or `Tue 2026-12-15 07:00` (en).
pub fn when(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    format!(
        "{} {}",
        weekday(local.weekday()),
        crate::report::format::date_time(crate::i18n::language(), &local)
    )
}

/// A local time of day: `07:00`.
pub fn clock(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%H:%M").to_string()
}

/// The weekday's short name: `Thứ 2` … `Chủ nhật`, `Mon` … `Sun`.
pub fn weekday(d: chrono::Weekday) -> &'static str {
    use chrono::Weekday::*;
    match d {
        Mon => tr("Mon", "Thứ 2"),
        Tue => tr("Tue", "Thứ 3"),
        Wed => tr("Wed", "Thứ 4"),
        Thu => tr("Thu", "Thứ 5"),
        Fri => tr("Fri", "Thứ 6"),
        Sat => tr("Sat", "Thứ 7"),
        Sun => tr("Sun", "Chủ nhật"),
    }
}

/// Where a delivery's post is seen on the platform: what a collection recorded, else
/// Facebook's address for the post id (the report's rules: only web addresses are links).
pub fn platform_link(
    channel: Channel,
    remote_id: Option<&str>,
    recorded: Option<&str>,
) -> Option<String> {
    crate::report::html::web_link(recorded)
        .or_else(|| crate::report::build::post_address(channel, remote_id))
}

/// What the officer does about a delivery in `state` (`failed`, `missed`, `unconfirmed`,
/// `update_failed`), in the dashboard's words: its buttons are beside it.
pub fn fix_for(state: &str) -> Option<String> {
    Some(
        match state {
            "failed" => tr(
                "fix what the error says in the file, then press Retry",
                "sửa tệp theo lỗi, rồi bấm Thử lại",
            ),
            "missed" => tr(
                "set a new publish_at in the file, or press Retry to publish it now",
                "đặt publish_at mới trong tệp, hoặc bấm Thử lại để đăng ngay",
            ),
            "unconfirmed" => tr(
                "look on the platform first; if the post is not there, press Retry after checking",
                "xem trên nền tảng trước; nếu chưa có bài, bấm Thử lại sau khi kiểm tra",
            ),
            "update_failed" => tr(
                "fix what the error says and save the file again, or press Retry the update",
                "sửa theo lỗi rồi lưu lại tệp, hoặc bấm Thử cập nhật lại",
            ),
            _ => return None,
        }
        .to_string(),
    )
}

/// `text` cut into plain parts and the commands written between backticks (`true`), so a
/// page shows a command as code, without the backticks.
pub fn segments(text: &str) -> Vec<(bool, String)> {
    text.split('`')
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(i, part)| (i % 2 == 1, part.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn commands_between_backticks_become_code() {
        assert_eq!(
            super::segments("chạy `loa auth zalo --url` rồi khởi động lại"),
            vec![
                (false, "chạy ".to_string()),
                (true, "loa auth zalo --url".to_string()),
                (false, " rồi khởi động lại".to_string()),
            ]
        );
    }

    use super::*;

    #[test]
    fn only_web_addresses_and_plain_ids_become_links() {
        assert_eq!(
            platform_link(Channel::Zalo, Some("a1"), Some("javascript:alert(1)")),
            None
        );
        assert_eq!(
            platform_link(Channel::Facebook, Some("123_456"), None).as_deref(),
            Some("https://www.facebook.com/123_456")
        );
        assert_eq!(platform_link(Channel::Facebook, Some("1/../x"), None), None);
        assert_eq!(
            platform_link(Channel::Zalo, None, Some("https://oa.zalo.me/a")).as_deref(),
            Some("https://oa.zalo.me/a")
        );
    }

    #[test]
    fn every_state_has_a_word_besides_its_colour() {
        for s in [
            State::Scheduled,
            State::Publishing,
            State::RetryWait,
            State::Published,
            State::Unconfirmed,
            State::Failed,
            State::Missed,
            State::Cancelled,
        ] {
            let b = state_badge(s);
            assert!(!b.word.is_empty());
            assert!(b.class.starts_with("st-"));
        }
    }
}
