//! Number, date and word forms for the report, in the report's own language.
//!
//! Every function takes the [`Language`] explicitly (never the process-wide `i18n::tr`), so one
//! process can lay out a report in Vietnamese and another in English. Vietnamese forms:
//! `1.234.567`, `1,5`, `03/12/2026`, `03/12/2026 07:00`; English forms: `1,234,567`, `1.5`,
//! `2026-12-03`, `2026-12-03 07:00`. A missing figure is [`MISSING`], never 0.

use chrono::{Datelike, NaiveDate};

use crate::channel::Channel;
use crate::i18n::Language;

use super::model::{By, PeriodStatus, Report};

/// How a missing figure shows: a dash, never 0.
pub const MISSING: &str = "—";

/// The English or the Vietnamese text, whichever `lang` is.
pub fn pick<T>(lang: Language, en: T, vi: T) -> T {
    match lang {
        Language::En => en,
        Language::Vi => vi,
    }
}

/// `digits` (ASCII digits only) with `sep` between groups of three.
fn group(digits: &str, sep: char) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A whole number: `1.234.567` (vi) or `1,234,567` (en).
pub fn int(lang: Language, n: u64) -> String {
    group(&n.to_string(), pick(lang, ',', '.'))
}

/// A signed whole number, with its sign when not zero: `+84`, `-1.234`.
pub fn signed(lang: Language, n: i64) -> String {
    let body = int(lang, n.unsigned_abs());
    match n {
        0 => body,
        n if n > 0 => format!("+{body}"),
        _ => format!("-{body}"),
    }
}

/// A number to at most two decimal places, trailing zeros dropped: `1,5` (vi) or `1.5` (en).
pub fn decimal(lang: Language, x: f64) -> String {
    let fixed = format!("{:.2}", x.abs());
    let (whole, frac) = fixed.split_once('.').unwrap_or((&fixed, ""));
    let frac = frac.trim_end_matches('0');
    let mut out = String::new();
    if x < 0.0 && fixed.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.push('-');
    }
    out.push_str(&group(whole, pick(lang, ',', '.')));
    if !frac.is_empty() {
        out.push(pick(lang, '.', ','));
        out.push_str(frac);
    }
    out
}

/// A figure, or [`MISSING`] when there is none.
pub fn figure(lang: Language, n: Option<u64>) -> String {
    n.map_or_else(|| MISSING.to_string(), |n| int(lang, n))
}

/// A day: `03/12/2026` (vi) or `2026-12-03` (en).
pub fn date(lang: Language, d: NaiveDate) -> String {
    d.format(pick(lang, "%Y-%m-%d", "%d/%m/%Y")).to_string()
}

/// A local time (without its zone; name the zone nearby with [`zone`]): `03/12/2026 07:00` (vi)
/// or `2026-12-03 07:00` (en).
pub fn date_time<Tz: chrono::TimeZone>(lang: Language, t: &chrono::DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    t.format(pick(lang, "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"))
        .to_string()
}

/// Names the zone times are shown in: `giờ Asia/Ho_Chi_Minh` (vi) or `Asia/Ho_Chi_Minh time`
/// (en).
pub fn zone(lang: Language, timezone: &str) -> String {
    pick(lang, format!("{timezone} time"), format!("giờ {timezone}"))
}

/// A range of days: `02/11/2026 – 03/12/2026`.
pub fn range(lang: Language, since: NaiveDate, until: NaiveDate) -> String {
    format!("{} – {}", date(lang, since), date(lang, until))
}

/// A period, in full: a week as its first and last day, a month as `tháng 11/2026` (vi) or
/// `2026-11` (en).
pub fn period(lang: Language, by: By, start: NaiveDate, end: NaiveDate) -> String {
    match by {
        By::Week => range(lang, start, end),
        By::Month => pick(
            lang,
            format!("{:04}-{:02}", start.year(), start.month()),
            format!("tháng {:02}/{:04}", start.month(), start.year()),
        ),
    }
}

/// A period, short enough for a chart's axis: a week as its first day without the year
/// (`02/11`, `11-02`), a month as `11/2026` or `2026-11`.
pub fn period_short(lang: Language, by: By, start: NaiveDate) -> String {
    match by {
        By::Week => start.format(pick(lang, "%m-%d", "%d/%m")).to_string(),
        By::Month => start.format(pick(lang, "%Y-%m", "%m/%Y")).to_string(),
    }
}

