//! **Bài viết / Posts**: every post, newest first, a page at a time, filtered by state and
//! channel: title, file, time, each channel's state, attempts, the platform link once
//! published, the last error with its fix.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::view::{self, Badge, Frame};
use super::{Dashboard, Session, WebError};
use crate::channel::Channel;
use crate::i18n::tr;
use crate::store::{Delivery, PostFilter, PostSummary, State as DeliveryState};

/// Posts per page: a page stays quick and short on a phone whatever the store holds.
pub const PAGE_SIZE: u64 = 50;

/// The list's query: `?state=failed&channel=zalo&page=2`. Unknown values are an error page,
/// not an empty list that hides the mistake.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    channel: Option<String>,
    page: Option<String>,
}

/// One delivery in a row.
pub struct Line {
    pub channel: &'static str,
    pub badge: Badge,
    pub when: String,
    pub attempts: u32,
    pub link: Option<String>,
    pub error: Option<String>,
    pub fix: Option<String>,
}

struct Row {
    href: String,
    title: String,
    file: String,
    present: bool,
    problems: Vec<String>,
    lines: Vec<Line>,
}

#[derive(Template)]
#[template(path = "web/posts.html")]
struct Page {
    f: Frame,
    rows: Vec<Row>,
    total: String,
    states: Vec<(String, String, bool)>,
    channels: Vec<(String, String, bool)>,
    prev: Option<String>,
    next: Option<String>,
    page_of: String,
}

/// The words of the list's state filter, in order.
fn state_choices() -> Vec<(DeliveryState, &'static str)> {
    use DeliveryState::*;
    [
        Scheduled,
        Publishing,
        RetryWait,
        Published,
        Unconfirmed,
        Failed,
        Missed,
        Cancelled,
    ]
    .into_iter()
    .map(|s| (s, crate::status::state_label(s)))
    .collect()
}

fn parse_state(s: &str) -> Option<DeliveryState> {
    state_choices()
        .into_iter()
        .map(|(st, _)| st)
        .find(|st| st.to_string() == s)
}

/// `GET /posts`.
pub async fn page(
    State(d): State<Arc<Dashboard>>,
    Extension(session): Extension<Session>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let Query(q) = query.map_err(|_| {
        WebError::BadForm(
            tr(
                "the list's address is malformed",
                "địa chỉ danh sách bị sai",
            )
            .into(),
        )
    })?;
    let state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(parse_state(s).ok_or_else(|| {
            WebError::BadForm(tr(
                format!("`{s}` is not a state loa knows"),
                format!("`{s}` không phải trạng thái loa biết"),
            ))
        })?),
    };
    let channel = match q.channel.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(c) => Some(Channel::parse(c).ok_or_else(|| {
            WebError::BadForm(tr(
                format!("`{c}` is not a channel loa knows"),
                format!("`{c}` không phải kênh loa biết"),
            ))
        })?),
    };
    let page_no: u64 = match q.page.as_deref().filter(|s| !s.is_empty()) {
        None => 1,
        Some(p) => p.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
            WebError::BadForm(tr(
                format!("`{p}` is not a page number"),
                format!("`{p}` không phải số trang"),
            ))
        })?,
    };
    let filter = PostFilter { state, channel };
    let (total, posts, deliveries, links) = {
        let filter = filter.clone();
        d.read(move |s| {
            let total = s.count_posts(&filter)?;
            let posts =
                s.posts_page(&filter, (page_no - 1).saturating_mul(PAGE_SIZE), PAGE_SIZE)?;
            let ids: Vec<String> = posts.iter().map(|p| p.id.clone()).collect();
            let deliveries = s.deliveries_of_posts(&ids)?;
            let mut links = BTreeMap::new();
            for x in deliveries
                .iter()
                .filter(|x| x.state == DeliveryState::Published)
            {
                if let Some(l) = s.platform_link(x.id)? {
                    links.insert(x.id, l);
                }
            }
            Ok((total, posts, deliveries, links))
        })
        .await?
    };
    let tz = d.config.timezone;
    let mut by_post: BTreeMap<&str, Vec<&Delivery>> = BTreeMap::new();
    for x in &deliveries {
        by_post.entry(x.post_id.as_str()).or_default().push(x);
    }
    let rows = posts
        .iter()
        .map(|p| Row {
            href: format!("/posts/{}", p.id),
            title: super::week::title_of(p),
            file: file_of(&d, p),
            present: p.present,
            problems: p.problems.clone().unwrap_or_default(),
            lines: by_post
                .get(p.id.as_str())
                .map(|ds| ds.iter().map(|x| line(x, links.get(&x.id), tz)).collect())
                .unwrap_or_default(),
        })
        .collect();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let link_to = |n: u64| {
        let mut parts = Vec::new();
        if let Some(s) = state {
            parts.push(format!("state={s}"));
        }
        if let Some(c) = channel {
            parts.push(format!("channel={}", c.name()));
        }
        parts.push(format!("page={n}"));
        format!("/posts?{}", parts.join("&"))
    };
    let lang = crate::i18n::language();
    let page = Page {
        f: Frame::new(
            &d,
            Some(&session),
            tr("Posts", "Bài viết"),
            "posts",
            Some(d.attention_count().await?),
        ),
        rows,
        total: tr(
            format!("{} posts", crate::report::format::int(lang, total)),
            format!("{} bài", crate::report::format::int(lang, total)),
        ),
        states: state_choices()
            .into_iter()
            .map(|(s, w)| (s.to_string(), w.to_string(), Some(s) == state))
            .collect(),
        channels: d
            .config
            .enabled_channels()
            .into_iter()
            .map(|c| {
                (
                    c.name().to_string(),
                    view::channel_name(c).to_string(),
                    Some(c) == channel,
                )
            })
            .collect(),
        prev: (page_no > 1).then(|| link_to(page_no - 1)),
        next: (page_no < pages).then(|| link_to(page_no + 1)),
        page_of: tr(
            format!("page {page_no} of {pages}"),
            format!("trang {page_no} / {pages}"),
        ),
    };
    super::view::render(&page, StatusCode::OK)
}

/// The post's file as the officer finds it (`posts/x.md`).
pub fn file_of(d: &Dashboard, p: &PostSummary) -> String {
    crate::paths::display(&d.config.posts_dir.join(&p.path))
        .display()
        .to_string()
}

/// A delivery as a list line: state, time, attempts, link, error and fix.
pub fn line(x: &Delivery, recorded: Option<&String>, tz: chrono_tz::Tz) -> Line {
    let when = match x.state {
        DeliveryState::Published => x.published_at,
        DeliveryState::RetryWait => x.next_attempt_at,
        _ => x.due_at,
    };
    let shows_error = x.state != DeliveryState::Published || x.update_state.is_some();
    Line {
        channel: view::channel_name(x.channel),
        badge: view::state_badge(x.state),
        when: when
            .map(|t| view::when(t, tz))
            .unwrap_or_else(|| tr("waiting for a free slot", "đang chờ khung giờ trống").into()),
        attempts: x.attempts,
        link: (x.state == DeliveryState::Published)
            .then(|| {
                view::platform_link(
                    x.channel,
                    x.remote_id.as_deref(),
                    recorded.map(String::as_str),
                )
            })
            .flatten(),
        error: x.last_error.clone().filter(|_| shows_error),
        fix: view::fix_for(x.state.as_str()),
    }
}
