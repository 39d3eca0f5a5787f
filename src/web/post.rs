//! **A post**: what each platform receives (the renderers `loa preview` uses: Facebook's text
//! and photos, the Zalo article as followers will see it), each delivery with its attempt
//! history, its platform link and the actions that fit its state, and the metrics snapshots as
//! a small chart.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use plotters::prelude::*;

use super::posts::{Line, line};
use super::view::{self, Frame};
use super::{Dashboard, Session, WebError};
use crate::channel::Channel;
use crate::i18n::tr;
use crate::store::{AttemptRecord, Delivery, PostRecord, SnapshotPoint, State as DeliveryState};

struct Attempt {
    when: String,
    kind: String,
    outcome: String,
    message: String,
}

/// An action button: a direct POST, or a link to a confirmation page.
pub struct Action {
    pub label: &'static str,
    /// `retry`, `force`, `cancel`, `unpublish`.
    pub action: &'static str,
    /// Whether it first asks (a confirmation page says what to check).
    pub confirm: bool,
    pub danger: bool,
}

struct DeliveryView {
    channel: String,
    channel_key: &'static str,
    line: Line,
    attempts: Vec<Attempt>,
    actions: Vec<Action>,
    chart: Option<String>,
    snapshots: usize,
}

enum Preview {
    Facebook {
        text: String,
        photos: Vec<String>,
        link: Option<String>,
    },
    Zalo {
        title: String,
        author: String,
        description: String,
        cover: String,
        /// The article's body: allow-listed HTML from the Zalo renderer, or a picture's address.
        body: Vec<(bool, String)>,
        broadcast: bool,
    },
}

#[derive(Template)]
#[template(path = "web/post.html")]
struct Page {
    f: Frame,
    id: String,
    file: String,
    present: bool,
    problems: Vec<String>,
    deliveries: Vec<DeliveryView>,
    previews: Vec<Preview>,
    preview_problem: Option<String>,
}

/// The actions that fit a delivery as it is now.
pub fn actions_for(x: &Delivery) -> Vec<Action> {
    let mut out = Vec::new();
    match x.state {
        DeliveryState::Failed | DeliveryState::Missed => out.push(Action {
            label: tr("Retry", "Thử lại"),
            action: "retry",
            confirm: false,
            danger: false,
        }),
        DeliveryState::Unconfirmed => out.push(Action {
            label: tr("Retry after checking", "Thử lại sau khi kiểm tra"),
            action: "force",
            confirm: true,
            danger: false,
        }),
        _ => {}
    }
    if x.update_state == Some(crate::store::UpdateState::Failed)
        && x.state == DeliveryState::Published
    {
        out.push(Action {
            label: tr("Retry the update", "Thử cập nhật lại"),
            action: "retry",
            confirm: false,
            danger: false,
        });
    }
    if !matches!(x.state, DeliveryState::Published | DeliveryState::Cancelled) {
        out.push(Action {
            label: tr("Cancel", "Hủy đăng"),
            action: "cancel",
            confirm: true,
            danger: true,
        });
    }
    let on_platform = x.state == DeliveryState::Published
        || (x.platform_scheduled && x.state != DeliveryState::Cancelled);
    if on_platform && x.remote_id.is_some() {
        out.push(Action {
            label: tr("Unpublish", "Gỡ bài"),
            action: "unpublish",
            confirm: true,
            danger: true,
        });
    }
    out
}

/// A delivery with its attempts, its snapshots and its recorded platform link.
type Stored = (
    Delivery,
    Vec<AttemptRecord>,
    Vec<SnapshotPoint>,
    Option<String>,
);

struct Read {
    post: PostRecord,
    deliveries: Vec<Stored>,
}

/// `GET /posts/{id}`.
pub async fn page(
    State(d): State<Arc<Dashboard>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let key = id.clone();
    let read = d
        .read(move |s| {
            let Some(post) = s.post(&key)? else {
                return Ok(None);
            };
            let mut deliveries = Vec::new();
            for x in s.deliveries_of(&key)? {
                let attempts = s.attempts_of(x.id)?;
                let snapshots = s.snapshots_of(x.id)?;
                let link = s.platform_link(x.id)?;
                deliveries.push((x, attempts, snapshots, link));
            }
            Ok(Some(Read { post, deliveries }))
        })
        .await?
        .ok_or_else(|| WebError::NoPost(id.clone()))?;
    let tz = d.config.timezone;
    let lang = crate::i18n::language();
    let deliveries = read
        .deliveries
        .iter()
        .map(|(x, attempts, snapshots, link)| DeliveryView {
            channel: view::channel_name(x.channel).to_string(),
            channel_key: x.channel.name(),
            line: line(x, link.as_ref(), tz),
            attempts: attempts
                .iter()
                .rev()
                .map(|a| Attempt {
                    when: view::when(a.started_at, tz),
                    kind: a.kind.to_string(),
                    outcome: a
                        .outcome
                        .clone()
                        .unwrap_or_else(|| tr("in flight", "đang chờ trả lời").into()),
                    message: a.message.clone().unwrap_or_default(),
                })
                .collect(),
            actions: actions_for(x),
            chart: chart(x.channel, snapshots, tz, lang),
            snapshots: snapshots.len(),
        })
        .collect();
    let (previews, preview_problem) = previews(&d, &read.post).await;
    let title = if read.post.title.trim().is_empty() {
        read.post.path.clone()
    } else {
        read.post.title.clone()
    };
    let page = Page {
        f: Frame::new(
            &d,
            Some(&session),
            title,
            "posts",
            Some(d.attention_count().await?),
        ),
        id: read.post.id.clone(),
        file: crate::paths::display(&d.config.posts_dir.join(&read.post.path))
            .display()
            .to_string(),
        present: read.post.present,
        problems: read.post.problems.clone().unwrap_or_default(),
        deliveries,
        previews,
        preview_problem,
    };
    super::view::render(&page, StatusCode::OK)
}