/// What a period is called: `week`/`tuần`, `month`/`tháng`.
pub fn by(lang: Language, by: By) -> &'static str {
    match by {
        By::Week => pick(lang, "week", "tuần"),
        By::Month => pick(lang, "month", "tháng"),
    }
}

/// A channel's name as people know it.
pub fn channel(c: Channel) -> &'static str {
    match c {
        Channel::Facebook => "Facebook",
        Channel::Zalo => "Zalo",
    }
}

/// A metric's label (`name` is one of [`crate::metrics::METRIC_NAMES`]; another is shown as is).
pub fn metric(lang: Language, name: &str) -> &str {
    match name {
        "views" => pick(lang, "views", "lượt xem"),
        "reach" => pick(lang, "reach", "tiếp cận"),
        "reactions" => pick(lang, "reactions", "cảm xúc"),
        "comments" => pick(lang, "comments", "bình luận"),
        "shares" => pick(lang, "shares", "chia sẻ"),
        "clicks" => pick(lang, "clicks", "lượt nhấp"),
        other => other,
    }
}

/// An attention item's state (a delivery's or a channel's, see
/// [`super::model::Attention::state`]); an unknown one is shown as is.
pub fn attention_state(lang: Language, state: &str) -> &str {
    match state {
        "failed" => pick(lang, "failed", "lỗi"),
        "unconfirmed" => pick(lang, "unconfirmed", "chưa xác nhận"),
        "missed" => pick(lang, "missed", "lỡ lịch"),
        "update_failed" => pick(lang, "edit failed", "sửa bài lỗi"),
        "broadcast_failed" => pick(lang, "broadcast failed", "gửi tin lỗi"),
        "broadcast_unconfirmed" => pick(lang, "broadcast unconfirmed", "gửi tin chưa xác nhận"),
        "rate_limited" => pick(lang, "rate limited", "bị giới hạn tần suất"),
        "needs_reauth" => pick(lang, "needs signing in again", "cần đăng nhập lại"),
        "token_expiring" => pick(lang, "token expiring", "mã truy cập sắp hết hạn"),
        "metric_retired" => pick(lang, "metric retired", "chỉ số đã ngừng cung cấp"),
        other => other,
    }
}

/// A target period's status.
pub fn period_status(lang: Language, s: PeriodStatus) -> &'static str {
    match s {
        PeriodStatus::Met => pick(lang, "met", "đạt"),
        PeriodStatus::Missed => pick(lang, "missed", "không đạt"),
        PeriodStatus::Open => pick(lang, "open", "chưa kết thúc"),
    }
}

/// Whether a whole target was met.
pub fn met(lang: Language, met: bool) -> &'static str {
    if met {
        pick(lang, "met", "đạt")
    } else {
        pick(lang, "not met", "không đạt")
    }
}

/// A target as configured (`2/week`) in words: `2 bài/tuần`, `2 posts/week`.
pub fn target(lang: Language, count: u32, per: By) -> String {
    pick(
        lang,
        format!(
            "{count} {}/{}",
            if count == 1 { "post" } else { "posts" },
            by(lang, per)
        ),
        format!("{count} bài/{}", by(lang, per)),
    )
}

/// The report's fixed words: titles, section headings, column headings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[expect(missing_docs, reason = "each variant is the word it names")]
pub enum Word {
    Title,
    Range,
    Generated,
    Totals,
    Periods,
    Targets,
    TopPosts,
    AllPosts,
    Tags,
    Followers,
    Attention,
    NothingNeedsYou,
    Channel,
    Period,
    Posts,
    Post,
    Target,
    Achieved,
    Result,
    Tag,
    File,
    PublishedAt,
    Link,
    Open,
    From,
    To,
    Change,
    State,
    Reason,
    Fix,
    ViewsChart,
    PostsChart,
    TargetLine,
    NoPosts,
    Missing,
}

