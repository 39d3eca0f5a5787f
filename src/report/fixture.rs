//! A hand-built [`Report`] for the formatters' tests (unit and integration): Vietnamese titles,
//! a Zalo channel without reach or clicks, posts and periods with missing figures, a title that
//! is a `<script>` element, attention items of both kinds, targets met and missed, five weeks.
//!
//! Its numbers add up (the channel totals are the sums of the posts, the periods' of their
//! posts), so a formatter's output can be checked against figures worked out by hand:
//! Facebook 5 posts, 1.234 views, 980 reach, 87 reactions, 12 comments, 9 shares, 45 clicks;
//! Zalo 3 posts, 5.678 views, 40 reactions, 3 comments, 31 shares.

use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;

use crate::channel::Channel;
use crate::i18n::Language;
use crate::metrics::Figures;

use super::model::{
    Attention, AttentionKind, By, ChannelMetrics, ChannelTotals, FollowerGrowth, PeriodRow,
    PeriodStatus, PostRow, Report, TagRow, TargetPeriod, TargetRow,
};

/// The title that must always show as text.
pub const SCRIPT_TITLE: &str = "<script>alert(1)</script>";

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).expect("a real day")
}

/// Figures in [`crate::metrics::METRIC_NAMES`] order; `None` for a missing one.
fn figs(v: [Option<u64>; 6]) -> Figures {
    Figures {
        views: v[0],
        reach: v[1],
        reactions: v[2],
        comments: v[3],
        shares: v[4],
        clicks: v[5],
    }
}

/// Facebook's six figures.
fn fb(views: u64, reach: u64, reactions: u64, comments: u64, shares: u64, clicks: u64) -> Figures {
    figs([
        Some(views),
        Some(reach),
        Some(reactions),
        Some(comments),
        Some(shares),
        Some(clicks),
    ])
}

/// Zalo's four figures: no reach, no clicks.
fn zl(views: u64, reactions: u64, comments: u64, shares: u64) -> Figures {
    figs([
        Some(views),
        None,
        Some(reactions),
        Some(comments),
        Some(shares),
        None,
    ])
}

struct P {
    file: &'static str,
    title: &'static str,
    at: (u32, u32, u32, u32),
    tags: &'static [&'static str],
}

const HOP_DAN: P = P {
    file: "2026-11-03-hop-dan.md",
    title: "Họp dân về quy hoạch khu dân cư Đồng Xoài",
    at: (11, 3, 7, 0),
    tags: &["họp dân", "quy hoạch"],
};
const TIEM_CHUNG: P = P {
    file: "2026-11-05-tiem-chung.md",
    title: "Lịch tiêm chủng mở rộng tháng 11",
    at: (11, 5, 8, 30),
    tags: &["y tế"],
};
const LU: P = P {
    file: "2026-11-18-canh-bao-lu.md",
    title: "Cảnh báo lũ quét và sạt lở đất ở thôn Đắk Rơ",
    at: (11, 18, 6, 15),
    tags: &["thiên tai"],
};
const SCRIPT: P = P {
    file: "2026-11-25-thu-nghiem.md",
    title: SCRIPT_TITLE,
    at: (11, 25, 9, 0),
    tags: &[],
};
const TIEP_DAN: P = P {
    file: "2026-12-01-tiep-cong-dan.md",
    title: "Thông báo lịch tiếp công dân tháng 12 & ý kiến \"cử tri\"",
    at: (12, 1, 7, 0),
    tags: &["hành chính"],
};

fn post(p: &P, channel: Channel, remote_id: &str, metrics: Figures) -> PostRow {
    let (m, d, h, min) = p.at;
    let published_at = Ho_Chi_Minh
        .with_ymd_and_hms(2026, m, d, h, min, 0)
        .single()
        .expect("no gap in Vietnam");
    let collected = metrics != Figures::default();
    PostRow {
        file: p.file.to_string(),
        title: p.title.to_string(),
        channel,
        remote_id: Some(remote_id.to_string()),
        published_at,
        metrics,
        tags: p.tags.iter().map(|t| t.to_string()).collect(),
        link: Some(match channel {
            Channel::Facebook => format!("https://www.facebook.com/{remote_id}"),
            Channel::Zalo => format!("https://oa.zalo.me/article/{remote_id}"),
        }),
        metrics_at: collected.then(|| {
            Ho_Chi_Minh
                .with_ymd_and_hms(2026, 12, 3, 6, 0, 0)
                .single()
                .expect("no gap")
        }),
    }
}