/// What each channel receives, from the file as it is now (or, once it is removed, from the
/// text loa read last). Reads the officer's file; never writes it.
async fn previews(d: &Dashboard, post: &PostRecord) -> (Vec<Preview>, Option<String>) {
    let config = d.config.clone();
    let path = config.posts_dir.join(&post.path);
    let (present, content) = (post.present, post.content.clone());
    let loaded = tokio::task::spawn_blocking(move || {
        let loaded = if present && path.exists() {
            crate::channels::load(&path, &config)
        } else {
            crate::channels::load_bytes(&path, content.as_bytes(), &config)
        };
        let Some(post) = loaded.post else {
            return Err(loaded
                .problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; "));
        };
        let mut out = Vec::new();
        for c in &post.channels {
            match c {
                Channel::Facebook => {
                    let fb = crate::render::facebook::render(&post);
                    out.push(Preview::Facebook {
                        text: fb.message,
                        photos: fb
                            .photos
                            .iter()
                            .map(|p| match p {
                                crate::render::facebook::Photo::File { path, bytes, .. } => {
                                    format!(
                                        "{} ({})",
                                        crate::paths::display(path).display(),
                                        crate::post::source::human_size(*bytes)
                                    )
                                }
                                crate::render::facebook::Photo::Url(u) => u.clone(),
                            })
                            .collect(),
                        link: fb.link,
                    });
                }
                Channel::Zalo => {
                    let a = crate::render::zalo::render(&post, &config);
                    out.push(Preview::Zalo {
                        body: a
                            .body
                            .iter()
                            .map(|item| match item {
                                crate::render::zalo::BodyItem::Text { content } => {
                                    (true, content.clone())
                                }
                                crate::render::zalo::BodyItem::Image { url, caption } => {
                                    (false, format!("{url} {caption}").trim().to_string())
                                }
                            })
                            .collect(),
                        title: a.title,
                        author: a.author,
                        description: a.description,
                        cover: a.cover.photo_url,
                        broadcast: crate::render::zalo::broadcasts(&post, &config),
                    });
                }
            }
        }
        Ok(out)
    })
    .await;
    match loaded {
        Ok(Ok(out)) => (out, None),
        Ok(Err(problems)) => (Vec::new(), Some(problems)),
        Err(e) => (Vec::new(), Some(e.to_string())),
    }
}

/// The snapshots' views (or reach, when a platform gives no views) over time, as a small SVG
/// drawn from loa's own numbers; `None` without two snapshots to join.
fn chart(
    channel: Channel,
    points: &[SnapshotPoint],
    tz: chrono_tz::Tz,
    lang: crate::i18n::Language,
) -> Option<String> {
    let pick = |p: &SnapshotPoint| p.figures.views.or(p.figures.reach);
    let values: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| Some((p.taken_at.timestamp() as f64, pick(p)? as f64)))
        .collect();
    if values.len() < 2 {
        return None;
    }
    let (x0, x1) = (
        values[0].0,
        values[values.len() - 1].0.max(values[0].0 + 1.0),
    );
    let top = values.iter().map(|v| v.1).fold(1.0_f64, f64::max) * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (420, 200)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let font = ("sans-serif", 14).into_font();
        let mut c = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, 0f64..top)
            .ok()?;
        let day = move |x: &f64| {
            chrono::DateTime::from_timestamp(*x as i64, 0)
                .map(|t| t.with_timezone(&tz).format("%d/%m").to_string())
                .unwrap_or_default()
        };
        let int = move |v: &f64| crate::report::format::int(lang, v.max(0.0).round() as u64);
        c.configure_mesh()
            .x_labels(4)
            .y_labels(4)
            .x_label_formatter(&day)
            .y_label_formatter(&int)
            .label_style(font)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .ok()?;
        let colour = crate::report::chart::colour(channel);
        c.draw_series(LineSeries::new(
            values.iter().copied(),
            colour.stroke_width(3),
        ))
        .ok()?;
        c.draw_series(values.iter().map(|p| Circle::new(*p, 4, colour.filled())))
            .ok()?;
        root.present().ok()?;
    }
    Some(svg)
}