/// The text of a fixed word.
pub fn word(lang: Language, w: Word) -> &'static str {
    let (en, vi) = match w {
        Word::Title => ("Engagement summary", "Báo cáo tương tác"),
        Word::Range => ("Range", "Khoảng thời gian"),
        Word::Generated => ("Made", "Lập lúc"),
        Word::Totals => ("Totals per channel", "Tổng theo kênh"),
        Word::Periods => ("Per period", "Theo kỳ"),
        Word::Targets => ("Targets", "Mục tiêu đăng bài"),
        Word::TopPosts => ("Most seen posts", "Bài được xem nhiều nhất"),
        Word::AllPosts => ("All posts", "Tất cả bài đăng"),
        Word::Tags => ("Per tag", "Theo chủ đề"),
        Word::Followers => ("Follower growth", "Tăng trưởng người theo dõi"),
        Word::Attention => ("Needs your attention", "Cần xử lý"),
        Word::NothingNeedsYou => ("Nothing needs you.", "Không có việc cần xử lý."),
        Word::Channel => ("Channel", "Kênh"),
        Word::Period => ("Period", "Kỳ"),
        Word::Posts => ("posts", "bài đăng"),
        Word::Post => ("Post", "Bài"),
        Word::Target => ("Target", "Mục tiêu"),
        Word::Achieved => ("Achieved", "Đạt được"),
        Word::Result => ("Result", "Kết quả"),
        Word::Tag => ("Tag", "Chủ đề"),
        Word::File => ("File", "Tệp"),
        Word::PublishedAt => ("Published", "Đăng lúc"),
        Word::Link => ("Link", "Liên kết"),
        Word::Open => ("open", "mở"),
        Word::From => ("From", "Từ"),
        Word::To => ("To", "Đến"),
        Word::Change => ("Change", "Thay đổi"),
        Word::State => ("State", "Trạng thái"),
        Word::Reason => ("Why", "Lý do"),
        Word::Fix => ("What to do", "Cách xử lý"),
        Word::ViewsChart => ("Views per period", "Lượt xem theo kỳ"),
        Word::PostsChart => (
            "Posts per period against the target",
            "Số bài theo kỳ so với mục tiêu",
        ),
        Word::TargetLine => ("target", "mục tiêu"),
        Word::NoPosts => (
            "No posts in this range.",
            "Không có bài đăng nào trong khoảng này.",
        ),
        Word::Missing => (
            "— : no figure from the platform",
            "— : nền tảng không có số liệu",
        ),
    };
    pick(lang, en, vi)
}

/// The metrics the report's channels have, in [`crate::metrics::METRIC_NAMES`] order: the
/// columns to lay out (all six when the report names none).
pub fn metric_columns(r: &Report) -> Vec<&'static str> {
    let known: Vec<&str> = r
        .metrics
        .iter()
        .flat_map(|m| m.metrics.iter().copied())
        .collect();
    crate::metrics::METRIC_NAMES
        .into_iter()
        .filter(|n| known.is_empty() || known.contains(n))
        .collect()
}

/// The last day of the period of kind `per` that starts on `start`.
pub fn period_end(per: By, start: NaiveDate) -> NaiveDate {
    match per {
        By::Week => start + chrono::Days::new(6),
        By::Month => {
            let first = start.with_day(1).unwrap_or(start);
            (first + chrono::Months::new(1)) - chrono::Days::new(1)
        }
    }
}

