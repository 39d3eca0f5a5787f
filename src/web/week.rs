//! **Tuần này / This week**: a Monday-first calendar of this week and the next. Each weekly
//! slot shows the post that takes it (a delivery of any channel within [`SLOT_GAP`] of it) or
//! "free"; each dated post shows at its time; each channel's state is a badge with a word. Under
//! it, each channel's next free slot.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Datelike, Duration, DurationRound, NaiveDate, TimeZone, Utc};

use super::view::{self, Badge, Frame};
use super::{Dashboard, Session, WebError};
use crate::channel::Channel;
use crate::engine::slots::{self, SLOT_GAP};
use crate::i18n::tr;
use crate::store::{Delivery, PostSummary};

/// One thing on a day.
struct Entry {
    time: String,
    /// `slot`, `dated` or `free`.
    kind: String,
    title: String,
    href: Option<String>,
    badges: Vec<(String, Badge)>,
}

struct Day {
    name: &'static str,
    date: String,
    today: bool,
    entries: Vec<Entry>,
}

struct Week {
    heading: String,
    days: Vec<Day>,
}

#[derive(Template)]
#[template(path = "web/week.html")]
struct Page {
    f: Frame,
    weeks: Vec<Week>,
    next_free: Vec<(String, String)>,
    no_slots: bool,
    nothing: &'static str,
    next_free_title: &'static str,
}

/// What the week page reads, in one go on the dashboard's connection.
struct Read {
    deliveries: Vec<Delivery>,
    posts: BTreeMap<String, PostSummary>,
    taken: Vec<(Channel, Vec<DateTime<Utc>>)>,
}

/// The Monday 00:00 (local) of the week holding `now`, as UTC.
pub fn monday_of(now: DateTime<Utc>, tz: chrono_tz::Tz) -> (NaiveDate, DateTime<Utc>) {
    let today = now.with_timezone(&tz).date_naive();
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let start = tz
        .from_local_datetime(&monday.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map_or(now, |t| t.with_timezone(&Utc));
    (monday, start)
}

/// `GET /`.
pub async fn page(
    State(d): State<Arc<Dashboard>>,
    Extension(session): Extension<Session>,
) -> Result<Response, WebError> {
    let tz = d.config.timezone;
    let now = d.now();
    let (monday, from) = monday_of(now, tz);
    let to = from + Duration::days(15);
    let channels = d.config.enabled_channels();
    let read = d
        .read(move |s| {
            let deliveries = s.deliveries_between(from, to)?;
            let mut ids: Vec<String> = deliveries.iter().map(|x| x.post_id.clone()).collect();
            ids.sort();
            ids.dedup();
            let mut posts = BTreeMap::new();
            for id in ids {
                if let Some(p) = s.post_summary(&id)? {
                    posts.insert(id, p);
                }
            }
            let mut taken = Vec::new();
            for c in channels {
                taken.push((c, s.taken_times(c, now - SLOT_GAP)?));
            }
            Ok(Read {
                deliveries,
                posts,
                taken,
            })
        })
        .await?;

    let today = now.with_timezone(&tz).date_naive();
    // A post's deliveries at one local minute are one entry, with a badge per channel.
    let mut at: BTreeMap<(DateTime<Utc>, String), Vec<&Delivery>> = BTreeMap::new();
    for x in &read.deliveries {
        if let Some(t) = x.due_at.or(x.published_at) {
            let minute = t.duration_trunc(Duration::minutes(1)).unwrap_or(t);
            at.entry((minute, x.post_id.clone())).or_default().push(x);
        }
    }
    let mut weeks = Vec::new();
    for w in 0..2 {
        let mut days = Vec::new();
        for i in 0..7 {
            let date = monday + Duration::days(w * 7 + i);
            let mut entries: Vec<(DateTime<Utc>, Entry)> = Vec::new();
            for ((t, post_id), ds) in &at {
                if t.with_timezone(&tz).date_naive() != date {
                    continue;
                }
                let post = read.posts.get(post_id);
                let slotted = ds.iter().any(|x| x.slotted);
                entries.push((
                    *t,
                    Entry {
                        time: view::clock(*t, tz),
                        kind: if slotted {
                            tr("weekly slot", "khung giờ hằng tuần").into()
                        } else {
                            tr("dated post", "bài có hẹn giờ").into()
                        },
                        title: post.map(title_of).unwrap_or_default(),
                        href: post.map(|p| format!("/posts/{}", p.id)),
                        badges: ds
                            .iter()
                            .map(|x| {
                                (
                                    view::channel_name(x.channel).to_string(),
                                    view::state_badge(x.state),
                                )
                            })
                            .collect(),
                    },
                ));
            }
            // A slot with nothing within the hour of it is free.
            for slot in d
                .config
                .schedule
                .slots
                .iter()
                .filter(|s| s.weekday == date.weekday())
            {
                let Some(t) = tz.from_local_datetime(&date.and_time(slot.time)).earliest() else {
                    continue;
                };
                let t = t.with_timezone(&Utc);
                let taken = read
                    .deliveries
                    .iter()
                    .filter_map(|x| x.due_at)
                    .any(|o| (o - t).abs() < SLOT_GAP);
                if !taken {
                    entries.push((
                        t,
                        Entry {
                            time: view::clock(t, tz),
                            kind: tr("weekly slot", "khung giờ hằng tuần").into(),
                            title: String::new(),
                            href: None,
                            badges: vec![(
                                String::new(),
                                Badge {
                                    class: "st-free",
                                    word: if t < now {
                                        tr("passed", "đã qua").into()
                                    } else {
                                        tr("free", "còn trống").into()
                                    },
                                },
                            )],
                        },
                    ));
                }
            }
            entries.sort_by_key(|a| a.0);
            days.push(Day {
                name: view::weekday(date.weekday()),
                date: date.format("%d/%m").to_string(),
                today: date == today,
                entries: entries.into_iter().map(|(_, e)| e).collect(),
            });
        }
        let first = monday + Duration::days(w * 7);
        days_heading(&mut weeks, w, first, days);
    }
    let next_free = read
        .taken
        .iter()
        .map(|(c, taken)| {
            let free = slots::next_free(&d.config.schedule.slots, tz, now, taken)
                .map(|t| view::when(t, tz))
                .unwrap_or_else(|| tr("none", "không có").into());
            (view::channel_name(*c).to_string(), free)
        })
        .collect();
    let page = Page {
        f: Frame::new(
            &d,
            Some(&session),
            tr("This week", "Tuần này"),
            "week",
            Some(d.attention_count().await?),
        ),
        weeks,
        next_free,
        no_slots: d.config.schedule.slots.is_empty(),
        nothing: tr("nothing planned", "chưa có gì"),
        next_free_title: tr("Next free slot", "Khung giờ trống tiếp theo"),
    };
    super::view::render(&page, StatusCode::OK)
}

fn days_heading(weeks: &mut Vec<Week>, w: i64, first: NaiveDate, days: Vec<Day>) {
    let last = first + Duration::days(6);
    let range = crate::report::format::range(crate::i18n::language(), first, last);
    let heading = if w == 0 {
        format!("{} · {range}", tr("This week", "Tuần này"))
    } else {
        format!("{} · {range}", tr("Next week", "Tuần sau"))
    };
    weeks.push(Week { heading, days });
}

/// A post's title, or its file when it has none (a post with errors).
pub fn title_of(p: &PostSummary) -> String {
    if p.title.trim().is_empty() {
        p.path.clone()
    } else {
        p.title.clone()
    }
}
