//! `loa status`: every post and its deliveries, channel health, next free slots — one model,
//! printed as text for the officer or as JSON (CONTRACT.md) for scripts. Times are shown in the
//! configured zone, with the zone named.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::channel::Channel;
use crate::config::Config;
use crate::engine::slots;
use crate::i18n::tr;
use crate::store::{self, BroadcastState, Delivery, Health, State, Store, UpdateState};

/// The whole status.
#[derive(Debug, Serialize)]
pub struct Status {
    /// Posts, by file.
    pub posts: Vec<PostStatus>,
    /// Channel health.
    pub channels: Vec<ChannelStatus>,
    /// The zone every time is shown in.
    pub timezone: String,
    /// Deliveries whose record loa cannot read: loa leaves them alone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<UnreadableStatus>,
    /// The running service's dashboard address (`[web]`), when it serves one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<String>,
    /// Alerts of the last week a configured sink has not taken yet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undelivered_alerts: Vec<UndeliveredAlert>,
}

/// An alert a sink has not taken yet.
#[derive(Debug, Serialize)]
pub struct UndeliveredAlert {
    /// The alert's kind (`delivery_failed`, …).
    pub kind: String,
    /// When it happened (local time).
    pub at: String,
    /// The sink, as the officer knows it (`email to …`, `webhook …`).
    pub sink: String,
    /// Tries so far.
    pub attempts: u32,
    /// Why the last try failed.
    pub error: Option<String>,
}

/// A delivery whose record holds a value this loa does not know.
#[derive(Debug, Serialize)]
pub struct UnreadableStatus {
    /// The post's file (or its id, when the post is unknown too).
    pub file: String,
    /// The channel, as stored.
    pub channel: String,
    /// What is wrong, and what to do.
    pub problem: String,
}

/// One post.
#[derive(Debug, Serialize)]
pub struct PostStatus {
    /// Stable id (what `loa retry` also takes).
    pub id: String,
    /// The file, as the officer finds it.
    pub file: String,
    /// Title.
    pub title: String,
    /// When it goes (or went) out: its `publish_at`, else its slot.
    pub publish_at: Option<String>,
    /// Whether the file is still in the posts folder.
    pub present: bool,
    /// Problems that keep it from being published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<String>>,
    /// Its deliveries.
    pub deliveries: Vec<DeliveryStatus>,
}

/// One delivery.
#[derive(Debug, Serialize)]
pub struct DeliveryStatus {
    /// Channel.
    pub channel: Channel,
    /// State (CONTRACT.md).
    pub state: State,
    /// When this channel's delivery is due (`publish_at`, or the channel's own slot: a post's
    /// channels can have different slots when one channel's slot is taken).
    pub due_at: Option<String>,
    /// The platform's id.
    pub remote_id: Option<String>,
    /// Requests made.
    pub attempts: u32,
    /// Next try.
    pub next_attempt_at: Option<String>,
    /// When it was published.
    pub published_at: Option<String>,
    /// Why it is not (yet) published, in the platform's words where there are some.
    pub last_error: Option<String>,
    /// An update of the published post: `pending`, `sending` or `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateState>,
    /// Sending to followers (Zalo): `wanted`, `pending`, `sending`, `sent`, `failed`,
    /// `unconfirmed`, `cancelled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<BroadcastState>,
    /// Why the broadcast is not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broadcast_error: Option<String>,
}

/// One channel.
#[derive(Debug, Serialize)]
pub struct ChannelStatus {
    /// Channel.
    pub channel: Channel,
    /// `ok`, `rate_limited` or `needs_reauth`.
    pub health: String,
    /// No request before this time.
    pub paused_until: Option<String>,
    /// When the access token expires, when known.
    pub token_expires_at: Option<String>,
    /// Why it is not ok, and what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The next free weekly slot.
    pub next_free_slot: Option<String>,
}

