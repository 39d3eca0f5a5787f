//! Computes the [`Report`] from what the store holds: a pure function over the rows
//! ([`compute`]) and the store reads around it ([`load`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::model::*;
use crate::channel::Channel;
use crate::config::Config;
use crate::config::{Per, Target};
use crate::i18n::tr;
use crate::metrics::Figures;
use crate::store::{
    AccountRow, AttentionRow, ChannelRecord, Health, ReportRow, RetiredRecord, Store,
};

/// A token that ends within this many days is listed for attention.
pub const TOKEN_WARNING_DAYS: i64 = 14;

/// What the officer asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// First local day; default: the Monday three weeks before this week's.
    pub since: Option<NaiveDate>,
    /// Last local day (inclusive); default: today.
    pub until: Option<NaiveDate>,
    /// Grouping of the periods.
    pub by: By,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            since: None,
            until: None,
            by: By::Week,
        }
    }
}

/// Everything the report is computed from.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Deliveries published in the range, with their newest figures.
    pub rows: Vec<ReportRow>,
    /// Deliveries that need the officer.
    pub attention: Vec<AttentionRow>,
    /// The accounts' daily followers in the range.
    pub accounts: Vec<AccountRow>,
    /// The channels' health.
    pub channels: Vec<ChannelRecord>,
    /// Metrics the platforms retired.
    pub retired: Vec<RetiredRecord>,
    /// When Zalo's refresh token ends, when known.
    pub zalo_refresh_expires: Option<DateTime<Utc>>,
}

/// The range `options` names, seen on local day `today`: by default the four ISO weeks up to
/// and including today (this week's posts show).
pub fn range(options: &Options, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let until = options.until.unwrap_or(today);
    let since = options
        .since
        .unwrap_or_else(|| week_start(until) - Duration::weeks(3));
    (since, until)
}

/// The Monday of `d`'s ISO week.
pub fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn period_start(d: NaiveDate, by: By) -> NaiveDate {
    match by {
        By::Week => week_start(d),
        By::Month => month_start(d),
    }
}

fn next_period(start: NaiveDate, by: By) -> NaiveDate {
    match by {
        By::Week => start + Duration::weeks(1),
        By::Month => start
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(start + Duration::days(31)),
    }
}

/// The periods touching `since..=until`: (first day, last day).
fn periods(since: NaiveDate, until: NaiveDate, by: By) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = period_start(since, by);
    while start <= until {
        let next = next_period(start, by);
        out.push((start, next - Duration::days(1)));
        start = next;
    }
    out
}

/// Local midnight at the start of `day` in `tz`, in UTC.
pub fn day_start(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&midnight)
        .earliest()
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight).with_timezone(&tz))
        .with_timezone(&Utc)
}

/// The figures a channel reports, starting at 0 (a channel with no post still saw nobody).
fn zero(metrics: &[&str]) -> Figures {
    let mut f = Figures::default();
    for m in metrics {
        if let Some(slot) = f.slot(m) {
            *slot = Some(0);
        }
    }
    f
}

/// Sums `figures` over a channel's posts: a figure the channel reports starts at 0, and is
/// left out again when there were posts and none of them had it (a retired metric).
struct Sum {
    figures: Figures,
    seen: Figures,
    posts: u64,
}

impl Sum {
    fn new(metrics: &[&str]) -> Sum {
        Sum {
            figures: zero(metrics),
            seen: Figures::default(),
            posts: 0,
        }
    }

    fn add(&mut self, f: &Figures) {
        self.posts += 1;
        self.figures.add(f);
        self.seen.add(f);
    }

    fn done(self) -> (u64, Figures) {
        let mut figures = self.figures;
        if self.posts > 0 {
            for name in crate::metrics::METRIC_NAMES {
                if self.seen.get(name).is_none()
                    && let Some(slot) = figures.slot(name)
                {
                    *slot = None;
                }
            }
        }
        (self.posts, figures)
    }
}

fn metrics_of(channel: Channel) -> Vec<&'static str> {
    crate::channels::spec(channel)
        .map(|s| s.metrics().to_vec())
        .unwrap_or_default()
}