/// `s` with its first letter in capitals, for a heading made from a label.
pub fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use unicode_normalization::is_nfc;

    use Language::{En, Vi};

    #[test]
    fn whole_numbers_group_by_language() {
        assert_eq!(int(Vi, 0), "0");
        assert_eq!(int(Vi, 999), "999");
        assert_eq!(int(Vi, 1234), "1.234");
        assert_eq!(int(Vi, 1_234_567), "1.234.567");
        assert_eq!(int(En, 1_234_567), "1,234,567");
        assert_eq!(int(En, 100_000), "100,000");
        assert_eq!(signed(Vi, -1234), "-1.234");
        assert_eq!(signed(En, 84), "+84");
        assert_eq!(signed(En, 0), "0");
    }

    #[test]
    fn decimals_use_the_language_s_comma_or_point() {
        assert_eq!(decimal(Vi, 1.5), "1,5");
        assert_eq!(decimal(En, 1.5), "1.5");
        assert_eq!(decimal(Vi, 1.09), "1,09");
        assert_eq!(decimal(En, 2.0), "2");
        assert_eq!(decimal(Vi, 1234.25), "1.234,25");
        assert_eq!(decimal(En, 1234.25), "1,234.25");
        assert_eq!(decimal(En, -0.001), "0");
        assert_eq!(decimal(En, -1.5), "-1.5");
    }

    #[test]
    fn a_missing_figure_is_a_dash_not_zero() {
        assert_eq!(figure(Vi, None), "—");
        assert_eq!(figure(Vi, Some(0)), "0");
        assert_eq!(figure(Vi, Some(5678)), "5.678");
    }

    #[test]
    fn dates_and_times() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(date(Vi, d), "03/12/2026");
        assert_eq!(date(En, d), "2026-12-03");
        let t = chrono_tz::Asia::Ho_Chi_Minh
            .with_ymd_and_hms(2026, 12, 3, 7, 0, 0)
            .unwrap();
        assert_eq!(date_time(Vi, &t), "03/12/2026 07:00");
        assert_eq!(date_time(En, &t), "2026-12-03 07:00");
        assert_eq!(zone(Vi, "Asia/Ho_Chi_Minh"), "giờ Asia/Ho_Chi_Minh");
        assert_eq!(zone(En, "Asia/Ho_Chi_Minh"), "Asia/Ho_Chi_Minh time");
        let nov = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(period(Vi, By::Month, nov, end), "tháng 11/2026");
        assert_eq!(period(En, By::Month, nov, end), "2026-11");
        assert_eq!(period(Vi, By::Week, d, d), "03/12/2026 – 03/12/2026");
        assert_eq!(period_short(Vi, By::Week, d), "03/12");
        assert_eq!(period_short(En, By::Week, d), "12-03");
    }

    #[test]
    fn labels_in_both_languages() {
        assert_eq!(metric(Vi, "views"), "lượt xem");
        assert_eq!(metric(Vi, "clicks"), "lượt nhấp");
        assert_eq!(metric(En, "reactions"), "reactions");
        assert_eq!(metric(En, "odd"), "odd");
        assert_eq!(channel(Channel::Zalo), "Zalo");
        assert_eq!(attention_state(Vi, "needs_reauth"), "cần đăng nhập lại");
        assert_eq!(attention_state(En, "something_new"), "something_new");
        assert_eq!(period_status(Vi, PeriodStatus::Missed), "không đạt");
        assert_eq!(target(Vi, 2, By::Week), "2 bài/tuần");
        assert_eq!(target(En, 1, By::Month), "1 post/month");
        assert_eq!(word(Vi, Word::Title), "Báo cáo tương tác");
        assert_eq!(word(En, Word::Title), "Engagement summary");
    }

    /// Vietnamese typed in different editors can arrive decomposed; the report's own words must
    /// be NFC so they match and render the same everywhere.
    #[test]
    fn every_vietnamese_word_is_nfc() {
        let words = [
            Word::Title,
            Word::Range,
            Word::Generated,
            Word::Totals,
            Word::Periods,
            Word::Targets,
            Word::TopPosts,
            Word::AllPosts,
            Word::Tags,
            Word::Followers,
            Word::Attention,
            Word::NothingNeedsYou,
            Word::Channel,
            Word::Period,
            Word::Posts,
            Word::Post,
            Word::Target,
            Word::Achieved,
            Word::Result,
            Word::Tag,
            Word::File,
            Word::PublishedAt,
            Word::Link,
            Word::Open,
            Word::From,
            Word::To,
            Word::Change,
            Word::State,
            Word::Reason,
            Word::Fix,
            Word::ViewsChart,
            Word::PostsChart,
            Word::TargetLine,
            Word::NoPosts,
            Word::Missing,
        ];
        let states = [
            "failed",
            "unconfirmed",
            "missed",
            "update_failed",
            "broadcast_failed",
            "broadcast_unconfirmed",
            "rate_limited",
            "needs_reauth",
            "token_expiring",
            "metric_retired",
        ];
        let mut all: Vec<String> = words.iter().map(|w| word(Vi, *w).to_string()).collect();
        all.extend(states.iter().map(|s| attention_state(Vi, s).to_string()));
        all.extend(
            crate::metrics::METRIC_NAMES
                .iter()
                .map(|m| metric(Vi, m).to_string()),
        );
        for s in [PeriodStatus::Met, PeriodStatus::Missed, PeriodStatus::Open] {
            all.push(period_status(Vi, s).to_string());
        }
        all.push(met(Vi, false).to_string());
        all.push(zone(Vi, "Asia/Ho_Chi_Minh"));
        all.push(target(Vi, 2, By::Month));
        for s in all {
            assert!(is_nfc(&s), "{s:?} is not NFC");
        }
    }
}