/// Builds the status from the store at time `now`. `unavailable` lists enabled channels loa
/// cannot send to now, and why.
pub fn build(
    s: &Store,
    config: &Config,
    now: DateTime<Utc>,
    unavailable: &[crate::service::Unavailable],
) -> store::Result<Status> {
    let tz = config.timezone;
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).to_rfc3339();
    let deliveries = s.deliveries()?;
    let mut by_post: BTreeMap<&str, Vec<&Delivery>> = BTreeMap::new();
    for d in &deliveries {
        by_post.entry(d.post_id.as_str()).or_default().push(d);
    }
    let mut posts = Vec::new();
    for p in s.all_posts()? {
        let ds = by_post.remove(p.id.as_str()).unwrap_or_default();
        // A removed file that never had a delivery is history, not status.
        if !p.present && ds.iter().all(|d| d.state == State::Cancelled) && p.problems.is_some() {
            continue;
        }
        let publish_at = p
            .meta
            .get("publish_at")
            .and_then(|v| v.as_str())
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| local(t.with_timezone(&Utc)))
            .or_else(|| ds.iter().filter_map(|d| d.due_at).min().map(local));
        posts.push(PostStatus {
            file: crate::paths::display(&config.posts_dir.join(&p.path))
                .display()
                .to_string(),
            id: p.id,
            title: p.title,
            publish_at,
            present: p.present,
            problems: p.problems,
            deliveries: ds
                .into_iter()
                .map(|d| DeliveryStatus {
                    channel: d.channel,
                    state: d.state,
                    due_at: d.due_at.map(local),
                    remote_id: d.remote_id.clone(),
                    attempts: d.attempts,
                    next_attempt_at: d
                        .next_attempt_at
                        .filter(|_| d.state == State::RetryWait)
                        .map(local),
                    published_at: d.published_at.map(local),
                    last_error: d.last_error.clone(),
                    update: d.update_state,
                    broadcast: d.broadcast_state,
                    broadcast_error: d.broadcast_error.clone(),
                })
                .collect(),
        });
    }
    let recorded: BTreeMap<Channel, store::ChannelRecord> =
        s.channels()?.into_iter().map(|c| (c.channel, c)).collect();
    let channels = config
        .enabled_channels()
        .into_iter()
        .map(|channel| {
            let rec = recorded.get(&channel);
            let paused_until = rec.and_then(|r| r.paused_until).filter(|t| *t > now);
            let (health, reason) = if let Some(u) =
                unavailable.iter().find(|u| u.channel == channel)
            {
                (u.health.to_string(), Some(u.reason.clone()))
            } else {
                match rec {
                    Some(r) if r.health == Health::NeedsReauth => (
                        r.health.to_string(),
                        Some(format!(
                            "{} — {}",
                            r.reason.clone().unwrap_or_default(),
                            crate::channels::spec(channel)
                                .map(|s| s.reauth_hint())
                                .unwrap_or_default()
                        )),
                    ),
                    Some(r) if paused_until.is_some() => (r.health.to_string(), r.reason.clone()),
                    // Token warnings from the start-up check (expiring, a missing permission).
                    Some(r) if r.health == Health::Ok => ("ok".to_string(), r.reason.clone()),
                    _ => ("ok".to_string(), None),
                }
            };
            let taken: Vec<DateTime<Utc>> = deliveries
                .iter()
                .filter(|d| {
                    d.channel == channel
                        && !matches!(d.state, State::Cancelled | State::Failed | State::Missed)
                })
                .filter_map(|d| d.due_at)
                .collect();
            ChannelStatus {
                channel,
                health,
                paused_until: paused_until.map(local),
                token_expires_at: rec.and_then(|r| r.token_expires_at).map(local),
                reason,
                next_free_slot: slots::next_free(&config.schedule.slots, tz, now, &taken)
                    .map(local),
            }
        })
        .collect();
    let unreadable = s
        .unreadable_deliveries()?
        .into_iter()
        .map(|u| {
            let file = s
                .post(&u.post_id)
                .ok()
                .flatten()
                .map(|p| {
                    crate::paths::display(&config.posts_dir.join(&p.path))
                        .display()
                        .to_string()
                })
                .unwrap_or(u.post_id);
            UnreadableStatus {
                file,
                channel: u.channel,
                problem: tr(
                    format!(
                        "{}: loa does not touch this delivery (it is never published); was the database written by a newer loa, or edited by hand? Use that newer loa, or restore loa.db from a backup",
                        u.problem
                    ),
                    format!(
                        "{}: loa không đụng tới lượt đăng này (sẽ không được đăng); cơ sở dữ liệu có phải do bản loa mới hơn ghi, hoặc bị sửa tay? Hãy dùng bản loa mới hơn đó, hoặc khôi phục loa.db từ bản sao lưu",
                        u.problem
                    ),
                ),
            }
        })
        .collect();
    Ok(Status {
        posts,
        channels,
        timezone: tz.name().to_string(),
        unreadable,
        dashboard: None,
        undelivered_alerts: Vec::new(),
    })
}

/// The officer's word for a state.
pub fn state_label(state: State) -> &'static str {
    match state {
        State::Scheduled => tr("scheduled", "đã lên lịch"),
        State::Publishing => tr("publishing", "đang đăng"),
        State::RetryWait => tr("waiting to retry", "chờ thử lại"),
        State::Published => tr("published", "đã đăng"),
        State::Unconfirmed => tr("unconfirmed", "chưa xác nhận"),
        State::Failed => tr("failed", "lỗi"),
        State::Missed => tr("missed", "lỡ lịch"),
        State::Cancelled => tr("cancelled", "đã hủy"),
    }
}

/// A local time for people: `Thứ 3 01/12/2026 07:00`.
pub fn human_time(rfc3339: &str, tz: Tz) -> String {
    let Ok(t) = DateTime::parse_from_rfc3339(rfc3339) else {
        return rfc3339.to_string();
    };
    let t = t.with_timezone(&tz);
    let day = crate::config::Slot {
        weekday: chrono::Datelike::weekday(&t),
        time: t.time(),
    }
    .to_string();
    let weekday = day
        .rsplit_once(' ')
        .map_or(day.as_str(), |(d, _)| d)
        .to_string();
    format!("{weekday} {}", t.format("%d/%m/%Y %H:%M"))
}