fn target_of(config: &Config, channel: Channel) -> Option<Target> {
    match channel {
        Channel::Facebook => config.targets.facebook,
        Channel::Zalo => config.targets.zalo,
    }
}

/// The report over `inputs`, for the range `options` names, seen at `now`.
pub fn compute(
    mut inputs: Inputs,
    config: &Config,
    options: &Options,
    now: DateTime<Utc>,
) -> Report {
    let tz = config.timezone;
    let today = now.with_timezone(&tz).date_naive();
    let (since, until) = range(options, today);
    let from = day_start(tz, since);
    let to = day_start(tz, until + Duration::days(1));
    let rows: Vec<ReportRow> = std::mem::take(&mut inputs.rows)
        .into_iter()
        .filter(|r| r.published_at >= from && r.published_at < to)
        .collect();

    let mut channels: Vec<Channel> = config.enabled_channels();
    for r in &rows {
        if !channels.contains(&r.channel) {
            channels.push(r.channel);
        }
    }
    channels.sort();

    let local_day = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();

    // Per channel.
    let mut totals = Vec::new();
    for &channel in &channels {
        let mut sum = Sum::new(&metrics_of(channel));
        for r in rows.iter().filter(|r| r.channel == channel) {
            sum.add(&r.figures.unwrap_or_default());
        }
        let (posts, figures) = sum.done();
        totals.push(ChannelTotals {
            channel,
            posts,
            figures,
        });
    }

    // Per period: each row's local day is worked out once, and each row lands in its period by
    // a binary search (a five-year report has 140,000 rows and 260 weeks).
    let days: Vec<NaiveDate> = rows.iter().map(|r| local_day(r.published_at)).collect();
    let spans = periods(since, until, options.by);
    let mut sums: BTreeMap<(usize, Channel), Sum> = BTreeMap::new();
    for (i, _) in spans.iter().enumerate() {
        for &channel in &channels {
            sums.insert((i, channel), Sum::new(&metrics_of(channel)));
        }
    }
    for (r, d) in rows.iter().zip(&days) {
        if let Some(i) = span_of(&spans, *d)
            && let Some(sum) = sums.get_mut(&(i, r.channel))
        {
            sum.add(&r.figures.unwrap_or_default());
        }
    }
    let mut period_rows = Vec::new();
    for ((i, channel), sum) in sums {
        let (start, end) = spans[i];
        let (posts, figures) = sum.done();
        period_rows.push(PeriodRow {
            start,
            channel,
            posts,
            figures,
            end,
        });
    }

    // Posts.
    let posts: Vec<PostRow> = rows
        .iter()
        .map(|r| PostRow {
            file: r.file.clone(),
            title: r.title.clone(),
            channel: r.channel,
            remote_id: r.remote_id.clone(),
            published_at: r.published_at.with_timezone(&tz),
            metrics: r.figures.unwrap_or_default(),
            tags: r.tags.clone(),
            link: r.link.clone().or_else(|| default_link(r)),
            metrics_at: r.taken_at.map(|t| t.with_timezone(&tz)),
        })
        .collect();
    // The most viewed, best first: sorted by index, so only the few kept are copied.
    let mut order: Vec<usize> = (0..posts.len())
        .filter(|i| posts[*i].metrics.views.is_some())
        .collect();
    order.sort_by(|a, b| {
        let (a, b) = (&posts[*a], &posts[*b]);
        b.metrics
            .views
            .cmp(&a.metrics.views)
            .then(b.metrics.reach.cmp(&a.metrics.reach))
            .then(a.published_at.cmp(&b.published_at))
    });
    let top: Vec<PostRow> = order
        .into_iter()
        .take(TOP_POSTS)
        .map(|i| posts[i].clone())
        .collect();

    // Per tag.
    let mut by_tag: BTreeMap<String, (u64, Figures)> = BTreeMap::new();
    for r in &rows {
        for tag in &r.tags {
            let entry = match by_tag.get_mut(tag) {
                Some(e) => e,
                None => by_tag.entry(tag.clone()).or_default(),
            };
            entry.0 += 1;
            entry.1.add(&r.figures.unwrap_or_default());
        }
    }
    let mut tags: Vec<TagRow> = by_tag
        .into_iter()
        .map(|(tag, (posts, figures))| TagRow {
            tag,
            posts,
            figures,
        })
        .collect();
    tags.sort_by(|a, b| b.posts.cmp(&a.posts).then(a.tag.cmp(&b.tag)));

    // Followers.
    let mut followers = Vec::new();
    for &channel in &channels {
        let counted: Vec<(NaiveDate, u64)> = inputs
            .accounts
            .iter()
            .filter(|a| a.channel == channel && a.day >= since && a.day <= until)
            .filter_map(|a| a.followers.map(|n| (a.day, n)))
            .collect();
        if let (Some(first), Some(last)) = (counted.first(), counted.last()) {
            followers.push(FollowerGrowth {
                channel,
                first_day: first.0,
                first: first.1,
                last_day: last.0,
                last: last.1,
                change: i64::try_from(last.1).unwrap_or(i64::MAX)
                    - i64::try_from(first.1).unwrap_or(i64::MAX),
            });
        }
    }

    // Targets.
    let mut targets = Vec::new();
    for &channel in &channels {
        let Some(target) = target_of(config, channel) else {
            continue;
        };
        targets.push(target_row(
            channel, target, &rows, &days, since, until, today,
        ));
    }

    let attention = attention(&inputs, &channels, now, tz);

    Report {
        since,
        until,
        timezone: tz.name().to_string(),
        channels: totals,
        periods: period_rows,
        posts,
        targets,
        attention,
        by: options.by,
        language: crate::i18n::language(),
        generated_at: now,
        top_posts: top,
        tags,
        followers,
        metrics: channels
            .iter()
            .map(|&channel| ChannelMetrics {
                channel,
                metrics: metrics_of(channel),
            })
            .collect(),
    }
}