fn period(start: NaiveDate, channel: Channel, posts: u64, figures: Figures) -> PeriodRow {
    PeriodRow {
        start,
        channel,
        posts,
        figures,
        end: start + chrono::Days::new(6),
    }
}

/// The fixture report, in Vietnamese (set `language` for English), weeks of 2026-11-02 to
/// 2026-12-03 in Asia/Ho_Chi_Minh.
pub fn fixture() -> Report {
    use Channel::{Facebook, Zalo};
    let posts = vec![
        post(&HOP_DAN, Facebook, "1001_2001", fb(400, 300, 30, 5, 3, 20)),
        post(&HOP_DAN, Zalo, "za-hop-dan", zl(2100, 15, 1, 12)),
        post(
            &TIEM_CHUNG,
            Facebook,
            "1001_2002",
            fb(250, 200, 20, 2, 2, 10),
        ),
        post(&TIEM_CHUNG, Zalo, "za-tiem-chung", zl(1500, 10, 0, 8)),
        post(&LU, Facebook, "1001_2003", fb(584, 480, 37, 5, 4, 15)),
        post(&LU, Zalo, "za-lu", zl(2078, 15, 2, 11)),
        // Never collected: every figure missing.
        post(&SCRIPT, Facebook, "1001_2004", Figures::default()),
        // Collected, all zero, but clicks missing.
        post(
            &TIEP_DAN,
            Facebook,
            "1001_2005",
            figs([Some(0), Some(0), Some(0), Some(0), Some(0), None]),
        ),
    ];
    let top_posts = [1, 5, 3, 4, 0].iter().map(|&i| posts[i].clone()).collect();
    let weeks = [
        day(11, 2),
        day(11, 9),
        day(11, 16),
        day(11, 23),
        day(11, 30),
    ];
    let none = Figures::default();
    let periods = vec![
        period(weeks[0], Facebook, 2, fb(650, 500, 50, 7, 5, 30)),
        period(weeks[0], Zalo, 2, zl(3600, 25, 1, 20)),
        period(weeks[1], Facebook, 0, none),
        period(weeks[1], Zalo, 0, none),
        period(weeks[2], Facebook, 1, fb(584, 480, 37, 5, 4, 15)),
        period(weeks[2], Zalo, 1, zl(2078, 15, 2, 11)),
        period(weeks[3], Facebook, 1, none),
        period(weeks[3], Zalo, 0, none),
        period(
            weeks[4],
            Facebook,
            1,
            figs([Some(0), Some(0), Some(0), Some(0), Some(0), None]),
        ),
        period(weeks[4], Zalo, 0, none),
    ];
    let fb_weeks = [
        (2, PeriodStatus::Met),
        (0, PeriodStatus::Missed),
        (1, PeriodStatus::Missed),
        (1, PeriodStatus::Missed),
        (1, PeriodStatus::Open),
    ];
    let all_metrics = crate::metrics::METRIC_NAMES.to_vec();
    Report {
        since: day(11, 2),
        until: day(12, 3),
        timezone: "Asia/Ho_Chi_Minh".to_string(),
        channels: vec![
            ChannelTotals {
                channel: Facebook,
                posts: 5,
                figures: fb(1234, 980, 87, 12, 9, 45),
            },
            ChannelTotals {
                channel: Zalo,
                posts: 3,
                figures: zl(5678, 40, 3, 31),
            },
        ],
        periods,
        posts,
        targets: vec![
            TargetRow {
                channel: Facebook,
                target: "2/week".to_string(),
                achieved: 1.09,
                met: false,
                count: 2,
                per: By::Week,
                periods: weeks
                    .iter()
                    .zip(fb_weeks)
                    .map(|(&start, (posts, status))| TargetPeriod {
                        start,
                        posts,
                        status,
                    })
                    .collect(),
            },
            TargetRow {
                channel: Zalo,
                target: "1/month".to_string(),
                achieved: 2.85,
                met: true,
                count: 1,
                per: By::Month,
                periods: vec![
                    TargetPeriod {
                        start: day(11, 1),
                        posts: 3,
                        status: PeriodStatus::Met,
                    },
                    TargetPeriod {
                        start: day(12, 1),
                        posts: 0,
                        status: PeriodStatus::Open,
                    },
                ],
            },
        ],
        attention: vec![
            Attention {
                file: Some(SCRIPT.file.to_string()),
                channel: Zalo,
                state: "failed".to_string(),
                reason: "Zalo từ chối bài: tiêu đề chứa ký tự không hợp lệ (-201)".to_string(),
                kind: AttentionKind::Delivery,
                post_id: Some("script-post".to_string()),
                title: Some(SCRIPT_TITLE.to_string()),
                fix: Some("Sửa tiêu đề trong tệp rồi lưu lại; loa sẽ đăng lại.".to_string()),
            },
            Attention {
                file: None,
                channel: Facebook,
                state: "token_expiring".to_string(),
                reason: "Mã truy cập Facebook hết hạn ngày 10/12/2026".to_string(),
                kind: AttentionKind::Channel,
                post_id: None,
                title: None,
                fix: Some("loa auth facebook".to_string()),
            },
            Attention {
                file: None,
                channel: Zalo,
                state: "metric_retired".to_string(),
                reason: "Zalo không còn cung cấp số lượt nhấp".to_string(),
                kind: AttentionKind::Channel,
                post_id: None,
                title: None,
                fix: None,
            },
        ],
        by: By::Week,
        language: Language::Vi,
        generated_at: Utc.with_ymd_and_hms(2026, 12, 3, 3, 0, 0).unwrap(),
        top_posts,
        tags: vec![
            TagRow {
                tag: "họp dân".to_string(),
                posts: 2,
                figures: figs([Some(2500), Some(300), Some(45), Some(6), Some(15), Some(20)]),
            },
            TagRow {
                tag: "quy hoạch".to_string(),
                posts: 2,
                figures: figs([Some(2500), Some(300), Some(45), Some(6), Some(15), Some(20)]),
            },
            TagRow {
                tag: "thiên tai".to_string(),
                posts: 2,
                figures: figs([Some(2662), Some(480), Some(52), Some(7), Some(15), Some(15)]),
            },
            TagRow {
                tag: "y tế".to_string(),
                posts: 2,
                figures: figs([Some(1750), Some(200), Some(30), Some(2), Some(10), Some(10)]),
            },
            TagRow {
                tag: "hành chính".to_string(),
                posts: 1,
                figures: figs([Some(0), Some(0), Some(0), Some(0), Some(0), None]),
            },
        ],
        followers: vec![
            FollowerGrowth {
                channel: Facebook,
                first_day: day(11, 2),
                first: 1520,
                last_day: day(12, 3),
                last: 1604,
                change: 84,
            },
            FollowerGrowth {
                channel: Zalo,
                first_day: day(11, 2),
                first: 13_210,
                last_day: day(12, 3),
                last: 13_195,
                change: -15,
            },
        ],
        metrics: vec![
            ChannelMetrics {
                channel: Facebook,
                metrics: all_metrics,
            },
            ChannelMetrics {
                channel: Zalo,
                metrics: vec!["views", "reactions", "comments", "shares"],
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture's hand-worked totals are the sums of its posts, so tests can trust them.
    #[test]
    fn totals_are_the_sums_of_the_posts() {
        let r = fixture();
        for t in &r.channels {
            let mut sum = Figures::default();
            let mut n = 0;
            for p in r.posts.iter().filter(|p| p.channel == t.channel) {
                sum.add(&p.metrics);
                n += 1;
            }
            assert_eq!(sum, t.figures, "{}", t.channel);
            assert_eq!(n, t.posts);
            let mut by_period = Figures::default();
            for p in r.periods.iter().filter(|p| p.channel == t.channel) {
                by_period.add(&p.figures);
            }
            assert_eq!(by_period, t.figures, "{}", t.channel);
        }
        assert!(r.periods.len() / 2 >= 5);
    }
}