/// The status as text for the officer.
pub fn text(status: &Status, tz: Tz) -> String {
    let mut out = String::new();
    let when = |s: &Option<String>| s.as_deref().map(|s| human_time(s, tz)).unwrap_or_default();
    out.push_str(&tr(
        format!("Posts (times in {})\n", status.timezone),
        format!("Bài viết (giờ {})\n", status.timezone),
    ));
    if status.posts.is_empty() {
        out.push_str(tr("  no posts yet\n", "  chưa có bài nào\n"));
    }
    for p in &status.posts {
        let gone = if p.present {
            String::new()
        } else {
            tr(" (file removed)", " (đã xóa tệp)").to_string()
        };
        out.push_str(&format!("\n{} — {}{gone}\n", p.file, p.title));
        for problem in p.problems.iter().flatten() {
            out.push_str(&format!("  ! {problem}\n"));
        }
        for d in &p.deliveries {
            let detail = match d.state {
                State::Published => format!(
                    "{} · id {}",
                    when(&d.published_at),
                    d.remote_id.as_deref().unwrap_or("?")
                ),
                State::RetryWait => format!(
                    "{} {}",
                    tr("next try", "thử lại lúc"),
                    when(&d.next_attempt_at)
                ),
                // Each channel's own time: one channel's slot may be taken by a dated post.
                _ if d.due_at.is_some() => when(&d.due_at),
                _ => when(&p.publish_at),
            };
            out.push_str(&format!(
                "  {:<9} {:<16} {detail}\n",
                d.channel.name(),
                state_label(d.state)
            ));
            if let Some(b) = d.broadcast {
                let label = match b {
                    BroadcastState::Wanted => tr("after publishing", "sau khi đăng"),
                    BroadcastState::Pending => tr("waiting", "đang chờ"),
                    BroadcastState::Sending => tr("sending", "đang gửi"),
                    BroadcastState::Sent => tr("sent", "đã gửi"),
                    BroadcastState::Failed => tr("failed", "lỗi"),
                    BroadcastState::Unconfirmed => tr("unconfirmed", "chưa xác nhận"),
                    BroadcastState::Cancelled => tr("cancelled", "đã hủy"),
                };
                out.push_str(&format!(
                    "            {}: {label}\n",
                    tr("to followers", "gửi người quan tâm")
                ));
                if let Some(e) = &d.broadcast_error {
                    out.push_str(&format!("            {e}\n"));
                }
            }
            if let Some(update) = d.update {
                let label = match update {
                    UpdateState::Pending => tr("waiting", "đang chờ"),
                    UpdateState::Sending => tr("sending", "đang gửi"),
                    UpdateState::Failed => tr("failed", "lỗi"),
                };
                out.push_str(&format!(
                    "            {}: {label}\n",
                    tr("update", "cập nhật")
                ));
            }
            if let Some(e) = d
                .last_error
                .as_ref()
                .filter(|_| d.state != State::Published || d.update.is_some())
            {
                out.push_str(&format!("            {e}\n"));
            }
        }
    }
    for u in &status.unreadable {
        out.push_str(&format!(
            "\n{} — {}\n  ! {}\n",
            u.file, u.channel, u.problem
        ));
    }
    out.push_str(&format!("\n{}\n", tr("Channels", "Kênh")));
    for c in &status.channels {
        out.push_str(&format!("  {:<9} {}", c.channel.name(), c.health));
        if let Some(p) = &c.paused_until {
            out.push_str(&format!(" {} {}", tr("until", "tới"), human_time(p, tz)));
        }
        if let Some(slot) = &c.next_free_slot {
            out.push_str(&format!(
                " · {} {}",
                tr("next free slot", "khung giờ trống"),
                human_time(slot, tz)
            ));
        }
        out.push('\n');
        if let Some(r) = &c.reason {
            out.push_str(&format!("            {r}\n"));
        }
    }
    if !status.undelivered_alerts.is_empty() {
        out.push_str(&format!(
            "\n{}\n",
            tr("Alerts not delivered", "Cảnh báo chưa gửi được")
        ));
        for a in &status.undelivered_alerts {
            out.push_str(&format!(
                "  {} · {} · {} ({} {})\n",
                human_time(&a.at, tz),
                a.kind,
                a.sink,
                a.attempts,
                tr("tries", "lần thử")
            ));
            if let Some(e) = &a.error {
                out.push_str(&format!("            {e}\n"));
            }
        }
    }
    if let Some(url) = &status.dashboard {
        out.push_str(&format!(
            "\n{}: {url}\n",
            tr("Dashboard", "Bảng điều khiển")
        ));
    }
    out
}