/// Where a post can be seen when the platform did not say: Facebook's post address.
fn default_link(r: &ReportRow) -> Option<String> {
    post_address(r.channel, r.remote_id.as_deref())
}

/// Facebook's address for the post `remote_id` (a Page post id, digits and `_` only, so an
/// answer cannot smuggle a path in); `None` on Zalo, which says its articles' links itself.
pub fn post_address(channel: Channel, remote_id: Option<&str>) -> Option<String> {
    match channel {
        Channel::Facebook => remote_id
            .filter(|id| id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .map(|id| format!("https://www.facebook.com/{id}")),
        Channel::Zalo => None,
    }
}

/// The period of `spans` (sorted, contiguous) holding `day`.
fn span_of(spans: &[(NaiveDate, NaiveDate)], day: NaiveDate) -> Option<usize> {
    let i = spans
        .partition_point(|(start, _)| *start <= day)
        .checked_sub(1)?;
    (day <= spans[i].1).then_some(i)
}

fn target_row(
    channel: Channel,
    target: Target,
    rows: &[ReportRow],
    days: &[NaiveDate],
    since: NaiveDate,
    until: NaiveDate,
    today: NaiveDate,
) -> TargetRow {
    let by = match target.per {
        Per::Week => By::Week,
        Per::Month => By::Month,
    };
    let spans = periods(since, until, by);
    let mut counts = vec![0u64; spans.len()];
    for (r, d) in rows.iter().zip(days) {
        if r.channel == channel
            && *d >= since
            && *d <= until
            && let Some(i) = span_of(&spans, *d)
        {
            counts[i] += 1;
        }
    }
    let mut achieved_periods = 0.0;
    let total: u64 = counts.iter().sum();
    let mut out = Vec::new();
    for ((start, end), posts) in spans.into_iter().zip(counts) {
        let length = (end - start).num_days() + 1;
        let first = start.max(since);
        let last = end.min(until);
        let inside = (last - first).num_days() + 1;
        achieved_periods += inside as f64 / length as f64;
        let whole = first == start && last == end;
        let status = if posts >= u64::from(target.count) {
            PeriodStatus::Met
        } else if whole && end < today {
            PeriodStatus::Missed
        } else {
            PeriodStatus::Open
        };
        out.push(TargetPeriod {
            start,
            posts,
            status,
        });
    }
    let achieved = if achieved_periods > 0.0 {
        (total as f64 / achieved_periods * 100.0).round() / 100.0
    } else {
        0.0
    };
    TargetRow {
        channel,
        target: target.to_string(),
        achieved,
        met: achieved + 1e-9 >= f64::from(target.count),
        count: target.count,
        per: by,
        periods: out,
    }
}

fn delivery_reason(row: &AttentionRow) -> (String, String) {
    let (what, fix) = match row.state.as_str() {
        "failed" => (
            tr("publishing failed", "đăng không thành công"),
            tr(
                "fix what the error says, then `loa retry FILE`",
                "sửa theo lỗi, rồi chạy `loa retry TỆP`",
            ),
        ),
        "unconfirmed" => (
            tr(
                "loa cannot tell whether it went out",
                "loa không xác định được bài đã lên hay chưa",
            ),
            tr(
                "look on the platform; if it is not there, `loa retry --force FILE`",
                "xem trên nền tảng; nếu chưa có, chạy `loa retry --force TỆP`",
            ),
        ),
        "missed" => (
            tr(
                "its time passed while it could not be published",
                "đã quá giờ đăng mà chưa đăng được",
            ),
            tr(
                "set a new publish_at, or `loa retry FILE` to publish it now",
                "đặt publish_at mới, hoặc chạy `loa retry TỆP` để đăng ngay",
            ),
        ),
        "update_failed" => (
            tr(
                "an edit could not be pushed to the platform",
                "không cập nhật được nội dung sửa lên nền tảng",
            ),
            tr(
                "fix what the error says and save the file again",
                "sửa theo lỗi rồi lưu lại tệp",
            ),
        ),
        "broadcast_failed" => (
            tr(
                "sending it to followers failed",
                "gửi bài tới người theo dõi không thành công",
            ),
            tr(
                "see the error; the article itself is published",
                "xem lỗi; bài viết vẫn đã được đăng",
            ),
        ),
        _ => (
            tr(
                "loa cannot tell whether it was sent to followers",
                "loa không xác định được bài đã gửi tới người theo dõi hay chưa",
            ),
            tr(
                "check the OA's sent messages before sending again by hand",
                "kiểm tra tin đã gửi của OA trước khi tự gửi lại",
            ),
        ),
    };
    let reason = match &row.reason {
        // A broadcast's error already says what is not known and why.
        Some(e) if row.state.starts_with("broadcast_") => e.clone(),
        Some(e) => format!("{what}: {e}"),
        None => what.to_string(),
    };
    (
        reason,
        fix.replace("FILE", &row.file).replace("TỆP", &row.file),
    )
}

fn attention(inputs: &Inputs, channels: &[Channel], now: DateTime<Utc>, tz: Tz) -> Vec<Attention> {
    let mut out = Vec::new();
    for row in &inputs.attention {
        let (reason, fix) = delivery_reason(row);
        out.push(Attention {
            file: Some(row.file.clone()),
            channel: row.channel,
            state: row.state.clone(),
            reason,
            kind: AttentionKind::Delivery,
            title: Some(row.title.clone()),
            fix: Some(fix),
            post_id: Some(row.post_id.clone()),
        });
    }
    let hint = |c: Channel| crate::channels::spec(c).map(|s| s.reauth_hint());
    let date = |t: DateTime<Utc>| {
        let local = t.with_timezone(&tz);
        tr(
            format!("{} ({})", local.format("%Y-%m-%d %H:%M"), tz.name()),
            format!("{} (giờ {})", local.format("%d/%m/%Y %H:%M"), tz.name()),
        )
    };
    for rec in inputs
        .channels
        .iter()
        .filter(|c| channels.contains(&c.channel))
    {
        match rec.health {
            Health::NeedsReauth => out.push(Attention {
                file: None,
                channel: rec.channel,
                state: "needs_reauth".into(),
                reason: rec.reason.clone().unwrap_or_else(|| {
                    tr("the channel needs a new token", "kênh cần mã truy cập mới").into()
                }),
                kind: AttentionKind::Channel,
                post_id: None,
                title: None,
                fix: hint(rec.channel),
            }),
            Health::RateLimited if rec.paused_until.is_some_and(|t| t > now) => {
                let until = rec.paused_until.map(date).unwrap_or_default();
                out.push(Attention {
                    file: None,
                    channel: rec.channel,
                    state: "rate_limited".into(),
                    reason: tr(
                        format!(
                            "paused by the platform until {until}: {}",
                            rec.reason.clone().unwrap_or_default()
                        ),
                        format!(
                            "nền tảng tạm dừng đến {until}: {}",
                            rec.reason.clone().unwrap_or_default()
                        ),
                    ),
                    kind: AttentionKind::Channel,
                    post_id: None,
                    title: None,
                    fix: Some(
                        tr(
                            "nothing: loa carries on by itself after the pause",
                            "không cần làm gì: loa tự tiếp tục sau khi hết tạm dừng",
                        )
                        .into(),
                    ),
                });
            }
            _ => {}
        }
        if rec.channel == Channel::Facebook
            && let Some(t) = rec.token_expires_at
            && t - now < Duration::days(TOKEN_WARNING_DAYS)
        {
            out.push(token_expiring(rec.channel, t, &date, hint(rec.channel)));
        }
    }
    if channels.contains(&Channel::Zalo)
        && let Some(t) = inputs.zalo_refresh_expires
        && t - now < Duration::days(TOKEN_WARNING_DAYS)
    {
        out.push(token_expiring(Channel::Zalo, t, &date, hint(Channel::Zalo)));
    }
    for r in inputs
        .retired
        .iter()
        .filter(|r| channels.contains(&r.channel))
    {
        let when = date(r.retired_at);
        out.push(Attention {
            file: None,
            channel: r.channel,
            state: "metric_retired".into(),
            reason: {
                let figure = super::format::metric(crate::i18n::language(), &r.figure);
                tr(
                    format!(
                        "{} retired the metric {} on {when}: {figure} are no longer collected",
                        super::format::channel(r.channel),
                        r.metric
                    ),
                    format!(
                        "{} đã bỏ chỉ số {} từ {when}: không còn thu thập {figure}",
                        super::format::channel(r.channel),
                        r.metric
                    ),
                )
            },
            kind: AttentionKind::Channel,
            post_id: None,
            title: None,
            fix: Some(
                tr(
                    "nothing to do: the other figures carry on",
                    "không cần làm gì: các số liệu khác vẫn được thu thập",
                )
                .into(),
            ),
        });
    }
    out
}

fn token_expiring(
    channel: Channel,
    at: DateTime<Utc>,
    date: &dyn Fn(DateTime<Utc>) -> String,
    hint: Option<String>,
) -> Attention {
    let when = date(at);
    Attention {
        file: None,
        channel,
        state: "token_expiring".into(),
        reason: tr(
            format!("the token ends on {when}"),
            format!("mã truy cập hết hạn vào {when}"),
        ),
        kind: AttentionKind::Channel,
        post_id: None,
        title: None,
        fix: hint,
    }
}

/// Only the attention list of the report (what needs the officer, on the enabled channels),
/// without reading the range's figures: for pages that show it beside something else.
pub fn load_attention(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
    zalo_refresh_expires: Option<DateTime<Utc>>,
) -> crate::store::Result<Vec<Attention>> {
    let inputs = Inputs {
        rows: Vec::new(),
        attention: store.attention_rows()?,
        accounts: Vec::new(),
        channels: store.channels()?,
        retired: store.all_retired_metrics()?,
        zalo_refresh_expires,
    };
    Ok(attention(
        &inputs,
        &config.enabled_channels(),
        now,
        config.timezone,
    ))
}

/// Reads what the report needs from `store` and computes it.
pub fn load(
    store: &Store,
    config: &Config,
    options: &Options,
    now: DateTime<Utc>,
    zalo_refresh_expires: Option<DateTime<Utc>>,
) -> crate::store::Result<Report> {
    let tz = config.timezone;
    let today = now.with_timezone(&tz).date_naive();
    let (since, until) = range(options, today);
    let inputs = Inputs {
        rows: store.report_rows(
            day_start(tz, since),
            day_start(tz, until + Duration::days(1)),
        )?,
        attention: store.attention_rows()?,
        accounts: store.account_rows(since, until)?,
        channels: store.channels()?,
        retired: store.all_retired_metrics()?,
        zalo_refresh_expires,
    };
    Ok(compute(inputs, config, options, now))
}
